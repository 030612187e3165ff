//! The `bydel` binary: see [`bydel::cli`].

use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = bydel::cli::Cli::parse();
    match bydel::cli::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("bydel: {err}");
            std::process::ExitCode::FAILURE
        }
    }
}
