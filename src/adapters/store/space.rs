//! The free-space guard: no write reaches sled while the data directory's
//! filesystem has less free space than the reserve.
//!
//! Why: sled 0.34 does not recover from a full disk. Its flush blocks for
//! ever once the disk fills, and opening a database on a still-full disk
//! can damage it for good. Refusing early keeps everything already
//! acknowledged safe, and the store goes on by itself once space is freed.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::StoreError;

/// Default reserve: 64 MB.
pub const DEFAULT_MIN_FREE: u64 = 64 * 1024 * 1024;

/// How long a reading of free space may be trusted, when it is far from the
/// reserve. Reading it is a `statvfs` call; at full load the store checks
/// before every write, thousands of times a second, and those calls were 2%
/// of the bot's CPU. Filling [`TRUSTED_MARGIN`] within this time would take
/// a disk writing tens of gigabytes a second.
const TRUSTED_FOR: Duration = Duration::from_millis(2);
/// A reading is reused only while at least this much more than the reserve
/// was free: near the reserve, every write looks again.
const TRUSTED_MARGIN: u64 = 64 * 1024 * 1024;

/// Checks free space before writes.
pub(super) struct Space {
    dir: PathBuf,
    reserve: u64,
    /// Set while writes are refused, so that the log is told once per episode.
    refusing: AtomicBool,
    /// Until when the last reading stands: it found [`TRUSTED_MARGIN`] more than
    /// the whole reserve free.
    trusted_until: Mutex<Option<Instant>>,
}

impl Space {
    pub(super) fn new(dir: &Path, reserve: u64) -> Space {
        Space { dir: dir.to_path_buf(), reserve, refusing: AtomicBool::new(false), trusted_until: Mutex::new(None) }
    }

    /// Ok when at least `reserve / divisor` bytes are free. Erasing and
    /// marking messages sent free space rather than take it, so they are
    /// allowed deeper into the reserve (divisor 2) than new data (1).
    pub(super) fn check(&self, divisor: u64) -> Result<(), StoreError> {
        let need = self.reserve / divisor.max(1);
        if need == 0 {
            return Ok(());
        }
        let now = Instant::now();
        let mut trusted = self.trusted_until.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if trusted.is_some_and(|until| now < until) {
            return Ok(());
        }
        // If free space cannot be read, do not guess: let the write go on.
        let Ok(free) = fs2::available_space(&self.dir) else {
            return Ok(());
        };
        *trusted = trust_until(free, self.reserve, now);
        drop(trusted);
        if free >= need {
            if self.refusing.swap(false, Ordering::Relaxed) {
                tracing::warn!(dir = %self.dir.display(), free_mb = free / MB, "free space is back; writing again");
            }
            return Ok(());
        }
        let err = StoreError::DiskFull { dir: self.dir.clone(), free_mb: free / MB, reserve_mb: self.reserve / MB };
        if !self.refusing.swap(true, Ordering::Relaxed) {
            tracing::error!("{err}");
        }
        Err(err)
    }
}

/// Until when a reading of `free` bytes may stand in for the next ones.
fn trust_until(free: u64, reserve: u64, now: Instant) -> Option<Instant> {
    (free >= reserve.saturating_add(TRUSTED_MARGIN)).then(|| now + TRUSTED_FOR)
}

const MB: u64 = 1024 * 1024;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reserve_larger_than_any_disk_refuses_and_zero_never_does() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let huge = Space::new(tmp.path(), u64::MAX);
        let err = huge.check(1).expect_err("no disk is that big");
        assert!(matches!(err, StoreError::DiskFull { .. }), "{err:?}");
        Space::new(tmp.path(), 0).check(1).expect("no reserve");
    }

    #[test]
    fn a_reading_is_reused_only_briefly_and_only_far_from_the_reserve() {
        let now = Instant::now();
        let reserve = 64 * MB;
        assert_eq!(trust_until(reserve + TRUSTED_MARGIN, reserve, now), Some(now + TRUSTED_FOR));
        assert_eq!(trust_until(reserve + TRUSTED_MARGIN - 1, reserve, now), None, "near the reserve: read every time");
        assert_eq!(trust_until(0, 0, now), None, "an empty disk is never trusted, even without a reserve");
        // A refusal is never remembered: the next write looks again.
        let tmp = tempfile::tempdir().expect("tempdir");
        let huge = Space::new(tmp.path(), u64::MAX / 2);
        huge.check(1).expect_err("refused");
        assert!(huge.trusted_until.lock().expect("lock").is_none());
    }
}
