//! Random spreading of a client's status reads, so that many tills of one merchant do not read
//! in step: after Klarna's `Retry-After` (tills refused in the same second would otherwise all
//! come back in the same next second) and between the reads of a wait.
//!
//! Each client has its own generator (SplitMix64), seeded from the operating system's random
//! source when the client is created: two tills, or two clients of one process, draw different
//! sequences. It is not a secret and not used for anything but timing.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

/// Klarna counts its limits per second: clients refused in one second resume spread over the
/// next one.
pub const AFTER_RETRY_AFTER: Duration = Duration::from_secs(1);

/// A pause between two status reads of a wait grows by up to this share (1/4): the configured
/// floor is kept, and reads that started together drift apart.
pub const POLL_SPREAD_DIVISOR: u32 = 4;

const GAMMA: u64 = 0x9e37_79b9_7f4a_7c15;

pub struct Jitter(AtomicU64);

impl Jitter {
    pub fn new() -> Jitter {
        let mut seed = [0u8; 8];
        if getrandom::fill(&mut seed).is_err() {
            // Only on a broken OS; any value different per process and moment will do.
            let nanos = SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as u64);
            seed = (nanos ^ u64::from(std::process::id()).rotate_left(32)).to_le_bytes();
        }
        Jitter(AtomicU64::new(u64::from_le_bytes(seed)))
    }

    fn next(&self) -> u64 {
        let mut z = self
            .0
            .fetch_add(GAMMA, Ordering::Relaxed)
            .wrapping_add(GAMMA);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A duration drawn uniformly from `[0, d)` (zero for a zero `d`).
    pub fn up_to(&self, d: Duration) -> Duration {
        let nanos = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        if nanos == 0 {
            return Duration::ZERO;
        }
        Duration::from_nanos(self.next() % nanos)
    }
}

impl Default for Jitter {
    fn default() -> Jitter {
        Jitter::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_stay_in_range_and_spread() {
        let j = Jitter::new();
        let d = Duration::from_millis(1000);
        let draws: Vec<Duration> = (0..1000).map(|_| j.up_to(d)).collect();
        assert!(draws.iter().all(|x| *x < d));
        // Each tenth of the range gets some draws (the chance that one gets none is 1000*0.9^1000).
        for tenth in 0..10 {
            let (lo, hi) = (d * tenth / 10, d * (tenth + 1) / 10);
            assert!(
                draws.iter().any(|x| *x >= lo && *x < hi),
                "nothing in tenth {tenth}"
            );
        }
        assert_eq!(j.up_to(Duration::ZERO), Duration::ZERO);
    }

    #[test]
    fn two_generators_draw_differently() {
        let (a, b) = (Jitter::new(), Jitter::new());
        let d = Duration::from_secs(3600);
        let xs: Vec<_> = (0..4).map(|_| a.up_to(d)).collect();
        let ys: Vec<_> = (0..4).map(|_| b.up_to(d)).collect();
        assert_ne!(xs, ys);
    }
}
