//! Drop-in mode (`alt.takeover yes`): the native command names served by the module, checked
//! against a server whose native engine serves them (the oracle), byte for byte where it
//! matters: errors and HELP, MULTI/EXEC, ACL and authentication, BUSY and KILL, switching at
//! runtime, real clients (the redis crate's Script, redis-cli --eval), replication and AOF.
//! The oracle suites (eval, script, sandbox, functions, cluster, the fuzz slice) also run
//! whole in drop-in mode: `ALT_TEST_DROPIN=1` (make test does both).

mod support;

use std::io::Write;
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use redis::Connection;
use support::{raw_reply, run_str, Server};

/// Calls of a command in INFO commandstats (0 when absent).
fn calls(con: &mut Connection, name: &str) -> i64 {
    let info: String = redis::cmd("INFO").arg("commandstats").query(con).expect("info");
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("cmdstat_{name}:")))
        .and_then(|rest| rest.split(',').find_map(|f| f.strip_prefix("calls=")))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn both_protocols(native: &Server, dropin: &Server, argv: &[&[u8]]) {
    for proto in [2, 3] {
        let want = raw_reply(native, proto, argv);
        let got = raw_reply(dropin, proto, argv);
        assert_eq!(
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(&want),
            "RESP{proto} bytes differ for {:?}",
            argv.iter().map(|a| String::from_utf8_lossy(a)).collect::<Vec<_>>()
        );
    }
}

/// Replies, errors (arity, unknown subcommand, syntax, script errors) and HELP texts are
/// native's byte for byte, command names included; the module serves them (commandstats).
#[test]
fn replies_and_errors_are_native_bytes() {
    let native = Server::start();
    let dropin = Server::start_dropin(&[]);
    // One function per library: FUNCTION LIST's order is a dict's (random natively).
    let lib = "#!lua name=mylib\nredis.register_function('f', function(keys, args) return {keys[1], args[1]} end)";
    let lib_ro = "#!lua name=rolib\nredis.register_function{function_name='ro', \
                  callback=function() return redis.call('GET', 'k') end, flags={'no-writes'}}";
    let cases: &[&[&str]] = &[
        &["EVAL", "return {1, 'two', {3, false}, redis.call('SET', KEYS[1], ARGV[1])}", "1", "k", "v"],
        &["eval", "return redis.status_reply('fine')", "0"],
        &["EVAL", "return redis.error_reply('MY own')", "0"],
        &["EVAL", "return 1 +", "0"],
        &["EVAL", "error('boom')", "0"],
        &["EVAL", "return redis.call('NOSUCH')", "0"],
        &["EVAL", "return redis.call('INCR', KEYS[1])", "1", "k"],
        &["EVAL", "return 1", "-1"],
        &["EVAL", "return 1", "x"],
        &["EVAL", "return 1", "3", "a"],
        &["EVAL", "return 1"],
        &["EVAL"],
        &["EVAL_RO", "return redis.call('SET', 'x', 1)", "0"],
        &["EVALSHA", "0000000000000000000000000000000000000000", "0"],
        &["EVALSHA", "short", "0"],
        &["EVALSHA_RO", "0000000000000000000000000000000000000000", "0"],
        &["SCRIPT", "LOAD", "return 'loaded'"],
        &["EVALSHA", "20fe3b53c6ed7a6a3b2ba7d5f8f9a3b4ad7a2d3c", "0"],
        &["SCRIPT", "EXISTS", "ffffffffffffffffffffffffffffffffffffffff", "b3a5a6dd2f1a3ffc31d0c8a5e38d2b7d0ef55eb5"],
        &["SCRIPT", "FLUSH", "BAD"],
        &["SCRIPT", "FLUSH", "ASYNC"],
        &["SCRIPT", "KILL"],
        &["SCRIPT", "NOSUCH"],
        &["SCRIPT", "LIST"],
        &["SCRIPT"],
        &["SCRIPT", "LOAD"],
        &["script", "help", "extra"],
        &["FUNCTION", "LOAD", lib],
        &["FUNCTION", "LOAD", lib],
        &["FUNCTION", "LOAD", "#!lua name=bad\nreturn 1 +"],
        &["FUNCTION", "LOAD", lib_ro],
        &["FCALL", "f", "1", "key", "arg"],
        &["FCALL_RO", "ro", "0"],
        &["FCALL_RO", "f", "1", "key", "arg"],
        &["FCALL", "nosuch", "0"],
        &["FCALL", "f", "bad"],
        &["FUNCTION", "LIST", "LIBRARYNAME", "mylib", "WITHCODE"],
        &["FUNCTION", "LIST", "LIBRARYNAME", "rolib"],
        &["FUNCTION", "LIST", "BAD"],
        &["FUNCTION", "STATS"],
        &["FUNCTION", "STATS", "WITHFUNCTIONS"],
        &["FUNCTION", "KILL"],
        &["FUNCTION", "DELETE", "nosuch"],
        &["FUNCTION", "RESTORE", "bad"],
        &["FUNCTION", "FLUSH", "BAD"],
        &["FUNCTION", "HELP"],
        &["FUNCTION", "DELETE", "mylib"],
        &["FUNCTION", "NOSUCH"],
        &["FLUSHALL", "BAD"],
        &["FLUSHALL", "SYNC"],
        &["FLUSHALL"],
        // The engine's own scripts may not call the scripting commands; FLUSHALL they may.
        &["EVAL", "return redis.call('EVAL', 'return 1', '0')", "0"],
        &["EVAL", "return redis.pcall('SCRIPT', 'FLUSH')", "0"],
        &["EVAL", "return redis.call('FLUSHALL')", "0"],
        &["COMMAND", "GETKEYS", "EVAL", "return 1", "2", "a", "b", "c"],
        &["COMMAND", "GETKEYS", "FCALL", "f", "1", "a"],
    ];
    for argv in cases {
        let argv: Vec<&[u8]> = argv.iter().map(|a| a.as_bytes()).collect();
        both_protocols(&native, &dropin, &argv);
    }
    // SCRIPT HELP: native's, DEBUG included (the module's debugger serves it).
    let help = |server: &Server| run_str(&mut server.con(), &["SCRIPT", "HELP"]);
    assert_eq!(help(&dropin), help(&native));
    // Served by the module: its commands counted, the native ones never called.
    let mut con = dropin.con();
    assert!(calls(&mut con, "alt.dropin.eval") > 0);
    assert!(calls(&mut con, "alt.dropin.function|load") > 0);
    for native_name in ["eval", "evalsha", "fcall", "script|load", "function|load"] {
        assert_eq!(calls(&mut con, native_name), 0, "{native_name} ran natively");
    }
    // The module's own commands see what drop-in mode loaded.
    run_str(&mut con, &["SCRIPT", "LOAD", "return 'loaded'"]);
    assert_eq!(run_str(&mut con, &["ALT.SCRIPT", "EXISTS", &support::sha1hex("return 'loaded'")]), "[:1]");
}

/// MULTI/EXEC: queued lines are routed when queued; a queued arity error aborts EXEC as
/// natively; the executed scripts are the module's.
#[test]
fn multi_exec_as_native() {
    let native = Server::start();
    let dropin = Server::start_dropin(&[]);
    let steps: &[&[&str]] = &[
        &["MULTI"],
        &["EVAL", "return redis.call('INCR', KEYS[1])", "1", "n"],
        &["SCRIPT", "LOAD", "return 7"],
        &["EVALSHA", &support::sha1hex("return 7"), "0"],
        &["EXEC"],
        &["MULTI"],
        &["EVAL", "return 1"],
        &["EVAL", "return 1", "0"],
        &["EXEC"],
        &["MULTI"],
        &["FLUSHALL"],
        &["EVAL", "return redis.call('DBSIZE')", "0"],
        &["EXEC"],
    ];
    for proto in [2, 3] {
        let replies = |server: &Server| {
            let mut con = server.con_proto(proto);
            let _: () = redis::cmd("FLUSHALL").query(&mut con).expect("flushall");
            steps.iter().map(|s| run_str(&mut con, s)).collect::<Vec<_>>()
        };
        assert_eq!(replies(&dropin), replies(&native), "RESP{proto}");
    }
    let mut con = dropin.con();
    assert_eq!(calls(&mut con, "eval"), 0);
    assert!(calls(&mut con, "alt.dropin.eval") >= 2);
}

/// ACL is checked against the native command the client sent: a user allowed EVAL but not
/// ALT.EVAL runs EVAL (on the module), one allowed ALT.EVAL but not EVAL is refused with
/// native's text; key patterns as natively.
#[test]
fn acl_as_the_native_command() {
    let native = Server::start();
    let dropin = Server::start_dropin(&[]);
    let users: &[&[&str]] = &[
        &["ACL", "SETUSER", "native", "on", ">pw", "~*", "-@all", "+eval", "+evalsha", "+script|load", "+get"],
        &["ACL", "SETUSER", "altonly", "on", ">pw", "~*", "-@all", "+alt.eval", "+get"],
        &["ACL", "SETUSER", "keys", "on", ">pw", "~a*", "-@all", "+eval"],
    ];
    let steps: &[(&str, &[&str])] = &[
        ("native", &["EVAL", "return redis.call('GET', 'x')", "0"]),
        ("native", &["SCRIPT", "LOAD", "return 5"]),
        ("native", &["SCRIPT", "FLUSH"]),
        ("native", &["EVAL", "return redis.call('SET', 'x', 1)", "0"]),
        ("altonly", &["EVAL", "return 1", "0"]),
        ("altonly", &["SCRIPT", "LOAD", "return 5"]),
        ("keys", &["EVAL", "return 1", "1", "abc"]),
        ("keys", &["EVAL", "return 1", "1", "xyz"]),
        ("keys", &["EVAL", "return redis.call('GET', 'xyz')", "0"]),
    ];
    let replies = |server: &Server| {
        let mut admin = server.con();
        for u in users {
            run_str(&mut admin, u);
        }
        steps
            .iter()
            .map(|(user, argv)| {
                let mut con = server.con();
                run_str(&mut con, &["AUTH", user, "pw"]);
                run_str(&mut con, argv)
            })
            .collect::<Vec<_>>()
    };
    let want = replies(&native);
    assert!(want[0] == "nil" && want[4].starts_with("-NOPERM"), "{want:?}");
    assert_eq!(replies(&dropin), want);
    // The allowed lines ran on the module.
    assert!(calls(&mut dropin.con(), "alt.dropin.eval") >= 2);
}

/// With a password on the default user, an unauthenticated client gets NOAUTH as natively;
/// authenticated, its scripts run on the module.
#[test]
fn requirepass_keeps_authentication() {
    let native = Server::start_with(&["--requirepass", "secret"], true);
    let dropin = Server::start_dropin(&["--requirepass", "secret"]);
    // One line each (an unauthenticated PING is refused too, so no sentinel).
    let first_line = |server: &Server, argv: &[&str]| {
        use std::io::{BufRead, BufReader};
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", server.port)).expect("connect");
        let mut request = format!("*{}\r\n", argv.len());
        for a in argv {
            request += &format!("${}\r\n{a}\r\n", a.len());
        }
        stream.write_all(request.as_bytes()).expect("write");
        let mut line = String::new();
        BufReader::new(stream).read_line(&mut line).expect("read");
        line
    };
    for argv in [
        &["EVAL", "return 1", "0"][..],
        &["SCRIPT", "LOAD", "return 1"],
        &["FUNCTION", "LIST"],
        &["FCALL", "f", "0"],
        &["FLUSHALL"],
        &["HELLO", "3"],
    ] {
        let want = first_line(&native, argv);
        assert_eq!(first_line(&dropin, argv), want);
        assert!(want.starts_with("-NOAUTH"), "{want}");
    }
    let url = format!("redis://:secret@127.0.0.1:{}/", dropin.port);
    let mut con = redis::Client::open(url).and_then(|c| c.get_connection()).expect("auth");
    assert_eq!(run_str(&mut con, &["EVAL", "return redis.call('SET', 'k', 'v')", "0"]), "+OK");
    let served = calls(&mut con, "alt.eval") + calls(&mut con, "alt.dropin.eval");
    assert_eq!(served, 1);
    assert_eq!(calls(&mut con, "eval"), 0);
}

/// BUSY while a drop-in script runs names SCRIPT KILL / FUNCTION KILL as natively; SCRIPT
/// KILL ends it; the caller's error is native's.
#[test]
fn busy_and_kill_name_the_native_commands() {
    let native = Server::start();
    let dropin = Server::start_dropin(&[]);
    let lib = "#!lua name=spin\nredis.register_function('spin', function() while true do end end)";
    let session = |server: &Server, call: &'static [&'static str], kill: &'static [&'static str]| {
        let mut admin = server.con();
        run_str(&mut admin, &["CONFIG", "SET", "busy-reply-threshold", "50"]);
        run_str(&mut admin, &["FUNCTION", "LOAD", "REPLACE", lib]);
        let port = server.port;
        let caller = thread::spawn(move || {
            let mut con = redis::Client::open(format!("redis://127.0.0.1:{port}/"))
                .and_then(|c| c.get_connection())
                .expect("connect");
            run_str(&mut con, call)
        });
        let start = Instant::now();
        let busy = loop {
            let ping = run_str(&mut admin, &["PING"]);
            if ping.starts_with("-BUSY") || start.elapsed() > Duration::from_secs(10) {
                break ping;
            }
            thread::sleep(Duration::from_millis(10));
        };
        let wrong_kill =
            run_str(&mut admin, if kill[0] == "SCRIPT" { &["FUNCTION", "KILL"] } else { &["SCRIPT", "KILL"] });
        let killed = run_str(&mut admin, kill);
        let caller = caller.join().expect("caller");
        vec![busy, wrong_kill, killed, caller, run_str(&mut admin, &["PING"])]
    };
    for (call, kill) in [
        (&["EVAL", "while true do end", "0"][..], &["SCRIPT", "KILL"][..]),
        (&["FCALL", "spin", "0"], &["FUNCTION", "KILL"]),
    ] {
        let call: &'static [&'static str] = Box::leak(call.to_vec().into_boxed_slice());
        let kill: &'static [&'static str] = Box::leak(kill.to_vec().into_boxed_slice());
        let want = session(&native, call, kill);
        assert!(want[0].starts_with("-BUSY"), "{want:?}");
        assert_eq!(session(&dropin, call, kill), want);
    }
}

/// The `alt.dropin.*` targets (no-auth) answer only what drop-in mode routes to them.
#[test]
fn dropin_targets_are_not_reachable_by_name() {
    for server in [Server::start(), Server::start_dropin(&[])] {
        let mut con = server.con();
        for argv in [&["ALT.DROPIN.EVAL", "return 1", "0"][..], &["alt.dropin.script", "load", "return 1"]] {
            let reply = run_str(&mut con, argv);
            assert!(reply.contains("is reached only through drop-in mode"), "{reply}");
        }
    }
    // Not even unauthenticated.
    let server = Server::start_dropin(&["--requirepass", "pw"]);
    let reply = run_str(&mut server.con(), &["ALT.DROPIN.FLUSHALL"]);
    assert!(reply.contains("is reached only through drop-in mode"), "{reply}");
}

/// Switching at runtime: logged; refused while a client is inside MULTI; function libraries
/// follow the switch both ways, cached scripts follow it off; a script only the other engine
/// has answers NOSCRIPT (clients reload on it).
#[test]
fn switching_at_runtime() {
    let server = Server::start();
    let mut con = server.con();
    let lib = "#!lua name=lib1\nredis.register_function('one', function() return 1 end)";
    assert_eq!(run_str(&mut con, &["FUNCTION", "LOAD", lib]), "$lib1");
    let native_sha = run_str(&mut con, &["SCRIPT", "LOAD", "return 'native'"]);
    let native_sha = native_sha.trim_start_matches('$').to_string();

    let mut in_multi = server.con();
    run_str(&mut in_multi, &["MULTI"]);
    let refused = run_str(&mut con, &["CONFIG", "SET", "alt.takeover", "yes"]);
    assert!(refused.contains("alt.takeover cannot change while 1 client(s) are inside MULTI"), "{refused}");
    assert_eq!(run_str(&mut con, &["CONFIG", "GET", "alt.takeover"]), "[$alt.takeover, $no]");
    // The refused client itself: CONFIG SET inside MULTI is refused at EXEC.
    run_str(&mut in_multi, &["CONFIG", "SET", "alt.takeover", "yes"]);
    let exec = run_str(&mut in_multi, &["EXEC"]);
    assert!(exec.contains("inside MULTI"), "{exec}");

    assert_eq!(run_str(&mut con, &["CONFIG", "SET", "alt.takeover", "yes"]), "+OK");
    assert!(server.log().contains("redis-alt drop-in mode on"), "{}", server.log());
    assert_eq!(run_str(&mut con, &["FCALL", "one", "0"]), ":1", "the library came along");
    assert_eq!(calls(&mut con, "alt.dropin.fcall"), 1);
    assert!(run_str(&mut con, &["EVALSHA", &native_sha, "0"]).starts_with("-NOSCRIPT"));

    let lib2 = "#!lua name=lib2\nredis.register_function('two', function() return 2 end)";
    assert_eq!(run_str(&mut con, &["FUNCTION", "LOAD", lib2]), "$lib2");
    let alt_sha = run_str(&mut con, &["SCRIPT", "LOAD", "return 'alt'"]).trim_start_matches('$').to_string();
    assert_eq!(run_str(&mut con, &["CONFIG", "SET", "alt.takeover", "no"]), "+OK");
    assert!(server.log().contains("redis-alt drop-in mode off"), "{}", server.log());
    assert_eq!(run_str(&mut con, &["FCALL", "two", "0"]), ":2", "libraries follow the switch off");
    assert_eq!(run_str(&mut con, &["EVALSHA", &alt_sha, "0"]), "$alt", "cached scripts follow it too");
    assert_eq!(calls(&mut con, "fcall"), 1);
}

/// Real clients, unmodified: the redis crate's Script (EVALSHA, then EVAL on NOSCRIPT) and
/// redis-cli --eval.
#[test]
fn real_clients_unmodified() {
    let native = Server::start();
    let dropin = Server::start_dropin(&[]);
    let script = redis::Script::new("redis.call('SET', KEYS[1], ARGV[1]); return redis.call('GET', KEYS[1])");
    for server in [&native, &dropin] {
        let mut con = server.con();
        let got: String = script.key("k").arg("v1").invoke(&mut con).expect("first invoke (EVALSHA, then EVAL)");
        assert_eq!(got, "v1");
        let got: String = script.key("k").arg("v2").invoke(&mut con).expect("second invoke (EVALSHA)");
        assert_eq!(got, "v2");
    }
    let mut con = dropin.con();
    let mut ncon = native.con();
    for name in ["evalsha", "eval", "script|load"] {
        assert_eq!(calls(&mut con, &format!("alt.dropin.{name}")), calls(&mut ncon, name), "{name}");
        assert_eq!(calls(&mut con, name), 0, "{name}");
    }
    let evals = calls(&mut con, "alt.dropin.eval");
    assert_eq!(run_str(&mut con, &["ALT.SCRIPT", "EXISTS", script.get_hash()]), "[:1]");

    let file = dropin.dir.join("script.lua");
    let mut f = std::fs::File::create(&file).expect("script file");
    f.write_all(
        b"redis.call('RPUSH', KEYS[1], ARGV[1], ARGV[2])\nreturn {redis.call('LRANGE', KEYS[1], 0, -1), #KEYS}",
    )
    .expect("write");
    let cli = |server: &Server, extra: &[&str]| {
        let out = Command::new("redis-cli")
            .args(["-p", &server.port.to_string()])
            .args(extra)
            .arg("--eval")
            .arg(&file)
            .args(["list", "other", ",", "a", "b"])
            .output()
            .expect("redis-cli");
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
    };
    for extra in [&[][..], &["--no-raw"], &["-3"]] {
        assert_eq!(cli(&dropin, extra), cli(&native, extra));
    }
    // redis-cli reading commands from its input, as typed at its prompt.
    let typed = |server: &Server| {
        let mut child = Command::new("redis-cli")
            .args(["-p", &server.port.to_string(), "--no-raw"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("redis-cli");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(
                b"EVAL \"return {1, 'x', redis.call('INCR', KEYS[1])}\" 1 typed\nSCRIPT LOAD \"return 9\"\n\
                  EVALSHA 76e3fa7cb6f6d8b8c6ab1c3c3d5e4f1d3a2b9c8d 0\nSCRIPT NOSUCH\nEVAL \"return\"\n",
            )
            .expect("write");
        String::from_utf8_lossy(&child.wait_with_output().expect("redis-cli").stdout).into_owned()
    };
    assert_eq!(typed(&dropin), typed(&native));
    assert_eq!(calls(&mut con, "alt.dropin.eval"), evals + 4);
}

/// A replica in drop-in mode mirrors a primary in drop-in mode (libraries and script effects
/// reach it as ALT.FUNCTION and the effects); an AOF written in drop-in mode loads back.
#[test]
fn replication_and_aof() {
    let primary = Server::start_dropin(&["--appendonly", "yes"]);
    let replica = Server::start_dropin(&[]);
    let mut rcon = replica.con();
    run_str(&mut rcon, &["REPLICAOF", "127.0.0.1", &primary.port.to_string()]);
    let mut pcon = primary.con();
    let lib =
        "#!lua name=rlib\nredis.register_function('put', function(k, a) return redis.call('SET', k[1], a[1]) end)\n\
               redis.register_function{function_name='get', callback=function(k) return redis.call('GET', k[1]) end, \
               flags={'no-writes'}}";
    assert_eq!(run_str(&mut pcon, &["FUNCTION", "LOAD", lib]), "$rlib");
    assert_eq!(run_str(&mut pcon, &["FCALL", "put", "1", "k", "v"]), "+OK");
    assert_eq!(run_str(&mut pcon, &["EVAL", "return redis.call('INCR', KEYS[1])", "1", "n"]), ":1");
    let start = Instant::now();
    while run_str(&mut rcon, &["GET", "n"]) != "$1" {
        assert!(start.elapsed() < Duration::from_secs(20), "replica never caught up:\n{}", replica.log());
        thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(run_str(&mut rcon, &["FCALL_RO", "get", "1", "k"]), "$v");
    assert_eq!(run_str(&mut rcon, &["EVAL_RO", "return redis.call('GET', KEYS[1])", "1", "k"]), "$v");
    assert!(run_str(&mut rcon, &["FCALL", "put", "1", "k", "w"]).starts_with("-READONLY"));

    // The AOF holds ALT.FUNCTION LOAD and the scripts' effects: it loads back.
    assert_eq!(run_str(&mut pcon, &["DEBUG", "LOADAOF"]), "+OK");
    assert_eq!(run_str(&mut pcon, &["FCALL_RO", "get", "1", "k"]), "$v");
    assert_eq!(run_str(&mut pcon, &["GET", "n"]), "$1");
    assert_eq!(run_str(&mut pcon, &["FUNCTION", "LIST"]).matches("rlib").count(), 1);
}

/// On a host whose filter knows the client (7.2+), a line the client's user may not run is
/// left to the native command: the refusal and its ACL LOG entry are native's own. Clients of
/// a password-protected `default` user are served by ALT.* (authentication by the host).
#[test]
fn newer_hosts_refuse_as_native_with_native_acl_log() {
    let binary = support::host_binary("redis-8.2");
    let native = Server::start_host(&binary, &[], true, true);
    let module = support::module_path();
    let module = module.to_str().expect("utf-8 path");
    let dropin = Server::start_host(&binary, &["--loadmodule", module, "takeover", "yes"], false, true);
    let users: &[&[&str]] = &[
        &["ACL", "SETUSER", "native", "on", ">pw", "~*", "-@all", "+eval", "+fcall", "+get"],
        &["ACL", "SETUSER", "altonly", "on", ">pw", "~*", "-@all", "+alt.eval", "+get"],
        &["ACL", "SETUSER", "keys", "on", ">pw", "~a*", "-@all", "+eval"],
    ];
    let steps: &[(&str, &[&str])] = &[
        ("native", &["EVAL", "return redis.call('GET', 'x')", "0"]),
        ("native", &["SCRIPT", "LOAD", "return 5"]),
        ("altonly", &["EVAL", "return 1", "0"]),
        ("keys", &["EVAL", "return 1", "1", "xyz"]),
        ("keys", &["EVAL", "return 1", "1", "abc"]),
    ];
    let session = |server: &Server| {
        let mut admin = server.con();
        for u in users {
            run_str(&mut admin, u);
        }
        run_str(&mut admin, &["ACL", "LOG", "RESET"]);
        let replies: Vec<String> = steps
            .iter()
            .map(|(user, argv)| {
                let mut con = server.con();
                run_str(&mut con, &["AUTH", user, "pw"]);
                run_str(&mut con, argv)
            })
            .collect();
        // Each entry's reason, context, object and user (not times, ids or addresses).
        let log: Vec<Vec<String>> = redis::cmd("ACL")
            .arg("LOG")
            .query::<Vec<std::collections::HashMap<String, redis::Value>>>(&mut admin)
            .expect("acl log")
            .iter()
            .map(|e| {
                ["reason", "context", "object", "username"]
                    .iter()
                    .map(|f| e.get(*f).map(support::show_value).unwrap_or_default())
                    .collect()
            })
            .collect();
        (replies, log)
    };
    let want = session(&native);
    assert!(want.0[2].starts_with("-NOPERM"), "{want:?}");
    assert_eq!(session(&dropin), want);
    assert!(calls(&mut dropin.con(), "alt.dropin.eval") >= 2);
    assert_eq!(calls(&mut dropin.con(), "eval"), 0, "allowed lines never run natively");

    let guarded = Server::start_host(
        &binary,
        &["--requirepass", "secret", "--loadmodule", module, "takeover", "yes"],
        false,
        true,
    );
    let url = format!("redis://:secret@127.0.0.1:{}/", guarded.port);
    let mut con = redis::Client::open(url).and_then(|c| c.get_connection()).expect("auth");
    assert_eq!(run_str(&mut con, &["EVAL", "return 1", "0"]), ":1");
    assert_eq!(calls(&mut con, "alt.eval"), 1, "a client of the password-protected default user");
}

/// An RDB whose libraries are native's (written before drop-in mode) loads into a server in
/// drop-in mode with its libraries served: they are copied to the module after the load.
#[test]
fn rdb_from_before_dropin_mode_keeps_its_libraries() {
    let server = Server::start();
    let mut con = server.con();
    let lib = "#!lua name=old\nredis.register_function('old', function() return 'from the rdb' end)";
    assert_eq!(run_str(&mut con, &["FUNCTION", "LOAD", lib]), "$old");
    assert_eq!(run_str(&mut con, &["SAVE"]), "+OK");
    assert_eq!(run_str(&mut con, &["CONFIG", "SET", "alt.takeover", "yes"]), "+OK");
    assert_eq!(run_str(&mut con, &["ALT.FUNCTION", "FLUSH"]), "+OK");
    assert!(run_str(&mut con, &["FCALL", "old", "0"]).starts_with("-ERR Function not found"));
    assert_eq!(run_str(&mut con, &["DEBUG", "RELOAD", "NOSAVE"]), "+OK");
    assert_eq!(run_str(&mut con, &["FCALL", "old", "0"]), "$from the rdb");
    assert!(server.log().contains("1 function library loaded natively copied to redis-alt"), "{}", server.log());
}
