//! The live register's holdings and organisations held in memory in each process that serves
//! reads, so that the ownership graph (ultimate and beneficial owners, ultimate holdings, the
//! drawn graph, the BODS network) is read in microseconds a level instead of a query a level,
//! and a company's summary, owners and holdings without a query at all.
//!
//! [`StakesInMemory`] is a [`ReadStore`] that answers [`ReadStore::organisation`],
//! [`ReadStore::owners`] (and [`ReadStore::owners_given`]), [`ReadStore::holdings`],
//! [`ReadStore::owners_of`], [`ReadStore::holdings_of`], [`ReadStore::search_ranked`],
//! [`ReadStore::ultimate_owners`] and [`ReadStore::ultimate_holdings`] (computed on the held
//! holdings as they are) from memory,
//! and everything else (persons, the list of years, the unranked search) from the read model it
//! wraps; [`ReadStore::year`] gives a year whose ownership graph alone is held when years are
//! held ([`StakesInMemory::holding_years`], `years.rs`, `held_year.rs`). It
//! stays exactly as fresh as the read model: before each answer it asks the read model's
//! [`OwnershipLog`] which companies changed since it last looked (one indexed query, nothing
//! in the common case; concurrent reads share it) and reads those companies' holdings and
//! records again. So `?min_position=` holds as for every read (the read waits for the read model, and the log is written in the same
//! transaction as the holdings), any number of processes can serve it, and a change made by
//! another process (a rebuild, an import moving the live register) is seen. Until it has
//! loaded (at start, in the background, or again after the read model was cleared), it
//! answers from the read model, a level at a time, as before.

mod frozen;
mod held_year;
mod index;
mod names;
#[cfg(test)]
mod tests;
mod unchanging;
mod years;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use async_trait::async_trait;
use futures::StreamExt as _;
use futures::stream::BoxStream;
use shareholders_domain::{
    OrgNr, OwnerProfile, OwnerRef, PersonId, Position, RegisterYear, SearchQuery,
};

use self::index::Stakes;
use self::names::Names;
pub use self::unchanging::UnchangingRegister;
use self::years::HeldYears;
use crate::metrics::{GRAPH_LEVEL_READS_TOTAL, GRAPH_STAKES_HELD, register_count};
use crate::service::{ultimate_answer, ultimate_holdings_view};
use crate::{
    CompanyRecord, HoldingRecord, PageRequest, PersonRecord, ReadError, ReadStore, SearchMatches,
    Snapshot, UltimateAnswer, UltimateHoldingsView, UltimateQuestion, YearReadModel, YearRecord,
};

/// Changes read at once.
const MAX_CHANGES: u32 = 10_000;

/// Companies whose holdings are read again in one query.
const BATCH: usize = 500;

/// What changed in the live read model.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum OwnershipChanged {
    /// The company's holdings, its record (profile, registered shares, counts), or its
    /// record as an owner (the companies it holds shares in).
    Company(OrgNr),
    /// The person's record: registered.
    Person(PersonId),
    /// Everything: the read model was cleared (to be rebuilt).
    Everything,
}

impl OwnershipChanged {
    /// A key's prefix for a person registered.
    const PERSON: &'static str = "person:";

    /// How a log stores the change: the orgnr, `person:` and the person's id, or `""` for
    /// everything. Read back by [`from_key`](Self::from_key).
    #[must_use]
    pub fn key(&self) -> String {
        match self {
            Self::Company(orgnr) => orgnr.as_str().to_owned(),
            Self::Person(id) => format!("{}{}", Self::PERSON, id.as_str()),
            Self::Everything => String::new(),
        }
    }

    /// The change a log stored as `key` (see [`key`](Self::key)).
    ///
    /// # Errors
    /// When `key` holds neither a valid orgnr nor a valid person id.
    pub fn from_key(key: &str) -> anyhow::Result<Self> {
        Ok(if key.is_empty() {
            Self::Everything
        } else if let Some(id) = key.strip_prefix(Self::PERSON) {
            Self::Person(PersonId::parse(id).with_context(|| format!("change key {key:?}"))?)
        } else {
            Self::Company(OrgNr::parse(key).with_context(|| format!("change key {key:?}"))?)
        })
    }
}

/// One change, with the sequence number the log gave it.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct OwnershipChange {
    pub seq: u64,
    pub changed: OwnershipChanged,
}

/// Changes read from an [`OwnershipLog`].
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct OwnershipChanges {
    /// Committed changes above the number asked for, in order.
    pub changes: Vec<OwnershipChange>,
    /// Every change numbered up to `through` is among `changes` or was given before, so the
    /// next read asks for the changes after it. A log numbered by one writer (SQLite's)
    /// gives the last change's number; one whose writers take their numbers before they
    /// commit (MongoDB's) stops before a number not yet committed, and gives the changes
    /// committed above it again on the next read.
    pub through: u64,
}

impl OwnershipChanges {
    /// `changes`, complete through the last one's number (or `after` when there are none):
    /// a log numbered in the order its changes commit.
    #[must_use]
    pub fn in_order(after: u64, changes: Vec<OwnershipChange>) -> Self {
        let through = changes.last().map_or(after, |change| change.seq);
        Self { changes, through }
    }
}

/// The live read model's record of which companies' ownership changed: what keeps
/// [`StakesInMemory`] current.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait OwnershipLog: Send + Sync + 'static {
    /// A sequence number through which every change is committed (0 before any): what a
    /// copy read whole right after holds. A log whose numbers are taken before their changes
    /// are committed gives the number before its oldest change not yet seen.
    ///
    /// # Errors
    /// [`ReadError::Unknown`] when the store fails.
    async fn last_change(&self) -> Result<u64, ReadError>;

    /// At most `limit` committed changes with a sequence number above `after`, in order,
    /// and how far they are complete. A company that changed several times may be given
    /// once, with its last change's number.
    ///
    /// # Errors
    /// [`ReadError::Unknown`] when the store fails.
    async fn changed_since(&self, after: u64, limit: u32) -> Result<OwnershipChanges, ReadError>;

    /// Every holding of the live register, as [`ReadStore::owners_of`] gives them.
    fn stakes(&self) -> BoxStream<'_, Result<HoldingRecord, ReadError>>;

    /// Every registered organisation of the live register, as [`ReadStore::organisation`]
    /// gives them.
    fn organisations(&self) -> BoxStream<'_, Result<CompanyRecord, ReadError>>;

    /// Every registered person of the live register, as [`ReadStore::person`] gives them.
    fn persons(&self) -> BoxStream<'_, Result<PersonRecord, ReadError>>;
}

/// How a registered organisation is shown among search results.
fn organisation_profile(record: &CompanyRecord) -> OwnerProfile {
    let organisation = &record.organisation;
    OwnerProfile {
        owner: OwnerRef::Organisation(organisation.orgnr()),
        name: organisation.name().clone(),
        country: organisation.country(),
        birth_year: None,
    }
}

/// How a registered person is shown among search results.
fn person_profile(record: &PersonRecord) -> OwnerProfile {
    let person = &record.person;
    OwnerProfile {
        owner: OwnerRef::Person(person.id().clone()),
        name: person.name().clone(),
        country: person.country(),
        birth_year: person.birth_year(),
    }
}

/// What a process holds, and through which change.
struct Held {
    stakes: Stakes,
    /// Every registered organisation.
    organisations: HashMap<OrgNr, CompanyRecord>,
    /// Every registered organisation and person, by name.
    names: Names,
    seq: u64,
}

struct Shared {
    held: RwLock<Option<Held>>,
    /// One catch-up at a time.
    catch_up: tokio::sync::Mutex<()>,
    /// When the last catch-up that ended began: what is held is as new as the read model was
    /// then.
    current_as_of: std::sync::Mutex<Option<Instant>>,
    /// When the read model last said a position was applied: a read after it waits for a
    /// catch-up that began after it, so it sees that position's change.
    applied_seen: std::sync::Mutex<Option<Instant>>,
    loading: AtomicBool,
}

/// The read model, with the live register's holdings also held in memory (see the module).
#[derive(Clone)]
pub struct StakesInMemory {
    read: Arc<dyn ReadStore>,
    log: Arc<dyn OwnershipLog>,
    shared: Arc<Shared>,
    /// Whether it holds the register's search too, or leaves it to the read model (an
    /// export's, which searches nothing).
    search_held: bool,
    /// The imported years held beside the live register, when they are.
    years: Option<Arc<HeldYears>>,
    /// How far behind the read model a read that waits for no position may be answered.
    fresh_within: Duration,
}

impl std::fmt::Debug for StakesInMemory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StakesInMemory")
            .field("held", &self.held())
            .finish_non_exhaustive()
    }
}

impl StakesInMemory {
    /// Wraps `read`, whose live register `log` records the changes of. Nothing is held until
    /// [`load`](Self::load) runs.
    #[must_use]
    pub fn new(read: Arc<dyn ReadStore>, log: Arc<dyn OwnershipLog>) -> Self {
        let this = Self {
            read,
            log,
            shared: Arc::new(Shared {
                held: RwLock::new(None),
                catch_up: tokio::sync::Mutex::new(()),
                current_as_of: std::sync::Mutex::new(None),
                applied_seen: std::sync::Mutex::new(None),
                loading: AtomicBool::new(false),
            }),
            search_held: true,
            years: None,
            fresh_within: Duration::ZERO,
        };
        this.gauge().set(0.0);
        this
    }

    /// Holds `snapshot`, a register that does not change (see [`UnchangingRegister`]), for
    /// its graph, its organisation records, its pages of owners and holdings, and its levels;
    /// its search is left to `read`, the same register's read model. What an export of the
    /// register reads, loaded without the search it does not use.
    #[must_use]
    pub fn unchanging(read: Arc<dyn ReadStore>, snapshot: Box<dyn Snapshot>) -> Self {
        let mut held = Self::new(read, Arc::new(UnchangingRegister::new(snapshot)));
        held.search_held = false;
        held
    }

    /// Answers a read without asking the log what changed when a catch-up began less than
    /// `window` before the read and after the read model last said a position was applied
    /// ([`ReadStore::applied`], which a read with `?min_position=` waits on). So such a read
    /// still sees its position's change, and any other read is at most `window` behind the
    /// read model (as if the projector were that much slower), while the log is asked at most
    /// once a `window` under load instead of once a read. Zero (the default) asks before every
    /// read.
    #[must_use]
    pub fn fresh_within(mut self, window: Duration) -> Self {
        self.fresh_within = window;
        self
    }

    /// Also holds up to `capacity` imported years in memory, those asked for most recently
    /// (see [`ReadStore::year`]), each read from `snapshots` the first time it is asked for;
    /// `capacity` 0 holds none.
    #[must_use]
    pub fn holding_years(mut self, snapshots: Arc<dyn YearReadModel>, capacity: usize) -> Self {
        self.years = (capacity > 0).then(|| Arc::new(HeldYears::new(snapshots, capacity)));
        self
    }

    /// The gauge of the holdings it holds.
    fn gauge(&self) -> metrics::Gauge {
        metrics::gauge!(GRAPH_STAKES_HELD)
    }

    /// Reads every holding of the live register into memory, replacing what was held (reads
    /// go to the read model meanwhile). Returns how many it holds, or `None` when a load was
    /// already under way.
    ///
    /// # Errors
    /// [`ReadError::Unknown`] when the store fails; nothing is held then.
    pub async fn load(&self) -> Result<Option<usize>, ReadError> {
        if self.shared.loading.swap(true, Ordering::AcqRel) {
            return Ok(None);
        }
        let loaded = self.load_whole().await;
        self.shared.loading.store(false, Ordering::Release);
        loaded.map(Some)
    }

    async fn load_whole(&self) -> Result<usize, ReadError> {
        self.set(None);
        let started = Instant::now();
        let seq = self.log.last_change().await?;
        let mut stakes = Stakes::default();
        let mut all = self.log.stakes();
        while let Some(holding) = all.next().await {
            stakes.push(holding?);
            if stakes.len() % 1_000_000 == 0 {
                tracing::info!(stakes = stakes.len(), "loading the ownership graph");
            }
        }
        stakes.order();
        let mut organisations = HashMap::new();
        let mut all = self.log.organisations();
        while let Some(record) = all.next().await {
            let record = record?;
            organisations.insert(record.organisation.orgnr(), record);
        }
        drop(all);
        // An export's search is its read model's.
        let names = if !self.search_held {
            Names::of(Vec::new())
        } else {
            let mut parties: Vec<OwnerProfile> =
                organisations.values().map(organisation_profile).collect();
            let mut all = self.log.persons();
            while let Some(record) = all.next().await {
                parties.push(person_profile(&record?));
            }
            Names::of(parties)
        };
        let held = stakes.len();
        tracing::info!(
            stakes = held,
            organisations = organisations.len(),
            parties = names.len(),
            seconds = started.elapsed().as_secs_f64(),
            "the register is held in memory"
        );
        self.set(Some(Held {
            stakes,
            organisations,
            names,
            seq,
        }));
        Ok(held)
    }

    /// Loads again in the background (after the read model was cleared): reads go to the
    /// read model until it has.
    fn reload(&self) {
        self.set(None);
        self.load_in_background();
    }

    /// [`load`](Self::load)s on a task of its own; a failure is logged, and reads keep going
    /// to the read model.
    pub fn load_in_background(&self) {
        let this = self.clone();
        tokio::spawn(async move {
            if let Err(error) = this.load().await {
                tracing::warn!(
                    error = &error as &dyn std::error::Error,
                    "loading the ownership graph failed; it is read from the read model"
                );
            }
        });
    }

    /// How many holdings are held, or `None` while nothing is.
    #[must_use]
    pub fn held(&self) -> Option<usize> {
        self.shared
            .held
            .read()
            .expect("the held stakes' lock")
            .as_ref()
            .map(|held| held.stakes.len())
    }

    fn set(&self, held: Option<Held>) {
        let stakes = held.as_ref().map_or(0, |held| held.stakes.len());
        *self.shared.held.write().expect("the held stakes' lock") = held;
        self.gauge().set(stakes as f64);
    }

    fn seq(&self) -> Option<u64> {
        self.shared
            .held
            .read()
            .expect("the held stakes' lock")
            .as_ref()
            .map(|held| held.seq)
    }

    /// Brings what is held up to the read model's present. `false` when nothing is held (the
    /// read is then answered by the read model).
    async fn caught_up(&self) -> Result<bool, ReadError> {
        if self.seq().is_none() {
            return Ok(false);
        }
        let asked = Instant::now();
        let recent = asked.checked_sub(self.fresh_within).unwrap_or(asked);
        let applied_seen = *self
            .shared
            .applied_seen
            .lock()
            .expect("the applied position's lock");
        let needed = applied_seen.map_or(recent, |seen| seen.max(recent));
        let current = || {
            self.shared
                .current_as_of
                .lock()
                .expect("the catch-up's lock")
                .is_some_and(|began| began >= needed)
        };
        if current() {
            return Ok(self.seq().is_some());
        }
        let _one = self.shared.catch_up.lock().await;
        // A catch-up that began after this read asked may have ended meanwhile.
        if current() {
            return Ok(self.seq().is_some());
        }
        let began = Instant::now();
        let caught_up = self.catch_up().await;
        if caught_up.is_ok() {
            let mut as_of = self
                .shared
                .current_as_of
                .lock()
                .expect("the catch-up's lock");
            *as_of = Some(as_of.map_or(began, |as_of| as_of.max(began)));
        }
        caught_up
    }

    /// Reads again what the log says changed since what is held (see [`Self::caught_up`]).
    async fn catch_up(&self) -> Result<bool, ReadError> {
        loop {
            let Some(seq) = self.seq() else {
                return Ok(false);
            };
            let OwnershipChanges { changes, through } =
                self.log.changed_since(seq, MAX_CHANGES).await?;
            if changes.is_empty() {
                self.advance(through);
                return Ok(self.seq().is_some());
            }
            let mut companies = Vec::with_capacity(changes.len());
            let mut persons = Vec::new();
            for change in &changes {
                match &change.changed {
                    OwnershipChanged::Company(orgnr) => companies.push(*orgnr),
                    OwnershipChanged::Person(id) => persons.push(id.clone()),
                    OwnershipChanged::Everything => {
                        self.reload();
                        return Ok(false);
                    }
                }
            }
            self.read_again(companies, persons, through).await?;
            // Another page, unless this one was the last, or stopped at a change not yet
            // committed (what is committed above it was read again).
            if changes.len() < MAX_CHANGES as usize || through <= seq {
                return Ok(self.seq().is_some());
            }
        }
    }

    /// Records that what is held is current through change `through`.
    fn advance(&self, through: u64) {
        let mut held = self.shared.held.write().expect("the held stakes' lock");
        if let Some(held) = held.as_mut() {
            held.seq = held.seq.max(through);
        }
    }

    /// Replaces what is held of `companies` and `persons` with their holdings and records in
    /// the read model now, which is at least as new as change `through`.
    async fn read_again(
        &self,
        mut companies: Vec<OrgNr>,
        persons: Vec<PersonId>,
        through: u64,
    ) -> Result<(), ReadError> {
        companies.sort_unstable();
        companies.dedup();
        let mut now: HashMap<OrgNr, Vec<HoldingRecord>> =
            companies.iter().map(|&orgnr| (orgnr, Vec::new())).collect();
        for batch in companies.chunks(BATCH) {
            for holding in self.read.owners_of(batch).await? {
                now.entry(holding.company.orgnr).or_default().push(holding);
            }
        }
        let mut records = Vec::with_capacity(companies.len());
        for &orgnr in &companies {
            records.push((orgnr, self.read.organisation(orgnr).await?));
        }
        let mut person_records = Vec::with_capacity(persons.len());
        for id in persons {
            let record = self.read.person(&id).await?;
            person_records.push((id, record));
        }
        let mut held = self.shared.held.write().expect("the held stakes' lock");
        if let Some(held) = held.as_mut() {
            for (orgnr, holdings) in now {
                held.stakes.replace(orgnr, holdings);
            }
            for (orgnr, record) in records {
                held.names.set(
                    &OwnerRef::Organisation(orgnr),
                    record.as_ref().map(organisation_profile),
                );
                match record {
                    Some(record) => held.organisations.insert(orgnr, record),
                    None => held.organisations.remove(&orgnr),
                };
            }
            for (id, record) in person_records {
                held.names
                    .set(&OwnerRef::Person(id), record.as_ref().map(person_profile));
            }
            held.seq = held.seq.max(through);
            self.gauge().set(held.stakes.len() as f64);
        }
        Ok(())
    }

    /// `answer` from what is held once it is current, or `otherwise` from the read model while
    /// nothing is held; `count` is told which (`memory` or `read_model`).
    async fn memory_or_read_model<T>(
        &self,
        count: impl FnOnce(&'static str),
        answer: impl FnOnce(&Held) -> T,
        otherwise: impl Future<Output = Result<T, ReadError>>,
    ) -> Result<T, ReadError> {
        let answered = if self.caught_up().await? {
            self.as_held(answer)
        } else {
            None
        };
        answered_or(count, answered, otherwise).await
    }

    /// `answer` from what is held as it is (no catch-up), or `None` while nothing is held.
    fn as_held<T>(&self, answer: impl FnOnce(&Held) -> T) -> Option<T> {
        let held = self.shared.held.read().expect("the held stakes' lock");
        held.as_ref().map(answer)
    }

    /// One of the register's computations over the ownership graph (`read`: its name in the
    /// metric), as [`register_read`](Self::register_read), but run on the blocking pool: a
    /// company with a third of the register above it takes a second, and holds no async
    /// worker (nor the requests waiting on it) meanwhile.
    async fn computed<T: Send + 'static>(
        &self,
        read: &'static str,
        answer: impl FnOnce(&Held) -> T + Send + 'static,
        otherwise: impl Future<Output = Result<T, ReadError>>,
    ) -> Result<T, ReadError> {
        let answered = if self.caught_up().await? {
            let shared = Arc::clone(&self.shared);
            tokio::task::spawn_blocking(move || {
                let held = shared.held.read().expect("the held stakes' lock");
                held.as_ref().map(answer)
            })
            .await
            .map_err(|error| ReadError::Unknown(anyhow::anyhow!("a held computation: {error}")))?
        } else {
            None
        };
        answered_or(register_count(read), answered, otherwise).await
    }

    /// A level of the ownership graph: `answer` from memory, or `otherwise` from the read
    /// model while nothing is held.
    async fn level(
        &self,
        answer: impl FnOnce(&Stakes) -> Vec<HoldingRecord>,
        otherwise: impl Future<Output = Result<Vec<HoldingRecord>, ReadError>>,
    ) -> Result<Vec<HoldingRecord>, ReadError> {
        let count = |from| metrics::counter!(GRAPH_LEVEL_READS_TOTAL, "from" => from).increment(1);
        self.memory_or_read_model(count, |held| answer(&held.stakes), otherwise)
            .await
    }

    /// One of the register's reads (`read`: its name in the metric): `answer` from memory,
    /// or `otherwise` from the read model while nothing is held.
    async fn register_read<T>(
        &self,
        read: &'static str,
        answer: impl FnOnce(&Held) -> T,
        otherwise: impl Future<Output = Result<T, ReadError>>,
    ) -> Result<T, ReadError> {
        self.memory_or_read_model(register_count(read), answer, otherwise)
            .await
    }
}

/// What was answered from memory, or else `otherwise` from the read model; `count` is told
/// which.
async fn answered_or<T>(
    count: impl FnOnce(&'static str),
    answered: Option<T>,
    otherwise: impl Future<Output = Result<T, ReadError>>,
) -> Result<T, ReadError> {
    match answered {
        Some(answer) => {
            count("memory");
            Ok(answer)
        }
        None => {
            count("read_model");
            otherwise.await
        }
    }
}

#[async_trait]
impl ReadStore for StakesInMemory {
    async fn organisation(&self, orgnr: OrgNr) -> Result<Option<CompanyRecord>, ReadError> {
        self.register_read(
            "organisation",
            |held| held.organisations.get(&orgnr).cloned(),
            self.read.organisation(orgnr),
        )
        .await
    }

    async fn person(&self, id: &PersonId) -> Result<Option<PersonRecord>, ReadError> {
        self.read.person(id).await
    }

    async fn owners(
        &self,
        company: OrgNr,
        page: PageRequest,
    ) -> Result<Vec<HoldingRecord>, ReadError> {
        self.register_read(
            "owners",
            |held| held.stakes.owners(company, page),
            self.read.owners(company, page),
        )
        .await
    }

    /// The record was read after a catch-up that began once this request had asked (or from
    /// the read model), so the page is answered from what is held as it is, with no catch-up
    /// of its own: a summary or a page of owners waits for one catch-up, not two.
    async fn owners_given(
        &self,
        company: &CompanyRecord,
        page: PageRequest,
    ) -> Result<Vec<HoldingRecord>, ReadError> {
        let orgnr = company.organisation.orgnr();
        answered_or(
            register_count("owners"),
            self.as_held(|held| held.stakes.owners(orgnr, page)),
            self.read.owners_given(company, page),
        )
        .await
    }

    async fn holdings(
        &self,
        owner: &OwnerRef,
        page: PageRequest,
    ) -> Result<Vec<HoldingRecord>, ReadError> {
        self.register_read(
            "holdings",
            |held| held.stakes.holdings(owner, page),
            self.read.holdings(owner, page),
        )
        .await
    }

    async fn owners_of(&self, companies: &[OrgNr]) -> Result<Vec<HoldingRecord>, ReadError> {
        self.level(
            |stakes| stakes.owners_of(companies),
            self.read.owners_of(companies),
        )
        .await
    }

    async fn holdings_of(&self, owners: &[OwnerRef]) -> Result<Vec<HoldingRecord>, ReadError> {
        self.level(
            |stakes| stakes.holdings_of(owners),
            self.read.holdings_of(owners),
        )
        .await
    }

    async fn owner_profiles(&self, owners: &[OwnerRef]) -> Result<Vec<OwnerProfile>, ReadError> {
        self.read.owner_profiles(owners).await
    }

    async fn search(&self, query: &SearchQuery, limit: u32) -> Result<SearchMatches, ReadError> {
        self.read.search(query, limit).await
    }

    async fn search_ranked(
        &self,
        query: &SearchQuery,
        limit: u32,
    ) -> Result<Option<SearchMatches>, ReadError> {
        if !self.search_held {
            return self.read.search_ranked(query, limit).await;
        }
        self.register_read(
            "search",
            |held| Some(held.names.search_ranked(query, limit)),
            self.read.search_ranked(query, limit),
        )
        .await
    }

    async fn ultimate_owners(
        &self,
        company: OrgNr,
        question: UltimateQuestion,
    ) -> Result<Option<UltimateAnswer>, ReadError> {
        self.computed(
            "ultimate_owners",
            move |held| ultimate_answer(&held.stakes, company, question).map(Some),
            async { Ok(self.read.ultimate_owners(company, question).await) },
        )
        .await?
    }

    async fn ultimate_holdings(
        &self,
        party: &OwnerRef,
        page: PageRequest,
    ) -> Result<Option<UltimateHoldingsView>, ReadError> {
        let owner = party.clone();
        self.computed(
            "ultimate_holdings",
            move |held| ultimate_holdings_view(&held.stakes, &owner, page).map(Some),
            async { Ok(self.read.ultimate_holdings(party, page).await) },
        )
        .await?
    }

    async fn years(&self) -> Result<Vec<YearRecord>, ReadError> {
        self.read.years().await
    }

    /// The year held in memory, when years are held (loaded the first time it is asked
    /// for, and read from its read model meanwhile); its read model otherwise.
    async fn year(&self, year: RegisterYear) -> Result<Option<Arc<dyn ReadStore>>, ReadError> {
        match &self.years {
            Some(years) => years.year(self.read.as_ref(), year).await,
            None => self.read.year(year).await,
        }
    }

    /// The read model's answer; once it says applied, the next read catches up first.
    async fn applied(&self, position: Position) -> Result<bool, ReadError> {
        let applied = self.read.applied(position).await?;
        if applied {
            *self
                .shared
                .applied_seen
                .lock()
                .expect("the applied position's lock") = Some(Instant::now());
        }
        Ok(applied)
    }
}
