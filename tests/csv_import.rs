//! CSV import (`customer import`, `channel import`) and CSV/JSON export (`export`).

use std::path::PathBuf;

use crate::support::{Rep, manager};

fn example(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("examples")
        .join(name)
}

fn write(rep: &Rep, name: &str, text: &str) -> String {
    let p = rep.home.with_file_name(name);
    std::fs::write(&p, text).unwrap();
    p.to_str().unwrap().to_string()
}

#[test]
fn imports_the_chinese_example_and_exports_it_again() {
    let rep = manager();
    let out = rep.ok(&[
        "customer",
        "import",
        example("customers.csv").to_str().unwrap(),
    ]);
    assert!(out.contains("imported 4 customer(s)"), "{out}");
    let c = rep
        .run(&["customer", "show", "华东精密机械有限公司", "--json"])
        .json();
    assert_eq!(c["class"], "key");
    assert_eq!(c["annual_value"], 200_000_000);
    assert_eq!(c["credit_code"], "91310115MA1H7XK21Q");
    assert_eq!(c["team"], "华东一组");
    let contact = c["contacts"]
        .as_object()
        .unwrap()
        .values()
        .next()
        .unwrap()
        .clone();
    assert_eq!(contact["name"], "张伟");
    assert_eq!(contact["phone"], "13800000001");
    let c = rep
        .run(&["customer", "show", "杭州云帆物流有限公司", "--json"])
        .json();
    assert_eq!(c["address"], "杭州市余杭区文一西路 1500 号, 3 号楼");
    assert_eq!(c["class"], "potential");
    let c = rep
        .run(&["customer", "show", "南京金陵医疗器械有限公司", "--json"])
        .json();
    assert_eq!(c["annual_value"], 350_000_050);

    let out = rep.ok(&[
        "channel",
        "import",
        example("channels.csv").to_str().unwrap(),
    ]);
    assert!(out.contains("imported 3 channel(s)"), "{out}");
    let ch = rep
        .run(&["channel", "show", "宁波东海五金经销部", "--json"])
        .json();
    assert_eq!(ch["channel_kind"], "dealer");
    assert_eq!(
        ch["product_lines"]
            .as_object()
            .unwrap()
            .keys()
            .collect::<Vec<_>>(),
        vec!["pumps", "valves"]
    );

    // Export: CSV with the same fields import reads, and JSON.
    let csv = rep.ok(&["export", "customers"]);
    // Redirected output may be opened in Excel: it starts with a byte-order mark.
    let csv = csv
        .strip_prefix('\u{feff}')
        .expect("a BOM when not on a terminal");
    assert!(
        rep.ok(&["export", "customers", "--no-bom"])
            .starts_with("id,")
    );
    let first = csv.lines().next().unwrap();
    assert_eq!(
        first,
        "id,name,credit_code,industry,region,address,class,annual_value,owner,team"
    );
    assert!(
        csv.contains("\"杭州市余杭区文一西路 1500 号, 3 号楼\""),
        "{csv}"
    );
    assert!(csv.contains("\"3,500,000.50\""), "{csv}");
    let json: serde_json::Value =
        serde_json::from_str(&rep.ok(&["export", "channels", "--format", "json"])).unwrap();
    assert_eq!(json.as_array().unwrap().len(), 3);

    // The exported file (with BOM) imports into another workspace.
    let file = rep.home.with_file_name("out.csv");
    rep.ok(&["export", "customers", "-o", file.to_str().unwrap()]);
    assert!(
        std::fs::read(&file)
            .unwrap()
            .starts_with("\u{feff}id,".as_bytes())
    );
    let other = Rep::at(&rep.home.with_file_name("other"));
    other.ok(&["init", "--user", "王经理", "--role", "manager"]);
    let out = other.ok(&["customer", "import", file.to_str().unwrap()]);
    assert!(out.contains("imported 4 customer(s)"), "{out}");
    // Importing again: every name exists, nothing is written.
    other
        .run(&["customer", "import", file.to_str().unwrap()])
        .fails_with("already exists");
    assert_eq!(
        other
            .run(&["customer", "list", "--json"])
            .json()
            .as_array()
            .unwrap()
            .len(),
        4
    );
}

#[test]
fn english_headers_without_bom() {
    let rep = manager();
    let f = write(
        &rep,
        "en.csv",
        "Name,Class,Annual_Value,Region\r\nAcme Ltd,general,1000,华北\r\n",
    );
    rep.ok(&["customer", "import", &f]);
    let c = rep.run(&["customer", "show", "Acme Ltd", "--json"]).json();
    assert_eq!(c["class"], "general");
    assert_eq!(c["annual_value"], 100_000);
    assert_eq!(c["region"], "华北");
}

#[test]
fn a_bad_row_fails_the_whole_import_with_its_line_number() {
    let rep = manager();
    let f = write(
        &rep,
        "bad.csv",
        "名称,分类,年销售额,电话,联系人\n甲公司,重要,100,13800000001,张三\n乙公司,超级,100,,\n丙公司,一般,很多,,\n丁公司,一般,1,abc,李四\n,一般,1,,\n甲公司,一般,1,,\n戊公司,一般\n",
    );
    let run = rep.run(&["customer", "import", &f]);
    for needle in [
        "line 3: class `超级`",
        "line 4: annual value",
        "line 5: `abc` is not a phone number",
        "line 6: the name is empty",
        "line 7: customer `甲公司` already appears on line 2",
        "line 8: 2 fields, the header has 5",
        "nothing was imported",
    ] {
        assert!(run.stderr.contains(needle), "{needle}: {}", run.stderr);
    }
    assert_ne!(run.code, 0);
    assert_eq!(
        rep.run(&["customer", "list", "--json"]).json(),
        serde_json::json!([]),
        "all or nothing"
    );

    let f = write(&rep, "cols.csv", "名称,颜色\n甲公司,红\n");
    rep.run(&["customer", "import", &f])
        .fails_with("unknown column `颜色`");
    let f = write(&rep, "noname.csv", "行业\n制造业\n");
    rep.run(&["customer", "import", &f])
        .fails_with("no name column");
    let f = write(&rep, "empty.csv", "");
    rep.run(&["customer", "import", &f]).fails_with("empty");
    let p = rep.home.with_file_name("gbk.csv");
    std::fs::write(&p, [0xc3, 0xfb, 0xb3, 0xc6, b'\n']).unwrap();
    rep.run(&[
        "customer",
        "import",
        p.to_str().unwrap(),
        "--encoding",
        "utf-8",
    ])
    .fails_with("not UTF-8");
    let junk = rep.home.with_file_name("junk.csv");
    std::fs::write(&junk, [0xff, 0xfe, 0xff, 0x00, 0xff]).unwrap();
    rep.run(&["customer", "import", junk.to_str().unwrap()])
        .fails_with("not UTF-8 or GBK");
    let f = write(&rep, "ch.csv", "名称,类型\n某渠道,飞船\n");
    rep.run(&["channel", "import", &f])
        .fails_with("line 2: kind `飞船`");
}

#[test]
fn gbk_round_trips_a_thousand_chinese_customers_exactly() {
    let a = manager();
    let names: Vec<String> = (0..1000)
        .map(|i| format!("華東精密機械{i}号（上海）有限公司"))
        .collect();
    let csv: String = std::iter::once("名称,分类,区域\n".to_string())
        .chain(names.iter().map(|n| format!("{n},一般,华东\n")))
        .collect();
    let file = write(&a, "in.csv", &csv);
    a.ok(&["customer", "import", &file]);
    let gbk = a.home.with_file_name("gbk.csv");
    a.ok(&[
        "export",
        "customers",
        "--encoding",
        "gbk",
        "-o",
        gbk.to_str().unwrap(),
    ]);
    let bytes = std::fs::read(&gbk).unwrap();
    assert!(String::from_utf8(bytes.clone()).is_err(), "written as GBK");
    // A fresh workspace reads it back (auto-detected) with every name intact.
    let b = manager();
    b.ok(&["customer", "import", gbk.to_str().unwrap()]);
    let listed = b.run(&["customer", "list", "--json"]).json();
    let mut got: Vec<String> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_string())
        .collect();
    let mut want = names.clone();
    got.sort();
    want.sort();
    assert_eq!(got, want);
    // UTF-8 to a file carries a byte-order mark for Excel; an emoji cannot go to GBK.
    let utf8 = a.home.with_file_name("utf8.csv");
    a.ok(&["export", "customers", "-o", utf8.to_str().unwrap()]);
    assert!(
        std::fs::read(&utf8)
            .unwrap()
            .starts_with("\u{feff}".as_bytes())
    );
    a.ok(&["customer", "add", "笑脸😀公司"]);
    a.run(&["export", "customers", "--encoding", "gbk"])
        .fails_with("GBK");
}

#[test]
fn xlsx_round_trips_a_thousand_chinese_customers_exactly() {
    let a = manager();
    // Traditional characters, full-width digits, emoji in the address (the free text a
    // customer export carries), a comma and quotes.
    let csv: String = std::iter::once("名称,分类,区域,地址,年销售额,统一社会信用代码\n".to_string())
        .chain((0..1000).map(|i| {
            let wide: String = i
                .to_string()
                .chars()
                .map(|c| char::from_u32(c as u32 - '0' as u32 + 0xFF10).unwrap())
                .collect();
            format!(
                "華東精密機械{wide}号（上海）有限公司,{},華東,\"上海市浦東新區{i}號 😀🏭, \"\"三樓\"\"\",{}.5{},9131011{i:04}MA1H7XK2\n",
                if i % 2 == 0 { "重要" } else { "一般" },
                i * 1000,
                i % 10
            )
        }))
        .collect();
    let file = write(&a, "in.csv", &csv);
    a.ok(&["customer", "import", &file]);
    let xlsx = a.home.with_file_name("customers.xlsx");
    // `-o NAME.xlsx` picks the format; `--format xlsx` says it outright.
    a.ok(&["export", "customers", "-o", xlsx.to_str().unwrap()]);
    let bytes = std::fs::read(&xlsx).unwrap();
    assert!(
        bytes.starts_with(b"PK\x03\x04"),
        "a zip archive, as .xlsx is"
    );
    let b = manager();
    let out = b.ok(&["customer", "import", xlsx.to_str().unwrap()]);
    assert!(out.contains("imported 1000 customer(s)"), "{out}");
    let rows = |rep: &Rep| {
        let mut rows: Vec<serde_json::Value> = rep
            .run(&["export", "customers", "--format", "json"])
            .json()
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                let mut r = r.clone();
                r.as_object_mut().unwrap().remove("id");
                r
            })
            .collect();
        rows.sort_by_key(|r| r["name"].as_str().unwrap().to_string());
        rows
    };
    let (want, got) = (rows(&a), rows(&b));
    assert_eq!(want.len(), 1000);
    assert!(want[0]["address"].as_str().unwrap().contains("😀🏭"));
    assert_eq!(got, want, "every cell back exactly");
    // Also through --format and standard output (redirected).
    let piped = a.run(&["export", "channels", "--format", "xlsx"]);
    assert_eq!(piped.code, 0, "{}", piped.stderr);
}

#[test]
fn a_bad_xlsx_is_refused_by_row_and_writes_nothing() {
    let a = manager();
    a.ok(&["customer", "add", "甲公司"]);
    a.ok(&["customer", "add", "乙公司"]);
    let xlsx = a.home.with_file_name("c.xlsx");
    a.ok(&[
        "export",
        "customers",
        "--format",
        "xlsx",
        "-o",
        xlsx.to_str().unwrap(),
    ]);
    // Importing its own customers again: both rows named, nothing saved.
    a.ok(&["customer", "add", "丙公司"]);
    let run = a.run(&["customer", "import", xlsx.to_str().unwrap()]);
    assert_ne!(run.code, 0);
    assert!(run.stderr.contains("row 2: customer `"), "{}", run.stderr);
    assert!(run.stderr.contains("row 3: customer `"), "{}", run.stderr);
    assert!(
        run.stderr.contains("nothing was imported"),
        "{}",
        run.stderr
    );
    assert_eq!(a.customer_count(), 3);
    // A damaged file is not an Excel file.
    let mut bytes = std::fs::read(&xlsx).unwrap();
    bytes.truncate(bytes.len() / 2);
    let cut = a.home.with_file_name("cut.xlsx");
    std::fs::write(&cut, &bytes).unwrap();
    a.run(&["customer", "import", cut.to_str().unwrap()])
        .fails_with("not a valid Excel (.xlsx) file");
    a.run(&["channel", "import", cut.to_str().unwrap()])
        .fails_with("not a valid Excel (.xlsx) file");
    assert_eq!(a.customer_count(), 3);
}

#[test]
fn an_xlsx_over_the_limits_is_refused_naming_file_and_limit() {
    let a = manager();
    // A sheet of 200,001 rows: a header and one customer far below it.
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    ws.write_string(0, 0, "名称").unwrap();
    ws.write_string(200_000, 0, "甲公司").unwrap();
    let rows = a.home.with_file_name("rows.xlsx");
    wb.save(&rows).unwrap();
    let rows = rows.to_str().unwrap();
    let run = a.run(&["customer", "import", rows]);
    assert_ne!(run.code, 0, "{}", run.stdout);
    assert!(
        run.stderr.contains(&format!(
            "the first sheet of the Excel file {rows} has 200001 rows, over the import limit \
             of 200000 rows"
        )),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("nothing was imported"),
        "{}",
        run.stderr
    );
    let run = a.run(&["--lang", "zh", "channel", "import", rows]);
    assert_ne!(run.code, 0);
    assert!(
        run.stderr.contains("有 200001 行，超过导入上限 200000 行"),
        "{}",
        run.stderr
    );
    assert_eq!(a.customer_count(), 0);
    // Over 64 MiB on disk: refused before it is read (a sparse file takes no room).
    let huge = a.home.with_file_name("huge.xlsx");
    std::fs::File::create(&huge)
        .unwrap()
        .set_len((64 << 20) + 1)
        .unwrap();
    let huge = huge.to_str().unwrap();
    a.run(&["customer", "import", huge])
        .fails_with("is 65 MiB, over the import limit of 64 MiB");
    let run = a.run(&["--lang", "zh", "customer", "import", huge]);
    assert!(
        run.stderr
            .contains(&format!("Excel 文件 {huge} 有 65 MiB，超过导入上限 64 MiB")),
        "{}",
        run.stderr
    );
    assert_eq!(a.customer_count(), 0);
}

#[test]
fn reports_go_to_excel_and_csv_files() {
    let a = manager();
    a.team_target("50000");
    let xlsx = a.home.with_file_name("targets.xlsx");
    a.ok(&[
        "report",
        "targets",
        "--format",
        "xlsx",
        "-o",
        xlsx.to_str().unwrap(),
    ]);
    assert!(std::fs::read(&xlsx).unwrap().starts_with(b"PK\x03\x04"));
    let csv = a.run(&["report", "targets", "--format", "csv"]);
    assert_eq!(csv.code, 0, "{}", csv.stderr);
    assert!(
        csv.stdout.contains("华东一组,team,2026-11,50000"),
        "{}",
        csv.stdout
    );
    let json = a.run(&["report", "pipeline", "--format", "json"]).json();
    assert!(json.is_array());
}

#[test]
fn the_customer_table_lists_in_the_same_order_as_json_by_name_then_id() {
    // Enough rows to land in every part of the ID space the table is read in, with
    // repeated names (ordered by ID), traditional characters, full-width digits and emoji.
    let rep = manager();
    let mut csv = String::from("名称,区域\n");
    for i in 0..48 {
        let name = match i % 6 {
            0 => format!("Zeta {i}"),
            1 => format!("華東貿易{i}"),
            2 => format!("公司１２{i}"),
            3 => format!("🎉派对{i}"),
            4 => format!("Acme {i}"),
            _ => format!("华东机械{}", 47 - i),
        };
        csv.push_str(&format!("{name},华东\n"));
    }
    let file = write(&rep, "many.csv", &csv);
    rep.ok(&["customer", "import", &file]);
    for _ in 0..6 {
        rep.ok(&["customer", "add", "重名公司"]);
    }
    let json = rep.run(&["customer", "list", "--json"]).json();
    let want: Vec<(String, String)> = json
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let id = r["id"].as_str().unwrap();
            (id[..8].to_string(), r["name"].as_str().unwrap().to_string())
        })
        .collect();
    assert_eq!(want.len(), 54);
    let table = rep.ok(&["customer", "list"]);
    let got: Vec<(String, String)> = table
        .lines()
        .skip(1)
        .filter_map(|l| {
            let mut cells = l.split("  ").filter(|c| !c.is_empty()).map(str::trim);
            Some((cells.next()?.to_string(), cells.next()?.to_string()))
        })
        .collect();
    assert_eq!(got, want, "{table}");
    let same: Vec<&String> = want
        .iter()
        .filter(|(_, n)| n == "重名公司")
        .map(|(id, _)| id)
        .collect();
    assert_eq!(same.len(), 6);
    assert!(same.is_sorted(), "equal names in ID order: {same:?}");
}

#[test]
fn an_import_refuses_every_oversized_cell_by_line_and_takes_the_longest_allowed() {
    let rep = manager();
    let name = |n: usize| "名".repeat(n);
    let text = |n: usize| "🏭".repeat(n);
    let csv = format!(
        "名称,地址,联系人,区域\n\
         正常公司,上海,张三,华东\n\
         {},上海,张三,华东\n\
         长地址公司,{},张三,华东\n\
         长联系人公司,上海,{},华东\n\
         长区域公司,上海,张三,{}\n",
        name(201),
        text(10_001),
        name(201),
        name(201),
    );
    let file = write(&rep, "long.csv", &csv);
    let r = rep.run(&["customer", "import", &file]);
    let err = r.stderr.clone();
    r.fails_with("nothing was imported");
    for (line, field) in [(3, "name"), (4, "address"), (5, "name"), (6, "region")] {
        assert!(
            err.contains(&format!("line {line}: `{field}` is too long")),
            "line {line}: {err}"
        );
    }
    assert!(!err.contains("line 2"), "{err}");
    assert_eq!(
        rep.run(&["customer", "list", "--json"]).json(),
        serde_json::json!([])
    );

    let csv = format!(
        "名称,地址,联系人\n{},{},{}\n",
        name(200),
        text(10_000),
        name(200)
    );
    let file = write(&rep, "longest.csv", &csv);
    assert!(
        rep.ok(&["customer", "import", &file])
            .contains("imported 1 customer")
    );
    let listed = rep.run(&["customer", "list", "--json"]).json();
    assert_eq!(listed[0]["name"], name(200));
}
