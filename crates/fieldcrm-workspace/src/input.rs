//! Text a person typed, turned into typed values: the one parser for each kind of input,
//! shared by the CLI's arguments and the web app's form fields, so both refuse the same
//! bad input with the same message (field-tagged, Chinese and English).
//!
//! Everything here is char-safe and never panics, whatever the text.

use std::str::FromStr;

use fieldcrm_model::money::parse_yuan;
use fieldcrm_model::{Fen, Millis};
use jiff::{Timestamp, Zoned, civil, tz::TimeZone};

use crate::{Error, Result};

/// The default workspace time zone.
pub const DEFAULT_TIMEZONE: &str = "Asia/Shanghai";

/// The input field and its Chinese and English names, for a validation label used by
/// the record operations ("customer name", "the interaction time", ...). Unknown labels
/// are used as they are in both languages.
pub(crate) fn field_names(what: &str) -> (&str, &str, &str) {
    match what {
        "SKU" => ("sku", "产品编号", "SKU"),
        "archive reference" => ("reference", "归档编号", "archive reference"),
        "channel name" => ("name", "渠道名称", "channel name"),
        "complaint summary" => ("summary", "投诉摘要", "complaint summary"),
        "contact name" => ("name", "联系人姓名", "contact name"),
        "contract amount" => ("amount", "合同金额", "contract amount"),
        "contract title" => ("title", "合同标题", "contract title"),
        "cooperation plan" => ("plan", "合作计划", "cooperation plan"),
        "customer name" => ("name", "客户名称", "customer name"),
        "description" => ("description", "描述", "description"),
        "gift value" => ("value", "礼品价值", "gift value"),
        "investigation findings" => ("text", "调查结论", "investigation findings"),
        "list price" => ("list_price", "目录价", "list price"),
        "opportunity title" => ("title", "商机标题", "opportunity title"),
        "plan text" => ("text", "计划内容", "plan text"),
        "price" => ("price", "价格", "price"),
        "product line" => ("product_line", "产品线", "product line"),
        "product name" => ("name", "产品名称", "product name"),
        "quantity" => ("quantity", "数量", "quantity"),
        "region" => ("region", "区域", "region"),
        "report summary" => ("summary", "报告摘要", "report summary"),
        "resolution text" => ("text", "处理结果", "resolution text"),
        "response text" => ("text", "回复内容", "response text"),
        "responsibilities" => ("responsibilities", "责任", "responsibilities"),
        "rights" => ("rights", "权利", "rights"),
        "summary" => ("summary", "摘要", "summary"),
        "target amount" => ("amount", "目标金额", "target amount"),
        "team" => ("team", "团队", "team"),
        "topic" => ("topic", "主题", "topic"),
        "user name" => ("name", "用户名", "user name"),
        "the communication time" => ("at", "沟通时间", "the communication time"),
        "the complaint time" => ("at", "投诉时间", "the complaint time"),
        "the delivery time" => ("at", "交付时间", "the delivery time"),
        "the gift time" => ("at", "礼品时间", "the gift time"),
        "the interaction time" => ("at", "互动时间", "the interaction time"),
        "the response time" => ("at", "回复时间", "the response time"),
        "the signing time" => ("at", "签订时间", "the signing time"),
        "the survey time" => ("at", "调查时间", "the survey time"),
        "the training time" => ("at", "培训时间", "the training time"),
        "the report time" => ("at", "报告时间", "the report time"),
        "amount" => ("amount", "金额", "amount"),
        other => (other, other, other),
    }
}

/// Longest name a person may type (customer, channel, contact, product, user names and
/// titles), in characters.
pub const MAX_NAME_CHARS: usize = 200;
/// Longest free text (notes, summaries, findings, plans, addresses), in characters.
pub const MAX_TEXT_CHARS: usize = 10_000;

/// Fields whose values are names or titles (the shorter limit).
const NAME_FIELDS: &[&str] = &["name", "title", "product", "sku", "team", "region"];

/// Refuse the last local change of `doc` if it writes a text longer than its limit
/// ([`MAX_NAME_CHARS`] for names, [`MAX_TEXT_CHARS`] for other text). Run by every
/// workspace write before it is saved, so one oversized note can never reach the store
/// (and then block every sync of the device).
pub(crate) fn check_text_sizes(doc: &mut fieldcrm_model::Document) -> Result<()> {
    use automerge::ScalarValue;
    use automerge::legacy::{Key, OpType};
    let Some(change) = doc.automerge_mut().get_last_local_change() else {
        return Ok(());
    };
    for op in change.decode().operations {
        let (OpType::Put(ScalarValue::Str(text)), Key::Map(key)) = (&op.action, &op.key) else {
            continue;
        };
        check_text(key.as_str(), text)?;
    }
    Ok(())
}

/// Refuse `text` if it is longer than the limit for a value of field `key` (see
/// [`check_text_sizes`]; an import checks each cell before it builds the document).
pub(crate) fn check_text(key: &str, text: &str) -> Result<()> {
    let limit = if NAME_FIELDS.contains(&key) {
        MAX_NAME_CHARS
    } else {
        MAX_TEXT_CHARS
    };
    // Counting stops past the limit: a huge cell costs no more than a long one.
    let chars = text.chars().take(limit + 1).count();
    if chars > limit {
        let chars = text.chars().count();
        return Err(Error::bad(
            key,
            format!("“{key}”内容过长：{chars} 个字符，最多 {limit} 个"),
            format!("`{key}` is too long: {chars} characters, at most {limit}"),
        ));
    }
    Ok(())
}

/// An amount in yuan (`2,000,000`, `1299.50`, `￥１２００`, `1200元`) → fen.
pub fn money(field: &str, text: &str) -> Result<Fen> {
    parse_yuan(text).map_err(|_| {
        Error::bad(
            field,
            format!("“{text}”不是金额（例如 1299.50 或 2,000,000，单位元，不能为负）"),
            format!("`{text}` is not an amount (e.g. 1299.50 or 2,000,000 yuan, not negative)"),
        )
    })
}

/// A whole number (full-width digits accepted).
pub fn int(field: &str, text: &str) -> Result<i64> {
    let ascii: String = text.trim().chars().map(fullwidth_digit).collect();
    ascii.parse::<i64>().map_err(|_| {
        Error::bad(
            field,
            format!("“{text}”不是整数"),
            format!("`{text}` is not a whole number"),
        )
    })
}

/// A whole number from `lo` to `hi` (a score), with the range in the message.
pub fn int_between(field: &str, text: &str, lo: i64, hi: i64) -> Result<i64> {
    let n = int(field, text)?;
    if (lo..=hi).contains(&n) {
        Ok(n)
    } else {
        Err(Error::bad(
            field,
            format!("“{text}”应为 {lo} 到 {hi} 之间的整数"),
            format!("`{text}` must be a whole number from {lo} to {hi}"),
        ))
    }
}

/// A term typed as a start and an end (a date-only end runs to the end of that day), in
/// the zone of `clock`; refused on `to_field` unless it ends after it starts.
pub fn term(
    clock: &Clock,
    from_field: &str,
    from: &str,
    to_field: &str,
    to: &str,
) -> Result<(Millis, Millis)> {
    let start = clock.parse(from_field, from)?;
    let end = clock.parse_end(to_field, to)?;
    if end <= start {
        return Err(Error::bad(
            to_field,
            "结束日期必须晚于开始日期",
            "the term must end after it starts",
        ));
    }
    Ok((start, end))
}

/// A percentage (`10%`, `12.5`, `１０％`) → basis points (0 ..= 10,000).
pub fn percent_bp(field: &str, text: &str) -> Result<i64> {
    let ascii: String = text.trim().chars().map(fullwidth_digit).collect();
    let bad = || {
        Error::bad(
            field,
            format!("“{text}”不是 0 到 100 之间的百分比（例如 10%）"),
            format!("`{text}` is not a percentage between 0 and 100 (e.g. 10%)"),
        )
    };
    let pct: f64 = ascii
        .trim_end_matches(['%', '％'])
        .trim()
        .parse()
        .map_err(|_| bad())?;
    if !pct.is_finite() || !(0.0..=100.0).contains(&pct) {
        return Err(bad());
    }
    Ok((pct * 100.0).round() as i64)
}

/// A vocabulary value (class, role, stage, ...): English or Chinese names.
pub fn vocab<T>(field: &str, text: &str) -> Result<T>
where
    T: FromStr<Err = fieldcrm_model::UnknownVariant>,
{
    text.parse::<T>().map_err(|e| {
        Error::bad(
            field,
            format!("未知的{}“{}”；可选：{}", e.what, e.value, e.expected),
            e.to_string(),
        )
    })
}

/// A sales period (`2026`, `2026-Q4`, `2026-11`, `2026-W48`, full-width digits and Chinese
/// forms such as `2026年第四季度`) → its canonical label.
pub fn period(field: &str, text: &str) -> Result<String> {
    fieldcrm_model::Period::parse(text)
        .map(|p| p.label)
        .map_err(|e| Error::bad(field, e.zh(), e.to_string()))
}

/// A one-time invitation code as people type it (`ABCD-EFGH`, any case, dash optional,
/// `I`/`L` read as `1`, `O` as `0`).
pub fn invite_code(field: &str, text: &str) -> Result<fieldcrm_model::InviteCode> {
    fieldcrm_model::InviteCode::parse(text).map_err(|e| {
        let zh = match &e {
            fieldcrm_model::invitation::BadCode::Length(n) => {
                format!("邀请码应为 8 位（例如 ABCD-EFGH），这里是 {n} 位")
            }
            fieldcrm_model::invitation::BadCode::Character(c) => {
                format!("邀请码中不能有“{c}”（只有字母和数字，没有 U）")
            }
            _ => "邀请码无效".to_string(),
        };
        Error::bad(field, zh, e.to_string())
    })
}

/// A length of time: a whole number and a unit, `30s`, `30m`, `72h`, `3d` (Chinese units
/// `秒`, `分钟`, `小时`, `天` too). UTC milliseconds; more than zero.
pub fn duration(field: &str, text: &str) -> Result<Millis> {
    let t: String = text.trim().chars().map(fullwidth_digit).collect();
    let digits: String = t.chars().take_while(char::is_ascii_digit).collect();
    let unit = t.get(digits.len()..).unwrap_or("").trim().to_lowercase();
    let per: Option<Millis> = match unit.as_str() {
        "s" | "秒" => Some(1_000),
        "m" | "min" | "分钟" => Some(60_000),
        "h" | "小时" => Some(3_600_000),
        "d" | "天" => Some(86_400_000),
        _ => None,
    };
    match (digits.parse::<i64>().ok(), per) {
        (Some(n), Some(per)) if n > 0 => n.checked_mul(per).ok_or_else(|| {
            Error::bad(
                field,
                format!("时长“{text}”太长"),
                format!("`{text}` is too long"),
            )
        }),
        _ => Err(Error::bad(
            field,
            format!("时长“{text}”无效：请写数字加单位，例如 72h、3d、30m"),
            format!(
                "`{text}` is not a length of time: write a number and a unit, like 72h, 3d or 30m"
            ),
        )),
    }
}

fn fullwidth_digit(c: char) -> char {
    match c {
        '０'..='９' => char::from_u32(c as u32 - '０' as u32 + '0' as u32).unwrap_or(c),
        '．' => '.',
        '－' => '-',
        _ => c,
    }
}

/// Times in the workspace's time zone: formatting and parsing what people type.
#[derive(Clone, Debug)]
pub struct Clock {
    /// The display zone.
    pub tz: TimeZone,
    /// "Now", read once at the edge (or given).
    pub now: Millis,
}

impl Clock {
    /// Build from an IANA zone name.
    pub fn new(tz_name: &str, now: Millis) -> Result<Self> {
        let tz = TimeZone::get(tz_name.trim()).map_err(|_| {
            Error::bad(
                "timezone",
                format!("未知的时区“{tz_name}”（例如 Asia/Shanghai）"),
                format!("unknown time zone `{tz_name}` (e.g. Asia/Shanghai)"),
            )
        })?;
        Ok(Clock { tz, now })
    }

    /// Format UTC ms as `2026-11-29 14:00` in the zone.
    pub fn fmt(&self, ms: Millis) -> String {
        let mut out = String::with_capacity(16);
        self.fmt_into(&mut out, ms);
        out
    }

    /// [`Clock::fmt`], appended to `out` (a listing formats 100,000 times into one buffer).
    pub fn fmt_into(&self, out: &mut String, ms: Millis) {
        use std::fmt::Write;
        // Two digits, written directly: `write!` costs more than the zone lookup.
        fn two(out: &mut String, n: i8) {
            let n = n.unsigned_abs();
            out.push(char::from(b'0' + (n / 10) % 10));
            out.push(char::from(b'0' + n % 10));
        }
        match Timestamp::from_millisecond(ms) {
            Ok(ts) => {
                let t = self.tz.to_datetime(ts);
                let year = t.year();
                if (1000..=9999).contains(&year) {
                    let (hi, lo) = ((year / 100) as i8, (year % 100) as i8);
                    two(out, hi);
                    two(out, lo);
                } else {
                    let _ = write!(out, "{year:04}");
                }
                out.push('-');
                two(out, t.month());
                out.push('-');
                two(out, t.day());
                out.push(' ');
                two(out, t.hour());
                out.push(':');
                two(out, t.minute());
            }
            Err(_) => {
                let _ = write!(out, "{ms}");
            }
        }
    }

    /// Format an optional time, `-` if none.
    pub fn fmt_opt(&self, ms: Option<Millis>) -> String {
        ms.map(|m| self.fmt(m)).unwrap_or_else(|| "-".into())
    }

    /// Format a date only.
    pub fn date(&self, ms: Millis) -> String {
        self.fmt(ms).chars().take(10).collect()
    }

    /// Parse `2026-11-29`, `2026-11-29T14:00`, `2026-11-29 14:00` (zone time), or an
    /// RFC 3339 timestamp with offset, into UTC ms. Full-width digits are accepted.
    pub fn parse(&self, field: &str, text: &str) -> Result<Millis> {
        let t: String = text.trim().chars().map(fullwidth_digit).collect();
        let t = t.replace('：', ":");
        let bad = || {
            Error::bad(
                field,
                format!("“{text}”不是日期（例如 2026-11-29 或 2026-11-29T14:00）"),
                format!("`{text}` is not a date (use 2026-11-29 or 2026-11-29T14:00)"),
            )
        };
        if let Ok(ts) = t.parse::<Timestamp>() {
            return Ok(ts.as_millisecond());
        }
        let has_time = t.contains(':');
        let dt = if !has_time && let Ok(d) = t.parse::<civil::Date>() {
            d.to_datetime(civil::Time::midnight())
        } else if has_time && let Ok(dt) = t.replacen(' ', "T", 1).parse::<civil::DateTime>() {
            dt
        } else {
            return Err(bad());
        };
        let z: Zoned = dt.to_zoned(self.tz.clone()).map_err(|_| bad())?;
        Ok(z.timestamp().as_millisecond())
    }

    /// Parse an optional time, defaulting to now.
    pub fn parse_or_now(&self, field: &str, text: Option<&str>) -> Result<Millis> {
        match text {
            Some(t) => self.parse(field, t),
            None => Ok(self.now),
        }
    }

    /// The end of the given day (23:59:59.999 local) for a date-only input; the exact
    /// time otherwise.
    pub fn parse_end(&self, field: &str, text: &str) -> Result<Millis> {
        let t = text.trim();
        if !t.contains([':', '：']) && t.parse::<civil::Date>().is_ok() {
            Ok(self.parse(field, t)? + fieldcrm_model::DAY_MS - 1)
        } else {
            self.parse(field, t)
        }
    }
}

/// Parse a clock override (`--now`): RFC 3339, or a date/time in Asia/Shanghai.
pub fn parse_now(text: &str) -> Result<Millis> {
    Clock::new(DEFAULT_TIMEZONE, 0)?.parse("now", text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use fieldcrm_model::{CustomerClass, Lang};

    #[test]
    fn bad_input_names_its_field_in_both_languages() {
        let e = money("price", "-5").unwrap_err();
        assert_eq!(e.field(), Some("price"));
        assert!(e.message(Lang::Zh).contains("不是金额"));
        assert_eq!(money("price", "￥１,２００").unwrap(), 120_000);
        assert_eq!(int("quantity", "２０").unwrap(), 20);
        assert!(int("quantity", "二十").is_err());
        assert_eq!(percent_bp("allowance", "12.5%").unwrap(), 1250);
        assert!(percent_bp("allowance", "120").is_err());
        assert!(percent_bp("allowance", "NaN").is_err());
        assert_eq!(
            vocab::<CustomerClass>("class", "重要").unwrap(),
            CustomerClass::Key
        );
        let e = vocab::<CustomerClass>("class", "vip").unwrap_err();
        assert_eq!(e.field(), Some("class"));
        assert!(e.message(Lang::Zh).contains("未知"));
        assert_eq!(int_between("score", "１００", 0, 100).unwrap(), 100);
        let e = int_between("score", "101", 0, 100).unwrap_err();
        assert_eq!(e.field(), Some("score"));
        assert!(e.message(Lang::Zh).contains("0 到 100"), "{e}");
        let clock = Clock::new(DEFAULT_TIMEZONE, 0).unwrap();
        let (a, b) = term(&clock, "from", "2026-01-01", "to", "2026-01-01").unwrap();
        assert_eq!(
            b - a,
            fieldcrm_model::DAY_MS - 1,
            "a date-only end is the whole day"
        );
        let e = term(&clock, "from", "2026-02-01", "to", "2026-01-31").unwrap_err();
        assert_eq!(e.field(), Some("to"));
        assert!(e.message(Lang::Zh).contains("结束日期必须晚于开始日期"));
        let e = term(&clock, "from", "明天", "to", "2026-01-31").unwrap_err();
        assert_eq!(e.field(), Some("from"));
    }

    #[test]
    fn text_beyond_its_limit_is_refused_before_anything_is_saved() {
        use fieldcrm_model::{Customer, DeviceKey, DocId, Document};
        let dev = DeviceKey([7; 32]);
        let mut doc =
            Document::create(DocId::random(), &dev, 0, &Customer::new("甲", 0), "create").unwrap();
        check_text_sizes(&mut doc).unwrap();
        doc.put(&["name"], &"名".repeat(MAX_NAME_CHARS)).unwrap();
        doc.commit(1, "ok");
        check_text_sizes(&mut doc).unwrap();
        doc.put(&["name"], &"名".repeat(MAX_NAME_CHARS + 1))
            .unwrap();
        doc.commit(2, "too long");
        let e = check_text_sizes(&mut doc).unwrap_err();
        assert_eq!(e.field(), Some("name"));
        doc.put(&["address"], &"路".repeat(MAX_TEXT_CHARS + 1))
            .unwrap();
        doc.commit(3, "too long");
        assert_eq!(
            check_text_sizes(&mut doc).unwrap_err().field(),
            Some("address")
        );
    }

    #[test]
    fn dates_in_the_zone_and_odd_text_never_panic() {
        let c = Clock::new("Asia/Shanghai", 0).unwrap();
        let a = c.parse("at", "2026-11-29T14:00").unwrap();
        assert_eq!(a, c.parse("at", "2026-11-29T06:00:00Z").unwrap());
        assert_eq!(c.parse("at", "２０２６-１１-２９T１４：００").unwrap(), a);
        assert_eq!(c.fmt(a), "2026-11-29 14:00");
        assert_eq!(
            c.parse_end("to", "2026-11-29").unwrap(),
            c.parse("to", "2026-11-30").unwrap() - 1
        );
        for odd in ["", "昨天", "2026-13-01", "🎉", "2026-11-29T25:00", "\u{0}"] {
            let e = c.parse("at", odd).unwrap_err();
            assert_eq!(e.field(), Some("at"), "{odd}");
        }
        assert!(Clock::new("Mars/Olympus", 0).is_err());
    }

    #[test]
    fn times_format_like_strftime_across_the_whole_range() {
        let c = Clock::new("Asia/Shanghai", 0).unwrap();
        let mut buf = String::from("x");
        c.fmt_into(&mut buf, 0);
        assert_eq!(buf, "x1970-01-01 08:00", "appends");
        let year = 365 * 24 * 3_600_000i64;
        for ms in [
            i64::MIN,
            i64::MAX,
            -1,
            -62_000 * year / 1000, // before year 0
            -1000 * year,          // year ~970
            1_764_400_000_123,
            253_402_300_799_999, // 9999-12-31 23:59:59.999 UTC
        ] {
            let want = match Timestamp::from_millisecond(ms) {
                Ok(ts) => c.tz.to_datetime(ts).strftime("%Y-%m-%d %H:%M").to_string(),
                Err(_) => ms.to_string(),
            };
            assert_eq!(c.fmt(ms), want, "{ms}");
        }
    }
}
