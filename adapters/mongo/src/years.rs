//! The read model of the years.
//!
//! A served year has its own collections, `y<year>g<generation>_organisations`, `…_persons`
//! and `…_holdings`, shaped and indexed as the live ones, and a document in `years` (`_id` =
//! the year) with its record and its generation. A year imported again is built into the
//! next generation's collections; replacing its `years` document (one atomic write) serves
//! them, and the previous generation's collections are dropped after.

use anyhow::Context as _;
use async_trait::async_trait;
use futures::TryStreamExt as _;
use mongodb::Database;
use mongodb::bson::{Document, doc};
use mongodb::options::ReturnDocument;
use shareholders_domain::{Position, RegisterYear};
use shareholders_ports::{
    ReadModelLoader, Snapshot, SnapshotBatch, YearReadLoad, YearReadModel, YearRecord,
};

use crate::MongoReadModel;
use crate::codec::{get_opt_u64, get_u64, int};

const YEARS: &str = "years";
const GENERATIONS: &str = "year_generations";

fn prefix(year: RegisterYear, generation: u64) -> String {
    format!("y{year}g{generation}_")
}

fn record_document(record: &YearRecord, generation: u64) -> anyhow::Result<Document> {
    let millis = record
        .imported_at
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis();
    Ok(doc! {
        "_id": i32::from(record.year.get()),
        "generation": int(generation, "generation")?,
        "file_name": &record.file_name,
        "sha256": &record.sha256,
        "imported_at_ms": int(u64::try_from(millis)?, "imported_at")?,
        "lines": int(record.lines, "lines")?,
        "rejects": int(record.rejects, "rejects")?,
        "companies": int(record.companies, "companies")?,
        "holdings": int(record.holdings, "holdings")?,
        "persons_linked": int(record.persons_linked, "persons_linked")?,
        "persons_ambiguous": int(record.persons_ambiguous, "persons_ambiguous")?,
        "superseded_live_changes": int(record.superseded_live_changes, "superseded")?,
        // Absent (null) for a year imported before its import was timed.
        "duration_ms": record
            .duration
            .map(|duration| int(u64::try_from(duration.as_millis())?, "duration"))
            .transpose()?,
    })
}

fn year_record(doc: &Document) -> anyhow::Result<YearRecord> {
    let year = doc.get_i32("_id").context("a year document's _id")?;
    Ok(YearRecord {
        year: RegisterYear::new(i64::from(year)).context("a served year")?,
        file_name: doc.get_str("file_name")?.to_owned(),
        sha256: doc.get_str("sha256")?.to_owned(),
        imported_at: std::time::UNIX_EPOCH
            + std::time::Duration::from_millis(get_u64(doc, "imported_at_ms")?),
        lines: get_u64(doc, "lines")?,
        rejects: get_u64(doc, "rejects")?,
        companies: get_u64(doc, "companies")?,
        holdings: get_u64(doc, "holdings")?,
        persons_linked: get_u64(doc, "persons_linked")?,
        persons_ambiguous: get_u64(doc, "persons_ambiguous")?,
        superseded_live_changes: get_u64(doc, "superseded_live_changes")?,
        duration: get_opt_u64(doc, "duration_ms")?.map(std::time::Duration::from_millis),
    })
}

/// The served years, oldest first.
pub(crate) async fn served(db: &Database) -> anyhow::Result<Vec<YearRecord>> {
    let documents: Vec<Document> = db
        .collection::<Document>(YEARS)
        .find(doc! {})
        .sort(doc! { "_id": 1 })
        .await
        .context("reading the served years")?
        .try_collect()
        .await
        .context("reading the served years")?;
    documents
        .iter()
        .map(|doc| year_record(doc).context("a served year's record"))
        .collect()
}

async fn served_generation(db: &Database, year: RegisterYear) -> anyhow::Result<Option<u64>> {
    let found = db
        .collection::<Document>(YEARS)
        .find_one(doc! { "_id": i32::from(year.get()) })
        .projection(doc! { "generation": 1 })
        .await
        .with_context(|| format!("reading whether {year} is served"))?;
    found.map(|doc| get_u64(&doc, "generation")).transpose()
}

/// The read model of a served year.
pub(crate) async fn served_model(
    db: &Database,
    year: RegisterYear,
) -> anyhow::Result<Option<MongoReadModel>> {
    Ok(served_generation(db, year)
        .await?
        .map(|generation| MongoReadModel::scoped(db.clone(), prefix(year, generation), true)))
}

/// Drops the collections of `year`'s generations other than `keep`.
async fn drop_generations(
    db: &Database,
    year: RegisterYear,
    keep: Option<u64>,
) -> anyhow::Result<()> {
    let start = format!("y{year}g");
    let names = db
        .list_collection_names()
        .await
        .context("listing the collections")?;
    for name in names {
        let Some(rest) = name.strip_prefix(&start) else {
            continue;
        };
        let Some(generation) = rest.split('_').next().and_then(|g| g.parse::<u64>().ok()) else {
            continue;
        };
        if Some(generation) != keep {
            db.collection::<Document>(&name)
                .drop()
                .await
                .with_context(|| format!("dropping {name}"))?;
        }
    }
    Ok(())
}

#[async_trait]
impl YearReadModel for MongoReadModel {
    async fn begin_year(&self, year: RegisterYear) -> anyhow::Result<Box<dyn YearReadLoad>> {
        let served = served_generation(&self.db, year).await?;
        drop_generations(&self.db, year, served).await?;
        let counter = self
            .db
            .collection::<Document>(GENERATIONS)
            .find_one_and_update(
                doc! { "_id": "generation" },
                doc! { "$inc": { "value": 1_i64 } },
            )
            .upsert(true)
            .return_document(ReturnDocument::After)
            .await
            .context("allocating a year's generation")?
            .context("the generation counter")?;
        let generation = get_u64(&counter, "value")?;
        let model = MongoReadModel::scoped(self.db.clone(), prefix(year, generation), true);
        model.create_indexes().await?;
        Ok(Box::new(MongoYearLoad {
            model,
            year,
            generation,
        }))
    }

    async fn served_years(&self) -> anyhow::Result<Vec<YearRecord>> {
        served(&self.db).await
    }

    async fn year_snapshot(&self, year: RegisterYear) -> anyhow::Result<Option<Box<dyn Snapshot>>> {
        Ok(served_model(&self.db, year)
            .await?
            .map(|model| Box::new(model.snapshot()) as Box<dyn Snapshot>))
    }

    async fn drop_year(&self, year: RegisterYear) -> anyhow::Result<()> {
        self.db
            .collection::<Document>(YEARS)
            .delete_one(doc! { "_id": i32::from(year.get()) })
            .await
            .with_context(|| format!("no longer serving {year}"))?;
        drop_generations(&self.db, year, None).await
    }
}

/// A year's collections being filled.
#[derive(Debug)]
struct MongoYearLoad {
    model: MongoReadModel,
    year: RegisterYear,
    generation: u64,
}

#[async_trait]
impl ReadModelLoader for MongoYearLoad {
    async fn clear(&self) -> anyhow::Result<()> {
        Ok(())
    }

    async fn load(&self, batch: SnapshotBatch) -> anyhow::Result<()> {
        ReadModelLoader::load(&self.model, batch).await
    }

    async fn mark_applied_through(&self, _position: Position) -> anyhow::Result<()> {
        Ok(())
    }
}

#[async_trait]
impl YearReadLoad for MongoYearLoad {
    async fn publish(self: Box<Self>, record: YearRecord) -> anyhow::Result<()> {
        let document = record_document(&record, self.generation)?;
        self.model
            .db
            .collection::<Document>(YEARS)
            .replace_one(doc! { "_id": i32::from(self.year.get()) }, document)
            .upsert(true)
            .await
            .with_context(|| format!("serving {}", self.year))?;
        drop_generations(&self.model.db, self.year, Some(self.generation)).await
    }
}
