//! Moving the live register to a newly imported year.

use anyhow::Context as _;
use shareholders_domain::RegisterYear;
use sqlx::AssertSqlSafe;
use sqlx::postgres::PgConnection;

use crate::rows::to_u64;

/// A key, index or foreign key of the live tables that the move sets aside while it rewrites
/// every row, and builds again once from the written rows: inserting 3 million holdings into
/// their two indexes took 23.2 s, inserting them bare and building both after 9.9 s, and a
/// foreign key validated once is one join instead of a lookup a row. Each is created again
/// exactly as the migrations made it, in the same transaction, so a failed move leaves them
/// as they were. Dropped in this order, created again in the reverse one.
enum SetAside {
    Constraint {
        table: &'static str,
        name: &'static str,
        definition: &'static str,
    },
    Index {
        table: &'static str,
        name: &'static str,
        columns: &'static str,
    },
}

const SET_ASIDE: &[SetAside] = &[
    SetAside::Constraint {
        table: "company_classes",
        name: "company_classes_company_fkey",
        definition: "FOREIGN KEY (company) REFERENCES company_state (orgnr)",
    },
    SetAside::Constraint {
        table: "company_classes",
        name: "company_classes_pkey",
        definition: "PRIMARY KEY (company, share_class)",
    },
    SetAside::Constraint {
        table: "company_state",
        name: "company_state_orgnr_fkey",
        definition: "FOREIGN KEY (orgnr) REFERENCES organisations (orgnr)",
    },
    SetAside::Constraint {
        table: "company_state",
        name: "company_state_pkey",
        definition: "PRIMARY KEY (orgnr)",
    },
    SetAside::Constraint {
        table: "owner_state",
        name: "owner_state_pkey",
        definition: "PRIMARY KEY (owner_kind, owner_id)",
    },
    SetAside::Index {
        table: "holdings",
        name: "holdings_by_owner",
        columns: "owner_kind, owner_id, company",
    },
    SetAside::Constraint {
        table: "holdings",
        name: "holdings_pkey",
        definition: "PRIMARY KEY (company, owner_kind, owner_id, share_class)",
    },
];

impl SetAside {
    fn drop(&self) -> String {
        match self {
            Self::Constraint { table, name, .. } => {
                format!("ALTER TABLE {table} DROP CONSTRAINT {name}")
            }
            Self::Index { name, .. } => format!("DROP INDEX {name}"),
        }
    }

    fn create(&self) -> String {
        match self {
            Self::Constraint {
                table,
                name,
                definition,
            } => format!("ALTER TABLE {table} ADD CONSTRAINT {name} {definition}"),
            Self::Index {
                table,
                name,
                columns,
            } => format!("CREATE INDEX {name} ON {table} ({columns})"),
        }
    }
}

/// The statements that add the year `$1`'s organisations and persons to the live register
/// and empty its state. Organisations and persons are never removed (the API may have
/// registered them, and events name them): they are added, and take the year's profile. Only
/// the rows that differ reach the upsert: a hash join finds them, where the upsert would look
/// each of a million persons up in the primary key (7.0 s against 1.4 s).
const PREPARE: &[(&str, &str)] = &[
    (
        "lock the live register",
        "LOCK TABLE organisations, persons, company_state, owner_state, holdings,
                    company_classes IN EXCLUSIVE MODE",
    ),
    (
        "add and update the year's organisations",
        "INSERT INTO organisations (orgnr, name, postal_code, place, country, total_shares)
         SELECT y.orgnr, y.name, y.postal_code, y.place, y.country, y.total_shares
         FROM year_organisations y
         LEFT JOIN organisations o ON o.orgnr = y.orgnr
         WHERE y.year = $1
           AND (o.orgnr IS NULL
                OR (o.name, o.postal_code, o.place, o.country, o.total_shares)
                   IS DISTINCT FROM
                   (y.name, y.postal_code, y.place, y.country,
                    coalesce(y.total_shares, o.total_shares)))
         ON CONFLICT (orgnr) DO UPDATE
         SET name = excluded.name, postal_code = excluded.postal_code,
             place = excluded.place, country = excluded.country,
             total_shares = coalesce(excluded.total_shares, organisations.total_shares)",
    ),
    (
        "add and update the year's persons",
        "INSERT INTO persons (id, name, birth_year, postal_code, place, country)
         SELECT y.id, y.name, y.birth_year, y.postal_code, y.place, y.country
         FROM year_persons y
         LEFT JOIN persons p ON p.id = y.id
         WHERE y.year = $1
           AND (p.id IS NULL
                OR (p.name, p.birth_year, p.postal_code, p.place, p.country)
                   IS DISTINCT FROM
                   (y.name, y.birth_year, y.postal_code, y.place, y.country))
         ON CONFLICT (id) DO UPDATE
         SET name = excluded.name, birth_year = excluded.birth_year,
             postal_code = excluded.postal_code, place = excluded.place,
             country = excluded.country",
    ),
    (
        "empty the live state",
        "TRUNCATE company_state, owner_state, holdings, company_classes",
    ),
];

/// The statements that write the live state of year `$1`, every live company and owner at
/// version `$2`, into the emptied tables while their keys are set aside.
const WRITE: &[(&str, &str)] = &[
    (
        "write the companies' state",
        "INSERT INTO company_state (orgnr, version, registered, owner_count, foreign_owner_count)
         SELECT o.orgnr, $2, coalesce(y.registered, 0), coalesce(y.owner_count, 0),
                coalesce(y.foreign_owner_count, 0)
         FROM organisations o
         LEFT JOIN year_organisations y ON y.year = $1 AND y.orgnr = o.orgnr",
    ),
    (
        "write the owners' state",
        "INSERT INTO owner_state (owner_kind, owner_id, version, holding_count)
         SELECT 'organization', o.orgnr, $2, coalesce(c.holding_count, 0)
         FROM organisations o
         LEFT JOIN year_holding_counts c
           ON c.year = $1 AND c.owner_kind = 'organization' AND c.owner_id = o.orgnr
         UNION ALL
         SELECT 'person', p.id, $2, coalesce(c.holding_count, 0)
         FROM persons p
         LEFT JOIN year_holding_counts c
           ON c.year = $1 AND c.owner_kind = 'person' AND c.owner_id = p.id",
    ),
    (
        "write the holdings",
        "INSERT INTO holdings (company, owner_kind, owner_id, share_class, shares, version)
         SELECT company, owner_kind, owner_id, share_class, shares, $2
         FROM year_holdings WHERE year = $1",
    ),
    (
        "write the companies' classes",
        "INSERT INTO company_classes (company, share_class, shares)
         SELECT y.orgnr, c.share_class, c.shares
         FROM year_organisations y
         CROSS JOIN LATERAL unnest(y.class_names, y.class_shares) AS c(share_class, shares)
         WHERE y.year = $1",
    ),
];

/// What moving the live register did.
#[derive(Clone, Copy, Debug)]
pub(super) struct Moved {
    /// API purchases recorded since the previous move.
    pub superseded: u64,
}

/// Replaces the live register by `year`'s rows, in the caller's transaction.
pub(super) async fn move_to(conn: &mut PgConnection, year: RegisterYear) -> anyhow::Result<Moved> {
    let year_value = i16::try_from(year.get())?;
    let (purchases_before, last_purchase): (i64, i64) = sqlx::query_as(
        "SELECT coalesce((SELECT purchases_before FROM live_register), 0),
                coalesce((SELECT max(id) FROM purchases), 0)",
    )
    .fetch_one(&mut *conn)
    .await
    .context("import: cannot read the live register's base")?;
    let superseded: i64 = sqlx::query_scalar("SELECT count(*) FROM purchases WHERE id > $1")
        .bind(purchases_before)
        .fetch_one(&mut *conn)
        .await
        .context("import: cannot count the live changes")?;
    // Past every version the live register ever had, so that the read model rebuilt from it
    // wins over any older event still in flight.
    let floor: i64 = sqlx::query_scalar(
        "SELECT 1 + greatest((SELECT coalesce(max(version), 0) FROM company_state),
                             (SELECT coalesce(max(version), 0) FROM owner_state),
                             (SELECT coalesce(max(version_floor), 0) FROM live_register))",
    )
    .fetch_one(&mut *conn)
    .await
    .context("import: cannot read the live versions")?;
    for (what, sql) in PREPARE {
        step(conn, what, sql, year_value, floor).await?;
    }
    for key in SET_ASIDE {
        step(
            conn,
            "set the live keys aside",
            &key.drop(),
            year_value,
            floor,
        )
        .await?;
    }
    for (what, sql) in WRITE {
        step(conn, what, sql, year_value, floor).await?;
    }
    for key in SET_ASIDE.iter().rev() {
        step(
            conn,
            "build the live keys",
            &key.create(),
            year_value,
            floor,
        )
        .await?;
    }
    sqlx::query(
        "INSERT INTO live_register (year, purchases_before, version_floor) VALUES ($1, $2, $3)
         ON CONFLICT (id) DO UPDATE
         SET year = excluded.year, purchases_before = excluded.purchases_before,
             version_floor = excluded.version_floor",
    )
    .bind(year_value)
    .bind(last_purchase)
    .bind(floor)
    .execute(&mut *conn)
    .await
    .context("import: cannot record the live register's base")?;
    Ok(Moved {
        superseded: to_u64(superseded, "count")?,
    })
}

/// Runs one statement of the move, binding the year (`$1`) and the version (`$2`) where it
/// uses them.
async fn step(
    conn: &mut PgConnection,
    what: &str,
    sql: &str,
    year: i16,
    floor: i64,
) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let (takes_floor, takes_year) = (sql.contains("$2"), sql.contains("$1"));
    // Built from the constants above only.
    let query = sqlx::query(AssertSqlSafe(sql.to_owned()));
    let query = if takes_floor {
        query.bind(year).bind(floor)
    } else if takes_year {
        query.bind(year)
    } else {
        query
    };
    let rows = query
        .persistent(false)
        .execute(&mut *conn)
        .await
        .with_context(|| format!("import: cannot {what}"))?
        .rows_affected();
    tracing::debug!(step = what, rows, elapsed = ?started.elapsed(), "live register moved");
    Ok(())
}
