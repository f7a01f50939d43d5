//! The language of messages shown to people: Chinese first, English too.

/// The language of rendered text and error messages.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    /// 中文 (the default).
    #[default]
    Zh,
    /// English.
    En,
}

impl Lang {
    /// Parse `zh` / `en` (also `zh-CN`, `zh_CN.UTF-8`, `中文`, `english`).
    pub fn parse(s: &str) -> Option<Lang> {
        let t = s.trim().to_ascii_lowercase();
        if t.starts_with("zh") || t == "中文" || t == "cn" {
            Some(Lang::Zh)
        } else if t.starts_with("en") || t == "english" {
            Some(Lang::En)
        } else {
            None
        }
    }

    /// Pick the text for this language.
    pub fn pick<'a>(self, zh: &'a str, en: &'a str) -> &'a str {
        match self {
            Lang::Zh => zh,
            Lang::En => en,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_locales_and_names() {
        assert_eq!(Lang::parse("zh_CN.UTF-8"), Some(Lang::Zh));
        assert_eq!(Lang::parse("中文"), Some(Lang::Zh));
        assert_eq!(Lang::parse("en-US"), Some(Lang::En));
        assert_eq!(Lang::parse("fr"), None);
        assert_eq!(Lang::En.pick("中", "en"), "en");
    }
}
