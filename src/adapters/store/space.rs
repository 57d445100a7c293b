//! The free-space guard: no write reaches sled while the data directory's
//! filesystem has less free space than the reserve.
//!
//! Why: sled 0.34 does not recover from a full disk. Its flush blocks for
//! ever once the disk fills, and opening a database on a still-full disk
//! can damage it for good. Refusing early keeps everything already
//! acknowledged safe, and the store goes on by itself once space is freed.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use super::StoreError;

/// Default reserve: 64 MB.
pub const DEFAULT_MIN_FREE: u64 = 64 * 1024 * 1024;

/// Checks free space before writes.
pub(super) struct Space {
    dir: PathBuf,
    reserve: u64,
    /// Set while writes are refused, so that the log is told once per episode.
    refusing: AtomicBool,
}

impl Space {
    pub(super) fn new(dir: &Path, reserve: u64) -> Space {
        Space { dir: dir.to_path_buf(), reserve, refusing: AtomicBool::new(false) }
    }

    /// Ok when at least `reserve / divisor` bytes are free. Erasing and
    /// marking messages sent free space rather than take it, so they are
    /// allowed deeper into the reserve (divisor 2) than new data (1).
    pub(super) fn check(&self, divisor: u64) -> Result<(), StoreError> {
        let need = self.reserve / divisor.max(1);
        if need == 0 {
            return Ok(());
        }
        // If free space cannot be read, do not guess: let the write go on.
        let Ok(free) = fs2::available_space(&self.dir) else {
            return Ok(());
        };
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
}
