//! The module's counters and gauges for `INFO alt`: plain atomics, updated where things
//! happen and read without any lock (INFO may run while a script holds the engine, and in a
//! crash report).

use std::sync::atomic::{AtomicU64, Ordering};

pub struct Metric(AtomicU64);

impl Metric {
    const fn new() -> Metric {
        Metric(AtomicU64::new(0))
    }
    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }
    pub fn set(&self, v: u64) {
        self.0.store(v, Ordering::Relaxed);
    }
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Scripts in the EVAL cache, and the bytes of their bodies plus per-entry bookkeeping.
pub static CACHED_SCRIPTS: Metric = Metric::new();
pub static SCRIPTS_BYTES: Metric = Metric::new();
/// Bytes the Lua VMs hold: set when a VM goes into service or loads code, and refreshed with
/// every periodic GC step (each 50 runs), not on every run.
pub static EVAL_VM_BYTES: Metric = Metric::new();
pub static FUNCTIONS_VM_BYTES: Metric = Metric::new();
/// ALT.EVAL scripts dropped by the cache bounds.
pub static EVICTED_SCRIPTS: Metric = Metric::new();
/// Runs, and runs that ended in an error, of EVAL scripts and of functions.
pub static EVAL_CALLS: Metric = Metric::new();
pub static EVAL_ERRORS: Metric = Metric::new();
pub static FCALL_CALLS: Metric = Metric::new();
pub static FCALL_ERRORS: Metric = Metric::new();
/// Scripts ended by ALT.SCRIPT KILL / ALT.FUNCTION KILL, and by alt.script-time-limit.
pub static KILLS: Metric = Metric::new();
pub static TIME_LIMIT_KILLS: Metric = Metric::new();
/// Runs that hit alt.script-memory-limit.
pub static MEMORY_LIMIT_HITS: Metric = Metric::new();

/// Zeroes the counters (module load); gauges are set by the state they describe.
pub fn reset() {
    for m in [
        &EVICTED_SCRIPTS,
        &EVAL_CALLS,
        &EVAL_ERRORS,
        &FCALL_CALLS,
        &FCALL_ERRORS,
        &KILLS,
        &TIME_LIMIT_KILLS,
        &MEMORY_LIMIT_HITS,
    ] {
        m.set(0);
    }
}

/// Every `INFO alt` field, in order (the host prefixes each with `alt_`).
pub fn info_fields() -> Vec<(&'static std::ffi::CStr, u64)> {
    let (libraries, functions) = crate::functions::counts();
    vec![
        (c"cached_scripts", CACHED_SCRIPTS.get()),
        (c"scripts_memory", SCRIPTS_BYTES.get()),
        (c"eval_vm_memory", EVAL_VM_BYTES.get()),
        (c"functions_vm_memory", FUNCTIONS_VM_BYTES.get()),
        (c"libraries", libraries as u64),
        (c"functions", functions as u64),
        (c"evicted_scripts", EVICTED_SCRIPTS.get()),
        (c"async_flushes_in_flight", crate::lazyfree::in_flight()),
        (c"async_flushes_done", crate::lazyfree::done()),
        (c"eval_calls", EVAL_CALLS.get()),
        (c"eval_errors", EVAL_ERRORS.get()),
        (c"fcall_calls", FCALL_CALLS.get()),
        (c"fcall_errors", FCALL_ERRORS.get()),
        (c"kills", KILLS.get()),
        (c"time_limit_kills", TIME_LIMIT_KILLS.get()),
        (c"memory_limit_hits", MEMORY_LIMIT_HITS.get()),
    ]
}
