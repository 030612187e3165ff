//! The `bydel` command line as operators and partner scripts use it: the real binary in a
//! temporary working directory over its own SQLite file.
//!
//! Contract (DESIGN.md "Command line"): machine output alone on stdout, human output on
//! stderr, and bad input exits non-zero with a one-line reason.

use std::{
    path::{Path, PathBuf},
    process::{Command, Output},
    time::{Duration, Instant},
};

use migration::{Migrator, MigratorTrait};
use serde_json::json;
use tempfile::TempDir;

use crate::{
    harness::{Options, TestApp, claims_of, postgres_admin_url, total_count, with_database_name},
    queries,
};

/// Settings the binary reads from the environment; cleared so the developer's or CI's own
/// configuration cannot leak into these tests.
pub(crate) const BYDEL_ENV: [&str; 16] = [
    "BYDEL_GENERATE_SCALE",
    "BYDEL_GENERATE_SEED",
    "DATABASE_URL",
    "BYDEL_DATABASE_URL",
    "BYDEL_SIGNING_KEY_FILE",
    "BYDEL_SIGNING_KEY",
    "BYDEL_TOKEN_ISSUER",
    "BYDEL_TOKEN_AUDIENCE",
    "BYDEL_LISTEN",
    "BYDEL_DEMO",
    "BYDEL_LOG",
    "BYDEL_LOG_FORMAT",
    "BYDEL_TOKEN_CACHE_SECONDS",
    "BYDEL_RETENTION_PARTICIPANT_MONTHS",
    "BYDEL_RETENTION_AUDIT_MONTHS",
    "RUST_LOG",
];

/// A working directory with an SQLite database file named in `url`.
pub(crate) struct Workspace {
    dir: TempDir,
    pub(crate) url: String,
}

impl Workspace {
    pub(crate) fn new() -> Workspace {
        let dir = tempfile::Builder::new()
            .prefix("bydel-cli-")
            .tempdir()
            .expect("a temporary working directory");
        let url = format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("bydel.db").display()
        );
        Workspace { dir, url }
    }

    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }

    fn database(&self) -> PathBuf {
        self.dir.path().join("bydel.db")
    }

    /// Runs `bydel <args>` here and waits for it.
    pub(crate) fn run(&self, args: &[&str]) -> Run {
        run_in(self.dir.path(), args)
    }

    /// Runs `bydel <args> --database-url <this workspace's database>`.
    pub(crate) fn run_db(&self, args: &[&str]) -> Run {
        let mut all = args.to_vec();
        all.extend(["--database-url", &self.url]);
        self.run(&all)
    }
}

pub(crate) struct Run {
    args: String,
    pub(crate) output: Output,
}

impl Run {
    pub(crate) fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.output.stdout).into_owned()
    }

    pub(crate) fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.output.stderr).into_owned()
    }

    #[track_caller]
    pub(crate) fn succeeded(&self) -> &Self {
        assert!(
            self.output.status.success(),
            "`bydel {}` failed ({}):\n{}",
            self.args,
            self.output.status,
            self.stderr()
        );
        self
    }

    /// Checks the bad-input contract: non-zero, nothing on stdout, one line on stderr.
    #[track_caller]
    pub(crate) fn refused(&self) -> String {
        assert!(
            !self.output.status.success(),
            "`bydel {}` should fail; stdout: {}",
            self.args,
            self.stdout()
        );
        assert_eq!(self.stdout(), "", "`bydel {}` wrote to stdout", self.args);
        let stderr = self.stderr();
        let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
        assert_eq!(
            lines.len(),
            1,
            "`bydel {}` should give a one-line reason on stderr, got:\n{stderr}",
            self.args
        );
        lines[0].to_owned()
    }
}

pub(crate) fn run_in(dir: &Path, args: &[&str]) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_bydel"));
    command.args(args).current_dir(dir).env("NO_COLOR", "1");
    for variable in BYDEL_ENV {
        command.env_remove(variable);
    }
    Run {
        args: args.join(" "),
        output: command.output().expect("the bydel binary runs"),
    }
}

/// True for a compact JWS: three non-empty base64url parts.
fn is_jwt(text: &str) -> bool {
    let parts: Vec<&str> = text.split('.').collect();
    parts.len() == 3
        && parts.iter().all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

#[test]
fn migrate_then_status_lists_every_migration_as_applied() {
    let here = Workspace::new();

    here.run_db(&["migrate"]).succeeded();
    let status = here.run_db(&["migrate", "status"]);
    status.succeeded();

    // The status is machine-readable on stdout: `applied<TAB>name` or `pending<TAB>name`.
    let report = status.stdout();
    let migrations = Migrator::migrations();
    assert_eq!(migrations.len(), 23);
    for migration in &migrations {
        let line = report
            .lines()
            .find(|line| line.contains(migration.name()))
            .unwrap_or_else(|| panic!("status does not list {}:\n{report}", migration.name()));
        assert_eq!(line, format!("applied\t{}", migration.name()), "{report}");
    }
}

#[test]
fn token_issue_refuses_bad_input_with_a_one_line_reason() {
    let here = Workspace::new();
    here.run_db(&["migrate"]).succeeded();

    let cases: [(&[&str], &str); 4] = [
        (
            &[
                "token",
                "issue",
                "--organisation",
                "secretariat",
                "--scopes",
                "projects:destroy",
            ],
            "projects:destroy",
        ),
        (
            &[
                "token",
                "issue",
                "--organisation",
                "secretariat",
                "--scopes",
                "",
            ],
            "scope",
        ),
        (
            &[
                "token",
                "issue",
                "--organisation",
                "nowhere",
                "--scopes",
                "projects:read",
            ],
            "nowhere",
        ),
        (
            &[
                "token",
                "issue",
                "--organisation",
                "secretariat",
                "--scopes",
                "projects:read",
                "--ttl",
                "forever",
            ],
            "forever",
        ),
    ];
    for (args, hint) in cases {
        let reason = here.run_db(args).refused();
        assert!(
            reason.contains(hint),
            "`bydel {}`: the reason {reason:?} does not mention {hint:?}",
            args.join(" ")
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_issued_token_works_on_the_server_until_revoked() {
    let here = Workspace::new();
    let url = here.url.clone();
    let issue = tokio::task::spawn_blocking(move || {
        let here = here;
        here.run_db(&["migrate"]).succeeded();
        let issue = here.run_db(&[
            "token",
            "issue",
            "--organisation",
            "secretariat",
            "--scopes",
            "projects:read",
        ]);
        (here, issue)
    });
    let (here, issue) = issue.await.expect("the CLI runs");
    issue.succeeded();
    let stdout = issue.stdout();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines.len(),
        1,
        "stdout should hold the token alone: {stdout:?}"
    );
    let token = lines[0].to_owned();
    assert!(is_jwt(&token), "not a JWT: {token:?}");

    let key_file = bydel::config::default_key_file(&here.database());
    let pem = std::fs::read_to_string(&key_file).unwrap_or_else(|err| {
        panic!(
            "no signing key beside the database at {}: {err}",
            key_file.display()
        )
    });
    // SQLite: the command line runs in another process, whose revocation this server cannot
    // hear; it takes effect once the server's cached rows expire (README, token cache).
    let cache = Duration::from_secs(1);
    let options = Options {
        token_cache: cache,
        ..Options::default()
    };
    let app = TestApp::serve_existing_with(&url, &pem, options).await;
    let response = app
        .graphql(Some(&token), queries::PROJECT_NAMES, json!({}))
        .await;
    assert_eq!(total_count(response.data(), "projects"), 0);

    let jti = claims_of(&token).jti;
    let revoke = tokio::task::spawn_blocking(move || {
        let revoke = here.run_db(&["token", "revoke", &jti]);
        (here, revoke)
    });
    let (_here, revoke) = revoke.await.expect("the CLI runs");
    revoke.succeeded();
    assert_eq!(revoke.stdout(), "", "revoke prints nothing on stdout");

    let deadline = Instant::now() + cache + Duration::from_secs(2);
    let response = loop {
        let response = app
            .graphql(Some(&token), queries::PROJECT_NAMES, json!({}))
            .await;
        if response.status != 200 || Instant::now() > deadline {
            break response;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(response.status, 401, "{}", response.body);
    response.expect_error("UNAUTHENTICATED");
}

#[test]
fn schema_prints_the_committed_sdl() {
    let here = Workspace::new();
    let run = here.run(&["schema"]);
    run.succeeded();

    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../schema.graphql");
    let committed = std::fs::read_to_string(&path).expect("schema.graphql is readable");
    assert!(
        run.stdout() == committed,
        "`bydel schema` does not print schema.graphql; regenerate it with \
         `cargo run -p bydel -- schema --output schema.graphql`"
    );
}

#[test]
fn serve_on_postgres_without_a_signing_key_says_how_to_configure_one() {
    let here = Workspace::new();
    // A database that does not exist on the test server: the key check must come first, and
    // nothing may be created or served should it not.
    let url = with_database_name(&postgres_admin_url(), "bydel_test_never_created");

    let run = here.run(&["serve", "--listen", "127.0.0.1:0", "--database-url", &url]);

    let reason = run.refused();
    assert!(
        reason.contains("BYDEL_SIGNING_KEY_FILE"),
        "the reason should say how to configure a key: {reason}"
    );
}

/// `bydel ... | head -1`: the reader closes the pipe early. The command ends quietly with
/// status 0; before, `println!` panicked on `EPIPE` (status 101 and a panic message).
#[test]
fn a_closed_standard_output_ends_the_command_quietly() {
    let here = Workspace::new();
    here.run_db(&["migrate"]).succeeded();
    let schema: &[&str] = &["schema"];
    let status: &[&str] = &["migrate", "status", "--database-url", &here.url];
    for args in [schema, status] {
        let mut command = Command::new(env!("CARGO_BIN_EXE_bydel"));
        command
            .args(args)
            .current_dir(here.path())
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        for variable in BYDEL_ENV {
            command.env_remove(variable);
        }
        let mut child = command.spawn().expect("the bydel binary runs");
        // Closed before the command has written anything.
        drop(child.stdout.take());
        let output = child.wait_with_output().expect("the command ends");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            output.status.success(),
            "`bydel {}` with a closed stdout: {} {stderr}",
            args.join(" "),
            output.status
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

/// A token whose scopes its organisation can never use (the server would refuse it every
/// time) is not minted: one line says which scope and why.
#[test]
fn token_issue_refuses_scopes_the_organisation_can_never_use() {
    let here = Workspace::new();
    here.run_db(&["demo"]).succeeded();
    let ngo = "ngo-brobyggerne";
    for (organisation, scopes, refused) in [
        ("kommune-101", "referrals:read tokens:admin", "tokens:admin"),
        ("kommune-101", "audit:read", "audit:read"),
        (ngo, "projects:write mothers:write", "projects:write"),
    ] {
        let args = [
            "token",
            "issue",
            "--organisation",
            organisation,
            "--scopes",
            scopes,
        ];
        let reason = here.run_db(&args).refused();
        assert!(
            reason.contains(refused) && reason.contains("secretariat"),
            "{organisation} {scopes}: {reason}"
        );
    }
    // What each kind can use is still issued.
    for (organisation, scopes) in [
        (
            "kommune-101",
            "referrals:write participants:write stats:read",
        ),
        (ngo, "projects:read mothers:write referrals:admin"),
        ("secretariat", "tokens:admin audit:read projects:write"),
    ] {
        let args = [
            "token",
            "issue",
            "--organisation",
            organisation,
            "--scopes",
            scopes,
        ];
        assert!(is_jwt(here.run_db(&args).succeeded().stdout().trim()));
    }
}

/// A PostgreSQL that refuses the connection, or has no such database, is reported in one line
/// that says so, at once (before: "pool timed out" after 10 s).
#[test]
fn postgres_connection_errors_say_what_happened_at_once() {
    let here = Workspace::new();
    let key = here.path().join("key.pem");
    let key = key.to_string_lossy();
    here.run(&["key", "generate", "--output", &key]).succeeded();
    let mut cases = vec![(
        "postgres://postgres@127.0.0.1:1/x".to_owned(),
        "connection refused",
    )];
    if crate::harness::Backend::from_env() == crate::harness::Backend::Postgres {
        let url = with_database_name(&postgres_admin_url(), "bydel_test_no_such_database");
        cases.push((url, "\"bydel_test_no_such_database\" does not exist"));
    }
    for (url, says) in &cases {
        let serve: &[&str] = &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--signing-key-file",
            &key,
        ];
        for args in [&["migrate"][..], serve] {
            let mut all = args.to_vec();
            all.extend(["--database-url", url]);
            let started = Instant::now();
            let reason = here.run(&all).refused();
            let elapsed = started.elapsed();
            assert!(reason.contains(says), "`bydel {}`: {reason}", all.join(" "));
            assert!(
                elapsed < Duration::from_secs(5),
                "`bydel {}` took {elapsed:?}",
                all.join(" ")
            );
        }
    }
}
