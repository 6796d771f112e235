//! The read side's ceiling: raw unordered `insert_many` of holding-like documents into a fresh
//! database of the same MongoDB server, with no logic. It uses the driver alone, so no
//! adapter's internals are reached into.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use mongodb::Database;
use mongodb::bson::{Bson, Document, doc};

/// Documents per `insert_many`.
const BATCH: u64 = 10_000;

fn count(value: u64) -> anyhow::Result<Bson> {
    Ok(Bson::Int64(
        i64::try_from(value).context("a count past i64")?,
    ))
}

fn document(run: u128, i: u64) -> anyhow::Result<Document> {
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
        "classes": [{ "share_class": "Ordinære aksjer", "shares": count(i + 1)? }],
        "shares": count(i + 1)?,
        "version": count(i % 10 + 1)?,
    })
}

/// Inserts `documents` documents into `collection` of `db` and returns the time it took; fails
/// unless the collection then holds exactly that many.
pub async fn raw_insert(
    db: &Database,
    collection: &str,
    documents: u64,
) -> anyhow::Result<Duration> {
    let target = db.collection::<Document>(collection);
    let run = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let started = Instant::now();
    let mut next = 0u64;
    while next < documents {
        let end = documents.min(next + BATCH);
        let batch: Vec<Document> = (next..end)
            .map(|i| document(run, i))
            .collect::<anyhow::Result<_>>()?;
        target
            .insert_many(batch)
            .ordered(false)
            .await
            .with_context(|| format!("inserting into {collection}"))?;
        next = end;
    }
    let elapsed = started.elapsed();
    let stored = target.count_documents(doc! {}).await.context("counting")?;
    anyhow::ensure!(
        stored == documents,
        "the baseline stored {stored} documents, not {documents}"
    );
    Ok(elapsed)
}
