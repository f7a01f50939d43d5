//! Reporting periods (ISO week, month, quarter, year) and their one parser.
//!
//! A period is a range of *local* days counted from 1970-01-01; turning it into UTC
//! instants takes the company's UTC offset as an argument. Pure calendar arithmetic
//! (proleptic Gregorian): no clock, no time-zone database.
//!
//! [`Period::parse`] accepts `2026`, `2026-Q4`, `2026Q4`, `2026-11`, `2026-W08` (`2026-w8`),
//! full-width digits (`２０２６-Q4`) and the Chinese forms `2026年`, `2026年11月`,
//! `2026年第4季度` / `2026年第四季度` / `2026年Q4`, `2026年第8周` and years in Chinese
//! numerals (`二〇二六年`). Every form normalises to the canonical label (`2026`,
//! `2026-Q4`, `2026-11`, `2026-W08`), which is what documents store.

use std::fmt;

use crate::money::fullwidth_to_ascii;
use crate::{DAY_MS, Millis};

/// A kind of reporting period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PeriodKind {
    /// ISO week, labelled `2026-W48`.
    Week,
    /// Calendar month, `2026-11`.
    Month,
    /// Quarter, `2026-Q4`.
    Quarter,
    /// Year, `2026`.
    Year,
}

impl PeriodKind {
    /// Parse `weekly`, `monthly`, `quarterly`, `yearly` (or Chinese 每周/每月/每季度/每年).
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "weekly" | "week" | "每周" | "周" => Some(PeriodKind::Week),
            "monthly" | "month" | "每月" | "月" => Some(PeriodKind::Month),
            "quarterly" | "quarter" | "每季度" | "季度" => Some(PeriodKind::Quarter),
            "yearly" | "annual" | "year" | "每年" | "年" => Some(PeriodKind::Year),
            _ => None,
        }
    }

    /// The canonical config name.
    pub fn as_str(self) -> &'static str {
        match self {
            PeriodKind::Week => "weekly",
            PeriodKind::Month => "monthly",
            PeriodKind::Quarter => "quarterly",
            PeriodKind::Year => "yearly",
        }
    }
}

/// Text that is not a period.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{}` is not a period (use 2026, 2026-Q4, 2026-11 or 2026-W08; 2026年, 2026年11月 and 2026年第4季度 also work)",
    shown(.0)
)]
pub struct BadPeriod(pub String);

impl BadPeriod {
    /// The message in Chinese.
    pub fn zh(&self) -> String {
        format!(
            "「{}」不是有效的周期（可写作 2026、2026-Q4、2026-11、2026-W08，或 2026年、2026年11月、2026年第4季度）",
            shown(&self.0)
        )
    }
}

/// The offending text for a message: at most 40 characters.
fn shown(text: &str) -> String {
    const MAX: usize = 40;
    if text.chars().count() > MAX {
        let mut s: String = text.chars().take(MAX).collect();
        s.push('…');
        s
    } else {
        text.to_string()
    }
}

/// One reporting period: local days `[start_day, end_day)` counted from 1970-01-01.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Period {
    /// What kind.
    pub kind: PeriodKind,
    /// Canonical label (`2026-W48`, `2026-11`, `2026-Q4`, `2026`).
    pub label: String,
    /// First local day.
    pub start_day: i64,
    /// Local day after the last.
    pub end_day: i64,
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.label)
    }
}

impl std::str::FromStr for Period {
    type Err = BadPeriod;
    fn from_str(s: &str) -> Result<Self, BadPeriod> {
        Period::parse(s)
    }
}

impl Period {
    /// Parse a period (see the module docs for the accepted forms).
    pub fn parse(text: &str) -> Result<Period, BadPeriod> {
        parse(text).ok_or_else(|| BadPeriod(text.to_string()))
    }

    /// The period of `kind` that contains local `day`.
    pub fn containing(kind: PeriodKind, day: i64) -> Period {
        let (y, m, _) = civil_from_days(day);
        match kind {
            PeriodKind::Week => {
                let monday = day - (weekday(day) - 1);
                let (iso_year, _, _) = civil_from_days(monday + 3);
                let week = (monday - iso_week_start(iso_year, 1)) / 7 + 1;
                Period {
                    kind,
                    label: format!("{iso_year:04}-W{week:02}"),
                    start_day: monday,
                    end_day: monday + 7,
                }
            }
            PeriodKind::Month => {
                let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
                Period {
                    kind,
                    label: format!("{y:04}-{m:02}"),
                    start_day: days_from_civil(y, m, 1),
                    end_day: days_from_civil(ny, nm, 1),
                }
            }
            PeriodKind::Quarter => {
                let q = (m - 1) / 3 + 1;
                let sm = (q - 1) * 3 + 1;
                let (ny, nm) = if q == 4 { (y + 1, 1) } else { (y, sm + 3) };
                Period {
                    kind,
                    label: format!("{y:04}-Q{q}"),
                    start_day: days_from_civil(y, sm, 1),
                    end_day: days_from_civil(ny, nm, 1),
                }
            }
            PeriodKind::Year => Period {
                kind,
                label: format!("{y:04}"),
                start_day: days_from_civil(y, 1, 1),
                end_day: days_from_civil(y + 1, 1, 1),
            },
        }
    }

    /// The canonical label.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// The period before this one.
    pub fn prev(&self) -> Period {
        Period::containing(self.kind, self.start_day - 1)
    }

    /// Start as UTC ms, for a company at `offset` ms east of UTC.
    pub fn start_ms(&self, offset: Millis) -> Millis {
        self.start_day.saturating_mul(DAY_MS).saturating_sub(offset)
    }

    /// End (exclusive) as UTC ms, for a company at `offset` ms east of UTC.
    pub fn end_ms(&self, offset: Millis) -> Millis {
        self.end_day.saturating_mul(DAY_MS).saturating_sub(offset)
    }
}

/// Days since 1970-01-01 of a civil date (proleptic Gregorian).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = i64::from((m + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Civil date (year, month, day) of a day number.
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    // doy is in 0..=365 and mp in 0..=11, so both fit in u32.
    let d = u32::try_from(doy - (153 * mp + 2) / 5 + 1).unwrap_or(1);
    let m = u32::try_from(if mp < 10 { mp + 3 } else { mp - 9 }).unwrap_or(1);
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// ISO weekday, Monday = 1 … Sunday = 7.
fn weekday(day: i64) -> i64 {
    (day + 3).rem_euclid(7) + 1
}

fn iso_week_start(year: i64, week: i64) -> i64 {
    let jan4 = days_from_civil(year, 1, 4);
    jan4 - (weekday(jan4) - 1) + (week - 1) * 7
}

/// A Chinese numeral digit (as used in years: 二〇二六).
fn zh_digit(c: char) -> Option<u32> {
    Some(match c {
        '〇' | '零' | '○' => 0,
        '一' => 1,
        '二' => 2,
        '三' => 3,
        '四' => 4,
        '五' => 5,
        '六' => 6,
        '七' => 7,
        '八' => 8,
        '九' => 9,
        _ => return None,
    })
}

/// A small number written with ASCII digits (`4`, `08`) or Chinese numerals up to 99
/// (`四`, `十一`, `二十三`).
fn small_number(s: &str) -> Option<u32> {
    if s.is_empty() {
        return None;
    }
    if s.bytes().all(|b| b.is_ascii_digit()) {
        // At most 3 digits: `08`, `012`; longer is not a period part.
        return if s.len() <= 3 { s.parse().ok() } else { None };
    }
    let chars: Vec<char> = s.chars().collect();
    match chars.as_slice() {
        ['十'] => Some(10),
        [d] => zh_digit(*d),
        ['十', d] => Some(10 + zh_digit(*d)?),
        [t, '十'] => Some(zh_digit(*t)? * 10),
        [t, '十', d] => Some(zh_digit(*t)? * 10 + zh_digit(*d)?),
        _ => None,
    }
}

fn parse(text: &str) -> Option<Period> {
    let t: String = text
        .chars()
        .map(fullwidth_to_ascii)
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_uppercase();
    // The year: the first four characters, ASCII digits or Chinese numerals.
    let mut chars = t.chars();
    let mut year: i64 = 0;
    for _ in 0..4 {
        let c = chars.next()?;
        let d = c.to_digit(10).or_else(|| zh_digit(c))?;
        year = year * 10 + i64::from(d);
    }
    let rest = chars.as_str();
    let (rest, chinese) = match rest.strip_prefix('年') {
        Some(r) => (r, true),
        None => match rest.strip_prefix('-') {
            // `2026-` is not a year.
            Some("") => return None,
            Some(r) => (r, false),
            None => (rest, false),
        },
    };
    if rest.is_empty() {
        return Some(Period::containing(
            PeriodKind::Year,
            days_from_civil(year, 1, 1),
        ));
    }
    // Quarter: `Q4`, `第4季度`, `第四季度`, `4季度`, `第四季`.
    let quarter = rest.strip_prefix('Q').or_else(|| {
        let r = rest.strip_prefix('第').unwrap_or(rest);
        r.strip_suffix("季度").or_else(|| r.strip_suffix('季'))
    });
    if let Some(q) = quarter {
        let q = small_number(q).filter(|q| (1..=4).contains(q))?;
        return Some(Period::containing(
            PeriodKind::Quarter,
            days_from_civil(year, (q - 1) * 3 + 1, 1),
        ));
    }
    // ISO week: `W08`, `W8`, `第8周`.
    let week = rest.strip_prefix('W').or_else(|| {
        rest.strip_prefix('第')
            .and_then(|r| r.strip_suffix('周').or_else(|| r.strip_suffix("星期")))
    });
    if let Some(w) = week {
        let w = small_number(w).filter(|w| (1..=53).contains(w))?;
        let p = Period::containing(PeriodKind::Week, iso_week_start(year, i64::from(w)));
        // Week 53 only exists in some years.
        return p.label.starts_with(&format!("{year:04}-")).then_some(p);
    }
    // Month: `11`, `11月`, `十一月`.
    let month = match rest.strip_suffix('月') {
        Some(m) => m,
        None if !chinese => rest,
        None => return None,
    };
    let m = small_number(month).filter(|m| (1..=12).contains(m))?;
    Some(Period::containing(
        PeriodKind::Month,
        days_from_civil(year, m, 1),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn label(text: &str) -> String {
        Period::parse(text).unwrap().label
    }

    #[test]
    fn civil_round_trip() {
        for day in [-800_000, -1, 0, 1, 19_000, 20_500, 2_000_000] {
            let (y, m, d) = civil_from_days(day);
            assert_eq!(days_from_civil(y, m, d), day);
        }
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(days_from_civil(2026, 11, 29), 20_786);
    }

    #[test]
    fn periods_and_labels() {
        let day = days_from_civil(2026, 11, 29); // a Sunday
        assert_eq!(Period::containing(PeriodKind::Week, day).label, "2026-W48");
        assert_eq!(Period::containing(PeriodKind::Month, day).label, "2026-11");
        assert_eq!(
            Period::containing(PeriodKind::Quarter, day).label,
            "2026-Q4"
        );
        assert_eq!(Period::containing(PeriodKind::Year, day).label, "2026");
        // 2021-01-01 belongs to ISO week 2020-W53.
        let p = Period::containing(PeriodKind::Week, days_from_civil(2021, 1, 1));
        assert_eq!(p.label, "2020-W53");
        assert_eq!(Period::parse("2020-W53").unwrap(), p);
        assert!(Period::parse("2021-W53").is_err());
        assert_eq!(Period::parse("2026-Q4").unwrap().prev().label, "2026-Q3");
        assert_eq!(Period::parse("2026-01").unwrap().prev().label, "2025-12");
        assert_eq!(Period::parse("2026").unwrap().prev().label, "2025");
        let q4 = Period::parse("2026-Q4").unwrap();
        assert_eq!(q4.start_day, days_from_civil(2026, 10, 1));
        assert_eq!(q4.end_day, days_from_civil(2027, 1, 1));
        assert_eq!(
            q4.start_ms(8 * 3_600_000),
            q4.start_day * DAY_MS - 8 * 3_600_000
        );
    }

    #[test]
    fn accepted_forms_normalise_to_labels() {
        for (text, want) in [
            ("2026", "2026"),
            (" 2026 ", "2026"),
            ("2026-Q4", "2026-Q4"),
            ("2026Q4", "2026-Q4"),
            ("2026-q4", "2026-Q4"),
            ("2026-11", "2026-11"),
            ("202611", "2026-11"),
            ("2026-1", "2026-01"),
            ("2026-W08", "2026-W08"),
            ("2026-w8", "2026-W08"),
            ("2026W48", "2026-W48"),
            ("２０２６Ｑ４", "2026-Q4"),
            ("２０２６-Q4", "2026-Q4"),
            ("２０２６－１１", "2026-11"),
            ("2026年", "2026"),
            ("二〇二六年", "2026"),
            ("二〇二六", "2026"),
            ("2026年11月", "2026-11"),
            ("2026年1月", "2026-01"),
            ("2026年十一月", "2026-11"),
            ("二〇二六年十二月", "2026-12"),
            ("2026年第4季度", "2026-Q4"),
            ("2026年第四季度", "2026-Q4"),
            ("2026年四季度", "2026-Q4"),
            ("2026年Q4", "2026-Q4"),
            ("2026年第8周", "2026-W08"),
            ("２０２６年１１月", "2026-11"),
        ] {
            assert_eq!(label(text), want, "{text}");
        }
    }

    #[test]
    fn rejects_without_panicking() {
        let long = "2026-Q4".repeat(10_000);
        let digits = "9".repeat(5_000);
        let odd = [
            "",
            " ",
            "soon",
            "2026-13",
            "2026-00",
            "2026-Q0",
            "2026-Q5",
            "2026-W00",
            "2026-W54",
            "2026年13月",
            "2026年第五季度",
            "2026年第",
            "2026年季度",
            "2026年11",
            "2026-",
            "2026--11",
            "20",
            "二〇二",
            "二〇二六年第十四季度",
            "2026年第四季度吧",
            "🎉",
            "2026🎉",
            "🎉2026",
            "20🎉26-Q4",
            "2026-Q🎉",
            "2026-W🎉",
            "2026年🎉月",
            "é",
            "2026-é",
            "\u{0}",
            "2026\u{301}",
            "٢٠٢٦",
            "2026-Q4-extra",
            "2026-11-29",
            long.as_str(),
            digits.as_str(),
        ];
        for text in odd {
            let err = Period::parse(text).unwrap_err();
            assert!(err.to_string().contains("is not a period"), "{text}");
            assert!(err.zh().contains("不是有效的周期"));
        }
        // Every prefix of mixed text, cut at every character boundary.
        let mixed = "２０２６年第四季度🎉2026-W08二〇二六年十一月";
        for (i, _) in mixed.char_indices() {
            let (a, b) = mixed.split_at(i);
            let _ = Period::parse(a);
            let _ = Period::parse(b);
        }
    }

    #[test]
    fn error_names_the_text_and_the_forms() {
        let e = Period::parse("next quarter").unwrap_err();
        assert_eq!(
            e.to_string(),
            "`next quarter` is not a period (use 2026, 2026-Q4, 2026-11 or 2026-W08; 2026年, 2026年11月 and 2026年第4季度 also work)"
        );
        assert!(e.zh().starts_with("「next quarter」不是有效的周期"));
        let long = Period::parse(&"x".repeat(500)).unwrap_err().to_string();
        assert!(long.len() < 200);
    }
}
