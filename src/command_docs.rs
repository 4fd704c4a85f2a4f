//! What each command's documentation says: the summary, since, complexity, tips and argument
//! tree that `COMMAND DOCS`, `COMMAND INFO` and clients show for an `ALT.*` command. Plain
//! data, mirroring the native command's docs (arguments and tips as in 7.0.15); the host
//! adapter hands it to RedisModule_SetCommandInfo.

use std::ffi::CStr;

/// The version the docs give as `since` for every command: the module's version.
pub const SINCE: &CStr = c"1.0.0";

/// What an argument is (the Module API's argument types we use).
#[derive(Clone, Copy, Debug)]
pub enum ArgKind {
    String,
    Integer,
    /// A key name, located by the command's key spec with this index.
    Key(u8),
    /// A literal word on its own (`ASYNC`).
    PureToken(&'static CStr),
    /// Exactly one of the sub-arguments.
    OneOf(&'static [Arg]),
}

/// One argument of a command.
#[derive(Clone, Copy, Debug)]
pub struct Arg {
    pub name: &'static CStr,
    pub kind: ArgKind,
    /// The word that precedes the value (`LIBRARYNAME pattern`); a pure token's is its kind's.
    pub token: Option<&'static CStr>,
    pub optional: bool,
    pub multiple: bool,
}

impl Arg {
    const fn new(name: &'static CStr, kind: ArgKind) -> Arg {
        Arg { name, kind, token: None, optional: false, multiple: false }
    }
    const fn string(name: &'static CStr) -> Arg {
        Arg::new(name, ArgKind::String)
    }
    const fn integer(name: &'static CStr) -> Arg {
        Arg::new(name, ArgKind::Integer)
    }
    const fn key(name: &'static CStr, key_spec_index: u8) -> Arg {
        Arg::new(name, ArgKind::Key(key_spec_index))
    }
    const fn pure_token(name: &'static CStr, token: &'static CStr) -> Arg {
        Arg::new(name, ArgKind::PureToken(token))
    }
    const fn one_of(name: &'static CStr, choices: &'static [Arg]) -> Arg {
        Arg::new(name, ArgKind::OneOf(choices))
    }
    const fn optional(self) -> Arg {
        Arg { optional: true, ..self }
    }
    const fn multiple(self) -> Arg {
        Arg { multiple: true, ..self }
    }
    const fn with_token(self, token: &'static CStr) -> Arg {
        Arg { token: Some(token), ..self }
    }

    /// The token the Module API wants for this argument, if any.
    pub fn token(&self) -> Option<&'static CStr> {
        match self.kind {
            ArgKind::PureToken(token) => Some(token),
            _ => self.token,
        }
    }
}

/// The documentation of one command or subcommand.
#[derive(Debug)]
pub struct Doc {
    /// `alt.eval`, or `alt.script|load` for a subcommand, as in the command table.
    pub name: &'static CStr,
    pub summary: &'static CStr,
    pub since: &'static CStr,
    pub complexity: &'static CStr,
    /// Space-separated tips for clients and proxies (`request_policy:all_nodes ...`).
    pub tips: Option<&'static CStr>,
    pub args: &'static [Arg],
}

impl Doc {
    const fn new(name: &'static CStr, summary: &'static CStr, complexity: &'static CStr) -> Doc {
        Doc { name, summary, since: SINCE, complexity, tips: None, args: &[] }
    }
    const fn tips(self, tips: &'static CStr) -> Doc {
        Doc { tips: Some(tips), ..self }
    }
    const fn args(self, args: &'static [Arg]) -> Doc {
        Doc { args, ..self }
    }
}

/// The docs of the command called `name` (lower case, `container|sub`), if it has any.
pub fn lookup(name: &CStr) -> Option<&'static Doc> {
    DOCS.iter().find(|doc| doc.name == name)
}

/// `script numkeys [key ...] [arg ...]` with the first word named `first`: the EVAL family.
macro_rules! numkeys_args {
    ($first:literal) => {
        &[
            Arg::string($first),
            Arg::integer(c"numkeys"),
            Arg::key(c"key", 0).optional().multiple(),
            Arg::string(c"arg").optional().multiple(),
        ]
    };
}

const EVAL_ARGS: &[Arg] = numkeys_args!(c"script");
const EVALSHA_ARGS: &[Arg] = numkeys_args!(c"sha1");
const FCALL_ARGS: &[Arg] = numkeys_args!(c"function");

const FLUSH_MODES: &[Arg] = &[Arg::pure_token(c"async", c"ASYNC"), Arg::pure_token(c"sync", c"SYNC")];
/// `[ASYNC | SYNC]` of FLUSHALL, SCRIPT FLUSH and FUNCTION FLUSH.
const FLUSH_ARGS: &[Arg] = &[Arg::one_of(c"async", FLUSH_MODES).optional()];

const RESTORE_POLICIES: &[Arg] = &[
    Arg::pure_token(c"flush", c"FLUSH"),
    Arg::pure_token(c"append", c"APPEND"),
    Arg::pure_token(c"replace", c"REPLACE"),
];

const ALL_NODES_ALL_SUCCEEDED: &CStr = c"request_policy:all_nodes response_policy:all_succeeded";
const ALL_SHARDS_ALL_SUCCEEDED: &CStr = c"request_policy:all_shards response_policy:all_succeeded";
const ALL_SHARDS_ONE_SUCCEEDED: &CStr = c"request_policy:all_shards response_policy:one_succeeded";

const DEPENDS_ON_SCRIPT: &CStr = c"Depends on the script that is executed.";
const DEPENDS_ON_FUNCTION: &CStr = c"Depends on the function that is executed.";
const DEPENDS_ON_SUBCOMMAND: &CStr = c"Depends on subcommand.";
const HELP: &CStr = c"Show helpful text about the different subcommands";

static DOCS: &[Doc] = &[
    Doc::new(c"alt.eval", c"Execute a Lua script server side, on the redis-alt engine", DEPENDS_ON_SCRIPT)
        .args(EVAL_ARGS),
    Doc::new(c"alt.evalsha", c"Execute a Lua script server side, on the redis-alt engine", DEPENDS_ON_SCRIPT)
        .args(EVALSHA_ARGS),
    Doc::new(c"alt.eval_ro", c"Execute a read-only Lua script server side, on the redis-alt engine", DEPENDS_ON_SCRIPT)
        .args(EVAL_ARGS),
    Doc::new(
        c"alt.evalsha_ro",
        c"Execute a read-only Lua script server side, on the redis-alt engine",
        DEPENDS_ON_SCRIPT,
    )
    .args(EVALSHA_ARGS),
    Doc::new(
        c"alt.script",
        c"A container for Lua scripts management commands of the redis-alt engine",
        DEPENDS_ON_SUBCOMMAND,
    ),
    Doc::new(
        c"alt.script|load",
        c"Load the specified Lua script into the redis-alt script cache.",
        c"O(N) with N being the length in bytes of the script body.",
    )
    .tips(ALL_NODES_ALL_SUCCEEDED)
    .args(&[Arg::string(c"script")]),
    Doc::new(
        c"alt.script|exists",
        c"Check existence of scripts in the redis-alt script cache.",
        c"O(N) with N being the number of scripts to check (so checking a single script is an O(1) operation).",
    )
    .tips(c"request_policy:all_shards response_policy:agg_logical_and")
    .args(&[Arg::string(c"sha1").multiple()]),
    Doc::new(
        c"alt.script|flush",
        c"Remove all the scripts from the redis-alt script cache.",
        c"O(N) with N being the number of scripts in cache",
    )
    .tips(ALL_NODES_ALL_SUCCEEDED)
    .args(FLUSH_ARGS),
    Doc::new(c"alt.script|debug", c"Set the debug mode for executed redis-alt scripts.", c"O(1)").args(&[Arg::one_of(
        c"mode",
        &[Arg::pure_token(c"yes", c"YES"), Arg::pure_token(c"sync", c"SYNC"), Arg::pure_token(c"no", c"NO")],
    )]),
    Doc::new(c"alt.script|kill", c"Kill the redis-alt script currently in execution.", c"O(1)")
        .tips(ALL_SHARDS_ONE_SUCCEEDED),
    Doc::new(c"alt.script|help", HELP, c"O(1)"),
    // No native counterpart: ALT.SCRIPT's own subcommands.
    Doc::new(c"alt.script|show", c"Returns the body of a cached script", c"O(1)").args(&[Arg::string(c"sha1")]),
    Doc::new(
        c"alt.script|list",
        c"Lists the scripts in the redis-alt script cache",
        c"O(N) with N being the number of scripts in cache",
    )
    .args(&[Arg::pure_token(c"withsource", c"WITHSOURCE").optional()]),
    Doc::new(
        c"alt.script|stats",
        c"Returns statistics about scripts in the redis-alt script cache",
        c"O(N) with N being the number of scripts reported",
    )
    .tips(c"nondeterministic_output")
    .args(&[Arg::string(c"sha1").optional().multiple()]),
    Doc::new(c"alt.fcall", c"Invoke a function of the redis-alt engine", DEPENDS_ON_FUNCTION).args(FCALL_ARGS),
    Doc::new(c"alt.fcall_ro", c"Invoke a read-only function of the redis-alt engine", DEPENDS_ON_FUNCTION)
        .args(FCALL_ARGS),
    Doc::new(c"alt.function", c"A container for function commands of the redis-alt engine", DEPENDS_ON_SUBCOMMAND),
    Doc::new(
        c"alt.function|load",
        c"Create a function with the given arguments (name, code, description) on the redis-alt engine",
        c"O(1) (considering compilation time is redundant)",
    )
    .tips(ALL_SHARDS_ALL_SUCCEEDED)
    .args(&[Arg::pure_token(c"replace", c"REPLACE").optional(), Arg::string(c"function-code")]),
    Doc::new(c"alt.function|delete", c"Delete a redis-alt function library by name", c"O(1)")
        .tips(ALL_SHARDS_ALL_SUCCEEDED)
        .args(&[Arg::string(c"library-name")]),
    Doc::new(
        c"alt.function|list",
        c"List information about all the redis-alt functions",
        c"O(N) where N is the number of functions",
    )
    .tips(c"nondeterministic_output_order")
    .args(&[
        Arg::string(c"library-name-pattern").with_token(c"LIBRARYNAME").optional(),
        Arg::pure_token(c"withcode", c"WITHCODE").optional(),
    ]),
    Doc::new(
        c"alt.function|flush",
        c"Deleting all redis-alt functions",
        c"O(N) where N is the number of functions deleted",
    )
    .tips(ALL_SHARDS_ALL_SUCCEEDED)
    .args(FLUSH_ARGS),
    Doc::new(
        c"alt.function|dump",
        c"Dump all redis-alt functions into a serialized binary payload",
        c"O(N) where N is the number of functions",
    ),
    Doc::new(
        c"alt.function|restore",
        c"Restore all the redis-alt functions on the given payload",
        c"O(N) where N is the number of functions on the payload",
    )
    .tips(ALL_SHARDS_ALL_SUCCEEDED)
    .args(&[Arg::string(c"serialized-value"), Arg::one_of(c"policy", RESTORE_POLICIES).optional()]),
    Doc::new(
        c"alt.function|stats",
        c"Return information about the redis-alt function currently running (name, description, duration)",
        c"O(1)",
    )
    .tips(c"nondeterministic_output request_policy:all_shards response_policy:special")
    // ALT's extension: per-function statistics.
    .args(&[Arg::pure_token(c"withfunctions", c"WITHFUNCTIONS").optional()]),
    Doc::new(c"alt.function|kill", c"Kill the redis-alt function currently in execution.", c"O(1)")
        .tips(ALL_SHARDS_ONE_SUCCEEDED),
    Doc::new(c"alt.function|help", HELP, c"O(1)"),
    // Internal: the command filter puts it in front of a debugging client's line.
    Doc::new(c"alt.ldb", c"A Lua debugger command of a client in a debugging session (internal).", c"O(1)")
        .args(&[Arg::string(c"line").multiple()]),
    Doc::new(
        c"alt.flushall",
        c"Remove all keys from all databases",
        c"O(N) where N is the total number of keys in all databases",
    )
    .tips(ALL_SHARDS_ALL_SUCCEEDED)
    .args(FLUSH_ARGS),
];

#[cfg(test)]
mod tests {
    use super::{lookup, ArgKind, DOCS};

    #[test]
    fn names_are_unique_and_found() {
        for doc in DOCS {
            assert_eq!(DOCS.iter().filter(|d| d.name == doc.name).count(), 1, "{:?}", doc.name);
            assert!(lookup(doc.name).is_some());
        }
        assert!(lookup(c"alt.nothing").is_none());
    }

    /// Every command in the table has docs; every key argument refers to a key spec the
    /// table gives the command (SetCommandInfo would refuse a key argument without one).
    #[test]
    fn docs_match_the_command_table() {
        for spec in crate::command_table() {
            let doc = lookup(spec.name).unwrap_or_else(|| panic!("no docs for {:?}", spec.name));
            for arg in doc.args {
                if let ArgKind::Key(index) = arg.kind {
                    assert!(index == 0 && spec.numkeys_keys.is_some(), "{:?}: key spec {index}", spec.name);
                }
            }
        }
    }
}
