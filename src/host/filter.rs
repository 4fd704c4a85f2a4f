//! The command filter's side of the Module API: the arguments of a command on its way in,
//! the command names drop-in mode puts in their place (held strings the dispatcher
//! recognises by address), and the ACL questions the filter asks about the sending client.

use std::cell::RefCell;
// FxHash: looked up on every routed command (and `typed` on every command); the keys are
// addresses and at most MAX_SPELLINGS spellings of a few names.
use rustc_hash::FxHashMap as HashMap;
use std::ffi::{c_int, CStr};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;
use std::sync::OnceLock;

use redis_module::raw;

use super::string_bytes;

/// The arguments of a command on its way in, as a command filter sees them.
pub struct FilterArgs {
    raw: *mut raw::RedisModuleCommandFilterCtx,
}

impl FilterArgs {
    pub fn len(&self) -> usize {
        usize::try_from(rm!(RedisModule_CommandFilterArgsCount(self.raw) else 0)).unwrap_or(0)
    }

    pub fn get(&self, i: usize) -> Option<&[u8]> {
        let s = self.raw_arg(i);
        (!s.is_null()).then(|| string_bytes(s))
    }

    fn raw_arg(&self, i: usize) -> *mut raw::RedisModuleString {
        let Ok(i) = c_int::try_from(i) else { return ptr::null_mut() };
        rm!(RedisModule_CommandFilterArgGet(self.raw, i) else ptr::null_mut())
    }

    /// Inserts an argument before position `i` (the filter takes ownership of the string).
    pub fn insert(&mut self, i: usize, arg: &[u8]) {
        let Ok(i) = c_int::try_from(i) else { return };
        let s = rm!(RedisModule_CreateString(ptr::null_mut(), arg.as_ptr().cast(), arg.len()) else ptr::null_mut());
        if !s.is_null() {
            rm!(RedisModule_CommandFilterArgInsert(self.raw, i, s) else 0);
        }
    }

    /// Puts the held command name `target` (spelled as the client typed `typed`) in place of
    /// the command name. The command then runs as `target`, and its handler sees `typed`.
    pub fn replace_name(&mut self, target: &'static CStr, typed: &[u8]) -> bool {
        let held = held_name(target, typed);
        if held.is_null() {
            return false;
        }
        // The filter takes the reference it is given: one more keeps the held string alive.
        rm!(RedisModule_RetainString(ptr::null_mut(), held) else ());
        rm!(RedisModule_CommandFilterArgReplace(self.raw, 0, held) else raw::REDISMODULE_ERR as c_int)
            == raw::REDISMODULE_OK as c_int
    }

    /// The sending client's id, on hosts that tell a filter (7.2 and later).
    pub fn client_id(&self) -> Option<u64> {
        // SAFETY: reading the API table once filled; a copy of the Option<fn>.
        let f = unsafe { raw::RedisModule_CommandFilterGetClientId }?;
        // SAFETY: the filter context the host handed us for this call.
        let id = unsafe { f(self.raw) };
        (id != 0).then_some(id)
    }

    /// Would `user` be allowed this command line as it stands, with `name` as its first
    /// argument (ACL command, subcommand and key rules)?
    pub fn user_may_run(&self, user: &[u8], name: &[u8]) -> bool {
        let first = string_from(name);
        if first.is_null() {
            return false;
        }
        let mut argv: Vec<*mut raw::RedisModuleString> = vec![first];
        argv.extend((1..self.len()).map(|i| self.raw_arg(i)));
        let allowed = user_may_run(user, &argv);
        rm!(RedisModule_FreeString(ptr::null_mut(), first) else ());
        allowed
    }
}

/// Whether a filter learns which client sent a command (7.2 and later).
pub fn filter_knows_clients() -> bool {
    // SAFETY: reading the API table once filled; a copy of the Option<fn>.
    unsafe { raw::RedisModule_CommandFilterGetClientId }.is_some()
}

/// The ACL user name of a connected client.
pub fn client_user_name(id: u64) -> Option<Vec<u8>> {
    // A real context (the module's detached one, without auto memory): this call adds its
    // string to the context's auto-memory queue when enabled, reading the context first.
    let ctx = super::DETACHED.load(std::sync::atomic::Ordering::SeqCst);
    if ctx.is_null() {
        return None;
    }
    let s = rm!(RedisModule_GetClientUserNameById(ctx, id) else ptr::null_mut());
    if s.is_null() {
        return None;
    }
    let name = string_bytes(s).to_vec();
    rm!(RedisModule_FreeString(ptr::null_mut(), s) else ());
    Some(name)
}

/// The ACL rules of the user named `user` as ACL LIST shows them (`on nopass ~* +@all`),
/// read without running a command.
pub fn user_rules(user: &[u8]) -> Option<Vec<u8>> {
    let name = string_from(user);
    if name.is_null() {
        return None;
    }
    let handle = rm!(RedisModule_GetModuleUserFromUserName(name) else ptr::null_mut());
    rm!(RedisModule_FreeString(ptr::null_mut(), name) else ());
    if handle.is_null() {
        return None;
    }
    let rules = rm!(RedisModule_GetModuleUserACLString(handle) else ptr::null_mut());
    let out = (!rules.is_null()).then(|| string_bytes(rules).to_vec());
    if !rules.is_null() {
        rm!(RedisModule_FreeString(ptr::null_mut(), rules) else ());
    }
    rm!(RedisModule_FreeModuleUser(handle) else ());
    out
}

/// RM_ACLCheckCommandPermissions for the user named `user` (false if there is none).
pub(super) fn user_may_run(user: &[u8], argv: &[*mut raw::RedisModuleString]) -> bool {
    let name = string_from(user);
    if name.is_null() {
        return false;
    }
    let handle = rm!(RedisModule_GetModuleUserFromUserName(name) else ptr::null_mut());
    rm!(RedisModule_FreeString(ptr::null_mut(), name) else ());
    if handle.is_null() || argv.iter().any(|s| s.is_null()) {
        if !handle.is_null() {
            rm!(RedisModule_FreeModuleUser(handle) else ());
        }
        return false;
    }
    let argc = c_int::try_from(argv.len()).unwrap_or(c_int::MAX);
    let status = rm!(RedisModule_ACLCheckCommandPermissions(handle, argv.as_ptr().cast_mut(), argc)
        else raw::REDISMODULE_ERR as c_int);
    rm!(RedisModule_FreeModuleUser(handle) else ());
    status == raw::REDISMODULE_OK as c_int
}

pub(super) fn string_from(bytes: &[u8]) -> *mut raw::RedisModuleString {
    rm!(RedisModule_CreateString(ptr::null_mut(), bytes.as_ptr().cast(), bytes.len()) else ptr::null_mut())
}

// ---------------------------------------------------------------------------------------------
// Held names: one host string per (command the filter routes to, spelling the client typed),
// created once and never freed. A command whose name is one of them was routed by our
// filter (a client cannot send this very string object); its handler is told the typed
// name. Other modules' and clients' strings with the same bytes are different objects.

/// More spellings than this (a client trying every case of `evalsha_ro`) share the
/// lower-case one: the command still runs, its typed name shows in lower case.
const MAX_SPELLINGS: usize = 4096;

struct Held {
    /// Per target (its name's address): spelling typed -> held string.
    by_spelling: HashMap<usize, HashMap<Box<[u8]>, usize>>,
    /// Held string -> spelling typed (leaked: at most MAX_SPELLINGS of them, kept for good).
    typed: HashMap<usize, &'static [u8]>,
}

thread_local! {
    // Main thread only: filters and command handlers run there.
    static HELD: RefCell<Held> = RefCell::new(Held { by_spelling: HashMap::default(), typed: HashMap::default() });
}

fn held_name(target: &'static CStr, typed: &[u8]) -> *mut raw::RedisModuleString {
    HELD.with(|held| {
        let mut held = held.borrow_mut();
        let target_key = target.as_ptr() as usize;
        if let Some(&p) = held.by_spelling.get(&target_key).and_then(|m| m.get(typed)) {
            return p as *mut raw::RedisModuleString;
        }
        if held.typed.len() >= MAX_SPELLINGS && typed.iter().any(u8::is_ascii_uppercase) {
            drop(held);
            return held_name(target, &typed.to_ascii_lowercase());
        }
        let s = string_from(target.to_bytes());
        if s.is_null() {
            return s;
        }
        let spelled: &'static [u8] = Box::leak(typed.into());
        held.by_spelling.entry(target_key).or_default().insert(spelled.into(), s as usize);
        held.typed.insert(s as usize, spelled);
        ANY_HELD.store(true, std::sync::atomic::Ordering::Relaxed);
        s
    })
}

/// Set once the first held name exists: until drop-in mode routes a command, no command
/// name can be one, and `typed_name` answers without looking.
static ANY_HELD: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// The name the client typed, when `s` is a held name the filter put in place.
#[inline(always)]
pub(super) fn typed_name(s: *const raw::RedisModuleString) -> Option<&'static [u8]> {
    if !ANY_HELD.load(std::sync::atomic::Ordering::Relaxed) {
        return None;
    }
    HELD.with(|held| held.borrow().typed.get(&(s as usize)).copied())
}

// ---------------------------------------------------------------------------------------------
// Registration.

/// The filter, and its cheap first look at the command name (most commands are none of its
/// business and leave after it).
type Filter = (fn(&[u8]) -> bool, fn(&mut FilterArgs));
static COMMAND_FILTER: OnceLock<Filter> = OnceLock::new();

/// Registers `filter` to see (and rewrite) every command whose name `wants`, before it runs,
/// except the calls this module makes itself. `wants` runs for every command of every client:
/// keep it to a few comparisons.
pub fn register_command_filter(
    ctx: *mut raw::RedisModuleCtx,
    wants: fn(&[u8]) -> bool,
    filter: fn(&mut FilterArgs),
) -> bool {
    let _ = COMMAND_FILTER.set((wants, filter));
    let flags = raw::REDISMODULE_CMDFILTER_NOSELF as c_int;
    !rm!(RedisModule_RegisterCommandFilter(ctx, Some(command_filter), flags) else ptr::null_mut()).is_null()
}

/// While set, the filter sees every command, not only those `wants` (a debugging session's
/// client may send any line).
static SEE_ALL: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

pub fn see_all_commands(on: bool) {
    SEE_ALL.store(on, std::sync::atomic::Ordering::Relaxed);
}

extern "C" fn command_filter(fctx: *mut raw::RedisModuleCommandFilterCtx) {
    let Some(&(wants, filter)) = COMMAND_FILTER.get() else { return };
    let args = FilterArgs { raw: fctx };
    let name = args.raw_arg(0);
    if name.is_null() || !(SEE_ALL.load(std::sync::atomic::Ordering::Relaxed) || wants(string_bytes(name))) {
        return;
    }
    let _ = catch_unwind(AssertUnwindSafe(|| filter(&mut FilterArgs { raw: fctx })));
}
