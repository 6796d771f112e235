//! Fixtures the test trees share (feature `testkit`, implied by `conformance`): register
//! values built from short labels, a store's whole state as its [`Snapshot`](crate::Snapshot)
//! streams it, and a publisher that records what it is given.
//!
//! Each adapter's own server fixtures (a fresh database, a broker's connections) live in that
//! adapter, behind its `testkit` feature.

mod publisher;
mod register;
mod state;

pub use publisher::Recorder;
pub use register::{
    class, country, foreign_organisation, name, org_ref, organisation, orgnr, person, person_ref,
    purchase, shares,
};
pub use state::{State, named, state};
