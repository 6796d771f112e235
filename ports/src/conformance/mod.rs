//! Scenarios every store must pass, run by each adapter's tests against its real server.
//!
//! A scenario takes the store under test through its ports and panics, with the reason, when
//! the store breaks the ports' contract. Each adapter runs each scenario on a fresh database.
//! Enabled by the `conformance` feature, for tests only.

pub mod graph;
pub mod retention;
pub mod search;
pub mod write;
pub mod years;
