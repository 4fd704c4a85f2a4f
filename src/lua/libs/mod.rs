//! Redis's bundled Lua libraries, written in Rust (deps/lua/src/lua_*.c): same functions,
//! same output, same error texts, and none of the C versions' overflow bugs. Plus the
//! lauxlib conventions they share: argument errors naming the function, and errors carrying
//! the caller's position as luaL_error does.

pub mod bit;
#[cfg(test)]
mod cases;
pub mod cjson;
pub mod cmsgpack;
pub mod random;
pub mod structlib;

use mlua::{Error, Lua, Value};

pub use crate::host::LuaBuf;

/// Room for `need` more bytes of an encoder's output. The output is written in place into
/// the block that becomes the Lua string (host::LuaBuf), counted in the VM's memory: it grows
/// by doubling but never past what `alt.script-memory-limit` leaves (the VM's memory read
/// through the buffer's own thread), and when even the bytes needed do not fit (or the
/// allocator refuses) a memory error ends the run.
#[inline]
pub fn reserve(out: &mut LuaBuf, need: usize) -> mlua::Result<()> {
    if out.len().saturating_add(need) <= out.capacity() {
        return Ok(());
    }
    grow(out, need)
}

#[cold]
fn grow(out: &mut LuaBuf, need: usize) -> mlua::Result<()> {
    let want = out.len().saturating_add(need);
    let mut cap = want.max(out.capacity().saturating_mul(2)).max(64);
    let limit = crate::config::script_memory_limit();
    if limit > 0 {
        // The current capacity is already counted in the VM's memory.
        let ceiling = limit.saturating_sub(out.vm_bytes()).saturating_add(out.capacity());
        cap = cap.min(ceiling).max(want);
    }
    if out.try_grow(cap) {
        return Ok(());
    }
    crate::lua::note_memory_error();
    Err(out_of_memory())
}

/// Where the number formatter writes: an encoder's output or a scratch vector.
pub trait ByteSink {
    fn push(&mut self, byte: u8);
    fn extend_from_slice(&mut self, bytes: &[u8]);
}

impl ByteSink for Vec<u8> {
    fn push(&mut self, byte: u8) {
        Vec::push(self, byte);
    }
    fn extend_from_slice(&mut self, bytes: &[u8]) {
        Vec::extend_from_slice(self, bytes);
    }
}

impl ByteSink for LuaBuf {
    fn push(&mut self, byte: u8) {
        LuaBuf::push(self, byte);
    }
    fn extend_from_slice(&mut self, bytes: &[u8]) {
        LuaBuf::extend_from_slice(self, bytes);
    }
}

fn out_of_memory() -> Error {
    Error::MemoryError("not enough memory".to_string())
}

/// luaL_error: `msg` prefixed with the position of the Lua code that called the running
/// function (luaL_where(L, 1)) when the function's C wrapper raises it (see lua::function);
/// no prefix when that caller is C (e.g. `pcall(f)`).
pub fn lua_error(_lua: &Lua, msg: &str) -> Error {
    super::raise_here(msg)
}

/// luaL_argerror: `bad argument #n to 'name' (extramsg)`, the name as Lua's call info has it
/// (`calling 'f' on bad self` for a method's self), with luaL_error's position prefix.
pub fn arg_error(lua: &Lua, narg: i64, extramsg: &str) -> Error {
    // Level 0 is the Rust callback; level 1 its C wrapper, named by the Lua code calling it.
    let info = lua.inspect_stack(1, |d| {
        let names = d.names();
        (names.name.map(|s| s.into_owned()), names.name_what == Some("method"))
    });
    let msg = crate::host::argerror_text(narg, extramsg, info);
    lua_error(lua, &msg)
}

/// `lua_tonumber` + `lua_isnumber` of argument `idx` (1-based): numbers, and strings Lua
/// converts to numbers.
pub fn to_number(lua: &Lua, args: &mlua::MultiValue, idx: usize) -> mlua::Result<(f64, bool)> {
    let v = idx.checked_sub(1).and_then(|i| args.get(i));
    Ok(match v {
        Some(Value::Number(n)) => (*n, true),
        Some(Value::Integer(i)) => (*i as f64, true),
        Some(v @ Value::String(_)) => match lua.coerce_number(v.clone())? {
            Some(n) => (n, true),
            None => (0.0, false),
        },
        _ => (0.0, false),
    })
}

/// luaL_typename of a (possibly absent) argument.
pub fn lua_typename(v: Option<&Value>) -> &'static str {
    match v {
        None => "no value",
        Some(Value::Nil) => "nil",
        Some(Value::Boolean(_)) => "boolean",
        Some(Value::Integer(_)) | Some(Value::Number(_)) => "number",
        Some(Value::String(_)) => "string",
        Some(Value::Table(_)) => "table",
        Some(Value::Function(_)) => "function",
        Some(Value::Thread(_)) => "thread",
        Some(_) => "userdata",
    }
}

// Argument checks and errors of the C libraries' lauxlib, for the plain C functions.

/// `luaL_error`.
pub fn c_error(msg: &str) -> mlua::Error {
    crate::lua::raise_here(msg)
}

/// `luaL_typerror`.
pub fn type_error(c: &crate::host::Call<'_>, narg: usize, expected: &str) -> mlua::Error {
    c.arg_error(i64::try_from(narg).unwrap_or(i64::MAX), &format!("{expected} expected, got {}", c.type_name(narg)))
}

/// `luaL_checklstring`: strings, and numbers converted the way Lua converts them.
pub fn check_lstring<'f>(c: &mut crate::host::Call<'f>, idx: usize) -> mlua::Result<&'f [u8]> {
    match c.lstring(idx)? {
        Some(s) => Ok(s),
        None => Err(type_error(c, idx, "string")),
    }
}
