//! The module's one piece of global state: the EVAL scripts (cache + VM) and the function
//! libraries (registry + VM), two independent engines as in Redis. Created at load,
//! dropped at unload, reached only through `lock` on the main thread (a MainCell: no atomic
//! operation per command). The borrow never conflicts (Redis runs commands one at a time,
//! and the module's commands cannot nest: they are `deny-script`); a failed one is
//! answered, never waited on.

use std::sync::Mutex;

use crate::error::ScriptError;
use crate::functions::Functions;
use crate::host::{self, LogLevel, MainCell};
use crate::lua::api::Version;
use crate::scripts::{Scripts, VmSettings};

struct State {
    scripts: Scripts,
    functions: Functions,
    settings: VmSettings,
}

static STATE: MainCell<Option<State>> = MainCell::new(None);

/// Called from OnLoad: builds the first VM. `version` is the host's (RM_GetServerVersion).
pub fn init(version: i64) -> Result<(), ScriptError> {
    let settings = VmSettings { version: Version(version), logger: log_from_script };
    let scripts = Scripts::new(settings)?;
    scripts.publish_gauges();
    let functions = Functions::new(settings)?;
    functions.publish_counts();
    let mut state = STATE.borrow_mut().ok_or_else(|| ScriptError::err("state in use"))?;
    *state = Some(State { scripts, functions, settings });
    drop(state);
    SPARE_SCRIPTS.prepare(Scripts::new, settings);
    SPARE_FUNCTIONS.prepare(Functions::new, settings);
    Ok(())
}

/// An empty engine (EVAL VM and cache, or function VM and registry) built ahead of need on an
/// idle worker thread, so that a flush swaps one in without spending its construction (about
/// 0.3 ms) on the main thread.
struct Spare<T>(Mutex<Option<T>>);

static SPARE_SCRIPTS: Spare<Scripts> = Spare(Mutex::new(None));
static SPARE_FUNCTIONS: Spare<Functions> = Spare(Mutex::new(None));

impl<T: Send + 'static> Spare<T> {
    fn prepare(&'static self, build: fn(VmSettings) -> Result<T, ScriptError>, settings: VmSettings) {
        // Without a thread the next flush builds its engine inline, as it would anyway.
        let _ = std::thread::Builder::new().name("alt-spare-vm".into()).spawn(move || {
            host::lower_thread_priority();
            if let Ok(fresh) = build(settings) {
                if let Ok(mut spare) = self.0.lock() {
                    *spare = Some(fresh);
                }
            }
        });
    }

    /// The spare if one is ready (then another is started), else one built here.
    fn take_or_build(
        &'static self,
        build: fn(VmSettings) -> Result<T, ScriptError>,
        settings: VmSettings,
    ) -> Result<T, ScriptError> {
        let ready = self.0.lock().ok().and_then(|mut spare| spare.take());
        let fresh = match ready {
            Some(fresh) => fresh,
            None => build(settings)?,
        };
        self.prepare(build, settings);
        Ok(fresh)
    }

    fn clear(&self) {
        if let Ok(mut spare) = self.0.lock() {
            *spare = None;
        }
    }
}

/// Called from OnUnload.
pub fn deinit() {
    if let Some(mut state) = STATE.borrow_mut() {
        *state = None;
    }
    SPARE_SCRIPTS.clear();
    SPARE_FUNCTIONS.clear();
}

/// The settings VMs are built with (a debugging session builds its own VM).
pub fn vm_settings() -> Option<VmSettings> {
    STATE.borrow()?.as_ref().map(|s| s.settings)
}

/// The state, borrowed (never waited on: a conflicting borrow, or another thread, is
/// answered "busy"). A guard, not a closure, so that nothing stands between a command and
/// its run (one frame less on the run's chain: see the note above host's `handler!`).
pub struct Locked(std::cell::RefMut<'static, Option<State>>);

impl Locked {
    #[inline(always)]
    fn state(&mut self) -> Result<&mut State, ScriptError> {
        self.0.as_mut().ok_or_else(|| ScriptError::err("the script engine is not loaded"))
    }

    #[inline(always)]
    pub fn scripts(&mut self) -> Result<&mut Scripts, ScriptError> {
        self.state().map(|s| &mut s.scripts)
    }

    #[inline(always)]
    pub fn functions(&mut self) -> Result<&mut Functions, ScriptError> {
        self.state().map(|s| &mut s.functions)
    }
}

#[inline(always)]
pub fn lock() -> Result<Locked, ScriptError> {
    STATE.borrow_mut().map(Locked).ok_or_else(|| ScriptError::err("the script engine is busy"))
}

pub fn with_scripts<R>(f: impl FnOnce(&mut Scripts) -> Result<R, ScriptError>) -> Result<R, ScriptError> {
    f(lock()?.scripts()?)
}

pub fn with_functions<R>(f: impl FnOnce(&mut Functions) -> Result<R, ScriptError>) -> Result<R, ScriptError> {
    f(lock()?.functions()?)
}

/// Swaps in a fresh, empty function registry and VM; returns the old ones for freeing.
pub fn take_functions() -> Result<Functions, ScriptError> {
    let mut locked = lock()?;
    let state = locked.state()?;
    let fresh = SPARE_FUNCTIONS.take_or_build(Functions::new, state.settings)?;
    fresh.publish_counts();
    Ok(std::mem::replace(&mut state.functions, fresh))
}

/// Swaps in a fresh, empty cache and VM; returns the old ones for the caller to free.
pub fn take_scripts() -> Result<Scripts, ScriptError> {
    let mut locked = lock()?;
    let state = locked.state()?;
    let fresh = SPARE_SCRIPTS.take_or_build(Scripts::new, state.settings)?;
    fresh.publish_gauges();
    Ok(std::mem::replace(&mut state.scripts, fresh))
}

/// `redis.log` goes to the server log (Redis would write it without the module prefix).
fn log_from_script(level: LogLevel, msg: &str) {
    host::log_any_thread(level, msg);
}
