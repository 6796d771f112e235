//! The register as Beneficial Ownership Data Standard 0.4 statements, read through the
//! service's use cases: a company and everything above it (`GET /api/{orgnr}/bods`), and, a
//! company at a time, the whole register (`shareholders export-bods`).
//!
//! Every statement is the same wherever it appears: an organisation's or a person's statement
//! belongs to its own network (its `declarationSubject` is its own record), a relationship's to
//! its subject's. So a company's answer is exactly the statements of the whole register's export
//! about it and the parties above it, in the same order: entities by orgnr, persons by id, then
//! each company's relationships, its direct owners and then its beneficial owners who hold it
//! through other companies.

use std::collections::BTreeMap;
use std::time::SystemTime;

use shareholders_domain::{OrgNr, PersonId, Position, Register};
use shareholders_ports::{NetworkCompany, PageRequest, QueryError, ReadError, Service};

use crate::dto::bods::{
    EntityFacts, PersonFacts, PublicationOut, SourceOut, StatementOut, company_relationships,
};
use crate::dto::rfc3339;

/// The statements of a company's relationships (see [`company_relationships`]).
#[must_use]
pub fn relationships(company: &NetworkCompany, publication: &PublicationOut) -> Vec<StatementOut> {
    company_relationships(
        company.company.organisation.orgnr(),
        company.total_shares,
        &company.owners,
        &company.beneficial,
        publication,
    )
}

/// The company with every one of its owners (all pages) and its beneficial owners; `None` for
/// an unknown company.
///
/// # Errors
/// As the service's reads.
pub async fn company_ownership(
    service: &Service,
    register: Register,
    orgnr: OrgNr,
    min_position: Option<Position>,
) -> Result<Option<NetworkCompany>, QueryError> {
    let mut page = 1;
    let mut found: Option<NetworkCompany> = None;
    loop {
        let request = PageRequest::new(Some(page), Some(PageRequest::MAX_SIZE))
            .map_err(|e| ReadError::Unknown(e.into()))?;
        let Some(view) = service
            .owners(register, orgnr, request, min_position)
            .await?
        else {
            return Ok(None);
        };
        let last = u64::from(page) >= view.page.total_pages;
        match &mut found {
            Some(ownership) => ownership.owners.extend(view.owners),
            None => {
                found = Some(NetworkCompany {
                    company: view.company,
                    total_shares: view.total_shares,
                    owners: view.owners,
                    beneficial: Vec::new(),
                });
            }
        }
        if last {
            break;
        }
        page += 1;
    }
    let Some(mut ownership) = found else {
        return Ok(None);
    };
    if !ownership.owners.is_empty() {
        ownership.beneficial = service
            .beneficial_owners(register, orgnr, None)
            .await?
            .map(|view| view.owners)
            .unwrap_or_default();
    }
    Ok(Some(ownership))
}

/// The date part of a time, `YYYY-MM-DD` (UTC).
fn date(time: SystemTime) -> String {
    rfc3339(time)[..10].to_owned()
}

/// The dates and source of the statements of `register`: a year's register describes its 31
/// December and was published here when it was imported; the live register describes today and
/// is published today.
///
/// # Errors
/// [`QueryError::YearNotImported`] for a year that was not imported; as the service's reads.
pub async fn publication(
    service: &Service,
    register: Register,
) -> Result<PublicationOut, QueryError> {
    match register {
        Register::Year(year) => {
            let record = service
                .years()
                .await?
                .into_iter()
                .find(|record| record.year == year)
                .ok_or(QueryError::YearNotImported(year))?;
            Ok(PublicationOut::new(
                format!("{year}-12-31"),
                date(record.imported_at),
                SourceOut {
                    kinds: vec!["officialRegister"],
                    description: format!(
                        "Aksjonærregisteret (the Norwegian register of shareholders) of {year}, \
                         as of 31 December"
                    ),
                },
            ))
        }
        Register::Live => {
            let today = date(SystemTime::now());
            Ok(PublicationOut::new(
                today.clone(),
                today,
                SourceOut {
                    kinds: Vec::new(),
                    description: "the live register: the newest imported year of \
                                  Aksjonærregisteret (the Norwegian register of shareholders) \
                                  and the purchases recorded through this service since"
                        .to_owned(),
                },
            ))
        }
    }
}

/// The company and everything above it as statements: every organisation and person that owns
/// it, their owners and so on up to the ultimate owners (cycles included, never cut at a
/// depth), with every direct holding among them and each company's beneficial owners; `None`
/// for an unknown company.
///
/// # Errors
/// As the service's reads.
pub async fn network(
    service: &Service,
    register: Register,
    orgnr: OrgNr,
    min_position: Option<Position>,
) -> Result<Option<Vec<StatementOut>>, QueryError> {
    // Ordered by orgnr.
    let Some(companies) = service
        .ownership_network(register, orgnr, min_position)
        .await?
    else {
        return Ok(None);
    };
    let publication = publication(service, register).await?;
    let mut entities: BTreeMap<OrgNr, EntityFacts> = companies
        .iter()
        .map(|c| {
            (
                c.company.organisation.orgnr(),
                EntityFacts::from(&c.company),
            )
        })
        .collect();
    let mut persons: BTreeMap<PersonId, PersonFacts> = BTreeMap::new();
    for entry in companies.iter().flat_map(|company| &company.owners) {
        if let Some(person) = PersonFacts::of_owner(&entry.owner) {
            persons.entry(person.id.clone()).or_insert(person);
        } else if let Some(entity) = EntityFacts::of_owner(&entry.owner) {
            // An organisation the register lists only as an owner.
            entities.entry(entity.orgnr).or_insert(entity);
        }
    }
    let statements = entities
        .values()
        .map(|entity| StatementOut::entity(entity, &publication))
        .chain(
            persons
                .values()
                .map(|person| StatementOut::person(person, &publication)),
        )
        .chain(
            companies
                .iter()
                .flat_map(|company| relationships(company, &publication)),
        )
        .collect();
    Ok(Some(statements))
}

#[cfg(test)]
mod tests;
