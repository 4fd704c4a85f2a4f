//! Safe by default: with the settings the module ships with, no script takes the host's
//! memory without bound. Every shape of memory bomb fails with the memory-limit error, no
//! `pcall` can catch it for good, the VM stays usable and the memory goes back.

mod support;

use std::thread;
use std::time::{Duration, Instant};

use support::{run_str, Server};

const LIMIT_ERROR: &str = "-ERR Script memory limit exceeded: the script VM may use 1073741824 bytes \
                           (alt.script-memory-limit)";

fn info_field(con: &mut redis::Connection, section: &str, field: &str) -> u64 {
    let info: String = redis::cmd("INFO").arg(section).query(con).expect("info");
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {field} in {info}"))
}

/// Waits until the server's RSS is back within `slack` bytes of `start`.
fn rss_returns(con: &mut redis::Connection, start: u64, slack: u64) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let rss = info_field(con, "memory", "used_memory_rss");
        if rss <= start + slack || Instant::now() > deadline {
            return rss;
        }
        thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn the_default_limit_stops_every_bomb() {
    let server = Server::start();
    let mut con = server.con();
    assert_eq!(
        run_str(&mut con, &["CONFIG", "GET", "alt.script-memory-limit"]),
        "[$alt.script-memory-limit, $1073741824]"
    );
    let start = info_field(&mut con, "memory", "used_memory_rss");
    let bombs = [
        "return #string.rep('x', 1e10)",
        "local s = string.rep('x', 1000) while true do s = s .. s end",
        "local t = {} for i = 1, 1e9 do t[i] = i end",
        "local t = {} local s = string.rep('x', 1e6) for i = 1, 5000 do t[i] = s .. i end return #t",
        "local s = string.rep('x', 3e8) return #table.concat({s, s, s, s})",
        // CVE-2022-24834's shape: about 2.1 GB of JSON from 358 MB of input.
        "return #cjson.encode(string.rep('\\1', 0x15555556))",
        "local s = string.rep('x', 3e8) return #cmsgpack.pack({s, s, s})",
        "local s = string.rep('x', 3e8) return #struct.pack('c0c0c0c0', s, s, s, s)",
        "local function f(t) return f({t, t}) end return f({})",
        // Caught, it still ends the run.
        "local ok = pcall(function() local t = {} for i = 1, 1e9 do t[i] = i end end) return tostring(ok)",
        "local ok = pcall(string.rep, 'x', 2e9) while true do end",
        "return coroutine.resume(coroutine.create(function() return string.rep('x', 2e9) end))",
    ];
    for (n, bomb) in bombs.iter().enumerate() {
        assert_eq!(run_str(&mut con, &["ALT.EVAL", bomb, "0"]), LIMIT_ERROR, "{bomb}");
        assert_eq!(run_str(&mut con, &["PING"]), "+PONG");
        assert_eq!(run_str(&mut con, &["ALT.EVAL", "return 'next'", "0"]), "$next", "after {bomb}");
        assert_eq!(info_field(&mut con, "alt", "alt_memory_limit_hits"), n as u64 + 1, "{bomb}");
        // Peaks are 1-3 GB; what stays resident must be far below.
        let rss = rss_returns(&mut con, start, 256 << 20);
        assert!(rss <= start + (256 << 20), "RSS {rss} after {bomb} (start {start})");
    }
    assert!(server.log().contains("Lua script failed: ERR Script memory limit exceeded"), "{}", server.log());
}

/// `0` still means no limit (native behaviour), for those who want it.
#[test]
fn zero_lifts_the_limit() {
    let server = Server::start();
    let mut con = server.con();
    assert_eq!(run_str(&mut con, &["CONFIG", "SET", "alt.script-memory-limit", "0"]), "+OK");
    assert_eq!(run_str(&mut con, &["ALT.EVAL", "return #string.rep('x', 2^30 + 1)", "0"]), ":1073741825");
}

/// The server's peak RSS (VmHWM) in bytes.
fn peak_rss(server: &Server) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{}/status", server.pid())).expect("/proc status");
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM");
    kb * 1024
}

/// The encoders write their output in place into the string that holds it: the peak is the
/// input plus one copy of the output, below native's (which builds the output, then copies it
/// into a string). Each side on its own server, since the peak is per process.
#[test]
fn encoders_peak_below_native() {
    const MB: u64 = 1 << 20;
    // input bytes, output bytes (a \1 is 6 bytes of JSON)
    let shapes = [
        ("return #cjson.encode(string.rep('\\1', 5e7))", 50_000_000u64, 300_000_002u64),
        ("local s = string.rep('x', 1e8) return #cmsgpack.pack({s, s})", 100_000_000, 200_000_011),
        ("local s = string.rep('x', 1e8) return #struct.pack('c0c0', s, s)", 100_000_000, 200_000_000),
    ];
    for (script, input, output) in shapes {
        let mut growth = Vec::new();
        for command in ["EVAL", "ALT.EVAL"] {
            let server = Server::start_with(&["--alt.script-memory-limit", "0"], true);
            let mut con = server.con();
            let before = peak_rss(&server);
            assert_eq!(run_str(&mut con, &[command, script, "0"]), format!(":{output}"), "{command} {script}");
            growth.push(peak_rss(&server).saturating_sub(before));
        }
        let (native, ours) = (growth[0], growth[1]);
        assert!(ours < native, "{script}: ALT peak grew {} MB, native {} MB", ours / MB, native / MB);
        // The input, one output, and working slack.
        assert!(ours <= input + output + output / 4 + 32 * MB, "{script}: ALT peak grew {} MB", ours / MB);
    }
}

/// A result that references the same table or string many times expands past the memory the
/// VM holds (a table holding itself four times is a reply of 4^8000 elements; native hangs
/// writing it until the host runs out of memory). The reply is held to
/// alt.script-memory-limit: past it, one error element and nulls, well formed; a result
/// below the limit is written as natively.
#[test]
fn replies_are_held_to_the_memory_limit() {
    let server = Server::start_with(&["--alt.script-memory-limit", "8mb"], true);
    let mut con = server.con();
    let too_large =
        "ERR Script reply too large: it passed alt.script-memory-limit (8388608 bytes); the rest is left out";
    // Too deep for the redis crate's parser: read through redis-cli.
    let out = std::process::Command::new("redis-cli")
        .args(["-p", &server.port.to_string(), "ALT.EVAL"])
        .arg("local t = {1, 2, 3} for i = 1, 4 do table.insert(t, t) end return t")
        .arg("0")
        .output()
        .expect("redis-cli");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(too_large), "no cut in {} bytes", text.len());
    assert!(text.len() < 64 << 20, "{}", text.len());
    let script = "local s = string.rep('x', 5e6) local t = {} for i = 1, 100 do t[i] = s end \
                  return {#redis.sha1hex(s), t}";
    let reply = redis::ConnectionLike::req_command(&mut con, redis::cmd("ALT.EVAL").arg(script).arg(0))
        .expect("a well-formed reply");
    let redis::Value::Array(outer) = reply else { panic!("{reply:?}") };
    let redis::Value::Array(items) = &outer[1] else { panic!("{:?}", outer[1]) };
    assert_eq!(items.len(), 100);
    assert!(matches!(&items[0], redis::Value::BulkString(s) if s.len() == 5_000_000));
    assert!(
        matches!(&items[1], redis::Value::ServerError(e) if e.details() == Some(&too_large[4..])),
        "{:?}",
        items[1]
    );
    assert!(items[2..].iter().all(|v| *v == redis::Value::Nil));
    assert_eq!(info_field(&mut con, "alt", "alt_memory_limit_hits"), 2);
    assert_eq!(run_str(&mut con, &["PING"]), "+PONG");
    // Below the limit, as natively.
    support::eval_same(&server, &[], "local t = {} for i = 1, 10000 do t[i] = i end return t", &[], &[]);
    support::eval_same(&server, &[], "local t = {1} t[2] = t return t", &[], &[]);
}
