//! `make bench`: native scripting against ALT.* on one redis-server with the release module.
//! Throughput with redis-benchmark (-c 50 -P 16), native and ALT interleaved A B A B, median
//! ratio of the rounds; then the stall other clients see during flushes (worst PING round trip).
//! One run, printed; nothing here is a pass/fail test.
//!
//! The server also loads the bench's ceiling module (examples/ceiling.rs, built by `make bench`
//! as target/release/examples/libceiling.so): plain module commands that make exactly the
//! RM_Calls a workload's script makes, with ALT's flags, and reply with what the script
//! returns; its rps is what an engine built on RM_Call could reach at most.
//!
//! Sections, in the order they run:
//! - `throughput`: EVALSHA, EVAL (body sent each call) and FCALL against their ALT.* forms and
//!   the ceiling module's command for the same RM_Calls; then the cost of one `redis.call` per
//!   engine, `(1/rps(10 x SET + GET) - 1/rps(return 1)) / 11` (eleven calls against none).
//! - `scale`: EVALSHA against ALT.EVALSHA (and the ceiling module where the script calls
//!   Redis) with N = 10, 1,000, 100,000 elements: LRANGE and HGETALL replies, building N
//!   strings, cjson encode / decode, cmsgpack and struct round trips. Every row's replies are
//!   compared across engines first, and the bench stops if they differ.
//! - `load`: SCRIPT LOAD rate of never-seen scripts, pipelined on one connection.
//! - `memory`: bytes per cached script by each engine's own INFO accounting.
//! - `ceiling`: PING and SCRIPT EXISTS rps, the most any native / module command reaches here,
//!   and the share of it that EVALSHA `return 1` gets (the ceiling module is the per-workload
//!   counterpart, in `throughput` and `scale`).
//! - `stalls`: worst PING round trip of another client during SCRIPT FLUSH and FLUSHALL.
//! - `dropin`: what drop-in mode costs plain commands (GET, SET, PING on a server without the
//!   module, with it and `alt.takeover no`, with `alt.takeover yes`), and EVALSHA served by the
//!   module in drop-in mode against native EVALSHA, interleaved round by round.
//! - `instructions` (only when named): the server's instructions and L1 cache misses per
//!   request of each throughput workload, counted by callgrind on its own server (repeatable
//!   to about 1% where the rps are not; needs valgrind; takes about a minute).
//!
//! Environment: `BENCH_ONLY=load,memory` runs only the named sections (comma-separated;
//! default all); `BENCH_ROUNDS=1` sets the interleaved rounds of throughput, scale, load and ceiling
//! (default 5: ratios on a 2-core machine move by ±0.1 between runs; the stalls use their own
//! `STALL_ROUNDS`).

#[path = "../tests/support/mod.rs"]
mod support;

use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use support::{run_str, sha1hex, Server};

/// What a throughput row calls: the native command, and `ALT.` + the same for the module.
#[derive(Clone, Copy)]
enum Call {
    /// `EVALSHA <sha>`, the script loaded beforehand with SCRIPT LOAD / ALT.SCRIPT LOAD.
    EvalSha,
    /// `EVAL <body>`: the body travels with every call; each engine caches it on the first.
    EvalBody,
    /// `FCALL <function>` of the library in `script`, loaded with FUNCTION LOAD REPLACE /
    /// ALT.FUNCTION LOAD REPLACE.
    Fcall(&'static str),
}

struct Workload {
    name: &'static str,
    call: Call,
    script: &'static str,
    keys: &'static [&'static str],
    args: &'static [&'static str],
    requests: u32,
    /// The ceiling module's command making the same RM_Calls (examples/ceiling.rs), called
    /// with the same keys and arguments; None where the script calls no Redis command.
    ceiling: Option<&'static str>,
    /// The reply is the same on every call (compared across engines before timing).
    steady: bool,
}

const WORKLOADS: &[Workload] = &[
    Workload { name: "return 1", call: Call::EvalSha, script: "return 1", keys: &[], args: &[], requests: 400_000, ceiling: Some("CEILING.RET1"), steady: true },
    Workload {
        name: "INCR KEYS[1]",
        call: Call::EvalSha,
        script: "return redis.call('INCR', KEYS[1])",
        keys: &["bench:counter"],
        args: &[],
        requests: 300_000,
        ceiling: Some("CEILING.INCR"),
        steady: false,
    },
    Workload {
        name: "10 x SET + GET",
        call: Call::EvalSha,
        script: "for i=1,10 do redis.call('SET', KEYS[1], i) end return redis.call('GET', KEYS[1])",
        keys: &["bench:str"],
        args: &[],
        requests: 100_000,
        ceiling: Some("CEILING.TENSET"),
        steady: true,
    },
    Workload {
        name: "HSET + HGETALL",
        call: Call::EvalSha,
        script: "redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) return redis.call('HGETALL', KEYS[1])",
        keys: &["bench:hash"],
        args: &["field", "value"],
        requests: 200_000,
        ceiling: Some("CEILING.HASHRW"),
        steady: true,
    },
    Workload {
        name: "pure-Lua loop",
        call: Call::EvalSha,
        script: "local s=0 for i=1,20000 do s=(s+i*i)%1000003 end return s",
        keys: &[],
        args: &[],
        requests: 3_000,
        ceiling: None,
        steady: true,
    },
    Workload {
        name: "EVAL body: INCR",
        call: Call::EvalBody,
        script: "return redis.call('INCR', KEYS[1])",
        keys: &["bench:ecounter"],
        args: &[],
        requests: 300_000,
        ceiling: Some("CEILING.INCR"),
        steady: false,
    },
    Workload {
        name: "FCALL: INCR",
        call: Call::Fcall("incr1"),
        script: "#!lua name=benchlib\nredis.register_function('incr1', function(keys, args) return redis.call('INCR', keys[1]) end)",
        keys: &["bench:fcounter"],
        args: &[],
        requests: 300_000,
        ceiling: Some("CEILING.INCR"),
        steady: false,
    },
];

impl Workload {
    /// Loads what the calls need into both engines.
    fn prepare(&self, con: &mut redis::Connection) {
        for prefix in ["", "ALT."] {
            match self.call {
                Call::EvalSha => setup(con, &[&format!("{prefix}SCRIPT"), "LOAD", self.script]),
                Call::EvalBody => {}
                Call::Fcall(_) => setup(con, &[&format!("{prefix}FUNCTION"), "LOAD", "REPLACE", self.script]),
            }
        }
    }

    /// The command line redis-benchmark sends; `prefix` is "" (native) or "ALT.".
    fn argv(&self, prefix: &str) -> Vec<String> {
        let (command, target) = match self.call {
            Call::EvalSha => ("EVALSHA", sha1hex(self.script)),
            Call::EvalBody => ("EVAL", self.script.to_string()),
            Call::Fcall(function) => ("FCALL", function.to_string()),
        };
        let mut argv = vec![format!("{prefix}{command}"), target, self.keys.len().to_string()];
        argv.extend(self.keys.iter().chain(self.args).map(|a| a.to_string()));
        argv
    }

    /// The ceiling module's command line for the same work: its command, the keys, the args.
    fn ceiling_argv(&self) -> Option<Vec<String>> {
        let command = self.ceiling?;
        Some(
            std::iter::once(command)
                .chain(self.keys.iter().copied())
                .chain(self.args.iter().copied())
                .map(String::from)
                .collect(),
        )
    }
}

const ROUNDS: usize = 5;

/// A section of the run: its `BENCH_ONLY` name and what it does given the rounds.
type Section = (&'static str, fn(&Server, usize));

/// Every section, in the order they run.
const SECTIONS: &[Section] = &[
    ("throughput", throughput),
    ("scale", scale),
    ("load", load_rate),
    ("memory", |server, _| memory_per_script(server)),
    ("ceiling", ceiling),
    ("stalls", |server, _| flush_stalls(server)),
    ("dropin", dropin),
    ("instructions", |_, _| instructions()),
];

/// Sections that run only when `BENCH_ONLY` names them (slow, or need more than make deps).
const OPT_IN: &[&str] = &["instructions"];

fn main() {
    let rounds = std::env::var("BENCH_ROUNDS").ok().and_then(|r| r.parse().ok()).unwrap_or(ROUNDS);
    let sections = selected_sections();
    let server = Server::start_with(&["--loadmodule", &ceiling_module()], true);
    let mut con = server.con();
    println!("redis-alt bench: redis-server {} on 127.0.0.1:{}, {} cores", version(&mut con), server.port, cores());
    for (i, (_, run)) in sections.iter().enumerate() {
        if i > 0 {
            println!();
        }
        run(&server, rounds);
    }
}

/// The ceiling module (examples/ceiling.rs, a cdylib example) next to this binary, as
/// `make bench` builds it; the bench server loads it beside the main module.
fn ceiling_module() -> String {
    let exe = std::env::current_exe().expect("bench binary path");
    let path = exe.with_file_name(format!("{}ceiling{}", std::env::consts::DLL_PREFIX, std::env::consts::DLL_SUFFIX));
    if !path.exists() {
        eprintln!("{} not found: cargo build --release --example ceiling (make bench builds it)", path.display());
        std::process::exit(2);
    }
    path.to_str().expect("utf-8 path").to_string()
}

/// The sections `BENCH_ONLY` names (comma-separated), all of them without it; exits on an
/// unknown name rather than run something else than asked.
fn selected_sections() -> Vec<Section> {
    let only = std::env::var("BENCH_ONLY").unwrap_or_default();
    let wanted: Vec<String> =
        only.split(',').map(|s| s.trim().to_ascii_lowercase()).filter(|s| !s.is_empty()).collect();
    if let Some(unknown) = wanted.iter().find(|w| !SECTIONS.iter().any(|(name, _)| name == w)) {
        let names: Vec<&str> = SECTIONS.iter().map(|(name, _)| *name).collect();
        eprintln!("BENCH_ONLY: unknown section {unknown:?}; sections are {}", names.join(","));
        std::process::exit(2);
    }
    SECTIONS
        .iter()
        .copied()
        .filter(|(name, _)| if wanted.is_empty() { !OPT_IN.contains(name) } else { wanted.iter().any(|w| w == name) })
        .collect()
}

/// Throughput of each workload: redis-benchmark rps of the native command, of its ALT.* form
/// and of the ceiling module's command making the same RM_Calls (examples/ceiling.rs),
/// interleaved round by round; medians of the rps and of the per-round ratios. Then the cost
/// of one `redis.call` per engine, from the `return 1` and ten-SETs-and-a-GET rows.
fn throughput(server: &Server, rounds: usize) {
    let mut con = server.con();
    println!(
        "throughput: redis-benchmark -c 50 -P 16, native, ALT and ceiling interleaved, {rounds} rounds, median ratio"
    );
    println!(
        "rows call EVALSHA vs ALT.EVALSHA, except `EVAL body:` (EVAL with the body, vs ALT.EVAL) and `FCALL:` (FCALL vs ALT.FCALL);"
    );
    println!("ceiling: a module command making the script's RM_Calls with ALT's flags, no Lua (examples/ceiling.rs)\n");
    print_header("workload");
    let mut medians: Vec<(&str, [f64; 3])> = Vec::new();
    for w in WORKLOADS {
        w.prepare(&mut con);
        let mut argvs = vec![w.argv(""), w.argv("ALT.")];
        argvs.extend(w.ceiling_argv());
        if w.steady {
            same_replies(&mut con, w.name, &argvs);
        } else {
            argvs.iter().for_each(|argv| try_once(&mut con, argv));
        }
        let row = interleaved(server, rounds, w.requests, DEFAULT_SHAPE, &argvs);
        print_row(w.name, &row);
        medians.push((w.name, row.rps));
    }
    // One redis.call's cost: the ten-SETs-and-a-GET script makes 11 calls and `return 1` none;
    // at saturation 1/rps is the server's time per request, so per call, in µs:
    //   (1/rps(10 x SET + GET) - 1/rps(return 1)) / 11 * 1e6
    // (medians of the rps; the SET and GET themselves are in it, as in any redis.call).
    let rps = |name: &str| medians.iter().find(|(n, _)| *n == name).map(|(_, r)| *r);
    if let (Some(ret1), Some(tenset)) = (rps("return 1"), rps("10 x SET + GET")) {
        let per_call = |i: usize| (1.0 / tenset[i] - 1.0 / ret1[i]) / 11.0 * 1e6;
        println!(
            "\nper redis.call, (1/rps(10 x SET + GET) - 1/rps(return 1)) / 11 calls: native {:.2} µs, ALT {:.2} µs, ceiling {:.2} µs",
            per_call(0),
            per_call(1),
            per_call(2)
        );
    }
}

/// redis-benchmark's clients and pipeline depth (`-c`, `-P`) for the fast rows.
const DEFAULT_SHAPE: (u32, u32) = (50, 16);

/// Medians of one row's interleaved runs: rps of native, ALT and ceiling (NaN: not run), and
/// of the per-round ratios ALT/native, ceiling/native, ALT/ceiling.
struct Row {
    rps: [f64; 3],
    ratios: [f64; 3],
}

/// `rounds` rounds of redis-benchmark over `argvs` (native, ALT, then the ceiling's if any),
/// one run of each per round in that order.
fn interleaved(server: &Server, rounds: usize, requests: u32, shape: (u32, u32), argvs: &[Vec<String>]) -> Row {
    let runs: Vec<[f64; 3]> = (0..rounds)
        .map(|_| {
            let mut r = [f64::NAN; 3];
            for (slot, argv) in r.iter_mut().zip(argvs) {
                *slot = benchmark_shaped(server, requests, shape, argv);
            }
            r
        })
        .collect();
    let column = |f: &dyn Fn(&[f64; 3]) -> f64| median(&mut runs.iter().map(f).collect::<Vec<_>>());
    Row {
        rps: [column(&|r| r[0]), column(&|r| r[1]), column(&|r| r[2])],
        ratios: [column(&|r| r[1] / r[0]), column(&|r| r[2] / r[0]), column(&|r| r[1] / r[2])],
    }
}

fn print_header(first: &str) {
    println!(
        "{first:<26} {:>11} {:>11} {:>11} {:>10} {:>10} {:>10}",
        "native rps", "ALT rps", "ceiling rps", "ALT/native", "ceil/nat", "ALT/ceil"
    );
}

fn print_row(name: &str, row: &Row) {
    let [n, a, c] = row.rps.map(rps_cell);
    let [an, cn, ac] = row.ratios.map(|r| if r.is_nan() { "-".to_string() } else { format!("{r:.2}") });
    println!("{name:<26} {n:>11} {a:>11} {c:>11} {an:>10} {cn:>10} {ac:>10}");
}

/// An rps figure: whole numbers, one decimal below 100, `-` when not measured.
fn rps_cell(rps: f64) -> String {
    if rps.is_nan() {
        "-".into()
    } else if rps < 100.0 {
        format!("{rps:.1}")
    } else {
        format!("{rps:.0}")
    }
}

/// Runs each command line once and stops the bench unless all give the same reply (errors
/// included): the rows would compare different work.
fn same_replies(con: &mut redis::Connection, name: &str, argvs: &[Vec<String>]) {
    let replies: Vec<String> =
        argvs.iter().map(|argv| run_str(con, &argv.iter().map(String::as_str).collect::<Vec<_>>())).collect();
    let first = replies.first().cloned().unwrap_or_default();
    if first.starts_with('-') {
        panic!("{name}: {:?} failed: {first}", argvs.first());
    }
    for (argv, reply) in argvs.iter().zip(&replies).skip(1) {
        if *reply != first {
            let cut = |s: &str| s.chars().take(300).collect::<String>();
            eprintln!(
                "{name}: the replies differ, not timing it:\n  {:?}: {}\n  {:?}: {}",
                argvs.first().map(|a| a.first()),
                cut(&first),
                argv.first(),
                cut(reply)
            );
            std::process::exit(1);
        }
    }
}

/// What a scale row's script does with its N.
struct ScaleKind {
    name: &'static str,
    /// The script; N is ARGV[1], or the size of the list / hash KEYS[1].
    script: &'static str,
    /// The data the script reads: a list or a hash of N elements (KEYS[1]), or none.
    data: ScaleData,
    ceiling: Option<&'static str>,
    /// Requests per run for N = 10, 1,000, 100,000 (None: that size is not run).
    requests: [Option<u32>; 3],
}

#[derive(Clone, Copy, PartialEq)]
enum ScaleData {
    None,
    List,
    Hash,
}

const SCALE_SIZES: [u32; 3] = [10, 1_000, 100_000];

/// The scale rows. The pure-Lua ones all build a table of N values first (strings `s1`..`sN`
/// but in the objects row), so `N strings (control)` is their common part; `cjson.decode`
/// decodes a JSON array of N strings the script builds with table.concat. Request counts
/// make the slower engine's run last a tenth to half a second (as measured on the 2-core
/// machine; a run much shorter is within redis-benchmark's millisecond timing).
const SCALE_KINDS: &[ScaleKind] = &[
    ScaleKind {
        name: "#LRANGE 0 -1",
        script: "return #redis.call('LRANGE', KEYS[1], 0, -1)",
        data: ScaleData::List,
        ceiling: Some("CEILING.LRANGELEN"),
        requests: [Some(144_000), Some(5_000), Some(36)],
    },
    ScaleKind {
        name: "LRANGE 0 -1 (reply)",
        script: "return redis.call('LRANGE', KEYS[1], 0, -1)",
        data: ScaleData::List,
        ceiling: Some("CEILING.LRANGE"),
        requests: [Some(128_000), Some(4_000), Some(24)],
    },
    ScaleKind {
        name: "HGETALL (reply)",
        script: "return redis.call('HGETALL', KEYS[1])",
        data: ScaleData::Hash,
        ceiling: Some("CEILING.HGETALL"),
        requests: [Some(112_000), Some(2_000), None],
    },
    ScaleKind {
        name: "N strings (control)",
        script: "local n = tonumber(ARGV[1]) local t = {} for i = 1, n do t[i] = 's' .. i end return #t",
        data: ScaleData::None,
        ceiling: None,
        requests: [Some(144_000), Some(3_000), Some(16)],
    },
    ScaleKind {
        name: "cjson.encode strings",
        script: "local n = tonumber(ARGV[1]) local t = {} for i = 1, n do t[i] = 's' .. i end return #cjson.encode(t)",
        data: ScaleData::None,
        ceiling: None,
        requests: [Some(80_000), Some(1_400), Some(10)],
    },
    ScaleKind {
        name: "cjson.decode strings",
        script: "local n = tonumber(ARGV[1]) local t = {} for i = 1, n do t[i] = '\"s' .. i .. '\"' end \
                 local d = cjson.decode('[' .. table.concat(t, ',') .. ']') return {#d, d[n]}",
        data: ScaleData::None,
        ceiling: None,
        requests: [Some(64_000), Some(900), Some(5)],
    },
    ScaleKind {
        name: "cjson enc+dec objects",
        script: "local n = tonumber(ARGV[1]) local t = {} \
                 for i = 1, n do t[i] = {id = i, name = 'n' .. i, tags = {'a', 'b'}} end \
                 local d = cjson.decode(cjson.encode(t)) return {#d, d[n].id, d[n].name, d[n].tags[2]}",
        data: ScaleData::None,
        ceiling: None,
        // Eight at 100,000 (0.15 s each): with two, the row moved by ±0.1 between runs.
        requests: [Some(9_600), Some(120), Some(8)],
    },
    ScaleKind {
        name: "cmsgpack pack+unpack",
        script: "local n = tonumber(ARGV[1]) local t = {} for i = 1, n do t[i] = 's' .. i end \
                 local u = cmsgpack.unpack(cmsgpack.pack(t)) return {#u, u[n]}",
        data: ScaleData::None,
        ceiling: None,
        requests: [Some(48_000), Some(900), Some(5)],
    },
    ScaleKind {
        name: "struct pack+unpack ints",
        script: "local n = tonumber(ARGV[1]) local s = 0 \
                 for i = 1, n do s = s + struct.unpack('>i4', struct.pack('>i4', i)) end return s",
        data: ScaleData::None,
        ceiling: None,
        requests: [Some(48_000), Some(2_000), Some(24)],
    },
];

/// redis-benchmark's shape for a scale row: the fast (N = 10) rows as the throughput ones;
/// the slow ones unpipelined (a few requests, each long) on 8 connections.
fn scale_shape(n: u32) -> (u32, u32) {
    if n <= 10 {
        DEFAULT_SHAPE
    } else {
        (8, 1)
    }
}

/// Lists and hashes of N elements, scripts that build, encode and decode N values: EVALSHA
/// vs ALT.EVALSHA (and the ceiling module for the Redis-calling ones), interleaved, medians.
fn scale(server: &Server, rounds: usize) {
    let mut con = server.con();
    println!(
        "scale: EVALSHA vs ALT.EVALSHA (ceiling: the same RM_Calls, no Lua) with N elements, interleaved, {rounds} rounds, median"
    );
    println!("N = 10: redis-benchmark -c 50 -P 16; larger N: -c 8 -P 1 (few requests, each long)\n");
    print_header("workload (N)");
    for kind in SCALE_KINDS {
        setup(&mut con, &["SCRIPT", "LOAD", kind.script]);
        setup(&mut con, &["ALT.SCRIPT", "LOAD", kind.script]);
        let sha = sha1hex(kind.script);
        for (&n, requests) in SCALE_SIZES.iter().zip(kind.requests) {
            let Some(requests) = requests else { continue };
            let shape = scale_shape(n);
            let requests = requests.div_ceil(shape.1) * shape.1;
            let key = match kind.data {
                ScaleData::None => None,
                ScaleData::List => Some(fill(&mut con, "list", n)),
                ScaleData::Hash => Some(fill(&mut con, "hash", n)),
            };
            let script_argv = |command: &str| {
                let mut argv = vec![command.to_string(), sha.clone()];
                match &key {
                    Some(key) => argv.extend(["1".to_string(), key.clone()]),
                    None => argv.extend(["0".to_string(), n.to_string()]),
                }
                argv
            };
            let mut argvs = vec![script_argv("EVALSHA"), script_argv("ALT.EVALSHA")];
            if let (Some(command), Some(key)) = (kind.ceiling, &key) {
                argvs.push(vec![command.to_string(), key.clone()]);
            }
            let name = format!("{} ({})", kind.name, thousands(n));
            same_replies(&mut con, &name, &argvs);
            print_row(&name, &interleaved(server, rounds, requests, shape, &argvs));
        }
    }
}

/// A list (`kind` "list": `e1`..`eN`) or hash (`kind` "hash": `f<i>` = `v<i>`) of `n`
/// elements under a fresh key, written in batches of 1,000; returns the key.
fn fill(con: &mut redis::Connection, kind: &str, n: u32) -> String {
    let key = format!("bench:scale:{kind}:{n}");
    setup(con, &["DEL", &key]);
    let mut i = 1;
    while i <= n {
        let end = (i + 999).min(n);
        let mut argv = if kind == "list" { vec!["RPUSH".to_string()] } else { vec!["HSET".to_string()] };
        argv.push(key.clone());
        for j in i..=end {
            if kind == "list" {
                argv.push(format!("e{j}"));
            } else {
                argv.extend([format!("f{j}"), format!("v{j}")]);
            }
        }
        try_once(con, &argv);
        i = end + 1;
    }
    key
}

/// 100000 as `100,000`.
fn thousands(n: u32) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Runs a setup command and stops the bench with its reply if it is an error: the numbers
/// after a failed setup would measure error replies.
fn setup(con: &mut redis::Connection, argv: &[&str]) {
    let reply = run_str(con, argv);
    if reply.starts_with('-') {
        panic!("setup {argv:?} failed: {reply}");
    }
}

/// Runs a command once before it is benchmarked and stops on an error reply: redis-benchmark
/// counts error replies as answers and would time them.
fn try_once(con: &mut redis::Connection, argv: &[String]) {
    setup(con, &argv.iter().map(String::as_str).collect::<Vec<_>>());
}

/// Empties both script caches, waiting until the memory is freed.
fn flush_script_caches(con: &mut redis::Connection) {
    setup(con, &["SCRIPT", "FLUSH", "SYNC"]);
    setup(con, &["ALT.SCRIPT", "FLUSH", "SYNC"]);
}

/// Text no earlier run produced, so the scripts it tags are not cached anywhere yet.
fn unique_tag() -> String {
    let nanos = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    format!("{:x}-{nanos:x}", std::process::id())
}

const LOAD_SCRIPTS: usize = 20_000;
const LOAD_BATCH: usize = 1_000;

/// SCRIPT LOAD rate: `LOAD_SCRIPTS` distinct small scripts never seen before (`return <i>`
/// plus a per-run, per-round comment), through one connection in pipelines of `LOAD_BATCH`;
/// the clock covers sending and the replies, not building the commands. Native and ALT
/// interleaved, both caches flushed after every round; medians of the rates and the ratio.
fn load_rate(server: &Server, rounds: usize) {
    let mut con = server.con();
    let tag = unique_tag();
    println!(
        "script load: {LOAD_SCRIPTS} new scripts, pipelined {LOAD_BATCH} per batch on one connection, interleaved, {rounds} rounds, median"
    );
    println!("{:<18} {:>14} {:>14} {:>8}", "command", "native", "ALT", "ALT/native");
    flush_script_caches(&mut con);
    let (mut native, mut alt, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds {
        let mut rate = |prefix: &str| {
            let bodies = (0..LOAD_SCRIPTS).map(|i| format!("return {i} -- {tag} {round}"));
            let pipes = load_pipelines(prefix, bodies, LOAD_BATCH);
            let t = Instant::now();
            run_pipelines(&mut con, &pipes);
            LOAD_SCRIPTS as f64 / t.elapsed().as_secs_f64()
        };
        let (n, a) = (rate(""), rate("ALT."));
        native.push(n);
        alt.push(a);
        ratios.push(a / n);
        flush_script_caches(&mut con);
    }
    println!(
        "{:<18} {:>14} {:>14} {:>8.2}",
        "SCRIPT LOAD",
        format!("{:.0}/s", median(&mut native)),
        format!("{:.0}/s", median(&mut alt)),
        median(&mut ratios)
    );
}

const MEMORY_SCRIPTS: usize = 100_000;

/// One engine's memory figures, in bytes.
#[derive(Clone, Copy)]
struct Memory {
    /// The eval Lua VM.
    vm: f64,
    /// The script cache (entries and bodies).
    cache: f64,
    /// The server process's resident set.
    rss: f64,
}

impl Memory {
    /// Native: INFO memory `used_memory_vm_eval` (Lua's own count, in whole KB) and
    /// `used_memory_scripts_eval`.
    fn native(server: &Server, con: &mut redis::Connection) -> Memory {
        let info = info(con, "memory");
        Memory {
            vm: info_number(&info, "used_memory_vm_eval"),
            cache: info_number(&info, "used_memory_scripts_eval"),
            rss: rss_bytes(server),
        }
    }

    /// ALT: INFO alt `alt_eval_vm_memory` (its VM allocates with the system allocator, so it is
    /// not in used_memory) and `alt_scripts_memory`.
    fn alt(server: &Server, con: &mut redis::Connection) -> Memory {
        let info = info(con, "alt");
        Memory {
            vm: info_number(&info, "alt_eval_vm_memory"),
            cache: info_number(&info, "alt_scripts_memory"),
            rss: rss_bytes(server),
        }
    }
}

/// Memory per cached script: with both caches empty, `MEMORY_SCRIPTS` small distinct scripts
/// go through SCRIPT LOAD, then through ALT.SCRIPT LOAD; each engine's growth by its own INFO
/// accounting (VM + cache) divided by their number. Both VM figures include garbage their
/// collector has not reclaimed yet. The server's RSS growth over each load (/proc) is a
/// cross-check of the accounting; allocators keep freed pages, so it is rough. One run.
fn memory_per_script(server: &Server) {
    let mut con = server.con();
    let tag = unique_tag();
    let per_script = MEMORY_SCRIPTS as f64;
    println!(
        "memory: {MEMORY_SCRIPTS} new scripts loaded into empty caches, growth / {MEMORY_SCRIPTS}; native: INFO memory used_memory_vm_eval + used_memory_scripts_eval, ALT: INFO alt alt_eval_vm_memory + alt_scripts_memory"
    );
    println!("{:<18} {:>14} {:>14} {:>8}", "bytes per script", "native", "ALT", "ALT/native");
    flush_script_caches(&mut con);
    let mut grow = |prefix: &str, measure: fn(&Server, &mut redis::Connection) -> Memory| {
        let before = measure(server, &mut con);
        let bodies = (0..MEMORY_SCRIPTS).map(|i| format!("return {i} -- {tag}"));
        run_pipelines(&mut con, &load_pipelines(prefix, bodies, 10_000));
        let after = measure(server, &mut con);
        Memory {
            vm: (after.vm - before.vm) / per_script,
            cache: (after.cache - before.cache) / per_script,
            rss: (after.rss - before.rss) / per_script,
        }
    };
    let native = grow("", Memory::native);
    let alt = grow("ALT.", Memory::alt);
    flush_script_caches(&mut con);
    let rows = [
        ("total (VM + cache)", native.vm + native.cache, alt.vm + alt.cache),
        ("  Lua VM", native.vm, alt.vm),
        ("  script cache", native.cache, alt.cache),
        ("RSS (cross-check)", native.rss, alt.rss),
    ];
    for (name, n, a) in rows {
        println!("{name:<18} {n:>14.0} {a:>14.0} {:>8.2}", a / n);
    }
}

/// Requests per round of the ceiling's PING and SCRIPT EXISTS runs (they are fast).
const CEILING_REQUESTS: u32 = 1_000_000;

/// The ceiling on this host: redis-benchmark rps of PING (a native command doing nothing) and
/// of SCRIPT EXISTS <sha> vs ALT.SCRIPT EXISTS <sha> (the cheapest module command), next to
/// EVALSHA `return 1` vs ALT.EVALSHA; interleaved, medians of the rps and of per-round ratios.
/// The share of the ceiling is EVALSHA `return 1` rps / SCRIPT EXISTS rps, per engine.
fn ceiling(server: &Server, rounds: usize) {
    let mut con = server.con();
    let script = "return 1";
    let sha = sha1hex(script);
    setup(&mut con, &["SCRIPT", "LOAD", script]);
    setup(&mut con, &["ALT.SCRIPT", "LOAD", script]);
    let argv = |words: &[&str]| -> Vec<String> { words.iter().map(|w| w.to_string()).collect() };
    let runs = [
        (CEILING_REQUESTS, argv(&["PING"])),
        (CEILING_REQUESTS, argv(&["SCRIPT", "EXISTS", &sha])),
        (CEILING_REQUESTS, argv(&["ALT.SCRIPT", "EXISTS", &sha])),
        (400_000, argv(&["EVALSHA", &sha, "0"])),
        (400_000, argv(&["ALT.EVALSHA", &sha, "0"])),
    ];
    for (_, argv) in &runs {
        try_once(&mut con, argv);
    }
    println!("ceiling: redis-benchmark -c 50 -P 16, interleaved, {rounds} rounds, median");
    println!("{:<18} {:>14} {:>14} {:>8}", "command", "native rps", "ALT rps", "ALT/native");
    let rps: Vec<[f64; 5]> =
        (0..rounds).map(|_| runs.each_ref().map(|(requests, argv)| benchmark(server, *requests, argv))).collect();
    let column = |f: &dyn Fn(&[f64; 5]) -> f64| median(&mut rps.iter().map(f).collect::<Vec<_>>());
    println!("{:<18} {:>14.0}", "PING", column(&|r| r[0]));
    for (name, n, a) in [("SCRIPT EXISTS", 1, 2), ("EVALSHA return 1", 3, 4)] {
        println!(
            "{name:<18} {:>14.0} {:>14.0} {:>8.2}",
            column(&|r| r[n]),
            column(&|r| r[a]),
            column(&|r| r[a] / r[n])
        );
    }
    println!(
        "share of the module ceiling: ALT.EVALSHA return 1 / ALT.SCRIPT EXISTS = {:.2} (native: EVALSHA return 1 / SCRIPT EXISTS = {:.2}; SCRIPT EXISTS / PING = {:.2})",
        column(&|r| r[4] / r[2]),
        column(&|r| r[3] / r[1]),
        column(&|r| r[1] / r[0])
    );
}

/// Drop-in mode's cost: plain commands on a server without the module, then on the bench
/// server with `alt.takeover no` and `yes` (the filter sees every command either way), and
/// EVALSHA natively (`no`) against EVALSHA served by the module (`yes`); interleaved, medians.
fn dropin(server: &Server, rounds: usize) {
    let bare = Server::start_with(&[], false);
    let mut con = server.con();
    let set_takeover = |con: &mut redis::Connection, on: &str| setup(con, &["CONFIG", "SET", "alt.takeover", on]);
    let argv = |words: &[&str]| -> Vec<String> { words.iter().map(|w| w.to_string()).collect() };
    let incr = "return redis.call('INCR', KEYS[1])";
    for body in ["return 1", incr] {
        for on in ["no", "yes"] {
            set_takeover(&mut con, on);
            setup(&mut con, &["SCRIPT", "LOAD", body]);
        }
    }
    let plain = [
        ("PING", argv(&["PING"])),
        ("GET", argv(&["GET", "bench:dropin"])),
        ("SET", argv(&["SET", "bench:dropin", "value"])),
    ];
    let scripts = [
        ("EVALSHA return 1", argv(&["EVALSHA", &sha1hex("return 1"), "0"])),
        ("EVALSHA INCR", argv(&["EVALSHA", &sha1hex(incr), "1", "bench:dropin:n"])),
    ];
    println!("dropin: redis-benchmark -c 50 -P 16, {rounds} rounds interleaved, median rps and ratios");
    println!(
        "{:<18} {:>14} {:>14} {:>14} {:>9} {:>9}",
        "command", "no module", "takeover no", "takeover yes", "no/none", "yes/none"
    );
    for (name, argv) in &plain {
        let mut runs: Vec<[f64; 3]> = Vec::new();
        for _ in 0..rounds {
            let none = benchmark(&bare, CEILING_REQUESTS, argv);
            set_takeover(&mut con, "no");
            let off = benchmark(server, CEILING_REQUESTS, argv);
            set_takeover(&mut con, "yes");
            let on = benchmark(server, CEILING_REQUESTS, argv);
            runs.push([none, off, on]);
        }
        let column = |f: &dyn Fn(&[f64; 3]) -> f64| median(&mut runs.iter().map(f).collect::<Vec<_>>());
        println!(
            "{name:<18} {:>14.0} {:>14.0} {:>14.0} {:>9.3} {:>9.3}",
            column(&|r| r[0]),
            column(&|r| r[1]),
            column(&|r| r[2]),
            column(&|r| r[1] / r[0]),
            column(&|r| r[2] / r[0])
        );
    }
    println!("\n{:<18} {:>14} {:>14} {:>9}", "command", "native", "drop-in", "ratio");
    for (name, argv) in &scripts {
        let mut runs: Vec<[f64; 2]> = Vec::new();
        for _ in 0..rounds {
            set_takeover(&mut con, "no");
            let native = benchmark(server, 400_000, argv);
            set_takeover(&mut con, "yes");
            let dropin = benchmark(server, 400_000, argv);
            runs.push([native, dropin]);
        }
        let column = |f: &dyn Fn(&[f64; 2]) -> f64| median(&mut runs.iter().map(f).collect::<Vec<_>>());
        println!(
            "{name:<18} {:>14.0} {:>14.0} {:>9.2}",
            column(&|r| r[0]),
            column(&|r| r[1]),
            column(&|r| r[1] / r[0])
        );
    }
    set_takeover(&mut con, "no");
}

fn version(con: &mut redis::Connection) -> String {
    let info = run_str(con, &["INFO", "server"]);
    info.split("\\r\\n")
        .chain(info.split('\n'))
        .find_map(|l| l.trim().strip_prefix("redis_version:"))
        .unwrap_or("?")
        .trim_end_matches(['\r', '\\'])
        .to_string()
}

fn cores() -> usize {
    thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

/// Requests per second of one redis-benchmark run of `argv`.
fn benchmark(server: &Server, requests: u32, argv: &[String]) -> f64 {
    benchmark_shaped(server, requests, DEFAULT_SHAPE, argv)
}

/// Requests per second of one redis-benchmark run of `argv` with `(clients, pipeline)`.
/// `requests` should be a multiple of the pipeline depth: redis-benchmark sends whole
/// pipelines and stops timing at `requests` replies, leaving the rest to run into the next run.
fn benchmark_shaped(server: &Server, requests: u32, (clients, pipeline): (u32, u32), argv: &[String]) -> f64 {
    let out = Command::new("redis-benchmark")
        .args(["-h", "127.0.0.1", "-p", &server.port.to_string()])
        .args(["-c", &clients.to_string(), "-P", &pipeline.to_string()])
        .args(["-n", &requests.to_string(), "--csv"])
        .args(argv)
        .output()
        .expect("redis-benchmark (make deps)");
    let text = String::from_utf8_lossy(&out.stdout);
    // "test","rps", then six latency columns: counted from the end, since the test name is
    // the command line and a script body in it may hold commas.
    text.lines().nth(1).and_then(|l| l.rsplit(',').nth(6)).and_then(|v| v.trim_matches('"').parse().ok()).unwrap_or(0.0)
}

/// A section of INFO as text.
fn info(con: &mut redis::Connection, section: &str) -> String {
    redis::cmd("INFO").arg(section).query(con).expect("INFO")
}

/// A numeric INFO field; NaN (printed as such) when the server does not report it.
fn info_number(info: &str, field: &str) -> f64 {
    let prefix = format!("{field}:");
    info.lines().find_map(|l| l.strip_prefix(&prefix)).and_then(|v| v.trim().parse().ok()).unwrap_or(f64::NAN)
}

/// The server process's resident set (VmRSS of /proc/<pid>/status) in bytes; NaN elsewhere.
fn rss_bytes(server: &Server) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{}/status", server.pid())).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb * 1024.0)
}

/// Worst PING round trip another client sees while `action` runs.
fn worst_ping_during(server: &Server, action: impl FnOnce(&mut redis::Connection)) -> Duration {
    let stop = Arc::new(AtomicBool::new(false));
    let port = server.port;
    let pinger = {
        let stop = stop.clone();
        thread::spawn(move || {
            let mut con = redis::Client::open(format!("redis://127.0.0.1:{port}/")).unwrap().get_connection().unwrap();
            let mut worst = Duration::ZERO;
            while !stop.load(Ordering::SeqCst) {
                let t = Instant::now();
                let _: redis::RedisResult<String> = redis::cmd("PING").query(&mut con);
                worst = worst.max(t.elapsed());
            }
            worst
        })
    };
    thread::sleep(Duration::from_millis(50));
    let mut con = server.con();
    action(&mut con);
    thread::sleep(Duration::from_millis(50));
    stop.store(true, Ordering::SeqCst);
    pinger.join().unwrap_or(Duration::MAX)
}

fn load_scripts(con: &mut redis::Connection, prefix: &str, n: usize) {
    run_pipelines(con, &load_pipelines(prefix, (0..n).map(|i| format!("return {i}")), 10_000));
}

/// `SCRIPT LOAD` (`prefix` "") or `ALT.SCRIPT LOAD` (`prefix` "ALT.") of every body, in
/// pipelines of `batch` commands, replies ignored.
fn load_pipelines(prefix: &str, bodies: impl Iterator<Item = String>, batch: usize) -> Vec<redis::Pipeline> {
    let command = format!("{prefix}SCRIPT");
    let mut pipes = vec![redis::pipe()];
    for (i, body) in bodies.enumerate() {
        if i > 0 && i % batch == 0 {
            pipes.push(redis::pipe());
        }
        pipes.last_mut().expect("one pipeline at least").cmd(&command).arg("LOAD").arg(body).ignore();
    }
    pipes
}

fn run_pipelines(con: &mut redis::Connection, pipes: &[redis::Pipeline]) {
    for pipe in pipes {
        let _: () = pipe.query(con).expect("load scripts");
    }
}

/// Main-thread microseconds the server spent in `command` since the last CONFIG RESETSTAT.
fn command_usec(con: &mut redis::Connection, command: &str) -> f64 {
    let info: String = redis::cmd("INFO").arg("commandstats").query(con).unwrap_or_default();
    let prefix = format!("cmdstat_{command}:");
    info.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .and_then(|rest| rest.split(',').find_map(|kv| kv.strip_prefix("usec=")))
        .and_then(|v| v.parse().ok())
        .unwrap_or(f64::NAN)
}

/// Rounds per stall figure: one worst PING is at the mercy of the scheduler on a small
/// machine, so each figure is the median of this many flushes.
const STALL_ROUNDS: usize = 5;

fn flush_stalls(server: &Server) {
    println!(
        "stalls: worst PING round trip of another client during the flush [main-thread time of the command], median of {STALL_ROUNDS}"
    );
    println!("{:<44} {:>22} {:>22}", "operation", "native", "ALT");
    const SCRIPTS: usize = 100_000;
    let idle = median_duration(
        (0..STALL_ROUNDS).map(|_| worst_ping_during(server, |_| thread::sleep(Duration::from_millis(100)))).collect(),
    );
    println!("{:<44} {:>22}", "(nothing: the measurement's own noise)", format!("{:.2}ms", ms(idle)));
    for mode in ["SYNC", "ASYNC"] {
        let mut cells = Vec::new();
        for prefix in ["", "ALT."] {
            let mut con = server.con();
            let cell = stall_rounds(|| {
                load_scripts(&mut con, prefix, SCRIPTS);
                run_str(&mut con, &["CONFIG", "RESETSTAT"]);
                let stall = worst_ping_during(server, |con| {
                    assert_eq!(run_str(con, &[&format!("{prefix}SCRIPT"), "FLUSH", mode]), "+OK");
                });
                (stall, command_usec(&mut con, &format!("{}script|flush", prefix.to_lowercase())))
            });
            cells.push(cell);
        }
        println!("{:<44} {:>22} {:>22}", format!("SCRIPT FLUSH {mode} ({SCRIPTS} scripts)"), cells[0], cells[1]);
    }
    const KEYS: &str = "2000000";
    let mut cells = Vec::new();
    for prefix in ["", "ALT."] {
        let mut con = server.con();
        let cell = stall_rounds(|| {
            run_str(&mut con, &["DEBUG", "POPULATE", KEYS]);
            thread::sleep(Duration::from_millis(100));
            run_str(&mut con, &["CONFIG", "RESETSTAT"]);
            let mut dbsize_after = String::new();
            let stall = worst_ping_during(server, |con| {
                run_str(con, &[&format!("{prefix}FLUSHALL"), "SYNC"]);
                dbsize_after = run_str(con, &["DBSIZE"]);
            });
            assert_eq!(dbsize_after, ":0");
            (stall, command_usec(&mut con, &format!("{}flushall", prefix.to_lowercase())))
        });
        cells.push(cell);
    }
    println!("{:<44} {:>22} {:>22}", format!("FLUSHALL SYNC ({KEYS} keys)"), cells[0], cells[1]);
}

/// Runs one stall measurement `STALL_ROUNDS` times; "median stall [median main-thread ms]".
fn stall_rounds(mut round: impl FnMut() -> (Duration, f64)) -> String {
    let (stalls, usecs): (Vec<Duration>, Vec<f64>) = (0..STALL_ROUNDS).map(|_| round()).unzip();
    let mut usecs = usecs;
    usecs.sort_by(f64::total_cmp);
    let usec = usecs.get(usecs.len() / 2).copied().unwrap_or(0.0);
    format!("{:.2}ms [{:.2}ms]", ms(median_duration(stalls)), usec / 1000.0)
}

fn median_duration(mut all: Vec<Duration>) -> Duration {
    all.sort();
    all.get(all.len() / 2).copied().unwrap_or_default()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Each throughput workload on a server run under callgrind (with its cache simulation):
/// instructions and first-level cache misses per request, native and ALT. Only the server
/// is counted; the counters are zeroed after a warm-up and dumped after the measured run.
fn instructions() {
    if Command::new("callgrind_control").arg("--version").output().is_err() {
        println!("instructions: callgrind_control not found (apt-get install valgrind)");
        return;
    }
    let out = std::env::temp_dir().join(format!("redis-alt-bench-cg-{}", unique_tag()));
    let out_arg = format!("--callgrind-out-file={}", out.display());
    let server = Server::start_wrapped(&["valgrind", "--tool=callgrind", "--cache-sim=yes", &out_arg]);
    let mut con = server.con();
    let pid = server.pid().to_string();
    println!("instructions: callgrind on the server, per request (redis-benchmark -c 1 -P 16); I1/D1 = first-level");
    println!("instruction / data read cache misses, simulated\n");
    println!(
        "{:<18} {:>9} {:>9} {:>6} {:>7} {:>7} {:>7} {:>6} {:>6}",
        "workload", "native Ir", "ALT Ir", "ratio", "nat I1", "ALT I1", "ratio", "nat D1", "ALT D1"
    );
    let mut dumps = 0;
    for w in WORKLOADS {
        w.prepare(&mut con);
        let requests = (w.requests / 30).clamp(20, 10_000);
        let mut counts = Vec::new();
        for prefix in ["", "ALT."] {
            let argv = w.argv(prefix);
            try_once(&mut con, &argv);
            single_client(&server, (requests / 10).max(5), &argv);
            let zeroed = Command::new("callgrind_control").args(["-z", &pid]).output();
            single_client(&server, requests, &argv);
            let dumped = Command::new("callgrind_control").args(["-d", &pid]).output();
            dumps += 1;
            let dump =
                out.with_file_name(format!("{}.{dumps}", out.file_name().and_then(|n| n.to_str()).unwrap_or("")));
            let per_request = match (zeroed, dumped, std::fs::read_to_string(&dump)) {
                (Ok(_), Ok(_), Ok(text)) => callgrind_totals(&text).map(|t| t.map(|c| c as f64 / f64::from(requests))),
                _ => None,
            };
            let _ = std::fs::remove_file(&dump);
            counts.push(per_request.unwrap_or([0.0; 3]));
        }
        let [native, alt] = [counts.first().copied().unwrap_or_default(), counts.get(1).copied().unwrap_or_default()];
        let ratio = |a: f64, n: f64| if n > 0.0 { a / n } else { 0.0 };
        println!(
            "{:<18} {:>9.0} {:>9.0} {:>6.2} {:>7.0} {:>7.0} {:>7.2} {:>6.0} {:>6.0}",
            w.name,
            native[0],
            alt[0],
            ratio(alt[0], native[0]),
            native[1],
            alt[1],
            ratio(alt[1], native[1]),
            native[2],
            alt[2]
        );
    }
    drop(con);
    drop(server);
    let _ = std::fs::remove_file(&out);
}

/// `Ir`, `I1mr` and `D1mr` of a callgrind dump (its `totals:` line, in its `events:` order).
fn callgrind_totals(text: &str) -> Option<[u64; 3]> {
    let field = |prefix: &str| text.lines().find_map(|l| l.strip_prefix(prefix)).map(str::split_whitespace);
    let events: Vec<&str> = field("events:")?.collect();
    let totals: Vec<u64> = field("totals:")?.filter_map(|v| v.parse().ok()).collect();
    let get = |name: &str| events.iter().position(|e| *e == name).and_then(|i| totals.get(i)).copied();
    Some([get("Ir")?, get("I1mr")?, get("D1mr")?])
}

/// One redis-benchmark client, pipelining 16: the per-request count is the server's alone.
fn single_client(server: &Server, requests: u32, argv: &[String]) {
    let _ = Command::new("redis-benchmark")
        .args(["-h", "127.0.0.1", "-p", &server.port.to_string(), "-c", "1", "-P", "16"])
        .args(["-n", &requests.to_string(), "-q"])
        .args(argv)
        .output();
}
