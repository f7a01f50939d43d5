//! Normalisation of the keys that identify a company: names, phones, emails, credit codes.
//!
//! One folding of text serves duplicate detection, claim keys and name search
//! (`fieldcrm_workspace::search` calls [`text`]): full-width → half-width, white space
//! removed, lower case, traditional → simplified Chinese ([`fast2s`], a character table
//! with context rules), so 廣州華東機電 and 广州华东机电 are one key.

use fieldcrm_model::money::fullwidth_to_ascii;

/// Text folded for matching: full-width ASCII forms → half-width, white space removed,
/// lower case, traditional → simplified Chinese.
pub fn text(s: &str) -> String {
    let mut folded = String::with_capacity(s.len());
    for c in s.chars().map(fullwidth_to_ascii) {
        if !c.is_whitespace() {
            folded.extend(c.to_lowercase());
        }
    }
    if folded.is_ascii() {
        folded
    } else {
        fast2s::convert(&folded)
    }
}

/// Legal-form suffixes stripped from company names (longest first; applied repeatedly).
const SUFFIXES: &[&str] = &[
    "股份有限公司",
    "有限责任公司",
    "集团有限公司",
    "集团股份公司",
    "有限公司",
    "集团公司",
    "分公司",
    "总公司",
    "公司",
    "集团",
    "co.,ltd.",
    "co.,ltd",
    "co.ltd.",
    "co.ltd",
    "corporation",
    "company",
    "limited",
    "group",
    "corp.",
    "corp",
    "inc.",
    "inc",
    "ltd.",
    "ltd",
    "co.",
];

/// A company name reduced for duplicate detection: folded by [`text`] (full-width →
/// half-width, white space removed, case folded, traditional → simplified),
/// parenthesised parts (`(中国)`, `（深圳）`, `(集团)`) removed and legal-form suffixes
/// (有限公司, 有限责任公司, 股份有限公司, 集团, 公司, Ltd …) stripped.
/// `None` when nothing distinctive is left.
pub fn company_name(name: &str) -> Option<String> {
    let folded = text(name);
    let mut s = String::with_capacity(folded.len());
    let mut depth = 0usize;
    for c in folded.chars() {
        let c = match c {
            '【' | '〔' | '[' => '(',
            '】' | '〕' | ']' => ')',
            c => c,
        };
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            c if depth > 0 || c == '·' || c == '-' || c == '_' => {}
            c => s.push(c),
        }
    }
    loop {
        let before = s.len();
        for suf in SUFFIXES {
            if s.len() > suf.len()
                && let Some(stripped) = s.strip_suffix(suf)
            {
                s.truncate(stripped.len());
                break;
            }
        }
        while s.ends_with(['.', ',', '、', '。']) {
            s.pop();
        }
        if s.len() == before {
            break;
        }
    }
    (!s.is_empty()).then_some(s)
}

/// A phone number reduced to digits, without a `+86` / `0086` country prefix. `None`
/// when fewer than 7 digits remain.
pub fn phone(text: &str) -> Option<String> {
    let digits: String = text
        .chars()
        .map(fullwidth_to_ascii)
        .filter(char::is_ascii_digit)
        .collect();
    let d = if let Some(rest) = digits.strip_prefix("0086") {
        rest
    } else if digits.len() > 11
        && let Some(rest) = digits.strip_prefix("86")
    {
        rest
    } else {
        &digits
    };
    (d.len() >= 7).then(|| d.to_string())
}

/// An email address trimmed, half-width and lowercase; `None` if it has no `@`.
pub fn email(text: &str) -> Option<String> {
    let e: String = text
        .chars()
        .map(fullwidth_to_ascii)
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect();
    let (local, domain) = e.split_once('@')?;
    (!local.is_empty() && !domain.is_empty()).then_some(e)
}

/// A unified social credit code: half-width, no spaces or dashes, uppercase.
pub fn credit_code(text: &str) -> Option<String> {
    let c: String = text
        .chars()
        .map(fullwidth_to_ascii)
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    (c.len() >= 8).then_some(c)
}

/// A region or product-line key: half-width, no whitespace, lowercase.
pub fn label(text: &str) -> String {
    text.chars()
        .map(fullwidth_to_ascii)
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn company_names() {
        let a = company_name("华东机械有限公司").unwrap();
        assert_eq!(a, "华东机械");
        assert_eq!(company_name("华东机械（中国）有限责任公司").unwrap(), a);
        assert_eq!(company_name(" 华东 机械 集团 ").unwrap(), a);
        assert_eq!(company_name("华东机械股份有限公司").unwrap(), a);
        assert_eq!(company_name("华东机械集团有限公司").unwrap(), a);
        assert_eq!(
            company_name("ＡＢＣ Trading Co., Ltd.").unwrap(),
            company_name("abc trading").unwrap()
        );
        assert_ne!(company_name("华东机电有限公司").unwrap(), a);
        assert!(company_name("有限公司").is_some());
        assert_eq!(company_name("（中国）"), None);
    }

    #[test]
    fn traditional_full_width_and_group_suffixes_fold_to_one_name() {
        let a = company_name("广州华东机电").unwrap();
        assert_eq!(a, "广州华东机电");
        assert_eq!(company_name("廣州華東機電有限公司").unwrap(), a);
        assert_eq!(company_name("廣州華東機電（集團）有限公司").unwrap(), a);
        assert_eq!(company_name("广州华东机电(集团)股份有限公司").unwrap(), a);
        assert_eq!(company_name("广州华东机电有限责任公司").unwrap(), a);
        assert_eq!(
            company_name("华东机电１２３号有限公司").unwrap(),
            company_name("华东机电123号").unwrap()
        );
        assert_eq!(text("ＡＢＣ　廣州"), "abc广州");
        assert_ne!(company_name("深圳华东机电").unwrap(), a);
    }

    #[test]
    fn phones_and_emails() {
        assert_eq!(phone("+86 138-0000-0001").unwrap(), "13800000001");
        assert_eq!(phone("0086 13800000001").unwrap(), "13800000001");
        assert_eq!(phone("１３８ ０００ ００００１").unwrap(), "13800000001");
        assert_eq!(phone("010-8888 6666").unwrap(), "01088886666");
        assert_eq!(phone("123"), None);
        assert_eq!(email(" Li@Example.CN ").unwrap(), "li@example.cn");
        assert_eq!(email("nobody"), None);
        assert_eq!(
            credit_code("91310000-MA1FL0 0X1Y").unwrap(),
            "91310000MA1FL00X1Y"
        );
    }
}
