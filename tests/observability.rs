//! What operators see: the bounded ALT.EVAL cache, ALT.SCRIPT SHOW / LIST / STATS,
//! ALT.FUNCTION STATS WITHFUNCTIONS, the module configs and `INFO alt`.

mod support;

use std::time::{Duration, Instant};

use support::{run_str, sha1hex, Server};

/// One `alt_<name>` field of `INFO alt`.
fn info_field(con: &mut redis::Connection, name: &str) -> u64 {
    let info: String = redis::cmd("INFO").arg("alt").query(con).expect("info alt");
    let key = format!("alt_{name}:");
    info.lines()
        .find_map(|l| l.strip_prefix(&key))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {key} in {info}"))
}

fn eval(con: &mut redis::Connection, body: &str) -> String {
    run_str(con, &["ALT.EVAL", body, "0"])
}

fn evalsha(con: &mut redis::Connection, body: &str) -> String {
    run_str(con, &["ALT.EVALSHA", &sha1hex(body), "0"])
}

#[test]
fn eval_scripts_are_evicted_least_recently_used_beyond_the_bound() {
    // The bound given at load, as `--loadmodule <path> eval-scripts-max 3`.
    let module = support::module_path();
    let server =
        Server::start_with(&["--loadmodule", module.to_str().expect("utf-8 path"), "eval-scripts-max", "3"], false);
    let mut con = server.con();
    assert_eq!(run_str(&mut con, &["CONFIG", "GET", "alt.eval-scripts-max"]), "[$alt.eval-scripts-max, $3]");
    for i in 1..=3 {
        assert_eq!(eval(&mut con, &format!("return {i}")), format!(":{i}"));
    }
    // EVALSHA makes script 1 the most recently used: script 2 goes first.
    assert_eq!(evalsha(&mut con, "return 1"), ":1");
    assert_eq!(eval(&mut con, "return 4"), ":4");
    let native_noscript = run_str(&mut con, &["EVALSHA", &sha1hex("return 2"), "0"]);
    assert_eq!(evalsha(&mut con, "return 2"), native_noscript);
    assert_eq!(native_noscript, "-NOSCRIPT No matching script. Please use EVAL.");
    assert_eq!(evalsha(&mut con, "return 1"), ":1");
    assert_eq!(info_field(&mut con, "evicted_scripts"), 1);

    // SCRIPT LOAD promotes an EVAL script: it is never evicted, and no longer counts.
    assert_eq!(run_str(&mut con, &["ALT.SCRIPT", "LOAD", "return 3"]), format!("${}", sha1hex("return 3")));
    for i in 5..=9 {
        eval(&mut con, &format!("return {i}"));
    }
    assert_eq!(evalsha(&mut con, "return 3"), ":3");
    let loaded: Vec<bool> = (1..=9)
        .map(|i| run_str(&mut con, &["ALT.SCRIPT", "EXISTS", &sha1hex(&format!("return {i}"))]) == "[:1]")
        .collect();
    assert_eq!(loaded, [false, false, true, false, false, false, true, true, true]);
    assert_eq!(info_field(&mut con, "cached_scripts"), 4);
    assert_eq!(info_field(&mut con, "evicted_scripts"), 5);

    // SCRIPT LOAD'ed scripts never go, however many are loaded.
    for i in 10..=20 {
        run_str(&mut con, &["ALT.SCRIPT", "LOAD", &format!("return {i}")]);
    }
    assert_eq!(info_field(&mut con, "cached_scripts"), 15);

    // The byte bound, at runtime: two 10-byte bodies fit in 25 bytes, a third evicts one.
    assert_eq!(run_str(&mut con, &["CONFIG", "SET", "alt.eval-scripts-max", "0"]), "+OK");
    assert_eq!(run_str(&mut con, &["CONFIG", "SET", "alt.eval-scripts-max-bytes", "25"]), "+OK");
    run_str(&mut con, &["ALT.SCRIPT", "FLUSH"]);
    for i in 100..=102 {
        assert_eq!(eval(&mut con, &format!("return {i}")), format!(":{i}"));
    }
    assert_eq!(evalsha(&mut con, "return 100"), native_noscript);
    assert_eq!(evalsha(&mut con, "return 101"), ":101");
    assert_eq!(evalsha(&mut con, "return 102"), ":102");
    // A script larger than the bound still runs (it is only evicted by the next one).
    let big = format!("return '{}'", "x".repeat(40));
    assert_eq!(eval(&mut con, &big), format!("${}", "x".repeat(40)));
    assert_eq!(info_field(&mut con, "cached_scripts"), 1);
}

#[test]
fn script_show_list_and_stats() {
    let server = Server::start();
    for proto in [2, 3] {
        let mut con = server.con_proto(proto);
        run_str(&mut con, &["ALT.SCRIPT", "FLUSH"]);
        let loaded = "#!lua flags=no-writes\nreturn 'loaded'";
        let failing = "return redis.call('nosuchcommand')";
        run_str(&mut con, &["ALT.SCRIPT", "LOAD", loaded]);
        assert!(eval(&mut con, failing).starts_with("-ERR Unknown Redis command"));
        assert!(evalsha(&mut con, failing).starts_with("-ERR"));
        assert_eq!(evalsha(&mut con, loaded), "$loaded");

        assert_eq!(run_str(&mut con, &["ALT.SCRIPT", "SHOW", &sha1hex(loaded)]), format!("${loaded}"));
        // Any case, as EVALSHA; an unknown SHA answers as EVALSHA does.
        assert_eq!(run_str(&mut con, &["ALT.SCRIPT", "SHOW", &sha1hex(failing).to_uppercase()]), format!("${failing}"));
        let noscript = run_str(&mut con, &["EVALSHA", &"0".repeat(40), "0"]);
        assert_eq!(run_str(&mut con, &["ALT.SCRIPT", "SHOW", &"0".repeat(40)]), noscript);
        assert_eq!(run_str(&mut con, &["ALT.SCRIPT", "SHOW", "nope"]), noscript);

        let (a, b) = (sha1hex(loaded), sha1hex(failing));
        let (first, second) = if a < b { (&a, &b) } else { (&b, &a) };
        let entry = |sha: &str, with_source: bool| {
            let (origin, flags, size, calls, body) = if sha == a {
                ("load", "+no-writes", loaded.len(), 1, loaded)
            } else {
                ("eval", "", failing.len(), 2, failing)
            };
            let fields = [
                ("sha", format!("${sha}")),
                ("origin", format!("${origin}")),
                ("flags", if proto == 3 { format!("~[{flags}]") } else { format!("[{flags}]") }),
                ("size", format!(":{size}")),
                ("calls", format!(":{calls}")),
                ("body", format!("${body}")),
            ];
            let shown: Vec<_> = fields.iter().take(if with_source { 6 } else { 5 }).collect();
            if proto == 3 {
                let pairs: Vec<String> = shown.iter().map(|(k, v)| format!("${k} => {v}")).collect();
                format!("%{{{}}}", pairs.join(", "))
            } else {
                let flat: Vec<String> = shown.iter().map(|(k, v)| format!("${k}, {v}")).collect();
                format!("[{}]", flat.join(", "))
            }
        };
        assert_eq!(
            run_str(&mut con, &["ALT.SCRIPT", "LIST"]),
            format!("[{}, {}]", entry(first, false), entry(second, false)),
            "RESP{proto}"
        );
        assert_eq!(
            run_str(&mut con, &["ALT.SCRIPT", "LIST", "withsource"]),
            format!("[{}, {}]", entry(first, true), entry(second, true)),
            "RESP{proto}"
        );
        assert_eq!(run_str(&mut con, &["ALT.SCRIPT", "LIST", "x"]), "-ERR syntax error");

        let stats = stats_of(&mut con, &["ALT.SCRIPT", "STATS", &b, &"1".repeat(40)]);
        assert_eq!(stats.len(), 2);
        let (sha, fields) = &stats[0];
        assert_eq!(sha, &b);
        assert_eq!(field(fields, "calls"), Some(2));
        assert_eq!(field(fields, "errors"), Some(2));
        let max = field(fields, "max_usec").unwrap_or_default();
        assert!(field(fields, "total_usec").unwrap_or_default() >= max);
        assert!(field(fields, "p50_usec").unwrap_or_default() <= max);
        assert!(field(fields, "p99_usec").unwrap_or_default() <= max);
        assert!(field(fields, "last_used_ms").unwrap_or_default() > 1_700_000_000_000);
        assert_eq!(stats[1], ("1".repeat(40), None));
        let all = stats_of(&mut con, &["ALT.SCRIPT", "STATS"]);
        assert_eq!(all.iter().map(|(s, _)| s.as_str()).collect::<Vec<_>>(), [first.as_str(), second.as_str()]);
        assert_eq!(field(&all.iter().find(|(s, _)| *s == a).and_then(|(_, f)| f.clone()), "errors"), Some(0));

        // A script loaded but never run: zero counts, no percentiles, no last use.
        let idle = "return 'idle'";
        run_str(&mut con, &["ALT.SCRIPT", "LOAD", idle]);
        let idle_stats = stats_of(&mut con, &["ALT.SCRIPT", "STATS", &sha1hex(idle)]);
        let fields = idle_stats[0].1.clone();
        assert_eq!(field(&fields, "calls"), Some(0));
        assert!(fields.as_ref().is_some_and(|f| f.iter().any(|(k, v)| k == "p50_usec" && v.is_none())));
    }
}

type Fields = Option<Vec<(String, Option<u64>)>>;

/// `(sha or name, fields)` of a STATS reply, in either protocol.
fn stats_of(con: &mut redis::Connection, argv: &[&str]) -> Vec<(String, Fields)> {
    let mut cmd = redis::cmd(argv[0]);
    for a in &argv[1..] {
        cmd.arg(*a);
    }
    let value: redis::Value = cmd.query(con).expect("stats");
    pairs(&value).into_iter().map(|(k, v)| (text(&k), fields_of(&v))).collect()
}

fn pairs(v: &redis::Value) -> Vec<(redis::Value, redis::Value)> {
    match v {
        redis::Value::Map(p) => p.clone(),
        redis::Value::Array(items) => items.chunks(2).map(|c| (c[0].clone(), c[1].clone())).collect(),
        other => panic!("not a map: {other:?}"),
    }
}

fn text(v: &redis::Value) -> String {
    match v {
        redis::Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
        redis::Value::SimpleString(s) => s.clone(),
        other => panic!("not a string: {other:?}"),
    }
}

fn fields_of(v: &redis::Value) -> Fields {
    if *v == redis::Value::Nil {
        return None;
    }
    Some(
        pairs(v)
            .into_iter()
            .map(|(k, v)| {
                let n = match v {
                    redis::Value::Int(i) => Some(u64::try_from(i).expect("non-negative")),
                    redis::Value::Nil => None,
                    other => panic!("not an integer: {other:?}"),
                };
                (text(&k), n)
            })
            .collect(),
    )
}

fn field(fields: &Fields, name: &str) -> Option<u64> {
    fields.as_ref()?.iter().find(|(k, _)| k == name)?.1
}

#[test]
fn function_stats_with_functions() {
    let server = Server::start();
    let mut con = server.con();
    let lib = "#!lua name=lib\nredis.register_function('ok', function() return 1 end)\n\
               redis.register_function('bad', function() return redis.call('nosuch') end)";
    for prefix in ["", "ALT."] {
        run_str(&mut con, &[&format!("{prefix}FUNCTION"), "LOAD", lib]);
    }
    // Without the option the reply is native's, byte for byte.
    assert_eq!(run_str(&mut con, &["ALT.FUNCTION", "STATS"]), run_str(&mut con, &["FUNCTION", "STATS"]));
    run_str(&mut con, &["ALT.FCALL", "ok", "0"]);
    run_str(&mut con, &["ALT.FCALL", "ok", "0"]);
    assert!(run_str(&mut con, &["ALT.FCALL", "bad", "0"]).starts_with("-ERR Unknown Redis command"));
    let value: redis::Value =
        redis::cmd("ALT.FUNCTION").arg("STATS").arg("WITHFUNCTIONS").query(&mut con).expect("stats");
    let top = pairs(&value);
    assert_eq!(top.iter().map(|(k, _)| text(k)).collect::<Vec<_>>(), ["running_script", "engines", "functions"]);
    let functions: Vec<(String, Fields)> =
        pairs(&top[2].1).into_iter().map(|(k, v)| (text(&k), fields_of(&v))).collect();
    assert_eq!(functions.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(), ["bad", "ok"]);
    assert_eq!((field(&functions[0].1, "calls"), field(&functions[0].1, "errors")), (Some(1), Some(1)));
    assert_eq!((field(&functions[1].1, "calls"), field(&functions[1].1, "errors")), (Some(2), Some(0)));
    assert!(run_str(&mut con, &["ALT.FUNCTION", "STATS", "other"]).starts_with("-ERR wrong number of arguments"));
    // Replacing the library starts its functions' statistics afresh.
    run_str(&mut con, &["ALT.FUNCTION", "LOAD", "REPLACE", lib]);
    let stats = run_str(&mut con, &["ALT.FUNCTION", "STATS", "WITHFUNCTIONS"]);
    assert!(stats.contains("$calls, :0"), "{stats}");
}

#[test]
fn info_section_counts_what_happens() {
    let server = Server::start();
    let mut con = server.con();
    for name in ["cached_scripts", "eval_calls", "libraries", "evicted_scripts", "kills", "async_flushes_done"] {
        assert_eq!(info_field(&mut con, name), 0, "{name}");
    }
    assert!(info_field(&mut con, "eval_vm_memory") > 0);
    assert!(info_field(&mut con, "functions_vm_memory") > 0);
    eval(&mut con, "return 1");
    eval(&mut con, "return 1");
    eval(&mut con, "return redis.call('nosuch')");
    run_str(&mut con, &["ALT.FUNCTION", "LOAD", "#!lua name=l\nredis.register_function('f', function() return 1 end)"]);
    run_str(&mut con, &["ALT.FCALL", "f", "0"]);
    assert_eq!(info_field(&mut con, "cached_scripts"), 2);
    assert!(info_field(&mut con, "scripts_memory") > "return 1".len() as u64);
    assert_eq!(info_field(&mut con, "eval_calls"), 3);
    assert_eq!(info_field(&mut con, "eval_errors"), 1);
    assert_eq!((info_field(&mut con, "libraries"), info_field(&mut con, "functions")), (1, 1));
    assert_eq!((info_field(&mut con, "fcall_calls"), info_field(&mut con, "fcall_errors")), (1, 0));

    // The memory limit counts its hits.
    run_str(&mut con, &["CONFIG", "SET", "alt.script-memory-limit", "8mb"]);
    let hog = "local t = {} for i = 1, 1e7 do t[i] = i end return #t";
    assert!(eval(&mut con, hog).starts_with("-ERR Script memory limit exceeded"));
    assert_eq!(info_field(&mut con, "memory_limit_hits"), 1);
    run_str(&mut con, &["CONFIG", "SET", "alt.script-memory-limit", "0"]);

    // An async flush empties the cache at once and is counted when the worker is done.
    assert_eq!(run_str(&mut con, &["ALT.SCRIPT", "FLUSH", "ASYNC"]), "+OK");
    assert_eq!(info_field(&mut con, "cached_scripts"), 0);
    let deadline = Instant::now() + Duration::from_secs(10);
    while info_field(&mut con, "async_flushes_done") < 1 {
        assert!(Instant::now() < deadline, "the async flush never finished");
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(info_field(&mut con, "async_flushes_in_flight"), 0);

    // A function flush swaps in a fresh registry (built ahead of time): counts follow, and
    // the new VM serves at once; twice in a row, so the second takes the next spare or builds.
    for _ in 0..2 {
        assert_eq!(run_str(&mut con, &["ALT.FUNCTION", "FLUSH", "SYNC"]), "+OK");
        assert_eq!((info_field(&mut con, "libraries"), info_field(&mut con, "functions")), (0, 0));
        run_str(
            &mut con,
            &["ALT.FUNCTION", "LOAD", "#!lua name=l\nredis.register_function('f', function() return 2 end)"],
        );
        assert_eq!(run_str(&mut con, &["ALT.FCALL", "f", "0"]), ":2");
        assert_eq!(info_field(&mut con, "libraries"), 1);
    }

    // The section is also part of INFO everything and of INFO modules.
    for section in ["everything", "modules"] {
        let info: String = redis::cmd("INFO").arg(section).query(&mut con).expect("info");
        assert!(info.contains("# alt\r\nalt_cached_scripts:0\r\n"), "INFO {section}: {info}");
    }
}

#[test]
fn long_scripts_show_in_slowlog_and_latency() {
    let server = Server::start();
    let mut con = server.con();
    run_str(&mut con, &["CONFIG", "SET", "slowlog-log-slower-than", "10000"]);
    run_str(&mut con, &["CONFIG", "SET", "latency-monitor-threshold", "10"]);
    // About 30 ms of work, timed by the server's clock.
    let spin = "local t = redis.call('TIME') local start = t[1] * 1e6 + t[2] \
                repeat t = redis.call('TIME') until t[1] * 1e6 + t[2] - start > 30000 return 'done'";
    assert_eq!(eval(&mut con, "return 'fast'"), "$fast");
    assert_eq!(eval(&mut con, spin), "$done");
    let slowlog = run_str(&mut con, &["SLOWLOG", "GET"]);
    // The slow log keeps the command line (arguments cut at 128 bytes, as for any command).
    assert!(slowlog.contains("[$ALT.EVAL, $local t = redis.call('TIME')"), "{slowlog}");
    assert!(!slowlog.contains("fast"), "{slowlog}");
    let latest = run_str(&mut con, &["LATENCY", "LATEST"]);
    assert!(latest.starts_with("[[$command, :"), "{latest}");
}

/// The VM memory gauges are read when INFO runs (as native's used_memory_lua): after a
/// script built a large table and a later full collection, INFO tells what the VM holds now,
/// for the EVAL VM and the function VM, and a script's own INFO sees its VM as it is.
#[test]
fn vm_memory_gauges_are_current() {
    let server = Server::start();
    let mut con = server.con();
    const MIB: u64 = 1 << 20;
    // Inside a script: its own VM as it is at that moment, holding the table being built,
    // then after a full collection.
    let inside =
        "local function vm() return tonumber(string.match(redis.call('INFO', 'alt'), 'alt_eval_vm_memory:(%d+)')) end \
                  local t = {} for i = 1, 3e6 do t[i] = i end local held = vm() \
                  t = nil collectgarbage('collect') return {held, vm()}";
    let reply: Vec<u64> = redis::cmd("ALT.EVAL").arg(inside).arg(0).query(&mut con).unwrap();
    assert!(reply[0] > 40 * MIB && reply[1] < MIB, "{reply:?}");
    let after = info_field(&mut con, "eval_vm_memory");
    assert!(after < MIB, "{after}");

    let lib = "#!lua name=mem\n\
               local keep = {}\n\
               redis.register_function('grow', function() for i = 1, 3e6 do keep[i] = i end return 1 end)\n\
               redis.register_function('drop', function() keep = {} collectgarbage('collect') return 1 end)";
    run_str(&mut con, &["ALT.FUNCTION", "LOAD", lib]);
    assert_eq!(run_str(&mut con, &["ALT.FCALL", "grow", "0"]), ":1");
    let held = info_field(&mut con, "functions_vm_memory");
    assert!(held > 40 * MIB, "{held}");
    assert_eq!(run_str(&mut con, &["ALT.FCALL", "drop", "0"]), ":1");
    let after = info_field(&mut con, "functions_vm_memory");
    assert!(after < MIB, "{after}");
    // A flushed VM no longer counts: the fresh one does.
    run_str(&mut con, &["ALT.FCALL", "grow", "0"]);
    run_str(&mut con, &["ALT.FUNCTION", "FLUSH", "ASYNC"]);
    assert!(info_field(&mut con, "functions_vm_memory") < MIB);
}
