//! The Lua binding (script_lua.c): one Lua 5.1 VM with Redis's globals, compiling scripts into
//! functions and running one of them with KEYS/ARGV, its error turned into Redis's error reply
//! and its result written to the client.

pub mod api;
pub mod convert;
pub mod number;

use mlua::chunk::ChunkMode;
use mlua::{Function, Lua, LuaOptions, LuaString, StdLib, Table, Value};

use crate::reply::ReplySink;
use crate::run;

/// An error raised by the module's own Lua callbacks, carrying Redis's complete error text
/// (`ERR ...`, `WRONGTYPE ...`). Scripts see it through `pcall` as that text.
#[derive(Debug)]
pub struct Raised(pub Vec<u8>);

impl std::fmt::Display for Raised {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&String::from_utf8_lossy(&self.0))
    }
}

impl std::error::Error for Raised {}

pub fn raise(text: Vec<u8>) -> mlua::Error {
    mlua::Error::external(Raised(text))
}

/// The text an mlua error stands for, as Redis would have raised it.
fn error_text(e: &mlua::Error) -> Vec<u8> {
    if let Some(Raised(text)) = e.downcast_ref::<Raised>() {
        return text.clone();
    }
    let mut inner = e;
    while let mlua::Error::CallbackError { cause, .. } | mlua::Error::WithContext { cause, .. } = inner {
        inner = cause;
    }
    let msg = match inner {
        mlua::Error::RuntimeError(m) | mlua::Error::MemoryError(m) => m.clone(),
        other => other.to_string(),
    };
    format!("ERR {msg}").into_bytes()
}

/// A compiled script, kept in the VM's registry.
pub struct Compiled(mlua::RegistryKey);

/// How a script failed, already as the error line the client gets.
pub struct ScriptFailure(pub Vec<u8>);

/// One Lua VM with Redis's environment.
pub struct LuaVm {
    lua: Lua,
    runner: Function,
    globals: Table,
    tostring: Function,
    next: Function,
    calls: u32,
}

impl LuaVm {
    pub fn new(version: api::Version, logger: api::Logger) -> mlua::Result<LuaVm> {
        let lua = Lua::new_with(StdLib::TABLE | StdLib::STRING | StdLib::MATH, LuaOptions::default())?;
        let globals = lua.globals();
        for name in ["dofile", "loadfile", "print", "getfenv", "setfenv", "newproxy"] {
            globals.raw_set(name, Value::Nil)?;
        }
        globals.raw_set("redis", api::build(&lua, version, logger)?)?;
        let tostring: Function = globals.raw_get("tostring")?;
        let next: Function = globals.raw_get("next")?;
        let handler = {
            let tostring = tostring.clone();
            lua.create_function(move |lua, err: Value| error_handler(lua, err, &tostring))?
        };
        let errtext = lua.create_function(|lua, err: Value| match err {
            Value::Error(e) => Ok(Some(lua.create_string(error_text(&e))?)),
            _ => Ok(None),
        })?;
        let runner: Function = lua
            .load(include_str!("prelude.lua"))
            .set_name("=redis-alt")
            .set_mode(ChunkMode::Text)
            .call((handler, errtext))?;
        Ok(LuaVm { lua, runner, globals, tostring, next, calls: 0 })
    }

    /// Compiles a script body (text only, never bytecode) into the Lua registry, as Redis
    /// keeps `f_<sha>` there: any number of scripts, none holding a Lua stack slot.
    /// The error is Lua's message.
    pub fn compile(&self, code: &[u8], chunk_name: &str) -> Result<Compiled, String> {
        let message = |e: mlua::Error| match e {
            mlua::Error::SyntaxError { message, .. } => message,
            other => String::from_utf8_lossy(&error_text(&other)).into_owned(),
        };
        let function =
            self.lua.load(code).set_name(chunk_name).set_mode(ChunkMode::Text).into_function().map_err(message)?;
        self.lua.create_registry_value(function).map(Compiled).map_err(message)
    }

    /// Runs an EVAL script: KEYS and ARGV as globals, the result written to `sink`.
    /// `name` is what error replies call the script (its SHA).
    pub fn run_eval(
        &mut self,
        f: &Compiled,
        keys: &[&[u8]],
        args: &[&[u8]],
        sink: &mut dyn ReplySink,
        name: &str,
    ) -> Result<(), ScriptFailure> {
        let outcome = self.set_array("KEYS", keys).and_then(|()| self.set_array("ARGV", args)).and_then(|()| {
            let f: Function = self.lua.registry_value(&f.0)?;
            let (ok, value): (bool, Value) = self.runner.call(f)?;
            if ok {
                convert::write_result(sink, &value, run::resp3(), &self.next)?;
                Ok(None)
            } else {
                Ok(Some(self.failure_text(&value, name)?))
            }
        });
        self.collect_garbage_sometimes();
        match outcome {
            Ok(None) => Ok(()),
            Ok(Some(text)) => Err(ScriptFailure(text)),
            Err(e) => Err(ScriptFailure(error_text(&e))),
        }
    }

    fn set_array(&self, name: &str, items: &[&[u8]]) -> mlua::Result<()> {
        let t = self.lua.create_table_with_capacity(items.len(), 0)?;
        for (i, item) in items.iter().enumerate() {
            t.raw_set(i + 1, self.lua.create_string(item)?)?;
        }
        self.globals.raw_set(name, t)
    }

    /// Redis runs an incremental GC step every 50 calls so that a full cycle never lands on
    /// one script (luaCallFunction, LUA_GC_CYCLE_PERIOD).
    fn collect_garbage_sometimes(&mut self) {
        self.calls += 1;
        if self.calls >= 50 {
            self.calls = 0;
            let _ = self.lua.gc_step();
        }
    }

    /// The error reply for a failed run (luaCallFunction): `<err> script: <name>, on <src>:<line>.`
    fn failure_text(&self, value: &Value, name: &str) -> mlua::Result<Vec<u8>> {
        let Value::Table(t) = value else {
            let msg = match value {
                Value::String(s) => s.as_bytes().to_vec(),
                _ => b"execution failure".to_vec(),
            };
            let mut line = format!("ERR Error running script {name}, ").into_bytes();
            line.extend(msg.iter().take(100));
            return Ok(line);
        };
        let text_of = |v: Value| -> mlua::Result<Option<Vec<u8>>> {
            Ok(match v {
                Value::String(s) => Some(s.as_bytes().to_vec()),
                Value::Integer(_) | Value::Number(_) => Some(self.tostring.call::<LuaString>(v)?.as_bytes().to_vec()),
                _ => None,
            })
        };
        let Some(mut out) = text_of(t.get::<Value>("err")?)? else {
            // Redis 7.0 crashes on an error table without `err`; answer instead.
            return Ok(format!("ERR Error running script {name}, execution failure").into_bytes());
        };
        if let (Some(source), Some(line)) = (text_of(t.get::<Value>("source")?)?, text_of(t.get::<Value>("line")?)?) {
            out.extend_from_slice(b" script: ");
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b", on ");
            out.extend_from_slice(&source);
            out.push(b':');
            out.extend_from_slice(&line);
            out.push(b'.');
        }
        Ok(out)
    }
}

/// The message handler of every run (eval.c `__redis__err__handler`): makes the error a table
/// `{err=...}` and records the source and line of the Lua frame that raised it (skipping one
/// C function such as `error` or `redis.call`).
fn error_handler(lua: &Lua, err: Value, tostring: &Function) -> mlua::Result<Table> {
    let t = match err {
        Value::Table(t) => t,
        Value::Error(e) => convert::error_table(lua, &error_text(&e), false)?,
        other => {
            let text: LuaString = tostring.call(other)?;
            let mut msg = b"ERR ".to_vec();
            msg.extend_from_slice(&text.as_bytes());
            convert::error_table(lua, &msg, false)?
        }
    };
    // Level 0 is this handler; level 1 the function that raised.
    let frame = |level: usize| {
        lua.inspect_stack(level, |d| {
            let source = d.source();
            let line = d.current_line().map_or(-1, |l| i64::try_from(l).unwrap_or(-1));
            (source.what == "C", source.source.map(|s| s.into_owned()), line)
        })
    };
    let mut info = frame(1);
    if matches!(info, Some((true, _, _))) {
        info = frame(2);
    }
    if let Some((_, source, line)) = info {
        t.set("source", source)?;
        t.set("line", line)?;
    }
    Ok(t)
}
