//! A store's whole state, collected from its [`Snapshot`] streams, and served back as one.

use futures::TryStreamExt as _;
use futures::stream::{BoxStream, StreamExt as _};
use shareholders_domain::{OrgNr, OwnerRef, Position};

use crate::{CompanySnapshot, Difference, HoldingSnapshot, PersonSnapshot, Snapshot};

/// Everything a snapshot holds, versions and position included, in the snapshot's order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct State {
    pub companies: Vec<CompanySnapshot>,
    pub persons: Vec<PersonSnapshot>,
    pub holdings: Vec<HoldingSnapshot>,
    pub position: Option<Position>,
}

/// Collects a snapshot's streams.
///
/// # Panics
/// When a stream fails.
pub async fn state(snapshot: &dyn Snapshot) -> State {
    State {
        companies: snapshot.companies().try_collect().await.expect("companies"),
        persons: snapshot.persons().try_collect().await.expect("persons"),
        holdings: snapshot.holdings().try_collect().await.expect("holdings"),
        position: snapshot.position().await.expect("position"),
    }
}

impl State {
    /// # Panics
    /// When the company is not in the state.
    #[must_use]
    pub fn company(&self, nr: OrgNr) -> &CompanySnapshot {
        self.companies
            .iter()
            .find(|c| c.record.organisation.orgnr() == nr)
            .expect("the company is in the snapshot")
    }

    /// # Panics
    /// When the person is not in the state.
    #[must_use]
    pub fn person(&self, id: &str) -> &PersonSnapshot {
        self.persons
            .iter()
            .find(|p| p.record.person.id().as_str() == id)
            .expect("the person is in the snapshot")
    }

    #[must_use]
    pub fn holding(&self, company: OrgNr, owner: &OwnerRef) -> Option<&HoldingSnapshot> {
        self.holdings
            .iter()
            .find(|h| h.record.company.orgnr == company && &h.record.owner.owner == owner)
    }
}

/// A state kept in memory serves as the truth a store is compared with.
#[async_trait::async_trait]
impl Snapshot for State {
    fn companies(&self) -> BoxStream<'_, anyhow::Result<CompanySnapshot>> {
        futures::stream::iter(self.companies.iter().cloned().map(Ok)).boxed()
    }

    fn persons(&self) -> BoxStream<'_, anyhow::Result<PersonSnapshot>> {
        futures::stream::iter(self.persons.iter().cloned().map(Ok)).boxed()
    }

    fn holdings(&self) -> BoxStream<'_, anyhow::Result<HoldingSnapshot>> {
        futures::stream::iter(self.holdings.iter().cloned().map(Ok)).boxed()
    }

    async fn position(&self) -> anyhow::Result<Option<Position>> {
        Ok(self.position)
    }
}

/// A difference as `(kind, key, field)`, the field `missing` or `unexpected` for a record only
/// one side has: what a test of `verify` expects to be named.
#[must_use]
pub fn named(difference: &Difference) -> (String, String, String) {
    match difference {
        Difference::Missing { kind, key } => ((*kind).into(), key.clone(), "missing".into()),
        Difference::Unexpected { kind, key } => ((*kind).into(), key.clone(), "unexpected".into()),
        Difference::Differs {
            kind, key, field, ..
        } => ((*kind).into(), key.clone(), (*field).into()),
    }
}
