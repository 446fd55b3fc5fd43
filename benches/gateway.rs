//! One client round trip to the simulator on loopback over TLS, against a bare HTTPS GET on the
//! same connection pool as the floor: the difference is the envelope, JSON, validation and the
//! simulator's own work.

#[path = "../tests/support/mod.rs"]
mod support;

use criterion::{Criterion, criterion_group, criterion_main};
use posd::api::{MemberStatusRequest, PaymentCode, TransactionRequest};
use posd::envelope::AgentKey;
use posd::gateway::{Client, GatewayConfig, Outcome};
use posd::sim::faults::Faults;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use support::{AGENT_UID, KEY, STORE};

fn round_trips(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (simulator, client, bare, ledger_url) = runtime.block_on(async {
        let simulator = support::simulator(Faults::default()).await;
        let ca = dir.path().join("ca.pem");
        std::fs::write(&ca, simulator.ca_pem().unwrap()).unwrap();
        let client = Client::new(GatewayConfig {
            url: simulator.url().parse().unwrap(),
            agent_uid: AGENT_UID.into(),
            agent_key: AgentKey::new(KEY).unwrap(),
            store_uid: STORE.into(),
            ca_file: Some(ca),
            connect_timeout: Duration::from_secs(5),
            timeout: Duration::from_secs(10),
            dns_servers: Vec::new(),
        })
        .unwrap();
        let bare = reqwest::Client::builder()
            .use_rustls_tls()
            .add_root_certificate(
                reqwest::Certificate::from_pem(simulator.ca_pem().unwrap().as_bytes()).unwrap(),
            )
            .build()
            .unwrap();
        let ledger_url = simulator.url().replace("/api/agent", "/_sim/faults");
        (simulator, client, bare, ledger_url)
    });

    let charge = support::two_lattes();
    let next = AtomicU64::new(0);
    let mut group = c.benchmark_group("gateway round trip (loopback, TLS)");
    group.bench_function("bare HTTPS GET (floor)", |b| {
        b.to_async(&runtime).iter(|| async {
            bare.get(&ledger_url)
                .send()
                .await
                .unwrap()
                .bytes()
                .await
                .unwrap()
        })
    });
    group.bench_function("api/memberstatus", |b| {
        let request = MemberStatusRequest {
            user_id: "bench".into(),
        };
        b.to_async(&runtime)
            .iter(|| async { answered(client.call(&request).await) })
    });
    group.bench_function("api/transaction with e-invoice", |b| {
        b.to_async(&runtime).iter(|| async {
            let n = next.fetch_add(1, Ordering::Relaxed);
            let request = TransactionRequest::offline(
                STORE,
                &format!("BENCH-{n}"),
                "pos",
                &charge,
                // Ends in 999, which no simulator script answers but a plain payment.
                PaymentCode::new(format!("MY{n:013}999")).unwrap(),
            );
            answered(client.call(&request).await)
        })
    });
    group.finish();
    drop(simulator);
}

/// The answer, or a panic that says how the call ended instead.
fn answered<T>(outcome: Outcome<T>) -> T {
    match outcome {
        Outcome::Answered(answer) => answer,
        Outcome::NotSent(e) => panic!("the request was not sent: {e}"),
        Outcome::Unknown(e) => panic!("no usable answer: {e}"),
    }
}

criterion_group!(benches, round_trips);
criterion_main!(benches);
