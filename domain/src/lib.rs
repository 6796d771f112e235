//! The Norwegian shareholder register's domain: validated types, the ownership rules and the
//! events that record every change.
//!
//! This crate is pure. It does no I/O, spawns nothing and knows no serialisation format, so a
//! service that embeds it pulls in nothing but `thiserror`. Every type here can only be built
//! through a fallible constructor that checks its invariant once; code holding a value never
//! checks again.

mod changes;
mod country;
mod event;
mod extract;
mod graph;
mod iso3166;
mod movers;
mod orgnr;
mod ownership;
mod party;
mod purchase;
mod search;
mod share;
mod text;
mod year;

pub use changes::{ChangeKind, HoldingChange, holding_changes};
pub use country::{Country, CountryError};
pub use event::{
    ClassShares, CompanyProfile, CompanyState, Event, OwnerProfile, OwnerState, Position,
    RecordedEvent, SharesPurchased,
};
pub use extract::{
    CompanyYear, ExtractError, ExtractTotals, ExtractYear, HoldingYear, RegisterHolder,
    RegisterLine, TotalConflict, YearPart,
};
pub use graph::{
    Above, BENEFICIAL_ABOVE, Because, Below, CONTROL_ABOVE, Chain, ChainLink, DROPPED_BELOW,
    MAX_CHAINS, OwnershipGraph, OwnershipNetwork, UltimateHolding, UltimateOwner,
    UltimateOwnership, outstanding_shares,
};
pub use movers::{AdjacentYears, MoverCandidate, MoverLinks, link_movers};
pub use orgnr::{OrgNr, OrgNrError};
pub use ownership::{
    Interest, Percentage, PurchaseRefused, check_purchase, company_total, percentage,
};
pub use party::{
    BirthYear, BirthYearError, Organisation, OwnerKind, OwnerRef, OwnerRefError, Person, PersonId,
    PersonIdError, Purchase, PurchaseId,
};
pub use purchase::{PurchaseApplied, apply_purchase};
pub use search::{
    MAX_QUERY_CHARS, MAX_QUERY_WORDS, NameOrder, SearchQuery, SearchQueryError, SearchRank, fold,
    matches_words, search_words,
};
pub use share::{ShareClass, ShareClassError, ShareCount, ShareCountError};
pub use text::{Name, Place, PostalCode, TextError};
pub use year::{Register, RegisterYear, RegisterYearError, moves_live_register};
