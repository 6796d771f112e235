//! The whole API through `warp::test`, over mocked stores.

use std::sync::{Arc, Mutex};

use rstest::rstest;
use serde_json::{Value, json};
use shareholders_domain::{
    BirthYear, ClassShares, CompanyProfile, Country, OrgNr, Organisation, OwnerProfile, OwnerRef,
    Person, PersonId, Position, PurchaseId, PurchaseRefused,
};
use shareholders_http::{HttpConfig, Operations, openapi, routes};
use shareholders_ports::testkit::{class, name, shares as count};
use shareholders_ports::{
    CompanyRecord, GraphLimits, HoldingRecord, Idempotency, MAX_SEARCH_RESULTS, MockReadStore,
    MockWriteStore, PageRequest, PersonRecord, PurchaseError, PurchaseReceipt, ReadError, Recorded,
    RegisterError, SearchMatches, Service,
};
use warp::http::HeaderMap;
use warp::test::RequestBuilder;

const COMPANY: &str = "988844322";
const OTHER: &str = "885648312";
const PERSON: &str = "p-1";
const TOKEN: &str = "s3cret-token";

fn orgnr(s: &str) -> OrgNr {
    OrgNr::parse(s).expect("valid orgnr")
}
fn person_id(s: &str) -> PersonId {
    PersonId::parse(s).expect("valid id")
}
fn classes(list: &[(&str, u64)]) -> Vec<ClassShares> {
    list.iter()
        .map(|(c, s)| ClassShares {
            share_class: class(c),
            shares: *s,
        })
        .collect()
}

fn company_record() -> CompanyRecord {
    CompanyRecord {
        organisation: Organisation::new(
            orgnr(COMPANY),
            name("TVIST 1 AS"),
            None,
            Some(shareholders_domain::Place::parse("OSLO").expect("valid")),
            Country::NORWAY,
            Some(count(120)),
        ),
        registered_shares: 48,
        owner_count: 3,
        foreign_owner_count: 1,
        holding_count: 1,
        classes: classes(&[("A-aksjer", 39), ("B-aksjer", 9)]),
    }
}

fn person_profile() -> OwnerProfile {
    OwnerProfile {
        owner: OwnerRef::Person(person_id(PERSON)),
        name: name("HAGEN STEIN ERIK"),
        country: Country::parse("SE").expect("valid"),
        birth_year: Some(BirthYear::new(1956).expect("valid")),
    }
}

fn profile(nr: &str) -> CompanyProfile {
    CompanyProfile {
        orgnr: orgnr(nr),
        name: name("TVIST 1 AS"),
        total_shares: Some(count(120)),
    }
}

/// The person holds 36 A + 9 B of 120; the company holds 3 A of itself.
fn owner_holdings() -> Vec<HoldingRecord> {
    vec![
        HoldingRecord {
            company: profile(COMPANY),
            company_registered_shares: 48,
            owner: person_profile(),
            classes: classes(&[("A-aksjer", 36), ("B-aksjer", 9)]),
        },
        HoldingRecord {
            company: profile(COMPANY),
            company_registered_shares: 48,
            owner: OwnerProfile {
                owner: OwnerRef::Organisation(orgnr(COMPANY)),
                name: name("TVIST 1 AS"),
                country: Country::NORWAY,
                birth_year: None,
            },
            classes: classes(&[("A-aksjer", 3)]),
        },
    ]
}

fn person_owner_json() -> Value {
    json!({
        "owner": {"kind": "person", "id": PERSON, "name": "HAGEN STEIN ERIK", "country": "SE", "birth_year": 1956},
        "shares": 45,
        "percentage": 37.5,
        "classes": [
            {"share_class": "A-aksjer", "shares": 36, "percentage": 30.0},
            {"share_class": "B-aksjer", "shares": 9, "percentage": 7.5}
        ],
        "treasury": false
    })
}

struct Reply {
    status: u16,
    headers: HeaderMap,
    body: String,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    fn content_type(&self) -> &str {
        self.headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    /// Asserts a problem document with this status and returns it.
    fn problem(&self, status: u16) -> Value {
        assert_eq!(self.status, status, "body: {}", self.body);
        assert_eq!(self.content_type(), "application/problem+json");
        let problem = self.json();
        assert_eq!(problem["status"], status);
        for key in ["type", "title", "detail"] {
            assert!(problem[key].is_string(), "{key} missing in {problem}");
        }
        problem
    }

    /// The fields a validation problem names.
    fn fields(&self) -> Vec<String> {
        self.json()["errors"]
            .as_array()
            .map(|errors| {
                errors
                    .iter()
                    .map(|e| e["field"].as_str().unwrap_or_default().to_owned())
                    .collect()
            })
            .unwrap_or_default()
    }
}

struct Api {
    write: MockWriteStore,
    read: MockReadStore,
    tokens: Vec<String>,
    graph_limits: GraphLimits,
}

impl Api {
    fn new() -> Self {
        Self {
            write: MockWriteStore::new(),
            read: MockReadStore::new(),
            tokens: Vec::new(),
            graph_limits: GraphLimits::default(),
        }
    }

    fn with_token(mut self) -> Self {
        self.tokens = vec!["another".to_owned(), TOKEN.to_owned()];
        self
    }

    async fn send(self, request: RequestBuilder) -> Reply {
        let service = Service::with_graph_limits(
            Arc::new(self.write),
            Arc::new(self.read),
            self.graph_limits,
        );
        let api = routes(
            service,
            HttpConfig {
                api_tokens: self.tokens,
                body_limit: 64 * 1024,
            },
            Operations::default(),
        );
        let response = request.reply(&api).await;
        Reply {
            status: response.status().as_u16(),
            headers: response.headers().clone(),
            body: String::from_utf8(response.body().to_vec()).expect("UTF-8 body"),
        }
    }
}

fn get(path: &str) -> RequestBuilder {
    warp::test::request().method("GET").path(path)
}

fn post(path: &str, body: &str) -> RequestBuilder {
    warp::test::request()
        .method("POST")
        .path(path)
        .header("content-type", "application/json")
        .body(body)
}

fn recorded_organisation(
    o: &Organisation,
    position: u64,
    replayed: bool,
) -> Recorded<Organisation> {
    Recorded {
        value: o.clone(),
        position: Position::new(position),
        replayed,
    }
}

// ===== Meta =====

#[tokio::test]
async fn health_is_ok() {
    let reply = Api::new().send(get("/health")).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json(), json!({"status": "ok"}));
}

#[tokio::test]
async fn the_openapi_document_lists_every_path_and_method() {
    let reply = Api::new().send(get("/api/openapi.json")).await;
    assert_eq!(reply.status, 200);
    let document = reply.json();
    assert_eq!(document, openapi());
    assert!(
        document["openapi"]
            .as_str()
            .unwrap_or_default()
            .starts_with("3.0")
    );
    let expected = [
        ("/health", "get"),
        ("/health/live", "get"),
        ("/health/ready", "get"),
        ("/metrics", "get"),
        ("/api/openapi.json", "get"),
        ("/api/organization/", "post"),
        ("/api/organization/{orgnr}", "get"),
        ("/api/person/", "post"),
        ("/api/person/{id}", "get"),
        ("/api/person/{id}/holdings", "get"),
        ("/api/share/", "post"),
        ("/api/{orgnr}/owners", "get"),
        ("/api/{orgnr}/holdings", "get"),
        ("/api/{orgnr}/summary", "get"),
        ("/api/search", "get"),
        ("/api/years", "get"),
        ("/api/{orgnr}/history", "get"),
        ("/api/{orgnr}/changes", "get"),
        ("/api/person/{id}/changes", "get"),
        ("/api/{orgnr}/holdings/changes", "get"),
        ("/api/{orgnr}/ultimate-owners", "get"),
        ("/api/{orgnr}/beneficial-owners", "get"),
        ("/api/{orgnr}/ultimate-holdings", "get"),
        ("/api/person/{id}/ultimate-holdings", "get"),
        ("/api/{orgnr}/graph", "get"),
        ("/api/{orgnr}/bods", "get"),
    ];
    let paths = document["paths"].as_object().expect("paths");
    assert_eq!(paths.len(), expected.len());
    for (path, method) in expected {
        let operation = &paths[path][method];
        assert!(operation.is_object(), "{method} {path} missing");
        assert!(
            operation["responses"].is_object(),
            "{method} {path} has no responses"
        );
    }
    // Every reference resolves.
    let text = document.to_string();
    for reference in text.split("\"#/components/").skip(1) {
        let pointer = reference.split('"').next().unwrap_or_default();
        assert!(
            document["components"]
                .pointer(&format!("/{pointer}"))
                .is_some(),
            "dangling reference {pointer}"
        );
    }
}

#[rstest]
#[case("GET", "/nowhere", 404)]
#[case("GET", "/api/organization/988844322/nothing", 404)]
#[case("DELETE", "/api/organization/", 405)]
#[case("GET", "/api/share", 405)]
#[case("PUT", "/api/988844322/owners", 405)]
#[tokio::test]
async fn framework_rejections_are_problems(
    #[case] method: &str,
    #[case] path: &str,
    #[case] status: u16,
) {
    let reply = Api::new()
        .send(warp::test::request().method(method).path(path))
        .await;
    reply.problem(status);
}

// ===== Registering organisations =====

#[rstest]
#[case("/api/organization/")]
#[case("/api/organization")]
#[tokio::test]
async fn registering_an_organisation_answers_201_with_it(#[case] path: &str) {
    let mut api = Api::new();
    api.write
        .expect_register_organisation()
        .withf(|o, key| {
            o.orgnr() == orgnr(COMPANY)
                && o.country().alpha2() == "CH"
                && o.total_shares() == Some(count(120))
                && key.is_none()
        })
        .times(1)
        .returning(|o, _| Ok(recorded_organisation(o, 7, false)));
    let reply = api
        .send(post(
            path,
            r#"{"orgnr":"988844322","name":" TVIST  1 AS ","postal_code":"0790","place":"OSLO","country":"che","total_shares":120}"#,
        ))
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    assert_eq!(reply.content_type(), "application/json");
    assert_eq!(reply.headers["location"], "/api/organization/988844322");
    assert_eq!(
        reply.json(),
        json!({"orgnr": COMPANY, "name": "TVIST 1 AS", "postal_code": "0790", "place": "OSLO",
               "country": "CH", "total_shares": 120, "position": 7})
    );
}

#[tokio::test]
async fn an_organisation_defaults_to_norway() {
    let mut api = Api::new();
    api.write
        .expect_register_organisation()
        .returning(|o, _| Ok(recorded_organisation(o, 1, false)));
    let reply = api
        .send(post(
            "/api/organization/",
            r#"{"orgnr":"988844322","name":"X"}"#,
        ))
        .await;
    assert_eq!(
        reply.json(),
        json!({"orgnr": COMPANY, "name": "X", "postal_code": null, "place": null,
               "country": "NO", "total_shares": null, "position": 1})
    );
}

#[tokio::test]
async fn a_duplicate_orgnr_is_a_conflict() {
    let mut api = Api::new();
    api.write
        .expect_register_organisation()
        .returning(|o, _| Err(RegisterError::OrganisationExists(o.orgnr())));
    let reply = api
        .send(post(
            "/api/organization/",
            r#"{"orgnr":"988844322","name":"X"}"#,
        ))
        .await;
    let problem = reply.problem(409);
    assert!(
        problem["detail"]
            .as_str()
            .unwrap_or_default()
            .contains(COMPANY)
    );
}

/// Bodies refused before the store is reached; the store mock has no expectation, so reaching
/// it would panic.
#[rstest]
#[case::invalid_json(r#"{"orgnr": "988844322", "#, &[])]
#[case::empty_body("", &[])]
#[case::not_an_object(r#"["988844322"]"#, &[])]
#[case::wrong_type(r#"{"orgnr": 988844322, "name": "X"}"#, &["orgnr"])]
#[case::null_name(r#"{"orgnr": "988844322", "name": null}"#, &["name"])]
#[case::missing_field(r#"{"orgnr": "988844322"}"#, &["name"])]
#[case::unknown_field(r#"{"orgnr": "988844322", "name": "X", "ceo": "Y"}"#, &["ceo"])]
#[case::huge_number(r#"{"orgnr": "988844322", "name": "X", "total_shares": 123456789012345678901234}"#, &["total_shares"])]
#[case::negative_number(r#"{"orgnr": "988844322", "name": "X", "total_shares": -1}"#, &["total_shares"])]
#[case::fraction(r#"{"orgnr": "988844322", "name": "X", "total_shares": 1.5}"#, &["total_shares"])]
#[case::above_share_count(r#"{"orgnr": "988844322", "name": "X", "total_shares": 9223372036854775808}"#, &["total_shares"])]
#[case::zero_total(r#"{"orgnr": "988844322", "name": "X", "total_shares": 0}"#, &["total_shares"])]
#[case::bad_orgnr(r#"{"orgnr": "123456789", "name": "X"}"#, &["orgnr"])]
#[case::all_bad(r#"{"orgnr": "12345", "name": " ", "country": "QQ", "postal_code": "123456789012345678901"}"#, &["orgnr", "name", "postal_code", "country"])]
#[tokio::test]
async fn invalid_organisations_are_400_naming_the_fields(
    #[case] body: &str,
    #[case] fields: &[&str],
) {
    let reply = Api::new().send(post("/api/organization/", body)).await;
    let problem = reply.problem(400);
    assert_eq!(reply.fields(), fields, "{problem}");
    for field in fields {
        assert!(
            problem["detail"]
                .as_str()
                .unwrap_or_default()
                .contains(field),
            "{problem}"
        );
    }
}

#[rstest]
#[case(r#"{"orgnr": "#, "the request body is not valid JSON")]
#[case("", "the request body is empty")]
#[case("[]", "the request body must be a JSON object")]
#[case(
    r#"{"orgnr": 1, "name": "X"}"#,
    "orgnr: invalid type: integer `1`, expected a string"
)]
#[tokio::test]
async fn malformed_bodies_say_what_is_wrong(#[case] body: &str, #[case] detail: &str) {
    let reply = Api::new().send(post("/api/organization/", body)).await;
    let problem = reply.problem(400);
    assert_eq!(problem["type"], "/problems/malformed-body");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap_or_default()
            .starts_with(detail),
        "{problem}"
    );
}

#[tokio::test]
async fn a_body_over_the_limit_is_413() {
    let big = format!(
        r#"{{"orgnr":"988844322","name":"{}"}}"#,
        "X".repeat(70 * 1024)
    );
    let reply = Api::new().send(post("/api/organization/", &big)).await;
    reply.problem(413);
}

#[tokio::test]
async fn a_body_that_is_not_json_is_415() {
    let reply = Api::new()
        .send(
            warp::test::request()
                .method("POST")
                .path("/api/organization/")
                .header("content-type", "text/plain")
                .body(r#"{"orgnr":"988844322","name":"X"}"#),
        )
        .await;
    reply.problem(415);
}

#[tokio::test]
async fn a_write_without_content_length_is_411() {
    let reply = Api::new()
        .send(warp::test::request().method("POST").path("/api/person/"))
        .await;
    reply.problem(411);
}

// ===== Registering persons =====

#[tokio::test]
async fn registering_a_person_answers_201_with_its_new_id() {
    let mut api = Api::new();
    api.write
        .expect_register_person()
        .withf(|p, _| p.name().as_str() == "HAGEN STEIN ERIK" && p.country().alpha2() == "SE")
        .times(1)
        .returning(|p, _| {
            Ok(Recorded {
                value: p.clone(),
                position: Position::new(8),
                replayed: false,
            })
        });
    let reply = api
        .send(post(
            "/api/person/",
            r#"{"name":"HAGEN STEIN ERIK","birth_year":1956,"country":"SWE"}"#,
        ))
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    let body = reply.json();
    let id = body["id"].as_str().expect("an id").to_owned();
    assert!(PersonId::parse(&id).is_ok());
    assert_eq!(reply.headers["location"], format!("/api/person/{id}"));
    assert_eq!(
        body,
        json!({"id": id, "name": "HAGEN STEIN ERIK", "birth_year": 1956, "postal_code": null,
               "place": null, "country": "SE", "position": 8})
    );
}

#[rstest]
#[case(r#"{"name":"X","birth_year":1700}"#, &["birth_year"])]
#[case(r#"{"name":"X","birth_year":"1956"}"#, &["birth_year"])]
#[case(r#"{"name":"","birth_year":3000,"country":"NORX"}"#, &["name", "birth_year", "country"])]
#[case(r#"{"name":"X","id":"chosen"}"#, &["id"])]
#[tokio::test]
async fn invalid_persons_are_400(#[case] body: &str, #[case] fields: &[&str]) {
    let reply = Api::new().send(post("/api/person", body)).await;
    reply.problem(400);
    assert_eq!(reply.fields(), fields);
}

// ===== Buying shares =====

fn purchase_body(shares: &str) -> String {
    format!(
        r#"{{"company":"988844322","owner":{{"kind":"organization","id":"885648312"}},"share_class":"A-aksje","shares":{shares}}}"#
    )
}

#[tokio::test]
async fn buying_shares_answers_201_with_the_purchase_and_its_position() {
    let mut api = Api::new();
    api.write
        .expect_purchase()
        .withf(|p, _| {
            p.company() == orgnr(COMPANY)
                && *p.owner() == OwnerRef::Organisation(orgnr(OTHER))
                && p.share_class().as_str() == "A-aksjer"
                && p.shares() == count(3)
        })
        .times(1)
        .returning(|p, _| {
            Ok(Recorded {
                value: PurchaseReceipt {
                    id: PurchaseId::new(11),
                    purchase: p.clone(),
                },
                position: Position::new(42),
                replayed: false,
            })
        });
    let reply = api.send(post("/api/share/", &purchase_body("3"))).await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    assert_eq!(
        reply.json(),
        json!({"id": 11, "company": COMPANY, "owner": {"kind": "organization", "id": OTHER},
               "share_class": "A-aksjer", "shares": 3, "treasury": false, "position": 42})
    );
}

#[rstest]
#[case::unknown_company(
    PurchaseError::UnknownCompany(orgnr(COMPANY)),
    404,
    "/problems/not-found"
)]
#[case::unknown_owner(
    PurchaseError::UnknownOwner(OwnerRef::Organisation(orgnr(OTHER))),
    422,
    "/problems/unknown-owner"
)]
#[case::exceeds(PurchaseError::Refused(PurchaseRefused::ExceedsIssued { issued: 120, registered: 118, requested: 3 }), 409, "/problems/conflict")]
#[case::overflow(PurchaseError::Refused(PurchaseRefused::Overflow { registered: 9, requested: 3 }), 409, "/problems/conflict")]
#[case::key_reused(
    PurchaseError::IdempotencyKeyReused,
    422,
    "/problems/idempotency-key-reused"
)]
#[tokio::test]
async fn refused_purchases_are_problems(
    #[case] error: PurchaseError,
    #[case] status: u16,
    #[case] kind: &str,
) {
    let mut api = Api::new();
    let error = Mutex::new(Some(error));
    api.write
        .expect_purchase()
        .times(1)
        .returning(move |_, _| Err(error.lock().expect("lock").take().expect("called once")));
    let reply = api.send(post("/api/share/", &purchase_body("3"))).await;
    let problem = reply.problem(status);
    assert_eq!(problem["type"], kind);
    if status == 409 && kind == "/problems/conflict" {
        assert!(
            problem["detail"]
                .as_str()
                .unwrap_or_default()
                .contains("shares")
        );
    }
}

#[tokio::test]
async fn exceeding_the_declared_total_explains_by_how_much() {
    let mut api = Api::new();
    api.write.expect_purchase().returning(|_, _| {
        Err(PurchaseError::Refused(PurchaseRefused::ExceedsIssued {
            issued: 120,
            registered: 118,
            requested: 3,
        }))
    });
    let reply = api.send(post("/api/share/", &purchase_body("3"))).await;
    let detail = reply.problem(409)["detail"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    for number in ["120", "118", "3"] {
        assert!(detail.contains(number), "{detail}");
    }
}

#[rstest]
#[case::zero("0", &["shares"])]
#[case::negative("-3", &["shares"])]
#[case::above_max("9223372036854775808", &["shares"])]
#[case::above_u64("18446744073709551616", &["shares"])]
#[case::string("\"3\"", &["shares"])]
#[tokio::test]
async fn bad_share_counts_are_400(#[case] shares: &str, #[case] fields: &[&str]) {
    let reply = Api::new()
        .send(post("/api/share/", &purchase_body(shares)))
        .await;
    reply.problem(400);
    assert_eq!(reply.fields(), fields);
}

#[rstest]
#[case(r#"{"company":"1","owner":{"kind":"company","id":"x"},"share_class":"","shares":0}"#, &["company", "owner.kind", "share_class", "shares"])]
#[case(r#"{"company":"988844322","owner":{"kind":"person","id":"a b"},"share_class":"A","shares":1}"#, &["owner.id"])]
#[case(r#"{"company":"988844322","owner":{"kind":"person","id":"x","extra":1},"share_class":"A","shares":1}"#, &["owner.extra"])]
#[case(r#"{"company":"988844322","owner":{"kind":"person","id":7},"share_class":"A","shares":1}"#, &["owner.id"])]
#[case(r#"{"company":"988844322","owner":{"kind":"person"},"share_class":"A","shares":1}"#, &["owner.id"])]
#[case(r#"{"company":"988844322","share_class":"A","shares":1}"#, &["owner"])]
#[tokio::test]
async fn invalid_purchases_name_every_field(#[case] body: &str, #[case] fields: &[&str]) {
    let reply = Api::new().send(post("/api/share", body)).await;
    reply.problem(400);
    assert_eq!(reply.fields(), fields);
}

// ===== Authorisation =====

#[rstest]
#[case::missing(None, "Bearer")]
#[case::wrong_token(Some("Bearer nope"), "Bearer error=\"invalid_token\"")]
#[case::wrong_scheme(Some("Basic czNjcmV0LXRva2Vu"), "Bearer error=\"invalid_request\"")]
#[tokio::test]
async fn writes_need_a_valid_token(#[case] header: Option<&str>, #[case] challenge: &str) {
    for path in ["/api/organization/", "/api/person/", "/api/share/"] {
        let mut request = post(path, r#"{"orgnr":"988844322","name":"X"}"#);
        if let Some(header) = header {
            request = request.header("authorization", header);
        }
        let reply = Api::new().with_token().send(request).await;
        let problem = reply.problem(401);
        assert_eq!(problem["type"], "/problems/unauthorized");
        assert_eq!(reply.headers["www-authenticate"], challenge);
    }
}

#[tokio::test]
async fn a_valid_token_writes() {
    let mut api = Api::new().with_token();
    api.write
        .expect_register_organisation()
        .times(1)
        .returning(|o, _| Ok(recorded_organisation(o, 3, false)));
    let reply = api
        .send(
            post("/api/organization/", r#"{"orgnr":"988844322","name":"X"}"#)
                .header("authorization", format!("Bearer {TOKEN}")),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
}

#[tokio::test]
async fn reads_are_public_even_with_tokens() {
    let mut api = Api::new().with_token();
    api.read
        .expect_organisation()
        .returning(|_| Ok(Some(company_record())));
    let reply = api.send(get("/api/organization/988844322")).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
}

// ===== Idempotency =====

type Keys = Arc<Mutex<Vec<Option<Idempotency>>>>;

fn remembering_organisation_store(keys: &Keys, replayed: bool) -> MockWriteStore {
    let mut write = MockWriteStore::new();
    let seen = keys.clone();
    write
        .expect_register_organisation()
        .returning(move |o, key| {
            seen.lock().expect("lock").push(key);
            Ok(recorded_organisation(o, 5, replayed))
        });
    write
}

#[tokio::test]
async fn the_idempotency_fingerprint_is_of_the_canonical_body() {
    let keys = Keys::default();
    let bodies = [
        (
            r#"{"orgnr":"988844322","name":"X"}"#,
            "k1",
            "/api/organization/",
        ),
        (
            r#"{ "name" : "X",  "orgnr":"988844322" }"#,
            "k1",
            "/api/organization",
        ),
        (
            r#"{"orgnr":"988844322","name":"Y"}"#,
            "k1",
            "/api/organization/",
        ),
    ];
    for (body, key, path) in bodies {
        let mut api = Api::new();
        api.write = remembering_organisation_store(&keys, false);
        let reply = api
            .send(post(path, body).header("idempotency-key", key))
            .await;
        assert_eq!(reply.status, 201, "{}", reply.body);
    }
    let keys = keys.lock().expect("lock").clone();
    let prints: Vec<String> = keys
        .iter()
        .map(|k| {
            let k = k.as_ref().expect("a key");
            assert_eq!(k.key.as_str(), "k1");
            k.fingerprint.clone()
        })
        .collect();
    assert_eq!(prints[0].len(), 64);
    assert_eq!(prints[0], prints[1], "same request, same fingerprint");
    assert_ne!(prints[0], prints[2], "another body, another fingerprint");
}

#[tokio::test]
async fn a_replay_returns_the_original_result() {
    let keys = Keys::default();
    let mut api = Api::new();
    api.write = remembering_organisation_store(&keys, true);
    let reply = api
        .send(
            post("/api/organization/", r#"{"orgnr":"988844322","name":"X"}"#)
                .header("idempotency-key", "retry-1"),
        )
        .await;
    assert_eq!(reply.status, 201);
    assert_eq!(reply.headers["idempotent-replayed"], "true");
    assert_eq!(reply.json()["position"], 5);
    assert_eq!(reply.json()["orgnr"], COMPANY);
}

#[tokio::test]
async fn a_reused_key_is_422() {
    let mut api = Api::new();
    api.write
        .expect_register_person()
        .returning(|_, _| Err(RegisterError::IdempotencyKeyReused));
    let reply = api
        .send(post("/api/person/", r#"{"name":"X"}"#).header("idempotency-key", "k"))
        .await;
    assert_eq!(
        reply.problem(422)["type"],
        "/problems/idempotency-key-reused"
    );
}

#[rstest]
#[case("has space")]
#[case("")]
#[case("a\tb")]
#[tokio::test]
async fn an_invalid_idempotency_key_is_400(#[case] key: &str) {
    let reply = Api::new()
        .send(post("/api/person/", r#"{"name":"X"}"#).header("idempotency-key", key))
        .await;
    reply.problem(400);
}

#[tokio::test]
async fn an_overlong_idempotency_key_is_400_naming_the_header() {
    let reply = Api::new()
        .send(post("/api/person/", r#"{"name":"X"}"#).header("idempotency-key", "k".repeat(256)))
        .await;
    reply.problem(400);
    assert_eq!(reply.fields(), ["Idempotency-Key"]);
}

// ===== Reads =====

#[rstest]
#[case("/api/organization/988844322")]
#[case("/api/organization/988844322/")]
#[tokio::test]
async fn an_organisation_is_read_with_its_state(#[case] path: &str) {
    let mut api = Api::new();
    api.read
        .expect_organisation()
        .withf(|o| *o == orgnr(COMPANY))
        .returning(|_| Ok(Some(company_record())));
    let reply = api.send(get(path)).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(
        reply.json(),
        json!({"orgnr": COMPANY, "name": "TVIST 1 AS", "postal_code": null, "place": "OSLO",
               "country": "NO", "total_shares": 120, "registered_shares": 48,
               "number_of_owners": 3, "number_of_foreign_owners": 1, "number_of_holdings": 1,
               "share_classes": [{"share_class": "A-aksjer", "shares": 39},
                                 {"share_class": "B-aksjer", "shares": 9}]})
    );
}

#[tokio::test]
async fn a_person_is_read() {
    let mut api = Api::new();
    api.read
        .expect_person()
        .withf(|id| id.as_str() == PERSON)
        .returning(|id| {
            Ok(Some(PersonRecord {
                person: Person::new(
                    id.clone(),
                    name("HAGEN STEIN ERIK"),
                    None,
                    None,
                    None,
                    Country::NORWAY,
                ),
                holding_count: 2,
            }))
        });
    let reply = api.send(get("/api/person/p-1/")).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(
        reply.json(),
        json!({"id": PERSON, "name": "HAGEN STEIN ERIK", "birth_year": null, "postal_code": null,
               "place": null, "country": "NO", "number_of_holdings": 2})
    );
}

#[rstest]
#[case("/api/organization/123456789", "orgnr")]
#[case("/api/organization/12345678a", "orgnr")]
#[case("/api/98884432/owners", "orgnr")]
#[case("/api/988844323/holdings", "orgnr")]
#[case("/api/abc/summary", "orgnr")]
#[case("/api/person/a%20b", "id")]
#[case("/api/person/a.b/holdings", "id")]
#[case("/api/988844322/owners?size=0", "size")]
#[case("/api/988844322/owners?size=1001", "size")]
#[case("/api/988844322/owners?page=0", "page")]
#[case("/api/988844322/holdings?page=x", "page")]
#[case("/api/person/p-1/holdings?size=-1", "size")]
#[case("/api/988844322/summary?min_position=soon", "min_position")]
#[tokio::test]
async fn invalid_reads_are_400_naming_the_parameter(#[case] path: &str, #[case] field: &str) {
    let reply = Api::new().send(get(path)).await;
    reply.problem(400);
    assert_eq!(reply.fields(), [field]);
}

#[rstest]
#[case("/api/organization/988844322")]
#[case("/api/988844322/owners")]
#[case("/api/988844322/holdings")]
#[case("/api/988844322/summary")]
#[case("/api/person/p-1")]
#[case("/api/person/p-1/holdings")]
#[tokio::test]
async fn unknown_ids_are_404(#[case] path: &str) {
    let mut api = Api::new();
    api.read.expect_organisation().returning(|_| Ok(None));
    api.read.expect_person().returning(|_| Ok(None));
    let reply = api.send(get(path)).await;
    assert_eq!(reply.problem(404)["type"], "/problems/not-found");
}

#[tokio::test]
async fn owners_are_listed_with_percentages_and_paging() {
    let mut api = Api::new();
    api.read
        .expect_organisation()
        .returning(|_| Ok(Some(company_record())));
    api.read
        .expect_owners_given()
        .withf(|company, page| {
            company.organisation.orgnr() == orgnr(COMPANY)
                && *page == PageRequest::new(Some(1), Some(2)).expect("valid")
        })
        .times(1)
        .returning(|_, _| Ok(owner_holdings()));
    let reply = api.send(get("/api/988844322/owners/?page=1&size=2")).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(
        reply.json(),
        json!({
            "orgnr": COMPANY,
            "name": "TVIST 1 AS",
            "total_shares": 120,
            "owners": [
                person_owner_json(),
                {
                    "owner": {"kind": "organization", "id": COMPANY, "name": "TVIST 1 AS", "country": "NO"},
                    "shares": 3,
                    "percentage": 2.5,
                    "classes": [{"share_class": "A-aksjer", "shares": 3, "percentage": 2.5}],
                    "treasury": true
                }
            ],
            "page": {"page": 1, "size": 2, "total_items": 3, "total_pages": 2}
        })
    );
}

#[tokio::test]
async fn percentages_have_four_decimals() {
    let mut api = Api::new();
    let mut company = company_record();
    company.organisation = Organisation::new(
        orgnr(COMPANY),
        name("TVIST 1 AS"),
        None,
        None,
        Country::NORWAY,
        Some(count(3)),
    );
    api.read
        .expect_organisation()
        .returning(move |_| Ok(Some(company.clone())));
    api.read.expect_owners_given().returning(|_, _| {
        let mut holding = owner_holdings().remove(1);
        holding.classes = classes(&[("A-aksjer", 1)]);
        Ok(vec![holding])
    });
    let reply = api.send(get("/api/988844322/owners")).await;
    assert_eq!(reply.json()["owners"][0]["percentage"], json!(33.3333));
    assert!(
        reply.body.contains("\"percentage\":33.3333,"),
        "{}",
        reply.body
    );
}

fn holding_json() -> Value {
    json!({
        "company": {"orgnr": COMPANY, "name": "TVIST 1 AS"},
        "shares": 45,
        "percentage": 37.5,
        "classes": [
            {"share_class": "A-aksjer", "shares": 36, "percentage": 30.0},
            {"share_class": "B-aksjer", "shares": 9, "percentage": 7.5}
        ]
    })
}

#[tokio::test]
async fn an_organisations_holdings_are_listed() {
    let mut api = Api::new();
    api.read.expect_organisation().returning(|_| {
        let mut record = company_record();
        record.organisation = Organisation::new(
            orgnr(OTHER),
            name("HOLDING AS"),
            None,
            None,
            Country::NORWAY,
            None,
        );
        Ok(Some(record))
    });
    api.read
        .expect_holdings()
        .withf(|owner, page| {
            *owner == OwnerRef::Organisation(orgnr(OTHER)) && *page == PageRequest::default()
        })
        .returning(|_, _| Ok(vec![owner_holdings().remove(0)]));
    let reply = api.send(get("/api/885648312/holdings")).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(
        reply.json(),
        json!({"orgnr": OTHER, "holdings": [holding_json()],
               "page": {"page": 1, "size": 100, "total_items": 1, "total_pages": 1}})
    );
}

#[tokio::test]
async fn a_persons_holdings_are_listed() {
    let mut api = Api::new();
    api.read.expect_person().returning(|id| {
        Ok(Some(PersonRecord {
            person: Person::new(id.clone(), name("X"), None, None, None, Country::NORWAY),
            holding_count: 1,
        }))
    });
    api.read
        .expect_holdings()
        .withf(|owner, page| {
            *owner == OwnerRef::Person(person_id(PERSON))
                && *page == PageRequest::new(Some(3), Some(1000)).expect("valid")
        })
        .returning(|_, _| Ok(vec![owner_holdings().remove(0)]));
    let reply = api
        .send(get("/api/person/p-1/holdings?page=3&size=1000"))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(
        reply.json(),
        json!({"person_id": PERSON, "holdings": [holding_json()],
               "page": {"page": 3, "size": 1000, "total_items": 1, "total_pages": 1}})
    );
}

#[tokio::test]
async fn a_summary_says_why_a_company_is_interesting() {
    let mut api = Api::new();
    api.read
        .expect_organisation()
        .returning(|_| Ok(Some(company_record())));
    api.read
        .expect_owners_given()
        .withf(|_, page| *page == PageRequest::new(Some(1), Some(1)).expect("valid"))
        .returning(|_, _| Ok(vec![owner_holdings().remove(0)]));
    let reply = api.send(get("/api/988844322/summary/")).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(
        reply.json(),
        json!({
            "orgnr": COMPANY, "name": "TVIST 1 AS", "total_shares": 120, "registered_shares": 48,
            "number_of_owners": 3, "number_of_holdings": 1, "number_of_foreign_owners": 1,
            "has_foreign_owners": true,
            "share_classes": [{"share_class": "A-aksjer", "shares": 39},
                              {"share_class": "B-aksjer", "shares": 9}],
            "has_multiple_share_classes": true, "interesting": true,
            "interesting_because": ["foreign_owners", "multiple_share_classes"],
            "largest_owner": person_owner_json()
        })
    );
}

#[tokio::test]
async fn a_summary_without_owners_has_no_largest_owner() {
    let mut api = Api::new();
    api.read.expect_organisation().returning(|_| {
        let mut record = company_record();
        record.owner_count = 0;
        record.foreign_owner_count = 0;
        record.registered_shares = 0;
        record.classes = Vec::new();
        Ok(Some(record))
    });
    let reply = api.send(get("/api/988844322/summary")).await;
    let body = reply.json();
    assert_eq!(body["largest_owner"], Value::Null);
    assert_eq!(body["interesting"], false);
    assert_eq!(body["interesting_because"], json!([]));
    assert_eq!(body["total_shares"], 120);
}

// ===== Read-your-writes and failures =====

#[rstest]
#[case("/api/search", &["q"])]
#[case("/api/search?q=", &["q"])]
#[case("/api/search?q=---", &["q"])]
#[case("/api/search?q=tvist&kind=company&page=0", &["kind", "page"])]
#[case("/api/search?q=tvist&q=as", &["q"])]
#[tokio::test]
async fn a_search_that_asks_for_nothing_is_400_naming_every_field(
    #[case] path: &str,
    #[case] fields: &[&str],
) {
    // The store is never asked: a MockReadStore with no expectation panics when called.
    let reply = Api::new().send(get(path)).await;
    reply.problem(400);
    let mut named = reply.fields();
    named.sort();
    assert_eq!(named, fields, "{path}");
}

fn found_company(nr: &str, label: &str) -> OwnerProfile {
    OwnerProfile {
        owner: OwnerRef::Organisation(orgnr(nr)),
        name: name(label),
        country: Country::NORWAY,
        birth_year: None,
    }
}

#[tokio::test]
async fn a_search_answers_what_the_store_found_ranked() {
    let mut api = Api::new();
    // A store that does not rank: the service ranks what it found.
    api.read.expect_search_ranked().returning(|_, _| Ok(None));
    api.read.expect_search().times(1).returning(|query, limit| {
        assert_eq!((query.folded(), limit), ("tvist", MAX_SEARCH_RESULTS));
        Ok(SearchMatches {
            total: 2,
            parties: vec![
                found_company("891450052", "TVIST 5 AS"),
                found_company("988844322", "TVIST"),
            ],
        })
    });
    let reply = api.send(get("/api/search?q=Tvist&size=1")).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let found = reply.json();
    assert_eq!(found["query"], "tvist");
    assert_eq!(found["results"].as_array().map(Vec::len), Some(1));
    assert_eq!(found["results"][0]["name"], "TVIST", "the exact name first");
    assert_eq!(found["page"]["total_items"], 2);
    assert_eq!(found["page"]["total_pages"], 2);
    assert_eq!(found["total_matches"], 2);
}

#[tokio::test]
async fn min_position_waits_for_the_read_model() {
    let mut api = Api::new();
    let calls = Arc::new(Mutex::new(0));
    let counter = calls.clone();
    api.read
        .expect_applied()
        .withf(|p| *p == Position::new(42))
        .returning(move |_| {
            let mut calls = counter.lock().expect("lock");
            *calls += 1;
            Ok(*calls >= 3)
        });
    api.read
        .expect_organisation()
        .returning(|_| Ok(Some(company_record())));
    api.write
        .expect_last_position()
        .returning(|| Ok(Some(Position::new(42))));
    let reply = api
        .send(get("/api/organization/988844322?min_position=42"))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(*calls.lock().expect("lock"), 3);
}

#[rstest]
#[case("/api/organization/988844322?min_position=9")]
#[case("/api/988844322/owners?min_position=9&page=1")]
#[case("/api/person/p-1/holdings?min_position=9")]
#[tokio::test(start_paused = true)]
async fn a_position_not_applied_in_time_is_503(#[case] path: &str) {
    let mut api = Api::new();
    api.read.expect_applied().returning(|_| Ok(false));
    api.write
        .expect_last_position()
        .returning(|| Ok(Some(Position::new(9))));
    let started = tokio::time::Instant::now();
    let reply = api.send(get(path)).await;
    let problem = reply.problem(503);
    assert_eq!(problem["type"], "/problems/not-yet-applied");
    assert_eq!(reply.headers["retry-after"], "1");
    assert!(started.elapsed() >= shareholders_ports::MAX_WAIT);
}

#[rstest]
#[case(Some(41), "the last write has position 41")]
#[case(None, "no write has been recorded yet")]
#[tokio::test(start_paused = true)]
async fn a_position_no_write_was_given_is_400_at_once(
    #[case] last: Option<u64>,
    #[case] says: &str,
) {
    let mut api = Api::new();
    api.read.expect_applied().returning(|_| Ok(false));
    api.write
        .expect_last_position()
        .returning(move || Ok(last.map(Position::new)));
    let started = tokio::time::Instant::now();
    let reply = api.send(get("/api/988844322/owners?min_position=42")).await;
    let problem = reply.problem(400);
    assert_eq!(problem["errors"][0]["field"], "min_position");
    let message = problem["errors"][0]["message"].as_str().expect("message");
    assert!(
        message.contains("no write has position 42") && message.contains(says),
        "{message}"
    );
    assert!(
        started.elapsed() < std::time::Duration::from_millis(100),
        "no waiting"
    );
}

#[tokio::test]
async fn a_store_failure_is_500_and_leaks_nothing() {
    let secret = "postgres://admin:hunter2@db.internal/register";
    let mut api = Api::new();
    api.read.expect_organisation().returning(move |_| {
        Err(ReadError::Unknown(
            anyhow::anyhow!("connect to {secret}").context("reading organisation 988844322"),
        ))
    });
    let reply = api.send(get("/api/988844322/summary")).await;
    let problem = reply.problem(500);
    assert_eq!(problem["type"], "/problems/internal");
    for leak in ["hunter2", "postgres", "db.internal", "reading organisation"] {
        assert!(!reply.body.contains(leak), "{}", reply.body);
    }
}

#[tokio::test]
async fn a_write_failure_is_500_and_leaks_nothing() {
    let mut api = Api::new();
    api.write.expect_purchase().returning(|_, _| {
        Err(PurchaseError::Unknown(anyhow::anyhow!(
            "disk full at /var/secret"
        )))
    });
    let reply = api.send(post("/api/share/", &purchase_body("1"))).await;
    reply.problem(500);
    assert!(!reply.body.contains("secret"), "{}", reply.body);
}

// ===== The ownership graph =====

#[rstest]
#[case("/api/988844323/ultimate-owners", "orgnr")]
#[case("/api/988844322/ultimate-owners?min_percentage=200", "min_percentage")]
#[case("/api/988844322/ultimate-owners?size=0", "size")]
#[case("/api/988844322/beneficial-owners?year=12", "year")]
#[case("/api/person/a.b/ultimate-holdings", "id")]
#[case("/api/988844322/ultimate-holdings?page=0", "page")]
#[case("/api/988844322/graph?direction=sideways", "direction")]
#[case("/api/988844322/graph?depth=0", "depth")]
#[case("/api/988844322/graph?limit=5001", "limit")]
#[tokio::test]
async fn invalid_graph_reads_are_400_naming_the_parameter(#[case] path: &str, #[case] field: &str) {
    let reply = Api::new().send(get(path)).await;
    reply.problem(400);
    assert_eq!(reply.fields(), [field]);
}

#[rstest]
#[case("/api/988844322/ultimate-owners")]
#[case("/api/988844322/beneficial-owners")]
#[case("/api/988844322/ultimate-holdings")]
#[case("/api/988844322/graph")]
#[case("/api/person/p-1/ultimate-holdings")]
#[tokio::test]
async fn graph_reads_of_unknown_parties_are_404(#[case] path: &str) {
    let mut api = Api::new();
    api.read.expect_organisation().returning(|_| Ok(None));
    api.read.expect_person().returning(|_| Ok(None));
    api.read.expect_owners_of().never();
    api.read.expect_holdings_of().never();
    let reply = api.send(get(path)).await;
    assert_eq!(reply.problem(404)["type"], "/problems/not-found");
}

#[tokio::test]
async fn a_graph_past_the_servers_limit_is_422_and_says_why() {
    let mut api = Api::new();
    api.graph_limits.stakes = 1;
    api.read
        .expect_organisation()
        .returning(|_| Ok(Some(company_record())));
    // Nothing held in memory: the graph is read a level at a time.
    api.read.expect_ultimate_owners().returning(|_, _| Ok(None));
    api.read
        .expect_owners_of()
        .times(1)
        .returning(|_| Ok(owner_holdings()));
    let reply = api.send(get("/api/988844322/beneficial-owners")).await;
    let problem = reply.problem(422);
    assert_eq!(problem["type"], "/problems/graph-too-large");
    assert!(
        problem["detail"]
            .as_str()
            .expect("a detail")
            .contains("more than 1 stakes"),
        "{problem}"
    );
}

#[tokio::test]
async fn ultimate_owners_are_fractions_of_outstanding_shares() {
    let mut api = Api::new();
    api.read
        .expect_organisation()
        .returning(|_| Ok(Some(company_record())));
    // Nothing held in memory: the graph is read a level at a time.
    api.read.expect_ultimate_owners().returning(|_, _| Ok(None));
    api.read
        .expect_owners_of()
        .withf(|level| level == [orgnr(COMPANY)])
        .times(1)
        .returning(|_| Ok(owner_holdings()));
    let reply = api
        .send(get("/api/988844322/ultimate-owners?min_percentage=1"))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    // 45 of 120 issued less 3 treasury shares.
    let person = json!({"kind": "person", "id": PERSON, "name": "HAGEN STEIN ERIK", "country": "SE", "birth_year": 1956});
    assert_eq!(
        reply.json(),
        json!({
            "orgnr": COMPANY,
            "name": "TVIST 1 AS",
            "ultimate_owners": [{
                "owner": person,
                "effective_percentage": 38.4615,
                "controlled_percentage": 38.4615,
                "beneficial_owner": true,
                "because": ["ownership", "control"],
                "chains": [{
                    "percentage": 38.4615,
                    "links": [{"company": COMPANY, "owner": person, "percentage": 38.4615}]
                }]
            }],
            "unattributed_percentage": 61.5385,
            "page": {"page": 1, "size": 100, "total_items": 1, "total_pages": 1}
        })
    );
}

#[tokio::test]
async fn the_graph_is_nodes_and_edges_for_drawing() {
    let mut api = Api::new();
    api.read
        .expect_organisation()
        .returning(|_| Ok(Some(company_record())));
    api.read.expect_owners_of().returning(|level| {
        Ok(if level.is_empty() {
            Vec::new()
        } else {
            owner_holdings()
        })
    });
    let reply = api
        .send(get("/api/988844322/graph?direction=up&depth=1"))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(
        reply.json(),
        json!({
            "nodes": [
                {"id": "organization:988844322", "kind": "organization", "key": COMPANY, "name": "TVIST 1 AS", "level": 0},
                {"id": "person:p-1", "kind": "person", "key": PERSON, "name": "HAGEN STEIN ERIK", "level": -1}
            ],
            "edges": [
                {"from": "person:p-1", "to": "organization:988844322", "shares": 45, "percentage": 37.5},
                {"from": "organization:988844322", "to": "organization:988844322", "shares": 3, "percentage": 2.5}
            ],
            "truncated": false
        })
    );
}
