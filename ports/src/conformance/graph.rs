//! The ownership graph read from a real read model: the definitions' cases imported as a
//! year, and answered through the service as the API answers them.

use shareholders_domain::{Country, Name, Organisation, OwnerRef, Register};

use super::years::{
    YearStores, company, holder_line, import, line, name, orgnr, owner, person, year,
};
use crate::{GraphDirection, GraphRequest, PageRequest, Service, project_years};

/// A foreign company: an organisation whose owners the register does not show.
fn foreign(n: u32) -> Organisation {
    Organisation::new(
        orgnr(n),
        name("SVENSKA HOLDING AB"),
        None,
        None,
        Country::parse("SE").expect("a country"),
        None,
    )
}

fn percent(fraction: f64) -> f64 {
    (fraction * 1_000_000.0).round() / 10_000.0
}

/// The ultimate owners of `company` in 2023 as (owner, effective %, controlled %, reasons).
async fn ultimate(
    service: &Service,
    company: u32,
) -> (Vec<(OwnerRef, f64, f64, (bool, bool))>, f64) {
    let view = service
        .ultimate_owners(
            Register::Year(year(2023)),
            orgnr(company),
            0.0,
            PageRequest::default(),
            None,
        )
        .await
        .expect("reads")
        .expect("the company is in 2023");
    (
        view.owners
            .iter()
            .map(|o| {
                let because = o
                    .beneficial
                    .map_or((false, false), |b| (b.ownership, b.control));
                (
                    o.owner.owner.clone(),
                    percent(o.effective),
                    percent(o.controlled),
                    because,
                )
            })
            .collect(),
        percent(view.unattributed),
    )
}

/// The definitions' cases, imported as 2023 and read back through the service: a 6-level
/// chain, a cycle, three 51 % links, treasury shares, a diamond, an unregistered remainder
/// and a foreign terminal owner; then downwards, and the graph drawn to a depth.
///
/// # Panics
/// When the store breaks the contract.
#[allow(clippy::too_many_lines)]
pub async fn the_ownership_graph_is_served(stores: YearStores<'_>, service: &Service) {
    let org = |n: u32, total: u64| company(n, &format!("SELSKAP {n} AS"), total);
    let holder = |label: &str| person(label, 1970, "0150", "NO");
    let mut lines = Vec::new();
    // Six levels: 10 is held by 11, …, 15 by TOPP, each wholly.
    for n in 10..15 {
        lines.push(holder_line(&org(n, 100), &org(n + 1, 100), 100));
    }
    lines.push(line(&org(15, 100), &holder("TOPP"), "Ordinære aksjer", 100));
    // A cycle: 20 and 21 hold half of each other, P1 half of 20, P2 half of 21.
    lines.push(holder_line(&org(20, 100), &org(21, 100), 50));
    lines.push(line(&org(20, 100), &holder("P1"), "Ordinære aksjer", 50));
    lines.push(holder_line(&org(21, 100), &org(20, 100), 50));
    lines.push(line(&org(21, 100), &holder("P2"), "Ordinære aksjer", 50));
    // Three links of 51 %: P3 → 32 → 31 → 30.
    lines.push(holder_line(&org(30, 100), &org(31, 100), 51));
    lines.push(line(&org(30, 100), &holder("Q30"), "Ordinære aksjer", 49));
    lines.push(holder_line(&org(31, 100), &org(32, 100), 51));
    lines.push(line(&org(31, 100), &holder("Q31"), "Ordinære aksjer", 49));
    lines.push(line(&org(32, 100), &holder("P3"), "A-aksjer", 41));
    lines.push(line(&org(32, 100), &holder("P3"), "B-aksjer", 10));
    lines.push(line(&org(32, 100), &holder("Q32"), "Ordinære aksjer", 49));
    // Treasury: 40 holds 20 of its own 100 shares; P4 and P5 hold 40 each.
    lines.push(holder_line(&org(40, 100), &org(40, 100), 20));
    lines.push(line(&org(40, 100), &holder("P4"), "Ordinære aksjer", 40));
    lines.push(line(&org(40, 100), &holder("P5"), "Ordinære aksjer", 40));
    // A diamond: P7 holds 53, which holds half of 51 and of 52, each holding 30 % of 50.
    lines.push(holder_line(&org(50, 100), &org(51, 100), 30));
    lines.push(holder_line(&org(50, 100), &org(52, 100), 30));
    lines.push(line(&org(50, 100), &holder("P6"), "Ordinære aksjer", 40));
    lines.push(holder_line(&org(51, 100), &org(53, 100), 50));
    lines.push(line(&org(51, 100), &holder("R1"), "Ordinære aksjer", 50));
    lines.push(holder_line(&org(52, 100), &org(53, 100), 50));
    lines.push(line(&org(52, 100), &holder("R2"), "Ordinære aksjer", 50));
    lines.push(line(&org(53, 100), &holder("P7"), "Ordinære aksjer", 100));
    // An unregistered remainder: 61 holds all of 60; P8 holds half of 61, the rest unknown.
    lines.push(holder_line(&org(60, 100), &org(61, 100), 100));
    lines.push(line(&org(61, 100), &holder("P8"), "Ordinære aksjer", 50));
    // A foreign company owning 70 % of 70.
    lines.push(holder_line(&org(70, 100), &foreign(71), 70));
    lines.push(line(&org(70, 100), &holder("P9"), "Ordinære aksjer", 30));
    import(stores.import, 2023, lines).await;
    project_years(stores.source, stores.target, 2, &|_, _| {})
        .await
        .expect("the year projects");

    let who = |label: &str| owner(&holder(label));
    let organisation = |n: u32| OwnerRef::Organisation(orgnr(n));
    let (six, _) = ultimate(service, 10).await;
    assert_eq!(
        six,
        [(who("TOPP"), 100.0, 100.0, (true, true))],
        "an owner six levels up"
    );
    let view = service
        .ultimate_owners(
            Register::Year(year(2023)),
            orgnr(10),
            0.0,
            PageRequest::default(),
            None,
        )
        .await
        .expect("reads")
        .expect("listed");
    let links: Vec<(OwnerRef, u32)> = view.owners[0].chains[0]
        .links
        .iter()
        .map(|l| {
            let n = (10..=15)
                .find(|n| orgnr(*n) == l.company)
                .expect("a company of the chain");
            (l.owner.owner.clone(), n)
        })
        .collect();
    assert_eq!(
        links,
        [
            (who("TOPP"), 15),
            (organisation(15), 14),
            (organisation(14), 13),
            (organisation(13), 12),
            (organisation(12), 11),
            (organisation(11), 10),
        ],
        "the chain runs from the owner down to the company"
    );

    assert_eq!(
        ultimate(service, 20).await.0,
        [
            (who("P1"), 66.6667, 50.0, (true, true)),
            (who("P2"), 33.3333, 0.0, (true, false)),
        ],
        "a cycle is solved exactly"
    );
    assert_eq!(
        ultimate(service, 30).await.0,
        [
            (who("Q30"), 49.0, 49.0, (true, true)),
            (who("Q31"), 24.99, 0.0, (false, false)),
            (who("P3"), 13.2651, 51.0, (false, true)),
            (who("Q32"), 12.7449, 0.0, (false, false)),
        ],
        "three links of 51 % are control all the way down, over classes"
    );
    assert_eq!(
        ultimate(service, 40).await.0,
        [
            (who("P4"), 50.0, 50.0, (true, true)),
            (who("P5"), 50.0, 50.0, (true, true)),
        ],
        "treasury shares are not outstanding"
    );
    let mut diamond = ultimate(service, 50).await.0;
    diamond.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut sides = vec![
        (who("R1"), 15.0, 0.0, (false, false)),
        (who("R2"), 15.0, 0.0, (false, false)),
    ];
    sides.sort_by(|a, b| a.0.cmp(&b.0));
    let mut expected = vec![
        (who("P6"), 40.0, 40.0, (true, true)),
        (who("P7"), 30.0, 0.0, (true, false)),
    ];
    expected.extend(sides);
    assert_eq!(diamond, expected, "a diamond adds both sides");
    assert_eq!(
        ultimate(service, 60).await,
        (vec![(who("P8"), 50.0, 0.0, (true, false))], 50.0),
        "an unregistered remainder is nobody's"
    );
    assert_eq!(
        ultimate(service, 70).await.0,
        [
            (organisation(71), 70.0, 70.0, (false, false)),
            (who("P9"), 30.0, 30.0, (true, true)),
        ],
        "a foreign company is an ultimate owner, and no beneficial one"
    );

    let beneficial = service
        .beneficial_owners(Register::Year(year(2023)), orgnr(30), None)
        .await
        .expect("reads")
        .expect("listed");
    let beneficial: Vec<OwnerRef> = beneficial
        .owners
        .iter()
        .map(|o| o.owner.owner.clone())
        .collect();
    assert_eq!(beneficial, [who("Q30"), who("P3")]);

    let down = service
        .ultimate_holdings(
            Register::Year(year(2023)),
            &who("P7"),
            PageRequest::default(),
            None,
        )
        .await
        .expect("reads")
        .expect("a 2023 owner");
    let down: Vec<(u32, f64, f64)> = down
        .holdings
        .iter()
        .map(|h| {
            let n = [50, 51, 52, 53]
                .into_iter()
                .find(|n| orgnr(*n) == h.company.orgnr)
                .expect("a company below P7");
            (n, percent(h.effective), percent(h.controlled))
        })
        .collect();
    assert_eq!(
        down,
        [
            (53, 100.0, 100.0),
            (51, 50.0, 50.0),
            (52, 50.0, 50.0),
            (50, 30.0, 0.0)
        ]
    );

    let request = GraphRequest::new(Some(GraphDirection::Up), Some(2), None).expect("valid");
    let drawn = service
        .ownership_graph(Register::Year(year(2023)), orgnr(10), request, None)
        .await
        .expect("reads")
        .expect("listed");
    let levels: Vec<(OwnerRef, i32)> = drawn
        .nodes
        .iter()
        .map(|n| (n.party.clone(), n.level))
        .collect();
    assert_eq!(
        levels,
        [
            (organisation(10), 0),
            (organisation(11), -1),
            (organisation(12), -2)
        ]
    );
    assert!(drawn.truncated, "more lies above the depth");
    assert_eq!(
        drawn.nodes[1].name,
        Name::parse("SELSKAP 11 AS").expect("a name")
    );

    assert!(
        service
            .ultimate_owners(
                Register::Year(year(2023)),
                orgnr(99),
                0.0,
                PageRequest::default(),
                None
            )
            .await
            .expect("reads")
            .is_none(),
        "a company absent from the year"
    );
}
