//! The chains that explain an effective ownership: the simple paths from each ultimate owner
//! to the company whose products are largest.

use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashMap};

use super::{DROPPED_BELOW, Node, OwnershipGraph};
use crate::{OrgNr, OwnerRef};

/// At most this many chains are given per owner.
pub const MAX_CHAINS: usize = 10;

/// Paths examined per query before the search stops; the largest found by then are given.
const PATHS_EXAMINED: usize = 200_000;

/// One link of a chain: `owner` holds `fraction` of `company` directly.
#[derive(Clone, PartialEq, Debug)]
pub struct ChainLink {
    pub owner: OwnerRef,
    pub company: OrgNr,
    pub fraction: f64,
}

/// A path of holdings from an owner to a company, ordered from the owner to the company.
#[derive(Clone, PartialEq, Debug)]
pub struct Chain {
    /// The product of the links' fractions.
    pub fraction: f64,
    pub links: Vec<ChainLink>,
}

/// A path from the company up to `node`, found by extending the path at `parent`.
struct Step {
    node: Node,
    parent: Option<usize>,
    /// `node`'s direct fraction in the parent's node.
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

fn on_path(steps: &[Step], mut at: Option<usize>, node: Node) -> bool {
    while let Some(index) = at {
        if steps[index].node == node {
            return true;
        }
        at = steps[index].parent;
    }
    false
}

fn chain(graph: &OwnershipGraph, steps: &[Step], end: usize) -> Chain {
    let mut links = Vec::new();
    let mut at = end;
    while let Some(parent) = steps[at].parent {
        let OwnerRef::Organisation(company) = graph.parties[steps[parent].node] else {
            unreachable!("only organisations have owners");
        };
        links.push(ChainLink {
            owner: graph.parties[steps[at].node].clone(),
            company,
            fraction: steps[at].link,
        });
        at = parent;
    }
    Chain {
        fraction: steps[end].product,
        links,
    }
}

/// For every ultimate owner above `target`, its largest simple paths to `target`, best first.
/// A best-first search: paths come out of the heap in decreasing product, so the first
/// [`MAX_CHAINS`] that end at an owner are that owner's largest.
pub(super) fn up(graph: &OwnershipGraph, target: Node) -> HashMap<Node, Vec<Chain>> {
    let mut found: HashMap<Node, Vec<Chain>> = HashMap::new();
    let mut steps = vec![Step {
        node: target,
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
        if examined > PATHS_EXAMINED {
            break;
        }
        let node = steps[step].node;
        if node != target && graph.owners[node].is_empty() {
            let chains = found.entry(node).or_default();
            if chains.len() < MAX_CHAINS {
                chains.push(chain(graph, &steps, step));
            }
            continue;
        }
        for (owner, fraction) in graph.owner_fractions(node) {
            let product = steps[step].product * fraction;
            if product < DROPPED_BELOW || on_path(&steps, Some(step), owner) {
                continue;
            }
            // An owner with its chains complete gains nothing from a smaller path.
            if found.get(&owner).is_some_and(|c| c.len() >= MAX_CHAINS) {
                continue;
            }
            steps.push(Step {
                node: owner,
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
