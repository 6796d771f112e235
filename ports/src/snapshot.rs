//! The whole state at once: to verify that the read model matches the write model, and to
//! rebuild the read model (or build it after a bulk import) without replaying events.

use std::cmp::Ordering;
use std::fmt::Debug;

use async_trait::async_trait;
use futures::stream::{BoxStream, StreamExt};
use shareholders_domain::{OwnerKind, Position, search_words};

use crate::{CompanyRecord, HoldingRecord, PersonRecord};

/// An organisation's state with the versions that order its updates.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct CompanySnapshot {
    pub record: CompanyRecord,
    /// The company's version as an issuer (see `CompanyState::version`).
    pub version: u64,
    /// The organisation's version as an owner (see `OwnerState::version`).
    pub owner_version: u64,
    /// The search words and name length the store keeps of its own (see [`SearchField`]).
    pub search: Option<SearchField>,
}

#[derive(Clone, PartialEq, Eq, Debug)]
pub struct PersonSnapshot {
    pub record: PersonRecord,
    pub owner_version: u64,
    /// As [`CompanySnapshot::search`].
    pub search: Option<SearchField>,
}

/// What a read model stores to find a party by search, when it keeps its own copy (MongoDB's
/// `search` field): the name's [`search_words`] and its length in characters. `None` where
/// nothing of it is stored (the write model) or an index derives it from the name in the
/// same transaction (SQLite's FTS5 triggers); `verify` then compares what the name makes.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct SearchField {
    pub words: Vec<String>,
    pub length: u64,
}

impl SearchField {
    /// What a party named `name` has.
    #[must_use]
    pub fn of(name: &str) -> Self {
        Self {
            words: search_words(name),
            length: name.chars().count() as u64,
        }
    }
}

#[derive(Clone, PartialEq, Eq, Debug)]
pub struct HoldingSnapshot {
    pub record: HoldingRecord,
    /// The holding's shares over all classes as stored to sort and page owners and holdings
    /// by (and to choose a company's largest owner). The write model gives the sum of the
    /// classes; a read model, the value it stores.
    pub shares: u64,
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

    /// Called once the last batch of a load is written. A store that set work aside while the
    /// read model was cleared and loaded (building secondary indexes once, from sorted rows,
    /// instead of inserting into them row by row) does it now.
    ///
    /// # Errors
    /// When the store fails.
    async fn finish(&self) -> anyhow::Result<()> {
        Ok(())
    }

    /// Records that every event up to and including `position` is applied.
    ///
    /// # Errors
    /// When the store fails.
    async fn mark_applied_through(&self, position: Position) -> anyhow::Result<()>;
}

/// A difference between two models.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub enum Difference {
    /// In the write model, not in the read model.
    Missing { kind: &'static str, key: String },
    /// In the read model, not in the write model.
    Unexpected { kind: &'static str, key: String },
    /// In both, with a different value of one field.
    Differs {
        kind: &'static str,
        key: String,
        field: &'static str,
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
                field,
                write,
                read,
            } => write!(
                f,
                "{kind} {key}: {field} is {write} in the write model, {read} in the read model"
            ),
        }
    }
}

fn owner_key(kind: OwnerKind, id: &str) -> (OwnerKind, String) {
    (kind, id.to_owned())
}

impl Difference {
    /// The kind of record: `organisation`, `person`, `holding` or `year`.
    #[must_use]
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Missing { kind, .. }
            | Self::Unexpected { kind, .. }
            | Self::Differs { kind, .. } => kind,
        }
    }
}

/// A record's fields as `diff` compares them: every stored field a read depends on, by name.
///
/// **The rule for the read model's records**: a field a read model stores is either listed
/// here (so `verify` compares it) or read by no query. Versions and applied positions are the
/// only bookkeeping left out: they order writes, and no answer shows them.
type Fields = Vec<(&'static str, String)>;

fn text<T: Debug>(value: &T) -> String {
    format!("{value:?}")
}

fn company_fields(c: &CompanySnapshot) -> Fields {
    let r = &c.record;
    let o = &r.organisation;
    vec![
        ("name", text(&o.name())),
        ("postal_code", text(&o.postal_code())),
        ("place", text(&o.place())),
        ("country", text(&o.country())),
        ("total_shares", text(&o.total_shares())),
        ("registered_shares", text(&r.registered_shares)),
        ("owner_count", text(&r.owner_count)),
        ("foreign_owner_count", text(&r.foreign_owner_count)),
        ("holding_count", text(&r.holding_count)),
        ("classes", text(&r.classes)),
        ("search", search(c.search.as_ref(), o.name().as_str())),
    ]
}

fn search(stored: Option<&SearchField>, name: &str) -> String {
    text(&stored.cloned().unwrap_or_else(|| SearchField::of(name)))
}

fn person_fields(p: &PersonSnapshot) -> Fields {
    let person = &p.record.person;
    vec![
        ("name", text(&person.name())),
        ("birth_year", text(&person.birth_year())),
        ("postal_code", text(&person.postal_code())),
        ("place", text(&person.place())),
        ("country", text(&person.country())),
        ("holding_count", text(&p.record.holding_count)),
        ("search", search(p.search.as_ref(), person.name().as_str())),
    ]
}

fn holding_fields(h: &HoldingSnapshot) -> Fields {
    let r = &h.record;
    vec![
        ("company.name", text(&r.company.name)),
        ("company.total_shares", text(&r.company.total_shares)),
        (
            "company_registered_shares",
            text(&r.company_registered_shares),
        ),
        ("owner.name", text(&r.owner.name)),
        ("owner.country", text(&r.owner.country)),
        ("owner.birth_year", text(&r.owner.birth_year)),
        ("classes", text(&r.classes)),
        ("shares", text(&h.shares)),
    ]
}

/// Compares two models' snapshots and returns every difference: records on one side only, and
/// every field (see [`Fields`]) whose value differs.
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
        company_fields,
        &mut differences,
    )
    .await?;
    merge(
        "person",
        write.persons(),
        read.persons(),
        |p| p.record.person.id().to_string(),
        person_fields,
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
        holding_fields,
        &mut differences,
    )
    .await?;
    Ok(differences)
}

/// [`diff`] on a busy system. A single pass reads the write model and the read model while
/// writes go on, so it sees the read model trailing: a record written after the read model's
/// last applied event differs for a moment. So a difference only counts once it has been seen
/// twice, identically (the same record, field and both values), in passes between which the
/// read model caught up (`settle`, e.g. waiting until it has applied the last position the
/// write model has issued). A difference the read model was only late with is gone, or has
/// other values, in the next pass; a real one (a corrupted, missing or extra record) stays
/// the same. Each pass keeps only what every earlier pass saw, so after at most `passes`
/// passes what is left is reported. On an idle system with no difference this is one pass,
/// as [`diff`]; a record written in every pass cannot be judged until its writes pause.
///
/// # Errors
/// When either side's store fails, or `settle` does.
pub async fn diff_settled<S, F>(
    write: &dyn Snapshot,
    read: &dyn Snapshot,
    passes: u32,
    mut settle: S,
) -> anyhow::Result<Vec<Difference>>
where
    S: FnMut() -> F + Send,
    F: std::future::Future<Output = anyhow::Result<()>> + Send,
{
    let mut found = diff(write, read).await?;
    for _ in 1..passes.max(1) {
        if found.is_empty() {
            break;
        }
        settle().await?;
        let again: std::collections::HashSet<Difference> =
            diff(write, read).await?.into_iter().collect();
        let before = found.len();
        found.retain(|difference| again.contains(difference));
        if found.len() == before {
            break;
        }
    }
    Ok(found)
}

async fn merge<T>(
    kind: &'static str,
    mut left: BoxStream<'_, anyhow::Result<T>>,
    mut right: BoxStream<'_, anyhow::Result<T>>,
    key: impl Fn(&T) -> String,
    fields: impl Fn(&T) -> Fields,
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
                    for ((field, write), (_, read)) in fields(a).into_iter().zip(fields(b)) {
                        if write != read {
                            out.push(Difference::Differs {
                                kind,
                                key: key(a),
                                field,
                                write,
                                read,
                            });
                        }
                    }
                }
                l = left.next().await.transpose()?;
                r = right.next().await.transpose()?;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::sync::Mutex;

    use futures::stream;
    use shareholders_domain::{Country, Name, Person, PersonId};

    use super::*;

    fn person(id: &str, holding_count: u64) -> PersonSnapshot {
        PersonSnapshot {
            record: PersonRecord {
                person: Person::new(
                    PersonId::parse(id).expect("an id"),
                    Name::parse("KARI NORDMANN").expect("a name"),
                    None,
                    None,
                    None,
                    Country::NORWAY,
                ),
                holding_count,
            },
            owner_version: holding_count,
            search: None,
        }
    }

    /// A model whose persons are the next of `passes` each time they are read (the last one
    /// stays), as a model under writes looks to passes of `diff`.
    struct Passes(Mutex<VecDeque<Vec<(&'static str, u64)>>>);

    impl Passes {
        fn new(passes: &[&[(&'static str, u64)]]) -> Self {
            Self(Mutex::new(passes.iter().map(|p| p.to_vec()).collect()))
        }
    }

    #[async_trait]
    impl Snapshot for Passes {
        fn companies(&self) -> BoxStream<'_, anyhow::Result<CompanySnapshot>> {
            stream::empty().boxed()
        }
        fn persons(&self) -> BoxStream<'_, anyhow::Result<PersonSnapshot>> {
            let mut passes = self.0.lock().expect("not poisoned");
            let current = if passes.len() > 1 {
                passes.pop_front().unwrap_or_default()
            } else {
                passes.front().cloned().unwrap_or_default()
            };
            stream::iter(current.into_iter().map(|(id, n)| Ok(person(id, n)))).boxed()
        }
        fn holdings(&self) -> BoxStream<'_, anyhow::Result<HoldingSnapshot>> {
            stream::empty().boxed()
        }
        async fn position(&self) -> anyhow::Result<Option<Position>> {
            Ok(None)
        }
    }

    async fn settled(write: &Passes, read: &Passes, passes: u32) -> (Vec<String>, usize) {
        let settles = std::sync::atomic::AtomicUsize::new(0);
        let found = diff_settled(write, read, passes, || {
            settles.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            async { Ok(()) }
        })
        .await
        .expect("diff runs");
        (
            found.iter().map(ToString::to_string).collect(),
            settles.into_inner(),
        )
    }

    #[tokio::test]
    async fn a_read_model_that_was_only_late_has_no_difference() {
        // a and b are written while verify runs; the read model trails, then catches up.
        let write = Passes::new(&[&[("a", 2), ("b", 1)], &[("a", 3), ("b", 2), ("c", 1)]]);
        let read = Passes::new(&[
            &[("a", 1), ("b", 1)],
            &[("a", 3), ("b", 1)],
            &[("a", 3), ("b", 2), ("c", 1)],
        ]);
        assert_eq!(settled(&write, &read, 5).await, (vec![], 1));
    }

    #[tokio::test]
    async fn a_real_difference_is_reported_once_seen_twice_alike() {
        // b is corrupted in the read model; a is written in every pass.
        let write = Passes::new(&[&[("a", 1), ("b", 1)], &[("a", 2), ("b", 1)]]);
        let read = Passes::new(&[&[("a", 0), ("b", 7)], &[("a", 1), ("b", 7)]]);
        assert_eq!(
            settled(&write, &read, 5).await,
            (
                vec!["person b: holding_count is 1 in the write model, 7 in the read model".into()],
                2
            )
        );
    }

    #[tokio::test]
    async fn an_idle_clean_model_takes_one_pass() {
        let write = Passes::new(&[&[("a", 1)]]);
        let read = Passes::new(&[&[("a", 1)]]);
        assert_eq!(settled(&write, &read, 5).await, (vec![], 0));
    }

    #[tokio::test]
    async fn one_pass_is_a_plain_diff() {
        let write = Passes::new(&[&[("a", 2)]]);
        let read = Passes::new(&[&[("a", 1)]]);
        assert_eq!(settled(&write, &read, 1).await.0.len(), 1);
    }
}
