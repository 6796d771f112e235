//! A synthetic extract with the real one's shape, for load tests and benchmarks.
//!
//! Every name is made of syllables and every number is drawn from a seeded PRNG (SplitMix64),
//! so the output is the same for the same seed and describes nobody.

use std::collections::HashSet;
use std::io::{self, BufWriter, Write};

use crate::parse::HEADER;

mod series;

pub use series::{YearChurn, generate_series, series_file_name};

/// What [`generate`] wrote.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GenerateStats {
    /// Data lines (the header not counted).
    pub rows: u64,
    /// Bytes written, BOM and header included.
    pub bytes: u64,
    /// Distinct companies (issuers).
    pub companies: u64,
    /// Companies planned as listed (hundreds to tens of thousands of owners).
    pub listed_companies: u64,
    /// Companies with more than one share class.
    pub multi_class_companies: u64,
    /// Lines whose holder is an organisation (treasury lines included).
    pub organisation_rows: u64,
    /// Lines whose holder is foreign.
    pub foreign_rows: u64,
    /// Foreign lines whose address holds `;`.
    pub semicolon_address_rows: u64,
    /// Lines repeating an earlier line's company, holder and class.
    pub duplicate_rows: u64,
    /// Lines where a company holds its own shares.
    pub treasury_rows: u64,
    /// The most lines of one company.
    pub largest_company_rows: u64,
    /// Pairs of companies each holding shares in the other (ownership cycles).
    pub cross_holdings: u64,
}

/// SplitMix64: small, fast, and good enough for synthetic data.
#[derive(Clone, Debug)]
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        mix(self.0)
    }

    /// Uniform in `0..n` (`n > 0`).
    fn below(&mut self, n: u64) -> u64 {
        let wide = u128::from(self.next_u64()) * u128::from(n);
        u64::try_from(wide >> 64).unwrap_or(0)
    }

    /// Uniform in `low..=high`.
    fn between(&mut self, low: u64, high: u64) -> u64 {
        low + self.below(high - low + 1)
    }

    /// Uniform in `[0, 1)`.
    #[allow(clippy::cast_precision_loss)]
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }
}

/// The SplitMix64 finaliser: a good 64-bit hash.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A deterministic draw for entity `index` of kind `stream`: the same entity always gets the
/// same name and address wherever it appears.
fn entity(seed: u64, stream: u64, index: u64) -> SplitMix64 {
    SplitMix64(mix(
        seed ^ mix(stream.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ index)
    ))
}

const PERSON_STREAM: u64 = 1;
const FOREIGN_STREAM: u64 = 2;
const COMPANY_STREAM: u64 = 3;
const LISTED_STREAM: u64 = 4;

const FAMILY_START: &[&str] = &[
    "BER", "DAL", "HAU", "KJEL", "LUN", "MYR", "NOR", "OP", "ROS", "SAN", "STRØM", "TVE", "VÅG",
    "ØY", "ÅS", "LIA", "HOL", "GRAN", "FJEL", "BAK", "SKO", "VIK", "ELV", "HÆR", "MÆL", "TRØ",
];
const FAMILY_END: &[&str] = &[
    "SEN", "LAND", "RUD", "HEIM", "BAKK", "STAD", "VIK", "DAL", "NES", "BERG", "LI", "MO", "ØEN",
    "GÅRD", "AAS", "TUN", "SETH", "LUND",
];
const GIVEN_START: &[&str] = &[
    "AR", "BE", "DA", "EI", "FRO", "GU", "HA", "IN", "JO", "KA", "LI", "MA", "NI", "OL", "RA",
    "SI", "TO", "UL", "VE", "YL", "ÅSE", "SØL",
];
const GIVEN_END: &[&str] = &[
    "NE", "RID", "MUND", "DIS", "VAR", "LA", "TA", "RIK", "DA", "TE", "LF", "STEIN", "BJØRN",
    "HILD", "VOR", "GEIR",
];
const COMPANY_KIND: &[&str] = &[
    "",
    " HOLDING",
    " INVEST",
    " EIENDOM",
    " CONSULT",
    " BYGG",
    " TRANSPORT",
    " SERVICE",
    " CAPITAL",
    " TEKNIKK",
];
const NORWEGIAN_PLACES: &[(&str, &str)] = &[
    ("0150", "OSLO"),
    ("0213", "OSLO"),
    ("0790", "OSLO"),
    ("5003", "BERGEN"),
    ("7010", "TRONDHEIM"),
    ("4006", "STAVANGER"),
    ("9008", "TROMSØ"),
    ("1337", "SANDVIKA"),
    ("3015", "DRAMMEN"),
    ("4610", "KRISTIANSAND S"),
    ("2317", "HAMAR"),
    ("6002", "ÅLESUND"),
    ("8006", "BODØ"),
    ("1606", "FREDRIKSTAD"),
    ("3111", "TØNSBERG"),
    ("2609", "LILLEHAMMER"),
];
const FOREIGN_PLACES: &[(&str, &str)] = &[
    ("SWE", "STOCKHOLM"),
    ("DNK", "KØBENHAVN"),
    ("GBR", "LONDON"),
    ("USA", "NEW YORK NY"),
    ("DEU", "BERLIN"),
    ("CHE", "ZÜRICH"),
    ("NLD", "AMSTERDAM"),
    ("LTU", "VILNIUS"),
    ("FIN", "HELSINKI"),
    ("LUX", "LUXEMBOURG"),
    ("CYP", "LIMASSOL"),
    ("ESP", "MARBELLA"),
];

fn pick<'a>(rng: &mut SplitMix64, items: &[&'a str]) -> &'a str {
    items[usize::try_from(rng.below(items.len() as u64)).unwrap_or(0)]
}

fn pick_pair<'a>(rng: &mut SplitMix64, items: &[(&'a str, &'a str)]) -> (&'a str, &'a str) {
    items[usize::try_from(rng.below(items.len() as u64)).unwrap_or(0)]
}

fn syllables(rng: &mut SplitMix64, start: &[&str], end: &[&str], out: &mut String) {
    out.push_str(pick(rng, start));
    out.push_str(pick(rng, end));
}

/// The probabilities and sizes that give the extract its shape.
mod shape {
    /// A company is listed (a heavy-tailed number of owners) with this probability.
    pub const LISTED: f64 = 0.0008;
    /// Listed companies' owners: Pareto with this minimum and index, capped.
    pub const LISTED_MIN_OWNERS: f64 = 1000.0;
    pub const LISTED_ALPHA: f64 = 1.3;
    pub const LISTED_MAX_OWNERS: u64 = 60_000;
    /// A holding's holder is another (earlier) company with this probability…
    pub const ORGANISATION_HOLDER: f64 = 0.40;
    /// …and foreign with this one.
    pub const FOREIGN_HOLDER: f64 = 0.03;
    pub const MULTI_CLASS: f64 = 0.05;
    pub const TREASURY: f64 = 0.01;
    pub const DUPLICATE: f64 = 0.005;
    /// A company declares more shares than its lines hold with this probability.
    pub const SLACK: f64 = 0.25;
    /// An ordinary company and the company after it hold shares in each other (a cycle of
    /// two) with this probability.
    pub const CROSS_HOLDING: f64 = 0.002;
}

#[derive(Clone, Copy)]
enum Holder {
    /// The company itself.
    Treasury,
    /// An earlier company, by index.
    Company(u64),
    Person(u64),
    Foreign(u64),
}

impl Holder {
    /// A key unique among the holders of one company.
    fn key(self) -> u64 {
        match self {
            Self::Treasury => u64::MAX,
            Self::Company(index) => index,
            Self::Person(index) => (1 << 62) | index,
            Self::Foreign(index) => (2 << 62) | index,
        }
    }
}

fn draw_holder(rng: &mut SplitMix64, index: u64, person_pool: u64, foreign_pool: u64) -> Holder {
    let draw = rng.unit();
    if draw < shape::ORGANISATION_HOLDER && index > 0 {
        Holder::Company(rng.below(index))
    } else if draw < shape::ORGANISATION_HOLDER + shape::FOREIGN_HOLDER {
        Holder::Foreign(rng.below(foreign_pool))
    } else {
        Holder::Person(rng.below(person_pool))
    }
}

#[derive(Clone, Copy)]
struct Row {
    holder: Holder,
    class: &'static str,
    shares: u64,
}

const ORDINARY: &str = "Ordinære aksjer";
const CLASS_A: &str = "A-aksjer";
const CLASS_B: &str = "B-aksjer";

/// Writes a synthetic extract of `rows` data lines: UTF-8 BOM, header, CRLF line endings.
///
/// Its shape follows the real extract: most companies have one to three owners, about one in
/// a thousand is listed with thousands to tens of thousands (Pareto tail); about 40 % of
/// holdings are held by earlier generated companies (so ownership chains form), and about one
/// company in 500 and the next one hold shares in each other (so cycles form); about 5 % of
/// companies have A- and B-shares; about 3 % of holdings are foreign (alpha-3 country codes,
/// no birth year, free-text addresses some holding `;`, names with balanced and unbalanced
/// `"`); a few lines repeat a company/holder/class; about 1 % of companies hold some of their
/// own shares; and each company declares on every line the same total, at least the sum of its
/// lines. Every orgnr passes MOD11. The output depends only on `rows` and `seed`.
///
/// # Errors
/// When writing fails.
pub fn generate(rows: u64, seed: u64, out: &mut impl Write) -> io::Result<GenerateStats> {
    let mut out = BufWriter::with_capacity(1 << 16, out);
    let mut stats = GenerateStats::default();
    let mut rng = SplitMix64(seed);
    let header = format!("\u{feff}{HEADER}\r\n");
    out.write_all(header.as_bytes())?;
    stats.bytes = header.len() as u64;

    let person_pool = (rows / 2).max(10);
    let foreign_pool = (rows / 40).max(10);
    let mut orgnrs: Vec<u32> = Vec::new();
    let mut next_prefix = 80_000_000 + rng.below(1_000_000);
    // Orgnrs come from a stream of their own, so a company's can be known before its turn.
    let mut orgnr_rng = SplitMix64(mix(seed ^ 0x6f72_676e_7273));
    // The company that holds shares in the next one, waiting to be held by it in turn.
    let mut cross_from: Option<u64> = None;
    let mut company_rows: Vec<Row> = Vec::new();
    let mut line = String::with_capacity(256);
    let mut seen: HashSet<u64> = HashSet::new();
    let mut extra_persons = 0u64;

    while stats.rows < rows {
        let index = stats.companies;
        while orgnrs.len() as u64 <= index + 1 {
            orgnrs.push(next_orgnr(&mut next_prefix, &mut orgnr_rng));
        }
        let orgnr = orgnrs[usize::try_from(index).unwrap_or(0)];
        let budget = rows - stats.rows;
        let listed = is_listed(seed, index);
        let held_back = cross_from.take();
        let owners = if listed {
            stats.listed_companies += 1;
            listed_owners(&mut rng)
        } else if held_back.is_some() {
            // Held by the company before it, and by others: a cycle with owners outside it.
            ordinary_owners(&mut rng).max(2)
        } else {
            ordinary_owners(&mut rng)
        };
        // Far from the end, so that the next company is generated too.
        let holds_next = !listed && budget > 1_000 && rng.chance(shape::CROSS_HOLDING);
        let multi_class = !listed && rng.chance(shape::MULTI_CLASS);
        let treasury = owners >= 2 && rng.chance(shape::TREASURY);

        company_rows.clear();
        seen.clear();
        for slot in 0..owners {
            if company_rows.len() as u64 >= budget {
                break;
            }
            let holder = if treasury && slot == owners - 1 {
                Holder::Treasury
            } else if slot == 0 && (held_back.is_some() || holds_next) {
                let other = held_back.unwrap_or(index + 1);
                seen.insert(Holder::Company(other).key());
                Holder::Company(other)
            } else {
                // Each holder once per company (duplicates are made on purpose below): redraw
                // on a collision, and after a few, take a person never drawn before.
                let mut holder = None;
                for _ in 0..8 {
                    let candidate = draw_holder(&mut rng, index, person_pool, foreign_pool);
                    if seen.insert(candidate.key()) {
                        holder = Some(candidate);
                        break;
                    }
                }
                holder.unwrap_or_else(|| {
                    extra_persons += 1;
                    Holder::Person(person_pool + extra_persons)
                })
            };
            let classes: &[&'static str] = if !multi_class {
                &[ORDINARY]
            } else if slot == 0 {
                &[CLASS_A, CLASS_B]
            } else {
                match rng.below(10) {
                    0..=4 => &[CLASS_A],
                    5..=7 => &[CLASS_B],
                    _ => &[CLASS_A, CLASS_B],
                }
            };
            for &class in classes {
                let shares = share_count(&mut rng, listed);
                company_rows.push(Row {
                    holder,
                    class,
                    shares,
                });
                if rng.chance(shape::DUPLICATE) {
                    let shares = share_count(&mut rng, listed);
                    company_rows.push(Row {
                        holder,
                        class,
                        shares,
                    });
                    stats.duplicate_rows += 1;
                }
            }
        }
        let kept = usize::try_from(budget).unwrap_or(usize::MAX);
        company_rows.truncate(kept);
        if held_back.is_some() {
            stats.cross_holdings += 1;
        }
        if holds_next {
            cross_from = Some(index);
        }

        let sum: u64 = company_rows.iter().map(|row| row.shares).sum();
        let total = if rng.chance(shape::SLACK) {
            sum + rng.between(1, sum.div_ceil(10).max(1))
        } else {
            sum
        };
        let classes_seen = company_rows
            .iter()
            .map(|row| row.class)
            .fold((false, false), |(a, b), class| {
                (a || class == CLASS_A, b || class == CLASS_B)
            });
        if classes_seen == (true, true) {
            stats.multi_class_companies += 1;
        }
        stats.companies += 1;
        stats.largest_company_rows = stats.largest_company_rows.max(company_rows.len() as u64);

        let issuer_name = company_name(seed, index);
        for row in &company_rows {
            line.clear();
            push_number(&mut line, u64::from(orgnr), 9);
            line.push(';');
            line.push_str(&issuer_name);
            line.push(';');
            line.push_str(row.class);
            line.push(';');
            match row.holder {
                Holder::Treasury => {
                    stats.organisation_rows += 1;
                    stats.treasury_rows += 1;
                    push_company_holder(&mut line, seed, index, orgnr, &issuer_name);
                }
                Holder::Company(holder) => {
                    stats.organisation_rows += 1;
                    let holder_orgnr = orgnrs[usize::try_from(holder).unwrap_or(0)];
                    let name = company_name(seed, holder);
                    push_company_holder(&mut line, seed, holder, holder_orgnr, &name);
                }
                Holder::Person(person) => push_person(&mut line, seed, person),
                Holder::Foreign(foreign) => {
                    stats.foreign_rows += 1;
                    if push_foreign(&mut line, seed, foreign) {
                        stats.semicolon_address_rows += 1;
                    }
                }
            }
            line.push(';');
            push_number(&mut line, row.shares, 1);
            line.push(';');
            push_number(&mut line, total, 1);
            line.push_str("\r\n");
            out.write_all(line.as_bytes())?;
            stats.bytes += line.len() as u64;
            stats.rows += 1;
        }
    }
    out.flush()?;
    Ok(stats)
}

/// The next valid orgnr: an 8-digit prefix a little above the last one, plus its MOD11 check
/// digit; prefixes whose check digit would be 10 are skipped.
fn next_orgnr(prefix: &mut u64, rng: &mut SplitMix64) -> u32 {
    const WEIGHTS: [u64; 8] = [3, 2, 7, 6, 5, 4, 3, 2];
    loop {
        *prefix += rng.between(1, 8);
        if *prefix > 99_999_999 {
            *prefix = 10_000_000 + *prefix % 10_000_000;
        }
        let mut digits = *prefix;
        let mut sum = 0;
        for weight in WEIGHTS.iter().rev() {
            sum += (digits % 10) * weight;
            digits /= 10;
        }
        let check = match 11 - sum % 11 {
            11 => 0,
            10 => continue,
            digit => digit,
        };
        return u32::try_from(*prefix * 10 + check).unwrap_or(0);
    }
}

#[allow(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_precision_loss
)]
fn listed_owners(rng: &mut SplitMix64) -> u64 {
    let u = 1.0 - rng.unit();
    let owners = shape::LISTED_MIN_OWNERS * u.powf(-1.0 / shape::LISTED_ALPHA);
    (owners as u64).min(shape::LISTED_MAX_OWNERS)
}

fn ordinary_owners(rng: &mut SplitMix64) -> u64 {
    match rng.below(100) {
        0..=44 => 1,
        45..=74 => 2,
        75..=86 => 3,
        87..=96 => rng.between(4, 10),
        _ => rng.between(11, 60),
    }
}

/// Log-uniform-ish: many small holdings, some large ones.
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
fn share_count(rng: &mut SplitMix64, listed: bool) -> u64 {
    let decades = if listed { 5.0 } else { 4.0 };
    let value = 10f64.powf(rng.unit() * decades);
    (value as u64).max(1)
}

fn push_number(line: &mut String, value: u64, width: usize) {
    use std::fmt::Write as _;
    let _ = write!(line, "{value:0width$}");
}

/// Whether company `index` is listed: drawn from its own entity stream, so that its name is
/// the same as issuer and as holder.
fn is_listed(seed: u64, index: u64) -> bool {
    entity(seed, LISTED_STREAM, index).chance(shape::LISTED)
}

fn company_name(seed: u64, index: u64) -> String {
    let listed = is_listed(seed, index);
    let mut rng = entity(seed, COMPANY_STREAM, index);
    let _ = rng.next_u64();
    let mut name = String::with_capacity(32);
    syllables(&mut rng, FAMILY_START, FAMILY_END, &mut name);
    if rng.chance(0.3) {
        name.push(' ');
        push_number(&mut name, rng.between(1, 20), 1);
    }
    name.push_str(pick(&mut rng, COMPANY_KIND));
    name.push_str(if listed { " ASA" } else { " AS" });
    name
}

fn push_company_holder(line: &mut String, seed: u64, index: u64, orgnr: u32, name: &str) {
    let mut rng = entity(seed, COMPANY_STREAM, index);
    let (code, place) = pick_pair(&mut rng, NORWEGIAN_PLACES);
    line.push_str(name);
    line.push(';');
    push_number(line, u64::from(orgnr), 9);
    line.push(';');
    line.push_str(code);
    line.push(' ');
    line.push_str(place);
    line.push_str(";NOR");
}

fn push_person(line: &mut String, seed: u64, index: u64) {
    let mut rng = entity(seed, PERSON_STREAM, index);
    syllables(&mut rng, FAMILY_START, FAMILY_END, line);
    line.push(' ');
    syllables(&mut rng, GIVEN_START, GIVEN_END, line);
    if rng.chance(0.5) {
        line.push(' ');
        syllables(&mut rng, GIVEN_START, GIVEN_END, line);
    }
    line.push(';');
    push_number(line, rng.between(1930, 2015), 4);
    line.push(';');
    let (code, place) = pick_pair(&mut rng, NORWEGIAN_PLACES);
    line.push_str(code);
    line.push(' ');
    line.push_str(place);
    line.push_str(";NOR");
}

/// Returns whether the address holds a `;`.
fn push_foreign(line: &mut String, seed: u64, index: u64) -> bool {
    let mut rng = entity(seed, FOREIGN_STREAM, index);
    let (country, city) = pick_pair(&mut rng, FOREIGN_PLACES);
    let mut word = String::with_capacity(12);
    syllables(&mut rng, FAMILY_START, FAMILY_END, &mut word);
    match rng.below(10) {
        0 => {
            line.push_str("UAB \"");
            line.push_str(&word);
            line.push_str(" CAPITAL\"");
        }
        1 => {
            line.push('"');
            line.push_str(&word);
            line.push_str(" INSURANCE HOLDING LTD (PUBL");
        }
        2 => {
            line.push_str(&word);
            line.push_str(" INVESTMENTS LTD");
        }
        3 => {
            line.push_str(&word);
            line.push_str(" GMBH");
        }
        _ => {
            line.push_str(&word);
            line.push(' ');
            syllables(&mut rng, GIVEN_START, GIVEN_END, line);
        }
    }
    line.push_str(if rng.chance(0.5) { ";;" } else { "; ;" });
    let number = rng.between(1, 200);
    let semicolon = match rng.below(10) {
        0 | 1 => false,
        2 => {
            // Two `;` inside the address.
            line.push_str("C/O ");
            line.push_str(&word);
            line.push_str(" BANK; ");
            push_number(line, number, 1);
            line.push_str(" HIGH STREET; ");
            line.push_str(city);
            true
        }
        3..=5 => {
            push_number(line, number, 1);
            line.push(' ');
            line.push_str(&word);
            line.push_str(" ROAD; ");
            line.push_str(city);
            true
        }
        _ => {
            push_number(line, number, 1);
            line.push(' ');
            line.push_str(&word);
            line.push_str(" STREET ");
            line.push_str(city);
            false
        }
    };
    line.push(';');
    line.push_str(country);
    semicolon
}

#[cfg(test)]
mod tests {
    use super::*;
    use shareholders_domain::OrgNr;

    #[test]
    fn generated_orgnrs_pass_mod11_and_increase() {
        let mut rng = SplitMix64(7);
        let mut prefix = 80_000_000;
        let mut last = 0;
        for _ in 0..10_000 {
            let orgnr = next_orgnr(&mut prefix, &mut rng);
            assert!(OrgNr::parse(&format!("{orgnr:09}")).is_ok(), "{orgnr}");
            assert!(orgnr > last);
            last = orgnr;
        }
    }

    #[test]
    fn below_stays_in_range() {
        let mut rng = SplitMix64(1);
        assert!((0..10_000).all(|_| rng.below(3) < 3));
        assert!((0..10_000).all(|_| (5..=9).contains(&rng.between(5, 9))));
    }

    #[test]
    fn ordinary_companies_mostly_have_one_to_three_owners() {
        let mut rng = SplitMix64(3);
        let small = (0..10_000)
            .filter(|_| ordinary_owners(&mut rng) <= 3)
            .count();
        assert!((8_500..=8_900).contains(&small), "{small}");
    }
}
