//! One line of the extract: its nine fields, the quirks of the real files, and what they mean.

use std::borrow::Cow;
use std::fmt;

use shareholders_domain::{
    BirthYear, Country, Name, OrgNr, Organisation, Person, PersonId, Place, PostalCode, ShareClass,
    ShareCount,
};
use shareholders_ports::{RegisterHolder, RegisterLine};

/// The header of the extract, as Skatteetaten writes it.
pub const HEADER: &str = "Orgnr;Selskap;Aksjeklasse;Navn aksjonær;Fødselsår/orgnr;Postnr/sted;Landkode;Antall aksjer;Antall aksjer selskap";

/// The number of fields of a line (more when a foreign address holds `;`).
pub const FIELDS: usize = 9;

/// The longest line understood, in bytes without its line ending. No line of the extract
/// comes near it (its fields are bounded: names and addresses of 300 characters, a class of
/// 100), so a longer one is rejected without being read whole, and a file without line
/// endings never fills the memory.
pub const MAX_LINE_BYTES: usize = 64 * 1024;

/// The most characters of a field quoted in a reason.
const SHOWN_CHARS: usize = 40;

/// A line that could not be understood. It is reported, never loaded, and never stops an
/// import.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Reject {
    /// 1-based line number in the file (the header, when there is one, is line 1).
    pub line: u64,
    /// Why the line was refused, in plain words.
    pub reason: String,
    /// The line as read, without its line ending (invalid UTF-8 replaced by U+FFFD), cut at
    /// [`MAX_LINE_BYTES`] when it is longer.
    pub raw: String,
}

impl fmt::Display for Reject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.reason)
    }
}

/// Parses one line of the extract (without or with its line ending).
///
/// Fields 1–5 (orgnr, company, class, holder name, birth year/orgnr) are taken from the left
/// and fields 7–9 (country, shares, company total) from the right; whatever lies between is the
/// address (`Postnr/sted`), so a foreign address holding `;` stays whole. Nothing is quoted:
/// `"` is an ordinary character, balanced or not.
///
/// Meaning of the fields:
/// - `Fødselsår/orgnr`: 9 digits is the holder's orgnr and must pass MOD11 (a failing one is
///   a reject: loading it as a person would invent a holder); 1 to 4 digits is a person's birth
///   year (1800–2100); empty or blank is a holder without either (many foreign holders).
///   Anything else is a reject.
/// - `Landkode`: alpha-2 or alpha-3 ([`Country::parse`]). **Empty means Norway**: the register
///   leaves it empty only for domestic holders, and an organisation defaults to Norway.
/// - `Postnr/sted`: for a Norwegian holder, a leading four-digit code is the postal code and
///   the rest the place (`0790 OSLO`); any other address (all foreign ones) is kept whole as
///   the place. Empty gives neither.
/// - `Antall aksjer`: a positive integer, else a reject.
/// - `Antall aksjer selskap`: the company's declared total over all classes; empty or `0` is
///   unknown (`None`), anything non-numeric a reject.
///
/// A line longer than [`MAX_LINE_BYTES`] is a reject, whatever it holds. A reason quotes at
/// most a few dozen characters of the field it names.
///
/// The company itself is an organisation in Norway with no address (the extract gives none).
///
/// # Errors
/// A [`Reject`] naming the first field that could not be understood.
pub fn parse_line(line_no: u64, text: &str) -> Result<RegisterLine, Reject> {
    let text = text.strip_suffix('\n').unwrap_or(text);
    let text = text.strip_suffix('\r').unwrap_or(text);
    if text.len() > MAX_LINE_BYTES {
        return Err(too_long(line_no, text.as_bytes()));
    }
    parse_fields(line_no, text).map_err(|reason| Reject {
        line: line_no,
        reason,
        raw: text.to_owned(),
    })
}

/// The reject of a line longer than [`MAX_LINE_BYTES`], its raw text cut there.
pub(crate) fn too_long(line_no: u64, bytes: &[u8]) -> Reject {
    Reject {
        line: line_no,
        reason: format!("line longer than {MAX_LINE_BYTES} bytes"),
        raw: String::from_utf8_lossy(&bytes[..bytes.len().min(MAX_LINE_BYTES)]).into_owned(),
    }
}

/// A field as a reason quotes it: in quotes and escaped, cut after [`SHOWN_CHARS`] characters.
fn shown(field: &str) -> String {
    let quoted = format!("{field:?}");
    if quoted.chars().count() <= SHOWN_CHARS {
        return quoted;
    }
    let cut: String = quoted.chars().take(SHOWN_CHARS).collect();
    format!("{cut}…\" ({} bytes)", field.len())
}

fn parse_fields(line_no: u64, text: &str) -> Result<RegisterLine, String> {
    let fields: Vec<&str> = text.split(';').collect();
    let n = fields.len();
    if n < FIELDS {
        return Err(format!(
            "{n} fields, at least {FIELDS} expected (semicolon-separated)"
        ));
    }
    let address: Cow<'_, str> = if n == FIELDS {
        Cow::Borrowed(fields[5])
    } else {
        Cow::Owned(fields[5..n - 3].join(";"))
    };

    let orgnr = OrgNr::parse(fields[0].trim())
        .map_err(|e| format!("company orgnr {}: {e}", shown(fields[0])))?;
    let company_name = Name::parse(fields[1]).map_err(|e| format!("company name {e}"))?;
    let share_class = ShareClass::parse(fields[2]).map_err(|e| format!("share class: {e}"))?;
    let holder_name = Name::parse(fields[3]).map_err(|e| format!("holder name {e}"))?;
    let holder_number = HolderNumber::parse(fields[4])?;
    let country_field = fields[n - 3].trim();
    // Norway first: `Country::parse` searches alpha-3 codes linearly, and nearly every line
    // is Norwegian.
    let country = if country_field.is_empty()
        || country_field.eq_ignore_ascii_case("NOR")
        || country_field.eq_ignore_ascii_case("NO")
    {
        Country::NORWAY
    } else if country_field.len() > 3 {
        return Err(format!(
            "country {}: not an ISO 3166-1 alpha-2 or alpha-3 code",
            shown(country_field)
        ));
    } else {
        Country::parse(country_field).map_err(|e| format!("country: {e}"))?
    };
    let shares = parse_count(fields[n - 2])
        .and_then(|count| ShareCount::new(count).map_err(|e| e.to_string()))
        .map_err(|e| format!("share count {}: {e}", shown(fields[n - 2])))?;
    let total = parse_total(fields[n - 1])
        .map_err(|e| format!("company total {}: {e}", shown(fields[n - 1])))?;
    let (postal_code, place) = split_address(&address, country)?;

    let company = Organisation::new(orgnr, company_name, None, None, Country::NORWAY, total);
    let holder = match holder_number {
        HolderNumber::OrgNr(holder_orgnr) => RegisterHolder::Organisation(Organisation::new(
            holder_orgnr,
            holder_name,
            postal_code,
            place,
            country,
            None,
        )),
        HolderNumber::BirthYear(birth_year) => {
            let id = PersonId::derive(
                &holder_name,
                birth_year,
                postal_code.as_ref(),
                place.as_ref(),
                country,
            );
            RegisterHolder::Person(Person::new(
                id,
                holder_name,
                birth_year,
                postal_code,
                place,
                country,
            ))
        }
    };
    Ok(RegisterLine {
        line: line_no,
        company,
        holder,
        share_class,
        shares,
    })
}

enum HolderNumber {
    OrgNr(OrgNr),
    BirthYear(Option<BirthYear>),
}

impl HolderNumber {
    fn parse(field: &str) -> Result<Self, String> {
        let value = field.trim();
        if value.is_empty() {
            return Ok(Self::BirthYear(None));
        }
        if !value.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!(
                "birth year/orgnr {}: neither a year nor an orgnr",
                shown(field)
            ));
        }
        match value.len() {
            9 => OrgNr::parse(value)
                .map(Self::OrgNr)
                .map_err(|e| format!("holder orgnr {}: {e}", shown(field))),
            1..=4 => value
                .parse::<i64>()
                .map_err(|e| e.to_string())
                .and_then(|year| BirthYear::new(year).map_err(|e| e.to_string()))
                .map(|year| Self::BirthYear(Some(year)))
                .map_err(|e| format!("birth year {}: {e}", shown(field))),
            len => Err(format!(
                "birth year/orgnr {}: {len} digits, neither a year (4) nor an orgnr (9)",
                shown(field)
            )),
        }
    }
}

fn parse_count(field: &str) -> Result<u64, String> {
    let value = field.trim();
    if value.is_empty() {
        return Err("empty".to_owned());
    }
    if !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err("not a whole number".to_owned());
    }
    value.parse::<u64>().map_err(|_| "too large".to_owned())
}

fn parse_total(field: &str) -> Result<Option<ShareCount>, String> {
    if field.trim().is_empty() {
        return Ok(None);
    }
    match parse_count(field)? {
        0 => Ok(None),
        count => ShareCount::new(count).map(Some).map_err(|e| e.to_string()),
    }
}

fn split_address(
    address: &str,
    country: Country,
) -> Result<(Option<PostalCode>, Option<Place>), String> {
    let address = address.trim();
    if address.is_empty() {
        return Ok((None, None));
    }
    let bytes = address.as_bytes();
    let norwegian_code = country == Country::NORWAY
        && bytes.len() >= 4
        && bytes[..4].iter().all(u8::is_ascii_digit)
        && bytes.get(4).is_none_or(u8::is_ascii_whitespace);
    let (code, rest) = if norwegian_code {
        let code = PostalCode::parse(&address[..4]).map_err(|e| format!("postal code {e}"))?;
        (Some(code), address[4..].trim())
    } else {
        (None, address)
    };
    let place = if rest.is_empty() {
        None
    } else {
        Some(Place::parse(rest).map_err(|e| format!("address {e}"))?)
    };
    Ok((code, place))
}

/// The year of an extract from its file name: the first run of exactly four digits that is a
/// plausible year (1990–2100), e.g. `aksjeeiebok__2024_07052025.csv` → 2024. Directories in
/// the name are ignored.
#[must_use]
pub fn year_from_file_name(name: &str) -> Option<u16> {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    base.split(|c: char| !c.is_ascii_digit())
        .filter(|run| run.len() == 4)
        .filter_map(|run| run.parse::<u16>().ok())
        .find(|year| (1990..=2100).contains(year))
}

#[cfg(test)]
#[allow(clippy::too_many_arguments)] // the rstest table of quirks
mod tests {
    use super::*;
    use rstest::rstest;

    fn kind_of(line: &RegisterLine) -> &'static str {
        match &line.holder {
            RegisterHolder::Organisation(_) => "org",
            RegisterHolder::Person(_) => "person",
        }
    }

    #[test]
    fn a_person_line_is_understood() {
        let line = parse_line(
            7,
            "988844322;TVIST 1 AS;A-aksjer;HAGEN STEIN ERIK;1956;0790 OSLO;NOR;3;120",
        )
        .expect("valid");
        assert_eq!(line.line, 7);
        assert_eq!(line.company.orgnr().as_str(), "988844322");
        assert_eq!(line.company.name().as_str(), "TVIST 1 AS");
        assert_eq!(line.company.country(), Country::NORWAY);
        assert_eq!(line.company.total_shares().map(ShareCount::get), Some(120));
        assert_eq!(line.share_class.as_str(), "A-aksjer");
        assert_eq!(line.shares.get(), 3);
        let RegisterHolder::Person(person) = &line.holder else {
            panic!("a person expected");
        };
        assert_eq!(person.name().as_str(), "HAGEN STEIN ERIK");
        assert_eq!(person.birth_year().map(BirthYear::get), Some(1956));
        assert_eq!(person.postal_code().map(PostalCode::as_str), Some("0790"));
        assert_eq!(person.place().map(Place::as_str), Some("OSLO"));
        assert_eq!(person.country(), Country::NORWAY);
        let expected = PersonId::derive(
            person.name(),
            person.birth_year(),
            person.postal_code(),
            person.place(),
            Country::NORWAY,
        );
        assert_eq!(person.id(), &expected);
    }

    #[test]
    fn an_organisation_holder_keeps_its_address_and_no_total() {
        let line = parse_line(
            1,
            "885648312;CANICA INVESTOR AS;A-aksjer;TVIST 1 AS;988844322;0213 OSLO;NOR;3;120",
        )
        .expect("valid");
        let RegisterHolder::Organisation(org) = &line.holder else {
            panic!("an organisation expected");
        };
        assert_eq!(org.orgnr().as_str(), "988844322");
        assert_eq!(org.name().as_str(), "TVIST 1 AS");
        assert_eq!(org.postal_code().map(PostalCode::as_str), Some("0213"));
        assert_eq!(org.place().map(Place::as_str), Some("OSLO"));
        assert_eq!(org.total_shares(), None);
    }

    /// Quirks that must load: (line, holder name, holder kind, postal code, place, country,
    /// class, shares, total).
    #[rstest]
    #[case::crlf(
        "988844322;TVIST 1 AS;A-aksjer;HAGEN STEIN ERIK;1956;0790 OSLO;NOR;3;120\r\n",
        "HAGEN STEIN ERIK",
        "person",
        Some("0790"),
        Some("OSLO"),
        "NO",
        "A-aksjer",
        3,
        Some(120)
    )]
    #[case::unbalanced_quote(
        "988844322;TVIST 1 AS;B-aksjer;\"IF P INSURANCE HOLDING LTD (PUBL; ;;FIN;5;120",
        "\"IF P INSURANCE HOLDING LTD (PUBL",
        "person",
        None,
        None,
        "FI",
        "B-aksjer",
        5,
        Some(120)
    )]
    #[case::balanced_quotes(
        "988844322;TVIST 1 AS;B-aksjer;UAB \"ERA CAPITAL\";;VILNIUS;LT;5;120",
        "UAB \"ERA CAPITAL\"",
        "person",
        None,
        Some("VILNIUS"),
        "LT",
        "B-aksjer",
        5,
        Some(120)
    )]
    #[case::semicolons_in_address(
        "988844322;TVIST 1 AS;B-aksjer;SMITH JOHN;1970;FLAT 3; 10 HIGH STREET;LONDON SW1;GBR;5;120",
        "SMITH JOHN",
        "person",
        None,
        Some("FLAT 3; 10 HIGH STREET;LONDON SW1"),
        "GB",
        "B-aksjer",
        5,
        Some(120)
    )]
    #[case::blank_birth_year(
        "988844322;TVIST 1 AS;B-aksjer;MEIER HANS; ;8001 ZÜRICH;CHE;5;120",
        "MEIER HANS",
        "person",
        None,
        Some("8001 ZÜRICH"),
        "CH",
        "B-aksjer",
        5,
        Some(120)
    )]
    #[case::empty_birth_year_alpha2(
        "988844322;TVIST 1 AS;B-aksjer;MEIER HANS;;;CH;5;120",
        "MEIER HANS",
        "person",
        None,
        None,
        "CH",
        "B-aksjer",
        5,
        Some(120)
    )]
    #[case::alpha2_norway(
        "988844322;TVIST 1 AS;A-aksje;HAGEN STEIN ERIK;1956;0790 OSLO;NO;3;120",
        "HAGEN STEIN ERIK",
        "person",
        Some("0790"),
        Some("OSLO"),
        "NO",
        "A-aksjer",
        3,
        Some(120)
    )]
    #[case::lowercase_country(
        "988844322;TVIST 1 AS;A-aksjer;HAGEN STEIN ERIK;1956;0790 OSLO; nor ;3;120",
        "HAGEN STEIN ERIK",
        "person",
        Some("0790"),
        Some("OSLO"),
        "NO",
        "A-aksjer",
        3,
        Some(120)
    )]
    #[case::lowercase_foreign_country(
        "988844322;TVIST 1 AS;A-aksjer;HAGEN STEIN ERIK;1956;0790 OSLO;swe;3;120",
        "HAGEN STEIN ERIK",
        "person",
        None,
        Some("0790 OSLO"),
        "SE",
        "A-aksjer",
        3,
        Some(120)
    )]
    #[case::empty_country_is_norway(
        "988844322;TVIST 1 AS;A-aksjer;HAGEN STEIN ERIK;1956;0790 OSLO;;3;120",
        "HAGEN STEIN ERIK",
        "person",
        Some("0790"),
        Some("OSLO"),
        "NO",
        "A-aksjer",
        3,
        Some(120)
    )]
    #[case::empty_total_is_unknown(
        "988844322;TVIST 1 AS;A-aksjer;HAGEN STEIN ERIK;1956;0790;NOR;3;",
        "HAGEN STEIN ERIK",
        "person",
        Some("0790"),
        None,
        "NO",
        "A-aksjer",
        3,
        None
    )]
    #[case::zero_total_is_unknown(
        "988844322;TVIST 1 AS;A-aksjer;HAGEN STEIN ERIK;1956;OSLO;NOR;3;0",
        "HAGEN STEIN ERIK",
        "person",
        None,
        Some("OSLO"),
        "NO",
        "A-aksjer",
        3,
        None
    )]
    #[case::treasury(
        "988844322;TVIST 1 AS;A-aksjer;TVIST 1 AS;988844322;0213 OSLO;NOR;3;120",
        "TVIST 1 AS",
        "org",
        Some("0213"),
        Some("OSLO"),
        "NO",
        "A-aksjer",
        3,
        Some(120)
    )]
    #[case::padded_numbers(
        "988844322;TVIST 1 AS;A-aksjer;HAGEN STEIN ERIK; 1956 ;0790  OSLO;NOR; 3 ; 120 ",
        "HAGEN STEIN ERIK",
        "person",
        Some("0790"),
        Some("OSLO"),
        "NO",
        "A-aksjer",
        3,
        Some(120)
    )]
    fn quirks_load(
        #[case] text: &str,
        #[case] name: &str,
        #[case] kind: &str,
        #[case] postal_code: Option<&str>,
        #[case] place: Option<&str>,
        #[case] country: &str,
        #[case] class: &str,
        #[case] shares: u64,
        #[case] total: Option<u64>,
    ) {
        let line = parse_line(3, text).expect("the line loads");
        let (holder_name, holder_code, holder_place, holder_country) = match &line.holder {
            RegisterHolder::Organisation(o) => (o.name(), o.postal_code(), o.place(), o.country()),
            RegisterHolder::Person(p) => (p.name(), p.postal_code(), p.place(), p.country()),
        };
        assert_eq!(holder_name.as_str(), name);
        assert_eq!(kind_of(&line), kind);
        assert_eq!(holder_code.map(PostalCode::as_str), postal_code);
        assert_eq!(holder_place.map(Place::as_str), place);
        assert_eq!(holder_country.alpha2(), country);
        assert_eq!(line.share_class.as_str(), class);
        assert_eq!(line.shares.get(), shares);
        assert_eq!(line.company.total_shares().map(ShareCount::get), total);
    }

    #[test]
    fn alpha2_and_alpha3_give_the_same_person() {
        let old = parse_line(
            1,
            "988844322;TVIST 1 AS;B-aksjer;KJOS CAROLINE;1984;;CHE;117;120",
        );
        let new = parse_line(
            1,
            "988844322;TVIST 1 AS;B-aksjer;KJOS CAROLINE;1984;;CH;117;120",
        );
        assert_eq!(old.expect("valid"), new.expect("valid"));
    }

    /// Lines that are refused, and a word of the reason.
    #[rstest]
    #[case::invalid_company_orgnr(
        "123456789;X AS;A-aksjer;HAGEN;1956;0790 OSLO;NOR;3;120",
        "company orgnr"
    )]
    #[case::short_company_orgnr(
        "98884432;X AS;A-aksjer;HAGEN;1956;0790 OSLO;NOR;3;120",
        "company orgnr"
    )]
    #[case::non_numeric_count(
        "988844322;X AS;A-aksjer;HAGEN;1956;0790 OSLO;NOR;3a;120",
        "share count"
    )]
    #[case::negative_count(
        "988844322;X AS;A-aksjer;HAGEN;1956;0790 OSLO;NOR;-3;120",
        "share count"
    )]
    #[case::zero_count("988844322;X AS;A-aksjer;HAGEN;1956;0790 OSLO;NOR;0;120", "positive")]
    #[case::empty_count("988844322;X AS;A-aksjer;HAGEN;1956;0790 OSLO;NOR;;120", "share count")]
    #[case::huge_count(
        "988844322;X AS;A-aksjer;HAGEN;1956;0790 OSLO;NOR;99999999999999999999;120",
        "share count"
    )]
    #[case::non_numeric_total(
        "988844322;X AS;A-aksjer;HAGEN;1956;0790 OSLO;NOR;3;1x0",
        "company total"
    )]
    #[case::empty_holder_name("988844322;X AS;A-aksjer; ;1956;0790 OSLO;NOR;3;120", "holder name")]
    #[case::empty_company_name(
        "988844322;;A-aksjer;HAGEN;1956;0790 OSLO;NOR;3;120",
        "company name"
    )]
    #[case::empty_class("988844322;X AS;;HAGEN;1956;0790 OSLO;NOR;3;120", "share class")]
    #[case::too_few_fields("988844322;X AS;A-aksjer;HAGEN;1956;NOR;3;120", "8 fields")]
    #[case::holder_orgnr_fails_mod11(
        "988844322;X AS;A-aksjer;Y AS;988844323;0213 OSLO;NOR;3;120",
        "holder orgnr"
    )]
    #[case::implausible_birth_year(
        "988844322;X AS;A-aksjer;HAGEN;1756;0790 OSLO;NOR;3;120",
        "birth year"
    )]
    #[case::eleven_digits(
        "988844322;X AS;A-aksjer;HAGEN;01015612345;0790 OSLO;NOR;3;120",
        "11 digits"
    )]
    #[case::text_birth_year("988844322;X AS;A-aksjer;HAGEN;ukjent;0790 OSLO;NOR;3;120", "neither")]
    #[case::unknown_country("988844322;X AS;A-aksjer;HAGEN;1956;0790 OSLO;XYZ;3;120", "country")]
    fn bad_lines_are_rejected_with_their_number(#[case] text: &str, #[case] reason: &str) {
        let reject = parse_line(42, text).expect_err("rejected");
        assert_eq!(reject.line, 42);
        assert_eq!(reject.raw, text);
        assert!(
            reject.reason.contains(reason),
            "{:?} should mention {reason:?}",
            reject.reason
        );
    }

    #[rstest]
    #[case("aksjeeiebok__2024_07052025.csv", Some(2024))]
    #[case("/data/in/aksjeeiebok__2021_01042022.csv", Some(2021))]
    #[case("aksjeeiebok_2019.csv", Some(2019))]
    #[case("C:\\data\\aksjeeiebok__2023_17042024.csv", Some(2023))]
    #[case("aksjonaerregister_07052025.csv", None)]
    #[case("register-sample.csv", None)]
    #[case("eiere_1234.csv", None)]
    #[case("2024", Some(2024))]
    fn years_come_from_file_names(#[case] name: &str, #[case] expected: Option<u16>) {
        assert_eq!(year_from_file_name(name), expected);
    }
}
