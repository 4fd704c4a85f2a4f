//! Values only Redis's main thread touches. Every command runs there, and so does every
//! module entry that reaches the engines and their statistics; a value behind a `MainCell` is
//! borrowed with RefCell's plain flag instead of a lock (two atomic read-modify-writes per
//! use, on every command). Any other thread is refused, never let in.

use std::cell::{Ref, RefCell, RefMut};
use std::sync::atomic::{AtomicUsize, Ordering};

/// The main thread's pthread id; 0 until `claim` (the module's load, which runs there).
static MAIN: AtomicUsize = AtomicUsize::new(0);

/// Called from OnLoad, on the main thread. A forked child (BGSAVE, a debugging session)
/// continues as the thread that forked, so it is the main thread there too.
pub fn claim() {
    MAIN.store(this_thread(), Ordering::Relaxed);
}

fn this_thread() -> usize {
    // SAFETY: pthread_self has no preconditions and cannot fail.
    unsafe { libc::pthread_self() as usize }
}

fn on_main_thread() -> bool {
    let main = MAIN.load(Ordering::Relaxed);
    main != 0 && main == this_thread()
}

/// A value for the main thread only (`None` to any other, and to a nested borrow that would
/// conflict, as RefCell's try_borrow).
pub struct MainCell<T>(RefCell<T>);

// SAFETY: the RefCell, its borrow flag included, is reached only through `borrow` and
// `borrow_mut`, which let no thread but the main one in: it is only ever used from one
// thread. Moving the value to another thread (dropping it there) needs `T: Send`.
unsafe impl<T: Send> Sync for MainCell<T> {}

impl<T> MainCell<T> {
    pub const fn new(value: T) -> MainCell<T> {
        MainCell(RefCell::new(value))
    }

    #[inline]
    pub fn borrow(&self) -> Option<Ref<'_, T>> {
        if !on_main_thread() {
            return None;
        }
        self.0.try_borrow().ok()
    }

    #[inline]
    pub fn borrow_mut(&self) -> Option<RefMut<'_, T>> {
        if !on_main_thread() {
            return None;
        }
        self.0.try_borrow_mut().ok()
    }
}

impl<T: Default> Default for MainCell<T> {
    fn default() -> MainCell<T> {
        MainCell::new(T::default())
    }
}
