//! An imported year's ownership graph, held in as little memory as the graph's rules need: a
//! year never changes, so its holdings are laid out once, in arrays, and never moved.
//!
//! Every party is a number (a node): the organisations first, by orgnr, then the persons
//! whose id the import derived (32 hexadecimal digits, kept as the 128-bit number they
//! spell), by id, then any other persons, by id. A company's owners are one run of two arrays
//! (each owner's node and its shares over all classes), and a party's holdings one run of
//! a third (the places of its holdings among the owners' runs), so a holding costs 16 bytes
//! and a party its key and two offsets. Names, countries, birth years and share classes are
//! not held: they are the year's read model's, read for the page an answer shows
//! ([`HeldYear`](super::held_year::HeldYear)). A company's own (treasury) shares are not among
//! its owners; they are taken off its outstanding shares.

use std::borrow::Cow;
use std::collections::HashMap;

use shareholders_domain::{OrgNr, OwnerRef, OwnershipNetwork, PersonId, outstanding_shares};

use super::index::index;
use crate::HoldingRecord;

/// A node: an index into the year's parties.
pub(super) type YearNode = u32;

/// A person's id as the import derives it, 32 lowercase hexadecimal digits
/// ([`PersonId::derive`]), as the number it spells; `None` for any other id.
fn derived(id: &PersonId) -> Option<u128> {
    let digits = id.as_str();
    let lower_hex = |b: u8| b.is_ascii_digit() || (b'a'..=b'f').contains(&b);
    if digits.len() != 32 || !digits.bytes().all(lower_hex) {
        return None;
    }
    u128::from_str_radix(digits, 16).ok()
}

/// The id a derived number spells.
fn derived_id(number: u128) -> PersonId {
    PersonId::parse(&format!("{number:032x}")).expect("32 hexadecimal digits are a person id")
}

/// A party while the graph is built.
#[derive(Clone, Copy)]
enum Key {
    Organisation(OrgNr),
    /// A derived person id's number, as two halves (so a holding being built takes 40 bytes,
    /// not 48).
    Derived([u64; 2]),
    /// An index into [`YearGraphBuilder::given`].
    Given(u32),
}

/// What a company's holdings say of it.
#[derive(Clone, Copy, Default)]
struct Issued {
    declared: Option<shareholders_domain::ShareCount>,
    registered: u64,
    treasury: u64,
}

/// A year's holdings being read, in any order, into a [`YearGraph`].
#[derive(Default)]
pub(super) struct YearGraphBuilder {
    holdings: Vec<(OrgNr, Key, u64)>,
    companies: HashMap<OrgNr, Issued>,
    /// The persons with other ids, each with the number it was read as.
    given: HashMap<PersonId, u32>,
}

impl YearGraphBuilder {
    /// Adds a holding read whole from the year's read model.
    pub(super) fn push(&mut self, holding: &HoldingRecord) {
        let company = holding.company.orgnr;
        let shares = holding.shares();
        let issued = self.companies.entry(company).or_default();
        issued.declared = holding.company.total_shares;
        issued.registered = holding.company_registered_shares;
        let owner = match &holding.owner.owner {
            OwnerRef::Organisation(orgnr) if *orgnr == company => {
                issued.treasury = issued.treasury.saturating_add(shares);
                return;
            }
            OwnerRef::Organisation(orgnr) => Key::Organisation(*orgnr),
            OwnerRef::Person(id) => match derived(id) {
                #[allow(clippy::cast_possible_truncation)]
                Some(number) => Key::Derived([(number >> 64) as u64, number as u64]),
                None => {
                    let next = index(self.given.len());
                    Key::Given(*self.given.entry(id.clone()).or_insert(next))
                }
            },
        };
        self.holdings.push((company, owner, shares));
    }

    /// The holdings read.
    pub(super) fn len(&self) -> usize {
        self.holdings.len()
    }

    /// The graph of every holding added.
    pub(super) fn build(self) -> YearGraph {
        let Self {
            holdings,
            companies,
            given,
        } = self;
        let mut organisations: Vec<OrgNr> = companies.keys().copied().collect();
        let mut persons: Vec<u128> = Vec::new();
        for (_, owner, _) in &holdings {
            match *owner {
                Key::Organisation(orgnr) => organisations.push(orgnr),
                Key::Derived([high, low]) => persons.push(u128::from(high) << 64 | u128::from(low)),
                Key::Given(_) => {}
            }
        }
        organisations.sort_unstable();
        organisations.dedup();
        persons.sort_unstable();
        persons.dedup();
        // The given ids in order, and where each one read went.
        let mut given: Vec<(PersonId, u32)> = given.into_iter().collect();
        given.sort_unstable();
        let first_given = organisations.len() + persons.len();
        let mut given_node = vec![0; given.len()];
        for (place, &(_, read)) in given.iter().enumerate() {
            given_node[read as usize] = index(first_given + place);
        }
        let given: Box<[PersonId]> = given.into_iter().map(|(id, _)| id).collect();
        let nodes = first_given + given.len();

        let node_of = |key: Key| -> u32 {
            match key {
                Key::Organisation(orgnr) => index(
                    organisations
                        .binary_search(&orgnr)
                        .expect("every owning organisation is numbered"),
                ),
                Key::Derived([high, low]) => {
                    let number = u128::from(high) << 64 | u128::from(low);
                    let at = persons
                        .binary_search(&number)
                        .expect("every derived person is numbered");
                    index(organisations.len() + at)
                }
                Key::Given(read) => given_node[read as usize],
            }
        };
        let edges: Vec<(u32, u32, u64)> = holdings
            .into_iter()
            .map(|(company, owner, shares)| {
                (node_of(Key::Organisation(company)), node_of(owner), shares)
            })
            .collect();

        // A company's owners, and a party's holdings, are runs placed by counting.
        let owners_start = starts(organisations.len(), edges.iter().map(|e| e.0));
        let mut owner = vec![0; edges.len()];
        let mut shares = vec![0; edges.len()];
        let mut next: Vec<u32> = owners_start[..organisations.len()].to_vec();
        for &(company, by, count) in &edges {
            let at = &mut next[company as usize];
            owner[*at as usize] = by;
            shares[*at as usize] = count;
            *at += 1;
        }
        drop(edges);
        let holdings_start = starts(nodes, owner.iter().copied());
        let mut holding = vec![0; owner.len()];
        let mut next: Vec<u32> = holdings_start[..nodes].to_vec();
        for (slot, &by) in owner.iter().enumerate() {
            let at = &mut next[by as usize];
            holding[*at as usize] = index(slot);
            *at += 1;
        }
        let outstanding = organisations
            .iter()
            .map(|orgnr| {
                companies.get(orgnr).map_or(0, |issued| {
                    outstanding_shares(issued.declared, issued.registered, issued.treasury)
                })
            })
            .collect();
        YearGraph {
            organisations: organisations.into_boxed_slice(),
            persons: persons.into_boxed_slice(),
            given,
            owners_start,
            owner: owner.into_boxed_slice(),
            shares: shares.into_boxed_slice(),
            holdings_start,
            holding: holding.into_boxed_slice(),
            outstanding,
        }
    }
}

/// Where each of `len` runs starts in a list of `keys`' runs, and where the last ends.
fn starts(len: usize, keys: impl Iterator<Item = u32>) -> Box<[u32]> {
    let mut starts = vec![0u32; len + 1];
    for key in keys {
        starts[key as usize + 1] += 1;
    }
    for at in 1..starts.len() {
        starts[at] += starts[at - 1];
    }
    starts.into_boxed_slice()
}

/// An imported year's ownership graph (see the module).
pub(super) struct YearGraph {
    /// The organisations' nodes, by orgnr: companies whose shares are held and organisations
    /// that hold shares.
    organisations: Box<[OrgNr]>,
    /// The persons with derived ids, after the organisations, by id.
    persons: Box<[u128]>,
    /// The persons with other ids, after those, by id.
    given: Box<[PersonId]>,
    /// Organisation `n`'s owners are `owner[owners_start[n]..owners_start[n + 1]]`, with their
    /// `shares` at the same places.
    owners_start: Box<[u32]>,
    owner: Box<[YearNode]>,
    shares: Box<[u64]>,
    /// Node `n`'s holdings are at the places `holding[holdings_start[n]..holdings_start[n +
    /// 1]]` of `owner` and `shares`.
    holdings_start: Box<[u32]>,
    holding: Box<[u32]>,
    /// Each organisation's outstanding shares (0 for one whose shares are not held).
    outstanding: Box<[u64]>,
}

impl std::fmt::Debug for YearGraph {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("YearGraph")
            .field("holdings", &self.len())
            .field("bytes", &self.bytes())
            .finish_non_exhaustive()
    }
}

impl YearGraph {
    /// The holdings held (treasury shares not counted).
    pub(super) fn len(&self) -> usize {
        self.owner.len()
    }

    /// The memory it takes, in bytes.
    pub(super) fn bytes(&self) -> usize {
        use std::mem::size_of_val;
        size_of_val(&*self.organisations)
            + size_of_val(&*self.persons)
            + size_of_val(&*self.given)
            + self.given.iter().map(|id| id.as_str().len()).sum::<usize>()
            + size_of_val(&*self.owners_start)
            + size_of_val(&*self.owner)
            + size_of_val(&*self.shares)
            + size_of_val(&*self.holdings_start)
            + size_of_val(&*self.holding)
            + size_of_val(&*self.outstanding)
    }

    /// The node of `party`, when it holds shares or its shares are held.
    pub(super) fn node(&self, party: &OwnerRef) -> Option<YearNode> {
        let organisations = self.organisations.len();
        match party {
            OwnerRef::Organisation(orgnr) => self.organisations.binary_search(orgnr).ok(),
            OwnerRef::Person(id) => match derived(id) {
                Some(number) => self
                    .persons
                    .binary_search(&number)
                    .ok()
                    .map(|at| organisations + at),
                None => self
                    .given
                    .binary_search(id)
                    .ok()
                    .map(|at| organisations + self.persons.len() + at),
            },
        }
        .map(index)
    }

    /// The organisation whose owners' run holds place `slot`.
    fn company_of(&self, slot: u32) -> YearNode {
        index(self.owners_start.partition_point(|&start| start <= slot) - 1)
    }

    /// The places of the node's owners, empty for a person.
    fn owners_run(&self, node: YearNode) -> std::ops::Range<usize> {
        let node = node as usize;
        if node < self.organisations.len() {
            self.owners_start[node] as usize..self.owners_start[node + 1] as usize
        } else {
            0..0
        }
    }

    fn holdings_run(&self, node: YearNode) -> &[u32] {
        let node = node as usize;
        &self.holding[self.holdings_start[node] as usize..self.holdings_start[node + 1] as usize]
    }
}

impl OwnershipNetwork for YearGraph {
    type Node = YearNode;

    fn owners(&self, company: YearNode) -> impl Iterator<Item = (YearNode, u64)> + '_ {
        self.owners_run(company)
            .map(|slot| (self.owner[slot], self.shares[slot]))
    }

    fn holdings(&self, party: YearNode) -> impl Iterator<Item = (YearNode, u64)> + '_ {
        self.holdings_run(party)
            .iter()
            .map(|&slot| (self.company_of(slot), self.shares[slot as usize]))
    }

    fn outstanding(&self, company: YearNode) -> u64 {
        self.outstanding.get(company as usize).copied().unwrap_or(0)
    }

    fn has_owners(&self, node: YearNode) -> bool {
        !self.owners_run(node).is_empty()
    }

    fn holds(&self, node: YearNode) -> bool {
        !self.holdings_run(node).is_empty()
    }

    fn party(&self, node: YearNode) -> Cow<'_, OwnerRef> {
        let node = node as usize;
        let organisations = self.organisations.len();
        let persons = organisations + self.persons.len();
        Cow::Owned(if node < organisations {
            OwnerRef::Organisation(self.organisations[node])
        } else if node < persons {
            OwnerRef::Person(derived_id(self.persons[node - organisations]))
        } else {
            OwnerRef::Person(self.given[node - persons].clone())
        })
    }
}
