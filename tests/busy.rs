//! Runaway scripts: the busy state, ALT.SCRIPT KILL, UNKILLABLE, and the module's own
//! limits, with two connections to a real server. Native EVAL + SCRIPT KILL on the same kind
//! of server is the oracle for every text.

mod support;

use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use support::{normalize, run_str, same_as_native, Server};

/// Runs a command on its own connection in the background.
fn background(server: &Server, argv: &[&str]) -> JoinHandle<String> {
    let port = server.port;
    let argv: Vec<String> = argv.iter().map(|s| s.to_string()).collect();
    thread::spawn(move || {
        let mut con = redis::Client::open(format!("redis://127.0.0.1:{port}/")).unwrap().get_connection().unwrap();
        let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
        run_str(&mut con, &argv)
    })
}

/// Polls PING from another connection until the server answers BUSY; returns that text.
fn wait_busy(con: &mut redis::Connection) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let r = run_str(con, &["PING"]);
        if r.starts_with("-BUSY") {
            return r;
        }
        assert!(Instant::now() < deadline, "never busy: {r}");
        thread::sleep(Duration::from_millis(20));
    }
}

/// Busy, BUSY seen by another client, kill, the caller's error: for `script`, native and ALT.
fn busy_then_kill(server: &Server, script: &str) -> (String, String, String) {
    let mut other = server.con();
    let mut outcome = Vec::new();
    for (eval, kill) in [("EVAL", &["SCRIPT", "KILL"]), ("ALT.EVAL", &["ALT.SCRIPT", "KILL"])] {
        let runner = background(server, &[eval, script, "0"]);
        let busy = wait_busy(&mut other);
        let killed = run_str(&mut other, kill);
        let caller = runner.join().expect("runner");
        assert_eq!(run_str(&mut other, &["PING"]), "+PONG");
        outcome.push((normalize(&busy), killed, normalize(&caller)));
    }
    assert_eq!(outcome[1], outcome[0], "ALT differs from native for {script}");
    outcome.swap_remove(0)
}

fn busy_server() -> Server {
    Server::start_with(&["--busy-reply-threshold", "100"], true)
}

#[test]
fn busy_kill_and_the_callers_error() {
    let server = busy_server();
    let (busy, killed, caller) = busy_then_kill(&server, "while true do end");
    assert_eq!(busy, "-BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.");
    assert_eq!(killed, "+OK");
    assert!(caller.starts_with("-ERR Script killed by user with SCRIPT KILL... script: "), "{caller}");
    // The VM stays usable.
    let mut con = server.con();
    assert_eq!(run_str(&mut con, &["ALT.EVAL", "return 'alive'", "0"]), "$alive");
    // The BUSY text names the module's kill command.
    let runner = background(&server, &["ALT.EVAL", "while true do end", "0"]);
    assert_eq!(
        wait_busy(&mut con),
        "-BUSY Redis is busy running a script. You can only call ALT.SCRIPT KILL or SHUTDOWN NOSAVE."
    );
    // While busy, other module commands are refused too; the kill is allowed.
    assert!(run_str(&mut con, &["ALT.SCRIPT", "HELP"]).starts_with("-BUSY"));
    assert!(run_str(&mut con, &["ALT.EVAL", "return 1", "0"]).starts_with("-BUSY"));
    assert_eq!(run_str(&mut con, &["ALT.SCRIPT", "KILL"]), "+OK");
    runner.join().unwrap();
    assert!(server.log().contains("Slow script detected"), "{}", server.log());
}

#[test]
fn pcall_cannot_swallow_a_kill() {
    let server = busy_server();
    busy_then_kill(&server, "local i = 0 while true do pcall(function() while true do i = i + 1 end end) end");
    busy_then_kill(&server, "while true do local ok, e = pcall(function() while true do end end) end");
    // Found by the differential fuzzer: the kill resurfaces at the user's next line (the
    // error names it), and a script that returns on the line of its pcall is not killed.
    let (_, _, caller) = busy_then_kill(&server, "local ok, e = pcall(function() while true do end end)\nreturn 1");
    assert!(caller.ends_with("on @user_script:2."), "{caller}");
    let (_, _, caller) = busy_then_kill(&server, "pcall(function() while true do end end) return 'after'");
    assert_eq!(caller, "$after");
}

#[test]
fn kill_during_redis_call_loops() {
    let server = busy_server();
    let (_, killed, caller) =
        busy_then_kill(&server, "while true do redis.call('get', 'k') redis.call('exists', 'a') end");
    assert_eq!(killed, "+OK");
    assert!(caller.contains("Script killed by user"), "{caller}");
}

#[test]
fn notbusy_when_nothing_runs() {
    let server = Server::start();
    same_as_native(&server, 2, &[], &[&["SCRIPT", "KILL"]]);
    same_as_native(&server, 3, &[], &[&["SCRIPT", "KILL"]]);
    let mut con = server.con();
    assert_eq!(run_str(&mut con, &["ALT.SCRIPT", "KILL"]), "-NOTBUSY No scripts in execution right now.");
    assert!(run_str(&mut con, &["ALT.SCRIPT", "KILL", "x"]).starts_with("-ERR wrong number of arguments"));
}

/// A script that wrote cannot be killed; SHUTDOWN NOSAVE ends the server cleanly.
#[test]
fn unkillable_after_a_write_and_shutdown_nosave() {
    let script = "redis.call('set', 'x', 1) while true do end";
    let mut texts = Vec::new();
    for (eval, kill) in [("EVAL", ["SCRIPT", "KILL"]), ("ALT.EVAL", ["ALT.SCRIPT", "KILL"])] {
        let mut server = busy_server();
        let mut other = server.con();
        let _runner = background(&server, &[eval, script, "0"]);
        wait_busy(&mut other);
        texts.push(run_str(&mut other, &kill));
        let _ = run_str(&mut other, &["SHUTDOWN", "NOSAVE"]);
        assert!(server.wait_exit(Duration::from_secs(10)), "server still running after SHUTDOWN NOSAVE");
        let log = server.log();
        assert!(!log.contains("crashed by signal") && !log.contains("ASSERTION"), "{log}");
    }
    assert_eq!(texts[1], texts[0]);
    assert!(texts[0].starts_with("-UNKILLABLE Sorry the script already executed write commands"), "{}", texts[0]);
}

/// Inside MULTI/EXEC the module never yields (that would crash 7.0.15): the script simply
/// runs to its end and others wait, with no BUSY and no crash.
#[test]
fn long_script_inside_multi_exec() {
    let server = busy_server();
    let port = server.port;
    let runner = thread::spawn(move || {
        let mut con = redis::Client::open(format!("redis://127.0.0.1:{port}/")).unwrap().get_connection().unwrap();
        run_str(&mut con, &["MULTI"]);
        run_str(&mut con, &["ALT.EVAL", "local i = 0 while i < 30000000 do i = i + 1 end return i", "0"]);
        run_str(&mut con, &["EXEC"])
    });
    let mut other = server.con();
    for _ in 0..20 {
        let r = run_str(&mut other, &["PING"]);
        assert_eq!(r, "+PONG");
        thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(runner.join().unwrap(), "[:30000000]");
    assert_eq!(run_str(&mut other, &["ALT.EVAL", "return 1", "0"]), ":1");
}

/// With busy-reply-threshold 0 a script is never busy (native installs no hook).
#[test]
fn threshold_zero_never_busy() {
    let server = Server::start_with(&["--busy-reply-threshold", "0"], true);
    let runner = background(&server, &["ALT.EVAL", "local i = 0 while i < 30000000 do i = i + 1 end return i", "0"]);
    let mut other = server.con();
    thread::sleep(Duration::from_millis(20));
    assert_eq!(run_str(&mut other, &["PING"]), "+PONG");
    assert_eq!(runner.join().unwrap(), ":30000000");
    // The threshold is read when a run starts: a CONFIG SET takes effect for the next run.
    run_str(&mut other, &["CONFIG", "SET", "busy-reply-threshold", "100"]);
    let runner = background(&server, &["ALT.EVAL", "while true do end", "0"]);
    wait_busy(&mut other);
    assert_eq!(run_str(&mut other, &["ALT.SCRIPT", "KILL"]), "+OK");
    runner.join().unwrap();
}

#[test]
fn memory_limit_stops_bombs_and_the_vm_recovers() {
    let server = Server::start();
    let mut con = server.con();
    assert_eq!(run_str(&mut con, &["CONFIG", "SET", "alt.script-memory-limit", "32mb"]), "+OK");
    assert_eq!(
        run_str(&mut con, &["CONFIG", "GET", "alt.script-memory-limit"]),
        "[$alt.script-memory-limit, $33554432]"
    );
    let limit_error =
        "-ERR Script memory limit exceeded: the script VM may use 33554432 bytes (alt.script-memory-limit)";
    for bomb in [
        "return string.rep('x', 2^30)",
        "local t = {} for i = 1, 1e8 do t[i] = i end return #t",
        "local s = 'x' while true do s = s .. s end",
        "local t = {} for i = 1, 1e7 do t[i] = tostring(i) .. 'padding' end return #t",
    ] {
        assert_eq!(run_str(&mut con, &["ALT.EVAL", bomb, "0"]), limit_error, "{bomb}");
        // The next script runs, and the VM's memory is back near its start.
        let kb = run_str(&mut con, &["ALT.EVAL", "return collectgarbage('count')", "0"]);
        let kb: i64 = kb.trim_start_matches(':').parse().unwrap();
        assert!(kb < 4096, "VM still holds {kb} KB after {bomb}");
    }
    assert_eq!(run_str(&mut con, &["PING"]), "+PONG");
    // Replies pushed into Lua by redis.call itself (bulk strings, arrays, statuses) hit the
    // limit mid-push and recover the same way.
    run_str(&mut con, &["SET", "big", &"v".repeat(1 << 20)]);
    run_str(&mut con, &["RPUSH", "list", "a", "b", "c", "d"]);
    for bomb in [
        "local t = {} for i = 1, 1e5 do t[i] = redis.call('get', 'big') .. i end return #t",
        "local t = {} for i = 1, 1e6 do t[i] = redis.call('lrange', 'list', 0, -1) end return #t",
        "local t = {} for i = 1, 1e7 do t[i] = redis.call('ping') end return #t",
    ] {
        assert_eq!(run_str(&mut con, &["ALT.EVAL", bomb, "0"]), limit_error, "{bomb}");
        assert_eq!(run_str(&mut con, &["ALT.EVAL", "return redis.call('strlen', 'big')", "0"]), ":1048576");
        // The failed run's memory is collected even though the VM was at its limit.
        let kb = run_str(&mut con, &["ALT.EVAL", "return collectgarbage('count')", "0"]);
        let kb: i64 = kb.trim_start_matches(':').parse().unwrap();
        assert!(kb < 4096, "VM still holds {kb} KB after {bomb}");
    }
    run_str(&mut con, &["DEL", "big", "list"]);
    // Keyspace untouched by the failed scripts; 0 lifts the limit.
    assert_eq!(run_str(&mut con, &["DBSIZE"]), ":0");
    run_str(&mut con, &["CONFIG", "SET", "alt.script-memory-limit", "0"]);
    assert_eq!(run_str(&mut con, &["ALT.EVAL", "return #string.rep('x', 2^26)", "0"]), ":67108864");
}

#[test]
fn memory_limit_from_the_load_arguments() {
    let server = Server::start_with(&["--alt.script-memory-limit", "16mb"], true);
    let mut con = server.con();
    assert_eq!(
        run_str(&mut con, &["CONFIG", "GET", "alt.script-memory-limit"]),
        "[$alt.script-memory-limit, $16777216]"
    );
    assert!(run_str(&mut con, &["ALT.EVAL", "return string.rep('x', 2^26)", "0"]).contains("memory limit"));
}

#[test]
fn time_limit_kills_scripts_that_did_not_write() {
    let server = Server::start();
    let mut con = server.con();
    assert_eq!(run_str(&mut con, &["CONFIG", "SET", "alt.script-time-limit", "200"]), "+OK");
    let started = Instant::now();
    let r = run_str(&mut con, &["ALT.EVAL", "while true do end", "0"]);
    assert!(r.starts_with("-ERR Script killed by user with SCRIPT KILL... script: "), "{r}");
    assert!(started.elapsed() >= Duration::from_millis(200));
    // One accurate log line: the time limit, not a user's kill.
    let log = server.log();
    assert_eq!(log.matches("killed: it ran past alt.script-time-limit").count(), 1, "{log}");
    assert!(!log.contains("<alt> Lua script killed by user"), "{log}");
    // A script that wrote keeps the native rule: it runs to its end, and the log says so.
    let r = run_str(
        &mut con,
        &["ALT.EVAL", "redis.call('set', 'x', 1) local i = 0 while i < 60000000 do i = i + 1 end return i", "0"],
    );
    assert_eq!(r, ":60000000");
    assert!(server.log().contains("already wrote: it cannot be killed"), "{}", server.log());
    assert_eq!(run_str(&mut con, &["GET", "x"]), "$1");
}

#[test]
fn recursion_and_nesting_bombs_give_errors() {
    let server = Server::start();
    for script in [
        "local function f() return f() + 1 end return f()",
        "local function f(n) return pcall(f, n + 1) end return f(1)",
        "local function f(n) local ok, e = pcall(f, n + 1) return e end return f(1)",
        "local t = {} local c = t for i = 1, 100000 do c[1] = {} c = c[1] end return t",
        "local t = {} t[1] = t return t",
        "local t = {} t.map = {} t.map[1] = t return t",
        "return unpack({}, 1, 1e8)",
        "local s = string.rep('a', 100) for i = 1, 20 do s = s .. s end return #s",
    ] {
        support::eval_same(&server, &[], script, &[], &[]);
    }
    let mut con = server.con();
    assert_eq!(run_str(&mut con, &["PING"]), "+PONG");
}

/// A pattern that backtracks for minutes inside one C call stays killable (native 7.0 only
/// answers SCRIPT KILL after it ends), by ALT.SCRIPT KILL and by the time limit.
#[test]
fn backtracking_patterns_are_killable() {
    let server = busy_server();
    let runner = background(&server, &["ALT.EVAL", "return string.find(string.rep('a', 300), '.-.-.-.-b')", "0"]);
    let mut other = server.con();
    wait_busy(&mut other);
    assert_eq!(run_str(&mut other, &["ALT.SCRIPT", "KILL"]), "+OK");
    let reply = runner.join().unwrap();
    assert!(reply.contains("Script killed by user with SCRIPT KILL..."), "{reply}");
    run_str(&mut other, &["CONFIG", "SET", "alt.script-time-limit", "300"]);
    let started = Instant::now();
    let reply =
        run_str(&mut other, &["ALT.EVAL", "while true do string.find(string.rep('a', 100), '.-.-.-.-b') end", "0"]);
    assert!(reply.contains("Script killed by user"), "{reply}");
    assert!(started.elapsed() < Duration::from_secs(10));
}

/// The same at the deepest level the C stack allows a pattern (the floor, 128 KB above the
/// stack's end): the interrupt poll serves clients from there through RM_Yield, and the
/// kill unwinds the matcher before the error is raised.
#[test]
fn backtracking_at_the_deepest_level_is_killable() {
    let server = busy_server();
    let mut other = server.con();
    let chain = |n: usize| format!("return #string.match(string.rep('a', {n}), string.rep('a?', {n}))");
    // The deepest chain this build matches (debug and release frames differ).
    let (mut fits, mut refused) = (1_000, 2_000_000);
    while refused - fits > 8 {
        let mid = (fits + refused) / 2;
        let reply = run_str(&mut other, &["ALT.EVAL", &chain(mid), "0"]);
        if reply == format!(":{mid}") {
            fits = mid;
        } else {
            assert!(reply.contains("pattern too complex"), "{mid}: {reply}");
            refused = mid;
        }
    }
    // 48 bytes a level, as natively (which survives up to 174,511 levels on 8 MB): only the
    // 128 KB margin and the frames below string.match are lost.
    if let Some(stack) = server.stack_limit() {
        assert!(fits as u64 * 48 > stack - 192 * 1024, "{fits} levels on a {stack}-byte stack");
    }
    // Fails only after trying every subset of the optional items, deepest first.
    let script = format!("return string.match(string.rep('a', {fits}) .. 'b', string.rep('a?', {fits}) .. 'c')");
    let runner = background(&server, &["ALT.EVAL", &script, "0"]);
    wait_busy(&mut other);
    assert_eq!(run_str(&mut other, &["ALT.SCRIPT", "KILL"]), "+OK");
    let reply = runner.join().unwrap();
    assert!(reply.contains("Script killed by user with SCRIPT KILL..."), "{reply}");
    assert_eq!(run_str(&mut other, &["PING"]), "+PONG");
}

#[test]
fn busy_function_stats_and_kill() {
    let server = busy_server();
    let mut con = server.con();
    let code =
        "#!lua name=spin\nredis.register_function{function_name='spin', callback=function() while true do end end, \
                flags={'no-writes'}}";
    let mut outcome = Vec::new();
    for prefix in ["", "ALT."] {
        let (function, fcall) = (format!("{prefix}FUNCTION"), format!("{prefix}FCALL"));
        run_str(&mut con, &[&function, "LOAD", code]);
        let runner = background(&server, &[&fcall, "spin", "0"]);
        let busy = wait_busy(&mut con);
        // FUNCTION STATS is served while busy; the duration varies, the rest must not.
        let stats = run_str(&mut con, &[&function, "STATS"]);
        let stats = stats.split(", $duration_ms").next().unwrap_or_default().to_string();
        if prefix == "ALT." {
            // Per-function statistics are readable while the function runs.
            let with = run_str(&mut con, &[&function, "STATS", "WITHFUNCTIONS"]);
            assert!(with.contains("$functions, [$spin, [$calls, :0"), "{with}");
        }
        let killed = run_str(&mut con, &[&function, "KILL"]);
        let caller = runner.join().expect("runner");
        outcome.push((normalize(&busy), normalize(&stats), killed, normalize(&caller)));
    }
    assert_eq!(outcome[1], outcome[0]);
    assert!(outcome[0].1.contains("$running_script, [$name, $spin, $command, [$FCALL, $spin, $0]"), "{:?}", outcome[0]);
    assert_eq!(outcome[0].2, "+OK");
    let info: String = redis::cmd("INFO").arg("alt").query(&mut con).expect("info");
    assert!(info.contains("alt_kills:1\r\n"), "{info}");
    assert!(server.log().contains("Lua script spin killed by ALT.FUNCTION KILL."), "{}", server.log());
    assert!(!server.log().contains("<alt> Lua script killed by user"), "one line per kill: {}", server.log());
}

/// Every place Lua code can run counts toward busy and KILL, as natively: coroutines
/// (created, wrapped, nested, resumed from pcall or a metamethod), error handlers,
/// metamethods and the callbacks of C library functions.
#[test]
fn every_place_lua_runs_is_killable() {
    let server = busy_server();
    for script in [
        "while true do coroutine.resume(coroutine.create(function() while true do end end)) end",
        "coroutine.wrap(function() while true do end end)()",
        "coroutine.wrap(function() coroutine.wrap(function() while true do end end)() end)()",
        "local co = coroutine.wrap(function() while true do pcall(function() while true do end end) end end) \
         while true do pcall(co) end",
        "while true do pcall(coroutine.wrap(function() while true do end end)) end",
        "local t = setmetatable({}, {__index = function() \
         return coroutine.wrap(function() while true do end end)() end}) return t.x",
        "return setmetatable({}, {__add = function() while true do end end}) + 1",
        "return string.gsub('abc', '%w', function() while true do end end)",
        "table.sort({3, 2, 1}, function(a, b) while true do end end)",
    ] {
        let (busy, killed, caller) = busy_then_kill(&server, script);
        assert!(busy.starts_with("-BUSY"), "{script}: {busy}");
        assert_eq!(killed, "+OK", "{script}");
        assert!(caller.contains("Script killed by user with SCRIPT KILL..."), "{script}: {caller}");
    }
    // An xpcall handler that loops: native 7.0 runs the handler of an error raised by its
    // hook with hooks still disabled, so after SCRIPT KILL it loops forever and the server
    // never answers again (not run natively here). Through ALT the kill reaches the handler.
    let mut other = server.con();
    for script in [
        "while true do xpcall(function() error('x') end, function() while true do end end) end",
        "return xpcall(function() while true do end end, function() while true do end end)",
    ] {
        let runner = background(&server, &["ALT.EVAL", script, "0"]);
        wait_busy(&mut other);
        assert_eq!(run_str(&mut other, &["ALT.SCRIPT", "KILL"]), "+OK");
        runner.join().expect("runner");
        assert_eq!(run_str(&mut other, &["PING"]), "+PONG");
        assert_eq!(run_str(&mut other, &["ALT.EVAL", "return 'alive'", "0"]), "$alive");
    }
}

/// The time and memory limits reach into coroutines too.
#[test]
fn limits_reach_into_coroutines() {
    let server = Server::start();
    let mut con = server.con();
    assert_eq!(run_str(&mut con, &["CONFIG", "SET", "alt.script-time-limit", "200"]), "+OK");
    let r = run_str(
        &mut con,
        &["ALT.EVAL", "while true do coroutine.resume(coroutine.create(function() while true do end end)) end", "0"],
    );
    assert!(r.starts_with("-ERR Script killed by user with SCRIPT KILL... script: "), "{r}");
    assert_eq!(run_str(&mut con, &["CONFIG", "SET", "alt.script-time-limit", "0"]), "+OK");
    assert_eq!(run_str(&mut con, &["CONFIG", "SET", "alt.script-memory-limit", "8388608"]), "+OK");
    let r = run_str(
        &mut con,
        &["ALT.EVAL", "return coroutine.wrap(function() local t = {} for i = 1, 1e8 do t[i] = i end end)()", "0"],
    );
    assert!(r.contains("memory limit"), "{r}");
    assert_eq!(run_str(&mut con, &["ALT.EVAL", "return 'alive'", "0"]), "$alive");
    assert_eq!(run_str(&mut con, &["PING"]), "+PONG");
}

/// A library body that loops (the load-time API has no coroutines or pcall) times out as
/// natively; a function
/// that loops in a coroutine is busy and killable by FUNCTION KILL, as natively.
#[test]
fn functions_loop_in_coroutines_killably() {
    let server = busy_server();
    let mut con = server.con();
    for body in [
        "#!lua name=spinload\nwhile true do end",
        "#!lua name=spinload\nlocal function f() while true do end end f()",
        "#!lua name=spinload\nlocal t = {} local i = 0 while true do i = i + 1 t[i % 10] = i end",
    ] {
        let native = run_str(&mut con, &["FUNCTION", "LOAD", body]);
        let alt = run_str(&mut con, &["ALT.FUNCTION", "LOAD", body]);
        assert_eq!(alt, native, "{body}");
        assert!(native.contains("FUNCTION LOAD timeout"), "{native}");
        assert_eq!(run_str(&mut con, &["PING"]), "+PONG");
    }
    let code = "#!lua name=cospin\nredis.register_function{function_name='cospin', callback=function() \
                while true do coroutine.resume(coroutine.create(function() while true do end end)) end end, \
                flags={'no-writes'}}";
    let mut outcome = Vec::new();
    for prefix in ["", "ALT."] {
        let (function, fcall) = (format!("{prefix}FUNCTION"), format!("{prefix}FCALL"));
        assert_eq!(run_str(&mut con, &[&function, "LOAD", code]), "$cospin");
        let runner = background(&server, &[&fcall, "cospin", "0"]);
        let busy = wait_busy(&mut con);
        let killed = run_str(&mut con, &[&function, "KILL"]);
        let caller = runner.join().expect("runner");
        assert_eq!(run_str(&mut con, &["PING"]), "+PONG");
        outcome.push((normalize(&busy), killed, normalize(&caller)));
    }
    assert_eq!(outcome[1], outcome[0]);
    assert_eq!(outcome[0].1, "+OK");
}
