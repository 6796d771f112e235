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
//!   fractions of the owners; it is solved by propagating what is left of each company's
//!   ownership up to its owners until nothing above [`DROPPED_BELOW`] is left. Cycles are
//!   never cut at a depth.
//! - The *ultimate owners* of C are the parties above C that have no registered owner of
//!   their own: persons (foreign holders without an id among them), and organisations whose
//!   owners the register does not show (foreign companies, the state).
//! - O *controls* C when O's *controlled stake* in C is more than 50 %: O's direct fraction
//!   plus the direct fractions in C of every organisation O controls, to a fixpoint.
//! - A *beneficial owner* is a person whose effective ownership or controlled stake exceeds
//!   25 %.

use std::collections::HashMap;

use crate::{OrgNr, OwnerRef, ShareCount, company_total};

mod chains;
mod control;
mod flow;

#[cfg(test)]
mod tests;

pub use chains::{Chain, ChainLink, MAX_CHAINS};

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

/// `shares` of `outstanding`, at most 1; 0 of nothing.
fn ratio(shares: u64, outstanding: u64) -> f64 {
    if outstanding == 0 {
        return 0.0;
    }
    // Share counts stay far below 2^53 in any register, so the quotient is exact to an ulp.
    #[allow(clippy::cast_precision_loss)]
    let fraction = shares as f64 / outstanding as f64;
    fraction.min(1.0)
}

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

/// One ultimate owner of a company.
#[derive(Clone, PartialEq, Debug)]
pub struct UltimateOwner {
    pub owner: OwnerRef,
    /// The effective ownership, as a fraction of the company's outstanding shares.
    pub effective: f64,
    /// The controlled stake, as a fraction of the company's outstanding shares.
    pub controlled: f64,
}

impl UltimateOwner {
    /// Why the owner is a beneficial owner, or `None`: only persons are, above 25 %.
    #[must_use]
    pub fn beneficial(&self) -> Option<Because> {
        if !matches!(self.owner, OwnerRef::Person(_)) {
            return None;
        }
        let because = Because {
            ownership: exceeds(self.effective, BENEFICIAL_ABOVE),
            control: exceeds(self.controlled, BENEFICIAL_ABOVE),
        };
        (because.ownership || because.control).then_some(because)
    }

    /// Whether the owner controls the company: its controlled stake exceeds 50 %.
    #[must_use]
    pub fn controls(&self) -> bool {
        exceeds(self.controlled, CONTROL_ABOVE)
    }
}

/// A company's ultimate owners.
#[derive(Clone, PartialEq, Debug, Default)]
pub struct UltimateOwnership {
    /// Largest effective ownership first, then largest controlled stake, then by owner.
    pub owners: Vec<UltimateOwner>,
    /// The fraction no ultimate owner accounts for: shares the register does not show an owner
    /// of, anywhere along the chains (an unregistered remainder), and owners that only own
    /// each other in a closed loop.
    pub unattributed: f64,
}

/// One company a party holds an effective share in.
#[derive(Clone, PartialEq, Debug)]
pub struct UltimateHolding {
    pub company: OrgNr,
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

    fn find(&self, party: &OwnerRef) -> Option<Node> {
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

    /// The company's outstanding shares: issued (never less than registered) less treasury.
    /// A company whose totals the graph does not have counts what is registered in it.
    fn outstanding(&self, company: Node) -> u64 {
        let issued = match self.totals[company] {
            Some(totals) => {
                company_total(totals.declared, totals.registered).max(totals.registered)
            }
            None => self.owners[company]
                .iter()
                .map(|(_, shares)| *shares)
                .fold(self.treasury[company], u64::saturating_add),
        };
        issued.saturating_sub(self.treasury[company])
    }

    /// The company's owners and their direct fractions.
    fn owner_fractions(&self, company: Node) -> impl Iterator<Item = (Node, f64)> + '_ {
        let outstanding = self.outstanding(company);
        self.owners[company]
            .iter()
            .map(move |(owner, shares)| (*owner, ratio(*shares, outstanding)))
    }

    /// The party's holdings and its direct fractions in them.
    fn holding_fractions(&self, party: Node) -> impl Iterator<Item = (Node, f64)> + '_ {
        self.holdings[party]
            .iter()
            .map(move |(company, shares)| (*company, ratio(*shares, self.outstanding(*company))))
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
                ratio(
                    self.owners[company][*in_owners].1,
                    self.outstanding(company),
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
        let effective = flow::walks(self, target, flow::Direction::Up);
        let mut owners: Vec<UltimateOwner> = effective
            .into_iter()
            .filter(|(node, value)| {
                *node != target && self.owners[*node].is_empty() && *value >= DROPPED_BELOW
            })
            .map(|(node, value)| UltimateOwner {
                owner: self.parties[node].clone(),
                effective: value,
                controlled: control::stakes(self, node)
                    .get(&target)
                    .copied()
                    .unwrap_or(0.0),
            })
            .collect();
        owners.sort_by(|a, b| {
            by_size(|o: &UltimateOwner| (o.effective, o.controlled))(a, b)
                .then_with(|| a.owner.cmp(&b.owner))
        });
        let attributed: f64 = owners.iter().map(|owner| owner.effective).sum();
        UltimateOwnership {
            owners,
            unattributed: (1.0 - attributed).max(0.0),
        }
    }

    /// The simple paths from `owner` down to `company` that contribute most to its effective
    /// ownership, largest first, at most [`MAX_CHAINS`].
    #[must_use]
    pub fn chains(&self, owner: &OwnerRef, company: OrgNr) -> Vec<Chain> {
        match (
            self.find(owner),
            self.find(&OwnerRef::Organisation(company)),
        ) {
            (Some(owner), Some(company)) if owner != company => {
                chains::between(self, owner, company)
            }
            _ => Vec::new(),
        }
    }

    /// Every company below `party` in which it has an effective share or a controlled stake,
    /// largest effective first. Needs every stake held by every party below `party`, and those
    /// companies' totals.
    #[must_use]
    pub fn ultimate_holdings(&self, party: &OwnerRef) -> Vec<UltimateHolding> {
        let Some(source) = self.find(party) else {
            return Vec::new();
        };
        let effective = flow::walks(self, source, flow::Direction::Down);
        let controlled = control::stakes(self, source);
        let mut holdings: Vec<UltimateHolding> = effective
            .iter()
            .filter(|(node, value)| **node != source && **value >= DROPPED_BELOW)
            .filter_map(|(node, value)| match &self.parties[*node] {
                OwnerRef::Organisation(orgnr) => Some(UltimateHolding {
                    company: *orgnr,
                    effective: *value,
                    controlled: controlled.get(node).copied().unwrap_or(0.0),
                }),
                OwnerRef::Person(_) => None,
            })
            .collect();
        holdings.sort_by(|a, b| {
            by_size(|h: &UltimateHolding| (h.effective, h.controlled))(a, b)
                .then_with(|| a.company.cmp(&b.company))
        });
        holdings
    }
}
