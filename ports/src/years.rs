//! Every imported year of the register, on both sides of CQRS.
//!
//! The write model keeps each imported year as an immutable snapshot ([`YearSnapshots`]); the
//! read model serves it ([`ReadStore::year`](crate::ReadStore::year)) once the year has been
//! projected into it ([`YearReadModel`], [`project_year`]). Years never change after their
//! import, so a year's read model is built whole, and replaced whole when the year is
//! imported again; `verify` compares each year as it compares the live register.

use async_trait::async_trait;
use shareholders_domain::RegisterYear;

use crate::{Difference, ReadModelLoader, RebuildReport, Snapshot, YearRecord, diff, rebuild};

/// The write model's imported years.
#[async_trait]
pub trait YearSnapshots: Send + Sync {
    /// The imported years with their provenance, oldest first.
    ///
    /// # Errors
    /// When the store fails.
    async fn years(&self) -> anyhow::Result<Vec<YearRecord>>;

    /// The year's whole state, as the live register's snapshot gives it (versions are 0 and
    /// the position is `None`: a year has no events), or `None` when it was never imported.
    ///
    /// # Errors
    /// When the store fails.
    async fn year_snapshot(&self, year: RegisterYear) -> anyhow::Result<Option<Box<dyn Snapshot>>>;
}

/// The read model's side of the years.
#[async_trait]
pub trait YearReadModel: Send + Sync {
    /// Starts building `year`'s read model beside the one it serves, if any: nothing is
    /// visible until [`YearReadLoad::publish`], and a load dropped before it changes nothing.
    ///
    /// # Errors
    /// When the store fails.
    async fn begin_year(&self, year: RegisterYear) -> anyhow::Result<Box<dyn YearReadLoad>>;

    /// The years the read model serves, oldest first.
    ///
    /// # Errors
    /// When the store fails.
    async fn served_years(&self) -> anyhow::Result<Vec<YearRecord>>;

    /// The served year's whole state, or `None` when it does not serve the year.
    ///
    /// # Errors
    /// When the store fails.
    async fn year_snapshot(&self, year: RegisterYear) -> anyhow::Result<Option<Box<dyn Snapshot>>>;

    /// Stops serving `year` and deletes its read model (a year the write model no longer has).
    ///
    /// # Errors
    /// When the store fails.
    async fn drop_year(&self, year: RegisterYear) -> anyhow::Result<()>;
}

/// A year's read model being built. [`ReadModelLoader::clear`] and
/// [`ReadModelLoader::mark_applied_through`] do nothing: a year's read model starts empty and
/// has no events.
#[async_trait]
pub trait YearReadLoad: ReadModelLoader {
    /// Serves the loaded year, with its record, in place of the year's previous read model.
    ///
    /// # Errors
    /// When the store fails; the previous read model is then still served.
    async fn publish(self: Box<Self>, record: YearRecord) -> anyhow::Result<()>;
}

/// Builds `year`'s read model from the write model's snapshot of it, in batches of `batch`
/// documents, and serves it. Returns `None` when the write model has no such year.
///
/// # Errors
/// When either store fails; it can simply be run again.
pub async fn project_year(
    source: &dyn YearSnapshots,
    target: &dyn YearReadModel,
    year: RegisterYear,
    batch: usize,
    progress: &(dyn Fn(u64) + Sync),
) -> anyhow::Result<Option<RebuildReport>> {
    let Some(record) = source
        .years()
        .await?
        .into_iter()
        .find(|record| record.year == year)
    else {
        return Ok(None);
    };
    let Some(snapshot) = source.year_snapshot(year).await? else {
        return Ok(None);
    };
    let load = target.begin_year(year).await?;
    let report = rebuild(snapshot.as_ref(), load.as_ref(), false, batch, progress).await?;
    load.publish(record).await?;
    Ok(Some(report))
}

/// Rebuilds every year's read model from the write model, and stops serving the years the
/// write model does not have. Returns the years rebuilt.
///
/// # Errors
/// When either store fails.
pub async fn project_years(
    source: &dyn YearSnapshots,
    target: &dyn YearReadModel,
    batch: usize,
    progress: &(dyn Fn(RegisterYear, u64) + Sync),
) -> anyhow::Result<Vec<(RegisterYear, RebuildReport)>> {
    let years = source.years().await?;
    for served in target.served_years().await? {
        if !years.iter().any(|record| record.year == served.year) {
            target.drop_year(served.year).await?;
        }
    }
    let mut rebuilt = Vec::new();
    for record in years {
        let year = record.year;
        if let Some(report) =
            project_year(source, target, year, batch, &|done| progress(year, done)).await?
        {
            rebuilt.push((year, report));
        }
    }
    Ok(rebuilt)
}

/// Compares every year of the write model with the read model's: the list of years and their
/// records, then each year's organisations, persons and holdings. A difference's key starts
/// with its year.
///
/// # Errors
/// When either store fails.
pub async fn diff_years(
    source: &dyn YearSnapshots,
    target: &dyn YearReadModel,
) -> anyhow::Result<Vec<Difference>> {
    let written = source.years().await?;
    let served = target.served_years().await?;
    let mut differences = Vec::new();
    for record in &written {
        let key = record.year.to_string();
        match served.iter().find(|s| s.year == record.year) {
            None => differences.push(Difference::Missing { kind: "year", key }),
            Some(s) if s != record => differences.push(Difference::Differs {
                kind: "year",
                key,
                field: "record",
                write: format!("{record:?}"),
                read: format!("{s:?}"),
            }),
            Some(_) => {}
        }
    }
    for s in &served {
        if !written.iter().any(|record| record.year == s.year) {
            differences.push(Difference::Unexpected {
                kind: "year",
                key: s.year.to_string(),
            });
        }
    }
    for record in &written {
        let (Some(write), Some(read)) = (
            source.year_snapshot(record.year).await?,
            target.year_snapshot(record.year).await?,
        ) else {
            continue;
        };
        for difference in diff(write.as_ref(), read.as_ref()).await? {
            differences.push(in_year(record.year, difference));
        }
    }
    Ok(differences)
}

fn in_year(year: RegisterYear, difference: Difference) -> Difference {
    let prefix = |key: String| format!("{year}/{key}");
    match difference {
        Difference::Missing { kind, key } => Difference::Missing {
            kind,
            key: prefix(key),
        },
        Difference::Unexpected { kind, key } => Difference::Unexpected {
            kind,
            key: prefix(key),
        },
        Difference::Differs {
            kind,
            key,
            field,
            write,
            read,
        } => Difference::Differs {
            kind,
            key: prefix(key),
            field,
            write,
            read,
        },
    }
}
