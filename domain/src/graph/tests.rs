use rstest::rstest;

use super::{Because, OwnershipGraph};
use crate::{OrgNr, OwnerRef, PersonId, ShareCount};

/// The first valid orgnr of the `n`th block of 100 from 900 000 000 on; each block has one.
fn orgnr_number(n: usize) -> OrgNr {
    let start = 900_000_000 + n * 100;
    (start..start + 100)
        .find_map(|candidate| OrgNr::parse(&candidate.to_string()).ok())
        .expect("every block of 100 has a valid orgnr")
}

/// A capital letter is a company (`A`, `B`, …, or `F1`-style names), anything else a person.
fn party(name: &str) -> OwnerRef {
    if name.starts_with(|c: char| c.is_ascii_uppercase()) {
        OwnerRef::Organisation(company(name))
    } else {
        OwnerRef::Person(PersonId::parse(name).expect("a person id"))
    }
}

fn company(name: &str) -> OrgNr {
    assert!(name.len() <= 3, "company names in these tables are short");
    let mut n = 0usize;
    for byte in name.bytes() {
        n = n * 64 + usize::from(byte - b'0');
    }
    orgnr_number(n)
}

/// A graph of companies (name, declared total) and stakes (owner, company, shares); each
/// company's registered shares are what the stakes in it add up to.
fn graph(companies: &[(&str, Option<u64>)], stakes: &[(&str, &str, u64)]) -> OwnershipGraph {
    let mut graph = OwnershipGraph::new();
    for (name, declared) in companies {
        let registered = stakes
            .iter()
            .filter(|(_, held, _)| held == name)
            .map(|(_, _, shares)| shares)
            .sum();
        graph.add_company(
            company(name),
            declared.map(|total| ShareCount::new(total).expect("a share count")),
            registered,
        );
    }
    for (owner, held, shares) in stakes {
        graph.add_stake(&party(owner), company(held), *shares);
    }
    graph
}

fn percent(fraction: f64) -> f64 {
    (fraction * 100.0 * 10_000.0).round() / 10_000.0
}

const NONE: Option<Because> = None;
const OWNERSHIP: Option<Because> = Some(Because {
    ownership: true,
    control: false,
});
const CONTROL: Option<Because> = Some(Because {
    ownership: false,
    control: true,
});
const BOTH: Option<Because> = Some(Because {
    ownership: true,
    control: true,
});

type Expected<'a> = &'a [(&'a str, f64, f64, Option<Because>)];

#[rstest]
#[case::direct_owners(
    &[("C", Some(100))],
    &[("p1", "C", 60), ("p2", "C", 40)],
    &[("p1", 60.0, 60.0, BOTH), ("p2", 40.0, 40.0, BOTH)],
    0.0,
)]
#[case::six_levels_up(
    &[("A", Some(10)), ("B", Some(10)), ("D", Some(10)), ("E", Some(10)), ("F", Some(10)), ("C", Some(10))],
    &[("top", "A", 10), ("A", "B", 10), ("B", "D", 10), ("D", "E", 10), ("E", "F", 10), ("F", "C", 10)],
    &[("top", 100.0, 100.0, BOTH)],
    0.0,
)]
#[case::two_companies_owning_half_of_each_other(
    &[("C", Some(100)), ("Y", Some(100))],
    &[("C", "Y", 50), ("Y", "C", 50), ("p1", "C", 50), ("p2", "Y", 50)],
    &[("p1", 66.6667, 50.0, BOTH), ("p2", 33.3333, 0.0, OWNERSHIP)],
    0.0,
)]
#[case::three_links_of_51_percent_control_all_the_way_down(
    &[("A", Some(100)), ("B", Some(100)), ("C", Some(100))],
    &[("p", "A", 51), ("q1", "A", 49), ("A", "B", 51), ("q2", "B", 49), ("B", "C", 51), ("q3", "C", 49)],
    &[("q3", 49.0, 49.0, BOTH), ("q2", 24.99, 0.0, NONE), ("p", 13.2651, 51.0, CONTROL), ("q1", 12.7449, 0.0, NONE)],
    0.0,
)]
#[case::treasury_shares_are_not_outstanding(
    &[("C", Some(100))],
    &[("C", "C", 20), ("p1", "C", 40), ("p2", "C", 40)],
    &[("p1", 50.0, 50.0, BOTH), ("p2", 50.0, 50.0, BOTH)],
    0.0,
)]
#[case::a_diamond_adds_both_sides(
    &[("A", Some(100)), ("B", Some(100)), ("E", Some(100)), ("C", Some(100))],
    &[("p", "A", 100), ("A", "B", 50), ("r1", "B", 50), ("A", "E", 50), ("r2", "E", 50),
      ("B", "C", 30), ("E", "C", 30), ("s", "C", 40)],
    &[("s", 40.0, 40.0, BOTH), ("p", 30.0, 0.0, OWNERSHIP), ("r1", 15.0, 0.0, NONE), ("r2", 15.0, 0.0, NONE)],
    0.0,
)]
#[case::an_unregistered_remainder_is_nobody_s(
    &[("A", Some(100)), ("C", Some(100))],
    &[("p", "A", 50), ("A", "C", 100)],
    &[("p", 50.0, 0.0, OWNERSHIP)],
    50.0,
)]
#[case::a_foreign_company_is_an_ultimate_owner_but_no_beneficial_one(
    &[("C", Some(100))],
    &[("F", "C", 70), ("p", "C", 30)],
    &[("F", 70.0, 70.0, NONE), ("p", 30.0, 30.0, BOTH)],
    0.0,
)]
#[case::classes_add_up(
    &[("C", None)],
    &[("p", "C", 30), ("p", "C", 30), ("q", "C", 40)],
    &[("p", 60.0, 60.0, BOTH), ("q", 40.0, 40.0, BOTH)],
    0.0,
)]
#[case::no_owners_at_all(&[("C", Some(100))], &[], &[], 100.0)]
fn ultimate_owners(
    #[case] companies: &[(&str, Option<u64>)],
    #[case] stakes: &[(&str, &str, u64)],
    #[case] expected: Expected<'_>,
    #[case] unattributed: f64,
) {
    let ownership = graph(companies, stakes).ultimate_owners(company("C"));
    let found: Vec<(OwnerRef, f64, f64, Option<Because>)> = ownership
        .owners
        .iter()
        .map(|o| {
            (
                o.owner.clone(),
                percent(o.effective),
                percent(o.controlled),
                o.beneficial(),
            )
        })
        .collect();
    let wanted: Vec<(OwnerRef, f64, f64, Option<Because>)> = expected
        .iter()
        .map(|(name, effective, controlled, because)| {
            (party(name), *effective, *controlled, *because)
        })
        .collect();
    assert_eq!(found, wanted);
    assert!(
        (percent(ownership.unattributed) - unattributed).abs() < 1e-9,
        "unattributed {}",
        ownership.unattributed
    );
}

#[test]
fn a_chain_lists_its_links_from_the_owner_to_the_company() {
    let graph = graph(
        &[("A", Some(100)), ("B", Some(100)), ("C", Some(100))],
        &[("p", "A", 51), ("A", "B", 51), ("B", "C", 51)],
    );
    let chains = graph.chains(&party("p"), company("C"));
    assert_eq!(chains.len(), 1);
    let links: Vec<(OwnerRef, OrgNr)> = chains[0]
        .links
        .iter()
        .map(|link| (link.owner.clone(), link.company))
        .collect();
    assert_eq!(
        links,
        [
            (party("p"), company("A")),
            (party("A"), company("B")),
            (party("B"), company("C")),
        ]
    );
    assert!((chains[0].fraction - 0.51f64.powi(3)).abs() < 1e-12);
    assert!(
        chains[0]
            .links
            .iter()
            .all(|link| (link.fraction - 0.51).abs() < 1e-12)
    );
}

#[test]
fn a_diamond_gives_one_chain_per_side_and_a_cycle_only_simple_paths() {
    let diamond_graph = graph(
        &[
            ("A", Some(100)),
            ("B", Some(100)),
            ("E", Some(100)),
            ("D", Some(100)),
        ],
        &[
            ("p", "A", 100),
            ("A", "B", 50),
            ("A", "E", 50),
            ("B", "D", 30),
            ("E", "D", 30),
        ],
    );
    let chains = diamond_graph.chains(&party("p"), company("D"));
    assert_eq!(chains.len(), 2);
    assert!(chains.iter().all(|c| (c.fraction - 0.15).abs() < 1e-12));

    let cycle = graph(
        &[("X", Some(100)), ("Y", Some(100))],
        &[
            ("X", "Y", 50),
            ("Y", "X", 50),
            ("p1", "X", 50),
            ("p2", "Y", 50),
        ],
    );
    // The walk round the cycle counts in the effective ownership; the chain shown is the
    // one simple path.
    let p2 = cycle.chains(&party("p2"), company("X"));
    assert_eq!(p2.len(), 1);
    assert!((p2[0].fraction - 0.25).abs() < 1e-12);
}

#[test]
fn at_most_ten_chains_per_owner_and_the_largest() {
    // p owns all of twelve companies, each owning 1..=12 % of C.
    let names: Vec<String> = (0..12).map(|i| format!("H{i}")).collect();
    let mut companies: Vec<(&str, Option<u64>)> =
        names.iter().map(|n| (n.as_str(), Some(100))).collect();
    companies.push(("C", Some(100)));
    let mut stakes: Vec<(&str, &str, u64)> = Vec::new();
    for (i, name) in names.iter().enumerate() {
        stakes.push(("p", name, 100));
        stakes.push((name, "C", i as u64 + 1));
    }
    let graph = graph(&companies, &stakes);
    let ownership = graph.ultimate_owners(company("C"));
    let p = &ownership.owners[0];
    assert!((percent(p.effective) - 78.0).abs() < 1e-9);
    let chains = graph.chains(&party("p"), company("C"));
    assert_eq!(chains.len(), 10);
    let shown: Vec<f64> = chains.iter().map(|c| percent(c.fraction)).collect();
    assert_eq!(shown, [12.0, 11.0, 10.0, 9.0, 8.0, 7.0, 6.0, 5.0, 4.0, 3.0]);
    // Owning all of each holder, p controls them, and their stakes add up to control of C.
    assert!(p.controls());
}

type Holding<'a> = (&'a str, f64, f64);

#[rstest]
#[case::a_diamond_downwards(
    &[("A", Some(100)), ("B", Some(100)), ("E", Some(100)), ("D", Some(100))],
    &[("p", "A", 100), ("A", "B", 50), ("A", "E", 50), ("B", "D", 30), ("E", "D", 30)],
    "p",
    &[("A", 100.0, 100.0), ("B", 50.0, 50.0), ("E", 50.0, 50.0), ("D", 30.0, 0.0)],
)]
#[case::a_cycle_downwards(
    &[("X", Some(100)), ("Y", Some(100))],
    &[("X", "Y", 50), ("Y", "X", 50), ("p1", "X", 50), ("p2", "Y", 50)],
    "p1",
    &[("X", 66.6667, 50.0), ("Y", 33.3333, 0.0)],
)]
#[case::three_51_percent_links_downwards(
    &[("A", Some(100)), ("B", Some(100)), ("C", Some(100))],
    &[("p", "A", 51), ("A", "B", 51), ("B", "C", 51)],
    "p",
    &[("A", 51.0, 51.0), ("B", 26.01, 51.0), ("C", 13.2651, 51.0)],
)]
#[case::treasury_downwards(
    &[("C", Some(100))],
    &[("C", "C", 20), ("p", "C", 40)],
    "p",
    &[("C", 50.0, 50.0)],
)]
#[case::a_company_s_shares_held_back_through_a_cycle_are_not_its_holding(
    &[("A", Some(100)), ("B", Some(100))],
    &[("A", "B", 100), ("B", "A", 90)],
    "A",
    &[("B", 100.0, 100.0)],
)]
#[case::a_company_s_own_holdings(
    &[("A", Some(100)), ("B", Some(100)), ("C", Some(100))],
    &[("A", "B", 60), ("B", "C", 60)],
    "A",
    &[("B", 60.0, 60.0), ("C", 36.0, 60.0)],
)]
fn ultimate_holdings(
    #[case] companies: &[(&str, Option<u64>)],
    #[case] stakes: &[(&str, &str, u64)],
    #[case] from: &str,
    #[case] expected: &[Holding<'_>],
) {
    let holdings = graph(companies, stakes).ultimate_holdings(&party(from));
    let found: Vec<(OrgNr, f64, f64)> = holdings
        .iter()
        .map(|h| (h.company, percent(h.effective), percent(h.controlled)))
        .collect();
    let wanted: Vec<(OrgNr, f64, f64)> = expected
        .iter()
        .map(|(name, effective, controlled)| (company(name), *effective, *controlled))
        .collect();
    assert_eq!(found, wanted);
}

#[test]
fn the_direct_fraction_is_of_outstanding_shares() {
    let graph = graph(
        &[("C", Some(100))],
        &[("C", "C", 20), ("p", "C", 20), ("p", "C", 20)],
    );
    assert!((graph.direct_fraction(&party("p"), company("C")) - 0.5).abs() < 1e-15);
    assert!(graph.direct_fraction(&party("q"), company("C")).abs() < 1e-15);
}

/// A small deterministic generator, so the property tests need no crate and always test the
/// same graphs.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
    }
}

/// A random register of up to 7 companies and 4 persons. Organisations never hold more than
/// 80 % of a company between them, so `I − A` is invertible.
struct Random {
    companies: Vec<(String, Option<u64>)>,
    stakes: Vec<(String, String, u64)>,
}

fn random(rng: &mut Lcg) -> Random {
    let company_count = 1 + rng.below(7) as usize;
    let person_count = 1 + rng.below(4) as usize;
    let companies: Vec<String> = (0..company_count).map(|i| format!("K{i}")).collect();
    let persons: Vec<String> = (0..person_count).map(|i| format!("p{i}")).collect();
    let mut stakes = Vec::new();
    let mut declared = Vec::new();
    for held in &companies {
        let total = 1_000;
        let mut left_to_organisations = 800;
        let mut left = total;
        if rng.below(4) == 0 {
            let treasury = rng.below(100);
            stakes.push((held.clone(), held.clone(), treasury));
            left -= treasury;
        }
        for owner in &companies {
            if owner != held && rng.below(3) == 0 && left_to_organisations > 0 {
                let shares = 1 + rng.below(left_to_organisations.min(left));
                left_to_organisations -= shares;
                left -= shares;
                stakes.push((owner.clone(), held.clone(), shares));
            }
        }
        for owner in &persons {
            if rng.below(2) == 0 && left > 0 {
                let shares = 1 + rng.below(left);
                left -= shares;
                // Sometimes in two classes.
                if shares > 1 && rng.below(2) == 0 {
                    stakes.push((owner.clone(), held.clone(), shares / 2));
                    stakes.push((owner.clone(), held.clone(), shares - shares / 2));
                } else {
                    stakes.push((owner.clone(), held.clone(), shares));
                }
            }
        }
        let declare = rng.below(2) == 0;
        if !declare && left > 0 {
            // Without a declared total, outstanding is what is registered: register the rest,
            // so that organisations still hold at most 80 % of it.
            stakes.push(("z".to_owned(), held.clone(), left));
        }
        declared.push((held.clone(), declare.then_some(total)));
    }
    Random {
        companies: declared,
        stakes,
    }
}

impl Random {
    fn graph(&self) -> OwnershipGraph {
        let companies: Vec<(&str, Option<u64>)> = self
            .companies
            .iter()
            .map(|(n, d)| (n.as_str(), *d))
            .collect();
        let stakes: Vec<(&str, &str, u64)> = self
            .stakes
            .iter()
            .map(|(o, c, s)| (o.as_str(), c.as_str(), *s))
            .collect();
        graph(&companies, &stakes)
    }

    /// `E = B(I − A)⁻¹` by Gaussian elimination: the effective ownership of every owner
    /// (organisations and persons) in every company, as a dense matrix indexed by name.
    fn dense(&self, graph: &OwnershipGraph) -> std::collections::HashMap<(String, String), f64> {
        let names: Vec<&str> = self.companies.iter().map(|(n, _)| n.as_str()).collect();
        let n = names.len();
        let owners: std::collections::BTreeSet<&str> =
            self.stakes.iter().map(|(o, _, _)| o.as_str()).collect();
        let mut result = std::collections::HashMap::new();
        for owner in owners {
            // Row vector b: the owner's direct fractions; solve e (I − A) = b, i.e.
            // (I − A)ᵀ eᵀ = bᵀ.
            let mut matrix = vec![vec![0.0f64; n + 1]; n];
            for (j, held) in names.iter().enumerate() {
                matrix[j][j] = 1.0;
                for (i, other) in names.iter().enumerate() {
                    if i != j {
                        matrix[j][i] -= graph.direct_fraction(&party(other), company(held));
                    }
                }
                matrix[j][n] = graph.direct_fraction(&party(owner), company(held));
            }
            for column in 0..n {
                let pivot = (column..n)
                    .max_by(|a, b| {
                        matrix[*a][column]
                            .abs()
                            .total_cmp(&matrix[*b][column].abs())
                    })
                    .expect("a row");
                matrix.swap(column, pivot);
                for row in 0..n {
                    if row != column {
                        let factor = matrix[row][column] / matrix[column][column];
                        let pivot_row = matrix[column].clone();
                        for (cell, above) in matrix[row].iter_mut().zip(&pivot_row).skip(column) {
                            *cell -= factor * above;
                        }
                    }
                }
            }
            for (j, held) in names.iter().enumerate() {
                let mut value = matrix[j][n] / matrix[j][j];
                if *held == owner {
                    // The diagonal counts the walks of length 0; ownership starts at 1 link.
                    value = 0.0;
                }
                result.insert((owner.to_owned(), (*held).to_owned()), value);
            }
        }
        result
    }
}

/// The naive fixpoint of control: repeat over every company until no stake changes.
fn naive_controlled(graph: &OwnershipGraph, party_name: &str, names: &[&str]) -> Vec<f64> {
    let mut controlled = vec![false; names.len()];
    loop {
        let stakes: Vec<f64> = names
            .iter()
            .map(|held| {
                if *held == party_name {
                    return 0.0;
                }
                graph.direct_fraction(&party(party_name), company(held))
                    + names
                        .iter()
                        .zip(&controlled)
                        .filter(|(_, c)| **c)
                        .map(|(k, _)| graph.direct_fraction(&party(k), company(held)))
                        .sum::<f64>()
            })
            .collect();
        let next: Vec<bool> = stakes
            .iter()
            .map(|stake| super::exceeds(*stake, super::CONTROL_ABOVE))
            .collect();
        if next == controlled {
            return stakes;
        }
        controlled = next;
    }
}

#[test]
fn the_flow_agrees_with_the_matrix_inverse_and_control_with_the_naive_fixpoint() {
    let mut rng = Lcg(20_261_125);
    for round in 0..300 {
        let register = random(&mut rng);
        let graph = register.graph();
        let exact = register.dense(&graph);
        let names: Vec<&str> = register.companies.iter().map(|(n, _)| n.as_str()).collect();
        for held in &names {
            let ownership = graph.ultimate_owners(company(held));
            let mut attributed = 0.0;
            for owner in &ownership.owners {
                let name = owner.owner.id();
                let label = match &owner.owner {
                    OwnerRef::Person(_) => name.to_owned(),
                    OwnerRef::Organisation(_) => register
                        .companies
                        .iter()
                        .map(|(n, _)| n.clone())
                        .find(|n| party(n) == owner.owner)
                        .expect("a named company"),
                };
                let wanted = exact[&(label.clone(), (*held).to_owned())];
                assert!(
                    (owner.effective - wanted).abs() < 1e-9,
                    "round {round}: {label} in {held}: {} vs {wanted}",
                    owner.effective
                );
                attributed += owner.effective;
            }
            assert!(attributed <= 1.0 + 1e-9, "round {round}: {attributed}");
            assert!((attributed + ownership.unattributed - 1.0).abs() < 1e-9);
        }
        for person in register
            .stakes
            .iter()
            .map(|(o, _, _)| o.as_str())
            .filter(|o| o.starts_with('p'))
        {
            let holdings = graph.ultimate_holdings(&party(person));
            let naive = naive_controlled(&graph, person, &names);
            for (i, held) in names.iter().enumerate() {
                let wanted = exact[&(person.to_owned(), (*held).to_owned())];
                let found = holdings.iter().find(|h| h.company == company(held));
                let effective = found.map_or(0.0, |h| h.effective);
                assert!(
                    (effective - wanted).abs() < 1e-9,
                    "round {round}: {person} down to {held}: {effective} vs {wanted}"
                );
                let controlled = found.map_or(0.0, |h| h.controlled);
                assert!(
                    (controlled - naive[i]).abs() < 1e-9,
                    "round {round}: {person} controls {controlled} of {held}, naive {}",
                    naive[i]
                );
            }
        }
    }
}

#[test]
fn adding_stakes_in_any_order_and_split_into_classes_gives_the_same_answers() {
    let mut rng = Lcg(7);
    for _ in 0..100 {
        let register = random(&mut rng);
        let whole = register.graph();
        let mut shuffled = Random {
            companies: register.companies.clone(),
            stakes: Vec::new(),
        };
        for (owner, held, shares) in &register.stakes {
            let first = rng.below(*shares + 1);
            shuffled.stakes.push((owner.clone(), held.clone(), first));
            shuffled
                .stakes
                .push((owner.clone(), held.clone(), shares - first));
        }
        for i in (1..shuffled.stakes.len()).rev() {
            let j = rng.below(i as u64 + 1) as usize;
            shuffled.stakes.swap(i, j);
        }
        let parts = shuffled.graph();
        for (held, _) in &register.companies {
            let a = whole.ultimate_owners(company(held));
            let b = parts.ultimate_owners(company(held));
            assert_eq!(a.owners.len(), b.owners.len());
            for (x, y) in a.owners.iter().zip(&b.owners) {
                assert_eq!(x.owner, y.owner);
                assert!((x.effective - y.effective).abs() < 1e-12);
                assert!((x.controlled - y.controlled).abs() < 1e-12);
            }
        }
    }
}

#[test]
fn a_closed_loop_has_no_owner_and_ends() {
    let graph = graph(
        &[("C", Some(100)), ("Y", Some(100))],
        &[("C", "Y", 100), ("Y", "C", 100)],
    );
    let ownership = graph.ultimate_owners(company("C"));
    assert!(ownership.owners.is_empty());
    assert!((ownership.unattributed - 1.0).abs() < 1e-12);
    let holdings = graph.ultimate_holdings(&party("C"));
    assert_eq!(holdings.len(), 1);
    assert!(
        (holdings[0].effective - 1.0).abs() < 1e-12,
        "C's shares held back through Y are nobody's holding"
    );
}

/// Two companies owning all but one share of each other: what enters the cycle goes round it
/// about a million times before a millionth of it is left, and all of it is summed. With
/// `x = y = 0.999999` held by the other and the one share each by p1 and p2, p1 has
/// `(1 − y) / (1 − xy)` of A and p2 `y (1 − x) / (1 − xy)`.
#[test]
fn a_cycle_that_almost_closes_is_summed_exactly() {
    let graph = graph(
        &[("A", Some(1_000_000)), ("B", Some(1_000_000))],
        &[
            ("B", "A", 999_999),
            ("A", "B", 999_999),
            ("p1", "A", 1),
            ("p2", "B", 1),
        ],
    );
    let (x, y) = (0.999_999_f64, 0.999_999_f64);
    let ownership = graph.ultimate_owners(company("A"));
    let found: Vec<(String, f64)> = ownership
        .owners
        .iter()
        .map(|owner| (owner.owner.id().to_owned(), owner.effective))
        .collect();
    assert_eq!(found.len(), 2, "{found:?}");
    assert_eq!(found[0].0, "p1");
    assert!(
        (found[0].1 - (1.0 - y) / (1.0 - x * y)).abs() < 1e-9,
        "{found:?}"
    );
    assert_eq!(found[1].0, "p2");
    assert!(
        (found[1].1 - y * (1.0 - x) / (1.0 - x * y)).abs() < 1e-9,
        "{found:?}"
    );
    assert!(ownership.unattributed < 1e-9, "{}", ownership.unattributed);
}
