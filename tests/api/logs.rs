//! What `bydel serve` writes to standard error for log collectors: with `--log-format json`
//! every line is one JSON object (the hints included, and never the demo's live token), no
//! ANSI colour unless standard error is a terminal, and a caller's `X-Request-Id` only when it
//! is short visible ASCII (otherwise a generated one is logged and echoed).

use std::{
    io::{BufRead, BufReader},
    process::{Child, Command, Stdio},
    sync::mpsc,
    time::Duration,
};

use reqwest::header::HeaderValue;
use serde_json::{Value, json};

use crate::{
    cli::{BYDEL_ENV, Workspace},
    harness::TestApp,
};

const WAIT: Duration = Duration::from_secs(60);

/// `bydel serve` over a fresh SQLite workspace, its stderr and stdout read line by line.
struct Serve {
    child: Child,
    stderr: mpsc::Receiver<String>,
    stdout: mpsc::Receiver<String>,
    _workspace: Workspace,
}

impl Serve {
    fn start(flags: &[&str]) -> Serve {
        let workspace = Workspace::new();
        let mut command = Command::new(env!("CARGO_BIN_EXE_bydel"));
        for variable in BYDEL_ENV.iter().chain(&["NO_COLOR"]) {
            command.env_remove(variable);
        }
        let mut child = command
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--database-url",
                &workspace.url,
            ])
            .args(flags)
            .env("BYDEL_LOG", "info")
            .current_dir(workspace.path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("bydel serve starts");
        let lines = |stream: Box<dyn std::io::Read + Send>| {
            let (send, receive) = mpsc::channel();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    if send.send(line).is_err() {
                        break;
                    }
                }
            });
            receive
        };
        let stderr = lines(Box::new(child.stderr.take().expect("piped")));
        let stdout = lines(Box::new(child.stdout.take().expect("piped")));
        Serve {
            child,
            stderr,
            stdout,
            _workspace: workspace,
        }
    }

    /// Reads stderr up to the line that says where the server listens; returns the lines.
    fn until_listening(&self) -> (Vec<String>, String) {
        let mut seen = Vec::new();
        loop {
            let line = self.stderr.recv_timeout(WAIT).unwrap_or_else(|_| {
                panic!(
                    "bydel serve did not say where it listens:\n{}",
                    seen.join("\n")
                )
            });
            seen.push(line.clone());
            if let Some(rest) = line.split("Bydel is listening on http://").nth(1) {
                let address = rest.split('/').next().unwrap_or_default().to_owned();
                return (seen, address);
            }
        }
    }

    /// Stops the process and returns the rest of its stderr.
    fn stop(mut self) -> Vec<String> {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.stderr.iter().collect()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_are_json_on_every_line_and_hold_no_live_token() {
    let serve = Serve::start(&["--demo", "--log-format", "json"]);
    let (mut log, address) = serve.until_listening();
    let token = serve
        .stdout
        .recv_timeout(WAIT)
        .expect("the demo token on standard output");
    let response = reqwest::Client::new()
        .post(format!("http://{address}/graphql"))
        .bearer_auth(&token)
        .json(&json!({ "query": "{ projects { totalCount } }" }))
        .send()
        .await
        .expect("the server answers");
    assert_eq!(response.status(), 200, "the token on stdout works");
    // The request's line is written once its response is ready; wait for it.
    loop {
        let line = serve
            .stderr
            .recv_timeout(WAIT)
            .expect("the request's log line");
        log.push(line.clone());
        if line.contains("request finished") {
            break;
        }
    }
    log.extend(serve.stop());

    let signature = token.rsplit('.').next().expect("a JWT");
    assert!(log.len() >= 4, "{log:#?}");
    for line in &log {
        let event: Value = serde_json::from_str(line)
            .unwrap_or_else(|err| panic!("not a JSON line ({err}): {line:?}"));
        assert!(event["message"].is_string(), "{line}");
        assert!(!line.contains("\u{1b}["), "ANSI colour in {line:?}");
        assert!(
            !line.contains(signature),
            "the live token reached the log: {line}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_command_under_json_logs_says_why_in_one_json_line() {
    let here = Workspace::new();
    let run = tokio::task::spawn_blocking(move || {
        here.run_db(&[
            "--log-format",
            "json",
            "token",
            "issue",
            "--organisation",
            "nowhere",
            "--scopes",
            "projects:read",
        ])
    })
    .await
    .expect("the CLI runs");
    let line = run.refused();
    let event: Value = serde_json::from_str(&line).unwrap_or_else(|err| panic!("{err}: {line}"));
    assert_eq!(event["level"], "ERROR", "{event:#}");
    assert!(
        event["message"]
            .as_str()
            .is_some_and(|m| m.contains("nowhere"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_logs_carry_no_colour_when_stderr_is_not_a_terminal() {
    let serve = Serve::start(&[]);
    let (mut log, address) = serve.until_listening();
    let _ = reqwest::get(format!("http://{address}/graphql?query=%7B__typename%7D")).await;
    loop {
        let line = serve
            .stderr
            .recv_timeout(WAIT)
            .expect("the request's log line");
        log.push(line.clone());
        if line.contains("request finished") {
            break;
        }
    }
    log.extend(serve.stop());
    for line in &log {
        assert!(!line.contains('\u{1b}'), "ANSI escape in {line:?}");
    }
}

/// At most 128 characters of `A-Z a-z 0-9 - _ . : / + = @`: anything else (too long, control
/// characters, spaces, quotes, non-ASCII bytes) is replaced by a generated id, which is what
/// the response echoes and the log holds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_id_beyond_128_visible_ascii_characters_is_replaced() {
    let app = TestApp::spawn().await;
    let token = app.token("secretariat", "projects:read").await;
    let send = async |value: HeaderValue| {
        let response = app
            .client()
            .post(app.url("/graphql"))
            .bearer_auth(&token)
            .header("x-request-id", value)
            .json(&json!({ "query": "{ __typename }" }))
            .send()
            .await
            .expect("the server answers");
        assert_eq!(response.status(), 200);
        response.headers()["x-request-id"].as_bytes().to_vec()
    };
    let longest = "a".repeat(128);
    assert_eq!(
        send(HeaderValue::from_str(&longest).unwrap()).await,
        longest.as_bytes()
    );
    for refused in [
        "a".repeat(129).into_bytes(),
        b"caf\xc3\xa9".to_vec(),
        b"\xff\xfe".to_vec(),
        b"tab\there".to_vec(),
        b"quote\"d".to_vec(),
        b"{\"json\":1}".to_vec(),
    ] {
        let echoed = send(HeaderValue::from_bytes(&refused).expect("a header value")).await;
        assert_ne!(echoed, refused);
        let echoed = String::from_utf8(echoed).expect("ASCII");
        assert!(uuid::Uuid::parse_str(&echoed).is_ok(), "{echoed}");
    }
}
