//! The reply vocabulary shared by the Lua binding and the host: a sink that the script's result
//! is written into, value by value, so that no intermediate tree is built on the call path.
//! host/mod.rs implements it over RedisModule_ReplyWith*; unit tests implement it over a Vec.

/// Writes one reply to the calling client. Containers are opened with a length, or with
/// `None` when the length is only known at the end (then `end_*` gives it).
pub trait ReplySink {
    fn bulk(&mut self, s: &[u8]);
    /// A status reply (`+...`). The sink truncates at NUL and maps CR/LF to spaces.
    fn status(&mut self, s: &[u8]);
    /// An error reply; `s` starts with its code (`ERR ...`). CR/LF become spaces.
    fn error(&mut self, s: &[u8]);
    fn int(&mut self, i: i64);
    fn double(&mut self, d: f64);
    /// The caller's null (`$-1` in RESP2, `_` in RESP3).
    fn null(&mut self);
    fn boolean(&mut self, b: bool);
    fn big_number(&mut self, s: &[u8]);
    fn verbatim(&mut self, s: &[u8], format: &[u8]);
    fn array(&mut self, len: Option<usize>);
    fn end_array(&mut self, len: usize);
    fn map(&mut self, len: Option<usize>);
    fn end_map(&mut self, len: usize);
    fn set(&mut self, len: Option<usize>);
    fn end_set(&mut self, len: usize);
}

/// CR and LF inside a status or error line would break the protocol: Redis maps them to spaces.
pub fn protocol_safe(s: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    if s.iter().any(|&b| b == b'\r' || b == b'\n') {
        std::borrow::Cow::Owned(s.iter().map(|&b| if b == b'\r' || b == b'\n' { b' ' } else { b }).collect())
    } else {
        std::borrow::Cow::Borrowed(s)
    }
}

/// A reply recorded value by value, to be written later or elsewhere (a debugging session
/// runs its script in a fiber or a forked child and the client gets the result from the
/// main thread), with a byte encoding for the trip through a pipe.
#[derive(Default, Debug, Clone, PartialEq)]
pub struct Recording(Vec<Op>);

#[derive(Debug, Clone, PartialEq)]
enum Op {
    Bulk(Vec<u8>),
    Status(Vec<u8>),
    Error(Vec<u8>),
    Int(i64),
    Double(f64),
    Null,
    Bool(bool),
    BigNumber(Vec<u8>),
    Verbatim(Vec<u8>, Vec<u8>),
    Open(u8, Option<usize>),
    Close(u8, usize),
}

impl ReplySink for Recording {
    fn bulk(&mut self, s: &[u8]) {
        self.0.push(Op::Bulk(s.to_vec()))
    }
    fn status(&mut self, s: &[u8]) {
        self.0.push(Op::Status(s.to_vec()))
    }
    fn error(&mut self, s: &[u8]) {
        self.0.push(Op::Error(s.to_vec()))
    }
    fn int(&mut self, i: i64) {
        self.0.push(Op::Int(i))
    }
    fn double(&mut self, d: f64) {
        self.0.push(Op::Double(d))
    }
    fn null(&mut self) {
        self.0.push(Op::Null)
    }
    fn boolean(&mut self, b: bool) {
        self.0.push(Op::Bool(b))
    }
    fn big_number(&mut self, s: &[u8]) {
        self.0.push(Op::BigNumber(s.to_vec()))
    }
    fn verbatim(&mut self, s: &[u8], format: &[u8]) {
        self.0.push(Op::Verbatim(s.to_vec(), format.to_vec()))
    }
    fn array(&mut self, len: Option<usize>) {
        self.0.push(Op::Open(b'*', len))
    }
    fn end_array(&mut self, len: usize) {
        self.0.push(Op::Close(b'*', len))
    }
    fn map(&mut self, len: Option<usize>) {
        self.0.push(Op::Open(b'%', len))
    }
    fn end_map(&mut self, len: usize) {
        self.0.push(Op::Close(b'%', len))
    }
    fn set(&mut self, len: Option<usize>) {
        self.0.push(Op::Open(b'~', len))
    }
    fn end_set(&mut self, len: usize) {
        self.0.push(Op::Close(b'~', len))
    }
}

impl Recording {
    /// Writes the recorded reply to `sink`.
    pub fn replay(&self, sink: &mut dyn ReplySink) {
        for op in &self.0 {
            match op {
                Op::Bulk(s) => sink.bulk(s),
                Op::Status(s) => sink.status(s),
                Op::Error(s) => sink.error(s),
                Op::Int(i) => sink.int(*i),
                Op::Double(d) => sink.double(*d),
                Op::Null => sink.null(),
                Op::Bool(b) => sink.boolean(*b),
                Op::BigNumber(s) => sink.big_number(s),
                Op::Verbatim(s, f) => sink.verbatim(s, f),
                Op::Open(b'*', n) => sink.array(*n),
                Op::Open(b'%', n) => sink.map(*n),
                Op::Open(_, n) => sink.set(*n),
                Op::Close(b'*', n) => sink.end_array(*n),
                Op::Close(b'%', n) => sink.end_map(*n),
                Op::Close(_, n) => sink.end_set(*n),
            }
        }
    }

    /// The recording as bytes (`decode` reads them back).
    pub fn encode(&self, out: &mut Vec<u8>) {
        let bytes = |out: &mut Vec<u8>, tag: u8, s: &[u8]| {
            out.push(tag);
            out.extend_from_slice(&(s.len() as u64).to_le_bytes());
            out.extend_from_slice(s);
        };
        let num = |out: &mut Vec<u8>, tag: u8, n: u64| {
            out.push(tag);
            out.extend_from_slice(&n.to_le_bytes());
        };
        for op in &self.0 {
            match op {
                Op::Bulk(s) => bytes(out, b'$', s),
                Op::Status(s) => bytes(out, b'+', s),
                Op::Error(s) => bytes(out, b'-', s),
                Op::Int(i) => num(out, b':', *i as u64),
                Op::Double(d) => num(out, b',', d.to_bits()),
                Op::Null => out.push(b'_'),
                Op::Bool(b) => out.push(if *b { b't' } else { b'f' }),
                Op::BigNumber(s) => bytes(out, b'(', s),
                Op::Verbatim(s, f) => {
                    bytes(out, b'=', s);
                    bytes(out, b'=', f);
                }
                Op::Open(kind, n) => num(out, kind.to_ascii_lowercase() | 0x80, n.map_or(u64::MAX, |n| n as u64)),
                Op::Close(kind, n) => num(out, *kind, *n as u64),
            }
        }
    }

    pub fn decode(mut b: &[u8]) -> Option<Recording> {
        fn take<'a>(b: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
            let (head, rest) = b.split_at_checked(n)?;
            *b = rest;
            Some(head)
        }
        fn num(b: &mut &[u8]) -> Option<u64> {
            Some(u64::from_le_bytes(take(b, 8)?.try_into().ok()?))
        }
        fn bytes(b: &mut &[u8]) -> Option<Vec<u8>> {
            let n = usize::try_from(num(b)?).ok()?;
            Some(take(b, n)?.to_vec())
        }
        let mut ops = Vec::new();
        while let Some((&tag, rest)) = b.split_first() {
            b = rest;
            ops.push(match tag {
                b'$' => Op::Bulk(bytes(&mut b)?),
                b'+' => Op::Status(bytes(&mut b)?),
                b'-' => Op::Error(bytes(&mut b)?),
                b':' => Op::Int(num(&mut b)? as i64),
                b',' => Op::Double(f64::from_bits(num(&mut b)?)),
                b'_' => Op::Null,
                b't' => Op::Bool(true),
                b'f' => Op::Bool(false),
                b'(' => Op::BigNumber(bytes(&mut b)?),
                b'=' => {
                    let s = bytes(&mut b)?;
                    b = b.strip_prefix(b"=")?;
                    Op::Verbatim(s, bytes(&mut b)?)
                }
                b'*' | b'%' | b'~' => Op::Close(tag, usize::try_from(num(&mut b)?).ok()?),
                t if t & 0x80 != 0 => {
                    let n = num(&mut b)?;
                    let kind = match t & 0x7f {
                        b'*' => b'*',
                        b'%' => b'%',
                        _ => b'~',
                    };
                    Op::Open(kind, (n != u64::MAX).then(|| usize::try_from(n).unwrap_or(usize::MAX)))
                }
                _ => return None,
            });
        }
        Some(Recording(ops))
    }
}

#[cfg(test)]
pub mod testing {
    //! A sink that records replies as text, for unit tests of the conversions.
    use super::ReplySink;

    #[derive(Default)]
    pub struct Recorder(pub Vec<String>);

    impl Recorder {
        fn push(&mut self, s: String) {
            self.0.push(s)
        }
    }

    impl ReplySink for Recorder {
        fn bulk(&mut self, s: &[u8]) {
            self.push(format!("${}", String::from_utf8_lossy(s)))
        }
        fn status(&mut self, s: &[u8]) {
            self.push(format!("+{}", String::from_utf8_lossy(s)))
        }
        fn error(&mut self, s: &[u8]) {
            self.push(format!("-{}", String::from_utf8_lossy(s)))
        }
        fn int(&mut self, i: i64) {
            self.push(format!(":{i}"))
        }
        fn double(&mut self, d: f64) {
            self.push(format!(",{d}"))
        }
        fn null(&mut self) {
            self.push("_".into())
        }
        fn boolean(&mut self, b: bool) {
            self.push(format!("#{}", if b { 't' } else { 'f' }))
        }
        fn big_number(&mut self, s: &[u8]) {
            self.push(format!("({}", String::from_utf8_lossy(s)))
        }
        fn verbatim(&mut self, s: &[u8], f: &[u8]) {
            self.push(format!("={}:{}", String::from_utf8_lossy(f), String::from_utf8_lossy(s)))
        }
        fn array(&mut self, len: Option<usize>) {
            self.push(format!("*{}", len.map_or("?".into(), |l| l.to_string())))
        }
        fn end_array(&mut self, len: usize) {
            self.push(format!("*end{len}"))
        }
        fn map(&mut self, len: Option<usize>) {
            self.push(format!("%{}", len.map_or("?".into(), |l| l.to_string())))
        }
        fn end_map(&mut self, len: usize) {
            self.push(format!("%end{len}"))
        }
        fn set(&mut self, len: Option<usize>) {
            self.push(format!("~{}", len.map_or("?".into(), |l| l.to_string())))
        }
        fn end_set(&mut self, len: usize) {
            self.push(format!("~end{len}"))
        }
    }
}
