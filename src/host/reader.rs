//! The raw C-API side of the bundled libraries (cjson, cmsgpack, struct):
//! - `raw_function`/`raw_function_with`: a library function as a plain C function to Lua
//!   (no mlua callback), its Rust body given a `Call` (arguments read from the stack, results
//!   pushed), its error raised by the C wrapper once the Rust frames are gone;
//! - `Reader`: read-only walks of tables on the stack for the encoders (lua_next,
//!   lua_rawgeti, strings read in place). Nothing it does allocates Lua memory or runs Lua
//!   code, so no Lua error can pass through the Rust frames using it and the GC never runs
//!   during a walk;
//! - `Builder`: tables built on the stack for the decoders, each step that may allocate run
//!   protected (`lua_alt_protected`), its Lua error coming back as an `Err`.
//!
//! The stack grows through `lua_alt_checkstack` (build.rs), which reports a failed
//! allocation instead of raising.
#![allow(unsafe_code)]

use std::ffi::c_int;
use std::marker::PhantomData;

use mlua::ffi;

use super::lua::lua_c::{lua_alt_checkstack, lua_alt_number_at, lua_alt_string_at, lua_alt_value_at};

/// A stack position (absolute index) holding a value of the walk.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Slot(c_int);

/// A value as the encoders see it.
pub enum Raw<'r> {
    Nil,
    Bool(bool),
    Num(f64),
    Str(&'r [u8]),
    Table(Slot),
    /// A light userdata; true when it is the NULL pointer (cjson.null).
    LightUserData(bool),
    /// Anything else, by its Lua type name.
    Other(&'static str),
}

/// The walk's view of the stack (see `Reader::with`).
pub struct Reader<'l> {
    state: *mut ffi::lua_State,
    /// Slots known to be free above the top.
    room: c_int,
    _lua: PhantomData<&'l ()>,
}

/// Slots asked for at a time when the stack must grow.
const GROW: c_int = 64;

fn no_room() -> mlua::Error {
    mlua::Error::MemoryError("not enough memory".into())
}

impl Reader<'_> {
    /// The value at `s`; a string's bytes stay valid while the reader is not changed.
    pub fn value(&self, s: Slot) -> Raw<'_> {
        let (mut p, mut len, mut num) = (std::ptr::null(), 0usize, 0.0);
        // SAFETY: `s` was handed out by this reader and is below the top (slots are only
        // handed out for pushed values, and the borrow rules keep them alive: a `Slot` is
        // used while the walk that pushed it is still above it); the value is read where it
        // lies, nothing converted or allocated, a string's bytes valid while it stays there.
        match unsafe { lua_alt_value_at(self.state, s.0, &mut p, &mut len, &mut num) } {
            ffi::LUA_TNIL => Raw::Nil,
            ffi::LUA_TBOOLEAN => Raw::Bool(num != 0.0),
            ffi::LUA_TNUMBER => Raw::Num(num),
            // SAFETY: as above.
            ffi::LUA_TSTRING if !p.is_null() => Raw::Str(unsafe { std::slice::from_raw_parts(p.cast::<u8>(), len) }),
            ffi::LUA_TSTRING => Raw::Str(&[]),
            ffi::LUA_TTABLE => Raw::Table(s),
            ffi::LUA_TLIGHTUSERDATA => Raw::LightUserData(num != 0.0),
            ffi::LUA_TFUNCTION => Raw::Other("function"),
            ffi::LUA_TTHREAD => Raw::Other("thread"),
            _ => Raw::Other("userdata"),
        }
    }

    /// The slot below `s` (the key under a value).
    pub fn before(&self, s: Slot) -> Slot {
        Slot(s.0.saturating_sub(1))
    }

    /// The slot on top of the stack.
    pub fn top(&self) -> Slot {
        // SAFETY: reads the running thread's top.
        Slot(unsafe { ffi::lua_gettop(self.state) })
    }

    /// `lua_objlen` (the border `#` finds, raw) of the table at `t`.
    pub fn raw_len(&self, t: Slot) -> usize {
        // SAFETY: objlen of any value reads it only (0 for what is not a string, table or
        // userdata).
        unsafe { ffi::lua_objlen(self.state, t.0) }
    }

    /// Is `t` a table (a slot of a popped value reads as nil)?
    fn is_table(&self, t: Slot) -> mlua::Result<()> {
        // SAFETY: lua_type reads any index, a stale one as none/nil.
        if unsafe { ffi::lua_type(self.state, t.0) } == ffi::LUA_TTABLE {
            Ok(())
        } else {
            Err(mlua::Error::RuntimeError("not a table".into()))
        }
    }

    fn make_room(&mut self, n: c_int) -> mlua::Result<()> {
        make_room(self.state, &mut self.room, n)
    }

    /// Pushes `t[i]` (raw) of the table at `t`; returns its slot.
    pub fn push_index(&mut self, t: Slot, i: i64) -> mlua::Result<Slot> {
        self.is_table(t)?;
        self.make_room(1)?;
        // SAFETY: room checked; `t` holds a table (checked); a raw read runs no code and allocates
        // nothing.
        unsafe { ffi::lua_rawgeti(self.state, t.0, i as ffi::lua_Integer) };
        self.room -= 1;
        Ok(self.top())
    }

    /// Pushes nil: the key that starts a `next` traversal.
    pub fn push_nil(&mut self) -> mlua::Result<()> {
        self.make_room(1)?;
        // SAFETY: room checked.
        unsafe { ffi::lua_pushnil(self.state) };
        self.room -= 1;
        Ok(())
    }

    /// `lua_next` of the table at `t` with the key on top: false (the key popped) at the
    /// end, else true with the next key and its value on top (value above key).
    pub fn next(&mut self, t: Slot) -> mlua::Result<bool> {
        self.is_table(t)?;
        self.make_room(1)?;
        // SAFETY: room for the extra value checked; `t` holds a table (checked) and the key on top came
        // from this traversal of it (nothing changes tables during a walk), so lua_next never
        // raises "invalid key".
        let more = unsafe { ffi::lua_next(self.state, t.0) } != 0;
        if more {
            self.room -= 1;
        } else {
            self.room += 1;
        }
        Ok(more)
    }

    /// Pops `n` values.
    pub fn pop(&mut self, n: c_int) {
        // SAFETY: the caller pops only values it pushed (settop never goes below the roots
        // in normal use; restoring to a lower top is harmless).
        unsafe { ffi::lua_pop(self.state, n) };
        self.room = self.room.saturating_add(n);
    }
}

unsafe extern "C" {
    /// One table-building operation run protected (build.rs patch of lapi.c): 0, or the error
    /// status with the stack restored (plus the error value for LUA_ERRRUN).
    fn lua_alt_protected(
        state: *mut ffi::lua_State,
        op: c_int,
        idx: c_int,
        n: ffi::lua_Integer,
        s: *const std::ffi::c_char,
        len: usize,
    ) -> c_int;
}

unsafe extern "C" {
    /// lua_rawseti when the table already has the slot (build.rs patch of lapi.c): 1 done,
    /// 0 nothing done.
    fn lua_alt_rawseti_inplace(state: *mut ffi::lua_State, idx: c_int, n: c_int) -> c_int;
}

const OP_CREATETABLE: c_int = 0;
const OP_PUSHSTRING: c_int = 1;
const OP_RAWSET: c_int = 2;
const OP_RAWSETI: c_int = 3;
const OP_SETINDEX_STR: c_int = 6;
const OP_SETFIELD_STR: c_int = 7;
const OP_SETFIELD_KEY_NUM: c_int = 8;

/// Values built on the running thread's stack for the decoders (cjson.decode,
/// cmsgpack.unpack): tables filled with raw sets, as the C libraries build them. Every
/// operation that may allocate runs protected (`lua_alt_protected`), so a Lua error (memory,
/// `table index is nil`) comes back as an `Err` instead of passing through the Rust frames;
/// the values under construction sit on the stack, where the GC sees them.
pub struct Builder<'l> {
    state: *mut ffi::lua_State,
    /// Slots known to be free above the top.
    room: c_int,
    /// The short strings pushed last (see `push_recent`), when the function keeps them.
    recent: Option<Recent>,
    _lua: PhantomData<&'l ()>,
}

/// Strings a decoder pushes again and again (an object's keys, in each object of an array),
/// remembered for one call so that pushing one again is a read of the string Lua made
/// the first time instead of another lookup in its string table (hash every byte, walk a
/// chain across a heap of strings): the same string, interned once. Each lives in a slot of
/// the function's own anchor table (its 4th upvalue, see `raw_function_with_strings`, out of
/// every script's reach), so the bytes recorded here stay those of a live string until the
/// slot is given to another.
struct Recent {
    /// The anchor table's pseudo-index.
    anchor: c_int,
    /// Each slot's string, as (bytes, length); null: empty.
    slots: [(*const u8, usize); RECENT_SLOTS],
}

/// Slots of the anchor table (its array part, made with the function: setting one never
/// allocates).
pub const RECENT_SLOTS: usize = 16;
/// Longer strings are pushed as they come (keys are short; long values rarely repeat).
const RECENT_MAX_LEN: usize = 40;

/// The slot a string may be remembered in: its length and first, second, second-to-last
/// and last bytes, mixed by a multiplication (Fibonacci hashing: the top bits).
fn recent_slot(s: &[u8]) -> usize {
    let at = |i: usize| u64::from(s.get(i).copied().unwrap_or(0));
    let n = s.len();
    let h = n as u64 | at(0) << 8 | at(1) << 16 | at(n.wrapping_sub(2)) << 24 | at(n.wrapping_sub(1)) << 32;
    (h.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 60) as usize % RECENT_SLOTS
}

impl Builder<'_> {
    fn make_room(&mut self, n: c_int) -> mlua::Result<()> {
        make_room(self.state, &mut self.room, n)
    }

    /// Runs one protected operation; its error as an mlua error.
    fn protected(&mut self, op: c_int, idx: c_int, n: i64, s: &[u8]) -> mlua::Result<()> {
        let done = run_protected(self.state, op, idx, n, s);
        if done.is_err() {
            // The stack may have changed shape: ask for room again next time.
            self.room = 0;
        }
        done
    }

    fn is_table(&self, t: Slot) -> mlua::Result<()> {
        // SAFETY: lua_type reads any index, a stale one as none/nil.
        if unsafe { ffi::lua_type(self.state, t.0) } == ffi::LUA_TTABLE {
            Ok(())
        } else {
            Err(mlua::Error::RuntimeError("not a table".into()))
        }
    }

    /// The slot on top of the stack.
    pub fn top(&self) -> Slot {
        // SAFETY: reads the running thread's top.
        Slot(unsafe { ffi::lua_gettop(self.state) })
    }

    /// Pushes a new empty table (`lua_newtable`).
    pub fn new_table(&mut self) -> mlua::Result<Slot> {
        self.make_room(1)?;
        self.protected(OP_CREATETABLE, 0, 0, &[])?;
        self.room -= 1;
        Ok(self.top())
    }

    /// Pushes a string.
    pub fn push_str(&mut self, s: &[u8]) -> mlua::Result<Slot> {
        self.make_room(1)?;
        self.protected(OP_PUSHSTRING, 0, 0, s)?;
        self.room -= 1;
        Ok(self.top())
    }

    /// Pushes a string as `push_str` does, remembering it (see Recent) when the function
    /// keeps strings: a string pushed earlier in this call is pushed again from its slot.
    #[inline(always)]
    pub fn push_recent(&mut self, s: &[u8]) -> mlua::Result<Slot> {
        let Some(Recent { anchor, slots }) = self.recent.as_ref().filter(|_| s.len() <= RECENT_MAX_LEN) else {
            return self.push_str(s);
        };
        let i = recent_slot(s);
        let (p, len) = slots.get(i).copied().unwrap_or((std::ptr::null(), 0));
        // SAFETY: a recorded slot's bytes are those of the string its anchor slot holds (Recent).
        if p.is_null() || len != s.len() || unsafe { std::slice::from_raw_parts(p, len) } != s || self.room < 1 {
            return self.push_remembered(s, i);
        }
        // SAFETY: a free slot (room); a raw read of the anchor's array runs no code and
        // allocates nothing.
        unsafe { ffi::lua_rawgeti(self.state, *anchor, (i + 1) as ffi::lua_Integer) };
        self.room -= 1;
        Ok(self.top())
    }

    /// `push_recent` of a string not remembered: pushed, then kept in slot `i`.
    #[inline(never)]
    fn push_remembered(&mut self, s: &[u8], i: usize) -> mlua::Result<Slot> {
        let pushed = self.push_str(s)?;
        let Some(anchor) = self.recent.as_ref().map(|r| r.anchor) else { return Ok(pushed) };
        let n = c_int::try_from(i + 1).unwrap_or(1);
        self.make_room(1)?;
        // SAFETY: room checked; the copy goes into a slot the anchor's array part has (no
        // allocation, no error) or is popped; the string's bytes are read while it is held.
        let kept = unsafe {
            ffi::lua_pushvalue(self.state, -1);
            if lua_alt_rawseti_inplace(self.state, anchor, n) != 0 {
                let mut len = 0usize;
                let p = ffi::lua_tolstring(self.state, -1, &mut len);
                (p.cast::<u8>(), len)
            } else {
                ffi::lua_pop(self.state, 1);
                (std::ptr::null(), 0)
            }
        };
        if let Some(slot) = self.recent.as_mut().and_then(|r| r.slots.get_mut(i)) {
            *slot = kept;
        }
        Ok(pushed)
    }

    fn push_with(&mut self, push: impl FnOnce(*mut ffi::lua_State)) -> mlua::Result<Slot> {
        self.make_room(1)?;
        push(self.state);
        self.room -= 1;
        Ok(self.top())
    }

    pub fn push_num(&mut self, n: f64) -> mlua::Result<Slot> {
        // SAFETY (all scalar pushes): room checked; they allocate nothing.
        self.push_with(|s| unsafe { ffi::lua_pushnumber(s, n) })
    }

    pub fn push_bool(&mut self, b: bool) -> mlua::Result<Slot> {
        self.push_with(|s| unsafe { ffi::lua_pushboolean(s, c_int::from(b)) })
    }

    pub fn push_nil(&mut self) -> mlua::Result<Slot> {
        self.push_with(|s| unsafe { ffi::lua_pushnil(s) })
    }

    /// Pushes the NULL light userdata (cjson.null).
    pub fn push_null(&mut self) -> mlua::Result<Slot> {
        self.push_with(|s| unsafe { ffi::lua_pushlightuserdata(s, std::ptr::null_mut()) })
    }

    /// `t[i] = v` (raw) with the value on top, popped.
    pub fn set_index(&mut self, t: Slot, i: i64) -> mlua::Result<()> {
        self.is_table(t)?;
        if c_int::try_from(i).is_err() {
            // Beyond lua_rawseti's int: the number key, then lua_rawset.
            self.push_num(i as f64)?;
            self.swap();
            return self.set_field(t);
        }
        // SAFETY: `t` holds a table (checked) and the value is on top; the call sets only
        // when nothing needs allocating (no error possible), else does nothing.
        if let Ok(n) = c_int::try_from(i) {
            if unsafe { lua_alt_rawseti_inplace(self.state, t.0, n) } != 0 {
                self.room += 1;
                return Ok(());
            }
        }
        self.protected(OP_RAWSETI, t.0, i, &[])?;
        self.room += 1;
        Ok(())
    }

    /// The slot above `s`.
    pub fn after(&self, s: Slot) -> Slot {
        Slot(s.0.saturating_add(1))
    }

    /// `t[i] = s` (raw) for a string `s`, in one protected step.
    pub fn set_index_str(&mut self, t: Slot, i: i64, s: &[u8]) -> mlua::Result<()> {
        self.is_table(t)?;
        if c_int::try_from(i).is_err() {
            self.push_str(s)?;
            return self.set_index(t, i);
        }
        self.make_room(1)?;
        self.protected(OP_SETINDEX_STR, t.0, i, s)
    }

    /// `t[k] = s` (raw) for a string `s`, the key on top (popped), in one protected step.
    pub fn set_field_str(&mut self, t: Slot, s: &[u8]) -> mlua::Result<()> {
        self.is_table(t)?;
        self.make_room(1)?;
        self.protected(OP_SETFIELD_STR, t.0, 0, s)?;
        self.room += 1;
        Ok(())
    }

    /// `t[k] = n` (raw) for a string key `k` and a number `n`, in one protected step.
    pub fn set_str_num(&mut self, t: Slot, k: &[u8], n: f64) -> mlua::Result<()> {
        self.is_table(t)?;
        self.make_room(2)?;
        const { assert!(std::mem::size_of::<ffi::lua_Integer>() == std::mem::size_of::<f64>()) };
        self.protected(OP_SETFIELD_KEY_NUM, t.0, n.to_bits() as i64, k)
    }

    /// Swaps the two values on top.
    pub fn swap(&mut self) {
        // SAFETY: callers have two values of their own on top.
        unsafe { ffi::lua_insert(self.state, -2) };
    }

    /// `t[k] = v` (raw) with the key and then the value on top, both popped.
    pub fn set_field(&mut self, t: Slot) -> mlua::Result<()> {
        self.is_table(t)?;
        self.protected(OP_RAWSET, t.0, 0, &[])?;
        self.room += 2;
        Ok(())
    }

    /// Moves the value on top down to `s`, shifting the values from `s` up.
    pub fn insert(&mut self, s: Slot) {
        // SAFETY: lua_insert of a slot at or below the top moves values only; callers pass
        // slots of values they pushed.
        unsafe {
            if s.0 >= 1 && s.0 <= ffi::lua_gettop(self.state) {
                ffi::lua_insert(self.state, s.0);
            }
        }
    }
}

const OP_TOLSTRING: c_int = 4;
const OP_PUSHADOPTED: c_int = 5;

/// A library function called by Lua as a plain C function (no mlua callback in between):
/// reads its arguments from the stack and pushes its results, returning their count; an
/// `Err` is raised by the C wrapper once the Rust frames are gone (see `raw_function`).
pub type RawFn = fn(&mut Call<'_>) -> mlua::Result<c_int>;

/// The Lua function calling `f` (see `RawFn`).
pub fn raw_function(lua: &mlua::Lua, f: RawFn) -> mlua::Result<mlua::Function> {
    // SAFETY: the closure pushes the function pointer as a light userdata and makes it the
    // upvalue of a C closure, left on the stack as the result; raw_trampoline reads it back
    // as the same type.
    unsafe {
        lua.exec_raw::<mlua::Function>((), |state| {
            ffi::lua_pushlightuserdata(state, f as *mut std::ffi::c_void);
            ffi::lua_pushcclosure(state, raw_trampoline, 1);
        })
    }
}

/// The Lua function calling `f` with `data` (see `RawFn`): a C closure whose upvalues are
/// `f`, a pointer to `data`, and a userdata owning `data`, so `data` lives as long as the
/// function.
pub fn raw_function_with<T: Send + Sync + 'static>(
    lua: &mlua::Lua,
    f: fn(&mut Call<'_>, &T) -> mlua::Result<c_int>,
    data: std::sync::Arc<T>,
) -> mlua::Result<mlua::Function> {
    raw_closure(lua, f, data, None)
}

/// `raw_function_with`, the function also keeping the strings its builder remembers (see
/// `Builder::push_recent`): a 4th upvalue, a table of RECENT_SLOTS array slots that only this
/// closure reaches.
pub fn raw_function_with_strings<T: Send + Sync + 'static>(
    lua: &mlua::Lua,
    f: fn(&mut Call<'_>, &T) -> mlua::Result<c_int>,
    data: std::sync::Arc<T>,
) -> mlua::Result<mlua::Function> {
    raw_closure(lua, f, data, Some(lua.create_table_with_capacity(RECENT_SLOTS, 0)?))
}

fn raw_closure<T: Send + Sync + 'static>(
    lua: &mlua::Lua,
    f: fn(&mut Call<'_>, &T) -> mlua::Result<c_int>,
    data: std::sync::Arc<T>,
    anchor: Option<mlua::Table>,
) -> mlua::Result<mlua::Function> {
    let ptr = std::sync::Arc::as_ptr(&data).cast_mut().cast::<std::ffi::c_void>();
    let owner = lua.create_any_userdata(data)?;
    let upvalues = if anchor.is_some() { 4 } else { 3 };
    // SAFETY: exec_raw pushes the owner and the anchor (nil when none); the closure pushes
    // the function pointer and the data pointer, copies of the owner (and of the anchor) and
    // makes them the upvalues of a C closure, then removes the originals, leaving the closure
    // as the only result. raw_trampoline_with::<T> reads them back as the same types.
    unsafe {
        lua.exec_raw::<mlua::Function>((owner, anchor), |state| {
            ffi::lua_pushlightuserdata(state, f as *mut std::ffi::c_void);
            ffi::lua_pushlightuserdata(state, ptr);
            ffi::lua_pushvalue(state, -4);
            if upvalues == 4 {
                ffi::lua_pushvalue(state, -4);
            }
            ffi::lua_pushcclosure(state, raw_trampoline_with::<T>, upvalues);
            ffi::lua_remove(state, -2);
            ffi::lua_remove(state, -2);
        })
    }
}

unsafe extern "C-unwind" fn raw_trampoline_with<T>(state: *mut ffi::lua_State) -> c_int {
    // SAFETY: upvalues set by raw_function_with::<T>: the function pointer, and a pointer to
    // the `T` that upvalue 3 owns (alive while this closure runs).
    unsafe {
        let f = ffi::lua_touserdata(state, ffi::lua_upvalueindex(1));
        let data = ffi::lua_touserdata(state, ffi::lua_upvalueindex(2)).cast_const().cast::<T>();
        let Some(data) = data.as_ref() else { return 0 };
        if f.is_null() {
            return 0;
        }
        let f = std::mem::transmute::<*mut std::ffi::c_void, fn(&mut Call<'_>, &T) -> mlua::Result<c_int>>(f);
        run_raw(state, |call| f(call, data))
    }
}

/// The body of every `raw_function`.
unsafe extern "C-unwind" fn raw_trampoline(state: *mut ffi::lua_State) -> c_int {
    // SAFETY: a C function called by Lua with a valid state; upvalue 1 is the RawFn pushed
    // by raw_function.
    unsafe {
        let f = super::lua::lua_c::lua_alt_upvalue_pointer(state);
        if f.is_null() {
            return 0;
        }
        let f: RawFn = std::mem::transmute::<*mut std::ffi::c_void, RawFn>(f);
        run_raw(state, f)
    }
}

/// Runs a raw function's Rust code (which holds its values in its own frames and never lets
/// a Lua error pass through them: every allocating step is protected), then raises its
/// error, if any, with nothing Rust left to drop: the message is pushed (protected) and the
/// `String` dropped before luaL_where and lua_error run.
///
/// # Safety
/// `state` is the running thread of a C function called by Lua.
unsafe fn run_raw(state: *mut ffi::lua_State, f: impl FnOnce(&mut Call<'_>) -> mlua::Result<c_int>) -> c_int {
    // SAFETY: see above; after the closure every Rust value is gone but `msg`, dropped
    // before anything may raise.
    unsafe {
        // Lua calls every C function with LUA_MINSTACK free slots above its arguments.
        let nargs = ffi::lua_gettop(state);
        let mut call = Call { state, nargs, room: ffi::LUA_MINSTACK, tail: Tail::NONE, _frame: PhantomData };
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| match f(&mut call) {
            Ok(n) => Ok(n),
            Err(e) => Err(crate::lua::raw_error_message(&e)),
        }));
        let (here, msg) = match outcome {
            Ok(Ok(n)) => {
                if let Some(bytes) = call.tail.bytes() {
                    // Room was made for it; a memory error raised by the push unwinds through
                    // frames that own nothing (the call and its tail are plain data).
                    ffi::lua_pushlstring(state, bytes.as_ptr().cast(), bytes.len());
                }
                return n;
            }
            Ok(Err(m)) => m,
            Err(_) => (false, b"internal error in a library function".to_vec()),
        };
        ffi::lua_settop(state, 0);
        let pushed = lua_alt_protected(state, OP_PUSHSTRING, 0, 0, msg.as_ptr().cast(), msg.len());
        drop(msg);
        if pushed != 0 {
            if pushed != ffi::LUA_ERRRUN {
                // Lua's memory error message exists already (never allocated again).
                ffi::lua_settop(state, 0);
                ffi::lua_pushstring(state, c"not enough memory".as_ptr());
            }
            ffi::lua_error(state);
        }
        if here {
            ffi::luaL_where(state, 1);
            ffi::lua_insert(state, -2);
            ffi::lua_concat(state, 2);
        }
        ffi::lua_error(state)
    }
}

/// A raw library function's view of its stack: the arguments (1..=nargs, never removed while
/// the call runs, so the bytes of a string argument stay valid for the whole call: `'f`) and
/// the values it pushes above them.
pub struct Call<'f> {
    state: *mut ffi::lua_State,
    nargs: c_int,
    room: c_int,
    /// A small last result, pushed by the trampoline once the function's frames are gone
    /// (see `push_buffer_last`).
    tail: Tail,
    _frame: PhantomData<&'f ()>,
}

/// The bytes of a small last result (see `Call::push_buffer_last`), written in place: never
/// cleared nor moved as a whole (a call that pushes none pays nothing for it, and a short
/// result is not read back through wider loads than wrote it).
struct Tail {
    bytes: [std::mem::MaybeUninit<u8>; TAIL],
    /// How many of `bytes` are the result; `None`: no last result.
    len: Option<usize>,
}

impl Tail {
    const NONE: Tail = Tail { bytes: [std::mem::MaybeUninit::uninit(); TAIL], len: None };

    /// Makes `src` (at most TAIL bytes) the last result; false, doing nothing, for more.
    fn set(&mut self, src: &[u8]) -> bool {
        if src.len() > TAIL {
            return false;
        }
        // SAFETY: `src.len()` bytes fit in `bytes`; the two never overlap (`src` is not ours).
        unsafe { std::ptr::copy_nonoverlapping(src.as_ptr(), self.bytes.as_mut_ptr().cast::<u8>(), src.len()) };
        self.len = Some(src.len());
        true
    }

    fn bytes(&self) -> Option<&[u8]> {
        // SAFETY: the first `len` bytes were written by `set`.
        self.len.map(|len| unsafe { std::slice::from_raw_parts(self.bytes.as_ptr().cast::<u8>(), len) })
    }
}

/// The largest last result pushed by the trampoline.
const TAIL: usize = 64;

impl<'f> Call<'f> {
    /// How many arguments the function got.
    pub fn nargs(&self) -> usize {
        usize::try_from(self.nargs).unwrap_or(0)
    }

    fn index(&self, idx: usize) -> Option<c_int> {
        // SAFETY: reads the top only.
        let top = unsafe { ffi::lua_gettop(self.state) };
        c_int::try_from(idx).ok().filter(|&i| i >= 1 && i <= top)
    }

    /// luaL_typename of stack position `idx` ("no value" above the top).
    pub fn type_name(&self, idx: usize) -> &'static str {
        let Some(i) = self.index(idx) else { return "no value" };
        // SAFETY: a valid index.
        match unsafe { ffi::lua_type(self.state, i) } {
            ffi::LUA_TNIL => "nil",
            ffi::LUA_TBOOLEAN => "boolean",
            ffi::LUA_TLIGHTUSERDATA | ffi::LUA_TUSERDATA => "userdata",
            ffi::LUA_TNUMBER => "number",
            ffi::LUA_TSTRING => "string",
            ffi::LUA_TTABLE => "table",
            ffi::LUA_TFUNCTION => "function",
            ffi::LUA_TTHREAD => "thread",
            _ => "no value",
        }
    }

    /// True for nil or no value (luaL_opt's test).
    pub fn is_none_or_nil(&self, idx: usize) -> bool {
        let Some(i) = self.index(idx) else { return true };
        // SAFETY: a valid index.
        unsafe { ffi::lua_type(self.state, i) == ffi::LUA_TNIL }
    }

    /// lua_isnumber + lua_tonumber: numbers, and strings Lua reads as numbers (no
    /// conversion is stored, nothing allocated).
    pub fn number(&self, idx: usize) -> Option<f64> {
        let i = c_int::try_from(idx).ok()?;
        let mut n: ffi::lua_Number = 0.0;
        // SAFETY: lua_alt_number_at checks the index against the top and only reads the value.
        (unsafe { lua_alt_number_at(self.state, i, &mut n) } != 0).then_some(n)
    }

    /// lua_tolstring of an argument: strings, and numbers converted in place (as
    /// luaL_checklstring does); `None` for other types.
    #[inline]
    pub fn lstring(&mut self, idx: usize) -> mlua::Result<Option<&'f [u8]>> {
        if let Some(s) = self.string_arg(idx) {
            return Ok(Some(s));
        }
        let Some(i) = c_int::try_from(idx).ok().filter(|&i| i >= 1 && i <= self.nargs) else { return Ok(None) };
        self.lstring_converted(i)
    }

    /// `lstring` of an argument that is no string: a number is converted in place.
    #[cold]
    fn lstring_converted(&mut self, i: c_int) -> mlua::Result<Option<&'f [u8]>> {
        // SAFETY: a valid argument index. A number is converted in place by a protected
        // step (it allocates the string); the bytes of a string argument live as long as the
        // argument stays in its slot, which is the whole call (`'f`).
        unsafe {
            match ffi::lua_type(self.state, i) {
                ffi::LUA_TSTRING => {}
                ffi::LUA_TNUMBER => self.protected(OP_TOLSTRING, i, &[])?,
                _ => return Ok(None),
            }
            let mut len = 0usize;
            let p = ffi::lua_tolstring(self.state, i, &mut len);
            Ok(Some(if p.is_null() { &[] } else { std::slice::from_raw_parts(p.cast::<u8>(), len) }))
        }
    }

    fn protected(&mut self, op: c_int, idx: c_int, s: &[u8]) -> mlua::Result<()> {
        let done = run_protected(self.state, op, idx, 0, s);
        if done.is_err() {
            self.room = 0;
        }
        done
    }

    fn make_room(&mut self, n: c_int) -> mlua::Result<()> {
        make_room(self.state, &mut self.room, n)
    }

    /// Values on the stack (arguments and pushed values).
    pub fn top(&self) -> usize {
        // SAFETY: reads the top.
        usize::try_from(unsafe { ffi::lua_gettop(self.state) }).unwrap_or(0)
    }

    /// Pops the value on top, if the function pushed it (arguments stay).
    pub fn pop_result(&mut self) {
        // SAFETY: reads the top; pops only above the arguments.
        unsafe {
            if ffi::lua_gettop(self.state) > self.nargs {
                ffi::lua_pop(self.state, 1);
                self.room += 1;
            }
        }
    }

    pub fn push_nil(&mut self) -> mlua::Result<()> {
        self.make_room(1)?;
        // SAFETY: room checked; allocates nothing.
        unsafe { ffi::lua_pushnil(self.state) };
        self.room -= 1;
        Ok(())
    }

    pub fn push_num(&mut self, n: f64) -> mlua::Result<()> {
        self.make_room(1)?;
        // SAFETY: room checked; allocates nothing.
        unsafe { ffi::lua_pushnumber(self.state, n) };
        self.room -= 1;
        Ok(())
    }

    pub fn push_str(&mut self, s: &[u8]) -> mlua::Result<()> {
        self.make_room(1)?;
        self.protected(OP_PUSHSTRING, 0, s)?;
        self.room -= 1;
        Ok(())
    }

    /// The slot of argument `idx` (1-based).
    pub fn arg_slot(&self, idx: usize) -> Slot {
        Slot(c_int::try_from(idx).unwrap_or(0))
    }

    /// A reader of this call's values (arguments, and what it pushes).
    pub fn reader(&mut self) -> Reader<'f> {
        Reader { state: self.state, room: 0, _lua: PhantomData }
    }

    /// A builder of values on this call's stack; what it leaves there are results. Its
    /// `push_recent` remembers strings when the function was made by
    /// `raw_function_with_strings` (it has their anchor table).
    pub fn builder(&mut self) -> Builder<'f> {
        let anchor = ffi::lua_upvalueindex(4);
        // SAFETY: lua_type reads any pseudo-index of the running C function; only the
        // closures of raw_function_with_strings have a table as their 4th upvalue.
        let recent = (unsafe { ffi::lua_type(self.state, anchor) } == ffi::LUA_TTABLE)
            .then_some(Recent { anchor, slots: [(std::ptr::null(), 0); RECENT_SLOTS] });
        Builder { state: self.state, room: 0, recent, _lua: PhantomData }
    }

    /// An output buffer of this call's thread (see LuaBuf).
    pub fn buffer(&self) -> super::LuaBuf {
        super::LuaBuf::for_state(self.state)
    }

    /// Pushes the buffer's bytes as a string (a small output copied, else the block itself,
    /// see LuaBuf::finish).
    pub fn push_buffer(&mut self, mut buf: super::LuaBuf) -> mlua::Result<()> {
        self.make_room(1)?;
        let finished = buf.finish()?;
        self.push_finished(finished)
    }

    /// Pushes finished bytes (room for one value made by the caller).
    fn push_finished(&mut self, finished: super::lua::Finished<'_>) -> mlua::Result<()> {
        match finished {
            super::lua::Finished::Bytes(b) => self.protected(OP_PUSHSTRING, 0, b)?,
            super::lua::Finished::Block(data, len) => {
                // SAFETY: the block is exactly `len` bytes of this VM; the operation hands it
                // to the string before anything in it can fail (see luaS_alt_adopt), so it is
                // owned by Lua whatever the status.
                let slice = unsafe { std::slice::from_raw_parts(data.cast_const(), len) };
                self.protected(OP_PUSHADOPTED, 0, slice)?;
            }
        }
        self.room -= 1;
        Ok(())
    }

    /// A string argument as it lies (no number converted), or `None`.
    #[inline]
    pub fn string_arg(&self, idx: usize) -> Option<&'f [u8]> {
        let i = c_int::try_from(idx).ok().filter(|&i| i >= 1 && i <= self.nargs)?;
        let mut len = 0usize;
        // SAFETY: an argument index (checked against the top too); the bytes of a string
        // argument live as long as it stays in its slot, the whole call.
        unsafe {
            let p = lua_alt_string_at(self.state, i, &mut len);
            (!p.is_null()).then(|| std::slice::from_raw_parts(p.cast::<u8>(), len))
        }
    }

    /// Ends the call with `bytes` (at most `TAIL` of them) as its last result, pushed by the
    /// trampoline after the function returned (see `push_buffer_last`); false, having done
    /// nothing, for more bytes or no room. Nothing may be pushed after it.
    pub fn push_bytes_last(&mut self, bytes: &[u8]) -> bool {
        if self.room < 1 || bytes.len() > TAIL {
            return false;
        }
        if !self.tail.set(bytes) {
            return false;
        }
        self.room -= 1;
        true
    }

    /// Free slots known above the top (LUA_MINSTACK at the start of a call).
    pub fn room(&self) -> usize {
        usize::try_from(self.room).unwrap_or(0)
    }

    /// As `push_buffer`, for the function's last push: a small output is copied aside and
    /// pushed by the trampoline after the function returned (a plain push: no protected step
    /// is needed once no Rust frame is left to skip). Nothing may be pushed after it.
    pub fn push_buffer_last(&mut self, buf: &mut super::LuaBuf) -> mlua::Result<()> {
        if buf.len() > TAIL {
            self.make_room(1)?;
            let finished = buf.finish()?;
            return self.push_finished(finished);
        }
        self.make_room(1)?;
        let finished = buf.finish()?;
        if let super::lua::Finished::Bytes(b) = finished {
            if self.tail.set(b) {
                self.room -= 1;
                return Ok(());
            }
        }
        self.push_finished(finished)
    }

    /// luaL_argerror's text for argument `narg` (the function's name from its call info,
    /// `calling 'f' on bad self` for a method's self), raised with the caller's position.
    pub fn arg_error(&self, narg: i64, extramsg: &str) -> mlua::Error {
        // SAFETY: lua_getstack/lua_getinfo("n") of level 0 (this C function) only read the
        // call info; the name is copied.
        let info = unsafe {
            let mut ar: ffi::lua_Debug = std::mem::zeroed();
            if ffi::lua_getstack(self.state, 0, &mut ar) == 0 {
                None
            } else {
                ffi::lua_getinfo(self.state, c"n".as_ptr(), &mut ar);
                let name =
                    (!ar.name.is_null()).then(|| std::ffi::CStr::from_ptr(ar.name).to_string_lossy().into_owned());
                let method = !ar.namewhat.is_null() && std::ffi::CStr::from_ptr(ar.namewhat).to_bytes() == b"method";
                Some((name, method))
            }
        };
        crate::lua::raise_here(&argerror_text(narg, extramsg, info))
    }
}

/// One `lua_alt_protected` operation (createtable/pushlstring, rawset/rawseti on a slot the
/// caller checked holds a table, with the key and value or the value on top; room checked by
/// the caller; `s` valid for the call); its error as an mlua error, the error value popped.
fn run_protected(state: *mut ffi::lua_State, op: c_int, idx: c_int, n: i64, s: &[u8]) -> mlua::Result<()> {
    // SAFETY: per the contract above.
    let status = unsafe { lua_alt_protected(state, op, idx, n as ffi::lua_Integer, s.as_ptr().cast(), s.len()) };
    if status == 0 {
        return Ok(());
    }
    if status == ffi::LUA_ERRRUN {
        // SAFETY: the error value is on top (lua_alt_protected); copied, then popped.
        let msg = unsafe {
            let mut len = 0usize;
            let p = ffi::lua_tolstring(state, -1, &mut len);
            let msg = if p.is_null() {
                String::new()
            } else {
                String::from_utf8_lossy(std::slice::from_raw_parts(p.cast::<u8>(), len)).into_owned()
            };
            ffi::lua_pop(state, 1);
            msg
        };
        return Err(mlua::Error::RuntimeError(msg));
    }
    // (The allocator's failure was already reported, see set_memory_error_hook.)
    Err(no_room())
}

/// Makes sure `n` slots are free above the top, growing the stack by at least GROW at a time;
/// `room` counts the slots known free (0 after anything changed the stack's shape).
fn make_room(state: *mut ffi::lua_State, room: &mut c_int, n: c_int) -> mlua::Result<()> {
    if *room >= n {
        return Ok(());
    }
    // SAFETY: never raises (see lua_alt_checkstack).
    if unsafe { lua_alt_checkstack(state, n.max(GROW)) } == 0 {
        return Err(no_room());
    }
    *room = n.max(GROW);
    Ok(())
}

/// luaL_argerror's text: `bad argument #n to 'name' (extramsg)`, `calling 'name' on bad self
/// (extramsg)` for a method's self, from the caller's call info (name, is a method) when
/// there is one.
pub fn argerror_text(narg: i64, extramsg: &str, caller: Option<(Option<String>, bool)>) -> String {
    match caller {
        None => format!("bad argument #{narg} ({extramsg})"),
        Some((name, is_method)) => {
            let name = name.unwrap_or_else(|| "?".to_string());
            let narg = if is_method { narg - 1 } else { narg };
            if is_method && narg == 0 {
                format!("calling '{name}' on bad self ({extramsg})")
            } else {
                format!("bad argument #{narg} to '{name}' ({extramsg})")
            }
        }
    }
}
