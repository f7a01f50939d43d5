//! CSV import of customers and channels, and CSV/JSON export of lists.
//!
//! # CSV files
//!
//! UTF-8, with or without a byte-order mark; RFC 4180 quoting (`"a, b"`, `""` for a quote,
//! line breaks inside quotes). The first line names the columns, in Chinese or English
//! (case and surrounding spaces ignored):
//!
//! | field | customers | channels |
//! |---|---|---|
//! | `name` (required) | 名称, 客户名称, 公司名称 | 名称, 渠道名称 |
//! | `credit_code` | 统一社会信用代码, 信用代码 | |
//! | `industry` | 行业 | |
//! | `region` | 区域, 地区 | 区域, 地区 |
//! | `address` | 地址 | |
//! | `class` (key/重要, general/一般, potential/潜在) | 分类, 客户分类 | |
//! | `annual_value` (yuan) | 年销售额, 年业务额 | |
//! | `owner` (user name or ID) | 负责人 | 负责人 |
//! | `team` | 团队 | |
//! | `contact`, `phone`, `email` (one first contact) | 联系人, 电话/联系电话, 邮箱/电子邮箱 | |
//! | `kind` (distributor/分销商, agent/代理商, dealer/经销商, retailer/零售商) | | 类型, 渠道类型 |
//! | `lines` (product lines, separated by `;` `、` `，` or `|`) | | 产品线 |
//! | `id` (ignored, written by export) | 编号 | 编号 |
//!
//! Every row is checked before anything is written; any bad row fails the whole import
//! with its line number, and a good file is saved in one durable transaction.

use std::collections::{BTreeMap, BTreeSet};

use fieldcrm_model::Authority;
use fieldcrm_model::access::can_read;
use fieldcrm_model::money::{format_yuan, parse_yuan};
use fieldcrm_model::{
    Channel, ChannelKind, Contact, Customer, CustomerClass, DocId, DocKind, Document, Millis,
    new_entity_id,
};

use crate::{Error, Filter, Result, Workspace};
use fieldcrm_store::NewDoc;

/// Parse CSV text into records, each with the line number it starts on (1-based).
pub fn parse_csv(text: &str) -> std::result::Result<Vec<(usize, Vec<String>)>, String> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut out = Vec::new();
    let mut rec: Vec<String> = Vec::new();
    let mut field = String::new();
    let mut line = 1;
    let mut start = 1;
    let mut quoted = false;
    let mut was_quoted = false;
    let mut chars = text.chars().peekable();
    let mut any = false;
    while let Some(c) = chars.next() {
        any = true;
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => quoted = false,
                '\n' => {
                    line += 1;
                    field.push('\n');
                }
                c => field.push(c),
            }
            continue;
        }
        match c {
            '"' if field.is_empty() && !was_quoted => {
                quoted = true;
                was_quoted = true;
            }
            '"' => return Err(format!("line {line}: stray quote in an unquoted field")),
            ',' => {
                rec.push(std::mem::take(&mut field));
                was_quoted = false;
            }
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' => {
                rec.push(std::mem::take(&mut field));
                was_quoted = false;
                if !is_blank_record(&rec) {
                    out.push((start, std::mem::take(&mut rec)));
                }
                rec.clear();
                line += 1;
                start = line;
                any = false;
            }
            c => field.push(c),
        }
    }
    if quoted {
        return Err(format!("line {start}: a quoted field is not closed"));
    }
    if any {
        rec.push(field);
        if !is_blank_record(&rec) {
            out.push((start, rec));
        }
    }
    Ok(out)
}

/// One CSV field, quoted when needed.
pub fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) || s.starts_with(' ') || s.ends_with(' ') {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// A CSV document (with a header line) from rows.
pub fn write_csv(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut s = String::new();
    let line = |cells: &mut dyn Iterator<Item = String>| {
        cells.map(|c| csv_field(&c)).collect::<Vec<_>>().join(",") + "\r\n"
    };
    s.push_str(&line(&mut header.iter().map(|h| h.to_string())));
    for r in rows {
        s.push_str(&line(&mut r.iter().cloned()));
    }
    s
}

const CUSTOMER_COLUMNS: &[(&str, &[&str])] = &[
    ("id", &["id", "编号"]),
    ("name", &["name", "名称", "客户名称", "公司名称"]),
    (
        "credit_code",
        &["credit_code", "统一社会信用代码", "信用代码"],
    ),
    ("industry", &["industry", "行业"]),
    ("region", &["region", "区域", "地区"]),
    ("address", &["address", "地址"]),
    ("class", &["class", "分类", "客户分类"]),
    ("annual_value", &["annual_value", "年销售额", "年业务额"]),
    ("owner", &["owner", "负责人"]),
    ("team", &["team", "团队"]),
    ("contact", &["contact", "联系人"]),
    ("phone", &["phone", "电话", "联系电话"]),
    ("email", &["email", "邮箱", "电子邮箱"]),
];

/// The customer columns whose text goes into the document as it is, with the field
/// each becomes (the name is checked as admitted).
const CUSTOMER_TEXTS: &[(&str, &str)] = &[
    ("credit_code", "credit_code"),
    ("industry", "industry"),
    ("region", "region"),
    ("address", "address"),
    ("team", "team"),
    ("contact", "name"),
    ("phone", "phone"),
    ("email", "email"),
];

const CHANNEL_COLUMNS: &[(&str, &[&str])] = &[
    ("id", &["id", "编号"]),
    ("name", &["name", "名称", "渠道名称"]),
    ("kind", &["kind", "类型", "渠道类型"]),
    ("region", &["region", "区域", "地区"]),
    ("lines", &["lines", "产品线"]),
    ("owner", &["owner", "负责人"]),
];

/// Map header cells to canonical field names; errors name unknown columns.
/// A record that is one empty or blank field: a blank line, skipped.
fn is_blank_record(rec: &[String]) -> bool {
    matches!(rec, [only] if only.trim().is_empty())
}

fn map_header(
    header: &[String],
    columns: &[(&'static str, &[&str])],
) -> std::result::Result<Vec<&'static str>, String> {
    let mut seen = BTreeSet::new();
    header
        .iter()
        .map(|h| {
            let h = h.trim().to_lowercase();
            let field = columns
                .iter()
                .find(|(_, names)| names.iter().any(|n| n.to_lowercase() == h))
                .map(|(f, _)| *f)
                .ok_or_else(|| {
                    format!(
                        "unknown column `{h}` (known: {})",
                        columns
                            .iter()
                            .map(|(f, n)| format!("{f}/{}", n.get(1).unwrap_or(f)))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                })?;
            if !seen.insert(field) {
                return Err(format!("column `{field}` appears twice"));
            }
            Ok(field)
        })
        .collect()
}

/// An exported list: column names and one JSON object per document.
#[derive(Debug, Clone)]
pub struct ExportTable {
    /// Column names (the English field names, which import also reads).
    pub columns: Vec<&'static str>,
    /// One object per document, string values.
    pub rows: Vec<serde_json::Map<String, serde_json::Value>>,
}

impl ExportTable {
    /// As CSV text.
    pub fn to_csv(&self) -> String {
        let rows: Vec<Vec<String>> = self
            .rows
            .iter()
            .map(|r| {
                self.columns
                    .iter()
                    .map(|c| r.get(*c).and_then(|v| v.as_str()).unwrap_or("").to_string())
                    .collect()
            })
            .collect();
        write_csv(&self.columns, &rows)
    }
}

/// A row of a file: its line (CSV) or row (spreadsheet) number and its cells by canonical
/// field name.
type Row = (usize, BTreeMap<&'static str, String>);

/// The kind of file an import reads, for the words its errors use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    /// CSV text: errors name the line.
    Csv,
    /// An Excel sheet: errors name the row.
    #[cfg_attr(not(feature = "sheets"), allow(dead_code))]
    Xlsx,
}

impl Source {
    fn unit(self) -> &'static str {
        match self {
            Source::Csv => "line",
            Source::Xlsx => "row",
        }
    }
}

/// What an import saved.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CsvImport {
    /// The new documents, in file order.
    pub created: Vec<(DocId, String)>,
}

/// The names a CSV import may create: not empty, not already in the workspace, not twice
/// in the file.
struct NewNames {
    what: &'static str,
    unit: &'static str,
    existing: BTreeSet<String>,
    seen: BTreeMap<String, usize>,
}

impl NewNames {
    fn new(ws: &Workspace, kind: DocKind, what: &'static str, src: Source) -> Result<Self> {
        Ok(NewNames {
            what,
            unit: src.unit(),
            existing: ws
                .list(&Filter::default().kind(kind))?
                .into_iter()
                .map(|l| l.summary.name)
                .collect(),
            seen: BTreeMap::new(),
        })
    }

    /// The row's name, or why it cannot be created.
    fn admit<'r>(
        &mut self,
        line: usize,
        row: &'r BTreeMap<&str, String>,
    ) -> Result<&'r str, String> {
        let what = self.what;
        let name = cell(row, "name").ok_or_else(|| "the name is empty".to_string())?;
        if self.existing.contains(name) {
            return Err(format!("{what} `{name}` already exists"));
        }
        if let Some(prev) = self.seen.insert(name.to_string(), line) {
            return Err(format!(
                "{what} `{name}` already appears on {} {prev}",
                self.unit
            ));
        }
        Ok(name)
    }
}

fn cell<'a>(row: &'a BTreeMap<&str, String>, f: &str) -> Option<&'a str> {
    row.get(f).map(|s| s.trim()).filter(|s| !s.is_empty())
}

/// The line number an error message starts with (`line N: ...`), for sorting.
fn line_of(e: &str) -> usize {
    e.strip_prefix("line ")
        .or_else(|| e.strip_prefix("row "))
        .and_then(|r| r.split(':').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

fn check_phone(p: &str) -> bool {
    let ascii: String = p
        .chars()
        .map(fieldcrm_model::money::fullwidth_to_ascii)
        .collect();
    ascii.chars().filter(|c| c.is_ascii_digit()).count() >= 5
        && ascii
            .chars()
            .all(|c| c.is_ascii_digit() || "+-() ".contains(c))
}

impl Workspace {
    /// The rows of a parsed file under its header: each row's cells by field name, and
    /// the rows whose width does not match the header.
    fn rows_of(
        &self,
        records: Vec<(usize, Vec<String>)>,
        columns: &[(&'static str, &[&str])],
        src: Source,
    ) -> Result<(Vec<Row>, Vec<String>)> {
        let unit = src.unit();
        let mut records = records.into_iter();
        let Some((_, header)) = records.next() else {
            return Err(Error::invalid(format!(
                "the file is empty (expected a header {unit})"
            )));
        };
        let fields =
            map_header(&header, columns).map_err(|e| Error::invalid(format!("{unit} 1: {e}")))?;
        if !fields.contains(&"name") {
            return Err(Error::invalid(format!(
                "{unit} 1: no name column (名称 or name)"
            )));
        }
        let mut out = Vec::new();
        let mut errors = Vec::new();
        for (line, mut rec) in records {
            // A spreadsheet row may end early (its last cells empty) or carry empty cells
            // past the header; CSV rows must match the header exactly.
            if src == Source::Xlsx && rec.len() != fields.len() {
                let past = rec.get(fields.len()..).unwrap_or_default();
                if past.iter().all(|c| c.trim().is_empty()) {
                    rec.resize(fields.len(), String::new());
                }
            }
            if rec.len() != fields.len() {
                errors.push(format!(
                    "{unit} {line}: {} fields, the header has {}",
                    rec.len(),
                    fields.len()
                ));
                continue;
            }
            out.push((line, fields.iter().copied().zip(rec).collect()));
        }
        Ok((out, errors))
    }

    /// Import customers from CSV text (all or nothing). `now` stamps the new files.
    pub fn import_customers_csv(&self, text: &str, now: Millis) -> Result<CsvImport> {
        let records = parse_csv(text).map_err(Error::invalid)?;
        self.import_customers(records, Source::Csv, now)
    }

    /// Import channels from CSV text (all or nothing).
    pub fn import_channels_csv(&self, text: &str, now: Millis) -> Result<CsvImport> {
        let records = parse_csv(text).map_err(Error::invalid)?;
        self.import_channels(records, Source::Csv, now)
    }

    /// Import customers from a file's records, the first one the header (all or
    /// nothing). `now` stamps the new files.
    pub(crate) fn import_customers(
        &self,
        records: Vec<(usize, Vec<String>)>,
        src: Source,
        now: Millis,
    ) -> Result<CsvImport> {
        let me = self.me()?;
        let (rows, errors) = self.rows_of(records, CUSTOMER_COLUMNS, src)?;
        let mut names = NewNames::new(self, DocKind::Customer, "customer", src)?;
        let device = self.device();
        self.save_rows(rows, errors, src.unit(), |line, row| {
            let name = names.admit(line, row)?;
            let mut c = Customer::new(name, now);
            c.credit_code = cell(row, "credit_code").map(Into::into);
            c.industry = cell(row, "industry").map(Into::into);
            c.region = cell(row, "region").map(Into::into);
            c.address = cell(row, "address").map(Into::into);
            if let Some(t) = cell(row, "class") {
                match t.parse::<CustomerClass>() {
                    Ok(k) if !matches!(k, CustomerClass::Unknown(_)) => c.class = Some(k),
                    _ => {
                        return Err(format!(
                            "class `{t}` is not one of {}",
                            CustomerClass::expected()
                        ));
                    }
                }
            }
            if let Some(t) = cell(row, "annual_value") {
                match parse_yuan(t) {
                    Ok(v) if v >= 0 => c.annual_value = Some(v),
                    Ok(_) => {
                        return Err(format!("annual value `{t}` is negative"));
                    }
                    Err(e) => {
                        return Err(format!("annual value: {e}"));
                    }
                }
            }
            let owner = match cell(row, "owner") {
                Some(t) => match self.resolve_user(&me.roster, t) {
                    Ok(uid) => uid,
                    Err(e) => {
                        return Err(format!("owner: {e}"));
                    }
                },
                None => me.user_id.clone(),
            };
            if owner != me.user_id && me.require(Authority::AssignOwner).is_err() {
                return Err(format!(
                    "{} ({}) may not assign a customer to another user",
                    me.user.name, me.user.role
                ));
            }
            c.team = cell(row, "team")
                .map(Into::into)
                .or_else(|| me.roster.users.get(&owner).and_then(|u| u.team.clone()));
            c.owner = Some(owner);
            let phone = cell(row, "phone");
            let email = cell(row, "email");
            if let Some(p) = phone
                && !check_phone(p)
            {
                return Err(format!("`{p}` is not a phone number"));
            }
            if let Some(e) = email
                && !e.contains('@')
            {
                return Err(format!("`{e}` is not an email address"));
            }
            match cell(row, "contact") {
                Some(cn) => {
                    c.contacts.insert(
                        new_entity_id(),
                        Contact {
                            name: cn.to_string(),
                            title: None,
                            phone: phone.map(Into::into),
                            email: email.map(Into::into),
                            created_at: now,
                        },
                    );
                }
                None if phone.is_some() || email.is_some() => {
                    return Err("a phone or email needs a contact name".into());
                }
                None => {}
            }
            // Every text the document gets is the name or a cell: checked here rather
            // than in the built change (which costs more than building it).
            let texts = CUSTOMER_TEXTS
                .iter()
                .filter_map(|&(col, field)| Some((field, cell(row, col)?)));
            for (field, text) in std::iter::once(("name", name)).chain(texts) {
                crate::input::check_text(field, text).map_err(|e| e.to_string())?;
            }
            let mut d = Document::create(
                DocId::random(),
                &device,
                now,
                &c,
                &format!("导入客户 import customer {name}"),
            )
            .map_err(|e| e.to_string())?;
            let summary = c.summary(d.latest_change_time());
            Ok((NewDoc::new(d, summary), name.to_string()))
        })
    }

    /// Build each row's document with `make` and save them as they are made, in one
    /// durable transaction that holds a few documents in memory at a time (a 100,000-row
    /// file needs no more memory than a small one). Every row is checked; if any fails,
    /// every error is listed by line and nothing is saved.
    ///
    /// Two stages run at once: one thread checks the rows and builds their documents
    /// while this one signs, indexes and writes the ones already built.
    fn save_rows(
        &self,
        rows: Vec<Row>,
        errors: Vec<String>,
        unit: &str,
        mut make: impl FnMut(
            usize,
            &BTreeMap<&'static str, String>,
        ) -> std::result::Result<(NewDoc, String), String>
        + Send,
    ) -> Result<CsvImport> {
        let errors = std::cell::RefCell::new(errors);
        let mut created = Vec::new();
        let committed = std::thread::scope(|s| {
            // Handed over a few at a time: a wake-up per document costs more than the
            // hand-over itself.
            const BATCH: usize = 16;
            let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<_>>(8);
            s.spawn(move || {
                let mut batch = Vec::with_capacity(BATCH);
                for (line, row) in rows {
                    batch.push(make(line, &row).map_err(|m| format!("{unit} {line}: {m}")));
                    // The writer stopped (it failed): nothing more to build.
                    if batch.len() == BATCH
                        && tx
                            .send(std::mem::replace(&mut batch, Vec::with_capacity(BATCH)))
                            .is_err()
                    {
                        return;
                    }
                }
                let _ = tx.send(batch);
            });
            let docs = rx.into_iter().flatten().filter_map(|made| match made {
                // After the first error rows are still checked but no longer saved.
                Ok((d, name)) if errors.borrow().is_empty() => {
                    created.push((d.doc().id().clone(), name));
                    Some(d)
                }
                Ok(_) => None,
                Err(m) => {
                    errors.borrow_mut().push(m);
                    None
                }
            });
            // The new files' claims are written by the next sync (see claims.rs).
            self.store()
                .save_stream(docs, || errors.borrow().is_empty())
                .map_err(fieldcrm_store::Error::from)
        })?;
        if !committed {
            let mut errors = errors.into_inner();
            errors.sort_by_key(|e| line_of(e));
            return Err(Error::invalid(format!(
                "{}\nnothing was imported",
                errors.join("\n")
            )));
        }
        Ok(CsvImport { created })
    }

    /// Import channels from a file's records, the first one the header (all or nothing).
    pub(crate) fn import_channels(
        &self,
        records: Vec<(usize, Vec<String>)>,
        src: Source,
        now: Millis,
    ) -> Result<CsvImport> {
        let me = self.me()?;
        me.require(Authority::ChannelCreate)?;
        let (rows, errors) = self.rows_of(records, CHANNEL_COLUMNS, src)?;
        let mut names = NewNames::new(self, DocKind::Channel, "channel", src)?;
        let device = self.device();
        self.save_rows(rows, errors, src.unit(), |line, row| {
            let name = names.admit(line, row)?;
            let kind = match cell(row, "kind").map(|k| k.parse::<ChannelKind>()) {
                Some(Ok(k)) if !matches!(k, ChannelKind::Unknown(_)) => k,
                Some(_) => {
                    return Err(format!(
                        "kind `{}` is not one of {}",
                        cell(row, "kind").unwrap_or(""),
                        ChannelKind::expected()
                    ));
                }
                None => {
                    return Err("the kind (类型) is empty".into());
                }
            };
            let mut c = Channel::new(name, kind, now);
            c.region = cell(row, "region").map(Into::into);
            if let Some(l) = cell(row, "lines") {
                for line in l.split([';', '；', '、', '，', '|', ',']) {
                    let line = line.trim();
                    if !line.is_empty() {
                        c.product_lines.insert(line.to_string(), true);
                    }
                }
            }
            let owner = match cell(row, "owner") {
                Some(t) => match self.resolve_user(&me.roster, t) {
                    Ok(uid) => uid,
                    Err(e) => {
                        return Err(format!("owner: {e}"));
                    }
                },
                None => me.user_id.clone(),
            };
            c.owner = Some(owner);
            let mut d = Document::create(
                DocId::random(),
                &device,
                now,
                &c,
                &format!("导入渠道 import channel {name}"),
            )
            .map_err(|e| e.to_string())?;
            crate::input::check_text_sizes(&mut d).map_err(|e| e.to_string())?;
            let summary = d.summary().map_err(|e| e.to_string())?;
            Ok((NewDoc::new(d, summary), name.to_string()))
        })
    }

    /// The rows of a customer or channel export: column names and one JSON object per
    /// document this device's user may read (tombstones left out). Money in yuan text,
    /// owners by name.
    pub fn export_rows(&self, kind: &DocKind) -> Result<ExportTable> {
        let me = self.me()?;
        let rows = self.list(&Filter::default().kind(kind.clone()))?;
        let owner_name = |o: &Option<String>| {
            o.as_deref()
                .map(|o| {
                    me.roster
                        .users
                        .get(o)
                        .map(|u| u.name.clone())
                        .unwrap_or_else(|| o.to_string())
                })
                .unwrap_or_default()
        };
        let mut out = Vec::new();
        let header: Vec<&'static str> = match kind {
            DocKind::Customer => CUSTOMER_COLUMNS.iter().take(10).map(|(f, _)| *f).collect(),
            DocKind::Channel => CHANNEL_COLUMNS.iter().map(|(f, _)| *f).collect(),
            other => return Err(Error::invalid(format!("cannot export {other} documents"))),
        };
        for l in rows {
            if !can_read(&me.roster, &me.user_id, &l.summary) {
                continue;
            }
            let doc = self.load(&l.id)?;
            let mut m = serde_json::Map::new();
            let s = |v: Option<String>| serde_json::Value::String(v.unwrap_or_default());
            m.insert("id".into(), s(Some(l.id.to_string())));
            match kind {
                DocKind::Customer => {
                    let c: Customer = doc.hydrate()?;
                    m.insert("name".into(), s(Some(c.name)));
                    m.insert("credit_code".into(), s(c.credit_code));
                    m.insert("industry".into(), s(c.industry));
                    m.insert("region".into(), s(c.region));
                    m.insert("address".into(), s(c.address));
                    m.insert("class".into(), s(c.class.map(|k| k.to_string())));
                    m.insert("annual_value".into(), s(c.annual_value.map(format_yuan)));
                    m.insert("owner".into(), s(Some(owner_name(&c.owner))));
                    m.insert("team".into(), s(c.team));
                }
                _ => {
                    let c: Channel = doc.hydrate()?;
                    m.insert("name".into(), s(Some(c.name)));
                    m.insert("kind".into(), s(Some(c.channel_kind.to_string())));
                    m.insert("region".into(), s(c.region));
                    m.insert(
                        "lines".into(),
                        s(Some(
                            c.product_lines
                                .keys()
                                .cloned()
                                .collect::<Vec<_>>()
                                .join(";"),
                        )),
                    );
                    m.insert("owner".into(), s(Some(owner_name(&c.owner))));
                }
            }
            out.push(m);
        }
        Ok(ExportTable {
            columns: header,
            rows: out,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_parses_bom_quotes_and_line_numbers() {
        let text = "\u{feff}名称,地址\r\n华东机械,\"上海市, 浦东\"\r\n\r\n\"多行\n名称\",\"说\"\"好\"\"\"\n末行,x";
        let recs = parse_csv(text).unwrap();
        assert_eq!(recs.len(), 4);
        assert_eq!(recs[0], (1, vec!["名称".to_string(), "地址".to_string()]));
        assert_eq!(recs[1].1[1], "上海市, 浦东");
        assert_eq!(recs[2].0, 4);
        assert_eq!(
            recs[2].1,
            vec!["多行\n名称".to_string(), "说\"好\"".to_string()]
        );
        assert_eq!(recs[3].0, 6);
        assert!(parse_csv("a,\"b\n").is_err());
    }

    #[test]
    fn csv_round_trips() {
        let rows = vec![vec![
            "a,b".to_string(),
            "说\"好\"".to_string(),
            "华东".to_string(),
        ]];
        let text = write_csv(&["x", "y", "z"], &rows);
        let back = parse_csv(&text).unwrap();
        assert_eq!(back[1].1, rows[0]);
    }

    #[test]
    fn header_mapping_accepts_chinese_and_english() {
        let h: Vec<String> = ["名称", "Region", " 年销售额 "]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(
            map_header(&h, CUSTOMER_COLUMNS).unwrap(),
            vec!["name", "region", "annual_value"]
        );
        let bad: Vec<String> = vec!["名称".into(), "颜色".into()];
        assert!(
            map_header(&bad, CUSTOMER_COLUMNS)
                .unwrap_err()
                .contains("颜色")
        );
    }
}
