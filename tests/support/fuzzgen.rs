//! The differential fuzzer's grammar: random, bounded Lua scripts (with the keyspace set up
//! before them, KEYS and ARGV) built as a tree that the shrinker can cut. Shared by
//! `tests/fuzz_slice.rs` and `examples/difffuzz.rs` (`make fuzz`); running, comparing and
//! shrinking are in fuzzrun.rs. Everything follows from one seed (splitmix64, no crate).
//!
//! Bounds: loops run at most 4 times and nest at most twice, `string.rep` counts stay under
//! 20, pattern subjects are short, nothing recurses; only the busy cases loop forever (some
//! inside coroutines). Errors that escape the script are
//! strings, numbers, nil or `{err=<string|number>}`: native Redis crashes on any other table.

/// splitmix64: small, seedable, the same sequence everywhere.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x5DEE_CE66_D1CE_4E5B)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// 0..n (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    pub fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    pub fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

/// What the shrinker may do with a node: remove a statement, replace an expression.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    Expr,
    Stmt,
}

#[derive(Clone, Debug)]
pub enum Part {
    T(String),
    N(Node),
}

#[derive(Clone, Debug)]
pub struct Node {
    pub kind: Kind,
    pub parts: Vec<Part>,
}

impl From<&str> for Part {
    fn from(s: &str) -> Part {
        Part::T(s.to_string())
    }
}
impl From<String> for Part {
    fn from(s: String) -> Part {
        Part::T(s)
    }
}
impl From<Node> for Part {
    fn from(n: Node) -> Part {
        Part::N(n)
    }
}

macro_rules! ex {
    ($($p:expr),* $(,)?) => { Node { kind: Kind::Expr, parts: vec![$(Part::from($p)),*] } };
}
macro_rules! st {
    ($($p:expr),* $(,)?) => { Node { kind: Kind::Stmt, parts: vec![$(Part::from($p)),*] } };
}

impl Node {
    pub fn leaf(text: &str) -> Node {
        ex!(text)
    }

    /// A statement list (the script, a body): its parts are statements.
    pub fn block(stmts: Vec<Node>) -> Node {
        Node { kind: Kind::Stmt, parts: stmts.into_iter().map(Part::N).collect() }
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        self.render_into(&mut out);
        out
    }

    fn render_into(&self, out: &mut String) {
        for p in &self.parts {
            match p {
                Part::T(t) => out.push_str(t),
                Part::N(n) => n.render_into(out),
            }
        }
        if self.kind == Kind::Stmt && !out.ends_with('\n') {
            out.push('\n');
        }
    }

    /// Nodes in preorder (self included).
    pub fn size(&self) -> usize {
        1 + self.parts.iter().map(|p| if let Part::N(n) = p { n.size() } else { 0 }).sum::<usize>()
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Ty {
    Str,
    Num,
    Bool,
    Tbl,
    Any,
    Meta,
    Co,
}

/// One generated case: plain setup commands, then one script with KEYS and ARGV.
#[derive(Clone, Debug)]
pub struct Case {
    pub setup: Vec<Vec<String>>,
    pub script: Node,
    pub keys: Vec<String>,
    pub args: Vec<String>,
    /// The script never ends by itself: run it under busy/kill.
    pub busy: bool,
}

const KEYNAMES: [&str; 3] = ["k:1", "k:2", "k:3"];

const STRS: &[&str] = &[
    "''",
    "'a'",
    "'abc'",
    "'123'",
    "'-7'",
    "'3.5'",
    "' 12 '",
    "'1e3'",
    "'0x1A'",
    "'a\\0b'",
    "'\\r\\n'",
    "'one\\ntwo'",
    "'h\\195\\169llo'",
    "'%d'",
    "'k:1'",
    "'{\"a\":1}'",
    "'[1,2,3]'",
    "'nan'",
    "'inf'",
    "'9007199254740993'",
    "'9223372036854775807'",
    "'-9223372036854775808'",
    "'-0'",
    "'OK'",
    "'ERR x'",
    "'WRONGTYPE y'",
    "'  spaced  '",
    "'Z'",
    "'10'",
    "'0'",
    "'2.50'",
    "'x y'",
];
const NUMS: &[&str] = &[
    "0", "1", "-1", "2", "3", "7", "10", "42", "0.5", "-2.5", "1e3", "3.99", "-3.99", "100.5", "0.1", "1e15", "2^53",
    "2^63", "-2^63", "(1/0)", "(-1/0)", "(0/0)", "-0.0", "255", "65536", "2^31", "-(2^31)",
];
const PATTERNS: &[&str] = &[
    "'%d+'",
    "'(a)(b)'",
    "'[a-'",
    "'%'",
    "'%b()'",
    "'a*'",
    "'.-'",
    "'^k'",
    "'%f[%w]%w+'",
    "'(%w+):(%w+)'",
    "'%s'",
    "'[^%d]'",
    "'()'",
    "'%1'",
    "'x?y?z?'",
    "'[%]]'",
    "'.'",
    "''",
];
const JSON: &[&str] = &[
    "'[1,2,3]'",
    "'{\"a\":1,\"b\":[true,false,null]}'",
    "'[]'",
    "'{}'",
    "'\"str\"'",
    "'1.5'",
    "'[1,null,3]'",
    "'bad json'",
    "'{\"x\":{\"y\":[1.25e2,-0]}}'",
    "'[[[]]]'",
    "'\"\\\\u00e9\"'",
];
const FORMATS: &[(&str, Ty)] = &[
    ("'%d'", Ty::Num),
    ("'%5.2f'", Ty::Num),
    ("'%s'", Ty::Str),
    ("'%q'", Ty::Str),
    ("'%x'", Ty::Num),
    ("'%g'", Ty::Num),
    ("'%c'", Ty::Num),
    ("'%-5s|'", Ty::Str),
    ("'%05d'", Ty::Num),
    ("'%.3s'", Ty::Str),
    ("'%e'", Ty::Num),
    ("'%i %%'", Ty::Num),
];
const STRUCT_FMTS: &[&str] = &["'>i4'", "'<h'", "'B'", "'>d'", "'<I2'", "'l'", "'>b'"];

pub struct Gen<'r> {
    rng: &'r mut Rng,
    scopes: Vec<Vec<(String, Ty)>>,
    next_var: usize,
    loops: usize,
    nesting: usize,
    nkeys: usize,
    nargs: usize,
    /// Busy scripts may not write (a killed script must be killable, not UNKILLABLE).
    writes: bool,
}

/// The case number `n` of a run seeded `seed`: the same pair gives the same case.
pub fn case(seed: u64, n: u64, busy: bool) -> Case {
    let mut rng = Rng::new(seed.wrapping_mul(0x1000_0000_01B3) ^ n.wrapping_mul(0x9E37_79B9));
    let nkeys = 1 + rng.below(3);
    let nargs = rng.below(4);
    let setup = setup(&mut rng);
    let keys = KEYNAMES[..nkeys].iter().map(|k| k.to_string()).collect();
    let arg_pool = ["1", "x", "-5", "3.5", "", "10", "abc", "9223372036854775808", "0.1", "hello world"];
    let args = (0..nargs).map(|_| arg_pool[rng.below(arg_pool.len())].to_string()).collect();
    let mut g =
        Gen { rng: &mut rng, scopes: vec![Vec::new()], next_var: 0, loops: 0, nesting: 0, nkeys, nargs, writes: !busy };
    let mut stmts = Vec::new();
    let n = 2 + g.rng.below(if busy { 3 } else { 8 });
    for _ in 0..n {
        stmts.push(g.stmt(2));
    }
    if busy {
        stmts.push(st!(g.rng.pick(BUSY_LOOPS)));
    } else {
        stmts.push(g.ret());
        if g.rng.chance(3) {
            stmts.push(st!(g.rng.pick(SYNTAX_ERRORS)));
        }
    }
    Case { setup, script: Node::block(stmts), keys, args, busy }
}

/// Loops that only SCRIPT KILL ends, in coroutines too. The kill error is
/// raised again on every line, so `pcall` cannot swallow it for good.
const BUSY_LOOPS: &[&str] = &[
    "while true do end",
    "local n = 0 while true do n = n + 1 end",
    "for i = 1, 1e12 do local s = tostring(i) end",
    "while true do pcall(function() local x = 1 end) end",
    "pcall(function() while true do end end) return 'after'",
    "local ok, e = pcall(function() while true do end end)\nreturn {ok and 1 or 0, type(e)}",
    "while true do redis.call('exists', 'k:1') end",
    "while true do redis.pcall('nosuchcommand') end",
    "local t = {} while true do t[1] = #t end",
    "coroutine.wrap(function() while true do end end)()",
    "while true do coroutine.resume(coroutine.create(function() while true do end end)) end",
    "local co = coroutine.wrap(function() while true do pcall(function() while true do end end) end end) \
     while true do pcall(co) end",
];

const SYNTAX_ERRORS: &[&str] =
    &["local = 1", "return return", "x +", "end", "'unterminated", "local t = {1, 2", "f(", "goto x", "[[open"];

fn setup(rng: &mut Rng) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    for k in KEYNAMES {
        let cmd: Vec<&str> = match rng.below(8) {
            0 => vec!["SET", k, "hello"],
            1 => vec!["SET", k, "12"],
            2 => vec!["HSET", k, "f", "v", "n", "5"],
            3 => vec!["RPUSH", k, "3", "1", "b", "2"],
            4 => vec!["SADD", k, "1", "2", "30"],
            5 => vec!["SADD", k, "x", "y"],
            6 => vec!["ZADD", k, "1.5", "a", "-2", "b", "3", "c"],
            _ => continue,
        };
        out.push(cmd.into_iter().map(String::from).collect());
    }
    out
}

impl Gen<'_> {
    fn var(&mut self, ty: Ty) -> Option<String> {
        let found: Vec<&String> =
            self.scopes.iter().flatten().filter(|(_, t)| *t == ty || ty == Ty::Any).map(|(n, _)| n).collect();
        if found.is_empty() {
            return None;
        }
        let i = self.rng.below(found.len());
        Some(found[i].clone())
    }

    fn declare(&mut self, prefix: &str, ty: Ty) -> String {
        self.next_var += 1;
        let name = format!("{prefix}{}", self.next_var);
        if let Some(scope) = self.scopes.last_mut() {
            scope.push((name.clone(), ty));
        }
        name
    }

    /// A statement list in its own scope.
    fn body(&mut self, max: usize, d: usize) -> Node {
        self.scopes.push(Vec::new());
        self.nesting += 1;
        let n = self.rng.below(max + 1);
        let stmts = (0..n).map(|_| self.stmt(d)).collect();
        self.nesting -= 1;
        self.scopes.pop();
        Node::block(stmts)
    }

    fn key(&mut self) -> Node {
        if self.rng.chance(70) {
            ex!(format!("KEYS[{}]", 1 + self.rng.below(self.nkeys)))
        } else {
            ex!(self.rng.pick(&["'k:1'", "'k:2'", "'k:3'", "'k:9'"]))
        }
    }

    /// An argument of redis.call: mostly strings and numbers, sometimes what it refuses.
    fn arg(&mut self, d: usize) -> Node {
        match self.rng.below(20) {
            0..=8 => self.str(d.min(1)),
            9..=15 => self.num(d.min(1)),
            16 if self.nargs > 0 => ex!(format!("ARGV[{}]", 1 + self.rng.below(self.nargs))),
            17 => ex!(self.rng.pick(&["nil", "true", "{}", "cjson.null", "function() end"])),
            _ => ex!(self.rng.pick(&["'f'", "'n'", "'a'", "'b'", "'100'"])),
        }
    }

    fn call(&mut self, write: bool, d: usize) -> Node {
        let how = if self.rng.chance(30) { "redis.pcall(" } else { "redis.call(" };
        let k = self.key();
        let (name, rest): (&str, Vec<Node>) = if write && self.writes {
            match self.rng.below(22) {
                0 => ("'set'", vec![self.arg(d)]),
                1 => ("'set'", vec![self.arg(d), ex!("'EX'"), ex!("100")]),
                2 => ("'setnx'", vec![self.arg(d)]),
                3 => ("'getset'", vec![self.arg(d)]),
                4 => ("'mset'", vec![self.arg(d), self.key(), self.arg(d)]),
                5 => ("'append'", vec![self.arg(d)]),
                6 => ("'incr'", vec![]),
                7 => ("'incrby'", vec![self.arg(d)]),
                8 => ("'incrbyfloat'", vec![self.arg(d)]),
                9 => ("'del'", vec![]),
                10 => ("'hset'", vec![self.arg(d), self.arg(d)]),
                11 => ("'hincrby'", vec![self.arg(d), self.arg(d)]),
                12 => ("'lpush'", vec![self.arg(d), self.arg(d)]),
                13 => ("'rpush'", vec![self.arg(d)]),
                14 => ("'lpop'", vec![]),
                15 => ("'sadd'", vec![self.arg(d), self.arg(d)]),
                16 => ("'zadd'", vec![self.arg(d), self.arg(d)]),
                17 => ("'zincrby'", vec![self.arg(d), self.arg(d)]),
                18 => ("'expire'", vec![ex!("100")]),
                19 => ("'setex'", vec![ex!("100"), self.arg(d)]),
                20 => ("'psetex'", vec![ex!("100000"), self.arg(d)]),
                _ => ("'msetnx'", vec![self.arg(d)]),
            }
        } else {
            // SORT is a write command: a busy script that ran it is UNKILLABLE.
            let n = if self.writes { 26 } else { 24 };
            match self.rng.below(n) {
                0 => ("'get'", vec![]),
                1 => ("'strlen'", vec![]),
                2 => ("'exists'", vec![]),
                3 => ("'type'", vec![]),
                4 => ("'object'", vec![]),
                5 => ("'llen'", vec![]),
                6 => ("'lrange'", vec![ex!("0"), ex!("-1")]),
                7 => ("'hget'", vec![self.arg(d)]),
                8 => ("'hgetall'", vec![]),
                9 => ("'hkeys'", vec![]),
                10 => ("'smembers'", vec![]),
                11 => ("'sismember'", vec![self.arg(d)]),
                12 => ("'scard'", vec![]),
                13 => ("'zrange'", vec![ex!("0"), ex!("-1"), ex!("'WITHSCORES'")]),
                14 => ("'zscore'", vec![self.arg(d)]),
                24 => ("'sort'", vec![]),
                16 => ("'echo'", vec![self.arg(d)]),
                17 => ("'ping'", vec![]),
                18 => ("'nosuchcmd'", vec![]),
                19 => ("'get'", vec![self.arg(d)]),
                20 => ("'lindex'", vec![self.arg(d)]),
                21 => ("'zrangebyscore'", vec![ex!("'-inf'"), ex!("'+inf'")]),
                22 => ("'hlen'", vec![]),
                23 => ("'zcard'", vec![]),
                15 => ("'dbsize'", vec![]),
                _ => ("'sort'", vec![ex!("'ALPHA'")]),
            }
        };
        let mut parts: Vec<Part> = vec![how.into(), name.into()];
        match name {
            "'ping'" | "'dbsize'" | "'nosuchcmd'" => {}
            "'object'" => parts.extend([", 'encoding', ".into(), Part::N(k)]),
            _ => parts.extend([", ".into(), Part::N(k)]),
        }
        for r in rest {
            parts.push(", ".into());
            parts.push(Part::N(r));
        }
        parts.push(")".into());
        Node { kind: Kind::Expr, parts }
    }

    fn str(&mut self, d: usize) -> Node {
        if d == 0 || self.rng.chance(35) {
            return match self.rng.below(10) {
                0..=5 => ex!(self.rng.pick(STRS)),
                6 if self.nargs > 0 => ex!(format!("ARGV[{}]", 1 + self.rng.below(self.nargs))),
                7 => ex!(format!("KEYS[{}]", 1 + self.rng.below(self.nkeys))),
                _ => self.var(Ty::Str).map(|v| ex!(v)).unwrap_or_else(|| ex!(self.rng.pick(STRS))),
            };
        }
        let d1 = d - 1;
        match self.rng.below(22) {
            0 => ex!("(", self.str(d1), " .. ", self.str(d1), ")"),
            1 => ex!("(", self.str(d1), " .. ", self.num(d1), ")"),
            2 => ex!("string.rep(", self.str(d1), ", ", format!("{}", self.rng.below(20)), ")"),
            3 => ex!("string.sub(", self.str(d1), ", ", self.small(), ", ", self.small(), ")"),
            4 => ex!(self.rng.pick(&["string.upper(", "string.lower(", "string.reverse("]), self.str(d1), ")"),
            5 => {
                let (fmt, ty) = FORMATS[self.rng.below(FORMATS.len())];
                // A mismatch, never a table: `%s` of a table prints its address.
                let arg = if self.rng.chance(85) { self.typed(ty, d1) } else { self.typed(Ty::Bool, d1) };
                ex!("string.format(", fmt, ", ", arg, ")")
            }
            6 => ex!("tostring(", self.rng.pick(&["", "nil", "true", "false"]), ")"),
            7 => ex!("tostring(", self.num(d1), ")"),
            8 => ex!("table.concat(", self.tbl(d1), ", ", self.rng.pick(&["''", "','", "' '"]), ")"),
            9 => ex!("cjson.encode(", self.any(d1), ")"),
            10 => ex!("cmsgpack.pack(", self.any(d1), ", ", self.any(d1), ")"),
            11 => {
                let f = self.rng.pick(STRUCT_FMTS);
                ex!("struct.pack(", f, ", ", self.num(d1), ")")
            }
            12 => ex!("redis.sha1hex(", self.str(d1), ")"),
            13 => ex!("type(", self.any(d1), ")"),
            14 => {
                let repl = match self.rng.below(4) {
                    0 => ex!("'<%0>'"),
                    1 => ex!("{a = 'A', ['1'] = 1}"),
                    2 => ex!("function(c) return ", self.rng.pick(&["c .. c", "nil", "false", "#c", "{}"]), " end"),
                    _ => self.str(0),
                };
                ex!("(string.gsub(", self.subject(), ", ", self.rng.pick(PATTERNS), ", ", repl, "))")
            }
            15 => ex!("(string.match(", self.subject(), ", ", self.rng.pick(PATTERNS), ") or '')"),
            16 => ex!("string.char(", self.rng.pick(&["72, 105", "0", "255, 1", "256", "-1", ""]), ")"),
            17 => ex!("bit.tohex(", self.num(d1), ")"),
            // Only commands whose reply is a string or nil: `%s` of a table prints an address.
            18 => {
                let k = self.key();
                let (name, extra) = match self.rng.below(5) {
                    0 => ("'get'", None),
                    1 => ("'hget'", Some(self.arg(d1))),
                    2 => ("'lindex'", Some(self.arg(d1))),
                    3 => ("'zscore'", Some(self.arg(d1))),
                    _ => ("'echo'", None),
                };
                match extra {
                    Some(a) => ex!("(redis.call(", name, ", ", k, ", ", a, ") or '')"),
                    None => ex!("(redis.call(", name, ", ", k, ") or '')"),
                }
            }
            19 => ex!("cjson.encode(cjson.decode(", self.rng.pick(JSON), "))"),
            20 => ex!("string.format('%q', ", self.str(d1), ")"),
            _ => match self.var(Ty::Co) {
                Some(co) => ex!("coroutine.status(", co, ")"),
                None => ex!("coroutine.status(coroutine.create(function() end))"),
            },
        }
    }

    /// A short string to match patterns against (no backtracking blow-up).
    fn subject(&mut self) -> Node {
        match self.rng.below(4) {
            0 => ex!(format!("KEYS[{}]", 1 + self.rng.below(self.nkeys))),
            1 => ex!("string.rep(", self.rng.pick(STRS), ", ", format!("{}", self.rng.below(6)), ")"),
            _ => ex!(self.rng.pick(&["'k:1 a1b2 (x) ab'", "'hello world'", "'aaa'", "'(()())'", "''", "'key:value'"])),
        }
    }

    fn small(&mut self) -> String {
        format!("{}", self.rng.below(11) as i64 - 5)
    }

    fn num(&mut self, d: usize) -> Node {
        if d == 0 || self.rng.chance(35) {
            return match self.rng.below(10) {
                0..=6 => ex!(self.rng.pick(NUMS)),
                7 if self.rng.chance(10) => ex!(self.rng.pick(&["1e309", "-1e309"])),
                _ => self.var(Ty::Num).map(|v| ex!(v)).unwrap_or_else(|| ex!(self.rng.pick(NUMS))),
            };
        }
        let d1 = d - 1;
        match self.rng.below(18) {
            0 | 1 => {
                ex!("(", self.num(d1), self.rng.pick(&[" + ", " - ", " * ", " / ", " % ", " ^ "]), self.num(d1), ")")
            }
            2 => ex!("-", self.num(d1)),
            3 => {
                let f = self.rng.pick(&["floor", "ceil", "abs", "sqrt", "exp", "log", "log10", "modf", "frexp"]);
                ex!("math.", f, "(", self.num(d1), ")")
            }
            4 => {
                let f = self.rng.pick(&["fmod", "max", "min", "pow", "ldexp", "atan2"]);
                ex!("math.", f, "(", self.num(d1), ", ", self.num(d1), ")")
            }
            5 => ex!(self.rng.pick(&["#", "string.len("]), self.str(d1), ")").fix_len(),
            6 => ex!("#", self.tbl(d1)),
            7 => ex!("tonumber(", self.str(d1), ")"),
            8 => ex!("tonumber(", self.str(d1), ", ", self.rng.pick(&["2", "16", "36", "10", "1"]), ")"),
            9 => ex!("string.byte(", self.str(d1), ", ", self.small(), ")"),
            10 => ex!("select('#', ", self.any(d1), ", ", self.any(d1), ")"),
            11 => {
                let f = self.rng.pick(&["band", "bor", "bxor", "lshift", "rshift", "arshift"]);
                ex!("bit.", f, "(", self.num(d1), ", ", self.num(d1), ")")
            }
            12 => ex!("bit.", self.rng.pick(&["bnot", "tobit", "bswap"]), "(", self.num(d1), ")"),
            13 => ex!("(string.find(", self.subject(), ", ", self.rng.pick(PATTERNS), ") or 0)"),
            // Only commands whose reply is an integer (a table could reach tostring()).
            14 => {
                let k = self.key();
                let reads = ["'strlen'", "'exists'", "'llen'", "'scard'", "'hlen'", "'zcard'"];
                let writes = ["'incr'", "'del'", "'append'", "'sadd'", "'rpush'", "'decr'"];
                let name =
                    if self.writes && self.rng.chance(50) { self.rng.pick(&writes) } else { self.rng.pick(&reads) };
                if name == "'append'" || name == "'sadd'" || name == "'rpush'" {
                    ex!("redis.call(", name, ", ", k, ", ", self.arg(d1), ")")
                } else {
                    ex!("redis.call(", name, ", ", k, ")")
                }
            }
            15 => {
                let f = self.rng.pick(STRUCT_FMTS);
                ex!("(struct.unpack(", f, ", struct.pack(", f, ", ", self.num(d1), ")))")
            }
            16 => ex!(
                "(math.randomseed(",
                self.rng.pick(NUMS),
                ") or math.random(",
                self.rng.pick(&["", "10", "3, 7"]),
                "))"
            ),
            _ => ex!(self.rng.pick(&["math.huge", "math.pi", "-math.huge"])),
        }
    }

    fn bool(&mut self, d: usize) -> Node {
        if d == 0 || self.rng.chance(25) {
            return self.var(Ty::Bool).map(|v| ex!(v)).unwrap_or_else(|| ex!(self.rng.pick(&["true", "false"])));
        }
        let d1 = d - 1;
        let cmp = self.rng.pick(&[" == ", " ~= ", " < ", " <= ", " > "]);
        match self.rng.below(10) {
            0 | 1 => ex!("(", self.num(d1), cmp, self.num(d1), ")"),
            2 => ex!("(", self.str(d1), cmp, self.str(d1), ")"),
            3 => ex!("(", self.any(d1), cmp, self.any(d1), ")"),
            4 => ex!("not ", self.any(d1)),
            5 => ex!("(", self.bool(d1), self.rng.pick(&[" and ", " or "]), self.any(d1), ")"),
            6 => {
                ex!("(type(", self.any(d1), ") == ", self.rng.pick(&["'table'", "'string'", "'number'", "'nil'"]), ")")
            }
            7 => ex!("rawequal(", self.any(d1), ", ", self.any(d1), ")"),
            8 => ex!("(pcall(", self.fun(d1, true), "))"),
            _ => ex!("(", self.call(false, d1), " == ", self.rng.pick(&["1", "0", "false", "'OK'"]), ")"),
        }
    }

    fn tbl(&mut self, d: usize) -> Node {
        if d == 0 || self.rng.chance(20) {
            return self.var(Ty::Tbl).map(|v| ex!(v)).unwrap_or_else(|| {
                ex!(self.rng.pick(&["{}", "{1, 2, 3}", "{'a', 'b'}", "{1, nil, 3}", "{x = 1, 2}", "{{1}, {2, {3}}}"]))
            });
        }
        let d1 = d - 1;
        match self.rng.below(26) {
            0 => ex!("{", self.any(d1), ", ", self.any(d1), ", ", self.any(d1), "}"),
            1 => ex!("{", self.any(d1), ", nil, ", self.any(d1), "}"),
            2 => ex!("{[1] = ", self.any(d1), ", [3] = ", self.any(d1), ", k = ", self.any(d1), "}"),
            3 => ex!("{", self.tbl(d1), ", {", self.any(d1), "}}"),
            4 => ex!("{err = ", self.str(d1), "}"),
            5 => ex!("{ok = ", self.str(d1), "}"),
            6 => ex!("{double = ", self.num(d1), "}"),
            7 => ex!("{map = {a = ", self.any(d1), ", [", self.str(0), "] = ", self.any(d1), "}}"),
            8 => ex!("{set = {", self.str(0), ", x = true, y = false}}"),
            9 => ex!("{big_number = ", self.str(d1), "}"),
            10 => ex!(
                "{verbatim_string = {format = ",
                self.rng.pick(&["'txt'", "'mkd'", "'x'"]),
                ", string = ",
                self.str(d1),
                "}}"
            ),
            11 => ex!(self.rng.pick(&["redis.error_reply(", "redis.status_reply("]), self.str(d1), ")"),
            12 | 13 => {
                let write = self.rng.chance(30);
                self.call(write, d1)
            }
            14 => ex!("cjson.decode(", self.rng.pick(JSON), ")"),
            15 => ex!("{cmsgpack.unpack(cmsgpack.pack(", self.any(d1), ", ", self.any(d1), "))}"),
            16 => ex!("{string.byte(", self.subject(), ", 1, -1)}"),
            17 => ex!("{unpack(", self.tbl(d1), ")}"),
            18 => ex!("{select(2, ", self.any(d1), ", ", self.any(d1), ", ", self.any(d1), ")}"),
            19 => ex!("{pcall(", self.fun(d1, true), ", ", self.any(d1), ")}"),
            20 => {
                // Caught right here, so any value is fine (an uncaught `error({})` crashes native).
                let v =
                    self.rng.pick(&["{}", "{err = 'E x'}", "'msg'", "'msg', 0", "'msg', 2", "nil", "42", "{code = 1}"]);
                ex!("{pcall(error, ", v, ")}")
            }
            21 => match self.var(Ty::Co) {
                Some(co) => ex!("{coroutine.resume(", co, ", ", self.any(d1), ")}"),
                None => ex!("{coroutine.resume(coroutine.create(", self.fun(d1, true), "))}"),
            },
            22 => self.meta(d1),
            23 => ex!("{string.find(", self.subject(), ", ", self.rng.pick(PATTERNS), ")}"),
            24 => {
                let names: &[&str] =
                    if self.writes { &["'get'", "'nosuch'", "'incr'", "'set'"] } else { &["'get'", "'nosuch'"] };
                let name = self.rng.pick(names);
                ex!("{pcall(redis.call, ", name, ", ", self.key(), ")}")
            }
            _ => {
                let f = self.rng.pick(STRUCT_FMTS);
                ex!("{struct.unpack(", f, ", struct.pack(", f, ", ", self.num(d1), "))}")
            }
        }
    }

    /// A table with metamethods; each returns a value of one fixed type (a `__tostring`
    /// returning a table could become an uncaught table error).
    fn meta(&mut self, d: usize) -> Node {
        // Always a `__tostring`: tostring() of a plain table prints its address.
        let mut mt = vec![ex!("__tostring = function() return ", self.str(0), " end")];
        for _ in 0..self.rng.below(4) {
            mt.push(match self.rng.below(10) {
                0 => ex!("__index = function(t, k) return ", self.str(d.min(1)), " end"),
                1 => ex!("__index = {a = ", self.num(d.min(1)), ", b = 'bee'}"),
                2 => ex!("__add = function(a, b) return ", self.num(d.min(1)), " end"),
                3 => ex!("__le = function(a, b) return true end"),
                4 => ex!("__call = function(self, x) return x end"),
                5 => ex!("__eq = function() return ", self.rng.pick(&["true", "false"]), " end"),
                6 => ex!("__lt = function(a, b) return ", self.rng.pick(&["true", "false", "nil", "1"]), " end"),
                7 => ex!("__concat = function(a, b) return 'cat' end"),
                8 => ex!("__unm = function() return -1 end"),
                _ => ex!("__newindex = function(t, k, v) rawset(t, k, 'set:' .. type(v)) end"),
            });
        }
        let mut parts: Vec<Part> = vec!["setmetatable({".into(), Part::N(self.any(0)), "}, {".into()];
        for (i, m) in mt.into_iter().enumerate() {
            if i > 0 {
                parts.push(", ".into());
            }
            parts.push(Part::N(m));
        }
        parts.push("})".into());
        Node { kind: Kind::Expr, parts }
    }

    /// A function value: no recursion, errors only of the safe kinds. `error` itself only
    /// where a pcall or resume catches what it raises.
    fn fun(&mut self, d: usize, caught: bool) -> Node {
        match self.rng.below(6) {
            0 if caught => {
                ex!(self.rng.pick(&["error", "redis.call", "string.rep", "tonumber", "cjson.decode", "type"]))
            }
            0 => ex!(self.rng.pick(&["redis.call", "string.rep", "tonumber", "cjson.decode", "type"])),
            1 => ex!("function(...) return select('#', ...) end"),
            _ => {
                self.scopes.push(vec![("a".into(), Ty::Any), ("b".into(), Ty::Any)]);
                let body = self.body(2, d.min(1));
                let ret = self.any(d);
                self.scopes.pop();
                ex!("function(a, b) ", body, "return ", ret, " end")
            }
        }
    }

    fn any(&mut self, d: usize) -> Node {
        match self.rng.below(14) {
            0 | 1 => self.str(d),
            2 | 3 => self.num(d),
            4 => self.bool(d),
            5 | 6 => self.tbl(d),
            7 => ex!(self.rng.pick(&["nil", "cjson.null", "KEYS", "ARGV"])),
            8 => self.call(false, d),
            9 => match self.var(Ty::Meta) {
                Some(m) => self.use_meta(m, d),
                None => self.meta(d),
            },
            10 => ex!("(", self.fun(d, false), ")(", self.any(d.saturating_sub(1)), ")"),
            _ => self.var(Ty::Any).map(|v| ex!(v)).unwrap_or_else(|| self.str(d)),
        }
    }

    fn use_meta(&mut self, m: String, d: usize) -> Node {
        match self.rng.below(9) {
            0 => ex!("(", m, ").a"),
            1 => ex!("(", m, ")[", self.str(0), "]"),
            2 => ex!("((", m, ") + ", self.num(d), ")"),
            3 => ex!("tostring(", m, ")"),
            4 => ex!("(", m, ")(", self.any(d), ")"),
            5 => ex!("((", m, ") .. 'x')"),
            6 => ex!("(-(", m, "))"),
            7 => ex!("((", m.clone(), ") < (", m, "))"),
            _ => ex!("rawget(", m, ", 1)"),
        }
    }

    fn typed(&mut self, ty: Ty, d: usize) -> Node {
        match ty {
            Ty::Str => self.str(d),
            Ty::Num => self.num(d),
            Ty::Bool => self.bool(d),
            Ty::Tbl => self.tbl(d),
            _ => self.any(d),
        }
    }

    /// A value for `error()` that native Redis survives.
    fn safe_error(&mut self) -> Node {
        match self.rng.below(9) {
            0 => ex!("'boom'"),
            1 => ex!("'boom', 0"),
            2 => ex!("42"),
            3 => ex!(""),
            4 => ex!("{err = 'MYCODE my message'}"),
            5 => ex!("{err = 42}"),
            6 => ex!("redis.error_reply(", self.str(0), ")"),
            7 => ex!("nil"),
            // Not a variable: a `Str` one may hold what redis.call returned, e.g. a table.
            _ => ex!("'boom', 1"),
        }
    }

    fn stmt(&mut self, d: usize) -> Node {
        let nested_ok = self.nesting < 2;
        match self.rng.below(30) {
            0..=7 => {
                let ty = *[Ty::Str, Ty::Num, Ty::Bool, Ty::Tbl, Ty::Any, Ty::Str, Ty::Num, Ty::Tbl]
                    .get(self.rng.below(8))
                    .unwrap_or(&Ty::Any);
                let e = self.typed(ty, d + 1);
                let v = self.declare("v", ty);
                st!("local ", v, " = ", e)
            }
            8 => {
                // No string growth inside loops: `s = s .. s` four times nested twice is 256x.
                let ty = if self.loops > 0 {
                    Ty::Num
                } else {
                    *[Ty::Str, Ty::Num, Ty::Tbl].get(self.rng.below(3)).unwrap_or(&Ty::Num)
                };
                match self.var(ty) {
                    Some(v) => st!(v, " = ", self.typed(ty, d)),
                    None => st!(self.call(true, d)),
                }
            }
            9..=12 => st!(self.call(true, d)),
            13 if nested_ok => {
                let body = self.body(3, d);
                let ok = self.declare("ok", Ty::Bool);
                let e = self.declare("e", Ty::Any);
                st!("local ", ok, ", ", e, " = pcall(function()\n", body, "end)")
            }
            14 if nested_ok => {
                let c = self.bool(d);
                let then = self.body(3, d);
                if self.rng.chance(50) {
                    let els = self.body(2, d);
                    st!("if ", c, " then\n", then, "else\n", els, "end")
                } else {
                    st!("if ", c, " then\n", then, "end")
                }
            }
            15 if nested_ok && self.loops < 2 => {
                self.loops += 1;
                let n = 1 + self.rng.below(4);
                self.scopes.push(Vec::new());
                let i = self.declare("i", Ty::Num);
                let body = self.body(3, d);
                self.scopes.pop();
                self.loops -= 1;
                st!("for ", i.clone(), " = 1, ", format!("{n}"), " do\n", body, "end")
            }
            16 if nested_ok && self.loops < 2 => {
                self.loops += 1;
                // A table no variable names: a body that inserts into the table it walks
                // would never end.
                let mut t = self.tbl(d.max(1));
                for _ in 0..8 {
                    if !self.scopes.iter().flatten().any(|(n, _)| t.render() == *n) {
                        break;
                    }
                    t = self.tbl(d.max(1));
                }
                if self.scopes.iter().flatten().any(|(n, _)| t.render() == *n) {
                    t = Node::leaf("{1, 2, 3}");
                }
                self.scopes.push(Vec::new());
                let k = self.declare("k", Ty::Any);
                let v = self.declare("x", Ty::Any);
                let body = self.body(2, d);
                self.scopes.pop();
                self.loops -= 1;
                st!("for ", k, ", ", v, " in ", self.rng.pick(&["pairs(", "ipairs("]), t, ") do\n", body, "end")
            }
            17 => match self.var(Ty::Tbl) {
                Some(t) => match self.rng.below(5) {
                    0 => st!("table.insert(", t, ", ", self.any(d), ")"),
                    1 => st!("table.remove(", t, ")"),
                    2 => st!("table.sort(", t, ")"),
                    3 => st!(
                        "table.sort(",
                        t,
                        ", function(a, b) return ",
                        self.rng.pick(&["a > b", "true", "type(a) < type(b)"]),
                        " end)"
                    ),
                    _ => st!(t, "[", self.any(0), "] = ", self.any(d)),
                },
                None => st!("redis.setresp(3)"),
            },
            18 | 19 => st!("redis.setresp(", self.rng.pick(&["3", "3", "2", "4", "'x'", ""]), ")"),
            20 => {
                let e = self.safe_error();
                if self.rng.chance(60) {
                    let c = self.bool(d);
                    st!("if ", c, " then error(", e, ") end")
                } else {
                    st!("error(", e, ")")
                }
            }
            21 if nested_ok => {
                // A coroutine that yields once; its body's loops are bounded.
                self.scopes.push(vec![("a".into(), Ty::Any), ("b".into(), Ty::Any)]);
                let pre = self.body(2, d.min(1));
                let y = self.any(1);
                let post = self.body(1, d.min(1));
                let r = self.any(1);
                self.scopes.pop();
                let co = self.declare("co", Ty::Co);
                st!(
                    "local ",
                    co,
                    " = coroutine.create(function(a, b)\n",
                    pre,
                    "local y = coroutine.yield(",
                    y,
                    ")\n",
                    post,
                    "return ",
                    r,
                    "\nend)"
                )
            }
            22 => match self.var(Ty::Co) {
                Some(co) => {
                    let a = self.any(1);
                    let r = self.declare("r", Ty::Tbl);
                    st!("local ", r, " = {coroutine.resume(", co, ", ", a, ")}")
                }
                None => {
                    let f = self.fun(1, false);
                    let w = self.declare("w", Ty::Any);
                    st!("local ", w, " = coroutine.wrap(", f, ")(", self.any(0), ")")
                }
            },
            23 => {
                let m = self.meta(d);
                let v = self.declare("m", Ty::Meta);
                st!("local ", v, " = ", m)
            }
            24 => match self.var(Ty::Meta) {
                Some(m) => {
                    let e = self.use_meta(m, d);
                    let v = self.declare("v", Ty::Any);
                    st!("local ", v, " = ", e)
                }
                None => st!("redis.setresp(2)"),
            },
            25 if self.rng.chance(25) => st!(self.rng.pick(&[
                "undefined_global = 1",
                "local g = undefined_global",
                "rawset(_G, 'g', 1)",
                "string.x = 1"
            ])),
            26 => st!(self.rng.pick(&[
                "redis.replicate_commands()",
                "redis.set_repl(redis.REPL_ALL)",
                "redis.set_repl(99)",
                "local b = redis.breakpoint()",
                "redis.log(redis.LOG_DEBUG, 'x')"
            ])),
            27 => {
                let e = self.any(d);
                let v = self.declare("v", Ty::Any);
                st!("local ", v, " = ", e)
            }
            _ => {
                let e = self.tbl(d);
                let v = self.declare("t", Ty::Tbl);
                st!("local ", v, " = ", e)
            }
        }
    }

    fn ret(&mut self) -> Node {
        match self.rng.below(8) {
            0 | 1 => st!("return ", self.any(2)),
            2 => st!("return ", self.tbl(2)),
            3 => {
                let names: Vec<String> = self.scopes.iter().flatten().map(|(n, _)| n.clone()).collect();
                st!("return {", names.join(", "), "}")
            }
            4 => st!("return ", self.call(false, 1)),
            5 => st!("return ", self.num(2)),
            6 => st!("return ", self.str(2)),
            _ => match self.var(Ty::Any) {
                Some(v) => st!("return ", v),
                None => st!("return ", self.bool(2)),
            },
        }
    }
}

impl Node {
    /// `#x)` is not Lua: the `#` form of the length alternative takes no parenthesis.
    fn fix_len(mut self) -> Node {
        if let Some(Part::T(t)) = self.parts.first() {
            if t == "#" {
                self.parts.pop();
                let inner = self.parts.pop();
                self.parts = vec!["#(".into()];
                if let Some(p) = inner {
                    self.parts.push(p);
                }
                self.parts.push(")".into());
            }
        }
        self
    }
}
