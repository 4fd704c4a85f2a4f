//! ALT.FLUSHALL against native FLUSHALL: modes, the lazyfree default, errors, and that the
//! script cache survives.

mod support;

use support::{run_str, same_as_native, sha1hex, Server};

#[test]
fn modes_and_errors_match_native() {
    let server = Server::start();
    let setup: &[&[&str]] = &[&["SET", "a", "1"], &["SELECT", "3"], &["SET", "b", "2"], &["SELECT", "0"]];
    for case in [
        vec!["FLUSHALL"],
        vec!["FLUSHALL", "SYNC"],
        vec!["FLUSHALL", "ASYNC"],
        vec!["FLUSHALL", "async"],
        vec!["FLUSHALL", "bogus"],
        vec!["FLUSHALL", "SYNC", "ASYNC"],
    ] {
        same_as_native(&server, 2, setup, &[&case, &["DBSIZE"]]);
        same_as_native(&server, 3, setup, &[&case, &["DBSIZE"]]);
    }
}

#[test]
fn scripts_survive_and_sync_answers_with_memory_released() {
    let server = Server::start();
    let mut con = server.con();
    run_str(&mut con, &["ALT.SCRIPT", "LOAD", "return 'kept'"]);
    run_str(&mut con, &["DEBUG", "POPULATE", "20000"]);
    assert_eq!(run_str(&mut con, &["ALT.FLUSHALL", "SYNC"]), "+OK");
    assert_eq!(run_str(&mut con, &["DBSIZE"]), ":0");
    let info = run_str(&mut con, &["INFO", "memory"]);
    assert!(info.contains("lazyfree_pending_objects:0"), "{info}");
    assert_eq!(run_str(&mut con, &["ALT.SCRIPT", "EXISTS", &sha1hex("return 'kept'")]), "[:1]");
    // Inside MULTI the flush is plain synchronous and still answers OK.
    run_str(&mut con, &["SET", "x", "1"]);
    run_str(&mut con, &["MULTI"]);
    run_str(&mut con, &["ALT.FLUSHALL", "SYNC"]);
    run_str(&mut con, &["DBSIZE"]);
    assert_eq!(run_str(&mut con, &["EXEC"]), "[+OK, :0]");
    // From a script it is an ordinary write command.
    run_str(&mut con, &["SET", "y", "1"]);
    assert_eq!(run_str(&mut con, &["ALT.EVAL", "return redis.call('alt.flushall', 'sync')", "0"]), "+OK");
    assert_eq!(run_str(&mut con, &["DBSIZE"]), ":0");
}

#[test]
fn async_keeps_keys_written_after_the_call() {
    let server = Server::start();
    let mut con = server.con();
    run_str(&mut con, &["DEBUG", "POPULATE", "50000"]);
    assert_eq!(run_str(&mut con, &["ALT.FLUSHALL", "ASYNC"]), "+OK");
    run_str(&mut con, &["SET", "new", "1"]);
    assert_eq!(run_str(&mut con, &["DBSIZE"]), ":1");
    assert_eq!(run_str(&mut con, &["GET", "new"]), "$1");
}

#[test]
fn default_follows_lazyfree_lazy_user_flush() {
    let server = Server::start();
    let mut con = server.con();
    for setting in ["no", "yes"] {
        run_str(&mut con, &["CONFIG", "SET", "lazyfree-lazy-user-flush", setting]);
        run_str(&mut con, &["DEBUG", "POPULATE", "1000"]);
        assert_eq!(run_str(&mut con, &["ALT.FLUSHALL"]), "+OK");
        assert_eq!(run_str(&mut con, &["DBSIZE"]), ":0");
    }
}

#[test]
fn replicates_to_a_replica() {
    let primary = Server::start();
    let replica = Server::start_with(&["--replicaof", "127.0.0.1", &primary.port.to_string()], true);
    let mut p = primary.con();
    let mut r = replica.con();
    let wait_sync = |r: &mut redis::Connection| {
        for _ in 0..500 {
            if run_str(r, &["INFO", "replication"]).contains("master_link_status:up") {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        panic!("replica never synced");
    };
    wait_sync(&mut r);
    run_str(&mut p, &["ALT.EVAL", "redis.call('set', 'a', 1) redis.call('rpush', 'l', 'x', 'y') return 1", "0"]);
    run_str(&mut p, &["WAIT", "1", "5000"]);
    assert_eq!(run_str(&mut r, &["GET", "a"]), "$1");
    assert_eq!(run_str(&mut r, &["LRANGE", "l", "0", "-1"]), "[$x, $y]");
    run_str(&mut p, &["ALT.FLUSHALL", "SYNC"]);
    run_str(&mut p, &["WAIT", "1", "5000"]);
    assert_eq!(run_str(&mut r, &["DBSIZE"]), ":0");
}
