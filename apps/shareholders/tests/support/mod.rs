//! Test support: the service in-process on the embedded default or on the real stack, an HTTP
//! client for its API, and the 20 real rows of the register sample.
#![allow(dead_code)]

pub mod real;
pub mod years;

use std::path::PathBuf;
use std::time::Duration;

use serde_json::{Value, json};
use shareholders::cli::{ServeArgs, StorageArgs};
use shareholders::serve::{Running, start};

/// The repository's `samples/register-sample.csv`: 20 real rows of the extract.
pub fn sample_path() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let root = manifest
        .ancestors()
        .nth(2)
        .expect("repo root")
        .to_path_buf();
    root.join("samples/register-sample.csv")
}

/// One row of the sample: Orgnr; Selskap; Aksjeklasse; Navn aksjonær; Fødselsår/orgnr;
/// Postnr/sted; Landkode; Antall aksjer; Antall aksjer selskap.
#[derive(Clone, Debug)]
pub struct Row {
    pub company: String,
    pub company_name: String,
    pub class: String,
    pub holder: String,
    pub holder_id: String,
    pub address: String,
    pub country: String,
    pub shares: u64,
    pub total: u64,
}

pub fn sample_rows() -> Vec<Row> {
    let text = std::fs::read_to_string(sample_path()).expect("the register sample is readable");
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let f: Vec<&str> = line.split(';').collect();
            assert_eq!(f.len(), 9, "{line}");
            Row {
                company: f[0].into(),
                company_name: f[1].into(),
                class: f[2].into(),
                holder: f[3].into(),
                holder_id: f[4].into(),
                address: f[5].into(),
                country: f[6].into(),
                shares: f[7].parse().expect("count"),
                total: f[8].parse().expect("total"),
            }
        })
        .collect()
}

pub fn split_address(address: &str) -> (Option<String>, Option<String>) {
    let address = address.trim();
    if address.is_empty() {
        return (None, None);
    }
    match address.split_once(' ') {
        Some((code, place)) if code.chars().all(|c| c.is_ascii_digit()) => {
            (Some(code.into()), Some(place.into()))
        }
        _ => (None, Some(address.into())),
    }
}

/// Corrupts the embedded default's file in `data_dir` with one `UPDATE`, in which `{year}`
/// stands for 2024's served holdings table; panics unless exactly one row changed.
pub async fn corrupt_sqlite(data_dir: &std::path::Path, sql: &str) {
    let url = format!("sqlite://{}", data_dir.join("shareholders.db").display());
    let pool = sqlx::SqlitePool::connect(&url)
        .await
        .expect("the SQLite file");
    let sql = if sql.contains("{year}") {
        let table: String = sqlx::query_scalar(
            "SELECT name FROM sqlite_master WHERE name LIKE 'read_y2024g%_holdings'",
        )
        .fetch_one(&pool)
        .await
        .expect("2024's holdings table");
        sql.replace("{year}", &table)
    } else {
        sql.to_owned()
    };
    let changed = sqlx::query(sqlx::AssertSqlSafe(sql))
        .execute(&pool)
        .await
        .expect("corrupts")
        .rows_affected();
    assert_eq!(changed, 1, "one row corrupted");
    pool.close().await;
}

/// A client of the API at `base`.
#[derive(Clone, Debug)]
pub struct Api {
    pub base: String,
    pub http: reqwest::Client,
    pub token: Option<String>,
}

impl Api {
    pub fn new(addr: std::net::SocketAddr) -> Self {
        Self {
            base: format!("http://{addr}"),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .expect("client"),
            token: None,
        }
    }

    pub async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        let mut request = self.http.post(format!("{}{path}", self.base)).json(body);
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("POST");
        let status = response.status().as_u16();
        let text = response.text().await.expect("body");
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    pub async fn post_raw(&self, path: &str, body: Vec<u8>, content_type: &str) -> (u16, Value) {
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .expect("POST");
        let status = response.status().as_u16();
        let text = response.text().await.expect("body");
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .expect("GET");
        let status = response.status().as_u16();
        let text = response.text().await.expect("body");
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    pub async fn get_ok(&self, path: &str) -> Value {
        let (status, body) = self.get(path).await;
        assert_eq!(status, 200, "GET {path}: {body}");
        body
    }
}

/// Loads the 20 sample rows through the API: every company (with its declared total), every
/// holder (organisations by orgnr, persons once each), every purchase. Returns the highest
/// event position.
pub async fn load_sample(api: &Api) -> u64 {
    let rows = sample_rows();
    let mut position = 0;
    let mut organisations = std::collections::BTreeSet::new();
    for row in &rows {
        if organisations.insert(row.company.clone()) {
            let (status, body) = api
                .post(
                    "/api/organization/",
                    &json!({"orgnr": row.company, "name": row.company_name, "total_shares": row.total}),
                )
                .await;
            assert_eq!(status, 201, "{body}");
            position = position.max(body["position"].as_u64().expect("position"));
        }
    }
    let mut persons = std::collections::BTreeMap::new();
    for row in &rows {
        let is_org = row.holder_id.len() == 9;
        let (postal_code, place) = split_address(&row.address);
        if is_org {
            if organisations.insert(row.holder_id.clone()) {
                let (status, body) = api
                    .post(
                        "/api/organization/",
                        &json!({"orgnr": row.holder_id, "name": row.holder, "postal_code": postal_code,
                                "place": place, "country": row.country}),
                    )
                    .await;
                assert_eq!(status, 201, "{body}");
                position = position.max(body["position"].as_u64().expect("position"));
            }
        } else {
            let key = (
                row.holder.clone(),
                row.holder_id.clone(),
                row.address.clone(),
                row.country.clone(),
            );
            if let std::collections::btree_map::Entry::Vacant(slot) = persons.entry(key) {
                let birth_year: Option<u16> = row.holder_id.trim().parse().ok();
                let (status, body) = api
                    .post(
                        "/api/person/",
                        &json!({"name": row.holder, "birth_year": birth_year, "postal_code": postal_code,
                                "place": place, "country": row.country}),
                    )
                    .await;
                assert_eq!(status, 201, "{body}");
                position = position.max(body["position"].as_u64().expect("position"));
                slot.insert(body["id"].as_str().expect("id").to_owned());
            }
        }
    }
    for row in &rows {
        let owner = if row.holder_id.len() == 9 {
            json!({"kind": "organization", "id": row.holder_id})
        } else {
            let key = (
                row.holder.clone(),
                row.holder_id.clone(),
                row.address.clone(),
                row.country.clone(),
            );
            json!({"kind": "person", "id": persons[&key]})
        };
        let (status, body) = api
            .post(
                "/api/share/",
                &json!({"company": row.company, "owner": owner, "share_class": row.class, "shares": row.shares}),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        position = position.max(body["position"].as_u64().expect("position"));
    }
    position
}

pub fn percentage(value: &Value) -> f64 {
    value.as_f64().expect("a percentage is a number")
}

/// Storage options for the embedded default in `dir`, with nothing else configured.
pub fn embedded_storage(dir: &std::path::Path) -> StorageArgs {
    StorageArgs {
        data_dir: dir.to_path_buf(),
        database_url: None,
        amqp_url: None,
        amqp_prefix: "unused".into(),
        mongodb_uri: None,
        mongodb_database: "unused".into(),
        ca_file: None,
    }
}

/// Serve options on an ephemeral loopback port.
pub fn local() -> ServeArgs {
    ServeArgs {
        listen: "127.0.0.1:0".parse().expect("addr"),
        ..ServeArgs::default()
    }
}

/// The service on the embedded default, in a fresh temporary directory.
pub async fn embedded() -> (Running, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let running = start(&embedded_storage(dir.path()), local())
        .await
        .expect("the embedded service starts");
    (running, dir)
}

fn assert_close(actual: f64, expected: f64, what: &str) {
    assert!(
        (actual - expected).abs() < 1e-9,
        "{what}: {actual} != {expected}"
    );
}

/// Checks every figure the 20 sample rows determine, reading with `?min_position=`.
/// The names a search of the loaded sample finds, best first, with its `total_matches`.
async fn searched(api: &Api, query: &str) -> (Vec<(String, String)>, u64) {
    let found = api.get_ok(&format!("/api/search?{query}")).await;
    let names = found["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| {
            (
                r["kind"].as_str().expect("kind").to_owned(),
                r["name"].as_str().expect("name").to_owned(),
            )
        })
        .collect();
    (
        names,
        found["total_matches"].as_u64().expect("total_matches"),
    )
}

/// Search over the live register of the sample: word prefixes, Norwegian letters, a kind, an
/// orgnr, the ranking.
async fn check_search(api: &Api, wait: &str) {
    let org = |name: &str| ("organization".to_owned(), name.to_owned());
    let person = |name: &str| ("person".to_owned(), name.to_owned());
    assert_eq!(
        searched(api, &format!("q=tvist&{wait}")).await,
        (vec![org("TVIST 1 AS"), org("TVIST 5 AS")], 2)
    );
    assert_eq!(
        searched(api, &format!("q=Tvist+5+AS&{wait}")).await.0,
        [org("TVIST 5 AS")]
    );
    assert_eq!(
        searched(api, &format!("q=sorli&{wait}")).await.0,
        [person("SØRLI NINA CAMILLA HAGEN")],
        "ø typed as o"
    );
    assert_eq!(
        searched(api, &format!("q=r%C3%A5dhus&{wait}")).await.0,
        [org("RÅDHUSGATEN 24 AS")],
        "å typed as å"
    );
    assert_eq!(
        searched(api, &format!("q=hagen&kind=person&{wait}")).await,
        (
            vec![
                person("HAGEN CARL ERIK"),
                person("HAGEN STEIN ERIK"),
                person("KJOS CAROLINE MARIE HAGEN"),
                person("SØRLI NINA CAMILLA HAGEN"),
            ],
            4
        ),
        "shorter names first (folded: SØRLI is soerli), then by name"
    );
    assert_eq!(
        searched(api, &format!("q=891+450+052&{wait}")).await.0,
        [org("CANICA EIENDOM AS")],
        "an orgnr written in groups"
    );
    let (canica, total) = searched(api, &format!("q=canica&size=2&page=2&{wait}")).await;
    assert_eq!(
        (canica, total),
        (vec![org("CANICA EIENDOM 2 AS")], 3),
        "a page"
    );
    assert_eq!(
        searched(api, &format!("q=nobody&{wait}")).await,
        (vec![], 0)
    );
}

pub async fn check_sample(api: &Api, position: u64) {
    let rows = sample_rows();
    let wait = format!("min_position={position}");

    // Per company: distinct owners, their shares and percentages of the declared total.
    let companies: std::collections::BTreeSet<String> =
        rows.iter().map(|r| r.company.clone()).collect();
    for company in &companies {
        let lines: Vec<&Row> = rows.iter().filter(|r| &r.company == company).collect();
        let total = lines[0].total;
        let registered: u64 = lines.iter().map(|r| r.shares).sum();
        let mut by_owner = std::collections::BTreeMap::<(String, String), u64>::new();
        for line in &lines {
            *by_owner
                .entry((line.holder.clone(), line.holder_id.clone()))
                .or_default() += line.shares;
        }
        let owners = api.get_ok(&format!("/api/{company}/owners?{wait}")).await;
        assert_eq!(owners["orgnr"], company.as_str());
        assert_eq!(owners["name"], lines[0].company_name.as_str());
        assert_eq!(owners["total_shares"], total);
        let entries = owners["owners"].as_array().expect("owners");
        assert_eq!(
            entries.len(),
            by_owner.len(),
            "{company}: one entry per distinct owner"
        );
        assert_eq!(owners["page"]["total_items"], by_owner.len());
        let mut previous = u64::MAX;
        let mut sum = 0.0;
        for entry in entries {
            let shares = entry["shares"].as_u64().expect("shares");
            assert!(
                shares <= previous,
                "{company}: owners ordered by shares, largest first"
            );
            previous = shares;
            let name = entry["owner"]["name"].as_str().expect("name");
            let expected = by_owner
                .iter()
                .find(|((holder, _), _)| holder == name)
                .map(|(_, s)| *s)
                .expect("a known owner");
            assert_eq!(shares, expected, "{company}/{name}");
            let pct = percentage(&entry["percentage"]);
            assert_close(
                pct,
                ((shares as f64 * 100.0 / total as f64) * 10_000.0).floor() / 10_000.0,
                name,
            );
            sum += pct;
            let class_sum: u64 = entry["classes"]
                .as_array()
                .expect("classes")
                .iter()
                .map(|c| c["shares"].as_u64().expect("n"))
                .sum();
            assert_eq!(class_sum, shares);
            assert_eq!(entry["treasury"], false);
        }
        assert!(sum <= 100.0 + 1e-9, "{company}: owners sum to {sum} %");
        if registered == total {
            assert!(
                sum > 100.0 - 0.0001 * entries.len() as f64,
                "{company}: {sum}"
            );
        }
        let summary = api.get_ok(&format!("/api/{company}/summary?{wait}")).await;
        assert_eq!(summary["total_shares"], total);
        assert_eq!(summary["registered_shares"], registered);
        assert_eq!(summary["number_of_owners"], by_owner.len());
    }

    check_search(api, &wait).await;

    // The acceptance figures.
    let owners = api.get_ok(&format!("/api/891450052/owners?{wait}")).await;
    let entries = owners["owners"].as_array().expect("owners");
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["owner"]["name"], "TVIST 5 AS");
    assert_eq!(entries[0]["owner"]["kind"], "organization");
    assert_eq!(entries[0]["owner"]["id"], "980322939");
    assert_close(percentage(&entries[0]["percentage"]), 100.0, "TVIST 5 AS");
    let holdings = api.get_ok(&format!("/api/891450052/holdings?{wait}")).await;
    let held = holdings["holdings"].as_array().expect("holdings");
    assert_eq!(held.len(), 11);
    let halves: Vec<&str> = held
        .iter()
        .filter(|h| (percentage(&h["percentage"]) - 50.0).abs() < 1e-9)
        .map(|h| h["company"]["orgnr"].as_str().expect("orgnr"))
        .collect();
    assert_eq!(halves.len(), 2, "{holdings}");
    assert!(halves.contains(&"911964236") && halves.contains(&"917756236"));
    let others_whole = held
        .iter()
        .filter(|h| (percentage(&h["percentage"]) - 100.0).abs() < 1e-9)
        .count();
    assert_eq!(others_whole, 9);
    let summary = api.get_ok(&format!("/api/891450052/summary?{wait}")).await;
    assert_eq!(summary["number_of_owners"], 1);
    assert_eq!(summary["number_of_holdings"], 11);
    assert_eq!(summary["has_foreign_owners"], false);
    assert_eq!(summary["interesting"], false);
    assert_eq!(summary["largest_owner"]["owner"]["name"], "TVIST 5 AS");

    let summary = api.get_ok(&format!("/api/885648312/summary?{wait}")).await;
    assert_eq!(summary["number_of_owners"], 5);
    assert_eq!(summary["number_of_holdings"], 1);
    assert_eq!(summary["number_of_foreign_owners"], 2);
    assert_eq!(summary["has_foreign_owners"], true);
    assert_eq!(summary["has_multiple_share_classes"], true);
    assert_eq!(summary["interesting"], true);
    assert_eq!(
        summary["interesting_because"],
        json!(["foreign_owners", "multiple_share_classes"])
    );
    let largest = percentage(&summary["largest_owner"]["percentage"]);
    assert_close(largest, 30.0, "largest owner of 885648312");
    let holdings = api.get_ok(&format!("/api/885648312/holdings?{wait}")).await;
    assert_eq!(holdings["holdings"][0]["company"]["orgnr"], "980322939");
    assert_close(
        percentage(&holdings["holdings"][0]["percentage"]),
        100.0,
        "CANICA → TVIST 5",
    );

    let summary = api.get_ok(&format!("/api/988844322/summary?{wait}")).await;
    assert_eq!(summary["number_of_owners"], 2);
    assert_eq!(summary["number_of_holdings"], 1);
    assert_eq!(summary["has_multiple_share_classes"], true);
    assert_eq!(
        summary["share_classes"],
        json!([{"share_class": "A-aksjer", "shares": 3}, {"share_class": "B-aksjer", "shares": 117}])
    );
    assert_eq!(summary["has_foreign_owners"], true);
    let holdings = api.get_ok(&format!("/api/988844322/holdings?{wait}")).await;
    assert_eq!(holdings["holdings"][0]["company"]["orgnr"], "885648312");
    assert_close(
        percentage(&holdings["holdings"][0]["percentage"]),
        2.5,
        "TVIST 1 → CANICA INVESTOR",
    );
    let owners = api.get_ok(&format!("/api/988844322/owners?{wait}")).await;
    let foreign: Vec<&Value> = owners["owners"]
        .as_array()
        .expect("owners")
        .iter()
        .filter(|o| o["owner"]["country"] == "CH")
        .collect();
    assert_eq!(foreign.len(), 1);
    assert_eq!(foreign[0]["owner"]["name"], "KJOS CAROLINE MARIE HAGEN");
    assert_eq!(foreign[0]["owner"]["birth_year"], 1984);
    assert_close(percentage(&foreign[0]["percentage"]), 97.5, "KJOS");
    assert_eq!(
        foreign[0]["classes"],
        json!([{"share_class": "B-aksjer", "shares": 117, "percentage": 97.5}])
    );

    // A person's holdings: HAGEN STEIN ERIK holds in two companies.
    let stein = owners["owners"]
        .as_array()
        .expect("owners")
        .iter()
        .find(|o| o["owner"]["name"] == "HAGEN STEIN ERIK")
        .expect("HAGEN STEIN ERIK owns 988844322");
    let id = stein["owner"]["id"].as_str().expect("id");
    let person = api.get_ok(&format!("/api/person/{id}?{wait}")).await;
    assert_eq!(person["name"], "HAGEN STEIN ERIK");
    assert_eq!(person["birth_year"], 1956);
    let holdings = api
        .get_ok(&format!("/api/person/{id}/holdings?{wait}"))
        .await;
    let held: Vec<(&str, f64)> = holdings["holdings"]
        .as_array()
        .expect("holdings")
        .iter()
        .map(|h| {
            (
                h["company"]["orgnr"].as_str().expect("orgnr"),
                percentage(&h["percentage"]),
            )
        })
        .collect();
    assert_eq!(held, [("885648312", 7.5), ("988844322", 2.5)]);
}

/// A purchase through the API; returns its event's position.
pub async fn buy(api: &Api, company: &str, owner: &Value, shares: u64) -> u64 {
    let (status, body) = api
        .post(
            "/api/share/",
            &json!({"company": company, "owner": owner, "share_class": "Ordinære aksjer", "shares": shares}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    body["position"].as_u64().expect("position")
}

/// The ultimate owners of `company` at `position`, as (owner name, effective %, controlled %).
async fn ultimate_owners(api: &Api, company: &str, position: u64) -> Vec<(String, f64, f64)> {
    let body = api
        .get_ok(&format!(
            "/api/{company}/ultimate-owners?min_position={position}"
        ))
        .await;
    body["ultimate_owners"]
        .as_array()
        .expect("ultimate owners")
        .iter()
        .map(|o| {
            (
                o["owner"]["name"].as_str().expect("a name").to_owned(),
                percentage(&o["effective_percentage"]),
                percentage(&o["controlled_percentage"]),
            )
        })
        .collect()
}

/// The exposition `GET /metrics` answers.
pub async fn metrics_text(api: &Api) -> String {
    api.http
        .get(format!("{}/metrics", api.base))
        .send()
        .await
        .expect("GET /metrics")
        .text()
        .await
        .expect("body")
}

/// The value of the series `series` (a metric's name with its labels, as `/metrics` writes
/// them) on `/metrics`, or `None` before it shows.
pub async fn metric(api: &Api, series: &str) -> Option<f64> {
    metrics_text(api)
        .await
        .lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .map(|value| value.trim().parse().expect("a number"))
}

/// Purchases through the API form a chain HOLDING → MIDDLE → BOTTOM; each is in the ultimate
/// owners the moment its event is applied (`?min_position=`), a cycle closed by a purchase is
/// solved exactly, and the beneficial owners, the ultimate holdings and the drawn graph follow.
pub async fn check_the_graph_follows_purchases(api: &Api) {
    let companies = [
        ("910000004", "BOTTOM AS"),
        ("910000012", "MIDDLE AS"),
        ("910000020", "HOLDING AS"),
    ];
    for (orgnr, name) in companies {
        let (status, body) = api
            .post(
                "/api/organization/",
                &json!({"orgnr": orgnr, "name": name, "total_shares": 100}),
            )
            .await;
        assert_eq!(status, 201, "{body}");
    }
    let mut persons = Vec::new();
    for name in ["EIER ANNE", "EIER BJARNE"] {
        let (status, body) = api
            .post("/api/person/", &json!({"name": name, "country": "NO"}))
            .await;
        assert_eq!(status, 201, "{body}");
        persons.push(json!({"kind": "person", "id": body["id"]}));
    }
    let organisation = |orgnr: &str| json!({"kind": "organization", "id": orgnr});
    buy(api, "910000004", &organisation("910000012"), 60).await;
    buy(api, "910000012", &organisation("910000020"), 60).await;
    let position = buy(api, "910000020", &persons[0], 100).await;
    assert_eq!(
        ultimate_owners(api, "910000004", position).await,
        [("EIER ANNE".to_owned(), 36.0, 60.0)],
        "60 % of 60 %, and control all the way down"
    );
    // BJARNE buys 40 % of BOTTOM directly.
    let position = buy(api, "910000004", &persons[1], 40).await;
    assert_eq!(
        ultimate_owners(api, "910000004", position).await,
        [
            ("EIER BJARNE".to_owned(), 40.0, 40.0),
            ("EIER ANNE".to_owned(), 36.0, 60.0),
        ],
        "a purchase is in the ultimate owners as soon as its event is applied"
    );
    // BOTTOM buys 40 % of MIDDLE: a cycle MIDDLE → BOTTOM → MIDDLE.
    let position = buy(api, "910000012", &organisation("910000004"), 40).await;
    let owners = ultimate_owners(api, "910000004", position).await;
    // x = MIDDLE's walks to BOTTOM: 0.6 + 0.4·0.4·x … solved: BOTTOM = 1 + 0.6·0.4·BOTTOM.
    let bottom: f64 = 1.0 / (1.0 - 0.6 * 0.4);
    let expected_anne = (100.0 * 0.6 * 0.6 * bottom * 10_000.0).round() / 10_000.0;
    let expected_bjarne = (100.0 * 0.4 * bottom * 10_000.0).round() / 10_000.0;
    assert_eq!(
        owners
            .iter()
            .map(|(name, effective, _)| (name.as_str(), *effective))
            .collect::<Vec<_>>(),
        [
            ("EIER BJARNE", expected_bjarne),
            ("EIER ANNE", expected_anne)
        ],
        "the cycle is solved exactly"
    );
    let beneficial = api
        .get_ok(&format!(
            "/api/910000004/beneficial-owners?min_position={position}"
        ))
        .await;
    assert_eq!(
        beneficial["beneficial_owners"]
            .as_array()
            .expect("beneficial owners")
            .len(),
        2
    );
    let id = persons[0]["id"].as_str().expect("an id");
    let holdings = api
        .get_ok(&format!(
            "/api/person/{id}/ultimate-holdings?min_position={position}"
        ))
        .await;
    let held: Vec<&str> = holdings["holdings"]
        .as_array()
        .expect("holdings")
        .iter()
        .map(|h| h["company"]["orgnr"].as_str().expect("an orgnr"))
        .collect();
    assert_eq!(held, ["910000020", "910000012", "910000004"]);
    let graph = api
        .get_ok(&format!(
            "/api/910000004/graph?direction=up&min_position={position}"
        ))
        .await;
    assert_eq!(graph["nodes"].as_array().expect("nodes").len(), 5);
    assert_eq!(graph["truncated"], false);
    let (status, _) = api.get("/api/910000039/ultimate-owners").await;
    assert_eq!(status, 404);
    let (status, _) = api.get("/api/910000038/ultimate-owners").await;
    assert_eq!(status, 400);
}
