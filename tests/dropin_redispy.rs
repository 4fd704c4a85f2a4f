//! Drop-in mode measured by a client library's own tests: redis-py's scripting and function
//! suites (tests/test_scripting.py, tests/test_function.py and their asyncio variants, pinned
//! and unchanged; scripts/redis-py-suite.sh) run in RESP2 and RESP3 against a plain server,
//! against one with the module loaded (both must pass every test, with the same counts), and
//! against one with the module loaded as `takeover yes`, where the module serves EVAL, EVALSHA,
//! SCRIPT, FUNCTION, FCALL, FCALL_RO and FLUSHALL: the same number of tests must pass.
//!
//! Needs python3 (3.11 or newer) with venv (`make deps`); the first run installs redis-py and
//! pytest from PyPI into the ignored .tools/redis-py/.

mod support;

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use support::{module_path, Server};

/// The counts in pytest's closing line.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Counts {
    passed: u32,
    failed: u32,
    errors: u32,
    skipped: u32,
    deselected: u32,
    xfailed: u32,
    xpassed: u32,
}

impl fmt::Display for Counts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} passed, {} failed, {} errors, {} skipped, {} deselected, {} xfailed, {} xpassed",
            self.passed, self.failed, self.errors, self.skipped, self.deselected, self.xfailed, self.xpassed
        )
    }
}

/// pytest's summary, the last line such as `48 passed, 5 deselected in 0.13s` (with or without
/// `=` around it), or `no tests ran in 0.01s`.
fn parse_summary(output: &str) -> Option<Counts> {
    output.lines().rev().find_map(|line| {
        let line = line.trim().trim_matches('=').trim();
        let (head, time) = line.rsplit_once(" in ")?;
        time.strip_suffix('s')?.split_whitespace().next()?.parse::<f64>().ok()?;
        let mut counts = Counts::default();
        if head == "no tests ran" {
            return Some(counts);
        }
        for item in head.split(", ") {
            let (n, word) = item.split_once(' ')?;
            let n: u32 = n.parse().ok()?;
            match word {
                "passed" => counts.passed = n,
                "failed" => counts.failed = n,
                "error" | "errors" => counts.errors = n,
                "skipped" => counts.skipped = n,
                "deselected" => counts.deselected = n,
                "xfailed" => counts.xfailed = n,
                "xpassed" => counts.xpassed = n,
                "warning" | "warnings" | "rerun" | "reruns" => {}
                _ => return None,
            }
        }
        Some(counts)
    })
}

/// python3 must be there: without it the comparison cannot be made, which is a failure.
fn require_python() {
    let ok = Command::new("python3")
        .args(["-c", "import sys, venv, ensurepip; sys.exit(sys.version_info < (3, 11))"])
        .status()
        .map(|s| s.success());
    match ok {
        Ok(true) => {}
        Ok(false) => panic!(
            "python3 is older than 3.11 or has no venv/ensurepip: redis-py's suite needs both \
             (make deps installs python3 python3-venv)"
        ),
        Err(e) => panic!("python3 not found ({e}): make deps installs python3 python3-venv"),
    }
}

/// scripts/redis-py-suite.sh against the server, in the given protocol.
fn run_suite(server: &Server, protocol: u8) -> Counts {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/redis-py-suite.sh");
    let out = Command::new("bash")
        .arg(&script)
        .arg(server.port.to_string())
        .arg(format!("--protocol={protocol}"))
        .output()
        .unwrap_or_else(|e| panic!("bash {}: {e}", script.display()));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let counts = parse_summary(&stdout).unwrap_or_else(|| {
        panic!(
            "redis-py suite ({}, RESP{protocol}) printed no pytest summary:\n{stdout}\n{stderr}\n{}",
            out.status,
            server.log()
        )
    });
    let failing = counts.failed > 0 || counts.errors > 0 || counts.passed == 0;
    // Exit 1 is "some tests failed"; anything else but 0 is pytest unable to run them.
    assert!(
        out.status.success() || (out.status.code() == Some(1) && failing),
        "redis-py suite exited {} with {counts}:\n{stdout}\n{stderr}",
        out.status
    );
    if failing {
        eprintln!("---- redis-py suite, RESP{protocol}, port {} ----\n{stdout}\n{stderr}", server.port);
    }
    counts
}

/// The suite in RESP2 and RESP3, each run passing every test it selects.
fn passes_everywhere(what: &str, server: &Server) -> [Counts; 2] {
    [2, 3].map(|protocol| {
        let counts = run_suite(server, protocol);
        println!("{what}, RESP{protocol}: {counts}");
        assert!(
            counts.failed == 0 && counts.errors == 0 && counts.passed > 0,
            "{what}, RESP{protocol}: {counts} (output above)"
        );
        counts
    })
}

/// A copy of the module outside target/ (a rebuild replaces the file, never a mapped copy),
/// removed when dropped.
struct ModuleCopy(PathBuf);

impl ModuleCopy {
    fn new() -> ModuleCopy {
        let path = std::env::temp_dir().join(format!("redis-alt-redispy-{}.so", std::process::id()));
        fs::copy(module_path(), &path).expect("module built (cargo build) before the tests");
        ModuleCopy(path)
    }
}

impl Drop for ModuleCopy {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.0);
    }
}

#[test]
fn summary_lines_parse() {
    let c = parse_summary("....\n48 passed, 5 deselected in 0.13s\n").expect("summary");
    assert_eq!((c.passed, c.deselected, c.failed), (48, 5, 0));
    let c = parse_summary("== 2 failed, 29 passed, 3 skipped, 1 error, 9 warnings in 1.09s ==").expect("summary");
    assert_eq!((c.passed, c.failed, c.skipped, c.errors), (29, 2, 3, 1));
    assert_eq!(parse_summary("no tests ran in 0.01s"), Some(Counts::default()));
    assert_eq!(parse_summary("FAILED tests/x.py::t - assert 1 in [2]\n"), None);
}

/// Natively, with and without the module loaded: every selected test passes, the same counts.
#[test]
fn redis_py_suite_passes_natively() {
    require_python();
    let plain = Server::start_with(&[], false);
    let plain_counts = passes_everywhere("plain redis-server", &plain);
    drop(plain);
    let loaded = Server::start();
    let loaded_counts = passes_everywhere("module loaded, no takeover", &loaded);
    assert_eq!(plain_counts, loaded_counts, "loading the module changed redis-py's results");
}

/// With `takeover yes` the module serves the native names: redis-py's suite passes as it does
/// natively.
#[test]
fn redis_py_suite_passes_under_takeover() {
    require_python();
    let native = Server::start();
    let native_counts = passes_everywhere("module loaded, no takeover", &native);
    drop(native);

    let module = ModuleCopy::new();
    let path = module.0.to_str().expect("utf-8 temp path");
    // Module arguments follow the .so path; the helper's own --loadmodule is not given.
    let takeover = Server::start_with(&["--loadmodule", path, "takeover", "yes"], false);
    let takeover_counts = passes_everywhere("module loaded, takeover yes", &takeover);
    for (protocol, (native, takeover)) in [2, 3].into_iter().zip(native_counts.iter().zip(&takeover_counts)) {
        assert_eq!(native.passed, takeover.passed, "RESP{protocol}: {native} natively, {takeover} under takeover");
    }
}
