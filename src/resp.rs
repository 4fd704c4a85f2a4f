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

/// The elements of an array reply, in order (see `of_array`).
pub struct Elements<'a> {
    buf: &'a [u8],
    at: usize,
    left: usize,
}

impl<'a> Elements<'a> {
    /// The elements of the array at the start of `buf`, unchecked: `next` gives `Other` for
    /// bytes that do not parse, and `consumed_all` tells whether the array took all of `buf`.
    /// (No elements when `buf` is not an array.)
    pub fn of_array(buf: &'a [u8]) -> Elements<'a> {
        match item(buf) {
            (Item::Array(n), start) => Elements { buf, at: start, left: n },
            _ => Elements { buf, at: buf.len(), left: 0 },
        }
    }

    /// Elements not yet read, as the header counts them.
    pub fn remaining(&self) -> usize {
        self.left
    }

    /// After the last element: whether the array ended exactly where `buf` does.
    pub fn consumed_all(&self) -> bool {
        self.left == 0 && self.at == self.buf.len()
    }
}

impl<'a> Iterator for Elements<'a> {
    type Item = Item<'a>;

    fn next(&mut self) -> Option<Item<'a>> {
        if self.left == 0 {
            return None;
        }
        let (it, used) = item(self.buf.get(self.at..)?);
        if used == 0 {
            self.left = 0;
            return Some(Item::Other);
        }
        self.at += used;
        self.left -= 1;
        Some(it)
    }
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

    #[test]
    fn arrays_element_by_element() {
        // A flat array: every element, then the end of the buffer.
        fn flat(buf: &[u8]) -> Option<Vec<Item<'_>>> {
            let mut e = Elements::of_array(buf);
            let items: Vec<Item<'_>> = e.by_ref().collect();
            let ok = e.consumed_all() && items.iter().all(|i| matches!(i, Item::Int(_) | Item::Bulk(_) | Item::Null));
            ok.then_some(items)
        }
        assert_eq!(flat(b"*3\r\n:1\r\n$1\r\nx\r\n$-1\r\n"), Some(vec![Item::Int(1), Item::Bulk(b"x"), Item::Null]));
        assert_eq!(flat(b"*0\r\n"), Some(vec![]));
        assert!(flat(b"*1\r\n*0\r\n").is_none());
        assert!(flat(b"*1\r\n+OK\r\n").is_none());
        assert!(flat(b"*2\r\n:1\r\n").is_none());
        assert!(flat(b"*1\r\n:1\r\n:2\r\n").is_none());
        // Bytes that do not parse end the elements with Other.
        let mut e = Elements::of_array(b"*2\r\n$9\r\nx\r\n:1\r\n");
        assert_eq!(e.next(), Some(Item::Other));
        assert_eq!(e.next(), None);
        assert!(!e.consumed_all());
    }
}
