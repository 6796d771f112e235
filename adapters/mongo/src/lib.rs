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
//! - `applied`: one document per applied event position (`at`: when it was applied); `meta`
//!   holds the `applied_through` watermark set by a rebuild and raised by [`retention`].
//! - `ownership_changes` and `ownership_numbers` (the live register's only): which companies
//!   changed, numbered, for a process holding the register in memory to follow
//!   ([`ownership_log`]); kept through a clear, pruned with the applied positions.
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
mod guarded;
mod health;
mod ownership_log;
mod projection;
mod read;
mod retention;
mod search;
mod snapshot;
#[cfg(feature = "testkit")]
pub mod testkit;
mod years;

pub use snapshot::MongoSnapshot;

use anyhow::Context;
use futures::try_join;
use mongodb::bson::{Document, doc};
use mongodb::options::{ClientOptions, IndexOptions, Tls};
use mongodb::{Client, Collection, Database, IndexModel};

use crate::guarded::Mode;
use crate::projection::Plan;

pub(crate) const ORGANISATIONS: &str = "organisations";
pub(crate) const PERSONS: &str = "persons";
pub(crate) const HOLDINGS: &str = "holdings";
pub(crate) const APPLIED: &str = "applied";
pub(crate) const META: &str = "meta";
pub(crate) const WATERMARK_ID: &str = "applied_through";
/// An applied position's field: when it was applied.
pub(crate) const APPLIED_AT: &str = "at";

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
    /// The live register's changes, and the numbers they take (see [`ownership_log`]).
    changes: Collection<Document>,
    numbers: Collection<Document>,
    /// Change numbers this process has seen missing (see [`ownership_log`]).
    missing: std::sync::Arc<ownership_log::Missing>,
    /// The client's connection pool, as its events tell it.
    pool: std::sync::Arc<health::PoolEvents>,
}

impl std::fmt::Debug for MongoReadModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MongoReadModel")
            .field("database", &self.db.name())
            .finish_non_exhaustive()
    }
}

impl MongoReadModel {
    /// Connects to the database `database` at `uri` and creates the indexes the queries need
    /// (idempotent).
    ///
    /// # Errors
    /// When the URI is invalid or the server cannot be reached.
    pub async fn connect(uri: &str, database: &str) -> anyhow::Result<Self> {
        Self::connect_trusting(uri, database, None).await
    }

    /// As [`MongoReadModel::connect`], trusting the certificates of the PEM file `ca` for TLS
    /// when the connection string asks for it (`tls=true`).
    ///
    /// # Errors
    /// When the URI is invalid or the server cannot be reached.
    pub async fn connect_trusting(
        uri: &str,
        database: &str,
        ca: Option<&std::path::Path>,
    ) -> anyhow::Result<Self> {
        let mut options = ClientOptions::parse(uri)
            .await
            .context("parsing the MongoDB connection string")?;
        if let (Some(ca), Some(Tls::Enabled(tls))) = (ca, options.tls.as_mut()) {
            tls.ca_file_path = Some(ca.to_path_buf());
        }
        let pool = std::sync::Arc::new(health::PoolEvents::default());
        options.cmap_event_handler = Some(pool.handler());
        let client = Client::with_options(options).context("configuring the MongoDB client")?;
        let mut model = Self::new(client.database(database));
        model.pool = pool;
        model.create_indexes().await?;
        model.index_names().await?;
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
            changes: db.collection(&format!("{prefix}{}", ownership_log::CHANGES)),
            numbers: db.collection(&format!("{prefix}{}", ownership_log::NUMBERS)),
            missing: std::sync::Arc::default(),
            prefix,
            frozen,
            db,
            pool: std::sync::Arc::default(),
        }
    }

    /// The name of one of this read model's collections.
    fn named(&self, collection: &str) -> String {
        format!("{}{collection}", self.prefix)
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
                index("owner_holdings", read::owner_holdings_order()),
            ])
            .await
            .context("creating the holdings indexes")?;
        self.applied
            .create_index(index("applied_at", doc! { APPLIED_AT: 1 }))
            .await
            .context("creating the applied positions' index")?;
        for parties in [&self.organisations, &self.persons] {
            parties
                .create_index(search::index())
                .await
                .context("creating the search index")?;
        }
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
        let organisations = guarded::reduce(plan.organisations);
        let persons = guarded::reduce(plan.persons);
        let holdings = guarded::reduce(plan.holdings);
        let (organisations_name, persons_name, holdings_name) = (
            self.named(ORGANISATIONS),
            self.named(PERSONS),
            self.named(HOLDINGS),
        );
        try_join!(
            guarded::apply(&self.db, &organisations_name, &organisations, mode),
            guarded::apply(&self.db, &persons_name, &persons, mode),
            guarded::apply(&self.db, &holdings_name, &holdings, mode),
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
}
