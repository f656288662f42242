//! A real browser for the tests: Debian's headless Chromium driven over WebDriver by
//! `chromedriver`, for the pages a person sees (the server-rendered console).
//!
//! [`chromium`] finds `/usr/bin/chromium` and `/usr/bin/chromedriver` and, when they are missing,
//! installs them with `apt-get` once per process, under a machine-wide file lock so that several
//! test binaries running at once install them once; the test command needs nothing installed by
//! hand. Without them (no root, no registry) it fails with what to install: browser tests fail,
//! they never skip.
//!
//! A [`Browser`] is one `chromedriver` on a free port and one session in a fresh profile, in a
//! 1366×900 window (headless Chromium 156 gives it a 1366×757 viewport), with the flags Chromium
//! needs on a closed network (without them it hangs on connections it cannot make). Dropping it ends the session (ChromeDriver quits Chromium), kills `chromedriver`
//! and deletes the profile, also when a test panics. Its methods are thin: each is one WebDriver
//! step, and a failure says which selector or URL it was about and on which page. Anything else
//! goes through [`Browser::client`].
//!
//! Not done here: JavaScript-driven waiting heuristics, retries of failed steps, or any other
//! browser than Chromium.

use std::fmt::Display;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{json, Value};

pub use fantoccini::elements::Element;

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// Without the network flags Chromium tries Google's hosts at start and hangs here.
const CHROMIUM_ARGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1366,900",
];
const POLL: Duration = Duration::from_millis(50);

/// Where the browser and its driver are.
#[derive(Debug, Clone)]
pub struct ChromiumPaths {
    pub chromium: PathBuf,
    pub chromedriver: PathBuf,
}

impl ChromiumPaths {
    fn present(&self) -> bool {
        self.chromium.is_file() && self.chromedriver.is_file()
    }
}

/// Chromium and ChromeDriver from Debian's packages, installed on first use in this process when
/// missing. `Err` says what failed and what to install.
pub fn chromium() -> Result<ChromiumPaths, String> {
    static INSTALLED: OnceLock<Result<ChromiumPaths, String>> = OnceLock::new();
    INSTALLED.get_or_init(install_chromium).clone()
}

fn install_chromium() -> Result<ChromiumPaths, String> {
    let paths = ChromiumPaths {
        chromium: CHROMIUM.into(),
        chromedriver: CHROMEDRIVER.into(),
    };
    if paths.present() {
        return Ok(paths);
    }
    // flock(1) holds the lock while the shell looks again and installs: a test binary that waited
    // finds them present. apt's own lock only makes a second apt-get fail, hence this one.
    let lock = std::env::temp_dir().join("isthmus-chromium-install.lock");
    let script = format!(
        "test -x {CHROMIUM} && test -x {CHROMEDRIVER} && exit 0; \
         apt-get -o DPkg::Lock::Timeout=300 update -qq && \
         apt-get -o DPkg::Lock::Timeout=300 install -y -qq chromium chromium-driver"
    );
    let wanted = "chromium and chromium-driver (apt-get install chromium chromium-driver, as root)";
    let output = Command::new("flock")
        .args(["-w", "900"])
        .arg(&lock)
        .args(["sh", "-c", &script])
        .env("DEBIAN_FRONTEND", "noninteractive")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("flock(1) did not run ({e}); install {wanted}"))?;
    if !output.status.success() {
        return Err(format!(
            "installing {wanted} failed ({}, lock {}):\n{}",
            output.status,
            lock.display(),
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    if paths.present() {
        Ok(paths)
    } else {
        Err(format!(
            "apt-get succeeded but {CHROMIUM} or {CHROMEDRIVER} is missing; install {wanted}"
        ))
    }
}

/// The workspace's target directory: `CARGO_TARGET_DIR` when set, else `target/`.
pub fn target_dir() -> PathBuf {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests crate is inside the workspace");
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => workspace.join(dir),
        None => workspace.join("target"),
    }
}

/// A cookie as the browser holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrowserCookie {
    pub name: String,
    pub value: String,
    pub http_only: bool,
    /// `Strict`, `Lax` or `None`, as the server set it; `None` when it set none.
    pub same_site: Option<String>,
}

/// One headless Chromium session behind its own `chromedriver`; see the module doc.
pub struct Browser {
    client: Client,
    session: String,
    driver: Child,
    port: u16,
    profile: PathBuf,
}

impl Browser {
    /// Starts `chromedriver` and a Chromium session (installing both first when missing).
    pub async fn start() -> Result<Self, String> {
        let paths = tokio::task::spawn_blocking(chromium)
            .await
            .map_err(|e| format!("the Chromium install task failed: {e}"))??;
        let (driver, port) = start_chromedriver(&paths.chromedriver).await?;
        let profile = std::env::temp_dir().join(format!(
            "isthmus-chromium-{}-{}",
            std::process::id(),
            uuid::Uuid::new_v4()
        ));
        // Owns the driver and the profile from here on, so an early return cleans up too.
        let mut starting = Starting {
            driver: Some(driver),
            profile: profile.clone(),
        };
        std::fs::create_dir_all(&profile)
            .map_err(|e| format!("creating the profile {}: {e}", profile.display()))?;
        let mut args: Vec<String> = CHROMIUM_ARGS.iter().map(|a| a.to_string()).collect();
        args.push(format!("--user-data-dir={}", profile.display()));
        let mut capabilities = serde_json::Map::new();
        capabilities.insert("browserName".into(), json!("chrome"));
        capabilities.insert(
            "goog:chromeOptions".into(),
            json!({ "binary": paths.chromium, "args": args }),
        );
        let url = format!("http://127.0.0.1:{port}");
        let mut builder = ClientBuilder::new(HttpConnector::new());
        builder.capabilities(capabilities);
        let client = tokio::time::timeout(Duration::from_secs(60), builder.connect(&url))
            .await
            .map_err(|_| format!("Chromium did not start a session within 60 s ({url})"))?
            .map_err(|e| format!("starting a Chromium session at {url}: {e}"))?;
        let session = client
            .session_id()
            .await
            .map_err(|e| format!("reading the session id: {e}"))?
            .ok_or("chromedriver gave no session id")?;
        Ok(Self {
            client,
            session,
            driver: starting.driver.take().expect("still owned"),
            port,
            profile,
        })
    }

    /// The WebDriver client, for what the methods here do not cover.
    pub fn client(&self) -> &Client {
        &self.client
    }

    pub async fn goto(&self, url: &str) -> Result<(), String> {
        self.client
            .goto(url)
            .await
            .map_err(|e| format!("goto {url}: {e}"))
    }

    pub async fn find(&self, css: &str) -> Result<Element, String> {
        match self.client.find(Locator::Css(css)).await {
            Ok(element) => Ok(element),
            Err(e) => Err(self.failed(format!("find `{css}`"), e).await),
        }
    }

    pub async fn find_all(&self, css: &str) -> Result<Vec<Element>, String> {
        match self.client.find_all(Locator::Css(css)).await {
            Ok(elements) => Ok(elements),
            Err(e) => Err(self.failed(format!("find all `{css}`"), e).await),
        }
    }

    /// The rendered text of the first element matching `css`.
    pub async fn text(&self, css: &str) -> Result<String, String> {
        match self.find(css).await?.text().await {
            Ok(text) => Ok(text),
            Err(e) => Err(self.failed(format!("text of `{css}`"), e).await),
        }
    }

    pub async fn click(&self, css: &str) -> Result<(), String> {
        match self.find(css).await?.click().await {
            Ok(()) => Ok(()),
            Err(e) => Err(self.failed(format!("click `{css}`"), e).await),
        }
    }

    /// Clears the field, then types `value` into it as keystrokes.
    pub async fn fill(&self, css: &str, value: &str) -> Result<(), String> {
        let field = self.find(css).await?;
        let typed = match field.clear().await {
            Ok(()) => field.send_keys(value).await,
            Err(e) => Err(e),
        };
        match typed {
            Ok(()) => Ok(()),
            Err(e) => Err(self.failed(format!("fill `{css}` with {value:?}"), e).await),
        }
    }

    /// Chooses the `<option>` whose `value` is `value` in the `<select>` matching `css`.
    pub async fn select(&self, css: &str, value: &str) -> Result<(), String> {
        match self.find(css).await?.select_by_value(value).await {
            Ok(()) => Ok(()),
            Err(e) => Err(self.failed(format!("select {value:?} in `{css}`"), e).await),
        }
    }

    /// Submits the form matching `form_css` by clicking its first submit button, as a person would.
    pub async fn submit(&self, form_css: &str) -> Result<(), String> {
        let submitted = match self.client.form(Locator::Css(form_css)).await {
            Ok(form) => form.submit().await,
            Err(e) => Err(e),
        };
        match submitted {
            Ok(()) => Ok(()),
            Err(e) => Err(self.failed(format!("submit `{form_css}`"), e).await),
        }
    }

    /// Polls until an element matches `css`, for at most `timeout`.
    pub async fn wait_for(&self, css: &str, timeout: Duration) -> Result<Element, String> {
        let deadline = Instant::now() + timeout;
        loop {
            let error = match self.client.find(Locator::Css(css)).await {
                Ok(element) => return Ok(element),
                Err(e) => e,
            };
            if Instant::now() >= deadline {
                let what = format!("waited {timeout:?} for `{css}`");
                return Err(self.failed(what, error).await);
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Polls until the text of the element matching `css` contains `needle`, for at most
    /// `timeout`; returns the whole text.
    pub async fn wait_for_text(
        &self,
        css: &str,
        needle: &str,
        timeout: Duration,
    ) -> Result<String, String> {
        let deadline = Instant::now() + timeout;
        loop {
            let last = match self.client.find(Locator::Css(css)).await {
                Ok(element) => match element.text().await {
                    Ok(text) if text.contains(needle) => return Ok(text),
                    Ok(text) => format!("its text was {text:?}"),
                    Err(e) => e.to_string(),
                },
                Err(e) => e.to_string(),
            };
            if Instant::now() >= deadline {
                let what = format!("waited {timeout:?} for `{css}` to contain {needle:?}");
                return Err(self.failed(what, last).await);
            }
            tokio::time::sleep(POLL).await;
        }
    }

    pub async fn current_url(&self) -> Result<String, String> {
        self.client
            .current_url()
            .await
            .map(String::from)
            .map_err(|e| format!("reading the current URL: {e}"))
    }

    pub async fn page_source(&self) -> Result<String, String> {
        match self.client.source().await {
            Ok(source) => Ok(source),
            Err(e) => Err(self.failed("reading the page source", e).await),
        }
    }

    /// The cookies the browser holds for the current page, HttpOnly ones included.
    pub async fn cookies(&self) -> Result<Vec<BrowserCookie>, String> {
        let cookies = match self.client.get_all_cookies().await {
            Ok(cookies) => cookies,
            Err(e) => return Err(self.failed("reading the cookies", e).await),
        };
        Ok(cookies
            .iter()
            .map(|c| BrowserCookie {
                name: c.name().to_string(),
                value: c.value().to_string(),
                http_only: c.http_only().unwrap_or(false),
                same_site: c.same_site().map(|s| s.to_string()),
            })
            .collect())
    }

    /// Runs `js` as a function body in the page (`return` gives the value back).
    pub async fn execute(&self, js: &str) -> Result<Value, String> {
        match self.client.execute(js, Vec::new()).await {
            Ok(value) => Ok(value),
            Err(e) => Err(self.failed(format!("execute {js:?}"), e).await),
        }
    }

    /// Writes a PNG of the viewport to `<target dir>/console-screenshots/<name>.png`; returns
    /// its path.
    pub async fn screenshot(&self, name: &str) -> Result<PathBuf, String> {
        let png = match self.client.screenshot().await {
            Ok(png) => png,
            Err(e) => return Err(self.failed(format!("screenshot {name:?}"), e).await),
        };
        let dir = target_dir().join("console-screenshots");
        let path = dir.join(format!("{name}.png"));
        std::fs::create_dir_all(&dir)
            .and_then(|()| std::fs::write(&path, png))
            .map_err(|e| format!("writing {}: {e}", path.display()))?;
        Ok(path)
    }

    /// "`what` on `<current URL>`: `error`", the page named when the browser can still tell it.
    async fn failed(&self, what: impl Display, error: impl Display) -> String {
        let page = match self.client.current_url().await {
            Ok(url) => url.to_string(),
            Err(_) => "an unknown page".to_string(),
        };
        format!("{what} on {page}: {error}")
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // A drop cannot await, and may run while the runtime winds down: a plain blocking request.
        let _ = end_session(self.port, &self.session);
        kill(&mut self.driver);
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// What [`Browser::start`] has started so far, undone when it returns early.
struct Starting {
    driver: Option<Child>,
    profile: PathBuf,
}

impl Drop for Starting {
    fn drop(&mut self) {
        if let Some(driver) = self.driver.as_mut() {
            kill(driver);
            let _ = std::fs::remove_dir_all(&self.profile);
        }
    }
}

fn kill(driver: &mut Child) {
    let _ = driver.kill();
    let _ = driver.wait();
}

/// `DELETE /session/{id}`: ChromeDriver quits Chromium and answers once it has, so the answer's
/// headers are all this waits for (ChromeDriver keeps the connection open after them).
fn end_session(port: u16, session: &str) -> std::io::Result<()> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(
        stream,
        "DELETE /session/{session} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\
         Content-Length: 0\r\nConnection: close\r\n\r\n"
    )?;
    let mut answer = Vec::new();
    let mut chunk = [0u8; 1024];
    while !answer.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut chunk)? {
            0 => break,
            n => answer.extend_from_slice(&chunk[..n]),
        }
    }
    Ok(())
}

/// `chromedriver` on a free port, once its `/status` says ready. The port is free when chosen
/// but may be taken before `chromedriver` binds it; then it exits and another port is tried.
async fn start_chromedriver(binary: &Path) -> Result<(Child, u16), String> {
    let http = reqwest::Client::new();
    let mut last = String::new();
    for _ in 0..3 {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("finding a free port: {e}"))?
            .port();
        let mut driver = Command::new(binary)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("starting {}: {e}", binary.display()))?;
        let status = format!("http://127.0.0.1:{port}/status");
        let deadline = Instant::now() + Duration::from_secs(20);
        last = loop {
            if let Ok(Some(exit)) = driver.try_wait() {
                break format!("chromedriver on port {port} exited ({exit})");
            }
            if Instant::now() >= deadline {
                kill(&mut driver);
                break format!("{status} did not answer ready within 20 s");
            }
            if let Ok(response) = http.get(&status).send().await {
                if let Ok(body) = response.json::<Value>().await {
                    if body["value"]["ready"] == true {
                        return Ok((driver, port));
                    }
                }
            }
            tokio::time::sleep(POLL).await;
        };
    }
    Err(last)
}
