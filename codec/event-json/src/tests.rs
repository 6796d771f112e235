use rstest::rstest;
use shareholders_domain::{
    BirthYear, ClassShares, CompanyProfile, CompanyState, Country, Event, Name, OrgNr,
    Organisation, OwnerProfile, OwnerRef, OwnerState, Person, PersonId, Place, Position,
    PostalCode, Purchase, PurchaseId, RecordedEvent, ShareClass, ShareCount, SharesPurchased,
};

use super::*;

fn orgnr(s: &str) -> OrgNr {
    OrgNr::parse(s).expect("valid")
}

fn purchased() -> Event {
    let class = ShareClass::parse("B-aksjer").expect("valid");
    let owner = OwnerRef::Person(PersonId::parse("abc123").expect("valid"));
    Event::SharesPurchased(Box::new(SharesPurchased {
        purchase_id: PurchaseId::new(5),
        purchase: Purchase::new(
            orgnr("885648312"),
            owner.clone(),
            class.clone(),
            ShareCount::new(36).expect("positive"),
        ),
        company: CompanyProfile {
            orgnr: orgnr("885648312"),
            name: Name::parse("CANICA INVESTOR AS").expect("valid"),
            total_shares: ShareCount::new(120).ok(),
        },
        owner: OwnerProfile {
            owner,
            name: Name::parse("KJOS CAROLINE MARIE HAGEN").expect("valid"),
            country: Country::parse("CHE").expect("valid"),
            birth_year: BirthYear::new(1984).ok(),
        },
        holding: vec![ClassShares {
            share_class: class.clone(),
            shares: 36,
        }],
        company_state: CompanyState {
            version: 3,
            registered_shares: 81,
            owner_count: 3,
            foreign_owner_count: 2,
            classes: vec![ClassShares {
                share_class: class,
                shares: 81,
            }],
        },
        owner_state: OwnerState {
            version: 2,
            holding_count: 2,
        },
    }))
}

fn registered() -> Event {
    Event::OrganisationRegistered(Organisation::new(
        orgnr("988844322"),
        Name::parse("TVIST 1 AS").expect("valid"),
        PostalCode::parse("0213").ok(),
        Place::parse("OSLO").ok(),
        Country::NORWAY,
        ShareCount::new(120).ok(),
    ))
}

fn person() -> Event {
    Event::PersonRegistered(Person::new(
        PersonId::parse("abc123").expect("valid"),
        Name::parse("SØRLI NINA CAMILLA HAGEN").expect("valid"),
        BirthYear::new(1981).ok(),
        None,
        None,
        Country::NORWAY,
    ))
}

#[rstest]
#[case(registered())]
#[case(person())]
#[case(purchased())]
fn events_survive_the_round_trip(#[case] event: Event) {
    let recorded = RecordedEvent {
        position: Position::new(17),
        event,
        recorded_at: None,
    };
    assert_eq!(decode(&encode(&recorded)).expect("decodes"), recorded);
    assert_eq!(
        decode_event(&encode_event(&recorded.event)).expect("decodes"),
        recorded.event
    );
}

#[rstest]
#[case(b"".as_slice(), "not a valid event")]
#[case(b"{}".as_slice(), "not a valid event")]
#[case(br#"{"v":2,"position":1,"event":{"type":"person_registered","id":"a","name":"A","birth_year":null,"postal_code":null,"place":null,"country":"NO"}}"#.as_slice(), "version 2")]
#[case(br#"{"v":1,"position":1,"event":{"type":"organisation_registered","orgnr":"123456789","name":"A","postal_code":null,"place":null,"country":"NO","total_shares":null}}"#.as_slice(), "orgnr")]
#[case(br#"{"v":1,"position":1,"event":{"type":"person_registered","id":"a","name":"A","birth_year":null,"postal_code":null,"place":null,"country":"QQ"}}"#.as_slice(), "country")]
#[case(br#"{"v":1,"position":1,"event":{"type":"nonsense"}}"#.as_slice(), "not a valid event")]
fn malformed_messages_are_errors_not_panics(#[case] bytes: &[u8], #[case] message: &str) {
    let error = decode(bytes).expect_err("refused");
    assert!(error.to_string().contains(message), "{error}");
}
