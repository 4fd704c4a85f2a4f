//! The debugger inside a debugged run (eval.c ldb*): where it stops, what each debugger
//! command answers, and the log lines of `redis.call`, `redis.debug` and the stops. It runs
//! where the script runs (a fiber on the main thread, or a forked child) and talks to the
//! client through a `Transport`.

use std::cell::RefCell;
use std::time::{Duration, Instant};

use crate::host::ldb::{Action, Event, Frame};

/// Breakpoints at most (LDB_BREAKPOINTS_MAX).
const MAX_BREAKPOINTS: usize = 64;
/// Default trimming of replies and values (LDB_MAX_LEN_DEFAULT).
const DEFAULT_MAXLEN: usize = 256;

/// The way to the debugging client.
pub trait Transport {
    /// Sends the pending log lines as the answer to the last command, then waits for the
    /// next command; `None` when the client is gone.
    fn exchange(&mut self, logs: Vec<Vec<u8>>) -> Option<Vec<Vec<u8>>>;
}

/// A debugger session's state (eval.c `struct ldbState`).
pub struct Ldb {
    src: Vec<Vec<u8>>,
    bp: Vec<i32>,
    step: bool,
    luabp: bool,
    currentline: i32,
    maxlen: usize,
    maxlen_hint_sent: bool,
    logs: Vec<Vec<u8>>,
    /// The client is gone: no more stops wait for commands.
    gone: bool,
    /// The run was ended for good (its client gone at a timeout stop): raised again at every
    /// hook, so that pcall cannot swallow it and loop on (the server would never get back).
    doomed: Option<Vec<u8>>,
    /// When the run last (re)started running: stops past busy-reply-threshold.
    started: Instant,
    busy_after: Duration,
    transport: Option<Box<dyn Transport>>,
}

thread_local! {
    /// The session whose script runs on this thread (a fiber's, or a child's).
    static LDB: RefCell<Option<Ldb>> = const { RefCell::new(None) };
}

fn with<R>(f: impl FnOnce(&mut Ldb) -> R) -> Option<R> {
    LDB.try_with(|l| l.try_borrow_mut().ok().and_then(|mut l| l.as_mut().map(f))).ok().flatten()
}

/// Starts the session on this thread for a script of `body` (split in lines as ldbStartSession
/// does), stopping at its first line.
pub fn begin(body: &[u8], busy_after: Duration, transport: Box<dyn Transport>) {
    let mut body = body;
    while let Some(rest) = body.strip_suffix(b"\n").or_else(|| body.strip_suffix(b"\r")) {
        body = rest;
    }
    let src = if body.is_empty() { Vec::new() } else { body.split(|&b| b == b'\n').map(<[u8]>::to_vec).collect() };
    let ldb = Ldb {
        src,
        bp: Vec::new(),
        step: true,
        luabp: false,
        currentline: 0,
        maxlen: DEFAULT_MAXLEN,
        maxlen_hint_sent: false,
        logs: Vec::new(),
        gone: false,
        doomed: None,
        started: Instant::now(),
        busy_after,
        transport: Some(transport),
    };
    let _ = LDB.try_with(|l| *l.borrow_mut() = Some(ldb));
}

/// Ends the session on this thread: the remaining logs with `<endsession>`.
pub fn end() -> Vec<Vec<u8>> {
    let ldb = LDB.try_with(|l| l.borrow_mut().take()).ok().flatten();
    let mut logs = ldb.map(|l| l.logs).unwrap_or_default();
    logs.push(b"<endsession>".to_vec());
    logs
}

/// Whether `redis.call` logs now (ldbIsEnabled: a session, stepping).
pub fn tracing() -> bool {
    with(|l| l.step).unwrap_or(false)
}

pub fn log(entry: Vec<u8>) {
    with(|l| l.logs.push(entry));
}

/// ldbLogWithMaxLen.
pub fn log_trimmed(mut entry: Vec<u8>) {
    with(|l| {
        let mut trimmed = false;
        if l.maxlen > 0 && entry.len() > l.maxlen {
            entry.truncate(l.maxlen);
            entry.extend_from_slice(b" ...");
            trimmed = true;
        }
        l.logs.push(entry);
        if trimmed && !l.maxlen_hint_sent {
            l.maxlen_hint_sent = true;
            l.logs.push(b"<hint> The above reply was trimmed. Use 'maxlen 0' to disable trimming.".to_vec());
        }
    });
}

/// `redis.debug(...)`: one line of the values' texts.
pub fn debug_values(values: Vec<Vec<u8>>) {
    let Some(line) = with(|l| l.currentline) else { return };
    let mut entry = format!("<debug> line {line}: ").into_bytes();
    entry.extend_from_slice(&values.join(b", ".as_slice()));
    log(entry);
}

/// `redis.breakpoint()`.
pub fn breakpoint() -> bool {
    with(|l| l.luabp = true).is_some()
}

impl Ldb {
    fn source_line(&self, n: i32) -> &[u8] {
        usize::try_from(n - 1).ok().and_then(|i| self.src.get(i)).map_or(b"<out of range source code line>", |l| l)
    }

    /// ldbLogSourceLine.
    fn log_source_line(&mut self, n: i32) {
        let prefix = match (self.currentline == n, self.bp.contains(&n)) {
            (true, true) => "->#",
            (true, false) => "-> ",
            (false, true) => "  #",
            (false, false) => "   ",
        };
        let mut entry = format!("{prefix}{n:<3} ").into_bytes();
        entry.extend_from_slice(self.source_line(n));
        self.logs.push(entry);
    }

    /// ldbList.
    fn list(&mut self, around: i32, context: i32) {
        for j in 1..=i32::try_from(self.src.len()).unwrap_or(i32::MAX) {
            if around != 0 && (around - j).abs() > context {
                continue;
            }
            self.log_source_line(j);
        }
    }
}

/// The hook: luaLdbLineHook.
pub fn on_hook(frame: &mut Frame, event: Event, line: i32, user: bool) -> Action {
    if let Some(text) = with(|l| l.doomed.clone()).flatten() {
        return Action::Raise(text);
    }
    let stop = with(|l| {
        l.currentline = line;
        if !user {
            return None;
        }
        let bp = l.bp.contains(&line) || l.luabp;
        let mut timeout = false;
        if event == Event::Count && !l.step && !bp {
            if l.started.elapsed() >= l.busy_after {
                timeout = true;
                l.step = true;
            } else {
                return None;
            }
        }
        if !(l.step || bp) {
            return None;
        }
        let reason = if bp {
            if l.luabp {
                "redis.breakpoint() called"
            } else {
                "break point"
            }
        } else if timeout {
            "timeout reached, infinite loop?"
        } else {
            "step over"
        };
        l.step = false;
        l.luabp = false;
        l.logs.push(format!("* Stopped at {line}, stop reason = {reason}").into_bytes());
        l.log_source_line(line);
        Some(timeout)
    })
    .flatten();
    let Some(timeout) = stop else { return Action::Continue };
    match repl(frame) {
        Repl::Resume => {}
        // The client is gone: the rest runs without stops (as the gone client's user), unless
        // the stop was a timeout, where it would never end.
        Repl::Gone if timeout => {
            let text = b"ERR timeout during Lua debugging with client closing connection".to_vec();
            with(|l| l.doomed = Some(text.clone()));
            return Action::Raise(text);
        }
        Repl::Gone => {}
        Repl::Raise(text) => return Action::Raise(text),
    }
    with(|l| l.started = Instant::now());
    Action::Continue
}

enum Repl {
    Resume,
    Gone,
    Raise(Vec<u8>),
}

/// Sends what is logged and takes the next command, the transport borrowed out of the
/// session while it waits (the wait may pause this whole run).
fn exchange() -> Option<Vec<Vec<u8>>> {
    let (logs, transport, gone) =
        with(|l| (std::mem::take(&mut l.logs), l.transport.take(), l.gone)).unwrap_or((Vec::new(), None, true));
    let mut transport = transport?;
    let next = if gone { None } else { transport.exchange(logs) };
    with(|l| {
        l.transport = Some(transport);
        if next.is_none() {
            l.gone = true;
        }
    });
    next
}

/// Native's limits on a debugger command line (ldbReplParseCommand): at most 1024
/// arguments of 1 to 1024 bytes.
fn well_formed(argv: &[Vec<u8>]) -> bool {
    !argv.is_empty() && argv.len() <= 1024 && argv.iter().all(|a| !a.is_empty() && a.len() <= 1024)
}

/// ldbRepl: serves debugger commands until one resumes the script.
fn repl(frame: &mut Frame) -> Repl {
    loop {
        let Some(argv) = exchange() else {
            with(|l| {
                l.step = false;
                l.bp.clear();
            });
            return Repl::Gone;
        };
        if !well_formed(&argv) {
            return Repl::Raise(b"ERR protocol error".to_vec());
        }
        let Some(first) = argv.first() else { continue };
        // Compared as C strings (strcasecmp): up to a NUL.
        let name: Vec<u8> = first.iter().take_while(|&&b| b != 0).map(u8::to_ascii_lowercase).collect();
        let is = |a: &[u8], b: &[u8]| name == a || name == b;
        if is(b"h", b"help") {
            with(|l| l.logs.extend(HELP.iter().map(|s| s.as_bytes().to_vec())));
        } else if is(b"s", b"step") || is(b"n", b"next") {
            with(|l| l.step = true);
            return Repl::Resume;
        } else if is(b"c", b"continue") {
            return Repl::Resume;
        } else if is(b"t", b"trace") {
            trace(frame);
        } else if is(b"m", b"maxlen") {
            maxlen(&argv);
        } else if is(b"b", b"break") {
            with(|l| breakpoints(l, &argv));
        } else if is(b"e", b"eval") {
            eval(frame, &argv);
        } else if is(b"a", b"abort") {
            return Repl::Raise(b"ERR script aborted for user request".to_vec());
        } else if argv.len() > 1 && is(b"r", b"redis") {
            with(|l| l.step = true);
            let ok = frame.redis(argv.get(1..).unwrap_or_default());
            with(|l| l.step = false);
            if !ok {
                log_trimmed(b"<reply> max lua stack reached".to_vec());
            }
        } else if is(b"p", b"print") {
            print(frame, &argv);
        } else if is(b"l", b"list") {
            with(|l| {
                let mut around = l.currentline;
                let mut context = 5;
                if let Some(n) = argv.get(1).map(|a| atoi(a)) {
                    if n > 0 {
                        around = n;
                    }
                }
                if let Some(c) = argv.get(2) {
                    context = atoi(c);
                }
                l.list(around, context);
            });
        } else if is(b"w", b"whole") {
            with(|l| l.list(1, 1_000_000));
        } else {
            log(b"<error> Unknown Redis Lua debugger command or wrong number of arguments.".to_vec());
        }
    }
}

/// C's atoi: an optional sign and leading digits, 0 otherwise (saturating).
fn atoi(s: &[u8]) -> i32 {
    let s = s.trim_ascii_start();
    let (neg, digits) = match s.split_first() {
        Some((b'-', r)) => (true, r),
        Some((b'+', r)) => (false, r),
        _ => (false, s),
    };
    let mut n: i64 = 0;
    for &d in digits.iter().take_while(|d| d.is_ascii_digit()) {
        n = (n * 10 + i64::from(d - b'0')).min(i64::from(i32::MAX) + 1);
    }
    let n = if neg { -n } else { n };
    i32::try_from(n).unwrap_or(if neg { i32::MIN } else { i32::MAX })
}

fn trace(frame: &mut Frame) {
    let (entries, levels) = frame.trace();
    for e in entries {
        let mut head = if e.level == 0 { b"In ".to_vec() } else { b"From ".to_vec() };
        head.extend_from_slice(e.name.as_deref().unwrap_or(b"top level"));
        head.push(b':');
        with(|l| {
            l.logs.push(head);
            l.log_source_line(e.line);
        });
    }
    if levels == 0 {
        log(b"<error> Can't retrieve Lua stack.".to_vec());
    }
}

fn maxlen(argv: &[Vec<u8>]) {
    with(|l| {
        if let (2, Some(v)) = (argv.len(), argv.get(1)) {
            let mut n = atoi(v);
            l.maxlen_hint_sent = true;
            if n != 0 && n <= 60 {
                n = 60;
            }
            // A negative size reads as a huge one, as native's size_t.
            l.maxlen = usize::try_from(n).unwrap_or(usize::MAX);
        }
        let line = if l.maxlen > 0 {
            format!("<value> replies are truncated at {} bytes.", l.maxlen as i32)
        } else {
            "<value> replies are unlimited.".to_string()
        };
        l.logs.push(line.into_bytes());
    });
}

/// ldbBreak.
fn breakpoints(l: &mut Ldb, argv: &[Vec<u8>]) {
    if argv.len() == 1 {
        if l.bp.is_empty() {
            l.logs.push(b"No breakpoints set. Use 'b <line>' to add one.".to_vec());
        } else {
            l.logs.push(format!("{} breakpoints set:", l.bp.len()).into_bytes());
            for n in l.bp.clone() {
                l.log_source_line(n);
            }
        }
        return;
    }
    for arg in argv.iter().skip(1) {
        let Some(line) = crate::commands::parse_long_long(arg) else {
            let mut e = b"Invalid argument:'".to_vec();
            e.extend_from_slice(arg);
            e.push(b'\'');
            l.logs.push(e);
            continue;
        };
        if line == 0 {
            l.bp.clear();
            l.logs.push(b"All breakpoints removed.".to_vec());
        } else if line > 0 {
            let lines = i64::try_from(l.src.len()).unwrap_or(i64::MAX);
            if l.bp.len() == MAX_BREAKPOINTS {
                l.logs.push(b"Too many breakpoints set.".to_vec());
            } else if line <= lines && !l.bp.contains(&(line as i32)) {
                l.bp.push(line as i32);
                l.list(line as i32, 1);
            } else {
                l.logs.push(b"Wrong line number.".to_vec());
            }
        } else if let Some(pos) = l.bp.iter().position(|&b| i64::from(b) == -line) {
            l.bp.remove(pos);
            l.logs.push(b"Breakpoint removed.".to_vec());
        } else {
            l.logs.push(b"No breakpoint in the specified line.".to_vec());
        }
    }
}

fn eval(frame: &mut Frame, argv: &[Vec<u8>]) {
    let code = argv.get(1..).unwrap_or_default().join(b" ".as_slice());
    let budget = with(|l| l.busy_after).unwrap_or(Duration::from_secs(5));
    match frame.eval(&code, Instant::now() + budget) {
        Ok(value) => log_trimmed([b"<retval> ".as_slice(), &value].concat()),
        Err(text) => log([b"<error> ".as_slice(), &text].concat()),
    }
}

fn print(frame: &mut Frame, argv: &[Vec<u8>]) {
    if let (2, Some(name)) = (argv.len(), argv.get(1)) {
        if let Some(value) = frame.find_local(name) {
            log_trimmed([b"<value> ".as_slice(), &value].concat());
        } else if name == b"ARGV" || name == b"KEYS" {
            let global = if name == b"ARGV" { c"ARGV" } else { c"KEYS" };
            let value = frame.global(global);
            log_trimmed([b"<value> ".as_slice(), &value].concat());
        } else {
            log(b"No such variable.".to_vec());
        }
        return;
    }
    let locals = frame.locals(0).unwrap_or_default();
    let mut vars = 0;
    for (name, value) in locals {
        if name.windows(12).any(|w| w == b"(*temporary)") {
            continue;
        }
        let mut entry = b"<value> ".to_vec();
        entry.extend_from_slice(&name);
        entry.extend_from_slice(b" = ");
        entry.extend_from_slice(&value);
        log_trimmed(entry);
        vars += 1;
    }
    if vars == 0 {
        log(b"No local variables in the current context.".to_vec());
    }
}

/// The debugger's help (ldbRepl).
const HELP: &[&str] = &[
    "Redis Lua debugger help:",
    "[h]elp               Show this help.",
    "[s]tep               Run current line and stop again.",
    "[n]ext               Alias for step.",
    "[c]ontinue           Run till next breakpoint.",
    "[l]ist               List source code around current line.",
    "[l]ist [line]        List source code around [line].",
    "                     line = 0 means: current position.",
    "[l]ist [line] [ctx]  In this form [ctx] specifies how many lines",
    "                     to show before/after [line].",
    "[w]hole              List all source code. Alias for 'list 1 1000000'.",
    "[p]rint              Show all the local variables.",
    "[p]rint <var>        Show the value of the specified variable.",
    "                     Can also show global vars KEYS and ARGV.",
    "[b]reak              Show all breakpoints.",
    "[b]reak <line>       Add a breakpoint to the specified line.",
    "[b]reak -<line>      Remove breakpoint from the specified line.",
    "[b]reak 0            Remove all breakpoints.",
    "[t]race              Show a backtrace.",
    "[e]val <code>        Execute some Lua code (in a different callframe).",
    "[r]edis <cmd>        Execute a Redis command.",
    "[m]axlen [len]       Trim logged Redis replies and Lua var dumps to len.",
    "                     Specifying zero as <len> means unlimited.",
    "[a]bort              Stop the execution of the script. In sync",
    "                     mode dataset changes will be retained.",
    "",
    "Debugger functions you can call from Lua scripts:",
    "redis.debug()        Produce logs in the debugger console.",
    "redis.breakpoint()   Stop execution like if there was a breakpoint in the",
    "                     next line of code.",
];

#[cfg(test)]
mod tests {
    use super::atoi;

    #[test]
    fn atoi_reads_like_c() {
        assert_eq!(atoi(b"12x"), 12);
        assert_eq!(atoi(b"-3"), -3);
        assert_eq!(atoi(b"x"), 0);
        assert_eq!(atoi(b" 7"), 7);
    }
}
