//! Certificates for the TLS tests, made by `openssl` (installed by `scripts/test`): a CA and
//! a server certificate it signed. Shared by the tests of apps/http and apps/shareholders.

use std::path::{Path, PathBuf};

/// Runs `openssl` with `args` in `dir`.
fn openssl(dir: &Path, args: &[&str]) {
    let output = std::process::Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("openssl runs");
    assert!(
        output.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A certificate authority and a server certificate it signed for `host` (and, for
/// `localhost`, 127.0.0.1), made in `dir` under names starting with `name`: (the CA's
/// certificate, the server's certificate, the server's key).
pub fn make(dir: &Path, name: &str, host: &str) -> (PathBuf, PathBuf, PathBuf) {
    let ca = format!("{name}-ca");
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    let mut args = vec!["req", "-x509"];
    args.extend(ec);
    args.extend(["-days", "1", "-subj", "/CN=test CA"]);
    let (ca_key, ca_pem) = (format!("{ca}.key"), format!("{ca}.pem"));
    args.extend(["-keyout", &ca_key, "-out", &ca_pem]);
    args.extend(["-addext", "basicConstraints=critical,CA:TRUE"]);
    args.extend(["-addext", "keyUsage=critical,keyCertSign"]);
    openssl(dir, &args);
    let (key, csr, pem) = (
        format!("{name}.key"),
        format!("{name}.csr"),
        format!("{name}.pem"),
    );
    let subject = format!("/CN={host}");
    let mut args = vec!["req"];
    args.extend(ec);
    args.extend(["-subj", &subject, "-keyout", &key, "-out", &csr]);
    openssl(dir, &args);
    let names = if host == "localhost" {
        "DNS:localhost,IP:127.0.0.1".to_owned()
    } else {
        format!("DNS:{host}")
    };
    let extensions = format!("{name}.ext");
    std::fs::write(
        dir.join(&extensions),
        format!("subjectAltName={names}\nbasicConstraints=CA:FALSE\n"),
    )
    .expect("write");
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            &ca_pem,
            "-CAkey",
            &ca_key,
            "-CAcreateserial",
            "-days",
            "1",
            "-out",
            &pem,
            "-extfile",
            &extensions,
        ],
    );
    (dir.join(ca_pem), dir.join(pem), dir.join(key))
}
