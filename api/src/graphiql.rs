//! GraphiQL, served wholly from the binary, so it works on a network without internet access.
//!
//! The page at `GET /graphql` (for a browser, see `server::wants_graphiql`) loads only the
//! files below, vendored at pinned versions in `api/assets/graphiql/` (its README says how to
//! refresh them) and embedded at compile time. Its `Content-Security-Policy` allows nothing
//! but this server: no CDN, no inline script, no `eval`. The vendored files carry their
//! version in their name and are cached for a year; Bydel's own two small files and the page
//! are revalidated on every load, so an upgrade is seen at once.

use axum::{
    Router,
    http::{HeaderValue, header},
    response::{IntoResponse, Response},
    routing::get,
};

/// Where the assets are served; the page names them relative to `/graphql`.
const ASSET_PREFIX: &str = "/graphiql/assets/";

/// The page's policy, around the style nonce. `'self'` in `connect-src` also admits
/// `ws:`/`wss:` to this same host (CSP Level 3), which GraphiQL's subscriptions use. Fonts and
/// a few icons are `data:` URLs inside graphiql's stylesheet. GraphiQL 4 needs neither
/// `'unsafe-eval'` nor inline script. Its dialogs (Radix UI's scroll lock) insert a `<style>`
/// element at run time: instead of `'unsafe-inline'`, that element carries the page's nonce,
/// which the library reads from `window.__webpack_nonce__` (set by `bydel-graphiql.js`).
fn content_security_policy(style_nonce: Option<&str>) -> String {
    let styles = style_nonce.map_or_else(String::new, |nonce| format!(" 'nonce-{nonce}'"));
    format!(
        "default-src 'self'; script-src 'self'; style-src 'self'{styles}; \
         img-src 'self' data:; font-src 'self' data:; connect-src 'self'; object-src 'none'; \
         base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )
}

/// A fresh nonce for one response's inserted styles (128 random bits). Without randomness
/// the page goes without one: GraphiQL works, only its dialogs lose their scroll-lock style.
fn style_nonce() -> Option<String> {
    use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
    let mut bytes = [0u8; 16];
    match getrandom::fill(&mut bytes) {
        Ok(()) => Some(URL_SAFE_NO_PAD.encode(bytes)),
        Err(err) => {
            tracing::warn!(error = %err, "no randomness for GraphiQL's style nonce");
            None
        }
    }
}

/// Vendored files: immutable under their versioned name.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// Bydel's own files and the page: fetched again (cheaply) on every load.
const REVALIDATE: &str = "no-cache";

const JAVASCRIPT: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

/// One embedded file: its name under [`ASSET_PREFIX`], media type, caching and bytes.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    cache_control: &'static str,
    body: &'static [u8],
}

macro_rules! asset {
    ($name:literal, $content_type:expr, $cache_control:expr) => {
        Asset {
            name: $name,
            content_type: $content_type,
            cache_control: $cache_control,
            body: include_bytes!(concat!("../assets/graphiql/", $name)),
        }
    };
}

/// Everything the page loads, in the order its `<script>`s run (stylesheets first).
const ASSETS: &[Asset] = &[
    asset!("graphiql-4.1.2.min.css", CSS, IMMUTABLE),
    asset!("bydel-graphiql.css", CSS, REVALIDATE),
    asset!("react-18.3.1.production.min.js", JAVASCRIPT, IMMUTABLE),
    asset!("react-dom-18.3.1.production.min.js", JAVASCRIPT, IMMUTABLE),
    asset!("graphiql-4.1.2.min.js", JAVASCRIPT, IMMUTABLE),
    asset!("bydel-graphiql.js", JAVASCRIPT, REVALIDATE),
];

/// The query the editor opens with (a returning browser keeps its own tabs).
const FIRST_QUERY: &str = include_str!("../assets/graphiql/first-query.graphql");
/// The header editor's first text: the token goes after `Bearer `.
const HEADER_TEMPLATE: &str = "{\n  \"Authorization\": \"Bearer \"\n}";

/// The routes of the embedded assets; they need no token.
pub fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    ASSETS.iter().fold(Router::new(), |router, asset| {
        router.route(
            &format!("{ASSET_PREFIX}{}", asset.name),
            get(move || async move { serve_asset(asset) }),
        )
    })
}

fn serve_asset(asset: &'static Asset) -> Response {
    (
        [
            (header::CONTENT_TYPE, asset.content_type),
            (header::CACHE_CONTROL, asset.cache_control),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        asset.body,
    )
        .into_response()
}

/// The GraphiQL page with its security headers and a style nonce of its own.
pub fn page() -> Response {
    let nonce = style_nonce();
    let policy = content_security_policy(nonce.as_deref());
    let mut response = (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, REVALIDATE),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::REFERRER_POLICY, "no-referrer"),
        ],
        html(nonce.as_deref()),
    )
        .into_response();
    // Only base64url characters are added to a constant text, so the value is always valid.
    if let Ok(policy) = HeaderValue::from_str(&policy) {
        response
            .headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, policy);
    }
    response
}

/// The page: stylesheets, the settings as inert JSON, then the scripts. Paths are relative to
/// `/graphql`, so the page also works behind a proxy that serves Bydel under a prefix.
fn html(style_nonce: Option<&str>) -> String {
    let mut head = String::new();
    let mut scripts = String::new();
    for asset in ASSETS {
        let href = format!(".{ASSET_PREFIX}{}", asset.name);
        if asset.content_type == CSS {
            head.push_str(&format!("    <link rel=\"stylesheet\" href=\"{href}\">\n"));
        } else {
            scripts.push_str(&format!("    <script src=\"{href}\"></script>\n"));
        }
    }
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n  <head>\n    <meta charset=\"utf-8\">\n    \
         <meta name=\"robots\" content=\"noindex\">\n    \
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n    \
         <title>Bydel GraphiQL</title>\n    <link rel=\"icon\" href=\"data:,\">\n{head}  </head>\n  \
         <body>\n    <div id=\"graphiql\">Loading GraphiQL…</div>\n    \
         <script type=\"application/json\" id=\"bydel-graphiql-settings\">{}</script>\n{scripts}  \
         </body>\n</html>\n",
        settings_json(style_nonce)
    )
}

/// What `bydel-graphiql.js` reads: the endpoint, the first query, the header template and
/// the style nonce. `<`, `>` and `&` are escaped so the JSON can never close its `<script>`.
fn settings_json(style_nonce: Option<&str>) -> String {
    let settings = serde_json::json!({
        "endpoint": "graphql",
        "query": FIRST_QUERY,
        "headers": HEADER_TEMPLATE,
        "styleNonce": style_nonce,
    });
    settings
        .to_string()
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_names_every_asset_and_nothing_remote() {
        let page = html(Some("abc"));
        for asset in ASSETS {
            assert!(page.contains(&format!(".{ASSET_PREFIX}{}", asset.name)));
        }
        assert!(
            !page.contains("http://") && !page.contains("https://") && !page.contains("//unpkg")
        );
    }

    #[test]
    fn the_settings_cannot_close_their_script_element() {
        let settings = settings_json(Some("abc"));
        assert!(!settings.contains('<'));
        let parsed: serde_json::Value = serde_json::from_str(&settings).expect("valid JSON");
        assert_eq!(parsed["headers"], HEADER_TEMPLATE);
        assert!(
            parsed["query"]
                .as_str()
                .is_some_and(|q| q.contains("projects(first: 5)"))
        );
    }
}
