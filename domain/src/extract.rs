//! A yearly register extract, line by line, summed into what a year of the register holds.
//!
//! The rules of an extract:
//! - Lines of the same company, holder and share class add up.
//! - A company's total is the largest of the totals its lines declare and the sum of its
//!   lines' shares; where these disagree the company has a [`TotalConflict`].
//! - An issuer takes its profile (name, address, country) from its first line; an
//!   organisation that only holds shares takes its profile from its first line as a holder, and
//!   so does a person.
//! - An owner is foreign when the country its line gives is not Norway.
//!
//! [`ExtractYear`] applies them while the lines stream past, holding one company's lines at a
//! time and a few bytes per distinct owner: the extract lists each company's lines together
//! (Skatteetaten's files do), and a company that comes back after another is refused
//! ([`ExtractError::NotGrouped`]) so that the caller can sort the file first.

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::{ClassShares, OrgNr, Organisation, OwnerRef, Person, PersonId, ShareClass, ShareCount};

/// A holder as the register extract gives it: an organisation (with an orgnr) or a person or
/// foreign holder (with an id derived by [`PersonId::derive`]).
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum RegisterHolder {
    /// The holder organisation; its `total_shares` is `None` (the line says nothing of it).
    Organisation(Organisation),
    Person(Person),
}

impl RegisterHolder {
    #[must_use]
    pub fn owner(&self) -> OwnerRef {
        match self {
            Self::Organisation(organisation) => OwnerRef::Organisation(organisation.orgnr()),
            Self::Person(person) => OwnerRef::Person(person.id().clone()),
        }
    }

    #[must_use]
    pub fn country(&self) -> crate::Country {
        match self {
            Self::Organisation(organisation) => organisation.country(),
            Self::Person(person) => person.country(),
        }
    }
}

/// One understood line of a register extract.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct RegisterLine {
    /// 1-based line number in the file, for reports.
    pub line: u64,
    /// The company, with its declared total ("Antall aksjer selskap") as `total_shares`.
    pub company: Organisation,
    pub holder: RegisterHolder,
    pub share_class: ShareClass,
    pub shares: ShareCount,
}

/// A company whose lines disagree about its total, or sum past it.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct TotalConflict {
    pub company: OrgNr,
    /// The distinct declared totals its lines gave, ascending.
    pub declared: Vec<u64>,
    /// The sum of its lines' shares.
    pub registered: u64,
    /// The total used: the largest of `declared` and `registered`.
    pub used: u64,
}

/// One owner's holding in a company in one year, per class.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct HoldingYear {
    pub owner: OwnerRef,
    /// Per class, sorted by class name; all positive.
    pub classes: Vec<ClassShares>,
}

impl HoldingYear {
    /// The holding's shares over all classes.
    #[must_use]
    pub fn shares(&self) -> u64 {
        self.classes.iter().map(|class| class.shares).sum()
    }
}

/// A company as one year's extract lists it, with its holdings.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct CompanyYear {
    /// Its profile from its first line, with the total used (see [`TotalConflict::used`]).
    pub organisation: Organisation,
    /// Shares owned over all classes.
    pub registered_shares: u64,
    pub owner_count: u64,
    /// Owners whose country is not Norway.
    pub foreign_owner_count: u64,
    /// Registered shares per class, sorted by class name.
    pub classes: Vec<ClassShares>,
    /// Its holdings, ordered by owner kind (`organization` before `person`), then owner id.
    pub holdings: Vec<HoldingYear>,
    pub conflict: Option<TotalConflict>,
}

/// What an extract yields as it is read.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum YearPart {
    /// A company, once its last line has been read.
    Company(Box<CompanyYear>),
    /// A person, at its first line.
    Person(Person),
    /// An organisation that holds shares but issues none in this extract (at the end).
    HolderOrganisation(Organisation),
    /// How many companies an owner holds shares in (at the end, for every owner).
    HoldingCount(OwnerRef, u64),
}

/// What is wrong with an extract as a whole.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
pub enum ExtractError {
    #[error(
        "line {line}: company {company} was listed before, apart from these lines; \
         the extract must list each company's lines together"
    )]
    NotGrouped { company: OrgNr, line: u64 },
    #[error("line {line}: the shares of company {company} sum past the largest share count")]
    Overflow { company: OrgNr, line: u64 },
}

/// Counts of a whole extract.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct ExtractTotals {
    pub lines: u64,
    pub companies: u64,
    /// Distinct (company, owner) holdings.
    pub holdings: u64,
    pub persons: u64,
    /// Organisations that hold shares but issue none in this extract.
    pub holder_organisations: u64,
    pub conflicts: Vec<TotalConflict>,
}

/// An owner, in a few bytes: imported persons' ids are 32 hex digits.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
enum OwnerKey {
    Organisation(u32),
    Person(u128),
    Other(Box<str>),
}

fn orgnr_number(orgnr: OrgNr) -> u32 {
    // Nine digits always fit.
    orgnr.as_str().parse().unwrap_or(u32::MAX)
}

fn orgnr_of(number: u32) -> Option<OrgNr> {
    OrgNr::parse(&format!("{number:09}")).ok()
}

impl OwnerKey {
    fn of(owner: &OwnerRef) -> Self {
        match owner {
            OwnerRef::Organisation(orgnr) => Self::Organisation(orgnr_number(*orgnr)),
            OwnerRef::Person(id) => {
                let hex = id.as_str();
                match u128::from_str_radix(hex, 16) {
                    Ok(n) if hex.len() == 32 && format!("{n:032x}") == hex => Self::Person(n),
                    _ => Self::Other(hex.into()),
                }
            }
        }
    }

    fn owner(&self) -> Option<OwnerRef> {
        match self {
            Self::Organisation(n) => orgnr_of(*n).map(OwnerRef::Organisation),
            Self::Person(n) => PersonId::parse(&format!("{n:032x}"))
                .ok()
                .map(OwnerRef::Person),
            Self::Other(id) => PersonId::parse(id).ok().map(OwnerRef::Person),
        }
    }
}

/// How many companies an owner holds shares in so far, and the last one counted.
#[derive(Clone, Copy, Debug)]
struct OwnerTally {
    companies: u64,
    last_company: u32,
}

/// The company being read.
#[derive(Debug)]
struct OpenCompany {
    organisation: Organisation,
    first_line: u64,
    declared: Vec<u64>,
    holdings: BTreeMap<OwnerRef, (bool, BTreeMap<ShareClass, u64>)>,
}

/// Sums an extract's lines into [`YearPart`]s, by the rules in the module's documentation.
#[derive(Debug, Default)]
pub struct ExtractYear {
    open: Option<OpenCompany>,
    finished: HashSet<u32>,
    owners: HashMap<OwnerKey, OwnerTally>,
    holder_organisations: BTreeMap<u32, Organisation>,
    totals: ExtractTotals,
}

impl ExtractYear {
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes one line, and appends to `out` what it completes: the previous company when this
    /// line starts another, and the holder when it is a person seen for the first time.
    ///
    /// # Errors
    /// [`ExtractError::NotGrouped`] when the line's company was finished before;
    /// [`ExtractError::Overflow`] when a company's shares sum past [`ShareCount::MAX`].
    pub fn push(
        &mut self,
        line: RegisterLine,
        out: &mut Vec<YearPart>,
    ) -> Result<(), ExtractError> {
        self.totals.lines += 1;
        let company = line.company.orgnr();
        let number = orgnr_number(company);
        if self
            .open
            .as_ref()
            .is_some_and(|open| open.organisation.orgnr() != company)
        {
            self.close(out)?;
        }
        if self.open.is_none() {
            if !self.finished.insert(number) {
                return Err(ExtractError::NotGrouped {
                    company,
                    line: line.line,
                });
            }
            self.open = Some(OpenCompany {
                organisation: line.company.clone(),
                first_line: line.line,
                declared: Vec::new(),
                holdings: BTreeMap::new(),
            });
        }
        let Some(open) = self.open.as_mut() else {
            return Ok(());
        };
        if let Some(total) = line.company.total_shares() {
            if !open.declared.contains(&total.get()) {
                open.declared.push(total.get());
            }
        }
        let owner = line.holder.owner();
        let foreign = line.holder.country().is_foreign();
        let tally = self
            .owners
            .entry(OwnerKey::of(&owner))
            .or_insert(OwnerTally {
                companies: 0,
                last_company: u32::MAX,
            });
        if tally.companies == 0 {
            match &line.holder {
                RegisterHolder::Person(person) => {
                    self.totals.persons += 1;
                    out.push(YearPart::Person(person.clone()));
                }
                RegisterHolder::Organisation(organisation) => {
                    self.holder_organisations
                        .entry(orgnr_number(organisation.orgnr()))
                        .or_insert_with(|| organisation.clone());
                }
            }
        }
        if tally.last_company != number {
            tally.last_company = number;
            tally.companies += 1;
        }
        let classes = &mut open
            .holdings
            .entry(owner)
            .or_insert_with(|| (foreign, BTreeMap::new()))
            .1;
        let shares = classes.entry(line.share_class).or_insert(0);
        *shares = shares
            .checked_add(line.shares.get())
            .filter(|sum| *sum <= ShareCount::MAX)
            .ok_or(ExtractError::Overflow {
                company,
                line: line.line,
            })?;
        Ok(())
    }

    fn close(&mut self, out: &mut Vec<YearPart>) -> Result<(), ExtractError> {
        let Some(open) = self.open.take() else {
            return Ok(());
        };
        let company = open.organisation.orgnr();
        let overflow = ExtractError::Overflow {
            company,
            line: open.first_line,
        };
        let mut by_class: BTreeMap<ShareClass, u64> = BTreeMap::new();
        let mut registered = 0u64;
        let mut foreign_owner_count = 0u64;
        let mut holdings = Vec::with_capacity(open.holdings.len());
        for (owner, (foreign, classes)) in open.holdings {
            foreign_owner_count += u64::from(foreign);
            let mut held = Vec::with_capacity(classes.len());
            for (share_class, shares) in classes {
                registered = registered
                    .checked_add(shares)
                    .filter(|sum| *sum <= ShareCount::MAX)
                    .ok_or_else(|| overflow.clone())?;
                *by_class.entry(share_class.clone()).or_insert(0) += shares;
                held.push(ClassShares {
                    share_class,
                    shares,
                });
            }
            holdings.push(HoldingYear {
                owner,
                classes: held,
            });
        }
        let mut declared = open.declared;
        declared.sort_unstable();
        let used = declared.last().copied().unwrap_or(0).max(registered);
        let conflict = (declared.len() > 1 || declared.first().is_some_and(|d| registered > *d))
            .then(|| TotalConflict {
                company,
                declared: declared.clone(),
                registered,
                used,
            });
        if let Some(conflict) = &conflict {
            self.totals.conflicts.push(conflict.clone());
        }
        let organisation = Organisation::new(
            company,
            open.organisation.name().clone(),
            open.organisation.postal_code().cloned(),
            open.organisation.place().cloned(),
            open.organisation.country(),
            ShareCount::new(used).ok(),
        );
        self.totals.companies += 1;
        self.totals.holdings += holdings.len() as u64;
        out.push(YearPart::Company(Box::new(CompanyYear {
            organisation,
            registered_shares: registered,
            owner_count: holdings.len() as u64,
            foreign_owner_count,
            classes: by_class
                .into_iter()
                .map(|(share_class, shares)| ClassShares {
                    share_class,
                    shares,
                })
                .collect(),
            holdings,
            conflict,
        })));
        Ok(())
    }

    /// Ends the extract: appends the last company, the organisations that only hold shares,
    /// and every owner's holding count, and returns the extract's counts.
    ///
    /// # Errors
    /// As [`ExtractYear::push`], for the last company.
    pub fn finish(mut self, out: &mut Vec<YearPart>) -> Result<ExtractTotals, ExtractError> {
        self.close(out)?;
        for (number, organisation) in std::mem::take(&mut self.holder_organisations) {
            if !self.finished.contains(&number) {
                self.totals.holder_organisations += 1;
                out.push(YearPart::HolderOrganisation(organisation));
            }
        }
        let mut counts: Vec<(OwnerRef, u64)> = self
            .owners
            .drain()
            .filter_map(|(key, tally)| key.owner().map(|owner| (owner, tally.companies)))
            .collect();
        counts.sort();
        out.extend(
            counts
                .into_iter()
                .map(|(owner, count)| YearPart::HoldingCount(owner, count)),
        );
        Ok(self.totals)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Country, Name};
    use rstest::rstest;

    const TVIST: &str = "988844322";
    const CANICA: &str = "885648312";

    fn orgnr(s: &str) -> OrgNr {
        OrgNr::parse(s).expect("orgnr")
    }

    fn organisation(nr: &str, name: &str, total: Option<u64>) -> Organisation {
        Organisation::new(
            orgnr(nr),
            Name::parse(name).expect("name"),
            None,
            None,
            Country::parse("NO").expect("country"),
            total.map(|t| ShareCount::new(t).expect("total")),
        )
    }

    fn person(name: &str, country: &str) -> Person {
        let name = Name::parse(name).expect("name");
        let country = Country::parse(country).expect("country");
        Person::new(
            PersonId::derive(&name, None, None, None, country),
            name,
            None,
            None,
            None,
            country,
        )
    }

    /// `company;total;holder;class;shares` where a holder of nine digits is an organisation
    /// and `NAME/CC` a person of country CC.
    fn line(n: u64, spec: &str) -> RegisterLine {
        let f: Vec<&str> = spec.split(';').collect();
        let holder = if f[2].len() == 9 && f[2].bytes().all(|b| b.is_ascii_digit()) {
            RegisterHolder::Organisation(organisation(f[2], "HOLDER AS", None))
        } else {
            let (name, country) = f[2].split_once('/').expect("NAME/CC");
            RegisterHolder::Person(person(name, country))
        };
        RegisterLine {
            line: n,
            company: organisation(f[0], "COMPANY AS", f[1].parse().ok()),
            holder,
            share_class: ShareClass::parse(f[3]).expect("class"),
            shares: ShareCount::new(f[4].parse().expect("shares")).expect("shares"),
        }
    }

    fn run(lines: &[&str]) -> Result<(Vec<YearPart>, ExtractTotals), ExtractError> {
        let mut extract = ExtractYear::new();
        let mut out = Vec::new();
        for (i, spec) in lines.iter().enumerate() {
            extract.push(line(i as u64 + 1, spec), &mut out)?;
        }
        let totals = extract.finish(&mut out)?;
        Ok((out, totals))
    }

    fn companies(parts: &[YearPart]) -> Vec<&CompanyYear> {
        parts
            .iter()
            .filter_map(|p| match p {
                YearPart::Company(c) => Some(c.as_ref()),
                _ => None,
            })
            .collect()
    }

    #[rstest]
    // total used, registered, owners, foreign owners, classes, conflict
    #[case(&["988844322;120;HAGEN/NO;A-aksjer;3", "988844322;120;KJOS/CH;B-aksjer;117"], 120, 120, 2, 1, &[("A-aksjer", 3), ("B-aksjer", 117)], None)]
    // The same holder and class on two lines add up: one owner.
    #[case(&["988844322;120;HAGEN/NO;A-aksjer;3", "988844322;120;HAGEN/NO;A-aksjer;4"], 120, 7, 1, 0, &[("A-aksjer", 7)], None)]
    // Lines that disagree on the total: the largest is used, and it is a conflict.
    #[case(&["988844322;100;HAGEN/NO;A-aksjer;3", "988844322;120;KJOS/NO;A-aksjer;4"], 120, 7, 2, 0, &[("A-aksjer", 7)], Some((vec![100, 120], 7, 120)))]
    // Lines that sum past the declared total: the sum is used.
    #[case(&["988844322;5;HAGEN/NO;A-aksjer;3", "988844322;5;KJOS/NO;A-aksjer;4"], 7, 7, 2, 0, &[("A-aksjer", 7)], Some((vec![5], 7, 7)))]
    // No declared total: the sum, and no conflict.
    #[case(&["988844322;;HAGEN/NO;A-aksjer;3"], 3, 3, 1, 0, &[("A-aksjer", 3)], None)]
    // Treasury shares are a holding like any other.
    #[case(&["988844322;10;988844322;A-aksjer;2", "988844322;10;HAGEN/SE;A-aksjer;8"], 10, 10, 2, 1, &[("A-aksjer", 10)], None)]
    fn a_company_sums_its_lines(
        #[case] lines: &[&str],
        #[case] used: u64,
        #[case] registered: u64,
        #[case] owners: u64,
        #[case] foreign: u64,
        #[case] classes: &[(&str, u64)],
        #[case] conflict: Option<(Vec<u64>, u64, u64)>,
    ) {
        let (parts, totals) = run(lines).expect("extract");
        let found = companies(&parts);
        assert_eq!(found.len(), 1);
        let company = found[0];
        assert_eq!(
            company.organisation.total_shares().map(ShareCount::get),
            Some(used)
        );
        assert_eq!(company.registered_shares, registered);
        assert_eq!(company.owner_count, owners);
        assert_eq!(company.holdings.len() as u64, owners);
        assert_eq!(company.foreign_owner_count, foreign);
        let found_classes: Vec<(&str, u64)> = company
            .classes
            .iter()
            .map(|c| (c.share_class.as_str(), c.shares))
            .collect();
        assert_eq!(found_classes, classes);
        let expected = conflict.map(|(declared, registered, used)| TotalConflict {
            company: orgnr(TVIST),
            declared,
            registered,
            used,
        });
        assert_eq!(company.conflict, expected);
        assert_eq!(
            totals.conflicts,
            company.conflict.iter().cloned().collect::<Vec<_>>()
        );
        assert_eq!(totals.companies, 1);
        assert_eq!(totals.holdings, owners);
    }

    #[test]
    fn owners_are_counted_across_companies_and_persons_yielded_once() {
        let (parts, totals) = run(&[
            "988844322;120;HAGEN/NO;A-aksjer;3",
            "988844322;120;885648312;A-aksjer;3",
            "988844322;120;HAGEN/NO;B-aksjer;5",
            "885648312;100;HAGEN/NO;A-aksjer;1",
            "885648312;100;KJOS/NO;A-aksjer;1",
        ])
        .expect("extract");
        let persons: Vec<_> = parts
            .iter()
            .filter_map(|p| match p {
                YearPart::Person(person) => Some(person.name().as_str().to_owned()),
                _ => None,
            })
            .collect();
        assert_eq!(persons, ["HAGEN", "KJOS"]);
        // CANICA holds shares and issues its own: it is no holder-only organisation.
        assert!(
            !parts
                .iter()
                .any(|p| matches!(p, YearPart::HolderOrganisation(_)))
        );
        let counts: HashMap<String, u64> = parts
            .iter()
            .filter_map(|p| match p {
                YearPart::HoldingCount(owner, count) => Some((owner.to_string(), *count)),
                _ => None,
            })
            .collect();
        let hagen = OwnerRef::Person(person("HAGEN", "NO").id().clone()).to_string();
        let kjos = OwnerRef::Person(person("KJOS", "NO").id().clone()).to_string();
        let canica = OwnerRef::Organisation(orgnr(CANICA)).to_string();
        assert_eq!(counts.get(&hagen), Some(&2));
        assert_eq!(counts.get(&kjos), Some(&1));
        assert_eq!(counts.get(&canica), Some(&1));
        assert_eq!(counts.len(), 3);
        assert_eq!(totals.lines, 5);
        assert_eq!(totals.companies, 2);
        assert_eq!(totals.holdings, 4);
        assert_eq!(totals.persons, 2);
        let tvist = companies(&parts)[0];
        assert_eq!(
            tvist.holdings[0].owner,
            OwnerRef::Organisation(orgnr(CANICA))
        );
        assert_eq!(tvist.holdings[1].shares(), 8);
    }

    #[test]
    fn organisations_that_only_hold_are_yielded_at_the_end() {
        let (parts, totals) = run(&["988844322;120;885648312;A-aksjer;3"]).expect("extract");
        assert!(matches!(parts.last(), Some(YearPart::HoldingCount(..))));
        let holders: Vec<_> = parts
            .iter()
            .filter_map(|p| match p {
                YearPart::HolderOrganisation(o) => Some(o.orgnr()),
                _ => None,
            })
            .collect();
        assert_eq!(holders, [orgnr(CANICA)]);
        assert_eq!(totals.holder_organisations, 1);
    }

    #[test]
    fn a_company_that_comes_back_is_refused() {
        let error = run(&[
            "988844322;120;HAGEN/NO;A-aksjer;3",
            "885648312;100;HAGEN/NO;A-aksjer;1",
            "988844322;120;KJOS/NO;A-aksjer;3",
        ])
        .expect_err("not grouped");
        assert_eq!(
            error,
            ExtractError::NotGrouped {
                company: orgnr(TVIST),
                line: 3
            }
        );
    }

    #[test]
    fn shares_that_sum_past_the_largest_count_are_refused() {
        let max = ShareCount::MAX;
        let error = run(&[
            &format!("988844322;;HAGEN/NO;A-aksjer;{max}"),
            "988844322;;KJOS/NO;A-aksjer;1",
        ])
        .expect_err("overflow");
        assert!(matches!(error, ExtractError::Overflow { .. }), "{error}");
    }

    #[rstest]
    #[case(OwnerRef::Organisation(orgnr(TVIST)))]
    #[case(OwnerRef::Person(PersonId::parse("0123456789abcdef0123456789abcdef").expect("id")))]
    #[case(OwnerRef::Person(PersonId::parse("00000000000000000000000000000001").expect("id")))]
    #[case(OwnerRef::Person(PersonId::parse("0123456789ABCDEF0123456789ABCDEF").expect("id")))]
    #[case(OwnerRef::Person(PersonId::parse("api-person_1").expect("id")))]
    fn owner_keys_round_trip(#[case] owner: OwnerRef) {
        assert_eq!(OwnerKey::of(&owner).owner(), Some(owner));
    }
}
