//! Events: what happened, in the order the write model recorded it.
//!
//! A purchase event carries the *state* it produced, not only the change: the owner's holding
//! in the company, the company's aggregate state and the owner's, each with the version it has
//! after the purchase. A read model that keeps, for each document, only the highest version it
//! has seen therefore converges to the write model whatever order events arrive in and however
//! often each one is delivered.

use crate::{
    BirthYear, Country, Name, OrgNr, Organisation, OwnerRef, Person, Purchase, PurchaseId,
    ShareClass, ShareCount,
};

/// The sequence number of a recorded event. Positions are unique and increase in the order
/// events were written, not necessarily in the order their transactions committed.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct Position(u64);

impl Position {
    /// The largest position: the stores number events as signed 64-bit integers.
    pub const MAX: u64 = i64::MAX as u64;

    #[must_use]
    pub fn new(position: u64) -> Self {
        Self(position)
    }
    #[must_use]
    pub fn get(self) -> u64 {
        self.0
    }
}

/// A number of shares of one class.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ClassShares {
    pub share_class: ShareClass,
    pub shares: u64,
}

/// What a holding's documents repeat of the company, which never changes once registered.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct CompanyProfile {
    pub orgnr: OrgNr,
    pub name: Name,
    pub total_shares: Option<ShareCount>,
}

/// What a holding's documents repeat of the owner, which never changes once registered.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct OwnerProfile {
    pub owner: OwnerRef,
    pub name: Name,
    pub country: Country,
    pub birth_year: Option<BirthYear>,
}

/// A company's state as an issuer after a purchase. `version` counts the purchases of its
/// shares, so a higher version is always the later state.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct CompanyState {
    pub version: u64,
    pub registered_shares: u64,
    pub owner_count: u64,
    pub foreign_owner_count: u64,
    /// Registered shares per class, sorted by class name.
    pub classes: Vec<ClassShares>,
}

/// An owner's state as a holder after a purchase. `version` increases whenever
/// `holding_count` (the number of companies it holds shares in) changes.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct OwnerState {
    pub version: u64,
    pub holding_count: u64,
}

/// Shares were bought, and this is the state it left.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct SharesPurchased {
    pub purchase_id: PurchaseId,
    pub purchase: Purchase,
    pub company: CompanyProfile,
    pub owner: OwnerProfile,
    /// The owner's whole holding in the company after the purchase, per class, sorted by
    /// class name. Its version is `company_state.version`.
    pub holding: Vec<ClassShares>,
    pub company_state: CompanyState,
    pub owner_state: OwnerState,
}

/// Something that happened to the register.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Event {
    OrganisationRegistered(Organisation),
    PersonRegistered(Person),
    SharesPurchased(Box<SharesPurchased>),
}

impl Event {
    /// A stable name for the event's type, for routing keys and logs.
    #[must_use]
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::OrganisationRegistered(_) => "organisation_registered",
            Self::PersonRegistered(_) => "person_registered",
            Self::SharesPurchased(_) => "shares_purchased",
        }
    }
}

/// An event with the position the write model gave it.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct RecordedEvent {
    pub position: Position,
    pub event: Event,
    /// When the write model recorded it, where known (it travels beside the event, not in
    /// it: the read model's lag is measured from it).
    pub recorded_at: Option<std::time::SystemTime>,
}
