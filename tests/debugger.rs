//! The Lua debugger (issue 16): `ALT.SCRIPT DEBUG YES|SYNC|NO` then `ALT.EVAL`, driven over a
//! raw connection exactly as redis-cli drives one (each typed line sent as an ordinary RESP
//! command, one array of status lines back per command, `<endsession>` then the script's reply,
//! then the server closes the connection). The oracle is native LDB on the same server: the
//! same script and the same typed lines through `SCRIPT DEBUG` + `EVAL`, compared line by line
//! (apart from the `ALT.` prefix and pointer addresses), then the final reply, the connection's
//! end and the keyspace (YES: unchanged; SYNC: changed as natively). Then the rules, the
//! module's own promises (several sessions, others served, BGSAVE, idle timeout, a client that
//! misbehaves), functions (no native oracle) and drop-in mode with the real `redis-cli --ldb`.
//! `ALT_TEST_NATIVE_ONLY=1` runs only the native halves: the tests checked against native LDB.

// Only the script generator is used here (the fuzzer's runner reads the rest).
#[allow(dead_code)]
#[path = "support/fuzzgen.rs"]
mod fuzzgen;
mod support;

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use support::resp::{RawCon, ReadError, Reply};
use support::{keyspace, normalize, run_str, Server};

const END: &str = "<endsession>";

/// `ALT_TEST_NATIVE_ONLY=1`: only the native halves of the oracles run (and the module-only
/// tests are skipped): checks the tests themselves against native LDB on a build without the
/// debugger.
fn native_only() -> bool {
    std::env::var("ALT_TEST_NATIVE_ONLY").is_ok_and(|v| v == "1")
}

/// The halves of a test: native names, then ALT.* (unless `native_only`).
fn sides() -> &'static [Names] {
    if native_only() {
        &[Names::Native]
    } else {
        &[Names::Native, Names::Alt]
    }
}

/// Keys every transcript starts from.
const SETUP: &[&[&str]] = &[
    &["SET", "str", "x"],
    &["HSET", "h", "f", "v"],
    &["SADD", "s", "m"],
    &["ZADD", "z", "1.5", "m"],
    &["RPUSH", "l", "a", "b"],
];

/// Which names the scripting commands are sent under.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Names {
    /// SCRIPT, EVAL, ...: native LDB, or the module in drop-in mode.
    Native,
    /// ALT.SCRIPT, ALT.EVAL, ...
    Alt,
}

impl Names {
    fn of(self, name: &str) -> String {
        match self {
            Names::Native => name.to_string(),
            Names::Alt => format!("ALT.{name}"),
        }
    }
}

// ------------------------------------------------------------------------------------------
// The session driver.

/// A typed line split as redis-cli splits it in a debugging session (`cliSplitArgs`): after
/// `e ` or `eval ` the rest is one argument, verbatim; otherwise `sdssplitargs` (spaces,
/// "double quotes" with escapes, 'single quotes').
fn split_line(line: &str) -> Vec<Vec<u8>> {
    for prefix in ["eval ", "e "] {
        if let Some(rest) = line.strip_prefix(prefix) {
            return vec![prefix.trim_end().as_bytes().to_vec(), rest.as_bytes().to_vec()];
        }
    }
    let bytes = line.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    loop {
        while i < bytes.len() && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        if i == bytes.len() {
            return out;
        }
        let mut arg = Vec::new();
        let mut quote = None;
        while i < bytes.len() {
            let c = bytes[i];
            match quote {
                Some(b'"') if c == b'\\' && i + 1 < bytes.len() => {
                    i += 1;
                    match bytes[i] {
                        b'x' if i + 2 < bytes.len() => {
                            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                            arg.push(u8::from_str_radix(hex, 16).expect("\\xHH"));
                            i += 2;
                        }
                        b'n' => arg.push(b'\n'),
                        b'r' => arg.push(b'\r'),
                        b't' => arg.push(b'\t'),
                        b'b' => arg.push(8),
                        b'a' => arg.push(7),
                        other => arg.push(other),
                    }
                }
                Some(b'\'') if c == b'\\' && bytes.get(i + 1) == Some(&b'\'') => {
                    i += 1;
                    arg.push(b'\'');
                }
                Some(q) if c == q => quote = None,
                Some(_) => arg.push(c),
                None if c == b'"' || c == b'\'' => quote = Some(c),
                None if c.is_ascii_whitespace() => break,
                None => arg.push(c),
            }
            i += 1;
        }
        assert!(quote.is_none(), "unbalanced quotes in {line:?}");
        out.push(arg);
    }
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum State {
    /// No debugging session yet.
    Idle,
    /// Stopped in the script: typed lines go to the debugger.
    Stopped,
    /// `<endsession>` seen (or the connection lost): nothing more is sent.
    Over,
}

/// One connection, everything sent and received written down as text.
struct Session {
    con: RawCon,
    lines: Vec<String>,
    state: State,
}

impl Session {
    fn connect(server: &Server) -> Session {
        Session { con: RawCon::connect(server.port), lines: Vec::new(), state: State::Idle }
    }

    /// HELLO 3 first (its reply is not part of the transcript).
    fn hello3(&mut self) {
        let r = self.con.call(&["HELLO", "3"]).expect("HELLO 3");
        assert!(matches!(r, Reply::Map(_)), "HELLO 3: {}", r.show());
    }

    /// `SCRIPT DEBUG mode`; true if the reply is +OK.
    fn debug(&mut self, names: Names, mode: &str) -> bool {
        let argv = [names.of("SCRIPT"), "DEBUG".into(), mode.into()];
        let r = self.send(&argv.iter().map(|a| a.as_bytes().to_vec()).collect::<Vec<_>>());
        matches!(r, Some(Reply::Status(ref s)) if s == "OK")
    }

    /// EVAL (or another command that may start a session): `name script numkeys keys... args...`.
    fn run_script(&mut self, name: &str, body: &str, keys: &[&str], args: &[&str]) -> Option<Reply> {
        let mut argv = vec![name.as_bytes().to_vec(), body.as_bytes().to_vec(), keys.len().to_string().into_bytes()];
        argv.extend(keys.iter().chain(args).map(|a| a.as_bytes().to_vec()));
        self.send(&argv)
    }

    fn eval(&mut self, names: Names, script: &str, keys: &[&str], args: &[&str]) -> Option<Reply> {
        self.run_script(&names.of("EVAL"), script, keys, args)
    }

    /// A line typed at the `lua debugger>` prompt.
    fn typed(&mut self, line: &str) -> Option<Reply> {
        self.send(&split_line(line))
    }

    /// Sends one command and writes down its reply; a log array ending in `<endsession>` is
    /// followed by reading the script's reply and the connection's close.
    fn send(&mut self, argv: &[Vec<u8>]) -> Option<Reply> {
        let label: Vec<String> = argv
            .iter()
            .map(|a| {
                let a = String::from_utf8_lossy(a);
                if a.len() > 200 {
                    format!("<{} bytes>", a.len())
                } else {
                    a.replace('\n', "\\n").replace('\r', "\\r")
                }
            })
            .collect();
        let label = label.join(" ");
        if self.state == State::Over {
            self.lines.push(format!("> {label} (not sent: the session is over)"));
            return None;
        }
        self.lines.push(format!("> {label}"));
        let argv: Vec<&[u8]> = argv.iter().map(Vec::as_slice).collect();
        // A refused write still lets the replies sent before it be read.
        let _ = self.con.send(&argv);
        self.receive()
    }

    /// Reads and writes down one reply (see `send`).
    fn receive(&mut self) -> Option<Reply> {
        match self.con.read() {
            Ok(reply) => {
                match reply.status_lines() {
                    Some(lines) if self.state == State::Stopped || lines.first().is_some_and(|l| is_log(l)) => {
                        if lines.is_empty() {
                            self.lines.push("  (no lines)".into());
                        }
                        for l in &lines {
                            self.lines.push(format!("  +{l}"));
                        }
                        self.state = State::Stopped;
                        if lines.last().is_some_and(|l| l == END) {
                            self.finish();
                        }
                    }
                    _ => self.lines.push(format!("  {}", reply.show())),
                }
                Some(reply)
            }
            Err(e) => {
                self.lines.push(format!("  {e}"));
                self.state = State::Over;
                None
            }
        }
    }

    /// After `<endsession>`: the script's own reply, then the server closes the connection.
    fn finish(&mut self) {
        self.state = State::Over;
        match self.con.read() {
            Ok(reply) => self.lines.push(format!("final: {}", reply.show())),
            Err(e) => self.lines.push(format!("final: {e}")),
        }
        match self.con.wait_closed(Duration::from_secs(5)) {
            Ok(()) => self.lines.push("connection closed".into()),
            Err(e) => self.lines.push(format!("connection not closed: {e}")),
        }
    }

    /// Disconnects, noting a session left open.
    fn close(mut self) -> Vec<String> {
        match self.state {
            State::Stopped => self.lines.push("(disconnected with the session open)".into()),
            State::Idle => self.lines.push("(disconnected)".into()),
            State::Over => {}
        }
        self.con.shutdown();
        transcript_text(std::mem::take(&mut self.lines))
    }
}

/// The first line of a debugger log array (so a script's own array of statuses, returned
/// when no session runs, is not taken for one).
fn is_log(line: &str) -> bool {
    line.starts_with("* Stopped at ") || line == END
}

/// Prefixes and pointer addresses (`"function@0x55d4..."`) made comparable.
fn transcript_text(lines: Vec<String>) -> Vec<String> {
    lines.iter().map(|l| hide_pointers(&normalize(l))).collect()
}

fn hide_pointers(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find("@0x") {
        out.push_str(&rest[..at + 3]);
        rest = rest[at + 3..].trim_start_matches(|c: char| c.is_ascii_hexdigit());
        out.push_str("<ptr>");
    }
    out.push_str(rest);
    out
}

/// The SHA in `script: <sha>, on @user_script:N.`, for scripts whose bodies differ by the
/// prefix of a command name they call.
fn hide_sha(text: &str) -> String {
    match text.find("script: ") {
        Some(at) if text.len() >= at + 48 && text[at + 8..at + 48].bytes().all(|b| b.is_ascii_hexdigit()) => {
            format!("{}script: <sha>{}", &text[..at], &text[at + 48..])
        }
        _ => text.to_string(),
    }
}

// ------------------------------------------------------------------------------------------
// The oracle.

/// A script and the lines typed once it stops.
struct Case<'a> {
    /// EVAL or EVAL_RO (sent with the ALT. prefix on the module's side).
    command: &'a str,
    script: &'a str,
    keys: &'a [&'a str],
    args: &'a [&'a str],
    typed: &'a [&'a str],
}

impl<'a> Case<'a> {
    fn new(script: &'a str, typed: &'a [&'a str]) -> Case<'a> {
        Case { command: "EVAL", script, keys: &["k1", "k2"], args: &["a1", "a2"], typed }
    }
}

/// One whole session: `SCRIPT DEBUG mode`, EVAL, every typed line, the end.
fn session(server: &Server, names: Names, mode: &str, case: &Case, resp3: bool) -> Vec<String> {
    let mut s = Session::connect(server);
    if resp3 {
        s.hello3();
    }
    if s.debug(names, mode) {
        s.run_script(&names.of(case.command), case.script, case.keys, case.args);
        for line in case.typed {
            s.typed(line);
        }
    }
    s.close()
}

fn fresh(server: &Server, setup: &[&[&str]]) -> Vec<String> {
    let mut admin = server.con();
    let _: () = redis::cmd("FLUSHALL").query(&mut admin).expect("flushall");
    for cmd in setup {
        run_str(&mut admin, cmd);
    }
    keyspace(&mut admin)
}

/// Shows two transcripts side by side from the first difference.
fn diff(native: &[String], module: &[String]) -> String {
    let first = native.iter().zip(module).position(|(a, b)| a != b).unwrap_or(native.len().min(module.len()));
    let mut out = format!("first difference at line {first}\n--- native ---\n");
    for l in native {
        out.push_str(l);
        out.push('\n');
    }
    out.push_str("--- module ---\n");
    for l in module {
        out.push_str(l);
        out.push('\n');
    }
    out
}

fn assert_same(native: &[String], module: &[String], what: &str) {
    assert!(native == module, "{what}: transcripts differ, {}", diff(native, module));
}

/// A transcript that ended as every native session here does: `<endsession>`, the final
/// reply, the connection closed. Guards the tests' own expectations.
fn assert_ended(t: &[String], what: &str) {
    assert!(
        t.iter().any(|l| l == &format!("  +{END}")) && t.last().map(String::as_str) == Some("connection closed"),
        "{what}: the native session did not end normally:\n{}",
        t.join("\n")
    );
}

/// `case` natively on `native.0` and through the module on `module.0`, each from a fresh
/// keyspace (`setup`): the same transcript, the same keyspace after (and for YES, the
/// keyspace before). Returns the native transcript.
fn oracle(
    native: (&Server, Names),
    module: (&Server, Names),
    mode: &str,
    setup: &[&[&str]],
    case: &Case,
    resp3: bool,
) -> Vec<String> {
    let what = format!("{mode} session of {:?} typing {:?}", case.script, case.typed);
    let before = fresh(native.0, setup);
    let want = session(native.0, native.1, mode, case, resp3);
    let want_keys = keyspace(&mut native.0.con());
    println!("native {mode}:\n{}\n", want.join("\n"));
    assert_ended(&want, &what);
    if mode.eq_ignore_ascii_case("yes") {
        assert_eq!(want_keys, before, "{what}: native YES changed the keyspace");
    }
    if native_only() {
        return want;
    }
    fresh(module.0, setup);
    let got = session(module.0, module.1, mode, case, resp3);
    assert_same(&want, &got, &what);
    assert_eq!(keyspace(&mut module.0.con()), want_keys, "{what}: keyspaces differ after the session");
    assert_eq!(run_str(&mut module.0.con(), &["PING"]), "+PONG");
    want
}

/// The oracle on one server (native names vs ALT.*) in both modes.
fn both_modes(server: &Server, case: &Case) {
    for mode in ["YES", "SYNC"] {
        oracle((server, Names::Native), (server, Names::Alt), mode, SETUP, case, false);
    }
}

// ------------------------------------------------------------------------------------------
// Transcripts against native LDB.

const LOCALS: &str = "local n, b, f, i = nil, true, 1.5, 42
local big, neg, inf, ninf, nan = 1e20, -7, 1/0, -1/0, 0/0
local s = 'quote\" nl\\n nul\\0 hi\\255 tab\\t'
local t = {1, 'two', {x = 3, y = {z = {}}}, false}
local mixed = {10, 20, [5] = 50, k = 'v'}
local empty = {}
local self = {} self.me = self
local deep = {{{{{{{{{{{{1}}}}}}}}}}}}
local fn = function() end
local co = coroutine.create(fn)
local long = string.rep('ab', 200)
return {t, mixed, s, long}";

/// `print` of every Lua type (nil, booleans, integers and floats, inf and nan as `%g`,
/// strings with quotes and binary bytes, arrays, maps, nested, empty, self-referencing and
/// too deep tables, functions and coroutines), `print <var>`, `KEYS`/`ARGV`, unknown names,
/// `maxlen` (default 256, the hint once, 60 as the minimum, 0 and text as unlimited).
#[test]
fn every_value_type_prints_as_natively() {
    let server = Server::start();
    both_modes(
        &server,
        &Case::new(
            LOCALS,
            &[
                "print",
                "p n",
                "b 12",
                "c",
                "print",
                "p s",
                "p self",
                "p deep",
                "p mixed",
                "p fn",
                "p long",
                "p long",
                "p KEYS",
                "p ARGV",
                "p nosuch",
                "print t mixed",
                "print STR",
                "e t",
                "maxlen 0",
                "p long",
                "p self",
                "maxlen 10",
                "p long",
                "p t",
                "maxlen abc",
                "maxlen -5",
                "maxlen 61",
                "m",
                "maxlen",
                "e long",
                "c",
            ],
        ),
    );
}

const STEPPING: &str = "local total = 0
local function add(a, b)
  local sum = a + b
  return sum
end
for i = 1, 3 do
  total = add(total, i)
end
local ok, err = pcall(function()
  return redis.call('INCR', KEYS[1])
end)
redis.call('SET', KEYS[2], total)
return {total, ok, err}";

/// step/next and their abbreviations and capitals, into functions and round loops; list with
/// every argument shape, whole; break add (one or several, duplicates, out of range, not a
/// number, `-0`, `03`, `+3`), list, remove, `0`; continue to breakpoints.
#[test]
fn stepping_listing_and_breakpoints() {
    let server = Server::start();
    let typed = &[
        "s",
        "n",
        "step",
        "next",
        "STEP",
        "Next",
        "list",
        "l",
        "list 3 1",
        "list 0",
        "list -3",
        "list 3 0",
        "list 100",
        "list x",
        "l 13 2",
        "list 2 100",
        "whole",
        "w",
        "b",
        "b 3",
        "b 3",
        "b",
        "b -3",
        "b -3",
        "b 0",
        "b 99",
        "b 14",
        "b x",
        "b -0",
        "b 03",
        "b +3",
        "b 3 7 x -7 0",
        "b 4 10 12",
        "break",
        // Natively, removing one of 3 or more breakpoints other than the last corrupts the
        // list (memmove of bytes, not ints): only the last one is removed here.
        "b -12",
        "b",
        "c",
        "print",
        "b -10",
        "c",
        "print",
        "b 0",
        "continue",
    ];
    both_modes(&server, &Case { keys: &["str", "k2"], ..Case::new(STEPPING, typed) });
}

/// `eval` of expressions, statements, nothing, several values, errors, syntax errors, tables,
/// locals it cannot see, globals it may not set, redis.call (not logged), redis.debug (logged
/// with the current line), redis.breakpoint (the next stop's reason), coroutine.yield (refused
/// across the C boundary); `redis` with every kind of reply and error, too few arguments,
/// commands scripts may not run, more than 10 arguments, SELECT, a reply cut by `maxlen 60`.
#[test]
fn eval_and_redis_commands() {
    let server = Server::start();
    let script = "local x = 1\nredis.call('SET', KEYS[1], ARGV[1])\nreturn redis.call('GET', KEYS[1])";
    let typed = &[
        "eval 1+1",
        "e local z = 5",
        "eval",
        "e nil",
        "e 1,2",
        "eval return",
        "eval error('x')",
        "eval syntax error here",
        "e {1, {a = 2}, 'three'}",
        "e redis.call('SET','x','1')",
        "e x",
        "e KEYS[1]",
        "eval redis.call('GET', 'x')",
        "eval redis.pcall('INCR', 'str')",
        "eval redis.sha1hex('')",
        "eval string.rep('y', 300)",
        "redis SET k v",
        "redis GET k",
        "r GET str",
        "redis NOSUCH",
        "r",
        "redis",
        "redis GET",
        "redis INCR str",
        "redis HSET str a b",
        "redis SCRIPT FLUSH",
        "redis EVAL \"return 1\" 0",
        "redis SET k v v v v v v v v v v v v",
        "redis PING",
        "redis ECHO \"a\\r\\nb\"",
        "redis ECHO \"\\x01\\xff\"",
        "redis ZRANGE z 0 -1 WITHSCORES",
        "redis GET nosuch",
        "redis LRANGE l 0 -1",
        "redis HGETALL nosuch",
        "redis HGETALL h",
        "redis SMEMBERS s",
        "redis ZSCORE z m",
        "redis SELECT 1",
        "redis GET k",
        "redis SELECT 0",
        "redis GET k",
        "maxlen 60",
        "redis ECHO 0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789",
        "eval redis.debug('in eval', 1)",
        "eval coroutine.yield()",
        "eval x = 1",
        "eval redis.error_reply('x')",
        "e",
        "s",
        "eval redis.breakpoint()",
        "s",
        "s",
    ];
    both_modes(&server, &Case::new(script, typed));
}

/// What the script's own redis.call/pcall log while stepping: commands (cut after 10
/// arguments), replies, errors caught by pcall, errors of redis.pcall, RESP3 replies after
/// redis.setresp(3) (map, set, double, null, verbatim), and an error that ends the script.
#[test]
fn redis_calls_are_logged_with_their_replies() {
    let server = Server::start();
    let script = "local ok, err = pcall(function() return redis.call('INCR', 'str') end)
local e2 = redis.pcall('NOSUCH')
redis.call('MSET', 'a', 1, 'b', 2, 'c', 3, 'd', 4, 'e', 5, 'f', 6)
redis.setresp(3)
local h = redis.call('HGETALL', 'h')
local s = redis.call('SMEMBERS', 's')
local z = redis.call('ZSCORE', 'z', 'm')
local n = redis.call('GET', 'nosuch')
local i = redis.call('INFO', 'server')
redis.setresp(2)
local h2 = redis.call('HGETALL', 'h')
redis.call('INCR', 'str')
return {ok, err, e2}";
    let mut typed = vec!["s"; 4];
    typed.extend(["redis HGETALL h", "s", "redis HGETALL h", "redis GET nosuch", "redis ZSCORE z m"]);
    typed.extend(["s"; 6]);
    typed.extend(["p h", "p s", "p z", "p n", "p e2", "p err", "s", "p h2", "s"]);
    both_modes(&server, &Case::new(script, &typed));
}

/// trace at the top level, in nested named functions, through pcall, after a tail call;
/// print without a name shows the current frame, with a name searches the callers' frames.
#[test]
fn trace_and_print_in_nested_functions() {
    let server = Server::start();
    let script = "local function inner(a)
  local b = a * 2
  return b
end
local function outer(x)
  local r = inner(x)
  return r + 1
end
local ok, v = pcall(outer, 5)
local function tail(y)
  return inner(y)
end
local w = tail(1)
return {v, w}";
    let mut typed = vec!["trace", "t"];
    for step in 0..12 {
        typed.extend(["s", "trace", "print"]);
        if step == 4 {
            // In inner called from outer: names are looked up the callers' frames too.
            typed.extend(["p x", "p ok", "p inner", "p b"]);
        }
    }
    typed.extend(["p x", "p a", "p ok", "s"]);
    both_modes(&server, &Case::new(script, &typed));
}

/// redis.debug with no, nil, several and table arguments (logged with the line), and
/// redis.breakpoint() (true in a session) stopping on the next line.
#[test]
fn redis_debug_and_breakpoint() {
    let server = Server::start();
    let script = "local t = redis.debug()
redis.debug(nil)
redis.debug(nil, 1)
redis.debug('a', 1, {1, 2})
redis.debug('x', {a = 1}, 1.5, true, string.rep('z', 300))
local bp = redis.breakpoint()
local y = 2
redis.breakpoint()
return {bp, y}";
    both_modes(&server, &Case::new(script, &["c", "print", "c", "s"]));
    // Stepping over the same lines logs the same.
    both_modes(&server, &Case::new(script, &["s", "s", "s", "s", "s", "s", "s", "s", "s"]));
}

/// Scripts that fail: a runtime error, error() with a table, redis.call's error, a wrong
/// call, a syntax error (the session ends at once: `<endsession>` as the EVAL's reply, then
/// the compile error); the error texts carry the script's SHA.
#[test]
fn script_errors_end_the_session() {
    let server = Server::start();
    for (script, typed) in [
        ("local x = 1\nlocal y = nil + x\nreturn y", &["s", "s"][..]),
        ("local function boom()\n  error({err='my table error'})\nend\nboom()", &["s", "s", "s"]),
        ("local function boom()\n  error('plain')\nend\nboom()", &["c"]),
        ("redis.call('SET', 'a', 1)\nredis.call('INCR', 'str')\nreturn 1", &["s", "s"]),
        ("return redis.call('GET')", &["s"]),
        ("local x = 1\nreturn x +", &[]),
        ("return '", &[]),
    ] {
        both_modes(&server, &Case::new(script, typed));
    }
}

/// The script's reply after `<endsession>`: tables (cut at the first nil, false as a null,
/// nested), status and error replies (the error is logged), floats, nothing.
#[test]
fn replies_after_the_session() {
    let server = Server::start();
    for script in [
        "return {1, 2.5, 'x', {nil}, false, nil, 3}",
        "return {1, {2, {3, {'four'}}}, {err = 'nested'}, {ok = 'fine'}}",
        "return redis.status_reply('fine')",
        "return redis.error_reply('MY own')",
        "return redis.error_reply('ERR with code')",
        "return 3.99",
        "return",
        "return true",
        "return false",
        "return KEYS",
    ] {
        both_modes(&server, &Case::new(script, &["s"]));
    }
}

/// abort (and `a`) at the first stop and after a write: the error names the line; SYNC keeps
/// the write, YES does not.
#[test]
fn abort_ends_the_session() {
    let server = Server::start();
    let script = "local x = 1\nredis.call('SET', KEYS[1], ARGV[1])\nreturn x";
    both_modes(&server, &Case::new(script, &["abort"]));
    both_modes(&server, &Case::new(script, &["s", "s", "a"]));
    both_modes(&server, &Case::new(script, &["s", "s", "ABORT now"]));
}

/// EVAL's own argument errors with debugging on: a bad or too large or negative numkeys, a
/// bad shebang end a session at once (`<endsession>`, then the error, then the close); an
/// arity error is a plain error and the connection stays; a shebang's line is line 1, and a
/// no-writes script's write fails under the debugger as without it.
#[test]
fn eval_argument_errors_under_the_debugger() {
    let server = Server::start();
    let calls: &[&[&str]] = &[
        &["return 1", "x"],
        &["return 1", "3", "a"],
        &["return 1", "-1"],
        &["#!lua flags=bad\nreturn 1", "0"],
        &["#!notlua\nreturn 1", "0"],
        &["return 1"],
        &["#!lua\nreturn 1", "0"],
        &["#!lua flags=no-writes\nreturn redis.call('SET', 'a', '1')", "0"],
    ];
    for mode in ["YES", "SYNC"] {
        for argv in calls {
            let mut transcripts = Vec::new();
            for &names in sides() {
                fresh(&server, SETUP);
                let mut s = Session::connect(&server);
                assert!(s.debug(names, mode) || names == Names::Alt, "{:?}", s.lines);
                let mut full = vec![names.of("EVAL").into_bytes()];
                full.extend(argv.iter().map(|a| a.as_bytes().to_vec()));
                s.send(&full);
                match s.state {
                    State::Stopped => {
                        s.typed("s");
                    }
                    // The connection is still there, debugging still on.
                    State::Idle => {
                        s.send(&[b"PING".to_vec()]);
                    }
                    State::Over => {}
                }
                transcripts.push(s.close());
            }
            println!("{}", transcripts[0].join("\n"));
            for module in &transcripts[1..] {
                assert_same(&transcripts[0], module, &format!("{mode} EVAL {argv:?}"));
            }
        }
    }
}

/// help (any arguments), unknown commands, commands with extra arguments, capitals.
#[test]
fn help_and_unknown_commands() {
    let server = Server::start();
    let typed = &["help", "h", "help me", "HELP", "bogus", "x y z", "steps", "ste", "PRINT", "p", "s x", "Continue"];
    both_modes(&server, &Case::new("local x = 1\nlocal y = 2\nreturn x + y", typed));
}

/// Source lines as native splits them: trailing newlines dropped, `\r` shown as a space,
/// empty lines kept, one-line scripts.
#[test]
fn source_lines_as_native_splits_them() {
    let server = Server::start();
    both_modes(&server, &Case::new("\n\nlocal x = 1\r\nreturn x\n\n\n", &["whole", "s", "list", "b 4", "c"]));
    both_modes(&server, &Case::new("return 1", &["whole", "list 1 0", "b 2", "s"]));
    both_modes(&server, &Case::new("local x = 1 -- trailing \\r\r", &["w", "s"]));
}

/// EVAL_RO starts a session too (a write refused as natively).
#[test]
fn eval_ro_is_debugged() {
    let server = Server::start();
    let script = "local x = redis.call('GET', 'str')\nreturn redis.call('SET', 'a', 1)";
    both_modes(&server, &Case { command: "EVAL_RO", ..Case::new(script, &["s", "p x", "s"]) });
}

/// HELLO 3 first: the log arrays stay arrays of status lines, the script's reply is RESP3
/// (a map, a double).
#[test]
fn resp3_connection() {
    let server = Server::start();
    let script = "redis.setresp(3)
local h = redis.call('HGETALL', 'h')
return {h, redis.call('ZSCORE', 'z', 'm'), true, {double = 2.5}, {set = {a = true}}}";
    for mode in ["YES", "SYNC"] {
        let case = Case::new(script, &["s", "s", "redis HGETALL h", "eval {1, 2}", "c"]);
        let t = oracle((&server, Names::Native), (&server, Names::Alt), mode, SETUP, &case, true);
        assert!(t.iter().any(|l| l.starts_with("final: [%{")), "{}", t.join("\n"));
    }
}

/// An endless loop: `continue` stops again after busy-reply-threshold with "timeout reached,
/// infinite loop?"; then abort ends it.
#[test]
fn endless_loop_stops_with_timeout_reason() {
    let server = Server::start_with(&["--busy-reply-threshold", "300"], true);
    for script in ["local i = 0\nwhile true do\n  i = i + 1\nend", "while true do end"] {
        for mode in ["YES", "SYNC"] {
            // Each half guarded: without a session the module would run the loop for good.
            let mut halves = Vec::new();
            for &names in sides() {
                fresh(&server, SETUP);
                let mut s = Session::connect(&server);
                assert!(s.debug(names, mode), "{names:?} {mode}: {:?}", s.lines);
                s.eval(names, script, &[], &[]);
                assert_eq!(s.state, State::Stopped, "{names:?} {mode}: {:?}", s.lines);
                let start = Instant::now();
                s.typed("c");
                let waited = start.elapsed();
                assert!(waited >= Duration::from_millis(250), "{names:?} stopped after {waited:?}");
                assert!(waited < Duration::from_secs(5), "{names:?} stopped after {waited:?}");
                s.typed("c");
                s.typed("abort");
                halves.push(s.close());
            }
            println!("{}", halves[0].join("\n"));
            assert_ended(&halves[0], script);
            assert!(halves[0].iter().any(|l| l.contains("stop reason = timeout reached, infinite loop?")));
            for module in &halves[1..] {
                assert_same(&halves[0], module, &format!("{mode} {script:?}"));
            }
        }
    }
}

// ------------------------------------------------------------------------------------------
// The rules of SCRIPT DEBUG.

/// The replies of `steps` on one connection, each normalized.
fn replies(server: &Server, steps: &[Vec<String>]) -> Vec<String> {
    let mut con = RawCon::connect(server.port);
    steps
        .iter()
        .map(|argv| {
            let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
            let r = con.call(&argv).map(|r| r.show()).unwrap_or_else(|e| e.to_string());
            hide_sha(&normalize(&r))
        })
        .collect()
}

/// Bad mode, arity, case, EVALSHA and EVALSHA_RO refused while debugging (even of a cached
/// script), SCRIPT DEBUG NO (after YES and after SYNC) lets EVAL run normally, SCRIPT DEBUG
/// from a script (call and pcall), SCRIPT DEBUG inside MULTI.
#[test]
fn script_debug_rules() {
    let server = Server::start();
    let steps = |n: Names| -> Vec<Vec<String>> {
        let s = |v: &[&str]| -> Vec<String> {
            v.iter()
                .enumerate()
                .map(|(i, a)| {
                    if i == 0 && ["SCRIPT", "EVAL", "EVALSHA", "EVALSHA_RO"].contains(a) {
                        n.of(a)
                    } else {
                        a.to_string()
                    }
                })
                .collect()
        };
        vec![
            s(&["SCRIPT", "DEBUG", "MAYBE"]),
            s(&["SCRIPT", "DEBUG", ""]),
            s(&["SCRIPT", "DEBUG"]),
            s(&["SCRIPT", "DEBUG", "YES", "x"]),
            s(&["SCRIPT", "LOAD", "return 'cached'"]),
            s(&["SCRIPT", "DEBUG", "yes"]),
            s(&["EVALSHA", "e0e1f9fabfc9d4800c877a703b823ac0578ff8db", "0"]),
            s(&["EVALSHA", &support::sha1hex("return 'cached'"), "0"]),
            s(&["EVALSHA_RO", &support::sha1hex("return 'cached'"), "0"]),
            s(&["EVALSHA", "short", "0"]),
            s(&["SCRIPT", "DEBUG", "no"]),
            s(&["EVAL", "return 1", "0"]),
            s(&["EVALSHA", &support::sha1hex("return 'cached'"), "0"]),
            s(&["SCRIPT", "DEBUG", "SYNC"]),
            s(&["SCRIPT", "DEBUG", "No"]),
            s(&["EVAL", "return redis.breakpoint()", "0"]),
            s(&["EVAL", "redis.debug('x') return 2", "0"]),
            s(&["EVAL", &format!("return redis.call('{}', 'DEBUG', 'YES')", n.of("SCRIPT")), "0"]),
            s(&["EVAL", &format!("return redis.pcall('{}', 'DEBUG', 'YES')", n.of("SCRIPT")), "0"]),
            s(&["EVAL", &format!("return redis.pcall('{}', 'DEBUG', 'NO')", n.of("SCRIPT")), "0"]),
            s(&["MULTI"]),
            s(&["SCRIPT", "DEBUG", "YES"]),
            s(&["EVAL", "return 'in multi'", "0"]),
            s(&["EXEC"]),
            s(&["EVAL", "return 'after multi'", "0"]),
            s(&["MULTI"]),
            s(&["SCRIPT", "DEBUG", "BAD"]),
            s(&["EXEC"]),
        ]
    };
    let native = replies(&server, &steps(Names::Native));
    println!("{}", native.join("\n"));
    assert!(native.contains(&"-ERR Use SCRIPT DEBUG YES/SYNC/NO".to_string()));
    assert!(native.contains(&"-ERR Please use EVAL instead of EVALSHA for debugging".to_string()));
    if !native_only() {
        assert_eq!(replies(&server, &steps(Names::Alt)), native);
    }
}

/// SCRIPT DEBUG pipelined behind another command is refused ("must be called outside a
/// pipeline"), as natively; alone on the connection it is accepted.
#[test]
fn script_debug_in_a_pipeline_is_refused() {
    let server = Server::start();
    let run = |names: Names| -> Vec<String> {
        let mut con = RawCon::connect(server.port);
        let mut bytes = support::resp::encode(&[b"PING"]);
        bytes.extend(support::resp::encode(&[names.of("SCRIPT").as_bytes(), b"DEBUG", b"YES"]));
        bytes.extend(support::resp::encode(&[names.of("EVAL").as_bytes(), b"return 'not debugged'", b"0"]));
        con.send_raw(&bytes).expect("write");
        (0..3).map(|_| normalize(&con.read().map(|r| r.show()).unwrap_or_else(|e| e.to_string()))).collect()
    };
    let native = run(Names::Native);
    assert_eq!(native, ["+PONG", "-ERR SCRIPT DEBUG must be called outside a pipeline", "$not debugged"]);
    if !native_only() {
        assert_eq!(run(Names::Alt), native);
    }
}

// ------------------------------------------------------------------------------------------
// A client that misbehaves; the server stays up.

fn ping(server: &Server) {
    let mut con = RawCon::connect(server.port);
    con.set_read_timeout(Duration::from_secs(3));
    match con.call(&["PING"]) {
        Ok(Reply::Status(s)) if s == "PONG" => {}
        other => panic!("PING: {other:?}\n{}", server.log()),
    }
}

/// Starts a session stopped at the script's first line; panics (before anything dangerous
/// is sent) if it did not start.
fn stopped(server: &Server, names: Names, mode: &str, script: &str, keys: &[&str]) -> Session {
    let mut s = Session::connect(server);
    assert!(s.debug(names, mode), "{names:?} SCRIPT DEBUG {mode}: {:?}", s.lines);
    s.eval(names, script, keys, &[]);
    assert_eq!(s.state, State::Stopped, "{names:?} {mode}: no session: {:?}", s.lines);
    s
}

/// The debugging client disconnects at a stop: natively the rest of the script runs without
/// stopping (YES: in the discarded child; SYNC: for real, its writes kept); the module ends
/// the same way, keeps serving, and leaves the same keyspace.
#[test]
fn client_disconnects_mid_session() {
    let server = Server::start();
    let script = "redis.call('SET', 'before', 1)\nredis.breakpoint()\nredis.call('SET', 'after', 1)\nreturn 1";
    for mode in ["YES", "SYNC"] {
        for at in [0, 1, 2] {
            let mut keys = Vec::new();
            for &names in sides() {
                fresh(&server, SETUP);
                let mut s = stopped(&server, names, mode, script, &[]);
                for _ in 0..at {
                    s.typed("s");
                }
                s.con.shutdown();
                drop(s);
                // The rest runs on its own; wait for it.
                let deadline = Instant::now() + Duration::from_secs(3);
                let mut admin = server.con();
                while mode == "SYNC" && Instant::now() < deadline && run_str(&mut admin, &["EXISTS", "after"]) != ":1" {
                    thread::sleep(Duration::from_millis(20));
                }
                thread::sleep(Duration::from_millis(100));
                ping(&server);
                keys.push(keyspace(&mut admin));
            }
            for module in &keys[1..] {
                assert_eq!(module, &keys[0], "{mode} disconnect after {at} steps");
            }
        }
    }
}

/// Protocol-level garbage in a session, as native's own parser sees it: an empty argument,
/// an argument over 1024 bytes or more than 1024 arguments end the script with
/// `protocol error` (after `<endsession>`); unknown commands with binary arguments are only
/// unknown. Then inline (non-RESP) bytes and binary junk to the module: it keeps serving.
#[test]
fn garbage_from_the_debugging_client() {
    let server = Server::start();
    let script = "redis.call('SET', 'w', 1)\nlocal x = 1\nreturn x";
    let long = "x".repeat(1025);
    let just = "y".repeat(1024);
    let many: Vec<String> = std::iter::once("print".to_string()).chain((0..1024).map(|i| i.to_string())).collect();
    let cases: Vec<Vec<Vec<u8>>> = vec![
        vec![b"print".to_vec(), Vec::new()],
        vec![b"print".to_vec(), long.clone().into_bytes()],
        vec![b"eval".to_vec(), format!("'{}'", &just[2..]).into_bytes()],
        many.iter().map(|a| a.as_bytes().to_vec()).collect(),
        vec![b"\x00\xff".to_vec(), b"\r\n".to_vec()],
        // (Not a NUL: native writes it inside the log line; the Module API writes status
        // lines as C strings, so the module's line ends there: README, Differences.)
        vec![b"redis".to_vec(), b"SET".to_vec(), b"bin\x01".to_vec(), b"\xff\xfe".to_vec()],
    ];
    for mode in ["YES", "SYNC"] {
        for argv in &cases {
            let mut halves = Vec::new();
            for &names in sides() {
                fresh(&server, SETUP);
                let mut s = stopped(&server, names, mode, script, &[]);
                s.typed("s");
                s.send(argv);
                if s.state != State::Over {
                    s.typed("c");
                }
                halves.push((s.close(), keyspace(&mut server.con())));
            }
            println!("{}", halves[0].0.join("\n"));
            assert_ended(&halves[0].0, "garbage");
            for module in &halves[1..] {
                assert_same(&halves[0].0, &module.0, &format!("{mode} garbage {:?}", &argv[0]));
                assert_eq!(module.1, halves[0].1, "{mode}: keyspaces differ");
            }
        }
    }
    // Inline commands and bytes that are no protocol at all: the module survives them.
    if native_only() {
        return;
    }
    for mode in ["YES", "SYNC"] {
        for junk in [&b"step\r\n"[..], b"\x00\x01\x02garbage\r\n", b"*abc\r\n", b"$5\r\nhello\r\n", b"*1\r\n$-7\r\n"] {
            fresh(&server, SETUP);
            let mut s = stopped(&server, Names::Alt, mode, script, &[]);
            let _ = s.con.send_raw(junk);
            s.con.set_read_timeout(Duration::from_secs(2));
            let _ = s.con.read();
            s.typed("abort");
            drop(s.close());
            ping(&server);
            let mut admin = server.con();
            if mode == "YES" {
                assert_eq!(run_str(&mut admin, &["EXISTS", "w"]), ":0", "YES kept a write after {junk:?}");
            }
        }
    }
}

/// `eval` of an error whose value is not a string: natively the process running the session
/// crashes (YES: the forked child dies and the connection just closes; SYNC: the whole server
/// goes down). The module keeps serving, and the session goes on or ends cleanly.
#[test]
fn eval_of_a_non_string_error_keeps_the_server_up() {
    if native_only() {
        return;
    }
    let server = Server::start();
    for mode in ["YES", "SYNC"] {
        for code in [
            "eval error({err = 'tbl'})",
            "eval error()",
            "eval error(setmetatable({}, {__tostring = function() return 'x' end}))",
            "eval error(12)",
        ] {
            fresh(&server, SETUP);
            let mut s = stopped(&server, Names::Alt, mode, "redis.call('SET', 'w', 1)\nreturn 1", &[]);
            s.con.set_read_timeout(Duration::from_secs(5));
            s.typed(code);
            if s.state == State::Stopped {
                s.typed("c");
            }
            let t = s.close();
            ping(&server);
            let w = run_str(&mut server.con(), &["EXISTS", "w"]);
            if mode == "YES" {
                assert_eq!(w, ":0", "{mode} {code}: {t:?}");
            }
        }
    }
}

/// A 2 MB argument: natively the script ends at once with a protocol error (`<endsession>`,
/// then `-ERR protocol error script: <sha>, on @user_script:N.`); the module does the same and
/// stays up; SYNC keeps the writes made before.
#[test]
fn two_megabyte_argument() {
    let server = Server::start();
    let script = "redis.call('SET', 'w', 1)\nlocal x = 1\nreturn x";
    let big = vec![b'x'; 2 << 20];
    for mode in ["YES", "SYNC"] {
        let mut halves = Vec::new();
        for &names in sides() {
            fresh(&server, SETUP);
            let mut s = stopped(&server, names, mode, script, &[]);
            s.typed("s");
            // Written from another thread: the server may stop reading mid-way.
            let mut writer = s.con.try_clone_stream();
            let bytes = support::resp::encode(&[b"eval", &big]);
            let w = thread::spawn(move || {
                let _ = writer.write_all(&bytes);
            });
            s.lines.push("> eval <2 MB>".into());
            s.receive();
            let _ = w.join();
            halves.push((s.close(), keyspace(&mut server.con())));
            ping(&server);
        }
        println!("{}", halves[0].0.join("\n"));
        assert!(halves[0].0.iter().any(|l| l.starts_with("final: -ERR protocol error script: ")), "{:?}", halves[0].0);
        for module in &halves[1..] {
            assert_same(&halves[0].0, &module.0, &format!("{mode} 2 MB"));
            assert_eq!(module.1, halves[0].1, "{mode}: keyspaces differ");
        }
    }
}

fn children(pid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    if let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) {
        for task in tasks.flatten() {
            if let Ok(text) = std::fs::read_to_string(task.path().join("children")) {
                out.extend(text.split_whitespace().filter_map(|p| p.parse::<u32>().ok()));
            }
        }
    }
    out
}

/// alt.debug-idle-timeout (default 600 s, 0 = none): a session left waiting longer is ended,
/// its connection closed (YES: its process gone) while everyone else is served.
#[test]
fn idle_session_is_ended() {
    if native_only() {
        return;
    }
    let server = Server::start();
    let mut admin = server.con();
    assert_eq!(run_str(&mut admin, &["CONFIG", "GET", "alt.debug-idle-timeout"]), "[$alt.debug-idle-timeout, $600]");
    assert_eq!(run_str(&mut admin, &["CONFIG", "SET", "alt.debug-idle-timeout", "0"]), "+OK");
    assert!(run_str(&mut admin, &["CONFIG", "SET", "alt.debug-idle-timeout", "-1"]).starts_with("-ERR"));
    assert_eq!(run_str(&mut admin, &["CONFIG", "SET", "alt.debug-idle-timeout", "1"]), "+OK");
    for mode in ["YES", "SYNC"] {
        fresh(&server, SETUP);
        let before = children(server.pid());
        let mut s = stopped(&server, Names::Alt, mode, "redis.call('SET', 'w', 1)\nreturn 1", &[]);
        // Activity keeps it alive.
        for _ in 0..3 {
            thread::sleep(Duration::from_millis(500));
            let r = s.typed("print");
            assert!(r.is_some(), "{mode}: closed while active: {:?}", s.lines);
        }
        let start = Instant::now();
        ping(&server);
        let closed = s.con.wait_closed(Duration::from_secs(6));
        assert!(closed.is_ok(), "{mode}: idle session not ended: {closed:?}");
        assert!(start.elapsed() >= Duration::from_millis(500), "{mode}: ended after {:?}", start.elapsed());
        ping(&server);
        if mode == "YES" {
            let deadline = Instant::now() + Duration::from_secs(3);
            while children(server.pid()).len() > before.len() && Instant::now() < deadline {
                thread::sleep(Duration::from_millis(50));
            }
            assert_eq!(children(server.pid()), before, "the session's process outlived it");
            assert_eq!(run_str(&mut admin, &["EXISTS", "w"]), ":0");
        }
    }
    // 0: no limit.
    assert_eq!(run_str(&mut admin, &["CONFIG", "SET", "alt.debug-idle-timeout", "0"]), "+OK");
    let mut s = stopped(&server, Names::Alt, "YES", "return 1", &[]);
    s.con.set_read_timeout(Duration::from_millis(2500));
    assert!(matches!(s.con.read(), Err(ReadError::Timeout)), "a session ended with no idle limit");
    assert!(s.typed("c").is_some());
    assert_eq!(s.close().last().map(String::as_str), Some("connection closed"));
}

/// An endless loop under the debugger whose client then disconnects: natively the script is
/// killed ("timeout during Lua debugging with client closing connection"); the server
/// (module or not) keeps serving, in both modes.
#[test]
fn endless_loop_then_disconnect() {
    let server = Server::start_with(&["--busy-reply-threshold", "300"], true);
    for mode in ["YES", "SYNC"] {
        for &names in sides() {
            fresh(&server, SETUP);
            let mut s = stopped(&server, names, mode, "redis.call('SET', 'w', 1)\nwhile true do end", &[]);
            s.typed("c");
            assert!(s.lines.iter().any(|l| l.contains("timeout reached")), "{names:?} {mode}: {:?}", s.lines);
            drop(s.close());
            thread::sleep(Duration::from_millis(200));
            ping(&server);
            let mut admin = server.con();
            let w = run_str(&mut admin, &["EXISTS", "w"]);
            assert_eq!(w, if mode == "YES" { ":0" } else { ":1" }, "{names:?} {mode}");
        }
    }
}

/// alt.script-memory-limit applies under the debugger: the script ends with the limit's
/// error after `<endsession>`, the server keeps serving.
#[test]
fn memory_limit_under_the_debugger() {
    if native_only() {
        return;
    }
    let server = Server::start();
    let mut admin = server.con();
    assert_eq!(run_str(&mut admin, &["CONFIG", "SET", "alt.script-memory-limit", "32mb"]), "+OK");
    for mode in ["YES", "SYNC"] {
        let mut s = stopped(&server, Names::Alt, mode, "local s = 'x'\nwhile true do s = s .. s end", &[]);
        s.typed("c");
        let t = s.close();
        assert!(t.contains(&format!("  +{END}")), "{mode}: {t:?}");
        let last = t.iter().find(|l| l.starts_with("final: ")).cloned().unwrap_or_default();
        assert!(last.contains("Script memory limit exceeded"), "{mode}: {t:?}");
        assert_eq!(t.last().map(String::as_str), Some("connection closed"), "{mode}: {t:?}");
        ping(&server);
        assert_eq!(run_str(&mut admin, &["ALT.EVAL", "return 'fine'", "0"]), "$fine");
    }
}

/// Several YES sessions at once from different clients, interleaved: each one's transcript is
/// the one it has alone (natively, then through the module), and other clients are served
/// while they wait.
#[test]
fn several_yes_sessions_at_once() {
    let server = Server::start();
    let cases = [
        Case::new("local a = 1\nlocal b = 2\nredis.call('SET', 'a', a)\nreturn a + b", &["s", "print", "s", "s", "c"]),
        Case::new(STEPPING, &["b 7", "c", "print", "c", "trace", "c", "b 0", "c"]),
        Case::new(LOCALS, &["b 12", "c", "p t", "redis SET x 1", "redis GET x", "c"]),
    ];
    let mut alone = Vec::new();
    for case in &cases {
        fresh(&server, SETUP);
        let t = session(&server, Names::Native, "YES", case, false);
        assert_ended(&t, case.script);
        alone.push(t);
    }
    for &names in sides() {
        fresh(&server, SETUP);
        let before = keyspace(&mut server.con());
        let mut sessions: Vec<Session> = cases
            .iter()
            .map(|case| {
                let mut s = Session::connect(&server);
                assert!(s.debug(names, "YES"), "{names:?}: {:?}", s.lines);
                s.eval(names, case.script, case.keys, case.args);
                s
            })
            .collect();
        let longest = cases.iter().map(|c| c.typed.len()).max().unwrap_or(0);
        for step in 0..longest {
            for (s, case) in sessions.iter_mut().zip(&cases) {
                if let Some(line) = case.typed.get(step) {
                    s.typed(line);
                }
            }
            ping(&server);
        }
        for ((s, want), case) in sessions.into_iter().zip(&alone).zip(&cases) {
            assert_same(want, &s.close(), &format!("{names:?} interleaved {:?}", case.script));
        }
        assert_eq!(keyspace(&mut server.con()), before, "{names:?}: YES sessions changed the keyspace");
    }
}

/// While a YES session is stopped, other clients are served, and their writes are not seen
/// by the session (it runs on a snapshot, as natively); the session's writes are not seen by
/// them.
#[test]
fn others_served_during_a_yes_session() {
    let server = Server::start();
    let script = "redis.call('SET', 'mine', 1)\nlocal v = redis.call('GET', 'shared')\nreturn v";
    let mut halves = Vec::new();
    for &names in sides() {
        fresh(&server, &[&["SET", "shared", "old"]]);
        let mut s = stopped(&server, names, "YES", script, &[]);
        s.typed("s");
        let mut admin = server.con();
        assert_eq!(run_str(&mut admin, &["SET", "shared", "new"]), "+OK");
        assert_eq!(run_str(&mut admin, &["EXISTS", "mine"]), ":0", "{names:?}: the session's write leaked");
        s.typed("redis GET shared");
        s.typed("s");
        s.typed("c");
        halves.push(s.close());
        assert_eq!(run_str(&mut admin, &["GET", "shared"]), "$new");
        assert_eq!(run_str(&mut admin, &["EXISTS", "mine"]), ":0");
    }
    assert_ended(&halves[0], "others served");
    assert!(halves[0].contains(&"final: $old".to_string()), "{:?}", halves[0]);
    for module in &halves[1..] {
        assert_same(&halves[0], module, "others served during YES");
    }
}

fn info_field(con: &mut redis::Connection, field: &str) -> String {
    let info: String = redis::cmd("INFO").arg("persistence").query(con).expect("info");
    info.lines().find_map(|l| l.strip_prefix(&format!("{field}:"))).unwrap_or_default().trim().to_string()
}

/// BGSAVE while a YES session is stopped starts and succeeds (natively too); the session then
/// ends normally.
#[test]
fn bgsave_during_a_yes_session() {
    let server = Server::start();
    for &names in sides() {
        fresh(&server, SETUP);
        let mut s = stopped(&server, names, "YES", "redis.call('SET', 'w', 1)\nreturn 1", &[]);
        s.typed("s");
        let mut admin = server.con();
        let saves = info_field(&mut admin, "rdb_saves");
        assert_eq!(run_str(&mut admin, &["BGSAVE"]), "+Background saving started", "{names:?}");
        let deadline = Instant::now() + Duration::from_secs(10);
        while info_field(&mut admin, "rdb_bgsave_in_progress") != "0" || info_field(&mut admin, "rdb_saves") == saves {
            assert!(Instant::now() < deadline, "{names:?}: BGSAVE did not finish");
            thread::sleep(Duration::from_millis(50));
        }
        assert_eq!(info_field(&mut admin, "rdb_last_bgsave_status"), "ok", "{names:?}");
        s.typed("c");
        let t = s.close();
        assert_eq!(t.last().map(String::as_str), Some("connection closed"), "{names:?}: {t:?}");
        assert!(t.contains(&"final: :1".to_string()), "{names:?}: {t:?}");
        assert_eq!(run_str(&mut admin, &["EXISTS", "w"]), ":0");
    }
}

/// The module's SYNC: while the script is stopped other clients are served (natively the
/// whole server waits), and the script's changes are kept.
#[test]
fn sync_session_serves_others_and_keeps_changes() {
    if native_only() {
        return;
    }
    let server = Server::start();
    fresh(&server, SETUP);
    let mut s =
        stopped(&server, Names::Alt, "SYNC", "redis.call('SET', 'w', 1)\nreturn redis.call('GET', 'other')", &[]);
    s.typed("s");
    ping(&server);
    let mut other = RawCon::connect(server.port);
    other.set_read_timeout(Duration::from_secs(3));
    assert_eq!(other.call(&["SET", "other", "2"]).map(|r| r.show()).unwrap_or_else(|e| e.to_string()), "+OK");
    assert_eq!(other.call(&["GET", "w"]).map(|r| r.show()).unwrap_or_else(|e| e.to_string()), "$1");
    s.typed("c");
    let t = s.close();
    assert_eq!(t.last().map(String::as_str), Some("connection closed"), "{t:?}");
    assert!(t.contains(&"final: $2".to_string()), "{t:?}");
    assert_eq!(run_str(&mut server.con(), &["GET", "w"]), "$1");
}

/// SHUTDOWN with a YES session stopped: the server exits (its sessions with it) and the
/// session's connection is closed, natively and with the module.
#[test]
fn shutdown_ends_yes_sessions() {
    for &names in sides() {
        let mut server = Server::start();
        let mut s = stopped(&server, names, "YES", "local x = 1\nreturn x", &[]);
        let mut admin = RawCon::connect(server.port);
        let _ = admin.call(&["SHUTDOWN", "NOSAVE"]);
        assert!(server.wait_exit(Duration::from_secs(10)), "{names:?}: the server did not exit");
        assert!(s.con.wait_closed(Duration::from_secs(5)).is_ok(), "{names:?}: session connection left open");
    }
}

// ------------------------------------------------------------------------------------------
// Functions (no native oracle: native cannot debug them).

const LIBRARY: &str = "#!lua name=dbg
local function helper(x)
  return x * 2
end
redis.register_function('f', function(keys, args)
  local v = helper(tonumber(args[1]))
  redis.call('SET', keys[1], v)
  return v
end)";

/// ALT.FCALL with debugging on stops at the function's first line; step enters a local
/// function of the library; print, break, continue, list and redis work on the library's
/// source lines (numbered as in its error messages); YES discards, SYNC keeps.
#[test]
fn fcall_of_a_library_function_is_debugged() {
    if native_only() {
        return;
    }
    let server = Server::start();
    let src: Vec<&str> = LIBRARY.lines().collect();
    let line = |n: usize, mark: &str| format!("  +{mark}{n:<3} {}", src[n - 1]);
    for mode in ["YES", "SYNC"] {
        fresh(&server, &[]);
        let mut admin = server.con();
        assert_eq!(run_str(&mut admin, &["ALT.FUNCTION", "LOAD", "REPLACE", LIBRARY]), "$dbg");
        let mut s = Session::connect(&server);
        assert!(s.debug(Names::Alt, mode), "{:?}", s.lines);
        s.run_script("ALT.FCALL", "f", &["k"], &["21"]);
        s.typed("s");
        s.typed("print");
        s.typed("b 8");
        s.typed("c");
        s.typed("print");
        s.typed("redis GET k");
        s.typed("list 7 0");
        s.typed("c");
        let t = s.close();
        let want = vec![
            format!("> ALT.SCRIPT DEBUG {mode}"),
            "  +OK".to_string(),
            "> ALT.FCALL f 1 k 21".into(),
            "  +* Stopped at 6, stop reason = step over".into(),
            line(6, "-> "),
            "> s".into(),
            "  +* Stopped at 3, stop reason = step over".into(),
            line(3, "-> "),
            "> print".into(),
            "  +<value> x = 21".into(),
            "> b 8".into(),
            line(7, "   "),
            line(8, "  #"),
            line(9, "   "),
            "> c".into(),
            "  +* Stopped at 8, stop reason = break point".into(),
            line(8, "->#"),
            "> print".into(),
            "  +<value> keys = {\"k\"}".into(),
            "  +<value> args = {\"21\"}".into(),
            "  +<value> v = 42".into(),
            "> redis GET k".into(),
            "  +<redis> GET k".into(),
            "  +<reply> \"42\"".into(),
            "> list 7 0".into(),
            line(7, "   "),
            "> c".into(),
            format!("  +{END}"),
            "final: :42".into(),
            "connection closed".into(),
        ];
        let want = transcript_text(want);
        assert_same(&want, &t, &format!("ALT.FCALL {mode}"));
        let k = run_str(&mut admin, &["GET", "k"]);
        assert_eq!(k, if mode == "YES" { "nil" } else { "$42" }, "{mode}");
        ping(&server);
    }
}

// ------------------------------------------------------------------------------------------
// Drop-in mode: the native names, and the real redis-cli.

/// Drop-in mode serves SCRIPT DEBUG + EVAL sessions under the native names: the transcripts
/// of a plain server's native LDB.
#[test]
fn dropin_sessions_are_natives() {
    let native = Server::start();
    let dropin = Server::start_dropin(&[]);
    let cases = [
        Case {
            keys: &["str", "k2"],
            ..Case::new(STEPPING, &["s", "b 7", "c", "print", "trace", "list 3 1", "whole", "c", "b 0", "c"])
        },
        Case::new(
            LOCALS,
            &["b 12", "c", "print", "p KEYS", "maxlen 60", "p long", "e t", "redis GET str", "redis NOSUCH", "c"],
        ),
        Case::new("local x = 1\nreturn x +", &[]),
        Case::new("local x = 1\nredis.call('SET', 'w', x)\nreturn x", &["s", "s", "abort"]),
    ];
    for mode in ["YES", "SYNC"] {
        for case in &cases {
            oracle((&native, Names::Native), (&dropin, Names::Native), mode, SETUP, case, false);
        }
    }
    // The rules' texts are native's, names included.
    let steps: Vec<Vec<String>> = [
        &["SCRIPT", "DEBUG", "MAYBE"][..],
        &["SCRIPT", "DEBUG", "YES"],
        &["EVALSHA", "e0e1f9fabfc9d4800c877a703b823ac0578ff8db", "0"],
        &["SCRIPT", "DEBUG", "NO"],
        &["EVAL", "return 1", "0"],
    ]
    .iter()
    .map(|v| v.iter().map(|a| a.to_string()).collect())
    .collect();
    let raw = |server: &Server| -> Vec<String> {
        let mut con = RawCon::connect(server.port);
        steps
            .iter()
            .map(|argv| {
                let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
                con.call(&argv).map(|r| r.show()).unwrap_or_else(|e| e.to_string())
            })
            .collect()
    };
    let want = raw(&native);
    assert_eq!(want[2], "-ERR Please use EVAL instead of EVALSHA for debugging");
    if !native_only() {
        assert_eq!(raw(&dropin), want);
    }
}

/// redis-cli with `input` on its stdin; its output (stdout and stderr), or a panic after 20 s.
fn redis_cli(server: &Server, args: &[&str], input: &str) -> String {
    let mut child = Command::new("redis-cli")
        .args(["-p", &server.port.to_string()])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("redis-cli on PATH (make deps)");
    let mut stdin = child.stdin.take().expect("stdin");
    let input = input.to_string();
    let feeder = thread::spawn(move || {
        let _ = stdin.write_all(input.as_bytes());
    });
    let mut stdout = child.stdout.take().expect("stdout");
    let mut stderr = child.stderr.take().expect("stderr");
    let out = thread::spawn(move || {
        let mut s = Vec::new();
        let _ = stdout.read_to_end(&mut s);
        s
    });
    let err = thread::spawn(move || {
        let mut s = Vec::new();
        let _ = stderr.read_to_end(&mut s);
        s
    });
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if child.try_wait().expect("redis-cli status").is_some() {
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("redis-cli {args:?} did not finish within 20 s\n{}", server.log());
        }
        thread::sleep(Duration::from_millis(20));
    }
    let _ = feeder.join();
    let out = out.join().unwrap_or_default();
    let err = err.join().unwrap_or_default();
    hide_pointers(&(String::from_utf8_lossy(&out).into_owned() + &String::from_utf8_lossy(&err)))
}

/// The real `redis-cli --ldb --eval file.lua k1 , a1` (and `--ldb-sync-mode`) with typed lines
/// piped in: the same output against a drop-in server as against native LDB, the same
/// keyspace after; a script that does not compile ("Eval debugging session can't start").
#[test]
fn redis_cli_ldb_against_dropin() {
    let native = Server::start();
    let dropin = Server::start_dropin(&[]);
    let script = "local a = ARGV[1]
redis.call('SET', KEYS[1], a)
local t = {1, 'x', {y = 2}}
redis.debug('t is', t)
return {a, t}
";
    let runs: &[(&str, &str, &str)] = &[
        (
            "--ldb",
            script,
            "step\nprint\nlist\neval 1+1\ne redis.call('GET', KEYS[1])\nredis GET k1\nb 5\nc\nprint t\nwhole\nhelp\nbogus\nc\n",
        ),
        ("--ldb-sync-mode", script, "step\nstep\nprint\nredis GET k1\nmaxlen 60\ntrace\ncontinue\n"),
        ("--ldb", script, "s\nabort\n"),
        ("--ldb-sync-mode", script, "s\ns\na\n"),
        ("--ldb", "local x = 1\nreturn x +\n", "step\n"),
        ("--ldb-sync-mode", "local x = 1\nreturn x +\n", "step\n"),
    ];
    for (flag, body, input) in runs {
        let mut outputs = Vec::new();
        for server in [&native, &dropin].into_iter().take(sides().len()) {
            fresh(server, SETUP);
            let file = server.dir.join("debugged.lua");
            std::fs::write(&file, body).expect("script file");
            let file = file.to_str().expect("utf-8 path");
            let out = redis_cli(server, &[flag, "--eval", file, "k1", ",", "a1"], input);
            outputs.push((out, keyspace(&mut server.con())));
        }
        println!("{flag}:\n{}", outputs[0].0);
        assert!(
            outputs[0].0.contains("Lua debugging session ended") || outputs[0].0.contains("can't start"),
            "native redis-cli {flag}: {}",
            outputs[0].0
        );
        for module in &outputs[1..] {
            assert_eq!(module.0, outputs[0].0, "redis-cli {flag} output differs for input {input:?}");
            assert_eq!(module.1, outputs[0].1, "redis-cli {flag}: keyspaces differ");
        }
    }
}

/// The README's debugging transcript (its ```ldb block: `$ printf '<typed lines>' | redis-cli
/// <args>` and what it prints) runs as written against a drop-in server and prints exactly
/// that (redis-cli colours its output even through a pipe: the colours are left out).
#[test]
fn readme_debugging_transcript() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).expect("README.md");
    let block: Vec<&str> =
        readme.lines().skip_while(|l| l.trim() != "```ldb").skip(1).take_while(|l| l.trim() != "```").collect();
    let (command, expected) = block.split_first().expect("a ```ldb block in the README");
    let command = command.strip_prefix("$ printf '").expect("$ printf '...' | redis-cli ...");
    let (typed, cli) = command.split_once("' | redis-cli ").expect("piped into redis-cli");
    let typed = typed.replace("\\n", "\n");
    let args: Vec<&str> = cli.split_whitespace().collect();
    let server = Server::start_dropin(&[]);
    let out = redis_cli(&server, &args, &typed);
    let mut plain = String::new();
    let mut chars = out.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c == 'm' {
                    break;
                }
            }
        } else {
            plain.push(c);
        }
    }
    let want: String = expected.iter().map(|l| format!("{l}\n")).collect();
    assert_eq!(plain, want, "{}", server.log());
}

/// Random sessions (the differential fuzzer's generated scripts, random debugger lines)
/// natively and through the module, YES and SYNC alternately: the same transcripts and
/// keyspaces, on one server (restarted when native LDB crashes it: a case it crashes on is
/// no oracle). `DEBUGGER_FUZZ_CASES` and
/// `DEBUGGER_FUZZ_SEED` run a longer or another slice.
#[test]
fn random_sessions_match_native() {
    // Deeply nested replies (a table holding itself) recurse in the reply reader.
    let run = thread::Builder::new().stack_size(512 << 20).spawn(random_sessions).expect("a thread");
    if let Err(panic) = run.join() {
        std::panic::resume_unwind(panic);
    }
}

fn random_sessions() {
    let cases: u64 = std::env::var("DEBUGGER_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(40);
    let seed: u64 = std::env::var("DEBUGGER_FUZZ_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or(7);
    // No timeout stops: where they land depends on the machine's speed.
    let configure = |server: &Server| {
        run_str(&mut server.con(), &["CONFIG", "SET", "busy-reply-threshold", "600000"]);
    };
    let mut server = Server::start();
    configure(&server);
    // No `b -N`: native's removal corrupts the list when the removed breakpoint is not the
    // last of two or more (breakpoint_removal_keeps_the_others pins the module's).
    const LINES: &[&str] = &[
        "s",
        "n",
        "step",
        "p",
        "p v0",
        "p v1",
        "p v2",
        "p KEYS",
        "p ARGV",
        "l",
        "l 2",
        "l 3 1",
        "w",
        "b 2",
        "b 3",
        "b 4",
        "b",
        "t",
        "e 1+1",
        "e KEYS[1]",
        "e #ARGV",
        "e redis.pcall('GET','k:1')",
        "e {1,{2,'x'}}",
        "e cjson.encode({1,2})",
        "r GET k:1",
        "r TYPE k:2",
        "r EXISTS k:3",
        "m 80",
        "m 0",
        "zz",
        "redis",
        "b 5",
        "b 6",
        "b 8",
        "c",
        "p v3",
        "p t1",
        "p ok5",
        "p e6",
        "e v1",
        "r HGETALL k:2",
        "r SMEMBERS k:3",
        "r ZRANGE k:1 0 -1",
    ];
    let mut compared = 0;
    for n in 0..cases {
        let case = fuzzgen::case(seed, n, false);
        let script = case.script.render();
        let mut rng = fuzzgen::Rng::new(seed ^ (n << 20) ^ 0xdeb);
        let mut typed: Vec<&str> = (0..4 + rng.below(10)).map(|_| rng.pick(LINES)).collect();
        typed.extend(["b 0", "c", "c"]);
        let keys: Vec<&str> = case.keys.iter().map(String::as_str).collect();
        let args: Vec<&str> = case.args.iter().map(String::as_str).collect();
        let setup: Vec<Vec<&str>> = case.setup.iter().map(|c| c.iter().map(String::as_str).collect()).collect();
        let setup: Vec<&[&str]> = setup.iter().map(Vec::as_slice).collect();
        let c = Case { command: "EVAL", script: &script, keys: &keys, args: &args, typed: &typed };
        let mode = if n % 2 == 0 { "YES" } else { "SYNC" };
        fresh(&server, &setup);
        let resp3 = n % 4 == 3;
        let want = session(&server, Names::Native, mode, &c, resp3);
        if !server.alive() {
            server = Server::start();
            configure(&server);
            continue;
        }
        // (A native session whose final reply never came, as for a table holding itself, which
        // native writes until the connection breaks, is no oracle either.)
        let ended = want.iter().any(|l| l == &format!("  +{END}"))
            && want.iter().any(|l| l == "connection closed")
            && !want.iter().any(|l| l == "final: <connection closed>");
        if !ended || native_only() {
            if std::env::var("DEBUGGER_FUZZ_VERBOSE").is_ok() {
                println!("case {n} skipped:\n{}", want.join("\n"));
            }
            continue;
        }
        let want_keys = keyspace(&mut server.con());
        fresh(&server, &setup);
        let got = session(&server, Names::Alt, mode, &c, resp3);
        // A log line with a NUL ends there in the module (README, Differences).
        let cut = |t: &[String]| -> Vec<String> {
            t.iter().map(|l| l.split('\0').next().unwrap_or("").to_string()).collect()
        };
        let (want, got) = (cut(&want), cut(&got));
        assert_same(&want, &got, &format!("case {n} ({mode}) of seed {seed}: {script:?} typing {typed:?}"));
        assert_eq!(
            keyspace(&mut server.con()),
            want_keys,
            "case {n} ({mode}): keyspaces differ after {script:?} typing {typed:?}:\n{}",
            got.join("\n")
        );
        compared += 1;
    }
    println!("{compared} of {cases} sessions compared");
    assert!(native_only() || compared * 2 >= cases, "too few sessions compared: {compared} of {cases}");
}

/// Removing a breakpoint keeps the others. Native 7.0's ldbDelBreakpoint moves the entries
/// after it by bytes, not ints (`memmove(bp+j, bp+j+1, bpcount-j)`), so removing one that is
/// not the last corrupts the list (with 3, 4, 2 set, `b -3` leaves 4, 4: line 2 no longer
/// stops). The module keeps the right list.
#[test]
fn breakpoint_removal_keeps_the_others() {
    let server = Server::start();
    let script = "local a = 1\nlocal b = 2\nlocal c = 3\nlocal d = 4\nreturn a";
    for mode in ["YES", "SYNC"] {
        let mut s = stopped(&server, Names::Alt, mode, script, &[]);
        for line in ["b 3", "b 4", "b 2", "b -3"] {
            s.typed(line);
        }
        s.typed("b");
        s.typed("c");
        s.typed("c");
        let t = s.close();
        let text = t.join("\n");
        let listed = text.split("> b\n").nth(1).unwrap_or_default();
        assert!(
            listed.starts_with("  +2 breakpoints set:\n  +  #4   local d = 4\n  +  #2   local b = 2"),
            "{mode}:\n{text}"
        );
        assert!(text.contains("* Stopped at 2, stop reason = break point"), "{mode}:\n{text}");
        assert!(text.contains("* Stopped at 4, stop reason = break point"), "{mode}:\n{text}");
    }
}

/// What the C stack bounds (pattern matching's depth) goes as deep under the debugger, in a
/// SYNC session's fiber and a YES session's child, as in an ordinary run: the same answer for
/// a pattern just within the bound and one past it.
#[test]
fn c_stack_bounds_are_the_same_under_the_debugger() {
    let server = Server::start();
    for n in [100_000, 300_000] {
        let script = format!("return string.find(string.rep('a', {n}), string.rep('a?', {n}))");
        let plain = run_str(&mut server.con(), &["ALT.EVAL", &script, "0"]);
        for mode in ["YES", "SYNC"] {
            let mut s = stopped(&server, Names::Alt, mode, &script, &[]);
            s.typed("c");
            let t = s.close();
            let last = t.iter().rev().find_map(|l| l.strip_prefix("final: ")).unwrap_or_default().to_string();
            assert_eq!(normalize(&last), normalize(&plain), "{mode}, {n} levels:\n{}", t.join("\n"));
        }
    }
}

/// A SYNC run whose client leaves at a timeout stop ends with native's error, and stays
/// ended when the script swallows that error with pcall and loops on (it runs on the main
/// thread: a loop there would hold the server for good).
#[test]
fn a_swallowed_timeout_after_the_client_left_still_ends_the_run() {
    let server = Server::start();
    run_str(&mut server.con(), &["CONFIG", "SET", "busy-reply-threshold", "300"]);
    let script = "while true do pcall(function() while true do end end) end";
    let mut s = stopped(&server, Names::Alt, "SYNC", script, &[]);
    s.typed("c");
    drop(s.close());
    thread::sleep(Duration::from_millis(800));
    ping(&server);
    assert_eq!(run_str(&mut server.con(), &["ALT.EVAL", "return 1", "0"]), ":1");
}
