//! Third-party clients against the sandbox: the Python suite in `tests/thirdparty/` (pytest with
//! `simple-salesforce`, `requests-oauthlib` and `netsuite`) run against a seeded sandbox started
//! here: Salesforce on HTTPS (simple-salesforce only speaks `https://`), NetSuite on HTTPS and
//! HTTP, each listener on port 0, the generated certificate written to a temporary file.
//!
//! The clients are used unchanged: what they send is what they would send to the real APIs, so a
//! failure here is a deviation of the sandbox from the vendors' documented behaviour. The harness
//! installs the pinned packages into its own venv (`isthmus_tests::python`); a failed install
//! fails the test (never skips it).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use isthmus_sandbox::{credentials, seed, serve, serve_tls, Sandbox, SandboxConfig, TlsIdentity};
use serde_json::json;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// The Python modules the suite imports.
const MODULES: &str =
    "import pytest, requests, requests_oauthlib, simple_salesforce, jwt, netsuite";

/// A RESTlet registered for the suite: answers its method, parameters and body.
const ECHO_SCRIPT: &str = "1789";
const ECHO_DEPLOY: &str = "1";

/// A file removed when dropped.
struct TempFile(PathBuf);

impl TempFile {
    fn write(name: &str, contents: &str) -> Self {
        let path = std::env::temp_dir().join(format!(
            "isthmus-thirdparty-{}-{}-{name}",
            std::process::id(),
            uuid::Uuid::new_v4()
        ));
        std::fs::write(&path, contents).expect("temporary file is writable");
        Self(path)
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// The sandbox served four ways; stops when dropped.
struct Served {
    env: Vec<(&'static str, String)>,
    _cert: TempFile,
    _jwt_key: TempFile,
    _stop: Vec<oneshot::Sender<()>>,
}

async fn serve_sandbox() -> Served {
    let sandbox = Sandbox::new(SandboxConfig {
        seed: true,
        ..SandboxConfig::default()
    })
    .expect("sandbox starts");
    sandbox.register_restlet(ECHO_SCRIPT, ECHO_DEPLOY, |_, request| {
        Ok(json!({
            "method": request.method.as_str(),
            "params": request.params,
            "body": request.body,
        }))
    });
    let identity = TlsIdentity::generate().expect("certificate");
    let mut stop = Vec::new();
    let mut env = Vec::new();
    let listeners = [
        ("SANDBOX_SF_HTTPS_URL", sandbox.salesforce_router(), true),
        ("SANDBOX_NS_HTTPS_URL", sandbox.netsuite_router(), true),
        ("SANDBOX_NS_HTTP_URL", sandbox.netsuite_router(), false),
    ];
    for (name, router, tls) in listeners {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("address").port();
        let (tx, rx) = oneshot::channel::<()>();
        stop.push(tx);
        let shutdown = async move {
            let _ = rx.await;
        };
        let url = if tls {
            tokio::spawn(serve_tls(listener, router, &identity, shutdown));
            format!("https://localhost:{port}")
        } else {
            tokio::spawn(serve(listener, router, shutdown));
            format!("http://127.0.0.1:{port}")
        };
        env.push((name, url));
    }
    let cert = TempFile::write("sandbox.pem", identity.cert_pem());
    let jwt_key = TempFile::write("sf-jwt.pem", credentials::SF_JWT_PRIVATE_KEY_PEM);
    env.extend([
        ("SANDBOX_CA_CERT", cert.0.display().to_string()),
        ("SF_CLIENT_ID", credentials::SF_CLIENT_ID.to_owned()),
        ("SF_CLIENT_SECRET", credentials::SF_CLIENT_SECRET.to_owned()),
        ("SF_USERNAME", credentials::SF_USERNAME.to_owned()),
        ("SF_PASSWORD", credentials::SF_PASSWORD.to_owned()),
        ("SF_JWT_KEY_FILE", jwt_key.0.display().to_string()),
        ("NS_ACCOUNT_ID", credentials::NS_ACCOUNT_ID.to_owned()),
        ("NS_CONSUMER_KEY", credentials::NS_CONSUMER_KEY.to_owned()),
        (
            "NS_CONSUMER_SECRET",
            credentials::NS_CONSUMER_SECRET.to_owned(),
        ),
        ("NS_TOKEN_ID", credentials::NS_TOKEN_ID.to_owned()),
        ("NS_TOKEN_SECRET", credentials::NS_TOKEN_SECRET.to_owned()),
        ("NS_ECHO_RESTLET_SCRIPT", ECHO_SCRIPT.to_owned()),
        ("NS_ECHO_RESTLET_DEPLOY", ECHO_DEPLOY.to_owned()),
        ("SEED_ACCOUNT_COUNT", seed::ACCOUNT_COUNT.to_string()),
        ("SEED_CUSTOMER_COUNT", seed::CUSTOMER_COUNT.to_string()),
        (
            "SEED_FRESH_ACCOUNT_NAME",
            seed::FRESH_ACCOUNT_NAME.to_owned(),
        ),
        (
            "SEED_QUOTED_ACCOUNT_NAME",
            seed::QUOTED_ACCOUNT_NAME.to_owned(),
        ),
    ]);
    Served {
        env,
        _cert: cert,
        _jwt_key: jwt_key,
        _stop: stop,
    }
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests crate sits in the repository")
        .to_path_buf()
}

fn python(args: &[&str], env: &[(&'static str, String)]) -> std::io::Result<Output> {
    let python = isthmus_tests::python().map_err(std::io::Error::other)?;
    Command::new(python)
        .args(args)
        .current_dir(repo_root())
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        // The suite needs no pytest plugins; installed ones stay out of it.
        .env("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Installs what the suite needs when missing; fails, naming the install command, when
/// Python or a package is still missing.
fn require_packages() {
    if let Err(err) = isthmus_tests::python() {
        panic!("the third-party client tests need their Python packages: {err}");
    }
    match python(&["-c", MODULES], &[]) {
        Err(err) => panic!("the tests' Python venv does not run ({err})"),
        Ok(output) if !output.status.success() => panic!(
            "the tests' Python venv lacks a package of tests/thirdparty/requirements.txt\n{}",
            text(&output)
        ),
        Ok(_) => {}
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn third_party_clients_work_against_the_sandbox_unchanged() {
    require_packages();
    let served = serve_sandbox().await;
    let env = served.env.clone();
    let output = tokio::task::spawn_blocking(move || {
        python(
            &[
                "-m",
                "pytest",
                "tests/thirdparty",
                "-q",
                "-p",
                "no:cacheprovider",
            ],
            &env,
        )
    })
    .await
    .expect("pytest runner")
    .expect("the venv's python runs");
    let report = text(&output);
    println!("{report}");
    assert!(
        output.status.success(),
        "the third-party client suite failed ({}):\n{report}",
        output.status
    );
}
