//! Terminal output: aligned tables (CJK-aware), times in the workspace time zone, money.

use anyhow::Result;
use unicode_width::UnicodeWidthStr;

pub(crate) use fieldcrm_workspace::input::{Clock, parse_now};

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::cli::ColorChoice;

static COLOR: AtomicBool = AtomicBool::new(false);
static QUIET: AtomicBool = AtomicBool::new(false);
static ENGLISH: AtomicBool = AtomicBool::new(false);

/// The language of help and human output: `--lang`, else the locale (`LC_ALL`,
/// `LC_MESSAGES`, `LANG`): Chinese for zh_*, English otherwise.
pub(crate) fn lang_from_env() -> fieldcrm_model::Lang {
    let locale = ["LC_ALL", "LC_MESSAGES", "LANG"]
        .iter()
        .filter_map(|k| std::env::var(k).ok())
        .find(|v| !v.trim().is_empty())
        .unwrap_or_default();
    if locale.to_ascii_lowercase().starts_with("zh") {
        fieldcrm_model::Lang::Zh
    } else {
        fieldcrm_model::Lang::En
    }
}

static LANG_FLAG: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
static JSON: AtomicBool = AtomicBool::new(false);
static VERBOSE: AtomicBool = AtomicBool::new(false);

/// The global `--lang` as given, if it was.
pub(crate) fn lang_flag() -> Option<String> {
    LANG_FLAG.get().cloned().flatten()
}

/// The global flags that shape output, set once at start.
pub(crate) fn set_output(lang_flag: Option<String>, json: bool, verbose: bool) {
    let lang = lang_flag
        .as_deref()
        .and_then(fieldcrm_model::Lang::parse)
        .unwrap_or_else(lang_from_env);
    set_lang(lang);
    let _ = LANG_FLAG.set(lang_flag);
    JSON.store(json, Ordering::Relaxed);
    VERBOSE.store(verbose, Ordering::Relaxed);
}

/// The global `--json`: writes print their result as JSON.
pub(crate) fn json() -> bool {
    JSON.load(Ordering::Relaxed)
}

/// `-v/--verbose`.
pub(crate) fn verbose() -> bool {
    VERBOSE.load(Ordering::Relaxed)
}

/// Set the language chosen at start.
pub(crate) fn set_lang(lang: fieldcrm_model::Lang) {
    ENGLISH.store(lang == fieldcrm_model::Lang::En, Ordering::Relaxed);
}

/// The language chosen at start.
pub(crate) fn lang() -> fieldcrm_model::Lang {
    if ENGLISH.load(Ordering::Relaxed) {
        fieldcrm_model::Lang::En
    } else {
        fieldcrm_model::Lang::Zh
    }
}

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
