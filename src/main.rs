use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod cli;

#[derive(Parser)]
#[command(name = "posd", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Read payment codes from image files or the camera.
    Scan(cli::scan::Args),
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Some(Command::Scan(args)) => cli::scan::run(args),
        None => ExitCode::SUCCESS,
    }
}
