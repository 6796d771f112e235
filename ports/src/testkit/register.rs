//! Register values for tests, each valid by construction (they panic on a label the domain
//! refuses, which is a mistake in the test).

use shareholders_domain::{
    BirthYear, Country, Name, OrgNr, Organisation, OwnerRef, Person, PersonId, Place, PostalCode,
    Purchase, ShareClass, ShareCount,
};

/// The `n`th test orgnr: the 8-digit stem `80000000 + 10n + k` for the first `k` that has a
/// MOD11 check digit. Increasing in `n`, distinct for every `n` below 2,000,000.
///
/// # Panics
/// When `n` is 2,000,000 or more.
#[must_use]
pub fn orgnr(n: u32) -> OrgNr {
    assert!(n < 2_000_000, "test orgnr {n} has no 8-digit stem");
    (0..10)
        .map(|k| 80_000_000 + n * 10 + k)
        .find_map(|stem| (0..10).find_map(|check| OrgNr::parse(&format!("{stem:08}{check}")).ok()))
        .expect("one of ten consecutive stems has a check digit")
}

/// # Panics
/// When the domain refuses the name.
#[must_use]
pub fn name(s: &str) -> Name {
    Name::parse(s).expect("a valid name")
}

/// # Panics
/// When the domain refuses the class.
#[must_use]
pub fn class(s: &str) -> ShareClass {
    ShareClass::parse(s).expect("a valid share class")
}

/// # Panics
/// When `n` is zero.
#[must_use]
pub fn shares(n: u64) -> ShareCount {
    ShareCount::new(n).expect("a positive share count")
}

/// # Panics
/// When the code is no country code.
#[must_use]
pub fn country(code: &str) -> Country {
    Country::parse(code).expect("a valid country")
}

/// A Norwegian organisation in 0150 OSLO.
#[must_use]
pub fn organisation(nr: OrgNr, label: &str, total: Option<u64>) -> Organisation {
    Organisation::new(
        nr,
        name(label),
        Some(PostalCode::parse("0150").expect("a valid postal code")),
        Some(Place::parse("OSLO").expect("a valid place")),
        Country::NORWAY,
        total.map(shares),
    )
}

/// A Swedish organisation without an address or a declared total.
#[must_use]
pub fn foreign_organisation(nr: OrgNr, label: &str) -> Organisation {
    Organisation::new(nr, name(label), None, None, country("SE"), None)
}

/// A person born in 1970, without an address.
///
/// # Panics
/// When the domain refuses the id.
#[must_use]
pub fn person(id: &str, label: &str, code: &str) -> Person {
    Person::new(
        PersonId::parse(id).expect("a valid person id"),
        name(label),
        BirthYear::new(1970).ok(),
        None,
        None,
        country(code),
    )
}

/// # Panics
/// When the domain refuses the id.
#[must_use]
pub fn person_ref(id: &str) -> OwnerRef {
    OwnerRef::Person(PersonId::parse(id).expect("a valid person id"))
}

#[must_use]
pub fn org_ref(nr: OrgNr) -> OwnerRef {
    OwnerRef::Organisation(nr)
}

#[must_use]
pub fn purchase(company: OrgNr, owner: OwnerRef, share_class: &str, n: u64) -> Purchase {
    Purchase::new(company, owner, class(share_class), shares(n))
}

#[cfg(test)]
mod tests {
    use super::orgnr;

    #[test]
    fn test_orgnrs_are_valid_increasing_and_distinct() {
        let all: Vec<_> = (0..5_000).map(orgnr).collect();
        assert!(all.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(orgnr(1_999_999).as_str().len(), 9);
    }
}
