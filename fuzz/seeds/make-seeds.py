#!/usr/bin/env python3
"""Writes the seed corpora of the cargo-fuzz targets (fuzz/seeds/<target>/), run from
fuzz/seeds/. The msgpack, struct and FUNCTION DUMP seeds are produced by the module itself:
start a redis-server with it loaded on $PORT (default 7399) first, e.g.
  redis-server --port 7399 --save '' --loadmodule target/debug/libredis_alt.so
"""
import os
import socket

PORT = int(os.environ.get("PORT", "7399"))

def cmd(*args):
    s = socket.create_connection(("127.0.0.1", PORT))
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    s.sendall(out)
    f = s.makefile("rb")
    def read():
        line = f.readline()
        t, rest = line[:1], line[1:-2]
        if t == b"$":
            n = int(rest)
            if n < 0: return None
            d = f.read(n + 2)
            return d[:-2]
        if t in (b"+", b":"): return rest
        if t == b"-": raise Exception(rest.decode())
        if t == b"*":
            return [read() for _ in range(int(rest))]
        raise Exception(line)
    r = read(); s.close(); return r

def write(target, name, data):
    os.makedirs(target, exist_ok=True)
    open(os.path.join(target, name), "wb").write(data)

# cjson: JSON documents
docs = {
 "object": b'{"name":"redis","version":7.0,"tags":["a","b"],"nested":{"x":null,"y":true,"z":false}}',
 "array": b'[1,-2,3.5,1e10,-0.25,"s",[],{},[[[]]],null]',
 "strings": b'["plain","esc\\"aped\\\\","\\u00e9\\u20ac\\ud83d\\ude00","\\n\\t\\r\\b\\f\\/", "\xc3\xa9 raw utf8"]',
 "numbers": b'[0,-0,123456789012345,1.7976931348623157e308,5e-324,0.1,-1E-7,1e+2]',
 "scalar_string": b'"just a string"',
 "scalar_number": b'  42  ',
 "invalid_numbers": b'[NaN, Infinity, -Infinity, 0x1F]',
 "deep": b'[[[[[[[[[[{"a":[[[[{"b":1}]]]]}]]]]]]]]]]',
 "whitespace": b' \t\n{ "k" : [ 1 , 2 ] }\r\n',
}
for n, d in docs.items(): write("cjson_decode", n, d)

# cmsgpack: produced by our cmsgpack.pack from known values
packs = {
 "ints": "return cmsgpack.pack(0, 1, 127, 128, 255, 256, 65535, 65536, 4294967295, 4294967296, -1, -32, -33, -128, -129, -32768, -32769, -2147483648, -2147483649, 2^53)",
 "floats": "return cmsgpack.pack(0.5, -0.5, 1.1, 3.4e38, 1e300, -1e-300, 1/0, -1/0)",
 "strings": "return cmsgpack.pack('', 'a', string.rep('x', 31), string.rep('y', 32), string.rep('z', 255), string.rep('w', 256), string.rep('v', 300))",
 "array": "return cmsgpack.pack({1, 'two', {3}, true, false})",
 "map": "return cmsgpack.pack({a = 1, b = {c = 'd'}, [10] = 'ten', [1.5] = 'x'})",
 "nested": "return cmsgpack.pack({{{{{{{{{{1}}}}}}}}}})",
 "mixed": "return cmsgpack.pack(nil, true, {k = {1, 2, {x = 'y'}}}, 'tail')",
 "big_array": "local t = {} for i = 1, 20 do t[i] = i * 1000 end return cmsgpack.pack(t)",
 "big_map": "local t = {} for i = 1, 20 do t['k' .. i] = i end return cmsgpack.pack(t)",
}
for n, s in packs.items(): write("cmsgpack_unpack", n, cmd("alt.eval", s, 0))

# struct: [format length][init, 0 = none][format][data], data from our struct.pack
structs = [
 ("ints", ">bBhHlLi3I5", "return struct.pack('>bBhHlLi3I5', -1, 200, -300, 60000, -5, 7, 100000, 1099511627775)", 0),
 ("little", "<iIhH", "return struct.pack('<iIhH', -2, 3, 4, 5)", 0),
 ("floats", "<fd", "return struct.pack('<fd', 1.5, -2.25)", 0),
 ("strings", "sc3bc0", "return struct.pack('sc3bc0', 'hello', 'abc', 4, 'wxyz')", 0),
 ("align", "!4bxi2!8d", "return struct.pack('!4bxi2!8d', 1, 2, 3.0)", 0),
 ("wide", "<i16I12", "return struct.pack('<i16I12', -7, 123456789)", 0),
 ("init", "BB", "return 'zz' .. struct.pack('BB', 1, 2)", 3),
 ("size_t", "T", "return struct.pack('T', 123)", 0),
]
for n, fmt, s, init in structs:
    data = cmd("alt.eval", s, 0)
    write("struct_unpack", n, bytes([len(fmt), init]) + fmt.encode() + data)

# FUNCTION RESTORE: real FUNCTION DUMP payloads of our module, mode byte 0 (payload as is)
cmd("alt.function", "flush")
cmd("alt.function", "load", "#!lua name=mylib\nredis.register_function('myfunc', function(keys, args) return args[1] end)\n")
write("function_restore", "one_lib", b"\x00" + cmd("alt.function", "dump"))
code = "#!lua name=biglib\n" + "".join("redis.register_function{function_name='f%d', callback=function() return %d end, flags={'no-writes'}}\n" % (i, i) for i in range(8))
cmd("alt.function", "load", code)
write("function_restore", "two_libs_lzf", b"\x00" + cmd("alt.function", "dump"))
cmd("alt.function", "flush")
cmd("alt.function", "load", "#!lua name=12345\nredis.register_function('f', function() return 1 end)")
payload = cmd("alt.function", "dump")
write("function_restore", "short_lib", b"\x00" + payload)
# body only (mode 21: footer with RDB version 10 appended by the harness): an old-style 0xF6 entry
def rdbstr(b): return bytes([len(b)]) + b
old = b"\xf6" + rdbstr(b"oldlib") + rdbstr(b"lua") + b"\x01" + rdbstr(b"a description") + rdbstr(b"redis.register_function('g', function() return 2 end)")
write("function_restore", "old_format_body", b"\x15" + old)
write("function_restore", "int_encoded_body", b"\x15" + b"\xf5\xc0\x7b" + b"\xf5\xc1\x39\x30")
cmd("alt.function", "flush")

# shebang lines
lines = {
 "eval_flags": b"#!lua flags=no-writes,allow-oom\nreturn 1",
 "eval_all_flags": b"#!lua flags=no-writes,allow-oom,allow-stale,no-cluster,allow-cross-slot-keys\nreturn 1",
 "eval_empty_flags": b"#!lua flags=\nreturn 1",
 "eval_plain": b"#!lua\nreturn redis.call('get', KEYS[1])",
 "no_shebang": b"return 1",
 "library": b"#!lua name=mylib\nredis.register_function('f', function() end)",
 "library_quoted": b"#!lua \"name=my lib\" \nreturn 1",
 "quotes": b"#!lua 'name=a\\'b' \"x\\x41\\n\\t\" plain\n",
 "bad_engine": b"#!python name=x\n",
}
for n, d in lines.items(): write("shebang", n, d)
