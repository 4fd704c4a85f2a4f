//! The script environment's walls (script_lua.c luaSetErrorMetatable,
//! luaSetTableProtectionRecursively, the globals allow list): only Redis's globals exist,
//! reading an unknown global is an error, and `_G`, every table reachable from it, their
//! metatables and the string metatable are read-only, so no script can leave state behind
//! for the next script or another user.

use std::collections::HashSet;

use mlua::{Lua, Table, Value};

use super::raise_here;
use crate::host;

/// The globals a script sees (the host's `_G` keys; KEYS and ARGV are set per run).
const ALLOWED_GLOBALS: &[&str] = &[
    "_G",
    "_VERSION",
    "__redis__err__handler",
    "assert",
    "bit",
    "cjson",
    "cmsgpack",
    "collectgarbage",
    "coroutine",
    "error",
    "gcinfo",
    "getmetatable",
    "ipairs",
    "load",
    "loadstring",
    "math",
    "next",
    "pairs",
    "pcall",
    "rawequal",
    "rawget",
    "rawset",
    "redis",
    "select",
    "setmetatable",
    "string",
    "struct",
    "table",
    "tonumber",
    "tostring",
    "type",
    "unpack",
    "xpcall",
];

/// Removes every global not on the allow list, makes reading a missing global an error, and
/// protects `_G`, everything reachable from it and the string metatable.
pub fn enclose(lua: &Lua) -> mlua::Result<()> {
    let globals = lua.globals();
    let mut extra = Vec::new();
    for pair in globals.pairs::<Value, Value>() {
        let (key, _) = pair?;
        let allowed = match &key {
            Value::String(s) => s.to_str().is_ok_and(|s| ALLOWED_GLOBALS.contains(&&*s)),
            _ => false,
        };
        if !allowed {
            extra.push(key);
        }
    }
    for key in extra {
        globals.raw_set(key, Value::Nil)?;
    }
    set_error_metatable(lua, &globals)?;
    protect_recursively(lua, globals)?;
    // CVE-2025-46818: the metatable of strings is shared by every script; freeze it too.
    let string_meta: Option<Table> = lua.load("return getmetatable('')").set_name("=redis-alt").eval()?;
    if let Some(meta) = string_meta {
        protect_recursively(lua, meta)?;
    }
    Ok(())
}

/// Reading a missing key of `table` raises the nonexistent-global error (luaSetErrorMetatable).
pub fn set_error_metatable(lua: &Lua, table: &Table) -> mlua::Result<()> {
    let meta = lua.create_table()?;
    meta.raw_set("__index", super::function_multi(lua, missing_global)?)?;
    table.set_metatable(Some(meta))
}

/// Makes `root` and everything reachable from it read-only.
pub fn protect(lua: &Lua, root: Table) -> mlua::Result<()> {
    protect_recursively(lua, root)
}

/// `__index` of `_G` (luaProtectedTableError).
fn missing_global(_lua: &Lua, (_table, key): (Value, Value)) -> mlua::Result<()> {
    let name = match key {
        Value::String(s) => String::from_utf8_lossy(&s.as_bytes()).into_owned(),
        Value::Integer(i) => super::number::format_g(i as f64, 14),
        Value::Number(n) => super::number::format_g(n, 14),
        _ => return Err(raise_here("Second argument to luaProtectedTableError must be a string or number")),
    };
    Err(raise_here(&format!("Script attempted to access nonexistent global variable '{name}'")))
}

/// Marks `root`, every table reachable from it and every metatable on the way read-only.
/// Iterative, with a visited set (`_G._G` points back to itself).
fn protect_recursively(lua: &Lua, root: Table) -> mlua::Result<()> {
    let mut seen = HashSet::new();
    let mut todo = vec![root];
    while let Some(table) = todo.pop() {
        if !seen.insert(table.to_pointer()) || host::table_is_readonly(lua, &table)? {
            continue;
        }
        host::set_table_readonly(lua, &table, true)?;
        for pair in table.pairs::<Value, Value>() {
            if let (_, Value::Table(t)) = pair? {
                todo.push(t);
            }
        }
        if let Some(meta) = table.metatable() {
            todo.push(meta);
        }
    }
    Ok(())
}
