//! `GET /api/search`: parties by name or orgnr.

use shareholders_domain::{OwnerKind, SearchQuery};
use shareholders_ports::Service;
use warp::http::StatusCode;

use super::{Reply, finish, json, query, query_problem};
use crate::dto::SearchOut;
use crate::problem::{FieldError, Problem};
use crate::request::{known_once, query_pairs};

/// The search's own parameters, `q` (required) and `kind`, each at most once.
fn search_query(raw: &str) -> Result<SearchQuery, Problem> {
    let pairs = query_pairs(raw)?;
    let mut errors = Vec::new();
    let (mut text, mut kind) = (None, None);
    for (name, value) in known_once(&pairs, &["q", "kind"], &mut errors) {
        if name == "q" {
            text = Some(value);
        } else {
            kind = Some(value);
        }
    }
    let kind = match kind {
        None => None,
        Some(value) => match OwnerKind::parse(value) {
            Some(kind) => Some(kind),
            None => {
                errors.push(FieldError::new(
                    "kind",
                    format!("is \"organization\" or \"person\", not {value:?}"),
                ));
                None
            }
        },
    };
    let parsed = match text {
        None => {
            errors.push(FieldError::new("q", "is required"));
            None
        }
        Some(text) => SearchQuery::parse(text, kind)
            .map_err(|e| errors.push(FieldError::new("q", e)))
            .ok(),
    };
    match parsed {
        Some(query) if errors.is_empty() => Ok(query),
        _ => Err(Problem::validation(errors)),
    }
}

pub async fn search(raw: String, service: Service) -> Reply {
    finish(
        async {
            let q = query(&raw, true);
            let search = search_query(&raw);
            // Every invalid parameter in one problem.
            let (q, search) = match (q, search) {
                (Ok(q), Ok(search)) => (q, search),
                (q, search) => {
                    let mut errors = Vec::new();
                    for problem in [q.err(), search.err()].into_iter().flatten() {
                        errors.extend(problem.field_errors());
                    }
                    return Err(Problem::validation(errors));
                }
            };
            let view = service
                .search(q.register, &search, q.page, q.min_position)
                .await
                .map_err(query_problem)?;
            Ok(json(StatusCode::OK, &SearchOut::new(&search, &view)))
        }
        .await,
    )
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;

    #[rstest]
    #[case("q=tvist", Some(("tvist", None)))]
    #[case("q=R%C3%98KKE&kind=person", Some(("roekke", Some(OwnerKind::Person))))]
    #[case("q=tvist&kind=organization&page=2", Some(("tvist", Some(OwnerKind::Organisation))))]
    #[case("", None)]
    #[case("q=", None)]
    #[case("q=a&q=b", None)]
    #[case("q=a&kind=company", None)]
    #[case("q=a&kind=person&kind=person", None)]
    fn reads_q_and_kind(#[case] raw: &str, #[case] expected: Option<(&str, Option<OwnerKind>)>) {
        let parsed = search_query(raw);
        match expected {
            Some((folded, kind)) => {
                let query = parsed.expect("valid");
                assert_eq!((query.folded(), query.kind()), (folded, kind));
            }
            None => assert!(parsed.is_err(), "{raw} should be refused"),
        }
    }
}
