//! `verify` sees every stored field of the MongoDB read model: one stored value corrupted at a
//! time is named, with its record and field, and `rebuild` repairs it.

mod common;

use common::{collect, drop_database, fresh, orgnr, scenario};
use mongodb::bson::{Document, doc};
use rstest::rstest;
use shareholders_ports::testkit::named;
use shareholders_ports::{Projection as _, diff, rebuild};

#[rstest]
#[case::holding_shares("holdings", "{a}/person/alice", Some(doc! {"$set": {"shares": 1000_i64}}), "holding", "shares")]
#[case::holding_company_total("holdings", "{a}/person/alice", Some(doc! {"$set": {"company.total_shares": 7_i64}}), "holding", "company.total_shares")]
#[case::holding_company_name("holdings", "{a}/person/bob", Some(doc! {"$set": {"company.name": "OTHER AS"}}), "holding", "company.name")]
#[case::holding_classes("holdings", "{a}/person/bob", Some(doc! {"$set": {"classes": []}}), "holding", "classes")]
#[case::holding_owner_name("holdings", "{a}/person/carol", Some(doc! {"$set": {"owner.name": "NOBODY"}}), "holding", "owner.name")]
#[case::holding_owner_country("holdings", "{a}/person/carol", Some(doc! {"$set": {"owner.country": "SE"}}), "holding", "owner.country")]
#[case::holding_owner_birth_year("holdings", "{a}/person/carol", Some(doc! {"$set": {"owner.birth_year": 1901}}), "holding", "owner.birth_year")]
#[case::holding_gone("holdings", "{a}/person/carol", None, "holding", "missing")]
#[case::organisation_name("organisations", "{b}", Some(doc! {"$set": {"name": "OTHER AS"}}), "organisation", "name")]
#[case::organisation_total("organisations", "{a}", Some(doc! {"$set": {"total_shares": 5_i64}}), "organisation", "total_shares")]
#[case::organisation_registered("organisations", "{a}", Some(doc! {"$set": {"registered_shares": 1_i64}}), "organisation", "registered_shares")]
#[case::organisation_owner_count("organisations", "{a}", Some(doc! {"$set": {"owner_count": 99_i64}}), "organisation", "owner_count")]
#[case::organisation_foreign("organisations", "{a}", Some(doc! {"$set": {"foreign_owner_count": 0_i64}}), "organisation", "foreign_owner_count")]
#[case::organisation_classes("organisations", "{a}", Some(doc! {"$set": {"classes": []}}), "organisation", "classes")]
#[case::organisation_holding_count("organisations", "{c}", Some(doc! {"$set": {"holding_count": 9_i64}}), "organisation", "holding_count")]
#[case::organisation_country("organisations", "{c}", Some(doc! {"$set": {"country": "DK"}}), "organisation", "country")]
#[case::organisation_gone("organisations", "{c}", None, "organisation", "missing")]
#[case::person_name("persons", "alice", Some(doc! {"$set": {"name": "NOBODY"}}), "person", "name")]
#[case::person_country("persons", "bob", Some(doc! {"$set": {"country": "NO"}}), "person", "country")]
#[case::organisation_search_words("organisations", "{b}", Some(doc! {"$set": {"search.words": ["other"]}}), "organisation", "search")]
#[case::organisation_search_length("organisations", "{a}", Some(doc! {"$set": {"search.length": 1_i64}}), "organisation", "search")]
#[case::organisation_search_gone("organisations", "{c}", Some(doc! {"$unset": {"search": ""}}), "organisation", "search")]
#[case::person_search_words("persons", "alice", Some(doc! {"$set": {"search.words": []}}), "person", "search")]
#[case::person_holding_count("persons", "carol", Some(doc! {"$set": {"holding_count": 4_i64}}), "person", "holding_count")]
#[tokio::test]
async fn a_corrupted_field_is_named_and_a_rebuild_repairs_it(
    #[case] collection: &str,
    #[case] id: &str,
    #[case] update: Option<Document>,
    #[case] kind: &str,
    #[case] field: &str,
) {
    let read = fresh().await;
    let (_, events) = scenario();
    read.apply(&events).await.expect("applied");
    let truth = collect(&read.snapshot()).await;
    let id = id
        .replace("{a}", orgnr(1).as_str())
        .replace("{b}", orgnr(2).as_str())
        .replace("{c}", orgnr(3).as_str());
    let documents = read.db.collection::<Document>(collection);
    let changed = match update {
        Some(update) => {
            documents
                .update_one(doc! {"_id": &id}, update)
                .await
                .expect("corrupts")
                .modified_count
        }
        None => {
            documents
                .delete_one(doc! {"_id": &id})
                .await
                .expect("deletes")
                .deleted_count
        }
    };
    assert_eq!(changed, 1, "{collection} {id}");

    let found: Vec<_> = diff(&truth, &read.snapshot())
        .await
        .expect("diff runs")
        .iter()
        .map(named)
        .collect();
    assert!(
        found.contains(&(kind.to_owned(), id.clone(), field.to_owned())),
        "{kind} {id} {field} not in {found:#?}"
    );
    rebuild(&truth, &read.model, true, 4, &|_| {})
        .await
        .expect("rebuilds");
    let left = diff(&truth, &read.snapshot()).await.expect("diff runs");
    assert!(left.is_empty(), "repaired: {left:#?}");
    drop_database(&read).await;
}
