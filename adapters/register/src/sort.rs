//! Sorting an extract by company, in bounded memory, for a file that does not list each
//! company's lines together.
//!
//! The data lines are read in chunks of at most [`CHUNK_BYTES`], each chunk is sorted by its
//! lines' first field (the company's orgnr) and written to a temporary run file, and the runs
//! are merged. Lines keep their physical line numbers, and lines of the same company keep
//! their order, so rejects and reports name the lines of the original file.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::path::Path;

use crate::reader::RegisterReader;

/// The most line bytes held in memory while sorting.
pub const CHUNK_BYTES: usize = 64 << 20;

/// One data line of a run.
#[derive(PartialEq, Eq, PartialOrd, Ord, Debug)]
struct Entry {
    key: Vec<u8>,
    line_no: u64,
    bytes: Vec<u8>,
}

fn key_of(bytes: &[u8]) -> Vec<u8> {
    bytes.split(|b| *b == b';').next().unwrap_or(bytes).to_vec()
}

fn write_entry(out: &mut impl Write, line_no: u64, bytes: &[u8]) -> io::Result<()> {
    let len = u32::try_from(bytes.len()).map_err(|_| io::Error::other("a line of over 4 GiB"))?;
    out.write_all(&line_no.to_le_bytes())?;
    out.write_all(&len.to_le_bytes())?;
    out.write_all(bytes)
}

fn read_entry(input: &mut impl Read) -> io::Result<Option<Entry>> {
    let mut head = [0u8; 12];
    match input.read_exact(&mut head) {
        Ok(()) => {}
        Err(error) if error.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(error) => return Err(error),
    }
    let (line, len) = head.split_at(8);
    let line_no = u64::from_le_bytes(line.try_into().map_err(io::Error::other)?);
    let len = u32::from_le_bytes(len.try_into().map_err(io::Error::other)?);
    let mut bytes = vec![0; len as usize];
    input.read_exact(&mut bytes)?;
    Ok(Some(Entry {
        key: key_of(&bytes),
        line_no,
        bytes,
    }))
}

/// The data lines of `input`, sorted by company (then by line number), read back from runs
/// written into `dir`. The runs are removed when the result is dropped.
///
/// # Errors
/// When reading the input or writing the runs fails.
pub fn sort_by_company(
    input: impl BufRead,
    dir: &Path,
    chunk_bytes: usize,
) -> io::Result<SortedLines> {
    let mut reader = RegisterReader::new(input);
    let mut runs = Vec::new();
    let mut chunk: Vec<Entry> = Vec::new();
    let mut held = 0usize;
    let mut flush = |chunk: &mut Vec<Entry>| -> io::Result<()> {
        chunk.sort_unstable();
        let mut run = tempfile::tempfile_in(dir)?;
        {
            let mut out = BufWriter::with_capacity(1 << 16, &mut run);
            for entry in chunk.drain(..) {
                write_entry(&mut out, entry.line_no, &entry.bytes)?;
            }
            out.flush()?;
        }
        io::Seek::rewind(&mut run)?;
        runs.push(BufReader::with_capacity(1 << 16, run));
        Ok(())
    };
    while let Some((line_no, bytes)) = reader.next_raw()? {
        held += bytes.len() + 64;
        chunk.push(Entry {
            key: key_of(bytes),
            line_no,
            bytes: bytes.to_vec(),
        });
        if held >= chunk_bytes {
            flush(&mut chunk)?;
            held = 0;
        }
    }
    if !chunk.is_empty() {
        flush(&mut chunk)?;
    }
    let mut heap = BinaryHeap::with_capacity(runs.len());
    for (index, run) in runs.iter_mut().enumerate() {
        if let Some(entry) = read_entry(run)? {
            heap.push(Reverse((entry, index)));
        }
    }
    Ok(SortedLines { runs, heap })
}

/// Sorted data lines, merged from the runs.
#[derive(Debug)]
pub struct SortedLines {
    runs: Vec<BufReader<File>>,
    heap: BinaryHeap<Reverse<(Entry, usize)>>,
}

impl SortedLines {
    /// The next line and its number in the original file.
    ///
    /// # Errors
    /// When reading a run fails.
    pub fn next_line(&mut self) -> io::Result<Option<(u64, Vec<u8>)>> {
        let Some(Reverse((entry, index))) = self.heap.pop() else {
            return Ok(None);
        };
        if let Some(next) = read_entry(&mut self.runs[index])? {
            self.heap.push(Reverse((next, index)));
        }
        Ok(Some((entry.line_no, entry.bytes)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    fn sorted(input: &str, chunk_bytes: usize) -> Vec<(u64, String)> {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut lines = sort_by_company(input.as_bytes(), dir.path(), chunk_bytes).expect("sorted");
        let mut out = Vec::new();
        while let Some((n, bytes)) = lines.next_line().expect("line") {
            out.push((n, String::from_utf8(bytes).expect("utf-8")));
        }
        out
    }

    #[rstest]
    #[case::one_run(1 << 20)]
    #[case::a_run_per_line(1)]
    #[case::runs_of_two(150)]
    fn lines_are_grouped_by_company_in_file_order(#[case] chunk_bytes: usize) {
        let input = "\u{feff}Orgnr;Selskap\r\n2;b1\n1;a1\n\n2;b2\r\n1;a2\n3;c1\n1;a3";
        assert_eq!(
            sorted(input, chunk_bytes),
            [
                (3, "1;a1".to_owned()),
                (6, "1;a2".to_owned()),
                (8, "1;a3".to_owned()),
                (2, "2;b1".to_owned()),
                (5, "2;b2".to_owned()),
                (7, "3;c1".to_owned()),
            ]
        );
    }

    #[test]
    fn an_empty_file_has_no_lines() {
        assert!(sorted("", 10).is_empty());
    }
}
