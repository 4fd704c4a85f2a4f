//! Script flags and the `#!` header lines: `#!lua flags=...` of EVAL scripts (eval.c
//! evalExtractShebangFlags, script.c scripts_flags_def) and `#!lua name=...` of function
//! libraries (functions.c functionExtractLibMetaData), plus the argument splitter Redis uses
//! for them (sds.c sdssplitargs). Pure functions over bytes, native error texts.

use crate::error::ScriptError;

/// The flags a script declares. `eval_compat` is set when there is no shebang at all: then
/// the script keeps the pre-7.0 behaviour (no declared flags).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ScriptFlags {
    pub eval_compat: bool,
    pub no_writes: bool,
    pub allow_oom: bool,
    pub allow_stale: bool,
    pub no_cluster: bool,
    pub allow_cross_slot_keys: bool,
}

impl ScriptFlags {
    /// The declared flags in definition order (script.c scripts_flags_def).
    pub fn names(&self) -> Vec<&'static str> {
        [
            (self.no_writes, "no-writes"),
            (self.allow_oom, "allow-oom"),
            (self.allow_stale, "allow-stale"),
            (self.no_cluster, "no-cluster"),
            (self.allow_cross_slot_keys, "allow-cross-slot-keys"),
        ]
        .into_iter()
        .filter_map(|(set, name)| set.then_some(name))
        .collect()
    }

    pub const EVAL_COMPAT: ScriptFlags = ScriptFlags {
        eval_compat: true,
        no_writes: false,
        allow_oom: false,
        allow_stale: false,
        no_cluster: false,
        allow_cross_slot_keys: false,
    };

    /// Sets the flag named exactly `name` (case-sensitive for shebangs); false if unknown.
    pub fn set(&mut self, name: &[u8]) -> bool {
        let slot = match name {
            b"no-writes" => &mut self.no_writes,
            b"allow-oom" => &mut self.allow_oom,
            b"allow-stale" => &mut self.allow_stale,
            b"no-cluster" => &mut self.no_cluster,
            b"allow-cross-slot-keys" => &mut self.allow_cross_slot_keys,
            _ => return false,
        };
        *slot = true;
        true
    }
}

/// Parses the shebang of an EVAL script. Returns the flags and how many bytes of the body
/// to skip before compiling: the header line without its `\n`, so line numbers stay the
/// user's.
pub fn parse(body: &[u8]) -> Result<(ScriptFlags, usize), ScriptError> {
    if !body.starts_with(b"#!") {
        return Ok((ScriptFlags::EVAL_COMPAT, 0));
    }
    // Redis works on a C string here: the header ends at the first '\n' before any NUL.
    let text_end = body.iter().position(|&b| b == 0).unwrap_or(body.len());
    let text = body.get(..text_end).unwrap_or_default();
    let Some(header_len) = text.iter().position(|&b| b == b'\n') else {
        return Err(ScriptError::err("Invalid script shebang"));
    };
    let header = text.get(..header_len).unwrap_or_default();
    let parts = match split_args(header) {
        Some(parts) if !parts.is_empty() => parts,
        _ => return Err(ScriptError::err("Invalid engine in script shebang")),
    };
    let mut parts = parts.into_iter();
    let engine = parts.next().unwrap_or_default();
    if engine != b"#!lua" {
        return Err(ScriptError::err(format!("Unexpected engine in script shebang: {}", c_str_lossy(&engine))));
    }
    let mut flags = ScriptFlags::default();
    for part in parts {
        let Some(list) = part.strip_prefix(b"flags=") else {
            return Err(ScriptError::err(format!("Unknown lua shebang option: {}", c_str_lossy(&part))));
        };
        if list.is_empty() {
            continue;
        }
        for flag in list.split(|&b| b == b',') {
            if !flags.set(flag) {
                return Err(ScriptError::err(format!("Unexpected flag in script shebang: {}", c_str_lossy(flag))));
            }
        }
    }
    Ok((flags, header_len))
}

/// A function library's header: engine (as written, without `#!`), library name, and where
/// the code handed to the engine starts (at the header's `\n`, so line numbers stay).
#[derive(Debug, PartialEq, Eq)]
pub struct LibraryHeader {
    pub engine: Vec<u8>,
    pub name: Vec<u8>,
    pub body_start: usize,
}

/// functionExtractLibMetaData.
pub fn parse_library_header(code: &[u8]) -> Result<LibraryHeader, ScriptError> {
    if !code.starts_with(b"#!") {
        return Err(ScriptError::err("Missing library metadata"));
    }
    let text_end = code.iter().position(|&b| b == 0).unwrap_or(code.len());
    let text = code.get(..text_end).unwrap_or_default();
    let Some(header_len) = text.iter().position(|&b| b == b'\n') else {
        return Err(ScriptError::err("Invalid library metadata"));
    };
    let parts = match split_args(text.get(..header_len).unwrap_or_default()) {
        Some(parts) if !parts.is_empty() => parts,
        _ => return Err(ScriptError::err("Invalid library metadata")),
    };
    let mut parts = parts.into_iter();
    let engine = parts.next().unwrap_or_default().get(2..).unwrap_or_default().to_vec();
    let mut name = None;
    for part in parts {
        if part.get(..5).is_some_and(|p| p.eq_ignore_ascii_case(b"name=")) {
            if name.is_some() {
                return Err(ScriptError::err("Invalid metadata value, name argument was given multiple times"));
            }
            name = Some(part.get(5..).unwrap_or_default().to_vec());
            continue;
        }
        return Err(ScriptError::err(format!("Invalid metadata value given: {}", c_str_lossy(&part))));
    }
    let name = name.ok_or_else(|| ScriptError::err("Library name was not given"))?;
    Ok(LibraryHeader { engine, name, body_start: header_len })
}

/// Library and function names: `[A-Za-z0-9_]+` (functionsVerifyName).
pub fn valid_name(name: &[u8]) -> bool {
    !name.is_empty() && name.iter().all(|&b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Function flags as `redis.register_function` takes them: case-insensitive names.
pub fn set_flag_ignoring_case(flags: &mut ScriptFlags, name: &[u8]) -> bool {
    flags.set(&name.to_ascii_lowercase())
}

/// Text as Redis's `%s` would print it: up to the first NUL.
fn c_str_lossy(b: &[u8]) -> String {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    String::from_utf8_lossy(b.get(..end).unwrap_or_default()).into_owned()
}

/// sdssplitargs: splits a line into arguments with "double" (escapes, \xHH) and 'single'
/// quotes. `None` on unbalanced quotes or a closing quote not followed by a space.
pub fn split_args(line: &[u8]) -> Option<Vec<Vec<u8>>> {
    let line = line.get(..line.iter().position(|&b| b == 0).unwrap_or(line.len()))?;
    let at = |i: usize| line.get(i).copied().unwrap_or(0);
    let is_space = |b: u8| b == b' ' || (b'\t'..=b'\r').contains(&b);
    let mut out = Vec::new();
    let mut i = 0;
    loop {
        while at(i) != 0 && is_space(at(i)) {
            i += 1;
        }
        if at(i) == 0 {
            return Some(out);
        }
        let (mut in_double, mut in_single) = (false, false);
        let mut current = Vec::new();
        loop {
            let c = at(i);
            if in_double {
                if c == b'\\' && at(i + 1) == b'x' && at(i + 2).is_ascii_hexdigit() && at(i + 3).is_ascii_hexdigit() {
                    let hex = |b: u8| char::from(b).to_digit(16).and_then(|d| u8::try_from(d).ok()).unwrap_or(0);
                    current.push(hex(at(i + 2)) * 16 + hex(at(i + 3)));
                    i += 3;
                } else if c == b'\\' && at(i + 1) != 0 {
                    i += 1;
                    current.push(match at(i) {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => 8,
                        b'a' => 7,
                        other => other,
                    });
                } else if c == b'"' {
                    if at(i + 1) != 0 && !is_space(at(i + 1)) {
                        return None;
                    }
                    i += 1;
                    break;
                } else if c == 0 {
                    return None;
                } else {
                    current.push(c);
                }
            } else if in_single {
                if c == b'\\' && at(i + 1) == b'\'' {
                    i += 1;
                    current.push(b'\'');
                } else if c == b'\'' {
                    if at(i + 1) != 0 && !is_space(at(i + 1)) {
                        return None;
                    }
                    i += 1;
                    break;
                } else if c == 0 {
                    return None;
                } else {
                    current.push(c);
                }
            } else {
                match c {
                    b' ' | b'\n' | b'\r' | b'\t' | 0 => {
                        if c != 0 {
                            i += 1;
                        }
                        break;
                    }
                    b'"' => in_double = true,
                    b'\'' => in_single = true,
                    other => current.push(other),
                }
            }
            if at(i) != 0 {
                i += 1;
            }
        }
        out.push(current);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(body: &str) -> String {
        match parse(body.as_bytes()) {
            Err(e) => String::from_utf8(e.text().into_owned()).unwrap(),
            Ok(_) => "ok".into(),
        }
    }

    #[test]
    fn no_shebang_is_compat() {
        assert_eq!(parse(b"return 1").unwrap(), (ScriptFlags::EVAL_COMPAT, 0));
    }

    #[test]
    fn flags_and_length() {
        let (f, len) = parse(b"#!lua flags=no-writes,allow-oom\nreturn 1").unwrap();
        assert!(f.no_writes && f.allow_oom && !f.eval_compat && !f.allow_stale);
        assert_eq!(len, 31);
        let (f, _) = parse(b"#!lua flags=\nreturn 1").unwrap();
        assert_eq!(f, ScriptFlags::default());
        let (f, _) = parse(b"#!lua flags=no-writes flags=no-cluster\n").unwrap();
        assert!(f.no_writes && f.no_cluster);
    }

    #[test]
    fn native_errors() {
        assert_eq!(err("#!lua"), "ERR Invalid script shebang");
        assert_eq!(err("#!not-lua\n"), "ERR Unexpected engine in script shebang: #!not-lua");
        assert_eq!(err("#!LUA\n"), "ERR Unexpected engine in script shebang: #!LUA");
        assert_eq!(err("#!lua name=x\n"), "ERR Unknown lua shebang option: name=x");
        assert_eq!(err("#!lua flags=bad\n"), "ERR Unexpected flag in script shebang: bad");
        assert_eq!(err("#!lua flags=no-writes,,\n"), "ERR Unexpected flag in script shebang: ");
        assert_eq!(err("#!lua \"x\n"), "ERR Invalid engine in script shebang");
    }

    #[test]
    fn library_headers() {
        let h = parse_library_header(b"#!lua name=mylib\nreturn 1").unwrap();
        assert_eq!((h.engine.as_slice(), h.name.as_slice(), h.body_start), (&b"lua"[..], &b"mylib"[..], 16));
        let h = parse_library_header(b"#!LUA NAME=\"x y\"\n").unwrap();
        assert_eq!((h.engine.as_slice(), h.name.as_slice()), (&b"LUA"[..], &b"x y"[..]));
        let e = |code: &str| {
            String::from_utf8(parse_library_header(code.as_bytes()).unwrap_err().text().into_owned()).unwrap()
        };
        assert_eq!(e("return 1"), "ERR Missing library metadata");
        assert_eq!(e("#!lua name=x"), "ERR Invalid library metadata");
        assert_eq!(e("#!lua \"x\n"), "ERR Invalid library metadata");
        assert_eq!(e("#!lua name=a name=b\n"), "ERR Invalid metadata value, name argument was given multiple times");
        assert_eq!(e("#!lua foo=bar\n"), "ERR Invalid metadata value given: foo=bar");
        assert_eq!(e("#!lua\n"), "ERR Library name was not given");
        assert!(valid_name(b"a_1") && !valid_name(b"") && !valid_name(b"a-b"));
    }

    #[test]
    fn splitting() {
        assert_eq!(split_args(b"a \"b c\" 'd\\'e'").unwrap(), vec![b"a".to_vec(), b"b c".to_vec(), b"d'e".to_vec()]);
        assert_eq!(split_args(b"\"\\x41\\n\"").unwrap(), vec![b"A\n".to_vec()]);
        assert!(split_args(b"\"a\"b").is_none());
        assert!(split_args(b"'a").is_none());
        assert_eq!(split_args(b"   ").unwrap(), Vec::<Vec<u8>>::new());
    }
}
