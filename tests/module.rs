//! Loading the module: at start, at runtime with MODULE LOAD, unloading, and the server-level
//! guards (ACL as the caller, OOM, the command table).

mod support;

use support::{run_str, same_as_native, Server};

#[test]
fn module_load_at_runtime() {
    let server = Server::start_with(&[], false);
    let mut con = server.con();
    assert!(run_str(&mut con, &["ALT.EVAL", "return 1", "0"]).starts_with("-ERR unknown command"));
    let path = server.module_copy();
    let path = path.to_str().expect("utf-8 path");
    assert_eq!(run_str(&mut con, &["MODULE", "LOAD", path]), "+OK");
    assert_eq!(run_str(&mut con, &["ALT.EVAL", "return redis.call('ping')", "0"]), "+PONG");
    assert!(run_str(&mut con, &["MODULE", "LIST"]).contains("$alt"));
    // Function libraries persist as module aux data in the RDB: Redis then refuses to unload
    // a module that exports a data type.
    let unload = run_str(&mut con, &["MODULE", "UNLOAD", "alt"]);
    assert!(unload.contains("data types"), "{unload}");
    assert_eq!(run_str(&mut con, &["ALT.EVAL", "return 2", "0"]), ":2");
}

#[test]
fn inner_commands_run_with_the_callers_acl() {
    let server = Server::start();
    let mut admin = server.con();
    run_str(&mut admin, &["ACL", "SETUSER", "limited", "on", "nopass", "~allowed*", "+eval", "+alt.eval", "+get"]);
    let mut con = server.con();
    assert_eq!(run_str(&mut con, &["AUTH", "limited", "x"]), "+OK");
    for script in [
        "return redis.pcall('set', 'allowed', 1)",
        "return redis.pcall('get', 'forbidden')",
        "return redis.pcall('get', 'allowed')",
        "return redis.call('set', 'allowed', 1)",
    ] {
        let native = run_str(&mut con, &["EVAL", script, "0"]);
        let alt = support::normalize(&run_str(&mut con, &["ALT.EVAL", script, "0"]));
        assert_eq!(alt, native, "{script}");
    }
}

#[test]
fn oom_refuses_writes_but_not_reads() {
    let server = Server::start();
    let setup: &[&[&str]] = &[&["SET", "k", "v"], &["CONFIG", "SET", "maxmemory", "1"]];
    for script in [
        "return redis.call('get', 'k')",
        "return redis.pcall('set', 'k2', 'v')",
        "return redis.call('set', 'k2', 'v')",
        "#!lua flags=no-writes\nreturn redis.call('get', 'k')",
        "#!lua\nreturn redis.call('get', 'k')",
        "#!lua flags=allow-oom\nreturn redis.call('set', 'k3', 'v')",
    ] {
        let r2 = same_as_native(&server, 2, setup, &[&["EVAL", script, "0"], &["CONFIG", "SET", "maxmemory", "0"]]);
        assert!(!r2.is_empty());
    }
}

#[test]
fn command_table_and_keys() {
    let server = Server::start();
    let mut con = server.con();
    assert_eq!(run_str(&mut con, &["COMMAND", "GETKEYS", "ALT.EVAL", "return 1", "2", "a", "b", "c"]), "[$a, $b]");
    assert_eq!(run_str(&mut con, &["COMMAND", "GETKEYS", "ALT.EVALSHA_RO", "x", "1", "a", "b"]), "[$a]");
    let info = run_str(&mut con, &["COMMAND", "INFO", "alt.eval", "alt.script"]);
    assert!(info.contains("$alt.eval, :-3"), "{info}");
    assert!(info.contains("$alt.script|load, :3"), "{info}");
    // A script cannot re-enter the module.
    let r = run_str(&mut con, &["ALT.EVAL", "return redis.pcall('alt.eval', 'return 1', 0)", "0"]);
    assert_eq!(r, "-ERR This Redis command is not allowed from script");
    let r = run_str(&mut con, &["EVAL", "return redis.pcall('alt.eval', 'return 1', 0)", "0"]);
    assert_eq!(r, "-ERR This Redis command is not allowed from script");
}

/// ACL categories: a user granted `+@scripting` may run ALT.* scripting commands and one
/// denied `-@scripting` may not, as for the native commands (7.0 has no category API for
/// module commands; the module adds the matching rules to ACL SETUSER).
#[test]
fn acl_categories_cover_alt_commands() {
    let server = Server::start();
    let mut admin = server.con();
    run_str(&mut admin, &["ACL", "SETUSER", "bob", "on", ">123", "+@scripting", "+set", "~x*"]);
    run_str(&mut admin, &["ACL", "SETUSER", "eve", "on", ">123", "~*", "+@all", "-@scripting", "-@dangerous"]);
    let mut bob = server.con();
    run_str(&mut bob, &["AUTH", "bob", "123"]);
    for (native, alt) in [
        (vec!["EVAL", "return redis.acl_check_cmd('set','xx',1)", "1", "xx"], "ALT.EVAL"),
        (vec!["EVAL", "return redis.acl_check_cmd('get','xx')", "0"], "ALT.EVAL"),
        (vec!["EVAL", "return redis.call('set', 'xa', 1)", "0"], "ALT.EVAL"),
    ] {
        let n = run_str(&mut bob, &native);
        let mut a = native.clone();
        a[0] = alt;
        assert_eq!(support::normalize(&run_str(&mut bob, &a)), n, "{native:?}");
    }
    let mut eve = server.con();
    run_str(&mut eve, &["AUTH", "eve", "123"]);
    assert!(run_str(&mut eve, &["ALT.EVAL", "return 1", "0"]).starts_with("-NOPERM"));
    assert!(run_str(&mut eve, &["ALT.FLUSHALL"]).starts_with("-NOPERM"));
    assert_eq!(run_str(&mut eve, &["GET", "x"]), "nil");
}

fn redis_62() -> std::path::PathBuf {
    support::host_binary("redis-6.2")
}

fn redis_82() -> std::path::PathBuf {
    support::host_binary("redis-8.2")
}

/// A host older than 7.0 is refused at load with a log line naming the minimum version: at
/// start the server exits as Redis does for any failed --loadmodule (no abort, no crash
/// report), and MODULE LOAD at runtime answers an error while the server runs on.
#[test]
fn older_hosts_refuse_the_load_cleanly() {
    let needs = "<alt> redis-alt needs Redis 7.0.0 or later; this server is 6.2.14: the module is not loaded";
    let mut at_start = Server::start_host(&redis_62(), &[], true, false);
    assert!(at_start.wait_exit(std::time::Duration::from_secs(20)), "{}", at_start.log());
    let status = at_start.exit_status().expect("exited");
    assert_eq!(status.code(), Some(1), "{status:?}\n{}", at_start.log());
    let log = at_start.log();
    assert!(log.contains(needs), "{log}");
    assert!(!log.contains("panicked") && !log.contains("crashed by signal"), "{log}");

    let at_runtime = Server::start_host(&redis_62(), &[], false, true);
    let mut con = at_runtime.con();
    let path = at_runtime.module_copy();
    let reply = run_str(&mut con, &["MODULE", "LOAD", path.to_str().expect("utf-8 path")]);
    assert!(reply.starts_with("-ERR Error loading the extension"), "{reply}");
    assert_eq!(run_str(&mut con, &["PING"]), "+PONG");
    assert_eq!(run_str(&mut con, &["SET", "k", "v"]), "+OK");
    assert!(at_runtime.log().contains(needs), "{}", at_runtime.log());
}

/// Each config, given at load as `name value`, is accepted exactly when CONFIG SET accepts the
/// value (memory units, range, syntax: the host parses both), and ends with the same value.
#[test]
fn load_arguments_take_what_config_set_takes() {
    let runtime = Server::start();
    let mut admin = runtime.con();
    let mut probe = Server::start_with(&[], false);
    let values = [
        "64mb",
        "64MB",
        "1gb",
        "10k",
        "0",
        "7",
        "-1",
        "-2",
        "1kb",
        "abc",
        "",
        "1.5",
        "+5",
        " 5",
        "0x10",
        "9223372036854775807",
        "9223372036854775808",
        "18446744073709551615",
    ];
    for name in
        ["script-memory-limit", "script-time-limit", "eval-scripts-max", "eval-scripts-max-bytes", "debug-idle-timeout"]
    {
        let full = format!("alt.{name}");
        let default = run_str(&mut admin, &["CONFIG", "GET", &full]);
        for value in values {
            let set = run_str(&mut admin, &["CONFIG", "SET", &full, value]);
            let expected = (set == "+OK").then(|| run_str(&mut admin, &["CONFIG", "GET", &full]));
            run_str(
                &mut admin,
                &[
                    "CONFIG",
                    "SET",
                    &full,
                    default.rsplit(", ").next().unwrap_or("").trim_end_matches(']').trim_start_matches('$'),
                ],
            );
            let mut con = probe.con();
            let path = probe.module_copy();
            let loaded = run_str(&mut con, &["MODULE", "LOAD", path.to_str().expect("utf-8 path"), name, value]);
            match &expected {
                Some(expected) => {
                    assert_eq!(loaded, "+OK", "{name} {value:?}");
                    assert_eq!(&run_str(&mut con, &["CONFIG", "GET", &full]), expected, "{name} {value:?}");
                    // A loaded module cannot be unloaded (it has a data type): a fresh server.
                    drop(con);
                    probe = Server::start_with(&[], false);
                }
                None => {
                    assert!(loaded.starts_with("-ERR Error loading the extension"), "{name} {value:?}: {loaded}");
                    let line = format!("<alt> redis-alt is not loaded: load argument '{name} {value}' refused: ");
                    assert!(probe.log().contains(&line), "{line}\n{}", probe.log());
                    assert_eq!(run_str(&mut con, &["PING"]), "+PONG");
                }
            }
        }
    }
}

/// A load argument that is not exactly a config's name and its value refuses the load, with a
/// log line naming it and listing the valid names; the same at start (the server exits).
#[test]
fn mistyped_load_arguments_refuse_the_load() {
    let valid = "(valid names: script-memory-limit, script-time-limit, eval-scripts-max, \
                 eval-scripts-max-bytes, debug-idle-timeout, takeover, each followed by its value)";
    let cases: &[(&[&str], String)] = &[
        (&["script-memroy-limit", "1000"], format!("unknown load argument 'script-memroy-limit' {valid}")),
        (&["alt.script-memory-limit", "1000"], format!("unknown load argument 'alt.script-memory-limit' {valid}")),
        (&["SCRIPT-MEMORY-LIMIT", "1000"], format!("unknown load argument 'SCRIPT-MEMORY-LIMIT' {valid}")),
        (&["script-time-limit"], format!("load argument 'script-time-limit' has no value {valid}")),
        (&["script-time-limit", "5", "stray"], format!("unknown load argument 'stray' {valid}")),
        (&["eval-scripts-max", "5", "eval-scripts-max", "6"], "load argument 'eval-scripts-max' given twice".into()),
    ];
    let server = Server::start_with(&[], false);
    let mut con = server.con();
    let path = server.module_copy();
    let path = path.to_str().expect("utf-8 path");
    for (args, why) in cases {
        let mut load = vec!["MODULE", "LOAD", path];
        load.extend_from_slice(args);
        assert!(run_str(&mut con, &load).starts_with("-ERR Error loading the extension"), "{args:?}");
        let line = format!("<alt> redis-alt is not loaded: {why}");
        assert!(server.log().contains(&line), "{line}\n{}", server.log());
        assert!(run_str(&mut con, &["ALT.EVAL", "return 1", "0"]).starts_with("-ERR unknown command"));
    }
    // At start: the server exits (as for any failed --loadmodule), having said why.
    let mut at_start = Server::start_host(
        std::path::Path::new("redis-server"),
        &["--enable-module-command", "yes", "--loadmodule", path, "script-memroy-limit", "1000"],
        false,
        false,
    );
    assert!(at_start.wait_exit(std::time::Duration::from_secs(20)));
    assert!(at_start.log().contains("unknown load argument 'script-memroy-limit'"), "{}", at_start.log());
    // A bad --alt.* value: the host names it, the module says why it is not loaded.
    let mut bad_directive = Server::start_host(
        std::path::Path::new("redis-server"),
        &["--loadmodule", path, "--alt.script-memory-limit", "-5"],
        false,
        false,
    );
    assert!(bad_directive.wait_exit(std::time::Duration::from_secs(20)));
    let log = bad_directive.log();
    assert!(log.contains("configuration alt.script-memory-limit : argument must be a memory value"), "{log}");
    assert!(log.contains("<alt> redis-alt is not loaded: the host refused an alt.* config value"), "{log}");
}

/// The README's load example: units as CONFIG SET takes them; a load argument wins over an
/// `--alt.*` directive for the same config, which sets the others.
#[test]
fn load_arguments_and_directives() {
    let module = support::module_path();
    let module = module.to_str().expect("utf-8 path");
    let server = Server::start_with(
        &[
            "--loadmodule",
            module,
            "script-memory-limit",
            "64mb",
            "eval-scripts-max-bytes",
            "1mb",
            "--alt.script-memory-limit",
            "32mb",
            "--alt.script-time-limit",
            "250",
        ],
        false,
    );
    let mut con = server.con();
    let get = |con: &mut redis::Connection, name: &str| run_str(con, &["CONFIG", "GET", name]);
    assert_eq!(get(&mut con, "alt.script-memory-limit"), "[$alt.script-memory-limit, $67108864]");
    assert_eq!(get(&mut con, "alt.eval-scripts-max-bytes"), "[$alt.eval-scripts-max-bytes, $1048576]");
    assert_eq!(get(&mut con, "alt.script-time-limit"), "[$alt.script-time-limit, $250]");
    assert_eq!(get(&mut con, "alt.eval-scripts-max"), "[$alt.eval-scripts-max, $500]");
    // A healthy load logs nothing at warning level.
    let log = server.log();
    let warnings: Vec<&str> = log.lines().filter(|l| l.contains(" # ") && l.contains("<alt>")).collect();
    assert!(warnings.is_empty(), "{warnings:?}");
}

/// Going back to plain Redis (7.0 has no way to skip a module's aux record in the RDB, and a
/// server without the module refuses an RDB that has one): the README's procedure, an AOF
/// rewrite without the RDB preamble, keeps every key, and plain Redis starts from it.
#[test]
fn leaving_the_module_keeps_every_key() {
    let data = std::env::temp_dir().join(format!("redis-alt-leave-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    std::fs::create_dir_all(&data).expect("data dir");
    let dir = data.to_str().expect("utf-8 path");
    let expected;
    {
        let server = Server::start_with(&["--dir", dir], true);
        let mut con = server.con();
        run_str(&mut con, &["SET", "s", "v"]);
        run_str(&mut con, &["ALT.EVAL", "redis.call('HSET', 'h', 'f', '1') redis.call('RPUSH', 'l', 'a', 'b')", "0"]);
        run_str(
            &mut con,
            &["ALT.FUNCTION", "LOAD", "#!lua name=lib\nredis.register_function('f', function() return 1 end)"],
        );
        expected = support::keyspace(&mut con);
        // The procedure (README, "Removing the module").
        assert_eq!(run_str(&mut con, &["CONFIG", "SET", "aof-use-rdb-preamble", "no"]), "+OK");
        assert_eq!(run_str(&mut con, &["CONFIG", "SET", "appendonly", "yes"]), "+OK");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let info: String = redis::cmd("INFO").arg("persistence").query(&mut con).expect("info");
            let busy = ["aof_rewrite_in_progress:1", "aof_rewrite_scheduled:1", "aof_enabled:0"];
            if !busy.iter().any(|b| info.contains(b)) {
                break;
            }
            assert!(std::time::Instant::now() < deadline, "{info}");
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        // With the module still loaded, a SAVE would write the aux record again: stop without.
        let _ = redis::cmd("SHUTDOWN").arg("NOSAVE").query::<()>(&mut con);
    }
    let plain = Server::start_with(&["--dir", dir, "--appendonly", "yes"], false);
    let mut con = plain.con();
    assert_eq!(support::keyspace(&mut con), expected);
    // From here plain Redis can write its own RDB.
    assert_eq!(run_str(&mut con, &["SAVE"]), "+OK");
    drop(con);
    drop(plain);
    let _ = std::fs::remove_dir_all(&data);
}

/// `make run` on a port that is taken fails at once with a message saying so (before
/// building anything).
#[test]
fn make_run_refuses_a_taken_port() {
    let server = Server::start_with(&[], false);
    let out = std::process::Command::new("make")
        .arg("-C")
        .arg(env!("CARGO_MANIFEST_DIR"))
        .arg("run")
        .arg(format!("PORT={}", server.port))
        .output()
        .expect("make");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&format!("make run: port {} is taken", server.port)), "{stderr}");
    assert!(!String::from_utf8_lossy(&out.stdout).contains("cargo build"), "built before checking the port");
}

/// On a host with aux_save2 (Redis 8.2 here), an RDB written while no library exists has no
/// record of the module: plain Redis starts from it. With libraries the record is there and
/// the module reads them back; and a full sync from a primary without libraries leaves the
/// replica without the ones it had, as natively.
#[test]
fn newer_hosts_write_no_module_record_without_libraries() {
    let data = std::env::temp_dir().join(format!("redis-alt-aux2-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    std::fs::create_dir_all(&data).expect("data dir");
    let dir = data.to_str().expect("utf-8 path");
    let lib = "#!lua name=lib\nredis.register_function('f', function() return 1 end)";
    {
        let server = Server::start_host(&redis_82(), &["--dir", dir], true, true);
        let mut con = server.con();
        run_str(&mut con, &["SET", "k", "v"]);
        assert_eq!(run_str(&mut con, &["ALT.EVAL", "return redis.call('GET', 'k')", "0"]), "$v");
        assert_eq!(run_str(&mut con, &["SAVE"]), "+OK");
    }
    {
        let plain = Server::start_host(&redis_82(), &["--dir", dir], false, true);
        let mut con = plain.con();
        assert_eq!(run_str(&mut con, &["GET", "k"]), "$v", "{}", plain.log());
    }
    {
        let server = Server::start_host(&redis_82(), &["--dir", dir], true, true);
        let mut con = server.con();
        assert_eq!(run_str(&mut con, &["ALT.FUNCTION", "LOAD", lib]), "$lib");
        assert_eq!(run_str(&mut con, &["SAVE"]), "+OK");
    }
    {
        let server = Server::start_host(&redis_82(), &["--dir", dir], true, true);
        let mut con = server.con();
        assert_eq!(run_str(&mut con, &["ALT.FCALL", "f", "0"]), ":1");
        assert_eq!(run_str(&mut con, &["GET", "k"]), "$v");
    }
    let _ = std::fs::remove_dir_all(&data);

    let primary = Server::start_host(&redis_82(), &[], true, true);
    let replica = Server::start_host(&redis_82(), &[], true, true);
    let mut con = replica.con();
    assert_eq!(run_str(&mut con, &["ALT.FUNCTION", "LOAD", lib]), "$lib");
    let port = primary.port.to_string();
    run_str(&mut con, &["REPLICAOF", "127.0.0.1", &port]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let info: String = redis::cmd("INFO").arg("replication").query(&mut con).expect("info");
        if info.contains("master_link_status:up") {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{info}");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(run_str(&mut con, &["ALT.FUNCTION", "LIST"]), "[]");
}
