//! ALT.FLUSHALL [ASYNC|SYNC] (db.c flushallCommand): empties every database through the host,
//! never touching scripts. SYNC answers once the memory is released, yet never stalls other
//! clients: the host frees lazily and a worker waits for it while the caller stays blocked.

use super::FlushMode;
use crate::error::ScriptError;
use crate::host::{Ctx, ReplyKind};
use crate::lazyfree;
use crate::reply::ReplySink;

pub fn flushall(ctx: &mut Ctx, argv: &[&[u8]]) -> Result<(), ScriptError> {
    let mode = match argv {
        [_] => FlushMode::host_default(ctx),
        [_, word] => FlushMode::from_word(word).ok_or_else(|| ScriptError::err("syntax error"))?,
        _ => return Err(ScriptError::err("syntax error")),
    };
    // Inside MULTI or a script the client cannot block: a plain synchronous flush there.
    let can_block = !ctx.flags().deny_blocking();
    let word: &[u8] = if mode == FlushMode::Sync && !can_block { b"SYNC" } else { b"ASYNC" };
    let reply = ctx.call(c"FLUSHALL", c"vE!", &[word]);
    match reply.as_ref().map(|r| r.root().kind()) {
        Some(ReplyKind::Error(e)) => {
            ctx.error(e);
            return Ok(());
        }
        None => return Err(ScriptError::err("FLUSHALL could not be run")),
        Some(_) => {}
    }
    if mode == FlushMode::Sync && can_block {
        if let Some(client) = ctx.block_client() {
            lazyfree::wait_for_host_lazyfree(client);
            return Ok(());
        }
    }
    ctx.reply_ok();
    Ok(())
}
