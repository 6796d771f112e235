//! The use cases over the ownership graph: ultimate and beneficial owners, what a party holds
//! through others, and the graph around a company for drawing.
//!
//! The graph is read from the read model a level at a time ([`ReadStore::owners_of`] upwards,
//! [`ReadStore::holdings_of`] downwards), so it holds exactly what the read model holds at the
//! position the read waited for, in the register asked for; the rules are the domain's
//! ([`OwnershipGraph`]).

use std::collections::{BTreeMap, HashMap, HashSet};

use std::sync::Arc;

use shareholders_domain::{
    Because, CompanyProfile, Name, OrgNr, OwnerProfile, OwnerRef, OwnershipGraph, Percentage,
    Position, Register, UltimateOwner, UltimateOwnership, company_total, percentage,
};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::{GraphLimits, PageInfo, QueryError, Service, page_of};
use crate::{CompanyRecord, HoldingRecord, PageRequest, ReadError, ReadStore};

/// Parties asked about in one query of a level.
const BATCH: usize = 500;

/// One link of a chain: `owner` holds `fraction` of `company`'s outstanding shares.
#[derive(Clone, PartialEq, Debug)]
pub struct ChainLinkView {
    pub company: OrgNr,
    pub owner: OwnerProfile,
    pub fraction: f64,
}

/// A path of holdings from an ultimate owner down to the company.
#[derive(Clone, PartialEq, Debug)]
pub struct ChainView {
    pub fraction: f64,
    pub links: Vec<ChainLinkView>,
}

/// One ultimate owner of a company.
#[derive(Clone, PartialEq, Debug)]
pub struct UltimateOwnerEntry {
    pub owner: OwnerProfile,
    /// Fractions of the company's outstanding shares.
    pub effective: f64,
    pub controlled: f64,
    /// `Some` for a beneficial owner.
    pub beneficial: Option<Because>,
    pub chains: Vec<ChainView>,
}

#[derive(Clone, PartialEq, Debug)]
pub struct UltimateOwnersView {
    pub company: CompanyRecord,
    pub owners: Vec<UltimateOwnerEntry>,
    /// The fraction no ultimate owner accounts for.
    pub unattributed: f64,
    pub page: PageInfo,
}

#[derive(Clone, PartialEq, Debug)]
pub struct BeneficialOwnersView {
    pub company: CompanyRecord,
    pub owners: Vec<UltimateOwnerEntry>,
}

/// One company a party has an effective share in.
#[derive(Clone, PartialEq, Debug)]
pub struct UltimateHoldingEntry {
    pub company: CompanyProfile,
    pub effective: f64,
    pub controlled: f64,
}

#[derive(Clone, PartialEq, Debug)]
pub struct UltimateHoldingsView {
    pub owner: OwnerRef,
    pub holdings: Vec<UltimateHoldingEntry>,
    pub page: PageInfo,
}

/// Which way the drawn graph goes from its company.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum GraphDirection {
    /// Its owners, their owners, and so on.
    Up,
    /// Its holdings, their holdings, and so on.
    Down,
    Both,
}

/// What part of the graph to draw: a direction, how many levels, and how many nodes at most.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct GraphRequest {
    direction: GraphDirection,
    depth: u32,
    limit: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GraphRequestError {
    #[error("depth is between 1 and {max}", max = GraphRequest::MAX_DEPTH)]
    Depth,
    #[error("limit is between 1 and {max}", max = GraphRequest::MAX_LIMIT)]
    Limit,
}

impl GraphRequest {
    pub const DEFAULT_DEPTH: u32 = 3;
    pub const MAX_DEPTH: u32 = 20;
    pub const DEFAULT_LIMIT: u32 = 500;
    pub const MAX_LIMIT: u32 = 5_000;

    /// # Errors
    /// [`GraphRequestError`] for a depth or a limit out of range.
    pub fn new(
        direction: Option<GraphDirection>,
        depth: Option<u32>,
        limit: Option<u32>,
    ) -> Result<Self, GraphRequestError> {
        let depth = depth.unwrap_or(Self::DEFAULT_DEPTH);
        let limit = limit.unwrap_or(Self::DEFAULT_LIMIT);
        if !(1..=Self::MAX_DEPTH).contains(&depth) {
            return Err(GraphRequestError::Depth);
        }
        if !(1..=Self::MAX_LIMIT).contains(&limit) {
            return Err(GraphRequestError::Limit);
        }
        Ok(Self {
            direction: direction.unwrap_or(GraphDirection::Both),
            depth,
            limit,
        })
    }

    #[must_use]
    pub fn direction(self) -> GraphDirection {
        self.direction
    }
    #[must_use]
    pub fn depth(self) -> u32 {
        self.depth
    }
    #[must_use]
    pub fn limit(self) -> u32 {
        self.limit
    }
}

/// A party in the drawn graph.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct GraphNode {
    pub party: OwnerRef,
    pub name: Name,
    /// Levels from the company: negative above it (its owners are -1), positive below.
    pub level: i32,
}

/// A holding in the drawn graph, with its percentage of the company's total, as in owners.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct GraphEdge {
    pub owner: OwnerRef,
    pub company: OrgNr,
    pub shares: u64,
    pub percentage: Percentage,
}

#[derive(Clone, PartialEq, Eq, Debug)]
pub struct GraphView {
    pub nodes: Vec<GraphNode>,
    pub edges: Vec<GraphEdge>,
    /// Some of the graph within the depth was left out to stay within the limit, or more lies
    /// beyond the depth.
    pub truncated: bool,
}

/// The part of the graph a query read, with what it shows of each party, and its share of
/// the service's graph budget, given back when it is dropped.
#[derive(Default)]
struct Read {
    graph: OwnershipGraph,
    owners: HashMap<OwnerRef, OwnerProfile>,
    companies: HashMap<OrgNr, CompanyProfile>,
    share: Vec<OwnedSemaphorePermit>,
    /// Every holding read, by company, when a use case needs them whole.
    holdings: Option<BTreeMap<OrgNr, Vec<HoldingRecord>>>,
}

impl Read {
    fn add(&mut self, holding: HoldingRecord) {
        let orgnr = holding.company.orgnr;
        if let Some(holdings) = &mut self.holdings {
            holdings.entry(orgnr).or_default().push(holding.clone());
        }
        self.graph.add_company(
            orgnr,
            holding.company.total_shares,
            holding.company_registered_shares,
        );
        self.graph
            .add_stake(&holding.owner.owner, orgnr, holding.shares());
        self.owners
            .entry(holding.owner.owner.clone())
            .or_insert(holding.owner);
        self.companies.entry(orgnr).or_insert(holding.company);
    }
}

/// Every stake on the way from `start` towards its owners (every stake in every company
/// above it, until only parties without registered owners are left) or towards its holdings
/// (every stake held by it and by every company below it), added to `found`. The stakes read
/// are taken from `budget` as they come, and held by `found`.
///
/// # Errors
/// [`QueryError::GraphTooLarge`] past the budget's stakes for one graph,
/// [`QueryError::GraphBusy`] when the budget has no room for them in time.
async fn closure(
    read: &dyn ReadStore,
    found: &mut Read,
    start: OwnerRef,
    towards: Towards,
    budget: &Budget,
) -> Result<(), QueryError> {
    let mut seen = HashSet::from([start.clone()]);
    let mut stakes = 0usize;
    let mut level = vec![start];
    while !level.is_empty() {
        let mut next = Vec::new();
        for batch in level.chunks(BATCH) {
            let holdings = towards.batch(read, batch).await?;
            stakes += holdings.len();
            if stakes > budget.limits.stakes {
                return Err(QueryError::GraphTooLarge {
                    limit: budget.limits.stakes,
                    what: "stakes",
                });
            }
            found.share.push(budget.take(holdings.len()).await?);
            for holding in holdings {
                let (party, _) = towards.reached(&holding);
                // Only organisations have owners, and hold shares through others.
                if matches!(party, OwnerRef::Organisation(_)) && seen.insert(party.clone()) {
                    next.push(party);
                }
                found.add(holding);
            }
        }
        level = next;
    }
    Ok(())
}

/// The service's graph limits, and the budget of stakes its graphs share.
#[derive(Clone)]
pub(super) struct Budget {
    semaphore: Arc<Semaphore>,
    limits: GraphLimits,
}

impl Budget {
    pub(super) fn new(limits: GraphLimits) -> Self {
        Self {
            semaphore: Arc::new(Semaphore::new(
                limits.budget.clamp(1, Semaphore::MAX_PERMITS),
            )),
            limits,
        }
    }

    /// `stakes` more of the budget, waiting at most [`GraphLimits::wait`].
    async fn take(&self, stakes: usize) -> Result<OwnedSemaphorePermit, QueryError> {
        // A graph's stakes never exceed `limits.stakes`, a `u32`'s worth at most.
        let stakes = u32::try_from(stakes).map_err(|_| QueryError::GraphTooLarge {
            limit: self.limits.stakes,
            what: "stakes",
        })?;
        let wanted = Arc::clone(&self.semaphore).acquire_many_owned(stakes);
        match tokio::time::timeout(self.limits.wait, wanted).await {
            Ok(Ok(share)) => Ok(share),
            // The semaphore is never closed; waiting too long is being busy.
            Ok(Err(_)) | Err(_) => Err(QueryError::GraphBusy),
        }
    }
}

/// A party's profile as the graph read it. Every party the graph reaches came with a holding,
/// which carries its profile; the company asked about is its own record.
fn profile(found: &Read, party: &OwnerRef) -> Result<OwnerProfile, ReadError> {
    found.owners.get(party).cloned().ok_or_else(|| {
        ReadError::Unknown(anyhow::anyhow!(
            "the ownership graph reached {party} without its profile"
        ))
    })
}

/// What the API shows of one ultimate owner, with its chains to `company`.
fn ultimate_entry(
    found: &Read,
    company: OrgNr,
    owner: &UltimateOwner,
) -> Result<UltimateOwnerEntry, ReadError> {
    let chains = found
        .graph
        .chains(&owner.owner, company)
        .iter()
        .map(|chain| {
            Ok(ChainView {
                fraction: chain.fraction,
                links: chain
                    .links
                    .iter()
                    .map(|link| {
                        Ok(ChainLinkView {
                            company: link.company,
                            owner: profile(found, &link.owner)?,
                            fraction: link.fraction,
                        })
                    })
                    .collect::<Result<_, ReadError>>()?,
            })
        })
        .collect::<Result<_, ReadError>>()?;
    Ok(UltimateOwnerEntry {
        owner: profile(found, &owner.owner)?,
        beneficial: owner.beneficial(),
        effective: owner.effective,
        controlled: owner.controlled,
        chains,
    })
}

fn ultimate_entries(
    found: &Read,
    company: OrgNr,
    owners: &[UltimateOwner],
) -> Result<Vec<UltimateOwnerEntry>, ReadError> {
    owners
        .iter()
        .map(|owner| ultimate_entry(found, company, owner))
        .collect()
}

impl Service {
    /// A page of the company's ultimate owners whose effective ownership is at least
    /// `min_fraction`, largest first; `None` for an unknown company.
    ///
    /// # Errors
    /// See [`Service::reader`](super::Service).
    pub async fn ultimate_owners(
        &self,
        register: Register,
        orgnr: OrgNr,
        min_fraction: f64,
        page: PageRequest,
        min_position: Option<Position>,
    ) -> Result<Option<UltimateOwnersView>, QueryError> {
        let Some((company, found, ownership)) =
            self.ultimate(register, orgnr, min_position).await?
        else {
            return Ok(None);
        };
        let owners: Vec<UltimateOwner> = ownership
            .owners
            .into_iter()
            .filter(|owner| owner.effective >= min_fraction)
            .collect();
        let (owners, page) = page_of(owners, page);
        Ok(Some(UltimateOwnersView {
            owners: ultimate_entries(&found, orgnr, &owners)?,
            company,
            unattributed: ownership.unattributed,
            page,
        }))
    }

    /// The company's beneficial owners, largest effective ownership first; `None` for an
    /// unknown company.
    ///
    /// # Errors
    /// See [`Service::reader`](super::Service).
    pub async fn beneficial_owners(
        &self,
        register: Register,
        orgnr: OrgNr,
        min_position: Option<Position>,
    ) -> Result<Option<BeneficialOwnersView>, QueryError> {
        let Some((company, found, ownership)) =
            self.ultimate(register, orgnr, min_position).await?
        else {
            return Ok(None);
        };
        let beneficial: Vec<UltimateOwner> = ownership
            .owners
            .into_iter()
            .filter(|owner| owner.beneficial().is_some())
            .collect();
        Ok(Some(BeneficialOwnersView {
            owners: ultimate_entries(&found, orgnr, &beneficial)?,
            company,
        }))
    }

    /// The company, the graph above it and its ultimate owners; `None` for an unknown company.
    async fn ultimate(
        &self,
        register: Register,
        orgnr: OrgNr,
        min_position: Option<Position>,
    ) -> Result<Option<(CompanyRecord, Read, UltimateOwnership)>, QueryError> {
        let read = self.reader(register, min_position).await?;
        let Some(company) = read.organisation(orgnr).await? else {
            return Ok(None);
        };
        let found = self.above(read.as_ref(), &company, Read::default()).await?;
        let ownership = found.graph.ultimate_owners(orgnr);
        Ok(Some((company, found, ownership)))
    }

    /// The graph above `company` (its every owner, their owners and so on), read into `found`.
    ///
    /// # Errors
    /// As [`closure`].
    async fn above(
        &self,
        read: &dyn ReadStore,
        company: &CompanyRecord,
        mut found: Read,
    ) -> Result<Read, QueryError> {
        let orgnr = company.organisation.orgnr();
        found.graph.add_company(
            orgnr,
            company.organisation.total_shares(),
            company.registered_shares,
        );
        closure(
            read,
            &mut found,
            OwnerRef::Organisation(orgnr),
            Towards::Owners,
            &self.graph,
        )
        .await?;
        Ok(found)
    }

    /// A page of every company in which the party has an effective share, largest first;
    /// `None` for an unknown party.
    ///
    /// # Errors
    /// See [`Service::reader`](super::Service).
    pub async fn ultimate_holdings(
        &self,
        register: Register,
        party: &OwnerRef,
        page: PageRequest,
        min_position: Option<Position>,
    ) -> Result<Option<UltimateHoldingsView>, QueryError> {
        let read = self.reader(register, min_position).await?;
        if super::holding_count(read.as_ref(), party).await?.is_none() {
            return Ok(None);
        }
        let mut found = Read::default();
        closure(
            read.as_ref(),
            &mut found,
            party.clone(),
            Towards::Holdings,
            &self.graph,
        )
        .await?;
        let holdings = found
            .graph
            .ultimate_holdings(party)
            .into_iter()
            .map(|holding| {
                let company = found
                    .companies
                    .get(&holding.company)
                    .cloned()
                    .ok_or_else(|| {
                        ReadError::Unknown(anyhow::anyhow!(
                            "the ownership graph reached {} without its profile",
                            holding.company
                        ))
                    })?;
                Ok(UltimateHoldingEntry {
                    company,
                    effective: holding.effective,
                    controlled: holding.controlled,
                })
            })
            .collect::<Result<Vec<_>, ReadError>>()?;
        let (holdings, page) = page_of(holdings, page);
        Ok(Some(UltimateHoldingsView {
            owner: party.clone(),
            holdings,
            page,
        }))
    }

    /// The graph around the company, level by level breadth first, for drawing; `None` for an
    /// unknown company.
    ///
    /// # Errors
    /// See [`Service::reader`](super::Service).
    pub async fn ownership_graph(
        &self,
        register: Register,
        orgnr: OrgNr,
        request: GraphRequest,
        min_position: Option<Position>,
    ) -> Result<Option<GraphView>, QueryError> {
        let read = self.reader(register, min_position).await?;
        let Some(company) = read.organisation(orgnr).await? else {
            return Ok(None);
        };
        let mut drawing = Drawing::new(&company, request.limit());
        if request.direction() != GraphDirection::Down {
            drawing
                .walk(read.as_ref(), request.depth(), Towards::Owners)
                .await?;
        }
        if request.direction() != GraphDirection::Up {
            drawing
                .walk(read.as_ref(), request.depth(), Towards::Holdings)
                .await?;
        }
        Ok(Some(drawing.view))
    }
}

/// Which way the graph is read from a party.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Towards {
    Owners,
    Holdings,
}

impl Towards {
    /// The holdings one step from `parties` this way: the owners of the companies among them,
    /// or what they all hold.
    async fn batch(
        self,
        read: &dyn ReadStore,
        parties: &[OwnerRef],
    ) -> Result<Vec<HoldingRecord>, ReadError> {
        match self {
            Self::Owners => {
                let companies: Vec<OrgNr> = parties
                    .iter()
                    .filter_map(|party| match party {
                        OwnerRef::Organisation(orgnr) => Some(*orgnr),
                        OwnerRef::Person(_) => None,
                    })
                    .collect();
                if companies.is_empty() {
                    return Ok(Vec::new());
                }
                read.owners_of(&companies).await
            }
            Self::Holdings => read.holdings_of(parties).await,
        }
    }

    /// The party a holding leads to this way, and its name: the owner, or the company.
    fn reached(self, holding: &HoldingRecord) -> (OwnerRef, &Name) {
        match self {
            Self::Owners => (holding.owner.owner.clone(), &holding.owner.name),
            Self::Holdings => (
                OwnerRef::Organisation(holding.company.orgnr),
                &holding.company.name,
            ),
        }
    }
}

/// The graph being drawn: its nodes by party, and its edges by holding.
struct Drawing {
    view: GraphView,
    root: OwnerRef,
    nodes: HashSet<OwnerRef>,
    edges: HashSet<(OwnerRef, OrgNr)>,
    limit: usize,
}

impl Drawing {
    fn new(company: &CompanyRecord, limit: u32) -> Self {
        let root = OwnerRef::Organisation(company.organisation.orgnr());
        Self {
            view: GraphView {
                nodes: vec![GraphNode {
                    party: root.clone(),
                    name: company.organisation.name().clone(),
                    level: 0,
                }],
                edges: Vec::new(),
                truncated: false,
            },
            nodes: HashSet::from([root.clone()]),
            root,
            edges: HashSet::new(),
            limit: limit as usize,
        }
    }

    /// Adds the node if there is room; whether it is in the graph.
    fn node(&mut self, party: &OwnerRef, name: &Name, level: i32) -> bool {
        if self.nodes.contains(party) {
            return true;
        }
        if self.nodes.len() >= self.limit {
            self.view.truncated = true;
            return false;
        }
        self.nodes.insert(party.clone());
        self.view.nodes.push(GraphNode {
            party: party.clone(),
            name: name.clone(),
            level,
        });
        true
    }

    fn edge(&mut self, holding: &HoldingRecord) {
        let key = (holding.owner.owner.clone(), holding.company.orgnr);
        if self.edges.insert(key) {
            let total = company_total(
                holding.company.total_shares,
                holding.company_registered_shares,
            );
            let shares = holding.shares();
            self.view.edges.push(GraphEdge {
                owner: holding.owner.owner.clone(),
                company: holding.company.orgnr,
                shares,
                percentage: percentage(shares, total),
            });
        }
    }

    /// Breadth first from the company, `depth` levels towards its owners or its holdings;
    /// one more level is read to tell whether anything lies beyond.
    async fn walk(
        &mut self,
        read: &dyn ReadStore,
        depth: u32,
        towards: Towards,
    ) -> Result<(), ReadError> {
        let mut level = vec![self.root.clone()];
        let mut visited = HashSet::from([self.root.clone()]);
        let sign = if towards == Towards::Owners { -1 } else { 1 };
        for distance in 1..=depth + 1 {
            if level.is_empty() {
                return Ok(());
            }
            let mut next = Vec::new();
            for batch in level.chunks(BATCH) {
                let mut holdings = towards.batch(read, batch).await?;
                // Largest first, so that a limit keeps the holdings that matter most.
                holdings.sort_by(|a, b| {
                    b.shares()
                        .cmp(&a.shares())
                        .then_with(|| a.owner.owner.cmp(&b.owner.owner))
                        .then_with(|| a.company.orgnr.cmp(&b.company.orgnr))
                });
                for holding in &holdings {
                    let (party, name) = towards.reached(holding);
                    if distance > depth {
                        // Beyond the depth: only whether there is anything new.
                        if !self.nodes.contains(&party) {
                            self.view.truncated = true;
                        }
                        continue;
                    }
                    let level_number = sign * i32::try_from(distance).unwrap_or(i32::MAX);
                    if self.node(&party, name, level_number) {
                        self.edge(holding);
                        if visited.insert(party.clone()) {
                            next.push(party);
                        }
                    }
                }
            }
            if distance > depth {
                return Ok(());
            }
            level = next;
        }
        Ok(())
    }
}

mod network;
#[cfg(test)]
mod tests;

pub use network::NetworkCompany;
