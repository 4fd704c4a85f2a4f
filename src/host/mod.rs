//! The host adapter: the only place that touches the Redis Module API (module.c of the host),
//! and with `lua.rs` the only one with `unsafe`. Everything else sees safe types: `Ctx` for one command call,
//! `CallReply` for an RM_Call reply, `BlockedClient` and `report()` for work off the main thread.
//! The raw Lua C-API (the patched Lua's additions, the C trampolines of the binding) lives
//! next door in `lua.rs`: `host/` is where every `unsafe` is.
#![allow(unsafe_code)]

use std::ffi::{c_char, c_int, c_long, c_void, CStr};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;
use std::sync::atomic::{AtomicPtr, Ordering};

use redis_module::raw;

use crate::command_docs;
use crate::error::ScriptError;
use crate::reply::{protocol_safe, ReplySink};

/// Calls a Module API function through the pointer table the crate filled in at load time.
/// A pointer the host did not provide yields `$none` instead of a crash.
macro_rules! rm {
    ($f:ident($($a:expr),* $(,)?) else $none:expr) => {{
        // SAFETY: the table is written once by RedisModule_Init before any command runs and is
        // only read afterwards; copying the Option<fn> out of it creates no reference.
        match unsafe { raw::$f } {
            // SAFETY: each call site passes pointers that the host handed us for this call
            // (context, strings, replies) or buffers that outlive the call.
            Some(f) => unsafe { f($($a),*) },
            None => $none,
        }
    }};
}

// ---------------------------------------------------------------------------------------------
// Load and unload: the module's entry points.

/// What the module needs of its host: the Module API functions that came after Redis 6.2
/// (module configs, subcommands, command info, yielding). A host without one of them is
/// refused at load with a log line, before anything else runs.
type ApiCheck = (&'static str, fn() -> bool);
const REQUIRED_API: &[ApiCheck] = {
    macro_rules! present {
        ($f:ident) => {
            (stringify!($f), || {
                // SAFETY: reading the pointer table RedisModule_Init filled; a copy, no reference.
                unsafe { raw::$f }.is_some()
            })
        };
    }
    &[
        present!(RedisModule_GetServerVersion),
        present!(RedisModule_RegisterNumericConfig),
        present!(RedisModule_LoadConfigs),
        present!(RedisModule_CreateSubcommand),
        present!(RedisModule_GetCommand),
        present!(RedisModule_SetCommandInfo),
        present!(RedisModule_Yield),
        present!(RedisModule_GetDetachedThreadSafeContext),
        present!(RedisModule_RegisterCommandFilter),
        present!(RedisModule_GetServerInfo),
    ]
};

/// The lowest host the module serves, as RM_GetServerVersion encodes it (0x00MMmmpp).
pub const MIN_SERVER_VERSION: i64 = 0x07_00_00;

/// Redis calls this to load the module (`--loadmodule`, `MODULE LOAD`, `MODULE LOADEX`).
/// After RedisModule_Init, a host older than `MIN_SERVER_VERSION` (or missing an API the
/// module uses) is refused with a log line; otherwise `crate::load` gets the context and the
/// load arguments and decides.
#[no_mangle]
pub extern "C" fn RedisModule_OnLoad(
    ctx: *mut raw::RedisModuleCtx,
    argv: *mut *mut raw::RedisModuleString,
    argc: c_int,
) -> c_int {
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: the host's load context; Init fills the API table, on any host version.
        let init = unsafe { raw::Export_RedisModule_Init(ctx, c"alt".as_ptr(), 1, raw::REDISMODULE_APIVER_1 as c_int) };
        if init != raw::REDISMODULE_OK as c_int {
            return false;
        }
        let version = server_version();
        let missing: Vec<&str> = REQUIRED_API.iter().filter(|(_, present)| !present()).map(|(name, _)| *name).collect();
        if version < MIN_SERVER_VERSION || !missing.is_empty() {
            let shown = if version > 0 { version_text(version) } else { "older than 6.0.9".into() };
            let mut line = format!(
                "redis-alt needs Redis {} or later; this server is {shown}: the module is not loaded",
                version_text(MIN_SERVER_VERSION)
            );
            if !missing.is_empty() {
                line += &format!(" (the host lacks {})", missing.join(", "));
            }
            log_raw(ctx, LogLevel::Warning, &line);
            return false;
        }
        let argc = usize::try_from(argc).unwrap_or(0);
        // SAFETY: Redis passes `argc` valid strings in `argv` for the duration of the call.
        let args: Vec<Vec<u8>> = (0..argc).map(|i| string_bytes(unsafe { *argv.add(i) }).to_vec()).collect();
        crate::load(ctx, &args)
    }));
    if outcome.unwrap_or(false) {
        raw::REDISMODULE_OK as c_int
    } else {
        raw::REDISMODULE_ERR as c_int
    }
}

/// Redis calls this on MODULE UNLOAD; `crate::unload` may refuse (work still in flight).
#[no_mangle]
pub extern "C" fn RedisModule_OnUnload(_ctx: *mut raw::RedisModuleCtx) -> c_int {
    if catch_unwind(crate::unload).unwrap_or(false) {
        raw::REDISMODULE_OK as c_int
    } else {
        raw::REDISMODULE_ERR as c_int
    }
}

/// `0x00MMmmpp` as `M.m.p`.
pub fn version_text(version: i64) -> String {
    format!("{}.{}.{}", (version >> 16) & 0xff, (version >> 8) & 0xff, version & 0xff)
}

/// Logs through a context the host handed us (at load, before the module's own exists).
pub fn log_to(ctx: *mut raw::RedisModuleCtx, level: LogLevel, msg: &str) {
    log_raw(ctx, level, msg);
}

/// One integer config of the module (`alt.<name>`), held in an atomic that the host reads and
/// writes through the config callbacks.
pub struct NumericConfig {
    pub name: &'static CStr,
    pub value: &'static std::sync::atomic::AtomicI64,
    pub default: i64,
    pub min: i64,
    pub max: i64,
    /// Takes memory units (`64mb`), as CONFIG SET parses them.
    pub memory: bool,
}

/// Registers the configs, then lets the host apply `--alt.*` directives (or MODULE LOADEX
/// CONFIG) and defaults (RM_LoadConfigs). The reason on failure.
pub fn register_configs(ctx: *mut raw::RedisModuleCtx, configs: &'static [NumericConfig]) -> Result<(), &'static str> {
    extern "C" fn get(_name: *const c_char, privdata: *mut c_void) -> std::ffi::c_longlong {
        // SAFETY: privdata is one of the 'static configs registered below.
        let config = unsafe { &*(privdata as *const NumericConfig) };
        config.value.load(Ordering::Relaxed)
    }
    extern "C" fn set(
        _name: *const c_char,
        value: std::ffi::c_longlong,
        privdata: *mut c_void,
        _err: *mut *mut raw::RedisModuleString,
    ) -> c_int {
        // SAFETY: as in `get`; the host checked the range before calling.
        let config = unsafe { &*(privdata as *const NumericConfig) };
        config.value.store(value, Ordering::Relaxed);
        raw::REDISMODULE_OK as c_int
    }
    let all = configs.iter().all(|c| {
        let flags = if c.memory { raw::REDISMODULE_CONFIG_MEMORY } else { raw::REDISMODULE_CONFIG_DEFAULT };
        let privdata = (c as *const NumericConfig).cast_mut().cast::<c_void>();
        let done = rm!(RedisModule_RegisterNumericConfig(
            ctx,
            c.name.as_ptr(),
            c.default,
            flags,
            c.min,
            c.max,
            Some(get),
            Some(set),
            None,
            privdata
        ) else raw::REDISMODULE_ERR as c_int);
        done == raw::REDISMODULE_OK as c_int
    });
    if !all {
        return Err("its configs could not be registered");
    }
    if rm!(RedisModule_LoadConfigs(ctx) else raw::REDISMODULE_ERR as c_int) != raw::REDISMODULE_OK as c_int {
        return Err("the host refused an alt.* config value given in its config file, as --alt.*, or with MODULE LOADEX CONFIG (the line above names it)");
    }
    Ok(())
}

/// One yes/no config of the module (`alt.<name>`): the host reads it with `get` and changes
/// it with `set`, which may refuse with a reason (CONFIG SET answers it as the error).
pub struct BoolConfig {
    pub name: &'static CStr,
    pub default: bool,
    pub get: fn() -> bool,
    pub set: fn(bool) -> Result<(), String>,
}

/// Registers yes/no configs; call before `register_configs`, whose RM_LoadConfigs applies
/// them too.
pub fn register_bool_configs(ctx: *mut raw::RedisModuleCtx, configs: &'static [BoolConfig]) -> bool {
    extern "C" fn get(_name: *const c_char, privdata: *mut c_void) -> c_int {
        // SAFETY: privdata is one of the 'static configs registered below.
        let config = unsafe { &*(privdata as *const BoolConfig) };
        c_int::from(catch_unwind(config.get).unwrap_or(false))
    }
    extern "C" fn set(
        _name: *const c_char,
        value: c_int,
        privdata: *mut c_void,
        err: *mut *mut raw::RedisModuleString,
    ) -> c_int {
        // SAFETY: as in `get`.
        let config = unsafe { &*(privdata as *const BoolConfig) };
        let outcome = catch_unwind(|| (config.set)(value != 0)).unwrap_or_else(|_| Err("internal error".into()));
        match outcome {
            Ok(()) => raw::REDISMODULE_OK as c_int,
            Err(why) => {
                if !err.is_null() {
                    // The host frees the error string.
                    let s = rm!(RedisModule_CreateString(ptr::null_mut(), why.as_ptr().cast(), why.len())
                        else ptr::null_mut());
                    // SAFETY: `err` is the host's out-pointer for this call.
                    unsafe { *err = s };
                }
                raw::REDISMODULE_ERR as c_int
            }
        }
    }
    configs.iter().all(|c| {
        let privdata = (c as *const BoolConfig).cast_mut().cast::<c_void>();
        rm!(RedisModule_RegisterBoolConfig(
            ctx,
            c.name.as_ptr(),
            c_int::from(c.default),
            raw::REDISMODULE_CONFIG_DEFAULT,
            Some(get),
            Some(set),
            None,
            privdata
        ) else raw::REDISMODULE_ERR as c_int)
            == raw::REDISMODULE_OK as c_int
    })
}

/// A context for RM_Call on the main thread outside any command (filters, config
/// callbacks), once the module is loaded.
pub fn main_thread_ctx() -> Option<Ctx> {
    let ctx = DETACHED.load(Ordering::SeqCst);
    (!ctx.is_null()).then_some(Ctx::from_raw(ctx))
}

/// `CONFIG SET name value` as a client would send it: the host parses and range-checks the
/// value exactly as for any client. The error text on refusal.
pub fn config_set(ctx: *mut raw::RedisModuleCtx, name: &[u8], value: &[u8]) -> Result<(), String> {
    let ctx = Ctx::from_raw(ctx);
    let reply = ctx.call(c"CONFIG", c"vE", &[b"SET", name, value]).ok_or("CONFIG SET could not run")?;
    match reply.root().kind() {
        ReplyKind::Error(text) => Err(String::from_utf8_lossy(text).into_owned()),
        _ => Ok(()),
    }
}

// ---------------------------------------------------------------------------------------------
// Commands: registration and the one door through which Redis enters the module.

/// The C signature of a command handler.
pub type RawHandler = extern "C" fn(*mut raw::RedisModuleCtx, *mut *mut raw::RedisModuleString, c_int) -> c_int;

// The path of a script's run is one chain of calls, from Redis's `call` through the command,
// the Lua VM and each `redis.call` down to RM_Call and Redis's `call` again: every frame of
// ours on it costs more than its few instructions, since once the chain is deeper than the
// CPU's return-address stack, returns mispredict (measured on the ceiling module: 14 frames
// more around its RM_Call cost it 8% of its throughput). So the steps of that chain are
// `#[inline(always)]`, and the handler reaches `dispatch_as` as a type, not a pointer.

/// Wraps a command handler (`fn(&mut Ctx, &[&[u8]]) -> Result<(), ScriptError>`: parses
/// `args`, replies through `ctx`) into the `extern "C"` function Redis calls.
#[macro_export]
macro_rules! handler {
    ($f:path, dropin_only, hot) => {
        $crate::handler!(@raw $crate::host::dispatch_as, $f, $crate::host::Route::DropInOnly)
    };
    ($f:path, dropin_only) => {
        $crate::handler!(@raw $crate::host::dispatch_cold, $f, $crate::host::Route::DropInOnly)
    };
    ($f:path, hot) => {
        $crate::handler!(@raw $crate::host::dispatch_as, $f, $crate::host::Route::Any)
    };
    ($f:path) => {
        $crate::handler!(@raw $crate::host::dispatch_cold, $f, $crate::host::Route::Any)
    };
    (@raw $dispatch:path, $f:path, $route:expr) => {{
        extern "C" fn raw_handler(
            ctx: *mut redis_module::raw::RedisModuleCtx,
            argv: *mut *mut redis_module::raw::RedisModuleString,
            argc: std::ffi::c_int,
        ) -> std::ffi::c_int {
            $dispatch(ctx, argv, argc, $f, $route)
        }
        raw_handler as $crate::host::RawHandler
    }};
}

/// One row of the command table in lib.rs.
pub struct CommandSpec {
    /// `alt.eval`, or `alt.script|load` for a subcommand of a container.
    pub name: &'static CStr,
    /// `None` for a container (its subcommands follow it in the table).
    pub handler: Option<RawHandler>,
    pub flags: &'static CStr,
    /// Redis arity: positive exact, negative minimum; checked by the server before we run.
    pub arity: c_int,
    /// Key spec of the EVAL family (numkeys at argv[2]); `Some(true)` for read-write keys.
    pub numkeys_keys: Option<bool>,
}

/// `dispatch_as` for the commands off the scripts' path (`handler!` without `hot`): one copy
/// for all of them, the handler called through a pointer.
#[inline(never)]
pub fn dispatch_cold(
    ctx: *mut raw::RedisModuleCtx,
    argv: *mut *mut raw::RedisModuleString,
    argc: c_int,
    handler: fn(&mut Ctx, &[&[u8]]) -> Result<(), ScriptError>,
    route: Route,
) -> c_int {
    dispatch_as(ctx, argv, argc, handler, route)
}

/// How a command may be reached.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// By name, or through drop-in mode's filter.
    Any,
    /// Only through drop-in mode's filter (the `alt.dropin.*` commands, which skip the ACL
    /// command check because the filter or the handler checks the native command instead).
    DropInOnly,
}

/// Entry point for every command: catches unwinding (a panic must never cross into Redis),
/// hands the handler borrowed argument bytes, and turns an `Err` into an error reply.
#[inline(always)]
pub fn dispatch_as(
    ctx: *mut raw::RedisModuleCtx,
    argv: *mut *mut raw::RedisModuleString,
    argc: c_int,
    handler: impl FnOnce(&mut Ctx, &[&[u8]]) -> Result<(), ScriptError>,
    route: Route,
) -> c_int {
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        let argc = usize::try_from(argc).unwrap_or(0);
        // SAFETY: Redis passes `argc` valid strings in `argv` for the duration of the call.
        let raw_arg = |i: usize| unsafe { *argv.add(i) };
        let typed = if argc > 0 { typed_name(raw_arg(0)) } else { None };
        let mut ctx = Ctx { raw: ctx, dropin: typed.is_some(), args: NO_ARGS, argv: ptr::null() };
        if route == Route::DropInOnly && !ctx.dropin {
            let name = String::from_utf8_lossy(if argc > 0 { string_bytes(raw_arg(0)) } else { b"" });
            ctx.error(
                format!("ERR '{name}' is reached only through drop-in mode (alt.takeover): call the native command")
                    .as_bytes(),
            );
            return;
        }
        let arg = |i: usize| match (typed, i) {
            (Some(t), 0) => t,
            _ => string_bytes(raw_arg(i)),
        };
        // Most commands have few arguments: keep their slices on the stack (only the slots
        // used are written: no 256 bytes to clear per command).
        const INLINE: usize = 16;
        let mut inline = [std::mem::MaybeUninit::<&[u8]>::uninit(); INLINE];
        let heap: Vec<&[u8]>;
        let args: &[&[u8]] = if argc <= INLINE {
            for (i, slot) in inline.iter_mut().enumerate().take(argc) {
                slot.write(arg(i));
            }
            // SAFETY: the first `argc` slots (argc <= INLINE) were written just above.
            unsafe { std::slice::from_raw_parts(inline.as_ptr().cast::<&[u8]>(), argc) }
        } else {
            heap = (0..argc).map(arg).collect();
            &heap
        };
        // `args` outlives the handler, and so every use of `ctx` and its copies.
        ctx.args = args as *const [&[u8]];
        ctx.argv = argv;
        if let Err(e) = handler(&mut ctx, args) {
            ctx.reply_error(&e);
        }
    }));
    if outcome.is_err() {
        let mut ctx = Ctx::from_raw(ctx);
        ctx.error(b"ERR redis-alt internal error (see the server log)");
    }
    raw::REDISMODULE_OK as c_int
}

fn string_bytes<'a>(s: *const raw::RedisModuleString) -> &'a [u8] {
    let mut len = 0usize;
    let p = rm!(RedisModule_StringPtrLen(s, &mut len) else ptr::null());
    if p.is_null() {
        return &[];
    }
    // SAFETY: StringPtrLen returns the string's buffer and length; the string outlives the
    // command call that borrows it.
    unsafe { std::slice::from_raw_parts(p.cast(), len) }
}

/// Registers the command table. Returns false (the load fails) if the host refuses any row.
pub fn register_commands(ctx: *mut raw::RedisModuleCtx, table: &[CommandSpec]) -> bool {
    table.iter().all(|spec| register_one(ctx, spec))
}

fn register_one(ctx: *mut raw::RedisModuleCtx, spec: &CommandSpec) -> bool {
    let name = spec.name.to_bytes();
    let created = match name.iter().position(|&b| b == b'|') {
        None => {
            rm!(RedisModule_CreateCommand(ctx, spec.name.as_ptr(), c_handler(spec.handler), spec.flags.as_ptr(), 0, 0, 0)
                else raw::REDISMODULE_ERR as c_int)
        }
        Some(bar) => {
            let (parent, sub) = name.split_at(bar);
            let (Ok(parent), Ok(sub)) =
                (std::ffi::CString::new(parent), std::ffi::CString::new(sub.get(1..).unwrap_or_default()))
            else {
                return false;
            };
            let parent = rm!(RedisModule_GetCommand(ctx, parent.as_ptr()) else ptr::null_mut());
            if parent.is_null() {
                return false;
            }
            rm!(RedisModule_CreateSubcommand(parent, sub.as_ptr(), c_handler(spec.handler), spec.flags.as_ptr(), 0, 0, 0)
                else raw::REDISMODULE_ERR as c_int)
        }
    };
    created == raw::REDISMODULE_OK as c_int && set_command_info(ctx, spec)
}

fn c_handler(h: Option<RawHandler>) -> raw::RedisModuleCmdFunc {
    h.map(|h| h as unsafe extern "C" fn(_, _, _) -> _)
}

fn set_command_info(ctx: *mut raw::RedisModuleCtx, spec: &CommandSpec) -> bool {
    let command = rm!(RedisModule_GetCommand(ctx, spec.name.as_ptr()) else ptr::null_mut());
    if command.is_null() {
        return false;
    }
    let version = raw::RedisModuleCommandInfoVersion {
        version: 1,
        sizeof_historyentry: std::mem::size_of::<raw::RedisModuleCommandHistoryEntry>(),
        sizeof_keyspec: std::mem::size_of::<raw::RedisModuleCommandKeySpec>(),
        sizeof_arg: std::mem::size_of::<raw::RedisModuleCommandArg>(),
    };
    // SAFETY: plain C structs; all-zero is their documented "unset" value and a zeroed
    // key spec terminates the array.
    let mut specs: [raw::RedisModuleCommandKeySpec; 2] = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    let mut info: raw::RedisModuleCommandInfo = unsafe { std::mem::zeroed() };
    info.version = &version;
    info.arity = spec.arity;
    // The argument arrays `info.args` points into; kept until SetCommandInfo has copied them.
    let mut arg_arrays = Vec::new();
    if let Some(doc) = command_docs::lookup(spec.name) {
        info.summary = doc.summary.as_ptr();
        info.since = doc.since.as_ptr();
        info.complexity = doc.complexity.as_ptr();
        info.tips = doc.tips.map_or(ptr::null(), CStr::as_ptr);
        if !doc.args.is_empty() {
            info.args = raw_args(doc.args, &mut arg_arrays);
        }
    }
    if let Some(write) = spec.numkeys_keys {
        let [first, _] = &mut specs;
        first.flags = u64::from(if write {
            raw::REDISMODULE_CMD_KEY_RW | raw::REDISMODULE_CMD_KEY_ACCESS | raw::REDISMODULE_CMD_KEY_UPDATE
        } else {
            raw::REDISMODULE_CMD_KEY_RO | raw::REDISMODULE_CMD_KEY_ACCESS
        });
        first.begin_search_type = raw::RedisModuleKeySpecBeginSearchType_REDISMODULE_KSPEC_BS_INDEX;
        first.bs.index.pos = 2;
        first.find_keys_type = raw::RedisModuleKeySpecFindKeysType_REDISMODULE_KSPEC_FK_KEYNUM;
        first.fk.keynum.keynumidx = 0;
        first.fk.keynum.firstkey = 1;
        first.fk.keynum.keystep = 1;
        info.key_specs = specs.as_mut_ptr();
    }
    // SAFETY: `info`, `version`, `specs` and `arg_arrays` outlive the call, the docs' strings
    // are statics; the host copies what it keeps.
    let status = rm!(RedisModule_SetCommandInfo(command, &info) else raw::REDISMODULE_ERR as c_int);
    drop(arg_arrays);
    status == raw::REDISMODULE_OK as c_int
}

/// The zero entry that ends an argument array.
const ARG_END: raw::RedisModuleCommandArg = raw::RedisModuleCommandArg {
    name: ptr::null(),
    type_: 0,
    key_spec_index: 0,
    token: ptr::null(),
    summary: ptr::null(),
    since: ptr::null(),
    flags: 0,
    deprecated_since: ptr::null(),
    subargs: ptr::null_mut(),
    display_text: ptr::null(),
};

/// `args` as the Module API's zero-terminated array (sub-arguments likewise). Every array is
/// pushed onto `arrays`, whose heap buffers stay put while the outer Vec grows or moves.
fn raw_args(
    args: &[command_docs::Arg],
    arrays: &mut Vec<Vec<raw::RedisModuleCommandArg>>,
) -> *mut raw::RedisModuleCommandArg {
    let mut array: Vec<raw::RedisModuleCommandArg> = args.iter().map(|arg| raw_arg(arg, arrays)).collect();
    array.push(ARG_END);
    let first = array.as_mut_ptr();
    arrays.push(array);
    first
}

fn raw_arg(arg: &command_docs::Arg, arrays: &mut Vec<Vec<raw::RedisModuleCommandArg>>) -> raw::RedisModuleCommandArg {
    use command_docs::ArgKind;
    let (type_, key_spec_index, subargs) = match arg.kind {
        ArgKind::String => (raw::RedisModuleCommandArgType_REDISMODULE_ARG_TYPE_STRING, -1, ptr::null_mut()),
        ArgKind::Integer => (raw::RedisModuleCommandArgType_REDISMODULE_ARG_TYPE_INTEGER, -1, ptr::null_mut()),
        ArgKind::Key(index) => {
            (raw::RedisModuleCommandArgType_REDISMODULE_ARG_TYPE_KEY, c_int::from(index), ptr::null_mut())
        }
        ArgKind::PureToken(_) => (raw::RedisModuleCommandArgType_REDISMODULE_ARG_TYPE_PURE_TOKEN, -1, ptr::null_mut()),
        ArgKind::OneOf(choices) => {
            (raw::RedisModuleCommandArgType_REDISMODULE_ARG_TYPE_ONEOF, -1, raw_args(choices, arrays))
        }
    };
    let mut flags = raw::REDISMODULE_CMD_ARG_NONE;
    if arg.optional {
        flags |= raw::REDISMODULE_CMD_ARG_OPTIONAL;
    }
    if arg.multiple {
        flags |= raw::REDISMODULE_CMD_ARG_MULTIPLE;
    }
    raw::RedisModuleCommandArg {
        name: arg.name.as_ptr(),
        type_,
        key_spec_index,
        token: arg.token().map_or(ptr::null(), CStr::as_ptr),
        flags: flags as c_int,
        subargs,
        ..ARG_END
    }
}

// ---------------------------------------------------------------------------------------------
// One command call.

/// The context of the command being served. Valid only during that call; the run context
/// keeps a copy for exactly the length of one script run.
#[derive(Clone, Copy)]
pub struct Ctx {
    raw: *mut raw::RedisModuleCtx,
    /// Served under a native command's name by drop-in mode (`alt.takeover`): texts that
    /// name commands name the native ones.
    dropin: bool,
    /// The command's arguments as the handler got them (empty outside a command): they live
    /// as long as the command, and so as long as any copy of this Ctx may be used.
    args: *const [&'static [u8]],
    /// The host's strings of those arguments (null outside a command), valid as `args` is.
    argv: *const *mut raw::RedisModuleString,
}

/// A Ctx's `args` outside a command.
const NO_ARGS: *const [&'static [u8]] = &[];

// SAFETY: a Ctx is only ever used on the Redis main thread while its command runs; it is
// `Send` so that the run context (a static) may hold it for the duration of a script.
unsafe impl Send for Ctx {}

/// The bits of RedisModule_GetContextFlags we act on.
#[derive(Clone, Copy, Debug, Default)]
pub struct CtxFlags(u32);

impl CtxFlags {
    /// Blocking the client is refused (MULTI/EXEC, a script, RM_Call).
    pub fn deny_blocking(self) -> bool {
        self.0 & raw::REDISMODULE_CTX_FLAGS_DENY_BLOCKING != 0
    }
    /// A replica (of a primary, whatever its link).
    pub fn replica(self) -> bool {
        self.0 & raw::REDISMODULE_CTX_FLAGS_SLAVE != 0
    }
    pub fn readonly_replica(self) -> bool {
        self.0 & raw::REDISMODULE_CTX_FLAGS_SLAVE != 0 && self.0 & raw::REDISMODULE_CTX_FLAGS_READONLY != 0
    }
    /// A replica without a live link to its primary.
    pub fn replica_is_stale(self) -> bool {
        self.0 & raw::REDISMODULE_CTX_FLAGS_REPLICA_IS_STALE != 0
    }
    pub fn cluster(self) -> bool {
        self.0 & raw::REDISMODULE_CTX_FLAGS_CLUSTER != 0
    }
    pub fn oom(self) -> bool {
        self.0 & raw::REDISMODULE_CTX_FLAGS_OOM != 0
    }
    /// Inside MULTI/EXEC, or called from a native Lua script: RM_Yield would crash 7.0.15.
    pub fn yield_forbidden(self) -> bool {
        self.0 & (raw::REDISMODULE_CTX_FLAGS_MULTI | raw::REDISMODULE_CTX_FLAGS_LUA) != 0
    }
    /// Inside MULTI/EXEC.
    pub fn in_multi(self) -> bool {
        self.0 & raw::REDISMODULE_CTX_FLAGS_MULTI != 0
    }
    /// The command came from our primary (replication stream).
    pub fn sent_by_primary(self) -> bool {
        self.0 & raw::REDISMODULE_CTX_FLAGS_REPLICATED != 0
    }
}

/// Where a command takes its keys (COMMAND INFO's first, last and step, for a command
/// without movable keys): arguments `first`, `first + step`, ... through `last`, which
/// counts from the end of the command line when negative (-1: the last argument). The
/// command name is argument 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyPositions {
    pub first: usize,
    pub last: isize,
    pub step: usize,
}

impl KeyPositions {
    /// Is argument `pos` of a command line of `argc` arguments a key?
    pub fn contains(self, pos: usize, argc: usize) -> bool {
        let last = if self.last < 0 {
            isize::try_from(argc).unwrap_or(isize::MAX).saturating_add(self.last)
        } else {
            self.last
        };
        let Ok(last) = usize::try_from(last) else { return false };
        self.first > 0
            && self.step > 0
            && (self.first..=last).contains(&pos)
            // Most commands step by 1: no division for them.
            && (self.step == 1 || (pos - self.first).is_multiple_of(self.step))
    }
}

/// A run's keys where the command being served holds them: `count` arguments from argument
/// `first` (none for a run whose keys are copies, as a debugged one's). Read only while that
/// command runs: a Ctx carries it no further.
#[derive(Clone, Copy, Default, Debug)]
pub struct CallerKeys {
    first: usize,
    count: usize,
}

/// What a redis.call may hand RM_Call as the caller's own strings (`s`, one more reference)
/// instead of bytes to copy into a new object (`b`): its arguments in the command's key
/// positions that equal one of the run's keys. Only keys: the host copies a key's bytes
/// wherever it keeps them, while a value may be stored as the object itself (re-encoded
/// only when nothing else holds it, so values stay `b`, as fresh as native's).
#[derive(Clone, Copy, Default, Debug)]
pub struct Share {
    pub positions: Option<KeyPositions>,
    pub keys: CallerKeys,
}

/// How many of the run's keys a key argument is compared with (scripts name a few; past
/// these, arguments are copied as before).
const SHARED_KEYS_SCANNED: usize = 8;

/// Key flags for `Ctx::key_at`.
pub enum KeyAccess {
    ReadWrite,
    ReadOnly,
}

impl Ctx {
    /// The context Redis passed to OnLoad or an event callback.
    pub fn from_raw(raw: *mut raw::RedisModuleCtx) -> Ctx {
        Ctx { raw, dropin: false, args: NO_ARGS, argv: ptr::null() }
    }

    /// Served under a native command's name (drop-in mode)?
    pub fn dropin(&self) -> bool {
        self.dropin
    }

    /// The arguments of the command being served, name first, as its handler got them
    /// (copied: FUNCTION STATS shows the running function's command line).
    pub fn command_args(&self) -> Vec<Vec<u8>> {
        // SAFETY: a Ctx is used only while its command runs (see the type), and `args`
        // points at that command's argument slices, which live until its handler returns.
        unsafe { &*self.args }.iter().map(|a| a.to_vec()).collect()
    }

    /// `keys` as arguments of the command being served, when they are a run of its own
    /// arguments (the slices its handler got); otherwise none.
    pub fn caller_keys(&self, keys: &[&[u8]]) -> CallerKeys {
        // SAFETY: as in command_args.
        let args = unsafe { &*self.args };
        let size = std::mem::size_of::<&[u8]>();
        let (base, at) = (args.as_ptr() as usize, keys.as_ptr() as usize);
        if self.argv.is_null() || keys.is_empty() || at < base || !(at - base).is_multiple_of(size) {
            return CallerKeys::default();
        }
        let first = (at - base) / size;
        match first.checked_add(keys.len()) {
            Some(end) if first > 0 && end <= args.len() => CallerKeys { first, count: keys.len() },
            _ => CallerKeys::default(),
        }
    }

    /// The caller's own string for argument `pos` (of `argc`) of a redis.call, `bytes`, if
    /// `share` lets it go as one (see Share).
    #[inline(always)]
    fn shared_key(&self, share: &Share, pos: usize, argc: usize, bytes: &[u8]) -> Option<*mut raw::RedisModuleString> {
        let CallerKeys { first, count } = share.keys;
        if count == 0 || !share.positions?.contains(pos, argc) {
            return None;
        }
        // SAFETY: `keys` was made by caller_keys from this Ctx's own arguments, and a Ctx is
        // used only while its command runs: `args` and `argv` hold `first + count` entries.
        let args = unsafe { &*self.args };
        let j = (first..first + count.min(SHARED_KEYS_SCANNED)).find(|&j| args.get(j).is_some_and(|a| *a == bytes))?;
        // SAFETY: as above; j < argc.
        Some(unsafe { *self.argv.add(j) })
    }

    pub fn flags(&self) -> CtxFlags {
        let f = rm!(RedisModule_GetContextFlags(self.raw) else 0);
        CtxFlags(f as u32)
    }

    /// True when Redis only asks which arguments are keys (getkeys-api: COMMAND GETKEYS,
    /// cluster routing, ACL key checks).
    pub fn is_keys_position_request(&self) -> bool {
        rm!(RedisModule_IsKeysPositionRequest(self.raw) else 0) != 0
    }

    pub fn key_at(&self, pos: usize, access: KeyAccess) {
        let flags = match access {
            KeyAccess::ReadWrite => {
                raw::REDISMODULE_CMD_KEY_RW | raw::REDISMODULE_CMD_KEY_ACCESS | raw::REDISMODULE_CMD_KEY_UPDATE
            }
            KeyAccess::ReadOnly => raw::REDISMODULE_CMD_KEY_RO | raw::REDISMODULE_CMD_KEY_ACCESS,
        };
        if let Ok(pos) = c_int::try_from(pos) {
            rm!(RedisModule_KeyAtPosWithFlags(self.raw, pos, c_int::try_from(flags).unwrap_or(0)) else ())
        }
    }

    pub fn selected_db(&self) -> i32 {
        rm!(RedisModule_GetSelectedDb(self.raw) else 0)
    }

    /// Changes the calling client's selected DB (a script's SELECT; restored after the run).
    pub fn select_db(&self, db: i32) -> bool {
        rm!(RedisModule_SelectDb(self.raw, db) else raw::REDISMODULE_ERR as c_int) == raw::REDISMODULE_OK as c_int
    }

    /// Lets the server serve other clients while a script runs (RM_Yield): from
    /// `busy-reply-threshold` on they get `-BUSY <busy_reply>` except for `allow-busy`
    /// commands (ALT.SCRIPT KILL), which run nested in here. Never call it when
    /// `CtxFlags::yield_forbidden`.
    pub fn yield_to_clients(&self, busy_reply: &CStr) {
        rm!(RedisModule_Yield(self.raw, raw::REDISMODULE_YIELD_FLAG_CLIENTS as c_int, busy_reply.as_ptr()) else ());
    }

    pub fn reply_error(&mut self, e: &ScriptError) {
        match e {
            ScriptError::Arity => {
                rm!(RedisModule_WrongArity(self.raw) else 0);
            }
            other => self.error(&other.text()),
        }
    }

    pub fn reply_ok(&mut self) {
        self.status(b"OK");
    }

    /// Runs `cmd` through RedisModule_Call with the `v` format plus `flags` (see module.c's
    /// format parser: S script mode, E errors as replies, C ACL, M OOM, W no writes, ! replicate,
    /// A/R suppress AOF/replicas, 3 RESP3). `None` only if the host could not even build a
    /// reply (unknown format character); with `E` every refusal is an error reply.
    pub fn call(&self, cmd: &CStr, flags: &CStr, args: &[&[u8]]) -> Option<CallReply> {
        let mut argv = Argv::with_capacity(args.len());
        for a in args {
            argv.push(a);
        }
        self.call_argv(cmd, flags, &argv).0
    }

    /// `call` with prepared arguments, also returning the errno RM_Call set when it refused
    /// the command itself (ENOENT unknown, EINVAL arity, ESPIPE script mode, EACCES ACL, ...).
    #[inline(never)]
    pub fn call_argv(&self, cmd: &CStr, flags: &CStr, argv: &Argv) -> (Option<CallReply>, i32) {
        self.call_argv_inline(cmd, flags, argv, &Share::default())
    }

    /// `call_argv`, inlined into redis.call's path (see the note on the run's chain above
    /// `handler!`), with the arguments `share` lets go as the caller's own strings.
    #[inline(always)]
    pub fn call_argv_inline(&self, cmd: &CStr, flags: &CStr, argv: &Argv, share: &Share) -> (Option<CallReply>, i32) {
        set_errno(0);
        let reply = if flags.to_bytes().first() == Some(&b'v') {
            self.call_fresh(cmd, flags, argv, share)
        } else {
            let strings = argv.strings();
            rm!(RedisModule_Call(self.raw, cmd.as_ptr(), flags.as_ptr(), strings.as_ptr().cast_mut(), strings.len())
                else ptr::null_mut())
        };
        let errno = errno();
        ((!reply.is_null()).then(|| CallReply { raw: reply }), errno)
    }

    /// The first key the command line `name args...` names (RM_GetCommandKeys: the host's
    /// key specs, getkeys procs included); `None` for a keyless or unknown command.
    pub fn first_key(&self, name: &[u8], args: &Argv) -> Option<Vec<u8>> {
        let mut full = Argv::with_capacity(args.len() + 1);
        full.push(name);
        if full.len() != 1 {
            return None;
        }
        let mut strings = full.strings().to_vec();
        strings.extend_from_slice(args.strings());
        let argc = c_int::try_from(strings.len()).ok()?;
        let mut num_keys: c_int = 0;
        let positions = rm!(RedisModule_GetCommandKeys(self.raw, strings.as_mut_ptr(), argc, &mut num_keys)
            else ptr::null_mut());
        if positions.is_null() {
            return None;
        }
        // SAFETY: the host returned an array of `num_keys` ints, ours to free with RM_Free.
        let first = (num_keys > 0).then(|| unsafe { *positions });
        rm!(RedisModule_Free(positions.cast()) else ());
        let pos = usize::try_from(first?).ok()?;
        // `strings` borrows the pointers of `full` and `args`, which outlive this use.
        strings.get(pos).map(|&s| string_bytes(s).to_vec())
    }

    /// May the calling user run this command line (ACL, keys included)? `None` when no such
    /// command exists. `argv` holds the whole command line, name first.
    pub fn acl_allows(&self, argv: &Argv) -> Option<bool> {
        let name = rm!(RedisModule_GetCurrentUserName(self.raw) else ptr::null_mut());
        if name.is_null() {
            return Some(false);
        }
        let user = rm!(RedisModule_GetModuleUserFromUserName(name) else ptr::null_mut());
        rm!(RedisModule_FreeString(self.raw, name) else ());
        if user.is_null() {
            return Some(false);
        }
        set_errno(0);
        let strings = argv.strings();
        let argc = c_int::try_from(strings.len()).unwrap_or(c_int::MAX);
        let status = rm!(RedisModule_ACLCheckCommandPermissions(user, strings.as_ptr().cast_mut(), argc)
            else raw::REDISMODULE_ERR as c_int);
        let errno = errno();
        rm!(RedisModule_FreeModuleUser(user) else ());
        if status == raw::REDISMODULE_OK as c_int {
            Some(true)
        } else if errno == libc::ENOENT {
            None
        } else {
            Some(false)
        }
    }

    /// Propagates this command as it was received to replicas and the AOF (for commands
    /// that change module state the replicas must mirror, like ALT.FUNCTION LOAD), always
    /// under its module name `alt_name`: a command served in drop-in mode reaches replicas
    /// and the AOF as the ALT.* command, which any server with the module replays.
    pub fn replicate_verbatim(&self, alt_name: &CStr, args: &[&[u8]]) {
        if !self.dropin {
            rm!(RedisModule_ReplicateVerbatim(self.raw) else 0);
            return;
        }
        let mut argv = Argv::with_capacity(args.len());
        for a in args.get(1..).unwrap_or_default() {
            argv.push(a);
        }
        let strings = argv.strings();
        rm!(RedisModule_Replicate(self.raw, alt_name.as_ptr(), c"v".as_ptr(), strings.as_ptr().cast_mut(), strings.len())
            else 0);
    }

    /// May the user of this command's client run `argv` (a native command line)? Asked by
    /// commands that skip the host's ACL command check (drop-in mode on hosts whose filter
    /// cannot ask, 7.0).
    pub fn user_may_run(&self, argv: &[&[u8]]) -> bool {
        let name = rm!(RedisModule_GetCurrentUserName(self.raw) else ptr::null_mut());
        if name.is_null() {
            return false;
        }
        let user = string_bytes(name).to_vec();
        rm!(RedisModule_FreeString(self.raw, name) else ());
        let mut strings = Argv::with_capacity(argv.len());
        for a in argv {
            strings.push(a);
        }
        filter::user_may_run(&user, strings.strings())
    }

    /// The name of the user of this command's client.
    pub fn user_name(&self) -> Option<Vec<u8>> {
        let name = rm!(RedisModule_GetCurrentUserName(self.raw) else ptr::null_mut());
        if name.is_null() {
            return None;
        }
        let user = string_bytes(name).to_vec();
        rm!(RedisModule_FreeString(self.raw, name) else ());
        Some(user)
    }

    /// An ACL LOG entry for a command this client's user may not run (`object`: the command's
    /// full name, `script|load`).
    pub fn acl_log_command_denied(&self, object: &[u8]) {
        let Some(user) = self.user_name() else { return };
        let name = filter::string_from(&user);
        let handle = rm!(RedisModule_GetModuleUserFromUserName(name) else ptr::null_mut());
        rm!(RedisModule_FreeString(ptr::null_mut(), name) else ());
        if handle.is_null() {
            return;
        }
        let object = filter::string_from(object);
        rm!(RedisModule_ACLAddLogEntry(self.raw, handle, object, raw::RedisModuleACLLogEntryReason_REDISMODULE_ACL_LOG_CMD)
            else ());
        rm!(RedisModule_FreeString(ptr::null_mut(), object) else ());
        rm!(RedisModule_FreeModuleUser(handle) else ());
    }

    /// Blocks the calling client until `BlockedClient::unblock` is called from another thread,
    /// which then replies `+OK`. `None` where blocking is not allowed (MULTI, scripts).
    pub fn block_client(&self) -> Option<BlockedClient> {
        if self.flags().deny_blocking() {
            return None;
        }
        let bc = rm!(RedisModule_BlockClient(self.raw, Some(reply_ok_on_unblock), None, None, 0)
            else ptr::null_mut());
        (!bc.is_null()).then_some(BlockedClient { raw: bc })
    }
}

/// How many argument segments one RM_Call of `call_fresh` passes (two words each).
const FRESH_SEGMENTS: usize = 128;
/// Command lines of at most this many arguments keep `call_fresh`'s buffers on the stack.
const SMALL_SEGMENTS: usize = 8;

/// A NUL-terminated RM_Call format built in a caller's buffer (bytes past the end are
/// dropped; the buffers are sized so that none are).
struct FmtBuf<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl FmtBuf<'_> {
    fn len(&self) -> usize {
        self.len
    }

    fn push(&mut self, b: u8) {
        if let Some(slot) = self.buf.get_mut(self.len) {
            *slot = b;
            self.len += 1;
        }
    }

    fn extend_from_slice(&mut self, bytes: &[u8]) {
        // One copy where it fits (always, with the buffers' sizes), byte by byte otherwise.
        match self.buf.get_mut(self.len..self.len + bytes.len()) {
            Some(dst) => {
                dst.copy_from_slice(bytes);
                self.len += bytes.len();
            }
            None => bytes.iter().for_each(|&b| self.push(b)),
        }
    }

    fn as_ptr(&self) -> *const u8 {
        self.buf.as_ptr()
    }
}

// The words below carry pointers and lengths alike through C varargs.
const _: () = assert!(std::mem::size_of::<usize>() == std::mem::size_of::<*const u8>());

/// RM_Call with its variadic words: `w` holds `n` segments, padded with zeros to the arm's
/// size (the host reads only what the format names; extra varargs are harmless in C).
macro_rules! call_words {
    ($self:ident, $cmd:ident, $fmt:ident, $w:ident, [$($i:literal)*]) => {
        rm!(RedisModule_Call($self.raw, $cmd.as_ptr(), $fmt.as_ptr().cast::<c_char>(), $($w[$i]),*) else ptr::null_mut())
    };
}

impl Ctx {
    /// `call_argv` for a `v` call: every argument goes as `b` (bytes), so the host builds each
    /// a fresh object it alone owns, as a native script's redis.call does, and no host string
    /// is made for it here. (With shared strings, `v` at refcount 2, SET would store "123"
    /// as an embstr where native stores an integer: tryObjectEncoding skips shared objects.)
    /// Past FRESH_SEGMENTS arguments the rest is one `v` segment.
    #[inline(always)]
    fn call_fresh(&self, cmd: &CStr, flags: &CStr, argv: &Argv, share: &Share) -> *mut raw::RedisModuleCallReply {
        // Most command lines have a few arguments: their format and words stay on the stack
        // (no allocation, no 2 KB to clear per call).
        let mut small_fmt = [0u8; SMALL_SEGMENTS + 16];
        let mut small_w = [0usize; 2 * (SMALL_SEGMENTS + 1)];
        let (mut big_fmt, mut big_w);
        let (fmt, w): (&mut [u8], &mut [usize]) = if argv.len() <= SMALL_SEGMENTS {
            (&mut small_fmt, &mut small_w)
        } else {
            big_fmt = vec![0u8; FRESH_SEGMENTS + 16];
            big_w = vec![0usize; 2 * FRESH_SEGMENTS];
            (&mut big_fmt, &mut big_w)
        };
        self.call_fresh_in(cmd, flags, argv, share, fmt, w)
    }

    /// `call_fresh` with its buffers: `fmt` of at least segments + 16 bytes (zeroed), `w` of
    /// two words per segment, padded with zeros to the largest arm used.
    #[inline(always)]
    fn call_fresh_in(
        &self,
        cmd: &CStr,
        flags: &CStr,
        argv: &Argv,
        share: &Share,
        fmt_buf: &mut [u8],
        w: &mut [usize],
    ) -> *mut raw::RedisModuleCallReply {
        let segments_max = (w.len() / 2).min(FRESH_SEGMENTS);
        let mut fmt = FmtBuf { buf: fmt_buf, len: 0 };
        // Each argument as a `b` segment (bytes: the host makes a fresh object of it, which it
        // may re-encode, an integer value as `int` as natively), or as an `s` segment of the
        // caller's own string where `share` allows (a key: one word, no object made and freed);
        // past the segments the buffers hold, the rest as one `v` segment of host strings.
        let n_args = argv.len();
        let mut i = 0;
        let mut words = 0;
        while i < n_args {
            if fmt.len() + 1 < segments_max {
                let bytes = argv.get(i).unwrap_or_default();
                if let Some(own) = self.shared_key(share, i + 1, n_args + 1, bytes) {
                    fmt.push(b's');
                    if let Some(word) = w.get_mut(words) {
                        *word = own as usize;
                    }
                    words += 1;
                } else {
                    fmt.push(b'b');
                    if let Some(pair) = w.get_mut(words..words + 2) {
                        pair.copy_from_slice(&[bytes.as_ptr() as usize, bytes.len()]);
                    }
                    words += 2;
                }
                i += 1;
            } else {
                let strings = argv.strings();
                fmt.push(b'v');
                if let Some(pair) = w.get_mut(words..words + 2) {
                    pair.copy_from_slice(&[
                        strings.get(i..).map_or(0, |rest| rest.as_ptr() as usize),
                        strings.len().saturating_sub(i),
                    ]);
                }
                words += 2;
                i = n_args;
            }
        }
        fmt.extend_from_slice(flags.to_bytes().get(1..).unwrap_or_default());
        fmt.push(0);
        let fmt = &fmt;
        match words {
            0..=2 => call_words!(self, cmd, fmt, w, [0 1]),
            3..=4 => call_words!(self, cmd, fmt, w, [0 1 2 3]),
            5..=8 => call_words!(self, cmd, fmt, w, [0 1 2 3 4 5 6 7]),
            9..=16 => call_words!(self, cmd, fmt, w, [0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15]),
            17..=32 => {
                call_words!(self, cmd, fmt, w, [0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31])
            }
            33..=64 => {
                call_words!(self, cmd, fmt, w, [0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31 32 33 34 35 36 37 38 39 40 41 42 43 44 45 46 47 48 49 50 51 52 53 54 55 56 57 58 59 60 61 62 63])
            }
            _ => {
                call_words!(self, cmd, fmt, w, [0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31 32 33 34 35 36 37 38 39 40 41 42 43 44 45 46 47 48 49 50 51 52 53 54 55 56 57 58 59 60 61 62 63 64 65 66 67 68 69 70 71 72 73 74 75 76 77 78 79 80 81 82 83 84 85 86 87 88 89 90 91 92 93 94 95 96 97 98 99 100 101 102 103 104 105 106 107 108 109 110 111 112 113 114 115 116 117 118 119 120 121 122 123 124 125 126 127 128 129 130 131 132 133 134 135 136 137 138 139 140 141 142 143 144 145 146 147 148 149 150 151 152 153 154 155 156 157 158 159 160 161 162 163 164 165 166 167 168 169 170 171 172 173 174 175 176 177 178 179 180 181 182 183 184 185 186 187 188 189 190 191 192 193 194 195 196 197 198 199 200 201 202 203 204 205 206 207 208 209 210 211 212 213 214 215 216 217 218 219 220 221 222 223 224 225 226 227 228 229 230 231 232 233 234 235 236 237 238 239 240 241 242 243 244 245 246 247 248 249 250 251 252 253 254 255])
            }
        }
    }
}

fn set_errno(value: c_int) {
    // SAFETY: __errno_location returns this thread's errno slot, always valid.
    unsafe { *libc::__errno_location() = value };
}

/// This thread's errno, read straight (no io::Error made and dropped on every RM_Call).
fn errno() -> c_int {
    // SAFETY: as in set_errno.
    unsafe { *libc::__errno_location() }
}

/// Arguments for RM_Call: their bytes, kept in one buffer, or borrowed from the caller
/// (`borrowing`: redis.call's arguments read straight off the Lua stack, no copy); host
/// strings of them are made only where one is needed (an ACL or key lookup, a long command
/// line), and freed on drop. RM_Call takes its own references, so an Argv can be
/// reused or dropped right after the call.
#[derive(Default)]
pub struct Argv<'a> {
    /// The arguments' bytes, one after the other.
    bytes: Vec<u8>,
    /// Where each argument ends in `bytes`.
    ends: Vec<usize>,
    /// The arguments, when borrowed (then `bytes` and `ends` are empty). An empty list
    /// reads the same either way.
    borrowed: &'a [&'a [u8]],
    /// Host strings of the arguments, made on first need.
    strings: std::cell::OnceCell<Vec<*mut raw::RedisModuleString>>,
}

impl<'a> Argv<'a> {
    pub fn with_capacity(n: usize) -> Argv<'a> {
        Argv { bytes: Vec::new(), ends: Vec::with_capacity(n), borrowed: &[], strings: std::cell::OnceCell::new() }
    }

    /// The arguments `args`, borrowed for the life of the Argv.
    pub fn borrowing(args: &'a [&'a [u8]]) -> Argv<'a> {
        Argv { bytes: Vec::new(), ends: Vec::new(), borrowed: args, strings: std::cell::OnceCell::new() }
    }

    pub fn push(&mut self, bytes: &[u8]) {
        self.free_strings();
        for arg in std::mem::take(&mut self.borrowed) {
            self.bytes.extend_from_slice(arg);
            self.ends.push(self.bytes.len());
        }
        self.bytes.extend_from_slice(bytes);
        self.ends.push(self.bytes.len());
    }

    pub fn len(&self) -> usize {
        if self.borrowed.is_empty() {
            self.ends.len()
        } else {
            self.borrowed.len()
        }
    }

    pub fn get(&self, i: usize) -> Option<&[u8]> {
        if !self.borrowed.is_empty() {
            return self.borrowed.get(i).copied();
        }
        let end = *self.ends.get(i)?;
        let start = if i == 0 { 0 } else { *self.ends.get(i - 1)? };
        self.bytes.get(start..end)
    }

    fn iter(&self) -> impl Iterator<Item = &[u8]> {
        (0..self.len()).filter_map(|i| self.get(i))
    }

    /// The arguments as host strings (made now if they were not yet).
    fn strings(&self) -> &[*mut raw::RedisModuleString] {
        self.strings.get_or_init(|| {
            // A NULL context: the strings are ours to free, outside any auto-memory pool.
            self.iter()
                .map(
                    |b| rm!(RedisModule_CreateString(ptr::null_mut(), b.as_ptr().cast(), b.len()) else ptr::null_mut()),
                )
                .filter(|s| !s.is_null())
                .collect()
        })
    }

    fn free_strings(&mut self) {
        if let Some(strings) = self.strings.take() {
            for s in strings {
                rm!(RedisModule_FreeString(ptr::null_mut(), s) else ());
            }
        }
    }
}

impl Drop for Argv<'_> {
    fn drop(&mut self) {
        self.free_strings();
    }
}

impl ReplySink for Ctx {
    fn bulk(&mut self, s: &[u8]) {
        rm!(RedisModule_ReplyWithStringBuffer(self.raw, s.as_ptr().cast(), s.len()) else 0);
    }
    fn status(&mut self, s: &[u8]) {
        let line = c_line(s);
        rm!(RedisModule_ReplyWithSimpleString(self.raw, line.as_ptr().cast()) else 0);
    }
    fn error(&mut self, s: &[u8]) {
        // The host trims CR/LF at the end and maps the rest to spaces (addReplyErrorFormat).
        let line = c_string(s);
        rm!(RedisModule_ReplyWithError(self.raw, line.as_ptr().cast()) else 0);
    }
    fn int(&mut self, i: i64) {
        rm!(RedisModule_ReplyWithLongLong(self.raw, i) else 0);
    }
    fn double(&mut self, d: f64) {
        rm!(RedisModule_ReplyWithDouble(self.raw, d) else 0);
    }
    fn null(&mut self) {
        rm!(RedisModule_ReplyWithNull(self.raw) else 0);
    }
    fn boolean(&mut self, b: bool) {
        rm!(RedisModule_ReplyWithBool(self.raw, c_int::from(b)) else 0);
    }
    fn big_number(&mut self, s: &[u8]) {
        rm!(RedisModule_ReplyWithBigNumber(self.raw, s.as_ptr().cast(), s.len()) else 0);
    }
    fn verbatim(&mut self, s: &[u8], format: &[u8]) {
        // The host reads three bytes of the format, padding a short one with spaces.
        let mut ext = [0u8; 4];
        for (dst, &b) in ext.iter_mut().zip(format.iter().take_while(|&&b| b != 0).take(3)) {
            *dst = b;
        }
        rm!(RedisModule_ReplyWithVerbatimStringType(self.raw, s.as_ptr().cast(), s.len(), ext.as_ptr().cast())
            else 0);
    }
    fn array(&mut self, len: Option<usize>) {
        rm!(RedisModule_ReplyWithArray(self.raw, reply_len(len)) else 0);
    }
    fn end_array(&mut self, len: usize) {
        rm!(RedisModule_ReplySetArrayLength(self.raw, reply_len(Some(len))) else ());
    }
    fn map(&mut self, len: Option<usize>) {
        rm!(RedisModule_ReplyWithMap(self.raw, reply_len(len)) else 0);
    }
    fn end_map(&mut self, len: usize) {
        rm!(RedisModule_ReplySetMapLength(self.raw, reply_len(Some(len))) else ());
    }
    fn set(&mut self, len: Option<usize>) {
        rm!(RedisModule_ReplyWithSet(self.raw, reply_len(len)) else 0);
    }
    fn end_set(&mut self, len: usize) {
        rm!(RedisModule_ReplySetSetLength(self.raw, reply_len(Some(len))) else ());
    }
}

fn reply_len(len: Option<usize>) -> c_long {
    match len {
        Some(n) => c_long::try_from(n).unwrap_or(c_long::MAX),
        None => c_long::from(raw::REDISMODULE_POSTPONED_LEN),
    }
}

/// A status line as a C string: cut at the first NUL (as Redis's `%s` does), CR/LF mapped to
/// spaces (the host writes a status as it is).
fn c_line(s: &[u8]) -> Vec<u8> {
    let end = s.iter().position(|&b| b == 0).unwrap_or(s.len());
    let mut v = protocol_safe(s.get(..end).unwrap_or_default()).into_owned();
    v.push(0);
    v
}

/// Bytes as a C string, cut at the first NUL (as Redis's `%s` does).
fn c_string(s: &[u8]) -> Vec<u8> {
    let end = s.iter().position(|&b| b == 0).unwrap_or(s.len());
    let mut v = s.get(..end).unwrap_or_default().to_vec();
    v.push(0);
    v
}

// ---------------------------------------------------------------------------------------------
// RM_Call replies.

/// An owned reply of RedisModule_Call, freed on drop.
pub struct CallReply {
    raw: *mut raw::RedisModuleCallReply,
}

impl Drop for CallReply {
    fn drop(&mut self) {
        // Never built from NULL (call_argv checks); a NULL here would crash the host.
        if self.raw.is_null() {
            return;
        }
        rm!(RedisModule_FreeCallReply(self.raw) else ());
    }
}

impl CallReply {
    /// The reply as the host wrote it (RESP2, or RESP3 for a `3` call), read without having
    /// the host parse it (RM_CallReplyProto; `root().kind()` parses).
    pub fn proto(&self) -> &[u8] {
        self.root().proto()
    }

    pub fn root(&self) -> ReplyRef<'_> {
        ReplyRef { raw: self.raw, _owner: std::marker::PhantomData }
    }
}

/// A reply or an element of one, borrowed from its owning `CallReply`.
#[derive(Clone, Copy)]
pub struct ReplyRef<'a> {
    raw: *mut raw::RedisModuleCallReply,
    _owner: std::marker::PhantomData<&'a CallReply>,
}

/// What one reply is, with borrowed bytes.
pub enum ReplyKind<'a> {
    Status(&'a [u8]),
    Error(&'a [u8]),
    Bulk(&'a [u8]),
    Int(i64),
    Null,
    Array(usize),
    Map(usize),
    Set(usize),
    Bool(bool),
    Double(f64),
    BigNumber(&'a [u8]),
    /// (format, text)
    Verbatim(&'a [u8], &'a [u8]),
    Unknown,
}

impl<'a> ReplyRef<'a> {
    pub fn kind(&self) -> ReplyKind<'a> {
        let t = rm!(RedisModule_CallReplyType(self.raw) else -1) as isize;
        match t {
            raw::REDISMODULE_REPLY_STRING => {
                let s = self.string();
                // 7.0 types `+OK` and `$2 OK` alike; the protocol's first byte tells them apart.
                if self.proto().first() == Some(&b'+') {
                    ReplyKind::Status(s)
                } else {
                    ReplyKind::Bulk(s)
                }
            }
            raw::REDISMODULE_REPLY_ERROR => ReplyKind::Error(self.string()),
            raw::REDISMODULE_REPLY_INTEGER => ReplyKind::Int(rm!(RedisModule_CallReplyInteger(self.raw) else 0)),
            raw::REDISMODULE_REPLY_NULL => ReplyKind::Null,
            raw::REDISMODULE_REPLY_ARRAY => ReplyKind::Array(self.len()),
            raw::REDISMODULE_REPLY_MAP => ReplyKind::Map(self.len()),
            raw::REDISMODULE_REPLY_SET => ReplyKind::Set(self.len()),
            raw::REDISMODULE_REPLY_BOOL => ReplyKind::Bool(rm!(RedisModule_CallReplyBool(self.raw) else 0) != 0),
            raw::REDISMODULE_REPLY_DOUBLE => ReplyKind::Double(rm!(RedisModule_CallReplyDouble(self.raw) else 0.0)),
            raw::REDISMODULE_REPLY_BIG_NUMBER => {
                let mut len = 0usize;
                let p = rm!(RedisModule_CallReplyBigNumber(self.raw, &mut len) else ptr::null());
                ReplyKind::BigNumber(borrow_bytes(p, len))
            }
            raw::REDISMODULE_REPLY_VERBATIM_STRING => {
                let mut len = 0usize;
                let mut format: *const c_char = ptr::null();
                let p = rm!(RedisModule_CallReplyVerbatim(self.raw, &mut len, &mut format) else ptr::null());
                ReplyKind::Verbatim(borrow_bytes(format, if format.is_null() { 0 } else { 3 }), borrow_bytes(p, len))
            }
            _ => ReplyKind::Unknown,
        }
    }

    fn string(&self) -> &'a [u8] {
        let mut len = 0usize;
        let p = rm!(RedisModule_CallReplyStringPtr(self.raw, &mut len) else ptr::null());
        borrow_bytes(p, len)
    }

    fn proto(&self) -> &'a [u8] {
        let mut len = 0usize;
        let p = rm!(RedisModule_CallReplyProto(self.raw, &mut len) else ptr::null());
        borrow_bytes(p, len)
    }

    fn len(&self) -> usize {
        rm!(RedisModule_CallReplyLength(self.raw) else 0)
    }

    /// Element `i` of an array or set.
    pub fn element(&self, i: usize) -> Option<ReplyRef<'a>> {
        let t = rm!(RedisModule_CallReplyType(self.raw) else -1) as isize;
        let p = if t == raw::REDISMODULE_REPLY_SET {
            rm!(RedisModule_CallReplySetElement(self.raw, i) else ptr::null_mut())
        } else {
            rm!(RedisModule_CallReplyArrayElement(self.raw, i) else ptr::null_mut())
        };
        (!p.is_null()).then_some(ReplyRef { raw: p, _owner: std::marker::PhantomData })
    }

    /// Pair `i` of a map.
    pub fn pair(&self, i: usize) -> Option<(ReplyRef<'a>, ReplyRef<'a>)> {
        let mut k = ptr::null_mut();
        let mut v = ptr::null_mut();
        let ok = rm!(RedisModule_CallReplyMapElement(self.raw, i, &mut k, &mut v) else raw::REDISMODULE_ERR as c_int);
        (ok == raw::REDISMODULE_OK as c_int && !k.is_null() && !v.is_null()).then_some((
            ReplyRef { raw: k, _owner: std::marker::PhantomData },
            ReplyRef { raw: v, _owner: std::marker::PhantomData },
        ))
    }
}

fn borrow_bytes<'a>(p: *const c_char, len: usize) -> &'a [u8] {
    if p.is_null() {
        return &[];
    }
    // SAFETY: the host returns a pointer into the reply's buffer, valid while the owning
    // CallReply lives; ReplyRef<'a> is tied to it.
    unsafe { std::slice::from_raw_parts(p.cast(), len) }
}

// ---------------------------------------------------------------------------------------------
// Off the main thread: blocked clients and a detached context for reporting back.

/// A client blocked until work on another thread finishes.
pub struct BlockedClient {
    raw: *mut raw::RedisModuleBlockedClient,
}

// SAFETY: RedisModule_UnblockClient is documented as callable from any thread.
unsafe impl Send for BlockedClient {}

impl BlockedClient {
    /// Wakes the client; the host then calls the reply callback on the main thread.
    pub fn unblock(self) {
        rm!(RedisModule_UnblockClient(self.raw, ptr::null_mut()) else 0);
    }
}

extern "C" fn reply_ok_on_unblock(
    ctx: *mut raw::RedisModuleCtx,
    _argv: *mut *mut raw::RedisModuleString,
    _argc: c_int,
) -> c_int {
    let _ = catch_unwind(|| Ctx::from_raw(ctx).reply_ok());
    raw::REDISMODULE_OK as c_int
}

/// The module's own detached thread-safe context, created at load and freed at unload.
static DETACHED: AtomicPtr<raw::RedisModuleCtx> = AtomicPtr::new(ptr::null_mut());

pub fn init_detached_context(ctx: *mut raw::RedisModuleCtx) {
    let detached = rm!(RedisModule_GetDetachedThreadSafeContext(ctx) else ptr::null_mut());
    let old = DETACHED.swap(detached, Ordering::SeqCst);
    if !old.is_null() {
        rm!(RedisModule_FreeThreadSafeContext(old) else ());
    }
}

pub fn free_detached_context() {
    let old = DETACHED.swap(ptr::null_mut(), Ordering::SeqCst);
    if !old.is_null() {
        rm!(RedisModule_FreeThreadSafeContext(old) else ());
    }
}

/// From a worker thread: takes the server lock (waits until the main thread is back in its
/// event loop), runs `f` with a context, and releases the lock. Never call on the main thread:
/// it already holds that lock and would deadlock.
pub fn with_server_lock(f: impl FnOnce(&Ctx)) {
    let ctx = DETACHED.load(Ordering::SeqCst);
    if ctx.is_null() {
        return;
    }
    rm!(RedisModule_ThreadSafeContextLock(ctx) else ());
    let _ = catch_unwind(AssertUnwindSafe(|| f(&Ctx::from_raw(ctx))));
    rm!(RedisModule_ThreadSafeContextUnlock(ctx) else ());
}

/// Calls `on_change` on the main thread whenever a host config changes (7.0's Config event).
pub fn subscribe_config_changes(ctx: *mut raw::RedisModuleCtx, on_change: fn(&Ctx)) -> bool {
    if let Ok(mut slot) = CONFIG_CALLBACK.lock() {
        *slot = Some(on_change);
    }
    let event = raw::RedisModuleEvent { id: raw::REDISMODULE_EVENT_CONFIG, dataver: 1 };
    rm!(RedisModule_SubscribeToServerEvent(ctx, event, Some(config_event)) else raw::REDISMODULE_ERR as c_int)
        == raw::REDISMODULE_OK as c_int
}

static CONFIG_CALLBACK: std::sync::Mutex<Option<fn(&Ctx)>> = std::sync::Mutex::new(None);

extern "C" fn config_event(ctx: *mut raw::RedisModuleCtx, _e: raw::RedisModuleEvent, _sub: u64, _data: *mut c_void) {
    let callback = CONFIG_CALLBACK.lock().ok().and_then(|c| *c);
    if let Some(callback) = callback {
        let _ = catch_unwind(|| callback(&Ctx::from_raw(ctx)));
    }
}

/// Calls `on_change` on the main thread whenever the server becomes a replica (`true`) or a
/// primary (`false`) (the ReplicationRoleChanged event).
pub fn subscribe_role_changes(ctx: *mut raw::RedisModuleCtx, on_change: fn(bool)) -> bool {
    if let Ok(mut slot) = ROLE_CALLBACK.lock() {
        *slot = Some(on_change);
    }
    let event = raw::RedisModuleEvent { id: raw::REDISMODULE_EVENT_REPLICATION_ROLE_CHANGED, dataver: 1 };
    rm!(RedisModule_SubscribeToServerEvent(ctx, event, Some(role_event)) else raw::REDISMODULE_ERR as c_int)
        == raw::REDISMODULE_OK as c_int
}

static ROLE_CALLBACK: std::sync::Mutex<Option<fn(bool)>> = std::sync::Mutex::new(None);

extern "C" fn role_event(_ctx: *mut raw::RedisModuleCtx, _e: raw::RedisModuleEvent, sub: u64, _data: *mut c_void) {
    let callback = ROLE_CALLBACK.lock().ok().and_then(|c| *c);
    if let Some(callback) = callback {
        let replica = sub == raw::REDISMODULE_EVENT_REPLROLECHANGED_NOW_REPLICA;
        let _ = catch_unwind(|| callback(replica));
    }
}

/// Where the data being loaded comes from, as the host's Loading event tells it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum LoadSource {
    /// Startup or DEBUG RELOAD from the RDB.
    Rdb,
    /// Startup or DEBUG LOADAOF from the AOF.
    Aof,
    /// A full sync from the primary.
    Replication,
}

type LoadingCallbacks = (fn(LoadSource), fn());
static LOADING_CALLBACK: std::sync::Mutex<Option<LoadingCallbacks>> = std::sync::Mutex::new(None);

/// Calls `on_start` whenever the host starts loading data and `on_end` when it has loaded it
/// (7.0's Loading event).
pub fn subscribe_loading(ctx: *mut raw::RedisModuleCtx, on_start: fn(LoadSource), on_end: fn()) -> bool {
    if let Ok(mut slot) = LOADING_CALLBACK.lock() {
        *slot = Some((on_start, on_end));
    }
    let event = raw::RedisModuleEvent { id: raw::REDISMODULE_EVENT_LOADING, dataver: 1 };
    rm!(RedisModule_SubscribeToServerEvent(ctx, event, Some(loading_event)) else raw::REDISMODULE_ERR as c_int)
        == raw::REDISMODULE_OK as c_int
}

extern "C" fn loading_event(_ctx: *mut raw::RedisModuleCtx, _e: raw::RedisModuleEvent, sub: u64, _data: *mut c_void) {
    let Some((on_start, on_end)) = LOADING_CALLBACK.lock().ok().and_then(|c| *c) else { return };
    let source = match sub {
        raw::REDISMODULE_SUBEVENT_LOADING_RDB_START => LoadSource::Rdb,
        raw::REDISMODULE_SUBEVENT_LOADING_REPL_START => LoadSource::Replication,
        raw::REDISMODULE_SUBEVENT_LOADING_AOF_START => LoadSource::Aof,
        raw::REDISMODULE_SUBEVENT_LOADING_ENDED => {
            let _ = catch_unwind(on_end);
            return;
        }
        _ => return,
    };
    let _ = catch_unwind(|| on_start(source));
}

/// The fields of the module's INFO section (`INFO alt`, also under `INFO modules`).
pub type InfoFields = fn() -> Vec<(&'static CStr, u64)>;
static INFO_FIELDS: std::sync::Mutex<Option<InfoFields>> = std::sync::Mutex::new(None);

/// Serves INFO with `fields` (replacing the crate's default handler, registered before
/// OnLoad's init).
pub fn register_info(ctx: *mut raw::RedisModuleCtx, fields: InfoFields) -> bool {
    if let Ok(mut slot) = INFO_FIELDS.lock() {
        *slot = Some(fields);
    }
    rm!(RedisModule_RegisterInfoFunc(ctx, Some(info_callback)) else raw::REDISMODULE_ERR as c_int)
        == raw::REDISMODULE_OK as c_int
}

extern "C" fn info_callback(ctx: *mut raw::RedisModuleInfoCtx, _for_crash_report: c_int) {
    // try_lock: a crash report may come from any state; the fields are atomics.
    let Some(fields) = INFO_FIELDS.try_lock().ok().and_then(|f| *f) else { return };
    let _ = catch_unwind(|| {
        if rm!(RedisModule_InfoAddSection(ctx, c"".as_ptr()) else raw::REDISMODULE_ERR as c_int)
            != raw::REDISMODULE_OK as c_int
        {
            return; // the section was not asked for
        }
        for (name, value) in fields() {
            rm!(RedisModule_InfoAddFieldULongLong(ctx, name.as_ptr(), value) else 0);
        }
    });
}

/// Makes the calling (worker) thread run only when a core would otherwise idle, so freeing
/// memory in the background never takes CPU time from the main thread.
pub fn lower_thread_priority() {
    // SAFETY: sched_param is a plain C struct; pid 0 means the calling thread on Linux.
    let param: libc::sched_param = unsafe { std::mem::zeroed() };
    // SAFETY: valid policy and parameter for the calling thread; failure is harmless.
    let _ = unsafe { libc::sched_setscheduler(0, libc::SCHED_IDLE, &param) };
}

// ---------------------------------------------------------------------------------------------
// Logging and server info.

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    Debug,
    Verbose,
    Notice,
    Warning,
}

fn log_raw(ctx: *mut raw::RedisModuleCtx, level: LogLevel, msg: &str) {
    let level: &[u8] = match level {
        LogLevel::Debug => raw::REDISMODULE_LOGLEVEL_DEBUG,
        LogLevel::Verbose => raw::REDISMODULE_LOGLEVEL_VERBOSE,
        LogLevel::Notice => raw::REDISMODULE_LOGLEVEL_NOTICE,
        LogLevel::Warning => raw::REDISMODULE_LOGLEVEL_WARNING,
    };
    let mut text: Vec<u8> = msg.bytes().filter(|&b| b != 0).collect();
    text.push(0);
    // The format is "%s": the message is data, never a format string.
    rm!(RedisModule_Log(ctx, level.as_ptr().cast(), c"%s".as_ptr(), text.as_ptr().cast::<c_char>()) else ());
}

/// Logs through the module's own detached context (prefix `<alt>`), from any thread:
/// RM_Log needs no lock.
/// A warning line in the server log from a command or event callback.
pub fn log_to_ctx(ctx: &Ctx, msg: &str) {
    log_to(ctx.raw, LogLevel::Warning, msg);
}

pub fn log_any_thread(level: LogLevel, msg: &str) {
    log_raw(DETACHED.load(Ordering::SeqCst), level, msg)
}

/// A host config value (`CONFIG GET name`), read at call time as Redis itself would.
pub fn config_get(ctx: &Ctx, name: &[u8]) -> Option<Vec<u8>> {
    let reply = ctx.call(c"CONFIG", c"vE", &[b"GET", name])?;
    let value = reply.root().element(1)?;
    match value.kind() {
        ReplyKind::Bulk(v) | ReplyKind::Status(v) => Some(v.to_vec()),
        _ => None,
    }
}

/// The host's version as 0x00MMmmpp (RM_GetServerVersion).
pub fn server_version() -> i64 {
    i64::from(rm!(RedisModule_GetServerVersion() else 0))
}

/// Reads a signed integer field of INFO `section` (e.g. memory/lazyfree_pending_objects).
pub fn server_info_field(ctx: &Ctx, section: &CStr, field: &CStr) -> Option<i64> {
    let data = rm!(RedisModule_GetServerInfo(ctx.raw, section.as_ptr()) else ptr::null_mut());
    if data.is_null() {
        return None;
    }
    let mut err: c_int = 0;
    let v = rm!(RedisModule_ServerInfoGetFieldSigned(data, field.as_ptr(), &mut err) else 0);
    rm!(RedisModule_FreeServerInfo(ctx.raw, data) else ());
    (err == 0).then_some(v)
}

// ---------------------------------------------------------------------------------------------
// Persistence: an aux-only data type carries module-global data in the RDB.

/// One RDB being written or read by an aux callback.
pub struct RdbIo {
    raw: *mut raw::RedisModuleIO,
}

impl RdbIo {
    pub fn save_u64(&mut self, v: u64) {
        rm!(RedisModule_SaveUnsigned(self.raw, v) else ());
    }

    pub fn save_bytes(&mut self, b: &[u8]) {
        rm!(RedisModule_SaveStringBuffer(self.raw, b.as_ptr().cast(), b.len()) else ());
    }

    fn failed(&self) -> bool {
        rm!(RedisModule_IsIOError(self.raw) else 1) != 0
    }

    pub fn load_u64(&mut self) -> Option<u64> {
        let v = rm!(RedisModule_LoadUnsigned(self.raw) else 0);
        (!self.failed()).then_some(v)
    }

    pub fn load_bytes(&mut self) -> Option<Vec<u8>> {
        let mut len = 0usize;
        let p = rm!(RedisModule_LoadStringBuffer(self.raw, &mut len) else ptr::null_mut());
        if p.is_null() || self.failed() {
            return None;
        }
        // SAFETY: LoadStringBuffer returns a `len`-byte buffer we own and must free.
        let bytes = unsafe { std::slice::from_raw_parts(p.cast::<u8>(), len) }.to_vec();
        rm!(RedisModule_Free(p.cast()) else ());
        Some(bytes)
    }
}

type AuxSave = fn(&mut RdbIo);
type AuxLoad = fn(&mut RdbIo) -> bool;
type AuxCallbacks = (AuxSave, AuxLoad, fn() -> bool);
static AUX: std::sync::Mutex<Option<AuxCallbacks>> = std::sync::Mutex::new(None);

/// Registers an aux-only data type (from OnLoad): `save` writes module data before the
/// keyspace in every RDB; `load` reads it back (false fails the load). On hosts with
/// `aux_save2` (Redis 7.2+, Valkey 8+) nothing at all is written while `has_data` says there
/// is nothing to save, so that such an RDB loads without the module; 7.0 ignores aux_save2 and
/// always writes the record.
pub fn create_aux_type(
    ctx: *mut raw::RedisModuleCtx,
    name: &CStr,
    save: AuxSave,
    load: AuxLoad,
    has_data: fn() -> bool,
) -> bool {
    if let Ok(mut aux) = AUX.lock() {
        *aux = Some((save, load, has_data));
    }
    // SAFETY: a plain C struct; zero is "no callback" for every field we do not set.
    let mut methods: raw::RedisModuleTypeMethods = unsafe { std::mem::zeroed() };
    methods.version = raw::REDISMODULE_TYPE_METHOD_VERSION as u64;
    methods.aux_save = Some(aux_save);
    methods.aux_save2 = Some(aux_save_if_any);
    methods.aux_load = Some(aux_load);
    methods.aux_save_triggers = raw::REDISMODULE_AUX_BEFORE_RDB as c_int;
    let created = rm!(RedisModule_CreateDataType(ctx, name.as_ptr(), 1, &mut methods) else ptr::null_mut());
    !created.is_null()
}

extern "C" fn aux_save(rdb: *mut raw::RedisModuleIO, _when: c_int) {
    let save = AUX.lock().ok().and_then(|a| a.map(|(save, _, _)| save));
    if let Some(save) = save {
        let _ = catch_unwind(AssertUnwindSafe(|| save(&mut RdbIo { raw: rdb })));
    }
}

extern "C" fn aux_save_if_any(rdb: *mut raw::RedisModuleIO, when: c_int) {
    let has_data = AUX.lock().ok().and_then(|a| a.map(|(_, _, has_data)| has_data));
    if has_data.is_some_and(|has_data| catch_unwind(has_data).unwrap_or(true)) {
        aux_save(rdb, when);
    }
}

extern "C" fn aux_load(rdb: *mut raw::RedisModuleIO, _encver: c_int, _when: c_int) -> c_int {
    let load = AUX.lock().ok().and_then(|a| a.map(|(_, load, _)| load));
    let ok = load.is_some_and(|load| catch_unwind(AssertUnwindSafe(|| load(&mut RdbIo { raw: rdb }))).unwrap_or(false));
    if ok {
        raw::REDISMODULE_OK as c_int
    } else {
        raw::REDISMODULE_ERR as c_int
    }
}

mod clock;
mod fiber;
mod filter;
pub mod ldb;
mod lua;
mod main_thread;
mod reader;
pub mod session;
pub use clock::{init as clock_init, RunClock};
pub use fiber::{pause as fiber_pause, Fiber};
pub use filter::*;
pub use lua::*;
pub use main_thread::{claim as claim_main_thread, MainCell};
pub use reader::{
    argerror_text, raw_function, raw_function_with, raw_function_with_strings, Builder, Call, Raw, Reader, Slot,
};
pub use session::Forked;

#[cfg(test)]
mod tests {
    use super::KeyPositions;

    /// COMMAND INFO's ranges: one key (GET), every other argument to the end (MSET), every
    /// argument from the second to the end (BITOP's keys), a fixed pair (SMOVE).
    #[test]
    fn key_positions_follow_first_last_and_step() {
        let keys = |first, last, step, argc| {
            let p = KeyPositions { first, last, step };
            (0..argc).filter(|&pos| p.contains(pos, argc)).collect::<Vec<_>>()
        };
        assert_eq!(keys(1, 1, 1, 2), [1]);
        assert_eq!(keys(1, -1, 2, 7), [1, 3, 5]);
        assert_eq!(keys(2, -1, 1, 5), [2, 3, 4]);
        assert_eq!(keys(1, 2, 1, 4), [1, 2]);
        // A line too short for its range, a zero step or first: no keys.
        assert!(keys(3, -1, 1, 3).is_empty());
        assert!(keys(1, 1, 0, 2).is_empty());
        assert!(keys(0, 0, 0, 2).is_empty());
    }
}
