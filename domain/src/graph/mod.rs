//! Who owns a company through chains of holding companies: effective ownership, control and
//! beneficial owners, computed exactly over an ownership graph, cycles included.
//!
//! **Definitions.**
//! - The *direct fraction* of owner O in company C is O's shares in C, summed over classes,
//!   divided by C's *outstanding* shares: its issued shares (the declared total, or the
//!   registered sum when none is declared, and never less than what is registered) minus C's
//!   treasury shares, which carry no votes and no dividend.
//! - The *effective ownership* of O in C is the sum, over every walk from O up to C, of the
//!   product of the direct fractions along it. With cross-holdings this is the limit
//!   E = B(I − A)⁻¹, where A holds the organisation-to-organisation fractions and B the
//!   fractions of the owners; it is solved by passing each company's ownership up to its
//!   owners once, in topological order of the cycles and the rest, each cycle's system
//!   solved exactly. Cycles are never cut at a depth.
//! - The *ultimate owners* of C are the parties above C that have no registered owner of
//!   their own: persons (foreign holders without an id among them), and organisations whose
//!   owners the register does not show (foreign companies, the state).
//! - O *controls* C when O's *controlled stake* in C is more than 50 %: O's direct fraction
//!   plus the direct fractions in C of every organisation O controls, to a fixpoint.
//! - A *beneficial owner* is a person whose effective ownership or controlled stake exceeds
//!   25 %.
//!
//! The rules run on any [`OwnershipNetwork`]: the [`OwnershipGraph`] built here from stakes, or
//! a register held whole in another shape. [`Above`] is what a question about one company's
//! owners needs, [`Below`] one about what a party holds through others.

use std::borrow::Cow;
use std::collections::HashMap;

use crate::{OrgNr, OwnerRef, ShareCount};

mod chains;
mod control;
mod flow;
mod network;

#[cfg(test)]
mod tests;

pub use chains::{Chain, ChainLink, MAX_CHAINS};
pub use network::{OwnershipNetwork, outstanding_shares};

/// Contributions to an effective ownership smaller than this may be dropped.
pub const DROPPED_BELOW: f64 = 1e-10;

/// A party owns a beneficial part of a company above this fraction.
pub const BENEFICIAL_ABOVE: f64 = 0.25;

/// A controlled stake above this fraction is control.
pub const CONTROL_ABOVE: f64 = 0.5;

/// Sums of floating-point fractions may miss an exact threshold by a few ulps; a fraction
/// exceeds a threshold only by more than this.
const TOLERANCE: f64 = 1e-12;

fn exceeds(fraction: f64, threshold: f64) -> bool {
    fraction > threshold + TOLERANCE
}

type Node = usize;

/// A company's share totals, as the register gives them.
#[derive(Clone, Copy, Debug)]
struct Totals {
    declared: Option<ShareCount>,
    registered: u64,
}

/// Parties and their stakes in companies: the whole register, or the part of it above (or
/// below) the parties a question is about.
///
/// A query upwards ([`OwnershipGraph::ultimate_owners`]) needs every stake in every company
/// above the company asked about; a query downwards ([`OwnershipGraph::ultimate_holdings`])
/// needs every stake held by every party below the one asked about, and each of those
/// companies' totals.
#[derive(Clone, Debug, Default)]
pub struct OwnershipGraph {
    parties: Vec<OwnerRef>,
    index: HashMap<OwnerRef, Node>,
    totals: Vec<Option<Totals>>,
    treasury: Vec<u64>,
    /// Per company: its owners (treasury excluded) and their shares over all classes.
    owners: Vec<Vec<(Node, u64)>>,
    /// Per party: the companies it holds shares in (treasury excluded), and how many.
    holdings: Vec<Vec<(Node, u64)>>,
    /// Where each `(owner, company)` stake sits in `owners[company]` and `holdings[owner]`.
    stakes: HashMap<(Node, Node), (usize, usize)>,
}

/// Why a person is a beneficial owner.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct Because {
    /// The effective ownership exceeds 25 %.
    pub ownership: bool,
    /// The controlled stake exceeds 25 %.
    pub control: bool,
}

impl Because {
    /// Why `owner`, with this effective ownership and controlled stake, is a beneficial owner,
    /// or `None`: only persons are, above 25 %.
    #[must_use]
    pub fn of(owner: &OwnerRef, effective: f64, controlled: f64) -> Option<Self> {
        if !matches!(owner, OwnerRef::Person(_)) {
            return None;
        }
        let because = Self {
            ownership: exceeds(effective, BENEFICIAL_ABOVE),
            control: exceeds(controlled, BENEFICIAL_ABOVE),
        };
        (because.ownership || because.control).then_some(because)
    }
}

/// One ultimate owner of a company: a party, or a node of an [`OwnershipNetwork`].
#[derive(Clone, PartialEq, Debug)]
pub struct UltimateOwner<P = OwnerRef> {
    pub owner: P,
    /// The effective ownership, as a fraction of the company's outstanding shares.
    pub effective: f64,
    /// The controlled stake, as a fraction of the company's outstanding shares.
    pub controlled: f64,
}

impl<P> UltimateOwner<P> {
    /// Whether the owner controls the company: its controlled stake exceeds 50 %.
    #[must_use]
    pub fn controls(&self) -> bool {
        exceeds(self.controlled, CONTROL_ABOVE)
    }
}

impl UltimateOwner {
    /// Why the owner is a beneficial owner, or `None`: only persons are, above 25 %.
    #[must_use]
    pub fn beneficial(&self) -> Option<Because> {
        Because::of(&self.owner, self.effective, self.controlled)
    }
}

/// A company's ultimate owners.
#[derive(Clone, PartialEq, Debug)]
pub struct UltimateOwnership<P = OwnerRef> {
    /// Largest effective ownership first, then largest controlled stake, then by owner.
    pub owners: Vec<UltimateOwner<P>>,
    /// The fraction no ultimate owner accounts for: shares the register does not show an owner
    /// of, anywhere along the chains (an unregistered remainder), and owners that only own
    /// each other in a closed loop.
    pub unattributed: f64,
}

impl<P> Default for UltimateOwnership<P> {
    fn default() -> Self {
        Self {
            owners: Vec::new(),
            unattributed: 0.0,
        }
    }
}

/// One company a party holds an effective share in: an orgnr, or a node of an
/// [`OwnershipNetwork`].
#[derive(Clone, PartialEq, Debug)]
pub struct UltimateHolding<C = OrgNr> {
    pub company: C,
    pub effective: f64,
    pub controlled: f64,
}

fn by_size<T>(key: impl Fn(&T) -> (f64, f64)) -> impl Fn(&T, &T) -> std::cmp::Ordering {
    move |a, b| {
        let (a1, a2) = key(a);
        let (b1, b2) = key(b);
        b1.total_cmp(&a1).then(b2.total_cmp(&a2))
    }
}

/// Everything above one company of a network: every party whose walks up the chains reach
/// it, with their total weight, and each one's holdings among them. What a question about the
/// company's owners needs.
#[derive(Debug)]
pub struct Above<'n, N: OwnershipNetwork> {
    network: &'n N,
    walks: flow::Walks<N::Node>,
    /// Each node's holdings among the companies above the company (and in it), with its
    /// direct fractions in them.
    held: flow::Edges,
}

impl<'n, N: OwnershipNetwork> Above<'n, N> {
    /// Walks up from `company` through every chain of owners, cycles included.
    #[must_use]
    pub fn of(network: &'n N, company: N::Node) -> Self {
        let walks = flow::walks(network, company, flow::Direction::Up);
        Self {
            network,
            held: walks.reached.previous(),
            walks,
        }
    }

    /// The parties reached, the company included.
    #[must_use]
    pub fn reached(&self) -> usize {
        self.walks.reached.nodes.len()
    }

    /// The company's ultimate owners, with their effective ownership and controlled stake.
    #[must_use]
    pub fn ultimate_owners(&self) -> UltimateOwnership<N::Node> {
        let (network, reached, value) = (self.network, &self.walks.reached, &self.walks.value);
        let mut control = control::Control::new(reached.nodes.len());
        let mut owners: Vec<UltimateOwner<N::Node>> = (1..reached.nodes.len())
            .filter(|&id| {
                reached.next[id].is_empty()
                    && value[id] >= DROPPED_BELOW
                    && !network.has_owners(reached.nodes[id])
            })
            .map(|id| UltimateOwner {
                owner: reached.nodes[id],
                effective: value[id],
                controlled: control
                    .stakes(&self.held, id)
                    .find(|&(company, _)| company == 0)
                    .map_or(0.0, |(_, stake)| stake),
            })
            .collect();
        owners.sort_by(|a, b| {
            by_size(|o: &UltimateOwner<N::Node>| (o.effective, o.controlled))(a, b)
                .then_with(|| network.party(a.owner).cmp(&network.party(b.owner)))
        });
        let attributed: f64 = owners.iter().map(|owner| owner.effective).sum();
        UltimateOwnership {
            owners,
            unattributed: (1.0 - attributed).max(0.0),
        }
    }

    /// The simple paths from `owner` down to the company that contribute most to its
    /// effective ownership, largest first, at most [`MAX_CHAINS`].
    #[must_use]
    pub fn chains(&self, owner: N::Node) -> Vec<Chain<N::Node, N::Node>> {
        let Some(&id) = self.walks.reached.ids.get(&owner) else {
            return Vec::new();
        };
        if id == 0 {
            return Vec::new();
        }
        let node = |id: usize| self.walks.reached.nodes[id];
        chains::between(&self.held, id, 0)
            .into_iter()
            .map(|chain| chain.map(node, node))
            .collect()
    }
}

/// Everything below one party of a network: every company its holdings reach, directly or
/// through others, with the total weight of the walks down to it.
#[derive(Debug)]
pub struct Below<'n, N: OwnershipNetwork> {
    network: &'n N,
    walks: flow::Walks<N::Node>,
}

impl<'n, N: OwnershipNetwork> Below<'n, N> {
    /// Walks down from `party` through every chain of holdings, cycles included.
    #[must_use]
    pub fn of(network: &'n N, party: N::Node) -> Self {
        Self {
            network,
            walks: flow::walks(network, party, flow::Direction::Down),
        }
    }

    /// Every company in which the party has an effective share or a controlled stake,
    /// largest effective first.
    #[must_use]
    pub fn ultimate_holdings(&self) -> Vec<UltimateHolding<N::Node>> {
        let (network, reached, value) = (self.network, &self.walks.reached, &self.walks.value);
        let mut controlled = vec![0.0; reached.nodes.len()];
        for (company, stake) in control::Control::new(reached.nodes.len()).stakes(&reached.next, 0)
        {
            controlled[company] = stake;
        }
        let mut holdings: Vec<UltimateHolding<N::Node>> = (1..reached.nodes.len())
            .filter(|&id| value[id] >= DROPPED_BELOW)
            .map(|id| UltimateHolding {
                company: reached.nodes[id],
                effective: value[id],
                controlled: controlled[id],
            })
            .collect();
        holdings.sort_by(|a, b| {
            by_size(|h: &UltimateHolding<N::Node>| (h.effective, h.controlled))(a, b)
                .then_with(|| network.party(a.company).cmp(&network.party(b.company)))
        });
        holdings
    }
}

impl OwnershipNetwork for OwnershipGraph {
    type Node = Node;

    fn owners(&self, company: Node) -> impl Iterator<Item = (Node, u64)> + '_ {
        self.owners[company].iter().copied()
    }

    fn holdings(&self, party: Node) -> impl Iterator<Item = (Node, u64)> + '_ {
        self.holdings[party].iter().copied()
    }

    /// A company whose totals the graph does not have counts what is registered in it.
    fn outstanding(&self, company: Node) -> u64 {
        match self.totals[company] {
            Some(totals) => {
                outstanding_shares(totals.declared, totals.registered, self.treasury[company])
            }
            None => self.owners[company]
                .iter()
                .map(|(_, shares)| *shares)
                .fold(0, u64::saturating_add),
        }
    }

    fn has_owners(&self, node: Node) -> bool {
        !self.owners[node].is_empty()
    }

    fn holds(&self, node: Node) -> bool {
        !self.holdings[node].is_empty()
    }

    fn party(&self, node: Node) -> Cow<'_, OwnerRef> {
        Cow::Borrowed(&self.parties[node])
    }
}

impl OwnershipGraph {
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    fn node(&mut self, party: &OwnerRef) -> Node {
        if let Some(node) = self.index.get(party) {
            return *node;
        }
        let node = self.parties.len();
        self.parties.push(party.clone());
        self.index.insert(party.clone(), node);
        self.totals.push(None);
        self.treasury.push(0);
        self.owners.push(Vec::new());
        self.holdings.push(Vec::new());
        node
    }

    /// The node of `party`, when the graph has it.
    #[must_use]
    pub fn find(&self, party: &OwnerRef) -> Option<Node> {
        self.index.get(party).copied()
    }

    /// Records a company's totals: its declared total, when the register gives one, and the
    /// shares registered over all classes.
    pub fn add_company(&mut self, orgnr: OrgNr, declared: Option<ShareCount>, registered: u64) {
        let node = self.node(&OwnerRef::Organisation(orgnr));
        self.totals[node] = Some(Totals {
            declared,
            registered,
        });
    }

    /// Adds `shares` to `owner`'s stake in `company`: a holding of one share class, or of all.
    /// A company's stake in itself is treasury shares.
    pub fn add_stake(&mut self, owner: &OwnerRef, company: OrgNr, shares: u64) {
        let company = self.node(&OwnerRef::Organisation(company));
        let owner = self.node(owner);
        if owner == company {
            self.treasury[company] = self.treasury[company].saturating_add(shares);
            return;
        }
        if let Some((in_owners, in_holdings)) = self.stakes.get(&(owner, company)).copied() {
            let total = &mut self.owners[company][in_owners].1;
            *total = total.saturating_add(shares);
            self.holdings[owner][in_holdings].1 = *total;
            return;
        }
        self.stakes.insert(
            (owner, company),
            (self.owners[company].len(), self.holdings[owner].len()),
        );
        self.owners[company].push((owner, shares));
        self.holdings[owner].push((company, shares));
    }

    fn organisation(&self, node: Node) -> OrgNr {
        match &self.parties[node] {
            OwnerRef::Organisation(orgnr) => *orgnr,
            OwnerRef::Person(_) => unreachable!("only organisations are held"),
        }
    }

    /// The direct fraction of `owner` in `company`, 0 when it holds none.
    #[must_use]
    pub fn direct_fraction(&self, owner: &OwnerRef, company: OrgNr) -> f64 {
        let (Some(owner), Some(company)) = (
            self.find(owner),
            self.find(&OwnerRef::Organisation(company)),
        ) else {
            return 0.0;
        };
        self.stakes
            .get(&(owner, company))
            .map_or(0.0, |(in_owners, _)| {
                network::ratio(
                    self.owners[company][*in_owners].1,
                    OwnershipNetwork::outstanding(self, company),
                )
            })
    }

    /// The company's ultimate owners, with their effective ownership and controlled stake.
    /// Needs every stake in every company above `company`.
    #[must_use]
    pub fn ultimate_owners(&self, company: OrgNr) -> UltimateOwnership {
        let Some(target) = self.find(&OwnerRef::Organisation(company)) else {
            return UltimateOwnership {
                owners: Vec::new(),
                unattributed: 1.0,
            };
        };
        let ownership = Above::of(self, target).ultimate_owners();
        UltimateOwnership {
            owners: ownership
                .owners
                .into_iter()
                .map(|owner| UltimateOwner {
                    owner: self.parties[owner.owner].clone(),
                    effective: owner.effective,
                    controlled: owner.controlled,
                })
                .collect(),
            unattributed: ownership.unattributed,
        }
    }

    /// The simple paths from `owner` down to `company` that contribute most to its effective
    /// ownership, largest first, at most [`MAX_CHAINS`].
    #[must_use]
    pub fn chains(&self, owner: &OwnerRef, company: OrgNr) -> Vec<Chain> {
        let (Some(owner), Some(company)) = (
            self.find(owner),
            self.find(&OwnerRef::Organisation(company)),
        ) else {
            return Vec::new();
        };
        Above::of(self, company)
            .chains(owner)
            .into_iter()
            .map(|chain| {
                chain.map(
                    |node| self.parties[node].clone(),
                    |node| self.organisation(node),
                )
            })
            .collect()
    }

    /// Every company below `party` in which it has an effective share or a controlled stake,
    /// largest effective first. Needs every stake held by every party below `party`, and those
    /// companies' totals.
    #[must_use]
    pub fn ultimate_holdings(&self, party: &OwnerRef) -> Vec<UltimateHolding> {
        let Some(source) = self.find(party) else {
            return Vec::new();
        };
        Below::of(self, source)
            .ultimate_holdings()
            .into_iter()
            .map(|holding| UltimateHolding {
                company: self.organisation(holding.company),
                effective: holding.effective,
                controlled: holding.controlled,
            })
            .collect()
    }
}
