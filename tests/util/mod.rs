//! Shared by the binary-driven tests: a temp folder with dialogue files and a
//! data directory, and a way to run `guidebot` in it.

#![allow(dead_code)]

pub mod pg;
pub mod process;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

pub struct Test {
    pub dir: tempfile::TempDir,
}

impl Test {
    /// A temp folder with `dialogues/` copied from `tests/fixtures/dialogues`.
    pub fn new() -> Test {
        let dir = tempfile::tempdir().expect("temp dir");
        let d = dir.path().join("dialogues");
        std::fs::create_dir(&d).expect("dialogues dir");
        for e in std::fs::read_dir(fixture("dialogues")).expect("fixtures") {
            let p = e.expect("entry").path();
            std::fs::copy(&p, d.join(p.file_name().expect("name"))).expect("copy");
        }
        Test { dir }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub fn write(&self, rel: &str, text: &str) -> &Test {
        let p = self.path(rel);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).expect("parent");
        }
        std::fs::write(p, text).expect("write");
        self
    }

    /// `guidebot ARGS` in the temp folder, with `--dialogues` and `--data` there.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_guidebot"));
        c.current_dir(self.dir.path())
            .env_remove("GUIDEBOT_DIALOGUES")
            .env_remove("GUIDEBOT_DATA")
            .env_remove("TELOXIDE_TOKEN")
            .env("GUIDEBOT_TZ", "Asia/Shanghai")
            .args(args);
        c
    }

    /// Runs with `input` on stdin and waits.
    pub fn run(&self, args: &[&str], input: &str) -> Output {
        let mut child = self.spawn(args);
        child.stdin.take().expect("stdin").write_all(input.as_bytes()).expect("write stdin");
        child.wait_with_output().expect("wait")
    }

    /// Runs with `input` (any bytes, not necessarily UTF-8) on stdin and waits.
    pub fn run_bytes(&self, args: &[&str], input: &[u8]) -> Output {
        let mut child = self.spawn(args);
        child.stdin.take().expect("stdin").write_all(input).expect("write stdin");
        child.wait_with_output().expect("wait")
    }

    pub fn spawn(&self, args: &[&str]) -> Child {
        self.cmd(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn guidebot")
    }
}

pub fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(rel)
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}
