//! The ownership graph's handlers: ultimate and beneficial owners, ultimate holdings, and the
//! graph for drawing.

use shareholders_domain::OwnerRef;
use shareholders_ports::{GraphDirection, GraphRequest, GraphRequestError, Service};
use warp::http::StatusCode;

use super::{Outcome, Reply, absent, finish, json, orgnr, person_id, query, query_problem};
use crate::dto::{BeneficialOwnersOut, GraphOut, UltimateHoldingsOut, UltimateOwnersOut};
use crate::problem::{FieldError, Problem};
use crate::request::{known_once, number, query_pairs};

/// The graph reads' own parameters: `min_percentage`, and `direction`, `depth` and `limit`.
#[derive(Clone, Copy, Debug, Default)]
struct GraphParameters {
    min_percentage: Option<f64>,
    direction: Option<GraphDirection>,
    depth: Option<u32>,
    limit: Option<u32>,
}

fn graph_parameters(raw: &str) -> Result<GraphParameters, Problem> {
    let pairs = query_pairs(raw)?;
    let mut errors = Vec::new();
    let mut found = GraphParameters::default();
    let known = ["min_percentage", "direction", "depth", "limit"];
    for (name, value) in known_once(&pairs, &known, &mut errors) {
        match name {
            "min_percentage" => match value.parse::<f64>() {
                Ok(p) if (0.0..=100.0).contains(&p) => found.min_percentage = Some(p),
                _ => errors.push(FieldError::new(
                    "min_percentage",
                    format!("must be a number from 0 to 100, not {value:?}"),
                )),
            },
            "direction" => match value {
                "up" => found.direction = Some(GraphDirection::Up),
                "down" => found.direction = Some(GraphDirection::Down),
                "both" => found.direction = Some(GraphDirection::Both),
                _ => errors.push(FieldError::new(
                    "direction",
                    format!("is \"up\", \"down\" or \"both\", not {value:?}"),
                )),
            },
            "depth" => found.depth = number("depth", value, &mut errors),
            _ => found.limit = number("limit", value, &mut errors),
        }
    }
    if errors.is_empty() {
        Ok(found)
    } else {
        Err(Problem::validation(errors))
    }
}

pub async fn ultimate_owners(nr: String, raw: String, service: Service) -> Reply {
    finish(
        async {
            let orgnr = orgnr(&nr)?;
            let q = query(&raw, true)?;
            let parameters = graph_parameters(&raw)?;
            let view = service
                .ultimate_owners(
                    q.register,
                    orgnr,
                    parameters.min_percentage.unwrap_or(0.0) / 100.0,
                    q.page,
                    q.min_position,
                )
                .await
                .map_err(query_problem)?
                .ok_or_else(|| absent(orgnr, q.register))?;
            Ok(json(StatusCode::OK, &UltimateOwnersOut::from(&view)))
        }
        .await,
    )
}

pub async fn beneficial_owners(nr: String, raw: String, service: Service) -> Reply {
    finish(
        async {
            let orgnr = orgnr(&nr)?;
            let q = query(&raw, false)?;
            let view = service
                .beneficial_owners(q.register, orgnr, q.min_position)
                .await
                .map_err(query_problem)?
                .ok_or_else(|| absent(orgnr, q.register))?;
            Ok(json(StatusCode::OK, &BeneficialOwnersOut::from(&view)))
        }
        .await,
    )
}

async fn ultimate_holdings_of(party: OwnerRef, raw: &str, service: &Service) -> Outcome {
    let q = query(raw, true)?;
    let view = service
        .ultimate_holdings(q.register, &party, q.page, q.min_position)
        .await
        .map_err(query_problem)?
        .ok_or_else(|| Problem::not_found(format!("{party} is not registered")))?;
    Ok(json(StatusCode::OK, &UltimateHoldingsOut::from(&view)))
}

pub async fn organisation_ultimate_holdings(nr: String, raw: String, service: Service) -> Reply {
    finish(
        async {
            let orgnr = orgnr(&nr)?;
            ultimate_holdings_of(OwnerRef::Organisation(orgnr), &raw, &service).await
        }
        .await,
    )
}

pub async fn person_ultimate_holdings(id: String, raw: String, service: Service) -> Reply {
    finish(
        async {
            let id = person_id(&id)?;
            ultimate_holdings_of(OwnerRef::Person(id), &raw, &service).await
        }
        .await,
    )
}

pub async fn graph(nr: String, raw: String, service: Service) -> Reply {
    finish(
        async {
            let orgnr = orgnr(&nr)?;
            let q = query(&raw, false)?;
            let parameters = graph_parameters(&raw)?;
            let request =
                GraphRequest::new(parameters.direction, parameters.depth, parameters.limit)
                    .map_err(|e| {
                        let field = match e {
                            GraphRequestError::Depth => "depth",
                            GraphRequestError::Limit => "limit",
                        };
                        Problem::validation(vec![FieldError::new(field, e)])
                    })?;
            let view = service
                .ownership_graph(q.register, orgnr, request, q.min_position)
                .await
                .map_err(query_problem)?
                .ok_or_else(|| absent(orgnr, q.register))?;
            Ok(json(StatusCode::OK, &GraphOut::from(&view)))
        }
        .await,
    )
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::graph_parameters;

    #[rstest]
    #[case("min_percentage=25", true)]
    #[case("min_percentage=0.5&direction=up&depth=3&limit=10", true)]
    #[case("min_percentage=101", false)]
    #[case("min_percentage=-1", false)]
    #[case("min_percentage=NaN", false)]
    #[case("direction=sideways", false)]
    #[case("depth=-1", false)]
    #[case("limit=x", false)]
    // Which of two values was meant is not ours to guess.
    #[case("depth=1&depth=2", false)]
    #[case("direction=up&direction=down", false)]
    #[case("min_percentage=1&min_percentage=1", false)]
    // Other parameters are the shared reads' (or nobody's).
    #[case("depth=1&page=2&page=3&other=x", true)]
    fn graph_parameters_are_checked(#[case] raw: &str, #[case] valid: bool) {
        assert_eq!(graph_parameters(raw).is_ok(), valid, "{raw}");
    }
}
