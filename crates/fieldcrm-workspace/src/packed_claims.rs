//! The Sales snapshot's claims as records in its snapshot cache row.
//!
//! At 100,000 customers the Sales snapshot is 100,000 claims and who wrote each value.
//! As MessagePack with field names, deflated, they were a row of many megabytes that
//! inflated to about ten times its size, and decoding it (inflating, reading each string
//! through the reader, inserting each claim into its map) was a third of a `check`
//! after a sync. The claims in the shape fieldcrm writes (an ID and key hashes of 32
//! lowercase hex, a writer recorded for each value) are written as records of their
//! bytes instead, not deflated (hashes do not deflate), and read back into the same maps,
//! each built at once from a sorted list. Any other claim stays in the MessagePack beside
//! them, so a row reads back as exactly the snapshot that was written.
//!
//! The policy engine does not need the maps: for it the records are kept as they are
//! ([`attach`]) and walked in place.
//!
//! Layout: [`fieldcrm_model::packed_claims`].

use std::collections::BTreeMap;

use std::sync::Arc;

use fieldcrm_model::claims_walk::{ClaimHands, Hands};
use fieldcrm_model::packed_claims::{NO_WRITER as NONE, PackedClaims, Writer};
use fieldcrm_model::{Body, Claim, Snapshot, hex, hex16};

/// Whether claim `id` packs: IDs and hashes as their bytes, a writer for each value.
fn packs(id: &str, claim: &Claim, h: &Hands) -> bool {
    hex16(id).is_some()
        && h.keys.len() == claim.keys.len()
        && h.owner != Some(NONE)
        && h.since != Some(NONE)
        && claim.keys.keys().all(|k| hex16(k).is_some())
}

/// The claims of a Sales snapshot that pack, as bytes, and the snapshot without them;
/// `None` when none packs (the row is written as any other).
pub(crate) fn pack(snap: &Snapshot) -> Option<(Vec<u8>, Snapshot)> {
    let (Body::Sales(sales), Some(hands)) = (&snap.body, &snap.claim_hands) else {
        return None;
    };
    let mut records = Writer::with_capacity(sales.claims.len());
    let mut rest = BTreeMap::new();
    let mut keys = Vec::new();
    for (id, claim) in &sales.claims {
        let h = hands.claims.get(id);
        let (Some(h), Some(bytes)) = (h.filter(|h| packs(id, claim, h)), hex16(id)) else {
            rest.insert(id.clone(), claim.clone());
            continue;
        };
        keys.clear();
        for ((hash, kind), by) in claim.keys.iter().zip(&h.keys) {
            keys.push((hex16(hash)?, kind.as_str(), *by));
        }
        records.push(bytes, &claim.owner, claim.since, (h.owner, h.since), &keys)?;
    }
    if records.is_empty() {
        return None;
    }
    let out = records.finish()?;
    // The writers of the claims that did not pack, and of anything not a claim.
    let rest_hands = hands
        .claims
        .iter()
        .filter(|(id, _)| rest.contains_key(*id) || !sales.claims.contains_key(*id))
        .map(|(id, h)| (id.clone(), h.clone()))
        .collect();
    let mut body = sales.without_claims();
    body.claims = rest;
    let without = Snapshot {
        id: snap.id.clone(),
        body: Body::Sales(body),
        fields: snap.fields.clone(),
        claim_hands: Some(ClaimHands {
            actors: hands.actors.clone(),
            claims: rest_hands,
            packed: None,
        }),
    };
    Some((out, without))
}

/// Put the claims of `bytes` ([`pack`]) back into the Sales snapshot `snap` (the rest of
/// its row); `None` if the bytes are damaged or do not belong to it (the row is then
/// recomputed).
pub(crate) fn unpack(bytes: &[u8], snap: &mut Snapshot) -> Option<()> {
    let (Body::Sales(sales), Some(hands)) = (&mut snap.body, &mut snap.claim_hands) else {
        return None;
    };
    let packed = PackedClaims::read(bytes.to_vec())?;
    let mut claims = Vec::with_capacity(packed.len());
    let mut writers = Vec::with_capacity(packed.len());
    for c in packed.iter() {
        let mut keys = BTreeMap::new();
        let mut key_by = Vec::with_capacity(c.key_count());
        for (hash, kind, by) in c.keys() {
            keys.insert(hex(&hash), kind.to_string());
            key_by.push(by);
        }
        let id = hex(&c.id);
        let claim = Claim {
            owner: c.owner.to_string(),
            since: c.since,
            keys,
        };
        claims.push((id.clone(), claim));
        let hands = Hands {
            owner: c.owner_by,
            since: c.since_by,
            keys: key_by,
        };
        writers.push((id, hands));
    }
    join(&mut sales.claims, claims)?;
    join(&mut hands.claims, writers)
}

/// Keep the claims of `bytes` ([`pack`]) as records beside the Sales snapshot `snap`
/// (the rest of its row), for the policy engine; `None` as for [`unpack`], including
/// when a claim is both a record and in the snapshot's maps.
pub(crate) fn attach(bytes: &[u8], snap: &mut Snapshot) -> Option<()> {
    let (Body::Sales(sales), Some(hands)) = (&snap.body, &mut snap.claim_hands) else {
        return None;
    };
    let packed = PackedClaims::read(bytes.to_vec())?;
    // Each claim once, as `unpack` requires: IDs in the maps (few: the claims that did
    // not pack) are looked for among the records, both walked in order.
    let in_maps = |ids: &mut dyn Iterator<Item = &String>| {
        let mut records = packed.iter().map(|c| c.id).peekable();
        ids.filter_map(|id| hex16(id)).any(|id| {
            while records.next_if(|r| *r < id).is_some() {}
            records.peek() == Some(&id)
        })
    };
    if in_maps(&mut sales.claims.keys()) || in_maps(&mut hands.claims.keys()) {
        return None;
    }
    hands.packed = Some(Arc::new(packed));
    Some(())
}

/// `items` (sorted, each key once) put into `map`, built from them at once when it is
/// empty; `None` if a key is in both.
fn join<V>(map: &mut BTreeMap<String, V>, items: Vec<(String, V)>) -> Option<()> {
    if map.is_empty() {
        *map = items.into_iter().collect();
        return Some(());
    }
    for (k, v) in items {
        if map.insert(k, v).is_some() {
            return None;
        }
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use fieldcrm_model::DocId;

    use super::*;
    use crate::snapshots::{decode_snapshot, encode_snapshot};
    use crate::tests::{admin_opts, sales_snapshot};

    /// A Sales snapshot of `n` claims in fieldcrm's shape, and `odd` of each other
    /// shape: an ID in capitals, a key that is not a hash, no writers, writers for
    /// another number of keys, a writer that cannot be written; and writers of no claim.
    fn sales(n: usize, odd: bool) -> Snapshot {
        let dir = tempfile::tempdir().unwrap();
        let ws = crate::Workspace::init(dir.path(), &admin_opts(), 1_000).unwrap();
        let mut snap = sales_snapshot(&ws);
        let Body::Sales(sales) = &mut snap.body else {
            unreachable!()
        };
        let mut hands = ClaimHands {
            actors: vec!["a".repeat(64), "b".repeat(64)],
            claims: BTreeMap::new(),
            packed: None,
        };
        let kinds = ["name", "phone", "credit_code", "电话"];
        for i in 0..n {
            let keys: BTreeMap<String, String> = (0..i % 4)
                .map(|k| (DocId::random().to_string(), kinds[(i + k) % 4].to_string()))
                .collect();
            let id = DocId::random().to_string();
            let writers = Hands {
                owner: Some(u32::try_from(i % 2).unwrap()),
                since: (i % 3 != 0).then_some(1),
                keys: (0..keys.len())
                    .map(|k| u32::try_from(k % 2).unwrap())
                    .collect(),
            };
            let claim = Claim {
                owner: ["rep1", "销售二", "😀"][i % 3].to_string(),
                since: i64::try_from(i).unwrap() * 86_400_000 - 5,
                keys,
            };
            sales.claims.insert(id.clone(), claim);
            hands.claims.insert(id, writers);
        }
        if odd {
            let claim = |keys: &[&str]| Claim {
                owner: "rep1".into(),
                since: 7,
                keys: keys
                    .iter()
                    .map(|k| (k.to_string(), "name".into()))
                    .collect(),
            };
            let hash = DocId::random().to_string();
            let writers = |keys: usize, owner: Option<u32>| Hands {
                owner,
                since: Some(0),
                keys: vec![0; keys],
            };
            for (id, c, h) in [
                (
                    hash.to_uppercase(),
                    claim(&[&hash]),
                    Some(writers(1, Some(0))),
                ),
                (
                    DocId::random().to_string(),
                    claim(&["名称"]),
                    Some(writers(1, Some(0))),
                ),
                (DocId::random().to_string(), claim(&[&hash]), None),
                (
                    DocId::random().to_string(),
                    claim(&[&hash]),
                    Some(writers(2, Some(0))),
                ),
                (
                    DocId::random().to_string(),
                    claim(&[]),
                    Some(writers(0, Some(NONE))),
                ),
            ] {
                sales.claims.insert(id.clone(), c);
                if let Some(h) = h {
                    hands.claims.insert(id, h);
                }
            }
            hands
                .claims
                .insert(DocId::random().to_string(), writers(0, None));
        }
        snap.claim_hands = Some(hands);
        snap
    }

    fn packed(row: &[u8]) -> bool {
        row.windows(PACKED.len()).any(|w| w == PACKED)
    }

    const PACKED: &[u8] = b"\nclaims+msgpack+deflate+dict\n";

    #[test]
    fn a_sales_row_reads_back_as_the_snapshot_written() {
        for (n, odd) in [(3_000, false), (3_000, true), (0, true), (0, false)] {
            let snap = sales(n, odd);
            let row = encode_snapshot(&snap);
            assert_eq!(packed(&row), n > 0, "{n} {odd}");
            let back = decode_snapshot(&row);
            assert!(back.as_ref() == Some(&snap), "{n} {odd}");
            // Cut anywhere, a row is refused, never misread.
            for cut in (0..row.len()).step_by(997) {
                assert!(decode_snapshot(&row[..cut]).is_none(), "cut at {cut}");
            }
        }
    }

    #[test]
    fn claims_as_records_are_smaller_than_deflated() {
        use std::io::Write as _;
        let snap = sales(3_000, true);
        let row = encode_snapshot(&snap);
        let msgpack = rmp_serde::to_vec_named(&snap).unwrap();
        let mut z = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::new(3));
        z.write_all(&msgpack).unwrap();
        let deflated = z.finish().unwrap();
        eprintln!(
            "row {} B, MessagePack {} B, deflated {} B",
            row.len(),
            msgpack.len(),
            deflated.len()
        );
        assert!(row.len() < deflated.len());
    }

    /// Any byte of the records changed: refused, or read as another snapshot (never a
    /// panic, never the snapshot written).
    #[test]
    fn a_damaged_record_is_refused_or_read_as_another_snapshot() {
        let snap = sales(40, true);
        let row = encode_snapshot(&snap);
        let start = row.windows(PACKED.len()).position(|w| w == PACKED).unwrap() + PACKED.len();
        let (len, rest) = row[start..].split_first_chunk::<8>().unwrap();
        let records = usize::try_from(u64::from_le_bytes(*len)).unwrap();
        assert!(records > 1000 && records < rest.len(), "{records}");
        let start = row.len() - rest.len();
        let mut refused = 0;
        for at in start - 8..start + records {
            for flip in [1u8, 0x80, 0xff] {
                let mut bad = row.clone();
                bad[at] ^= flip;
                match decode_snapshot(&bad) {
                    None => refused += 1,
                    Some(s) => assert!(s != snap, "byte {at} ^ {flip} changed nothing"),
                }
            }
        }
        assert!(refused > 0);
    }
}
