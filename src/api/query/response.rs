//! Prometheus's response envelope: `{"status":"success","data":…,"warnings":[…],"infos":[…]}`, and
//! errors as `{"status":"error","errorType":…,"error":…}` with the matching HTTP status.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::format::write_str;

/// The most annotations of each kind (warnings, infos) a response carries, as Prometheus.
const MAX_ANNOTATIONS: usize = 10;

/// Prometheus's `errorType`s.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// `bad_data`, 400: the request is malformed.
    BadData,
    /// `execution`, 422: the query failed while running.
    Execution,
    /// `timeout`, 503: the query ran out of time.
    Timeout,
    /// `internal`, 500.
    Internal,
    /// `unavailable`, 500: the feature is not available on this server.
    Unavailable,
}

impl ErrorKind {
    /// The `errorType` string.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::BadData => "bad_data",
            ErrorKind::Execution => "execution",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Internal => "internal",
            ErrorKind::Unavailable => "unavailable",
        }
    }

    /// The HTTP status Prometheus answers with.
    pub fn status(self) -> StatusCode {
        match self {
            ErrorKind::BadData => StatusCode::BAD_REQUEST,
            ErrorKind::Execution => StatusCode::UNPROCESSABLE_ENTITY,
            ErrorKind::Timeout => StatusCode::SERVICE_UNAVAILABLE,
            ErrorKind::Internal | ErrorKind::Unavailable => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// An API error in Prometheus's shape.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    /// The error type.
    pub kind: ErrorKind,
    /// The message.
    pub message: String,
}

impl ApiError {
    /// An error of `kind`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> ApiError {
        ApiError {
            kind,
            message: message.into(),
        }
    }

    /// A `bad_data` error.
    pub fn bad_data(message: impl Into<String>) -> ApiError {
        ApiError::new(ErrorKind::BadData, message)
    }

    /// A `bad_data` error about one parameter: `invalid parameter "name": message`.
    pub fn invalid_param(name: &str, message: impl std::fmt::Display) -> ApiError {
        ApiError::bad_data(format!("invalid parameter {name:?}: {message}"))
    }

    /// An `internal` error.
    pub fn internal(message: impl Into<String>) -> ApiError {
        ApiError::new(ErrorKind::Internal, message)
    }

    /// Maps a query error to its API error type (a parse error names the `query` parameter).
    pub fn from_query(error: ::query::Error) -> ApiError {
        use ::query::Error as E;
        match error {
            E::Parse(e) => ApiError::invalid_param("query", e),
            E::LogParse(e) => ApiError::invalid_param("query", e),
            e @ (E::Execution(_) | E::TooManySamples(_)) => ApiError::new(ErrorKind::Execution, e.to_string()),
            e @ E::Timeout(_) => ApiError::new(ErrorKind::Timeout, e.to_string()),
            e @ E::Storage(_) => ApiError::internal(e.to_string()),
        }
    }

    /// The JSON body.
    pub fn body(&self) -> String {
        let mut out = String::with_capacity(64 + self.message.len());
        out.push_str(r#"{"status":"error","errorType":""#);
        out.push_str(self.kind.as_str());
        out.push_str(r#"","error":"#);
        write_str(&mut out, &self.message);
        out.push('}');
        out
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        tracing::debug!(error_type = self.kind.as_str(), error = %self.message, "api error");
        json_response(self.kind.status(), self.body())
    }
}

/// The success envelope around already-rendered `data` JSON; at most 10 warnings and 10 infos.
pub fn success_body(data: &str, warnings: &[String], infos: &[String]) -> String {
    let mut out = String::with_capacity(data.len() + 40);
    out.push_str(r#"{"status":"success","data":"#);
    out.push_str(data);
    for (key, list) in [("warnings", warnings), ("infos", infos)] {
        if list.is_empty() {
            continue;
        }
        out.push_str(",\"");
        out.push_str(key);
        out.push_str("\":[");
        for (i, item) in list.iter().take(MAX_ANNOTATIONS).enumerate() {
            if i > 0 {
                out.push(',');
            }
            write_str(&mut out, item);
        }
        out.push(']');
    }
    out.push('}');
    out
}

/// A 200 response with the success envelope.
pub fn success(data: &str, warnings: &[String], infos: &[String]) -> Response {
    json_response(StatusCode::OK, success_body(data, warnings, infos))
}

fn json_response(status: StatusCode, body: String) -> Response {
    let content_type = HeaderValue::from_static("application/json");
    (status, [(header::CONTENT_TYPE, content_type)], body).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelopes() {
        assert_eq!(success_body("[]", &[], &[]), r#"{"status":"success","data":[]}"#);
        assert_eq!(
            success_body("1", &["w <1>".into()], &["i".into()]),
            r#"{"status":"success","data":1,"warnings":["w \u003c1\u003e"],"infos":["i"]}"#
        );
        let many: Vec<String> = (0..12).map(|i| i.to_string()).collect();
        assert_eq!(
            success_body("0", &many, &[]),
            r#"{"status":"success","data":0,"warnings":["0","1","2","3","4","5","6","7","8","9"]}"#
        );
        let e = ApiError::invalid_param("time", "cannot parse \"x\" to a valid timestamp");
        assert_eq!(
            e.body(),
            r#"{"status":"error","errorType":"bad_data","error":"invalid parameter \"time\": cannot parse \"x\" to a valid timestamp"}"#
        );
    }

    #[test]
    fn query_errors_map_to_types() {
        let parse = ::query::promql::parse("1 +").expect_err("incomplete");
        let cases = [
            (::query::Error::Parse(parse), ErrorKind::BadData, 400),
            (::query::Error::Execution("x".into()), ErrorKind::Execution, 422),
            (::query::Error::TooManySamples("q".into()), ErrorKind::Execution, 422),
            (::query::Error::Timeout("q".into()), ErrorKind::Timeout, 503),
            (::query::Error::Storage("disk".into()), ErrorKind::Internal, 500),
        ];
        for (error, kind, status) in cases {
            let api = ApiError::from_query(error);
            assert_eq!(api.kind, kind);
            assert_eq!(api.kind.status().as_u16(), status);
        }
        let parse = ::query::promql::parse("1 +").expect_err("incomplete");
        assert!(
            ApiError::from_query(parse.into())
                .message
                .starts_with("invalid parameter \"query\": 1:")
        );
        assert_eq!(
            ApiError::from_query(::query::Error::Timeout("expression evaluation".into())).message,
            "query timed out in expression evaluation"
        );
    }
}
