//! `--ca-file`: the certificates the service trusts, besides the system's roots, when it
//! reaches RabbitMQ (`amqps://`), PostgreSQL (`sslmode=verify-full` or `verify-ca`) or MongoDB
//! (`tls=true`) over TLS.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject as _;

/// A PEM file of one or more CA certificates, read and checked once at start.
#[derive(Clone)]
pub struct TrustedCa {
    path: PathBuf,
    pem: String,
}

impl std::fmt::Debug for TrustedCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrustedCa")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl TrustedCa {
    /// # Errors
    /// When the file cannot be read, is not PEM, or holds no certificate.
    pub fn read(path: &Path) -> anyhow::Result<Self> {
        let pem = std::fs::read_to_string(path)
            .with_context(|| format!("reading the CA file {}", path.display()))?;
        let certificates = CertificateDer::pem_slice_iter(pem.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| anyhow::anyhow!("the CA file {} is not valid PEM: {e}", path.display()))?;
        anyhow::ensure!(
            !certificates.is_empty(),
            "the CA file {} holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
            path.display()
        );
        Ok(Self {
            path: path.to_path_buf(),
            pem,
        })
    }

    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The certificates, as PEM text.
    #[must_use]
    pub fn pem(&self) -> &str {
        &self.pem
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CERTIFICATE: &str = "-----BEGIN CERTIFICATE-----
MIIBhTCCASugAwIBAgIUXoyWcqmzhV0dKXDfOgfzZ2gFJ3IwCgYIKoZIzj0EAwIw
GDEWMBQGA1UEAwwNc2hhcmVob2xkZXJzMB4XDTI2MDEwMTAwMDAwMFoXDTM2MDEw
MTAwMDAwMFowGDEWMBQGA1UEAwwNc2hhcmVob2xkZXJzMFkwEwYHKoZIzj0CAQYI
KoZIzj0DAQcDQgAEpQ7p2Y9lQ1z3P2wq0H9Q9v2mYlV3l4Yb5m3o8mQ6mE3k2x5y
8o6yqg2q3m1C6m8v5r2Xo0pC7QKXb0q0mJ6b9aNTMFEwHQYDVR0OBBYEFK7m4o2s
-----END CERTIFICATE-----
";

    fn written(contents: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let path = dir.path().join("ca.pem");
        std::fs::write(&path, contents).expect("written");
        (dir, path)
    }

    #[test]
    fn a_file_of_certificates_is_trusted() {
        let (_dir, path) = written(CERTIFICATE);
        let ca = TrustedCa::read(&path).expect("read");
        assert_eq!(ca.path(), path);
        assert!(ca.pem().contains("BEGIN CERTIFICATE"));
    }

    #[test]
    fn a_file_without_a_certificate_is_refused_clearly() {
        let (_dir, path) = written("not a certificate\n");
        let error = TrustedCa::read(&path).expect_err("refused").to_string();
        assert!(error.contains("holds no PEM certificate"), "{error}");
        let missing = TrustedCa::read(Path::new("/nonexistent/ca.pem"))
            .expect_err("refused")
            .to_string();
        assert!(
            missing.contains("reading the CA file /nonexistent/ca.pem"),
            "{missing}"
        );
    }
}
