//! The EVAL side (eval.c): the script cache and the Lua VM its scripts were compiled into.
//! Scripts are kept by SHA1 with their body and flags; a flush swaps in a fresh VM and cache
//! and hands the old ones back, whole, for freeing elsewhere.

use std::collections::BTreeMap;

use rustc_hash::FxHashMap;

use crate::error::ScriptError;
use crate::host::Ctx;
use crate::lua::{api, Compiled, LuaVm, VmKind};
use crate::metrics;
use crate::run::{Access, RunGuard, RunName};
use crate::run_stats::RunStats;
use crate::sha::Sha;
use crate::shebang::{self, ScriptFlags};

pub struct Script {
    pub flags: ScriptFlags,
    function: Compiled,
    pub body: Box<[u8]>,
    /// While the script may be evicted (created by ALT.EVAL and not since loaded with
    /// ALT.SCRIPT LOAD): its place in the least-recently-used order; 0 otherwise (ticks
    /// start at 1).
    lru_tick: u64,
    /// Boxed on the first run: a cached script that never ran costs a pointer.
    stats: Option<Box<RunStats>>,
}

static NEVER_RAN: RunStats = RunStats::new();

impl Script {
    pub fn stats(&self) -> &RunStats {
        self.stats.as_deref().unwrap_or(&NEVER_RAN)
    }

    pub fn origin(&self) -> &'static str {
        if self.lru_tick != 0 {
            "eval"
        } else {
            "load"
        }
    }
}

/// Who asks for a script to be cached: ALT.EVAL (evictable) or ALT.SCRIPT LOAD (kept until
/// a flush; promotes an evictable one).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Eval,
    Load,
}

/// The EVAL VM and every script compiled into it. Everything that points into the VM lives
/// here, so moving a `Scripts` moves the whole VM (this is what makes an async flush safe).
pub struct Scripts {
    vm: LuaVm,
    /// FxHash: a SHA needs no DoS-resistant hashing, and this lookup is on every EVALSHA.
    cache: FxHashMap<Sha, Script>,
    /// Evictable scripts, oldest use first (Redis 7.4's scripts LRU list).
    lru: BTreeMap<u64, Sha>,
    next_tick: u64,
    /// Body bytes of the evictable scripts, and of all scripts.
    lru_bytes: usize,
    all_bytes: usize,
}

/// Settings a new VM is built with.
#[derive(Clone, Copy)]
pub struct VmSettings {
    pub version: api::Version,
    pub logger: api::Logger,
}

/// What one cached script costs beyond its body (entry, key, bookkeeping), for INFO.
const ENTRY_OVERHEAD: usize = std::mem::size_of::<Script>() + std::mem::size_of::<Sha>() + 16;

impl Scripts {
    pub fn new(settings: VmSettings) -> Result<Scripts, ScriptError> {
        Ok(Scripts {
            vm: LuaVm::new(settings.version, settings.logger, VmKind::Eval)?,
            cache: FxHashMap::default(),
            lru: BTreeMap::new(),
            next_tick: 0,
            lru_bytes: 0,
            all_bytes: 0,
        })
    }

    /// Caches `body` (luaCreateFunction): an already cached script is not compiled again; a
    /// shebang or compile error caches nothing. A new ALT.EVAL script may evict the least
    /// recently used others beyond the cache bounds.
    pub fn load(&mut self, body: &[u8], origin: Origin) -> Result<Sha, ScriptError> {
        let sha = Sha::of(body);
        if let Some(script) = self.cache.get_mut(&sha) {
            if origin == Origin::Load {
                let tick = std::mem::take(&mut script.lru_tick);
                if tick != 0 {
                    self.lru.remove(&tick);
                    self.lru_bytes = self.lru_bytes.saturating_sub(script.body.len());
                }
            }
            return Ok(sha);
        }
        let (flags, skip) = shebang::parse(body)?;
        let code = body.get(skip..).unwrap_or_default();
        let function = self
            .vm
            .compile(code, "@user_script")
            .map_err(|msg| ScriptError::err(format!("Error compiling script (new function): {msg}")))?;
        let lru_tick = if origin == Origin::Eval {
            let tick = self.tick();
            self.lru.insert(tick, sha);
            self.lru_bytes += body.len();
            tick
        } else {
            0
        };
        self.all_bytes += body.len();
        self.cache.insert(sha, Script { flags, function, body: body.into(), lru_tick, stats: None });
        if origin == Origin::Eval {
            self.evict_beyond_bounds(&sha);
        }
        self.publish_gauges();
        Ok(sha)
    }

    fn tick(&mut self) -> u64 {
        self.next_tick += 1;
        self.next_tick
    }

    /// Drops least recently used ALT.EVAL scripts while the cache is past
    /// `alt.eval-scripts-max` or `alt.eval-scripts-max-bytes`, never `keep` (the script
    /// about to run).
    fn evict_beyond_bounds(&mut self, keep: &Sha) {
        let (max_scripts, max_bytes) = crate::config::eval_cache_bounds();
        while (max_scripts > 0 && self.lru.len() > max_scripts) || (max_bytes > 0 && self.lru_bytes > max_bytes) {
            let Some((&tick, &oldest)) = self.lru.iter().next() else { break };
            if oldest == *keep {
                break;
            }
            self.lru.remove(&tick);
            if let Some(gone) = self.cache.remove(&oldest) {
                self.lru_bytes = self.lru_bytes.saturating_sub(gone.body.len());
                self.all_bytes = self.all_bytes.saturating_sub(gone.body.len());
            }
            metrics::EVICTED_SCRIPTS.add(1);
        }
    }

    /// Sets the INFO gauges to this cache (the one in service).
    pub fn publish_gauges(&self) {
        metrics::CACHED_SCRIPTS.set(self.cache.len() as u64);
        metrics::SCRIPTS_BYTES.set((self.all_bytes + self.cache.len() * ENTRY_OVERHEAD) as u64);
        self.vm.publish_memory();
    }

    pub fn exists(&self, user_sha: &[u8]) -> bool {
        Sha::parse(user_sha).is_some_and(|sha| self.cache.contains_key(&sha))
    }

    pub fn get(&self, user_sha: &[u8]) -> Option<&Script> {
        self.cache.get(&Sha::parse(user_sha)?)
    }

    /// Every cached script, ordered by SHA.
    pub fn all(&self) -> Vec<(&Sha, &Script)> {
        let mut all: Vec<_> = self.cache.iter().collect();
        all.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
        all
    }

    /// Runs a cached script for the calling client and writes its reply; an evictable
    /// script becomes the most recently used.
    #[inline(always)]
    pub fn run(
        &mut self,
        ctx: &mut Ctx,
        sha: &Sha,
        keys: &[&[u8]],
        args: &[&[u8]],
        access: Access,
    ) -> Result<(), ScriptError> {
        let tick = self.tick();
        let Scripts { vm, cache, lru, .. } = self;
        let Some(script) = cache.get_mut(sha) else { return Err(ScriptError::NoScript) };
        if script.lru_tick != 0 {
            lru.remove(&script.lru_tick);
            lru.insert(tick, *sha);
            script.lru_tick = tick;
        }
        let run = RunGuard::enter(ctx, RunName::Sha(*sha), script.flags, access, keys)?;
        let outcome = vm.run_eval(&script.function, keys, args, ctx, sha);
        script.stats.get_or_insert_with(Default::default).record(&run.clock(), outcome.is_err());
        metrics::EVAL_CALLS.bump();
        if outcome.is_err() {
            metrics::EVAL_ERRORS.bump();
        }
        outcome.map_err(|failure| ScriptError::Coded(failure.0))
    }
}
