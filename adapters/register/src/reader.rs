//! Reading a whole extract, one line at a time.

use std::io::{self, BufRead, Read};

use shareholders_ports::RegisterLine;

use crate::parse::{MAX_LINE_BYTES, Reject, parse_line, too_long};

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// The most bytes of a physical line read into memory: the longest data a line may hold,
/// a byte-order mark and a CRLF ending. A longer line is kept up to one byte past
/// [`MAX_LINE_BYTES`], so that it is rejected as too long, and the rest of it skipped.
const READ_LIMIT: usize = MAX_LINE_BYTES + BOM.len() + 2;

/// What one line of the extract gave.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Parsed {
    Line(RegisterLine),
    Reject(Reject),
}

/// Streams the lines of an extract, in constant memory (one line buffer).
///
/// It skips a UTF-8 byte-order mark and a header line (a first line starting with `Orgnr;`),
/// accepts LF and CRLF line endings, and skips blank lines silently. Line numbers are physical,
/// 1-based, and count the header. A line that is not UTF-8 or longer than
/// [`MAX_LINE_BYTES`] becomes a [`Reject`] (a long line is never held whole: memory stays
/// bounded by [`MAX_LINE_BYTES`] whatever the file); only a read error of the underlying
/// reader is an `Err`, after which the reader yields nothing more.
#[derive(Debug)]
pub struct RegisterReader<R: BufRead> {
    inner: R,
    buffer: Vec<u8>,
    line_no: u64,
    bytes_read: u64,
    data_lines: u64,
    done: bool,
}

impl<R: BufRead> RegisterReader<R> {
    pub fn new(inner: R) -> Self {
        Self {
            inner,
            buffer: Vec::with_capacity(512),
            line_no: 0,
            bytes_read: 0,
            data_lines: 0,
            done: false,
        }
    }

    /// Bytes consumed so far, line endings, BOM and header included: progress against the
    /// file's size.
    #[must_use]
    pub fn bytes_read(&self) -> u64 {
        self.bytes_read
    }

    /// The number of the last line read (physical, 1-based).
    #[must_use]
    pub fn line_number(&self) -> u64 {
        self.line_no
    }

    /// Data lines yielded so far (understood or rejected; not the header or blank lines).
    #[must_use]
    pub fn data_lines(&self) -> u64 {
        self.data_lines
    }

    /// The next data line, raw, with its number: the BOM, a header and blank lines are
    /// skipped, and the line ending is cut off. A line longer than [`MAX_LINE_BYTES`] is cut
    /// one byte past it (the rest is skipped), so that [`parse_raw`] rejects it.
    ///
    /// # Errors
    /// When the underlying reader fails.
    pub fn next_raw(&mut self) -> io::Result<Option<(u64, &[u8])>> {
        loop {
            self.buffer.clear();
            let read = (&mut self.inner)
                .take(READ_LIMIT as u64)
                .read_until(b'\n', &mut self.buffer)?;
            if read == 0 {
                return Ok(None);
            }
            self.bytes_read += read as u64;
            self.line_no += 1;
            let whole = read < READ_LIMIT || self.buffer.ends_with(b"\n");
            if !whole {
                self.bytes_read += self.skip_line()?;
            }
            let (start, end) = data_span(&self.buffer, self.line_no == 1, whole);
            if start == end {
                continue;
            }
            self.data_lines += 1;
            return Ok(Some((self.line_no, &self.buffer[start..end])));
        }
    }

    /// Skips the rest of a line, its line ending included; the bytes skipped.
    fn skip_line(&mut self) -> io::Result<u64> {
        let mut skipped = 0u64;
        loop {
            let available = match self.inner.fill_buf() {
                Ok(available) => available,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                Err(error) => return Err(error),
            };
            if available.is_empty() {
                return Ok(skipped);
            }
            let (used, found) = match available.iter().position(|b| *b == b'\n') {
                Some(at) => (at + 1, true),
                None => (available.len(), false),
            };
            self.inner.consume(used);
            skipped += used as u64;
            if found {
                return Ok(skipped);
            }
        }
    }
}

/// The span of a physical line that holds data: without its line ending, and on the first
/// line without a byte-order mark; empty for a header or a blank line. A line that was not
/// read whole keeps its last byte (it has no line ending) and is cut one byte past
/// [`MAX_LINE_BYTES`].
fn data_span(line: &[u8], first: bool, whole: bool) -> (usize, usize) {
    let mut bytes = line;
    if whole {
        if let Some(rest) = bytes.strip_suffix(b"\n") {
            bytes = rest;
        }
        if let Some(rest) = bytes.strip_suffix(b"\r") {
            bytes = rest;
        }
    }
    let mut start = 0;
    if first {
        if bytes.starts_with(BOM) {
            start = BOM.len();
        }
        let rest = &bytes[start..];
        if rest.len() >= 6 && rest[..6].eq_ignore_ascii_case(b"orgnr;") {
            return (0, 0);
        }
    }
    if whole && bytes[start..].iter().all(u8::is_ascii_whitespace) {
        return (0, 0);
    }
    (start, bytes.len().min(start + MAX_LINE_BYTES + 1))
}

/// One data line, understood or rejected: a line longer than [`MAX_LINE_BYTES`] is rejected
/// as such, one that is not UTF-8 as such, any other as [`parse_line`] says.
#[must_use]
pub fn parse_raw(line_no: u64, bytes: &[u8]) -> Parsed {
    if bytes.len() > MAX_LINE_BYTES {
        return Parsed::Reject(too_long(line_no, bytes));
    }
    match std::str::from_utf8(bytes) {
        Ok(text) => match parse_line(line_no, text) {
            Ok(line) => Parsed::Line(line),
            Err(reject) => Parsed::Reject(reject),
        },
        Err(error) => Parsed::Reject(Reject {
            line: line_no,
            reason: format!("not UTF-8: {error}"),
            raw: String::from_utf8_lossy(bytes).into_owned(),
        }),
    }
}

impl<R: BufRead> Iterator for RegisterReader<R> {
    type Item = io::Result<Parsed>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.next_raw() {
            Ok(Some((line_no, bytes))) => Some(Ok(parse_raw(line_no, bytes))),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(error) => {
                self.done = true;
                Some(Err(error))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    const ROW_1: &str = "988844322;TVIST 1 AS;A-aksjer;HAGEN STEIN ERIK;1956;0790 OSLO;NOR;3;120";
    const ROW_2: &str = "988844322;TVIST 1 AS;B-aksjer;KJOS CAROLINE MARIE HAGEN;1984;;CHE;117;120";

    fn read(bytes: &[u8]) -> Vec<Parsed> {
        RegisterReader::new(bytes)
            .collect::<io::Result<Vec<_>>>()
            .expect("no I/O error")
    }

    fn line_numbers(parsed: &[Parsed]) -> Vec<(u64, bool)> {
        parsed
            .iter()
            .map(|p| match p {
                Parsed::Line(line) => (line.line, true),
                Parsed::Reject(reject) => (reject.line, false),
            })
            .collect()
    }

    /// (file contents, expected (line number, understood) pairs)
    #[rstest]
    #[case::plain_lf(format!("{ROW_1}\n{ROW_2}\n"), vec![(1, true), (2, true)])]
    #[case::no_final_newline(format!("{ROW_1}\n{ROW_2}"), vec![(1, true), (2, true)])]
    #[case::crlf(format!("{ROW_1}\r\n{ROW_2}\r\n"), vec![(1, true), (2, true)])]
    #[case::bom_and_header(format!("\u{feff}{}\r\n{ROW_1}\r\n{ROW_2}\r\n", crate::HEADER), vec![(2, true), (3, true)])]
    #[case::header_without_bom(format!("{}\n{ROW_1}\n", crate::HEADER), vec![(2, true)])]
    #[case::bom_without_header(format!("\u{feff}{ROW_1}\n{ROW_2}\n"), vec![(1, true), (2, true)])]
    #[case::blank_lines_skipped(format!("{ROW_1}\n\n  \r\n{ROW_2}\n\n"), vec![(1, true), (4, true)])]
    #[case::reject_keeps_going(format!("{ROW_1}\n123456789;X;A;B;1956;;NOR;1;1\n{ROW_2}\n"), vec![(1, true), (2, false), (3, true)])]
    #[case::header_only_first(format!("{ROW_1}\n{}\n", crate::HEADER), vec![(1, true), (2, false)])]
    fn framing(#[case] contents: String, #[case] expected: Vec<(u64, bool)>) {
        assert_eq!(line_numbers(&read(contents.as_bytes())), expected);
    }

    #[test]
    fn invalid_utf8_is_a_reject_not_an_error() {
        let mut bytes = format!("{ROW_1}\n").into_bytes();
        bytes.extend_from_slice(b"988844322;TVIST 1 AS;A-aksjer;S\xD8RLI;1981;;NOR;1;120\n");
        bytes.extend_from_slice(format!("{ROW_2}\n").as_bytes());
        let parsed = read(&bytes);
        assert_eq!(
            line_numbers(&parsed),
            vec![(1, true), (2, false), (3, true)]
        );
        let Parsed::Reject(reject) = &parsed[1] else {
            panic!("reject expected")
        };
        assert!(reject.reason.contains("UTF-8"));
        assert!(reject.raw.contains("S\u{fffd}RLI"));
    }

    #[test]
    fn counts_bytes_and_lines() {
        let contents = format!("\u{feff}{}\r\n{ROW_1}\r\n{ROW_2}\n", crate::HEADER);
        let mut reader = RegisterReader::new(contents.as_bytes());
        assert_eq!(reader.by_ref().count(), 2);
        assert_eq!(reader.bytes_read(), contents.len() as u64);
        assert_eq!(reader.line_number(), 3);
        assert_eq!(reader.data_lines(), 2);
    }

    struct Failing;
    impl io::Read for Failing {
        fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
            Err(io::Error::other("disk on fire"))
        }
    }

    #[test]
    fn a_read_error_ends_the_stream() {
        let mut reader = RegisterReader::new(io::BufReader::new(Failing));
        assert!(matches!(reader.next(), Some(Err(_))));
        assert!(reader.next().is_none());
    }
}
