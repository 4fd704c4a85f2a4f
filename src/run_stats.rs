//! What one script (or function) has done so far: calls, errors, time spent, the slowest run,
//! a latency histogram for percentiles, and when it last ran. Kept per script by the cache,
//! read by `ALT.SCRIPT STATS` / `ALT.FUNCTION STATS WITHFUNCTIONS`.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Half-octave buckets of microseconds: 0, 1, then two per power of two up to 2^31 µs.
const BUCKETS: usize = 64;

#[derive(Clone, Default)]
pub struct RunStats {
    calls: u64,
    errors: u64,
    total_us: u64,
    max_us: u64,
    /// When the last run started and how long it took (µs); turned into Unix time only when
    /// reported (no clock read nor time arithmetic for it per run).
    last_used: Option<(crate::host::RunClock, u64)>,
    /// Allocated on the first run: a script that was only loaded costs nothing here.
    buckets: Option<Box<[u32; BUCKETS]>>,
}

impl RunStats {
    /// Nothing run yet.
    pub const fn new() -> RunStats {
        RunStats { calls: 0, errors: 0, total_us: 0, max_us: 0, last_used: None, buckets: None }
    }

    /// Records one run, ending now, that failed or not.
    pub fn record(&mut self, clock: &crate::host::RunClock, failed: bool) {
        let us = clock.elapsed_micros();
        self.record_us(us, failed);
        self.last_used = Some((*clock, us));
    }

    #[cfg(test)]
    fn record_took(&mut self, took: Duration, failed: bool) {
        self.record_us(u64::try_from(took.as_micros()).unwrap_or(u64::MAX), failed);
    }

    fn record_us(&mut self, us: u64, failed: bool) {
        self.calls = self.calls.saturating_add(1);
        self.errors = self.errors.saturating_add(u64::from(failed));
        self.total_us = self.total_us.saturating_add(us);
        self.max_us = self.max_us.max(us);
        let buckets = self.buckets.get_or_insert_with(|| Box::new([0; BUCKETS]));
        if let Some(b) = buckets.get_mut(bucket_of(us)) {
            *b = b.saturating_add(1);
        }
    }

    /// The fields as replied, in order; `None` is a null (never ran).
    pub fn fields(&self) -> [(&'static str, Option<u64>); 7] {
        let ran = self.calls > 0;
        [
            ("calls", Some(self.calls)),
            ("errors", Some(self.errors)),
            ("total_usec", Some(self.total_us)),
            ("max_usec", Some(self.max_us)),
            ("p50_usec", ran.then(|| self.percentile(50))),
            ("p99_usec", ran.then(|| self.percentile(99))),
            ("last_used_ms", self.last_used.map(|(clock, us)| unix_ms(clock.started() + Duration::from_micros(us)))),
        ]
    }

    pub fn calls(&self) -> u64 {
        self.calls
    }

    /// The upper bound of the bucket holding the `pct`th percentile run, never above the
    /// slowest run seen (so within a half-octave, about ±20%, of the true value).
    fn percentile(&self, pct: u64) -> u64 {
        let Some(buckets) = &self.buckets else { return 0 };
        let total: u64 = buckets.iter().map(|&c| u64::from(c)).sum();
        let rank = (total * pct).div_ceil(100).max(1);
        let mut seen = 0u64;
        for (i, &count) in buckets.iter().enumerate() {
            seen += u64::from(count);
            if seen >= rank {
                return bucket_upper(i).min(self.max_us);
            }
        }
        self.max_us
    }
}

/// An instant as Unix time in milliseconds.
fn unix_ms(at: Instant) -> u64 {
    let then = SystemTime::now().checked_sub(at.elapsed()).unwrap_or(UNIX_EPOCH);
    then.duration_since(UNIX_EPOCH).map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// 0 → 0, 1 → 1, then for 2^k ≤ us < 2^(k+1): 2k, or 2k+1 for the upper half.
fn bucket_of(us: u64) -> usize {
    if us < 2 {
        return usize::try_from(us).unwrap_or(0);
    }
    let k = 63 - us.leading_zeros() as usize;
    let upper_half = usize::from((us >> (k - 1)) & 1 == 1);
    (2 * k + upper_half).min(BUCKETS - 1)
}

/// The largest value in bucket `i`.
fn bucket_upper(i: usize) -> u64 {
    if i < 2 {
        return i as u64;
    }
    let k = i / 2;
    let half = 1u64 << (k - 1);
    let lower = (1u64 << k) + if i % 2 == 1 { half } else { 0 };
    lower + half - 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_cover_every_value_once() {
        for us in 0..5000u64 {
            let b = bucket_of(us);
            assert!(us <= bucket_upper(b), "{us} in {b}");
            if b > 0 {
                assert!(us > bucket_upper(b - 1), "{us} in {b}");
            }
        }
        assert_eq!(bucket_of(u64::MAX), BUCKETS - 1);
    }

    #[test]
    fn percentiles_and_counts() {
        let mut s = RunStats::default();
        assert_eq!(s.fields()[4], ("p50_usec", None));
        for _ in 0..98 {
            s.record_took(Duration::from_micros(10), false);
        }
        s.record_took(Duration::from_micros(1000), true);
        s.record(&crate::host::RunClock::since(Instant::now() - Duration::from_micros(5000)), true);
        let f = s.fields();
        assert_eq!(f[0], ("calls", Some(100)));
        assert_eq!(f[1], ("errors", Some(2)));
        let max = f[3].1.unwrap_or(0);
        assert!((5000..6000).contains(&max), "{max}");
        assert_eq!(f[2].1.map(|t| t - max), Some(1980));
        assert_eq!(f[4], ("p50_usec", Some(11))); // 10 lies in [8, 11]
        let p99 = f[5].1.unwrap_or(0);
        assert!((1000..=1023).contains(&p99), "{p99}");
        assert!(f[6].1.is_some());
    }
}
