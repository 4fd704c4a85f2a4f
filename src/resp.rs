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
    let Some((&kind, rest)) = buf.split_first() else { return (Item::Other, 0) };
    let Some(end) = line_end(rest) else { return (Item::Other, 0) };
    let line = rest.get(..end).unwrap_or_default();
    let header = 1 + end + 2;
    match kind {
        b':' => parse_int(line).map_or((Item::Other, 0), |v| (Item::Int(v), header)),
        b'+' => (Item::Status(line), header),
        b'_' if line.is_empty() => (Item::Null, header),
        b'$' | b'*' => match parse_int(line) {
            Some(-1) => (Item::Null, header),
            Some(n) if n >= 0 => {
                let Ok(n) = usize::try_from(n) else { return (Item::Other, 0) };
                if kind == b'*' {
                    return (Item::Array(n), header);
                }
                match buf.get(header..header + n) {
                    Some(bytes) if buf.get(header + n..header + n + 2) == Some(b"\r\n") => {
                        (Item::Bulk(bytes), header + n + 2)
                    }
                    _ => (Item::Other, 0),
                }
            }
            _ => (Item::Other, 0),
        },
        _ => (Item::Other, 0),
    }
}

/// The elements of a whole array reply (`*n` then n items, each an integer, bulk string or
/// null), or None when the reply is anything else.
pub fn flat_array(buf: &[u8]) -> Option<Elements<'_>> {
    let (Item::Array(n), start) = item(buf) else { return None };
    let mut at = start;
    for _ in 0..n {
        let (it, used) = item(buf.get(at..)?);
        if !matches!(it, Item::Int(_) | Item::Bulk(_) | Item::Null) {
            return None;
        }
        at += used;
    }
    (at == buf.len()).then_some(Elements { buf, at: start, left: n })
}

/// The elements of an array `flat_array` checked, in order.
pub struct Elements<'a> {
    buf: &'a [u8],
    at: usize,
    left: usize,
}

impl<'a> Iterator for Elements<'a> {
    type Item = Item<'a>;

    fn next(&mut self) -> Option<Item<'a>> {
        if self.left == 0 {
            return None;
        }
        let (it, used) = item(self.buf.get(self.at..)?);
        self.at += used;
        self.left -= 1;
        Some(it)
    }
}

fn line_end(buf: &[u8]) -> Option<usize> {
    let end = buf.iter().position(|&b| b == b'\r')?;
    (buf.get(end + 1) == Some(&b'\n')).then_some(end)
}

fn parse_int(line: &[u8]) -> Option<i64> {
    let (negative, digits) = match line.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, line),
    };
    if digits.is_empty() || digits.len() > 19 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let v = digits.iter().try_fold(0i64, |acc, &d| acc.checked_mul(10)?.checked_add(i64::from(d - b'0')))?;
    Some(if negative { -v } else { v })
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
        for other in [&b"-ERR x\r\n"[..], b"%1\r\n", b",1.5\r\n", b"#t\r\n", b"$5\r\nab\r\n", b":1x\r\n", b"", b"+OK"] {
            assert_eq!(item(other).0, Item::Other, "{}", other.escape_ascii());
        }
    }

    #[test]
    fn flat_arrays() {
        let items = flat_array(b"*3\r\n:1\r\n$1\r\nx\r\n$-1\r\n").expect("flat");
        assert_eq!(items.collect::<Vec<_>>(), vec![Item::Int(1), Item::Bulk(b"x"), Item::Null]);
        assert_eq!(flat_array(b"*0\r\n").map(|e| e.count()), Some(0));
        assert!(flat_array(b"*1\r\n*0\r\n").is_none());
        assert!(flat_array(b"*1\r\n+OK\r\n").is_none());
        assert!(flat_array(b"*2\r\n:1\r\n").is_none());
        assert!(flat_array(b":1\r\n").is_none());
    }
}
