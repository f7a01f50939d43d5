//! Name search as a rep types: Chinese characters, pinyin or pinyin initials.
//!
//! Pure (no IO): [`SearchIndex::build`] prepares, once per list of summary rows, three
//! strings per name, and every [`SearchIndex::search`] is one linear scan over them with a
//! few `str` comparisons per row (5–10 ms per keystroke at 100,000 names on one core
//! of a small machine; `cargo test --release -p fieldcrm-workspace --lib search_speed --
//! --ignored --nocapture` measures it).
//!
//! - **name key**: the name lower-cased, full-width forms folded to half-width (`ＡＢＣ１２`
//!   → `abc12`, the ideographic space to a space), traditional characters converted to
//!   simplified (`廣州` → `广州`) and white space removed;
//! - **pinyin**: the full spelling of the key without tones or spaces
//!   (`华东机电` → `huadongjidian`; ASCII letters and digits kept, other signs dropped);
//! - **initials**: the first letter of each syllable (`hdjd`), ASCII letters and digits kept.
//!
//! A query is normalized the same way. It matches a name when it is a substring of the name
//! key, or (for a query of ASCII letters and digits only, spaces and apostrophes ignored, so
//! `huadong jidian` and `xi'an` work) a substring of the pinyin or of the initials.
//! Results are ranked: exact name, name prefix, name substring, initials prefix, pinyin
//! prefix, any other pinyin/initials substring; then the shorter name, then row order.
//! A query containing Chinese characters is never compared as pinyin, so `张伟` does
//! not find the homophone `章伟`.
//!
//! Crates: [`pinyin`](https://crates.io/crates/pinyin) (MIT, data from pinyin-data) without
//! its `heteronym` feature, so each character has its most common reading (重庆 is
//! spelled `zhongqing`); [`fast2s`](https://crates.io/crates/fast2s) (MIT, a compact
//! character table with context rules) for traditional → simplified, through
//! `fieldcrm_policy::normalize::text`, the folding duplicate detection uses.
//!
//! The index holds whatever rows it is given (filter out merged-away files first if the
//! page should not show them).

use fieldcrm_model::DocId;
use pinyin::ToPinyin;

use crate::Listed;

/// One prepared name.
#[derive(Debug, Clone)]
struct Entry {
    /// Normalized name (see the module docs).
    key: Box<str>,
    /// Full pinyin, no tones, no separators.
    pinyin: Box<str>,
    /// Pinyin initials.
    initials: Box<str>,
    /// Length of the key in characters (shorter names rank first within a tier).
    chars: u32,
}

impl Entry {
    fn new(name: &str) -> Entry {
        let key = normalize(name);
        let mut pinyin = String::with_capacity(key.len() * 2);
        let mut initials = String::with_capacity(key.len());
        for c in key.chars() {
            if c.is_ascii_alphanumeric() {
                pinyin.push(c);
                initials.push(c);
            } else if let Some(p) = c.to_pinyin() {
                let plain = p.plain();
                for (i, ch) in plain.chars().enumerate() {
                    let ch = if ch == 'ü' { 'v' } else { ch };
                    pinyin.push(ch);
                    if i == 0 {
                        initials.push(ch);
                    }
                }
            }
        }
        Entry {
            chars: u32::try_from(key.chars().count()).unwrap_or(u32::MAX),
            key: key.into_boxed_str(),
            pinyin: pinyin.into_boxed_str(),
            initials: initials.into_boxed_str(),
        }
    }
}

/// A prepared query.
struct Query {
    /// Normalized like a name key.
    key: String,
    /// The query as pinyin letters (ASCII letters and digits only), if it is one.
    spell: Option<String>,
}

impl Query {
    fn new(query: &str) -> Option<Query> {
        let key = normalize(query);
        if key.is_empty() {
            return None;
        }
        let letters: String = key
            .chars()
            .filter(|c| !matches!(c, '\'' | '’' | '-' | '·'))
            .map(|c| if c == 'ü' { 'v' } else { c })
            .collect();
        let spell = (!letters.is_empty() && letters.chars().all(|c| c.is_ascii_alphanumeric()))
            .then_some(letters);
        Some(Query { key, spell })
    }

    /// Rank tier of `e` for this query (lower is better), or `None` if it does not match.
    fn tier(&self, e: &Entry) -> Option<u8> {
        let key: &str = &e.key;
        if let Some(pos) = key.find(self.key.as_str()) {
            return Some(if pos > 0 {
                2
            } else if key.len() == self.key.len() {
                0
            } else {
                1
            });
        }
        let spell = self.spell.as_deref()?;
        if e.initials.starts_with(spell) {
            Some(3)
        } else if e.pinyin.starts_with(spell) {
            Some(4)
        } else if e.initials.contains(spell) || e.pinyin.contains(spell) {
            Some(5)
        } else {
            None
        }
    }
}

/// The search key of a name or query: folded, simplified, without white space. The one
/// folding duplicate detection and claim keys use too ([`fieldcrm_policy::normalize::text`]).
pub fn normalize(text: &str) -> String {
    fieldcrm_policy::normalize::text(text)
}

/// Does `name` match `query` (the same test as [`SearchIndex::search`])? An empty query
/// matches nothing.
pub fn matches(name: &str, query: &str) -> bool {
    Query::new(query)
        .map(|q| q.tier(&Entry::new(name)).is_some())
        .unwrap_or(false)
}

/// Names prepared for search, built once from summary rows (see the module docs).
#[derive(Debug, Clone, Default)]
pub struct SearchIndex {
    ids: Vec<DocId>,
    entries: Vec<Entry>,
}

impl SearchIndex {
    /// Prepare the names of `rows` (their `summary.name`).
    pub fn build(rows: &[Listed]) -> SearchIndex {
        Self::from_names(rows.iter().map(|r| (r.id.clone(), r.summary.name.as_str())))
    }

    /// Prepare `(ID, name)` pairs.
    pub fn from_names<'a>(names: impl IntoIterator<Item = (DocId, &'a str)>) -> SearchIndex {
        let mut index = SearchIndex::default();
        for (id, name) in names {
            index.ids.push(id);
            index.entries.push(Entry::new(name));
        }
        index
    }

    /// Number of names.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// No names?
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The IDs of at most `limit` matching names, best first. An empty query (or one of
    /// only white space) finds nothing.
    pub fn search(&self, query: &str, limit: usize) -> Vec<DocId> {
        self.positions(query, limit)
            .into_iter()
            .filter_map(|i| self.ids.get(i).cloned())
            .collect()
    }

    /// Where the at most `limit` matching names are in what the index was built from,
    /// best first.
    pub fn positions(&self, query: &str, limit: usize) -> Vec<usize> {
        let Some(q) = Query::new(query) else {
            return Vec::new();
        };
        if limit == 0 {
            return Vec::new();
        }
        let mut hits: Vec<(u8, u32, usize)> = Vec::new();
        for (i, e) in self.entries.iter().enumerate() {
            if let Some(t) = q.tier(e) {
                hits.push((t, e.chars, i));
            }
        }
        if hits.len() > limit {
            hits.select_nth_unstable(limit - 1);
            hits.truncate(limit);
        }
        hits.sort_unstable();
        hits.iter().map(|&(_, _, i)| i).collect()
    }
}

/// Summary rows with their name-search index: a hit is its row, found without a lookup
/// by ID through every row.
#[derive(Debug)]
pub struct RowSearch {
    index: SearchIndex,
    rows: Vec<Listed>,
}

impl RowSearch {
    /// Index these rows.
    pub fn new(rows: Vec<Listed>) -> RowSearch {
        RowSearch {
            index: SearchIndex::build(&rows),
            rows,
        }
    }

    /// The rows of at most `limit` matching names, best first.
    pub fn search(&self, query: &str, limit: usize) -> Vec<&Listed> {
        self.index
            .positions(query, limit)
            .into_iter()
            .filter_map(|i| self.rows.get(i))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index(names: &[&str]) -> (SearchIndex, Vec<DocId>) {
        let ids: Vec<DocId> = (0..names.len()).map(|_| DocId::random()).collect();
        let idx = SearchIndex::from_names(ids.iter().cloned().zip(names.iter().copied()));
        (idx, ids)
    }

    fn found(idx: &SearchIndex, ids: &[DocId], names: &[&str], q: &str) -> Vec<String> {
        idx.search(q, 50)
            .iter()
            .map(|id| {
                let i = ids.iter().position(|x| x == id).unwrap();
                names[i].to_string()
            })
            .collect()
    }

    #[test]
    fn initials_full_pinyin_and_spaces() {
        assert!(matches("华东机电", "hdjd"));
        assert!(matches("华东机电", "HDJD"));
        assert!(matches("华东机电", "huadongjidian"));
        assert!(matches("华东机电", "huadong jidian"));
        assert!(matches("华东机电", "jidian"));
        assert!(matches("华东机电", "dj"));
        assert!(matches("华东机电有限公司", "华东"));
        assert!(!matches("华东机电", "hdjx"));
        assert!(!matches("华东机电", "华南"));
        assert!(matches("西安电子", "xi'an"));
        assert!(matches("绿源", "lvyuan"));
    }

    #[test]
    fn traditional_and_simplified_find_each_other() {
        assert!(matches("广州贸易", "廣州"));
        assert!(matches("廣州貿易", "广州"));
        assert!(matches("廣州貿易", "gzmy"));
        assert!(matches("臺灣電子", "台湾电子"));
    }

    #[test]
    fn full_width_forms_fold() {
        assert!(matches("ＡＢＣ科技", "abc"));
        assert!(matches("ABC科技", "ＡＢＣ"));
        assert!(matches("3M中国", "３ｍ"));
        assert!(matches("华东　机电", "华东机电"));
        assert!(matches("ABC科技", "abckj"));
    }

    #[test]
    fn odd_queries_do_not_panic() {
        let names = ["华东机电", "😀公司", "", "  ", "（上海）贸易"];
        let (idx, ids) = index(&names);
        for q in [
            "",
            " ",
            "　",
            "😀",
            "😀😀",
            "'",
            "-",
            "\u{0}",
            "é",
            "ß",
            "İ",
            "（",
            "上海）",
        ] {
            let _ = idx.search(q, 10);
            let _ = matches("华东机电", q);
        }
        assert!(idx.search("", 10).is_empty());
        assert!(idx.search("   ", 10).is_empty());
        assert_eq!(found(&idx, &ids, &names, "😀"), ["😀公司"]);
        assert_eq!(found(&idx, &ids, &names, "shanghai"), ["（上海）贸易"]);
        assert!(idx.search("hdjd", 0).is_empty());
    }

    #[test]
    fn ranking_tiers() {
        let names = [
            "东华机电",         // no match
            "上海华东机电",     // name substring
            "华东机电有限公司", // name prefix
            "华东机电",         // exact
            "华东",             // no match
        ];
        let (idx, ids) = index(&names);
        assert_eq!(
            found(&idx, &ids, &names, "华东机电"),
            ["华东机电", "华东机电有限公司", "上海华东机电"]
        );
        // Initials prefix before pinyin prefix before other.
        let names = ["黄岛", "华东机电", "海都", "上海华东"];
        let (idx, ids) = index(&names);
        // "hd": initials prefix of 黄岛 (hd), 华东机电 (hdjd), 海都 (hd); initials
        // substring of 上海华东 (shhd).
        assert_eq!(
            found(&idx, &ids, &names, "hd"),
            ["黄岛", "海都", "华东机电", "上海华东"]
        );
        // "hua": pinyin prefix of 黄岛 (huangdao) and 华东机电, substring of 上海华东.
        assert_eq!(
            found(&idx, &ids, &names, "hua"),
            ["黄岛", "华东机电", "上海华东"]
        );
    }

    #[test]
    fn a_row_search_gives_the_rows_themselves() {
        let rows: Vec<Listed> = ["苏州精密仪器", "华东机电有限公司", "華東機電貿易"]
            .iter()
            .map(|n| Listed {
                id: DocId::random(),
                summary: fieldcrm_model::Document::create(
                    DocId::random(),
                    &fieldcrm_model::DeviceKey([1; 32]),
                    0,
                    &fieldcrm_model::Customer::new((*n).to_string(), 0),
                    "t",
                )
                .unwrap()
                .summary()
                .unwrap(),
            })
            .collect();
        let search = RowSearch::new(rows.clone());
        let hits: Vec<&str> = search
            .search("hdjd", 10)
            .iter()
            .map(|l| l.summary.name.as_str())
            .collect();
        // The shorter name ranks first; the traditional one is found too.
        assert_eq!(hits, ["華東機電貿易", "华东机电有限公司"]);
        assert_eq!(search.search("hdjd", 1)[0].id, rows[2].id);
        assert!(search.search("  ", 10).is_empty());
    }

    #[test]
    fn limit_keeps_the_best() {
        let mut names: Vec<String> = (0..500).map(|i| format!("华东机电{i}分公司")).collect();
        names.push("华东机电".into());
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let (idx, ids) = index(&refs);
        let got = found(&idx, &ids, &refs, "hdjd");
        assert_eq!(got.len(), 50);
        assert_eq!(got[0], "华东机电");
        let got = idx.search("华东机电", 3);
        assert_eq!(got.len(), 3);
        assert_eq!(got[0], ids[500]);
    }

    #[test]
    fn chinese_queries_are_not_compared_as_pinyin() {
        assert!(!matches("章伟贸易", "张伟"));
        assert!(matches("章伟贸易", "zhangwei"));
    }

    /// `cargo test --release -p fieldcrm-workspace --lib search_speed -- --ignored --nocapture`
    #[test]
    #[ignore = "benchmark; run in release"]
    fn search_speed_at_100k_names() {
        const CITIES: [&str; 12] = [
            "上海", "北京", "广州", "深圳", "杭州", "苏州", "南京", "成都", "武汉", "西安", "廣州",
            "臺北",
        ];
        const WORDS: [&str; 16] = [
            "华东",
            "精密",
            "机电",
            "电气",
            "贸易",
            "科技",
            "新材料",
            "自动化",
            "仪器",
            "传感",
            "东方",
            "恒通",
            "鑫源",
            "宏达",
            "博远",
            "智能",
        ];
        const SUFFIX: [&str; 4] = ["有限公司", "股份有限公司", "集团", "（分公司）"];
        let mut seed: u64 = 42;
        let mut next = |n: usize| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) as usize % n
        };
        let names: Vec<String> = (0..100_000)
            .map(|i| {
                format!(
                    "{}{}{}{}{}",
                    CITIES[next(CITIES.len())],
                    WORDS[next(WORDS.len())],
                    WORDS[next(WORDS.len())],
                    if i % 7 == 0 {
                        format!("{}", i % 100)
                    } else {
                        String::new()
                    },
                    SUFFIX[next(SUFFIX.len())]
                )
            })
            .collect();
        let t = std::time::Instant::now();
        let idx = SearchIndex::from_names(names.iter().map(|n| (DocId::random(), n.as_str())));
        let build = t.elapsed();
        println!("build 100,000 names: {build:?}");
        let mut worst = std::time::Duration::ZERO;
        for typed in [
            "huadongjidian",
            "hdjd",
            "华东机电",
            "廣州精密",
            "shanghai dian",
            "zz",
        ] {
            let mut q = String::new();
            for c in typed.chars() {
                q.push(c);
                let t = std::time::Instant::now();
                let hits = idx.search(&q, 50);
                let e = t.elapsed();
                worst = worst.max(e);
                println!("  {q:<16} {e:>10.2?}  {} hit(s) shown", hits.len());
            }
        }
        println!("worst keystroke: {worst:?}");
        assert!(worst.as_millis() <= 30, "slower than 30 ms per keystroke");
    }
}
