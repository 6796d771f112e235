//! The live register's registered parties held in memory by name, answering a search ranked
//! ([`ReadStore::search_ranked`](crate::ReadStore::search_ranked)): every party whose name has
//! a word starting with each of the query's words (the domain's [`search_words`], both
//! spellings of the Norwegian letters), and every organisation whose orgnr starts with its
//! digits; their number, and the first of them in the domain's order (exact matches first,
//! then by [`NameOrder`], kind and id).
//!
//! The distinct search words are kept sorted, each with the parties whose names have it, so
//! the words a query word starts are one range of them. The parties are numbered in the
//! domain's order when the index is built, and a query's matches are an ascending list of
//! those numbers: the first matches are its exact ones (one range of numbers, found by their
//! order), then its first numbers, and their number is its count. Parties added later are
//! numbered after the rest and sorted in at query time.
//!
//! The parties a query word starts (the union of its range's lists, with their number of each
//! kind) are merged the first time the word is asked, and kept until a party is added,
//! removed or renamed: a prefix typed by many (`ber`, `hol`) then costs what its page shows.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use shareholders_domain::{
    NameOrder, OrgNr, OwnerKind, OwnerProfile, OwnerRef, SearchQuery, search_words,
};

use crate::SearchMatches;

/// A registered party, and where it comes among equally exact matches.
struct Party {
    profile: OwnerProfile,
    order: NameOrder,
}

impl Party {
    fn new(profile: OwnerProfile) -> Self {
        Self {
            order: NameOrder::of(profile.name.as_str()),
            profile,
        }
    }

    /// Where it comes among equally exact matches: by name, then kind and id.
    fn key(&self) -> (&NameOrder, &'static str, &str) {
        (
            &self.order,
            self.profile.owner.kind().as_str(),
            self.profile.owner.id(),
        )
    }

    fn orgnr(&self) -> Option<&str> {
        match &self.profile.owner {
            OwnerRef::Organisation(orgnr) => Some(orgnr.as_str()),
            OwnerRef::Person(_) => None,
        }
    }
}

/// A set of party numbers.
#[derive(Default)]
struct Bits(Vec<u64>);

impl Bits {
    fn new(len: usize) -> Self {
        Self(vec![0; len.div_ceil(64)])
    }

    fn set(&mut self, at: u32) {
        self.0[at as usize / 64] |= 1 << (at % 64);
    }

    fn clear(&mut self, at: u32) {
        self.0[at as usize / 64] &= !(1 << (at % 64));
    }

    /// Grows to hold `len` numbers.
    fn grow(&mut self, len: usize) {
        self.0.resize(len.div_ceil(64), 0);
    }

    fn contains(&self, at: u32) -> bool {
        self.0[at as usize / 64] & (1 << (at % 64)) != 0
    }
}

/// Merged numbers kept at most, over every word: beyond, the merged words are forgotten.
const MERGED_NUMBERS: usize = 16_000_000;

/// The registered parties a query word starts: their numbers, ascending, and how many are of
/// each kind.
struct Starting {
    numbers: Box<[u32]>,
    organisations: u64,
    persons: u64,
}

/// The query words merged so far, and how many numbers they hold.
#[derive(Default)]
struct Merged {
    words: HashMap<Box<str>, Arc<Starting>>,
    numbers: usize,
}

/// The registered parties of a register, by search word and by orgnr.
#[derive(Default)]
pub(super) struct Names {
    /// Every party ever added: those the index was built with in the domain's order, then
    /// those added since; only those in `present` are registered now (one removed, or added
    /// again under a new number, keeps its place).
    parties: Vec<Party>,
    /// How many of `parties` are in the domain's order.
    ordered: usize,
    by_party: HashMap<OwnerRef, u32>,
    /// The parties present, of each kind and of either.
    organisations: Bits,
    persons: Bits,
    present: Bits,
    /// The distinct search words, sorted, each with the numbers of the parties whose names
    /// have it, ascending.
    words: Vec<(Box<str>, Vec<u32>)>,
    /// The organisations' numbers by orgnr, sorted.
    orgnrs: Vec<(OrgNr, u32)>,
    /// The parties each query word asked so far starts, until a party changes.
    merged: RwLock<Merged>,
}

impl Names {
    /// Every party of `parties`: each registered party, once.
    pub(super) fn of(parties: impl IntoIterator<Item = OwnerProfile>) -> Self {
        let mut parties: Vec<Party> = parties.into_iter().map(Party::new).collect();
        parties.sort_unstable_by(|a, b| a.key().cmp(&b.key()));
        let len = parties.len();
        let mut names = Self {
            ordered: len,
            organisations: Bits::new(len),
            persons: Bits::new(len),
            present: Bits::new(len),
            ..Self::default()
        };
        let mut words: HashMap<String, Vec<u32>> = HashMap::new();
        for (number, party) in parties.into_iter().enumerate() {
            let number = u32::try_from(number).expect("fewer than 2^32 parties");
            let profile = &party.profile;
            for word in search_words(profile.name.as_str()) {
                words.entry(word).or_default().push(number);
            }
            names.mark_present(&profile.owner, number);
            if let OwnerRef::Organisation(orgnr) = &profile.owner {
                names.orgnrs.push((*orgnr, number));
            }
            names.by_party.insert(profile.owner.clone(), number);
            names.parties.push(party);
        }
        names.words = words
            .into_iter()
            .map(|(word, parties)| (word.into_boxed_str(), parties))
            .collect();
        names.words.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        names
            .orgnrs
            .sort_unstable_by(|a, b| a.0.as_str().cmp(b.0.as_str()));
        names
    }

    /// How many parties are held.
    pub(super) fn len(&self) -> usize {
        self.by_party.len()
    }

    fn mark_present(&mut self, owner: &OwnerRef, number: u32) {
        self.present.set(number);
        match owner.kind() {
            OwnerKind::Organisation => self.organisations.set(number),
            OwnerKind::Person => self.persons.set(number),
        }
    }

    /// Makes `owner` registered with `profile`, or not registered for `None`, as the read
    /// model now says.
    pub(super) fn set(&mut self, owner: &OwnerRef, profile: Option<OwnerProfile>) {
        if let Some(&number) = self.by_party.get(owner) {
            let held = &mut self.parties[number as usize];
            match profile {
                // Found by the same words, in the same place: only what is shown changes.
                Some(profile) if profile.name == held.profile.name => {
                    held.profile = profile;
                    return;
                }
                _ => {
                    self.forget_merged();
                    self.by_party.remove(owner);
                    self.organisations.clear(number);
                    self.persons.clear(number);
                    self.present.clear(number);
                }
            }
        }
        if let Some(profile) = profile {
            self.add(profile);
        }
    }

    /// Adds a party after the rest: its number is the next, so each of its words' numbers
    /// stay ascending.
    fn add(&mut self, profile: OwnerProfile) {
        self.forget_merged();
        let number = u32::try_from(self.parties.len()).expect("fewer than 2^32 parties");
        for bits in [
            &mut self.organisations,
            &mut self.persons,
            &mut self.present,
        ] {
            bits.grow(self.parties.len() + 1);
        }
        self.mark_present(&profile.owner, number);
        for word in search_words(profile.name.as_str()) {
            match self
                .words
                .binary_search_by(|(w, _)| w.as_ref().cmp(word.as_str()))
            {
                Ok(at) => self.words[at].1.push(number),
                Err(at) => self.words.insert(at, (word.into_boxed_str(), vec![number])),
            }
        }
        if let OwnerRef::Organisation(orgnr) = &profile.owner {
            let at = self
                .orgnrs
                .partition_point(|(o, _)| o.as_str() < orgnr.as_str());
            self.orgnrs.insert(at, (*orgnr, number));
        }
        self.by_party.insert(profile.owner.clone(), number);
        self.parties.push(Party::new(profile));
    }

    fn forget_merged(&mut self) {
        *self.merged.get_mut().expect("the merged words' lock") = Merged::default();
    }

    /// The registered parties whose names have a word starting with `word`.
    fn starting(&self, word: &str) -> Arc<Starting> {
        if let Some(found) = self
            .merged
            .read()
            .expect("the merged words' lock")
            .words
            .get(word)
        {
            return Arc::clone(found);
        }
        let first = self.words.partition_point(|(w, _)| w.as_ref() < word);
        let lists: Vec<&[u32]> = self.words[first..]
            .iter()
            .take_while(|(w, _)| w.starts_with(word))
            .map(|(_, parties)| parties.as_slice())
            .collect();
        let mut numbers: Vec<u32> = lists.concat();
        if lists.len() > 1 {
            numbers.sort_unstable();
            numbers.dedup();
        }
        numbers.retain(|&number| self.present.contains(number));
        let organisations = numbers
            .iter()
            .filter(|&&number| self.organisations.contains(number))
            .count() as u64;
        let starting = Arc::new(Starting {
            organisations,
            persons: numbers.len() as u64 - organisations,
            numbers: numbers.into_boxed_slice(),
        });
        let mut merged = self.merged.write().expect("the merged words' lock");
        if merged.numbers + starting.numbers.len() > MERGED_NUMBERS {
            *merged = Merged::default();
        }
        merged.numbers += starting.numbers.len();
        merged.words.insert(word.into(), Arc::clone(&starting));
        starting
    }

    /// The organisations whose orgnr starts with `prefix`, in orgnr order.
    fn orgnrs_starting<'a>(&'a self, prefix: &'a str) -> impl Iterator<Item = &'a (OrgNr, u32)> {
        let first = self.orgnrs.partition_point(|(o, _)| o.as_str() < prefix);
        self.orgnrs[first..]
            .iter()
            .take_while(move |(o, _)| o.as_str().starts_with(prefix))
    }

    fn party(&self, number: u32) -> &Party {
        &self.parties[number as usize]
    }

    /// The search ranked (see the module): how many parties match, and the first `limit` of
    /// them.
    pub(super) fn search_ranked(&self, query: &SearchQuery, limit: u32) -> SearchMatches {
        let of_kind = match query.kind() {
            Some(OwnerKind::Organisation) => Some(&self.organisations),
            Some(OwnerKind::Person) => Some(&self.persons),
            None => None,
        };
        let words: Vec<Arc<Starting>> = query
            .words()
            .iter()
            .map(|word| self.starting(word))
            .collect();
        // The matches, ascending: those of every word that are of the kind asked, counted.
        let (matches, accepts, total): (Cow<'_, [u32]>, Option<&Bits>, u64) =
            match (words.as_slice(), query.orgnr_prefix()) {
                // One word (the common case): its merged parties as they are, counted by kind.
                ([word], None) => {
                    let total = match query.kind() {
                        Some(OwnerKind::Organisation) => word.organisations,
                        Some(OwnerKind::Person) => word.persons,
                        None => word.numbers.len() as u64,
                    };
                    (Cow::Borrowed(&word.numbers[..]), of_kind, total)
                }
                _ => {
                    let found = self.every_word(&words, query.orgnr_prefix(), of_kind);
                    let total = found.len() as u64;
                    (Cow::Owned(found), None, total)
                }
            };
        let of_the_kind = |number: u32| accepts.is_none_or(|bits| bits.contains(number));
        let found = |number: u32| matches.binary_search(&number).is_ok() && of_the_kind(number);
        let limit = limit as usize;
        let exact = |number: u32| {
            let party = self.party(number);
            query.is_exact(&party.order, party.orgnr())
        };
        let since = matches.partition_point(|&number| (number as usize) < self.ordered);
        let added: Vec<u32> = matches[since..]
            .iter()
            .copied()
            .filter(|&number| of_the_kind(number))
            .collect();
        // The exact matches: those in order whose name is the query's (one range of them),
        // the organisation whose orgnr it is, and any added since.
        let query_order = NameOrder::of(query.folded());
        let ordered = &self.parties[..self.ordered];
        let first = ordered.partition_point(|party| party.order < query_order);
        let mut exact_numbers: Vec<u32> = (first..self.ordered)
            .take_while(|&at| ordered[at].order == query_order)
            .filter_map(|at| u32::try_from(at).ok())
            .collect();
        if let Some(prefix) = query.orgnr_prefix() {
            exact_numbers.extend(
                self.orgnrs_starting(prefix)
                    .filter(|(o, _)| o.as_str() == prefix)
                    .map(|&(_, number)| number),
            );
        }
        exact_numbers.extend(added.iter().copied().filter(|&n| exact(n)));
        exact_numbers.retain(|&number| found(number));
        exact_numbers.sort_unstable_by(|&a, &b| self.party(a).key().cmp(&self.party(b).key()));
        exact_numbers.dedup();
        // Then the rest: in order, and those added since sorted in among them.
        let is_exact = |number: u32| exact_numbers.contains(&number);
        let mut rest: Vec<u32> = matches[..since]
            .iter()
            .copied()
            .filter(|&number| of_the_kind(number) && !is_exact(number))
            .take(limit)
            .collect();
        let added: Vec<u32> = added.into_iter().filter(|&n| !is_exact(n)).collect();
        if !added.is_empty() {
            rest.extend(added);
            rest.sort_unstable_by(|&a, &b| self.party(a).key().cmp(&self.party(b).key()));
        }
        SearchMatches {
            total,
            parties: exact_numbers
                .iter()
                .chain(&rest)
                .take(limit)
                .map(|&number| self.party(number).profile.clone())
                .collect(),
        }
    }

    /// The parties every one of `words` starts, and the organisations whose orgnr starts
    /// with `orgnr_prefix`, of the kind asked, ascending.
    fn every_word(
        &self,
        words: &[Arc<Starting>],
        orgnr_prefix: Option<&str>,
        of_kind: Option<&Bits>,
    ) -> Vec<u32> {
        let mut by_size: Vec<&Starting> = words.iter().map(AsRef::as_ref).collect();
        by_size.sort_unstable_by_key(|word| word.numbers.len());
        let mut found: Vec<u32> = match by_size.split_first() {
            Some((smallest, others)) => smallest
                .numbers
                .iter()
                .copied()
                .filter(|number| {
                    others
                        .iter()
                        .all(|word| word.numbers.binary_search(number).is_ok())
                })
                .collect(),
            None => Vec::new(),
        };
        if let Some(prefix) = orgnr_prefix {
            found.extend(
                self.orgnrs_starting(prefix)
                    .map(|&(_, number)| number)
                    .filter(|&number| self.present.contains(number)),
            );
            found.sort_unstable();
            found.dedup();
        }
        if let Some(bits) = of_kind {
            found.retain(|&number| bits.contains(number));
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use rstest::rstest;
    use shareholders_domain::{Country, OwnerKind, OwnerProfile, OwnerRef, SearchQuery};

    use super::Names;
    use crate::testkit::{country, name, org_ref, orgnr, person_ref};

    fn profile(owner: OwnerRef, label: &str) -> OwnerProfile {
        OwnerProfile {
            owner,
            name: name(label),
            country: Country::NORWAY,
            birth_year: None,
        }
    }

    /// Four organisations and three persons, some with the same words and the same lengths.
    fn register() -> Vec<OwnerProfile> {
        vec![
            profile(org_ref(orgnr(1)), "RØKKE INVEST AS"),
            profile(org_ref(orgnr(2)), "TVIST AS"),
            profile(org_ref(orgnr(3)), "TVIST 5 AS"),
            profile(org_ref(orgnr(4)), "AS TVIST"),
            profile(person_ref("a"), "ÅSE HANSEN"),
            profile(person_ref("b"), "TVIST ANNE"),
            profile(person_ref("c"), "ØRJAN ÅSEN"),
        ]
    }

    /// The ids a search finds first, and how many it finds in all.
    fn found(
        names: &Names,
        query: &str,
        kind: Option<OwnerKind>,
        limit: u32,
    ) -> (Vec<String>, u64) {
        let query = SearchQuery::parse(query, kind).expect("a query");
        let matches = names.search_ranked(&query, limit);
        let ids = matches
            .parties
            .iter()
            .map(|party| party.owner.id().to_owned())
            .collect();
        (ids, matches.total)
    }

    fn ids(expected: &[&str]) -> Vec<String> {
        expected
            .iter()
            .map(|id| match id.parse::<u32>() {
                Ok(n) => orgnr(n).as_str().to_owned(),
                Err(_) => (*id).to_owned(),
            })
            .collect()
    }

    /// Exact names first, then shorter names, then by name, kind and id; every word must start
    /// a word of the name, either spelling of the Norwegian letters; digits also find orgnrs.
    #[rstest]
    #[case::plain_spelling("rokke", None, 10, &["1"], 1)]
    #[case::with_the_letter("røkke", None, 10, &["1"], 1)]
    #[case::transliterated("aase", None, 10, &["a", "c"], 2)]
    #[case::shorter_then_by_name("tvist", None, 10, &["4", "2", "3", "b"], 4)]
    #[case::every_word_the_exact_first("tvist as", None, 10, &["2", "4", "3"], 3)]
    #[case::a_prefix_of_a_word("tvi an", None, 10, &["b"], 1)]
    #[case::only_persons("tvist", Some(OwnerKind::Person), 10, &["b"], 1)]
    #[case::only_organisations("åse", Some(OwnerKind::Organisation), 10, &[], 0)]
    #[case::the_first_of_more("tvist", None, 2, &["4", "2"], 4)]
    #[case::an_orgnr_prefix("8000", None, 10, &["4", "2", "3", "1"], 4)]
    #[case::a_digit_word("5", None, 10, &["3"], 1)]
    #[case::nothing("ukjent", None, 10, &[], 0)]
    fn a_search_answers_as_the_read_model(
        #[case] query: &str,
        #[case] kind: Option<OwnerKind>,
        #[case] limit: u32,
        #[case] expected: &[&str],
        #[case] total: u64,
    ) {
        let names = Names::of(register());
        assert_eq!(found(&names, query, kind, limit), (ids(expected), total));
    }

    /// A name that is the query comes before shorter names that merely match it, and an
    /// organisation whose orgnr is the query before any name; whether it was there when the
    /// index was built or added since.
    #[rstest]
    #[case::built_with_it(false)]
    #[case::added_since(true)]
    fn an_exact_match_comes_first(#[case] added: bool) {
        let exact = profile(person_ref("x"), "TVIST TV");
        let mut names = Names::of([
            profile(org_ref(orgnr(1)), "TVIST"),
            profile(org_ref(orgnr(2)), "TVIST TVEIT"),
        ]);
        names.set(&person_ref("x"), added.then(|| exact.clone()));
        if !added {
            names = Names::of([
                profile(org_ref(orgnr(1)), "TVIST"),
                profile(org_ref(orgnr(2)), "TVIST TVEIT"),
                exact,
            ]);
        }
        assert_eq!(
            found(&names, "tvist tv", None, 10),
            (ids(&["x", "1", "2"]), 3)
        );
        assert_eq!(found(&names, "tvist tv", None, 1), (ids(&["x"]), 3));
        assert_eq!(found(&names, orgnr(2).as_str(), None, 10), (ids(&["2"]), 1));
    }

    /// Parties registered, renamed or shown differently after the index was built are found
    /// in their place among the rest.
    #[test]
    fn changes_after_it_was_built_are_found_in_order() {
        let mut names = Names::of(register());
        // Asked before the changes, and so merged: the changes are found all the same.
        assert_eq!(found(&names, "tvist", None, 10).1, 4);
        assert_eq!(found(&names, "anne", None, 10).1, 1);
        // A new person whose name comes between the others', and one after them all.
        names.set(
            &person_ref("d"),
            Some(profile(person_ref("d"), "TVIST AAA")),
        );
        names.set(
            &person_ref("e"),
            Some(profile(person_ref("e"), "TVIST ZZZZZZZZ")),
        );
        assert_eq!(
            found(&names, "tvist", None, 3),
            (ids(&["4", "2", "d"]), 6),
            "the new name of 9 letters comes after those of 8"
        );
        assert_eq!(
            found(&names, "tvist", None, 10),
            (ids(&["4", "2", "d", "3", "b", "e"]), 6)
        );
        // A renamed organisation is found by its new name only.
        names.set(
            &org_ref(orgnr(2)),
            Some(profile(org_ref(orgnr(2)), "BRAVO AS")),
        );
        assert_eq!(
            found(&names, "tvist", None, 10),
            (ids(&["4", "d", "3", "b", "e"]), 5)
        );
        assert_eq!(found(&names, "bravo", None, 10), (ids(&["2"]), 1));
        assert_eq!(found(&names, "8000", None, 10).1, 4, "by orgnr still, once");
        // What is shown changes in place; a party no longer registered is not found.
        let mut swedish = profile(person_ref("b"), "TVIST ANNE");
        swedish.country = country("SE");
        names.set(&person_ref("b"), Some(swedish.clone()));
        let query = SearchQuery::parse("anne", None).expect("a query");
        assert_eq!(names.search_ranked(&query, 10).parties, vec![swedish]);
        names.set(&person_ref("b"), None);
        assert_eq!(found(&names, "anne", None, 10), (vec![], 0));
        assert_eq!(names.len(), 8);
    }
}
