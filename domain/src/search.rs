//! Searching the register by name or orgnr: how a name is folded into search words, and what a
//! search asks for.
//!
//! A name matches a query when every word of the query is the start of some word of the name,
//! after both are folded: lower case, other accents dropped (`é` → `e`), anything that is not a
//! letter or a digit a word break, and the Norwegian letters spelt as a keyboard without them
//! spells them. A name is folded both ways people spell them: transliterated (`æ` → `ae`,
//! `ø` → `oe`, `å` → `aa`) and plain (`æ` → `ae`, `ø` → `o`, `å` → `a`); a query is
//! transliterated. So `rokke` and `røkke` find RØKKE, `aase` and `åse` find ÅSE, `radhus`
//! finds RÅDHUSGATEN and `tvist 5` finds TVIST 5 AS. A query of digits also finds the
//! companies whose orgnr starts with them.
//!
//! Matches are ranked: a name equal to the query (folded) first, then shorter names, then by
//! name ([`NameOrder`]), so that the company a user typed in full comes before the longer names
//! that merely contain its words.

use std::fmt;

use crate::OwnerKind;

/// The longest query accepted, in characters.
pub const MAX_QUERY_CHARS: usize = 100;

/// The most words a query may have; more only narrow a search that is already narrow.
pub const MAX_QUERY_WORDS: usize = 8;

/// The two ways a keyboard without the Norwegian letters spells them.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Spelling {
    /// The standard transliteration: æ → ae, ø → oe, å → aa (`aase` for ÅSE).
    Transliterated,
    /// The letters without their marks: æ → ae, ø → o, å → a (`rokke` for RØKKE).
    Plain,
}

/// A character folded for search, pushed onto `out`: one or two letters, a digit, or a space
/// for anything that separates words.
fn fold_char(c: char, spelling: Spelling, out: &mut String) {
    let folded = match (c, spelling) {
        ('æ' | 'Æ', _) => "ae",
        ('ø' | 'Ø', Spelling::Transliterated) => "oe",
        ('ø' | 'Ø', Spelling::Plain) => "o",
        ('å' | 'Å', Spelling::Transliterated) => "aa",
        ('å' | 'Å', Spelling::Plain) => "a",
        ('à' | 'á' | 'â' | 'ã' | 'ä' | 'À' | 'Á' | 'Â' | 'Ã' | 'Ä', _) => "a",
        ('ç' | 'Ç', _) => "c",
        ('è' | 'é' | 'ê' | 'ë' | 'È' | 'É' | 'Ê' | 'Ë', _) => "e",
        ('ì' | 'í' | 'î' | 'ï' | 'Ì' | 'Í' | 'Î' | 'Ï', _) => "i",
        ('ñ' | 'Ñ', _) => "n",
        ('ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'Ò' | 'Ó' | 'Ô' | 'Õ' | 'Ö', _) => "o",
        ('ù' | 'ú' | 'û' | 'ü' | 'Ù' | 'Ú' | 'Û' | 'Ü', _) => "u",
        ('ý' | 'ÿ' | 'Ý', _) => "y",
        ('ß', _) => "ss",
        (c, _) if c.is_alphanumeric() => {
            out.extend(c.to_lowercase());
            return;
        }
        _ => " ",
    };
    out.push_str(folded);
}

fn fold_as(text: &str, spelling: Spelling) -> String {
    let mut folded = String::with_capacity(text.len());
    for c in text.chars() {
        fold_char(c, spelling, &mut folded);
    }
    folded.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `text` folded for search (see the module's documentation), with the Norwegian letters
/// transliterated: its words, lower case, separated by one space. A query is folded this way.
#[must_use]
pub fn fold(text: &str) -> String {
    fold_as(text, Spelling::Transliterated)
}

/// The distinct search words of a name, in the order they first appear: its words folded
/// both ways a keyboard without the Norwegian letters spells them (RØKKE gives `roekke` and
/// `rokke`, ÅSE gives `aase` and `ase`). A store indexes these to find a name by the start
/// of any of its words.
#[must_use]
pub fn search_words(name: &str) -> Vec<String> {
    let mut words: Vec<String> = Vec::new();
    for spelling in [Spelling::Transliterated, Spelling::Plain] {
        for word in fold_as(name, spelling).split(' ').filter(|w| !w.is_empty()) {
            if !words.iter().any(|seen| seen == word) {
                words.push(word.to_owned());
            }
        }
    }
    words
}

/// Whether `name` matches a query's words: each is the start of one of the name's words.
#[must_use]
pub fn matches_words(name: &str, words: &[String]) -> bool {
    let own = search_words(name);
    words
        .iter()
        .all(|word| own.iter().any(|own| own.starts_with(word.as_str())))
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SearchQueryError {
    #[error("a search needs some letters or digits")]
    Empty,
    #[error("a search has at most {MAX_QUERY_CHARS} characters, not {0}")]
    TooLong(usize),
    #[error("a search has at most {MAX_QUERY_WORDS} words, not {0}")]
    TooManyWords(usize),
}

/// What a search asks for: the folded words every name must start words with, the orgnr prefix
/// when the query is digits, and optionally only one kind of party.
#[derive(Clone, PartialEq, Eq)]
pub struct SearchQuery {
    folded: String,
    words: Vec<String>,
    orgnr_prefix: Option<String>,
    kind: Option<OwnerKind>,
}

impl SearchQuery {
    /// # Errors
    /// [`SearchQueryError`] for a query with no letter or digit, longer than
    /// [`MAX_QUERY_CHARS`], or of more than [`MAX_QUERY_WORDS`] words.
    pub fn parse(input: &str, kind: Option<OwnerKind>) -> Result<Self, SearchQueryError> {
        let length = input.chars().count();
        if length > MAX_QUERY_CHARS {
            return Err(SearchQueryError::TooLong(length));
        }
        let folded = fold(input);
        if folded.is_empty() {
            return Err(SearchQueryError::Empty);
        }
        let mut words: Vec<String> = Vec::new();
        for word in folded.split(' ') {
            if !words.iter().any(|seen| seen == word) {
                words.push(word.to_owned());
            }
        }
        if words.len() > MAX_QUERY_WORDS {
            return Err(SearchQueryError::TooManyWords(words.len()));
        }
        // Orgnrs are often written in groups of three: "923 609 016".
        let digits: String = input.chars().filter(|c| !c.is_whitespace()).collect();
        let orgnr_prefix =
            (!digits.is_empty() && digits.len() <= 9 && digits.bytes().all(|b| b.is_ascii_digit()))
                .then_some(digits);
        Ok(Self {
            folded,
            words,
            orgnr_prefix,
            kind,
        })
    }

    /// The whole query folded: a name whose [`fold`] equals it is an exact match.
    #[must_use]
    pub fn folded(&self) -> &str {
        &self.folded
    }

    /// The folded words; a name matches when each starts one of its [`search_words`].
    #[must_use]
    pub fn words(&self) -> &[String] {
        &self.words
    }

    /// The digits an orgnr must start with, when the query is one to nine digits.
    #[must_use]
    pub fn orgnr_prefix(&self) -> Option<&str> {
        self.orgnr_prefix.as_deref()
    }

    /// Only organisations or only persons, when asked.
    #[must_use]
    pub fn kind(&self) -> Option<OwnerKind> {
        self.kind
    }

    /// Whether a party with this name (and orgnr, for an organisation) matches.
    #[must_use]
    pub fn matches(&self, name: &str, orgnr: Option<&str>) -> bool {
        matches_words(name, &self.words)
            || matches!((self.orgnr_prefix(), orgnr), (Some(prefix), Some(orgnr)) if orgnr.starts_with(prefix))
    }

    /// The order of matches: exact names (and the orgnr typed in full) first, then shorter
    /// names, then by folded name; ties are broken by the store by kind and id.
    #[must_use]
    pub fn rank(&self, name: &str, orgnr: Option<&str>) -> SearchRank {
        let order = NameOrder::of(name);
        SearchRank {
            exact: !self.is_exact(&order, orgnr),
            order,
        }
    }

    /// Whether a name whose [`NameOrder`] is `order` (and orgnr, for an organisation) is
    /// exactly what was searched for: such matches come first.
    #[must_use]
    pub fn is_exact(&self, order: &NameOrder, orgnr: Option<&str>) -> bool {
        order.folded == self.folded || orgnr.is_some_and(|orgnr| Some(orgnr) == self.orgnr_prefix())
    }
}

/// Where a name comes among matches that are equally exact: shorter folded names first, then
/// by folded name. A store that keeps names in this order can rank a search without ranking
/// its matches one by one.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub struct NameOrder {
    length: usize,
    folded: String,
}

impl NameOrder {
    #[must_use]
    pub fn of(name: &str) -> Self {
        let folded = fold(name);
        Self {
            length: folded.chars().count(),
            folded,
        }
    }
}

impl fmt::Debug for SearchQuery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("SearchQuery").field(&self.folded).finish()
    }
}

/// Where a match comes in the results: compare two ranks, the smaller first.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub struct SearchRank {
    /// `false` for an exact match, so that exact matches sort first.
    exact: bool,
    order: NameOrder,
}

impl SearchRank {
    /// Whether the name (or orgnr) is exactly what was searched for.
    #[must_use]
    pub fn is_exact(&self) -> bool {
        !self.exact
    }

    /// The folded name's length in characters.
    #[must_use]
    pub fn length(&self) -> usize {
        self.order.length
    }
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;

    #[rstest]
    #[case("RØKKE", "roekke")]
    #[case("ÅSE HANSEN", "aase hansen")]
    #[case("Kjærlighet", "kjaerlighet")]
    #[case("TVIST 5 AS", "tvist 5 as")]
    #[case("  A/S  Møller-Mærsk ", "a s moeller maersk")]
    #[case("Société Générale", "societe generale")]
    #[case("Müller & Söhne", "muller sohne")]
    #[case("<script>alert(1)</script>", "script alert 1 script")]
    #[case("", "")]
    fn folds_names(#[case] name: &str, #[case] folded: &str) {
        assert_eq!(fold(name), folded);
    }

    #[rstest]
    #[case("TVIST 5 AS", &["tvist", "5", "as"])]
    #[case("AS AS BERGEN", &["as", "bergen"])]
    #[case("RØKKE ÅSE AS", &["roekke", "aase", "as", "rokke", "ase"])]
    #[case("KJÆR", &["kjaer"])]
    #[case("---", &[])]
    fn search_words_are_distinct_and_ordered(#[case] name: &str, #[case] words: &[&str]) {
        assert_eq!(search_words(name), words);
    }

    #[rstest]
    #[case("tvist", "TVIST 5 AS", true)]
    #[case("tv 5", "TVIST 5 AS", true)]
    #[case("5 tvist", "TVIST 5 AS", true)]
    #[case("vist", "TVIST 5 AS", false)]
    #[case("tvist 6", "TVIST 5 AS", false)]
    #[case("rokke", "RØKKE AS", true)]
    #[case("røkke", "RØKKE AS", true)]
    #[case("aase", "ÅSE HANSEN", true)]
    #[case("åse", "AASE HANSEN", true)]
    #[case("kjaer", "KJÆR AS", true)]
    #[case("radhus", "RÅDHUSGATEN 24 AS", true)]
    #[case("roekke", "RØKKE AS", true)]
    #[case("rokke", "ROEKKE AS", false)]
    fn matches_every_word_as_the_start_of_a_word(
        #[case] query: &str,
        #[case] name: &str,
        #[case] expected: bool,
    ) {
        let query = SearchQuery::parse(query, None).expect("query");
        assert_eq!(query.matches(name, None), expected, "{query:?} {name}");
    }

    #[rstest]
    #[case("923609016", Some("923609016"))]
    #[case("923 609", Some("923609"))]
    #[case("9", Some("9"))]
    #[case("9236090160", None)]
    #[case("tvist 5", None)]
    fn digits_are_an_orgnr_prefix(#[case] query: &str, #[case] prefix: Option<&str>) {
        let query = SearchQuery::parse(query, None).expect("query");
        assert_eq!(query.orgnr_prefix(), prefix);
    }

    #[test]
    fn an_orgnr_prefix_finds_the_company_whatever_its_name() {
        let query = SearchQuery::parse("9236", None).expect("query");
        assert!(query.matches("EQUINOR ASA", Some("923609016")));
        assert!(!query.matches("EQUINOR ASA", Some("823609016")));
    }

    #[rstest]
    #[case("", SearchQueryError::Empty)]
    #[case("  -- ", SearchQueryError::Empty)]
    #[case(&"a".repeat(101), SearchQueryError::TooLong(101))]
    #[case("a b c d e f g h i", SearchQueryError::TooManyWords(9))]
    fn refuses_queries_that_search_nothing_or_too_much(
        #[case] query: &str,
        #[case] error: SearchQueryError,
    ) {
        assert_eq!(SearchQuery::parse(query, None), Err(error));
    }

    #[test]
    fn a_hundred_characters_is_the_longest_query() {
        assert!(SearchQuery::parse(&"å".repeat(MAX_QUERY_CHARS), None).is_ok());
    }

    #[test]
    fn ranks_exact_names_first_then_shorter_then_by_name() {
        let query = SearchQuery::parse("tvist as", None).expect("query");
        let mut names = vec![
            "TVIST 5 AS",
            "AS TVIST",
            "TVIST AS",
            "TVISTEN BÅT AS",
            "TVIST 1 AS",
        ];
        names.sort_by_key(|name| query.rank(name, None));
        assert_eq!(
            names,
            [
                "TVIST AS",
                "AS TVIST",
                "TVIST 1 AS",
                "TVIST 5 AS",
                "TVISTEN BÅT AS"
            ]
        );
        assert!(query.rank("Tvist  AS", None).is_exact());
    }

    #[test]
    fn the_orgnr_typed_in_full_is_an_exact_match() {
        let query = SearchQuery::parse("923609016", None).expect("query");
        assert!(query.rank("EQUINOR ASA", Some("923609016")).is_exact());
        assert!(!query.rank("EQUINOR ASA", Some("923609017")).is_exact());
    }
}
