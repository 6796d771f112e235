//! Connection URLs carry passwords; only their redacted form is ever logged or printed.
//!
//! The policy, the strictest of the three this replaced:
//! - a password in the user information becomes `***`;
//! - the value of a query parameter that may be a secret (a name holding `pass`, `pwd`,
//!   `secret`, `token` or `credential`, or ending in `key`) becomes `***`; other parameters
//!   stay (they say how the connection was made);
//! - a string that is not `scheme://…` is never printed: it might hold a secret anywhere.

/// What is printed instead of a string that is not a URL.
pub const UNPARSABLE: &str = "<unparsable URL>";

fn secret_parameter(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    ["pass", "pwd", "secret", "token", "credential"]
        .iter()
        .any(|word| name.contains(word))
        || name.ends_with("key")
}

fn redact_query(query: &str) -> String {
    query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, _)) if secret_parameter(name) => format!("{name}=***"),
            _ => pair.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// The URL with its secrets replaced by `***` (see the crate's documentation).
#[must_use]
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return UNPARSABLE.to_owned();
    };
    if scheme.is_empty()
        || !scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
    {
        return UNPARSABLE.to_owned();
    }
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let authority = match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _password)) => format!("{user}:***@{host}"),
            None => format!("{userinfo}@{host}"),
        },
        None => authority.to_owned(),
    };
    let (tail, fragment) = tail
        .split_once('#')
        .map_or((tail, None), |(t, f)| (t, Some(f)));
    let tail = match tail.split_once('?') {
        Some((path, query)) => format!("{path}?{}", redact_query(query)),
        None => tail.to_owned(),
    };
    let fragment = fragment.map_or(String::new(), |_| "#***".to_owned());
    format!("{scheme}://{authority}{tail}{fragment}")
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::redact;

    #[rstest]
    // Passwords, whatever they hold.
    #[case("postgres://app:s3cret@db:5432/x", "postgres://app:***@db:5432/x")]
    #[case(
        "amqp://guest:guest@127.0.0.1:5672/%2f",
        "amqp://guest:***@127.0.0.1:5672/%2f"
    )]
    #[case(
        "amqps://user:s3cr3t@broker.example:5671",
        "amqps://user:***@broker.example:5671"
    )]
    #[case("amqps://guest:p@ss:w@rd@mq/%2f", "amqps://guest:***@mq/%2f")]
    #[case(
        "amqp://user:p@ss:w0rd@host/vhost?heartbeat=10",
        "amqp://user:***@host/vhost?heartbeat=10"
    )]
    #[case(
        "mongodb://u:pw@h1,h2/?replicaSet=rs",
        "mongodb://u:***@h1,h2/?replicaSet=rs"
    )]
    // No password: as it is.
    #[case(
        "postgres://postgres@127.0.0.1:5432/db",
        "postgres://postgres@127.0.0.1:5432/db"
    )]
    #[case("amqp://user@host/vhost", "amqp://user@host/vhost")]
    #[case("amqp://127.0.0.1:5672/%2f", "amqp://127.0.0.1:5672/%2f")]
    #[case("postgres://h", "postgres://h")]
    // An `@` in the query is not user information.
    #[case("mongodb://h/?authSource=a@b", "mongodb://h/?authSource=a@b")]
    #[case("amqp://host/v?x=a@b", "amqp://host/v?x=a@b")]
    // Secret query values, and the harmless ones kept.
    #[case(
        "postgres://u:secret@h:5432/db?sslmode=disable",
        "postgres://u:***@h:5432/db?sslmode=disable"
    )]
    #[case(
        "postgres://h/db?user=u&password=hunter2",
        "postgres://h/db?user=u&password=***"
    )]
    #[case(
        "postgres://h/db?sslkey=/k.pem&sslpassword=x",
        "postgres://h/db?sslkey=***&sslpassword=***"
    )]
    #[case(
        "mongodb://h/?directConnection=true&tlsCertificateKeyFilePassword=x",
        "mongodb://h/?directConnection=true&tlsCertificateKeyFilePassword=***"
    )]
    #[case("amqp://h/?token=abc#frag", "amqp://h/?token=***#***")]
    // Not a URL: nothing of it is shown.
    #[case("not a url", "<unparsable URL>")]
    #[case("guest:guest@host", "<unparsable URL>")]
    #[case("://x:y@h", "<unparsable URL>")]
    fn secrets_never_show(#[case] url: &str, #[case] expected: &str) {
        assert_eq!(redact(url), expected);
    }
}
