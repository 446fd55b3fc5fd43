//! `posd run`: the daemon in the foreground, as systemd or the POS app starts it.

use super::{ConfigArg, Exit};
use crate::daemon;
use std::time::Duration;

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    config: ConfigArg,
}

pub async fn run(args: Args) -> Exit {
    let (config, configured) = match args.config.load_with_origin() {
        Ok(loaded) => loaded,
        Err(e) => {
            eprintln!("posd: {e}");
            return Exit::Usage;
        }
    };
    let env = |key: &str| std::env::var(key).ok();
    let running = match daemon::start(config, configured, env).await {
        Ok(running) => running,
        Err(e) => {
            eprintln!("posd: {e}");
            // systemd restarts on failure; a configuration error would only fail again.
            return if e.is_transient() {
                Exit::Failed
            } else {
                Exit::Usage
            };
        }
    };
    let socket = running.paths.socket.display().to_string();
    eprintln!("posd: listening on {socket}");
    if let Some(tcp) = running.tcp {
        eprintln!("posd: and on http://{tcp} (bearer token required)");
    }
    if let Some(simulator) = running.simulator() {
        eprintln!(
            "posd: no gateway configured; charging against the built-in simulator at {}",
            simulator.url()
        );
        eprintln!(
            "posd: try: posd charge --socket {socket} --amount 100 --qr MY13697573pbmQsYhY --wait"
        );
    }
    let _ = sd_notify::notify(&[sd_notify::NotifyState::Ready]);
    let watchdog = sd_notify::watchdog_enabled().map(|interval| {
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(interval / 2).await;
                let _ = sd_notify::notify(&[sd_notify::NotifyState::Watchdog]);
            }
        })
    });

    wait_for_signal().await;
    let _ = sd_notify::notify(&[sd_notify::NotifyState::Stopping]);
    eprintln!("posd: stopping; unfinished orders resume at the next start");
    running.shutdown();
    if let Some(watchdog) = watchdog {
        watchdog.abort();
    }
    // Give connections a moment to finish their answers.
    tokio::time::sleep(Duration::from_millis(200)).await;
    Exit::Ok
}

async fn wait_for_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM can be watched");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
