//! Drop-in mode (`alt.takeover yes`): clients' EVAL, EVALSHA, EVAL_RO, EVALSHA_RO, SCRIPT,
//! FUNCTION, FCALL, FCALL_RO and FLUSHALL are served by this module under their native
//! names.
//!
//! The command filter sees every command before the host looks it up. A scripting command
//! whose shape the native command would accept (arity, subcommand, as the host's own command
//! table says) gets the name of one of our commands in place of its own; anything else is
//! left to the native command, so that its refusals (arity, unknown subcommand, ACL) are
//! native's own. The handler is told the name the client typed, so every text that names a
//! command names the native one.
//!
//! Two families of target commands keep authentication and ACL as native:
//! - `alt.dropin.*`, flagged no-auth so that the host does not check ACL against their own
//!   names: reached only when the client cannot be unauthenticated (its user is not
//!   `default`, or `default` needs no password). The native command line is checked against
//!   the client's user instead: by the filter where the host tells it the client (7.2+; a
//!   refused line is left to the native command, which refuses it natively), else by the
//!   handler (7.0).
//! - `alt.*` (the module's own commands) for a client of the `default` user when that user
//!   has a password: the host then checks authentication (NOAUTH) as for any command, and
//!   ACL against the `alt.*` name.

use rustc_hash::FxHashMap as HashMap;
use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};

use crate::host::{self, Ctx, FilterArgs, LogLevel, ReplyKind, ReplyRef};
use crate::reply::ReplySink;
use crate::state;

/// `alt.takeover`.
static TAKEOVER: AtomicBool = AtomicBool::new(false);
/// The module has finished loading: switching copies libraries and logs.
static LOADED: AtomicBool = AtomicBool::new(false);

/// The scripting commands drop-in mode serves: native name, the no-auth target, the
/// module's own command.
struct Served {
    native: &'static [u8],
    open: &'static std::ffi::CStr,
    own: &'static std::ffi::CStr,
}

const SERVED: [Served; 9] = [
    Served { native: b"eval", open: c"alt.dropin.eval", own: c"alt.eval" },
    Served { native: b"evalsha", open: c"alt.dropin.evalsha", own: c"alt.evalsha" },
    Served { native: b"eval_ro", open: c"alt.dropin.eval_ro", own: c"alt.eval_ro" },
    Served { native: b"evalsha_ro", open: c"alt.dropin.evalsha_ro", own: c"alt.evalsha_ro" },
    Served { native: b"fcall", open: c"alt.dropin.fcall", own: c"alt.fcall" },
    Served { native: b"fcall_ro", open: c"alt.dropin.fcall_ro", own: c"alt.fcall_ro" },
    Served { native: b"script", open: c"alt.dropin.script", own: c"alt.script" },
    Served { native: b"function", open: c"alt.dropin.function", own: c"alt.function" },
    Served { native: b"flushall", open: c"alt.dropin.flushall", own: c"alt.flushall" },
];

/// Subcommands drop-in mode serves (the native ones the module has; others stay native).
const SCRIPT_SUBS: &[&[u8]] = &[b"load", b"exists", b"flush", b"kill", b"help", b"debug"];
const FUNCTION_SUBS: &[&[u8]] =
    &[b"load", b"delete", b"list", b"flush", b"dump", b"restore", b"stats", b"kill", b"help"];

/// The host's own arities for the served commands and their subcommands (COMMAND INFO,
/// read at load): a line the native command would refuse is left to it.
struct Shape {
    arity: i64,
    subs: Vec<(Vec<u8>, i64)>,
}

thread_local! {
    // Main thread only: the filter, config callbacks and commands run there.
    static SHAPES: RefCell<Vec<Option<Shape>>> = const { RefCell::new(Vec::new()) };
    /// Per ACL user seen by `admitted`: may it run every command (`+@all` and no `-` rule)?
    /// Forgotten with DEFAULT_OPEN.
    /// FxHash: looked up on every drop-in scripting command; the keys are ACL user names.
    static ALL_COMMANDS: RefCell<HashMap<Vec<u8>, bool>> = RefCell::new(HashMap::default());
}

/// Whether the `default` user needs no password (so no client is unauthenticated):
/// 0 not known (re-read on the next scripting command), 1 yes, 2 no.
static DEFAULT_OPEN: AtomicU8 = AtomicU8::new(0);

pub fn enabled() -> bool {
    TAKEOVER.load(Ordering::Relaxed)
}

/// The config's getter.
pub fn get() -> bool {
    enabled()
}

/// The config's setter (CONFIG SET, a load argument, the config file). At load only the
/// value is kept; once loaded, a switch is refused while any client is inside MULTI (its
/// queued commands were routed when queued, and would run half on one engine and half on
/// the other), and it carries the function libraries (and, switching off, the cached
/// scripts) over to the engine that serves next, so no client loses what it loaded.
pub fn set(on: bool) -> Result<(), String> {
    if !LOADED.load(Ordering::SeqCst) {
        TAKEOVER.store(on, Ordering::SeqCst);
        return Ok(());
    }
    if on == enabled() {
        return Ok(());
    }
    let ctx = host::main_thread_ctx().ok_or("the module is not ready")?;
    let in_multi = clients_in_multi(&ctx);
    if in_multi > 0 {
        return Err(format!(
            "alt.takeover cannot change while {in_multi} client(s) are inside MULTI (their queued commands would run \
             on two engines): retry once they have sent EXEC or DISCARD"
        ));
    }
    if on {
        read_shapes(&ctx)?;
        let copied = native_libraries_to_module(&ctx)?;
        TAKEOVER.store(true, Ordering::SeqCst);
        host::log_any_thread(
            LogLevel::Notice,
            &format!(
                "redis-alt drop-in mode on: EVAL, EVALSHA, EVAL_RO, EVALSHA_RO, SCRIPT, FUNCTION, FCALL, FCALL_RO and \
                 FLUSHALL are served by redis-alt ({copied} function librar{} copied from the native engine)",
                if copied == 1 { "y" } else { "ies" }
            ),
        );
    } else {
        let (libraries, scripts) = module_to_native(&ctx)?;
        TAKEOVER.store(false, Ordering::SeqCst);
        host::log_any_thread(
            LogLevel::Notice,
            &format!(
                "redis-alt drop-in mode off: the native commands are served natively again ({libraries} function \
                 librar{} and {scripts} cached script(s) copied to the native engine)",
                if libraries == 1 { "y" } else { "ies" }
            ),
        );
    }
    Ok(())
}

/// At the end of the module's load: learn the host's command shapes; log if drop-in mode was
/// asked for at load.
pub fn loaded(ctx: &Ctx) -> bool {
    if read_shapes(ctx).is_err() {
        return false;
    }
    LOADED.store(true, Ordering::SeqCst);
    if enabled() {
        host::log_any_thread(
            LogLevel::Notice,
            "redis-alt drop-in mode on: EVAL, EVALSHA, EVAL_RO, EVALSHA_RO, SCRIPT, FUNCTION, FCALL, FCALL_RO and \
             FLUSHALL are served by redis-alt",
        );
    }
    true
}

/// After an RDB or AOF load in drop-in mode: libraries the load gave the native engine (an
/// RDB from before drop-in mode) are copied to the module, as switching on does.
pub fn loading_ended() {
    if !enabled() || !LOADED.load(Ordering::SeqCst) {
        return;
    }
    let Some(ctx) = host::main_thread_ctx() else { return };
    match native_libraries_to_module(&ctx) {
        Ok(0) => {}
        Ok(n) => host::log_any_thread(
            LogLevel::Notice,
            &format!(
                "redis-alt drop-in mode: {n} function librar{} loaded natively copied to redis-alt",
                if n == 1 { "y" } else { "ies" }
            ),
        ),
        Err(why) => host::log_any_thread(LogLevel::Warning, &format!("redis-alt drop-in mode: {why}")),
    }
}

pub fn unloaded() {
    LOADED.store(false, Ordering::SeqCst);
    TAKEOVER.store(false, Ordering::SeqCst);
}

/// The filter's part: route a served command line to one of our commands.
pub fn route(args: &mut FilterArgs) {
    let Some(name) = args.get(0) else { return };
    // Commands that may change the `default` user's password.
    if name.eq_ignore_ascii_case(b"acl") || name.eq_ignore_ascii_case(b"config") {
        DEFAULT_OPEN.store(0, Ordering::Relaxed);
        ALL_COMMANDS.with(|all| all.borrow_mut().clear());
        return;
    }
    if !enabled() {
        return;
    }
    let Some(index) = SERVED.iter().position(|s| s.native.len() == name.len() && s.native.eq_ignore_ascii_case(name))
    else {
        return;
    };
    let Some(served) = SERVED.get(index) else { return };
    if !shape_accepted(index, args) {
        return;
    }
    let typed = name.to_vec();
    let open = default_open();
    let target = match args.client_id() {
        Some(id) => {
            let Some(user) = host::client_user_name(id) else { return };
            if !args.user_may_run(&user, &typed) {
                return; // the native command refuses it, with native's text and ACL LOG entry
            }
            if open || user != b"default" {
                served.open
            } else {
                served.own
            }
        }
        None if host::filter_knows_clients() => served.own,
        None if open => served.open,
        None => served.own,
    };
    args.replace_name(target, &typed);
}

fn shape_accepted(index: usize, args: &FilterArgs) -> bool {
    SHAPES.with(|shapes| {
        let shapes = shapes.borrow();
        let Some(Some(shape)) = shapes.get(index) else { return false };
        let argc = i64::try_from(args.len()).unwrap_or(i64::MAX);
        if !arity_ok(shape.arity, argc) {
            return false;
        }
        if shape.subs.is_empty() {
            return true;
        }
        let Some(sub) = args.get(1) else { return false };
        shape.subs.iter().any(|(name, arity)| name.eq_ignore_ascii_case(sub) && arity_ok(*arity, argc))
    })
}

fn arity_ok(arity: i64, argc: i64) -> bool {
    if arity >= 0 {
        argc == arity
    } else {
        argc >= -arity
    }
}

fn default_open() -> bool {
    match DEFAULT_OPEN.load(Ordering::Relaxed) {
        1 => true,
        2 => false,
        _ => {
            // `on ... nopass ...`, as ACL LIST describes the user (no command is run).
            let open = host::user_rules(b"default").is_some_and(|rules| {
                let words: Vec<&[u8]> = rules.split(|&b| b == b' ').collect();
                words.contains(&b"on".as_slice()) && words.contains(&b"nopass".as_slice())
            });
            DEFAULT_OPEN.store(if open { 1 } else { 2 }, Ordering::Relaxed);
            open
        }
    }
}

/// A field of a RESP2 flat map or a RESP3 map reply.
fn field<'a>(reply: &ReplyRef<'a>, name: &[u8]) -> Option<ReplyRef<'a>> {
    let n = match reply.kind() {
        ReplyKind::Array(n) | ReplyKind::Map(n) => n,
        _ => return None,
    };
    (0..n).step_by(2).find_map(|i| {
        let key = reply.element(i)?;
        matches!(key.kind(), ReplyKind::Bulk(k) | ReplyKind::Status(k) if k == name).then(|| reply.element(i + 1))?
    })
}

/// COMMAND INFO of the served commands: arity, and the served subcommands' arities.
fn read_shapes(ctx: &Ctx) -> Result<(), String> {
    let mut shapes = Vec::with_capacity(SERVED.len());
    for served in &SERVED {
        let reply = ctx.call(c"COMMAND", c"vE", &[b"INFO", served.native]).ok_or("COMMAND INFO could not run")?;
        let root = reply.root();
        let shape = root.element(0).and_then(|info| {
            let ReplyKind::Int(arity) = info.element(1)?.kind() else { return None };
            let mut subs = Vec::new();
            let wanted: &[&[u8]] = match served.native {
                b"script" => SCRIPT_SUBS,
                b"function" => FUNCTION_SUBS,
                _ => &[],
            };
            if let Some(list) = info.element(9) {
                let n = match list.kind() {
                    ReplyKind::Array(n) | ReplyKind::Set(n) => n,
                    _ => 0,
                };
                for i in 0..n {
                    let Some(sub) = list.element(i) else { continue };
                    let (Some(ReplyKind::Bulk(full) | ReplyKind::Status(full)), Some(ReplyKind::Int(a))) =
                        (sub.element(0).map(|e| e.kind()), sub.element(1).map(|e| e.kind()))
                    else {
                        continue;
                    };
                    let Some(bar) = full.iter().position(|&b| b == b'|') else { continue };
                    let name = full.get(bar + 1..).unwrap_or_default().to_ascii_lowercase();
                    if wanted.contains(&name.as_slice()) {
                        subs.push((name, a));
                    }
                }
            }
            Some(Shape { arity, subs })
        });
        shapes.push(shape);
    }
    SHAPES.with(|s| *s.borrow_mut() = shapes);
    Ok(())
}

/// Clients whose CLIENT LIST flags hold `x` (inside MULTI).
fn clients_in_multi(ctx: &Ctx) -> usize {
    let Some(reply) = ctx.call(c"CLIENT", c"vE", &[b"LIST"]) else { return 0 };
    let text = match reply.root().kind() {
        ReplyKind::Bulk(t) | ReplyKind::Status(t) | ReplyKind::Verbatim(_, t) => t.to_vec(),
        _ => return 0,
    };
    text.split(|&b| b == b'\n')
        .filter(|line| {
            line.split(|&b| b == b' ')
                .find_map(|f| f.strip_prefix(b"flags="))
                .is_some_and(|flags| flags.contains(&b'x'))
        })
        .count()
}

/// Switching on: the native engine's libraries (FUNCTION LIST WITHCODE) are loaded into the
/// module's, replacing same-name ones. The count copied.
fn native_libraries_to_module(ctx: &Ctx) -> Result<usize, String> {
    let reply = ctx.call(c"FUNCTION", c"vE", &[b"LIST", b"WITHCODE"]).ok_or("FUNCTION LIST could not run")?;
    let root = reply.root();
    let n = match root.kind() {
        ReplyKind::Array(n) => n,
        ReplyKind::Error(e) => return Err(String::from_utf8_lossy(e).into_owned()),
        _ => 0,
    };
    let codes: Vec<Vec<u8>> = (0..n)
        .filter_map(|i| match field(&root.element(i)?, b"library_code")?.kind() {
            ReplyKind::Bulk(code) | ReplyKind::Verbatim(_, code) => Some(code.to_vec()),
            _ => None,
        })
        .collect();
    if codes.is_empty() {
        return Ok(0);
    }
    state::with_functions(|f| f.restore(&codes, crate::functions::RestorePolicy::Replace)).map_err(|e| {
        format!(
            "the native engine's function libraries could not be copied to redis-alt: {}",
            String::from_utf8_lossy(&e.text())
        )
    })?;
    Ok(codes.len())
}

/// Switching off: the module's libraries are loaded natively (FUNCTION LOAD REPLACE), and
/// its cached scripts with SCRIPT LOAD, so EVALSHA and FCALL keep finding them. The counts.
fn module_to_native(ctx: &Ctx) -> Result<(usize, usize), String> {
    let codes =
        state::with_functions(|f| Ok(f.codes())).map_err(|e| String::from_utf8_lossy(&e.text()).into_owned())?;
    for code in &codes {
        let reply = ctx.call(c"FUNCTION", c"vE", &[b"LOAD", b"REPLACE", code]).ok_or("FUNCTION LOAD could not run")?;
        if let ReplyKind::Error(e) = reply.root().kind() {
            return Err(format!(
                "a function library could not be copied to the native engine: {}",
                String::from_utf8_lossy(e)
            ));
        }
    }
    let bodies: Vec<Box<[u8]>> =
        state::with_scripts(|s| Ok(s.all().into_iter().map(|(_, s)| s.body.clone()).collect()))
            .map_err(|e| String::from_utf8_lossy(&e.text()).into_owned())?;
    let scripts = bodies
        .iter()
        .filter(|body| {
            ctx.call(c"SCRIPT", c"vE", &[b"LOAD", body])
                .is_some_and(|r| !matches!(r.root().kind(), ReplyKind::Error(_)))
        })
        .count();
    Ok((codes.len(), scripts))
}

/// On hosts whose filter cannot tell the client (7.0), an `alt.dropin.*` command checks the
/// native command line against the client's user itself, and answers as the host would.
/// False when it refused (the reply is sent).
pub fn admitted(ctx: &mut Ctx, argv: &[&[u8]]) -> bool {
    // A key-position request (cluster routing, ACL key checks) has no client: the handler
    // only reports keys.
    if host::filter_knows_clients() || ctx.is_keys_position_request() {
        return true;
    }
    // Authentication: reached only when `default` needed no password at routing time; if
    // it has one now, a client of `default` may not be authenticated.
    let user = ctx.user_name().unwrap_or_default();
    if !default_open() && user == b"default" {
        ctx.error(b"NOAUTH Authentication required.");
        return false;
    }
    if may_run_everything(&user) || ctx.user_may_run(argv) {
        return true;
    }
    let mut full = argv.first().copied().unwrap_or_default().to_ascii_lowercase();
    if full == b"script" || full == b"function" {
        full.push(b'|');
        full.extend_from_slice(&argv.get(1).copied().unwrap_or_default().to_ascii_lowercase());
    }
    ctx.acl_log_command_denied(&full);
    let mut text = b"NOPERM this user has no permissions to run the '".to_vec();
    text.extend_from_slice(&full);
    text.extend_from_slice(b"' command");
    ctx.error(&text);
    false
}

/// Whether `user`'s rules grant every command (`+@all`, and no `-` rule after it): then the
/// native line needs no check of its own (keys are checked by the host).
fn may_run_everything(user: &[u8]) -> bool {
    if let Some(known) = ALL_COMMANDS.with(|all| all.borrow().get(user).copied()) {
        return known;
    }
    let all = host::user_rules(user).is_some_and(|rules| {
        let words: Vec<&[u8]> = rules.split(|&b| b == b' ').collect();
        words.contains(&b"+@all".as_slice()) && !words.iter().any(|w| w.starts_with(b"-"))
    });
    ALL_COMMANDS.with(|cache| cache.borrow_mut().insert(user.to_vec(), all));
    all
}
