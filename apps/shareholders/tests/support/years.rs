//! The register's years on the embedded default: two extracts of the sample, imported as
//! years.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use serde_json::Value;
use shareholders::cli::{ImportArgs, StorageArgs};
use shareholders::commands::import;

use super::sample_path;

/// The sample as 2023, and a 2024 that changes TVIST 1 AS's two holdings, swaps one owner of
/// CANICA INVESTOR AS for another and no longer lists RÅDHUSGATEN 24 AS.
pub fn extracts(dir: &Path) -> (PathBuf, PathBuf) {
    let sample = std::fs::read_to_string(sample_path()).expect("the sample");
    let y2023 = dir.join("aksjeeiebok__2023.csv");
    std::fs::write(&y2023, &sample).expect("write 2023");
    let mut lines: Vec<String> = Vec::new();
    for line in sample.lines() {
        if line.starts_with("992569077;") {
            continue;
        }
        if line.contains("SØRLI NINA CAMILLA HAGEN") {
            lines.push(
                "885648312;CANICA INVESTOR AS;B-aksjer;NORDMANN KARI;1990;0150 OSLO;NOR;36;120"
                    .to_owned(),
            );
            continue;
        }
        lines.push(
            line.replace(
                ";HAGEN STEIN ERIK;1956;0790 OSLO;NOR;3;120",
                ";HAGEN STEIN ERIK;1956;0790 OSLO;NOR;10;120",
            )
            .replace(
                ";KJOS CAROLINE MARIE HAGEN;1984;;CHE;117;120",
                ";KJOS CAROLINE MARIE HAGEN;1984;;CHE;110;120",
            ),
        );
    }
    let y2024 = dir.join("aksjeeiebok__2024.csv");
    std::fs::write(&y2024, lines.join("\n") + "\n").expect("write 2024");
    (y2023, y2024)
}

pub fn owners(body: &Value) -> Vec<(String, u64)> {
    body["owners"]
        .as_array()
        .expect("owners")
        .iter()
        .map(|o| {
            (
                o["owner"]["name"].as_str().expect("name").to_owned(),
                o["shares"].as_u64().expect("shares"),
            )
        })
        .collect()
}

/// Imports `file` as its year (from its name), or as `year`.
pub async fn import_year(storage: &StorageArgs, file: &Path, year: Option<u16>) {
    let code = import(
        storage,
        ImportArgs {
            file: file.to_owned(),
            year: year
                .map(|y| shareholders_domain::RegisterYear::new(i64::from(y)).expect("a year")),
            rejects: None,
            batch: 7,
            no_rebuild: false,
        },
    )
    .await
    .expect("imports");
    assert_eq!(code, ExitCode::SUCCESS);
}
