//! redis-alt: a second, independent Lua scripting engine for Redis, as a module.
//! This file is the table of contents: the modules, the command table and load/unload.
#![deny(unsafe_code)]
// Nothing reachable from a command may panic: a panic across the FFI boundary aborts Redis.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic))]

mod cmdinfo;
mod command_docs;
mod commands;
mod compat;
mod config;
mod debugger;
mod dropin;
mod error;
mod function_dump;
mod function_persistence;
mod functions;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
mod glob;
mod host;
mod inner;
mod keyslot;
mod lazyfree;
mod lua;
mod metrics;
mod reply;
mod resp;
mod run;
mod run_stats;
mod scripts;
mod sha;
mod shebang;
mod state;

use commands::{eval, fcall, flushall, function, script};
use host::CommandSpec;

/// Every command the module serves. Flags follow the native commands (deny-script = noscript,
/// allow-stale = stale); `getkeys-api` lets cluster routing and ACLs see numkeys-based keys.
fn command_table() -> [CommandSpec; 28] {
    const EVAL_FLAGS: &std::ffi::CStr = c"deny-script may-replicate no-mandatory-keys allow-stale getkeys-api";
    const EVAL_RO_FLAGS: &std::ffi::CStr = c"deny-script readonly no-mandatory-keys allow-stale getkeys-api";
    [
        CommandSpec {
            name: c"alt.eval",
            handler: Some(handler!(eval::eval, hot)),
            flags: EVAL_FLAGS,
            arity: -3,
            numkeys_keys: Some(true),
        },
        CommandSpec {
            name: c"alt.evalsha",
            handler: Some(handler!(eval::evalsha, hot)),
            flags: EVAL_FLAGS,
            arity: -3,
            numkeys_keys: Some(true),
        },
        CommandSpec {
            name: c"alt.eval_ro",
            handler: Some(handler!(eval::eval_ro, hot)),
            flags: EVAL_RO_FLAGS,
            arity: -3,
            numkeys_keys: Some(false),
        },
        CommandSpec {
            name: c"alt.evalsha_ro",
            handler: Some(handler!(eval::evalsha_ro, hot)),
            flags: EVAL_RO_FLAGS,
            arity: -3,
            numkeys_keys: Some(false),
        },
        CommandSpec { name: c"alt.script", handler: None, flags: c"", arity: -2, numkeys_keys: None },
        CommandSpec {
            name: c"alt.script|load",
            handler: Some(handler!(script::load)),
            flags: c"deny-script allow-stale",
            arity: 3,
            numkeys_keys: None,
        },
        CommandSpec {
            name: c"alt.script|exists",
            handler: Some(handler!(script::exists)),
            flags: c"deny-script",
            arity: -3,
            numkeys_keys: None,
        },
        CommandSpec {
            name: c"alt.script|flush",
            handler: Some(handler!(script::flush)),
            flags: c"deny-script",
            arity: -2,
            numkeys_keys: None,
        },
        CommandSpec {
            name: c"alt.script|debug",
            handler: Some(handler!(script::debug)),
            flags: c"deny-script",
            arity: 3,
            numkeys_keys: None,
        },
        CommandSpec {
            name: c"alt.script|kill",
            handler: Some(handler!(script::kill)),
            flags: c"deny-script allow-busy fast",
            arity: 2,
            numkeys_keys: None,
        },
        CommandSpec {
            name: c"alt.script|show",
            handler: Some(handler!(script::show)),
            flags: c"deny-script allow-stale",
            arity: 3,
            numkeys_keys: None,
        },
        CommandSpec {
            name: c"alt.script|list",
            handler: Some(handler!(script::list)),
            flags: c"deny-script allow-stale",
            arity: -2,
            numkeys_keys: None,
        },
        CommandSpec {
            name: c"alt.script|stats",
            handler: Some(handler!(script::stats)),
            flags: c"deny-script allow-stale",
            arity: -2,
            numkeys_keys: None,
        },
        CommandSpec {
            name: c"alt.script|help",
            handler: Some(handler!(script::help)),
            flags: c"allow-loading allow-stale",
            arity: 2,
            numkeys_keys: None,
        },
        CommandSpec {
            name: c"alt.fcall",
            handler: Some(handler!(fcall::fcall, hot)),
            flags: EVAL_FLAGS,
            arity: -3,
            numkeys_keys: Some(true),
        },
        CommandSpec {
            name: c"alt.fcall_ro",
            handler: Some(handler!(fcall::fcall_ro, hot)),
            flags: EVAL_RO_FLAGS,
            arity: -3,
            numkeys_keys: Some(false),
        },
        CommandSpec { name: c"alt.function", handler: None, flags: c"", arity: -2, numkeys_keys: None },
        CommandSpec {
            name: c"alt.function|load",
            handler: Some(handler!(function::load)),
            flags: c"deny-script write deny-oom",
            arity: -3,
            numkeys_keys: None,
        },
        CommandSpec {
            name: c"alt.function|delete",
            handler: Some(handler!(function::delete)),
            flags: c"deny-script write",
            arity: 3,
            numkeys_keys: None,
        },
        CommandSpec {
            name: c"alt.function|list",
            handler: Some(handler!(function::list)),
            flags: c"deny-script",
            arity: -2,
            numkeys_keys: None,
        },
        CommandSpec {
            name: c"alt.function|flush",
            handler: Some(handler!(function::flush)),
            flags: c"deny-script write",
            arity: -2,
            numkeys_keys: None,
        },
        CommandSpec {
            name: c"alt.function|dump",
            handler: Some(handler!(function::dump)),
            flags: c"deny-script",
            arity: 2,
            numkeys_keys: None,
        },
        CommandSpec {
            name: c"alt.function|restore",
            handler: Some(handler!(function::restore)),
            flags: c"deny-script write deny-oom",
            arity: -3,
            numkeys_keys: None,
        },
        CommandSpec {
            name: c"alt.function|stats",
            handler: Some(handler!(function::stats)),
            flags: c"deny-script allow-busy",
            arity: -2,
            numkeys_keys: None,
        },
        CommandSpec {
            name: c"alt.function|kill",
            handler: Some(handler!(function::kill)),
            flags: c"deny-script allow-busy",
            arity: 2,
            numkeys_keys: None,
        },
        CommandSpec {
            name: c"alt.function|help",
            handler: Some(handler!(function::help)),
            flags: c"allow-loading allow-stale",
            arity: 2,
            numkeys_keys: None,
        },
        // A debugging client's command line (the filter puts this name in front of it).
        CommandSpec {
            name: c"alt.ldb",
            handler: Some(handler!(debugger::command)),
            flags: c"deny-script no-auth",
            arity: -2,
            numkeys_keys: None,
        },
        CommandSpec {
            name: c"alt.flushall",
            handler: Some(handler!(flushall::flushall)),
            flags: c"write",
            arity: -1,
            numkeys_keys: None,
        },
    ]
}

/// A drop-in target's handler: admitted by `dropin::admitted` (ACL as the native command),
/// then the module's own handler.
macro_rules! open_handler {
    ($f:path $(, $hot:ident)?) => {{
        fn admitted_then(ctx: &mut host::Ctx, argv: &[&[u8]]) -> Result<(), error::ScriptError> {
            if !dropin::admitted(ctx, argv) {
                return Ok(());
            }
            $f(ctx, argv)
        }
        handler!(admitted_then, dropin_only $(, $hot)?)
    }};
}

/// The commands drop-in mode routes native command lines to when the host must not check
/// ACL against their own names (dropin.rs): the module's commands again, flagged no-auth,
/// reachable only through the filter. Flags and key specs as the native commands'.
fn dropin_table() -> [CommandSpec; 24] {
    const EVAL_FLAGS: &std::ffi::CStr = c"deny-script may-replicate no-mandatory-keys allow-stale getkeys-api no-auth";
    const EVAL_RO_FLAGS: &std::ffi::CStr = c"deny-script readonly no-mandatory-keys allow-stale getkeys-api no-auth";
    let spec = |name, handler, flags, arity, numkeys_keys| CommandSpec {
        name,
        handler: Some(handler),
        flags,
        arity,
        numkeys_keys,
    };
    let container = |name| CommandSpec { name, handler: None, flags: c"", arity: -2, numkeys_keys: None };
    [
        spec(c"alt.dropin.eval", open_handler!(eval::eval, hot), EVAL_FLAGS, -3, Some(true)),
        spec(c"alt.dropin.evalsha", open_handler!(eval::evalsha, hot), EVAL_FLAGS, -3, Some(true)),
        spec(c"alt.dropin.eval_ro", open_handler!(eval::eval_ro, hot), EVAL_RO_FLAGS, -3, Some(false)),
        spec(c"alt.dropin.evalsha_ro", open_handler!(eval::evalsha_ro, hot), EVAL_RO_FLAGS, -3, Some(false)),
        spec(c"alt.dropin.fcall", open_handler!(fcall::fcall, hot), EVAL_FLAGS, -3, Some(true)),
        spec(c"alt.dropin.fcall_ro", open_handler!(fcall::fcall_ro, hot), EVAL_RO_FLAGS, -3, Some(false)),
        container(c"alt.dropin.script"),
        spec(c"alt.dropin.script|load", open_handler!(script::load), c"deny-script allow-stale no-auth", 3, None),
        spec(c"alt.dropin.script|exists", open_handler!(script::exists), c"deny-script no-auth", -3, None),
        spec(c"alt.dropin.script|flush", open_handler!(script::flush), c"deny-script no-auth", -2, None),
        spec(c"alt.dropin.script|kill", open_handler!(script::kill), c"deny-script allow-busy fast no-auth", 2, None),
        spec(c"alt.dropin.script|help", open_handler!(script::help), c"allow-loading allow-stale no-auth", 2, None),
        spec(c"alt.dropin.script|debug", open_handler!(script::debug), c"deny-script no-auth", 3, None),
        container(c"alt.dropin.function"),
        spec(
            c"alt.dropin.function|load",
            open_handler!(function::load),
            c"deny-script write deny-oom no-auth",
            -3,
            None,
        ),
        spec(c"alt.dropin.function|delete", open_handler!(function::delete), c"deny-script write no-auth", 3, None),
        spec(c"alt.dropin.function|list", open_handler!(function::list), c"deny-script no-auth", -2, None),
        spec(c"alt.dropin.function|flush", open_handler!(function::flush), c"deny-script write no-auth", -2, None),
        spec(c"alt.dropin.function|dump", open_handler!(function::dump), c"deny-script no-auth", 2, None),
        spec(
            c"alt.dropin.function|restore",
            open_handler!(function::restore),
            c"deny-script write deny-oom no-auth",
            -3,
            None,
        ),
        spec(c"alt.dropin.function|stats", open_handler!(function::stats), c"deny-script allow-busy no-auth", -2, None),
        spec(c"alt.dropin.function|kill", open_handler!(function::kill), c"deny-script allow-busy no-auth", 2, None),
        spec(c"alt.dropin.function|help", open_handler!(function::help), c"allow-loading allow-stale no-auth", 2, None),
        spec(c"alt.dropin.flushall", open_handler!(flushall::flushall), c"write no-auth", -1, None),
    ]
}

/// Load (called by host::RedisModule_OnLoad on a host the module serves): configs first, so
/// that the load arguments are checked before anything is built, then the engines, commands
/// and callbacks. False refuses the load, after a log line saying why.
fn load(raw: *mut redis_module::raw::RedisModuleCtx, args: &[Vec<u8>]) -> bool {
    let refuse = |why: &str| {
        host::log_to(raw, host::LogLevel::Warning, &format!("redis-alt is not loaded: {why}"));
        false
    };
    host::claim_main_thread();
    let pairs = match config::load_args(args) {
        Ok(pairs) => pairs,
        Err(why) => return refuse(&why),
    };
    if !host::register_bool_configs(raw, &config::BOOL_CONFIGS) {
        return refuse("its configs could not be registered");
    }
    if let Err(why) = host::register_configs(raw, &config::CONFIGS) {
        return refuse(why);
    }
    // Each load argument goes through CONFIG SET: the same syntax and range as for a client.
    for (name, value) in &pairs {
        if let Err(e) = host::config_set(raw, name, value) {
            let name = String::from_utf8_lossy(name.strip_prefix(b"alt.").unwrap_or(name));
            let value = String::from_utf8_lossy(value);
            return refuse(&format!("load argument '{name} {value}' refused: {e}"));
        }
    }
    host::init_detached_context(raw);
    cmdinfo::reset();
    lazyfree::reset_counters();
    metrics::reset();
    lua::libs::random::reset();
    host::clock_init();
    if state::init(host::server_version()).is_err()
        || !host::register_commands(raw, &command_table())
        || !host::register_commands(raw, &dropin_table())
        || !host::subscribe_config_changes(raw, config::refresh_host_configs)
        || !host::subscribe_role_changes(raw, config::set_replica)
        || !host::create_aux_type(
            raw,
            c"alt-funcs",
            function_persistence::save,
            function_persistence::load,
            function_persistence::has_libraries,
        )
        || !host::subscribe_loading(raw, function_persistence::loading_started, loading_ended)
        || !host::register_command_filter(raw, compat::wants, compat::filter)
        || !host::register_info(raw, metrics::info_fields)
        || !host::session::subscribe_session_events(raw, debugger::client_gone, debugger::shutdown)
        || !dropin::loaded(&host::Ctx::from_raw(raw))
    {
        return false;
    }
    config::refresh_host_configs(&host::Ctx::from_raw(raw));
    config::note_server_role(&host::Ctx::from_raw(raw));
    host::set_match_interrupt(|| run::interrupt() == run::Verdict::Kill);
    host::set_memory_error_hook(lua::note_memory_error);
    debugger::loaded();
    true
}

/// An RDB or AOF load ended: the loaded libraries settle, then drop-in mode takes the
/// native engine's (an RDB written before drop-in mode was on).
fn loading_ended() {
    function_persistence::loading_ended();
    dropin::loading_ended();
}

/// MODULE UNLOAD; refused while a worker still frees memory or a debugging session runs (both
/// run this library's code).
fn unload() -> bool {
    if lazyfree::in_flight() > 0 || debugger::active() {
        return false;
    }
    dropin::unloaded();
    state::deinit();
    cmdinfo::reset();
    host::free_detached_context();
    true
}
