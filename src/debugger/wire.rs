//! The messages of a debugging session, and their frames on the pipes between a forked
//! session and the server (a 4-byte length, a tag, the body).

use crate::reply::Recording;

pub enum Message {
    /// A debugger command line, to the session.
    Command(Vec<Vec<u8>>),
    /// The log lines answering the last command (the session waits for the next).
    Logs(Vec<Vec<u8>>),
    /// The last log lines (ending with `<endsession>`) and the script's result.
    End(Vec<Vec<u8>>, Recording),
    /// The session could not go on: an error reply, and the connection closes.
    Failed(Vec<u8>),
}

fn put_list(out: &mut Vec<u8>, items: &[Vec<u8>]) {
    out.extend_from_slice(&(items.len() as u32).to_le_bytes());
    for i in items {
        out.extend_from_slice(&(i.len() as u32).to_le_bytes());
        out.extend_from_slice(i);
    }
}

fn take_u32(b: &mut &[u8]) -> Option<usize> {
    let (head, rest) = b.split_first_chunk::<4>()?;
    *b = rest;
    usize::try_from(u32::from_le_bytes(*head)).ok()
}

fn take_list(b: &mut &[u8]) -> Option<Vec<Vec<u8>>> {
    let n = take_u32(b)?;
    let mut out = Vec::with_capacity(n.min(4096));
    for _ in 0..n {
        let len = take_u32(b)?;
        let (item, rest) = b.split_at_checked(len)?;
        out.push(item.to_vec());
        *b = rest;
    }
    Some(out)
}

/// The message as a frame.
pub fn frame(m: &Message) -> Vec<u8> {
    let mut body = Vec::new();
    match m {
        Message::Command(argv) => {
            body.push(b'C');
            put_list(&mut body, argv);
        }
        Message::Logs(lines) => {
            body.push(b'L');
            put_list(&mut body, lines);
        }
        Message::End(lines, result) => {
            body.push(b'E');
            put_list(&mut body, lines);
            result.encode(&mut body);
        }
        Message::Failed(text) => {
            body.push(b'X');
            body.extend_from_slice(text);
        }
    }
    let mut out = (body.len() as u32).to_le_bytes().to_vec();
    out.extend_from_slice(&body);
    out
}

/// A frame's body back as a message.
pub fn message(body: &[u8]) -> Option<Message> {
    let (&tag, mut rest) = body.split_first()?;
    Some(match tag {
        b'C' => Message::Command(take_list(&mut rest)?),
        b'L' => Message::Logs(take_list(&mut rest)?),
        b'E' => {
            let lines = take_list(&mut rest)?;
            Message::End(lines, Recording::decode(rest)?)
        }
        b'X' => Message::Failed(rest.to_vec()),
        _ => return None,
    })
}

/// A command line from a frame body.
pub fn command(body: &[u8]) -> Option<Vec<Vec<u8>>> {
    match message(body)? {
        Message::Command(argv) => Some(argv),
        _ => None,
    }
}

/// The first complete frame in `buf`: its message and the bytes it used.
pub fn take_frame(buf: &[u8]) -> Option<(Message, usize)> {
    let mut b = buf;
    let len = take_u32(&mut b)?;
    let body = b.get(..len)?;
    Some((message(body)?, 4 + len))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reply::ReplySink;

    #[test]
    fn frames_round_trip() {
        let mut r = Recording::default();
        r.array(Some(2));
        r.bulk(b"x\0y");
        r.double(1.5);
        let f = frame(&Message::End(vec![b"a".to_vec(), b"<endsession>".to_vec()], r.clone()));
        let (m, used) = take_frame(&f).unwrap();
        assert_eq!(used, f.len());
        match m {
            Message::End(lines, rec) => {
                assert_eq!(lines.len(), 2);
                assert_eq!(rec, r);
            }
            _ => panic!("not an end"),
        }
        assert!(take_frame(&f[..f.len() - 1]).is_none());
        let c = frame(&Message::Command(vec![b"print".to_vec(), b"x".to_vec()]));
        assert_eq!(command(&c[4..]), Some(vec![b"print".to_vec(), b"x".to_vec()]));
    }
}
