//! The register as Beneficial Ownership Data Standard 0.4 statements, on the embedded default
//! with the sample imported as the register of 2024: `GET /api/{orgnr}/bods` for a company with
//! a chain above it, and `shareholders export-bods` of the whole register, both validated with
//! `libcovebods jsv` (PyPI, pinned and installed by scripts/test) against the BODS 0.4 schema;
//! and `export-bods` from the real stack (PostgreSQL and MongoDB), which gives the same
//! statements.

mod support;

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use serde_json::{Value, json};
use shareholders::cli::{ExportBodsArgs, ImportArgs, StorageArgs};
use shareholders::commands::import;
use shareholders::export::export_bods;
use shareholders::serve::start;
use shareholders_domain::RegisterYear;
use support::real::RealStack;
use support::{Api, embedded_storage, local, sample_path, sample_rows};

/// CANICA EIENDOM AS, held 100 % by TVIST 5 AS, held 100 % by CANICA INVESTOR AS, held by four
/// persons (30, 30, 30 and 7.5 %) and TVIST 1 AS (2.5 %), itself held 97.5 % by one of them.
const COMPANY: &str = "891450052";
const TVIST_5: &str = "980322939";
const CANICA_INVESTOR: &str = "885648312";
const TVIST_1: &str = "988844322";

fn year() -> RegisterYear {
    RegisterYear::parse("2024").expect("a year")
}

/// What `libcovebods jsv` reports of the file: the list of schema errors (empty when valid).
/// It exits 0 whether or not the document is valid, and prints one JSON array of errors.
fn schema_errors(path: &Path) -> Vec<Value> {
    let output = std::process::Command::new("libcovebods")
        .arg("jsv")
        .arg(path)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "libcovebods is needed to validate BODS (scripts/test installs it; or \
                 python3 -m pip install libcovebods==0.16.0): {e}"
            )
        });
    assert!(
        output.status.success(),
        "libcovebods jsv {} failed: {}",
        path.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    let errors: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "libcovebods jsv printed no JSON ({e}): {}",
            String::from_utf8_lossy(&output.stdout)
        )
    });
    errors.as_array().expect("a list of errors").clone()
}

fn assert_valid(statements: &Value, dir: &Path, name: &str) {
    let path = dir.join(name);
    std::fs::write(&path, serde_json::to_vec_pretty(statements).expect("JSON")).expect("written");
    let errors = schema_errors(&path);
    assert!(
        errors.is_empty(),
        "{name} is not valid BODS 0.4: {errors:#?}"
    );
}

fn statements(value: &Value) -> &Vec<Value> {
    value.as_array().expect("an array of statements")
}

fn of_type<'a>(statements: &'a [Value], record_type: &str) -> Vec<&'a Value> {
    statements
        .iter()
        .filter(|s| s["recordType"] == record_type)
        .collect()
}

/// The orgnr an entity statement identifies.
fn orgnr(entity: &Value) -> &str {
    let identifier = &entity["recordDetails"]["identifiers"][0];
    assert_eq!(identifier["scheme"], "NO-BRC", "{entity}");
    identifier["id"].as_str().expect("an orgnr")
}

fn full_name(person: &Value) -> &str {
    person["recordDetails"]["names"][0]["fullName"]
        .as_str()
        .expect("a name")
}

/// Every relationship refers to records stated before it; statement ids are unique.
fn assert_well_formed(statements: &[Value]) {
    let mut records = HashSet::new();
    let mut ids = HashSet::new();
    for statement in statements {
        let id = statement["statementId"].as_str().expect("an id");
        assert!(ids.insert(id), "statement id {id} twice");
        assert_eq!(statement["publicationDetails"]["bodsVersion"], "0.4");
        assert_eq!(
            statement["publicationDetails"]["publisher"]["name"],
            "shareholders"
        );
        if statement["recordType"] == "relationship" {
            let details = &statement["recordDetails"];
            for end in ["subject", "interestedParty"] {
                let record = details[end].as_str().expect("a record id");
                assert!(
                    records.contains(record),
                    "{end} {record} before its statement"
                );
            }
            assert_eq!(statement["declarationSubject"], details["subject"]);
        } else {
            assert_eq!(statement["declarationSubject"], statement["recordId"]);
        }
        records.insert(statement["recordId"].as_str().expect("a record id"));
    }
}

/// The relationship with this record id.
fn relationship<'a>(statements: &'a [Value], record_id: &str) -> &'a Value {
    let found: Vec<&Value> = statements
        .iter()
        .filter(|s| s["recordId"] == record_id)
        .collect();
    assert_eq!(found.len(), 1, "{record_id}: {found:?}");
    &found[0]["recordDetails"]
}

fn direct(exact: f64, beneficial: bool) -> Value {
    json!({"type": "shareholding", "directOrIndirect": "direct",
           "beneficialOwnershipOrControl": beneficial, "share": {"exact": exact}})
}

/// An interest without its free-text details.
fn interests(details: &Value) -> Vec<Value> {
    details["interests"]
        .as_array()
        .expect("interests")
        .iter()
        .map(|interest| {
            let mut interest = interest.clone();
            interest
                .as_object_mut()
                .expect("an object")
                .remove("details");
            interest
        })
        .collect()
}

async fn import_sample(storage: &StorageArgs) {
    let args = ImportArgs {
        file: sample_path(),
        year: Some(year()),
        rejects: None,
        batch: 7,
        no_rebuild: false,
    };
    assert_eq!(
        import(storage, args).await.expect("imports"),
        ExitCode::SUCCESS
    );
}

async fn export(storage: &StorageArgs, year: Option<RegisterYear>, out: PathBuf) -> Value {
    let args = ExportBodsArgs {
        year,
        out: out.clone(),
    };
    assert_eq!(
        export_bods(storage, args).await.expect("exports"),
        ExitCode::SUCCESS
    );
    let mut partial = out.clone().into_os_string();
    partial.push(".partial");
    assert!(!Path::new(&partial).exists(), "the partial file is renamed");
    serde_json::from_slice(&std::fs::read(&out).expect("the export")).expect("JSON")
}

/// The statements without what depends on the day of the import or the export (the dates, and
/// the statement ids, which hash them): what two exports of one register on two days share.
fn content(export: &Value) -> Vec<Value> {
    statements(export)
        .iter()
        .map(|statement| {
            let mut statement = statement.clone();
            let fields = statement.as_object_mut().expect("a statement is an object");
            for dated in ["statementId", "statementDate", "publicationDetails"] {
                assert!(fields.remove(dated).is_some(), "{dated}");
            }
            statement
        })
        .collect()
}

/// The sample imported into the real stack (its read model in MongoDB, held in memory for the
/// export as on the embedded default) is exported as the same statements, the year's and the
/// live register's, as from the embedded default.
#[tokio::test]
async fn the_real_stack_exports_the_same_statements_as_the_embedded_default() {
    let dir = tempfile::tempdir().expect("tempdir");
    let embedded = embedded_storage(&dir.path().join("data"));
    import_sample(&embedded).await;
    let stack = RealStack::new().await;
    let real = stack.without_broker();
    import_sample(&real).await;
    for (register, name) in [(Some(year()), "2024"), (None, "live")] {
        let from_sqlite = export(
            &embedded,
            register,
            dir.path().join(format!("e-{name}.json")),
        )
        .await;
        let from_real = export(&real, register, dir.path().join(format!("r-{name}.json"))).await;
        assert!(
            statements(&from_real).len() > 20,
            "{name}: {} statements",
            statements(&from_real).len()
        );
        assert_eq!(
            content(&from_real),
            content(&from_sqlite),
            "the {name} register"
        );
    }
    let from_real = export(&real, Some(year()), dir.path().join("r-again.json")).await;
    assert_valid(&from_real, dir.path(), "real-checked.json");
    stack.cleanup().await;
}

#[tokio::test]
async fn the_register_is_valid_bods_for_a_company_and_whole() {
    let dir = tempfile::tempdir().expect("tempdir");
    let storage = embedded_storage(&dir.path().join("data"));
    import_sample(&storage).await;

    // The whole register, before the API is started on the same file.
    let whole = export(
        &storage,
        Some(year()),
        dir.path().join("register-2024.json"),
    )
    .await;
    let again = export(&storage, Some(year()), dir.path().join("again.json")).await;
    assert_eq!(whole, again, "two exports of the same data are identical");
    let live = export(&storage, None, dir.path().join("live.json")).await;
    assert_valid(&whole, dir.path(), "whole.json");
    assert_valid(&live, dir.path(), "live-checked.json");
    let whole = statements(&whole);
    assert_well_formed(whole);

    // Every company of the sample (issuers and organisations that hold shares) exactly once,
    // every person once.
    let rows = sample_rows();
    let sample_orgs: BTreeSet<&str> = rows
        .iter()
        .flat_map(|row| {
            std::iter::once(row.company.as_str())
                .chain((row.holder_id.len() == 9).then_some(row.holder_id.as_str()))
        })
        .collect();
    let mut exported_orgs: BTreeMap<&str, usize> = BTreeMap::new();
    for entity in of_type(whole, "entity") {
        *exported_orgs.entry(orgnr(entity)).or_default() += 1;
    }
    assert_eq!(
        exported_orgs.keys().copied().collect::<BTreeSet<_>>(),
        sample_orgs
    );
    assert!(
        exported_orgs.values().all(|count| *count == 1),
        "{exported_orgs:?}"
    );
    let persons: Vec<&str> = of_type(whole, "person")
        .into_iter()
        .map(full_name)
        .collect();
    assert_eq!(
        persons.iter().copied().collect::<BTreeSet<_>>(),
        BTreeSet::from([
            "HAGEN CARL ERIK",
            "HAGEN STEIN ERIK",
            "KJOS CAROLINE MARIE HAGEN",
            "SØRLI NINA CAMILLA HAGEN"
        ])
    );
    assert_eq!(persons.len(), 4, "each person once");
    let direct_holdings = of_type(whole, "relationship")
        .into_iter()
        .filter(|s| {
            s["recordId"]
                .as_str()
                .is_some_and(|id| id.starts_with("holding-"))
        })
        .count();
    assert_eq!(direct_holdings, rows.len(), "one per holding of the sample");

    // The API, on the same data.
    let running = start(&storage, local()).await.expect("starts");
    let api = Api::new(running.addr);
    let answer = api.get_ok(&format!("/api/{COMPANY}/bods?year=2024")).await;
    assert_valid(&answer, dir.path(), "company.json");
    let company = statements(&answer);
    assert_well_formed(company);
    assert_eq!(
        api.get_ok(&format!("/api/{COMPANY}/bods?year=2024")).await,
        answer,
        "the same answer twice"
    );
    assert!(
        company.iter().all(|s| s["statementDate"] == "2024-12-31"),
        "a year's statements describe its 31 December"
    );
    // The company's answer is the whole register's statements about it and what is above
    // it, in the same order.
    let in_whole: Vec<&Value> = whole.iter().filter(|s| company.contains(s)).collect();
    assert_eq!(
        in_whole.len(),
        company.len(),
        "every statement of the answer is in the export"
    );
    assert_eq!(
        in_whole,
        company.iter().collect::<Vec<_>>(),
        "in the same order"
    );

    // The company and everything above it: its owner TVIST 5 AS, CANICA INVESTOR AS above
    // that, TVIST 1 AS beside the persons, and nothing below it.
    let entities: BTreeSet<&str> = of_type(company, "entity").into_iter().map(orgnr).collect();
    assert_eq!(
        entities,
        BTreeSet::from([CANICA_INVESTOR, COMPANY, TVIST_5, TVIST_1])
    );
    let person_ids: BTreeMap<&str, String> = of_type(company, "person")
        .into_iter()
        .map(|p| {
            (
                full_name(p),
                p["recordId"].as_str().expect("a record id").to_owned(),
            )
        })
        .collect();
    assert_eq!(person_ids.len(), 4, "{person_ids:?}");
    let person = |name: &str| person_ids[name].as_str();

    let owner = relationship(company, &format!("holding-org-{TVIST_5}-in-{COMPANY}"));
    assert_eq!(owner["subject"], format!("org-{COMPANY}"));
    assert_eq!(owner["interestedParty"], format!("org-{TVIST_5}"));
    assert_eq!(owner["isComponent"], false);
    assert_eq!(interests(owner), [direct(100.0, false)]);
    assert_eq!(
        interests(relationship(
            company,
            &format!("holding-org-{CANICA_INVESTOR}-in-{TVIST_5}")
        )),
        [direct(100.0, false)]
    );
    for (name, exact, beneficial) in [
        ("HAGEN CARL ERIK", 30.0, true),
        ("KJOS CAROLINE MARIE HAGEN", 30.0, true),
        ("SØRLI NINA CAMILLA HAGEN", 30.0, true),
        ("HAGEN STEIN ERIK", 7.5, false),
    ] {
        let holding = relationship(
            company,
            &format!("holding-{}-in-{CANICA_INVESTOR}", person(name)),
        );
        assert_eq!(holding["interestedParty"], person(name));
        assert_eq!(interests(holding), [direct(exact, beneficial)], "{name}");
    }
    assert_eq!(
        interests(relationship(
            company,
            &format!("holding-org-{TVIST_1}-in-{CANICA_INVESTOR}")
        )),
        [direct(2.5, false)]
    );
    assert_eq!(
        interests(relationship(
            company,
            &format!(
                "holding-{}-in-{TVIST_1}",
                person("KJOS CAROLINE MARIE HAGEN")
            )
        )),
        [direct(97.5, true)]
    );

    // The beneficial owners of the company, as the service computes them, each with an
    // indirect relationship to it whose share is the effective ownership.
    let beneficial = api
        .get_ok(&format!("/api/{COMPANY}/beneficial-owners?year=2024"))
        .await;
    let expected: BTreeMap<String, f64> = beneficial["beneficial_owners"]
        .as_array()
        .expect("beneficial owners")
        .iter()
        .map(|entry| {
            (
                format!("person-{}", entry["owner"]["id"].as_str().expect("an id")),
                entry["effective_percentage"]
                    .as_f64()
                    .expect("a percentage"),
            )
        })
        .collect();
    assert_eq!(expected.len(), 3, "{beneficial}");
    let indirect: BTreeMap<String, f64> = of_type(company, "relationship")
        .into_iter()
        .map(|s| &s["recordDetails"])
        .filter(|details| details["subject"] == format!("org-{COMPANY}"))
        .filter(|details| details["interests"][0]["directOrIndirect"] == "indirect")
        .map(|details| {
            assert_eq!(details["isComponent"], false);
            let interest = &details["interests"][0];
            assert_eq!(interest["type"], "shareholding");
            assert_eq!(interest["beneficialOwnershipOrControl"], true);
            (
                details["interestedParty"]
                    .as_str()
                    .expect("a record id")
                    .to_owned(),
                interest["share"]["exact"].as_f64().expect("a share"),
            )
        })
        .collect();
    assert_eq!(indirect, expected);
    assert_eq!(
        indirect[person("KJOS CAROLINE MARIE HAGEN")],
        32.4375,
        "30 % directly and 97.5 % of 2.5 % through TVIST 1 AS"
    );
    assert!(!indirect.contains_key(person("HAGEN STEIN ERIK")));

    // The live register: today's statements of the same records.
    let live_answer = api.get_ok(&format!("/api/{COMPANY}/bods")).await;
    assert_valid(&live_answer, dir.path(), "company-live.json");
    let record_ids = |statements: &[Value]| -> Vec<Value> {
        statements.iter().map(|s| s["recordId"].clone()).collect()
    };
    assert_eq!(record_ids(statements(&live_answer)), record_ids(company));

    // Errors are problem details.
    let (status, body) = api.get("/api/999999999/bods").await;
    assert_eq!(status, 404, "{body}");
    let (status, body) = api.get("/api/12345/bods").await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = api.get(&format!("/api/{COMPANY}/bods?year=1999")).await;
    assert_eq!(status, 404, "{body}");
    running.stop().await.expect("stops");

    // The validation can fail: a statement of an unknown record type is reported.
    let mut broken = answer.clone();
    broken[0]["recordType"] = json!("company");
    let path = dir.path().join("broken.json");
    std::fs::write(&path, serde_json::to_vec(&broken).expect("JSON")).expect("written");
    let errors = schema_errors(&path);
    assert!(
        errors.iter().any(|e| e["path"] == json!([0, "recordType"])),
        "libcovebods jsv reports the wrong recordType: {errors:#?}"
    );
}

/// A case of `bods-v04-fixtures` (PyPI, pinned and installed by scripts/test): its statements.
fn fixture(name: &str) -> Vec<Value> {
    let output = std::process::Command::new("python3")
        .args([
            "-c",
            "import json, sys, bods_fixtures; \
             json.dump(bods_fixtures.load(sys.argv[1]).statements, sys.stdout)",
            name,
        ])
        .output()
        .expect("python3 runs");
    assert!(
        output.status.success(),
        "bods-v04-fixtures is needed (scripts/test installs it; or python3 -m pip install \
         bods-v04-fixtures==0.1.1): {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let statements: Value = serde_json::from_slice(&output.stdout).expect("JSON");
    statements
        .as_array()
        .expect("an array of statements")
        .clone()
}

/// A record's name as the register writes it: an entity's name or a person's full name, in
/// capitals.
fn record_name(statements: &[Value], record_id: &Value) -> String {
    let record = statements
        .iter()
        .find(|s| s["recordId"] == *record_id && s["recordType"] != "relationship")
        .unwrap_or_else(|| panic!("no record {record_id}"));
    let details = &record["recordDetails"];
    details["name"]
        .as_str()
        .or_else(|| details["names"][0]["fullName"].as_str())
        .expect("a name")
        .to_uppercase()
}

/// The direct shareholdings stated: (subject, interested party, exact share in hundredths of a
/// percent, beneficial ownership or control).
fn direct_shareholdings(statements: &[Value]) -> BTreeSet<(String, String, i64, bool)> {
    of_type(statements, "relationship")
        .into_iter()
        .flat_map(|s| {
            let details = &s["recordDetails"];
            let subject = record_name(statements, &details["subject"]);
            let party = record_name(statements, &details["interestedParty"]);
            details["interests"]
                .as_array()
                .expect("interests")
                .iter()
                .filter(|i| i["type"] == "shareholding" && i["directOrIndirect"] == "direct")
                .map(move |i| {
                    #[allow(clippy::cast_possible_truncation)] // a percentage
                    let exact = (i["share"]["exact"].as_f64().expect("an exact share") * 100.0)
                        .round() as i64;
                    let beneficial = i["beneficialOwnershipOrControl"].as_bool().expect("a flag");
                    (subject.clone(), party.clone(), exact, beneficial)
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

fn count(statements: &[Value], record_type: &str) -> usize {
    of_type(statements, record_type).len()
}

/// The cases of `bods-v04-fixtures` the register can express, registered through the API as
/// the fixture describes them: each company's answer states the same records and the same
/// direct shareholdings, with the same beneficial ownership flags, and is valid BODS.
/// - `core/01-direct-ownership`: a person holding 75 % of a company. The fixture also states
///   `votingRights`; the register records shares, not votes (a class's votes are not in the
///   extract), so only the shareholding is compared.
/// - `edge-cases/10-circular-ownership`: two companies holding all of each other. No person is
///   reachable, so there is no beneficial owner, no ultimate owner, and no person statement.
///
/// Not expressible: `edge-cases/11-anonymous-person`, a beneficial owner the subject declared
/// unknown; the register holds no such declarations.
#[tokio::test]
async fn the_cases_of_bods_v04_fixtures_are_stated_alike() {
    let dir = tempfile::tempdir().expect("tempdir");
    let running = start(&embedded_storage(&dir.path().join("data")), local())
        .await
        .expect("starts");
    let api = Api::new(running.addr);
    let organisation = |orgnr: &str| json!({"kind": "organization", "id": orgnr});
    for (orgnr, name) in [
        ("910000004", "ACME HOLDINGS LTD"),
        ("910000012", "ALPHA CORP LTD"),
        ("910000020", "BETA CORP LTD"),
    ] {
        let (status, body) = api
            .post(
                "/api/organization/",
                &json!({"orgnr": orgnr, "name": name, "total_shares": 100, "country": "GB"}),
            )
            .await;
        assert_eq!(status, 201, "{body}");
    }
    let (status, jane) = api
        .post(
            "/api/person/",
            &json!({"name": "JANE SMITH", "birth_year": 1975, "country": "GB"}),
        )
        .await;
    assert_eq!(status, 201, "{jane}");
    support::buy(
        &api,
        "910000004",
        &json!({"kind": "person", "id": jane["id"]}),
        75,
    )
    .await;
    support::buy(&api, "910000020", &organisation("910000012"), 100).await;
    let position = support::buy(&api, "910000012", &organisation("910000020"), 100).await;

    for (case, orgnr, persons) in [
        ("core/01-direct-ownership", "910000004", 1),
        ("edge-cases/10-circular-ownership", "910000012", 0),
    ] {
        let expected = fixture(case);
        let answer = api
            .get_ok(&format!("/api/{orgnr}/bods?min_position={position}"))
            .await;
        assert_valid(&answer, dir.path(), "fixture-case.json");
        let stated = statements(&answer);
        assert_well_formed(stated);
        assert_eq!(
            direct_shareholdings(stated),
            direct_shareholdings(&expected),
            "{case}"
        );
        assert!(!direct_shareholdings(stated).is_empty(), "{case}");
        for record_type in ["entity", "person"] {
            assert_eq!(
                count(stated, record_type),
                count(&expected, record_type),
                "{case}: {record_type} statements"
            );
        }
        assert_eq!(count(stated, "person"), persons, "{case}");
    }
    // The cycle has no owner from outside it: nobody is its beneficial or ultimate owner.
    let beneficial = api
        .get_ok(&format!(
            "/api/910000012/beneficial-owners?min_position={position}"
        ))
        .await;
    assert_eq!(beneficial["beneficial_owners"], json!([]), "{beneficial}");
    let ultimate = api
        .get_ok(&format!(
            "/api/910000012/ultimate-owners?min_position={position}"
        ))
        .await;
    assert_eq!(ultimate["ultimate_owners"], json!([]), "{ultimate}");
    running.stop().await.expect("stops");
}
