//! The debugging client: its lines routed to the debugger by the command filter, the
//! debugger's answers written as its replies, the connection closed at the end; and the
//! sessions' housekeeping (disconnects, idle sessions, shutdown).

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use super::wire::Message;
use super::{forget_mode, forked, sync};
use crate::error::ScriptError;
use crate::host::{self, session, Ctx, FilterArgs};
use crate::reply::ReplySink;

/// Clients in a session (their commands go to the debugger).
pub(super) static IN_SESSION: Mutex<Option<HashSet<u64>>> = Mutex::new(None);
pub(super) static SESSIONS: AtomicUsize = AtomicUsize::new(0);

/// The command the filter puts in front of a debugging client's command line.
pub const COMMAND: &[u8] = b"alt.ldb";

pub(super) fn enter_session(ctx: &Ctx, id: u64) {
    if let Ok(mut s) = IN_SESSION.lock() {
        let set = s.get_or_insert_with(HashSet::new);
        set.insert(id);
        SESSIONS.store(set.len(), Ordering::Relaxed);
    }
    learn_commands(ctx);
    host::see_all_commands(true);
    ensure_ticking(ctx);
}

pub(super) fn leave_session(id: u64) {
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
    // Every command's line passes here while a session runs: lowercased on the stack.
    let mut buf = [0u8; 64];
    let Some(lower) = buf.get_mut(..name.len()) else { return false };
    lower.copy_from_slice(name);
    lower.make_ascii_lowercase();
    let lower: &[u8] = lower;
    KNOWN.lock().ok().and_then(|k| k.as_ref().map(|k| k.contains(lower))).unwrap_or(true)
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
    if sync::owns(id) {
        sync::resume(ctx, Some(line), false);
        return Ok(());
    }
    match forked::send(ctx, id, line) {
        Ok(true) => Ok(()),
        Ok(false) => Err(not_a_command(&argv.iter().skip(1).map(|a| a.to_vec()).collect::<Vec<_>>())),
        Err(e) => Err(e),
    }
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
pub(super) fn reply(ctx: &mut Ctx, message: &Message, client: u64, parked: bool) {
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

/// A client went away: its mode is forgotten; its session ends (a child is killed; a paused
/// SYNC run goes on without stops, as natively when the client closes).
pub fn client_gone(ctx: &Ctx, id: u64) {
    forget_mode(id);
    if !in_session(id) {
        return;
    }
    leave_session(id);
    forked::client_gone(id);
    if sync::owns(id) {
        // The rest of the run goes on now, without stops, as natively: this context's
        // client is the one going away (the host fires the event before it unlinks it), so
        // the commands still run as its user, in its database.
        let mut c = *ctx;
        sync::resume(&mut c, None, true);
    }
}

static TICKING: AtomicUsize = AtomicUsize::new(0);

pub(super) fn ensure_ticking(ctx: &Ctx) {
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
    if let Some(client) = idle.and_then(sync::idle_past) {
        host::log_to_ctx(ctx, "Lua debugging session idle past alt.debug-idle-timeout: ended");
        ctx.close_client(client);
    }
    forked::housekeeping(ctx, idle);
    let busy = sync::running() || forked::running() || CLOSE_LATER.lock().ok().is_some_and(|l| !l.is_empty());
    if busy {
        session::tick_after(ctx, 100, tick);
    } else {
        TICKING.store(0, Ordering::SeqCst);
    }
}

/// SHUTDOWN: the session children go first (ldbKillForkedSessions).
pub fn shutdown() {
    forked::kill_all();
}

/// Whether a session is running (MODULE UNLOAD waits: a paused run lives in this library's
/// code).
pub fn active() -> bool {
    sync::running() || forked::running() || TICKING.load(Ordering::SeqCst) == 1
}
