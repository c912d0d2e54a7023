//! The ops console's files: served by the binary with a Content-Security-Policy that
//! allows no inline code, tagged for revalidation, no key needed (they hold no data).
//! The console itself is tested in a real browser by `scripts/console-test`.

use reqwest::Method;

use crate::helpers::TestApp;

#[tokio::test]
async fn the_console_is_served_with_a_strict_policy() {
    let app = TestApp::spawn().await;
    let page = app.call(Method::GET, "/console", None, None).await;
    assert_eq!(page.status(), 200);
    let h = page.headers().clone();
    assert_eq!(h["content-type"], "text/html; charset=utf-8");
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"));
    assert!(!csp.contains("unsafe"), "{csp}");
    assert_eq!(h["x-content-type-options"], "nosniff");
    let html = page.text().await.unwrap();
    // Scripts and styles only from files: no inline script or style element, no
    // attribute handler, nothing from another origin.
    assert!(html.contains(r#"<script src="/console/app.js" defer></script>"#));
    for inline in [
        "<script>", "<style", "onload=", "onclick=", "style=", "http://", "https://",
    ] {
        assert!(!html.contains(inline), "the page has {inline}");
    }

    for (file, kind) in [
        ("app.js", "text/javascript; charset=utf-8"),
        ("uplot.js", "text/javascript; charset=utf-8"),
        ("app.css", "text/css; charset=utf-8"),
        ("uplot.css", "text/css; charset=utf-8"),
    ] {
        let r = app
            .call(Method::GET, &format!("/console/{file}"), None, None)
            .await;
        assert_eq!(
            (
                r.status().as_u16(),
                r.headers()["content-type"].to_str().unwrap()
            ),
            (200, kind)
        );
        // Asked again with its tag: 304, no body.
        let tag = r.headers()["etag"].to_str().unwrap().to_string();
        let again = app
            .client
            .get(format!("{}/console/{file}", app.base))
            .header("if-none-match", tag)
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), 304);
    }
    let js = app
        .call(Method::GET, "/console/app.js", None, None)
        .await
        .text()
        .await
        .unwrap();
    // Text goes in as text: the script never parses data as HTML.
    for sink in [
        "innerHTML",
        "outerHTML",
        "insertAdjacentHTML",
        "document.write",
        "eval(",
    ] {
        assert!(!js.contains(sink), "app.js uses {sink}");
    }

    let missing = app
        .call(Method::GET, "/console/secrets.txt", None, None)
        .await;
    assert_eq!(missing.status(), 404);
    let body: serde_json::Value = missing.json().await.unwrap();
    assert_eq!(
        body["error"]["message"],
        "the console has no file \"secrets.txt\""
    );
    let up = app.call(Method::GET, "/console/../v1/me", None, None).await;
    assert_eq!(
        up.status(),
        401,
        "a path out of /console is the API's, which wants a key"
    );
}
