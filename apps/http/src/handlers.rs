//! The handlers: each turns a request into a reply, a problem reply for every business error.

use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;
use shareholders_domain::{
    OrgNr, Organisation, OwnerRef, PersonId, Purchase, PurchaseRefused, Register, RegisterYear,
};
use shareholders_ports::{
    Idempotency, PersonDetails, PurchaseError, QueryError, ReadError, RegisterError, Service,
};
use warp::http::header::{CONTENT_TYPE, HeaderValue, LOCATION, RETRY_AFTER};
use warp::http::{Response, StatusCode};
use warp::reply::Response as Reply;

use crate::dto::{
    ChangesOut, FieldErrors, HistoryEntryOut, HistoryOut, HoldingsOut, NewOrganisation, NewPerson,
    NewPurchase, OrganisationCreated, OrganisationOut, OwnerChangesOut, OwnersOut, PersonCreated,
    PersonOut, PurchaseCreated, SummaryOut, YearOut, YearsOut,
};
use crate::problem::{FieldError, Kind, Problem};
use crate::request::{Auth, ReadQuery, WriteRequest, idempotency, parse_json, read_query};

mod bods;
mod graph;
mod search;

pub use bods::bods;
pub use graph::{
    beneficial_owners, graph, organisation_ultimate_holdings, person_ultimate_holdings,
    ultimate_owners,
};
pub use search::search;

/// Marks a reply that repeats the result of an earlier request with the same idempotency key.
pub const REPLAYED_HEADER: &str = "idempotent-replayed";

type Outcome = Result<Reply, Problem>;

fn finish(outcome: Outcome) -> Reply {
    outcome.unwrap_or_else(warp::Reply::into_response)
}

/// A JSON reply.
pub fn json<T: Serialize>(status: StatusCode, value: &T) -> Reply {
    match serde_json::to_vec(value) {
        Ok(body) => {
            let mut response = Response::new(body);
            *response.status_mut() = status;
            response
                .headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            warp::Reply::into_response(response)
        }
        Err(e) => warp::Reply::into_response(Problem::internal(
            &anyhow::Error::new(e).context("serialising a reply"),
            "replying",
        )),
    }
}

fn created<T: Serialize>(value: &T, location: Option<String>, replayed: bool) -> Reply {
    let mut response = json(StatusCode::CREATED, value);
    let headers = response.headers_mut();
    if let Some(value) = location.and_then(|l| HeaderValue::from_str(&l).ok()) {
        headers.insert(LOCATION, value);
    }
    if replayed {
        headers.insert(REPLAYED_HEADER, HeaderValue::from_static("true"));
    }
    response
}

fn invalid(errors: FieldErrors) -> Problem {
    Problem::validation(errors.0)
}

fn register_problem(error: RegisterError) -> Problem {
    match error {
        RegisterError::OrganisationExists(orgnr) => Problem::new(
            Kind::Conflict,
            format!("organisation {orgnr} is already registered"),
        ),
        RegisterError::PersonExists(id) => {
            Problem::new(Kind::Conflict, format!("person {id} is already registered"))
        }
        RegisterError::IdempotencyKeyReused => idempotency_reused(),
        RegisterError::Unknown(e) => Problem::internal(&e, "registering"),
    }
}

fn idempotency_reused() -> Problem {
    Problem::new(
        Kind::IdempotencyKeyReused,
        "this Idempotency-Key was already used for a different request; use a new key for a \
         new request",
    )
}

fn purchase_problem(error: PurchaseError) -> Problem {
    match error {
        PurchaseError::UnknownCompany(orgnr) => {
            Problem::not_found(format!("company {orgnr} is not registered"))
        }
        PurchaseError::UnknownOwner(owner) => Problem::new(
            Kind::UnknownOwner,
            format!("the owner ({owner}) is not registered"),
        )
        .with_errors(vec![FieldError::new("owner", "is not registered")]),
        PurchaseError::Refused(refused @ PurchaseRefused::ExceedsIssued { .. }) => {
            Problem::new(Kind::Conflict, refused.to_string())
        }
        PurchaseError::Refused(refused @ PurchaseRefused::Overflow { .. }) => {
            Problem::new(Kind::Conflict, refused.to_string())
        }
        PurchaseError::IdempotencyKeyReused => idempotency_reused(),
        PurchaseError::Unknown(e) => Problem::internal(&e, "recording a purchase"),
    }
}

fn query_problem(error: QueryError) -> Problem {
    match error {
        QueryError::NotYetApplied(position) => Problem::not_yet_applied(position),
        QueryError::PositionNotIssued { position, last } => {
            let last = last.map_or_else(
                || "no write has been recorded yet".to_owned(),
                |last| format!("the last write has position {last}"),
            );
            Problem::validation(vec![FieldError::new(
                "min_position",
                format!("no write has position {position}: {last}"),
            )])
        }
        QueryError::YearNotImported(year) => Problem::not_found(format!(
            "the register of {year} has not been imported (GET /api/years lists those that are)"
        )),
        QueryError::GraphBusy => Problem::new(
            Kind::GraphBusy,
            "as many ownership graphs as this server computes at once were being computed for \
             as long as a request waits; retry in a moment",
        )
        .with_header(RETRY_AFTER, HeaderValue::from_static("1")),
        QueryError::GraphTooLarge { limit, what } => Problem::new(
            Kind::GraphTooLarge,
            format!(
                "the ownership graph this answer needs holds more than {limit} {what}, more \
                 than this server computes for one request"
            ),
        ),
        QueryError::Read(ReadError::Unknown(e)) => Problem::internal(&e, "reading the register"),
    }
}

/// A company a register does not list.
fn absent(orgnr: OrgNr, register: Register) -> Problem {
    match register {
        Register::Live => Problem::not_found(format!("company {orgnr} is not registered")),
        Register::Year(year) => {
            Problem::not_found(format!("company {orgnr} is not in the register of {year}"))
        }
    }
}

fn orgnr(input: &str) -> Result<OrgNr, Problem> {
    OrgNr::parse(input).map_err(|e| Problem::validation(vec![FieldError::new("orgnr", e)]))
}

fn person_id(input: &str) -> Result<PersonId, Problem> {
    PersonId::parse(input).map_err(|e| Problem::validation(vec![FieldError::new("id", e)]))
}

// ===== Writes =====

/// A command a write route records: its body's JSON shape, its route, and how the service
/// records it. Every write goes through [`write`].
pub trait Command: TryFrom<Self::Body, Error = FieldErrors> + Send + 'static {
    type Body: DeserializeOwned + Send;
    /// The route below `/api/`, written once: routing and the idempotency fingerprint use it.
    const SEGMENT: &'static str;

    /// Records the command and answers 201 with what was recorded.
    fn record(
        self,
        service: Service,
        key: Option<Idempotency>,
    ) -> impl Future<Output = Outcome> + Send;
}

impl Command for Organisation {
    type Body = NewOrganisation;
    const SEGMENT: &'static str = "organization";

    async fn record(self, service: Service, key: Option<Idempotency>) -> Outcome {
        let recorded = service
            .register_organisation(&self, key)
            .await
            .map_err(register_problem)?;
        let out = OrganisationCreated::new(&recorded.value, recorded.position.get());
        let location = format!("/api/organization/{}", out.orgnr);
        Ok(created(&out, Some(location), recorded.replayed))
    }
}

impl Command for PersonDetails {
    type Body = NewPerson;
    const SEGMENT: &'static str = "person";

    async fn record(self, service: Service, key: Option<Idempotency>) -> Outcome {
        let recorded = service
            .register_person(self, key)
            .await
            .map_err(register_problem)?;
        let out = PersonCreated::new(&recorded.value, recorded.position.get());
        let location = format!("/api/person/{}", out.id);
        Ok(created(&out, Some(location), recorded.replayed))
    }
}

impl Command for Purchase {
    type Body = NewPurchase;
    const SEGMENT: &'static str = "share";

    async fn record(self, service: Service, key: Option<Idempotency>) -> Outcome {
        let recorded = service
            .buy_shares(&self, key)
            .await
            .map_err(purchase_problem)?;
        let out = PurchaseCreated::new(&recorded.value, recorded.position.get());
        // A purchase has no resource of its own to point at.
        Ok(created(&out, None, recorded.replayed))
    }
}

/// Every write: the token, the JSON body, the idempotency key over the route's path and the
/// canonical body, every field checked, then the command recorded.
pub async fn write<C: Command>(service: Service, auth: Arc<Auth>, req: WriteRequest) -> Reply {
    finish(
        async {
            auth.check(req.authorization.as_deref())?;
            let body = parse_json::<C::Body>(&req.body)?;
            let key = idempotency(
                req.idempotency_key.as_deref(),
                "POST",
                &format!("/api/{}", C::SEGMENT),
                &body.canonical,
            )?;
            let command = C::try_from(body.value).map_err(invalid)?;
            command.record(service, key).await
        }
        .await,
    )
}

// ===== Reads =====

fn query(raw: &str, paged: bool) -> Result<ReadQuery, Problem> {
    read_query(raw, paged)
}

pub async fn organisation(nr: String, raw: String, service: Service) -> Reply {
    finish(
        async {
            let orgnr = orgnr(&nr)?;
            let q = query(&raw, false)?;
            let found = service
                .organisation(q.register, orgnr, q.min_position)
                .await
                .map_err(query_problem)?
                .ok_or_else(|| {
                    Problem::not_found(format!("organisation {orgnr} is not registered"))
                })?;
            Ok(json(StatusCode::OK, &OrganisationOut::from(&found)))
        }
        .await,
    )
}

pub async fn person(id: String, raw: String, service: Service) -> Reply {
    finish(
        async {
            let id = person_id(&id)?;
            let q = query(&raw, false)?;
            let found = service
                .person(q.register, &id, q.min_position)
                .await
                .map_err(query_problem)?
                .ok_or_else(|| Problem::not_found(format!("person {id} is not registered")))?;
            Ok(json(StatusCode::OK, &PersonOut::from(&found)))
        }
        .await,
    )
}

pub async fn owners(nr: String, raw: String, service: Service) -> Reply {
    finish(
        async {
            let orgnr = orgnr(&nr)?;
            let q = query(&raw, true)?;
            let view = service
                .owners(q.register, orgnr, q.page, q.min_position)
                .await
                .map_err(query_problem)?
                .ok_or_else(|| absent(orgnr, q.register))?;
            Ok(json(StatusCode::OK, &OwnersOut::from(&view)))
        }
        .await,
    )
}

async fn holdings_of(owner: OwnerRef, raw: &str, service: &Service) -> Outcome {
    let q = query(raw, true)?;
    let view = service
        .holdings(q.register, &owner, q.page, q.min_position)
        .await
        .map_err(query_problem)?
        .ok_or_else(|| Problem::not_found(format!("{owner} is not registered")))?;
    Ok(json(StatusCode::OK, &HoldingsOut::from(&view)))
}

pub async fn organisation_holdings(nr: String, raw: String, service: Service) -> Reply {
    finish(
        async {
            let orgnr = orgnr(&nr)?;
            holdings_of(OwnerRef::Organisation(orgnr), &raw, &service).await
        }
        .await,
    )
}

pub async fn person_holdings(id: String, raw: String, service: Service) -> Reply {
    finish(
        async {
            let id = person_id(&id)?;
            holdings_of(OwnerRef::Person(id), &raw, &service).await
        }
        .await,
    )
}

pub async fn summary(nr: String, raw: String, service: Service) -> Reply {
    finish(
        async {
            let orgnr = orgnr(&nr)?;
            let q = query(&raw, false)?;
            let view = service
                .summary(q.register, orgnr, q.min_position)
                .await
                .map_err(query_problem)?
                .ok_or_else(|| absent(orgnr, q.register))?;
            Ok(json(StatusCode::OK, &SummaryOut::from(&view)))
        }
        .await,
    )
}

// ===== Years =====

pub async fn years(service: Service) -> Reply {
    finish(
        async {
            let years = service.years().await.map_err(query_problem)?;
            Ok(json(
                StatusCode::OK,
                &YearsOut {
                    years: years.iter().map(YearOut::from).collect(),
                },
            ))
        }
        .await,
    )
}

pub async fn history(nr: String, service: Service) -> Reply {
    finish(
        async {
            let orgnr = orgnr(&nr)?;
            let history = service
                .history(orgnr)
                .await
                .map_err(query_problem)?
                .ok_or_else(|| {
                    Problem::not_found(format!("company {orgnr} is in no imported year"))
                })?;
            Ok(json(
                StatusCode::OK,
                &HistoryOut {
                    orgnr: orgnr.as_str().to_owned(),
                    history: history.iter().map(HistoryEntryOut::from).collect(),
                },
            ))
        }
        .await,
    )
}

pub async fn changes(nr: String, raw: String, service: Service) -> Reply {
    finish(
        async {
            let orgnr = orgnr(&nr)?;
            let q = query(&raw, true)?;
            let (from, to) = years_compared(&q)?;
            let view = service
                .changes(orgnr, from, to, q.page)
                .await
                .map_err(query_problem)?
                .ok_or_else(|| {
                    Problem::not_found(format!(
                        "company {orgnr} is in neither the register of {from} nor of {to}"
                    ))
                })?;
            Ok(json(StatusCode::OK, &ChangesOut::from(&view)))
        }
        .await,
    )
}

/// The `from` and `to` of a comparison, both required.
fn years_compared(q: &ReadQuery) -> Result<(RegisterYear, RegisterYear), Problem> {
    let mut missing = Vec::new();
    if q.from.is_none() {
        missing.push(FieldError::new("from", "is required: the earlier year"));
    }
    if q.to.is_none() {
        missing.push(FieldError::new("to", "is required: the later year"));
    }
    match (q.from, q.to) {
        (Some(from), Some(to)) => Ok((from, to)),
        _ => Err(Problem::validation(missing)),
    }
}

async fn owner_changes(owner: OwnerRef, raw: &str, service: &Service) -> Outcome {
    let q = query(raw, true)?;
    let (from, to) = years_compared(&q)?;
    let view = service
        .owner_changes(&owner, from, to, q.page)
        .await
        .map_err(query_problem)?
        .ok_or_else(|| {
            Problem::not_found(format!(
                "{owner} is in neither the register of {from} nor of {to}"
            ))
        })?;
    Ok(json(StatusCode::OK, &OwnerChangesOut::from(&view)))
}

pub async fn person_changes(id: String, raw: String, service: Service) -> Reply {
    finish(
        async {
            let id = person_id(&id)?;
            owner_changes(OwnerRef::Person(id), &raw, &service).await
        }
        .await,
    )
}

pub async fn organisation_holding_changes(nr: String, raw: String, service: Service) -> Reply {
    finish(
        async {
            let orgnr = orgnr(&nr)?;
            owner_changes(OwnerRef::Organisation(orgnr), &raw, &service).await
        }
        .await,
    )
}
