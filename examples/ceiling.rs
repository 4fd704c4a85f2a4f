//! The bench's "ceiling" module (`make bench` builds it with `cargo build --release --example
//! ceiling` and loads target/release/examples/libceiling.so next to the main module): plain
//! module commands that make exactly the RM_Calls a throughput workload's script makes through
//! ALT's `redis.call`, and reply with what the script returns. No Lua and no engine: what is
//! left is the module door, RM_Call and the reply, so its rps is the most an engine built on
//! RM_Call could reach for that workload on this host.
//!
//! Each call is made as src/host/mod.rs's `Ctx::call_argv` makes it: the arguments become
//! RedisModuleStrings (RedisModule_CreateString with a NULL context, freed after the call);
//! a command line with an integer-looking argument goes in `call_fresh`'s form (those
//! arguments as `b` segments, the others in `v` runs); the flags are src/run.rs
//! `call_flags`'s for a RESP2 client replicating to AOF and replicas: `ESCM!` (OOM check) until
//! the script's first write command, `ESC!` after it.
//!
//! | command                          | the script it stands for                                           |
//! |----------------------------------|--------------------------------------------------------------------|
//! | `CEILING.RET1`                   | `return 1`                                                         |
//! | `CEILING.INCR key`               | `return redis.call('INCR', KEYS[1])`                               |
//! | `CEILING.TENSET key`             | `for i=1,10 do redis.call('SET', KEYS[1], i) end return redis.call('GET', KEYS[1])` |
//! | `CEILING.HASHRW key field value` | `redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) return redis.call('HGETALL', KEYS[1])` |
//! | `CEILING.LRANGE key`             | `return redis.call('LRANGE', KEYS[1], 0, -1)`                      |
//! | `CEILING.LRANGELEN key`          | `return #redis.call('LRANGE', KEYS[1], 0, -1)`                     |
//! | `CEILING.HGETALL key`            | `return redis.call('HGETALL', KEYS[1])`                            |
//!
//! Loads on Redis 7.0 (no ACL categories); only the bench uses it.

use std::ffi::{c_char, c_int, CStr};
use std::ptr;

use redis_module::raw;

type Ctx = *mut raw::RedisModuleCtx;
type RString = *mut raw::RedisModuleString;
type Reply = *mut raw::RedisModuleCallReply;
type Handler = unsafe extern "C" fn(Ctx, *mut RString, c_int) -> c_int;

const OK: c_int = raw::REDISMODULE_OK as c_int;
const ERR: c_int = raw::REDISMODULE_ERR as c_int;

/// Calls a Module API function through the table RedisModule_Init filled; `$none` if the
/// host lacks it (checked at load for every function used here, see `API`).
macro_rules! rm {
    ($f:ident($($a:expr),* $(,)?) else $none:expr) => {{
        // SAFETY: the table is written once by RedisModule_Init, before any command runs.
        match unsafe { raw::$f } {
            // SAFETY: the arguments are what the host handed this call, or live buffers.
            Some(f) => unsafe { f($($a),*) },
            None => $none,
        }
    }};
}

/// The flags of a script's calls before its first write command (OOM checked) and after.
const FLAGS_FIRST: &[u8] = b"ESCM!";
const FLAGS_LATER: &[u8] = b"ESC!";

/// As src/host/mod.rs `integer_like`: such arguments go to RM_Call as `b` (fresh objects).
fn integer_like(b: &[u8]) -> bool {
    !b.is_empty() && b.len() <= 20 && b.iter().all(|&c| c.is_ascii_digit() || c == b'-')
}

/// The bytes of a RedisModuleString.
fn bytes<'a>(s: RString) -> &'a [u8] {
    let mut len = 0usize;
    let p = rm!(RedisModule_StringPtrLen(s, &mut len) else ptr::null());
    if p.is_null() {
        return &[];
    }
    // SAFETY: the string's buffer and length; the string outlives the command call.
    unsafe { std::slice::from_raw_parts(p.cast(), len) }
}

/// Argument `i` of the command line (the host passes `argc` strings).
fn arg<'a>(argv: *mut RString, argc: c_int, i: usize) -> &'a [u8] {
    if i >= usize::try_from(argc).unwrap_or(0) {
        return &[];
    }
    // SAFETY: i < argc.
    bytes(unsafe { *argv.add(i) })
}

/// One `redis.call(cmd, args...)` as ALT makes it (see the module doc); `first`: before the
/// script's first write. The reply is the caller's to free.
fn call(ctx: Ctx, cmd: &CStr, first: bool, args: &[&[u8]]) -> Reply {
    let strings: Vec<RString> = args
        .iter()
        .map(|a| rm!(RedisModule_CreateString(ptr::null_mut(), a.as_ptr().cast(), a.len()) else ptr::null_mut()))
        .collect();
    let flags = if first { FLAGS_FIRST } else { FLAGS_LATER };
    let reply = if args.iter().any(|a| integer_like(a)) {
        // call_fresh: `b` for each integer-like argument (pointer, length), `v` for each run
        // of the others (pointer into the argv array, count); two words per segment.
        let mut fmt = Vec::with_capacity(16);
        let mut w = [0usize; 8];
        let mut i = 0;
        while i < strings.len() && fmt.len() < 4 {
            let n = fmt.len();
            let b = bytes(strings[i]);
            if integer_like(b) {
                fmt.push(b'b');
                w[2 * n] = b.as_ptr() as usize;
                w[2 * n + 1] = b.len();
                i += 1;
            } else {
                let start = i;
                while i < strings.len() && !integer_like(bytes(strings[i])) {
                    i += 1;
                }
                fmt.push(b'v');
                w[2 * n] = strings[start..].as_ptr() as usize;
                w[2 * n + 1] = i - start;
            }
        }
        assert!(i == strings.len(), "ceiling: more than 4 argument segments");
        fmt.extend_from_slice(flags);
        fmt.push(0);
        rm!(RedisModule_Call(ctx, cmd.as_ptr(), fmt.as_ptr().cast::<c_char>(), w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7])
            else ptr::null_mut())
    } else {
        let mut fmt = vec![b'v'];
        fmt.extend_from_slice(flags);
        fmt.push(0);
        rm!(RedisModule_Call(ctx, cmd.as_ptr(), fmt.as_ptr().cast::<c_char>(), strings.as_ptr(), strings.len())
            else ptr::null_mut())
    };
    for s in strings {
        rm!(RedisModule_FreeString(ptr::null_mut(), s) else ());
    }
    reply
}

fn free(reply: Reply) {
    if !reply.is_null() {
        rm!(RedisModule_FreeCallReply(reply) else ());
    }
}

/// Replies with an RM_Call reply as is (a script returning redis.call's reply) and frees it.
fn reply_with(ctx: Ctx, reply: Reply) -> c_int {
    if reply.is_null() {
        rm!(RedisModule_ReplyWithError(ctx, c"ERR ceiling: RM_Call failed".as_ptr()) else 0);
    } else {
        rm!(RedisModule_ReplyWithCallReply(ctx, reply) else 0);
        free(reply);
    }
    OK
}

fn arity(ctx: Ctx, argc: c_int, wanted: c_int) -> bool {
    if argc != wanted {
        rm!(RedisModule_WrongArity(ctx) else 0);
        return false;
    }
    true
}

unsafe extern "C" fn ret1(ctx: Ctx, _argv: *mut RString, argc: c_int) -> c_int {
    if arity(ctx, argc, 1) {
        rm!(RedisModule_ReplyWithLongLong(ctx, 1) else 0);
    }
    OK
}

unsafe extern "C" fn incr(ctx: Ctx, argv: *mut RString, argc: c_int) -> c_int {
    if !arity(ctx, argc, 2) {
        return OK;
    }
    reply_with(ctx, call(ctx, c"INCR", true, &[arg(argv, argc, 1)]))
}

unsafe extern "C" fn tenset(ctx: Ctx, argv: *mut RString, argc: c_int) -> c_int {
    if !arity(ctx, argc, 2) {
        return OK;
    }
    let key = arg(argv, argc, 1);
    for i in 1..=10 {
        free(call(ctx, c"SET", i == 1, &[key, i.to_string().as_bytes()]));
    }
    reply_with(ctx, call(ctx, c"GET", false, &[key]))
}

unsafe extern "C" fn hashrw(ctx: Ctx, argv: *mut RString, argc: c_int) -> c_int {
    if !arity(ctx, argc, 4) {
        return OK;
    }
    let key = arg(argv, argc, 1);
    free(call(ctx, c"HSET", true, &[key, arg(argv, argc, 2), arg(argv, argc, 3)]));
    reply_with(ctx, call(ctx, c"HGETALL", false, &[key]))
}

unsafe extern "C" fn lrange(ctx: Ctx, argv: *mut RString, argc: c_int) -> c_int {
    if !arity(ctx, argc, 2) {
        return OK;
    }
    reply_with(ctx, call(ctx, c"LRANGE", true, &[arg(argv, argc, 1), b"0", b"-1"]))
}

unsafe extern "C" fn lrangelen(ctx: Ctx, argv: *mut RString, argc: c_int) -> c_int {
    if !arity(ctx, argc, 2) {
        return OK;
    }
    let reply = call(ctx, c"LRANGE", true, &[arg(argv, argc, 1), b"0", b"-1"]);
    if reply.is_null() {
        return reply_with(ctx, reply);
    }
    let len = rm!(RedisModule_CallReplyLength(reply) else 0);
    free(reply);
    rm!(RedisModule_ReplyWithLongLong(ctx, i64::try_from(len).unwrap_or(i64::MAX)) else 0);
    OK
}

unsafe extern "C" fn hgetall(ctx: Ctx, argv: *mut RString, argc: c_int) -> c_int {
    if !arity(ctx, argc, 2) {
        return OK;
    }
    reply_with(ctx, call(ctx, c"HGETALL", true, &[arg(argv, argc, 1)]))
}

/// name, handler, flags, first key (0: none; last key and step follow it: 1,1,1).
const COMMANDS: &[(&CStr, Handler, &CStr, c_int)] = &[
    (c"ceiling.ret1", ret1, c"readonly fast", 0),
    (c"ceiling.incr", incr, c"write deny-oom", 1),
    (c"ceiling.tenset", tenset, c"write deny-oom", 1),
    (c"ceiling.hashrw", hashrw, c"write deny-oom", 1),
    (c"ceiling.lrange", lrange, c"readonly", 1),
    (c"ceiling.lrangelen", lrangelen, c"readonly", 1),
    (c"ceiling.hgetall", hgetall, c"readonly", 1),
];

/// Every Module API function the commands use: the load fails if the host lacks one.
const API: &[fn() -> bool] = {
    macro_rules! present {
        ($($f:ident),*) => { &[$(|| {
            // SAFETY: a copy of the pointer RedisModule_Init wrote.
            unsafe { raw::$f }.is_some()
        }),*] };
    }
    present!(
        RedisModule_CreateCommand,
        RedisModule_StringPtrLen,
        RedisModule_CreateString,
        RedisModule_FreeString,
        RedisModule_Call,
        RedisModule_FreeCallReply,
        RedisModule_CallReplyLength,
        RedisModule_ReplyWithCallReply,
        RedisModule_ReplyWithLongLong,
        RedisModule_ReplyWithError,
        RedisModule_WrongArity
    )
};

/// # Safety
/// Called by redis-server with its load context.
#[no_mangle]
pub unsafe extern "C" fn RedisModule_OnLoad(ctx: Ctx, _argv: *mut RString, _argc: c_int) -> c_int {
    // SAFETY: the host's load context; Init fills the API table.
    if unsafe { raw::Export_RedisModule_Init(ctx, c"ceiling".as_ptr(), 1, raw::REDISMODULE_APIVER_1 as c_int) } != OK
        || !API.iter().all(|present| present())
    {
        return ERR;
    }
    for &(name, handler, flags, key) in COMMANDS {
        let created = rm!(RedisModule_CreateCommand(ctx, name.as_ptr(), Some(handler), flags.as_ptr(), key, key, key)
            else ERR);
        if created != OK {
            return ERR;
        }
    }
    OK
}
