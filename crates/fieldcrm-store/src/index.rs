//! Listing, filtering and resolving documents from the summary index, without loading
//! any document.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use fieldcrm_model::{DocId, DocKind, ID_HEX_LEN, Summary};
use redb::{ReadableDatabase, ReadableTable, ReadableTableMetadata};

use crate::MIN_PREFIX;
use crate::codec;
use crate::error::{Candidate, DamagedRow, DbResultExt, ListError, LoadError, ResolveError};
use crate::store::{INDEX, NAMES, Store};

/// A name row as a table iterator gives it: ((name, document), summary row).
type NameRow<'a> = (
    redb::AccessGuard<'a, (&'static str, &'static str)>,
    redb::AccessGuard<'a, &'static [u8]>,
);

/// What to do with merged-away documents (tombstones, `merged_into` set) and archived ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Tombstones {
    /// Leave them out (the default).
    #[default]
    Exclude,
    /// List them with the others.
    Include,
    /// List only them.
    Only,
}

/// A filter over the summary index. Every set field must match; values are compared
/// with the stored (canonical) strings, e.g. class `key`, status `active`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Filter {
    /// Document kind.
    pub kind: Option<DocKind>,
    /// Customer class, or channel kind for channels.
    pub class: Option<String>,
    /// Owning user ID.
    pub owner: Option<String>,
    /// Team.
    pub team: Option<String>,
    /// Channel status.
    pub status: Option<String>,
    /// Region.
    pub region: Option<String>,
    /// Substring of the name (case-insensitive; Chinese text works).
    pub name_contains: Option<String>,
    /// Merged-away documents.
    pub tombstones: Tombstones,
}

impl Filter {
    /// Only documents of this kind.
    pub fn kind(mut self, kind: DocKind) -> Self {
        self.kind = Some(kind);
        self
    }
    /// Only this class.
    pub fn class(mut self, class: impl Into<String>) -> Self {
        self.class = Some(class.into());
        self
    }
    /// Only this owner.
    pub fn owner(mut self, owner: impl Into<String>) -> Self {
        self.owner = Some(owner.into());
        self
    }
    /// Only this team.
    pub fn team(mut self, team: impl Into<String>) -> Self {
        self.team = Some(team.into());
        self
    }
    /// Only this status.
    pub fn status(mut self, status: impl Into<String>) -> Self {
        self.status = Some(status.into());
        self
    }
    /// Only this region.
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.region = Some(region.into());
        self
    }
    /// Only names containing `text`.
    pub fn name_contains(mut self, text: impl Into<String>) -> Self {
        self.name_contains = Some(text.into());
        self
    }
    /// How to treat merged-away documents.
    pub fn tombstones(mut self, t: Tombstones) -> Self {
        self.tombstones = t;
        self
    }

    /// The same test as [`Store::list`] for rows already in memory (a long-running
    /// process keeps the index between requests).
    pub fn matching(&self) -> impl Fn(&Summary) -> bool + '_ {
        let matches = self.matcher();
        move |s: &Summary| matches(&codec::SummaryRef::of(s))
    }

    /// Whether a stored row passes; works on borrowed text so rejected rows cost no
    /// allocation.
    fn matcher(&self) -> impl Fn(&codec::SummaryRef<'_>) -> bool + '_ {
        let needle = self.name_contains.as_ref().map(|n| n.to_lowercase());
        move |s: &codec::SummaryRef<'_>| {
            fn eq(want: &Option<String>, have: Option<&str>) -> bool {
                want.as_deref().is_none_or(|w| have == Some(w))
            }
            let tomb_ok = match self.tombstones {
                Tombstones::Exclude => s.merged_into.is_none() && !s.archived,
                Tombstones::Include => true,
                Tombstones::Only => s.merged_into.is_some() || s.archived,
            };
            tomb_ok
                && self.kind.as_ref().is_none_or(|k| k.as_str() == s.kind)
                && eq(&self.class, s.class)
                && eq(&self.owner, s.owner)
                && eq(&self.team, s.team)
                && eq(&self.status, s.status)
                && eq(&self.region, s.region)
                && needle.as_ref().is_none_or(|n| {
                    s.name.contains(n.as_str()) || s.name.to_lowercase().contains(n.as_str())
                })
        }
    }
}

/// One of `parts` equal slices of the document ID space (IDs are hex, so slices are
/// split at their first digit); every key, well formed or not, falls in exactly one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyPart {
    part: usize,
    parts: usize,
}

impl KeyPart {
    /// The whole ID space.
    pub const WHOLE: KeyPart = KeyPart { part: 0, parts: 1 };

    /// Slice `part` (from 0) of `parts` (at most 16; an index past the end is the last).
    pub fn new(part: usize, parts: usize) -> Self {
        let parts = parts.clamp(1, 16);
        KeyPart {
            part: part.min(parts - 1),
            parts,
        }
    }

    /// Every slice of `parts`, in key order.
    pub fn all(parts: usize) -> impl Iterator<Item = KeyPart> {
        let parts = parts.clamp(1, 16);
        (0..parts).map(move |p| KeyPart::new(p, parts))
    }

    /// The first key in the slice and the first past it (none at either end): each a
    /// single hex digit, so a key is in the slice by its first byte alone.
    fn bounds(self) -> (Option<char>, Option<char>) {
        let at = |i: usize| {
            (i > 0 && i < self.parts)
                .then(|| char::from_digit((i * 16 / self.parts) as u32, 16))
                .flatten()
        };
        (at(self.part), at(self.part + 1))
    }

    /// Whether `key` falls in this slice.
    pub fn contains(self, key: &str) -> bool {
        let (from, to) = self.bounds();
        let first = key.as_bytes().first().copied();
        // `key >= d` and `key < d` for a one-digit string `d`, by the first byte.
        from.is_none_or(|f| first.is_some_and(|b| b >= f as u8))
            && to.is_none_or(|t| first.is_none_or(|b| b < t as u8))
    }
}

/// One row of a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    /// The document.
    pub id: DocId,
    /// Its summary row.
    pub summary: Summary,
}

fn bad_row(path: &Path, key: &str, detail: String) -> DamagedRow {
    DamagedRow {
        path: path.to_path_buf(),
        table: "index-v1",
        key: key.to_string(),
        detail,
    }
}

fn decode_row(path: &Path, key: &str, value: &[u8]) -> Result<Listed, DamagedRow> {
    let bad = |detail: String| bad_row(path, key, detail);
    Ok(Listed {
        id: key.parse::<DocId>().map_err(|e| bad(e.to_string()))?,
        summary: codec::decode_summary(value).map_err(|e| bad(e.0.to_string()))?,
    })
}

/// The summary row `value` of document `key`, when it matches; a row that does not
/// decode is an error naming the document.
fn matching<'v>(
    path: &Path,
    key: &str,
    value: &'v [u8],
    matches: &impl Fn(&codec::SummaryRef<'_>) -> bool,
) -> Result<Option<(DocId, codec::SummaryRef<'v>)>, ListError> {
    let summary =
        codec::decode_summary_ref(value).map_err(|e| bad_row(path, key, e.0.to_string()))?;
    if !matches(&summary) {
        return Ok(None);
    }
    let id = key
        .parse::<DocId>()
        .map_err(|e| bad_row(path, key, e.to_string()))?;
    Ok(Some((id, summary)))
}

impl Store {
    /// Documents matching `filter`, sorted by name (then ID): read in that order from
    /// the name rows ([`Store::list_by_name_ends`]). Loads no document.
    pub fn list(&self, filter: &Filter) -> Result<Vec<Listed>, ListError> {
        let listed = |acc: &mut Vec<Listed>, id: &DocId, s: codec::SummaryRef<'_>| {
            acc.push(Listed {
                id: id.clone(),
                summary: s.to_summary(),
            });
        };
        let (mut out, back) = self.list_by_name_ends(filter, Vec::new(), Vec::new(), listed)?;
        out.extend(back.into_iter().rev());
        Ok(out)
    }

    /// What `row` makes of each document matching `filter`, in ID order (not sorted by
    /// name). The summary is borrowed from the stored bytes, so a listing of 100,000
    /// files holds only what it keeps of each.
    pub fn list_map<T>(
        &self,
        filter: &Filter,
        row: impl FnMut(&DocId, codec::SummaryRef<'_>) -> T,
    ) -> Result<Vec<T>, ListError> {
        self.list_map_part(filter, KeyPart::WHOLE, row)
    }

    /// [`Store::list_map`] over one part of the ID space: a listing can read the parts
    /// on several threads at once and put them together in order.
    pub fn list_map_part<T>(
        &self,
        filter: &Filter,
        part: KeyPart,
        mut row: impl FnMut(&DocId, codec::SummaryRef<'_>) -> T,
    ) -> Result<Vec<T>, ListError> {
        let path = self.path();
        let txn = self.db().begin_read().db(path)?;
        let index = txn.open_table(INDEX).db(path)?;
        let matches = filter.matcher();
        let mut out = Vec::new();
        let (from, to) = part.bounds();
        let (from, to) = (from.map(String::from), to.map(String::from));
        let bounds = (
            from.as_deref().map_or(Bound::Unbounded, Bound::Included),
            to.as_deref().map_or(Bound::Unbounded, Bound::Excluded),
        );
        for entry in index.range::<&str>(bounds).db(path)? {
            let (k, v) = entry.db(path)?;
            if let Some((id, summary)) = matching(path, k.value(), v.value(), &matches)? {
                out.push(row(&id, summary));
            }
        }
        Ok(out)
    }

    /// The documents matching `filter` in name order (then ID), read from the name rows
    /// (a copy of each summary row, kept in that order) from both ends at once: `front`
    /// takes rows from the first name on, on this thread, and `back` from the last name
    /// backwards, on another, until they meet; each row goes to one of them. Nothing is
    /// sorted: the rows of `front` and then those of `back` reversed are the listing.
    pub fn list_by_name_ends<A: Send>(
        &self,
        filter: &Filter,
        mut front: A,
        mut back: A,
        row: impl Fn(&mut A, &DocId, codec::SummaryRef<'_>) + Sync,
    ) -> Result<(A, A), ListError> {
        let path = self.path();
        let txn = self.db().begin_read().db(path)?;
        let names = txn.open_table(NAMES).db(path)?;
        let total = names.len().db(path)?;
        let taken = AtomicU64::new(0);
        let matches = filter.matcher();
        // One end's walk: each row it reads is first claimed, so the two walks stop
        // where they meet, with every row read once.
        let walk = |rows: &mut dyn Iterator<Item = Result<NameRow<'_>, redb::StorageError>>,
                    acc: &mut A|
         -> Result<(), ListError> {
            for entry in rows {
                if taken.fetch_add(1, Ordering::Relaxed) >= total {
                    break;
                }
                let (k, v) = entry.db(path)?;
                let (_, key) = k.value();
                if let Some((id, summary)) = matching(path, key, v.value(), &matches)? {
                    row(acc, &id, summary);
                }
            }
            Ok(())
        };
        let mut forward = names.iter().db(path)?;
        let mut backward = names.iter().db(path)?.rev();
        std::thread::scope(|scope| {
            let behind = scope.spawn(|| walk(&mut backward, &mut back));
            let ahead = walk(&mut forward, &mut front);
            let behind = behind
                .join()
                .unwrap_or_else(|e| std::panic::resume_unwind(e));
            ahead.and(behind)
        })?;
        Ok((front, back))
    }

    /// Every document's summary row, from one read transaction (a session deciding what
    /// it shares asks for each held document once; one scan instead of a transaction
    /// per document keeps a reconnect flat in the number of documents).
    pub fn all_summaries(&self) -> Result<std::collections::HashMap<DocId, Summary>, ListError> {
        let path = self.path();
        let txn = self.db().begin_read().db(path)?;
        let index = txn.open_table(INDEX).db(path)?;
        let mut out = std::collections::HashMap::new();
        for row in index.iter().db(path)? {
            let (k, v) = row.db(path)?;
            let l = decode_row(path, k.value(), v.value())?;
            out.insert(l.id, l.summary);
        }
        Ok(out)
    }

    /// The summary rows of `ids` the store has, from one read transaction (a few rows
    /// asked for among many, without reading them all).
    pub fn summaries_of<'a>(
        &self,
        ids: impl IntoIterator<Item = &'a DocId>,
    ) -> Result<std::collections::HashMap<DocId, Summary>, ListError> {
        let path = self.path();
        let txn = self.db().begin_read().db(path)?;
        let index = txn.open_table(INDEX).db(path)?;
        let mut out = std::collections::HashMap::new();
        for id in ids {
            if let Some(v) = index.get(id.as_str()).db(path)? {
                out.insert(
                    id.clone(),
                    decode_row(path, id.as_str(), v.value())?.summary,
                );
            }
        }
        Ok(out)
    }

    /// How many documents the store holds.
    pub fn len(&self) -> Result<u64, ListError> {
        let path = self.path();
        let txn = self.db().begin_read().db(path)?;
        Ok(txn.open_table(INDEX).db(path)?.len().db(path)?)
    }

    /// Whether the store holds no documents.
    pub fn is_empty(&self) -> Result<bool, ListError> {
        Ok(self.len()? == 0)
    }

    /// A document's summary row, if the store has it.
    pub fn summary(&self, id: &DocId) -> Result<Option<Summary>, LoadError> {
        let path = self.path();
        let txn = self.db().begin_read().db(path)?;
        let index = txn.open_table(INDEX).db(path)?;
        let Some(v) = index.get(id.as_str()).db(path)? else {
            return Ok(None);
        };
        Ok(Some(decode_row(path, id.as_str(), v.value())?.summary))
    }

    /// Resolve what a user typed: a unique hex prefix of an ID (git-style, at least
    /// [`MIN_PREFIX`] characters), a full ID, or a document's exact name. With `kind`,
    /// only documents of that kind count. Reads only the index.
    pub fn resolve(&self, kind: Option<&DocKind>, text: &str) -> Result<DocId, ResolveError> {
        let path = self.path();
        let text = text.trim();
        let list_err = |e: ListError| ResolveError::List(e);
        let txn = self.db().begin_read().db(path).map_err(ListError::from)?;
        let index = txn.open_table(INDEX).db(path).map_err(ListError::from)?;
        let names = txn.open_table(NAMES).db(path).map_err(ListError::from)?;
        let mut found: BTreeMap<DocId, Summary> = BTreeMap::new();

        let prefix = text.to_ascii_lowercase();
        if (MIN_PREFIX..=ID_HEX_LEN).contains(&prefix.len())
            && prefix.bytes().all(|b| b.is_ascii_hexdigit())
        {
            for row in index
                .range(prefix.as_str()..)
                .db(path)
                .map_err(ListError::from)?
            {
                let (k, v) = row.db(path).map_err(ListError::from)?;
                if !k.value().starts_with(&prefix) {
                    break;
                }
                let l = decode_row(path, k.value(), v.value()).map_err(|e| list_err(e.into()))?;
                found.insert(l.id, l.summary);
            }
        }
        if !text.is_empty() {
            for row in names
                .range((text, "")..)
                .db(path)
                .map_err(ListError::from)?
            {
                let (k, _) = row.db(path).map_err(ListError::from)?;
                let (name, id) = k.value();
                if name != text {
                    break;
                }
                // Trust the index over the name row.
                if let Some(v) = index.get(id).db(path).map_err(ListError::from)? {
                    let l = decode_row(path, id, v.value()).map_err(|e| list_err(e.into()))?;
                    if l.summary.name == text {
                        found.insert(l.id, l.summary);
                    }
                }
            }
        }
        found.retain(|_, s| kind.is_none_or(|k| *k == s.kind));
        if let Some(exact) = found.keys().find(|id| id.as_str() == prefix) {
            return Ok(exact.clone());
        }
        if found.len() <= 1 {
            return found
                .into_keys()
                .next()
                .ok_or_else(|| ResolveError::NotFound {
                    text: text.to_string(),
                    kind: kind.cloned(),
                });
        }
        let mut candidates: Vec<Candidate> = found
            .into_iter()
            .map(|(id, s)| Candidate {
                id,
                kind: s.kind,
                name: s.name,
            })
            .collect();
        candidates.sort_by(|a, b| a.name.cmp(&b.name).then_with(|| a.id.cmp(&b.id)));
        Err(ResolveError::Ambiguous {
            text: text.to_string(),
            candidates,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fieldcrm_model::{Channel, ChannelKind, Customer, CustomerClass, DeviceKey, Document};

    const A: DeviceKey = DeviceKey([1; 32]);

    fn doc_with_id(id: &str, c: Customer) -> Document {
        Document::create(id.parse().unwrap(), &A, 1, &c, "new").unwrap()
    }

    fn cust(name: &str, class: Option<CustomerClass>, owner: &str, region: &str) -> Customer {
        let mut c = Customer::new(name, 1);
        c.class = class;
        c.owner = Some(owner.into());
        c.team = Some(format!("team-{owner}"));
        c.region = Some(region.into());
        c
    }

    fn fixture() -> (tempfile::TempDir, Store, Vec<DocId>) {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::create(dir.path().join("ws.fieldcrm")).unwrap();
        let mut docs = vec![
            doc_with_id(
                "abcd0000000000000000000000000001",
                cust("华东机械有限公司", Some(CustomerClass::Key), "u1", "上海"),
            ),
            doc_with_id(
                "abcd1000000000000000000000000002",
                cust("华南电子", Some(CustomerClass::General), "u2", "深圳"),
            ),
            doc_with_id(
                "abce0000000000000000000000000003",
                cust("Acme Trading", None, "u1", "上海"),
            ),
            doc_with_id(
                "beef0000000000000000000000000004",
                cust("Twin", None, "u2", "北京"),
            ),
            doc_with_id(
                "beef1000000000000000000000000005",
                cust("Twin", None, "u2", "北京"),
            ),
        ];
        let mut merged = cust("华东机械 (old)", None, "u1", "上海");
        merged.merged_into = Some("abcd0000000000000000000000000001".into());
        docs.push(doc_with_id("cafe0000000000000000000000000006", merged));
        let mut ch = Document::create(
            "d00d0000000000000000000000000007".parse().unwrap(),
            &A,
            1,
            &Channel::new("华东分销", ChannelKind::Distributor, 1),
            "new",
        )
        .unwrap();
        s.save_batch(&mut docs).unwrap();
        s.save(&mut ch).unwrap();
        let mut ids: Vec<DocId> = docs.iter().map(|d| d.id().clone()).collect();
        ids.push(ch.id().clone());
        (dir, s, ids)
    }

    fn names(rows: &[Listed]) -> Vec<&str> {
        rows.iter().map(|r| r.summary.name.as_str()).collect()
    }

    #[test]
    fn key_parts_cover_every_row_once_in_order() {
        let (_d, s, _) = fixture();
        let mut more: Vec<Document> = ["0", "1", "5", "7", "8", "9", "a", "f"]
            .iter()
            .enumerate()
            .map(|(i, first)| {
                let id = format!("{first}{i:031x}");
                doc_with_id(&id, cust(&format!("客户{i}"), None, "u1", "上海"))
            })
            .collect();
        s.save_batch(&mut more).unwrap();
        let every = Filter::default().tombstones(Tombstones::Include);
        let whole = s.list_map(&every, |id, _| id.clone()).unwrap();
        assert_eq!(whole.len(), 15);
        assert!(whole.is_sorted(), "one part reads in ID order");
        for parts in [0, 1, 2, 3, 4, 5, 7, 15, 16, 17, 100] {
            let mut joined = Vec::new();
            for part in KeyPart::all(parts) {
                let rows = s.list_map_part(&every, part, |id, _| id.clone()).unwrap();
                assert!(rows.iter().all(|id| part.contains(id.as_str())), "{parts}");
                joined.extend(rows);
            }
            assert_eq!(joined, whole, "{parts} parts");
        }
        for key in ["", "0", "7fff", "8", "F", "g", "~", "华"] {
            let holders = KeyPart::all(3).filter(|p| p.contains(key)).count();
            assert_eq!(holders, 1, "{key:?}");
        }
    }

    #[test]
    fn list_filters_and_sorts_by_name() {
        let (_d, s, _) = fixture();
        let all = s.list(&Filter::default()).unwrap();
        assert_eq!(
            names(&all),
            vec![
                "Acme Trading",
                "Twin",
                "Twin",
                "华东分销",
                "华东机械有限公司",
                "华南电子"
            ]
        );
        let cust = Filter::default().kind(DocKind::Customer);
        assert_eq!(s.list(&cust).unwrap().len(), 5);
        assert_eq!(
            names(&s.list(&cust.clone().name_contains("华东")).unwrap()),
            vec!["华东机械有限公司"]
        );
        assert_eq!(
            names(&s.list(&Filter::default().name_contains("acme")).unwrap()),
            vec!["Acme Trading"]
        );
        assert_eq!(
            names(&s.list(&Filter::default().class("key")).unwrap()),
            vec!["华东机械有限公司"]
        );
        assert_eq!(
            names(
                &s.list(&Filter::default().owner("u1").region("上海"))
                    .unwrap()
            ),
            vec!["Acme Trading", "华东机械有限公司"]
        );
        assert_eq!(s.list(&Filter::default().team("team-u2")).unwrap().len(), 3);
        assert_eq!(
            names(&s.list(&Filter::default().status("prospect")).unwrap()),
            vec!["华东分销"]
        );
        let with_tomb = s
            .list(
                &Filter::default()
                    .owner("u1")
                    .tombstones(Tombstones::Include),
            )
            .unwrap();
        assert_eq!(
            names(&with_tomb),
            vec!["Acme Trading", "华东机械 (old)", "华东机械有限公司"]
        );
        let only = s
            .list(&Filter::default().tombstones(Tombstones::Only))
            .unwrap();
        assert_eq!(names(&only), vec!["华东机械 (old)"]);
        assert_eq!(s.len().unwrap(), 7);
    }

    #[test]
    fn resolve_prefixes_names_and_errors() {
        let (_d, s, ids) = fixture();
        assert_eq!(s.resolve(None, "abce").unwrap(), ids[2]);
        assert_eq!(s.resolve(None, " ABCD0 ").unwrap(), ids[0]);
        assert_eq!(s.resolve(None, ids[1].as_str()).unwrap(), ids[1]);
        assert_eq!(s.resolve(None, "华南电子").unwrap(), ids[1]);
        assert_eq!(s.resolve(Some(&DocKind::Channel), "d00d").unwrap(), ids[6]);

        match s.resolve(None, "abcd").unwrap_err() {
            ResolveError::Ambiguous { candidates, .. } => {
                let c: Vec<_> = candidates.iter().map(|c| c.id.clone()).collect();
                assert_eq!(c, vec![ids[0].clone(), ids[1].clone()]);
            }
            e => panic!("{e}"),
        }
        let err = s.resolve(None, "Twin").unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("beef0000 Twin") && msg.contains("beef1000 Twin"),
            "{msg}"
        );

        for (kind, text) in [
            (None, "abc"),
            (None, "ffff"),
            (None, "华东"),
            (None, ""),
            (Some(&DocKind::Channel), "abce"),
        ] {
            let err = s.resolve(kind, text).unwrap_err();
            assert!(
                matches!(err, ResolveError::NotFound { .. }),
                "{text}: {err}"
            );
        }
    }

    #[test]
    fn listing_and_resolving_never_touch_documents() {
        let (_d, s, ids) = fixture();
        // Remove every document body: only the index and names tables remain.
        let txn = s.db().begin_write().unwrap();
        txn.delete_table(crate::store::DOCS).unwrap();
        txn.delete_table(crate::store::CHANGES).unwrap();
        txn.commit().unwrap();
        assert_eq!(s.list(&Filter::default()).unwrap().len(), 6);
        assert_eq!(s.resolve(None, "华南电子").unwrap(), ids[1]);
        assert_eq!(s.resolve(None, "abce").unwrap(), ids[2]);
        assert!(s.load_bytes(&ids[1]).is_err());
    }

    #[test]
    fn renames_update_the_name_lookup() {
        let (_d, s, ids) = fixture();
        let mut doc = s.load(&ids[2], &A).unwrap();
        doc.put(&["name"], &"Acme Holdings".to_string()).unwrap();
        doc.commit(9_000, "rename");
        s.save(&mut doc).unwrap();
        assert_eq!(s.resolve(None, "Acme Holdings").unwrap(), ids[2]);
        assert!(matches!(
            s.resolve(None, "Acme Trading").unwrap_err(),
            ResolveError::NotFound { .. }
        ));
        assert_eq!(s.summary(&ids[2]).unwrap().unwrap().updated_at, 9_000);
    }

    /// The listing from both ends of the name rows, put together.
    fn by_name_ends(s: &Store, filter: &Filter) -> Vec<(DocId, String)> {
        let (front, back) = s
            .list_by_name_ends(filter, Vec::new(), Vec::new(), |acc, id, summary| {
                acc.push((id.clone(), summary.name.to_string()));
            })
            .unwrap();
        front.into_iter().chain(back.into_iter().rev()).collect()
    }

    /// The summary index read in ID order, sorted by name then ID.
    fn sorted(s: &Store, filter: &Filter) -> Vec<(DocId, String)> {
        let mut rows = s
            .list_map(filter, |id, summary| (summary.name.to_string(), id.clone()))
            .unwrap();
        rows.sort();
        rows.into_iter().map(|(name, id)| (id, name)).collect()
    }

    /// Read from both ends at once, the name rows give what the sorted index gives, row
    /// for row, under every filter and at any size; a rename moves the row and a removed
    /// document leaves none behind.
    #[test]
    fn the_name_rows_list_from_both_ends_as_the_sorted_index() {
        let (_d, s, ids) = fixture();
        let filters = [
            Filter::default(),
            Filter::default().tombstones(Tombstones::Include),
            Filter::default().kind(DocKind::Customer).owner("u2"),
            Filter::default().name_contains("华"),
            Filter::default().kind(DocKind::Channel),
            Filter::default().region("不存在"),
        ];
        for f in &filters {
            assert_eq!(by_name_ends(&s, f), sorted(&s, f), "{f:?}");
        }
        let mut more: Vec<Document> = (0..300)
            .map(|i| {
                let name = match i % 4 {
                    0 => "Twin".to_string(),
                    1 => format!("客户{}", 299 - i),
                    2 => format!("Ｆｕｌｌ{i}號 🚚"),
                    _ => format!("a{i}"),
                };
                doc_with_id(&format!("{i:032x}"), cust(&name, None, "u2", "上海"))
            })
            .collect();
        s.save_batch(&mut more).unwrap();
        for f in &filters {
            assert_eq!(by_name_ends(&s, f), sorted(&s, f), "{f:?}");
        }
        assert_eq!(by_name_ends(&s, &Filter::default()).len(), 306);
        let mut doc = s.load(&ids[2], &A).unwrap();
        doc.put(&["name"], &"Zed Holdings".to_string()).unwrap();
        doc.commit(9_000, "rename");
        s.save(&mut doc).unwrap();
        assert!(s.delete(&ids[1]).unwrap());
        let all = by_name_ends(&s, &Filter::default().tombstones(Tombstones::Include));
        assert_eq!(
            all,
            sorted(&s, &Filter::default().tombstones(Tombstones::Include))
        );
        assert!(all.contains(&(ids[2].clone(), "Zed Holdings".into())));
        assert!(!all.iter().any(|(_, name)| name == "Acme Trading"));
        assert!(all.iter().all(|(id, _)| *id != ids[1]));
        assert_eq!(all.len(), 306);
    }

    /// A store written when the name rows held no summary gets them on open, from the
    /// index, and lists and resolves as before.
    #[test]
    fn a_store_with_the_old_name_rows_gets_the_new_ones_on_open() {
        let (d, s, ids) = fixture();
        let path = d.path().join("ws.fieldcrm");
        let old: redb::TableDefinition<(&str, &str), ()> = redb::TableDefinition::new("names-v1");
        let version = "fieldcrm.store.format-version";
        let txn = s.db().begin_write().unwrap();
        txn.delete_table(NAMES).unwrap();
        txn.open_table(old)
            .unwrap()
            .insert(("华南电子", ids[1].as_str()), ())
            .unwrap();
        let mut meta = txn.open_table(crate::store::META).unwrap();
        meta.insert(version, b"1".as_slice()).unwrap();
        drop(meta);
        txn.commit().unwrap();
        drop(s);
        let s = Store::open(&path).unwrap();
        let every = Filter::default().tombstones(Tombstones::Include);
        assert_eq!(by_name_ends(&s, &every), sorted(&s, &every));
        assert_eq!(by_name_ends(&s, &every).len(), 7);
        assert_eq!(s.resolve(None, "华南电子").unwrap(), ids[1]);
        let txn = s.db().begin_read().unwrap();
        assert!(matches!(
            txn.open_table(old),
            Err(redb::TableError::TableDoesNotExist(_))
        ));
        let meta = txn.open_table(crate::store::META).unwrap();
        let now = meta.get(version).unwrap().unwrap();
        assert_eq!(now.value(), crate::FORMAT_VERSION.to_string().as_bytes());
    }

    /// An import's documents get their name rows in its transaction: listed as the
    /// index says, once each, even a document the import saved twice under two names;
    /// an import that is not committed leaves none.
    #[test]
    fn an_imports_name_rows_follow_its_documents() {
        let (_d, s, _) = fixture();
        let of = |mut d: Document| {
            let summary = d.summary().unwrap();
            crate::NewDoc::new(d, summary)
        };
        let new = |i: usize, name: &str| {
            doc_with_id(
                &format!("{:032x}", 1000 + i),
                cust(name, None, "u1", "上海"),
            )
        };
        let mut files: Vec<Document> = (0..60)
            .map(|i| new(i, &format!("导入{}號 🚚", 59 - i)))
            .collect();
        // The fourth file again, renamed, later in the same import.
        let id = files[3].id().clone();
        let mut renamed = Document::from_automerge(id, files[3].automerge_mut().fork()).unwrap();
        renamed.put(&["name"], &"改名后的客户".to_string()).unwrap();
        renamed.commit(9_000, "rename");
        files.push(renamed);
        let docs: Vec<crate::NewDoc> = files.into_iter().map(of).collect();
        assert!(s.save_stream(docs.into_iter(), || true).unwrap());
        let every = Filter::default().tombstones(Tombstones::Include);
        let all = by_name_ends(&s, &every);
        assert_eq!(all, sorted(&s, &every));
        assert_eq!(all.len(), 7 + 60);
        assert!(all.iter().any(|(_, n)| n == "改名后的客户"));
        assert!(!all.iter().any(|(_, n)| n == "导入56號 🚚"));
        let more = (100..110).map(|i| of(new(i, "不会保存")));
        assert!(!s.save_stream(more, || false).unwrap());
        assert_eq!(by_name_ends(&s, &every), all);
    }
}
