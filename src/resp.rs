//! Just enough of RESP to read the common replies of `redis.call` straight from the bytes the
//! host wrote (RM_CallReplyProto), without having the host parse them into a reply tree:
//! integers, bulk strings, statuses, nulls and array headers. Anything else is `Other`, and
//! the caller takes the general path.

/// One item at the start of a buffer.
#[derive(Debug, PartialEq, Eq)]
pub enum Item<'a> {
    Int(i64),
    Bulk(&'a [u8]),
    Status(&'a [u8]),
    /// `$-1`, `*-1` (RESP2) or `_` (RESP3).
    Null,
    /// An array header: this many items follow.
    Array(usize),
    /// Anything else (errors, maps, sets, doubles, ...), or bytes that do not parse.
    Other,
}

/// The item at the start of `buf` and the bytes it takes (for an array, its header only).
pub fn item(buf: &[u8]) -> (Item<'_>, usize) {
    let Some(&kind) = buf.first() else { return (Item::Other, 0) };
    match kind {
        b':' => match int_line(buf) {
            Some((v, used)) => (Item::Int(v), used),
            None => (Item::Other, 0),
        },
        b'$' | b'*' => match int_line(buf) {
            Some((-1, used)) => (Item::Null, used),
            Some((n, header)) if n >= 0 => {
                let Ok(n) = usize::try_from(n) else { return (Item::Other, 0) };
                if kind == b'*' {
                    return (Item::Array(n), header);
                }
                let end = header.saturating_add(n);
                match (buf.get(header..end), buf.get(end..end.saturating_add(2))) {
                    (Some(bytes), Some(b"\r\n")) => (Item::Bulk(bytes), end + 2),
                    _ => (Item::Other, 0),
                }
            }
            _ => (Item::Other, 0),
        },
        b'+' => {
            let rest = buf.get(1..).unwrap_or_default();
            match rest.iter().position(|&b| b == b'\r') {
                Some(end) if rest.get(end + 1) == Some(&b'\n') => {
                    (Item::Status(rest.get(..end).unwrap_or_default()), end + 3)
                }
                _ => (Item::Other, 0),
            }
        }
        b'_' if buf.get(1..3) == Some(b"\r\n") => (Item::Null, 3),
        _ => (Item::Other, 0),
    }
}

/// The integer after the type byte at the start of `buf` (an optional `-`, 1 to 19 digits,
/// CRLF) and the bytes the line takes: one pass, no search.
fn int_line(buf: &[u8]) -> Option<(i64, usize)> {
    let mut at = 1;
    let negative = buf.get(at) == Some(&b'-');
    if negative {
        at += 1;
    }
    let first = at;
    let mut v: i64 = 0;
    while let Some(&d) = buf.get(at) {
        if !d.is_ascii_digit() {
            break;
        }
        if at - first >= 19 {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(i64::from(d - b'0'))?;
        at += 1;
    }
    if at == first || buf.get(at..at + 2) != Some(b"\r\n") {
        return None;
    }
    Some((if negative { -v } else { v }, at + 2))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items() {
        assert_eq!(item(b":42\r\n"), (Item::Int(42), 5));
        assert_eq!(item(b":-7\r\n"), (Item::Int(-7), 5));
        assert_eq!(item(b"+OK\r\n"), (Item::Status(b"OK"), 5));
        assert_eq!(item(b"$3\r\nfoo\r\n"), (Item::Bulk(b"foo"), 9));
        assert_eq!(item(b"$0\r\n\r\n"), (Item::Bulk(b""), 6));
        assert_eq!(item(b"$4\r\na\r\nb\r\n"), (Item::Bulk(b"a\r\nb"), 10));
        assert_eq!(item(b"$-1\r\n"), (Item::Null, 5));
        assert_eq!(item(b"*-1\r\n"), (Item::Null, 5));
        assert_eq!(item(b"_\r\n"), (Item::Null, 3));
        assert_eq!(item(b"*2\r\n"), (Item::Array(2), 4));
        assert_eq!(item(b":9223372036854775807\r\n"), (Item::Int(i64::MAX), 22));
        assert_eq!(item(b":-9223372036854775807\r\n"), (Item::Int(-i64::MAX), 23));
        assert_eq!(item(b":9223372036854775808\r\n").0, Item::Other);
        assert_eq!(item(b":12345678901234567890\r\n").0, Item::Other);
        assert_eq!(item(b"$-2\r\n").0, Item::Other);
        assert_eq!(item(b"_x\r\n").0, Item::Other);
        for other in [&b"-ERR x\r\n"[..], b"%1\r\n", b",1.5\r\n", b"#t\r\n", b"$5\r\nab\r\n", b":1x\r\n", b"", b"+OK"] {
            assert_eq!(item(other).0, Item::Other, "{}", other.escape_ascii());
        }
    }
}
