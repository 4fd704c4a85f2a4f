//! The EVAL side (eval.c): the script cache and the Lua VM its scripts were compiled into.
//! Scripts are kept by SHA1 with their body and flags; a flush swaps in a fresh VM and cache
//! and hands the old ones back, whole, for freeing elsewhere.

use std::collections::HashMap;

use crate::error::ScriptError;
use crate::host::Ctx;
use crate::lua::{api, Compiled, LuaVm, VmKind};
use crate::run::{Access, RunGuard, RunName};
use crate::sha::Sha;
use crate::shebang::{self, ScriptFlags};

pub struct Script {
    pub flags: ScriptFlags,
    function: Compiled,
}

/// The EVAL VM and every script compiled into it. Everything that points into the VM lives
/// here, so moving a `Scripts` moves the whole VM (this is what makes an async flush safe).
pub struct Scripts {
    vm: LuaVm,
    cache: HashMap<Sha, Script>,
}

/// Settings a new VM is built with.
#[derive(Clone, Copy)]
pub struct VmSettings {
    pub version: api::Version,
    pub logger: api::Logger,
}

impl Scripts {
    pub fn new(settings: VmSettings) -> Result<Scripts, ScriptError> {
        Ok(Scripts { vm: LuaVm::new(settings.version, settings.logger, VmKind::Eval)?, cache: HashMap::new() })
    }

    /// Caches `body` (luaCreateFunction): an already cached script is not compiled again; a
    /// shebang or compile error caches nothing.
    pub fn load(&mut self, body: &[u8]) -> Result<Sha, ScriptError> {
        let sha = Sha::of(body);
        if self.cache.contains_key(&sha) {
            return Ok(sha);
        }
        let (flags, skip) = shebang::parse(body)?;
        let code = body.get(skip..).unwrap_or_default();
        let function = self
            .vm
            .compile(code, "@user_script")
            .map_err(|msg| ScriptError::err(format!("Error compiling script (new function): {msg}")))?;
        self.cache.insert(sha, Script { flags, function });
        Ok(sha)
    }

    pub fn exists(&self, user_sha: &[u8]) -> bool {
        Sha::parse(user_sha).is_some_and(|sha| self.cache.contains_key(&sha))
    }

    /// Runs a cached script for the calling client and writes its reply.
    pub fn run(
        &mut self,
        ctx: &mut Ctx,
        sha: &Sha,
        keys: &[&[u8]],
        args: &[&[u8]],
        access: Access,
    ) -> Result<(), ScriptError> {
        let Scripts { vm, cache } = self;
        let Some(script) = cache.get(sha) else { return Err(ScriptError::NoScript) };
        let _run = RunGuard::enter(ctx, RunName::Sha(*sha), script.flags, access)?;
        vm.run_eval(&script.function, keys, args, ctx, sha.as_str()).map_err(|failure| ScriptError::Coded(failure.0))
    }
}
