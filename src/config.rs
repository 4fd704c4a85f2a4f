//! Settings: the module's own configs (`alt.*`, CONFIG GET/SET at runtime, or
//! `--loadmodule ... <name> <value>`) and the host configs scripts depend on, cached and
//! refreshed when the host reports a config change (so no script run pays a CONFIG GET).

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};

use crate::host::{self, Ctx};

/// `alt.script-memory-limit`: bytes a script VM may use (with an encoder's output in
/// flight); 0 = unlimited.
pub static SCRIPT_MEMORY_LIMIT: AtomicI64 = AtomicI64::new(DEFAULT_SCRIPT_MEMORY_LIMIT);
/// 1 GiB: far above what any real script uses (a few MB at most), far below what takes a
/// server to its OOM killer; the same on every machine, so a script behaves alike everywhere.
pub const DEFAULT_SCRIPT_MEMORY_LIMIT: i64 = 1 << 30;
/// `alt.script-time-limit`: milliseconds after which a script that has not written is
/// killed; 0 = never.
pub static SCRIPT_TIME_LIMIT: AtomicI64 = AtomicI64::new(0);

/// `alt.eval-scripts-max`: scripts created by ALT.EVAL kept at most (least recently used
/// go first; SCRIPT LOAD's are never evicted); 0 = no bound.
pub static EVAL_SCRIPTS_MAX: AtomicI64 = AtomicI64::new(500);
/// `alt.eval-scripts-max-bytes`: body bytes of ALT.EVAL-created scripts kept at most; 0 = no
/// bound.
pub static EVAL_SCRIPTS_MAX_BYTES: AtomicI64 = AtomicI64::new(0);

/// `alt.debug-idle-timeout`: seconds a debugging session may wait at a stop for its
/// client's next command before it ends (its process killed, the connection closed); 0 =
/// never.
pub static DEBUG_IDLE_TIMEOUT: AtomicI64 = AtomicI64::new(DEFAULT_DEBUG_IDLE_TIMEOUT);
pub const DEFAULT_DEBUG_IDLE_TIMEOUT: i64 = 600;

/// The module's configs as the host sees them (`alt.<name>`), with their ranges: the same
/// range for CONFIG SET, `--alt.<name>` and a load argument.
pub static CONFIGS: [host::NumericConfig; 5] = [
    host::NumericConfig {
        name: c"script-memory-limit",
        value: &SCRIPT_MEMORY_LIMIT,
        default: DEFAULT_SCRIPT_MEMORY_LIMIT,
        min: 0,
        max: i64::MAX,
        memory: true,
    },
    host::NumericConfig {
        name: c"script-time-limit",
        value: &SCRIPT_TIME_LIMIT,
        default: 0,
        min: 0,
        max: i64::MAX,
        memory: false,
    },
    host::NumericConfig {
        name: c"eval-scripts-max",
        value: &EVAL_SCRIPTS_MAX,
        default: 500,
        min: 0,
        max: i64::MAX,
        memory: false,
    },
    host::NumericConfig {
        name: c"eval-scripts-max-bytes",
        value: &EVAL_SCRIPTS_MAX_BYTES,
        default: 0,
        min: 0,
        max: i64::MAX,
        memory: true,
    },
    host::NumericConfig {
        name: c"debug-idle-timeout",
        value: &DEBUG_IDLE_TIMEOUT,
        default: DEFAULT_DEBUG_IDLE_TIMEOUT,
        min: 0,
        max: 31_536_000,
        memory: false,
    },
];

/// The module's yes/no configs: `alt.takeover` (drop-in mode, dropin.rs).
pub static BOOL_CONFIGS: [host::BoolConfig; 1] =
    [host::BoolConfig { name: c"takeover", default: false, get: crate::dropin::get, set: crate::dropin::set }];

/// One load argument: the config's full name (`alt.<name>`) and the value as given.
pub type LoadArg = (Vec<u8>, Vec<u8>);

/// The load arguments (`--loadmodule <path> name value ...`) as `(alt.name, value)` pairs,
/// or the reason to refuse the load: a name that is not one of the configs' (exactly as
/// listed: no `alt.` prefix, lower case), a name without a value, a name given twice.
pub fn load_args(args: &[Vec<u8>]) -> Result<Vec<LoadArg>, String> {
    let valid: Vec<&str> = CONFIGS
        .iter()
        .map(|c| c.name)
        .chain(BOOL_CONFIGS.iter().map(|c| c.name))
        .filter_map(|n| n.to_str().ok())
        .collect();
    let listing = || format!("valid names: {}, each followed by its value", valid.join(", "));
    let mut pairs: Vec<LoadArg> = Vec::new();
    for pair in args.chunks(2) {
        let name = String::from_utf8_lossy(pair.first().map_or(&[][..], Vec::as_slice)).into_owned();
        if !valid.contains(&name.as_str()) {
            return Err(format!("unknown load argument '{name}' ({})", listing()));
        }
        let Some(value) = pair.get(1) else {
            return Err(format!("load argument '{name}' has no value ({})", listing()));
        };
        let full = format!("alt.{name}").into_bytes();
        if pairs.iter().any(|(n, _)| *n == full) {
            return Err(format!("load argument '{name}' given twice"));
        }
        pairs.push((full, value.clone()));
    }
    Ok(pairs)
}

/// The host's `busy-reply-threshold` (alias `lua-time-limit`), in milliseconds.
static BUSY_REPLY_THRESHOLD: AtomicI64 = AtomicI64::new(5000);
/// The host's `replica-serve-stale-data` (1 = yes).
static SERVE_STALE_DATA: AtomicI64 = AtomicI64::new(1);
/// The host's `min-replicas-to-write`.
static MIN_REPLICAS_TO_WRITE: AtomicI64 = AtomicI64::new(0);
/// The host's `maxmemory` is set (> 0).
static MAXMEMORY: AtomicBool = AtomicBool::new(true);
/// The server is a replica (at load, then from the role events).
static REPLICA: AtomicBool = AtomicBool::new(true);
/// The server runs as a cluster node (fixed for the process).
static CLUSTER: AtomicBool = AtomicBool::new(true);

pub fn script_memory_limit() -> usize {
    usize::try_from(SCRIPT_MEMORY_LIMIT.load(Ordering::Relaxed)).unwrap_or(0)
}

pub fn script_time_limit_ms() -> u64 {
    u64::try_from(SCRIPT_TIME_LIMIT.load(Ordering::Relaxed)).unwrap_or(0)
}

/// The ALT.EVAL cache bounds: (scripts, body bytes), 0 = unbounded.
pub fn eval_cache_bounds() -> (usize, usize) {
    let read = |v: &AtomicI64| usize::try_from(v.load(Ordering::Relaxed)).unwrap_or(0);
    (read(&EVAL_SCRIPTS_MAX), read(&EVAL_SCRIPTS_MAX_BYTES))
}

pub fn debug_idle_timeout_secs() -> u64 {
    u64::try_from(DEBUG_IDLE_TIMEOUT.load(Ordering::Relaxed)).unwrap_or(0)
}

pub fn busy_reply_threshold_ms() -> u64 {
    u64::try_from(BUSY_REPLY_THRESHOLD.load(Ordering::Relaxed)).unwrap_or(0)
}

pub fn serve_stale_data() -> bool {
    SERVE_STALE_DATA.load(Ordering::Relaxed) != 0
}

pub fn min_replicas_to_write() -> i64 {
    MIN_REPLICAS_TO_WRITE.load(Ordering::Relaxed)
}

/// Re-reads the host configs we cache. Called at load and on every config change event.
pub fn refresh_host_configs(ctx: &Ctx) {
    let read = |name: &[u8]| host::config_get(ctx, name).and_then(|v| String::from_utf8(v).ok());
    if let Some(v) = read(b"busy-reply-threshold").and_then(|v| v.parse::<i64>().ok()) {
        BUSY_REPLY_THRESHOLD.store(v, Ordering::Relaxed);
    }
    if let Some(v) = read(b"replica-serve-stale-data") {
        SERVE_STALE_DATA.store(i64::from(v == "yes"), Ordering::Relaxed);
    }
    if let Some(v) = read(b"min-replicas-to-write").and_then(|v| v.parse::<i64>().ok()) {
        MIN_REPLICAS_TO_WRITE.store(v, Ordering::Relaxed);
    }
    // Unreadable counts as set: the run then asks the host (`plain_primary`).
    let maxmemory = read(b"maxmemory").and_then(|v| v.parse::<u64>().ok());
    MAXMEMORY.store(maxmemory != Some(0), Ordering::Relaxed);
}

/// Reads the server's role and cluster mode at load (then `set_replica` follows the role).
pub fn note_server_role(ctx: &Ctx) {
    let flags = ctx.flags();
    REPLICA.store(flags.replica(), Ordering::Relaxed);
    CLUSTER.store(flags.cluster(), Ordering::Relaxed);
}

/// The ReplicationRoleChanged event: the server became a replica, or a primary.
pub fn set_replica(replica: bool) {
    REPLICA.store(replica, Ordering::Relaxed);
}

/// A primary, not a cluster node, without `maxmemory`: no context flag that a run's start
/// checks can be set (a stale or read-only replica, OOM, cluster), so the run need not ask
/// the host for them (RM_GetContextFlags, about 130 instructions). Kept current by the
/// config and role events; until load has read them, false.
pub fn plain_primary() -> bool {
    !REPLICA.load(Ordering::Relaxed) && !CLUSTER.load(Ordering::Relaxed) && !MAXMEMORY.load(Ordering::Relaxed)
}
