//! `posd config check`: validates a configuration without starting anything.

use super::{ConfigArg, Exit};
use crate::config::Config;
use crate::daemon::Paths;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Read the configuration (file and POSD_* environment) and report what is wrong, if anything.
    Check(ConfigArg),
    /// List the POSD_* environment variables and the settings they override.
    Env,
}

pub fn run(command: Command) -> Exit {
    match command {
        Command::Env => {
            for (env, key) in Config::overrides() {
                println!("{env:40} {key}");
            }
            Exit::Ok
        }
        Command::Check(config) => {
            let (loaded, configured) = match config.load_with_origin() {
                Ok(loaded) => loaded,
                Err(e) => {
                    eprintln!("posd: {e}");
                    return Exit::Usage;
                }
            };
            if !loaded.gateway.simulator
                && let Err(e) = loaded.gateway.resolve()
            {
                eprintln!("posd: {e}");
                return Exit::Usage;
            }
            if let Some(device_id) = &loaded.daemon.device_id
                && let Err(e) = crate::order::OrderIdGenerator::new(device_id)
            {
                eprintln!("posd: daemon.device_id: {e}");
                return Exit::Usage;
            }
            let paths = Paths::resolve(&loaded, configured, &|k| std::env::var(k).ok());
            println!("configuration ok");
            println!("data directory: {}", paths.data_dir.display());
            println!("socket: {}", paths.socket.display());
            match (&loaded.gateway.simulator, &loaded.gateway.url) {
                (true, _) => println!("gateway: built-in simulator"),
                (false, Some(url)) => println!("gateway: {url}"),
                (false, None) => {}
            }
            Exit::Ok
        }
    }
}
