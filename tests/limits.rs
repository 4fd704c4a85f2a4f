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
        "local s = string.rep('x', 2e8) return #cmsgpack.pack({s, s, s})",
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
