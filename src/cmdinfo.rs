//! What a script's inner command is: the flags that script.c's checks need (write,
//! may-replicate, noscript) and its arity. 7.0 gives modules no API for command flags, so
//! they are read once per command from `COMMAND INFO` and kept for the process.

use rustc_hash::FxHashMap as HashMap;
use std::cell::RefCell;
use std::ffi::CString;
use std::rc::Rc;
use std::sync::{Arc, Mutex};

use crate::host::{Ctx, KeyPositions, ReplyKind, ReplyRef};

#[derive(Clone, Debug)]
pub struct CmdInfo {
    /// The name to hand RM_Call: the command's own (lower-case) name, the container's for
    /// a subcommand.
    pub call_name: CString,
    pub arity: i64,
    pub write: bool,
    pub may_replicate: bool,
    pub noscript: bool,
    /// Where its keys are, for a command whose keys sit at fixed positions (not `movablekeys`).
    pub keys: Option<KeyPositions>,
    /// `container|sub` (lower case) -> subcommand.
    subcommands: HashMap<Vec<u8>, Arc<CmdInfo>>,
}

impl CmdInfo {
    pub fn arity_ok(&self, argc: usize) -> bool {
        let argc = i64::try_from(argc).unwrap_or(i64::MAX);
        if self.arity >= 0 {
            self.arity == argc
        } else {
            argc >= -self.arity
        }
    }
}

/// Commands whose `may_replicate` flag COMMAND INFO hides on purpose (server.c
/// addReplyFlagsForCommand); scripts treat them as writes in read-only runs.
const MAY_REPLICATE: &[&[u8]] = &[b"publish", b"spublish", b"pfcount", b"eval", b"evalsha", b"fcall"];

/// FxHash: keys are names the host knows (unknown names are never stored), looked up on
/// every `redis.call`.
type Table = HashMap<Vec<u8>, Arc<CmdInfo>>;
static TABLE: Mutex<Option<Table>> = Mutex::new(None);

/// The last few commands looked up, by their exact names as the script spelled them: a
/// script's redis.call names mostly repeat from call to call, and a hit here skips the lock,
/// the lower-casing and the hash. Never a container (those need the subcommand). Held as
/// `Rc`, this thread's own copies: a hit takes no locked instruction.
struct Recent {
    entries: [Option<(Vec<u8>, Rc<CmdInfo>)>; 4],
    /// The entry the next miss replaces (round robin).
    next: usize,
}

impl Recent {
    const EMPTY: Recent = Recent { entries: [None, None, None, None], next: 0 };

    fn get(&self, name: &[u8]) -> Option<Rc<CmdInfo>> {
        self.entries.iter().flatten().find(|(n, _)| n == name).map(|(_, info)| info.clone())
    }

    fn remember(&mut self, name: &[u8], info: &Rc<CmdInfo>) {
        let slot = self.next % self.entries.len();
        self.next = slot + 1;
        if let Some(entry) = self.entries.get_mut(slot) {
            let mut spelled = entry.take().map(|(n, _)| n).unwrap_or_default();
            spelled.clear();
            spelled.extend_from_slice(name);
            *entry = Some((spelled, info.clone()));
        }
    }
}

thread_local! {
    // Const-initialized: no first-use check on every lookup.
    static RECENT: RefCell<Recent> = const { RefCell::new(Recent::EMPTY) };
}

/// Forgets every cached command (module load/unload).
pub fn reset() {
    if let Ok(mut t) = TABLE.lock() {
        *t = None;
    }
    let _ = RECENT.try_with(|r| *r.borrow_mut() = Recent::EMPTY);
}

/// The command `name` with first argument `first` names (the subcommand's entry for a
/// container), or `None` if the host does not know it (RM_Call then answers with its own
/// error, which the run context translates).
pub fn lookup(ctx: &Ctx, name: &[u8], first: Option<&[u8]>) -> Option<Rc<CmdInfo>> {
    if let Ok(Some(info)) = RECENT.try_with(|r| r.borrow().get(name)) {
        return Some(info);
    }
    let mut buf = [0u8; 64];
    let lower = lower_into(name, &mut buf)?;
    let info = cached(lower).or_else(|| fetch(ctx, lower))?;
    if info.subcommands.is_empty() {
        let info = Rc::new(CmdInfo::clone(&info));
        let _ = RECENT.try_with(|r| r.borrow_mut().remember(name, &info));
        return Some(info);
    }
    let mut key = Vec::with_capacity(lower.len() + 16);
    key.extend_from_slice(lower);
    key.push(b'|');
    key.extend(first?.iter().map(u8::to_ascii_lowercase));
    info.subcommands.get(&key).map(|sub| Rc::new(CmdInfo::clone(sub)))
}

fn lower_into<'a>(name: &[u8], buf: &'a mut [u8; 64]) -> Option<&'a mut [u8]> {
    let out = buf.get_mut(..name.len())?;
    for (d, s) in out.iter_mut().zip(name) {
        *d = s.to_ascii_lowercase();
    }
    Some(out)
}

fn cached(name: &[u8]) -> Option<Arc<CmdInfo>> {
    TABLE.lock().ok()?.as_ref()?.get(name).cloned()
}

fn fetch(ctx: &Ctx, name: &[u8]) -> Option<Arc<CmdInfo>> {
    let call_name = CString::new(name).ok()?;
    let reply = ctx.call(c"COMMAND", c"vE", &[b"INFO", name])?;
    let root = reply.root();
    let ReplyKind::Array(1) = root.kind() else { return None };
    let info = Arc::new(parse_entry(root.element(0)?, &call_name)?);
    let mut table = TABLE.lock().ok()?;
    table.get_or_insert_with(HashMap::default).insert(name.to_vec(), info.clone());
    Some(info)
}

/// One COMMAND INFO entry: [name, arity, flags, first, last, step, acl, tips, keyspecs, subcommands].
fn parse_entry(entry: ReplyRef<'_>, call_name: &CString) -> Option<CmdInfo> {
    let ReplyKind::Bulk(name) = entry.element(0)?.kind() else { return None };
    let ReplyKind::Int(arity) = entry.element(1)?.kind() else { return None };
    let lower: Vec<u8> = name.iter().map(u8::to_ascii_lowercase).collect();
    let mut info = CmdInfo {
        call_name: call_name.clone(),
        arity,
        write: false,
        may_replicate: MAY_REPLICATE.contains(&lower.as_slice()),
        noscript: false,
        keys: None,
        subcommands: HashMap::default(),
    };
    let mut movable = false;
    let flags = entry.element(2)?;
    if let ReplyKind::Array(n) | ReplyKind::Set(n) = flags.kind() {
        for i in 0..n {
            match flags.element(i).map(|f| f.kind()) {
                Some(ReplyKind::Status(b"write") | ReplyKind::Bulk(b"write")) => info.write = true,
                Some(ReplyKind::Status(b"noscript") | ReplyKind::Bulk(b"noscript")) => info.noscript = true,
                Some(ReplyKind::Status(b"movablekeys") | ReplyKind::Bulk(b"movablekeys")) => movable = true,
                _ => {}
            }
        }
    }
    let int_at = |i| match entry.element(i).map(|e| e.kind()) {
        Some(ReplyKind::Int(v)) => Some(v),
        _ => None,
    };
    if let (false, Some(first), Some(last), Some(step)) = (movable, int_at(3), int_at(4), int_at(5)) {
        if let (Ok(first @ 1..), Ok(last), Ok(step @ 1..)) =
            (usize::try_from(first), isize::try_from(last), usize::try_from(step))
        {
            info.keys = Some(KeyPositions { first, last, step });
        }
    }
    if let Some(subs) = entry.element(9) {
        if let ReplyKind::Array(n) = subs.kind() {
            for i in 0..n {
                let Some(sub) = subs.element(i) else { continue };
                let Some(ReplyKind::Bulk(sub_name)) = sub.element(0).map(|s| s.kind()) else { continue };
                let key: Vec<u8> = sub_name.iter().map(u8::to_ascii_lowercase).collect();
                if let Some(parsed) = parse_entry(sub, call_name) {
                    info.subcommands.insert(key, Arc::new(parsed));
                }
            }
        }
    }
    Some(info)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(name: &str) -> Rc<CmdInfo> {
        Rc::new(CmdInfo {
            call_name: CString::new(name).unwrap_or_default(),
            arity: -1,
            write: false,
            may_replicate: false,
            noscript: false,
            keys: None,
            subcommands: HashMap::default(),
        })
    }

    #[test]
    fn recent_keeps_the_last_four_by_exact_spelling() {
        let mut recent = Recent::EMPTY;
        for name in ["SET", "GET", "HSET", "HGETALL", "INCR"] {
            recent.remember(name.as_bytes(), &info(&name.to_ascii_lowercase()));
        }
        // The oldest went first; the others answer with their own entry.
        assert!(recent.get(b"SET").is_none());
        for name in ["GET", "HSET", "HGETALL", "INCR"] {
            let hit = recent.get(name.as_bytes()).map(|i| i.call_name.clone());
            assert_eq!(hit, Some(CString::new(name.to_ascii_lowercase()).unwrap_or_default()));
        }
        // Another spelling is another entry (looked up through the table, then kept).
        assert!(recent.get(b"incr").is_none());
    }
}
