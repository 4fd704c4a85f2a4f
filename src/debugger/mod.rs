//! ALT.SCRIPT DEBUG (eval.c's LDB): which clients debug their next script, and the sessions
//! that run. A YES session runs in a forked child (its writes die with it) while the server
//! serves everyone; the child talks to the main event loop through pipes. A SYNC session
//! runs on the main thread in a fiber that pauses at each stop, so other clients are served
//! between two debugger commands (the run is not atomic across a stop: README). The
//! debugging client's commands reach `command` through the command filter.

pub mod format;
mod ldb;
mod wire;

use std::collections::{HashMap, HashSet};
use std::ffi::c_int;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::error::ScriptError;
use crate::host::{self, session, Argv, Ctx, Fiber, FilterArgs, Forked};
use crate::lua::{LuaVm, VmKind};
use crate::reply::{Recording, ReplySink};
use crate::run::{self, Access, CallOutcome, RunGuard, RunName};
use crate::sha::Sha;
use ldb::Transport;
use wire::Message;

/// How a client asked to debug (SCRIPT DEBUG YES / SYNC).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Mode {
    Forked,
    Sync,
}

/// Clients with debugging on for their next script.
static MODES: Mutex<Option<HashMap<u64, Mode>>> = Mutex::new(None);
/// How many clients have debugging on, read before any lookup (EVAL's fast path).
static DEBUGGING_CLIENTS: AtomicUsize = AtomicUsize::new(0);

/// Clients in a session (their commands go to the debugger).
static IN_SESSION: Mutex<Option<HashSet<u64>>> = Mutex::new(None);
static SESSIONS: AtomicUsize = AtomicUsize::new(0);

/// The command the filter puts in front of a debugging client's command line.
pub const COMMAND: &[u8] = b"alt.ldb";

fn prefixed(ctx: &Ctx, name: &str) -> String {
    if ctx.dropin() {
        name.to_string()
    } else {
        format!("ALT.{name}")
    }
}

/// ALT.SCRIPT DEBUG YES|SYNC|NO.
pub fn set_mode(ctx: &mut Ctx, argv: &[&[u8]]) -> Result<(), ScriptError> {
    if ctx.flags().in_multi() || ctx.has_pending_replies() {
        // Its reply would follow others still unsent (scriptCommand: clientHasPendingReplies).
        return Err(ScriptError::err(format!("{} must be called outside a pipeline", prefixed(ctx, "SCRIPT DEBUG"))));
    }
    let mode = argv.get(2).copied().unwrap_or_default();
    let mode = if mode.eq_ignore_ascii_case(b"no") {
        None
    } else if mode.eq_ignore_ascii_case(b"yes") {
        Some(Mode::Forked)
    } else if mode.eq_ignore_ascii_case(b"sync") {
        Some(Mode::Sync)
    } else {
        return Err(ScriptError::err(format!("Use {} YES/SYNC/NO", prefixed(ctx, "SCRIPT DEBUG"))));
    };
    let id = ctx.client_id();
    let mut modes = MODES.lock().map_err(|_| ScriptError::err("debugger state unavailable"))?;
    let modes = modes.get_or_insert_with(HashMap::new);
    match mode {
        Some(m) => {
            modes.insert(id, m);
        }
        None => {
            modes.remove(&id);
        }
    }
    DEBUGGING_CLIENTS.store(modes.len(), Ordering::Relaxed);
    ctx.reply_ok();
    Ok(())
}

/// The calling client's debugging mode, if it asked for one.
pub fn mode_of(ctx: &Ctx) -> Option<Mode> {
    if DEBUGGING_CLIENTS.load(Ordering::Relaxed) == 0 {
        return None;
    }
    let id = ctx.client_id();
    MODES.lock().ok()?.as_ref()?.get(&id).copied()
}

fn forget_mode(id: u64) {
    if let Ok(mut modes) = MODES.lock() {
        if let Some(m) = modes.as_mut() {
            m.remove(&id);
            DEBUGGING_CLIENTS.store(m.len(), Ordering::Relaxed);
        }
    }
}

/// EVALSHA while debugging (evalShaCommand).
pub fn evalsha_refused(ctx: &Ctx) -> ScriptError {
    ScriptError::err(format!(
        "Please use {} instead of {} for debugging",
        prefixed(ctx, "EVAL"),
        prefixed(ctx, "EVALSHA")
    ))
}

// ---------------------------------------------------------------------------------------------
// Starting a session.

/// What a session runs: an EVAL script.
pub struct Script<'a> {
    pub body: &'a [u8],
    pub keys: &'a [&'a [u8]],
    pub args: &'a [&'a [u8]],
    pub access: Access,
}

/// The calling client's id, if a session may start here (not inside MULTI or a script).
fn debuggable(ctx: &Ctx) -> Result<u64, ScriptError> {
    if ctx.flags().deny_blocking() {
        return Err(ScriptError::err("the Lua debugger can not start here (MULTI or a script)"));
    }
    Ok(ctx.client_id())
}

/// A VM of the session's own, with the debugger's hook and API.
fn debugging_vm(kind: VmKind) -> Result<LuaVm, ScriptError> {
    let settings = crate::state::vm_settings().ok_or_else(|| ScriptError::err("the script engine is not loaded"))?;
    let mut vm = LuaVm::new(settings.version, settings.logger, kind)?;
    vm.enable_debugger().map_err(ScriptError::from)?;
    Ok(vm)
}

/// EVAL from a client with debugging on: the script runs under the debugger and the first
/// stop is the reply (then `<endsession>` and the result, when it ends).
pub fn start(ctx: &mut Ctx, mode: Mode, script: Script<'_>) -> Result<(), ScriptError> {
    let id = debuggable(ctx)?;
    let (flags, skip) = match crate::shebang::parse(script.body) {
        Ok(parsed) => parsed,
        Err(e) => {
            end_at_once(ctx, &e.text());
            return Ok(());
        }
    };
    let vm = debugging_vm(VmKind::Eval)?;
    let compiled = vm.compile(script.body.get(skip..).unwrap_or_default(), "@user_script");
    let function = match compiled {
        Ok(f) => f,
        Err(msg) => {
            end_at_once(ctx, format!("ERR Error compiling script (new function): {msg}").as_bytes());
            return Ok(());
        }
    };
    if mode == Mode::Sync {
        // The script enters the cache, as native SYNC's EVAL does (a forked session's cache
        // dies with the child).
        let _ = crate::state::with_scripts(|s| s.load(script.body, crate::scripts::Origin::Eval));
    }
    let run = Prepared {
        vm,
        function,
        body: script.body.to_vec(),
        target: Target::Script(Sha::of(script.body)),
        flags,
        keys: script.keys.iter().map(|k| k.to_vec()).collect(),
        args: script.args.iter().map(|a| a.to_vec()).collect(),
        access: script.access,
    };
    forget_mode(id);
    match mode {
        Mode::Sync => start_sync(ctx, id, run),
        Mode::Forked => start_forked(ctx, id, run),
    }
}

/// A session that ends before its script runs (its arguments, shebang or code are wrong):
/// `<endsession>`, the error, and the connection closes (ldbEndSession).
pub fn end_at_once(ctx: &mut Ctx, error: &[u8]) {
    let id = ctx.client_id();
    forget_mode(id);
    ctx.array(Some(1));
    ctx.status(b"<endsession>");
    ctx.error(error);
    ctx.close_client(id);
}

/// A compiled script or function and its arguments, ready to run under the debugger.
struct Prepared {
    vm: LuaVm,
    function: crate::lua::Compiled,
    /// The source the debugger lists.
    body: Vec<u8>,
    target: Target,
    flags: crate::shebang::ScriptFlags,
    keys: Vec<Vec<u8>>,
    args: Vec<Vec<u8>>,
    access: Access,
}

enum Target {
    Script(Sha),
    /// A function: its name and the FCALL line.
    Function(std::sync::Arc<str>, Vec<Vec<u8>>),
}

/// What FCALL of a library function debugs (beyond native, which cannot).
pub struct FunctionCall<'a> {
    /// The library's code as loaded (what the debugger lists), and its Lua after the
    /// `#!lua` line (what runs; same line numbers).
    pub code: &'a [u8],
    pub body: &'a [u8],
    pub name: &'a [u8],
    pub flags: crate::shebang::ScriptFlags,
    pub keys: &'a [&'a [u8]],
    pub args: &'a [&'a [u8]],
    pub argv: &'a [&'a [u8]],
    pub access: Access,
}

/// FCALL from a client with debugging on: the function's library is loaded into a VM of
/// the session's own, and the function runs under the debugger as a script would.
pub fn start_function(ctx: &mut Ctx, mode: Mode, call: FunctionCall<'_>) -> Result<(), ScriptError> {
    let id = debuggable(ctx)?;
    let mut vm = debugging_vm(VmKind::Functions)?;
    let registered = vm.load_library(call.body, None).map_err(ScriptError::Coded)?;
    let function = registered
        .into_iter()
        .find(|r| r.name.eq_ignore_ascii_case(call.name))
        .map(|r| r.function)
        .ok_or_else(|| ScriptError::err("Function not found"))?;
    let display: std::sync::Arc<str> = String::from_utf8_lossy(call.name).into();
    let run = Prepared {
        vm,
        function,
        body: call.code.to_vec(),
        target: Target::Function(display, call.argv.iter().map(|a| a.to_vec()).collect()),
        flags: call.flags,
        keys: call.keys.iter().map(|k| k.to_vec()).collect(),
        args: call.args.iter().map(|a| a.to_vec()).collect(),
        access: call.access,
    };
    forget_mode(id);
    match mode {
        Mode::Sync => start_sync(ctx, id, run),
        Mode::Forked => start_forked(ctx, id, run),
    }
}

fn busy_after() -> Duration {
    match crate::config::busy_reply_threshold_ms() {
        0 => Duration::from_secs(5),
        ms => Duration::from_millis(ms),
    }
}

/// Runs the script with the debugger on this thread; the last message (the remaining logs
/// with `<endsession>`, and the result).
fn run_debugged(mut p: Prepared, ctx: Ctx, transport: Box<dyn Transport>) -> Message {
    ldb::begin(&p.body, busy_after(), transport);
    let keys: Vec<&[u8]> = p.keys.iter().map(Vec::as_slice).collect();
    let args: Vec<&[u8]> = p.args.iter().map(Vec::as_slice).collect();
    let mut result = Recording::default();
    let name = match &p.target {
        Target::Script(sha) => RunName::Sha(*sha),
        Target::Function(name, argv) => {
            let argv: Vec<&[u8]> = argv.iter().map(Vec::as_slice).collect();
            RunName::Function(name.clone(), run::CommandLine::of(&argv))
        }
    };
    let outcome = match RunGuard::enter(&ctx, name, p.flags, p.access, &keys) {
        Ok(guard) => {
            let r = match &p.target {
                Target::Script(sha) => p.vm.run_eval(&p.function, &keys, &args, &mut result, sha),
                Target::Function(name, _) => p.vm.run_function(&p.function, &keys, &args, &mut result, name),
            };
            drop(guard);
            r.map_err(|f| f.0)
        }
        Err(e) => Err(e.text().into_owned()),
    };
    if let Err(text) = outcome {
        result = Recording::default();
        result.error(&text);
    }
    Message::End(ldb::end(), result)
}

/// The line `redis.call` logs and its reply (luaRedisGenericCommand under the debugger).
fn traced_call(name: &[u8], args: &Argv) -> CallOutcome {
    if !ldb::tracing() {
        return run::call_untraced(name, args);
    }
    let mut line = b"<redis> ".to_vec();
    line.extend_from_slice(name);
    let argc = args.len() + 1;
    for j in 1..argc {
        if j == 10 {
            line.extend_from_slice(format!(" ... ({} more)", argc - j - 1).as_bytes());
            break;
        }
        line.push(b' ');
        line.extend_from_slice(args.get(j - 1).unwrap_or_default());
    }
    ldb::log(line);
    let outcome = run::call_untraced(name, args);
    match &outcome {
        CallOutcome::Refused(text) => {
            ldb::log([b"<error> ".as_slice(), text.strip_prefix(b"ERR ").unwrap_or(text)].concat());
        }
        CallOutcome::Reply(reply) => {
            let proto = reply.proto();
            if proto.first() == Some(&b'-') {
                let end = proto.windows(2).position(|w| w == b"\r\n").unwrap_or(proto.len());
                ldb::log([b"<error> ".as_slice(), proto.get(..end).unwrap_or_default()].concat());
            }
            let mut entry = b"<reply> ".to_vec();
            format::reply_to_human(&mut entry, proto);
            ldb::log_trimmed(entry);
        }
    }
    outcome
}

// ---------------------------------------------------------------------------------------------
// SYNC: a fiber on the main thread.

struct SyncSession {
    client: u64,
    fiber: Fiber,
    idle_since: Instant,
}

/// At most one synchronous session at a time (as natively, where it holds the server).
static SYNC: Mutex<Option<SyncSession>> = Mutex::new(None);

/// Between the fiber and the command that resumes it: the next command in, the answer out,
/// and the context of the command that resumed it.
struct Mailbox {
    command: Option<Vec<Vec<u8>>>,
    answer: Option<Message>,
    ctx: Option<Ctx>,
    gone: bool,
}

static MAILBOX: Mutex<Mailbox> = Mutex::new(Mailbox { command: None, answer: None, ctx: None, gone: false });

struct FiberTransport;

impl Transport for FiberTransport {
    fn exchange(&mut self, logs: Vec<Vec<u8>>) -> Option<Vec<Vec<u8>>> {
        if let Ok(mut m) = MAILBOX.lock() {
            if m.gone {
                return None;
            }
            m.answer = Some(Message::Logs(logs));
        }
        let suspended = run::suspend();
        run::set_tracing(false);
        host::fiber_pause();
        run::set_tracing(true);
        let (command, ctx) = MAILBOX.lock().ok().map(|mut m| (m.command.take(), m.ctx)).unwrap_or((None, None));
        if let Some(ctx) = ctx {
            run::restore(suspended, &ctx);
        }
        command
    }
}

fn start_sync(ctx: &mut Ctx, id: u64, run: Prepared) -> Result<(), ScriptError> {
    let mut sync = SYNC.lock().map_err(|_| ScriptError::err("debugger state unavailable"))?;
    if sync.is_some() {
        return Err(ScriptError::err("a synchronous debugging session is already in progress"));
    }
    let first_ctx = *ctx;
    let entry = Box::new(move || {
        let end = run_debugged(run, first_ctx, Box::new(FiberTransport));
        if let Ok(mut m) = MAILBOX.lock() {
            m.answer = Some(end);
        }
    });
    let fiber = Fiber::new(entry).ok_or_else(|| ScriptError::err("the Lua debugger could not start"))?;
    *sync = Some(SyncSession { client: id, fiber, idle_since: Instant::now() });
    drop(sync);
    host::log_to_ctx(ctx, "Redis synchronous debugging eval session started");
    enter_session(ctx, id);
    resume_sync(ctx, None, false);
    Ok(())
}

/// Runs the fiber until its next stop (or its end) and answers the client.
fn resume_sync(ctx: &mut Ctx, command: Option<Vec<Vec<u8>>>, gone: bool) {
    if let Ok(mut m) = MAILBOX.lock() {
        m.command = command;
        m.ctx = Some(*ctx);
        m.gone = gone;
        m.answer = None;
    }
    let Ok(mut sync) = SYNC.lock() else { return };
    let Some(session) = sync.as_mut() else { return };
    run::set_tracing(true);
    let ended = session.fiber.resume();
    run::set_tracing(false);
    session.idle_since = Instant::now();
    let client = session.client;
    let answer = MAILBOX.lock().ok().and_then(|mut m| m.answer.take());
    if ended {
        *sync = None;
    }
    drop(sync);
    if ended {
        leave_session(client);
        host::log_to_ctx(ctx, "Redis synchronous debugging eval session ended");
    }
    if !gone {
        if let Some(answer) = answer {
            reply(ctx, &answer, client, false);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// YES: a forked child.

struct ForkedSession {
    pid: i32,
    to_child: c_int,
    from_child: c_int,
    client: u64,
    inbox: Vec<u8>,
    parked: Option<session::Parked>,
    idle_since: Instant,
    ended: bool,
}

static FORKED: Mutex<Vec<ForkedSession>> = Mutex::new(Vec::new());

struct PipeTransport {
    from_parent: c_int,
    to_parent: c_int,
}

impl Transport for PipeTransport {
    fn exchange(&mut self, logs: Vec<Vec<u8>>) -> Option<Vec<Vec<u8>>> {
        if !session::write_all(self.to_parent, &wire::frame(&Message::Logs(logs))) {
            return None;
        }
        let mut len = [0u8; 4];
        if !session::read_exact(self.from_parent, &mut len) {
            return None;
        }
        let mut body = vec![0u8; u32::from_le_bytes(len) as usize];
        if !session::read_exact(self.from_parent, &mut body) {
            return None;
        }
        wire::command(&body)
    }
}

fn start_forked(ctx: &mut Ctx, id: u64, run: Prepared) -> Result<(), ScriptError> {
    if ctx.client_is_tls() {
        return Err(ScriptError::err("the forked Lua debugger is not available over TLS: use SCRIPT DEBUG SYNC"));
    }
    match session::fork_session() {
        Forked::Failed(why) => Err(ScriptError::err(format!("Fork() failed: can't run EVAL in debugging mode: {why}"))),
        Forked::Child { from_parent, to_parent } => {
            host::log_to_ctx(ctx, "Redis forked for debugging eval");
            run::set_tracing(true);
            let end = run_debugged(run, *ctx, Box::new(PipeTransport { from_parent, to_parent }));
            session::write_all(to_parent, &wire::frame(&end));
            host::log_to_ctx(ctx, "Lua debugging session child exiting");
            session::exit_child()
        }
        Forked::Parent { pid, to_child, from_child } => {
            // The parent's copy of the compiled script goes; the child has its own.
            drop(run);
            let Some(parked) = ctx.park(answer_parked) else {
                session::kill_child(pid);
                session::close_fd(to_child);
                session::close_fd(from_child);
                return Err(ScriptError::err("the Lua debugger could not start here"));
            };
            session::watch(from_child, child_readable);
            if let Ok(mut all) = FORKED.lock() {
                all.push(ForkedSession {
                    pid,
                    to_child,
                    from_child,
                    client: id,
                    inbox: Vec::new(),
                    parked: Some(parked),
                    idle_since: Instant::now(),
                    ended: false,
                });
            }
            enter_session(ctx, id);
            ensure_ticking(ctx);
            Ok(())
        }
    }
}

/// A message (or the end of the pipe) from a child.
fn child_readable(fd: c_int) {
    let Ok(mut all) = FORKED.lock() else { return };
    let Some(s) = all.iter_mut().find(|s| s.from_child == fd) else {
        session::unwatch(fd);
        return;
    };
    let closed = matches!(session::read_available(fd, &mut s.inbox), session::Available::Closed);
    while let Some((message, used)) = wire::take_frame(&s.inbox) {
        s.inbox.drain(..used);
        s.idle_since = Instant::now();
        if matches!(message, Message::End(..)) {
            s.ended = true;
        }
        if let Some(parked) = s.parked.take() {
            parked.answer(wire::frame(&message));
        }
    }
    if closed {
        session::unwatch(fd);
        if !s.ended {
            if let Some(parked) = s.parked.take() {
                parked.answer(wire::frame(&Message::Failed(b"ERR the Lua debugging session's process ended".to_vec())));
            }
        }
        s.ended = true;
    }
}

/// The reply callback of a parked debugging client.
fn answer_parked(ctx: &mut Ctx, frame: &[u8]) {
    let id = ctx.client_id();
    if let Some((message, _)) = wire::take_frame(frame) {
        reply(ctx, &message, id, true);
    }
}

// ---------------------------------------------------------------------------------------------
// The debugging client's commands.

fn enter_session(ctx: &Ctx, id: u64) {
    if let Ok(mut s) = IN_SESSION.lock() {
        let set = s.get_or_insert_with(HashSet::new);
        set.insert(id);
        SESSIONS.store(set.len(), Ordering::Relaxed);
    }
    learn_commands(ctx);
    host::see_all_commands(true);
    ensure_ticking(ctx);
}

fn leave_session(id: u64) {
    if let Ok(mut s) = IN_SESSION.lock() {
        if let Some(set) = s.as_mut() {
            set.remove(&id);
            SESSIONS.store(set.len(), Ordering::Relaxed);
            if set.is_empty() {
                host::see_all_commands(false);
            }
        }
    }
}

fn in_session(id: u64) -> bool {
    SESSIONS.load(Ordering::Relaxed) > 0
        && IN_SESSION.lock().ok().and_then(|s| s.as_ref().map(|s| s.contains(&id))).unwrap_or(false)
}

/// The server's command names (lowercase), for hosts whose filter cannot tell which client
/// sent a line (7.0): there a line whose name is no command goes to the debugger.
static KNOWN: Mutex<Option<HashSet<Vec<u8>>>> = Mutex::new(None);

fn learn_commands(ctx: &Ctx) {
    if host::filter_knows_clients() {
        return;
    }
    let Some(reply) = ctx.call(c"COMMAND", c"vE", &[b"LIST"]) else { return };
    let mut names = HashSet::new();
    let root = reply.root();
    let mut i = 0;
    while let Some(e) = root.element(i) {
        if let host::ReplyKind::Bulk(n) = e.kind() {
            names.insert(n.to_ascii_lowercase());
        }
        i += 1;
    }
    if let Ok(mut known) = KNOWN.lock() {
        *known = Some(names);
    }
}

fn is_command(name: &[u8]) -> bool {
    KNOWN.lock().ok().and_then(|k| k.as_ref().map(|k| k.contains(&name.to_ascii_lowercase()))).unwrap_or(true)
}

/// The command filter's part: while sessions run, a debugging client's command line goes to
/// the debugger (`alt.ldb <line>`).
pub fn route(args: &mut FilterArgs) {
    if SESSIONS.load(Ordering::Relaxed) == 0 {
        return;
    }
    let ours = match args.client_id() {
        Some(id) => in_session(id),
        None if host::filter_knows_clients() => false,
        None => {
            // 7.0: a line whose name is no command (every debugger word but `eval`), or
            // EVAL with fewer than two arguments (never a valid EVAL).
            let Some(name) = args.get(0) else { return };
            !is_command(name) || (name.eq_ignore_ascii_case(b"eval") && args.len() < 3)
        }
    };
    if ours {
        args.insert(0, COMMAND);
    }
}

/// `alt.ldb <line>`: a debugging client's command.
pub fn command(ctx: &mut Ctx, argv: &[&[u8]]) -> Result<(), ScriptError> {
    let id = ctx.client_id();
    let line: Vec<Vec<u8>> = argv.iter().skip(1).map(|a| a.to_vec()).collect();
    if !in_session(id) {
        return Err(not_a_command(&line));
    }
    if closing(id) {
        // The session ended: the connection closes instead of an answer (a native
        // session's socket is closed by then).
        ctx.close_client(id);
        return Ok(());
    }
    let is_sync = SYNC.lock().ok().is_some_and(|s| s.as_ref().is_some_and(|s| s.client == id));
    if is_sync {
        resume_sync(ctx, Some(line), false);
        return Ok(());
    }
    let Ok(mut all) = FORKED.lock() else { return Err(ScriptError::err("debugger state unavailable")) };
    let Some(s) = all.iter_mut().find(|s| s.client == id && !s.ended) else {
        return Err(not_a_command(&line));
    };
    let Some(parked) = ctx.park(answer_parked) else {
        return Err(ScriptError::err("the Lua debugger can not run here"));
    };
    s.idle_since = Instant::now();
    s.parked = Some(parked);
    if !session::write_all(s.to_child, &wire::frame(&Message::Command(line))) {
        if let Some(parked) = s.parked.take() {
            parked.answer(wire::frame(&Message::Failed(b"ERR the Lua debugging session's process ended".to_vec())));
        }
    }
    Ok(())
}

/// What a client outside any session gets for a line the filter sent here (7.0): the
/// native unknown-command or arity error.
fn not_a_command(line: &[Vec<u8>]) -> ScriptError {
    let name = line.first().map(Vec::as_slice).unwrap_or_default();
    if name.eq_ignore_ascii_case(b"eval") {
        return ScriptError::err("wrong number of arguments for 'eval' command");
    }
    // processCommand: "unknown command '%.128s', with args beginning with: " and each
    // argument as "'%.*s' " while the list is under 128 bytes.
    let mut args: Vec<u8> = Vec::new();
    for a in line.iter().skip(1) {
        if args.len() >= 128 {
            break;
        }
        let room = 128 - args.len();
        args.push(b'\'');
        args.extend(a.iter().take(room).take_while(|&&b| b != 0));
        args.extend_from_slice(b"' ");
    }
    let mut text = b"ERR unknown command '".to_vec();
    text.extend(name.iter().take(128).take_while(|&&b| b != 0));
    text.extend_from_slice(b"', with args beginning with: ");
    text.extend_from_slice(&args);
    ScriptError::Coded(text)
}

/// Clients to close once their last replies are written.
static CLOSE_LATER: Mutex<Vec<u64>> = Mutex::new(Vec::new());

/// The session's last reply is written: the connection closes after it, as natively. From
/// a parked client's reply callback the close waits for the next tick (closing there would
/// drop the reply); until then the client stays routed here, so a line it sends meanwhile
/// closes it too instead of running.
fn finish(ctx: &Ctx, client: u64, parked: bool) {
    if !parked {
        leave_session(client);
        ctx.close_client(client);
        return;
    }
    if let Ok(mut later) = CLOSE_LATER.lock() {
        later.push(client);
    }
    session::tick_after(ctx, 1, close_pending);
}

/// Writes a session message as the client's reply; the last one closes the connection
/// (here for a command's own reply; a parked client's on the next tick).
fn reply(ctx: &mut Ctx, message: &Message, client: u64, parked: bool) {
    match message {
        Message::Logs(lines) => status_lines(ctx, lines),
        Message::End(lines, result) => {
            status_lines(ctx, lines);
            result.replay(ctx);
            finish(ctx, client, parked);
        }
        Message::Failed(text) => {
            ctx.error(text);
            finish(ctx, client, parked);
        }
        Message::Command(_) => {}
    }
}

fn status_lines(ctx: &mut Ctx, lines: &[Vec<u8>]) {
    ctx.array(Some(lines.len()));
    for l in lines {
        ctx.status(l);
    }
}

// ---------------------------------------------------------------------------------------------
// Disconnections, idle sessions, shutdown.

/// A client went away: its mode is forgotten; its session ends (a child is killed; a paused
/// SYNC run goes on without stops, as natively when the client closes).
pub fn client_gone(ctx: &Ctx, id: u64) {
    forget_mode(id);
    if !in_session(id) {
        return;
    }
    leave_session(id);
    if let Ok(mut all) = FORKED.lock() {
        for s in all.iter_mut().filter(|s| s.client == id) {
            session::kill_child(s.pid);
            s.parked = None;
            s.ended = true;
        }
    }
    if SYNC.lock().ok().is_some_and(|s| s.as_ref().is_some_and(|s| s.client == id)) {
        // The rest of the run goes on now, without stops, as natively: this context's
        // client is the one going away (the host fires the event before it unlinks it), so
        // the commands still run as its user, in its database.
        let mut c = *ctx;
        resume_sync(&mut c, None, true);
    }
}

static TICKING: AtomicUsize = AtomicUsize::new(0);

fn ensure_ticking(ctx: &Ctx) {
    if TICKING.swap(1, Ordering::SeqCst) == 0 {
        session::tick_after(ctx, 100, tick);
    }
}

fn close_pending(ctx: &Ctx) {
    for id in CLOSE_LATER.lock().map(|mut l| std::mem::take(&mut *l)).unwrap_or_default() {
        leave_session(id);
        ctx.close_client(id);
    }
}

fn closing(id: u64) -> bool {
    CLOSE_LATER.lock().is_ok_and(|l| l.contains(&id))
}

/// Every 100 ms while sessions exist: finish an abandoned SYNC run, end idle sessions,
/// collect ended children.
fn tick(ctx: &Ctx) {
    let idle = crate::config::debug_idle_timeout_secs();
    let idle = (idle > 0).then(|| Duration::from_secs(idle));
    close_pending(ctx);
    let sync_idle = SYNC
        .lock()
        .ok()
        .and_then(|s| s.as_ref().map(|s| (s.client, s.idle_since.elapsed())))
        .filter(|(_, waited)| idle.is_some_and(|limit| *waited >= limit));
    if let Some((client, _)) = sync_idle {
        host::log_to_ctx(ctx, "Lua debugging session idle past alt.debug-idle-timeout: ended");
        ctx.close_client(client);
    }
    if let Ok(mut all) = FORKED.lock() {
        for s in all.iter_mut() {
            if !s.ended && s.parked.is_none() && idle.is_some_and(|limit| s.idle_since.elapsed() >= limit) {
                host::log_to_ctx(ctx, "Lua debugging session idle past alt.debug-idle-timeout: ended");
                session::kill_child(s.pid);
                s.ended = true;
                ctx.close_client(s.client);
            }
        }
        all.retain(|s| {
            if s.ended && session::reap(s.pid) {
                session::unwatch(s.from_child);
                session::close_fd(s.to_child);
                session::close_fd(s.from_child);
                false
            } else {
                true
            }
        });
    }
    let busy = SYNC.lock().ok().is_some_and(|s| s.is_some())
        || FORKED.lock().ok().is_some_and(|f| !f.is_empty())
        || CLOSE_LATER.lock().ok().is_some_and(|l| !l.is_empty());
    if busy {
        session::tick_after(ctx, 100, tick);
    } else {
        TICKING.store(0, Ordering::SeqCst);
    }
}

/// SHUTDOWN: the session children go first (ldbKillForkedSessions).
pub fn shutdown() {
    if let Ok(all) = FORKED.lock() {
        for s in all.iter() {
            host::log_any_thread(host::LogLevel::Warning, &format!("Killing debugging session {}", s.pid));
            session::kill_child(s.pid);
        }
    }
}

/// Whether a session is running (MODULE UNLOAD waits: a paused run lives in this library's
/// code).
pub fn active() -> bool {
    SYNC.lock().map_or(true, |s| s.is_some())
        || FORKED.lock().map_or(true, |f| !f.is_empty())
        || TICKING.load(Ordering::SeqCst) == 1
}

/// Installs the debugger's callbacks (the traced inner call, the hook, the debug API).
pub fn loaded() {
    run::set_tracer(traced_call, |text| {
        if ldb::tracing() {
            ldb::log([b"<error> ".as_slice(), text].concat());
        }
    });
}

/// The hook and `redis.debug`/`redis.breakpoint` of a debugging VM.
pub fn vm_hooks() -> (host::ldb::HookFn, host::ldb::DebugApi) {
    (ldb::on_hook, host::ldb::DebugApi { debug: ldb::debug_values, breakpoint: ldb::breakpoint })
}
