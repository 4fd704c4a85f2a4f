//! Loading the module: at start, at runtime with MODULE LOAD, unloading, and the server-level
//! guards (ACL as the caller, OOM, the command table).

mod support;

use support::{run_str, same_as_native, Server};

#[test]
fn module_load_at_runtime() {
    let server = Server::start_with(&[], false);
    let mut con = server.con();
    assert!(run_str(&mut con, &["ALT.EVAL", "return 1", "0"]).starts_with("-ERR unknown command"));
    let path = server.module_copy();
    let path = path.to_str().expect("utf-8 path");
    assert_eq!(run_str(&mut con, &["MODULE", "LOAD", path]), "+OK");
    assert_eq!(run_str(&mut con, &["ALT.EVAL", "return redis.call('ping')", "0"]), "+PONG");
    assert!(run_str(&mut con, &["MODULE", "LIST"]).contains("$alt"));
    // Function libraries persist as module aux data in the RDB: Redis then refuses to unload
    // a module that exports a data type.
    let unload = run_str(&mut con, &["MODULE", "UNLOAD", "alt"]);
    assert!(unload.contains("data types"), "{unload}");
    assert_eq!(run_str(&mut con, &["ALT.EVAL", "return 2", "0"]), ":2");
}

#[test]
fn inner_commands_run_with_the_callers_acl() {
    let server = Server::start();
    let mut admin = server.con();
    run_str(&mut admin, &["ACL", "SETUSER", "limited", "on", "nopass", "~allowed*", "+eval", "+alt.eval", "+get"]);
    let mut con = server.con();
    assert_eq!(run_str(&mut con, &["AUTH", "limited", "x"]), "+OK");
    for script in [
        "return redis.pcall('set', 'allowed', 1)",
        "return redis.pcall('get', 'forbidden')",
        "return redis.pcall('get', 'allowed')",
        "return redis.call('set', 'allowed', 1)",
    ] {
        let native = run_str(&mut con, &["EVAL", script, "0"]);
        let alt = support::normalize(&run_str(&mut con, &["ALT.EVAL", script, "0"]));
        assert_eq!(alt, native, "{script}");
    }
}

#[test]
fn oom_refuses_writes_but_not_reads() {
    let server = Server::start();
    let setup: &[&[&str]] = &[&["SET", "k", "v"], &["CONFIG", "SET", "maxmemory", "1"]];
    for script in [
        "return redis.call('get', 'k')",
        "return redis.pcall('set', 'k2', 'v')",
        "return redis.call('set', 'k2', 'v')",
        "#!lua flags=no-writes\nreturn redis.call('get', 'k')",
        "#!lua\nreturn redis.call('get', 'k')",
        "#!lua flags=allow-oom\nreturn redis.call('set', 'k3', 'v')",
    ] {
        let r2 = same_as_native(&server, 2, setup, &[&["EVAL", script, "0"], &["CONFIG", "SET", "maxmemory", "0"]]);
        assert!(!r2.is_empty());
    }
}

#[test]
fn command_table_and_keys() {
    let server = Server::start();
    let mut con = server.con();
    assert_eq!(run_str(&mut con, &["COMMAND", "GETKEYS", "ALT.EVAL", "return 1", "2", "a", "b", "c"]), "[$a, $b]");
    assert_eq!(run_str(&mut con, &["COMMAND", "GETKEYS", "ALT.EVALSHA_RO", "x", "1", "a", "b"]), "[$a]");
    let info = run_str(&mut con, &["COMMAND", "INFO", "alt.eval", "alt.script"]);
    assert!(info.contains("$alt.eval, :-3"), "{info}");
    assert!(info.contains("$alt.script|load, :3"), "{info}");
    // A script cannot re-enter the module.
    let r = run_str(&mut con, &["ALT.EVAL", "return redis.pcall('alt.eval', 'return 1', 0)", "0"]);
    assert_eq!(r, "-ERR This Redis command is not allowed from script");
    let r = run_str(&mut con, &["EVAL", "return redis.pcall('alt.eval', 'return 1', 0)", "0"]);
    assert_eq!(r, "-ERR This Redis command is not allowed from script");
}

/// ACL categories: a user granted `+@scripting` may run ALT.* scripting commands and one
/// denied `-@scripting` may not, as for the native commands (7.0 has no category API for
/// module commands; the module adds the matching rules to ACL SETUSER).
#[test]
fn acl_categories_cover_alt_commands() {
    let server = Server::start();
    let mut admin = server.con();
    run_str(&mut admin, &["ACL", "SETUSER", "bob", "on", ">123", "+@scripting", "+set", "~x*"]);
    run_str(&mut admin, &["ACL", "SETUSER", "eve", "on", ">123", "~*", "+@all", "-@scripting", "-@dangerous"]);
    let mut bob = server.con();
    run_str(&mut bob, &["AUTH", "bob", "123"]);
    for (native, alt) in [
        (vec!["EVAL", "return redis.acl_check_cmd('set','xx',1)", "1", "xx"], "ALT.EVAL"),
        (vec!["EVAL", "return redis.acl_check_cmd('get','xx')", "0"], "ALT.EVAL"),
        (vec!["EVAL", "return redis.call('set', 'xa', 1)", "0"], "ALT.EVAL"),
    ] {
        let n = run_str(&mut bob, &native);
        let mut a = native.clone();
        a[0] = alt;
        assert_eq!(support::normalize(&run_str(&mut bob, &a)), n, "{native:?}");
    }
    let mut eve = server.con();
    run_str(&mut eve, &["AUTH", "eve", "123"]);
    assert!(run_str(&mut eve, &["ALT.EVAL", "return 1", "0"]).starts_with("-NOPERM"));
    assert!(run_str(&mut eve, &["ALT.FLUSHALL"]).starts_with("-NOPERM"));
    assert_eq!(run_str(&mut eve, &["GET", "x"]), "nil");
}
