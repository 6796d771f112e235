//! `GET /api/{orgnr}/bods`: the company and everything above it as Beneficial Ownership Data
//! Standard 0.4 statements.

use shareholders_ports::Service;
use warp::http::StatusCode;

use super::{Reply, absent, finish, json, orgnr, query, query_problem};

pub async fn bods(nr: String, raw: String, service: Service) -> Reply {
    finish(
        async {
            let orgnr = orgnr(&nr)?;
            let q = query(&raw, false)?;
            let statements = crate::bods::network(&service, q.register, orgnr, q.min_position)
                .await
                .map_err(query_problem)?
                .ok_or_else(|| absent(orgnr, q.register))?;
            Ok(json(StatusCode::OK, &statements))
        }
        .await,
    )
}
