//! Terminal output: aligned tables (CJK-aware), times in the workspace time zone, money.

use anyhow::Result;
use unicode_width::UnicodeWidthStr;

pub(crate) use fieldcrm_workspace::input::{Clock, parse_now};

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::cli::ColorChoice;

static COLOR: AtomicBool = AtomicBool::new(false);
static QUIET: AtomicBool = AtomicBool::new(false);

/// `--quiet`: saves print only the ID.
pub(crate) fn set_quiet(on: bool) {
    QUIET.store(on, Ordering::Relaxed);
}

/// Whether `--quiet` is on.
pub(crate) fn quiet() -> bool {
    QUIET.load(Ordering::Relaxed)
}

/// Decide once, at start, whether output is coloured: `--color always|never`, else only
/// when standard output is a terminal and `NO_COLOR` is not set (no-color.org).
pub(crate) fn set_color(choice: ColorChoice) {
    let on = match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && std::io::stdout().is_terminal()
        }
    };
    COLOR.store(on, Ordering::Relaxed);
}

/// `text` in bold when colour is on.
pub(crate) fn bold(text: &str) -> String {
    if COLOR.load(Ordering::Relaxed) {
        format!("\x1b[1m{text}\x1b[0m")
    } else {
        text.to_string()
    }
}

/// Money as `¥1,234.50`.
pub(crate) fn yuan(fen: i64) -> String {
    format!("¥{}", fieldcrm_model::money::format_yuan(fen))
}

/// An aligned text table.
pub(crate) struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column titles.
    pub(crate) fn new(header: &[&str]) -> Self {
        Table {
            header: header.iter().map(|s| s.to_string()).collect(),
            rows: Vec::new(),
        }
    }

    /// Add a row.
    pub(crate) fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// Whether no rows were added.
    pub(crate) fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Render with columns padded by display width (CJK characters count 2).
    pub(crate) fn render(&self) -> String {
        let cols = self.header.len();
        let mut widths: Vec<usize> = self.header.iter().map(|h| h.width()).collect();
        for r in &self.rows {
            for (w, c) in widths.iter_mut().zip(r) {
                *w = (*w).max(c.width());
            }
        }
        let line = |cells: &[String]| {
            let mut s = String::new();
            for (i, (c, w)) in cells.iter().zip(&widths).enumerate() {
                s.push_str(c);
                if i + 1 < cols {
                    s.push_str(&" ".repeat(w.saturating_sub(c.width()) + 2));
                }
            }
            s.trim_end().to_string()
        };
        let mut out = line(&self.header);
        out.push('\n');
        for r in &self.rows {
            out.push_str(&line(r));
            out.push('\n');
        }
        out
    }
}

/// Print a JSON value, pretty.
pub(crate) fn print_json<T: serde::Serialize>(v: &T) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(v)?);
    Ok(())
}

/// Short ID for display.
pub(crate) fn short(id: &str) -> &str {
    fieldcrm_model::short_id(id)
}

#[cfg(test)]
#[allow(clippy::string_slice)]
mod tests {
    use super::*;

    #[test]
    fn table_aligns_chinese() {
        let mut t = Table::new(&["名称", "class"]);
        t.row(vec!["华东机械".into(), "key".into()]);
        t.row(vec!["ab".into(), "general".into()]);
        let out = t.render();
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(
            lines[1].find("key").map(|i| lines[1][..i].width()),
            Some(10)
        );
        assert_eq!(
            lines[2].find("general").map(|i| lines[2][..i].width()),
            Some(10)
        );
    }
}
