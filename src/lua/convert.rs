//! Conversions between Redis replies and Lua values (script_lua.c): a command's reply into a
//! Lua value for the script (redisProtocolToLuaType), the script's result into the client's
//! reply (luaReplyToRedisReply), and the error-table text (luaPushErrorBuff).
//! Both directions are bounded in depth, so no reply or table can exhaust the native stack.

use mlua::{Lua, Table, Value};

use crate::host::{ReplyKind, ReplyRef};
use crate::reply::ReplySink;

/// Nesting beyond this is answered with Redis's "reached lua stack limit" error element.
/// (Redis runs out of Lua stack after about this many levels; LUAI_MAXCSTACK is 8000.)
pub const MAX_REPLY_DEPTH: usize = 7990;

/// Text of the error table Redis builds from an error reply line (luaPushErrorBuff): a
/// leading `-` is dropped and the first word is the code; without a space the code is `ERR`;
/// CR/LF around the message are trimmed.
pub fn error_table_text(line: &[u8]) -> Vec<u8> {
    // Redis copies the line as a C string.
    let line = line.get(..line.iter().position(|&b| b == 0).unwrap_or(line.len())).unwrap_or_default();
    let (code, msg): (&[u8], &[u8]) = match line.strip_prefix(b"-") {
        Some(rest) => match rest.iter().position(|&b| b == b' ') {
            Some(sp) => (rest.get(..sp).unwrap_or_default(), rest.get(sp + 1..).unwrap_or_default()),
            None => (b"ERR", rest),
        },
        None => (b"ERR", line),
    };
    let is_crlf = |b: &u8| *b == b'\r' || *b == b'\n';
    let start = msg.iter().position(|b| !is_crlf(b)).unwrap_or(msg.len());
    let end = msg.iter().rposition(|b| !is_crlf(b)).map_or(start, |e| e + 1);
    let msg = msg.get(start..end).unwrap_or_default();
    let mut out = Vec::with_capacity(code.len() + 1 + msg.len());
    out.extend_from_slice(code);
    out.push(b' ');
    out.extend_from_slice(msg);
    out
}

/// A new `{err=<text>}` table, as redis.pcall returns it for a failed command.
pub fn error_table(lua: &Lua, text: &[u8], from_command: bool) -> mlua::Result<Table> {
    let t = lua.create_table_with_capacity(0, 2)?;
    t.raw_set("err", lua.create_string(text)?)?;
    if from_command {
        // Redis marks errors that the command already counted in the error stats.
        t.raw_set("ignore_error_stats_update", true)?;
    }
    Ok(t)
}

/// A command's reply as the script sees it. `resp3` is the script's protocol (redis.setresp).
pub fn reply_to_lua(lua: &Lua, reply: ReplyRef<'_>, resp3: bool) -> mlua::Result<Value> {
    reply_to_lua_at(lua, reply, resp3, 0)
}

fn reply_to_lua_at(lua: &Lua, reply: ReplyRef<'_>, resp3: bool, depth: usize) -> mlua::Result<Value> {
    if depth > MAX_REPLY_DEPTH {
        return Err(mlua::Error::runtime("reply nested too deeply"));
    }
    let single = |key: &str, value: Value| -> mlua::Result<Value> {
        let t = lua.create_table_with_capacity(0, 1)?;
        t.raw_set(key, value)?;
        Ok(Value::Table(t))
    };
    Ok(match reply.kind() {
        ReplyKind::Bulk(s) => Value::String(lua.create_string(s)?),
        ReplyKind::Int(i) => Value::Number(i as f64),
        ReplyKind::Status(s) => single("ok", Value::String(lua.create_string(s)?))?,
        ReplyKind::Error(s) => {
            let mut line = Vec::with_capacity(s.len() + 1);
            line.push(b'-');
            line.extend_from_slice(s);
            Value::Table(error_table(lua, &error_table_text(&line), true)?)
        }
        // RESP2 nulls ($-1, *-1) are false; the RESP3 null is nil.
        ReplyKind::Null => {
            if resp3 {
                Value::Nil
            } else {
                Value::Boolean(false)
            }
        }
        ReplyKind::Array(n) => {
            let t = lua.create_table_with_capacity(n.min(1 << 16), 0)?;
            for i in 0..n {
                let v = match reply.element(i) {
                    Some(e) => reply_to_lua_at(lua, e, resp3, depth + 1)?,
                    None => Value::Boolean(false),
                };
                t.raw_set(i + 1, v)?;
            }
            Value::Table(t)
        }
        ReplyKind::Map(n) => {
            let map = lua.create_table_with_capacity(0, n.min(1 << 16))?;
            for i in 0..n {
                if let Some((k, v)) = reply.pair(i) {
                    let k = reply_to_lua_at(lua, k, resp3, depth + 1)?;
                    let v = reply_to_lua_at(lua, v, resp3, depth + 1)?;
                    map.raw_set(k, v)?;
                }
            }
            single("map", Value::Table(map))?
        }
        ReplyKind::Set(n) => {
            let set = lua.create_table_with_capacity(0, n.min(1 << 16))?;
            for i in 0..n {
                if let Some(e) = reply.element(i) {
                    set.raw_set(reply_to_lua_at(lua, e, resp3, depth + 1)?, true)?;
                }
            }
            single("set", Value::Table(set))?
        }
        ReplyKind::Bool(b) => Value::Boolean(b),
        ReplyKind::Double(d) => single("double", Value::Number(d))?,
        ReplyKind::BigNumber(s) => single("big_number", Value::String(lua.create_string(s)?))?,
        ReplyKind::Verbatim(format, s) => {
            let inner = lua.create_table_with_capacity(0, 2)?;
            inner.raw_set("string", lua.create_string(s)?)?;
            inner.raw_set("format", lua.create_string(format)?)?;
            single("verbatim_string", Value::Table(inner))?
        }
        ReplyKind::Unknown => Value::Boolean(false),
    })
}

/// `(long long)n` as x86-64 computes it: out-of-range values and NaN become INT64_MIN.
pub fn number_to_int(n: f64) -> i64 {
    const LIMIT: f64 = 9_223_372_036_854_775_808.0; // 2^63
    if n.is_nan() || !(-LIMIT..LIMIT).contains(&n) {
        i64::MIN
    } else {
        n as i64
    }
}

/// Writes the script's result to the client (luaReplyToRedisReply). `script_resp3` is the
/// protocol the script chose with redis.setresp: it decides only how booleans are sent.
pub fn write_result(sink: &mut dyn ReplySink, value: &Value, script_resp3: bool) -> mlua::Result<()> {
    write_at(sink, value, script_resp3, 0)
}

fn write_at(sink: &mut dyn ReplySink, value: &Value, resp3: bool, depth: usize) -> mlua::Result<()> {
    if depth >= MAX_REPLY_DEPTH {
        sink.error(b"ERR reached lua stack limit");
        return Ok(());
    }
    match value {
        Value::String(s) => sink.bulk(&s.as_bytes()),
        Value::Boolean(b) => {
            if resp3 {
                sink.boolean(*b)
            } else if *b {
                sink.int(1)
            } else {
                sink.null()
            }
        }
        Value::Integer(i) => sink.int(*i),
        Value::Number(n) => sink.int(number_to_int(*n)),
        Value::Table(t) => write_table(sink, t, resp3, depth)?,
        _ => sink.null(),
    }
    Ok(())
}

fn write_table(sink: &mut dyn ReplySink, t: &Table, resp3: bool, depth: usize) -> mlua::Result<()> {
    if let Value::String(e) = t.raw_get::<Value>("err")? {
        sink.error(&e.as_bytes());
        return Ok(());
    }
    if let Value::String(ok) = t.raw_get::<Value>("ok")? {
        sink.status(&ok.as_bytes());
        return Ok(());
    }
    match t.raw_get::<Value>("double")? {
        Value::Number(d) => {
            sink.double(d);
            return Ok(());
        }
        Value::Integer(i) => {
            sink.double(i as f64);
            return Ok(());
        }
        _ => {}
    }
    if let Value::String(b) = t.raw_get::<Value>("big_number")? {
        sink.big_number(&crate::reply::protocol_safe(&b.as_bytes()));
        return Ok(());
    }
    if let Value::Table(v) = t.raw_get::<Value>("verbatim_string")? {
        if let (Value::String(format), Value::String(s)) =
            (v.raw_get::<Value>("format")?, v.raw_get::<Value>("string")?)
        {
            sink.verbatim(&s.as_bytes(), &format.as_bytes());
            return Ok(());
        }
    }
    if let Value::Table(map) = t.raw_get::<Value>("map")? {
        sink.map(None);
        let mut n = 0;
        for pair in map.pairs::<Value, Value>() {
            let (k, v) = pair?;
            write_at(sink, &k, resp3, depth + 1)?;
            write_at(sink, &v, resp3, depth + 1)?;
            n += 1;
        }
        sink.end_map(n);
        return Ok(());
    }
    if let Value::Table(set) = t.raw_get::<Value>("set")? {
        sink.set(None);
        let mut n = 0;
        for pair in set.pairs::<Value, Value>() {
            let (k, _) = pair?;
            write_at(sink, &k, resp3, depth + 1)?;
            n += 1;
        }
        sink.end_set(n);
        return Ok(());
    }
    sink.array(None);
    let mut n = 0;
    loop {
        let v = t.raw_get::<Value>(n + 1)?;
        if v.is_nil() {
            break;
        }
        write_at(sink, &v, resp3, depth + 1)?;
        n += 1;
    }
    sink.end_array(n);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reply::testing::Recorder;

    #[test]
    fn error_texts() {
        let t = |s: &str| String::from_utf8(error_table_text(s.as_bytes())).unwrap();
        assert_eq!(t("-My Error"), "My Error");
        assert_eq!(t("-FOO"), "ERR FOO");
        assert_eq!(t("-"), "ERR ");
        assert_eq!(t("-WRONGTYPE Operation\r\n"), "WRONGTYPE Operation");
        assert_eq!(t("plain text"), "ERR plain text");
    }

    #[test]
    fn int_truncation() {
        assert_eq!(number_to_int(3.99), 3);
        assert_eq!(number_to_int(-3.99), -3);
        assert_eq!(number_to_int(f64::NAN), i64::MIN);
        assert_eq!(number_to_int(f64::INFINITY), i64::MIN);
        assert_eq!(number_to_int(1e300), i64::MIN);
    }

    fn run(code: &str, resp3: bool) -> Vec<String> {
        let lua = Lua::new();
        let v: Value = lua.load(code).eval().unwrap();
        let mut r = Recorder::default();
        write_result(&mut r, &v, resp3).unwrap();
        r.0
    }

    #[test]
    fn lua_to_reply() {
        assert_eq!(run("return {1, 'a', {ok='x'}, nil, 5}", false), ["*?", ":1", "$a", "+x", "*end3"]);
        assert_eq!(run("return {err='E x', ok='y'}", false), ["-E x"]);
        assert_eq!(run("return false", false), ["_"]);
        assert_eq!(run("return true", false), [":1"]);
        assert_eq!(run("return false", true), ["#f"]);
        assert_eq!(run("return {double=1.5}", false), [",1.5"]);
        assert_eq!(run("return {ok=1}", false), ["*?", "*end0"]);
        assert_eq!(run("return 3.7", false), [":3"]);
        assert_eq!(run("return {map={a=1}}", false), ["%?", "$a", ":1", "%end1"]);
        assert_eq!(run("return {set={a=false}}", false), ["~?", "$a", "~end1"]);
        assert_eq!(run("return {verbatim_string={format='txt', string='s'}}", false), ["=txt:s"]);
        assert_eq!(run("return {verbatim_string={format='txt'}}", false), ["*?", "*end0"]);
    }

    #[test]
    fn self_reference_is_bounded() {
        let out = run("local t = {} t[1] = t return t", false);
        assert_eq!(out.len(), 2 * MAX_REPLY_DEPTH + 1);
        assert!(out.contains(&"-ERR reached lua stack limit".to_string()));
    }
}
