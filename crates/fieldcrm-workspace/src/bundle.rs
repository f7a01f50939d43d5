//! Offline bundles: sync through a file (USB stick, email attachment).
//!
//! # File format (version 2)
//!
//! All integers little-endian.
//!
//! | bytes | content |
//! |---|---|
//! | 8 | magic `FCRMBNDL` |
//! | 2 | format version (`1`) |
//! | 4 | header length `H` |
//! | H | header, UTF-8 JSON: `workspace_id`, `device` (exporting device key, hex), `created_at` (UTC ms), `since` (UTC ms or null), `for_device` (hex or null), `docs` (count) |
//! | … | `docs` entries: 32 bytes document ID (ASCII hex), 1 byte kind, then for kind 0 (changes since `since`): 4 bytes count, each change as 4 bytes length, the change chunk and its 64-byte signature; for kind 1 (a whole document): 4 bytes length, the saved document, 4 bytes count, each 32-byte change hash and its 64-byte signature |
//! | 64 | ed25519 signature by the exporting device over every byte before it |
//!
//! The file signature makes a truncated or altered file fail as a whole: import verifies
//! it before reading any document and checks the workspace ID and that the exporting
//! device is enrolled and not revoked. Then every change is judged exactly as sync
//! judges it (`fieldcrm_sync::judge`): its own signature by the device its actor ID
//! names, that device's enrolment and write scope, the roster's chain of authority.
//! A refused change is reported with its document, author and reason and never blocks
//! the others; what is accepted is applied in one durable transaction. Importing the same
//! bundle twice changes nothing (Automerge changes are idempotent).

use std::path::Path;

use automerge::{AutoCommit, ChangeHash};
use fieldcrm_model::access::can_read;
use fieldcrm_model::{DeviceKey, DocId, DocKind, Document, Millis, Roster, Signature};
use fieldcrm_sync::{Judged, Part, judge};
use serde::{Deserialize, Serialize};

use crate::{Error, Result, Workspace, verify};

/// The bundle magic.
pub const BUNDLE_MAGIC: &[u8; 8] = b"FCRMBNDL";
/// The bundle format version this build writes and reads.
pub const BUNDLE_VERSION: u16 = 2;

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
    /// What was refused, one line each: a change (document, change, author, reason) or
    /// a whole document. Everything else was imported.
    pub refused: Vec<String>,
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
    fn u8(&mut self) -> Option<u8> {
        self.take(1)?.first().copied()
    }
    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N)?.try_into().ok()
    }
    fn len(&mut self) -> Option<usize> {
        usize::try_from(self.u32()?).ok()
    }
}

/// The data of one document in a bundle, with the signatures of its changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// Change chunks in causal order, each with its signature.
    Changes(Vec<(Vec<u8>, Signature)>),
    /// A whole saved document and its changes' signatures.
    Whole {
        /// The saved document.
        bytes: Vec<u8>,
        /// Signatures by change hash.
        sigs: Vec<(ChangeHash, Signature)>,
    },
}

impl Entry {
    fn part(&self) -> Part<'_> {
        match self {
            Entry::Changes(c) => Part::Changes(c),
            Entry::Whole { bytes, sigs } => Part::Whole { bytes, sigs },
        }
    }

    fn read(r: &mut Reader<'_>) -> Option<Entry> {
        match r.u8()? {
            0 => {
                let n = r.len()?;
                let mut out = Vec::new();
                for _ in 0..n {
                    let len = r.len()?;
                    let bytes = r.take(len)?.to_vec();
                    out.push((bytes, r.array::<64>()?));
                }
                Some(Entry::Changes(out))
            }
            1 => {
                let len = r.len()?;
                let bytes = r.take(len)?.to_vec();
                let n = r.len()?;
                let mut sigs = Vec::new();
                for _ in 0..n {
                    sigs.push((ChangeHash(r.array::<32>()?), r.array::<64>()?));
                }
                Some(Entry::Whole { bytes, sigs })
            }
            _ => None,
        }
    }

    fn write(&self, id: &DocId, buf: &mut Vec<u8>) -> Result<()> {
        let too_large = || Error::invalid(format!("document {id} is too large for a bundle"));
        let u32_of = |n: usize| u32::try_from(n).map_err(|_| too_large());
        buf.extend_from_slice(id.as_str().as_bytes());
        match self {
            Entry::Changes(changes) => {
                buf.push(0);
                buf.extend_from_slice(&u32_of(changes.len())?.to_le_bytes());
                for (bytes, sig) in changes {
                    buf.extend_from_slice(&u32_of(bytes.len())?.to_le_bytes());
                    buf.extend_from_slice(bytes);
                    buf.extend_from_slice(sig);
                }
            }
            Entry::Whole { bytes, sigs } => {
                buf.push(1);
                buf.extend_from_slice(&u32_of(bytes.len())?.to_le_bytes());
                buf.extend_from_slice(bytes);
                buf.extend_from_slice(&u32_of(sigs.len())?.to_le_bytes());
                for (hash, sig) in sigs {
                    buf.extend_from_slice(&hash.0);
                    buf.extend_from_slice(sig);
                }
            }
        }
        Ok(())
    }
}

/// A parsed, signature-checked bundle.
#[derive(Debug)]
pub struct Bundle {
    /// Header.
    pub header: BundleHeader,
    /// Documents and their signed Automerge data.
    pub docs: Vec<(DocId, Entry)>,
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
            let entry = Entry::read(&mut r).ok_or_else(|| bad(file, "damaged document entry"))?;
            docs.push((id, entry));
        }
        if r.pos != signed.len() {
            return Err(bad(file, "unexpected bytes after the last document"));
        }
        Ok(Bundle { header, docs })
    }
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
        // This user's customer claims travel with the bundle.
        self.before_sync(now)?;
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
        let mut entries: Vec<(DocId, Entry)> = Vec::new();
        for (id, _) in ids {
            if let Some((_, uid)) = &reader {
                let Some(summary) = self.summary(&id)? else {
                    continue;
                };
                if !can_read(&roster, uid, &summary) {
                    continue;
                }
            }
            let (bytes, sigs) = self
                .store()
                .load_signed(&id)
                .map_err(fieldcrm_store::Error::from)?;
            let entry = match opts.since {
                None => Entry::Whole { bytes, sigs },
                Some(since) => {
                    let mut am = AutoCommit::load(&bytes)
                        .map_err(|e| Error::Corrupt(format!("{id}: {e}")))?;
                    let by_hash: std::collections::HashMap<ChangeHash, Signature> =
                        sigs.into_iter().collect();
                    let mut picked = std::collections::BTreeSet::<ChangeHash>::new();
                    let mut changes = Vec::new();
                    for mut c in am.get_changes(&[]) {
                        if fieldcrm_model::change_time_ms(c.timestamp()) > since
                            || c.deps().iter().any(|d| picked.contains(d))
                        {
                            picked.insert(c.hash());
                            // A change stored without a signature travels without one;
                            // the importer refuses it by name.
                            let sig = by_hash.get(&c.hash()).copied().unwrap_or([0; 64]);
                            changes.push((c.bytes().into_owned(), sig));
                        }
                    }
                    if changes.is_empty() {
                        continue;
                    }
                    Entry::Changes(changes)
                }
            };
            entries.push((id, entry));
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
        for (id, entry) in &entries {
            entry.write(id, &mut buf)?;
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

        // The roster to judge by: ours, or (a device that just joined) the bundle's, which
        // is itself judged change by change back to the founding device.
        let rid = DocId::workspace(&DocKind::Roster);
        let bootstrap = !self.has_roster()?;
        let mut refused: Vec<String> = Vec::new();
        let mut accepted: Vec<Judged> = Vec::new();
        let mut docs = bundle.docs;
        if bootstrap {
            let pos = docs.iter().position(|(id, _)| *id == rid).ok_or_else(|| {
                bad(
                    file,
                    "this device has no roster yet and the bundle does not contain it (export a whole bundle, without --since, for this device)",
                )
            })?;
            let (_, entry) = docs.remove(pos);
            let scope = self.roster_scope(Roster::new(self.workspace_id(), ""), String::new())?;
            let j = judge(&scope, entry.part(), rid.clone(), false)
                .map_err(|e| bad(file, format!("its roster does not parse ({e})")))?;
            refused.extend(
                j.refused
                    .iter()
                    .map(|r| format!("{} {}", r.doc.short(), r.describe())),
            );
            if let Err(e) = &j.verdict {
                return Err(bad(file, format!("its roster is refused: {e}")));
            }
            let mut am = AutoCommit::new();
            am.load_incremental(&j.data)
                .map_err(|e| bad(file, format!("its roster does not load ({e})")))?;
            let r: Roster = Document::from_automerge(rid.clone(), am)?.hydrate()?;
            if r.workspace_id != self.workspace_id() {
                return Err(bad(file, "its roster belongs to another workspace"));
            }
            self.store()
                .apply_batch([(&rid, j.data.as_slice(), j.sigs.as_slice())])
                .map_err(fieldcrm_store::Error::from)?;
            accepted.push(j);
        }
        let roster = self.roster()?;
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
        let scope = self.roster_scope(roster, exporter_user)?;
        let mut new_changes = 0;
        let mut judged = Vec::new();
        for (id, entry) in docs {
            let held = self
                .store()
                .contains(&id)
                .map_err(fieldcrm_store::Error::from)?;
            let j = match judge(&scope, entry.part(), id.clone(), held) {
                Ok(j) => j,
                Err(e) => {
                    refused.push(format!("document {}: rejected ({e})", id.short()));
                    continue;
                }
            };
            refused.extend(
                j.refused
                    .iter()
                    .map(|r| format!("document {}: {}", r.doc.short(), r.describe())),
            );
            if let Err(e) = &j.verdict {
                refused.push(format!("document {}: {e}", id.short()));
                continue;
            }
            if j.data.is_empty() {
                continue;
            }
            // Changes whose history this device lacks would be kept back by the store:
            // say so instead.
            let (mut am, before) = match self.store().load_bytes(&id) {
                Ok(b) => {
                    let mut am =
                        AutoCommit::load(&b).map_err(|e| Error::Corrupt(format!("{id}: {e}")))?;
                    let before = am.get_heads();
                    (am, before)
                }
                Err(fieldcrm_store::LoadError::NotFound { .. }) => (AutoCommit::new(), Vec::new()),
                Err(e) => return Err(fieldcrm_store::Error::from(e).into()),
            };
            if am.load_incremental(&j.data).is_err() || !am.get_missing_deps(&[]).is_empty() {
                refused.push(format!(
                    "document {} needs earlier changes this device does not have (export without --since, or with an earlier --since)",
                    id.short()
                ));
                continue;
            }
            let n = am.get_changes_meta(&before).len();
            if n == 0 {
                continue;
            }
            new_changes += n;
            judged.push(j);
        }
        self.store()
            .apply_batch(
                judged
                    .iter()
                    .map(|j| (&j.id, j.data.as_slice(), j.sigs.as_slice())),
            )
            .map_err(fieldcrm_store::Error::from)?;
        accepted.extend(judged);
        // Judged against the roster held before the import: check again if the bundle's
        // roster took something away.
        refused.extend(self.reverify_if_roster_changed()?);
        let total = header.docs as usize;
        Ok(ImportReport {
            header,
            unchanged: total.saturating_sub(accepted.len()),
            changes: new_changes,
            updated: accepted.into_iter().map(|j| j.id).collect(),
            refused,
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
        let r = admin.import_bundle(&f).unwrap();
        let refused = r.refused.join("\n");
        assert!(refused.contains("may not write catalog"), "{refused}");
        assert!(
            refused.contains(&fieldcrm_model::short_id(&rep.device().to_hex()).to_string()),
            "{refused}"
        );
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
        let r = rep.import_bundle(&f).unwrap();
        let refused = r.refused.join("\n");
        assert!(refused.contains("needs earlier changes"), "{refused}");
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
