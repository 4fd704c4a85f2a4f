//! The module's counters and gauges for `INFO alt`: plain atomics, updated where things
//! happen and read without any lock (INFO may run while a script holds the engine, and in a
//! crash report).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

pub struct Metric(AtomicU64);

impl Metric {
    const fn new() -> Metric {
        Metric(AtomicU64::new(0))
    }
    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }
    /// `add(1)` for a counter only the main thread writes (a run's counters): a plain load
    /// and store, no locked instruction on the run path; readers still see whole values.
    pub fn bump(&self) {
        self.0.store(self.0.load(Ordering::Relaxed).wrapping_add(1), Ordering::Relaxed);
    }
    pub fn set(&self, v: u64) {
        self.0.store(v, Ordering::Relaxed);
    }
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// A gauge read from what it describes when INFO runs: the owner publishes a reader while
/// what it reads is alive, and withdraws it (by the same id) before freeing it. Costs
/// nothing on the run path; the last value read stands in while nothing is published.
pub struct LiveGauge {
    source: Mutex<Option<Source>>,
    last: AtomicU64,
}

type Source = (usize, Box<dyn Fn() -> u64 + Send>);

impl LiveGauge {
    const fn new() -> LiveGauge {
        LiveGauge { source: Mutex::new(None), last: AtomicU64::new(0) }
    }

    pub fn publish(&self, id: usize, read: Box<dyn Fn() -> u64 + Send>) {
        if let Ok(mut source) = self.source.lock() {
            *source = Some((id, read));
        }
    }

    /// Stops reading `id` if it is the one published (what it reads is about to go).
    pub fn withdraw(&self, id: usize) {
        if let Ok(mut source) = self.source.lock() {
            if source.as_ref().is_some_and(|(published, _)| *published == id) {
                if let Some((_, read)) = source.take() {
                    self.last.store(read(), Ordering::Relaxed);
                }
            }
        }
    }

    pub fn get(&self) -> u64 {
        if let Ok(source) = self.source.try_lock() {
            if let Some((_, read)) = source.as_ref() {
                self.last.store(read(), Ordering::Relaxed);
            }
        }
        self.last.load(Ordering::Relaxed)
    }
}

/// Scripts in the EVAL cache, and the bytes of their bodies plus per-entry bookkeeping.
pub static CACHED_SCRIPTS: Metric = Metric::new();
pub static SCRIPTS_BYTES: Metric = Metric::new();
/// Bytes the Lua VMs in service hold, read from the VM when INFO runs (as native reads
/// used_memory_lua).
pub static EVAL_VM_BYTES: LiveGauge = LiveGauge::new();
pub static FUNCTIONS_VM_BYTES: LiveGauge = LiveGauge::new();
/// Function libraries and functions in service (set by the registry when it changes).
pub static LIBRARIES: Metric = Metric::new();
pub static FUNCTIONS: Metric = Metric::new();
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
    vec![
        (c"cached_scripts", CACHED_SCRIPTS.get()),
        (c"scripts_memory", SCRIPTS_BYTES.get()),
        (c"eval_vm_memory", EVAL_VM_BYTES.get()),
        (c"functions_vm_memory", FUNCTIONS_VM_BYTES.get()),
        (c"libraries", LIBRARIES.get()),
        (c"functions", FUNCTIONS.get()),
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
