//! The module's one piece of global state: the EVAL scripts (cache + VM) and the function
//! libraries (registry + VM), two independent engines as in Redis. Created at load,
//! dropped at unload, reached only through `with_scripts` on the main thread. The lock is
//! never contended (Redis runs commands one at a time, and the module's commands cannot
//! nest: they are `deny-script`); a failed `try_lock` is answered, never waited on.

use std::sync::Mutex;

use crate::error::ScriptError;
use crate::functions::Functions;
use crate::host::{self, LogLevel};
use crate::lua::api::Version;
use crate::scripts::{Scripts, VmSettings};

struct State {
    scripts: Scripts,
    functions: Functions,
    settings: VmSettings,
}

static STATE: Mutex<Option<State>> = Mutex::new(None);

/// Called from OnLoad: builds the first VM. `version` is the host's (RM_GetServerVersion).
pub fn init(version: i64) -> Result<(), ScriptError> {
    let settings = VmSettings { version: Version(version), logger: log_from_script };
    let scripts = Scripts::new(settings)?;
    scripts.publish_gauges();
    let functions = Functions::new(settings)?;
    let mut state = STATE.lock().map_err(|_| ScriptError::err("state poisoned"))?;
    *state = Some(State { scripts, functions, settings });
    prepare_spare_scripts(settings);
    Ok(())
}

/// An empty EVAL VM built ahead of need on an idle worker thread, so that a flush swaps one
/// in without spending its construction (about 0.3 ms) on the main thread.
static SPARE_SCRIPTS: Mutex<Option<Scripts>> = Mutex::new(None);

fn prepare_spare_scripts(settings: VmSettings) {
    // Without a thread the next flush builds its VM inline, as it would anyway.
    let _ = std::thread::Builder::new().name("alt-spare-vm".into()).spawn(move || {
        host::lower_thread_priority();
        if let Ok(fresh) = Scripts::new(settings) {
            if let Ok(mut spare) = SPARE_SCRIPTS.lock() {
                *spare = Some(fresh);
            }
        }
    });
}

/// Called from OnUnload.
pub fn deinit() {
    if let Ok(mut state) = STATE.lock() {
        *state = None;
    }
    if let Ok(mut spare) = SPARE_SCRIPTS.lock() {
        *spare = None;
    }
}

pub fn with_scripts<R>(f: impl FnOnce(&mut Scripts) -> Result<R, ScriptError>) -> Result<R, ScriptError> {
    let mut guard = STATE.try_lock().map_err(|_| ScriptError::err("the script engine is busy"))?;
    let state = guard.as_mut().ok_or_else(|| ScriptError::err("the script engine is not loaded"))?;
    f(&mut state.scripts)
}

pub fn with_functions<R>(f: impl FnOnce(&mut Functions) -> Result<R, ScriptError>) -> Result<R, ScriptError> {
    let mut guard = STATE.try_lock().map_err(|_| ScriptError::err("the script engine is busy"))?;
    let state = guard.as_mut().ok_or_else(|| ScriptError::err("the script engine is not loaded"))?;
    f(&mut state.functions)
}

/// Swaps in a fresh, empty function registry and VM; returns the old ones for freeing.
pub fn take_functions() -> Result<Functions, ScriptError> {
    let mut guard = STATE.try_lock().map_err(|_| ScriptError::err("the script engine is busy"))?;
    let state = guard.as_mut().ok_or_else(|| ScriptError::err("the script engine is not loaded"))?;
    let fresh = Functions::new(state.settings)?;
    Ok(std::mem::replace(&mut state.functions, fresh))
}

/// Swaps in a fresh, empty cache and VM; returns the old ones for the caller to free.
pub fn take_scripts() -> Result<Scripts, ScriptError> {
    let mut guard = STATE.try_lock().map_err(|_| ScriptError::err("the script engine is busy"))?;
    let state = guard.as_mut().ok_or_else(|| ScriptError::err("the script engine is not loaded"))?;
    let spare = SPARE_SCRIPTS.lock().ok().and_then(|mut spare| spare.take());
    let fresh = match spare {
        Some(fresh) => fresh,
        None => Scripts::new(state.settings)?,
    };
    fresh.publish_gauges();
    prepare_spare_scripts(state.settings);
    Ok(std::mem::replace(&mut state.scripts, fresh))
}

/// `redis.log` goes to the server log (Redis would write it without the module prefix).
fn log_from_script(level: LogLevel, msg: &str) {
    host::log_any_thread(level, msg);
}
