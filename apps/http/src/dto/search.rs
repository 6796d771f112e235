//! The reply of `GET /api/search`.

use serde::Serialize;
use shareholders_domain::SearchQuery;
use shareholders_ports::SearchView;

use super::{OwnerProfileOut, PageOut};

#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
pub struct SearchOut {
    /// The query as it was searched: folded, its words separated by one space.
    pub query: String,
    /// Organisations and persons, best first.
    pub results: Vec<OwnerProfileOut>,
    /// The page among the ranked results (at most `MAX_SEARCH_RESULTS` of them).
    pub page: PageOut,
    /// Every party that matches, ranked or not.
    pub total_matches: u64,
}

impl SearchOut {
    #[must_use]
    pub fn new(query: &SearchQuery, view: &SearchView) -> Self {
        Self {
            query: query.folded().to_owned(),
            results: view.parties.iter().map(OwnerProfileOut::from).collect(),
            page: view.page.into(),
            total_matches: view.total_matches,
        }
    }
}
