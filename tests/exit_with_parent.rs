//! `posd run --exit-with-parent`: posd started by the POS app, as Android's `Runtime.exec` does,
//! ends when the app dies, and without the flag it is orphaned and goes on. The real binary under
//! a real parent process that is killed with SIGKILL.
#![cfg(any(target_os = "linux", target_os = "android"))]

mod support;

use hyper::Method;
use posd::sim::faults::Faults;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use support::{Daemon, simulator};

/// posd started by a shell standing in for the POS app, the way `Runtime.exec` starts it.
struct UnderParent {
    parent: Child,
    posd: i32,
}

impl UnderParent {
    fn start(dir: &Path, env: &[(String, String)], args: &[&str]) -> UnderParent {
        let log = std::fs::File::create(dir.join("posd.log")).unwrap();
        let mut parent = Command::new("sh")
            .arg("-c")
            .arg(r#"posd="$1"; shift; "$posd" run "$@" >/dev/null </dev/null & echo $!; wait"#)
            .arg("sh")
            .arg(env!("CARGO_BIN_EXE_posd"))
            .args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufRead::read_line(
            &mut std::io::BufReader::new(parent.stdout.take().unwrap()),
            &mut line,
        )
        .unwrap();
        let posd = line.trim().parse().unwrap();
        UnderParent { parent, posd }
    }

    /// The parent dies as an app killed by Android does: at once, with no chance to clean up.
    fn kill_parent(&mut self) {
        self.parent.kill().unwrap();
        self.parent.wait().unwrap();
    }

    /// Whether posd still runs (an exited posd no one has reaped yet does not).
    fn posd_runs(&self) -> bool {
        match std::fs::read_to_string(format!("/proc/{}/stat", self.posd)) {
            Ok(stat) => !matches!(
                stat.rsplit(')')
                    .next()
                    .and_then(|rest| rest.trim().chars().next()),
                Some('Z' | 'X')
            ),
            Err(_) => false,
        }
    }

    fn posd_ends_within(&self, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if !self.posd_runs() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }
}

impl Drop for UnderParent {
    fn drop(&mut self) {
        if self.posd_runs() {
            // SAFETY: kill(2) on a process this test started.
            unsafe { libc::kill(self.posd, libc::SIGKILL) };
        }
        let _ = self.parent.kill();
        let _ = self.parent.wait();
    }
}

async fn ready(dir: &Path) {
    let client = posd::local_client::LocalClient::new(dir.join("posd.sock"));
    let deadline = Instant::now() + Duration::from_secs(20);
    while client
        .request(Method::GET, "/v1/health", None)
        .await
        .is_err()
    {
        assert!(
            Instant::now() < deadline,
            "posd did not come up:\n{}",
            std::fs::read_to_string(dir.join("posd.log")).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn posd_ends_when_the_app_that_started_it_dies() {
    let sim = simulator(Faults::default()).await;
    for (how, args, extra_env) in [
        ("--exit-with-parent", &["--exit-with-parent"][..], None),
        ("POSD_EXIT_WITH_PARENT=1", &[][..], Some("1")),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let mut env = Daemon::env_for(dir.path(), &sim.url(), sim.ca_pem().unwrap());
        if let Some(value) = extra_env {
            support::set_env(&mut env, "POSD_EXIT_WITH_PARENT", value);
        }
        let mut app = UnderParent::start(dir.path(), &env, args);
        ready(dir.path()).await;
        app.kill_parent();
        assert!(
            app.posd_ends_within(Duration::from_secs(5)),
            "{how}: posd outlived its parent"
        );
        let log = std::fs::read_to_string(dir.path().join("posd.log")).unwrap();
        assert!(
            log.contains("posd: stopping"),
            "{how}: stopped as on SIGTERM:\n{log}"
        );
    }

    // Without it, posd is orphaned and goes on serving.
    let dir = tempfile::tempdir().unwrap();
    let env = Daemon::env_for(dir.path(), &sim.url(), sim.ca_pem().unwrap());
    let mut app = UnderParent::start(dir.path(), &env, &[]);
    ready(dir.path()).await;
    app.kill_parent();
    assert!(
        !app.posd_ends_within(Duration::from_secs(2)),
        "posd without the flag ended with its parent"
    );
    ready(dir.path()).await;
}
