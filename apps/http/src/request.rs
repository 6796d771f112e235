//! What a request brings besides its path: the JSON body, the query string, the bearer token
//! and the idempotency key.

use bytes::Bytes;
use serde::de::DeserializeOwned;
use serde_json::Value;
use sha2::{Digest, Sha256};
use shareholders_domain::{Position, Register, RegisterYear};
use shareholders_ports::{Idempotency, IdempotencyKey, PageRequest, PageRequestError};
use subtle::ConstantTimeEq;

use crate::problem::{FieldError, Problem};

/// A write request as the filters hand it to a handler.
#[derive(Debug)]
pub struct WriteRequest {
    pub authorization: Option<String>,
    pub idempotency_key: Option<String>,
    pub body: Bytes,
}

/// A parsed JSON body and its canonical form (for the idempotency fingerprint).
#[derive(Debug)]
pub struct JsonBody<T> {
    pub value: T,
    pub canonical: String,
}

/// Parses a JSON object body into `T`, naming the offending field when its shape is wrong.
///
/// # Errors
/// A 400 problem for an empty body, invalid JSON, a non-object, a wrong type, a missing or
/// an unknown field.
pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<JsonBody<T>, Problem> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(Problem::malformed(
            "the request body is empty; a JSON object is expected",
            Vec::new(),
        ));
    }
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        Problem::malformed(
            format!("the request body is not valid JSON: {e}"),
            Vec::new(),
        )
    })?;
    if !value.is_object() {
        return Err(Problem::malformed(
            "the request body must be a JSON object",
            Vec::new(),
        ));
    }
    let canonical = canonical_json(&value);
    let parsed = serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let message = e.inner().to_string();
        let field = field_name(&path, &message);
        Problem::malformed(
            format!("{field}: {message}"),
            vec![FieldError::new(field.clone(), message)],
        )
    })?;
    Ok(JsonBody {
        value: parsed,
        canonical,
    })
}

/// The field an error names: its path (which for an unknown field ends in the field), or for
/// a missing field the path of its object and the field's name (serde puts it in the message).
fn field_name(path: &str, message: &str) -> String {
    let named = message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split('`').next());
    match (path, named) {
        (".", Some(name)) => name.to_owned(),
        (".", None) => "body".to_owned(),
        (path, Some(name)) => format!("{path}.{name}"),
        (path, None) => path.to_owned(),
    }
}

/// JSON with object keys sorted and no white space, so that two bodies meaning the same
/// give the same fingerprint.
pub fn canonical_json(value: &Value) -> String {
    fn write(value: &Value, out: &mut String) {
        match value {
            Value::Object(map) => {
                let mut entries = map.iter().collect::<Vec<_>>();
                entries.sort_by(|a, b| a.0.cmp(b.0));
                out.push('{');
                for (i, (key, value)) in entries.into_iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&Value::String(key.clone()).to_string());
                    out.push(':');
                    write(value, out);
                }
                out.push('}');
            }
            Value::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write(item, out);
                }
                out.push(']');
            }
            scalar => out.push_str(&scalar.to_string()),
        }
    }
    let mut out = String::new();
    write(value, &mut out);
    out
}

/// The sha256 (hex) of method, path and canonical body.
pub fn fingerprint(method: &str, path: &str, canonical_body: &str) -> String {
    let mut hasher = Sha256::new();
    for part in [method, path, canonical_body] {
        hasher.update(part.as_bytes());
        hasher.update([0u8]);
    }
    format!("{:x}", hasher.finalize())
}

/// The idempotency of a write, from its optional `Idempotency-Key` header.
///
/// # Errors
/// A 400 problem naming the header when the key is malformed.
pub fn idempotency(
    key: Option<&str>,
    method: &str,
    path: &str,
    canonical_body: &str,
) -> Result<Option<Idempotency>, Problem> {
    let Some(key) = key else {
        return Ok(None);
    };
    let key = IdempotencyKey::parse(key)
        .map_err(|e| Problem::validation(vec![FieldError::new("Idempotency-Key", e)]))?;
    Ok(Some(Idempotency {
        key,
        fingerprint: fingerprint(method, path, canonical_body),
    }))
}

/// The API tokens writes need. Tokens are kept as sha256 digests and compared in constant
/// time, so neither a token's content nor its length leaks through timing.
#[derive(Clone)]
pub struct Auth {
    digests: Vec<[u8; 32]>,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auth")
            .field("tokens", &self.digests.len())
            .finish()
    }
}

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

impl Auth {
    pub fn new(tokens: &[String]) -> Self {
        Self {
            digests: tokens.iter().map(|t| digest(t)).collect(),
        }
    }

    /// Checks an `Authorization` header; always passes when no token is configured.
    ///
    /// # Errors
    /// A 401 problem with a `WWW-Authenticate: Bearer` challenge.
    pub fn check(&self, header: Option<&str>) -> Result<(), Problem> {
        if self.digests.is_empty() {
            return Ok(());
        }
        let Some(header) = header else {
            return Err(Problem::unauthorized(
                "this write needs an Authorization: Bearer <token> header",
                "Bearer",
            ));
        };
        let token = header
            .split_once(' ')
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim());
        let Some(token) = token.filter(|t| !t.is_empty()) else {
            return Err(Problem::unauthorized(
                "the Authorization header must be \"Bearer <token>\"",
                "Bearer error=\"invalid_request\"",
            ));
        };
        let presented = digest(token);
        let mut matched = subtle::Choice::from(0);
        for known in &self.digests {
            matched |= known.ct_eq(&presented);
        }
        if bool::from(matched) {
            Ok(())
        } else {
            Err(Problem::unauthorized(
                "the bearer token is not valid",
                "Bearer error=\"invalid_token\"",
            ))
        }
    }
}

/// The query parameters of a read.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct ReadQuery {
    pub page: PageRequest,
    pub min_position: Option<Position>,
    /// `year`: the live register when absent.
    pub register: Register,
    /// `from` and `to`, the years a comparison spans.
    pub from: Option<RegisterYear>,
    pub to: Option<RegisterYear>,
}

fn year(name: &str, value: &str, errors: &mut Vec<FieldError>) -> Option<RegisterYear> {
    RegisterYear::parse(value)
        .map_err(|e| errors.push(FieldError::new(name, e)))
        .ok()
}

/// A whole number parameter, or its error pushed onto `errors`.
pub fn number<T: std::str::FromStr>(
    name: &str,
    value: &str,
    errors: &mut Vec<FieldError>,
) -> Option<T> {
    match value.parse() {
        Ok(n) => Some(n),
        Err(_) => {
            errors.push(FieldError::new(
                name,
                format!("must be a non-negative whole number, not {value:?}"),
            ));
            None
        }
    }
}

/// The query string's name-value pairs, decoded.
///
/// # Errors
/// A 400 problem naming the query when it cannot be decoded.
pub fn query_pairs(raw: &str) -> Result<Vec<(String, String)>, Problem> {
    serde_urlencoded::from_str(raw).map_err(|e| {
        Problem::validation(vec![FieldError::new(
            "query",
            format!("not a valid query string: {e}"),
        )])
    })
}

/// The pairs whose name is in `known`, each name once: a repeated one is named in `errors`
/// (which value was meant is not ours to guess), and names not in `known` are left to others.
pub fn known_once<'a>(
    pairs: &'a [(String, String)],
    known: &[&str],
    errors: &mut Vec<FieldError>,
) -> Vec<(&'a str, &'a str)> {
    let mut found: Vec<(&str, &str)> = Vec::new();
    for (name, value) in pairs {
        if !known.contains(&name.as_str()) {
            continue;
        }
        if found.iter().any(|(seen, _)| seen == name) {
            if !errors.iter().any(|e| e.field == *name) {
                errors.push(FieldError::new(name.as_str(), "is given more than once"));
            }
            continue;
        }
        found.push((name, value));
    }
    found
}

/// Parses `page`, `size` (when `paged`), `min_position`, `year`, `from` and `to`; other
/// parameters are ignored.
///
/// # Errors
/// A 400 problem naming every invalid parameter.
pub fn read_query(raw: &str, paged: bool) -> Result<ReadQuery, Problem> {
    let pairs = query_pairs(raw)?;
    let mut errors = Vec::new();
    let (mut page, mut size, mut min_position) = (None, None, None);
    let (mut register, mut from, mut to) = (Register::Live, None, None);
    let known: &[&str] = if paged {
        &["page", "size", "min_position", "year", "from", "to"]
    } else {
        &["min_position", "year", "from", "to"]
    };
    for (name, value) in known_once(&pairs, known, &mut errors) {
        match name {
            "page" => page = number::<u32>(name, value, &mut errors),
            "size" => size = number::<u32>(name, value, &mut errors),
            "year" => {
                if let Some(y) = year(name, value, &mut errors) {
                    register = Register::Year(y);
                }
            }
            "from" => from = year(name, value, &mut errors),
            "to" => to = year(name, value, &mut errors),
            _ => {
                min_position = number::<u64>(name, value, &mut errors).and_then(|n| {
                    if n <= Position::MAX {
                        Some(Position::new(n))
                    } else {
                        errors.push(FieldError::new(
                            name,
                            format!("must be at most {}, not {n}", Position::MAX),
                        ));
                        None
                    }
                });
            }
        }
    }
    let page = match PageRequest::new(page, size) {
        Ok(page) => Some(page),
        Err(PageRequestError::Page) => {
            errors.push(FieldError::new("page", PageRequestError::Page));
            None
        }
        Err(PageRequestError::Size) => {
            errors.push(FieldError::new("size", PageRequestError::Size));
            None
        }
    };
    match page {
        Some(page) if errors.is_empty() => Ok(ReadQuery {
            page,
            min_position,
            register,
            from,
            to,
        }),
        _ => Err(Problem::validation(errors)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("", Some((1, 100, None)))]
    #[case("page=2&size=1000", Some((2, 1000, None)))]
    #[case("min_position=42&other=x", Some((1, 100, Some(42))))]
    #[case("size=0", None)]
    #[case("size=1001", None)]
    #[case("page=0", None)]
    #[case("page=-1", None)]
    #[case("size=abc", None)]
    #[case("min_position=18446744073709551616", None)]
    #[case("min_position=9223372036854775808", None)]
    #[case("min_position=9223372036854775807", Some((1, 100, Some(9_223_372_036_854_775_807))))]
    #[case("page=1&page=2", None)]
    fn queries_are_checked(#[case] raw: &str, #[case] expected: Option<(u32, u32, Option<u64>)>) {
        let parsed = read_query(raw, true).ok().map(|q| {
            (
                q.page.page(),
                q.page.size(),
                q.min_position.map(Position::get),
            )
        });
        assert_eq!(parsed, expected);
    }

    #[test]
    fn unpaged_reads_ignore_page_parameters() {
        assert!(read_query("size=0", false).is_ok());
        assert!(read_query("min_position=x", false).is_err());
    }

    #[test]
    fn canonical_json_sorts_keys_and_drops_white_space() {
        let a: Value =
            serde_json::from_str(r#"{ "b": [1, {"y": 2, "x": "é"}], "a": null }"#).expect("valid");
        let b: Value =
            serde_json::from_str(r#"{"a":null,"b":[1,{"x":"é","y":2}]}"#).expect("valid");
        assert_eq!(canonical_json(&a), r#"{"a":null,"b":[1,{"x":"é","y":2}]}"#);
        assert_eq!(canonical_json(&a), canonical_json(&b));
    }

    #[test]
    fn fingerprints_separate_method_path_and_body() {
        let base = fingerprint("POST", "/api/share", "{}");
        assert_eq!(base.len(), 64);
        assert_ne!(base, fingerprint("POST", "/api/person", "{}"));
        assert_ne!(base, fingerprint("PUT", "/api/share", "{}"));
        assert_ne!(base, fingerprint("POST", "/api/share", "{\"a\":1}"));
    }

    #[rstest]
    #[case(None, Some("Bearer"))]
    #[case(Some("Bearer secret"), None)]
    #[case(Some("bearer other"), None)]
    #[case(Some("Bearer wrong"), Some("Bearer error=\"invalid_token\""))]
    #[case(Some("Basic c2VjcmV0"), Some("Bearer error=\"invalid_request\""))]
    #[case(Some("Bearer "), Some("Bearer error=\"invalid_request\""))]
    fn bearer_tokens_are_checked(#[case] header: Option<&str>, #[case] challenge: Option<&str>) {
        let auth = Auth::new(&["secret".to_owned(), "other".to_owned()]);
        let result = auth.check(header);
        match challenge {
            None => assert!(result.is_ok()),
            Some(challenge) => {
                let problem = result.expect_err("refused");
                let response = warp::Reply::into_response(problem);
                assert_eq!(response.status(), 401);
                assert_eq!(response.headers()["www-authenticate"], challenge);
            }
        }
    }

    #[test]
    fn no_tokens_means_open_writes() {
        assert!(Auth::new(&[]).check(None).is_ok());
    }
}
