//! The command line's output to a reader that goes away early (`posd orders show ID | head`), and
//! `posd config check` naming every problem at once.

mod support;

use hyper::Method;
use posd::sim::faults::Faults;
use std::os::fd::{FromRawFd, OwnedFd};
use std::process::{Command, Output, Stdio};

/// A pipe whose reader is already closed, as `head` leaves it once it has read enough.
fn closed_pipe() -> Stdio {
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two descriptors pipe(2) writes.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    // SAFETY: pipe(2) just made both descriptors, and nothing else owns them.
    let (reader, writer) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    drop(reader);
    Stdio::from(writer)
}

fn posd_into_closed_pipe(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_posd"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap())
        .stdin(Stdio::null())
        .stdout(closed_pipe())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
        .wait_with_output()
        .unwrap()
}

fn assert_quiet(out: &Output) {
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "nothing on stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orders_show_into_a_closed_pipe_ends_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let sim = support::simulator(Faults::default()).await;
    let daemon = support::Daemon::serving(dir.path(), &sim).await;
    let mut charge = support::latte(100);
    charge["order_id"] = serde_json::json!("PIPE-1");
    let (status, body) = daemon
        .client()
        .request(Method::POST, "/v1/charges", Some(&charge))
        .await
        .unwrap();
    assert_eq!(status, 201, "{body}");
    let socket = dir.path().join("posd.sock");
    let out = posd_into_closed_pipe(&[
        "orders",
        "show",
        "PIPE-1",
        "--socket",
        socket.to_str().unwrap(),
    ]);
    assert_quiet(&out);
}

#[test]
fn config_env_into_a_closed_pipe_ends_quietly() {
    assert_quiet(&posd_into_closed_pipe(&["config", "env"]));
}

#[test]
fn config_check_names_every_problem() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("posd.toml");
    std::fs::write(
        &config,
        r#"
[gateway]
url = "not a url"
agent_uid = "518169081001"
agent_key = "2MrhtRYeF9wKZ4bKwzZoL8aZf26pWzIG"
store_uid = "289151880002"

[daemon]
max_connections = "many"

[printer]
profile = "no-such-profile"
"#,
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_posd"))
        .args(["config", "check", "--config", config.to_str().unwrap()])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 3, "one line per problem:\n{stderr}");
    for (line, names) in
        lines
            .iter()
            .zip(["daemon.max_connections", "gateway.url", "printer.profile"])
    {
        assert!(line.starts_with("posd: "), "{line}");
        assert!(line.contains(names), "{names} in {line}");
    }
}
