//! ALT.* against native on a real 3-primary Redis Cluster on loopback, the module loaded on
//! every node: scripts on the node owning their keys, MOVED and CROSSSLOT before a script
//! runs, keys a script touches without declaring them, the `no-cluster` flag, functions, and
//! the `redis` crate's cluster client sending ALT.EVAL through its routing.

mod support;

use std::fs::File;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use redis::cluster::ClusterClient;
use redis::cluster_routing::{Route, RoutingInfo, SingleNodeRoutingInfo, SlotAddr};
use redis::Connection;
use support::{alt, eval_same, keyspace, normalize, run_str, same_as_native, sha1hex, Server};

/// Three primaries, every slot assigned, `cluster_state:ok` on each node.
struct Cluster {
    nodes: Vec<Server>,
    /// (first slot, last slot, index in `nodes`) of every assigned range.
    ranges: Vec<(u16, u16, usize)>,
}

impl Cluster {
    fn start() -> Cluster {
        let nodes: Vec<Server> = (0..3).map(|_| Server::start_cluster_node()).collect();
        let log_path = nodes[0].dir.join("cluster-create.log");
        let log = File::create(&log_path).expect("cluster create log");
        let mut create = Command::new(std::env::var("REDIS_CLI").unwrap_or_else(|_| "redis-cli".into()));
        create.arg("--cluster").arg("create");
        for n in &nodes {
            create.arg(format!("127.0.0.1:{}", n.port));
        }
        let mut child = create
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log handle"))
            .stderr(log)
            .spawn()
            .expect("redis-cli on PATH (make deps)");
        let create_log = || std::fs::read_to_string(&log_path).unwrap_or_default();
        let deadline = Instant::now() + Duration::from_secs(30);
        let status = loop {
            if let Some(status) = child.try_wait().expect("redis-cli status") {
                break status;
            }
            if Instant::now() > deadline {
                // Our own child, stopped by its handle (its PID).
                let _ = child.kill();
                let _ = child.wait();
                panic!("redis-cli --cluster create did not finish within 30s:\n{}", create_log());
            }
            thread::sleep(Duration::from_millis(20));
        };
        assert!(status.success(), "redis-cli --cluster create failed ({status}):\n{}", create_log());

        let deadline = Instant::now() + Duration::from_secs(30);
        let mut cons: Vec<Connection> = nodes.iter().map(Server::con).collect();
        loop {
            let states: Vec<String> = cons
                .iter_mut()
                .map(|c| redis::cmd("CLUSTER").arg("INFO").query::<String>(c).expect("cluster info"))
                .collect();
            if states.iter().all(|s| s.contains("cluster_state:ok")) {
                break;
            }
            assert!(Instant::now() < deadline, "cluster_state not ok on every node within 30s: {states:#?}");
            thread::sleep(Duration::from_millis(20));
        }
        let ranges = slot_ranges(&mut cons[0], &nodes);
        let assigned: u32 = ranges.iter().map(|&(a, b, _)| u32::from(b - a) + 1).sum();
        assert_eq!(assigned, 16384, "every slot assigned: {ranges:?}");
        Cluster { nodes, ranges }
    }

    fn con(&self, node: usize) -> Connection {
        self.nodes[node].con()
    }

    fn slot(&self, key: &str) -> u16 {
        redis::cmd("CLUSTER").arg("KEYSLOT").arg(key).query(&mut self.con(0)).expect("cluster keyslot")
    }

    /// The node serving `slot`.
    fn owner(&self, slot: u16) -> usize {
        self.ranges.iter().find(|&&(a, b, _)| (a..=b).contains(&slot)).map(|r| r.2).expect("slot assigned")
    }

    fn owner_of(&self, key: &str) -> usize {
        self.owner(self.slot(key))
    }

    /// The first of `{prefix}0`, `{prefix}1`, ... that `node` serves.
    fn key_on(&self, node: usize, prefix: &str) -> String {
        (0..).map(|i| format!("{{{prefix}{i}}}")).find(|k| self.owner_of(k) == node).expect("a key for every node")
    }

    fn flush_all_nodes(&self) {
        for i in 0..self.nodes.len() {
            let _: () = redis::cmd("FLUSHALL").query(&mut self.con(i)).expect("flushall");
        }
    }

    fn dbsize(&self, node: usize) -> i64 {
        redis::cmd("DBSIZE").query(&mut self.con(node)).expect("dbsize")
    }
}

/// The assigned ranges as node 0 sees them (`CLUSTER NODES`), mapped to indexes in `nodes`.
fn slot_ranges(con: &mut Connection, nodes: &[Server]) -> Vec<(u16, u16, usize)> {
    let text: String = redis::cmd("CLUSTER").arg("NODES").query(con).expect("cluster nodes");
    let mut ranges = Vec::new();
    for line in text.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let addr = fields[1].split('@').next().expect("ip:port");
        let port: u16 = addr.rsplit(':').next().and_then(|p| p.parse().ok()).expect("port");
        let node = nodes.iter().position(|n| n.port == port).expect("a node of ours");
        for range in &fields[8..] {
            let (a, b) = range.split_once('-').unwrap_or((range, range));
            ranges.push((a.parse().expect("slot"), b.parse().expect("slot"), node));
        }
    }
    ranges
}

/// `argv` natively and with the ALT. prefix on `node`; the normalized replies must be equal.
/// Returns the native reply.
fn native_and_alt(cluster: &Cluster, node: usize, argv: &[&str]) -> String {
    let mut con = cluster.con(node);
    let native = run_str(&mut con, argv);
    let name = alt(argv[0]);
    let mut alt_argv = argv.to_vec();
    alt_argv[0] = &name;
    let through_alt = normalize(&run_str(&mut con, &alt_argv));
    assert_eq!(through_alt, native, "{} differs from native on node {node} for {argv:?}", alt_argv[0]);
    native
}

fn commandstat(con: &mut Connection, name: &str, field: &str) -> u64 {
    let info: String = redis::cmd("INFO").arg("commandstats").query(con).expect("info commandstats");
    let prefix = format!("cmdstat_{name}:");
    info.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .and_then(|stats| stats.split(',').find_map(|kv| kv.strip_prefix(&format!("{field}="))))
        .map(|v| v.parse().expect("a count"))
        .unwrap_or(0)
}

#[test]
fn alt_matches_native_on_a_cluster() {
    let started = Instant::now();
    let cluster = Cluster::start();
    eprintln!("cluster up in {:?}", started.elapsed());
    let home = cluster.owner_of("{u}a");
    assert_eq!(cluster.owner_of("{u}b"), home);

    keys_in_one_slot_on_their_node(&cluster, home);
    moved_from_the_other_nodes(&cluster, home);
    crossslot_everywhere(&cluster, home);
    undeclared_key_of_another_node(&cluster, home);
    no_cluster_flag(&cluster, home);
    functions_on_the_owning_node(&cluster, home);
    cluster_client_routes_alt_eval(&cluster);
    eprintln!("whole test in {:?}", started.elapsed());
}

/// (1) Keys of one slot, on the node serving it: same replies and keyspace (RESP2 and RESP3),
/// EVALSHA included; the other nodes stay empty.
fn keys_in_one_slot_on_their_node(cluster: &Cluster, home: usize) {
    cluster.flush_all_nodes();
    let script =
        "redis.call('SET', KEYS[1], ARGV[1]); return {redis.call('GET', KEYS[1]), redis.call('INCR', KEYS[2])}";
    let reply = eval_same(&cluster.nodes[home], &[], script, &["{u}a", "{u}b"], &["v"]);
    assert_eq!(reply, "[$v, :1]");
    let sha = sha1hex(script);
    for proto in [2, 3] {
        let replies = same_as_native(
            &cluster.nodes[home],
            proto,
            &[&["SET", "{u}b", "41"]],
            &[
                &["SCRIPT", "LOAD", script],
                &["EVALSHA", sha.as_str(), "2", "{u}a", "{u}b", "w"],
                &["EVAL_RO", "return redis.call('GET', KEYS[1])", "1", "{u}a"],
                &["EVALSHA_RO", sha.as_str(), "2", "{u}a", "{u}b", "w"],
            ],
        );
        assert_eq!(replies[1], "[$w, :42]");
    }
    let keys = keyspace(&mut cluster.con(home));
    assert_eq!(keys.len(), 2, "{keys:?}");
    for other in (0..3).filter(|&n| n != home) {
        assert_eq!(cluster.dbsize(other), 0, "node {other} untouched");
    }
}

/// (2) The other nodes answer `MOVED <slot> <ip:port>` before the script runs, for every script
/// command, with the same text.
fn moved_from_the_other_nodes(cluster: &Cluster, home: usize) {
    cluster.flush_all_nodes();
    let expected = format!("-MOVED {} 127.0.0.1:{}", cluster.slot("{u}a"), cluster.nodes[home].port);
    let sha = sha1hex("return 1");
    for other in (0..3).filter(|&n| n != home) {
        for argv in [
            &["EVAL", "return redis.call('SET', KEYS[1], 1)", "2", "{u}a", "{u}b"][..],
            &["EVAL_RO", "return 1", "1", "{u}a"],
            &["EVALSHA", sha.as_str(), "1", "{u}a"],
            &["EVALSHA_RO", sha.as_str(), "1", "{u}a"],
            &["FCALL", "nosuch", "1", "{u}a"],
            &["FCALL_RO", "nosuch", "1", "{u}a"],
        ] {
            assert_eq!(native_and_alt(cluster, other, argv), expected, "{argv:?} on node {other}");
        }
    }
    for n in 0..3 {
        assert_eq!(cluster.dbsize(n), 0, "nothing ran on node {n}");
    }
}

/// (3) Declared keys of several slots: CROSSSLOT on every node, same text.
fn crossslot_everywhere(cluster: &Cluster, home: usize) {
    let elsewhere = cluster.key_on((home + 1) % 3, "x");
    let same_node = (0..).map(|i| format!("{{w{i}}}")).find(|k| cluster.owner_of(k) == home).expect("a key");
    assert_ne!(cluster.slot(&same_node), cluster.slot("{u}a"));
    let expected = "-CROSSSLOT Keys in request don't hash to the same slot";
    for node in 0..3 {
        for second in [elsewhere.as_str(), same_node.as_str()] {
            let argv = ["EVAL", "return redis.call('SET', KEYS[1], 1)", "2", "{u}a", second];
            assert_eq!(native_and_alt(cluster, node, &argv), expected, "{argv:?} on node {node}");
            let argv = ["FCALL", "nosuch", "2", "{u}a", second];
            assert_eq!(native_and_alt(cluster, node, &argv), expected, "{argv:?} on node {node}");
        }
    }
}

/// (4) A script reaching a key of another node that it did not declare: the same refusal as
/// native (script.c's generic text, which names neither the key nor its slot), raised by
/// redis.call and returned by redis.pcall, with the same effects before it.
fn undeclared_key_of_another_node(cluster: &Cluster, home: usize) {
    cluster.flush_all_nodes();
    let other = (home + 1) % 3;
    let remote = cluster.key_on(other, "r");
    let call = format!("return redis.call('GET', '{remote}')");
    let native = eval_same(&cluster.nodes[home], &[], &call, &[], &[]);
    assert_eq!(
        native,
        format!(
            "-ERR Script attempted to access a non local key in a cluster node script: {}, on @user_script:1.",
            sha1hex(&call)
        )
    );
    // The reply keeps native's generic text; the log names the key and its slot.
    let logged = format!("GET on key '{remote}' (slot {}) refused", cluster.slot(&remote));
    assert!(cluster.nodes[home].log().contains(&logged), "{logged} not in the log");
    let pcall = format!("return redis.pcall('GET', '{remote}')");
    assert_eq!(
        eval_same(&cluster.nodes[home], &[], &pcall, &[], &[]),
        "-ERR Script attempted to access a non local key in a cluster node"
    );
    // A declared local key written first, then the remote one: the write stays, on both.
    let write_then_remote = format!("redis.call('SET', KEYS[1], 'x'); return redis.call('SET', '{remote}', 1)");
    let reply = eval_same(&cluster.nodes[home], &[], &write_then_remote, &["{u}a"], &[]);
    assert!(reply.starts_with("-ERR Script attempted to access a non local key in a cluster node script: "), "{reply}");
    assert_eq!(keyspace(&mut cluster.con(home)).len(), 1);
    // With a shebang (no allow-cross-slot-keys), and through MGET mixing the two nodes.
    let shebang = format!("#!lua\nreturn redis.call('GET', '{remote}')");
    let reply = eval_same(&cluster.nodes[home], &[], &shebang, &[], &[]);
    assert!(reply.ends_with(", on @user_script:2."), "{reply}");
    let mget = format!("return redis.call('MGET', KEYS[1], '{remote}')");
    let reply = eval_same(&cluster.nodes[home], &[], &mget, &["{u}a"], &[]);
    assert!(reply.starts_with("-ERR Script attempted to access a non local key in a cluster node script: "), "{reply}");
    assert_eq!(cluster.dbsize(other), 0, "the remote key was never written");
    // Undeclared keys of another slot of this same node: a script without a shebang may
    // (scripts before 7.0 did), on both.
    let local = cluster.key_on(home, "w");
    assert_ne!(cluster.slot(&local), cluster.slot("{u}a"));
    let compat = format!("redis.call('SET', KEYS[1], 1); return redis.call('SET', '{local}', 2)");
    assert_eq!(eval_same(&cluster.nodes[home], &[], &compat, &["{u}a"], &[]), "+OK");
    eprintln!("native non-local-key error: {native}");
}

/// (5) `#!lua flags=no-cluster` is refused on a cluster node, keys or not.
fn no_cluster_flag(cluster: &Cluster, home: usize) {
    let script = "#!lua flags=no-cluster\nreturn redis.call('SET', KEYS[1], 1)";
    let expected = "-ERR Can not run script on cluster, 'no-cluster' flag is set.";
    assert_eq!(eval_same(&cluster.nodes[home], &[], script, &["{u}a"], &[]), expected);
    assert_eq!(eval_same(&cluster.nodes[home], &[], "#!lua flags=no-cluster,no-writes\nreturn 1", &[], &[]), expected);
    for node in 0..3 {
        assert_eq!(native_and_alt(cluster, node, &["EVAL", script, "0"]), expected);
    }
    assert_eq!(keyspace(&mut cluster.con(home)), Vec::<String>::new());
}

/// (6) A library loaded on the node serving `{u}`: FCALL and FCALL_RO with keys of that slot,
/// the no-cluster flag of a function, and a function reaching a key of another node.
fn functions_on_the_owning_node(cluster: &Cluster, home: usize) {
    let remote = cluster.key_on((home + 1) % 3, "r");
    let code = "#!lua name=clib\n\
        redis.register_function('cset', function(keys, args) redis.call('SET', keys[1], args[1]); \
            return redis.call('INCR', keys[2]) end)\n\
        redis.register_function{function_name='cget', callback=function(keys) return redis.call('GET', keys[1]) end, \
            flags={'no-writes'}}\n\
        redis.register_function{function_name='cnc', callback=function() return 1 end, flags={'no-cluster'}}\n\
        redis.register_function('cremote', function(keys, args) return redis.call('GET', args[1]) end)";
    for proto in [2, 3] {
        let replies = same_as_native(
            &cluster.nodes[home],
            proto,
            &[],
            &[
                &["FUNCTION", "FLUSH"],
                &["FUNCTION", "LOAD", code],
                &["FCALL", "cset", "2", "{u}a", "{u}b", "v"],
                &["FCALL_RO", "cget", "1", "{u}a"],
                &["FCALL", "cnc", "0"],
                &["FCALL", "cremote", "0", remote.as_str()],
                &["FCALL", "cremote", "1", "{u}a", remote.as_str()],
            ],
        );
        assert_eq!(replies[1], "$clib");
        assert_eq!(replies[2], ":1");
        assert_eq!(replies[3], "$v");
        assert_eq!(replies[4], "-ERR Can not run script on cluster, 'no-cluster' flag is set.");
        assert!(
            replies[5]
                .starts_with("-ERR Script attempted to access a non local key in a cluster node script: cremote,"),
            "{}",
            replies[5]
        );
        assert_eq!(replies[6], replies[5]);
    }
    // The library lives on the node it was loaded on only.
    for other in (0..3).filter(|&n| n != home) {
        assert_eq!(native_and_alt(cluster, other, &["FCALL", "cget", "0"]), "-ERR Function not found");
    }
}

/// (7) The `redis` crate's cluster client. It routes by a static table of command names (no
/// COMMAND INFO, no COMMAND GETKEYS): EVAL and FCALL by their first key, an unknown command
/// such as ALT.EVAL by its first argument, here the script body. ALT.EVAL thus reaches the
/// node serving the script body's slot, which answers MOVED (the module's key spec at work),
/// and the client follows the redirection. Routed explicitly (`route_command` with the key's
/// slot) it goes straight to the owner.
fn cluster_client_routes_alt_eval(cluster: &Cluster) {
    cluster.flush_all_nodes();
    for n in 0..3 {
        let _: () = redis::cmd("CONFIG").arg("RESETSTAT").query(&mut cluster.con(n)).expect("resetstat");
    }
    let client = ClusterClient::new(cluster.nodes.iter().map(|n| format!("redis://127.0.0.1:{}/", n.port)))
        .expect("cluster client");
    let mut cc = client.get_connection().expect("cluster connection");
    let script = "redis.call('SET', KEYS[1], ARGV[1]); return redis.call('GET', KEYS[1])";
    let body_node = cluster.owner_of(script);
    let keys: Vec<String> = (0..3).map(|n| cluster.key_on(n, "c")).collect();

    for (node, key) in keys.iter().enumerate() {
        let value = format!("alt-{node}");
        let reply: String =
            redis::cmd("ALT.EVAL").arg(script).arg(1).arg(key).arg(&value).query(&mut cc).expect("ALT.EVAL routed");
        assert_eq!(reply, value);
        let native: String =
            redis::cmd("EVAL").arg(script).arg(1).arg(key).arg(&value).query(&mut cc).expect("EVAL routed");
        assert_eq!(native, value);
        for n in 0..3 {
            let got: Option<String> = redis::cmd("GET").arg(key).query(&mut cluster.con(n)).unwrap_or(None);
            assert_eq!(got.as_deref(), (n == node).then_some(value.as_str()), "{key} on node {n}");
        }
    }
    let stat = |n: usize, cmd: &str, field: &str| commandstat(&mut cluster.con(n), cmd, field);
    // In the drop-in oracle mode a node may still serve EVAL in drop-in mode (alt.dropin.eval).
    for n in (0..3).filter(|_| !support::dropin_oracle()) {
        assert_eq!(stat(n, "alt.eval", "calls"), 1, "ALT.EVAL ran on the owner of its key (node {n})");
        assert_eq!(stat(n, "eval", "calls"), 1, "EVAL ran on the owner of its key (node {n})");
        assert_eq!(stat(n, "eval", "rejected_calls"), 0, "EVAL is routed by its key (node {n})");
        let moved = if n == body_node { 2 } else { 0 };
        assert_eq!(
            stat(n, "alt.eval", "rejected_calls"),
            moved,
            "ALT.EVAL is routed by its first argument (the body, node {body_node}) and redirected by MOVED (node {n})"
        );
    }

    // Routed by the key's slot: no redirection.
    for (node, key) in keys.iter().enumerate() {
        let route = RoutingInfo::SingleNode(SingleNodeRoutingInfo::SpecificNode(Route::new(
            cluster.slot(key),
            SlotAddr::Master,
        )));
        let cmd = redis::cmd("ALT.EVAL").arg("return redis.call('INCR', KEYS[1] .. ':n')").arg(1).arg(key).clone();
        let reply = cc.route_command(&cmd, route).expect("routed ALT.EVAL");
        assert_eq!(reply, redis::Value::Int(1));
        assert_eq!(stat(node, "alt.eval", "calls"), 2);
        assert_eq!(stat(node, "alt.eval", "rejected_calls"), if node == body_node { 2 } else { 0 });
    }
}

/// A script with a shebang but without the `allow-cross-slot-keys` flag, and a function
/// without it, may not touch keys of two slots even when this node serves both (script.c
/// scriptVerifyClusterState: "ERR Script attempted to access keys that do not hash to the same
/// slot").
#[test]
fn undeclared_keys_of_another_local_slot() {
    let cluster = Cluster::start();
    let home = cluster.owner_of("{u}a");
    let local = cluster.key_on(home, "w");
    assert_ne!(cluster.slot(&local), cluster.slot("{u}a"));
    let refused = "-ERR Script attempted to access keys that do not hash to the same slot script: ";
    let declared_then_other = format!("#!lua\nreturn redis.call('GET', '{local}')");
    let reply = eval_same(&cluster.nodes[home], &[], &declared_then_other, &["{u}a"], &[]);
    assert!(reply.starts_with(refused), "{reply}");
    let two_undeclared = format!("#!lua\nredis.call('GET', '{{u}}a'); return redis.call('GET', '{local}')");
    let reply = eval_same(&cluster.nodes[home], &[], &two_undeclared, &[], &[]);
    assert!(reply.starts_with(refused), "{reply}");
    let allowed = format!("#!lua flags=allow-cross-slot-keys\nreturn redis.call('GET', '{local}')");
    assert_eq!(eval_same(&cluster.nodes[home], &[], &allowed, &["{u}a"], &[]), "nil");
    let code = "#!lua name=xlib\nredis.register_function('other', function(keys, args) \
        return redis.call('GET', args[1]) end)";
    let replies = same_as_native(
        &cluster.nodes[home],
        2,
        &[],
        &[&["FUNCTION", "FLUSH"], &["FUNCTION", "LOAD", code], &["FCALL", "other", "1", "{u}a", local.as_str()]],
    );
    assert!(replies[2].starts_with("-ERR Script attempted to access keys that do not hash to the same slot"));
}
