//! ALT.EVAL and friends against native EVAL on the same server: returned values, conversions in
//! both directions, errors and the redis.* API, in RESP2 and RESP3, keyspace included.

mod support;

use support::{error_stats_same, eval_same, eval_same_bytes, run_str, same_as_native, Server};

/// Lua values into replies (luaReplyToRedisReply).
#[test]
fn lua_to_reply_conversions() {
    let server = Server::start();
    for script in [
        "return 1",
        "return 'hello'",
        "return 3.99",
        "return -3.99",
        "return 100.5",
        "return -0.0",
        "return 0/0",
        "return 1/0",
        "return 1e300",
        "return true",
        "return false",
        "return nil",
        "return {}",
        "return {1, 2, 3, 'x', {4, {5}}}",
        "return {1, nil, 3}",
        "return {1, 2, a = 3}",
        "return {ok = 'fine'}",
        "return {ok = 'a\\r\\nb'}",
        "return {ok = 'a\\0b'}",
        "return {err = 'My Error'}",
        "return {err = ''}",
        "return {err = 'x', ok = 'y'}",
        "return {ok = 123}",
        "return {err = 123}",
        "return {1, {err = 'inner'}, {ok = 'st'}, 4}",
        "return redis.error_reply('FOO')",
        "return redis.error_reply('-X')",
        "return redis.error_reply('My Error')",
        "return redis.error_reply('')",
        "return redis.status_reply('PONG')",
        "return {double = 3.14}",
        "return {double = '3'}",
        "return {double = 0.1}",
        "return {double = 1/0}",
        "return {big_number = '123456789012345678901234567890'}",
        "return {big_number = 'a\\r\\nb'}",
        "return {verbatim_string = {format = 'txt', string = 'hello'}}",
        "return {verbatim_string = {format = 'txt'}}",
        "return {map = {a = 1}}",
        "return {set = {a = true}}",
        "return {map = {}}",
        "return {set = {}}",
        "return 'bin\\0ary\\r\\n'",
        "return 1, 2, 3",
        "local t = {} t[1] = t return t",
        "local a = {} local b = {a} a[1] = b return a",
        // Flat arrays (scalars only) take a one-pass writer; these pin it to native.
        "return {'a', 2, 3.99, -3.99, true, false, '', 'bin\\0ary'}",
        "return {1e300, -1e300, 0/0, 1/0, -0.0, 2^53, 2^63}",
        "return {true, false, nil, 'after the hole'}",
        "return {'x', print, 'y'}",
        "return {'x', {}, 'y'}",
        "return {[1] = 'a', [2] = 'b', [4] = 'd', name = 'n'}",
        "local t = {} for i = 1, 1000 do t[i] = i end return t",
        "redis.setresp(3) return {true, false, 1, 'x'}",
    ] {
        eval_same(&server, &[], script, &[], &[]);
    }
}

/// Booleans and RESP3 types under redis.setresp(3).
#[test]
fn setresp_conversions() {
    let server = Server::start();
    let setup: &[&[&str]] = &[&["HSET", "h", "f", "v", "g", "w"], &["SADD", "s", "m"], &["ZADD", "z", "1.5", "m"]];
    for script in [
        "redis.setresp(3) return true",
        "redis.setresp(3) return false",
        "redis.setresp(3) return redis.call('hgetall', 'h')",
        "redis.setresp(3) return redis.call('smembers', 's')",
        "redis.setresp(3) return redis.call('zscore', 'z', 'm')",
        "redis.setresp(3) return redis.call('get', 'nokey')",
        "redis.setresp(3) local r = redis.call('get', 'nokey') return type(r)",
        "redis.setresp(3) return type(redis.call('hgetall', 'h'))",
        "redis.setresp(3) return redis.call('hgetall', 'h').map.f",
        "redis.setresp(3) return redis.call('zscore', 'z', 'm').double",
        "redis.setresp(2) return redis.call('hgetall', 'h')",
        "redis.setresp('3') return true",
    ] {
        eval_same(&server, setup, script, &[], &[]);
    }
}

/// Replies of commands into Lua values (redisProtocolToLuaType).
#[test]
fn reply_to_lua_conversions() {
    let server = Server::start();
    let setup: &[&[&str]] = &[&["SET", "str", "v"], &["HSET", "h", "f", "v"], &["RPUSH", "l", "a", "b"]];
    for script in [
        "return type(redis.call('set', 'k', 'v'))",
        "return redis.call('set', 'k', 'v').ok",
        "return redis.call('get', 'nokey') == false",
        "return type(redis.call('get', 'str'))",
        "return redis.call('lrange', 'l', 0, -1)",
        "return #redis.call('lrange', 'l', 0, -1)",
        "return redis.call('hgetall', 'h')",
        "return redis.call('incr', 'n') + 1",
        "local r = redis.pcall('incr', 'str') return type(r)",
        "local r = redis.pcall('incr', 'str') return r.err",
        "return redis.pcall('incr', 'str')",
        "return redis.pcall('nosuchcommand')",
        "return redis.pcall('get')",
        "return redis.call('ping')",
        "return redis.call('echo', 'a\\0b')",
        "return redis.call('type', 'l')",
        "return redis.call('exists', 'str', 'l', 'x')",
        // Flat arrays with holes, in both protocols (nulls are false, or nil under RESP3).
        "return redis.call('mget', 'str', 'nokey', 'str')",
        "local r = redis.call('mget', 'nokey', 'str') return {type(r[1]), r[2], #r}",
        "redis.setresp(3) local r = redis.call('mget', 'nokey', 'str', 'nokey') return {type(r[1]), r[2], type(r[3])}",
        "redis.setresp(3) return redis.call('lrange', 'l', 0, -1)",
        "redis.setresp(3) return redis.call('set', 'k', 'v')",
        "return redis.call('lrange', 'nolist', 0, -1)",
        "local t = redis.call('lrange', 'l', 0, -1) t[1] = 'x' return t",
        "return {redis.call('set', 'k', 'v'), redis.call('get', 'k'), redis.call('incrby', 'n', 5)}",
        "return redis.call('get', 'str') .. redis.call('get', 'str')",
        "return redis.call('strlen', string.rep('x', 3)) == 0",
        "return redis.call('set', 'big', string.rep('a', 100000)).ok .. #redis.call('get', 'big')",
        "return redis.call('time')[1] ~= nil",
    ] {
        eval_same(&server, setup, script, &[], &[]);
    }
}

/// Lua numbers and other values as command arguments (luaArgsToRedisArgv).
#[test]
fn argument_conversions() {
    let server = Server::start();
    for script in [
        "redis.call('set', 'k', 0.1) return redis.call('get', 'k')",
        "redis.call('set', 'k', 3.0) return redis.call('get', 'k')",
        "redis.call('set', 'k', 1e20) return redis.call('get', 'k')",
        "redis.call('set', 'k', 2^63) return redis.call('get', 'k')",
        "redis.call('set', 'k', -0.0) return redis.call('get', 'k')",
        "redis.call('set', 'k', 1/0) return redis.call('get', 'k')",
        "redis.call('set', 'k', 12345678901234567) return redis.call('get', 'k')",
        "return redis.call('set', 'k', nil)",
        "return redis.call('set', 'k', true)",
        "return redis.call('set', 'k', {})",
        "return redis.pcall('set', 'k', {})",
        "return redis.call()",
        "return redis.pcall()",
        "local a = {} for i = 1, 7999 do a[i] = 1 end return redis.call('lpush', 'l', unpack(a))",
        "local a = {} for i = 1, 7999 do a[i] = 'v' .. i end return redis.pcall('rpush', 'l2', unpack(a))",
        "local a = {} for i = 1, 100 do a[i] = i end a[50] = true return redis.pcall('rpush', 'l3', unpack(a))",
    ] {
        eval_same(&server, &[], script, &[], &[]);
    }
}

/// KEYS and ARGV, binary safe.
#[test]
fn keys_and_argv() {
    let server = Server::start();
    eval_same(
        &server,
        &[],
        "return {KEYS[1], KEYS[2], ARGV[1], ARGV[2], #KEYS, #ARGV}",
        &["k1", "k2"],
        &["a1", "a\u{0}2"],
    );
    eval_same(&server, &[], "return redis.call('set', KEYS[1], ARGV[1])", &["key"], &["value"]);
    eval_same(&server, &[], "return {#KEYS, #ARGV}", &[], &[]);
    eval_same(&server, &[], "KEYS[1] = 'changed' return KEYS[1]", &["k"], &[]);
}

/// A key argument that is one of the run's keys goes to the command as the caller's own
/// string (no copy); the same bytes as a value stay a fresh copy, so values keep native's
/// encodings (an integer-looking key stored as a value is an `int`, a long one `raw`), and
/// commands that keep or move keys (MSET, RENAME, SMOVE, LMOVE, COPY, SORT's STORE,
/// subcommands) leave the keyspace native leaves. EVAL and FCALL, both protocols.
#[test]
fn keys_handed_on_as_the_callers_own_strings() {
    let server = Server::start();
    let long = "x".repeat(50);
    let body = "redis.call('SET', KEYS[1], KEYS[2]) redis.call('MSET', KEYS[2], KEYS[2], KEYS[3], KEYS[1]) \
                redis.call('RPUSH', KEYS[4], KEYS[2], KEYS[1], KEYS[9]) redis.call('HSET', KEYS[5], KEYS[2], KEYS[2]) \
                redis.call('SADD', KEYS[6], KEYS[2], KEYS[9]) redis.call('SMOVE', KEYS[6], KEYS[7], KEYS[2]) \
                redis.call('RENAME', KEYS[3], KEYS[8]) redis.call('LMOVE', KEYS[4], KEYS[4], 'LEFT', 'RIGHT') \
                redis.call('COPY', KEYS[1], KEYS[9]) redis.call('SET', KEYS[10], KEYS[9]) \
                redis.call('SORT', KEYS[6], 'ALPHA', 'STORE', KEYS[11]) redis.call('INCR', KEYS[2]) \
                redis.call('EXPIRE', KEYS[2], 100) redis.call('SET', KEYS[12], KEYS[12], 'EX', 100) \
                return {redis.call('OBJECT', 'ENCODING', KEYS[1]), redis.call('OBJECT', 'ENCODING', KEYS[2]), \
                redis.call('GET', KEYS[8]), redis.call('LRANGE', KEYS[4], 0, -1), redis.call('GET', KEYS[9]), \
                redis.call('TYPE', KEYS[11]), redis.call('EXISTS', KEYS[1], KEYS[2], KEYS[3], KEYS[12])}";
    let keys = ["k", "123", "m", "l", "h", "s", "t", "r", long.as_str(), "v", "st", "456"];
    eval_same(&server, &[], body, &keys, &[]);
    let code = format!("#!lua name=keys\nredis.register_function('f', function(KEYS, ARGV) {body} end)");
    let mut fcall = vec!["FCALL", "f", "12"];
    fcall.extend_from_slice(&keys);
    for proto in [2, 3] {
        same_as_native(&server, proto, &[], &[&["FUNCTION", "LOAD", "REPLACE", &code], &fcall, &fcall]);
    }
}

/// One run's changes to KEYS and ARGV (new slots, a hash part, a metatable, holes) never show
/// in the next run, whose tables the module may refill instead of making new ones: a sequence
/// of runs on one connection, each seeing what a new table would be.
#[test]
fn keys_and_argv_start_fresh_every_run() {
    let server = Server::start();
    let show = "local t = {#KEYS, #ARGV, tostring(getmetatable(KEYS)), tostring(getmetatable(ARGV)), \
                tostring(rawget(KEYS, 'x')), tostring(rawget(ARGV, 'x'))} \
                for i = 1, 9 do t[#t + 1] = tostring(rawget(KEYS, i)) t[#t + 1] = tostring(rawget(ARGV, i)) end \
                local n = 0 for _ in pairs(KEYS) do n = n + 1 end t[#t + 1] = n \
                n = 0 for _ in pairs(ARGV) do n = n + 1 end t[#t + 1] = n return t";
    // Each run: the script, then numkeys, keys and arguments.
    let runs: &[(&str, &str)] = &[
        (show, "2 a b c"),
        ("KEYS[3] = 'k3' ARGV[2] = 'v2' KEYS.x = 1 return #KEYS", "2 a b c"),
        (show, "2 a b c"),
        ("setmetatable(KEYS, {__index = function() return 'm' end}) ARGV[1] = nil return 1", "2 a b c"),
        (show, "2 a b c"),
        ("KEYS[2] = nil table.insert(ARGV, 'x') table.insert(ARGV, 'y') return {#KEYS, #ARGV}", "3 a b c d"),
        (show, "3 a b c d"),
        (show, "1 a"),
        ("for i = 1, 20 do KEYS[i] = i end return #KEYS", "4 a b c d"),
        (show, "4 a b c d e f"),
        ("table.sort(KEYS, function(x, y) return x > y end) return KEYS", "3 a b c"),
        (show, "3 a b c"),
        ("local ok, e = pcall(error, KEYS) KEYS[2] = 'e' return {tostring(ok), tostring(rawequal(e, KEYS))}", "1 a"),
        (show, "1 a"),
        (show, "0"),
        ("return {tostring(rawequal(KEYS, ARGV)), #KEYS}", "0"),
    ];
    let steps: Vec<Vec<&str>> =
        runs.iter().map(|(script, rest)| ["EVAL", script].into_iter().chain(rest.split(' ')).collect()).collect();
    let steps: Vec<&[&str]> = steps.iter().map(Vec::as_slice).collect();
    let replies = same_as_native(&server, 2, &[], &steps);
    assert!(replies.iter().all(|r| !r.contains("ERR")), "every run works: {replies:?}");
    same_as_native(&server, 3, &[], &steps);
}

/// A redis.call made as a statement (its value dropped) still runs the command and raises on
/// an error reply, under pcall too; one whose value is kept, partly or in a multiple
/// assignment, gets it whole.
#[test]
fn calls_whose_value_is_dropped() {
    let server = Server::start();
    let steps: &[&[&str]] = &[
        &["EVAL", "redis.call('SET', KEYS[1], 'v') redis.call('RPUSH', KEYS[2], 1, 2, 3) redis.call('LRANGE', KEYS[2], 0, -1) \
                   redis.call('GET', KEYS[1]) redis.call('HGETALL', 'nohash') return redis.call('GET', KEYS[1])", "2", "s", "l"],
        &["EVAL", "redis.call('INCR', KEYS[1]) return 1", "1", "s"],
        &["EVAL", "local ok, e = pcall(function() redis.call('INCR', KEYS[1]) end) return {tostring(ok), type(e)}", "1", "s"],
        &["EVAL", "redis.pcall('INCR', KEYS[1]) return 2", "1", "s"],
        &["EVAL", "local a, b = redis.call('GET', KEYS[1]) return {a, tostring(b)}", "1", "s"],
        &["EVAL", "local t = {redis.call('LRANGE', KEYS[1], 0, -1)} return t[1]", "1", "l"],
        &["EVAL", "return (redis.call('SET', KEYS[1], 'w'))", "1", "s"],
        &["EVAL", "redis.call('SET', KEYS[1])", "1", "s"],
        &["EVAL", "redis.call('NOSUCHCOMMAND')", "0"],
        &["EVAL", "for i = 1, 10 do redis.call('RPUSH', KEYS[1], i) end return redis.call('LLEN', KEYS[1])", "1", "l"],
    ];
    let replies = same_as_native(&server, 2, &[], steps);
    let errors = replies.iter().filter(|r| r.contains("ERR")).count();
    assert_eq!(errors, 3, "only the INCR of a string and the two bad calls fail: {replies:?}");
    same_as_native(&server, 3, &[], steps);
}

/// Numbers made strings (concatenation, tostring, string arguments) and `%` on every kind of
/// operand: integers take the module's shortcuts, the rest Lua's formulas, all byte for byte.
#[test]
fn number_strings_and_remainders() {
    let server = Server::start();
    let values = "local v = {0, 0 * -1, 1, -1, 7, -7, 10, -10, 99999999999999, -99999999999999, 1e14, -1e14, \
                  123456789012345, 2^51, -2^51, 2^52 - 1, -(2^52 - 1), 2^52, 2^52 + 2, 2^53, -2^53, 2^63, 1e15, \
                  0.5, -0.5, 2.5, 1/3, 1e-5, 1/0, -1/0, 0/0, 4503599627370497, 9007199254740991}";
    let strings = eval_same(
        &server,
        &[],
        &format!(
            "{values} local out = {{}} for i, a in ipairs(v) do out[#out + 1] = tostring(a) .. '|' .. a .. '|' .. \
             string.rep('x', 0) .. a \
             for j, b in ipairs(v) do out[#out + 1] = string.format('%.17g', a % b) end end \
             return table.concat(out, ',')"
        ),
        &[],
        &[],
    );
    assert!(strings.contains("99999999999999|99999999999999|99999999999999,"), "{strings}");
    let remainders = eval_same(
        &server,
        &[],
        "local out = {} local x = 12345 for i = 1, 2000 do x = (x * 1103515245 + 12345) % 2147483648 \
         local a, b = x - 1073741824, (x % 1000) - 500 \
         out[#out + 1] = (a % b) .. ',' .. ((a * 4096) % (b * 3)) .. ',' .. ((a * 4194304) % (b * 7)) .. ',' .. a * 33 \
         end return table.concat(out, ';')",
        &[],
        &[],
    );
    assert!(remainders.len() > 10_000 && !remainders.contains("ERR"), "{remainders}");
    let stored =
        eval_same(&server, &[], "redis.call('SET', KEYS[1], 10 % 3) return redis.call('GET', KEYS[1])", &["k"], &[]);
    assert!(stored.contains('1'), "{stored}");
}

/// struct.pack and struct.unpack over plain formats (which the module computes on a short
/// path) and the formats around them (which it does not), values of every kind, round trips
/// and errors, byte for byte.
#[test]
fn struct_formats_and_values() {
    let server = Server::start();
    let script = r##"local fmts = {">i4", "<i4", "i", "I", "b", "B", "h", "H", "l", "L", "T", ">i8", "<I8", "i3",
        ">I5", "i7", "bBhH", ">b<h>i", " i ", "i0", "i9", "i16", "i12", "!4i", "x", "d", "f", "c3", "s", "i\0b",
        ">", "", "=i", "ii", "iiiiiiiiiiiiiiii", "iiiiiiiiiiiiiiiii"}
      local vals = {0, 1, -1, 127, 128, 255, 256, -129, 65535, 2^31, -2^31, 2^32, 2^53, -2^53, 2^63, 2^64,
        -2^63, 1e300, 0.5, -0.5, 3.7, -3.7, 0/0, 1/0, -1/0, "12", "x", " 0x10 "}
      local hex = function(p) return (string.gsub(p, ".", function(ch) return string.format("%02x", ch:byte()) end)) end
      local show = function(...)
        local r = {...}
        for i = 1, select("#", ...) do r[i] = tostring(r[i]) end
        return table.concat(r, ",")
      end
      local out = {}
      for _, f in ipairs(fmts) do
        for _, v in ipairs(vals) do
          local ok, p = pcall(struct.pack, f, v, v, v, v, v, v, v, v, v, v, v, v, v, v, v, v, v)
          if ok then
            out[#out + 1] = f .. "|" .. tostring(v) .. "|" .. hex(p) .. "|" .. show(pcall(struct.unpack, f, p))
          else
            out[#out + 1] = f .. "|" .. tostring(v) .. "|" .. tostring(p)
          end
        end
        for _, args in ipairs({{"ab"}, {"abcdefgh", 2}, {12345678}, {"abcdefgh", 0}}) do
          out[#out + 1] = show(pcall(struct.unpack, f, unpack(args)))
        end
        out[#out + 1] = show(pcall(struct.pack, f))
      end
      return table.concat(out, "\n")"##;
    let out = eval_same(&server, &[], script, &[], &[]);
    assert!(out.contains(">i4|-1|ffffffff|true,-1,5"), "the script runs: {}", out.get(..200).unwrap_or(&out));
}

/// Runtime and compile errors, with the native `script: <sha>, on @user_script:<line>.` suffix.
#[test]
fn error_formats() {
    let server = Server::start();
    let setup: &[&[&str]] = &[&["SET", "str", "v"], &["HSET", "h", "f", "v"]];
    for script in [
        "error('boom')",
        "error('boom', 0)",
        "error(123)",
        "error()",
        "error({err = 'CODE msg'})",
        "error({err = 42})",
        "error(redis.error_reply('MY text'))",
        "\n\nerror('on line three')",
        "local x = nil + 1",
        "return redis.call('incr', 'h')",
        "\nreturn redis.call('incr', 'str')",
        "return redis.call('nosuchcommand')",
        "return redis.call('get')",
        "return redis.call('object', 'nosuch', 'k')",
        "return redis.call('object')",
        "return redis.call('get', 'a', 'b')",
        "local function f() error('deep') end f()",
        "local function f() return redis.call('incr', 'h') end return f()",
        "return pcall(redis.call, 'incr', 'h')",
        "local ok, e = pcall(redis.call, 'incr', 'h') return e",
        "local ok, e = pcall(error, {err = 'X y'}) return e",
        "local ok, e = pcall(error, 'plain') return e",
        "local ok, e = pcall(function() local x = nil + 1 end) return e",
        "return {pcall()}",
        "local ok, e = pcall(error, {code = 1}) return type(e)",
        "local ok, e = xpcall(function() redis.call('incr', 'h') end, function(e) return type(e) end) return e",
        "local ok, e = xpcall(function() redis.call('incr', 'h') end, function(e) return e.err end) return e",
        "local ok, e = pcall(redis.call, 'nosuch') return e",
        "error('a\\r\\nb')",
        "return +",
        "return 'unfinished",
        "x = ",
    ] {
        eval_same(&server, setup, script, &[], &[]);
    }
}

/// The redis.* helpers, including their argument errors.
#[test]
fn redis_api() {
    let server = Server::start();
    for script in [
        "return redis.sha1hex('')",
        "return redis.sha1hex('return 1')",
        "return redis.sha1hex(12)",
        "return redis.sha1hex(nil)",
        "return redis.sha1hex()",
        "return redis.sha1hex('a', 'b')",
        "return redis.error_reply()",
        "return redis.error_reply(1)",
        "return redis.status_reply()",
        "return redis.status_reply('a', 'b')",
        "redis.log(redis.LOG_WARNING, 'from a script') return 1",
        "redis.log(redis.LOG_DEBUG, 'quiet', 1, nil, 'x') return 1",
        "redis.log('3', 'numeric string level') return 1",
        "return redis.log()",
        "return redis.log(1)",
        "return redis.log('x', 'y')",
        "return redis.log(9, 'y')",
        "return redis.log(-1, 'y')",
        "return redis.setresp()",
        "return redis.setresp(4)",
        "return redis.setresp('x')",
        "return redis.set_repl()",
        "return redis.set_repl(9)",
        "redis.set_repl(redis.REPL_NONE) return redis.call('set', 'k', 1)",
        "redis.set_repl(redis.REPL_ALL) return 1",
        "return redis.replicate_commands()",
        "return redis.breakpoint()",
        "return redis.debug('x')",
        "return {redis.LOG_DEBUG, redis.LOG_VERBOSE, redis.LOG_NOTICE, redis.LOG_WARNING}",
        "return {redis.REPL_NONE, redis.REPL_AOF, redis.REPL_SLAVE, redis.REPL_REPLICA, redis.REPL_ALL}",
        "return redis.REDIS_VERSION",
        "return redis.REDIS_VERSION_NUM",
        "return type(redis.call)",
    ] {
        eval_same(&server, &[], script, &[], &[]);
    }
}

/// Commands that scripts may not run, and those that behave differently inside scripts.
#[test]
fn commands_inside_scripts() {
    let server = Server::start();
    let setup: &[&[&str]] =
        &[&["SADD", "myset", "c", "a", "b", "aa", "d"], &["XADD", "st", "1-1", "f", "v"], &["SET", "x", "1"]];
    for script in [
        "return redis.pcall('config', 'set', 'maxmemory', '0')",
        "return redis.pcall('shutdown')",
        "return redis.pcall('blpop', 'l', 0)",
        "return redis.pcall('multi')",
        "return redis.pcall('eval', 'return 1', 0)",
        "return redis.pcall('subscribe', 'c')",
        "return redis.pcall('xread', 'BLOCK', '0', 'STREAMS', 'st', '$')",
        "return redis.pcall('XREAD', 'COUNT', '1', 'block', '0', 'STREAMS', 'st', '0')",
        "return redis.call('xread', 'STREAMS', 'st', '0')",
        "return redis.call('sort', 'myset', 'by', 'nosort')",
        "return redis.call('sort', 'myset', 'by', 'nosort', 'desc', 'limit', 0, 3)",
        "return redis.call('sort_ro', 'myset', 'by', 'constant')",
        "return redis.call('blmpop', 0, 1, 'nolist', 'left')",
        "return redis.call('spop', 'myset', 0)",
        "redis.call('select', 1) redis.call('set', 'in1', 'v') return redis.call('get', 'x')",
        "return redis.pcall('select', 99)",
        "redis.call('select', 2) return redis.call('dbsize')",
    ] {
        eval_same(&server, setup, script, &[], &[]);
    }
    // A script's SELECT does not leak to the caller's connection.
    same_as_native(&server, 2, setup, &[&["EVAL", "redis.call('select', 3) return 1", "0"], &["SET", "after", "1"]]);
    // Nor from another DB, after two SELECTs and a failed one: the caller's DB is restored.
    same_as_native(
        &server,
        2,
        setup,
        &[
            &["SELECT", "5"],
            &[
                "EVAL",
                "redis.call('select', 3) redis.pcall('select', 99) redis.call('select', 4) return redis.call('dbsize')",
                "0",
            ],
            &["SET", "after5", "1"],
            &["EVAL", "redis.pcall('select', 99) return redis.call('set', 'k5', 'v')", "0"],
            &["SET", "again5", "1"],
        ],
    );
}

/// EVAL_RO / EVALSHA_RO and no-writes scripts refuse writes with the native text.
#[test]
fn read_only_runs() {
    let server = Server::start();
    for steps in [
        vec![vec!["EVAL_RO", "return redis.call('set', 'k', 1)", "0"]],
        vec![vec!["EVAL_RO", "return redis.pcall('set', 'k', 1)", "0"]],
        vec![vec!["EVAL_RO", "return redis.call('get', 'k')", "1", "k"]],
        vec![vec!["EVAL_RO", "return redis.pcall('publish', 'ch', 'm')", "0"]],
        vec![vec!["EVAL_RO", "return redis.pcall('pfcount', 'hll')", "0"]],
        vec![vec!["EVAL_RO", "#!lua\nreturn 1", "0"]],
        vec![vec!["EVAL_RO", "#!lua flags=no-writes\nreturn redis.call('get', 'k')", "0"]],
        vec![vec!["EVAL", "#!lua flags=no-writes\nreturn redis.pcall('set', 'k', 1)", "0"]],
    ] {
        let steps: Vec<&[&str]> = steps.iter().map(|s| s.as_slice()).collect();
        same_as_native(&server, 2, &[], &steps);
        same_as_native(&server, 3, &[], &steps);
    }
    let body = "return redis.call('set', 'k', 1)";
    let sha = support::sha1hex(body);
    same_as_native(&server, 2, &[], &[&["SCRIPT", "LOAD", body], &["EVALSHA_RO", &sha, "0"], &["EVALSHA", &sha, "0"]]);
}

/// Writes are propagated as effects: MULTI/EXEC-wrapped commands in the AOF.
#[test]
fn writes_reach_the_aof() {
    let server = Server::start_with(&["--appendonly", "yes", "--appendfsync", "always"], true);
    let mut con = server.con();
    support::run_str(&mut con, &["ALT.EVAL", "redis.call('set', 'a', 1) redis.call('incr', 'a') return 1", "0"]);
    support::run_str(&mut con, &["ALT.EVAL", "redis.set_repl(redis.REPL_NONE) redis.call('set', 'hidden', 1)", "0"]);
    let aof_dir = server.dir.join("appendonlydir");
    let mut aof = String::new();
    for entry in std::fs::read_dir(&aof_dir).expect("aof dir").flatten() {
        if entry.path().to_string_lossy().ends_with(".incr.aof") {
            aof.push_str(&String::from_utf8_lossy(&std::fs::read(entry.path()).expect("aof")));
        }
    }
    let compact: String =
        aof.split("\r\n").filter(|l| !l.starts_with('*') && !l.starts_with('$')).collect::<Vec<_>>().join(" ");
    assert!(compact.contains("MULTI set a 1 incr a EXEC"), "{compact}");
    assert!(!compact.contains("hidden"), "REPL_NONE write reached the AOF: {compact}");
    assert!(!compact.to_lowercase().contains("alt.eval"), "the script itself was propagated: {compact}");
}

/// A script's writes store what native stores: an integer-looking value becomes an int
/// object (shared for small ones), not an embstr, through every string-writing command.
#[test]
fn stored_values_keep_native_encodings() {
    let server = Server::start();
    for script in [
        "redis.call('SET', 'k', '123') redis.call('SET', 'big', '123456789012') redis.call('SET', 'neg', '-5') \
         redis.call('SET', 'zero', '0') redis.call('SET', 'lead', '0123') redis.call('SET', 'long', string.rep('7', 21)) \
         redis.call('SET', 'f', '1.5') redis.call('SET', 's', 'abc') redis.call('SET', 'n', 42) \
         return {redis.call('OBJECT', 'ENCODING', 'k'), redis.call('MEMORY', 'USAGE', 'k'), \
         redis.call('MEMORY', 'USAGE', 'big'), redis.call('OBJECT', 'ENCODING', 'n')}",
        "redis.call('MSET', 'a', '1', 'b', 'x', 'c', '99999999999', 'd', '-7') redis.call('SETNX', 'e', '12') \
         redis.call('GETSET', 'g', '13') redis.call('SETEX', 'h', 100, '14') redis.call('PSETEX', 'i', 100000, '15') \
         redis.call('MSETNX', 'j', '16', 'l', '17') redis.call('SET', 'm', '18', 'GET') redis.call('SET', 'o', '19', 'EX', 100)",
        "local t = {} for i = 1, 60 do t[#t + 1] = 'm' .. i t[#t + 1] = tostring(i * 1000) end \
         return redis.call('MSET', unpack(t))",
        "redis.call('SET', 'x', 'abc') redis.call('APPEND', 'x', '1') redis.call('SET', 'y', '5') redis.call('INCR', 'y') \
         redis.call('HSET', 'h', 'f', '1') redis.call('RPUSH', 'l', '1', '2') redis.call('SADD', 's', '1', '2')",
    ] {
        support::eval_same(&server, &[], script, &[], &[]);
    }
}

/// Encoder results are ordinary interned strings (they are written in place): equal to
/// literals and to each other, usable as table keys, short and long.
#[test]
fn encoder_results_are_interned_strings() {
    let server = Server::start();
    for script in [
        "return cjson.encode({1, 2, 'x'}) == '[1,2,\"x\"]'",
        "local a = cjson.encode({string.rep('abc', 100)}) local t = {} t[a] = 1 \
         return t['[\"' .. string.rep('abc', 100) .. '\"]']",
        "return cjson.encode(string.rep('x', 100000)) == '\"' .. string.rep('x', 100000) .. '\"'",
        "return cmsgpack.pack({1, 2, 3}) == cmsgpack.pack({1, 2, 3})",
        "local t = {} t[cmsgpack.pack('k')] = 'v' return t[cmsgpack.pack('k')]",
        "return struct.pack('>i4xxc3', 7, 'abc') == struct.pack('>i4xxc3', 7, 'abc')",
        "return {struct.pack(''), cjson.encode(''), #struct.pack('>i4xxc3', 7, 'abc')}",
        "local s = struct.pack('c0', string.rep('y', 70000)) return s == string.rep('y', 70000)",
        "local seen = {} for i = 1, 2000 do seen[cjson.encode({i})] = i end return seen['[1999]']",
    ] {
        eval_same(&server, &[], script, &[], &[]);
    }
}

/// Error replies byte for byte: a script's `{err=...}` is trimmed of CR/LF at its end and
/// mapped to spaces inside (addReplyErrorFormat), and each piece of a raised error's line is
/// a C string of its own, so a NUL cuts the message but keeps the ` script: ...` suffix.
#[test]
fn error_reply_bytes() {
    let server = Server::start();
    for (script, expected) in [
        ("return {err = '\\n'}", "-\r\n"),
        ("return {err = '\\r'}", "-\r\n"),
        ("return {err = '\\r\\n'}", "-\r\n"),
        ("return {err = '\\n\\n'}", "-\r\n"),
        ("return {err = '\\nfoo\\n'}", "- foo\r\n"),
        ("return {err = '\\r\\n-x\\r\\n'}", "-  -x\r\n"),
        ("return {err = '-\\n'}", "--\r\n"),
        ("return {err = 'ab\\0cd'}", "-ab\r\n"),
        ("return {1, {err = 'E x\\n'}}", ""),
        ("return {ok = '\\nx\\n'}", "+ x \r\n"),
        ("error('\\0')", ""),
        ("error('a\\0b')", ""),
        ("error('a\\nb\\r\\n')", ""),
        ("error({err = 'x\\0y', source = 's\\0t', line = '1\\0'})", ""),
        ("error({err = '\\n'})", ""),
        ("return redis.error_reply('\\nx')", ""),
    ] {
        let bytes = eval_same_bytes(&server, script);
        if !expected.is_empty() {
            assert_eq!(String::from_utf8_lossy(&bytes), expected, "{script}");
        }
    }
    let bytes = eval_same_bytes(&server, "error('\\0')");
    assert!(bytes.starts_with(b"-ERR user_script:1:  script: "), "{}", String::from_utf8_lossy(&bytes));
}

/// redis.pcall's error tables have the fields native's have: `ignore_error_stats_update`
/// only where a command (or the run's checks) already counted the error, never for an
/// argument error; and the error statistics come out the same.
#[test]
fn pcall_error_tables_and_stats() {
    let server = Server::start();
    let setup: &[&[&str]] = &[&["SET", "str", "v"]];
    let fields = |call: &str| {
        format!(
            "local e = {call} local o = {{}} for k, v in pairs(e) do o[#o + 1] = k .. '=' .. tostring(v) end \
             table.sort(o) return o"
        )
    };
    for call in [
        "redis.pcall(nil)",
        "redis.pcall({})",
        "redis.pcall(false)",
        "redis.pcall(KEYS[1])",
        "redis.pcall()",
        "redis.pcall('get', {})",
        "redis.pcall('incr', 'str')",
        "redis.pcall('nosuchcommand')",
        "redis.pcall('eval', 'return 1', 0)",
    ] {
        eval_same(&server, setup, &fields(call), &[], &[]);
        let returned = format!("local e = {call} return e");
        eval_same(&server, setup, &returned, &[], &[]);
        error_stats_same(&server, setup, &[&["EVAL", &returned, "0"]]);
    }
    for script in ["return redis.pcall(nil)", "local ok, e = pcall(redis.call, nil) return e"] {
        error_stats_same(&server, setup, &[&["EVAL", script, "0"]]);
    }
}

/// Redis's `pcall` is a C function (luaRedisPcall): no frame of its own between the caller
/// and the function it calls (error levels), and an error table without a string `err`
/// comes back with the nil its lookup left (three results).
#[test]
fn pcall_is_a_c_function() {
    let server = Server::start();
    for script in [
        "return select('#', pcall(error, {}))",
        "local ok, t, x = pcall(error, {code = 1}) return {tostring(ok), type(t), type(x)}",
        "return {pcall(error, 'lvl2', 2)}",
        "return {pcall(error, 'lvl1', 1)}",
        "local function f() error('up', 2) end return {pcall(f)}",
        "local function f() error('up', 3) end local function g() f() end return {pcall(g)}",
        "return {pcall(pcall, error, 'x', 2)}",
        "return {pcall()}",
        "return {pcall(pcall)}",
        "return {pcall(error)}",
        "return select('#', pcall(error))",
        "return {pcall(error, {err = 5})}",
        "return {pcall(error, {err = 'E x', more = 1})}",
        "return {pcall(error, setmetatable({}, {__index = function() return 'from index' end}))}",
        "return {pcall(function(...) return select('#', ...) end, 1, nil, 3, nil)}",
        "return {pcall(redis.call, 'get')}",
        "return {pcall(coroutine.wrap(function() error('w', 2) end))}",
        "local ok, e = pcall(error, 'x', 2) return e",
    ] {
        eval_same(&server, &[], script, &[], &[]);
    }
}

/// One reply in raw protocol bytes, on a fresh connection in RESP`proto` (HELLO first).
fn raw_reply(server: &Server, proto: u8, argv: &[&str]) -> Vec<u8> {
    use std::io::{BufRead, BufReader, Read, Write};
    fn command(argv: &[&str]) -> Vec<u8> {
        let mut out = format!("*{}\r\n", argv.len()).into_bytes();
        for a in argv {
            out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
            out.extend_from_slice(a.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        out
    }
    /// Appends one whole reply (nested elements included) to `out`.
    fn read_one(r: &mut BufReader<std::net::TcpStream>, out: &mut Vec<u8>) {
        let start = out.len();
        r.read_until(b'\n', out).expect("read a reply line");
        let line = String::from_utf8_lossy(&out[start..]).trim_end().to_string();
        let n: i64 = line[1..].parse().unwrap_or(0);
        match line.as_bytes()[0] {
            b'$' | b'=' | b'!' if n >= 0 => {
                let mut body = vec![0; n as usize + 2];
                r.read_exact(&mut body).expect("read a bulk");
                out.extend_from_slice(&body);
            }
            b'*' | b'~' | b'>' => (0..n).for_each(|_| read_one(r, out)),
            b'%' | b'|' => (0..2 * n).for_each(|_| read_one(r, out)),
            _ => {}
        }
    }
    let stream = std::net::TcpStream::connect(("127.0.0.1", server.port)).expect("connect");
    let mut reader = BufReader::new(stream.try_clone().expect("clone the stream"));
    let mut writer = stream;
    let mut out = Vec::new();
    writer.write_all(&command(&["HELLO", &proto.to_string()])).expect("send HELLO");
    read_one(&mut reader, &mut out);
    out.clear();
    writer.write_all(&command(argv)).expect("send the command");
    read_one(&mut reader, &mut out);
    out
}

/// RESP3 maps and sets keep native's order: the tables Lua sees are built as Redis builds
/// them (redisProtocolToLuaType: lua_newtable, filled in reply order), so `pairs()` over them
/// and the map or set a script returns come out in the same order, also downgraded to RESP2
/// arrays; KEYS, ARGV and flat arrays likewise grow as native's (the border `#` finds after
/// the script makes holes depends on it). Raw protocol bytes compared.
#[test]
fn resp3_maps_and_sets_keep_natives_order() {
    let server = Server::start();
    let mut admin = server.con();
    let member = |i: usize| match i % 4 {
        0 => format!("m{i}"),
        1 => i.to_string(),
        2 => format!("{}.5", i),
        _ => format!("k:{i}\u{e9}"),
    };
    for n in [1, 20, 100, 1000] {
        let (s, si, h) = (format!("s{n}"), format!("si{n}"), format!("h{n}"));
        for i in 1..=n {
            support::run_str(&mut admin, &["SADD", &s, &member(i)]);
            support::run_str(&mut admin, &["SADD", &si, &i.to_string()]);
            support::run_str(&mut admin, &["HSET", &h, &member(i), &format!("v{i}")]);
        }
        let built = format!("redis.call('DEL', 'tmp') for i = 1, {n} do redis.call('SADD', 'tmp', 'm' .. i) end");
        let scripts = [
            // The issue's case: built in the script, returned under RESP3.
            format!("redis.setresp(3) {built} return redis.call('SMEMBERS', 'tmp')"),
            format!("redis.setresp(3) return redis.call('SMEMBERS', '{s}')"),
            format!("redis.setresp(3) return redis.call('SMEMBERS', '{si}')"),
            format!("redis.setresp(3) return redis.call('HGETALL', '{h}')"),
            format!("redis.setresp(3) local r = redis.call('SMEMBERS', '{s}') r.set.extra = true return r"),
            format!(
                "redis.setresp(3) local r = redis.call('HGETALL', '{h}') r.map.extra = 'x' r.map[1] = 'y' return r"
            ),
            // pairs() inside the script.
            format!(
                "redis.setresp(3) {built} local o = {{}} for k in pairs(redis.call('SMEMBERS', 'tmp').set) do \
                 o[#o + 1] = k end return o"
            ),
            format!(
                "redis.setresp(3) local o = {{}} for k, v in pairs(redis.call('HGETALL', '{h}').map) do \
                 o[#o + 1] = k .. '=' .. v end return o"
            ),
            format!(
                "redis.setresp(3) local o = {{}} local t = redis.call('SMEMBERS', '{si}').set \
                 for k in pairs(t) do o[#o + 1] = k end return o"
            ),
            // Under RESP2 the same replies are arrays; sets and maps the script builds itself.
            format!("return redis.call('SMEMBERS', '{s}')"),
            format!("return redis.call('HGETALL', '{h}')"),
            format!("redis.setresp(3) local m = {{}} for i = 1, {n} do m['f' .. i] = i end return {{map = m}}"),
            format!("redis.setresp(3) local m = {{}} for i = 1, {n} do m['f' .. i] = true end return {{set = m}}"),
            // Flat arrays, with holes made by the script or by RESP3 nulls.
            format!("local t = redis.call('SMEMBERS', '{s}') t[{n} - 1] = nil return #t"),
            format!("redis.setresp(3) local t = redis.call('MGET', 'nokey', '{s}', 'nokey', 'x') return #t"),
        ];
        for script in &scripts {
            for proto in [2, 3] {
                let native = raw_reply(&server, proto, &["EVAL", script, "0"]);
                let alt = raw_reply(&server, proto, &["ALT.EVAL", script, "0"]);
                assert_eq!(
                    String::from_utf8_lossy(&alt),
                    String::from_utf8_lossy(&native),
                    "RESP{proto}, n={n}: {script}"
                );
            }
        }
    }
    // KEYS and ARGV with holes.
    for proto in [2, 3] {
        let script = "KEYS[4] = nil ARGV[3] = nil return {#KEYS, #ARGV}";
        let argv = ["EVAL", script, "5", "a", "b", "c", "d", "e", "1", "2", "3", "4", "5"];
        let native = raw_reply(&server, proto, &argv);
        let alt_argv: Vec<&str> = std::iter::once("ALT.EVAL").chain(argv[1..].iter().copied()).collect();
        assert_eq!(raw_reply(&server, proto, &alt_argv), native);
        // LRANGE: a flat array; its border after a hole.
        let mut admin = server.con();
        support::run_str(&mut admin, &["RPUSH", "l", "1", "2", "3", "4", "5"]);
        let script = "local t = redis.call('LRANGE', 'l', 0, -1) t[4] = nil return #t";
        let native = raw_reply(&server, proto, &["EVAL", script, "0"]);
        assert_eq!(raw_reply(&server, proto, &["ALT.EVAL", script, "0"]), native);
        support::run_str(&mut admin, &["DEL", "l"]);
    }
}

/// Errors raised by the binding's own functions (redis.*, cjson, cmsgpack, struct, bit,
/// math.random, the undefined-global guard) are what Redis's C functions raise: a string
/// with the caller's position (luaL_error) or an error table (luaPushError + luaError), never
/// a userdata, wherever they are caught: pcall, xpcall, coroutine.resume, coroutine.wrap.
#[test]
fn binding_errors_are_strings_and_tables() {
    let server = Server::start();
    let raisers = [
        "redis.setresp('x')",
        "redis.set_repl(99)",
        "redis.sha1hex()",
        "redis.log(1)",
        "redis.acl_check_cmd('nosuch')",
        "cjson.decode('bad json')",
        "cjson.encode(function() end)",
        "cmsgpack.unpack({})",
        "struct.pack('i')",
        "struct.unpack('i', '')",
        "bit.band({})",
        "bit.tohex({})",
        "math.random(1, 2, 3)",
        "math.random(0)",
        "nosuch_global",
        "redis.call('nosuchcommand')",
    ];
    for raise in raisers {
        let f = format!("function() return {raise} end");
        for script in [
            format!("return {{coroutine.resume(coroutine.create({f}))}}"),
            format!("local ok, e = coroutine.resume(coroutine.create({f})) return type(e)"),
            format!("return coroutine.wrap({f})()"),
            format!("return {{pcall(coroutine.wrap({f}))}}"),
            format!("return {{pcall({f})}}"),
            format!("local ok, e = pcall({f}) return type(e)"),
            format!("return {{xpcall({f}, function(e) return type(e) end)}}"),
            format!("return {{xpcall({f}, function(e) return e end)}}"),
            format!("return {raise}"),
        ] {
            eval_same(&server, &[], &script, &[], &[]);
        }
    }
}

/// Integer values stored by a script are `int` objects as natively in the first 127
/// arguments of one call (each reaches RM_Call as bytes, a fresh object the host
/// re-encodes); past them the arguments go as the module's shared strings, stored `embstr`
/// (the documented limit).
#[test]
fn integer_values_keep_their_encoding_in_long_calls() {
    let server = Server::start();
    // 63 pairs: MSET and its 126 arguments, all within the limit: the same keyspace as native.
    let args: Vec<String> = (0..63).flat_map(|i| [format!("k{i}"), (1000 + i).to_string()]).collect();
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    eval_same(&server, &[], "return redis.call('MSET', unpack(ARGV))", &[], &argv);
    // 100 pairs: the first 127 arguments as natively, the rest embstr.
    let mut con = server.con();
    let args: Vec<String> = (0..100).flat_map(|i| [format!("m{i}"), (1000 + i).to_string()]).collect();
    let mut cmd = redis::cmd("ALT.EVAL");
    cmd.arg("return redis.call('MSET', unpack(ARGV))").arg(0).arg(&args);
    let _: () = cmd.query(&mut con).expect("mset");
    let encoding = |key: &str| run_str(&mut server.con(), &["OBJECT", "ENCODING", key]);
    assert_eq!(encoding("m0"), "$int");
    assert_eq!(encoding("m62"), "$int", "argument 126, the last within the limit");
    assert_eq!(encoding("m63"), "$embstr", "argument 128, past the limit");
    assert_eq!(run_str(&mut con, &["GET", "m99"]), "$1099");
}
