//! One client round trip to the simulator on loopback over TLS, against a bare HTTPS GET on the
//! same connection pool as the floor: the difference is the envelope, JSON, validation and the
//! simulator's own work.

use criterion::{Criterion, criterion_group, criterion_main};
use posd::api::{MemberStatusRequest, PaymentCode, TransactionRequest};
use posd::charge::{Charge, InvoiceOptions, Item};
use posd::envelope::AgentKey;
use posd::gateway::{Client, GatewayConfig};
use posd::sim::{self, SimConfig};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

const KEY: &str = "2MrhtRYeF9wKZ4bKwzZoL8aZf26pWzIG";

fn round_trips(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (simulator, client, bare, ledger_url) = runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let simulator = sim::start(
            SimConfig::new("518169081001", AgentKey::new(KEY).unwrap(), "289151880002"),
            listener,
        )
        .await
        .unwrap();
        let ca = dir.path().join("ca.pem");
        std::fs::write(&ca, simulator.ca_pem().unwrap()).unwrap();
        let client = Client::new(GatewayConfig {
            url: simulator.url().parse().unwrap(),
            agent_uid: "518169081001".into(),
            agent_key: AgentKey::new(KEY).unwrap(),
            store_uid: "289151880002".into(),
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

    let charge = Charge {
        amount: 150,
        items: vec![Item {
            id: "1".into(),
            name: "拿鐵咖啡".into(),
            unit_price: 75,
            quantity: 2,
        }],
        discount: 0,
        shipping_fee: 0,
        invoice: InvoiceOptions::StoreDefault,
        echo: vec![],
        user_id: None,
    };
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
            .iter(|| async { client.call(&request).await.answered().unwrap() })
    });
    group.bench_function("api/transaction with e-invoice", |b| {
        b.to_async(&runtime).iter(|| async {
            let n = next.fetch_add(1, Ordering::Relaxed);
            let request = TransactionRequest::offline(
                "289151880002",
                &format!("BENCH-{n}"),
                "pos",
                &charge,
                PaymentCode::new(format!("MY{n:016}")).unwrap(),
            );
            client.call(&request).await.answered().unwrap()
        })
    });
    group.finish();
    drop(simulator);
}

criterion_group!(benches, round_trips);
criterion_main!(benches);
