//! Effective ownership as a flow: what reaches a company of its ownership is passed up to its
//! owners in proportion to their direct fractions (or, downwards, what a party holds is passed
//! down to its holdings), and every node accumulates the total weight of the walks between it
//! and the start.
//!
//! The part of the network the walks reach is taken apart into its strongly connected
//! components (the cycles of cross-holdings, and every other node alone) and they are visited
//! in topological order, so each node passes on what reached it once, when all of it has. A
//! cycle's walks are summed exactly, without a depth limit: what enters a component of several
//! nodes is the right-hand side of the linear system `v (I − A) = inflow` over the component's
//! own fractions `A`, solved directly. Only a closed loop (parties owning only each other, with
//! nobody outside holding a share) has no solution: what circulates in it has no owner outside
//! it, and it is passed round a bounded number of times. So is a component of more than
//! [`SOLVED_UP_TO`] parties, until what circulates in it is below [`PASSED_ABOVE`] or
//! [`ROUNDS`] have passed.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use super::network::{OwnershipNetwork, holding_fractions, owner_fractions};

/// The numbers given to the nodes a question reaches, by node.
type Ids<Node> = HashMap<Node, usize, BuildHasherDefault<NodeHasher>>;

/// A multiply-and-rotate hash for a network's nodes, which are small numbers (an index, or a
/// kind and an index) a network gives its parties: several times cheaper than the default
/// hash, which defends a map against keys chosen to collide, and these are not chosen by
/// anyone.
#[derive(Default)]
pub(super) struct NodeHasher(u64);

impl NodeHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
}

impl Hasher for NodeHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
    }

    fn write_u8(&mut self, value: u8) {
        self.add(u64::from(value));
    }

    fn write_u32(&mut self, value: u32) {
        self.add(u64::from(value));
    }

    fn write_u64(&mut self, value: u64) {
        self.add(value);
    }

    fn write_usize(&mut self, value: usize) {
        self.add(value as u64);
    }

    fn write_isize(&mut self, value: isize) {
        self.add(value as u64);
    }
}

/// What is left circulating in a closed loop is given up below this.
const PASSED_ABOVE: f64 = 1e-15;

/// Rounds of a closed loop (or of a component too large to solve directly) before what still
/// circulates in it is given up.
const ROUNDS: usize = 2_000;

/// Components of at most this many nodes are solved directly; larger ones are passed round.
const SOLVED_UP_TO: usize = 400;

/// A pivot below this is a singular system: a closed loop.
const SINGULAR_BELOW: f64 = 1e-12;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Direction {
    /// From a company to its owners: the walks from every party up to the start.
    Up,
    /// From a party to its holdings: the walks from the start down to every company.
    Down,
}

/// Runs of values kept in one list: run `i` is `list[start[i]..start[i + 1]]`, which
/// `runs[i]` gives. One allocation for all of a question's runs (every node's edges, every
/// component's members), where a list per run was one per node.
#[derive(Debug)]
pub(super) struct Runs<T> {
    start: Vec<usize>,
    list: Vec<T>,
}

/// Each numbered node's edges: the number of the node at its other end, and the fraction.
pub(super) type Edges = Runs<(usize, f64)>;

impl<T> Runs<T> {
    fn new() -> Self {
        Self {
            start: vec![0],
            list: Vec::new(),
        }
    }

    /// The runs it has.
    pub(super) fn len(&self) -> usize {
        self.start.len() - 1
    }

    /// Ends the run being added to: what is added next is the next run's.
    fn close(&mut self) {
        self.start.push(self.list.len());
    }

    /// Every run, in order.
    fn iter(&self) -> impl DoubleEndedIterator<Item = &[T]> + '_ {
        (0..self.len()).map(|run| &self[run])
    }
}

impl<T> std::ops::Index<usize> for Runs<T> {
    type Output = [T];

    fn index(&self, run: usize) -> &Self::Output {
        &self.list[self.start[run]..self.start[run + 1]]
    }
}

/// The part of a network the walks from a start reach, numbered from 0 (the start), with each
/// node's fractions to the next.
#[derive(Debug)]
pub(super) struct Reached<Node> {
    pub(super) nodes: Vec<Node>,
    pub(super) ids: Ids<Node>,
    pub(super) next: Edges,
}

/// The walks from a start: what they reach, and the total weight of the walks between each
/// node and the start.
#[derive(Debug)]
pub(super) struct Walks<Node> {
    pub(super) reached: Reached<Node>,
    pub(super) value: Vec<f64>,
}

impl<Node> Reached<Node> {
    /// Each node's fractions from the nodes before it: the edges of `next` turned round,
    /// each node's in the order of the nodes they come from.
    pub(super) fn previous(&self) -> Edges {
        let nodes = self.next.len();
        let mut start = vec![0; nodes + 1];
        for &(to, _) in &self.next.list {
            start[to + 1] += 1;
        }
        for node in 0..nodes {
            start[node + 1] += start[node];
        }
        let mut filled = start.clone();
        let mut list = vec![(0, 0.0); self.next.list.len()];
        for from in 0..nodes {
            for &(to, fraction) in &self.next[from] {
                list[filled[to]] = (from, fraction);
                filled[to] += 1;
            }
        }
        Runs { start, list }
    }
}

impl<Node: Copy + Eq + std::hash::Hash> Reached<Node> {
    fn of<N: OwnershipNetwork<Node = Node>>(
        network: &N,
        start: Node,
        direction: Direction,
    ) -> Self {
        let mut reached = Self {
            nodes: vec![start],
            ids: Ids::from_iter([(start, 0)]),
            next: Runs::new(),
        };
        let mut at = 0;
        while at < reached.nodes.len() {
            let node = reached.nodes[at];
            let (nodes, ids, next) = (&mut reached.nodes, &mut reached.ids, &mut reached.next.list);
            let mut add = |to: Node, fraction: f64| {
                if fraction <= 0.0 || (direction == Direction::Down && to == start) {
                    // Downwards, what comes back round to the start is the start's own shares
                    // held through others: like treasury shares, it is nobody's holding.
                    return;
                }
                let id = *ids.entry(to).or_insert_with(|| {
                    nodes.push(to);
                    nodes.len() - 1
                });
                next.push((id, fraction));
            };
            match direction {
                Direction::Up => owner_fractions(network, node).for_each(|(to, f)| add(to, f)),
                Direction::Down => {
                    holding_fractions(network, node).for_each(|(to, f)| add(to, f));
                }
            }
            reached.next.close();
            at += 1;
        }
        reached
    }

    /// The strongly connected components, each after every component it passes to (Tarjan's
    /// order, iteratively): the start's comes last.
    fn components(&self) -> Runs<usize> {
        let mut tarjan = Tarjan {
            index: vec![None; self.nodes.len()],
            low: vec![0; self.nodes.len()],
            on_stack: vec![false; self.nodes.len()],
            stack: Vec::new(),
            calls: Vec::new(),
            counter: 0,
        };
        let mut components = Runs::new();
        tarjan.visit(0);
        while let Some(&(node, edge)) = tarjan.calls.last() {
            if let Some(&(to, _)) = self.next[node].get(edge) {
                if let Some(call) = tarjan.calls.last_mut() {
                    call.1 += 1;
                }
                match tarjan.index[to] {
                    None => tarjan.visit(to),
                    Some(index) if tarjan.on_stack[to] => {
                        tarjan.low[node] = tarjan.low[node].min(index);
                    }
                    Some(_) => {}
                }
                continue;
            }
            tarjan.calls.pop();
            if let Some(&(caller, _)) = tarjan.calls.last() {
                tarjan.low[caller] = tarjan.low[caller].min(tarjan.low[node]);
            }
            if Some(tarjan.low[node]) == tarjan.index[node] {
                while let Some(member) = tarjan.stack.pop() {
                    tarjan.on_stack[member] = false;
                    components.list.push(member);
                    if member == node {
                        break;
                    }
                }
                components.close();
            }
        }
        components
    }
}

/// Tarjan's search for strongly connected components, with its own stack of calls.
struct Tarjan {
    index: Vec<Option<usize>>,
    low: Vec<usize>,
    on_stack: Vec<bool>,
    stack: Vec<usize>,
    /// The nodes being visited, and the next of their edges to follow.
    calls: Vec<(usize, usize)>,
    counter: usize,
}

impl Tarjan {
    fn visit(&mut self, node: usize) {
        self.index[node] = Some(self.counter);
        self.low[node] = self.counter;
        self.counter += 1;
        self.stack.push(node);
        self.on_stack[node] = true;
        self.calls.push((node, 0));
    }
}

/// The walks from `start` and the total weight of those between it and every node they reach,
/// the start's own walk of length 0 included. Upwards, walks may pass the start again (that
/// is how a cycle through the company adds up); downwards they may not. Every node a walk
/// reaches is in the answer, however little reached it.
pub(super) fn walks<N: OwnershipNetwork>(
    network: &N,
    start: N::Node,
    direction: Direction,
) -> Walks<N::Node> {
    let reached = Reached::of(network, start, direction);
    let mut inflow = vec![0.0; reached.nodes.len()];
    inflow[0] = 1.0;
    let mut value = vec![0.0; reached.nodes.len()];
    let mut member = vec![usize::MAX; reached.nodes.len()];
    for component in reached.components().iter().rev() {
        if let [node] = *component
            && reached.next[node].iter().all(|&(to, _)| to != node)
        {
            value[node] = inflow[node];
            for &(to, fraction) in &reached.next[node] {
                inflow[to] += value[node] * fraction;
            }
            continue;
        }
        for (at, &node) in component.iter().enumerate() {
            member[node] = at;
        }
        let solved = (component.len() <= SOLVED_UP_TO)
            .then(|| solve(&reached.next, component, &member, &inflow))
            .flatten();
        match solved {
            Some(solved) => {
                for (&node, total) in component.iter().zip(solved) {
                    value[node] = total;
                }
            }
            None => pass_round(&reached.next, component, &member, &inflow, &mut value),
        }
        // What leaves the component, once all of it is known.
        for &node in component {
            for &(to, fraction) in &reached.next[node] {
                if member[to] == usize::MAX {
                    inflow[to] += value[node] * fraction;
                }
            }
        }
        for &node in component {
            member[node] = usize::MAX;
        }
    }
    Walks { reached, value }
}

/// The total reaching each node of `component`, solving `v (I − A) = inflow` over the
/// component's own fractions by Gaussian elimination; `None` for a closed loop.
fn solve(next: &Edges, component: &[usize], member: &[usize], inflow: &[f64]) -> Option<Vec<f64>> {
    let size = component.len();
    // Row j: v_j − Σ_i v_i A[i][j] = inflow_j, and the right-hand side in the last column.
    let mut matrix = vec![vec![0.0f64; size + 1]; size];
    for (i, &node) in component.iter().enumerate() {
        matrix[i][i] += 1.0;
        matrix[i][size] = inflow[node];
        for &(to, fraction) in &next[node] {
            if member[to] != usize::MAX {
                matrix[member[to]][i] -= fraction;
            }
        }
    }
    for column in 0..size {
        let pivot = (column..size)
            .max_by(|&a, &b| matrix[a][column].abs().total_cmp(&matrix[b][column].abs()))
            .expect("a row");
        if matrix[pivot][column].abs() < SINGULAR_BELOW {
            return None;
        }
        matrix.swap(column, pivot);
        let pivot_row = std::mem::take(&mut matrix[column]);
        for (row, cells) in matrix.iter_mut().enumerate() {
            if row == column || cells[column] == 0.0 {
                continue;
            }
            let factor = cells[column] / pivot_row[column];
            for (cell, above) in cells.iter_mut().zip(&pivot_row).skip(column) {
                *cell -= factor * above;
            }
        }
        matrix[column] = pivot_row;
    }
    Some(
        matrix
            .iter()
            .enumerate()
            .map(|(i, row)| (row[size] / row[i]).max(0.0))
            .collect(),
    )
}

/// Passes what entered `component` round it until what circulates is below
/// [`PASSED_ABOVE`] or [`ROUNDS`] have passed: a closed loop never empties, and what is left
/// in it has no owner outside it.
fn pass_round(
    next: &Edges,
    component: &[usize],
    member: &[usize],
    inflow: &[f64],
    value: &mut [f64],
) {
    let mut pending: Vec<f64> = component.iter().map(|&node| inflow[node]).collect();
    for _ in 0..ROUNDS {
        for (at, &node) in component.iter().enumerate() {
            let amount = std::mem::take(&mut pending[at]);
            value[node] += amount;
            for &(to, fraction) in &next[node] {
                if member[to] != usize::MAX {
                    pending[member[to]] += amount * fraction;
                }
            }
        }
        if pending.iter().sum::<f64>() <= PASSED_ABOVE {
            break;
        }
    }
}
