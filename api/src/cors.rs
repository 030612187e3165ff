//! Cross-origin calls from browsers (CORS), for partners' dashboards on another origin.
//!
//! Off unless `--cors-origins` lists origins: then no response carries a CORS header. A
//! listed origin's preflight (`OPTIONS`) is answered here, before authentication, since a
//! browser never sends a token with it; its other requests get `Access-Control-Allow-Origin`
//! and authenticate as usual. Any other origin is not answered by this module at all: its
//! requests go on as if CORS did not exist (a preflight meets the token check and is refused
//! with 401), so no `Access-Control-*` header ever reaches it.
//!
//! Origins are exact (`https://dashboard.example.dk`): no `*`, no patterns. Bydel
//! authenticates with bearer tokens, never cookies, so credentials are not allowed either.

use std::{sync::Arc, time::Duration};

use axum::{
    extract::{Request, State},
    http::{HeaderName, HeaderValue, Method, Uri, header},
    middleware::Next,
    response::Response,
};
use tower::{Layer, ServiceExt};
use tower_http::cors::{AllowOrigin, CorsLayer};

/// The request headers a browser page may send: the token, the body's type, the key of a
/// retryable mutation and the caller's own request id.
const ALLOWED_HEADERS: [HeaderName; 4] = [
    header::AUTHORIZATION,
    header::CONTENT_TYPE,
    HeaderName::from_static("idempotency-key"),
    HeaderName::from_static("x-request-id"),
];
/// Response headers a page may read besides the CORS-safelisted ones.
const EXPOSED_HEADERS: [HeaderName; 1] = [HeaderName::from_static("x-request-id")];
/// How long a browser may reuse a preflight's answer.
const PREFLIGHT_MAX_AGE: Duration = Duration::from_secs(600);

/// One browser origin, `scheme://host[:port]`, lower case, exactly as browsers send it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin(HeaderValue);

impl Origin {
    pub fn as_str(&self) -> &str {
        self.0.to_str().unwrap_or_default()
    }
}

/// Parses one `--cors-origins` entry; the message says how to write it right.
pub fn parse_origin(text: &str) -> Result<Origin, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("an empty origin: remove the stray comma".into());
    }
    if text == "*" {
        return Err(
            "`*` is not accepted: list each origin exactly, e.g. https://dashboard.example.dk"
                .into(),
        );
    }
    let lower = text.to_ascii_lowercase();
    let uri: Uri = lower
        .parse()
        .map_err(|_| format!("{text:?} is not an origin like https://dashboard.example.dk"))?;
    let canonical = canonical_origin(&uri)
        .ok_or_else(|| format!("{text:?} is not an origin like https://dashboard.example.dk"))?;
    if canonical != lower {
        return Err(format!(
            "{text:?} is not an origin: write only scheme://host[:port], no path, no trailing \
             `/`, no user name ({canonical:?}?)"
        ));
    }
    if is_default_port(&uri) {
        return Err(format!(
            "{text:?} names its scheme's default port, which browsers leave out of Origin: drop it"
        ));
    }
    HeaderValue::from_str(&lower)
        .map(Origin)
        .map_err(|_| format!("{text:?} is not a valid header value"))
}

/// `scheme://authority` of an `http`/`https` URI with a host and no user info.
fn canonical_origin(uri: &Uri) -> Option<String> {
    let scheme = uri
        .scheme_str()
        .filter(|s| matches!(*s, "http" | "https"))?;
    let authority = uri.authority().filter(|a| !a.as_str().contains('@'))?;
    let host = authority.host();
    let plain = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '[' | ']' | ':');
    (!host.is_empty() && host.chars().all(plain)).then(|| format!("{scheme}://{authority}"))
}

fn is_default_port(uri: &Uri) -> bool {
    matches!(
        (uri.scheme_str(), uri.port_u16()),
        (Some("http"), Some(80)) | (Some("https"), Some(443))
    )
}

/// The origins allowed to call Bydel from a browser, and the layer that answers them.
#[derive(Clone, Default)]
pub struct CorsPolicy {
    origins: Vec<HeaderValue>,
    layer: Option<CorsLayer>,
}

impl CorsPolicy {
    /// CORS for exactly `origins`; none turns it off.
    pub fn new(origins: &[Origin]) -> CorsPolicy {
        let origins: Vec<HeaderValue> = origins.iter().map(|o| o.0.clone()).collect();
        let layer = (!origins.is_empty()).then(|| {
            CorsLayer::new()
                .allow_origin(AllowOrigin::list(origins.clone()))
                .allow_methods([Method::GET, Method::POST])
                .allow_headers(ALLOWED_HEADERS)
                .expose_headers(EXPOSED_HEADERS)
                .max_age(PREFLIGHT_MAX_AGE)
        });
        CorsPolicy { origins, layer }
    }

    /// The CORS layer when the request comes from a listed origin.
    fn layer_for(&self, request: &Request) -> Option<&CorsLayer> {
        let origin = request.headers().get(header::ORIGIN)?;
        self.origins
            .contains(origin)
            .then_some(self.layer.as_ref())
            .flatten()
    }
}

/// The middleware: a listed origin goes through tower-http's CORS layer (which answers its
/// preflight itself); everything else passes untouched, apart from `Vary: Origin` while CORS
/// is on, so a cache never hands one origin's answer to another.
pub async fn apply(
    State(policy): State<Arc<CorsPolicy>>,
    request: Request,
    next: Next,
) -> Response {
    if let Some(layer) = policy.layer_for(&request) {
        let cors = layer.clone().layer(next);
        return match cors.oneshot(request).await {
            Ok(response) => response,
            Err(never) => match never {},
        };
    }
    let mut response = next.run(request).await;
    if policy.layer.is_some() {
        response
            .headers_mut()
            .append(header::VARY, HeaderValue::from_static("origin"));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_exact_and_lower_case() {
        for (text, origin) in [
            (
                "https://dashboard.example.dk",
                "https://dashboard.example.dk",
            ),
            (" http://127.0.0.1:5173 ", "http://127.0.0.1:5173"),
            (
                "HTTPS://Dashboard.Example.DK",
                "https://dashboard.example.dk",
            ),
            ("http://[::1]:8080", "http://[::1]:8080"),
        ] {
            assert_eq!(
                parse_origin(text).map(|o| o.as_str().to_owned()),
                Ok(origin.into())
            );
        }
    }

    #[test]
    fn anything_but_an_exact_origin_is_refused() {
        for bad in [
            "",
            "*",
            "null",
            "dashboard.example.dk",
            "https://dashboard.example.dk/",
            "https://dashboard.example.dk/app",
            "https://dashboard.example.dk?x=1",
            "https://user@dashboard.example.dk",
            "ftp://dashboard.example.dk",
            "https://dashboard.example.dk:443",
            "http://dashboard.example.dk:80",
            "https://*.example.dk",
        ] {
            assert!(parse_origin(bad).is_err(), "{bad:?} was accepted");
        }
        assert!(parse_origin("*").unwrap_err().contains("not accepted"));
    }
}
