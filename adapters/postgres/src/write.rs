//! The commands: each one transaction that checks, writes the state and the outbox row.

use anyhow::{Context as _, anyhow};
use async_trait::async_trait;
use shareholders_domain::{
    CompanyProfile, CompanyState, Event, Organisation, OwnerProfile, OwnerRef, OwnerState, Person,
    Position, Purchase, PurchaseId, apply_purchase,
};
use shareholders_ports::{
    Idempotency, PurchaseError, PurchaseReceipt, Recorded, RegisterError, WriteStore,
};
use sqlx::postgres::{PgConnection, PgRow};
use sqlx::{Postgres, Row as _, Transaction};

use crate::rows::{self, kind_str, to_i64, to_u64};
use crate::{ATTEMPTS, PostgresStore, backoff, is_retryable, sqlstate};

const REGISTER_ORGANISATION: &str = "register_organisation";
const REGISTER_PERSON: &str = "register_person";
const PURCHASE: &str = "purchase";

fn get<'r, T>(row: &'r PgRow, column: &str) -> anyhow::Result<T>
where
    T: sqlx::Decode<'r, Postgres> + sqlx::Type<Postgres>,
{
    row.try_get(column)
        .with_context(|| format!("cannot read column {column}"))
}

fn constraint(error: &anyhow::Error) -> Option<String> {
    error
        .chain()
        .find_map(|cause| match cause.downcast_ref::<sqlx::Error>() {
            Some(sqlx::Error::Database(db)) => db.constraint().map(ToOwned::to_owned),
            _ => None,
        })
}

fn db(error: sqlx::Error, what: &'static str) -> anyhow::Error {
    anyhow::Error::new(error).context(what)
}

/// What an idempotency key says about a command about to run.
enum Claim {
    /// The key is new and now held by this transaction.
    New,
    /// The key was used for the same request: the position of the event it recorded.
    Replay { position: Position },
    /// The key was used for another request.
    Reused,
}

/// Claims the key in the transaction. A concurrent transaction holding the same key makes this
/// wait until it ends: if it committed, the command is a replay (or a reuse); if it rolled
/// back, the key is ours. A key found is locked `FOR SHARE` until the transaction ends, so
/// the retention task (which skips locked keys) cannot delete it, nor the outbox event its
/// replay is read from, in between; a key it deleted in between is claimed afresh.
async fn claim(
    conn: &mut PgConnection,
    command: &str,
    idempotency: &Idempotency,
) -> anyhow::Result<Claim> {
    loop {
        let inserted = sqlx::query(
            "INSERT INTO idempotency_keys (key, command, fingerprint) VALUES ($1, $2, $3)
             ON CONFLICT (key) DO NOTHING",
        )
        .bind(idempotency.key.as_str())
        .bind(command)
        .bind(&idempotency.fingerprint)
        .execute(&mut *conn)
        .await
        .map_err(|e| db(e, "cannot claim the idempotency key"))?
        .rows_affected();
        if inserted == 1 {
            return Ok(Claim::New);
        }
        let row = sqlx::query(
            "SELECT command, fingerprint, result, position FROM idempotency_keys WHERE key = $1
             FOR SHARE",
        )
        .bind(idempotency.key.as_str())
        .fetch_optional(&mut *conn)
        .await
        .map_err(|e| db(e, "cannot read the idempotency key"))?;
        let Some(row) = row else {
            // Pruned past its retention since the insert found it.
            continue;
        };
        let same = row.try_get::<String, _>("command")? == command
            && row.try_get::<String, _>("fingerprint")? == idempotency.fingerprint;
        if !same {
            return Ok(Claim::Reused);
        }
        let position: Option<i64> = row.try_get("position")?;
        return match position {
            Some(position) => Ok(Claim::Replay {
                position: Position::new(to_u64(position, "position")?),
            }),
            None => Err(anyhow!("idempotency key without a result")),
        };
    }
}

async fn complete(
    conn: &mut PgConnection,
    idempotency: Option<&Idempotency>,
    result: &str,
    position: i64,
) -> anyhow::Result<()> {
    if let Some(idempotency) = idempotency {
        sqlx::query("UPDATE idempotency_keys SET result = $2, position = $3 WHERE key = $1")
            .bind(idempotency.key.as_str())
            .bind(result)
            .bind(position)
            .execute(&mut *conn)
            .await
            .map_err(|e| db(e, "cannot record the idempotency key's result"))?;
    }
    Ok(())
}

async fn append(conn: &mut PgConnection, event: &Event) -> anyhow::Result<i64> {
    let payload = String::from_utf8(shareholders_event_json::encode_event(event))
        .context("an encoded event is not UTF-8")?;
    sqlx::query_scalar("INSERT INTO outbox (payload) VALUES ($1::text::jsonb) RETURNING position")
        .bind(payload)
        .fetch_one(&mut *conn)
        .await
        .map_err(|e| db(e, "cannot append the event to the outbox"))
}

/// Begins a command's transaction; how long it waited for a connection is the pool's wait.
async fn begin(store: &PostgresStore) -> anyhow::Result<Transaction<'static, Postgres>> {
    let started = std::time::Instant::now();
    let tx = store
        .pool
        .begin()
        .await
        .map_err(|e| db(e, "cannot begin a transaction"))?;
    metrics::histogram!(shareholders_ports::metrics::POOL_WAIT_SECONDS, "pool" => "postgresql")
        .record(started.elapsed().as_secs_f64());
    Ok(tx)
}

async fn commit(tx: Transaction<'static, Postgres>) -> anyhow::Result<()> {
    tx.commit()
        .await
        .map_err(|e| db(e, "cannot commit the transaction"))
}

/// The event the first request with an idempotency key recorded: what a replay answers with
/// (see [`shareholders_ports::Idempotency`]).
async fn recorded(conn: &mut PgConnection, position: Position) -> anyhow::Result<Event> {
    let payload: String =
        sqlx::query_scalar("SELECT payload::text FROM outbox WHERE position = $1")
            .bind(to_i64(position.get(), "position")?)
            .fetch_one(&mut *conn)
            .await
            .map_err(|e| db(e, "cannot read the replayed event"))?;
    shareholders_event_json::decode_event(payload.as_bytes())
        .with_context(|| format!("the event at position {} cannot be decoded", position.get()))
}

fn replayed<T>(value: T, position: Position) -> Recorded<T> {
    Recorded {
        value,
        position,
        replayed: true,
    }
}

/// Runs `attempt` again after a deadlock or serialization failure, a few times.
macro_rules! retrying {
    ($unknown:path, $body:expr) => {{
        let mut attempt = 1;
        loop {
            match $body {
                Err($unknown(error)) if attempt < ATTEMPTS && is_retryable(&error) => {
                    tracing::debug!(attempt, error = %format!("{error:#}"), "retrying a transaction");
                    backoff(attempt).await;
                    attempt += 1;
                }
                result => break result,
            }
        }
    }};
}

impl PostgresStore {
    async fn register_organisation_once(
        &self,
        organisation: &Organisation,
        idempotency: Option<&Idempotency>,
    ) -> Result<Recorded<Organisation>, RegisterError> {
        let mut tx = begin(self).await?;
        if let Some(idempotency) = idempotency {
            match claim(&mut tx, REGISTER_ORGANISATION, idempotency).await? {
                Claim::New => {}
                Claim::Reused => return Err(RegisterError::IdempotencyKeyReused),
                Claim::Replay { position } => {
                    let event = recorded(&mut tx, position).await?;
                    // Ends the transaction, and the key's FOR SHARE lock, before answering,
                    // not whenever the dropped transaction's rollback reaches the server.
                    tx.rollback()
                        .await
                        .map_err(|e| db(e, "cannot end a replay"))?;
                    return match event {
                        Event::OrganisationRegistered(value) => Ok(replayed(value, position)),
                        _ => Err(RegisterError::IdempotencyKeyReused),
                    };
                }
            }
        }
        let orgnr = organisation.orgnr();
        let total = organisation
            .total_shares()
            .map(|t| to_i64(t.get(), "total"))
            .transpose()?;
        let inserted = sqlx::query(
            "INSERT INTO organisations (orgnr, name, postal_code, place, country, total_shares)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(orgnr.as_str())
        .bind(organisation.name().as_str())
        .bind(organisation.postal_code().map(|p| p.as_str()))
        .bind(organisation.place().map(|p| p.as_str()))
        .bind(organisation.country().alpha2())
        .bind(total)
        .execute(&mut *tx)
        .await;
        if let Err(error) = inserted {
            let error = db(error, "cannot insert the organisation");
            return Err(if sqlstate(&error).as_deref() == Some("23505") {
                RegisterError::OrganisationExists(orgnr)
            } else {
                RegisterError::Unknown(error)
            });
        }
        sqlx::query(
            "WITH issuer AS (INSERT INTO company_state (orgnr) VALUES ($1))
             INSERT INTO owner_state (owner_kind, owner_id) VALUES ('organization', $1)",
        )
        .bind(orgnr.as_str())
        .execute(&mut *tx)
        .await
        .map_err(|e| db(e, "cannot insert the organisation's state"))?;
        let position = append(
            &mut tx,
            &Event::OrganisationRegistered(organisation.clone()),
        )
        .await?;
        complete(&mut tx, idempotency, orgnr.as_str(), position).await?;
        commit(tx).await?;
        Ok(Recorded {
            value: organisation.clone(),
            position: Position::new(to_u64(position, "position")?),
            replayed: false,
        })
    }

    async fn register_person_once(
        &self,
        person: &Person,
        idempotency: Option<&Idempotency>,
    ) -> Result<Recorded<Person>, RegisterError> {
        let mut tx = begin(self).await?;
        if let Some(idempotency) = idempotency {
            match claim(&mut tx, REGISTER_PERSON, idempotency).await? {
                Claim::New => {}
                Claim::Reused => return Err(RegisterError::IdempotencyKeyReused),
                Claim::Replay { position } => {
                    let event = recorded(&mut tx, position).await?;
                    // Ends the transaction, and the key's FOR SHARE lock, before answering,
                    // not whenever the dropped transaction's rollback reaches the server.
                    tx.rollback()
                        .await
                        .map_err(|e| db(e, "cannot end a replay"))?;
                    return match event {
                        Event::PersonRegistered(value) => Ok(replayed(value, position)),
                        _ => Err(RegisterError::IdempotencyKeyReused),
                    };
                }
            }
        }
        let id = person.id().as_str();
        let inserted = sqlx::query(
            "INSERT INTO persons (id, name, birth_year, postal_code, place, country)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(id)
        .bind(person.name().as_str())
        .bind(person.birth_year().map(|y| i32::from(y.get())))
        .bind(person.postal_code().map(|p| p.as_str()))
        .bind(person.place().map(|p| p.as_str()))
        .bind(person.country().alpha2())
        .execute(&mut *tx)
        .await;
        if let Err(error) = inserted {
            let error = db(error, "cannot insert the person");
            return Err(if sqlstate(&error).as_deref() == Some("23505") {
                RegisterError::PersonExists(id.to_owned())
            } else {
                RegisterError::Unknown(error)
            });
        }
        sqlx::query("INSERT INTO owner_state (owner_kind, owner_id) VALUES ('person', $1)")
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(|e| db(e, "cannot insert the person's state"))?;
        let position = append(&mut tx, &Event::PersonRegistered(person.clone())).await?;
        complete(&mut tx, idempotency, id, position).await?;
        commit(tx).await?;
        Ok(Recorded {
            value: person.clone(),
            position: Position::new(to_u64(position, "position")?),
            replayed: false,
        })
    }

    #[allow(clippy::too_many_lines)]
    async fn purchase_once(
        &self,
        purchase: &Purchase,
        idempotency: Option<&Idempotency>,
    ) -> Result<Recorded<PurchaseReceipt>, PurchaseError> {
        let mut tx = begin(self).await?;
        if let Some(idempotency) = idempotency {
            match claim(&mut tx, PURCHASE, idempotency).await? {
                Claim::New => {}
                Claim::Reused => return Err(PurchaseError::IdempotencyKeyReused),
                Claim::Replay { position } => {
                    let event = recorded(&mut tx, position).await?;
                    // Ends the transaction, and the key's FOR SHARE lock, before answering,
                    // not whenever the dropped transaction's rollback reaches the server.
                    tx.rollback()
                        .await
                        .map_err(|e| db(e, "cannot end a replay"))?;
                    return match event {
                        Event::SharesPurchased(purchased) => Ok(replayed(
                            PurchaseReceipt {
                                id: purchased.purchase_id,
                                purchase: purchased.purchase,
                            },
                            position,
                        )),
                        _ => Err(PurchaseError::IdempotencyKeyReused),
                    };
                }
            }
        }
        let company = purchase.company();
        let owner = purchase.owner();
        let kind = kind_str(owner);

        // The company's row is locked first: every write to its holdings happens under it, so
        // concurrent purchases of its shares are serialised and never exceed its total.
        // NO KEY UPDATE does not block the foreign-key checks of other transactions.
        let Some(state) = sqlx::query(
            "SELECT o.name, o.total_shares, c.version, c.registered, c.owner_count,
                    c.foreign_owner_count
             FROM company_state c JOIN organisations o ON o.orgnr = c.orgnr
             WHERE c.orgnr = $1
             FOR NO KEY UPDATE OF c",
        )
        .bind(company.as_str())
        .fetch_optional(&mut *tx)
        .await
        .map_err(|e| db(e, "cannot lock the company"))?
        else {
            return Err(PurchaseError::UnknownCompany(company));
        };
        // Its classes only now, in a statement of their own: when the lock above waited for
        // another purchase, PostgreSQL gave it the locked row as that purchase left it, but
        // anything else the same statement read (a subquery on company_classes) still as it
        // was before the wait, so an event could carry the newest registered total with the
        // classes of the purchase before (found by the soak). A new statement reads what every
        // purchase serialised before this one committed.
        let classes = sqlx::query(
            "SELECT array_agg(share_class ORDER BY share_class) AS class_names,
                    array_agg(shares ORDER BY share_class) AS class_shares
             FROM company_classes WHERE company = $1",
        )
        .bind(company.as_str())
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| db(e, "cannot read the company's classes"))?;
        let profile = CompanyProfile {
            orgnr: company,
            name: rows::name(&get::<String>(&state, "name")?)?,
            total_shares: rows::total(get(&state, "total_shares")?)?,
        };
        let company_before = CompanyState {
            version: to_u64(get(&state, "version")?, "version")?,
            registered_shares: to_u64(get(&state, "registered")?, "registered")?,
            owner_count: to_u64(get(&state, "owner_count")?, "owner count")?,
            foreign_owner_count: to_u64(
                get(&state, "foreign_owner_count")?,
                "foreign owner count",
            )?,
            classes: rows::classes(
                get::<Option<Vec<String>>>(&classes, "class_names")?.unwrap_or_default(),
                get::<Option<Vec<i64>>>(&classes, "class_shares")?.unwrap_or_default(),
            )?,
        };

        // Then the owner's state row (always after a company's, so two purchases never wait
        // for each other in a cycle), with its profile and its holding in the company.
        let owner_sql = match owner {
            OwnerRef::Organisation(_) => {
                "SELECT o.name, o.country, NULL::smallint AS birth_year, s.version, s.holding_count,
                        array(SELECT share_class FROM holdings h WHERE h.company = $2
                              AND h.owner_kind = $3 AND h.owner_id = $1 ORDER BY share_class)
                          AS class_names,
                        array(SELECT shares FROM holdings h WHERE h.company = $2
                              AND h.owner_kind = $3 AND h.owner_id = $1 ORDER BY share_class)
                          AS class_shares
                 FROM organisations o
                 JOIN owner_state s ON s.owner_kind = $3 AND s.owner_id = o.orgnr
                 WHERE o.orgnr = $1
                 FOR NO KEY UPDATE OF s"
            }
            OwnerRef::Person(_) => {
                "SELECT p.name, p.country, p.birth_year, s.version, s.holding_count,
                        array(SELECT share_class FROM holdings h WHERE h.company = $2
                              AND h.owner_kind = $3 AND h.owner_id = $1 ORDER BY share_class)
                          AS class_names,
                        array(SELECT shares FROM holdings h WHERE h.company = $2
                              AND h.owner_kind = $3 AND h.owner_id = $1 ORDER BY share_class)
                          AS class_shares
                 FROM persons p
                 JOIN owner_state s ON s.owner_kind = $3 AND s.owner_id = p.id
                 WHERE p.id = $1
                 FOR NO KEY UPDATE OF s"
            }
        };
        let Some(found) = sqlx::query(owner_sql)
            .bind(owner.id())
            .bind(company.as_str())
            .bind(kind)
            .fetch_optional(&mut *tx)
            .await
            .map_err(|e| db(e, "cannot read the owner"))?
        else {
            return Err(PurchaseError::UnknownOwner(owner.clone()));
        };
        let owner_profile = OwnerProfile {
            owner: owner.clone(),
            name: rows::name(&get::<String>(&found, "name")?)?,
            country: rows::country(&get::<String>(&found, "country")?)?,
            birth_year: rows::birth_year(get(&found, "birth_year")?)?,
        };
        let owner_before = OwnerState {
            version: to_u64(get(&found, "version")?, "owner version")?,
            holding_count: to_u64(get(&found, "holding_count")?, "holding count")?,
        };
        let holding_before =
            rows::classes(get(&found, "class_names")?, get(&found, "class_shares")?)?;

        let applied = apply_purchase(
            &profile,
            &company_before,
            &owner_profile,
            &owner_before,
            &holding_before,
            purchase,
        )?;
        let version = to_i64(applied.company_state.version, "version")?;
        let class = purchase.share_class().as_str();

        let upserted = sqlx::query(
            "INSERT INTO holdings (company, owner_kind, owner_id, share_class, shares, version)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (company, owner_kind, owner_id, share_class)
             DO UPDATE SET shares = excluded.shares, version = excluded.version",
        )
        .bind(company.as_str())
        .bind(kind)
        .bind(owner.id())
        .bind(class)
        .bind(to_i64(applied.class_holding, "shares")?)
        .bind(version)
        .execute(&mut *tx)
        .await;
        if let Err(error) = upserted {
            let error = db(error, "cannot record the holding");
            return Err(if sqlstate(&error).as_deref() == Some("23503") {
                if constraint(&error).is_some_and(|c| c.contains("owner")) {
                    PurchaseError::UnknownOwner(owner.clone())
                } else {
                    PurchaseError::UnknownCompany(company)
                }
            } else {
                PurchaseError::Unknown(error)
            });
        }
        // Every class row of the holding carries the holding's version.
        sqlx::query(
            "UPDATE holdings SET version = $4
             WHERE company = $1 AND owner_kind = $2 AND owner_id = $3 AND version <> $4",
        )
        .bind(company.as_str())
        .bind(kind)
        .bind(owner.id())
        .bind(version)
        .execute(&mut *tx)
        .await
        .map_err(|e| db(e, "cannot version the holding"))?;
        sqlx::query(
            "INSERT INTO company_classes (company, share_class, shares) VALUES ($1, $2, $3)
             ON CONFLICT (company, share_class) DO UPDATE SET shares = excluded.shares",
        )
        .bind(company.as_str())
        .bind(class)
        .bind(to_i64(applied.class_company, "shares")?)
        .execute(&mut *tx)
        .await
        .map_err(|e| db(e, "cannot record the company's class"))?;
        let after = &applied.company_state;
        sqlx::query(
            "UPDATE company_state
             SET version = $2, registered = $3, owner_count = $4, foreign_owner_count = $5
             WHERE orgnr = $1",
        )
        .bind(company.as_str())
        .bind(version)
        .bind(to_i64(after.registered_shares, "registered")?)
        .bind(to_i64(after.owner_count, "owner count")?)
        .bind(to_i64(after.foreign_owner_count, "foreign owner count")?)
        .execute(&mut *tx)
        .await
        .map_err(|e| db(e, "cannot update the company's state"))?;
        if applied.owner_state != owner_before {
            sqlx::query(
                "UPDATE owner_state SET version = $3, holding_count = $4
                 WHERE owner_kind = $1 AND owner_id = $2",
            )
            .bind(kind)
            .bind(owner.id())
            .bind(to_i64(applied.owner_state.version, "owner version")?)
            .bind(to_i64(applied.owner_state.holding_count, "holding count")?)
            .execute(&mut *tx)
            .await
            .map_err(|e| db(e, "cannot update the owner's state"))?;
        }

        let purchase_id: i64 = sqlx::query_scalar(
            "INSERT INTO purchases (company, owner_kind, owner_id, share_class, shares)
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(company.as_str())
        .bind(kind)
        .bind(owner.id())
        .bind(class)
        .bind(to_i64(purchase.shares().get(), "shares")?)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| db(e, "cannot record the purchase"))?;
        let id = PurchaseId::new(to_u64(purchase_id, "purchase id")?);
        let event = Event::SharesPurchased(Box::new(applied.event(
            id,
            purchase,
            profile,
            owner_profile,
        )));
        let position = append(&mut tx, &event).await?;
        complete(&mut tx, idempotency, &purchase_id.to_string(), position).await?;
        commit(tx).await?;
        Ok(Recorded {
            value: PurchaseReceipt {
                id,
                purchase: purchase.clone(),
            },
            position: Position::new(to_u64(position, "position")?),
            replayed: false,
        })
    }
}

#[async_trait]
impl WriteStore for PostgresStore {
    async fn register_organisation(
        &self,
        organisation: &Organisation,
        idempotency: Option<Idempotency>,
    ) -> Result<Recorded<Organisation>, RegisterError> {
        retrying!(
            RegisterError::Unknown,
            self.register_organisation_once(organisation, idempotency.as_ref())
                .await
        )
    }

    async fn register_person(
        &self,
        person: &Person,
        idempotency: Option<Idempotency>,
    ) -> Result<Recorded<Person>, RegisterError> {
        retrying!(
            RegisterError::Unknown,
            self.register_person_once(person, idempotency.as_ref())
                .await
        )
    }

    async fn purchase(
        &self,
        purchase: &Purchase,
        idempotency: Option<Idempotency>,
    ) -> Result<Recorded<PurchaseReceipt>, PurchaseError> {
        retrying!(
            PurchaseError::Unknown,
            self.purchase_once(purchase, idempotency.as_ref()).await
        )
    }

    async fn last_position(&self) -> anyhow::Result<Option<Position>> {
        // The outbox's sequence: pruned rows and rolled-back transactions do not lower it.
        let (last, called): (i64, bool) =
            sqlx::query_as("SELECT last_value, is_called FROM outbox_position_seq")
                .fetch_one(&self.pool)
                .await
                .context("reading the outbox's sequence")?;
        Ok(called
            .then(|| to_u64(last, "outbox position"))
            .transpose()?
            .map(Position::new))
    }
}
