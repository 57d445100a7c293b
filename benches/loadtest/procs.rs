//! The bot under test as a child process: started, killed and restarted on
//! the same data folder, stopped, and its CPU time read from /proc.
//!
//! Every child's pid is registered so that a panic anywhere in the bench
//! kills it (see [`kill_all`]); dropping a [`BotProcess`] kills it too.

use std::ffi::OsString;
use std::fs::{File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::Duration;

use tokio::time::{Instant, sleep};

/// Pids of the children alive now.
static CHILDREN: Mutex<Vec<u32>> = Mutex::new(Vec::new());

fn register(pid: u32) {
    CHILDREN.lock().unwrap_or_else(PoisonError::into_inner).push(pid);
}

fn unregister(pid: u32) {
    CHILDREN.lock().unwrap_or_else(PoisonError::into_inner).retain(|p| *p != pid);
}

/// Kills every registered child (from the panic hook, so no process outlives the bench).
pub fn kill_all() {
    let pids = std::mem::take(&mut *CHILDREN.lock().unwrap_or_else(PoisonError::into_inner));
    for pid in pids {
        let _ = signal(pid, "KILL");
    }
}

/// Sends `sig` (a name such as TERM) to `pid` with kill(1); the crate forbids unsafe code, so no libc.
fn signal(pid: u32, sig: &str) -> io::Result<ExitStatus> {
    Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
}

/// Clock ticks per second of /proc's times.
fn ticks_per_second() -> u64 {
    static TICKS: OnceLock<u64> = OnceLock::new();
    *TICKS.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse().ok())
            .filter(|t| *t > 0)
            .unwrap_or(100)
    })
}

/// Fields of /proc/<which>/stat after the command name, in µs of CPU: (utime + stime, cutime + cstime).
fn cpu_of(which: &str) -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string(format!("/proc/{which}/stat")).ok()?;
    // The command name may hold spaces; the fields start after its closing parenthesis.
    let fields: Vec<&str> = stat.get(stat.rfind(')')? + 1..)?.split_whitespace().collect();
    // Field 3 of stat(5) is fields[0]: utime is 14, stime 15, cutime 16, cstime 17.
    let field = |n: usize| fields.get(n - 3).and_then(|f| f.parse::<u64>().ok());
    let ticks = ticks_per_second();
    let own = (field(14)? + field(15)?) * 1_000_000 / ticks;
    let children = (field(16)? + field(17)?) * 1_000_000 / ticks;
    Some((own, children))
}

/// CPU time of this process itself, µs.
pub fn own_cpu() -> u64 {
    cpu_of("self").map_or(0, |(own, _)| own)
}

/// CPU time of this process's children that have ended and been waited for, µs.
fn reaped_children_cpu() -> u64 {
    cpu_of("self").map_or(0, |(_, children)| children)
}

/// How to start the bot.
#[derive(Debug, Clone)]
pub struct Launch {
    pub program: PathBuf,
    pub args: Vec<OsString>,
    pub env: Vec<(String, String)>,
    /// Where its output goes (appended, so restarts keep what came before).
    pub log: PathBuf,
}

/// A running bot, restarted in place when killed.
pub struct BotProcess {
    launch: Launch,
    child: Child,
    /// Incarnations started, the first included.
    pub starts: u64,
    /// Exits nobody asked for.
    pub crashes: u64,
    /// CPU of children already reaped when this bot started, µs.
    reaped_at_start: u64,
}

impl BotProcess {
    pub fn start(launch: Launch) -> io::Result<BotProcess> {
        let reaped_at_start = reaped_children_cpu();
        let child = spawn(&launch)?;
        Ok(BotProcess { launch, child, starts: 1, crashes: 0, reaped_at_start })
    }

    /// CPU used by every incarnation so far, µs: the ones killed (reaped, so
    /// counted in this process's cutime/cstime) and the one running.
    pub fn cpu(&self) -> u64 {
        let earlier = reaped_children_cpu().saturating_sub(self.reaped_at_start);
        let now = cpu_of(&self.child.id().to_string()).map_or(0, |(own, _)| own);
        earlier + now
    }

    /// The exit status if the bot has ended.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// SIGKILL, wait for the end (the data folder's lock goes with it), start again.
    pub async fn kill_and_restart(&mut self) -> io::Result<()> {
        let _ = self.child.kill();
        wait_for_exit(&mut self.child, Duration::from_secs(5)).await;
        self.respawn()
    }

    /// Starts again after an exit nobody asked for.
    pub fn restart_after_crash(&mut self) -> io::Result<()> {
        self.crashes += 1;
        self.respawn()
    }

    fn respawn(&mut self) -> io::Result<()> {
        unregister(self.child.id());
        self.child = spawn(&self.launch)?;
        self.starts += 1;
        Ok(())
    }

    /// SIGTERM, then SIGKILL if it is still running after `grace`. Some(status) when it ended on its own.
    pub async fn stop(&mut self, grace: Duration) -> Option<ExitStatus> {
        if let Some(status) = self.exited() {
            return Some(status);
        }
        let _ = signal(self.child.id(), "TERM");
        let status = wait_for_exit(&mut self.child, grace).await;
        if status.is_none() {
            let _ = self.child.kill();
            wait_for_exit(&mut self.child, Duration::from_secs(5)).await;
        }
        status
    }

    /// The last `lines` lines of the bot's output.
    pub fn log_tail(&self, lines: usize) -> String {
        let text = std::fs::read_to_string(&self.launch.log).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }
}

impl Drop for BotProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        unregister(self.child.id());
    }
}

fn spawn(launch: &Launch) -> io::Result<Child> {
    let log = open_log(&launch.log)?;
    let child = Command::new(&launch.program)
        .args(&launch.args)
        .envs(launch.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env_remove("GUIDEBOT_ADMINS")
        .env_remove("TELOXIDE_PROXY")
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()?;
    register(child.id());
    Ok(child)
}

fn open_log(path: &Path) -> io::Result<File> {
    OpenOptions::new().create(true).append(true).open(path)
}

/// Polls for the child's end for at most `limit`.
async fn wait_for_exit(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + limit;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        if Instant::now() >= deadline {
            return None;
        }
        sleep(Duration::from_millis(2)).await;
    }
}
