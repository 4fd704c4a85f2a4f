//! ALT.FCALL and ALT.FCALL_RO (functions.c fcallCommandGeneric): the function is looked up
//! before numkeys is read, and numkeys has its own error text.

use super::parse_long_long;
use crate::error::ScriptError;
use crate::host::Ctx;
use crate::run::Access;
use crate::state;

#[inline(always)]
pub fn fcall(ctx: &mut Ctx, argv: &[&[u8]]) -> Result<(), ScriptError> {
    run(ctx, argv, Access::ReadWrite)
}

#[inline(always)]
pub fn fcall_ro(ctx: &mut Ctx, argv: &[&[u8]]) -> Result<(), ScriptError> {
    run(ctx, argv, Access::ReadOnly)
}

#[inline(always)]
fn run(ctx: &mut Ctx, argv: &[&[u8]], access: Access) -> Result<(), ScriptError> {
    let [_, name, numkeys, rest @ ..] = argv else { return Err(ScriptError::Arity) };
    if ctx.is_keys_position_request() {
        super::eval::report_keys(ctx, numkeys, rest.len(), access);
        return Ok(());
    }
    let split = || {
        let n = parse_long_long(numkeys).ok_or_else(|| ScriptError::err("Bad number of keys provided"))?;
        if n > i64::try_from(rest.len()).unwrap_or(i64::MAX) {
            return Err(ScriptError::err("Number of keys can't be greater than number of args"));
        }
        let n = usize::try_from(n).map_err(|_| ScriptError::err("Number of keys can't be negative"))?;
        rest.split_at_checked(n).ok_or_else(ScriptError::not_integer)
    };
    if let Some(mode) = crate::debugger::mode_of(ctx) {
        let target = state::with_functions(|functions| Ok(functions.debug_target(name)))?;
        let t = target.ok_or_else(|| ScriptError::err("Function not found"))?;
        let (keys, args) = split()?;
        let call = crate::debugger::FunctionCall {
            code: &t.code,
            body: &t.body,
            name: &t.name,
            flags: t.flags,
            keys,
            args,
            argv,
            access,
        };
        return crate::debugger::start_function(ctx, mode, call);
    }
    state::lock()?.functions()?.call(ctx, name, split, access)
}
