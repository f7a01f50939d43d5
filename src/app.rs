//! `fieldcrm app`: serve the field app (the `fieldcrm-web` crate) for this workspace.

use std::path::PathBuf;

use anyhow::{Context, Result};
use fieldcrm_model::Millis;

use crate::cli::AppArgs;

/// Run the app until Ctrl-C; `now` is the `--now` override, if any.
pub(crate) fn run(home: PathBuf, args: &AppArgs, now: Option<Millis>) -> Result<()> {
    if !home.join(fieldcrm_workspace::STORE_FILE).exists() {
        return Err(fieldcrm_workspace::Error::NotInitialised(home).into());
    }
    let opts = fieldcrm_web::AppOptions {
        port: args.port,
        open: !args.no_open,
        now,
    };
    let rt = fieldcrm_connect::runtime()?;
    rt.block_on(fieldcrm_web::run(home, opts))
        .context(crate::render::tr("外勤应用已停止", "the field app stopped"))?;
    Ok(())
}
