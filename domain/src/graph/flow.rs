//! Effective ownership as a flow: what is left of a company's ownership is passed up to its
//! owners in proportion to their direct fractions (or, downwards, what a party holds is passed
//! down to its holdings), until nothing worth passing is left.
//!
//! Every node accumulates the total weight of the walks between it and the start, so a cycle
//! adds its geometric series exactly, without a depth limit: each pass round the cycle
//! multiplies what is left by the cycle's fractions, which are below 1 as long as anyone
//! outside the cycle holds a share in it. What is left on a node below [`PASSED_ABOVE`] is
//! dropped; that bounds what is dropped to far below [`super::DROPPED_BELOW`].

use std::collections::{HashMap, HashSet, VecDeque};

use super::network::{OwnershipNetwork, holding_fractions, owner_fractions};

/// What is left on a node is passed on only above this.
const PASSED_ABOVE: f64 = 1e-15;

/// Passes per node reached before a closed loop (parties owning only each other, with nobody
/// outside holding a share) is given up: what circulates in it has no owner outside it.
const PASSES_PER_NODE: usize = 2_000;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Direction {
    /// From a company to its owners: the walks from every party up to the start.
    Up,
    /// From a party to its holdings: the walks from the start down to every company.
    Down,
}

/// The total weight of the walks between `start` and every node they reach, the start's own
/// walk of length 0 included. Upwards, walks may pass the start again (that is how a cycle
/// through the company adds up); downwards they may not. Every node a walk reaches is in the
/// answer, however little reached it.
pub(super) fn walks<N: OwnershipNetwork>(
    network: &N,
    start: N::Node,
    direction: Direction,
) -> HashMap<N::Node, f64> {
    let mut value: HashMap<N::Node, f64> = HashMap::new();
    let mut left: HashMap<N::Node, f64> = HashMap::from([(start, 1.0)]);
    let mut queue = VecDeque::from([start]);
    let mut queued: HashSet<N::Node> = HashSet::from([start]);
    let mut passes = 0usize;
    while let Some(node) = queue.pop_front() {
        queued.remove(&node);
        let amount = left.remove(&node).unwrap_or(0.0);
        *value.entry(node).or_default() += amount;
        passes += 1;
        if passes > PASSES_PER_NODE.saturating_mul(value.len() + left.len()) {
            break;
        }
        let mut pass = |to: N::Node, fraction: f64| {
            let passed = amount * fraction;
            if passed <= 0.0 || (direction == Direction::Down && to == start) {
                // Downwards, what comes back round to the start is the start's own shares held
                // through others: like treasury shares, it is nobody's holding.
                return;
            }
            let end = match direction {
                Direction::Up => !network.has_owners(to),
                Direction::Down => !network.holds(to),
            };
            if end {
                // Nothing goes on from here: it all stays, however small.
                *value.entry(to).or_default() += passed;
                return;
            }
            let pending = left.entry(to).or_default();
            *pending += passed;
            if *pending > PASSED_ABOVE && queued.insert(to) {
                queue.push_back(to);
            }
        };
        match direction {
            Direction::Up => owner_fractions(network, node).for_each(|(to, f)| pass(to, f)),
            Direction::Down => holding_fractions(network, node).for_each(|(to, f)| pass(to, f)),
        }
    }
    // What was too little to pass on still reached its node.
    for (node, amount) in left {
        *value.entry(node).or_default() += amount;
    }
    value
}
