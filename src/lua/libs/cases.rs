//! The case runner shared by the bundled libraries' unit tests. Expectations are the
//! replies of a real Redis 7.0.15 (`redis-server` of Debian) to `EVAL` scripts made of
//! PRELUDE and the case body, run under Redis's `pcall`; here the same text runs in mlua
//! (chunk `@user_script`, so error positions match) and a raised error is compared as
//! `E:<message>`.

use mlua::{Error, Lua, Value};

const PRELUDE: &str = r##"local function HX(s) return (s:gsub('.', function(c) return string.format('%02x', c:byte()) end)) end
local function CK(s) local h = 0 for i = 1, #s do h = (h * 31 + s:byte(i)) % 2147483647 end return #s .. '/' .. h end
local function R(v, d)
  local t = type(v)
  if t == 'string' then return 'x' .. HX(v)
  elseif t == 'number' then return string.format('%.17g', v)
  elseif t == 'table' then
if d > 12 then return '{..}' end
local ks = {}
for k, x in pairs(v) do ks[#ks + 1] = {R(k, d + 1), R(x, d + 1)} end
table.sort(ks, function(a, b) return a[1] < b[1] end)
local o = {}
for i = 1, #ks do o[i] = ks[i][1] .. '=' .. ks[i][2] end
return '{' .. table.concat(o, ',') .. '}'
  elseif t == 'nil' or t == 'boolean' then return tostring(v)
  else return t end
end
local function RA(...)
  local n = select('#', ...)
  local o = {}
  for i = 1, n do o[i] = R((select(i, ...)), 0) end
  return n .. ':' .. table.concat(o, ',')
end
"##;

pub fn vm(name: &str, open: fn(&Lua) -> mlua::Result<mlua::Table>) -> Lua {
    let lua = Lua::new();
    lua.globals().set(name, open(&lua).expect("open")).expect("set");
    lua
}

/// The message of an error raised by a script: the functions raise plain strings (which mlua
/// reports with a traceback appended) or, for a memory error, mlua's own error.
pub fn message(e: &Error) -> String {
    match e {
        Error::CallbackError { cause, .. } | Error::WithContext { cause, .. } => message(cause),
        Error::RuntimeError(m) => m.split("\nstack traceback:").next().unwrap_or_default().to_string(),
        Error::MemoryError(m) => m.clone(),
        other => other.to_string(),
    }
}

pub fn run(lua: &Lua, body: &str) -> String {
    let code = format!("{PRELUDE}return RA((function() {body}\nend)())");
    match lua.load(code).set_name("@user_script").eval::<String>() {
        Ok(s) => s,
        Err(e) => format!("E:{}", message(&e)),
    }
}

/// Runs every case against library `name` (opened by `open`) and reports all that differ.
pub fn check(name: &str, open: fn(&Lua) -> mlua::Result<mlua::Table>, cases: &[(&str, &str)]) {
    let lua = vm(name, open);
    let mut failures = Vec::new();
    for (body, want) in cases {
        let got = run(&lua, body);
        if got != *want {
            failures.push(format!("{body}\n    want {want}\n    got  {got}"));
        }
    }
    assert!(failures.is_empty(), "{} of {} cases differ:\n{}", failures.len(), cases.len(), failures.join("\n"));
}

/// What `code` (a `return select(2, pcall(...))`) gives back: the caught error's message or
/// the string Lua returned.
pub fn caught(lua: &Lua, code: &str) -> String {
    match lua.load(code).eval::<Value>() {
        Ok(Value::Error(e)) => message(&e),
        Ok(Value::String(s)) => s.to_string_lossy(),
        other => format!("{other:?}"),
    }
}
