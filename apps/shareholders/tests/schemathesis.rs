//! The served API against a property-based fuzzer: schemathesis (PyPI, pinned in
//! `scripts/test`) reads `/api/openapi.json` and runs every check but positive-data acceptance
//! (MOD11 check digits cannot be said in JSON Schema, so valid-looking data is refused by
//! design) through its examples, coverage, fuzzing and stateful phases, with a write token.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

/// The seed, so a failure can be replayed; `SHAREHOLDERS_SCHEMATHESIS_SEED` overrides it.
const SEED: &str = "20261126";

#[test]
fn schemathesis_finds_no_failure_in_any_phase() {
    let dir = tempfile::tempdir().expect("tempdir");
    let token = "fuzz-write-token";
    let mut server = Command::new(env!("CARGO_BIN_EXE_shareholders"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("RUST_LOG", "warn")
        .env("SHAREHOLDERS_DATA_DIR", dir.path())
        .env("SHAREHOLDERS_API_TOKENS", token)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let mut stdout = BufReader::new(server.stdout.take().expect("stdout"));
    let mut line = String::new();
    stdout.read_line(&mut line).expect("the listening line");
    let base = line
        .trim()
        .rsplit(' ')
        .next()
        .expect("an address")
        .to_owned();
    assert!(base.starts_with("http://127.0.0.1:"), "{line}");

    let seed = std::env::var("SHAREHOLDERS_SCHEMATHESIS_SEED").unwrap_or_else(|_| SEED.into());
    let run = Command::new("schemathesis")
        // Its reports and cache go to the test's folder, not the source tree.
        .current_dir(dir.path())
        .env("NO_COLOR", "1")
        .args(["run", &format!("{base}/api/openapi.json"), "--url", &base])
        .args(["-H", &format!("Authorization: Bearer {token}")])
        .args([
            "--checks",
            "all",
            "--exclude-checks",
            "positive_data_acceptance",
        ])
        .args(["--seed", &seed])
        .output()
        .expect("schemathesis (PyPI, pinned; scripts/test installs it)");
    let _ = server.kill();
    let _ = server.wait();
    let report = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "schemathesis found failures (seed {seed}):\n{report}\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    // It ran, and ran every phase: a run that tested nothing would also exit 0.
    for phase in ["Examples", "Coverage", "Fuzzing", "Stateful"] {
        assert!(
            report
                .lines()
                .any(|line| line.contains('✅') && line.contains(&format!("{phase} ("))),
            "{phase} did not pass:\n{report}"
        );
    }
    let generated = report
        .lines()
        .find_map(|line| {
            let (count, rest) = line.trim().split_once(" generated, ")?;
            rest.ends_with("passed")
                .then(|| count.parse::<u64>().ok())?
        })
        .unwrap_or_else(|| panic!("no test-case summary in:\n{report}"));
    assert!(generated >= 1000, "only {generated} cases:\n{report}");
}
