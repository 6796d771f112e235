//! The live register's holdings held in memory, by company and by owner, answering the two
//! reads the ownership graph is made of ([`ReadStore::owners_of`](crate::ReadStore::owners_of)
//! and [`ReadStore::holdings_of`](crate::ReadStore::holdings_of)) exactly as the read model
//! answers them.
//!
//! Each party's profile and each share class is kept once; a holding is two numbers and its
//! classes' counts.

use std::collections::HashMap;

use shareholders_domain::{ClassShares, CompanyProfile, OrgNr, OwnerProfile, OwnerRef, ShareClass};

use crate::HoldingRecord;

/// One owner's holding in a company: indexes into [`Stakes::companies`] and
/// [`Stakes::parties`], and its shares per class (indexes into [`Stakes::classes`]), in the
/// order the read model gave them.
struct Stake {
    company: u32,
    owner: u32,
    classes: Box<[(u32, u64)]>,
}

/// A company whose shares are held, and its holdings (indexes into [`Stakes::stakes`]).
struct Company {
    profile: CompanyProfile,
    registered_shares: u64,
    owners: Vec<u32>,
}

/// A party that holds shares: its profile as its holdings show it, and its holdings (indexes
/// into [`Stakes::stakes`]).
struct Party {
    profile: OwnerProfile,
    holdings: Vec<u32>,
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
    party_index: HashMap<OwnerRef, u32>,
    classes: Vec<ShareClass>,
    class_index: HashMap<ShareClass, u32>,
}

fn index(len: usize) -> u32 {
    u32::try_from(len).expect("fewer than 2^32 companies, parties and classes")
}

impl Stakes {
    /// The holdings held.
    pub(super) fn len(&self) -> usize {
        self.stakes.len() - self.free.len()
    }

    /// Adds a holding read whole from the read model. The company's profile and registered
    /// shares, and the owner's profile, are taken from it: the newest read wins.
    pub(super) fn insert(&mut self, holding: HoldingRecord) {
        let company = self.company(holding.company, holding.company_registered_shares);
        let owner = self.party(holding.owner);
        let classes = holding
            .classes
            .into_iter()
            .map(|class| (self.class(class.share_class), class.shares))
            .collect();
        let stake = Stake {
            company,
            owner,
            classes,
        };
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
        self.companies[company as usize].owners.push(slot);
        self.parties[owner as usize].holdings.push(slot);
    }

    /// Replaces every holding in `company` with `holdings` (all of them in that company, as
    /// the read model holds them now; none when it holds none).
    pub(super) fn replace(&mut self, company: OrgNr, holdings: Vec<HoldingRecord>) {
        if let Some(&index) = self.company_index.get(&company) {
            let owners = std::mem::take(&mut self.companies[index as usize].owners);
            for slot in owners {
                let owner = self.stakes[slot as usize].owner;
                let held = &mut self.parties[owner as usize].holdings;
                if let Some(at) = held.iter().position(|&s| s == slot) {
                    held.swap_remove(at);
                }
                self.stakes[slot as usize].classes = Box::default();
                self.free.push(slot);
            }
        }
        for holding in holdings {
            debug_assert_eq!(holding.company.orgnr, company);
            self.insert(holding);
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
            let Some(&party) = self.party_index.get(owner) else {
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

    fn record(&self, slot: u32) -> HoldingRecord {
        let stake = &self.stakes[slot as usize];
        let company = &self.companies[stake.company as usize];
        HoldingRecord {
            company: company.profile.clone(),
            company_registered_shares: company.registered_shares,
            owner: self.parties[stake.owner as usize].profile.clone(),
            classes: stake
                .classes
                .iter()
                .map(|&(class, shares)| ClassShares {
                    share_class: self.classes[class as usize].clone(),
                    shares,
                })
                .collect(),
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
        self.company_index.insert(profile.orgnr, index);
        self.companies.push(Company {
            profile,
            registered_shares,
            owners: Vec::new(),
        });
        index
    }

    fn party(&mut self, profile: OwnerProfile) -> u32 {
        if let Some(&index) = self.party_index.get(&profile.owner) {
            self.parties[index as usize].profile = profile;
            return index;
        }
        let index = index(self.parties.len());
        self.party_index.insert(profile.owner.clone(), index);
        self.parties.push(Party {
            profile,
            holdings: Vec::new(),
        });
        index
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
