//! The `bydel` binary: see [`bydel::cli`].

use clap::Parser;

/// mimalloc instead of glibc's malloc: a request allocates ~10,000 short-lived values (the
/// response tree, rows, futures) and glibc's malloc/free was a quarter of the inbox's
/// instructions under callgrind.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = bydel::cli::Cli::parse();
    bydel::cli::exit_code(bydel::cli::run(cli).await)
}
