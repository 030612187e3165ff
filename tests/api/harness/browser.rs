//! Headless Chromium for the browser tests: the pinned playwright-core of `tests/browser`
//! (installed once with `npm ci`) drives Debian's `/usr/bin/chromium`. A missing browser,
//! node or npm fails the test with a clear message; nothing is ever skipped.

use std::{
    path::{Path, PathBuf},
    process::Command,
    sync::OnceLock,
};

use serde_json::Value;

/// The browser the scripts launch (`BYDEL_TEST_CHROMIUM` overrides it, as in `chromium.mjs`).
fn chromium() -> PathBuf {
    std::env::var_os("BYDEL_TEST_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"))
}

/// `tests/browser`: package.json, package-lock.json and the scripts.
fn project_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/browser")
}

/// Runs `node script args...` in `tests/browser` and returns the object of its `RESULT` line.
pub async fn run(script: &str, args: &[&str]) -> Value {
    let browser = chromium();
    assert!(
        browser.exists(),
        "the browser tests need Chromium at {}: install it with `apt-get install -y chromium` \
         (.ci/run does)",
        browser.display()
    );
    install().await;
    let mut command = Command::new("node");
    command.arg(script).args(args).current_dir(project_dir());
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .expect("the node thread does not panic")
        .unwrap_or_else(|err| panic!("cannot run node (needed for the browser tests): {err}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    stdout
        .lines()
        .find_map(|line| line.strip_prefix("RESULT "))
        .and_then(|json| serde_json::from_str(json).ok())
        .unwrap_or_else(|| {
            panic!(
                "node {script} printed no RESULT line ({}):\n{stdout}\n{}",
                output.status,
                String::from_utf8_lossy(&output.stderr)
            )
        })
}

/// `npm ci`, unless `node_modules` was installed from exactly the current lockfile. Once per
/// test process.
async fn install() {
    static INSTALLED: OnceLock<Result<(), String>> = OnceLock::new();
    let result = tokio::task::spawn_blocking(|| INSTALLED.get_or_init(npm_ci).clone())
        .await
        .expect("the npm install thread does not panic");
    if let Err(err) = result {
        panic!("{err}");
    }
}

/// playwright-core has no install script; `--ignore-scripts` keeps it from ever downloading a
/// browser of its own.
fn npm_ci() -> Result<(), String> {
    super::node::npm_ci_in(&project_dir(), &["--ignore-scripts"])
}
