//! GraphQL over HTTP (<https://graphql.github.io/graphql-over-http/draft/>): reading a request
//! from a POST body or a GET query string, choosing the response's media type from `Accept`,
//! and the status code of each outcome.
//!
//! Invariants: a request that is not a well-formed GraphQL request (not JSON, no `query`,
//! parameters of the wrong type, an unsupported `Content-Type`) is refused with a 4xx before
//! anything runs; a well-formed one is answered with `application/graphql-response+json` or
//! `application/json`, whichever the client prefers, and a status that media type's rules
//! ask for. Pure functions over headers and bytes: no database, no principal.

use async_graphql::{ErrorExtensions, Name, parser::types::OperationType};
use axum::{
    body::{Body, Bytes},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde_json::{Map, Value};

use crate::error::ApiError;

pub const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json";
pub const JSON: &str = "application/json";

/// The two media types a GraphQL response is served as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaType {
    /// `application/graphql-response+json`: the status tells a request error (4xx) apart.
    GraphQlResponse,
    /// `application/json`: every well-formed request is 200, errors are in the body.
    Json,
}

impl MediaType {
    pub fn content_type(self) -> HeaderValue {
        HeaderValue::from_static(match self {
            Self::GraphQlResponse => "application/graphql-response+json; charset=utf-8",
            Self::Json => "application/json; charset=utf-8",
        })
    }

    /// The status of a GraphQL response. A request error (the request never ran: document,
    /// validation, variables or a limit refused it) is 400 under
    /// `application/graphql-response+json` and 200 under `application/json`, as the spec asks.
    pub fn status(self, request_error: bool) -> StatusCode {
        match (self, request_error) {
            (Self::GraphQlResponse, true) => StatusCode::BAD_REQUEST,
            _ => StatusCode::OK,
        }
    }
}

/// The media type to answer with: the one `Accept` ranks highest (q-values, the most specific
/// range deciding), `application/json` when `Accept` is missing or only wildcards match, and
/// `None` (406) when it accepts neither.
pub fn negotiate(headers: &HeaderMap) -> Option<MediaType> {
    let accept: Vec<&str> = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    let ranges: Vec<MediaRange> = accept
        .iter()
        .flat_map(|v| v.split(','))
        .filter_map(MediaRange::parse)
        .collect();
    if ranges.is_empty() {
        return Some(MediaType::Json);
    }
    let graphql = preference(&ranges, "graphql-response+json");
    let json = preference(&ranges, "json");
    let best = match (graphql, json) {
        (Some(g), Some(j)) if g.q == j.q && g.specificity == j.specificity => {
            // Both named explicitly: the newer type; both only through a wildcard: the one
            // every client understands.
            if g.specificity == 2 {
                MediaType::GraphQlResponse
            } else {
                MediaType::Json
            }
        }
        (Some(g), Some(j)) if (g.q, g.specificity) > (j.q, j.specificity) => {
            MediaType::GraphQlResponse
        }
        (Some(_), Some(_)) | (None, Some(_)) => MediaType::Json,
        (Some(_), None) => MediaType::GraphQlResponse,
        (None, None) => return None,
    };
    Some(best)
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct Preference {
    q: u16,
    /// 2 for `application/<subtype>`, 1 for `application/*`, 0 for `*/*`.
    specificity: u8,
}

struct MediaRange<'a> {
    ty: &'a str,
    subtype: &'a str,
    /// Thousandths, so ranges compare exactly.
    q: u16,
}

impl<'a> MediaRange<'a> {
    fn parse(text: &'a str) -> Option<Self> {
        let mut parts = text.split(';');
        let (ty, subtype) = parts.next()?.trim().split_once('/')?;
        let mut q = 1000;
        for parameter in parts {
            if let Some((name, value)) = parameter.split_once('=')
                && name.trim().eq_ignore_ascii_case("q")
            {
                q = value
                    .trim()
                    .parse::<f32>()
                    .ok()
                    .filter(|q| (0.0..=1.0).contains(q))
                    .map_or(0, |q| (q * 1000.0).round() as u16);
            }
        }
        Some(Self {
            ty: ty.trim(),
            subtype: subtype.trim(),
            q,
        })
    }

    fn specificity_for(&self, subtype: &str) -> Option<u8> {
        match (self.ty, self.subtype) {
            ("*", "*") => Some(0),
            (ty, "*") if ty.eq_ignore_ascii_case("application") => Some(1),
            (ty, sub)
                if ty.eq_ignore_ascii_case("application") && sub.eq_ignore_ascii_case(subtype) =>
            {
                Some(2)
            }
            _ => None,
        }
    }
}

/// How much the client wants `application/<subtype>`: the q of the most specific range that
/// matches it (RFC 9110 §12.5.1); `None` when nothing matches or that q is 0.
fn preference(ranges: &[MediaRange<'_>], subtype: &str) -> Option<Preference> {
    ranges
        .iter()
        .filter_map(|r| {
            Some(Preference {
                q: r.q,
                specificity: r.specificity_for(subtype)?,
            })
        })
        .max_by_key(|p| (p.specificity, p.q))
        .filter(|p| p.q > 0)
}

/// The parameters of a GraphQL request. `query` may be missing when an automatic persisted
/// query names its document by hash (see `persisted`).
#[derive(Debug, Default, Clone)]
pub struct Params {
    pub query: Option<String>,
    pub operation_name: Option<String>,
    pub variables: Map<String, Value>,
    pub extensions: Map<String, Value>,
}

impl Params {
    /// The executor's request for `document` (the query, or the persisted document).
    pub fn into_request(self, document: String) -> async_graphql::Request {
        let mut request = async_graphql::Request::new(document).variables(
            async_graphql::Variables::from_json(Value::Object(self.variables)),
        );
        request.operation_name = self.operation_name;
        for (name, value) in self.extensions {
            if let Ok(value) = async_graphql::Value::from_json(value) {
                request.extensions.insert(name, value);
            }
        }
        request
    }
}

/// Why an HTTP request is not a GraphQL request, with the status it earns.
#[derive(Debug)]
pub struct Malformed {
    pub status: StatusCode,
    pub message: String,
}

impl Malformed {
    fn bad(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
        }
    }
}

impl IntoResponse for Malformed {
    fn into_response(self) -> Response {
        refusal(self.status, &ApiError::validation("request", self.message))
    }
}

/// A POST body: `Content-Type: application/json` (UTF-8) holding one request object, at
/// most `limit` bytes. Batches (a JSON array) are refused.
pub async fn from_post(headers: &HeaderMap, body: Body, limit: usize) -> Result<Params, Malformed> {
    check_content_type(headers)?;
    let too_large = || Malformed {
        status: StatusCode::PAYLOAD_TOO_LARGE,
        message: format!("the request body is larger than {limit} bytes"),
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    let bytes: Bytes = axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| too_large())?;
    if bytes.is_empty() {
        return Err(Malformed::bad(
            "the body is empty: send JSON {\"query\": \"...\", \"variables\": {...}}",
        ));
    }
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(object)) => from_object(object),
        Ok(Value::Array(_)) => Err(Malformed::bad(
            "batched requests are not supported: send one request per HTTP request",
        )),
        Ok(_) => Err(Malformed::bad(
            "the body must be a JSON object {\"query\": \"...\", \"variables\": {...}}",
        )),
        Err(err) => Err(Malformed::bad(format!("the body is not valid JSON: {err}"))),
    }
}

fn check_content_type(headers: &HeaderMap) -> Result<(), Malformed> {
    let unsupported = |message: &str| Malformed {
        status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
        message: message.to_owned(),
    };
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        return Err(unsupported(
            "a Content-Type is required: send `Content-Type: application/json`",
        ));
    };
    let value = value.to_str().unwrap_or_default();
    let mut parts = value.split(';');
    let essence = parts.next().unwrap_or_default().trim();
    if !essence.eq_ignore_ascii_case(JSON) {
        return Err(unsupported(
            "only `Content-Type: application/json` is supported for POST",
        ));
    }
    let charset_ok = parts.all(|parameter| match parameter.split_once('=') {
        Some((name, value)) if name.trim().eq_ignore_ascii_case("charset") => {
            let value = value.trim().trim_matches('"');
            value.eq_ignore_ascii_case("utf-8") || value.eq_ignore_ascii_case("utf8")
        }
        _ => true,
    });
    if !charset_ok {
        return Err(unsupported("the body must be UTF-8 encoded"));
    }
    Ok(())
}

/// A GET query string: `query`, `operationName`, and `variables` / `extensions` as
/// URL-encoded JSON objects.
pub fn from_get(query_string: Option<&str>) -> Result<Params, Malformed> {
    let pairs: Vec<(String, String)> = serde_urlencoded_pairs(query_string.unwrap_or_default())?;
    let mut params = Params::default();
    for (name, value) in pairs {
        match name.as_str() {
            "query" => params.query = Some(value),
            "operationName" => params.operation_name = Some(value),
            "variables" => params.variables = json_object("variables", &value)?,
            "extensions" => params.extensions = json_object("extensions", &value)?,
            _ => {}
        }
    }
    Ok(params)
}

fn serde_urlencoded_pairs(query: &str) -> Result<Vec<(String, String)>, Malformed> {
    let uri: axum::http::Uri = format!("/?{query}")
        .parse()
        .map_err(|_| Malformed::bad("the query string is not valid"))?;
    axum::extract::Query::<Vec<(String, String)>>::try_from_uri(&uri)
        .map(|q| q.0)
        .map_err(|_| Malformed::bad("the query string is not valid URL encoding"))
}

fn json_object(name: &str, text: &str) -> Result<Map<String, Value>, Malformed> {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(object)) => Ok(object),
        Ok(Value::Null) => Ok(Map::new()),
        _ => Err(Malformed::bad(format!(
            "`{name}` must be a JSON object (URL-encoded)"
        ))),
    }
}

fn from_object(mut object: Map<String, Value>) -> Result<Params, Malformed> {
    let query = match object.remove("query") {
        None | Some(Value::Null) => None,
        Some(Value::String(query)) => Some(query),
        Some(_) => return Err(Malformed::bad("`query` must be a string")),
    };
    let operation_name = match object.remove("operationName") {
        None | Some(Value::Null) => None,
        Some(Value::String(name)) => Some(name),
        Some(_) => return Err(Malformed::bad("`operationName` must be a string")),
    };
    let mut map = |name: &str| match object.remove(name) {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(map)) => Ok(map),
        Some(_) => Err(Malformed::bad(format!("`{name}` must be an object"))),
    };
    Ok(Params {
        query,
        operation_name,
        variables: map("variables")?,
        extensions: map("extensions")?,
    })
}

/// A GraphQL-shaped error answer for a request refused outside the executor:
/// `{"errors": [{"message", "extensions": {"code", ...}}]}` with no `data`.
pub fn refusal(status: StatusCode, err: &ApiError) -> Response {
    let mut response = (status, axum::Json(error_body(err))).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, MediaType::Json.content_type());
    let mut codes = crate::telemetry::ErrorCodes::default();
    codes.push(err.code());
    response.extensions_mut().insert(codes);
    response
}

/// `{"errors": [{"message", "extensions": {"code", ...}}]}` for one error.
pub fn error_body(err: &ApiError) -> Value {
    let error = err.extend();
    let mut entry = serde_json::json!({ "message": error.message });
    if let Some(extensions) = &error.extensions
        && let Ok(extensions) = serde_json::to_value(extensions)
    {
        entry["extensions"] = extensions;
    }
    serde_json::json!({ "errors": [entry] })
}

/// Whether the operation called `name` is one the request selects: the one `operationName`
/// names, or every operation when it names none (the executor refuses the ambiguity itself).
pub fn selects(wanted: Option<&str>, name: Option<&Name>) -> bool {
    wanted.is_none_or(|wanted| name.is_some_and(|name| name.as_str() == wanted))
}

/// Whether the request would run an operation of type `ty`; `None` when its document does not
/// parse (the executor reports that).
pub fn runs(request: &mut async_graphql::Request, ty: OperationType) -> Option<bool> {
    let wanted = request.operation_name.clone();
    let document = request.parsed_query().ok()?;
    Some(
        document
            .operations
            .iter()
            .any(|(name, operation)| operation.node.ty == ty && selects(wanted.as_deref(), name)),
    )
}

/// Every error leaves with an `extensions.code`. Bydel's own errors carry theirs; the rest come
/// from async-graphql's parsing, validation and input coercion, so they are the caller's input.
/// A field that failed is present as `null` in `data`, as the GraphQL spec requires
/// (async-graphql 7 leaves it out); fields that can fail are nullable in the schema.
pub fn with_codes(mut response: async_graphql::Response) -> async_graphql::Response {
    for error in &mut response.errors {
        let extensions = error.extensions.get_or_insert_with(Default::default);
        if extensions.get("code").is_none() {
            extensions.set("code", "BAD_USER_INPUT");
        }
    }
    cap_errors(&mut response.errors);
    let failed: Vec<Vec<async_graphql::PathSegment>> = response
        .errors
        .iter()
        .filter(|e| !e.path.is_empty())
        .map(|e| e.path.clone())
        .collect();
    if !failed.is_empty() && response.data == async_graphql::Value::Null {
        response.data = async_graphql::Value::Object(Default::default());
    }
    for path in failed {
        null_at(&mut response.data, &path);
    }
    response
}

/// The most errors one response reports; a document with thousands of mistakes would otherwise
/// be answered with megabytes of them.
pub const MAX_ERRORS: usize = 100;

/// Keeps the first [`MAX_ERRORS`] − 1 errors and replaces the rest by one that says how many
/// were left out (with the code of the first of them).
fn cap_errors(errors: &mut Vec<async_graphql::ServerError>) {
    if errors.len() <= MAX_ERRORS {
        return;
    }
    let omitted = errors.split_off(MAX_ERRORS - 1);
    let code = omitted[0]
        .extensions
        .as_ref()
        .and_then(|ext| ext.get("code"))
        .cloned()
        .unwrap_or_else(|| async_graphql::Value::from("BAD_USER_INPUT"));
    let mut summary = async_graphql::ServerError::new(
        format!(
            "{} more errors are not shown; at most {MAX_ERRORS} are reported: fix these and send the request again",
            omitted.len()
        ),
        None,
    );
    let mut extensions = async_graphql::ErrorExtensionValues::default();
    extensions.set("code", code);
    extensions.set("omittedErrors", omitted.len() as u64);
    summary.extensions = Some(extensions);
    errors.push(summary);
}

/// Sets the field at `path` to `null` when it is missing; a missing parent means the failure
/// already nulled something above it, so nothing is added.
fn null_at(data: &mut async_graphql::Value, path: &[async_graphql::PathSegment]) {
    use async_graphql::{Name, Value};
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut node = data;
    for segment in parents {
        let next = match (segment, node) {
            (async_graphql::PathSegment::Field(name), Value::Object(map)) => {
                map.get_mut(name.as_str())
            }
            (async_graphql::PathSegment::Index(i), Value::List(items)) => items.get_mut(*i),
            _ => None,
        };
        match next {
            Some(next) => node = next,
            None => return,
        }
    }
    if let (async_graphql::PathSegment::Field(name), Value::Object(map)) = (last, node) {
        map.entry(Name::new(name)).or_insert(Value::Null);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(value: &str) -> Option<MediaType> {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT, HeaderValue::from_str(value).unwrap());
        negotiate(&headers)
    }

    #[test]
    fn negotiates_by_q_and_specificity() {
        use MediaType::*;
        assert_eq!(negotiate(&HeaderMap::new()), Some(Json));
        assert_eq!(accept("application/json"), Some(Json));
        assert_eq!(accept(GRAPHQL_RESPONSE_JSON), Some(GraphQlResponse));
        assert_eq!(accept("*/*"), Some(Json));
        assert_eq!(accept("application/*"), Some(Json));
        assert_eq!(
            accept("application/graphql-response+json, application/json"),
            Some(GraphQlResponse)
        );
        assert_eq!(
            accept("application/graphql-response+json;q=0.9, application/json"),
            Some(Json)
        );
        assert_eq!(
            accept("application/json;q=0.5, application/graphql-response+json;charset=utf-8"),
            Some(GraphQlResponse)
        );
        assert_eq!(
            accept("application/graphql-response+json, */*;q=0.1"),
            Some(GraphQlResponse)
        );
        assert_eq!(accept("text/html, */*;q=0.8"), Some(Json));
        assert_eq!(accept("text/html"), None);
        assert_eq!(accept("application/json;q=0"), None);
        assert_eq!(accept("application/json;q=0, */*"), Some(GraphQlResponse));
        assert_eq!(accept("application/xml"), None);
    }

    #[test]
    fn reads_get_parameters() {
        let params = from_get(Some(
            "query=%7B%20a%20%7D&operationName=A&variables=%7B%22x%22%3A1%7D",
        ))
        .unwrap();
        assert_eq!(params.query.as_deref(), Some("{ a }"));
        assert_eq!(params.operation_name.as_deref(), Some("A"));
        assert_eq!(params.variables["x"], 1);
        let bad = from_get(Some("query=x&variables=%7Bnot")).unwrap_err();
        assert_eq!(bad.status, StatusCode::BAD_REQUEST);
        assert!(from_get(Some("query=x&extensions=%5B1%5D")).is_err());
    }

    #[test]
    fn parameters_of_the_wrong_type_are_malformed() {
        let object = |v: Value| v.as_object().unwrap().clone();
        for body in [
            serde_json::json!({"query": 1}),
            serde_json::json!({"query": "{a}", "operationName": false}),
            serde_json::json!({"query": "{a}", "variables": "x"}),
            serde_json::json!({"query": "{a}", "extensions": [1]}),
        ] {
            assert!(from_object(object(body.clone())).is_err(), "{body}");
        }
        let ok = from_object(object(serde_json::json!({
            "query": "{a}", "operationName": null, "variables": null, "extensions": null
        })))
        .unwrap();
        assert_eq!(ok.query.as_deref(), Some("{a}"));
    }
}
