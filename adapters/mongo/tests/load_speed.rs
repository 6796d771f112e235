//! The bulk build's speed next to raw inserts into the same server. Ignored by default (it
//! writes hundreds of thousands of documents); run it in release:
//! `cargo test --release -p shareholders-mongo --test load_speed -- --ignored --nocapture`
//! (`LOAD_SPEED_DOCS` sets the number of documents, 60,000 by default).

mod common;

use std::time::Instant;

use common::{drop_database, fresh, organisation, orgnr, person};
use shareholders_domain::{ClassShares, CompanyProfile, OwnerProfile, OwnerRef, Position};
use shareholders_ports::{
    CompanyRecord, CompanySnapshot, HoldingRecord, HoldingSnapshot, PersonRecord, PersonSnapshot,
    ReadModelLoader, ReadStore, SnapshotBatch,
};

/// A synthetic snapshot in the proportions of the real register: 13 % organisations, 23 %
/// persons, 64 % holdings, each organisation issuing about five holdings.
fn synthetic(documents: u32) -> SnapshotBatch {
    let companies = (documents * 13 / 100).max(1);
    let persons = (documents * 23 / 100).max(1);
    let holdings = documents - companies - persons;
    let mut batch = SnapshotBatch::default();
    for n in 0..companies {
        batch.companies.push(CompanySnapshot {
            record: CompanyRecord {
                organisation: organisation(n, Some(1_000_000), "NO"),
                registered_shares: 1_000,
                owner_count: 5,
                foreign_owner_count: 0,
                holding_count: 0,
                classes: vec![ClassShares {
                    share_class: common::class("Ordinære aksjer"),
                    shares: 1_000,
                }],
            },
            version: 5,
            owner_version: 0,
        });
    }
    for n in 0..persons {
        batch.persons.push(PersonSnapshot {
            record: PersonRecord {
                person: person(&format!("p{n:07}"), "NO"),
                holding_count: 1,
            },
            owner_version: 1,
        });
    }
    for n in 0..holdings {
        let company = orgnr(n / 5 % companies);
        let id = format!("p{:07}", n % persons);
        batch.holdings.push(HoldingSnapshot {
            shares: u64::from(n % 100 + 1),
            record: HoldingRecord {
                company: CompanyProfile {
                    orgnr: company,
                    name: common::name(&format!("SELSKAP {} AS", n / 5 % companies)),
                    total_shares: None,
                },
                company_registered_shares: 1_000,
                owner: OwnerProfile {
                    owner: OwnerRef::Person(shareholders_domain::PersonId::parse(&id).expect("id")),
                    name: common::name(&format!("PERSON {id}")),
                    country: common::country("NO"),
                    birth_year: None,
                },
                classes: vec![ClassShares {
                    share_class: common::class("Ordinære aksjer"),
                    shares: u64::from(n % 100 + 1),
                }],
            },
            version: 5,
        });
    }
    batch
}

/// Splits like the rebuild does: batches of `size` in companies, persons, holdings order.
fn batches(all: SnapshotBatch, size: usize) -> Vec<SnapshotBatch> {
    let mut out = Vec::new();
    let mut pending = SnapshotBatch::default();
    let mut push = |pending: &mut SnapshotBatch| {
        if pending.len() >= size {
            out.push(std::mem::take(pending));
        }
    };
    for c in all.companies {
        pending.companies.push(c);
        push(&mut pending);
    }
    for p in all.persons {
        pending.persons.push(p);
        push(&mut pending);
    }
    for h in all.holdings {
        pending.holdings.push(h);
        push(&mut pending);
    }
    if !pending.is_empty() {
        out.push(pending);
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a benchmark: run it in release with --ignored --nocapture"]
async fn load_speed_next_to_raw_inserts() {
    let documents: u32 = std::env::var("LOAD_SPEED_DOCS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(60_000);
    let all = synthetic(documents);
    let total = all.len();
    let parts = batches(all, 5_000);

    let read = fresh().await;
    let baseline = read
        .raw_insert_baseline("baseline", u64::try_from(total).expect("small"))
        .await
        .expect("baseline");

    let started = Instant::now();
    read.clear().await.expect("cleared");
    for part in parts {
        read.load(part).await.expect("loaded");
    }
    read.mark_applied_through(Position::new(1))
        .await
        .expect("marked");
    let build = started.elapsed();
    println!(
        "documents {total}: build {:.2} s, raw insert_many {:.2} s, ratio {:.2}",
        build.as_secs_f64(),
        baseline.as_secs_f64(),
        build.as_secs_f64() / baseline.as_secs_f64()
    );
    let owners = read
        .owners(
            orgnr(0),
            shareholders_ports::PageRequest::new(Some(1), Some(100)).expect("page"),
        )
        .await
        .expect("owners");
    assert_eq!(owners.len(), 5);
    drop_database(&read).await;
}
