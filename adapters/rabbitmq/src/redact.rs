/// The URL with its password, if any, replaced by `***`, for logs and error messages.
#[must_use]
pub fn redact_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        // Not a URL we understand: it might still hold a secret, so show none of it.
        return "<unparsable URL>".to_owned();
    };
    let (scheme, rest) = (&url[..scheme_end], &url[scheme_end + 3..]);
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let Some(at) = authority.rfind('@') else {
        return url.to_owned();
    };
    let (userinfo, host) = (&authority[..at], &authority[at + 1..]);
    match userinfo.split_once(':') {
        Some((user, _password)) => format!("{scheme}://{user}:***@{host}{tail}"),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::redact_url;

    #[rstest]
    #[case(
        "amqp://guest:guest@127.0.0.1:5672/%2f",
        "amqp://guest:***@127.0.0.1:5672/%2f"
    )]
    #[case(
        "amqps://user:s3cr3t@broker.example:5671",
        "amqps://user:***@broker.example:5671"
    )]
    #[case(
        "amqp://user:p@ss:w0rd@host/vhost?heartbeat=10",
        "amqp://user:***@host/vhost?heartbeat=10"
    )]
    #[case("amqp://user@host/vhost", "amqp://user@host/vhost")]
    #[case("amqp://127.0.0.1:5672/%2f", "amqp://127.0.0.1:5672/%2f")]
    #[case("amqp://host/v?x=a@b", "amqp://host/v?x=a@b")]
    #[case("guest:guest@host", "<unparsable URL>")]
    fn passwords_never_show(#[case] url: &str, #[case] expected: &str) {
        assert_eq!(redact_url(url), expected);
    }
}
