//! How values read on a page: money in 元 / 万元, times as 今天 / 昨天 / 3天前 with the
//! exact time on hover, vocabulary in the user's language.

use fieldcrm_model::{Fen, Lang, Millis};
use fieldcrm_workspace::input::Clock;
use jiff::Timestamp;
use maud::{Markup, html};

/// Pick the text for `lang`.
pub(crate) fn t(lang: Lang, zh: &'static str, en: &'static str) -> &'static str {
    match lang {
        Lang::Zh => zh,
        Lang::En => en,
    }
}

/// Pick owned text for `lang`.
pub(crate) fn tr(lang: Lang, zh: String, en: String) -> String {
    match lang {
        Lang::Zh => zh,
        Lang::En => en,
    }
}

fn group_thousands(n: u128) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    let len = digits.chars().count();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (len - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The exact amount: `¥1,299.50`, `¥2,000,000`.
pub(crate) fn yuan_exact(fen: Fen) -> String {
    let neg = fen < 0;
    let abs = u128::from(fen.unsigned_abs());
    let (y, f) = (abs / 100, abs % 100);
    let body = if f == 0 {
        group_thousands(y)
    } else {
        format!("{}.{f:02}", group_thousands(y))
    };
    format!("{}¥{body}", if neg { "-" } else { "" })
}

/// A short amount: `¥1,299.50` below a million yuan, `200万元` / `¥2M` above.
pub(crate) fn yuan(fen: Fen, lang: Lang) -> String {
    let abs = fen.unsigned_abs();
    if abs < 100_000_000 {
        return yuan_exact(fen);
    }
    let sign = if fen < 0 { "-" } else { "" };
    match lang {
        Lang::Zh => {
            // 万元 with up to two decimals.
            let hundredths = (u128::from(abs) + 5_000) / 10_000;
            let (w, d) = (hundredths / 100, hundredths % 100);
            let dec = match d {
                0 => String::new(),
                d if d % 10 == 0 => format!(".{}", d / 10),
                d => format!(".{d:02}"),
            };
            format!("{sign}{}{dec}万元", group_thousands(w))
        }
        Lang::En => {
            let hundredths = (u128::from(abs) + 500_000) / 1_000_000;
            let (m, d) = (hundredths / 100, hundredths % 100);
            let dec = match d {
                0 => String::new(),
                d if d % 10 == 0 => format!(".{}", d / 10),
                d => format!(".{d:02}"),
            };
            format!("{sign}¥{}{dec}M", group_thousands(m))
        }
    }
}

/// An amount as a `<span>` with the exact value on hover.
pub(crate) fn money(fen: Fen, lang: Lang) -> Markup {
    html! { span.money title=(yuan_exact(fen)) { (yuan(fen, lang)) } }
}

/// A percentage from basis points: `12.5%`.
pub(crate) fn pct(bp: i64) -> String {
    let tenths = bp.saturating_add(if bp >= 0 { 5 } else { -5 }) / 10;
    format!("{}.{}%", tenths / 10, (tenths % 10).abs())
}

fn civil_date(clock: &Clock, ms: Millis) -> Option<jiff::civil::Date> {
    Timestamp::from_millisecond(ms)
        .ok()
        .map(|ts| ts.to_zoned(clock.tz.clone()).date())
}

/// Calendar days from `ms` to now in the zone (positive: in the past).
pub(crate) fn days_ago(clock: &Clock, ms: Millis) -> Option<i64> {
    let then = civil_date(clock, ms)?;
    let today = civil_date(clock, clock.now)?;
    today.since(then).ok().map(|s| i64::from(s.get_days()))
}

/// `今天 14:00`, `昨天`, `3天前`, `明天`, `3天后`, else the date.
pub(crate) fn relative(clock: &Clock, ms: Millis, lang: Lang) -> String {
    let exact = clock.fmt(ms);
    let hm: String = exact.chars().skip(11).collect();
    match days_ago(clock, ms) {
        Some(0) => match lang {
            Lang::Zh => format!("今天 {hm}"),
            Lang::En => format!("Today {hm}"),
        },
        Some(1) => t(lang, "昨天", "Yesterday").to_string(),
        Some(-1) => t(lang, "明天", "Tomorrow").to_string(),
        Some(d @ 2..=30) => tr(lang, format!("{d}天前"), format!("{d} days ago")),
        Some(d @ -30..=-2) => tr(lang, format!("{}天后", -d), format!("in {} days", -d)),
        _ => clock.date(ms),
    }
}

/// A time as `<time>` with the relative text and the exact time in the zone on hover.
pub(crate) fn when(clock: &Clock, ms: Millis, lang: Lang) -> Markup {
    let iso = Timestamp::from_millisecond(ms)
        .map(|t| t.to_string())
        .unwrap_or_default();
    html! { time datetime=(iso) title=(clock.fmt(ms)) { (relative(clock, ms, lang)) } }
}

/// The first 8 characters of an ID.
pub(crate) fn short(id: &str) -> String {
    id.chars().take(8).collect()
}

/// A value for an `<input type=text>` with a time: `2026-11-29T14:00`.
pub(crate) fn input_time(clock: &Clock, ms: Millis) -> String {
    clock.fmt(ms).replacen(' ', "T", 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_reads_like_money() {
        assert_eq!(yuan_exact(129_950), "¥1,299.50");
        assert_eq!(yuan_exact(200_000_000), "¥2,000,000");
        assert_eq!(yuan(200_000_000, Lang::Zh), "200万元");
        assert_eq!(yuan(123_456_700, Lang::Zh), "123.46万元");
        assert_eq!(yuan(250_000_000, Lang::En), "¥2.5M");
        assert_eq!(yuan(129_950, Lang::Zh), "¥1,299.50");
        assert_eq!(yuan_exact(-5), "-¥0.05");
        assert!(!yuan(i64::MIN, Lang::Zh).is_empty());
        assert_eq!(pct(2200), "22.0%");
        assert_eq!(pct(1250), "12.5%");
    }

    #[test]
    fn dates_are_relative_in_the_zone() {
        let c = Clock::new("Asia/Shanghai", 0).unwrap();
        let now = c.parse("at", "2026-11-29T14:00").unwrap();
        let c = Clock::new("Asia/Shanghai", now).unwrap();
        assert_eq!(relative(&c, now, Lang::Zh), "今天 14:00");
        let y = c.parse("at", "2026-11-28T23:30").unwrap();
        assert_eq!(relative(&c, y, Lang::Zh), "昨天");
        let d3 = c.parse("at", "2026-11-26T09:00").unwrap();
        assert_eq!(relative(&c, d3, Lang::Zh), "3天前");
        assert_eq!(relative(&c, d3, Lang::En), "3 days ago");
        let old = c.parse("at", "2025-01-01").unwrap();
        assert_eq!(relative(&c, old, Lang::Zh), "2025-01-01");
        assert!(!relative(&c, i64::MAX, Lang::Zh).is_empty());
        assert_eq!(input_time(&c, now), "2026-11-29T14:00");
    }
}
