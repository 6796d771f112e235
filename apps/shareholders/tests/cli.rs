//! The binary's subcommands, run as a user would run them, on the embedded default.

mod support;

use std::process::Command;

fn shareholders(dir: &std::path::Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_shareholders"));
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("SHAREHOLDERS_DATA_DIR", dir)
        .env("RUST_LOG", "warn");
    command
}

fn run(command: &mut Command) -> (i32, String, String) {
    let output = command.output().expect("the binary runs");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn help_documents_every_subcommand_and_the_storage_options() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (code, help, _) = run(shareholders(dir.path()).arg("--help"));
    assert_eq!(code, 0);
    for word in [
        "serve",
        "migrate",
        "relay",
        "project",
        "verify",
        "rebuild",
        "import",
        "generate",
        "--data-dir",
        "SHAREHOLDERS_DATA_DIR",
        "SHAREHOLDERS_DATABASE_URL",
        "SHAREHOLDERS_AMQP_URL",
        "SHAREHOLDERS_MONGODB_URI",
    ] {
        assert!(help.contains(word), "--help lacks {word}:\n{help}");
    }
    let (code, help, _) = run(shareholders(dir.path()).args(["serve", "--help"]));
    assert_eq!(code, 0);
    assert!(
        help.contains("SHAREHOLDERS_LISTEN") && help.contains("SHAREHOLDERS_API_TOKENS"),
        "{help}"
    );
}

#[test]
fn generate_import_verify_and_reimport_on_the_embedded_default() {
    let dir = tempfile::tempdir().expect("tempdir");
    let extract = dir.path().join("aksjeeiebok__2024_07052025.csv");
    let (code, _, stderr) = run(shareholders(dir.path())
        .args(["generate", "--rows", "3000", "--seed", "5", "--out"])
        .arg(&extract));
    assert_eq!(code, 0, "{stderr}");

    let (code, stdout, stderr) = run(shareholders(dir.path()).arg("import").arg(&extract));
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("imported 3000 of 3000 lines"), "{stdout}");
    assert!(stdout.contains("none rejected"), "{stdout}");
    assert!(
        stdout.contains("as 2024") && stdout.contains("the live register is now 2024"),
        "the year comes from the file name: {stdout}"
    );
    assert!(stdout.contains("read model built"), "{stdout}");

    let (code, stdout, stderr) = run(shareholders(dir.path()).arg("verify"));
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("0 difference(s)"), "{stdout}");

    // The same file again replaces 2024 with itself.
    let (code, stdout, stderr) = run(shareholders(dir.path()).arg("import").arg(&extract));
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("imported 3000 of 3000 lines") && stdout.contains("0 live change(s)"),
        "{stdout}"
    );
    let (code, stdout, _) = run(shareholders(dir.path()).arg("verify"));
    assert_eq!(code, 0, "{stdout}");

    // An older year, imported after: the live register stays on 2024.
    let older = dir.path().join("older.csv");
    let (code, _, stderr) = run(shareholders(dir.path())
        .args(["generate", "--rows", "500", "--seed", "6", "--out"])
        .arg(&older));
    assert_eq!(code, 0, "{stderr}");
    let (code, stdout, stderr) = run(shareholders(dir.path())
        .arg("import")
        .arg(&older)
        .args(["--year", "2023"]));
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("as 2023") && stdout.contains("stays on a newer year"),
        "{stdout}"
    );
    let (code, stdout, _) = run(shareholders(dir.path()).arg("verify"));
    assert_eq!(code, 0, "{stdout}");

    let (code, stdout, stderr) = run(shareholders(dir.path()).args(["rebuild"]));
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("rebuilt the read model"), "{stdout}");
}

#[test]
fn the_real_sample_imports_and_bad_lines_are_reported() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sample = std::fs::read_to_string(support::sample_path()).expect("sample");
    let extract = dir.path().join("extract.csv");
    // Two lines no one can understand, among the 20 real ones.
    std::fs::write(&extract, format!("{sample}123456789;BAD AS;A-aksjer;X;1970;;NOR;1;1\n988844322;TVIST 1 AS;A-aksjer;Y;1970;;NOR;many;120\n"))
        .expect("write");
    let rejects = dir.path().join("rejects.tsv");

    let (code, _, stderr) = run(shareholders(dir.path()).arg("import").arg(&extract));
    assert_ne!(code, 0, "no year in the file name and none given");
    assert!(stderr.contains("year"), "{stderr}");

    let (code, stdout, stderr) = run(shareholders(dir.path())
        .arg("import")
        .arg(&extract)
        .args(["--year", "2024", "--rejects"])
        .arg(&rejects));
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("imported 20 of 22 lines") && stdout.contains("2 rejected"),
        "{stdout}"
    );
    let report = std::fs::read_to_string(&rejects).expect("rejects file");
    assert!(
        report.contains("21;") && report.contains("22;"),
        "line numbers in {report}"
    );
    let (code, stdout, _) = run(shareholders(dir.path()).arg("verify"));
    assert_eq!(code, 0, "{stdout}");
}

#[test]
fn project_without_a_broker_says_what_to_configure() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (code, _, stderr) = run(shareholders(dir.path()).arg("project"));
    assert_ne!(code, 0);
    assert!(stderr.contains("SHAREHOLDERS_AMQP_URL"), "{stderr}");
}

#[test]
fn a_generated_series_imports_in_any_order_and_links_movers() {
    let dir = tempfile::tempdir().expect("tempdir");
    let series = dir.path().join("series");
    let (code, stdout, stderr) = run(shareholders(dir.path())
        .args([
            "generate",
            "--rows",
            "4000",
            "--seed",
            "9",
            "--years",
            "2019..2021",
            "--out",
        ])
        .arg(&series));
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout.lines().count(), 3, "{stdout}");
    let mut linked = 0;
    for year in [2021, 2019, 2020] {
        let file = series.join(format!("aksjeeiebok__{year}.csv"));
        let (code, stdout, stderr) = run(shareholders(dir.path()).arg("import").arg(&file));
        assert_eq!(code, 0, "{stderr}");
        assert!(stdout.contains(&format!("as {year}")), "{stdout}");
        assert_eq!(
            stdout.contains("the live register is now 2021"),
            year == 2021,
            "only 2021 moves the live register: {stdout}"
        );
        let count = stdout
            .split(" persons linked")
            .next()
            .and_then(|head| head.rsplit(' ').next())
            .and_then(|n| n.parse::<u64>().ok())
            .expect("a count of persons linked");
        linked += count;
    }
    assert!(linked > 0, "movers are linked across the series");
    let (code, stdout, _) = run(shareholders(dir.path()).arg("verify"));
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.contains("3 imported year(s)"), "{stdout}");
}

#[test]
fn verify_names_a_corrupted_field_live_and_by_year_and_rebuild_repairs_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let extract = dir.path().join("aksjeeiebok__2024.csv");
    std::fs::copy(support::sample_path(), &extract).expect("copy the sample");
    let (code, _, stderr) = run(shareholders(dir.path()).arg("import").arg(&extract));
    assert_eq!(code, 0, "{stderr}");
    let corrupt = |sql: &str| {
        let runtime = tokio::runtime::Runtime::new().expect("runtime");
        runtime.block_on(support::corrupt_sqlite(dir.path(), sql));
    };
    // HAGEN STEIN ERIK's 3 shares in TVIST 1 AS, said to be 1000: live, and in 2024's tables.
    corrupt("UPDATE read_holdings SET shares = 1000 WHERE company = '988844322' AND shares = 3");
    corrupt("UPDATE {year} SET shares = 1000 WHERE company = '988844322' AND shares = 3");
    let (code, stdout, _) = run(shareholders(dir.path()).args(["verify", "--json"]));
    assert_eq!(code, 1, "{stdout}");
    let report: serde_json::Value = serde_json::from_str(&stdout).expect("one JSON object");
    assert_eq!(report["total"], 2, "{report}");
    assert_eq!(report["counts"]["holding"], 2, "{report}");
    let keys: Vec<(&str, &str)> = report["differences"]
        .as_array()
        .expect("differences")
        .iter()
        .map(|d| {
            (
                d["key"].as_str().unwrap_or(""),
                d["field"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(keys.len(), 2, "{report}");
    assert!(keys.iter().all(|(_, field)| *field == "shares"), "{report}");
    assert!(
        keys.iter()
            .any(|(key, _)| key.starts_with("988844322/person/")),
        "{report}"
    );
    assert!(
        keys.iter()
            .any(|(key, _)| key.starts_with("2024/988844322/person/")),
        "{report}"
    );
    let (code, stdout, _) = run(shareholders(dir.path()).arg("verify"));
    assert_eq!(code, 1);
    assert!(stdout.contains("2 holding difference(s)"), "{stdout}");
    let (code, _, stderr) = run(shareholders(dir.path()).arg("rebuild"));
    assert_eq!(code, 0, "{stderr}");
    let (code, stdout, _) = run(shareholders(dir.path()).arg("verify"));
    assert_eq!(code, 0, "{stdout}");
}

/// An extract in a read-only folder imports: its rejects go to the data directory (or to
/// `--rejects`), never next to it, and an import that rejects nothing writes no rejects file.
/// Tests may run as root, whom permissions do not stop, so what is checked is that nothing is
/// written into the folder.
#[cfg(unix)]
#[test]
fn an_extract_in_a_read_only_folder_imports_with_its_rejects_in_the_data_directory() {
    use std::os::unix::fs::PermissionsExt;

    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let incoming = dir.path().join("incoming");
    std::fs::create_dir(&incoming).expect("mkdir");
    let sample = std::fs::read_to_string(support::sample_path()).expect("sample");
    let clean = incoming.join("aksjeeiebok__2023_07052024.csv");
    std::fs::write(&clean, &sample).expect("write");
    let with_reject = incoming.join("aksjeeiebok__2024_07052025.csv");
    std::fs::write(
        &with_reject,
        format!("{sample}988844322;TVIST 1 AS;A-aksjer;Y;1970;;NOR;many;120\n"),
    )
    .expect("write");
    std::fs::set_permissions(&incoming, std::fs::Permissions::from_mode(0o555)).expect("chmod");
    let listing = |path: &std::path::Path| -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(path)
            .map(|entries| {
                entries
                    .map(|entry| {
                        entry
                            .expect("entry")
                            .file_name()
                            .to_string_lossy()
                            .into_owned()
                    })
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    };

    let (code, stdout, stderr) = run(shareholders(&data).arg("import").arg(&clean));
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("imported 20 of 20 lines") && stdout.contains("none rejected"),
        "{stdout}"
    );
    assert!(
        !listing(&data).iter().any(|name| name.contains("rejects")),
        "no rejects file: {:?}",
        listing(&data)
    );

    let (code, stdout, stderr) = run(shareholders(&data).arg("import").arg(&with_reject));
    assert_eq!(code, 0, "{stderr}");
    let default = data.join("aksjeeiebok__2024_07052025.csv.rejects.tsv");
    assert!(
        stdout.contains(&format!("1 rejected, see {}", default.display())),
        "{stdout}"
    );
    let report = std::fs::read_to_string(&default).expect("rejects in the data directory");
    assert!(report.contains("21;share count \"many\""), "{report}");

    let elsewhere = dir.path().join("rejects.tsv");
    let (code, stdout, stderr) = run(shareholders(&data)
        .arg("import")
        .arg(&with_reject)
        .arg("--rejects")
        .arg(&elsewhere));
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains(&format!("1 rejected, see {}", elsewhere.display())),
        "{stdout}"
    );
    assert_eq!(
        std::fs::read_to_string(&elsewhere).expect("rejects where asked"),
        report
    );

    assert_eq!(
        listing(&incoming),
        [
            "aksjeeiebok__2023_07052024.csv",
            "aksjeeiebok__2024_07052025.csv"
        ],
        "nothing written next to the extracts"
    );
    std::fs::set_permissions(&incoming, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}
