//! YES sessions: the debugged run goes on in a forked child (its writes die with it) that
//! talks to the main event loop through two pipes, while the server serves everyone; the
//! debugging client is parked between its command and the child's answer.

use std::ffi::c_int;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::ldb::Transport;
use super::wire::{self, Message};
use super::{ensure_ticking, enter_session, reply, run_debugged, Prepared};
use crate::error::ScriptError;
use crate::host::{self, session, Ctx, Forked};
use crate::run;

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

pub(super) fn start(ctx: &mut Ctx, id: u64, run: Prepared) -> Result<(), ScriptError> {
    if ctx.client_is_tls() {
        return Err(ScriptError::err("the forked Lua debugger is not available over TLS: use SCRIPT DEBUG SYNC"));
    }
    match session::fork_session() {
        Forked::Failed(why) => Err(ScriptError::err(format!("Fork() failed: can't run EVAL in debugging mode: {why}"))),
        Forked::Child { from_parent, to_parent } => {
            host::log_to_ctx(ctx, "Redis forked for debugging eval");
            run::set_tracing(true);
            // Whatever happens, the child never returns into the server's code (it would
            // run the event loop of a copy whose descriptors are closed).
            let c = *ctx;
            let end = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                run_debugged(run, c, Box::new(PipeTransport { from_parent, to_parent }), true)
            }))
            .unwrap_or_else(|_| Message::Failed(b"ERR the Lua debugger failed".to_vec()));
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

/// Hands a debugging client's line to its session's child and parks the client until the
/// answer; false when the client has no live session.
pub(super) fn send(ctx: &Ctx, id: u64, line: Vec<Vec<u8>>) -> Result<bool, ScriptError> {
    let Ok(mut all) = FORKED.lock() else { return Err(ScriptError::err("debugger state unavailable")) };
    let Some(s) = all.iter_mut().find(|s| s.client == id && !s.ended) else { return Ok(false) };
    let Some(parked) = ctx.park(answer_parked) else {
        return Err(ScriptError::err("the Lua debugger can not run here"));
    };
    s.idle_since = Instant::now();
    s.parked = Some(parked);
    // The child reads as soon as it has answered; one that does not within a second (stuck)
    // must not hold the server: the line is not written whole, and the session ends.
    if !session::write_all_within(s.to_child, &wire::frame(&Message::Command(line)), 1000) {
        session::kill_child(s.pid);
        if let Some(parked) = s.parked.take() {
            parked.answer(wire::frame(&Message::Failed(b"ERR the Lua debugging session's process ended".to_vec())));
        }
    }
    Ok(true)
}

/// The client went away: its session's child goes too.
pub(super) fn client_gone(id: u64) {
    if let Ok(mut all) = FORKED.lock() {
        for s in all.iter_mut().filter(|s| s.client == id) {
            session::kill_child(s.pid);
            // A parked client that goes away is still unblocked once, which frees its
            // handle (no reply is written: it has no connection any more).
            if let Some(parked) = s.parked.take() {
                parked.answer(Vec::new());
            }
            s.ended = true;
        }
    }
}

/// Ends sessions idle past `idle` (their child killed, the connection closed) and collects
/// the ended ones' children and pipes.
pub(super) fn housekeeping(ctx: &Ctx, idle: Option<Duration>) {
    let Ok(mut all) = FORKED.lock() else { return };
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

pub(super) fn running() -> bool {
    FORKED.lock().map_or(true, |f| !f.is_empty())
}

/// SHUTDOWN: every session's child is killed (ldbKillForkedSessions).
pub(super) fn kill_all() {
    if let Ok(all) = FORKED.lock() {
        for s in all.iter() {
            host::log_any_thread(host::LogLevel::Warning, &format!("Killing debugging session {}", s.pid));
            session::kill_child(s.pid);
        }
    }
}
