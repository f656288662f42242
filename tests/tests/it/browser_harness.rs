//! The real-browser harness (`isthmus_tests::browser`) proved on a tiny page served here on port
//! 0: a form posted to this server, a cookie set by it, a screenshot of what Chromium rendered.
//! What the browser did is checked where it lands (the server's state, the cookie jar, the file),
//! not only on the page.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::header::SET_COOKIE;
use axum::response::{Html, IntoResponse, Redirect};
use axum::routing::get;
use axum::{Form, Router};
use isthmus_tests::browser::{Browser, BrowserCookie};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

const WAIT: Duration = Duration::from_secs(10);

/// The forms this server received, each as its fields in the order posted.
type Received = Arc<Mutex<Vec<Vec<(String, String)>>>>;

/// The tiny site: `/` a form, `POST /orders` records it and redirects to `/orders/saved`,
/// `/session` sets an HttpOnly SameSite=Strict cookie.
struct Site {
    url: String,
    received: Received,
    shutdown: Option<oneshot::Sender<()>>,
}

impl Site {
    async fn start() -> Self {
        let received = Received::default();
        let app = Router::new()
            .route("/", get(order_form))
            .route("/orders", axum::routing::post(save_order))
            .route("/orders/saved", get(saved_order))
            .route("/session", get(sign_in))
            .with_state(received.clone());
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (shutdown, stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await
                .unwrap();
        });
        Self {
            url,
            received,
            shutdown: Some(shutdown),
        }
    }

    fn at(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }

    fn received(&self) -> Vec<Vec<(String, String)>> {
        self.received.lock().unwrap().clone()
    }
}

impl Drop for Site {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

fn page(title: &str, body: &str) -> Html<String> {
    Html(format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{title}</title>\
         <style>body{{font-family:sans-serif;margin:2em}}label{{display:block;margin:.5em 0}}\
         </style></head><body><h1>{title}</h1>{body}</body></html>"
    ))
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

async fn order_form() -> Html<String> {
    page(
        "New order",
        "<form id=\"order\" method=\"post\" action=\"/orders\">\
         <label>Customer <input id=\"customer\" name=\"customer\" value=\"placeholder\"></label>\
         <label>Tier <select id=\"tier\" name=\"tier\">\
         <option value=\"bronze\">Bronze</option><option value=\"silver\">Silver</option>\
         <option value=\"gold\">Gold</option></select></label>\
         <button type=\"submit\">Save order</button></form>",
    )
}

async fn save_order(
    State(received): State<Received>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Redirect {
    received.lock().unwrap().push(fields);
    Redirect::to("/orders/saved")
}

async fn saved_order(State(received): State<Received>) -> Html<String> {
    let last = received.lock().unwrap().last().cloned().unwrap_or_default();
    let fields: Vec<String> = last
        .iter()
        .map(|(name, value)| format!("{name}={}", escape(value)))
        .collect();
    page(
        "Order saved",
        &format!("<p id=\"saved\">Saved {}</p>", fields.join(", ")),
    )
}

async fn sign_in() -> impl IntoResponse {
    (
        [(
            SET_COOKIE,
            "console_session=s3cr3t; HttpOnly; SameSite=Strict; Path=/",
        )],
        page("Signed in", "<p id=\"signed-in\">Welcome</p>"),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_form_filled_and_submitted_in_chromium_reaches_the_server() {
    let site = Site::start().await;
    let browser = Browser::start().await.unwrap();
    browser.goto(&site.at("/")).await.unwrap();
    browser.fill("#customer", "Acme & Sons <EU>").await.unwrap();
    browser.select("#tier", "gold").await.unwrap();
    browser.submit("form#order").await.unwrap();

    let saved = browser
        .wait_for_text("#saved", "tier=gold", WAIT)
        .await
        .unwrap();
    assert_eq!(saved, "Saved customer=Acme & Sons <EU>, tier=gold");
    assert_eq!(
        site.received(),
        vec![vec![
            ("customer".to_string(), "Acme & Sons <EU>".to_string()),
            ("tier".to_string(), "gold".to_string()),
        ]],
        "the server received the typed value (the placeholder cleared) and the chosen option"
    );
    assert_eq!(
        browser.current_url().await.unwrap(),
        site.at("/orders/saved"),
        "the post was redirected"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_httponly_samesite_strict_cookie_is_read_with_its_flags() {
    let site = Site::start().await;
    let browser = Browser::start().await.unwrap();
    browser.goto(&site.at("/session")).await.unwrap();
    browser.wait_for("#signed-in", WAIT).await.unwrap();

    let cookies = browser.cookies().await.unwrap();
    assert_eq!(
        cookies,
        vec![BrowserCookie {
            name: "console_session".into(),
            value: "s3cr3t".into(),
            http_only: true,
            same_site: Some("Strict".into()),
        }]
    );
    let seen_by_script = browser.execute("return document.cookie").await.unwrap();
    assert_eq!(
        seen_by_script, "",
        "page scripts cannot read an HttpOnly cookie"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_screenshot_is_a_png_of_a_1366_wide_viewport_under_the_target_dir() {
    let site = Site::start().await;
    let browser = Browser::start().await.unwrap();
    browser.goto(&site.at("/")).await.unwrap();
    browser.wait_for("form#order button", WAIT).await.unwrap();

    let width = browser.execute("return window.innerWidth").await.unwrap();
    assert_eq!(width, 1366);
    let path = browser.screenshot("browser-harness-form").await.unwrap();
    assert!(path.ends_with("console-screenshots/browser-harness-form.png"));
    let png = std::fs::read(&path).unwrap();
    assert!(
        png.starts_with(b"\x89PNG\r\n\x1a\n"),
        "{} is a PNG",
        path.display()
    );
    assert!(png.len() > 1_000, "a rendered page, not an empty image");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_wait_names_the_selector_and_the_page() {
    let site = Site::start().await;
    let browser = Browser::start().await.unwrap();
    let url = site.at("/");
    browser.goto(&url).await.unwrap();

    let error = browser
        .wait_for("#no-such-thing", Duration::from_millis(200))
        .await
        .unwrap_err();
    assert!(error.contains("`#no-such-thing`"), "{error}");
    assert!(error.contains(&url), "{error}");
    let error = browser
        .wait_for_text("h1", "Elsewhere", Duration::from_millis(200))
        .await
        .unwrap_err();
    assert!(
        error.contains("\"New order\""),
        "the last text seen: {error}"
    );
}
