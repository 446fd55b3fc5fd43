//! A full disk, for real: the daemon's data directory on a small tmpfs that the test fills.
//!
//! The reserve refuses new charges before the disk is full, so the orders already taken have room
//! to finish. When a write fails anyway, the daemon answers 503, stops with status 1, and the next
//! start recovers every order the POS app was told about from the disk.
//!
//! Mounting a tmpfs needs root (CI runs as root); without it these tests fail and say so.

mod support;

use hyper::{Method, StatusCode};
use posd::sim::faults::Faults;
use serde_json::json;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};
use support::{Daemon, simulator, wait_final};

/// A tmpfs of its own, unmounted when dropped.
struct Tmpfs {
    dir: PathBuf,
}

impl Tmpfs {
    fn mount(at: &Path, mib: u64) -> Tmpfs {
        std::fs::create_dir_all(at).unwrap();
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={mib}m"), "tmpfs"])
            .arg(at)
            .status()
            .expect("mount runs");
        assert!(
            status.success(),
            "mounting a {mib} MiB tmpfs at {} failed ({status}): these tests need root",
            at.display()
        );
        Tmpfs { dir: at.to_owned() }
    }

    /// Fills the disk until `leave` bytes are free (0: until a write fails).
    fn fill(&self, leave: u64) -> PathBuf {
        let path = self.dir.join("filler");
        let mut file = std::fs::File::create(&path).unwrap();
        let chunk = vec![0xA5u8; 64 * 1024];
        loop {
            let free = free_bytes(&self.dir);
            if leave > 0 && free <= leave {
                break;
            }
            let take = if leave > 0 {
                chunk.len().min((free - leave) as usize)
            } else {
                chunk.len()
            };
            if file.write_all(&chunk[..take.max(1)]).is_err() || file.flush().is_err() {
                break;
            }
        }
        path
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
    }
}

fn free_bytes(dir: &Path) -> u64 {
    let output = Command::new("df")
        .args(["--output=avail", "-B1"])
        .arg(dir)
        .output()
        .unwrap();
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .nth(1)
        .and_then(|line| line.trim().parse().ok())
        .unwrap()
}

fn env_on(
    dir: &Path,
    data: &Path,
    sim: &posd::sim::RunningSim,
    reserve_mb: u64,
) -> Vec<(String, String)> {
    let mut env = Daemon::env_for(dir, &sim.url(), sim.ca_pem().unwrap());
    support::set_env(&mut env, "POSD_DATA_DIR", data.display().to_string());
    env.push(("POSD_MIN_FREE_MB".into(), reserve_mb.to_string()));
    env
}

#[tokio::test]
async fn the_reserve_refuses_new_charges_before_the_disk_is_full() {
    let sim = simulator(Faults::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let disk = Tmpfs::mount(&dir.path().join("disk"), 24);
    let daemon = Daemon::start(
        dir.path(),
        env_on(dir.path(), &disk.dir.join("data"), &sim, 4),
    );
    daemon.ready().await;
    let client = daemon.client();

    let mut charge = support::latte(60);
    charge["payment_code"] = json!("MY13697573pbmQsY01");
    let (status, order) = client
        .request(Method::POST, "/v1/charges", Some(&charge))
        .await
        .unwrap();
    assert_eq!(status, StatusCode::CREATED, "{order}");
    let first = order["order_id"].as_str().unwrap().to_owned();
    assert_eq!(
        wait_final(&client, &first, Duration::from_secs(15)).await["state"],
        "paid"
    );

    let filler = disk.fill(2 * 1024 * 1024);
    let (_, health) = client
        .request(Method::GET, "/v1/health", None)
        .await
        .unwrap();
    let storage = &health["storage"];
    assert_eq!(storage["reserve_bytes"], 4 * 1024 * 1024, "{health}");
    assert!(
        storage["free_bytes"].as_u64().unwrap() < 4 * 1024 * 1024,
        "{health}"
    );

    charge["payment_code"] = json!("MY13697573pbmQsY02");
    let (status, refused) = client
        .request(Method::POST, "/v1/charges", Some(&charge))
        .await
        .unwrap();
    assert_eq!(status, StatusCode::INSUFFICIENT_STORAGE, "{refused}");
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("reserve"),
        "{refused}"
    );
    assert_eq!(support::every_order(&client).await.len(), 1);
    assert!(
        sim.ledger().len() == 1,
        "nothing was charged for the refused order"
    );

    std::fs::remove_file(filler).unwrap();
    let (status, order) = client
        .request(Method::POST, "/v1/charges", Some(&charge))
        .await
        .unwrap();
    assert_eq!(status, StatusCode::CREATED, "{order}");
}

#[tokio::test]
async fn a_write_that_fails_stops_the_daemon_and_the_restart_loses_nothing_it_told() {
    let sim = simulator(Faults::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let disk = Tmpfs::mount(&dir.path().join("disk"), 24);
    let data = disk.dir.join("data");
    let mut daemon = Daemon::start(dir.path(), env_on(dir.path(), &data, &sim, 0));
    daemon.ready().await;
    let client = daemon.client();

    let mut told = Vec::new();
    for n in 0..3 {
        let mut charge = support::latte(60);
        charge["payment_code"] = json!(format!("MY13697573pbmQ{n:04}"));
        let (status, order) = client
            .request(Method::POST, "/v1/charges", Some(&charge))
            .await
            .unwrap();
        assert_eq!(status, StatusCode::CREATED, "{order}");
        let id = order["order_id"].as_str().unwrap().to_owned();
        assert_eq!(
            wait_final(&client, &id, Duration::from_secs(15)).await["state"],
            "paid"
        );
        told.push(id);
    }

    // The disk fills up while charges keep coming (no payment codes: only the store writes).
    let filler = disk.fill(0);
    let mut refused = None;
    for _ in 0..200 {
        let answer = client
            .request(Method::POST, "/v1/charges", Some(&json!({"amount": 60})))
            .await;
        match answer {
            Ok((StatusCode::CREATED, order)) => {
                told.push(order["order_id"].as_str().unwrap().to_owned());
            }
            Ok((status, error)) => {
                refused = Some((status, error));
                break;
            }
            Err(_) => break,
        }
    }
    let (status, error) = refused.expect("a charge was refused once the disk was full");
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{error}");
    assert!(
        error["error"]["message"].as_str().unwrap().contains("disk"),
        "{error}"
    );

    // It stops by itself, with a failure status, so systemd or the POS app starts it again.
    let deadline = Instant::now() + Duration::from_secs(10);
    let exit = loop {
        if let Some(status) = daemon.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "the daemon kept running:\n{}",
            daemon.log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(exit.code(), Some(1), "{}", daemon.log());
    assert!(
        daemon.log().contains("recovers every order"),
        "{}",
        daemon.log()
    );

    // Space again: every order the POS app was told about is there, where it was left.
    std::fs::remove_file(filler).unwrap();
    daemon.restart();
    daemon.ready().await;
    let client = daemon.client();
    let orders = support::every_order(&client).await;
    for id in &told {
        let order = orders
            .iter()
            .find(|o| o["order_id"] == id.as_str())
            .unwrap_or_else(|| panic!("order {id} was told stored but is gone"));
        let state = order["state"].as_str().unwrap();
        assert!(
            ["paid", "awaiting_payment_code"].contains(&state),
            "{order}"
        );
    }
    let paid = orders.iter().filter(|o| o["state"] == "paid").count();
    assert_eq!(paid, 3);
    assert_eq!(
        sim.ledger().len(),
        3,
        "nothing charged twice or out of nowhere"
    );
}
