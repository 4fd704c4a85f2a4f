//! The clock of a run: when it started (for the busy threshold, the time limit and the
//! statistics) and how long it took. Every run reads it twice; the monotonic clock costs a
//! vDSO call each time (about 30 ns here, 2-3% of a one-`redis.call` request), so where the
//! CPU's time-stamp counter is invariant (x86_64 with `constant_tsc` and `nonstop_tsc`) both
//! reads are the counter, turned into time by a rate measured against the monotonic clock.
//! The rate is taken once a second has passed since the first run and refreshed about every
//! second; until then, and on any other host, the monotonic clock is read as before.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The counter can be used (set once at load by `init`).
static TSC_USABLE: AtomicBool = AtomicBool::new(false);
/// The first reading: the monotonic clock and the counter, together.
static BASE: OnceLock<(Instant, u64)> = OnceLock::new();
/// Nanoseconds per tick in 32.32 fixed point (integer arithmetic on the run's path); 0
/// until measured over at least a second.
static NS_PER_TICK: AtomicU64 = AtomicU64::new(0);
/// The counter value past which the rate is measured again.
static NEXT_MEASURE: AtomicU64 = AtomicU64::new(0);

/// Measure the rate again after this many ticks (about a second at 2-4 GHz).
const MEASURE_EVERY: u64 = 1 << 31;

/// Decides, at load, whether the counter is used: /proc/cpuinfo names both flags, and the
/// kernel's own clock source is the counter (it trusts it across cores and over time).
pub fn init() {
    let invariant = cfg!(target_arch = "x86_64")
        && std::fs::read_to_string("/proc/cpuinfo").is_ok_and(|info| {
            info.lines().find(|l| l.starts_with("flags")).is_some_and(|flags| {
                let has = |w: &str| flags.split_whitespace().any(|f| f == w);
                has("constant_tsc") && has("nonstop_tsc")
            })
        })
        && std::fs::read_to_string("/sys/devices/system/clocksource/clocksource0/current_clocksource")
            .is_ok_and(|source| source.trim() == "tsc");
    TSC_USABLE.store(invariant, Ordering::Relaxed);
}

#[cfg(target_arch = "x86_64")]
fn ticks() -> u64 {
    // SAFETY: RDTSC reads a counter; it has no preconditions on x86_64.
    unsafe { std::arch::x86_64::_rdtsc() }
}

#[cfg(not(target_arch = "x86_64"))]
fn ticks() -> u64 {
    0
}

/// `ns` nanoseconds over `ticks` ticks as nanoseconds per tick, 32.32 fixed point.
fn fixed_rate(ns: u128, ticks: u64) -> u64 {
    u64::try_from((ns << 32) / u128::from(ticks.max(1))).unwrap_or(u64::MAX)
}

/// `ticks` at `rate` (32.32 fixed point) in nanoseconds: one multiplication, no float.
fn ticks_to_ns(ticks: u64, rate: u64) -> u64 {
    u64::try_from((u128::from(ticks) * u128::from(rate)) >> 32).unwrap_or(u64::MAX)
}

/// A run's start: the monotonic clock's reading, or the counter's (turned into an `Instant`
/// only when asked: the statistics need only the duration).
#[derive(Clone, Copy)]
pub struct RunClock {
    start: Start,
}

#[derive(Clone, Copy)]
enum Start {
    Instant(Instant),
    /// The counter, and the rate (nanoseconds per tick, 32.32 fixed point) when it was read.
    Ticks(u64, u64),
}

impl RunClock {
    /// Now.
    pub fn start() -> RunClock {
        if !TSC_USABLE.load(Ordering::Relaxed) {
            return RunClock { start: Start::Instant(Instant::now()) };
        }
        let t = ticks();
        let rate = NS_PER_TICK.load(Ordering::Relaxed);
        if t < NEXT_MEASURE.load(Ordering::Relaxed) && rate > 0 {
            return RunClock { start: Start::Ticks(t, rate) };
        }
        // Read the monotonic clock, and measure the rate when a second has passed.
        let now = Instant::now();
        let &(base, base_ticks) = BASE.get_or_init(|| (now, t));
        let ns = now.saturating_duration_since(base).as_nanos();
        let elapsed_ticks = t.saturating_sub(base_ticks);
        if ns >= 1_000_000_000 && elapsed_ticks > 0 {
            NS_PER_TICK.store(fixed_rate(ns, elapsed_ticks), Ordering::Relaxed);
        }
        NEXT_MEASURE.store(t.saturating_add(MEASURE_EVERY), Ordering::Relaxed);
        RunClock { start: Start::Instant(now) }
    }

    /// A clock started at `started`, read through the monotonic clock only.
    #[cfg(test)]
    pub fn since(started: Instant) -> RunClock {
        RunClock { start: Start::Instant(started) }
    }

    pub fn started(&self) -> Instant {
        match self.start {
            Start::Instant(at) => at,
            Start::Ticks(t, rate) => match BASE.get() {
                Some(&(base, base_ticks)) => {
                    base + Duration::from_nanos(ticks_to_ns(t.saturating_sub(base_ticks), rate))
                }
                None => Instant::now(),
            },
        }
    }

    /// Time since the start.
    pub fn elapsed(&self) -> Duration {
        match self.start {
            Start::Instant(at) => at.elapsed(),
            Start::Ticks(t, rate) => Duration::from_nanos(ticks_to_ns(ticks().saturating_sub(t), rate)),
        }
    }

    /// Whole microseconds since the start (no `Duration` arithmetic on the counter's path).
    pub fn elapsed_micros(&self) -> u64 {
        match self.start {
            Start::Instant(at) => u64::try_from(at.elapsed().as_micros()).unwrap_or(u64::MAX),
            Start::Ticks(t, rate) => ticks_to_ns(ticks().saturating_sub(t), rate) / 1_000,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The counter's path agrees with the monotonic clock: with the rate measured (as after
    /// a second of runs), a clock started from the counter reads at least the time slept and
    /// starts where the monotonic clock stood.
    #[test]
    fn the_counter_follows_the_monotonic_clock() {
        init();
        if !TSC_USABLE.load(Ordering::Relaxed) {
            return;
        }
        let (base, base_ticks) = *BASE.get_or_init(|| (Instant::now(), ticks()));
        std::thread::sleep(Duration::from_millis(50));
        let ns = Instant::now().saturating_duration_since(base).as_nanos();
        NS_PER_TICK.store(fixed_rate(ns, ticks().saturating_sub(base_ticks)), Ordering::Relaxed);
        NEXT_MEASURE.store(u64::MAX, Ordering::Relaxed);
        let before = Instant::now();
        let clock = RunClock::start();
        let after = Instant::now();
        assert!(matches!(clock.start, Start::Ticks(..)));
        // Within the rate's error over 50 ms (the sleep's own jitter included): a millisecond.
        let slack = Duration::from_millis(1);
        assert!(clock.started() + slack >= before && clock.started() <= after + slack);
        std::thread::sleep(Duration::from_millis(20));
        assert!(clock.elapsed() + slack >= Duration::from_millis(20), "{:?}", clock.elapsed());
        assert!(clock.elapsed_micros() + 1_000 >= 20_000, "{}", clock.elapsed_micros());
        assert!(clock.elapsed() < Duration::from_secs(60));
    }
}
