//! The JSON the API reads and writes. Requests are checked twice: serde checks the shape
//! (types, unknown fields), then `TryFrom` checks every field against the domain rules and
//! reports all the invalid ones at once.

pub mod bods;
mod graph;
mod search;
mod years;

pub use graph::{
    BeneficialOwnersOut, ChainLinkOut, ChainOut, GraphEdgeOut, GraphNodeOut, GraphOut,
    UltimateHoldingOut, UltimateHoldingsOut, UltimateOwnerOut, UltimateOwnersOut,
};
pub use search::SearchOut;
pub use years::{
    ChangeOut, ChangesOut, HistoryEntryOut, HistoryOut, HoldingChangeOut, OwnerChangesOut, Span,
    YearOut, YearsOut, rfc3339,
};

use serde::{Deserialize, Serialize};
use shareholders_domain::{
    BirthYear, ClassShares, CompanyProfile, Country, Name, OrgNr, Organisation, OwnerProfile,
    OwnerRef, Percentage, Person, Place, PostalCode, Purchase, ShareClass, ShareCount,
};
use shareholders_ports::{
    ClassEntry, CompanyRecord, HoldingEntry, HoldingsView, OwnerEntry, OwnersView, PageInfo,
    PersonDetails, PersonRecord, PurchaseReceipt, SummaryView,
};

use crate::problem::FieldError;

/// Every invalid field of a request.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct FieldErrors(pub Vec<FieldError>);

/// Collects field errors while the valid parts are built.
#[derive(Default)]
struct Check(Vec<FieldError>);

impl Check {
    fn field<T, E: std::fmt::Display>(&mut self, name: &str, result: Result<T, E>) -> Option<T> {
        result
            .map_err(|e| self.0.push(FieldError::new(name, e)))
            .ok()
    }

    fn optional<T, E: std::fmt::Display>(
        &mut self,
        name: &str,
        value: Option<&str>,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> Option<Option<T>> {
        match value {
            None => Some(None),
            Some(value) => self.field(name, parse(value)).map(Some),
        }
    }

    fn finish<T>(self, value: Option<T>) -> Result<T, FieldErrors> {
        match value {
            Some(value) if self.0.is_empty() => Ok(value),
            _ => Err(FieldErrors(self.0)),
        }
    }
}

fn country(input: Option<&str>, check: &mut Check) -> Option<Country> {
    match input {
        None => Some(Country::NORWAY),
        Some(code) => check.field("country", Country::parse(code)),
    }
}

// ===== Requests =====

/// `POST /api/organization/`.
#[derive(Clone, PartialEq, Eq, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct NewOrganisation {
    pub orgnr: String,
    pub name: String,
    #[serde(default)]
    pub postal_code: Option<String>,
    #[serde(default)]
    pub place: Option<String>,
    #[serde(default)]
    pub country: Option<String>,
    #[serde(default)]
    pub total_shares: Option<u64>,
}

impl TryFrom<NewOrganisation> for Organisation {
    type Error = FieldErrors;

    fn try_from(dto: NewOrganisation) -> Result<Self, FieldErrors> {
        let mut check = Check::default();
        let orgnr = check.field("orgnr", OrgNr::parse(&dto.orgnr));
        let name = check.field("name", Name::parse(&dto.name));
        let postal_code =
            check.optional("postal_code", dto.postal_code.as_deref(), PostalCode::parse);
        let place = check.optional("place", dto.place.as_deref(), Place::parse);
        let country = country(dto.country.as_deref(), &mut check);
        let total_shares = match dto.total_shares {
            None => Some(None),
            Some(n) => check.field("total_shares", ShareCount::new(n)).map(Some),
        };
        let built = match (orgnr, name, postal_code, place, country, total_shares) {
            (
                Some(orgnr),
                Some(name),
                Some(postal_code),
                Some(place),
                Some(country),
                Some(total),
            ) => Some(Organisation::new(
                orgnr,
                name,
                postal_code,
                place,
                country,
                total,
            )),
            _ => None,
        };
        check.finish(built)
    }
}

/// `POST /api/person/`.
#[derive(Clone, PartialEq, Eq, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct NewPerson {
    pub name: String,
    #[serde(default)]
    pub birth_year: Option<i64>,
    #[serde(default)]
    pub postal_code: Option<String>,
    #[serde(default)]
    pub place: Option<String>,
    #[serde(default)]
    pub country: Option<String>,
}

impl TryFrom<NewPerson> for PersonDetails {
    type Error = FieldErrors;

    fn try_from(dto: NewPerson) -> Result<Self, FieldErrors> {
        let mut check = Check::default();
        let name = check.field("name", Name::parse(&dto.name));
        let birth_year = match dto.birth_year {
            None => Some(None),
            Some(year) => check.field("birth_year", BirthYear::new(year)).map(Some),
        };
        let postal_code =
            check.optional("postal_code", dto.postal_code.as_deref(), PostalCode::parse);
        let place = check.optional("place", dto.place.as_deref(), Place::parse);
        let country = country(dto.country.as_deref(), &mut check);
        let built = match (name, birth_year, postal_code, place, country) {
            (Some(name), Some(birth_year), Some(postal_code), Some(place), Some(country)) => {
                Some(PersonDetails {
                    name,
                    birth_year,
                    postal_code,
                    place,
                    country,
                })
            }
            _ => None,
        };
        check.finish(built)
    }
}

/// The owner of a purchase: `{"kind": "organization" | "person", "id": "..."}`.
#[derive(Clone, PartialEq, Eq, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct OwnerRefDto {
    pub kind: String,
    pub id: String,
}

/// `POST /api/share/`.
#[derive(Clone, PartialEq, Eq, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct NewPurchase {
    pub company: String,
    pub owner: OwnerRefDto,
    pub share_class: String,
    pub shares: u64,
}

impl TryFrom<NewPurchase> for Purchase {
    type Error = FieldErrors;

    fn try_from(dto: NewPurchase) -> Result<Self, FieldErrors> {
        let mut check = Check::default();
        let company = check.field("company", OrgNr::parse(&dto.company));
        let owner = match shareholders_domain::OwnerKind::parse(&dto.owner.kind) {
            None => {
                check.0.push(FieldError::new(
                    "owner.kind",
                    format!(
                        "an owner's kind is \"organization\" or \"person\", not {:?}",
                        dto.owner.kind
                    ),
                ));
                None
            }
            Some(_) => check.field("owner.id", OwnerRef::parse(&dto.owner.kind, &dto.owner.id)),
        };
        let share_class = check.field("share_class", ShareClass::parse(&dto.share_class));
        let shares = check.field("shares", ShareCount::new(dto.shares));
        let built = match (company, owner, share_class, shares) {
            (Some(company), Some(owner), Some(class), Some(shares)) => {
                Some(Purchase::new(company, owner, class, shares))
            }
            _ => None,
        };
        check.finish(built)
    }
}

// ===== Responses =====

fn percent(p: Percentage) -> f64 {
    p.as_f64()
}

/// An organisation as registered, with the position of its event.
#[derive(Clone, PartialEq, Debug, Serialize)]
pub struct OrganisationCreated {
    pub orgnr: String,
    pub name: String,
    pub postal_code: Option<String>,
    pub place: Option<String>,
    pub country: String,
    pub total_shares: Option<u64>,
    pub position: u64,
}

impl OrganisationCreated {
    pub fn new(organisation: &Organisation, position: u64) -> Self {
        Self {
            orgnr: organisation.orgnr().to_string(),
            name: organisation.name().to_string(),
            postal_code: organisation.postal_code().map(ToString::to_string),
            place: organisation.place().map(ToString::to_string),
            country: organisation.country().to_string(),
            total_shares: organisation.total_shares().map(ShareCount::get),
            position,
        }
    }
}

/// A person as registered, with the id the server gave it and the position of its event.
#[derive(Clone, PartialEq, Debug, Serialize)]
pub struct PersonCreated {
    pub id: String,
    pub name: String,
    pub birth_year: Option<u16>,
    pub postal_code: Option<String>,
    pub place: Option<String>,
    pub country: String,
    pub position: u64,
}

impl PersonCreated {
    pub fn new(person: &Person, position: u64) -> Self {
        Self {
            id: person.id().to_string(),
            name: person.name().to_string(),
            birth_year: person.birth_year().map(BirthYear::get),
            postal_code: person.postal_code().map(ToString::to_string),
            place: person.place().map(ToString::to_string),
            country: person.country().to_string(),
            position,
        }
    }
}

#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
pub struct OwnerRefOut {
    pub kind: &'static str,
    pub id: String,
}

impl From<&OwnerRef> for OwnerRefOut {
    fn from(owner: &OwnerRef) -> Self {
        Self {
            kind: owner.kind().as_str(),
            id: owner.id().to_owned(),
        }
    }
}

/// A recorded purchase.
#[derive(Clone, PartialEq, Debug, Serialize)]
pub struct PurchaseCreated {
    pub id: u64,
    pub company: String,
    pub owner: OwnerRefOut,
    pub share_class: String,
    pub shares: u64,
    pub treasury: bool,
    pub position: u64,
}

impl PurchaseCreated {
    pub fn new(receipt: &PurchaseReceipt, position: u64) -> Self {
        let purchase = &receipt.purchase;
        Self {
            id: receipt.id.get(),
            company: purchase.company().to_string(),
            owner: purchase.owner().into(),
            share_class: purchase.share_class().to_string(),
            shares: purchase.shares().get(),
            treasury: purchase.is_treasury(),
            position,
        }
    }
}

#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
pub struct ClassTotal {
    pub share_class: String,
    pub shares: u64,
}

fn class_totals(classes: &[ClassShares]) -> Vec<ClassTotal> {
    classes
        .iter()
        .map(|c| ClassTotal {
            share_class: c.share_class.to_string(),
            shares: c.shares,
        })
        .collect()
}

/// `GET /api/organization/{orgnr}`.
#[derive(Clone, PartialEq, Debug, Serialize)]
pub struct OrganisationOut {
    pub orgnr: String,
    pub name: String,
    pub postal_code: Option<String>,
    pub place: Option<String>,
    pub country: String,
    pub total_shares: Option<u64>,
    pub registered_shares: u64,
    pub number_of_owners: u64,
    pub number_of_foreign_owners: u64,
    pub number_of_holdings: u64,
    pub share_classes: Vec<ClassTotal>,
}

impl From<&CompanyRecord> for OrganisationOut {
    fn from(record: &CompanyRecord) -> Self {
        let o = &record.organisation;
        Self {
            orgnr: o.orgnr().to_string(),
            name: o.name().to_string(),
            postal_code: o.postal_code().map(ToString::to_string),
            place: o.place().map(ToString::to_string),
            country: o.country().to_string(),
            total_shares: o.total_shares().map(ShareCount::get),
            registered_shares: record.registered_shares,
            number_of_owners: record.owner_count,
            number_of_foreign_owners: record.foreign_owner_count,
            number_of_holdings: record.holding_count,
            share_classes: class_totals(&record.classes),
        }
    }
}

/// `GET /api/person/{id}`.
#[derive(Clone, PartialEq, Debug, Serialize)]
pub struct PersonOut {
    pub id: String,
    pub name: String,
    pub birth_year: Option<u16>,
    pub postal_code: Option<String>,
    pub place: Option<String>,
    pub country: String,
    pub number_of_holdings: u64,
}

impl From<&PersonRecord> for PersonOut {
    fn from(record: &PersonRecord) -> Self {
        let p = &record.person;
        Self {
            id: p.id().to_string(),
            name: p.name().to_string(),
            birth_year: p.birth_year().map(BirthYear::get),
            postal_code: p.postal_code().map(ToString::to_string),
            place: p.place().map(ToString::to_string),
            country: p.country().to_string(),
            number_of_holdings: record.holding_count,
        }
    }
}

#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
pub struct PageOut {
    pub page: u32,
    pub size: u32,
    pub total_items: u64,
    pub total_pages: u64,
}

impl From<PageInfo> for PageOut {
    fn from(p: PageInfo) -> Self {
        Self {
            page: p.page,
            size: p.size,
            total_items: p.total_items,
            total_pages: p.total_pages,
        }
    }
}

#[derive(Clone, PartialEq, Debug, Serialize)]
pub struct ClassOut {
    pub share_class: String,
    pub shares: u64,
    pub percentage: f64,
}

fn class_entries(classes: &[ClassEntry]) -> Vec<ClassOut> {
    classes
        .iter()
        .map(|c| ClassOut {
            share_class: c.share_class.to_string(),
            shares: c.shares,
            percentage: percent(c.percentage),
        })
        .collect()
}

#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
pub struct OwnerProfileOut {
    pub kind: &'static str,
    pub id: String,
    pub name: String,
    pub country: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub birth_year: Option<u16>,
}

impl From<&OwnerProfile> for OwnerProfileOut {
    fn from(p: &OwnerProfile) -> Self {
        Self {
            kind: p.owner.kind().as_str(),
            id: p.owner.id().to_owned(),
            name: p.name.to_string(),
            country: p.country.to_string(),
            birth_year: p.birth_year.map(BirthYear::get),
        }
    }
}

#[derive(Clone, PartialEq, Debug, Serialize)]
pub struct OwnerOut {
    pub owner: OwnerProfileOut,
    pub shares: u64,
    pub percentage: f64,
    pub classes: Vec<ClassOut>,
    pub treasury: bool,
}

impl From<&OwnerEntry> for OwnerOut {
    fn from(e: &OwnerEntry) -> Self {
        Self {
            owner: (&e.owner).into(),
            shares: e.shares,
            percentage: percent(e.percentage),
            classes: class_entries(&e.classes),
            treasury: e.treasury,
        }
    }
}

/// `GET /api/{orgnr}/owners`.
#[derive(Clone, PartialEq, Debug, Serialize)]
pub struct OwnersOut {
    pub orgnr: String,
    pub name: String,
    pub total_shares: u64,
    pub owners: Vec<OwnerOut>,
    pub page: PageOut,
}

impl From<&OwnersView> for OwnersOut {
    fn from(v: &OwnersView) -> Self {
        Self {
            orgnr: v.company.organisation.orgnr().to_string(),
            name: v.company.organisation.name().to_string(),
            total_shares: v.total_shares,
            owners: v.owners.iter().map(OwnerOut::from).collect(),
            page: v.page.into(),
        }
    }
}

#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
pub struct CompanyOut {
    pub orgnr: String,
    pub name: String,
}

impl From<&CompanyProfile> for CompanyOut {
    fn from(c: &CompanyProfile) -> Self {
        Self {
            orgnr: c.orgnr.to_string(),
            name: c.name.to_string(),
        }
    }
}

#[derive(Clone, PartialEq, Debug, Serialize)]
pub struct HoldingOut {
    pub company: CompanyOut,
    pub shares: u64,
    pub percentage: f64,
    pub classes: Vec<ClassOut>,
}

impl From<&HoldingEntry> for HoldingOut {
    fn from(e: &HoldingEntry) -> Self {
        Self {
            company: (&e.company).into(),
            shares: e.shares,
            percentage: percent(e.percentage),
            classes: class_entries(&e.classes),
        }
    }
}

/// `GET /api/{orgnr}/holdings` and `GET /api/person/{id}/holdings`: the owner's key is
/// `orgnr` or `person_id`.
#[derive(Clone, PartialEq, Debug, Serialize)]
pub struct HoldingsOut {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub orgnr: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub person_id: Option<String>,
    pub holdings: Vec<HoldingOut>,
    pub page: PageOut,
}

impl From<&HoldingsView> for HoldingsOut {
    fn from(v: &HoldingsView) -> Self {
        let (orgnr, person_id) = match &v.owner {
            OwnerRef::Organisation(orgnr) => (Some(orgnr.to_string()), None),
            OwnerRef::Person(id) => (None, Some(id.to_string())),
        };
        Self {
            orgnr,
            person_id,
            holdings: v.holdings.iter().map(HoldingOut::from).collect(),
            page: v.page.into(),
        }
    }
}

/// `GET /api/{orgnr}/summary`.
#[derive(Clone, PartialEq, Debug, Serialize)]
pub struct SummaryOut {
    pub orgnr: String,
    pub name: String,
    pub total_shares: u64,
    pub registered_shares: u64,
    pub number_of_owners: u64,
    pub number_of_holdings: u64,
    pub number_of_foreign_owners: u64,
    pub has_foreign_owners: bool,
    pub share_classes: Vec<ClassTotal>,
    pub has_multiple_share_classes: bool,
    pub interesting: bool,
    pub interesting_because: Vec<&'static str>,
    pub largest_owner: Option<OwnerOut>,
}

impl From<&SummaryView> for SummaryOut {
    fn from(v: &SummaryView) -> Self {
        let c = &v.company;
        Self {
            orgnr: c.organisation.orgnr().to_string(),
            name: c.organisation.name().to_string(),
            total_shares: v.total_shares,
            registered_shares: c.registered_shares,
            number_of_owners: c.owner_count,
            number_of_holdings: c.holding_count,
            number_of_foreign_owners: c.foreign_owner_count,
            has_foreign_owners: v.interest.foreign_owners,
            share_classes: class_totals(&v.share_classes),
            has_multiple_share_classes: v.interest.multiple_share_classes,
            interesting: v.interest.is_interesting(),
            interesting_because: v.interest.reasons(),
            largest_owner: v.largest_owner.as_ref().map(OwnerOut::from),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    fn org(orgnr: &str, name: &str, country: Option<&str>, total: Option<u64>) -> NewOrganisation {
        NewOrganisation {
            orgnr: orgnr.into(),
            name: name.into(),
            postal_code: None,
            place: None,
            country: country.map(Into::into),
            total_shares: total,
        }
    }

    fn fields(errors: FieldErrors) -> Vec<String> {
        errors.0.into_iter().map(|e| e.field).collect()
    }

    #[rstest]
    #[case(org("988844322", "TVIST 1 AS", None, Some(120)), &[])]
    #[case(org("123456789", "TVIST 1 AS", None, None), &["orgnr"])]
    #[case(org("988844322", " ", Some("QQ"), Some(0)), &["name", "country", "total_shares"])]
    #[case(org("x", "", Some("N0"), Some(u64::MAX)), &["orgnr", "name", "country", "total_shares"])]
    fn organisations_report_every_invalid_field(
        #[case] dto: NewOrganisation,
        #[case] expected: &[&str],
    ) {
        let result = Organisation::try_from(dto);
        match result {
            Ok(o) => {
                assert!(expected.is_empty(), "expected errors in {expected:?}");
                assert_eq!(o.country(), Country::NORWAY);
            }
            Err(errors) => assert_eq!(fields(errors), expected),
        }
    }

    #[rstest]
    #[case("organization", "885648312", 3, &[])]
    #[case("person", "abc-1", 3, &[])]
    #[case("company", "885648312", 3, &["owner.kind"])]
    #[case("organization", "885648311", 0, &["owner.id", "shares"])]
    #[case("person", "a b", ShareCount::MAX + 1, &["owner.id", "shares"])]
    fn purchases_report_every_invalid_field(
        #[case] kind: &str,
        #[case] id: &str,
        #[case] shares: u64,
        #[case] expected: &[&str],
    ) {
        let dto = NewPurchase {
            company: "988844322".into(),
            owner: OwnerRefDto {
                kind: kind.into(),
                id: id.into(),
            },
            share_class: "A-aksje".into(),
            shares,
        };
        match Purchase::try_from(dto) {
            Ok(p) => {
                assert!(expected.is_empty());
                assert_eq!(p.share_class().as_str(), "A-aksjer");
            }
            Err(errors) => assert_eq!(fields(errors), expected),
        }
    }

    #[rstest]
    #[case(Some(1956), Some("SWE"), &[])]
    #[case(Some(1700), Some("SWE"), &["birth_year"])]
    #[case(Some(-1), Some("XXXX"), &["birth_year", "country"])]
    fn persons_report_every_invalid_field(
        #[case] year: Option<i64>,
        #[case] country: Option<&str>,
        #[case] expected: &[&str],
    ) {
        let dto = NewPerson {
            name: "HAGEN STEIN ERIK".into(),
            birth_year: year,
            postal_code: None,
            place: None,
            country: country.map(Into::into),
        };
        match PersonDetails::try_from(dto) {
            Ok(p) => {
                assert!(expected.is_empty());
                assert_eq!(p.country.alpha2(), "SE");
            }
            Err(errors) => assert_eq!(fields(errors), expected),
        }
    }
}
