//! The whole state at once: to verify that the read model matches the write model, and to
//! rebuild the read model (or build it after a bulk import) without replaying events.

use std::cmp::Ordering;
use std::fmt::Debug;

use async_trait::async_trait;
use futures::stream::{BoxStream, StreamExt};
use shareholders_domain::{OwnerKind, Position};

use crate::{CompanyRecord, HoldingRecord, PersonRecord};

/// An organisation's state with the versions that order its updates.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct CompanySnapshot {
    pub record: CompanyRecord,
    /// The company's version as an issuer (see `CompanyState::version`).
    pub version: u64,
    /// The organisation's version as an owner (see `OwnerState::version`).
    pub owner_version: u64,
}

#[derive(Clone, PartialEq, Eq, Debug)]
pub struct PersonSnapshot {
    pub record: PersonRecord,
    pub owner_version: u64,
}

#[derive(Clone, PartialEq, Eq, Debug)]
pub struct HoldingSnapshot {
    pub record: HoldingRecord,
    /// The company's version when this holding last changed.
    pub version: u64,
}

/// The whole state of a model, as three sorted streams.
#[async_trait]
pub trait Snapshot: Send + Sync {
    /// Every organisation, ordered by orgnr.
    fn companies(&self) -> BoxStream<'_, anyhow::Result<CompanySnapshot>>;
    /// Every person, ordered by id (bytewise).
    fn persons(&self) -> BoxStream<'_, anyhow::Result<PersonSnapshot>>;
    /// Every holding, ordered by company orgnr, then owner kind (`organization` before
    /// `person`), then owner id (bytewise).
    fn holdings(&self) -> BoxStream<'_, anyhow::Result<HoldingSnapshot>>;
    /// For a write model, the last recorded event; for a read model, the position through
    /// which every event is known to be applied. `None` when there is none.
    ///
    /// # Errors
    /// When the store fails.
    async fn position(&self) -> anyhow::Result<Option<Position>>;
}

/// A batch of state to load into a read model.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct SnapshotBatch {
    pub companies: Vec<CompanySnapshot>,
    pub persons: Vec<PersonSnapshot>,
    pub holdings: Vec<HoldingSnapshot>,
}

impl SnapshotBatch {
    #[must_use]
    pub fn len(&self) -> usize {
        self.companies.len() + self.persons.len() + self.holdings.len()
    }
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Bulk writes into a read model, for rebuilds and imports.
#[async_trait]
pub trait ReadModelLoader: Send + Sync {
    /// Removes every document of the read model.
    ///
    /// # Errors
    /// When the store fails.
    async fn clear(&self) -> anyhow::Result<()>;

    /// Writes a batch in bulk. Each document is written only where the read model holds an
    /// older version (or none), so loading is idempotent and never undoes a newer event.
    ///
    /// # Errors
    /// When the store fails; the batch may be retried.
    async fn load(&self, batch: SnapshotBatch) -> anyhow::Result<()>;

    /// Records that every event up to and including `position` is applied.
    ///
    /// # Errors
    /// When the store fails.
    async fn mark_applied_through(&self, position: Position) -> anyhow::Result<()>;
}

/// A difference between two models.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Difference {
    /// In the write model, not in the read model.
    Missing { kind: &'static str, key: String },
    /// In the read model, not in the write model.
    Unexpected { kind: &'static str, key: String },
    /// In both, with different content.
    Differs {
        kind: &'static str,
        key: String,
        write: String,
        read: String,
    },
}

impl std::fmt::Display for Difference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Missing { kind, key } => write!(f, "{kind} {key}: missing from the read model"),
            Self::Unexpected { kind, key } => write!(f, "{kind} {key}: only in the read model"),
            Self::Differs {
                kind,
                key,
                write,
                read,
            } => write!(
                f,
                "{kind} {key}: write model has {write}, read model has {read}"
            ),
        }
    }
}

fn owner_key(kind: OwnerKind, id: &str) -> (OwnerKind, String) {
    (kind, id.to_owned())
}

/// Compares two models' snapshots and returns every difference in content (versions aside).
/// It streams both sides in step, so memory stays flat however large the models are.
///
/// # Errors
/// When either side's store fails.
pub async fn diff(write: &dyn Snapshot, read: &dyn Snapshot) -> anyhow::Result<Vec<Difference>> {
    let mut differences = Vec::new();
    merge(
        "organisation",
        write.companies(),
        read.companies(),
        |c| c.record.organisation.orgnr().to_string(),
        |c| c.record.clone(),
        &mut differences,
    )
    .await?;
    merge(
        "person",
        write.persons(),
        read.persons(),
        |p| p.record.person.id().to_string(),
        |p| p.record.clone(),
        &mut differences,
    )
    .await?;
    merge(
        "holding",
        write.holdings(),
        read.holdings(),
        |h| {
            let (kind, id) = owner_key(h.record.owner.owner.kind(), h.record.owner.owner.id());
            format!("{}/{}/{id}", h.record.company.orgnr, kind.as_str())
        },
        |h| h.record.clone(),
        &mut differences,
    )
    .await?;
    Ok(differences)
}

async fn merge<T, C: PartialEq + Debug>(
    kind: &'static str,
    mut left: BoxStream<'_, anyhow::Result<T>>,
    mut right: BoxStream<'_, anyhow::Result<T>>,
    key: impl Fn(&T) -> String,
    content: impl Fn(&T) -> C,
    out: &mut Vec<Difference>,
) -> anyhow::Result<()> {
    let mut l = left.next().await.transpose()?;
    let mut r = right.next().await.transpose()?;
    loop {
        let order = match (&l, &r) {
            (None, None) => return Ok(()),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (Some(a), Some(b)) => key(a).cmp(&key(b)),
        };
        match order {
            Ordering::Less => {
                if let Some(a) = &l {
                    out.push(Difference::Missing { kind, key: key(a) });
                }
                l = left.next().await.transpose()?;
            }
            Ordering::Greater => {
                if let Some(b) = &r {
                    out.push(Difference::Unexpected { kind, key: key(b) });
                }
                r = right.next().await.transpose()?;
            }
            Ordering::Equal => {
                if let (Some(a), Some(b)) = (&l, &r) {
                    let (ca, cb) = (content(a), content(b));
                    if ca != cb {
                        out.push(Difference::Differs {
                            kind,
                            key: key(a),
                            write: format!("{ca:?}"),
                            read: format!("{cb:?}"),
                        });
                    }
                }
                l = left.next().await.transpose()?;
                r = right.next().await.transpose()?;
            }
        }
    }
}
