//! `posd run`: the daemon in the foreground, as systemd or the POS app starts it.

use super::{ConfigArg, Exit};
use crate::daemon;
use std::time::Duration;
use tokio::signal::unix::{Signal, SignalKind, signal};

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    config: ConfigArg,
    /// Stop (as on SIGTERM) when the process that started posd dies, e.g. the POS app that runs
    /// it as a child; Linux and Android only.
    #[arg(long, env = "POSD_EXIT_WITH_PARENT", value_parser = clap::builder::BoolishValueParser::new())]
    exit_with_parent: bool,
}

/// How long stopping may wait for gateway calls in flight and the printer's current job; the
/// runtime then gets [`super::RUNTIME_STOP_BOUND`] more for its blocking work.
const STOP_BOUND: Duration = Duration::from_secs(3);

pub async fn run(args: Args) -> Exit {
    // Watched from the start, so a stop asked for while the daemon starts (the parent dying, a
    // systemd stop) waits for the start and then stops cleanly.
    let stop = StopSignals::watch();
    if args.exit_with_parent {
        match exit_with_parent() {
            Ok(ParentWatch::Alive) => {}
            Ok(ParentWatch::Gone(parent)) => {
                eprintln!("posd: the parent process {parent} died before posd started; exiting");
                return Exit::Ok;
            }
            Err(e) => {
                eprintln!("posd: --exit-with-parent: {e}");
                return Exit::Usage;
            }
        }
    }
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
    let running = std::sync::Arc::new(running);
    let watchdog = sd_notify::watchdog_enabled().map(|interval| {
        let running = running.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(interval / 2).await;
                // Vouched for only while the store and the printer answer: a daemon whose store
                // or printer thread hangs is restarted by systemd instead of looking alive.
                if running.answering(interval / 4).await {
                    let _ = sd_notify::notify(&[sd_notify::NotifyState::Watchdog]);
                } else {
                    tracing::error!(
                        "the store or the printer thread does not answer; not telling the watchdog"
                    );
                }
            }
        })
    });

    let mut store_failure = running.store_failure();
    let failed = tokio::select! {
        () = stop.wait() => None,
        Ok(reason) = store_failure.wait_for(Option::is_some) => reason.clone(),
    };
    let _ = sd_notify::notify(&[sd_notify::NotifyState::Stopping]);
    match &failed {
        None => eprintln!("posd: stopping; unfinished orders resume at the next start"),
        Some(reason) => eprintln!(
            "posd: the order store could not write to disk ({reason}); stopping, so that the next \
             start recovers every order from what the disk holds"
        ),
    }
    if let Some(watchdog) = watchdog {
        watchdog.abort();
    }
    running.stop(STOP_BOUND).await;
    // Give connections a moment to finish their answers.
    tokio::time::sleep(Duration::from_millis(200)).await;
    if failed.is_some() {
        Exit::Failed
    } else {
        Exit::Ok
    }
}

/// SIGINT (Ctrl-C) and SIGTERM.
struct StopSignals {
    interrupt: Signal,
    terminate: Signal,
}

impl StopSignals {
    fn watch() -> StopSignals {
        StopSignals {
            interrupt: signal(SignalKind::interrupt()).expect("SIGINT can be watched"),
            terminate: signal(SignalKind::terminate()).expect("SIGTERM can be watched"),
        }
    }

    async fn wait(mut self) {
        tokio::select! {
            _ = self.interrupt.recv() => {}
            _ = self.terminate.recv() => {}
        }
    }
}

/// Whether the parent was still there once its death would be signalled.
enum ParentWatch {
    Alive,
    Gone(u32),
}

/// Asks the kernel for SIGTERM when the parent dies, which stops the daemon as a `kill` would. A
/// parent that dies before the request takes effect sends nothing, so the parent is looked at
/// again after it: posd handed to another parent means the one that started it is gone.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn exit_with_parent() -> Result<ParentWatch, String> {
    let parent = std::os::unix::process::parent_id();
    // SAFETY: PR_SET_PDEATHSIG takes a signal number and touches no memory of ours. It belongs to
    // the calling thread, the main one, which lives as long as the process.
    let set = unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) };
    if set != 0 {
        return Err(format!(
            "prctl(PR_SET_PDEATHSIG): {}",
            std::io::Error::last_os_error()
        ));
    }
    if std::os::unix::process::parent_id() == parent {
        Ok(ParentWatch::Alive)
    } else {
        Ok(ParentWatch::Gone(parent))
    }
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn exit_with_parent() -> Result<ParentWatch, String> {
    Err("only Linux and Android tell a process that its parent died".to_owned())
}
