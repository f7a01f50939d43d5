//! The summary-index row of a customer file or a channel read from just the fields it
//! shows, not by hydrating the whole document (contacts, interactions, quotes, ...).
//! Building summaries is on the path of every saved and every received document; a
//! first sync of 100,000 files spent most of its time hydrating sub-records only to
//! drop them. The fields hydrate exactly as in [`Customer`](crate::Customer) and
//! [`Channel`](crate::Channel) (same types, same defaults), so a field of the wrong
//! type is refused the same way; `tests` checks both paths agree.

use autosurgeon::Hydrate;

use crate::{ChannelKind, ChannelStatus, CustomerClass, DocKind, Millis, Note, Summary};

/// The summary fields of a customer file.
#[derive(Debug, Hydrate)]
pub(crate) struct CustomerHead {
    name: String,
    #[autosurgeon(missing = "Default::default")]
    region: Option<String>,
    #[autosurgeon(missing = "Default::default")]
    class: Option<CustomerClass>,
    #[autosurgeon(missing = "Default::default")]
    owner: Option<String>,
    #[autosurgeon(missing = "Default::default")]
    team: Option<String>,
    #[autosurgeon(missing = "Default::default")]
    merged_into: Option<String>,
    #[autosurgeon(missing = "Default::default")]
    archived: Option<Note>,
}

impl CustomerHead {
    pub(crate) fn summary(self, updated_at: Millis) -> Summary {
        Summary {
            kind: DocKind::Customer,
            name: self.name,
            class: self.class.as_ref().map(|k| k.to_string()),
            owner: self.owner,
            team: self.team,
            status: None,
            region: self.region,
            merged_into: self.merged_into,
            archived: self.archived.is_some(),
            updated_at,
        }
    }
}

/// The summary fields of a channel.
#[derive(Debug, Hydrate)]
pub(crate) struct ChannelHead {
    name: String,
    channel_kind: ChannelKind,
    #[autosurgeon(missing = "Default::default")]
    region: Option<String>,
    status: ChannelStatus,
    #[autosurgeon(missing = "Default::default")]
    owner: Option<String>,
    #[autosurgeon(missing = "Default::default")]
    merged_into: Option<String>,
    #[autosurgeon(missing = "Default::default")]
    archived: Option<Note>,
}

impl ChannelHead {
    pub(crate) fn summary(self, updated_at: Millis) -> Summary {
        Summary {
            kind: DocKind::Channel,
            name: self.name,
            class: Some(self.channel_kind.to_string()),
            owner: self.owner,
            team: None,
            status: Some(self.status.to_string()),
            region: self.region,
            merged_into: self.merged_into,
            archived: self.archived.is_some(),
            updated_at,
        }
    }
}

#[cfg(test)]
mod tests {
    use automerge::transaction::Transactable;

    use crate::{
        Channel, ChannelKind, ChannelStatus, Contact, Customer, CustomerClass, DeviceKey, DocId,
        Document, Note,
    };

    fn both(
        d: &mut Document,
    ) -> (
        Result<crate::Summary, String>,
        Result<crate::Summary, String>,
    ) {
        let at = d.latest_change_time();
        let full = d.body().map(|b| b.summary(at)).map_err(|e| e.to_string());
        (d.summary().map_err(|e| e.to_string()), full)
    }

    #[test]
    fn the_summary_from_its_fields_equals_the_summary_of_the_whole_document() {
        let dev = DeviceKey([7; 32]);
        let mut c = Customer::new("華東精密 😀 １２３", 1_000);
        c.class = Some(CustomerClass::Key);
        c.owner = Some("u1".into());
        c.team = Some("华东一组".into());
        c.region = Some("华东".into());
        c.merged_into = Some("abcd".into());
        c.archived = Some(Note {
            text: "重复".into(),
            at: 2_000,
            by: "u2".into(),
        });
        c.contacts.insert(
            "c1".into(),
            Contact {
                name: "王".into(),
                title: None,
                phone: None,
                email: None,
                created_at: 1_000,
            },
        );
        let mut d = Document::create(DocId::random(), &dev, 1_000, &c, "c").unwrap();
        let (fast, full) = both(&mut d);
        assert_eq!(fast, full);
        assert!(fast.unwrap().archived);

        let bare = Customer::new("甲", 1_000);
        let mut d = Document::create(DocId::random(), &dev, 1_000, &bare, "c").unwrap();
        let (fast, full) = both(&mut d);
        assert_eq!(fast, full);

        let mut ch = Channel::new("渠道甲", ChannelKind::Dealer, 1_000);
        ch.status = ChannelStatus::Active;
        ch.owner = Some("u1".into());
        ch.region = Some("华南".into());
        let mut d = Document::create(DocId::random(), &dev, 1_000, &ch, "c").unwrap();
        let (fast, full) = both(&mut d);
        assert_eq!(fast, full);
    }

    #[test]
    fn a_summary_field_of_the_wrong_type_is_judged_as_by_the_whole_document() {
        let dev = DeviceKey([7; 32]);
        let c = Customer::new("甲", 1_000);
        let mut d = Document::create(DocId::random(), &dev, 1_000, &c, "c").unwrap();
        d.automerge_mut()
            .put(automerge::ROOT, "class", 42_i64)
            .unwrap();
        let (fast, full) = both(&mut d);
        assert_eq!(fast.is_ok(), full.is_ok(), "{fast:?} {full:?}");
        if fast.is_ok() {
            assert_eq!(fast, full);
        }
        let mut d = Document::create(DocId::random(), &dev, 1_000, &c, "c").unwrap();
        d.automerge_mut()
            .put(automerge::ROOT, "name", 1_i64)
            .unwrap();
        let (fast, full) = both(&mut d);
        assert!(fast.is_err() && full.is_err(), "{fast:?} {full:?}");
    }
}
