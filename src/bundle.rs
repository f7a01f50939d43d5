//! `fieldcrm bundle export|import`: sync through a file.

use std::path::PathBuf;

use anyhow::Result;
use clap::Subcommand;
use fieldcrm_workspace::{ExportOptions, Workspace};
use serde_json::json;

use crate::render::{Clock, print_json, say};

/// `bundle ...`.
#[derive(Subcommand, Debug)]
pub(crate) enum BundleCmd {
    /// Write a signed bundle file of this device's documents (for a USB stick or email).
    Export {
        /// Only what this device's user may read (device key or a unique prefix).
        #[arg(long = "for")]
        for_device: Option<String>,
        /// Only changes written after this date/time (2026-11-29 or 2026-11-29T14:00).
        #[arg(long)]
        since: Option<String>,
        /// Output file.
        #[arg(short = 'o', long = "output")]
        output: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Apply a bundle file (all or nothing; importing it again changes nothing).
    Import {
        /// The bundle file.
        file: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Exit code: 0, or [`crate::peer::EXIT_REFUSED`] when an import refused something.
pub(crate) fn bundle(ws: &Workspace, clock: &Clock, cmd: BundleCmd) -> Result<i32> {
    let mut code = 0;
    match cmd {
        BundleCmd::Export {
            for_device,
            since,
            output,
            json,
        } => {
            let since = since
                .as_deref()
                .map(|s| clock.parse("since", s))
                .transpose()?;
            let r = ws.export_bundle(&ExportOptions { for_device, since }, &output, clock.now)?;
            if json {
                print_json(&json!({
                    "file": output,
                    "header": r.header,
                    "docs": r.docs,
                    "bytes": r.bytes,
                }))?;
            } else {
                let (docs, bytes, file) = (r.docs.len(), r.bytes, output.display());
                say!(
                    zh: "已导出 {docs} 份文档，{bytes} 字节，至 {file}",
                    en: "exported {docs} document(s), {bytes} bytes, to {file}"
                );
            }
        }
        BundleCmd::Import { file, json } => {
            let r = ws.import_bundle(&file)?;
            if !json {
                let (changes, docs, from) = (r.changes, r.updated.len(), file.display());
                let (device, exported) = (
                    fieldcrm_model::short_id(&r.header.device),
                    clock.fmt(r.header.created_at),
                );
                let unchanged = r.unchanged;
                say!(
                    zh: "已从 {from} 导入 {changes} 项修改，涉及 {docs} 份文档（设备 {device}，导出于 {exported}）；{unchanged} 份文档已是最新",
                    en: "imported {changes} change(s) into {docs} document(s) from {from} (device {device}, exported {exported}); {unchanged} document(s) already up to date"
                );
                for line in &r.refused {
                    let line = crate::peer::refusal_line(line);
                    say!(zh: "  已拒绝：{line}", en: "  refused: {line}");
                }
            }
            if !r.refused.is_empty() {
                code = crate::peer::EXIT_REFUSED;
            }
            let carried = crate::merge::carry_over_quietly(ws, clock.now, json)?;
            if json {
                print_json(&json!({
                    "file": file,
                    "header": r.header,
                    "updated": r.updated,
                    "unchanged": r.unchanged,
                    "changes": r.changes,
                    "refused": r.refused,
                    "carried_over": carried,
                }))?;
            }
        }
    }
    Ok(code)
}
