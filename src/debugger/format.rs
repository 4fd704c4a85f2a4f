//! How the debugger shows values (eval.c ldbCatStackValue, ldbRedisProtocolToHuman,
//! ldbLogWithMaxLen): strings quoted as sdscatrepr does, replies from their RESP bytes.
//! Pure functions over bytes.

/// sdscatrepr: `"..."` with `\\`, `\"`, `\n`, `\r`, `\t`, `\a`, `\b` escaped and other
/// unprintable bytes as `\xNN`.
pub fn repr(out: &mut Vec<u8>, s: &[u8]) {
    out.push(b'"');
    for &b in s {
        match b {
            b'\\' | b'"' => {
                out.push(b'\\');
                out.push(b);
            }
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x07 => out.extend_from_slice(b"\\a"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x20..=0x7e => out.push(b),
            _ => out.extend_from_slice(format!("\\x{b:02x}").as_bytes()),
        }
    }
    out.push(b'"');
}

/// `%g` of a Lua number, as ldbCatStackValue prints numbers.
pub fn number(out: &mut Vec<u8>, n: f64) {
    out.extend_from_slice(crate::lua::number::format_g(n, 6).as_bytes());
}

/// ldbRedisProtocolToHuman: one RESP reply in the debugger's notation. Returns the bytes
/// consumed (0 when the input is not a complete reply).
pub fn reply_to_human(out: &mut Vec<u8>, proto: &[u8]) -> usize {
    human(out, proto, 0).unwrap_or(0)
}

fn line(proto: &[u8], at: usize) -> Option<(&[u8], usize)> {
    let rest = proto.get(at..)?;
    let end = rest.windows(2).position(|w| w == b"\r\n")?;
    Some((rest.get(1..end)?, at + end + 2))
}

fn int_of(s: &[u8]) -> i64 {
    std::str::from_utf8(s).ok().and_then(|s| s.parse().ok()).unwrap_or(0)
}

fn human(out: &mut Vec<u8>, proto: &[u8], at: usize) -> Option<usize> {
    let kind = *proto.get(at)?;
    let (head, next) = line(proto, at)?;
    match kind {
        b':' => {
            out.extend_from_slice(head);
            Some(next)
        }
        b'$' => {
            let len = int_of(head);
            if len < 0 {
                out.extend_from_slice(b"NULL");
                return Some(next);
            }
            let len = usize::try_from(len).ok()?;
            repr(out, proto.get(next..next + len)?);
            Some(next + len + 2)
        }
        b'+' | b'-' => {
            // The status or error line with its type byte, quoted.
            repr(out, proto.get(at..next - 2)?);
            Some(next)
        }
        b'*' | b'~' | b'%' => {
            let n = int_of(head);
            if kind == b'*' && n < 0 {
                out.extend_from_slice(b"NULL");
                return Some(next);
            }
            let (open, close): (&[u8], &[u8]) = match kind {
                b'*' => (b"[", b"]"),
                b'~' => (b"~(", b")"),
                _ => (b"{", b"}"),
            };
            out.extend_from_slice(open);
            let mut at = next;
            let n = n.max(0);
            for j in 0..n {
                at = human(out, proto, at)?;
                if kind == b'%' {
                    out.extend_from_slice(b" => ");
                    at = human(out, proto, at)?;
                }
                if j != n - 1 {
                    out.push(b',');
                }
            }
            out.extend_from_slice(close);
            Some(at)
        }
        b'_' => {
            out.extend_from_slice(b"(null)");
            Some(next)
        }
        b'#' => {
            out.extend_from_slice(if head.first() == Some(&b't') { b"#true" } else { b"#false" });
            Some(next)
        }
        b',' => {
            out.extend_from_slice(b"(double) ");
            out.extend_from_slice(head);
            Some(next)
        }
        // Types the native debugger does not know print nothing and consume the line.
        _ => Some(next),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(p: &str) -> String {
        let mut out = Vec::new();
        reply_to_human(&mut out, p.as_bytes());
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn replies() {
        assert_eq!(h(":12\r\n"), "12");
        assert_eq!(h("$3\r\na\"b\r\n"), "\"a\\\"b\"");
        assert_eq!(h("$-1\r\n"), "NULL");
        assert_eq!(h("+OK\r\n"), "\"+OK\"");
        assert_eq!(h("-ERR x\r\n"), "\"-ERR x\"");
        assert_eq!(h("*2\r\n:1\r\n$1\r\nx\r\n"), "[1,\"x\"]");
        assert_eq!(h("*-1\r\n"), "NULL");
        assert_eq!(h("%1\r\n+a\r\n:1\r\n"), "{\"+a\" => 1}");
        assert_eq!(h("~1\r\n:1\r\n"), "~(1)");
        assert_eq!(h("_\r\n"), "(null)");
        assert_eq!(h("#t\r\n"), "#true");
        assert_eq!(h(",1.5\r\n"), "(double) 1.5");
    }

    #[test]
    fn strings() {
        let mut out = Vec::new();
        repr(&mut out, b"a\n\x01\\");
        assert_eq!(out, b"\"a\\n\\x01\\\\\"");
    }
}
