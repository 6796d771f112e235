//! Applying events ([`Projection`]) and bulk loads ([`ReadModelLoader`]): both turn into a
//! plan of guarded writes per collection (see [`crate::guarded`]).

use anyhow::Context as _;
use async_trait::async_trait;
use mongodb::bson::{Document, doc};
use shareholders_domain::{Event, OwnerRef, Position, RecordedEvent};
use shareholders_ports::{
    CompanySnapshot, HoldingSnapshot, OwnershipChanged, PersonSnapshot, Projection,
    ProjectionError, ReadModelLoader, SnapshotBatch,
};

use crate::codec::{self, IssuerState, int};
use crate::guarded::{self, Mode, Op};
use crate::ownership_log;
use crate::{
    APPLIED, APPLIED_AT, HOLDINGS, META, MongoReadModel, ORGANISATIONS, PERSONS, WATERMARK_ID,
};

/// The writes of a batch of events or snapshots, per collection.
#[derive(Default)]
pub(crate) struct Plan {
    pub(crate) organisations: Vec<Op>,
    pub(crate) persons: Vec<Op>,
    pub(crate) holdings: Vec<Op>,
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

#[async_trait]
impl Projection for MongoReadModel {
    /// Applies every event it can, then records their positions. Events that can never be
    /// written (a value past the 64-bit range) are skipped and reported together as
    /// [`ProjectionError::Poison`] once the others are applied.
    async fn apply(&self, events: &[RecordedEvent]) -> Result<(), ProjectionError> {
        let mut plan = Plan::default();
        let mut positions = Vec::with_capacity(events.len());
        let mut changed = Vec::with_capacity(events.len());
        let mut poison = Vec::new();
        // When they were applied: what their retention is measured from (see `retention`).
        let now = mongodb::bson::DateTime::now();
        for recorded in events {
            let position = int(recorded.position.get(), "position");
            match (plan.event(&recorded.event), position) {
                (Ok(()), Ok(position)) => {
                    positions.push(doc! { "_id": position, APPLIED_AT: now });
                    ownership_log::changed_by(&recorded.event, &mut changed);
                }
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
        // Before the events count as applied: a read that waits for them finds their changes.
        self.log_changes(changed)
            .await
            .context("logging the events' ownership changes")?;
        guarded::insert_new(&self.db, &self.named(APPLIED), positions)
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
        self.create_indexes().await?;
        // A copy held in memory reads everything again.
        self.log_changes(vec![OwnershipChanged::Everything.key()])
            .await
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

    /// The load is whole: a copy held in memory while it ran reads everything again.
    async fn finish(&self) -> anyhow::Result<()> {
        self.log_changes(vec![OwnershipChanged::Everything.key()])
            .await
    }

    async fn mark_applied_through(&self, position: Position) -> anyhow::Result<()> {
        let op = Op::versioned(
            WATERMARK_ID,
            "position",
            position.get(),
            doc! { "position": int(position.get(), "position")? },
        )?;
        guarded::apply(&self.db, &self.named(META), &[op], Mode::Upsert)
            .await
            .context("recording the applied-through watermark")
    }
}
