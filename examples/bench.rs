//! `make bench`: native scripting against ALT.* on one redis-server with the release module.
//! Throughput with redis-benchmark (-c 50 -P 16), native and ALT interleaved A B A B, median
//! ratio of the rounds; then the stall other clients see during flushes (worst PING round trip).
//! One run, printed; nothing here is a pass/fail test.

#[path = "../tests/support/mod.rs"]
mod support;

use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use support::{run_str, sha1hex, Server};

struct Workload {
    name: &'static str,
    script: &'static str,
    keys: &'static [&'static str],
    args: &'static [&'static str],
    requests: u32,
}

const WORKLOADS: &[Workload] = &[
    Workload { name: "return 1", script: "return 1", keys: &[], args: &[], requests: 400_000 },
    Workload {
        name: "INCR KEYS[1]",
        script: "return redis.call('INCR', KEYS[1])",
        keys: &["bench:counter"],
        args: &[],
        requests: 300_000,
    },
    Workload {
        name: "10 x SET + GET",
        script: "for i=1,10 do redis.call('SET', KEYS[1], i) end return redis.call('GET', KEYS[1])",
        keys: &["bench:str"],
        args: &[],
        requests: 100_000,
    },
    Workload {
        name: "HSET + HGETALL",
        script: "redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) return redis.call('HGETALL', KEYS[1])",
        keys: &["bench:hash"],
        args: &["field", "value"],
        requests: 200_000,
    },
    Workload {
        name: "pure-Lua loop",
        script: "local s=0 for i=1,20000 do s=(s+i*i)%1000003 end return s",
        keys: &[],
        args: &[],
        requests: 3_000,
    },
];

const ROUNDS: usize = 3;

fn main() {
    let rounds = std::env::var("BENCH_ROUNDS").ok().and_then(|r| r.parse().ok()).unwrap_or(ROUNDS);
    let server = Server::start();
    let mut con = server.con();
    println!("redis-alt bench: redis-server {} on 127.0.0.1:{}, {} cores", version(&mut con), server.port, cores());
    println!("throughput: redis-benchmark -c 50 -P 16, native and ALT interleaved, {rounds} rounds, median ratio\n");
    println!("{:<18} {:>14} {:>14} {:>8}", "workload", "native rps", "ALT rps", "ALT/native");
    let only_stalls = std::env::var("BENCH_ONLY").is_ok_and(|v| v == "stalls");
    for w in WORKLOADS.iter().filter(|_| !only_stalls) {
        let sha = sha1hex(w.script);
        run_str(&mut con, &["SCRIPT", "LOAD", w.script]);
        run_str(&mut con, &["ALT.SCRIPT", "LOAD", w.script]);
        let mut native = Vec::new();
        let mut alt = Vec::new();
        let mut ratios = Vec::new();
        for _ in 0..rounds {
            let n = benchmark(&server, "EVALSHA", &sha, w);
            let a = benchmark(&server, "ALT.EVALSHA", &sha, w);
            native.push(n);
            alt.push(a);
            ratios.push(a / n);
        }
        println!(
            "{:<18} {:>14.0} {:>14.0} {:>8.2}",
            w.name,
            median(&mut native),
            median(&mut alt),
            median(&mut ratios)
        );
    }
    println!();
    flush_stalls(&server);
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

/// Requests per second of one redis-benchmark run.
fn benchmark(server: &Server, command: &str, sha: &str, w: &Workload) -> f64 {
    let numkeys = w.keys.len().to_string();
    let out = Command::new("redis-benchmark")
        .args(["-h", "127.0.0.1", "-p", &server.port.to_string(), "-c", "50", "-P", "16"])
        .args(["-n", &w.requests.to_string(), "--csv", command, sha, &numkeys])
        .args(w.keys)
        .args(w.args)
        .output()
        .expect("redis-benchmark (make deps)");
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines().nth(1).and_then(|l| l.split(',').nth(1)).and_then(|v| v.trim_matches('"').parse().ok()).unwrap_or(0.0)
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
    let mut pipe = redis::pipe();
    for i in 0..n {
        pipe.cmd(&format!("{prefix}SCRIPT")).arg("LOAD").arg(format!("return {i}")).ignore();
        if i % 10_000 == 9_999 {
            let _: () = pipe.query(con).expect("load scripts");
            pipe = redis::pipe();
        }
    }
    let _: () = pipe.query(con).expect("load scripts");
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
