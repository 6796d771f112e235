//! What the graph's rules read: parties, their stakes, and each company's outstanding shares.
//! The domain's own [`OwnershipGraph`](super::OwnershipGraph) is one such network; a service
//! that holds the whole register in its own shape is another, and the rules run on it as it
//! is, without copying the part a question needs.

use std::borrow::Cow;
use std::fmt::Debug;
use std::hash::Hash;

use crate::{OwnerRef, ShareCount, company_total};

/// Parties and their stakes in companies, as the graph's rules read them.
pub trait OwnershipNetwork {
    /// A party (a person or an organisation) of the network.
    type Node: Copy + Eq + Hash + Debug;

    /// The company's owners and their shares in it over all classes. The company's own
    /// (treasury) shares are not among them.
    fn owners(&self, company: Self::Node) -> impl Iterator<Item = (Self::Node, u64)> + '_;

    /// The companies the party holds shares in, and how many over all classes. A company's
    /// own (treasury) shares are not among them.
    fn holdings(&self, party: Self::Node) -> impl Iterator<Item = (Self::Node, u64)> + '_;

    /// The company's outstanding shares ([`outstanding_shares`]).
    fn outstanding(&self, company: Self::Node) -> u64;

    /// Whether the register shows an owner of `node`.
    fn has_owners(&self, node: Self::Node) -> bool {
        self.owners(node).next().is_some()
    }

    /// Whether `node` holds shares in a company.
    fn holds(&self, node: Self::Node) -> bool {
        self.holdings(node).next().is_some()
    }

    /// Who `node` is.
    fn party(&self, node: Self::Node) -> Cow<'_, OwnerRef>;
}

/// A company's outstanding shares: those it has issued (its declared total, or the sum
/// registered when none is declared, and never less than what is registered) less its
/// treasury shares, which carry no votes and no dividend.
#[must_use]
pub fn outstanding_shares(declared: Option<ShareCount>, registered: u64, treasury: u64) -> u64 {
    company_total(declared, registered)
        .max(registered)
        .saturating_sub(treasury)
}

/// `shares` of `outstanding`, at most 1; 0 of nothing.
pub(super) fn ratio(shares: u64, outstanding: u64) -> f64 {
    if outstanding == 0 {
        return 0.0;
    }
    // Share counts stay far below 2^53 in any register, so the quotient is exact to an ulp.
    #[allow(clippy::cast_precision_loss)]
    let fraction = shares as f64 / outstanding as f64;
    fraction.min(1.0)
}

/// The company's owners and their direct fractions.
pub(super) fn owner_fractions<N: OwnershipNetwork>(
    network: &N,
    company: N::Node,
) -> impl Iterator<Item = (N::Node, f64)> + '_ {
    let outstanding = network.outstanding(company);
    network
        .owners(company)
        .map(move |(owner, shares)| (owner, ratio(shares, outstanding)))
}

/// The party's holdings and its direct fractions in them.
pub(super) fn holding_fractions<N: OwnershipNetwork>(
    network: &N,
    party: N::Node,
) -> impl Iterator<Item = (N::Node, f64)> + '_ {
    network
        .holdings(party)
        .map(move |(company, shares)| (company, ratio(shares, network.outstanding(company))))
}
