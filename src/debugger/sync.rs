//! SYNC sessions: the debugged run pauses on the main thread in a fiber of its own at each
//! stop and goes on when its client's next debugger command arrives; other clients are
//! served in between (README: the run is not atomic across a stop).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use super::ldb::Transport;
use super::wire::Message;
use super::{enter_session, leave_session, reply, run_debugged, Prepared};
use crate::error::ScriptError;
use crate::host::{self, Ctx, Fiber};
use crate::run;

struct SyncSession {
    fiber: Fiber,
    idle_since: Instant,
}

/// At most one synchronous session at a time (as natively, where it holds the server): its
/// client (0: none), set for the session's whole life.
static OWNER: AtomicU64 = AtomicU64::new(0);
/// The paused session. Taken out while it runs, so that no lock is held across the script's
/// inner calls (a yield inside them serves other clients, whose disconnects and commands
/// reach this file).
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

pub(super) fn start(ctx: &mut Ctx, id: u64, run: Prepared) -> Result<(), ScriptError> {
    if OWNER.compare_exchange(0, id, Ordering::SeqCst, Ordering::SeqCst).is_err() {
        return Err(ScriptError::err("a synchronous debugging session is already in progress"));
    }
    let first_ctx = *ctx;
    let entry = Box::new(move || {
        let end = run_debugged(run, first_ctx, Box::new(FiberTransport), false);
        if let Ok(mut m) = MAILBOX.lock() {
            m.answer = Some(end);
        }
    });
    let Some(fiber) = Fiber::new(entry) else {
        OWNER.store(0, Ordering::SeqCst);
        return Err(ScriptError::err("the Lua debugger could not start"));
    };
    if let Ok(mut sync) = SYNC.lock() {
        *sync = Some(SyncSession { fiber, idle_since: Instant::now() });
    }
    host::log_to_ctx(ctx, "Redis synchronous debugging eval session started");
    enter_session(ctx, id);
    resume(ctx, None, false);
    Ok(())
}

/// Runs the fiber until its next stop (or its end) and answers the client.
pub(super) fn resume(ctx: &mut Ctx, command: Option<Vec<Vec<u8>>>, gone: bool) {
    if let Ok(mut m) = MAILBOX.lock() {
        m.command = command;
        m.ctx = Some(*ctx);
        m.gone = gone;
        m.answer = None;
    }
    // Out of its slot while it runs (no lock across the run); not there means it runs
    // already (a nested resume from a yield) or is gone.
    let Some(mut session) = SYNC.lock().ok().and_then(|mut s| s.take()) else { return };
    let client = OWNER.load(Ordering::SeqCst);
    run::set_tracing(true);
    let ended = session.fiber.resume();
    run::set_tracing(false);
    session.idle_since = Instant::now();
    let answer = MAILBOX.lock().ok().and_then(|mut m| m.answer.take());
    if ended {
        drop(session);
        OWNER.store(0, Ordering::SeqCst);
        leave_session(client);
        host::log_to_ctx(ctx, "Redis synchronous debugging eval session ended");
    } else if let Ok(mut sync) = SYNC.lock() {
        *sync = Some(session);
    }
    if !gone {
        // A run that ended without its last message (a panic caught in the fiber) still
        // ends the client's session.
        let answer = answer.or_else(|| ended.then(|| Message::Failed(b"ERR the Lua debugger failed".to_vec())));
        if let Some(answer) = answer {
            reply(ctx, &answer, client, false);
        }
    }
}

/// Whether `client` has the SYNC session.
pub(super) fn owns(client: u64) -> bool {
    client != 0 && OWNER.load(Ordering::SeqCst) == client
}

/// The client of a SYNC session waiting at a stop for longer than `limit`.
pub(super) fn idle_past(limit: std::time::Duration) -> Option<u64> {
    let paused = SYNC.lock().ok()?.as_ref().is_some_and(|s| s.idle_since.elapsed() >= limit);
    paused.then(|| OWNER.load(Ordering::SeqCst)).filter(|&c| c != 0)
}

pub(super) fn running() -> bool {
    OWNER.load(Ordering::SeqCst) != 0
}
