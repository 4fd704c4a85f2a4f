//! FUNCTION LOAD on the Lua side (function_lua.c luaEngineCreate, luaRegisterFunction): the
//! load-time environment (only `redis.register_function`, `redis.log`, `LOG_*` and the version
//! fields), the 500 ms load timeout, and `redis.register_function` collecting what a library
//! registers.

use std::sync::Mutex;
use std::time::Instant;

use mlua::{Lua, MultiValue, Table, Value};

use super::{raise, Compiled};
use crate::shebang::{self, ScriptFlags};

/// One function a library registered.
pub struct Registration {
    pub name: Vec<u8>,
    pub description: Option<Vec<u8>>,
    pub flags: ScriptFlags,
    pub function: Compiled,
    /// A Lua function without upvalues (host::plain_lua_function): its runs may refill the
    /// arrays they hand it.
    pub plain: bool,
}

/// The load in progress: at most one (loads cannot nest).
struct Load {
    deadline: Option<Instant>,
    registered: Vec<Registration>,
}

static LOAD: Mutex<Option<Load>> = Mutex::new(None);

/// Opens a load; `None` deadline = no timeout (replicated loads).
pub fn begin(deadline: Option<Instant>) {
    if let Ok(mut load) = LOAD.lock() {
        *load = Some(Load { deadline, registered: Vec::new() });
    }
}

/// Closes the load and hands over what was registered.
pub fn finish() -> Vec<Registration> {
    LOAD.lock().ok().and_then(|mut l| l.take()).map(|l| l.registered).unwrap_or_default()
}

/// True once a load has run past its deadline (checked from the VM's periodic hook).
pub fn timed_out() -> bool {
    LOAD.lock().ok().and_then(|l| l.as_ref().and_then(|l| l.deadline)).is_some_and(|d| Instant::now() > d)
}

fn err(msg: &str) -> mlua::Error {
    raise(format!("ERR {msg}").into_bytes())
}

/// `redis.register_function(name, callback)` or `redis.register_function{function_name=...,
/// callback=..., flags={...}, description=...}`.
pub fn register_function(lua: &Lua, args: MultiValue) -> mlua::Result<()> {
    if LOAD.lock().map(|l| l.is_none()).unwrap_or(true) {
        return Err(err("redis.register_function can only be called on FUNCTION LOAD command"));
    }
    let (name, description, flags, callback) = match args.len() {
        1 => named_args(args.front())?,
        2 => {
            let name = match args.front() {
                Some(Value::String(s)) => s.as_bytes().to_vec(),
                Some(Value::Integer(i)) => super::number::format_g(*i as f64, 14).into_bytes(),
                Some(Value::Number(n)) => super::number::format_g(*n, 14).into_bytes(),
                _ => return Err(err("first argument to redis.register_function must be a string")),
            };
            let Some(Value::Function(f)) = args.get(1) else {
                return Err(err("second argument to redis.register_function must be a function"));
            };
            (name, None, ScriptFlags::default(), f.clone())
        }
        _ => return Err(err("wrong number of arguments to redis.register_function")),
    };
    if !shebang::valid_name(&name) {
        return Err(err(
            "Library names can only contain letters, numbers, or underscores(_) and must be at least one character long",
        ));
    }
    let plain = crate::host::plain_lua_function(lua, &callback);
    let function = Compiled(lua.create_registry_value(callback)?);
    let mut load = LOAD.lock().map_err(|_| err("load state unavailable"))?;
    let Some(load) = load.as_mut() else {
        return Err(err("redis.register_function can only be called on FUNCTION LOAD command"));
    };
    if load.registered.iter().any(|r| r.name == name) {
        return Err(err("Function already exists in the library"));
    }
    load.registered.push(Registration { name, description, flags, function, plain });
    Ok(())
}

type Named = (Vec<u8>, Option<Vec<u8>>, ScriptFlags, mlua::Function);

fn named_args(arg: Option<&Value>) -> mlua::Result<Named> {
    let Some(Value::Table(t)) = arg else {
        return Err(err(
            "calling redis.register_function with a single argument is only applicable to Lua table (representing named arguments).",
        ));
    };
    let (mut name, mut description, mut flags, mut callback) = (None, None, ScriptFlags::default(), None);
    for pair in t.clone().pairs::<Value, Value>() {
        let (key, value) = pair?;
        let key = match &key {
            Value::String(s) => s.as_bytes().to_ascii_lowercase(),
            Value::Integer(_) | Value::Number(_) => Vec::new(),
            _ => return Err(err("named argument key given to redis.register_function is not a string")),
        };
        match key.as_slice() {
            b"function_name" => {
                name =
                    Some(string_arg(&value).ok_or_else(|| {
                        err("function_name argument given to redis.register_function must be a string")
                    })?)
            }
            b"description" => {
                description = Some(
                    string_arg(&value)
                        .ok_or_else(|| err("description argument given to redis.register_function must be a string"))?,
                )
            }
            b"callback" => match value {
                Value::Function(f) => callback = Some(f),
                _ => return Err(err("callback argument given to redis.register_function must be a function")),
            },
            b"flags" => {
                let Value::Table(list) = value else {
                    return Err(err(
                        "flags argument to redis.register_function must be a table representing function flags",
                    ));
                };
                flags = read_flags(&list)?;
            }
            _ => return Err(err("unknown argument given to redis.register_function")),
        }
    }
    let name = name.ok_or_else(|| err("redis.register_function must get a function name argument"))?;
    let callback = callback.ok_or_else(|| err("redis.register_function must get a callback argument"))?;
    Ok((name, description, flags, callback))
}

/// `lua_isstring`: strings and numbers (as Lua prints them).
fn string_arg(v: &Value) -> Option<Vec<u8>> {
    match v {
        Value::String(s) => Some(s.as_bytes().to_vec()),
        Value::Integer(i) => Some(super::number::format_g(*i as f64, 14).into_bytes()),
        Value::Number(n) => Some(super::number::format_g(*n, 14).into_bytes()),
        _ => None,
    }
}

/// luaRegisterFunctionReadFlags: flags[1], flags[2], ... until nil; names case-insensitive.
fn read_flags(list: &Table) -> mlua::Result<ScriptFlags> {
    let mut flags = ScriptFlags::default();
    for i in 1.. {
        let v: Value = list.get(i)?;
        if v.is_nil() {
            break;
        }
        let known = string_arg(&v).is_some_and(|name| shebang::set_flag_ignoring_case(&mut flags, &name));
        if !known {
            return Err(err("unknown flag given"));
        }
    }
    Ok(flags)
}
