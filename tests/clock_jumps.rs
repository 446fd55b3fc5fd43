//! The system clock jumps under the real daemon: libfaketime (Debian's `faketime`) moves the wall
//! clock the daemon sees, both ways, while it runs; the monotonic clock is left alone, as on a
//! handheld whose clock is set by the network after it booted.
//!
//! A clock earlier than the build takes no orders until it is set; a jump forward expires
//! nothing; a jump back stalls nothing.

mod support;

use hyper::{Method, StatusCode};
use posd::sim::faults::Faults;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::time::Duration;
use support::{Daemon, LateGateway, simulator, wait_final};

/// The wall clock the daemon sees: an offset from the real one, changed while it runs.
struct FakeClock {
    file: PathBuf,
}

impl FakeClock {
    fn new(dir: &Path) -> FakeClock {
        let clock = FakeClock {
            file: dir.join("faketime"),
        };
        clock.set("+0");
        clock
    }

    /// `+2d`, `-1d`, `+0`: libfaketime's relative offsets.
    fn set(&self, offset: &str) {
        std::fs::write(&self.file, offset).unwrap();
    }

    /// The daemon's environment, with its wall clock on this fake one.
    fn env(&self, mut env: Vec<(String, String)>) -> Vec<(String, String)> {
        let library = ["x86_64-linux-gnu", "aarch64-linux-gnu"]
            .iter()
            .map(|arch| PathBuf::from(format!("/usr/lib/{arch}/faketime/libfaketime.so.1")))
            .find(|path| path.exists())
            .expect("libfaketime is installed (Debian: apt-get install faketime)");
        env.extend([
            ("LD_PRELOAD".to_owned(), library.display().to_string()),
            (
                "FAKETIME_TIMESTAMP_FILE".to_owned(),
                self.file.display().to_string(),
            ),
            ("FAKETIME_NO_CACHE".to_owned(), "1".to_owned()),
            ("FAKETIME_DONT_FAKE_MONOTONIC".to_owned(), "1".to_owned()),
        ]);
        env
    }
}

#[tokio::test]
async fn a_clock_earlier_than_the_build_takes_no_orders_until_it_is_set() {
    let sim = simulator(Faults::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let clock = FakeClock::new(dir.path());
    // Four years back, as a handheld whose clock battery ran out boots.
    clock.set("-1500d");
    let env = Daemon::env_for(dir.path(), &sim.url(), sim.ca_pem().unwrap());
    let daemon = Daemon::start(dir.path(), clock.env(env));
    daemon.ready().await;
    let client = daemon.client();
    let mut charge = support::latte(60);
    charge["payment_code"] = json!("MY13697573pbmQsC01");
    let (status, refused) = client
        .request(Method::POST, "/v1/charges", Some(&charge))
        .await
        .unwrap();
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{refused}");
    let message = refused["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("earlier than this posd was built"),
        "{message}"
    );
    assert!(sim.ledger().is_empty());

    // The network sets the clock: the next charge is taken, with the right time.
    clock.set("+0");
    let (status, order) = client
        .request(Method::POST, "/v1/charges", Some(&charge))
        .await
        .unwrap();
    assert_eq!(status, StatusCode::CREATED, "{order}");
    let real_now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let created = order["created_at"].as_u64().unwrap();
    assert!(
        real_now.abs_diff(created) < 60_000,
        "{created} vs {real_now}"
    );
    let id = order["order_id"].as_str().unwrap();
    assert_eq!(
        wait_final(&client, id, Duration::from_secs(15)).await["state"],
        "paid"
    );
}

/// A charge waits for its payment code when the clock jumps three days ahead (past the order's
/// greatest age and the code's lifetime): it is not expired by the jump, and is paid.
#[tokio::test]
async fn a_jump_forward_expires_nothing() {
    let sim = simulator(Faults::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let clock = FakeClock::new(dir.path());
    let env = Daemon::env_for(dir.path(), &sim.url(), sim.ca_pem().unwrap());
    let daemon = Daemon::start(dir.path(), clock.env(env));
    daemon.ready().await;
    let client = daemon.client();
    let (status, order) = client
        .request(Method::POST, "/v1/charges", Some(&support::latte(60)))
        .await
        .unwrap();
    assert_eq!(status, StatusCode::CREATED, "{order}");
    let id = order["order_id"].as_str().unwrap().to_owned();

    clock.set("+3d");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (status, order) = client
        .request(
            Method::POST,
            &format!("/v1/charges/{id}/payment-code"),
            Some(&json!({"payment_code": "MY13697573pbmQsC02"})),
        )
        .await
        .unwrap();
    assert_eq!(status, StatusCode::OK, "{order}");
    let order = wait_final(&client, &id, Duration::from_secs(15)).await;
    assert_eq!(order["state"], "paid", "{order}");
}

/// The gateway is down and a charge waits out its backoff when the clock jumps a day back: the
/// charge does not sleep for that day, and goes through as soon as the gateway is back.
#[tokio::test]
async fn a_jump_back_stalls_nothing() {
    let gateway = LateGateway::new();
    let dir = tempfile::tempdir().unwrap();
    let clock = FakeClock::new(dir.path());
    let env = Daemon::env_for(dir.path(), &gateway.url, gateway.ca_pem());
    let daemon = Daemon::start(dir.path(), clock.env(env));
    daemon.ready().await;
    let client = daemon.client();
    let mut charge = support::latte(60);
    charge["payment_code"] = json!("MY13697573pbmQsC03");
    let (status, order) = client
        .request(Method::POST, "/v1/charges", Some(&charge))
        .await
        .unwrap();
    assert_eq!(status, StatusCode::CREATED, "{order}");
    let id = order["order_id"].as_str().unwrap().to_owned();
    // Attempts fail to connect and back off.
    tokio::time::sleep(Duration::from_millis(700)).await;

    clock.set("-1d");
    let _sim = gateway.come_up().await;
    let order = wait_final(&client, &id, Duration::from_secs(15)).await;
    assert_eq!(order["state"], "paid", "{order}");
}
