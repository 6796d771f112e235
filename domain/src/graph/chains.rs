//! The chains that explain an effective ownership: the simple paths from each ultimate owner
//! to the company whose products are largest.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use super::DROPPED_BELOW;
use super::flow::Edges;
use crate::{OrgNr, OwnerRef};

/// At most this many chains are given per owner.
pub const MAX_CHAINS: usize = 10;

/// Paths examined per owner before the search stops; the largest found by then are given.
const PATHS_EXAMINED: usize = 20_000;

/// One link of a chain: `owner` holds `fraction` of `company` directly. In a network of its
/// own nodes (an [`OwnershipNetwork`](super::OwnershipNetwork)), both are its nodes.
#[derive(Clone, PartialEq, Debug)]
pub struct ChainLink<P = OwnerRef, C = OrgNr> {
    pub owner: P,
    pub company: C,
    pub fraction: f64,
}

/// A path of holdings from an owner to a company, ordered from the owner to the company.
#[derive(Clone, PartialEq, Debug)]
pub struct Chain<P = OwnerRef, C = OrgNr> {
    /// The product of the links' fractions.
    pub fraction: f64,
    pub links: Vec<ChainLink<P, C>>,
}

impl<P, C> Chain<P, C> {
    /// The same chain, its owners and companies named otherwise.
    pub fn map<Q, D>(self, owner: impl Fn(P) -> Q, company: impl Fn(C) -> D) -> Chain<Q, D> {
        Chain {
            fraction: self.fraction,
            links: self
                .links
                .into_iter()
                .map(|link| ChainLink {
                    owner: owner(link.owner),
                    company: company(link.company),
                    fraction: link.fraction,
                })
                .collect(),
        }
    }
}

/// A path from the owner down to `node`, found by extending the path at `parent`.
struct Step<Node> {
    node: Node,
    parent: Option<usize>,
    /// The parent's node's direct fraction in `node`.
    link: f64,
    product: f64,
}

/// A step waiting in the search, largest product first.
struct Waiting {
    product: f64,
    step: usize,
}

impl PartialEq for Waiting {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Waiting {}
impl PartialOrd for Waiting {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Waiting {
    fn cmp(&self, other: &Self) -> Ordering {
        self.product
            .total_cmp(&other.product)
            .then(other.step.cmp(&self.step))
    }
}

fn on_path<Node: PartialEq>(steps: &[Step<Node>], mut at: Option<usize>, node: Node) -> bool {
    while let Some(index) = at {
        if steps[index].node == node {
            return true;
        }
        at = steps[index].parent;
    }
    false
}

fn chain<Node: Copy>(steps: &[Step<Node>], end: usize) -> Chain<Node, Node> {
    let mut links = Vec::new();
    let mut at = end;
    while let Some(parent) = steps[at].parent {
        links.push(ChainLink {
            owner: steps[parent].node,
            company: steps[at].node,
            fraction: steps[at].link,
        });
        at = parent;
    }
    links.reverse();
    Chain {
        fraction: steps[end].product,
        links,
    }
}

/// `owner`'s largest simple paths down to `company`, best first, at most [`MAX_CHAINS`]. A
/// best-first search from the owner along its holdings (`held`, each node's holdings and its
/// direct fractions in them, among the companies above `company` only): paths come out of the
/// heap in decreasing product, so the first that reach the company are the largest. A party
/// holds few of those companies, so the search stays small; it gives up after
/// [`PATHS_EXAMINED`] paths.
pub(super) fn between(held: &Edges, owner: usize, company: usize) -> Vec<Chain<usize, usize>> {
    let mut found = Vec::new();
    let mut steps = vec![Step {
        node: owner,
        parent: None,
        link: 1.0,
        product: 1.0,
    }];
    let mut heap = BinaryHeap::from([Waiting {
        product: 1.0,
        step: 0,
    }]);
    let mut examined = 0;
    while let Some(Waiting { step, .. }) = heap.pop() {
        examined += 1;
        if examined > PATHS_EXAMINED || found.len() >= MAX_CHAINS {
            break;
        }
        let node = steps[step].node;
        if node == company {
            found.push(chain(&steps, step));
            continue;
        }
        for &(next, fraction) in &held[node] {
            let product = steps[step].product * fraction;
            if product < DROPPED_BELOW || on_path(&steps, Some(step), next) {
                continue;
            }
            steps.push(Step {
                node: next,
                parent: Some(step),
                link: fraction,
                product,
            });
            heap.push(Waiting {
                product,
                step: steps.len() - 1,
            });
        }
    }
    found
}
