//! A corpus of nasty lines (`tests/corpus/`, real bytes: NUL, invalid UTF-8, CR, BOM…) and a
//! few generated ones too large to check in: each is read as an import reads it, and gives
//! exactly the lines and rejects written here.

use std::io::Cursor;
use std::path::PathBuf;

use rstest::rstest;
use shareholders_domain::{BirthYear, ShareCount};
use shareholders_ports::RegisterHolder;
use shareholders_register::{
    MAX_LINE_BYTES, Parsed, RegisterReader, parse_line, parse_raw, sort_by_company,
};

/// One outcome as a line of text: `line: holder | number | postal code | place | country |
/// class | shares of total`, or `line: rejected: reason`.
fn outcome(parsed: &Parsed) -> String {
    match parsed {
        Parsed::Reject(reject) => format!("{}: rejected: {}", reject.line, reject.reason),
        Parsed::Line(line) => {
            let (name, number, code, place, country) = match &line.holder {
                RegisterHolder::Organisation(o) => (
                    o.name(),
                    o.orgnr().to_string(),
                    o.postal_code(),
                    o.place(),
                    o.country(),
                ),
                RegisterHolder::Person(p) => (
                    p.name(),
                    p.birth_year()
                        .map(BirthYear::get)
                        .map(|y| y.to_string())
                        .unwrap_or_default(),
                    p.postal_code(),
                    p.place(),
                    p.country(),
                ),
            };
            format!(
                "{}: {} {name} | {number} | {} | {} | {} | {} | {} of {}",
                line.line,
                line.company.orgnr(),
                code.map(|c| c.as_str()).unwrap_or("-"),
                place.map(|p| p.as_str()).unwrap_or("-"),
                country.alpha2(),
                line.share_class,
                line.shares.get(),
                line.company
                    .total_shares()
                    .map_or_else(|| "?".to_owned(), |t| ShareCount::get(t).to_string()),
            )
        }
    }
}

/// The outcomes of a whole file, read straight through.
fn read(bytes: &[u8]) -> Vec<String> {
    RegisterReader::new(Cursor::new(bytes))
        .map(|parsed| outcome(&parsed.expect("in memory")))
        .collect()
}

/// The outcomes of a whole file read as an ungrouped one is, sorted by company first, put
/// back in line order: they are the same.
fn read_sorted(bytes: &[u8]) -> Vec<String> {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut lines = sort_by_company(Cursor::new(bytes), dir.path(), 256).expect("sorted");
    let mut parsed = Vec::new();
    while let Some((line_no, raw)) = lines.next_line().expect("a run") {
        parsed.push(parse_raw(line_no, &raw));
    }
    parsed.sort_by_key(|parsed| match parsed {
        Parsed::Line(line) => line.line,
        Parsed::Reject(reject) => reject.line,
    });
    parsed.iter().map(outcome).collect()
}

fn corpus(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/corpus")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[rstest]
#[case::nul_bytes(
    "nul-bytes.csv",
    &[
        "1: rejected: holder name must not contain control characters or text-direction overrides",
        "2: rejected: 1 fields, at least 9 expected (semicolon-separated)",
        "3: rejected: company orgnr \"988844322\\0\": an organisation number has 9 digits, not 10 characters",
        "4: rejected: share count \"3\\0\": not a whole number",
        "5: rejected: company orgnr \"\\0\": an organisation number has 9 digits, not 1 characters",
        "6: 988844322 HAGEN STEIN ERIK | 1956 | 0790 | OSLO | NO | A-aksjer | 3 of 120",
    ]
)]
#[case::invalid_utf8(
    "invalid-utf8.csv",
    &[
        "1: rejected: not UTF-8: invalid utf-8 sequence of 1 bytes from index 31",
        "2: rejected: not UTF-8: invalid utf-8 sequence of 1 bytes from index 57",
        "3: rejected: not UTF-8: incomplete utf-8 byte sequence from index 60",
        "4: rejected: not UTF-8: invalid utf-8 sequence of 1 bytes from index 0",
        "5: rejected: not UTF-8: invalid utf-8 sequence of 1 bytes from index 41",
        "6: 988844322 HAGEN STEIN ERIK | 1956 | 0790 | OSLO | NO | A-aksjer | 3 of 120",
    ]
)]
#[case::numbers_past_the_limits(
    "numbers-past-the-limits.csv",
    &[
        "1: 988844322 HAGEN | 1956 | 0790 | OSLO | NO | A-aksjer | 9223372036854775807 of ?",
        "2: rejected: share count \"9223372036854775808\": a share count must be at most 9223372036854775807",
        "3: rejected: share count \"18446744073709551616\": too large",
        "4: rejected: company total \"18446744073709551615\": a share count must be at most 9223372036854775807",
        "5: rejected: company total \"999999999999999999999999999999999999999…\" (41 bytes): too large",
        "6: rejected: birth year/orgnr \"-9223372036854775808\": neither a year nor an orgnr",
        "7: rejected: birth year/orgnr \"65536\": 5 digits, neither a year (4) nor an orgnr (9)",
        "8: rejected: birth year \"0000\": a birth year is between 1800 and 2100, not 0",
        "9: rejected: share count \"+3\": not a whole number",
        "10: rejected: share count \"3e2\": not a whole number",
        "11: rejected: share count \"٣\": not a whole number",
        "12: rejected: share count \"３\": not a whole number",
        "13: rejected: share count \"3 000\": not a whole number",
        "14: 988844322 HAGEN | 1956 | 0790 | OSLO | NO | A-aksjer | 3 of 120",
    ]
)]
#[case::empty_lines_and_separators(
    "empty-lines-and-separators.csv",
    &[
        "3: rejected: company orgnr \"\": an organisation number has 9 digits, not 0 characters",
        "4: rejected: 2 fields, at least 9 expected (semicolon-separated)",
        "7: rejected: company orgnr \"\": an organisation number has 9 digits, not 0 characters",
        "9: 988844322 HAGEN STEIN ERIK | 1956 | 0790 | OSLO | NO | A-aksjer | 3 of 120",
    ]
)]
#[case::crlf_bom_header_no_final_newline(
    "crlf-bom-header-no-final-newline.csv",
    &[
        "2: 988844322 HAGEN STEIN ERIK | 1956 | 0790 | OSLO | NO | A-aksjer | 3 of 120",
        "3: 988844322 KJOS CAROLINE | 1984 | - | - | CH | B-aksjer | 117 of 120",
        "4: 988844322 KJOS CAROLINE | 1984 | - | - | CH | B-aksjer | 117 of 120",
        "5: 988844322 SMITH JOHN | 1970 | - | 1 HIGH ST;LONDON | GB | A-aksjer | 5 of 120",
    ]
)]
#[case::bom_and_header_out_of_place(
    "bom-and-header-out-of-place.csv",
    &[
        "1: 988844322 HAGEN STEIN ERIK | 1956 | 0790 | OSLO | NO | A-aksjer | 3 of 120",
        "2: rejected: company orgnr \"\\u{feff}988844322\": an organisation number has 9 digits, not 10 characters",
        "3: rejected: company orgnr \"Orgnr\": an organisation number has 9 digits, not 5 characters",
        "4: rejected: 1 fields, at least 9 expected (semicolon-separated)",
    ]
)]
#[case::control_and_odd_characters(
    "control-and-odd-characters.csv",
    &[
        "1: 988844322 HAGEN STEIN ERIK | 1956 | 0790 | OSLO | NO | A-aksjer | 3 of 120",
        "2: rejected: holder name must not contain control characters or text-direction overrides",
        "3: rejected: holder name must not contain control characters or text-direction overrides",
        "4: rejected: share class: a share class must not contain control characters or text-direction overrides",
        "5: 988844322 HAGEN STEIN | 1956 | 0790 | OSLO | NO | A-aksjer | 3 of 120",
        "6: rejected: country \"NØR\": not an ISO 3166-1 alpha-2 or alpha-3 code",
        "7: 988844322 \"\"\" | 1956 | - | \"0790 OSLO\" | NO | A-aksjer | 3 of 120",
        "8: rejected: company orgnr \"\\\"988844322\\\"\": an organisation number has 9 digits, not 11 characters",
    ]
)]
fn every_corpus_file_gives_exactly_its_lines_and_rejects(
    #[case] file: &str,
    #[case] expected: &[&str],
) {
    let bytes = corpus(file);
    let outcomes = read(&bytes);
    assert_eq!(outcomes, expected);
    assert_eq!(read_sorted(&bytes), expected, "sorted first");
}

const GOOD: &str = "988844322;TVIST 1 AS;A-aksjer;HAGEN STEIN ERIK;1956;0790 OSLO;NOR;3;120";
const GOOD_OUTCOME: &str =
    "988844322 HAGEN STEIN ERIK | 1956 | 0790 | OSLO | NO | A-aksjer | 3 of 120";
const TOO_LONG: &str = "rejected: line longer than 65536 bytes";

/// A line of `len` bytes that says what [`GOOD`] says, its holder name padded with spaces
/// (which fold away).
fn padded(len: usize) -> String {
    let (head, tail) = GOOD.split_at(GOOD.find("STEIN").expect("a name"));
    let spaces = len - GOOD.len();
    format!("{head}{}{tail}", " ".repeat(spaces))
}

/// A megabyte line between two good ones, with and without a line ending after it: the long
/// line is a reject (its raw text cut at the limit), and the lines around it keep their numbers.
#[rstest]
#[case::lf_after("\n")]
#[case::crlf_after("\r\n")]
#[case::at_the_end_without_newline("")]
fn a_megabyte_line_is_rejected_and_the_next_lines_read(#[case] after: &str) {
    let long = format!(
        "988844322;TVIST 1 AS;A-aksjer;{};1956;;NOR;3;120",
        "Ø".repeat(1 << 19)
    );
    assert!(long.len() > 1 << 20);
    let mut contents = format!("{GOOD}\n{long}{after}");
    if !after.is_empty() {
        contents.push_str(GOOD);
    }
    let mut reader = RegisterReader::new(Cursor::new(contents.as_bytes()));
    let parsed: Vec<Parsed> = reader.by_ref().map(|p| p.expect("in memory")).collect();
    let mut expected = vec![format!("1: {GOOD_OUTCOME}"), format!("2: {TOO_LONG}")];
    if !after.is_empty() {
        expected.push(format!("3: {GOOD_OUTCOME}"));
    }
    assert_eq!(parsed.iter().map(outcome).collect::<Vec<_>>(), expected);
    assert_eq!(reader.bytes_read(), contents.len() as u64);
    let Parsed::Reject(reject) = &parsed[1] else {
        panic!("a reject expected");
    };
    assert_eq!(reject.raw.len(), MAX_LINE_BYTES);
    assert!(long.starts_with(&reject.raw));
    assert_eq!(read_sorted(contents.as_bytes()), expected, "sorted first");

    let direct = parse_line(2, &long).expect_err("too long");
    assert_eq!(
        format!("{}: rejected: {}", direct.line, direct.reason),
        format!("2: {TOO_LONG}")
    );
    assert_eq!(direct.raw, reject.raw);
}

/// A line of exactly the limit is read (here, understood); one byte more is too long, also on
/// the first line after a byte-order mark, and with a CRLF ending.
#[test]
fn the_limit_is_exact() {
    let at = padded(MAX_LINE_BYTES);
    let past = padded(MAX_LINE_BYTES + 1);
    assert_eq!(at.len(), MAX_LINE_BYTES);
    assert_eq!(
        outcome(&parse_raw(1, at.as_bytes())),
        format!("1: {GOOD_OUTCOME}")
    );
    assert_eq!(
        outcome(&parse_raw(1, past.as_bytes())),
        format!("1: {TOO_LONG}")
    );
    assert!(parse_line(1, &format!("{at}\r\n")).is_ok());
    assert_eq!(
        parse_line(1, &past).map_err(|r| r.reason),
        Err(TOO_LONG.replace("rejected: ", ""))
    );

    let contents = format!("\u{feff}{at}\r\n{past}\r\n{at}\r\n{past}");
    let expected = [
        format!("1: {GOOD_OUTCOME}"),
        format!("2: {TOO_LONG}"),
        format!("3: {GOOD_OUTCOME}"),
        format!("4: {TOO_LONG}"),
    ];
    assert_eq!(read(contents.as_bytes()), expected);
    assert_eq!(read_sorted(contents.as_bytes()), expected, "sorted first");
}

/// 10 000 fields: whatever lies between the fifth and the third-last is the address, here far
/// too long; otherwise the first field that fails is named, or the line is too long as a whole.
#[rstest]
#[case::an_address_of_separators(
    format!("988844322;TVIST 1 AS;A-aksjer;HAGEN;1956;{}NOR;3;120", ";".repeat(9_992)),
    "1: rejected: address must be at most 300 characters, not 9991"
)]
#[case::only_separators(
    ";".repeat(9_999),
    "1: rejected: company orgnr \"\": an organisation number has 9 digits, not 0 characters"
)]
#[case::ten_thousand_negative_numbers(
    vec!["-1"; 10_000].join(";"),
    "1: rejected: company orgnr \"-1\": an organisation number has 9 digits, not 2 characters"
)]
#[case::ten_thousand_numbers_past_u64(
    vec!["18446744073709551616"; 10_000].join(";"),
    "1: rejected: line longer than 65536 bytes"
)]
fn ten_thousand_fields_are_one_reject(#[case] line: String, #[case] expected: &str) {
    assert_eq!(line.split(';').count(), 10_000);
    assert_eq!(read(line.as_bytes()), [expected]);
    assert_eq!(
        outcome(&parse_line(1, &line).map_or_else(Parsed::Reject, Parsed::Line)),
        expected
    );
}
