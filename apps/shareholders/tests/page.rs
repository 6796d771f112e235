//! The web pages in a real browser: the service on the embedded default with the register
//! sample and a company whose name is a script, loaded in Debian's chromium (headless) by
//! `tests/page/browser.py` (playwright over the DevTools protocol), which reports what it saw.
//! A missing chromium or playwright fails this test: `scripts/test` installs both.

mod support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use serde_json::{Value, json};
use shareholders::cli::ImportArgs;
use shareholders::commands::import;
use shareholders::serve::start;
use support::{Api, buy, embedded, embedded_storage, load_sample, local, sample_path};

/// A company whose name, and whose owner's name, are markup.
const INJECTION: &str = "910000004";
const SCRIPT_NAME: &str = "<script>alert(1)</script>";
const IMAGE_NAME: &str = "<img src=x onerror=alert(2)>";
/// A company with more owners than a page of the owners table holds (25).
const MANY_OWNERS: &str = "910000012";

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("the workspace root")
        .to_path_buf()
}

/// Registers the hostile company: a person called like an image tag owns 60 %, TVIST 1 AS
/// 40 %.
async fn register_injection(api: &Api) {
    let (status, body) = api
        .post(
            "/api/organization/",
            &json!({"orgnr": INJECTION, "name": SCRIPT_NAME, "total_shares": 100}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let (status, person) = api
        .post(
            "/api/person/",
            &json!({"name": IMAGE_NAME, "country": "NO"}),
        )
        .await;
    assert_eq!(status, 201, "{person}");
    for (owner, shares) in [
        (json!({"kind": "person", "id": person["id"]}), 60),
        (json!({"kind": "organization", "id": "988844322"}), 40),
    ] {
        buy(api, INJECTION, &owner, shares).await;
    }
}

/// Registers MANY_OWNERS, owned by 30 persons: OWNER 1 holds 1 share, OWNER 30 holds 30.
/// Returns the last position.
async fn register_many_owners(api: &Api) -> u64 {
    let (status, body) = api
        .post(
            "/api/organization/",
            &json!({"orgnr": MANY_OWNERS, "name": "MANGE EIERE AS", "total_shares": 465}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let mut position = 0;
    for n in 1..=30_u64 {
        let (status, person) = api
            .post(
                "/api/person/",
                &json!({"name": format!("OWNER {n}"), "country": "NO"}),
            )
            .await;
        assert_eq!(status, 201, "{person}");
        let owner = json!({"kind": "person", "id": person["id"]});
        position = buy(api, MANY_OWNERS, &owner, n).await;
    }
    position
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("a list: {value}"))
        .iter()
        .map(|item| item.as_str().unwrap_or_default().to_owned())
        .collect()
}

fn cells(value: &Value) -> Vec<Vec<String>> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("rows: {value}"))
        .iter()
        .map(strings)
        .collect()
}

fn assert_clean(report: &Value, what: &str) {
    assert_eq!(report["errors"], json!([]), "{what}: browser errors");
    if let Some(dialogs) = report.get("dialogs") {
        assert_eq!(dialogs, &json!([]), "{what}: dialogs opened");
    }
}

/// The graph drawn is the API's graph: one node per party, one edge per holding, each edge
/// labelled with its percentage.
fn assert_graph_is_the_apis(graph: &Value, what: &str) {
    let drawn: BTreeSet<String> = strings(&graph["svg_nodes"]).into_iter().collect();
    let served: BTreeSet<String> = strings(&graph["api_nodes"]).into_iter().collect();
    assert_eq!(drawn, served, "{what}: a node per party");
    assert_eq!(
        graph["svg_nodes"].as_array().map(Vec::len),
        graph["api_nodes"].as_array().map(Vec::len),
        "{what}: no party drawn twice"
    );
    let mut drawn_edges: Vec<(String, String)> = cells(&graph["svg_edges"])
        .into_iter()
        .map(|edge| (edge[0].clone(), edge[1].clone()))
        .collect();
    let mut served_edges: Vec<(String, String)> = graph["api_edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|edge| {
            (
                edge[0].as_str().expect("from").to_owned(),
                edge[1].as_str().expect("to").to_owned(),
            )
        })
        .collect();
    drawn_edges.sort();
    served_edges.sort();
    assert_eq!(drawn_edges, served_edges, "{what}: an edge per holding");
    for edge in cells(&graph["svg_edges"]) {
        assert!(edge[2].ends_with(" %"), "{what}: edge label {edge:?}");
    }
    assert_eq!(
        graph["truncated_notice_shown"], graph["api_truncated"],
        "{what}: the truncation notice shows exactly when the graph is truncated"
    );
}

fn assert_error_page(report: &Value, status: u16, heading: &str, excerpt: &str) {
    assert_eq!(report["status"], status, "{report}");
    assert_eq!(report["content_type"], "text/html; charset=utf-8");
    assert_eq!(report["heading"], heading);
    assert!(
        report["text"]
            .as_str()
            .is_some_and(|text| text.contains(excerpt)),
        "{report}"
    );
}

/// Runs `tests/page/browser.py` against the service behind `api`, and answers its report.
async fn browse(api: &Api, args: &[&str]) -> Value {
    let script = workspace().join("apps/shareholders/tests/page/browser.py");
    let started = std::time::Instant::now();
    let output = tokio::process::Command::new("python3")
        .arg("-B")
        .arg(&script)
        .args(args)
        .args(["--base", &api.base])
        .kill_on_drop(true)
        .output()
        .await
        .expect("python3 runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the browser run failed ({}): {stderr}",
        output.status
    );
    let report: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "the report is JSON ({e}): {}",
            String::from_utf8_lossy(&output.stdout)
        )
    });
    eprintln!(
        "browser run {}: {:.1} s in chromium {}",
        args[0],
        started.elapsed().as_secs_f64(),
        report["chromium"]
    );
    report
}

#[tokio::test]
async fn the_pages_show_the_register_in_a_real_browser() {
    let (running, _dir) = embedded().await;
    let api = Api::new(running.addr);
    load_sample(&api).await;
    register_injection(&api).await;
    let position = register_many_owners(&api).await;
    // The pages read without min_position: wait until the read model has every write.
    api.get_ok(&format!("/api/{INJECTION}/owners?min_position={position}"))
        .await;

    let artifacts = workspace().join("target/test-artifacts");
    let screenshot = artifacts.join("company-page.png");
    let _ = std::fs::remove_file(&screenshot);
    let report = browse(
        &api,
        &[
            "sample",
            "--injection",
            INJECTION,
            "--many-owners",
            MANY_OWNERS,
            "--artifacts",
            artifacts.to_str().expect("a UTF-8 path"),
        ],
    )
    .await;

    // Search: /?q=tvist opens with results, each a link to its party's page.
    let search = &report["search"];
    assert_clean(search, "search");
    assert_eq!(search["input"], "tvist");
    let names = strings(&search["names"]);
    assert!(names.iter().any(|name| name == "TVIST 1 AS"), "{search}");
    assert!(names.iter().all(|name| name.contains("TVIST")), "{search}");
    for href in strings(&search["hrefs"]) {
        assert!(
            href.starts_with("/company/") || href.starts_with("/person/"),
            "{href}"
        );
    }

    // Keyboard: typing searches as you type; Tab reaches the first result, Enter opens it.
    let keyboard = &report["keyboard"];
    assert_clean(keyboard, "keyboard");
    assert_eq!(keyboard["focused_at_start"], "q", "the box has the focus");
    assert!(
        keyboard["typed"]["url"]
            .as_str()
            .expect("url")
            .ends_with("/?q=tvist+1"),
        "{keyboard}"
    );
    assert_eq!(keyboard["focused"]["name"], "TVIST 1 AS", "{keyboard}");
    assert_eq!(keyboard["focused"]["href"], "/company/988844322");
    assert_eq!(keyboard["opened"], "/company/988844322");
    assert_eq!(keyboard["heading"], "TVIST 1 AS");

    // The company page of the acceptance: 891450052 is owned 100 % by TVIST 5 AS.
    let company = &report["company"];
    assert_clean(company, "company page");
    assert_eq!(company["status"], 200);
    assert!(
        company["content_security_policy"]
            .as_str()
            .is_some_and(|policy| policy.contains("script-src 'self'")),
        "{company}"
    );
    assert_eq!(company["heading"], "CANICA EIENDOM AS");
    assert_eq!(company["title"], "CANICA EIENDOM AS · Shareholder register");
    assert_eq!(company["facts"]["Orgnr"], "891450052");
    assert_eq!(company["facts"]["Total shares"], "1,000");
    assert_eq!(
        cells(&company["owners"]),
        [[
            "TVIST 5 AS",
            "Organisation",
            "NO",
            "1,000",
            "100 %",
            "Ordinære aksjer: 1,000"
        ]]
    );
    assert_eq!(strings(&company["owner_links"]), ["/company/980322939"]);
    let holdings = cells(&company["holdings"]);
    assert_eq!(holdings.len(), 11, "{holdings:?}");
    let halves: BTreeSet<&str> = holdings
        .iter()
        .filter(|row| row[3] == "50 %")
        .map(|row| row[1].as_str())
        .collect();
    assert_eq!(halves, BTreeSet::from(["911964236", "917756236"]));
    assert_eq!(holdings.iter().filter(|row| row[3] == "100 %").count(), 9);
    assert_eq!(company["summary"]["Owners"], "1");
    assert_eq!(company["summary"]["Holdings"], "11");
    assert_eq!(company["summary"]["Foreign owners"], "0");
    assert_eq!(company["summary"]["Registered shares"], "1,000 of 1,000");
    assert_eq!(company["summary"]["Largest owner"], "TVIST 5 AS 100 %");
    assert_eq!(company["badges"], json!([]), "nothing interesting");
    let ultimate = cells(&company["ultimate_owners"]);
    assert!(!ultimate.is_empty(), "{company}");
    assert!(
        ultimate.iter().all(|row| row[5].contains("→")),
        "every ultimate owner with its chains: {ultimate:?}"
    );
    assert!(
        company["beneficial"]
            .as_str()
            .is_some_and(|text| !text.is_empty()),
        "{company}"
    );
    let graph = &company["graph"];
    assert_graph_is_the_apis(graph, "891450052");
    let nodes = strings(&graph["svg_nodes"]);
    assert!(nodes.contains(&"organization:891450052".to_owned()));
    assert!(
        nodes.contains(&"organization:980322939".to_owned()),
        "TVIST 5 AS above"
    );
    assert!(
        nodes.contains(&"organization:911964236".to_owned()),
        "a holding below"
    );
    assert!(
        cells(&graph["svg_edges"]).contains(&vec![
            "organization:980322939".to_owned(),
            "organization:891450052".to_owned(),
            "100 %".to_owned()
        ]),
        "{graph}"
    );
    assert_eq!(
        graph["links"].as_array().map(Vec::len),
        Some(nodes.len() - 1),
        "every party but the company itself opens its page"
    );
    assert_eq!(company["horizontal_overflow"], 0, "the page fits 1280 px");

    // At phone width the page still fits: tables and the graph scroll inside themselves.
    let phone = &report["phone"];
    assert_clean(phone, "phone");
    assert_eq!(phone["horizontal_overflow"], 0, "the page fits 390 px");
    assert_eq!(phone["heading"], "CANICA EIENDOM AS");

    // The reasons a company is interesting are badges.
    let foreign = &report["foreign_owned"];
    assert_clean(foreign, "885648312");
    assert_eq!(
        foreign["badges"],
        json!(["Foreign owners", "Several share classes"])
    );
    assert_graph_is_the_apis(&foreign["graph"], "885648312");

    // A name that is markup shows as text, in the heading, the tables and the graph.
    let injection = &report["injection"];
    assert_clean(injection, "injection");
    assert_eq!(injection["heading"], SCRIPT_NAME);
    assert_eq!(
        injection["title"],
        format!("{SCRIPT_NAME} · Shareholder register")
    );
    let owners = cells(&injection["owners"]);
    assert_eq!(owners[0][0], IMAGE_NAME, "{owners:?}");
    assert_eq!(owners[1][0], "TVIST 1 AS", "{owners:?}");
    assert_eq!(injection["images_in_main"], 0, "no element made of a name");
    assert_eq!(
        injection["scripts_in_document"], company["scripts_in_document"],
        "no script made of a name"
    );
    assert!(
        strings(&injection["graph"]["svg_node_names"])
            .iter()
            .any(|title| title.starts_with(SCRIPT_NAME)),
        "{injection}"
    );
    assert_graph_is_the_apis(&injection["graph"], "the injection");
    let tvist = &report["tvist_1"];
    assert_clean(tvist, "988844322");
    assert!(
        cells(&tvist["holdings"])
            .iter()
            .any(|row| row[0] == SCRIPT_NAME),
        "{tvist}"
    );

    // TVIST 1 AS's graph stops at 3 levels each way, before CANICA EIENDOM AS's holdings: the
    // page says so, and draws more when asked.
    let first = &tvist["graph"];
    assert_graph_is_the_apis(first, "TVIST 1 AS");
    assert_eq!(first["api_truncated"], true, "{first}");
    let further = &tvist["graph_drawn_further"];
    assert_graph_is_the_apis(further, "TVIST 1 AS drawn further");
    assert_eq!(further["api_truncated"], false, "{further}");
    assert!(
        further["svg_nodes"].as_array().map(Vec::len) > first["svg_nodes"].as_array().map(Vec::len),
        "{further}"
    );

    // A person's page, reached from an owners table.
    let person = &report["person"];
    assert_clean(person, "person");
    assert!(
        person["path"]
            .as_str()
            .expect("path")
            .starts_with("/person/")
    );
    assert_eq!(person["heading"], "HAGEN STEIN ERIK");
    assert_eq!(person["facts"]["Born"], "1956");
    let direct: Vec<(String, String)> = cells(&person["holdings"])
        .into_iter()
        .map(|row| (row[1].clone(), row[3].clone()))
        .collect();
    assert_eq!(
        direct,
        [
            ("885648312".to_owned(), "7.5 %".to_owned()),
            ("988844322".to_owned(), "2.5 %".to_owned())
        ]
    );
    assert!(
        cells(&person["ultimate_holdings"]).len() > direct.len(),
        "through CANICA INVESTOR AS the person owns more: {person}"
    );

    // The owners table is paged: 25 owners, largest first, then the other 5.
    let paging = &report["paging"];
    assert_clean(paging, "paging");
    let first: Vec<String> = cells(&paging["first"]["rows"])
        .iter()
        .map(|row| row[0].clone())
        .collect();
    let expected: Vec<String> = (6..=30).rev().map(|n| format!("OWNER {n}")).collect();
    assert_eq!(first, expected);
    assert_eq!(paging["first"]["pager"], "← PreviousPage 1 of 2Next →");
    let second: Vec<String> = cells(&paging["second"]["rows"])
        .iter()
        .map(|row| row[0].clone())
        .collect();
    assert_eq!(
        second,
        ["OWNER 5", "OWNER 4", "OWNER 3", "OWNER 2", "OWNER 1"]
    );
    assert_eq!(paging["second"]["pager"], "← PreviousPage 2 of 2Next →");
    assert_eq!(
        paging["caption"],
        "Direct owners, largest first (30, page 2 of 2)"
    );

    // Clear error pages, not empty tables.
    assert_error_page(
        &report["unknown"],
        404,
        "No such company",
        "No company with orgnr 123456785",
    );
    assert_error_page(
        &report["check_digit"],
        400,
        "Not an organisation number",
        "the check digit of 891450051 is wrong",
    );

    // The screenshot, for a reviewer.
    let png = std::fs::read(&screenshot).expect("the screenshot was written");
    assert!(png.starts_with(b"\x89PNG"), "a PNG");
    assert!(
        png.len() > 20_000,
        "a page, not a blank: {} bytes",
        png.len()
    );

    running.stop().await.expect("clean shutdown");
}

/// The sample as the register of 2023, and as that of 2024 where HAGEN STEIN ERIK holds 2
/// A-shares of TVIST 1 AS instead of 3.
fn two_years(dir: &Path) -> [PathBuf; 2] {
    let sample = std::fs::read_to_string(sample_path()).expect("the sample");
    let sold = sample.replace(
        "988844322;TVIST 1 AS;A-aksjer;HAGEN STEIN ERIK;1956;0790 OSLO;NOR;3;120",
        "988844322;TVIST 1 AS;A-aksjer;HAGEN STEIN ERIK;1956;0790 OSLO;NOR;2;120",
    );
    assert_ne!(sold, sample, "the sample has the line");
    let files = [
        dir.join("aksjeeiebok__2023.csv"),
        dir.join("aksjeeiebok__2024.csv"),
    ];
    std::fs::write(&files[0], &sample).expect("2023 written");
    std::fs::write(&files[1], &sold).expect("2024 written");
    files
}

#[tokio::test]
async fn the_company_page_chooses_a_year_and_shows_the_changes_since_the_one_before() {
    let dir = tempfile::tempdir().expect("tempdir");
    let storage = embedded_storage(&dir.path().join("data"));
    for file in two_years(dir.path()) {
        let args = ImportArgs {
            file,
            year: None,
            rejects: None,
            batch: 7,
            no_rebuild: false,
        };
        let code = import(&storage, args).await.expect("imports");
        assert_eq!(code, ExitCode::SUCCESS);
    }
    let running = start(&storage, local()).await.expect("starts");
    let api = Api::new(running.addr);

    let report = browse(&api, &["years"]).await;
    assert_clean(&report, "years");
    assert_eq!(
        report["options"],
        json!([
            ["", "the live register"],
            ["2024", "2024"],
            ["2023", "2023"]
        ])
    );
    // The live register is 2024's: its changes are those since 2023.
    assert_eq!(report["changes_heading"], "Changes from 2023 to 2024");
    let changes = cells(&report["changes"]);
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert_eq!(changes[0][..3], ["HAGEN STEIN ERIK", "decreased", "3 → 2"]);
    assert!(changes[0][3].starts_with("2.5 % → 1.666"), "{changes:?}");

    // Choosing 2023 opens the page of that year, whose links stay in it.
    let chosen = &report["chosen"];
    assert_eq!(chosen["selected"], "2023");
    assert_eq!(chosen["facts"]["Register"], "of 2023");
    let hagen = cells(&chosen["owners"])
        .into_iter()
        .find(|row| row[0] == "HAGEN STEIN ERIK")
        .expect("an owner in 2023");
    assert_eq!(hagen[3], "3");
    let links = strings(&chosen["owner_links"]);
    assert_eq!(links.len(), 2);
    assert!(
        links.iter().all(|link| link.ends_with("?year=2023")),
        "{links:?}"
    );
    assert_eq!(
        chosen["changes_heading"],
        Value::Null,
        "no year before 2023"
    );
    running.stop().await.expect("clean shutdown");
}
