//! Function libraries in the RDB (aux data, before the keyspace): the number of libraries,
//! then each library's code. Loading replaces the registry with the RDB's libraries
//! (startup, a full sync, a plain DEBUG RELOAD); `DEBUG RELOAD NOFLUSH` refuses duplicates
//! and `NOFLUSH MERGE` lets them replace, as natively. Reads and writes the registry through
//! `state` (the registry itself, functions.rs, knows nothing of persistence).

use std::sync::atomic::{AtomicBool, Ordering};

use crate::compat::ReloadLibraries;
use crate::host::{LoadSource, LogLevel, RdbIo};
use crate::state;

/// How the RDB load starting now treats libraries already loaded.
static POLICY: std::sync::Mutex<Option<ReloadLibraries>> = std::sync::Mutex::new(None);
/// Whether the load under way replaces the libraries even if its data carries none (an
/// RDB or a full sync: on hosts with aux_save2 an RDB without libraries has no record of
/// ours at all), and whether a record of ours came.
static REPLACE_IF_ABSENT: AtomicBool = AtomicBool::new(false);
static RECORD_SEEN: AtomicBool = AtomicBool::new(false);

pub fn loading_started(source: LoadSource) {
    // A full sync always replaces; a reload does what its DEBUG RELOAD options said.
    let policy = match source {
        LoadSource::Replication => ReloadLibraries::Replace,
        LoadSource::Rdb | LoadSource::Aof => crate::compat::take_reload_policy(),
    };
    if let Ok(mut p) = POLICY.lock() {
        *p = Some(policy);
    }
    let rdb = matches!(source, LoadSource::Rdb | LoadSource::Replication);
    REPLACE_IF_ABSENT.store(rdb && policy == ReloadLibraries::Replace, Ordering::SeqCst);
    RECORD_SEEN.store(false, Ordering::SeqCst);
}

/// The load is done: an RDB that replaces the libraries but carried no record of ours
/// leaves none (as a native full sync or DEBUG RELOAD of an RDB without functions).
pub fn loading_ended() {
    if REPLACE_IF_ABSENT.swap(false, Ordering::SeqCst) && !RECORD_SEEN.load(Ordering::SeqCst) {
        let _ = state::with_functions(|f| f.restore(&[], crate::functions::RestorePolicy::Flush));
    }
}

/// Whether an RDB needs our record: on hosts with aux_save2, none is written without
/// libraries, so a server that tried the module can start without it.
pub fn has_libraries() -> bool {
    crate::metrics::LIBRARIES.get() > 0
}

pub fn save(io: &mut RdbIo) {
    let codes = state::with_functions(|f| Ok(f.codes())).unwrap_or_default();
    io.save_u64(u64::try_from(codes.len()).unwrap_or(0));
    for code in codes {
        io.save_bytes(&code);
    }
}

pub fn load(io: &mut RdbIo) -> bool {
    RECORD_SEEN.store(true, Ordering::SeqCst);
    let Some(count) = io.load_u64() else { return false };
    let mut codes = Vec::new();
    for _ in 0..count {
        let Some(code) = io.load_bytes() else { return false };
        codes.push(code);
    }
    let policy = match POLICY.lock().ok().and_then(|p| *p).unwrap_or(ReloadLibraries::Replace) {
        ReloadLibraries::Replace => crate::functions::RestorePolicy::Flush,
        ReloadLibraries::Merge => crate::functions::RestorePolicy::Replace,
        ReloadLibraries::Refuse => crate::functions::RestorePolicy::Append,
    };
    match state::with_functions(|f| f.restore(&codes, policy)) {
        Ok(()) => true,
        Err(e) => {
            let text = String::from_utf8_lossy(&e.text()).into_owned();
            crate::host::log_any_thread(LogLevel::Warning, &format!("Libraries in the RDB failed to load: {text}"));
            false
        }
    }
}
