//! Running the real binaries: one command with its wall time and its own peak RSS, a
//! device (a workspace directory driven through `fieldcrm`), and a relay process whose
//! resident memory is read from /proc.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// The clock every device runs at (`FIELDCRM_NOW`): fixed, so runs are comparable.
pub const NOW: &str = "2026-12-01T10:00:00+08:00";

/// One finished command.
#[derive(Debug)]
pub struct Out {
    pub wall: Duration,
    /// The process's own peak resident set (wait4's ru_maxrss), KiB.
    pub rss_kib: u64,
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Out {
    pub fn ms(&self) -> f64 {
        self.wall.as_secs_f64() * 1000.0
    }
    pub fn mib(&self) -> f64 {
        self.rss_kib as f64 / 1024.0
    }
}

/// Wait for `pid` and return its exit code and peak RSS (KiB).
#[allow(unsafe_code)]
fn wait4(pid: u32) -> Result<(i32, u64)> {
    let mut status: libc::c_int = 0;
    // SAFETY: rusage is plain old data; wait4 writes it and the status for our own child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = libc::pid_t::try_from(pid)?;
    // SAFETY: a plain system call on our own child's pid with valid out-pointers.
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    if r != pid {
        bail!("wait4 failed: {}", std::io::Error::last_os_error());
    }
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -1
    };
    Ok((code, u64::try_from(usage.ru_maxrss).unwrap_or(0)))
}

fn drain(r: Option<impl Read + Send + 'static>) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut s = String::new();
        if let Some(mut r) = r {
            let _ = r.read_to_string(&mut s);
        }
        s
    })
}

/// Run a command to the end, measuring wall time (spawn to exit) and peak RSS.
///
/// The command runs under this program in `--measure` mode ([`measure`]), which starts
/// it, waits for it and reports its wall time and `ru_maxrss`. Measured from here, a
/// child's `ru_maxrss` would never be below this harness's own peak: Linux carries the
/// peak of the address space a process was spawned from across `exec`, and this process
/// holds the generated files and large outputs. The measuring process is small.
pub fn run(cmd: Command) -> Result<Out> {
    let report = tempfile::NamedTempFile::new()?;
    let mut wrapped = Command::new(std::env::current_exe()?);
    wrapped
        .arg("--measure")
        .arg(report.path())
        .arg("--")
        .arg(cmd.get_program())
        .args(cmd.get_args());
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => wrapped.env(k, v),
            None => wrapped.env_remove(k),
        };
    }
    if let Some(d) = cmd.get_current_dir() {
        wrapped.current_dir(d);
    }
    wrapped
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = wrapped
        .spawn()
        .with_context(|| format!("could not start {cmd:?}"))?;
    let out = drain(child.stdout.take());
    let err = drain(child.stderr.take());
    child.wait()?;
    let text = std::fs::read_to_string(report.path())?;
    let mut f = text.split_whitespace().map(str::parse::<i64>);
    let (Some(Ok(code)), Some(Ok(rss)), Some(Ok(ns))) = (f.next(), f.next(), f.next()) else {
        bail!("no measurement of {cmd:?}: {text:?}");
    };
    Ok(Out {
        wall: Duration::from_nanos(u64::try_from(ns).unwrap_or(0)),
        rss_kib: u64::try_from(rss).unwrap_or(0),
        code: i32::try_from(code).unwrap_or(-1),
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
    })
}

/// `--measure FILE -- PROGRAM ARGS...`: run the program with this process's standard
/// streams and environment, and write `exit-code peak-RSS-KiB wall-ns` to FILE; returns
/// the exit code.
pub fn measure(args: &[std::ffi::OsString]) -> Result<i32> {
    let [file, dashes, program, rest @ ..] = args else {
        bail!("usage: fieldcrm-e2e --measure FILE -- PROGRAM ARGS...");
    };
    if dashes != "--" {
        bail!("usage: fieldcrm-e2e --measure FILE -- PROGRAM ARGS...");
    }
    let started = Instant::now();
    let child = Command::new(program)
        .args(rest)
        .spawn()
        .with_context(|| format!("could not start {program:?}"))?;
    let (code, rss_kib) = wait4(child.id())?;
    let wall = started.elapsed();
    std::fs::write(file, format!("{code} {rss_kib} {}", wall.as_nanos()))?;
    Ok(code)
}

/// A device: one workspace directory, driven through the `fieldcrm` binary.
pub struct Device {
    pub home: PathBuf,
    pub bin: PathBuf,
}

impl Device {
    pub fn new(bin: &Path, home: PathBuf) -> Self {
        Device {
            home,
            bin: bin.to_path_buf(),
        }
    }

    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(&self.bin);
        c.args(args)
            .env("FIELDCRM_HOME", &self.home)
            .env("FIELDCRM_NOW", NOW)
            .env("NO_COLOR", "1")
            .env("LANG", "C.UTF-8")
            .env_remove("FIELDCRM_TZ");
        c
    }

    /// Run and require exit 0.
    pub fn ok(&self, args: &[&str]) -> Result<Out> {
        let o = run(self.cmd(args))?;
        if o.code != 0 {
            bail!(
                "fieldcrm {} failed (exit {}):\n{}{}",
                args.join(" "),
                o.code,
                o.stdout,
                o.stderr
            );
        }
        Ok(o)
    }

    pub fn json(&self, args: &[&str]) -> Result<(Out, serde_json::Value)> {
        let o = self.ok(args)?;
        let v = serde_json::from_str(o.stdout.trim()).with_context(|| {
            format!("fieldcrm {} printed no JSON: {}", args.join(" "), o.stdout)
        })?;
        Ok((o, v))
    }

    pub fn whoami(&self) -> Result<serde_json::Value> {
        Ok(self.json(&["whoami", "--json"])?.1)
    }

    pub fn device_key(&self) -> Result<String> {
        str_field(&self.whoami()?, "device")
    }

    /// `fieldcrm sync --json` with the saved remote (or a ticket).
    pub fn sync(&self, target: Option<&str>) -> Result<(Out, Sync)> {
        let mut args = vec!["sync", "--json", "--bind", "127.0.0.1:0"];
        if let Some(t) = target {
            args.insert(1, t);
        }
        let (o, v) = self.json(&args)?;
        let s = Sync::from(&v);
        if s.refused > 0 {
            bail!("sync refused changes: {v}");
        }
        Ok((o, s))
    }

    /// Bytes of every file in the workspace directory whose name contains `part`.
    pub fn file_bytes(&self, part: &str) -> u64 {
        std::fs::read_dir(&self.home)
            .map(|d| {
                d.flatten()
                    .filter(|e| e.file_name().to_string_lossy().contains(part))
                    .filter_map(|e| e.metadata().ok())
                    .map(|m| m.len())
                    .sum()
            })
            .unwrap_or(0)
    }
}

pub fn str_field(v: &serde_json::Value, k: &str) -> Result<String> {
    v.get(k)
        .and_then(|x| x.as_str())
        .map(str::to_string)
        .with_context(|| format!("no `{k}` in {v}"))
}

/// What `fieldcrm sync --json` reported.
#[derive(Debug, Default, Clone, Copy)]
pub struct Sync {
    pub docs_received: u64,
    pub docs_sent: u64,
    pub bytes: u64,
    pub automerge_bytes_sent: u64,
    pub messages: u64,
    pub turns: u64,
    pub refused: u64,
}

impl From<&serde_json::Value> for Sync {
    fn from(v: &serde_json::Value) -> Self {
        let n = |k: &str| v.get(k).and_then(|x| x.as_u64()).unwrap_or(0);
        let len = |k: &str| {
            v.get(k)
                .and_then(|x| x.as_array())
                .map_or(0, |a| a.len() as u64)
        };
        Sync {
            docs_received: n("docs_received"),
            docs_sent: n("docs_sent"),
            bytes: n("bytes_sent") + n("bytes_received"),
            automerge_bytes_sent: n("automerge_bytes_sent"),
            messages: n("messages_sent") + n("messages_received"),
            turns: n("turns_sent"),
            refused: len("refused_by_peer") + len("refused_here") + len("refused_changes"),
        }
    }
}

/// A running `fieldcrm-relay` (HTTP/WebSocket on loopback, iroh off); killed on drop.
pub struct Relay {
    child: Child,
    pub url: String,
}

impl Relay {
    pub fn start(bin: &Path, dir: &Path, workspace: &str, admin_key: &str) -> Result<Relay> {
        std::fs::create_dir_all(dir)?;
        let config = dir.join("relay.toml");
        let init = run({
            let mut c = Command::new(bin);
            c.args(["init", "--config"]).arg(&config).args([
                "--workspace",
                workspace,
                "--admin-device",
                admin_key,
            ]);
            c
        })?;
        if init.code != 0 {
            bail!("fieldcrm-relay init failed: {}", init.stderr);
        }
        let mut child = Command::new(bin)
            .args(["serve", "--config"])
            .arg(&config)
            .args(["--http", "127.0.0.1:0", "--iroh", "off"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .context("could not start fieldcrm-relay")?;
        let stdout = child.stdout.take().context("relay stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let mut url = None;
        for line in lines.by_ref() {
            let line = line?;
            if let Some(u) = line.strip_prefix("http: ") {
                url = Some(u.to_string());
            }
            if line == "ready" {
                break;
            }
        }
        // Keep reading so the relay never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        let url = url.context("the relay did not print its address")?;
        Ok(Relay { child, url })
    }

    fn status(&self, key: &str) -> u64 {
        std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with(key))
                    .and_then(|l| l.split_whitespace().nth(1))
                    .and_then(|n| n.parse().ok())
            })
            .unwrap_or(0)
    }

    /// Peak resident set since start or the last [`Relay::reset_peak`], KiB.
    pub fn peak_kib(&self) -> u64 {
        self.status("VmHWM:")
    }

    /// Resident set now, KiB.
    pub fn rss_kib(&self) -> u64 {
        self.status("VmRSS:")
    }

    /// Reset the peak to the current resident set (Linux clear_refs 5).
    pub fn reset_peak(&self) {
        let _ = std::fs::write(format!("/proc/{}/clear_refs", self.child.id()), "5");
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A `fieldcrm serve --once` process and the ticket it wrote.
pub struct Serve {
    child: Child,
    pub ticket: String,
    out: Option<std::thread::JoinHandle<String>>,
}

impl Serve {
    pub fn start(dev: &Device) -> Result<Serve> {
        let ticket_file = dev.home.with_extension("ticket");
        let _ = std::fs::remove_file(&ticket_file);
        let mut cmd = dev.cmd(&["serve", "--once", "--json", "--bind", "127.0.0.1:0"]);
        cmd.arg("--ticket-file")
            .arg(&ticket_file)
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        let mut child = cmd.spawn().context("could not start fieldcrm serve")?;
        let out = Some(drain(child.stdout.take()));
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(t) = std::fs::read_to_string(&ticket_file)
                && !t.trim().is_empty()
            {
                return Ok(Serve {
                    child,
                    ticket: t.trim().to_string(),
                    out,
                });
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                bail!("fieldcrm serve wrote no ticket in 30 s");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Wait for the one session to end; the serving side's report.
    pub fn finish(mut self) -> Result<Sync> {
        let status = self.child.wait()?;
        let out = self
            .out
            .take()
            .and_then(|h| h.join().ok())
            .unwrap_or_default();
        if !status.success() {
            bail!("fieldcrm serve failed: {out}");
        }
        let line = out
            .lines()
            .find(|l| l.trim_start().starts_with('{'))
            .context("fieldcrm serve printed no JSON outcome")?;
        Ok(Sync::from(&serde_json::from_str::<serde_json::Value>(
            line,
        )?))
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        if self.out.is_some() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
