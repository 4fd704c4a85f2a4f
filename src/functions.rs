//! The FUNCTION side (functions.c): the library registry and the Lua VM its functions live in.
//! Library names are case-sensitive; function names are global and case-insensitive. A load
//! is all-or-nothing: on any failure the registry is as it was (REPLACE included).

use std::borrow::Cow;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rustc_hash::FxHashMap as HashMap;

use crate::error::ScriptError;
use crate::host::{Ctx, MainCell};
use crate::lua::library::Registration;
use crate::lua::{Compiled, LuaVm, VmKind};
use crate::metrics;
use crate::reply::ReplySink;
use crate::run::{Access, CommandLine, FunctionName, RunGuard, RunName};
use crate::run_stats::RunStats;
use crate::scripts::VmSettings;
use crate::shebang::{self, ScriptFlags};

/// FUNCTION LOAD's own time limit (functions.c LOAD_TIMEOUT_MS).
const LOAD_TIMEOUT: Duration = Duration::from_millis(500);

/// Library and function counts, readable while a function runs (FUNCTION STATS is
/// allow-busy and must not touch the registry the running function holds).
/// Libraries and functions in service, as published to the INFO gauges.
pub fn counts() -> (usize, usize) {
    (metrics::LIBRARIES.get() as usize, metrics::FUNCTIONS.get() as usize)
}

/// Shared with the published list below; recorded and read on the main thread only (a
/// MainCell: no atomic operation per call).
type SharedStats = Arc<MainCell<RunStats>>;

/// Every function's statistics by name, published like the counts (and for the same reason).
static STATS: Mutex<Vec<(Vec<u8>, SharedStats)>> = Mutex::new(Vec::new());

/// A snapshot of every function's statistics, ordered by name.
pub fn stats() -> Vec<(Vec<u8>, RunStats)> {
    let Ok(all) = STATS.lock() else { return Vec::new() };
    all.iter().filter_map(|(name, stats)| Some((name.clone(), stats.borrow()?.clone()))).collect()
}

pub struct Function {
    pub name: Vec<u8>,
    /// The name as errors, logs and FUNCTION STATS show it (shared with each run).
    display: Arc<str>,
    pub description: Option<Vec<u8>>,
    pub flags: ScriptFlags,
    compiled: Compiled,
    /// Its runs may refill the arrays they hand it (lua::library::Registration::plain).
    plain: bool,
    stats: SharedStats,
    /// `display` as each run names the function.
    run_name: FunctionName,
}

/// A function as the debugger runs it (Functions::debug_target).
pub struct DebugTarget {
    pub code: Vec<u8>,
    pub body: Vec<u8>,
    pub name: Vec<u8>,
    pub flags: ScriptFlags,
}

pub struct Library {
    pub name: Vec<u8>,
    pub code: Vec<u8>,
    /// Shared with the registry's by-name index (one lookup per FCALL).
    pub functions: Vec<Arc<Function>>,
}

/// The function VM and every library loaded into it.
pub struct Functions {
    vm: LuaVm,
    settings: VmSettings,
    libraries: HashMap<Vec<u8>, Library>,
    /// Lower-case function name -> its library's name and the function. FxHash: looked up
    /// on every FCALL.
    by_name: HashMap<NameKey, (Vec<u8>, Arc<Function>)>,
}

impl Functions {
    pub fn new(settings: VmSettings) -> Result<Functions, ScriptError> {
        let vm = LuaVm::new(settings.version, settings.logger, VmKind::Functions)?;
        Ok(Functions { vm, settings, libraries: HashMap::default(), by_name: HashMap::default() })
    }

    /// Publishes this registry's counts and statistics (for the registry in service: a new
    /// one publishes when it is swapped in).
    pub fn publish_counts(&self) {
        metrics::LIBRARIES.set(self.libraries.len() as u64);
        // Per library, as native counts them ('f' and 'F' in one library are two).
        metrics::FUNCTIONS.set(self.libraries.values().map(|l| l.functions.len() as u64).sum());
        let mut all: Vec<_> = self
            .libraries
            .values()
            .flat_map(|l| l.functions.iter().map(|f| (f.name.clone(), f.stats.clone())))
            .collect();
        all.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        if let Ok(mut published) = STATS.lock() {
            *published = all;
        }
        self.vm.publish_memory();
    }

    /// FUNCTION LOAD (functionsCreateWithLibraryCtx). `timeout` is off for replicated loads.
    pub fn load(&mut self, code: &[u8], replace: bool, timeout: bool) -> Result<Vec<u8>, ScriptError> {
        let existing = if replace { Existing::Replace } else { Existing::RefuseQuoted };
        self.load_into(code, existing, timeout).map(|(name, _)| name)
    }

    /// FUNCTION RESTORE's joining of a payload's libraries (libraryJoin): all or nothing.
    pub fn restore(&mut self, codes: &[Vec<u8>], policy: RestorePolicy) -> Result<(), ScriptError> {
        if policy == RestorePolicy::Flush {
            let mut fresh = Functions::new(self.settings)?;
            for code in codes {
                if let Err(e) = fresh.load_into(code, Existing::RefuseQuoted, false) {
                    self.publish_counts(); // `fresh` published its partial state
                    return Err(e);
                }
            }
            *self = fresh;
            self.publish_counts();
            return Ok(());
        }
        let existing = if policy == RestorePolicy::Replace { Existing::Replace } else { Existing::Refuse };
        // What was linked and what it replaced, to undo on failure.
        let mut journal: Vec<(Vec<u8>, Option<Library>)> = Vec::new();
        for code in codes {
            match self.load_into(code, existing, false) {
                Ok(step) => journal.push(step),
                Err(e) => {
                    for (name, replaced) in journal.into_iter().rev() {
                        self.unlink(&name);
                        if let Some(old) = replaced {
                            self.link(old);
                        }
                    }
                    return Err(e);
                }
            }
        }
        Ok(())
    }

    /// Loads one library; returns its name and the library it replaced.
    fn load_into(
        &mut self,
        code: &[u8],
        existing: Existing,
        timeout: bool,
    ) -> Result<(Vec<u8>, Option<Library>), ScriptError> {
        let header = shebang::parse_library_header(code)?;
        if !shebang::valid_name(&header.name) {
            return Err(ScriptError::err(
                "Library names can only contain letters, numbers, or underscores(_) and must be at least one character long",
            ));
        }
        if !header.engine.eq_ignore_ascii_case(b"lua") {
            return Err(ScriptError::err(format!("Engine '{}' not found", String::from_utf8_lossy(&header.engine))));
        }
        if self.libraries.contains_key(&header.name) {
            let name = String::from_utf8_lossy(&header.name);
            match existing {
                Existing::RefuseQuoted => return Err(ScriptError::err(format!("Library '{name}' already exists"))),
                Existing::Refuse => return Err(ScriptError::err(format!("Library {name} already exists"))),
                Existing::Replace => {}
            }
        }
        let body = code.get(header.body_start..).unwrap_or_default();
        let deadline = timeout.then(|| Instant::now() + LOAD_TIMEOUT);
        let registered = self.vm.load_library(body, deadline).map_err(ScriptError::Coded)?;
        if registered.is_empty() {
            return Err(ScriptError::err("No functions registered"));
        }
        for r in &registered {
            let lower = r.name.to_ascii_lowercase();
            if self.by_name.get(lower.as_slice()).is_some_and(|(owner, _)| *owner != header.name) {
                return Err(ScriptError::err(format!("Function {} already exists", String::from_utf8_lossy(&r.name))));
            }
        }
        let replaced = self.unlink(&header.name);
        self.link(Library {
            name: header.name.clone(),
            code: code.to_vec(),
            functions: registered.into_iter().map(|r| Arc::new(Function::from(r))).collect(),
        });
        Ok((header.name, replaced))
    }

    fn link(&mut self, library: Library) {
        for f in &library.functions {
            self.by_name.insert(NameKey::new(f.name.to_ascii_lowercase()), (library.name.clone(), f.clone()));
        }
        self.libraries.insert(library.name.clone(), library);
        self.publish_counts();
    }

    fn unlink(&mut self, name: &[u8]) -> Option<Library> {
        let library = self.libraries.remove(name)?;
        for f in &library.functions {
            self.by_name.remove(f.name.to_ascii_lowercase().as_slice());
        }
        self.publish_counts();
        Some(library)
    }

    /// Every library's code, for FUNCTION DUMP and the RDB.
    pub fn codes(&self) -> Vec<Vec<u8>> {
        self.libraries.values().map(|l| l.code.clone()).collect()
    }

    /// FUNCTION DELETE.
    pub fn delete(&mut self, name: &[u8]) -> Result<(), ScriptError> {
        self.unlink(name).map(drop).ok_or_else(|| ScriptError::err("Library not found"))
    }

    /// FCALL / FCALL_RO: the function is looked up (once) before `split` reads numkeys, as
    /// natively. FUNCTION STATS shows `ctx`'s command line while it runs.
    #[inline(always)]
    pub fn call<'a>(
        &mut self,
        ctx: &mut Ctx,
        name: &[u8],
        split: impl FnOnce() -> Result<(&'a [&'a [u8]], &'a [&'a [u8]]), ScriptError>,
        access: Access,
    ) -> Result<(), ScriptError> {
        let Functions { vm, by_name, .. } = self;
        let function = find_in(by_name, name).ok_or_else(|| ScriptError::err("Function not found"))?;
        let (keys, args) = split()?;
        let name = RunName::Function(function.run_name.clone(), CommandLine::Caller);
        let run = RunGuard::enter(ctx, name, function.flags, access, keys)?;
        let outcome = vm.run_function(&function.compiled, function.plain, keys, args, ctx, &function.display);
        if let Some(mut stats) = function.stats.borrow_mut() {
            stats.record(&run.clock(), outcome.is_err());
        }
        metrics::FCALL_CALLS.bump();
        if outcome.is_err() {
            metrics::FCALL_ERRORS.bump();
        }
        outcome.map_err(|failure| ScriptError::Coded(failure.0))
    }

    /// What the debugger needs to run a function in a VM of its own: its library's code
    /// (whole, and the Lua after the `#!lua` line), its registered name and flags.
    pub fn debug_target(&self, name: &[u8]) -> Option<DebugTarget> {
        let (library, function) = self.by_name.get(name.to_ascii_lowercase().as_slice())?;
        let library = self.libraries.get(library)?;
        let header = shebang::parse_library_header(&library.code).ok()?;
        let body = library.code.get(header.body_start..)?.to_vec();
        Some(DebugTarget { code: library.code.clone(), body, name: function.name.clone(), flags: function.flags })
    }

    /// FUNCTION LIST [LIBRARYNAME pattern] [WITHCODE].
    pub fn list(&self, sink: &mut dyn ReplySink, pattern: Option<&[u8]>, with_code: bool) {
        let matching: Vec<&Library> = self
            .libraries
            .values()
            .filter(|l| pattern.is_none_or(|p| crate::glob::matches(p, &l.name, true)))
            .collect();
        sink.array(Some(matching.len()));
        for library in matching {
            sink.map(Some(if with_code { 4 } else { 3 }));
            sink.bulk(b"library_name");
            sink.bulk(&library.name);
            sink.bulk(b"engine");
            sink.bulk(b"LUA");
            sink.bulk(b"functions");
            sink.array(Some(library.functions.len()));
            for f in &library.functions {
                sink.map(Some(3));
                sink.bulk(b"name");
                sink.bulk(&f.name);
                sink.bulk(b"description");
                match &f.description {
                    Some(d) => sink.bulk(d),
                    None => sink.null(),
                }
                sink.bulk(b"flags");
                let names = f.flags.names();
                sink.set(Some(names.len()));
                for n in names {
                    sink.status(n.as_bytes());
                }
            }
            if with_code {
                sink.bulk(b"library_code");
                sink.bulk(&library.code);
            }
        }
    }
}

/// A lower-case function name as the registry's key: a short one held in the entry itself,
/// so that FCALL's lookup compares it without reaching into another allocation. Hashes and
/// compares as its bytes (looked up by `&[u8]`).
#[derive(Debug)]
enum NameKey {
    Inline { bytes: [u8; 31], len: u8 },
    Heap(Box<[u8]>),
}

impl NameKey {
    fn new(name: Vec<u8>) -> NameKey {
        let mut bytes = [0u8; 31];
        match (bytes.get_mut(..name.len()), u8::try_from(name.len())) {
            (Some(dst), Ok(len)) => {
                dst.copy_from_slice(&name);
                NameKey::Inline { bytes, len }
            }
            _ => NameKey::Heap(name.into_boxed_slice()),
        }
    }
}

impl std::borrow::Borrow<[u8]> for NameKey {
    fn borrow(&self) -> &[u8] {
        match self {
            NameKey::Inline { bytes, len } => bytes.get(..usize::from(*len)).unwrap_or_default(),
            NameKey::Heap(name) => name,
        }
    }
}

impl PartialEq for NameKey {
    fn eq(&self, other: &NameKey) -> bool {
        std::borrow::Borrow::<[u8]>::borrow(self) == std::borrow::Borrow::<[u8]>::borrow(other)
    }
}

impl Eq for NameKey {}

impl std::hash::Hash for NameKey {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        std::borrow::Borrow::<[u8]>::borrow(self).hash(state);
    }
}

/// The function `name` (case-insensitive); no allocation for a name already in lower case.
fn find_in<'a>(by_name: &'a HashMap<NameKey, (Vec<u8>, Arc<Function>)>, name: &[u8]) -> Option<&'a Function> {
    let lower: Cow<[u8]> = if name.iter().any(u8::is_ascii_uppercase) {
        Cow::Owned(name.to_ascii_lowercase())
    } else {
        Cow::Borrowed(name)
    };
    by_name.get(lower.as_ref()).map(|(_, function)| &**function)
}

/// What a load does with a library of the same name.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Existing {
    /// FUNCTION LOAD without REPLACE: `Library 'x' already exists`.
    RefuseQuoted,
    /// FUNCTION RESTORE APPEND: `Library x already exists`.
    Refuse,
    Replace,
}

/// FUNCTION RESTORE's policy.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum RestorePolicy {
    Flush,
    Append,
    Replace,
}

impl From<Registration> for Function {
    fn from(r: Registration) -> Function {
        let display: Arc<str> = String::from_utf8_lossy(&r.name).into();
        Function {
            run_name: FunctionName::of(&display),
            display,
            name: r.name,
            description: r.description,
            flags: r.flags,
            compiled: r.function,
            plain: r.plain,
            stats: SharedStats::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Short names are held inline, long ones on the heap; either is found by its bytes.
    #[test]
    fn names_are_found_by_their_bytes() {
        let mut map: HashMap<NameKey, usize> = HashMap::default();
        let names: Vec<Vec<u8>> = [0usize, 1, 5, 30, 31, 32, 100].iter().map(|&n| vec![b'f'; n]).collect();
        for (i, name) in names.iter().enumerate() {
            map.insert(NameKey::new(name.clone()), i);
        }
        assert_eq!(map.len(), names.len());
        for (i, name) in names.iter().enumerate() {
            assert_eq!(map.get(name.as_slice()), Some(&i), "{}", name.len());
        }
        assert!(matches!(NameKey::new(vec![b'x'; 31]), NameKey::Inline { len: 31, .. }));
        assert!(matches!(NameKey::new(vec![b'x'; 32]), NameKey::Heap(_)));
        assert_eq!(map.get(b"g".as_slice()), None);
        assert_eq!(map.remove(vec![b'f'; 100].as_slice()), Some(6));
    }
}
