//! Conversions between Redis replies and Lua values (script_lua.c): a command's reply into a
//! Lua value for the script (redisProtocolToLuaType), the script's result into the client's
//! reply (luaReplyToRedisReply), and the error-table text (luaPushErrorBuff).
//! Both directions are bounded in depth, so no reply or table can exhaust the native stack.

use mlua::{Function, Lua, LuaString, Table, Value};

use crate::host::{ReplyKind, ReplyRef};
use crate::reply::ReplySink;

/// Lua's C stack limit (LUAI_MAXCSTACK): Redis answers "reached lua stack limit" past it.
pub const MAX_LUA_STACK: usize = 8000;

/// Command replies nest a few levels at most; deeper ones are refused, not recursed into.
const MAX_CALL_REPLY_DEPTH: usize = 200;

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
    if depth > MAX_CALL_REPLY_DEPTH {
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
        // Containers start empty and grow as they are filled, in reply order, as Redis builds
        // them (lua_newtable, no size hint): a table's layout decides the order of pairs()
        // and of the map or set the script returns, and the border `#` finds after holes. An
        // array that gets no nil (RESP2) is made at once in the layout its growing ends with
        // (host::grown_array_size).
        ReplyKind::Array(n) => {
            let presized = if resp3 { 0 } else { usize::try_from(crate::host::grown_array_size(n)).unwrap_or(0) };
            let t = lua.create_table_with_capacity(presized, 0)?;
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
            let map = lua.create_table()?;
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
            let set = lua.create_table()?;
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

/// What the writer needs from the VM: Lua's own `next` (to walk map and set tables in
/// `lua_next` order) and a scratch table that holds the containers being walked.
pub struct WriteTools<'a> {
    pub lua: &'a Lua,
    pub next: &'a Function,
    pub scratch: &'a Table,
    pub keys: &'a ResultKeys,
}

/// The field names a result table is probed for, made once per VM: a key that is already a
/// Lua string is pushed by reference, where a `&str` key costs a protected call (and a
/// closure) per lookup.
pub struct ResultKeys {
    err: LuaString,
    ok: LuaString,
    double: LuaString,
    big_number: LuaString,
    verbatim_string: LuaString,
    format: LuaString,
    string: LuaString,
    map: LuaString,
    set: LuaString,
}

impl ResultKeys {
    pub fn new(lua: &Lua) -> mlua::Result<ResultKeys> {
        Ok(ResultKeys {
            err: lua.create_string("err")?,
            ok: lua.create_string("ok")?,
            double: lua.create_string("double")?,
            big_number: lua.create_string("big_number")?,
            verbatim_string: lua.create_string("verbatim_string")?,
            format: lua.create_string("format")?,
            string: lua.create_string("string")?,
            map: lua.create_string("map")?,
            set: lua.create_string("set")?,
        })
    }
}

/// Writes the script's result to the client (luaReplyToRedisReply). `script_resp3` is the
/// protocol the script chose with redis.setresp: it decides only how booleans are sent.
///
/// Iterative, with an explicit stack: deep or self-referencing tables cost heap, not native
/// stack, and the tables being walked sit in a Lua scratch table, not in Rust-held references
/// (of which a Lua 5.1 VM has only about 8,000). Depth is accounted in Lua stack slots the
/// way Redis's recursion uses them, so "reached lua stack limit" appears exactly where Redis
/// puts it. The reply is always well formed: an internal failure becomes an error element
/// in place and every open container is closed.
pub fn write_result(sink: &mut dyn ReplySink, value: Value, script_resp3: bool, tools: &WriteTools<'_>) {
    let limit = crate::config::script_memory_limit();
    let mut budget = Budget { inner: sink, left: (limit > 0).then_some(limit), over: false, reported: false, limit };
    let mut w = Writer { sink: &mut budget, resp3: script_resp3, tools, stack: Vec::new(), current: None };
    if let Err(e) = w.write_all(value) {
        w.sink.error(format!("ERR {e}").as_bytes());
        while let Some(frame) = w.stack.pop() {
            w.forget(&frame);
            frame.close(w.sink);
        }
    }
}

/// Writes a result that is not a table exactly as `write_result` would (`write_one`
/// through a fresh budget), or the header of a plain array (`write_flat`'s, its elements
/// then coming one by one); false, having written nothing, for a string or an array the
/// budget refuses (`write_result` then writes it with its replacement). `script_resp3` is
/// asked only for a boolean.
pub fn write_scalar(sink: &mut dyn ReplySink, value: crate::host::Scalar<'_>, script_resp3: fn() -> bool) -> bool {
    use crate::host::Scalar;
    match value {
        Scalar::Str(s) => {
            let limit = crate::config::script_memory_limit();
            if limit > 0 && s.len().saturating_add(ELEMENT_COST) > limit {
                return false;
            }
            sink.bulk(s)
        }
        Scalar::Number(n) => sink.int(number_to_int(n)),
        Scalar::Bool(b) => {
            if script_resp3() {
                sink.boolean(b)
            } else if b {
                sink.int(1)
            } else {
                sink.null()
            }
        }
        Scalar::Nil => sink.null(),
        Scalar::Array { len, bytes } => {
            // Written at once only if the whole array fits the budget: then no element of
            // it could have been cut (each costs its bytes and ELEMENT_COST, as the header).
            let limit = crate::config::script_memory_limit();
            let cost = bytes.saturating_add(len.saturating_add(1).saturating_mul(ELEMENT_COST));
            if limit > 0 && cost > limit {
                return false;
            }
            sink.array(Some(len))
        }
    }
    true
}

/// The reply being written, held to `alt.script-memory-limit` in bytes (0: no bound, as
/// natively). A result can reference one table or string many times (a table holding itself
/// twice is a reply of 2^8000 elements, a 500 MB string a hundred times is 50 GB): written out,
/// it fills the client's output buffer until the host runs out of memory (native hangs, then
/// is killed). Past the budget, the next string or container is written as one error element
/// and every one after it as a null: the reply stays well formed and small.
struct Budget<'a> {
    inner: &'a mut dyn ReplySink,
    left: Option<usize>,
    over: bool,
    reported: bool,
    limit: usize,
}

/// What a reply element costs beyond its bytes (type, length, CRLFs).
const ELEMENT_COST: usize = 16;

impl Budget<'_> {
    /// Spends `bytes`; false once the budget is gone.
    fn take(&mut self, bytes: usize) -> bool {
        if self.over {
            return false;
        }
        let Some(left) = self.left.as_mut() else { return true };
        let cost = bytes.saturating_add(ELEMENT_COST);
        if *left >= cost {
            *left -= cost;
            return true;
        }
        self.over = true;
        false
    }

    /// An element written in place of one past the budget.
    fn replacement(&mut self) {
        if self.reported {
            self.inner.null();
            return;
        }
        self.reported = true;
        crate::metrics::MEMORY_LIMIT_HITS.add(1);
        let text = format!(
            "ERR Script reply too large: it passed alt.script-memory-limit ({} bytes); the rest is left out",
            self.limit
        );
        crate::host::log_any_thread(crate::host::LogLevel::Warning, &format!("Lua script reply cut: {text}"));
        self.inner.error(text.as_bytes());
    }
}

impl ReplySink for Budget<'_> {
    fn bulk(&mut self, s: &[u8]) {
        if self.take(s.len()) {
            self.inner.bulk(s)
        } else {
            self.replacement()
        }
    }
    fn status(&mut self, s: &[u8]) {
        if self.take(s.len()) {
            self.inner.status(s)
        } else {
            self.replacement()
        }
    }
    fn error(&mut self, s: &[u8]) {
        if self.take(s.len()) {
            self.inner.error(s)
        } else {
            self.replacement()
        }
    }
    fn int(&mut self, i: i64) {
        self.take(0);
        self.inner.int(i)
    }
    fn double(&mut self, d: f64) {
        self.take(0);
        self.inner.double(d)
    }
    fn null(&mut self) {
        self.take(0);
        self.inner.null()
    }
    fn boolean(&mut self, b: bool) {
        self.take(0);
        self.inner.boolean(b)
    }
    fn big_number(&mut self, s: &[u8]) {
        if self.take(s.len()) {
            self.inner.big_number(s)
        } else {
            self.replacement()
        }
    }
    fn verbatim(&mut self, s: &[u8], format: &[u8]) {
        if self.take(s.len()) {
            self.inner.verbatim(s, format)
        } else {
            self.replacement()
        }
    }
    // Container headers cannot be replaced once written: the writer asks `over` before it
    // opens one.
    fn array(&mut self, len: Option<usize>) {
        self.take(0);
        self.inner.array(len)
    }
    fn end_array(&mut self, len: usize) {
        self.inner.end_array(len)
    }
    fn map(&mut self, len: Option<usize>) {
        self.take(0);
        self.inner.map(len)
    }
    fn end_map(&mut self, len: usize) {
        self.inner.end_map(len)
    }
    fn set(&mut self, len: Option<usize>) {
        self.take(0);
        self.inner.set(len)
    }
    fn end_set(&mut self, len: usize) {
        self.inner.end_set(len)
    }
}

/// Slots a value needs on Redis's Lua stack before it converts it (lua_checkstack(4)).
const STACK_ROOM: usize = 4;

struct Writer<'a, 'b, 'c> {
    sink: &'a mut Budget<'c>,
    resp3: bool,
    tools: &'a WriteTools<'b>,
    stack: Vec<Frame>,
    /// The table of the frame on top of `stack`, once read from `scratch` (one reference,
    /// so the walk still holds a bounded number).
    current: Option<Table>,
}

/// A container being written. Its table is `scratch[2 * depth + 1]`; a map or set also keeps
/// its iteration key at `scratch[2 * depth + 2]`.
enum Frame {
    Array {
        written: usize,
        slots: usize,
    },
    /// A map (`value_next` holds the entry's value while its key is written) or a set.
    Items {
        value_next: bool,
        count: usize,
        map: bool,
        slots: usize,
    },
}

impl Frame {
    fn close(&self, sink: &mut dyn ReplySink) {
        match *self {
            Frame::Array { written, .. } => sink.end_array(written),
            Frame::Items { count, map: true, .. } => sink.end_map(count),
            Frame::Items { count, map: false, .. } => sink.end_set(count),
        }
    }
}

impl Writer<'_, '_, '_> {
    fn write_all(&mut self, value: Value) -> mlua::Result<()> {
        // Redis starts with the error handler and the result on its stack.
        let mut pending = Some((value, 2));
        loop {
            if let Some((value, slots)) = pending.take() {
                self.write_one(value, slots)?;
            }
            let depth = self.stack.len();
            let Some(mut top) = self.stack.pop() else { return Ok(()) };
            let next = match self.advance(&mut top, depth) {
                Ok(next) => next,
                Err(e) => {
                    // Keep it open so the error path closes it.
                    self.stack.push(top);
                    return Err(e);
                }
            };
            match next {
                Some(item) => {
                    pending = Some(item);
                    self.stack.push(top);
                }
                None => {
                    self.forget(&top);
                    top.close(self.sink);
                }
            }
        }
    }

    fn table_slot(depth: usize) -> usize {
        2 * depth + 1
    }

    /// Drops a finished frame's entries from the scratch table (the frame was at the top).
    fn forget(&mut self, frame: &Frame) {
        self.current = None;
        let depth = self.stack.len() + 1;
        let _ = self.tools.scratch.raw_set(Self::table_slot(depth), Value::Nil);
        // Only maps and sets keep an iteration key.
        if matches!(frame, Frame::Items { .. }) {
            let _ = self.tools.scratch.raw_set(Self::table_slot(depth) + 1, Value::Nil);
        }
    }

    /// The next element of the frame at `depth` with the stack slots it will sit at.
    fn advance(&mut self, frame: &mut Frame, depth: usize) -> mlua::Result<Option<(Value, usize)>> {
        let scratch = self.tools.scratch;
        let table = match self.current.take() {
            Some(table) => table,
            None => scratch.raw_get(Self::table_slot(depth))?,
        };
        let next = Self::next_of(scratch, self.tools.next, &table, frame, depth);
        self.current = Some(table);
        next
    }

    fn next_of(
        scratch: &Table,
        next: &Function,
        table: &Table,
        frame: &mut Frame,
        depth: usize,
    ) -> mlua::Result<Option<(Value, usize)>> {
        match frame {
            Frame::Array { written, slots } => {
                let v = table.raw_get::<Value>(*written + 1)?;
                if v.is_nil() {
                    return Ok(None);
                }
                *written += 1;
                Ok(Some((v, *slots + 1)))
            }
            Frame::Items { value_next, count, map, slots } => {
                let key: Value = scratch.raw_get(Self::table_slot(depth) + 1)?;
                // Stack while converting: table, map, key, value, and the key's copy.
                if *value_next {
                    *value_next = false;
                    return Ok(Some((table.raw_get(key)?, *slots + 3)));
                }
                let (k, _): (Value, Value) = next.call((table, key))?;
                if k.is_nil() {
                    return Ok(None);
                }
                scratch.raw_set(Self::table_slot(depth) + 1, &k)?;
                *count += 1;
                *value_next = *map;
                Ok(Some((k, *slots + if *map { 4 } else { 3 })))
            }
        }
    }

    /// Writes a scalar, or opens a container and pushes its frame.
    fn write_one(&mut self, value: Value, slots: usize) -> mlua::Result<()> {
        if slots + STACK_ROOM > MAX_LUA_STACK {
            self.sink.error(b"ERR reached lua stack limit");
            return Ok(());
        }
        let sink = &mut *self.sink;
        match value {
            Value::String(s) => sink.bulk(&s.as_bytes()),
            Value::Boolean(b) => {
                if self.resp3 {
                    sink.boolean(b)
                } else if b {
                    sink.int(1)
                } else {
                    sink.null()
                }
            }
            Value::Integer(i) => sink.int(i),
            Value::Number(n) => sink.int(number_to_int(n)),
            Value::Table(_) if sink.over => sink.replacement(),
            Value::Table(t) => return self.write_table(t, slots),
            _ => sink.null(),
        }
        Ok(())
    }

    /// Pushes the frame of a container whose header was just written (pushed first, so that
    /// a failure below still closes it).
    fn open(&mut self, table: Table, frame: Frame) -> mlua::Result<()> {
        self.stack.push(frame);
        self.tools.scratch.raw_set(Self::table_slot(self.stack.len()), &table)?;
        self.current = Some(table);
        Ok(())
    }

    /// A plain array of strings, numbers and booleans, as `write_one` writes each; false
    /// (nothing written) if it holds anything else.
    fn write_flat(&mut self, t: &Table) -> mlua::Result<bool> {
        use crate::host::Flat;
        let resp3 = self.resp3;
        let sink = &mut *self.sink;
        crate::host::flat_array(self.tools.lua, t, &mut |item| match item {
            Flat::Len(n) => sink.array(Some(n)),
            Flat::Str(s) => sink.bulk(s),
            Flat::Num(n) => sink.int(number_to_int(n)),
            Flat::Bool(b) if resp3 => sink.boolean(b),
            Flat::Bool(true) => sink.int(1),
            Flat::Bool(false) => sink.null(),
        })
    }

    fn write_table(&mut self, t: Table, slots: usize) -> mlua::Result<()> {
        let sink = &mut *self.sink;
        let keys = self.tools.keys;
        // One probe tells which special fields are there; a plain array has none.
        let probed = crate::host::field_types(
            self.tools.lua,
            &t,
            [&keys.err, &keys.ok, &keys.double, &keys.big_number, &keys.verbatim_string, &keys.map, &keys.set],
        )?;
        if probed.iter().all(|&ty| ty == mlua::ffi::LUA_TNIL) {
            // Scalars only (the common case): written in one pass, no frame. Near the stack
            // limit the general path writes it, with the limit's error in place.
            if slots + 1 + STACK_ROOM <= MAX_LUA_STACK && self.write_flat(&t)? {
                return Ok(());
            }
            let sink = &mut *self.sink;
            sink.array(None);
            return self.open(t, Frame::Array { written: 0, slots });
        }
        if let Value::String(e) = t.raw_get::<Value>(&keys.err)? {
            sink.error(&e.as_bytes());
            return Ok(());
        }
        if let Value::String(ok) = t.raw_get::<Value>(&keys.ok)? {
            sink.status(&ok.as_bytes());
            return Ok(());
        }
        match t.raw_get::<Value>(&keys.double)? {
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
        if let Value::String(b) = t.raw_get::<Value>(&keys.big_number)? {
            sink.big_number(&crate::reply::protocol_safe(&b.as_bytes()));
            return Ok(());
        }
        if let Value::Table(v) = t.raw_get::<Value>(&keys.verbatim_string)? {
            if let (Value::String(format), Value::String(s)) =
                (v.raw_get::<Value>(&keys.format)?, v.raw_get::<Value>(&keys.string)?)
            {
                sink.verbatim(&s.as_bytes(), &format.as_bytes());
                return Ok(());
            }
        }
        for (field, map) in [(&keys.map, true), (&keys.set, false)] {
            if let Value::Table(items) = t.raw_get::<Value>(field)? {
                if map {
                    sink.map(None);
                } else {
                    sink.set(None);
                }
                return self.open(items, Frame::Items { value_next: false, count: 0, map, slots });
            }
        }
        sink.array(None);
        self.open(t, Frame::Array { written: 0, slots })
    }
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
        let next: Function = lua.globals().get("next").unwrap();
        let scratch = lua.create_table().unwrap();
        let keys = ResultKeys::new(&lua).unwrap();
        write_result(&mut r, v, resp3, &WriteTools { lua: &lua, next: &next, scratch: &scratch, keys: &keys });
        assert_eq!(scratch.raw_len(), 0, "scratch left non-empty");
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
    fn big_maps_hold_no_references() {
        let out = run("local m = {} for i = 1, 20000 do m['k'..i] = 'v'..i end return {map=m}", false);
        assert_eq!(out.len(), 40002);
    }

    #[test]
    fn deep_distinct_tables_hold_no_references() {
        let out = run("local t = {} local c = t for i = 1, 100000 do c[1] = {} c = c[1] end return t", false);
        assert_eq!(out.iter().filter(|e| *e == "*?").count(), 7995);
        assert_eq!(out.last().map(String::as_str), Some("*end1"));
    }

    #[test]
    fn self_reference_is_bounded() {
        let out = run("local t = {} t[1] = t return t", false);
        // As native 7.0.15: 7995 nested one-element arrays, then the error.
        assert_eq!(out.iter().filter(|e| *e == "*?").count(), 7995);
        assert_eq!(out.len(), 2 * 7995 + 1);
        assert!(out.contains(&"-ERR reached lua stack limit".to_string()));
    }
}
