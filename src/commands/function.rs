//! ALT.FUNCTION LOAD | DELETE | LIST | FLUSH | STATS | KILL | HELP (functions.c), each a real
//! subcommand. KILL and STATS are allow-busy and never touch the registry a running function
//! holds.

use super::script::reply_help;
use super::FlushMode;
use crate::error::ScriptError;
use crate::functions::RestorePolicy;
use crate::host::Ctx;
use crate::reply::ReplySink;
use crate::run::{self, Mode};
use crate::{function_dump, functions, state};

/// FUNCTION LOAD [REPLACE] code: every argument before the code must be REPLACE.
pub fn load(ctx: &mut Ctx, argv: &[&[u8]]) -> Result<(), ScriptError> {
    let options = argv.get(2..argv.len().saturating_sub(1)).unwrap_or_default();
    let mut replace = false;
    for option in options {
        if !option.eq_ignore_ascii_case(b"replace") {
            return Err(ScriptError::err(format!("Unknown option given: {}", String::from_utf8_lossy(option))));
        }
        replace = true;
    }
    let Some(code) = argv.get(2..).and_then(<[&[u8]]>::last) else {
        return Err(ScriptError::err("Function code is missing"));
    };
    // Loads replayed from the primary or the AOF are not held to the load timeout.
    let timeout = !ctx.flags().sent_by_primary();
    let name = state::with_functions(|f| f.load(code, replace, timeout))?;
    ctx.replicate_verbatim(c"ALT.FUNCTION", argv);
    ctx.bulk(&name);
    Ok(())
}

pub fn delete(ctx: &mut Ctx, argv: &[&[u8]]) -> Result<(), ScriptError> {
    let [_, _, name] = argv else { return Err(ScriptError::Arity) };
    state::with_functions(|f| f.delete(name))?;
    ctx.replicate_verbatim(c"ALT.FUNCTION", argv);
    ctx.reply_ok();
    Ok(())
}

/// FUNCTION LIST [LIBRARYNAME pattern] [WITHCODE], each option at most once.
pub fn list(ctx: &mut Ctx, argv: &[&[u8]]) -> Result<(), ScriptError> {
    let mut with_code = false;
    let mut pattern: Option<&[u8]> = None;
    let mut i = 2;
    while let Some(arg) = argv.get(i) {
        if !with_code && arg.eq_ignore_ascii_case(b"withcode") {
            with_code = true;
        } else if pattern.is_none() && arg.eq_ignore_ascii_case(b"libraryname") {
            pattern = Some(argv.get(i + 1).ok_or_else(|| ScriptError::err("library name argument was not given"))?);
            i += 1;
        } else {
            return Err(ScriptError::err(format!("Unknown argument {}", String::from_utf8_lossy(arg))));
        }
        i += 1;
    }
    state::with_functions(|f| {
        f.list(ctx, pattern, with_code);
        Ok(())
    })
}

/// FUNCTION FLUSH [ASYNC|SYNC]: never stalls other clients (like ALT.SCRIPT FLUSH).
pub fn flush(ctx: &mut Ctx, argv: &[&[u8]]) -> Result<(), ScriptError> {
    let mode = match argv {
        [_, _] => FlushMode::host_default(ctx),
        [_, _, word] => FlushMode::from_word(word)
            .ok_or_else(|| ScriptError::err("FUNCTION FLUSH only supports SYNC|ASYNC option"))?,
        _ => return Err(subcommand_syntax_error(argv)),
    };
    let old = state::take_functions()?;
    ctx.replicate_verbatim(c"ALT.FUNCTION", argv);
    super::free_flushed(ctx, old, mode, "function libraries");
    Ok(())
}

/// addReplySubcommandSyntaxError: names the subcommand as typed and the container in capitals.
fn subcommand_syntax_error(argv: &[&[u8]]) -> ScriptError {
    let lossy = |i: usize| String::from_utf8_lossy(argv.get(i).copied().unwrap_or_default()).into_owned();
    ScriptError::err(format!(
        "unknown subcommand or wrong number of arguments for '{}'. Try {} HELP.",
        lossy(1),
        lossy(0).to_ascii_uppercase()
    ))
}

/// FUNCTION DUMP: native's payload format (RDB encoding, version, CRC64), LZF-compressed
/// when the host's `rdbcompression` is on.
pub fn dump(ctx: &mut Ctx, _argv: &[&[u8]]) -> Result<(), ScriptError> {
    let compress = crate::host::config_get(ctx, b"rdbcompression").is_none_or(|v| v.eq_ignore_ascii_case(b"yes"));
    let codes = state::with_functions(|f| Ok(f.codes()))?;
    let codes: Vec<&[u8]> = codes.iter().map(Vec::as_slice).collect();
    ctx.bulk(&function_dump::encode(&codes, compress));
    Ok(())
}

/// FUNCTION RESTORE payload [FLUSH|APPEND|REPLACE].
pub fn restore(ctx: &mut Ctx, argv: &[&[u8]]) -> Result<(), ScriptError> {
    if argv.len() > 4 {
        return Err(subcommand_syntax_error(argv));
    }
    let policy = match argv.get(3) {
        None => RestorePolicy::Append,
        Some(p) if p.eq_ignore_ascii_case(b"flush") => RestorePolicy::Flush,
        Some(p) if p.eq_ignore_ascii_case(b"append") => RestorePolicy::Append,
        Some(p) if p.eq_ignore_ascii_case(b"replace") => RestorePolicy::Replace,
        Some(_) => {
            return Err(ScriptError::err(
                "Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.",
            ))
        }
    };
    let payload = argv.get(2).copied().unwrap_or_default();
    let codes = function_dump::decode(payload).map_err(|e| ScriptError::Coded(e.text().as_bytes().to_vec()))?;
    state::with_functions(|f| f.restore(&codes, policy))?;
    ctx.replicate_verbatim(c"ALT.FUNCTION", argv);
    ctx.reply_ok();
    Ok(())
}

/// FUNCTION STATS (allow-busy): the running function, and the engine's counts.
/// FUNCTION STATS; `ALT.FUNCTION STATS WITHFUNCTIONS` adds a `functions` entry: each
/// function's run statistics by name (as ALT.SCRIPT STATS gives them per script).
pub fn stats(ctx: &mut Ctx, argv: &[&[u8]]) -> Result<(), ScriptError> {
    let with_functions = match argv {
        [_, _] => false,
        [_, _, word] if word.eq_ignore_ascii_case(b"WITHFUNCTIONS") => true,
        _ => return Err(ScriptError::Arity),
    };
    let running = run::running_function()?;
    ctx.map(Some(2 + usize::from(with_functions)));
    ctx.bulk(b"running_script");
    match running {
        None => ctx.null(),
        Some(f) => {
            ctx.map(Some(3));
            ctx.bulk(b"name");
            ctx.bulk(f.name.as_bytes());
            ctx.bulk(b"command");
            ctx.array(Some(f.command.len()));
            for arg in &f.command {
                ctx.bulk(arg);
            }
            ctx.bulk(b"duration_ms");
            ctx.int(i64::try_from(f.millis).unwrap_or(i64::MAX));
        }
    }
    let (libraries, functions) = functions::counts();
    ctx.bulk(b"engines");
    ctx.map(Some(1));
    ctx.bulk(b"LUA");
    ctx.map(Some(2));
    ctx.bulk(b"libraries_count");
    ctx.int(i64::try_from(libraries).unwrap_or(i64::MAX));
    ctx.bulk(b"functions_count");
    ctx.int(i64::try_from(functions).unwrap_or(i64::MAX));
    if with_functions {
        let all = functions::stats();
        ctx.bulk(b"functions");
        ctx.map(Some(all.len()));
        for (name, stats) in &all {
            ctx.bulk(name);
            super::script::reply_stats(ctx, Some(stats));
        }
    }
    Ok(())
}

/// FUNCTION KILL (allow-busy).
pub fn kill(ctx: &mut Ctx, _argv: &[&[u8]]) -> Result<(), ScriptError> {
    run::kill(Mode::Function)?;
    ctx.reply_ok();
    Ok(())
}

const HELP: &[&str] = &[
    "LOAD [REPLACE] <FUNCTION CODE>",
    "    Create a new library with the given library name and code.",
    "DELETE <LIBRARY NAME>",
    "    Delete the given library.",
    "LIST [LIBRARYNAME PATTERN] [WITHCODE]",
    "    Return general information on all the libraries:",
    "    * Library name",
    "    * The engine used to run the Library",
    "    * Library description",
    "    * Functions list",
    "    * Library code (if WITHCODE is given)",
    "    It also possible to get only function that matches a pattern using LIBRARYNAME argument.",
    "STATS [WITHFUNCTIONS]",
    "    Return information about the current function running:",
    "    * Function name",
    "    * Command used to run the function",
    "    * Duration in MS that the function is running",
    "    If no function is running, return nil",
    "    In addition, returns a list of available engines, with the number of libraries and",
    "    functions, and with WITHFUNCTIONS the run statistics of every function.",
    "KILL",
    "    Kill the current running function.",
    "FLUSH [ASYNC|SYNC]",
    "    Delete all the libraries.",
    "    When called without the optional mode argument, the behavior is determined by the",
    "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
    "    * ASYNC: Asynchronously flush the libraries.",
    "    * SYNC: Synchronously flush the libraries.",
    "DUMP",
    "    Return a serialized payload representing the current libraries, can be restored using FUNCTION RESTORE command",
    "RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
    "    Restore the libraries represented by the given payload, it is possible to give a restore policy to",
    "    control how to handle existing libraries (default APPEND):",
    "    * FLUSH: delete all existing libraries.",
    "    * APPEND: appends the restored libraries to the existing libraries. On collision, abort.",
    "    * REPLACE: appends the restored libraries to the existing libraries, On collision, replace the old",
    "      libraries with the new libraries (notice that even on this option there is a chance of failure",
    "      in case of functions name collision with another library).",
];

pub fn help(ctx: &mut Ctx, argv: &[&[u8]]) -> Result<(), ScriptError> {
    if ctx.dropin() {
        // Native's text: STATS takes no WITHFUNCTIONS under the native name.
        let native: Vec<&str> = HELP
            .iter()
            .filter(|l| !l.starts_with("    functions, and with"))
            .map(|l| match *l {
                "STATS [WITHFUNCTIONS]" => "STATS",
                "    In addition, returns a list of available engines, with the number of libraries and" => {
                    "    In addition, returns a list of available engines."
                }
                other => other,
            })
            .collect();
        reply_help(ctx, argv.first().copied().unwrap_or(b"FUNCTION"), &native);
        return Ok(());
    }
    reply_help(ctx, argv.first().copied().unwrap_or(b"ALT.FUNCTION"), HELP);
    Ok(())
}
