//! Builds Lua 5.1.5 for the module: the pristine sources of the registry's `lua-src` crate
//! (the same tree mlua would vendor) with Redis's patches to the core and the fixes for the
//! 2025 Lua CVEs applied here, compiled with `cc` and linked in place of mlua's vendored Lua
//! (mlua-sys feature `external`). Each patch names its anchor; a source that does not match
//! exactly fails the build rather than silently producing an unpatched Lua.

use std::env;
use std::fs;
use std::path::{Path, PathBuf};

/// The lua-src release whose sources we patch (pinned in Cargo.toml's build-dependencies).
const LUA_SRC_DIR: &str = "lua-src-551.0.2";

struct Patch {
    file: &'static str,
    why: &'static str,
    find: &'static str,
    replace: &'static str,
}

const PATCHES: &[Patch] = &[
    // Not in Redis: `a % b` of two integers below 2^52 in magnitude (where `a - floor(a/b)*b`
    // is exact: the quotient's rounding cannot reach the next integer, and q*b and the
    // difference stay below 2^53) by an integer remainder instead of a division and a call to
    // floor. The same value, sign of zero included; other operands take Lua's formula.
    Patch {
        file: "luaconf.h",
        why: "integer a % b without floor",
        find: "#define luai_nummod(a,b)\t((a) - floor((a)/(b))*(b))\n",
        replace: "static inline double lua_alt_nummod (double a, double b) {\n  if (a > -4503599627370496.0 && a < 4503599627370496.0 &&\n      b > -4503599627370496.0 && b < 4503599627370496.0 && b != 0 &&\n      a == (double)(long long)a && b == (double)(long long)b) {\n    long long x = (long long)a, y = (long long)b, r = x % y;\n    if (r != 0 && ((r < 0) != (y < 0)))\n      r += y;\n    return (double)r;\n  }\n  return a - floor(a/b)*b;\n}\n#define luai_nummod(a,b)\t(lua_alt_nummod((a), (b)))\n",
    },
    // Not in Redis: a number becomes the string "%.14g" makes of it (concatenation, tostring,
    // lua_tolstring), but one that is a plain integer below 10^14 (what "%.14g" writes as its
    // digits alone) is written digit by digit instead of through sprintf (about 100
    // instructions each): `'key:' .. i` in a loop. The same bytes for every number.
    Patch {
        file: "lvm.c",
        why: "integers become strings without sprintf",
        find: "int luaV_tostring (lua_State *L, StkId obj) {\n  if (!ttisnumber(obj))\n    return 0;\n  else {\n    char s[LUAI_MAXNUMBER2STR];\n    lua_Number n = nvalue(obj);\n    lua_number2str(s, n);\n    setsvalue2s(L, obj, luaS_new(L, s));\n",
        replace: "/* redis-alt: writes what lua_number2str (sprintf \"%.14g\") writes for n, and returns its\n   length; an integral n with |n| < 10^14 other than -0 is written as its digits (what %.14g\n   writes for it) without sprintf. */\nstatic size_t alt_number2str (char *s, lua_Number n) {\n  if (n > -1e14 && n < 1e14 && n == (lua_Number)(long long)n && !(n == 0 && signbit(n))) {\n    char digits[16];\n    int d = 0;\n    size_t len = 0;\n    long long v = (long long)n;\n    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;\n    if (v < 0)\n      s[len++] = '-';\n    do {\n      digits[d++] = (char)('0' + (int)(u % 10));\n      u /= 10;\n    } while (u != 0);\n    while (d > 0)\n      s[len++] = digits[--d];\n    s[len] = '\\0';\n    return len;\n  }\n  lua_number2str(s, n);\n  return strlen(s);\n}\n\n\nint luaV_tostring (lua_State *L, StkId obj) {\n  if (!ttisnumber(obj))\n    return 0;\n  else {\n    char s[LUAI_MAXNUMBER2STR];\n    lua_Number n = nvalue(obj);\n    size_t len = alt_number2str(s, n);\n    setsvalue2s(L, obj, luaS_newlstr(L, s, len));\n",
    },
    Patch {
        file: "lvm.c",
        why: "integers become strings without sprintf: signbit",
        find: "#include <stdio.h>\n",
        replace: "#include <math.h>\n#include <stdio.h>\n",
    },
    // Not in Redis: string.rep of a size the memory limit cannot hold fails at once with a
    // memory error, instead of growing a buffer piece by piece up to the limit first; and a
    // large result is built by doubling copies in place, in the block that becomes the string
    // (luaL_Buffer's piecewise concatenation took 10 s for 300 MB and peaked at twice its
    // size). Same result, same errors.
    Patch {
        file: "lstrlib.c",
        why: "string.rep checks its size against the memory limit first",
        find: "  int n = luaL_checkint(L, 2);\n  luaL_buffinit(L, &b);\n  while (n-- > 0)\n",
        replace: "  int n = luaL_checkint(L, 2);\n  if (n > 0 && l > 0) {\n    size_t need = ((size_t)n > ((size_t)-1) / l) ? (size_t)-1 : (size_t)n * l;\n    if (lua_alt_memory_room != 0) {\n      size_t used = (size_t)lua_gc(L, LUA_GCCOUNT, 0) * 1024 + (size_t)lua_gc(L, LUA_GCCOUNTB, 0);\n      if (!lua_alt_memory_room(used, need)) {\n        lua_pushliteral(L, \"not enough memory\");\n        lua_error(L);\n      }\n    }\n    if (need >= 65536 && need != (size_t)-1) {\n      char *block = lua_alt_strbuf(L, NULL, 0, need);\n      int in_place = block != NULL;\n      size_t filled = l;\n      if (!in_place)\n        block = (char *)lua_newuserdata(L, need);\n      memcpy(block, s, l);\n      while (filled < need) {\n        size_t chunk = filled <= need - filled ? filled : need - filled;\n        memcpy(block + filled, block, chunk);\n        filled += chunk;\n      }\n      if (in_place)\n        lua_alt_pushadopted(L, block, need);\n      else\n        lua_pushlstring(L, block, need);\n      return 1;\n    }\n  }\n  luaL_buffinit(L, &b);\n  while (n-- > 0)\n",
    },
    Patch {
        file: "lstrlib.c",
        why: "string.rep checks its size against the memory limit first: the callback",
        find: "static int str_rep (lua_State *L) {\n",
        replace: "/* Set by the module: may `need` more bytes be allocated by a VM using `used`? */\nint (*lua_alt_memory_room)(size_t used, size_t need) = 0;\n\n/* Strings written in place (lstring.c, lapi.c). */\nchar *lua_alt_strbuf (lua_State *L, char *data, size_t ocap, size_t ncap);\nLUA_API void lua_alt_pushadopted (lua_State *L, char *data, size_t len);\n\nstatic int str_rep (lua_State *L) {\n",
    },
    // Not in Redis: the module learns of every failed allocation, so that a run that hit
    // `alt.script-memory-limit` ends with that error whatever the script catches.
    Patch {
        file: "lmem.c",
        why: "failed allocations are reported to the module",
        find: "  if (block == NULL && nsize > 0)\n    luaD_throw(L, LUA_ERRMEM);\n",
        replace: "  if (block == NULL && nsize > 0) {\n    if (lua_alt_memory_error != 0)\n      lua_alt_memory_error(L);\n    luaD_throw(L, LUA_ERRMEM);\n  }\n",
    },
    Patch {
        file: "lmem.c",
        why: "failed allocations are reported to the module: the callback",
        find: "void *luaM_realloc_ (lua_State *L, void *block, size_t osize, size_t nsize) {\n",
        replace: "/* Set by the module; called before a memory error is raised. */\nvoid (*lua_alt_memory_error)(lua_State *L) = 0;\n\nvoid *luaM_realloc_ (lua_State *L, void *block, size_t osize, size_t nsize) {\n",
    },
    // Not in Redis: an error raised by a hook (a kill, the time limit) leaves the hook for
    // good, but Lua 5.1 calls the error handler before unwinding, still with hooks disabled, so
    // an xpcall handler that loops could never be interrupted again (native 7.0 freezes there).
    Patch {
        file: "ldebug.c",
        why: "error handlers run with hooks enabled, also after a hook raised",
        find: "    if (!ttisfunction(errfunc)) luaD_throw(L, LUA_ERRERR);\n",
        replace: "    if (!ttisfunction(errfunc)) luaD_throw(L, LUA_ERRERR);\n    L->allowhook = 1;  /* a hook that raises has ended */\n",
    },
    // Read-only tables (Redis deps/lua): a flag on every table, checked on every write path.
    Patch {
        file: "lobject.h",
        why: "read-only tables: the flag",
        find: "  lu_byte flags;  /* 1<<p means tagmethod(p) is not present */ \n",
        replace: "  lu_byte flags;  /* 1<<p means tagmethod(p) is not present */ \n  int readonly;\n",
    },
    Patch {
        file: "ltable.c",
        why: "read-only tables: new tables are writable",
        find: "  t->flags = cast_byte(~0);\n",
        replace: "  t->flags = cast_byte(~0);\n  t->readonly = 0;\n",
    },
    Patch {
        file: "lvm.c",
        why: "read-only tables: assignments (t[k] = v, globals), checked before __newindex",
        find: "      Table *h = hvalue(t);\n      TValue *oldval = luaH_set(L, h, key); /* do a primitive set */\n",
        replace: "      Table *h = hvalue(t);\n      if (h->readonly)\n        luaG_runerror(L, \"Attempt to modify a readonly table\");\n      TValue *oldval = luaH_set(L, h, key); /* do a primitive set */\n",
    },
    // Not in Redis: whether a table has a hash part, so that a script's result array made
    // without one (every string key lives there) is written without probing for the special
    // fields (`err`, `ok`, `map`...) one by one (host::call_run).
    Patch {
        file: "ltable.c",
        why: "whether a table has a hash part",
        find: "Table *luaH_new (lua_State *L, int narray, int nhash) {\n",
        replace: "/* redis-alt: whether the table has a hash part (all its string keys live there). */\nint luaH_alt_hashpart (const Table *t) {\n  return t->node != dummynode;\n}\n\n\nTable *luaH_new (lua_State *L, int narray, int nhash) {\n",
    },
    Patch {
        file: "lapi.c",
        why: "whether a table has a hash part, and reusing an array table: the API",
        find: "LUA_API int lua_gettop (lua_State *L) {\n",
        replace: "/* redis-alt: 1 if the value at idx is a table with a hash part (ltable.c). */\nint luaH_alt_hashpart (const Table *t);\n\nLUA_API int lua_alt_hashpart (lua_State *L, int idx) {\n  StkId o = index2adr(L, idx);\n  return ttistable(o) && luaH_alt_hashpart(hvalue(o));\n}\n\n\n/* redis-alt: a raw library function's argument read in one step: the string at idx (1..top),\n   never converted (its bytes and length), or NULL for any other value. */\nLUA_API const char *lua_alt_string_at (lua_State *L, int idx, size_t *len) {\n  StkId o;\n  if (idx < 1 || idx > L->top - L->base) return NULL;\n  o = L->base + (idx - 1);\n  if (!ttisstring(o)) return NULL;\n  *len = tsvalue(o)->len;\n  return svalue(o);\n}\n\n/* redis-alt: the value at idx (1..top) as lua_isnumber and lua_tonumber read it (a number, or\n   a string Lua reads as one; nothing stored): 1 and *n, or 0. */\nLUA_API int lua_alt_number_at (lua_State *L, int idx, lua_Number *n) {\n  TValue tmp;\n  const TValue *o;\n  if (idx < 1 || idx > L->top - L->base) return 0;\n  o = luaV_tonumber(L->base + (idx - 1), &tmp);\n  if (o == NULL) return 0;\n  *n = nvalue(o);\n  return 1;\n}\n\n/* redis-alt: a value read where it lies, for lua_alt_value_at and lua_alt_array_item: its\n   type; a string's bytes and length in *s and *len; a number, or a boolean's truth (1 or 0),\n   in *num; for a light userdata, 1 in *num when it is NULL. */\nstatic int alt_read_value (const TValue *v, const char **s, size_t *len, lua_Number *num) {\n  switch (ttype(v)) {\n    case LUA_TSTRING: *s = svalue(v); *len = tsvalue(v)->len; break;\n    case LUA_TNUMBER: *num = nvalue(v); break;\n    case LUA_TBOOLEAN: *num = (lua_Number)bvalue(v); break;\n    case LUA_TLIGHTUSERDATA: *num = pvalue(v) == NULL ? 1 : 0; break;\n    default: break;\n  }\n  return ttype(v);\n}\n\n/* redis-alt: element n of the table at idx read where it lies (nothing pushed, no metamethod):\n   its type (LUA_TNIL past the end, LUA_TNONE if idx is no table); a string's bytes and length\n   in *s and *len, valid while the table holds it; a number's value, or a boolean's truth (1 or\n   0), in *num. */\nLUA_API int lua_alt_array_item (lua_State *L, int idx, int n, const char **s, size_t *len, lua_Number *num) {\n  StkId o = index2adr(L, idx);\n  Table *t;\n  if (!ttistable(o)) return LUA_TNONE;\n  t = hvalue(o);\n  if ((unsigned int)(n - 1) < (unsigned int)t->sizearray)\n    return alt_read_value(&t->array[n - 1], s, len, num);\n  return alt_read_value(luaH_getnum(t, n), s, len, num);\n}\n\n/* redis-alt: t[n] = the string of len bytes at s, t the table on top of the stack, as\n   lua_pushlstring then lua_rawseti(L, -1, n) do it; straight into t's array part when n is in\n   it (nothing can collect the new string before it is stored: no GC step comes between). */\nLUA_API void lua_alt_seti_string (lua_State *L, int n, const char *s, size_t len) {\n  Table *t;\n  TValue *slot;\n  luaC_checkGC(L);\n  t = hvalue(L->top - 1);\n  if (!t->readonly && (unsigned int)(n - 1) < (unsigned int)t->sizearray) {\n    slot = &t->array[n - 1];\n    setsvalue(L, slot, luaS_newlstr(L, s, len));\n    luaC_barriert(L, t, slot);\n    return;\n  }\n  lua_pushlstring(L, s, len);\n  lua_rawseti(L, -2, n);\n}\n\n/* redis-alt: the light userdata that is upvalue 1 of the running C function (a raw library\n   function's Rust function), or NULL. */\nLUA_API void *lua_alt_upvalue_pointer (lua_State *L) {\n  Closure *f = curr_func(L);\n  if (!f->c.isC || f->c.nupvalues < 1 || !ttislightuserdata(&f->c.upvalue[0])) return NULL;\n  return pvalue(&f->c.upvalue[0]);\n}\n\n/* redis-alt: the value at stack index idx read in one call: its type (LUA_TNONE past the top);\n   a string's bytes and length in *s and *len (valid while it stays there); a number, or a\n   boolean's truth (1 or 0), in *num; for a light userdata, 1 in *num when it is NULL. */\nLUA_API int lua_alt_value_at (lua_State *L, int idx, const char **s, size_t *len, lua_Number *num) {\n  StkId o = index2adr(L, idx);\n  if (o == luaO_nilobject) return LUA_TNONE;\n  return alt_read_value(o, s, len, num);\n}\n\n/* redis-alt: how many results the caller of the running C function takes (LUA_MULTRET: all);
   0 for a call made as a statement. */\nLUA_API int lua_alt_wanted (lua_State *L) {\n  return L->ci->nresults;\n}\n\n/* redis-alt: makes the table at idx what lua_createtable(L, size, 0) makes (no metatable,\n   no hash part, `size` array slots, all nil) if that needs no allocation: it has no\n   metatable, no hash part, is not read-only and its array part has exactly `size` slots.\n   Returns 1 then, 0 having changed nothing otherwise. Clearing needs no GC barrier. */\nLUA_API int lua_alt_reuse_array (lua_State *L, int idx, int size) {\n  StkId o = index2adr(L, idx);\n  Table *t;\n  int i;\n  if (!ttistable(o)) return 0;\n  t = hvalue(o);\n  if (t->readonly || t->metatable != NULL || t->sizearray != size || luaH_alt_hashpart(t))\n    return 0;\n  for (i = 0; i < size; i++)\n    setnilvalue(&t->array[i]);\n  t->flags = cast_byte(~0);\n  return 1;\n}\n\n\nLUA_API int lua_gettop (lua_State *L) {\n",
    },
    // Not in Redis: the encoders walk nested tables on the Lua stack (host::Reader) holding
    // Rust state that must not be skipped by a longjmp, so the stack grows without raising.
    Patch {
        file: "lapi.c",
        why: "a lua_checkstack that never raises; table building operations run protected",
        find: "LUA_API int lua_checkstack (lua_State *L, int size) {\n",
        replace: "/* redis-alt: one operation of a decoder building tables (host::Builder) or of a raw library\n   function (host::Call), run protected so\n   that its Lua error (a failed allocation, `table index is nil`) comes back as a status\n   instead of a longjmp through the Rust frames: 0, or the status with the stack back where\n   it was plus, for LUA_ERRRUN, the error value. No error handler runs (errfunc is cleared):\n   the error is raised again, once, by the function's wrapper. lua_alt_protected_call runs any\n   such function `f(L, ud)` the same way. */\nLUA_API void lua_alt_pushadopted (lua_State *L, char *data, size_t len);\n\nstruct alt_op {\n  int op;\n  int idx;\n  lua_Integer n;\n  const char *s;\n  size_t len;\n};\n\nstatic void alt_run_op (lua_State *L, void *ud) {\n  struct alt_op *o = (struct alt_op *)ud;\n  switch (o->op) {\n    case 0: lua_createtable(L, (int)o->n, o->idx); break;\n    case 1: lua_pushlstring(L, o->s, o->len); break;\n    case 2: lua_rawset(L, o->idx); break;\n    case 3: lua_rawseti(L, o->idx, (int)o->n); break;\n    case 4: lua_tolstring(L, o->idx, NULL); break;\n    case 5: lua_alt_pushadopted(L, (char *)o->s, o->len); break;\n    case 6: lua_pushlstring(L, o->s, o->len); lua_rawseti(L, o->idx, (int)o->n); break;\n    case 7: lua_pushlstring(L, o->s, o->len); lua_rawset(L, o->idx); break;\n    case 8: {  /* t[s] = the number whose bits are n */\n      lua_Number d;\n      memcpy(&d, &o->n, sizeof(d));\n      lua_pushlstring(L, o->s, o->len);\n      lua_pushnumber(L, d);\n      lua_rawset(L, o->idx);\n      break;\n    }\n  }\n}\n\n/* redis-alt: lua_rawseti when it cannot allocate (nor raise): the table already has a slot\n   for `n` (its array part, or an existing key), so luaH_setnum would return it. Returns 0,\n   having done nothing, otherwise: the caller then runs the protected lua_rawseti. */\nLUA_API int lua_alt_rawseti_inplace (lua_State *L, int idx, int n) {\n  StkId o = index2adr(L, idx);\n  Table *t;\n  const TValue *p;\n  if (!ttistable(o)) return 0;\n  t = hvalue(o);\n  if (t->readonly) return 0;\n  p = luaH_getnum(t, n);\n  if (p == luaO_nilobject) return 0;\n  setobj2t(L, cast(TValue *, p), L->top-1);\n  luaC_barriert(L, t, L->top-1);\n  L->top--;\n  return 1;\n}\n\nLUA_API int lua_alt_protected_call (lua_State *L, void (*f)(lua_State *L, void *ud), void *ud) {\n  ptrdiff_t old_top = savestack(L, L->top);\n  ptrdiff_t old_ci = saveci(L, L->ci);\n  ptrdiff_t old_errfunc = L->errfunc;\n  unsigned short old_nCcalls = L->nCcalls;\n  lu_byte old_allowhook = L->allowhook;\n  int status;\n  L->errfunc = 0;\n  status = luaD_rawrunprotected(L, f, ud);\n  L->errfunc = old_errfunc;\n  if (status != 0) {\n    StkId top = restorestack(L, old_top);\n    if (status == LUA_ERRRUN && L->top > top) {\n      setobjs2s(L, top, L->top - 1);\n      L->top = top + 1;\n    } else {\n      L->top = top;\n    }\n    L->ci = restoreci(L, old_ci);\n    L->base = L->ci->base;\n    L->nCcalls = old_nCcalls;\n    L->allowhook = old_allowhook;\n  }\n  return status;\n}\n\n/* redis-alt: lua_pcall of the function on top of the stack (nresults, errfunc as lua_pcall's)\n   with the arguments `fill(L, ud)` pushes above it, both in one protected call: the run's\n   entry (host::call_run) fills KEYS and ARGV and calls the script with one setjmp. `fill`\n   may raise only memory errors (no message handler runs for those), which come back as a\n   status as lua_pcall's would. */\nstruct alt_fill_call {\n  void (*fill)(lua_State *L, void *ud);\n  void *ud;\n  ptrdiff_t func;\n  int nresults;\n};\n\nstatic void alt_f_fill_call (lua_State *L, void *ud) {\n  struct alt_fill_call *c = (struct alt_fill_call *)ud;\n  c->fill(L, c->ud);\n  luaD_call(L, restorestack(L, c->func), c->nresults);\n}\n\n/* redis-alt: registry[a], registry[b] and registry[c] pushed in one call (the run's entry:\n   its handler, kept tables and script), as three lua_rawgeti(L, LUA_REGISTRYINDEX, ...) do;\n   the caller has checked the stack's room. */\nLUA_API void lua_alt_push_refs (lua_State *L, int a, int b, int c) {\n  Table *r = hvalue(registry(L));\n  setobj2s(L, L->top, luaH_getnum(r, a));\n  api_incr_top(L);\n  setobj2s(L, L->top, luaH_getnum(r, b));\n  api_incr_top(L);\n  setobj2s(L, L->top, luaH_getnum(r, c));\n  api_incr_top(L);\n}\n\nLUA_API int lua_alt_pcall_filled (lua_State *L, int nresults, int errfunc, void (*fill)(lua_State *L, void *ud), void *ud) {\n  struct alt_fill_call c;\n  ptrdiff_t ef = 0;\n  if (errfunc != 0)\n    ef = savestack(L, index2adr(L, errfunc));\n  c.fill = fill;\n  c.ud = ud;\n  c.func = savestack(L, L->top - 1);\n  c.nresults = nresults;\n  return luaD_pcall(L, alt_f_fill_call, &c, c.func, ef);\n}\n\nLUA_API int lua_alt_protected (lua_State *L, int op, int idx, lua_Integer n, const char *s, size_t len) {\n  struct alt_op o;\n  o.op = op;\n  o.idx = idx;\n  o.n = n;\n  o.s = s;\n  o.len = len;\n  return lua_alt_protected_call(L, alt_run_op, &o);\n}\n\n/* redis-alt: room for `size` more values on the stack, as lua_checkstack, but a failed\n   allocation returns 0 instead of raising (the old stack stays as it was). */\nstatic void alt_growstack (lua_State *L, void *ud) {\n  luaD_checkstack(L, *(int *)ud);\n}\n\nLUA_API int lua_alt_checkstack (lua_State *L, int size) {\n  if (size < 0 || size > LUAI_MAXCSTACK || (L->top - L->base + size) > 2 * LUAI_MAXCSTACK)\n    return 0;\n  /* Where the stack has the room already luaD_checkstack does nothing: no protected call. */\n  if ((char *)L->stack_last - (char *)L->top <= size * (int)sizeof(TValue) &&\n      luaD_rawrunprotected(L, alt_growstack, &size) != 0)\n    return 0;\n  if (L->ci->top < L->top + size)\n    L->ci->top = L->top + size;\n  return 1;\n}\n\n\nLUA_API int lua_checkstack (lua_State *L, int size) {\n",
    },
    Patch {
        file: "lapi.c",
        why: "read-only tables: rawset",
        find: "  api_check(L, ttistable(t));\n  setobj2t(L, luaH_set(L, hvalue(t), L->top-2), L->top-1);\n",
        replace: "  api_check(L, ttistable(t));\n  if (hvalue(t)->readonly)\n    luaG_runerror(L, \"Attempt to modify a readonly table\");\n  setobj2t(L, luaH_set(L, hvalue(t), L->top-2), L->top-1);\n",
    },
    Patch {
        file: "lapi.c",
        why: "read-only tables: rawseti (table.insert, table.sort, ...)",
        find: "  api_check(L, ttistable(o));\n  setobj2t(L, luaH_setnum(L, hvalue(o), n), L->top-1);\n",
        replace: "  api_check(L, ttistable(o));\n  if (hvalue(o)->readonly)\n    luaG_runerror(L, \"Attempt to modify a readonly table\");\n  setobj2t(L, luaH_setnum(L, hvalue(o), n), L->top-1);\n",
    },
    Patch {
        file: "lapi.c",
        why: "read-only tables: setmetatable",
        find: "  switch (ttype(obj)) {\n    case LUA_TTABLE: {\n      hvalue(obj)->metatable = mt;\n",
        replace: "  switch (ttype(obj)) {\n    case LUA_TTABLE: {\n      if (hvalue(obj)->readonly)\n        luaG_runerror(L, \"Attempt to modify a readonly table\");\n      hvalue(obj)->metatable = mt;\n",
    },
    Patch {
        file: "lapi.c",
        why: "read-only tables: the API that sets and reads the flag",
        find: "LUA_API void *lua_newuserdata (lua_State *L, size_t size) {\n",
        replace: "LUA_API void lua_enablereadonlytable (lua_State *L, int objindex, int enabled) {\n  const TValue *o = index2adr(L, objindex);\n  api_check(L, ttistable(o));\n  hvalue(o)->readonly = enabled;\n}\n\n\nLUA_API int lua_isreadonlytable (lua_State *L, int objindex) {\n  const TValue *o = index2adr(L, objindex);\n  api_check(L, ttistable(o));\n  return hvalue(o)->readonly;\n}\n\n\nLUA_API void *lua_newuserdata (lua_State *L, size_t size) {\n",
    },
    Patch {
        file: "lua.h",
        why: "read-only tables: declarations",
        find: "LUA_API void *(lua_newuserdata) (lua_State *L, size_t sz);\n",
        replace: "LUA_API void *(lua_newuserdata) (lua_State *L, size_t sz);\nLUA_API void lua_enablereadonlytable (lua_State *L, int index, int enabled);\nLUA_API int lua_isreadonlytable (lua_State *L, int index);\n",
    },
    // Redis hashes every byte of a string (upstream skips bytes of long strings): same hash,
    // same table layout, so `pairs` order (map/set replies, cjson key order) matches.
    Patch {
        file: "lstring.c",
        why: "string hash over every byte, as Redis",
        find: "  size_t step = (l>>5)+1;  /* if string is too long, don't hash all its chars */\n",
        replace: "  size_t step = 1;  /* Redis: hash every byte */\n",
    },
    // Not in Redis: encoders (cjson, cmsgpack, struct) write their output in place into the
    // block that becomes the Lua string, instead of building it outside and copying it in:
    // a 2 GB result no longer needs 4 GB. Interned exactly as luaS_newlstr.
    Patch {
        file: "lstring.c",
        why: "strings written in place: the buffer and its adoption",
        find: "Udata *luaS_newudata (lua_State *L, size_t s, Table *e) {\n",
        replace: "/* redis-alt: strings written in place. An encoder writes its output into a block from the\n   VM's allocator with room for the TString header in front (lua_alt_strbuf), then the block\n   becomes the string (lua_alt_pushadopted): no second copy of a large result. */\n\n/* Resizes the block whose data part (after the header) holds `ocap` bytes (`data` NULL: no\n   block yet) to hold `ncap` bytes and the ending 0 (`ncap` 0: frees it), through the VM's\n   allocator and its byte count. Never raises: NULL when the allocator refuses (the old block\n   stays as it was). */\nchar *lua_alt_strbuf (lua_State *L, char *data, size_t ocap, size_t ncap) {\n  global_State *g = G(L);\n  void *block = data ? (void *)(data - sizeof(TString)) : NULL;\n  size_t osize = data ? sizeof(TString) + ocap + 1 : 0;\n  size_t nsize;\n  void *nb;\n  if (ncap > MAX_SIZET - sizeof(TString) - 1)\n    return NULL;\n  nsize = ncap ? sizeof(TString) + ncap + 1 : 0;\n  if (block == NULL && nsize == 0)\n    return NULL;\n  nb = (*g->frealloc)(g->ud, block, osize, nsize);\n  if (nsize > 0 && nb == NULL)\n    return NULL;\n  g->totalbytes = (g->totalbytes - osize) + nsize;\n  return nsize ? (char *)nb + sizeof(TString) : NULL;\n}\n\n/* The string of `l` bytes written at `data` (a lua_alt_strbuf block of exactly l bytes),\n   interned as luaS_newlstr interns (the same hash and lookup), so that equal strings stay one\n   object; if an equal string exists, the block is freed and that string returned. */\nTString *luaS_alt_adopt (lua_State *L, char *data, size_t l) {\n  GCObject *o;\n  TString *ts = cast(TString *, data) - 1;\n  stringtable *tb;\n  unsigned int h = cast(unsigned int, l);  /* seed */\n  size_t step = 1;  /* Redis: hash every byte, as luaS_newlstr */\n  size_t l1;\n  for (l1=l; l1>=step; l1-=step)  /* compute hash */\n    h = h ^ ((h<<5)+(h>>2)+cast(unsigned char, data[l1-1]));\n  for (o = G(L)->strt.hash[lmod(h, G(L)->strt.size)];\n       o != NULL;\n       o = o->gch.next) {\n    TString *e = rawgco2ts(o);\n    if (e->tsv.len == l && (memcmp(data, getstr(e), l) == 0)) {\n      if (isdead(G(L), o)) changewhite(o);\n      luaM_freemem(L, ts, (l+1)*sizeof(char)+sizeof(TString));\n      return e;\n    }\n  }\n  ts->tsv.len = l;\n  ts->tsv.hash = h;\n  ts->tsv.marked = luaC_white(G(L));\n  ts->tsv.tt = LUA_TSTRING;\n  ts->tsv.reserved = 0;\n  data[l] = '\\0';\n  tb = &G(L)->strt;\n  h = lmod(h, tb->size);\n  ts->tsv.next = tb->hash[h];\n  tb->hash[h] = obj2gco(ts);\n  tb->nuse++;\n  if (tb->nuse > cast(lu_int32, tb->size) && tb->size <= MAX_INT/2)\n    luaS_resize(L, tb->size*2);  /* too crowded */\n  return ts;\n}\n\n\nUdata *luaS_newudata (lua_State *L, size_t s, Table *e) {\n",
    },
    Patch {
        file: "lapi.c",
        why: "strings written in place: pushing one",
        find: "LUA_API void lua_pushstring (lua_State *L, const char *s) {\n",
        replace: "/* redis-alt: pushes the string written in place at `data` (see luaS_alt_adopt in\n   lstring.c), which owns the block from here on; the GC step comes after, as the string is\n   already safe on the stack. */\nTString *luaS_alt_adopt (lua_State *L, char *data, size_t l);\n\nLUA_API void lua_alt_pushadopted (lua_State *L, char *data, size_t len) {\n  lua_lock(L);\n  setsvalue2s(L, L->top, luaS_alt_adopt(L, data, len));\n  api_incr_top(L);\n  luaC_checkGC(L);\n  lua_unlock(L);\n}\n\n\nLUA_API void lua_pushstring (lua_State *L, const char *s) {\n",
    },
    // CVE-2015-4335: Lua 5.1 has no bytecode verifier. Redis always runs the text parser.
    Patch {
        file: "ldo.c",
        why: "no bytecode loading (CVE-2015-4335)",
        find: "  int c = luaZ_lookahead(p->z);\n  luaC_checkGC(L);\n  tf = ((c == LUA_SIGNATURE[0]) ? luaU_undump : luaY_parser)(L, p->z,\n",
        replace: "  luaZ_lookahead(p->z);\n  luaC_checkGC(L);\n  tf = (luaY_parser)(L, p->z,\n",
    },
    // CVE-2025-49844: the chunk name string was not anchored while the parser allocates, so
    // a GC step could free it (use-after-free). Keep it on the stack for the whole parse.
    Patch {
        file: "lparser.c",
        why: "anchor the chunk name during parsing (CVE-2025-49844)",
        find: "  lexstate.buff = buff;\n  luaX_setinput(L, &lexstate, z, luaS_new(L, name));\n",
        replace: "  TString *tname = luaS_new(L, name);\n  setsvalue2s(L, L->top, tname);\n  incr_top(L);\n  lexstate.buff = buff;\n  luaX_setinput(L, &lexstate, z, tname);\n",
    },
    Patch {
        file: "lparser.c",
        why: "release the anchored chunk name (CVE-2025-49844)",
        find: "  lua_assert(lexstate.fs == NULL);\n  return funcstate.f;\n",
        replace: "  lua_assert(lexstate.fs == NULL);\n  --L->top;  /* the anchored chunk name */\n  return funcstate.f;\n",
    },
    // CVE-2025-46817: `e - i + 1` overflowed int (undefined behaviour; the `n <= 0` guard
    // could be optimised away). Count in unsigned arithmetic and cap it.
    Patch {
        file: "lbaselib.c",
        why: "unpack range without signed overflow (CVE-2025-46817)",
        find: "  int i, e, n;\n  luaL_checktype(L, 1, LUA_TTABLE);\n  i = luaL_optint(L, 2, 1);\n  e = luaL_opt(L, luaL_checkint, 3, luaL_getn(L, 1));\n  if (i > e) return 0;  /* empty range */\n  n = e - i + 1;  /* number of elements */\n  if (n <= 0 || !lua_checkstack(L, n))  /* n <= 0 means arith. overflow */\n    return luaL_error(L, \"too many results to unpack\");\n  lua_rawgeti(L, 1, i);  /* push arg[i] (avoiding overflow problems) */\n  while (i++ < e)  /* push arg[i + 1...e] */\n    lua_rawgeti(L, 1, i);\n  return n;\n",
        replace: "  int i, e;\n  unsigned int n, k;\n  luaL_checktype(L, 1, LUA_TTABLE);\n  i = luaL_optint(L, 2, 1);\n  e = luaL_opt(L, luaL_checkint, 3, luaL_getn(L, 1));\n  if (i > e) return 0;  /* empty range */\n  n = (unsigned int)e - (unsigned int)i;  /* number of elements minus 1 */\n  if (n >= (unsigned int)INT_MAX || !lua_checkstack(L, (int)(++n)))\n    return luaL_error(L, \"too many results to unpack\");\n  for (k = 0; k < n; k++)  /* push arg[i...e] */\n    lua_rawgeti(L, 1, (int)((unsigned int)i + k));\n  return (int)n;\n",
    },
    // CVE-2025-46819: `skip_sep` counted `=` signs in an int and encoded a malformed
    // delimiter as a negative count; an overflowing count reads as a valid level and the
    // string is then cut out of the buffer at a wild offset. Count in size_t and encode the
    // outcome unambiguously: level n is n + 2, a lone bracket 1, a malformed delimiter 0.
    Patch {
        file: "llex.c",
        why: "delimiter level without int overflow (CVE-2025-46819): skip_sep",
        find: "static int skip_sep (LexState *ls) {\n  int count = 0;\n  int s = ls->current;\n  lua_assert(s == '[' || s == ']');\n  save_and_next(ls);\n  while (ls->current == '=') {\n    save_and_next(ls);\n    count++;\n  }\n  return (ls->current == s) ? count : (-count) - 1;\n}\n",
        replace: "static size_t skip_sep (LexState *ls) {\n  size_t count = 0;\n  int s = ls->current;\n  lua_assert(s == '[' || s == ']');\n  save_and_next(ls);\n  while (ls->current == '=') {\n    save_and_next(ls);\n    count++;\n  }\n  if (ls->current == s) return count + 2;  /* level n is n + 2 */\n  return (count == 0) ? 1 : 0;  /* lone bracket : malformed */\n}\n",
    },
    Patch {
        file: "llex.c",
        why: "delimiter level without int overflow (CVE-2025-46819): read_long_string",
        find: "static void read_long_string (LexState *ls, SemInfo *seminfo, int sep) {\n",
        replace: "static void read_long_string (LexState *ls, SemInfo *seminfo, size_t sep) {\n",
    },
    Patch {
        file: "llex.c",
        why: "delimiter level without int overflow (CVE-2025-46819): nested [[ check",
        find: "#if LUA_COMPAT_LSTR == 1\n          if (sep == 0)\n",
        replace: "#if LUA_COMPAT_LSTR == 1\n          if (sep == 2)  /* level 0 */\n",
    },
    Patch {
        file: "llex.c",
        why: "delimiter level without int overflow (CVE-2025-46819): string bounds",
        find: "    seminfo->ts = luaX_newstring(ls, luaZ_buffer(ls->buff) + (2 + sep),\n                                     luaZ_bufflen(ls->buff) - 2*(2 + sep));\n",
        replace: "    seminfo->ts = luaX_newstring(ls, luaZ_buffer(ls->buff) + sep,\n                                     luaZ_bufflen(ls->buff) - 2*sep);\n",
    },
    Patch {
        file: "llex.c",
        why: "delimiter level without int overflow (CVE-2025-46819): long comments",
        find: "          int sep = skip_sep(ls);\n          luaZ_resetbuffer(ls->buff);  /* `skip_sep' may dirty the buffer */\n          if (sep >= 0) {\n",
        replace: "          size_t sep = skip_sep(ls);\n          luaZ_resetbuffer(ls->buff);  /* `skip_sep' may dirty the buffer */\n          if (sep >= 2) {\n",
    },
    Patch {
        file: "llex.c",
        why: "delimiter level without int overflow (CVE-2025-46819): long strings",
        find: "        int sep = skip_sep(ls);\n        if (sep >= 0) {\n          read_long_string(ls, seminfo, sep);\n          return TK_STRING;\n        }\n        else if (sep == -1) return '[';\n        else luaX_lexerror(ls, \"invalid long string delimiter\", TK_STRING);\n",
        replace: "        size_t sep = skip_sep(ls);\n        if (sep >= 2) {\n          read_long_string(ls, seminfo, sep);\n          return TK_STRING;\n        }\n        else if (sep == 1) return '[';\n        else luaX_lexerror(ls, \"invalid long string delimiter\", TK_STRING);\n",
    },
    // No CVE, but it kills the host: Lua 5.1's pattern matcher recurses once per pattern
    // item with no limit, so `string.find(s, string.rep('a?', 300000))` overflows the C
    // stack (native 7.0.15 on an 8 MB stack segfaults past 174,511 levels of `a?` or `a-`,
    // 87,236 of `a*`: 48 and 96 bytes a level). Lua 5.2's fixed bound of 200 levels refuses
    // flat patterns native matches, so the bound here is the C stack itself: match() stops
    // once the stack pointer passes a floor 128 KB above the low end of the running thread's
    // stack (pthread_getattr_np, once per thread). It then returns at once through every
    // level, and string.find/match/gmatch/gsub raise `pattern too complex` from their own
    // frame, so neither the error nor the error handlers (which Lua 5.1 runs before it
    // unwinds) run near the floor. The 128 KB are for what may run at the deepest level:
    // the interrupt poll, which may serve clients through RM_Yield (a debug build killed
    // there with a 16 KB margin survives), and signal handlers. Our frames are native's
    // size (48/96 bytes, no frame pointers: see main), so every such pattern native matches
    // matches here too up to ~1.6% below the depth where native crashes.
    Patch {
        file: "lstrlib.c",
        why: "C-stack-bounded pattern matching: headers (pthread_getattr_np is a GNU extension)",
        find: "#include <ctype.h>\n",
        replace: "#ifndef _GNU_SOURCE\n#define _GNU_SOURCE\n#endif\n#include <ctype.h>\n#include <stdint.h>\n#include <pthread.h>\n",
    },
    Patch {
        file: "lstrlib.c",
        why: "C-stack-bounded pattern matching: the floor and the pending error",
        find: "  int level;  /* total number of captures (finished or unfinished) */\n",
        replace: "  int level;  /* total number of captures (finished or unfinished) */\n  uintptr_t alt_floor;  /* match() may not run with its stack pointer below this */\n  const char *alt_abort;  /* error to raise once the match has unwound, or NULL */\n",
    },
    Patch {
        file: "lstrlib.c",
        why: "C-stack-bounded pattern matching: every call to match goes through the check",
        find: "static const char *match (MatchState *ms, const char *s, const char *p) {\n  init: /* using goto's to optimize tail recursion */\n",
        replace: r#"static const char *match_unbounded (MatchState *ms, const char *s, const char *p);

/* Set by the module: polled every 65536 match steps so that a pattern that backtracks for
   minutes stays killable (busy state, ALT.SCRIPT KILL, alt.script-time-limit). */
int (*lua_alt_match_interrupt)(void) = 0;
static unsigned long lua_alt_match_steps = 0;

/* Room kept below the floor, and the most of a huge (unlimited) stack that is used. */
#define LUA_ALT_STACK_MARGIN ((size_t)128 * 1024)
#define LUA_ALT_STACK_MOST ((size_t)1 << 30)

#if defined(__GNUC__) && defined(__x86_64__)
#define LUA_ALT_SP(v) __asm__ volatile ("mov %%rsp, %0" : "=r" (v))
#elif defined(__GNUC__) && defined(__aarch64__)
#define LUA_ALT_SP(v) __asm__ volatile ("mov %0, sp" : "=r" (v))
#else
#define LUA_ALT_SP(v) do { volatile char probe_ = 0; (v) = (uintptr_t)&probe_; } while (0)
#endif

static __thread uintptr_t lua_alt_floor_cache = 0;

/* The lowest stack address match() may run at on this thread. */
static uintptr_t lua_alt_stack_floor (void) {
  uintptr_t floor = lua_alt_floor_cache;
  if (floor == 0) {
    uintptr_t here, low = 0, size = 0;
    pthread_attr_t attr;
    void *addr;
    size_t len;
    LUA_ALT_SP(here);
    if (pthread_getattr_np(pthread_self(), &attr) == 0) {
      if (pthread_attr_getstack(&attr, &addr, &len) == 0) {
        low = (uintptr_t)addr;
        size = len;
      }
      pthread_attr_destroy(&attr);
    }
    if (size > 2 * LUA_ALT_STACK_MARGIN && here > low && here - low <= size) {
      if (size > LUA_ALT_STACK_MOST) low = low + size - LUA_ALT_STACK_MOST;
      floor = low + LUA_ALT_STACK_MARGIN;
    }
    else  /* unknown stack: allow 1 MB below this point */
      floor = here > ((uintptr_t)1 << 20) ? here - ((uintptr_t)1 << 20) : 1;
    lua_alt_floor_cache = floor;
  }
  return floor;
}

/* Sets the floor of the code running on this thread from now on (a second stack: the
   synchronous debugger's fiber) and returns the one it replaces (0: not known yet). */
uintptr_t lua_alt_swap_stack_floor (uintptr_t floor) {
  uintptr_t old = lua_alt_floor_cache;
  lua_alt_floor_cache = floor;
  return old;
}

/* Once ms->alt_abort is set, every level returns at once: any non-NULL result ends the
   callers' loops, and the caller of the first match() raises the error. */
static const char *match (MatchState *ms, const char *s, const char *p) {
  uintptr_t sp;
  if (ms->alt_abort != NULL)
    return ms->src_init;
  LUA_ALT_SP(sp);
  if (sp < ms->alt_floor) {
    ms->alt_abort = "pattern too complex";
    return ms->src_init;
  }
  if ((++lua_alt_match_steps & 0xffff) == 0 && lua_alt_match_interrupt != 0 &&
      lua_alt_match_interrupt()) {
    ms->alt_abort = "Script killed by user with SCRIPT KILL...";
    return ms->src_init;
  }
  return match_unbounded(ms, s, p);
}

/* The outermost match() of string.find/match/gmatch/gsub. */
static const char *lua_alt_match_top (MatchState *ms, const char *s, const char *p) {
  const char *res;
  ms->alt_abort = NULL;
  ms->alt_floor = lua_alt_stack_floor();
  res = match(ms, s, p);
  if (ms->alt_abort != NULL)
    luaL_error(ms->L, "%s", ms->alt_abort);
  return res;
}


static const char *match_unbounded (MatchState *ms, const char *s, const char *p) {
  init: /* using goto's to optimize tail recursion */
"#,
    },
    Patch {
        file: "lstrlib.c",
        why: "C-stack-bounded pattern matching: string.find/match",
        find: "      if ((res=match(&ms, s1, p)) != NULL) {\n",
        replace: "      if ((res=lua_alt_match_top(&ms, s1, p)) != NULL) {\n",
    },
    Patch {
        file: "lstrlib.c",
        why: "C-stack-bounded pattern matching: string.gmatch",
        find: "    if ((e = match(&ms, src, p)) != NULL) {\n",
        replace: "    if ((e = lua_alt_match_top(&ms, src, p)) != NULL) {\n",
    },
    Patch {
        file: "lstrlib.c",
        why: "C-stack-bounded pattern matching: string.gsub",
        find: "    e = match(&ms, src, p);\n",
        replace: "    e = lua_alt_match_top(&ms, src, p);\n",
    },
];

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    // Release builds compile with this profile (scripts/rustc-pgo): a new one rebuilds the crate.
    println!("cargo:rerun-if-changed=pgo/redis-alt.profdata");
    let source = lua_src_sources();
    let out = PathBuf::from(env::var("OUT_DIR").expect("OUT_DIR"));
    let patched = out.join("lua-5.1.5");
    let _ = fs::remove_dir_all(&patched);
    fs::create_dir_all(&patched).expect("create the patched Lua directory");
    for entry in fs::read_dir(&source).expect("read the Lua sources") {
        let path = entry.expect("a Lua source entry").path();
        if let Some(name) = path.file_name() {
            fs::copy(&path, patched.join(name)).expect("copy a Lua source");
        }
    }
    for patch in PATCHES {
        let path = patched.join(patch.file);
        let text = fs::read_to_string(&path).expect("read a Lua source to patch");
        let found = text.matches(patch.find).count();
        assert!(found == 1, "Lua patch '{}': anchor found {found} times in {} (expected once)", patch.why, patch.file);
        fs::write(&path, text.replacen(patch.find, patch.replace, 1)).expect("write a patched Lua source");
    }
    name_sources_relatively(&patched);
    let mut build = cc::Build::new();
    // -O2, as Redis builds its Lua: at cc's default -O3 the interpreter runs 2.7% more
    // instructions per loop iteration (callgrind, pure-Lua bench script) for no gain in time.
    build.opt_level(2);
    // Without frame pointers, as Redis builds its Lua: cc keeps them whenever the profile has
    // debug info (ours do, release too), and they make a pattern-matching level 64 bytes to
    // native's 48, so the stack would hold a quarter fewer levels than native's.
    build.force_frame_pointer(false);
    build.include(&patched).warnings(false).flag_if_supported("-fno-common").define("LUA_USE_LINUX", None);
    // Never LUA_USE_APICHECK: its asserts abort on stack states release Lua (Redis's) handles.
    for entry in fs::read_dir(&patched).expect("read the patched sources") {
        let path = entry.expect("a patched source").path();
        if path.extension().is_some_and(|e| e == "c") {
            build.file(path);
        }
    }
    let plain = build.clone();
    let profiled = lua_profile(&mut build, &out);
    // A profile GCC cannot use never fails the build: Lua is compiled again without it.
    if let Err(e) = build.try_compile("lua5.1-redis-alt") {
        assert!(profiled, "compiling Lua: {e}");
        println!("cargo:warning=Lua compiled without its profile (pgo/lua): {e}");
        plain.compile("lua5.1-redis-alt");
    }
}

/// Each source and header names itself `lua-5.1.5/<file>` (a `#line` at its top) rather
/// than by the absolute path of this build's OUT_DIR: GCC checks a profile's functions
/// against their source file names, and the profile `make pgo` records in one target
/// directory must fit builds in any other, any checkout. (Debug information names the files
/// the same way, relative to the build's directory.)
fn name_sources_relatively(dir: &Path) {
    for entry in fs::read_dir(dir).expect("read the patched sources") {
        let path = entry.expect("a patched source").path();
        let (Some(name), Some(ext)) = (path.file_name().and_then(|n| n.to_str()), path.extension()) else { continue };
        if ext == "c" || ext == "h" {
            let text = fs::read_to_string(&path).expect("read a patched source");
            fs::write(&path, format!("#line 1 \"lua-5.1.5/{name}\"\n{text}")).expect("write a patched source");
        }
    }
}

/// Lua's C is compiled with the profile `make pgo` records beside the module's (pgo/lua: GCC's
/// .gcda files, one per source, and the GCC version that wrote them), in optimised builds
/// (`OPT_LEVEL` 3: `cargo build --release`) by the GCC of that version, unless
/// REDIS_ALT_PGO=off. GCC looks a profile up by the object file's absolute path under the
/// `-fprofile-use` directory: the files are copied there for this build's OUT_DIR. A function
/// whose profile does not match (changed code) is compiled as without one.
/// REDIS_ALT_LUA_PROFILE_GENERATE=<dir> instead instruments Lua to record that profile
/// (make pgo).
fn lua_profile(build: &mut cc::Build, out: &Path) -> bool {
    println!("cargo:rerun-if-env-changed=REDIS_ALT_LUA_PROFILE_GENERATE");
    println!("cargo:rerun-if-env-changed=REDIS_ALT_PGO");
    let recorded = Path::new(env!("CARGO_MANIFEST_DIR")).join("pgo").join("lua");
    println!("cargo:rerun-if-changed={}", recorded.display());
    let compiler = build.get_compiler();
    let gcc_output = |arg: &str| {
        let output = compiler.to_command().arg(arg).output().ok()?;
        let text = String::from_utf8(output.stdout).ok()?;
        output.status.success().then(|| text.trim().to_string())
    };
    if let Ok(dir) = env::var("REDIS_ALT_LUA_PROFILE_GENERATE") {
        assert!(compiler.is_like_gnu(), "the Lua profile is GCC's: compile with GCC");
        // Atomic counters: a lazyfree thread may close a VM while the main thread runs Lua.
        build.flag(format!("-fprofile-generate={dir}")).flag("-fprofile-update=atomic");
        let gcov = gcc_output("-print-file-name=libgcov.a").expect("GCC's libgcov.a");
        let gcov_dir = Path::new(&gcov).parent().expect("libgcov.a's directory");
        println!("cargo:rustc-link-search=native={}", gcov_dir.display());
        println!("cargo:rustc-link-lib=static=gcov");
        return false;
    }
    let optimised = env::var("OPT_LEVEL").is_ok_and(|l| l == "3");
    let wanted = env::var("REDIS_ALT_PGO").map_or(true, |v| v != "off");
    let recorded_by = fs::read_to_string(recorded.join("gcc-version")).ok();
    let ours = if compiler.is_like_gnu() && !compiler.is_like_clang() { gcc_output("-dumpfullversion") } else { None };
    if !optimised || !wanted || recorded_by.is_none() || recorded_by.map(|v| v.trim().to_string()) != ours {
        return false;
    }
    let root = out.join("lua-profile");
    let _ = fs::remove_dir_all(&root);
    let here = root.join(out.strip_prefix("/").unwrap_or(out));
    fs::create_dir_all(&here).expect("create the Lua profile directory");
    for entry in fs::read_dir(&recorded).expect("read pgo/lua") {
        let path = entry.expect("a pgo/lua entry").path();
        if let Some(name) = path.file_name().filter(|_| path.extension().is_some_and(|e| e == "gcda")) {
            fs::copy(&path, here.join(name)).expect("copy a Lua profile");
        }
    }
    // -fprofile-correction: counts that do not add up (a profile of several processes and
    // threads) are smoothed instead of failing the build.
    build
        .flag(format!("-fprofile-use={}", root.display()))
        .flag("-fprofile-correction")
        .flag("-Wno-missing-profile")
        .flag("-Wno-coverage-mismatch");
    true
}

/// `$CARGO_HOME/registry/src/<index>/lua-src-551.0.2/lua-5.1.5`: cargo has unpacked it there
/// because lua-src is one of our build-dependencies.
fn lua_src_sources() -> PathBuf {
    let cargo_home = env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| env::var_os("HOME").map(|h| Path::new(&h).join(".cargo")))
        .expect("CARGO_HOME or HOME");
    let registry = cargo_home.join("registry").join("src");
    let candidates = fs::read_dir(&registry)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", registry.display()))
        .filter_map(|index| index.ok())
        .map(|index| index.path().join(LUA_SRC_DIR).join("lua-5.1.5"))
        .filter(|dir| dir.join("lapi.c").exists());
    let found = candidates.max_by_key(|dir| fs::metadata(dir).and_then(|m| m.modified()).ok());
    let dir = found.unwrap_or_else(|| panic!("{LUA_SRC_DIR} sources not found under {}", registry.display()));
    println!("cargo:rerun-if-changed={}", dir.display());
    dir
}
