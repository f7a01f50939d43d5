//! Calendar arithmetic on UTC milliseconds with a fixed company UTC offset: dates for
//! messages, and reporting periods (week, month, quarter, year). No clock is read here.

use fieldcrm_model::{DAY_MS, Millis};

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

/// One reporting period: local days `[start_day, end_day)` counted from 1970-01-01.
#[derive(Debug, Clone, PartialEq, Eq)]
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

impl Period {
    /// Start as UTC ms.
    pub fn start_ms(&self, offset: Millis) -> Millis {
        day_start_ms(self.start_day, offset)
    }

    /// End (exclusive) as UTC ms.
    pub fn end_ms(&self, offset: Millis) -> Millis {
        day_start_ms(self.end_day, offset)
    }

    /// The period before this one.
    pub fn prev(&self) -> Period {
        period_of(self.kind, self.start_day - 1)
    }
}

/// Local day number of an instant.
pub fn local_day(ms: Millis, offset: Millis) -> i64 {
    (ms.saturating_add(offset)).div_euclid(DAY_MS)
}

/// UTC ms at which a local day starts.
pub fn day_start_ms(day: i64, offset: Millis) -> Millis {
    day.saturating_mul(DAY_MS).saturating_sub(offset)
}

/// `YYYY-MM-DD` of an instant in local time.
pub fn fmt_date(ms: Millis, offset: Millis) -> String {
    let (y, m, d) = civil_from_days(local_day(ms, offset));
    format!("{y:04}-{m:02}-{d:02}")
}

/// `YYYY-MM-DD HH:MM` of an instant in local time.
pub fn fmt_datetime(ms: Millis, offset: Millis) -> String {
    let local = ms.saturating_add(offset);
    let mins = local.rem_euclid(DAY_MS) / 60_000;
    format!("{} {:02}:{:02}", fmt_date(ms, offset), mins / 60, mins % 60)
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

/// Civil date of a day number.
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
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

/// The period of `kind` that contains local `day`.
pub fn period_of(kind: PeriodKind, day: i64) -> Period {
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

/// Parse a period label: `2026`, `2026-Q4`, `2026-11`, `2026-W48` (full-width digits,
/// lowercase letters and `2026Q4`/`2026W48` without the dash are accepted).
pub fn parse_period(text: &str) -> Option<Period> {
    let t: String = text
        .trim()
        .chars()
        .map(fieldcrm_model::money::fullwidth_to_ascii)
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_uppercase();
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if t.len() == 4 && digits(&t) {
        let y: i64 = t.parse().ok()?;
        return Some(period_of(PeriodKind::Year, days_from_civil(y, 1, 1)));
    }
    if t.len() < 5 || !digits(&t[..4]) {
        return None;
    }
    let y: i64 = t[..4].parse().ok()?;
    let rest = t[4..].strip_prefix('-').unwrap_or(&t[4..]);
    if let Some(q) = rest.strip_prefix('Q') {
        let q: u32 = q.parse().ok().filter(|q| (1..=4).contains(q))?;
        return Some(period_of(
            PeriodKind::Quarter,
            days_from_civil(y, (q - 1) * 3 + 1, 1),
        ));
    }
    if let Some(w) = rest.strip_prefix('W') {
        let w: i64 = w.parse().ok().filter(|w| (1..=53).contains(w))?;
        let p = period_of(PeriodKind::Week, iso_week_start(y, w));
        // Week 53 only exists in some years.
        return p.label.starts_with(&format!("{y:04}-")).then_some(p);
    }
    let m: u32 = rest.parse().ok().filter(|m| (1..=12).contains(m))?;
    Some(period_of(PeriodKind::Month, days_from_civil(y, m, 1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const CST: Millis = 8 * 3_600_000;

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
    fn dates_use_the_offset() {
        // 2026-11-29 20:00 UTC is 2026-11-30 04:00 in Beijing.
        let ms = day_start_ms(days_from_civil(2026, 11, 29), 0) + 20 * 3_600_000;
        assert_eq!(fmt_date(ms, 0), "2026-11-29");
        assert_eq!(fmt_date(ms, CST), "2026-11-30");
        assert_eq!(fmt_datetime(ms, CST), "2026-11-30 04:00");
    }

    #[test]
    fn periods_and_labels() {
        let day = days_from_civil(2026, 11, 29); // a Sunday
        assert_eq!(period_of(PeriodKind::Week, day).label, "2026-W48");
        assert_eq!(period_of(PeriodKind::Month, day).label, "2026-11");
        assert_eq!(period_of(PeriodKind::Quarter, day).label, "2026-Q4");
        assert_eq!(period_of(PeriodKind::Year, day).label, "2026");
        // 2021-01-01 belongs to ISO week 2020-W53.
        let p = period_of(PeriodKind::Week, days_from_civil(2021, 1, 1));
        assert_eq!(p.label, "2020-W53");
        assert_eq!(parse_period("2020-W53").unwrap(), p);
        assert!(parse_period("2021-W53").is_none());
        assert_eq!(parse_period("2026-w8").unwrap().label, "2026-W08");
        assert_eq!(parse_period("２０２６Ｑ４").unwrap().label, "2026-Q4");
        assert_eq!(
            parse_period("2026-Q4").unwrap().prev().label,
            "2026-Q3".to_string()
        );
        assert_eq!(parse_period("2026-01").unwrap().prev().label, "2025-12");
        assert!(parse_period("2026-13").is_none());
        assert!(parse_period("soon").is_none());
    }
}
