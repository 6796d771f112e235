//! Properties of the parser and the reader on any input: they answer every line, never panic,
//! and a rejection names its line.

use std::io::{self, Cursor};

use proptest::prelude::*;
use shareholders_domain::{Country, ShareCount};
use shareholders_ports::{RegisterHolder, RegisterLine};
use shareholders_register::{
    HEADER, MAX_LINE_BYTES, Parsed, RegisterReader, Reject, parse_line, parse_raw, sort_by_company,
    year_from_file_name,
};

const BOM: &[u8] = b"\xEF\xBB\xBF";
const GOOD: &str = "988844322;TVIST 1 AS;A-aksjer;HAGEN STEIN ERIK;1956;0790 OSLO;NOR;3;120";
/// Organisation numbers with a valid MOD11 check digit.
const ORGNRS: [&str; 4] = ["988844322", "885648312", "914305195", "923609016"];

/// `cases` cases; a failure is reported with its minimal input, not kept in a file (the
/// persistence proptest offers cannot find an integration test's source).
fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        failure_persistence: None,
        ..ProptestConfig::with_cases(cases)
    }
}

/// A field as a hostile or careless writer might fill it.
fn field() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "",
            " ",
            "988844322",
            "885648312",
            "TVIST 1 AS",
            "A-aksjer",
            "1956",
            "0790 OSLO",
            "NOR",
            "NO",
            "3",
            "0",
            "-1",
            "9223372036854775807",
            "9223372036854775808",
            "18446744073709551615",
            "18446744073709551616",
            "99999999999999999999999999999999",
            "\"",
            "\u{feff}",
            "\0",
        ])
        .prop_map(str::to_owned),
        "[0-9]{0,24}",
        " ?-?[0-9]{1,21} ?",
        "[0-9]{4}( [A-ZÆØÅ]{0,8})?",
        "[A-Za-z]{1,4}",
        "[\\x00-\\x1f \"\\\\;\u{feff}\u{a0}]{0,6}",
        "\\PC{0,12}",
        ".{0,12}",
    ]
}

/// A line of fields (0 to 13 of them), with any or no line ending.
fn line() -> impl Strategy<Value = String> {
    (
        prop::collection::vec(field(), 0..14),
        prop::sample::select(vec!["", "\n", "\r\n", "\r", "\r\r\n"]),
    )
        .prop_map(|(fields, ending)| fields.join(";") + ending)
}

/// What a line without its line ending is, as the parser reports it.
fn without_ending(text: &str) -> &str {
    let text = text.strip_suffix('\n').unwrap_or(text);
    text.strip_suffix('\r').unwrap_or(text)
}

fn check_answer(line_no: u64, text: &str, parsed: Result<RegisterLine, Reject>) {
    match parsed {
        Ok(line) => {
            assert_eq!(line.line, line_no);
            assert!((1..=ShareCount::MAX).contains(&line.shares.get()));
            assert!(text.len() <= MAX_LINE_BYTES);
        }
        Err(reject) => {
            assert_eq!(reject.line, line_no);
            assert!(!reject.reason.is_empty());
            assert!(
                reject.reason.len() <= 300,
                "a reason stays short: {}",
                reject.reason
            );
            assert_eq!(reject.raw, without_ending(text));
        }
    }
}

proptest! {
    #![proptest_config(config(2000))]

    #[test]
    fn any_string_is_a_line_or_a_reject(line_no in any::<u64>(), text in any::<String>()) {
        check_answer(line_no, &text, parse_line(line_no, &text));
    }

    #[test]
    fn any_line_of_fields_is_a_line_or_a_reject(line_no in 1..u64::MAX, text in line()) {
        check_answer(line_no, &text, parse_line(line_no, &text));
    }

    #[test]
    fn any_bytes_are_a_line_or_a_reject(
        line_no in any::<u64>(),
        bytes in prop_oneof![
            prop::collection::vec(any::<u8>(), 0..200),
            line().prop_map(String::into_bytes),
            (line(), any::<prop::sample::Index>(), any::<u8>()).prop_map(|(text, at, byte)| {
                let mut bytes = text.into_bytes();
                if !bytes.is_empty() {
                    let at = at.index(bytes.len());
                    bytes[at] = byte;
                }
                bytes
            }),
        ],
    ) {
        match parse_raw(line_no, &bytes) {
            Parsed::Line(line) => {
                prop_assert_eq!(line.line, line_no);
                prop_assert!(std::str::from_utf8(&bytes).is_ok());
            }
            Parsed::Reject(reject) => {
                prop_assert_eq!(reject.line, line_no);
                prop_assert!(!reject.reason.is_empty());
                prop_assert!(reject.reason.len() <= 300);
            }
        }
    }

    /// A well-formed line gives back exactly what it says.
    #[test]
    fn a_well_formed_line_gives_back_its_values(
        company in prop::sample::select(ORGNRS.to_vec()),
        company_name in "[A-ZÆØÅ]([A-ZÆØÅ0-9&.-]| [A-Z0-9]){0,30}",
        class in prop::sample::select(vec!["A-aksjer", "B-aksjer", "Ordinære aksjer", "PREF"]),
        holder_name in "[A-ZÆØÅ\"]([A-ZÆØÅ0-9&.\"-]| [A-Z0-9]){0,30}",
        holder in prop_oneof![
            (1800u16..=2100).prop_map(|year| (year.to_string(), Some(year), None)),
            prop::sample::select(ORGNRS.to_vec()).prop_map(|orgnr| (orgnr.to_owned(), None, Some(orgnr))),
            Just((String::new(), None, None)),
        ],
        country in prop::sample::select(vec![("NOR", "NO"), ("", "NO"), ("no", "NO"), ("SWE", "SE"), ("gb", "GB"), ("USA", "US")]),
        address in prop_oneof![
            Just(String::new()),
            "[0-9]{4} [A-ZÆØÅ]{1,10}",
            "[A-Z]{1,8}(;[A-Z0-9]{1,4}( [A-Z0-9]{1,4})?){0,3}",
        ],
        shares in 1..=ShareCount::MAX,
        total in prop_oneof![Just(None), (0..=ShareCount::MAX).prop_map(Some)],
        ending in prop::sample::select(vec!["", "\n", "\r\n"]),
    ) {
        let (number, birth_year, holder_orgnr) = holder;
        let total_field = total.map(|t| t.to_string()).unwrap_or_default();
        let text = format!(
            "{company};{company_name};{class};{holder_name};{number};{address};{};{shares};{total_field}{ending}",
            country.0
        );
        let line = parse_line(9, &text).map_err(|reject| TestCaseError::fail(reject.to_string()))?;
        prop_assert_eq!(line.company.orgnr().to_string(), company);
        prop_assert_eq!(line.company.name().as_str(), company_name.as_str());
        prop_assert_eq!(line.share_class.as_str(), class);
        prop_assert_eq!(line.shares.get(), shares);
        prop_assert_eq!(
            line.company.total_shares().map(ShareCount::get),
            total.filter(|t| *t > 0)
        );
        let norwegian = country.1 == "NO";
        let (code, place) = match address.split_once(' ') {
            _ if address.is_empty() => (None, None),
            Some((code, place)) if norwegian && code.len() == 4 && code.bytes().all(|b| b.is_ascii_digit()) => {
                (Some(code.to_owned()), Some(place.to_owned()))
            }
            _ => (None, Some(address.clone())),
        };
        let (name, postal_code, found_place, found_country) = match &line.holder {
            RegisterHolder::Organisation(org) => {
                let found = org.orgnr().to_string();
                prop_assert_eq!(Some(found.as_str()), holder_orgnr);
                (org.name(), org.postal_code(), org.place(), org.country())
            }
            RegisterHolder::Person(person) => {
                prop_assert_eq!(holder_orgnr, None);
                prop_assert_eq!(person.birth_year().map(|y| y.get()), birth_year);
                (person.name(), person.postal_code(), person.place(), person.country())
            }
        };
        prop_assert_eq!(name.as_str(), holder_name.as_str());
        prop_assert_eq!(postal_code.map(|c| c.as_str().to_owned()), code);
        prop_assert_eq!(found_place.map(|p| p.as_str().to_owned()), place);
        prop_assert_eq!(found_country, Country::parse(country.1).expect("a country"));
    }

    #[test]
    fn a_year_in_a_file_name_is_a_plausible_run_of_its_digits(name in any::<String>()) {
        if let Some(year) = year_from_file_name(&name) {
            prop_assert!((1990..=2100).contains(&year));
            prop_assert!(name.contains(&year.to_string()));
        }
    }
}

/// A stream of pieces that make and break lines.
fn stream() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        prop_oneof![
            prop::collection::vec(any::<u8>(), 0..24),
            line().prop_map(String::into_bytes),
            prop::sample::select(vec![
                b"\n".to_vec(),
                b"\r\n".to_vec(),
                b"\r".to_vec(),
                b"\0".to_vec(),
                b";;;;;;;;".to_vec(),
                b" \t ".to_vec(),
                BOM.to_vec(),
                HEADER.as_bytes().to_vec(),
                format!("{GOOD}\n").into_bytes(),
                b"\xC3".to_vec(),
                b"\xFF\xFE".to_vec(),
            ]),
        ],
        0..40,
    )
    .prop_map(|pieces| pieces.concat())
}

/// What the reader should make of `bytes`, line by line: the BOM and a header skipped on the
/// first line, blank lines skipped, each other line parsed on its own.
fn line_by_line(bytes: &[u8]) -> Vec<Parsed> {
    let mut lines: Vec<&[u8]> = bytes.split(|b| *b == b'\n').collect();
    if bytes.ends_with(b"\n") || bytes.is_empty() {
        lines.pop();
    }
    let mut parsed = Vec::new();
    for (index, line) in lines.into_iter().enumerate() {
        let mut line = line.strip_suffix(b"\r").unwrap_or(line);
        if index == 0 {
            line = line.strip_prefix(BOM).unwrap_or(line);
            if line.len() >= 6 && line[..6].eq_ignore_ascii_case(b"orgnr;") {
                continue;
            }
        }
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        parsed.push(parse_raw(index as u64 + 1, line));
    }
    parsed
}

proptest! {
    #![proptest_config(config(500))]

    #[test]
    fn the_reader_answers_every_line_of_any_stream(bytes in stream()) {
        let mut reader = RegisterReader::new(Cursor::new(&bytes));
        let parsed = reader.by_ref().collect::<io::Result<Vec<_>>>().expect("in memory");
        prop_assert_eq!(reader.bytes_read(), bytes.len() as u64);
        prop_assert_eq!(reader.data_lines(), parsed.len() as u64);
        let physical = bytes.split(|b| *b == b'\n').count() as u64
            - u64::from(bytes.ends_with(b"\n") || bytes.is_empty());
        prop_assert_eq!(reader.line_number(), physical);
        prop_assert_eq!(parsed, line_by_line(&bytes));
    }

    #[test]
    fn sorting_any_stream_keeps_every_line_once(bytes in stream()) {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut raw = Vec::new();
        let mut reader = RegisterReader::new(Cursor::new(&bytes));
        while let Some((line_no, bytes)) = reader.next_raw().expect("in memory") {
            raw.push((line_no, bytes.to_vec()));
        }
        let mut sorted = sort_by_company(Cursor::new(&bytes), dir.path(), 64).expect("sorted");
        let mut out = Vec::new();
        while let Some(line) = sorted.next_line().expect("a run") {
            out.push(line);
        }
        let key = |bytes: &[u8]| bytes.split(|b| *b == b';').next().unwrap_or_default().to_vec();
        prop_assert!(out.windows(2).all(|pair| (key(&pair[0].1), pair[0].0) <= (key(&pair[1].1), pair[1].0)));
        out.sort_by_key(|(line_no, _)| *line_no);
        prop_assert_eq!(out, raw);
    }
}
