//! Terminal output: aligned tables (CJK-aware), times in the workspace time zone, money.

use anyhow::{Context, Result, bail};
use fieldcrm_model::Millis;
use jiff::{Timestamp, Zoned, civil, tz::TimeZone};
use unicode_width::UnicodeWidthStr;

/// Time formatting and parsing in one time zone.
#[derive(Clone)]
pub(crate) struct Clock {
    /// The display zone.
    pub(crate) tz: TimeZone,
    /// "Now", read once at the edge (or from --now).
    pub(crate) now: Millis,
}

impl Clock {
    /// Build from a zone name.
    pub(crate) fn new(tz_name: &str, now: Millis) -> Result<Self> {
        let tz =
            TimeZone::get(tz_name).with_context(|| format!("unknown time zone `{tz_name}`"))?;
        Ok(Clock { tz, now })
    }

    /// Format UTC ms as `2026-11-29 14:00` in the zone.
    pub(crate) fn fmt(&self, ms: Millis) -> String {
        match Timestamp::from_millisecond(ms) {
            Ok(ts) => ts
                .to_zoned(self.tz.clone())
                .strftime("%Y-%m-%d %H:%M")
                .to_string(),
            Err(_) => ms.to_string(),
        }
    }

    /// Format an optional time, `-` if none.
    pub(crate) fn fmt_opt(&self, ms: Option<Millis>) -> String {
        ms.map(|m| self.fmt(m)).unwrap_or_else(|| "-".into())
    }

    /// Format a date only.
    pub(crate) fn date(&self, ms: Millis) -> String {
        self.fmt(ms).chars().take(10).collect()
    }

    /// Parse `2026-11-29`, `2026-11-29T14:00`, `2026-11-29 14:00` (zone time), or an RFC 3339
    /// timestamp with offset, into UTC ms.
    pub(crate) fn parse(&self, text: &str) -> Result<Millis> {
        let t = text.trim();
        if let Ok(ts) = t.parse::<Timestamp>() {
            return Ok(ts.as_millisecond());
        }
        let has_time = t.contains(':');
        let dt = if !has_time && let Ok(d) = t.parse::<civil::Date>() {
            d.to_datetime(civil::Time::midnight())
        } else if has_time && let Ok(dt) = t.replacen(' ', "T", 1).parse::<civil::DateTime>() {
            dt
        } else {
            bail!("`{text}` is not a date (use 2026-11-29 or 2026-11-29T14:00)");
        };
        let z: Zoned = dt
            .to_zoned(self.tz.clone())
            .with_context(|| format!("`{text}` is not a valid time in this time zone"))?;
        Ok(z.timestamp().as_millisecond())
    }

    /// Parse an optional time, defaulting to now.
    pub(crate) fn parse_or_now(&self, text: Option<&str>) -> Result<Millis> {
        text.map(|t| self.parse(t))
            .transpose()
            .map(|v| v.unwrap_or(self.now))
    }

    /// The end of the given day (23:59:59.999 local) for a date-only input; exact time otherwise.
    pub(crate) fn parse_end(&self, text: &str) -> Result<Millis> {
        let t = text.trim();
        if !t.contains(':') && t.parse::<civil::Date>().is_ok() {
            Ok(self.parse(t)? + fieldcrm_model::DAY_MS - 1)
        } else {
            self.parse(t)
        }
    }
}

/// Parse the wall-clock override `--now` (RFC 3339 or a date).
pub(crate) fn parse_now(text: &str) -> Result<Millis> {
    let t = text.trim();
    if let Ok(ts) = t.parse::<Timestamp>() {
        return Ok(ts.as_millisecond());
    }
    Clock::new("Asia/Shanghai", 0)?.parse(t)
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
            for (i, c) in r.iter().enumerate().take(cols) {
                widths[i] = widths[i].max(c.width());
            }
        }
        let line = |cells: &[String]| {
            let mut s = String::new();
            for (i, c) in cells.iter().enumerate().take(cols) {
                s.push_str(c);
                if i + 1 < cols {
                    s.push_str(&" ".repeat(widths[i] - c.width() + 2));
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
    &id[..fieldcrm_model::SHORT_LEN.min(id.len())]
}

#[cfg(test)]
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

    #[test]
    fn parses_dates_in_shanghai() {
        let c = Clock::new("Asia/Shanghai", 0).unwrap();
        let ms = c.parse("2026-11-29T14:00").unwrap();
        assert_eq!(ms, c.parse("2026-11-29T06:00:00Z").unwrap());
        assert_eq!(c.fmt(ms), "2026-11-29 14:00");
        assert!(c.parse("2026-13-01").is_err());
        assert!(c.parse("tomorrow").is_err());
    }
}
