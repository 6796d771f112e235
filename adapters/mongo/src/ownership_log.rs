//! `OwnershipLog`: which companies' ownership changed in the live read model, so that a process
//! holding the register in memory (`StakesInMemory`) follows it exactly, and the whole live
//! register streamed for that process to hold it.
//!
//! Collection `ownership_changes`: one document per change, `_id` its number (Int64), `key`
//! what changed (an orgnr; `person:` and a person's id for a person registered; `""` for
//! everything: a clear, or a bulk load finished) and `at` (when it was written). Collection
//! `ownership_numbers` holds the last number taken (`_id: "last"`, `n`) and the number through
//! which changes were pruned (`pruned`).
//!
//! Projectors run concurrently and commit in any order, so a projector takes its numbers first
//! (one `$inc` for a batch of events) and writes its changes after, before it records the events
//! as applied: a reader may see change 7 before change 6 is written. Two rules keep a reader
//! from passing over a change:
//! - a reader's `through` stops before a number it has not seen, and it reads the changes
//!   above again until that number is written, unless it has seen the number missing for
//!   [`ABANDONED`] (its projector died between taking and writing it);
//! - a projector that took longer than [`LATE`] (less than half of [`ABANDONED`]) between
//!   taking its numbers and writing its changes writes them again under new numbers, which no
//!   reader can have passed.
//!
//! So once an event is applied (the `applied` positions of `?min_position=`), its change is
//! written under a number that a reader has either not passed or reads again: the next read
//! sees it.

use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime};

use anyhow::Context as _;
use async_trait::async_trait;
use futures::stream::{BoxStream, StreamExt as _, TryStreamExt as _};
use mongodb::bson::{DateTime, Document, doc};
use mongodb::options::ReturnDocument;
use shareholders_domain::{Event, OwnerRef};
use shareholders_ports::{
    CompanyRecord, HoldingRecord, OwnershipChange, OwnershipChanged, OwnershipChanges,
    OwnershipLog, PersonRecord, ReadError,
};

use crate::MongoReadModel;
use crate::codec::{self, int};
use crate::guarded;

pub(crate) const CHANGES: &str = "ownership_changes";
pub(crate) const NUMBERS: &str = "ownership_numbers";
const LAST: &str = "last";

/// How long a number may be seen missing before a reader passes over it.
const ABANDONED: Duration = Duration::from_secs(30);

/// How long a projector may take between taking its numbers and writing its changes before it
/// writes them again under new ones.
const LATE: Duration = Duration::from_secs(10);

/// A change written before a missing number by more than this (by the writer's clock) tells
/// a reader that has only just started to look that the number was abandoned long ago.
const LONG_AGO: Duration = Duration::from_secs(600);

/// The keys of what `event` changed: the company (its holdings, issuer state or profile), an
/// organisation that bought (its record as an owner), a person registered.
pub(crate) fn changed_by(event: &Event, keys: &mut Vec<String>) {
    match event {
        Event::OrganisationRegistered(organisation) => {
            keys.push(OwnershipChanged::Company(organisation.orgnr()).key());
        }
        Event::PersonRegistered(person) => {
            keys.push(OwnershipChanged::Person(person.id().clone()).key());
        }
        Event::SharesPurchased(purchased) => {
            keys.push(OwnershipChanged::Company(purchased.company.orgnr).key());
            if let OwnerRef::Organisation(owner) = &purchased.owner.owner {
                keys.push(OwnershipChanged::Company(*owner).key());
            }
        }
    }
}

/// Numbers a reader has seen missing, and since when.
#[derive(Default, Debug)]
pub(crate) struct Missing(std::sync::Mutex<BTreeMap<u64, Instant>>);

impl MongoReadModel {
    /// Writes the changes of `keys` (see the module); nothing for a year's read model, which
    /// never changes once loaded.
    pub(crate) async fn log_changes(&self, mut keys: Vec<String>) -> anyhow::Result<()> {
        if self.frozen || keys.is_empty() {
            return Ok(());
        }
        keys.sort_unstable();
        keys.dedup();
        loop {
            let began = Instant::now();
            let last = self.take_numbers(keys.len()).await?;
            let first = last + 1 - keys.len() as u64;
            let at = DateTime::now();
            let changes = keys
                .iter()
                .zip(first..)
                .map(|(key, number)| {
                    Ok(doc! { "_id": int(number, "change number")?, "key": key, "at": at })
                })
                .collect::<anyhow::Result<Vec<Document>>>()?;
            self.changes
                .insert_many(changes)
                .ordered(false)
                .await
                .context("writing ownership changes")?;
            if began.elapsed() < LATE {
                return Ok(());
            }
            tracing::warn!(
                seconds = began.elapsed().as_secs_f64(),
                "ownership changes written late; written again under new numbers"
            );
        }
    }

    /// Takes `count` numbers; returns the last of them.
    ///
    /// The numbers' document is created apart, before the first `$inc`: two projectors that
    /// upserted it at once would race, one failing with a duplicate key or finding nothing
    /// after the other's insert, and taking numbers again after an upsert that counted would
    /// leave numbers never written, which hold readers back (see [`ABANDONED`]).
    async fn take_numbers(&self, count: usize) -> anyhow::Result<u64> {
        let inc = doc! { "$inc": { "n": int(count as u64, "change numbers")? } };
        let taken = match self.increment_numbers(inc.clone()).await? {
            Some(taken) => taken,
            None => {
                self.create_numbers().await?;
                self.increment_numbers(inc)
                    .await?
                    .context("the change numbers' document is missing after it was created")?
            }
        };
        codec::get_u64(&taken, "n")
    }

    /// The numbers' document after `inc`, or `None` when it does not exist (never created).
    async fn increment_numbers(&self, inc: Document) -> anyhow::Result<Option<Document>> {
        self.numbers
            .find_one_and_update(doc! { "_id": LAST }, inc)
            .return_document(ReturnDocument::After)
            .await
            .context("taking ownership change numbers")
    }

    /// Creates the numbers' document unless it exists; another process creating it at the
    /// same time is no failure.
    async fn create_numbers(&self) -> anyhow::Result<()> {
        let created = self
            .numbers
            .update_one(
                doc! { "_id": LAST },
                doc! { "$setOnInsert": { "n": 0_i64 } },
            )
            .upsert(true)
            .await;
        match created {
            Ok(_) => Ok(()),
            Err(error) if guarded::duplicate_key(&error) => Ok(()),
            Err(error) => Err(error).context("creating the change numbers' document"),
        }
    }

    /// The last number taken and the number through which changes were pruned (0 for
    /// either when none was).
    async fn numbers_state(&self) -> anyhow::Result<NumbersState> {
        let numbers = self
            .numbers
            .find_one(doc! { "_id": LAST })
            .await
            .context("reading the change numbers")?;
        let field = |name| -> anyhow::Result<u64> {
            Ok(numbers
                .as_ref()
                .map(|doc| codec::get_opt_u64(doc, name))
                .transpose()?
                .flatten()
                .unwrap_or(0))
        };
        Ok(NumbersState {
            taken: field("n")?,
            pruned: field("pruned")?,
        })
    }

    /// Deletes the changes written before `before`, at most `limit`, and records the number
    /// through which they are gone (a reader behind it reads everything again).
    pub(crate) async fn prune_changes(
        &self,
        before: SystemTime,
        limit: usize,
    ) -> anyhow::Result<usize> {
        let before = DateTime::from_system_time(before);
        // The last change is kept, so that a reader behind the pruned ones finds a change
        // above a missing number, and so looks whether it was pruned.
        let Some(last) = self.last_number().await? else {
            return Ok(0);
        };
        // Written in about the order of their numbers: the oldest are the first numbers.
        let old: Vec<Document> = self
            .changes
            .find(doc! { "at": { "$lt": before }, "_id": { "$lt": int(last, "change number")? } })
            .sort(doc! { "_id": 1 })
            .limit(i64::try_from(limit.max(1)).unwrap_or(i64::MAX))
            .projection(doc! { "_id": 1 })
            .await
            .context("finding ownership changes to prune")?
            .try_collect()
            .await
            .context("finding ownership changes to prune")?;
        let Some(end) = old.last() else {
            return Ok(0);
        };
        let end = codec::get_u64(end, "_id")?;
        self.numbers
            .update_one(
                doc! { "_id": LAST },
                doc! { "$max": { "pruned": int(end, "change number")? } },
            )
            .upsert(true)
            .await
            .context("recording pruned ownership changes")?;
        let deleted = self
            .changes
            .delete_many(doc! { "_id": { "$lte": int(end, "change number")? } })
            .await
            .context("pruning ownership changes")?
            .deleted_count;
        Ok(usize::try_from(deleted).unwrap_or(usize::MAX))
    }

    /// How far `numbers` (above `after`, ascending, each with when it was written) are complete:
    /// up to the first number missing that was not given up on.
    fn complete_through(&self, after: u64, numbers: &[(u64, SystemTime)]) -> u64 {
        let now = Instant::now();
        let wall = SystemTime::now();
        let mut missing = self.missing.0.lock().expect("the missing numbers' lock");
        let mut through = after;
        'numbers: for &(number, written) in numbers {
            while through + 1 < number {
                let gap = through + 1;
                let since = *missing.entry(gap).or_insert(now);
                let long_ago = wall
                    .duration_since(written)
                    .is_ok_and(|age| age >= LONG_AGO);
                if now.duration_since(since) >= ABANDONED || long_ago {
                    tracing::warn!(number = gap, "an ownership change number was never written");
                    through = gap;
                } else {
                    break 'numbers;
                }
            }
            through = number;
        }
        missing.retain(|&number, _| number > through);
        through
    }

    async fn last_number(&self) -> anyhow::Result<Option<u64>> {
        self.changes
            .find_one(doc! {})
            .sort(doc! { "_id": -1 })
            .projection(doc! { "_id": 1 })
            .await
            .context("reading the last ownership change")?
            .map(|last| codec::get_u64(&last, "_id"))
            .transpose()
    }

    async fn changes_after(&self, after: u64, limit: u32) -> anyhow::Result<Vec<Document>> {
        self.changes
            .find(doc! { "_id": { "$gt": int(after, "change number")? } })
            .sort(doc! { "_id": 1 })
            .limit(i64::from(limit))
            .await
            .context("reading ownership changes")?
            .try_collect()
            .await
            .context("reading ownership changes")
    }
}

fn change(doc: &Document) -> anyhow::Result<(OwnershipChange, SystemTime)> {
    let seq = codec::get_u64(doc, "_id")?;
    let key = codec::get_str(doc, "key")?;
    let at = doc
        .get_datetime("at")
        .map(|at| at.to_system_time())
        .unwrap_or(SystemTime::UNIX_EPOCH);
    let changed = OwnershipChanged::from_key(key).with_context(|| format!("change {seq}"))?;
    Ok((OwnershipChange { seq, changed }, at))
}

#[async_trait]
impl OwnershipLog for MongoReadModel {
    /// The number before the first one missing among the last 10,000 (or the last one).
    async fn last_change(&self) -> Result<u64, ReadError> {
        const WINDOW: u64 = 10_000;
        let Some(last) = self.last_number().await? else {
            return Ok(0);
        };
        let after = last.saturating_sub(WINDOW);
        let recent = self
            .changes_after(after, u32::try_from(WINDOW).unwrap_or(u32::MAX))
            .await?
            .iter()
            .map(|doc| change(doc).map(|(change, at)| (change.seq, at)))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let first = recent.first().map_or(last, |&(number, _)| number);
        // Below the window (or below the first change kept) nothing is waited for.
        Ok(self.complete_through(first.saturating_sub(1).max(after), &recent))
    }

    async fn changed_since(&self, after: u64, limit: u32) -> Result<OwnershipChanges, ReadError> {
        let found = self
            .changes_after(after, limit)
            .await?
            .iter()
            .map(change)
            .collect::<anyhow::Result<Vec<_>>>()?;
        // Missing right after `after`: pruned (read everything again), or not yet written.
        if found
            .first()
            .is_some_and(|(first, _)| first.seq > after + 1)
        {
            let pruned = self.numbers_state().await?.pruned;
            if pruned > after {
                return Ok(everything_through(pruned));
            }
        }
        // Nothing above `after`: unless fewer numbers than that were ever taken, so that the
        // log started again (its database was dropped and the read model built again), and
        // everything changed since.
        if found.is_empty() && after > 0 {
            let taken = self.numbers_state().await?.taken;
            if taken < after {
                tracing::warn!(
                    after,
                    taken,
                    "the ownership log numbers from below a reader: it started again"
                );
                return Ok(everything_through(taken));
            }
        }
        let numbers: Vec<(u64, SystemTime)> =
            found.iter().map(|(change, at)| (change.seq, *at)).collect();
        let through = self.complete_through(after, &numbers);
        Ok(OwnershipChanges {
            changes: found.into_iter().map(|(change, _)| change).collect(),
            through,
        })
    }

    fn stakes(&self) -> BoxStream<'_, Result<HoldingRecord, ReadError>> {
        self.snapshot()
            .holdings_as_read()
            .map(|holding| holding.map_err(ReadError::Unknown))
            .boxed()
    }

    fn organisations(&self) -> BoxStream<'_, Result<CompanyRecord, ReadError>> {
        self.snapshot()
            .registered_companies()
            .map(|company| Ok(company.map_err(ReadError::Unknown)?.record))
            .boxed()
    }

    fn persons(&self) -> BoxStream<'_, Result<PersonRecord, ReadError>> {
        self.snapshot()
            .registered_persons()
            .map(|person| Ok(person.map_err(ReadError::Unknown)?.record))
            .boxed()
    }
}

/// What `ownership_numbers` holds.
struct NumbersState {
    taken: u64,
    pruned: u64,
}

/// Everything changed, through `number`: a reader reads the whole register again.
fn everything_through(number: u64) -> OwnershipChanges {
    OwnershipChanges {
        changes: vec![OwnershipChange {
            seq: number,
            changed: OwnershipChanged::Everything,
        }],
        through: number,
    }
}
