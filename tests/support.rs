//! Helpers: run the `fieldcrm` binary in a temporary workspace.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A workspace directory and a fixed "now".
pub(crate) struct Rep {
    /// Workspace directory.
    pub home: PathBuf,
    /// Value of FIELDCRM_NOW.
    pub now: String,
    _dir: Option<tempfile::TempDir>,
}

/// The result of one command.
pub(crate) struct Run {
    /// Exit code.
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Run {
    /// Assert success and return stdout.
    #[track_caller]
    pub(crate) fn ok(self) -> String {
        assert_eq!(
            self.code, 0,
            "command failed:\nstdout: {}\nstderr: {}",
            self.stdout, self.stderr
        );
        self.stdout
    }

    /// Assert failure with a message containing `needle`.
    #[track_caller]
    pub(crate) fn fails_with(self, needle: &str) {
        assert_ne!(
            self.code, 0,
            "command unexpectedly succeeded: {}",
            self.stdout
        );
        assert!(
            self.stderr.contains(needle),
            "stderr does not mention `{needle}`:\n{}",
            self.stderr
        );
    }

    /// Assert the run went through except for refused changes (exit 3) and return
    /// stdout, which names them.
    #[track_caller]
    pub(crate) fn refused(self) -> String {
        assert_eq!(
            self.code, 3,
            "expected exit 3 (some changes refused):\nstdout: {}\nstderr: {}",
            self.stdout, self.stderr
        );
        self.stdout
    }

    /// Parse stdout as JSON.
    #[track_caller]
    pub(crate) fn json(self) -> serde_json::Value {
        let out = self.ok();
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("not JSON ({e}): {out}"))
    }
}

impl Rep {
    /// A fresh temporary home.
    pub(crate) fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        Rep {
            home: dir.path().join("ws"),
            now: "2026-11-29T09:00:00+08:00".into(),
            _dir: Some(dir),
        }
    }

    /// Another device's home inside the same temporary directory tree.
    #[allow(dead_code)]
    pub(crate) fn at(home: &Path) -> Self {
        Rep {
            home: home.to_path_buf(),
            now: "2026-11-29T09:00:00+08:00".into(),
            _dir: None,
        }
    }

    /// Run `fieldcrm ARGS` in this workspace (in the C locale: English help).
    pub(crate) fn run(&self, args: &[&str]) -> Run {
        self.run_with(args, &[("LANG", "C")], None)
    }

    /// Run `fieldcrm ARGS` with these environment variables (LC_ALL and LC_MESSAGES
    /// cleared), in `cwd` if given.
    pub(crate) fn run_with(&self, args: &[&str], env: &[(&str, &str)], cwd: Option<&Path>) -> Run {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_fieldcrm"));
        cmd.args(args)
            .env("FIELDCRM_HOME", &self.home)
            .env("FIELDCRM_NOW", &self.now)
            .env_remove("FIELDCRM_TZ")
            .env_remove("LC_ALL")
            .env_remove("LC_MESSAGES")
            .envs(env.iter().copied());
        if let Some(dir) = cwd {
            cmd.current_dir(dir);
        }
        let out: Output = cmd.output().expect("run fieldcrm");
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Run and expect success.
    #[track_caller]
    pub(crate) fn ok(&self, args: &[&str]) -> String {
        self.run(args).ok()
    }

    /// The short ID printed by a `saved ... <id>` line (`已保存… <id>` in Chinese).
    #[track_caller]
    pub(crate) fn saved_id(&self, args: &[&str]) -> String {
        let out = self.ok(args);
        out.lines()
            .find(|l| l.starts_with("saved ") || l.starts_with("已保存"))
            .unwrap_or(&out)
            .split_whitespace()
            .last()
            .unwrap_or_else(|| panic!("no id in {out}"))
            .to_string()
    }
}

/// A manager's workspace: 王经理, team 华东一组.
pub(crate) fn manager() -> Rep {
    let rep = Rep::new();
    rep.ok(&[
        "init",
        "--user",
        "王经理",
        "--role",
        "manager",
        "--team",
        "华东一组",
    ]);
    rep
}

impl Rep {
    /// A target for team 华东一组 in 2026-11 (yuan).
    pub(crate) fn team_target(&self, amount: &str) {
        self.ok(&[
            "target",
            "set",
            "--team",
            "华东一组",
            "--period",
            "2026-11",
            "--amount",
            amount,
        ]);
    }

    /// How many customers `customer list` shows.
    pub(crate) fn customer_count(&self) -> usize {
        self.run(&["customer", "list", "--json"])
            .json()
            .as_array()
            .map_or(0, Vec::len)
    }
}

/// An admin's workspace (管理员, team 总部) with a rep 小张 and a manager 王经理 in 华东一组.
pub(crate) fn admin_with_team() -> Rep {
    let admin = Rep::new();
    admin.ok(&[
        "init",
        "--user",
        "管理员",
        "--role",
        "admin",
        "--team",
        "总部",
    ]);
    admin.ok(&["user", "add", "小张", "--role", "rep", "--team", "华东一组"]);
    admin.ok(&[
        "user",
        "add",
        "王经理",
        "--role",
        "manager",
        "--team",
        "华东一组",
    ]);
    admin
}

/// The device key `whoami` reports.
pub(crate) fn device_key(rep: &Rep) -> String {
    rep.run(&["whoami", "--json"]).json()["device"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Product P-100 (工业传感器, line sensors, list 1 000 yuan, floor 800) in the catalog.
pub(crate) fn add_sensor_product(rep: &Rep) {
    rep.ok(&[
        "catalog",
        "add",
        "P-100",
        "--name",
        "工业传感器",
        "--line",
        "sensors",
        "--list-price",
        "1000",
        "--floor-price",
        "800",
    ]);
}
