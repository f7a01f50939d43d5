//! The one way a long operation shows it is working: an indicatif spinner on standard
//! error with what it is doing and how long it has taken — only on a terminal and never
//! with `--quiet` — and, with `-v/--verbose`, a line saying how long it took.
//! Sync, import, export, check and merge use it.

use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A running operation's indicator.
pub(crate) struct Progress {
    bar: Option<ProgressBar>,
    what: String,
    start: Instant,
}

impl Progress {
    /// Start showing `what` ("importing", "导入中") if standard error is a terminal and
    /// `--quiet` is off.
    pub(crate) fn start(what: &str) -> Self {
        let target = ProgressDrawTarget::stderr_with_hz(10);
        let bar = (!crate::render::quiet() && !target.is_hidden()).then(|| {
            let bar = ProgressBar::with_draw_target(None, target);
            if let Ok(style) = ProgressStyle::with_template("{spinner} {prefix}… {msg} ({elapsed})")
            {
                bar.set_style(style);
            }
            bar.set_prefix(what.to_string());
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        Progress {
            bar,
            what: what.to_string(),
            start: Instant::now(),
        }
    }

    /// What it has done so far ("received 120 docs").
    pub(crate) fn message(&self, msg: String) {
        if let Some(bar) = &self.bar {
            bar.set_message(msg);
        }
    }

    /// Clear the line; with `--verbose`, say how long it took.
    pub(crate) fn done(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
        if crate::render::verbose() {
            let (what, secs) = (&self.what, self.start.elapsed().as_secs_f64());
            crate::render::say_err!(zh: "{what}：{secs:.2} 秒", en: "{what}: {secs:.2} s");
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        // An error left early: the spinner's line goes, nothing else is said.
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
