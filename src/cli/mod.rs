//! The `posd` command line: one subcommand per file.

/// `print!` for a command's output. A reader that goes away (`posd orders show ID | head`) ends
/// the command quietly, as SIGPIPE would have: Rust ignores SIGPIPE, and `print!` panics on the
/// closed pipe instead. `posd run` keeps SIGPIPE ignored, so that a client that goes away never
/// stops the daemon.
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::cli::write_out(format_args!($($arg)*))
    };
}

/// `println!` for a command's output; see [`out!`].
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::cli::write_out(format_args!("{}\n", format_args!($($arg)*)))
    };
}

mod config_check;
mod demo;
mod envelope;
mod gateway;
mod gateway_sim;
mod local;
mod print_test;
mod run;
mod scan;
mod shift;

use crate::config::{Config, ConfigError, DEFAULT_CONFIG_PATH};
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "posd",
    version,
    about = "Point-of-sale terminal daemon: MyPay / OCP e-wallet scan-to-pay with Taiwan e-invoice printing"
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the daemon: the local API, the order worker, the scanner and the printer.
    Run(run::Args),
    /// Start a charge through the running daemon.
    Charge(local::ChargeArgs),
    /// List, show, cancel, reprint or export orders through the running daemon.
    #[command(subcommand)]
    Orders(local::OrdersCommand),
    /// Close the shift and print its report (交班報表), or show closed shifts.
    #[command(subcommand)]
    Shift(shift::Command),
    /// The running daemon's health: gateway, queue, printer.
    Status(local::StatusArgs),
    /// Read payment codes from image files, or from the camera (feature `camera`).
    Scan(scan::Args),
    /// Check the configuration, or list its environment variables.
    #[command(subcommand)]
    Config(config_check::Command),
    /// Charge a sample order against an in-process gateway simulator and show every step.
    Demo(demo::Args),
    /// Decrypt a sealed field of captured agent API traffic.
    #[command(subcommand)]
    Envelope(envelope::Command),
    /// Send one command to the agent API and print the answer (checks credentials and reachability).
    #[command(subcommand)]
    Gateway(gateway::Command),
    /// Serve a local simulator of the agent API (TLS with its own CA, fault injection, a ledger).
    GatewaySim(gateway_sim::Args),
    /// Print a test page or a gateway answer's receipt; write the printer bytes and a preview.
    PrintTest(print_test::Args),
}

/// How a command ended, as the process exit status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Ok = 0,
    /// Something failed that is not one of the cases below.
    Failed = 1,
    /// The command line, the configuration or the request is wrong: running again will not help.
    Usage = 2,
    /// The request did not reach the gateway: safe to try again.
    NotSent = 3,
    /// The request may have reached the gateway; its outcome is unknown.
    Unknown = 4,
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> ExitCode {
        ExitCode::from(exit as u8)
    }
}

/// The file named by `--config` or `POSD_CONFIG`, else the default path when it exists.
#[derive(clap::Args, Debug, Clone)]
struct ConfigArg {
    /// Configuration file (TOML). Default: $POSD_CONFIG, else /etc/posd/posd.toml if it exists.
    #[arg(long, env = "POSD_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
}

impl ConfigArg {
    fn load(&self) -> Result<Config, ConfigError> {
        self.load_with_origin().map(|(config, _)| config)
    }

    /// The file to read, if any.
    fn path(&self) -> Option<PathBuf> {
        let default = PathBuf::from(DEFAULT_CONFIG_PATH);
        self.config
            .clone()
            .or_else(|| default.exists().then_some(default))
    }

    /// The configuration, and whether a file was read (without one, embedded defaults apply).
    fn load_with_origin(&self) -> Result<(Config, bool), ConfigError> {
        let path = self.path();
        let config = Config::load(path.as_deref(), |key| std::env::var(key).ok())?;
        Ok((config, path.is_some()))
    }
}

/// Writes a command's output; see [`out!`].
fn write_out(text: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout.write_fmt(text).and_then(|()| stdout.flush()) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(Exit::Ok as i32);
        }
        eprintln!("posd: cannot write the output: {e}");
        std::process::exit(Exit::Failed as i32);
    }
}

pub fn run(cli: Cli) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("posd: cannot start the async runtime: {e}");
            return Exit::Failed.into();
        }
    };
    let exit = runtime.block_on(async {
        match cli.command {
            Command::Run(args) => run::run(args).await,
            Command::Charge(args) => local::charge(args).await,
            Command::Orders(command) => local::orders(command).await,
            Command::Shift(command) => shift::run(command).await,
            Command::Status(args) => local::status(args).await,
            Command::Scan(args) => scan::run(args).await,
            Command::Config(command) => config_check::run(command),
            Command::Demo(args) => demo::run(args).await,
            Command::Envelope(command) => envelope::run(command),
            Command::Gateway(command) => gateway::run(command).await,
            Command::GatewaySim(args) => gateway_sim::run(args).await,
            Command::PrintTest(args) => tokio::task::spawn_blocking(move || print_test::run(args))
                .await
                .unwrap_or(Exit::Failed),
        }
    });
    // Blocking work still running (a store write, a printer link) is abandoned after this: the
    // store is made for a stop at any point, and stopping must not wait for a device that hangs.
    runtime.shutdown_timeout(RUNTIME_STOP_BOUND);
    exit.into()
}

/// How long the runtime waits for its blocking work once a command has ended.
const RUNTIME_STOP_BOUND: std::time::Duration = std::time::Duration::from_secs(2);
