//! ALT.EVAL, ALT.EVALSHA, ALT.EVAL_RO, ALT.EVALSHA_RO (eval.c evalGenericCommand): argument
//! checks in native order, then the scripts cache runs the script and replies.

use super::split_numkeys;
use crate::error::ScriptError;
use crate::host::{Ctx, KeyAccess};
use crate::run::Access;
use crate::scripts::Origin;
use crate::sha::Sha;
use crate::state;

#[inline(always)]
pub fn eval(ctx: &mut Ctx, argv: &[&[u8]]) -> Result<(), ScriptError> {
    run(ctx, argv, Source::Body, Access::ReadWrite)
}

#[inline(always)]
pub fn eval_ro(ctx: &mut Ctx, argv: &[&[u8]]) -> Result<(), ScriptError> {
    run(ctx, argv, Source::Body, Access::ReadOnly)
}

#[inline(always)]
pub fn evalsha(ctx: &mut Ctx, argv: &[&[u8]]) -> Result<(), ScriptError> {
    run(ctx, argv, Source::Sha, Access::ReadWrite)
}

#[inline(always)]
pub fn evalsha_ro(ctx: &mut Ctx, argv: &[&[u8]]) -> Result<(), ScriptError> {
    run(ctx, argv, Source::Sha, Access::ReadOnly)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Source {
    Body,
    Sha,
}

#[inline(always)]
fn run(ctx: &mut Ctx, argv: &[&[u8]], source: Source, access: Access) -> Result<(), ScriptError> {
    let [_, target, numkeys, rest @ ..] = argv else { return Err(ScriptError::Arity) };
    if ctx.is_keys_position_request() {
        report_keys(ctx, numkeys, rest.len(), access);
        return Ok(());
    }
    // EVALSHA answers NOSCRIPT for a wrong-length SHA before it looks at numkeys.
    if source == Source::Sha && target.len() != 40 {
        return Err(ScriptError::NoScript);
    }
    if let Some(mode) = crate::debugger::mode_of(ctx) {
        if source == Source::Sha {
            return Err(crate::debugger::evalsha_refused(ctx));
        }
        // The session starts before the arguments are read (ldbStartSession): their errors
        // end it at once.
        return match split_numkeys(numkeys, rest) {
            Ok(split) => {
                let script = crate::debugger::Script { body: target, keys: split.keys, args: split.args, access };
                crate::debugger::start(ctx, mode, script)
            }
            Err(e) => {
                crate::debugger::end_at_once(ctx, &e.text());
                Ok(())
            }
        };
    }
    let split = split_numkeys(numkeys, rest)?;
    let mut state = state::lock()?;
    let scripts = state.scripts()?;
    let sha = match source {
        Source::Body => scripts.load(target, Origin::Eval)?,
        Source::Sha => Sha::parse(target).ok_or(ScriptError::NoScript)?,
    };
    scripts.run(ctx, &sha, split.keys, split.args, access)
}

/// getkeys-api: the keys are argv[3 .. 3+numkeys] (evalGetKeys, functionGetKeys); a bad
/// numkeys gives none.
pub fn report_keys(ctx: &Ctx, numkeys: &[u8], available: usize, access: Access) {
    let Some(n) = super::parse_long_long(numkeys).and_then(|n| usize::try_from(n).ok()) else { return };
    if n > available {
        return;
    }
    for pos in 3..3 + n {
        ctx.key_at(
            pos,
            match access {
                Access::ReadWrite => KeyAccess::ReadWrite,
                Access::ReadOnly => KeyAccess::ReadOnly,
            },
        );
    }
}
