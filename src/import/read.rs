//! Reading an export as the quality systems write them: CSV with `;` or `,` (quoted newlines
//! included) in UTF-8 or Windows-1252, or an XLSX sheet whose header may span merged rows.
//! Rows are streamed from CSV, so a million of them do not sit in memory.

use std::io::{Cursor, Read};
use std::path::PathBuf;

use calamine::{Data, Reader};
use encoding_rs::Encoding;

use super::mapping::{self, FileOptions};

/// Where the export is: a file (the command line) or its bytes (the admin API).
#[derive(Debug, Clone)]
pub enum Source {
    Path(PathBuf),
    Bytes { name: String, bytes: std::sync::Arc<Vec<u8>> },
}

impl Source {
    pub fn name(&self) -> String {
        match self {
            Source::Path(p) => p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
            Source::Bytes { name, .. } => name.clone(),
        }
    }

    fn reader(&self) -> std::io::Result<Box<dyn Read + Send>> {
        Ok(match self {
            Source::Path(p) => Box::new(std::io::BufReader::with_capacity(1 << 16, std::fs::File::open(p)?)),
            Source::Bytes { bytes, .. } => Box::new(Cursor::new(ArcBytes(bytes.clone()))),
        })
    }

    fn head(&self) -> std::io::Result<Vec<u8>> {
        let mut head = Vec::new();
        self.reader()?.take(64 * 1024).read_to_end(&mut head)?;
        Ok(head)
    }
}

struct ArcBytes(std::sync::Arc<Vec<u8>>);

impl AsRef<[u8]> for ArcBytes {
    fn as_ref(&self) -> &[u8] {
        self.0.as_slice()
    }
}

/// One data row: its line in the file (CSV: where the record starts; XLSX: the sheet's row) and
/// its cells as text.
#[derive(Debug, Clone)]
pub struct Row {
    pub line: u64,
    pub cells: Vec<String>,
    /// A cell that is not text in the file's encoding: the row is refused, by this column.
    pub undecodable: Option<usize>,
}

pub struct Table {
    pub headers: Vec<String>,
    pub rows: Box<dyn Iterator<Item = Result<Row, String>> + Send>,
}

pub fn open(source: &Source, options: &FileOptions) -> Result<Table, String> {
    let head = source.head().map_err(|e| format!("Kunne ikke lese filen: {e}"))?;
    if head.starts_with(b"PK\x03\x04") {
        xlsx(source, options)
    } else {
        csv(source, options, &head)
    }
}

fn csv(source: &Source, options: &FileOptions, head: &[u8]) -> Result<Table, String> {
    let bom = head.starts_with(b"\xEF\xBB\xBF");
    let encoding = match &options.encoding {
        Some(name) => mapping::encoding(name).ok_or_else(|| format!("Ukjent tegnkoding «{name}»."))?,
        None if bom => encoding_rs::UTF_8,
        None => match std::str::from_utf8(head) {
            Ok(_) => encoding_rs::UTF_8,
            // A character cut off at the end of the sample is still UTF-8.
            Err(e) if e.error_len().is_none() => encoding_rs::UTF_8,
            Err(_) => encoding_rs::WINDOWS_1252,
        },
    };
    let delimiter = match options.delimiter {
        Some(d) => d as u8,
        None => {
            let first = head.split(|b| *b == b'\n').next().unwrap_or_default();
            let count = |c: u8| first.iter().filter(|b| **b == c).count();
            [b';', b',', b'\t'].into_iter().max_by_key(|c| count(*c)).unwrap_or(b';')
        }
    };
    let mut reader = source.reader().map_err(|e| format!("Kunne ikke lese filen: {e}"))?;
    if bom {
        let mut skip = [0u8; 3];
        reader.read_exact(&mut skip).map_err(|e| e.to_string())?;
    }
    let mut records = ::csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .from_reader(reader)
        .into_byte_records();
    let decode = move |bytes: &[u8]| decode(encoding, bytes);
    let mut header_rows = Vec::new();
    for i in 0..options.skip_rows + options.header_rows() {
        match records.next() {
            Some(Ok(r)) if i >= options.skip_rows => {
                header_rows.push(r.iter().map(|c| decode(c).unwrap_or_default()).collect())
            }
            Some(Ok(_)) => {}
            Some(Err(e)) => return Err(csv_error(&e)),
            None => return Err("Filen har ingen overskriftsrad.".into()),
        }
    }
    let headers = join_headers(header_rows);
    let rows = records.map(move |r| {
        let r = r.map_err(|e| csv_error(&e))?;
        let line = r.position().map_or(0, |p| p.line());
        let mut undecodable = None;
        let cells = r
            .iter()
            .enumerate()
            .map(|(i, c)| {
                decode(c).unwrap_or_else(|| {
                    undecodable.get_or_insert(i);
                    String::new()
                })
            })
            .collect();
        Ok(Row { line, cells, undecodable })
    });
    Ok(Table { headers, rows: Box::new(rows.filter(|r| !matches!(r, Ok(row) if blank(row)))) })
}

fn decode(encoding: &'static Encoding, bytes: &[u8]) -> Option<String> {
    if encoding == encoding_rs::UTF_8 {
        std::str::from_utf8(bytes).ok().map(str::to_owned)
    } else {
        Some(encoding.decode_without_bom_handling(bytes).0.into_owned())
    }
}

fn csv_error(e: &::csv::Error) -> String {
    match e.position() {
        Some(p) => format!("Filen kan ikke leses som CSV fra linje {}.", p.line()),
        None => "Filen kan ikke leses som CSV.".into(),
    }
}

fn blank(row: &Row) -> bool {
    row.undecodable.is_none() && row.cells.iter().all(|c| c.trim().is_empty())
}

/// Each column named by its header cells from top to bottom, the empty ones left out.
fn join_headers(rows: Vec<Vec<String>>) -> Vec<String> {
    let width = rows.iter().map(Vec::len).max().unwrap_or(0);
    (0..width)
        .map(|i| {
            let mut parts: Vec<&str> =
                rows.iter().filter_map(|r| r.get(i)).map(|c| c.trim()).filter(|c| !c.is_empty()).collect();
            // A cell merged downwards fills each of its rows: one name, not "Løpenr / Løpenr".
            parts.dedup();
            parts.join(" / ").trim_start_matches('\u{feff}').to_owned()
        })
        .collect()
}

fn xlsx(source: &Source, options: &FileOptions) -> Result<Table, String> {
    let unreadable = |e: calamine::XlsxError| format!("Filen kan ikke leses som XLSX: {e}");
    let mut book = match source {
        Source::Path(p) => {
            calamine::open_workbook::<calamine::Xlsx<_>, _>(p).map(|b| Book::File(Box::new(b))).map_err(unreadable)?
        }
        Source::Bytes { bytes, .. } => calamine::Xlsx::new(Cursor::new(ArcBytes(bytes.clone())))
            .map(|b| Book::Memory(Box::new(b)))
            .map_err(unreadable)?,
    };
    let (range, merged) = book.sheet(options.sheet.as_deref())?;
    let (top, left) = range.start().unwrap_or((0, 0));
    let width = range.width();
    let text = |r: usize, c: usize| range.get((r, c)).map(cell).unwrap_or_default();
    let mut header_rows = Vec::new();
    let first_header = options.skip_rows;
    for r in first_header..first_header + options.header_rows() {
        let mut row: Vec<String> = (0..width).map(|c| text(r, c)).collect();
        // A merged cell holds its text in its first cell only; give it to every column it covers.
        for m in &merged {
            let (sr, sc) = (m.start.0 as usize, m.start.1 as usize);
            let (er, ec) = (m.end.0 as usize, m.end.1 as usize);
            let abs = r + top as usize;
            if sr <= abs && abs <= er {
                let value = range.get_value((m.start.0, m.start.1)).map(cell).unwrap_or_default();
                for c in sc..=ec {
                    if let Some(slot) = c.checked_sub(left as usize).and_then(|i| row.get_mut(i)) {
                        *slot = value.clone();
                    }
                }
            }
        }
        header_rows.push(row);
    }
    let headers = join_headers(header_rows);
    let data_start = first_header + options.header_rows();
    let rows: Vec<Result<Row, String>> = range
        .rows()
        .enumerate()
        .skip(data_start)
        .map(|(i, r)| {
            Ok(Row { line: (i + top as usize + 1) as u64, cells: r.iter().map(cell).collect(), undecodable: None })
        })
        .filter(|r| !matches!(r, Ok(row) if blank(row)))
        .collect();
    Ok(Table { headers, rows: Box::new(rows.into_iter()) })
}

enum Book {
    File(Box<calamine::Xlsx<std::io::BufReader<std::fs::File>>>),
    Memory(Box<calamine::Xlsx<Cursor<ArcBytes>>>),
}

type Merged = Vec<calamine::Dimensions>;

impl Book {
    fn sheet(&mut self, name: Option<&str>) -> Result<(calamine::Range<Data>, Merged), String> {
        fn pick<R: std::io::Read + std::io::Seek>(
            b: &mut calamine::Xlsx<R>,
            name: Option<&str>,
        ) -> Result<(calamine::Range<Data>, Merged), String> {
            let names = b.sheet_names();
            let name = match name {
                Some(n) if names.iter().any(|s| s == n) => n.to_owned(),
                Some(n) => return Err(format!("Arket «{n}» finnes ikke; arkene er: {}.", names.join(", "))),
                None => names.first().cloned().ok_or("Filen har ingen ark.")?,
            };
            let range = b.worksheet_range(&name).map_err(|e| format!("Arket «{name}» kan ikke leses: {e}"))?;
            let merged = b
                .worksheet_merge_cells(&name)
                .transpose()
                .map_err(|e| format!("Arket «{name}» kan ikke leses: {e}"))?
                .unwrap_or_default();
            Ok((range, merged))
        }
        match self {
            Book::File(b) => pick(b, name),
            Book::Memory(b) => pick(b, name),
        }
    }
}

/// A cell as the export shows it; dates as ISO, which the import always reads.
fn cell(d: &Data) -> String {
    match d {
        Data::Empty => String::new(),
        Data::String(s) => s.clone(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        Data::Float(f) => f.to_string(),
        Data::Int(i) => i.to_string(),
        Data::Bool(b) => b.to_string(),
        Data::DateTime(dt) => match dt.as_datetime() {
            Some(t) if t.time() == chrono::NaiveTime::MIN => t.date().to_string(),
            Some(t) => t.format("%Y-%m-%d %H:%M").to_string(),
            None => dt.to_string(),
        },
        Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::Error(_) => String::new(),
    }
}
