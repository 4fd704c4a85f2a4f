//! SYNC sessions: the debugged run pauses on the main thread in a fiber of its own at each
//! stop and goes on when its client's next debugger command arrives; other clients are
//! served in between (README: the run is not atomic across a stop).

use std::sync::Mutex;
use std::time::Instant;

use super::ldb::Transport;
use super::wire::Message;
use super::{enter_session, leave_session, reply, run_debugged, Prepared};
use crate::error::ScriptError;
use crate::host::{self, Ctx, Fiber};
use crate::run;

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

pub(super) fn start(ctx: &mut Ctx, id: u64, run: Prepared) -> Result<(), ScriptError> {
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

/// Whether `client` has the SYNC session.
pub(super) fn owns(client: u64) -> bool {
    SYNC.lock().ok().is_some_and(|s| s.as_ref().is_some_and(|s| s.client == client))
}

/// The client of a SYNC session waiting at a stop for longer than `limit`.
pub(super) fn idle_past(limit: std::time::Duration) -> Option<u64> {
    SYNC.lock().ok()?.as_ref().filter(|s| s.idle_since.elapsed() >= limit).map(|s| s.client)
}

pub(super) fn running() -> bool {
    SYNC.lock().map_or(true, |s| s.is_some())
}
