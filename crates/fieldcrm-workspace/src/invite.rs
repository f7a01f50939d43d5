//! Invitations (see `fieldcrm_model::invitation`): an admin creates one on their device
//! (signed by its key; `fieldcrm_connect::invite` uploads it to the relay), and the new
//! device, once the relay has checked its code, receives the roster and writes its own
//! enrolment into it, which every receiver's roster chain judges back to the admin.
//!
//! The link a person scans or taps: `fieldcrm://join?relay=<relay URL>&code=ABCD-EFGH&ws=<workspace ID>`
//! ([`invite_link`], [`InviteLink::parse`]).

use automerge::ChangeHash;
use fieldcrm_model::invitation::{code_secret, enrolment_message};
use fieldcrm_model::{
    Authority, Device, DocId, DocKind, Enrolment, Invitation, InviteCode, Millis, Role, Roster,
    Signature, hex, new_entity_id,
};

use crate::{Error, Msg, Result, Workspace};

/// How long an invitation is valid unless the admin says otherwise (72 hours).
pub const DEFAULT_VALID_MS: Millis = 72 * 3_600_000;

/// What an admin asks for.
#[derive(Debug, Clone, Default)]
pub struct NewInvitation {
    /// Another device for this existing user (name or ID prefix); else a new user.
    pub user: Option<String>,
    /// The new user's name.
    pub name: Option<String>,
    /// The new user's role.
    pub role: Option<Role>,
    /// The new user's team.
    pub team: Option<String>,
    /// How long it is valid (default [`DEFAULT_VALID_MS`]).
    pub valid_ms: Option<Millis>,
}

/// A signed invitation and its code (shown once: it is stored nowhere).
#[derive(Debug, Clone)]
pub struct Issued {
    /// The invitation, signed by this device.
    pub invitation: Invitation,
    /// The one-time code.
    pub code: InviteCode,
}

impl Workspace {
    /// Create an invitation (admins): a new user with a name, role and team, or another
    /// device of an existing user; valid for `valid_ms` (at most 30 days) from `now`.
    /// Signed by this device; nothing is written (the relay keeps it until it is used).
    pub fn create_invitation(&self, new: &NewInvitation, now: Millis) -> Result<Issued> {
        let me = self.me()?;
        me.require(Authority::Roster)?;
        let valid = new.valid_ms.unwrap_or(DEFAULT_VALID_MS);
        if valid <= 0 || valid > fieldcrm_model::invitation::MAX_VALID_MS {
            return Err(Error::bad(
                "valid",
                "邀请的有效期最长 30 天",
                "an invitation is valid for at most 30 days",
            ));
        }
        let (user, new_user, name, role, team) = match &new.user {
            Some(text) => {
                let uid = self
                    .resolve_user(&me.roster, text)
                    .map_err(|e| e.on("user"))?;
                let u = me
                    .roster
                    .users
                    .get(&uid)
                    .ok_or_else(|| Error::not_found(format!("user `{text}`")).on("user"))?;
                if !u.active {
                    return Err(Error::bad(
                        "user",
                        format!("用户 {} 已停用", u.name),
                        format!("user {} is deactivated", u.name),
                    ));
                }
                (uid, false, u.name.clone(), u.role.clone(), u.team.clone())
            }
            None => {
                let name = new.name.as_deref().unwrap_or("").trim().to_string();
                if name.is_empty() {
                    return Err(Error::bad(
                        "name",
                        "请填写新用户的姓名",
                        "the new user's name is required",
                    ));
                }
                if me.roster.users.values().any(|u| u.name == name) {
                    return Err(Error::bad(
                        "name",
                        format!("已有名为“{name}”的用户；要为其添加设备，请用 --user"),
                        format!(
                            "a user named `{name}` already exists; to add a device of theirs use --user"
                        ),
                    ));
                }
                let role = new.role.clone().ok_or_else(|| {
                    Error::bad(
                        "role",
                        "请选择新用户的角色",
                        "the new user's role is required",
                    )
                })?;
                let team = new
                    .team
                    .as_deref()
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                    .map(String::from);
                (new_entity_id(), true, name, role, team)
            }
        };
        let code = InviteCode::from_random(rand::random());
        let mut invitation = Invitation {
            workspace_id: self.workspace_id().to_string(),
            id: new_entity_id(),
            user,
            new_user,
            name,
            role,
            team,
            created_at: now,
            expires_at: now.saturating_add(valid),
            code_key: code_secret(&code, self.workspace_id()).public().to_hex(),
            created_by: String::new(),
            signature: String::new(),
        };
        invitation.sign(self.secret());
        Ok(Issued { invitation, code })
    }

    /// On a new device that has no roster yet: take the roster the relay sent (a saved
    /// document and its signatures), judged change by change back to the device that
    /// founded the workspace, as a first sync judges it.
    pub fn accept_roster(&self, bytes: &[u8], sigs: &[(ChangeHash, Signature)]) -> Result<()> {
        let rid = DocId::workspace(&DocKind::Roster);
        let scope = self.roster_scope(Roster::new(self.workspace_id(), ""), String::new())?;
        let part = fieldcrm_sync::Part::Whole { bytes, sigs };
        let refused = |why: String| {
            Error::Invalid(Msg::new(
                format!("中继发来的花名册不可信：{why}"),
                format!("the roster the relay sent cannot be trusted: {why}"),
            ))
        };
        let j = fieldcrm_sync::judge(&scope, part, rid.clone(), false).map_err(refused)?;
        j.verdict.clone().map_err(refused)?;
        if let Some(r) = j.refused.first() {
            return Err(refused(r.describe()));
        }
        self.store()
            .apply_batch([(&rid, j.data.as_slice(), j.sigs.as_slice())])
            .map_err(fieldcrm_store::Error::from)?;
        Ok(())
    }

    /// On the new device, once the relay accepted its code and sent the roster: check
    /// the invitation against that roster, then write this device's enrolment (and the
    /// invitation's new user) into the roster, signed by this device. Returns the new
    /// change and its signature, for the relay.
    pub fn enrol_by_invitation(
        &self,
        invitation: &Invitation,
        code: &InviteCode,
        label: &str,
        now: Millis,
    ) -> Result<(Vec<u8>, Signature)> {
        let roster = self.roster()?;
        let me = self.device();
        let bad = |zh: &str, en: &str| Error::Invalid(Msg::new(zh, en).on("invite"));
        if invitation.workspace_id != self.workspace_id() || !invitation.signature_verifies() {
            return Err(bad(
                "邀请的签名无效，或不属于这个工作区",
                "the invitation's signature does not verify, or it is for another workspace",
            ));
        }
        let admin = roster.devices.get(&invitation.created_by).and_then(|d| {
            let u = roster.users.get(&d.user)?;
            (d.revoked_at.is_none() && u.active && u.role == Role::Admin).then_some(u)
        });
        if admin.is_none() {
            return Err(bad(
                "邀请不是由管理员的设备签发的",
                "the invitation was not signed by an admin's device",
            ));
        }
        if roster.devices.contains_key(&me.to_hex()) {
            return Err(bad(
                "本设备已在花名册中",
                "this device is in the roster already",
            ));
        }
        let secret = code_secret(code, self.workspace_id());
        if secret.public().to_hex() != invitation.code_key {
            return Err(bad("邀请码不对", "the invitation code is wrong"));
        }
        let proof = hex(&secret.sign(&enrolment_message(self.workspace_id(), &invitation.id, &me)));
        let rid = DocId::workspace(&DocKind::Roster);
        let label: String = label.trim().chars().take(100).collect();
        let hash = self
            .edit(&rid, now, "受邀加入 join by invitation", |doc| {
                if invitation.new_user {
                    doc.put(&["users", &invitation.user], &invitation.new_user_record())?;
                }
                doc.put(
                    &["devices", &me.to_hex()],
                    &Device {
                        user: invitation.user.clone(),
                        label,
                        enrolled_at: now,
                        revoked_at: None,
                        invitation: Some(Enrolment {
                            invitation: invitation.clone(),
                            proof,
                        }),
                    },
                )?;
                Ok(())
            })
            .and_then(|()| {
                let mut doc = self.load(&rid)?;
                doc.heads()
                    .first()
                    .copied()
                    .ok_or_else(|| Error::Corrupt("the roster has no heads".into()))
            })?;
        let mut doc = self.load(&rid)?;
        let mut change = doc
            .automerge_mut()
            .get_change_by_hash(&hash)
            .ok_or_else(|| Error::Corrupt("the enrolment change is missing".into()))?;
        let (_, sigs) = self
            .store()
            .load_signed(&rid)
            .map_err(fieldcrm_store::Error::from)?;
        let sig = sigs
            .iter()
            .find(|(h, _)| *h == hash)
            .map(|(_, s)| *s)
            .ok_or_else(|| Error::Corrupt("the enrolment change is not signed".into()))?;
        Ok((change.bytes().into_owned(), sig))
    }
}

/// Why the relay refused an invitation request, from the reason code it answered with
/// (`wrong-code`, `expired`, `used`, `rate-limited`, `forged`, …) and its English detail.
pub fn invite_refusal(code: &str, detail: &str) -> Error {
    let (zh, en) = match code {
        "wrong-code" => (
            "邀请码不对（或邀请已被撤回）",
            "the invitation code is wrong (or the invitation was withdrawn)",
        ),
        "expired" => (
            "邀请已过期：请管理员重新发一个",
            "the invitation has expired: ask an admin for a new one",
        ),
        "used" => (
            "这个邀请已被另一台设备使用过：邀请只能用一次",
            "this invitation was already used by another device: an invitation works once",
        ),
        "rate-limited" => (
            "错误次数太多：本地址 10 分钟内最多尝试 5 次，请稍后再试",
            "too many failed attempts: at most 5 failures per 10 minutes from one address; try again later",
        ),
        "forged" => (
            "邀请无效：不是由本工作区管理员的设备签发的，或内容被改动过",
            "the invitation is not valid: not signed by an admin's device of this workspace, or altered",
        ),
        _ => (
            "中继拒绝了邀请请求",
            "the relay refused the invitation request",
        ),
    };
    let detail = detail.trim();
    Error::Invalid(
        Msg::new(
            format!("{zh}（{detail}）"),
            if detail.is_empty() {
                en.to_string()
            } else {
                format!("{en} ({detail})")
            },
        )
        .on("invite"),
    )
}

/// A parsed invitation link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InviteLink {
    /// The relay's URL (`ws://host:port`).
    pub relay: String,
    /// The code.
    pub code: InviteCode,
    /// The workspace ID, when the link names it (the joining device then refuses a relay
    /// that serves another workspace).
    pub workspace: Option<String>,
}

/// The link of an invitation: `fieldcrm://join?relay=…&code=ABCD-EFGH&ws=…`.
pub fn invite_link(relay: &str, workspace_id: &str, code: &InviteCode) -> String {
    format!(
        "fieldcrm://join?relay={}&code={code}&ws={workspace_id}",
        encode(relay.trim())
    )
}

impl InviteLink {
    /// Parse a link made by [`invite_link`].
    pub fn parse(text: &str) -> Result<InviteLink> {
        let bad = || {
            Error::bad(
                "link",
                "不是邀请链接（fieldcrm://join?relay=…&code=…）",
                "not an invitation link (fieldcrm://join?relay=…&code=…)",
            )
        };
        let query = text
            .trim()
            .strip_prefix("fieldcrm://join?")
            .ok_or_else(bad)?;
        let (mut relay, mut code, mut ws) = (None, None, None);
        for pair in query.split('&') {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let v = decode(v).ok_or_else(bad)?;
            match k {
                "relay" => relay = Some(v),
                "code" => code = Some(crate::input::invite_code("code", &v)?),
                "ws" => ws = Some(v.to_ascii_lowercase()),
                _ => {}
            }
        }
        match (relay, code) {
            (Some(relay), Some(code)) if !relay.is_empty() => Ok(InviteLink {
                relay,
                code,
                workspace: ws,
            }),
            _ => Err(bad()),
        }
    }
}

fn encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~:/".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let h = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(h, 16).ok()?);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The QR code of `text` (an invitation link) as an SVG image.
pub fn qr_svg(text: &str) -> Result<String> {
    let code = qrcode::QrCode::new(text.as_bytes()).map_err(|e| {
        Error::Invalid(Msg::new(
            format!("无法生成二维码：{e}"),
            format!("cannot make a QR code: {e}"),
        ))
    })?;
    Ok(code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(240, 240)
        .quiet_zone(true)
        .build())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_round_trip_and_refuse_junk() {
        let code = InviteCode::parse("k7qx4m2p").unwrap();
        let link = invite_link("ws://192.168.1.10:7800", "ab".repeat(16).as_str(), &code);
        assert_eq!(
            link,
            format!(
                "fieldcrm://join?relay=ws://192.168.1.10:7800&code=K7QX-4M2P&ws={}",
                "ab".repeat(16)
            )
        );
        let parsed = InviteLink::parse(&link).unwrap();
        assert_eq!(parsed.relay, "ws://192.168.1.10:7800");
        assert_eq!(parsed.code, code);
        assert_eq!(parsed.workspace, Some("ab".repeat(16)));
        let odd = invite_link("ws://h:1/a b&c", "x", &code);
        assert_eq!(InviteLink::parse(&odd).unwrap().relay, "ws://h:1/a b&c");
        for junk in [
            "",
            "fieldcrm://join?",
            "http://x",
            "fieldcrm://join?relay=ws://h&code=bad",
            "fieldcrm://join?relay=%zz&code=K7QX-4M2P",
            "fieldcrm://join?relay=%E4&code=K7QX-4M2P",
            "fieldcrm://join?code=K7QX-4M2P",
        ] {
            assert!(InviteLink::parse(junk).is_err(), "{junk}");
        }
        let svg = qr_svg(&link).unwrap();
        assert!(svg.contains("<svg"), "{svg}");
    }
}
