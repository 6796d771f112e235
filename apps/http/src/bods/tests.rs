//! `GET /api/{orgnr}/bods` through `warp::test`, over a mocked read model: one company, held
//! 60 % by a person.

use serde_json::Value;
use shareholders_domain::{
    ClassShares, CompanyProfile, Country, Name, OrgNr, Organisation, OwnerProfile, OwnerRef,
    PersonId, ShareClass, ShareCount,
};
use shareholders_ports::{CompanyRecord, HoldingRecord, MockReadStore};

const COMPANY: &str = "891450052";
const PERSON: &str = "p-1";

fn company() -> CompanyRecord {
    CompanyRecord {
        organisation: Organisation::new(
            OrgNr::parse(COMPANY).expect("an orgnr"),
            Name::parse("CANICA EIENDOM AS").expect("a name"),
            None,
            None,
            Country::NORWAY,
            Some(ShareCount::new(100).expect("a count")),
        ),
        registered_shares: 60,
        owner_count: 1,
        foreign_owner_count: 0,
        holding_count: 0,
        classes: Vec::new(),
    }
}

fn holding() -> HoldingRecord {
    HoldingRecord {
        company: CompanyProfile {
            orgnr: OrgNr::parse(COMPANY).expect("an orgnr"),
            name: Name::parse("CANICA EIENDOM AS").expect("a name"),
            total_shares: Some(ShareCount::new(100).expect("a count")),
        },
        company_registered_shares: 60,
        owner: OwnerProfile {
            owner: OwnerRef::Person(PersonId::parse(PERSON).expect("an id")),
            name: Name::parse("HAGEN STEIN ERIK").expect("a name"),
            country: Country::NORWAY,
            birth_year: None,
        },
        classes: vec![ClassShares {
            share_class: ShareClass::parse("A").expect("a class"),
            shares: 60,
        }],
    }
}

/// A read model that knows the company (in the live register only) and its one owner.
fn read_model() -> MockReadStore {
    let mut read = MockReadStore::new();
    read.expect_organisation()
        .returning(|orgnr| Ok((orgnr.as_str() == COMPANY).then(company)));
    read.expect_owners_given().returning(|company, _| {
        Ok(if company.organisation.orgnr().as_str() == COMPANY {
            vec![holding()]
        } else {
            vec![]
        })
    });
    read.expect_owners_of().returning(|companies| {
        Ok(companies
            .iter()
            .filter(|orgnr| orgnr.as_str() == COMPANY)
            .map(|_| holding())
            .collect())
    });
    read.expect_year().returning(|_| Ok(None));
    read
}

async fn get(path: &str) -> (u16, String, Value) {
    let response = crate::get_over(path, read_model()).await;
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = serde_json::from_slice(response.body()).expect("a JSON body");
    (response.status().as_u16(), content_type, body)
}

#[tokio::test]
async fn an_invalid_orgnr_is_a_400_naming_it() {
    let (status, content_type, body) = get("/api/12345/bods").await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(content_type, "application/problem+json");
    assert_eq!(body["errors"][0]["field"], "orgnr", "{body}");
}

#[tokio::test]
async fn an_unknown_company_is_a_404() {
    let (status, content_type, body) = get("/api/999999999/bods").await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(content_type, "application/problem+json");
    assert!(
        body["detail"]
            .as_str()
            .is_some_and(|detail| detail.contains("999999999")),
        "{body}"
    );
}

#[tokio::test]
async fn a_year_never_imported_is_a_404() {
    let (status, content_type, body) = get(&format!("/api/{COMPANY}/bods?year=1999")).await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(content_type, "application/problem+json");
}

#[tokio::test]
async fn a_bad_query_is_a_400() {
    let (status, content_type, body) = get(&format!("/api/{COMPANY}/bods?year=x")).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(content_type, "application/problem+json");
}

#[tokio::test]
async fn a_company_held_directly_by_its_beneficial_owner() {
    let (status, content_type, body) = get(&format!("/api/{COMPANY}/bods")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(content_type, "application/json");
    let statements = body.as_array().expect("an array");
    let kinds: Vec<&str> = statements
        .iter()
        .map(|s| s["recordType"].as_str().expect("a record type"))
        .collect();
    // No indirect relationship: the person holds the company only directly.
    assert_eq!(kinds, ["entity", "person", "relationship"], "{body}");
    let [entity, person, relationship] = &statements[..] else {
        unreachable!()
    };
    assert_eq!(entity["recordId"], "org-891450052");
    assert_eq!(entity["declarationSubject"], "org-891450052");
    assert_eq!(
        entity["recordDetails"]["identifiers"][0],
        serde_json::json!({"id": COMPANY, "scheme": "NO-BRC", "schemeName": "Brønnøysundregistrene"})
    );
    assert_eq!(person["recordId"], "person-p-1");
    assert_eq!(person["declarationSubject"], "person-p-1");
    assert_eq!(relationship["recordId"], "holding-person-p-1-in-891450052");
    assert_eq!(relationship["declarationSubject"], "org-891450052");
    let details = &relationship["recordDetails"];
    assert_eq!(details["subject"], "org-891450052");
    assert_eq!(details["interestedParty"], "person-p-1");
    assert_eq!(
        details["interests"],
        serde_json::json!([{
            "type": "shareholding",
            "directOrIndirect": "direct",
            "beneficialOwnershipOrControl": true,
            "share": {"exact": 60.0},
            "details": "60 of the 100 shares issued (the percentage of issued shares, truncated to 4 decimals)",
        }])
    );
    for statement in statements {
        assert_eq!(statement["publicationDetails"]["bodsVersion"], "0.4");
        assert_eq!(
            statement["publicationDetails"]["publisher"]["name"],
            "shareholders"
        );
        let id = statement["statementId"].as_str().expect("an id");
        assert!(
            id.len() == 64 && id.bytes().all(|b| b.is_ascii_hexdigit()),
            "{id}"
        );
    }
    let (_, _, again) = get(&format!("/api/{COMPANY}/bods")).await;
    assert_eq!(again, body, "the same data gives the same statements");
}
