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

use crate::render::{say, tr, trf};

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
    std::env::current_exe().context(tr(
        "找不到 fieldcrm 可执行文件",
        "cannot find the fieldcrm executable",
    ))
}

/// `--lang` for the demo's own `fieldcrm` commands: the demo's language.
fn lang_arg() -> [&'static str; 2] {
    ["--lang", tr("zh", "en")]
}

fn relay_exe() -> Result<PathBuf> {
    let p = exe()?.with_file_name(format!("fieldcrm-relay{}", std::env::consts::EXE_SUFFIX));
    if !p.exists() {
        let path = p.display();
        bail!(trf!(
            zh: "演示需要与 fieldcrm 放在一起的中继程序（{path}）；请用 `cargo build --workspace` 同时构建二者",
            en: "the demo needs the relay binary next to fieldcrm ({path}); build both with `cargo build --workspace`"
        ));
    }
    Ok(p)
}

pub(crate) fn step(title: &str) {
    println!("\n{}", crate::render::bold(&format!("== {title}")));
}

impl Device {
    /// Run a fieldcrm command on this device; print it and (if `show`) its output.
    pub(crate) fn run(&self, args: &[&str], show: bool) -> Result<String> {
        let command = args.join(" ");
        let out = Command::new(exe()?)
            .args(lang_arg())
            .args(args)
            .env("FIELDCRM_HOME", &self.home)
            .env_remove("FIELDCRM_NOW")
            .output()
            .with_context(
                || trf!(zh: "无法运行 fieldcrm {command}", en: "could not run fieldcrm {command}"),
            )?;
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
            let (label, stderr) = (self.label, String::from_utf8_lossy(&out.stderr));
            bail!(trf!(
                zh: "[{label}] fieldcrm {command} 失败：\n{stdout}{stderr}",
                en: "[{label}] fieldcrm {command} failed:\n{stdout}{stderr}"
            ));
        }
        Ok(stdout)
    }

    pub(crate) fn quiet(&self, args: &[&str]) -> Result<String> {
        self.run(args, false)
    }

    pub(crate) fn json(&self, args: &[&str]) -> Result<serde_json::Value> {
        let out = self.run(args, false)?;
        let command = args.join(" ");
        serde_json::from_str(&out).with_context(|| {
            trf!(
                zh: "fieldcrm {command} 没有输出 JSON",
                en: "fieldcrm {command} did not print JSON"
            )
        })
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
            .context(tr("没有输出 ID", "no ID printed"))
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
        .context(tr(
            "无法运行 fieldcrm-relay init",
            "could not run fieldcrm-relay init",
        ))?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        bail!(trf!(
            zh: "fieldcrm-relay init 失败：{stderr}",
            en: "fieldcrm-relay init failed: {stderr}"
        ));
    }
    println!(
        "[{}] $ fieldcrm-relay init --workspace {} --admin-device {}…",
        tr("办公室", "office"),
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
        .context(tr(
            "无法启动 fieldcrm-relay",
            "could not start fieldcrm-relay",
        ))?;
    let stdout = child
        .stdout
        .take()
        .context(tr("中继的标准输出", "relay stdout"))?;
    let proc = RelayProc(child);
    let mut url = None;
    for line in BufReader::new(stdout).lines() {
        let line = line.context(tr("读取中继的输出", "reading the relay's output"))?;
        if let Some(u) = line.strip_prefix("http: ") {
            url = Some(u.to_string());
        }
        if line == "ready" {
            break;
        }
    }
    let url = url.context(tr(
        "中继没有输出其地址",
        "the relay did not print its address",
    ))?;
    say!(
        zh: "[办公室] $ fieldcrm-relay serve   → 监听 {url}",
        en: "[office] $ fieldcrm-relay serve   → listening on {url}"
    );
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
    let tmp = tempfile::tempdir().context(tr(
        "无法创建临时目录",
        "could not create a temporary directory",
    ))?;
    let dir = tmp.path();
    let [admin, manager, zhang, li] = devices(dir);
    let at = dir.display();
    say!(
        zh: "fieldcrm 演示——一切都在本机运行，位于 {at}",
        en: "fieldcrm demo — everything runs on this machine, in {at}"
    );

    step(tr(
        "1. 办公室建立工作区和中继",
        "1. The office sets up a workspace and its relay",
    ));
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

    step(tr(
        "2. 每位员工的设备加入，管理员登记设备",
        "2. Each person's device joins; the admin enrolls it",
    ));
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

    step(tr(
        "3. 大家离线工作（没有网络）",
        "3. Everyone works offline (no network)",
    ));
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
    say!(
        zh: "    （小张和小李拜访了同一位新客户，各自建了档案）",
        en: "    (小张 and 小李 both met the same new customer and each created its file)"
    );
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
    say!(
        zh: "    （小张和王经理各自离线，把乙方电气的分类设成了不同的值）",
        en: "    (小张 and 王经理 set the class of 乙方电气 differently, each offline)"
    );
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

    step(tr(
        "4. 大家通过中继同步",
        "4. Everyone syncs through the relay",
    ));
    for d in [&zhang, &li, &manager, &zhang, &li] {
        d.run(&["sync"], false)?;
    }
    say!(
        zh: "    （每台设备都已同步；中继保存并转发了各人可见的内容）",
        en: "    (each device synced; the relay stored and forwarded what each may see)"
    );

    step(tr(
        "5. 在合并后的状态上检查规则（经理的设备）",
        "5. The rules, checked on the merged state (manager's device)",
    ));
    let before = manager.json(&["check", "--json"])?;
    manager.run(&["check"], true)?;
    say!(
        zh: "    （中继持有同样的合并状态，结论相同：）",
        en: "    (the relay holds the same merged state and gives the same verdict:)"
    );
    manager.run(&["check", "--relay"], true)?;
    manager.run(&["conflicts"], true)?;

    step(tr(
        "6. 经理合并重复档案、裁定冲突、批准折扣",
        "6. The manager merges the duplicate, resolves the conflict, approves the discount",
    ));
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
        let n = ids.len();
        bail!(trf!(
            zh: "经理的设备上应有一对重复档案，实际找到 {n} 份",
            en: "expected the duplicate pair on the manager's device, found {n}"
        ));
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

    step(tr("7. 大家再次同步", "7. Everyone syncs again"));
    for d in [&manager, &zhang, &li, &admin] {
        d.run(&["sync"], false)?;
    }
    manager.run(&["sync"], false)?;
    let after = manager.json(&["check", "--json"])?;
    manager.run(&["check"], true)?;
    zhang.run(&["customer", "list"], true)?;

    step(tr("结果", "Result"));
    let mut cleared = true;
    for rule in ["CUST-DUPLICATE", "CUST-CONCURRENT-EDIT", "PRICE-DISCOUNT"] {
        let (b, a) = (count(&before, rule), count(&after, rule));
        say!(
            zh: "    {rule:<22} 之前：{b}  之后：{a}",
            en: "    {rule:<22} before: {b}  after: {a}"
        );
        cleared &= b > 0 && a == 0;
    }
    let secs = started.elapsed().as_secs_f64();
    say!(zh: "    用时 {secs:.1} 秒", en: "    took {secs:.1} s");
    if !cleared {
        bail!(tr(
            "演示中的问题没有按预期出现并被清除",
            "the demo's findings did not appear and clear as expected"
        ));
    }
    say!(
        zh: "    合并后发现的三个问题都已处理。",
        en: "    all three problems found after the merge are resolved."
    );
    Ok(())
}

/// The demo's four devices: the admin's, the manager's and the two reps', labelled in
/// the demo's language.
pub(crate) fn devices(dir: &Path) -> [Device; 4] {
    let dev = |label, name: &str| Device {
        label,
        home: dir.join(name),
    };
    [
        dev(tr("管理员", "admin"), "admin"),
        dev(tr("王经理", "王经理 manager"), "manager"),
        dev(tr("小张", "小张 rep"), "zhang"),
        dev(tr("小李", "小李 rep"), "li"),
    ]
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
