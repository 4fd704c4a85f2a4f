//! ALT.SCRIPT LOAD | EXISTS | FLUSH | HELP (eval.c scriptCommand), each a real subcommand so
//! that the server checks arity and flags per subcommand.

use super::FlushMode;
use crate::error::ScriptError;
use crate::host::Ctx;
use crate::reply::ReplySink;
use crate::run_stats::RunStats;
use crate::scripts::Origin;
use crate::state;

pub fn load(ctx: &mut Ctx, argv: &[&[u8]]) -> Result<(), ScriptError> {
    let [_, _, body] = argv else { return Err(ScriptError::Arity) };
    let sha = state::with_scripts(|scripts| scripts.load(body, Origin::Load))?;
    ctx.bulk(sha.as_bytes());
    Ok(())
}

pub fn exists(ctx: &mut Ctx, argv: &[&[u8]]) -> Result<(), ScriptError> {
    let shas = argv.get(2..).unwrap_or_default();
    let found: Vec<bool> = state::with_scripts(|scripts| Ok(shas.iter().map(|s| scripts.exists(s)).collect()))?;
    ctx.array(Some(found.len()));
    for f in found {
        ctx.int(i64::from(f));
    }
    Ok(())
}

/// ALT.SCRIPT SHOW sha1 (as Valkey 8): the body of a cached script.
pub fn show(ctx: &mut Ctx, argv: &[&[u8]]) -> Result<(), ScriptError> {
    let [_, _, sha] = argv else { return Err(ScriptError::Arity) };
    state::with_scripts(|scripts| {
        ctx.bulk(&scripts.get(sha).ok_or(ScriptError::NoScript)?.body);
        Ok(())
    })
}

/// ALT.SCRIPT LIST [WITHSOURCE]: every cached script by SHA, with where it came from
/// (`load` or `eval`, the evictable ones), its flags, size and calls, and with WITHSOURCE
/// its body.
pub fn list(ctx: &mut Ctx, argv: &[&[u8]]) -> Result<(), ScriptError> {
    let with_source = match argv {
        [_, _] => false,
        [_, _, word] if word.eq_ignore_ascii_case(b"WITHSOURCE") => true,
        _ => return Err(ScriptError::err("syntax error")),
    };
    state::with_scripts(|scripts| {
        let all = scripts.all();
        ctx.array(Some(all.len()));
        for (sha, script) in all {
            let flags = script.flags.names();
            ctx.map(Some(5 + usize::from(with_source)));
            ctx.bulk(b"sha");
            ctx.bulk(sha.as_bytes());
            ctx.bulk(b"origin");
            ctx.bulk(script.origin().as_bytes());
            ctx.bulk(b"flags");
            ctx.set(Some(flags.len()));
            for flag in flags {
                ctx.status(flag.as_bytes());
            }
            ctx.bulk(b"size");
            ctx.int(i64::try_from(script.body.len()).unwrap_or(i64::MAX));
            ctx.bulk(b"calls");
            ctx.int(i64::try_from(script.stats().calls()).unwrap_or(i64::MAX));
            if with_source {
                ctx.bulk(b"body");
                ctx.bulk(&script.body);
            }
        }
        Ok(())
    })
}

/// ALT.SCRIPT STATS [sha1 ...]: per script run statistics, as a map SHA -> stats (null
/// for a SHA that is not cached); without arguments, every cached script.
pub fn stats(ctx: &mut Ctx, argv: &[&[u8]]) -> Result<(), ScriptError> {
    let asked = argv.get(2..).unwrap_or_default();
    state::with_scripts(|scripts| {
        if asked.is_empty() {
            let all = scripts.all();
            ctx.map(Some(all.len()));
            for (sha, script) in all {
                ctx.bulk(sha.as_bytes());
                reply_stats(ctx, Some(script.stats()));
            }
        } else {
            ctx.map(Some(asked.len()));
            for sha in asked {
                ctx.bulk(&sha.to_ascii_lowercase());
                reply_stats(ctx, scripts.get(sha).map(|s| s.stats()));
            }
        }
        Ok(())
    })
}

/// One script's or function's statistics as a map (null when there is none).
pub fn reply_stats(ctx: &mut Ctx, stats: Option<&RunStats>) {
    let Some(stats) = stats else {
        ctx.null();
        return;
    };
    let fields = stats.fields();
    ctx.map(Some(fields.len()));
    for (name, value) in fields {
        ctx.bulk(name.as_bytes());
        match value {
            Some(v) => ctx.int(i64::try_from(v).unwrap_or(i64::MAX)),
            None => ctx.null(),
        }
    }
}

pub fn flush(ctx: &mut Ctx, argv: &[&[u8]]) -> Result<(), ScriptError> {
    let mode = match argv {
        [_, _] => FlushMode::host_default(ctx),
        [_, _, word] => FlushMode::from_word(word).ok_or_else(flush_syntax)?,
        _ => return Err(flush_syntax()),
    };
    let old = state::take_scripts()?;
    super::free_flushed(ctx, old, mode, "script cache");
    Ok(())
}

/// ALT.SCRIPT DEBUG YES|SYNC|NO: debugging for the client's next ALT.EVAL (the Lua
/// debugger, src/debugger).
pub fn debug(ctx: &mut Ctx, argv: &[&[u8]]) -> Result<(), ScriptError> {
    crate::debugger::set_mode(ctx, argv)
}

/// ALT.SCRIPT KILL (allow-busy): runs nested inside the busy script's yield and only marks
/// the run; the script ends at its next hook with the kill error.
pub fn kill(ctx: &mut Ctx, _argv: &[&[u8]]) -> Result<(), ScriptError> {
    crate::run::kill(crate::run::Mode::Eval)?;
    ctx.reply_ok();
    Ok(())
}

fn flush_syntax() -> ScriptError {
    ScriptError::err("SCRIPT FLUSH only support SYNC|ASYNC option")
}

/// The native help text, with the command name as the user typed it (addReplyHelp),
/// listing exactly the subcommands the module serves: the native ones, and the
/// module's own SHOW, LIST and STATS (`false`: left out in drop-in mode, where only the
/// native names are served).
const HELP: &[(bool, &[&str])] = &[
    (true, &["DEBUG (YES|SYNC|NO)", "    Set the debug mode for subsequent scripts executed."]),
    (
        true,
        &[
            "EXISTS <sha1> [<sha1> ...]",
            "    Return information about the existence of the scripts in the script cache.",
        ],
    ),
    (
        true,
        &[
            "FLUSH [ASYNC|SYNC]",
            "    Flush the Lua scripts cache. Very dangerous on replicas.",
            "    When called without the optional mode argument, the behavior is determined by the",
            "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
            "    * ASYNC: Asynchronously flush the scripts cache.",
            "    * SYNC: Synchronously flush the scripts cache.",
        ],
    ),
    (true, &["KILL", "    Kill the currently executing Lua script."]),
    (
        false,
        &[
            "LIST [WITHSOURCE]",
            "    Return every cached script: its SHA1, origin (load or eval), flags, size and calls,",
            "    and its body if WITHSOURCE is given.",
        ],
    ),
    (true, &["LOAD <script>", "    Load a script into the scripts cache without executing it."]),
    (false, &["SHOW <sha1>", "    Return the body of a cached script."]),
    (
        false,
        &[
            "STATS [<sha1> ...]",
            "    Return run statistics per cached script (calls, errors, total, max, p50 and p99",
            "    microseconds, last use), for the given SHA1s or for every cached script.",
        ],
    ),
];

pub fn help(ctx: &mut Ctx, argv: &[&[u8]]) -> Result<(), ScriptError> {
    let lines: Vec<&str> = HELP
        .iter()
        .filter(|(native, _)| *native || !ctx.dropin())
        .flat_map(|(_, lines)| lines.iter().copied())
        .collect();
    reply_help(ctx, argv.first().copied().unwrap_or(b"ALT.SCRIPT"), &lines);
    Ok(())
}

pub fn reply_help(ctx: &mut Ctx, command: &[u8], lines: &[&str]) {
    ctx.array(Some(lines.len() + 3));
    let mut head = command.to_ascii_uppercase();
    head.extend_from_slice(b" <subcommand> [<arg> [value] [opt] ...]. Subcommands are:");
    ctx.status(&head);
    for line in lines {
        ctx.status(line.as_bytes());
    }
    ctx.status(b"HELP");
    ctx.status(b"    Prints this help.");
}
