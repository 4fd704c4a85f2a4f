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
