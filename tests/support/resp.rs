//! A raw RESP connection, for what the redis crate hides: commands encoded exactly as
//! redis-cli encodes them (an array of bulk strings), replies read one at a time with every
//! RESP2 and RESP3 type kept apart (a status is not a bulk string, an array not a set), several
//! replies to one command (the Lua debugger's last log array, then the script's reply), and the
//! server closing the connection.

use std::io::{self, ErrorKind, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::{Duration, Instant};

#[derive(Clone, Debug, PartialEq)]
pub enum Reply {
    Status(String),
    Error(String),
    Int(i64),
    Bulk(Vec<u8>),
    /// `$-1`
    NullBulk,
    /// `*-1`
    NullArray,
    /// RESP3 `_`
    Null,
    Array(Vec<Reply>),
    Set(Vec<Reply>),
    Push(Vec<Reply>),
    Map(Vec<(Reply, Reply)>),
    Double(String),
    Bool(bool),
    BigNumber(String),
    Verbatim(String, Vec<u8>),
}

impl Reply {
    /// One line of text keeping every distinction of the protocol.
    pub fn show(&self) -> String {
        let list = |items: &[Reply]| items.iter().map(Reply::show).collect::<Vec<_>>().join(", ");
        match self {
            Reply::Status(s) => format!("+{s}"),
            Reply::Error(e) => format!("-{e}"),
            Reply::Int(i) => format!(":{i}"),
            Reply::Bulk(b) => format!("${}", String::from_utf8_lossy(b)),
            Reply::NullBulk => "$-1".into(),
            Reply::NullArray => "*-1".into(),
            Reply::Null => "_".into(),
            Reply::Array(items) => format!("[{}]", list(items)),
            Reply::Set(items) => format!("~[{}]", list(items)),
            Reply::Push(items) => format!(">[{}]", list(items)),
            Reply::Map(pairs) => format!(
                "%{{{}}}",
                pairs.iter().map(|(k, v)| format!("{} => {}", k.show(), v.show())).collect::<Vec<_>>().join(", ")
            ),
            Reply::Double(d) => format!(",{d}"),
            Reply::Bool(b) => format!("#{}", if *b { "t" } else { "f" }),
            Reply::BigNumber(n) => format!("({n}"),
            Reply::Verbatim(f, t) => format!("={f}:{}", String::from_utf8_lossy(t)),
        }
    }

    /// The elements of an array of status lines (the debugger's log replies), else None.
    pub fn status_lines(&self) -> Option<Vec<String>> {
        match self {
            Reply::Array(items) => items
                .iter()
                .map(|i| match i {
                    Reply::Status(s) => Some(s.clone()),
                    _ => None,
                })
                .collect(),
            _ => None,
        }
    }
}

#[derive(Debug)]
pub enum ReadError {
    /// The server closed the connection (EOF).
    Closed,
    /// The connection was reset (the server closed it with unread input).
    Reset,
    /// Nothing came within the read timeout.
    Timeout,
    /// Bytes that are not RESP.
    Protocol(String),
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadError::Closed => write!(f, "<connection closed>"),
            ReadError::Reset => write!(f, "<connection reset>"),
            ReadError::Timeout => write!(f, "<no reply (timeout)>"),
            ReadError::Protocol(p) => write!(f, "<protocol error: {p}>"),
        }
    }
}

/// A command as redis-cli sends it: `*<argc>` then each argument as a bulk string.
pub fn encode(argv: &[&[u8]]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", argv.len()).into_bytes();
    for a in argv {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
    out
}

pub struct RawCon {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl RawCon {
    /// Connects to 127.0.0.1:`port` with a 10 s read timeout.
    pub fn connect(port: u16) -> RawCon {
        let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        stream.set_read_timeout(Some(Duration::from_secs(10))).expect("read timeout");
        stream.set_write_timeout(Some(Duration::from_secs(10))).expect("write timeout");
        RawCon { stream, buf: Vec::new() }
    }

    pub fn set_read_timeout(&self, limit: Duration) {
        self.stream.set_read_timeout(Some(limit)).expect("read timeout");
    }

    /// A second handle on the same socket (to write from another thread).
    pub fn try_clone_stream(&self) -> TcpStream {
        self.stream.try_clone().expect("clone socket")
    }

    pub fn send(&mut self, argv: &[&[u8]]) -> io::Result<()> {
        self.stream.write_all(&encode(argv))
    }

    pub fn send_str(&mut self, argv: &[&str]) -> io::Result<()> {
        let argv: Vec<&[u8]> = argv.iter().map(|a| a.as_bytes()).collect();
        self.send(&argv)
    }

    pub fn send_raw(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.stream.write_all(bytes)
    }

    /// Sends `argv` and reads one reply; a failed write reads what the server sent before.
    pub fn call(&mut self, argv: &[&str]) -> Result<Reply, ReadError> {
        let _ = self.send_str(argv);
        self.read()
    }

    /// Closes both directions of the socket now.
    pub fn shutdown(&self) {
        let _ = self.stream.shutdown(Shutdown::Both);
    }

    fn fill(&mut self) -> Result<(), ReadError> {
        let mut chunk = [0u8; 65536];
        match self.stream.read(&mut chunk) {
            Ok(0) => Err(ReadError::Closed),
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                Ok(())
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => Err(ReadError::Timeout),
            Err(e) if e.kind() == ErrorKind::Interrupted => Ok(()),
            Err(_) => Err(ReadError::Reset),
        }
    }

    fn line(&mut self) -> Result<Vec<u8>, ReadError> {
        loop {
            if let Some(end) = self.buf.windows(2).position(|w| w == b"\r\n") {
                let line = self.buf[..end].to_vec();
                self.buf.drain(..end + 2);
                return Ok(line);
            }
            self.fill()?;
        }
    }

    fn exact(&mut self, n: usize) -> Result<Vec<u8>, ReadError> {
        while self.buf.len() < n + 2 {
            self.fill()?;
        }
        let data = self.buf[..n].to_vec();
        self.buf.drain(..n + 2);
        Ok(data)
    }

    /// Reads one reply.
    pub fn read(&mut self) -> Result<Reply, ReadError> {
        let line = self.line()?;
        let Some((&kind, rest)) = line.split_first() else {
            return Err(ReadError::Protocol("empty line".into()));
        };
        let text = String::from_utf8_lossy(rest).into_owned();
        let len = |t: &str| t.parse::<i64>().map_err(|_| ReadError::Protocol(format!("bad length {t:?}")));
        Ok(match kind {
            b'+' => Reply::Status(text),
            b'-' => Reply::Error(text),
            b':' => Reply::Int(len(&text)?),
            b',' => Reply::Double(text),
            b'#' => Reply::Bool(text == "t"),
            b'(' => Reply::BigNumber(text),
            b'_' => Reply::Null,
            b'$' | b'=' | b'!' => {
                let n = len(&text)?;
                if n < 0 {
                    Reply::NullBulk
                } else {
                    let data = self.exact(n as usize)?;
                    match kind {
                        b'$' => Reply::Bulk(data),
                        b'!' => Reply::Error(String::from_utf8_lossy(&data).into_owned()),
                        _ => {
                            let format = String::from_utf8_lossy(&data[..3.min(data.len())]).into_owned();
                            Reply::Verbatim(format, data.get(4..).unwrap_or_default().to_vec())
                        }
                    }
                }
            }
            b'*' | b'~' | b'>' => {
                let n = len(&text)?;
                if n < 0 {
                    Reply::NullArray
                } else {
                    let items = (0..n).map(|_| self.read()).collect::<Result<Vec<_>, _>>()?;
                    match kind {
                        b'*' => Reply::Array(items),
                        b'~' => Reply::Set(items),
                        _ => Reply::Push(items),
                    }
                }
            }
            b'%' => {
                let n = len(&text)?;
                let mut pairs = Vec::new();
                for _ in 0..n.max(0) {
                    let k = self.read()?;
                    let v = self.read()?;
                    pairs.push((k, v));
                }
                Reply::Map(pairs)
            }
            other => return Err(ReadError::Protocol(format!("type byte {:?}", other as char))),
        })
    }

    /// Waits until the server closes the connection (EOF or reset). Err describes what came
    /// instead: data, or nothing within `limit`.
    pub fn wait_closed(&mut self, limit: Duration) -> Result<(), String> {
        if !self.buf.is_empty() {
            return Err(format!("unread data {:?}", String::from_utf8_lossy(&self.buf)));
        }
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(format!("still open after {limit:?}"));
            }
            self.set_read_timeout(left.min(Duration::from_millis(200)));
            match self.fill() {
                Err(ReadError::Closed) | Err(ReadError::Reset) => return Ok(()),
                Err(ReadError::Timeout) => continue,
                Err(e) => return Err(e.to_string()),
                Ok(()) => return Err(format!("data instead of a close: {:?}", String::from_utf8_lossy(&self.buf))),
            }
        }
    }
}
