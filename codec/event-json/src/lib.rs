//! The wire format of events: versioned JSON, used for outbox rows, broker messages and
//! anything else that carries an event between processes.
//!
//! The DTOs here mirror the domain's events field by field; decoding validates every value
//! through the domain's constructors, so a decoded event is as trustworthy as one built in
//! process, and a malformed message is a [`DecodeError`] (a poison message), never a panic.

use serde::{Deserialize, Serialize};
use shareholders_domain::{
    BirthYear, ClassShares, CompanyProfile, CompanyState, Country, Event, Name, OrgNr,
    Organisation, OwnerProfile, OwnerRef, OwnerState, Person, PersonId, Place, Position,
    PostalCode, Purchase, PurchaseId, RecordedEvent, ShareClass, ShareCount, SharesPurchased,
};

/// The version of this format; bumped on any incompatible change.
pub const FORMAT_VERSION: u32 = 1;

#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("the message is not a valid event: {0}")]
    Json(#[from] serde_json::Error),
    #[error("unsupported event format version {0}")]
    Version(u32),
    #[error("invalid field {field}: {reason}")]
    Field { field: &'static str, reason: String },
}

fn field<T, E: std::fmt::Display>(
    field: &'static str,
    result: Result<T, E>,
) -> Result<T, DecodeError> {
    result.map_err(|e| DecodeError::Field {
        field,
        reason: e.to_string(),
    })
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Envelope {
    v: u32,
    position: u64,
    event: EventDto,
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
enum EventDto {
    OrganisationRegistered(OrganisationDto),
    PersonRegistered(PersonDto),
    SharesPurchased(Box<PurchasedDto>),
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct OrganisationDto {
    orgnr: String,
    name: String,
    postal_code: Option<String>,
    place: Option<String>,
    country: String,
    total_shares: Option<u64>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PersonDto {
    id: String,
    name: String,
    birth_year: Option<i64>,
    postal_code: Option<String>,
    place: Option<String>,
    country: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClassDto {
    share_class: String,
    shares: u64,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct OwnerDto {
    kind: String,
    id: String,
    name: String,
    country: String,
    birth_year: Option<i64>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PurchasedDto {
    purchase_id: u64,
    company: String,
    company_name: String,
    company_total_shares: Option<u64>,
    owner: OwnerDto,
    share_class: String,
    shares: u64,
    holding: Vec<ClassDto>,
    company_version: u64,
    registered_shares: u64,
    owner_count: u64,
    foreign_owner_count: u64,
    classes: Vec<ClassDto>,
    owner_version: u64,
    owner_holding_count: u64,
}

fn text<T>(
    parse: fn(&str) -> Result<T, shareholders_domain::TextError>,
    name: &'static str,
    value: &str,
) -> Result<T, DecodeError> {
    field(name, parse(value))
}

fn optional<T>(
    parse: fn(&str) -> Result<T, shareholders_domain::TextError>,
    name: &'static str,
    value: Option<&String>,
) -> Result<Option<T>, DecodeError> {
    value.map(|v| text(parse, name, v)).transpose()
}

fn classes_to_dto(classes: &[ClassShares]) -> Vec<ClassDto> {
    classes
        .iter()
        .map(|c| ClassDto {
            share_class: c.share_class.as_str().to_owned(),
            shares: c.shares,
        })
        .collect()
}

fn classes_from_dto(classes: &[ClassDto]) -> Result<Vec<ClassShares>, DecodeError> {
    classes
        .iter()
        .map(|c| {
            Ok(ClassShares {
                share_class: field("share_class", ShareClass::parse(&c.share_class))?,
                shares: c.shares,
            })
        })
        .collect()
}

fn total(value: Option<u64>) -> Result<Option<ShareCount>, DecodeError> {
    value
        .map(|t| field("total_shares", ShareCount::new(t)))
        .transpose()
}

impl From<&Organisation> for OrganisationDto {
    fn from(o: &Organisation) -> Self {
        Self {
            orgnr: o.orgnr().to_string(),
            name: o.name().to_string(),
            postal_code: o.postal_code().map(ToString::to_string),
            place: o.place().map(ToString::to_string),
            country: o.country().to_string(),
            total_shares: o.total_shares().map(ShareCount::get),
        }
    }
}

impl TryFrom<&OrganisationDto> for Organisation {
    type Error = DecodeError;
    fn try_from(d: &OrganisationDto) -> Result<Self, DecodeError> {
        Ok(Organisation::new(
            field("orgnr", OrgNr::parse(&d.orgnr))?,
            text(Name::parse, "name", &d.name)?,
            optional(PostalCode::parse, "postal_code", d.postal_code.as_ref())?,
            optional(Place::parse, "place", d.place.as_ref())?,
            field("country", Country::parse(&d.country))?,
            total(d.total_shares)?,
        ))
    }
}

impl From<&Person> for PersonDto {
    fn from(p: &Person) -> Self {
        Self {
            id: p.id().to_string(),
            name: p.name().to_string(),
            birth_year: p.birth_year().map(|y| i64::from(y.get())),
            postal_code: p.postal_code().map(ToString::to_string),
            place: p.place().map(ToString::to_string),
            country: p.country().to_string(),
        }
    }
}

impl TryFrom<&PersonDto> for Person {
    type Error = DecodeError;
    fn try_from(d: &PersonDto) -> Result<Self, DecodeError> {
        Ok(Person::new(
            field("id", PersonId::parse(&d.id))?,
            text(Name::parse, "name", &d.name)?,
            d.birth_year
                .map(|y| field("birth_year", BirthYear::new(y)))
                .transpose()?,
            optional(PostalCode::parse, "postal_code", d.postal_code.as_ref())?,
            optional(Place::parse, "place", d.place.as_ref())?,
            field("country", Country::parse(&d.country))?,
        ))
    }
}

impl From<&SharesPurchased> for PurchasedDto {
    fn from(e: &SharesPurchased) -> Self {
        Self {
            purchase_id: e.purchase_id.get(),
            company: e.company.orgnr.to_string(),
            company_name: e.company.name.to_string(),
            company_total_shares: e.company.total_shares.map(ShareCount::get),
            owner: OwnerDto {
                kind: e.owner.owner.kind().as_str().to_owned(),
                id: e.owner.owner.id().to_owned(),
                name: e.owner.name.to_string(),
                country: e.owner.country.to_string(),
                birth_year: e.owner.birth_year.map(|y| i64::from(y.get())),
            },
            share_class: e.purchase.share_class().to_string(),
            shares: e.purchase.shares().get(),
            holding: classes_to_dto(&e.holding),
            company_version: e.company_state.version,
            registered_shares: e.company_state.registered_shares,
            owner_count: e.company_state.owner_count,
            foreign_owner_count: e.company_state.foreign_owner_count,
            classes: classes_to_dto(&e.company_state.classes),
            owner_version: e.owner_state.version,
            owner_holding_count: e.owner_state.holding_count,
        }
    }
}

impl TryFrom<&PurchasedDto> for SharesPurchased {
    type Error = DecodeError;
    fn try_from(d: &PurchasedDto) -> Result<Self, DecodeError> {
        let company = field("company", OrgNr::parse(&d.company))?;
        let owner = field("owner", OwnerRef::parse(&d.owner.kind, &d.owner.id))?;
        let purchase = Purchase::new(
            company,
            owner.clone(),
            field("share_class", ShareClass::parse(&d.share_class))?,
            field("shares", ShareCount::new(d.shares))?,
        );
        Ok(SharesPurchased {
            purchase_id: PurchaseId::new(d.purchase_id),
            purchase,
            company: CompanyProfile {
                orgnr: company,
                name: text(Name::parse, "company_name", &d.company_name)?,
                total_shares: total(d.company_total_shares)?,
            },
            owner: OwnerProfile {
                owner,
                name: text(Name::parse, "owner.name", &d.owner.name)?,
                country: field("owner.country", Country::parse(&d.owner.country))?,
                birth_year: d
                    .owner
                    .birth_year
                    .map(|y| field("owner.birth_year", BirthYear::new(y)))
                    .transpose()?,
            },
            holding: classes_from_dto(&d.holding)?,
            company_state: CompanyState {
                version: d.company_version,
                registered_shares: d.registered_shares,
                owner_count: d.owner_count,
                foreign_owner_count: d.foreign_owner_count,
                classes: classes_from_dto(&d.classes)?,
            },
            owner_state: OwnerState {
                version: d.owner_version,
                holding_count: d.owner_holding_count,
            },
        })
    }
}

fn to_dto(event: &Event) -> EventDto {
    match event {
        Event::OrganisationRegistered(o) => EventDto::OrganisationRegistered(o.into()),
        Event::PersonRegistered(p) => EventDto::PersonRegistered(p.into()),
        Event::SharesPurchased(e) => EventDto::SharesPurchased(Box::new(e.as_ref().into())),
    }
}

fn from_dto(dto: &EventDto) -> Result<Event, DecodeError> {
    Ok(match dto {
        EventDto::OrganisationRegistered(o) => Event::OrganisationRegistered(o.try_into()?),
        EventDto::PersonRegistered(p) => Event::PersonRegistered(p.try_into()?),
        EventDto::SharesPurchased(e) => Event::SharesPurchased(Box::new(e.as_ref().try_into()?)),
    })
}

/// Encodes a recorded event as one JSON document (`{"v":1,"position":…,"event":{…}}`).
#[must_use]
pub fn encode(recorded: &RecordedEvent) -> Vec<u8> {
    let envelope = Envelope {
        v: FORMAT_VERSION,
        position: recorded.position.get(),
        event: to_dto(&recorded.event),
    };
    // Serialising plain structs of strings and integers cannot fail.
    serde_json::to_vec(&envelope).unwrap_or_default()
}

/// Decodes what [`encode`] wrote, validating every field.
///
/// # Errors
/// [`DecodeError`] for malformed JSON, an unknown version or an invalid field.
pub fn decode(bytes: &[u8]) -> Result<RecordedEvent, DecodeError> {
    let envelope: Envelope = serde_json::from_slice(bytes)?;
    if envelope.v != FORMAT_VERSION {
        return Err(DecodeError::Version(envelope.v));
    }
    Ok(RecordedEvent {
        position: Position::new(envelope.position),
        event: from_dto(&envelope.event)?,
        // Not part of the event's JSON: a carrier that knows it adds it.
        recorded_at: None,
    })
}

/// Encodes an event without a position, for an outbox row whose key is the position.
#[must_use]
pub fn encode_event(event: &Event) -> Vec<u8> {
    serde_json::to_vec(&to_dto(event)).unwrap_or_default()
}

/// Decodes what [`encode_event`] wrote.
///
/// # Errors
/// [`DecodeError`] for malformed JSON or an invalid field.
pub fn decode_event(bytes: &[u8]) -> Result<Event, DecodeError> {
    from_dto(&serde_json::from_slice(bytes)?)
}

#[cfg(test)]
mod tests;
