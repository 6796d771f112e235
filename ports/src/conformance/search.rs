//! Search over a real read model: names with the Norwegian letters, an orgnr prefix, a kind,
//! ranking and the store's limit, on a year imported and projected.

use shareholders_domain::{OwnerKind, OwnerRef, Register, SearchQuery};

use super::years::{YearStores, company, holder_line, import, line, orgnr, owner, person, year};
use crate::{PageRequest, Service, project_years};

/// What a search of `text` finds in 2023 through the service, as (kind, name) best first, and
/// the number of matches.
async fn found(
    service: &Service,
    text: &str,
    kind: Option<OwnerKind>,
) -> (Vec<(OwnerKind, String)>, u64) {
    let query = SearchQuery::parse(text, kind).expect("a query");
    let view = service
        .search(
            Register::Year(year(2023)),
            &query,
            PageRequest::default(),
            None,
        )
        .await
        .expect("the search runs");
    (
        view.parties
            .iter()
            .map(|p| (p.owner.kind(), p.name.as_str().to_owned()))
            .collect(),
        view.total_matches,
    )
}

/// # Panics
/// When the store breaks the contract.
pub async fn parties_are_found_by_name_and_orgnr(stores: YearStores<'_>, service: &Service) {
    let rokke_holding = company(101, "RØKKE ÅSE HOLDING AS", 100);
    let tvist = company(102, "TVIST AS", 100);
    let tvist_5 = company(103, "TVIST 5 AS", 100);
    let tvisten = company(104, "TVISTEN BÅT AS", 100);
    let script = company(105, "<script>alert(1)</script>", 100);
    let rokke = person("ÅSE RØKKE", 1970, "0150", "NO");
    let muller = person("Jürgen Müller", 1960, "0150", "DE");
    let mut lines = vec![
        line(&rokke_holding, &rokke, "A-aksjer", 60),
        line(&rokke_holding, &muller, "B-aksjer", 40),
        holder_line(&tvist, &rokke_holding, 100),
        holder_line(&tvist_5, &tvist, 100),
        line(&tvisten, &rokke, "Ordinære aksjer", 100),
    ];
    lines.push(line(&script, &muller, "Ordinære aksjer", 100));
    import(stores.import, 2023, lines).await;
    project_years(stores.source, stores.target, 2, &|_, _| {})
        .await
        .expect("the year projects");

    use OwnerKind::{Organisation as Org, Person as Per};
    let named = |kind, name: &str| (kind, name.to_owned());
    assert_eq!(
        found(service, "rokke", None).await,
        (
            vec![named(Per, "ÅSE RØKKE"), named(Org, "RØKKE ÅSE HOLDING AS")],
            2
        ),
        "ø is searched as o, and the shorter name comes first"
    );
    assert_eq!(
        found(service, "aase rø", None).await.0,
        [named(Per, "ÅSE RØKKE"), named(Org, "RØKKE ÅSE HOLDING AS")],
        "å is searched as aa, and every word must start a word of the name"
    );
    assert_eq!(
        found(service, "rokke", Some(Org)).await,
        (vec![named(Org, "RØKKE ÅSE HOLDING AS")], 1),
        "only the kind asked for"
    );
    assert_eq!(
        found(service, "muller", None).await.0,
        [named(Per, "Jürgen Müller")],
        "accents are dropped"
    );
    assert_eq!(
        found(service, "tvist as", None).await,
        (
            vec![
                named(Org, "TVIST AS"),
                named(Org, "TVIST 5 AS"),
                named(Org, "TVISTEN BÅT AS"),
            ],
            3
        ),
        "the exact name first, then the shorter"
    );
    assert_eq!(
        found(service, "SCRIPT", None).await.0,
        [named(Org, "<script>alert(1)</script>")],
        "markup is only words"
    );
    assert_eq!(
        found(service, "vist", None).await,
        (vec![], 0),
        "words match at their start"
    );
    let typed = orgnr(103);
    let (by_orgnr, _) = found(service, &typed.as_str()[..7], None).await;
    assert!(
        by_orgnr.contains(&named(Org, "TVIST 5 AS")),
        "an orgnr prefix finds the company: {by_orgnr:?}"
    );
    assert_eq!(
        found(service, typed.as_str(), None).await.0,
        [named(Org, "TVIST 5 AS")],
        "the orgnr in full finds only its company"
    );

    // The store's own limit: the matches with the shortest names, and the number of all.
    let reads = stores
        .reads
        .year(year(2023))
        .await
        .expect("reads")
        .expect("2023 is served");
    let query = SearchQuery::parse("tvist", None).expect("a query");
    let first = reads.search(&query, 2).await.expect("the search runs");
    assert_eq!(first.total, 3);
    assert_eq!(
        first
            .parties
            .iter()
            .map(|p| p.owner.clone())
            .collect::<Vec<_>>(),
        [
            OwnerRef::Organisation(orgnr(102)),
            OwnerRef::Organisation(orgnr(103))
        ],
        "the shortest names, up to the limit"
    );
    let person_found = reads
        .search(
            &SearchQuery::parse("rokke", Some(Per)).expect("a query"),
            10,
        )
        .await
        .expect("the search runs");
    assert_eq!(
        person_found.parties.first().map(|p| (
            p.owner.clone(),
            p.birth_year.map(|y| y.get()),
            p.country.alpha2()
        )),
        Some((owner(&rokke), Some(1970), "NO")),
        "a person comes with birth year and country"
    );
}
