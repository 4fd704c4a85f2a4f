//! ALT.SCRIPT DEBUG (eval.c's LDB): which clients debug their next script, and the sessions
//! that run. A YES session runs in a forked child (its writes die with it) while the server
//! serves everyone; the child talks to the main event loop through pipes. A SYNC session
//! runs on the main thread in a fiber that pauses at each stop, so other clients are served
//! between two debugger commands (the run is not atomic across a stop: README). The
//! debugging client's commands reach `command` through the command filter.
//!
//! Here: who debugs, starting a session, the run under the debugger. forked.rs and sync.rs:
//! the two kinds of session; client.rs: the debugging client's lines and replies, and the
//! sessions' housekeeping; ldb.rs: the debugger inside the run; format.rs, wire.rs: the
//! notation of values and replies, the messages on the pipes.

mod client;
mod forked;
pub mod format;
mod ldb;
mod sync;
mod wire;

pub use client::{active, client_gone, command, route, shutdown, COMMAND};
use client::{ensure_ticking, enter_session, leave_session, reply};

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use crate::error::ScriptError;
use crate::host::{self, Argv, Ctx};
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
        keys: owned(script.keys),
        args: owned(script.args),
        access: script.access,
    };
    launch(ctx, id, mode, run)
}

fn owned(list: &[&[u8]]) -> Vec<Vec<u8>> {
    list.iter().map(|a| a.to_vec()).collect()
}

/// The session starts: the client's debugging mode is used up (as ldbDisable after a
/// session), and the run goes to its kind of session.
fn launch(ctx: &mut Ctx, id: u64, mode: Mode, run: Prepared) -> Result<(), ScriptError> {
    forget_mode(id);
    match mode {
        Mode::Sync => sync::start(ctx, id, run),
        Mode::Forked => forked::start(ctx, id, run),
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
        target: Target::Function(display, owned(call.argv)),
        flags: call.flags,
        keys: owned(call.keys),
        args: owned(call.args),
        access: call.access,
    };
    launch(ctx, id, mode, run)
}

fn busy_after() -> Duration {
    match crate::config::busy_reply_threshold_ms() {
        0 => Duration::from_secs(5),
        ms => Duration::from_millis(ms),
    }
}

/// Runs the script with the debugger on this thread; the last message (the remaining logs
/// with `<endsession>`, and the result).
/// `in_child`: in a forked session's process, which has no event loop to yield to (the
/// pattern matcher's interrupt poll may yield past busy-reply-threshold).
fn run_debugged(mut p: Prepared, ctx: Ctx, transport: Box<dyn Transport>, in_child: bool) -> Message {
    ldb::begin(&p.body, busy_after(), transport);
    let keys: Vec<&[u8]> = p.keys.iter().map(Vec::as_slice).collect();
    let args: Vec<&[u8]> = p.args.iter().map(Vec::as_slice).collect();
    let mut result = Recording::default();
    let name = match &p.target {
        Target::Script(sha) => RunName::Sha(*sha),
        Target::Function(name, argv) => {
            let argv: Vec<&[u8]> = argv.iter().map(Vec::as_slice).collect();
            RunName::Function(run::FunctionName::of(name), run::CommandLine::owned(&argv))
        }
    };
    let outcome = match RunGuard::enter(&ctx, name, p.flags, p.access, &keys) {
        Ok(guard) => {
            if in_child {
                run::no_yield();
            }
            let r = match &p.target {
                Target::Script(sha) => p.vm.run_eval(&p.function, &keys, &args, &mut result, sha),
                Target::Function(name, _) => p.vm.run_function(&p.function, false, &keys, &args, &mut result, name),
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
