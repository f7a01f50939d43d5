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

static JSON: AtomicBool = AtomicBool::new(false);
static VERBOSE: AtomicBool = AtomicBool::new(false);

/// The global flags that shape output, set once at start.
pub(crate) fn set_output(lang_flag: Option<String>, json: bool, verbose: bool) {
    let lang = lang_flag
        .as_deref()
        .and_then(fieldcrm_model::Lang::parse)
        .unwrap_or_else(lang_from_env);
    set_lang(lang);
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

/// Whether human output is in Chinese (the language chosen at start).
pub(crate) fn zh() -> bool {
    lang() == fieldcrm_model::Lang::Zh
}

/// `zh` or `en`, by the language chosen at start.
pub(crate) fn tr<'a>(zh: &'a str, en: &'a str) -> &'a str {
    lang().pick(zh, en)
}

/// A yes/no cell: 是/否 in Chinese, `true`/`false` in English.
pub(crate) fn bool_cell(b: bool) -> String {
    match (zh(), b) {
        (true, true) => "是".into(),
        (true, false) => "否".into(),
        (false, b) => b.to_string(),
    }
}

/// A record kind as typed or named by a command (`contact`, `联系人`, `price report`,
/// `target`) in the chosen language; a kind this does not know, as given.
pub(crate) fn kind_name(kind: &str) -> String {
    use fieldcrm_workspace::{channel_record_collection, record_collection};
    const NAMES: &[(&str, &str, &str)] = &[
        ("contacts", "联系人", "contact"),
        ("interactions", "互动记录", "interaction"),
        ("complaints", "投诉", "complaint"),
        ("surveys", "满意度回访", "survey"),
        ("opportunities", "商机", "opportunity"),
        ("quotes", "报价", "quote"),
        ("contracts", "合同", "contract"),
        ("orders", "订单", "order"),
        ("gifts", "礼品", "gift"),
        ("territories", "区域", "territory"),
        ("communications", "沟通", "communication"),
        ("trainings", "培训", "training"),
        ("assessments", "评估", "assessment"),
        ("price_reports", "价格报告", "price report"),
        ("customer", "客户", "customer"),
        ("channel", "渠道", "channel"),
        ("target", "销售目标", "target"),
        ("report", "销售报告", "report"),
    ];
    let t = kind.trim();
    let lower = t.to_lowercase().replace('_', " ");
    let collection = record_collection(t)
        .or_else(|_| channel_record_collection(t))
        .ok()
        .unwrap_or(lower.as_str());
    NAMES
        .iter()
        .find(|(c, zh, en)| *c == collection || *zh == t || *en == lower)
        .map(|(_, zh, en)| tr(zh, en).to_string())
        .unwrap_or_else(|| t.to_string())
}

/// `text` padded with spaces to `width` display columns (a CJK character counts 2).
pub(crate) fn pad(text: &str, width: usize) -> String {
    format!("{text}{}", " ".repeat(width.saturating_sub(text.width())))
}

/// `text` right-aligned in `width` display columns.
pub(crate) fn pad_start(text: &str, width: usize) -> String {
    format!("{}{text}", " ".repeat(width.saturating_sub(text.width())))
}

/// A `label: ` column for `label: value` lines, in the chosen language: the Chinese label
/// with a full-width colon padded to `zh_width` columns, or the English one with `:`
/// padded to `en_width`, so that the values line up in either language.
pub(crate) fn label(zh_label: &str, en_label: &str, zh_width: usize, en_width: usize) -> String {
    if zh() {
        pad(&format!("{zh_label}："), zh_width)
    } else {
        pad(&format!("{en_label}:"), en_width)
    }
}

/// `format!` of the Chinese or the English text, by the language chosen at start. Both
/// take the same arguments: `trf!(zh: "已归档客户 {id}", en: "archived customer {id}")`.
macro_rules! trf {
    (zh: $zh:literal, en: $en:literal $(, $arg:expr)* $(,)?) => {
        if $crate::render::zh() {
            format!($zh $(, $arg)*)
        } else {
            format!($en $(, $arg)*)
        }
    };
}
pub(crate) use trf;

/// `println!` of the Chinese or the English text, as [`trf!`].
macro_rules! say {
    (zh: $zh:literal, en: $en:literal $(, $arg:expr)* $(,)?) => {
        if $crate::render::zh() {
            println!($zh $(, $arg)*)
        } else {
            println!($en $(, $arg)*)
        }
    };
}
pub(crate) use say;

/// `eprintln!` of the Chinese or the English text, as [`trf!`].
macro_rules! say_err {
    (zh: $zh:literal, en: $en:literal $(, $arg:expr)* $(,)?) => {
        if $crate::render::zh() {
            eprintln!($zh $(, $arg)*)
        } else {
            eprintln!($en $(, $arg)*)
        }
    };
}
pub(crate) use say_err;

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
    /// Every cell's text, one after another.
    text: String,
    /// Each cell's end in `text` and display width, row after row (32 bits each: a
    /// listing of 100,000 rows keeps 700,000 of these).
    cells: Vec<(u32, u32)>,
}

impl Table {
    /// A table with these column titles, each given as (Chinese, English): the chosen
    /// language's.
    pub(crate) fn titled(header: &[(&str, &str)]) -> Self {
        Table {
            header: header
                .iter()
                .map(|(zh, en)| tr(zh, en).to_string())
                .collect(),
            text: String::new(),
            cells: Vec::new(),
        }
    }

    /// Make room for `rows` more rows of about `bytes` bytes each (a long listing grows
    /// its storage once instead of copying it again and again).
    pub(crate) fn reserve(&mut self, rows: usize, bytes: usize) {
        self.text.reserve(rows.saturating_mul(bytes));
        self.cells.reserve(rows.saturating_mul(self.header.len()));
    }

    /// Add a row (as many cells as columns; missing ones are empty, extra ones dropped).
    pub(crate) fn row(&mut self, cells: Vec<String>) {
        self.row_of(cells.iter().map(String::as_str));
    }

    /// Add a row from borrowed cells (see [`Table::row`]); nothing is allocated per cell.
    pub(crate) fn row_of<'a>(&mut self, cells: impl IntoIterator<Item = &'a str>) {
        let mut cells = cells.into_iter();
        for _ in 0..self.header.len() {
            let c = cells.next().unwrap_or_default();
            self.text.push_str(c);
            self.cells
                .push((narrow(self.text.len()), narrow(display_width(c))));
        }
    }

    /// How many rows were added.
    pub(crate) fn len(&self) -> usize {
        self.cells.len() / self.header.len().max(1)
    }

    /// Whether no rows were added.
    pub(crate) fn is_empty(&self) -> bool {
        self.cells.is_empty()
    }

    /// Write the table with columns padded by display width (CJK characters count 2),
    /// one line per row, as it goes (a list of 100,000 customers is never held twice).
    pub(crate) fn write_to(&self, out: &mut impl std::io::Write) -> std::io::Result<()> {
        self.write_parts(&[], out, (0..self.len()).map(|r| (0, r)))
    }

    /// [`Table::write_to`] for a table built in parts (on several threads): this one
    /// and then `more`, with the same columns. `order` names (part, row); the columns are
    /// padded to the widest cell of every part.
    pub(crate) fn write_parts(
        &self,
        more: &[&Table],
        out: &mut impl std::io::Write,
        order: impl IntoIterator<Item = (usize, usize)>,
    ) -> std::io::Result<()> {
        let cols = self.header.len().max(1);
        let parts: Vec<&Table> = std::iter::once(self).chain(more.iter().copied()).collect();
        let mut widths: Vec<usize> = self.header.iter().map(|h| h.width()).collect();
        for row in parts.iter().flat_map(|p| p.cells.chunks(cols)) {
            for (w, (_, cw)) in widths.iter_mut().zip(row) {
                *w = (*w).max(*cw as usize);
            }
        }
        let mut line = String::new();
        let mut emit = |cells: &mut dyn Iterator<Item = (&str, usize)>,
                        out: &mut dyn std::io::Write|
         -> std::io::Result<()> {
            line.clear();
            for (i, ((c, cw), w)) in cells.zip(&widths).enumerate() {
                line.push_str(c);
                if i + 1 < cols {
                    line.extend(std::iter::repeat_n(' ', w.saturating_sub(cw) + 2));
                }
            }
            out.write_all(line.trim_end().as_bytes())?;
            out.write_all(b"\n")
        };
        emit(
            &mut self.header.iter().map(|h| (h.as_str(), h.width())),
            out,
        )?;
        for (p, r) in order {
            let Some(part) = parts.get(p) else { continue };
            let first = r.saturating_mul(cols);
            let Some(row) = part.cells.get(first..first.saturating_add(cols)) else {
                continue;
            };
            let mut start = match first.checked_sub(1) {
                Some(p) => part.cells.get(p).map_or(0, |c| c.0 as usize),
                None => 0,
            };
            let mut cells = row.iter().map(|&(end, w)| {
                let c = part.text.get(start..end as usize).unwrap_or_default();
                start = end as usize;
                (c, w as usize)
            });
            emit(&mut cells, out)?;
        }
        Ok(())
    }

    /// The rendered table (see [`Table::write_to`]).
    pub(crate) fn render(&self) -> String {
        let mut out = Vec::new();
        // Writing to memory cannot fail.
        let _ = self.write_to(&mut out);
        String::from_utf8(out).unwrap_or_default()
    }

    /// Print the table to standard output, buffered.
    pub(crate) fn print(&self) -> std::io::Result<()> {
        self.print_parts(&[], (0..self.len()).map(|r| (0, r)))
    }

    /// Print a table built in parts (see [`Table::write_parts`]).
    pub(crate) fn print_parts(
        &self,
        more: &[&Table],
        order: impl IntoIterator<Item = (usize, usize)>,
    ) -> std::io::Result<()> {
        let mut out = std::io::BufWriter::new(std::io::stdout().lock());
        self.write_parts(more, &mut out, order)?;
        std::io::Write::flush(&mut out)
    }
}

/// Columns `text` takes in a terminal (CJK characters count 2); printable ASCII, most
/// cells of a listing, without the Unicode tables.
fn display_width(text: &str) -> usize {
    let mut w = 0;
    for c in text.chars() {
        w += match u32::from(c) {
            0x20..=0x7e => 1,
            // CJK Unified Ideographs and the full-width forms: two columns each, whatever
            // stands next to them (a variation selector or joiner falls to the tables).
            0x4e00..=0x9fff | 0xff01..=0xff60 => 2,
            _ => return text.width(),
        };
    }
    w
}

/// A table offset or width in 32 bits (a table's text never nears 4 GiB; past it a
/// cell would print empty, never panic).
fn narrow(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
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
    fn widths_agree_with_the_unicode_tables() {
        let mut samples: Vec<String> = [
            "",
            "abc",
            "华东机械",
            "（有限）公司",
            "ｆｕｌｌ１２３",
            "東方化工",
            "🎉",
            "a\u{fe0f}",
            "中\u{fe0f}",
            "👨\u{200d}👩",
            "\t",
            "\u{0}",
            "1\u{fe0f}\u{20e3}",
            "é",
            "\u{301}",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        for c in (0x1fu32..0x80).chain(0x4dfe..0x4e02).chain(0x9ffe..0xa002) {
            samples.extend(char::from_u32(c).map(|c| format!("x{c}中")));
        }
        for c in (0xff00..0xff62).chain(0x3000..0x3040) {
            samples.extend(char::from_u32(c).map(String::from));
        }
        for s in &samples {
            assert_eq!(display_width(s), s.width(), "{s:?}");
        }
    }

    #[test]
    fn table_aligns_chinese() {
        let mut t = Table::titled(&[("名称", "名称"), ("class", "class")]);
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

    #[test]
    fn labels_line_up_by_display_width_in_either_language() {
        assert_eq!(pad("分类：", 10), "分类：    ");
        assert_eq!(pad("年度价值：", 10).width(), 10);
        assert_eq!(pad("too long for it", 4), "too long for it");
        assert_eq!(pad_start("条数", 6), "  条数");
        set_lang(fieldcrm_model::Lang::Zh);
        assert_eq!(label("负责人", "owner", 10, 14), "负责人：  ");
        assert_eq!(kind_name("contacts"), "联系人");
        assert_eq!(kind_name("price report"), "价格报告");
        assert_eq!(bool_cell(true), "是");
        assert_eq!(trf!(zh: "共 {} 个", en: "{} item(s)", 3), "共 3 个");
        set_lang(fieldcrm_model::Lang::En);
        assert_eq!(label("负责人", "owner", 10, 14), "owner:        ");
        assert_eq!(kind_name("联系人"), "contact");
        assert_eq!(kind_name("something else"), "something else");
        assert_eq!(bool_cell(false), "false");
        assert_eq!(trf!(zh: "共 {} 个", en: "{} item(s)", 3), "3 item(s)");
    }
}
