//! Customer claims (客户登记) and the 撞单 notice: telling a rep that another rep
//! registered the same company first, without showing the rep the other file.
//!
//! Read scope hides another rep's customer file, so CUST-DUPLICATE between two files can
//! only be found by a device that holds both (a manager's, the relay). To tell the rep
//! too, the application layer writes a claim for every live customer file into the Sales
//! document, which every user reads: `claims/<claim ID>` = the owner, the file's
//! registration time (`created_at`) and hashed match keys ([`customer_keys`]), never a
//! field of the file. The claim ID is a hash of the file's document ID ([`claim_id`]), not
//! the ID itself: a document ID reaches a device only if its read scope allows it.
//!
//! The notice (a CUST-DUPLICATE finding on the rep's own file, entity
//! `claims/<other claim ID>`) is computed from the counted claims and the rep's own file
//! only, so every device that holds that file (the rep's, the manager's, the relay)
//! reaches the same verdict whatever else it may read. A claim counts only when its
//! object and each of its fields were written by a device of the claim's owner or of a
//! user who may assign customers (manager, admin: [`Authority::AssignOwner`]).
//!
//! Limits worth knowing: a phone number has few enough possible values that a salted
//! hash can be confirmed by guessing (the hash keeps the number out of sight, it does not
//! make it secret from a determined rep); `since` is the device's own claim of when the
//! file was made, as every offline time is; a deleted claim cannot be told from one never
//! written (the owner's device writes it again after its next sync).

use std::collections::BTreeMap;

use fieldcrm_model::claims_walk::ClaimHands;
use fieldcrm_model::packed_claims::PackedClaim;
use fieldcrm_model::{Authority, Body, Claim, Customer, Millis, Snapshot};
use sha2::{Digest, Sha256};

use crate::ctx::Ctx;
use crate::normalize;

/// Key kind: the normalised company name.
pub const NAME: &str = "name";
/// Key kind: the unified social credit code.
pub const CREDIT_CODE: &str = "credit_code";
/// Key kind: a contact's phone number.
pub const PHONE: &str = "phone";

/// A match key's hash: lowercase hex of the first 16 bytes of SHA-256 over a label, the
/// workspace ID (so hashes mean nothing across workspaces), the kind and the value.
pub fn key_hash(workspace_id: &str, kind: &str, normalised: &str) -> String {
    let mut h = Sha256::new();
    for part in ["fieldcrm/claim-key/1", workspace_id, kind, normalised] {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part.as_bytes());
    }
    let digest = h.finalize();
    fieldcrm_model::hex(digest.get(..16).unwrap_or_default())
}

/// The key of a customer file's claim in the Sales document: a hash of its document ID
/// (32 hex), so the claims name no document a device may not read, yet a device holding
/// the file finds its claim.
pub fn claim_id(workspace_id: &str, doc: &fieldcrm_model::DocId) -> String {
    key_hash(workspace_id, "doc", doc.as_str())
}

/// A customer file's hashed match keys → their kind: the normalised company name
/// ([`normalize::company_name`]), the credit code and each contact's phone.
pub fn customer_keys(workspace_id: &str, c: &Customer) -> BTreeMap<String, String> {
    let mut keys = BTreeMap::new();
    let mut add = |kind: &str, value: Option<String>| {
        if let Some(v) = value {
            keys.insert(key_hash(workspace_id, kind, &v), kind.to_string());
        }
    };
    add(NAME, normalize::company_name(&c.name));
    add(
        CREDIT_CODE,
        c.credit_code.as_deref().and_then(normalize::credit_code),
    );
    for ct in c.contacts.values() {
        add(PHONE, ct.phone.as_deref().and_then(normalize::phone));
    }
    keys
}

/// The claim a customer file should have: `None` for a file merged away, archived or
/// without an owner (its claim, if any, should be removed).
pub fn claim_for(workspace_id: &str, c: &Customer) -> Option<Claim> {
    if c.merged_into.is_some() || c.archived.is_some() {
        return None;
    }
    let owner = c.owner_id()?;
    Some(Claim {
        owner: owner.to_string(),
        since: c.created_at,
        keys: customer_keys(workspace_id, c),
    })
}

/// A claim ID or key hash as the claim state holds it: the 16 bytes its 32 lowercase
/// hex characters spell ([`fieldcrm_model::hex16`]). The state is 200,000 claims at 100,000 customers;
/// as plain values it is read and written as arrays, with no string to share, count
/// or number.
pub(crate) type Hash = [u8; 16];

/// A key's kind; a kind fieldcrm does not write does not count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Kind {
    /// Listed in the order a notice names them.
    CreditCode,
    Name,
    Phone,
}

impl Kind {
    pub(crate) const ALL: [Kind; 3] = [Kind::CreditCode, Kind::Name, Kind::Phone];

    /// The kind written as `s`.
    pub(crate) fn of(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// As written in a claim.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Kind::CreditCode => CREDIT_CODE,
            Kind::Name => NAME,
            Kind::Phone => PHONE,
        }
    }

    /// Chinese name.
    pub(crate) fn zh(self) -> &'static str {
        match self {
            Kind::CreditCode => "统一社会信用代码",
            Kind::Name => "公司名称",
            Kind::Phone => "联系电话",
        }
    }

    /// English name.
    pub(crate) fn en(self) -> &'static str {
        match self {
            Kind::CreditCode => "credit code",
            Kind::Name => "company name",
            Kind::Phone => "phone number",
        }
    }
}

/// One key of a claim: its hash and kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Key {
    pub(crate) hash: Hash,
    pub(crate) kind: Kind,
}

impl Key {
    /// The key written as `hash` and `kind`; `None` for one fieldcrm does not write.
    pub(crate) fn of(hash: &str, kind: &str) -> Option<Key> {
        Some(Key {
            hash: fieldcrm_model::hex16(hash)?,
            kind: Kind::of(kind)?,
        })
    }
}

/// Whether a device's write counts for a claim owned by `owner`.
fn writer_ok(ctx: &Ctx, actor: &str, owner: &str) -> bool {
    ctx.auth.user_of(actor) == Some(owner)
        || ctx
            .auth
            .role_of_actor(actor)
            .is_some_and(|r| Authority::AssignOwner.allows(r))
}

/// The Sales document without its claims (in its body and its field states): what a
/// lean engine keeps once they are counted (the workspace findings never read them;
/// concurrent claim values are settled by the rules, never reported).
pub(crate) fn without_claims(snap: &Snapshot) -> Snapshot {
    let body = match &snap.body {
        Body::Sales(s) => Body::Sales(s.without_claims()),
        other => other.clone(),
    };
    Snapshot {
        id: snap.id.clone(),
        body,
        fields: snap
            .fields
            .iter()
            .filter(|(p, _)| !p.starts_with("claims/"))
            .map(|(p, f)| (p.clone(), f.clone()))
            .collect(),
        claim_hands: None,
    }
}

/// Each claim of the Sales snapshot that counts, in claim ID order: its ID, owner and
/// date, and the keys that count (hash and kind, in hash order). The claims are those
/// in the snapshot's maps and those it holds as records
/// ([`fieldcrm_model::claims_walk::ClaimHands::packed`]), walked together. A claim ID
/// or key hash that is not 32 lowercase hex, or a key of a kind fieldcrm does not
/// write, does not count (fieldcrm writes none).
pub(crate) fn each_counted(
    ctx: &Ctx,
    sales: Option<&Snapshot>,
    mut f: impl FnMut(Hash, &str, Millis, &[Key]),
) {
    let Some(snap) = sales else {
        return;
    };
    let Body::Sales(s) = &snap.body else {
        return;
    };
    // Who wrote each claim's values (no writers: no claim counts).
    let Some(all) = &snap.claim_hands else {
        return;
    };
    let mut judge = Judge {
        ctx,
        all,
        judged: Default::default(),
        keys: Vec::new(),
    };
    // The maps, their writers and the records are all in claim ID order (lowercase hex
    // sorts as its bytes): walked together.
    let mut records = all.packed.iter().flat_map(|p| p.iter()).peekable();
    let mut writers = all.claims.iter().peekable();
    for (doc, claim) in &s.claims {
        while writers
            .next_if(|(d, _)| d.as_str() < doc.as_str())
            .is_some()
        {}
        let Some((_, hands)) = writers.next_if(|(d, _)| *d == doc) else {
            continue;
        };
        let Some(id) = fieldcrm_model::hex16(doc) else {
            continue;
        };
        while let Some(c) = records.next_if(|c| c.id < id) {
            judge.record(c, &mut f);
        }
        let keys = hands
            .keys_with(&claim.keys)
            .into_iter()
            .flatten()
            .map(|(h, k, by)| (Key::of(h, k), by));
        judge.one(
            id,
            &claim.owner,
            claim.since,
            (hands.owner, hands.since),
            keys,
            &mut f,
        );
    }
    for c in records {
        judge.record(c, &mut f);
    }
}

/// Whether claims count, by who wrote their values.
struct Judge<'s, 'c> {
    ctx: &'c Ctx,
    all: &'s ClaimHands,
    /// Whether a writer's value counts for an owner, judged once per pair: a few
    /// devices write every claim.
    judged: crate::engine::HashMap<(u32, &'s str), bool>,
    keys: Vec<Key>,
}

impl<'s> Judge<'s, '_> {
    fn ok(&mut self, by: Option<u32>, owner: &'s str) -> bool {
        let Some(by) = by else {
            return false;
        };
        let (ctx, all) = (self.ctx, self.all);
        *self.judged.entry((by, owner)).or_insert_with(|| {
            all.actor(Some(by))
                .is_some_and(|a| writer_ok(ctx, a, owner))
        })
    }

    /// A claim held as a record.
    fn record(&mut self, c: PackedClaim<'s>, f: &mut impl FnMut(Hash, &str, Millis, &[Key])) {
        let keys = c
            .keys()
            .map(|(hash, k, by)| (Kind::of(k).map(|kind| Key { hash, kind }), by));
        self.one(c.id, c.owner, c.since, (c.owner_by, c.since_by), keys, f);
    }

    /// One claim: it counts if its owner and date were both written by the owner's
    /// device or a manager's (a claim object replaced by someone else has neither), with
    /// the keys written by one of those.
    fn one(
        &mut self,
        id: Hash,
        owner: &'s str,
        since: Millis,
        (owner_by, since_by): (Option<u32>, Option<u32>),
        written: impl Iterator<Item = (Option<Key>, u32)>,
        f: &mut impl FnMut(Hash, &str, Millis, &[Key]),
    ) {
        if owner.is_empty() || !self.ok(owner_by, owner) || !self.ok(since_by, owner) {
            return;
        }
        self.keys.clear();
        for (key, by) in written {
            if let Some(key) = key
                && self.ok(Some(by), owner)
            {
                self.keys.push(key);
            }
        }
        f(id, owner, since, &self.keys);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_and_kinds_are_read_only_as_written() {
        let c = customer(
            "廣州華東機電有限公司",
            Some("91440101MA5CXXXX1X"),
            Some("020-1234 5678"),
        );
        let map = customer_keys("ws", &c);
        assert_eq!(map.len(), 3);
        for (h, kind) in &map {
            let bytes = fieldcrm_model::hex16(h).expect("a key hash");
            assert_eq!(&fieldcrm_model::hex(&bytes), h);
            assert_eq!(Kind::of(kind).map(Kind::as_str), Some(kind.as_str()));
        }
        let h = map.keys().next().unwrap();
        for junk in [
            h.to_uppercase(),
            h.chars().take(30).collect(),
            format!("{h}0"),
            format!("+{}", h.chars().skip(1).collect::<String>()),
            "汉字".repeat(8),
            String::new(),
        ]
        .into_iter()
        // One digit swapped for each byte just outside the digits' ranges.
        .chain(
            ["/", ":", "`", "g", "G", "\u{0}"]
                .map(|c| format!("{c}{}", h.chars().skip(1).collect::<String>())),
        ) {
            assert_eq!(fieldcrm_model::hex16(&junk), None, "{junk:?}");
        }
        for junk in ["", "Name", "email", "名称"] {
            assert_eq!(Kind::of(junk), None, "{junk:?}");
        }
    }

    fn customer(name: &str, code: Option<&str>, phone: Option<&str>) -> Customer {
        let mut c = Customer::new(name.to_string(), 1);
        c.owner = Some("u1".into());
        c.credit_code = code.map(Into::into);
        if let Some(p) = phone {
            c.contacts.insert(
                "c1".into(),
                fieldcrm_model::Contact {
                    name: "李".into(),
                    phone: Some(p.into()),
                    ..Default::default()
                },
            );
        }
        c
    }

    #[test]
    fn traditional_and_simplified_registrations_share_keys() {
        let a = customer_keys(
            "ws",
            &customer(
                "廣州華東機電有限公司",
                Some("91440101ＭＡ5ＣＸＸＸＸ1Ｘ"),
                Some("+86 138-0000-0001"),
            ),
        );
        let b = customer_keys(
            "ws",
            &customer(
                "广州华东机电（集团）",
                Some("91440101MA5CXXXX1X"),
                Some("１３８０００００００１"),
            ),
        );
        assert_eq!(a.len(), 3);
        assert_eq!(a, b);
        assert!(a.keys().all(|h| h.len() == 32));
        // Another workspace, other hashes.
        let c = customer_keys("other", &customer("广州华东机电", None, None));
        assert!(c.keys().all(|h| !a.contains_key(h)));
    }

    #[test]
    fn no_claim_for_files_merged_archived_or_unowned() {
        let mut c = customer("华东机电", None, None);
        assert!(claim_for("ws", &c).is_some());
        c.merged_into = Some("x".into());
        assert!(claim_for("ws", &c).is_none());
        let mut c = customer("华东机电", None, None);
        c.owner = None;
        assert!(claim_for("ws", &c).is_none());
    }
}
