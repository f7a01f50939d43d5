//! The claim state's tables ([`super::claims`]): claims as plain records in arrays,
//! sorted by ID, their keys in one array beside them.
//!
//! At 100,000 customers the state is 100,000 counted claims and 100,000 files' own
//! claims with about 300,000 keys each. As maps of shared strings it took a third of
//! a `check` after a sync to restore and save; as arrays of fixed-size values it is
//! read and written as bytes. A change rewrites the arrays in one pass (a few
//! megabytes), and the index by key hash is made only when something asks for it twice
//! (a one-shot `check` asks once, and one pass over the keys costs less than making it).

use fieldcrm_model::Millis;

use super::{HashMap, HashSet};
use crate::claims::{Hash, Key, Kind};

/// A claim as a table holds it: a counted claim (by claim ID) or a file's own claim
/// material (by document ID).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Rec {
    /// What the table is sorted by: the claim ID, or the file's document ID.
    pub(super) id: Hash,
    /// The claim ID (a counted claim's is its `id`).
    pub(super) claim: Hash,
    /// The owner, numbered ([`Owners`]).
    pub(super) owner: u32,
    pub(super) since: Millis,
    /// Where its keys are in the table's keys, and how many.
    at: u32,
    len: u32,
}

impl Rec {
    /// Its keys in `keys`, its table's.
    fn keys_in(self, keys: &[Key]) -> &[Key] {
        let (at, len) = (self.at as usize, self.len as usize);
        keys.get(at..at + len).unwrap_or_default()
    }
}

/// A claim to put in a table: its claim ID, owner, date and keys (sorted by hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct NewRec {
    pub(super) claim: Hash,
    pub(super) owner: u32,
    pub(super) since: Millis,
    pub(super) keys: Vec<Key>,
}

/// Claims sorted by ID, with their keys.
#[derive(Default)]
pub(super) struct Table {
    recs: Vec<Rec>,
    keys: Vec<Key>,
    /// Key hash → the IDs of the claims holding it, once asked for twice.
    index: Option<HashMap<Hash, Vec<Hash>>>,
    asked: u32,
}

/// The size of a record written ([`Table::write`]): ID, claim ID, owner, date, key count.
const REC_BYTES: usize = 16 + 16 + 4 + 8 + 4;
/// The size of a key written: hash and kind.
const KEY_BYTES: usize = 16 + 1;

impl Table {
    /// The keys of a record of this table.
    pub(super) fn keys_of(&self, r: &Rec) -> &[Key] {
        r.keys_in(&self.keys)
    }

    /// The claim with ID `id`.
    pub(super) fn get(&self, id: &Hash) -> Option<&Rec> {
        let i = self.recs.binary_search_by(|r| r.id.cmp(id)).ok()?;
        self.recs.get(i)
    }

    /// Every claim in ID order.
    pub(super) fn iter(&self) -> impl Iterator<Item = &Rec> {
        self.recs.iter()
    }

    fn push(&mut self, id: Hash, claim: Hash, owner: u32, since: Millis, keys: &[Key]) {
        let at = u32::try_from(self.keys.len()).unwrap_or(u32::MAX);
        let len = u32::try_from(keys.len()).unwrap_or(u32::MAX);
        self.keys.extend_from_slice(keys);
        self.recs.push(Rec {
            id,
            claim,
            owner,
            since,
            at,
            len,
        });
    }

    /// Put each of `changes` (by ID: the claim now, `None` to take it out) into the table;
    /// the hashes of the keys taken out or put in are added to `changed` if given. One pass over
    /// the table, in ID order.
    pub(super) fn apply(
        &mut self,
        mut changes: Vec<(Hash, Option<NewRec>)>,
        mut changed: Option<&mut HashSet<Hash>>,
    ) {
        if changes.is_empty() {
            return;
        }
        // The last change of an ID is the one that stands.
        changes.reverse();
        changes.sort_by_key(|c| c.0);
        changes.dedup_by(|later, first| later.0 == first.0);
        let old = std::mem::take(self);
        let mut index = old.index;
        self.asked = old.asked;
        self.recs.reserve(old.recs.len() + changes.len());
        self.keys.reserve(old.keys.len());
        let mut before = old.recs.iter().peekable();
        let of = |r: &Rec| r.keys_in(&old.keys);
        for (id, now) in changes {
            while let Some(r) = before.next_if(|r| r.id < id) {
                self.push(r.id, r.claim, r.owner, r.since, of(r));
            }
            if let Some(r) = before.next_if(|r| r.id == id) {
                let keys = of(r);
                if let Some(changed) = changed.as_deref_mut() {
                    changed.extend(keys.iter().map(|k| k.hash));
                }
                if let Some(index) = &mut index {
                    unindex(index, keys, &id);
                }
            }
            if let Some(n) = now {
                if let Some(changed) = changed.as_deref_mut() {
                    changed.extend(n.keys.iter().map(|k| k.hash));
                }
                if let Some(index) = &mut index {
                    add_to_index(index, &n.keys, &id);
                }
                self.push(id, n.claim, n.owner, n.since, &n.keys);
            }
        }
        for r in before {
            self.push(r.id, r.claim, r.owner, r.since, of(r));
        }
        self.index = index;
    }

    /// The IDs of the claims holding each of `wanted` key hashes (with the key's kind in
    /// that claim). The first time, by one pass over the keys unless many are wanted;
    /// from then on by the index, made then.
    pub(super) fn holding(&mut self, wanted: &HashSet<Hash>) -> HashMap<Hash, Vec<(Hash, Kind)>> {
        let mut out: HashMap<Hash, Vec<(Hash, Kind)>> = HashMap::default();
        if wanted.is_empty() {
            return out;
        }
        if self.index.is_none() && (self.asked > 0 || wanted.len() * 4 > self.keys.len()) {
            let mut index = HashMap::default();
            index.reserve(self.keys.len());
            for r in &self.recs {
                add_to_index(&mut index, self.keys_of(r), &r.id);
            }
            self.index = Some(index);
        }
        self.asked = self.asked.saturating_add(1);
        let mut add = |h: &Hash, r: &Rec| {
            if let Some(k) = self.keys_of(r).iter().find(|k| &k.hash == h) {
                out.entry(*h).or_default().push((r.id, k.kind));
            }
        };
        match &self.index {
            Some(index) => {
                for h in wanted {
                    for id in index.get(h).into_iter().flatten() {
                        if let Some(r) = self.get(id) {
                            add(h, r);
                        }
                    }
                }
            }
            None => {
                for r in &self.recs {
                    for k in self.keys_of(r) {
                        if wanted.contains(&k.hash) {
                            add(&k.hash, r);
                        }
                    }
                }
            }
        }
        out
    }

    /// The table as bytes: its records (with owners renumbered by `owner`) and their keys.
    pub(super) fn write(&self, owner: impl Fn(u32) -> u32) -> (Vec<u8>, Vec<u8>) {
        let mut recs = Vec::with_capacity(self.recs.len() * REC_BYTES);
        for r in &self.recs {
            recs.extend_from_slice(&r.id);
            recs.extend_from_slice(&r.claim);
            recs.extend_from_slice(&owner(r.owner).to_le_bytes());
            recs.extend_from_slice(&r.since.to_le_bytes());
            recs.extend_from_slice(&r.len.to_le_bytes());
        }
        let mut keys = Vec::with_capacity(self.keys.len() * KEY_BYTES);
        for r in &self.recs {
            for k in self.keys_of(r) {
                keys.extend_from_slice(&k.hash);
                keys.push(k.kind as u8);
            }
        }
        (recs, keys)
    }

    /// A table as [`Table::write`] wrote it, with `owners` owners; `None` if damaged (IDs
    /// out of order, an owner or kind out of range, keys that do not add up).
    pub(super) fn read(recs: &[u8], keys: &[u8], owners: usize) -> Option<Table> {
        let rec_chunks = recs.chunks_exact(REC_BYTES);
        let key_chunks = keys.chunks_exact(KEY_BYTES);
        if !rec_chunks.remainder().is_empty() || !key_chunks.remainder().is_empty() {
            return None;
        }
        let mut t = Table {
            recs: Vec::with_capacity(recs.len() / REC_BYTES),
            keys: Vec::with_capacity(keys.len() / KEY_BYTES),
            ..Table::default()
        };
        for k in key_chunks {
            let (hash, kind) = k.split_first_chunk::<16>()?;
            let kind = Kind::ALL.get(usize::from(*kind.first()?))?;
            t.keys.push(Key {
                hash: *hash,
                kind: *kind,
            });
        }
        let mut at: u32 = 0;
        for r in rec_chunks {
            let (id, r) = r.split_first_chunk::<16>()?;
            let (claim, r) = r.split_first_chunk::<16>()?;
            let (owner, r) = r.split_first_chunk::<4>()?;
            let (since, r) = r.split_first_chunk::<8>()?;
            let len = u32::from_le_bytes(*r.first_chunk::<4>()?);
            let owner = u32::from_le_bytes(*owner);
            if usize::try_from(owner).ok()? >= owners || t.recs.last().is_some_and(|p| p.id >= *id)
            {
                return None;
            }
            t.recs.push(Rec {
                id: *id,
                claim: *claim,
                owner,
                since: Millis::from_le_bytes(*since),
                at,
                len,
            });
            at = at.checked_add(len)?;
        }
        (usize::try_from(at).ok()? == t.keys.len()).then_some(t)
    }
}

/// File `id` under each key hash of `keys`, once.
fn add_to_index(index: &mut HashMap<Hash, Vec<Hash>>, keys: &[Key], id: &Hash) {
    for k in keys {
        let ids = index.entry(k.hash).or_default();
        if !ids.contains(id) {
            ids.push(*id);
        }
    }
}

/// Take `id` from under each key hash of `keys`; a key left with nothing goes.
fn unindex(index: &mut HashMap<Hash, Vec<Hash>>, keys: &[Key], id: &Hash) {
    for k in keys {
        if let Some(ids) = index.get_mut(&k.hash) {
            ids.retain(|x| x != id);
            if ids.is_empty() {
                index.remove(&k.hash);
            }
        }
    }
}

/// The owners the claims name, numbered (a few users own 100,000 claims).
#[derive(Default)]
pub(super) struct Owners {
    names: Vec<Box<str>>,
    numbers: HashMap<Box<str>, u32>,
}

impl Owners {
    /// The number of `name`.
    pub(super) fn of(&mut self, name: &str) -> u32 {
        if let Some(n) = self.numbers.get(name) {
            return *n;
        }
        let n = u32::try_from(self.names.len()).unwrap_or(u32::MAX);
        self.names.push(name.into());
        self.numbers.insert(name.into(), n);
        n
    }

    /// The owner numbered `n`.
    pub(super) fn name(&self, n: u32) -> &str {
        self.names.get(n as usize).map_or("", |s| s)
    }

    pub(super) fn len(&self) -> usize {
        self.names.len()
    }

    /// Owners as written; `None` if one is there twice (damaged).
    pub(super) fn read<'a>(names: impl ExactSizeIterator<Item = &'a str>) -> Option<Owners> {
        let count = names.len();
        let mut o = Owners::default();
        for n in names {
            o.of(n);
        }
        (o.len() == count).then_some(o)
    }

    /// The owners the tables still name, and each one's number among them (owners no
    /// claim names any more are not written).
    pub(super) fn in_use(&self, tables: &[&Table]) -> (Vec<&str>, Vec<u32>) {
        let mut renumbered = vec![u32::MAX; self.names.len()];
        let mut names = Vec::new();
        for r in tables.iter().flat_map(|t| t.iter()) {
            if let Some(n) = renumbered.get_mut(r.owner as usize)
                && *n == u32::MAX
            {
                *n = u32::try_from(names.len()).unwrap_or(u32::MAX);
                names.push(self.name(r.owner));
            }
        }
        (names, renumbered)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(n: u8) -> Hash {
        [n; 16]
    }

    fn rec(claim: u8, owner: u32, keys: &[(u8, Kind)]) -> NewRec {
        NewRec {
            claim: h(claim),
            owner,
            since: i64::from(claim) * 1000,
            keys: keys
                .iter()
                .map(|(k, kind)| Key {
                    hash: h(*k),
                    kind: *kind,
                })
                .collect(),
        }
    }

    /// Twenty claims on keys 100.. (three each, overlapping), owners 0-2.
    fn table() -> Table {
        let mut t = Table::default();
        let changes = (1..=20u8)
            .rev()
            .map(|n| {
                let keys = [
                    (100 + n / 2, Kind::Name),
                    (150 + n, Kind::Phone),
                    (200, Kind::CreditCode),
                ];
                (h(n), Some(rec(n, u32::from(n % 3), &keys)))
            })
            .collect();
        t.apply(changes, None);
        t
    }

    fn sorted(mut m: HashMap<Hash, Vec<(Hash, Kind)>>) -> Vec<(Hash, Vec<(Hash, Kind)>)> {
        let mut v: Vec<_> = m.drain().collect();
        for (_, ids) in &mut v {
            ids.sort_by_key(|(id, _)| *id);
        }
        v.sort_by_key(|(k, _)| *k);
        v
    }

    #[test]
    fn the_first_look_by_pass_and_the_next_by_index_agree() {
        let mut t = table();
        let wanted: HashSet<Hash> = [h(105), h(155), h(99)].into_iter().collect();
        let by_pass = t.holding(&wanted);
        assert!(t.index.is_none(), "a few keys: one pass");
        let by_index = t.holding(&wanted);
        assert!(t.index.is_some(), "asked twice: indexed");
        assert_eq!(sorted(by_pass.clone()), sorted(by_index));
        let got = sorted(by_pass);
        assert_eq!(
            got,
            vec![
                (h(105), vec![(h(10), Kind::Name), (h(11), Kind::Name)]),
                (h(155), vec![(h(5), Kind::Phone)]),
            ]
        );

        // Changes keep the index true: claim 10 moves to other keys, 11 goes, 30 comes.
        let mut changed = HashSet::default();
        t.apply(
            vec![
                (h(10), Some(rec(10, 1, &[(155, Kind::Name)]))),
                (h(11), None),
                (h(30), Some(rec(30, 2, &[(105, Kind::Phone)]))),
            ],
            Some(&mut changed),
        );
        let mut c: Vec<Hash> = changed.into_iter().collect();
        c.sort();
        assert_eq!(c, vec![h(105), h(155), h(160), h(161), h(200)]);
        let mut fresh = Table::default();
        let all = t.iter().map(|r| {
            let n = r.claim;
            let keys = t.keys_of(r).to_vec();
            (
                n,
                Some(NewRec {
                    claim: n,
                    owner: r.owner,
                    since: r.since,
                    keys,
                }),
            )
        });
        fresh.apply(all.collect(), None);
        let (by_index, by_pass) = (t.holding(&wanted), fresh.holding(&wanted));
        assert!(fresh.index.is_none());
        assert_eq!(sorted(by_index.clone()), sorted(by_pass));
        assert_eq!(
            sorted(by_index),
            vec![
                (h(105), vec![(h(30), Kind::Phone)]),
                (h(155), vec![(h(5), Kind::Phone), (h(10), Kind::Name)]),
            ]
        );
    }

    #[test]
    fn a_table_reads_back_as_written_and_damage_is_refused() {
        let t = table();
        let (recs, keys) = t.write(|n| n);
        let back = Table::read(&recs, &keys, 3).expect("read back");
        assert_eq!(back.recs, t.recs);
        assert_eq!(back.keys, t.keys);
        // Owners renumbered as written.
        let (recs2, _) = t.write(|n| 2 - n);
        let other = Table::read(&recs2, &keys, 3).unwrap();
        assert!(
            other
                .iter()
                .zip(t.iter())
                .all(|(a, b)| a.owner == 2 - b.owner)
        );
        // An owner out of range, keys that do not add up, a cut, records out of order,
        // a kind out of range: refused.
        assert!(Table::read(&recs, &keys, 2).is_none());
        assert!(Table::read(&recs, &keys[KEY_BYTES..], 3).is_none());
        assert!(Table::read(&recs[1..], &keys, 3).is_none());
        let mut swapped = recs.clone();
        swapped.rotate_left(REC_BYTES);
        assert!(Table::read(&swapped, &keys, 3).is_none());
        let mut bad_kind = keys.clone();
        bad_kind[16] = 3;
        assert!(Table::read(&recs, &bad_kind, 3).is_none());
        assert!(Table::read(&[], &[], 0).is_some_and(|t| t.iter().next().is_none()));
    }

    #[test]
    fn owners_no_claim_names_are_not_written() {
        let mut o = Owners::default();
        let (a, b, c) = (o.of("rep1"), o.of("销售二"), o.of("rep3"));
        assert_eq!((a, b, c, o.of("销售二")), (0, 1, 2, 1));
        let mut t = Table::default();
        t.apply(
            vec![(h(1), Some(rec(1, c, &[]))), (h(2), Some(rec(2, b, &[])))],
            None,
        );
        let (names, renumbered) = o.in_use(&[&t]);
        assert_eq!(names, vec!["rep3", "销售二"]);
        assert_eq!(renumbered, vec![u32::MAX, 1, 0]);
        assert!(Owners::read(["a", "b"].into_iter()).is_some());
        assert!(Owners::read(["a", "a"].into_iter()).is_none());
    }
}
