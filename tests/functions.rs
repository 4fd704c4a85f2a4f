//! ALT.FUNCTION and ALT.FCALL against native FUNCTION and FCALL on the same server (RESP2 and
//! RESP3, keyspace compared), plus what only the module has to prove: persistence across a
//! reload and a restart, replication to a replica, kill and stats of a busy function.

mod support;

use std::thread;
use std::time::{Duration, Instant};

use support::{run_str, same_as_native, Server};

fn lib(name: &str, body: &str) -> String {
    format!("#!lua name={name}\n{body}")
}

fn both(server: &Server, setup: &[&[&str]], steps: &[&[&str]]) {
    same_as_native(server, 2, setup, steps);
    same_as_native(server, 3, setup, steps);
}

/// A function's `keys` and `args` are new arrays on every call, whatever the previous call
/// did to its own (the module refills them for a function that cannot have kept them: a Lua
/// function without upvalues), and a library that keeps them sees its kept ones unchanged.
#[test]
fn keys_and_args_start_fresh_every_call() {
    let server = Server::start();
    let code = lib(
        "fresh",
        "local kept = {}\n\
         local function show(keys, args)\n\
           local t = {#keys, #args, tostring(getmetatable(keys)), tostring(rawget(keys, 'x'))}\n\
           for i = 1, 6 do t[#t + 1] = tostring(rawget(keys, i)) t[#t + 1] = tostring(rawget(args, i)) end\n\
           return t\n\
         end\n\
         redis.register_function('plain', function(keys, args) return {#keys, #args, tostring(getmetatable(keys)), \
           tostring(rawget(keys, 'x')), tostring(rawget(keys, 1)), tostring(rawget(keys, 2)), tostring(rawget(keys, 3)), \
           tostring(rawget(args, 1)), tostring(rawget(args, 2))} end)\n\
         redis.register_function('mess', function(keys, args) keys[3] = 'k3' keys.x = 1 args[1] = nil \
           setmetatable(args, {}) return #keys end)\n\
         redis.register_function('grow', function(keys, args) for i = 1, 9 do keys[i] = i end return #keys end)\n\
         redis.register_function('keep', function(keys, args) kept[#kept + 1] = keys return show(keys, args) end)\n\
         redis.register_function('kept', function(keys, args) local t = {} for i, k in ipairs(kept) do \
           t[i] = table.concat(k, '+') end return t end)",
    );
    let steps: &[&[&str]] = &[
        &["FUNCTION", "LOAD", "REPLACE", &code],
        &["FCALL", "plain", "2", "a", "b", "c"],
        &["FCALL", "mess", "2", "a", "b", "c"],
        &["FCALL", "plain", "2", "a", "b", "c"],
        &["FCALL", "grow", "2", "a", "b"],
        &["FCALL", "plain", "2", "a", "b"],
        &["FCALL", "keep", "2", "a", "b", "c"],
        &["FCALL", "mess", "2", "d", "e"],
        &["FCALL", "keep", "2", "f", "g"],
        &["FCALL", "plain", "1", "h"],
        &["FCALL", "kept", "0"],
        &["FCALL", "plain", "0"],
    ];
    let replies = same_as_native(&server, 2, &[], steps);
    assert!(replies.first().is_some_and(|r| r.contains("fresh")), "the library loads: {replies:?}");
    assert!(replies.iter().all(|r| !r.contains("ERR")), "every call works: {replies:?}");
    same_as_native(&server, 3, &[], steps);
}

#[test]
fn load_and_call() {
    let server = Server::start();
    let code = lib(
        "mylib",
        "redis.register_function('f1', function(keys, args) return {keys[1], args[1], #keys, #args} end)\n\
         redis.register_function{function_name='F2', callback=function(keys) return redis.call('incr', keys[1]) end}\n\
         redis.register_function{function_name='ro', callback=function() return 1 end, flags={'no-writes'}}\n\
         redis.register_function('err', function() error('boom') end)\n\
         redis.register_function('callerr', function(keys) return redis.call('incr', keys[1]) end)\n\
         redis.register_function('globals', function() return KEYS end)",
    );
    let steps: Vec<Vec<&str>> = vec![
        vec!["FUNCTION", "FLUSH"],
        vec!["FUNCTION", "LOAD", &code],
        vec!["FCALL", "f1", "1", "k", "a"],
        vec!["FCALL", "F1", "0"],
        vec!["FCALL", "f2", "1", "counter"],
        vec!["FCALL_RO", "f2", "1", "counter"],
        vec!["FCALL_RO", "ro", "0"],
        vec!["FCALL", "err", "0"],
        vec!["FCALL", "callerr", "1", "f1"],
        vec!["SET", "s", "x"],
        vec!["FCALL", "callerr", "1", "s"],
        vec!["FCALL", "globals", "0"],
        vec!["FCALL", "nosuch", "0"],
        vec!["FCALL", "nosuch", "x"],
        vec!["FCALL", "f1", "x"],
        vec!["FCALL", "f1", "-1"],
        vec!["FCALL", "f1", "2", "a"],
        vec!["FCALL", "f1"],
        vec!["FUNCTION", "LOAD", &code],
        vec!["FUNCTION", "LOAD", "REPLACE", &code],
        vec!["FUNCTION", "LOAD", "replace", "REPLACE", &code],
        vec!["FUNCTION", "LOAD", "BOGUS", &code],
        vec!["FUNCTION", "LOAD", "REPLACE"],
        vec!["FUNCTION", "DELETE", "mylib"],
        vec!["FUNCTION", "DELETE", "mylib"],
        vec!["FCALL", "f1", "0"],
    ];
    let steps: Vec<&[&str]> = steps.iter().map(|s| s.as_slice()).collect();
    both(&server, &[], &steps);
}

#[test]
fn load_errors() {
    let server = Server::start();
    let rf = "redis.register_function";
    for code in [
        "return 1".to_string(),
        "#!lua name=x".to_string(),
        "#!lua\nreturn 1".to_string(),
        "#!lua name=a name=b\nreturn 1".to_string(),
        "#!lua foo=bar\nreturn 1".to_string(),
        "#!bad_engine name=x\nreturn 1".to_string(),
        "#! name=x\nreturn 1".to_string(),
        "#!lua name=bad-name\nreturn 1".to_string(),
        "#!LUA name=x\nredis.register_function('f', function() return 1 end)".to_string(),
        lib("x", "return 1"),
        lib("x", "return +"),
        lib("x", "error('load time')"),
        lib("x", "error({err='CODE custom'})"),
        lib("x", "local a = math.floor(1)"),
        lib("x", "redis.call('ping')"),
        lib("x", "a = 1"),
        lib("x", &format!("{rf}()")),
        lib("x", &format!("{rf}('a', 'b', 'c')")),
        lib("x", &format!("{rf}('f')")),
        lib("x", &format!("{rf}(1, function() return 1 end)")),
        lib("x", &format!("{rf}({{}}, function() return 1 end)")),
        lib("x", &format!("{rf}('f', 'notafunction')")),
        lib("x", &format!("{rf}('bad name', function() end)")),
        lib("x", &format!("{rf}('f', function() end) {rf}('f', function() end)")),
        lib("x", &format!("{rf}('f', function() end) {rf}('F', function() end)")),
        lib("x", &format!("{rf}({{function_name='f'}})")),
        lib("x", &format!("{rf}({{callback=function() end}})")),
        lib("x", &format!("{rf}({{function_name='f', callback=function() end, flags={{'bogus'}}}})")),
        lib("x", &format!("{rf}({{function_name='f', callback=function() end, flags='no-writes'}})")),
        lib("x", &format!("{rf}({{function_name='f', callback=function() end, other=1}})")),
        lib("x", &format!("{rf}({{function_name='f', callback=1}})")),
        lib("x", &format!("{rf}({{function_name={{}}, callback=function() end}})")),
        lib("x", &format!("{rf}({{function_name='f', callback=function() end, description=1}})")),
        lib("x", &format!("{rf}({{function_name='f', callback=function() end, description={{}}}})")),
        lib("x", &format!("{rf}('f', function() end) local f = {rf} return f")),
    ] {
        both(&server, &[], &[&["FUNCTION", "FLUSH"], &["FUNCTION", "LOAD", &code], &["FUNCTION", "STATS"]]);
    }
}

#[test]
fn collisions_keep_the_registry_intact() {
    let server = Server::start();
    let one = lib("one", "redis.register_function('shared', function() return 1 end)");
    let two = lib("two", "redis.register_function('SHARED', function() return 2 end)");
    let one_v2 = lib("one", "redis.register_function('other', function() return 3 end) error('fails late')");
    both(
        &server,
        &[],
        &[
            &["FUNCTION", "FLUSH"],
            &["FUNCTION", "LOAD", &one],
            &["FUNCTION", "LOAD", &two],
            &["FUNCTION", "LOAD", "REPLACE", &one_v2],
            &["FCALL", "shared", "0"],
            &["FUNCTION", "STATS"],
        ],
    );
}

#[test]
fn list_stats_help_flush() {
    let server = Server::start();
    let code = lib(
        "mylib",
        "redis.register_function{function_name='f1', callback=function() return 1 end, \
         flags={'no-writes', 'allow-oom', 'allow-stale', 'no-cluster', 'allow-cross-slot-keys'}, description='d'}",
    );
    let steps: Vec<Vec<&str>> = vec![
        vec!["FUNCTION", "FLUSH"],
        vec!["FUNCTION", "LOAD", &code],
        vec!["FUNCTION", "LIST"],
        vec!["FUNCTION", "LIST", "WITHCODE"],
        vec!["FUNCTION", "LIST", "LIBRARYNAME", "my*"],
        vec!["FUNCTION", "LIST", "LIBRARYNAME", "MY*", "WITHCODE"],
        vec!["FUNCTION", "LIST", "LIBRARYNAME", "nomatch*"],
        vec!["FUNCTION", "LIST", "LIBRARYNAME"],
        vec!["FUNCTION", "LIST", "WITHCODE", "WITHCODE"],
        vec!["FUNCTION", "LIST", "BOGUS"],
        vec!["FUNCTION", "STATS"],
        vec!["FUNCTION", "NOSUCH"],
        vec!["FUNCTION", "FLUSH", "BOGUS"],
        vec!["FUNCTION", "FLUSH", "SYNC", "ASYNC"],
        vec!["FUNCTION", "FLUSH", "ASYNC"],
        vec!["FUNCTION", "LIST"],
        vec!["FUNCTION", "KILL"],
    ];
    let steps: Vec<&[&str]> = steps.iter().map(|s| s.as_slice()).collect();
    both(&server, &[], &steps);
}

#[test]
fn runtime_environment() {
    let server = Server::start();
    let code = lib(
        "env",
        "local counter = 0\n\
         redis.register_function('count', function() counter = counter + 1 return counter end)\n\
         redis.register_function('g', function() return {type(redis.call), type(redis.debug), type(redis.register_function), type(cjson), type(string.rep)} end)\n\
         redis.register_function('setglobal', function() x = 1 end)\n\
         redis.register_function('trick', function() local g = getmetatable(_G) g.__index = {} end)\n\
         redis.register_function('keys', function() return KEYS end)",
    );
    both(
        &server,
        &[],
        &[
            &["FUNCTION", "FLUSH"],
            &["FUNCTION", "LOAD", &code],
            &["FCALL", "count", "0"],
            &["FCALL", "count", "0"],
            &["FCALL", "g", "0"],
            &["FCALL", "setglobal", "0"],
            &["FCALL", "trick", "0"],
            &["FCALL", "keys", "0"],
        ],
    );
}

/// The function engine keeps its error handler out of the globals (function_lua.c): a
/// library neither lists nor reads `__redis__err__handler`.
#[test]
fn no_error_handler_global() {
    let server = Server::start();
    let code = lib(
        "h",
        "redis.register_function('list', function() local o = {} for k in pairs(_G) do o[#o + 1] = tostring(k) end table.sort(o) return o end)\n\
         redis.register_function('read', function() return type(__redis__err__handler) end)\n\
         redis.register_function('raw', function() return type(rawget(_G, '__redis__err__handler')) end)",
    );
    both(
        &server,
        &[],
        &[
            &["FUNCTION", "FLUSH"],
            &["FUNCTION", "LOAD", &code],
            &["FCALL", "list", "0"],
            &["FCALL", "read", "0"],
            &["FCALL", "raw", "0"],
        ],
    );
}

#[test]
fn survives_debug_reload_and_restart() {
    let dir = {
        let server = Server::start();
        let mut con = server.con();
        let code = lib("persist", "redis.register_function('p', function() return 'kept' end)");
        assert_eq!(run_str(&mut con, &["ALT.FUNCTION", "LOAD", &code]), "$persist");
        assert_eq!(run_str(&mut con, &["DEBUG", "RELOAD"]), "+OK");
        assert_eq!(run_str(&mut con, &["ALT.FCALL", "p", "0"]), "$kept");
        assert_eq!(run_str(&mut con, &["SAVE"]), "+OK");
        let dir = std::env::temp_dir().join(format!("redis-alt-keep-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::copy(server.dir.join("dump.rdb"), dir.join("dump.rdb")).unwrap();
        dir
    };
    let dir_arg = dir.to_string_lossy().into_owned();
    let server = Server::start_with(&["--dir", &dir_arg], true);
    let mut con = server.con();
    assert_eq!(run_str(&mut con, &["ALT.FCALL", "p", "0"]), "$kept");
    assert!(run_str(&mut con, &["ALT.FUNCTION", "STATS"]).contains("$libraries_count, :1"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn replicates_to_a_replica() {
    let primary = Server::start();
    let replica = Server::start_with(&["--replicaof", "127.0.0.1", &primary.port.to_string()], true);
    let mut p = primary.con();
    let mut r = replica.con();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !run_str(&mut r, &["INFO", "replication"]).contains("master_link_status:up") {
        assert!(Instant::now() < deadline, "replica never synced");
        thread::sleep(Duration::from_millis(20));
    }
    let code = lib(
        "repl",
        "redis.register_function{function_name='get', callback=function(keys) return redis.call('get', keys[1]) end, flags={'no-writes'}}\n\
         redis.register_function('set', function(keys, args) return redis.call('set', keys[1], args[1]) end)",
    );
    assert_eq!(run_str(&mut p, &["ALT.FUNCTION", "LOAD", &code]), "$repl");
    assert_eq!(run_str(&mut p, &["ALT.FCALL", "set", "1", "k", "v"]), "+OK");
    run_str(&mut p, &["WAIT", "1", "5000"]);
    assert_eq!(run_str(&mut r, &["ALT.FCALL_RO", "get", "1", "k"]), "$v");
    assert_eq!(run_str(&mut r, &["GET", "k"]), "$v");
    // A write function on the replica is refused up front, as natively; once the replica is
    // promoted it runs, and once it follows a primary again it is refused again (the run
    // learns the role from the host's role events, and asks the host on a replica).
    assert_eq!(run_str(&mut p, &["FUNCTION", "LOAD", &code]), "$repl");
    run_str(&mut p, &["WAIT", "1", "5000"]);
    let write =
        |con: &mut redis::Connection, prefix: &str| run_str(con, &[&format!("{prefix}FCALL"), "set", "1", "k", "w"]);
    let refused = write(&mut r, "");
    assert!(refused.starts_with("-READONLY"), "{refused}");
    assert_eq!(write(&mut r, "ALT."), refused);
    run_str(&mut r, &["REPLICAOF", "NO", "ONE"]);
    assert_eq!(write(&mut r, "ALT."), "+OK");
    assert_eq!(write(&mut r, ""), "+OK");
    run_str(&mut r, &["REPLICAOF", "127.0.0.1", &primary.port.to_string()]);
    assert_eq!(write(&mut r, "ALT."), refused);
    assert_eq!(write(&mut r, ""), refused);
    let deadline = Instant::now() + Duration::from_secs(20);
    while !run_str(&mut r, &["INFO", "replication"]).contains("master_link_status:up") {
        assert!(Instant::now() < deadline, "replica never synced again");
        thread::sleep(Duration::from_millis(20));
    }
    // A read-only replica whose link is down and that may not serve stale data: a write
    // function meets processCommand's READONLY before its MASTERDOWN, a read-only one the
    // MASTERDOWN, a writable replica's write function the MASTERDOWN too; as natively.
    let dead = Server::start();
    let dead_port = dead.port.to_string();
    drop(dead);
    run_str(&mut r, &["CONFIG", "SET", "replica-serve-stale-data", "no"]);
    run_str(&mut r, &["REPLICAOF", "127.0.0.1", &dead_port]);
    for (writable, function, numkeys) in [("yes", "set", "1"), ("no", "set", "1"), ("no", "get", "1")] {
        run_str(&mut r, &["CONFIG", "SET", "replica-read-only", writable]);
        let native = run_str(&mut r, &["FCALL", function, numkeys, "k", "w"]);
        assert!(native.starts_with("-READONLY") || native.starts_with("-MASTERDOWN"), "{native}");
        assert_eq!(
            run_str(&mut r, &["ALT.FCALL", function, numkeys, "k", "w"]),
            native,
            "{function}, read-only {writable}"
        );
    }
    run_str(&mut r, &["CONFIG", "SET", "replica-read-only", "yes"]);
    run_str(&mut r, &["CONFIG", "SET", "replica-serve-stale-data", "yes"]);
    run_str(&mut r, &["REPLICAOF", "127.0.0.1", &primary.port.to_string()]);
    let deadline = Instant::now() + Duration::from_secs(20);
    while !run_str(&mut r, &["INFO", "replication"]).contains("master_link_status:up") {
        assert!(Instant::now() < deadline, "replica never synced a third time");
        thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(run_str(&mut p, &["ALT.FUNCTION", "DELETE", "repl"]), "+OK");
    run_str(&mut p, &["WAIT", "1", "5000"]);
    assert_eq!(run_str(&mut r, &["ALT.FCALL_RO", "get", "1", "k"]), "-ERR Function not found");
}

#[test]
fn busy_function_kill_and_stats() {
    let server = Server::start_with(&["--busy-reply-threshold", "100"], true);
    let mut con = server.con();
    let code = lib("busy", "redis.register_function('loop', function() while true do end end)");
    run_str(&mut con, &["ALT.FUNCTION", "LOAD", &code]);
    let port = server.port;
    let runner = thread::spawn(move || {
        let mut c = redis::Client::open(format!("redis://127.0.0.1:{port}/")).unwrap().get_connection().unwrap();
        run_str(&mut c, &["ALT.FCALL", "loop", "0"])
    });
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let r = run_str(&mut con, &["PING"]);
        if r.starts_with("-BUSY") {
            assert_eq!(
                r,
                "-BUSY Redis is busy running a script. You can only call ALT.FUNCTION KILL or SHUTDOWN NOSAVE."
            );
            break;
        }
        assert!(Instant::now() < deadline);
        thread::sleep(Duration::from_millis(20));
    }
    let stats = run_str(&mut con, &["ALT.FUNCTION", "STATS"]);
    assert!(stats.contains("$name, $loop") && stats.contains("$command, [$ALT.FCALL, $loop, $0]"), "{stats}");
    assert_eq!(
        run_str(&mut con, &["ALT.SCRIPT", "KILL"]),
        "-BUSY Redis is busy running a script. You can only call ALT.FUNCTION KILL or SHUTDOWN NOSAVE."
    );
    assert_eq!(run_str(&mut con, &["ALT.FUNCTION", "KILL"]), "+OK");
    let reply = runner.join().unwrap();
    assert!(
        reply.starts_with("-ERR Script killed by user with SCRIPT KILL... script: loop, on @user_function:"),
        "{reply}"
    );
    // While an EVAL script is busy, FUNCTION STATS and FUNCTION KILL answer the SCRIPT KILL text.
    let runner = thread::spawn(move || {
        let mut c = redis::Client::open(format!("redis://127.0.0.1:{port}/")).unwrap().get_connection().unwrap();
        run_str(&mut c, &["ALT.EVAL", "while true do end", "0"])
    });
    while !run_str(&mut con, &["PING"]).starts_with("-BUSY") {
        thread::sleep(Duration::from_millis(20));
    }
    let eval_busy = "-BUSY Redis is busy running a script. You can only call ALT.SCRIPT KILL or SHUTDOWN NOSAVE.";
    assert_eq!(run_str(&mut con, &["ALT.FUNCTION", "STATS"]), eval_busy);
    assert_eq!(run_str(&mut con, &["ALT.FUNCTION", "KILL"]), eval_busy);
    assert_eq!(run_str(&mut con, &["ALT.SCRIPT", "KILL"]), "+OK");
    runner.join().unwrap();
}

#[test]
fn load_timeout() {
    let server = Server::start();
    let code = lib("slow", "local i = 0 while true do i = i + 1 end");
    both(&server, &[], &[&["FUNCTION", "FLUSH"], &["FUNCTION", "LOAD", &code], &["FUNCTION", "LIST"]]);
}

/// DUMP/RESTORE in native's format: payloads move both ways between native and ALT.
#[test]
fn dump_and_restore_interchange() {
    let server = Server::start();
    let mut con = server.con();
    let one = lib("one", "redis.register_function('f1', function() return 'one' end)");
    let two = lib("two", &format!("redis.register_function('f2', function() return '{}' end)", "x".repeat(100)));
    for (native_side, prefix) in [("FUNCTION", "ALT.FUNCTION"), ("ALT.FUNCTION", "FUNCTION")] {
        let fcall = if prefix == "FUNCTION" { "FCALL" } else { "ALT.FCALL" };
        for compression in ["yes", "no"] {
            run_str(&mut con, &["CONFIG", "SET", "rdbcompression", compression]);
            run_str(&mut con, &[native_side, "FLUSH"]);
            run_str(&mut con, &[prefix, "FLUSH"]);
            run_str(&mut con, &[native_side, "LOAD", &one]);
            run_str(&mut con, &[native_side, "LOAD", &two]);
            let payload: Vec<u8> =
                redis::cmd(native_side.split(' ').next().unwrap()).arg("DUMP").query(&mut con).expect("dump");
            let restored: redis::RedisResult<String> = redis::cmd(prefix).arg("RESTORE").arg(&payload).query(&mut con);
            assert_eq!(restored.as_deref(), Ok("OK"), "{native_side} DUMP -> {prefix} RESTORE ({compression})");
            assert_eq!(run_str(&mut con, &[fcall, "f1", "0"]), "$one");
            assert_eq!(run_str(&mut con, &[fcall, "f2", "0"]), format!("${}", "x".repeat(100)));
        }
    }
}

#[test]
fn restore_policies_and_errors() {
    let server = Server::start();
    let one = lib("one", "redis.register_function('f1', function() return 1 end)");
    let one_b = lib("one", "redis.register_function('f1b', function() return 11 end)");
    let three = lib("three", "redis.register_function('f1', function() return 3 end)");
    for policy in ["APPEND", "REPLACE", "FLUSH", "flush", "bogus"] {
        // The payload is taken from the implementation under test each time (it is equal in content).
        both(&server, &[], &[&["FUNCTION", "FLUSH"], &["FUNCTION", "LOAD", &one], &["FUNCTION", "LIST"]]);
        let mut con = server.con();
        for (fun, fcall) in [("FUNCTION", "FCALL"), ("ALT.FUNCTION", "ALT.FCALL")] {
            run_str(&mut con, &[fun, "FLUSH"]);
            run_str(&mut con, &[fun, "LOAD", &one_b]);
            let payload: Vec<u8> = redis::cmd(fun).arg("DUMP").query(&mut con).unwrap();
            run_str(&mut con, &[fun, "FLUSH"]);
            run_str(&mut con, &[fun, "LOAD", &one]);
            run_str(&mut con, &[fun, "LOAD", &three.replace("'f1'", "'f3'")]);
            let r: redis::RedisResult<redis::Value> =
                redis::cmd(fun).arg("RESTORE").arg(&payload).arg(policy).query(&mut con);
            let shown = support::normalize(&support::show(&r));
            let after = run_str(&mut con, &[fcall, "f1b", "0"]);
            let list = support::normalize(&run_str(&mut con, &[fun, "STATS"]));
            if fun == "FUNCTION" {
                std::env::set_var("NATIVE_RESTORE", format!("{shown}|{after}|{list}"));
            } else {
                let native = std::env::var("NATIVE_RESTORE").unwrap();
                assert_eq!(format!("{shown}|{}|{list}", after.replace("ALT.", "")), native, "policy {policy}");
            }
        }
    }
    let mut con = server.con();
    for bad in [&b""[..], b"short", b"\xf5\x00\x0a\x00\x00\x00\x00\x00\x00\x00\x00\x00"] {
        let n: redis::RedisResult<redis::Value> = redis::cmd("FUNCTION").arg("RESTORE").arg(bad).query(&mut con);
        let a: redis::RedisResult<redis::Value> = redis::cmd("ALT.FUNCTION").arg("RESTORE").arg(bad).query(&mut con);
        assert_eq!(support::normalize(&support::show(&a)), support::show(&n));
    }
    both(&server, &[], &[&["FUNCTION", "RESTORE", "x", "APPEND", "extra"], &["FUNCTION", "DUMP", "x"]]);
}

/// DEBUG RELOAD options decide how the RDB's libraries meet the loaded ones, as natively.
#[test]
fn debug_reload_options() {
    let server = Server::start();
    let test1 = lib("test1", "redis.register_function('test1', function() return 'hello' end)");
    let test2 = lib("test2", "redis.register_function('test2', function() return 'hello' end)");
    both(
        &server,
        &[],
        &[
            &["FUNCTION", "FLUSH"],
            &["FUNCTION", "LOAD", &test1],
            &["DEBUG", "RELOAD", "NOFLUSH"],
            &["DEBUG", "RELOAD", "NOFLUSH", "MERGE"],
            &["FUNCTION", "LOAD", &test2],
            &["DEBUG", "RELOAD", "NOSAVE", "NOFLUSH", "MERGE"],
            &["FCALL", "test1", "0"],
            &["FCALL", "test2", "0"],
            &["DEBUG", "RELOAD"],
            &["FUNCTION", "STATS"],
        ],
    );
}
