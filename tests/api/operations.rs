//! Running Bydel in production: `/healthz`, `/readyz` (database reachable and migrations
//! current), Prometheus `/metrics`, one JSON log line per request without variables or tokens,
//! and graceful shutdown on SIGTERM (the real binary).

use std::{
    io::{BufRead, BufReader},
    net::SocketAddr,
    process::{Child, Command, Stdio},
    time::Duration,
};

use migration::{Migrator, MigratorTrait};
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
    sync::mpsc,
};

use crate::{
    cli::{BYDEL_ENV, Workspace},
    harness::TestApp,
    queries,
};

async fn get(app: &TestApp, path: &str) -> (u16, String) {
    let response = reqwest::get(app.url(path))
        .await
        .expect("the server answers");
    let status = response.status().as_u16();
    (status, response.text().await.expect("a text body"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_and_readiness_answer_when_the_database_is_current() {
    let app = TestApp::spawn().await;

    assert_eq!(get(&app, "/healthz").await, (200, "ok".to_owned()));
    assert_eq!(get(&app, "/readyz").await, (200, "ready".to_owned()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn not_ready_while_a_migration_is_pending() {
    let app = TestApp::spawn().await;
    let last = Migrator::migrations()
        .last()
        .expect("there are migrations")
        .name()
        .to_owned();
    app.db
        .execute_unprepared(&format!(
            "DELETE FROM seaql_migrations WHERE version = '{last}'"
        ))
        .await
        .expect("the migration record can be removed");

    let (status, reason) = get(&app, "/readyz").await;

    assert_eq!(status, 503);
    assert!(
        reason.contains("1 migration(s) not applied") && reason.contains(&last),
        "{reason}"
    );
    assert_eq!(
        get(&app, "/healthz").await.0,
        200,
        "the process is still up"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn not_ready_without_the_database() {
    let app = TestApp::spawn().await;
    app.db.clone().close().await.expect("the pool closes");

    assert_eq!(
        get(&app, "/readyz").await,
        (503, "database unreachable".to_owned())
    );
    assert_eq!(get(&app, "/healthz").await.0, 200);
}

/// `name{labels} value` lines of a Prometheus text exposition, by series.
fn series(metrics: &str) -> Vec<(String, f64)> {
    metrics
        .lines()
        .filter(|line| !line.starts_with('#') && !line.is_empty())
        .filter_map(|line| {
            let (name, value) = line.rsplit_once(' ')?;
            Some((name.to_owned(), value.parse().ok()?))
        })
        .collect()
}

fn value(metrics: &str, name: &str) -> Option<f64> {
    series(metrics)
        .into_iter()
        .find(|(series, _)| series == name)
        .map(|(_, value)| value)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_requests_by_operation_and_outcome() {
    let app = TestApp::spawn().await;
    let token = app.token("secretariat", "projects:read").await;
    for _ in 0..2 {
        app.graphql(Some(&token), queries::PROJECT_NAMES, json!({}))
            .await
            .data();
    }
    let forbidden = app
        .graphql(
            Some(&token),
            queries::PARTICIPANT_BY_PSEUDONYM,
            json!({ "pseudonym": "BM-X" }),
        )
        .await;
    forbidden.expect_error("FORBIDDEN");
    app.graphql(
        Some(&token),
        "{ projects(first: 1) { totalCount } }",
        json!({}),
    )
    .await
    .data();
    app.graphql(None, queries::PROJECT_NAMES, json!({}))
        .await
        .expect_error("UNAUTHENTICATED");

    let (status, metrics) = get(&app, "/metrics").await;

    assert_eq!(status, 200);
    let requests = |operation: &str, outcome: &str| {
        value(
            &metrics,
            &format!(
                "bydel_graphql_requests_total{{operation=\"{operation}\",outcome=\"{outcome}\"}}"
            ),
        )
    };
    assert_eq!(requests("ProjectNames", "ok"), Some(2.0), "{metrics}");
    assert_eq!(requests("ParticipantByPseudonym", "forbidden"), Some(1.0));
    assert_eq!(requests("(anonymous)", "ok"), Some(1.0));
    assert_eq!(
        requests("(anonymous)", "unauthenticated"),
        Some(1.0),
        "a refused token never reveals the operation it tried"
    );
    assert_eq!(
        value(
            &metrics,
            "bydel_graphql_request_duration_seconds_count{operation=\"ProjectNames\"}"
        ),
        Some(2.0)
    );
    assert_eq!(
        value(&metrics, "bydel_rate_limit_refusals_total"),
        Some(0.0)
    );
    assert!(value(&metrics, "bydel_db_statements_total").is_some_and(|n| n > 0.0));
    let max = value(&metrics, "bydel_db_pool_max_connections").expect("the pool size");
    let open = value(&metrics, "bydel_db_pool_connections").expect("open connections");
    let idle = value(&metrics, "bydel_db_pool_idle_connections").expect("idle connections");
    assert!(
        max > 0.0 && open <= max && idle <= open,
        "{max} {open} {idle}"
    );
}

/// A client sending ever new operation names cannot grow the metric series without bound.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operation_labels_are_bounded() {
    let app = TestApp::spawn().await;
    let token = app.token("secretariat", "projects:read").await;
    let limit = bydel::metrics::MAX_OPERATION_LABELS;
    for i in 0..=limit + 5 {
        app.graphql(
            Some(&token),
            &format!("query Op{i} {{ __typename }}"),
            json!({}),
        )
        .await
        .data();
    }

    let (_, metrics) = get(&app, "/metrics").await;

    let labelled: Vec<String> = series(&metrics)
        .into_iter()
        .filter(|(name, _)| name.starts_with("bydel_graphql_requests_total{"))
        .map(|(name, _)| name)
        .collect();
    assert_eq!(labelled.len(), limit + 1, "{labelled:#?}");
    assert_eq!(
        value(
            &metrics,
            "bydel_graphql_requests_total{operation=\"(other)\",outcome=\"ok\"}"
        ),
        Some(6.0)
    );
}

/// `bydel serve` as operators run it: JSON logs on stderr, read line by line.
struct Server {
    child: Child,
    address: SocketAddr,
    lines: mpsc::UnboundedReceiver<String>,
    /// Every stderr line read so far.
    log: Vec<String>,
    _workspace: Workspace,
}

const WAIT: Duration = Duration::from_secs(30);

impl Server {
    /// Starts the binary over a fresh SQLite workspace with `BYDEL_LOG=filter`; returns it
    /// and a secretariat token with `scopes`.
    async fn start(filter: &str, scopes: &str) -> (Server, String) {
        let workspace = Workspace::new();
        let token = workspace
            .run_db(&[
                "token",
                "issue",
                "--organisation",
                "secretariat",
                "--scopes",
                scopes,
            ])
            .succeeded()
            .stdout()
            .trim()
            .to_owned();
        let mut command = Command::new(env!("CARGO_BIN_EXE_bydel"));
        for variable in BYDEL_ENV {
            command.env_remove(variable);
        }
        let mut child = command
            .args(["serve", "--listen", "127.0.0.1:0", "--log-format", "json"])
            .args(["--database-url", &workspace.url])
            .env("BYDEL_LOG", filter)
            .current_dir(workspace.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("bydel serve starts");
        let stderr = child.stderr.take().expect("stderr is piped");
        let (send, lines) = mpsc::unbounded_channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        let mut server = Server {
            child,
            address: "127.0.0.1:0".parse().expect("an address"),
            lines,
            log: Vec::new(),
            _workspace: workspace,
        };
        let listening = server
            .wait_for(|line| line.contains("Bydel is listening on http://"))
            .await;
        server.address = listening
            .split("http://")
            .nth(1)
            .and_then(|rest| rest.split('/').next())
            .and_then(|address| address.parse().ok())
            .unwrap_or_else(|| panic!("no address in {listening:?}"));
        (server, token)
    }

    /// The next stderr line that satisfies `wanted`; fails after [`WAIT`].
    async fn wait_for(&mut self, wanted: impl Fn(&str) -> bool) -> String {
        loop {
            match tokio::time::timeout(WAIT, self.lines.recv()).await {
                Ok(Some(line)) => {
                    self.log.push(line.clone());
                    if wanted(&line) {
                        return line;
                    }
                }
                outcome => panic!(
                    "bydel serve did not log the expected line ({outcome:?}); log:\n{}",
                    self.log.join("\n")
                ),
            }
        }
    }

    /// The next JSON log line with this `message` (and, if given, this request id).
    async fn wait_for_event(&mut self, message: &str, request_id: Option<&str>) -> Value {
        let line = self
            .wait_for(|line| {
                serde_json::from_str::<Value>(line).is_ok_and(|event| {
                    event["message"] == message
                        && request_id.is_none_or(|id| {
                            event["request_id"] == id || event["span"]["request_id"] == id
                        })
                })
            })
            .await;
        serde_json::from_str(&line).expect("a JSON log line")
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "SIGTERM could not be sent");
    }

    /// Reads the rest of its log until the process closes standard error by exiting, then
    /// collects its exit status.
    async fn exit_status(&mut self) -> std::process::ExitStatus {
        loop {
            match tokio::time::timeout(WAIT, self.lines.recv()).await {
                Ok(Some(line)) => self.log.push(line),
                Ok(None) => break,
                Err(_) => panic!("bydel serve did not exit; log:\n{}", self.log.join("\n")),
            }
        }
        self.child.wait().expect("the exited process can be reaped")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_logs_one_json_line_without_variables_or_token() {
    let (mut server, token) = Server::start("info", "participants:read").await;
    let client = reqwest::Client::new();
    let secret = "BM-PERSONAL-4711";

    let response = client
        .post(server.url("/graphql"))
        .bearer_auth(&token)
        .header("x-request-id", "log-test-42")
        .json(&json!({
            "query": queries::PARTICIPANT_BY_PSEUDONYM,
            "variables": { "pseudonym": secret },
        }))
        .send()
        .await
        .expect("the server answers");
    assert_eq!(response.status(), 200);
    let forged = format!("{token}x");
    let refused = client
        .post(server.url("/graphql"))
        .bearer_auth(&forged)
        .header("x-request-id", "log-test-43")
        .json(&json!({ "query": queries::PROJECT_NAMES }))
        .send()
        .await
        .expect("the server answers");
    assert_eq!(refused.status(), 401);

    let line = server
        .wait_for_event("request finished", Some("log-test-42"))
        .await;
    assert_eq!(line["operation"], "ParticipantByPseudonym", "{line:#}");
    assert_eq!(line["status"], 200);
    assert_eq!(line["outcome"], "ok");
    assert_eq!(line["path"], "/graphql");
    assert!(line["duration_ms"].as_f64().is_some(), "{line:#}");
    assert!(
        line["client"].as_str().is_some_and(|c| c.len() == 36),
        "{line:#}"
    );
    assert!(line["organisation"].as_str().is_some_and(|o| o.len() == 36));
    let refused = server
        .wait_for_event("request finished", Some("log-test-43"))
        .await;
    assert_eq!(refused["status"], 401);
    assert_eq!(refused["outcome"], "unauthenticated");
    assert_eq!(refused["client"], "");

    server.terminate();
    assert!(server.exit_status().await.success());
    let requests: Vec<&String> = server
        .log
        .iter()
        .filter(|line| line.contains("\"request finished\""))
        .collect();
    assert_eq!(requests.len(), 2, "one line per request: {requests:#?}");
    let signature = token.rsplit('.').next().expect("a JWT signature");
    for line in &server.log {
        for leak in [secret, signature, "pseudonym\":"] {
            assert!(!line.contains(leak), "{leak:?} reached the log: {line}");
        }
    }
}

/// SIGTERM while a request is in flight: the server stops accepting connections at once, the
/// request still gets its complete answer, and the process exits 0.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_finishes_the_request_in_flight_then_exits_0() {
    let (mut server, token) = Server::start("info,tower_http::trace=debug", "projects:read").await;
    let body = json!({ "query": queries::PROJECT_NAMES }).to_string();
    let (first, rest) = body.split_at(body.len() / 2);
    let mut held = TcpStream::connect(server.address)
        .await
        .expect("the server accepts a connection");
    let head = format!(
        "POST /graphql HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nAccept: application/json\r\n\
         X-Request-Id: held-1\r\nContent-Length: {}\r\n\r\n",
        server.address,
        body.len()
    );
    held.write_all(head.as_bytes()).await.expect("headers sent");
    held.write_all(first.as_bytes())
        .await
        .expect("half the body sent");
    // The server has the request (its trace span started) and waits for the rest of the body.
    server
        .wait_for_event("started processing request", Some("held-1"))
        .await;

    server.terminate();
    server
        .wait_for_event("no longer accepting connections", None)
        .await;
    let refused = TcpStream::connect(server.address).await;
    assert_eq!(
        refused.map_err(|err| err.kind()).err(),
        Some(std::io::ErrorKind::ConnectionRefused),
        "a new connection after SIGTERM is refused"
    );
    held.write_all(rest.as_bytes())
        .await
        .expect("the rest sent");
    let mut answer = String::new();
    tokio::time::timeout(WAIT, held.read_to_string(&mut answer))
        .await
        .expect("the held request is answered")
        .expect("the answer is readable");

    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let json = answer
        .split_once("\r\n\r\n")
        .map(|(_, body)| body)
        .expect("a body");
    let json: Value = serde_json::from_str(json).expect("a complete JSON body");
    assert_eq!(json["data"]["projects"]["totalCount"], 0, "{json:#}");
    let status = server.exit_status().await;
    assert_eq!(status.code(), Some(0), "log:\n{}", server.log.join("\n"));
    assert!(server.log.iter().any(|line| line.contains("\"stopped\"")));
}
