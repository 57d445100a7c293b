//! A `guidebot` child process watched from a test: its output collected as it
//! comes, waits on what it prints or on its exit with deadlines, and a kill
//! when the test ends however it ends.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

/// A running child; killed (SIGKILL) when dropped if still running.
pub struct Proc {
    child: Child,
    stdin: Option<ChildStdin>,
    out: Arc<Mutex<Vec<u8>>>,
    err: Arc<Mutex<Vec<u8>>>,
    readers: Vec<thread::JoinHandle<()>>,
}

/// Copies everything `from` gives into `to` until it ends.
fn collect(mut from: impl Read + Send + 'static, to: Arc<Mutex<Vec<u8>>>) -> thread::JoinHandle<()> {
    thread::spawn(move || {
        let mut buf = [0u8; 8192];
        loop {
            match from.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => to.lock().unwrap_or_else(PoisonError::into_inner).extend_from_slice(&buf[..n]),
            }
        }
    })
}

impl Proc {
    /// Starts `cmd` with piped stdin, stdout and stderr.
    pub fn spawn(mut cmd: Command) -> Proc {
        let mut child =
            cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn guidebot");
        let out = Arc::new(Mutex::new(Vec::new()));
        let err = Arc::new(Mutex::new(Vec::new()));
        let readers = vec![
            collect(child.stdout.take().expect("stdout"), Arc::clone(&out)),
            collect(child.stderr.take().expect("stderr"), Arc::clone(&err)),
        ];
        let stdin = child.stdin.take();
        Proc { child, stdin, out, err, readers }
    }

    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Everything printed on stdout so far.
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.out.lock().unwrap_or_else(PoisonError::into_inner)).into_owned()
    }

    /// Everything printed on stderr so far.
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.err.lock().unwrap_or_else(PoisonError::into_inner)).into_owned()
    }

    /// Writes one line to the child's stdin.
    pub fn line(&mut self, text: &str) {
        let stdin = self.stdin.as_mut().expect("stdin is still open");
        stdin.write_all(format!("{text}\n").as_bytes()).expect("write to guidebot");
        stdin.flush().expect("flush stdin");
    }

    /// Ends the child's input (Ctrl-D).
    pub fn close_stdin(&mut self) {
        self.stdin.take();
    }

    /// Waits until stdout holds `check`'s match (checked on the whole output so far);
    /// fails the test with both outputs after `limit`.
    /// The address the process logged (stderr) on the line saying `what`
    /// (`address=IP:PORT`), waited for up to `limit`.
    pub fn logged_address(&self, what: &str, limit: Duration) -> String {
        let deadline = Instant::now() + limit;
        loop {
            let log = self.stderr();
            let found = log.lines().filter(|l| l.contains(what)).find_map(|l| {
                let rest = &l[l.find("address=")? + "address=".len()..];
                Some(rest.split_whitespace().next()?.to_owned())
            });
            if let Some(address) = found {
                return address;
            }
            assert!(Instant::now() < deadline, "the process never logged {what:?}\n--- stderr:\n{log}");
            thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn wait_stdout(&self, what: &str, limit: Duration, check: impl Fn(&str) -> bool) {
        let deadline = Instant::now() + limit;
        loop {
            if check(&self.stdout()) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "timed out after {limit:?} waiting for {what}\n--- stdout:\n{}\n--- stderr:\n{}",
                self.stdout(),
                self.stderr()
            );
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// Waits for the child to exit by itself; fails the test (and kills it) after `limit`.
    pub fn wait_exit(&mut self, limit: Duration) -> ExitStatus {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                self.join_readers();
                return status;
            }
            if Instant::now() >= deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!(
                    "guidebot did not exit within {limit:?}; killed\n--- stdout:\n{}\n--- stderr:\n{}",
                    self.stdout(),
                    self.stderr()
                );
            }
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// SIGKILL, as a crash or a power cut: nothing of the process runs after it.
    pub fn kill9(&mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reap");
        self.join_readers();
    }

    /// SIGTERM, and waits for the clean stop.
    pub fn terminate(&mut self, limit: Duration) -> ExitStatus {
        let status = Command::new("kill").args(["-TERM", &self.id().to_string()]).status().expect("run kill");
        assert!(status.success(), "kill -TERM failed");
        self.wait_exit(limit)
    }

    fn join_readers(&mut self) {
        for r in self.readers.drain(..) {
            let _ = r.join();
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Every file (not directory) under `dir`, recursively, sockets included.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    entries_under(dir).into_iter().filter(|p| !p.is_dir()).collect()
}

/// Every entry under `dir` (files and directories), recursively, not following links.
pub fn entries_under(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        for entry in std::fs::read_dir(&d).expect("read_dir") {
            let entry = entry.expect("entry");
            let path = entry.path();
            if entry.file_type().expect("file type").is_dir() {
                pending.push(path.clone());
            }
            found.push(path);
        }
    }
    found.sort();
    found
}

/// Regular files under `dir` whose raw bytes contain `needle`.
pub fn files_containing(dir: &Path, needle: &[u8]) -> Vec<PathBuf> {
    files_under(dir)
        .into_iter()
        .filter(|f| f.is_file())
        .filter(|f| {
            let bytes = std::fs::read(f).expect("read file");
            bytes.windows(needle.len()).any(|w| w == needle)
        })
        .collect()
}

/// Permission bits of `path` (not following a link).
pub fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::symlink_metadata(path).expect("metadata").permissions().mode() & 0o777
}

/// A tmpfs mounted for the length of a test, unmounted when dropped (also when
/// the test fails). Needs root; [`Tmpfs::mount`] says why when it cannot.
pub struct Tmpfs {
    pub dir: PathBuf,
}

impl Tmpfs {
    /// Mounts a tmpfs of `size` (as `mount -o size=`, e.g. "16m") on `dir`.
    pub fn mount(dir: &Path, size: &str) -> Result<Tmpfs, String> {
        std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size},mode=0700"), "tmpfs"])
            .arg(dir)
            .output()
            .map_err(|e| format!("cannot run mount: {e}"))?;
        if !out.status.success() {
            return Err(format!("mount failed: {}", String::from_utf8_lossy(&out.stderr).trim()));
        }
        Ok(Tmpfs { dir: dir.to_path_buf() })
    }

    /// Bytes free for an unprivileged writer.
    pub fn free(&self) -> u64 {
        fs2::available_space(&self.dir).expect("free space")
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let ok = Command::new("umount").arg(&self.dir).status().is_ok_and(|s| s.success());
        if !ok {
            // Still busy (a child not reaped yet): detach it now, gone once unused.
            let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
        }
    }
}

/// True when this process runs as root.
pub fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// The shipped dialogues folder.
pub fn dialogues() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("dialogues")
}

/// `guidebot bot` on `t`'s data directory with the shipped guide, against the
/// Bot API at `api_url` with `token`, pacing off, `extra` flags after; logs at
/// info. The environment's webhook and metrics settings are cleared, so each
/// test says what it wants.
pub fn bot_command(t: &super::Test, api_url: &str, token: &str, extra: &[&str]) -> Command {
    let dialogues = dialogues();
    bot_command_with(t, api_url, token, dialogues.to_str().expect("utf-8 path"), &["--data", "data"], extra)
}

/// [`bot_command`] with the guides in `dialogues` and the store named by
/// `store` (`["--data", DIR]` or `["--store", URL]`).
pub fn bot_command_with(
    t: &super::Test,
    api_url: &str,
    token: &str,
    dialogues: &str,
    store: &[&str],
    extra: &[&str],
) -> Command {
    let mut args = vec!["bot", "--dialogues", dialogues];
    args.extend_from_slice(store);
    args.extend_from_slice(&["--min-free-mb", "0", "--max-per-second", "0", "--per-chat-per-second", "0"]);
    args.extend_from_slice(extra);
    let mut cmd = t.cmd(&args);
    cmd.env("TELOXIDE_TOKEN", token)
        .env("TELOXIDE_API_URL", api_url)
        .env("RUST_LOG", "guidebot=info")
        .env_remove("TELOXIDE_PROXY")
        .env_remove("GUIDEBOT_STORE")
        .env_remove("GUIDEBOT_WEBHOOK_URL")
        .env_remove("GUIDEBOT_LISTEN")
        .env_remove("GUIDEBOT_WEBHOOK_SECRET")
        .env_remove("GUIDEBOT_METRICS_LISTEN");
    cmd
}
