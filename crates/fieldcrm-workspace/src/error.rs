//! The application layer's error: a stable code, the field at fault, and a message in
//! Chinese and in English.
//!
//! Every refusal a person can meet (bad input, no authority, unknown name) is an [`Error`]
//! with [`Error::code`] (stable, for scripts and the web app), [`Error::field`] (which input
//! was wrong, so a form can show the message beside it) and [`Error::message`] in the
//! user's language. `Display` is the English text.

use std::path::PathBuf;

use fieldcrm_model::{Authority, DeviceKey, Lang};

/// Result alias.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A message in both languages, and the input field it is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Msg {
    /// The input at fault (`price`, `at`, `customer`, ...), when one is.
    pub field: Option<String>,
    /// Chinese text.
    pub zh: String,
    /// English text.
    pub en: String,
}

impl Msg {
    /// A message with the same text in both languages (names, IDs, data).
    pub fn same(text: impl Into<String>) -> Msg {
        let t = text.into();
        Msg {
            field: None,
            zh: t.clone(),
            en: t,
        }
    }

    /// A message in both languages.
    pub fn new(zh: impl Into<String>, en: impl Into<String>) -> Msg {
        Msg {
            field: None,
            zh: zh.into(),
            en: en.into(),
        }
    }

    /// The same message, about input `field`.
    pub fn on(mut self, field: &str) -> Msg {
        self.field = Some(field.to_string());
        self
    }
}

impl From<String> for Msg {
    fn from(s: String) -> Msg {
        Msg::same(s)
    }
}

impl From<&str> for Msg {
    fn from(s: &str) -> Msg {
        Msg::same(s)
    }
}

impl std::fmt::Display for Msg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.en)
    }
}

/// What went wrong in a workspace operation. Messages name the thing that was wrong.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No workspace in that directory.
    #[error("no fieldcrm workspace in {0} (run `fieldcrm init` or pass --home)")]
    NotInitialised(PathBuf),
    /// `init` on an existing workspace.
    #[error("a workspace already exists at {0}")]
    AlreadyInitialised(PathBuf),
    /// This device is not in the roster.
    #[error("this device ({0}) is not enrolled in the workspace roster")]
    NotEnrolled(DeviceKey),
    /// A joined device that has not synced yet.
    #[error(
        "this device ({0}) has not received the workspace yet: ask an admin to enroll it (`fieldcrm device add {0} --user NAME`), then run `fieldcrm sync TICKET`"
    )]
    NoRosterYet(DeviceKey),
    /// This device was revoked.
    #[error("this device ({0}) has been revoked")]
    Revoked(DeviceKey),
    /// The acting user's role cannot do this.
    #[error("permission denied: {0}")]
    Permission(Msg),
    /// Something named does not exist.
    #[error("not found: {0}")]
    NotFound(Msg),
    /// A name or prefix matches more than one thing.
    #[error("ambiguous: {0}")]
    Ambiguous(Msg),
    /// Bad input from the user.
    #[error("{0}")]
    Invalid(Msg),
    /// Damaged workspace data.
    #[error("workspace data is damaged: {0}")]
    Corrupt(String),
    /// A file-system error.
    #[error("{}: {source}", path.display())]
    Io {
        /// Which path.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// From the store.
    #[error(transparent)]
    Store(#[from] fieldcrm_store::Error),
    /// From the model.
    #[error(transparent)]
    Doc(#[from] fieldcrm_model::DocError),
}

impl Error {
    /// Bad input, with the same text in both languages (prefer [`Error::bad`]).
    pub fn invalid(msg: impl Into<String>) -> Self {
        Error::Invalid(Msg::same(msg))
    }

    /// Bad input in `field`, with a message in both languages.
    pub fn bad(field: &str, zh: impl Into<String>, en: impl Into<String>) -> Self {
        Error::Invalid(Msg::new(zh, en).on(field))
    }

    /// Something named does not exist.
    pub fn not_found(msg: impl Into<Msg>) -> Self {
        Error::NotFound(msg.into())
    }

    /// A name matches more than one thing.
    pub fn ambiguous(msg: impl Into<Msg>) -> Self {
        Error::Ambiguous(msg.into())
    }

    /// The acting user may not do this (a reason in both languages).
    pub fn denied(msg: impl Into<Msg>) -> Self {
        Error::Permission(msg.into())
    }

    /// `user` (with `role`) does not hold `authority`.
    pub fn lacks(user: &str, role: &fieldcrm_model::Role, authority: Authority) -> Self {
        Error::Permission(Msg::new(
            format!(
                "{user}（{}）无权{}：需要{}",
                role.zh(),
                authority.action_zh(),
                authority.needs_zh()
            ),
            format!(
                "{user} ({role}) may not {}: needs role {}",
                authority.action_en(),
                authority.needs_en()
            ),
        ))
    }

    /// Attach the input field at fault (for messages shown beside a form field).
    pub fn on(self, field: &str) -> Self {
        match self {
            Error::Invalid(m) => Error::Invalid(m.on(field)),
            Error::NotFound(m) => Error::NotFound(m.on(field)),
            Error::Ambiguous(m) => Error::Ambiguous(m.on(field)),
            Error::Permission(m) => Error::Permission(m.on(field)),
            other => other,
        }
    }

    /// A stable code for scripts, JSON output and the web app.
    pub fn code(&self) -> &'static str {
        match self {
            Error::NotInitialised(_) => "not-initialised",
            Error::AlreadyInitialised(_) => "already-initialised",
            Error::NotEnrolled(_) => "not-enrolled",
            Error::NoRosterYet(_) => "no-roster-yet",
            Error::Revoked(_) => "revoked",
            Error::Permission(_) => "permission-denied",
            Error::NotFound(_) => "not-found",
            Error::Ambiguous(_) => "ambiguous",
            Error::Invalid(_) => "invalid-input",
            Error::Corrupt(_) => "damaged-data",
            Error::Io { .. } => "io",
            Error::Store(e) => store_code(e),
            Error::Doc(_) => "document",
        }
    }

    /// The input field at fault, if the error is about one.
    pub fn field(&self) -> Option<&str> {
        match self {
            Error::Invalid(m) | Error::NotFound(m) | Error::Ambiguous(m) | Error::Permission(m) => {
                m.field.as_deref()
            }
            _ => None,
        }
    }

    /// Whether this is the person's doing (bad input, a refusal) rather than a failure of
    /// the machine or the data: the CLI exits 2 for these.
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            Error::Invalid(_)
                | Error::NotFound(_)
                | Error::Ambiguous(_)
                | Error::Permission(_)
                | Error::AlreadyInitialised(_)
                | Error::NotInitialised(_)
                | Error::Store(fieldcrm_store::Error::Resolve(_))
        )
    }

    /// The message in `lang`.
    pub fn message(&self, lang: Lang) -> String {
        let zh = match self {
            Error::Invalid(m) => return lang.pick(&m.zh, &m.en).to_string(),
            Error::NotFound(m) => format!("找不到：{}", m.zh),
            Error::Ambiguous(m) => format!("不唯一：{}", m.zh),
            Error::Permission(m) => format!("无权操作：{}", m.zh),
            Error::NotInitialised(p) => format!(
                "{} 中没有 fieldcrm 工作区（请运行 `fieldcrm init` 或指定 --home）",
                p.display()
            ),
            Error::AlreadyInitialised(p) => format!("{} 已有工作区", p.display()),
            Error::NotEnrolled(d) => format!("本设备（{d}）未登记在工作区花名册中"),
            Error::NoRosterYet(d) => format!(
                "本设备（{d}）尚未收到工作区：请管理员登记（`fieldcrm device add {d} --user 姓名`），然后运行 `fieldcrm sync`"
            ),
            Error::Revoked(d) => format!("本设备（{d}）已被停用"),
            Error::Corrupt(s) => format!("工作区数据已损坏：{s}"),
            Error::Io { path, source } => format!("{}：{source}", path.display()),
            Error::Store(e) => format!("存储：{e}"),
            Error::Doc(e) => format!("文档：{e}"),
        };
        match lang {
            Lang::Zh => zh,
            Lang::En => self.to_string(),
        }
    }
}

fn store_code(e: &fieldcrm_store::Error) -> &'static str {
    use fieldcrm_store::{Error as S, OpenError, ResolveError};
    match e {
        S::Open(OpenError::InUse { .. }) => "store-in-use",
        S::Open(OpenError::NotAStore { .. }) => "not-a-store",
        S::Resolve(ResolveError::NotFound { .. }) => "not-found",
        S::Resolve(ResolveError::Ambiguous { .. }) => "ambiguous",
        _ => "store",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fieldcrm_model::Role;

    #[test]
    fn codes_fields_and_both_languages() {
        let e = Error::bad("price", "价格不能为负数", "the price must not be negative");
        assert_eq!(e.code(), "invalid-input");
        assert_eq!(e.field(), Some("price"));
        assert_eq!(e.message(Lang::Zh), "价格不能为负数");
        assert_eq!(e.to_string(), "the price must not be negative");
        let e = Error::lacks("小张", &Role::Rep, Authority::DiscountApproval);
        assert_eq!(e.code(), "permission-denied");
        assert!(e.message(Lang::Zh).contains("无权批准报价折扣"), "{e:?}");
        assert!(e.to_string().contains("may not approve a discount"), "{e}");
        assert!(e.is_usage());
        let e = Error::not_found("customer `甲`").on("customer");
        assert_eq!(e.field(), Some("customer"));
        assert!(e.message(Lang::Zh).starts_with("找不到"));
    }
}
