//! Loading a yearly register extract into the write model, as that year's own snapshot.

use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use shareholders_domain::{Position, RegisterYear, YearPart};
pub use shareholders_domain::{RegisterHolder, RegisterLine, TotalConflict};

/// Where a year's extract came from, and what reading it found.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct YearProvenance {
    /// The file's name, without its folder.
    pub file_name: String,
    /// The SHA-256 of the file's bytes, as 64 lowercase hex digits.
    pub sha256: String,
    /// Data lines read: loaded plus rejected.
    pub lines: u64,
    /// Lines rejected (and written aside).
    pub rejects: u64,
    /// How long the import took, from the start of reading the file to just before the
    /// commit.
    pub duration: Option<Duration>,
}

/// An imported year, as `GET /api/years` lists it.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct YearRecord {
    pub year: RegisterYear,
    pub file_name: String,
    pub sha256: String,
    pub imported_at: SystemTime,
    pub lines: u64,
    pub rejects: u64,
    /// Companies (issuers) in the extract.
    pub companies: u64,
    /// Distinct (company, owner) holdings in the extract.
    pub holdings: u64,
    /// Persons who kept the id of the same person in an adjacent year (see
    /// [`shareholders_domain::link_movers`]).
    pub persons_linked: u64,
    /// Persons left unlinked because more than one person matched.
    pub persons_ambiguous: u64,
    /// API purchases recorded since the live register last moved, which this import
    /// superseded by moving the live register to this year (0 when it did not move it).
    pub superseded_live_changes: u64,
    /// How long its import took, from the start of reading the file to the commit; `None`
    /// for years imported before it was measured.
    pub duration: Option<Duration>,
}

/// What importing a year did.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct YearImported {
    pub record: YearRecord,
    /// Whether the live register moved to this year (it was the newest imported year).
    pub live_moved: bool,
    /// The write model's last event position after the import, if it has any; a read model
    /// rebuilt from the write model afterwards covers every event up to it.
    pub position: Option<Position>,
}

/// The write model's bulk path for yearly register extracts.
///
/// Each imported year is a snapshot of its own. Importing year Y replaces Y's snapshot exactly
/// and changes no other year; years may be imported in any order. The live register (the
/// newest imported year plus the purchases recorded through the API since it was imported)
/// moves to Y when Y is the newest imported year or newer
/// ([`shareholders_domain::moves_live_register`]): its holdings become Y's, every live version
/// moves past any version it ever had (so the read model rebuilt afterwards wins over any older
/// event in flight), and the purchases recorded since the previous move are reported as
/// superseded: they stay in the event history, but no longer in the live holdings.
///
/// Persons are linked to the same person in the nearest imported year before Y, then after Y,
/// by [`shareholders_domain::link_movers`].
///
/// It writes no event per line: the caller builds the read model from the write model.
#[async_trait]
pub trait RegisterImport: Send + Sync {
    /// Starts importing `year`. Nothing is visible until [`YearLoad::commit`]; a load dropped
    /// or aborted before it changes nothing. Two loads of the same year wait for each other.
    ///
    /// # Errors
    /// When the store fails.
    async fn begin_year(&self, year: RegisterYear) -> anyhow::Result<Box<dyn YearLoad>>;
}

/// One year's extract, being loaded.
#[async_trait]
pub trait YearLoad: Send {
    /// Stores parts of the extract, in the order [`shareholders_domain::ExtractYear`] yields
    /// them.
    ///
    /// # Errors
    /// When the store fails; the load should then be aborted.
    async fn load(&mut self, parts: Vec<YearPart>) -> anyhow::Result<()>;

    /// Links the year's persons to the adjacent years', makes the year visible, records its
    /// provenance and, when it is the newest year, moves the live register to it: all or nothing.
    ///
    /// # Errors
    /// When the store fails; nothing is then changed.
    async fn commit(self: Box<Self>, provenance: YearProvenance) -> anyhow::Result<YearImported>;

    /// Discards what was loaded.
    ///
    /// # Errors
    /// When the store fails to clean up; nothing was made visible either way.
    async fn abort(self: Box<Self>) -> anyhow::Result<()>;
}
