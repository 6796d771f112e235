//! The JSON of the Beneficial Ownership Data Standard 0.4: statements about entities, persons
//! and relationships, as `GET /api/{orgnr}/bods` and `shareholders export-bods` write them.
//!
//! A statement's id is the SHA-256 (hex) of the statement as serialised without its id, so it
//! is the same in every export of the same data, and a statement whose content changed (a new
//! year, a purchase) has a new one.

use serde::Serialize;
use sha2::{Digest, Sha256};
use shareholders_domain::{BirthYear, Country, Name, OrgNr, OwnerProfile, OwnerRef, PersonId};
use shareholders_ports::{CompanyRecord, OwnerEntry, UltimateOwnerEntry};

use super::graph::percent;

/// The version of the standard the statements follow.
pub const BODS_VERSION: &str = "0.4";
/// `publicationDetails.publisher.name`.
pub const PUBLISHER: &str = "shareholders";
/// The org-id.guide code of Brønnøysundregistrene, which issues organisation numbers.
const ORGNR_SCHEME: &str = "NO-BRC";
const ORGNR_SCHEME_NAME: &str = "Brønnøysundregistrene";
const PERSON_ID_SCHEME_NAME: &str = "shareholders person id (Aksjonærregisteret holder)";

/// The record id of an organisation, stable across years.
#[must_use]
pub fn entity_record_id(orgnr: OrgNr) -> String {
    format!("org-{orgnr}")
}

/// The record id of a person, stable across years.
#[must_use]
pub fn person_record_id(id: &PersonId) -> String {
    format!("person-{id}")
}

/// The record id of a party, an organisation or a person.
#[must_use]
pub fn party_record_id(party: &OwnerRef) -> String {
    match party {
        OwnerRef::Organisation(orgnr) => entity_record_id(*orgnr),
        OwnerRef::Person(id) => person_record_id(id),
    }
}

/// What every statement of one export shares: its dates and its source.
#[derive(Clone, PartialEq, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PublicationOut {
    /// The date the register describes (`YYYY-MM-DD`).
    #[serde(skip)]
    pub statement_date: String,
    pub publication_date: String,
    pub bods_version: &'static str,
    pub publisher: PublisherOut,
    #[serde(skip)]
    pub source: SourceOut,
}

impl PublicationOut {
    /// Statements about the register as of `statement_date`, published on `publication_date`
    /// (both `YYYY-MM-DD`), from `source`.
    #[must_use]
    pub fn new(statement_date: String, publication_date: String, source: SourceOut) -> Self {
        Self {
            statement_date,
            publication_date,
            bods_version: BODS_VERSION,
            publisher: PublisherOut { name: PUBLISHER },
            source,
        }
    }
}

#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
pub struct PublisherOut {
    pub name: &'static str,
}

#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
pub struct SourceOut {
    #[serde(rename = "type", skip_serializing_if = "Vec::is_empty")]
    pub kinds: Vec<&'static str>,
    pub description: String,
}

/// One statement, its id first.
#[derive(Clone, PartialEq, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StatementOut {
    pub statement_id: String,
    #[serde(flatten)]
    pub body: StatementBody,
}

/// A statement without its id: what the id is computed from.
#[derive(Clone, PartialEq, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StatementBody {
    pub declaration_subject: String,
    pub record_id: String,
    pub record_type: &'static str,
    pub record_details: RecordDetailsOut,
    pub statement_date: String,
    pub publication_details: PublicationOut,
    pub source: SourceOut,
}

#[derive(Clone, PartialEq, Debug, Serialize)]
#[serde(untagged)]
pub enum RecordDetailsOut {
    Entity(EntityOut),
    Person(PersonOut),
    Relationship(RelationshipOut),
}

impl RecordDetailsOut {
    fn record_type(&self) -> &'static str {
        match self {
            Self::Entity(_) => "entity",
            Self::Person(_) => "person",
            Self::Relationship(_) => "relationship",
        }
    }
}

impl StatementOut {
    /// The statement of a record, `declaration_subject` being the record id of the entity or
    /// person whose ownership network it belongs to.
    ///
    /// # Panics
    /// Never: the statement is plain data that always serialises.
    #[must_use]
    pub fn new(
        declaration_subject: String,
        record_id: String,
        record_details: RecordDetailsOut,
        publication: &PublicationOut,
    ) -> Self {
        let body = StatementBody {
            declaration_subject,
            record_id,
            record_type: record_details.record_type(),
            record_details,
            statement_date: publication.statement_date.clone(),
            publication_details: publication.clone(),
            source: publication.source.clone(),
        };
        let serialised = serde_json::to_vec(&body).expect("a statement serialises");
        Self {
            statement_id: format!("{:x}", Sha256::digest(&serialised)),
            body,
        }
    }

    /// The statement of the organisation, in its own network.
    #[must_use]
    pub fn entity(entity: &EntityFacts, publication: &PublicationOut) -> Self {
        let record_id = entity_record_id(entity.orgnr);
        Self::new(
            record_id.clone(),
            record_id,
            RecordDetailsOut::Entity(EntityOut::from(entity)),
            publication,
        )
    }

    /// The statement of the person, in its own network.
    #[must_use]
    pub fn person(person: &PersonFacts, publication: &PublicationOut) -> Self {
        let record_id = person_record_id(&person.id);
        Self::new(
            record_id.clone(),
            record_id,
            RecordDetailsOut::Person(PersonOut::from(person)),
            publication,
        )
    }

    /// The statement of a relationship, in the network of its subject.
    #[must_use]
    pub fn relationship(
        record_id: String,
        relationship: RelationshipOut,
        publication: &PublicationOut,
    ) -> Self {
        Self::new(
            relationship.subject.clone(),
            record_id,
            RecordDetailsOut::Relationship(relationship),
            publication,
        )
    }
}

/// What an entity statement says of an organisation.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct EntityFacts {
    pub orgnr: OrgNr,
    pub name: Name,
    pub postal_code: Option<String>,
    pub place: Option<String>,
    pub country: Country,
}

impl From<&CompanyRecord> for EntityFacts {
    fn from(record: &CompanyRecord) -> Self {
        let organisation = &record.organisation;
        Self {
            orgnr: organisation.orgnr(),
            name: organisation.name().clone(),
            postal_code: organisation.postal_code().map(ToString::to_string),
            place: organisation.place().map(ToString::to_string),
            country: organisation.country(),
        }
    }
}

/// What a person statement says of a person: what the register gives of a holder.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct PersonFacts {
    pub id: PersonId,
    pub name: Name,
    pub birth_year: Option<BirthYear>,
    pub country: Country,
}

impl PersonFacts {
    /// The person an owner's profile describes; `None` for an organisation.
    #[must_use]
    pub fn of_owner(profile: &OwnerProfile) -> Option<Self> {
        match &profile.owner {
            OwnerRef::Person(id) => Some(Self {
                id: id.clone(),
                name: profile.name.clone(),
                birth_year: profile.birth_year,
                country: profile.country,
            }),
            OwnerRef::Organisation(_) => None,
        }
    }
}

impl From<&shareholders_domain::Person> for PersonFacts {
    fn from(person: &shareholders_domain::Person) -> Self {
        Self {
            id: person.id().clone(),
            name: person.name().clone(),
            birth_year: person.birth_year(),
            country: person.country(),
        }
    }
}

#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
pub struct CountryOut {
    pub name: &'static str,
    pub code: String,
}

impl From<Country> for CountryOut {
    fn from(country: Country) -> Self {
        Self {
            name: country.name(),
            code: country.alpha2().to_owned(),
        }
    }
}

#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IdentifierOut {
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scheme: Option<&'static str>,
    pub scheme_name: &'static str,
}

#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AddressOut {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub post_code: Option<String>,
    pub country: CountryOut,
}

#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
pub struct EntityTypeOut {
    #[serde(rename = "type")]
    pub kind: &'static str,
}

#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EntityOut {
    pub is_component: bool,
    pub entity_type: EntityTypeOut,
    pub name: String,
    /// Every organisation number is given by Norway's register of legal entities.
    pub jurisdiction: CountryOut,
    pub identifiers: Vec<IdentifierOut>,
    pub addresses: Vec<AddressOut>,
}

impl From<&EntityFacts> for EntityOut {
    fn from(entity: &EntityFacts) -> Self {
        Self {
            is_component: false,
            entity_type: EntityTypeOut {
                kind: "registeredEntity",
            },
            name: entity.name.to_string(),
            jurisdiction: Country::NORWAY.into(),
            identifiers: vec![IdentifierOut {
                id: entity.orgnr.to_string(),
                scheme: Some(ORGNR_SCHEME),
                scheme_name: ORGNR_SCHEME_NAME,
            }],
            addresses: vec![AddressOut {
                address: entity.place.clone(),
                post_code: entity.postal_code.clone(),
                country: entity.country.into(),
            }],
        }
    }
}

#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PersonNameOut {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub full_name: String,
}

#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PersonOut {
    pub is_component: bool,
    pub person_type: &'static str,
    pub names: Vec<PersonNameOut>,
    pub identifiers: Vec<IdentifierOut>,
    /// The year alone (`YYYY`), as the register gives it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub birth_date: Option<String>,
    pub addresses: Vec<AddressOut>,
}

impl From<&PersonFacts> for PersonOut {
    fn from(person: &PersonFacts) -> Self {
        Self {
            is_component: false,
            person_type: "knownPerson",
            names: vec![PersonNameOut {
                kind: "legal",
                full_name: person.name.to_string(),
            }],
            identifiers: vec![IdentifierOut {
                id: person.id.to_string(),
                scheme: None,
                scheme_name: PERSON_ID_SCHEME_NAME,
            }],
            birth_date: person.birth_year.map(|year| format!("{:04}", year.get())),
            addresses: vec![AddressOut {
                address: None,
                post_code: None,
                country: person.country.into(),
            }],
        }
    }
}

#[derive(Clone, PartialEq, Debug, Serialize)]
pub struct ShareOut {
    pub exact: f64,
}

#[derive(Clone, PartialEq, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InterestOut {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub direct_or_indirect: &'static str,
    pub beneficial_ownership_or_control: bool,
    pub share: ShareOut,
    pub details: String,
}

#[derive(Clone, PartialEq, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RelationshipOut {
    pub is_component: bool,
    pub subject: String,
    pub interested_party: String,
    pub interests: Vec<InterestOut>,
}

impl EntityFacts {
    /// The organisation an owner's profile describes, for one the register lists only as an
    /// owner; `None` for a person.
    #[must_use]
    pub fn of_owner(profile: &OwnerProfile) -> Option<Self> {
        match &profile.owner {
            OwnerRef::Organisation(orgnr) => Some(Self {
                orgnr: *orgnr,
                name: profile.name.clone(),
                postal_code: None,
                place: None,
                country: profile.country,
            }),
            OwnerRef::Person(_) => None,
        }
    }
}

/// The relationship statements of a company's own network: one per direct owner, in record id
/// order (a company's own treasury shares are no relationship), then one per beneficial owner
/// who holds it through other companies, in record id order.
#[must_use]
pub fn company_relationships(
    orgnr: OrgNr,
    total_shares: u64,
    owners: &[OwnerEntry],
    beneficial: &[UltimateOwnerEntry],
    publication: &PublicationOut,
) -> Vec<StatementOut> {
    let subject = entity_record_id(orgnr);
    let is_beneficial = |party: &OwnerRef| beneficial.iter().any(|b| b.owner.owner == *party);
    let mut direct: Vec<(String, RelationshipOut)> = owners
        .iter()
        .filter(|entry| !entry.treasury)
        .map(|entry| {
            let party = party_record_id(&entry.owner.owner);
            let relationship = RelationshipOut {
                is_component: false,
                subject: subject.clone(),
                interested_party: party.clone(),
                interests: vec![InterestOut {
                    kind: "shareholding",
                    direct_or_indirect: "direct",
                    beneficial_ownership_or_control: is_beneficial(&entry.owner.owner),
                    share: ShareOut {
                        exact: entry.percentage.as_f64(),
                    },
                    details: format!(
                        "{} of the {total_shares} shares issued (the percentage of issued \
                         shares, truncated to 4 decimals)",
                        entry.shares
                    ),
                }],
            };
            (format!("holding-{party}-in-{orgnr}"), relationship)
        })
        .collect();
    direct.sort_by(|a, b| a.0.cmp(&b.0));
    let mut indirect: Vec<(String, RelationshipOut)> = beneficial
        .iter()
        .filter(|entry| through_others(entry))
        .map(|entry| {
            let party = party_record_id(&entry.owner.owner);
            let mut interests = vec![InterestOut {
                kind: "shareholding",
                direct_or_indirect: "indirect",
                beneficial_ownership_or_control: true,
                share: ShareOut {
                    exact: percent(entry.effective),
                },
                details: "effective ownership: over every chain of holdings from the person \
                          to the company (a direct holding included), the product of the \
                          fractions of outstanding shares along it, summed"
                    .to_owned(),
            }];
            if entry.beneficial.is_some_and(|because| because.control) {
                interests.push(InterestOut {
                    kind: "votingRights",
                    direct_or_indirect: "indirect",
                    beneficial_ownership_or_control: true,
                    share: ShareOut {
                        exact: percent(entry.controlled),
                    },
                    details: "controlled stake: the person's fraction of the outstanding \
                              shares plus those of every company the person controls (holds \
                              a controlled stake of more than 50 % in)"
                        .to_owned(),
                });
            }
            let relationship = RelationshipOut {
                is_component: false,
                subject: subject.clone(),
                interested_party: party.clone(),
                interests,
            };
            (format!("beneficial-{party}-in-{orgnr}"), relationship)
        })
        .collect();
    indirect.sort_by(|a, b| a.0.cmp(&b.0));
    direct
        .into_iter()
        .chain(indirect)
        .map(|(record_id, relationship)| {
            StatementOut::relationship(record_id, relationship, publication)
        })
        .collect()
}

/// Whether a beneficial owner holds through at least one other company: a chain of more than
/// one link (there is only one chain of one link, the direct holding).
fn through_others(entry: &UltimateOwnerEntry) -> bool {
    entry.chains.iter().any(|chain| chain.links.len() > 1)
}
