//! A document read for hydration: each map or list is read in one pass, not looked up
//! key by key.
//!
//! autosurgeon hydrates a struct by asking the document for each of its fields in turn.
//! Automerge answers each such `get` with a seek through its op columns, and a customer
//! file has some forty fields, most of them empty: hydrating 100,000 files spent more
//! than four fifths of its time in those seeks (`perf`, a cold `check`). Reading an
//! object's entries once, in order, and answering the fields from that list gives the
//! same values (the same winner of a conflict, the same object IDs) for a fraction of
//! the cost.

use std::cell::RefCell;
use std::ops::RangeBounds;
use std::rc::Rc;

use automerge::iter::{ListRangeItem, MapRangeItem};
use automerge::{
    AutoCommit, AutomergeError, ObjId, ObjType, Prop, ScalarValueRef, Value, ValueRef,
};

/// Objects whose entries are kept at once: a struct, the struct around it, and so on up
/// to the root (hydration goes depth first), with room to spare. Past it, the object
/// used longest ago is dropped, and read again if it is asked for again.
const KEPT: usize = 16;

/// Objects with more entries than this are not read whole: their keys are asked of the
/// document one by one, as before. A struct has a few dozen fields; a larger object is a
/// collection, and reading it again each time it fell out of [`KEPT`] (a document can
/// nest each of its values deep enough for that) would cost its size per key, where a
/// lookup costs its logarithm.
const WHOLE: usize = 256;

/// An object's entries, read in one pass.
enum Entries<'a> {
    /// A map's entries, in key order (as Automerge gives them).
    Map(Vec<MapRangeItem<'a>>),
    /// A list's elements, in order.
    List(Vec<ListRangeItem<'a>>),
    /// Asked of the document itself: text, a counter (its value is the sum of its
    /// increments, which `get` gives), more than [`WHOLE`] entries, or an object that
    /// does not exist.
    Document,
}

/// An Automerge document read for hydration (see the module documentation). Reads only.
pub(crate) struct Quick<'a> {
    doc: &'a AutoCommit,
    kept: RefCell<Vec<(ObjId, Rc<Entries<'a>>)>>,
    /// A key of the root answered as absent (read another way by the caller).
    hidden: Option<&'static str>,
}

impl<'a> Quick<'a> {
    pub(crate) fn new(doc: &'a AutoCommit) -> Self {
        Quick {
            doc,
            kept: RefCell::new(Vec::with_capacity(KEPT)),
            hidden: None,
        }
    }

    /// The document read as if its root had no `key`.
    pub(crate) fn hiding(doc: &'a AutoCommit, key: &'static str) -> Self {
        Quick {
            hidden: Some(key),
            ..Quick::new(doc)
        }
    }

    /// The entries of `obj`, read now if they are not kept.
    fn entries(&self, obj: &ObjId) -> Rc<Entries<'a>> {
        let mut kept = self.kept.borrow_mut();
        if let Some(i) = kept.iter().rposition(|(id, _)| id == obj) {
            let hit = kept.remove(i);
            let entries = hit.1.clone();
            kept.push(hit);
            return entries;
        }
        let entries = Rc::new(self.read(obj));
        if kept.len() == KEPT {
            kept.remove(0);
        }
        kept.push((obj.clone(), entries.clone()));
        entries
    }

    fn read(&self, obj: &ObjId) -> Entries<'a> {
        use automerge::ReadDoc as _;
        let doc: &'a AutoCommit = self.doc;
        let counter = |v: &ValueRef<'_>| matches!(v, ValueRef::Scalar(ScalarValueRef::Counter(_)));
        match doc.object_type(obj) {
            Ok(ObjType::Map | ObjType::Table) => {
                let mut items: Vec<_> = doc.map_range(obj, ..).take(WHOLE + 1).collect();
                if items.len() > WHOLE || items.iter().any(|i| counter(&i.value)) {
                    return Entries::Document;
                }
                // In key order for the lookups (Automerge gives them so; this only makes
                // sure).
                if !items.is_sorted_by(|a, b| a.key < b.key) {
                    items.sort_by(|a, b| a.key.cmp(&b.key));
                }
                Entries::Map(items)
            }
            Ok(ObjType::List) => {
                let items: Vec<_> = doc.list_range(obj, ..).take(WHOLE + 1).collect();
                if items.len() > WHOLE || items.iter().any(|i| counter(&i.value)) {
                    return Entries::Document;
                }
                Entries::List(items)
            }
            _ => Entries::Document,
        }
    }
}

impl autosurgeon::ReadDoc for Quick<'_> {
    type Parents<'b>
        = automerge::Parents<'b>
    where
        Self: 'b;

    fn get_heads(&self) -> Vec<automerge::ChangeHash> {
        autosurgeon::ReadDoc::get_heads(self.doc)
    }

    fn get<P: Into<Prop>>(
        &self,
        obj: &ObjId,
        prop: P,
    ) -> Result<Option<(Value<'_>, ObjId)>, AutomergeError> {
        let prop = prop.into();
        if let (Some(hidden), Prop::Map(key)) = (self.hidden, &prop)
            && *obj == automerge::ROOT
            && key == hidden
        {
            return Ok(None);
        }
        let entries = self.entries(obj);
        match (&*entries, &prop) {
            (Entries::Map(items), Prop::Map(key)) => Ok(items
                .binary_search_by(|i| (*i.key).cmp(key.as_str()))
                .ok()
                .and_then(|at| items.get(at))
                .map(|i| (i.value.clone().into_value(), i.id()))),
            (Entries::List(items), Prop::Seq(at)) => Ok(items
                .get(*at)
                .map(|i| (i.value.clone().into_value(), i.id()))),
            // Anything else (text, a counter, a key of the wrong kind, an object that
            // does not exist) as the document answers it, errors included.
            _ => autosurgeon::ReadDoc::get(self.doc, obj, prop),
        }
    }

    fn object_type<O: AsRef<ObjId>>(&self, obj: O) -> Option<ObjType> {
        autosurgeon::ReadDoc::object_type(self.doc, obj)
    }

    fn map_range<'b, O, R>(&'b self, obj: O, range: R) -> automerge::iter::MapRange<'b>
    where
        R: RangeBounds<String> + 'b,
        O: AsRef<ObjId>,
        R: RangeBounds<String>,
    {
        autosurgeon::ReadDoc::map_range(self.doc, obj, range)
    }

    fn list_range<O: AsRef<ObjId>, R: RangeBounds<usize>>(
        &self,
        obj: O,
        range: R,
    ) -> automerge::iter::ListRange<'_> {
        autosurgeon::ReadDoc::list_range(self.doc, obj, range)
    }

    fn length<O: AsRef<ObjId>>(&self, obj: O) -> usize {
        match &*self.entries(obj.as_ref()) {
            Entries::List(items) => items.len(),
            Entries::Map(items) => items.len(),
            Entries::Document => autosurgeon::ReadDoc::length(self.doc, obj),
        }
    }

    fn text<O: AsRef<ObjId>>(&self, obj: O) -> Result<String, AutomergeError> {
        autosurgeon::ReadDoc::text(self.doc, obj)
    }

    fn parents<O: AsRef<ObjId>>(&self, obj: O) -> Result<Self::Parents<'_>, AutomergeError> {
        autosurgeon::ReadDoc::parents(self.doc, obj)
    }

    fn is_empty(&self) -> bool {
        autosurgeon::ReadDoc::is_empty(self.doc)
    }
}

#[cfg(test)]
mod tests {
    //! Hydration through [`Quick`] against hydration from the document itself, on every
    //! saved fixture and on edited copies of them: concurrent values, deleted keys, text
    //! objects, counters and objects where scalars were.

    use super::*;
    use crate::{Body, Catalog, Channel, Customer, DocKind, PolicySettings, Roster, Sales};
    use automerge::transaction::Transactable;
    use automerge::{ActorId, ROOT, ReadDoc};

    fn body<D: autosurgeon::ReadDoc>(d: &D, kind: &DocKind) -> Result<Body, String> {
        let e = |e: autosurgeon::HydrateError| e.to_string();
        Ok(match kind {
            DocKind::Customer => Body::Customer(autosurgeon::hydrate::<_, Customer>(d).map_err(e)?),
            DocKind::Channel => Body::Channel(autosurgeon::hydrate::<_, Channel>(d).map_err(e)?),
            DocKind::Roster => Body::Roster(autosurgeon::hydrate::<_, Roster>(d).map_err(e)?),
            DocKind::Catalog => Body::Catalog(autosurgeon::hydrate::<_, Catalog>(d).map_err(e)?),
            DocKind::Policy => {
                Body::Policy(autosurgeon::hydrate::<_, PolicySettings>(d).map_err(e)?)
            }
            DocKind::Sales => Body::Sales(autosurgeon::hydrate::<_, Sales>(d).map_err(e)?),
            DocKind::Unknown(k) => return Err(k.clone()),
        })
    }

    fn same(doc: &AutoCommit, kind: &DocKind, what: &str) -> bool {
        let plain = body(doc, kind);
        let quick = body(&Quick::new(doc), kind);
        assert_eq!(quick, plain, "{what}");
        plain.is_ok()
    }

    /// Every map object of `doc`, depth first.
    fn maps(doc: &AutoCommit) -> Vec<ObjId> {
        let mut out = vec![ROOT];
        let mut at = 0;
        while at < out.len() {
            let obj = out[at].clone();
            at += 1;
            let children: Vec<ObjId> = match doc.object_type(&obj) {
                Ok(ObjType::Map) => doc
                    .map_range(&obj, ..)
                    .filter(|i| matches!(i.value, ValueRef::Object(_)))
                    .map(|i| i.id())
                    .collect(),
                Ok(ObjType::List) => doc
                    .list_range(&obj, ..)
                    .filter(|i| matches!(i.value, ValueRef::Object(_)))
                    .map(|i| i.id())
                    .collect(),
                _ => vec![],
            };
            for c in children {
                if doc.object_type(&c) == Ok(ObjType::Map)
                    || doc.object_type(&c) == Ok(ObjType::List)
                {
                    out.push(c);
                }
            }
        }
        out
    }

    /// A few random edits by `actor`, most of them keeping each value's type (so the
    /// copy still hydrates): a string set to another or to a text object, a number to
    /// another, a flag flipped, a key deleted or added; now and then a counter.
    fn edit(doc: &mut AutoCommit, actor: u8, seed: &mut u64) {
        let mut next = |n: u64| {
            *seed ^= *seed << 13;
            *seed ^= *seed >> 7;
            *seed ^= *seed << 17;
            *seed % n.max(1)
        };
        doc.set_actor(ActorId::from(vec![actor; 16]));
        let objs: Vec<ObjId> = maps(doc)
            .into_iter()
            .filter(|o| doc.object_type(o) == Ok(ObjType::Map))
            .collect();
        for _ in 0..4 {
            let obj = &objs[next(objs.len() as u64) as usize];
            let keys: Vec<String> = doc.keys(obj).collect();
            if keys.is_empty() || next(12) == 0 {
                let _ = doc.put(ROOT, format!("新{}", next(3)), "未知的键");
                continue;
            }
            let key = keys[next(keys.len() as u64) as usize].clone();
            let Ok(Some((value, _))) = doc.get(obj, &key) else {
                continue;
            };
            let n = next(1000);
            let _ = match value {
                _ if next(40) == 0 => doc
                    .put(obj, &key, automerge::ScalarValue::counter(5))
                    .and_then(|_| doc.increment(obj, &key, 3)),
                _ if next(20) == 0 => doc.delete(obj, &key),
                Value::Scalar(s) => match s.as_ref() {
                    automerge::ScalarValue::Str(_) if next(8) == 0 => doc
                        .put_object(obj, &key, ObjType::Text)
                        .and_then(|t| doc.splice_text(&t, 0, 0, "華東機電１２３")),
                    automerge::ScalarValue::Str(_) => doc.put(obj, &key, format!("值{actor}{n}🎉")),
                    automerge::ScalarValue::Int(_) => doc.put(obj, &key, n as i64),
                    automerge::ScalarValue::Uint(_) => doc.put(obj, &key, n),
                    automerge::ScalarValue::Timestamp(_) => {
                        doc.put(obj, &key, automerge::ScalarValue::Timestamp(n as i64))
                    }
                    automerge::ScalarValue::Boolean(b) => doc.put(obj, &key, !b),
                    _ => Ok(()),
                },
                Value::Object(_) => Ok(()),
            };
        }
        doc.commit();
    }

    /// Copy the object `src` of `doc` under `key` of map `parent` (scalars, maps, lists
    /// and text).
    fn copy(doc: &mut AutoCommit, src: &ObjId, parent: &ObjId, key: &str) {
        let typ = doc.object_type(src).unwrap();
        let dst = doc.put_object(parent, key, typ).unwrap();
        match typ {
            ObjType::Map | ObjType::Table => {
                let items: Vec<_> = doc
                    .map_range(src, ..)
                    .map(|i| (i.key.to_string(), i.value.clone().into_value(), i.id()))
                    .collect();
                for (k, v, id) in items {
                    match v {
                        Value::Scalar(s) => {
                            doc.put(&dst, &k, s.into_owned()).unwrap();
                        }
                        Value::Object(_) => copy(doc, &id, &dst, &k),
                    }
                }
            }
            ObjType::List => {
                let items: Vec<_> = doc
                    .list_range(src, ..)
                    .map(|i| i.value.clone().into_value())
                    .collect();
                for (at, v) in items.into_iter().enumerate() {
                    if let Value::Scalar(s) = v {
                        doc.insert(&dst, at, s.into_owned()).unwrap();
                    }
                }
            }
            ObjType::Text => {
                let text = doc.text(src).unwrap();
                doc.splice_text(&dst, 0, 0, &text).unwrap();
            }
        }
    }

    /// Every collection of `doc` (a map whose values are all maps) grown past [`WHOLE`]
    /// entries by copies of its first entry, so its keys are asked of the document.
    fn grown(doc: &mut AutoCommit) -> Option<AutoCommit> {
        let mut out = doc.fork();
        let mut grew = false;
        for obj in maps(doc) {
            if doc.object_type(&obj) != Ok(ObjType::Map) || obj == ROOT {
                continue;
            }
            let items: Vec<_> = doc.map_range(&obj, ..).collect();
            let first = match items.first() {
                Some(i)
                    if items
                        .iter()
                        .all(|i| matches!(i.value, ValueRef::Object(ObjType::Map))) =>
                {
                    i.id()
                }
                _ => continue,
            };
            for n in 0..WHOLE + 4 {
                copy(&mut out, &first, &obj, &format!("副本{n:04}"));
            }
            grew = true;
        }
        out.commit();
        grew.then_some(out)
    }

    #[test]
    fn quick_hydration_equals_hydration_from_the_document() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schema/fixtures");
        let mut docs = 0;
        let mut grown_docs = 0;
        let mut hydrated = 0;
        for version in std::fs::read_dir(&dir).unwrap() {
            for entry in std::fs::read_dir(version.unwrap().path()).unwrap() {
                let path = entry.unwrap().path();
                if path.extension().is_none_or(|e| e != "automerge") {
                    continue;
                }
                let bytes = std::fs::read(&path).unwrap();
                let mut base = AutoCommit::load(&bytes).unwrap();
                let kind: DocKind = match base.get(ROOT, "kind").unwrap() {
                    Some((Value::Scalar(s), _)) => s.as_str().unwrap_or("").parse().unwrap(),
                    _ => panic!("{}: no kind", path.display()),
                };
                let name = path.display().to_string();
                assert!(same(&base, &kind, &name), "{name} does not hydrate");
                docs += 1;
                if let Some(big) = grown(&mut base) {
                    assert!(
                        same(&big, &kind, &format!("{name}, grown")),
                        "{name}, grown"
                    );
                    grown_docs += 1;
                }
                for seed in 1..=40u64 {
                    let mut a = base.fork();
                    let mut b = base.fork();
                    let mut s = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
                    edit(&mut a, 1, &mut s);
                    edit(&mut b, 2, &mut s);
                    a.merge(&mut b).unwrap();
                    if same(&a, &kind, &format!("{name}, edits {seed}")) {
                        hydrated += 1;
                    }
                }
            }
        }
        assert!(docs >= 9, "{docs} fixtures");
        assert!(grown_docs >= 3, "{grown_docs} fixtures with a collection");
        // Many edited copies still hydrate, so the comparison covered values, not only
        // errors.
        assert!(
            hydrated >= docs * 10,
            "{hydrated} of {} hydrated",
            docs * 40
        );
    }
}
