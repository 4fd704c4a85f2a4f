//! The differential fuzzer's runner: each generated case (fuzzgen.rs) runs as EVAL and as
//! ALT.EVAL on one server, from the same keyspace, in RESP2 and RESP3; replies (normalized)
//! and keyspaces (type, encoding, DUMP, TTL set) must be equal. A divergence is shrunk over
//! the script's tree and written to target/fuzz-divergences/<seed>-<case>.lua. Native crashes
//! restart the server and are recorded, not counted. Used by tests/fuzz_slice.rs and
//! examples/difffuzz.rs (`make fuzz`).

use std::collections::BTreeMap;
use std::fs;
use std::path::PathBuf;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use redis::{Connection, ErrorKind};

use crate::fuzzgen::{self, Case, Kind, Node, Part};
use crate::support::{normalize, show, Server};

/// Native defects: native Redis 7.0.15 is wrong here (documented in
/// redis-scripting-reference.md), so a difference is not the module's fault. Native crashes
/// (`error({})` and any uncaught table error without a string/number `err`) are avoided by
/// the grammar and, if one happens anyway, recorded as a native crash.
fn native_defect(script: &str, native: &Side, alt: &Side) -> Option<&'static str> {
    // SORT checks `errno` after strtod without clearing it: an ERANGE left by the Lua
    // compiler or VM (a `1e309` literal, `-2.5 ^ -2^63` folded at compile time) makes every
    // numeric SORT of the script fail.
    let sort_errno = "One or more scores can't be converted into double";
    if script.contains("'sort'") && native.reply.contains(sort_errno) && !alt.reply.contains(sort_errno) {
        return Some("native: SORT sees a stale ERANGE errno (1e309 literal, pow underflow)");
    }
    None
}

/// KNOWN, BEING FIXED elsewhere: remove each entry when its fix is merged. Keyed as narrowly
/// as the symptom allows. (None at the moment: every entry went with its fix.)
fn known_being_fixed(_script: &str, _native: &Side, _alt: &Side) -> Option<&'static str> {
    None
}

/// KNOWN, BEING FIXED, keyed on the shrunk script (too broad for a whole generated script).
/// (None at the moment: the entries for the error-table field and pcall's third result went
/// with their fixes.)
fn known_shrunk(_script: &str) -> Option<&'static str> {
    None
}

#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Side {
    pub reply: String,
    pub keys: Vec<String>,
}

enum Verdict {
    Same,
    NativeDied(String),
    Diverged(Side, Side),
}

/// The divergence class a shrink must keep.
fn class(native: &Side, alt: &Side) -> &'static str {
    if alt.reply.starts_with("<server") {
        "alt-died"
    } else if native.reply != alt.reply {
        "reply"
    } else {
        "keyspace"
    }
}

pub struct Config {
    pub seed: u64,
    /// The first case run (cases are generated from the seed and their number alone).
    pub first_case: u64,
    pub max_cases: u64,
    pub deadline: Option<Instant>,
    /// Every n-th case is a busy/kill case (0: none).
    pub busy_every: u64,
    pub out_dir: PathBuf,
    pub shrink_budget: usize,
    pub verbose: bool,
}

pub struct Found {
    pub file: PathBuf,
    pub proto: u8,
    pub class: &'static str,
    pub script: String,
    pub native: String,
    pub alt: String,
}

#[derive(Default)]
pub struct Report {
    pub cases: u64,
    pub per_proto: [u64; 2],
    pub busy_cases: u64,
    pub native_crashes: Vec<String>,
    pub native_defects: BTreeMap<&'static str, u64>,
    /// Per entry: hits, and the first one's native and ALT replies.
    pub known: BTreeMap<&'static str, (u64, String)>,
    pub found: Vec<Found>,
    pub repeats: u64,
}

impl Report {
    fn known_hit(&mut self, what: &'static str, native: &Side, alt: &Side) {
        let first = || format!("native {} | ALT {}", one_line(&native.reply), one_line(&alt.reply));
        self.known.entry(what).or_insert_with(|| (0, first())).0 += 1;
    }

    pub fn summary(&self) -> String {
        let mut s = format!(
            "cases: {} ({} busy/kill); scripts run: RESP2 {}, RESP3 {} (each natively and via ALT)\n",
            self.cases, self.busy_cases, self.per_proto[0], self.per_proto[1]
        );
        s += &format!("native crashes (restarted, not counted): {}\n", self.native_crashes.len());
        for c in &self.native_crashes {
            s += &format!("  {c}\n");
        }
        for (what, n) in &self.native_defects {
            s += &format!("native defect x{n}: {what}\n");
        }
        for (what, (n, first)) in &self.known {
            s += &format!("known, being fixed x{n}: {what}\n    first: {first}\n");
        }
        s += &format!("divergences: {} (+{} repeats of them not shrunk again)\n", self.found.len(), self.repeats);
        for f in &self.found {
            s += &format!(
                "--- {} (RESP{}, {})\n{}native: {}\nALT:    {}\n",
                f.file.display(),
                f.proto,
                f.class,
                f.script,
                f.native,
                f.alt
            );
        }
        s
    }
}

pub struct Fuzzer {
    server: Server,
    admin: Connection,
    cons: [Connection; 2],
}

const TIMEOUT: Duration = Duration::from_secs(20);

fn transport(e: &redis::RedisError) -> bool {
    matches!(e.kind(), ErrorKind::IoError | ErrorKind::ParseError | ErrorKind::ClientError | ErrorKind::TypeError)
        || e.is_timeout()
        || e.is_connection_dropped()
}

/// A client-side failure as comparable text. The parser's byte offset is left out: where a
/// reply too deep for it fails depends on how its bytes arrived, not on the reply (a
/// self-referencing table's reply failed at offset 1186 natively and 3341 via ALT, the same
/// bytes both).
fn client_error(e: &redis::RedisError) -> String {
    let text = e.to_string();
    let mut out = String::with_capacity(text.len());
    let mut rest = text.as_str();
    while let Some(i) = rest.find("Parse error at ") {
        let after = &rest[i + "Parse error at ".len()..];
        out.push_str(&rest[..i]);
        out.push_str("Parse error at _");
        rest = after.trim_start_matches(|c: char| c.is_ascii_digit());
    }
    out.push_str(rest);
    format!("<client: {out}>")
}

/// The reply as comparable text; Err only for transport failures. Not `query`: it turns a
/// reply holding an error element into that error alone, hiding the other elements.
fn ask(con: &mut Connection, cmd: &redis::Cmd) -> Result<String, redis::RedisError> {
    match redis::ConnectionLike::req_command(con, cmd) {
        Err(e) if transport(&e) => Err(e),
        r => Ok(normalize(&show(&r))),
    }
}

fn command(argv: &[&str]) -> redis::Cmd {
    let mut cmd = redis::cmd(argv[0]);
    for a in &argv[1..] {
        cmd.arg(*a);
    }
    cmd
}

fn eval_cmd(case: &Case, script: &str, alt: bool) -> redis::Cmd {
    let mut cmd = redis::cmd(if alt && !crate::support::dropin_oracle() { "ALT.EVAL" } else { "EVAL" });
    cmd.arg(script).arg(case.keys.len()).arg(&case.keys).arg(&case.args);
    cmd
}

/// Every key of DB 0: name, type, encoding, DUMP (escaped), whether a TTL is set.
fn snapshot(admin: &mut Connection) -> Result<Vec<String>, redis::RedisError> {
    let mut keys: Vec<Vec<u8>> = redis::cmd("KEYS").arg("*").query(admin)?;
    keys.sort();
    let mut out = Vec::new();
    for k in keys {
        let ty: String = redis::cmd("TYPE").arg(&k).query(admin)?;
        let enc: String = redis::cmd("OBJECT").arg("ENCODING").arg(&k).query(admin)?;
        let dump: Option<Vec<u8>> = redis::cmd("DUMP").arg(&k).query(admin)?;
        let ttl: i64 = redis::cmd("PTTL").arg(&k).query(admin)?;
        let dump = dump.map(|d| d.escape_ascii().to_string()).unwrap_or_default();
        out.push(format!("{} {ty} {enc} {dump} ttl={}", k.escape_ascii(), ttl >= 0));
    }
    Ok(out)
}

fn connect(server: &Server) -> (Connection, [Connection; 2]) {
    let (admin, c2, c3) = (server.con(), server.con(), server.con3());
    for c in [&admin, &c2, &c3] {
        let _ = c.set_read_timeout(Some(TIMEOUT));
    }
    (admin, [c2, c3])
}

impl Fuzzer {
    pub fn new() -> Fuzzer {
        let server = Server::start();
        let (admin, cons) = connect(&server);
        Fuzzer { server, admin, cons }
    }

    /// After a transport failure: reconnect if the server lives and answers, else restart
    /// it. Returns why the run is void.
    fn recover(&mut self, e: &redis::RedisError) -> Option<String> {
        let port = self.server.port;
        let answers = || {
            redis::Client::open(format!("redis://127.0.0.1:{port}/"))
                .and_then(|c| c.get_connection_with_timeout(Duration::from_secs(2)))
                .and_then(|mut c| redis::cmd("PING").query::<String>(&mut c))
                .is_ok()
        };
        if !e.is_timeout() && self.server.alive() && answers() {
            let (admin, cons) = connect(&self.server);
            self.admin = admin;
            self.cons = cons;
            return None;
        }
        // A crashing server may still be writing its bug report.
        let died = self.server.wait_exit(Duration::from_secs(2));
        let why = if died { "<server died>" } else { "<server hung: no reply in 20 s>" };
        self.server = Server::start();
        let (admin, cons) = connect(&self.server);
        self.admin = admin;
        self.cons = cons;
        Some(why.to_string())
    }

    fn prepare(&mut self, case: &Case, alt: bool) -> Result<(), redis::RedisError> {
        if crate::support::dropin_oracle() {
            // The module's side under the native names in drop-in mode; switching off copies
            // cached scripts to the native engine, so the module's cache is emptied first.
            ask(&mut self.admin, &command(&["ALT.SCRIPT", "FLUSH"]))?;
            ask(&mut self.admin, &command(&["CONFIG", "SET", "alt.takeover", if alt { "yes" } else { "no" }]))?;
        }
        redis::cmd("FLUSHALL").query::<()>(&mut self.admin)?;
        for c in &case.setup {
            let argv: Vec<&str> = c.iter().map(String::as_str).collect();
            ask(&mut self.admin, &command(&argv))?;
        }
        Ok(())
    }

    /// One run of the case; Err(why) when the server died or hung (it has been restarted).
    fn side(&mut self, case: &Case, script: &str, proto: u8, alt: bool) -> Result<Side, String> {
        let attempt = if case.busy {
            self.busy_side(case, script, proto, alt)
        } else {
            self.plain_side(case, script, proto, alt)
        };
        match attempt {
            Ok(side) => Ok(side),
            Err(e) => match self.recover(&e) {
                Some(why) => Err(why),
                // A reply the client could not parse (the connection is fresh again).
                None => Ok(Side { reply: client_error(&e), keys: Vec::new() }),
            },
        }
    }

    fn plain_side(&mut self, case: &Case, script: &str, proto: u8, alt: bool) -> Result<Side, redis::RedisError> {
        self.prepare(case, alt)?;
        let con = &mut self.cons[usize::from(proto == 3)];
        let reply = ask(con, &eval_cmd(case, script, alt))?;
        Ok(Side { reply, keys: snapshot(&mut self.admin)? })
    }

    /// Busy/kill: the script runs from its own connection with a 100 ms threshold; another
    /// client waits for BUSY, kills it, and checks the server answers afterwards.
    fn busy_side(&mut self, case: &Case, script: &str, proto: u8, alt: bool) -> Result<Side, redis::RedisError> {
        self.prepare(case, alt)?;
        ask(&mut self.admin, &command(&["CONFIG", "SET", "busy-reply-threshold", "100"]))?;
        let (tx, rx) = mpsc::channel();
        let url = format!("redis://127.0.0.1:{}/{}", self.server.port, if proto == 3 { "?protocol=resp3" } else { "" });
        let cmd = eval_cmd(case, script, alt);
        thread::spawn(move || {
            let reply = redis::Client::open(url)
                .and_then(|c| c.get_connection())
                .and_then(|mut con| {
                    con.set_read_timeout(Some(TIMEOUT))?;
                    Ok(ask(&mut con, &cmd).unwrap_or_else(|e| client_error(&e)))
                })
                .unwrap_or_else(|e| client_error(&e));
            let _ = tx.send(reply);
        });
        let start = Instant::now();
        let mut busy = "never".to_string();
        let mut early = None;
        while start.elapsed() < TIMEOUT {
            if let Ok(r) = rx.try_recv() {
                early = Some(r);
                break;
            }
            let ping = ask(&mut self.admin, &command(&["PING"]))?;
            if ping.starts_with("-BUSY") {
                busy = ping;
                break;
            }
            thread::sleep(Duration::from_millis(10));
        }
        let (killed, caller) = match early {
            Some(r) => ("-".to_string(), r),
            None => {
                let kill: &[&str] =
                    if alt && !crate::support::dropin_oracle() { &["ALT.SCRIPT", "KILL"] } else { &["SCRIPT", "KILL"] };
                let killed = ask(&mut self.admin, &command(kill))?;
                let caller = rx.recv_timeout(TIMEOUT).map_err(|_| {
                    redis::RedisError::from(std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        "the killed script never ended",
                    ))
                })?;
                (killed, caller)
            }
        };
        let then = ask(&mut self.admin, &command(&["PING"]))?;
        ask(&mut self.admin, &command(&["CONFIG", "SET", "busy-reply-threshold", "5000"]))?;
        let reply = format!("busy: {busy} | kill: {killed} | caller: {caller} | then: {then}");
        Ok(Side { reply, keys: snapshot(&mut self.admin)? })
    }

    fn verdict(&mut self, case: &Case, script: &str, proto: u8) -> Verdict {
        let native = match self.side(case, script, proto, false) {
            Ok(s) => s,
            Err(why) => return Verdict::NativeDied(why),
        };
        let alt = self.side(case, script, proto, true).unwrap_or_else(|why| Side { reply: why, keys: Vec::new() });
        if native == alt {
            Verdict::Same
        } else {
            Verdict::Diverged(native, alt)
        }
    }

    pub fn flush_scripts(&mut self) {
        for c in [&["SCRIPT", "FLUSH"], &["ALT.SCRIPT", "FLUSH"]] {
            let _ = ask(&mut self.admin, &command(c));
        }
    }

    /// Greedy tree reduction: remove statements, splice blocks, replace expressions by a
    /// sub-expression or a literal, then drop setup commands, while the same class of
    /// divergence (and no known one) remains.
    /// `first`: the sides of the run that diverged, reported (marked) when no re-run does.
    fn shrink(
        &mut self,
        case: &Case,
        proto: u8,
        want: &'static str,
        budget: usize,
        first: (&Side, &Side),
    ) -> (Case, Side, Side) {
        let mut best = case.clone();
        let mut sides = None;
        let evals = std::cell::Cell::new(0);
        let still = |f: &mut Fuzzer, c: &Case| -> Option<(Side, Side)> {
            evals.set(evals.get() + 1);
            let script = c.script.render();
            match f.verdict(c, &script, proto) {
                Verdict::Diverged(n, a)
                    if class(&n, &a) == want
                        && known_being_fixed(&script, &n, &a).is_none()
                        && native_defect(&script, &n, &a).is_none() =>
                {
                    Some((n, a))
                }
                _ => None,
            }
        };
        let mut changed = true;
        while changed && evals.get() < budget {
            changed = false;
            let mut idx = 1;
            while idx < best.script.size() && evals.get() < budget {
                let mut accepted = false;
                for edit in edits(&best.script, idx) {
                    if evals.get() >= budget {
                        break;
                    }
                    let Some(script) = apply(&best.script, idx, &edit) else { continue };
                    let cand = Case { script, ..best.clone() };
                    if let Some(s) = still(self, &cand) {
                        best = cand;
                        sides = Some(s);
                        accepted = true;
                        changed = true;
                        break;
                    }
                }
                if !accepted {
                    idx += 1;
                }
            }
        }
        let mut i = 0;
        while i < best.setup.len() && evals.get() < budget {
            let mut cand = best.clone();
            cand.setup.remove(i);
            match still(self, &cand) {
                Some(s) => {
                    best = cand;
                    sides = Some(s);
                }
                None => i += 1,
            }
        }
        let sides = match sides {
            Some(s) => s,
            None => match self.verdict(&best, &best.script.render(), proto) {
                Verdict::Diverged(n, a) => (n, a),
                _ => {
                    let mark = |side: &Side| Side {
                        reply: format!("<not reproduced; first run:> {}", side.reply),
                        keys: side.keys.clone(),
                    };
                    (mark(first.0), mark(first.1))
                }
            },
        };
        (best, sides.0, sides.1)
    }
}

impl Default for Fuzzer {
    fn default() -> Self {
        Fuzzer::new()
    }
}

enum Edit {
    Remove,
    Splice,
    Replace(Node),
}

fn node_at(root: &Node, idx: usize) -> Option<&Node> {
    fn go<'a>(n: &'a Node, idx: usize, count: &mut usize) -> Option<&'a Node> {
        if *count == idx {
            return Some(n);
        }
        *count += 1;
        for p in &n.parts {
            if let Part::N(c) = p {
                if let Some(found) = go(c, idx, count) {
                    return Some(found);
                }
            }
        }
        None
    }
    go(root, idx, &mut 0)
}

fn edits(root: &Node, idx: usize) -> Vec<Edit> {
    let Some(n) = node_at(root, idx) else { return Vec::new() };
    let children = || n.parts.iter().filter_map(|p| if let Part::N(c) = p { Some(c) } else { None });
    match n.kind {
        Kind::Stmt => {
            let mut v = vec![Edit::Remove];
            if children().any(|c| c.kind == Kind::Stmt) {
                v.push(Edit::Splice);
            }
            v
        }
        Kind::Expr => {
            let mut v: Vec<Edit> =
                children().filter(|c| c.kind == Kind::Expr).map(|c| Edit::Replace(c.clone())).collect();
            let text = n.render();
            if children().next().is_some() || text.len() > 3 {
                v.extend(["nil", "1", "'a'"].iter().map(|l| Edit::Replace(Node::leaf(l))));
            }
            v
        }
    }
}

/// A copy of `root` with the node at preorder index `idx` (> 0) edited.
fn apply(root: &Node, idx: usize, edit: &Edit) -> Option<Node> {
    fn go(n: &Node, idx: usize, count: &mut usize, edit: &Edit, done: &mut bool) -> Node {
        let mut parts = Vec::with_capacity(n.parts.len());
        for p in &n.parts {
            match p {
                Part::T(t) => parts.push(Part::T(t.clone())),
                Part::N(c) => {
                    *count += 1;
                    if *count == idx {
                        *done = true;
                        match edit {
                            Edit::Remove => {}
                            Edit::Replace(r) => parts.push(Part::N(r.clone())),
                            Edit::Splice => parts.extend(
                                c.parts.iter().filter(|q| matches!(q, Part::N(x) if x.kind == Kind::Stmt)).cloned(),
                            ),
                        }
                        // Skip the subtree's indices.
                        *count += c.size() - 1;
                    } else {
                        parts.push(Part::N(go(c, idx, count, edit, done)));
                    }
                }
            }
        }
        Node { kind: n.kind, parts }
    }
    let mut done = false;
    let out = go(root, idx, &mut 0, edit, &mut done);
    done.then_some(out)
}

fn one_line(s: &str) -> String {
    s.escape_debug().to_string()
}

/// A rough identity of a divergence (digits and hex stripped) so repeats are not re-shrunk.
fn signature(class: &str, native: &Side, alt: &Side) -> String {
    let strip = |s: &str| -> String { s.chars().filter(|c| !c.is_ascii_hexdigit()).take(60).collect() };
    format!("{class}|{}|{}", strip(&native.reply), strip(&alt.reply))
}

fn write_repro(cfg: &Config, n: u64, proto: u8, class: &str, case: &Case, native: &Side, alt: &Side) -> PathBuf {
    let _ = fs::create_dir_all(&cfg.out_dir);
    let file = cfg.out_dir.join(format!("{}-{n}.lua", cfg.seed));
    let mut text = format!("-- difffuzz divergence: FUZZ_SEED={} case {n}, RESP{proto}, {class}", cfg.seed);
    if case.busy {
        text += " (busy/kill: run, wait for BUSY, SCRIPT KILL, PING)";
    }
    text += "\n";
    let setup: Vec<String> = case.setup.iter().map(|c| c.join(" ")).collect();
    text += &format!("-- setup: {}\n", if setup.is_empty() { "(empty keyspace)".into() } else { setup.join(" ; ") });
    text += &format!("-- EVAL <this> {} {} {}\n", case.keys.len(), case.keys.join(" "), one_line(&case.args.join(" ")));
    text += &format!("-- native: {}\n-- ALT:    {}\n", one_line(&native.reply), one_line(&alt.reply));
    if native.keys != alt.keys {
        text += &format!(
            "-- native keyspace: {}\n-- ALT keyspace:    {}\n",
            one_line(&native.keys.join(" ; ")),
            one_line(&alt.keys.join(" ; "))
        );
    }
    text += &case.script.render();
    let _ = fs::write(&file, text);
    file
}

/// Runs cases `first_case..` of `cfg.seed` until `max_cases` of them ran or the deadline.
pub fn run(cfg: &Config) -> Report {
    let mut f = Fuzzer::new();
    let mut report = Report::default();
    let mut seen: BTreeMap<String, u64> = BTreeMap::new();
    let mut n = cfg.first_case;
    while n - cfg.first_case < cfg.max_cases && cfg.deadline.is_none_or(|d| Instant::now() < d) {
        let busy = cfg.busy_every > 0 && n % cfg.busy_every == cfg.busy_every - 1;
        let case = fuzzgen::case(cfg.seed, n, busy);
        let script = case.script.render();
        report.cases += 1;
        report.busy_cases += u64::from(busy);
        for proto in [2u8, 3] {
            report.per_proto[usize::from(proto == 3)] += 1;
            match f.verdict(&case, &script, proto) {
                Verdict::Same => continue,
                Verdict::NativeDied(why) => {
                    report.native_crashes.push(format!("case {n} RESP{proto} {why}: {}", one_line(&script)));
                }
                Verdict::Diverged(native, alt) => {
                    if let Some(what) = native_defect(&script, &native, &alt) {
                        *report.native_defects.entry(what).or_default() += 1;
                    } else if let Some(what) = known_being_fixed(&script, &native, &alt) {
                        report.known_hit(what, &native, &alt);
                    } else {
                        let cls = class(&native, &alt);
                        let sig = signature(cls, &native, &alt);
                        let count = seen.entry(sig).or_default();
                        *count += 1;
                        if *count > 2 {
                            report.repeats += 1;
                            break;
                        }
                        let budget =
                            if case.busy || cls == "alt-died" { cfg.shrink_budget / 8 } else { cfg.shrink_budget };
                        let (small, native, alt) = f.shrink(&case, proto, cls, budget, (&native, &alt));
                        let small_script = small.script.render();
                        if let Some(what) = known_shrunk(&small_script) {
                            report.known_hit(what, &native, &alt);
                        } else if report.found.iter().any(|f| f.script == small_script) {
                            report.repeats += 1;
                        } else {
                            let file = write_repro(cfg, n, proto, cls, &small, &native, &alt);
                            if cfg.verbose {
                                eprintln!("divergence {} ({cls}, RESP{proto})", file.display());
                            }
                            report.found.push(Found {
                                file,
                                proto,
                                class: cls,
                                script: small_script,
                                native: one_line(&native.reply),
                                alt: one_line(&alt.reply),
                            });
                        }
                    }
                }
            }
            break;
        }
        n += 1;
        if n.is_multiple_of(500) {
            f.flush_scripts();
            if cfg.verbose {
                eprintln!("{n} cases, {} divergences", report.found.len());
            }
        }
    }
    report
}
