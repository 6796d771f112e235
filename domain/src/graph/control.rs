//! Control: a party's controlled stake in each company, to a fixpoint.

use std::collections::{HashMap, HashSet};

use super::network::{OwnershipNetwork, holding_fractions};
use super::{CONTROL_ABOVE, exceeds};

/// `party`'s controlled stake in every company the network shows it holds shares in, directly
/// or through organisations it controls, among the companies `within` admits: its own direct
/// fraction plus the direct fractions of every organisation it controls. A company whose stake
/// exceeds 50 % is controlled, and its own holdings then count too. Stakes only grow, so each
/// controlled company is visited once.
///
/// A question about one company admits only the companies above it (a stake anywhere else
/// never reaches it); one about everything below a party admits them all.
pub(super) fn stakes<N: OwnershipNetwork>(
    network: &N,
    party: N::Node,
    within: impl Fn(N::Node) -> bool,
) -> HashMap<N::Node, f64> {
    let mut stake: HashMap<N::Node, f64> = HashMap::new();
    let mut controlled: HashSet<N::Node> = HashSet::new();
    let mut work = vec![party];
    while let Some(node) = work.pop() {
        for (company, fraction) in holding_fractions(network, node) {
            if company == party || !within(company) {
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
