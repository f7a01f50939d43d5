//! `fieldcrm customer import`, `fieldcrm channel import` (CSV) and `fieldcrm export`.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use fieldcrm_model::{DocKind, Millis};
use fieldcrm_workspace::Workspace;
use serde_json::json;

use crate::render::print_json;

/// `customer import` / `channel import`.
#[derive(Args, Debug)]
pub(crate) struct ImportArgs {
    /// CSV file (UTF-8, with or without BOM; Chinese or English headers, see
    /// examples/README.md).
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
#[derive(ValueEnum, Clone, Copy, Debug)]
pub(crate) enum Format {
    /// Comma-separated values (UTF-8 with BOM, so spreadsheet programs read Chinese).
    Csv,
    /// A JSON array.
    Json,
}

/// `export`.
#[derive(Args, Debug)]
pub(crate) struct ExportArgs {
    /// customers or channels.
    pub(crate) what: ExportWhat,
    /// csv or json.
    #[arg(long, value_enum, default_value = "csv")]
    pub(crate) format: Format,
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
    let bytes =
        std::fs::read(&a.file).with_context(|| format!("cannot read {}", a.file.display()))?;
    let Some(text) = decode(&bytes, a.encoding) else {
        bail!(
            "{} is not {} text (save the CSV as UTF-8, or give --encoding gbk)",
            a.file.display(),
            match a.encoding {
                Encoding::Gbk => "GBK",
                Encoding::Utf8 => "UTF-8",
                Encoding::Auto => "UTF-8 or GBK",
            }
        );
    };
    let r = match kind {
        DocKind::Channel => ws.import_channels_csv(&text, now),
        _ => ws.import_customers_csv(&text, now),
    }
    .with_context(|| format!("{}", a.file.display()))?;
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
        println!(
            "已导入 imported {} {}(s) from {}",
            r.created.len(),
            kind,
            a.file.display()
        );
    }
    Ok(())
}

pub(crate) fn export(ws: &Workspace, a: ExportArgs) -> Result<()> {
    let kind = match a.what {
        ExportWhat::Customers => DocKind::Customer,
        ExportWhat::Channels => DocKind::Channel,
    };
    let table = ws.export_rows(&kind)?;
    let bytes: Vec<u8> = match a.format {
        Format::Csv => {
            let csv = table.to_csv();
            match a.encoding {
                Encoding::Gbk => {
                    let (out, _, unmappable) = encoding_rs::GBK.encode(&csv);
                    if unmappable {
                        bail!(
                            "some text cannot be written in GBK (emoji or rare characters); export as UTF-8"
                        );
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
    match &a.output {
        Some(path) => {
            std::fs::write(path, bytes)
                .with_context(|| format!("cannot write {}", path.display()))?;
            eprintln!(
                "已导出 exported {} row(s) to {}",
                table.rows.len(),
                path.display()
            );
        }
        None => {
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            match out.write_all(&bytes).and_then(|()| out.flush()) {
                // The reader went away (`fieldcrm export customers | head`): quietly done.
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
                r => r?,
            }
        }
    }
    Ok(())
}
