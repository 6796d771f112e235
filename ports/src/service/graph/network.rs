//! A company and every organisation above it, each with all of its direct owners and its
//! beneficial owners, from one read of the graph above the company: what a company's BODS
//! statements need.

use std::collections::BTreeMap;

use shareholders_domain::{OrgNr, OwnerRef, Position, Register, company_total};

use super::{Read, Service, UltimateQuestion, ultimate_answer};
use crate::service::{OwnerEntry, QueryError, owner_entry};
use crate::{CompanyRecord, HoldingRecord, UltimateOwnerEntry};

/// One company of an ownership network.
#[derive(Clone, PartialEq, Debug)]
pub struct NetworkCompany {
    pub company: CompanyRecord,
    /// The shares a percentage of its owners is of (as in the owners read).
    pub total_shares: u64,
    /// Every direct owner, largest first, as the owners read orders them.
    pub owners: Vec<OwnerEntry>,
    /// Its beneficial owners, largest effective ownership first.
    pub beneficial: Vec<UltimateOwnerEntry>,
}

impl Service {
    /// The company and every registered organisation above it (its owners, their owners and so
    /// on, cycles included, never cut at a depth), ordered by orgnr, each with its direct owners
    /// and beneficial owners, all computed from one read of the graph above the company; `None`
    /// for an unknown company. Organisations the register lists only as owners are not among
    /// the companies (they are among the owners).
    ///
    /// # Errors
    /// See [`Service::reader`](super::Service), and the graph's limits: more than
    /// [`GraphLimits::network`](crate::GraphLimits) companies is
    /// [`QueryError::GraphTooLarge`].
    pub async fn ownership_network(
        &self,
        register: Register,
        orgnr: OrgNr,
        min_position: Option<Position>,
    ) -> Result<Option<Vec<NetworkCompany>>, QueryError> {
        let read = self.reader(register, min_position).await?;
        let Some(first) = read.organisation(orgnr).await? else {
            return Ok(None);
        };
        let keeping = Read {
            holdings: Some(BTreeMap::new()),
            ..Read::default()
        };
        let mut found = self.above(read.as_ref(), &first, keeping).await?;
        let above = found
            .owners
            .keys()
            .filter(|party| matches!(party, OwnerRef::Organisation(owner) if *owner != orgnr))
            .count();
        let limit = self.graph.limits.network;
        if above >= limit {
            return Err(QueryError::GraphTooLarge {
                limit,
                what: "companies",
            });
        }
        let mut holdings = found.holdings.take().unwrap_or_default();
        let mut records = BTreeMap::from([(orgnr, first)]);
        for party in found.owners.keys() {
            if let OwnerRef::Organisation(owner) = party
                && !records.contains_key(owner)
                && let Some(record) = read.organisation(*owner).await?
            {
                records.insert(*owner, record);
            }
        }
        let mut network = Vec::with_capacity(records.len());
        for (orgnr, company) in records {
            let total_shares = company_total(
                company.organisation.total_shares(),
                company.registered_shares,
            );
            let mut held: Vec<HoldingRecord> = holdings.remove(&orgnr).unwrap_or_default();
            // As the owners read: shares descending, then organisations before persons, then
            // by id.
            held.sort_by(|a, b| {
                b.shares()
                    .cmp(&a.shares())
                    .then_with(|| a.owner.owner.cmp(&b.owner.owner))
            });
            let beneficial = ultimate_answer(&found, orgnr, UltimateQuestion::Beneficial)?;
            network.push(NetworkCompany {
                beneficial: beneficial.owners,
                owners: held
                    .into_iter()
                    .map(|holding| owner_entry(holding, total_shares))
                    .collect(),
                company,
                total_shares,
            });
        }
        Ok(Some(network))
    }
}
