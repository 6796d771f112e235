//! The write model: commands, each with its outbox event and idempotency key in one
//! `BEGIN IMMEDIATE` transaction.

use anyhow::{Context as _, anyhow};
use async_trait::async_trait;
use shareholders_domain::{
    ClassShares, CompanyProfile, CompanyState, Event, Organisation, OwnerProfile, OwnerRef,
    OwnerState, Person, Position, Purchase, PurchaseId, RecordedEvent, ShareClass, SharesPurchased,
    apply_purchase,
};
use shareholders_ports::{
    Idempotency, PurchaseError, PurchaseReceipt, Recorded, RegisterError, WriteStore,
};
use sqlx::{Row as _, SqliteConnection};

use crate::SqliteStore;
use crate::codec::{self, birth_year, count, int, kind_str, total};
use std::time::SystemTime;

/// What an idempotency key says about a command.
pub(crate) enum KeyState {
    Fresh,
    Replay(RecordedEvent),
    Reused,
}

pub(crate) async fn check_key(
    conn: &mut SqliteConnection,
    idempotency: Option<&Idempotency>,
) -> anyhow::Result<KeyState> {
    let Some(idempotency) = idempotency else {
        return Ok(KeyState::Fresh);
    };
    let row = sqlx::query(
        "SELECT k.fingerprint, k.position, o.payload FROM idempotency_keys k \
         JOIN outbox o ON o.position = k.position WHERE k.key = ?",
    )
    .bind(idempotency.key.as_str().to_owned())
    .fetch_optional(&mut *conn)
    .await
    .context("reading an idempotency key")?;
    let Some(row) = row else {
        return Ok(KeyState::Fresh);
    };
    let fingerprint: String = row.try_get("fingerprint")?;
    if fingerprint != idempotency.fingerprint {
        return Ok(KeyState::Reused);
    }
    let position = count(row.try_get("position")?)?;
    let payload: Vec<u8> = row.try_get("payload")?;
    let event = shareholders_event_json::decode_event(&payload)
        .with_context(|| format!("decoding outbox event {position}"))?;
    // Only the replayed result is wanted, not when the event was recorded.
    Ok(KeyState::Replay(RecordedEvent {
        position: Position::new(position),
        event,
        recorded_at: None,
    }))
}

async fn save_key(
    conn: &mut SqliteConnection,
    idempotency: Option<&Idempotency>,
    position: Position,
) -> anyhow::Result<()> {
    if let Some(idempotency) = idempotency {
        sqlx::query(
            "INSERT INTO idempotency_keys (key, fingerprint, position, created_at_ms) \
             VALUES (?, ?, ?, ?)",
        )
        .bind(idempotency.key.as_str().to_owned())
        .bind(idempotency.fingerprint.clone())
        .bind(int(position.get())?)
        .bind(codec::millis(SystemTime::now()))
        .execute(&mut *conn)
        .await
        .context("saving an idempotency key")?;
    }
    Ok(())
}

/// Appends an event to the outbox; its row number is its position.
pub(crate) async fn append(conn: &mut SqliteConnection, event: &Event) -> anyhow::Result<Position> {
    let result =
        sqlx::query("INSERT INTO outbox (event_type, payload, recorded_at_ms) VALUES (?, ?, ?)")
            .bind(event.type_name())
            .bind(shareholders_event_json::encode_event(event))
            .bind(codec::millis(SystemTime::now()))
            .execute(&mut *conn)
            .await
            .context("appending to the outbox")?;
    Ok(Position::new(count(result.last_insert_rowid())?))
}

fn is_unique_violation(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(e) if e.is_unique_violation())
}

fn replayed<T>(value: T, recorded: &RecordedEvent) -> Recorded<T> {
    Recorded {
        value,
        position: recorded.position,
        replayed: true,
    }
}

#[async_trait]
impl WriteStore for SqliteStore {
    async fn register_organisation(
        &self,
        organisation: &Organisation,
        idempotency: Option<Idempotency>,
    ) -> Result<Recorded<Organisation>, RegisterError> {
        let mut writer = self.writer().await?;
        match check_key(&mut writer.tx, idempotency.as_ref()).await? {
            KeyState::Fresh => {}
            KeyState::Replay(recorded) => {
                return match &recorded.event {
                    Event::OrganisationRegistered(o) => Ok(replayed(o.clone(), &recorded)),
                    _ => Err(RegisterError::IdempotencyKeyReused),
                };
            }
            KeyState::Reused => return Err(RegisterError::IdempotencyKeyReused),
        }
        let inserted = sqlx::query(
            "INSERT INTO organisations (orgnr, name, postal_code, place, country, total_shares) \
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(organisation.orgnr().as_str().to_owned())
        .bind(organisation.name().as_str().to_owned())
        .bind(organisation.postal_code().map(|p| p.as_str().to_owned()))
        .bind(organisation.place().map(|p| p.as_str().to_owned()))
        .bind(organisation.country().alpha2().to_owned())
        .bind(
            organisation
                .total_shares()
                .map(|t| int(t.get()))
                .transpose()?,
        )
        .execute(&mut *writer.tx)
        .await;
        match inserted {
            Ok(_) => {}
            Err(e) if is_unique_violation(&e) => {
                return Err(RegisterError::OrganisationExists(organisation.orgnr()));
            }
            Err(e) => {
                return Err(anyhow::Error::new(e)
                    .context("inserting an organisation")
                    .into());
            }
        }
        let position = append(
            &mut writer.tx,
            &Event::OrganisationRegistered(organisation.clone()),
        )
        .await?;
        save_key(&mut writer.tx, idempotency.as_ref(), position).await?;
        writer.commit().await?;
        Ok(Recorded {
            value: organisation.clone(),
            position,
            replayed: false,
        })
    }

    async fn register_person(
        &self,
        person: &Person,
        idempotency: Option<Idempotency>,
    ) -> Result<Recorded<Person>, RegisterError> {
        let mut writer = self.writer().await?;
        match check_key(&mut writer.tx, idempotency.as_ref()).await? {
            KeyState::Fresh => {}
            KeyState::Replay(recorded) => {
                return match &recorded.event {
                    Event::PersonRegistered(p) => Ok(replayed(p.clone(), &recorded)),
                    _ => Err(RegisterError::IdempotencyKeyReused),
                };
            }
            KeyState::Reused => return Err(RegisterError::IdempotencyKeyReused),
        }
        let inserted = sqlx::query(
            "INSERT INTO persons (id, name, birth_year, postal_code, place, country) \
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(person.id().as_str().to_owned())
        .bind(person.name().as_str().to_owned())
        .bind(person.birth_year().map(|y| i64::from(y.get())))
        .bind(person.postal_code().map(|p| p.as_str().to_owned()))
        .bind(person.place().map(|p| p.as_str().to_owned()))
        .bind(person.country().alpha2().to_owned())
        .execute(&mut *writer.tx)
        .await;
        match inserted {
            Ok(_) => {}
            Err(e) if is_unique_violation(&e) => {
                return Err(RegisterError::PersonExists(person.id().to_string()));
            }
            Err(e) => return Err(anyhow::Error::new(e).context("inserting a person").into()),
        }
        let position = append(&mut writer.tx, &Event::PersonRegistered(person.clone())).await?;
        save_key(&mut writer.tx, idempotency.as_ref(), position).await?;
        writer.commit().await?;
        Ok(Recorded {
            value: person.clone(),
            position,
            replayed: false,
        })
    }

    async fn purchase(
        &self,
        purchase: &Purchase,
        idempotency: Option<Idempotency>,
    ) -> Result<Recorded<PurchaseReceipt>, PurchaseError> {
        let mut writer = self.writer().await?;
        match check_key(&mut writer.tx, idempotency.as_ref()).await? {
            KeyState::Fresh => {}
            KeyState::Replay(recorded) => {
                return match &recorded.event {
                    Event::SharesPurchased(e) => Ok(replayed(
                        PurchaseReceipt {
                            id: e.purchase_id,
                            purchase: e.purchase.clone(),
                        },
                        &recorded,
                    )),
                    _ => Err(PurchaseError::IdempotencyKeyReused),
                };
            }
            KeyState::Reused => return Err(PurchaseError::IdempotencyKeyReused),
        }
        let event = record_purchase(&mut writer.tx, purchase).await?;
        let receipt = PurchaseReceipt {
            id: event.purchase_id,
            purchase: purchase.clone(),
        };
        let position = append(&mut writer.tx, &Event::SharesPurchased(Box::new(event))).await?;
        save_key(&mut writer.tx, idempotency.as_ref(), position).await?;
        writer.commit().await?;
        Ok(Recorded {
            value: receipt,
            position,
            replayed: false,
        })
    }

    async fn last_position(&self) -> anyhow::Result<Option<Position>> {
        // AUTOINCREMENT's own record of the largest row number: deleted rows do not lower it.
        let last: Option<i64> =
            sqlx::query_scalar("SELECT seq FROM sqlite_sequence WHERE name = 'outbox'")
                .fetch_optional(&self.pool)
                .await
                .context("reading the outbox's sequence")?;
        last.map(|last| count(last).map(Position::new)).transpose()
    }
}

struct Owner {
    name: String,
    country: String,
    birth_year: Option<i64>,
    version: u64,
    holding_count: u64,
}

async fn owner(conn: &mut SqliteConnection, owner: &OwnerRef) -> anyhow::Result<Option<Owner>> {
    let sql = match owner {
        OwnerRef::Organisation(_) => {
            "SELECT name, country, NULL AS birth_year, owner_version, holding_count \
             FROM organisations WHERE orgnr = ?"
        }
        OwnerRef::Person(_) => {
            "SELECT name, country, birth_year, owner_version, holding_count \
             FROM persons WHERE id = ?"
        }
    };
    let row = sqlx::query(sql)
        .bind(owner.id().to_owned())
        .fetch_optional(&mut *conn)
        .await
        .context("reading the owner")?;
    row.map(|row| {
        Ok(Owner {
            name: row.try_get("name")?,
            country: row.try_get("country")?,
            birth_year: row.try_get("birth_year")?,
            version: count(row.try_get("owner_version")?)?,
            holding_count: count(row.try_get("holding_count")?)?,
        })
    })
    .transpose()
}

pub(crate) async fn classes(
    conn: &mut SqliteConnection,
    sql: &'static str,
    binds: &[&str],
) -> anyhow::Result<Vec<ClassShares>> {
    let mut query = sqlx::query(sql);
    for bind in binds {
        query = query.bind((*bind).to_owned());
    }
    let rows = query
        .fetch_all(&mut *conn)
        .await
        .context("reading classes")?;
    rows.iter()
        .map(|row| {
            let class: String = row.try_get("share_class")?;
            Ok(ClassShares {
                share_class: ShareClass::parse(&class)
                    .with_context(|| format!("stored share class {class:?}"))?,
                shares: count(row.try_get("shares")?)?,
            })
        })
        .collect()
}

/// Applies a purchase to the write model and returns the event describing the state it left.
async fn record_purchase(
    conn: &mut SqliteConnection,
    purchase: &Purchase,
) -> Result<SharesPurchased, PurchaseError> {
    // The write transaction is already exclusive (BEGIN IMMEDIATE): the states read here are
    // the states the purchase changes.
    let company_nr = purchase.company();
    let company = sqlx::query(
        "SELECT name, total_shares, version, registered_shares, owner_count, foreign_owner_count \
         FROM organisations WHERE orgnr = ?",
    )
    .bind(company_nr.as_str().to_owned())
    .fetch_optional(&mut *conn)
    .await
    .context("reading the company")?
    .ok_or(PurchaseError::UnknownCompany(company_nr))?;
    let owner_ref = purchase.owner();
    let owner = owner(conn, owner_ref)
        .await?
        .ok_or_else(|| PurchaseError::UnknownOwner(owner_ref.clone()))?;
    let column = |name: &str| -> anyhow::Result<i64> { Ok(company.try_get(name)?) };
    let company_name: String = company.try_get("name").map_err(anyhow::Error::new)?;
    let profile = CompanyProfile {
        orgnr: company_nr,
        name: shareholders_domain::Name::parse(&company_name)
            .map_err(|e| anyhow!("stored company name {company_name:?}: {e}"))?,
        total_shares: total(
            company
                .try_get("total_shares")
                .map_err(anyhow::Error::new)?,
        )?,
    };
    let kind = kind_str(owner_ref);
    let company_before = CompanyState {
        version: count(column("version")?)?,
        registered_shares: count(column("registered_shares")?)?,
        owner_count: count(column("owner_count")?)?,
        foreign_owner_count: count(column("foreign_owner_count")?)?,
        classes: classes(
            conn,
            "SELECT share_class, shares FROM company_classes WHERE company = ? \
             ORDER BY share_class",
            &[company_nr.as_str()],
        )
        .await?,
    };
    let holding_before = classes(
        conn,
        "SELECT share_class, shares FROM holdings \
         WHERE company = ? AND owner_kind = ? AND owner_id = ? ORDER BY share_class",
        &[company_nr.as_str(), kind, owner_ref.id()],
    )
    .await?;
    let owner_profile = OwnerProfile {
        owner: owner_ref.clone(),
        name: shareholders_domain::Name::parse(&owner.name)
            .map_err(|e| anyhow!("stored owner name {:?}: {e}", owner.name))?,
        country: shareholders_domain::Country::parse(&owner.country)
            .with_context(|| format!("stored country {:?}", owner.country))?,
        birth_year: birth_year(owner.birth_year)?,
    };
    let owner_before = OwnerState {
        version: owner.version,
        holding_count: owner.holding_count,
    };
    let applied = apply_purchase(
        &profile,
        &company_before,
        &owner_profile,
        &owner_before,
        &holding_before,
        purchase,
    )?;

    let version = int(applied.company_state.version)?;
    let class = purchase.share_class().as_str().to_owned();
    sqlx::query(
        "INSERT INTO holdings (company, owner_kind, owner_id, share_class, shares, version) \
         VALUES (?, ?, ?, ?, ?, ?) \
         ON CONFLICT (company, owner_kind, owner_id, share_class) \
         DO UPDATE SET shares = excluded.shares, version = excluded.version",
    )
    .bind(company_nr.as_str().to_owned())
    .bind(kind)
    .bind(owner_ref.id().to_owned())
    .bind(class.clone())
    .bind(int(applied.class_holding)?)
    .bind(version)
    .execute(&mut *conn)
    .await
    .context("adding to the holding")?;
    sqlx::query(
        "INSERT INTO company_classes (company, share_class, shares) VALUES (?, ?, ?) \
         ON CONFLICT (company, share_class) DO UPDATE SET shares = excluded.shares",
    )
    .bind(company_nr.as_str().to_owned())
    .bind(class.clone())
    .bind(int(applied.class_company)?)
    .execute(&mut *conn)
    .await
    .context("adding to the company's class")?;
    let after = &applied.company_state;
    sqlx::query(
        "UPDATE organisations SET version = ?, registered_shares = ?, owner_count = ?, \
         foreign_owner_count = ? WHERE orgnr = ?",
    )
    .bind(version)
    .bind(int(after.registered_shares)?)
    .bind(int(after.owner_count)?)
    .bind(int(after.foreign_owner_count)?)
    .bind(company_nr.as_str().to_owned())
    .execute(&mut *conn)
    .await
    .context("updating the company's state")?;
    if applied.owner_state != owner_before {
        let sql = match owner_ref {
            OwnerRef::Organisation(_) => {
                "UPDATE organisations SET owner_version = ?, holding_count = ? WHERE orgnr = ?"
            }
            OwnerRef::Person(_) => {
                "UPDATE persons SET owner_version = ?, holding_count = ? WHERE id = ?"
            }
        };
        sqlx::query(sql)
            .bind(int(applied.owner_state.version)?)
            .bind(int(applied.owner_state.holding_count)?)
            .bind(owner_ref.id().to_owned())
            .execute(&mut *conn)
            .await
            .context("updating the owner's state")?;
    }
    let recorded = sqlx::query(
        "INSERT INTO purchases (company, owner_kind, owner_id, share_class, shares) \
         VALUES (?, ?, ?, ?, ?)",
    )
    .bind(company_nr.as_str().to_owned())
    .bind(kind)
    .bind(owner_ref.id().to_owned())
    .bind(class)
    .bind(int(purchase.shares().get())?)
    .execute(&mut *conn)
    .await
    .context("recording the purchase")?;
    let purchase_id = PurchaseId::new(count(recorded.last_insert_rowid())?);
    Ok(applied.event(purchase_id, purchase, profile, owner_profile))
}
