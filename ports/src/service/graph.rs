//! The use cases over the ownership graph: ultimate and beneficial owners, what a party holds
//! through others, and the graph around a company for drawing.
//!
//! The graph is read from the read model a level at a time ([`ReadStore::owners_of`] upwards,
//! [`ReadStore::holdings_of`] downwards), so it holds exactly what the read model holds at the
//! position the read waited for, in the register asked for; the rules are the domain's
//! ([`OwnershipGraph`]).

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use shareholders_domain::{
    Above, Because, Below, Chain, CompanyProfile, Name, OrgNr, OwnerProfile, OwnerRef,
    OwnershipGraph, OwnershipNetwork, Percentage, Position, Register, UltimateHolding,
    UltimateOwner, UltimateOwnership, company_total, percentage,
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

/// A network whose parties the service can show: the graph a query read, or the live
/// register held in memory ([`StakesInMemory`](crate::StakesInMemory)).
pub(crate) trait ShownNetwork: OwnershipNetwork {
    /// The node of `party`, when the network has it.
    fn node(&self, party: &OwnerRef) -> Option<Self::Node>;

    /// What is shown of the party: every party that holds shares has a profile.
    fn profile(&self, node: Self::Node) -> Option<OwnerProfile>;

    /// What is shown of the company: every company whose shares are held has a profile.
    fn company(&self, node: Self::Node) -> Option<CompanyProfile>;
}

impl OwnershipNetwork for Read {
    type Node = <OwnershipGraph as OwnershipNetwork>::Node;

    fn owners(&self, company: Self::Node) -> impl Iterator<Item = (Self::Node, u64)> + '_ {
        self.graph.owners(company)
    }

    fn holdings(&self, party: Self::Node) -> impl Iterator<Item = (Self::Node, u64)> + '_ {
        self.graph.holdings(party)
    }

    fn outstanding(&self, company: Self::Node) -> u64 {
        self.graph.outstanding(company)
    }

    fn has_owners(&self, node: Self::Node) -> bool {
        self.graph.has_owners(node)
    }

    fn holds(&self, node: Self::Node) -> bool {
        self.graph.holds(node)
    }

    fn party(&self, node: Self::Node) -> Cow<'_, OwnerRef> {
        self.graph.party(node)
    }
}

impl ShownNetwork for Read {
    fn node(&self, party: &OwnerRef) -> Option<Self::Node> {
        self.graph.find(party)
    }

    /// Every party the graph reaches came with a holding, which carries its profile.
    fn profile(&self, node: Self::Node) -> Option<OwnerProfile> {
        self.owners.get(self.graph.party(node).as_ref()).cloned()
    }

    fn company(&self, node: Self::Node) -> Option<CompanyProfile> {
        match self.graph.party(node).as_ref() {
            OwnerRef::Organisation(orgnr) => self.companies.get(orgnr).cloned(),
            OwnerRef::Person(_) => None,
        }
    }
}

/// Which of a company's ultimate owners a question asks for.
#[derive(Clone, Copy, PartialEq, Debug)]
pub enum UltimateQuestion {
    /// A page of those whose effective ownership is at least `min_fraction`.
    Owners {
        min_fraction: f64,
        page: PageRequest,
    },
    /// Every beneficial owner.
    Beneficial,
}

/// The ultimate owners a question asked for, as the API shows them.
#[derive(Clone, PartialEq, Debug)]
pub struct UltimateAnswer {
    /// Largest effective ownership first.
    pub owners: Vec<UltimateOwnerEntry>,
    /// The fraction no ultimate owner accounts for.
    pub unattributed: f64,
    /// Where the page is, for a page of owners.
    pub page: Option<PageInfo>,
}

fn unknown_party(what: impl std::fmt::Display) -> ReadError {
    ReadError::Unknown(anyhow::anyhow!(
        "the ownership graph reached {what} without its profile"
    ))
}

/// What the API shows of the party at `node`.
fn shown<G: ShownNetwork>(network: &G, node: G::Node) -> Result<OwnerProfile, ReadError> {
    network
        .profile(node)
        .ok_or_else(|| unknown_party(network.party(node)))
}

/// Why the ultimate owner is a beneficial owner, or `None`.
fn beneficial<G: OwnershipNetwork>(network: &G, owner: &UltimateOwner<G::Node>) -> Option<Because> {
    Because::of(
        &network.party(owner.owner),
        owner.effective,
        owner.controlled,
    )
}

/// One ultimate owner as a node, why it is a beneficial owner, and its chains as nodes.
type NodeEntry<N> = (UltimateOwner<N>, Option<Because>, Vec<Chain<N, N>>);

/// The ultimate owners a question asked for, as nodes of the network they were computed on,
/// each with why it is a beneficial owner and its chains: what [`UltimateNodes::shown`]
/// turns into an [`UltimateAnswer`] once the profiles of [`UltimateNodes::parties`] can be
/// shown.
#[derive(Debug)]
pub(crate) struct UltimateNodes<N> {
    owners: Vec<NodeEntry<N>>,
    unattributed: f64,
    page: Option<PageInfo>,
}

impl<N: Copy> UltimateNodes<N> {
    /// Every party the answer shows: each owner, and each owner along its chains.
    pub(crate) fn parties(&self) -> impl Iterator<Item = N> + '_ {
        self.owners.iter().flat_map(|(owner, _, chains)| {
            std::iter::once(owner.owner).chain(
                chains
                    .iter()
                    .flat_map(|chain| chain.links.iter().map(|link| link.owner)),
            )
        })
    }

    /// The answer as the API shows it, with the profiles `network` shows.
    ///
    /// # Errors
    /// [`ReadError::Unknown`] when `network` has no profile of one of [`parties`](Self::parties).
    pub(crate) fn shown<G: ShownNetwork<Node = N>>(
        self,
        network: &G,
    ) -> Result<UltimateAnswer, ReadError> {
        let owners = self
            .owners
            .into_iter()
            .map(|(owner, beneficial, chains)| ultimate_entry(network, owner, beneficial, chains))
            .collect::<Result<_, _>>()?;
        Ok(UltimateAnswer {
            owners,
            unattributed: self.unattributed,
            page: self.page,
        })
    }
}

/// What the API shows of one ultimate owner, with its chains to the company.
fn ultimate_entry<G: ShownNetwork>(
    network: &G,
    owner: UltimateOwner<G::Node>,
    beneficial: Option<Because>,
    chains: Vec<Chain<G::Node, G::Node>>,
) -> Result<UltimateOwnerEntry, ReadError> {
    let chains = chains
        .into_iter()
        .map(|chain| {
            Ok(ChainView {
                fraction: chain.fraction,
                links: chain
                    .links
                    .into_iter()
                    .map(|link| {
                        let OwnerRef::Organisation(company) = *network.party(link.company) else {
                            return Err(unknown_party("a person holding shares"));
                        };
                        Ok(ChainLinkView {
                            company,
                            owner: shown(network, link.owner)?,
                            fraction: link.fraction,
                        })
                    })
                    .collect::<Result<_, ReadError>>()?,
            })
        })
        .collect::<Result<_, ReadError>>()?;
    Ok(UltimateOwnerEntry {
        beneficial,
        owner: shown(network, owner.owner)?,
        effective: owner.effective,
        controlled: owner.controlled,
        chains,
    })
}

/// A page of every company below `party` (its node in `network`, which holds at least
/// everything below it; `None` when it holds nothing) in which it has an effective share,
/// largest first: what [`ultimate_holdings_shown`] shows.
pub(crate) fn ultimate_holdings_nodes<G: OwnershipNetwork>(
    network: &G,
    party: Option<G::Node>,
    page: PageRequest,
) -> (Vec<UltimateHolding<G::Node>>, PageInfo) {
    let holdings = match party {
        Some(node) => Below::of(network, node).ultimate_holdings(),
        None => Vec::new(),
    };
    page_of(holdings, page)
}

/// The page of `party`'s ultimate holdings as the API shows it, with the companies' profiles
/// `network` shows.
///
/// # Errors
/// [`ReadError::Unknown`] when `network` has no profile of one of the companies.
pub(crate) fn ultimate_holdings_shown<G: ShownNetwork>(
    network: &G,
    party: &OwnerRef,
    (holdings, page): (Vec<UltimateHolding<G::Node>>, PageInfo),
) -> Result<UltimateHoldingsView, ReadError> {
    let holdings = holdings
        .into_iter()
        .map(|holding| {
            Ok(UltimateHoldingEntry {
                company: network
                    .company(holding.company)
                    .ok_or_else(|| unknown_party(network.party(holding.company)))?,
                effective: holding.effective,
                controlled: holding.controlled,
            })
        })
        .collect::<Result<_, ReadError>>()?;
    Ok(UltimateHoldingsView {
        owner: party.clone(),
        holdings,
        page,
    })
}

/// A page of every company below `party` in `network` (which holds at least everything below
/// it) in which it has an effective share, largest first, with the profiles of only those
/// the page shows.
///
/// # Errors
/// [`ReadError::Unknown`] when the network reaches a company without its profile.
pub(crate) fn ultimate_holdings_view<G: ShownNetwork>(
    network: &G,
    party: &OwnerRef,
    page: PageRequest,
) -> Result<UltimateHoldingsView, ReadError> {
    let nodes = ultimate_holdings_nodes(network, network.node(party), page);
    ultimate_holdings_shown(network, party, nodes)
}

/// The ultimate owners of `company` (its node in `network`, which holds at least everything
/// above it; `None` when nothing is held in it) that `question` asks for, with the chains of
/// only those it gives.
pub(crate) fn ultimate_nodes<G: OwnershipNetwork>(
    network: &G,
    company: Option<G::Node>,
    question: UltimateQuestion,
) -> UltimateNodes<G::Node> {
    let (above, ownership) = match company {
        Some(node) => {
            let above = Above::of(network, node);
            let ownership = above.ultimate_owners();
            (Some(above), ownership)
        }
        // Nothing is held in the company: nobody is known to own any of it.
        None => (
            None,
            UltimateOwnership {
                owners: Vec::new(),
                unattributed: 1.0,
            },
        ),
    };
    let (owners, page) = match question {
        UltimateQuestion::Owners { min_fraction, page } => {
            let owners = ownership
                .owners
                .into_iter()
                .filter(|owner| owner.effective >= min_fraction)
                .collect();
            let (owners, page) = page_of(owners, page);
            let owners: Vec<_> = owners
                .into_iter()
                .map(|owner| {
                    let because = beneficial(network, &owner);
                    (owner, because)
                })
                .collect();
            (owners, Some(page))
        }
        UltimateQuestion::Beneficial => {
            let owners: Vec<_> = ownership
                .owners
                .into_iter()
                .filter_map(|owner| {
                    beneficial(network, &owner).map(|because| (owner, Some(because)))
                })
                .collect();
            (owners, None)
        }
    };
    let owners = match &above {
        Some(above) => owners
            .into_iter()
            .map(|(owner, because)| {
                let chains = above.chains(owner.owner);
                (owner, because, chains)
            })
            .collect(),
        None => Vec::new(),
    };
    UltimateNodes {
        owners,
        unattributed: ownership.unattributed,
        page,
    }
}

/// The ultimate owners of `company` that `question` asks for, computed on `network` (which
/// holds at least everything above the company), with the chains and profiles of only those
/// it gives.
///
/// # Errors
/// [`ReadError::Unknown`] when the network reaches a party without its profile.
pub(crate) fn ultimate_answer<G: ShownNetwork>(
    network: &G,
    company: OrgNr,
    question: UltimateQuestion,
) -> Result<UltimateAnswer, ReadError> {
    let node = network.node(&OwnerRef::Organisation(company));
    ultimate_nodes(network, node, question).shown(network)
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
        let question = UltimateQuestion::Owners { min_fraction, page };
        let Some((company, answer)) = self
            .ultimate(register, orgnr, question, min_position)
            .await?
        else {
            return Ok(None);
        };
        Ok(Some(UltimateOwnersView {
            owners: answer.owners,
            company,
            unattributed: answer.unattributed,
            page: answer.page.unwrap_or_else(|| PageInfo::new(page, 0)),
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
        let question = UltimateQuestion::Beneficial;
        let Some((company, answer)) = self
            .ultimate(register, orgnr, question, min_position)
            .await?
        else {
            return Ok(None);
        };
        Ok(Some(BeneficialOwnersView {
            owners: answer.owners,
            company,
        }))
    }

    /// The company and the ultimate owners `question` asks for; `None` for an unknown
    /// company. Computed where the register is held in memory, or else on the graph above the
    /// company, read a level at a time.
    async fn ultimate(
        &self,
        register: Register,
        orgnr: OrgNr,
        question: UltimateQuestion,
        min_position: Option<Position>,
    ) -> Result<Option<(CompanyRecord, UltimateAnswer)>, QueryError> {
        let read = self.reader(register, min_position).await?;
        let Some(company) = read.organisation(orgnr).await? else {
            return Ok(None);
        };
        if let Some(answer) = read.ultimate_owners(orgnr, question).await? {
            return Ok(Some((company, answer)));
        }
        let found = self.above(read.as_ref(), &company, Read::default()).await?;
        let answer = ultimate_answer(&found, orgnr, question)?;
        Ok(Some((company, answer)))
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
        if let Some(view) = read.ultimate_holdings(party, page).await? {
            return Ok(Some(view));
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
        Ok(Some(ultimate_holdings_view(&found, party, page)?))
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
