//! The durable list of invitation events, for the office console: one JSON line per
//! event in `invitations.jsonl` in the data directory, synced to disk before the request
//! that caused it is answered.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, Write};
use std::path::Path;
use std::sync::Mutex;

use fieldcrm_model::Millis;
use serde::{Deserialize, Serialize};

/// File name of the invitation log inside the data directory.
pub const INVITATION_LOG_FILE: &str = "invitations.jsonl";

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum InvitationEventKind {
    /// An admin's device uploaded an invitation.
    Created,
    /// A new device redeemed it (the code was right; it is used from now on).
    Used,
    /// The new device's enrolment was judged and saved: it may sync now.
    Enrolled,
    /// An attempt was refused (`reason` says why).
    Refused,
}

/// One invitation event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvitationEvent {
    /// When (the relay's clock, UTC ms).
    pub at_ms: Millis,
    /// What happened.
    pub event: InvitationEventKind,
    /// The invitation's ID, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invitation: Option<String>,
    /// For whom: the user's name, role and team (created).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The user's role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// The user's team.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    /// Until when it is valid (created).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<Millis>,
    /// The admin's device that created it and its user's name (created).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by_device: Option<String>,
    /// The admin's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by_user: Option<String>,
    /// The new device (used, enrolled, refused when known).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
    /// The client's address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub addr: Option<String>,
    /// Why it was refused: `wrong-code`, `expired`, `used`, `rate-limited`, `forged`,
    /// `bad-request`, and the detail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl InvitationEvent {
    /// An event with only its time and kind set.
    pub fn new(at_ms: Millis, event: InvitationEventKind) -> Self {
        InvitationEvent {
            at_ms,
            event,
            invitation: None,
            name: None,
            role: None,
            team: None,
            expires_at: None,
            by_device: None,
            by_user: None,
            device: None,
            addr: None,
            reason: None,
        }
    }
}

impl InvitationEvent {
    /// The same event for the console's events log.
    pub(crate) fn console_event(&self) -> crate::Event {
        use crate::EventKind;
        let kind = match self.event {
            InvitationEventKind::Created => EventKind::InvitationCreated,
            InvitationEventKind::Used => EventKind::InvitationUsed,
            InvitationEventKind::Enrolled => EventKind::Enrolled,
            InvitationEventKind::Refused => EventKind::InvitationRefused,
        };
        let mut e = crate::Event::new(kind, self.at_ms);
        e.device.clone_from(&self.device);
        e.by.clone_from(&self.by_device);
        e.address.clone_from(&self.addr);
        e.user.clone_from(&self.name);
        let whom: Vec<&str> = [&self.role, &self.team]
            .into_iter()
            .flatten()
            .map(String::as_str)
            .collect();
        let mut detail = Vec::new();
        if !whom.is_empty() {
            detail.push(whom.join(" "));
        }
        if let Some(by) = &self.by_user {
            detail.push(format!("by {by}"));
        }
        if let Some(reason) = &self.reason {
            detail.push(reason.clone());
        }
        if let Some(id) = &self.invitation {
            detail.push(format!("invitation {}", fieldcrm_model::short_id(id)));
        }
        e.detail = detail.join(" · ");
        e
    }
}

/// Serialises appends to the log files of this process.
static APPEND: Mutex<()> = Mutex::new(());

/// Append one event to the log in `data_dir`, synced to disk.
pub(crate) fn append(data_dir: &Path, event: &InvitationEvent) -> std::io::Result<()> {
    let mut line = serde_json::to_string(event).map_err(std::io::Error::other)?;
    line.push('\n');
    let _guard = APPEND.lock().unwrap_or_else(|p| p.into_inner());
    let mut f = OpenOptions::new()
        .create(true)
        .append(true)
        .open(data_dir.join(INVITATION_LOG_FILE))?;
    f.write_all(line.as_bytes())?;
    f.sync_data()
}

/// Read the log in `data_dir` (empty when there is none yet); lines that do not parse
/// (a torn last line after a crash) are skipped.
pub(crate) fn read(data_dir: &Path) -> std::io::Result<Vec<InvitationEvent>> {
    let f = match File::open(data_dir.join(INVITATION_LOG_FILE)) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut out = Vec::new();
    for line in std::io::BufReader::new(f).lines() {
        if let Ok(e) = serde_json::from_str(&line?) {
            out.push(e);
        }
    }
    Ok(out)
}
