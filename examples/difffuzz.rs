//! `make fuzz`: the differential fuzzer, time-bounded and seeded. Generated Lua scripts
//! (tests/support/fuzzgen.rs) run as EVAL and ALT.EVAL on one redis-server with the debug
//! module (target/debug/libredis_alt.so, built by `cargo build`), in RESP2 and RESP3;
//! divergences are shrunk and written to target/fuzz-divergences/<seed>-<case>.lua
//! (tests/support/fuzzrun.rs). The fixed-seed slice of `make test` is tests/fuzz_slice.rs.
//!
//! Environment: `FUZZ_MINUTES` (default 10), `FUZZ_SEED` (default: the current time, printed),
//! `FUZZ_FIRST` (the first case to run, default 0), `FUZZ_CASES` (stop after this many cases), `FUZZ_BUSY_EVERY` (every n-th case is a busy/kill
//! case; default 50, 0 for none), `FUZZ_PRINT=n` (print case n's script and setup, run nothing).
//! Exits 1 when a divergence was found.

#[path = "../tests/support/fuzzgen.rs"]
mod fuzzgen;
#[path = "../tests/support/fuzzrun.rs"]
mod fuzzrun;
#[path = "../tests/support/mod.rs"]
mod support;

use std::env;
use std::path::PathBuf;
use std::process::ExitCode;
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

fn var(name: &str) -> Option<u64> {
    env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .map(|v| v.parse().unwrap_or_else(|_| panic!("{name}={v}: not a number")))
}

fn main() -> ExitCode {
    let seed = var("FUZZ_SEED")
        .unwrap_or_else(|| SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or_default());
    let busy_every = var("FUZZ_BUSY_EVERY").unwrap_or(50);
    if let Some(n) = var("FUZZ_PRINT") {
        let case = fuzzgen::case(seed, n, busy_every > 0 && n % busy_every == busy_every - 1);
        println!("-- setup: {:?}\n-- keys {:?} args {:?}\n{}", case.setup, case.keys, case.args, case.script.render());
        return ExitCode::SUCCESS;
    }
    let minutes = var("FUZZ_MINUTES").unwrap_or(10);
    let cfg = fuzzrun::Config {
        seed,
        first_case: var("FUZZ_FIRST").unwrap_or(0),
        max_cases: var("FUZZ_CASES").unwrap_or(u64::MAX),
        deadline: Some(Instant::now() + Duration::from_secs(minutes * 60)),
        busy_every,
        out_dir: PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/fuzz-divergences"),
        shrink_budget: 300,
        verbose: true,
    };
    eprintln!("difffuzz: FUZZ_SEED={seed}, {minutes} min, busy/kill every {busy_every} cases");
    let started = Instant::now();
    // Deeply nested replies (a self-referencing table) recurse in the client's parser.
    let report = thread::Builder::new()
        .stack_size(256 << 20)
        .spawn(move || fuzzrun::run(&cfg))
        .expect("fuzz thread")
        .join()
        .expect("fuzz run");
    println!("{}took {:.0?}", report.summary(), started.elapsed());
    if report.found.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
