//! The live register's holdings held in memory, by company and by owner, answering the two
//! reads the ownership graph is made of ([`ReadStore::owners_of`](crate::ReadStore::owners_of)
//! and [`ReadStore::holdings_of`](crate::ReadStore::holdings_of)) exactly as the read model
//! answers them.
//!
//! It also answers the pages of a company's owners and of an owner's holdings
//! ([`ReadStore::owners`](crate::ReadStore::owners) and
//! [`ReadStore::holdings`](crate::ReadStore::holdings)) in the read model's order, in which
//! each company's and each party's holdings are kept, so a page costs what it shows.
//!
//! Each party's profile and each share class is kept once; a holding is four numbers (its
//! company, its owner, its shares and its class), and a holding of several classes also has
//! its classes' counts beside it.
//!
//! It is also an [`OwnershipNetwork`], so the domain's graph rules (ultimate and beneficial
//! owners) run on it as it is: a party is its index, and an organisation that is both held and
//! a holder is one party.

use std::borrow::Cow;
use std::collections::HashMap;
use std::hash::{BuildHasher as _, RandomState};

use hashbrown::HashTable;

use shareholders_domain::{
    ClassShares, CompanyProfile, OrgNr, OwnerProfile, OwnerRef, OwnershipNetwork, ShareClass,
    outstanding_shares,
};

use crate::service::ShownNetwork;
use crate::{HoldingRecord, PageRequest};

/// [`Stake::class`] of a holding of several classes (or none), kept in [`Stakes::several`].
const SEVERAL: u32 = u32::MAX;

/// One owner's holding in a company: indexes into [`Stakes::companies`] and
/// [`Stakes::parties`], its shares over all classes, and its class (an index into
/// [`Stakes::classes`]) when it has one, as nearly every holding has; the shares per class of
/// the others are in [`Stakes::several`], in the order the read model gave them. 24 bytes a
/// holding, with nothing on the heap.
struct Stake {
    company: u32,
    owner: u32,
    shares: u64,
    class: u32,
}

impl Stake {
    /// Its shares over all classes.
    fn shares(&self) -> u64 {
        self.shares
    }
}

/// A company whose shares are held, and its holdings (indexes into [`Stakes::stakes`]) in the
/// order of its owners' pages.
struct Company {
    profile: CompanyProfile,
    registered_shares: u64,
    owners: Vec<u32>,
    /// Its own shares among `owners`.
    treasury: u64,
    /// The company as a party, when it holds shares too.
    as_party: Option<u32>,
}

/// A party that holds shares: its profile as its holdings show it, and its holdings (indexes
/// into [`Stakes::stakes`]) in the order of its holdings' pages.
struct Party {
    profile: OwnerProfile,
    holdings: Vec<u32>,
    /// The organisation as a company whose shares are held, when they are.
    as_company: Option<u32>,
}

/// A party of the held register's [`OwnershipNetwork`]: every party that holds shares is one
/// of [`Stakes::parties`]; a company that holds none is one of [`Stakes::companies`].
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub(super) enum Node {
    Party(u32),
    Company(u32),
}

/// Every holding of a register, by company and by owner.
#[derive(Default)]
pub(super) struct Stakes {
    stakes: Vec<Stake>,
    /// Slots of `stakes` whose holding was replaced, to be reused.
    free: Vec<u32>,
    companies: Vec<Company>,
    company_index: HashMap<OrgNr, u32>,
    parties: Vec<Party>,
    /// `parties` by owner: each entry is an index into them, hashed by its owner with
    /// `hasher`, so each owner is kept once, in its profile.
    party_index: HashTable<u32>,
    hasher: RandomState,
    classes: Vec<ShareClass>,
    class_index: HashMap<ShareClass, u32>,
    /// The shares per class of each stake of several classes, by its slot.
    several: HashMap<u32, Box<[(u32, u64)]>>,
}

/// `len` as an index of the held register's lists.
pub(super) fn index(len: usize) -> u32 {
    u32::try_from(len).expect("fewer than 2^32 companies, parties, holdings and classes")
}

impl Stakes {
    /// The holdings held.
    pub(super) fn len(&self) -> usize {
        self.stakes.len() - self.free.len()
    }

    /// Every holding of `holdings`, each read whole from the read model.
    #[cfg(test)]
    pub(super) fn of(holdings: impl IntoIterator<Item = HoldingRecord>) -> Self {
        let mut stakes = Self::default();
        for holding in holdings {
            stakes.push(holding);
        }
        stakes.order();
        stakes
    }

    /// Adds a holding read whole from the read model, at the end of its company's and its
    /// owner's lists: [`order`](Self::order) puts them in order once the last is added. The
    /// company's profile and registered shares, and the owner's profile, are taken from it:
    /// the newest read wins.
    pub(super) fn push(&mut self, holding: HoldingRecord) -> u32 {
        let company = self.company(holding.company, holding.company_registered_shares);
        let owner = self.party(holding.owner);
        let classes: Vec<(u32, u64)> = holding
            .classes
            .into_iter()
            .map(|class| (self.class(class.share_class), class.shares))
            .collect();
        let stake = Stake {
            company,
            owner,
            shares: classes.iter().map(|&(_, shares)| shares).sum(),
            class: match classes.as_slice() {
                &[(class, _)] => class,
                _ => SEVERAL,
            },
        };
        let several = stake.class == SEVERAL;
        if self.parties[owner as usize].as_company == Some(company) {
            let held = &mut self.companies[company as usize];
            held.treasury = held.treasury.saturating_add(stake.shares());
        }
        let slot = match self.free.pop() {
            Some(slot) => {
                self.stakes[slot as usize] = stake;
                slot
            }
            None => {
                self.stakes.push(stake);
                index(self.stakes.len() - 1)
            }
        };
        if several {
            self.several.insert(slot, classes.into_boxed_slice());
        }
        self.companies[company as usize].owners.push(slot);
        self.parties[owner as usize].holdings.push(slot);
        slot
    }

    /// Puts every company's and every party's holdings in the order of their pages.
    /// The room the lists grew into while they were added to is given back.
    pub(super) fn order(&mut self) {
        for company in 0..self.companies.len() {
            self.order_owners(company);
        }
        for party in 0..self.parties.len() {
            let mut holdings = std::mem::take(&mut self.parties[party].holdings);
            holdings.sort_unstable_by(|&a, &b| self.holding_key(a).cmp(&self.holding_key(b)));
            self.parties[party].holdings = holdings;
        }
        self.stakes.shrink_to_fit();
        self.companies.shrink_to_fit();
        self.parties.shrink_to_fit();
    }

    /// Puts the company's owners in the order of their pages.
    fn order_owners(&mut self, company: usize) {
        let mut owners = std::mem::take(&mut self.companies[company].owners);
        owners.sort_unstable_by(|&a, &b| self.owner_key(a).cmp(&self.owner_key(b)));
        self.companies[company].owners = owners;
    }

    /// Where a stake comes among its company's owners: by shares (largest first), then by
    /// owner kind and id, as the read model orders them.
    fn owner_key(&self, slot: u32) -> (std::cmp::Reverse<u64>, &'static str, &str) {
        let stake = &self.stakes[slot as usize];
        let owner = &self.parties[stake.owner as usize].profile.owner;
        (
            std::cmp::Reverse(stake.shares()),
            owner.kind().as_str(),
            owner.id(),
        )
    }

    /// Where a stake comes among its owner's holdings: by shares (largest first), then by
    /// orgnr, as the read model orders them.
    fn holding_key(&self, slot: u32) -> (std::cmp::Reverse<u64>, &str) {
        let stake = &self.stakes[slot as usize];
        let company = &self.companies[stake.company as usize].profile.orgnr;
        (std::cmp::Reverse(stake.shares()), company.as_str())
    }

    /// Replaces every holding in `company` with `holdings` (all of them in that company, as
    /// the read model holds them now; none when it holds none).
    pub(super) fn replace(&mut self, company: OrgNr, holdings: Vec<HoldingRecord>) {
        if let Some(&index) = self.company_index.get(&company) {
            self.companies[index as usize].treasury = 0;
            let owners = std::mem::take(&mut self.companies[index as usize].owners);
            for slot in owners {
                let owner = self.stakes[slot as usize].owner;
                let held = &mut self.parties[owner as usize].holdings;
                if let Some(at) = held.iter().position(|&s| s == slot) {
                    held.remove(at);
                }
                self.several.remove(&slot);
                self.free.push(slot);
            }
        }
        for holding in holdings {
            debug_assert_eq!(holding.company.orgnr, company);
            let slot = self.push(holding);
            // Moved from the end of its owner's holdings to its place in them.
            let owner = self.stakes[slot as usize].owner as usize;
            let mut held = std::mem::take(&mut self.parties[owner].holdings);
            held.pop();
            let at = held.partition_point(|&s| self.holding_key(s) < self.holding_key(slot));
            held.insert(at, slot);
            self.parties[owner].holdings = held;
        }
        if let Some(&index) = self.company_index.get(&company) {
            self.order_owners(index as usize);
        }
    }

    /// Every holding in any of `companies`.
    pub(super) fn owners_of(&self, companies: &[OrgNr]) -> Vec<HoldingRecord> {
        let mut found = Vec::new();
        for orgnr in companies {
            if let Some(&index) = self.company_index.get(orgnr) {
                let company = &self.companies[index as usize];
                found.extend(company.owners.iter().map(|&slot| self.record(slot)));
            }
        }
        found
    }

    /// Every holding of any of `owners`.
    pub(super) fn holdings_of(&self, owners: &[OwnerRef]) -> Vec<HoldingRecord> {
        let mut found = Vec::new();
        for owner in owners {
            let Some(party) = self.party_of(owner) else {
                continue;
            };
            found.extend(
                self.parties[party as usize]
                    .holdings
                    .iter()
                    .map(|&slot| self.record(slot)),
            );
        }
        found
    }

    /// A page of the company's owners: by shares (largest first), then by owner kind and id,
    /// as the read model orders them.
    pub(super) fn owners(&self, company: OrgNr, page: PageRequest) -> Vec<HoldingRecord> {
        let Some(&index) = self.company_index.get(&company) else {
            return Vec::new();
        };
        self.page(&self.companies[index as usize].owners, page)
    }

    /// A page of what the owner holds: by shares (largest first), then by orgnr, as the read
    /// model orders them.
    pub(super) fn holdings(&self, owner: &OwnerRef, page: PageRequest) -> Vec<HoldingRecord> {
        let Some(party) = self.party_of(owner) else {
            return Vec::new();
        };
        self.page(&self.parties[party as usize].holdings, page)
    }

    fn page(&self, slots: &[u32], page: PageRequest) -> Vec<HoldingRecord> {
        let offset = usize::try_from(page.offset()).unwrap_or(usize::MAX);
        slots
            .iter()
            .skip(offset)
            .take(page.size() as usize)
            .map(|&slot| self.record(slot))
            .collect()
    }

    fn record(&self, slot: u32) -> HoldingRecord {
        let stake = &self.stakes[slot as usize];
        let company = &self.companies[stake.company as usize];
        HoldingRecord {
            company: company.profile.clone(),
            company_registered_shares: company.registered_shares,
            owner: self.parties[stake.owner as usize].profile.clone(),
            classes: match stake.class {
                SEVERAL => self.several.get(&slot).map_or_else(Vec::new, |classes| {
                    classes
                        .iter()
                        .map(|&(class, shares)| self.class_shares(class, shares))
                        .collect()
                }),
                class => vec![self.class_shares(class, stake.shares)],
            },
        }
    }

    fn class_shares(&self, class: u32, shares: u64) -> ClassShares {
        ClassShares {
            share_class: self.classes[class as usize].clone(),
            shares,
        }
    }

    fn company(&mut self, profile: CompanyProfile, registered_shares: u64) -> u32 {
        if let Some(&index) = self.company_index.get(&profile.orgnr) {
            let company = &mut self.companies[index as usize];
            company.registered_shares = registered_shares;
            company.profile = profile;
            return index;
        }
        let index = index(self.companies.len());
        let as_party = self.party_of(&OwnerRef::Organisation(profile.orgnr));
        if let Some(party) = as_party {
            self.parties[party as usize].as_company = Some(index);
        }
        self.company_index.insert(profile.orgnr, index);
        self.companies.push(Company {
            profile,
            registered_shares,
            owners: Vec::new(),
            treasury: 0,
            as_party,
        });
        index
    }

    fn party(&mut self, profile: OwnerProfile) -> u32 {
        if let Some(index) = self.party_of(&profile.owner) {
            self.parties[index as usize].profile = profile;
            return index;
        }
        let index = index(self.parties.len());
        let as_company = match &profile.owner {
            OwnerRef::Organisation(orgnr) => self.company_index.get(orgnr).copied(),
            OwnerRef::Person(_) => None,
        };
        if let Some(company) = as_company {
            self.companies[company as usize].as_party = Some(index);
        }
        let hash = self.hasher.hash_one(&profile.owner);
        self.parties.push(Party {
            profile,
            holdings: Vec::new(),
            as_company,
        });
        let (parties, hasher) = (&self.parties, &self.hasher);
        self.party_index.insert_unique(hash, index, |&party| {
            hasher.hash_one(&parties[party as usize].profile.owner)
        });
        index
    }

    /// The index of `owner` among the parties, when it holds shares.
    fn party_of(&self, owner: &OwnerRef) -> Option<u32> {
        let hash = self.hasher.hash_one(owner);
        self.party_index
            .find(hash, |&party| {
                self.parties[party as usize].profile.owner == *owner
            })
            .copied()
    }

    fn class(&mut self, class: ShareClass) -> u32 {
        if let Some(&index) = self.class_index.get(&class) {
            return index;
        }
        let index = index(self.classes.len());
        self.class_index.insert(class.clone(), index);
        self.classes.push(class);
        index
    }
}

impl Stakes {
    /// The node of the company at `index`: its party when it holds shares too.
    fn company_node(&self, index: u32) -> Node {
        self.companies[index as usize]
            .as_party
            .map_or(Node::Company(index), Node::Party)
    }

    /// The node's index among the companies, when its shares are held.
    fn as_company(&self, node: Node) -> Option<u32> {
        match node {
            Node::Company(index) => Some(index),
            Node::Party(index) => self.parties[index as usize].as_company,
        }
    }

    /// The node's index among the parties, when it holds shares.
    fn as_party(&self, node: Node) -> Option<u32> {
        match node {
            Node::Party(index) => Some(index),
            Node::Company(index) => self.companies[index as usize].as_party,
        }
    }
}

impl OwnershipNetwork for Stakes {
    type Node = Node;

    fn owners(&self, company: Node) -> impl Iterator<Item = (Node, u64)> + '_ {
        let index = self.as_company(company);
        let slots = index.map_or(&[][..], |index| &self.companies[index as usize].owners[..]);
        slots.iter().filter_map(move |&slot| {
            let stake = &self.stakes[slot as usize];
            let owner = &self.parties[stake.owner as usize];
            // A company's own shares are treasury shares.
            (owner.as_company != index).then(|| (Node::Party(stake.owner), stake.shares()))
        })
    }

    fn holdings(&self, party: Node) -> impl Iterator<Item = (Node, u64)> + '_ {
        let index = self.as_party(party);
        let slots = index.map_or(&[][..], |index| &self.parties[index as usize].holdings[..]);
        slots.iter().filter_map(move |&slot| {
            let stake = &self.stakes[slot as usize];
            let company = self.company_node(stake.company);
            (company != party).then(|| (company, stake.shares()))
        })
    }

    fn outstanding(&self, company: Node) -> u64 {
        self.as_company(company).map_or(0, |index| {
            let company = &self.companies[index as usize];
            outstanding_shares(
                company.profile.total_shares,
                company.registered_shares,
                company.treasury,
            )
        })
    }

    fn party(&self, node: Node) -> Cow<'_, OwnerRef> {
        match node {
            Node::Party(index) => Cow::Borrowed(&self.parties[index as usize].profile.owner),
            Node::Company(index) => Cow::Owned(OwnerRef::Organisation(
                self.companies[index as usize].profile.orgnr,
            )),
        }
    }
}

impl ShownNetwork for Stakes {
    fn node(&self, party: &OwnerRef) -> Option<Node> {
        if let Some(index) = self.party_of(party) {
            return Some(Node::Party(index));
        }
        match party {
            OwnerRef::Organisation(orgnr) => {
                self.company_index.get(orgnr).map(|&i| Node::Company(i))
            }
            OwnerRef::Person(_) => None,
        }
    }

    fn profile(&self, node: Node) -> Option<OwnerProfile> {
        match node {
            Node::Party(index) => Some(self.parties[index as usize].profile.clone()),
            // A company that holds no shares is never an owner.
            Node::Company(_) => None,
        }
    }

    fn company(&self, node: Node) -> Option<CompanyProfile> {
        self.as_company(node)
            .map(|index| self.companies[index as usize].profile.clone())
    }
}
