//! `export-bods`: the whole register as Beneficial Ownership Data Standard 0.4 statements,
//! streamed to a file a statement at a time.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use futures::TryStreamExt;
use shareholders_domain::Register;
use shareholders_http::bods::{company_ownership, publication, relationships};
use shareholders_http::dto::bods::{EntityFacts, PersonFacts, PublicationOut, StatementOut};
use shareholders_ports::{GraphLimits, Service, Snapshot, StakesInMemory};

use crate::cli::{ExportBodsArgs, StorageArgs};
use crate::commands::Counter;
use crate::stack::Stack;

/// A JSON array written an element at a time.
struct StatementFile {
    out: BufWriter<File>,
    written: u64,
}

impl StatementFile {
    fn create(path: &Path) -> anyhow::Result<Self> {
        let file = File::create(path).with_context(|| format!("creating {}", path.display()))?;
        let mut out = BufWriter::with_capacity(1 << 20, file);
        out.write_all(b"[")?;
        Ok(Self { out, written: 0 })
    }

    fn write(&mut self, statement: &StatementOut) -> anyhow::Result<()> {
        self.out
            .write_all(if self.written == 0 { b"\n" } else { b",\n" })?;
        serde_json::to_writer(&mut self.out, statement)?;
        self.written += 1;
        Ok(())
    }

    fn finish(mut self) -> anyhow::Result<()> {
        self.out.write_all(b"\n]\n")?;
        let file = self
            .out
            .into_inner()
            .map_err(std::io::IntoInnerError::into_error)?;
        file.sync_all()?;
        Ok(())
    }
}

/// `FILE.partial`, where the export is written until it is complete.
fn partial(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_os_string();
    name.push(".partial");
    PathBuf::from(name)
}

/// How many statements of each kind were written.
#[derive(Clone, Copy, Debug, Default)]
struct Written {
    entities: u64,
    persons: u64,
    relationships: u64,
}

/// Every organisation's statement, then every person's, then each company's relationships,
/// computed by `graph` (whose live register is the register exported), into `path`.
async fn write_statements(
    graph: &Service,
    snapshot: &dyn Snapshot,
    publication: &PublicationOut,
    path: &Path,
) -> anyhow::Result<Written> {
    let mut file = StatementFile::create(path)?;
    let counter = Counter::new("writing BODS statements");
    let mut written = Written::default();
    let mut companies = snapshot.companies();
    while let Some(company) = companies.try_next().await? {
        file.write(&StatementOut::entity(
            &EntityFacts::from(&company.record),
            publication,
        ))?;
        written.entities += 1;
        counter.set(file.written);
    }
    drop(companies);
    let mut persons = snapshot.persons();
    while let Some(person) = persons.try_next().await? {
        file.write(&StatementOut::person(
            &PersonFacts::from(&person.record.person),
            publication,
        ))?;
        written.persons += 1;
        counter.set(file.written);
    }
    drop(persons);
    // The companies again, each with its owners and beneficial owners computed on the held
    // register.
    let mut companies = snapshot.companies();
    while let Some(company) = companies.try_next().await? {
        if company.record.owner_count == 0 {
            continue;
        }
        let orgnr = company.record.organisation.orgnr();
        let Some(ownership) = company_ownership(graph, Register::Live, orgnr, None).await? else {
            continue;
        };
        for statement in relationships(&ownership, publication) {
            file.write(&statement)?;
            written.relationships += 1;
        }
        counter.set(file.written);
    }
    drop(companies);
    file.finish()?;
    counter.finish();
    Ok(written)
}

/// `export-bods`: every organisation's statement, then every person's, then each company's
/// relationships (see `shareholders_http::bods`), of the register asked for. The register's
/// holdings are held in memory first (as `serve` holds the live register), so each company's
/// network above it is computed on them rather than read from the read model a level at a
/// time; its statements are written as they are computed.
///
/// # Errors
/// When the year was not imported, a store fails or the file cannot be written (the file is
/// then left as it was).
pub async fn export_bods(storage: &StorageArgs, args: ExportBodsArgs) -> anyhow::Result<ExitCode> {
    let stack = Stack::connect(storage).await?;
    let register = args.year.map_or(Register::Live, Register::Year);
    let not_imported = |year| format!("the register of {year} has not been imported");
    let (read, snapshot, held_snapshot) = match args.year {
        None => (
            stack.read_store(),
            stack.read_snapshot(),
            stack.read_snapshot(),
        ),
        Some(year) => {
            let years = stack.year_read_model();
            let read = stack
                .read_store()
                .year(year)
                .await?
                .with_context(|| not_imported(year))?;
            let snapshot = years
                .year_snapshot(year)
                .await?
                .with_context(|| not_imported(year))?;
            let held_snapshot = years
                .year_snapshot(year)
                .await?
                .with_context(|| not_imported(year))?;
            (read, snapshot, held_snapshot)
        }
    };
    let held = StakesInMemory::unchanging(read, held_snapshot);
    let loading = Instant::now();
    let holdings = held.load().await?.unwrap_or_default();
    eprintln!(
        "holding the register's {holdings} holdings in memory took {:.1} s",
        loading.elapsed().as_secs_f64()
    );
    // The held register is the graph's, and read as the live register is. An export computes
    // any company's beneficial owners, however many stakes are above it, instead of refusing
    // it as an API request would be.
    let graph = Service::with_graph_limits(
        stack.write_store(),
        Arc::new(held),
        GraphLimits {
            budget: usize::MAX,
            stakes: usize::MAX,
            ..GraphLimits::default()
        },
    );
    let service = stack.service();
    let publication = publication(&service, register).await?;
    let started = Instant::now();
    let partial = partial(&args.out);
    let written = match write_statements(&graph, snapshot.as_ref(), &publication, &partial).await {
        Ok(written) => written,
        Err(error) => {
            let _ = std::fs::remove_file(&partial);
            return Err(error);
        }
    };
    std::fs::rename(&partial, &args.out)
        .with_context(|| format!("renaming {} to {}", partial.display(), args.out.display()))?;
    let what = match register {
        Register::Live => "the live register".to_owned(),
        Register::Year(year) => format!("the register of {year}"),
    };
    println!(
        "wrote {} BODS 0.4 statements of {what} to {} ({} entities, {} persons, {} \
         relationships) in {:.1} s",
        written.entities + written.persons + written.relationships,
        args.out.display(),
        written.entities,
        written.persons,
        written.relationships,
        started.elapsed().as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}
