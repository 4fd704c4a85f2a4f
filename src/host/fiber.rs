//! A run that pauses on the main thread: a second C stack switched to and from with
//! ucontext (the synchronous debugger stops a script mid-line, returns to the event loop,
//! and goes on when the next debugger command arrives). Everything stays on the Redis main
//! thread: the host sees ordinary command calls.

use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;

/// The stack of a paused run when the main thread's size is unknown. The fiber gets the main
/// thread's size, so that what is bounded by the C stack (pattern matching's depth) goes as
/// deep in a SYNC debugging session as in an ordinary run.
const DEFAULT_STACK_BYTES: usize = 8 << 20;

/// The main thread's stack size (called on it), within 1 MB .. 1 GB.
fn main_stack_bytes() -> usize {
    // SAFETY: pthread_getattr_np fills `attr`, destroyed after reading its size.
    let size = unsafe {
        let mut attr: libc::pthread_attr_t = std::mem::zeroed();
        if libc::pthread_getattr_np(libc::pthread_self(), &mut attr) != 0 {
            return DEFAULT_STACK_BYTES;
        }
        let mut addr = ptr::null_mut();
        let mut size = 0usize;
        let got = libc::pthread_attr_getstack(&attr, &mut addr, &mut size);
        libc::pthread_attr_destroy(&mut attr);
        if got != 0 {
            return DEFAULT_STACK_BYTES;
        }
        size
    };
    size.clamp(1 << 20, 1 << 30) & !4095
}

struct Inner {
    context: libc::ucontext_t,
    caller: libc::ucontext_t,
    entry: Option<Box<dyn FnOnce()>>,
    done: bool,
    stack: *mut libc::c_void,
    bytes: usize,
}

/// A body of code with its own stack, run in slices by `resume`.
pub struct Fiber {
    inner: Box<Inner>,
}

// SAFETY: a fiber is created, resumed and dropped on the Redis main thread only; it sits in
// a static between commands.
unsafe impl Send for Fiber {}

thread_local! {
    /// The fiber running now (set by resume, cleared when it pauses or ends).
    static RUNNING: Cell<*mut Inner> = const { Cell::new(ptr::null_mut()) };
}

impl Fiber {
    /// A fiber that will run `entry`; `None` when its stack cannot be had.
    pub fn new(entry: Box<dyn FnOnce()>) -> Option<Fiber> {
        // One guard page more than the main thread's stack.
        let bytes = main_stack_bytes() + 4096;
        // SAFETY: an anonymous private mapping; its lowest page becomes the guard.
        let stack = unsafe {
            libc::mmap(
                ptr::null_mut(),
                bytes,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE | libc::MAP_STACK,
                -1,
                0,
            )
        };
        if stack == libc::MAP_FAILED {
            return None;
        }
        // SAFETY: the first page of the mapping just made.
        unsafe { libc::mprotect(stack, 4096, libc::PROT_NONE) };
        // SAFETY: zeroed ucontext_t values are filled by getcontext/swapcontext before use.
        let mut inner = Box::new(Inner {
            context: unsafe { std::mem::zeroed() },
            caller: unsafe { std::mem::zeroed() },
            entry: Some(entry),
            done: false,
            stack,
            bytes,
        });
        // SAFETY: getcontext fills the context; makecontext points it at our stack and entry.
        unsafe {
            if libc::getcontext(&mut inner.context) != 0 {
                libc::munmap(stack, bytes);
                return None;
            }
            inner.context.uc_stack.ss_sp = stack;
            inner.context.uc_stack.ss_size = bytes;
            inner.context.uc_link = ptr::null_mut();
            libc::makecontext(&mut inner.context, start, 0);
        }
        Some(Fiber { inner })
    }

    /// Runs the fiber until it pauses or ends; true when it has ended.
    pub fn resume(&mut self) -> bool {
        if self.inner.done {
            return true;
        }
        let inner: *mut Inner = &mut *self.inner;
        let outer = RUNNING.with(|r| r.replace(inner));
        // Pattern matching bounds its recursion by the running stack: this one's, while the
        // fiber runs (128 KB above its guard page, as for a thread's stack).
        let floor = self.inner.stack as usize + 4096 + (128 << 10);
        // SAFETY: lstrlib.c's setter only swaps a thread-local value.
        let main_floor = unsafe { super::lua::lua_c::lua_alt_swap_stack_floor(floor) };
        // SAFETY: both contexts are valid: `context` was made by makecontext or saved by
        // `pause`; `caller` is saved here and resumed by `pause` or at the end.
        unsafe { libc::swapcontext(&mut (*inner).caller, &(*inner).context) };
        // SAFETY: as above.
        unsafe { super::lua::lua_c::lua_alt_swap_stack_floor(main_floor) };
        RUNNING.with(|r| r.set(outer));
        self.inner.done
    }
}

/// Pauses the running fiber: back to its `resume`, which returns false. Returns when it is
/// resumed. False (and no pause) outside a fiber.
pub fn pause() -> bool {
    let inner = RUNNING.with(Cell::get);
    if inner.is_null() {
        return false;
    }
    // SAFETY: `inner` is the fiber running on this stack; its caller context was saved by
    // the resume that is waiting.
    unsafe { libc::swapcontext(&mut (*inner).context, &(*inner).caller) };
    true
}

extern "C" fn start() {
    let inner = RUNNING.with(Cell::get);
    // SAFETY: resume set RUNNING to this fiber before switching here.
    unsafe {
        if let Some(entry) = (*inner).entry.take() {
            let _ = catch_unwind(AssertUnwindSafe(entry));
        }
        (*inner).done = true;
        libc::setcontext(&(*inner).caller);
    }
}

impl Drop for Fiber {
    fn drop(&mut self) {
        // A fiber dropped while paused leaks what its stack owns (it never ran to the end);
        // the session ends its runs before dropping them.
        // SAFETY: the mapping made in `new`, not in use (we are not running on it).
        unsafe { libc::munmap(self.inner.stack, self.inner.bytes) };
    }
}
