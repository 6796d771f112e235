//! The search use case: parties by name or orgnr, ranked by the domain's rule.

use shareholders_domain::{OwnerProfile, OwnerRef, Position, Register, SearchQuery};

use super::{PageInfo, QueryError, Service, page_of};
use crate::PageRequest;

/// The most matches a search ranks and pages through; a query that matches more says how many
/// in [`SearchView::total_matches`], and a longer query narrows it.
pub const MAX_SEARCH_RESULTS: u32 = 1_000;

/// A page of what a search found.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct SearchView {
    /// The parties of the page, best first (see [`SearchQuery::rank`]).
    pub parties: Vec<OwnerProfile>,
    /// The page's place among the ranked results, at most [`MAX_SEARCH_RESULTS`] of them.
    pub page: PageInfo,
    /// Every party that matches, ranked or not.
    pub total_matches: u64,
}

impl Service {
    /// Searches the register's parties by name or orgnr (see [`SearchQuery`]): the shortest
    /// [`MAX_SEARCH_RESULTS`] matches are ranked by [`SearchQuery::rank`] (exact names first,
    /// then shorter names), then by kind and id, and paged. A store that ranks a search itself
    /// ([`ReadStore::search_ranked`](crate::ReadStore::search_ranked)) gives only what the page
    /// needs, ranked among every match.
    ///
    /// # Errors
    /// See [`Service::reader`].
    pub async fn search(
        &self,
        register: Register,
        query: &SearchQuery,
        page: PageRequest,
        min_position: Option<Position>,
    ) -> Result<SearchView, QueryError> {
        let read = self.reader(register, min_position).await?;
        let through = (page.offset() + u64::from(page.size())).min(u64::from(MAX_SEARCH_RESULTS));
        let wanted = u32::try_from(through).unwrap_or(MAX_SEARCH_RESULTS);
        if let Some(matches) = read.search_ranked(query, wanted).await? {
            // The page of what was ranked, counted as every match that would be.
            let (parties, _) = page_of(matches.parties, page);
            let ranked = matches.total.min(u64::from(MAX_SEARCH_RESULTS));
            return Ok(SearchView {
                parties,
                page: PageInfo::new(page, ranked),
                total_matches: matches.total,
            });
        }
        let matches = read.search(query, MAX_SEARCH_RESULTS).await?;
        let mut ranked: Vec<_> = matches
            .parties
            .into_iter()
            .map(|party| {
                let orgnr = match &party.owner {
                    OwnerRef::Organisation(orgnr) => Some(orgnr.as_str().to_owned()),
                    OwnerRef::Person(_) => None,
                };
                let rank = query.rank(party.name.as_str(), orgnr.as_deref());
                (rank, party)
            })
            .collect();
        ranked.sort_by(|(a, left), (b, right)| {
            a.cmp(b)
                .then_with(|| left.owner.kind().as_str().cmp(right.owner.kind().as_str()))
                .then_with(|| left.owner.id().cmp(right.owner.id()))
        });
        let (parties, page) = page_of(ranked.into_iter().map(|(_, party)| party).collect(), page);
        Ok(SearchView {
            parties,
            page,
            total_matches: matches.total,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use shareholders_domain::{Country, Name, OrgNr, PersonId};

    use super::*;
    use crate::{MockReadStore, MockWriteStore, SearchMatches};

    fn organisation(orgnr: &str, name: &str) -> OwnerProfile {
        OwnerProfile {
            owner: OwnerRef::Organisation(OrgNr::parse(orgnr).expect("orgnr")),
            name: Name::parse(name).expect("name"),
            country: Country::parse("NO").expect("country"),
            birth_year: None,
        }
    }

    fn person(id: &str, name: &str) -> OwnerProfile {
        OwnerProfile {
            owner: OwnerRef::Person(PersonId::parse(id).expect("id")),
            name: Name::parse(name).expect("name"),
            country: Country::parse("NO").expect("country"),
            birth_year: None,
        }
    }

    fn service(matches: SearchMatches) -> Service {
        let mut read = MockReadStore::new();
        read.expect_search_ranked().returning(|_, _| Ok(None));
        read.expect_search()
            .withf(|query, limit| query.folded() == "tvist as" && *limit == MAX_SEARCH_RESULTS)
            .times(1)
            .return_once(move |_, _| Ok(matches));
        Service::new(Arc::new(MockWriteStore::new()), Arc::new(read))
    }

    /// Page `page` of `size` of a search for "Tvist AS", and the ids it shows.
    async fn searched(service: &Service, page: u32, size: u32) -> (SearchView, Vec<String>) {
        let query = SearchQuery::parse("Tvist AS", None).expect("query");
        let page = PageRequest::new(Some(page), Some(size)).expect("page");
        let view = service
            .search(Register::Live, &query, page, None)
            .await
            .expect("search");
        let ids = view
            .parties
            .iter()
            .map(|p| p.owner.id().to_owned())
            .collect();
        (view, ids)
    }

    #[tokio::test]
    async fn ranks_what_the_store_found_and_pages_it() {
        let service = service(SearchMatches {
            total: 4_321,
            parties: vec![
                organisation("891450052", "AS TVIST"),
                person("p1", "TVIST ÅS"),
                organisation("911964236", "TVIST AS"),
                organisation("988844322", "TVIST 1 AS"),
                person("p0", "TVIST AS"),
            ],
        });
        let (view, ids) = searched(&service, 1, 3).await;
        // Exact names first (organisations before persons, then by id), then the shorter.
        assert_eq!(ids, ["911964236", "p0", "891450052"]);
        assert_eq!(view.total_matches, 4_321);
        assert_eq!(view.page.total_items, 5);
        assert_eq!(view.page.total_pages, 2);
    }

    /// A store that ranks a search itself is asked for what the page needs, and its ranking
    /// is kept; the page counts at most the ranked results.
    #[tokio::test]
    async fn a_ranked_store_gives_only_what_the_page_needs() {
        let ranked: Vec<OwnerProfile> = (0..6)
            .map(|n| person(&format!("p{n}"), &format!("TVIST {n}")))
            .collect();
        let mut read = MockReadStore::new();
        read.expect_search().never();
        read.expect_search_ranked()
            .withf(|query, limit| query.folded() == "tvist as" && *limit == 6)
            .times(1)
            .return_once(move |_, _| {
                Ok(Some(SearchMatches {
                    total: 4_321,
                    parties: ranked,
                }))
            });
        let service = Service::new(Arc::new(MockWriteStore::new()), Arc::new(read));
        let (view, ids) = searched(&service, 2, 3).await;
        assert_eq!(ids, ["p3", "p4", "p5"]);
        assert_eq!(view.total_matches, 4_321);
        assert_eq!(view.page.total_items, u64::from(MAX_SEARCH_RESULTS));
        assert_eq!(view.page.total_pages, 334);
    }

    #[tokio::test]
    async fn a_page_past_the_results_is_empty() {
        let service = service(SearchMatches {
            total: 1,
            parties: vec![organisation("911964236", "TVIST AS")],
        });
        let query = SearchQuery::parse("tvist as", None).expect("query");
        let page = PageRequest::new(Some(2), Some(10)).expect("page");
        let view = service
            .search(Register::Live, &query, page, None)
            .await
            .expect("search");
        assert!(view.parties.is_empty());
        assert_eq!(view.page.total_items, 1);
    }
}
