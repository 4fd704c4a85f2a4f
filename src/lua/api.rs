//! The `redis` table scripts see (script_lua.c luaRegisterRedisAPI, eval.c): call/pcall,
//! error_reply/status_reply, sha1hex, log, setresp, set_repl and the constants. Built once
//! per VM; the callbacks reach the running script through run.rs, never through captures.

use mlua::{Lua, LuaString, MultiValue, Table, Value};

use super::convert::{error_table, error_table_text, reply_to_lua};
use super::number::{format_g, NumText};
use super::raise;
use crate::host::{Argv, Direct, LogLevel};
use crate::resp::{self, Item};
use crate::run::{self, CallOutcome};
use crate::sha::Sha;

/// The host's version, `major.minor.patch` and as Redis's `REDIS_VERSION_NUM` number.
#[derive(Clone, Copy, Debug)]
pub struct Version(pub i64);

impl Version {
    fn text(self) -> String {
        format!("{}.{}.{}", (self.0 >> 16) & 0xff, (self.0 >> 8) & 0xff, self.0 & 0xff)
    }
}

/// Writes a log line at a level; supplied by the caller so that this file stays host-free.
pub type Logger = fn(LogLevel, &str);

pub fn build(lua: &Lua, version: Version, logger: Logger) -> mlua::Result<Table> {
    let redis = lua.create_table()?;
    crate::host::set_direct_call(direct_call, |reply| {
        defer(CallOutcome::Reply(reply));
    });
    let command = lua.create_function(|lua, args: MultiValue| command(lua, args))?;
    redis.raw_set("call", crate::host::command_function(lua, &command, true)?)?;
    redis.raw_set("pcall", crate::host::command_function(lua, &command, false)?)?;
    redis.raw_set("error_reply", super::function(lua, error_reply)?)?;
    redis.raw_set("status_reply", super::function(lua, status_reply)?)?;
    redis.raw_set("sha1hex", super::function(lua, sha1hex)?)?;
    redis.raw_set("log", super::function_multi(lua, move |_, args: MultiValue| log(args, logger))?)?;
    redis.raw_set("setresp", super::function_multi(lua, setresp)?)?;
    redis.raw_set("set_repl", super::function_multi(lua, set_repl)?)?;
    redis.raw_set("acl_check_cmd", super::function(lua, acl_check_cmd)?)?;
    redis.raw_set("replicate_commands", super::function(lua, |_, ()| Ok(true))?)?;
    redis.raw_set("breakpoint", super::function(lua, |_, ()| Ok(false))?)?;
    redis.raw_set("debug", super::function_multi(lua, |_, _: MultiValue| Ok(()))?)?;
    for (name, value) in [("LOG_DEBUG", 0), ("LOG_VERBOSE", 1), ("LOG_NOTICE", 2), ("LOG_WARNING", 3)] {
        redis.raw_set(name, value)?;
    }
    for (name, value) in [
        ("REPL_NONE", 0),
        ("REPL_AOF", i64::from(run::REPL_AOF)),
        ("REPL_SLAVE", i64::from(run::REPL_REPLICA)),
        ("REPL_REPLICA", i64::from(run::REPL_REPLICA)),
        ("REPL_ALL", i64::from(run::REPL_ALL)),
    ] {
        redis.raw_set(name, value)?;
    }
    redis.raw_set("REDIS_VERSION", version.text())?;
    redis.raw_set("REDIS_VERSION_NUM", version.0)?;
    Ok(redis)
}

/// redis.pcall (luaRedisGenericCommand): the reply, or the error table. redis.call and
/// redis.pcall reach it through C functions (host::command_function); redis.call raises the
/// error tables.
fn command(lua: &Lua, args: MultiValue) -> mlua::Result<Value> {
    let prepared = matches!(args.front(), Some(Value::LightUserData(mark))
        if args.len() == 1 && mark.0 == crate::host::prepared_mark());
    let outcome = if prepared {
        // The trampoline ran it (direct_call) and left the outcome here.
        take_pending()
            .unwrap_or_else(|| CallOutcome::Refused(b"ERR redis.call/pcall lost its arguments".as_slice().into()))
    } else {
        match command_argv(&args) {
            Ok((name, argv)) => run::call(name.bytes(), &argv),
            // An argument error never reached a command, so no error stat counted it: its
            // table has no `ignore_error_stats_update` (luaArgsToRedisArgv).
            Err(text) => {
                run::trace_error(text.strip_prefix("ERR ").unwrap_or(text).as_bytes());
                return Ok(Value::Table(error_table(lua, text.as_bytes(), false)?));
            }
        }
    };
    match outcome {
        CallOutcome::Refused(text) => Ok(Value::Table(error_table(lua, &text, true)?)),
        CallOutcome::Reply(reply) => reply_to_lua(lua, reply.root(), run::resp3()),
    }
}

thread_local! {
    /// An outcome `direct_call` could not hand back as a plain value, for `command`.
    static PENDING: std::cell::RefCell<Option<CallOutcome>> = const { std::cell::RefCell::new(None) };
}

fn take_pending() -> Option<CallOutcome> {
    PENDING.try_with(|p| p.borrow_mut().take()).ok().flatten()
}

/// The trampoline's runner of a prepared command line (host::DirectCall): integers, bulk
/// strings, nulls, statuses and flat arrays of the first three go straight back for the
/// trampoline to push; the rest (errors, maps, sets, nested arrays, RESP3 types, refusals)
/// wait for `command`, which converts them.
fn direct_call(name: &[u8], rest: &Argv) -> Direct {
    // `command` reads the slot only after a `Deferred`, which `defer` sets; a panic's
    // `Deferred` clears it, so nothing stale (a slot a failed run left) reaches `command`.
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| direct_call_unguarded(name, rest))).unwrap_or_else(|_| {
        drop(take_pending());
        Direct::Deferred
    })
}

#[inline(always)]
fn direct_call_unguarded(name: &[u8], rest: &Argv) -> Direct {
    let outcome = run::call_inline(name, rest);
    let CallOutcome::Reply(reply) = outcome else { return defer(outcome) };
    // Read from the reply's bytes: the host never builds a reply tree for these.
    let proto = reply.proto();
    match resp::item(proto).0 {
        Item::Int(i) => Direct::Number(i as f64),
        Item::Null => {
            if run::resp3() {
                Direct::Nil
            } else {
                Direct::False
            }
        }
        Item::Bulk(_) => Direct::Bulk(reply),
        Item::Status(_) => Direct::Status(reply),
        // Read element by element as it is pushed; the trampoline hands it back if it is
        // not flat after all.
        Item::Array(_) => Direct::FlatArray(reply, run::resp3()),
        _ => defer(CallOutcome::Reply(reply)),
    }
}

/// Leaves the outcome for `command` to convert.
fn defer(outcome: CallOutcome) -> Direct {
    let _ = PENDING.try_with(|p| *p.borrow_mut() = Some(outcome));
    Direct::Deferred
}

/// A command argument as bytes: a Lua string's own, or a number printed as `%.17g`
/// (luaArgsToRedisArgv; Lua's `%.14g` would lose precision).
enum ArgBytes {
    Str(mlua::BorrowedBytes),
    Num(NumText),
}

impl ArgBytes {
    fn of(v: &Value) -> Option<ArgBytes> {
        match v {
            Value::String(s) => Some(ArgBytes::Str(s.as_bytes())),
            Value::Integer(i) => Some(ArgBytes::Num(NumText::new(*i as f64))),
            Value::Number(n) => Some(ArgBytes::Num(NumText::new(*n))),
            _ => None,
        }
    }

    fn bytes(&self) -> &[u8] {
        match self {
            ArgBytes::Str(b) => b,
            ArgBytes::Num(n) => n.as_bytes(),
        }
    }
}

/// The command name and the remaining arguments, copied straight into host strings.
fn command_argv(args: &MultiValue) -> Result<(ArgBytes, Argv<'static>), &'static str> {
    const NOT_STRING: &str = "ERR Lua redis lib command arguments must be strings or integers";
    if let (3, Some(Value::LightUserData(mark)), Some(Value::Table(packed)), Some(count)) =
        (args.len(), args.front(), args.get(1), args.get(2))
    {
        if mark.0 == crate::host::packed_mark() {
            return packed_argv(packed, count);
        }
    }
    let mut values = args.iter();
    let Some(first) = values.next() else {
        return Err("ERR Please specify at least one argument for this redis lib call");
    };
    let name = ArgBytes::of(first).ok_or(NOT_STRING)?;
    let mut argv = Argv::with_capacity(args.len() - 1);
    for v in values {
        argv.push(ArgBytes::of(v).ok_or(NOT_STRING)?.bytes());
    }
    Ok((name, argv))
}

/// redis.acl_check_cmd(cmd, ...): can the calling user run this command line?
fn acl_check_cmd(_: &Lua, args: MultiValue) -> mlua::Result<bool> {
    let (name, rest) = command_argv(&args).map_err(|text| raise(text.as_bytes().to_vec()))?;
    let mut argv = Argv::with_capacity(rest.len() + 1);
    argv.push(name.bytes());
    for i in 0..rest.len() {
        argv.push(rest.get(i).unwrap_or_default());
    }
    run::acl_allows(&argv).ok_or_else(|| raise(b"ERR Invalid command passed to redis.acl_check_cmd()".to_vec()))
}

/// A packed argument list (see host::command_function): read one value at a time, so no
/// more than a few Lua references are alive however many arguments there are.
fn packed_argv(packed: &Table, count: &Value) -> Result<(ArgBytes, Argv<'static>), &'static str> {
    const NOT_STRING: &str = "ERR Lua redis lib command arguments must be strings or integers";
    let count = match count {
        Value::Integer(i) => usize::try_from(*i).unwrap_or(0),
        Value::Number(n) => *n as usize,
        _ => 0,
    };
    let value = |i: usize| packed.raw_get::<Value>(i).map_err(|_| NOT_STRING);
    let name = ArgBytes::of(&value(1)?).ok_or(NOT_STRING)?;
    let mut argv = Argv::with_capacity(count.saturating_sub(1));
    for i in 2..=count {
        argv.push(ArgBytes::of(&value(i)?).ok_or(NOT_STRING)?.bytes());
    }
    Ok((name, argv))
}

/// The single string argument of error_reply/status_reply, or None (then they return an
/// error table instead of raising).
fn single_string(args: &MultiValue) -> Option<LuaString> {
    match only(args) {
        Some(Value::String(s)) => Some(s.clone()),
        _ => None,
    }
}

/// The argument of a one-argument call; None for any other count.
fn only(args: &MultiValue) -> Option<&Value> {
    match args.len() {
        1 => args.front(),
        _ => None,
    }
}

fn error_reply(lua: &Lua, args: MultiValue) -> mlua::Result<Table> {
    let Some(s) = single_string(&args) else {
        return error_table(lua, b"ERR wrong number or type of arguments", false);
    };
    let bytes = s.as_bytes();
    let mut line = Vec::with_capacity(bytes.len() + 1);
    if bytes.first() != Some(&b'-') {
        line.push(b'-');
    }
    line.extend_from_slice(&bytes);
    run::trace_error(&line);
    error_table(lua, &error_table_text(&line), false)
}

fn status_reply(lua: &Lua, args: MultiValue) -> mlua::Result<Table> {
    let Some(s) = single_string(&args) else {
        return error_table(lua, b"ERR wrong number or type of arguments", false);
    };
    let t = lua.create_table_with_capacity(0, 1)?;
    t.raw_set("ok", s)?;
    Ok(t)
}

/// `lua_tolstring`: strings as they are, numbers as Lua prints them (`%.14g`), else None.
fn to_lua_string(v: &Value) -> Option<Vec<u8>> {
    match v {
        Value::String(s) => Some(s.as_bytes().to_vec()),
        Value::Integer(i) => Some(format_g(*i as f64, 14).into_bytes()),
        Value::Number(n) => Some(format_g(*n, 14).into_bytes()),
        _ => None,
    }
}

/// `lua_tonumber`: numbers and numeric strings; anything else is 0.
fn to_number(v: &Value) -> Option<f64> {
    match v {
        Value::Integer(i) => Some(*i as f64),
        Value::Number(n) => Some(*n),
        Value::String(s) => {
            let s = s.to_str().ok()?;
            let t = s.trim();
            if let Some(hex) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
                return i64::from_str_radix(hex, 16).ok().map(|i| i as f64);
            }
            t.parse::<f64>().ok().filter(|_| !t.is_empty() && !t.contains(['i', 'n', 'I', 'N']))
        }
        _ => None,
    }
}

fn sha1hex(_: &Lua, args: MultiValue) -> mlua::Result<String> {
    let Some(arg) = only(&args) else {
        return Err(raise(b"ERR wrong number of arguments".to_vec()));
    };
    let bytes = to_lua_string(arg).unwrap_or_default();
    Ok(Sha::of(&bytes).as_str().to_string())
}

fn log(args: MultiValue, logger: Logger) -> mlua::Result<()> {
    let args: Vec<&Value> = args.iter().collect();
    let Some((level, rest)) = args.split_first().filter(|_| args.len() >= 2) else {
        return Err(raise(b"ERR redis.log() requires two arguments or more.".to_vec()));
    };
    let Some(level) = to_number(level) else {
        return Err(raise(b"ERR First argument must be a number (log level).".to_vec()));
    };
    let level = match level as i64 {
        0 => LogLevel::Debug,
        1 => LogLevel::Verbose,
        2 => LogLevel::Notice,
        3 => LogLevel::Warning,
        _ => return Err(raise(b"ERR Invalid debug level.".to_vec())),
    };
    let mut line = Vec::new();
    for (j, v) in rest.iter().enumerate() {
        if let Some(s) = to_lua_string(v) {
            if j != 0 {
                line.push(b' ');
            }
            line.extend_from_slice(&s);
        }
    }
    logger(level, &String::from_utf8_lossy(&line));
    Ok(())
}

fn setresp(_: &Lua, args: MultiValue) -> mlua::Result<()> {
    let Some(arg) = only(&args) else {
        return Err(raise(b"ERR redis.setresp() requires one argument.".to_vec()));
    };
    match to_number(arg).map(|n| n as i64) {
        Some(2) => run::set_resp3(false),
        Some(3) => run::set_resp3(true),
        _ => return Err(raise(b"ERR RESP version must be 2 or 3.".to_vec())),
    };
    Ok(())
}

fn set_repl(_: &Lua, args: MultiValue) -> mlua::Result<()> {
    let Some(arg) = only(&args) else {
        return Err(raise(b"ERR redis.set_repl() requires two arguments.".to_vec()));
    };
    let flags = to_number(arg).map_or(0, |n| n as i64);
    if flags & !i64::from(run::REPL_ALL) != 0 {
        return Err(raise(
            b"ERR Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.".to_vec(),
        ));
    }
    run::set_repl(u8::try_from(flags).unwrap_or(run::REPL_ALL));
    Ok(())
}
