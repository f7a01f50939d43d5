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
}

pub(crate) fn import(ws: &Workspace, kind: DocKind, now: Millis, a: ImportArgs) -> Result<()> {
    let bytes =
        std::fs::read(&a.file).with_context(|| format!("cannot read {}", a.file.display()))?;
    let Ok(text) = String::from_utf8(bytes) else {
        bail!(
            "{} is not UTF-8 text (save the CSV as UTF-8)",
            a.file.display()
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
    let text = match a.format {
        Format::Csv => {
            let csv = table.to_csv();
            if a.output.is_some() {
                format!("\u{feff}{csv}")
            } else {
                csv
            }
        }
        Format::Json => serde_json::to_string_pretty(&table.rows)? + "\n",
    };
    match &a.output {
        Some(path) => {
            std::fs::write(path, text)
                .with_context(|| format!("cannot write {}", path.display()))?;
            eprintln!(
                "已导出 exported {} row(s) to {}",
                table.rows.len(),
                path.display()
            );
        }
        None => print!("{text}"),
    }
    Ok(())
}
