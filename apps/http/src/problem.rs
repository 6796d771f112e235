//! Problem details (RFC 9457): every error this API answers is one of these, as
//! `application/problem+json`.

use serde::Serialize;
use warp::http::header::{CONTENT_TYPE, HeaderName, HeaderValue, RETRY_AFTER, WWW_AUTHENTICATE};
use warp::http::{Response, StatusCode};

/// The media type of a problem document.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// One invalid field of a request: its name (a dotted path into the body, or a query or header
/// name) and what is wrong with it.
#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl ToString) -> Self {
        Self {
            field: field.into(),
            message: message.to_string(),
        }
    }
}

/// The problem types this API uses; each is documented in the OpenAPI document.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    Validation,
    MalformedBody,
    Unauthorized,
    NotFound,
    MethodNotAllowed,
    Conflict,
    IdempotencyKeyReused,
    UnknownOwner,
    PayloadTooLarge,
    LengthRequired,
    UnsupportedMediaType,
    NotYetApplied,
    NotReady,
    GraphBusy,
    GraphTooLarge,
    Internal,
}

impl Kind {
    fn parts(self) -> (&'static str, &'static str, StatusCode) {
        match self {
            Self::Validation => (
                "/problems/validation",
                "The request is invalid",
                StatusCode::BAD_REQUEST,
            ),
            Self::MalformedBody => (
                "/problems/malformed-body",
                "The request body is not acceptable JSON",
                StatusCode::BAD_REQUEST,
            ),
            Self::Unauthorized => (
                "/problems/unauthorized",
                "Authentication required",
                StatusCode::UNAUTHORIZED,
            ),
            Self::NotFound => ("/problems/not-found", "Not found", StatusCode::NOT_FOUND),
            Self::MethodNotAllowed => (
                "/problems/method-not-allowed",
                "Method not allowed",
                StatusCode::METHOD_NOT_ALLOWED,
            ),
            Self::Conflict => (
                "/problems/conflict",
                "The request conflicts with the register",
                StatusCode::CONFLICT,
            ),
            Self::IdempotencyKeyReused => (
                "/problems/idempotency-key-reused",
                "The idempotency key was used for another request",
                StatusCode::UNPROCESSABLE_ENTITY,
            ),
            Self::UnknownOwner => (
                "/problems/unknown-owner",
                "The owner is not registered",
                StatusCode::UNPROCESSABLE_ENTITY,
            ),
            Self::PayloadTooLarge => (
                "/problems/payload-too-large",
                "The request body is too large",
                StatusCode::PAYLOAD_TOO_LARGE,
            ),
            Self::LengthRequired => (
                "/problems/length-required",
                "A Content-Length header is required",
                StatusCode::LENGTH_REQUIRED,
            ),
            Self::UnsupportedMediaType => (
                "/problems/unsupported-media-type",
                "Unsupported media type",
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ),
            Self::NotYetApplied => (
                "/problems/not-yet-applied",
                "The read model has not caught up yet",
                StatusCode::SERVICE_UNAVAILABLE,
            ),
            Self::NotReady => (
                "/problems/not-ready",
                "A dependency of the service does not answer",
                StatusCode::SERVICE_UNAVAILABLE,
            ),
            Self::GraphBusy => (
                "/problems/graph-busy",
                "Too many ownership graphs are being computed",
                StatusCode::SERVICE_UNAVAILABLE,
            ),
            Self::GraphTooLarge => (
                "/problems/graph-too-large",
                "The ownership graph is too large to compute",
                StatusCode::UNPROCESSABLE_ENTITY,
            ),
            Self::Internal => (
                "/problems/internal",
                "Internal server error",
                StatusCode::INTERNAL_SERVER_ERROR,
            ),
        }
    }
}

/// A problem document and the headers that go with it.
#[derive(Clone, Debug, Serialize)]
pub struct Problem {
    #[serde(rename = "type")]
    kind: &'static str,
    title: &'static str,
    status: u16,
    detail: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    errors: Vec<FieldError>,
    /// Extension members (RFC 9457, section 3.2), such as readiness's `failing`; boxed, so a
    /// problem stays small enough to return by value.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    extensions: Option<Box<serde_json::Map<String, serde_json::Value>>>,
    #[serde(skip)]
    headers: Vec<(HeaderName, HeaderValue)>,
}

impl Problem {
    pub fn new(kind: Kind, detail: impl Into<String>) -> Self {
        let (uri, title, status) = kind.parts();
        Self {
            kind: uri,
            title,
            status: status.as_u16(),
            detail: detail.into(),
            errors: Vec::new(),
            extensions: None,
            headers: Vec::new(),
        }
    }

    /// A 400 naming every invalid field.
    pub fn validation(errors: Vec<FieldError>) -> Self {
        let fields = errors
            .iter()
            .map(|e| e.field.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        let detail = if errors.len() == 1 {
            format!("{fields}: {}", errors[0].message)
        } else {
            format!("{} fields are invalid: {fields}", errors.len())
        };
        Self::new(Kind::Validation, detail).with_errors(errors)
    }

    /// A 400 for a body that is not valid JSON or does not have the expected shape.
    pub fn malformed(detail: impl Into<String>, errors: Vec<FieldError>) -> Self {
        Self::new(Kind::MalformedBody, detail).with_errors(errors)
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(Kind::NotFound, detail)
    }

    /// A 500. The error (with its whole chain) is logged here; the client sees nothing of it.
    pub fn internal(error: &anyhow::Error, during: &str) -> Self {
        let chain = error
            .chain()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(": ");
        tracing::error!(error = %chain, "{during} failed");
        Self::new(
            Kind::Internal,
            "The server could not complete the request. The error has been logged.",
        )
    }

    /// A 503 asking the client to retry in a second.
    pub fn not_yet_applied(position: u64) -> Self {
        Self::new(
            Kind::NotYetApplied,
            format!(
                "the read model has not yet applied event {position}; retry in a moment \
                 (min_position asks the server to wait for it)"
            ),
        )
        .with_header(RETRY_AFTER, HeaderValue::from_static("1"))
    }

    /// A 401 with the `WWW-Authenticate` challenge.
    pub fn unauthorized(detail: impl Into<String>, challenge: &'static str) -> Self {
        Self::new(Kind::Unauthorized, detail)
            .with_header(WWW_AUTHENTICATE, HeaderValue::from_static(challenge))
    }

    #[must_use]
    pub fn with_errors(mut self, errors: Vec<FieldError>) -> Self {
        self.errors = errors;
        self
    }

    /// Adds an extension member.
    #[must_use]
    pub fn with_extension(mut self, name: &str, value: serde_json::Value) -> Self {
        self.extensions
            .get_or_insert_with(Box::default)
            .insert(name.to_owned(), value);
        self
    }

    #[must_use]
    pub fn with_header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.push((name, value));
        self
    }

    pub fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    pub fn detail(&self) -> &str {
        &self.detail
    }

    /// The field errors of a validation problem, to merge into another.
    pub fn field_errors(self) -> Vec<FieldError> {
        self.errors
    }
}

impl warp::Reply for Problem {
    fn into_response(self) -> warp::reply::Response {
        // Serialising a struct of strings and numbers cannot fail.
        let body = serde_json::to_vec(&self).unwrap_or_default();
        let mut response = Response::new(body);
        *response.status_mut() = self.status();
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        for (name, value) in self.headers {
            headers.insert(name, value);
        }
        warp::Reply::into_response(response)
    }
}

#[cfg(test)]
mod tests {
    use super::Kind;

    /// Every kind; the match below stops compiling when one is added and not listed here.
    const ALL: [Kind; 16] = [
        Kind::Validation,
        Kind::MalformedBody,
        Kind::Unauthorized,
        Kind::NotFound,
        Kind::MethodNotAllowed,
        Kind::Conflict,
        Kind::IdempotencyKeyReused,
        Kind::UnknownOwner,
        Kind::PayloadTooLarge,
        Kind::LengthRequired,
        Kind::UnsupportedMediaType,
        Kind::NotYetApplied,
        Kind::NotReady,
        Kind::GraphBusy,
        Kind::GraphTooLarge,
        Kind::Internal,
    ];

    const fn listed(kind: Kind) -> usize {
        match kind {
            Kind::Validation => 0,
            Kind::MalformedBody => 1,
            Kind::Unauthorized => 2,
            Kind::NotFound => 3,
            Kind::MethodNotAllowed => 4,
            Kind::Conflict => 5,
            Kind::IdempotencyKeyReused => 6,
            Kind::UnknownOwner => 7,
            Kind::PayloadTooLarge => 8,
            Kind::LengthRequired => 9,
            Kind::UnsupportedMediaType => 10,
            Kind::NotYetApplied => 11,
            Kind::NotReady => 12,
            Kind::GraphBusy => 13,
            Kind::GraphTooLarge => 14,
            Kind::Internal => 15,
        }
    }

    #[test]
    fn every_problem_type_is_in_the_openapi_documents_list() {
        let document: serde_json::Value =
            serde_json::from_str(include_str!("openapi.json")).expect("the OpenAPI document");
        let documented =
            &document["components"]["schemas"]["Problem"]["properties"]["type"]["enum"];
        let documented: Vec<&str> = documented
            .as_array()
            .expect("a list of types")
            .iter()
            .filter_map(serde_json::Value::as_str)
            .collect();
        for (index, kind) in ALL.into_iter().enumerate() {
            assert_eq!(listed(kind), index);
            let (uri, _, _) = kind.parts();
            assert!(documented.contains(&uri), "{uri} is not documented");
        }
        assert_eq!(documented.len(), ALL.len(), "a documented type no kind has");
    }
}
