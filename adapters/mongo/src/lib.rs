//! The shareholder register's production read model, on MongoDB.
//!
//! Collections:
//! - `organisations`: one document per organisation, `_id` = orgnr. Its immutable profile
//!   (`name`, `postal_code`, `place`, `country`, `registered: true`, written by the
//!   registration), its issuer state (`version`, `total_shares`, `registered_shares`,
//!   `owner_count`, `foreign_owner_count`, `classes`) and its owner state (`owner_version`,
//!   `holding_count`).
//! - `persons`: one document per person, `_id` = person id: profile, `owner_version`,
//!   `holding_count`.
//! - `holdings`: one document per (company, owner), `_id` = `<orgnr>/<kind>/<id>`: `company`
//!   {orgnr, name, total_shares}, `owner` {kind, id, name, country, birth_year}, `classes`,
//!   `shares` (Int64) and `version`. A company's owners are never kept in one array, so no
//!   document grows with the number of owners.
//! - `applied`: one document per applied event position; `meta` holds the `applied_through`
//!   watermark set by a rebuild.
//!
//! Every stored field is either compared by `verify` (the fields of
//! [`shareholders_ports::diff`]) or read by no query; `version`, `owner_version` and the
//! applied positions are bookkeeping that orders writes and shows in no answer.
//!
//! Each group of fields (issuer state, owner state, holding) is only overwritten by a strictly
//! newer version of it (see [`write`]), so events may be applied in any order, any number of
//! times. A company's declared total belongs to its issuer state (a register import may change
//! it); holdings read the company's current total and registered shares from its document at
//! query time.

mod codec;
mod write;
mod years;

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use async_trait::async_trait;
use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};
use mongodb::bson::{Bson, Document, doc};
use mongodb::options::{FindOptions, IndexOptions};
use mongodb::{Client, Collection, Database, IndexModel};
use shareholders_domain::{
    Event, OrgNr, OwnerRef, PersonId, Position, RecordedEvent, RegisterYear, ShareCount,
};
use shareholders_ports::{
    CompanyRecord, CompanySnapshot, HoldingRecord, HoldingSnapshot, PageRequest, PersonRecord,
    PersonSnapshot, Projection, ProjectionError, ReadError, ReadModelLoader, ReadStore, Snapshot,
    SnapshotBatch, YearRecord,
};

use crate::codec::{IssuerState, int};
use crate::write::{Mode, Op};

const ORGANISATIONS: &str = "organisations";
const PERSONS: &str = "persons";
const HOLDINGS: &str = "holdings";
const APPLIED: &str = "applied";
const META: &str = "meta";
const WATERMARK_ID: &str = "applied_through";

/// Documents per `insert_many` of [`MongoReadModel::raw_insert_baseline`].
const BASELINE_BATCH: u64 = 10_000;

/// The read model on MongoDB: queries ([`ReadStore`]), event application ([`Projection`]),
/// bulk loading ([`ReadModelLoader`]) and the whole state ([`MongoReadModel::snapshot`]).
#[derive(Clone)]
pub struct MongoReadModel {
    db: Database,
    /// Prepended to every collection's name: empty for the live register, `y<year>g<n>_` for
    /// a year's read model (see [`years`]).
    prefix: String,
    /// A year's read model never changes, so every event counts as applied to it.
    frozen: bool,
    organisations: Collection<Document>,
    persons: Collection<Document>,
    holdings: Collection<Document>,
    applied: Collection<Document>,
    meta: Collection<Document>,
}

impl std::fmt::Debug for MongoReadModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MongoReadModel")
            .field("database", &self.db.name())
            .finish_non_exhaustive()
    }
}

/// What a holding shows of its company, read from the company's document at query time.
#[derive(Clone, Copy, Debug)]
struct CompanyTotals {
    registered_shares: u64,
    /// `Some` when the company's document has its issuer state (and so its declared total).
    total_shares: Option<Option<ShareCount>>,
}

impl CompanyTotals {
    const UNKNOWN: Self = Self {
        registered_shares: 0,
        total_shares: None,
    };

    fn of(doc: &Document) -> anyhow::Result<Self> {
        let has_state = doc.contains_key("version");
        Ok(Self {
            registered_shares: codec::get_opt_u64(doc, "registered_shares")?.unwrap_or(0),
            total_shares: if has_state {
                Some(
                    codec::get_opt_u64(doc, "total_shares")?
                        .map(ShareCount::new)
                        .transpose()
                        .context("total_shares")?,
                )
            } else {
                None
            },
        })
    }
}

/// The fields of a company's document a holding needs.
fn totals_projection() -> Document {
    doc! { "_id": 1, "version": 1, "registered_shares": 1, "total_shares": 1 }
}

fn holding_record(doc: &Document, totals: CompanyTotals) -> anyhow::Result<HoldingRecord> {
    let (mut company, owner, classes) = codec::read_holding(doc)?;
    if let Some(total) = totals.total_shares {
        company.total_shares = total;
    }
    Ok(HoldingRecord {
        company,
        company_registered_shares: totals.registered_shares,
        owner,
        classes,
    })
}

fn company_snapshot(doc: &Document) -> anyhow::Result<CompanySnapshot> {
    let orgnr = doc.get_str("_id").unwrap_or("?").to_owned();
    let read = || -> anyhow::Result<CompanySnapshot> {
        Ok(CompanySnapshot {
            record: CompanyRecord {
                organisation: codec::read_organisation(doc)?,
                registered_shares: codec::get_opt_u64(doc, "registered_shares")?.unwrap_or(0),
                owner_count: codec::get_opt_u64(doc, "owner_count")?.unwrap_or(0),
                foreign_owner_count: codec::get_opt_u64(doc, "foreign_owner_count")?.unwrap_or(0),
                holding_count: codec::get_opt_u64(doc, "holding_count")?.unwrap_or(0),
                classes: codec::read_classes(doc)?,
            },
            version: codec::get_opt_u64(doc, "version")?.unwrap_or(0),
            owner_version: codec::get_opt_u64(doc, "owner_version")?.unwrap_or(0),
        })
    };
    read().with_context(|| format!("reading organisation {orgnr}"))
}

fn person_snapshot(doc: &Document) -> anyhow::Result<PersonSnapshot> {
    let id = doc.get_str("_id").unwrap_or("?").to_owned();
    let read = || -> anyhow::Result<PersonSnapshot> {
        Ok(PersonSnapshot {
            record: PersonRecord {
                person: codec::read_person(doc)?,
                holding_count: codec::get_opt_u64(doc, "holding_count")?.unwrap_or(0),
            },
            owner_version: codec::get_opt_u64(doc, "owner_version")?.unwrap_or(0),
        })
    };
    read().with_context(|| format!("reading person {id}"))
}

/// The writes of a batch of events or snapshots, per collection.
#[derive(Default)]
struct Plan {
    organisations: Vec<Op>,
    persons: Vec<Op>,
    holdings: Vec<Op>,
}

impl Plan {
    fn extend(&mut self, other: Self) {
        self.organisations.extend(other.organisations);
        self.persons.extend(other.persons);
        self.holdings.extend(other.holdings);
    }

    fn owner_state(
        &mut self,
        owner: &OwnerRef,
        version: u64,
        holding_count: u64,
    ) -> anyhow::Result<()> {
        let op = Op::versioned(
            owner.id(),
            "owner_version",
            version,
            codec::owner_state(version, holding_count)?,
        )?;
        match owner {
            OwnerRef::Organisation(_) => self.organisations.push(op),
            OwnerRef::Person(_) => self.persons.push(op),
        }
        Ok(())
    }

    /// The writes of one event; nothing is added when it cannot be written.
    fn event(&mut self, event: &Event) -> anyhow::Result<()> {
        let mut plan = Self::default();
        match event {
            Event::OrganisationRegistered(organisation) => {
                let orgnr = organisation.orgnr();
                plan.organisations.push(Op::plain(
                    orgnr.as_str(),
                    codec::organisation_profile(organisation),
                ));
                // A registration is version 0 of both state groups.
                let issuer = IssuerState {
                    version: 0,
                    total_shares: organisation.total_shares(),
                    registered_shares: 0,
                    owner_count: 0,
                    foreign_owner_count: 0,
                    classes: &[],
                };
                plan.organisations.push(Op::versioned(
                    orgnr.as_str(),
                    "version",
                    0,
                    issuer.document()?,
                )?);
                plan.owner_state(&OwnerRef::Organisation(orgnr), 0, 0)?;
            }
            Event::PersonRegistered(person) => {
                plan.persons.push(Op::plain(
                    person.id().as_str(),
                    codec::person_profile(person),
                ));
                plan.owner_state(&OwnerRef::Person(person.id().clone()), 0, 0)?;
            }
            Event::SharesPurchased(purchased) => {
                let company = &purchased.company;
                let state = &purchased.company_state;
                let issuer = IssuerState {
                    version: state.version,
                    total_shares: company.total_shares,
                    registered_shares: state.registered_shares,
                    owner_count: state.owner_count,
                    foreign_owner_count: state.foreign_owner_count,
                    classes: &state.classes,
                };
                plan.organisations.push(Op::versioned(
                    company.orgnr.as_str(),
                    "version",
                    state.version,
                    issuer.document()?,
                )?);
                plan.owner_state(
                    &purchased.owner.owner,
                    purchased.owner_state.version,
                    purchased.owner_state.holding_count,
                )?;
                plan.holdings.push(Op::versioned(
                    codec::holding_id(company.orgnr, &purchased.owner.owner),
                    "version",
                    state.version,
                    codec::holding(company, &purchased.owner, &purchased.holding, state.version)?,
                )?);
            }
        }
        self.extend(plan);
        Ok(())
    }

    fn company(&mut self, company: &CompanySnapshot) -> anyhow::Result<()> {
        let record = &company.record;
        let orgnr = record.organisation.orgnr();
        let issuer = IssuerState {
            version: company.version,
            total_shares: record.organisation.total_shares(),
            registered_shares: record.registered_shares,
            owner_count: record.owner_count,
            foreign_owner_count: record.foreign_owner_count,
            classes: &record.classes,
        };
        let mut plan = Self::default();
        plan.organisations.push(Op::plain(
            orgnr.as_str(),
            codec::organisation_profile(&record.organisation),
        ));
        plan.organisations.push(Op::versioned(
            orgnr.as_str(),
            "version",
            company.version,
            issuer.document()?,
        )?);
        plan.owner_state(
            &OwnerRef::Organisation(orgnr),
            company.owner_version,
            record.holding_count,
        )?;
        self.extend(plan);
        Ok(())
    }

    fn person(&mut self, person: &PersonSnapshot) -> anyhow::Result<()> {
        let mut plan = Self::default();
        let id = person.record.person.id();
        plan.persons.push(Op::plain(
            id.as_str(),
            codec::person_profile(&person.record.person),
        ));
        plan.owner_state(
            &OwnerRef::Person(id.clone()),
            person.owner_version,
            person.record.holding_count,
        )?;
        self.extend(plan);
        Ok(())
    }

    fn holding(&mut self, holding: &HoldingSnapshot) -> anyhow::Result<()> {
        let record = &holding.record;
        self.holdings.push(Op::versioned(
            codec::holding_id(record.company.orgnr, &record.owner.owner),
            "version",
            holding.version,
            codec::holding(
                &record.company,
                &record.owner,
                &record.classes,
                holding.version,
            )?,
        )?);
        Ok(())
    }
}

impl MongoReadModel {
    /// Connects to the database `database` at `uri` and creates the indexes the queries need
    /// (idempotent).
    ///
    /// # Errors
    /// When the URI is invalid or the server cannot be reached.
    pub async fn connect(uri: &str, database: &str) -> anyhow::Result<Self> {
        let client = Client::with_uri_str(uri)
            .await
            .context("parsing the MongoDB connection string")?;
        let model = Self::new(client.database(database));
        model.create_indexes().await?;
        Ok(model)
    }

    fn new(db: Database) -> Self {
        Self::scoped(db, String::new(), false)
    }

    /// The read model whose collections' names start with `prefix`.
    fn scoped(db: Database, prefix: String, frozen: bool) -> Self {
        Self {
            organisations: db.collection(&format!("{prefix}{ORGANISATIONS}")),
            persons: db.collection(&format!("{prefix}{PERSONS}")),
            holdings: db.collection(&format!("{prefix}{HOLDINGS}")),
            applied: db.collection(&format!("{prefix}{APPLIED}")),
            meta: db.collection(&format!("{prefix}{META}")),
            prefix,
            frozen,
            db,
        }
    }

    /// The name of one of this read model's collections.
    fn named(&self, collection: &str) -> String {
        format!("{}{collection}", self.prefix)
    }

    /// The database the read model lives in.
    #[must_use]
    pub fn database(&self) -> &Database {
        &self.db
    }

    async fn create_indexes(&self) -> anyhow::Result<()> {
        let index = |name: &str, keys: Document| {
            IndexModel::builder()
                .keys(keys)
                .options(IndexOptions::builder().name(name.to_owned()).build())
                .build()
        };
        self.holdings
            .create_indexes([
                index(
                    "company_owners",
                    doc! { "company.orgnr": 1, "shares": -1, "owner.kind": 1, "owner.id": 1 },
                ),
                index(
                    "owner_holdings",
                    doc! { "owner.kind": 1, "owner.id": 1, "shares": -1, "company.orgnr": 1 },
                ),
            ])
            .await
            .context("creating the holdings indexes")?;
        Ok(())
    }

    /// The read model's whole state, as sorted streams.
    #[must_use]
    pub fn snapshot(&self) -> MongoSnapshot {
        MongoSnapshot {
            model: self.clone(),
        }
    }

    async fn write(&self, plan: Plan, mode: Mode) -> anyhow::Result<()> {
        let organisations = write::reduce(plan.organisations);
        let persons = write::reduce(plan.persons);
        let holdings = write::reduce(plan.holdings);
        let (organisations_name, persons_name, holdings_name) = (
            self.named(ORGANISATIONS),
            self.named(PERSONS),
            self.named(HOLDINGS),
        );
        futures::try_join!(
            write::apply(&self.db, &organisations_name, &organisations, mode),
            write::apply(&self.db, &persons_name, &persons, mode),
            write::apply(&self.db, &holdings_name, &holdings, mode),
        )?;
        Ok(())
    }

    async fn watermark(&self) -> anyhow::Result<Option<u64>> {
        let found = self
            .meta
            .find_one(doc! { "_id": WATERMARK_ID })
            .await
            .context("reading the applied-through watermark")?;
        found
            .map(|doc| codec::get_u64(&doc, "position"))
            .transpose()
    }

    /// The totals of the given companies, by orgnr.
    async fn totals(
        &self,
        orgnrs: Vec<&str>,
    ) -> anyhow::Result<std::collections::HashMap<String, CompanyTotals>> {
        let mut cursor = self
            .organisations
            .find(doc! { "_id": { "$in": orgnrs } })
            .projection(totals_projection())
            .await
            .context("reading companies' totals")?;
        let mut totals = std::collections::HashMap::new();
        while let Some(doc) = cursor.try_next().await? {
            totals.insert(
                codec::get_str(&doc, "_id")?.to_owned(),
                CompanyTotals::of(&doc)?,
            );
        }
        Ok(totals)
    }

    async fn page(
        &self,
        filter: Document,
        sort: Document,
        page: PageRequest,
    ) -> anyhow::Result<Vec<HoldingRecord>> {
        let documents: Vec<Document> = self
            .holdings
            .find(filter)
            .sort(sort)
            .skip(page.offset())
            .limit(i64::from(page.size()))
            .await
            .context("querying holdings")?
            .try_collect()
            .await
            .context("reading holdings")?;
        let orgnrs = documents
            .iter()
            .map(|doc| {
                doc.get_document("company")
                    .and_then(|company| company.get_str("orgnr"))
                    .context("a holding without company.orgnr")
            })
            .collect::<anyhow::Result<std::collections::BTreeSet<_>>>()?;
        let totals = self.totals(orgnrs.into_iter().collect()).await?;
        documents
            .iter()
            .map(|doc| {
                let orgnr = doc
                    .get_document("company")
                    .and_then(|company| company.get_str("orgnr"))
                    .unwrap_or_default();
                let company = totals.get(orgnr).copied().unwrap_or(CompanyTotals::UNKNOWN);
                holding_record(doc, company)
            })
            .collect()
    }

    /// The benchmark ceiling for building the read model: inserts `documents` holding-like
    /// documents into `collection` with raw unordered `insert_many` calls of
    /// 10,000 documents, with no logic, and returns the time it took.
    ///
    /// # Errors
    /// When the server fails.
    pub async fn raw_insert_baseline(
        &self,
        collection: &str,
        documents: u64,
    ) -> anyhow::Result<Duration> {
        let target = self.db.collection::<Document>(collection);
        let run = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let started = Instant::now();
        let mut next = 0u64;
        while next < documents {
            let end = documents.min(next + BASELINE_BATCH);
            let batch: Vec<Document> = (next..end)
                .map(|i| baseline_document(run, i))
                .collect::<anyhow::Result<_>>()?;
            target
                .insert_many(batch)
                .ordered(false)
                .await
                .with_context(|| format!("inserting into {collection}"))?;
            next = end;
        }
        Ok(started.elapsed())
    }
}

fn baseline_document(run: u128, i: u64) -> anyhow::Result<Document> {
    let company = format!("{:09}", 100_000_000 + i / 10);
    let owner = format!("{run:x}-{i}");
    Ok(doc! {
        "_id": format!("{company}/person/{owner}"),
        "company": { "orgnr": &company, "name": "BASELINE AS", "total_shares": Bson::Null },
        "owner": {
            "kind": "person",
            "id": &owner,
            "name": "BASELINE PERSON",
            "country": "NO",
            "birth_year": 1970,
        },
        "classes": [{ "share_class": "Ordinære aksjer", "shares": int(i + 1, "shares")? }],
        "shares": int(i + 1, "shares")?,
        "version": int(i % 10 + 1, "version")?,
    })
}

fn unknown(error: anyhow::Error) -> ReadError {
    ReadError::Unknown(error)
}

#[async_trait]
impl ReadStore for MongoReadModel {
    async fn organisation(&self, orgnr: OrgNr) -> Result<Option<CompanyRecord>, ReadError> {
        let found = self
            .organisations
            .find_one(doc! { "_id": orgnr.as_str(), "registered": true })
            .await
            .with_context(|| format!("reading organisation {orgnr}"))?;
        Ok(found
            .map(|doc| company_snapshot(&doc))
            .transpose()?
            .map(|snapshot| snapshot.record))
    }

    async fn person(&self, id: &PersonId) -> Result<Option<PersonRecord>, ReadError> {
        let found = self
            .persons
            .find_one(doc! { "_id": id.as_str(), "registered": true })
            .await
            .with_context(|| format!("reading person {id}"))?;
        Ok(found
            .map(|doc| person_snapshot(&doc))
            .transpose()?
            .map(|snapshot| snapshot.record))
    }

    async fn owners(
        &self,
        company: OrgNr,
        page: PageRequest,
    ) -> Result<Vec<HoldingRecord>, ReadError> {
        self.page(
            doc! { "company.orgnr": company.as_str() },
            doc! { "shares": -1, "owner.kind": 1, "owner.id": 1 },
            page,
        )
        .await
        .with_context(|| format!("reading the owners of {company}"))
        .map_err(unknown)
    }

    async fn holdings(
        &self,
        owner: &OwnerRef,
        page: PageRequest,
    ) -> Result<Vec<HoldingRecord>, ReadError> {
        self.page(
            doc! { "owner.kind": owner.kind().as_str(), "owner.id": owner.id() },
            doc! { "shares": -1, "company.orgnr": 1 },
            page,
        )
        .await
        .with_context(|| format!("reading the holdings of {owner}"))
        .map_err(unknown)
    }

    async fn years(&self) -> Result<Vec<YearRecord>, ReadError> {
        Ok(years::served(&self.db).await?)
    }

    async fn year(&self, year: RegisterYear) -> Result<Option<Arc<dyn ReadStore>>, ReadError> {
        if self.frozen {
            return Ok(None);
        }
        Ok(years::served_model(&self.db, year)
            .await?
            .map(|model| Arc::new(model) as Arc<dyn ReadStore>))
    }

    async fn applied(&self, position: Position) -> Result<bool, ReadError> {
        if self.frozen {
            return Ok(true);
        }
        if self
            .watermark()
            .await?
            .is_some_and(|through| position.get() <= through)
        {
            return Ok(true);
        }
        let id = int(position.get(), "position")?;
        let found = self
            .applied
            .find_one(doc! { "_id": id })
            .await
            .with_context(|| format!("reading whether event {} is applied", position.get()))?;
        Ok(found.is_some())
    }
}

#[async_trait]
impl Projection for MongoReadModel {
    /// Applies every event it can, then records their positions. Events that can never be
    /// written (a value past the 64-bit range) are skipped and reported together as
    /// [`ProjectionError::Poison`] once the others are applied.
    async fn apply(&self, events: &[RecordedEvent]) -> Result<(), ProjectionError> {
        let mut plan = Plan::default();
        let mut positions = Vec::with_capacity(events.len());
        let mut poison = Vec::new();
        for recorded in events {
            let position = int(recorded.position.get(), "position");
            match (plan.event(&recorded.event), position) {
                (Ok(()), Ok(position)) => positions.push(doc! { "_id": position }),
                (Err(error), _) | (_, Err(error)) => poison.push(format!(
                    "event {} ({}): {error:#}",
                    recorded.position.get(),
                    recorded.event.type_name()
                )),
            }
        }
        self.write(plan, Mode::Upsert)
            .await
            .context("applying events")?;
        write::insert_new(&self.db, &self.named(APPLIED), positions)
            .await
            .context("recording applied events")?;
        tracing::debug!(events = events.len(), "events applied to the read model");
        if poison.is_empty() {
            Ok(())
        } else {
            Err(ProjectionError::Poison(poison.join("; ")))
        }
    }
}

#[async_trait]
impl ReadModelLoader for MongoReadModel {
    async fn clear(&self) -> anyhow::Result<()> {
        for collection in [ORGANISATIONS, PERSONS, HOLDINGS, APPLIED, META] {
            let collection = self.named(collection);
            self.db
                .collection::<Document>(&collection)
                .drop()
                .await
                .with_context(|| format!("dropping {collection}"))?;
        }
        // Created now, not deferred to the end of the load: SecantusDB's index build over a
        // large collection retries on write conflicts without end.
        self.create_indexes().await
    }

    async fn load(&self, batch: SnapshotBatch) -> anyhow::Result<()> {
        let mut plan = Plan::default();
        for company in &batch.companies {
            plan.company(company)?;
        }
        for person in &batch.persons {
            plan.person(person)?;
        }
        for holding in &batch.holdings {
            plan.holding(holding)?;
        }
        self.write(plan, Mode::InsertFirst)
            .await
            .context("loading a snapshot batch")
    }

    async fn mark_applied_through(&self, position: Position) -> anyhow::Result<()> {
        let op = Op::versioned(
            WATERMARK_ID,
            "position",
            position.get(),
            doc! { "position": int(position.get(), "position")? },
        )?;
        write::apply(&self.db, &self.named(META), &[op], Mode::Upsert)
            .await
            .context("recording the applied-through watermark")
    }
}

/// The read model's whole state: organisations by orgnr, persons by id, holdings by company,
/// owner kind and owner id (their `_id` order), and the position through which every event is
/// known to be applied.
#[derive(Clone, Debug)]
pub struct MongoSnapshot {
    model: MongoReadModel,
}

fn sorted(
    collection: Collection<Document>,
    filter: Document,
    projection: Option<Document>,
) -> BoxStream<'static, anyhow::Result<Document>> {
    stream::once(async move {
        let name = collection.name().to_owned();
        let options = FindOptions::builder()
            .sort(doc! { "_id": 1 })
            .projection(projection)
            .build();
        collection
            .find(filter)
            .with_options(options)
            .await
            .map(|cursor| cursor.map_err(anyhow::Error::from))
            .with_context(|| format!("scanning {name}"))
    })
    .try_flatten()
    .boxed()
}

/// Walks the holdings and, in step, the organisations (both sorted by orgnr) to give each
/// holding its company's current totals.
struct HoldingWalk {
    holdings: BoxStream<'static, anyhow::Result<Document>>,
    companies: BoxStream<'static, anyhow::Result<Document>>,
    company: Option<(String, CompanyTotals)>,
    companies_done: bool,
}

impl HoldingWalk {
    async fn totals(&mut self, orgnr: &str) -> anyhow::Result<CompanyTotals> {
        loop {
            if let Some((current, totals)) = &self.company {
                match current.as_str().cmp(orgnr) {
                    std::cmp::Ordering::Equal => return Ok(*totals),
                    std::cmp::Ordering::Greater => return Ok(CompanyTotals::UNKNOWN),
                    std::cmp::Ordering::Less => {}
                }
            }
            if self.companies_done {
                return Ok(CompanyTotals::UNKNOWN);
            }
            match self.companies.try_next().await? {
                Some(doc) => {
                    let id = codec::get_str(&doc, "_id")?.to_owned();
                    self.company = Some((id, CompanyTotals::of(&doc)?));
                }
                None => self.companies_done = true,
            }
        }
    }

    async fn next(mut self) -> anyhow::Result<Option<(HoldingSnapshot, Self)>> {
        let Some(doc) = self.holdings.try_next().await? else {
            return Ok(None);
        };
        let id = codec::get_str(&doc, "_id")?.to_owned();
        let orgnr = doc
            .get_document("company")
            .and_then(|company| company.get_str("orgnr"))
            .with_context(|| format!("holding {id} has no company.orgnr"))?
            .to_owned();
        let totals = self.totals(&orgnr).await?;
        // The company's total as the holding stores it (queries fall back to it), not the
        // company document's: verify compares each stored copy.
        let stored = CompanyTotals {
            total_shares: None,
            ..totals
        };
        let snapshot = HoldingSnapshot {
            record: holding_record(&doc, stored)
                .with_context(|| format!("reading holding {id}"))?,
            shares: codec::get_u64(&doc, "shares")
                .with_context(|| format!("reading holding {id}"))?,
            version: codec::get_opt_u64(&doc, "version")?.unwrap_or(0),
        };
        Ok(Some((snapshot, self)))
    }
}

#[async_trait]
impl Snapshot for MongoSnapshot {
    fn companies(&self) -> BoxStream<'_, anyhow::Result<CompanySnapshot>> {
        sorted(
            self.model.organisations.clone(),
            doc! { "registered": true },
            None,
        )
        .map(|doc| doc.and_then(|doc| company_snapshot(&doc)))
        .boxed()
    }

    fn persons(&self) -> BoxStream<'_, anyhow::Result<PersonSnapshot>> {
        sorted(
            self.model.persons.clone(),
            doc! { "registered": true },
            None,
        )
        .map(|doc| doc.and_then(|doc| person_snapshot(&doc)))
        .boxed()
    }

    fn holdings(&self) -> BoxStream<'_, anyhow::Result<HoldingSnapshot>> {
        let walk = HoldingWalk {
            holdings: sorted(self.model.holdings.clone(), doc! {}, None),
            companies: sorted(
                self.model.organisations.clone(),
                doc! {},
                Some(totals_projection()),
            ),
            company: None,
            companies_done: false,
        };
        stream::try_unfold(walk, HoldingWalk::next).boxed()
    }

    async fn position(&self) -> anyhow::Result<Option<Position>> {
        let watermark = self.model.watermark().await?;
        let mut through = watermark.unwrap_or(0);
        let mut applied = self
            .model
            .applied
            .find(doc! { "_id": { "$gt": int(through, "position")? } })
            .sort(doc! { "_id": 1 })
            .await
            .context("scanning applied events")?;
        while let Some(doc) = applied.try_next().await? {
            if codec::get_u64(&doc, "_id")? == through + 1 {
                through += 1;
            } else {
                break;
            }
        }
        Ok((watermark.is_some() || through > 0).then(|| Position::new(through)))
    }
}
