//! Argument checking of the EVAL family and ALT.SCRIPT LOAD | EXISTS | FLUSH | HELP, each
//! against the native command on the same server.

mod support;

use support::{run_str, same_as_native, sha1hex, Server};

#[test]
fn arity_and_numkeys_errors_in_native_order() {
    let server = Server::start();
    let sha = sha1hex("return 1");
    let cases: Vec<Vec<&str>> = vec![
        vec!["EVAL"],
        vec!["EVAL", "return 1"],
        vec!["EVAL", "return 1", "abc"],
        vec!["EVAL", "return 1", "1.0"],
        vec!["EVAL", "return 1", "+1"],
        vec!["EVAL", "return 1", "01"],
        vec!["EVAL", "return 1", " 1"],
        vec!["EVAL", "return 1", ""],
        vec!["EVAL", "return 1", "99999999999999999999"],
        vec!["EVAL", "return 1", "-1"],
        vec!["EVAL", "return 1", "2", "a"],
        vec!["EVAL", "return +", "x"],
        vec!["EVAL", "return +", "1"],
        vec!["EVAL_RO", "return 1", "x"],
        vec!["EVALSHA", "abc", "x"],
        vec!["EVALSHA", &sha, "x"],
        vec!["EVALSHA", &sha, "-1"],
        vec!["EVALSHA", &sha, "0"],
        vec!["EVALSHA_RO", "abc", "0"],
        vec!["EVALSHA", "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz", "0"],
    ];
    for case in &cases {
        same_as_native(&server, 2, &[], &[case]);
        same_as_native(&server, 3, &[], &[case]);
    }
}

#[test]
fn evalsha_uses_what_eval_cached_case_insensitively() {
    let server = Server::start();
    let body = "return 'cached'";
    let sha = sha1hex(body);
    let upper = sha.to_uppercase();
    same_as_native(
        &server,
        2,
        &[],
        &[
            &["SCRIPT", "FLUSH"],
            &["EVALSHA", &sha, "0"],
            &["EVAL", body, "0"],
            &["EVALSHA", &sha, "0"],
            &["EVALSHA", &upper, "0"],
            &["EVALSHA_RO", &upper, "0"],
            &["SCRIPT", "EXISTS", &sha, &upper, "nope", &sha1hex("other")],
        ],
    );
}

#[test]
fn failing_compiles_are_not_cached_but_failing_runs_are() {
    let server = Server::start();
    let bad = "return +";
    let fails = "error('at run time')";
    let shebang = "#!lua flags=bogus\nreturn 1";
    same_as_native(
        &server,
        2,
        &[],
        &[
            &["SCRIPT", "FLUSH"],
            &["EVAL", bad, "0"],
            &["EVAL", fails, "0"],
            &["EVAL", shebang, "0"],
            &["SCRIPT", "EXISTS", &sha1hex(bad), &sha1hex(fails), &sha1hex(shebang)],
            &["SCRIPT", "LOAD", bad],
            &["SCRIPT", "LOAD", shebang],
            &["SCRIPT", "EXISTS", &sha1hex(bad), &sha1hex(shebang)],
        ],
    );
}

#[test]
fn shebang_errors() {
    let server = Server::start();
    for body in [
        "#!lua",
        "#!lua\nreturn 1",
        "#!not-lua\nreturn 1",
        "#!LUA\nreturn 1",
        "#!\nreturn 1",
        "#!lua name=x\nreturn 1",
        "#!lua flags=bad\nreturn 1",
        "#!lua flags=no-writes,bad\nreturn 1",
        "#!lua flags=\nreturn 1",
        "#!lua flags=no-writes flags=allow-oom\nreturn 1",
        "#!lua \"unbalanced\nreturn 1",
        "#!lua\n\nerror('line 3')",
    ] {
        same_as_native(&server, 2, &[], &[&["EVAL", body, "0"]]);
        same_as_native(&server, 2, &[], &[&["SCRIPT", "LOAD", body]]);
    }
}

#[test]
fn script_subcommand_errors_and_help() {
    let server = Server::start();
    for case in [
        vec!["SCRIPT"],
        vec!["SCRIPT", "NOSUCH"],
        vec!["SCRIPT", "LOAD"],
        vec!["SCRIPT", "LOAD", "a", "b"],
        vec!["SCRIPT", "EXISTS"],
        vec!["SCRIPT", "FLUSH", "bogus"],
        vec!["SCRIPT", "FLUSH", "sync", "async"],
        vec!["SCRIPT", "FLUSH", "ASYNC"],
        vec!["SCRIPT", "flush", "Sync"],
        vec!["SCRIPT", "HELP", "extra"],
    ] {
        same_as_native(&server, 2, &[], &[&case]);
        same_as_native(&server, 3, &[], &[&case]);
    }
}

#[test]
fn flush_modes_empty_the_cache() {
    let server = Server::start();
    let mut con = server.con();
    for mode in [None, Some("SYNC"), Some("ASYNC"), Some("sync"), Some("async")] {
        let sha = run_str(&mut con, &["ALT.SCRIPT", "LOAD", "return 'x'"]);
        assert_eq!(run_str(&mut con, &["ALT.SCRIPT", "EXISTS", &sha[1..]]), "[:1]");
        let mut flush = vec!["ALT.SCRIPT", "FLUSH"];
        flush.extend(mode);
        assert_eq!(run_str(&mut con, &flush), "+OK");
        assert_eq!(run_str(&mut con, &["ALT.SCRIPT", "EXISTS", &sha[1..]]), "[:0]", "after FLUSH {mode:?}");
        assert_eq!(
            run_str(&mut con, &["ALT.EVALSHA", &sha[1..], "0"]),
            "-NOSCRIPT No matching script. Please use EVAL."
        );
        // The fresh VM works at once.
        assert_eq!(run_str(&mut con, &["ALT.EVAL", "return 7", "0"]), ":7");
    }
    // Inside MULTI the client cannot block: SYNC frees inline and still answers OK.
    run_str(&mut con, &["ALT.SCRIPT", "LOAD", "return 'y'"]);
    assert_eq!(run_str(&mut con, &["MULTI"]), "+OK");
    run_str(&mut con, &["ALT.SCRIPT", "FLUSH", "SYNC"]);
    run_str(&mut con, &["ALT.SCRIPT", "EXISTS", &sha1hex("return 'y'")]);
    assert_eq!(run_str(&mut con, &["EXEC"]), "[+OK, [:0]]");
    // Native and ALT caches are independent.
    run_str(&mut con, &["SCRIPT", "LOAD", "return 'native'"]);
    run_str(&mut con, &["ALT.SCRIPT", "FLUSH"]);
    assert_eq!(run_str(&mut con, &["SCRIPT", "EXISTS", &sha1hex("return 'native'")]), "[:1]");
    assert!(server.log().contains("background flush of the script cache"), "{}", server.log());
}

#[test]
fn flush_default_follows_lazyfree_lazy_user_flush() {
    let server = Server::start_with(&["--loglevel", "verbose"], true);
    let mut con = server.con();
    for setting in ["no", "yes"] {
        run_str(&mut con, &["CONFIG", "SET", "lazyfree-lazy-user-flush", setting]);
        run_str(&mut con, &["ALT.SCRIPT", "LOAD", "return 1"]);
        assert_eq!(run_str(&mut con, &["ALT.SCRIPT", "FLUSH"]), "+OK");
        assert_eq!(run_str(&mut con, &["ALT.SCRIPT", "EXISTS", &sha1hex("return 1")]), "[:0]");
    }
}

/// ALT.SCRIPT FLUSH ASYNC while another connection hammers ALT.EVALSHA: every reply is the
/// script's result or NOSCRIPT, and the server stays up.
#[test]
fn flush_async_while_evalsha_runs_elsewhere() {
    let server = Server::start();
    let body = "return redis.call('incr', KEYS[1])";
    let sha = sha1hex(body);
    let port = server.port;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let worker = {
        let stop = stop.clone();
        let sha = sha.clone();
        std::thread::spawn(move || {
            let mut con = redis::Client::open(format!("redis://127.0.0.1:{port}/")).unwrap().get_connection().unwrap();
            let (mut ok, mut noscript) = (0, 0);
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                let r = run_str(&mut con, &["ALT.EVALSHA", &sha, "1", "counter"]);
                if r.starts_with(':') {
                    ok += 1;
                } else if r == "-NOSCRIPT No matching script. Please use EVAL." {
                    noscript += 1;
                } else {
                    panic!("unexpected reply {r}");
                }
            }
            (ok, noscript)
        })
    };
    let mut con = server.con();
    for _ in 0..200 {
        run_str(&mut con, &["ALT.SCRIPT", "LOAD", body]);
        for i in 0..50 {
            run_str(&mut con, &["ALT.SCRIPT", "LOAD", &format!("return {i}")]);
        }
        assert_eq!(run_str(&mut con, &["ALT.SCRIPT", "FLUSH", "ASYNC"]), "+OK");
    }
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let (ok, noscript) = worker.join().expect("worker");
    assert!(ok > 0 && noscript > 0, "ok={ok} noscript={noscript}");
    assert_eq!(run_str(&mut con, &["PING"]), "+PONG");
}
