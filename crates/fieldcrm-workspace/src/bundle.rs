//! Offline bundles: sync through a file (USB stick, email attachment).
//!
//! # File format (version 1)
//!
//! All integers little-endian.
//!
//! | bytes | content |
//! |---|---|
//! | 8 | magic `FCRMBNDL` |
//! | 2 | format version (`1`) |
//! | 4 | header length `H` |
//! | H | header, UTF-8 JSON: `workspace_id`, `device` (exporting device key, hex), `created_at` (UTC ms), `since` (UTC ms or null), `for_device` (hex or null), `docs` (count) |
//! | … | `docs` entries: 32 bytes document ID (ASCII hex), 4 bytes data length `L`, `L` bytes Automerge data (a whole saved document, or the changes since `since` as concatenated change chunks) |
//! | 64 | ed25519 signature by the exporting device over every byte before it |
//!
//! The signature makes a truncated or altered file fail as a whole: import verifies it
//! before reading any document, checks the workspace ID and that the exporting device is
//! enrolled and not revoked, checks write scope for every document that would change,
//! and applies everything in one durable transaction (or nothing). Importing the same
//! bundle twice changes nothing (Automerge changes are idempotent).

use std::panic::{self, AssertUnwindSafe};
use std::path::Path;

use automerge::{AutoCommit, ChangeHash};
use fieldcrm_model::access::{can_read, can_write};
use fieldcrm_model::{DeviceKey, DocId, DocKind, Document, Millis, Roster, Summary};
use serde::{Deserialize, Serialize};

use crate::{Error, Result, Workspace, verify};

/// The bundle magic.
pub const BUNDLE_MAGIC: &[u8; 8] = b"FCRMBNDL";
/// The bundle format version this build writes and reads.
pub const BUNDLE_VERSION: u16 = 1;

/// A bundle's header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BundleHeader {
    /// The workspace the bundle belongs to.
    pub workspace_id: String,
    /// The exporting device (hex key), which signed the bundle.
    pub device: String,
    /// When exported (UTC ms).
    pub created_at: Millis,
    /// Only changes after this time (UTC ms); `None`: whole documents.
    pub since: Option<Millis>,
    /// The device the export was scoped for, if any.
    pub for_device: Option<String>,
    /// Number of documents.
    pub docs: u64,
}

/// What to export.
#[derive(Debug, Clone, Default)]
pub struct ExportOptions {
    /// Only what this device's user may read (device key, hex or unique prefix).
    pub for_device: Option<String>,
    /// Only changes written after this time (UTC ms).
    pub since: Option<Millis>,
}

/// What an export wrote.
#[derive(Debug, Clone, Serialize)]
pub struct ExportReport {
    /// The header written.
    pub header: BundleHeader,
    /// Documents included.
    pub docs: Vec<DocId>,
    /// Total size in bytes.
    pub bytes: usize,
}

/// What an import did.
#[derive(Debug, Clone, Serialize)]
pub struct ImportReport {
    /// The bundle's header.
    pub header: BundleHeader,
    /// Documents that changed (new or updated).
    pub updated: Vec<DocId>,
    /// Documents that were already up to date.
    pub unchanged: usize,
    /// Number of new changes applied.
    pub changes: usize,
}

fn bad(file: &Path, what: impl std::fmt::Display) -> Error {
    Error::invalid(format!(
        "bundle {}: {what}; nothing was imported",
        file.display()
    ))
}

struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let s = self.data.get(self.pos..end)?;
        self.pos = end;
        Some(s)
    }
    fn u16(&mut self) -> Option<u16> {
        Some(u16::from_le_bytes(self.take(2)?.try_into().ok()?))
    }
    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }
}

/// A parsed, signature-checked bundle.
#[derive(Debug)]
pub struct Bundle {
    /// Header.
    pub header: BundleHeader,
    /// Documents and their Automerge data.
    pub docs: Vec<(DocId, Vec<u8>)>,
}

impl Bundle {
    /// Parse and verify bundle bytes (`file` names it in errors).
    pub fn parse(file: &Path, data: &[u8]) -> Result<Bundle> {
        if data.get(..8) != Some(&BUNDLE_MAGIC[..]) {
            return Err(bad(file, "not a fieldcrm bundle (wrong magic bytes)"));
        }
        let mut r = Reader { data, pos: 8 };
        let version = r
            .u16()
            .ok_or_else(|| bad(file, "truncated (no format version)"))?;
        if version != BUNDLE_VERSION {
            return Err(bad(
                file,
                format!(
                    "format version {version}; this fieldcrm reads version {BUNDLE_VERSION} (upgrade fieldcrm)"
                ),
            ));
        }
        let hlen = r.u32().ok_or_else(|| bad(file, "truncated header"))? as usize;
        let hbytes = r.take(hlen).ok_or_else(|| bad(file, "truncated header"))?;
        let header: BundleHeader = serde_json::from_slice(hbytes)
            .map_err(|e| bad(file, format!("damaged header ({e})")))?;
        let device: DeviceKey = header
            .device
            .parse()
            .map_err(|_| bad(file, "damaged header (bad device key)"))?;
        if data.len() < r.pos + 64 {
            return Err(bad(file, "truncated (no signature)"));
        }
        let Some((signed, sig)) = data
            .split_last_chunk::<64>()
            .map(|(signed, sig)| (signed, *sig))
        else {
            return Err(bad(file, "truncated: no signature"));
        };
        if !verify(&device, signed, &sig) {
            return Err(bad(
                file,
                "the signature does not match: the file is truncated or was altered",
            ));
        }
        let mut r = Reader {
            data: signed,
            pos: r.pos,
        };
        let mut docs = Vec::new();
        for _ in 0..header.docs {
            let id = r
                .take(32)
                .and_then(|b| std::str::from_utf8(b).ok())
                .and_then(|s| s.parse::<DocId>().ok())
                .ok_or_else(|| bad(file, "damaged document entry"))?;
            let len = r.u32().ok_or_else(|| bad(file, "damaged document entry"))? as usize;
            let bytes = r
                .take(len)
                .ok_or_else(|| bad(file, "damaged document entry"))?;
            docs.push((id, bytes.to_vec()));
        }
        if r.pos != signed.len() {
            return Err(bad(file, "unexpected bytes after the last document"));
        }
        Ok(Bundle { header, docs })
    }
}

/// Apply untrusted Automerge data to a document copy, catching panics.
fn apply_copy(am: &mut AutoCommit, data: &[u8]) -> std::result::Result<(), String> {
    panic::catch_unwind(AssertUnwindSafe(|| am.load_incremental(data)))
        .map_err(|_| "automerge failed on these bytes".to_string())?
        .map(|_| ())
        .map_err(|e| e.to_string())
}

impl Workspace {
    fn find_device(&self, roster: &Roster, text: &str) -> Result<DeviceKey> {
        let t = text.trim().to_ascii_lowercase();
        let hits: Vec<&String> = roster
            .devices
            .keys()
            .filter(|k| **k == t || (t.len() >= 6 && k.starts_with(&t)))
            .collect();
        match hits.as_slice() {
            [k] => Ok(k
                .parse()
                .map_err(|_| Error::Corrupt(format!("roster device key {k}")))?),
            [] => Err(Error::not_found(format!(
                "no device `{text}` in the roster (see `fieldcrm device list`)"
            ))),
            _ => Err(Error::ambiguous(format!(
                "`{text}` matches several devices"
            ))),
        }
    }

    /// Write a signed bundle of this device's documents (or those a device may read, or
    /// the changes since a time) to `out`.
    pub fn export_bundle(
        &self,
        opts: &ExportOptions,
        out: &Path,
        now: Millis,
    ) -> Result<ExportReport> {
        let roster = self.roster()?;
        let reader = match &opts.for_device {
            Some(text) => {
                let key = self.find_device(&roster, text)?;
                let (uid, _) = self.peer_user(&key)?;
                Some((key, uid))
            }
            None => None,
        };
        let ids = self
            .store()
            .all_heads()
            .map_err(fieldcrm_store::Error::from)?;
        let mut entries: Vec<(DocId, Vec<u8>)> = Vec::new();
        for (id, _) in ids {
            if let Some((_, uid)) = &reader {
                let Some(summary) = self.summary(&id)? else {
                    continue;
                };
                if !can_read(&roster, uid, &summary) {
                    continue;
                }
            }
            let mut doc = self.load(&id)?;
            let data = match opts.since {
                None => doc.save(),
                Some(since) => {
                    let am = doc.automerge_mut();
                    let mut picked = std::collections::BTreeSet::<ChangeHash>::new();
                    let mut data = Vec::new();
                    for mut c in am.get_changes(&[]) {
                        if fieldcrm_model::change_time_ms(c.timestamp()) > since
                            || c.deps().iter().any(|d| picked.contains(d))
                        {
                            picked.insert(c.hash());
                            data.extend_from_slice(&c.bytes());
                        }
                    }
                    data
                }
            };
            if !data.is_empty() {
                entries.push((id, data));
            }
        }
        let header = BundleHeader {
            workspace_id: self.workspace_id().to_string(),
            device: self.device().to_hex(),
            created_at: now,
            since: opts.since,
            for_device: reader.as_ref().map(|(k, _)| k.to_hex()),
            docs: entries.len() as u64,
        };
        let mut buf = Vec::new();
        buf.extend_from_slice(BUNDLE_MAGIC);
        buf.extend_from_slice(&BUNDLE_VERSION.to_le_bytes());
        let h = serde_json::to_vec(&header).map_err(|e| Error::invalid(e.to_string()))?;
        buf.extend_from_slice(&(h.len() as u32).to_le_bytes());
        buf.extend_from_slice(&h);
        for (id, data) in &entries {
            let len = u32::try_from(data.len())
                .map_err(|_| Error::invalid(format!("document {id} is too large for a bundle")))?;
            buf.extend_from_slice(id.as_str().as_bytes());
            buf.extend_from_slice(&len.to_le_bytes());
            buf.extend_from_slice(data);
        }
        let sig = self.secret().sign(&buf);
        buf.extend_from_slice(&sig);
        std::fs::write(out, &buf).map_err(|source| Error::Io {
            path: out.to_path_buf(),
            source,
        })?;
        Ok(ExportReport {
            header,
            docs: entries.into_iter().map(|(id, _)| id).collect(),
            bytes: buf.len(),
        })
    }

    /// Import a bundle file: verify, check scope, apply all in one durable transaction.
    pub fn import_bundle(&self, file: &Path) -> Result<ImportReport> {
        let data = std::fs::read(file).map_err(|source| Error::Io {
            path: file.to_path_buf(),
            source,
        })?;
        let bundle = Bundle::parse(file, &data)?;
        let header = bundle.header.clone();
        if header.workspace_id != self.workspace_id() {
            return Err(bad(
                file,
                format!(
                    "it belongs to workspace {}, this is workspace {}",
                    header.workspace_id,
                    self.workspace_id()
                ),
            ));
        }
        let exporter: DeviceKey = header
            .device
            .parse()
            .map_err(|_| bad(file, "damaged header (bad device key)"))?;

        // Apply every document to a copy first: nothing touches the store until all pass.
        struct Prepared {
            id: DocId,
            data: Vec<u8>,
            am: AutoCommit,
            held: bool,
            new_changes: usize,
            authors: Vec<automerge::ActorId>,
        }
        let mut prepared = Vec::new();
        let mut problems = Vec::new();
        for (id, data) in bundle.docs {
            let (mut am, held) = match self.store().load_bytes(&id) {
                Ok(b) => (
                    AutoCommit::load(&b).map_err(|e| Error::Corrupt(format!("{id}: {e}")))?,
                    true,
                ),
                Err(fieldcrm_store::LoadError::NotFound { .. }) => (AutoCommit::new(), false),
                Err(e) => return Err(fieldcrm_store::Error::from(e).into()),
            };
            let before = am.get_heads();
            if let Err(e) = apply_copy(&mut am, &data) {
                problems.push(format!("document {}: rejected ({e})", id.short()));
                continue;
            }
            if !am.get_missing_deps(&[]).is_empty() {
                problems.push(format!(
                    "document {} needs earlier changes this device does not have (export without --since, or with an earlier --since)",
                    id.short()
                ));
                continue;
            }
            let new = am.get_changes_meta(&before);
            if new.is_empty() {
                continue;
            }
            let mut authors: Vec<automerge::ActorId> =
                new.iter().map(|m| m.actor.clone().into_owned()).collect();
            authors.sort();
            authors.dedup();
            let new_changes = new.len();
            prepared.push(Prepared {
                id,
                data,
                am,
                held,
                new_changes,
                authors,
            });
        }
        if !problems.is_empty() {
            return Err(bad(file, problems.join("; ")));
        }

        // The roster to judge by: ours, or (a device that just joined) the bundle's.
        let roster: Roster = if self.has_roster()? {
            self.roster()?
        } else {
            let rid = DocId::workspace(&DocKind::Roster);
            let p = prepared.iter().find(|p| p.id == rid).ok_or_else(|| {
                bad(
                    file,
                    "this device has no roster yet and the bundle does not contain it (export a whole bundle, without --since, for this device)",
                )
            })?;
            let doc = Document::from_automerge(rid, p.am.clone())?;
            let r: Roster = doc.hydrate()?;
            if r.workspace_id != self.workspace_id() {
                return Err(bad(file, "its roster belongs to another workspace"));
            }
            r
        };
        let dev = roster.devices.get(&exporter.to_hex()).ok_or_else(|| {
            bad(
                file,
                format!("it was exported by device {exporter}, which is not in the roster"),
            )
        })?;
        if dev.revoked_at.is_some() {
            return Err(bad(
                file,
                format!("it was exported by device {exporter}, which has been revoked"),
            ));
        }
        let exporter_user = dev.user.clone();
        if !roster.users.get(&exporter_user).is_some_and(|u| u.active) {
            return Err(bad(
                file,
                "it was exported by a device of a deactivated user",
            ));
        }
        let bootstrap = !self.has_roster()?;
        let author_may_write = |a: &automerge::ActorId, s: &Summary| {
            DeviceKey::from_actor(a)
                .and_then(|k| roster.devices.get(&k.to_hex()))
                .is_some_and(|d| d.revoked_at.is_none() && can_write(&roster, &d.user, s))
        };
        for p in &prepared {
            if bootstrap {
                continue;
            }
            let summary = if p.held {
                self.summary(&p.id)?
            } else {
                Document::from_automerge(p.id.clone(), p.am.clone())
                    .and_then(|mut d| d.summary())
                    .ok()
            };
            let Some(summary) = summary else {
                problems.push(format!(
                    "document {} is not a fieldcrm document this version reads",
                    p.id.short()
                ));
                continue;
            };
            let ok = can_write(&roster, &exporter_user, &summary)
                || p.authors.iter().all(|a| author_may_write(a, &summary));
            if !ok {
                let name = roster
                    .users
                    .get(&exporter_user)
                    .map(|u| u.name.as_str())
                    .unwrap_or("?");
                problems.push(format!(
                    "user {name} may not write {} `{}` ({})",
                    summary.kind,
                    summary.name,
                    p.id.short()
                ));
            }
        }
        if !problems.is_empty() {
            return Err(Error::denied(format!(
                "bundle {}: {}; nothing was imported",
                file.display(),
                problems.join("; ")
            )));
        }
        self.store()
            .apply_batch(prepared.iter().map(|p| (&p.id, p.data.as_slice())))
            .map_err(fieldcrm_store::Error::from)?;
        let total = header.docs as usize;
        Ok(ImportReport {
            header,
            unchanged: total - prepared.len(),
            changes: prepared.iter().map(|p| p.new_changes).sum(),
            updated: prepared.into_iter().map(|p| p.id).collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::InitOptions;

    fn admin(dir: &Path) -> Workspace {
        Workspace::init(
            &dir.join("admin"),
            &InitOptions {
                user: "王经理".into(),
                role: fieldcrm_model::Role::Admin,
                team: Some("华东一组".into()),
                region: None,
                company: "示例".into(),
                device_label: "laptop".into(),
            },
            1_000,
        )
        .unwrap()
    }

    /// A rep device that received the workspace by bundle.
    fn rep(dir: &Path, admin: &Workspace) -> Workspace {
        admin
            .add_user(
                "小张",
                fieldcrm_model::Role::Rep,
                Some("华东一组".into()),
                None,
                2_000,
            )
            .unwrap();
        let rep = Workspace::join(&dir.join("rep"), admin.workspace_id()).unwrap();
        admin
            .enroll_device(&rep.device(), "小张", "phone", 3_000)
            .unwrap();
        let f = dir.join("first.bundle");
        admin
            .export_bundle(
                &ExportOptions {
                    for_device: Some(rep.device().to_hex()),
                    since: None,
                },
                &f,
                4_000,
            )
            .unwrap();
        let r = rep.import_bundle(&f).unwrap();
        assert!(r.updated.contains(&DocId::workspace(&DocKind::Roster)));
        assert_eq!(rep.me().unwrap().user.name, "小张");
        rep
    }

    #[test]
    fn import_refuses_changes_the_exporting_user_may_not_write() {
        let dir = tempfile::tempdir().unwrap();
        let admin = admin(dir.path());
        let rep = rep(dir.path(), &admin);
        // The rep's device writes to the catalog behind the CLI's back.
        let catalog = DocId::workspace(&DocKind::Catalog);
        rep.edit(&catalog, 5_000, "forged", |doc| {
            Ok(doc.put(&["discount_allowance_bp", "rep"], &9_000i64)?)
        })
        .unwrap();
        let f = dir.path().join("forged.bundle");
        rep.export_bundle(&ExportOptions::default(), &f, 6_000)
            .unwrap();
        let before = admin.store().heads(&catalog).unwrap();
        let err = admin.import_bundle(&f).unwrap_err().to_string();
        assert!(err.contains("may not write catalog"), "{err}");
        assert!(err.contains("nothing was imported"), "{err}");
        assert_eq!(admin.store().heads(&catalog).unwrap(), before);
        assert_eq!(admin.catalog().unwrap().discount_allowance_bp["rep"], 1000);
    }

    #[test]
    fn a_device_outside_the_roster_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let admin = admin(dir.path());
        let stranger = Workspace::join(&dir.path().join("stranger"), admin.workspace_id()).unwrap();
        let f = dir.path().join("all.bundle");
        admin
            .export_bundle(&ExportOptions::default(), &f, 5_000)
            .unwrap();
        // A copy of the workspace reaches a device nobody enrolled ...
        stranger.import_bundle(&f).unwrap();
        assert!(stranger.me().is_err());
        let g = dir.path().join("stranger.bundle");
        stranger
            .export_bundle(&ExportOptions::default(), &g, 6_000)
            .unwrap();
        // ... whose bundles are refused.
        let err = admin.import_bundle(&g).unwrap_err().to_string();
        assert!(err.contains("not in the roster"), "{err}");
    }

    #[test]
    fn changes_without_their_history_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let admin = admin(dir.path());
        let rep = rep(dir.path(), &admin);
        let id = admin
            .add_customer(
                crate::NewCustomer {
                    name: "甲公司".into(),
                    owner: Some("小张".into()),
                    ..Default::default()
                },
                5_000,
            )
            .unwrap();
        admin
            .edit_customer_fields(
                &id,
                crate::CustomerEdit {
                    industry: Some("制造业".into()),
                    ..Default::default()
                },
                7_000,
            )
            .unwrap();
        let f = dir.path().join("since.bundle");
        admin
            .export_bundle(
                &ExportOptions {
                    for_device: None,
                    since: Some(6_000),
                },
                &f,
                8_000,
            )
            .unwrap();
        let err = rep.import_bundle(&f).unwrap_err().to_string();
        assert!(err.contains("needs earlier changes"), "{err}");
        assert!(!rep.store().contains(&id).unwrap());
    }

    #[test]
    fn bundle_bytes_are_checked_before_anything_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let admin = admin(dir.path());
        let f = dir.path().join("all.bundle");
        admin
            .export_bundle(&ExportOptions::default(), &f, 5_000)
            .unwrap();
        let data = std::fs::read(&f).unwrap();
        let b = Bundle::parse(&f, &data).unwrap();
        assert_eq!(b.header.docs, 4);
        assert_eq!(b.header.device, admin.device().to_hex());
        // Every single-byte change anywhere is refused.
        for i in (0..data.len()).step_by(97) {
            let mut d = data.clone();
            d[i] ^= 1;
            assert!(Bundle::parse(&f, &d).is_err(), "byte {i}");
        }
        for n in [0, 7, 12, 40, data.len() - 1] {
            assert!(Bundle::parse(&f, &data[..n]).is_err(), "length {n}");
        }
    }
}
