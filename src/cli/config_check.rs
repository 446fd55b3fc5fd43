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
            let profile = crate::daemon::printing::load_profile(&loaded.printer.profile);
            if let Err(e) = &profile {
                problems.push(format!("printer.profile: {e}"));
            }
            let lease = loaded.printer.app_lease_secs;
            if !(1..=3600).contains(&lease) {
                problems.push(format!(
                    "printer.app_lease_secs: {lease} is not 1 to 3600 seconds"
                ));
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
            if let Ok(profile) = &profile {
                let printer = &loaded.printer;
                let transport = match (&printer.device, &profile.printer.transport) {
                    (Some(device), _) => device.clone(),
                    (None, crate::profile::Transport::App {}) => {
                        format!("the POS app (leases of {} s)", printer.app_lease_secs)
                    }
                    (None, crate::profile::Transport::Serial { path, .. })
                    | (None, crate::profile::Transport::File { path }) => {
                        path.display().to_string()
                    }
                    (None, crate::profile::Transport::Tcp { address }) => address.clone(),
                };
                outln!("printer: {} through {transport}", profile.name);
                outln!(
                    "invoice_print_device 0: {} (printer.print_device_0)",
                    printer.print_device_0
                );
            }
            let layout = match &loaded.printer.layout {
                Some(path) => crate::receipt::LayoutSettings::load(path).ok(),
                None => Some(crate::receipt::LayoutSettings::default()),
            };
            if let Some(layout) = layout
                && layout.logo.is_none()
                && layout.header.is_empty()
            {
                outln!(
                    "note: printer.layout has neither a logo nor a header line, so a proof whose \
                     title is an image (invoice_title_type 2) prints without the seller's name"
                );
            }
            Exit::Ok
        }
    }
}
