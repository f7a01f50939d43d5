//! Listing, filtering and resolving documents from the summary index, without loading
//! any document.

use std::collections::BTreeMap;
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
        mut row: impl FnMut(&DocId, codec::SummaryRef<'_>) -> T,
    ) -> Result<Vec<T>, ListError> {
        let path = self.path();
        let txn = self.db().begin_read().db(path)?;
        let index = txn.open_table(INDEX).db(path)?;
        let matches = filter.matcher();
        let mut out = Vec::new();
        for entry in index.iter().db(path)? {
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
#[path = "index_tests.rs"]
mod tests;
