//! Whether the gateway's address takes a connection, for the health answer.
//!
//! A POS app may poll `/v1/health` every second: each answer reads the last probe, and a probe
//! older than [`FRESH_FOR`] is redone in the background, so polling opens at most one connection
//! to the gateway per period, whoever asks and however often.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a probe's result stands.
pub const FRESH_FOR: Duration = Duration::from_secs(5);

/// How long one probe may take.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

pub struct Reachability {
    url: reqwest::Url,
    last: Mutex<Option<(Instant, bool)>>,
    probing: AtomicBool,
}

impl Reachability {
    pub fn new(url: reqwest::Url) -> Arc<Reachability> {
        Arc::new(Reachability {
            url,
            last: Mutex::new(None),
            probing: AtomicBool::new(false),
        })
    }

    /// The last probe's result. The first ask waits for a probe; later ones never do, and start
    /// one in the background when the result is stale.
    pub async fn reachable(self: &Arc<Self>) -> bool {
        let last = *self.last.lock().expect("reachability lock");
        match last {
            Some((at, reachable)) => {
                if at.elapsed() >= FRESH_FOR && !self.probing.swap(true, Ordering::AcqRel) {
                    let this = self.clone();
                    tokio::spawn(async move {
                        this.probe().await;
                        this.probing.store(false, Ordering::Release);
                    });
                }
                reachable
            }
            None => self.probe().await,
        }
    }

    async fn probe(&self) -> bool {
        let reachable = match (self.url.host_str(), self.url.port_or_known_default()) {
            (Some(host), Some(port)) => {
                let host = host
                    .trim_start_matches('[')
                    .trim_end_matches(']')
                    .to_owned();
                tokio::time::timeout(PROBE_TIMEOUT, tokio::net::TcpStream::connect((host, port)))
                    .await
                    .is_ok_and(|c| c.is_ok())
            }
            _ => false,
        };
        *self.last.lock().expect("reachability lock") = Some((Instant::now(), reachable));
        reachable
    }
}
