//! Node.js helpers for the federation tests: the small npm project in `tests/federation`
//! (installed once with `npm ci`) and its scripts run as child processes that are killed when
//! dropped. Node and npm are required: a missing one fails the test with a clear message.

use std::{
    io::{BufRead, BufReader},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex, OnceLock},
    time::Duration,
};

use tokio::sync::oneshot;

/// How long a script may take to print its URL.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// `tests/federation`: package.json, package-lock.json and the scripts.
pub fn project_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/federation")
}

/// Runs `npm ci` unless `node_modules` was installed from exactly the current lockfile (a copy
/// of it is kept in `node_modules` after a successful install). Once per test process.
pub async fn install() {
    static INSTALLED: OnceLock<Result<(), String>> = OnceLock::new();
    let result = tokio::task::spawn_blocking(|| INSTALLED.get_or_init(npm_ci).clone())
        .await
        .expect("the npm install thread does not panic");
    if let Err(err) = result {
        panic!("{err}");
    }
}

fn npm_ci() -> Result<(), String> {
    npm_ci_in(&project_dir(), &[])
}

/// `npm ci` in `dir` (an npm project under `tests/` with a committed lockfile) with `extra`
/// arguments, skipped when its `node_modules` was installed from exactly the current lockfile.
pub fn npm_ci_in(dir: &Path, extra: &[&str]) -> Result<(), String> {
    let lock = std::fs::read(dir.join("package-lock.json"))
        .map_err(|err| format!("cannot read {}/package-lock.json: {err}", dir.display()))?;
    let stamp = dir.join("node_modules/.bydel-installed-lock.json");
    if std::fs::read(&stamp).is_ok_and(|installed| installed == lock) {
        return Ok(());
    }
    let output = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund"])
        .args(extra)
        .current_dir(dir)
        .output()
        .map_err(|err| {
            format!("cannot run `npm ci` (Node.js and npm are needed for this test): {err}")
        })?;
    if !output.status.success() {
        return Err(format!(
            "`npm ci` in {} failed ({}):\n{}",
            dir.display(),
            output.status,
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    std::fs::write(&stamp, &lock).map_err(|err| format!("cannot write {}: {err}", stamp.display()))
}

/// Runs `node script args...` in `tests/federation` to completion: (success, stdout, stderr).
pub async fn run(script: &str, args: &[&str]) -> (bool, String, String) {
    let mut command = Command::new("node");
    command.arg(script).args(args).current_dir(project_dir());
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .expect("the node thread does not panic")
        .unwrap_or_else(|err| panic!("cannot run node (needed for the federation tests): {err}"));
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// A long-running node script (a subgraph, a gateway), killed when dropped.
pub struct NodeProcess {
    child: Child,
    /// The URL it listens on: the first line it printed that starts with `http://`.
    pub url: String,
    stderr: Arc<Mutex<String>>,
}

impl NodeProcess {
    /// Starts `node script args...` with `env` and waits until it prints its URL.
    pub async fn start(script: &str, args: &[&str], env: &[(&str, &str)]) -> NodeProcess {
        let mut child = Command::new("node")
            .arg(script)
            .args(args)
            .envs(env.iter().copied())
            .current_dir(project_dir())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|err| panic!("cannot start node {script}: {err}"));
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut err_pipe = child.stderr.take().expect("stderr is piped");
        let collected = stderr.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(&mut err_pipe).lines().map_while(Result::ok) {
                let mut buffer = collected.lock().expect("stderr buffer");
                buffer.push_str(&line);
                buffer.push('\n');
            }
        });
        let (found, url) = oneshot::channel();
        let out_pipe = child.stdout.take().expect("stdout is piped");
        std::thread::spawn(move || {
            let mut lines = BufReader::new(out_pipe).lines().map_while(Result::ok);
            let url = lines.by_ref().find(|line| line.starts_with("http://"));
            let _ = found.send(url);
            lines.for_each(drop);
        });
        let mut process = NodeProcess {
            child,
            url: String::new(),
            stderr,
        };
        match tokio::time::timeout(START_TIMEOUT, url).await {
            Ok(Ok(Some(url))) => process.url = url.trim().to_owned(),
            outcome => {
                let _ = process.child.kill();
                let _ = process.child.wait();
                panic!(
                    "node {script} did not print its URL ({outcome:?}); stderr:\n{}",
                    process.stderr()
                );
            }
        }
        process
    }

    /// What the script wrote to standard error so far, for failure messages.
    pub fn stderr(&self) -> String {
        self.stderr.lock().expect("stderr buffer").clone()
    }
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
