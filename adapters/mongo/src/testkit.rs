//! The test server (feature `testkit`): the MongoDB at `SHAREHOLDERS_TEST_MONGODB_URI`, or a
//! SecantusDB (a MongoDB-wire server) started once per test binary by
//! `scripts/mongo-test-server`, run as a process of its own.

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::OnceLock;

/// The test server's URI. A server this starts is stopped, and its data removed, by a watchdog
/// shell once the test binary has exited.
///
/// # Panics
/// When the script fails or prints something else than `pid datadir uri`.
pub fn server_uri() -> &'static str {
    static URI: OnceLock<String> = OnceLock::new();
    URI.get_or_init(|| {
        std::env::var("SHAREHOLDERS_TEST_MONGODB_URI")
            .ok()
            .filter(|uri| !uri.trim().is_empty())
            .unwrap_or_else(start_server)
    })
}

fn start_server() -> String {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/mongo-test-server");
    let output = Command::new(&script)
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .expect("running scripts/mongo-test-server");
    assert!(output.status.success(), "scripts/mongo-test-server failed");
    let text = String::from_utf8(output.stdout).expect("UTF-8 output");
    let mut parts = text.split_whitespace();
    let (Some(pid), Some(data), Some(uri)) = (parts.next(), parts.next(), parts.next()) else {
        panic!("unexpected output of scripts/mongo-test-server: {text:?}");
    };
    assert!(pid.bytes().all(|b| b.is_ascii_digit()), "pid {pid:?}");
    let me = std::process::id();
    // The watchdog outlives this process by design: it is never waited for.
    #[allow(clippy::zombie_processes)]
    Command::new("sh")
        .arg("-c")
        .arg(format!(
            "while kill -0 {me} 2>/dev/null; do sleep 1; done; kill {pid} 2>/dev/null; \
             sleep 1; rm -rf '{data}' '{data}.log'"
        ))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting the server's watchdog");
    uri.to_owned()
}
