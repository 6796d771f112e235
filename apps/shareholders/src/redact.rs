//! Connection URLs carry passwords; only their redacted form is ever logged or printed.

/// Replaces the password of `scheme://user:password@host/...` with `***`. A URL without a
/// password is returned as it is.
#[must_use]
pub fn redact(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return url.to_owned();
    };
    let rest = &url[scheme_end..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    let Some(at) = authority.rfind('@') else {
        return url.to_owned();
    };
    let userinfo = &authority[..at];
    let user = userinfo.split(':').next().unwrap_or_default();
    if user.len() == userinfo.len() {
        return url.to_owned();
    }
    format!(
        "{}{user}:***{}",
        &url[..scheme_end],
        &url[scheme_end + at..]
    )
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn passwords_never_survive() {
        let cases = [
            (
                "postgres://postgres@127.0.0.1:5432/db",
                "postgres://postgres@127.0.0.1:5432/db",
            ),
            (
                "postgres://app:s3cret@db:5432/x",
                "postgres://app:***@db:5432/x",
            ),
            ("amqps://guest:p@ss:w@rd@mq/%2f", "amqps://guest:***@mq/%2f"),
            (
                "mongodb://u:pw@h1,h2/?replicaSet=rs",
                "mongodb://u:***@h1,h2/?replicaSet=rs",
            ),
            ("mongodb://h/?authSource=a@b", "mongodb://h/?authSource=a@b"),
            ("not a url", "not a url"),
        ];
        for (input, expected) in cases {
            assert_eq!(redact(input), expected, "{input}");
        }
    }
}
