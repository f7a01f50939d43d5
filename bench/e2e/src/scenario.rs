//! The scenarios: a large workspace (import, first sync, reconnect, list, check, relay
//! findings, edit) and a small one (1% changed on each side through the relay and
//! directly, reconnect at the small size, edit with a large roster).

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

use crate::Opts;
use crate::proc::{Device, Out, Relay, Serve, Sync, str_field};

/// One line of the table.
pub struct Row {
    pub what: String,
    pub goal: String,
    pub measured: String,
    pub met: Option<bool>,
    /// The raw numbers (for `--json` and the smoke test).
    pub values: Value,
}

impl Row {
    pub fn json(&self) -> Value {
        json!({"what": self.what, "goal": self.goal, "measured": self.measured,
               "met": self.met, "values": self.values})
    }
}

fn row(
    rows: &mut Vec<Row>,
    what: String,
    goal: &str,
    measured: String,
    met: Option<bool>,
    values: Value,
) {
    let mark = match met {
        Some(true) => "met",
        Some(false) => "NOT met",
        None => "",
    };
    println!("  {what}: {measured} [{mark}]");
    rows.push(Row {
        what,
        goal: goal.into(),
        measured,
        met,
        values,
    });
}

/// Median of a list (the middle value; lists here have an odd length or are short).
fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

fn mb(kib: u64) -> f64 {
    kib as f64 * 1024.0 / 1e6
}

const CITIES: [&str; 12] = [
    "上海", "杭州", "南京", "苏州", "合肥", "宁波", "无锡", "常州", "温州", "绍兴", "嘉兴", "扬州",
];
const WORDS: [&str; 12] = [
    "华东机电",
    "恒通",
    "鑫达",
    "瑞丰",
    "宏远",
    "金桥",
    "东方",
    "联创",
    "博远",
    "天成",
    "永盛",
    "新华",
];
const KINDS: [&str; 6] = ["科技", "贸易", "实业", "机械", "电子", "化工"];
const INDUSTRIES: [&str; 5] = ["制造", "零售", "物流", "医疗", "建筑"];
const CLASSES: [&str; 3] = ["一般", "潜在", "一般"];

fn pick<'a>(list: &[&'a str], i: usize) -> &'a str {
    list.get(i % list.len().max(1)).copied().unwrap_or("")
}

/// A CSV of `n` customers numbered from `start` (Chinese headers and names).
fn gen_csv(path: &Path, start: usize, n: usize) -> Result<()> {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path)?);
    writeln!(f, "名称,行业,区域,分类,联系人,电话")?;
    for i in start..start + n {
        writeln!(
            f,
            "{}{}{}{}号有限公司,{},华东,{},联系人{},021-{:08}",
            pick(&CITIES, i),
            pick(&WORDS, i / 12),
            pick(&KINDS, i / 144),
            i,
            pick(&INDUSTRIES, i),
            pick(&CLASSES, i),
            i,
            i
        )?;
    }
    f.flush()?;
    Ok(())
}

fn founded(bin: &Path, home: PathBuf) -> Result<Device> {
    let _ = std::fs::remove_dir_all(&home);
    let d = Device::new(bin, home);
    d.ok(&[
        "init",
        "--user",
        "管理员",
        "--role",
        "admin",
        "--company",
        "示例科技",
        "--team",
        "总部",
    ])?;
    Ok(d)
}

/// A new device of the admin user, enrolled by `admin` (which pushes the roster to the
/// relay), not yet synced.
fn new_device(bin: &Path, home: PathBuf, admin: &Device, url: &str) -> Result<Device> {
    let _ = std::fs::remove_dir_all(&home);
    let d = Device::new(bin, home);
    d.ok(&["join", url])?;
    let key = d.device_key()?;
    admin.ok(&["device", "add", &key, "--user", "管理员"])?;
    Ok(d)
}

/// `fieldcrm check` (exit 0 or 1: findings are not a failure here).
fn check(d: &Device, args: &[&str]) -> Result<Out> {
    let mut a = vec!["check"];
    a.extend_from_slice(args);
    let o = crate::proc::run(d.cmd(&a))?;
    if o.code > 1 {
        bail!("fieldcrm check failed (exit {}): {}", o.code, o.stderr);
    }
    Ok(o)
}

fn customer_ids(d: &Device) -> Result<Vec<String>> {
    let (_, v) = d.json(&["customer", "list", "--json"])?;
    let rows = v
        .as_array()
        .or_else(|| v.get("rows").and_then(|r| r.as_array()))
        .context("customer list --json printed no list")?;
    rows.iter().map(|r| str_field(r, "id")).collect()
}

/// Edit `ids` one CLI call each; the per-call wall times in ms.
fn edit_each(d: &Device, ids: &[String], tag: &str) -> Result<Vec<f64>> {
    ids.iter()
        .enumerate()
        .map(|(i, id)| {
            let industry = format!("{tag}{i}");
            Ok(d.ok(&["customer", "edit", id, "--industry", &industry])?
                .ms())
        })
        .collect()
}

fn store_stats(d: &Device) -> Result<Value> {
    Ok(d.json(&["doc", "stats", "--json"])?.1)
}

pub fn run_all(o: &Opts, dir: &Path) -> Result<Vec<Row>> {
    let mut rows = Vec::new();
    large(o, dir, &mut rows)?;
    small(o, dir, &mut rows)?;
    Ok(rows)
}

fn large(o: &Opts, dir: &Path, rows: &mut Vec<Row>) -> Result<()> {
    let n = o.customers;
    let bin = o.bin.join("fieldcrm");
    println!("== {n} customers ==");
    let csv = dir.join(format!("customers-{n}.csv"));
    gen_csv(&csv, 0, n)?;
    let csv_s = csv.to_string_lossy().to_string();

    // Import, each run into a fresh workspace; the first one is kept as the admin's.
    let mut times = Vec::new();
    let mut rss = Vec::new();
    for r in 0..o.runs {
        let d = founded(&bin, dir.join(format!("import{r}")))?;
        let out = d.ok(&["customer", "import", &csv_s])?;
        times.push(out.ms());
        rss.push(mb(out.rss_kib));
        if r > 0 {
            let _ = std::fs::remove_dir_all(&d.home);
        }
    }
    let admin = Device::new(&bin, dir.join("import0"));
    let listed = customer_ids(&admin)?.len();
    if listed != n {
        bail!("import: {listed} customers listed, {n} imported");
    }
    let (t, m) = (median(times), median(rss));
    row(
        rows,
        format!("import {n} customers from CSV"),
        "≤ 10 s, RSS ≤ 300 MB",
        format!("{:.2} s, RSS {m:.0} MB", t / 1000.0),
        Some(t <= 10_000.0 && m <= 300.0),
        json!({"ms": t, "rss_mb": m, "customers": listed}),
    );

    // The relay, and the admin's upload.
    let who = admin.whoami()?;
    let relay = Relay::start(
        &o.bin.join("fieldcrm-relay"),
        &dir.join("relay-large"),
        &str_field(&who, "workspace_id")?,
        &str_field(&who, "device")?,
    )?;
    admin.ok(&["remote", "add", "office", &relay.url])?;
    relay.reset_peak();
    let (up, s) = admin.sync(None)?;
    row(
        rows,
        format!("upload of {n} documents to the relay (the admin's first sync)"),
        "",
        format!(
            "{:.2} s, {:.0} docs/s, device RSS {:.0} MB, relay peak {:.0} MB",
            up.ms() / 1000.0,
            s.docs_sent as f64 / up.wall.as_secs_f64(),
            up.mib() * 1.048_576,
            mb(relay.peak_kib())
        ),
        None,
        json!({"ms": up.ms(), "docs_sent": s.docs_sent}),
    );

    // First sync of a new device, then its cold `check`, per run. The devices are kept
    // for the `check` after a sync below (one sample per device).
    let (mut t, mut dev_rss, mut relay_rss, mut docs) = (vec![], vec![], vec![], vec![]);
    let mut cold = vec![];
    let mut cold_rss = vec![];
    let mut devices = vec![];
    for r in 0..o.runs {
        let d = new_device(&bin, dir.join(format!("new{r}")), &admin, &relay.url)?;
        relay.reset_peak();
        let (out, s) = d.sync(None)?;
        t.push(out.ms());
        dev_rss.push(mb(out.rss_kib));
        relay_rss.push(mb(relay.peak_kib()));
        docs.push(s.docs_received as f64);
        let c = check(&d, &["--json"])?;
        cold.push(c.ms());
        cold_rss.push(mb(c.rss_kib));
        devices.push(d);
    }
    let dev = Device::new(&bin, dir.join("new0"));
    let (t, d_rss, r_rss, got) = (median(t), median(dev_rss), median(relay_rss), median(docs));
    let rate = got / (t / 1000.0);
    row(
        rows,
        format!("first sync of a new device, {n} documents"),
        "≥ 5,000 docs/s, device RSS ≤ 400 MB, relay RSS ≤ 400 MB",
        format!(
            "{:.2} s = {rate:.0} docs/s ({got:.0} received), device RSS {d_rss:.0} MB, relay peak {r_rss:.0} MB",
            t / 1000.0
        ),
        Some(rate >= 5000.0 && d_rss <= 400.0 && r_rss <= 400.0),
        json!({"ms": t, "docs": got, "docs_per_s": rate, "device_rss_mb": d_rss, "relay_rss_mb": r_rss}),
    );

    reconnect(o, &dev, n, rows)?;

    // `customer list`.
    let (mut t, mut m, mut lines) = (vec![], vec![], 0);
    for _ in 0..o.runs {
        let out = dev.ok(&["customer", "list"])?;
        lines = out.stdout.lines().count();
        t.push(out.ms());
        m.push(mb(out.rss_kib));
    }
    if lines < n {
        bail!("customer list printed {lines} lines for {n} customers");
    }
    let (t, m) = (median(t), median(m));
    row(
        rows,
        format!("`customer list`, {n} customers"),
        "≤ 100 ms, RSS ≤ 60 MB",
        format!("{t:.0} ms, RSS {m:.0} MB ({lines} lines)"),
        Some(t <= 100.0 && m <= 60.0),
        json!({"ms": t, "rss_mb": m, "lines": lines}),
    );

    // `check`: cold (first on a freshly synced device), then after a 1% sync.
    let (c, c_rss) = (median(cold), median(cold_rss));
    let mut warm = vec![];
    for _ in 0..o.runs {
        warm.push(check(&dev, &["--json"])?.ms());
    }
    let warm = median(warm);
    let more = (n / 100).max(1);
    let csv2 = dir.join(format!("more-{more}.csv"));
    gen_csv(&csv2, n, more)?;
    admin.ok(&["customer", "import", &csv2.to_string_lossy()])?;
    admin.sync(None)?;
    // Each device synced above takes the new documents and checks: a sync cannot be
    // repeated on one device, so the runs are the devices.
    let (mut after, mut after_rss, mut received) = (vec![], vec![], vec![]);
    for (r, d) in devices.iter().enumerate() {
        let (_, s) = d.sync(None)?;
        // The first device's count is the row's (the later ones may also take what the
        // earlier devices wrote since their first sync).
        received.push(s.docs_received);
        let out = check(d, &["--json"])?;
        after.push(out.ms());
        after_rss.push(out.mib() * 1.048_576);
        if r > 0 {
            let _ = std::fs::remove_dir_all(&d.home);
        }
    }
    let (after, after_rss) = (median(after), median(after_rss));
    let first = received.first().copied().unwrap_or_default();
    let received = match (received.iter().min(), received.iter().max()) {
        (Some(a), Some(b)) if a != b => format!("{a}-{b}"),
        _ => first.to_string(),
    };
    row(
        rows,
        format!("`check`, {n} customers"),
        "cold ≤ 5 s and ≤ 500 MB; after a sync that changed 1%, ≤ 300 ms",
        format!(
            "cold {:.2} s, RSS {c_rss:.0} MB; warm {warm:.0} ms; after a sync of {received} new documents {after:.0} ms, RSS {after_rss:.0} MB (median of {} devices)",
            c / 1000.0,
            devices.len(),
        ),
        Some(c <= 5000.0 && c_rss <= 500.0 && after <= 300.0),
        json!({"cold_ms": c, "cold_rss_mb": c_rss, "warm_ms": warm, "after_ms": after, "after_rss_mb": after_rss, "after_docs": first}),
    );

    // The snapshot cache against the store.
    let st = store_stats(&dev)?;
    let bytes = |t: &str| {
        st.get("tables")
            .and_then(Value::as_array)
            .and_then(|ts| {
                ts.iter()
                    .find(|x| x.get("name").and_then(Value::as_str) == Some(t))
            })
            .and_then(|x| x.get("stored_bytes"))
            .and_then(Value::as_u64)
            .unwrap_or(0)
    };
    let cache = bytes("derived-v1");
    let docs_b = bytes("docs-v1") + bytes("changes-v1");
    let file = dev.file_bytes("workspace.redb");
    let state = st
        .get("engine_state_bytes")
        .and_then(Value::as_u64)
        .unwrap_or(0);
    row(
        rows,
        format!("snapshot cache, {n} customers"),
        "≤ the size of the store",
        format!(
            "cache {:.1} MB, documents and changes {:.1} MB, file {:.1} MB; the rules' state beside it {:.1} MB",
            cache as f64 / 1e6,
            docs_b as f64 / 1e6,
            file as f64 / 1e6,
            state as f64 / 1e6
        ),
        Some(cache <= docs_b),
        json!({"cache_bytes": cache, "docs_bytes": docs_b, "file_bytes": file, "engine_state_bytes": state, "tables": st.get("tables")}),
    );

    // Relay findings.
    let (mut t, mut peak) = (vec![], vec![]);
    for _ in 0..o.runs {
        relay.reset_peak();
        t.push(check(&admin, &["--relay", "--json"])?.ms());
        peak.push(mb(relay.peak_kib()));
    }
    let (t, p) = (median(t), median(peak));
    row(
        rows,
        format!("relay findings (`check --relay`), {n} customers"),
        "≤ 500 MB resident, incremental after each sync",
        format!(
            "{t:.0} ms, relay peak {p:.0} MB, resident after {:.0} MB",
            mb(relay.rss_kib())
        ),
        Some(p <= 500.0),
        json!({"ms": t, "relay_peak_mb": p}),
    );

    // One CLI edit at this size.
    let ids: Vec<String> = customer_ids(&admin)?.into_iter().take(o.runs * 7).collect();
    let p50 = median(edit_each(&admin, &ids, "行业甲")?);
    row(
        rows,
        format!("one CLI edit, {n} customers"),
        "p50 ≤ 3 ms",
        format!("p50 {p50:.1} ms ({} edits, whole process)", ids.len()),
        Some(p50 <= 3.0),
        json!({"p50_ms": p50}),
    );
    Ok(())
}

fn reconnect(o: &Opts, dev: &Device, n: usize, rows: &mut Vec<Row>) -> Result<()> {
    let (mut wall, mut session, mut last) = (vec![], vec![], Sync::default());
    for _ in 0..o.runs {
        let (out, s) = dev.sync(None)?;
        let v: Value = serde_json::from_str(out.stdout.trim())?;
        wall.push(out.ms());
        session.push(v.get("elapsed_ms").and_then(Value::as_f64).unwrap_or(0.0));
        last = s;
    }
    let (w, s) = (median(wall), median(session));
    row(
        rows,
        format!("reconnect, nothing changed, {n} documents"),
        "≤ 20 ms, ≤ 4 round trips, flat in N",
        format!(
            "session {s:.1} ms (whole command {w:.0} ms), {} B, {} messages, {} turns",
            last.bytes, last.messages, last.turns
        ),
        Some(s <= 20.0 && last.turns <= 4),
        json!({"session_ms": s, "wall_ms": w, "bytes": last.bytes, "messages": last.messages, "turns": last.turns, "docs": last.docs_received + last.docs_sent}),
    );
    Ok(())
}

fn small(o: &Opts, dir: &Path, rows: &mut Vec<Row>) -> Result<()> {
    let n = o.small;
    let bin = o.bin.join("fieldcrm");
    println!("== {n} customers ==");
    let csv = dir.join(format!("customers-{n}.csv"));
    gen_csv(&csv, 0, n)?;
    let a = founded(&bin, dir.join("small-a"))?;
    a.ok(&["customer", "import", &csv.to_string_lossy()])?;
    let who = a.whoami()?;
    let relay = Relay::start(
        &o.bin.join("fieldcrm-relay"),
        &dir.join("relay-small"),
        &str_field(&who, "workspace_id")?,
        &str_field(&who, "device")?,
    )?;
    a.ok(&["remote", "add", "office", &relay.url])?;
    a.sync(None)?;
    let b = new_device(&bin, dir.join("small-b"), &a, &relay.url)?;
    b.sync(None)?;
    reconnect(o, &b, n, rows)?;

    let ids = customer_ids(&a)?;
    let k = (n / 100).max(1);
    let slice = |i: usize| ids.get(i * k..(i + 1) * k).unwrap_or_default();

    // 1% on each side, through the relay.
    edit_each(&a, slice(0), "甲")?;
    edit_each(&b, slice(1), "乙")?;
    let (_, a1) = a.sync(None)?;
    let (_, b1) = b.sync(None)?;
    let (_, a2) = a.sync(None)?;
    let total = a1.bytes + b1.bytes + a2.bytes;
    let new = a1.automerge_bytes_sent + b1.automerge_bytes_sent;
    // Each new change crosses two links (device → relay → device).
    let budget = 1.5 * (2 * new) as f64 + 100.0 * (2 * k * 2) as f64;
    row(
        rows,
        format!("1% changed on each side ({k} + {k} of {n}), relay"),
        "total ≤ 1.5× the new changes + 100 B per changed document",
        format!(
            "{total} B in 3 syncs = {:.2}× the new changes crossing ({} B twice); budget {budget:.0} B; {} messages",
            total as f64 / (2 * new).max(1) as f64,
            new,
            a1.messages + b1.messages + a2.messages
        ),
        Some(total as f64 <= budget),
        json!({"bytes": total, "new_change_bytes": new, "budget": budget, "received_b": b1.docs_received, "received_a": a2.docs_received}),
    );

    // 1% on each side, directly.
    edit_each(&a, slice(2), "丙")?;
    edit_each(&b, slice(3), "丁")?;
    let serve = Serve::start(&b)?;
    let (_, s) = a.sync(Some(&serve.ticket.clone()))?;
    let sb = serve.finish()?;
    let new = s.automerge_bytes_sent + sb.automerge_bytes_sent;
    let budget = 1.5 * new as f64 + 100.0 * (2 * k) as f64;
    row(
        rows,
        format!("1% changed on each side ({k} + {k} of {n}), direct"),
        "total ≤ 1.5× the new changes + 100 B per changed document",
        format!(
            "{} B = {:.2}× the new changes ({new} B); budget {budget:.0} B; {} messages",
            s.bytes,
            s.bytes as f64 / new.max(1) as f64,
            s.messages
        ),
        Some(s.bytes as f64 <= budget),
        json!({"bytes": s.bytes, "new_change_bytes": new, "budget": budget, "received": s.docs_received, "sent": s.docs_sent}),
    );

    // One CLI edit with a small and a large roster.
    let some = |from: usize| -> Vec<String> {
        ids.iter()
            .cycle()
            .skip(from)
            .take(o.runs * 7)
            .cloned()
            .collect()
    };
    let few = median(edit_each(&a, &some(4 * k), "戊")?);
    let started = std::time::Instant::now();
    for i in 0..o.users {
        a.ok(&[
            "user",
            "add",
            &format!("销售{i}"),
            "--role",
            "rep",
            "--team",
            "华东一组",
        ])?;
    }
    let adding = started.elapsed().as_secs_f64();
    let many = median(edit_each(&a, &some(5 * k), "己")?);
    row(
        rows,
        format!(
            "one CLI edit, {n} customers, roster of 1 and of {} users",
            o.users + 1
        ),
        "p50 ≤ 3 ms with one durable commit, independent of roster size",
        format!(
            "p50 {few:.1} ms with 1 user, {many:.1} ms with {} (adding them took {adding:.1} s)",
            o.users + 1
        ),
        Some(few <= 3.0 && many <= 3.0),
        json!({"p50_ms_1": few, "p50_ms_many": many, "users": o.users + 1}),
    );
    Ok(())
}

pub fn markdown(o: &Opts, rows: &[Row]) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "fieldcrm-e2e: {} / {} customers, median of {} runs, release binaries from {}",
        o.customers,
        o.small,
        o.runs,
        o.bin.display()
    );
    let _ = writeln!(s);
    let _ = writeln!(s, "| what | goal | measured | |");
    let _ = writeln!(s, "|---|---|---|---|");
    for r in rows {
        let mark = match r.met {
            Some(true) => "met",
            Some(false) => "**not met**",
            None => "",
        };
        let _ = writeln!(s, "| {} | {} | {} | {mark} |", r.what, r.goal, r.measured);
    }
    s
}
