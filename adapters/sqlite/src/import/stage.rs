//! A year's parts as rows of the staging tables, many rows to a statement.

use shareholders_domain::{CompanyYear, OrgNr, Organisation, OwnerRef, Person, YearPart};
use sqlx::SqliteConnection;

use crate::bulk::insert_rows;
use crate::codec::{int, kind_str};

/// An organisation's staged row, its numbers as SQLite stores them.
struct OrganisationRow<'a> {
    organisation: &'a Organisation,
    total_shares: Option<i64>,
    registered: i64,
    owner_count: i64,
    foreign_owner_count: i64,
}

impl<'a> OrganisationRow<'a> {
    fn new(
        organisation: &'a Organisation,
        registered: u64,
        owner_count: u64,
        foreign_owner_count: u64,
    ) -> anyhow::Result<Self> {
        Ok(Self {
            organisation,
            total_shares: organisation
                .total_shares()
                .map(|t| int(t.get()))
                .transpose()?,
            registered: int(registered)?,
            owner_count: int(owner_count)?,
            foreign_owner_count: int(foreign_owner_count)?,
        })
    }
}

struct HoldingRow<'a> {
    company: OrgNr,
    owner: &'a OwnerRef,
    share_class: &'a str,
    shares: i64,
}

/// Stages the parts, in the caller's transaction.
pub(super) async fn parts(conn: &mut SqliteConnection, parts: &[YearPart]) -> anyhow::Result<()> {
    let mut organisations = Vec::new();
    let mut persons: Vec<&Person> = Vec::new();
    let mut holdings = Vec::new();
    let mut counts: Vec<(&OwnerRef, i64)> = Vec::new();
    for part in parts {
        match part {
            YearPart::Company(company) => {
                let CompanyYear {
                    organisation,
                    registered_shares,
                    owner_count,
                    foreign_owner_count,
                    holdings: company_holdings,
                    ..
                } = company.as_ref();
                organisations.push(OrganisationRow::new(
                    organisation,
                    *registered_shares,
                    *owner_count,
                    *foreign_owner_count,
                )?);
                for holding in company_holdings {
                    for class in &holding.classes {
                        holdings.push(HoldingRow {
                            company: organisation.orgnr(),
                            owner: &holding.owner,
                            share_class: class.share_class.as_str(),
                            shares: int(class.shares)?,
                        });
                    }
                }
            }
            YearPart::Person(person) => persons.push(person),
            YearPart::HolderOrganisation(organisation) => {
                organisations.push(OrganisationRow::new(organisation, 0, 0, 0)?);
            }
            YearPart::HoldingCount(owner, count) => counts.push((owner, int(*count)?)),
        }
    }
    insert_rows(
        conn,
        "INSERT INTO temp.load_organisations (orgnr, name, postal_code, place, country, \
         total_shares, registered, owner_count, foreign_owner_count) ",
        &organisations,
        |values, row| {
            let o = row.organisation;
            values
                .push_bind(o.orgnr().as_str().to_owned())
                .push_bind(o.name().as_str().to_owned())
                .push_bind(o.postal_code().map(|p| p.as_str().to_owned()))
                .push_bind(o.place().map(|p| p.as_str().to_owned()))
                .push_bind(o.country().alpha2().to_owned())
                .push_bind(row.total_shares)
                .push_bind(row.registered)
                .push_bind(row.owner_count)
                .push_bind(row.foreign_owner_count);
        },
        "",
        "the staged organisations",
    )
    .await?;
    insert_rows(
        conn,
        "INSERT INTO temp.load_persons (id, name, birth_year, postal_code, place, country) ",
        &persons,
        |values, p| {
            values
                .push_bind(p.id().as_str().to_owned())
                .push_bind(p.name().as_str().to_owned())
                .push_bind(p.birth_year().map(|y| i64::from(y.get())))
                .push_bind(p.postal_code().map(|c| c.as_str().to_owned()))
                .push_bind(p.place().map(|c| c.as_str().to_owned()))
                .push_bind(p.country().alpha2().to_owned());
        },
        "",
        "the staged persons",
    )
    .await?;
    insert_rows(
        conn,
        "INSERT INTO temp.load_holdings (company, owner_kind, owner_id, share_class, shares) ",
        &holdings,
        |values, row| {
            values
                .push_bind(row.company.as_str().to_owned())
                .push_bind(kind_str(row.owner))
                .push_bind(row.owner.id().to_owned())
                .push_bind(row.share_class.to_owned())
                .push_bind(row.shares);
        },
        "",
        "the staged holdings",
    )
    .await?;
    insert_rows(
        conn,
        "INSERT INTO temp.load_counts (owner_kind, owner_id, holding_count) ",
        &counts,
        |values, (owner, n)| {
            values
                .push_bind(kind_str(owner))
                .push_bind(owner.id().to_owned())
                .push_bind(*n);
        },
        "",
        "the staged holding counts",
    )
    .await?;
    Ok(())
}
