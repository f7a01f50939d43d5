//! The cross-document rules: CUST-DUPLICATE and CHANNEL-TERRITORY-CONFLICT (per pair of
//! documents, found through the engine's hash indexes) and CHANNEL-UNAUTHORIZED-SALE (per
//! customer file, against the channel records its orders name).

use std::borrow::Borrow;

use fieldcrm_model::{DocId, Snapshot};
use serde_json::json;

use super::{Engine, HashSet, key_hash, ordered};
use crate::claims::Hash;
use crate::finding::Finding;
use crate::normalize;
use crate::rule::RuleId;
use crate::rules::Extract;
use crate::rules::channel::{ChannelExtract, TerritoryEntry};
use crate::rules::customer::{CustomerExtract, DupKey, OrderRef};

impl<S: Borrow<Snapshot> + Send> Engine<S> {
    pub(super) fn duplicates_of(
        &self,
        d: &DocId,
        c: &CustomerExtract,
        dirty: Option<&HashSet<DocId>>,
        out: &mut Vec<((DocId, DocId), Finding)>,
    ) {
        let Some(sev) = self.ctx.cfg.severity(RuleId::CustDuplicate) else {
            return;
        };
        let Some(own) = fieldcrm_model::hex16(d.as_str()) else {
            return;
        };
        let mut seen: HashSet<Hash> = HashSet::default();
        for k in &c.keys {
            let Some(others) = self.x.dup_index.get(&key_hash(k)) else {
                continue;
            };
            for &bytes in others {
                // Bytes sort as the IDs they spell.
                if bytes == own || !seen.insert(bytes) {
                    continue;
                }
                let x = &DocId::from_bytes(&bytes);
                if bytes < own && dirty.is_none_or(|s| s.contains(x)) {
                    continue;
                }
                let Some(xc) = self.customer(x) else {
                    continue;
                };
                let shared: Vec<&DupKey> = c.keys.iter().filter(|k| xc.keys.contains(k)).collect();
                if shared.is_empty() {
                    continue; // a hash collision, not a shared key
                }
                let (a, b) = ordered(d, x);
                let (an, bn) = if &a == d {
                    (&c.name, &xc.name)
                } else {
                    (&xc.name, &c.name)
                };
                let zh_keys: Vec<String> = shared
                    .iter()
                    .map(|k| format!("{}「{}」", k.kind_zh(), k.value()))
                    .collect();
                let en_keys: Vec<String> = shared
                    .iter()
                    .map(|k| format!("{} `{}`", k.kind(), k.value()))
                    .collect();
                let matched: Vec<serde_json::Value> = shared
                    .iter()
                    .map(|k| json!({ "key": k.kind(), "value": k.value() }))
                    .collect();
                let f = Finding::new(
                    RuleId::CustDuplicate,
                    sev,
                    vec![a.clone(), b.clone()],
                    None,
                    format!(
                        "客户档案「{an}」与「{bn}」疑似同一家公司（相同的{}），请合并。",
                        zh_keys.join("、")
                    ),
                    format!(
                        "Customer files {an} and {bn} look like the same company (same {}); merge them.",
                        en_keys.join(", ")
                    ),
                    json!({ "matched": matched, "names": [an, bn] }),
                );
                out.push(((a, b), f));
            }
        }
    }

    pub(super) fn territory_conflicts_of(
        &self,
        d: &DocId,
        ch: &ChannelExtract,
        dirty: Option<&HashSet<DocId>>,
        out: &mut Vec<((DocId, DocId), Finding)>,
    ) {
        let Some(sev) = self.ctx.cfg.severity(RuleId::ChannelTerritoryConflict) else {
            return;
        };
        for t in &ch.territories {
            let Some(others) = self.x.territory_index.get(&key_hash(&t.key)) else {
                continue;
            };
            for (x, tid) in others {
                if x == d || (x < d && dirty.is_none_or(|s| s.contains(x))) {
                    continue;
                }
                let Some(xch) = self.channel(x) else {
                    continue;
                };
                let Some(xt) = xch.territories.iter().find(|e| &e.id == tid) else {
                    continue;
                };
                if xt.key != t.key || !(t.start <= xt.end && xt.start <= t.end) {
                    continue;
                }
                let (a, b) = ordered(d, x);
                let ((at, an), (bt, bn)): ((&TerritoryEntry, &str), (&TerritoryEntry, &str)) =
                    if &a == d {
                        ((t, &ch.name), (xt, &xch.name))
                    } else {
                        ((xt, &xch.name), (t, &ch.name))
                    };
                let date = |ms| self.ctx.date(ms);
                let f = Finding::new(
                    RuleId::ChannelTerritoryConflict,
                    sev,
                    vec![a.clone(), b.clone()],
                    Some(format!("territories/{}", at.id)),
                    format!(
                        "渠道「{an}」与「{bn}」同时持有「{}」区域「{}」产品线的独家授权，期限重叠（{}至{} 与 {}至{}），请撤销其一。",
                        at.region,
                        self.ctx.line_name(&at.product_line),
                        date(at.start),
                        date(at.end),
                        date(bt.start),
                        date(bt.end)
                    ),
                    format!(
                        "Channels {an} and {bn} both hold an exclusive territory for region {} and product line {} over overlapping terms ({} to {} and {} to {}); revoke one.",
                        at.region,
                        at.product_line,
                        date(at.start),
                        date(at.end),
                        date(bt.start),
                        date(bt.end)
                    ),
                    json!({
                        "region": at.region,
                        "product_line": at.product_line,
                        "territories": [
                            { "doc": a, "territory": at.id, "start": at.start, "end": at.end },
                            { "doc": b, "territory": bt.id, "start": bt.start, "end": bt.end },
                        ],
                    }),
                );
                out.push(((a, b), f));
            }
        }
    }

    pub(super) fn unauthorized_sales(&self, customer: &DocId) -> Vec<Finding> {
        let Some(sev) = self.ctx.cfg.severity(RuleId::ChannelUnauthorizedSale) else {
            return Vec::new();
        };
        let Some(c) = self.customer(customer) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for o in &c.orders {
            let channel_id: Option<DocId> = o.channel.parse().ok();
            let held = channel_id.as_ref().and_then(|id| self.docs.get(id));
            // An order through a merged tombstone is not judged (rules ignore tombstones).
            if held.is_some_and(|e| matches!(e.eval.extract, Extract::None)) {
                continue;
            }
            let ch = channel_id.as_ref().and_then(|id| self.channel(id));
            let (zh, en) = match ch {
                None => (
                    vec!["渠道档案不存在（或不在本设备上），无法证明已获授权".to_string()],
                    vec!["the channel record does not exist (or is not on this device), so no authorisation can be shown".to_string()],
                ),
                Some(ch) => self.sale_problems(o, ch),
            };
            if zh.is_empty() {
                continue;
            }
            let mut docs = vec![customer.clone()];
            if let Some(id) = channel_id.clone().filter(|_| ch.is_some()) {
                docs.push(id);
                docs.sort();
            }
            let cname = &c.name;
            let chname = ch.map_or(o.channel.as_str(), |c| c.name.as_str());
            out.push(Finding::new(
                RuleId::ChannelUnauthorizedSale,
                sev,
                docs,
                Some(format!("orders/{}", o.id)),
                format!(
                    "客户「{cname}」{}经渠道「{chname}」下的订单（{}）未获授权：{}。",
                    self.ctx.date(o.ordered_at),
                    o.product,
                    zh.join("；")
                ),
                format!(
                    "Customer {cname}: the order of {} ({}) through channel {chname} is not authorised: {}.",
                    self.ctx.date(o.ordered_at),
                    o.product,
                    en.join("; ")
                ),
                json!({
                    "customer": customer,
                    "channel": o.channel,
                    "product": o.product,
                    "ordered_at": o.ordered_at,
                    "channel_status": ch.map(|c| c.status.clone()),
                    "agreement": ch.and_then(|c| c.agreement.as_ref()).map(|a| json!({
                        "signed_at": a.signed_at, "term_start": a.term_start, "term_end": a.term_end,
                    })),
                }),
            ));
        }
        out
    }

    pub(super) fn sale_problems(
        &self,
        o: &OrderRef,
        ch: &ChannelExtract,
    ) -> (Vec<String>, Vec<String>) {
        let mut zh = Vec::new();
        let mut en = Vec::new();
        match ch.status.as_str() {
            "active" => {}
            "prospect" => {
                zh.push("渠道从未有效激活".to_string());
                en.push("the channel was never validly activated".to_string());
            }
            s if ch.status_at <= o.ordered_at => {
                zh.push(format!(
                    "渠道自{}起已{}",
                    self.ctx.date(ch.status_at),
                    status_zh(s)
                ));
                en.push(format!(
                    "the channel has been {s} since {}",
                    self.ctx.date(ch.status_at)
                ));
            }
            _ => {}
        }
        match &ch.agreement {
            None => {
                zh.push("渠道没有已签署的合作协议".to_string());
                en.push("the channel has no signed agreement".to_string());
            }
            Some(a) => {
                if a.signed_at > o.ordered_at {
                    zh.push(format!(
                        "协议{}才签署，晚于下单",
                        self.ctx.date(a.signed_at)
                    ));
                    en.push(format!(
                        "the agreement was signed only on {}",
                        self.ctx.date(a.signed_at)
                    ));
                }
                if o.ordered_at < a.term_start || o.ordered_at > a.term_end {
                    zh.push(format!(
                        "下单日期不在协议期限（{}至{}）内",
                        self.ctx.date(a.term_start),
                        self.ctx.date(a.term_end)
                    ));
                    en.push(format!(
                        "the order date is outside the agreement term ({} to {})",
                        self.ctx.date(a.term_start),
                        self.ctx.date(a.term_end)
                    ));
                }
                let sku = normalize::label(&o.product);
                let line = self
                    .ctx
                    .products
                    .get(&o.product)
                    .map(|p| normalize::label(&p.product_line));
                let covered = a
                    .covers
                    .iter()
                    .any(|c| *c == sku || Some(c) == line.as_ref());
                if !covered {
                    zh.push(format!("协议未授权该产品（{}）", o.product));
                    en.push(format!(
                        "the agreement does not cover product {}",
                        o.product
                    ));
                }
            }
        }
        (zh, en)
    }
}

fn status_zh(s: &str) -> &str {
    match s {
        "suspended" => "暂停",
        "terminated" => "终止",
        other => other,
    }
}
