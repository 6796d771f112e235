//! The pages through `warp::test`, over a mocked read model.

use rstest::rstest;
use shareholders_domain::{Country, Name, Organisation, Person};
use shareholders_ports::{CompanyRecord, MockReadStore, PersonRecord, ReadError};

use super::{ASSETS, CONTENT_SECURITY_POLICY, escape, pages, render};

const COMPANY: &str = "891450052";
const PERSON: &str = "p-1";

struct Page {
    status: u16,
    content_type: String,
    cache: String,
    policy: String,
    body: Vec<u8>,
}

impl Page {
    fn text(&self) -> String {
        String::from_utf8(self.body.clone()).expect("UTF-8")
    }
}

/// A read model that knows one company and one person, or that fails when `failing`.
fn read_model(failing: bool) -> MockReadStore {
    let mut read = MockReadStore::new();
    read.expect_organisation().returning(move |orgnr| {
        if failing {
            return Err(ReadError::Unknown(anyhow::anyhow!(
                "secret connection detail"
            )));
        }
        Ok((orgnr.as_str() == COMPANY).then(|| CompanyRecord {
            organisation: Organisation::new(
                orgnr,
                Name::parse("CANICA EIENDOM AS").expect("a name"),
                None,
                None,
                Country::NORWAY,
                None,
            ),
            registered_shares: 0,
            owner_count: 0,
            foreign_owner_count: 0,
            holding_count: 0,
            classes: Vec::new(),
        }))
    });
    read.expect_person().returning(|id| {
        Ok((id.as_str() == PERSON).then(|| PersonRecord {
            person: Person::new(
                id.clone(),
                Name::parse("HAGEN STEIN ERIK").expect("a name"),
                None,
                None,
                None,
                Country::NORWAY,
            ),
            holding_count: 0,
        }))
    });
    read.expect_year().returning(|_| Ok(None));
    read
}

/// GETs `path` from the whole API (pages included), as the binary serves it.
async fn get_with(path: &str, read: MockReadStore) -> Page {
    let response = crate::get_over(path, read).await;
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .map(|value| value.to_str().expect("ASCII").to_owned())
            .unwrap_or_default()
    };
    Page {
        status: response.status().as_u16(),
        content_type: header("content-type"),
        cache: header("cache-control"),
        policy: header("content-security-policy"),
        body: response.body().to_vec(),
    }
}

async fn get(path: &str) -> Page {
    get_with(path, read_model(false)).await
}

/// The `/assets/…` paths a page links to.
fn linked_assets(html: &str) -> Vec<String> {
    html.split(['"', '\''])
        .filter(|piece| piece.starts_with("/assets/"))
        .map(str::to_owned)
        .collect()
}

#[rstest]
#[case("/", "js/search.js")]
#[case("/?q=tvist", "js/search.js")]
#[case("/company/891450052", "js/company.js")]
#[case("/person/p-1", "js/person.js")]
#[tokio::test]
async fn a_page_is_html_under_the_policy_and_loads_its_script(
    #[case] path: &str,
    #[case] script: &str,
) {
    let page = get(path).await;
    assert_eq!(page.status, 200, "{}", page.text());
    assert_eq!(page.content_type, "text/html; charset=utf-8");
    assert_eq!(page.policy, CONTENT_SECURITY_POLICY);
    assert_eq!(page.cache, "no-cache");
    let html = page.text();
    assert!(html.starts_with("<!doctype html>"), "{html}");
    let module = format!(
        "<script type=\"module\" src=\"/assets/{}/{script}\"></script>",
        pages().version
    );
    assert!(html.contains(&module), "{html}");
    assert!(!html.contains("{{"), "every marker is filled: {html}");
}

#[test]
fn the_policy_allows_no_inline_script_and_no_other_origin() {
    let directives: Vec<&str> = CONTENT_SECURITY_POLICY.split("; ").collect();
    assert!(directives.contains(&"default-src 'none'"));
    assert!(directives.contains(&"script-src 'self'"));
    assert!(directives.contains(&"connect-src 'self'"));
    assert!(directives.contains(&"frame-ancestors 'none'"));
    assert!(!CONTENT_SECURITY_POLICY.contains("unsafe"));
    assert!(!CONTENT_SECURITY_POLICY.contains("http"));
}

#[tokio::test]
async fn no_page_has_inline_script_or_style() {
    for html in [
        &pages().search,
        &pages().company,
        &pages().person,
        &pages().error,
    ] {
        for tag in html.split("<script").skip(1) {
            let open = &tag[..tag.find('>').expect("a closed tag")];
            assert!(open.contains(" src=\"/assets/"), "inline script: {tag}");
            assert!(tag[open.len()..].starts_with("></script>"), "{tag}");
        }
        assert!(!html.contains("<style"), "{html}");
        assert!(!html.contains("style="), "{html}");
        let handler = html.split(" on").skip(1).find(|rest| {
            let name: String = rest.chars().take_while(char::is_ascii_lowercase).collect();
            !name.is_empty() && rest[name.len()..].starts_with('=')
        });
        assert_eq!(handler, None, "no event handler attributes");
    }
}

#[tokio::test]
async fn every_asset_a_page_links_is_embedded_and_served_for_good() {
    let mut linked = Vec::new();
    for html in [&pages().search, &pages().company, &pages().person] {
        linked.extend(linked_assets(html));
    }
    assert!(linked.len() >= 5, "{linked:?}");
    for path in linked {
        let page = get(&path).await;
        assert_eq!(page.status, 200, "{path}");
        assert_eq!(page.cache, "public, max-age=31536000, immutable", "{path}");
        assert_eq!(page.policy, CONTENT_SECURITY_POLICY, "{path}");
        let name = path
            .splitn(4, '/')
            .nth(3)
            .expect("/assets/{version}/{name}");
        let embedded = ASSETS
            .iter()
            .find(|asset| asset.path == name)
            .expect("embedded");
        assert_eq!(page.body, embedded.body, "{path}");
    }
}

#[rstest]
#[case("js/company.js", "text/javascript; charset=utf-8", "drawGraph")]
#[case("vendor/dagre.min.js", "text/javascript; charset=utf-8", "var dagre=")]
#[case("page.css", "text/css; charset=utf-8", "@media (max-width")]
#[case("icon.svg", "image/svg+xml", "<svg")]
#[case("vendor/dagre-LICENSE.txt", "text/plain; charset=utf-8", "MIT")]
#[tokio::test]
async fn assets_have_their_content_types(
    #[case] name: &str,
    #[case] content_type: &str,
    #[case] excerpt: &str,
) {
    let page = get(&format!("/assets/{}/{name}", pages().version)).await;
    assert_eq!(page.status, 200);
    assert_eq!(page.content_type, content_type);
    assert!(page.text().contains(excerpt), "{name}");
}

#[tokio::test]
async fn an_asset_of_another_version_is_the_current_one_checked_again() {
    let page = get("/assets/0123456789abcdef/js/dom.js").await;
    assert_eq!(page.status, 200);
    assert_eq!(page.cache, "no-cache");
    assert!(page.text().contains("createElement"));
}

#[rstest]
#[case("/assets/v/js/missing.js")]
#[case("/assets/v/../Cargo.toml")]
#[case("/assets/v/layout.html")]
#[tokio::test]
async fn only_the_listed_assets_are_served(#[case] path: &str) {
    let page = get(path).await;
    assert_eq!(page.status, 404, "{path}");
    assert!(!page.text().contains("{{"), "{path}");
}

#[rstest]
#[case(
    "/company/123456785",
    404,
    "No such company",
    "No company with orgnr 123456785 is in the register."
)]
#[case(
    "/company/891450052?year=2019",
    404,
    "No such register year",
    "The register of 2019 has not been imported."
)]
#[case(
    "/company/891450051",
    400,
    "Not an organisation number",
    "the check digit of 891450051 is wrong (MOD11)"
)]
#[case(
    "/company/12345",
    400,
    "Not an organisation number",
    "an organisation number has 9 digits"
)]
#[case("/company/891450052?year=abc", 400, "Not a register year", "year")]
#[case(
    "/person/nobody",
    404,
    "No such person",
    "No person with id nobody is in the register."
)]
#[tokio::test]
async fn a_party_that_is_not_there_is_a_clear_error_page(
    #[case] path: &str,
    #[case] status: u16,
    #[case] title: &str,
    #[case] detail: &str,
) {
    let page = get(path).await;
    assert_eq!(page.status, status, "{path}");
    assert_eq!(page.content_type, "text/html; charset=utf-8", "{path}");
    assert_eq!(page.policy, CONTENT_SECURITY_POLICY);
    let html = page.text();
    assert!(
        html.contains(&format!("<h1>{title}</h1>")),
        "{path}: {html}"
    );
    assert!(
        html.contains(&format!("<title>{title} · Shareholder register</title>")),
        "{html}"
    );
    assert!(html.contains(detail), "{path}: {html}");
    assert!(
        html.contains(&format!("<p class=\"status-code\">{status}</p>")),
        "{html}"
    );
    assert!(!html.contains("{{"), "{html}");
}

#[tokio::test]
async fn a_failing_store_is_a_500_page_that_tells_nothing_of_it() {
    let page = get_with("/company/891450052", read_model(true)).await;
    assert_eq!(page.status, 500);
    assert_eq!(page.content_type, "text/html; charset=utf-8");
    assert!(page.text().contains("The error has been logged"));
    assert!(!page.text().contains("secret"));
}

#[tokio::test]
async fn an_error_page_quotes_what_was_typed_as_text() {
    let page = get("/company/%3Cscript%3Ealert(1)%3C%2Fscript%3E").await;
    assert_eq!(page.status, 400);
    assert!(!page.text().contains("<script>alert"), "{}", page.text());
}

#[test]
fn escaping_leaves_no_markup() {
    assert_eq!(
        escape(r#"<script>alert("1") & 'x'</script>"#),
        "&lt;script&gt;alert(&quot;1&quot;) &amp; &#39;x&#39;&lt;/script&gt;"
    );
}

#[test]
fn rendering_never_reads_a_value_for_markers() {
    assert_eq!(
        render(
            "<h1>{{title}}</h1>{{missing}}<p>{{detail}}</p>{{",
            &[("title", "{{detail}}"), ("detail", "d")]
        ),
        "<h1>{{detail}}</h1>{{missing}}<p>d</p>{{"
    );
}

#[test]
fn the_version_is_of_the_embedded_files() {
    let version = &pages().version;
    assert_eq!(version.len(), 16);
    assert!(version.chars().all(|c| c.is_ascii_hexdigit()));
    assert!(ASSETS.iter().all(|asset| !asset.body.is_empty()));
}
