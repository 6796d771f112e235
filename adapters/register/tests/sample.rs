//! The 20 real sample rows of the public coding challenge.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::BufReader;
use std::path::PathBuf;

use shareholders_domain::{Country, ShareCount};
use shareholders_ports::{RegisterHolder, RegisterLine};
use shareholders_register::{Parsed, RegisterReader};

fn sample_path() -> PathBuf {
    // adapters/register → repo root → ../shared/data
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let root = manifest
        .ancestors()
        .find(|dir| dir.join("Cargo.lock").exists() || dir.join(".git").exists())
        .expect("the repository root")
        .to_path_buf();
    root.join("samples/register-sample.csv")
}

fn sample_lines() -> Vec<RegisterLine> {
    let file = File::open(sample_path()).expect("the sample file");
    RegisterReader::new(BufReader::new(file))
        .map(|parsed| match parsed.expect("readable") {
            Parsed::Line(line) => line,
            Parsed::Reject(reject) => panic!("unexpected reject: {reject:?}"),
        })
        .collect()
}

fn holder_key(line: &RegisterLine) -> (String, String) {
    match &line.holder {
        RegisterHolder::Organisation(org) => ("org".into(), org.orgnr().to_string()),
        RegisterHolder::Person(person) => ("person".into(), person.name().to_string()),
    }
}

#[test]
fn all_twenty_rows_load_in_order() {
    let lines = sample_lines();
    assert_eq!(lines.len(), 20);
    let numbers: Vec<u64> = lines.iter().map(|line| line.line).collect();
    assert_eq!(numbers, (1..=20).collect::<Vec<_>>());
}

#[test]
fn tvist_1_has_a_and_b_shares_adding_up_to_its_total() {
    let lines = sample_lines();
    let tvist: Vec<&RegisterLine> = lines
        .iter()
        .filter(|line| line.company.orgnr().as_str() == "988844322")
        .collect();
    assert_eq!(tvist.len(), 2);
    let by_class: BTreeMap<&str, u64> = tvist
        .iter()
        .map(|line| (line.share_class.as_str(), line.shares.get()))
        .collect();
    assert_eq!(
        by_class,
        BTreeMap::from([("A-aksjer", 3), ("B-aksjer", 117)])
    );
    for line in &tvist {
        assert_eq!(line.company.name().as_str(), "TVIST 1 AS");
        assert_eq!(line.company.total_shares().map(ShareCount::get), Some(120));
        assert_eq!(line.company.country(), Country::NORWAY);
    }
    assert_eq!(by_class.values().sum::<u64>(), 120);
}

#[test]
fn holders_are_organisations_or_persons_with_their_countries() {
    let lines = sample_lines();
    let persons = lines
        .iter()
        .filter(|line| matches!(line.holder, RegisterHolder::Person(_)))
        .count();
    assert_eq!(persons, 6);
    assert_eq!(lines.len() - persons, 14);

    // Row 2: a Swiss person without an address (alpha-3 CHE → CH).
    let RegisterHolder::Person(kjos) = &lines[1].holder else {
        panic!("row 2 is a person")
    };
    assert_eq!(kjos.name().as_str(), "KJOS CAROLINE MARIE HAGEN");
    assert_eq!(kjos.birth_year().map(|y| y.get()), Some(1984));
    assert_eq!(kjos.country().alpha2(), "CH");
    assert!(kjos.country().is_foreign());
    assert_eq!(kjos.postal_code(), None);
    assert_eq!(kjos.place(), None);

    // The same person on rows 2 and 5 gets the same id; Stein Erik on rows 1 and 4 too.
    let id = |index: usize| match &lines[index].holder {
        RegisterHolder::Person(person) => person.id().clone(),
        RegisterHolder::Organisation(_) => panic!("row {} is a person", index + 1),
    };
    assert_eq!(id(1), id(4));
    assert_eq!(id(0), id(3));
    assert_ne!(id(0), id(1));

    // Row 7: TVIST 1 AS holds A-shares of CANICA INVESTOR AS.
    let RegisterHolder::Organisation(tvist) = &lines[6].holder else {
        panic!("row 7 is an organisation")
    };
    assert_eq!(tvist.orgnr().as_str(), "988844322");
    assert_eq!(tvist.name().as_str(), "TVIST 1 AS");
    assert_eq!(tvist.postal_code().map(|c| c.as_str()), Some("0213"));
    assert_eq!(tvist.place().map(|p| p.as_str()), Some("OSLO"));
    assert_eq!(tvist.country(), Country::NORWAY);
    assert_eq!(tvist.total_shares(), None);
    assert_eq!(lines[6].company.orgnr().as_str(), "885648312");
    assert_eq!(lines[6].share_class.as_str(), "A-aksjer");
    assert_eq!(lines[6].shares.get(), 3);

    // Canica Eiendom (891450052) holds shares of the eleven companies on rows 10-20.
    let canica_eiendom = lines
        .iter()
        .filter(|line| holder_key(line) == ("org".into(), "891450052".into()))
        .count();
    assert_eq!(canica_eiendom, 11);
}

#[test]
fn norwegian_classes_and_totals_are_kept() {
    let lines = sample_lines();
    let last = &lines[19];
    assert_eq!(last.company.orgnr().as_str(), "992569077");
    assert_eq!(last.company.name().as_str(), "RÅDHUSGATEN 24 AS");
    assert_eq!(last.share_class.as_str(), "Ordinære aksjer");
    assert_eq!(last.shares.get(), 750);
    assert_eq!(last.company.total_shares().map(ShareCount::get), Some(750));

    // 885648312: 36 + 9 + 36 + 36 B-shares and 3 A-shares = 120 declared.
    let canica: u64 = lines
        .iter()
        .filter(|line| line.company.orgnr().as_str() == "885648312")
        .map(|line| line.shares.get())
        .sum();
    assert_eq!(canica, 120);
    let m62 = lines
        .iter()
        .find(|line| line.company.orgnr().as_str() == "911964236")
        .expect("M62");
    assert_eq!(m62.shares.get(), 500);
    assert_eq!(m62.company.total_shares().map(ShareCount::get), Some(1000));
}
