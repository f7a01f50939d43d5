//! Calendar arithmetic on UTC milliseconds with a fixed company UTC offset: dates for
//! messages, and the reporting period an instant falls in. No clock is read here.
//!
//! Periods themselves ([`Period`], [`PeriodKind`], [`Period::parse`]) and the civil-date
//! arithmetic live in the model (`fieldcrm_model::period`) and are re-exported here.

use fieldcrm_model::{DAY_MS, Millis};

pub use fieldcrm_model::period::{civil_from_days, days_from_civil};
pub use fieldcrm_model::{BadPeriod, Period, PeriodKind};

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

/// The period of `kind` that contains local `day`.
pub fn period_of(kind: PeriodKind, day: i64) -> Period {
    Period::containing(kind, day)
}

/// The period of `kind` that contains the instant `ms`, for a company at `offset`.
pub fn period_at(kind: PeriodKind, ms: Millis, offset: Millis) -> Period {
    Period::containing(kind, local_day(ms, offset))
}

#[cfg(test)]
mod tests {
    use super::*;

    const CST: Millis = 8 * 3_600_000;

    #[test]
    fn dates_use_the_offset() {
        // 2026-11-29 20:00 UTC is 2026-11-30 04:00 in Beijing.
        let ms = day_start_ms(days_from_civil(2026, 11, 29), 0) + 20 * 3_600_000;
        assert_eq!(fmt_date(ms, 0), "2026-11-29");
        assert_eq!(fmt_date(ms, CST), "2026-11-30");
        assert_eq!(fmt_datetime(ms, CST), "2026-11-30 04:00");
        assert_eq!(period_at(PeriodKind::Week, ms, 0).label, "2026-W48");
        assert_eq!(period_at(PeriodKind::Week, ms, CST).label, "2026-W49");
    }

    #[test]
    fn period_bounds_use_the_offset() {
        let day = days_from_civil(2026, 11, 29);
        let p = period_of(PeriodKind::Month, day);
        assert_eq!(p.label, "2026-11");
        assert_eq!(p.start_ms(CST), day_start_ms(p.start_day, CST));
        assert_eq!(
            p.end_ms(CST),
            day_start_ms(days_from_civil(2026, 12, 1), CST)
        );
    }
}
