//! GraphiQL over plain HTTP: the page's security headers and the embedded assets' media types
//! and caching (the browser test in `browser.rs` shows the page working).

use reqwest::header;

use crate::harness::TestApp;

async fn get(app: &TestApp, path: &str, accept: &str) -> reqwest::Response {
    app.client()
        .get(app.url(path))
        .header(header::ACCEPT, accept)
        .send()
        .await
        .expect("the server answers")
}

fn header_of<'a>(response: &'a reqwest::Response, name: &str) -> &'a str {
    response
        .headers()
        .get(name)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_else(|| panic!("no {name} header: {:?}", response.headers()))
}

#[tokio::test]
async fn the_page_has_a_strict_content_security_policy_and_names_no_other_host() {
    let app = TestApp::spawn().await;
    let page = get(&app, "/graphql", "text/html").await;
    assert_eq!(page.status(), 200);
    assert_eq!(header_of(&page, "content-type"), "text/html; charset=utf-8");
    let policy = header_of(&page, "content-security-policy").to_owned();
    let directives: Vec<&str> = policy.split(';').map(str::trim).collect();
    for required in [
        "default-src 'self'",
        "script-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "frame-ancestors 'none'",
    ] {
        assert!(
            directives.contains(&required),
            "{required} missing: {policy}"
        );
    }
    assert!(
        !policy.contains("unsafe"),
        "no unsafe-eval, no unsafe-inline: {policy}"
    );
    let style = directives
        .iter()
        .find(|d| d.starts_with("style-src "))
        .unwrap_or_else(|| panic!("no style-src: {policy}"));
    assert!(style.starts_with("style-src 'self' 'nonce-"), "{policy}");
    let again = get(&app, "/graphql", "text/html").await;
    assert_ne!(
        header_of(&again, "content-security-policy"),
        policy,
        "every page has its own nonce"
    );
    assert!(
        !policy.contains("http"),
        "no other host is allowed: {policy}"
    );
    assert_eq!(header_of(&page, "x-content-type-options"), "nosniff");
    let html = page.text().await.expect("the page has a body");
    assert!(html.contains("GraphiQL"));
    assert!(
        !html.contains("https://") && !html.contains("http://"),
        "{html}"
    );
    // Every script is a file of this server: the policy forbids inline script.
    assert_eq!(
        html.matches("<script").count(),
        html.matches("<script src=\"./graphiql/assets/").count() + 1,
        "only the settings block (inert JSON) is inline: {html}"
    );
    assert!(html.contains("<script type=\"application/json\" id=\"bydel-graphiql-settings\">"));
}

#[tokio::test]
async fn the_assets_are_served_with_their_media_type_and_cached_by_version() {
    let app = TestApp::spawn().await;
    for (path, media, cache) in [
        ("graphiql-4.1.2.min.js", "text/javascript", "immutable"),
        (
            "react-18.3.1.production.min.js",
            "text/javascript",
            "immutable",
        ),
        (
            "react-dom-18.3.1.production.min.js",
            "text/javascript",
            "immutable",
        ),
        ("graphiql-4.1.2.min.css", "text/css", "immutable"),
        ("bydel-graphiql.js", "text/javascript", "no-cache"),
        ("bydel-graphiql.css", "text/css", "no-cache"),
    ] {
        // No token: a browser loads them before anyone has pasted one.
        let asset = get(&app, &format!("/graphiql/assets/{path}"), "*/*").await;
        assert_eq!(asset.status(), 200, "{path}");
        assert_eq!(
            header_of(&asset, "content-type"),
            format!("{media}; charset=utf-8"),
            "{path}"
        );
        assert!(header_of(&asset, "cache-control").contains(cache), "{path}");
        assert_eq!(header_of(&asset, "x-content-type-options"), "nosniff");
        let body = asset.bytes().await.expect("the asset has a body");
        assert!(body.len() > 100, "{path} is empty");
    }
    let react = get(
        &app,
        "/graphiql/assets/react-18.3.1.production.min.js",
        "*/*",
    )
    .await;
    let text = react.text().await.expect("a body");
    assert!(
        text.contains("production.min.js"),
        "the production build of React"
    );
    assert_eq!(
        get(&app, "/graphiql/assets/missing.js", "*/*")
            .await
            .status(),
        404
    );
}
