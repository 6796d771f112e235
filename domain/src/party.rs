//! The parties of the register: organisations and persons, the owners they become, and the
//! purchases that make them owners.

use std::fmt;

use crate::{Country, Name, OrgNr, Place, PostalCode, ShareClass, ShareCount};

/// A person's birth year, as the register gives it (1800–2100).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct BirthYear(u16);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a birth year is between {min} and {max}, not {0}", min = BirthYear::MIN, max = BirthYear::MAX)]
pub struct BirthYearError(pub i64);

impl BirthYear {
    pub const MIN: u16 = 1800;
    pub const MAX: u16 = 2100;

    /// # Errors
    /// [`BirthYearError`] outside 1800–2100.
    pub fn new(year: i64) -> Result<Self, BirthYearError> {
        u16::try_from(year)
            .ok()
            .filter(|y| (Self::MIN..=Self::MAX).contains(y))
            .map(Self)
            .ok_or(BirthYearError(year))
    }

    #[must_use]
    pub fn get(self) -> u16 {
        self.0
    }
}

/// A person's identifier. The register gives persons no identifier, so one is either assigned
/// by the service (an API registration) or derived from what the register says of the person
/// ([`PersonId::derive`], for imports): 1 to 64 characters of ASCII letters, digits, `-`, `_`.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PersonId(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PersonIdError {
    #[error("a person id has 1 to 64 characters, not {0}")]
    Length(usize),
    #[error("a person id has only ASCII letters, digits, '-' and '_'")]
    Characters,
}

impl PersonId {
    /// # Errors
    /// [`PersonIdError`] for an empty, too long or oddly spelt id.
    pub fn parse(input: &str) -> Result<Self, PersonIdError> {
        let length = input.chars().count();
        if !(1..=64).contains(&length) {
            return Err(PersonIdError::Length(length));
        }
        if !input
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(PersonIdError::Characters);
        }
        Ok(Self(input.to_owned()))
    }

    /// A deterministic id from what the register says of a holder without an orgnr: name,
    /// birth year, postal code, place and country. The same holder always gets the same id, so
    /// importing a file twice changes nothing. It is the 128-bit FNV-1a hash of those fields,
    /// as 32 lowercase hex digits.
    #[must_use]
    pub fn derive(
        name: &Name,
        birth_year: Option<BirthYear>,
        postal_code: Option<&PostalCode>,
        place: Option<&Place>,
        country: Country,
    ) -> Self {
        const OFFSET: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
        const PRIME: u128 = 0x0000_0000_0100_0000_0000_0000_0000_013b;
        let year = birth_year.map(|y| y.get().to_string()).unwrap_or_default();
        let fields = [
            name.as_str(),
            year.as_str(),
            postal_code.map_or("", PostalCode::as_str),
            place.map_or("", Place::as_str),
            country.alpha2(),
        ];
        let mut hash = OFFSET;
        for field in fields {
            for byte in field.bytes().chain([0x1f]) {
                hash ^= u128::from(byte);
                hash = hash.wrapping_mul(PRIME);
            }
        }
        Self(format!("{hash:032x}"))
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PersonId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for PersonId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PersonId({})", self.0)
    }
}

/// An organisation: a company that issues shares, an owner of shares, or both.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Organisation {
    orgnr: OrgNr,
    name: Name,
    postal_code: Option<PostalCode>,
    place: Option<Place>,
    country: Country,
    total_shares: Option<ShareCount>,
}

impl Organisation {
    /// Every part is already valid, so this cannot fail. `total_shares` is the number of shares
    /// the company has issued over all classes, when known (the register's "Antall aksjer
    /// selskap").
    #[must_use]
    pub fn new(
        orgnr: OrgNr,
        name: Name,
        postal_code: Option<PostalCode>,
        place: Option<Place>,
        country: Country,
        total_shares: Option<ShareCount>,
    ) -> Self {
        Self {
            orgnr,
            name,
            postal_code,
            place,
            country,
            total_shares,
        }
    }

    #[must_use]
    pub fn orgnr(&self) -> OrgNr {
        self.orgnr
    }
    #[must_use]
    pub fn name(&self) -> &Name {
        &self.name
    }
    #[must_use]
    pub fn postal_code(&self) -> Option<&PostalCode> {
        self.postal_code.as_ref()
    }
    #[must_use]
    pub fn place(&self) -> Option<&Place> {
        self.place.as_ref()
    }
    #[must_use]
    pub fn country(&self) -> Country {
        self.country
    }
    #[must_use]
    pub fn total_shares(&self) -> Option<ShareCount> {
        self.total_shares
    }
}

/// A natural person, or a foreign holder the register gives no orgnr.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Person {
    id: PersonId,
    name: Name,
    birth_year: Option<BirthYear>,
    postal_code: Option<PostalCode>,
    place: Option<Place>,
    country: Country,
}

impl Person {
    #[must_use]
    pub fn new(
        id: PersonId,
        name: Name,
        birth_year: Option<BirthYear>,
        postal_code: Option<PostalCode>,
        place: Option<Place>,
        country: Country,
    ) -> Self {
        Self {
            id,
            name,
            birth_year,
            postal_code,
            place,
            country,
        }
    }

    #[must_use]
    pub fn id(&self) -> &PersonId {
        &self.id
    }
    #[must_use]
    pub fn name(&self) -> &Name {
        &self.name
    }
    #[must_use]
    pub fn birth_year(&self) -> Option<BirthYear> {
        self.birth_year
    }
    #[must_use]
    pub fn postal_code(&self) -> Option<&PostalCode> {
        self.postal_code.as_ref()
    }
    #[must_use]
    pub fn place(&self) -> Option<&Place> {
        self.place.as_ref()
    }
    #[must_use]
    pub fn country(&self) -> Country {
        self.country
    }
}

/// Whether an owner is an organisation or a person.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub enum OwnerKind {
    Organisation,
    Person,
}

impl OwnerKind {
    /// The name the API uses: `organization` or `person`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Organisation => "organization",
            Self::Person => "person",
        }
    }

    /// Reads [`OwnerKind::as_str`] back.
    #[must_use]
    pub fn parse(input: &str) -> Option<Self> {
        match input {
            "organization" => Some(Self::Organisation),
            "person" => Some(Self::Person),
            _ => None,
        }
    }
}

/// Who owns a holding: an organisation by orgnr, or a person by id.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub enum OwnerRef {
    Organisation(OrgNr),
    Person(PersonId),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OwnerRefError {
    #[error("an owner's kind is \"organization\" or \"person\", not {0:?}")]
    Kind(String),
    #[error(transparent)]
    OrgNr(#[from] crate::OrgNrError),
    #[error(transparent)]
    PersonId(#[from] PersonIdError),
}

impl OwnerRef {
    /// # Errors
    /// [`OwnerRefError`] for an unknown kind or an id that is invalid for that kind.
    pub fn parse(kind: &str, id: &str) -> Result<Self, OwnerRefError> {
        match OwnerKind::parse(kind) {
            Some(OwnerKind::Organisation) => Ok(Self::Organisation(OrgNr::parse(id)?)),
            Some(OwnerKind::Person) => Ok(Self::Person(PersonId::parse(id)?)),
            None => Err(OwnerRefError::Kind(kind.to_owned())),
        }
    }

    #[must_use]
    pub fn kind(&self) -> OwnerKind {
        match self {
            Self::Organisation(_) => OwnerKind::Organisation,
            Self::Person(_) => OwnerKind::Person,
        }
    }

    /// The orgnr or the person id.
    #[must_use]
    pub fn id(&self) -> &str {
        match self {
            Self::Organisation(orgnr) => orgnr.as_str(),
            Self::Person(id) => id.as_str(),
        }
    }
}

impl fmt::Display for OwnerRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.kind().as_str(), self.id())
    }
}

/// The identifier a store gives a recorded purchase.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct PurchaseId(u64);

impl PurchaseId {
    #[must_use]
    pub fn new(id: u64) -> Self {
        Self(id)
    }
    #[must_use]
    pub fn get(self) -> u64 {
        self.0
    }
}

/// An owner buys a number of shares of one class in a company.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Purchase {
    company: OrgNr,
    owner: OwnerRef,
    share_class: ShareClass,
    shares: ShareCount,
}

impl Purchase {
    #[must_use]
    pub fn new(
        company: OrgNr,
        owner: OwnerRef,
        share_class: ShareClass,
        shares: ShareCount,
    ) -> Self {
        Self {
            company,
            owner,
            share_class,
            shares,
        }
    }
    #[must_use]
    pub fn company(&self) -> OrgNr {
        self.company
    }
    #[must_use]
    pub fn owner(&self) -> &OwnerRef {
        &self.owner
    }
    #[must_use]
    pub fn share_class(&self) -> &ShareClass {
        &self.share_class
    }
    #[must_use]
    pub fn shares(&self) -> ShareCount {
        self.shares
    }
    /// A company holding its own shares: treasury shares.
    #[must_use]
    pub fn is_treasury(&self) -> bool {
        self.owner == OwnerRef::Organisation(self.company)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case(1956, Ok(1956))]
    #[case(1800, Ok(1800))]
    #[case(2100, Ok(2100))]
    #[case(1799, Err(BirthYearError(1799)))]
    #[case(-5, Err(BirthYearError(-5)))]
    #[case(70000, Err(BirthYearError(70000)))]
    fn birth_years_are_plausible(
        #[case] input: i64,
        #[case] expected: Result<u16, BirthYearError>,
    ) {
        assert_eq!(BirthYear::new(input).map(BirthYear::get), expected);
    }

    #[rstest]
    #[case("organization", "988844322", true)]
    #[case("person", "0f3a-b_C", true)]
    #[case("organization", "123456789", false)]
    #[case("company", "988844322", false)]
    #[case("person", "", false)]
    #[case("person", "a b", false)]
    #[case("person", "é", false)]
    fn owner_refs_are_checked_by_kind(#[case] kind: &str, #[case] id: &str, #[case] ok: bool) {
        assert_eq!(OwnerRef::parse(kind, id).is_ok(), ok);
    }

    fn name(s: &str) -> Name {
        Name::parse(s).expect("valid name")
    }

    #[test]
    fn derived_person_ids_are_deterministic_and_distinguish_fields() {
        let no = Country::NORWAY;
        let ch = Country::parse("CHE").expect("valid");
        let oslo = Place::parse("OSLO").expect("valid");
        let code = PostalCode::parse("0790").expect("valid");
        let year = BirthYear::new(1956).ok();
        let base = PersonId::derive(
            &name("HAGEN STEIN ERIK"),
            year,
            Some(&code),
            Some(&oslo),
            no,
        );
        let again = PersonId::derive(
            &name("HAGEN  STEIN ERIK "),
            year,
            Some(&code),
            Some(&oslo),
            no,
        );
        assert_eq!(base, again);
        assert_eq!(base.as_str().len(), 32);
        assert!(PersonId::parse(base.as_str()).is_ok());
        let variants = [
            PersonId::derive(&name("HAGEN STEIN"), year, Some(&code), Some(&oslo), no),
            PersonId::derive(
                &name("HAGEN STEIN ERIK"),
                None,
                Some(&code),
                Some(&oslo),
                no,
            ),
            PersonId::derive(&name("HAGEN STEIN ERIK"), year, None, Some(&oslo), no),
            PersonId::derive(&name("HAGEN STEIN ERIK"), year, Some(&code), None, no),
            PersonId::derive(
                &name("HAGEN STEIN ERIK"),
                year,
                Some(&code),
                Some(&oslo),
                ch,
            ),
        ];
        for variant in &variants {
            assert_ne!(variant, &base);
        }
    }

    #[test]
    fn a_company_owning_itself_holds_treasury_shares() {
        let company = OrgNr::parse("988844322").expect("valid");
        let other = OrgNr::parse("885648312").expect("valid");
        let class = ShareClass::parse("A-aksjer").expect("valid");
        let one = ShareCount::new(1).expect("valid");
        assert!(
            Purchase::new(company, OwnerRef::Organisation(company), class.clone(), one)
                .is_treasury()
        );
        assert!(!Purchase::new(company, OwnerRef::Organisation(other), class, one).is_treasury());
    }
}
