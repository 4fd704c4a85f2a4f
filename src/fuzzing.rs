//! Entry points for the in-process fuzz targets (`fuzz/`, cargo-fuzz + libFuzzer), one per
//! decoder of untrusted bytes, built only with the `fuzzing` feature. Each runs the decoder
//! as the module runs it, but without a Redis server: the Lua libraries in a fresh Lua VM with
//! the libraries registered as the script VMs register them, the payload and shebang parsers
//! as plain functions. A decoder may refuse any input with an error; what must never happen is
//! a panic, a memory error in the sense of ASan, or a broken invariant, which these functions
//! turn into a panic (a libFuzzer finding):
//!
//! - `cjson.decode`: whatever decodes and encodes again decodes to the same values, and a
//!   second round trip is exact (numbers are printed with 14 digits, so only from the second
//!   round on are they stable);
//! - `cmsgpack.unpack`: values packed again unpack to the same values (tables nested deeper
//!   than the packer's 16 levels excepted: those become nil, as natively), and a second round
//!   trip is exact; `unpack_one` walks the same values as `unpack`;
//! - `struct.unpack`: packing the unpacked values with the same format and unpacking that
//!   again gives the same bytes once more, and the bytes consumed are `struct.size` of a
//!   format that has one;
//! - FUNCTION RESTORE payloads: the libraries read from a payload, dumped again (plain and
//!   LZF), read back the same; the library headers parse or fail without panicking;
//! - shebang lines: arguments split by `sdssplitargs` and quoted again split the same, and
//!   parsed flags written back parse to the same flags.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use mlua::{Function, Lua, LuaOptions, MultiValue, StdLib, Table, Value};

use crate::lua::libs;
use crate::{function_dump, shebang};

/// Cap on a fuzzed VM's memory: far above what any decoder needs for the inputs libFuzzer
/// makes (4 KB by default), far below libFuzzer's RSS limit. Hitting it is a refusal, not a
/// finding.
const VM_MEMORY_LIMIT: usize = 256 << 20;

/// A fresh VM with the bundled libraries as globals (as `LuaVm::new` registers them), and the
/// library table named `lib`.
fn vm(lib: &str) -> (Lua, Table) {
    let lua = Lua::new_with(StdLib::TABLE | StdLib::STRING | StdLib::MATH, LuaOptions::default()).expect("Lua VM");
    lua.set_memory_limit(VM_MEMORY_LIMIT).expect("memory limit");
    let globals = lua.globals();
    globals.raw_set("bit", libs::bit::open(&lua).expect("bit")).expect("set bit");
    globals.raw_set("cjson", libs::cjson::open(&lua).expect("cjson")).expect("set cjson");
    globals.raw_set("cmsgpack", libs::cmsgpack::open(&lua).expect("cmsgpack")).expect("set cmsgpack");
    globals.raw_set("struct", libs::structlib::open(&lua).expect("struct")).expect("set struct");
    let t: Table = globals.raw_get(lib).expect("library table");
    (lua, t)
}

/// `lib.name` wrapped in a Lua function, so that the library functions are called from Lua
/// code as scripts call them (their errors then carry a position, as in scripts).
fn lua_fn(lua: &Lua, lib: &str, name: &str) -> Function {
    lua.load(format!("local f = {lib}.{name}\nreturn function(...) return f(...) end"))
        .set_name("@user_script")
        .eval()
        .expect("wrapper")
}

/// The message of an error raised inside a Lua call.
fn message(e: &mlua::Error) -> String {
    match e {
        mlua::Error::CallbackError { cause, .. } | mlua::Error::WithContext { cause, .. } => message(cause),
        mlua::Error::RuntimeError(m) | mlua::Error::MemoryError(m) => m.clone(),
        other => other.to_string(),
    }
}

fn is_memory_error(e: &mlua::Error) -> bool {
    match e {
        mlua::Error::CallbackError { cause, .. } | mlua::Error::WithContext { cause, .. } => is_memory_error(cause),
        mlua::Error::MemoryError(_) => true,
        _ => false,
    }
}

/// A table as its entries, each key and value encoded by `each`, sorted (so that iteration
/// order does not matter).
fn canon_table(t: &mlua::Table, out: &mut Vec<u8>, each: fn(&Value, &mut Vec<u8>)) {
    let mut entries: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
    for pair in t.pairs::<Value, Value>() {
        let (k, v) = pair.expect("table entry");
        let (mut ck, mut cv) = (Vec::new(), Vec::new());
        each(&k, &mut ck);
        each(&v, &mut cv);
        entries.push((ck, cv));
    }
    entries.sort();
    out.push(b'{');
    out.extend_from_slice(&entries.len().to_le_bytes());
    for (k, v) in entries {
        out.extend_from_slice(&k);
        out.extend_from_slice(&v);
    }
    out.push(b'}');
}

/// A canonical, order-independent rendering of Lua values: tables as their sorted entries,
/// every NaN alike, -0 as 0. Two values render alike when a script could not tell them apart
/// by content.
fn canon(v: &Value, out: &mut Vec<u8>) {
    match v {
        Value::Nil => out.push(b'n'),
        Value::Boolean(b) => out.push(if *b { b't' } else { b'f' }),
        Value::Integer(i) => number(*i as f64, out),
        Value::Number(n) => number(*n, out),
        Value::String(s) => {
            let b = s.as_bytes();
            out.push(b's');
            out.extend_from_slice(&b.len().to_le_bytes());
            out.extend_from_slice(&b);
        }
        Value::Table(t) => canon_table(t, out, canon),
        Value::LightUserData(p) => {
            out.push(b'p');
            out.extend_from_slice(&(p.0 as usize).to_le_bytes());
        }
        other => {
            out.push(b'?');
            out.extend_from_slice(other.type_name().as_bytes());
        }
    }
}

fn number(n: f64, out: &mut Vec<u8>) {
    out.push(b'#');
    let bits = if n.is_nan() {
        0x7ff8_0000_0000_0000u64
    } else if n == 0.0 {
        0
    } else {
        n.to_bits()
    };
    out.extend_from_slice(&bits.to_le_bytes());
}

fn canon_all<'a>(values: impl IntoIterator<Item = &'a Value>) -> Vec<u8> {
    let mut out = Vec::new();
    for v in values {
        canon(v, &mut out);
    }
    out
}

/// How deep tables nest in `v` (0 for a non-table, 1 for a table of scalars).
fn depth(v: &Value) -> usize {
    match v {
        Value::Table(t) => {
            let mut d = 0;
            for pair in t.pairs::<Value, Value>() {
                let (k, v) = pair.expect("table entry");
                d = d.max(depth(&k)).max(depth(&v));
            }
            d + 1
        }
        _ => 0,
    }
}

// ---------------------------------------------------------------------------------------
// cjson
// ---------------------------------------------------------------------------------------

/// `cjson.decode(data)`; then decode(encode(v)) round trips.
pub fn cjson_decode(data: &[u8]) {
    let (lua, _) = vm("cjson");
    let decode = lua_fn(&lua, "cjson", "decode");
    let encode = lua_fn(&lua, "cjson", "encode");
    let input = lua.create_string(data).expect("input string");
    let Ok(v1) = decode.call::<Value>(input) else { return };
    // Encoding what was decoded fails only on numbers JSON cannot carry (NaN, Inf: the
    // decoder accepts them, `decode_invalid_numbers` is on by default) or on memory.
    let encode_ok = |v: &Value| -> Option<mlua::LuaString> {
        match encode.call::<mlua::LuaString>(v.clone()) {
            Ok(s) => Some(s),
            Err(e) if is_memory_error(&e) => None,
            Err(e) => {
                let m = message(&e);
                assert!(
                    m.contains("must not be NaN or Inf") || m.contains("not enough memory"),
                    "cjson.encode of a decoded value failed: {m}"
                );
                None
            }
        }
    };
    let Some(e1) = encode_ok(&v1) else { return };
    let v2 = match decode.call::<Value>(e1.clone()) {
        Ok(v) => v,
        Err(e) if is_memory_error(&e) => return,
        Err(e) => panic!("cjson.decode of its own encoding {:?} failed: {}", e1.as_bytes(), message(&e)),
    };
    let Some(e2) = encode_ok(&v2) else { panic!("cjson.encode failed on a re-decoded value") };
    let v3 = decode.call::<Value>(e2.clone()).expect("second decode");
    assert_eq!(canon_all([&v2]), canon_all([&v3]), "cjson round trip not stable: {:?}", e2.as_bytes());
    // Strings, booleans, null and structure survive the first round trip already; numbers
    // are rounded to 14 digits, so compare them as their 14-digit renderings.
    assert_eq!(shape(&v1), shape(&v2), "cjson round trip changed the structure: {:?}", e1.as_bytes());
}

/// `canon` with every number replaced by its `%.14g` rendering (cjson's precision).
fn shape(v: &Value) -> Vec<u8> {
    fn walk(v: &Value, out: &mut Vec<u8>) {
        match v {
            Value::Integer(_) | Value::Number(_) => {
                let n = match v {
                    Value::Integer(i) => *i as f64,
                    Value::Number(n) => *n,
                    _ => 0.0,
                };
                out.push(b'#');
                out.extend_from_slice(crate::lua::number::format_g(n, 14).as_bytes());
                out.push(b';');
            }
            Value::Table(t) => canon_table(t, out, walk),
            other => canon(other, out),
        }
    }
    let mut out = Vec::new();
    walk(v, &mut out);
    out
}

// ---------------------------------------------------------------------------------------
// cmsgpack
// ---------------------------------------------------------------------------------------

/// `cmsgpack.unpack(data)`, and `unpack_one` over the same bytes; then the values packed
/// again unpack to the same values.
pub fn cmsgpack_unpack(data: &[u8]) {
    let (lua, _) = vm("cmsgpack");
    let unpack = lua_fn(&lua, "cmsgpack", "unpack");
    let unpack_one = lua_fn(&lua, "cmsgpack", "unpack_one");
    let pack = lua_fn(&lua, "cmsgpack", "pack");
    let input = lua.create_string(data).expect("input string");
    let all = unpack.call::<MultiValue>(input.clone());

    // unpack_one from offset 0 until it reports the end (-1): the same values, one at a time.
    let mut one_by_one = Vec::new();
    let mut offset = 0i64;
    let mut one_failed = false;
    for _ in 0..=data.len() {
        match unpack_one.call::<MultiValue>((input.clone(), offset)) {
            Ok(r) => {
                let mut r = r.into_iter();
                let next = match r.next() {
                    Some(Value::Integer(i)) => i,
                    Some(Value::Number(n)) => n as i64,
                    other => panic!("unpack_one returned {other:?} as the offset"),
                };
                one_by_one.extend(r);
                if next < 0 {
                    break;
                }
                assert!(next > offset && next as usize <= data.len(), "unpack_one offset {offset} -> {next}");
                offset = next;
            }
            Err(_) => {
                one_failed = true;
                break;
            }
        }
    }
    let v1: Vec<Value> = match all {
        Ok(v) => v.into_iter().collect(),
        Err(_) => return,
    };
    // unpack succeeded: unpack_one decodes the same values, unless it fails on its own
    // result-count or memory limits (it returns one value per call, so it has none for
    // many values... but it may hit the memory cap first).
    if !one_failed && !data.is_empty() {
        assert_eq!(canon_all(&v1), canon_all(&one_by_one), "unpack and unpack_one disagree");
    }
    if v1.is_empty() {
        return;
    }
    let repack = |values: &[Value]| -> Option<mlua::LuaString> {
        match pack.call::<mlua::LuaString>(MultiValue::from_iter(values.iter().cloned())) {
            Ok(s) => Some(s),
            Err(e) if is_memory_error(&e) => None,
            Err(e) => {
                let m = message(&e);
                assert!(m.contains("stack overflow") || m.contains("not enough memory"), "cmsgpack.pack failed: {m}");
                None
            }
        }
    };
    let Some(p1) = repack(&v1) else { return };
    let v2: Vec<Value> = match unpack.call::<MultiValue>(p1.clone()) {
        Ok(v) => v.into_iter().collect(),
        Err(e) if is_memory_error(&e) => return,
        // A table nested past the packer's limit is packed as nil, as natively; when it was
        // a map key, the packing has a nil key, which unpack refuses, as natively.
        Err(e) if message(&e).contains("table index is nil") && v1.iter().any(|v| depth(v) >= 16) => return,
        Err(e) => panic!("cmsgpack.unpack of its own packing {:?} failed: {}", p1.as_bytes(), message(&e)),
    };
    // Below the packer's nesting limit (16 levels), nothing is lost.
    if v1.iter().all(|v| depth(v) < 16) {
        assert_eq!(canon_all(&v1), canon_all(&v2), "cmsgpack round trip changed values: {:?}", p1.as_bytes());
    }
    let Some(p2) = repack(&v2) else { return };
    let v3: Vec<Value> = unpack.call::<MultiValue>(p2.clone()).expect("second unpack").into_iter().collect();
    // (The packings themselves may differ: a nil that the nesting limit put into an array
    // makes a hole, and a table with a hole packs as a map.)
    assert_eq!(canon_all(&v2), canon_all(&v3), "cmsgpack round trip not stable: {:?}", p2.as_bytes());
}

// ---------------------------------------------------------------------------------------
// struct
// ---------------------------------------------------------------------------------------

/// `struct.unpack(fmt, data[, init])` with the input laid out as: format length (1 byte),
/// `init` (1 byte, signed; 0 = absent), the format, the data. Then packing the values with
/// the same format and unpacking them again is a fixpoint on bytes, and the bytes consumed
/// match `struct.size(fmt)` where the format has a size.
pub fn struct_unpack(data: &[u8]) {
    let Some((&fmt_len, rest)) = data.split_first() else { return };
    let Some((&init, rest)) = rest.split_first() else { return };
    let fmt_len = usize::from(fmt_len).min(rest.len());
    let (fmt, bytes) = rest.split_at(fmt_len);
    let (lua, _) = vm("struct");
    let unpack = lua_fn(&lua, "struct", "unpack");
    let pack = lua_fn(&lua, "struct", "pack");
    let size = lua_fn(&lua, "struct", "size");
    let fmt = lua.create_string(fmt).expect("format");
    let input = lua.create_string(bytes).expect("data");
    let result = if init == 0 {
        unpack.call::<MultiValue>((fmt.clone(), input))
    } else {
        unpack.call::<MultiValue>((fmt.clone(), input, i64::from(init as i8)))
    };
    let Ok(result) = result else { return };
    if init != 0 && init != 1 {
        return;
    }
    let mut v1: Vec<Value> = result.into_iter().collect();
    let next = match v1.pop() {
        Some(Value::Integer(i)) => i as f64,
        Some(Value::Number(n)) => n,
        other => panic!("struct.unpack returned {other:?} as the next position"),
    };
    assert!(next >= 1.0 && next <= bytes.len() as f64 + 1.0, "struct.unpack next position {next}");
    if let Ok(n) = size.call::<f64>(fmt.clone()) {
        assert_eq!(n, next - 1.0, "struct.size disagrees with the bytes unpack consumed");
    }
    // `c0` takes its length from the previous value when unpacking and drops that value from
    // the results, so those results are not what `pack` takes: no round trip for them.
    if has_c0(&fmt.as_bytes()) {
        return;
    }
    let args = |values: &[Value]| {
        let mut a = vec![Value::String(fmt.clone())];
        a.extend(values.iter().cloned());
        MultiValue::from_iter(a)
    };
    let p1 = match pack.call::<mlua::LuaString>(args(&v1)) {
        Ok(p) => p,
        Err(e) if is_memory_error(&e) => return,
        Err(e) => panic!("struct.pack of unpacked values failed: {}", message(&e)),
    };
    let mut v2: Vec<Value> = match unpack.call::<MultiValue>((fmt.clone(), p1.clone())) {
        Ok(v) => v.into_iter().collect(),
        Err(e) => panic!("struct.unpack of its own packing {:?} failed: {}", p1.as_bytes(), message(&e)),
    };
    v2.pop();
    let p2 = pack.call::<mlua::LuaString>(args(&v2)).expect("second pack");
    assert_eq!(p1.as_bytes(), p2.as_bytes(), "struct pack/unpack not a fixpoint");
}

/// Whether a struct format has a `c` option of size 0 (`c0`, `c00`, ...).
fn has_c0(fmt: &[u8]) -> bool {
    fmt.iter().enumerate().any(|(i, &b)| {
        let digits: Vec<u8> = fmt.iter().skip(i + 1).take_while(|d| d.is_ascii_digit()).copied().collect();
        b == b'c' && !digits.is_empty() && digits.iter().all(|&d| d == b'0')
    })
}

// ---------------------------------------------------------------------------------------
// FUNCTION RESTORE
// ---------------------------------------------------------------------------------------

/// FUNCTION RESTORE's reading of a payload. The first input byte picks the mode: even, the
/// rest is the payload as is (so the checksum check is fuzzed too); odd, the rest is a
/// payload body that gets a valid footer (RDB version `byte >> 1` capped at 10, right CRC),
/// so the entry parser is reached. Then the libraries dumped again read back the same.
pub fn function_restore(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else { return };
    let payload = if mode & 1 == 0 {
        rest.to_vec()
    } else {
        let mut p = rest.to_vec();
        p.extend_from_slice(&u16::from(mode >> 1).min(function_dump::RDB_VERSION).to_le_bytes());
        let crc = function_dump::crc64(0, &p);
        p.extend_from_slice(&crc.to_le_bytes());
        p
    };
    let decoded = function_dump::decode(&payload);
    // The lazy reading yields the same libraries, or fails at the same entry.
    match function_dump::entries(&payload) {
        Ok(entries) => {
            let lazy: Vec<_> = entries.collect();
            match &decoded {
                Ok(libs) => {
                    assert_eq!(lazy.len(), libs.len());
                    assert!(lazy.iter().zip(libs).all(|(a, b)| a.as_ref() == Ok(b)));
                }
                Err(e) => assert_eq!(lazy.last(), Some(&Err(*e))),
            }
        }
        Err(e) => assert_eq!(decoded.as_ref().err(), Some(&e)),
    }
    let Ok(libs) = decoded else { return };
    for lib in &libs {
        if let Ok(header) = shebang::parse_library_header(lib) {
            assert!(header.body_start < lib.len() && lib.get(header.body_start) == Some(&b'\n'));
        }
    }
    let refs: Vec<&[u8]> = libs.iter().map(Vec::as_slice).collect();
    for compress in [false, true] {
        let again = function_dump::encode(&refs, compress);
        let back = function_dump::decode(&again);
        assert_eq!(back.as_ref(), Ok(&libs), "FUNCTION DUMP of restored libraries reads back differently");
    }
}

// ---------------------------------------------------------------------------------------
// Shebang lines
// ---------------------------------------------------------------------------------------

/// `sdssplitargs` quoting: every byte as `\xHH` inside double quotes.
fn quote(arg: &[u8]) -> Vec<u8> {
    let mut q = vec![b'"'];
    for b in arg {
        q.extend_from_slice(format!("\\x{b:02x}").as_bytes());
    }
    q.push(b'"');
    q
}

/// The EVAL shebang (`#!lua flags=...`), the library header (`#!lua name=...`) and the
/// argument splitter on the same bytes; results written back parse the same.
pub fn shebang(data: &[u8]) {
    match shebang::parse(data) {
        Ok((flags, skip)) if flags.eval_compat => {
            assert_eq!(skip, 0);
            assert!(!data.starts_with(b"#!"));
        }
        Ok((flags, skip)) => {
            assert_eq!(data.get(skip), Some(&b'\n'), "the header ends at its newline");
            let line = format!("#!lua flags={}\n", flags.names().join(","));
            let (again, _) = shebang::parse(line.as_bytes()).expect("written-back flags parse");
            assert_eq!(again, flags);
        }
        Err(_) => {}
    }
    if let Ok(header) = shebang::parse_library_header(data) {
        assert_eq!(data.get(header.body_start), Some(&b'\n'), "the header ends at its newline");
        let mut line = b"#!".to_vec();
        line.extend_from_slice(&quote(&header.engine));
        line.push(b' ');
        let mut name = b"name=".to_vec();
        name.extend_from_slice(&header.name);
        line.extend_from_slice(&quote(&name));
        line.push(b'\n');
        let again = shebang::parse_library_header(&line).expect("written-back header parses");
        assert_eq!((again.engine, again.name), (header.engine, header.name));
    }
    if let Some(args) = shebang::split_args(data) {
        let mut line = Vec::new();
        for a in &args {
            line.extend_from_slice(&quote(a));
            line.push(b' ');
        }
        assert_eq!(shebang::split_args(&line).as_ref(), Some(&args), "quoted arguments split differently");
    }
}
