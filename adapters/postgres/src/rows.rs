//! Turning stored values back into domain values, checked like any other input.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context as _, anyhow};
use shareholders_domain::{
    BirthYear, ClassShares, Country, Name, OrgNr, Organisation, OwnerKind, OwnerRef, Person,
    PersonId, Place, PostalCode, ShareClass, ShareCount,
};

pub(crate) const ORGANISATION: &str = "organization";
pub(crate) const PERSON: &str = "person";

pub(crate) fn kind_str(owner: &OwnerRef) -> &'static str {
    match owner.kind() {
        OwnerKind::Organisation => ORGANISATION,
        OwnerKind::Person => PERSON,
    }
}

/// A moment stored as milliseconds since the epoch (`extract(epoch FROM …) * 1000`), back.
pub(crate) fn system_time(millis: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(u64::try_from(millis).unwrap_or_default())
}

pub(crate) fn to_i64(value: u64, what: &str) -> anyhow::Result<i64> {
    i64::try_from(value).with_context(|| format!("{what} {value} does not fit a bigint"))
}

pub(crate) fn to_u64(value: i64, what: &str) -> anyhow::Result<u64> {
    u64::try_from(value).with_context(|| format!("stored {what} {value} is negative"))
}

pub(crate) fn orgnr(value: &str) -> anyhow::Result<OrgNr> {
    OrgNr::parse(value).with_context(|| format!("stored orgnr {value:?}"))
}

pub(crate) fn name(value: &str) -> anyhow::Result<Name> {
    Name::parse(value).with_context(|| format!("stored name {value:?}"))
}

pub(crate) fn country(value: &str) -> anyhow::Result<Country> {
    Country::parse(value).with_context(|| format!("stored country {value:?}"))
}

pub(crate) fn postal_code(value: Option<&str>) -> anyhow::Result<Option<PostalCode>> {
    value
        .map(|v| PostalCode::parse(v).with_context(|| format!("stored postal code {v:?}")))
        .transpose()
}

pub(crate) fn place(value: Option<&str>) -> anyhow::Result<Option<Place>> {
    value
        .map(|v| Place::parse(v).with_context(|| format!("stored place {v:?}")))
        .transpose()
}

pub(crate) fn total(value: Option<i64>) -> anyhow::Result<Option<ShareCount>> {
    value
        .map(|v| {
            let v = to_u64(v, "total")?;
            ShareCount::new(v).with_context(|| format!("stored total {v}"))
        })
        .transpose()
}

pub(crate) fn birth_year(value: Option<i16>) -> anyhow::Result<Option<BirthYear>> {
    value
        .map(|v| BirthYear::new(i64::from(v)).with_context(|| format!("stored birth year {v}")))
        .transpose()
}

pub(crate) fn owner(kind: &str, id: &str) -> anyhow::Result<OwnerRef> {
    OwnerRef::parse(kind, id).with_context(|| format!("stored owner {kind} {id:?}"))
}

pub(crate) fn classes(names: Vec<String>, shares: Vec<i64>) -> anyhow::Result<Vec<ClassShares>> {
    if names.len() != shares.len() {
        return Err(anyhow!("class names and share counts differ in length"));
    }
    names
        .into_iter()
        .zip(shares)
        .map(|(name, shares)| {
            Ok(ClassShares {
                share_class: ShareClass::parse(&name)
                    .with_context(|| format!("stored share class {name:?}"))?,
                shares: to_u64(shares, "shares")?,
            })
        })
        .collect()
}

/// The columns of an organisation, in table order.
pub(crate) struct OrganisationRow {
    pub orgnr: String,
    pub name: String,
    pub postal_code: Option<String>,
    pub place: Option<String>,
    pub country: String,
    pub total_shares: Option<i64>,
}

impl OrganisationRow {
    pub(crate) fn into_domain(self) -> anyhow::Result<Organisation> {
        Ok(Organisation::new(
            orgnr(&self.orgnr)?,
            name(&self.name)?,
            postal_code(self.postal_code.as_deref())?,
            place(self.place.as_deref())?,
            country(&self.country)?,
            total(self.total_shares)?,
        ))
    }
}

pub(crate) struct PersonRow {
    pub id: String,
    pub name: String,
    pub birth_year: Option<i16>,
    pub postal_code: Option<String>,
    pub place: Option<String>,
    pub country: String,
}

impl PersonRow {
    pub(crate) fn into_domain(self) -> anyhow::Result<Person> {
        Ok(Person::new(
            PersonId::parse(&self.id).with_context(|| format!("stored person id {:?}", self.id))?,
            name(&self.name)?,
            birth_year(self.birth_year)?,
            postal_code(self.postal_code.as_deref())?,
            place(self.place.as_deref())?,
            country(&self.country)?,
        ))
    }
}
