//! The synthetic extract: deterministic, fully parseable, and shaped like the real one.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::io::Cursor;
use std::time::Instant;

use shareholders_domain::{OrgNr, ShareClass};
use shareholders_ports::{RegisterHolder, RegisterLine};
use shareholders_register::{GenerateStats, Parsed, RegisterReader, generate};

fn generated(rows: u64, seed: u64) -> (Vec<u8>, GenerateStats) {
    let mut bytes = Vec::new();
    let stats = generate(rows, seed, &mut bytes).expect("writing to memory");
    (bytes, stats)
}

fn parse_all(bytes: &[u8]) -> Vec<RegisterLine> {
    RegisterReader::new(Cursor::new(bytes))
        .map(|parsed| match parsed.expect("in memory") {
            Parsed::Line(line) => line,
            Parsed::Reject(reject) => panic!("generated line rejected: {reject:?}"),
        })
        .collect()
}

#[test]
fn the_same_seed_gives_the_same_bytes() {
    let (a, stats_a) = generated(20_000, 42);
    let (b, stats_b) = generated(20_000, 42);
    let (c, _) = generated(20_000, 43);
    assert_eq!(a, b);
    assert_eq!(stats_a, stats_b);
    assert_ne!(a, c);
    assert_eq!(stats_a.bytes, a.len() as u64);
}

#[test]
fn the_file_starts_with_bom_and_header_and_uses_crlf() {
    let (bytes, stats) = generated(1_000, 1);
    let text = String::from_utf8(bytes).expect("UTF-8");
    let header = format!("\u{feff}{}\r\n", shareholders_register::HEADER);
    assert!(text.starts_with(&header));
    assert_eq!(text.matches("\r\n").count(), 1_001);
    assert_eq!(text.matches('\n').count(), 1_001);
    assert_eq!(stats.rows, 1_000);
}

#[test]
fn exactly_the_rows_asked_for() {
    for rows in [0, 1, 2, 17, 999] {
        let (bytes, stats) = generated(rows, 9);
        assert_eq!(stats.rows, rows);
        assert_eq!(parse_all(&bytes).len() as u64, rows);
    }
}

/// Every line of 200,000 parses, and the shape targets hold.
#[test]
fn two_hundred_thousand_rows_parse_and_have_the_real_shape() {
    let rows = 200_000;
    let (bytes, stats) = generated(rows, 2024);
    let lines = parse_all(&bytes);
    assert_eq!(lines.len() as u64, rows);

    let mut companies: BTreeMap<OrgNr, CompanyFacts> = BTreeMap::new();
    let mut holdings: HashMap<(OrgNr, String), (bool, bool)> = HashMap::new();
    let mut line_keys: HashSet<(OrgNr, String, ShareClass)> = HashSet::new();
    let mut duplicates = 0u64;
    let mut treasury = 0u64;
    for line in &lines {
        let company = line.company.orgnr();
        let facts = companies.entry(company).or_default();
        facts.lines += 1;
        facts.sum += line.shares.get();
        facts
            .totals
            .insert(line.company.total_shares().map(|t| t.get()));
        facts.classes.insert(line.share_class.clone());
        let (key, is_org, foreign) = match &line.holder {
            RegisterHolder::Organisation(org) => {
                if org.orgnr() == company {
                    treasury += 1;
                }
                facts.org_holders.insert(org.orgnr());
                (
                    format!("o{}", org.orgnr()),
                    true,
                    org.country().is_foreign(),
                )
            }
            RegisterHolder::Person(person) => (
                format!("p{}", person.id()),
                false,
                person.country().is_foreign(),
            ),
        };
        if !line_keys.insert((company, key.clone(), line.share_class.clone())) {
            duplicates += 1;
        }
        let owners_before = holdings.len();
        holdings.insert((company, key), (is_org, foreign));
        if holdings.len() > owners_before {
            facts.owners += 1;
        }
    }

    // Every company declares one total on all its lines, at least what its lines hold.
    for (orgnr, facts) in &companies {
        assert_eq!(facts.totals.len(), 1, "{orgnr}: {:?}", facts.totals);
        let total = facts
            .totals
            .iter()
            .next()
            .copied()
            .flatten()
            .expect("a total");
        assert!(total >= facts.sum, "{orgnr}: {total} < {}", facts.sum);
    }
    // Organisation holders are generated companies, so ownership chains form.
    let issuers: HashSet<OrgNr> = companies.keys().copied().collect();
    let chained = companies
        .values()
        .flat_map(|facts| facts.org_holders.iter())
        .filter(|holder| {
            assert!(issuers.contains(holder), "{holder} is no generated company");
            companies[holder]
                .org_holders
                .iter()
                .any(|h| issuers.contains(h))
        })
        .count();
    assert!(
        chained > 1_000,
        "{chained} holdings by companies that are held by companies"
    );
    // Some pairs of companies hold shares in each other: the register has cycles.
    let cycles = companies
        .iter()
        .flat_map(|(orgnr, facts)| {
            facts
                .org_holders
                .iter()
                .map(move |holder| (*orgnr, *holder))
        })
        .filter(|(orgnr, holder)| holder > orgnr && companies[holder].org_holders.contains(orgnr))
        .count();
    assert!(cycles > 10, "{cycles} cross-holdings");
    assert_eq!(cycles as u64, stats.cross_holdings);

    let share = |count: usize, of: usize| count as f64 / of as f64;
    let org_share = share(
        holdings.values().filter(|(org, _)| *org).count(),
        holdings.len(),
    );
    assert!(
        (0.37..=0.43).contains(&org_share),
        "organisation-held holdings: {org_share}"
    );
    let foreign_share = share(
        holdings.values().filter(|(_, f)| *f).count(),
        holdings.len(),
    );
    assert!(
        (0.015..=0.05).contains(&foreign_share),
        "foreign holdings: {foreign_share}"
    );
    let multi = companies
        .values()
        .filter(|facts| facts.classes.len() > 1)
        .count();
    let multi_share = share(multi, companies.len());
    assert!(
        (0.04..=0.06).contains(&multi_share),
        "multi-class companies: {multi_share}"
    );
    assert_eq!(multi as u64, stats.multi_class_companies);

    // Heavy tail: most companies have one to three owners, a few have thousands.
    let mut owners: Vec<u64> = companies.values().map(|facts| facts.owners).collect();
    owners.sort_unstable();
    let median = owners[owners.len() / 2];
    let small = share(owners.iter().filter(|&&n| n <= 3).count(), owners.len());
    let largest = owners.last().copied().unwrap_or_default();
    assert!(median <= 2, "median owners {median}");
    assert!(small > 0.8, "companies with 1-3 owners: {small}");
    assert!(largest >= 1_000, "largest company has {largest} owners");
    let listed_rows: u64 = companies
        .values()
        .filter(|facts| facts.owners >= 1_000)
        .map(|facts| facts.lines)
        .sum();
    assert!(
        share(listed_rows as usize, lines.len()) > 0.1,
        "the tail holds a real part of the lines"
    );

    // The quirks are there.
    assert!(duplicates >= 100, "{duplicates} duplicate lines");
    // The deliberate ones, and rarely two generated persons who happen to share name, birth
    // year and address (so the same derived id).
    assert!(
        (stats.duplicate_rows..=stats.duplicate_rows + stats.duplicate_rows / 50)
            .contains(&duplicates),
        "{duplicates} duplicates, {} made",
        stats.duplicate_rows
    );
    assert!(treasury >= 20, "{treasury} treasury lines");
    assert_eq!(treasury, stats.treasury_rows);
    assert!(stats.semicolon_address_rows >= 100);
    let text = String::from_utf8(bytes).expect("UTF-8");
    assert!(text.contains("UAB \""));
    assert!(
        text.contains(";\""),
        "a name starting with an unbalanced quote"
    );
    assert!(text.contains("; ;"), "a blank birth year");
    assert!(text.contains(";SWE;"), "alpha-3 countries");
}

#[derive(Default)]
struct CompanyFacts {
    lines: u64,
    owners: u64,
    sum: u64,
    totals: BTreeSet<Option<u64>>,
    classes: BTreeSet<ShareClass>,
    org_holders: BTreeSet<OrgNr>,
}

/// `cargo test --release -p shareholders-register --test generate -- --ignored --nocapture`
#[test]
#[ignore = "a benchmark: run in release"]
fn throughput_of_a_million_rows() {
    let rows = 1_000_000;
    let started = Instant::now();
    let (bytes, _) = generated(rows, 7);
    let generating = started.elapsed();
    let started = Instant::now();
    let mut count = 0u64;
    for parsed in RegisterReader::new(Cursor::new(&bytes)) {
        if let Parsed::Line(_) = parsed.expect("in memory") {
            count += 1;
        }
    }
    let parsing = started.elapsed();
    assert_eq!(count, rows);
    println!(
        "generate: {rows} rows, {:.1} MB in {:.2} s; parse: {:.2} s = {:.0} rows/s, {:.1} MB/s",
        bytes.len() as f64 / 1e6,
        generating.as_secs_f64(),
        parsing.as_secs_f64(),
        rows as f64 / parsing.as_secs_f64(),
        bytes.len() as f64 / 1e6 / parsing.as_secs_f64()
    );
}
