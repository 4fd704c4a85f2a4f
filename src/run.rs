//! One script run, engine-agnostic (script.c): the checks a script's flags make against the
//! server before it starts (scriptPrepareForRun), the checks and bookkeeping of every inner
//! command (scriptCall: read-only, OOM until the first write, replication targets, SELECT),
//! the busy state and kill (scriptInterrupt, scriptKill), and the guard that opens and always
//! closes the run.

use std::ffi::{CStr, CString};
use std::time::Duration;

use crate::cmdinfo;
use crate::config;
use crate::error::ScriptError;
use crate::host::{Argv, CallReply, CallerKeys, Ctx, ReplyKind, Share};
use crate::inner::{self, Adapted};
use crate::keyslot;
use crate::sha::Sha;
use crate::shebang::ScriptFlags;

/// Replication targets of `redis.set_repl` (PROPAGATE_AOF | PROPAGATE_REPL).
pub const REPL_AOF: u8 = 1;
pub const REPL_REPLICA: u8 = 2;
pub const REPL_ALL: u8 = REPL_AOF | REPL_REPLICA;

/// State of the run in progress. Lives in a static so that Lua callbacks reach it without
/// capturing pointers; taken only briefly, never across a call back into Redis.
struct Run {
    ctx: Ctx,
    /// The script's name in logs and errors (a SHA or a function name).
    label: Label,
    mode: Mode,
    /// The FCALL command line, for FUNCTION STATS.
    command: CommandLine,
    clock: crate::host::RunClock,
    /// RM_Yield is safe here (not inside MULTI/EXEC or a native script); `None` until first
    /// needed (a run that turns busy), then read from the context flags (the client's and
    /// the transaction's, which a run does not change).
    can_yield: Option<bool>,
    timed_out: bool,
    killed: bool,
    limit_reported: bool,
    /// Sent by our primary (unkillable); `None` until first needed, as `can_yield`.
    from_primary: Option<bool>,
    read_only: bool,
    allow_oom: bool,
    resp3: bool,
    repl: u8,
    /// The caller's DB, read at the script's first SELECT (`db_changed`), restored at the end.
    caller_db: i32,
    db_changed: bool,
    slot: SlotRule,
    /// The run's keys among the served command's arguments, which redis.call may hand on as
    /// they are (host::Share); none once the run is resumed by another command.
    caller_keys: CallerKeys,
}

/// On a cluster, the keys a run touches stay in one slot unless the script allows cross-slot
/// keys (script.c scriptVerifyClusterState).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum SlotRule {
    /// Not a cluster, an EVAL-compatible script or `allow-cross-slot-keys`, or a command
    /// from our primary.
    Off,
    /// No declared key and none touched yet: the first key touched fixes the slot.
    Open,
    Fixed(u16),
}

thread_local! {
    /// The run in progress. Scripts run on the main thread only, and so does everything that
    /// reads their run (another thread sees none): no lock, no atomic operation per run.
    static CURRENT: std::cell::RefCell<Option<Run>> = const { std::cell::RefCell::new(None) };
}

/// `f` on the slot of the run in progress; `None` if it is in use already (never: it is
/// taken only briefly, never across a call back into Redis) or gone (thread exit).
fn with_current<R>(f: impl FnOnce(&mut Option<Run>) -> R) -> Option<R> {
    CURRENT.try_with(|c| c.try_borrow_mut().ok().map(|mut slot| f(&mut slot))).ok().flatten()
}

fn with_run<R>(f: impl FnOnce(&mut Run) -> R) -> Option<R> {
    with_current(|slot| slot.as_mut().map(f)).flatten()
}

thread_local! {
    /// The running script's `CallState` (main thread only; a Copy value, nothing to drop;
    /// `wrote` is set in place).
    static CALL_STATE: std::cell::RefCell<Option<CallState>> = const { std::cell::RefCell::new(None) };
}

impl Run {
    /// May the run yield to other clients (RM_Yield)? Read once from the context flags.
    fn can_yield(&mut self) -> bool {
        let ctx = self.ctx;
        *self.can_yield.get_or_insert_with(|| !ctx.flags().yield_forbidden())
    }

    /// Was the run sent by our primary? Read once from the context flags.
    fn sent_by_primary(&mut self) -> bool {
        let ctx = self.ctx;
        *self.from_primary.get_or_insert_with(|| ctx.flags().sent_by_primary())
    }

    /// The run's CallState, but for `wrote`, which lives in CALL_STATE only (false here).
    fn call_state(&self) -> CallState {
        CallState {
            ctx: self.ctx,
            read_only: self.read_only,
            allow_oom: self.allow_oom,
            wrote: false,
            resp3: self.resp3,
            repl: self.repl,
            slot: self.slot,
            caller_keys: self.caller_keys,
        }
    }
}

/// Changes the run with `f` and refreshes the copy of its CallState.
fn set_call_state(f: impl FnOnce(&mut Run)) -> bool {
    let wrote = wrote();
    let state = with_run(|r| {
        f(r);
        CallState { wrote, ..r.call_state() }
    });
    set_call_state_copy(state);
    state.is_some()
}

/// Whether the running script has written (kept in CALL_STATE alone: set by redis.call,
/// read by the kill and time-limit checks, all on the main thread, without the run's lock).
fn wrote() -> bool {
    call_state().is_some_and(|c| c.wrote)
}

fn mark_wrote() {
    // In place: one store, no copy of the state out and back.
    let _ = CALL_STATE.try_with(|c| c.try_borrow_mut().map(|mut s| s.iter_mut().for_each(|s| s.wrote = true)));
}

fn call_state() -> Option<CallState> {
    CALL_STATE.try_with(|c| c.try_borrow().ok().and_then(|s| *s)).ok().flatten()
}

/// Replaces the running script's CallState (None: no run).
fn set_call_state_copy(state: Option<CallState>) {
    let _ = CALL_STATE.try_with(|c| c.try_borrow_mut().map(|mut s| *s = state));
}

/// How a run was asked for: the `_RO` command forms refuse writing scripts.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Access {
    ReadWrite,
    ReadOnly,
}

/// A stale replica that may not serve stale data (processCommand, scriptPrepareForRun).
const MASTERDOWN: &[u8] = b"MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.";

/// Opens the run; dropping it closes the run (restores the caller's DB, clears the state).
pub struct RunGuard {
    clock: crate::host::RunClock,
}

impl RunGuard {
    /// scriptPrepareForRun: checks the script's declared flags against the server state, then
    /// publishes the run.
    pub fn enter(
        ctx: &Ctx,
        name: RunName,
        flags: ScriptFlags,
        access: Access,
        keys: &[&[u8]],
    ) -> Result<RunGuard, ScriptError> {
        // On a plain primary none of the flags checked here can be set.
        let server = if config::plain_primary() { crate::host::CtxFlags::default() } else { ctx.flags() };
        let mut read_only = access == Access::ReadOnly;
        let mut allow_oom = false;
        let stale = server.replica_is_stale() && !config::serve_stale_data();
        if flags.eval_compat {
            // scriptPrepareForRun's MASTERDOWN (EVAL itself is allowed on a stale replica).
            if stale {
                return Err(ScriptError::Coded(MASTERDOWN.to_vec()));
            }
        } else {
            // Natively the declared flags make the command a write, deny-oom or stale-refused
            // one, so processCommand refuses it first, in its own order: OOM, NOREPLICAS,
            // READONLY, MASTERDOWN; then scriptPrepareForRun's checks.
            let writes = !flags.no_writes;
            if writes && !flags.allow_oom && server.oom() {
                return Err(ScriptError::Coded(b"OOM command not allowed when used memory > 'maxmemory'.".to_vec()));
            }
            if writes && config::min_replicas_to_write() > 0 && !enough_good_replicas(ctx) {
                return Err(ScriptError::Coded(b"NOREPLICAS Not enough good replicas to write.".to_vec()));
            }
            if writes && server.readonly_replica() {
                return Err(ScriptError::Coded(b"READONLY You can't write against a read only replica.".to_vec()));
            }
            if stale && !flags.allow_stale {
                return Err(ScriptError::Coded(MASTERDOWN.to_vec()));
            }
            if flags.no_cluster && server.cluster() {
                return Err(ScriptError::err("Can not run script on cluster, 'no-cluster' flag is set."));
            }
            if writes && access == Access::ReadOnly {
                return Err(ScriptError::err("Can not execute a script with write flag using *_ro command."));
            }
            read_only |= flags.no_writes;
            allow_oom = flags.allow_oom;
        }
        let (mode, label, command) = match name {
            RunName::Sha(sha) => (Mode::Eval, Label::Sha(sha), CommandLine::None),
            RunName::Function(name, command) => (Mode::Function, Label::Function(name), command),
        };
        let slot_rule =
            if !server.cluster() || flags.eval_compat || flags.allow_cross_slot_keys || server.sent_by_primary() {
                SlotRule::Off
            } else {
                keys.first().map_or(SlotRule::Open, |k| SlotRule::Fixed(keyslot::key_slot(k)))
            };
        let caller_keys = ctx.caller_keys(keys);
        let clock = crate::host::RunClock::start();
        // Placed once the slot is known to be free (the compiler still builds it on the stack
        // and copies it in: about 40 instructions).
        let placed = with_current(|slot| {
            if slot.is_some() {
                return None;
            }
            let run = slot.insert(Run {
                ctx: *ctx,
                label,
                mode,
                command,
                clock,
                can_yield: None,
                timed_out: false,
                killed: false,
                limit_reported: false,
                from_primary: None,
                read_only,
                allow_oom,
                resp3: false,
                repl: REPL_ALL,
                caller_db: 0,
                db_changed: false,
                slot: slot_rule,
                caller_keys,
            });
            Some(run.call_state())
        });
        let state = match placed {
            Some(Some(state)) => state,
            Some(None) => return Err(ScriptError::err("a script is already running")),
            None => return Err(ScriptError::err("script run state unavailable")),
        };
        set_call_state_copy(Some(state));
        Ok(RunGuard { clock })
    }

    /// When the run started, and the time since (for the run's statistics).
    pub fn clock(&self) -> crate::host::RunClock {
        self.clock
    }
}

impl Drop for RunGuard {
    fn drop(&mut self) {
        set_call_state_copy(None);
        // The run is dropped in its slot (not moved out whole to read one flag).
        let restore = with_current(|slot| {
            let restore = slot.as_ref().filter(|run| run.db_changed).map(|run| (run.ctx, run.caller_db));
            *slot = None;
            restore
        });
        if let Some(Some((ctx, db))) = restore {
            ctx.select_db(db);
        }
    }
}

/// min-replicas-to-write is met (INFO replication's count of good replicas; a replica
/// itself is never refused here, as in processCommand).
fn enough_good_replicas(ctx: &Ctx) -> bool {
    let good = crate::host::server_info_field(ctx, c"replication", c"min_slaves_good_slaves");
    good.is_none_or(|good| good >= config::min_replicas_to_write())
}

/// `redis.acl_check_cmd`: may the calling user run this command line? `None` if the
/// command does not exist.
pub fn acl_allows(argv: &Argv) -> Option<bool> {
    let ctx = with_run(|r| r.ctx)?;
    ctx.acl_allows(argv)
}

/// What the interrupt check decided.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    Continue,
    Kill,
}

/// What is running: an EVAL script or a function.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Mode {
    Eval,
    Function,
}

impl Mode {
    /// `-BUSY` text other clients get while a script of this kind is past the threshold;
    /// `native`: the run was asked for under a native name (drop-in mode), so the text
    /// names the native KILL command.
    fn busy_reply(self, native: bool) -> &'static CStr {
        match (self, native) {
            (Mode::Eval, false) => {
                c"Redis is busy running a script. You can only call ALT.SCRIPT KILL or SHUTDOWN NOSAVE."
            }
            (Mode::Function, false) => {
                c"Redis is busy running a script. You can only call ALT.FUNCTION KILL or SHUTDOWN NOSAVE."
            }
            (Mode::Eval, true) => c"Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.",
            (Mode::Function, true) => {
                c"Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE."
            }
        }
    }

    fn busy_error(self, native: bool) -> ScriptError {
        let text = self.busy_reply(native).to_bytes();
        ScriptError::Coded([b"BUSY ".as_slice(), text].concat())
    }

    fn kill_command(self, native: bool) -> &'static str {
        match (self, native) {
            (Mode::Eval, false) => "ALT.SCRIPT KILL",
            (Mode::Function, false) => "ALT.FUNCTION KILL",
            (Mode::Eval, true) => "SCRIPT KILL",
            (Mode::Function, true) => "FUNCTION KILL",
        }
    }
}

/// The command line a run shows in FUNCTION STATS (FCALL's).
#[derive(Default)]
pub enum CommandLine {
    #[default]
    None,
    /// The arguments of the command that runs the function (its Ctx's, read only when
    /// FUNCTION STATS asks: no copy per call).
    Caller,
    /// A copy, for a run that outlives the command that started it (a debugged one).
    Owned(Vec<Vec<u8>>),
}

impl CommandLine {
    pub fn owned(argv: &[&[u8]]) -> CommandLine {
        CommandLine::Owned(argv.iter().map(|a| a.to_vec()).collect())
    }

    fn args(&self, ctx: &Ctx) -> Vec<Vec<u8>> {
        match self {
            CommandLine::None => Vec::new(),
            CommandLine::Caller => ctx.command_args(),
            CommandLine::Owned(argv) => argv.clone(),
        }
    }
}

/// The name of a run: an EVAL script's SHA, or a function's name (with the FCALL command
/// line, which FUNCTION STATS shows).
pub enum RunName {
    Sha(Sha),
    Function(FunctionName, CommandLine),
}

/// A run's name as the run keeps it (the command line apart, in `Run::command`).
enum Label {
    Sha(Sha),
    Function(FunctionName),
}

impl Label {
    fn as_str(&self) -> &str {
        match self {
            Label::Sha(sha) => sha.as_str(),
            Label::Function(name) => name.as_str(),
        }
    }
}

/// A function's name as its run keeps it: a short one copied (no allocation, and no shared
/// count to raise and drop on every call), a long one shared. Made once per function, when
/// it is registered, and cloned per call (a whole copy, not bytes written then read back).
#[derive(Clone)]
pub enum FunctionName {
    Inline { bytes: [u8; 32], len: usize },
    Shared(std::sync::Arc<str>),
}

impl FunctionName {
    pub fn of(name: &std::sync::Arc<str>) -> FunctionName {
        let mut bytes = [0u8; 32];
        match bytes.get_mut(..name.len()) {
            Some(dst) => {
                dst.copy_from_slice(name.as_bytes());
                FunctionName::Inline { bytes, len: name.len() }
            }
            None => FunctionName::Shared(name.clone()),
        }
    }

    fn as_str(&self) -> &str {
        match self {
            FunctionName::Inline { bytes, len } => {
                std::str::from_utf8(bytes.get(..*len).unwrap_or_default()).unwrap_or_default()
            }
            FunctionName::Shared(name) => name,
        }
    }
}

/// The error a killed script ends with (both for ALT.SCRIPT KILL and the time limit).
pub const KILLED: &[u8] = b"ERR Script killed by user with SCRIPT KILL...";

/// scriptInterrupt, from the engine's periodic hook: past `busy-reply-threshold` the server
/// is busy and serves others (ALT.SCRIPT KILL may arrive, nested in the yield); past
/// `alt.script-time-limit` a script that has not written is killed.
pub fn interrupt() -> Verdict {
    let Some((ctx, clock, mode)) = with_run(|r| (r.ctx, r.clock, r.mode)) else {
        return Verdict::Continue;
    };
    // The thresholds as configured now, as scriptInterrupt reads server.busy_reply_threshold
    // (0: never busy; no limit).
    let millis = |ms: u64| (ms > 0).then(|| Duration::from_millis(ms));
    let busy_after = millis(config::busy_reply_threshold_ms());
    let time_limit = millis(config::script_time_limit_ms());
    let elapsed = clock.elapsed();
    if time_limit.is_some_and(|limit| elapsed >= limit) {
        let wrote = wrote();
        with_run(|r| {
            if !wrote && !r.killed {
                r.killed = true;
                crate::metrics::TIME_LIMIT_KILLS.add(1);
                log(&format!(
                    "Lua script {} killed: it ran past alt.script-time-limit ({} ms).",
                    r.label.as_str(),
                    elapsed.as_millis()
                ));
            } else if wrote && !r.limit_reported {
                r.limit_reported = true;
                log(&format!(
                    "Lua script {} ran past alt.script-time-limit ({} ms) but already wrote: it cannot be killed.",
                    r.label.as_str(),
                    elapsed.as_millis()
                ));
            }
        });
    }
    if busy_after.is_some_and(|after| elapsed >= after) {
        with_run(|r| {
            if !r.timed_out {
                r.timed_out = true;
                log(&format!(
                    "Slow script detected: still in execution after {} milliseconds. You can try killing the script \
                     using the {} command. Script name is: {}.",
                    elapsed.as_millis(),
                    r.mode.kill_command(r.ctx.dropin()),
                    r.label.as_str()
                ));
            }
        });
        // No run state is borrowed here: ALT.SCRIPT KILL runs inside this call.
        if with_run(Run::can_yield).unwrap_or(false) {
            ctx.yield_to_clients(mode.busy_reply(ctx.dropin()));
        }
    }
    if with_run(|r| r.killed).unwrap_or(false) {
        Verdict::Kill
    } else {
        Verdict::Continue
    }
}

/// scriptKill: ALT.SCRIPT KILL (`Mode::Eval`) or ALT.FUNCTION KILL (`Mode::Function`), which
/// reach us nested inside the running script's yield.
pub fn kill(by: Mode) -> Result<(), ScriptError> {
    let wrote = wrote();
    with_run(|r| {
        if r.sent_by_primary() {
            return Err(ScriptError::Coded(
                b"UNKILLABLE The busy script was sent by a master instance in the context of replication and \
                  cannot be killed."
                    .to_vec(),
            ));
        }
        if wrote {
            return Err(ScriptError::Coded(
                b"UNKILLABLE Sorry the script already executed write commands against the dataset. You can either \
                  wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command."
                    .to_vec(),
            ));
        }
        if r.mode != by {
            // SCRIPT KILL on a function answers with the FUNCTION KILL busy text, and back.
            return Err(r.mode.busy_error(r.ctx.dropin()));
        }
        r.killed = true;
        crate::metrics::KILLS.add(1);
        log(&format!("Lua script {} killed by {}.", r.label.as_str(), by.kill_command(r.ctx.dropin())));
        Ok(())
    })
    .unwrap_or(Err(ScriptError::Coded(b"NOTBUSY No scripts in execution right now.".to_vec())))
}

/// A running function as FUNCTION STATS shows it.
pub struct RunningFunction {
    pub name: String,
    pub command: Vec<Vec<u8>>,
    pub millis: u128,
}

/// The running function for FUNCTION STATS. An EVAL script running answers with the SCRIPT
/// KILL busy error, as native.
pub fn running_function() -> Result<Option<RunningFunction>, ScriptError> {
    let found = with_run(|r| match r.mode {
        Mode::Eval => Err(Mode::Eval.busy_error(r.ctx.dropin())),
        Mode::Function => Ok(RunningFunction {
            name: r.label.as_str().to_string(),
            command: r.command.args(&r.ctx),
            millis: r.clock.elapsed().as_millis(),
        }),
    });
    found.transpose()
}

fn log(msg: &str) {
    crate::host::log_any_thread(crate::host::LogLevel::Warning, msg);
}

/// `redis.setresp`: protocol of the replies the script sees (and of booleans it returns).
pub fn set_resp3(resp3: bool) -> bool {
    set_call_state(|r| r.resp3 = resp3)
}

/// Whether the running script asked for RESP3 (decides how returned booleans are sent).
pub fn resp3() -> bool {
    call_state().is_some_and(|c| c.resp3)
}

/// `redis.set_repl`.
pub fn set_repl(targets: u8) -> bool {
    set_call_state(|r| r.repl = targets)
}

/// The outcome of one inner command: the host's reply, or a refusal with its full coded text.
pub enum CallOutcome {
    Reply(CallReply),
    /// Boxed: the outcome stays two words, handed back in registers on the call's path.
    Refused(Box<[u8]>),
}

/// The debugger's view of inner commands (it logs them while stepping); used only while a
/// debugged script runs (`set_tracing`).
static TRACER: std::sync::OnceLock<fn(&[u8], &Argv) -> CallOutcome> = std::sync::OnceLock::new();
static TRACING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

static ERROR_TRACER: std::sync::OnceLock<fn(&[u8])> = std::sync::OnceLock::new();

/// The debugger's tracers: of inner commands, and of the errors the `redis` API makes
/// (luaPushErrorBuff logs them while stepping).
pub fn set_tracer(tracer: fn(&[u8], &Argv) -> CallOutcome, errors: fn(&[u8])) {
    let _ = TRACER.set(tracer);
    let _ = ERROR_TRACER.set(errors);
}

/// An error the `redis` API makes for the script (an argument error, `redis.error_reply`).
pub fn trace_error(text: &[u8]) {
    if TRACING.load(std::sync::atomic::Ordering::Relaxed) {
        if let Some(tracer) = ERROR_TRACER.get() {
            tracer(text);
        }
    }
}

/// Inner commands go through the tracer from now on (true) or no longer (false).
pub fn set_tracing(on: bool) {
    TRACING.store(on, std::sync::atomic::Ordering::Relaxed);
}

/// scriptCall: runs one command for the script, with the checks native scripting makes.
/// `name` is the command, `args` the rest of its arguments.
#[inline(never)]
pub fn call(name: &[u8], args: &Argv) -> CallOutcome {
    call_inline(name, args)
}

/// `call`, inlined into redis.call's direct path (see the note on the run's chain in
/// host/mod.rs); everywhere else the outlined `call` keeps one copy.
#[inline(always)]
pub fn call_inline(name: &[u8], args: &Argv) -> CallOutcome {
    if TRACING.load(std::sync::atomic::Ordering::Relaxed) {
        if let Some(tracer) = TRACER.get() {
            return tracer(name, args);
        }
    }
    call_untraced_inline(name, args)
}

/// The run may not yield to other clients (a forked debugging session's process has none).
pub fn no_yield() {
    with_run(|r| r.can_yield = Some(false));
}

/// A run taken out of service while a debugged script waits at a stop (other scripts may
/// run meanwhile); `restore` puts it back.
pub struct Suspended(Run, Option<CallState>);

pub fn suspend() -> Option<Suspended> {
    let state = call_state();
    set_call_state_copy(None);
    with_current(Option::take).flatten().map(|run| Suspended(run, state))
}

/// Puts a suspended run back, with the context of the command that resumes it.
pub fn restore(run: Option<Suspended>, ctx: &Ctx) {
    let Some(Suspended(mut run, state)) = run else { return };
    run.ctx = *ctx;
    run.caller_keys = CallerKeys::default();
    let _ = with_current(|slot| *slot = Some(run));
    let state = state.map(|s| CallState { ctx: *ctx, caller_keys: CallerKeys::default(), ..s });
    set_call_state_copy(state);
}

/// `call` without the debugger's tracing.
#[inline(never)]
pub fn call_untraced(name: &[u8], args: &Argv) -> CallOutcome {
    call_untraced_inline(name, args)
}

#[inline(always)]
fn call_untraced_inline(name: &[u8], args: &Argv) -> CallOutcome {
    let Some(run) = call_state() else {
        return refused("ERR redis.call/pcall can only be called inside a script invocation");
    };
    let info = cmdinfo::lookup(&run.ctx, name, args.get(0));
    if let Some(info) = &info {
        if info.arity_ok(args.len() + 1) && !info.noscript && run.read_only && (info.write || info.may_replicate) {
            return refused("ERR Write commands are not allowed from read-only scripts.");
        }
    }
    let key_slot = match run.slot {
        SlotRule::Off => None,
        SlotRule::Open | SlotRule::Fixed(_) => run.ctx.first_key(name, args).map(|k| (keyslot::key_slot(&k), k)),
    };
    if let (SlotRule::Fixed(run_slot), Some((slot, key))) = (run.slot, &key_slot) {
        if *slot != run_slot && !refused_before_the_slot_check(&run.ctx, name, args, key) {
            return refused("ERR Script attempted to access keys that do not hash to the same slot");
        }
    }
    let outcome = call_checked(&run, name, args, info);
    if let (SlotRule::Open, Some((slot, _)), CallOutcome::Reply(_)) = (run.slot, &key_slot, &outcome) {
        set_call_state(|r| r.slot = SlotRule::Fixed(*slot));
    }
    outcome
}

/// What `call` needs of the run, copied out so that no lock is held across RM_Call. A copy
/// is kept in CALL_STATE for the length of the run, updated with the run wherever one of
/// these fields changes (`set_call_state`): each redis.call reads it without the run's lock.
#[derive(Clone, Copy)]
struct CallState {
    ctx: Ctx,
    read_only: bool,
    allow_oom: bool,
    wrote: bool,
    resp3: bool,
    repl: u8,
    slot: SlotRule,
    caller_keys: CallerKeys,
}

/// The reply keeps native's generic text; the log names the key and its slot (what the
/// user needs to fix the script).
fn log_foreign_key(ctx: &Ctx, name: &[u8], args: &Argv) {
    let Some(key) = ctx.first_key(name, args) else { return };
    let script = with_run(|r| r.label.as_str().to_string()).unwrap_or_default();
    log(&format!(
        "Lua script {script}: {} on key '{}' (slot {}) refused: this node does not serve that slot.",
        String::from_utf8_lossy(name),
        String::from_utf8_lossy(&key),
        keyslot::key_slot(&key)
    ));
}

/// Whether the host refuses this command for a reason native checks before the slot rule:
/// the caller's ACL, or a key this node does not serve (probed with a side-effect-free
/// EXISTS). Then the real call gives that refusal, as natively.
fn refused_before_the_slot_check(ctx: &Ctx, name: &[u8], args: &Argv, key: &[u8]) -> bool {
    let mut full = Argv::with_capacity(args.len() + 1);
    full.push(name);
    for i in 0..args.len() {
        full.push(args.get(i).unwrap_or_default());
    }
    if ctx.acl_allows(&full) == Some(false) {
        return true;
    }
    let mut probe = Argv::with_capacity(1);
    probe.push(key);
    let (_, errno) = ctx.call_argv(c"EXISTS", c"v", &probe);
    errno == libc::EPERM
}

/// The rest of `call`, once the run's own checks passed.
#[inline(always)]
fn call_checked(run: &CallState, name: &[u8], args: &Argv, info: Option<std::rc::Rc<cmdinfo::CmdInfo>>) -> CallOutcome {
    let CallState { ctx, allow_oom, wrote, resp3, repl, caller_keys, .. } = *run;
    let first_write = !wrote && info.as_ref().is_some_and(|i| i.write);
    let fallback_name;
    let cmd: &CStr = match &info {
        Some(info) => &info.call_name,
        None => match CString::new(name) {
            Ok(n) => {
                fallback_name = n;
                &fallback_name
            }
            // A NUL inside would silently name another command.
            Err(_) => return refused("ERR Unknown Redis command called from script"),
        },
    };
    let flags = call_flags(!allow_oom && !wrote, repl, resp3);
    if !inner::may_adapt(name) {
        let share = Share { positions: info.as_ref().and_then(|i| i.keys), keys: caller_keys };
        return finish_call(&ctx, cmd, name, args, first_write, flags, &share);
    }
    let mut argv: Vec<&[u8]> = Vec::with_capacity(args.len() + 1);
    argv.push(name);
    argv.extend((0..args.len()).filter_map(|i| args.get(i)));
    let key_type = |key: &[u8]| {
        let reply = ctx.call(c"TYPE", c"vE", &[key])?;
        match reply.root().kind() {
            ReplyKind::Status(t) => Some(t.to_vec()),
            _ => None,
        }
    };
    match inner::adapt(&argv, key_type) {
        Adapted::Refused(text) => CallOutcome::Refused(text.into()),
        Adapted::AsIs => finish_call_outlined(&ctx, (cmd, name, args), first_write, flags),
        Adapted::Rewritten(all) => {
            let mut rewritten = Argv::with_capacity(all.len());
            for a in all.iter().skip(1) {
                rewritten.push(a);
            }
            finish_call_outlined(&ctx, (cmd, name, &rewritten), first_write, flags)
        }
    }
}

/// `finish_call` off the common path (an adapted command line): one copy.
#[inline(never)]
fn finish_call_outlined(ctx: &Ctx, line: (&CStr, &[u8], &Argv), first_write: bool, flags: &CStr) -> CallOutcome {
    let (cmd, name, args) = line;
    finish_call(ctx, cmd, name, args, first_write, flags, &Share::default())
}

/// Runs the (possibly rewritten) command and does the bookkeeping after it.
/// `first_write`: the command writes and the run has not written yet (then a success marks
/// the run as having written).
#[inline(always)]
fn finish_call(
    ctx: &Ctx,
    cmd: &CStr,
    name: &[u8],
    args: &Argv,
    first_write: bool,
    flags: &CStr,
    share: &Share,
) -> CallOutcome {
    let (reply, errno) = ctx.call_argv_inline(cmd, flags, args, share);
    let Some(reply) = reply else {
        return refused("ERR Unknown Redis command called from script");
    };
    // Only an error reply is looked into here, by its first byte: parsing the reply into the
    // host's tree (`kind`) is left to whoever needs more than its bytes.
    let root = reply.root();
    let error = match reply.proto().first() {
        Some(b'-' | b'!') => match root.kind() {
            ReplyKind::Error(text) => Some(text),
            _ => None,
        },
        _ => None,
    };
    if let Some(text) = error {
        if let Some(native) = translate_refusal(errno, text) {
            if native.starts_with(b"ERR Script attempted to access a non local key") {
                log_foreign_key(ctx, name, args);
            }
            return CallOutcome::Refused(native.into());
        }
    } else if name.eq_ignore_ascii_case(b"select") {
        // The script's SELECT lasts for the rest of the script only (restored by RunGuard).
        // The caller's DB is read at the first SELECT (before it, the run has not changed it).
        if let Some(db) = args.get(0).and_then(|d| std::str::from_utf8(d).ok()).and_then(|d| d.parse().ok()) {
            let caller_db = ctx.selected_db();
            if ctx.select_db(db) {
                with_run(|r| {
                    if !r.db_changed {
                        r.caller_db = caller_db;
                        r.db_changed = true;
                    }
                });
            }
        }
    }
    if first_write && !is_refusal(errno) {
        mark_wrote();
    }
    CallOutcome::Reply(reply)
}

/// errno values with which RM_Call refuses a command before running it (module.c RM_Call).
fn is_refusal(errno: i32) -> bool {
    [libc::ENOENT, libc::EINVAL, libc::ESPIPE, libc::EACCES, libc::ENOSPC, libc::EPERM, libc::ENETDOWN, libc::EROFS]
        .contains(&errno)
}

fn refused(text: &str) -> CallOutcome {
    CallOutcome::Refused(text.as_bytes().into())
}

/// The RM_Call format: `v` argv, `E` errors as replies, `S` script mode (refuses noscript
/// commands), `C` ACL as the caller, `M` OOM check (only until the first write), `!` effects
/// replication with `A`/`R` to drop AOF or replicas, `3` RESP3.
fn call_flags(check_oom: bool, repl: u8, resp3: bool) -> &'static CStr {
    const FORMATS: [[&CStr; 4]; 4] = [
        // repl: NONE, AOF, REPLICA, ALL
        [c"vESC", c"vESC!R", c"vESC!A", c"vESC!"],
        [c"vESCM", c"vESCM!R", c"vESCM!A", c"vESCM!"],
        [c"vESC3", c"vESC!R3", c"vESC!A3", c"vESC!3"],
        [c"vESCM3", c"vESCM!R3", c"vESCM!A3", c"vESCM!3"],
    ];
    let row = usize::from(check_oom) + 2 * usize::from(resp3);
    FORMATS.get(row).and_then(|r| r.get(usize::from(repl & REPL_ALL))).copied().unwrap_or(c"vESC!")
}

/// RM_Call's own refusals carry texts of module.c; scripts answer with script.c's.
fn translate_refusal(errno: i32, text: &[u8]) -> Option<Vec<u8>> {
    if !is_refusal(errno) {
        return None;
    }
    const TABLE: &[(&[u8], &str)] = &[
        (b"ERR unknown command", "ERR Unknown Redis command called from script"),
        (b"ERR unknown subcommand", "ERR Unknown Redis command called from script"),
        (b"ERR wrong number of arguments", "ERR Wrong number of args calling Redis command from script"),
        (
            b"ERR Attempted to access a non local key",
            "ERR Script attempted to access a non local key in a cluster node",
        ),
    ];
    for (prefix, native) in TABLE {
        if text.starts_with(prefix) {
            return Some(native.as_bytes().to_vec());
        }
    }
    if text.starts_with(b"ERR command '") && text.ends_with(b"' is not allowed on script mode") {
        return Some(b"ERR This Redis command is not allowed from script".to_vec());
    }
    if let Some(rest) = text.strip_prefix(b"ERR acl verification failed, ") {
        let rest = rest.strip_suffix(b".").unwrap_or(rest);
        let mut v = b"ERR The user executing the script ".to_vec();
        v.extend_from_slice(rest);
        return Some(v);
    }
    if text.starts_with(b"ERR Can not execute a command '") && text.ends_with(b"' while the cluster is down") {
        return Some(b"ERR Script attempted to execute a command while the cluster is down".to_vec());
    }
    if text.starts_with(b"MASTERDOWN ") {
        return Some(b"ERR Can not execute the command on a stale replica".to_vec());
    }
    if text.starts_with(b"ERR Can not execute a write command '") {
        return Some(
            b"ERR Script attempted to execute a write command while the cluster is down and readonly".to_vec(),
        );
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_lines_round_trip() {
        let argv: [&[u8]; 4] = [b"FCALL", b"", b"f\x00\xff", &[7u8; 300]];
        let ctx = Ctx::from_raw(std::ptr::null_mut());
        assert_eq!(CommandLine::owned(&argv).args(&ctx), argv.map(<[u8]>::to_vec).to_vec());
        assert!(CommandLine::default().args(&ctx).is_empty());
        // Outside a command, a Ctx has no arguments.
        assert!(CommandLine::Caller.args(&ctx).is_empty());
    }

    #[test]
    fn formats() {
        assert_eq!(call_flags(false, REPL_ALL, false), c"vESC!");
        assert_eq!(call_flags(true, REPL_ALL, true), c"vESCM!3");
        assert_eq!(call_flags(false, 0, false), c"vESC");
        assert_eq!(call_flags(true, REPL_AOF, false), c"vESCM!R");
    }

    #[test]
    fn translations() {
        let t = |s: &str| translate_refusal(libc::ENOENT, s.as_bytes()).map(|v| String::from_utf8(v).unwrap());
        assert_eq!(
            t("ERR unknown command 'nosuch', with args beginning with: ").as_deref(),
            Some("ERR Unknown Redis command called from script")
        );
        assert_eq!(
            t("ERR acl verification failed, can't run this command or subcommand.").as_deref(),
            Some("ERR The user executing the script can't run this command or subcommand")
        );
        assert_eq!(
            t("ERR command 'config|set' is not allowed on script mode").as_deref(),
            Some("ERR This Redis command is not allowed from script")
        );
        assert_eq!(t("WRONGTYPE Operation against a key holding the wrong kind of value"), None);
    }
}
