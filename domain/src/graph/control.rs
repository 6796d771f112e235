//! Control: a party's controlled stake in each company, to a fixpoint.

use std::collections::{HashMap, HashSet};

use super::{CONTROL_ABOVE, Node, OwnershipGraph, exceeds};

/// `party`'s controlled stake in every company the graph shows it holds shares in, directly or
/// through organisations it controls: its own direct fraction plus the direct fractions of
/// every organisation it controls. A company whose stake exceeds 50 % is controlled, and its
/// own holdings then count too. Stakes only grow, so each controlled company is visited once.
pub(super) fn stakes(graph: &OwnershipGraph, party: Node) -> HashMap<Node, f64> {
    let mut stake: HashMap<Node, f64> = HashMap::new();
    let mut controlled: HashSet<Node> = HashSet::new();
    let mut work = vec![party];
    while let Some(node) = work.pop() {
        for (company, fraction) in graph.holding_fractions(node) {
            if company == party {
                continue;
            }
            let total = stake.entry(company).or_default();
            *total += fraction;
            if exceeds(*total, CONTROL_ABOVE) && controlled.insert(company) {
                work.push(company);
            }
        }
    }
    stake
}
