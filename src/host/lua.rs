//! The raw Lua C-API: what build.rs adds to Lua 5.1.5 (read-only tables, strings written in
//! place, the memory and pattern hooks), and the C functions of the binding (pcall, the
//! raising wrapper of the Rust callbacks, redis.call's trampoline, the run entry, KEYS/ARGV
//! and flat arrays built on the stack). With `mod.rs`, the only place with `unsafe`.
#![allow(unsafe_code)]

use super::*;
use crate::resp::{self, Item};

pub(super) mod lua_c {
    use std::ffi::c_int;

    use mlua::ffi::lua_State;

    unsafe extern "C" {
        pub fn lua_enablereadonlytable(state: *mut lua_State, index: c_int, enabled: c_int);
        pub fn lua_isreadonlytable(state: *mut lua_State, index: c_int) -> c_int;
        /// 1 if the value at `index` is a table with a hash part (build.rs patch of ltable.c).
        pub fn lua_alt_hashpart(state: *mut lua_State, index: c_int) -> c_int;
        /// The value at stack index `idx` in one call: its type, and a string's bytes, a
        /// number, a boolean's truth or whether a light userdata is NULL (build.rs patch of
        /// lapi.c).
        pub fn lua_alt_value_at(
            state: *mut lua_State,
            idx: c_int,
            s: *mut *const std::ffi::c_char,
            len: *mut usize,
            num: *mut mlua::ffi::lua_Number,
        ) -> c_int;
        /// Upvalue 1 of the running C function when it is a light userdata, or null (build.rs
        /// patch of lapi.c).
        pub fn lua_alt_upvalue_pointer(state: *mut lua_State) -> *mut std::ffi::c_void;
        /// lua_checkstack that returns 0 instead of raising (build.rs patch of lapi.c).
        pub fn lua_alt_checkstack(state: *mut lua_State, size: c_int) -> c_int;
        /// registry[a], registry[b], registry[c] pushed in one call (build.rs patch of lapi.c).
        pub fn lua_alt_push_refs(state: *mut lua_State, a: c_int, b: c_int, c: c_int);
        /// lua_pcall of the function on top of the stack with the arguments `fill(state, ud)`
        /// pushes above it, in one protected call (`fill` raises memory errors at most)
        /// (build.rs patch of lapi.c).
        pub fn lua_alt_pcall_filled(
            state: *mut lua_State,
            nresults: c_int,
            errfunc: c_int,
            fill: unsafe extern "C-unwind" fn(*mut lua_State, *mut std::ffi::c_void),
            ud: *mut std::ffi::c_void,
        ) -> c_int;
        /// `t[n] = s` for the table `t` on top of the stack, as lua_pushlstring + lua_rawseti
        /// (build.rs patch of lapi.c).
        pub fn lua_alt_seti_string(state: *mut lua_State, n: c_int, s: *const std::ffi::c_char, len: usize);
        /// Element `n` of the table at `idx`, read where it lies: its type, and a string's
        /// bytes, a number or a boolean's truth (build.rs patch of lapi.c).
        pub fn lua_alt_array_item(
            state: *mut lua_State,
            idx: c_int,
            n: c_int,
            s: *mut *const std::ffi::c_char,
            len: *mut usize,
            num: *mut mlua::ffi::lua_Number,
        ) -> c_int;
        /// The string at `idx` (1..top), unconverted, or null (build.rs patch of lapi.c).
        pub fn lua_alt_string_at(state: *mut lua_State, idx: c_int, len: *mut usize) -> *const std::ffi::c_char;
        /// lua_isnumber + lua_tonumber of `idx` (1..top) in one step: 1 and `*n`, or 0
        /// (build.rs patch of lapi.c).
        pub fn lua_alt_number_at(state: *mut lua_State, idx: c_int, n: *mut mlua::ffi::lua_Number) -> c_int;
        /// Clears the table at `index` into a new `lua_createtable(size, 0)` table if that
        /// needs no allocation: 1, or 0 having changed nothing (build.rs patch of lapi.c).
        pub fn lua_alt_reuse_array(state: *mut lua_State, index: c_int, size: c_int) -> c_int;
        /// How many results the caller of the running C function takes (-1: all; 0: the call
        /// is a statement) (build.rs patch of lapi.c).
        pub fn lua_alt_wanted(state: *mut lua_State) -> c_int;
        /// Polled by the pattern matcher (build.rs patch of lstrlib.c).
        pub static mut lua_alt_match_interrupt: Option<unsafe extern "C" fn() -> c_int>;
        /// Sets this thread's floor for pattern matching (lstrlib.c); returns the old one.
        pub fn lua_alt_swap_stack_floor(floor: usize) -> usize;
        /// Called before Lua raises a memory error (build.rs patch of lmem.c).
        pub static mut lua_alt_memory_error: Option<unsafe extern "C" fn(*mut lua_State)>;
        /// Asked by string.rep before it builds its result (build.rs patch of lstrlib.c).
        pub static mut lua_alt_memory_room: Option<unsafe extern "C" fn(usize, usize) -> c_int>;
        /// Strings written in place (build.rs patches of lstring.c and lapi.c).
        pub fn lua_alt_strbuf(state: *mut lua_State, data: *mut u8, ocap: usize, ncap: usize) -> *mut u8;
    }
}

/// An encoder's output, written in place into the block (from the VM's allocator, counted in
/// its memory and held to its limit) that becomes the Lua string at the end: no second copy
/// of a large result. Grows only through `try_grow`; writes beyond the capacity grow it too,
/// and if that fails the buffer is marked failed and `Call::push_buffer` (which makes the
/// block the string, see `into_block`) reports a memory error.
pub struct LuaBuf {
    state: *mut mlua::ffi::lua_State,
    /// The block, or null while the output fits in `inline`.
    data: *mut u8,
    len: usize,
    cap: usize,
    failed: bool,
    /// Small outputs stay here (as C's luaL_Buffer keeps them on the C stack) and become
    /// the string by a plain copy: no block to allocate, shrink and adopt. Its first `len`
    /// bytes are written (while `data` is null); the rest is never read.
    inline: std::mem::MaybeUninit<[u8; INLINE]>,
}

const INLINE: usize = 128;

/// A buffer's finished bytes (see `LuaBuf::finish`).
pub(super) enum Finished<'a> {
    /// Small: copied into the string.
    Bytes(&'a [u8]),
    /// A block of exactly `len` bytes, to be adopted by lua_alt_pushadopted.
    Block(*mut u8, usize),
}

impl LuaBuf {
    /// An empty buffer of the thread `state` (a raw library function's, see host::Call).
    pub(super) fn for_state(state: *mut mlua::ffi::lua_State) -> LuaBuf {
        LuaBuf {
            state,
            data: ptr::null_mut(),
            len: 0,
            cap: INLINE,
            failed: false,
            inline: std::mem::MaybeUninit::uninit(),
        }
    }

    /// The output: inline bytes, or the block shrunk to its length and handed over (its
    /// receiver must make it a string with lua_alt_pushadopted).
    pub(super) fn finish(&mut self) -> mlua::Result<Finished<'_>> {
        if self.failed {
            return Err(mlua::Error::MemoryError("not enough memory".into()));
        }
        if self.data.is_null() {
            // SAFETY: while there is no block, the first `len` (<= INLINE) inline bytes are
            // written.
            let bytes = unsafe { std::slice::from_raw_parts(self.inline.as_ptr().cast::<u8>(), self.len.min(INLINE)) };
            return Ok(Finished::Bytes(bytes));
        }
        if self.len < self.cap {
            // SAFETY: shrinking this VM's block; never raises.
            let shrunk = unsafe { lua_c::lua_alt_strbuf(self.state, self.data, self.cap, self.len) };
            if !shrunk.is_null() {
                self.data = shrunk;
                self.cap = self.len;
            }
        }
        if self.len < self.cap {
            // Cannot shrink in place: a block of the exact size, copied.
            // SAFETY: a new block of this VM; never raises.
            let exact = unsafe { lua_c::lua_alt_strbuf(self.state, ptr::null_mut(), 0, self.len) };
            if exact.is_null() {
                return Err(mlua::Error::MemoryError("not enough memory".into()));
            }
            // SAFETY: both blocks hold at least `len` bytes and are distinct.
            unsafe { ptr::copy_nonoverlapping(self.data, exact, self.len) };
            // SAFETY: the old block is this VM's, not handed over.
            unsafe { lua_c::lua_alt_strbuf(self.state, self.data, self.cap, 0) };
            self.data = exact;
            self.cap = self.len;
        }
        let block = Finished::Block(self.data, self.len);
        self.data = ptr::null_mut();
        self.cap = 0;
        self.len = 0;
        Ok(block)
    }

    /// The bytes the buffer's VM holds (lua_gc's count; what `Lua::used_memory` reports).
    pub fn vm_bytes(&self) -> usize {
        // SAFETY: the buffer's thread is alive while the buffer is (see `new`); reading the
        // GC count never raises.
        let (kb, bytes) = unsafe {
            (
                mlua::ffi::lua_gc(self.state, mlua::ffi::LUA_GCCOUNT, 0),
                mlua::ffi::lua_gc(self.state, mlua::ffi::LUA_GCCOUNTB, 0),
            )
        };
        usize::try_from(kb).unwrap_or(0).saturating_mul(1024).saturating_add(usize::try_from(bytes).unwrap_or(0))
    }

    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    #[inline]
    pub fn capacity(&self) -> usize {
        self.cap
    }

    /// Grows the capacity to `cap` bytes; false (and no change) if the allocator refuses.
    pub fn try_grow(&mut self, cap: usize) -> bool {
        if cap <= self.cap {
            return true;
        }
        if self.data.is_null() {
            // From the inline bytes to a block.
            // SAFETY: a new block of this VM; the call never raises.
            let block = unsafe { lua_c::lua_alt_strbuf(self.state, ptr::null_mut(), 0, cap) };
            if block.is_null() {
                return false;
            }
            // SAFETY: the block holds `cap` > len bytes; the inline bytes are distinct.
            unsafe { ptr::copy_nonoverlapping(self.inline.as_ptr().cast::<u8>(), block, self.len.min(INLINE)) };
            self.data = block;
            self.cap = cap;
            return true;
        }
        // SAFETY: `data` is this VM's block of `self.cap` bytes; the call never raises.
        let grown = unsafe { lua_c::lua_alt_strbuf(self.state, self.data, self.cap, cap) };
        if grown.is_null() {
            return false;
        }
        self.data = grown;
        self.cap = cap;
        true
    }

    #[inline]
    fn room_for(&mut self, n: usize) -> bool {
        let want = self.len.saturating_add(n);
        if want <= self.cap && !self.failed {
            return true;
        }
        self.grow_for(want)
    }

    #[cold]
    fn grow_for(&mut self, want: usize) -> bool {
        if self.failed {
            return false;
        }
        if want <= self.cap || self.try_grow(want.max(self.cap.saturating_mul(2)).max(64)) || self.try_grow(want) {
            return true;
        }
        self.failed = true;
        false
    }

    /// Where the next byte goes (room_for checked).
    #[inline]
    fn end(&mut self) -> *mut u8 {
        let base = if self.data.is_null() { self.inline.as_mut_ptr().cast::<u8>() } else { self.data };
        // SAFETY: len <= cap, the size of the storage in use.
        unsafe { base.add(self.len) }
    }

    #[inline]
    pub fn push(&mut self, byte: u8) {
        if self.room_for(1) {
            // SAFETY: room_for made len < cap.
            unsafe { *self.end() = byte };
            self.len += 1;
        }
    }

    #[inline]
    pub fn extend_from_slice(&mut self, bytes: &[u8]) {
        if !bytes.is_empty() && self.room_for(bytes.len()) {
            // SAFETY: room_for made len + bytes.len() <= cap; the source is another allocation.
            unsafe { ptr::copy_nonoverlapping(bytes.as_ptr(), self.end(), bytes.len()) };
            self.len += bytes.len();
        }
    }

    /// Appends `n` copies of `byte`.
    pub fn fill(&mut self, byte: u8, n: usize) {
        if n > 0 && self.room_for(n) {
            // SAFETY: as in extend_from_slice.
            unsafe { ptr::write_bytes(self.end(), byte, n) };
            self.len += n;
        }
    }
}

impl Drop for LuaBuf {
    fn drop(&mut self) {
        if !self.data.is_null() {
            // SAFETY: the block is this VM's and not handed to a string; freeing never raises.
            unsafe { lua_c::lua_alt_strbuf(self.state, self.data, self.cap, 0) };
        }
    }
}

static MATCH_INTERRUPT: std::sync::Mutex<Option<fn() -> bool>> = std::sync::Mutex::new(None);

/// Lets a long-running pattern match be interrupted: `check` runs every 65536 match steps
/// (it may serve other clients, as the VM hook does) and returns true to kill the script.
pub fn set_match_interrupt(check: fn() -> bool) {
    if let Ok(mut slot) = MATCH_INTERRUPT.lock() {
        *slot = Some(check);
    }
    // SAFETY: written on the main thread at load, read only by Lua code running on it.
    unsafe { lua_c::lua_alt_match_interrupt = Some(match_interrupt) };
}

unsafe extern "C" fn match_interrupt() -> c_int {
    let check = MATCH_INTERRUPT.lock().ok().and_then(|c| *c);
    let kill = check.is_some_and(|check| catch_unwind(check).unwrap_or(false));
    c_int::from(kill)
}

/// A VM's main Lua thread, remembered so that a hook running inside a coroutine can re-arm
/// the main thread too (Lua 5.1 has no way to reach it from another thread).
#[derive(Clone, Copy)]
pub struct MainThread(usize);

/// The main thread of `lua`; call it outside any callback (the current thread is then the
/// main one).
pub fn main_thread(lua: &mlua::Lua) -> mlua::Result<MainThread> {
    let mut main = 0usize;
    // SAFETY: exec_raw runs the closure on the VM's current thread, which outside a callback
    // is its main thread; lua_pushthread tells (1 for the main thread) and its push is
    // dropped by exec_raw's stack guard.
    unsafe {
        lua.exec_raw::<()>((), |state| {
            if mlua::ffi::lua_pushthread(state) == 1 {
                main = state as usize;
            }
        })?;
    }
    if main == 0 {
        return Err(mlua::Error::RuntimeError("not on the main Lua thread".into()));
    }
    Ok(MainThread(main))
}

impl MainThread {
    pub fn addr(self) -> usize {
        self.0
    }
}

/// The bytes a VM holds (lua_gc's COUNT and COUNTB, what native reports as used_memory_lua),
/// read through its main thread: call it only while that VM is alive (it may be running a
/// script: this only reads the global state's byte total).
pub fn vm_bytes(main: MainThread) -> u64 {
    let state = main.0 as *mut mlua::ffi::lua_State;
    // SAFETY: a MainThread is the main thread of a VM that its holder keeps alive.
    let (kb, bytes) = unsafe {
        (mlua::ffi::lua_gc(state, mlua::ffi::LUA_GCCOUNT, 0), mlua::ffi::lua_gc(state, mlua::ffi::LUA_GCCOUNTB, 0))
    };
    (kb.max(0) as u64) * 1024 + bytes.max(0) as u64
}

/// Switches the main thread's hook (the procedure it already has) to fire at every line, so
/// that coroutines it creates from now on inherit the line hook: after a kill, no coroutine
/// gets another 100,000 instructions before the kill reaches it.
pub fn every_line_on(main: MainThread) {
    let state = main.0 as *mut mlua::ffi::lua_State;
    // SAFETY: the pointer is the main thread of a VM that owns the hook calling this, so it is
    // alive; lua_gethook/lua_sethook only read and set the thread's hook fields (valid on a
    // thread that is not the one running, as the main thread is while a coroutine runs).
    unsafe {
        let hook = mlua::ffi::lua_gethook(state);
        if hook.is_some() {
            mlua::ffi::lua_sethook(state, hook, mlua::ffi::LUA_MASKLINE, 0);
        }
    }
}

/// Whether the main thread's hook fires at every line (after a kill or a memory error).
pub fn hook_fires_every_line(main: MainThread) -> bool {
    let state = main.0 as *mut mlua::ffi::lua_State;
    // SAFETY: the main thread of a live VM; lua_gethookmask only reads a field.
    unsafe { mlua::ffi::lua_gethookmask(state) & mlua::ffi::LUA_MASKLINE != 0 }
}

static MEMORY_ERROR: std::sync::Mutex<Option<fn() -> bool>> = std::sync::Mutex::new(None);

/// Tells `note` of every failed Lua allocation (any VM). When it returns true (a limit ended
/// the run) the failing thread's hook fires from then on at every line, so that the run
/// ends even if the script catches the error.
pub fn set_memory_error_hook(note: fn() -> bool) {
    if let Ok(mut slot) = MEMORY_ERROR.lock() {
        *slot = Some(note);
    }
    // SAFETY: written on the main thread at load, read only by Lua code running on it.
    unsafe {
        lua_c::lua_alt_memory_error = Some(memory_error);
        lua_c::lua_alt_memory_room = Some(memory_room);
    }
}

/// May a VM that uses `used` bytes allocate `need` more within `alt.script-memory-limit`?
/// When not, the failure is noted as a memory error (see `memory_error`).
unsafe extern "C" fn memory_room(used: usize, need: usize) -> c_int {
    let limit = crate::config::script_memory_limit();
    let fits = limit == 0 || used.saturating_add(need) <= limit;
    if !fits {
        let note = MEMORY_ERROR.try_lock().ok().and_then(|n| *n);
        let _ = note.is_some_and(|note| catch_unwind(note).unwrap_or(false));
    }
    c_int::from(fits)
}

/// Gives the process's free heap pages back to the system at once, after a script hit the
/// memory limit: the VM's freed blocks would otherwise stay resident until the allocator's
/// own decay (jemalloc's, about 10 s, when the host's malloc is jemalloc; glibc's never).
/// Main thread only.
pub fn release_free_heap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free memory of glibc's arenas to the kernel.
    unsafe {
        libc::malloc_trim(0);
    }
    let ctx = DETACHED.load(Ordering::SeqCst);
    if !ctx.is_null() {
        // MEMORY PURGE: the host's jemalloc purge (a no-op reply on other allocators).
        let reply = Ctx::from_raw(ctx).call(c"MEMORY", c"v", &[b"PURGE"]);
        drop(reply);
    }
}

unsafe extern "C" fn memory_error(state: *mut mlua::ffi::lua_State) {
    let note = MEMORY_ERROR.try_lock().ok().and_then(|n| *n);
    let fatal = note.is_some_and(|note| catch_unwind(note).unwrap_or(false));
    if fatal {
        // SAFETY: `state` is the thread whose allocation failed, alive for this call;
        // lua_gethook/lua_sethook only read and set its hook fields.
        unsafe {
            let hook = mlua::ffi::lua_gethook(state);
            if hook.is_some() {
                mlua::ffi::lua_sethook(state, hook, mlua::ffi::LUA_MASKLINE, 0);
            }
        }
    }
}

/// Marks a table read-only (or writable again): every write to it, raw or not, and every
/// setmetatable on it then raises `Attempt to modify a readonly table`.
pub fn set_table_readonly(lua: &mlua::Lua, table: &mlua::Table, readonly: bool) -> mlua::Result<()> {
    // SAFETY: exec_raw pushes `table` and runs the closure in protected mode; index -1 is
    // that table, and the function only flips a flag on it.
    unsafe { lua.exec_raw::<()>(table, |state| lua_c::lua_enablereadonlytable(state, -1, c_int::from(readonly))) }
}

pub fn table_is_readonly(lua: &mlua::Lua, table: &mlua::Table) -> mlua::Result<bool> {
    // SAFETY: as above; the function only reads the flag.
    unsafe {
        let mut readonly = false;
        lua.exec_raw::<()>(table, |state| readonly = lua_c::lua_isreadonlytable(state, -1) != 0)?;
        Ok(readonly)
    }
}

/// Mark the values a callback returns in place of raising (see `raising_function`): raise
/// the stashed value as it is, or with the caller's position.
static RAISE_MARK: u8 = 0;
static RAISE_HERE_MARK: u8 = 0;

/// Where the value to raise waits, in the registry (one at a time: it is raised at once).
const RAISE_SLOT: &CStr = c"redis-alt raise";

/// Stores `value` for the C wrapper to raise and returns the mark the callback returns after
/// a nil: `(nil, mark)`, which no function of the binding returns otherwise.
pub fn stash_raised(lua: &mlua::Lua, value: mlua::Value, with_position: bool) -> mlua::Result<mlua::LightUserData> {
    // SAFETY: exec_raw pushes `value`; lua_setfield pops it into the registry (a plain table
    // without metamethods: no Lua code runs).
    unsafe {
        lua.exec_raw::<()>(value, |state| {
            mlua::ffi::lua_setfield(state, mlua::ffi::LUA_REGISTRYINDEX, RAISE_SLOT.as_ptr())
        })?;
    }
    let mark = if with_position { &RAISE_HERE_MARK } else { &RAISE_MARK };
    Ok(mlua::LightUserData(std::ptr::from_ref(mark).cast_mut().cast()))
}

/// Wraps `inner` (an mlua callback) into the C function scripts see, which raises errors the
/// way Redis's C functions do: when `inner` returns `(nil, mark)` (see `stash_raised`), the
/// C function raises the stashed value itself with lua_error, a string prefixed with the
/// caller's position for the position mark (luaL_error's luaL_where(L, 1)). So scripts get
/// plain Lua strings and tables as error values (mlua would raise its own userdata), and the
/// position is that of the Lua code calling the C function, as natively.
pub fn raising_function(lua: &mlua::Lua, inner: &mlua::Function) -> mlua::Result<mlua::Function> {
    // SAFETY: exec_raw pushes `inner`; the closure makes it the upvalue of a C closure, which
    // is left on the stack as the result.
    unsafe { lua.exec_raw::<mlua::Function>(inner, |state| mlua::ffi::lua_pushcclosure(state, raising_trampoline, 1)) }
}

/// The body of every `raising_function`. It holds no Rust values that need dropping, so the
/// longjmp of a Lua error may pass through it.
unsafe extern "C-unwind" fn raising_trampoline(state: *mut mlua::ffi::lua_State) -> c_int {
    use mlua::ffi;
    // SAFETY: a C function called by Lua with a valid state; upvalue 1 is the callback. Lua
    // guarantees LUA_MINSTACK (20) free slots beyond the arguments, and a callback that
    // returns many values grows the stack itself; at most two are pushed after the call.
    unsafe {
        let nargs = ffi::lua_gettop(state);
        ffi::lua_pushvalue(state, ffi::lua_upvalueindex(1));
        ffi::lua_insert(state, 1);
        ffi::lua_call(state, nargs, ffi::LUA_MULTRET);
        let n = ffi::lua_gettop(state);
        if n == 2 && ffi::lua_isnil(state, 1) != 0 && ffi::lua_type(state, 2) == ffi::LUA_TLIGHTUSERDATA {
            let mark = ffi::lua_touserdata(state, 2).cast_const().cast::<u8>();
            let here = std::ptr::eq(mark, &RAISE_HERE_MARK);
            if here || std::ptr::eq(mark, &RAISE_MARK) {
                ffi::lua_settop(state, 0);
                if here {
                    ffi::luaL_where(state, 1);
                }
                ffi::lua_getfield(state, ffi::LUA_REGISTRYINDEX, RAISE_SLOT.as_ptr());
                ffi::lua_pushnil(state);
                ffi::lua_setfield(state, ffi::LUA_REGISTRYINDEX, RAISE_SLOT.as_ptr());
                if here {
                    ffi::lua_concat(state, 2);
                }
                ffi::lua_error(state);
            }
        }
        n
    }
}

/// Redis's `pcall` (script_lua.c luaRedisPcall), a C function: Lua's pcall, except that an
/// error table with a string (or number) `err` comes back as that `err`. A table without
/// one comes back with the nil its lookup left (three results, as natively). No Lua frame
/// stands between the caller and the function it calls, so `error(msg, 2)` levels and hooks
/// see what they see natively. `errtext` (upvalue) turns an error of the binding itself
/// (mlua's userdata, from a hook) into its text.
pub fn pcall_function(lua: &mlua::Lua, errtext: &mlua::Function) -> mlua::Result<mlua::Function> {
    // SAFETY: as in `raising_function`.
    unsafe { lua.exec_raw::<mlua::Function>(errtext, |state| mlua::ffi::lua_pushcclosure(state, redis_pcall, 1)) }
}

unsafe extern "C-unwind" fn redis_pcall(state: *mut mlua::ffi::lua_State) -> c_int {
    use mlua::ffi;
    // SAFETY: a C function called by Lua with a valid state and LUA_MINSTACK free slots; at
    // most three are pushed at a time; nothing here has a destructor.
    unsafe {
        let argc = ffi::lua_gettop(state);
        if argc == 0 {
            // Natively the placeholder `true` is what gets called.
            ffi::lua_pushboolean(state, 0);
            ffi::lua_pushstring(state, c"attempt to call a boolean value".as_ptr());
            return 2;
        }
        ffi::lua_pushboolean(state, 1);
        ffi::lua_insert(state, 1);
        if ffi::lua_pcall(state, argc - 1, ffi::LUA_MULTRET, 0) != 0 {
            ffi::lua_remove(state, 1);
            if ffi::lua_type(state, -1) == ffi::LUA_TUSERDATA {
                ffi::lua_pushvalue(state, ffi::lua_upvalueindex(1));
                ffi::lua_pushvalue(state, -2);
                ffi::lua_call(state, 1, 1);
                if ffi::lua_type(state, -1) == ffi::LUA_TSTRING {
                    ffi::lua_replace(state, -2);
                } else {
                    ffi::lua_pop(state, 1);
                }
            }
            if ffi::lua_istable(state, -1) != 0 {
                ffi::lua_getfield(state, -1, c"err".as_ptr());
                if ffi::lua_isstring(state, -1) != 0 {
                    ffi::lua_replace(state, -2);
                }
            }
            ffi::lua_pushboolean(state, 0);
            ffi::lua_insert(state, 1);
        }
        ffi::lua_gettop(state)
    }
}

/// Wraps `pcall_like` (which returns a command's reply, error replies as `{err=...}` tables)
/// into the `redis.call` (`raise` true) or `redis.pcall` C function scripts see.
///
/// `redis.call` raises those tables as the error object, as native does; being a C frame
/// between the script and the Rust callback, it also makes error positions resolve to the
/// script's line exactly as Redis's C `redis.call` does. Many arguments (an `unpack` of
/// thousands) are handed over packed in one table (`packed_args`), since the binding's
/// per-argument handling has a smaller limit than Lua's stack.
pub fn command_function(lua: &mlua::Lua, pcall_like: &mlua::Function, raise: bool) -> mlua::Result<mlua::Function> {
    use mlua::ffi;
    // SAFETY: exec_raw pushes `pcall_like` and `raise`; the closure makes them the upvalues of
    // a C closure, which is left on the stack as the result.
    unsafe {
        lua.exec_raw::<mlua::Function>((pcall_like, raise), |state| ffi::lua_pushcclosure(state, command_trampoline, 2))
    }
}

/// Arguments beyond this many are passed packed in a table.
const PACK_ABOVE: c_int = 64;

/// Marks a packed call: `(PACKED, args_table, count)`.
static PACKED_MARK: u8 = 0;

/// The light userdata that marks a packed argument list.
pub fn packed_mark() -> *mut c_void {
    std::ptr::addr_of!(PACKED_MARK).cast_mut().cast()
}

/// Marks a call the trampoline already ran (see `push_direct`): the callback only converts
/// the outcome the runner left.
static PREPARED_MARK: u8 = 0;

pub fn prepared_mark() -> *mut c_void {
    std::ptr::addr_of!(PREPARED_MARK).cast_mut().cast()
}

/// Arguments of a direct call kept on the trampoline's stack; more (up to PACK_ABOVE) take
/// two small allocations.
const INLINE_ARGS: usize = 8;

/// The common case of `redis.call`: one to PACK_ABOVE arguments, all strings or numbers.
/// Runs the command line read straight off the Lua stack (strings borrowed where they lie,
/// numbers as `%.17g`, luaArgsToRedisArgv) with no Lua value crossing into Rust and no
/// copy; None, having run nothing, for anything else (errors included): the general path
/// takes it. The arguments stay on the stack until the command has run.
///
/// # Safety
/// `state` is the running Lua state with `nargs` arguments on its stack.
unsafe fn call_direct(state: *mut mlua::ffi::lua_State, nargs: c_int) -> Option<Direct> {
    let direct = DIRECT_CALL.get().copied()?;
    let n = usize::try_from(nargs).ok().filter(|n| (1..=PACK_ABOVE as usize).contains(n))?;
    // Nothing below calls into Lua in a way that can raise: lua_tolstring on a string and
    // lua_tonumber do not allocate. A panic reading the arguments is caught here (the general
    // path then runs the call); one once the command may have run, in run_direct.
    catch_unwind(AssertUnwindSafe(|| {
        if n <= INLINE_ARGS {
            // Mostly strings only: then no slots for numbers to set up (and drop), and only
            // the slots used are written.
            let mut strings = [std::mem::MaybeUninit::<&[u8]>::uninit(); INLINE_ARGS];
            // SAFETY: as this function's.
            if let Some((name, rest)) = unsafe { read_strings(state, strings.get_mut(..n)?) } {
                return Some(run_direct(direct, name, &Argv::borrowing(rest)));
            }
            let mut args: [&[u8]; INLINE_ARGS] = [&[]; INLINE_ARGS];
            let mut numbers: [Option<crate::lua::number::NumText>; INLINE_ARGS] = Default::default();
            // SAFETY: as this function's.
            let (name, rest) = unsafe { read_args(state, numbers.get_mut(..n)?, args.get_mut(..n)?)? };
            let argv = Argv::borrowing(rest);
            Some(run_direct(direct, name, &argv))
        } else {
            let mut numbers: Vec<Option<crate::lua::number::NumText>> =
                std::iter::repeat_with(|| None).take(n).collect();
            let mut args: Vec<&[u8]> = vec![&[]; n];
            // SAFETY: as this function's.
            let (name, rest) = unsafe { read_args(state, &mut numbers, &mut args)? };
            let argv = Argv::borrowing(rest);
            Some(run_direct(direct, name, &argv))
        }
    }))
    .ok()
    .flatten()
}

/// Runs the command line; a panic once it may have run gives `Deferred` (the callback then
/// reports the lost outcome), never a second run by the general path.
fn run_direct(direct: DirectCall, name: &[u8], rest: &Argv<'_>) -> Direct {
    catch_unwind(AssertUnwindSafe(|| direct(name, rest))).unwrap_or(Direct::Deferred)
}

/// Reads arguments 1..=args.len() of the call into `args` if all are strings: the name and
/// the rest, or None (having run nothing) if one is not.
///
/// # Safety
/// As `call_direct`'s; the string slices are valid while the arguments stay on the stack.
unsafe fn read_strings<'a, 'b>(
    state: *mut mlua::ffi::lua_State,
    args: &'a mut [std::mem::MaybeUninit<&'b [u8]>],
) -> Option<(&'b [u8], &'a [&'b [u8]])> {
    for (i, arg) in (1..).zip(args.iter_mut()) {
        let mut len = 0usize;
        // SAFETY: index i is within the call's arguments; a string's pointer is valid while
        // it stays there, and Lua strings are `len` readable bytes.
        unsafe {
            let p = lua_c::lua_alt_string_at(state, i, &mut len);
            if p.is_null() {
                return None;
            }
            arg.write(std::slice::from_raw_parts(p.cast::<u8>(), len));
        }
    }
    // SAFETY: every slot was written above (the loop returns at the first it cannot fill).
    let args: &'a [&'b [u8]] = unsafe { std::slice::from_raw_parts(args.as_ptr().cast(), args.len()) };
    let (name, rest) = args.split_first()?;
    Some((name, rest))
}

/// Reads arguments 1..=args.len() of the call into `args` (numbers formatted into
/// `numbers`, of the same length): the name and the rest, or None if one is neither a
/// string nor a number.
///
/// # Safety
/// As `call_direct`'s; the string slices are valid while the arguments stay on the stack.
unsafe fn read_args<'n, 'a>(
    state: *mut mlua::ffi::lua_State,
    numbers: &'n mut [Option<crate::lua::number::NumText>],
    args: &'a mut [&'n [u8]],
) -> Option<(&'n [u8], &'a [&'n [u8]])> {
    use mlua::ffi;
    // Strings are read in the first pass; numbers are formatted in their own slots, and only
    // borrowed once none is written any more.
    for ((i, slot), arg) in (1..).zip(numbers.iter_mut()).zip(args.iter_mut()) {
        let mut len = 0usize;
        // SAFETY: index i is within the call's arguments; a string's pointer is valid while
        // it stays there, and Lua strings are `len` readable bytes.
        unsafe {
            let p = lua_c::lua_alt_string_at(state, i, &mut len);
            if !p.is_null() {
                *arg = std::slice::from_raw_parts(p.cast::<u8>(), len);
            } else if ffi::lua_type(state, i) == ffi::LUA_TNUMBER {
                *slot = Some(crate::lua::number::NumText::new(ffi::lua_tonumber(state, i)));
            } else {
                return None;
            }
        }
    }
    let numbers: &'n [Option<crate::lua::number::NumText>] = numbers;
    for (arg, number) in args.iter_mut().zip(numbers) {
        if let Some(text) = number {
            *arg = text.as_bytes();
        }
    }
    let (name, rest) = args.split_first()?;
    Some((name, rest))
}

/// What running a prepared command line gave: a value the trampoline pushes itself, or
/// `Deferred` when the callback must build it (and finds what it needs where the runner
/// left it).
pub enum Direct {
    Number(f64),
    False,
    Nil,
    /// A reply whose root is a bulk string.
    Bulk(CallReply),
    /// A reply whose root is a status: the table `{ok = status}`.
    Status(CallReply),
    /// A reply whose root is an array of integers, bulk strings and nulls only: a Lua array
    /// (nulls as `false`, or as holes when the script asked for RESP3).
    FlatArray(CallReply, bool),
    Deferred,
}

/// Runs a prepared command line (`name`, `rest`) for the running script.
pub type DirectCall = fn(&[u8], &Argv<'_>) -> Direct;
static DIRECT_CALL: std::sync::OnceLock<DirectCall> = std::sync::OnceLock::new();
/// Hands a reply the trampoline could not push itself back to the binding, which converts it
/// in the callback (as for `Direct::Deferred`).
static DEFER_REPLY: std::sync::OnceLock<fn(CallReply)> = std::sync::OnceLock::new();

/// Installs the runner of prepared command lines (once per process; always the same).
pub fn set_direct_call(f: DirectCall, defer: fn(CallReply)) {
    let _ = DIRECT_CALL.set(f);
    let _ = DEFER_REPLY.set(defer);
}

thread_local! {
    /// A bulk reply being pushed: parked here so that a Lua memory error raised by the push
    /// never skips its destructor.
    static PUSHING: std::cell::RefCell<Option<CallReply>> = const { std::cell::RefCell::new(None) };
}

/// Pushes the value of a direct call (`call_direct`) when it is a plain one; false when the
/// callback must build the value.
///
/// # Safety
/// `state` is the running Lua state, with room for one more value.
unsafe fn push_direct(state: *mut mlua::ffi::lua_State, outcome: Direct) -> bool {
    use mlua::ffi;
    // SAFETY (all pushes): one free slot is guaranteed by the caller; a memory error raised
    // by a push unwinds through frames that own nothing.
    match outcome {
        Direct::Number(n) => unsafe { ffi::lua_pushnumber(state, n) },
        Direct::False => unsafe { ffi::lua_pushboolean(state, 0) },
        Direct::Nil => unsafe { ffi::lua_pushnil(state) },
        Direct::Bulk(reply) => {
            let Some(proto) = park(reply) else { return false };
            // SAFETY: the reply is parked until unpark; its bytes live as long.
            unsafe {
                if let (Item::Bulk(b), _) = resp::item(proto) {
                    ffi::lua_pushlstring(state, b.as_ptr().cast(), b.len());
                } else {
                    ffi::lua_pushboolean(state, 0);
                }
            }
            unpark();
        }
        Direct::Status(reply) => {
            let Some(proto) = park(reply) else { return false };
            // SAFETY: as above; a fresh table has no metatable, so setfield runs no code.
            unsafe {
                ffi::lua_createtable(state, 0, 1);
                if let (Item::Status(text), _) = resp::item(proto) {
                    ffi::lua_pushlstring(state, text.as_ptr().cast(), text.len());
                    ffi::lua_setfield(state, -2, c"ok".as_ptr());
                }
            }
            unpark();
        }
        Direct::FlatArray(reply, resp3) => {
            let Some(proto) = park(reply) else { return false };
            // One pass: each element is read and set, nested arrays and statuses as the
            // general conversion builds them; an element of another kind (an error, a RESP3
            // map...) drops what was built and hands the reply back, for the callback to
            // convert in full.
            // SAFETY: as above; push_array keeps its table at -2 while each element is
            // pushed and set, and its frames own nothing (a Lua error may pass through them).
            let flat = unsafe {
                let top = ffi::lua_gettop(state);
                let mut at = 0;
                let flat = push_reply(state, proto, &mut at, resp3, 0) && at == proto.len();
                if !flat {
                    ffi::lua_settop(state, top);
                }
                flat
            };
            if !flat {
                let reply = PUSHING.try_with(|p| p.borrow_mut().take()).ok().flatten();
                if let (Some(reply), Some(defer)) = (reply, DEFER_REPLY.get()) {
                    defer(reply);
                }
                return false;
            }
            unpark();
        }
        Direct::Deferred => return false,
    }
    true
}

/// The array part a new table (`lua_newtable`) ends with after `lua_rawseti` of 1, 2, ..., n
/// in that order: each key that does not fit rehashes the table into the smallest power of
/// two holding all of them (ltable.c computesizes), with no hash part. `lua_createtable` of
/// this size makes the same table (the same `#` with holes, the same `next` order) without
/// the rehashes. 0 (grown as it is filled) past sizes worth no such care.
pub fn grown_array_size(n: usize) -> c_int {
    if n == 0 || n > 1 << 26 {
        return 0;
    }
    c_int::try_from(n.next_power_of_two()).unwrap_or(0)
}

/// Nesting the direct conversion follows; deeper replies take the general one.
const DIRECT_DEPTH: usize = 64;

/// Pushes the array reply at the start of `buf` (its elements, recursively) the way the
/// general conversion (lua::convert) builds it, and moves `at` past it; false for an element
/// of another kind, with whatever it pushed still on the stack (the caller drops it). Redis
/// grows an array's table as it fills it (lua_newtable), and the layout shows (the border
/// `#` finds once the script makes holes): a table that gets no nil (RESP2 turns nulls into
/// false) is made at once in the layout growing it ends with.
///
/// # Safety
/// `state` is the running Lua state; `buf` stays valid (parked) while this runs. Nothing
/// here owns a value with a destructor, so a Lua error raised by a push may unwind through it.
unsafe fn push_reply(state: *mut mlua::ffi::lua_State, buf: &[u8], at: &mut usize, resp3: bool, depth: usize) -> bool {
    let Some((Item::Array(n), used)) = buf.get(*at..).map(resp::item) else { return false };
    *at += used;
    // SAFETY: as this function's.
    unsafe { push_array(state, buf, at, n, resp3, depth) }
}

/// `push_reply` of an array of `n` elements whose header `at` has passed.
///
/// # Safety
/// As `push_reply`'s.
unsafe fn push_array(
    state: *mut mlua::ffi::lua_State,
    buf: &[u8],
    at: &mut usize,
    n: usize,
    resp3: bool,
    depth: usize,
) -> bool {
    use mlua::ffi;
    if depth >= DIRECT_DEPTH {
        return false;
    }
    // SAFETY: as this function's; the room checked holds the table, an element and a
    // status's string; a fresh table has no metatable, so setfield runs no code.
    unsafe {
        if ffi::lua_checkstack(state, 3) == 0 {
            return false;
        }
        ffi::lua_createtable(state, if resp3 { 0 } else { grown_array_size(n) }, 0);
        for i in 1..=n {
            let Some(rest) = buf.get(*at..) else { return false };
            let (item, used) = resp::item(rest);
            if used == 0 {
                return false;
            }
            *at += used;
            match item {
                Item::Int(v) => ffi::lua_pushnumber(state, v as ffi::lua_Number),
                Item::Bulk(b) => {
                    let Ok(slot) = c_int::try_from(i) else { return false };
                    lua_c::lua_alt_seti_string(state, slot, b.as_ptr().cast(), b.len());
                    continue;
                }
                Item::Null if resp3 => ffi::lua_pushnil(state),
                Item::Null => ffi::lua_pushboolean(state, 0),
                Item::Status(text) => {
                    ffi::lua_createtable(state, 0, 1);
                    ffi::lua_pushlstring(state, text.as_ptr().cast(), text.len());
                    ffi::lua_setfield(state, -2, c"ok".as_ptr());
                }
                Item::Array(m) => {
                    if !push_array(state, buf, at, m, resp3, depth + 1) {
                        return false;
                    }
                }
                Item::Other => return false,
            }
            ffi::lua_rawseti(state, -2, ffi::lua_Integer::try_from(i).unwrap_or(ffi::lua_Integer::MAX));
        }
    }
    true
}

/// Moves the reply into the parking slot while its bytes are pushed, so that the frames a
/// Lua memory error may unwind through own nothing with a destructor (a parked reply left
/// behind is freed by the next park). Returns a handle to read it while parked.
fn park(reply: CallReply) -> Option<&'static [u8]> {
    let raw = reply.raw;
    PUSHING.try_with(|p| *p.borrow_mut() = Some(reply)).ok()?;
    // The bytes are valid until unpark frees the reply.
    Some(ReplyRef { raw, _owner: std::marker::PhantomData }.proto())
}

/// Frees the parked reply.
fn unpark() {
    let _ = PUSHING.try_with(|p| p.borrow_mut().take());
}

/// The body of `redis.call`/`redis.pcall` (see `command_function`). It holds no Rust values
/// that need dropping, so the longjmp of a Lua error may pass through it.
unsafe extern "C-unwind" fn command_trampoline(state: *mut mlua::ffi::lua_State) -> c_int {
    use mlua::ffi;
    // SAFETY: a C function called by Lua with a valid state; upvalues 1 and 2 are set by
    // command_function. Lua guarantees LUA_MINSTACK (20) free slots beyond the arguments;
    // at most four are used at a time here.
    unsafe {
        let nargs = ffi::lua_gettop(state);
        let call_args = if let Some(outcome) = call_direct(state, nargs) {
            ffi::lua_settop(state, 0);
            if !matches!(outcome, Direct::Deferred) && lua_c::lua_alt_wanted(state) == 0 {
                // A call made as a statement: its value would be dropped unseen, so it is not
                // built (a direct outcome is never an error reply, the one value that raises).
                drop(outcome);
                return 0;
            }
            // The outcome moves on before anything here can raise.
            if push_direct(state, outcome) {
                // A number, a string, false or nil: never an error table to raise.
                return 1;
            }
            // The callback builds the value; it gets only the mark.
            ffi::lua_pushlightuserdata(state, prepared_mark());
            1
        } else if nargs > PACK_ABOVE {
            ffi::lua_createtable(state, nargs, 0);
            for i in 1..=nargs {
                ffi::lua_pushvalue(state, i);
                ffi::lua_rawseti(state, -2, ffi::lua_Integer::from(i));
            }
            ffi::lua_replace(state, 1);
            ffi::lua_settop(state, 1);
            ffi::lua_pushlightuserdata(state, packed_mark());
            ffi::lua_insert(state, 1);
            ffi::lua_pushnumber(state, ffi::lua_Number::from(nargs));
            3
        } else {
            nargs
        };
        ffi::lua_pushvalue(state, ffi::lua_upvalueindex(1));
        ffi::lua_insert(state, 1);
        ffi::lua_call(state, call_args, 1);
        if ffi::lua_toboolean(state, ffi::lua_upvalueindex(2)) != 0 && ffi::lua_istable(state, -1) != 0 {
            ffi::lua_pushstring(state, c"err".as_ptr());
            ffi::lua_rawget(state, -2);
            let is_error = ffi::lua_type(state, -1) == ffi::LUA_TSTRING;
            ffi::lua_pop(state, 1);
            if is_error {
                ffi::lua_error(state);
            }
        }
        1
    }
}

/// What a run hands its script, read by `fill_run_args` in the run's first protected step:
/// KEYS and ARGV, as the globals of an EVAL script or as the two arguments of a function.
pub struct RunArgs<'a> {
    keys: &'a [&'a [u8]],
    args: &'a [&'a [u8]],
    as_globals: bool,
    /// The function is a Lua function without upvalues (`plain_lua_function`).
    plain: bool,
}

impl<'a> RunArgs<'a> {
    /// An EVAL script's: the globals KEYS and ARGV (script_lua.c luaCallFunction).
    pub fn globals(keys: &'a [&'a [u8]], args: &'a [&'a [u8]]) -> Self {
        RunArgs { keys, args, as_globals: true, plain: false }
    }

    /// A function's: two arrays returned to the caller (functions.c fcallCommandGeneric);
    /// `plain`: what `plain_lua_function` found for it.
    pub fn tables(keys: &'a [&'a [u8]], args: &'a [&'a [u8]], plain: bool) -> Self {
        RunArgs { keys, args, as_globals: false, plain }
    }
}

/// Whether `f` is a Lua function without upvalues: it reaches nothing its library made, so
/// it cannot keep the arrays a run hands it past that run (fill_run_args). A function's
/// kind and upvalues never change: found once, when it is registered.
pub fn plain_lua_function(lua: &mlua::Lua, f: &mlua::Function) -> bool {
    use mlua::ffi;
    lua.exec_raw_lua(|raw| {
        // SAFETY: room for the function and one upvalue is checked; both are popped.
        unsafe {
            let state = raw.state();
            if ffi::lua_checkstack(state, 2) == 0 || raw.push(f).is_err() {
                return false;
            }
            let plain = ffi::lua_iscfunction(state, -1) == 0 && !has_upvalue(state, -1);
            ffi::lua_pop(state, 1);
            plain
        }
    })
}

/// A script's result read where it lies on the Lua stack: a scalar, or the header of a
/// plain array (then its elements follow, each a `Number`, `Str` or `Bool`).
pub enum Scalar<'a> {
    Number(f64),
    Str(&'a [u8]),
    Bool(bool),
    Nil,
    /// A table with no hash part (so none of the special fields `err`, `ok`, `map`...) whose
    /// elements up to the first nil are `len` strings, numbers and booleans, the strings
    /// `bytes` long in all.
    Array {
        len: usize,
        bytes: usize,
    },
}

/// What `call_run` gives back.
pub enum Ran {
    /// The result was a scalar and `scalar` wrote it.
    Written,
    /// `(true, result)`, or `(false, error)` with the handler's value.
    Value(bool, mlua::Value),
}

/// Runs `f` (a compiled script or function, from the registry) under `handler`, the way
/// luaCallFunction does: KEYS and ARGV are built first (`fill_run_args`, in a protected step
/// of its own that leaves no Lua frame), then `f` runs in one raw `lua_pcall` with `handler`
/// as its message handler, so no Lua frame, xpcall or closure stands between the call and
/// the script. `kept` (made by `kept_tables`) holds the tables a run may refill. A result
/// that is a number, string, boolean or nil, or a plain array of those (see
/// `Scalar::Array`), is offered to `scalar` first, where it lies (no Lua value crosses into
/// Rust); when `scalar` returns false (for an array: to its header) it comes back as a
/// value like the rest.
#[inline(always)]
pub fn call_run(
    lua: &mlua::Lua,
    main: MainThread,
    handler: &mlua::RegistryKey,
    kept: &mlua::RegistryKey,
    f: &mlua::RegistryKey,
    run_args: &RunArgs<'_>,
    scalar: &mut dyn FnMut(Scalar<'_>) -> bool,
) -> mlua::Result<Ran> {
    use mlua::ffi;
    let state = main.0 as *mut ffi::lua_State;
    // SAFETY: `main` is the VM's main thread, on which every run starts (outside any callback,
    // on the thread that owns the VM: mlua's lock is taken only where mlua reads the result);
    // the stack is checked for room (never raising) and restored to `top` on every path; the
    // registry slots hold the handler, the kept tables and the compiled function (the keys
    // keep them alive); `fill` points at values that outlive the protected step; a string's
    // bytes are read while it is on the stack.
    unsafe {
        let top = ffi::lua_gettop(state);
        if lua_c::lua_alt_checkstack(state, 8) == 0 {
            return Err(mlua::Error::StackError);
        }
        // handler, the kept tables, f; the fill pushes f's arguments above it and f runs, in one
        // protected call straight from here: nothing stays below it (see the note on the
        // run's chain in host/mod.rs). Its value, or the error value with a non-zero status,
        // is left where f was.
        lua_c::lua_alt_push_refs(state, handler.id(), kept.id(), f.id());
        let mut fill = Fill { run: run_args, kept: top + 2 };
        let status = lua_c::lua_alt_pcall_filled(state, 1, top + 1, fill_run_args, (&raw mut fill).cast());
        if status == 0 {
            let result = match ffi::lua_type(state, -1) {
                ffi::LUA_TNUMBER => Some(Scalar::Number(ffi::lua_tonumber(state, -1))),
                ffi::LUA_TSTRING => {
                    let mut len = 0usize;
                    let p = ffi::lua_tolstring(state, -1, &mut len);
                    (!p.is_null()).then(|| Scalar::Str(std::slice::from_raw_parts(p.cast::<u8>(), len)))
                }
                ffi::LUA_TBOOLEAN => Some(Scalar::Bool(ffi::lua_toboolean(state, -1) != 0)),
                ffi::LUA_TNIL => Some(Scalar::Nil),
                ffi::LUA_TTABLE if lua_c::lua_alt_hashpart(state, -1) == 0 => plain_array(state),
                _ => None,
            };
            let array = matches!(result, Some(Scalar::Array { .. }));
            if result.is_some_and(&mut *scalar) {
                if array {
                    each_element(state, scalar);
                }
                ffi::lua_settop(state, top);
                return Ok(Ran::Written);
            }
        }
        // The value goes to mlua (a table to convert, or the error value).
        Ok(lua.exec_raw_lua(|raw| {
            let value = raw.pop_value();
            ffi::lua_settop(state, top);
            Ran::Value(status == 0, value)
        }))
    }
}

/// The header of the table at the top of the stack (one without a hash part) if its
/// elements up to the first nil are all strings, numbers and booleans.
///
/// # Safety
/// `state` has a table at -1 and room for one more value; rawgeti runs no Lua code.
unsafe fn plain_array(state: *mut mlua::ffi::lua_State) -> Option<Scalar<'static>> {
    use mlua::ffi;
    let (mut len, mut bytes) = (0usize, 0usize);
    loop {
        let n = c_int::try_from(len + 1).ok()?;
        let (mut s, mut size, mut num) = (std::ptr::null(), 0usize, 0.0);
        // SAFETY: as this function's; nothing is pushed.
        match unsafe { lua_c::lua_alt_array_item(state, -1, n, &mut s, &mut size, &mut num) } {
            ffi::LUA_TNIL => return Some(Scalar::Array { len, bytes }),
            ffi::LUA_TSTRING => {
                bytes = bytes.saturating_add(size);
                len += 1;
            }
            ffi::LUA_TNUMBER | ffi::LUA_TBOOLEAN => len += 1,
            _ => return None,
        }
    }
}

/// Writes each element of the plain array at the top of the stack (see `plain_array`), in
/// order, up to its first nil.
///
/// # Safety
/// `state` has the array at -1; `write` runs no Lua code (a string's bytes are read where
/// the table holds them).
unsafe fn each_element(state: *mut mlua::ffi::lua_State, write: &mut dyn FnMut(Scalar<'_>) -> bool) {
    use mlua::ffi;
    let mut i: c_int = 1;
    loop {
        let (mut s, mut size, mut num) = (std::ptr::null(), 0usize, 0.0);
        // SAFETY: as this function's; nothing is pushed; a string's bytes stay valid while
        // the table holds it, which is past `write`.
        let element = match unsafe { lua_c::lua_alt_array_item(state, -1, i, &mut s, &mut size, &mut num) } {
            ffi::LUA_TSTRING => {
                Scalar::Str(if s.is_null() { &[] } else { unsafe { std::slice::from_raw_parts(s.cast::<u8>(), size) } })
            }
            ffi::LUA_TNUMBER => Scalar::Number(num),
            ffi::LUA_TBOOLEAN => Scalar::Bool(num != 0.0),
            _ => return,
        };
        write(element);
        let Some(next) = i.checked_add(1) else { return };
        i = next;
    }
}

/// The Lua types (`LUA_T*`) of `t[k]` for each of `keys`, raw lookups in one entry into the
/// VM: the probe a result table gets for its special fields (`err`, `ok`, `map`...) costs
/// one call, not one per field. The keys are existing strings, pushed by reference.
pub fn field_types<const N: usize>(
    lua: &mlua::Lua,
    t: &mlua::Table,
    keys: [&mlua::LuaString; N],
) -> mlua::Result<[c_int; N]> {
    use mlua::ffi;
    lua.exec_raw_lua(|raw| {
        // SAFETY: room is checked; every push is popped; rawget runs no Lua code and, with
        // keys that are existing strings, allocates nothing.
        unsafe {
            let state = raw.state();
            let top = ffi::lua_gettop(state);
            if ffi::lua_checkstack(state, 3) == 0 {
                return Err(mlua::Error::StackError);
            }
            let mut types = [ffi::LUA_TNIL; N];
            let pushed = raw.push(t);
            if pushed.is_ok() {
                for (ty, key) in types.iter_mut().zip(keys) {
                    if raw.push(key).is_err() {
                        break;
                    }
                    ffi::lua_rawget(state, -2);
                    *ty = ffi::lua_type(state, -1);
                    ffi::lua_pop(state, 1);
                }
            }
            ffi::lua_settop(state, top);
            pushed.map(|()| types)
        }
    })
}

/// The tables a run may refill (see `fill_run_args`), made once per VM and kept in the
/// registry: slots 1 and 2 hold the KEYS and ARGV tables of the last EVAL run, 3 and 4 the
/// two arrays of the last run of a function that could keep them. Its array part has the
/// four slots from the start, so replacing one never allocates.
pub fn kept_tables(lua: &mlua::Lua) -> mlua::Result<mlua::Table> {
    lua.create_table_with_capacity(4, 0)
}

/// What `fill_run_args` reads: the run's KEYS and ARGV, and the stack slot of the kept
/// tables.
struct Fill<'a> {
    run: &'a RunArgs<'a>,
    kept: c_int,
}

/// Builds KEYS and ARGV, as globals (lifting the globals' read-only flag only for that) or
/// as two arrays pushed on the stack, `f`'s arguments. Run by `call_run` through
/// lua_alt_pcall_filled with a `Fill` that outlives the call; scripts cannot reach it.
///
/// A run refills the previous run's tables (kept in the kept tables' slots; for EVAL, still
/// the globals) when they can be made exactly what a new table would be without allocating
/// (lua_alt_reuse_array: no metatable, no hash part, the same array size), and when nothing
/// can have kept a reference to them past that run: the globals, every table reachable from
/// them and the string metatable are read-only (lua::sandbox), so an EVAL script cannot, nor
/// can a function that is a Lua function without upvalues (it reaches nothing its library
/// made; `RunArgs::plain`, found when it was registered). A function with upvalues always
/// gets new arrays, never kept.
unsafe extern "C-unwind" fn fill_run_args(state: *mut mlua::ffi::lua_State, ud: *mut std::ffi::c_void) {
    use mlua::ffi;
    // SAFETY: `ud` is a live `Fill` (contract above) whose slot holds the kept tables (a
    // table with four array slots: raw reads and writes of them never allocate); call_run
    // made room for what this pushes; nothing here has a destructor, so a Lua error
    // raised by a push may unwind (longjmp) through this frame; every string is copied by
    // lua_pushlstring. A kept table is replaced (slot and global) only once its successor
    // is complete, so the two always agree.
    unsafe {
        let Some(&Fill { run, kept }) = ud.cast::<Fill<'_>>().as_ref() else { return };
        let keeps = run.as_globals || run.plain;
        let first = if run.as_globals { 1 } else { 3 };
        for (slot, name, items) in [(first, c"KEYS", run.keys), (first + 1, c"ARGV", run.args)] {
            // In the layout Redis's growing it ends with (luaCreateArray: lua_newtable, then
            // one lua_rawseti after the other), made at once.
            let size = grown_array_size(items.len());
            ffi::lua_rawgeti(state, kept, ffi::lua_Integer::from(slot));
            let reused = keeps && lua_c::lua_alt_reuse_array(state, -1, size) != 0;
            if !reused {
                ffi::lua_pop(state, 1);
                ffi::lua_createtable(state, size, 0);
            }
            for (i, item) in items.iter().enumerate() {
                ffi::lua_pushlstring(state, item.as_ptr().cast(), item.len());
                ffi::lua_rawseti(state, -2, ffi::lua_Integer::try_from(i + 1).unwrap_or(ffi::lua_Integer::MAX));
            }
            if !run.as_globals {
                // The function's argument stays on the stack.
                if keeps && !reused {
                    ffi::lua_pushvalue(state, -1);
                    ffi::lua_rawseti(state, kept, ffi::lua_Integer::from(slot));
                }
            } else if reused {
                ffi::lua_pop(state, 1);
            } else {
                ffi::lua_pushvalue(state, -1);
                lua_c::lua_enablereadonlytable(state, ffi::LUA_GLOBALSINDEX, 0);
                ffi::lua_setfield(state, ffi::LUA_GLOBALSINDEX, name.as_ptr());
                lua_c::lua_enablereadonlytable(state, ffi::LUA_GLOBALSINDEX, 1);
                ffi::lua_rawseti(state, kept, ffi::lua_Integer::from(slot));
            }
        }
    }
}

/// Whether the function at `index` has an upvalue (a Lua function reaches no other state).
///
/// # Safety
/// `index` is a valid stack index with room for one more value.
unsafe fn has_upvalue(state: *mut mlua::ffi::lua_State, index: c_int) -> bool {
    // SAFETY: lua_getupvalue pushes the upvalue only when it exists.
    unsafe {
        if mlua::ffi::lua_getupvalue(state, index, 1).is_null() {
            return false;
        }
        mlua::ffi::lua_pop(state, 1);
    }
    true
}

/// What `flat_array` hands over: the count first, then each element.
pub enum Flat<'a> {
    Len(usize),
    Str(&'a [u8]),
    Num(f64),
    Bool(bool),
}

/// A script's result table that is a plain array (its special fields already probed absent)
/// of strings, numbers and booleans only, up to its first nil: calls `each` with the count,
/// then with every element in order, all in one entry into the VM, and returns true. Any
/// other element (a table, a function...) makes it return false having called nothing: the
/// general writer takes over.
pub fn flat_array(lua: &mlua::Lua, t: &mlua::Table, each: &mut dyn FnMut(Flat<'_>)) -> mlua::Result<bool> {
    use mlua::ffi;
    lua.exec_raw_lua(|raw| {
        // SAFETY: room is checked; every push is popped before the next; rawgeti runs no Lua
        // code and allocates nothing; a string's bytes are read while it is on the stack.
        unsafe {
            let state = raw.state();
            let top = ffi::lua_gettop(state);
            if ffi::lua_checkstack(state, 2) == 0 {
                return Err(mlua::Error::StackError);
            }
            raw.push(t)?;
            let mut n: ffi::lua_Integer = 0;
            let flat = loop {
                ffi::lua_rawgeti(state, -1, n + 1);
                let ty = ffi::lua_type(state, -1);
                ffi::lua_pop(state, 1);
                match ty {
                    ffi::LUA_TNIL => break true,
                    ffi::LUA_TSTRING | ffi::LUA_TNUMBER | ffi::LUA_TBOOLEAN => n += 1,
                    _ => break false,
                }
            };
            if flat {
                each(Flat::Len(usize::try_from(n).unwrap_or(0)));
                for i in 1..=n {
                    ffi::lua_rawgeti(state, -1, i);
                    match ffi::lua_type(state, -1) {
                        ffi::LUA_TSTRING => {
                            let mut len = 0usize;
                            let p = ffi::lua_tolstring(state, -1, &mut len);
                            let bytes =
                                if p.is_null() { &[][..] } else { std::slice::from_raw_parts(p.cast::<u8>(), len) };
                            each(Flat::Str(bytes));
                        }
                        ffi::LUA_TNUMBER => each(Flat::Num(ffi::lua_tonumber(state, -1))),
                        _ => each(Flat::Bool(ffi::lua_toboolean(state, -1) != 0)),
                    }
                    ffi::lua_pop(state, 1);
                }
            }
            ffi::lua_settop(state, top);
            Ok(flat)
        }
    })
}
