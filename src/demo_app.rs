//! `fieldcrm demo --app`: an office filled with a few weeks of realistic work, then the
//! rep's and the manager's `fieldcrm app`, until Ctrl-C.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use anyhow::{Context, Result};

use crate::demo::{Device, devices, exe, found_office, start_relay, step};
use crate::render::{say, tr, trf};

/// A running `fieldcrm app`; killed when the demo ends.
struct AppProc(Child);

impl Drop for AppProc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Start `fieldcrm app --no-open --port 0` for `dev`; returns it and its login URL.
fn start_app(dev: &Device) -> Result<(AppProc, String)> {
    let mut child = Command::new(exe()?)
        .args(["app", "--no-open", "--port", "0"])
        .env("FIELDCRM_HOME", &dev.home)
        .env_remove("FIELDCRM_NOW")
        .stdout(Stdio::piped())
        .spawn()
        .context(tr("无法启动 fieldcrm app", "could not start fieldcrm app"))?;
    let stdout = child
        .stdout
        .take()
        .context(tr("应用的标准输出", "app stdout"))?;
    let proc = AppProc(child);
    let mut lines = BufReader::new(stdout).lines();
    let first = lines
        .next()
        .transpose()
        .context(tr("读取应用的输出", "reading the app's output"))?
        .unwrap_or_default();
    let label = dev.label;
    let url = first
        .strip_prefix("fieldcrm app: ")
        .map(str::to_string)
        .with_context(|| {
            trf!(
                zh: "[{label}] fieldcrm app 没有输出网址：{first:?}",
                en: "[{label}] fieldcrm app printed no URL: {first:?}"
            )
        })?;
    // Keep reading, so that the app never writes into a closed pipe.
    std::thread::spawn(move || {
        for line in lines.map_while(|l| l.ok()) {
            println!("{line}");
        }
    });
    Ok((proc, url))
}

/// `YYYY-MM-DDTHH:MM`, `days` days before today at `hour` o'clock, Shanghai time.
fn days_ago(today: &jiff::Zoned, days: i64, hour: i8) -> String {
    let date = today.date().checked_sub(jiff::Span::new().days(days));
    let date = date.unwrap_or_else(|_| today.date());
    format!("{date}T{hour:02}:00")
}

/// `fieldcrm demo --app`.
pub(crate) fn run_app() -> Result<()> {
    let tmp = tempfile::tempdir().context(tr(
        "无法创建临时目录",
        "could not create a temporary directory",
    ))?;
    let dir = tmp.path();
    let [admin, manager, zhang, li] = devices(dir);
    let tz = jiff::tz::TimeZone::get("Asia/Shanghai").unwrap_or(jiff::tz::TimeZone::UTC);
    let today = jiff::Zoned::now().with_time_zone(tz);
    let ago = |days, hour| days_ago(&today, days, hour);
    let at = dir.display();
    say!(
        zh: "fieldcrm demo --app——演示工作区位于 {at}",
        en: "fieldcrm demo --app — demo workspaces in {at}"
    );

    step(tr(
        "1. 办公室、中继和四台设备",
        "1. The office, its relay and four devices",
    ));
    found_office(&admin, false)?;
    for (sku, name, line, list, floor) in [
        ("P-100", "工业传感器", "sensors", "1000", "800"),
        ("P-200", "伺服电机", "motors", "2600", "2000"),
        ("P-300", "PLC 控制器", "controllers", "5800", "4600"),
    ] {
        admin.quiet(&[
            "catalog",
            "add",
            sku,
            "--name",
            name,
            "--line",
            line,
            "--list-price",
            list,
            "--floor-price",
            floor,
        ])?;
    }
    admin.quiet(&["price-policy", "set", "--role", "rep", "--allowance", "10%"])?;
    let ws = admin
        .json(&["whoami", "--json"])?
        .get("workspace_id")
        .and_then(|w| w.as_str())
        .unwrap_or_default()
        .to_string();
    let (_relay, url) = start_relay(dir, &ws, &admin.device_key()?)?;
    admin.quiet(&["remote", "add", "office", &url])?;
    admin.quiet(&["sync"])?;
    for (d, name) in [(&manager, "王经理"), (&zhang, "小张"), (&li, "小李")] {
        d.quiet(&["join", &url])?;
        admin.quiet(&["device", "add", &d.device_key()?, "--user", name])?;
    }
    admin.quiet(&["sync"])?;
    for d in [&manager, &zhang, &li] {
        d.quiet(&["sync"])?;
    }

    step(tr("2. 几周的工作", "2. A few weeks of work"));
    let customers: [(&Device, &str, &str, &str, &str); 6] = [
        (
            &zhang,
            "华东机电有限公司",
            "key",
            "上海市浦东新区张江路 88 号",
            "2,000,000",
        ),
        (
            &zhang,
            "苏州恒通精密机械有限公司",
            "general",
            "苏州工业园区星湖街 328 号",
            "600,000",
        ),
        (
            &zhang,
            "杭州鑫源自动化科技有限公司",
            "potential",
            "杭州市滨江区江南大道 1000 号",
            "300,000",
        ),
        (
            &zhang,
            "南京博远仪器有限公司",
            "key",
            "南京市江宁区胜太路 66 号",
            "1,500,000",
        ),
        (
            &li,
            "宁波宏达电气有限公司",
            "general",
            "宁波市鄞州区天童南路 588 号",
            "800,000",
        ),
        (
            &li,
            "无锡东方新材料股份有限公司",
            "potential",
            "无锡市新吴区长江路 7 号",
            "450,000",
        ),
    ];
    for (d, name, class, address, value) in customers {
        d.quiet(&[
            "customer",
            "add",
            name,
            "--class",
            class,
            "--industry",
            "制造业",
            "--region",
            "华东",
            "--address",
            address,
            "--annual-value",
            value,
        ])?;
    }
    for (d, customer, contact, phone, title) in [
        (
            &zhang,
            "华东机电有限公司",
            "张伟",
            "13800000001",
            "采购经理",
        ),
        (
            &zhang,
            "苏州恒通精密机械有限公司",
            "陈静",
            "13912345678",
            "设备部主管",
        ),
        (
            &zhang,
            "南京博远仪器有限公司",
            "刘洋",
            "13770001234",
            "总经理",
        ),
        (&li, "宁波宏达电气有限公司", "周磊", "13605741234", "采购"),
    ] {
        d.quiet(&[
            "contact", "add", customer, contact, "--phone", phone, "--title", title,
        ])?;
    }
    let visits: [(&Device, &str, &str, String, &str); 9] = [
        (
            &zhang,
            "华东机电有限公司",
            "visit",
            ago(20, 10),
            "首次拜访，介绍工业传感器产品线",
        ),
        (
            &zhang,
            "华东机电有限公司",
            "call",
            ago(9, 15),
            "电话确认试用样品反馈良好",
        ),
        (
            &zhang,
            "华东机电有限公司",
            "visit",
            ago(2, 14),
            "现场演示，客户要求 20 台报价",
        ),
        (
            &zhang,
            "苏州恒通精密机械有限公司",
            "call",
            ago(12, 11),
            "沟通下季度伺服电机采购计划",
        ),
        (
            &zhang,
            "杭州鑫源自动化科技有限公司",
            "visit",
            ago(5, 10),
            "拜访技术部，了解产线改造需求",
        ),
        (
            &zhang,
            "南京博远仪器有限公司",
            "visit",
            ago(45, 9),
            "年度合作回顾",
        ),
        (
            &li,
            "宁波宏达电气有限公司",
            "visit",
            ago(15, 10),
            "拜访采购部，递交产品目录",
        ),
        (
            &li,
            "宁波宏达电气有限公司",
            "call",
            ago(3, 16),
            "跟进报价意向",
        ),
        (
            &li,
            "无锡东方新材料股份有限公司",
            "call",
            ago(7, 11),
            "初次电话联系，约定下周拜访",
        ),
    ];
    for (d, customer, kind, at, summary) in &visits {
        d.quiet(&[
            "interaction",
            "log",
            customer,
            "--kind",
            kind,
            "--at",
            at,
            "--summary",
            summary,
        ])?;
    }
    zhang.quiet(&[
        "opportunity",
        "add",
        "华东机电有限公司",
        "2027 年产线升级",
        "--amount",
        "1,200,000",
    ])?;
    // Within the 10% allowance, and 15% off list: needs the manager's approval.
    zhang.quiet(&[
        "quote",
        "add",
        "杭州鑫源自动化科技有限公司",
        "--product",
        "P-200",
        "--price",
        "2500",
        "--quantity",
        "4",
    ])?;
    zhang.quiet(&[
        "quote",
        "add",
        "华东机电有限公司",
        "--product",
        "P-100",
        "--price",
        "850",
        "--quantity",
        "20",
    ])?;
    zhang.quiet(&[
        "complaint",
        "open",
        "苏州恒通精密机械有限公司",
        "--severity",
        "major",
        "--summary",
        "第二批伺服电机交货延迟一周，影响客户产线",
        "--at",
        &ago(2, 9),
    ])?;
    // Both reps met the same new customer and each registered it.
    for (d, contact, phone) in [
        (&zhang, "赵敏", "13900000002"),
        (&li, "赵敏", "139-0000-0002"),
    ] {
        d.quiet(&[
            "customer",
            "add",
            "合肥智能传感科技有限公司",
            "--credit-code",
            "91340100MA2N8K3L5T",
            "--class",
            "potential",
            "--industry",
            "电子",
            "--region",
            "华东",
            "--address",
            "合肥市高新区望江西路 800 号",
        ])?;
        d.quiet(&[
            "contact",
            "add",
            "合肥智能传感科技有限公司",
            contact,
            "--phone",
            phone,
        ])?;
    }
    say!(
        zh: "    6 个城市的 6 位客户、9 次拜访与电话、2 份报价（一份超出折扣权限）、\n    一起重点投诉、一位 45 天未拜访的重要客户、一份重复档案",
        en: "    6 customers in 6 cities, 9 visits and calls, 2 quotes (one over the allowance),\n    a major complaint, a key customer not visited for 45 days, a duplicate file"
    );
    for d in [&zhang, &li, &manager, &zhang, &li] {
        d.quiet(&["sync"])?;
    }
    say!(zh: "    大家都已通过中继同步", en: "    everyone synced through the relay");

    step(tr("3. 打开应用", "3. The apps"));
    let (_zhang_app, zhang_url) = start_app(&zhang)?;
    let (_manager_app, manager_url) = start_app(&manager)?;
    // Browsers keep cookies per host, not per port: the manager's app is given as
    // `localhost` (which it accepts too), so one browser can hold both sessions.
    let manager_url = manager_url.replacen("//127.0.0.1:", "//localhost:", 1);
    say!(
        zh: "    小张（销售代表）：{zhang_url}\n    王经理（经理）：  {manager_url}",
        en: "    小张 (rep):       {zhang_url}\n    王经理 (manager): {manager_url}"
    );
    println!();
    say!(
        zh: "    在浏览器中打开这两个网址（同一窗口的两个标签页即可）。销售那份 15% 折扣的报价\n    在经理的「审批」里等待批准；在各自应用的「同步」页同步。\n    按 Ctrl-C 停止应用和中继，并删除演示数据。",
        en: "    Open both in a browser (tabs of one window are fine). The rep's quote of\n    15% off waits in the manager's 审批 inbox; sync from each app's 同步 page.\n    Ctrl-C stops the apps and the relay and deletes the demo data."
    );
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context(tr("无法启动运行时", "could not start a runtime"))?
        .block_on(tokio::signal::ctrl_c())
        .context(tr("等待 Ctrl-C", "waiting for Ctrl-C"))?;
    say!(zh: "\n    已停止；演示数据已删除", en: "\n    stopped; demo data deleted");
    Ok(())
}
