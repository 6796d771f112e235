//! A register that does not change while it is held: an imported year (a year never changes),
//! or a register an export reads from start to end. Its [`OwnershipLog`] has no changes, and
//! its holdings, organisations and persons are a [`Snapshot`]'s, so a [`StakesInMemory`]
//! over it holds the whole register once and computes every company's graph on it, instead
//! of reading each company's network from the read model a level at a time.
//!
//! [`StakesInMemory`]: super::StakesInMemory

use async_trait::async_trait;
use futures::StreamExt as _;
use futures::stream::BoxStream;

use super::{OwnershipChanges, OwnershipLog};
use crate::{CompanyRecord, HoldingRecord, PersonRecord, ReadError, Snapshot};

/// The [`OwnershipLog`] of a register that does not change: a snapshot of it.
pub struct UnchangingRegister {
    snapshot: Box<dyn Snapshot>,
}

impl std::fmt::Debug for UnchangingRegister {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UnchangingRegister").finish_non_exhaustive()
    }
}

impl UnchangingRegister {
    /// The register `snapshot` streams.
    #[must_use]
    pub fn new(snapshot: Box<dyn Snapshot>) -> Self {
        Self { snapshot }
    }
}

fn unknown(error: anyhow::Error) -> ReadError {
    ReadError::Unknown(error)
}

#[async_trait]
impl OwnershipLog for UnchangingRegister {
    /// Nothing ever changed.
    async fn last_change(&self) -> Result<u64, ReadError> {
        Ok(0)
    }

    /// Nothing ever changes.
    async fn changed_since(&self, after: u64, _limit: u32) -> Result<OwnershipChanges, ReadError> {
        Ok(OwnershipChanges::in_order(after, Vec::new()))
    }

    fn stakes(&self) -> BoxStream<'_, Result<HoldingRecord, ReadError>> {
        self.snapshot
            .holdings()
            .map(|holding| holding.map(|holding| holding.record).map_err(unknown))
            .boxed()
    }

    fn organisations(&self) -> BoxStream<'_, Result<CompanyRecord, ReadError>> {
        self.snapshot
            .companies()
            .map(|company| company.map(|company| company.record).map_err(unknown))
            .boxed()
    }

    fn persons(&self) -> BoxStream<'_, Result<PersonRecord, ReadError>> {
        self.snapshot
            .persons()
            .map(|person| person.map(|person| person.record).map_err(unknown))
            .boxed()
    }
}
