//! `fieldcrm demo`: the whole story on loopback, in a temporary directory. An office relay,
//! an admin, a manager and two reps on their own devices; the reps work offline (the same
//! new customer on both, a class set differently on two devices, a discount without a
//! manager); everyone syncs through the relay; the rules report the problems; the manager
//! merges the duplicate, resolves the conflict and approves the discount; a second sync
//! and the findings are cleared. Every step runs the real `fieldcrm` binary as a separate
//! process per device, so what you see is what a user would type.
//!
//! `fieldcrm demo --app` fills such an office with a few weeks of work instead (customers
//! in several cities, visits, quotes, one needing approval, a complaint, an overdue key
//! customer, a customer registered twice), then starts the rep's and the manager's
//! `fieldcrm app` and prints both URLs; Ctrl-C stops everything and deletes the data.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Instant;

use anyhow::{Context, Result, bail};

/// One device: a workspace directory and who uses it.
pub(crate) struct Device {
    pub(crate) label: &'static str,
    pub(crate) home: PathBuf,
}

/// The relay process; killed when the demo ends.
pub(crate) struct RelayProc(Child);

impl Drop for RelayProc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub(crate) fn exe() -> Result<PathBuf> {
    std::env::current_exe().context("cannot find the fieldcrm executable")
}

fn relay_exe() -> Result<PathBuf> {
    let p = exe()?.with_file_name(format!("fieldcrm-relay{}", std::env::consts::EXE_SUFFIX));
    if !p.exists() {
        bail!(
            "the demo needs the relay binary next to fieldcrm ({}); build both with `cargo build --workspace`",
            p.display()
        );
    }
    Ok(p)
}

pub(crate) fn step(title: &str) {
    println!("\n{}", crate::render::bold(&format!("== {title}")));
}

impl Device {
    /// Run a fieldcrm command on this device; print it and (if `show`) its output.
    pub(crate) fn run(&self, args: &[&str], show: bool) -> Result<String> {
        let out = Command::new(exe()?)
            .args(args)
            .env("FIELDCRM_HOME", &self.home)
            .env_remove("FIELDCRM_NOW")
            .output()
            .with_context(|| format!("could not run fieldcrm {}", args.join(" ")))?;
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        println!("[{}] $ fieldcrm {}", self.label, args.join(" "));
        if show {
            for line in stdout.lines() {
                println!("    {line}");
            }
        }
        // `check` exits 1 when it finds violations; that is an answer, not a failure.
        let ok = out.status.success()
            || (args.first() == Some(&"check") && out.status.code() == Some(1));
        if !ok {
            bail!(
                "[{}] fieldcrm {} failed:\n{}{}",
                self.label,
                args.join(" "),
                stdout,
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(stdout)
    }

    pub(crate) fn quiet(&self, args: &[&str]) -> Result<String> {
        self.run(args, false)
    }

    pub(crate) fn json(&self, args: &[&str]) -> Result<serde_json::Value> {
        let out = self.run(args, false)?;
        serde_json::from_str(&out)
            .with_context(|| format!("fieldcrm {} did not print JSON", args.join(" ")))
    }

    pub(crate) fn device_key(&self) -> Result<String> {
        Ok(self
            .json(&["whoami", "--json"])?
            .get("device")
            .and_then(|d| d.as_str())
            .unwrap_or_default()
            .to_string())
    }

    /// The ID (last word) printed by a `saved …` line.
    pub(crate) fn saved_id(&self, args: &[&str]) -> Result<String> {
        let out = self.run(args, false)?;
        out.split_whitespace()
            .last()
            .map(str::to_string)
            .context("no ID printed")
    }
}

pub(crate) fn start_relay(
    dir: &Path,
    workspace: &str,
    admin_key: &str,
) -> Result<(RelayProc, String)> {
    let relay = relay_exe()?;
    let config = dir.join("relay.toml");
    let out = Command::new(&relay)
        .args(["init", "--config"])
        .arg(&config)
        .args(["--workspace", workspace, "--admin-device", admin_key])
        .output()
        .context("could not run fieldcrm-relay init")?;
    if !out.status.success() {
        bail!(
            "fieldcrm-relay init failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    println!(
        "[office] $ fieldcrm-relay init --workspace {} --admin-device {}…",
        fieldcrm_model::short_id(workspace),
        fieldcrm_model::short_id(admin_key)
    );
    let mut child = Command::new(&relay)
        .args(["serve", "--config"])
        .arg(&config)
        .args(["--http", "127.0.0.1:0", "--iroh", "off"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .context("could not start fieldcrm-relay")?;
    let stdout = child.stdout.take().context("relay stdout")?;
    let proc = RelayProc(child);
    let mut url = None;
    for line in BufReader::new(stdout).lines() {
        let line = line.context("reading the relay's output")?;
        if let Some(u) = line.strip_prefix("http: ") {
            url = Some(u.to_string());
        }
        if line == "ready" {
            break;
        }
    }
    let url = url.context("the relay did not print its address")?;
    println!("[office] $ fieldcrm-relay serve   → listening on {url}");
    Ok((proc, url))
}

fn count(findings: &serde_json::Value, rule: &str) -> usize {
    findings
        .as_array()
        .map(|a| a.iter().filter(|f| f["rule"] == rule).count())
        .unwrap_or(0)
}

/// Run the demo (`app`: fill demo workspaces and serve the rep's and manager's apps).
pub(crate) fn run(app: bool) -> Result<()> {
    if app {
        return crate::demo_app::run_app();
    }
    let started = Instant::now();
    let tmp = tempfile::tempdir().context("could not create a temporary directory")?;
    let dir = tmp.path();
    let dev = |label, name: &str| Device {
        label,
        home: dir.join(name),
    };
    let admin = dev("管理员 admin", "admin");
    let manager = dev("王经理 manager", "manager");
    let zhang = dev("小张 rep", "zhang");
    let li = dev("小李 rep", "li");
    println!(
        "fieldcrm demo — everything runs on this machine, in {}",
        dir.display()
    );

    step("1. 办公室准备 The office sets up a workspace and its relay");
    found_office(&admin, true)?;
    admin.run(
        &[
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
        ],
        false,
    )?;
    let ws = admin
        .json(&["whoami", "--json"])?
        .get("workspace_id")
        .and_then(|w| w.as_str())
        .unwrap_or_default()
        .to_string();
    let (_relay, url) = start_relay(dir, &ws, &admin.device_key()?)?;
    admin.run(&["remote", "add", "office", &url], false)?;
    admin.run(&["sync"], true)?;

    step("2. 每位员工的设备加入 Each person's device joins; the admin enrolls it");
    for (d, name) in [(&manager, "王经理"), (&zhang, "小张"), (&li, "小李")] {
        d.run(&["join", &url], false)?;
        admin.run(&["device", "add", &d.device_key()?, "--user", name], false)?;
    }
    admin.run(&["sync"], false)?;
    for d in [&manager, &zhang, &li] {
        d.run(&["sync"], true)?;
    }
    let shared = zhang.saved_id(&[
        "customer",
        "add",
        "乙方电气有限公司",
        "--class",
        "general",
        "--industry",
        "电气",
        "--region",
        "华东",
        "--annual-value",
        "500,000",
    ])?;
    zhang.quiet(&["contact", "add", &shared, "赵敏", "--phone", "13900000002"])?;
    zhang.quiet(&[
        "interaction",
        "log",
        &shared,
        "--kind",
        "call",
        "--summary",
        "电话沟通年度需求",
    ])?;
    zhang.run(&["sync"], false)?;
    manager.run(&["sync"], false)?;

    step("3. 离线工作 Everyone works offline (no network)");
    for (d, contact, phone) in [
        (&zhang, "张伟", "13800000001"),
        (&li, "张伟", "138-0000-0001"),
    ] {
        let c = d.saved_id(&[
            "customer",
            "add",
            "华东精密机械有限公司",
            "--credit-code",
            "91310000MA1FL8XQ3K",
            "--class",
            "potential",
            "--industry",
            "制造业",
            "--region",
            "华东",
        ])?;
        d.run(&["contact", "add", &c, contact, "--phone", phone], false)?;
        d.run(
            &[
                "interaction",
                "log",
                &c,
                "--kind",
                "visit",
                "--summary",
                "上门拜访，了解传感器需求",
            ],
            false,
        )?;
    }
    println!("    (小张 and 小李 both met the same new customer and each created its file)");
    zhang.run(
        &[
            "customer",
            "edit",
            &shared,
            "--class",
            "key",
            "--address",
            "苏州工业园区星湖街 328 号",
        ],
        false,
    )?;
    manager.run(
        &["customer", "edit", &shared, "--class", "potential"],
        false,
    )?;
    println!("    (小张 and 王经理 set the class of 乙方电气 differently, each offline)");
    let quote_out = zhang.run(
        &[
            "quote",
            "add",
            &shared,
            "--product",
            "P-100",
            "--price",
            "780",
            "--quantity",
            "50",
        ],
        true,
    )?;
    let quote = quote_out
        .lines()
        .next()
        .and_then(|l| l.split_whitespace().last())
        .unwrap_or_default()
        .to_string();

    step("4. 通过中继同步 Everyone syncs through the relay");
    for d in [&zhang, &li, &manager, &zhang, &li] {
        d.run(&["sync"], false)?;
    }
    println!("    (each device synced; the relay stored and forwarded what each may see)");

    step("5. 合并后的规则检查 The rules, checked on the merged state (manager's device)");
    let before = manager.json(&["check", "--json"])?;
    manager.run(&["check", "--lang", "zh"], true)?;
    println!("    (the relay holds the same merged state and gives the same verdict:)");
    manager.run(&["check", "--relay", "--lang", "en"], true)?;
    manager.run(&["conflicts"], true)?;

    step(
        "6. 经理处理 The manager merges the duplicate, resolves the conflict, approves the discount",
    );
    let dups = manager.json(&["customer", "list", "--name", "华东精密机械", "--json"])?;
    // Keep 小张's file (he met the customer first); 小李's becomes the tombstone.
    let mut rows: Vec<&serde_json::Value> = dups
        .as_array()
        .map(|a| a.iter().collect())
        .unwrap_or_default();
    rows.sort_by_key(|c| c["owner_name"] != "小张");
    let ids: Vec<String> = rows
        .iter()
        .filter_map(|c| c["id"].as_str().map(str::to_string))
        .collect();
    let [keep, duplicate] = ids.as_slice() else {
        bail!(
            "expected the duplicate pair on the manager's device, found {}",
            ids.len()
        );
    };
    manager.run(&["customer", "merge", keep, duplicate], true)?;
    manager.run(&["resolve", &shared, "class", "--pick", "key"], true)?;
    manager.run(
        &[
            "customer",
            "class-exception",
            &shared,
            "--note",
            "战略客户，年度框架协议在谈",
        ],
        false,
    )?;
    manager.run(
        &[
            "plan",
            "set",
            &shared,
            "--text",
            "2027 年签订年度框架协议，季度回访",
            "--review",
            "2027-03-31",
        ],
        false,
    )?;
    manager.run(
        &[
            "quote",
            "approve",
            &shared,
            &quote,
            "--note",
            "批量采购 50 台，同意 22% 折扣",
        ],
        true,
    )?;

    step("7. 再次同步 Everyone syncs again");
    for d in [&manager, &zhang, &li, &admin] {
        d.run(&["sync"], false)?;
    }
    manager.run(&["sync"], false)?;
    let after = manager.json(&["check", "--json"])?;
    manager.run(&["check", "--lang", "en"], true)?;
    zhang.run(&["customer", "list"], true)?;

    step("结果 Result");
    let mut cleared = true;
    for rule in ["CUST-DUPLICATE", "CUST-CONCURRENT-EDIT", "PRICE-DISCOUNT"] {
        let (b, a) = (count(&before, rule), count(&after, rule));
        println!("    {rule:<22} before: {b}  after: {a}");
        cleared &= b > 0 && a == 0;
    }
    println!("    took {:.1} s", started.elapsed().as_secs_f64());
    if !cleared {
        bail!("the demo's findings did not appear and clear as expected");
    }
    println!("    所有问题已处理 all three problems found after the merge are resolved.");
    Ok(())
}

/// The admin's workspace (示例科技, team 总部) with a manager and two reps in 华东一组;
/// `show` prints the `init` output.
pub(crate) fn found_office(admin: &Device, show: bool) -> Result<()> {
    admin.run(
        &[
            "init",
            "--user",
            "管理员",
            "--role",
            "admin",
            "--company",
            "示例科技",
            "--team",
            "总部",
        ],
        show,
    )?;
    for (name, role) in [("王经理", "manager"), ("小张", "rep"), ("小李", "rep")] {
        admin.quiet(&[
            "user",
            "add",
            name,
            "--role",
            role,
            "--team",
            "华东一组",
            "--region",
            "华东",
        ])?;
    }
    Ok(())
}
