//! Converting between the domain's types and the read model's BSON documents.
//!
//! Counts and versions are stored as `Int64` (every `ShareCount` fits, see `ShareCount::MAX`);
//! countries as their alpha-2 code; owner kinds as `organization` / `person`.

use anyhow::{Context, anyhow, bail};
use mongodb::bson::{Bson, Document, doc};
use shareholders_domain::{
    BirthYear, ClassShares, CompanyProfile, Country, Name, OrgNr, Organisation, OwnerProfile,
    OwnerRef, Person, PersonId, Place, PostalCode, ShareClass, ShareCount,
};

/// A `u64` as the `Int64` the documents hold.
pub(crate) fn int(value: u64, what: &str) -> anyhow::Result<Bson> {
    i64::try_from(value)
        .map(Bson::Int64)
        .map_err(|_| anyhow!("{what} {value} does not fit a 64-bit signed integer"))
}

fn optional<T>(value: Option<T>, into: impl FnOnce(T) -> Bson) -> Bson {
    value.map_or(Bson::Null, into)
}

pub(crate) fn classes(classes: &[ClassShares]) -> anyhow::Result<Bson> {
    classes
        .iter()
        .map(|class| {
            Ok(Bson::Document(doc! {
                "share_class": class.share_class.as_str(),
                "shares": int(class.shares, "shares")?,
            }))
        })
        .collect::<anyhow::Result<Vec<_>>>()
        .map(Bson::Array)
}

/// The sum of a holding's classes, checked.
pub(crate) fn total(classes: &[ClassShares]) -> anyhow::Result<u64> {
    classes
        .iter()
        .try_fold(0u64, |sum, class| sum.checked_add(class.shares))
        .ok_or_else(|| anyhow!("a holding's shares overflow"))
}

pub(crate) fn total_shares(total: Option<ShareCount>) -> anyhow::Result<Bson> {
    total.map_or(Ok(Bson::Null), |t| int(t.get(), "total_shares"))
}

/// The immutable profile fields of an organisation's document.
pub(crate) fn organisation_profile(organisation: &Organisation) -> Document {
    doc! {
        "name": organisation.name().as_str(),
        "postal_code": optional(organisation.postal_code(), |p| Bson::String(p.as_str().to_owned())),
        "place": optional(organisation.place(), |p| Bson::String(p.as_str().to_owned())),
        "country": organisation.country().alpha2(),
        "registered": true,
        "search": crate::search::search_field(organisation.name().as_str()),
    }
}

/// The immutable profile fields of a person's document.
pub(crate) fn person_profile(person: &Person) -> Document {
    doc! {
        "name": person.name().as_str(),
        "birth_year": optional(person.birth_year(), |y| Bson::Int32(i32::from(y.get()))),
        "postal_code": optional(person.postal_code(), |p| Bson::String(p.as_str().to_owned())),
        "place": optional(person.place(), |p| Bson::String(p.as_str().to_owned())),
        "country": person.country().alpha2(),
        "registered": true,
        "search": crate::search::search_field(person.name().as_str()),
    }
}

/// The issuer state group of an organisation's document.
pub(crate) struct IssuerState<'a> {
    pub version: u64,
    pub total_shares: Option<ShareCount>,
    pub registered_shares: u64,
    pub owner_count: u64,
    pub foreign_owner_count: u64,
    pub classes: &'a [ClassShares],
}

impl IssuerState<'_> {
    pub(crate) fn document(&self) -> anyhow::Result<Document> {
        Ok(doc! {
            "version": int(self.version, "version")?,
            "total_shares": total_shares(self.total_shares)?,
            "registered_shares": int(self.registered_shares, "registered_shares")?,
            "owner_count": int(self.owner_count, "owner_count")?,
            "foreign_owner_count": int(self.foreign_owner_count, "foreign_owner_count")?,
            "classes": classes(self.classes)?,
        })
    }
}

/// The owner state group of an organisation's or a person's document.
pub(crate) fn owner_state(version: u64, holding_count: u64) -> anyhow::Result<Document> {
    Ok(doc! {
        "owner_version": int(version, "owner_version")?,
        "holding_count": int(holding_count, "holding_count")?,
    })
}

/// A holding's `_id`: `<orgnr>/<kind>/<id>`. Sorting by it sorts by company, then owner kind
/// (`organization` before `person`), then owner id, bytewise.
pub(crate) fn holding_id(company: OrgNr, owner: &OwnerRef) -> String {
    format!("{company}/{}/{}", owner.kind().as_str(), owner.id())
}

pub(crate) fn holding(
    company: &CompanyProfile,
    owner: &OwnerProfile,
    classes_held: &[ClassShares],
    version: u64,
) -> anyhow::Result<Document> {
    Ok(doc! {
        "company": {
            "orgnr": company.orgnr.as_str(),
            "name": company.name.as_str(),
            "total_shares": total_shares(company.total_shares)?,
        },
        "owner": {
            "kind": owner.owner.kind().as_str(),
            "id": owner.owner.id(),
            "name": owner.name.as_str(),
            "country": owner.country.alpha2(),
            "birth_year": optional(owner.birth_year, |y| Bson::Int32(i32::from(y.get()))),
        },
        "classes": classes(classes_held)?,
        "shares": int(total(classes_held)?, "shares")?,
        "version": int(version, "version")?,
    })
}

// ---- reading ----

pub(crate) fn get_u64(doc: &Document, key: &str) -> anyhow::Result<u64> {
    get_opt_u64(doc, key)?.ok_or_else(|| anyhow!("field {key} is missing"))
}

pub(crate) fn get_opt_u64(doc: &Document, key: &str) -> anyhow::Result<Option<u64>> {
    let value = match doc.get(key) {
        None | Some(Bson::Null) => return Ok(None),
        Some(Bson::Int64(v)) => *v,
        Some(Bson::Int32(v)) => i64::from(*v),
        Some(other) => bail!("field {key} is not an integer: {other}"),
    };
    u64::try_from(value)
        .map(Some)
        .map_err(|_| anyhow!("field {key} is negative: {value}"))
}

pub(crate) fn get_str<'a>(doc: &'a Document, key: &str) -> anyhow::Result<&'a str> {
    get_opt_str(doc, key)?.ok_or_else(|| anyhow!("field {key} is missing"))
}

fn get_opt_str<'a>(doc: &'a Document, key: &str) -> anyhow::Result<Option<&'a str>> {
    match doc.get(key) {
        None | Some(Bson::Null) => Ok(None),
        Some(Bson::String(s)) => Ok(Some(s)),
        Some(other) => bail!("field {key} is not a string: {other}"),
    }
}

pub(crate) fn get_doc<'a>(doc: &'a Document, key: &str) -> anyhow::Result<&'a Document> {
    doc.get_document(key)
        .with_context(|| format!("field {key} is not a document"))
}

fn read_total_shares(doc: &Document) -> anyhow::Result<Option<ShareCount>> {
    get_opt_u64(doc, "total_shares")?
        .map(ShareCount::new)
        .transpose()
        .context("total_shares")
}

fn read_birth_year(doc: &Document) -> anyhow::Result<Option<BirthYear>> {
    get_opt_u64(doc, "birth_year")?
        .map(|y| BirthYear::new(i64::try_from(y).unwrap_or(i64::MAX)))
        .transpose()
        .context("birth_year")
}

fn read_country(doc: &Document) -> anyhow::Result<Country> {
    Country::parse(get_str(doc, "country")?).context("country")
}

fn read_name(doc: &Document) -> anyhow::Result<Name> {
    Name::parse(get_str(doc, "name")?).context("name")
}

fn read_postal_code(doc: &Document) -> anyhow::Result<Option<PostalCode>> {
    get_opt_str(doc, "postal_code")?
        .map(PostalCode::parse)
        .transpose()
        .context("postal_code")
}

fn read_place(doc: &Document) -> anyhow::Result<Option<Place>> {
    get_opt_str(doc, "place")?
        .map(Place::parse)
        .transpose()
        .context("place")
}

pub(crate) fn read_classes(doc: &Document) -> anyhow::Result<Vec<ClassShares>> {
    let Some(array) = doc.get("classes") else {
        return Ok(Vec::new());
    };
    let Bson::Array(array) = array else {
        bail!("field classes is not an array");
    };
    array
        .iter()
        .map(|entry| {
            let entry = entry
                .as_document()
                .ok_or_else(|| anyhow!("a class is not a document"))?;
            Ok(ClassShares {
                share_class: ShareClass::parse(get_str(entry, "share_class")?)
                    .context("share_class")?,
                shares: get_u64(entry, "shares")?,
            })
        })
        .collect()
}

pub(crate) fn read_orgnr(doc: &Document, key: &str) -> anyhow::Result<OrgNr> {
    OrgNr::parse(get_str(doc, key)?).with_context(|| format!("field {key}"))
}

/// The organisation of a registered organisation's document.
pub(crate) fn read_organisation(doc: &Document) -> anyhow::Result<Organisation> {
    Ok(Organisation::new(
        read_orgnr(doc, "_id")?,
        read_name(doc)?,
        read_postal_code(doc)?,
        read_place(doc)?,
        read_country(doc)?,
        read_total_shares(doc)?,
    ))
}

pub(crate) fn read_person(doc: &Document) -> anyhow::Result<Person> {
    Ok(Person::new(
        PersonId::parse(get_str(doc, "_id")?).context("_id")?,
        read_name(doc)?,
        read_birth_year(doc)?,
        read_postal_code(doc)?,
        read_place(doc)?,
        read_country(doc)?,
    ))
}

/// A holding document's company profile, owner profile and classes. The company's declared
/// total is the one stored in the holding; callers replace it by the company document's.
pub(crate) fn read_holding(
    doc: &Document,
) -> anyhow::Result<(CompanyProfile, OwnerProfile, Vec<ClassShares>)> {
    let company = get_doc(doc, "company")?;
    Ok((
        CompanyProfile {
            orgnr: read_orgnr(company, "orgnr")?,
            name: read_name(company)?,
            total_shares: read_total_shares(company)?,
        },
        read_owner(get_doc(doc, "owner")?)?,
        read_classes(doc)?,
    ))
}

/// A holding's `owner` field.
pub(crate) fn read_owner(owner: &Document) -> anyhow::Result<OwnerProfile> {
    let kind = get_str(owner, "kind")?;
    Ok(OwnerProfile {
        owner: OwnerRef::parse(kind, get_str(owner, "id")?).context("owner")?,
        name: read_name(owner)?,
        country: read_country(owner)?,
        birth_year: read_birth_year(owner)?,
    })
}
