//! The Lua debugger's raw access to a paused script (eval.c luaLdbLineHook, ldbPrint,
//! ldbTrace, ldbEval, ldbRedis, ldbCatStackValue): the line/count hook itself, and a
//! `Frame` that reads locals, globals and the call stack of the thread the hook stopped.

use std::cell::Cell;
use std::ffi::{c_int, CStr};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::OnceLock;
use std::time::Instant;

use mlua::ffi;

use super::MainThread;
use crate::debugger::format;

/// What fired the hook.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Event {
    Line,
    Count,
}

/// What the debugger decided at a hook.
pub enum Action {
    Continue,
    /// End the run with this error (an `{err = text}` table, as luaPushError makes).
    Raise(Vec<u8>),
}

/// The debugger's side of the hook: the thread it stopped, the event, the current line and
/// whether that line belongs to the script being debugged (not to `eval` fragments).
pub type HookFn = fn(&mut Frame, Event, i32, bool) -> Action;

static HOOK: OnceLock<HookFn> = OnceLock::new();

thread_local! {
    /// While the debugger's `eval` runs a fragment: when it must give up (the fragment runs
    /// with the count hook only, and never stops).
    static EVAL_DEADLINE: Cell<Option<Instant>> = const { Cell::new(None) };
}

/// Every 100,000 instructions, as luaCallFunction's debugging hook.
const COUNT: c_int = 100_000;

/// Installs the debugger's hook (line and count events) on a VM's main thread; coroutines
/// created from then on inherit it.
pub fn install_debug_hook(main: MainThread, hook: HookFn) {
    let _ = HOOK.set(hook);
    let state = main.addr() as *mut ffi::lua_State;
    // SAFETY: the main thread of a VM its holder keeps alive; lua_sethook sets fields.
    unsafe { ffi::lua_sethook(state, Some(debug_hook), ffi::LUA_MASKLINE | ffi::LUA_MASKCOUNT, COUNT) };
}

/// The hook. It owns nothing with a destructor when it raises, so the longjmp of
/// `lua_error` skips no Rust cleanup.
unsafe extern "C-unwind" fn debug_hook(state: *mut ffi::lua_State, ar: *mut ffi::lua_Debug) {
    // SAFETY: Lua calls the hook with its state and a valid activation record.
    let raise = unsafe {
        let event = if (*ar).event == ffi::LUA_HOOKCOUNT { Event::Count } else { Event::Line };
        if let Some(deadline) = EVAL_DEADLINE.try_with(Cell::get).ok().flatten() {
            // A fragment of the debugger's `eval`: only its time counts.
            if event == Event::Count && Instant::now() >= deadline {
                Some(b"ERR the debugger's eval ran past busy-reply-threshold".to_vec())
            } else {
                None
            }
        } else {
            if ffi::lua_getstack(state, 0, ar) == 0 || ffi::lua_getinfo(state, c"Sl".as_ptr(), ar) == 0 {
                return;
            }
            let line = (*ar).currentline;
            let src = CStr::from_ptr((*ar).short_src.as_ptr()).to_bytes();
            let user = contains(src, b"user_script") || contains(src, b"user_function");
            let Some(hook) = HOOK.get().copied() else { return };
            let mut frame = Frame { state };
            match catch_unwind(AssertUnwindSafe(|| hook(&mut frame, event, line, user))) {
                Ok(Action::Continue) => None,
                Ok(Action::Raise(text)) => Some(text),
                Err(_) => Some(b"ERR the debugger failed".to_vec()),
            }
        }
    };
    if let Some(text) = raise {
        // SAFETY: a hook may raise; the text is copied into Lua before the Vec goes.
        unsafe {
            ffi::lua_createtable(state, 0, 1);
            ffi::lua_pushlstring(state, text.as_ptr().cast(), text.len());
            drop(text);
            ffi::lua_setfield(state, -2, c"err".as_ptr());
            ffi::lua_error(state);
        }
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// ldbCatStackValue's nesting limit (LUA_MINSTACK/2).
const MAX_DEPTH: usize = 10;

/// One entry of `trace`.
pub struct TraceEntry {
    pub level: i32,
    pub name: Option<Vec<u8>>,
    pub line: i32,
}

/// The thread a debugger hook stopped, for the debugger's commands.
pub struct Frame {
    state: *mut ffi::lua_State,
}

impl Frame {
    /// The locals of stack level `level` (0: the stopped function) as name and value text,
    /// `(*temporary)` ones left out; `None` when there is no such level.
    pub fn locals(&mut self, level: c_int) -> Option<Vec<(Vec<u8>, Vec<u8>)>> {
        let mut out = Vec::new();
        // SAFETY: the state is the thread stopped in the hook; each getlocal pushes one
        // value, popped after it is printed.
        unsafe {
            let mut ar: ffi::lua_Debug = std::mem::zeroed();
            if ffi::lua_getstack(self.state, level, &mut ar) == 0 {
                return None;
            }
            let mut i = 1;
            loop {
                let name = ffi::lua_getlocal(self.state, &ar, i);
                if name.is_null() {
                    break;
                }
                i += 1;
                let name = CStr::from_ptr(name).to_bytes().to_vec();
                let mut value = Vec::new();
                self.cat_value(&mut value, -1, 0);
                ffi::lua_pop(self.state, 1);
                out.push((name, value));
            }
        }
        Some(out)
    }

    /// ldbPrint: the first local named `name` from the stopped function outwards.
    pub fn find_local(&mut self, name: &[u8]) -> Option<Vec<u8>> {
        let mut level = 0;
        while let Some(locals) = self.locals(level) {
            if let Some((_, value)) = locals.into_iter().find(|(n, _)| n == name) {
                return Some(value);
            }
            level += 1;
        }
        None
    }

    /// A global's value text (`print KEYS`, `print ARGV`).
    pub fn global(&mut self, name: &CStr) -> Vec<u8> {
        let mut out = Vec::new();
        // SAFETY: rawget on the globals table runs no code; the value is popped.
        unsafe {
            ffi::lua_pushstring(self.state, name.as_ptr());
            ffi::lua_rawget(self.state, ffi::LUA_GLOBALSINDEX);
            self.cat_value(&mut out, -1, 0);
            ffi::lua_pop(self.state, 1);
        }
        out
    }

    /// ldbTrace's frames: every level whose source is the script (name, current line).
    pub fn trace(&mut self) -> (Vec<TraceEntry>, usize) {
        let mut out = Vec::new();
        let mut level = 0;
        // SAFETY: getstack/getinfo only read the stopped thread's call info.
        unsafe {
            let mut ar: ffi::lua_Debug = std::mem::zeroed();
            while ffi::lua_getstack(self.state, level, &mut ar) != 0 {
                ffi::lua_getinfo(self.state, c"Snl".as_ptr(), &mut ar);
                let src = CStr::from_ptr(ar.short_src.as_ptr()).to_bytes();
                if contains(src, b"user_script") || contains(src, b"user_function") {
                    let name = (!ar.name.is_null()).then(|| CStr::from_ptr(ar.name).to_bytes().to_vec());
                    out.push(TraceEntry { level, name, line: ar.currentline });
                }
                level += 1;
            }
        }
        (out, usize::try_from(level).unwrap_or(0))
    }

    /// ldbEval: compiles `return <code>`, else `<code>`, and runs it in a new coroutine (the
    /// stopped thread's hooks are off while it is stopped: a loop there could never end),
    /// for at most `limit`. The value's text, or the error's.
    pub fn eval(&mut self, code: &[u8], deadline: Instant) -> Result<Vec<u8>, Vec<u8>> {
        let expr = [b"return ".as_slice(), code].concat();
        // SAFETY: everything pushed here is popped before returning (the new thread stays
        // referenced from the stack until then).
        unsafe {
            let top = ffi::lua_gettop(self.state);
            let co = ffi::lua_newthread(self.state);
            let loaded = ffi::luaL_loadbuffer(co, expr.as_ptr().cast(), expr.len(), c"@ldb_eval".as_ptr()) == 0 || {
                ffi::lua_settop(co, 0);
                ffi::luaL_loadbuffer(co, code.as_ptr().cast(), code.len(), c"@ldb_eval".as_ptr()) == 0
            };
            let result = if !loaded {
                Err(self.text_at(co, -1))
            } else {
                let _ = EVAL_DEADLINE.try_with(|d| d.set(Some(deadline)));
                let status = ffi::lua_resume_(co, 0);
                let _ = EVAL_DEADLINE.try_with(|d| d.set(None));
                if status == ffi::LUA_YIELD {
                    // Native runs the fragment with lua_pcall on the stopped thread.
                    Err(b"attempt to yield across metamethod/C-call boundary".to_vec())
                } else if status != 0 {
                    Err(self.text_at(co, -1))
                } else if ffi::lua_gettop(co) == 0 {
                    Ok(b"nil".to_vec())
                } else {
                    // The first returned value, as lua_pcall(lua,0,1,0) keeps.
                    ffi::lua_settop(co, 1);
                    ffi::lua_xmove(co, self.state, 1);
                    let mut out = Vec::new();
                    self.cat_value(&mut out, -1, 0);
                    Ok(out)
                }
            };
            ffi::lua_settop(self.state, top);
            result
        }
    }

    /// An error value as text (a string; an error table's `err`; else its value text).
    unsafe fn text_at(&mut self, co: *mut ffi::lua_State, idx: c_int) -> Vec<u8> {
        // SAFETY: idx is a valid index of `co`; tolstring on a string does not convert.
        unsafe {
            if ffi::lua_type(co, idx) == ffi::LUA_TSTRING {
                let mut len = 0usize;
                let p = ffi::lua_tolstring(co, idx, &mut len);
                return std::slice::from_raw_parts(p.cast::<u8>(), len).to_vec();
            }
            if ffi::lua_type(co, idx) == ffi::LUA_TTABLE {
                ffi::lua_pushstring(co, c"err".as_ptr());
                ffi::lua_rawget(co, idx - 1);
                let text = if ffi::lua_type(co, -1) == ffi::LUA_TSTRING {
                    let mut len = 0usize;
                    let p = ffi::lua_tolstring(co, -1, &mut len);
                    std::slice::from_raw_parts(p.cast::<u8>(), len).to_vec()
                } else {
                    Vec::new()
                };
                ffi::lua_pop(co, 1);
                return text;
            }
            Vec::new()
        }
    }

    /// ldbRedis: `redis.call(args...)` under pcall; its logging is the binding's.
    pub fn redis(&mut self, args: &[Vec<u8>]) -> bool {
        let Ok(n) = c_int::try_from(args.len()) else { return false };
        // SAFETY: room is checked first; everything pushed is popped.
        unsafe {
            if ffi::lua_checkstack(self.state, n + 2) == 0 {
                return false;
            }
            let top = ffi::lua_gettop(self.state);
            ffi::lua_pushstring(self.state, c"redis".as_ptr());
            ffi::lua_rawget(self.state, ffi::LUA_GLOBALSINDEX);
            if ffi::lua_type(self.state, -1) == ffi::LUA_TTABLE {
                ffi::lua_pushstring(self.state, c"call".as_ptr());
                ffi::lua_rawget(self.state, -2);
                for a in args {
                    ffi::lua_pushlstring(self.state, a.as_ptr().cast(), a.len());
                }
                ffi::lua_pcall(self.state, n, 1, 0);
            }
            ffi::lua_settop(self.state, top);
        }
        true
    }

    /// The value at `idx` of `self.state` in the debugger's notation (ldbCatStackValueRec).
    fn cat_value(&mut self, out: &mut Vec<u8>, idx: c_int, level: usize) {
        let state = self.state;
        // SAFETY: idx is a valid (negative) index; tables are walked with lua_next, which runs
        // no code; each level pops what it pushed.
        unsafe { cat_value_of(state, out, idx, level) }
    }

    /// The values given to `redis.debug()` (arguments 1..=n of the running C function).
    pub fn args_text(state: *mut ffi::lua_State) -> Vec<Vec<u8>> {
        // SAFETY: called from a C function with its arguments on the stack.
        unsafe {
            let n = ffi::lua_gettop(state);
            (1..=n)
                .map(|i| {
                    let mut out = Vec::new();
                    cat_value_of(state, &mut out, i - n - 1, 0);
                    out
                })
                .collect()
        }
    }
}

unsafe fn cat_value_of(state: *mut ffi::lua_State, out: &mut Vec<u8>, idx: c_int, level: usize) {
    if level == MAX_DEPTH {
        out.extend_from_slice(b"<max recursion level reached! Nested table?>");
        return;
    }
    let level = level + 1;
    // SAFETY: see Frame::cat_value.
    unsafe {
        match ffi::lua_type(state, idx) {
            ffi::LUA_TSTRING => {
                let mut len = 0usize;
                let p = ffi::lua_tolstring(state, idx, &mut len);
                format::repr(out, std::slice::from_raw_parts(p.cast::<u8>(), len));
            }
            ffi::LUA_TBOOLEAN => {
                out.extend_from_slice(if ffi::lua_toboolean(state, idx) != 0 { b"true" } else { b"false" })
            }
            ffi::LUA_TNUMBER => format::number(out, ffi::lua_tonumber(state, idx)),
            ffi::LUA_TNIL => out.extend_from_slice(b"nil"),
            ffi::LUA_TTABLE => {
                if ffi::lua_checkstack(state, 3) == 0 {
                    out.extend_from_slice(b"{}");
                    return;
                }
                let mut expected = 1.0;
                let mut is_array = true;
                let mut array = Vec::new();
                let mut full = Vec::new();
                ffi::lua_pushnil(state);
                while ffi::lua_next(state, idx - 1) != 0 {
                    if is_array
                        && (ffi::lua_type(state, -2) != ffi::LUA_TNUMBER || ffi::lua_tonumber(state, -2) != expected)
                    {
                        is_array = false;
                    }
                    cat_value_of(state, &mut array, -1, level);
                    array.extend_from_slice(b"; ");
                    full.push(b'[');
                    cat_value_of(state, &mut full, -2, level);
                    full.extend_from_slice(b"]=");
                    cat_value_of(state, &mut full, -1, level);
                    full.extend_from_slice(b"; ");
                    ffi::lua_pop(state, 1);
                    expected += 1.0;
                }
                for r in [&mut array, &mut full] {
                    let keep = r.len().saturating_sub(2);
                    r.truncate(keep);
                }
                out.push(b'{');
                out.extend_from_slice(if is_array { &array } else { &full });
                out.push(b'}');
            }
            t => {
                let name = match t {
                    ffi::LUA_TFUNCTION => "function",
                    ffi::LUA_TUSERDATA => "userdata",
                    ffi::LUA_TTHREAD => "thread",
                    ffi::LUA_TLIGHTUSERDATA => "light-userdata",
                    _ => {
                        out.extend_from_slice(b"\"<unknown-lua-type>\"");
                        return;
                    }
                };
                let p = ffi::lua_topointer(state, idx);
                // glibc's %p: `(nil)` for NULL (cjson.null is a NULL light userdata).
                let text = if p.is_null() { format!("\"{name}@(nil)\"") } else { format!("\"{name}@{p:p}\"") };
                out.extend_from_slice(text.as_bytes());
            }
        }
    }
}

/// `redis.debug(...)` and `redis.breakpoint()` of a debugging session's VM.
pub struct DebugApi {
    /// Gets the arguments' value texts.
    pub debug: fn(Vec<Vec<u8>>),
    /// Asks for a stop at the next line; false when no session is active.
    pub breakpoint: fn() -> bool,
}

static DEBUG_API: OnceLock<DebugApi> = OnceLock::new();

/// Puts the debugging `redis.debug` and `redis.breakpoint` in a VM's `redis` table (which
/// is read-only to scripts: opened for this and closed again).
pub fn install_debug_api(lua: &mlua::Lua, api: DebugApi) -> mlua::Result<()> {
    let _ = DEBUG_API.set(api);
    let redis: mlua::Table = lua.globals().raw_get("redis")?;
    let was_readonly = super::table_is_readonly(lua, &redis)?;
    super::set_table_readonly(lua, &redis, false)?;
    // SAFETY: both are C functions following the Lua calling convention.
    let (debug, breakpoint) =
        unsafe { (lua.create_c_function(redis_debug)?, lua.create_c_function(redis_breakpoint)?) };
    redis.raw_set("debug", debug)?;
    redis.raw_set("breakpoint", breakpoint)?;
    super::set_table_readonly(lua, &redis, was_readonly)
}

unsafe extern "C-unwind" fn redis_debug(state: *mut ffi::lua_State) -> c_int {
    let texts = Frame::args_text(state);
    if let Some(api) = DEBUG_API.get() {
        let _ = catch_unwind(AssertUnwindSafe(|| (api.debug)(texts)));
    }
    0
}

unsafe extern "C-unwind" fn redis_breakpoint(state: *mut ffi::lua_State) -> c_int {
    let on = DEBUG_API.get().is_some_and(|api| catch_unwind(api.breakpoint).unwrap_or(false));
    // SAFETY: a C function may push its result.
    unsafe { ffi::lua_pushboolean(state, c_int::from(on)) };
    1
}
