//! The read model's whole state as sorted streams ([`Snapshot`]), for verify.

use anyhow::Context as _;
use async_trait::async_trait;
use futures::stream::{self, BoxStream, StreamExt as _, TryStreamExt as _};
use mongodb::Collection;
use mongodb::bson::{Document, doc};
use mongodb::options::FindOptions;
use shareholders_domain::Position;
use shareholders_ports::{
    CompanySnapshot, HoldingRecord, HoldingSnapshot, PersonSnapshot, Snapshot,
};

use crate::MongoReadModel;
use crate::codec::{self, int};
use crate::read::{
    CompanyTotals, company_snapshot, holding_record, person_snapshot, totals_projection,
};

/// The read model's whole state: organisations by orgnr, persons by id, holdings by company,
/// owner kind and owner id (their `_id` order), and the position through which every event is
/// known to be applied.
#[derive(Clone, Debug)]
pub struct MongoSnapshot {
    pub(crate) model: MongoReadModel,
}

fn sorted(
    collection: Collection<Document>,
    filter: Document,
    projection: Option<Document>,
) -> BoxStream<'static, anyhow::Result<Document>> {
    stream::once(async move {
        let name = collection.name().to_owned();
        let options = FindOptions::builder()
            .sort(doc! { "_id": 1 })
            .projection(projection)
            .build();
        collection
            .find(filter)
            .with_options(options)
            .await
            .map(|cursor| cursor.map_err(anyhow::Error::from))
            .with_context(|| format!("scanning {name}"))
    })
    .try_flatten()
    .boxed()
}

impl MongoSnapshot {
    /// The registered organisations, by orgnr.
    pub(crate) fn registered_companies(
        &self,
    ) -> BoxStream<'static, anyhow::Result<CompanySnapshot>> {
        sorted(
            self.model.organisations.clone(),
            doc! { "registered": true },
            None,
        )
        .map(|doc| doc.and_then(|doc| company_snapshot(&doc)))
        .boxed()
    }

    /// The registered persons, by id.
    pub(crate) fn registered_persons(&self) -> BoxStream<'static, anyhow::Result<PersonSnapshot>> {
        sorted(
            self.model.persons.clone(),
            doc! { "registered": true },
            None,
        )
        .map(|doc| doc.and_then(|doc| person_snapshot(&doc)))
        .boxed()
    }

    /// Every holding as the queries give it: with its company's current totals.
    pub(crate) fn holdings_as_read(&self) -> BoxStream<'static, anyhow::Result<HoldingRecord>> {
        stream::try_unfold(self.walk(true), HoldingWalk::next)
            .map_ok(|holding| holding.record)
            .boxed()
    }

    fn walk(&self, as_read: bool) -> HoldingWalk {
        HoldingWalk {
            holdings: sorted(self.model.holdings.clone(), doc! {}, None),
            companies: sorted(
                self.model.organisations.clone(),
                doc! {},
                Some(totals_projection()),
            ),
            company: None,
            companies_done: false,
            as_read,
        }
    }
}

/// Walks the holdings and, in step, the organisations (both sorted by orgnr) to give each
/// holding its company's current totals.
struct HoldingWalk {
    holdings: BoxStream<'static, anyhow::Result<Document>>,
    companies: BoxStream<'static, anyhow::Result<Document>>,
    company: Option<(String, CompanyTotals)>,
    companies_done: bool,
    /// With the company's current total, as the queries give it, instead of the total the
    /// holding stores.
    as_read: bool,
}

impl HoldingWalk {
    async fn totals(&mut self, orgnr: &str) -> anyhow::Result<CompanyTotals> {
        loop {
            if let Some((current, totals)) = &self.company {
                match current.as_str().cmp(orgnr) {
                    std::cmp::Ordering::Equal => return Ok(*totals),
                    std::cmp::Ordering::Greater => return Ok(CompanyTotals::UNKNOWN),
                    std::cmp::Ordering::Less => {}
                }
            }
            if self.companies_done {
                return Ok(CompanyTotals::UNKNOWN);
            }
            match self.companies.try_next().await? {
                Some(doc) => {
                    let id = codec::get_str(&doc, "_id")?.to_owned();
                    self.company = Some((id, CompanyTotals::of(&doc)?));
                }
                None => self.companies_done = true,
            }
        }
    }

    async fn next(mut self) -> anyhow::Result<Option<(HoldingSnapshot, Self)>> {
        let Some(doc) = self.holdings.try_next().await? else {
            return Ok(None);
        };
        let id = codec::get_str(&doc, "_id")?.to_owned();
        let orgnr = doc
            .get_document("company")
            .and_then(|company| company.get_str("orgnr"))
            .with_context(|| format!("holding {id} has no company.orgnr"))?
            .to_owned();
        let totals = self.totals(&orgnr).await?;
        // The company's total as the holding stores it (queries fall back to it), not the
        // company document's: verify compares each stored copy.
        let stored = if self.as_read {
            totals
        } else {
            CompanyTotals {
                total_shares: None,
                ..totals
            }
        };
        let snapshot = HoldingSnapshot {
            record: holding_record(&doc, stored)
                .with_context(|| format!("reading holding {id}"))?,
            shares: codec::get_u64(&doc, "shares")
                .with_context(|| format!("reading holding {id}"))?,
            version: codec::get_opt_u64(&doc, "version")?.unwrap_or(0),
        };
        Ok(Some((snapshot, self)))
    }
}

#[async_trait]
impl Snapshot for MongoSnapshot {
    fn companies(&self) -> BoxStream<'_, anyhow::Result<CompanySnapshot>> {
        self.registered_companies()
    }

    fn persons(&self) -> BoxStream<'_, anyhow::Result<PersonSnapshot>> {
        self.registered_persons()
    }

    fn holdings(&self) -> BoxStream<'_, anyhow::Result<HoldingSnapshot>> {
        stream::try_unfold(self.walk(false), HoldingWalk::next).boxed()
    }

    async fn position(&self) -> anyhow::Result<Option<Position>> {
        let watermark = self.model.watermark().await?;
        let mut through = watermark.unwrap_or(0);
        let mut applied = self
            .model
            .applied
            .find(doc! { "_id": { "$gt": int(through, "position")? } })
            .sort(doc! { "_id": 1 })
            .await
            .context("scanning applied events")?;
        while let Some(doc) = applied.try_next().await? {
            if codec::get_u64(&doc, "_id")? == through + 1 {
                through += 1;
            } else {
                break;
            }
        }
        Ok((watermark.is_some() || through > 0).then(|| Position::new(through)))
    }
}
