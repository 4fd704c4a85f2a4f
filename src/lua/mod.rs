//! The Lua binding (script_lua.c): one Lua 5.1 VM with Redis's globals, compiling scripts into
//! functions and running one of them with KEYS/ARGV, its error turned into Redis's error reply
//! and its result written to the client.

pub mod api;
pub mod convert;
pub mod library;
pub mod libs;
pub mod number;
mod sandbox;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use mlua::chunk::ChunkMode;
use mlua::{
    FromLuaMulti, Function, HookTriggers, IntoLua, IntoLuaMulti, Lua, LuaOptions, LuaString, MultiValue, StdLib, Table,
    Value, VmState,
};

use crate::host::MainThread;
use crate::reply::ReplySink;
use crate::run;

/// An error raised by the module's own Lua callbacks, carrying Redis's complete error text
/// (`ERR ...`, `WRONGTYPE ...`): raised into Lua as the table `{err=text}` (see `function`),
/// which Redis's `pcall` turns into that text.
#[derive(Debug)]
pub struct Raised(pub Vec<u8>);

impl std::fmt::Display for Raised {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&String::from_utf8_lossy(&self.0))
    }
}

impl std::error::Error for Raised {}

pub fn raise(text: Vec<u8>) -> mlua::Error {
    // luaPushError logs it while the debugger steps (without the generic code).
    run::trace_error(text.strip_prefix(b"ERR ").unwrap_or(&text));
    mlua::Error::external(Raised(text))
}

/// An error raised the way a C library function raises it with luaL_error: the message gets
/// the position of the Lua code that called the function (luaL_where(L, 1)) when it is
/// raised into Lua (see `function`).
#[derive(Debug)]
pub struct Located(pub String);

impl std::fmt::Display for Located {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Located {}

pub fn raise_here(msg: &str) -> mlua::Error {
    mlua::Error::external(Located(msg.to_string()))
}

/// A Lua function that runs `f` and fails the way Redis's C functions do: through a C
/// function (host::raising_function) that raises a `Raised` error as the error table
/// `{err=...}` (luaPushError + luaError), a `Located` one as its message with the caller's
/// position (luaL_error), any other as its message (with the position too for mlua's own
/// argument errors). So coroutine.resume, pcall, xpcall handlers and coroutine.wrap see
/// plain strings and tables, as natively. Memory errors are raised as "not enough memory".
/// For functions of one result (the value goes onto the Lua stack as is, no list built).
pub fn function<A, R, F>(lua: &Lua, f: F) -> mlua::Result<Function>
where
    F: Fn(&Lua, A) -> mlua::Result<R> + mlua::MaybeSend + 'static,
    A: FromLuaMulti,
    R: IntoLua,
{
    let inner =
        lua.create_function(move |lua, args: MultiValue| match A::from_lua_multi(args, lua).and_then(|a| f(lua, a)) {
            Ok(value) => Ok(Ok(value)),
            Err(e) => raised(lua, &e).map(Err),
        })?;
    crate::host::raising_function(lua, &inner)
}

/// `function` for functions of any number of results.
pub fn function_multi<A, R, F>(lua: &Lua, f: F) -> mlua::Result<Function>
where
    F: Fn(&Lua, A) -> mlua::Result<R> + mlua::MaybeSend + 'static,
    A: FromLuaMulti,
    R: IntoLuaMulti,
{
    let inner = lua.create_function(move |lua, args: MultiValue| {
        match A::from_lua_multi(args, lua).and_then(|a| f(lua, a)).and_then(|r| r.into_lua_multi(lua)) {
            Ok(values) => Ok(values),
            Err(e) => Ok(MultiValue::from_iter([Value::Nil, Value::LightUserData(raised(lua, &e)?)])),
        }
    })?;
    crate::host::raising_function(lua, &inner)
}

/// Leaves the error value for the C function to raise (host::stash_raised) and returns the
/// mark that tells it how: with the caller's position or as it is. The callback then
/// returns `(nil, mark)`.
fn raised(lua: &Lua, e: &mlua::Error) -> mlua::Result<mlua::LightUserData> {
    let mut root = e;
    while let mlua::Error::CallbackError { cause, .. } | mlua::Error::WithContext { cause, .. } = root {
        root = cause;
    }
    let (with_position, value) = if let Some(Raised(text)) = root.downcast_ref::<Raised>() {
        (false, Value::Table(convert::error_table(lua, text, false)?))
    } else if let Some(Located(msg)) = root.downcast_ref::<Located>() {
        (true, Value::String(lua.create_string(msg)?))
    } else {
        match root {
            mlua::Error::RuntimeError(m) | mlua::Error::MemoryError(m) => (false, Value::String(lua.create_string(m)?)),
            other => (true, Value::String(lua.create_string(other.to_string())?)),
        }
    };
    crate::host::stash_raised(lua, value, with_position)
}

/// How a raw library function (host::raw_function) raises `e`: its message, and whether the
/// caller's position goes in front (luaL_error), as `raised` decides for the other functions.
pub fn raw_error_message(e: &mlua::Error) -> (bool, Vec<u8>) {
    let mut root = e;
    while let mlua::Error::CallbackError { cause, .. } | mlua::Error::WithContext { cause, .. } = root {
        root = cause;
    }
    if let Some(Raised(text)) = root.downcast_ref::<Raised>() {
        (false, text.clone())
    } else if let Some(Located(msg)) = root.downcast_ref::<Located>() {
        (true, msg.clone().into_bytes())
    } else {
        match root {
            mlua::Error::RuntimeError(m) | mlua::Error::MemoryError(m) => (false, m.clone().into_bytes()),
            other => (true, other.to_string().into_bytes()),
        }
    }
}

/// What an mlua error stands for in Redis's terms: an error table raised by the redis.*
/// API (its `err` text), or a plain message as a C library would raise it.
enum ErrorValue {
    Table(Vec<u8>),
    Message(Vec<u8>),
}

fn error_value(e: &mlua::Error) -> ErrorValue {
    let mut inner = e;
    while let mlua::Error::CallbackError { cause, .. } | mlua::Error::WithContext { cause, .. } = inner {
        inner = cause;
    }
    if let Some(Raised(text)) = inner.downcast_ref::<Raised>() {
        return ErrorValue::Table(text.clone());
    }
    if let Some(Located(msg)) = inner.downcast_ref::<Located>() {
        return ErrorValue::Message(msg.clone().into_bytes());
    }
    ErrorValue::Message(match inner {
        mlua::Error::RuntimeError(m) | mlua::Error::MemoryError(m) => m.clone().into_bytes(),
        other => other.to_string().into_bytes(),
    })
}

/// The `err` text Redis would report for this error (string errors get the `ERR ` code).
fn error_text(e: &mlua::Error) -> Vec<u8> {
    match error_value(e) {
        ErrorValue::Table(text) => text,
        ErrorValue::Message(msg) => [b"ERR ".as_slice(), &msg].concat(),
    }
}

/// What `pcall` hands back for the error: the table's `err` string, or the message.
fn error_message(e: &mlua::Error) -> Vec<u8> {
    match error_value(e) {
        ErrorValue::Table(text) | ErrorValue::Message(text) => text,
    }
}

/// A compiled script, kept in the VM's registry.
pub struct Compiled(mlua::RegistryKey);

/// How a script failed, already as the error line the client gets.
pub struct ScriptFailure(pub Vec<u8>);

/// One Lua VM with Redis's environment.
/// Which side a VM serves: EVAL scripts, or function libraries (whose code sees the globals
/// through a read-only proxy, and only a tiny API while it loads).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum VmKind {
    Eval,
    Functions,
}

/// The function VM's globals arrangement (function_lua.c luaEngineInitEngine).
struct FunctionEnv {
    /// The environment of library code: an empty read-only table...
    proxy: Table,
    /// ...whose read-only metatable's `__index` is the real globals, or during a load the
    /// load-time API.
    proxy_meta: Table,
    globals: Table,
    load_api: Table,
}

pub struct LuaVm {
    lua: Lua,
    /// The message handler of every run (`__redis__err__handler`), in the registry (a run
    /// pushes it by its slot).
    handler: mlua::RegistryKey,
    /// The tables a run may refill (host::kept_tables, read by host::call_run); in the registry.
    kept: mlua::RegistryKey,
    /// Lua's own pcall: runs a library's code at FUNCTION LOAD for its raw error value.
    run_library: Function,
    functions: Option<FunctionEnv>,
    tostring: Function,
    next: Function,
    /// Holds the containers of a result being written (see convert::write_result).
    scratch: Table,
    result_keys: convert::ResultKeys,
    calls: u32,
    /// The VM's bytes after the last periodic GC step (see collect_garbage_sometimes).
    bytes_at_step: usize,
    /// The INFO gauge of this VM's memory, read from the VM while it is in service.
    memory_gauge: &'static crate::metrics::LiveGauge,
    /// Set once a kill switched the hook to every line; the next run restores the count hook.
    hook_rearmed: Arc<AtomicBool>,
    main: MainThread,
    /// The `alt.script-memory-limit` in force (0 = none).
    memory_limit: usize,
    /// A debugging session's VM: the debugger's hook instead of the count hook.
    debugging: bool,
}

/// The function VM's environments: the load-time API (`redis.register_function`, `redis.log`,
/// `LOG_*`, the version) and the read-only proxy that library code gets as its globals.
fn function_env(lua: &Lua, version: api::Version, logger: api::Logger) -> mlua::Result<FunctionEnv> {
    let globals = lua.globals();
    let load_redis = lua.create_table()?;
    load_redis.raw_set("register_function", function_multi(lua, library::register_function)?)?;
    let runtime_redis: Table = globals.raw_get("redis")?;
    for name in ["log", "LOG_DEBUG", "LOG_VERBOSE", "LOG_NOTICE", "LOG_WARNING", "REDIS_VERSION", "REDIS_VERSION_NUM"] {
        load_redis.raw_set(name, runtime_redis.raw_get::<Value>(name)?)?;
    }
    let _ = (version, logger);
    let load_api = lua.create_table()?;
    load_api.raw_set("redis", load_redis.clone())?;
    for table in [&load_redis, &load_api] {
        sandbox::set_error_metatable(lua, table)?;
    }
    sandbox::protect(lua, load_api.clone())?;
    let proxy = lua.create_table()?;
    let proxy_meta = lua.create_table()?;
    proxy_meta.raw_set("__index", globals.clone())?;
    proxy.set_metatable(Some(proxy_meta.clone()))?;
    crate::host::set_table_readonly(lua, &proxy_meta, true)?;
    crate::host::set_table_readonly(lua, &proxy, true)?;
    Ok(FunctionEnv { proxy, proxy_meta, globals, load_api })
}

/// How often the interrupt hook runs, in VM instructions (Redis: 100,000).
const HOOK_EVERY: u32 = 100_000;

/// The periodic hook of every run (luaMaskCountHook): busy state, kills, time limit.
///
/// It is mlua's *global* hook: a coroutine (`coroutine.create`/`wrap`) is a new Lua thread
/// that inherits its creator's hook, and only the global hook's procedure runs on every
/// thread (a per-thread hook removes itself from any thread it was not set for, which let a
/// loop inside a coroutine run forever, unkillable).
fn install_hook(lua: &Lua, triggers: HookTriggers, rearmed: Arc<AtomicBool>, main: MainThread) -> mlua::Result<()> {
    lua.set_global_hook(triggers, move |lua, _debug| match interrupt() {
        Interrupt::Continue => Ok(VmState::Continue),
        Interrupt::Kill => {
            // The kill was logged where it was decided: ALT.SCRIPT/FUNCTION KILL or the time
            // limit (run.rs), one line each.
            if !rearmed.swap(true, Ordering::SeqCst) {
                every_line(lua, &rearmed, main)?;
            }
            Err(raise(run::KILLED.to_vec()))
        }
        Interrupt::LoadTimeout => {
            if !rearmed.swap(true, Ordering::SeqCst) {
                every_line(lua, &rearmed, main)?;
            }
            Err(raise(b"ERR FUNCTION LOAD timeout".to_vec()))
        }
        Interrupt::OutOfMemory => {
            if !rearmed.swap(true, Ordering::SeqCst) {
                every_line(lua, &rearmed, main)?;
            }
            Err(mlua::Error::MemoryError("not enough memory".into()))
        }
    })
}

/// From now on the hook fires at every line, so that pcall cannot swallow the kill: on the
/// running thread (maybe a coroutine) and on the main thread, whose new coroutines inherit it.
fn every_line(lua: &Lua, rearmed: &Arc<AtomicBool>, main: MainThread) -> mlua::Result<()> {
    install_hook(lua, HookTriggers::new().every_line(), rearmed.clone(), main)?;
    crate::host::every_line_on(main);
    Ok(())
}

/// What the periodic hook has to do.
enum Interrupt {
    Continue,
    Kill,
    LoadTimeout,
    OutOfMemory,
}

/// Set when an allocation failed at `alt.script-memory-limit` during the current run (or
/// load): the run then ends with the memory-limit error whatever the script catches.
static MEMORY_EXHAUSTED: AtomicBool = AtomicBool::new(false);

/// Called (through the host's Lua patch) before Lua raises a memory error; true when it ends
/// the run.
pub fn note_memory_error() -> bool {
    let limited = crate::config::script_memory_limit() > 0;
    if limited {
        MEMORY_EXHAUSTED.store(true, Ordering::Relaxed);
    }
    limited
}

fn interrupt() -> Interrupt {
    if MEMORY_EXHAUSTED.load(Ordering::Relaxed) {
        return Interrupt::OutOfMemory;
    }
    if library::timed_out() {
        return Interrupt::LoadTimeout;
    }
    match run::interrupt() {
        run::Verdict::Continue => Interrupt::Continue,
        run::Verdict::Kill => Interrupt::Kill,
    }
}

impl LuaVm {
    pub fn new(version: api::Version, logger: api::Logger, kind: VmKind) -> mlua::Result<LuaVm> {
        let lua = Lua::new_with(StdLib::TABLE | StdLib::STRING | StdLib::MATH, LuaOptions::default())?;
        let globals = lua.globals();
        for name in ["dofile", "loadfile", "print", "getfenv", "setfenv", "newproxy"] {
            globals.raw_set(name, Value::Nil)?;
        }
        let redis = api::build(&lua, version, logger)?;
        if kind == VmKind::Functions {
            // The function runtime has no debugger hooks (eval.c adds them for EVAL only).
            for name in ["breakpoint", "debug", "replicate_commands"] {
                redis.raw_set(name, Value::Nil)?;
            }
        }
        globals.raw_set("redis", redis)?;
        globals.raw_set("bit", libs::bit::open(&lua)?)?;
        globals.raw_set("cjson", libs::cjson::open(&lua)?)?;
        globals.raw_set("cmsgpack", libs::cmsgpack::open(&lua)?)?;
        globals.raw_set("struct", libs::structlib::open(&lua)?)?;
        let math: Table = globals.raw_get("math")?;
        libs::random::install(&lua, &math)?;
        let tostring: Function = globals.raw_get("tostring")?;
        let next: Function = globals.raw_get("next")?;
        let handler = {
            let tostring = tostring.clone();
            lua.create_function(move |lua, err: Value| error_handler(lua, err, &tostring))?
        };
        // Redis's pcall (a C function); Lua's own runs library code at FUNCTION LOAD, which
        // gets the raw error value (luaEngineCreate).
        let run_library: Function = globals.raw_get("pcall")?;
        let errtext = lua.create_function(|lua, err: Value| match err {
            Value::Error(e) => Ok(Some(lua.create_string(error_message(&e))?)),
            _ => Ok(None),
        })?;
        globals.raw_set("pcall", crate::host::pcall_function(&lua, &errtext)?)?;
        if kind == VmKind::Eval {
            // EVAL's handler is a global (eval.c); the function engine keeps its own in the
            // registry only (function_lua.c), so libraries never see it.
            globals.raw_set("__redis__err__handler", handler.clone())?;
        }
        let kept = lua.create_registry_value(crate::host::kept_tables(&lua)?)?;
        let handler = lua.create_registry_value(handler)?;
        sandbox::enclose(&lua)?;
        if kind == VmKind::Eval {
            // KEYS and ARGV exist from the start, so a run that gives them new tables only
            // replaces a value: writing a new key into the globals could fail for memory while
            // they are writable (host::call_run's fill lifts their read-only flag for that write).
            crate::host::set_table_readonly(&lua, &globals, false)?;
            globals.raw_set("KEYS", lua.create_table()?)?;
            globals.raw_set("ARGV", lua.create_table()?)?;
            crate::host::set_table_readonly(&lua, &globals, true)?;
        }
        let functions = match kind {
            VmKind::Eval => None,
            VmKind::Functions => Some(function_env(&lua, version, logger)?),
        };
        let hook_rearmed = Arc::new(AtomicBool::new(false));
        let main = crate::host::main_thread(&lua)?;
        install_hook(&lua, HookTriggers::new().every_nth_instruction(HOOK_EVERY), hook_rearmed.clone(), main)?;
        let scratch = lua.create_table()?;
        let result_keys = convert::ResultKeys::new(&lua)?;
        Ok(LuaVm {
            lua,
            handler,
            kept,
            run_library,
            functions,
            tostring,
            next,
            scratch,
            result_keys,
            calls: 0,
            bytes_at_step: 0,
            memory_gauge: match kind {
                VmKind::Eval => &crate::metrics::EVAL_VM_BYTES,
                VmKind::Functions => &crate::metrics::FUNCTIONS_VM_BYTES,
            },
            hook_rearmed,
            main,
            memory_limit: 0,
            debugging: false,
        })
    }

    /// FUNCTION LOAD (luaEngineCreate): compiles a library's code, runs it in the load-time
    /// environment under the load timeout, and returns what it registered. The error is the
    /// native reply text (`Error compiling function: ...`, `Error registering functions: ...`).
    pub fn load_library(
        &mut self,
        code: &[u8],
        deadline: Option<Instant>,
    ) -> Result<Vec<library::Registration>, Vec<u8>> {
        self.prepare_run();
        let Some(env) = &self.functions else { return Err(b"ERR not a function VM".to_vec()) };
        let chunk = self
            .lua
            .load(code)
            .set_name("@user_function")
            .set_mode(ChunkMode::Text)
            .set_environment(env.proxy.clone())
            .into_function()
            .map_err(|e| {
                let msg = match e {
                    mlua::Error::SyntaxError { message, .. } => message.into_bytes(),
                    other => error_text(&other),
                };
                [b"ERR Error compiling function: ".as_slice(), &msg].concat()
            })?;
        let switch = |index: &Table| -> mlua::Result<()> {
            crate::host::set_table_readonly(&self.lua, &env.proxy_meta, false)?;
            env.proxy_meta.raw_set("__index", index)?;
            crate::host::set_table_readonly(&self.lua, &env.proxy_meta, true)
        };
        library::begin(deadline);
        let outcome = switch(&env.load_api).and_then(|()| self.run_library.call::<(bool, Value)>(chunk));
        let registered = library::finish();
        let restored = switch(&env.globals);
        let failure = match outcome {
            Ok((true, _)) => None,
            Ok((false, value)) => Some(self.load_error_text(&value)),
            Err(e) => Some(error_text(&e)),
        };
        if let Err(e) = restored {
            return Err(error_text(&e));
        }
        match failure {
            None => Ok(registered),
            Some(text) => Err([b"ERR Error registering functions: ".as_slice(), &text].concat()),
        }
    }

    /// luaExtractErrorInformation on a load's raw error value.
    fn load_error_text(&self, value: &Value) -> Vec<u8> {
        match value {
            Value::Table(t) => match t.raw_get::<Value>("err") {
                Ok(Value::String(s)) => s.as_bytes().to_vec(),
                _ => b"ERR unknown error".to_vec(),
            },
            Value::String(s) => [b"ERR ".as_slice(), &s.as_bytes()].concat(),
            Value::Error(e) => error_text(e),
            _ => b"ERR unknown error".to_vec(),
        }
    }

    /// FCALL: runs a registered function with its keys and args tables.
    #[inline(always)]
    pub fn run_function(
        &mut self,
        f: &Compiled,
        plain: bool,
        keys: &[&[u8]],
        args: &[&[u8]],
        sink: &mut dyn ReplySink,
        name: &dyn std::fmt::Display,
    ) -> Result<(), ScriptFailure> {
        self.run(sink, name, f, &crate::host::RunArgs::tables(keys, args, plain))
    }

    /// Compiles a script body (text only, never bytecode) into the Lua registry, as Redis
    /// keeps `f_<sha>` there: any number of scripts, none holding a Lua stack slot.
    /// The error is Lua's message.
    pub fn compile(&self, code: &[u8], chunk_name: &str) -> Result<Compiled, String> {
        let message = |e: mlua::Error| match e {
            mlua::Error::SyntaxError { message, .. } => message,
            other => String::from_utf8_lossy(&error_text(&other)).into_owned(),
        };
        let function =
            self.lua.load(code).set_name(chunk_name).set_mode(ChunkMode::Text).into_function().map_err(message)?;
        self.lua.create_registry_value(function).map(Compiled).map_err(message)
    }

    /// Bytes the VM holds now.
    /// Makes this VM the one its INFO gauge reads (the VM going into service).
    pub fn publish_memory(&self) {
        // Read only until this VM's Drop withdraws it.
        let main = self.main;
        self.memory_gauge.publish(main.addr(), Box::new(move || crate::host::vm_bytes(main)));
    }

    /// Runs an EVAL script: KEYS and ARGV as globals, the result written to `sink`.
    /// `name` is what error replies call the script (its SHA); formatted only for one.
    #[inline(always)]
    pub fn run_eval(
        &mut self,
        f: &Compiled,
        keys: &[&[u8]],
        args: &[&[u8]],
        sink: &mut dyn ReplySink,
        name: &dyn std::fmt::Display,
    ) -> Result<(), ScriptFailure> {
        self.run(sink, name, f, &crate::host::RunArgs::globals(keys, args))
    }

    /// One run (luaCallFunction): calls `f` with `run_args` under the error handler, offering
    /// a scalar result to the sink where it lies; any other value becomes the reply or the
    /// error line.
    #[inline(always)]
    fn run(
        &mut self,
        sink: &mut dyn ReplySink,
        name: &dyn std::fmt::Display,
        f: &Compiled,
        run_args: &crate::host::RunArgs<'_>,
    ) -> Result<(), ScriptFailure> {
        self.prepare_run();
        let mut write_scalar = |result: crate::host::Scalar<'_>| {
            // A script that caught a memory error still fails: the general path says so.
            !MEMORY_EXHAUSTED.load(Ordering::Relaxed) && convert::write_scalar(&mut *sink, result, run::resp3)
        };
        let ran =
            crate::host::call_run(&self.lua, self.main, &self.handler, &self.kept, &f.0, run_args, &mut write_scalar);
        let outcome = ran.and_then(|ran| {
            let crate::host::Ran::Value(ok, value) = ran else { return Ok(None) };
            if ok && MEMORY_EXHAUSTED.load(Ordering::Relaxed) {
                // The script caught the memory error and went on: the run still fails.
                Ok(Some(b"ERR not enough memory".to_vec()))
            } else if ok {
                let tools = convert::WriteTools {
                    lua: &self.lua,
                    next: &self.next,
                    scratch: &self.scratch,
                    keys: &self.result_keys,
                };
                convert::write_result(sink, value, run::resp3(), &tools);
                Ok(None)
            } else {
                Ok(Some(self.failure_text(&value, name)?))
            }
        });
        self.collect_garbage_sometimes();
        let failure = match outcome {
            Ok(None) => return Ok(()),
            Ok(Some(text)) => text,
            Err(e) => error_text(&e),
        };
        Err(ScriptFailure(self.explain_memory_failure(failure)))
    }

    /// Makes this VM a debugging session's: the debugger's hook and `redis.debug` /
    /// `redis.breakpoint` (eval.c's, active only under the debugger).
    pub fn enable_debugger(&mut self) -> mlua::Result<()> {
        let (_, api) = crate::debugger::vm_hooks();
        crate::host::ldb::install_debug_api(&self.lua, api)?;
        self.debugging = true;
        Ok(())
    }

    /// Per run: restore the count hook after a kill, apply a changed memory limit.
    fn prepare_run(&mut self) {
        MEMORY_EXHAUSTED.store(false, Ordering::Relaxed);
        if self.debugging {
            let (hook, _) = crate::debugger::vm_hooks();
            crate::host::ldb::install_debug_hook(self.main, hook);
            let limit = crate::config::script_memory_limit();
            if self.lua.set_memory_limit(limit).is_ok() {
                self.memory_limit = limit;
            }
            return;
        }
        // A memory error may have switched the main thread's hook to every line
        // (host::memory_error) with no hook firing before the run ended: put the count hook
        // back then too.
        let line_hook = crate::host::hook_fires_every_line(self.main);
        // Read first: the swap (a locked instruction) only when it was set.
        let rearmed = self.hook_rearmed.load(Ordering::SeqCst) && self.hook_rearmed.swap(false, Ordering::SeqCst);
        if rearmed | line_hook {
            let triggers = HookTriggers::new().every_nth_instruction(HOOK_EVERY);
            let _ = install_hook(&self.lua, triggers, self.hook_rearmed.clone(), self.main);
        }
        let limit = crate::config::script_memory_limit();
        if limit != self.memory_limit && self.lua.set_memory_limit(limit).is_ok() {
            self.memory_limit = limit;
        }
    }

    /// A run that hit `alt.script-memory-limit` fails with one clear error; the VM is
    /// collected at once so the next script starts with the memory back.
    fn explain_memory_failure(&self, failure: Vec<u8>) -> Vec<u8> {
        let exhausted = MEMORY_EXHAUSTED.swap(false, Ordering::Relaxed);
        if self.memory_limit == 0 || !(exhausted || failure.windows(17).any(|w| w == b"not enough memory")) {
            return failure;
        }
        // At the limit even the collection's protected call cannot allocate its closure and
        // would fail without collecting: lift the limit for it.
        let _ = self.lua.set_memory_limit(0);
        let _ = self.lua.gc_collect();
        let _ = self.lua.set_memory_limit(self.memory_limit);
        crate::host::release_free_heap();
        crate::metrics::MEMORY_LIMIT_HITS.add(1);
        let text = format!(
            "ERR Script memory limit exceeded: the script VM may use {} bytes (alt.script-memory-limit)",
            self.memory_limit
        );
        crate::host::log_any_thread(crate::host::LogLevel::Warning, &format!("Lua script failed: {text}"));
        text.into_bytes()
    }

    /// Redis runs an incremental GC step every 50 calls so that a full cycle never lands on
    /// one script (luaCallFunction, LUA_GC_CYCLE_PERIOD).
    fn collect_garbage_sometimes(&mut self) {
        self.calls += 1;
        if self.calls >= 50 {
            self.calls = 0;
            // Runs that allocated nothing (the VM's bytes unchanged since the last step) leave
            // the collector nothing to do: the step would only walk the heap again.
            let bytes = self.lua.used_memory();
            if bytes != self.bytes_at_step {
                let _ = self.lua.gc_step();
                self.bytes_at_step = self.lua.used_memory();
            }
        }
    }

    /// The error reply for a failed run (luaCallFunction): `<err> script: <name>, on <src>:<line>.`
    fn failure_text(&self, value: &Value, name: &dyn std::fmt::Display) -> mlua::Result<Vec<u8>> {
        let Value::Table(t) = value else {
            let msg = match value {
                Value::String(s) => s.as_bytes().to_vec(),
                Value::Error(e) => error_text(e),
                _ => b"execution failure".to_vec(),
            };
            let mut line = format!("ERR Error running script {name}, ").into_bytes();
            line.extend(msg.iter().take(100).take_while(|&&b| b != 0));
            return Ok(line);
        };
        // Each piece is a C string in Redis's format (`%s`): cut at its first NUL, so a NUL in
        // the message keeps the ` script: ...` suffix.
        let text_of = |v: Value| -> mlua::Result<Option<Vec<u8>>> {
            let mut bytes = match v {
                Value::String(s) => s.as_bytes().to_vec(),
                Value::Integer(_) | Value::Number(_) => self.tostring.call::<LuaString>(v)?.as_bytes().to_vec(),
                _ => return Ok(None),
            };
            if let Some(nul) = bytes.iter().position(|&b| b == 0) {
                bytes.truncate(nul);
            }
            Ok(Some(bytes))
        };
        // raw_get: an error object's metatable must not run code here.
        let Some(mut out) = text_of(t.raw_get::<Value>("err")?)? else {
            // Redis 7.0 crashes on an error table without `err`; answer instead.
            return Ok(format!("ERR Error running script {name}, execution failure").into_bytes());
        };
        if let (Some(source), Some(line)) =
            (text_of(t.raw_get::<Value>("source")?)?, text_of(t.raw_get::<Value>("line")?)?)
        {
            out.extend_from_slice(b" script: ");
            out.extend_from_slice(name.to_string().as_bytes());
            out.extend_from_slice(b", on ");
            out.extend_from_slice(&source);
            out.push(b':');
            out.extend_from_slice(&line);
            out.push(b'.');
        }
        Ok(out)
    }
}

/// The message handler of every run (eval.c `__redis__err__handler`): makes the error a table
/// `{err=...}` and records the source and line of the Lua frame that raised it (skipping one
/// C function such as `error` or `redis.call`).
fn error_handler(lua: &Lua, err: Value, tostring: &Function) -> mlua::Result<Table> {
    let t = match err {
        Value::Table(t) => t,
        Value::Error(e) => convert::error_table(lua, &error_text(&e), false)?,
        other => {
            let text: LuaString = tostring.call(other)?;
            let mut msg = b"ERR ".to_vec();
            msg.extend_from_slice(&text.as_bytes());
            convert::error_table(lua, &msg, false)?
        }
    };
    // Level 0 is this handler; level 1 the function that raised, or, when that is a C
    // function (error, redis.call...), level 2 (`dbg.getinfo(2)`, then 3, in Redis's Lua).
    let frame = |level: usize| {
        lua.inspect_stack(level, |d| {
            let source = d.source();
            let line = d.current_line().map_or(-1, |l| i64::try_from(l).unwrap_or(-1));
            (source.what == "C", source.source.map(|s| s.into_owned()), line)
        })
    };
    let mut info = frame(1);
    if let Some((true, ..)) = info {
        info = frame(2);
    }
    if let Some((_, source, line)) = info {
        t.set("source", source)?;
        t.set("line", line)?;
    }
    Ok(t)
}

impl Drop for LuaVm {
    fn drop(&mut self) {
        self.memory_gauge.withdraw(self.main.addr());
    }
}
