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
                outln!("{env:40} {key}");
            }
            Exit::Ok
        }
        Command::Check(config) => {
            let path = config.path();
            let (loaded, problems) =
                Config::load_all(path.as_deref(), |key| std::env::var(key).ok());
            let configured = path.is_some();
            let mut problems: Vec<String> = problems.iter().map(ToString::to_string).collect();
            if !loaded.gateway.simulator
                && let Err(gateway) = loaded.gateway.resolve_all()
            {
                problems.extend(gateway.iter().map(ToString::to_string));
            }
            if let Some(device_id) = &loaded.daemon.device_id
                && let Err(e) = crate::order::OrderIdGenerator::new(device_id)
            {
                problems.push(format!("daemon.device_id: {e}"));
            }
            if let Err(e) = crate::daemon::printing::load_profile(&loaded.printer.profile) {
                problems.push(format!("printer.profile: {e}"));
            }
            if let Some(layout) = &loaded.printer.layout
                && let Err(e) = crate::receipt::LayoutSettings::load(layout)
            {
                problems.push(format!("printer.layout: {e}"));
            }
            if !problems.is_empty() {
                for problem in &problems {
                    eprintln!("posd: {problem}");
                }
                return Exit::Usage;
            }
            let paths = Paths::resolve(&loaded, configured, &|k| std::env::var(k).ok());
            outln!("configuration ok");
            outln!("data directory: {}", paths.data_dir.display());
            outln!("socket: {}", paths.socket.display());
            match (&loaded.gateway.simulator, &loaded.gateway.url) {
                (true, _) => outln!("gateway: built-in simulator"),
                (false, Some(url)) => outln!("gateway: {url}"),
                (false, None) => {}
            }
            Exit::Ok
        }
    }
}
