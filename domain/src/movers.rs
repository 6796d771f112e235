//! The same person across years.
//!
//! The register gives persons no identifier, so an imported person's id is derived from what
//! the extract says of them ([`crate::PersonId::derive`]): name, birth year, postal code, place
//! and country. A person who moves gets another postal code, and so another id, and would show
//! up as having sold everything and a stranger as having bought it. Linking undoes that.
//!
//! **The rule.** Between two adjacent imported years, a person who *appeared* (an id the other
//! year does not have) is linked to a person who *vanished* (an id the new year does not have)
//! when
//! - their name, birth year and country are equal (a missing birth year equals only a missing
//!   one),
//! - they hold shares in at least one same company in both years, and
//! - no other person matches: the appeared person matches exactly one vanished person, and
//!   that one matches no other appeared person.
//!
//! A linked person keeps the other year's id. A candidate that matches more than one person,
//! or whose match is contested, is left unlinked and counted as ambiguous.
//!
//! **Both adjacent years.** A new year is linked to the nearest imported year before it, then
//! to the nearest one after it ([`AdjacentYears`]): a person linked to the year before keeps
//! that id and is not offered to the year after; one left ambiguous with the year before may
//! still be linked to the year after, and is then no longer counted as ambiguous.

use std::collections::{BTreeSet, HashMap};

use crate::{BirthYear, Country, Name, OrgNr, PersonId};

/// A person who appeared in, or vanished from, a year, with the companies they hold shares in
/// that year.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct MoverCandidate {
    pub id: PersonId,
    pub name: Name,
    pub birth_year: Option<BirthYear>,
    pub country: Country,
    /// The companies the person holds shares in, in any order.
    pub companies: Vec<OrgNr>,
}

/// What linking found.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct MoverLinks {
    /// `(appeared id, the vanished id it keeps)`, ordered by the appeared id.
    pub links: Vec<(PersonId, PersonId)>,
    /// Appeared persons left unlinked because more than one person matched, ordered by id.
    pub ambiguous: Vec<PersonId>,
}

type Key<'a> = (&'a str, Option<BirthYear>, Country);

fn key(candidate: &MoverCandidate) -> Key<'_> {
    (
        candidate.name.as_str(),
        candidate.birth_year,
        candidate.country,
    )
}

fn share_a_company(a: &MoverCandidate, b: &MoverCandidate) -> bool {
    a.companies
        .iter()
        .any(|company| b.companies.contains(company))
}

/// Links the persons who appeared in a year to those who vanished from the adjacent year, by
/// the rule in the module's documentation.
#[must_use]
pub fn link_movers(appeared: &[MoverCandidate], vanished: &[MoverCandidate]) -> MoverLinks {
    let mut by_key: HashMap<Key<'_>, Vec<usize>> = HashMap::new();
    for (index, candidate) in vanished.iter().enumerate() {
        by_key.entry(key(candidate)).or_default().push(index);
    }
    // Every appeared person's matches, and how many appeared persons match each vanished one.
    let mut matches: Vec<Vec<usize>> = Vec::with_capacity(appeared.len());
    let mut claimed = vec![0u32; vanished.len()];
    for candidate in appeared {
        let found: Vec<usize> = by_key
            .get(&key(candidate))
            .map(|indices| {
                indices
                    .iter()
                    .copied()
                    .filter(|&v| share_a_company(candidate, &vanished[v]))
                    .collect()
            })
            .unwrap_or_default();
        for &v in &found {
            claimed[v] += 1;
        }
        matches.push(found);
    }
    let mut result = MoverLinks::default();
    for (candidate, found) in appeared.iter().zip(&matches) {
        match found.as_slice() {
            [] => {}
            [only] if claimed[*only] == 1 => result
                .links
                .push((candidate.id.clone(), vanished[*only].id.clone())),
            _ => result.ambiguous.push(candidate.id.clone()),
        }
    }
    result.links.sort();
    result.ambiguous.sort();
    result
}

/// Linking one year's persons to each adjacent year in turn, the year before first, and the
/// tally the import reports.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct AdjacentYears {
    /// The ids linked persons now have (the adjacent year's).
    linked: BTreeSet<PersonId>,
    ambiguous: BTreeSet<PersonId>,
}

impl AdjacentYears {
    /// Links the persons who appeared in the new year (as [`Self::unlinked`] left them) to
    /// those who vanished from the next adjacent year. The caller gives the returned links'
    /// persons their adjacent year's id before the next call.
    #[must_use]
    pub fn link(&mut self, appeared: &[MoverCandidate], vanished: &[MoverCandidate]) -> MoverLinks {
        let links = link_movers(appeared, vanished);
        for (new_id, old_id) in &links.links {
            self.ambiguous.remove(new_id);
            self.linked.insert(old_id.clone());
        }
        self.ambiguous.extend(links.ambiguous.iter().cloned());
        links
    }

    /// The appeared persons in `candidates` that no earlier adjacent year has linked.
    #[must_use]
    pub fn unlinked(&self, candidates: Vec<MoverCandidate>) -> Vec<MoverCandidate> {
        candidates
            .into_iter()
            .filter(|candidate| !self.linked.contains(&candidate.id))
            .collect()
    }

    /// How many persons were linked, to either year.
    #[must_use]
    pub fn linked(&self) -> u64 {
        self.linked.len() as u64
    }

    /// How many persons were left unlinked because their match was ambiguous, in every
    /// adjacent year they were offered to.
    #[must_use]
    pub fn ambiguous(&self) -> u64 {
        self.ambiguous.len() as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    /// `id:name:birth year:country:company,company`
    fn candidate(spec: &str) -> MoverCandidate {
        let parts: Vec<&str> = spec.split(':').collect();
        MoverCandidate {
            id: PersonId::parse(parts[0]).expect("id"),
            name: Name::parse(parts[1]).expect("name"),
            birth_year: (!parts[2].is_empty())
                .then(|| BirthYear::new(parts[2].parse().expect("year")).expect("year")),
            country: Country::parse(parts[3]).expect("country"),
            companies: parts[4]
                .split(',')
                .map(|c| OrgNr::parse(c).expect("orgnr"))
                .collect(),
        }
    }

    #[rstest]
    // A mover: same name, year, country, a company in common.
    #[case(&["new1:KARI:1970:NO:988844322"], &["old1:KARI:1970:NO:988844322"], &[("new1", "old1")], 0)]
    // Several companies, one in common is enough.
    #[case(&["new1:KARI:1970:NO:885648312,891450052"], &["old1:KARI:1970:NO:988844322,891450052"], &[("new1", "old1")], 0)]
    // No company in common: not the same person as far as the register shows.
    #[case(&["new1:KARI:1970:NO:885648312"], &["old1:KARI:1970:NO:988844322"], &[], 0)]
    // Another birth year, another country, another name.
    #[case(&["new1:KARI:1971:NO:988844322"], &["old1:KARI:1970:NO:988844322"], &[], 0)]
    #[case(&["new1:KARI:1970:SE:988844322"], &["old1:KARI:1970:NO:988844322"], &[], 0)]
    #[case(&["new1:KARI N:1970:NO:988844322"], &["old1:KARI:1970:NO:988844322"], &[], 0)]
    // A missing birth year only equals a missing one.
    #[case(&["new1:ACME LTD::GB:988844322"], &["old1:ACME LTD::GB:988844322"], &[("new1", "old1")], 0)]
    #[case(&["new1:KARI::NO:988844322"], &["old1:KARI:1970:NO:988844322"], &[], 0)]
    // Two vanished persons match one appeared person: ambiguous, left unlinked.
    #[case(&["new1:KARI:1970:NO:988844322"], &["old1:KARI:1970:NO:988844322", "old2:KARI:1970:NO:988844322"], &[], 1)]
    // Two appeared persons match one vanished person: both ambiguous.
    #[case(&["new1:KARI:1970:NO:988844322", "new2:KARI:1970:NO:988844322"], &["old1:KARI:1970:NO:988844322"], &[], 2)]
    // Two pairs that share name and year but not companies are told apart.
    #[case(
        &["new1:KARI:1970:NO:988844322", "new2:KARI:1970:NO:885648312"],
        &["old1:KARI:1970:NO:988844322", "old2:KARI:1970:NO:885648312"],
        &[("new1", "old1"), ("new2", "old2")],
        0
    )]
    // Nobody vanished or appeared.
    #[case(&[], &["old1:KARI:1970:NO:988844322"], &[], 0)]
    #[case(&["new1:KARI:1970:NO:988844322"], &[], &[], 0)]
    fn movers_are_linked_only_when_exactly_one_person_matches(
        #[case] appeared: &[&str],
        #[case] vanished: &[&str],
        #[case] links: &[(&str, &str)],
        #[case] ambiguous: u64,
    ) {
        let appeared: Vec<_> = appeared.iter().map(|s| candidate(s)).collect();
        let vanished: Vec<_> = vanished.iter().map(|s| candidate(s)).collect();
        let found = link_movers(&appeared, &vanished);
        let expected: Vec<(PersonId, PersonId)> = links
            .iter()
            .map(|(a, b)| {
                (
                    PersonId::parse(a).expect("id"),
                    PersonId::parse(b).expect("id"),
                )
            })
            .collect();
        assert_eq!(found.links, expected);
        assert_eq!(found.ambiguous.len() as u64, ambiguous);
    }

    #[test]
    fn a_person_linked_to_the_year_before_is_not_offered_to_the_year_after() {
        let mut years = AdjacentYears::default();
        // The year before: new1 moves from old1; new2 matches two persons.
        let appeared = years.unlinked(vec![
            candidate("new1:KARI:1970:NO:988844322"),
            candidate("new2:OLA:1980:NO:988844322"),
        ]);
        let before = years.link(
            &appeared,
            &[
                candidate("old1:KARI:1970:NO:988844322"),
                candidate("old2:OLA:1980:NO:988844322"),
                candidate("old3:OLA:1980:NO:988844322"),
            ],
        );
        assert_eq!(before.links.len(), 1);
        assert_eq!((years.linked(), years.ambiguous()), (1, 1));
        // In the year after, new1 has old1's id now; new2 finds a single match there.
        let appeared = years.unlinked(vec![
            candidate("old1:KARI:1970:NO:988844322"),
            candidate("new2:OLA:1980:NO:988844322"),
        ]);
        assert_eq!(appeared.len(), 1, "old1 was linked already");
        let after = years.link(&appeared, &[candidate("later2:OLA:1980:NO:988844322")]);
        assert_eq!(after.links[0].1.as_str(), "later2");
        assert_eq!((years.linked(), years.ambiguous()), (2, 0));
    }
}
