//! Skatteetaten's shareholder register extract ("aksjeeiebok"): reading it, importing it into
//! a store through [`shareholders_ports::RegisterImport`] as one year's snapshot, and generating
//! synthetic ones.
//!
//! The format: UTF-8, `;`-separated, nothing quoted, nine fields
//! (`Orgnr;Selskap;Aksjeklasse;Navn aksjonær;Fødselsår/orgnr;Postnr/sted;Landkode;Antall
//! aksjer;Antall aksjer selskap`), usually after a byte-order mark and a header, LF or CRLF.
//! [`parse_line`] documents how each field and each quirk of the real files is read.

mod generate;
mod import;
mod parse;
mod progress;
mod reader;
mod sort;

pub use generate::{GenerateStats, YearChurn, generate, generate_series, series_file_name};
pub use import::{ImportOptions, ImportOutcome, REJECTS_HEADER, import_file};
pub use parse::{FIELDS, HEADER, MAX_LINE_BYTES, Reject, parse_line, year_from_file_name};
pub use progress::Progress;
pub use reader::{Parsed, RegisterReader, parse_raw};
pub use sort::{SortedLines, sort_by_company};
