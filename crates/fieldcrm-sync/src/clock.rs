//! Vector clocks of Automerge documents, and the changes a peer lacks.
//!
//! In an Automerge document each actor's changes form a chain (`seq` 1, 2, 3 … each
//! depending on the previous one; Automerge refuses a second change with the same actor
//! and `seq`), and a document only holds causally complete histories. So the set of changes
//! a document holds is exactly described by its vector clock `actor → highest seq`, which
//! for a customer file edited on three devices is three small numbers. Sending a clock
//! (actors as indexes into a per-session table) is much smaller than heads plus a Bloom
//! filter, and lets the other side compute exactly the changes to send.

use std::collections::{BTreeMap, HashMap};
use std::panic::{AssertUnwindSafe, catch_unwind};

use automerge::{ActorId, AutoCommit, Automerge, Change, ChangeHash};

/// `actor → highest seq` of a document.
pub(crate) type Clock = BTreeMap<ActorId, u64>;

/// A loaded document's clock and the hash of each actor's changes by seq.
pub(crate) struct Version {
    pub(crate) clock: Clock,
    hashes: HashMap<(ActorId, u64), ChangeHash>,
}

impl Version {
    pub(crate) fn of(doc: &Automerge) -> Self {
        let mut clock = Clock::new();
        let mut hashes = HashMap::new();
        for meta in doc.get_changes_meta(&[]) {
            let actor = meta.actor.into_owned();
            let e = clock.entry(actor.clone()).or_insert(0);
            *e = (*e).max(meta.seq);
            hashes.insert((actor, meta.seq), meta.hash);
        }
        Version { clock, hashes }
    }

    /// The changes this document has that a peer at `theirs` lacks, in causal order.
    pub(crate) fn changes_for(&self, doc: &Automerge, theirs: &Clock) -> Vec<Change> {
        let mut have = Vec::new();
        for (actor, &mine) in &self.clock {
            let shared = theirs.get(actor).copied().unwrap_or(0).min(mine);
            if shared > 0
                && let Some(h) = self.hashes.get(&(actor.clone(), shared))
            {
                have.push(*h);
            }
        }
        if have.is_empty() {
            return doc.get_changes(&[]);
        }
        if self
            .clock
            .iter()
            .all(|(a, s)| theirs.get(a).is_some_and(|t| t >= s))
        {
            return Vec::new();
        }
        doc.get_changes(&have)
    }
}

/// Whether `theirs` holds changes `mine` does not.
pub(crate) fn has_more(theirs: &Clock, mine: &Clock) -> bool {
    theirs
        .iter()
        .any(|(a, s)| mine.get(a).is_none_or(|m| s > m))
}

/// Parse one untrusted change chunk. Automerge has panicked on malformed input before
/// (issues #1187, #855, #567), so a panic is caught and reported as a parse error.
pub(crate) fn parse_change(bytes: &[u8]) -> Result<Change, String> {
    match catch_unwind(AssertUnwindSafe(|| Change::from_bytes(bytes.to_vec()))) {
        Ok(Ok(c)) => Ok(c),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("automerge panicked while parsing the change".into()),
    }
}

/// Parse an untrusted saved document (see [`parse_change`]).
pub(crate) fn parse_document(bytes: &[u8]) -> Result<AutoCommit, String> {
    match catch_unwind(AssertUnwindSafe(|| AutoCommit::load(bytes))) {
        Ok(Ok(d)) => Ok(d),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("automerge panicked while loading the document".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use automerge::ROOT;
    use automerge::transaction::Transactable;

    fn edit(doc: &mut AutoCommit, key: &str) {
        doc.put(ROOT, key, 1).unwrap();
        doc.commit();
    }

    #[test]
    fn changes_for_sends_exactly_what_is_missing() {
        let mut a = AutoCommit::new().with_actor(ActorId::from(&[1u8; 32][..]));
        edit(&mut a, "x");
        let mut b = a.fork().with_actor(ActorId::from(&[2u8; 32][..]));
        edit(&mut a, "y");
        edit(&mut a, "z");
        edit(&mut b, "w");
        let va = Version::of(a.document());
        let vb = Version::of(b.document());
        assert!(has_more(&va.clock, &vb.clock));
        assert!(has_more(&vb.clock, &va.clock));
        let to_b = va.changes_for(a.document(), &vb.clock);
        assert_eq!(to_b.len(), 2);
        let to_a = vb.changes_for(b.document(), &va.clock);
        assert_eq!(to_a.len(), 1);
        assert!(va.changes_for(a.document(), &va.clock).is_empty());
        assert_eq!(va.changes_for(a.document(), &Clock::new()).len(), 3);
        b.apply_changes(to_b).unwrap();
        a.apply_changes(to_a).unwrap();
        assert_eq!(a.get_heads(), b.get_heads());
    }

    #[test]
    fn junk_is_an_error() {
        assert!(parse_change(b"not a change").is_err());
        assert!(parse_document(&[0x85, 0x6f, 0x4a, 0x83, 0, 0, 0, 0, 9, 9]).is_err());
    }
}
