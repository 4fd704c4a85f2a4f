//! What the 7.0 Module API cannot express, emulated by looking at commands on their way in
//! (a command filter):
//! - ACL categories: 7.0 has no RM_SetCommandACLCategories, so `+@scripting` would not grant
//!   `ALT.EVAL`. `ACL SETUSER` rules naming a category the native commands belong to get the
//!   matching ALT.* rules added right after them, in place, so rule order keeps its meaning.
//! - `DEBUG RELOAD NOFLUSH [MERGE]`: the function loader must know whether the reload flushed
//!   libraries first, and whether duplicates may replace (functions.c rdbFunctionLoad).

use std::sync::atomic::{AtomicU8, Ordering};

use crate::host::FilterArgs;

/// ALT.* commands per native ACL category (from the native commands' categories).
const CATEGORIES: &[(&[u8], &[&[u8]])] = &[
    (b"scripting", SCRIPTING),
    (
        b"slow",
        &[
            b"alt.eval",
            b"alt.evalsha",
            b"alt.eval_ro",
            b"alt.evalsha_ro",
            b"alt.fcall",
            b"alt.fcall_ro",
            b"alt.script",
            b"alt.function",
            b"alt.flushall",
        ],
    ),
    (
        b"write",
        &[
            b"alt.function|load",
            b"alt.function|delete",
            b"alt.function|flush",
            b"alt.function|restore",
            b"alt.flushall",
        ],
    ),
    (b"keyspace", &[b"alt.flushall"]),
    (b"dangerous", &[b"alt.flushall"]),
];

const SCRIPTING: &[&[u8]] = &[
    b"alt.eval",
    b"alt.evalsha",
    b"alt.eval_ro",
    b"alt.evalsha_ro",
    b"alt.fcall",
    b"alt.fcall_ro",
    b"alt.script",
    b"alt.function",
];

/// How the next RDB load should treat function libraries already loaded.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ReloadLibraries {
    /// The host flushed first (plain DEBUG RELOAD, startup): the RDB's set replaces ours.
    Replace = 0,
    /// NOFLUSH: a library that already exists is an error, as natively.
    Refuse = 1,
    /// NOFLUSH MERGE: the RDB's libraries replace same-name ones.
    Merge = 2,
}

static NEXT_RELOAD: AtomicU8 = AtomicU8::new(ReloadLibraries::Replace as u8);

/// Takes the policy for the RDB load starting now (and resets it for the next one).
pub fn take_reload_policy() -> ReloadLibraries {
    match NEXT_RELOAD.swap(ReloadLibraries::Replace as u8, Ordering::SeqCst) {
        1 => ReloadLibraries::Refuse,
        2 => ReloadLibraries::Merge,
        _ => ReloadLibraries::Replace,
    }
}

/// The names the filter looks at (by length and first letter, case-insensitive): ACL and
/// DEBUG here, CONFIG and the scripting commands for drop-in mode. Runs for every command.
pub fn wants(name: &[u8]) -> bool {
    let Some(&first) = name.first() else { return false };
    matches!(
        (name.len(), first | 0x20),
        (3, b'a') | (5, b'd') | (6, b'c') | (4 | 7 | 10, b'e') | (5 | 8, b'f') | (6, b's')
    )
}

/// The command filter, for the commands `wants`.
pub fn filter(args: &mut FilterArgs) {
    crate::debugger::route(args);
    if args.get(0).is_some_and(|n| n.eq_ignore_ascii_case(crate::debugger::COMMAND)) {
        return;
    }
    crate::dropin::route(args);
    let Some(name) = args.get(0) else { return };
    if name.eq_ignore_ascii_case(b"acl") {
        if args.get(1).is_some_and(|s| s.eq_ignore_ascii_case(b"setuser")) {
            add_alt_rules(args);
        }
    } else if name.eq_ignore_ascii_case(b"debug") && args.get(1).is_some_and(|s| s.eq_ignore_ascii_case(b"reload")) {
        let options: Vec<Vec<u8>> =
            (2..args.len()).filter_map(|i| args.get(i).map(<[u8]>::to_ascii_lowercase)).collect();
        let has = |o: &[u8]| options.iter().any(|x| x == o);
        let policy = match (has(b"noflush"), has(b"merge")) {
            (true, true) => ReloadLibraries::Merge,
            (true, false) => ReloadLibraries::Refuse,
            _ => ReloadLibraries::Replace,
        };
        NEXT_RELOAD.store(policy as u8, Ordering::SeqCst);
    }
}

/// After each `+@cat` / `-@cat` rule (and `allcommands`/`nocommands`, which already cover
/// module commands), inserts the same sign for the ALT.* commands of that category.
fn add_alt_rules(args: &mut FilterArgs) {
    let mut i = 3;
    while i < args.len() {
        let rule = args.get(i).map(<[u8]>::to_ascii_lowercase).unwrap_or_default();
        let added = match (rule.first(), rule.get(1), rule.get(2..)) {
            (Some(&sign), Some(b'@'), Some(category)) if sign == b'+' || sign == b'-' => {
                CATEGORIES.iter().find(|(c, _)| *c == category).map(|(_, commands)| (sign, *commands))
            }
            _ => None,
        };
        if let Some((sign, commands)) = added {
            for (k, command) in commands.iter().enumerate() {
                let mut extra = vec![sign];
                extra.extend_from_slice(command);
                args.insert(i + 1 + k, &extra);
            }
            i += commands.len();
        }
        i += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::wants;

    #[test]
    fn wants_every_name_the_filter_handles_and_few_others() {
        for name in [
            "acl",
            "debug",
            "config",
            "eval",
            "evalsha",
            "eval_ro",
            "evalsha_ro",
            "fcall",
            "fcall_ro",
            "script",
            "function",
            "flushall",
        ] {
            assert!(wants(name.as_bytes()), "{name}");
            assert!(wants(name.to_ascii_uppercase().as_bytes()), "{name}");
        }
        for name in ["get", "set", "ping", "hset", "hgetall", "incr", "del", "lpush", "mget", "", "EXPIRE"] {
            assert!(!wants(name.as_bytes()), "{name}");
        }
    }
}
