//! The held register kept current change by change gives the answers a register computed from
//! scratch gives: after any sequence of purchases and replaced companies, every company's
//! ultimate owners and every party's ultimate holdings on the held index equal the domain's
//! [`OwnershipGraph`] built anew from the same holdings, and every page equals a held
//! register loaded whole. A year's graph laid out once from the same holdings gives the same
//! owners, holdings and chains.

use std::collections::BTreeMap;

use proptest::prelude::*;
use shareholders_domain::{
    Above, Below, ClassShares, CompanyProfile, Country, Name, OrgNr, OwnerProfile, OwnerRef,
    OwnershipGraph, OwnershipNetwork, ShareCount,
};

use super::super::frozen::{YearGraph, YearGraphBuilder};
use super::super::index::{Node, Stakes};
use crate::service::ShownNetwork;
use crate::testkit::{class, org_ref, orgnr, person_ref};
use crate::{HoldingRecord, PageRequest};

/// Companies 0..COMPANIES are organisations that are held and may hold; the parties after
/// them are persons.
const COMPANIES: usize = 6;
const PERSONS: usize = 4;
const CLASSES: [&str; 2] = ["A-aksjer", "B-aksjer"];

fn company_orgnr(company: usize) -> OrgNr {
    orgnr(u32::try_from(company).expect("few") + 1)
}

/// Half the persons have ids an import derives (32 hexadecimal digits), half ids given
/// through the API.
fn owner_ref(party: usize) -> OwnerRef {
    if party < COMPANIES {
        org_ref(company_orgnr(party))
    } else if party < COMPANIES + PERSONS / 2 {
        person_ref(&format!("p{}", party - COMPANIES))
    } else {
        person_ref(&format!("{:032x}", 0xfeed_0000_u128 << 64 | party as u128))
    }
}

/// What changes the live register.
#[derive(Clone, Debug)]
enum Change {
    /// `owner` (a party) buys `shares` of share class `class` in `company`; the company may be
    /// its own owner (treasury shares).
    Purchase {
        company: usize,
        owner: usize,
        class: usize,
        shares: u64,
    },
    /// The company's holdings become `owners` (none: every owner leaves), and its declared
    /// total the registered shares plus `undeclared`, or none: as an import moving the live
    /// register replaces it.
    Replace {
        company: usize,
        owners: Vec<(usize, usize, u64)>,
        undeclared: Option<u64>,
    },
}

/// A company's holdings: shares by (owner, class), and what its declared total adds to the
/// registered shares (`None`: no declared total).
#[derive(Clone, Default, Debug)]
struct Company {
    shares: BTreeMap<(usize, usize), u64>,
    undeclared: Option<u64>,
}

/// The whole register, as the read model holds it after the same changes.
#[derive(Clone, Default, Debug)]
struct Register {
    companies: BTreeMap<usize, Company>,
}

impl Register {
    fn apply(&mut self, change: &Change) -> usize {
        match change {
            Change::Purchase {
                company,
                owner,
                class,
                shares,
            } => {
                let held = self.companies.entry(*company).or_default();
                *held.shares.entry((*owner, *class)).or_default() += shares;
                *company
            }
            Change::Replace {
                company,
                owners,
                undeclared,
            } => {
                let mut shares = BTreeMap::new();
                for &(owner, class, count) in owners {
                    *shares.entry((owner, class)).or_default() += count;
                }
                self.companies.insert(
                    *company,
                    Company {
                        shares,
                        undeclared: *undeclared,
                    },
                );
                *company
            }
        }
    }

    /// The company's holdings as the read model answers them: one per owner, its classes.
    fn holdings(&self, company: usize) -> Vec<HoldingRecord> {
        let Some(held) = self.companies.get(&company) else {
            return Vec::new();
        };
        let registered: u64 = held.shares.values().sum();
        let profile = CompanyProfile {
            orgnr: company_orgnr(company),
            name: Name::parse(&format!("COMPANY {company} AS")).expect("a name"),
            total_shares: held
                .undeclared
                .map(|more| ShareCount::new(registered + more).expect("positive")),
        };
        let mut by_owner: BTreeMap<usize, Vec<ClassShares>> = BTreeMap::new();
        for (&(owner, share_class), &shares) in &held.shares {
            by_owner.entry(owner).or_default().push(ClassShares {
                share_class: class(CLASSES[share_class]),
                shares,
            });
        }
        by_owner
            .into_iter()
            .map(|(owner, classes)| HoldingRecord {
                company: profile.clone(),
                company_registered_shares: registered,
                owner: OwnerProfile {
                    name: Name::parse(&format!("OWNER {owner}")).expect("a name"),
                    owner: owner_ref(owner),
                    country: Country::NORWAY,
                    birth_year: None,
                },
                classes,
            })
            .collect()
    }

    fn all(&self) -> Vec<HoldingRecord> {
        self.companies
            .keys()
            .flat_map(|&company| self.holdings(company))
            .collect()
    }

    /// The domain's graph of the register, built from scratch.
    fn graph(&self) -> OwnershipGraph {
        let mut graph = OwnershipGraph::new();
        for holding in self.all() {
            let company = holding.company.orgnr;
            graph.add_company(
                company,
                holding.company.total_shares,
                holding.company_registered_shares,
            );
            let shares = holding.classes.iter().map(|class| class.shares).sum();
            graph.add_stake(&holding.owner.owner, company, shares);
        }
        graph
    }
}

fn change() -> impl Strategy<Value = Change> {
    let parties = COMPANIES + PERSONS;
    let classes = CLASSES.len();
    prop_oneof![
        4 => (0..COMPANIES, 0..parties, 0..classes, 1..300_u64).prop_map(
            |(company, owner, class, shares)| Change::Purchase { company, owner, class, shares }
        ),
        1 => (
            0..COMPANIES,
            proptest::collection::vec((0..parties, 0..classes, 1..300_u64), 0..5),
            proptest::option::of(1..500_u64),
        )
            .prop_map(|(company, owners, undeclared)| Change::Replace {
                company,
                owners,
                undeclared,
            }),
    ]
}

/// Equal up to the rounding of a different order of additions.
fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

fn node(stakes: &Stakes, party: &OwnerRef) -> Option<Node> {
    ShownNetwork::node(stakes, party)
}

/// Effective ownership and controlled stake, by the party or company they are of.
type Fractions = BTreeMap<OwnerRef, (f64, f64)>;

/// The same parties, each with the same fractions up to rounding.
fn same(found: &Fractions, wanted: &Fractions, what: &str) -> Result<(), TestCaseError> {
    prop_assert_eq!(
        found.keys().collect::<Vec<_>>(),
        wanted.keys().collect::<Vec<_>>(),
        "{}",
        what
    );
    for (party, (effective, controlled)) in found {
        let (e, c) = wanted[party];
        prop_assert!(
            close(*effective, e) && close(*controlled, c),
            "{what}, {party:?}: held {effective}/{controlled}, from scratch {e}/{c}"
        );
    }
    Ok(())
}

/// Every company's ultimate owners on `network`, as fractions and chains by party.
fn above<N: OwnershipNetwork>(
    network: &N,
    node: impl Fn(&OwnerRef) -> Option<N::Node>,
    orgnr: OrgNr,
) -> (Fractions, Chains) {
    let party = |node: N::Node| network.party(node).into_owned();
    let Some(at) = node(&org_ref(orgnr)) else {
        return (Fractions::new(), Chains::new());
    };
    let above = Above::of(network, at);
    let owners = above.ultimate_owners().owners;
    let chains = owners
        .iter()
        .map(|o| {
            let chains = above
                .chains(o.owner)
                .into_iter()
                .map(|chain| chain.map(party, party))
                .map(|chain| {
                    let links = chain
                        .links
                        .into_iter()
                        .map(|l| (l.owner, l.company))
                        .collect();
                    (links, chain.fraction)
                })
                .collect();
            (party(o.owner), chains)
        })
        .collect();
    let fractions = owners
        .into_iter()
        .map(|o| (party(o.owner), (o.effective, o.controlled)))
        .collect();
    (fractions, chains)
}

/// Each party's ultimate holdings on `network`, by company.
fn below<N: OwnershipNetwork>(network: &N, node: Option<N::Node>) -> Fractions {
    node.map(|at| Below::of(network, at).ultimate_holdings())
        .unwrap_or_default()
        .into_iter()
        .map(|h| {
            (
                network.party(h.company).into_owned(),
                (h.effective, h.controlled),
            )
        })
        .collect()
}

/// Each ultimate owner's chains: the (owner, company) of each link, and the chain's fraction.
type Chains = BTreeMap<OwnerRef, Vec<(Vec<(OwnerRef, OwnerRef)>, f64)>>;

/// Checks every company's ultimate owners and every party's ultimate holdings on the held
/// index against the graph computed from scratch, and every page against a register loaded
/// whole; and a year's graph of the same holdings ([`YearGraph`]) against the held index,
/// chains included.
fn check(stakes: &Stakes, register: &Register) -> Result<(), TestCaseError> {
    let scratch = register.graph();
    let whole = Stakes::of(register.all());
    let mut year = YearGraphBuilder::default();
    for holding in register.all() {
        year.push(&holding);
    }
    let year: YearGraph = year.build();
    let every = PageRequest::new(Some(1), Some(1000)).expect("a page");
    for company in 0..COMPANIES {
        let orgnr = company_orgnr(company);
        prop_assert_eq!(stakes.owners(orgnr, every), whole.owners(orgnr, every));
        let wanted: Fractions = scratch
            .ultimate_owners(orgnr)
            .owners
            .into_iter()
            .map(|o| (o.owner, (o.effective, o.controlled)))
            .collect();
        let (found, chains) = above(stakes, |party| node(stakes, party), orgnr);
        same(&found, &wanted, &format!("the ultimate owners of {orgnr}"))?;
        let (in_year, year_chains) = above(&year, |party| year.node(party), orgnr);
        same(
            &in_year,
            &wanted,
            &format!("the year's ultimate owners of {orgnr}"),
        )?;
        prop_assert_eq!(
            year_chains.keys().collect::<Vec<_>>(),
            chains.keys().collect::<Vec<_>>()
        );
        for (owner, wanted) in &chains {
            let found = &year_chains[owner];
            prop_assert_eq!(found.len(), wanted.len(), "the chains of {:?}", owner);
            for ((links, fraction), (wanted_links, wanted_fraction)) in found.iter().zip(wanted) {
                prop_assert_eq!(links, wanted_links);
                prop_assert!(close(*fraction, *wanted_fraction));
            }
        }
    }
    for party in 0..COMPANIES + PERSONS {
        let owner = owner_ref(party);
        prop_assert_eq!(
            stakes.holdings(&owner, every),
            whole.holdings(&owner, every)
        );
        let wanted: Fractions = scratch
            .ultimate_holdings(&owner)
            .into_iter()
            .map(|h| (org_ref(h.company), (h.effective, h.controlled)))
            .collect();
        let what = format!("the ultimate holdings of {owner:?}");
        same(&below(stakes, node(stakes, &owner)), &wanted, &what)?;
        same(
            &below(&year, year.node(&owner)),
            &wanted,
            &format!("the year's {what}"),
        )?;
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn the_held_register_after_any_changes_answers_as_one_computed_from_scratch(
        start in proptest::collection::vec(change(), 0..12),
        changes in proptest::collection::vec(change(), 1..25),
    ) {
        let mut register = Register::default();
        for change in &start {
            register.apply(change);
        }
        let mut stakes = Stakes::of(register.all());
        check(&stakes, &register)?;
        for change in &changes {
            let company = register.apply(change);
            stakes.replace(company_orgnr(company), register.holdings(company));
            check(&stakes, &register)?;
        }
    }
}
