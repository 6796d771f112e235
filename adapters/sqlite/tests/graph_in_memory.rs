//! The live register held in memory (`ports::StakesInMemory`) over the embedded read model and
//! its log of changed companies (migration 0007): it answers the graph's two reads, and each
//! organisation's record and page of owners and of holdings, and ultimate and beneficial
//! owners and ultimate holdings computed on it as it is, as the read model does once
//! loaded (and the read model's owners' profiles read together as its holdings show them), after purchases projected since, and after a rebuild cleared the read model.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use shareholders_domain::{OrgNr, OwnerKind, OwnerProfile, OwnerRef, Register, SearchQuery};
use shareholders_ports::{
    HoldingRecord, OwnershipChanged, OwnershipLog as _, PageRequest, ReadStore, Service,
    StakesInMemory, UltimateHoldingsView, UltimateOwnerEntry, UltimateQuestion, rebuild,
};
use shareholders_sqlite::SqliteStore;

fn sorted(mut holdings: Vec<HoldingRecord>) -> Vec<HoldingRecord> {
    holdings.sort_by(|a, b| {
        (a.company.orgnr, a.owner.owner.clone()).cmp(&(b.company.orgnr, b.owner.owner.clone()))
    });
    holdings
}

/// Every company and every party, each asked alone and all at once, answer as the read model.
async fn answers_as_the_read_model(store: &SqliteStore, held: &StakesInMemory) {
    let companies: Vec<OrgNr> = (1..=5).map(orgnr).collect();
    let mut parties: Vec<OwnerRef> = companies.iter().copied().map(org_ref).collect();
    parties.extend(["a", "b", "c", "nobody"].map(person_ref));
    for company in &companies {
        let one = std::slice::from_ref(company);
        assert_eq!(
            sorted(held.owners_of(one).await.expect("held")),
            sorted(store.owners_of(one).await.expect("read")),
            "the owners of {company}"
        );
    }
    for party in &parties {
        let one = std::slice::from_ref(party);
        assert_eq!(
            sorted(held.holdings_of(one).await.expect("held")),
            sorted(store.holdings_of(one).await.expect("read")),
            "the holdings of {party:?}"
        );
    }
    assert_eq!(
        sorted(held.owners_of(&companies).await.expect("held")),
        sorted(store.owners_of(&companies).await.expect("read"))
    );
    assert_eq!(
        sorted(held.holdings_of(&parties).await.expect("held")),
        sorted(store.holdings_of(&parties).await.expect("read"))
    );
    // Each party's profile, read together, as its holdings show it; none for a party that
    // holds nothing.
    let mut wanted: Vec<OwnerProfile> = store
        .holdings_of(&parties)
        .await
        .expect("read")
        .into_iter()
        .map(|holding| holding.owner)
        .collect();
    wanted.sort_by(|a, b| a.owner.cmp(&b.owner));
    wanted.dedup();
    let mut profiles = store.owner_profiles(&parties).await.expect("read");
    profiles.sort_by(|a, b| a.owner.cmp(&b.owner));
    assert!(!wanted.is_empty());
    assert_eq!(
        profiles, wanted,
        "the profiles of every party that holds shares"
    );
    // Every page of one, and one page of all, in the same order.
    let pages: Vec<PageRequest> = [(1, 1), (2, 1), (3, 1), (4, 1), (1, 100)]
        .into_iter()
        .map(|(page, size)| PageRequest::new(Some(page), Some(size)).expect("a page"))
        .collect();
    for company in companies.iter().copied().chain([orgnr(9)]) {
        assert_eq!(
            held.organisation(company).await.expect("held"),
            store.organisation(company).await.expect("read"),
            "the record of {company}"
        );
        for &page in &pages {
            assert_eq!(
                held.owners(company, page).await.expect("held"),
                store.owners(company, page).await.expect("read"),
                "the owners of {company}, {page:?}"
            );
        }
    }
    // Searches: by words (either spelling), by orgnr, by kind, none found; ranked in memory,
    // each page as the service ranks SQLite's shortest matches.
    let from_memory = Service::new(Arc::new(store.clone()), Arc::new(held.clone()));
    let from_sqlite = Service::new(Arc::new(store.clone()), Arc::new(store.clone()));
    let first = orgnr(1);
    let orgnr_prefix = &first.as_str()[..5];
    for (text, kind) in [
        ("holding", None),
        ("hold", None),
        ("holding 3", None),
        ("as", None),
        ("ask anne", None),
        ("aase orn", None),
        ("ase", Some(OwnerKind::Person)),
        ("holding", Some(OwnerKind::Person)),
        (orgnr_prefix, None),
        (orgnr_prefix, Some(OwnerKind::Organisation)),
        ("nobody", None),
    ] {
        let query = SearchQuery::parse(text, kind).expect("a query");
        assert!(
            held.search_ranked(&query, 10)
                .await
                .expect("held")
                .is_some(),
            "ranked in memory"
        );
        for &page in &pages {
            assert_eq!(
                from_memory
                    .search(Register::Live, &query, page, None)
                    .await
                    .expect("held"),
                from_sqlite
                    .search(Register::Live, &query, page, None)
                    .await
                    .expect("read"),
                "the search {text:?} ({kind:?}), {page:?}"
            );
        }
    }
    for party in &parties {
        for &page in &pages {
            assert_eq!(
                held.holdings(party, page).await.expect("held"),
                store.holdings(party, page).await.expect("read"),
                "the holdings of {party:?}, {page:?}"
            );
        }
    }
    // Ultimate and beneficial owners, computed on the held register as it is, as on the graph
    // read from SQLite a level at a time: every page, a threshold, and an unknown company.
    if held.held().is_some() {
        assert!(
            held.ultimate_owners(first, UltimateQuestion::Beneficial)
                .await
                .expect("held")
                .is_some(),
            "computed in memory"
        );
        assert!(
            held.ultimate_holdings(&person_ref("a"), PageRequest::default())
                .await
                .expect("held")
                .is_some(),
            "computed in memory"
        );
    }
    for company in companies.iter().copied().chain([orgnr(9)]) {
        for &page in &pages {
            for min_fraction in [0.0, 0.05] {
                let [memory, sqlite] = [&from_memory, &from_sqlite].map(|service| {
                    service.ultimate_owners(Register::Live, company, min_fraction, page, None)
                });
                let (memory, sqlite) = (memory.await.expect("held"), sqlite.await.expect("read"));
                assert_eq!(
                    memory.as_ref().map(|view| (
                        shown(&view.owners),
                        format!("{:.12}", view.unattributed),
                        view.page
                    )),
                    sqlite.as_ref().map(|view| (
                        shown(&view.owners),
                        format!("{:.12}", view.unattributed),
                        view.page
                    )),
                    "the ultimate owners of {company}, {page:?}, at least {min_fraction}"
                );
            }
        }
        let [memory, sqlite] = [&from_memory, &from_sqlite]
            .map(|service| service.beneficial_owners(Register::Live, company, None));
        assert_eq!(
            memory.await.expect("held").map(|view| shown(&view.owners)),
            sqlite.await.expect("read").map(|view| shown(&view.owners)),
            "the beneficial owners of {company}"
        );
    }
    // What each party holds through others, the same way.
    for party in &parties {
        for &page in &pages {
            let [memory, sqlite] = [&from_memory, &from_sqlite]
                .map(|service| service.ultimate_holdings(Register::Live, party, page, None));
            let shown = |view: UltimateHoldingsView| {
                let holdings: Vec<String> = view
                    .holdings
                    .iter()
                    .map(|holding| {
                        format!(
                            "{} {} {:.12} {:.12}",
                            holding.company.orgnr,
                            holding.company.name.as_str(),
                            holding.effective,
                            holding.controlled
                        )
                    })
                    .collect();
                (holdings, view.page)
            };
            assert_eq!(
                memory.await.expect("held").map(shown),
                sqlite.await.expect("read").map(shown),
                "the ultimate holdings of {party:?}, {page:?}"
            );
        }
    }
}

/// What the API shows of ultimate owners, their fractions to 12 places: the held register and
/// a graph read a level at a time add a cycle's walks in different orders.
fn shown(owners: &[UltimateOwnerEntry]) -> Vec<String> {
    owners
        .iter()
        .map(|entry| {
            let chains: Vec<String> = entry
                .chains
                .iter()
                .map(|chain| {
                    let links: Vec<String> = chain
                        .links
                        .iter()
                        .map(|link| {
                            format!(
                                "{} holds {:.12} of {}",
                                link.owner.owner, link.fraction, link.company
                            )
                        })
                        .collect();
                    format!("{:.12}: {}", chain.fraction, links.join(", "))
                })
                .collect();
            format!(
                "{} {:.12} {:.12} {:?} [{}]",
                entry.owner.owner,
                entry.effective,
                entry.controlled,
                entry.beneficial,
                chains.join("; ")
            )
        })
        .collect()
}

async fn holdings_in_read_model(store: &SqliteStore) -> usize {
    let companies: Vec<OrgNr> = (1..=5).map(orgnr).collect();
    store.owners_of(&companies).await.expect("read").len()
}

#[tokio::test]
async fn the_held_register_follows_the_read_model() {
    let (_dir, store) = store().await;
    // A chain: b holds 1, 2 holds 1, 3 holds 2, a holds 3; and 4 held by four owners alike.
    record(
        &store,
        &(1..=5)
            .map(|n| organisation(orgnr(n), &format!("HOLDING {n} AS"), Some(1_000)))
            .collect::<Vec<_>>(),
        &[person("a", "ASK ANNE", "NO"), person("b", "BERG BO", "SE")],
        &[
            purchase(orgnr(1), person_ref("b"), "A-aksjer", 100),
            purchase(orgnr(1), org_ref(orgnr(2)), "B-aksjer", 600),
            purchase(orgnr(2), org_ref(orgnr(3)), "Ordinære aksjer", 900),
            purchase(orgnr(3), person_ref("a"), "Ordinære aksjer", 900),
            // Four owners of 4 with 10 shares each (3's over two classes): pages break the
            // tie by owner kind and id.
            purchase(orgnr(4), person_ref("b"), "Ordinære aksjer", 10),
            purchase(orgnr(4), person_ref("a"), "B-aksjer", 10),
            purchase(orgnr(4), org_ref(orgnr(5)), "Ordinære aksjer", 10),
            purchase(orgnr(4), org_ref(orgnr(3)), "A-aksjer", 6),
            purchase(orgnr(4), org_ref(orgnr(3)), "B-aksjer", 4),
            // Treasury shares: 2 holds 50 of its own, so 3's 900 are 900 of the 950
            // outstanding.
            purchase(orgnr(2), org_ref(orgnr(2)), "Ordinære aksjer", 50),
        ],
    )
    .await;
    project(&store).await;

    let held = StakesInMemory::new(Arc::new(store.clone()), Arc::new(store.clone()));
    assert_eq!(held.held(), None, "nothing is held before it loads");
    assert_eq!(held.load().await.expect("loads"), Some(9));
    answers_as_the_read_model(&store, &held).await;

    // A person registered, and purchases projected since: more of the same class, a new class,
    // a new company's first owners, and a cycle (1 now holds 3). The log names each company
    // they changed, and the person.
    let before = store.last_change().await.expect("the log");
    record(
        &store,
        &[],
        &[person("c", "ÅSE ØRN", "NO")],
        &[
            purchase(orgnr(1), person_ref("b"), "A-aksjer", 50),
            purchase(orgnr(2), person_ref("a"), "A-aksjer", 10),
            purchase(orgnr(5), person_ref("b"), "Ordinære aksjer", 5),
            purchase(orgnr(3), org_ref(orgnr(1)), "Ordinære aksjer", 1),
        ],
    )
    .await;
    project(&store).await;
    let changed: Vec<OwnershipChanged> = store
        .changed_since(before, 100)
        .await
        .expect("the log")
        .changes
        .into_iter()
        .map(|change| change.changed)
        .collect();
    for company in [1, 2, 3, 5] {
        assert!(
            changed.contains(&OwnershipChanged::Company(orgnr(company))),
            "company {company} changed: {changed:?}"
        );
    }
    assert!(!changed.contains(&OwnershipChanged::Company(orgnr(4))));
    assert!(
        changed.contains(&OwnershipChanged::Person(
            shareholders_domain::PersonId::parse("c").expect("an id")
        )),
        "the person registered: {changed:?}"
    );
    answers_as_the_read_model(&store, &held).await;
    assert_eq!(held.held(), Some(holdings_in_read_model(&store).await));

    // A rebuild clears the read model: what is held is loaded again (the read model answers
    // meanwhile), and answers as before.
    rebuild(&store.write_snapshot(), &store, true, 3, &|_| {})
        .await
        .expect("rebuilds");
    let changed = store
        .changed_since(0, 1_000)
        .await
        .expect("the log")
        .changes;
    assert!(
        changed
            .iter()
            .any(|change| change.changed == OwnershipChanged::Everything),
        "a clear is logged as every company changing: {changed:?}"
    );
    answers_as_the_read_model(&store, &held).await;
    for _ in 0..500 {
        if held.held().is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(held.held(), Some(holdings_in_read_model(&store).await));
    answers_as_the_read_model(&store, &held).await;
}
