//! What a debugging session needs of the process and the host: a forked child on pipes
//! (raw fork(2): RM_Fork would hold back BGSAVE, AOF rewrites and full syncs while the
//! child lives, which native LDB children never do), the pipe watched on the main event
//! loop, a client parked until the child answers, closing a client, a periodic timer, and
//! the disconnect and shutdown events.

use std::ffi::{c_int, c_void};
use std::ptr;
use std::sync::OnceLock;

use redis_module::raw;

use super::Ctx;

/// Where fork(2) left us.
pub enum Forked {
    /// The parent: the child's pid and the parent's ends of the two pipes.
    Parent {
        pid: i32,
        to_child: c_int,
        from_child: c_int,
    },
    /// The child: its ends of the pipes. Nothing else of the server's is open.
    Child {
        from_parent: c_int,
        to_parent: c_int,
    },
    Failed(String),
}

fn pipe_pair() -> Option<(c_int, c_int)> {
    let mut fds = [0 as c_int; 2];
    // SAFETY: a two-int array for pipe2.
    (unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } == 0).then_some((fds[0], fds[1]))
}

fn close(fd: c_int) {
    // SAFETY: closing a descriptor this module opened.
    unsafe { libc::close(fd) };
}

/// Forks a child for a debugging session. The child closes every descriptor but its pipe
/// ends and stdio (the listening sockets and client connections stay the parent's alone),
/// dies with the parent, and ignores SIGTERM/SIGINT as native LDB children do.
pub fn fork_session() -> Forked {
    let Some((child_in, parent_out)) = pipe_pair() else { return Forked::Failed(errno_text()) };
    let Some((parent_in, child_out)) = pipe_pair() else {
        close(child_in);
        close(parent_out);
        return Forked::Failed(errno_text());
    };
    // SAFETY: fork(2); the child only runs the session on this thread, as native LDB does.
    let parent = unsafe { libc::getpid() };
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        let e = errno_text();
        for fd in [child_in, parent_out, parent_in, child_out] {
            close(fd);
        }
        return Forked::Failed(e);
    }
    if pid > 0 {
        close(child_in);
        close(child_out);
        non_blocking(parent_out);
        return Forked::Parent { pid, to_child: parent_out, from_child: parent_in };
    }
    // The child.
    // SAFETY: prctl/signal/getppid only set or read this process's own state.
    unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
        if libc::getppid() != parent {
            libc::_exit(0);
        }
        libc::signal(libc::SIGTERM, libc::SIG_IGN);
        libc::signal(libc::SIGINT, libc::SIG_IGN);
    }
    close(parent_out);
    close(parent_in);
    close_all_but(&[child_in, child_out]);
    Forked::Child { from_parent: child_in, to_parent: child_out }
}

/// Closes every descriptor above stderr but `keep`.
fn close_all_but(keep: &[c_int]) {
    let Ok(dir) = std::fs::read_dir("/proc/self/fd") else { return };
    let fds: Vec<c_int> = dir
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse::<c_int>().ok()))
        .collect();
    for fd in fds {
        if fd > 2 && !keep.contains(&fd) {
            close(fd);
        }
    }
}

fn errno_text() -> String {
    std::io::Error::last_os_error().to_string()
}

/// Ends the child process at once (no atexit handlers, no flush of the server's state).
pub fn exit_child() -> ! {
    // SAFETY: _exit ends the process.
    unsafe { libc::_exit(0) }
}

/// SIGKILL to a session child.
pub fn kill_child(pid: i32) {
    // SAFETY: a pid this module forked.
    unsafe { libc::kill(pid, libc::SIGKILL) };
}

/// Collects an exited child; true when it is gone (also when someone else collected it).
pub fn reap(pid: i32) -> bool {
    let mut status = 0;
    // SAFETY: waitpid on our own child, without blocking.
    let r = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
    r == pid || r < 0
}

/// Writes all of `bytes`, blocking.
pub fn write_all(fd: c_int, mut bytes: &[u8]) -> bool {
    while !bytes.is_empty() {
        // SAFETY: a readable buffer of that length.
        let n = unsafe { libc::write(fd, bytes.as_ptr().cast(), bytes.len()) };
        if n < 0 {
            if std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return false;
        }
        let n = usize::try_from(n).unwrap_or(0);
        bytes = bytes.get(n..).unwrap_or_default();
    }
    true
}

/// Writes all of `bytes` to a non-blocking descriptor, waiting at most `ms` milliseconds in
/// all for room; false on an error or when the time is up.
pub fn write_all_within(fd: c_int, mut bytes: &[u8], ms: u64) -> bool {
    let deadline = std::time::Instant::now() + std::time::Duration::from_millis(ms);
    while !bytes.is_empty() {
        // SAFETY: a readable buffer of that length.
        let n = unsafe { libc::write(fd, bytes.as_ptr().cast(), bytes.len()) };
        if n >= 0 {
            bytes = bytes.get(usize::try_from(n).unwrap_or(0)..).unwrap_or_default();
            continue;
        }
        match std::io::Error::last_os_error().kind() {
            std::io::ErrorKind::Interrupted => continue,
            std::io::ErrorKind::WouldBlock => {
                let left = deadline.saturating_duration_since(std::time::Instant::now());
                if left.is_zero() {
                    return false;
                }
                let mut pfd = libc::pollfd { fd, events: libc::POLLOUT, revents: 0 };
                let wait = c_int::try_from(left.as_millis().max(1)).unwrap_or(c_int::MAX);
                // SAFETY: one pollfd.
                unsafe { libc::poll(&mut pfd, 1, wait) };
            }
            _ => return false,
        }
    }
    true
}

/// Makes a descriptor non-blocking.
fn non_blocking(fd: c_int) {
    // SAFETY: fcntl on our own descriptor.
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK);
    }
}

/// Reads exactly `len` bytes, blocking; false at end of file or on an error.
pub fn read_exact(fd: c_int, out: &mut [u8]) -> bool {
    let mut at = 0;
    while at < out.len() {
        let rest = out.get_mut(at..).unwrap_or_default();
        // SAFETY: a writable buffer of that length.
        let n = unsafe { libc::read(fd, rest.as_mut_ptr().cast(), rest.len()) };
        if n < 0 && std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
            continue;
        }
        if n <= 0 {
            return false;
        }
        at += usize::try_from(n).unwrap_or(0);
    }
    true
}

/// What a read of whatever is available gave.
pub enum Available {
    Open,
    Closed,
}

/// Appends what can be read now without blocking (the descriptor is non-blocking).
pub fn read_available(fd: c_int, out: &mut Vec<u8>) -> Available {
    let mut buf = [0u8; 16384];
    loop {
        // SAFETY: a writable buffer of that length.
        let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
        if n > 0 {
            out.extend_from_slice(buf.get(..usize::try_from(n).unwrap_or(0)).unwrap_or_default());
            continue;
        }
        if n == 0 {
            return Available::Closed;
        }
        return match std::io::Error::last_os_error().kind() {
            std::io::ErrorKind::Interrupted => continue,
            std::io::ErrorKind::WouldBlock => Available::Open,
            _ => Available::Closed,
        };
    }
}

pub fn close_fd(fd: c_int) {
    close(fd);
}

// ---------------------------------------------------------------------------------------------
// The event loop, parked clients, timers and events.

static ON_READABLE: OnceLock<fn(c_int)> = OnceLock::new();

extern "C" fn readable(fd: c_int, _data: *mut c_void, _mask: c_int) {
    if let Some(f) = ON_READABLE.get() {
        let _ = std::panic::catch_unwind(|| f(fd));
    }
}

/// Calls `on_readable(fd)` on the main thread whenever `fd` has data (or closed). The
/// descriptor is made non-blocking.
pub fn watch(fd: c_int, on_readable: fn(c_int)) -> bool {
    let _ = ON_READABLE.set(on_readable);
    non_blocking(fd);
    rm!(RedisModule_EventLoopAdd(fd, raw::REDISMODULE_EVENTLOOP_READABLE as c_int, Some(readable), ptr::null_mut())
        else raw::REDISMODULE_ERR as c_int)
        == raw::REDISMODULE_OK as c_int
}

pub fn unwatch(fd: c_int) {
    rm!(RedisModule_EventLoopDel(fd, raw::REDISMODULE_EVENTLOOP_READABLE as c_int) else 0);
}

/// A client parked until `Parked::answer`, whose message the reply callback then writes.
pub struct Parked {
    raw: *mut raw::RedisModuleBlockedClient,
}

// SAFETY: a blocked-client handle may be unblocked from any thread; ours are used on the
// main thread only.
unsafe impl Send for Parked {}

static ON_ANSWER: OnceLock<fn(&mut Ctx, &[u8])> = OnceLock::new();

extern "C" fn parked_reply(
    ctx: *mut raw::RedisModuleCtx,
    _argv: *mut *mut raw::RedisModuleString,
    _argc: c_int,
) -> c_int {
    let data = rm!(RedisModule_GetBlockedClientPrivateData(ctx) else ptr::null_mut());
    if !data.is_null() {
        // SAFETY: the private data is the Box<Vec<u8>> `answer` handed over.
        let message = unsafe { &*(data as *const Vec<u8>) };
        if let Some(f) = ON_ANSWER.get() {
            let mut c = Ctx::from_raw(ctx);
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(&mut c, message)));
        }
    }
    raw::REDISMODULE_OK as c_int
}

extern "C" fn free_message(_ctx: *mut raw::RedisModuleCtx, data: *mut c_void) {
    if !data.is_null() {
        // SAFETY: the Box<Vec<u8>> given to RM_UnblockClient, freed once here.
        drop(unsafe { Box::from_raw(data.cast::<Vec<u8>>()) });
    }
}

impl Ctx {
    /// Parks the calling client (no timeout); `None` where blocking is refused. The reply
    /// callback `on_answer` writes the message given to `Parked::answer`.
    pub fn park(&self, on_answer: fn(&mut Ctx, &[u8])) -> Option<Parked> {
        let _ = ON_ANSWER.set(on_answer);
        if self.flags().deny_blocking() {
            return None;
        }
        let bc = rm!(RedisModule_BlockClient(self.raw, Some(parked_reply), None, Some(free_message), 0)
            else ptr::null_mut());
        (!bc.is_null()).then_some(Parked { raw: bc })
    }

    /// The calling client's id.
    pub fn client_id(&self) -> u64 {
        rm!(RedisModule_GetClientId(self.raw) else 0)
    }

    /// Closes a client's connection once what it was sent is written (its current command's
    /// replies included).
    pub fn close_client(&self, id: u64) {
        rm!(RedisModule_DeauthenticateAndCloseClient(self.raw, id) else 0);
    }

    /// Whether replies to the calling client's earlier commands are still waiting to be
    /// written (clientHasPendingReplies: it pipelined this command behind others). Read from
    /// its CLIENT LIST line (`obl`, `oll`), the one place the Module API shows them.
    pub fn has_pending_replies(&self) -> bool {
        let id = self.client_id().to_string();
        let Some(reply) = self.call(c"CLIENT", c"vE", &[b"LIST", b"ID", id.as_bytes()]) else { return false };
        let line = match reply.root().kind() {
            super::ReplyKind::Bulk(b) | super::ReplyKind::Verbatim(b, _) => b.to_vec(),
            _ => return false,
        };
        let field = |name: &[u8]| {
            line.split(|&b| b == b' ' || b == b'\n')
                .find_map(|f| f.strip_prefix(name))
                .and_then(|v| std::str::from_utf8(v).ok()?.trim().parse::<u64>().ok())
                .unwrap_or(0)
        };
        field(b"obl=") > 0 || field(b"oll=") > 0
    }

    /// Whether the calling client is a TLS connection.
    pub fn client_is_tls(&self) -> bool {
        let mut info: raw::RedisModuleClientInfo = unsafe_zeroed();
        info.version = 1;
        let ok = rm!(RedisModule_GetClientInfoById((&mut info as *mut raw::RedisModuleClientInfo).cast(), self.client_id())
            else raw::REDISMODULE_ERR as c_int);
        ok == raw::REDISMODULE_OK as c_int && info.flags & u64::from(raw::REDISMODULE_CLIENTINFO_FLAG_SSL) != 0
    }
}

fn unsafe_zeroed<T: Copy>() -> T {
    // SAFETY: used for plain C structs whose all-zero value is valid.
    unsafe { std::mem::zeroed() }
}

impl Parked {
    /// Wakes the client; its reply callback gets `message`.
    pub fn answer(self, message: Vec<u8>) {
        let data = Box::into_raw(Box::new(message));
        rm!(RedisModule_UnblockClient(self.raw, data.cast()) else 0);
    }
}

extern "C" fn tick(ctx: *mut raw::RedisModuleCtx, data: *mut c_void) {
    if data.is_null() {
        return;
    }
    // SAFETY: `data` is the fn pointer `tick_after` was given.
    let f: fn(&Ctx) = unsafe { std::mem::transmute::<*mut c_void, fn(&Ctx)>(data) };
    let c = Ctx::from_raw(ctx);
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(&c)));
}

/// Calls `on_tick` once after `ms` milliseconds on the main thread.
pub fn tick_after(ctx: &Ctx, ms: i64, on_tick: fn(&Ctx)) {
    rm!(RedisModule_CreateTimer(ctx.raw, ms, Some(tick), on_tick as *mut c_void) else 0);
}

static ON_CLIENT_GONE: OnceLock<fn(&Ctx, u64)> = OnceLock::new();
static ON_SHUTDOWN: OnceLock<fn()> = OnceLock::new();

extern "C" fn client_change(ctx: *mut raw::RedisModuleCtx, _e: raw::RedisModuleEvent, sub: u64, data: *mut c_void) {
    if sub != raw::REDISMODULE_SUBEVENT_CLIENT_CHANGE_DISCONNECTED || data.is_null() {
        return;
    }
    // SAFETY: the host passes a RedisModuleClientInfo for this event.
    let id = unsafe { (*(data as *const raw::RedisModuleClientInfo)).id };
    if let Some(f) = ON_CLIENT_GONE.get() {
        let c = Ctx::from_raw(ctx);
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(&c, id)));
    }
}

extern "C" fn shutdown(_ctx: *mut raw::RedisModuleCtx, _e: raw::RedisModuleEvent, _sub: u64, _data: *mut c_void) {
    if let Some(f) = ON_SHUTDOWN.get() {
        let _ = std::panic::catch_unwind(f);
    }
}

/// Subscribes to client disconnections and server shutdown.
pub fn subscribe_session_events(
    ctx: *mut raw::RedisModuleCtx,
    on_client_gone: fn(&Ctx, u64),
    on_shutdown: fn(),
) -> bool {
    let _ = ON_CLIENT_GONE.set(on_client_gone);
    let _ = ON_SHUTDOWN.set(on_shutdown);
    let client = raw::RedisModuleEvent { id: raw::REDISMODULE_EVENT_CLIENT_CHANGE, dataver: 1 };
    let down = raw::RedisModuleEvent { id: raw::REDISMODULE_EVENT_SHUTDOWN, dataver: 1 };
    let ok = raw::REDISMODULE_OK as c_int;
    rm!(RedisModule_SubscribeToServerEvent(ctx, client, Some(client_change)) else raw::REDISMODULE_ERR as c_int) == ok
        && rm!(RedisModule_SubscribeToServerEvent(ctx, down, Some(shutdown)) else raw::REDISMODULE_ERR as c_int) == ok
}
