//! The web pages for people: a search box (`/`, `/?q=…`), a company (`/company/{orgnr}`) and a
//! person (`/person/{id}`), and the assets they load (`/assets/{version}/…`).
//!
//! Everything is embedded in the binary at build time (`apps/http/assets/`), so the pages work
//! with nothing else installed and nothing loaded from another origin. The pages read the
//! register from the public JSON API only, from JavaScript; the server only checks that the
//! party a page is about exists, so that an unknown orgnr is a 404 page and one with a wrong
//! check digit a 400 page, not an empty table. Errors here are HTML pages, not problem details.

use std::fmt::Write as _;
use std::sync::OnceLock;

use sha2::{Digest, Sha256};
use shareholders_domain::{OrgNr, PersonId, Register};
use shareholders_ports::{QueryError, Service};
use warp::Filter;
use warp::filters::BoxedFilter;
use warp::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY as CSP, CONTENT_TYPE, HeaderValue, REFERRER_POLICY,
    X_CONTENT_TYPE_OPTIONS,
};
use warp::http::{Response, StatusCode};
use warp::reply::Response as Reply;

use crate::problem::Problem;

#[cfg(test)]
mod tests;

/// What a page may load: its own scripts, styles and images and the API of its own origin;
/// no inline script or style, nothing from anywhere else, no framing.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; \
     form-action 'self'; frame-ancestors 'none'";

const HTML: &str = "text/html; charset=utf-8";
const JAVASCRIPT: &str = "text/javascript; charset=utf-8";
const TEXT: &str = "text/plain; charset=utf-8";

/// Assets under the current version's path never change: a new binary has a new version.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// Pages, and assets asked for under another version, are checked again on every use.
const REVALIDATE: &str = "no-cache";

/// A file the pages load, embedded at build time.
struct Asset {
    path: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

macro_rules! asset {
    ($path:literal, $content_type:expr) => {
        Asset {
            path: $path,
            content_type: $content_type,
            body: include_bytes!(concat!("../assets/", $path)),
        }
    };
}

const ASSETS: &[Asset] = &[
    asset!("page.css", "text/css; charset=utf-8"),
    asset!("icon.svg", "image/svg+xml"),
    asset!("js/api.js", JAVASCRIPT),
    asset!("js/company.js", JAVASCRIPT),
    asset!("js/dom.js", JAVASCRIPT),
    asset!("js/graph.js", JAVASCRIPT),
    asset!("js/party.js", JAVASCRIPT),
    asset!("js/person.js", JAVASCRIPT),
    asset!("js/search.js", JAVASCRIPT),
    asset!("vendor/dagre.min.js", JAVASCRIPT),
    asset!("vendor/dagre-LICENSE.txt", TEXT),
    asset!("vendor/graphlib-LICENSE.txt", TEXT),
];

const LAYOUT: &str = include_str!("../assets/layout.html");
const HEADER_SEARCH: &str = include_str!("../assets/pages/header-search.html");
/// A company's or a person's page: its heading and facts, then its `{{sections}}`.
const PARTY: &str = include_str!("../assets/pages/party.html");

/// The pages, rendered once from their templates.
struct Pages {
    /// The assets' version: part of their path, so that a new binary's are fetched anew.
    version: String,
    search: String,
    company: String,
    person: String,
    /// The error page, still with its `{{status}}`, `{{title}}` and `{{detail}}`.
    error: String,
}

fn pages() -> &'static Pages {
    static PAGES: OnceLock<Pages> = OnceLock::new();
    PAGES.get_or_init(|| {
        let version = version();
        let assets = format!("/assets/{version}");
        let page = |title: &str, header: &str, main: &str, scripts: &[&str]| {
            let scripts: String = scripts
                .iter()
                .map(|script| match script.strip_prefix("module:") {
                    Some(module) => {
                        format!("<script type=\"module\" src=\"{assets}/{module}\"></script>\n")
                    }
                    None => format!("<script src=\"{assets}/{script}\"></script>\n"),
                })
                .collect();
            render(
                LAYOUT,
                &[
                    ("assets", &assets),
                    ("title", title),
                    ("header", header),
                    ("main", main),
                    ("scripts", &scripts),
                ],
            )
        };
        Pages {
            search: page(
                "Search",
                "",
                include_str!("../assets/pages/search.html"),
                &["module:js/search.js"],
            ),
            company: page(
                "Company",
                HEADER_SEARCH,
                &party("Company", include_str!("../assets/pages/company.html")),
                &["vendor/dagre.min.js", "module:js/company.js"],
            ),
            person: page(
                "Person",
                HEADER_SEARCH,
                &party("Person", include_str!("../assets/pages/person.html")),
                &["module:js/person.js"],
            ),
            // Its own markers are kept for each error: values are never read as markers.
            error: page(
                "{{title}}",
                HEADER_SEARCH,
                include_str!("../assets/pages/error.html"),
                &[],
            ),
            version,
        }
    })
}

fn party(kind: &str, sections: &str) -> String {
    render(PARTY, &[("kind", kind), ("sections", sections)])
}

/// The first 16 hex digits of the SHA-256 of every asset: the pages themselves are never cached.
fn version() -> String {
    let mut hash = Sha256::new();
    for asset in ASSETS {
        hash.update(asset.path.as_bytes());
        hash.update(asset.body);
    }
    hash.finalize()
        .iter()
        .take(8)
        .fold(String::new(), |mut hex, byte| {
            let _ = write!(hex, "{byte:02x}");
            hex
        })
}

/// Replaces each `{{name}}` of `template` by its value, in one pass: a value is never read for
/// markers. A marker without a value stays as it is.
fn render(template: &str, values: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let value = after.find("}}").and_then(|end| {
            let name = &after[..end];
            values
                .iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| (*value, end))
        });
        match value {
            Some((value, end)) => {
                out.push_str(value);
                rest = &after[end + 2..];
            }
            None => {
                out.push_str("{{");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Text made safe to put in HTML, as an element's content or a quoted attribute.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A reply with the headers every page and asset carries.
fn reply<B>(status: StatusCode, content_type: &'static str, cache: &'static str, body: B) -> Reply
where
    Response<B>: warp::Reply,
{
    let mut response = Response::new(body);
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static(cache));
    headers.insert(CSP, HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    warp::Reply::into_response(response)
}

fn page(body: &'static str) -> Reply {
    reply(StatusCode::OK, HTML, REVALIDATE, body)
}

/// An HTML page that says what went wrong: `title` and `detail` are escaped here.
fn error_page(status: StatusCode, title: &str, detail: &str) -> Reply {
    let code = status.as_u16().to_string();
    let body = render(
        &pages().error,
        &[
            ("status", &code),
            ("title", &escape(title)),
            ("detail", &escape(detail)),
        ],
    );
    reply(status, HTML, REVALIDATE, body)
}

/// At most 40 characters of what a visitor typed, for an error page to quote.
fn quoted(input: &str) -> String {
    let mut shown: String = input.chars().take(40).collect();
    if shown.len() < input.len() {
        shown.push('…');
    }
    shown
}

/// The party a page's path names and the register its `?year=` asks for (the live one without
/// it), or the 400 page that says what is wrong with them.
fn requested<T, E: std::fmt::Display>(
    input: &str,
    raw_query: &str,
    parse: impl FnOnce(&str) -> Result<T, E>,
    not_a: &str,
) -> Result<(T, Register), Box<Reply>> {
    let party = parse(input).map_err(|error| {
        Box::new(error_page(
            StatusCode::BAD_REQUEST,
            &format!("Not {not_a}"),
            &format!("“{}” is not {not_a}: {error}.", quoted(input)),
        ))
    })?;
    let query = crate::request::read_query(raw_query, false).map_err(|problem| {
        Box::new(error_page(
            StatusCode::BAD_REQUEST,
            "Not a register year",
            &detail(&problem),
        ))
    })?;
    Ok((party, query.register))
}

/// A problem's `detail`, as an error page shows it.
fn detail(problem: &Problem) -> String {
    serde_json::to_value(problem)
        .ok()
        .and_then(|value| value["detail"].as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// The page of a party, once the register said whether it has it.
fn party_page<T>(
    found: Result<Option<T>, QueryError>,
    body: &'static str,
    absent: impl FnOnce() -> (String, String),
) -> Reply {
    match found {
        Ok(Some(_)) => page(body),
        Ok(None) => {
            let (title, detail) = absent();
            error_page(StatusCode::NOT_FOUND, &title, &detail)
        }
        Err(QueryError::YearNotImported(year)) => error_page(
            StatusCode::NOT_FOUND,
            "No such register year",
            &format!("The register of {year} has not been imported."),
        ),
        Err(error) => {
            // Logged with its whole chain; the page shows none of it.
            Problem::internal(
                &anyhow::Error::new(error),
                "reading the register for a page",
            );
            error_page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                "The register could not be read. The error has been logged; try again shortly.",
            )
        }
    }
}

fn in_register(register: Register) -> String {
    match register {
        Register::Live => "the register".to_owned(),
        Register::Year(year) => format!("the register of {year}"),
    }
}

/// `GET /company/{orgnr}`.
async fn company(nr: String, raw_query: String, service: Service) -> Reply {
    let (orgnr, register) = match requested(&nr, &raw_query, OrgNr::parse, "an organisation number")
    {
        Ok(requested) => requested,
        Err(page) => return *page,
    };
    let found = service.organisation(register, orgnr, None).await;
    party_page(found, &pages().company, || {
        (
            "No such company".to_owned(),
            format!(
                "No company with orgnr {orgnr} is in {}.",
                in_register(register)
            ),
        )
    })
}

/// `GET /person/{id}`.
async fn person(id: String, raw_query: String, service: Service) -> Reply {
    let (id, register) = match requested(&id, &raw_query, PersonId::parse, "a person id") {
        Ok(requested) => requested,
        Err(page) => return *page,
    };
    let found = service.person(register, &id, None).await;
    party_page(found, &pages().person, || {
        (
            "No such person".to_owned(),
            format!("No person with id {id} is in {}.", in_register(register)),
        )
    })
}

/// `GET /assets/{version}/{path}`: under the current version, cached for good; under another
/// (a page of an older binary), the current file, checked again on every use.
fn asset(version: &str, path: &str) -> Reply {
    match ASSETS.iter().find(|asset| asset.path == path) {
        Some(asset) => {
            let cache = if version == pages().version {
                IMMUTABLE
            } else {
                REVALIDATE
            };
            reply(StatusCode::OK, asset.content_type, cache, asset.body)
        }
        None => reply(
            StatusCode::NOT_FOUND,
            TEXT,
            REVALIDATE,
            format!("no asset {}\n", quoted(path)),
        ),
    }
}

/// The pages' paths, as the metrics label them and a 405's `Allow` names their one method.
pub(crate) const PAGE_TEMPLATES: [&str; 3] = ["/", "/company/{orgnr}", "/person/{id}"];

/// Every asset's path, whatever its depth, is labelled with this one template.
pub(crate) const ASSET_TEMPLATE: &str = "/assets/{version}/{file}";

/// The pages and their assets.
pub fn routes(service: Service) -> BoxedFilter<(Reply,)> {
    let search = warp::path::end()
        .and(warp::get())
        .map(|| page(&pages().search));
    let company = warp::path!("company" / String)
        .and(warp::get())
        .and(crate::raw_query())
        .and(crate::with_service(service.clone()))
        .then(company);
    let person = warp::path!("person" / String)
        .and(warp::get())
        .and(crate::raw_query())
        .and(crate::with_service(service))
        .then(person);
    let assets = warp::path("assets")
        .and(warp::path::param::<String>())
        .and(warp::path::tail())
        .and(warp::get())
        .map(|version: String, tail: warp::path::Tail| asset(&version, tail.as_str()));
    search
        .or(company)
        .unify()
        .or(person)
        .unify()
        .or(assets)
        .unify()
        .boxed()
}
