//! The bulk path for a register extract: `COPY` into a temporary staging table, then a few
//! set-based statements, all in one transaction.

use std::fmt::Write as _;

use anyhow::Context as _;
use async_trait::async_trait;
use futures::stream::{BoxStream, StreamExt};
use shareholders_domain::{OrgNr, Organisation, Position, ShareCount};
use shareholders_ports::{
    ImportReport, RegisterHolder, RegisterImport, RegisterLine, TotalConflict,
};
use sqlx::Row as _;
use sqlx::postgres::{PgConnection, PgPool};

use crate::PostgresStore;
use crate::rows::to_u64;

/// Flush the COPY buffer once it holds this many bytes, so memory stays bounded whatever the
/// batches' size.
const FLUSH_BYTES: usize = 1 << 20;

const STAGING: &str = r#"
CREATE TEMP TABLE import_lines (
    line                bigint NOT NULL,
    company             text COLLATE "C" NOT NULL,
    company_name        text NOT NULL,
    company_postal_code text,
    company_place       text,
    company_country     text NOT NULL,
    company_total       bigint,
    holder_kind         text COLLATE "C" NOT NULL,
    holder_id           text COLLATE "C" NOT NULL,
    holder_name         text NOT NULL,
    holder_birth_year   smallint,
    holder_postal_code  text,
    holder_place        text,
    holder_country      text NOT NULL,
    share_class         text COLLATE "C" NOT NULL,
    shares              bigint NOT NULL
) ON COMMIT DROP"#;

const COPY: &str = "COPY import_lines (line, company, company_name, company_postal_code, \
     company_place, company_country, company_total, holder_kind, holder_id, holder_name, \
     holder_birth_year, holder_postal_code, holder_place, holder_country, share_class, shares) \
     FROM STDIN (FORMAT text)";

/// Appends a value in `COPY`'s text format: `\N` for none, backslash escapes for the
/// separators.
fn field(out: &mut String, value: Option<&str>) {
    match value {
        None => out.push_str("\\N"),
        Some(value) => {
            for c in value.chars() {
                match c {
                    '\\' => out.push_str("\\\\"),
                    '\t' => out.push_str("\\t"),
                    '\n' => out.push_str("\\n"),
                    '\r' => out.push_str("\\r"),
                    c => out.push(c),
                }
            }
        }
    }
}

fn number(out: &mut String, value: Option<u64>) {
    match value {
        None => out.push_str("\\N"),
        Some(value) => {
            let _ = write!(out, "{value}");
        }
    }
}

fn organisation_fields(out: &mut String, organisation: &Organisation) {
    field(out, Some(organisation.name().as_str()));
    out.push('\t');
    field(out, organisation.postal_code().map(|p| p.as_str()));
    out.push('\t');
    field(out, organisation.place().map(|p| p.as_str()));
    out.push('\t');
    field(out, Some(organisation.country().alpha2()));
}

/// One line as a row of `import_lines`.
pub(crate) fn encode_line(out: &mut String, line: &RegisterLine) {
    number(out, Some(line.line));
    out.push('\t');
    field(out, Some(line.company.orgnr().as_str()));
    out.push('\t');
    organisation_fields(out, &line.company);
    out.push('\t');
    number(out, line.company.total_shares().map(ShareCount::get));
    out.push('\t');
    match &line.holder {
        RegisterHolder::Organisation(holder) => {
            out.push_str("organization\t");
            field(out, Some(holder.orgnr().as_str()));
            out.push('\t');
            field(out, Some(holder.name().as_str()));
            out.push_str("\t\\N\t");
            field(out, holder.postal_code().map(|p| p.as_str()));
            out.push('\t');
            field(out, holder.place().map(|p| p.as_str()));
            out.push('\t');
            field(out, Some(holder.country().alpha2()));
        }
        RegisterHolder::Person(holder) => {
            out.push_str("person\t");
            field(out, Some(holder.id().as_str()));
            out.push('\t');
            field(out, Some(holder.name().as_str()));
            out.push('\t');
            number(out, holder.birth_year().map(|y| u64::from(y.get())));
            out.push('\t');
            field(out, holder.postal_code().map(|p| p.as_str()));
            out.push('\t');
            field(out, holder.place().map(|p| p.as_str()));
            out.push('\t');
            field(out, Some(holder.country().alpha2()));
        }
    }
    out.push('\t');
    field(out, Some(line.share_class.as_str()));
    out.push('\t');
    number(out, Some(line.shares.get()));
    out.push('\n');
}

/// The statements that apply the staged lines, in order. Each names what it does for errors.
const APPLY: &[(&str, &str)] = &[
    ("analyse the staged lines", "ANALYZE import_lines"),
    (
        "summarise the listed companies",
        r#"CREATE TEMP TABLE import_companies ON COMMIT DROP AS
           SELECT company AS orgnr,
                  sum(shares)::bigint AS registered,
                  coalesce(array_agg(DISTINCT company_total ORDER BY company_total)
                           FILTER (WHERE company_total IS NOT NULL), '{}') AS declared,
                  greatest(max(company_total), sum(shares)::bigint) AS used
           FROM import_lines GROUP BY company"#,
    ),
    (
        "aggregate the holdings",
        r#"CREATE TEMP TABLE import_holdings ON COMMIT DROP AS
           SELECT company, holder_kind AS owner_kind, holder_id AS owner_id, share_class,
                  sum(shares)::bigint AS shares
           FROM import_lines GROUP BY company, holder_kind, holder_id, share_class"#,
    ),
    (
        "analyse the holdings",
        "ANALYZE import_companies, import_holdings",
    ),
    (
        // Issuers take their profile from their first line as an issuer; organisations that
        // only hold shares take theirs from their first line as a holder.
        "collect the organisations",
        r#"CREATE TEMP TABLE import_organisations ON COMMIT DROP AS
           WITH issuer AS (
               SELECT DISTINCT ON (company) company AS orgnr, company_name AS name,
                      company_postal_code AS postal_code, company_place AS place,
                      company_country AS country
               FROM import_lines ORDER BY company, line
           ), holder AS (
               SELECT DISTINCT ON (holder_id) holder_id AS orgnr, holder_name AS name,
                      holder_postal_code AS postal_code, holder_place AS place,
                      holder_country AS country
               FROM import_lines WHERE holder_kind = 'organization'
               ORDER BY holder_id, line
           )
           SELECT i.orgnr, i.name, i.postal_code, i.place, i.country, c.used AS total_shares
           FROM issuer i JOIN import_companies c ON c.orgnr = i.orgnr
           UNION ALL
           SELECT h.orgnr, h.name, h.postal_code, h.place, h.country, NULL
           FROM holder h
           WHERE NOT EXISTS (SELECT 1 FROM import_companies c WHERE c.orgnr = h.orgnr)"#,
    ),
    (
        "register the new organisations",
        r#"CREATE TEMP TABLE added_organisations ON COMMIT DROP AS
           WITH added AS (
               INSERT INTO organisations (orgnr, name, postal_code, place, country, total_shares)
               SELECT orgnr, name, postal_code, place, country, total_shares
               FROM import_organisations ORDER BY orgnr
               ON CONFLICT (orgnr) DO NOTHING
               RETURNING orgnr
           ) SELECT orgnr FROM added"#,
    ),
    (
        "create the new organisations' issuer state",
        "INSERT INTO company_state (orgnr) SELECT orgnr FROM added_organisations ORDER BY orgnr",
    ),
    (
        "create the new organisations' owner state",
        "INSERT INTO owner_state (owner_kind, owner_id)
         SELECT 'organization', orgnr FROM added_organisations ORDER BY orgnr",
    ),
    (
        "register the new persons",
        r#"CREATE TEMP TABLE added_persons ON COMMIT DROP AS
           WITH added AS (
               INSERT INTO persons (id, name, birth_year, postal_code, place, country)
               SELECT DISTINCT ON (holder_id) holder_id, holder_name, holder_birth_year,
                      holder_postal_code, holder_place, holder_country
               FROM import_lines WHERE holder_kind = 'person'
               ORDER BY holder_id, line
               ON CONFLICT (id) DO NOTHING
               RETURNING id
           ) SELECT id FROM added"#,
    ),
    (
        "create the new persons' owner state",
        "INSERT INTO owner_state (owner_kind, owner_id)
         SELECT 'person', id FROM added_persons ORDER BY id",
    ),
    (
        "set the listed companies' totals",
        r#"CREATE TEMP TABLE total_changed ON COMMIT DROP AS
           WITH changed AS (
               UPDATE organisations o SET total_shares = c.used
               FROM import_companies c
               WHERE o.orgnr = c.orgnr AND o.total_shares IS DISTINCT FROM c.used
               RETURNING o.orgnr
           ) SELECT orgnr FROM changed"#,
    ),
    (
        "find the changed holdings",
        r#"CREATE TEMP TABLE changed_holdings ON COMMIT DROP AS
           SELECT DISTINCT company, owner_kind, owner_id FROM (
               SELECT n.company, n.owner_kind, n.owner_id
               FROM import_holdings n
               LEFT JOIN holdings h
                 ON h.company = n.company AND h.owner_kind = n.owner_kind
                AND h.owner_id = n.owner_id AND h.share_class = n.share_class
               WHERE h.shares IS DISTINCT FROM n.shares
               UNION ALL
               SELECT h.company, h.owner_kind, h.owner_id
               FROM holdings h
               JOIN import_companies c ON c.orgnr = h.company
               LEFT JOIN import_holdings n
                 ON n.company = h.company AND n.owner_kind = h.owner_kind
                AND n.owner_id = h.owner_id AND n.share_class = h.share_class
               WHERE n.company IS NULL
           ) changes"#,
    ),
    (
        "find the changed companies",
        r#"CREATE TEMP TABLE changed_companies ON COMMIT DROP AS
           SELECT company AS orgnr FROM changed_holdings
           UNION
           SELECT orgnr FROM total_changed"#,
    ),
    (
        "analyse the changes",
        "ANALYZE changed_holdings, changed_companies",
    ),
    (
        "remove the changed holdings",
        "DELETE FROM holdings h USING changed_holdings c
         WHERE h.company = c.company AND h.owner_kind = c.owner_kind AND h.owner_id = c.owner_id",
    ),
    (
        "write the changed holdings",
        // The changed companies' versions are read once per company (materialised), not
        // once per holding row: the planner, misled by the three-column join, otherwise
        // probes company_state's index for every row.
        "WITH versions AS MATERIALIZED (
             SELECT s.orgnr, s.version FROM company_state s
             JOIN changed_companies c ON c.orgnr = s.orgnr
         )
         INSERT INTO holdings (company, owner_kind, owner_id, share_class, shares, version)
         SELECT n.company, n.owner_kind, n.owner_id, n.share_class, n.shares, v.version + 1
         FROM import_holdings n
         JOIN changed_holdings c
           ON c.company = n.company AND c.owner_kind = n.owner_kind AND c.owner_id = n.owner_id
         JOIN versions v ON v.orgnr = n.company
         ORDER BY n.company, n.owner_kind, n.owner_id, n.share_class",
    ),
    (
        "remove the changed companies' classes",
        "DELETE FROM company_classes k USING changed_companies c WHERE k.company = c.orgnr",
    ),
    (
        "write the changed companies' classes",
        "INSERT INTO company_classes (company, share_class, shares)
         SELECT n.company, n.share_class, sum(n.shares)::bigint
         FROM import_holdings n JOIN changed_companies c ON c.orgnr = n.company
         GROUP BY n.company, n.share_class",
    ),
    (
        "update the changed companies' state",
        "UPDATE company_state s
         SET version = s.version + 1,
             registered = coalesce(a.registered, 0),
             owner_count = coalesce(a.owners, 0),
             foreign_owner_count = coalesce(a.foreign_owners, 0)
         FROM changed_companies c
         LEFT JOIN (
             SELECT h.company, sum(h.shares)::bigint AS registered, count(*) AS owners,
                    count(*) FILTER (WHERE coalesce(o.country, p.country) <> 'NO')
                        AS foreign_owners
             FROM (
                 SELECT company, owner_kind, owner_id, sum(shares) AS shares
                 FROM import_holdings GROUP BY company, owner_kind, owner_id
             ) h
             LEFT JOIN organisations o ON h.owner_kind = 'organization' AND o.orgnr = h.owner_id
             LEFT JOIN persons p ON h.owner_kind = 'person' AND p.id = h.owner_id
             GROUP BY h.company
         ) a ON a.company = c.orgnr
         WHERE s.orgnr = c.orgnr",
    ),
    (
        "update the changed owners' state",
        "UPDATE owner_state s
         SET holding_count = x.holding_count, version = s.version + 1
         FROM (
             -- One join and two hash aggregates for all the owners (not a count per owner,
             -- nor a count(DISTINCT), which sorts). An owner left without holdings keeps one
             -- row with no company: a count of 0.
             SELECT owner_kind, owner_id, count(company) AS holding_count
             FROM (
                 SELECT DISTINCT a.owner_kind, a.owner_id, h.company
                 FROM (SELECT DISTINCT owner_kind, owner_id FROM changed_holdings) a
                 LEFT JOIN holdings h
                   ON h.owner_kind = a.owner_kind AND h.owner_id = a.owner_id
             ) d
             GROUP BY owner_kind, owner_id
         ) x
         WHERE s.owner_kind = x.owner_kind AND s.owner_id = x.owner_id
           AND s.holding_count <> x.holding_count",
    ),
];

async fn execute(conn: &mut PgConnection, what: &str, sql: &'static str) -> anyhow::Result<u64> {
    Ok(sqlx::raw_sql(sql)
        .execute(&mut *conn)
        .await
        .with_context(|| format!("import: cannot {what}"))?
        .rows_affected())
}

async fn count(conn: &mut PgConnection, sql: &'static str) -> anyhow::Result<u64> {
    let value: i64 = sqlx::query_scalar(sql)
        .fetch_one(&mut *conn)
        .await
        .with_context(|| format!("import: cannot count ({sql})"))?;
    to_u64(value, "count")
}

#[async_trait]
impl RegisterImport for PostgresStore {
    async fn import(
        &self,
        mut lines: BoxStream<'static, Vec<RegisterLine>>,
    ) -> anyhow::Result<ImportReport> {
        let mut tx = self
            .pool
            .begin()
            .await
            .context("import: cannot begin the transaction")?;
        // Room to hash and sort in memory, and no JIT compilation: on these statements it
        // cost more (about 0.35 s each) than it saved. The commit stays synchronous: its flush
        // was measured at about 20 ms, not worth an import that a crash could undo after the
        // read model was rebuilt from it.
        execute(
            &mut tx,
            "set the import's settings",
            "SET LOCAL work_mem = '256MB'; SET LOCAL jit = off",
        )
        .await?;
        execute(&mut tx, "create the staging table", STAGING).await?;

        let mut copy = tx
            .copy_in_raw(COPY)
            .await
            .context("import: cannot start the COPY")?;
        let mut buffer = String::with_capacity(FLUSH_BYTES + 4096);
        let mut staged = 0u64;
        while let Some(batch) = lines.next().await {
            for line in &batch {
                encode_line(&mut buffer, line);
                if buffer.len() >= FLUSH_BYTES {
                    copy.send(buffer.as_bytes())
                        .await
                        .context("import: cannot send lines to COPY")?;
                    buffer.clear();
                }
            }
            staged += batch.len() as u64;
        }
        if !buffer.is_empty() {
            copy.send(buffer.as_bytes())
                .await
                .context("import: cannot send lines to COPY")?;
        }
        drop(buffer);
        let copied = copy.finish().await.context("import: the COPY failed")?;
        tracing::debug!(staged, copied, "register lines staged");

        // From here on the register is changed as a whole: concurrent commands wait (and
        // commands in flight finish first). Locks are taken in one statement, in one order.
        execute(
            &mut tx,
            "lock the write model",
            "LOCK TABLE organisations, persons, company_state, owner_state, holdings,
                        company_classes IN EXCLUSIVE MODE",
        )
        .await?;
        for (what, sql) in APPLY {
            let started = std::time::Instant::now();
            let rows = execute(&mut tx, what, sql).await?;
            tracing::debug!(step = what, rows, elapsed = ?started.elapsed(), "import step");
        }

        let companies = count(&mut tx, "SELECT count(*) FROM import_companies").await?;
        let organisations_added =
            count(&mut tx, "SELECT count(*) FROM added_organisations").await?;
        let persons_added = count(&mut tx, "SELECT count(*) FROM added_persons").await?;
        let holdings = count(
            &mut tx,
            "SELECT count(*) FROM (SELECT DISTINCT company, owner_kind, owner_id
                                   FROM import_holdings) h",
        )
        .await?;
        let conflicts = sqlx::query(
            "SELECT orgnr, declared, registered, used FROM import_companies
             WHERE cardinality(declared) > 1
                OR (cardinality(declared) = 1 AND registered > declared[1])
             ORDER BY orgnr",
        )
        .fetch_all(&mut *tx)
        .await
        .context("import: cannot read the total conflicts")?;
        let total_conflicts = conflicts
            .iter()
            .map(|row| {
                let orgnr: String = row.try_get("orgnr")?;
                let declared: Vec<i64> = row.try_get("declared")?;
                Ok(TotalConflict {
                    company: OrgNr::parse(&orgnr).context("staged orgnr")?,
                    declared: declared
                        .into_iter()
                        .map(|d| to_u64(d, "declared total"))
                        .collect::<anyhow::Result<_>>()?,
                    registered: to_u64(row.try_get("registered")?, "registered")?,
                    used: to_u64(row.try_get("used")?, "used total")?,
                })
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let position: Option<i64> = sqlx::query_scalar("SELECT max(position) FROM outbox")
            .fetch_one(&mut *tx)
            .await
            .context("import: cannot read the last position")?;
        tx.commit()
            .await
            .context("import: cannot commit the transaction")?;
        Ok(ImportReport {
            lines: copied,
            companies,
            organisations_added,
            persons_added,
            holdings,
            total_conflicts,
            position: position
                .map(|p| to_u64(p, "position").map(Position::new))
                .transpose()?,
        })
    }
}

/// `COPY`s the file's lines, each as one text column, into a temporary table of its own.
/// The delimiter and quote are bytes a register extract never holds, so nothing is parsed.
pub(crate) async fn raw_copy_baseline(
    pool: &PgPool,
    path: &std::path::Path,
) -> anyhow::Result<u64> {
    let file = tokio::fs::File::open(path)
        .await
        .with_context(|| format!("cannot open {}", path.display()))?;
    let mut conn = pool.acquire().await.context("baseline: cannot connect")?;
    sqlx::raw_sql(
        "CREATE TEMP TABLE IF NOT EXISTS register_raw (line text); TRUNCATE register_raw",
    )
    .execute(&mut *conn)
    .await
    .context("baseline: cannot create the table")?;
    let statement = "COPY register_raw (line) FROM STDIN \
                     (FORMAT csv, DELIMITER E'\\x01', QUOTE E'\\x02')";
    let mut copy = conn
        .copy_in_raw(statement)
        .await
        .context("baseline: cannot start the COPY")?;
    copy.read_from(file)
        .await
        .with_context(|| format!("baseline: cannot copy {}", path.display()))?;
    let rows = copy.finish().await.context("baseline: the COPY failed")?;
    sqlx::raw_sql("DROP TABLE register_raw")
        .execute(&mut *conn)
        .await
        .context("baseline: cannot drop the table")?;
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::field;
    use rstest::rstest;

    #[rstest]
    #[case(None, "\\N")]
    #[case(Some("HAGEN STEIN"), "HAGEN STEIN")]
    #[case(Some("a\\b"), "a\\\\b")]
    #[case(Some("a\tb\nc\rd"), "a\\tb\\nc\\rd")]
    #[case(Some("\\N"), "\\\\N")]
    fn copy_fields_are_escaped(#[case] value: Option<&str>, #[case] expected: &str) {
        let mut out = String::new();
        field(&mut out, value);
        assert_eq!(out, expected);
    }
}
