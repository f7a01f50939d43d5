//! Money in integer fen (分): 1 yuan = 100 fen. Never floating point.

use crate::Fen;

/// Text that is not a non-negative amount of yuan with at most two decimals.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{0}` is not an amount in yuan (expected e.g. 1200 or 1,299.50; not negative, at most 2 decimals)"
)]
pub struct BadAmount(pub String);

/// Parse yuan text (`1200`, `1,299.5`, `¥88.00`, `１２００` full-width) into fen.
pub fn parse_yuan(text: &str) -> Result<Fen, BadAmount> {
    let bad = || BadAmount(text.to_string());
    let s: String = text
        .trim()
        .chars()
        .map(fullwidth_to_ascii)
        .filter(|c| *c != ',' && *c != '¥' && *c != '￥' && *c != ' ')
        .collect();
    let s = s.strip_suffix('元').unwrap_or(&s);
    if s.is_empty() || s.starts_with('-') || s.starts_with('+') {
        return Err(bad());
    }
    let (whole, frac) = match s.split_once('.') {
        Some((w, f)) => (w, f),
        None => (s, ""),
    };
    if whole.is_empty()
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || frac.len() > 2
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(bad());
    }
    let whole: i64 = whole.parse().map_err(|_| bad())?;
    let frac_fen: i64 = match frac.len() {
        0 => 0,
        1 => frac.parse::<i64>().map_err(|_| bad())? * 10,
        _ => frac.parse().map_err(|_| bad())?,
    };
    whole
        .checked_mul(100)
        .and_then(|w| w.checked_add(frac_fen))
        .ok_or_else(bad)
}

/// Format fen as yuan with thousands separators and two decimals: `1,234.50`.
pub fn format_yuan(fen: Fen) -> String {
    let neg = fen < 0;
    let abs = fen.unsigned_abs();
    let whole = (abs / 100).to_string();
    let mut grouped = String::new();
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    format!("{}{}.{:02}", if neg { "-" } else { "" }, grouped, abs % 100)
}

/// Map a full-width ASCII character (as typed with a Chinese IME) to half-width.
pub fn fullwidth_to_ascii(c: char) -> char {
    match c {
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        '\u{3000}' => ' ',
        _ => c,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_formats() {
        assert_eq!(parse_yuan("1200").unwrap(), 120_000);
        assert_eq!(parse_yuan("1,299.5").unwrap(), 129_950);
        assert_eq!(parse_yuan("￥８８．０８").unwrap(), 8_808);
        assert_eq!(parse_yuan("3元").unwrap(), 300);
        for bad in ["-5", "abc", "1.234", "", "1e5", "."] {
            assert!(parse_yuan(bad).is_err(), "{bad}");
        }
        assert_eq!(format_yuan(123_456_789), "1,234,567.89");
        assert_eq!(format_yuan(5), "0.05");
        assert_eq!(format_yuan(-100), "-1.00");
    }
}
