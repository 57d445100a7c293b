//! A probe of the disk under the bot: while a run lasts, it writes 4 KB and
//! calls `fdatasync` every 20 ms in the run's folder (the filesystem that
//! holds the bot's data), and reports the slowest call and how many took
//! over 100 ms. A durable bot waits for its disk; when the disk stalls, the
//! latency tail says so, and this row tells the two apart.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// How often the probe syncs.
const EVERY: Duration = Duration::from_millis(20);
/// A sync slower than this counts as a stall.
const STALL: Duration = Duration::from_millis(100);

/// What the probe saw.
#[derive(Debug, Default, Clone, Copy)]
pub struct DiskProbe {
    pub slowest: Duration,
    pub stalls: u64,
}

/// A running probe; [`Probe::finish`] stops it.
pub struct Probe {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<DiskProbe>,
}

impl Probe {
    /// Starts probing in `dir`, or says why it cannot.
    pub fn start(dir: &Path) -> Result<Probe, String> {
        let path = dir.join("disk-probe");
        let mut file = OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(true)
            .open(&path)
            .map_err(|e| format!("cannot make {}: {e}", path.display()))?;
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = Arc::clone(&stop);
        let thread = thread::spawn(move || {
            let block = [0x5a_u8; 4096];
            let mut seen = DiskProbe::default();
            while !stopping.load(Ordering::Relaxed) {
                let began = Instant::now();
                // Rewrites the same block: the file does not grow with the run.
                let synced = std::io::Seek::rewind(&mut file)
                    .and_then(|_| file.write_all(&block))
                    .and_then(|()| file.sync_data());
                let took = began.elapsed();
                if synced.is_err() {
                    break;
                }
                seen.slowest = seen.slowest.max(took);
                seen.stalls += u64::from(took > STALL);
                thread::sleep(EVERY.saturating_sub(took));
            }
            seen
        });
        Ok(Probe { stop, thread })
    }

    /// Stops the probe; what it saw.
    pub fn finish(self) -> DiskProbe {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().unwrap_or_default()
    }
}
