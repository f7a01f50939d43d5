//! `fieldcrm customer import`, `fieldcrm channel import` (CSV or .xlsx) and `fieldcrm
//! export` (CSV, JSON or .xlsx); the sheets are read and written by
//! `fieldcrm_workspace::sheets`.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use fieldcrm_model::{DocKind, Millis};
use fieldcrm_workspace::Workspace;
use fieldcrm_workspace::sheets::{XLSX_MAX_BYTES, check_xlsx_size};
use serde_json::json;

use crate::render::{print_json, say, say_err, tr, trf};

/// `customer import` / `channel import`.
#[derive(Args, Debug)]
pub(crate) struct ImportArgs {
    /// CSV file (UTF-8, with or without BOM; Chinese or English headers, see
    /// examples/README.md), or an Excel file (.xlsx: the first sheet, same columns).
    pub(crate) file: PathBuf,
    /// Print JSON.
    #[arg(long)]
    pub(crate) json: bool,
    /// The file's text encoding: auto (UTF-8, else GBK/GB18030 as older Chinese systems
    /// and Excel save it), utf-8, gbk.
    #[arg(long, value_enum, default_value = "auto")]
    pub(crate) encoding: Encoding,
}

/// A CSV file's text encoding.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Encoding {
    /// UTF-8 if the bytes are UTF-8, else GBK (GB18030).
    Auto,
    /// UTF-8 (a byte-order mark is allowed).
    #[value(name = "utf-8", alias = "utf8")]
    Utf8,
    /// GBK / GB18030, as older Chinese systems write.
    #[value(alias = "gb18030")]
    Gbk,
}

/// Decode a CSV file's bytes; `None` if they are not text in that encoding.
fn decode(bytes: &[u8], encoding: Encoding) -> Option<String> {
    let gbk = || {
        let (text, _, bad) = encoding_rs::GB18030.decode(bytes);
        (!bad).then(|| text.into_owned())
    };
    match encoding {
        Encoding::Utf8 => String::from_utf8(bytes.to_vec()).ok(),
        Encoding::Gbk => gbk(),
        Encoding::Auto => String::from_utf8(bytes.to_vec()).ok().or_else(gbk),
    }
}

/// What to export.
#[derive(ValueEnum, Clone, Copy, Debug)]
pub(crate) enum ExportWhat {
    /// Customer files.
    Customers,
    /// Channel records.
    Channels,
}

/// Output format.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Format {
    /// Comma-separated values (UTF-8 with BOM, so spreadsheet programs read Chinese).
    Csv,
    /// A JSON array.
    Json,
    /// An Excel workbook (.xlsx); needs `-o FILE` or a redirect.
    Xlsx,
}

/// Whether a file is an Excel workbook: named .xlsx, or a zip archive (an .xlsx is one).
/// The first four bytes of a file (fewer if it is shorter): enough for [`is_xlsx`].
fn head(path: &std::path::Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut head = Vec::with_capacity(4);
    std::fs::File::open(path)?.take(4).read_to_end(&mut head)?;
    Ok(head)
}

pub(crate) fn is_xlsx(path: &std::path::Path, bytes: &[u8]) -> bool {
    bytes.starts_with(b"PK\x03\x04")
        || path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("xlsx"))
}

/// `--format`, else xlsx when the output file is named .xlsx, else `default`.
pub(crate) fn format_for(
    format: Option<Format>,
    output: Option<&std::path::Path>,
    default: Format,
) -> Format {
    format.unwrap_or_else(|| match output.and_then(|p| p.extension()) {
        Some(e) if e.eq_ignore_ascii_case("xlsx") => Format::Xlsx,
        _ => default,
    })
}

/// Write an export to its file (and say so on stderr) or to standard output; an Excel
/// file is not sent to a terminal.
pub(crate) fn write_out(bytes: &[u8], output: Option<&std::path::Path>, what: &str) -> Result<()> {
    use std::io::{IsTerminal, Write};
    match output {
        Some(path) => {
            let file = path.display();
            std::fs::write(path, bytes)
                .with_context(|| trf!(zh: "无法写入 {file}", en: "cannot write {file}"))?;
            if !crate::render::quiet() {
                say_err!(zh: "已导出 {what}到 {file}", en: "exported {what} to {file}");
            }
        }
        None => {
            if bytes.starts_with(b"PK") && std::io::stdout().is_terminal() {
                bail!(tr(
                    "Excel 文件不能输出到终端：请用 -o 文件.xlsx 或重定向",
                    "an Excel file is not for a terminal: give -o FILE.xlsx or redirect"
                ));
            }
            let mut out = std::io::stdout().lock();
            match out.write_all(bytes).and_then(|()| out.flush()) {
                // The reader went away (`fieldcrm export customers | head`): quietly done.
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
                r => r?,
            }
        }
    }
    Ok(())
}

/// `export`.
#[derive(Args, Debug)]
pub(crate) struct ExportArgs {
    /// customers or channels.
    pub(crate) what: ExportWhat,
    /// csv, json or xlsx (default: xlsx when the output file ends in .xlsx, else csv).
    #[arg(long, value_enum)]
    pub(crate) format: Option<Format>,
    /// Output file (default: standard output).
    #[arg(short = 'o', long = "output")]
    pub(crate) output: Option<PathBuf>,
    /// CSV text encoding: utf-8 (with a byte-order mark when written to a file or
    /// redirected, so Excel reads the Chinese), or gbk for older systems.
    #[arg(long, value_enum, default_value = "utf-8")]
    pub(crate) encoding: Encoding,
    /// No byte-order mark on UTF-8 CSV.
    #[arg(long)]
    pub(crate) no_bom: bool,
}

pub(crate) fn import(ws: &Workspace, kind: DocKind, now: Millis, a: ImportArgs) -> Result<()> {
    let progress = crate::progress::Progress::start(tr("导入中", "importing"));
    let file = a.file.display();
    let cannot_read = || trf!(zh: "无法读取 {file}", en: "cannot read {file}");
    // An .xlsx file is unpacked whole in memory: one over the limit is refused before it
    // is read (CSV has no limit).
    let len = std::fs::metadata(&a.file).with_context(cannot_read)?.len();
    if len > XLSX_MAX_BYTES && is_xlsx(&a.file, &head(&a.file).with_context(cannot_read)?) {
        check_xlsx_size(&file.to_string(), len)?;
    }
    let bytes = std::fs::read(&a.file).with_context(cannot_read)?;
    let r = if is_xlsx(&a.file, &bytes) {
        let name = file.to_string();
        match kind {
            DocKind::Channel => ws.import_channels_xlsx(&name, &bytes, now),
            _ => ws.import_customers_xlsx(&name, &bytes, now),
        }
        .with_context(|| format!("{}", a.file.display()))?
    } else {
        import_csv(ws, &kind, now, &a, &bytes)?
    };
    progress.done();
    let kind_name = tr(kind.zh(), kind.as_str());
    if crate::render::verbose() {
        for (id, name) in &r.created {
            say_err!(zh: "  已保存{kind_name} {id}  {name}", en: "  saved {kind} {id}  {name}");
        }
    }
    if a.json {
        print_json(
            &r.created
                .iter()
                .map(|(id, name)| json!({"id": id, "name": name}))
                .collect::<Vec<_>>(),
        )?;
    } else {
        for (id, name) in &r.created {
            println!("  {}  {name}", id.short());
        }
        let n = r.created.len();
        say!(
            zh: "已从 {file} 导入 {n} 个{kind_name}",
            en: "imported {n} {kind}(s) from {file}"
        );
    }
    Ok(())
}

fn import_csv(
    ws: &Workspace,
    kind: &DocKind,
    now: Millis,
    a: &ImportArgs,
    bytes: &[u8],
) -> Result<fieldcrm_workspace::CsvImport> {
    let Some(text) = decode(bytes, a.encoding) else {
        let file = a.file.display();
        let encoding = match a.encoding {
            Encoding::Gbk => "GBK",
            Encoding::Utf8 => "UTF-8",
            Encoding::Auto => tr("UTF-8 或 GBK", "UTF-8 or GBK"),
        };
        bail!(trf!(
            zh: "{file} 不是 {encoding} 文本（请把 CSV 存为 UTF-8，或加 --encoding gbk）",
            en: "{file} is not {encoding} text (save the CSV as UTF-8, or give --encoding gbk)"
        ));
    };
    match kind {
        DocKind::Channel => ws.import_channels_csv(&text, now),
        _ => ws.import_customers_csv(&text, now),
    }
    .with_context(|| format!("{}", a.file.display()))
}

pub(crate) fn export(ws: &Workspace, a: ExportArgs) -> Result<()> {
    let kind = match a.what {
        ExportWhat::Customers => DocKind::Customer,
        ExportWhat::Channels => DocKind::Channel,
    };
    let progress = crate::progress::Progress::start(tr("导出中", "exporting"));
    let table = ws.export_rows(&kind)?;
    let format = format_for(a.format, a.output.as_deref(), Format::Csv);
    let bytes: Vec<u8> = match format {
        Format::Xlsx => table.to_xlsx(match kind {
            DocKind::Channel => tr("渠道", "channels"),
            _ => tr("客户", "customers"),
        })?,
        Format::Csv => {
            let csv = table.to_csv();
            match a.encoding {
                Encoding::Gbk => {
                    let (out, _, unmappable) = encoding_rs::GBK.encode(&csv);
                    if unmappable {
                        bail!(tr(
                            "有些文字无法以 GBK 写出（表情符号或生僻字）；请导出为 UTF-8",
                            "some text cannot be written in GBK (emoji or rare characters); export as UTF-8"
                        ));
                    }
                    out.into_owned()
                }
                _ => {
                    // A byte-order mark when the CSV may be opened in Excel: written to a
                    // file, or redirected rather than shown on a terminal.
                    use std::io::IsTerminal;
                    let bom = !a.no_bom && (a.output.is_some() || !std::io::stdout().is_terminal());
                    if bom {
                        format!("\u{feff}{csv}").into_bytes()
                    } else {
                        csv.into_bytes()
                    }
                }
            }
        }
        Format::Json => (serde_json::to_string_pretty(&table.rows)? + "\n").into_bytes(),
    };
    progress.done();
    let rows = table.rows.len();
    write_out(
        &bytes,
        a.output.as_deref(),
        &trf!(zh: "{rows} 行", en: "{rows} row(s)"),
    )
}
