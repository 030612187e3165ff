//! The graphql-http server audits (GraphQL over HTTP spec conformance) against the real server:
//! `tests/http-audit` pins graphql-http and graphql; `npm ci` installs them once (again only
//! when the lockfile changes), then `node audit.mjs` runs every audit with a test token.

use std::{
    path::{Path, PathBuf},
    process::{Command, Output},
};

use crate::harness::TestApp;

fn audit_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/http-audit")
}

fn run(command: &mut Command) -> Output {
    command
        .output()
        .unwrap_or_else(|err| panic!("cannot run {command:?} (are node and npm installed?): {err}"))
}

/// `npm ci`, skipped when node_modules was installed from this very lockfile.
fn install(dir: &Path) {
    let lock =
        std::fs::read(dir.join("package-lock.json")).expect("tests/http-audit has a lockfile");
    let stamp_file = dir.join("node_modules/.bydel-lockfile");
    if std::fs::read(&stamp_file).is_ok_and(|stamp| stamp == lock) {
        return;
    }
    let output = run(Command::new("npm")
        .args(["ci", "--ignore-scripts", "--no-audit", "--no-fund"])
        .current_dir(dir));
    assert!(
        output.status.success(),
        "npm ci failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    std::fs::write(stamp_file, lock).expect("the install stamp can be written");
}

#[tokio::test]
async fn every_must_of_the_graphql_over_http_audit_passes() {
    let app = TestApp::spawn().await;
    let token = app.token("secretariat", "projects:read").await;
    let url = app.url("/graphql");
    let dir = audit_dir();
    // Blocking work off the runtime, so the server keeps answering meanwhile.
    let output = tokio::task::spawn_blocking(move || {
        install(&dir);
        run(Command::new("node")
            .args(["audit.mjs", &url, &token])
            .current_dir(&dir))
    })
    .await
    .expect("the audit runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    println!("{stdout}");
    assert!(
        output.status.success(),
        "the audit failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let summary: serde_json::Value = stdout
        .lines()
        .find_map(|line| line.strip_prefix("SUMMARY "))
        .and_then(|json| serde_json::from_str(json).ok())
        .unwrap_or_else(|| panic!("no SUMMARY line:\n{stdout}"));
    assert_eq!(summary["MUST"]["fail"], 0, "{stdout}");
    assert!(summary["MUST"]["pass"].as_u64() > Some(10), "{stdout}");
    // Bydel aims for every SHOULD as well; a regression here is a real one.
    assert_eq!(summary["SHOULD"]["fail"], 0, "{stdout}");
}
