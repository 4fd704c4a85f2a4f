//! `cjson` for scripts: a safe Rust rewrite of the Lua CJSON 2.1.0 library that Redis 7.0.15
//! bundles (deps/lua/src/lua_cjson.c, strbuf.c, fpconv.c), with byte-identical output, the same
//! error texts and the same per-table configuration.
//!
//! Design notes:
//! - Nothing here recurses on user data: encode and decode walk nested tables with an explicit
//!   stack, bounded by `encode_max_depth` / `decode_max_depth` and, like the C code, by the Lua C
//!   stack limit (`LUAI_MAXCSTACK`, 8000 slots), so the same inputs fail with the same messages.
//! - Tables are read and built with the raw C API on the Lua stack (host::Reader,
//!   host::Builder), as the C code does: the containers being walked or built sit on the stack,
//!   not in mlua references.
//! - Table order is Lua's `next` order (raw traversal), exactly as `lua_next` in C.
//! - Errors are `RuntimeError`s carrying the native text, including the position prefix that
//!   `luaL_error` adds (`luaL_where(L, 1)`: the calling Lua line, e.g. `user_script:1: `), and the
//!   `luaL_argerror` texts with the function name as Lua sees it at the call site.

use std::ffi::c_int;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Arc;

use mlua::{Error, Function, IntoLuaMulti, LightUserData, Lua, MultiValue, Table, Value};

use crate::host::{raw_function_with, raw_function_with_strings, Builder, Call, Raw, Reader, Slot};

/// `LUAI_MAXCSTACK` of Redis's Lua: the slots a C function may use (`lua_checkstack`).
const LUAI_MAXCSTACK: i64 = 8000;

const NAME: &str = "cjson";
const VERSION: &str = "2.1.0";

/// One `cjson` instance's settings (`json_config_t`), shared by the functions of that table.
struct Config {
    sparse_convert: AtomicI32,
    sparse_ratio: AtomicI32,
    sparse_safe: AtomicI32,
    encode_max_depth: AtomicI32,
    decode_max_depth: AtomicI32,
    /// 0 = off, 1 = on, 2 = "null".
    encode_invalid_numbers: AtomicI32,
    decode_invalid_numbers: AtomicI32,
    encode_keep_buffer: AtomicI32,
    encode_number_precision: AtomicI32,
}

impl Config {
    fn new() -> Config {
        Config {
            sparse_convert: AtomicI32::new(0),
            sparse_ratio: AtomicI32::new(2),
            sparse_safe: AtomicI32::new(10),
            encode_max_depth: AtomicI32::new(1000),
            decode_max_depth: AtomicI32::new(1000),
            encode_invalid_numbers: AtomicI32::new(0),
            decode_invalid_numbers: AtomicI32::new(1),
            encode_keep_buffer: AtomicI32::new(1),
            encode_number_precision: AtomicI32::new(14),
        }
    }
}

fn get(a: &AtomicI32) -> i32 {
    a.load(Ordering::Relaxed)
}

fn set(a: &AtomicI32, v: i32) {
    a.store(v, Ordering::Relaxed)
}

/// Builds a `cjson` table with its own configuration (`lua_cjson_new`).
pub fn open(lua: &Lua) -> mlua::Result<Table> {
    let cfg = Arc::new(Config::new());
    let t = lua.create_table()?;
    // Same insertion order as the C module, so `pairs(cjson)` walks it the same way.
    t.raw_set("encode", raw_function_with(lua, json_encode, cfg.clone())?)?;
    t.raw_set("decode", raw_function_with_strings(lua, json_decode, cfg.clone())?)?;
    t.raw_set(
        "encode_sparse_array",
        option_fn(lua, &cfg, 3, |lua, a, c| {
            let convert = enum_option(lua, a, 1, &c.sparse_convert, BOOL_OPTIONS)?;
            let ratio = integer_option(lua, a, 2, &c.sparse_ratio, 0, i32::MAX)?;
            let safe = integer_option(lua, a, 3, &c.sparse_safe, 0, i32::MAX)?;
            Ok(MultiValue::from_iter([convert, ratio, safe]))
        })?,
    )?;
    t.raw_set(
        "encode_max_depth",
        option_fn(lua, &cfg, 1, |lua, a, c| integer_option(lua, a, 1, &c.encode_max_depth, 1, i32::MAX))?,
    )?;
    t.raw_set(
        "decode_max_depth",
        option_fn(lua, &cfg, 1, |lua, a, c| integer_option(lua, a, 1, &c.decode_max_depth, 1, i32::MAX))?,
    )?;
    t.raw_set(
        "encode_number_precision",
        option_fn(lua, &cfg, 1, |lua, a, c| integer_option(lua, a, 1, &c.encode_number_precision, 1, 14))?,
    )?;
    // The C code keeps or frees its reusable buffer; output is the same either way.
    t.raw_set(
        "encode_keep_buffer",
        option_fn(lua, &cfg, 1, |lua, a, c| enum_option(lua, a, 1, &c.encode_keep_buffer, BOOL_OPTIONS))?,
    )?;
    t.raw_set(
        "encode_invalid_numbers",
        option_fn(lua, &cfg, 1, |lua, a, c| enum_option(lua, a, 1, &c.encode_invalid_numbers, &["off", "on", "null"]))?,
    )?;
    t.raw_set(
        "decode_invalid_numbers",
        option_fn(lua, &cfg, 1, |lua, a, c| enum_option(lua, a, 1, &c.decode_invalid_numbers, BOOL_OPTIONS))?,
    )?;
    t.raw_set("new", crate::lua::function(lua, |lua, _args: MultiValue| open(lua))?)?;
    t.raw_set("null", null_value())?;
    t.raw_set("_NAME", NAME)?;
    t.raw_set("_VERSION", VERSION)?;
    Ok(t)
}

/// A `cjson.encode_*`/`decode_*` setting function: takes at most `nargs` arguments, reads or
/// updates this table's configuration through `f`.
fn option_fn<R: IntoLuaMulti + 'static>(
    lua: &Lua,
    cfg: &Arc<Config>,
    nargs: usize,
    f: fn(&Lua, &[Value], &Config) -> mlua::Result<R>,
) -> mlua::Result<Function> {
    let cfg = Arc::clone(cfg);
    crate::lua::function_multi(lua, move |lua, args: MultiValue| {
        let a = arg_init(lua, &args, nargs)?;
        f(lua, &a, &cfg)
    })
}

/// `cjson.null`: the NULL light userdata.
fn null_value() -> Value {
    Value::LightUserData(LightUserData(std::ptr::null_mut()))
}

// ===== Errors as the Lua C API raises them =====

/// `luaL_argerror` of the setting functions (mlua callbacks), shared by the bundled libraries.
fn arg_error(lua: &Lua, narg: i32, extramsg: &str) -> Error {
    super::arg_error(lua, i64::from(narg), extramsg)
}

/// `lua_typename(L, lua_type(L, i))` of a value.
fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Nil => "nil",
        Value::Boolean(_) => "boolean",
        Value::LightUserData(_) => "userdata",
        Value::Integer(_) | Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Table(_) => "table",
        Value::Function(_) => "function",
        Value::Thread(_) => "thread",
        _ => "userdata",
    }
}

fn oom() -> Error {
    Error::MemoryError("not enough memory".to_string())
}

// ===== Configuration functions =====

const BOOL_OPTIONS: &[&str] = &["off", "on"];

/// `json_arg_init`: at most `n` arguments, missing ones read as nil.
fn arg_init(lua: &Lua, args: &MultiValue, n: usize) -> mlua::Result<Vec<Value>> {
    if args.len() > n {
        let narg = i32::try_from(n).unwrap_or(i32::MAX).saturating_add(1);
        return Err(arg_error(lua, narg, "found too many arguments"));
    }
    let mut v: Vec<Value> = args.iter().cloned().collect();
    v.resize(n, Value::Nil);
    Ok(v)
}

/// `(lua_Integer)d` then `(int)` as the x86-64 build does it: out-of-range and NaN become
/// `INT64_MIN` (cvttsd2si), then the low 32 bits are kept.
fn lua_number_to_int(d: f64) -> i32 {
    let i = if !(-9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0).contains(&d) { i64::MIN } else { d as i64 };
    i as i32
}

/// `json_integer_option` (argument `idx`, 1-based).
fn integer_option(
    lua: &Lua,
    args: &[Value],
    idx: usize,
    setting: &AtomicI32,
    min: i32,
    max: i32,
) -> mlua::Result<Value> {
    let v = args.get(idx.wrapping_sub(1)).cloned().unwrap_or(Value::Nil);
    if !v.is_nil() {
        // luaL_checkinteger
        let value = match lua.coerce_number(v.clone())? {
            Some(d) => lua_number_to_int(d),
            None => {
                let narg = i32::try_from(idx).unwrap_or(i32::MAX);
                return Err(arg_error(lua, narg, &format!("number expected, got {}", type_name(&v))));
            }
        };
        if !(min <= value && value <= max) {
            // The C code reports argument #1 whatever the option's position.
            return Err(arg_error(lua, 1, &format!("expected integer between {min} and {max}")));
        }
        set(setting, value);
    }
    Ok(Value::Integer(i64::from(get(setting))))
}

/// `json_enum_option` with `bool_true` = 1 (the only form the module uses).
fn enum_option(lua: &Lua, args: &[Value], idx: usize, setting: &AtomicI32, options: &[&str]) -> mlua::Result<Value> {
    let v = args.get(idx.wrapping_sub(1)).cloned().unwrap_or(Value::Nil);
    match &v {
        Value::Nil => {}
        Value::Boolean(b) => set(setting, i32::from(*b)),
        _ => {
            let narg = i32::try_from(idx).unwrap_or(i32::MAX);
            // luaL_checkoption: luaL_checkstring (numbers are converted) then strcmp.
            let Some(s) = lua.coerce_string(v.clone())? else {
                return Err(arg_error(lua, narg, &format!("string expected, got {}", type_name(&v))));
            };
            let bytes = s.as_bytes();
            let cstr = match bytes.iter().position(|&b| b == 0) {
                Some(p) => bytes.get(..p).unwrap_or_default(),
                None => &*bytes,
            };
            match options.iter().position(|o| o.as_bytes() == cstr) {
                Some(p) => set(setting, i32::try_from(p).unwrap_or(0)),
                None => {
                    let name = String::from_utf8_lossy(cstr);
                    return Err(arg_error(lua, narg, &format!("invalid option '{name}'")));
                }
            }
        }
    }
    let cur = get(setting);
    if cur == 0 || cur == 1 {
        return Ok(Value::Boolean(cur == 1));
    }
    let name = usize::try_from(cur).ok().and_then(|i| options.get(i)).copied().unwrap_or("");
    Ok(Value::String(lua.create_string(name)?))
}

// ===== Number formatting =====

/// `snprintf("%.<precision>g", x)` as glibc prints it (exact decimal value, round-half-even,
/// `inf`/`-inf`/`nan`/`-nan`, two-digit minimum exponent).
#[cfg(test)]
fn format_g(x: f64, precision: i32) -> String {
    let mut out = Vec::new();
    format_g_into(&mut out, &mut String::new(), x, precision);
    String::from_utf8_lossy(&out).into_owned()
}

/// Appends `%.<precision>g` of `x` to `out`; `scratch` is reusable working space.
fn format_g_into(out: &mut impl super::ByteSink, scratch: &mut String, x: f64, precision: i32) {
    format_g_digits(out, scratch, x, precision, true);
}

/// `format_g_into`; `shortest` allows the shortest-digits fast path (off only to test it).
fn format_g_digits(out: &mut impl super::ByteSink, scratch: &mut String, x: f64, precision: i32, shortest: bool) {
    use std::fmt::Write as _;
    let p = usize::try_from(precision).unwrap_or(1).clamp(1, 40);
    if x.is_nan() {
        out.extend_from_slice(if x.is_sign_negative() { b"-nan" } else { b"nan" });
        return;
    }
    if x.is_sign_negative() {
        out.push(b'-');
    }
    if x.is_infinite() {
        out.extend_from_slice(b"inf");
        return;
    }
    if x == 0.0 {
        out.push(b'0');
        return;
    }
    let a = x.abs();
    // Integers with at most `p` digits print as themselves.
    if p <= 17 && a.fract() == 0.0 && a < 10f64.powi(p as i32) {
        let mut buf = [0u8; 20];
        out.extend_from_slice(decimal(a as u64, &mut buf));
        return;
    }
    // The significant digits and the decimal exponent of the first. First the shortest
    // digits that read back as `a` (ryu): for a normal double they lie within half an ulp
    // (< 2^-53 relative) of the exact value, far closer than half a step of a grid of at most
    // 15 significant digits, so when there are at most `p` of them they are exactly what
    // rounding the exact value to `p` digits gives. Otherwise the exact, correctly rounded
    // (half-even) digits from std ("d.ddde[-]X").
    let mut digits = [0u8; 48];
    let mut nd = 0usize;
    let mut exp = 0i32;
    let fits = shortest && a >= f64::MIN_POSITIVE && p <= 15 && {
        if let Some((n, e)) = short_decimal(a, &mut digits) {
            (nd, exp) = (n, e);
            n <= p
        } else {
            let mut buf = ryu::Buffer::new();
            let (n, e) = decimal_digits(buf.format_finite(a).as_bytes(), &mut digits);
            (nd, exp) = (n, e);
            n <= p
        }
    };
    if !fits {
        scratch.clear();
        let _ = write!(scratch, "{:.*e}", p - 1, a);
        (nd, exp) = decimal_digits(scratch.as_bytes(), &mut digits);
    }
    // `p` digits, as the precision prints them (%g trims the zeros below).
    while nd < p {
        if let Some(slot) = digits.get_mut(nd) {
            *slot = b'0';
        }
        nd += 1;
    }
    let digits = digits.get(..nd).unwrap_or_default();
    if exp < -4 || exp >= p as i32 {
        let (first, rest) = digits.split_first().map_or((b'0', &[] as &[u8]), |(f, r)| (*f, r));
        out.push(first);
        let rest = trim_zeros(rest);
        if !rest.is_empty() {
            out.push(b'.');
            out.extend_from_slice(rest);
        }
        out.push(b'e');
        out.push(if exp < 0 { b'-' } else { b'+' });
        // At least two digits (|exp| <= 324).
        let e = exp.unsigned_abs();
        if e >= 100 {
            out.push(b'0' + (e / 100 % 10) as u8);
        }
        out.push(b'0' + (e / 10 % 10) as u8);
        out.push(b'0' + (e % 10) as u8);
    } else if exp >= 0 {
        let split = usize::try_from(exp).unwrap_or(0).saturating_add(1).min(digits.len());
        let (int, frac) = digits.split_at(split);
        out.extend_from_slice(int);
        let frac = trim_zeros(frac);
        if !frac.is_empty() {
            out.push(b'.');
            out.extend_from_slice(frac);
        }
    } else {
        out.extend_from_slice(b"0.");
        for _ in 0..(-exp - 1) {
            out.push(b'0');
        }
        out.extend_from_slice(trim_zeros(digits));
    }
}

/// The decimal digits of `n` (none for 0), written at the end of `buf`.
fn decimal(mut n: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut i = buf.len();
    while n > 0 && i > 0 {
        i -= 1;
        if let Some(slot) = buf.get_mut(i) {
            *slot = b'0' + (n % 10) as u8;
        }
        n /= 10;
    }
    buf.get(i..).unwrap_or_default()
}

/// The digits of a decimal of at most 4 places and 15 significant digits (n / 10^d) whose
/// nearest double is `a`, as `decimal_digits` returns them: like ryu's digits, they lie
/// within half an ulp of `a`, which is all `format_g_digits` needs of them. A quick test that
/// catches prices and halves before ryu.
fn short_decimal(a: f64, digits: &mut [u8; 48]) -> Option<(usize, i32)> {
    const POW: [f64; 5] = [1.0, 10.0, 100.0, 1000.0, 10000.0];
    if !(1e-4..1e15).contains(&a) {
        return None;
    }
    for (d, &scale) in POW.iter().enumerate().skip(1) {
        let n = (a * scale).round();
        if n >= 1e15 {
            return None;
        }
        // n and 10^d are exact doubles: the quotient is the double nearest n / 10^d.
        if n / scale == a {
            let mut buf = [0u8; 20];
            let text = decimal(n as u64, &mut buf);
            let len = i32::try_from(text.len()).unwrap_or(0);
            let end = text.iter().rposition(|&b| b != b'0').map_or(0, |k| k + 1);
            for (slot, &b) in digits.iter_mut().zip(text.get(..end).unwrap_or_default()) {
                *slot = b;
            }
            return Some((end, len - 1 - d as i32));
        }
    }
    None
}

/// The significant digits of a positive decimal number printed as "ddd.ddd" or "d.ddde[-]X"
/// (leading and trailing zeros dropped), into `digits`; returns their count and the
/// decimal exponent of the first.
fn decimal_digits(text: &[u8], digits: &mut [u8; 48]) -> (usize, i32) {
    let (mant, e) = match text.iter().position(|&b| b == b'e' || b == b'E') {
        Some(i) => {
            let e = std::str::from_utf8(text.get(i + 1..).unwrap_or_default()).ok().and_then(|t| t.parse::<i32>().ok());
            (text.get(..i).unwrap_or_default(), e.unwrap_or(0))
        }
        None => (text, 0),
    };
    let mut int_digits = 0i32;
    let mut seen_point = false;
    let mut leading = 0i32;
    let mut nd = 0usize;
    let mut last_nonzero = 0usize;
    for &b in mant {
        match b {
            b'.' => seen_point = true,
            b'0'..=b'9' => {
                if !seen_point {
                    int_digits += 1;
                }
                if nd == 0 && b == b'0' {
                    leading += 1;
                    continue;
                }
                if let Some(slot) = digits.get_mut(nd) {
                    *slot = b;
                    nd += 1;
                    if b != b'0' {
                        last_nonzero = nd;
                    }
                }
            }
            _ => {}
        }
    }
    (last_nonzero, int_digits - 1 - leading + e)
}

fn trim_zeros(d: &[u8]) -> &[u8] {
    let end = d.iter().rposition(|&b| b != b'0').map_or(0, |i| i + 1);
    d.get(..end).unwrap_or_default()
}

// ===== Encoding =====

/// Escape of one byte in a JSON string (`char2escape`), if it needs one.
fn escape_of(b: u8) -> Option<&'static [u8]> {
    const CTRL: [&[u8]; 32] = [
        b"\\u0000", b"\\u0001", b"\\u0002", b"\\u0003", b"\\u0004", b"\\u0005", b"\\u0006", b"\\u0007", b"\\b", b"\\t",
        b"\\n", b"\\u000b", b"\\f", b"\\r", b"\\u000e", b"\\u000f", b"\\u0010", b"\\u0011", b"\\u0012", b"\\u0013",
        b"\\u0014", b"\\u0015", b"\\u0016", b"\\u0017", b"\\u0018", b"\\u0019", b"\\u001a", b"\\u001b", b"\\u001c",
        b"\\u001d", b"\\u001e", b"\\u001f",
    ];
    match b {
        0..=31 => CTRL.get(usize::from(b)).copied(),
        b'"' => Some(b"\\\""),
        b'/' => Some(b"\\/"),
        b'\\' => Some(b"\\\\"),
        0x7f => Some(b"\\u007f"),
        _ => None,
    }
}

#[derive(Clone, Copy)]
enum EncFrame {
    /// The array at `t`, of `len` elements, `i` of them written (the last one's value is
    /// on the stack above `t` while `i > 0`).
    Array { t: Slot, len: i32, i: i32 },
    /// The object at `t`, `count` pairs written. The traversal's key is on the stack above
    /// `t`, and its value above it when `holding`; `ready` says the pair on the stack has not
    /// been written yet (the array scan found it).
    Object { t: Slot, count: u64, holding: bool, ready: bool },
}

impl EncFrame {
    /// Lua stack slots the C encoder holds for this level (table, or table + key).
    fn slots(&self) -> i64 {
        match self {
            EncFrame::Array { .. } => 1,
            EncFrame::Object { .. } => 2,
        }
    }
}

/// The Lua type name of a value the reader sees.
fn raw_type_name(v: &Raw<'_>) -> &'static str {
    match v {
        Raw::Nil => "nil",
        Raw::Bool(_) => "boolean",
        Raw::Num(_) => "number",
        Raw::Str(_) => "string",
        Raw::Table(_) => "table",
        Raw::LightUserData(_) => "userdata",
        Raw::Other(name) => name,
    }
}

struct Encoder {
    precision: i32,
    invalid_numbers: i32,
    max_depth: i32,
    sparse_convert: bool,
    sparse_ratio: i32,
    sparse_safe: i32,
    out: super::LuaBuf,
    frames: Vec<EncFrame>,
    /// Lua stack slots the C code would be using (the argument plus the frames).
    slots: i64,
    /// The message of an encoding error (see `exception`).
    failure: Option<String>,
    /// Working space of the number formatter.
    scratch: String,
}

/// Marks the end of an encoding that failed with `Encoder::failure`.
fn stop() -> Error {
    Error::RuntimeError(String::new())
}

impl Encoder {
    fn new(cfg: &Config, out: super::LuaBuf) -> Encoder {
        Encoder {
            precision: get(&cfg.encode_number_precision),
            invalid_numbers: get(&cfg.encode_invalid_numbers),
            max_depth: get(&cfg.encode_max_depth),
            sparse_convert: get(&cfg.sparse_convert) != 0,
            sparse_ratio: get(&cfg.sparse_ratio),
            sparse_safe: get(&cfg.sparse_safe),
            out,
            frames: Vec::new(),
            slots: 1,
            failure: None,
            scratch: String::new(),
        }
    }

    fn put(&mut self, b: &[u8]) -> mlua::Result<()> {
        super::reserve(&mut self.out, b.len())?;
        self.out.extend_from_slice(b);
        Ok(())
    }

    /// `json_encode_exception` for a value of type `type_name`. The text is kept here and
    /// raised by `json_encode` (with the caller's position).
    fn exception(&mut self, type_name: &str, reason: &str) -> Error {
        self.failure = Some(format!("Cannot serialise {type_name}: {reason}"));
        stop()
    }

    fn string(&mut self, s: &[u8]) -> mlua::Result<()> {
        let escaped: usize = s.iter().map(|&b| escape_of(b).map_or(0, |e| e.len() - 1)).sum();
        let need = s.len().checked_add(escaped).and_then(|n| n.checked_add(2)).ok_or_else(oom)?;
        super::reserve(&mut self.out, need)?;
        self.out.push(b'"');
        if escaped == 0 {
            self.out.extend_from_slice(s);
        } else {
            let mut start = 0;
            for (i, &b) in s.iter().enumerate() {
                if let Some(e) = escape_of(b) {
                    self.out.extend_from_slice(s.get(start..i).unwrap_or_default());
                    self.out.extend_from_slice(e);
                    start = i + 1;
                }
            }
            self.out.extend_from_slice(s.get(start..).unwrap_or_default());
        }
        self.out.push(b'"');
        Ok(())
    }

    /// `json_append_number` (the value is a number, for the error text).
    fn number(&mut self, x: f64) -> mlua::Result<()> {
        match self.invalid_numbers {
            0 => {
                if !x.is_finite() {
                    return Err(self.exception("number", "must not be NaN or Inf"));
                }
            }
            1 => {
                if x.is_nan() {
                    return self.put(b"nan");
                }
            }
            _ => {
                if !x.is_finite() {
                    return self.put(b"null");
                }
            }
        }
        // At most 24 bytes ("-1.2345678901234e-308").
        super::reserve(&mut self.out, 32)?;
        format_g_into(&mut self.out, &mut self.scratch, x, self.precision);
        Ok(())
    }

    /// A value that is not a table.
    fn scalar(&mut self, v: &Raw<'_>) -> mlua::Result<()> {
        match v {
            Raw::Str(s) => self.string(s),
            Raw::Num(n) => self.number(*n),
            Raw::Bool(true) => self.put(b"true"),
            Raw::Bool(false) => self.put(b"false"),
            Raw::Nil => self.put(b"null"),
            Raw::LightUserData(true) => self.put(b"null"),
            other => Err(self.exception(raw_type_name(other), "type not supported")),
        }
    }

    /// An object key followed by ':'.
    fn key(&mut self, k: &Raw<'_>) -> mlua::Result<()> {
        match k {
            Raw::Num(n) => {
                self.put(b"\"")?;
                self.number(*n)?;
                self.put(b"\":")
            }
            Raw::Str(s) => {
                self.string(s)?;
                self.put(b":")
            }
            other => Err(self.exception(raw_type_name(other), "table key must be a number or string")),
        }
    }

    fn push_frame(&mut self, frame: EncFrame) {
        self.slots += frame.slots();
        self.frames.push(frame);
    }

    /// Starts the table at `t` (`json_append_data` for tables): depth check, then array or
    /// object as `lua_array_length` decides. The scan's traversal also starts the object
    /// when its first key already shows one (its pair is left on the stack, `ready`).
    fn open_table(&mut self, r: &mut Reader<'_>, t: Slot) -> mlua::Result<()> {
        let depth = i64::try_from(self.frames.len()).unwrap_or(i64::MAX).saturating_add(1);
        if depth > i64::from(self.max_depth) || self.slots + 3 > LUAI_MAXCSTACK {
            self.failure = Some(format!("Cannot serialise, excessive nesting ({depth})"));
            return Err(stop());
        }
        let mut max: i32 = 0;
        let mut items: i32 = 0;
        let mut seen: u64 = 0;
        r.push_nil()?;
        while r.next(t)? {
            let k = r.before(r.top());
            // A positive integer key (lua_tonumber(k) != 0, floor(k) == k, k >= 1).
            if let Raw::Num(kn) = r.value(k) {
                if kn != 0.0 && kn.floor() == kn && kn >= 1.0 {
                    if kn > f64::from(max) {
                        // (int)k on x86-64: out of range gives INT_MIN.
                        max = if kn < 2_147_483_648.0 { kn as i32 } else { i32::MIN };
                    }
                    items = items.wrapping_add(1);
                    seen += 1;
                    r.pop(1);
                    continue;
                }
            }
            if seen == 0 {
                // An object from its first pair on.
                self.put(b"{")?;
                self.push_frame(EncFrame::Object { t, count: 0, holding: false, ready: true });
                return Ok(());
            }
            // Not an array after all: the object is written by a second traversal.
            r.pop(2);
            return self.open_object(r, t);
        }
        let sparse = self.sparse_ratio > 0 && max > items.wrapping_mul(self.sparse_ratio) && max > self.sparse_safe;
        if sparse && !self.sparse_convert {
            return Err(self.exception("table", "excessively sparse array"));
        }
        if max > 0 && !sparse {
            self.put(b"[")?;
            self.push_frame(EncFrame::Array { t, len: max, i: 0 });
            return Ok(());
        }
        self.open_object(r, t)
    }

    fn open_object(&mut self, r: &mut Reader<'_>, t: Slot) -> mlua::Result<()> {
        self.put(b"{")?;
        r.push_nil()?;
        self.push_frame(EncFrame::Object { t, count: 0, holding: false, ready: false });
        Ok(())
    }

    fn pop_frame(&mut self) {
        if let Some(f) = self.frames.pop() {
            self.slots -= f.slots();
        }
    }

    fn run(&mut self, r: &mut Reader<'_>, root: Slot) -> mlua::Result<()> {
        let mut pending = Some(root);
        loop {
            if let Some(s) = pending.take() {
                match r.value(s) {
                    Raw::Table(t) => self.open_table(r, t)?,
                    other => self.scalar(&other)?,
                }
            }
            let Some(top) = self.frames.last_mut() else {
                return Ok(());
            };
            match *top {
                EncFrame::Array { t, len, i } => {
                    if i > 0 {
                        r.pop(1);
                    }
                    if i >= len {
                        self.pop_frame();
                        self.put(b"]")?;
                        continue;
                    }
                    let i = i + 1;
                    *top = EncFrame::Array { t, len, i };
                    let v = r.push_index(t, i64::from(i))?;
                    if i > 1 {
                        self.put(b",")?;
                    }
                    pending = Some(v);
                }
                EncFrame::Object { t, count, holding, ready } => {
                    if holding {
                        r.pop(1);
                    }
                    if !ready && !r.next(t)? {
                        self.pop_frame();
                        self.put(b"}")?;
                        continue;
                    }
                    *top = EncFrame::Object { t, count: count.saturating_add(1), holding: true, ready: false };
                    if count > 0 {
                        self.put(b",")?;
                    }
                    let v = r.top();
                    let k = r.before(v);
                    let key = r.value(k);
                    self.key(&key)?;
                    pending = Some(v);
                }
            }
        }
    }
}

fn json_encode(c: &mut Call<'_>, cfg: &Config) -> mlua::Result<c_int> {
    if c.nargs() != 1 {
        return Err(c.arg_error(1, "expected 1 argument"));
    }
    let mut enc = Encoder::new(cfg, c.buffer());
    let mut r = c.reader();
    if let Err(e) = enc.run(&mut r, c.arg_slot(1)) {
        return Err(match enc.failure.take() {
            Some(m) => located(&m),
            None => e,
        });
    }
    c.push_buffer(enc.out)?;
    Ok(1)
}

// ===== Decoding =====

#[derive(Clone, Copy, PartialEq, Debug)]
enum Tok {
    ObjBegin,
    ObjEnd,
    ArrBegin,
    ArrEnd,
    /// The text is `Parser::str_bytes()`.
    Str,
    Num(f64),
    Bool(bool),
    Null,
    Colon,
    Comma,
    End,
    Error(&'static str),
}

impl Tok {
    fn name(&self) -> &'static str {
        match self {
            Tok::ObjBegin => "T_OBJ_BEGIN",
            Tok::ObjEnd => "T_OBJ_END",
            Tok::ArrBegin => "T_ARR_BEGIN",
            Tok::ArrEnd => "T_ARR_END",
            Tok::Str => "T_STRING",
            Tok::Num(_) => "T_NUMBER",
            Tok::Bool(_) => "T_BOOLEAN",
            Tok::Null => "T_NULL",
            Tok::Colon => "T_COLON",
            Tok::Comma => "T_COMMA",
            Tok::End => "T_END",
            Tok::Error(e) => e,
        }
    }
}

#[derive(Clone, Copy)]
struct Token {
    tok: Tok,
    index: usize,
}

struct Parser<'d> {
    data: &'d [u8],
    pos: usize,
    /// The last string token: `data[raw.0..raw.1]` when it had no escapes, else `tmp`.
    raw: Option<(usize, usize)>,
    tmp: Vec<u8>,
    invalid_numbers: bool,
}

fn hex_value(b: u8) -> Option<u32> {
    char::from(b).to_digit(16)
}

impl Parser<'_> {
    /// The byte at `i`, NUL past the end (the C parser reads a NUL-terminated string).
    fn at(&self, i: usize) -> u8 {
        self.data.get(i).copied().unwrap_or(0)
    }

    fn lower_at(&self, i: usize) -> u8 {
        self.at(i).to_ascii_lowercase()
    }

    fn starts_with(&self, i: usize, s: &[u8]) -> bool {
        s.iter().enumerate().all(|(k, &c)| self.at(i.saturating_add(k)) == c)
    }

    fn starts_with_nocase(&self, i: usize, s: &[u8]) -> bool {
        s.iter().enumerate().all(|(k, &c)| self.lower_at(i.saturating_add(k)) == c)
    }

    fn error(&self, msg: &'static str) -> Token {
        Token { tok: Tok::Error(msg), index: self.pos }
    }

    fn next_token(&mut self) -> Token {
        while matches!(self.at(self.pos), b' ' | b'\t' | b'\n' | b'\r') {
            self.pos += 1;
        }
        let index = self.pos;
        let single = |p: &mut Self, tok: Tok| {
            p.pos += 1;
            Token { tok, index }
        };
        match self.at(self.pos) {
            0 => Token { tok: Tok::End, index },
            b'{' => single(self, Tok::ObjBegin),
            b'}' => single(self, Tok::ObjEnd),
            b'[' => single(self, Tok::ArrBegin),
            b']' => single(self, Tok::ArrEnd),
            b',' => single(self, Tok::Comma),
            b':' => single(self, Tok::Colon),
            b'"' => self.string_token(),
            b'-' | b'0'..=b'9' => {
                if !self.invalid_numbers && self.is_invalid_number() {
                    return self.error("invalid number");
                }
                self.number_token()
            }
            b'f' | b'i' | b'I' | b'n' | b'N' | b't' | b'+' => {
                let (tok, len) = if self.starts_with(index, b"true") {
                    (Tok::Bool(true), 4)
                } else if self.starts_with(index, b"false") {
                    (Tok::Bool(false), 5)
                } else if self.starts_with(index, b"null") {
                    (Tok::Null, 4)
                } else if self.invalid_numbers && self.is_invalid_number() {
                    return self.number_token();
                } else {
                    return self.error("invalid token");
                };
                self.pos += len;
                Token { tok, index }
            }
            _ => self.error("invalid token"),
        }
    }

    /// `json_is_invalid_number`: forms strtod() accepts but strict JSON does not.
    fn is_invalid_number(&self) -> bool {
        let mut p = self.pos;
        if self.at(p) == b'+' {
            return true;
        }
        if self.at(p) == b'-' {
            p += 1;
        }
        let c = self.at(p);
        if c == b'0' {
            let c2 = self.at(p + 1);
            return (c2 | 0x20) == b'x' || c2.is_ascii_digit();
        }
        if c <= b'9' {
            return false;
        }
        self.starts_with_nocase(p, b"inf") || self.starts_with_nocase(p, b"nan")
    }

    fn number_token(&mut self) -> Token {
        let index = self.pos;
        match self.strtod(self.pos) {
            Some((v, end)) if end > self.pos => {
                self.pos = end;
                Token { tok: Tok::Num(v), index }
            }
            _ => self.error("invalid number"),
        }
    }

    /// glibc `strtod` at `start` (no leading blanks here): decimal, hexadecimal (`0x1.8p3`),
    /// `inf`/`infinity`, `nan`/`nan(chars)`, with an optional sign. Returns the value and the end.
    fn strtod(&self, start: usize) -> Option<(f64, usize)> {
        let mut i = start;
        let mut neg = false;
        if matches!(self.at(i), b'+' | b'-') {
            neg = self.at(i) == b'-';
            i += 1;
        }
        let signed = |v: f64| if neg { -v } else { v };
        if self.starts_with_nocase(i, b"inf") {
            i += 3;
            if self.starts_with_nocase(i, b"inity") {
                i += 5;
            }
            return Some((signed(f64::INFINITY), i));
        }
        if self.starts_with_nocase(i, b"nan") {
            i += 3;
            if self.at(i) == b'(' {
                let mut j = i + 1;
                while self.at(j).is_ascii_alphanumeric() || self.at(j) == b'_' {
                    j += 1;
                }
                if self.at(j) == b')' {
                    i = j + 1;
                }
            }
            return Some((signed(f64::NAN), i));
        }
        if self.at(i) == b'0' && self.lower_at(i + 1) == b'x' {
            return Some(match self.hex_float(i + 2) {
                Some((v, end)) => (signed(v), end),
                // "0x" without digits: only the "0" is a number.
                None => (signed(0.0), i + 1),
            });
        }
        let ds = i;
        let mut digits = 0usize;
        while self.at(i).is_ascii_digit() {
            i += 1;
            digits += 1;
        }
        if self.at(i) == b'.' {
            i += 1;
            while self.at(i).is_ascii_digit() {
                i += 1;
                digits += 1;
            }
        }
        if digits == 0 {
            return None;
        }
        if self.lower_at(i) == b'e' {
            let mut j = i + 1;
            if matches!(self.at(j), b'+' | b'-') {
                j += 1;
            }
            if self.at(j).is_ascii_digit() {
                while self.at(j).is_ascii_digit() {
                    j += 1;
                }
                i = j;
            }
        }
        let text = std::str::from_utf8(self.data.get(ds..i)?).ok()?;
        let v: f64 = text.parse().ok()?;
        Some((signed(v), i))
    }

    /// Hexadecimal significand (after "0x") and optional binary exponent, correctly rounded.
    fn hex_float(&self, mut i: usize) -> Option<(f64, usize)> {
        let mut mant: u64 = 0;
        let mut exp2: i64 = 0;
        let mut sticky = false;
        let mut any = false;
        let mut add = |d: u32, frac: bool, mant: &mut u64, exp2: &mut i64| {
            if *mant >> 60 == 0 {
                *mant = (*mant << 4) | u64::from(d);
                if frac {
                    *exp2 = exp2.saturating_sub(4);
                }
            } else {
                sticky |= d != 0;
                if !frac {
                    *exp2 = exp2.saturating_add(4);
                }
            }
        };
        while let Some(d) = hex_value(self.at(i)) {
            add(d, false, &mut mant, &mut exp2);
            any = true;
            i += 1;
        }
        if self.at(i) == b'.' {
            let mut j = i + 1;
            while let Some(d) = hex_value(self.at(j)) {
                add(d, true, &mut mant, &mut exp2);
                any = true;
                j += 1;
            }
            if any {
                i = j;
            }
        }
        if !any {
            return None;
        }
        if self.lower_at(i) == b'p' {
            let mut j = i + 1;
            let mut eneg = false;
            if matches!(self.at(j), b'+' | b'-') {
                eneg = self.at(j) == b'-';
                j += 1;
            }
            if self.at(j).is_ascii_digit() {
                let mut e: i64 = 0;
                while self.at(j).is_ascii_digit() {
                    e = e.saturating_mul(10).saturating_add(i64::from(self.at(j) - b'0')).min(1 << 40);
                    j += 1;
                }
                exp2 = if eneg { exp2.saturating_sub(e) } else { exp2.saturating_add(e) };
                i = j;
            }
        }
        Some((compose_binary(mant, exp2, sticky), i))
    }

    /// The text of the last string token.
    fn str_bytes(&self) -> &[u8] {
        match self.raw {
            Some((a, b)) => self.data.get(a..b).unwrap_or_default(),
            None => &self.tmp,
        }
    }

    fn string_token(&mut self) -> Token {
        let index = self.pos;
        self.pos += 1;
        self.tmp.clear();
        self.raw = None;
        let start = self.pos;
        let mut escaped = false;
        loop {
            // A run of ordinary bytes at once.
            let rest = self.data.get(self.pos..).unwrap_or_default();
            let run = rest.iter().position(|&b| b == b'"' || b == b'\\' || b == 0).unwrap_or(rest.len());
            if escaped {
                self.tmp.extend_from_slice(rest.get(..run).unwrap_or_default());
            }
            self.pos += run;
            match self.at(self.pos) {
                b'"' if !escaped => {
                    self.raw = Some((start, self.pos));
                    break;
                }
                b'"' => break,
                0 => return self.error("unexpected end of string"),
                _ => {
                    if !escaped {
                        escaped = true;
                        self.tmp.extend_from_slice(self.data.get(start..self.pos).unwrap_or_default());
                    }
                    let ch = match self.at(self.pos + 1) {
                        b'"' => b'"',
                        b'\\' => b'\\',
                        b'/' => b'/',
                        b'b' => 8,
                        b't' => b'\t',
                        b'n' => b'\n',
                        b'f' => 12,
                        b'r' => b'\r',
                        b'u' => {
                            if self.unicode_escape() {
                                continue;
                            }
                            return self.error("invalid unicode escape code");
                        }
                        _ => return self.error("invalid escape code"),
                    };
                    self.tmp.push(ch);
                    self.pos += 2;
                }
            }
        }
        self.pos += 1;
        Token { tok: Tok::Str, index }
    }

    fn hex4(&self, i: usize) -> Option<u32> {
        let mut v = 0u32;
        for k in 0..4 {
            v = (v << 4) | hex_value(self.at(i + k))?;
        }
        Some(v)
    }

    /// `\uXXXX` (or a surrogate pair) at `pos` appended as UTF-8; false when invalid.
    fn unicode_escape(&mut self) -> bool {
        let Some(mut cp) = self.hex4(self.pos + 2) else {
            return false;
        };
        let mut len = 6;
        if cp & 0xF800 == 0xD800 {
            if cp & 0x400 != 0 {
                return false;
            }
            if self.at(self.pos + 6) != b'\\' || self.at(self.pos + 7) != b'u' {
                return false;
            }
            let Some(low) = self.hex4(self.pos + 8) else {
                return false;
            };
            if low & 0xFC00 != 0xDC00 {
                return false;
            }
            cp = (((cp & 0x3FF) << 10) | (low & 0x3FF)) + 0x10000;
            len = 12;
        }
        let b = |x: u32| (x & 0xFF) as u8;
        if cp <= 0x7F {
            self.tmp.push(b(cp));
        } else if cp <= 0x7FF {
            self.tmp.extend_from_slice(&[b((cp >> 6) | 0xC0), b((cp & 0x3F) | 0x80)]);
        } else if cp <= 0xFFFF {
            self.tmp.extend_from_slice(&[b((cp >> 12) | 0xE0), b(((cp >> 6) & 0x3F) | 0x80), b((cp & 0x3F) | 0x80)]);
        } else {
            self.tmp.extend_from_slice(&[
                b((cp >> 18) | 0xF0),
                b(((cp >> 12) & 0x3F) | 0x80),
                b(((cp >> 6) & 0x3F) | 0x80),
                b((cp & 0x3F) | 0x80),
            ]);
        }
        self.pos += len;
        true
    }
}

/// `mant * 2^exp2` (plus a nonzero tail below `mant` when `sticky`) rounded to the nearest
/// double, ties to even; overflow gives infinity, underflow zero or a subnormal.
fn compose_binary(mant: u64, exp2: i64, sticky: bool) -> f64 {
    if mant == 0 {
        return 0.0;
    }
    let lz = mant.leading_zeros();
    let m = u128::from(mant << lz);
    // value = m * 2^e with m in [2^63, 2^64): its binary exponent is e + 63.
    let e = exp2.saturating_sub(i64::from(lz));
    let top = e.saturating_add(63);
    if top > 1023 {
        return f64::INFINITY;
    }
    // Bits of m dropped to keep 53 (normal) or fewer (subnormal) significant bits.
    let shift: i64 = if top >= -1022 { 11 } else { (-1011i64).saturating_sub(top) };
    if shift > 120 {
        return 0.0;
    }
    let shift = u32::try_from(shift).unwrap_or(120);
    let mut r = m >> shift;
    let rem = m & ((1u128 << shift) - 1);
    let half = 1u128 << (shift - 1);
    if rem > half || (rem == half && (sticky || r & 1 == 1)) {
        r += 1;
    }
    let r = u64::try_from(r).unwrap_or(0);
    if top >= -1022 {
        let (r, top) = if r >> 53 != 0 { (r >> 1, top + 1) } else { (r, top) };
        if top > 1023 {
            return f64::INFINITY;
        }
        let biased = u64::try_from(top + 1023).unwrap_or(0);
        f64::from_bits((biased << 52) | (r & ((1u64 << 52) - 1)))
    } else {
        // Subnormal (a carry into bit 52 is exactly the smallest normal).
        f64::from_bits(r)
    }
}

enum DecFrame {
    /// The array at `t`; the next element goes to index `i`.
    Array { t: Slot, i: i64 },
    /// The object at `t` and the pending key (set with its value once that is complete; the
    /// C code keeps it on the stack, which the slot count still reckons).
    Object { t: Slot, key: Key },
}

/// An object's pending key: a range of the input, or decoded text (it had escapes).
enum Key {
    Raw(usize, usize),
    Owned(Vec<u8>),
}

/// A finished value: a scalar, the parser's last string token, or the table on top of the
/// stack.
enum Done {
    Num(f64),
    Bool(bool),
    Null,
    Str,
    OnStack,
}

impl DecFrame {
    /// Lua stack slots the C decoder holds for this level (table, or table + key).
    fn slots(&self) -> i64 {
        match self {
            DecFrame::Array { .. } => 1,
            DecFrame::Object { .. } => 2,
        }
    }
}

/// Decodes into Lua tables built on the stack, as the C code does: each container's table
/// (and an object's pending key) sits on the stack while its contents are parsed.
struct Decoder<'d> {
    p: Parser<'d>,
    max_depth: i32,
    frames: Vec<DecFrame>,
    slots: i64,
}

impl Decoder<'_> {
    /// `json_throw_parse_error`.
    fn parse_error(&self, expected: &str, t: Token) -> Error {
        // "%d" of a size_t: the low 32 bits.
        let at = (t.index as u64).wrapping_add(1) as i32;
        located(&format!("Expected {expected} but found {} at character {at}", t.tok.name()))
    }

    /// `json_decode_descend` for a new container needing `need` stack slots.
    fn descend(&self, need: i64) -> mlua::Result<()> {
        let depth = i64::try_from(self.frames.len()).unwrap_or(i64::MAX).saturating_add(1);
        if depth <= i64::from(self.max_depth) && self.slots + need <= LUAI_MAXCSTACK {
            return Ok(());
        }
        let at = self.p.pos as u64 as i32;
        Err(located(&format!("Found too many nested data structures ({depth}) at character {at}")))
    }

    fn push(&mut self, frame: DecFrame) {
        self.slots += frame.slots();
        self.frames.push(frame);
    }

    fn pop(&mut self) {
        if let Some(f) = self.frames.pop() {
            self.slots -= f.slots();
        }
    }

    /// After '{' or ',' in an object: `"key" :`, returning the key.
    fn object_key(&mut self, t: Token) -> mlua::Result<Key> {
        if t.tok != Tok::Str {
            return Err(self.parse_error("object key string", t));
        }
        let key = match self.p.raw {
            Some((a, z)) => Key::Raw(a, z),
            None => Key::Owned(self.p.tmp.clone()),
        };
        let colon = self.p.next_token();
        if colon.tok != Tok::Colon {
            return Err(self.parse_error("colon", colon));
        }
        Ok(key)
    }

    /// `t[key] = val` (raw) for a finished value (a table is on top).
    fn set_field(&self, b: &mut Builder<'_>, table: Slot, key: &Key, val: Done) -> mlua::Result<()> {
        let k: &[u8] = match key {
            Key::Raw(a, z) => self.p.data.get(*a..*z).unwrap_or_default(),
            Key::Owned(v) => v,
        };
        // The keys through the builder's recent strings: objects in an array repeat them.
        match val {
            Done::Str => {
                b.push_recent(k)?;
                b.set_field_str(table, self.p.str_bytes())
            }
            Done::OnStack => {
                b.push_recent(k)?;
                b.swap();
                b.set_field(table)
            }
            other => {
                b.push_recent(k)?;
                self.push_value(b, other)?;
                b.set_field(table)
            }
        }
    }

    /// Pushes a finished value (a table is already on top).
    fn push_value(&self, b: &mut Builder<'_>, val: Done) -> mlua::Result<()> {
        match val {
            Done::Num(n) => b.push_num(n).map(drop),
            Done::Bool(v) => b.push_bool(v).map(drop),
            Done::Null => b.push_null().map(drop),
            Done::Str => b.push_str(self.p.str_bytes()).map(drop),
            Done::OnStack => Ok(()),
        }
    }

    /// Leaves the decoded value on top of the stack.
    fn run(&mut self, b: &mut Builder<'_>) -> mlua::Result<()> {
        let mut t = self.p.next_token();
        'value: loop {
            let mut val = match t.tok {
                Tok::Str => Done::Str,
                Tok::Num(n) => Done::Num(n),
                Tok::Bool(v) => Done::Bool(v),
                Tok::Null => Done::Null,
                Tok::ObjBegin => {
                    self.descend(3)?;
                    let table = b.new_table()?;
                    t = self.p.next_token();
                    if t.tok == Tok::ObjEnd {
                        Done::OnStack
                    } else {
                        let key = self.object_key(t)?;
                        self.push(DecFrame::Object { t: table, key });
                        t = self.p.next_token();
                        continue 'value;
                    }
                }
                Tok::ArrBegin => {
                    self.descend(2)?;
                    let table = b.new_table()?;
                    t = self.p.next_token();
                    if t.tok == Tok::ArrEnd {
                        Done::OnStack
                    } else {
                        self.push(DecFrame::Array { t: table, i: 1 });
                        continue 'value;
                    }
                }
                _ => return Err(self.parse_error("value", t)),
            };
            // Store the finished value in its container, closing containers that end here.
            loop {
                let Some(frame) = self.frames.last() else {
                    let end = self.p.next_token();
                    if end.tok != Tok::End {
                        return Err(self.parse_error("the end", end));
                    }
                    return self.push_value(b, val);
                };
                match frame {
                    &DecFrame::Array { t: table, i } => {
                        if let Done::Str = val {
                            b.set_index_str(table, i, self.p.str_bytes())?;
                        } else {
                            self.push_value(b, val)?;
                            b.set_index(table, i)?;
                        }
                        t = self.p.next_token();
                        if t.tok == Tok::ArrEnd {
                            self.pop();
                            val = Done::OnStack;
                            continue;
                        }
                        if t.tok != Tok::Comma {
                            return Err(self.parse_error("comma or array end", t));
                        }
                        if let Some(DecFrame::Array { i, .. }) = self.frames.last_mut() {
                            *i = i.saturating_add(1);
                        }
                        t = self.p.next_token();
                        continue 'value;
                    }
                    DecFrame::Object { t: table, key } => {
                        self.set_field(b, *table, key, val)?;
                        t = self.p.next_token();
                        if t.tok == Tok::ObjEnd {
                            self.pop();
                            val = Done::OnStack;
                            continue;
                        }
                        if t.tok != Tok::Comma {
                            return Err(self.parse_error("comma or object end", t));
                        }
                        let next = self.p.next_token();
                        let new_key = self.object_key(next)?;
                        if let Some(DecFrame::Object { key, .. }) = self.frames.last_mut() {
                            *key = new_key;
                        }
                        t = self.p.next_token();
                        continue 'value;
                    }
                }
            }
        }
    }
}

fn json_decode(c: &mut Call<'_>, cfg: &Config) -> mlua::Result<c_int> {
    if c.nargs() != 1 {
        return Err(c.arg_error(1, "expected 1 argument"));
    }
    // luaL_checklstring: strings, and numbers converted to strings.
    let Some(data) = c.lstring(1)? else {
        return Err(c.arg_error(1, &format!("string expected, got {}", c.type_name(1))));
    };
    if data.len() >= 2 && (data.first() == Some(&0) || data.get(1) == Some(&0)) {
        return Err(located("JSON parser does not support UTF-16 or UTF-32"));
    }
    let mut dec = Decoder {
        p: Parser { data, pos: 0, raw: None, tmp: Vec::new(), invalid_numbers: get(&cfg.decode_invalid_numbers) != 0 },
        max_depth: get(&cfg.decode_max_depth),
        frames: Vec::new(),
        slots: 1,
    };
    let mut b = c.builder();
    dec.run(&mut b)?;
    Ok(1)
}

/// `luaL_error`: the message with the caller's position.
fn located(msg: &str) -> Error {
    crate::lua::raise_here(msg)
}

#[cfg(test)]
mod tests {
    //! Expected values were captured from Redis 7.0.15 (Debian 7.0.15-1~deb12u10) running the
    //! same scripts through EVAL, with `local E=function(e) return tostring(e) end` prepended on
    //! line 1 (here `E` unwraps the mlua error the same way); "@user_script" is the chunk name.
    //! Long results are compared by length and FNV-1a 64 hash.
    use super::*;
    use Want::{Digest, Raised, Text};

    enum Want {
        Text(&'static [u8]),
        Raised(&'static str),
        Digest(usize, u64),
    }

    fn error_text(e: &Error) -> String {
        super::super::cases::message(e)
    }

    fn fnv(b: &[u8]) -> u64 {
        b.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &c| (h ^ u64::from(c)).wrapping_mul(0x0100_0000_01b3))
    }

    fn vm() -> Lua {
        let lua = Lua::new();
        let cjson = open(&lua).expect("open");
        lua.globals().set("cjson", cjson).expect("set");
        let tostring: Function = lua.globals().get("tostring").expect("tostring");
        let e = lua
            .create_function(move |lua, v: Value| match v {
                Value::Error(e) => Ok(Value::String(lua.create_string(error_text(&e))?)),
                other => tostring.call::<Value>(other),
            })
            .expect("E");
        lua.globals().set("__E", e).expect("set");
        lua
    }

    fn check(cases: &[(&str, Want)]) {
        let lua = vm();
        let mut failures = Vec::new();
        for (script, want) in cases {
            let src = format!("local E=__E {script}");
            let got = lua.load(src.as_str()).set_name("@user_script").eval::<Value>();
            let ok = match (&got, want) {
                (Ok(Value::String(s)), Text(t)) => &s.as_bytes()[..] == *t,
                (Ok(Value::String(s)), Digest(len, h)) => s.as_bytes().len() == *len && fnv(&s.as_bytes()) == *h,
                (Err(e), Raised(m)) => error_text(e) == *m,
                _ => false,
            };
            if !ok {
                let shown = match &got {
                    Ok(Value::String(s)) => String::from_utf8_lossy(&s.as_bytes()).chars().take(300).collect(),
                    Ok(v) => format!("{v:?}"),
                    Err(e) => format!("error: {}", error_text(e)),
                };
                failures.push(format!("{script}\n    got: {shown}"));
            }
        }
        assert!(failures.is_empty(), "{} of {} cases differ:\n{}", failures.len(), cases.len(), failures.join("\n"));
    }
    #[test]
    fn encode_values() {
        check(&[
            ("return cjson.encode({1,2,3})", Text(b"[1,2,3]")),
            ("return cjson.encode(nil)", Text(b"null")),
            ("return cjson.encode(true)", Text(b"true")),
            ("return cjson.encode(false)", Text(b"false")),
            ("return cjson.encode(cjson.null)", Text(b"null")),
            ("return cjson.encode({cjson.null, 1})", Text(b"[null,1]")),
            ("return cjson.encode('hello')", Text(b"\"hello\"")),
            ("return cjson.encode('')", Text(b"\"\"")),
            ("return cjson.encode({})", Text(b"{}")),
            ("return cjson.encode({{}})", Text(b"[{}]")),
            ("return cjson.encode({{},{}})", Text(b"[{},{}]")),
            ("return cjson.encode({a={b={c={1,2}}}})", Text(b"{\"a\":{\"b\":{\"c\":[1,2]}}}")),
            ("return cjson.encode({1,2,a=3})", Text(b"{\"1\":1,\"2\":2,\"a\":3}")),
            ("return cjson.encode({[1]=1,[3]=3})", Text(b"[1,null,3]")),
            ("return cjson.encode({nil,nil,3})", Text(b"[null,null,3]")),
            ("return cjson.encode({1,2,nil,4})", Text(b"[1,2,null,4]")),
            ("return cjson.encode({[10]=1})", Text(b"[null,null,null,null,null,null,null,null,null,1]")),
            (
                "return cjson.encode({[11]=1})",
                Raised("user_script:1: Cannot serialise table: excessively sparse array"),
            ),
            ("return cjson.encode({[0]=1})", Text(b"{\"0\":1}")),
            ("return cjson.encode({[-1]=1})", Text(b"{\"-1\":1}")),
            ("return cjson.encode({[1.5]=1})", Text(b"{\"1.5\":1}")),
            ("return cjson.encode({[2^31]=1})", Text(b"{\"2147483648\":1}")),
            ("return cjson.encode({[1]=1,[2^31]=2})", Text(b"{\"1\":1,\"2147483648\":2}")),
            ("return cjson.encode({[2^32]=1})", Text(b"{\"4294967296\":1}")),
            ("return cjson.encode({[2^53]=1})", Text(b"{\"9.007199254741e+15\":1}")),
            ("return cjson.encode({x=cjson.null})", Text(b"{\"x\":null}")),
            ("return cjson.encode({[1]={},[2]={a={}}})", Text(b"[{},{\"a\":{}}]")),
            ("return cjson.encode({['a/b']='c\"d'})", Text(b"{\"a\\/b\":\"c\\\"d\"}")),
            ("return cjson.encode({['\\0']=1})", Text(b"{\"\\u0000\":1}")),
            ("return cjson.encode({1,'2',true,false,{},{1}})", Text(b"[1,\"2\",true,false,{},[1]]")),
            ("return cjson.encode({[1]=1,[2]=2,[4]=4})", Text(b"[1,2,null,4]")),
            ("return cjson.encode({1,2,3,[5]=5,[6]=6,[7]=7})", Text(b"[1,2,3,null,5,6,7]")),
            ("return cjson.encode({[1]=1, n=2})", Text(b"{\"1\":1,\"n\":2}")),
            ("return cjson.encode({[3]=3, [2]=2, [1]=1})", Text(b"[1,2,3]")),
            (
                "return cjson.encode({a=1,b=2,c=3,d=4,e=5,f=6,g=7,h=8})",
                Text(b"{\"a\":1,\"h\":8,\"c\":3,\"b\":2,\"e\":5,\"d\":4,\"g\":7,\"f\":6}"),
            ),
            (
                "return cjson.encode({z=1,y=2,x=3,aa=4,bb=5,abcdefgh=6})",
                Text(b"{\"y\":2,\"x\":3,\"aa\":4,\"z\":1,\"bb\":5,\"abcdefgh\":6}"),
            ),
            (
                "return cjson.encode({[1]='a',[2]='b',['x']='y',[4]='d'})",
                Text(b"{\"1\":\"a\",\"2\":\"b\",\"4\":\"d\",\"x\":\"y\"}"),
            ),
            ("return cjson.encode({[-0.0]=1})", Text(b"{\"-0\":1}")),
            ("return cjson.encode({[1]=1,[1.5]=2})", Text(b"{\"1\":1,\"1.5\":2}")),
            ("return cjson.encode({1,{2,{3,{4,{5}}}}})", Text(b"[1,[2,[3,[4,[5]]]]]")),
            ("return cjson.encode({{a={1,{b=2}}},{c={}}})", Text(b"[{\"a\":[1,{\"b\":2}]},{\"c\":{}}]")),
            (
                "return cjson.encode({[100]=1,[1]=2,[2]=3})",
                Raised("user_script:1: Cannot serialise table: excessively sparse array"),
            ),
            ("return cjson.encode({'\\127\\128\\255'})", Text(b"[\"\\u007f\x80\xff\"]")),
            ("return cjson.encode('\\226\\130\\172 euro')", Text(b"\"\xe2\x82\xac euro\"")),
        ]);
    }

    #[test]
    fn encode_strings() {
        check(&[
            (
                "local t={} for i=0,255 do t[#t+1]=string.char(i) end return cjson.encode(table.concat(t))",
                Digest(406, 0x14373b271770ca10),
            ),
            (
                "local t={} for i=0,255 do t[string.char(i)]=i end return cjson.encode(t)",
                Digest(2087, 0xdc18eeb13f72c09c),
            ),
        ]);
    }

    #[test]
    fn encode_numbers() {
        check(&[
            ("return cjson.encode(0)", Text(b"0")),
            ("return cjson.encode(-0)", Text(b"-0")),
            ("return cjson.encode(0.1)", Text(b"0.1")),
            ("return cjson.encode(1/3)", Text(b"0.33333333333333")),
            ("return cjson.encode(-1/3)", Text(b"-0.33333333333333")),
            ("return cjson.encode(2^53)", Text(b"9.007199254741e+15")),
            ("return cjson.encode(2^53+1)", Text(b"9.007199254741e+15")),
            ("return cjson.encode(2^63)", Text(b"9.2233720368548e+18")),
            ("return cjson.encode(2^64)", Text(b"1.844674407371e+19")),
            ("return cjson.encode(1e14)", Text(b"1e+14")),
            ("return cjson.encode(1e15)", Text(b"1e+15")),
            ("return cjson.encode(1e16)", Text(b"1e+16")),
            ("return cjson.encode(1e21)", Text(b"1e+21")),
            ("return cjson.encode(1e22)", Text(b"1e+22")),
            ("return cjson.encode(123456789012345)", Text(b"1.2345678901234e+14")),
            ("return cjson.encode(12345678901234)", Text(b"12345678901234")),
            ("return cjson.encode(99999999999999)", Text(b"99999999999999")),
            ("return cjson.encode(999999999999999)", Text(b"1e+15")),
            ("return cjson.encode(100000000000000)", Text(b"1e+14")),
            ("return cjson.encode(1e300)", Text(b"1e+300")),
            ("return cjson.encode(-1e300)", Text(b"-1e+300")),
            ("return cjson.encode(1e-300)", Text(b"1e-300")),
            ("return cjson.encode(5e-324)", Text(b"4.9406564584125e-324")),
            ("return cjson.encode(2.2250738585072014e-308)", Text(b"2.2250738585072e-308")),
            ("return cjson.encode(1.7976931348623157e308)", Text(b"1.7976931348623e+308")),
            ("return cjson.encode(0.00001)", Text(b"1e-05")),
            ("return cjson.encode(0.0001)", Text(b"0.0001")),
            ("return cjson.encode(0.001)", Text(b"0.001")),
            ("return cjson.encode(1.5e-7)", Text(b"1.5e-07")),
            ("return cjson.encode(3.14159265358979)", Text(b"3.1415926535898")),
            ("return cjson.encode(math.pi)", Text(b"3.1415926535898")),
            ("return cjson.encode(-math.pi)", Text(b"-3.1415926535898")),
            ("return cjson.encode(255/256)", Text(b"0.99609375")),
            ("return cjson.encode(1e-5)", Text(b"1e-05")),
            ("return cjson.encode(123.456)", Text(b"123.456")),
            ("return cjson.encode(-123.456)", Text(b"-123.456")),
            ("return cjson.encode(0.5)", Text(b"0.5")),
            ("return cjson.encode(1.5)", Text(b"1.5")),
            ("return cjson.encode(2.5)", Text(b"2.5")),
            ("return cjson.encode(1e100)", Text(b"1e+100")),
            ("return cjson.encode(12345.678901234567)", Text(b"12345.678901235")),
            ("return cjson.encode(1/7)", Text(b"0.14285714285714")),
            ("return cjson.encode(4503599627370496.5)", Text(b"4.5035996273705e+15")),
            ("return cjson.encode(0.1+0.2)", Text(b"0.3")),
            ("return cjson.encode(100)", Text(b"100")),
            ("return cjson.encode(-100)", Text(b"-100")),
            ("return cjson.encode(2^31)", Text(b"2147483648")),
            ("return cjson.encode(-2^31)", Text(b"-2147483648")),
            ("return cjson.encode(2^31-1)", Text(b"2147483647")),
            ("return cjson.encode(1e-4)", Text(b"0.0001")),
            ("return cjson.encode(9.5)", Text(b"9.5")),
            ("return cjson.encode(0.000123456789012345)", Text(b"0.00012345678901234")),
            ("local t={} for i=1,300 do local x=((i*7919)%1000003)/997*10^((i%40)-20) if i%3==0 then x=-x end t[#t+1]=x end return cjson.encode(t)", Digest(5620, 0x9437ad3f03ec1946)),
            ("local t={} for i=1,200 do t[#t+1]=1/i end return cjson.encode(t)", Digest(3451, 0x10daeecd72b3dce6)),
            ("local t={} for i=1,200 do t[#t+1]=i*1.1 end return cjson.encode(t)", Digest(1062, 0x67a51b203d371098)),
            ("local t={} for i=1,60 do t[#t+1]=2^i/3 end return cjson.encode(t)", Digest(1006, 0x3b9e0b7205bb343e)),
            ("local t={} for i=1,14 do local c=cjson.new() c.encode_number_precision(i) t[#t+1]=c.encode({math.pi, 1/3, 2/3, 123456.789, 0.5, 2.5, 0.25, 0.125, 1e-5, 123456789, 1e15, 9.999, 0.95, 0.05, 99.5})  end return table.concat(t, '\\n')", Digest(1448, 0x0ff9a65f176e8dbf)),
            ("local t={} for p=1,14 do local c=cjson.new() c.encode_number_precision(p) for i=1,60 do t[#t+1]=c.encode(((i*104729)%99991)/(i+0.5)*10^(i%25-12)) end end return table.concat(t, ' ')", Digest(9784, 0xc3ecb2c0bf0cc2d6)),
        ]);
    }

    #[test]
    fn encode_invalid_numbers() {
        check(&[
            ("local ok, e = pcall(function() return cjson.encode(0/0) end) return tostring(ok)..'|'..E(e)", Text(b"false|user_script:1: Cannot serialise number: must not be NaN or Inf")),
            ("local ok, e = pcall(function() return cjson.encode(1/0) end) return tostring(ok)..'|'..E(e)", Text(b"false|user_script:1: Cannot serialise number: must not be NaN or Inf")),
            ("local ok, e = pcall(function() return cjson.encode(-1/0) end) return tostring(ok)..'|'..E(e)", Text(b"false|user_script:1: Cannot serialise number: must not be NaN or Inf")),
            ("local ok, e = pcall(function() return cjson.encode(-(0/0)) end) return tostring(ok)..'|'..E(e)", Text(b"false|user_script:1: Cannot serialise number: must not be NaN or Inf")),
            ("local ok, e = pcall(function() return cjson.encode({1, 0/0}) end) return tostring(ok)..'|'..E(e)", Text(b"false|user_script:1: Cannot serialise number: must not be NaN or Inf")),
            ("local ok, e = pcall(function() return cjson.encode({[1/0]=1}) end) return tostring(ok)..'|'..E(e)", Text(b"false|user_script:1: Cannot serialise number: must not be NaN or Inf")),
            ("local ok, e = pcall(function() return cjson.encode({a=1/0}) end) return tostring(ok)..'|'..E(e)", Text(b"false|user_script:1: Cannot serialise number: must not be NaN or Inf")),
            ("local ok, e = pcall(function() return cjson.encode({[-1/0]=1}) end) return tostring(ok)..'|'..E(e)", Text(b"false|user_script:1: Cannot serialise number: must not be NaN or Inf")),
            ("local c=cjson.new() local r=c.encode_invalid_numbers(true) return tostring(r)..'|'..c.encode({0/0, -(0/0), 1/0, -1/0, 1})..'|'..tostring(c.encode_invalid_numbers())", Text(b"true|[nan,nan,inf,-inf,1]|true")),
            ("local c=cjson.new() c.encode_invalid_numbers(true) local ok,e = pcall(function() return c.encode({[1/0]=1}) end) return tostring(ok)..'|'..E(e)", Text(b"true|{\"inf\":1}")),
            ("local c=cjson.new() c.encode_invalid_numbers(true) local ok,e = pcall(function() return c.encode({[-1/0]='x'}) end) return tostring(ok)..'|'..E(e)", Text(b"true|{\"-inf\":\"x\"}")),
            ("local c=cjson.new() local r=c.encode_invalid_numbers('on') return tostring(r)..'|'..c.encode({0/0, -(0/0), 1/0, -1/0, 1})..'|'..tostring(c.encode_invalid_numbers())", Text(b"true|[nan,nan,inf,-inf,1]|true")),
            ("local c=cjson.new() c.encode_invalid_numbers('on') local ok,e = pcall(function() return c.encode({[1/0]=1}) end) return tostring(ok)..'|'..E(e)", Text(b"true|{\"inf\":1}")),
            ("local c=cjson.new() c.encode_invalid_numbers('on') local ok,e = pcall(function() return c.encode({[-1/0]='x'}) end) return tostring(ok)..'|'..E(e)", Text(b"true|{\"-inf\":\"x\"}")),
            ("local c=cjson.new() local r=c.encode_invalid_numbers('null') return tostring(r)..'|'..c.encode({0/0, -(0/0), 1/0, -1/0, 1})..'|'..tostring(c.encode_invalid_numbers())", Text(b"null|[null,null,null,null,1]|null")),
            ("local c=cjson.new() c.encode_invalid_numbers('null') local ok,e = pcall(function() return c.encode({[1/0]=1}) end) return tostring(ok)..'|'..E(e)", Text(b"true|{\"null\":1}")),
            ("local c=cjson.new() c.encode_invalid_numbers('null') local ok,e = pcall(function() return c.encode({[-1/0]='x'}) end) return tostring(ok)..'|'..E(e)", Text(b"true|{\"null\":\"x\"}")),
            ("local c=cjson.new() local r=c.encode_invalid_numbers(false) return tostring(r)..'|'..c.encode({0/0, -(0/0), 1/0, -1/0, 1})..'|'..tostring(c.encode_invalid_numbers())", Raised("user_script:1: Cannot serialise number: must not be NaN or Inf")),
            ("local c=cjson.new() c.encode_invalid_numbers(false) local ok,e = pcall(function() return c.encode({[1/0]=1}) end) return tostring(ok)..'|'..E(e)", Text(b"false|user_script:1: Cannot serialise number: must not be NaN or Inf")),
            ("local c=cjson.new() c.encode_invalid_numbers(false) local ok,e = pcall(function() return c.encode({[-1/0]='x'}) end) return tostring(ok)..'|'..E(e)", Text(b"false|user_script:1: Cannot serialise number: must not be NaN or Inf")),
            ("local c=cjson.new() local r=c.encode_invalid_numbers('off') return tostring(r)..'|'..c.encode({0/0, -(0/0), 1/0, -1/0, 1})..'|'..tostring(c.encode_invalid_numbers())", Raised("user_script:1: Cannot serialise number: must not be NaN or Inf")),
            ("local c=cjson.new() c.encode_invalid_numbers('off') local ok,e = pcall(function() return c.encode({[1/0]=1}) end) return tostring(ok)..'|'..E(e)", Text(b"false|user_script:1: Cannot serialise number: must not be NaN or Inf")),
            ("local c=cjson.new() c.encode_invalid_numbers('off') local ok,e = pcall(function() return c.encode({[-1/0]='x'}) end) return tostring(ok)..'|'..E(e)", Text(b"false|user_script:1: Cannot serialise number: must not be NaN or Inf")),
        ]);
    }

    #[test]
    fn encode_unsupported() {
        check(&[
            ("local ok, e = pcall(function() return cjson.encode(function() end) end) return tostring(ok)..'|'..E(e)", Text(b"false|user_script:1: Cannot serialise function: type not supported")),
            ("local ok, e = pcall(function() return cjson.encode({f=tostring}) end) return tostring(ok)..'|'..E(e)", Text(b"false|user_script:1: Cannot serialise function: type not supported")),
            ("local ok, e = pcall(function() return cjson.encode({tostring}) end) return tostring(ok)..'|'..E(e)", Text(b"false|user_script:1: Cannot serialise function: type not supported")),
            ("local ok, e = pcall(function() return cjson.encode(coroutine.create(function() end)) end) return tostring(ok)..'|'..E(e)", Text(b"false|user_script:1: Cannot serialise thread: type not supported")),
            ("local ok, e = pcall(function() return cjson.encode({[true]=1}) end) return tostring(ok)..'|'..E(e)", Text(b"false|user_script:1: Cannot serialise boolean: table key must be a number or string")),
            ("local ok, e = pcall(function() return cjson.encode({[{}]=1}) end) return tostring(ok)..'|'..E(e)", Text(b"false|user_script:1: Cannot serialise table: table key must be a number or string")),
            ("local ok, e = pcall(function() return cjson.encode({[tostring]=1}) end) return tostring(ok)..'|'..E(e)", Text(b"false|user_script:1: Cannot serialise function: table key must be a number or string")),
            ("local ok, e = pcall(function() return cjson.encode({a={b={tostring}}}) end) return tostring(ok)..'|'..E(e)", Text(b"false|user_script:1: Cannot serialise function: type not supported")),
            ("local ok, e = pcall(function() return cjson.encode({[20]=1}) end) return tostring(ok)..'|'..E(e)", Text(b"false|user_script:1: Cannot serialise table: excessively sparse array")),
            ("local ok, e = pcall(function() return cjson.encode({[1]=1,[100]=2}) end) return tostring(ok)..'|'..E(e)", Text(b"false|user_script:1: Cannot serialise table: excessively sparse array")),
            ("local ok, e = pcall(function() return cjson.encode({{[20]=1}}) end) return tostring(ok)..'|'..E(e)", Text(b"false|user_script:1: Cannot serialise table: excessively sparse array")),
            ("local ok, e = pcall(function() return cjson.encode({a={[20]=1}}) end) return tostring(ok)..'|'..E(e)", Text(b"false|user_script:1: Cannot serialise table: excessively sparse array")),
            ("local ok, e = pcall(function() return cjson.encode({[2^31-1]=1}) end) return tostring(ok)..'|'..E(e)", Text(b"false|user_script:1: Cannot serialise table: excessively sparse array")),
            ("local ok, e = pcall(function() return cjson.encode({[math.huge]=1}) end) return tostring(ok)..'|'..E(e)", Text(b"false|user_script:1: Cannot serialise number: must not be NaN or Inf")),
            ("local ok, e = pcall(function() return cjson.encode({1,2,[false]=3}) end) return tostring(ok)..'|'..E(e)", Text(b"false|user_script:1: Cannot serialise boolean: table key must be a number or string")),
        ]);
    }

    #[test]
    fn encode_depth() {
        check(&[
            ("local t={} local cur=t for i=1,999 do cur[1]={} cur=cur[1] end return cjson.encode(t)", Digest(2000, 0x60b9e0d7cc2ede55)),
            ("local ok, e = pcall(function() return (function() local t={} local cur=t for i=1,1000 do cur[1]={} cur=cur[1] end return cjson.encode(t) end)() end) return tostring(ok)..'|'..E(e)", Text(b"false|user_script:1: Cannot serialise, excessive nesting (1001)")),
            ("local ok, e = pcall(function() return (function() local t={} local cur=t for i=1,1000 do cur.a={} cur=cur.a end return cjson.encode(t) end)() end) return tostring(ok)..'|'..E(e)", Text(b"false|user_script:1: Cannot serialise, excessive nesting (1001)")),
            ("local t={} local cur=t for i=1,999 do cur.a={} cur=cur.a end return #cjson.encode(t)..''", Text(b"5996")),
            ("local ok, e = pcall(function() return (function() local c=cjson.new() c.encode_max_depth(100000) local t={} local cur=t for i=1,9000 do cur[1]={} cur=cur[1] end return c.encode(t) end)() end) return tostring(ok)..'|'..E(e)", Text(b"false|user_script:1: Cannot serialise, excessive nesting (7998)")),
            ("local ok, e = pcall(function() return (function() local c=cjson.new() c.encode_max_depth(100000) local t={} local cur=t for i=1,9000 do cur.a={} cur=cur.a end return c.encode(t) end)() end) return tostring(ok)..'|'..E(e)", Text(b"false|user_script:1: Cannot serialise, excessive nesting (4000)")),
            ("local ok, e = pcall(function() return (function() local c=cjson.new() c.encode_max_depth(100000) local t={} local cur=t for i=1,9000 do if i%2==0 then cur.a={} cur=cur.a else cur[1]={} cur=cur[1] end end return c.encode(t) end)() end) return tostring(ok)..'|'..E(e)", Text(b"false|user_script:1: Cannot serialise, excessive nesting (5333)")),
            ("local c=cjson.new() c.encode_max_depth(100000) local t={} local cur=t for i=1,7996 do cur[1]={} cur=cur[1] end return #c.encode(t)..''", Text(b"15994")),
            ("local c=cjson.new() c.encode_max_depth(100000) local t={} local cur=t for i=1,3998 do cur.a={} cur=cur.a end return #c.encode(t)..''", Text(b"23990")),
            ("local c=cjson.new() c.encode_max_depth(100000) local t={} local cur=t for i=1,3998 do cur.a={} cur=cur.a end local ok,e=pcall(function() return c.encode({t}) end) return tostring(ok)..'|'..E(e)", Text(b"false|user_script:1: Cannot serialise, excessive nesting (4000)")),
            ("local c=cjson.new() return tostring(c.encode_max_depth(3))..'|'..c.encode({{{1}}})..'|'..E(select(2, pcall(function() return c.encode({{{{1}}}}) end)))", Text(b"3|[[[1]]]|user_script:1: Cannot serialise, excessive nesting (4)")),
            ("local ok, e = pcall(function() return (function() local c=cjson.new() c.encode_max_depth(3) return c.encode({a={b={c={}}}}) end)() end) return tostring(ok)..'|'..E(e)", Text(b"false|user_script:1: Cannot serialise, excessive nesting (4)")),
            ("local ok, e = pcall(function() return (function() local c=cjson.new() c.encode_max_depth(1) return c.encode({{}}) end)() end) return tostring(ok)..'|'..E(e)", Text(b"false|user_script:1: Cannot serialise, excessive nesting (2)")),
            ("local c=cjson.new() c.encode_max_depth(1) return c.encode({1,2,a=3})", Text(b"{\"1\":1,\"2\":2,\"a\":3}")),
        ]);
    }

    #[test]
    fn encode_nesting() {
        check(&[
            ("local t={} for i=1,100 do t[i]={i, {x=i}} end return cjson.encode(t)", Digest(1385, 0x9a168f90c10d9c09)),
            (
                "local t={} for i=1,50 do t['k'..i]={i, {x=i, y={i,i}}} end return cjson.encode(t)",
                Digest(1556, 0x14095068d50970e1),
            ),
            (
                "local t={} local cur=t for i=1,300 do cur.a={i} cur.b={} cur=cur.a end return cjson.encode(t)",
                Digest(6189, 0x8673d4f4223b269d),
            ),
            (
                "local t={} local cur=t for i=1,300 do cur[1]={x=i} cur[2]=i cur=cur[1] end return cjson.encode(t)",
                Digest(6377, 0x301d320e34ba1550),
            ),
        ]);
    }

    #[test]
    fn encode_sparse() {
        check(&[
            ("local c=cjson.new() local a,b,d=c.encode_sparse_array(true) local ok,r=pcall(function() return c.encode({[1]=1,[100]=2}) end) return tostring(a)..','..tostring(b)..','..tostring(d)..'|'..tostring(ok)..'|'..E(r)", Text(b"true,2,10|true|{\"1\":1,\"100\":2}")),
            ("local c=cjson.new() local a,b,d=c.encode_sparse_array(false, 0) local ok,r=pcall(function() return c.encode({[1]=1,[30]=2}) end) return tostring(a)..','..tostring(b)..','..tostring(d)..'|'..tostring(ok)..'|'..E(r)", Text(b"false,0,10|true|[1,null,null,null,null,null,null,null,null,null,null,null,null,null,null,null,null,null,null,null,null,null,null,null,null,null,null,null,null,2]")),
            ("local c=cjson.new() local a,b,d=c.encode_sparse_array(nil, 1) local ok,r=pcall(function() return c.encode({1,2,nil,4,5,6,7,8,9,10,11,[13]=13}) end) return tostring(a)..','..tostring(b)..','..tostring(d)..'|'..tostring(ok)..'|'..E(r)", Text(b"false,1,10|false|user_script:1: Cannot serialise table: excessively sparse array")),
            ("local c=cjson.new() local a,b,d=c.encode_sparse_array(nil, nil, 0) local ok,r=pcall(function() return c.encode({[2]=1}) end) return tostring(a)..','..tostring(b)..','..tostring(d)..'|'..tostring(ok)..'|'..E(r)", Text(b"false,2,0|true|[null,1]")),
            ("local c=cjson.new() local a,b,d=c.encode_sparse_array(nil, nil, 0) local ok,r=pcall(function() return c.encode({[1]=1,[2]=2}) end) return tostring(a)..','..tostring(b)..','..tostring(d)..'|'..tostring(ok)..'|'..E(r)", Text(b"false,2,0|true|[1,2]")),
            ("local c=cjson.new() local a,b,d=c.encode_sparse_array(true, 3, 2) local ok,r=pcall(function() return c.encode({[1]=1,[5]=5}) end) return tostring(a)..','..tostring(b)..','..tostring(d)..'|'..tostring(ok)..'|'..E(r)", Text(b"true,3,2|true|[1,null,null,null,5]")),
            ("local c=cjson.new() local a,b,d=c.encode_sparse_array(true, 3, 2) local ok,r=pcall(function() return c.encode({[1]=1,[3]=3}) end) return tostring(a)..','..tostring(b)..','..tostring(d)..'|'..tostring(ok)..'|'..E(r)", Text(b"true,3,2|true|[1,null,3]")),
            ("local c=cjson.new() local a,b,d=c.encode_sparse_array('on') local ok,r=pcall(function() return c.encode({[1]=1,[100]=2}) end) return tostring(a)..','..tostring(b)..','..tostring(d)..'|'..tostring(ok)..'|'..E(r)", Text(b"true,2,10|true|{\"1\":1,\"100\":2}")),
            ("local c=cjson.new() local a,b,d=c.encode_sparse_array('off', 2, 10) local ok,r=pcall(function() return c.encode({[11]=1}) end) return tostring(a)..','..tostring(b)..','..tostring(d)..'|'..tostring(ok)..'|'..E(r)", Text(b"false,2,10|false|user_script:1: Cannot serialise table: excessively sparse array")),
            ("local c=cjson.new() local a,b,d=c.encode_sparse_array(true) local ok,r=pcall(function() return c.encode({[1]=1,[2^31]=2}) end) return tostring(a)..','..tostring(b)..','..tostring(d)..'|'..tostring(ok)..'|'..E(r)", Text(b"true,2,10|true|{\"1\":1,\"2147483648\":2}")),
            ("local c=cjson.new() local a,b,d=c.encode_sparse_array(nil, 1, 0) local ok,r=pcall(function() return c.encode({nil, 2}) end) return tostring(a)..','..tostring(b)..','..tostring(d)..'|'..tostring(ok)..'|'..E(r)", Text(b"false,1,0|false|user_script:1: Cannot serialise table: excessively sparse array")),
            ("local a,b,d=cjson.encode_sparse_array() return tostring(a)..','..tostring(b)..','..tostring(d)", Text(b"false,2,10")),
            ("local c=cjson.new() local ok,e=pcall(function() return c.encode_sparse_array('x') end) local a,b,d=c.encode_sparse_array() return tostring(ok)..'|'..E(e)..'|'..tostring(a)..','..tostring(b)..','..tostring(d)", Text(b"false|user_script:1: bad argument #1 to 'encode_sparse_array' (invalid option 'x')|false,2,10")),
            ("local c=cjson.new() local ok,e=pcall(function() return c.encode_sparse_array(nil, -1) end) local a,b,d=c.encode_sparse_array() return tostring(ok)..'|'..E(e)..'|'..tostring(a)..','..tostring(b)..','..tostring(d)", Text(b"false|user_script:1: bad argument #1 to 'encode_sparse_array' (expected integer between 0 and 2147483647)|false,2,10")),
            ("local c=cjson.new() local ok,e=pcall(function() return c.encode_sparse_array(nil, 'a') end) local a,b,d=c.encode_sparse_array() return tostring(ok)..'|'..E(e)..'|'..tostring(a)..','..tostring(b)..','..tostring(d)", Text(b"false|user_script:1: bad argument #2 to 'encode_sparse_array' (number expected, got string)|false,2,10")),
            ("local c=cjson.new() local ok,e=pcall(function() return c.encode_sparse_array(nil, nil, -5) end) local a,b,d=c.encode_sparse_array() return tostring(ok)..'|'..E(e)..'|'..tostring(a)..','..tostring(b)..','..tostring(d)", Text(b"false|user_script:1: bad argument #1 to 'encode_sparse_array' (expected integer between 0 and 2147483647)|false,2,10")),
            ("local c=cjson.new() local ok,e=pcall(function() return c.encode_sparse_array(1,2,3,4) end) local a,b,d=c.encode_sparse_array() return tostring(ok)..'|'..E(e)..'|'..tostring(a)..','..tostring(b)..','..tostring(d)", Text(b"false|user_script:1: bad argument #4 to 'encode_sparse_array' (found too many arguments)|false,2,10")),
            ("local c=cjson.new() local ok,e=pcall(function() return c.encode_sparse_array({}) end) local a,b,d=c.encode_sparse_array() return tostring(ok)..'|'..E(e)..'|'..tostring(a)..','..tostring(b)..','..tostring(d)", Text(b"false|user_script:1: bad argument #1 to 'encode_sparse_array' (string expected, got table)|false,2,10")),
            ("local c=cjson.new() local ok,e=pcall(function() return c.encode_sparse_array(nil, {}) end) local a,b,d=c.encode_sparse_array() return tostring(ok)..'|'..E(e)..'|'..tostring(a)..','..tostring(b)..','..tostring(d)", Text(b"false|user_script:1: bad argument #2 to 'encode_sparse_array' (number expected, got table)|false,2,10")),
            ("local c=cjson.new() local ok,e=pcall(function() return c.encode_sparse_array(true, 2^31) end) local a,b,d=c.encode_sparse_array() return tostring(ok)..'|'..E(e)..'|'..tostring(a)..','..tostring(b)..','..tostring(d)", Text(b"false|user_script:1: bad argument #1 to 'encode_sparse_array' (expected integer between 0 and 2147483647)|true,2,10")),
            ("local c=cjson.new() local ok,e=pcall(function() return c.encode_sparse_array(true, 2^32+3) end) local a,b,d=c.encode_sparse_array() return tostring(ok)..'|'..E(e)..'|'..tostring(a)..','..tostring(b)..','..tostring(d)", Text(b"true|true|true,3,10")),
            ("local c=cjson.new() local ok,e=pcall(function() return c.encode_sparse_array(nil, '7') end) local a,b,d=c.encode_sparse_array() return tostring(ok)..'|'..E(e)..'|'..tostring(a)..','..tostring(b)..','..tostring(d)", Text(b"true|false|false,7,10")),
            ("local c=cjson.new() local ok,e=pcall(function() return c.encode_sparse_array(nil, 2.9) end) local a,b,d=c.encode_sparse_array() return tostring(ok)..'|'..E(e)..'|'..tostring(a)..','..tostring(b)..','..tostring(d)", Text(b"true|false|false,2,10")),
            ("local c=cjson.new() local ok,e=pcall(function() return c.encode_sparse_array('on', -1) end) local a,b,d=c.encode_sparse_array() return tostring(ok)..'|'..E(e)..'|'..tostring(a)..','..tostring(b)..','..tostring(d)", Text(b"false|user_script:1: bad argument #1 to 'encode_sparse_array' (expected integer between 0 and 2147483647)|true,2,10")),
            ("local c=cjson.new() local ok,e=pcall(function() return c.encode_sparse_array(1) end) local a,b,d=c.encode_sparse_array() return tostring(ok)..'|'..E(e)..'|'..tostring(a)..','..tostring(b)..','..tostring(d)", Text(b"false|user_script:1: bad argument #1 to 'encode_sparse_array' (invalid option '1')|false,2,10")),
            ("local c=cjson.new() local ok,e=pcall(function() return c.encode_sparse_array('on\\0xx') end) local a,b,d=c.encode_sparse_array() return tostring(ok)..'|'..E(e)..'|'..tostring(a)..','..tostring(b)..','..tostring(d)", Text(b"true|true|true,2,10")),
            ("local c=cjson.new() local ok,e=pcall(function() return c.encode_sparse_array(nil, 1e20) end) local a,b,d=c.encode_sparse_array() return tostring(ok)..'|'..E(e)..'|'..tostring(a)..','..tostring(b)..','..tostring(d)", Text(b"true|false|false,0,10")),
            ("local c=cjson.new() local ok,e=pcall(function() return c.encode_sparse_array(nil, 0/0) end) local a,b,d=c.encode_sparse_array() return tostring(ok)..'|'..E(e)..'|'..tostring(a)..','..tostring(b)..','..tostring(d)", Text(b"true|false|false,0,10")),
            ("local c=cjson.new() local ok,e=pcall(function() return c.encode_sparse_array(nil, true) end) local a,b,d=c.encode_sparse_array() return tostring(ok)..'|'..E(e)..'|'..tostring(a)..','..tostring(b)..','..tostring(d)", Text(b"false|user_script:1: bad argument #2 to 'encode_sparse_array' (number expected, got boolean)|false,2,10")),
        ]);
    }

    #[test]
    fn setters_integer() {
        check(&[
            ("local c=cjson.new() local ok,e=pcall(function() return c.encode_max_depth() end) return tostring(ok)..'|'..E(e)..'|'..tostring(c.encode_max_depth())", Text(b"true|1000|1000")),
            ("local c=cjson.new() local ok,e=pcall(function() return c.encode_max_depth(5) end) return tostring(ok)..'|'..E(e)..'|'..tostring(c.encode_max_depth())", Text(b"true|5|5")),
            ("local c=cjson.new() local ok,e=pcall(function() return c.encode_max_depth(0) end) return tostring(ok)..'|'..E(e)..'|'..tostring(c.encode_max_depth())", Text(b"false|user_script:1: bad argument #1 to 'encode_max_depth' (expected integer between 1 and 2147483647)|1000")),
            ("local c=cjson.new() local ok,e=pcall(function() return c.encode_max_depth(-1) end) return tostring(ok)..'|'..E(e)..'|'..tostring(c.encode_max_depth())", Text(b"false|user_script:1: bad argument #1 to 'encode_max_depth' (expected integer between 1 and 2147483647)|1000")),
            ("local c=cjson.new() local ok,e=pcall(function() return c.encode_max_depth(15) end) return tostring(ok)..'|'..E(e)..'|'..tostring(c.encode_max_depth())", Text(b"true|15|15")),
            ("local c=cjson.new() local ok,e=pcall(function() return c.encode_max_depth(14) end) return tostring(ok)..'|'..E(e)..'|'..tostring(c.encode_max_depth())", Text(b"true|14|14")),
            ("local c=cjson.new() local ok,e=pcall(function() return c.encode_max_depth(1) end) return tostring(ok)..'|'..E(e)..'|'..tostring(c.encode_max_depth())", Text(b"true|1|1")),
            ("local c=cjson.new() local ok,e=pcall(function() return c.encode_max_depth('3') end) return tostring(ok)..'|'..E(e)..'|'..tostring(c.encode_max_depth())", Text(b"true|3|3")),
            ("local c=cjson.new() local ok,e=pcall(function() return c.encode_max_depth(' 0x10 ') end) return tostring(ok)..'|'..E(e)..'|'..tostring(c.encode_max_depth())", Text(b"true|16|16")),
            ("local c=cjson.new() local ok,e=pcall(function() return c.encode_max_depth('abc') end) return tostring(ok)..'|'..E(e)..'|'..tostring(c.encode_max_depth())", Text(b"false|user_script:1: bad argument #1 to 'encode_max_depth' (number expected, got string)|1000")),
            ("local c=cjson.new() local ok,e=pcall(function() return c.encode_max_depth({}) end) return tostring(ok)..'|'..E(e)..'|'..tostring(c.encode_max_depth())", Text(b"false|user_script:1: bad argument #1 to 'encode_max_depth' (number expected, got table)|1000")),
            ("local c=cjson.new() local ok,e=pcall(function() return c.encode_max_depth(true) end) return tostring(ok)..'|'..E(e)..'|'..tostring(c.encode_max_depth())", Text(b"false|user_script:1: bad argument #1 to 'encode_max_depth' (number expected, got boolean)|1000")),
            ("local c=cjson.new() local ok,e=pcall(function() return c.encode_max_depth(3.7) end) return tostring(ok)..'|'..E(e)..'|'..tostring(c.encode_max_depth())", Text(b"true|3|3")),
            ("local c=cjson.new() local ok,e=pcall(function() return c.encode_max_depth(-0.5) end) return tostring(ok)..'|'..E(e)..'|'..tostring(c.encode_max_depth())", Text(b"false|user_script:1: bad argument #1 to 'encode_max_depth' (expected integer between 1 and 2147483647)|1000")),
            ("local c=cjson.new() local ok,e=pcall(function() return c.encode_max_depth(2^31) end) return tostring(ok)..'|'..E(e)..'|'..tostring(c.encode_max_depth())", Text(b"false|user_script:1: bad argument #1 to 'encode_max_depth' (expected integer between 1 and 2147483647)|1000")),
            ("local c=cjson.new() local ok,e=pcall(function() return c.encode_max_depth(2^32+7) end) return tostring(ok)..'|'..E(e)..'|'..tostring(c.encode_max_depth())", Text(b"true|7|7")),
            ("local c=cjson.new() local ok,e=pcall(function() return c.encode_max_depth(1e30) end) return tostring(ok)..'|'..E(e)..'|'..tostring(c.encode_max_depth())", Text(b"false|user_script:1: bad argument #1 to 'encode_max_depth' (expected integer between 1 and 2147483647)|1000")),
            ("local c=cjson.new() local ok,e=pcall(function() return c.encode_max_depth(0/0) end) return tostring(ok)..'|'..E(e)..'|'..tostring(c.encode_max_depth())", Text(b"false|user_script:1: bad argument #1 to 'encode_max_depth' (expected integer between 1 and 2147483647)|1000")),
            ("local c=cjson.new() local ok,e=pcall(function() return c.encode_max_depth(1,2) end) return tostring(ok)..'|'..E(e)..'|'..tostring(c.encode_max_depth())", Text(b"false|user_script:1: bad argument #2 to 'encode_max_depth' (found too many arguments)|1000")),
            ("local c=cjson.new() local ok,e=pcall(function() return c.encode_max_depth(nil) end) return tostring(ok)..'|'..E(e)..'|'..tostring(c.encode_max_depth())", Text(b"true|1000|1000")),
            ("local c=cjson.new() local ok,e=pcall(function() return c.encode_max_depth(nil, nil) end) return tostring(ok)..'|'..E(e)..'|'..tostring(c.encode_max_depth())", Text(b"false|user_script:1: bad argument #2 to 'encode_max_depth' (found too many arguments)|1000")),
            ("local c=cjson.new() local ok,e=pcall(function() return c.encode_max_depth('1e1') end) return tostring(ok)..'|'..E(e)..'|'..tostring(c.encode_max_depth())", Text(b"true|10|10")),
            ("local c=cjson.new() local ok,e=pcall(function() return c.decode_max_depth() end) return tostring(ok)..'|'..E(e)..'|'..tostring(c.decode_max_depth())", Text(b"true|1000|1000")),
            ("local c=cjson.new() local ok,e=pcall(function() return c.decode_max_depth(5) end) return tostring(ok)..'|'..E(e)..'|'..tostring(c.decode_max_depth())", Text(b"true|5|5")),
            ("local c=cjson.new() local ok,e=pcall(function() return c.decode_max_depth(0) end) return tostring(ok)..'|'..E(e)..'|'..tostring(c.decode_max_depth())", Text(b"false|user_script:1: bad argument #1 to 'decode_max_depth' (expected integer between 1 and 2147483647)|1000")),
            ("local c=cjson.new() local ok,e=pcall(function() return c.decode_max_depth(-1) end) return tostring(ok)..'|'..E(e)..'|'..tostring(c.decode_max_depth())", Text(b"false|user_script:1: bad argument #1 to 'decode_max_depth' (expected integer between 1 and 2147483647)|1000")),
            ("local c=cjson.new() local ok,e=pcall(function() return c.decode_max_depth(15) end) return tostring(ok)..'|'..E(e)..'|'..tostring(c.decode_max_depth())", Text(b"true|15|15")),
            ("local c=cjson.new() local ok,e=pcall(function() return c.decode_max_depth(14) end) return tostring(ok)..'|'..E(e)..'|'..tostring(c.decode_max_depth())", Text(b"true|14|14")),
            ("local c=cjson.new() local ok,e=pcall(function() return c.decode_max_depth(1) end) return tostring(ok)..'|'..E(e)..'|'..tostring(c.decode_max_depth())", Text(b"true|1|1")),
            ("local c=cjson.new() local ok,e=pcall(function() return c.decode_max_depth('3') end) return tostring(ok)..'|'..E(e)..'|'..tostring(c.decode_max_depth())", Text(b"true|3|3")),
            ("local c=cjson.new() local ok,e=pcall(function() return c.decode_max_depth(' 0x10 ') end) return tostring(ok)..'|'..E(e)..'|'..tostring(c.decode_max_depth())", Text(b"true|16|16")),
            ("local c=cjson.new() local ok,e=pcall(function() return c.decode_max_depth('abc') end) return tostring(ok)..'|'..E(e)..'|'..tostring(c.decode_max_depth())", Text(b"false|user_script:1: bad argument #1 to 'decode_max_depth' (number expected, got string)|1000")),
            ("local c=cjson.new() local ok,e=pcall(function() return c.decode_max_depth({}) end) return tostring(ok)..'|'..E(e)..'|'..tostring(c.decode_max_depth())", Text(b"false|user_script:1: bad argument #1 to 'decode_max_depth' (number expected, got table)|1000")),
            ("local c=cjson.new() local ok,e=pcall(function() return c.decode_max_depth(true) end) return tostring(ok)..'|'..E(e)..'|'..tostring(c.decode_max_depth())", Text(b"false|user_script:1: bad argument #1 to 'decode_max_depth' (number expected, got boolean)|1000")),
            ("local c=cjson.new() local ok,e=pcall(function() return c.decode_max_depth(3.7) end) return tostring(ok)..'|'..E(e)..'|'..tostring(c.decode_max_depth())", Text(b"true|3|3")),
            ("local c=cjson.new() local ok,e=pcall(function() return c.decode_max_depth(-0.5) end) return tostring(ok)..'|'..E(e)..'|'..tostring(c.decode_max_depth())", Text(b"false|user_script:1: bad argument #1 to 'decode_max_depth' (expected integer between 1 and 2147483647)|1000")),
            ("local c=cjson.new() local ok,e=pcall(function() return c.decode_max_depth(2^31) end) return tostring(ok)..'|'..E(e)..'|'..tostring(c.decode_max_depth())", Text(b"false|user_script:1: bad argument #1 to 'decode_max_depth' (expected integer between 1 and 2147483647)|1000")),
            ("local c=cjson.new() local ok,e=pcall(function() return c.decode_max_depth(2^32+7) end) return tostring(ok)..'|'..E(e)..'|'..tostring(c.decode_max_depth())", Text(b"true|7|7")),
            ("local c=cjson.new() local ok,e=pcall(function() return c.decode_max_depth(1e30) end) return tostring(ok)..'|'..E(e)..'|'..tostring(c.decode_max_depth())", Text(b"false|user_script:1: bad argument #1 to 'decode_max_depth' (expected integer between 1 and 2147483647)|1000")),
            ("local c=cjson.new() local ok,e=pcall(function() return c.decode_max_depth(0/0) end) return tostring(ok)..'|'..E(e)..'|'..tostring(c.decode_max_depth())", Text(b"false|user_script:1: bad argument #1 to 'decode_max_depth' (expected integer between 1 and 2147483647)|1000")),
            ("local c=cjson.new() local ok,e=pcall(function() return c.decode_max_depth(1,2) end) return tostring(ok)..'|'..E(e)..'|'..tostring(c.decode_max_depth())", Text(b"false|user_script:1: bad argument #2 to 'decode_max_depth' (found too many arguments)|1000")),
            ("local c=cjson.new() local ok,e=pcall(function() return c.decode_max_depth(nil) end) return tostring(ok)..'|'..E(e)..'|'..tostring(c.decode_max_depth())", Text(b"true|1000|1000")),
            ("local c=cjson.new() local ok,e=pcall(function() return c.decode_max_depth(nil, nil) end) return tostring(ok)..'|'..E(e)..'|'..tostring(c.decode_max_depth())", Text(b"false|user_script:1: bad argument #2 to 'decode_max_depth' (found too many arguments)|1000")),
            ("local c=cjson.new() local ok,e=pcall(function() return c.decode_max_depth('1e1') end) return tostring(ok)..'|'..E(e)..'|'..tostring(c.decode_max_depth())", Text(b"true|10|10")),
            ("local c=cjson.new() local ok,e=pcall(function() return c.encode_number_precision() end) return tostring(ok)..'|'..E(e)..'|'..tostring(c.encode_number_precision())", Text(b"true|14|14")),
            ("local c=cjson.new() local ok,e=pcall(function() return c.encode_number_precision(5) end) return tostring(ok)..'|'..E(e)..'|'..tostring(c.encode_number_precision())", Text(b"true|5|5")),
            ("local c=cjson.new() local ok,e=pcall(function() return c.encode_number_precision(0) end) return tostring(ok)..'|'..E(e)..'|'..tostring(c.encode_number_precision())", Text(b"false|user_script:1: bad argument #1 to 'encode_number_precision' (expected integer between 1 and 14)|14")),
            ("local c=cjson.new() local ok,e=pcall(function() return c.encode_number_precision(-1) end) return tostring(ok)..'|'..E(e)..'|'..tostring(c.encode_number_precision())", Text(b"false|user_script:1: bad argument #1 to 'encode_number_precision' (expected integer between 1 and 14)|14")),
            ("local c=cjson.new() local ok,e=pcall(function() return c.encode_number_precision(15) end) return tostring(ok)..'|'..E(e)..'|'..tostring(c.encode_number_precision())", Text(b"false|user_script:1: bad argument #1 to 'encode_number_precision' (expected integer between 1 and 14)|14")),
            ("local c=cjson.new() local ok,e=pcall(function() return c.encode_number_precision(14) end) return tostring(ok)..'|'..E(e)..'|'..tostring(c.encode_number_precision())", Text(b"true|14|14")),
            ("local c=cjson.new() local ok,e=pcall(function() return c.encode_number_precision(1) end) return tostring(ok)..'|'..E(e)..'|'..tostring(c.encode_number_precision())", Text(b"true|1|1")),
            ("local c=cjson.new() local ok,e=pcall(function() return c.encode_number_precision('3') end) return tostring(ok)..'|'..E(e)..'|'..tostring(c.encode_number_precision())", Text(b"true|3|3")),
            ("local c=cjson.new() local ok,e=pcall(function() return c.encode_number_precision(' 0x10 ') end) return tostring(ok)..'|'..E(e)..'|'..tostring(c.encode_number_precision())", Text(b"false|user_script:1: bad argument #1 to 'encode_number_precision' (expected integer between 1 and 14)|14")),
            ("local c=cjson.new() local ok,e=pcall(function() return c.encode_number_precision('abc') end) return tostring(ok)..'|'..E(e)..'|'..tostring(c.encode_number_precision())", Text(b"false|user_script:1: bad argument #1 to 'encode_number_precision' (number expected, got string)|14")),
            ("local c=cjson.new() local ok,e=pcall(function() return c.encode_number_precision({}) end) return tostring(ok)..'|'..E(e)..'|'..tostring(c.encode_number_precision())", Text(b"false|user_script:1: bad argument #1 to 'encode_number_precision' (number expected, got table)|14")),
            ("local c=cjson.new() local ok,e=pcall(function() return c.encode_number_precision(true) end) return tostring(ok)..'|'..E(e)..'|'..tostring(c.encode_number_precision())", Text(b"false|user_script:1: bad argument #1 to 'encode_number_precision' (number expected, got boolean)|14")),
            ("local c=cjson.new() local ok,e=pcall(function() return c.encode_number_precision(3.7) end) return tostring(ok)..'|'..E(e)..'|'..tostring(c.encode_number_precision())", Text(b"true|3|3")),
            ("local c=cjson.new() local ok,e=pcall(function() return c.encode_number_precision(-0.5) end) return tostring(ok)..'|'..E(e)..'|'..tostring(c.encode_number_precision())", Text(b"false|user_script:1: bad argument #1 to 'encode_number_precision' (expected integer between 1 and 14)|14")),
            ("local c=cjson.new() local ok,e=pcall(function() return c.encode_number_precision(2^31) end) return tostring(ok)..'|'..E(e)..'|'..tostring(c.encode_number_precision())", Text(b"false|user_script:1: bad argument #1 to 'encode_number_precision' (expected integer between 1 and 14)|14")),
            ("local c=cjson.new() local ok,e=pcall(function() return c.encode_number_precision(2^32+7) end) return tostring(ok)..'|'..E(e)..'|'..tostring(c.encode_number_precision())", Text(b"true|7|7")),
            ("local c=cjson.new() local ok,e=pcall(function() return c.encode_number_precision(1e30) end) return tostring(ok)..'|'..E(e)..'|'..tostring(c.encode_number_precision())", Text(b"false|user_script:1: bad argument #1 to 'encode_number_precision' (expected integer between 1 and 14)|14")),
            ("local c=cjson.new() local ok,e=pcall(function() return c.encode_number_precision(0/0) end) return tostring(ok)..'|'..E(e)..'|'..tostring(c.encode_number_precision())", Text(b"false|user_script:1: bad argument #1 to 'encode_number_precision' (expected integer between 1 and 14)|14")),
            ("local c=cjson.new() local ok,e=pcall(function() return c.encode_number_precision(1,2) end) return tostring(ok)..'|'..E(e)..'|'..tostring(c.encode_number_precision())", Text(b"false|user_script:1: bad argument #2 to 'encode_number_precision' (found too many arguments)|14")),
            ("local c=cjson.new() local ok,e=pcall(function() return c.encode_number_precision(nil) end) return tostring(ok)..'|'..E(e)..'|'..tostring(c.encode_number_precision())", Text(b"true|14|14")),
            ("local c=cjson.new() local ok,e=pcall(function() return c.encode_number_precision(nil, nil) end) return tostring(ok)..'|'..E(e)..'|'..tostring(c.encode_number_precision())", Text(b"false|user_script:1: bad argument #2 to 'encode_number_precision' (found too many arguments)|14")),
            ("local c=cjson.new() local ok,e=pcall(function() return c.encode_number_precision('1e1') end) return tostring(ok)..'|'..E(e)..'|'..tostring(c.encode_number_precision())", Text(b"true|10|10")),
        ]);
    }

    #[test]
    fn setters_enum() {
        check(&[
            ("local c=cjson.new() local ok,e=pcall(function() return c.encode_keep_buffer() end) return tostring(ok)..'|'..E(e)..'|'..tostring(c.encode_keep_buffer())", Text(b"true|true|true")),
            ("local c=cjson.new() local ok,e=pcall(function() return c.encode_keep_buffer(true) end) return tostring(ok)..'|'..E(e)..'|'..tostring(c.encode_keep_buffer())", Text(b"true|true|true")),
            ("local c=cjson.new() local ok,e=pcall(function() return c.encode_keep_buffer(false) end) return tostring(ok)..'|'..E(e)..'|'..tostring(c.encode_keep_buffer())", Text(b"true|false|false")),
            ("local c=cjson.new() local ok,e=pcall(function() return c.encode_keep_buffer('on') end) return tostring(ok)..'|'..E(e)..'|'..tostring(c.encode_keep_buffer())", Text(b"true|true|true")),
            ("local c=cjson.new() local ok,e=pcall(function() return c.encode_keep_buffer('off') end) return tostring(ok)..'|'..E(e)..'|'..tostring(c.encode_keep_buffer())", Text(b"true|false|false")),
            ("local c=cjson.new() local ok,e=pcall(function() return c.encode_keep_buffer('null') end) return tostring(ok)..'|'..E(e)..'|'..tostring(c.encode_keep_buffer())", Text(b"false|user_script:1: bad argument #1 to 'encode_keep_buffer' (invalid option 'null')|true")),
            ("local c=cjson.new() local ok,e=pcall(function() return c.encode_keep_buffer('xx') end) return tostring(ok)..'|'..E(e)..'|'..tostring(c.encode_keep_buffer())", Text(b"false|user_script:1: bad argument #1 to 'encode_keep_buffer' (invalid option 'xx')|true")),
            ("local c=cjson.new() local ok,e=pcall(function() return c.encode_keep_buffer(1) end) return tostring(ok)..'|'..E(e)..'|'..tostring(c.encode_keep_buffer())", Text(b"false|user_script:1: bad argument #1 to 'encode_keep_buffer' (invalid option '1')|true")),
            ("local c=cjson.new() local ok,e=pcall(function() return c.encode_keep_buffer(0) end) return tostring(ok)..'|'..E(e)..'|'..tostring(c.encode_keep_buffer())", Text(b"false|user_script:1: bad argument #1 to 'encode_keep_buffer' (invalid option '0')|true")),
            ("local c=cjson.new() local ok,e=pcall(function() return c.encode_keep_buffer(1.5) end) return tostring(ok)..'|'..E(e)..'|'..tostring(c.encode_keep_buffer())", Text(b"false|user_script:1: bad argument #1 to 'encode_keep_buffer' (invalid option '1.5')|true")),
            ("local c=cjson.new() local ok,e=pcall(function() return c.encode_keep_buffer({}) end) return tostring(ok)..'|'..E(e)..'|'..tostring(c.encode_keep_buffer())", Text(b"false|user_script:1: bad argument #1 to 'encode_keep_buffer' (string expected, got table)|true")),
            ("local c=cjson.new() local ok,e=pcall(function() return c.encode_keep_buffer('on', 1) end) return tostring(ok)..'|'..E(e)..'|'..tostring(c.encode_keep_buffer())", Text(b"false|user_script:1: bad argument #2 to 'encode_keep_buffer' (found too many arguments)|true")),
            ("local c=cjson.new() local ok,e=pcall(function() return c.encode_keep_buffer(nil) end) return tostring(ok)..'|'..E(e)..'|'..tostring(c.encode_keep_buffer())", Text(b"true|true|true")),
            ("local c=cjson.new() local ok,e=pcall(function() return c.encode_keep_buffer('ON') end) return tostring(ok)..'|'..E(e)..'|'..tostring(c.encode_keep_buffer())", Text(b"false|user_script:1: bad argument #1 to 'encode_keep_buffer' (invalid option 'ON')|true")),
            ("local c=cjson.new() local ok,e=pcall(function() return c.encode_keep_buffer('on\\0garbage') end) return tostring(ok)..'|'..E(e)..'|'..tostring(c.encode_keep_buffer())", Text(b"true|true|true")),
            ("local c=cjson.new() local ok,e=pcall(function() return c.encode_keep_buffer(tostring) end) return tostring(ok)..'|'..E(e)..'|'..tostring(c.encode_keep_buffer())", Text(b"false|user_script:1: bad argument #1 to 'encode_keep_buffer' (string expected, got function)|true")),
            ("local c=cjson.new() local ok,e=pcall(function() return c.encode_invalid_numbers() end) return tostring(ok)..'|'..E(e)..'|'..tostring(c.encode_invalid_numbers())", Text(b"true|false|false")),
            ("local c=cjson.new() local ok,e=pcall(function() return c.encode_invalid_numbers(true) end) return tostring(ok)..'|'..E(e)..'|'..tostring(c.encode_invalid_numbers())", Text(b"true|true|true")),
            ("local c=cjson.new() local ok,e=pcall(function() return c.encode_invalid_numbers(false) end) return tostring(ok)..'|'..E(e)..'|'..tostring(c.encode_invalid_numbers())", Text(b"true|false|false")),
            ("local c=cjson.new() local ok,e=pcall(function() return c.encode_invalid_numbers('on') end) return tostring(ok)..'|'..E(e)..'|'..tostring(c.encode_invalid_numbers())", Text(b"true|true|true")),
            ("local c=cjson.new() local ok,e=pcall(function() return c.encode_invalid_numbers('off') end) return tostring(ok)..'|'..E(e)..'|'..tostring(c.encode_invalid_numbers())", Text(b"true|false|false")),
            ("local c=cjson.new() local ok,e=pcall(function() return c.encode_invalid_numbers('null') end) return tostring(ok)..'|'..E(e)..'|'..tostring(c.encode_invalid_numbers())", Text(b"true|null|null")),
            ("local c=cjson.new() local ok,e=pcall(function() return c.encode_invalid_numbers('xx') end) return tostring(ok)..'|'..E(e)..'|'..tostring(c.encode_invalid_numbers())", Text(b"false|user_script:1: bad argument #1 to 'encode_invalid_numbers' (invalid option 'xx')|false")),
            ("local c=cjson.new() local ok,e=pcall(function() return c.encode_invalid_numbers(1) end) return tostring(ok)..'|'..E(e)..'|'..tostring(c.encode_invalid_numbers())", Text(b"false|user_script:1: bad argument #1 to 'encode_invalid_numbers' (invalid option '1')|false")),
            ("local c=cjson.new() local ok,e=pcall(function() return c.encode_invalid_numbers(0) end) return tostring(ok)..'|'..E(e)..'|'..tostring(c.encode_invalid_numbers())", Text(b"false|user_script:1: bad argument #1 to 'encode_invalid_numbers' (invalid option '0')|false")),
            ("local c=cjson.new() local ok,e=pcall(function() return c.encode_invalid_numbers(1.5) end) return tostring(ok)..'|'..E(e)..'|'..tostring(c.encode_invalid_numbers())", Text(b"false|user_script:1: bad argument #1 to 'encode_invalid_numbers' (invalid option '1.5')|false")),
            ("local c=cjson.new() local ok,e=pcall(function() return c.encode_invalid_numbers({}) end) return tostring(ok)..'|'..E(e)..'|'..tostring(c.encode_invalid_numbers())", Text(b"false|user_script:1: bad argument #1 to 'encode_invalid_numbers' (string expected, got table)|false")),
            ("local c=cjson.new() local ok,e=pcall(function() return c.encode_invalid_numbers('on', 1) end) return tostring(ok)..'|'..E(e)..'|'..tostring(c.encode_invalid_numbers())", Text(b"false|user_script:1: bad argument #2 to 'encode_invalid_numbers' (found too many arguments)|false")),
            ("local c=cjson.new() local ok,e=pcall(function() return c.encode_invalid_numbers(nil) end) return tostring(ok)..'|'..E(e)..'|'..tostring(c.encode_invalid_numbers())", Text(b"true|false|false")),
            ("local c=cjson.new() local ok,e=pcall(function() return c.encode_invalid_numbers('ON') end) return tostring(ok)..'|'..E(e)..'|'..tostring(c.encode_invalid_numbers())", Text(b"false|user_script:1: bad argument #1 to 'encode_invalid_numbers' (invalid option 'ON')|false")),
            ("local c=cjson.new() local ok,e=pcall(function() return c.encode_invalid_numbers('on\\0garbage') end) return tostring(ok)..'|'..E(e)..'|'..tostring(c.encode_invalid_numbers())", Text(b"true|true|true")),
            ("local c=cjson.new() local ok,e=pcall(function() return c.encode_invalid_numbers(tostring) end) return tostring(ok)..'|'..E(e)..'|'..tostring(c.encode_invalid_numbers())", Text(b"false|user_script:1: bad argument #1 to 'encode_invalid_numbers' (string expected, got function)|false")),
            ("local c=cjson.new() local ok,e=pcall(function() return c.decode_invalid_numbers() end) return tostring(ok)..'|'..E(e)..'|'..tostring(c.decode_invalid_numbers())", Text(b"true|true|true")),
            ("local c=cjson.new() local ok,e=pcall(function() return c.decode_invalid_numbers(true) end) return tostring(ok)..'|'..E(e)..'|'..tostring(c.decode_invalid_numbers())", Text(b"true|true|true")),
            ("local c=cjson.new() local ok,e=pcall(function() return c.decode_invalid_numbers(false) end) return tostring(ok)..'|'..E(e)..'|'..tostring(c.decode_invalid_numbers())", Text(b"true|false|false")),
            ("local c=cjson.new() local ok,e=pcall(function() return c.decode_invalid_numbers('on') end) return tostring(ok)..'|'..E(e)..'|'..tostring(c.decode_invalid_numbers())", Text(b"true|true|true")),
            ("local c=cjson.new() local ok,e=pcall(function() return c.decode_invalid_numbers('off') end) return tostring(ok)..'|'..E(e)..'|'..tostring(c.decode_invalid_numbers())", Text(b"true|false|false")),
            ("local c=cjson.new() local ok,e=pcall(function() return c.decode_invalid_numbers('null') end) return tostring(ok)..'|'..E(e)..'|'..tostring(c.decode_invalid_numbers())", Text(b"false|user_script:1: bad argument #1 to 'decode_invalid_numbers' (invalid option 'null')|true")),
            ("local c=cjson.new() local ok,e=pcall(function() return c.decode_invalid_numbers('xx') end) return tostring(ok)..'|'..E(e)..'|'..tostring(c.decode_invalid_numbers())", Text(b"false|user_script:1: bad argument #1 to 'decode_invalid_numbers' (invalid option 'xx')|true")),
            ("local c=cjson.new() local ok,e=pcall(function() return c.decode_invalid_numbers(1) end) return tostring(ok)..'|'..E(e)..'|'..tostring(c.decode_invalid_numbers())", Text(b"false|user_script:1: bad argument #1 to 'decode_invalid_numbers' (invalid option '1')|true")),
            ("local c=cjson.new() local ok,e=pcall(function() return c.decode_invalid_numbers(0) end) return tostring(ok)..'|'..E(e)..'|'..tostring(c.decode_invalid_numbers())", Text(b"false|user_script:1: bad argument #1 to 'decode_invalid_numbers' (invalid option '0')|true")),
            ("local c=cjson.new() local ok,e=pcall(function() return c.decode_invalid_numbers(1.5) end) return tostring(ok)..'|'..E(e)..'|'..tostring(c.decode_invalid_numbers())", Text(b"false|user_script:1: bad argument #1 to 'decode_invalid_numbers' (invalid option '1.5')|true")),
            ("local c=cjson.new() local ok,e=pcall(function() return c.decode_invalid_numbers({}) end) return tostring(ok)..'|'..E(e)..'|'..tostring(c.decode_invalid_numbers())", Text(b"false|user_script:1: bad argument #1 to 'decode_invalid_numbers' (string expected, got table)|true")),
            ("local c=cjson.new() local ok,e=pcall(function() return c.decode_invalid_numbers('on', 1) end) return tostring(ok)..'|'..E(e)..'|'..tostring(c.decode_invalid_numbers())", Text(b"false|user_script:1: bad argument #2 to 'decode_invalid_numbers' (found too many arguments)|true")),
            ("local c=cjson.new() local ok,e=pcall(function() return c.decode_invalid_numbers(nil) end) return tostring(ok)..'|'..E(e)..'|'..tostring(c.decode_invalid_numbers())", Text(b"true|true|true")),
            ("local c=cjson.new() local ok,e=pcall(function() return c.decode_invalid_numbers('ON') end) return tostring(ok)..'|'..E(e)..'|'..tostring(c.decode_invalid_numbers())", Text(b"false|user_script:1: bad argument #1 to 'decode_invalid_numbers' (invalid option 'ON')|true")),
            ("local c=cjson.new() local ok,e=pcall(function() return c.decode_invalid_numbers('on\\0garbage') end) return tostring(ok)..'|'..E(e)..'|'..tostring(c.decode_invalid_numbers())", Text(b"true|true|true")),
            ("local c=cjson.new() local ok,e=pcall(function() return c.decode_invalid_numbers(tostring) end) return tostring(ok)..'|'..E(e)..'|'..tostring(c.decode_invalid_numbers())", Text(b"false|user_script:1: bad argument #1 to 'decode_invalid_numbers' (string expected, got function)|true")),
        ]);
    }

    #[test]
    fn argument_errors() {
        check(&[
            ("local ok, e = pcall(function() return cjson.encode() end) return tostring(ok)..'|'..E(e)", Text(b"false|user_script:1: bad argument #1 to 'encode' (expected 1 argument)")),
            ("local ok, e = pcall(function() return cjson.encode(1, 2) end) return tostring(ok)..'|'..E(e)", Text(b"false|user_script:1: bad argument #1 to 'encode' (expected 1 argument)")),
            ("local ok, e = pcall(function() return cjson.decode() end) return tostring(ok)..'|'..E(e)", Text(b"false|user_script:1: bad argument #1 to 'decode' (expected 1 argument)")),
            ("local ok, e = pcall(function() return cjson.decode('1', 2) end) return tostring(ok)..'|'..E(e)", Text(b"false|user_script:1: bad argument #1 to 'decode' (expected 1 argument)")),
            ("local ok, e = pcall(function() return cjson.decode(nil) end) return tostring(ok)..'|'..E(e)", Text(b"false|user_script:1: bad argument #1 to 'decode' (string expected, got nil)")),
            ("local ok, e = pcall(function() return cjson.decode({}) end) return tostring(ok)..'|'..E(e)", Text(b"false|user_script:1: bad argument #1 to 'decode' (string expected, got table)")),
            ("local ok, e = pcall(function() return cjson.decode(true) end) return tostring(ok)..'|'..E(e)", Text(b"false|user_script:1: bad argument #1 to 'decode' (string expected, got boolean)")),
            ("local ok, e = pcall(function() return cjson.decode(tostring) end) return tostring(ok)..'|'..E(e)", Text(b"false|user_script:1: bad argument #1 to 'decode' (string expected, got function)")),
            ("local ok, e = pcall(function() return cjson:encode(1) end) return tostring(ok)..'|'..E(e)", Text(b"false|user_script:1: calling 'encode' on bad self (expected 1 argument)")),
            ("local ok, e = pcall(function() return cjson:decode() end) return tostring(ok)..'|'..E(e)", Text(b"false|user_script:1: calling 'decode' on bad self (string expected, got table)")),
            ("local ok, e = pcall(function() return cjson:decode('1') end) return tostring(ok)..'|'..E(e)", Text(b"false|user_script:1: calling 'decode' on bad self (expected 1 argument)")),
            ("local ok, e = pcall(function() return cjson:encode_max_depth() end) return tostring(ok)..'|'..E(e)", Text(b"false|user_script:1: calling 'encode_max_depth' on bad self (number expected, got table)")),
            ("local ok, e = pcall(function() return cjson:encode_max_depth(1) end) return tostring(ok)..'|'..E(e)", Text(b"false|user_script:1: bad argument #1 to 'encode_max_depth' (found too many arguments)")),
            ("local ok, e = pcall(function() return cjson:encode_sparse_array(1,2,3) end) return tostring(ok)..'|'..E(e)", Text(b"false|user_script:1: bad argument #3 to 'encode_sparse_array' (found too many arguments)")),
            ("local ok, e = pcall(function() return cjson:encode_sparse_array('x') end) return tostring(ok)..'|'..E(e)", Text(b"false|user_script:1: calling 'encode_sparse_array' on bad self (string expected, got table)")),
            ("local ok,e = pcall(cjson.encode) return E(e)", Text(b"bad argument #1 to '?' (expected 1 argument)")),
            ("local ok,e = pcall(cjson.decode, 1, 2) return E(e)", Text(b"bad argument #1 to '?' (expected 1 argument)")),
            ("local ok,e = pcall(cjson.encode_max_depth, 0) return E(e)", Text(b"bad argument #1 to '?' (expected integer between 1 and 2147483647)")),
            ("local ok,e = pcall(cjson.encode, tostring) return E(e)", Text(b"Cannot serialise function: type not supported")),
            ("local ok,e = pcall(cjson.decode, '[') return E(e)", Text(b"Expected value but found T_END at character 2")),
            ("local f = cjson.encode local ok,e = pcall(function() return f() end) return E(e)", Text(b"user_script:1: bad argument #1 to 'f' (expected 1 argument)")),
            ("local t = {x=cjson.decode} local ok,e = pcall(function() return t.x(nil) end) return E(e)", Text(b"user_script:1: bad argument #1 to 'x' (string expected, got nil)")),
            ("local ok,e = pcall(function() local r = cjson.encode(tostring) return r end) return E(e)", Text(b"user_script:1: Cannot serialise function: type not supported")),
            ("local ok,e = pcall(function()\n\n  local r = cjson.encode(tostring)\n return r end) return E(e)", Text(b"user_script:3: Cannot serialise function: type not supported")),
            ("local ok,e = pcall(function()\n\n  local r = cjson.decode('x')\n return r end) return E(e)", Text(b"user_script:3: Expected value but found invalid token at character 1")),
            ("local ok,e = pcall(function()\n\n  local r = cjson.decode()\n return r end) return E(e)", Text(b"user_script:3: bad argument #1 to 'decode' (expected 1 argument)")),
        ]);
    }

    #[test]
    fn decode_values() {
        check(&[
            ("local v = cjson.decode('[1,2,3]') return cjson.encode(v)", Text(b"[1,2,3]")),
            ("local v = cjson.decode('{\"a\":1}') return cjson.encode(v)", Text(b"{\"a\":1}")),
            ("local v = cjson.decode('\"str\"') return cjson.encode(v)", Text(b"\"str\"")),
            ("local v = cjson.decode('123') return cjson.encode(v)", Text(b"123")),
            ("local v = cjson.decode('true') return cjson.encode(v)", Text(b"true")),
            ("local v = cjson.decode('false') return cjson.encode(v)", Text(b"false")),
            ("local v = cjson.decode(' [ ] ') return cjson.encode(v)", Text(b"{}")),
            ("local v = cjson.decode('{}') return cjson.encode(v)", Text(b"{}")),
            ("local v = cjson.decode(' {\"a\" : [1, {\"b\":null}], \"c\":\"d\"} ') return cjson.encode(v)", Text(b"{\"a\":[1,{\"b\":null}],\"c\":\"d\"}")),
            ("local v = cjson.decode('[[[[]]]]') return cjson.encode(v)", Text(b"[[[{}]]]")),
            ("local v = cjson.decode('{\"a\":{\"b\":{\"c\":[true,false,null]}}}') return cjson.encode(v)", Text(b"{\"a\":{\"b\":{\"c\":[true,false,null]}}}")),
            ("local v = cjson.decode('[\"\\\\u00e9\\\\u20ac\\\\ud83d\\\\ude00\"]') return cjson.encode(v)", Text(b"[\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"]")),
            ("local v = cjson.decode('\"\\\\b\\\\f\\\\n\\\\r\\\\t\\\\/\\\\\\\\\\\\\"\"') return cjson.encode(v)", Text(b"\"\\b\\f\\n\\r\\t\\/\\\\\\\"\"")),
            ("local v = cjson.decode('[1,1.5,-2,1e5,1E-5,0.1,-0.0,0]') return cjson.encode(v)", Text(b"[1,1.5,-2,100000,1e-05,0.1,-0,0]")),
            ("local v = cjson.decode('{\"a\":1,\"a\":2}') return cjson.encode(v)", Text(b"{\"a\":2}")),
            ("local v = cjson.decode('{\"b\":1,\"a\":2,\"c\":3,\"1\":4,\"2\":5}') return cjson.encode(v)", Text(b"{\"1\":4,\"c\":3,\"b\":1,\"2\":5,\"a\":2}")),
            ("local v = cjson.decode('[1,[2,[3,[4]]],{\"x\":[5]}]') return cjson.encode(v)", Text(b"[1,[2,[3,[4]]],{\"x\":[5]}]")),
            ("local v = cjson.decode('\"\\t raw\\1control\"') return cjson.encode(v)", Text(b"\"\\t raw\\u0001control\"")),
            ("local v = cjson.decode('[\"a\\\\u0000b\"]') return cjson.encode(v)", Text(b"[\"a\\u0000b\"]")),
            ("local v = cjson.decode('\\n\\r\\t 1 \\n') return cjson.encode(v)", Text(b"1")),
            ("local v = cjson.decode('{\"\":\"\"}') return cjson.encode(v)", Text(b"{\"\":\"\"}")),
            ("local v = cjson.decode('[{},{},[]]') return cjson.encode(v)", Text(b"[{},{},{}]")),
            ("local v = cjson.decode('\"\\\\u0041\\\\u00412\"') return cjson.encode(v)", Text(b"\"AA2\"")),
            ("local v = cjson.decode('null') return type(v)..'|'..tostring(v == cjson.null)..'|'..cjson.encode(v)", Text(b"userdata|true|null")),
            ("local v = cjson.decode('[null]') return type(v)..'|'..tostring(v == cjson.null)..'|'..cjson.encode(v)", Text(b"table|false|[null]")),
            ("local v = cjson.decode('{\"a\":null}') return type(v)..'|'..tostring(v == cjson.null)..'|'..cjson.encode(v)", Text(b"table|false|{\"a\":null}")),
            ("local v = cjson.decode('[null,1]') return tostring(v[1] == cjson.null)..type(v[1])..#v", Text(b"trueuserdata2")),
            ("return type(cjson.null)..'|'..tostring(cjson.null == nil)..'|'..cjson._NAME..'|'..cjson._VERSION", Text(b"userdata|false|cjson|2.1.0")),
            ("local ok, v = pcall(function() return cjson.decode('0x10') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return cjson.encode(v) end return type(v)..'|'..string.format('%.17g', v)", Text(b"number|16")),
            ("local ok, v = pcall(function() return cjson.decode('-0x10') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return cjson.encode(v) end return type(v)..'|'..string.format('%.17g', v)", Text(b"number|-16")),
            ("local ok, v = pcall(function() return cjson.decode('0X1p4') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return cjson.encode(v) end return type(v)..'|'..string.format('%.17g', v)", Text(b"number|16")),
            ("local ok, v = pcall(function() return cjson.decode('0x1.8p1') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return cjson.encode(v) end return type(v)..'|'..string.format('%.17g', v)", Text(b"number|3")),
            ("local ok, v = pcall(function() return cjson.decode('0x.8') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return cjson.encode(v) end return type(v)..'|'..string.format('%.17g', v)", Text(b"number|0.5")),
            ("local ok, v = pcall(function() return cjson.decode('0x1P-1074') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return cjson.encode(v) end return type(v)..'|'..string.format('%.17g', v)", Text(b"number|4.9406564584124654e-324")),
            ("local ok, v = pcall(function() return cjson.decode('0x1p-1075') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return cjson.encode(v) end return type(v)..'|'..string.format('%.17g', v)", Text(b"number|0")),
            ("local ok, v = pcall(function() return cjson.decode('0x1.8p-1074') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return cjson.encode(v) end return type(v)..'|'..string.format('%.17g', v)", Text(b"number|9.8813129168249309e-324")),
            ("local ok, v = pcall(function() return cjson.decode('0x3p-1075') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return cjson.encode(v) end return type(v)..'|'..string.format('%.17g', v)", Text(b"number|9.8813129168249309e-324")),
            ("local ok, v = pcall(function() return cjson.decode('0x1.fffffffffffff8p1023') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return cjson.encode(v) end return type(v)..'|'..string.format('%.17g', v)", Text(b"number|inf")),
            ("local ok, v = pcall(function() return cjson.decode('0x1.fffffffffffff7p1023') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return cjson.encode(v) end return type(v)..'|'..string.format('%.17g', v)", Text(b"number|1.7976931348623157e+308")),
            ("local ok, v = pcall(function() return cjson.decode('0x123456789abcdef12345') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return cjson.encode(v) end return type(v)..'|'..string.format('%.17g', v)", Text(b"number|8.5968058283706963e+22")),
            ("local ok, v = pcall(function() return cjson.decode('0x1.000000000000080000000001p0') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return cjson.encode(v) end return type(v)..'|'..string.format('%.17g', v)", Text(b"number|1.0000000000000002")),
            ("local ok, v = pcall(function() return cjson.decode('0x1.00000000000008p0') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return cjson.encode(v) end return type(v)..'|'..string.format('%.17g', v)", Text(b"number|1")),
            ("local ok, v = pcall(function() return cjson.decode('0x1.00000000000018p0') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return cjson.encode(v) end return type(v)..'|'..string.format('%.17g', v)", Text(b"number|1.0000000000000004")),
            ("local ok, v = pcall(function() return cjson.decode('0xffffffffffffffff') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return cjson.encode(v) end return type(v)..'|'..string.format('%.17g', v)", Text(b"number|1.8446744073709552e+19")),
            ("local ok, v = pcall(function() return cjson.decode('0x1p1024') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return cjson.encode(v) end return type(v)..'|'..string.format('%.17g', v)", Text(b"number|inf")),
            ("local ok, v = pcall(function() return cjson.decode('0x0.0000000001p40') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return cjson.encode(v) end return type(v)..'|'..string.format('%.17g', v)", Text(b"number|1")),
            ("local ok, v = pcall(function() return cjson.decode('1e400') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return cjson.encode(v) end return type(v)..'|'..string.format('%.17g', v)", Text(b"number|inf")),
            ("local ok, v = pcall(function() return cjson.decode('-1e400') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return cjson.encode(v) end return type(v)..'|'..string.format('%.17g', v)", Text(b"number|-inf")),
            ("local ok, v = pcall(function() return cjson.decode('1e-400') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return cjson.encode(v) end return type(v)..'|'..string.format('%.17g', v)", Text(b"number|0")),
            ("local ok, v = pcall(function() return cjson.decode('NaN') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return cjson.encode(v) end return type(v)..'|'..string.format('%.17g', v)", Text(b"number|nan")),
            ("local ok, v = pcall(function() return cjson.decode('nan') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return cjson.encode(v) end return type(v)..'|'..string.format('%.17g', v)", Text(b"number|nan")),
            ("local ok, v = pcall(function() return cjson.decode('-nan') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return cjson.encode(v) end return type(v)..'|'..string.format('%.17g', v)", Text(b"number|-nan")),
            ("local ok, v = pcall(function() return cjson.decode('inf') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return cjson.encode(v) end return type(v)..'|'..string.format('%.17g', v)", Text(b"number|inf")),
            ("local ok, v = pcall(function() return cjson.decode('-inf') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return cjson.encode(v) end return type(v)..'|'..string.format('%.17g', v)", Text(b"number|-inf")),
            ("local ok, v = pcall(function() return cjson.decode('Infinity') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return cjson.encode(v) end return type(v)..'|'..string.format('%.17g', v)", Text(b"number|inf")),
            ("local ok, v = pcall(function() return cjson.decode('-Infinity') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return cjson.encode(v) end return type(v)..'|'..string.format('%.17g', v)", Text(b"number|-inf")),
            ("local ok, v = pcall(function() return cjson.decode('+1') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return cjson.encode(v) end return type(v)..'|'..string.format('%.17g', v)", Text(b"number|1")),
            ("local ok, v = pcall(function() return cjson.decode('+inf') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return cjson.encode(v) end return type(v)..'|'..string.format('%.17g', v)", Text(b"number|inf")),
            ("local ok, v = pcall(function() return cjson.decode('01') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return cjson.encode(v) end return type(v)..'|'..string.format('%.17g', v)", Text(b"number|1")),
            ("local ok, v = pcall(function() return cjson.decode('-01') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return cjson.encode(v) end return type(v)..'|'..string.format('%.17g', v)", Text(b"number|-1")),
            ("local ok, v = pcall(function() return cjson.decode('00') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return cjson.encode(v) end return type(v)..'|'..string.format('%.17g', v)", Text(b"number|0")),
            ("local ok, v = pcall(function() return cjson.decode('1.') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return cjson.encode(v) end return type(v)..'|'..string.format('%.17g', v)", Text(b"number|1")),
            ("local ok, v = pcall(function() return cjson.decode('1.e2') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return cjson.encode(v) end return type(v)..'|'..string.format('%.17g', v)", Text(b"number|100")),
            ("local ok, v = pcall(function() return cjson.decode('1e') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return cjson.encode(v) end return type(v)..'|'..string.format('%.17g', v)", Text(b"ERR|user_script:1: Expected the end but found invalid token at character 2")),
            ("local ok, v = pcall(function() return cjson.decode('1e+') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return cjson.encode(v) end return type(v)..'|'..string.format('%.17g', v)", Text(b"ERR|user_script:1: Expected the end but found invalid token at character 2")),
            ("local ok, v = pcall(function() return cjson.decode('0.1e-2') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return cjson.encode(v) end return type(v)..'|'..string.format('%.17g', v)", Text(b"number|0.001")),
            ("local ok, v = pcall(function() return cjson.decode('123456789012345678901234567890') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return cjson.encode(v) end return type(v)..'|'..string.format('%.17g', v)", Text(b"number|1.2345678901234568e+29")),
            ("local ok, v = pcall(function() return cjson.decode('4.9e-324') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return cjson.encode(v) end return type(v)..'|'..string.format('%.17g', v)", Text(b"number|4.9406564584124654e-324")),
            ("local ok, v = pcall(function() return cjson.decode('2.4703282292062327e-324') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return cjson.encode(v) end return type(v)..'|'..string.format('%.17g', v)", Text(b"number|0")),
            ("local ok, v = pcall(function() return cjson.decode('2.4703282292062328e-324') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return cjson.encode(v) end return type(v)..'|'..string.format('%.17g', v)", Text(b"number|4.9406564584124654e-324")),
            ("local ok, v = pcall(function() return cjson.decode('1.7976931348623157e308') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return cjson.encode(v) end return type(v)..'|'..string.format('%.17g', v)", Text(b"number|1.7976931348623157e+308")),
            ("local ok, v = pcall(function() return cjson.decode('1.7976931348623158e308') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return cjson.encode(v) end return type(v)..'|'..string.format('%.17g', v)", Text(b"number|1.7976931348623157e+308")),
            ("local ok, v = pcall(function() return cjson.decode('1.7976931348623159e308') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return cjson.encode(v) end return type(v)..'|'..string.format('%.17g', v)", Text(b"number|inf")),
            ("local ok, v = pcall(function() return cjson.decode('9007199254740993') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return cjson.encode(v) end return type(v)..'|'..string.format('%.17g', v)", Text(b"number|9007199254740992")),
            ("local ok, v = pcall(function() return cjson.decode('0.1000000000000000055511151231257827021181583404541015625') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return cjson.encode(v) end return type(v)..'|'..string.format('%.17g', v)", Text(b"number|0.10000000000000001")),
            ("local ok, v = pcall(function() return cjson.decode('1' .. string.rep('0', 400)) end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return cjson.encode(v) end return type(v)..'|'..string.format('%.17g', v)", Text(b"number|inf")),
            ("local ok, v = pcall(function() return cjson.decode('0.' .. string.rep('0', 400) .. '1e401') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return cjson.encode(v) end return type(v)..'|'..string.format('%.17g', v)", Text(b"number|1")),
            ("local ok, v = pcall(function() return cjson.decode('nan(123)') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return cjson.encode(v) end return type(v)..'|'..string.format('%.17g', v)", Text(b"number|nan")),
            ("local ok, v = pcall(function() return cjson.decode('nan(abc_1)') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return cjson.encode(v) end return type(v)..'|'..string.format('%.17g', v)", Text(b"number|nan")),
            ("local ok, v = pcall(function() return cjson.decode('-nan(x)') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return cjson.encode(v) end return type(v)..'|'..string.format('%.17g', v)", Text(b"number|-nan")),
            ("local ok, v = pcall(function() return cjson.decode('1e99999999999999999999') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return cjson.encode(v) end return type(v)..'|'..string.format('%.17g', v)", Text(b"number|inf")),
            ("local ok, v = pcall(function() return cjson.decode('0x1p99999999999999999999') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return cjson.encode(v) end return type(v)..'|'..string.format('%.17g', v)", Text(b"number|inf")),
            ("local ok, v = pcall(function() return cjson.decode('0x1p-99999999999999999999') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return cjson.encode(v) end return type(v)..'|'..string.format('%.17g', v)", Text(b"number|0")),
            ("local ok, v = pcall(function() return cjson.decode(' -0 ') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return cjson.encode(v) end return type(v)..'|'..string.format('%.17g', v)", Text(b"number|-0")),
            ("local ok, v = pcall(function() return cjson.decode('-0.0') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return cjson.encode(v) end return type(v)..'|'..string.format('%.17g', v)", Text(b"number|-0")),
            ("local ok, v = pcall(function() return cjson.decode('[-0]') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return cjson.encode(v) end return type(v)..'|'..string.format('%.17g', v)", Text(b"[-0]")),
            ("local ok, v = pcall(function() return cjson.decode('12') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return cjson.encode(v) end return type(v)..'|'..string.format('%.17g', v)", Text(b"number|12")),
            ("local ok, v = pcall(function() return cjson.decode('5e-324') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return cjson.encode(v) end return type(v)..'|'..string.format('%.17g', v)", Text(b"number|4.9406564584124654e-324")),
            ("local ok, v = pcall(function() return cjson.decode('1E5') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return cjson.encode(v) end return type(v)..'|'..string.format('%.17g', v)", Text(b"number|100000")),
            ("local ok, v = pcall(function() return cjson.decode('3.0e+2') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return cjson.encode(v) end return type(v)..'|'..string.format('%.17g', v)", Text(b"number|300")),
            ("local ok, v = pcall(function() return cjson.decode('[0x10, 0xff, 0X7FFFFFFF]') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return cjson.encode(v) end return type(v)..'|'..string.format('%.17g', v)", Text(b"[16,255,2147483647]")),
            ("local ok, v = pcall(function() return cjson.decode('[1e2,-1e-2]') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return cjson.encode(v) end return type(v)..'|'..string.format('%.17g', v)", Text(b"[100,-0.01]")),
            ("local ok, v = pcall(function() return cjson.decode('123abc') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return cjson.encode(v) end return type(v)..'|'..string.format('%.17g', v)", Text(b"ERR|user_script:1: Expected the end but found invalid token at character 4")),
            ("return tostring(cjson.decode('nan'))..tostring(cjson.decode('-nan'))..tostring(cjson.decode('NaN'))..tostring(cjson.decode('-inf'))", Text(b"nan-nannan-inf")),
            ("return cjson.decode(123)..'|'..cjson.decode(1.5)..'|'..cjson.decode(-0)", Text(b"123|1.5|-0")),
        ]);
    }

    #[test]
    fn decode_errors() {
        check(&[
            ("local ok, v = pcall(function() return cjson.decode('') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return 'T|'..cjson.encode(v) end return type(v)..'|'..tostring(v)", Text(b"ERR|user_script:1: Expected value but found T_END at character 1")),
            ("local ok, v = pcall(function() return cjson.decode('[') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return 'T|'..cjson.encode(v) end return type(v)..'|'..tostring(v)", Text(b"ERR|user_script:1: Expected value but found T_END at character 2")),
            ("local ok, v = pcall(function() return cjson.decode('[1,') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return 'T|'..cjson.encode(v) end return type(v)..'|'..tostring(v)", Text(b"ERR|user_script:1: Expected value but found T_END at character 4")),
            ("local ok, v = pcall(function() return cjson.decode('[1 2]') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return 'T|'..cjson.encode(v) end return type(v)..'|'..tostring(v)", Text(b"ERR|user_script:1: Expected comma or array end but found T_NUMBER at character 4")),
            ("local ok, v = pcall(function() return cjson.decode('{1:2}') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return 'T|'..cjson.encode(v) end return type(v)..'|'..tostring(v)", Text(b"ERR|user_script:1: Expected object key string but found T_NUMBER at character 2")),
            ("local ok, v = pcall(function() return cjson.decode('{\"a\" 1}') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return 'T|'..cjson.encode(v) end return type(v)..'|'..tostring(v)", Text(b"ERR|user_script:1: Expected colon but found T_NUMBER at character 6")),
            ("local ok, v = pcall(function() return cjson.decode('{\"a\":1,}') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return 'T|'..cjson.encode(v) end return type(v)..'|'..tostring(v)", Text(b"ERR|user_script:1: Expected object key string but found T_OBJ_END at character 8")),
            ("local ok, v = pcall(function() return cjson.decode('[1,]') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return 'T|'..cjson.encode(v) end return type(v)..'|'..tostring(v)", Text(b"ERR|user_script:1: Expected value but found T_ARR_END at character 4")),
            ("local ok, v = pcall(function() return cjson.decode('tru') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return 'T|'..cjson.encode(v) end return type(v)..'|'..tostring(v)", Text(b"ERR|user_script:1: Expected value but found invalid token at character 1")),
            ("local ok, v = pcall(function() return cjson.decode('nul') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return 'T|'..cjson.encode(v) end return type(v)..'|'..tostring(v)", Text(b"ERR|user_script:1: Expected value but found invalid token at character 1")),
            ("local ok, v = pcall(function() return cjson.decode('fals') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return 'T|'..cjson.encode(v) end return type(v)..'|'..tostring(v)", Text(b"ERR|user_script:1: Expected value but found invalid token at character 1")),
            ("local ok, v = pcall(function() return cjson.decode('-') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return 'T|'..cjson.encode(v) end return type(v)..'|'..tostring(v)", Text(b"ERR|user_script:1: Expected value but found invalid number at character 1")),
            ("local ok, v = pcall(function() return cjson.decode('+') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return 'T|'..cjson.encode(v) end return type(v)..'|'..tostring(v)", Text(b"ERR|user_script:1: Expected value but found invalid number at character 1")),
            ("local ok, v = pcall(function() return cjson.decode('x') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return 'T|'..cjson.encode(v) end return type(v)..'|'..tostring(v)", Text(b"ERR|user_script:1: Expected value but found invalid token at character 1")),
            ("local ok, v = pcall(function() return cjson.decode('{') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return 'T|'..cjson.encode(v) end return type(v)..'|'..tostring(v)", Text(b"ERR|user_script:1: Expected object key string but found T_END at character 2")),
            ("local ok, v = pcall(function() return cjson.decode('{\"a\"') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return 'T|'..cjson.encode(v) end return type(v)..'|'..tostring(v)", Text(b"ERR|user_script:1: Expected colon but found T_END at character 5")),
            ("local ok, v = pcall(function() return cjson.decode('{\"a\":') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return 'T|'..cjson.encode(v) end return type(v)..'|'..tostring(v)", Text(b"ERR|user_script:1: Expected value but found T_END at character 6")),
            ("local ok, v = pcall(function() return cjson.decode('[1]x') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return 'T|'..cjson.encode(v) end return type(v)..'|'..tostring(v)", Text(b"ERR|user_script:1: Expected the end but found invalid token at character 4")),
            ("local ok, v = pcall(function() return cjson.decode('[1] [2]') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return 'T|'..cjson.encode(v) end return type(v)..'|'..tostring(v)", Text(b"ERR|user_script:1: Expected the end but found T_ARR_BEGIN at character 5")),
            ("local ok, v = pcall(function() return cjson.decode('\"abc') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return 'T|'..cjson.encode(v) end return type(v)..'|'..tostring(v)", Text(b"ERR|user_script:1: Expected value but found unexpected end of string at character 5")),
            ("local ok, v = pcall(function() return cjson.decode('\"a\\\\x\"') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return 'T|'..cjson.encode(v) end return type(v)..'|'..tostring(v)", Text(b"ERR|user_script:1: Expected value but found invalid escape code at character 3")),
            ("local ok, v = pcall(function() return cjson.decode('\"\\\\u12\"') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return 'T|'..cjson.encode(v) end return type(v)..'|'..tostring(v)", Text(b"ERR|user_script:1: Expected value but found invalid unicode escape code at character 2")),
            ("local ok, v = pcall(function() return cjson.decode('\"\\\\uZZZZ\"') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return 'T|'..cjson.encode(v) end return type(v)..'|'..tostring(v)", Text(b"ERR|user_script:1: Expected value but found invalid unicode escape code at character 2")),
            ("local ok, v = pcall(function() return cjson.decode('\"\\\\ud83d\"') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return 'T|'..cjson.encode(v) end return type(v)..'|'..tostring(v)", Text(b"ERR|user_script:1: Expected value but found invalid unicode escape code at character 2")),
            ("local ok, v = pcall(function() return cjson.decode('\"\\\\ude00\"') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return 'T|'..cjson.encode(v) end return type(v)..'|'..tostring(v)", Text(b"ERR|user_script:1: Expected value but found invalid unicode escape code at character 2")),
            ("local ok, v = pcall(function() return cjson.decode('\"\\\\ud83dx\"') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return 'T|'..cjson.encode(v) end return type(v)..'|'..tostring(v)", Text(b"ERR|user_script:1: Expected value but found invalid unicode escape code at character 2")),
            ("local ok, v = pcall(function() return cjson.decode('\"\\\\ud83d\\\\u0041\"') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return 'T|'..cjson.encode(v) end return type(v)..'|'..tostring(v)", Text(b"ERR|user_script:1: Expected value but found invalid unicode escape code at character 2")),
            ("local ok, v = pcall(function() return cjson.decode('\"\\\\ud83d\\\\ud83d\"') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return 'T|'..cjson.encode(v) end return type(v)..'|'..tostring(v)", Text(b"ERR|user_script:1: Expected value but found invalid unicode escape code at character 2")),
            ("local ok, v = pcall(function() return cjson.decode('\"\\\\ud83d\\\\uZZ\"') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return 'T|'..cjson.encode(v) end return type(v)..'|'..tostring(v)", Text(b"ERR|user_script:1: Expected value but found invalid unicode escape code at character 2")),
            ("local ok, v = pcall(function() return cjson.decode('\\0') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return 'T|'..cjson.encode(v) end return type(v)..'|'..tostring(v)", Text(b"ERR|user_script:1: Expected value but found T_END at character 1")),
            ("local ok, v = pcall(function() return cjson.decode('a\\0') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return 'T|'..cjson.encode(v) end return type(v)..'|'..tostring(v)", Text(b"ERR|user_script:1: JSON parser does not support UTF-16 or UTF-32")),
            ("local ok, v = pcall(function() return cjson.decode('1\\0') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return 'T|'..cjson.encode(v) end return type(v)..'|'..tostring(v)", Text(b"ERR|user_script:1: JSON parser does not support UTF-16 or UTF-32")),
            ("local ok, v = pcall(function() return cjson.decode('[1]\\0x') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return 'T|'..cjson.encode(v) end return type(v)..'|'..tostring(v)", Text(b"T|[1]")),
            ("local ok, v = pcall(function() return cjson.decode(' \\0') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return 'T|'..cjson.encode(v) end return type(v)..'|'..tostring(v)", Text(b"ERR|user_script:1: JSON parser does not support UTF-16 or UTF-32")),
            ("local ok, v = pcall(function() return cjson.decode('\"a\\0b\"') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return 'T|'..cjson.encode(v) end return type(v)..'|'..tostring(v)", Text(b"ERR|user_script:1: Expected value but found unexpected end of string at character 3")),
            ("local ok, v = pcall(function() return cjson.decode('\"a\\\\') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return 'T|'..cjson.encode(v) end return type(v)..'|'..tostring(v)", Text(b"ERR|user_script:1: Expected value but found invalid escape code at character 3")),
            ("local ok, v = pcall(function() return cjson.decode('\\\"\\\\\\0') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return 'T|'..cjson.encode(v) end return type(v)..'|'..tostring(v)", Text(b"ERR|user_script:1: Expected value but found invalid escape code at character 2")),
            ("local ok, v = pcall(function() return cjson.decode(' ') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return 'T|'..cjson.encode(v) end return type(v)..'|'..tostring(v)", Text(b"ERR|user_script:1: Expected value but found T_END at character 2")),
            ("local ok, v = pcall(function() return cjson.decode('\\n') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return 'T|'..cjson.encode(v) end return type(v)..'|'..tostring(v)", Text(b"ERR|user_script:1: Expected value but found T_END at character 2")),
            ("local ok, v = pcall(function() return cjson.decode('}') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return 'T|'..cjson.encode(v) end return type(v)..'|'..tostring(v)", Text(b"ERR|user_script:1: Expected value but found T_OBJ_END at character 1")),
            ("local ok, v = pcall(function() return cjson.decode(']') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return 'T|'..cjson.encode(v) end return type(v)..'|'..tostring(v)", Text(b"ERR|user_script:1: Expected value but found T_ARR_END at character 1")),
            ("local ok, v = pcall(function() return cjson.decode(',') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return 'T|'..cjson.encode(v) end return type(v)..'|'..tostring(v)", Text(b"ERR|user_script:1: Expected value but found T_COMMA at character 1")),
            ("local ok, v = pcall(function() return cjson.decode(':') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return 'T|'..cjson.encode(v) end return type(v)..'|'..tostring(v)", Text(b"ERR|user_script:1: Expected value but found T_COLON at character 1")),
            ("local ok, v = pcall(function() return cjson.decode('{\"a\":1 \"b\":2}') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return 'T|'..cjson.encode(v) end return type(v)..'|'..tostring(v)", Text(b"ERR|user_script:1: Expected comma or object end but found T_STRING at character 8")),
            ("local ok, v = pcall(function() return cjson.decode('{\"a\":1]') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return 'T|'..cjson.encode(v) end return type(v)..'|'..tostring(v)", Text(b"ERR|user_script:1: Expected comma or object end but found T_ARR_END at character 7")),
            ("local ok, v = pcall(function() return cjson.decode('[1}') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return 'T|'..cjson.encode(v) end return type(v)..'|'..tostring(v)", Text(b"ERR|user_script:1: Expected comma or array end but found T_OBJ_END at character 3")),
            ("local ok, v = pcall(function() return cjson.decode('[\"a\":1]') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return 'T|'..cjson.encode(v) end return type(v)..'|'..tostring(v)", Text(b"ERR|user_script:1: Expected comma or array end but found T_COLON at character 5")),
            ("local ok, v = pcall(function() return cjson.decode('{,}') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return 'T|'..cjson.encode(v) end return type(v)..'|'..tostring(v)", Text(b"ERR|user_script:1: Expected object key string but found T_COMMA at character 2")),
            ("local ok, v = pcall(function() return cjson.decode('[,]') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return 'T|'..cjson.encode(v) end return type(v)..'|'..tostring(v)", Text(b"ERR|user_script:1: Expected value but found T_COMMA at character 2")),
            ("local ok, v = pcall(function() return cjson.decode('{\"a\":1,\"b\"}') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return 'T|'..cjson.encode(v) end return type(v)..'|'..tostring(v)", Text(b"ERR|user_script:1: Expected colon but found T_OBJ_END at character 11")),
            ("local ok, v = pcall(function() return cjson.decode('.5') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return 'T|'..cjson.encode(v) end return type(v)..'|'..tostring(v)", Text(b"ERR|user_script:1: Expected value but found invalid token at character 1")),
            ("local ok, v = pcall(function() return cjson.decode('-.5') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return 'T|'..cjson.encode(v) end return type(v)..'|'..tostring(v)", Text(b"number|-0.5")),
            ("local ok, v = pcall(function() return cjson.decode('--1') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return 'T|'..cjson.encode(v) end return type(v)..'|'..tostring(v)", Text(b"ERR|user_script:1: Expected value but found invalid number at character 1")),
            ("local ok, v = pcall(function() return cjson.decode('- 1') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return 'T|'..cjson.encode(v) end return type(v)..'|'..tostring(v)", Text(b"ERR|user_script:1: Expected value but found invalid number at character 1")),
            ("local ok, v = pcall(function() return cjson.decode('infinit') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return 'T|'..cjson.encode(v) end return type(v)..'|'..tostring(v)", Text(b"ERR|user_script:1: Expected the end but found invalid token at character 4")),
            ("local ok, v = pcall(function() return cjson.decode('infx') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return 'T|'..cjson.encode(v) end return type(v)..'|'..tostring(v)", Text(b"ERR|user_script:1: Expected the end but found invalid token at character 4")),
            ("local ok, v = pcall(function() return cjson.decode('Inf') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return 'T|'..cjson.encode(v) end return type(v)..'|'..tostring(v)", Text(b"number|inf")),
            ("local ok, v = pcall(function() return cjson.decode('iNfInItY') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return 'T|'..cjson.encode(v) end return type(v)..'|'..tostring(v)", Text(b"number|inf")),
            ("local ok, v = pcall(function() return cjson.decode('nanx') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return 'T|'..cjson.encode(v) end return type(v)..'|'..tostring(v)", Text(b"ERR|user_script:1: Expected the end but found invalid token at character 4")),
            ("local ok, v = pcall(function() return cjson.decode('truex') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return 'T|'..cjson.encode(v) end return type(v)..'|'..tostring(v)", Text(b"ERR|user_script:1: Expected the end but found invalid token at character 5")),
            ("local ok, v = pcall(function() return cjson.decode('nullnull') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return 'T|'..cjson.encode(v) end return type(v)..'|'..tostring(v)", Text(b"ERR|user_script:1: Expected the end but found T_NULL at character 5")),
            ("local ok, v = pcall(function() return cjson.decode('[true false]') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return 'T|'..cjson.encode(v) end return type(v)..'|'..tostring(v)", Text(b"ERR|user_script:1: Expected comma or array end but found T_BOOLEAN at character 7")),
            ("local ok, v = pcall(function() return cjson.decode('1 2') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return 'T|'..cjson.encode(v) end return type(v)..'|'..tostring(v)", Text(b"ERR|user_script:1: Expected the end but found T_NUMBER at character 3")),
            ("local ok, v = pcall(function() return cjson.decode('\"\\\\') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return 'T|'..cjson.encode(v) end return type(v)..'|'..tostring(v)", Text(b"ERR|user_script:1: Expected value but found invalid escape code at character 2")),
            ("local ok, v = pcall(function() return cjson.decode('\"\\\\u') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return 'T|'..cjson.encode(v) end return type(v)..'|'..tostring(v)", Text(b"ERR|user_script:1: Expected value but found invalid unicode escape code at character 2")),
            ("local ok, v = pcall(function() return cjson.decode('\\255') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return 'T|'..cjson.encode(v) end return type(v)..'|'..tostring(v)", Text(b"ERR|user_script:1: Expected value but found invalid token at character 1")),
            ("local ok, v = pcall(function() return cjson.decode('[\\1]') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return 'T|'..cjson.encode(v) end return type(v)..'|'..tostring(v)", Text(b"ERR|user_script:1: Expected value but found invalid token at character 2")),
            ("local ok, v = pcall(function() return cjson.decode('[1,2,3,4,5,6,7,8,9,10,11,x]') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return 'T|'..cjson.encode(v) end return type(v)..'|'..tostring(v)", Text(b"ERR|user_script:1: Expected value but found invalid token at character 26")),
            ("local ok, v = pcall(function() return cjson.decode(string.rep(' ', 100)..'x') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return 'T|'..cjson.encode(v) end return type(v)..'|'..tostring(v)", Text(b"ERR|user_script:1: Expected value but found invalid token at character 101")),
            ("local ok, v = pcall(function() return cjson.decode('{\"k\":' .. string.rep('[', 20) .. string.rep(']', 19) .. '}') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return 'T|'..cjson.encode(v) end return type(v)..'|'..tostring(v)", Text(b"ERR|user_script:1: Expected comma or array end but found T_OBJ_END at character 45")),
            ("local ok, v = pcall(function() return cjson.decode('0x') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return 'T|'..cjson.encode(v) end return type(v)..'|'..tostring(v)", Text(b"ERR|user_script:1: Expected the end but found invalid token at character 2")),
            ("local ok, v = pcall(function() return cjson.decode('0xg') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return 'T|'..cjson.encode(v) end return type(v)..'|'..tostring(v)", Text(b"ERR|user_script:1: Expected the end but found invalid token at character 2")),
            ("local ok, v = pcall(function() return cjson.decode('0x1p') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return 'T|'..cjson.encode(v) end return type(v)..'|'..tostring(v)", Text(b"ERR|user_script:1: Expected the end but found invalid token at character 4")),
            ("local ok, v = pcall(function() return cjson.decode('[0x]') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return 'T|'..cjson.encode(v) end return type(v)..'|'..tostring(v)", Text(b"ERR|user_script:1: Expected comma or array end but found invalid token at character 3")),
            ("local ok, v = pcall(function() return cjson.decode('-0x') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return 'T|'..cjson.encode(v) end return type(v)..'|'..tostring(v)", Text(b"ERR|user_script:1: Expected the end but found invalid token at character 3")),
            ("local ok, v = pcall(function() return cjson.decode('0x.') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return 'T|'..cjson.encode(v) end return type(v)..'|'..tostring(v)", Text(b"ERR|user_script:1: Expected the end but found invalid token at character 2")),
            ("local ok, v = pcall(function() return cjson.decode('0x.p1') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return 'T|'..cjson.encode(v) end return type(v)..'|'..tostring(v)", Text(b"ERR|user_script:1: Expected the end but found invalid token at character 2")),
        ]);
    }

    #[test]
    fn decode_strict_numbers() {
        check(&[
            ("local c=cjson.new() c.decode_invalid_numbers(false) local ok, v = pcall(function() return c.decode('0x10') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return 'T|'..c.encode(v) end return type(v)..'|'..tostring(v)", Text(b"ERR|user_script:1: Expected value but found invalid number at character 1")),
            ("local c=cjson.new() c.decode_invalid_numbers(false) local ok, v = pcall(function() return c.decode('NaN') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return 'T|'..c.encode(v) end return type(v)..'|'..tostring(v)", Text(b"ERR|user_script:1: Expected value but found invalid token at character 1")),
            ("local c=cjson.new() c.decode_invalid_numbers(false) local ok, v = pcall(function() return c.decode('+1') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return 'T|'..c.encode(v) end return type(v)..'|'..tostring(v)", Text(b"ERR|user_script:1: Expected value but found invalid token at character 1")),
            ("local c=cjson.new() c.decode_invalid_numbers(false) local ok, v = pcall(function() return c.decode('01') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return 'T|'..c.encode(v) end return type(v)..'|'..tostring(v)", Text(b"ERR|user_script:1: Expected value but found invalid number at character 1")),
            ("local c=cjson.new() c.decode_invalid_numbers(false) local ok, v = pcall(function() return c.decode('-inf') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return 'T|'..c.encode(v) end return type(v)..'|'..tostring(v)", Text(b"ERR|user_script:1: Expected value but found invalid number at character 1")),
            ("local c=cjson.new() c.decode_invalid_numbers(false) local ok, v = pcall(function() return c.decode('inf') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return 'T|'..c.encode(v) end return type(v)..'|'..tostring(v)", Text(b"ERR|user_script:1: Expected value but found invalid token at character 1")),
            ("local c=cjson.new() c.decode_invalid_numbers(false) local ok, v = pcall(function() return c.decode('-01') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return 'T|'..c.encode(v) end return type(v)..'|'..tostring(v)", Text(b"ERR|user_script:1: Expected value but found invalid number at character 1")),
            ("local c=cjson.new() c.decode_invalid_numbers(false) local ok, v = pcall(function() return c.decode('1') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return 'T|'..c.encode(v) end return type(v)..'|'..tostring(v)", Text(b"number|1")),
            ("local c=cjson.new() c.decode_invalid_numbers(false) local ok, v = pcall(function() return c.decode('-1') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return 'T|'..c.encode(v) end return type(v)..'|'..tostring(v)", Text(b"number|-1")),
            ("local c=cjson.new() c.decode_invalid_numbers(false) local ok, v = pcall(function() return c.decode('0') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return 'T|'..c.encode(v) end return type(v)..'|'..tostring(v)", Text(b"number|0")),
            ("local c=cjson.new() c.decode_invalid_numbers(false) local ok, v = pcall(function() return c.decode('-0') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return 'T|'..c.encode(v) end return type(v)..'|'..tostring(v)", Text(b"number|-0")),
            ("local c=cjson.new() c.decode_invalid_numbers(false) local ok, v = pcall(function() return c.decode('0.5') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return 'T|'..c.encode(v) end return type(v)..'|'..tostring(v)", Text(b"number|0.5")),
            ("local c=cjson.new() c.decode_invalid_numbers(false) local ok, v = pcall(function() return c.decode('[1,0x1]') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return 'T|'..c.encode(v) end return type(v)..'|'..tostring(v)", Text(b"ERR|user_script:1: Expected value but found invalid number at character 4")),
            ("local c=cjson.new() c.decode_invalid_numbers(false) local ok, v = pcall(function() return c.decode('nan') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return 'T|'..c.encode(v) end return type(v)..'|'..tostring(v)", Text(b"ERR|user_script:1: Expected value but found invalid token at character 1")),
            ("local c=cjson.new() c.decode_invalid_numbers(false) local ok, v = pcall(function() return c.decode('Infinity') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return 'T|'..c.encode(v) end return type(v)..'|'..tostring(v)", Text(b"ERR|user_script:1: Expected value but found invalid token at character 1")),
            ("local c=cjson.new() c.decode_invalid_numbers(false) local ok, v = pcall(function() return c.decode('-') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return 'T|'..c.encode(v) end return type(v)..'|'..tostring(v)", Text(b"ERR|user_script:1: Expected value but found invalid number at character 1")),
            ("local c=cjson.new() c.decode_invalid_numbers(false) local ok, v = pcall(function() return c.decode('-x') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return 'T|'..c.encode(v) end return type(v)..'|'..tostring(v)", Text(b"ERR|user_script:1: Expected value but found invalid number at character 1")),
            ("local c=cjson.new() c.decode_invalid_numbers(false) local ok, v = pcall(function() return c.decode('--1') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return 'T|'..c.encode(v) end return type(v)..'|'..tostring(v)", Text(b"ERR|user_script:1: Expected value but found invalid number at character 1")),
            ("local c=cjson.new() c.decode_invalid_numbers(false) local ok, v = pcall(function() return c.decode('-nan') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return 'T|'..c.encode(v) end return type(v)..'|'..tostring(v)", Text(b"ERR|user_script:1: Expected value but found invalid number at character 1")),
            ("local c=cjson.new() c.decode_invalid_numbers(false) local ok, v = pcall(function() return c.decode('-Inf') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return 'T|'..c.encode(v) end return type(v)..'|'..tostring(v)", Text(b"ERR|user_script:1: Expected value but found invalid number at character 1")),
            ("local c=cjson.new() c.decode_invalid_numbers(false) local ok, v = pcall(function() return c.decode('00') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return 'T|'..c.encode(v) end return type(v)..'|'..tostring(v)", Text(b"ERR|user_script:1: Expected value but found invalid number at character 1")),
            ("local c=cjson.new() c.decode_invalid_numbers(false) local ok, v = pcall(function() return c.decode('0e1') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return 'T|'..c.encode(v) end return type(v)..'|'..tostring(v)", Text(b"number|0")),
            ("local c=cjson.new() c.decode_invalid_numbers(false) local ok, v = pcall(function() return c.decode('0.') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return 'T|'..c.encode(v) end return type(v)..'|'..tostring(v)", Text(b"number|0")),
            ("local c=cjson.new() c.decode_invalid_numbers(false) local ok, v = pcall(function() return c.decode('-0x') end) if not ok then return 'ERR|'..E(v) end if type(v)=='table' then return 'T|'..c.encode(v) end return type(v)..'|'..tostring(v)", Text(b"ERR|user_script:1: Expected value but found invalid number at character 1")),
        ]);
    }

    #[test]
    fn decode_depth() {
        check(&[
            ("return #cjson.encode(cjson.decode(string.rep('[', 1000)..string.rep(']', 1000)))..''", Text(b"2000")),
            ("local ok, e = pcall(function() return cjson.decode(string.rep('[', 1001)..string.rep(']', 1001)) end) return tostring(ok)..'|'..E(e)", Text(b"false|user_script:1: Found too many nested data structures (1001) at character 1001")),
            ("local ok, e = pcall(function() return cjson.decode(string.rep('{\"a\":', 1001)) end) return tostring(ok)..'|'..E(e)", Text(b"false|user_script:1: Found too many nested data structures (1001) at character 5001")),
            ("local ok, e = pcall(function() return cjson.decode(string.rep('[', 2000)) end) return tostring(ok)..'|'..E(e)", Text(b"false|user_script:1: Found too many nested data structures (1001) at character 1001")),
            ("local ok, e = pcall(function() return cjson.decode('  ' .. string.rep('[ ', 1001)) end) return tostring(ok)..'|'..E(e)", Text(b"false|user_script:1: Found too many nested data structures (1001) at character 2003")),
            ("local c=cjson.new() local r=c.decode_max_depth(100000) local ok,e=pcall(function() return c.decode(string.rep('[', 100000)) end) return tostring(r)..'|'..E(e)", Text(b"100000|user_script:1: Found too many nested data structures (7999) at character 7999")),
            ("local c=cjson.new() c.decode_max_depth(100000) local ok,e=pcall(function() return c.decode(string.rep('{\"a\":', 100000)) end) return E(e)", Text(b"user_script:1: Found too many nested data structures (4000) at character 19996")),
            ("local c=cjson.new() c.decode_max_depth(100000) local ok,e=pcall(function() return c.decode(string.rep('[{\"a\":', 100000)) end) return E(e)", Text(b"user_script:1: Found too many nested data structures (5333) at character 15997")),
            ("local c=cjson.new() c.decode_max_depth(100000) local s=string.rep('[', 7998)..string.rep(']', 7998) local v=c.decode(s) local d=0 while type(v)=='table' and v[1] do v=v[1] d=d+1 end return d..''", Text(b"7997")),
            ("local c=cjson.new() c.decode_max_depth(100000) local s=string.rep('{\"a\":', 3999)..'1'..string.rep('}', 3999) local v=c.decode(s) local d=0 while type(v)=='table' do v=v.a d=d+1 end return d..''", Text(b"3999")),
            ("local c=cjson.new() c.decode_max_depth(100000) local s=string.rep('{\"a\":', 3999)..'{}'..string.rep('}', 3999) local ok,e=pcall(function() return c.decode(s) end) return tostring(ok)..'|'..(ok and '' or E(e))", Text(b"false|user_script:1: Found too many nested data structures (4000) at character 19996")),
            ("local c=cjson.new() c.decode_max_depth(100000) local s=string.rep('[', 7998)..'[]'..string.rep(']', 7998) local ok,e=pcall(function() return c.decode(s) end) return tostring(ok)..'|'..(ok and '' or E(e))", Text(b"false|user_script:1: Found too many nested data structures (7999) at character 7999")),
            ("local c=cjson.new() c.decode_max_depth(3) local ok,e=pcall(function() return c.decode('[[[1]]]') end) local ok2,e2=pcall(function() return c.decode('[[[[1]]]]') end) return tostring(ok)..'|'..tostring(ok2)..'|'..E(e2)", Text(b"true|false|user_script:1: Found too many nested data structures (4) at character 4")),
            ("local c=cjson.new() c.decode_max_depth(2) local ok,e=pcall(function() return c.decode('{\"a\":{\"b\":{}}}') end) return E(e)", Text(b"user_script:1: Found too many nested data structures (3) at character 11")),
        ]);
    }

    #[test]
    fn round_trips() {
        check(&[
            ("local t={} for i=1,3000 do t[i]={id=i, name='n'..i, v=i/7, tags={'a','b'}} end local s=cjson.encode(t) local back=cjson.decode(s) return #s..'|'..cjson.encode(back[1234])..'|'..(cjson.encode(back)==s and 'same' or 'diff')", Text(b"184549|{\"id\":1234,\"v\":176.28571428571,\"name\":\"n1234\",\"tags\":[\"a\",\"b\"]}|diff")),
            ("local t={} for i=1,5000 do t['key'..i]=i end local s=cjson.encode(t) return #s..'|'..string.sub(s,1,200)..'|'..string.sub(s,-200)", Digest(407, 0xdc9132b008711b71)),
            ("local s=cjson.encode(cjson.decode('{\"z\":1,\"y\":2,\"x\":3,\"w\":4,\"v\":5,\"u\":6,\"t\":7,\"s\":8,\"r\":9}')) return s", Text(b"{\"s\":8,\"r\":9,\"u\":6,\"t\":7,\"w\":4,\"v\":5,\"y\":2,\"x\":3,\"z\":1}")),
            ("return #cjson.encode(string.rep('\\0', 2^20))..''", Text(b"6291458")),
            ("return #cjson.encode(string.rep('a/\\1', 100000))..'|'..string.sub(cjson.encode(string.rep('a/\\1', 100000)), 1, 50)", Text(b"900002|\"a\\/\\u0001a\\/\\u0001a\\/\\u0001a\\/\\u0001a\\/\\u0001a\\/\\")),
        ]);
    }

    #[test]
    fn instances() {
        check(&[
            ("local c=cjson.new() local t={} for k,v in pairs(c) do t[#t+1]=k..':'..type(v) end return table.concat(t,' ')", Digest(293, 0x9aecd44b27de0f4b)),
            ("local t={} for k,v in pairs(cjson) do t[#t+1]=k..':'..type(v) end return table.concat(t,' ')", Digest(293, 0x9aecd44b27de0f4b)),
            ("local c=cjson.new() c.encode_max_depth(2) local c2=c.new() return tostring(c.encode_max_depth())..','..tostring(c2.encode_max_depth())..','..tostring(cjson.encode_max_depth())..','..tostring(c.null==cjson.null)..','..tostring(c2._VERSION)", Text(b"2,1000,1000,true,2.1.0")),
            ("local c=cjson.new() return cjson.encode({c.decode('[1,null]'), c.null})", Text(b"[[1,null],null]")),
            ("return tostring(cjson.encode_keep_buffer())..tostring(cjson.encode_invalid_numbers())..tostring(cjson.decode_invalid_numbers())..tostring(cjson.encode_max_depth())..tostring(cjson.decode_max_depth())..tostring(cjson.encode_number_precision())", Text(b"truefalsetrue1000100014")),
            ("local c=cjson.new() c.encode_keep_buffer(false) local a=c.encode({1,'x',{y=2}}) c.encode_keep_buffer(true) local b=c.encode({1,'x',{y=2}}) return a..'|'..b..'|'..tostring(c.encode_keep_buffer())", Text(b"[1,\"x\",{\"y\":2}]|[1,\"x\",{\"y\":2}]|true")),
            ("local c=cjson.new() c.encode_number_precision(3) return c.encode({math.pi, 1234567, 0.0001234, 1e-5, 12345678901234567890, {[1.23456]=1}})", Text(b"[3.14,1.23e+06,0.000123,1e-05,1.23e+19,{\"1.23\":1}]")),
            ("local c=cjson.new() c.encode_number_precision(1) return c.encode({0.5, 1.5, 2.5, 3.5, 9.5, 95, 0.95, 0.05, 0.15, 0.25, 0.35, 15, 25, 1e-5})", Text(b"[0.5,2,2,4,1e+01,1e+02,0.9,0.05,0.1,0.2,0.3,2e+01,2e+01,1e-05]")),
        ]);
    }

    #[test]
    fn metatables() {
        check(&[
            ("local t=setmetatable({}, {__index=function() return 1 end, __len=function() return 5 end}) return cjson.encode(t)", Text(b"{}")),
            ("local t=setmetatable({1,2}, {__index={3,4,5}}) return cjson.encode(t)", Text(b"[1,2]")),
            ("local t=setmetatable({a=1}, {__pairs=function() return next, {b=2} end}) return cjson.encode(t)", Text(b"{\"a\":1}")),
            ("local t=cjson.decode('[1,2]') return tostring(getmetatable(t))", Text(b"nil")),
        ]);
    }

    #[test]
    fn misc() {
        check(&[
            ("local ok, e = pcall(function() return cjson.encode({[cjson.null]=1}) end) return tostring(ok)..'|'..E(e)", Text(b"false|user_script:1: Cannot serialise userdata: table key must be a number or string")),
            ("return cjson.encode({[1e300]=1, [1/3]=2, [-2^63]=3})", Text(b"{\"0.33333333333333\":2,\"1e+300\":1,\"-9.2233720368548e+18\":3}")),
            ("local v=cjson.decode('{\"\\255k\":\"\\254v\",\"ok\":[\"\\200\"]}') local t={} for k,x in pairs(v) do t[#t+1]=k end table.sort(t) return cjson.encode(v)..'|'..table.concat(t,',')", Text(b"{\"\xffk\":\"\xfev\",\"ok\":[\"\xc8\"]}|ok,\xffk")),
            ("return cjson.decode('\"\\255\\\\n\"')", Text(b"\xff\n")),
            ("local ok, e = pcall(function() return cjson.encode(cjson) end) return tostring(ok)..'|'..E(e)", Text(b"false|user_script:1: Cannot serialise function: type not supported")),
            ("local c=cjson.new(1,2,3) return c.encode({1})", Text(b"[1]")),
            ("return tostring(cjson.encode_max_depth(nil))", Text(b"1000")),
            ("local c=cjson.new() return tostring(c:new().encode({2}))", Text(b"[2]")),
            ("local t={} for i=1,70 do t[i]={} end return cjson.encode(t)", Digest(211, 0xd3d448301c2efe0d)),
            ("local t={} local cur=t for i=1,200 do cur.k={1,{x={}}} cur=cur.k end return #cjson.encode(t)..'|'..string.sub(cjson.encode(t),1,120)", Text(b"4993|{\"k\":{\"1\":1,\"2\":{\"x\":{}},\"k\":{\"1\":1,\"2\":{\"x\":{}},\"k\":{\"1\":1,\"2\":{\"x\":{}},\"k\":{\"1\":1,\"2\":{\"x\":{}},\"k\":{\"1\":1,\"2\":{\"x\":{}}")),
            ("local t={} for i=1,2000 do t['k'..i]={v=i} end local s=cjson.encode(t) return #s..'|'..string.sub(s,1,300)", Digest(306, 0x64a1b979506f625e)),
            ("local s=cjson.encode(cjson.decode(string.rep('{\"a\":[', 300)..'1'..string.rep(']}', 300))) return #s..'|'..string.sub(s,1,100)", Text(b"2401|{\"a\":[{\"a\":[{\"a\":[{\"a\":[{\"a\":[{\"a\":[{\"a\":[{\"a\":[{\"a\":[{\"a\":[{\"a\":[{\"a\":[{\"a\":[{\"a\":[{\"a\":[{\"a\":[{\"a\"")),
            ("local s='{'..string.rep('\"k\":{\"x\":[1,{\"y\":\"\\\\u00e9\"}]},', 500)..'\"z\":0}' local v=cjson.decode(s) return cjson.encode(v)", Text(b"{\"k\":{\"x\":[1,{\"y\":\"\xc3\xa9\"}]},\"z\":0}")),
            ("local ok, e = pcall(function() return cjson.decode('{\"a\":1,\"b\":[1,2,{\"c\":tru}]}') end) return tostring(ok)..'|'..E(e)", Text(b"false|user_script:1: Expected value but found invalid token at character 22")),
            ("local ok, e = pcall(function() return cjson.decode('[' .. string.rep('1,', 1000) .. ']') end) return tostring(ok)..'|'..E(e)", Text(b"false|user_script:1: Expected value but found T_ARR_END at character 2002")),
            ("local ok,e=pcall(function() return cjson.decode(string.rep('[', 1000)..string.rep(']', 999)) end) return E(e)", Text(b"user_script:1: Expected comma or array end but found T_END at character 2000")),
            ("local t = {} t[1]=1 t[2]=2 t[3]=nil t[4]=4 return cjson.encode(t)", Text(b"[1,2,null,4]")),
            ("local t = {1,2,3} t[2]=nil return cjson.encode(t)", Text(b"[1,null,3]")),
            ("local t = {n=1} t.n=nil t[1]=5 return cjson.encode(t)", Text(b"[5]")),
        ]);
    }

    /// Random inputs (mutated JSON; random Lua tables with random settings) sent to the server.
    #[test]
    fn fuzz_samples() {
        check(&[
            ("local ARGV={'NaN'} local c=cjson.new() c.encode_invalid_numbers(true) c.decode_max_depth(40) local ok,v = pcall(c.decode, ARGV[1]) if not ok then return 'DERR|'..E(v) end local ok2,s = pcall(c.encode, v) if not ok2 then return 'EERR|'..E(s) end return s", Text(b"nan")),
            ("local ARGV={'{\"a b\":[[\"a\",[tru,1,[nul,{\"b\":{\"zz\":\"a\",\"zz\":\"\\\\u0000\"},\"zz\":\"x\\\\ny\"}],\"a\"],{\"b\":1.,\"a b\":[[{},{\"\":false,\"zz\":0x1f},[\"\\\\u0000\",\"\\195\\191\\195\\190\",0x1f],[1,-inf,+1,1.]],+1],\"k1\":[{\"a b\":null},{\"\\\\n\":{\"\":-0.0e-0}}]}],-0.0e-0,false,{\"k1\":{\"\\\\n\":[0,{\"\":{\"a\":\"\\\\ud800\"},\"k1\":{\"a\":.5,\"b\":1e400,\"\\\\n\":-inf}}],\"a b\":{\"\\\\n\":{},\"zz\":[-0.0e-0,[\"\\\\ud83d\\\\ude00\",+1,\"a\",\"x\\\\ny\"],\"\\\\ud83d\\\\ude00\",{\"\\195\\169\":Infinity,\"a\":false}],\"b\":\"\\\\ud83d\\\\ude00\"}},\"\\195\\169\":\"x\\\\ny\"}],\"zz\":{\"\\\\n\":1e5},\"a b\":{\"a b\":false,\"a\":{\"a\":{\"\\195\\169\"-[{\"a b\":[],\"\\\\n\":{},\"\":\"\",\"\":[]}],\"a b\":{\"k1\":-inf,\"\\\\n\":-1,\"a b\":-1}},\"\":{\"b\":[],\"b\":[[[\"\"],.5,[null,tru,0x1f,\"a\"],\"\\\\x\"],12345678901234567890,{}],\"\\195\\169\":.5},\"\\\\n\":[[{\"\\195\\169\":[\"\\\\u00e9\",-0,1e5],\"k1\":NaN,\"a\":{\"a\":false,\"\\\\n\":false}}],NaN,\"\\\\ud83d\\\\ude00\",\"x\\\\ny\"]}}}'} local c=cjson.new() c.encode_invalid_numbers(true) c.decode_max_depth(40) local ok,v = pcall(c.decode, ARGV[1]) if not ok then return 'DERR|'..E(v) end local ok2,s = pcall(c.encode, v) if not ok2 then return 'EERR|'..E(s) end return s", Text(b"DERR|Expected value but found invalid token at character 15")),
            ("local ARGV={'\"\\\\u0000\"'} local c=cjson.new() c.encode_invalid_numbers(true) c.decode_max_depth(40) local ok,v = pcall(c.decode, ARGV[1]) if not ok then return 'DERR|'..E(v) end local ok2,s = pcall(c.encode, v) if not ok2 then return 'EERR|'..E(s) end return s", Text(b"\"\\u0000\"")),
            ("local ARGV={'[{\"k1\":\"\\195\\191\\195\\190\"}]'} local c=cjson.new() c.encode_invalid_numbers(true) c.decode_max_depth(40) local ok,v = pcall(c.decode, ARGV[1]) if not ok then return 'DERR|'..E(v) end local ok2,s = pcall(c.encode, v) if not ok2 then return 'EERR|'..E(s) end return s", Text(b"[{\"k1\":\"\xc3\xbf\xc3\xbe\"}]")),
            ("local ARGV={'{\"b\":{\"\\195\\169\":Infinity,\"a\":\"\\\\u00e9\"}}'} local c=cjson.new() c.encode_invalid_numbers(true) c.decode_max_depth(40) local ok,v = pcall(c.decode, ARGV[1]) if not ok then return 'DERR|'..E(v) end local ok2,s = pcall(c.encode, v) if not ok2 then return 'EERR|'..E(s) end return s", Text(b"{\"b\":{\"\xc3\xa9\":inf,\"a\":\"\xc3\xa9\"}}")),
            ("local ARGV={'.'} local c=cjson.new() c.encode_invalid_numbers(true) c.decode_max_depth(40) local ok,v = pcall(c.decode, ARGV[1]) if not ok then return 'DERR|'..E(v) end local ok2,s = pcall(c.encode, v) if not ok2 then return 'EERR|'..E(s) end return s", Text(b"DERR|Expected value but found invalid token at character 1")),
            ("local ARGV={'\"\\\\u00e9\"'} local c=cjson.new() c.encode_invalid_numbers(true) c.decode_max_depth(40) local ok,v = pcall(c.decode, ARGV[1]) if not ok then return 'DERR|'..E(v) end local ok2,s = pcall(c.encode, v) if not ok2 then return 'EERR|'..E(s) end return s", Text(b"\"\xc3\xa9\"")),
            ("local ARGV={'n5ul'} local c=cjson.new() c.encode_invalid_numbers(true) c.decode_max_depth(40) local ok,v = pcall(c.decode, ARGV[1]) if not ok then return 'DERR|'..E(v) end local ok2,s = pcall(c.encode, v) if not ok2 then return 'EERR|'..E(s) end return s", Text(b"DERR|Expected value but found invalid token at character 1")),
            ("local ARGV={'{\"zz\":]\"\\\\x\"}'} local c=cjson.new() c.encode_invalid_numbers(true) c.decode_max_depth(40) local ok,v = pcall(c.decode, ARGV[1]) if not ok then return 'DERR|'..E(v) end local ok2,s = pcall(c.encode, v) if not ok2 then return 'EERR|'..E(s) end return s", Text(b"DERR|Expected value but found T_ARR_END at character 7")),
            ("local ARGV={'[{\"k1\":{\"a\":[Infinity,[{\"\\195\\169\":[false,+1],\"\\195\\169\":01,\"b\":[nul]}],\"\\\\ud83d\\\\ude00\",-0.0e-0]},\"a\":\"\\\\u00e9\",\"zz\":{\"a\":[],\"a b\":{\"a\":\"x\\\\ny\",\"a b\":{},\"a b\":\"\\195\\191\\195\\190\",\"a b\":[{\"a\":{\"a b\":-inf,\"zz\":\"\\\\/\",\"zz\":false}},\"\\\\/\",0,{\"zz\":{\"\\195\\169\":-1,\"\":-1,\"a\":-0.0e-0,\"a b\":1.5},\"\\195\\169\":12345678901234567890}]},\"\\195\\169\":{\"zz\":{\"b\":{},\"\\\\n\":{\"zz\":[],\"\\\\n\":{\"\":\"\\195\\191\\195\\190\"},\"a b\":1.5},\"k1\":{\"a b\":\"a\",\"k1\":1}},\"\":{\"\":-1,\"k1\":{\"\\195\\169\":[]}},\"\":{\"a b\":[{\"a\":.5,\"a\":0x1f},\"\\\\u0000\"],\"\":1e5}}},\"\\\\n\":[]},12345678901234567890]'} local c=cjson.new() c.encode_invalid_numbers(true) c.decode_max_depth(40) local ok,v = pcall(c.decode, ARGV[1]) if not ok then return 'DERR|'..E(v) end local ok2,s = pcall(c.encode, v) if not ok2 then return 'EERR|'..E(s) end return s", Text(b"DERR|Expected value but found invalid token at character 54")),
            ("local ARGV={'\"tNaN'} local c=cjson.new() c.encode_invalid_numbers(true) c.decode_max_depth(40) local ok,v = pcall(c.decode, ARGV[1]) if not ok then return 'DERR|'..E(v) end local ok2,s = pcall(c.encode, v) if not ok2 then return 'EERR|'..E(s) end return s", Text(b"DERR|Expected value but found unexpected end of string at character 6")),
            ("local ARGV={'+3\\\\u0\"000\"'} local c=cjson.new() c.encode_invalid_numbers(true) c.decode_max_depth(40) local ok,v = pcall(c.decode, ARGV[1]) if not ok then return 'DERR|'..E(v) end local ok2,s = pcall(c.encode, v) if not ok2 then return 'EERR|'..E(s) end return s", Text(b"DERR|Expected the end but found invalid token at character 3")),
            ("local ARGV={'[{\"\":[1.5,\"\\\\u00e9\",{\"\\\\n\":01,\"\":[{\"\\195\\169\":\"a\",\"a b\":0,\"b\":1e40\\2550,\"\":12345678901234567890}],\"zz\":{\"zz\":{},\"\\195\\169\":{}},\"b\":{\"zz\":{\"a b\":{}}}}],\"k1\":[-1,1.,Infinity],\"zz\":[]},[{\"\\195\\169\":[[],{\"zz\":{\"\\195\\169\":true,\"\":[1e400,Infinity,\"a\",\"a\"],\"a b\":[1e5,\"x\\\\ny\",-1,\"\\\\x\"],\"k1\":\"\\\\ud83d\\\\ude00\"},\"a\":{\"a\":{\"zz\":NaN,\"\\195\\169\":\"\\\\ud800\"},\"b\":{\"zz\":0.1,\"\\195\\169\":NaN,\"a b\":\"\\\\/\"},\"b\":[0x1f]}},\"\\\\u00e9\",{\"\\195\\169\":.5,\"a b\":{\"\":[-inf,true],\"b\":{\"zz\":.5,\"\\\\n\":-0.0e-0,\"k1\":1e400,\"\\\\n\":NaN}},\"a\":{},\"k1\":-1}]},{\"k1\":\"\\\\u0000\",\"zz\":1e400},[\"\\\\u0000\",12345678901234567890,{\"\\195\\169\":true,\"b\":[[],\"\\\\ud83d\\\\ude00\",[{\"b\":12345678901234567890,\"\\195\\169\":null,\"a b\":false,\"\\\\n\":\"\\\\x\"},-1,\"\"]]}],{I\"\\195\\169\":0.1}],1e5,01]'} local c=cjson.new() c.encode_invalid_numbers(true) c.decode_max_depth(40) local ok,v = pcall(c.decode, ARGV[1]) if not ok then return 'DERR|'..E(v) end local ok2,s = pcall(c.encode, v) if not ok2 then return 'EERR|'..E(s) end return s", Text(b"DERR|Expected comma or object end but found invalid token at character 59")),
            ("local ARGV={'2[\",{}]'} local c=cjson.new() c.encode_invalid_numbers(true) c.decode_max_depth(40) local ok,v = pcall(c.decode, ARGV[1]) if not ok then return 'DERR|'..E(v) end local ok2,s = pcall(c.encode, v) if not ok2 then return 'EERR|'..E(s) end return s", Text(b"DERR|Expected the end but found T_ARR_BEGIN at character 2")),
            ("local ARGV={'[\"\\\\u0000\",\"\\195\\191\\195\\190\"]'} local c=cjson.new() c.encode_invalid_numbers(true) c.decode_max_depth(40) local ok,v = pcall(c.decode, ARGV[1]) if not ok then return 'DERR|'..E(v) end local ok2,s = pcall(c.encode, v) if not ok2 then return 'EERR|'..E(s) end return s", Text(b"[\"\\u0000\",\"\xc3\xbf\xc3\xbe\"]")),
            ("local ARGV={'-0'} local c=cjson.new() c.encode_invalid_numbers(true) c.decode_max_depth(40) local ok,v = pcall(c.decode, ARGV[1]) if not ok then return 'DERR|'..E(v) end local ok2,s = pcall(c.encode, v) if not ok2 then return 'EERR|'..E(s) end return s", Text(b"-0")),
            ("local ARGV={'\"inf'} local c=cjson.new() c.encode_invalid_numbers(true) c.decode_max_depth(40) local ok,v = pcall(c.decode, ARGV[1]) if not ok then return 'DERR|'..E(v) end local ok2,s = pcall(c.encode, v) if not ok2 then return 'EERR|'..E(s) end return s", Text(b"DERR|Expected value but found unexpected end of string at character 5")),
            ("local ARGV={'+{}'} local c=cjson.new() c.encode_invalid_numbers(true) c.decode_max_depth(40) local ok,v = pcall(c.decode, ARGV[1]) if not ok then return 'DERR|'..E(v) end local ok2,s = pcall(c.encode, v) if not ok2 then return 'EERR|'..E(s) end return s", Text(b"DERR|Expected value but found invalid number at character 1")),
            ("local ARGV={'[false'} local c=cjson.new() c.encode_invalid_numbers(true) c.decode_max_depth(40) local ok,v = pcall(c.decode, ARGV[1]) if not ok then return 'DERR|'..E(v) end local ok2,s = pcall(c.encode, v) if not ok2 then return 'EERR|'..E(s) end return s", Text(b"DERR|Expected comma or array end but found T_END at character 7")),
            ("local ARGV={'{\"\\195\\169\":-0.0e-0,\"a b\":-inf,\"\\\\n\":{}}'} local c=cjson.new() c.encode_invalid_numbers(true) c.decode_max_depth(40) local ok,v = pcall(c.decode, ARGV[1]) if not ok then return 'DERR|'..E(v) end local ok2,s = pcall(c.encode, v) if not ok2 then return 'EERR|'..E(s) end return s", Text(b"{\"a b\":-inf,\"\xc3\xa9\":-0,\"\\n\":{}}")),
            ("local ARGV={'[]'} local c=cjson.new() c.encode_invalid_numbers(true) c.decode_max_depth(40) local ok,v = pcall(c.decode, ARGV[1]) if not ok then return 'DERR|'..E(v) end local ok2,s = pcall(c.encode, v) if not ok2 then return 'EERR|'..E(s) end return s", Text(b"{}")),
            ("local ARGV={'[1.5,[{\"\":null},{\"a b\":1e5,\"zz\":\"x\\\\ny\",\"a b\":-0,\"k1\":[]}]]'} local c=cjson.new() c.encode_invalid_numbers(true) c.decode_max_depth(40) local ok,v = pcall(c.decode, ARGV[1]) if not ok then return 'DERR|'..E(v) end local ok2,s = pcall(c.encode, v) if not ok2 then return 'EERR|'..E(s) end return s", Text(b"[1.5,[{\"\":null},{\"zz\":\"x\\ny\",\"k1\":{},\"a b\":-0}]]")),
            ("local ARGV={'{\"\\195\\169\":{\"\":1.,\"a b\":{},\"\\\\n\":[[\"\\\\x\",{\"k1\":[false,\"\"],\"\":1e400,\"a b\":{},\"zz\":{}},Infinity],{\"\":\"\\\\ud83d\\\\ude00\",\"k1\":1e400,\"a\":0},{\"\":{\"b\":-0.0e-0},\"b\":[{\"a b\":{\"a\":1e400,\"k1\":.5}}],\"a\":[[1.,[1.5,NaN],[\"a\"],[NaN,1.,-0]],tru],\"\\195\\169\":+1},{\"a\":{},\"b\":1,\"a\":\"x\\\\ny\",\"a\":[]}],\"a b\":[[[]],1.5]},\"b\":NaN}'} local c=cjson.new() c.encode_invalid_numbers(true) c.decode_max_depth(40) local ok,v = pcall(c.decode, ARGV[1]) if not ok then return 'DERR|'..E(v) end local ok2,s = pcall(c.encode, v) if not ok2 then return 'EERR|'..E(s) end return s", Text(b"DERR|Expected value but found invalid escape code at character 31")),
            ("local ARGV={'123456789012345679:90'} local c=cjson.new() c.encode_invalid_numbers(true) c.decode_max_depth(40) local ok,v = pcall(c.decode, ARGV[1]) if not ok then return 'DERR|'..E(v) end local ok2,s = pcall(c.encode, v) if not ok2 then return 'EERR|'..E(s) end return s", Text(b"DERR|Expected the end but found T_COLON at character 19")),
            ("local ARGV={'{\"b\":\"\\\\u0000\",\"\":{\"a\":[1.],\"a\":{\"\":{},\"[ b\":N1.},\"zz\":{\"\":\"\\\\/\",\"b \":NaN}}}'} local c=cjson.new() c.encode_invalid_numbers(true) c.decode_max_depth(40) local ok,v = pcall(c.decode, ARGV[1]) if not ok then return 'DERR|'..E(v) end local ok2,s = pcall(c.encode, v) if not ok2 then return 'EERR|'..E(s) end return s", Text(b"DERR|Expected value but found invalid token at character 45")),
            ("local ARGV={'+1'} local c=cjson.new() c.encode_invalid_numbers(true) c.decode_max_depth(40) local ok,v = pcall(c.decode, ARGV[1]) if not ok then return 'DERR|'..E(v) end local ok2,s = pcall(c.encode, v) if not ok2 then return 'EERR|'..E(s) end return s", Text(b"1")),
            ("local ARGV={'\\0nu'} local c=cjson.new() c.encode_invalid_numbers(true) c.decode_max_depth(40) local ok,v = pcall(c.decode, ARGV[1]) if not ok then return 'DERR|'..E(v) end local ok2,s = pcall(c.encode, v) if not ok2 then return 'EERR|'..E(s) end return s", Text(b"DERR|JSON parser does not support UTF-16 or UTF-32")),
            ("local ARGV={'01'} local c=cjson.new() c.encode_invalid_numbers(true) c.decode_max_depth(40) local ok,v = pcall(c.decode, ARGV[1]) if not ok then return 'DERR|'..E(v) end local ok2,s = pcall(c.encode, v) if not ok2 then return 'EERR|'..E(s) end return s", Text(b"1")),
            ("local ARGV={'{\"b\":0x1f,\"zz\":{\"\":-1,\"k1\":01,\"a\":1.5,\"\":\"x\\\\ny\"}}'} local c=cjson.new() c.encode_invalid_numbers(true) c.decode_max_depth(40) local ok,v = pcall(c.decode, ARGV[1]) if not ok then return 'DERR|'..E(v) end local ok2,s = pcall(c.encode, v) if not ok2 then return 'EERR|'..E(s) end return s", Text(b"{\"zz\":{\"k1\":1,\"a\":1.5,\"\":\"x\\ny\"},\"b\":31}")),
            ("local ARGV={'[]'} local c=cjson.new() c.encode_invalid_numbers(true) c.decode_max_depth(40) local ok,v = pcall(c.decode, ARGV[1]) if not ok then return 'DERR|'..E(v) end local ok2,s = pcall(c.encode, v) if not ok2 then return 'EERR|'..E(s) end return s", Text(b"{}")),
            ("local ARGV={'[true,\"\\\\u00e9\"]'} local c=cjson.new() c.encode_invalid_numbers(true) c.decode_max_depth(40) local ok,v = pcall(c.decode, ARGV[1]) if not ok then return 'DERR|'..E(v) end local ok2,s = pcall(c.encode, v) if not ok2 then return 'EERR|'..E(s) end return s", Text(b"[true,\"\xc3\xa9\"]")),
            ("local ARGV={'[0]'} local c=cjson.new() c.encode_invalid_numbers(true) c.decode_max_depth(40) local ok,v = pcall(c.decode, ARGV[1]) if not ok then return 'DERR|'..E(v) end local ok2,s = pcall(c.encode, v) if not ok2 then return 'EERR|'..E(s) end return s", Text(b"[0]")),
            ("local ARGV={'{\"zz\":{\"\":{\"\\195\\169\":[[{},1.5,-0.0e-0,0x1f]],\"b\":{\"\":NaN,\"zz\":[null],\"\\195\\169\":{\"zz\":[{},[01],\"\\\\u00e9\"]},\"k1\":{\"\":\"\\\\ud800\"}},\"a b\":{\"k1\":12345678901234567890,\"\\195\\169\":1,\"\\\\n\":{\"a b\":[.5,{\"\":\"\\195\\191\\195\\190\",\"\\195\\169\":12345678901234567890,\"b\":true,\"b\":Infinity},[1e5,tru,\"\",-1]],\"\":[],\"\\195\\169\":{\"a\":[]},\"b\":[[null],[]]}},\"b\":[+1,true,{\"k1\":{\"k1\":12345678901234567890},\"\\\\n\":[.5,[true,true,false]],\"\":0x1f},\"\\\\x\"]},\"b\":\"\\\\ud83d\\\\ude00\"},\"zz\":{\"\\195\\169\":[[\"a\",1e400],[[[tru,-1],[{\"zz\":\"\\\\ud800\"}]],[]],[],{\"\":-0,\"a b\":-0,\"b\":[]}],\"\\195\\169\":{\"a b\":[],\"zz\":[false,[[],\"\\\\ud800\",{\"zz\":tru,\"a b\":[\"\\\\u00e9\",-inf,12345678901234567890,null],\"a b\":{\"\\195\\169\":Infinity,\"b\":0x1f,\"b\":+1}},\"\\\\u00e9\"]],\"b\":[{\"b\":[\"\\195\\191\\195\\190\"],\"a\":{\"\":\"\\\\x\"}}],\"zz\":\"x\\\\ny\"},\"k1\":{\"a\":[{\"\":{\"\\195\\169\":{\"b\":-inf,\"zz\":-0.0e-0,\"zz\":-inf,\"\\\\n\":-1},\"k1\":[\"x\\\\ny\",1.5,0.1],\"a\":{\"zz\":Infinity}},\"zz\":\"\\\\x\",\"zz\":[]},true,{\"b\":01,\"b\":[],\"a\":{}}],\"\\\\n\":[[],01],\"\\195\\169\":[[[[\"a\",-1,-0.0e-0,false]]],{\"a b\":[[]],\"\\195\\169\":1,\"\\\\n\":.5},1.],\"a b\":{\"\\\\n\":{\"k1\":[{\"a b\":12345678901234567890,\"a\":1e5,\"\":+1,\"k1\":01},[1.5,1.,\"a\",-0.0e-0],{\"\\\\n\":+1}],\"k1\":{},\"b\":[-1,\"\\\\ud83d\\\\ude00\",[]]},\"\\\\n\":\"\\\\u00e9,\"zz\":{\"a\":\"\",\"zz\":{\"a\":{},\"k1\":{\"\":\"\",\"zz\":01},\"a\":01,\"zz\":{\"zz\":\"\\\\ud800\",\"b\":1.}},\"b\":{\"\\195\\169\":1,\"a b\":[fal6se,1e400,-0.0e-0,\"x\\\\ny\"],\"a b\":nul,\"\\\\n\":{\"b\":1.}},\"\":tru}}}}6,\"zz\":{}}'} local c=cjson.new() c.encode_invalid_numbers(true) c.decode_max_depth(40) local ok,v = pcall(c.decode, ARGV[1]) if not ok then return 'DERR|'..E(v) end local ok2,s = pcall(c.encode, v) if not ok2 then return 'EERR|'..E(s) end return s", Text(b"DERR|Expected value but found invalid unicode escape code at character 106")),
            ("local ARGV={'{\"z\":0}'} local c=cjson.new() c.encode_invalid_numbers(true) c.decode_max_depth(40) local ok,v = pcall(c.decode, ARGV[1]) if not ok then return 'DERR|'..E(v) end local ok2,s = pcall(c.encode, v) if not ok2 then return 'EERR|'..E(s) end return s", Text(b"{\"z\":0}")),
            ("local ARGV={'[[{\"b\":{}},[{\"\":[12345678901234567890,[{\"\\\\n\":true,\"\\195\\169\":0.1,\"zz\":0},{\"k1\":0,\"b\":\"\\\\u00e9\",\"a\":-inf},[.5,\"\\\\/\",\"\\195\\191\\195\\190\",\"\"],[1.,-0.0e-0,.5,12345678901234567890]]],\"k1\":{\"k1\":\"\\\\u00e9\",\"a\":\"\\\\/\"}},12345678901234567890,0x1f,\"\\\\/\"],{\"k1\":{\"\\\\n\":[\"\\\\ud83d\\\\ude00\",1e400,0.1]},\"k1\":1.5,\"\":[],\"a\":{}}],{\"b\":[false,[\"x\\\\ny\"],[[0,[[0x1f,\"\\\\ud83d\\\\ude00\"],{\"\\\\n\":false,\"zz\":1e400,\"\\\\n\":1e400},{\"zz\":\"\\\\/\"},1e5],{}]]],\"zz\":0.1},\"\\\\/\"]'} local c=cjson.new() c.encode_invalid_numbers(true) c.decode_max_depth(40) local ok,v = pcall(c.decode, ARGV[1]) if not ok then return 'DERR|'..E(v) end local ok2,s = pcall(c.encode, v) if not ok2 then return 'EERR|'..E(s) end return s", Text(b"DERR|Expected value but found invalid token at character 100")),
            ("local ARGV={'[[false,nul,[t{\"b\":\"\\\\ud800\",\"a\":0x1f},:\"\":12345678901:34567890,\"\\\\n\":null,\"\":{}},\"\\\\u00e9\",\"x\\\\ny\"],\"\\195\\191\\195\\190\"]]'} local c=cjson.new() c.encode_invalid_numbers(true) c.decode_max_depth(40) local ok,v = pcall(c.decode, ARGV[1]) if not ok then return 'DERR|'..E(v) end local ok2,s = pcall(c.encode, v) if not ok2 then return 'EERR|'..E(s) end return s", Text(b"DERR|Expected value but found invalid token at character 9")),
            ("local ARGV={'[{},{\"b\":NaN},[{\"zz\":0.1},{\"a\":{\"b\":1.,\"a b\":\"\",\"zz\":[12345678901234567890,{\"a\":[],\"a\":-1}]},\"\\195\\169\":{\"\":{\"\":{\"a b\":[12345678901234567890],\"a\":{},\"\":{\"a\":0x1f,\"e\":1,\"a b\":1.,\"a b\":\"\\\\/\"},\"\\\\n\":.5}},\"zz\":[[{},[tru,+1],NaN],-inf,{\"zz\":{\"\":0,\"\\195\\169\":0.1,\"b\":-1,\"\\195\\169\":01},\"zz\":{}}],7\"k1\":\"\\\\ud800\",\"\":\"x\\\\ny\"},\"b\":.5,\"zz\":[null,[{\"a b\":{\"b\":\"\\\\/\",\"\":-0.0e-0},\"zz\":\"a\"}]]},\"x\\\\ny\"],[\"x\\\\ny\"]]'} local c=cjson.new() c.encode_invalid_numbers(true) c.decode_max_depth(40) local ok,v = pcall(c.decode, ARGV[1]) if not ok then return 'DERR|'..E(v) end local ok2,s = pcall(c.encode, v) if not ok2 then return 'EERR|'..E(s) end return s", Text(b"DERR|Expected value but found invalid token at character 189")),
            ("local ARGV={'[{\"b\":false,\"b\":{\"a b\":\"a,,\"a\":[01],\"zz\":12345678901234567890n},\"\"a:{}}]'} local c=cjson.new() c.encode_invalid_numbers(true) c.decode_max_depth(40) local ok,v = pcall(c.decode, ARGV[1]) if not ok then return 'DERR|'..E(v) end local ok2,s = pcall(c.encode, v) if not ok2 then return 'EERR|'..E(s) end return s", Text(b"DERR|Expected comma or object end but found invalid token at character 29")),
            ("local ARGV={'[[1e400,-inf,[-1,1.,1e5],{\"\\195\\169\":[{\"b\":{\"\":{\"\\195\\169\":+1,\"\\\\n\":\"x\\\\ny\",\"\\195\\169\":\"a\"},\"zz\":[true,0.1,1e400],\"a b\":01,\"\":[+1,1.5]},\"b\":nul},[\"\\\\ud83d\\\\ude00\",{\"a b\":{}}],{},{\"zz\":0,\"zz\":[\"\\\\x\",{\"\\\\n\":\"\\\\/\",\"a\":12345678901234567890,\"k1\":\"\\\\x\",\"b\":\"\\\\/\"},-0],\"a b\":0}],\"a b\":{\"a b\":-1},\"b\":\"\\\\x\"}]]'} local c=cjson.new() c.encode_invalid_numbers(true) c.decode_max_depth(40) local ok,v = pcall(c.decode, ARGV[1]) if not ok then return 'DERR|'..E(v) end local ok2,s = pcall(c.encode, v) if not ok2 then return 'EERR|'..E(s) end return s", Text(b"DERR|Expected value but found invalid token at character 121")),
            ("local ARGV={'1.'} local c=cjson.new() c.encode_invalid_numbers(true) c.decode_max_depth(40) local ok,v = pcall(c.decode, ARGV[1]) if not ok then return 'DERR|'..E(v) end local ok2,s = pcall(c.encode, v) if not ok2 then return 'EERR|'..E(s) end return s", Text(b"1")),
            ("local ARGV={'123456789.123', 'off', 'true', '0', '0'} local f = loadstring('return ' .. ARGV[1]) local ok, t = pcall(f) if not ok then return 'LERR' end local c=cjson.new() c.encode_max_depth(30) c.encode_invalid_numbers(ARGV[2]) c.encode_sparse_array(ARGV[3] == 'true', tonumber(ARGV[4]), tonumber(ARGV[5])) local ok2,s = pcall(c.encode, t) if not ok2 then return 'EERR|'..E(s) end return s", Text(b"123456789.123")),
            ("local ARGV={'\"s\"', 'off', 'true', '0', '1'} local f = loadstring('return ' .. ARGV[1]) local ok, t = pcall(f) if not ok then return 'LERR' end local c=cjson.new() c.encode_max_depth(30) c.encode_invalid_numbers(ARGV[2]) c.encode_sparse_array(ARGV[3] == 'true', tonumber(ARGV[4]), tonumber(ARGV[5])) local ok2,s = pcall(c.encode, t) if not ok2 then return 'EERR|'..E(s) end return s", Text(b"\"s\"")),
            ("local ARGV={'{{{[1]={[true]={\"s\",-0,{[2^31]=2^31,[\"x\"]=0.1,[\"x\"]=2^63,[30]=1e300,[2]=1},1}},a=1e15,[1]=1},{{{[1.5]={a=\"s\",b=\"a/b\",[0]=2^53},[true]=\"\\\\255\",[5]={a=1/3,[5]=2^31,c=2^31}},{{[3]=1/3,[1]=\"a/b\"},{},{[1]=1e300,[2]=1,[1]=\"a/b\",[2^31]=2^31},{0.1,-1,1/3,true,-0},{2^63,1e300}}},true}}}', 'null', 'true', '0', '10'} local f = loadstring('return ' .. ARGV[1]) local ok, t = pcall(f) if not ok then return 'LERR' end local c=cjson.new() c.encode_max_depth(30) c.encode_invalid_numbers(ARGV[2]) c.encode_sparse_array(ARGV[3] == 'true', tonumber(ARGV[4]), tonumber(ARGV[5])) local ok2,s = pcall(c.encode, t) if not ok2 then return 'EERR|'..E(s) end return s", Text(b"EERR|Cannot serialise boolean: table key must be a number or string")),
            ("local ARGV={'{{2^53,{\"s\",1e-7,0.1},{3.5,{},{[2]={{},0/0,{true,0/0,123456789.123,2^53}},[0]=2^31,[3]=\"\\\\0\\\\1\\\\127\",b={a=99999999999999}}}}}', 'off', 'false', '2', '1'} local f = loadstring('return ' .. ARGV[1]) local ok, t = pcall(f) if not ok then return 'LERR' end local c=cjson.new() c.encode_max_depth(30) c.encode_invalid_numbers(ARGV[2]) c.encode_sparse_array(ARGV[3] == 'true', tonumber(ARGV[4]), tonumber(ARGV[5])) local ok2,s = pcall(c.encode, t) if not ok2 then return 'EERR|'..E(s) end return s", Text(b"EERR|Cannot serialise number: must not be NaN or Inf")),
            ("local ARGV={'{[true]={[true]=-1/0},c={[true]=\"\\\\\"q\\\\\"\",[2^31]={{[-1]={[30]=\"\\\\255\",[3]={[2]=2^31},[5]=\"s\",[1]={},[-1]={2^31}},[30]={[1/0]=-1,[0]={[12]=2^53},[0]={}},[true]=\"a/b\",[\"x\"]={1e300,{[0]=123456789.123,[true]=0,[0]=1/0,a=1,[1]=1e14},1/0,{},\"s\"}}},[1.5]={0/0,{[5]={[1]={c=99999999999999,[true]=1/0,[2]=1/3,[-1]=1,[\"x\"]=1e14},[0]={[-1]=2^53,[3]=\"\\\\255\",[12]=false,[2]=1e14,[1/0]=\"a/b\"},[3]={},[1/0]=-1,[2]=2^31}}}},[3]={-2^31,false},[12]={[0]=1/3,[1/0]={1e-7,{[1]={[true]={nil,2^63},[1.5]=1e300,[\"x\"]={1e14,-1/0,true,-0},[3]=1/3},[3]=\"\\\\255\"},{[\"x\"]={},[5]={},[-1]={},b={3.5,{},{-1,2^53,0/0,99999999999999},123456789.123},[1.5]=1e-7}},[\"x\"]={{{[2^31]={2^63,1e-7,1e-7,1e-7,1e15}},{-1/0,{c=0,[2]=123456789.123,b=\"s\"},0},{}}},[2]=1e-7,b=1},a={1/3,123456789.123,{{[2]={0/0,\"\\\\255\"}},nil}}}', 'on', 'true', '2', '1'} local f = loadstring('return ' .. ARGV[1]) local ok, t = pcall(f) if not ok then return 'LERR' end local c=cjson.new() c.encode_max_depth(30) c.encode_invalid_numbers(ARGV[2]) c.encode_sparse_array(ARGV[3] == 'true', tonumber(ARGV[4]), tonumber(ARGV[5])) local ok2,s = pcall(c.encode, t) if not ok2 then return 'EERR|'..E(s) end return s", Text(b"EERR|Cannot serialise boolean: table key must be a number or string")),
            ("local ARGV={'{2^31,-0}', 'on', 'false', '2', '1'} local f = loadstring('return ' .. ARGV[1]) local ok, t = pcall(f) if not ok then return 'LERR' end local c=cjson.new() c.encode_max_depth(30) c.encode_invalid_numbers(ARGV[2]) c.encode_sparse_array(ARGV[3] == 'true', tonumber(ARGV[4]), tonumber(ARGV[5])) local ok2,s = pcall(c.encode, t) if not ok2 then return 'EERR|'..E(s) end return s", Text(b"[2147483648,-0]")),
            ("local ARGV={'\"a/b\"', 'null', 'true', '0', '0'} local f = loadstring('return ' .. ARGV[1]) local ok, t = pcall(f) if not ok then return 'LERR' end local c=cjson.new() c.encode_max_depth(30) c.encode_invalid_numbers(ARGV[2]) c.encode_sparse_array(ARGV[3] == 'true', tonumber(ARGV[4]), tonumber(ARGV[5])) local ok2,s = pcall(c.encode, t) if not ok2 then return 'EERR|'..E(s) end return s", Text(b"\"a\\/b\"")),
            ("local ARGV={'{[2]={1e300,{{{[2^31]={nil,2^53,0,2^63}}},1/0},{false},2^53},[5]=2^53,[12]={0,\"\\\\\"q\\\\\"\",1e-7},[0]=1e-7,c=1/0}', 'off', 'false', '1', '5'} local f = loadstring('return ' .. ARGV[1]) local ok, t = pcall(f) if not ok then return 'LERR' end local c=cjson.new() c.encode_max_depth(30) c.encode_invalid_numbers(ARGV[2]) c.encode_sparse_array(ARGV[3] == 'true', tonumber(ARGV[4]), tonumber(ARGV[5])) local ok2,s = pcall(c.encode, t) if not ok2 then return 'EERR|'..E(s) end return s", Text(b"EERR|Cannot serialise number: must not be NaN or Inf")),
            ("local ARGV={'123456789.123', 'off', 'true', '3', '0'} local f = loadstring('return ' .. ARGV[1]) local ok, t = pcall(f) if not ok then return 'LERR' end local c=cjson.new() c.encode_max_depth(30) c.encode_invalid_numbers(ARGV[2]) c.encode_sparse_array(ARGV[3] == 'true', tonumber(ARGV[4]), tonumber(ARGV[5])) local ok2,s = pcall(c.encode, t) if not ok2 then return 'EERR|'..E(s) end return s", Text(b"123456789.123")),
            ("local ARGV={'{[2^31]={{true,{{{true,false,0,-1/0,true},{1/0,\"\\\\0\\\\1\\\\127\",2^63,-1,1/0},{[2]=\"\\\\255\",[12]=2^53}},{{[1.5]=\"s\",[-1]=3.5,c=\"a/b\"}},false,\"s\",1e15},{},false,1e15}},[1.5]=\"\\\\\"q\\\\\"\"}', 'null', 'true', '1', '5'} local f = loadstring('return ' .. ARGV[1]) local ok, t = pcall(f) if not ok then return 'LERR' end local c=cjson.new() c.encode_max_depth(30) c.encode_invalid_numbers(ARGV[2]) c.encode_sparse_array(ARGV[3] == 'true', tonumber(ARGV[4]), tonumber(ARGV[5])) local ok2,s = pcall(c.encode, t) if not ok2 then return 'EERR|'..E(s) end return s", Digest(221, 0x318883c81c3726b8)),
            ("local ARGV={'{[5]={},c={},[5]=-1/0,[true]={{}},[1.5]=1e-7}', 'off', 'true', '1', '5'} local f = loadstring('return ' .. ARGV[1]) local ok, t = pcall(f) if not ok then return 'LERR' end local c=cjson.new() c.encode_max_depth(30) c.encode_invalid_numbers(ARGV[2]) c.encode_sparse_array(ARGV[3] == 'true', tonumber(ARGV[4]), tonumber(ARGV[5])) local ok2,s = pcall(c.encode, t) if not ok2 then return 'EERR|'..E(s) end return s", Text(b"EERR|Cannot serialise boolean: table key must be a number or string")),
            ("local ARGV={'{{[3]=nil},{0,nil,1e-7,{{[12]=0/0,[1/0]={[0]=\"\\\\255\",a=1/0,[-1]=-1/0},[30]=cjson.null,[-1]={[5]=2^53,[12]={}}},{1e300,{-0},{},1e14,{{\"\\\\255\",1e14,3.5,\"\\\\\"q\\\\\"\"},{[30]=99999999999999,c=\"\\\\255\"},3.5}},3.5},{{-2^31,{[3]={[1]=cjson.null,[3]=0.1,b=cjson.null,[-1]=2^53,[-1]=0},[\"x\"]={3.5,1,true,\"\\\\255\"},[12]={c=0,[\"x\"]=\"\\\\\"q\\\\\"\",[1.5]=\"\\\\\"q\\\\\"\",[2]=0.1,[true]=true},[12]={0,\"\\\\\"q\\\\\"\",0/0}},{c={1/3,0,1/0,cjson.null,0}}},1e15}},1/3}', 'off', 'false', '2', '5'} local f = loadstring('return ' .. ARGV[1]) local ok, t = pcall(f) if not ok then return 'LERR' end local c=cjson.new() c.encode_max_depth(30) c.encode_invalid_numbers(ARGV[2]) c.encode_sparse_array(ARGV[3] == 'true', tonumber(ARGV[4]), tonumber(ARGV[5])) local ok2,s = pcall(c.encode, t) if not ok2 then return 'EERR|'..E(s) end return s", Text(b"EERR|Cannot serialise number: must not be NaN or Inf")),
            ("local ARGV={'0/0', 'off', 'true', '0', '0'} local f = loadstring('return ' .. ARGV[1]) local ok, t = pcall(f) if not ok then return 'LERR' end local c=cjson.new() c.encode_max_depth(30) c.encode_invalid_numbers(ARGV[2]) c.encode_sparse_array(ARGV[3] == 'true', tonumber(ARGV[4]), tonumber(ARGV[5])) local ok2,s = pcall(c.encode, t) if not ok2 then return 'EERR|'..E(s) end return s", Text(b"EERR|Cannot serialise number: must not be NaN or Inf")),
            ("local ARGV={'1/3', 'on', 'false', '1', '10'} local f = loadstring('return ' .. ARGV[1]) local ok, t = pcall(f) if not ok then return 'LERR' end local c=cjson.new() c.encode_max_depth(30) c.encode_invalid_numbers(ARGV[2]) c.encode_sparse_array(ARGV[3] == 'true', tonumber(ARGV[4]), tonumber(ARGV[5])) local ok2,s = pcall(c.encode, t) if not ok2 then return 'EERR|'..E(s) end return s", Text(b"0.33333333333333")),
            ("local ARGV={'0', 'null', 'true', '2', '5'} local f = loadstring('return ' .. ARGV[1]) local ok, t = pcall(f) if not ok then return 'LERR' end local c=cjson.new() c.encode_max_depth(30) c.encode_invalid_numbers(ARGV[2]) c.encode_sparse_array(ARGV[3] == 'true', tonumber(ARGV[4]), tonumber(ARGV[5])) local ok2,s = pcall(c.encode, t) if not ok2 then return 'EERR|'..E(s) end return s", Text(b"0")),
            ("local ARGV={'123456789.123', 'off', 'true', '1', '5'} local f = loadstring('return ' .. ARGV[1]) local ok, t = pcall(f) if not ok then return 'LERR' end local c=cjson.new() c.encode_max_depth(30) c.encode_invalid_numbers(ARGV[2]) c.encode_sparse_array(ARGV[3] == 'true', tonumber(ARGV[4]), tonumber(ARGV[5])) local ok2,s = pcall(c.encode, t) if not ok2 then return 'EERR|'..E(s) end return s", Text(b"123456789.123")),
            ("local ARGV={'0/0', 'on', 'false', '1', '5'} local f = loadstring('return ' .. ARGV[1]) local ok, t = pcall(f) if not ok then return 'LERR' end local c=cjson.new() c.encode_max_depth(30) c.encode_invalid_numbers(ARGV[2]) c.encode_sparse_array(ARGV[3] == 'true', tonumber(ARGV[4]), tonumber(ARGV[5])) local ok2,s = pcall(c.encode, t) if not ok2 then return 'EERR|'..E(s) end return s", Text(b"nan")),
            ("local ARGV={'1e-7', 'null', 'true', '1', '5'} local f = loadstring('return ' .. ARGV[1]) local ok, t = pcall(f) if not ok then return 'LERR' end local c=cjson.new() c.encode_max_depth(30) c.encode_invalid_numbers(ARGV[2]) c.encode_sparse_array(ARGV[3] == 'true', tonumber(ARGV[4]), tonumber(ARGV[5])) local ok2,s = pcall(c.encode, t) if not ok2 then return 'EERR|'..E(s) end return s", Text(b"1e-07")),
            ("local ARGV={'-0', 'null', 'false', '3', '0'} local f = loadstring('return ' .. ARGV[1]) local ok, t = pcall(f) if not ok then return 'LERR' end local c=cjson.new() c.encode_max_depth(30) c.encode_invalid_numbers(ARGV[2]) c.encode_sparse_array(ARGV[3] == 'true', tonumber(ARGV[4]), tonumber(ARGV[5])) local ok2,s = pcall(c.encode, t) if not ok2 then return 'EERR|'..E(s) end return s", Text(b"-0")),
            ("local ARGV={'2^31', 'on', 'true', '2', '1'} local f = loadstring('return ' .. ARGV[1]) local ok, t = pcall(f) if not ok then return 'LERR' end local c=cjson.new() c.encode_max_depth(30) c.encode_invalid_numbers(ARGV[2]) c.encode_sparse_array(ARGV[3] == 'true', tonumber(ARGV[4]), tonumber(ARGV[5])) local ok2,s = pcall(c.encode, t) if not ok2 then return 'EERR|'..E(s) end return s", Text(b"2147483648")),
            ("local ARGV={'{{{[true]=\"a/b\",[2]={[1]={[0]=1e14,[3]=-1,[2]=2^53,b={}},c={[2^31]={[5]=-1,[2]=\"\\\\255\",[0]=\"a/b\",[3]=0/0},[2^31]=\"\\\\255\",[3]={\"\\\\0\\\\1\\\\127\",1e-7,\"\\\\255\",1e14,1e-7},[0]=2^63},[2^31]=1e15,[3]=123456789.123,b=2^63},[-1]=1e14},{-0,{},{},1,{[true]=-1/0,[2]={[2^31]={},[true]={123456789.123}}}},\"\\\\\"q\\\\\"\"}}', 'null', 'false', '0', '0'} local f = loadstring('return ' .. ARGV[1]) local ok, t = pcall(f) if not ok then return 'LERR' end local c=cjson.new() c.encode_max_depth(30) c.encode_invalid_numbers(ARGV[2]) c.encode_sparse_array(ARGV[3] == 'true', tonumber(ARGV[4]), tonumber(ARGV[5])) local ok2,s = pcall(c.encode, t) if not ok2 then return 'EERR|'..E(s) end return s", Text(b"EERR|Cannot serialise boolean: table key must be a number or string")),
            ("local ARGV={'nil', 'null', 'false', '3', '5'} local f = loadstring('return ' .. ARGV[1]) local ok, t = pcall(f) if not ok then return 'LERR' end local c=cjson.new() c.encode_max_depth(30) c.encode_invalid_numbers(ARGV[2]) c.encode_sparse_array(ARGV[3] == 'true', tonumber(ARGV[4]), tonumber(ARGV[5])) local ok2,s = pcall(c.encode, t) if not ok2 then return 'EERR|'..E(s) end return s", Text(b"null")),
            ("local ARGV={'{}', 'off', 'true', '2', '0'} local f = loadstring('return ' .. ARGV[1]) local ok, t = pcall(f) if not ok then return 'LERR' end local c=cjson.new() c.encode_max_depth(30) c.encode_invalid_numbers(ARGV[2]) c.encode_sparse_array(ARGV[3] == 'true', tonumber(ARGV[4]), tonumber(ARGV[5])) local ok2,s = pcall(c.encode, t) if not ok2 then return 'EERR|'..E(s) end return s", Text(b"{}")),
            ("local ARGV={'1', 'on', 'false', '3', '0'} local f = loadstring('return ' .. ARGV[1]) local ok, t = pcall(f) if not ok then return 'LERR' end local c=cjson.new() c.encode_max_depth(30) c.encode_invalid_numbers(ARGV[2]) c.encode_sparse_array(ARGV[3] == 'true', tonumber(ARGV[4]), tonumber(ARGV[5])) local ok2,s = pcall(c.encode, t) if not ok2 then return 'EERR|'..E(s) end return s", Text(b"1")),
            ("local ARGV={'2^53', 'on', 'false', '2', '10'} local f = loadstring('return ' .. ARGV[1]) local ok, t = pcall(f) if not ok then return 'LERR' end local c=cjson.new() c.encode_max_depth(30) c.encode_invalid_numbers(ARGV[2]) c.encode_sparse_array(ARGV[3] == 'true', tonumber(ARGV[4]), tonumber(ARGV[5])) local ok2,s = pcall(c.encode, t) if not ok2 then return 'EERR|'..E(s) end return s", Text(b"9.007199254741e+15")),
            ("local ARGV={'-1', 'on', 'false', '2', '1'} local f = loadstring('return ' .. ARGV[1]) local ok, t = pcall(f) if not ok then return 'LERR' end local c=cjson.new() c.encode_max_depth(30) c.encode_invalid_numbers(ARGV[2]) c.encode_sparse_array(ARGV[3] == 'true', tonumber(ARGV[4]), tonumber(ARGV[5])) local ok2,s = pcall(c.encode, t) if not ok2 then return 'EERR|'..E(s) end return s", Text(b"-1")),
            ("local ARGV={'{a=0.1,[-1]={[\"x\"]={{{{\"a/b\"},{[-1]=2^53},nil},\"\\\\\"q\\\\\"\",{{},1/0,-1/0,{}}},2^31,{c=0,[true]={},[12]={[1.5]={c=99999999999999,[2^31]=0.1,a=0.1},[1.5]=1e-7,a={nil,\"a/b\"}}},{1e300,{b=true,a={1e14,1e-7,3.5,1/3,\"\\\\0\\\\1\\\\127\"},[12]=2^63},{},{},nil}},[true]=1e300,c={{99999999999999,1e300}},[1]={[12]=\"\\\\\"q\\\\\"\",[30]=-1/0,[5]=1e300}},[30]={c={[true]=1,[\"x\"]={[2]={},[1]=-1/0},[1.5]=false,[-1]={1/0,{},{[1]=1/3,[2^31]=2^31,[1.5]={[true]=1e300,[1]=2^63,a=1/0,[1.5]=2^53,[0]=99999999999999}}}}},[0]=-2^31}', 'null', 'false', '2', '10'} local f = loadstring('return ' .. ARGV[1]) local ok, t = pcall(f) if not ok then return 'LERR' end local c=cjson.new() c.encode_max_depth(30) c.encode_invalid_numbers(ARGV[2]) c.encode_sparse_array(ARGV[3] == 'true', tonumber(ARGV[4]), tonumber(ARGV[5])) local ok2,s = pcall(c.encode, t) if not ok2 then return 'EERR|'..E(s) end return s", Text(b"EERR|Cannot serialise table: excessively sparse array")),
            ("local ARGV={'{}', 'off', 'false', '2', '1'} local f = loadstring('return ' .. ARGV[1]) local ok, t = pcall(f) if not ok then return 'LERR' end local c=cjson.new() c.encode_max_depth(30) c.encode_invalid_numbers(ARGV[2]) c.encode_sparse_array(ARGV[3] == 'true', tonumber(ARGV[4]), tonumber(ARGV[5])) local ok2,s = pcall(c.encode, t) if not ok2 then return 'EERR|'..E(s) end return s", Text(b"{}")),
            ("local ARGV={'3.5', 'off', 'true', '2', '10'} local f = loadstring('return ' .. ARGV[1]) local ok, t = pcall(f) if not ok then return 'LERR' end local c=cjson.new() c.encode_max_depth(30) c.encode_invalid_numbers(ARGV[2]) c.encode_sparse_array(ARGV[3] == 'true', tonumber(ARGV[4]), tonumber(ARGV[5])) local ok2,s = pcall(c.encode, t) if not ok2 then return 'EERR|'..E(s) end return s", Text(b"3.5")),
            ("local ARGV={'\"s\"', 'off', 'false', '2', '5'} local f = loadstring('return ' .. ARGV[1]) local ok, t = pcall(f) if not ok then return 'LERR' end local c=cjson.new() c.encode_max_depth(30) c.encode_invalid_numbers(ARGV[2]) c.encode_sparse_array(ARGV[3] == 'true', tonumber(ARGV[4]), tonumber(ARGV[5])) local ok2,s = pcall(c.encode, t) if not ok2 then return 'EERR|'..E(s) end return s", Text(b"\"s\"")),
            ("local ARGV={'{[12]={a=3.5,[0]=1e300,a=2^53,[\"x\"]={2^63,cjson.null},[1/0]={\"\\\\255\"}},a={[1/0]=1/3,[-1]={[0]={{99999999999999,1e14,{},{0/0,\"\\\\0\\\\1\\\\127\",\"a/b\",-2^31,\"a/b\"}},1e-7,2^31},b={1/3,{{1e14},{\"s\"},{[5]=2^31,[1]=false,[12]=nil,[2]=false}},{[5]={\"s\"},[0]={2^31,true,0,1},[2]=-1,c={0,-1/0}},{-0,-1/0,2^53}},[2]=-0},[30]=1e14,[1/0]=\"s\",[true]=3.5},[2]=1e-7,c=-1/0,[2]=123456789.123}', 'null', 'false', '2', '1'} local f = loadstring('return ' .. ARGV[1]) local ok, t = pcall(f) if not ok then return 'LERR' end local c=cjson.new() c.encode_max_depth(30) c.encode_invalid_numbers(ARGV[2]) c.encode_sparse_array(ARGV[3] == 'true', tonumber(ARGV[4]), tonumber(ARGV[5])) local ok2,s = pcall(c.encode, t) if not ok2 then return 'EERR|'..E(s) end return s", Text(b"EERR|Cannot serialise boolean: table key must be a number or string")),
            ("local ARGV={'{[\"x\"]={{}},b={{1,\"a/b\",{},{}},1/0,{{},-2^31,0},{{0.1,1e300},{{[3]={[2]=3.5},[2^31]=1e15},1e15},1/0,{-2^31,{[1/0]={\"\\\\0\\\\1\\\\127\"},a=123456789.123,a={-2^31},[true]=cjson.null}},\"s\"},\"\\\\0\\\\1\\\\127\"}}', 'on', 'true', '1', '1'} local f = loadstring('return ' .. ARGV[1]) local ok, t = pcall(f) if not ok then return 'LERR' end local c=cjson.new() c.encode_max_depth(30) c.encode_invalid_numbers(ARGV[2]) c.encode_sparse_array(ARGV[3] == 'true', tonumber(ARGV[4]), tonumber(ARGV[5])) local ok2,s = pcall(c.encode, t) if not ok2 then return 'EERR|'..E(s) end return s", Text(b"EERR|Cannot serialise boolean: table key must be a number or string")),
            ("local ARGV={'{a=1/3,[1]=1e15}', 'off', 'false', '1', '10'} local f = loadstring('return ' .. ARGV[1]) local ok, t = pcall(f) if not ok then return 'LERR' end local c=cjson.new() c.encode_max_depth(30) c.encode_invalid_numbers(ARGV[2]) c.encode_sparse_array(ARGV[3] == 'true', tonumber(ARGV[4]), tonumber(ARGV[5])) local ok2,s = pcall(c.encode, t) if not ok2 then return 'EERR|'..E(s) end return s", Text(b"{\"a\":0.33333333333333,\"1\":1e+15}")),
            ("local ARGV={'2^63', 'null', 'false', '0', '5'} local f = loadstring('return ' .. ARGV[1]) local ok, t = pcall(f) if not ok then return 'LERR' end local c=cjson.new() c.encode_max_depth(30) c.encode_invalid_numbers(ARGV[2]) c.encode_sparse_array(ARGV[3] == 'true', tonumber(ARGV[4]), tonumber(ARGV[5])) local ok2,s = pcall(c.encode, t) if not ok2 then return 'EERR|'..E(s) end return s", Text(b"9.2233720368548e+18")),
            ("local ARGV={'{{}}', 'off', 'true', '3', '1'} local f = loadstring('return ' .. ARGV[1]) local ok, t = pcall(f) if not ok then return 'LERR' end local c=cjson.new() c.encode_max_depth(30) c.encode_invalid_numbers(ARGV[2]) c.encode_sparse_array(ARGV[3] == 'true', tonumber(ARGV[4]), tonumber(ARGV[5])) local ok2,s = pcall(c.encode, t) if not ok2 then return 'EERR|'..E(s) end return s", Text(b"[{}]")),
            ("local ARGV={'cjson.null', 'on', 'true', '0', '1'} local f = loadstring('return ' .. ARGV[1]) local ok, t = pcall(f) if not ok then return 'LERR' end local c=cjson.new() c.encode_max_depth(30) c.encode_invalid_numbers(ARGV[2]) c.encode_sparse_array(ARGV[3] == 'true', tonumber(ARGV[4]), tonumber(ARGV[5])) local ok2,s = pcall(c.encode, t) if not ok2 then return 'EERR|'..E(s) end return s", Text(b"null")),
            ("local ARGV={'{1e14,{[1.5]=0},{{[true]={c={{\"\\\\\"q\\\\\"\",1e-7,1,\"\\\\0\\\\1\\\\127\"},{[0]=2^63,a=\"s\",[5]=\"a/b\",[5]=-2^31,[30]=123456789.123},{0.1},{2^53}},a=-1/0,[5]=1e-7,a=1e14},[30]={0/0,{{a=1,[2^31]=2^31},{[12]=1e15,[\"x\"]=\"\\\\0\\\\1\\\\127\",[30]=\"\\\\0\\\\1\\\\127\"},{false,false,2^31,-1/0},{[1.5]=0.1,[5]=true},{[true]=nil,[\"x\"]=\"\\\\0\\\\1\\\\127\",[12]=1e-7,[1]=-2^31,[\"x\"]=0/0}},{2^53,1,\"\\\\255\"},{{},\"\\\\\"q\\\\\"\",-0},{{1e15,-0,\"\\\\\"q\\\\\"\",1e-7},1e-7,{1/3,\"\\\\0\\\\1\\\\127\",123456789.123,false}}}},1e15},3.5,{}}', 'off', 'false', '0', '10'} local f = loadstring('return ' .. ARGV[1]) local ok, t = pcall(f) if not ok then return 'LERR' end local c=cjson.new() c.encode_max_depth(30) c.encode_invalid_numbers(ARGV[2]) c.encode_sparse_array(ARGV[3] == 'true', tonumber(ARGV[4]), tonumber(ARGV[5])) local ok2,s = pcall(c.encode, t) if not ok2 then return 'EERR|'..E(s) end return s", Text(b"EERR|Cannot serialise number: must not be NaN or Inf")),
            ("local ARGV={'2^53', 'off', 'true', '1', '1'} local f = loadstring('return ' .. ARGV[1]) local ok, t = pcall(f) if not ok then return 'LERR' end local c=cjson.new() c.encode_max_depth(30) c.encode_invalid_numbers(ARGV[2]) c.encode_sparse_array(ARGV[3] == 'true', tonumber(ARGV[4]), tonumber(ARGV[5])) local ok2,s = pcall(c.encode, t) if not ok2 then return 'EERR|'..E(s) end return s", Text(b"9.007199254741e+15")),
            ("local ARGV={'{{{},1/3,{{c={},c=1/3}},{{{\"s\",2^31,{1e15,\"\\\\255\",3.5,\"\\\\0\\\\1\\\\127\",false},0.1},{},{[2]=true,[30]={1/3,0/0,0/0},[12]={\"s\",1/0,false,0.1}},1}}},\"s\",nil}', 'off', 'true', '1', '5'} local f = loadstring('return ' .. ARGV[1]) local ok, t = pcall(f) if not ok then return 'LERR' end local c=cjson.new() c.encode_max_depth(30) c.encode_invalid_numbers(ARGV[2]) c.encode_sparse_array(ARGV[3] == 'true', tonumber(ARGV[4]), tonumber(ARGV[5])) local ok2,s = pcall(c.encode, t) if not ok2 then return 'EERR|'..E(s) end return s", Text(b"EERR|Cannot serialise number: must not be NaN or Inf")),
            ("local ARGV={'-1/0', 'off', 'false', '3', '5'} local f = loadstring('return ' .. ARGV[1]) local ok, t = pcall(f) if not ok then return 'LERR' end local c=cjson.new() c.encode_max_depth(30) c.encode_invalid_numbers(ARGV[2]) c.encode_sparse_array(ARGV[3] == 'true', tonumber(ARGV[4]), tonumber(ARGV[5])) local ok2,s = pcall(c.encode, t) if not ok2 then return 'EERR|'..E(s) end return s", Text(b"EERR|Cannot serialise number: must not be NaN or Inf")),
        ]);
    }

    /// `%.<p>g` of doubles (bit patterns) as glibc's snprintf printed them.
    #[test]
    fn number_format_matches_glibc() {
        let cases: &[(i32, u64, &str)] = &[
            (14, 0x8a7993989b93f202, "-3.3269451937214e-258"),
            (9, 0xc116001800000000, "-360454"),
            (8, 0x3ccc0597807dc516, "7.7776238e-16"),
            (7, 0x3b16f03fcf669e75, "4.743565e-24"),
            (8, 0x406e119400000000, "240.54932"),
            (12, 0x1eee5ed473268e28, "1.08009819663e-159"),
            (4, 0x4aa8bef1cbd7c970, "4.629e+51"),
            (10, 0x309dee4f79e560d3, "1.654325115e-74"),
            (2, 0x7abb5411a989bdb3, "1.6e+283"),
            (12, 0xc11f0083654e58e2, "-507936.848932"),
            (1, 0x7af172656729371e, "2e+284"),
            (11, 0x0e26dfe8072fee74, "1.7152508027e-240"),
            (8, 0x4fdadba248580e5b, "4.8592774e+76"),
            (4, 0x386f4954e7d9ee53, "7.355e-37"),
            (14, 0xb15f4d7e93b9ed3f, "-7.0866830042294e-71"),
            (2, 0xc0e5e61a00000000, "-4.5e+04"),
            (12, 0xc080cf2000000000, "-537.890625"),
            (14, 0x2c5d862df193a3ff, "5.5288984526769e-95"),
            (14, 0x851300904abec9b7, "-3.194684877565e-284"),
            (3, 0x3cd48fa933af89d9, "1.14e-15"),
            (14, 0x40e47bd121a49ab0, "41950.53535681"),
            (14, 0x43292de35ae6d33e, "3.5436644618347e+15"),
            (2, 0xa9b4186821b364fa, "-8.6e-108"),
            (14, 0xc078b6be00000000, "-395.42138671875"),
            (4, 0x4080685330941c82, "525"),
            (14, 0x0b7f4c4155dfd9d6, "2.6680776744477e-253"),
            (5, 0x30b646826809d3c3, "4.9248e-74"),
            (14, 0xc116b4dda35df01a, "-372023.40953803"),
            (3, 0x97e9ba19abd603c2, "-1.76e-193"),
            (13, 0x40105fd000000000, "4.093566894531"),
            (14, 0xea76a74fc91fe7fe, "-7.1025377793866e+204"),
            (14, 0x4eb1d4eb9f76e69f, "1.2307001057729e+71"),
            (14, 0x39af914d4a531e9b, "7.7820106742078e-31"),
            (9, 0xc12a531c00000000, "-862606"),
            (14, 0x3f99e75fd46046f0, "0.025296685540588"),
            (5, 0xc2ee4afbd11bcee0, "-2.6646e+14"),
            (6, 0x3b210328a8f2e0f8, "7.03614e-24"),
            (1, 0xc071967c00000000, "-3e+02"),
            (12, 0xc33cb539dc1bebcf, "-8.08055945848e+15"),
            (14, 0x40f91ec400000000, "102892.25"),
            (14, 0xc0357fd600000000, "-21.499359130859"),
            (5, 0xbff8310000000000, "-1.512"),
            (14, 0x7d631151b689302c, "9.7423336061543e+295"),
            (2, 0x4055065800000000, "84"),
            (14, 0x6024768eeb9d432f, "1.3718277985177e+155"),
            (1, 0xc19626338972a452, "-9e+07"),
            (10, 0xe7a9a78b38071a77, "-2.286073967e+191"),
            (7, 0x4100199000000000, "131890"),
            (3, 0xe80e5adf8dec36b2, "-1.73e+193"),
            (14, 0xc027406c00000000, "-11.625823974609"),
            (14, 0xe9f81ce53866f536, "-2.9531537318076e+202"),
            (11, 0xbff9bfc000000000, "-1.6093139648"),
            (7, 0xbfea56d000000000, "-0.8230972"),
            (10, 0xaa3a56cf7eeffc18, "-2.871061645e-105"),
            (6, 0x45393b31d48469ac, "3.05027e+25"),
            (14, 0x5a28534b761c408f, "2.0582951888834e+126"),
            (7, 0x83501328d9cbc06c, "-1.006772e-292"),
            (10, 0x306176c7f7c71800, "1.206575605e-75"),
            (14, 0xc108a66c00000000, "-201933.5"),
            (14, 0x40503e1ac068ffdc, "64.970382788218"),
            (7, 0x3fed974800000000, "0.9247169"),
            (14, 0x43281f9bc09dc752, "3.3950766265067e+15"),
            (14, 0xc083280000000000, "-613"),
            (3, 0x2f9b258fbddae6dc, "2.29e-79"),
            (7, 0x40ba3c7400000000, "6716.453"),
            (11, 0xc12d4357dbcdf878, "-958891.92931"),
            (4, 0x38cf3ace123f6a5b, "4.699e-35"),
            (14, 0xf45b2a9d91ad3317, "-3.1120713314343e+252"),
            (8, 0xc0f84eec00000000, "-99566.75"),
            (6, 0xa238441e5697cdb5, "-7.77324e-144"),
            (13, 0xc0890b6c8b439581, "-801.428"),
            (10, 0x408d533333333333, "938.4"),
            (5, 0x404cdfc600000000, "57.748"),
            (14, 0x17f8219bbdebc58b, "3.3056981866887e-193"),
            (14, 0xecea8adaab8b303b, "-4.5749576215376e+216"),
            (4, 0x3d63bc6db867acb0, "5.609e-13"),
            (14, 0xc3415c173cc0b88a, "-9.7726589546949e+15"),
            (5, 0x40f7095400000000, "94357"),
            (12, 0x3f53324c0c1367be, "0.00117165972215"),
            (5, 0xf4e90d432501aaab, "-1.4694e+255"),
            (14, 0x25a7343841c25796, "2.6780235336004e-127"),
            (6, 0x4007307c00000000, "2.89867"),
            (14, 0xceb3e8c2c016f4fe, "-1.3740839782149e+71"),
            (7, 0xc07bd59000000000, "-445.3477"),
            (14, 0x31646e78ca7addac, "9.2510692207513e-71"),
            (14, 0x410b8aa2a2a9b530, "225620.32942525"),
            (7, 0xac98f66e0f9b81eb, "-7.479481e-94"),
            (14, 0xc087182800000000, "-739.01953125"),
            (8, 0x4cd2c818625a9c7e, "1.2072361e+62"),
            (9, 0x402411f800000000, "10.0350952"),
            (9, 0xb30e35038940c50b, "-9.17866957e-63"),
            (11, 0x9b6d58c657bdfc7a, "-1.448414814e-176"),
            (14, 0x4078c91800000000, "396.568359375"),
            (13, 0x40af89d800000000, "4036.921875"),
            (10, 0xc1265d6a119807b4, "-732853.0344"),
            (14, 0x565a1d744fc1fad1, "9.5831751754104e+107"),
            (14, 0x3fda39c000000000, "0.40977478027344"),
            (9, 0x40bc0c7200000000, "7180.44531"),
            (7, 0xc08877d04816f007, "-782.9767"),
            (3, 0xc0e978fc00000000, "-5.22e+04"),
            (14, 0xbf31ab748bdb3285, "-0.00026961894387226"),
            (14, 0xb5c2bec179e67fa5, "-1.0020269581659e-49"),
            (4, 0xc0452c6e00000000, "-42.35"),
            (12, 0xc0b021a800000000, "-4129.65625"),
            (14, 0x8c3329bc567b1bb2, "-6.6912581960389e-250"),
            (5, 0x73960c21ccfb0d8f, "6.1661e+248"),
            (14, 0x40ecbdc800000000, "58862.25"),
            (6, 0x198ee1c898cdd37f, "1.41951e-185"),
            (13, 0x4082f4f5f6fd21ff, "606.6201"),
            (12, 0xfafe71b05582998f, "-2.82943042776e+284"),
            (8, 0x4235f698d7d14648, "9.4331525e+10"),
            (14, 0x420c5c7f8e7dc17c, "15226368463.719"),
            (10, 0x40afd65800000000, "4075.171875"),
            (13, 0xab0b2e1db6b4c51f, "-2.427074870022e-101"),
            (6, 0x432e64b3960e9322, "4.27749e+15"),
            (12, 0x40516e147ae147ae, "69.72"),
            (10, 0x4080cc1000000000, "537.5078125"),
            (7, 0x4160b16cdd734c6a, "8751975"),
            (9, 0x40b6600000000000, "5728"),
            (9, 0xcdf80ba34e3496de, "-4.0516521e+67"),
            (14, 0xa28ad3b6b3ac2c14, "-2.749946691891e-142"),
            (6, 0xe51bb3c2a0e95084, "-1.12257e+179"),
            (5, 0x58c698100d2994aa, "4.5581e+119"),
            (10, 0x407cbb3333333333, "459.7"),
            (5, 0x407ab6f400000000, "427.43"),
            (12, 0x4315a4fcca3bc0e8, "1.52309503564e+15"),
            (14, 0xc109749e00000000, "-208531.75"),
            (3, 0xf5c6c3d938164c2b, "-2.19e+259"),
            (14, 0x009d4b460e8773d8, "1.0429023610544e-305"),
            (14, 0x433ebbc2d041e013, "8.6506946933473e+15"),
            (14, 0x4056ad1600000000, "90.704467773438"),
            (9, 0xc33eb876280b9e72, "-8.64706692e+15"),
            (4, 0x301d140c2d042c67, "6.278e-77"),
            (14, 0xc07379e00d1b7176, "-311.6172"),
            (14, 0xfc44239792fa8da0, "-3.9252237341651e+290"),
            (14, 0x517414166c8cc31e, "2.4378633476238e+84"),
            (14, 0x31709f8f28a07b08, "1.5053507242153e-70"),
            (2, 0x408616b851eb851f, "7.1e+02"),
            (14, 0xc0801c569878316a, "-515.542283"),
            (10, 0x40e952a000000000, "51861"),
            (7, 0x411576fb7fd144fc, "351678.9"),
            (14, 0xc08343633eff1950, "-616.42346"),
            (10, 0x433b635a5b4961c9, "7.709064101e+15"),
            (14, 0xc0c61ea000000000, "-11325.25"),
            (14, 0xc12b836400000000, "-901554"),
            (10, 0x3e9a9d86239f9776, "3.965992935e-07"),
            (10, 0x3fe4c8d400000000, "0.649515152"),
            (3, 0xf9e39a55feae766e, "-1.39e+279"),
            (4, 0x4051d65800000000, "71.35"),
            (3, 0x58edc95a3520d3fe, "2.4e+120"),
            (14, 0x4089fadf3b645a1d, "831.359"),
            (14, 0xbe967a12e467fdd4, "-3.3493117648772e-07"),
            (1, 0xbfdd67a000000000, "-0.5"),
            (8, 0x865151484f593bb1, "-3.052878e-278"),
            (6, 0xa9eaf60db45d40c7, "-9.18396e-107"),
            (11, 0xc1220e1fda33e2c8, "-591631.92618"),
            (8, 0xc340114c0cef0b10, "-9.0452359e+15"),
            (6, 0xfcc427ad38e8ad48, "-1.00565e+293"),
            (2, 0x6d5f5e301f486894, "6.9e+218"),
            (9, 0x89533236d8551413, "-9.52528388e-264"),
            (2, 0xc031a2a000000000, "-18"),
            (10, 0xc08b326666666666, "-870.3"),
            (14, 0xc05d966800000000, "-118.35009765625"),
            (2, 0xc121e3242ae69d34, "-5.9e+05"),
            (14, 0xdab04cbf92c17ec9, "-7.0615556910928e+128"),
            (10, 0xc0f254c800000000, "-75084.5"),
            (10, 0xa4eacb757776657a, "-7.549910179e-131"),
            (9, 0x88b430954633ac6d, "-9.78352566e-267"),
            (14, 0x4014f03218a1f6e5, "5.2345661019187"),
            (14, 0xc1aa957aab3794a5, "-223001941.60856"),
            (9, 0x7a7214b82f8f24fb, "6.56412518e+281"),
            (14, 0xc09fd04800000000, "-2036.0703125"),
            (10, 0xbf44ca2679b22aaa, "-0.0006344497555"),
            (13, 0xc10b388000000000, "-222992"),
            (5, 0x3d0188783aab5208, "7.7863e-15"),
            (7, 0xd443374756c0700c, "-8.208996e+97"),
            (7, 0x410438a7c6992678, "165653"),
            (9, 0x8192507b7a718fe3, "-4.2730371e-301"),
            (14, 0x408aec999999999a, "861.575"),
            (12, 0xc08d31aab9b23dd5, "-934.208362"),
            (12, 0x4066e89800000000, "183.268554688"),
            (14, 0xe45d2081a9b56269, "-2.8815949143628e+175"),
            (14, 0xc31eb4b4141f7258, "-2.1607337065095e+15"),
            (5, 0x430364f3c123bfd0, "6.8238e+14"),
            (7, 0x43405004bef9dd8a, "9.183162e+15"),
            (12, 0x66cdfcbfb1cfc16d, "1.63096518107e+187"),
            (5, 0xbffc38d600000000, "-1.7639"),
            (13, 0x4036412400000000, "22.25445556641"),
            (11, 0xc060beae00000000, "-133.95874023"),
            (14, 0xc085c5bd701d9f4d, "-696.717499"),
            (1, 0xe8542f9565f3d96f, "-4e+194"),
            (14, 0x0d85a01288dc5f51, "1.5835628778498e-243"),
            (14, 0xe018342870cc7f0b, "-8.1129781231518e+154"),
            (11, 0x9a870d39a4c8eac5, "-6.9440819176e-181"),
            (5, 0xc32a5843908c4efa, "-3.7077e+15"),
            (14, 0x433e3465d8b792ad, "8.5018613335702e+15"),
            (4, 0x04125e5ac3cafdc1, "4.712e-289"),
            (7, 0x3ab44a3d9717811b, "6.556053e-26"),
            (6, 0xc082235c28f5c28f, "-580.42"),
            (10, 0xc1298f7813e0d9cc, "-837564.0388"),
        ];
        for &(p, bits, want) in cases {
            assert_eq!(format_g(f64::from_bits(bits), p), want, "%.{p}g of {bits:#018x}");
        }
    }

    /// The shortest-digits fast path of `format_g_into` prints what the exact digits print.
    #[test]
    fn format_g_fast_path_is_exact() {
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let (mut fast, mut exact, mut scratch) = (Vec::new(), Vec::new(), String::new());
        for n in 0..400_000u32 {
            let r = next();
            let x = match n % 4 {
                0 => f64::from_bits(r),
                // Short decimals, integers and halves, near powers of ten.
                1 => (r % 2_000_001) as f64 / 1000.0 - 1000.0,
                2 => (r % 1_000_000_007) as f64 * 0.5 * 10f64.powi((r >> 40) as i32 % 40 - 20),
                _ => 10f64.powi((r % 600) as i32 - 300) * (1.0 + ((r >> 32) % 3) as f64 * f64::EPSILON),
            };
            for p in [1, 2, 6, 13, 14] {
                if n < 8 {
                    // Values whose rounded digits end in zeros, in fixed and exponent form.
                    let x = [1000.000000000001, 99999999999999.9, 0.000123, 1.5e-5, 123456.7e10, 1e21, 1e-300, 5e-324]
                        [n as usize];
                    fast.clear();
                    exact.clear();
                    format_g_digits(&mut fast, &mut scratch, x, p, true);
                    format_g_digits(&mut exact, &mut scratch, x, p, false);
                    assert_eq!(fast, exact, "%.{p}g of {x:e}");
                }
                fast.clear();
                exact.clear();
                format_g_digits(&mut fast, &mut scratch, x, p, true);
                format_g_digits(&mut exact, &mut scratch, x, p, false);
                assert_eq!(fast, exact, "%.{p}g of {:#018x}", x.to_bits());
            }
        }
    }

    /// glibc strtod: (input, characters consumed, bits of the result; NaN compared by sign).
    #[test]
    fn strtod_matches_glibc() {
        let cases: &[(&[u8], usize, u64)] = &[
            (b"+4.717042536339688997583655879261958243365347392376035396574901e-704", 68, 0x0000000000000000),
            (b"8157277632.45904", 16, 0x41fe6362dc07583a),
            (b"+82231164050277195.376122627948744737389595834698490599011652548651671720928935E6442277502061017132197", 102, 0x7ff0000000000000),
            (b"0xD4E456adeB1Efcf.p+1", 21, 0x43ba9c8ad5bd63e0),
            (b"-80676.56993E-5928", 18, 0x8000000000000000),
            (b"-3238870041874981682390558916475084747604762079130629398697574073625735588947074705945948617740818494768531913272715745847368034308743720213055690230411623481669806003360640042969701170528952266797366811566930347874211627961435198852024443399133319402530205873340977689334055914088726240364242288878696885354093219984984479738317303715561783226203359393481890568029719064884986773726382698567058418617e7451068852095270885486x", 424, 0xfff0000000000000),
            (b"+61062165624024702.1E-88", 24, 0x312593d7256cd99d),
            (b"-1068817990024905241599192884931858485020095630443896945925060906577852785948817239955761052435538465106703779009788874803640046848523848683541384661034895676132940069043316015928789930266252008890406124819514100101783926806166737322260797009889751417082195749128469892231027054716714628803758888891925739967749603317184018542913614604208110972567481138295148984629008340291612251120248095580094867600e", 401, 0xfff0000000000000),
            (b"-1.7710719265542101805412907e-12", 32, 0xbd7f2832e90b6024),
            (b"+0xd6fbe6CE6545c509.98f0e4c375bc4db26952", 40, 0x43eadf7cd9cca8b9),
            (b"3.547230651800591e-206", 22, 0x1546c6e93965be4b),
            (b"-685583612403593610813973772392.-", 32, 0xc6214e7af1e6d7f8),
            (b"8.616086895150302e+249", 22, 0x73d3412aff9f6409),
            (b"4.1304581354569013e+.", 18, 0x40108596d145235c),
            (b"+0x4A93890a8De1D1P+1080p", 23, 0x7ff0000000000000),
            (b"+37e7142", 8, 0x7ff0000000000000),
            (b"9.576939056877043e-71", 21, 0x316526b73a34c6ce),
            (b"5.e+4215", 8, 0x7ff0000000000000),
            (b"-77677.90661E8490009223453883213790", 35, 0xfff0000000000000),
            (b"+49036639151678247.e9", 21, 0x454447f4c47a4927),
            (b"6E+46", 5, 0x49a504fc713f26d5),
            (b"+0X60F4a913.6cc", 15, 0x41d83d2a44db3000),
            (b"-37376883039025526.9", 20, 0xc3609942778b472f),
            (b"0Xc", 3, 0x4028000000000000),
            (b"24", 2, 0x4038000000000000),
            (b"-e+", 0, 0x0000000000000000),
            (b"2.3280435086737528e+24449999999999999999999", 43, 0x7ff0000000000000),
            (b"7.186345985017618e+7050000000000000000001", 41, 0x7ff0000000000000),
            (b"+Infinity", 9, 0x7ff0000000000000),
            (b"0x.709g", 6, 0x3fdc240000000000),
            (b"infinity", 8, 0x7ff0000000000000),
            (b"-768E+3", 7, 0xc127700000000000),
            (b"-4200987403072865739172699041234597178659417369434376028881874002526788819058110916764989094290635638556085079587057042262203759555500936222330642088779651036910239058767737866551783700008083342499093584854432432599921975459562323677517021321650217229519795693781713759474513530520016938701637125071466151403230325710938737248097885862018515954696963846797483594245649442978246622686031578142471343974.98", 404, 0xfff0000000000000),
            (b"-60x1", 3, 0xc04e000000000000),
            (b"+4333418607405458314607860285031663649598188157648594609747821743513119895243598045652813760309352144103039151215314678437235741009939593494405785459272917444759759727084708983976460412561911732537862812818019190532098520322527082618526310360584022716533292265199586496744773918202423790285612352710421622421208241378923773997246950094995967091165886144564199218473836650806551639602507599041725862241e-x", 401, 0x7ff0000000000000),
            (b"+5.156712137780272814727511815697062945166681560669040680177761", 63, 0x4014a079258a9c2e),
            (b"-1e1401E+", 7, 0xfff0000000000000),
            (b"1.2645988424770597e+9849999999999999999999", 42, 0x7ff0000000000000),
            (b"+0X.ep+99999", 12, 0x7ff0000000000000),
            (b"-0x.fcdcadcec8aaa67f06aa", 24, 0xbfef9b95b9d91555),
            (b"-0xbAA19F65Fcc9863p+1022", 24, 0xfff0000000000000),
            (b"9861371587.99E+80", 17, 0x529efb8f205c9867),
            (b"+0x399F29c4bfD133A", 18, 0x438ccf94e25fe89a),
            (b"+0x8513ecfa34f10.8cb8f85ed7c905b32b8d.", 37, 0x4320a27d9f469e21),
            (b"-0205743239399215129670197754637851399347124356581453229766632518995492894495361253455498282276069568690883244400688420604970011318249943826898480445118466477718636565687311644991727418639302562375298682081576761954007185311988834348832595556834614200917579920532509199725573542205188693877994989996382670576280791329389377968931172501915231315542030367855202015150662832932910792310075058998698365129.e-9176203745184215289209z", 426, 0x8000000000000000),
            (b"-0xCEp+444", 10, 0xdc29c00000000000),
            (b"0832455868.898722934369269512507291128806670189448466275024470270820265E-7-", 74, 0x4054cfb7b21314fc),
            (b"987e663.", 7, 0x7ff0000000000000),
            (b"+.1872287910233993650393394e-622", 32, 0x0000000000000000),
            (b"+0xD5Dd9de2AC5A8fP53", 20, 0x46babbb3bc558b52),
            (b"-0XFD890B0eF57eDb501A15.fp1", 27, 0xc4ffb12161deafdb),
            (b"3.6220469154463605e-21049999999999999999999", 43, 0x0000000000000000),
            (b"-9795973564", 11, 0xc2023f158de00000),
            (b"9.33254646279502e-3050000000000000000001", 40, 0x0000000000000000),
            (b"+1", 2, 0x3ff0000000000000),
            (b"1.4722438184858184e-0349999999999999999999", 42, 0x0000000000000000),
            (b"+0xC2621bdD2EAF9.", 17, 0x43284c437ba5d5f2),
            (b"-9384635186205192525697791693651376668077957025486100778909242949742671611904594833352504171886183219243107162744141679965702295395197133716896201539461942970554527075676955795344300817677648041740175761818607007582510487282345544552835077495641085901584520116050817695223890834252391532910466410928212225903717627182390398139432466578497427456932505831332058605774260068244877789279233743206680811560.113151024075486841017659148788481535849927506076890232399266e15p1", 465, 0xfff0000000000000),
            (b"+0x8e5d0134caa99BeP1024p+", 23, 0x7ff0000000000000),
            (b"-9.83432e-988p1", 13, 0x8000000000000000),
            (b"1.7295177795654677e+2025", 24, 0x7ff0000000000000),
            (b"-95.581221414523812976320675299796440840072720708374502060401200e46", 67, 0xc9e4ed8343adf93e),
            (b"600670347638835243520372076256.10596E9839806965965562234828", 59, 0x7ff0000000000000),
            (b"5.407105727128323e-855", 22, 0x0000000000000000),
            (b"17472178074894159e-82", 21, 0x32478d6d53ccebd4),
            (b"0xE8C5dE937A0AdA1.8c7d7ebd0c0c4b67268fP+99999", 45, 0x7ff0000000000000),
            (b"-0XFf2fC00A5Df09B2aP+52", 23, 0xc72fe5f8014bbe13),
            (b"0Xd9CbFBa9d5CeF8b3b298FDEF3aB75240F7044abE", 42, 0x49eb397f753ab9df),
            (b"+0xbf9FDB4deF29BB66P10", 22, 0x4487f3fb69bde537),
            (b"889842596557347718159650981221.58", 33, 0x462676791693c30a),
            (b"0xCa5B3295A9d0A.7", 17, 0x43294b6652b53a15),
            (b"-0Xp+1022", 2, 0x8000000000000000),
            (b"50.7848029118283285812951092", 28, 0x404964746bfc0ddb),
            (b"-inf", 4, 0xfff0000000000000),
            (b"-26373795128373064.2621141639695970e0007", 40, 0xc4cbeca1a9927ff5),
            (b"4.52730", 7, 0x40121bf487fcb924),
            (b"-0xCaaf69b977aed.P-0", 20, 0xc32955ed372ef5da),
            (b"+0138342696313890957908915089600442200607894069493094326429556123228521678884684465338259722527526300141633863326801963208883471773951008117442396901698237652459283949967563161198380590223003446337682933554375120680407551914129895245901417233192431955814391548163649930542545394718006087254499870104088930524069956045921320590094500462471040636336164523043706209579080764082078627629676007183546419337e-081", 406, 0x7ff0000000000000),
            (b"+0555008837", 11, 0x41c08a61a2800000),
            (b"0XP+1023", 1, 0x0000000000000000),
            (b"+6e+3130", 8, 0x7ff0000000000000),
            (b"-901294407945755556454972197270E+9415", 37, 0xfff0000000000000),
            (b"0XFP0", 5, 0x402e000000000000),
            (b"2.031687898757063e+1285", 23, 0x7ff0000000000000),
            (b"-0xEP+99999x", 11, 0xfff0000000000000),
            (b"+6E-", 2, 0x4018000000000000),
            (b"+0X.55cp1024", 12, 0x7fd5700000000000),
            (b"-362907343449666738015837102791.98E+0520897529761498363061", 58, 0xfff0000000000000),
            (b"+INF", 4, 0x7ff0000000000000),
            (b"-6163888237305678782058334368689866357456473862553196672243633782751267777948004944298542450814041395545911301357204966014126914014046989184017063975040450621178289362929738175729907289055627786387962735119467957046498817657816839146506339783305787845468192547677914477695165447211723259182921051403468963300937614964627293415370885179184146967254006317727097419448581498369969108234795173298855328194", 401, 0xfff0000000000000),
            (b"1.8334978399214527e-2075", 24, 0x0000000000000000),
            (b"-87E7111603898699354032299", 26, 0xfff0000000000000),
            (b"-16672413861251953529E3", 23, 0xc48c3e81c64497ec),
            (b"2.1679123076657265e-0049999999999999999999", 42, 0x0000000000000000),
            (b"-0X4094AaDF1aE5DdbdEb39.bp-4p", 28, 0xc490252ab7c6b977),
            (b"-0Xb74EFe4DCC4AEEDg", 18, 0xc3a6e9dfc9b9895e),
            (b"74962001970573056572e+79", 24, 0x5475ef2a5204f5cb),
            (b"1.549649647881484e+9750000000000000000001", 41, 0x7ff0000000000000),
            (b"+infinit", 4, 0x7ff0000000000000),
            (b"+9.41E0965698059157562877586", 28, 0x7ff0000000000000),
            (b"+0X8D", 5, 0x4061a00000000000),
            (b"-0x", 2, 0x8000000000000000),
            (b"0X5b7cbEC27C80FC8.", 18, 0x4396df2fb09f203f),
            (b"3.817551234099827e+17550000000000000000001", 42, 0x7ff0000000000000),
            (b"+0190167269662049477624288226128906388766266489865176580320353363083023946417259505219042442422918874434604125253703115621350801227314891026540186283847071708435523264051297823850448605779360865410746725653804331082414076786848232755851929225893765541676067118040468578519491551763355023597268851095296284143124235924230075507826496904499699050214683800376159821075473663700092036114091842259461710110.147855620252731384997029829975736350134599493333728789177495", 462, 0x7ff0000000000000),
            (b"0xBdeDf4382FBD48E97.677P1075g", 28, 0x7ff0000000000000),
            (b"+0xEa7B45bCE63F1E1p+99999g", 25, 0x7ff0000000000000),
            (b"-9.8769886749690707", 19, 0xc023c104a8dbe8b8),
            (b"+28727.e-73", 11, 0x31b3d39f1ec08594),
            (b"0xd9.", 5, 0x406b200000000000),
            (b"+.64358E+8607e", 13, 0x7ff0000000000000),
            (b"-0x2994Efb089Ffe.", 17, 0xc304ca77d844fff0),
            (b"-INF", 4, 0xfff0000000000000),
            (b"-27463.e+7344818089116838342438", 31, 0xfff0000000000000),
            (b"5.876215998018371e-17949999999999999999999", 42, 0x0000000000000000),
            (b"-0655037319017049304398724009615915298008982335817234143775709082050656837966868813776532157137998627517095109084451001570419155267872380841358652714952656591002425551921019387345634729588508466703003017660247309242000771676233806756560343527893991672746228029126713892463862214359594826866254119631031905885766336255901814652038831278379765879436001444838281829890816767794211745872732616827771795820.034625849979549295661366668485213126343426034071101029969568E-20", 466, 0xfff0000000000000),
            (b"-25773.0846948384132260549484993E-E+", 32, 0xc0d92b456ba3e648),
            (b"6.493170581275575e-8150000000000000000001", 41, 0x0000000000000000),
            (b"+0xbA05852d159D3d.4P10220", 25, 0x7ff0000000000000),
            (b"0X.p-1076", 1, 0x0000000000000000),
            (b"4.5739389534753393e-13750000000000000000001", 43, 0x0000000000000000),
            (b"0Xa2.df6p+0", 11, 0x40645bec00000000),
            (b"-8.69e-98p1", 9, 0xabc7c24e8b7585e7),
            (b"+0X5C3aAFd13dC037Ce9p1076", 25, 0x7ff0000000000000),
            (b"-4E9455p1", 7, 0xfff0000000000000),
            (b"-338E56", 7, 0xcc1589e1dccdf169),
            (b"54076792600201246430.", 21, 0x440773bae2debbbe),
            (b"+0XCEa0fADEBc90bbF.6P+348", 25, 0x5969d41f5bd79217),
            (b"-0X.4P+4", 8, 0xc010000000000000),
            (b"0x.3P1076", 9, 0x7ff0000000000000),
            (b"-55328E2724674989563328086791", 29, 0xfff0000000000000),
            (b"355.3999142784336789", 20, 0x407636660c83b138),
            (b"9.98093868644341e+1715", 22, 0x7ff0000000000000),
            (b"+2E-3515", 8, 0x0000000000000000),
            (b"+0xde1aA1BCCeFB4.713", 20, 0x432bc3543799df69),
            (b"3.316126539236029e-30350000000000000000001", 42, 0x0000000000000000),
            (b"-1643485994015983415396597111168610316100865829130878647903553240734021891422763320691702909669190098531838270530102701589951875911183711301171135134618103014641484579779656193330516257086321629526145647209064530078367451515476793389340500965289712030575533108671153716780295361811227455163205923436076958578344913395031232178418012361066319135031936132645406420070008285598890456694121834689288943608", 401, 0xfff0000000000000),
            (b"+18.17363", 9, 0x40322c7304039abf),
            (b"+0X32CF3C107C67Eff.d1fca5adb14c2", 32, 0x4389679e083e33f8),
            (b"-03.08779e-x", 9, 0xc008b3cb3e5753a4),
            (b"4", 1, 0x4010000000000000),
            (b"+3.E3529355382557692479314", 26, 0x7ff0000000000000),
            (b"+.998805500378388582145365240827041658236502355829496535208202E1447", 67, 0x7ff0000000000000),
            (b"-.1828995221368861876449464.", 27, 0xbfc7694065041713),
            (b"-0XAeD559c1", 11, 0xc1e5daab38200000),
            (b"+0X00F9Bb2aC67e3eAdA2ce5d52BBE7e0e04BBFdeb7.0P1075", 50, 0x7ff0000000000000),
            (b"+0x9387396CD5D80.d63ded2cbc8182de7db7p-1022", 43, 0x034270e72d9abb02),
            (b"+0X6AdF17d3p+53", 15, 0x452ab7c5f4c00000),
            (b"-3103274159226933803828467113389056689227070612340244810555007981124733955277797546459646071758235044903169520407285644156649943446501809107200398190457158907697729963403457254873602765172671341338930964201198272474679380760433300127989466764372927064287874648815109800935027741253955213090901411705018390263479054468668021821379846716845899403242199103776671693472993582374524907159087831591447643459e4561688822360017134463z", 424, 0xfff0000000000000),
            (b"-4191997108137343412023358213614888600721844262816280634416096637470218451144723988422576439214965844536633040352978443150104745936432723566539320167956558975282634667252817329513011677830656825447387949787621606179192430971924709568454807046146374040058474786435419528440835281601253292621937688590699972375305508453929443790489837900335179629516342645667858617173948908291518627174773161741101269862.15E+", 404, 0xfff0000000000000),
            (b"-74985582527825040e5724413451214629109178-", 41, 0xfff0000000000000),
            (b"+.1254190675080724e+8537171310427952331234", 42, 0x7ff0000000000000),
            (b"0x5ea18486fEE1F9096A8dd810edB3Eccf383ba39E", 42, 0x49d7a86121bfb87e),
            (b"-nan(abc)", 9, 0xfff8000000000000),
            (b"9.723569183359014e+1655", 23, 0x7ff0000000000000),
            (b"+0XP10220", 2, 0x0000000000000000),
            (b"-0xbb.", 6, 0xc067600000000000),
            (b"+3.2825707037884789", 19, 0x400a42b46ddca23e),
            (b"-0X752e9BE371DfFb", 17, 0xc35d4ba6f8dc77ff),
            (b"-.6252226302064292862819779E+1p1", 30, 0xc01902479c9a3a87),
            (b"-5.7", 4, 0xc016cccccccccccd),
            (b"98", 2, 0x4058800000000000),
            (b"-1168503764", 11, 0xc1d1697cf5000000),
            (b"-8.7868270835941108749736107e-4", 31, 0xbf4ccaecbf7bc2bc),
            (b"-6.562358423380790997531944031436230683268607657312678440140654", 63, 0xc01a3fdae2f433d5),
            (b"0xFadFBFD8AD96bFFEc781.278P-999990", 34, 0x0000000000000000),
            (b"-14250184382405717e", 18, 0xc349503bcd0c6e2a),
            (b"0", 1, 0x0000000000000000),
            (b"+0x.ea10fc117d092P1074", 22, 0x7ff0000000000000),
            (b"1.1889051194609622e+182", 23, 0x65bca6d33b80a0ea),
            (b"-1.9244757029168808142050853e+0222", 34, 0xee154bbede78e17b),
            (b"-62.026277676306844093884175457184753117715378678601248525058374E+949", 69, 0xfff0000000000000),
            (b"4.3744826467501184e-26150000000000000000001", 43, 0x0000000000000000),
            (b"+0x0F5F597c8dD3db3Ec.", 21, 0x43eebeb2f91ba7b6),
            (b"0x2A7031fAf02C65DP+1075", 23, 0x7ff0000000000000),
            (b"+0XcBCC7e1AE13F3p-1024", 22, 0x0329798fc35c27e6),
            (b"72592402921345048434.7867598071890441622370431", 46, 0x440f7b602ec47667),
            (b"-70468133031744588955.53", 24, 0xc40e8f88cd16f0da),
            (b"2.353345063403023e-25250000000000000000001", 42, 0x0000000000000000),
            (b"+0xB4Bd24aF6AeF0dP53.", 20, 0x46b697a495ed5de2),
            (b"-80301601250359228.5842619539207292", 35, 0xc371d49e1816c37c),
            (b"-nAn(x", 4, 0xfff8000000000000),
            (b"3.210916033768398e-28949999999999999999999", 42, 0x0000000000000000),
            (b"-23148696196427706743e+", 21, 0xc3f4140b08b29827),
            (b"-4859110370589593954326588597343047389200523005325723126484238241701436008185344910433753329330784570340061440442989720032289260322059194400092826534235738797417054152547261550954179603569557313012431090780185712982315388964783997636208205240075400868928862419384290391839690335855142725050817178814572753221587321496325734021926099742676660210542650013119866049888174835222344282594018620131450255152", 401, 0xfff0000000000000),
            (b"-43404873136075408.4e-3e", 23, 0xc2c3bcfe05bbe5b4),
            (b"-960.9430346514464610", 21, 0xc08e078b55c057a9),
            (b"6.353462821222414e-22849999999999999999999", 42, 0x0000000000000000),
            (b"+8388645763z", 11, 0x41ff400938300000),
            (b"+infinity", 9, 0x7ff0000000000000),
            (b"+0Xb154a281A26eD0.5a67d9e823225e892885p", 38, 0x43662a9450344dda),
            (b"+0xc6ca942fDdCFBdFf628f4CdaaBb979A4Bff5D163", 43, 0x49e8d95285fbb9f8),
            (b"-2919623165.5798866659311260944625417", 37, 0xc1e5c0bd3fb28e6e),
            (b"+8458795728.", 12, 0x41ff82efad000000),
            (b"-6913004377083099069661902294587703556814920002887554796936009027509631553817017224229239849643825955540507822679892198999430367482355349403791161659792135144609521087070914099857330509536988563513265087570696789042196710252033754294965129587864017509529491775917070788264671607181613796112329310243142592137397948097849534542801139078369932576989295565075068274140084253267639984906631172716274350284E--", 401, 0xfff0000000000000),
            (b"+0x18.P-1024", 12, 0x0038000000000000),
            (b"+0X.2p+1076", 11, 0x7ff0000000000000),
            (b"-0.722368899604219173875899156829395442353472786161147630048568e+8", 66, 0xc19138fd67d778d8),
            (b"-46371748629652134203.E+6x", 25, 0xc5432dccc3e13b55),
            (b"+0xa5Ce3C62e5a2B", 16, 0x4324b9c78c5cb456),
            (b"-08226-", 6, 0xc0c0110000000000),
            (b"-6114119928628987972014705935733284620588930844179705487199785801330035296477116988334746561803194316513749630500390105942100831474593144734744287297697477339855153751560906527080411540849289181143984985363372091804516307460012061100044081849487178823932514712217096255767642886919204458871525424485209033424781837730907165209516320382292933026283908912796292028787300936172530584421004847093193255830E", 401, 0xfff0000000000000),
            (b"0X.cde834911fcee45d9475P-0", 26, 0x3fe9bd069223f9dd),
            (b"-E-8814", 0, 0x0000000000000000),
            (b"0X1DEE5b9Cb5c58C.a2bp-1023p+", 26, 0x034dee5b9cb5c58d),
            (b"1.584755126601398e-2455", 23, 0x0000000000000000),
            (b"+17982", 6, 0x40d18f8000000000),
            (b"-2E+", 2, 0xc000000000000000),
            (b"-7.737367818286133203689966719840622469495934320894188990258676E506", 67, 0xfff0000000000000),
            (b"975747117528851042399098185540e-1", 33, 0x45f3b47e8eb1b32f),
            (b"-5e-", 2, 0xc014000000000000),
            (b"0x11eA2fdBaeCedg", 15, 0x42f1ea2fdbaeced0),
            (b"4.4566472404933444e+21649999999999999999999", 43, 0x7ff0000000000000),
            (b"+.8E+6101", 9, 0x7ff0000000000000),
            (b"+0Xp+1023", 2, 0x0000000000000000),
            (b"0XF7E418c8b819158", 17, 0x43aefc8319170323),
            (b"-63.58e-6120", 12, 0x8000000000000000),
            (b"5738100179.", 11, 0x41f560475d300000),
            (b"1.0520424932564575e+4050000000000000000001", 42, 0x7ff0000000000000),
            (b"+9.2e9", 6, 0x420122e6e0000000),
            (b"5.222298098280321e-25850000000000000000001", 42, 0x0000000000000000),
            (b"2310551685607236647763461155813314142332879547602609035073649713502440610251715407182159128322488424452422713720458408699872879532438248020216914378106204385794798959625889407522942837230035754188755963435086684574443782677783677660028620092838221718481012932065557969831274915782468007469067293447569675037061202354321021326879676085237432789280372499242167768573256304752301304917909771242031666764.69490e0923E+", 411, 0x7ff0000000000000),
            (b"90.e", 3, 0x4056800000000000),
            (b"+0XA05a58FFAb845B79cAfD46DEFA2e01EeD06Bd00B", 43, 0x49e40b4b1ff5708b),
            (b"+291e39", 7, 0x488ab9608b0da83f),
            (b"-0xBe1f17CC3fEefDF", 18, 0xc3a7c3e2f987fde0),
            (b"19272511932276476e-750", 22, 0x0000000000000000),
            (b"57457216081814650117.41043e+6434033794718724034892", 50, 0x7ff0000000000000),
            (b"0x0E44f6D9A8e5AF7.P0", 20, 0x436c89edb351cb5f),
            (b"6.235979407525963e-28450000000000000000001", 42, 0x0000000000000000),
            (b"+52613213357243748056.034423562270109228949065654407275686762650232759438207095634", 82, 0x4406d13d765552ce),
            (b"5.19475448861898e+20750000000000000000001", 41, 0x7ff0000000000000),
            (b"-3.E+50", 7, 0xca69a896283d96e6),
            (b"+0Xe8b8C497173C5DP-1024", 23, 0x036d171892e2e78c),
            (b"-2260x1", 5, 0xc0a1a80000000000),
            (b"0Xd1.0a01dd85adf3add93206p52", 28, 0x43aa21403bb0b5be),
            (b"-7689901439903255254028873525441732484760615827952270027975567357798030103113711120241373204909469795932046856018889999132075798633726696373219038530017191785345616608463958749123717362475318553808448623839181440665702871136420345751562713081259314037100722798130023094319664469958199921363491244742356407002794537403609535767924233826263054584680845095024535968985188859787196386348622916965832305712", 401, 0xfff0000000000000),
            (b"0x89bDCC9aCC7837EC.008p-4", 25, 0x43a137b993598f07),
            (b"0x5070e8e30dF738", 16, 0x43541c3a38c37dce),
            (b"1.1682824989701551e-7949999999999999999999", 42, 0x0000000000000000),
            (b"+6", 2, 0x4018000000000000),
            (b"+0x5aFe322db15A3p+1023", 22, 0x7ff0000000000000),
            (b"nan(abc)", 8, 0x7ff8000000000000),
            (b"4.565115260612802e-3035", 23, 0x0000000000000000),
            (b"-76623921941427154.2786426577388381", 35, 0xc3710390d109db3d),
            (b"+332e", 4, 0x4074c00000000000),
            (b"5.593249145169369e+5249999999999999999999", 41, 0x7ff0000000000000),
            (b"779313681756021514650355522913.43359", 36, 0x4623ac325658c16c),
            (b"-0xe1285de02F0C52Ap10750", 24, 0xfff0000000000000),
            (b"4.57480157811804e-1049999999999999999999", 40, 0x0000000000000000),
        ];
        for &(input, consumed, bits) in cases {
            let p = Parser { data: input, pos: 0, raw: None, tmp: Vec::new(), invalid_numbers: true };
            let got = p.strtod(0);
            let want = f64::from_bits(bits);
            match got {
                None => assert_eq!(consumed, 0, "{:?}", String::from_utf8_lossy(input)),
                Some((v, end)) => {
                    assert_eq!(end, consumed, "{:?}", String::from_utf8_lossy(input));
                    if want.is_nan() {
                        assert!(v.is_nan() && v.is_sign_negative() == want.is_sign_negative());
                    } else {
                        assert_eq!(v.to_bits(), bits, "{:?}", String::from_utf8_lossy(input));
                    }
                }
            }
        }
    }

    /// CVE-2022-24834 scaled check (security-anchors 2.5): lengths are exact, nothing overflows.
    #[test]
    fn escaped_length_is_exact() {
        let lua = vm();
        let n: i64 = lua.load("return #cjson.encode(string.rep('\\0', 2^24))").eval().expect("encode");
        assert_eq!(n, 100_663_298);
    }

    /// Deep and wide inputs stay within mlua's reference slots (a panic would fail the test).
    /// Expected value from the server.
    #[test]
    fn bounded_references() {
        let lua = vm();
        let script = r#"
            local c = cjson.new() c.encode_max_depth(100000) c.decode_max_depth(100000)
            local t = {} local cur = t
            for i = 1, 3990 do cur.a = {i, {}} cur.b = 'x' cur = cur.a end
            local s = c.encode(t)
            local back = c.decode(s)
            local w = {} for i = 1, 30000 do w['k' .. i] = {i} end
            local s2 = c.encode(w)
            local n = 0 for _ in pairs(c.decode(s2)) do n = n + 1 end
            return #s .. ',' .. tostring(c.encode(back) == s) .. ',' .. n
        "#;
        let r: String = lua.load(script).eval().expect("run");
        assert_eq!(r, "118586,false,30000");
    }

    /// Each `open()` / `new()` has its own settings; they persist between calls (value from the
    /// server).
    #[test]
    fn settings_are_per_instance() {
        let lua = vm();
        let script = r#"
            local a, b = cjson.new(), cjson.new()
            a.encode_number_precision(3) a.encode_sparse_array(true) a.encode_invalid_numbers('null')
            local r = {a.encode({math.pi, [100] = 1}), b.encode(math.pi), a.encode(0/0)}
            local ok = pcall(b.encode, 0/0)
            r[#r + 1] = tostring(ok)
            r[#r + 1] = tostring(a.encode_invalid_numbers()) .. tostring(b.encode_invalid_numbers())
            return table.concat(r, '|')
        "#;
        let r: String = lua.load(script).eval().expect("run");
        assert_eq!(r, "{\"1\":3.14,\"100\":1}|3.1415926535898|null|false|nullfalse");
    }

    #[test]
    fn binary_rounding() {
        assert_eq!(compose_binary(1, -1074, false).to_bits(), 1);
        assert_eq!(compose_binary(1, -1075, false).to_bits(), 0);
        assert_eq!(compose_binary(1, -1075, true).to_bits(), 1);
        assert_eq!(compose_binary(3, -1075, false).to_bits(), 2);
        assert_eq!(compose_binary(1, 1024, false), f64::INFINITY);
        assert_eq!(compose_binary((1 << 53) - 1, 971, false), f64::MAX);
        assert_eq!(compose_binary(u64::MAX, 0, false), 18446744073709551616.0);
        assert_eq!(compose_binary(u64::MAX, i64::MIN, true), 0.0);
        assert_eq!(compose_binary(u64::MAX, i64::MAX, true), f64::INFINITY);
    }
}
