//! The Lua environment: the same globals and libraries as the host's scripts, the same
//! global protection, and one regression test per known Lua/Redis scripting CVE (the host
//! carries the fixes, so native is the oracle for the safe behaviour).

mod support;

use support::{eval_same, run_str, Server};

#[test]
fn same_globals_and_library_contents() {
    let server = Server::start();
    let keys = |table: &str| {
        format!("local t = {{}} for k in pairs({table}) do t[#t + 1] = tostring(k) end table.sort(t) return t")
    };
    for table in ["_G", "string", "table", "math", "coroutine", "redis", "bit", "getmetatable('')"] {
        eval_same(&server, &[], &keys(table), &[], &[]);
    }
    for script in [
        "return _VERSION",
        "return type(getfenv)",
        "return type(setfenv)",
        "return type(newproxy)",
        "return type(os)",
        "return type(io)",
        "return type(debug)",
        "return type(require)",
        "return type(package)",
        "return type(module)",
        "return type(print)",
        "return type(__redis__err__handler)",
    ] {
        eval_same(&server, &[], script, &[], &[]);
    }
}

#[test]
fn global_protection() {
    let server = Server::start();
    for script in [
        "return a",
        "a = 10",
        "x = 1 return x",
        "local t = {} t.x = 1 return t.x",
        "function f() end",
        "_G.x = 1",
        "_G = {}",
        "redis = function() return 1 end",
        "redis.call = function() return 1 end",
        "redis.call = nil",
        "string.rep = nil",
        "string.len = function() return 1 end",
        "math.random = nil",
        "table.insert(redis, 1)",
        "table.insert(string, 'x')",
        "rawset(_G, 'x', 1)",
        "rawset(redis, 'call', 1)",
        "setmetatable(_G, nil)",
        "setmetatable(_G, {})",
        "setmetatable(redis, {})",
        "local g = getmetatable(_G) g.__index = {}",
        "getmetatable(_G).__index = function() return 1 end",
        "getmetatable('').__index = {}",
        "getmetatable('').__index.upper = nil",
        "getmetatable('').x = 1",
        "return rawget(_G, 'nosuch')",
        "return rawget(_G, 'redis') == redis",
        "local redis = 5 return redis",
        "KEYS = {}",
        "KEYS[1] = 'ok' return KEYS[1]",
        "ARGV[5] = 'x' return #ARGV",
        "return loadstring('a = 1')()",
        "return loadstring('return 1 + 1')()",
        "local f = loadstring('return x') return f()",
        "return _G[1]",
        "return _G[1.5]",
        "loadfile('x')",
        "dofile('x')",
        "print('x')",
        "local co = coroutine.create(function() y = 1 end) return coroutine.resume(co)",
        "local t = setmetatable({}, {__index = function(t, k) return k end}) return t.abc",
    ] {
        eval_same(&server, &[], script, &["k"], &["a"]);
    }
    // Nothing a script did is visible to the next one.
    let mut con = server.con();
    run_str(&mut con, &["ALT.EVAL", "pcall(function() leaked = 1 end) return 1", "0"]);
    assert!(run_str(&mut con, &["ALT.EVAL", "return leaked", "0"]).contains("nonexistent global variable 'leaked'"));
}

#[test]
fn redis_prng_and_math() {
    let server = Server::start();
    for script in [
        "math.randomseed(10) return tostring(math.random())",
        "math.randomseed(7) return math.random(1000)",
        "math.randomseed(42) return {math.random(10), math.random(-5, 5), math.random(1, 100)}",
        "return math.random(0)",
        "return math.random(5, 1)",
        "return math.random(1, 2, 3)",
        "return math.randomseed()",
        "return tostring(math.huge)",
        "return tostring(math.pi)",
        "return math.floor(3.7) + math.fmod(7, 3)",
    ] {
        eval_same(&server, &[], script, &[], &[]);
    }
}

#[test]
fn bit_library() {
    let server = Server::start();
    for script in [
        "return bit.tobit(0xffffffff)",
        "return bit.lshift(1, 31)",
        "return {bit.band(0xff, 0x0f), bit.bor(1, 2), bit.bxor(3, 1), bit.bnot(0)}",
        "return {bit.rshift(-1, 28), bit.arshift(-256, 4), bit.rol(1, 33), bit.ror(1, 1)}",
        "return bit.bswap(0x12345678)",
        "return {bit.tohex(255), bit.tohex(255, 2), bit.tohex(255, -4), bit.tohex(-1)}",
        "return bit.band()",
        "return bit.band(1, 'x')",
        "return pcall(bit.band)",
        "return pcall(function() return bit.band() end)",
        "return bit.tobit('0x10')",
    ] {
        eval_same(&server, &[], script, &[], &[]);
    }
}

/// CVE-2015-4335: bytecode is never loaded, from any door.
#[test]
fn cve_2015_4335_no_bytecode() {
    let server = Server::start();
    for script in [
        "return loadstring(string.dump(function() return 1 end)) == nil",
        "return loadstring(string.dump(function() return 1 end))()",
        "local f, e = loadstring(string.dump(function() return 1 end)) return e",
        "local f, e = load(function() return nil end) return type(f)",
        "return type(string.dump(function() end))",
    ] {
        eval_same(&server, &[], script, &[], &[]);
    }
    // A bytecode body fails to compile (the body starts with ESC, "Lua", ...).
    let mut con = server.con();
    let reply = run_str(&mut con, &["ALT.EVAL", "\u{1b}LuaQ\u{0}\u{1}\u{4}\u{8}", "0"]);
    assert!(reply.starts_with("-ERR Error compiling script (new function):"), "{reply}");
}

/// CVE-2025-46817: `unpack` range arithmetic cannot overflow.
#[test]
fn cve_2025_46817_unpack() {
    let server = Server::start();
    for script in [
        "return unpack({}, -2, 2147483647)",
        "return unpack({}, 0, 2147483647)",
        "return unpack({}, -2147483648, 2147483647)",
        "return unpack({}, 1, 1e6)",
        "return unpack({}, 1, 1e8)",
        "return {unpack({1, 2, 3}, 2)}",
        "return {unpack({1, 2, 3}, 3, 2)}",
        "return {unpack({1, 2, 3}, 2147483647, 2147483647)}",
    ] {
        eval_same(&server, &[], script, &[], &[]);
    }
}

/// CVE-2025-46819: malformed long-string delimiters give compile errors, never heap bytes.
#[test]
fn cve_2025_46819_lexer() {
    let server = Server::start();
    let long_eq = format!("return [{}", "=".repeat(65536));
    for body in ["return [==[abc", "return [=", "--[==[ x", "return [[", "return [[a]=]", "x = [==[ ]=] ]==", &long_eq]
    {
        eval_same(&server, &[], body, &[], &[]);
        let in_script = format!("local f, e = loadstring({body:?}) return e");
        if body.len() < 100 {
            eval_same(&server, &[], &in_script, &[], &[]);
        }
    }
}

/// CVE-2025-49844: compiling large sources under memory pressure (parser use-after-free).
#[test]
fn cve_2025_49844_parser() {
    let server = Server::start();
    let script = "local s = string.rep('x', 2^20) collectgarbage('collect') for i = 1, 50 do \
                  loadstring('local a = \"' .. string.rep('a', 65536) .. '\"' .. string.rep(' ', 100000)) end return 1";
    eval_same(&server, &[], script, &[], &[]);
    let mut con = server.con();
    for i in 0..20 {
        let body = format!("local a = '{}' return {i}", "b".repeat(100_000));
        assert_eq!(run_str(&mut con, &["ALT.EVAL", &body, "0"]), format!(":{i}"));
    }
}

/// CVE-2025-46818 and CVE-2022-24735/24736: shared tables are frozen, so no script can plant
/// code for another user's script.
#[test]
fn cve_2025_46818_and_2022_24735_shared_state() {
    let server = Server::start();
    for script in [
        "getmetatable('').__index = function() return 'pwned' end",
        "getmetatable('').__index.sub = function() return 'pwned' end",
        "string.sub = function() return 'pwned' end",
        "rawset(getmetatable(''), '__index', {})",
        "setmetatable(getmetatable(''), {})",
        "return ('abc'):sub(1, 1)",
    ] {
        eval_same(&server, &[], script, &[], &[]);
    }
}

/// CVE-2024-46981: a flush with finalizers pending never runs commands outside a script.
#[test]
fn cve_2024_46981_gc_on_flush() {
    let server = Server::start();
    let script = "local p = newproxy(true) getmetatable(p).__gc = function() redis.call('set','gc','1') end _G.keep = p return 1";
    eval_same(&server, &[], script, &[], &[]);
    let mut con = server.con();
    run_str(
        &mut con,
        &["ALT.EVAL", "local t = setmetatable({}, {__gc = function() redis.call('set', 'gc', '1') end}) return 1", "0"],
    );
    for mode in ["SYNC", "ASYNC"] {
        assert_eq!(run_str(&mut con, &["ALT.SCRIPT", "FLUSH", mode]), "+OK");
    }
    assert_eq!(run_str(&mut con, &["PING"]), "+PONG");
    assert_eq!(run_str(&mut con, &["EXISTS", "gc"]), ":0");
}

/// CVE-2024-31449: bit.tohex with INT_MIN widths.
#[test]
fn cve_2024_31449_tohex() {
    let server = Server::start();
    for script in
        ["return bit.tohex(65535, -2147483648)", "return bit.tohex(1, -2147483648)", "return bit.tohex(1, 2^53)"]
    {
        eval_same(&server, &[], script, &[], &[]);
    }
}

/// CVE-2021-32626: deep replies are bounded, not a stack overflow.
#[test]
fn cve_2021_32626_deep_replies() {
    let server = Server::start();
    eval_same(&server, &[], "local t = {} local c = t for i=1,100000 do c[1] = {} c = c[1] end return t", &[], &[]);
}

/// Error objects without a message (a crash on the host tag): a clear error, server alive.
#[test]
fn error_objects_without_a_message() {
    let server = Server::start();
    let mut con = server.con();
    for script in [
        "error({})",
        "error({err = true})",
        "error(setmetatable({}, {__tostring = function() return 'x' end}))",
        "local e = redis.pcall('nosuchcmd') e.err = nil error(e)",
        "error(setmetatable({}, {__index = function() error('loop') end}))",
        "error(redis)",
    ] {
        let reply = run_str(&mut con, &["ALT.EVAL", script, "0"]);
        assert!(reply.starts_with("-ERR "), "{script}: {reply}");
    }
    assert_eq!(run_str(&mut con, &["PING"]), "+PONG");
    for script in ["error({err = 123})", "error(nil)"] {
        eval_same(&server, &[], script, &[], &[]);
    }
}

/// CVE-2025-67733: CR/LF inside error and status replies cannot inject protocol frames.
#[test]
fn cve_2025_67733_crlf_injection() {
    let server = Server::start();
    for script in [
        "return redis.error_reply('ERR a\\r\\n+OK')",
        "return redis.status_reply('a\\r\\n+OK')",
        "return {err = 'x\\r\\n:1'}",
        "error('a\\r\\nb')",
        "error({err = 'E a\\r\\n+OK'})",
    ] {
        eval_same(&server, &[], script, &[], &[]);
    }
}

#[test]
fn cjson_cmsgpack_struct_libraries() {
    let server = Server::start();
    for script in [
        "return cjson.encode({1, 2, 'x', {a = 1}, cjson.null, true})",
        "return cjson.encode({[1] = 1, [3] = 3})",
        "return cjson.encode({[20] = 1})",
        "return cjson.encode(0/0)",
        "return cjson.encode(1/3)",
        "return cjson.encode('a/b\\1')",
        "return cjson.decode('[1,2,{\"a\":null}]')[3].a == cjson.null",
        "return cjson.decode('{\"a\":')",
        "return cjson.decode('0x10')",
        "local t = cjson.decode('{\"k1\":1,\"k2\":2,\"a_rather_long_key_of_forty_bytes_xxxxxxx\":3}') local r = {} for k in pairs(t) do r[#r+1] = k end return r",
        "return cjson.encode(cjson.decode('[\"\\\\u00e9\\\\ud83d\\\\ude00\"]'))",
        "local t = {} t[1] = t return cjson.encode(t)",
        "return cjson.encode()",
        "return pcall(cjson.encode)",
        "return {pcall(function() return cjson.decode('x') end)}",
        "local function hex(s) return (s:gsub('.', function(c) return string.format('%02x', c:byte()) end)) end return hex(cmsgpack.pack(0.1, -1, 2^40, 'abc', {1, 2}, {a = 1}))",
        "local a, b, c = cmsgpack.unpack(cmsgpack.pack(1, 'two', {3})) return {a, b, c[1]}",
        "return cmsgpack.unpack('\\205')",
        "return cmsgpack.pack()",
        "local s = cmsgpack.pack(1, 2, 3) return {cmsgpack.unpack_one(s), cmsgpack.unpack_limit(s, 2)}",
        "local function hex(s) return (s:gsub('.', function(c) return string.format('%02x', c:byte()) end)) end return hex(struct.pack('>i4<h!4bd', 1, -2, 3, 1.5))",
        "return {struct.unpack('>i4', struct.pack('>i4', -7))}",
        "return struct.size('i4hd')",
        "return struct.pack('y', 1)",
        "return struct.unpack('>i4', 'ab')",
        "return struct.pack('i33', 1)",
    ] {
        eval_same(&server, &[], script, &[], &[]);
    }
}

/// cjson.decode pushes a key it made earlier in the same call again instead of interning it
/// anew: objects that repeat keys, keys that share a slot of its memory (same length, first
/// and last bytes), duplicate keys whose earlier values (objects holding the same keys) are
/// dropped and collected while decoding goes on, empty, long and binary keys, numbers,
/// strings, objects and arrays as values: every key and value as native decodes them, the
/// same `pairs` order (the same strings in the same tables), decoded again after a full
/// collection.
#[test]
fn cjson_decode_repeated_keys() {
    let server = Server::start();
    let body = "local n = tonumber(ARGV[1]) local parts = {} \
        for i = 1, n do parts[i] = string.format('{\"id\":%d,\"name\":\"n%d\",\"nbme\":{\"id\":{\"name\":%d}},\"id\":{\"x\":[%d,\"id\"]},\
        \"\":\"e\",\"a\\\\u0000b\":\"z\",\"a_key_longer_than_forty_bytes_to_pass_it_by_xxxx\":%d,\"nbme\":\"%d\"}', i, i, i, i, i, i) end \
        local text = '[' .. table.concat(parts, ',') .. ']' \
        local out = {} \
        for round = 1, 2 do \
          local d = cjson.decode(text) collectgarbage() \
          for i = 1, n, math.max(1, math.floor(n / 7)) do \
            local keys = {} for k, v in pairs(d[i]) do keys[#keys + 1] = k .. '=' .. (type(v) == 'table' and cjson.encode(v) or tostring(v)) end \
            out[#out + 1] = table.concat(keys, ';') end \
          out[#out + 1] = #d \
        end return out";
    for n in ["1", "40", "3000"] {
        eval_same(&server, &[], body, &[], &[n]);
    }
}

/// CVE-2022-24834 (cjson/cmsgpack size overflow), struct and cmsgpack overflow CVEs: exact
/// sizes, clean errors, no crash.
#[test]
fn library_overflow_cves() {
    let server = Server::start();
    for script in [
        "return #cjson.encode(string.rep('\\0', 2^24))",
        "return #cmsgpack.pack(string.rep('x', 2^24))",
        "return struct.pack('c2147483648', 'x')",
        "return struct.pack('i2147483647', 1)",
        "return struct.unpack('c4294967295', 'abc')",
        "return struct.size('c2147483647c2147483647')",
        "return struct.unpack('>!4i4', 'abc', 2147483647)",
        "local t = {} for i = 1, 100 do t = {t} end return #cmsgpack.pack(t)",
        "return cmsgpack.unpack('\\221\\255\\255\\255\\255')",
        "return cmsgpack.unpack('\\219\\255\\255\\255\\255abc')",
        "local a = {} for i = 1, 8000 do a[i] = i end return #cmsgpack.pack(unpack(a))",
    ] {
        eval_same(&server, &[], script, &[], &[]);
    }
    let mut con = server.con();
    assert_eq!(run_str(&mut con, &["PING"]), "+PONG");
}

/// Unbounded C recursion in Lua 5.1's pattern matcher (no CVE; it kills the host: native
/// 7.0.15 segfaults past ~174,500 nested `a?` items on an 8 MB stack). The bound is the C
/// stack itself, so flat patterns with many items match as natively, and only what would
/// overflow the stack gets `pattern too complex` (there native crashes: the safe reply is
/// the oracle).
#[test]
fn pattern_matching_depth_is_bounded_by_the_stack() {
    let server = Server::start();
    // The issue's case: 201 items were refused by a fixed bound of 200.
    eval_same(&server, &[], "return string.match(string.rep('a',300), string.rep('a?',201))", &[], &[]);
    for n in [201, 1000, 10_000] {
        for item in ["a?", "a*", "a-", "[ab]?", "%a?"] {
            let (s, p) = (format!("string.rep('a', {n})"), format!("string.rep('{item}', {n})"));
            let mut scripts = vec![
                format!("return {{string.find({s}, {p})}}"),
                format!("return #string.match({s}, '^' .. {p} .. '$')"),
                // A callback matching again: the nested matches share the stack.
                format!("return {{string.gsub('xy', '%a', function(c) return #string.match({s}, {p}) .. c end)}}"),
            ];
            // `a-` matches empty at each of the n positions (n^2 steps): once is enough.
            if item != "a-" || n < 10_000 {
                scripts.push(format!("local n = 0 for m in string.gmatch({s}, {p}) do n = n + #m end return n"));
                scripts.push(format!("return {{string.gsub({s}, {p}, '<%0>')}}"));
            }
            for script in scripts {
                eval_same(&server, &[], &script, &[], &[]);
            }
        }
    }
    // Ordinary patterns behave as natively.
    for script in [
        "return {string.find('hello world', 'o w')}",
        "return (string.gsub('abc', '%w', '%0%0'))",
        "return string.match('key:42', '(%a+):(%d+)')",
    ] {
        eval_same(&server, &[], script, &[], &[]);
    }
    let mut con = server.con();
    // Twice as deep as the stack holds (an unlimited stack lends up to 1 GB: not tried).
    let Some(stack) = server.stack_limit() else { return };
    let levels = (stack / 48 * 2).max(300_000);
    let deep = |item: &str| (format!("string.rep('a', {levels})"), format!("string.rep('{item}', {levels})"));
    for item in ["a?", "a*", "a-"] {
        let (s, p) = deep(item);
        for script in [
            format!("return string.find({s}, {p})"),
            format!("return string.match({s}, {p})"),
            format!("for m in string.gmatch({s}, {p}) do end"),
            format!("return string.gsub({s}, {p}, 'x')"),
            format!("return string.gsub('xy', '%a', function() return string.find({s}, {p}) end)"),
            format!("return coroutine.wrap(function() return string.find({s}, {p}) end)()"),
        ] {
            let reply = run_str(&mut con, &["ALT.EVAL", &script, "0"]);
            // (coroutine.wrap adds its own position to the text it re-raises)
            assert!(
                reply.starts_with("-ERR user_script:1: ") && reply.contains("pattern too complex script: "),
                "{script}: {reply}"
            );
        }
        // A catchable error, raised after the matcher unwound: handlers run as usual.
        let caught = format!("local ok, e = pcall(string.find, {s}, {p}) return {{tostring(ok), e}}");
        assert_eq!(run_str(&mut con, &["ALT.EVAL", &caught, "0"]), "[$false, $pattern too complex]");
        let handled = format!(
            "local ok, e = xpcall(function() return string.find({s}, {p}) end, \
             function(e) return (string.gsub(e, 'c%a+x', 'deep')) end) return {{tostring(ok), e}}"
        );
        assert_eq!(run_str(&mut con, &["ALT.EVAL", &handled, "0"]), "[$false, $user_script:1: pattern too deep]");
    }
    assert_eq!(run_str(&mut con, &["PING"]), "+PONG");
}

/// Native 7.0's SORT reads `errno` after strtod without clearing it, so an ERANGE left by the
/// script's own number parsing (a `1e309` literal, `tonumber('1e309')`) fails a SORT of
/// non-integer values with `One or more scores can't be converted into double`. ALT's Lua
/// leaves no stale errno behind: the SORT sorts.
#[test]
fn sort_after_a_range_error_sorts() {
    let server = Server::start();
    let mut con = server.con();
    run_str(&mut con, &["RPUSH", "l", "1.5", "0.5", "2.5"]);
    for script in [
        "local x = 1e309 return redis.call('sort', KEYS[1])",
        "local x = tonumber('1e309') return redis.call('sort', KEYS[1])",
    ] {
        assert_eq!(run_str(&mut con, &["ALT.EVAL", script, "1", "l"]), "[$0.5, $1.5, $2.5]", "{script}");
        let native = run_str(&mut con, &["EVAL", script, "1", "l"]);
        assert!(
            native == "[$0.5, $1.5, $2.5]" || native.contains("One or more scores can't be converted into double"),
            "{native}"
        );
    }
}
