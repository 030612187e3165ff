//! The `bydel` binary: see [`bydel::cli`].

use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = bydel::cli::Cli::parse();
    bydel::cli::exit_code(bydel::cli::run(cli).await)
}
