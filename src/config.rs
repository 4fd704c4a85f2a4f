//! Settings: the module's own configs (`alt.*`, CONFIG GET/SET at runtime, or
//! `--loadmodule ... <name> <value>`) and the host configs scripts depend on, cached and
//! refreshed when the host reports a config change (so no script run pays a CONFIG GET).

use std::sync::atomic::{AtomicI64, Ordering};

use crate::host::{self, Ctx};

/// `alt.script-memory-limit`: bytes the EVAL VM may use; 0 = unlimited.
pub static SCRIPT_MEMORY_LIMIT: AtomicI64 = AtomicI64::new(0);
/// `alt.script-time-limit`: milliseconds after which a script that has not written is
/// killed; 0 = never.
pub static SCRIPT_TIME_LIMIT: AtomicI64 = AtomicI64::new(0);

/// The host's `busy-reply-threshold` (alias `lua-time-limit`), in milliseconds.
static BUSY_REPLY_THRESHOLD: AtomicI64 = AtomicI64::new(5000);

pub fn script_memory_limit() -> usize {
    usize::try_from(SCRIPT_MEMORY_LIMIT.load(Ordering::Relaxed)).unwrap_or(0)
}

pub fn script_time_limit_ms() -> u64 {
    u64::try_from(SCRIPT_TIME_LIMIT.load(Ordering::Relaxed)).unwrap_or(0)
}

pub fn busy_reply_threshold_ms() -> u64 {
    u64::try_from(BUSY_REPLY_THRESHOLD.load(Ordering::Relaxed)).unwrap_or(0)
}

/// Re-reads the host configs we cache. Called at load and on every config change event.
pub fn refresh_host_configs(ctx: &Ctx) {
    if let Some(v) = host::config_get(ctx, b"busy-reply-threshold")
        .and_then(|v| String::from_utf8(v).ok())
        .and_then(|v| v.parse::<i64>().ok())
    {
        BUSY_REPLY_THRESHOLD.store(v, Ordering::Relaxed);
    }
}
