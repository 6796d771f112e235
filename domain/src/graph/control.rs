//! Control: a party's controlled stake in each company, to a fixpoint.

use super::flow::Edges;
use super::{CONTROL_ABOVE, exceeds};

/// The controlled stakes of one party at a time, over the numbered nodes of a question's
/// walks (see [`super::flow::Walks`]), reusing its space from one party to the next.
pub(super) struct Control {
    stake: Vec<f64>,
    controlled: Vec<bool>,
    touched: Vec<usize>,
    work: Vec<usize>,
}

impl Control {
    pub(super) fn new(nodes: usize) -> Self {
        Self {
            stake: vec![0.0; nodes],
            controlled: vec![false; nodes],
            touched: Vec::new(),
            work: Vec::new(),
        }
    }

    /// `party`'s controlled stake in every company `held` shows it holds shares in, directly
    /// or through organisations it controls: its own direct fraction plus the direct fractions
    /// of every organisation it controls. A company whose stake exceeds 50 % is controlled, and
    /// its own holdings then count too. Stakes only grow, so each controlled company is visited
    /// once. `held` gives each node's holdings and its direct fractions in them: for a question
    /// about one company, only those among the companies above it (a stake anywhere else never
    /// reaches it).
    ///
    /// Returns the companies reached and their stakes, until the next party's.
    pub(super) fn stakes(
        &mut self,
        held: &Edges,
        party: usize,
    ) -> impl Iterator<Item = (usize, f64)> + '_ {
        for &company in &self.touched {
            self.stake[company] = 0.0;
            self.controlled[company] = false;
        }
        self.touched.clear();
        self.work.push(party);
        while let Some(node) = self.work.pop() {
            for &(company, fraction) in &held[node] {
                if company == party {
                    continue;
                }
                if self.stake[company] == 0.0 && !self.controlled[company] {
                    self.touched.push(company);
                }
                self.stake[company] += fraction;
                if exceeds(self.stake[company], CONTROL_ABOVE) && !self.controlled[company] {
                    self.controlled[company] = true;
                    self.work.push(company);
                }
            }
        }
        self.touched
            .iter()
            .map(|&company| (company, self.stake[company]))
    }
}
