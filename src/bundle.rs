//! `fieldcrm bundle export|import`: sync through a file.

use std::path::PathBuf;

use anyhow::Result;
use clap::Subcommand;
use fieldcrm_workspace::{ExportOptions, Workspace};
use serde_json::json;

use crate::render::{Clock, print_json};

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
                println!(
                    "已导出 exported {} document(s), {} bytes, to {}",
                    r.docs.len(),
                    r.bytes,
                    output.display()
                );
            }
        }
        BundleCmd::Import { file, json } => {
            let r = ws.import_bundle(&file)?;
            if !json {
                println!(
                    "已导入 imported {} change(s) into {} document(s) from {} (device {}, exported {}); {} document(s) already up to date",
                    r.changes,
                    r.updated.len(),
                    file.display(),
                    fieldcrm_model::short_id(&r.header.device),
                    clock.fmt(r.header.created_at),
                    r.unchanged
                );
                for line in &r.refused {
                    println!("  已拒绝 refused: {line}");
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
