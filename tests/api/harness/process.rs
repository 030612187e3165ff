//! The real `bydel serve` binary as a child process: another replica on a shared database.
//! It is killed (and reaped) when dropped, so no process outlives its test.

use std::{
    io::{BufRead, BufReader},
    net::SocketAddr,
    path::Path,
    process::{Child, Command, Stdio},
    sync::mpsc,
    time::Duration,
};

/// Settings the binary reads from the environment, cleared so the caller's configuration
/// cannot leak in.
const BYDEL_ENV: [&str; 10] = [
    "DATABASE_URL",
    "BYDEL_DATABASE_URL",
    "BYDEL_SIGNING_KEY_FILE",
    "BYDEL_SIGNING_KEY",
    "BYDEL_TOKEN_ISSUER",
    "BYDEL_TOKEN_AUDIENCE",
    "BYDEL_LISTEN",
    "BYDEL_DEMO",
    "BYDEL_LOG_FORMAT",
    "BYDEL_TOKEN_CACHE_SECONDS",
];

/// How long start-up (migrations included) may take.
const START: Duration = Duration::from_secs(60);

/// A running `bydel serve`.
pub struct ServerProcess {
    child: Child,
    pub address: SocketAddr,
}

impl ServerProcess {
    /// `bydel serve --listen 127.0.0.1:0 --database-url <url> --signing-key-file <key>`,
    /// returned once it prints where it listens.
    pub fn spawn(database_url: &str, key_file: &Path) -> ServerProcess {
        Self::spawn_with(database_url, key_file, &[])
    }

    /// [`ServerProcess::spawn`] with more `serve` flags, e.g. `["--token-cache-seconds", "600"]`.
    pub fn spawn_with(database_url: &str, key_file: &Path, flags: &[&str]) -> ServerProcess {
        let mut command = Command::new(env!("CARGO_BIN_EXE_bydel"));
        command
            .args(["serve", "--listen", "127.0.0.1:0", "--database-url"])
            .arg(database_url)
            .arg("--signing-key-file")
            .arg(key_file)
            .args(flags)
            .env("BYDEL_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for variable in BYDEL_ENV {
            command.env_remove(variable);
        }
        let mut child = command.spawn().expect("the bydel binary starts");
        let stderr = child.stderr.take().expect("stderr is piped");
        let (lines, listening) = mpsc::channel();
        // Reads stderr to the end, so the child never blocks on a full pipe.
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = lines.send(line);
            }
        });
        let mut seen = Vec::new();
        let address = loop {
            match listening.recv_timeout(START) {
                Ok(line) => {
                    if let Some(address) = listening_address(&line) {
                        break address;
                    }
                    seen.push(line);
                }
                Err(_) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!(
                        "bydel serve did not say where it listens; it printed:\n{}",
                        seen.join("\n")
                    );
                }
            }
        };
        ServerProcess { child, address }
    }
}

/// The address in "Bydel is listening on http://ADDR/graphql ...".
fn listening_address(line: &str) -> Option<SocketAddr> {
    line.strip_prefix("Bydel is listening on http://")?
        .split('/')
        .next()?
        .parse()
        .ok()
}

impl ServerProcess {
    /// `kill -9`: the process ends at once, whatever it was doing, and is reaped.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
