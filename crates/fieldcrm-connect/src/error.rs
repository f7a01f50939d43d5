//! Why a remote, join, sync, serve or findings request failed: English text (`Display`,
//! with the cause as `source()`), Chinese text and a stable code ([`Error::message`],
//! [`Error::code`]).

use std::error::Error as _;
use std::path::PathBuf;

use fieldcrm_model::{DeviceKey, Lang, short_id};
use fieldcrm_net::{BindError, ConnectError, DriveError, TicketError, WsError};

/// Result alias.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong on the device side of a sync.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The async runtime could not start.
    #[error("could not start the async runtime")]
    Runtime(#[source] std::io::Error),
    /// A workspace operation failed.
    #[error(transparent)]
    Workspace(#[from] fieldcrm_workspace::Error),
    /// A remote name with characters other than letters, digits, `-` and `_`.
    #[error("remote name `{0}`: use letters, digits, - and _")]
    BadRemoteName(String),
    /// Not a relay URL.
    #[error(transparent)]
    BadUrl(WsError),
    /// A malformed ticket.
    #[error("ticket: {0}")]
    BadTicket(TicketError),
    /// No saved remote by that name.
    #[error("no remote named `{0}` (see `fieldcrm remote list`)")]
    NoSuchRemote(String),
    /// A sync target that is neither a relay URL, a remote name nor a ticket.
    #[error("`{0}` is not a relay URL (ws://…), a remote name or a ticket (fieldcrm1…)")]
    UnknownTarget(String),
    /// No target given and no default remote.
    #[error(
        "no remote to sync with: give a relay URL or ticket, or run `fieldcrm remote add office ws://host:port`"
    )]
    NoRemote,
    /// The relay did not say which workspace it serves.
    #[error("could not ask the relay at {url} for its workspace")]
    AskWorkspace {
        /// The relay.
        url: String,
        /// Why.
        #[source]
        source: WsError,
    },
    /// The workspace could not be prepared for joining.
    #[error("could not prepare a workspace in {}", home.display())]
    Prepare {
        /// Where.
        home: PathBuf,
        /// Why.
        #[source]
        source: fieldcrm_workspace::Error,
    },
    /// The relay does not know this device.
    #[error(
        "{refusal}\nthis device ({}) is not enrolled: ask an admin to run `fieldcrm device add {device} --user <name>`, then try again",
        short_id(&device.to_hex())
    )]
    NotEnrolled {
        /// This device.
        device: DeviceKey,
        /// The relay's refusal.
        refusal: WsError,
    },
    /// The relay refused this device because an admin revoked it.
    #[error("{refusal}\nthis device was revoked by an admin")]
    Revoked {
        /// The relay's refusal.
        refusal: WsError,
    },
    /// The WebSocket session with the relay failed.
    #[error("sync with the relay at {url} failed")]
    Relay {
        /// The relay.
        url: String,
        /// Why.
        #[source]
        source: WsError,
    },
    /// The sync session failed (protocol or transport).
    #[error("sync with {with} failed")]
    Session {
        /// The other side (`the relay at URL`, a device).
        with: String,
        /// Why.
        #[source]
        source: DriveError,
    },
    /// No local UDP socket.
    #[error("could not open a UDP socket")]
    Bind(#[source] Box<BindError>),
    /// The relay's iroh face could not be reached.
    #[error("could not reach the relay over iroh")]
    ReachRelay(#[source] Box<ConnectError>),
    /// A peer device could not be reached (or refused this device).
    #[error("could not reach device {}", short_id(&device.to_hex()))]
    ReachDevice {
        /// The device dialed.
        device: DeviceKey,
        /// Why.
        #[source]
        source: Box<ConnectError>,
    },
    /// The session's data went through but its closing handshake failed.
    #[error("the session did not end cleanly: {0}")]
    Finish(String),
    /// Only a device holding the workspace can serve it.
    #[error("only a device that holds the workspace can serve it")]
    NotServable(#[source] fieldcrm_workspace::Error),
    /// The sync succeeded, but the steps after it (scope clean-up, carry-over) failed.
    #[error("synced, but the steps after the sync failed")]
    AfterSync(#[source] fieldcrm_workspace::Error),
    /// What goes out with a sync (this user's customer claims) could not be written:
    /// nothing was sent.
    #[error("could not prepare the sync")]
    BeforeSync(#[source] fieldcrm_workspace::Error),
    /// Only admins and managers may sign in to the office console.
    #[error("only admins and managers may sign in to the office console")]
    ConsoleNotAllowed,
    /// Findings are fetched over plain HTTP from a `ws://` relay.
    #[error("{0}: fetching findings needs a ws:// relay (plain HTTP on the office network)")]
    FindingsNeedWs(String),
    /// The relay's HTTP port could not be reached.
    #[error("could not reach the relay at {host}")]
    FindingsUnreachable {
        /// host:port.
        host: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The relay's answer could not be read.
    #[error("reading the relay's answer from {host}")]
    FindingsRead {
        /// host:port.
        host: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Not an HTTP answer.
    #[error("{0}: not an HTTP answer")]
    FindingsNotHttp(String),
    /// The relay answered with an error status.
    #[error("the relay at {host} answered {status}: {body}")]
    FindingsStatus {
        /// host:port.
        host: String,
        /// HTTP status.
        status: String,
        /// The relay's explanation.
        body: String,
    },
    /// The relay serves another workspace than the invitation link names.
    #[error("the relay at {url} serves workspace {served}, not {expected} as the invitation says")]
    WrongWorkspace {
        /// The relay.
        url: String,
        /// The workspace the link names.
        expected: String,
        /// The workspace the relay serves.
        served: String,
    },
    /// Invitations go to the relay's plain HTTP face.
    #[error("{0}: invitations need a ws:// relay (plain HTTP on the office network)")]
    InviteNeedsWs(String),
    /// The relay's answer to an invitation request lacks something.
    #[error("{host}: the relay's answer has {what}")]
    InviteBadAnswer {
        /// host:port.
        host: String,
        /// What is wrong.
        what: String,
    },
    /// The findings are not JSON.
    #[error("{host}: findings are not JSON")]
    FindingsNotJson {
        /// host:port.
        host: String,
        /// Why.
        #[source]
        source: serde_json::Error,
    },
}

impl Error {
    /// A stable code for scripts and the web app.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Runtime(_) => "runtime",
            Error::Workspace(e) => e.code(),
            Error::BadRemoteName(_) => "bad-remote-name",
            Error::BadUrl(_) => "bad-url",
            Error::BadTicket(_) => "bad-ticket",
            Error::NoSuchRemote(_) => "no-such-remote",
            Error::UnknownTarget(_) => "unknown-target",
            Error::NoRemote => "no-remote",
            Error::AskWorkspace { .. } => "relay-unreachable",
            Error::Prepare { source, .. } => source.code(),
            Error::NotEnrolled { .. } => "not-enrolled",
            Error::Revoked { .. } => "revoked",
            Error::Relay { .. } => "relay-failed",
            Error::Session { .. } => "sync-failed",
            Error::Bind(_) => "bind",
            Error::ReachRelay(_) => "relay-unreachable",
            Error::ReachDevice { .. } => "peer-unreachable",
            Error::Finish(_) => "finish",
            Error::NotServable(_) => "not-servable",
            Error::AfterSync(_) => "after-sync",
            Error::BeforeSync(_) => "before-sync",
            Error::FindingsNeedWs(_) => "findings-need-ws",
            Error::ConsoleNotAllowed => "not-allowed",
            Error::FindingsUnreachable { .. } | Error::FindingsRead { .. } => "relay-unreachable",
            Error::FindingsNotHttp(_) | Error::FindingsNotJson { .. } => "findings-bad-answer",
            Error::FindingsStatus { .. } => "findings-refused",
            Error::WrongWorkspace { .. } => "wrong-workspace",
            Error::InviteNeedsWs(_) => "invite-needs-ws",
            Error::InviteBadAnswer { .. } => "invite-bad-answer",
        }
    }

    /// Whether the person can fix it by what they typed (a bad name, URL or ticket).
    pub fn is_usage(&self) -> bool {
        match self {
            Error::Workspace(e) => e.is_usage(),
            Error::BadRemoteName(_)
            | Error::BadUrl(_)
            | Error::BadTicket(_)
            | Error::NoSuchRemote(_)
            | Error::UnknownTarget(_)
            | Error::NoRemote
            | Error::FindingsNeedWs(_)
            | Error::InviteNeedsWs(_)
            | Error::WrongWorkspace { .. } => true,
            _ => false,
        }
    }

    /// The whole message (with its causes) in `lang`, for a person to read.
    pub fn message(&self, lang: Lang) -> String {
        match lang {
            Lang::En => {
                let mut s = self.to_string();
                let mut cause = self.source();
                while let Some(c) = cause {
                    s.push_str(": ");
                    s.push_str(&c.to_string());
                    cause = c.source();
                }
                s
            }
            Lang::Zh => self.zh(),
        }
    }

    /// The Chinese message (with its causes, which stay in English when they come from
    /// the transport).
    pub fn message_zh(&self) -> String {
        self.message(Lang::Zh)
    }

    fn zh(&self) -> String {
        let cause = |e: &dyn std::error::Error| -> String {
            let mut s = e.to_string();
            let mut next = e.source();
            while let Some(c) = next {
                s.push_str(": ");
                s.push_str(&c.to_string());
                next = c.source();
            }
            s
        };
        match self {
            Error::Runtime(e) => format!("无法启动异步运行时：{e}"),
            Error::Workspace(e) => e.message(Lang::Zh),
            Error::BadRemoteName(n) => format!("远程名称 `{n}` 无效：只能用字母、数字、- 和 _"),
            Error::BadUrl(e) => format!("不是中继地址（ws://主机:端口 或 wss://主机）：{e}"),
            Error::BadTicket(e) => format!("票据无效：{e}"),
            Error::NoSuchRemote(n) => {
                format!("没有名为 `{n}` 的远程（见 `fieldcrm remote list`）")
            }
            Error::UnknownTarget(t) => {
                format!("`{t}` 不是中继地址（ws://…）、远程名称或票据（fieldcrm1…）")
            }
            Error::NoRemote => "没有可同步的远程：请给出中继地址或票据，或运行 `fieldcrm remote add office ws://主机:端口`".into(),
            Error::AskWorkspace { url, source } => {
                format!("无法向 {url} 的中继询问工作区：{}", cause(source))
            }
            Error::Prepare { home, source } => format!(
                "无法在 {} 准备工作区：{}",
                home.display(),
                source.message(Lang::Zh)
            ),
            Error::NotEnrolled { device, .. } => format!(
                "本设备（{}）未登记：请管理员运行 `fieldcrm device add {device} --user <姓名>`，然后重试",
                short_id(&device.to_hex())
            ),
            Error::Revoked { .. } => "本设备已被管理员停用".into(),
            Error::Relay { url, source } => {
                format!("与 {url} 的中继同步失败：{}", cause(source))
            }
            Error::Session { with, source } => format!("与 {with} 同步失败：{}", cause(source)),
            Error::Bind(e) => format!("无法打开 UDP 端口：{}", cause(&**e)),
            Error::ReachRelay(e) => format!("无法通过 iroh 连接中继：{}", cause(&**e)),
            Error::ReachDevice { device, source } => format!(
                "无法连接设备 {}：{}",
                short_id(&device.to_hex()),
                cause(&**source)
            ),
            Error::Finish(e) => format!("同步会话未能正常结束：{e}"),
            Error::NotServable(e) => {
                format!("只有持有工作区的设备才能提供同步：{}", e.message(Lang::Zh))
            }
            Error::AfterSync(e) => {
                format!("同步已完成，但同步后的处理失败：{}", e.message(Lang::Zh))
            }
            Error::BeforeSync(e) => {
                format!("未能准备同步（未发送任何内容）：{}", e.message(Lang::Zh))
            }
            Error::ConsoleNotAllowed => "只有管理员和经理可以登录办公室控制台".to_string(),
            Error::FindingsNeedWs(url) => {
                format!("{url}：获取中继检查结果需要 ws:// 中继（办公室网络上的明文 HTTP）")
            }
            Error::FindingsUnreachable { host, source } => {
                format!("无法连接 {host} 的中继：{source}")
            }
            Error::FindingsRead { host, source } => {
                format!("读取 {host} 中继的回答失败：{source}")
            }
            Error::FindingsNotHttp(host) => format!("{host}：回答不是 HTTP"),
            Error::FindingsStatus { host, status, body } => {
                format!("{host} 的中继回答 {status}：{body}")
            }
            Error::FindingsNotJson { host, source } => {
                format!("{host}：检查结果不是 JSON：{source}")
            }
            Error::WrongWorkspace {
                url,
                expected,
                served,
            } => format!("{url} 的中继服务于工作区 {served}，而邀请指向 {expected}"),
            Error::InviteNeedsWs(url) => {
                format!("{url}：邀请需要 ws:// 中继（办公室网络上的明文 HTTP）")
            }
            Error::InviteBadAnswer { host, what } => format!("{host}：中继的回答有误（{what}）"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_languages_and_codes() {
        let device: DeviceKey = "ab".repeat(32).parse().unwrap();
        let e = Error::NotEnrolled {
            device,
            refusal: WsError::Refused {
                code: fieldcrm_net::ws::close::NOT_ENROLLED,
                reason: "not enrolled".into(),
            },
        };
        assert_eq!(e.code(), "not-enrolled");
        let en = e.message(Lang::En);
        assert!(
            en.contains("this device (abababab) is not enrolled"),
            "{en}"
        );
        assert!(
            en.contains(&format!("fieldcrm device add {device}")),
            "{en}"
        );
        let zh = e.message_zh();
        assert!(zh.starts_with("本设备（abababab）未登记"), "{zh}");

        let e = Error::NoRemote;
        assert!(e.is_usage());
        assert!(e.message(Lang::Zh).starts_with("没有可同步的远程"));
        let e = Error::Workspace(fieldcrm_workspace::Error::NoRosterYet(device));
        assert_eq!(e.code(), "no-roster-yet");
        assert!(e.message(Lang::Zh).contains("尚未收到工作区"));
    }

    #[test]
    fn english_message_walks_the_causes() {
        let e = Error::Relay {
            url: "ws://127.0.0.1:9".into(),
            source: WsError::Transport("connection refused".into()),
        };
        assert_eq!(
            e.message(Lang::En),
            "sync with the relay at ws://127.0.0.1:9 failed: connection refused"
        );
        assert!(e.message(Lang::Zh).contains("connection refused"));
    }
}
