//! Excel files (.xlsx): customers and channels out and in, and the manager's reports out.
//! The CLI (`export --format xlsx`, `customer import FILE.xlsx`, `report … --format
//! xlsx`) and the web app's reports page call these, so a sheet is written one way.
//!
//! Export writes every customer or channel cell as text, so a credit code, a phone number
//! or an amount comes back exactly as it went out. Import reads the first sheet with the
//! same columns, checks and all-or-nothing saving as the CSV import (`import.rs`); a cell
//! holding an Excel error (`#N/A`) or a date where text was expected is refused by its row
//! and column.
//!
//! An .xlsx file is unpacked whole into memory (CSV is read as it comes), so an import
//! refuses, before reading any cell, a file over [`XLSX_MAX_BYTES`] and a first sheet
//! that declares more than [`XLSX_MAX_ROWS`] rows; a sheet that declares no size is
//! counted as it is read and refused the same way, before any document is built.

use std::io::Cursor;

use calamine::{Data, Reader, Xlsx};
use fieldcrm_model::{Lang, Millis};
use rust_xlsxwriter::{Format, Workbook, XlsxError};

use crate::import::Source;
use crate::input::Clock;
use crate::{CsvImport, Error, ExportTable, Msg, Reports, Result, Workspace};

/// One cell to write.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// Text, written as text (never read as a number or a date by Excel).
    Text(String),
    /// A number (amounts in yuan, counts, shares).
    Number(f64),
}

impl From<&str> for Cell {
    fn from(s: &str) -> Self {
        Cell::Text(s.to_string())
    }
}

impl From<String> for Cell {
    fn from(s: String) -> Self {
        Cell::Text(s)
    }
}

/// One worksheet: a name, a header row and data rows.
#[derive(Debug, Clone, PartialEq)]
pub struct Sheet {
    /// The tab's name (at most 31 characters, no `[]:*?/\`).
    pub name: String,
    /// Column titles.
    pub header: Vec<String>,
    /// Data rows.
    pub rows: Vec<Vec<Cell>>,
}

impl Sheet {
    /// As CSV text (numbers as Excel would show them unformatted).
    pub fn to_csv(&self) -> String {
        let rows: Vec<Vec<String>> = self
            .rows
            .iter()
            .map(|r| {
                r.iter()
                    .map(|c| match c {
                        Cell::Text(t) => t.clone(),
                        Cell::Number(n) => number_text(*n),
                    })
                    .collect()
            })
            .collect();
        let header: Vec<&str> = self.header.iter().map(String::as_str).collect();
        crate::write_csv(&header, &rows)
    }
}

fn xlsx_error(e: XlsxError) -> Error {
    Error::invalid(format!("cannot write the Excel file: {e}"))
}

/// An .xlsx file holding these sheets, the header rows in bold and frozen.
pub fn write_xlsx(sheets: &[Sheet]) -> Result<Vec<u8>> {
    let mut wb = Workbook::new();
    let bold = Format::new().set_bold();
    for sheet in sheets {
        let ws = wb.add_worksheet();
        ws.set_name(&sheet.name).map_err(xlsx_error)?;
        for (col, title) in (0u16..).zip(&sheet.header) {
            ws.write_string_with_format(0, col, title, &bold)
                .map_err(xlsx_error)?;
            let width = title.chars().count().clamp(8, 40);
            ws.set_column_width(col, u32::try_from(width).unwrap_or(8) + 4)
                .map_err(xlsx_error)?;
        }
        for (row, cells) in (1u32..).zip(&sheet.rows) {
            for (col, cell) in (0u16..).zip(cells) {
                match cell {
                    Cell::Text(t) => ws.write_string(row, col, t),
                    Cell::Number(n) => ws.write_number(row, col, *n),
                }
                .map_err(xlsx_error)?;
            }
        }
        ws.set_freeze_panes(1, 0).map_err(xlsx_error)?;
    }
    wb.save_to_buffer().map_err(xlsx_error)
}

/// The largest .xlsx file an import reads: 64 MiB on disk (a workbook of 200,000 customer
/// rows is about 20 MiB).
pub const XLSX_MAX_BYTES: u64 = 64 * 1024 * 1024;

/// The most rows an imported sheet may have, the header row included.
pub const XLSX_MAX_ROWS: u64 = 200_000;

/// Refuse an .xlsx file of `len` bytes (`file` names it) over [`XLSX_MAX_BYTES`]: the
/// CLI asks before it reads the file, an import asks again of the bytes it is given.
pub fn check_xlsx_size(file: &str, len: u64) -> Result<()> {
    check_size(file, len, XLSX_MAX_BYTES)
}

fn check_size(file: &str, len: u64, limit: u64) -> Result<()> {
    if len <= limit {
        return Ok(());
    }
    let (mib, limit_mib) = (len.div_ceil(1 << 20), limit >> 20);
    Err(Error::Invalid(Msg::new(
        format!(
            "Excel 文件 {file} 有 {mib} MiB，超过导入上限 {limit_mib} MiB：请拆分成多个文件，\
             或另存为 CSV 导入；未导入任何数据"
        ),
        format!(
            "the Excel file {file} is {mib} MiB, over the import limit of {limit_mib} MiB: \
             split it into several files or save it as CSV; nothing was imported"
        ),
    )))
}

/// Refuse a sheet of `rows` rows (`file` names it) over `limit`.
fn check_rows(file: &str, rows: u64, limit: u64) -> Result<()> {
    if rows <= limit {
        return Ok(());
    }
    Err(Error::Invalid(Msg::new(
        format!(
            "Excel 文件 {file} 的第一个工作表有 {rows} 行，超过导入上限 {limit} 行：\
             请拆分成多个文件，或另存为 CSV 导入；未导入任何数据"
        ),
        format!(
            "the first sheet of the Excel file {file} has {rows} rows, over the import \
             limit of {limit} rows: split it into several files or save it as CSV; nothing \
             was imported"
        ),
    )))
}

/// Excel's name of a column: 0 → A, 26 → AA.
pub fn column_name(mut col: usize) -> String {
    let mut out = Vec::new();
    loop {
        out.push(char::from(b'A' + u8::try_from(col % 26).unwrap_or(0)));
        if col < 26 {
            break;
        }
        col = col / 26 - 1;
    }
    out.iter().rev().collect()
}

/// Every sheet of an .xlsx file as text cells, by sheet name (rows from row 1, columns
/// from A, empty cells as empty text). A cell holding an error or a date is refused by
/// its sheet, row and column.
pub fn read_xlsx(bytes: &[u8]) -> Result<Vec<(String, Vec<Vec<String>>)>> {
    let mut wb = open_xlsx(bytes)?;
    let mut out = Vec::new();
    for name in wb.sheet_names() {
        let rows = read_sheet(&mut wb, &name)?;
        out.push((name, rows));
    }
    Ok(out)
}

type Book<'a> = Xlsx<Cursor<&'a [u8]>>;

fn open_xlsx(bytes: &[u8]) -> Result<Book<'_>> {
    Xlsx::new(Cursor::new(bytes))
        .map_err(|e| Error::invalid(format!("not a valid Excel (.xlsx) file: {e}")))
}

/// One sheet as text cells (see [`read_xlsx`]).
fn read_sheet(wb: &mut Book<'_>, name: &str) -> Result<Vec<Vec<String>>> {
    let range = wb
        .worksheet_range(name)
        .map_err(|e| Error::invalid(format!("sheet `{name}` cannot be read: {e}")))?;
    let (top, left) = range.start().unwrap_or((0, 0));
    let left = usize::try_from(left).unwrap_or(0);
    // Rows above the used range are empty.
    let mut rows = vec![Vec::new(); usize::try_from(top).unwrap_or(0)];
    for (r, cells) in range.rows().enumerate() {
        let row_no = usize::try_from(top).unwrap_or(0) + r + 1;
        let mut row = vec![String::new(); left];
        for (c, cell) in cells.iter().enumerate() {
            let at = || format!("row {row_no}, column {}", column_name(left + c));
            row.push(match cell {
                Data::Empty => String::new(),
                Data::String(s) => s.clone(),
                Data::Int(i) => i.to_string(),
                Data::Float(f) => number_text(*f),
                Data::Bool(b) => if *b { "TRUE" } else { "FALSE" }.to_string(),
                Data::Error(e) => {
                    return Err(Error::invalid(format!(
                        "{}: the cell holds an Excel error ({e}); nothing was imported",
                        at()
                    )));
                }
                Data::DateTime(_) | Data::DateTimeIso(_) | Data::DurationIso(_) => {
                    return Err(Error::invalid(format!(
                        "{}: a date or time where text was expected (format the column as \
                         text); nothing was imported",
                        at()
                    )));
                }
            });
        }
        rows.push(row);
    }
    Ok(rows)
}

/// A number cell as the text a person typed: `200000000`, not `200000000.0`.
fn number_text(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e15 {
        format!("{f:.0}")
    } else {
        f.to_string()
    }
}

/// The first sheet's non-blank rows with their row numbers, for an import of `file`
/// (named in errors): a file over [`XLSX_MAX_BYTES`], or a sheet over [`XLSX_MAX_ROWS`]
/// rows, is refused.
fn first_sheet_records(file: &str, bytes: &[u8]) -> Result<Vec<(usize, Vec<String>)>> {
    check_xlsx_size(file, u64::try_from(bytes.len()).unwrap_or(u64::MAX))?;
    let mut wb = open_xlsx(bytes)?;
    let Some(name) = wb.sheet_names().into_iter().next() else {
        return Err(Error::invalid("the Excel file has no sheet"));
    };
    // The size the sheet declares (its `dimension` element), read without its cells.
    let declared = wb
        .worksheet_cells_reader(&name)
        .map(|r| r.dimensions())
        .map_err(|e| Error::invalid(format!("sheet `{name}` cannot be read: {e}")))?;
    if declared.end != (0, 0) {
        check_rows(file, u64::from(declared.end.0) + 1, XLSX_MAX_ROWS)?;
    }
    let rows = read_sheet(&mut wb, &name)?;
    check_rows(
        file,
        u64::try_from(rows.len()).unwrap_or(u64::MAX),
        XLSX_MAX_ROWS,
    )?;
    Ok((1..)
        .zip(rows)
        .filter(|(_, r)| r.iter().any(|c| !c.trim().is_empty()))
        .collect())
}

impl ExportTable {
    /// As an .xlsx file with one sheet (every cell as text, so it imports back exactly).
    pub fn to_xlsx(&self, sheet_name: &str) -> Result<Vec<u8>> {
        let rows = self
            .rows
            .iter()
            .map(|r| {
                self.columns
                    .iter()
                    .map(|c| Cell::from(r.get(*c).and_then(|v| v.as_str()).unwrap_or("")))
                    .collect()
            })
            .collect();
        write_xlsx(&[Sheet {
            name: sheet_name.to_string(),
            header: self.columns.iter().map(|c| c.to_string()).collect(),
            rows,
        }])
    }
}

impl Workspace {
    /// Import customers from the .xlsx file `file` (its name, for errors; `bytes` its
    /// content): the first sheet, all or nothing, the same columns as the CSV import.
    /// Refuses a file over [`XLSX_MAX_BYTES`] or a sheet over [`XLSX_MAX_ROWS`] rows.
    pub fn import_customers_xlsx(
        &self,
        file: &str,
        bytes: &[u8],
        now: Millis,
    ) -> Result<CsvImport> {
        self.import_customers(first_sheet_records(file, bytes)?, Source::Xlsx, now)
    }

    /// Import channels from an .xlsx file's first sheet (all or nothing, the same limits).
    pub fn import_channels_xlsx(&self, file: &str, bytes: &[u8], now: Millis) -> Result<CsvImport> {
        self.import_channels(first_sheet_records(file, bytes)?, Source::Xlsx, now)
    }
}

/// The manager's reports as sheets: target vs actual, open pipeline by stage, visits and
/// calls per rep and week, complaints. Titles in `lang`; dates in the clock's zone.
#[derive(Debug, Clone)]
pub struct ReportSheets {
    /// Target vs actual.
    pub targets: Sheet,
    /// Open pipeline by stage.
    pub pipeline: Sheet,
    /// Visits and calls per week and rep.
    pub activity: Sheet,
    /// Complaints open and closed.
    pub complaints: Sheet,
}

fn yuan_number(fen: i64) -> Cell {
    Cell::Number(fen as f64 / 100.0)
}

fn share(bp: i64) -> Cell {
    Cell::Number(bp as f64 / 10_000.0)
}

impl ReportSheets {
    /// The four report sheets of `r`.
    pub fn new(r: &Reports, clock: &Clock, lang: Lang) -> Self {
        let t = |zh: &str, en: &str| match lang {
            Lang::Zh => zh.to_string(),
            _ => en.to_string(),
        };
        let targets = Sheet {
            name: t("目标完成", "Targets"),
            header: vec![
                t("对象", "Subject"),
                t("范围", "Scope"),
                t("周期", "Period"),
                t("目标（元）", "Target (yuan)"),
                t("实际（元）", "Actual (yuan)"),
                t("完成率", "Achieved"),
                t("时间进度", "Elapsed"),
                t("进度正常", "On track"),
            ],
            rows: r
                .progress
                .iter()
                .map(|p| {
                    vec![
                        Cell::from(p.subject_name.as_str()),
                        Cell::from(p.scope.as_str()),
                        Cell::from(p.period.as_str()),
                        yuan_number(p.target),
                        yuan_number(p.actual),
                        share(p.achieved_bp),
                        share(p.elapsed_bp),
                        Cell::from(if p.on_track {
                            t("是", "yes")
                        } else {
                            t("否", "no")
                        }),
                    ]
                })
                .collect(),
        };
        let pipeline = Sheet {
            name: t("销售漏斗", "Pipeline"),
            header: vec![
                t("阶段", "Stage"),
                t("商机数", "Opportunities"),
                t("金额（元）", "Amount (yuan)"),
            ],
            rows: r
                .pipeline
                .iter()
                .map(|(stage, n, amount)| {
                    vec![
                        Cell::from(match lang {
                            Lang::Zh => stage.zh().to_string(),
                            _ => stage.to_string(),
                        }),
                        Cell::Number(*n as f64),
                        yuan_number(*amount),
                    ]
                })
                .collect(),
        };
        let activity = Sheet {
            name: t("拜访与联系", "Activity"),
            header: vec![
                t("周起始", "Week of"),
                t("销售", "Rep"),
                t("拜访与联系", "Visits and calls"),
            ],
            rows: r
                .visits
                .iter()
                .flat_map(|w| {
                    w.counts.iter().map(|(user, n)| {
                        vec![
                            Cell::from(clock.date(w.week_start)),
                            Cell::from(
                                r.users
                                    .get(user)
                                    .cloned()
                                    .unwrap_or_else(|| fieldcrm_model::short_id(user).into()),
                            ),
                            Cell::Number(*n as f64),
                        ]
                    })
                })
                .collect(),
        };
        let complaints = Sheet {
            name: t("投诉", "Complaints"),
            header: vec![t("处理中", "Open"), t("已结案", "Closed")],
            rows: vec![vec![
                Cell::Number(r.complaints_open as f64),
                Cell::Number(r.complaints_closed as f64),
            ]],
        };
        ReportSheets {
            targets,
            pipeline,
            activity,
            complaints,
        }
    }

    /// All four, in page order.
    pub fn all(self) -> Vec<Sheet> {
        vec![self.targets, self.pipeline, self.activity, self.complaints]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_names_follow_excel() {
        assert_eq!(column_name(0), "A");
        assert_eq!(column_name(25), "Z");
        assert_eq!(column_name(26), "AA");
        assert_eq!(column_name(27), "AB");
        assert_eq!(column_name(701), "ZZ");
        assert_eq!(column_name(702), "AAA");
    }

    #[test]
    fn sheets_round_trip_text_and_numbers() {
        let sheet = Sheet {
            name: "客户".into(),
            header: vec!["名称".into(), "金额".into()],
            rows: vec![
                vec![Cell::from("華東１２３😀"), Cell::Number(12.5)],
                vec![Cell::from(" 前后空格 "), Cell::Number(200_000_000.0)],
            ],
        };
        let bytes = write_xlsx(std::slice::from_ref(&sheet)).unwrap();
        let back = read_xlsx(&bytes).unwrap();
        assert_eq!(back.len(), 1);
        assert_eq!(back[0].0, "客户");
        assert_eq!(
            back[0].1,
            vec![
                vec!["名称".to_string(), "金额".into()],
                vec!["華東１２３😀".into(), "12.5".into()],
                vec![" 前后空格 ".into(), "200000000".into()],
            ]
        );
        assert!(read_xlsx(b"PK\x03\x04 not really").is_err());
    }

    #[test]
    fn an_import_over_the_limits_is_refused_naming_file_and_limit() {
        assert!(check_size("a.xlsx", 64 << 20, 64 << 20).is_ok());
        let Err(Error::Invalid(m)) = check_size("big.xlsx", (64 << 20) + 1, 64 << 20) else {
            panic!("a file over the byte limit passed");
        };
        assert!(
            m.zh.contains("big.xlsx") && m.zh.contains("上限 64 MiB"),
            "{}",
            m.zh
        );
        assert!(m.en.contains("big.xlsx is 65 MiB, over the import limit of 64 MiB"));
        assert!(check_xlsx_size("a.xlsx", XLSX_MAX_BYTES + 1).is_err());
        assert!(check_rows("a.xlsx", 3, 3).is_ok());
        let Err(Error::Invalid(m)) = check_rows("a.xlsx", 4, 3) else {
            panic!("a sheet over the row limit passed");
        };
        assert!(m.zh.contains("有 4 行，超过导入上限 3 行"), "{}", m.zh);
        assert!(m.en.contains("a.xlsx has 4 rows, over the import limit of 3 rows"));
        // A sheet that declares more rows than the limit is refused before its cells are
        // read: a header and one cell far below it.
        let mut wb = Workbook::new();
        let ws = wb.add_worksheet();
        ws.write_string(0, 0, "名称").unwrap();
        let last = u32::try_from(XLSX_MAX_ROWS).unwrap();
        ws.write_string(last, 0, "甲公司").unwrap();
        let bytes = wb.save_to_buffer().unwrap();
        let Err(Error::Invalid(m)) = first_sheet_records("c.xlsx", &bytes) else {
            panic!("a sheet over the row limit was read");
        };
        assert!(
            m.en.contains("has 200001 rows, over the import limit of 200000"),
            "{}",
            m.en
        );
        // At the limit it is read.
        let mut wb = Workbook::new();
        let ws = wb.add_worksheet();
        ws.write_string(0, 0, "名称").unwrap();
        ws.write_string(last - 1, 0, "甲公司").unwrap();
        let rows = first_sheet_records("c.xlsx", &wb.save_to_buffer().unwrap()).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[1].0, 200_000);
    }

    #[test]
    fn a_date_where_text_belongs_is_refused_by_row_and_column() {
        let mut wb = Workbook::new();
        let ws = wb.add_worksheet();
        ws.write_string(0, 0, "名称").unwrap();
        ws.write_string(0, 1, "地址").unwrap();
        ws.write_string(1, 0, "甲公司").unwrap();
        ws.write_string(2, 0, "乙公司").unwrap();
        let date = rust_xlsxwriter::ExcelDateTime::from_ymd(2026, 11, 29).unwrap();
        let fmt = Format::new().set_num_format("yyyy-mm-dd");
        ws.write_datetime_with_format(2, 1, &date, &fmt).unwrap();
        let bytes = wb.save_to_buffer().unwrap();
        let e = read_xlsx(&bytes).unwrap_err().to_string();
        assert!(e.contains("row 3, column B"), "{e}");
        assert!(e.contains("nothing was imported"), "{e}");
    }
}
