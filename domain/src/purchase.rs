//! A purchase's whole effect on the write model, as one pure function: the one home of what a
//! purchase changes. Adapters lock and load the states before, call [`apply_purchase`], and
//! store what it returns.

use crate::{
    ClassShares, CompanyProfile, CompanyState, OwnerProfile, OwnerState, Purchase, PurchaseId,
    PurchaseRefused, SharesPurchased, check_purchase,
};

/// What a purchase leaves: the states to store, absolute, with their new versions.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct PurchaseApplied {
    /// The company's state after, at the next version.
    pub company_state: CompanyState,
    /// The owner's state after: its version moves only when it holds shares in one more
    /// company.
    pub owner_state: OwnerState,
    /// The owner's whole holding in the company after, per class, sorted by class name.
    pub holding: Vec<ClassShares>,
    /// The class the purchase added to, with the holding's and the company's new totals in it.
    pub class_holding: u64,
    pub class_company: u64,
}

impl PurchaseApplied {
    /// The event recording it, once the purchase has its id.
    #[must_use]
    pub fn event(
        &self,
        purchase_id: PurchaseId,
        purchase: &Purchase,
        company: CompanyProfile,
        owner: OwnerProfile,
    ) -> SharesPurchased {
        SharesPurchased {
            purchase_id,
            purchase: purchase.clone(),
            company,
            owner,
            holding: self.holding.clone(),
            company_state: self.company_state.clone(),
            owner_state: self.owner_state.clone(),
        }
    }
}

/// Adds `shares` of `class` to sorted per-class totals; `None` past `u64`.
fn add(classes: &[ClassShares], purchase: &Purchase) -> Option<(Vec<ClassShares>, u64)> {
    let mut out = classes.to_vec();
    let added = purchase.shares().get();
    let total = match out.binary_search_by(|c| c.share_class.cmp(purchase.share_class())) {
        Ok(i) => {
            out[i].shares = out[i].shares.checked_add(added)?;
            out[i].shares
        }
        Err(i) => {
            out.insert(
                i,
                ClassShares {
                    share_class: purchase.share_class().clone(),
                    shares: added,
                },
            );
            added
        }
    };
    Some((out, total))
}

/// The effect of `purchase` on a company in state `company` (whose declared total is in
/// `profile`), bought by `owner` (in state `owner_state`) who holds `holding` in it (empty when
/// it holds nothing yet).
///
/// - The company's registered shares grow by the purchase, never past its declared total
///   ([`check_purchase`]); its version moves by one.
/// - An owner new to the company adds one to its owner count, and to its foreign owner count
///   when the owner's country is not Norway; the owner then holds shares in one more company,
///   and its version moves by one.
///
/// # Errors
/// [`PurchaseRefused`] as [`check_purchase`] refuses it; nothing is to be stored then.
pub fn apply_purchase(
    profile: &CompanyProfile,
    company: &CompanyState,
    owner: &OwnerProfile,
    owner_state: &OwnerState,
    holding: &[ClassShares],
    purchase: &Purchase,
) -> Result<PurchaseApplied, PurchaseRefused> {
    let registered_shares = check_purchase(
        profile.total_shares,
        company.registered_shares,
        purchase.shares(),
    )?;
    let overflow = || PurchaseRefused::Overflow {
        registered: company.registered_shares,
        requested: purchase.shares().get(),
    };
    let (holding_after, class_holding) = add(holding, purchase).ok_or_else(overflow)?;
    let (classes, class_company) = add(&company.classes, purchase).ok_or_else(overflow)?;
    let new_owner = holding.is_empty();
    let foreign = new_owner && owner.country.is_foreign();
    Ok(PurchaseApplied {
        company_state: CompanyState {
            version: company.version + 1,
            registered_shares,
            owner_count: company.owner_count + u64::from(new_owner),
            foreign_owner_count: company.foreign_owner_count + u64::from(foreign),
            classes,
        },
        owner_state: if new_owner {
            OwnerState {
                version: owner_state.version + 1,
                holding_count: owner_state.holding_count + 1,
            }
        } else {
            owner_state.clone()
        },
        holding: holding_after,
        class_holding,
        class_company,
    })
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;
    use crate::{Country, Name, OrgNr, OwnerRef, PersonId, ShareClass, ShareCount};

    fn classes(list: &[(&str, u64)]) -> Vec<ClassShares> {
        list.iter()
            .map(|(c, s)| ClassShares {
                share_class: ShareClass::parse(c).expect("a class"),
                shares: *s,
            })
            .collect()
    }

    fn profile(total: Option<u64>) -> CompanyProfile {
        CompanyProfile {
            orgnr: OrgNr::parse("988844322").expect("an orgnr"),
            name: Name::parse("TVIST 1 AS").expect("a name"),
            total_shares: total.map(|t| ShareCount::new(t).expect("positive")),
        }
    }

    fn owner(country: &str) -> OwnerProfile {
        OwnerProfile {
            owner: OwnerRef::Person(PersonId::parse("hagen").expect("an id")),
            name: Name::parse("HAGEN STEIN ERIK").expect("a name"),
            country: Country::parse(country).expect("a country"),
            birth_year: None,
        }
    }

    fn purchase(class: &str, shares: u64) -> Purchase {
        Purchase::new(
            OrgNr::parse("988844322").expect("an orgnr"),
            OwnerRef::Person(PersonId::parse("hagen").expect("an id")),
            ShareClass::parse(class).expect("a class"),
            ShareCount::new(shares).expect("positive"),
        )
    }

    fn company(version: u64, owners: u64, foreign: u64, list: &[(&str, u64)]) -> CompanyState {
        CompanyState {
            version,
            registered_shares: list.iter().map(|(_, s)| s).sum(),
            owner_count: owners,
            foreign_owner_count: foreign,
            classes: classes(list),
        }
    }

    #[rstest]
    // (owners added, foreign owners added, whether the owner holds one more company)
    // A new Norwegian owner: one more owner, the owner holds one more company.
    #[case("NO", &[], &[("B", 117)], ("A", 3), (1, 0, true), &[("A", 3)], &[("A", 3), ("B", 117)])]
    // A new foreign owner counts as foreign too.
    #[case("CH", &[], &[("A", 3)], ("B", 117), (1, 1, true), &[("B", 117)], &[("A", 3), ("B", 117)])]
    // An owner buying more of a class it holds: no new owner, the owner's state unchanged.
    #[case("CH", &[("B", 100)], &[("B", 100)], ("B", 17), (0, 0, false), &[("B", 117)], &[("B", 117)])]
    // Another class of a holding it has.
    #[case("NO", &[("A", 3)], &[("A", 3), ("C", 9)], ("B", 1), (0, 0, false), &[("A", 3), ("B", 1)], &[("A", 3), ("B", 1), ("C", 9)])]
    fn a_purchase_leaves_these_states(
        #[case] country: &str,
        #[case] holding: &[(&str, u64)],
        #[case] company_classes: &[(&str, u64)],
        #[case] bought: (&str, u64),
        #[case] added: (u64, u64, bool),
        #[case] holding_after: &[(&str, u64)],
        #[case] classes_after: &[(&str, u64)],
    ) {
        let new_to_owner = added.2;
        let before = company(4, 1, 0, company_classes);
        let owner_before = OwnerState {
            version: 7,
            holding_count: 2,
        };
        let applied = apply_purchase(
            &profile(Some(200)),
            &before,
            &owner(country),
            &owner_before,
            &classes(holding),
            &purchase(bought.0, bought.1),
        )
        .expect("allowed");
        let state = &applied.company_state;
        assert_eq!(state.version, 5);
        assert_eq!(state.registered_shares, before.registered_shares + bought.1);
        assert_eq!(
            (state.owner_count, state.foreign_owner_count),
            (1 + added.0, added.1)
        );
        assert_eq!(state.classes, classes(classes_after));
        assert_eq!(applied.holding, classes(holding_after));
        assert_eq!(
            applied.owner_state,
            if new_to_owner {
                OwnerState {
                    version: 8,
                    holding_count: 3,
                }
            } else {
                owner_before
            }
        );
        let class = |list: &[(&str, u64)]| {
            list.iter()
                .find(|(c, _)| *c == bought.0)
                .map_or(0, |(_, s)| *s)
        };
        assert_eq!(applied.class_holding, class(holding_after));
        assert_eq!(applied.class_company, class(classes_after));
    }

    #[rstest]
    #[case(Some(120), 120, 1, PurchaseRefused::ExceedsIssued { issued: 120, registered: 120, requested: 1 })]
    #[case(None, ShareCount::MAX, 1, PurchaseRefused::Overflow { registered: ShareCount::MAX, requested: 1 })]
    fn a_refused_purchase_changes_nothing(
        #[case] total: Option<u64>,
        #[case] registered: u64,
        #[case] requested: u64,
        #[case] refused: PurchaseRefused,
    ) {
        let before = CompanyState {
            registered_shares: registered,
            ..company(1, 1, 0, &[("A", registered)])
        };
        let result = apply_purchase(
            &profile(total),
            &before,
            &owner("NO"),
            &OwnerState {
                version: 0,
                holding_count: 0,
            },
            &[],
            &purchase("A", requested),
        );
        assert_eq!(result, Err(refused));
    }

    #[test]
    fn the_event_carries_the_states_after() {
        let p = purchase("A", 3);
        let applied = apply_purchase(
            &profile(None),
            &company(0, 0, 0, &[]),
            &owner("NO"),
            &OwnerState {
                version: 0,
                holding_count: 0,
            },
            &[],
            &p,
        )
        .expect("allowed");
        let event = applied.event(PurchaseId::new(9), &p, profile(None), owner("NO"));
        assert_eq!(event.company_state, applied.company_state);
        assert_eq!(event.owner_state, applied.owner_state);
        assert_eq!(event.holding, classes(&[("A", 3)]));
        assert_eq!(event.purchase_id, PurchaseId::new(9));
    }
}
