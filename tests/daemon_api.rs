//! The local API through a real Unix socket, against the real daemon process and a simulator over
//! TLS: charges, bad input, cancel, export, the token-guarded TCP port, secrets kept out.

mod support;

use hyper::{Method, StatusCode};
use posd::order::{Order, OrderId, Policy};
use posd::sim::faults::Faults;
use posd::store::Store;
use serde_json::{Value, json};
use std::time::Duration;
use support::{Daemon, KEY, simulator, wait_final};

#[tokio::test]
async fn a_charge_with_a_code_is_paid_and_explained() {
    let sim = simulator(Faults::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::serving(dir.path(), &sim).await;
    let client = daemon.client();

    let mut body = support::latte(120);
    body["payment_code"] = json!("MY13697573pbmQsYhY");
    body["echo"] = json!(["table 4"]);
    let (status, order) = client
        .request(Method::POST, "/v1/charges", Some(&body))
        .await
        .unwrap();
    assert_eq!(status, StatusCode::CREATED, "{order}");
    let id = order["order_id"].as_str().unwrap().to_owned();
    let device = std::fs::read_to_string(dir.path().join("data/device-id")).unwrap();
    assert!(id.starts_with(&format!("{}-", device.trim())), "{id}");

    let order = wait_final(&client, &id, Duration::from_secs(10)).await;
    assert_eq!(order["state"], "paid");
    assert_eq!(order["gateway"]["code"], "250");
    assert_eq!(order["gateway"]["echo_0"], "table 4");
    let receipt = order["receipt"]["status"]["status"].as_str().unwrap();
    assert!(["pending", "printed"].contains(&receipt), "{order}");
    let history: Vec<&str> = order["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["to"]["state"].as_str().unwrap())
        .collect();
    assert_eq!(
        history,
        [
            "awaiting_payment_code",
            "waiting_to_send",
            "sending",
            "paid"
        ]
    );

    let (_, listed) = client
        .request(Method::GET, "/v1/charges?state=paid", None)
        .await
        .unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1);
    let (status, bad_state) = client
        .request(Method::GET, "/v1/charges?state=happy", None)
        .await
        .unwrap();
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        bad_state["error"]["message"]
            .as_str()
            .unwrap()
            .contains("awaiting_payment_code")
    );

    let (status, export) = client
        .request_raw(Method::GET, "/v1/orders/export", None)
        .await
        .unwrap();
    assert!(status.is_success());
    let lines: Vec<Value> = String::from_utf8(export.to_vec())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["order_id"], id.as_str());
    assert_eq!(lines[0]["state"], "paid");

    assert_eq!(sim.ledger().len(), 1);
    for text in [
        order.to_string(),
        String::from_utf8_lossy(&export).to_string(),
        daemon.log(),
    ] {
        assert!(
            !text.contains("MY13697573pbmQsYhY"),
            "the payment code leaked"
        );
        assert!(!text.contains(KEY), "the agent key leaked");
    }
}

#[tokio::test]
async fn listings_come_in_pages_and_the_export_streams_every_final_order() {
    let sim = simulator(Faults::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::serving(dir.path(), &sim).await;
    let client = daemon.client();
    let mut created = Vec::new();
    // Enough cancelled orders for the export to span several chunks.
    for _ in 0..80 {
        let (status, order) = client
            .request(Method::POST, "/v1/charges", Some(&support::latte(60)))
            .await
            .unwrap();
        assert_eq!(status, StatusCode::CREATED, "{order}");
        let id = order["order_id"].as_str().unwrap().to_owned();
        let (status, order) = client
            .request(Method::POST, &format!("/v1/charges/{id}/cancel"), None)
            .await
            .unwrap();
        assert_eq!(status, StatusCode::OK, "{order}");
        created.push(id);
    }
    let (_, pending) = client
        .request(Method::POST, "/v1/charges", Some(&support::latte(60)))
        .await
        .unwrap();
    created.sort();

    let ids = |page: &Value| -> Vec<String> {
        page.as_array()
            .unwrap()
            .iter()
            .map(|o| o["order_id"].as_str().unwrap().to_owned())
            .collect()
    };
    let (_, first) = client
        .request(Method::GET, "/v1/charges", None)
        .await
        .unwrap();
    assert_eq!(ids(&first).len(), 81, "81 orders fit the default page");
    let mut paged = Vec::new();
    let mut after = String::new();
    loop {
        let path = if after.is_empty() {
            "/v1/charges?state=cancelled&limit=25".to_owned()
        } else {
            format!("/v1/charges?state=cancelled&limit=25&after={after}")
        };
        let (status, page) = client.request(Method::GET, &path, None).await.unwrap();
        assert_eq!(status, StatusCode::OK, "{page}");
        let page = ids(&page);
        paged.extend(page.iter().cloned());
        if page.len() < 25 {
            break;
        }
        after = page.last().unwrap().clone();
    }
    assert_eq!(paged, created, "every cancelled order once, in id order");
    assert!(!paged.contains(&pending["order_id"].as_str().unwrap().to_owned()));

    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=1001", "limit"),
        ("limit=ten", "limit"),
        ("after=a%20b", "after"),
        ("state=happy", "state"),
        ("page=2", "page"),
    ] {
        let (status, answer) = client
            .request(Method::GET, &format!("/v1/charges?{query}"), None)
            .await
            .unwrap();
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {answer}");
        assert_eq!(answer["error"]["field"], field, "{query}: {answer}");
    }

    let (status, export) = client
        .request_raw(Method::GET, "/v1/orders/export", None)
        .await
        .unwrap();
    assert!(status.is_success());
    assert!(export.len() > 32 * 1024, "more than one chunk");
    let exported: Vec<String> = String::from_utf8(export.to_vec())
        .unwrap()
        .lines()
        .map(|line| {
            let order: Value = serde_json::from_str(line).unwrap();
            assert_eq!(order["state"], "cancelled");
            order["order_id"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(
        exported, created,
        "final orders only, each once, in id order"
    );
}

#[tokio::test]
async fn posd_orders_list_pages_through_a_long_history() {
    let sim = simulator(Faults::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let policy = Policy::default();
    // Now, or the daemon's retention would prune them as it starts.
    let at = posd::clock::now();
    let mut cancelled = Vec::new();
    {
        let store = Store::open(dir.path().join("data").join("orders")).unwrap();
        // One more than the command asks for at a time, and two orders of another state.
        for i in 0..503 {
            let id = format!("HIST-{i:04}");
            let charge = serde_json::from_value(json!({"amount": 10})).unwrap();
            let mut order = Order::new(OrderId::parse(&id).unwrap(), charge, at).unwrap();
            if i % 250 != 7 {
                order.cancel(at).unwrap();
                cancelled.push(id);
            }
            store.insert(&order, &policy).unwrap();
        }
    }
    assert_eq!(cancelled.len(), 501);
    let daemon = Daemon::serving(dir.path(), &sim).await;
    let socket = dir.path().join("posd.sock");
    let posd = |args: &[&str]| {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_posd"))
            .args(args)
            .arg("--socket")
            .arg(&socket)
            .output()
            .unwrap();
        assert!(output.status.success(), "{args:?}: {output:?}");
        String::from_utf8(output.stdout).unwrap()
    };
    let first_column = |text: String| -> Vec<String> {
        text.lines()
            .map(|line| line.split('\t').next().unwrap().to_owned())
            .collect()
    };

    let all = first_column(posd(&["orders", "list"]));
    assert_eq!(all.len(), 503, "every order once");
    assert!(all.windows(2).all(|pair| pair[0] < pair[1]), "in id order");
    assert_eq!(
        first_column(posd(&["orders", "list", "--state", "cancelled"])),
        cancelled
    );
    let exported: Vec<Value> = posd(&["orders", "export"])
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(exported.len(), 501, "final orders only");
    drop(daemon);
}

#[tokio::test]
async fn bad_input_is_refused_with_the_field_named_and_nothing_charged() {
    let sim = simulator(Faults::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::serving(dir.path(), &sim).await;
    let client = daemon.client();
    let post = |body: Value| {
        let client = &client;
        async move {
            client
                .request(Method::POST, "/v1/charges", Some(&body))
                .await
                .unwrap()
        }
    };

    let cases = [
        (
            json!({"amount": 0}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "amount",
        ),
        (
            json!({"amount": -5}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "amount",
        ),
        (
            json!({"amount": 10.5}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "amount",
        ),
        (
            json!({"amount": "ten"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "amount",
        ),
        (
            json!({"amount": 10, "tip": 3}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "tip",
        ),
        (
            json!({"amount": 100, "items": [{"id": "1", "name": "a", "unit_price": 30, "quantity": 3}]}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "amount",
        ),
        (
            json!({"amount": 10, "invoice": {"type": "donation", "love_code": "1"}}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invoice.love_code",
        ),
        (
            json!({"amount": 10, "invoice": {"type": "business", "title": "公司", "tax_id": "12345678", "address": "台北"}}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invoice.tax_id",
        ),
        (
            json!({"amount": 10, "order_id": "有中文"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "order_id",
        ),
        (
            json!({"amount": 10, "payment_code": "a b"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "payment_code",
        ),
    ];
    for (body, status, field) in cases {
        let (got, answer) = post(body.clone()).await;
        assert_eq!(got, status, "{body} → {answer}");
        let message = answer["error"]["message"].as_str().unwrap();
        assert!(
            answer["error"]["field"].as_str() == Some(field) || message.contains(field),
            "{body}: expected {field} named in {answer}"
        );
    }

    let (status, answer) = client
        .request_raw(Method::POST, "/v1/charges", None)
        .await
        .unwrap();
    assert!(status.is_client_error(), "{status} {answer:?}");

    let huge = json!({"amount": 10, "echo": ["x".repeat(100 * 1024)]});
    let (status, _) = post(huge).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);

    let mut first = support::latte(50);
    first["order_id"] = json!("DUP-1");
    assert_eq!(post(first.clone()).await.0, StatusCode::CREATED);
    let (status, answer) = post(first).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(answer["error"]["field"], "order_id");

    let (status, _) = client
        .request(Method::GET, "/v1/charges/NOPE-1", None)
        .await
        .unwrap();
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = client
        .request(Method::GET, "/v1/nothing", None)
        .await
        .unwrap();
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(sim.ledger().is_empty(), "nothing reached the gateway");

    // The daemon is still well after all that.
    let (status, _) = client
        .request(Method::GET, "/v1/health", None)
        .await
        .unwrap();
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn cancel_only_before_anything_was_sent() {
    let sim = simulator(Faults::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::serving(dir.path(), &sim).await;
    let client = daemon.client();

    let (_, order) = client
        .request(Method::POST, "/v1/charges", Some(&support::latte(80)))
        .await
        .unwrap();
    let id = order["order_id"].as_str().unwrap().to_owned();
    assert_eq!(order["state"], "awaiting_payment_code");
    let (status, cancelled) = client
        .request(Method::POST, &format!("/v1/charges/{id}/cancel"), None)
        .await
        .unwrap();
    assert_eq!(status, StatusCode::OK, "{cancelled}");
    assert_eq!(cancelled["state"], "cancelled");
    let (status, _) = client
        .request(
            Method::POST,
            &format!("/v1/charges/{id}/payment-code"),
            Some(&json!({"payment_code": "MY1234567890123456"})),
        )
        .await
        .unwrap();
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "a cancelled order takes no code"
    );

    let (_, order) = client
        .request(Method::POST, "/v1/charges", Some(&support::latte(90)))
        .await
        .unwrap();
    let id = order["order_id"].as_str().unwrap().to_owned();
    let (status, _) = client
        .request(
            Method::POST,
            &format!("/v1/charges/{id}/payment-code"),
            Some(&json!({"payment_code": "MY2234567890123456"})),
        )
        .await
        .unwrap();
    assert_eq!(status, StatusCode::OK);
    wait_final(&client, &id, Duration::from_secs(10)).await;
    let (status, refused) = client
        .request(Method::POST, &format!("/v1/charges/{id}/cancel"), None)
        .await
        .unwrap();
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("cannot be cancelled")
    );
}

/// A wallet's code is single-use and stays on the customer's screen. Given to a second order
/// while the first may have charged it, it is refused by name (the code itself never shown) and
/// nothing is stored or sent for it; a code whose order charged nothing may be given again.
#[tokio::test]
async fn a_code_already_given_to_an_order_that_may_have_charged_it_is_refused() {
    let sim = simulator(Faults::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::serving(dir.path(), &sim).await;
    let client = daemon.client();
    let code = "MY13697573pbmQsYhY";

    support::charge_with_code(&client, "TWICE-1", 120, code).await;
    let first = wait_final(&client, "TWICE-1", Duration::from_secs(10)).await;
    assert_eq!(first["state"], "paid");
    // The app sending the paid order its own code again is refused, and gives the code up to
    // no one.
    let (status, _) = client
        .request(
            Method::POST,
            "/v1/charges/TWICE-1/payment-code",
            Some(&json!({ "payment_code": code })),
        )
        .await
        .unwrap();
    assert_eq!(status, StatusCode::CONFLICT);

    let mut again = support::latte(80);
    again["order_id"] = json!("TWICE-2");
    again["payment_code"] = json!(code);
    let (status, refused) = client
        .request(Method::POST, "/v1/charges", Some(&again))
        .await
        .unwrap();
    assert_eq!(status, StatusCode::CONFLICT, "{refused}");
    assert_eq!(refused["error"]["field"], "payment_code");
    let message = refused["error"]["message"].as_str().unwrap();
    assert!(message.contains("TWICE-1"), "{message}");
    assert!(!refused.to_string().contains(code), "{refused}");
    let (status, _) = client
        .request(Method::GET, "/v1/charges/TWICE-2", None)
        .await
        .unwrap();
    assert_eq!(status, StatusCode::NOT_FOUND, "nothing stored for it");

    let mut waiting = support::latte(90);
    waiting["order_id"] = json!("TWICE-3");
    let (status, _) = client
        .request(Method::POST, "/v1/charges", Some(&waiting))
        .await
        .unwrap();
    assert_eq!(status, StatusCode::CREATED);
    let (status, refused) = client
        .request(
            Method::POST,
            "/v1/charges/TWICE-3/payment-code",
            Some(&json!({ "payment_code": code })),
        )
        .await
        .unwrap();
    assert_eq!(status, StatusCode::CONFLICT, "{refused}");
    let (_, still) = client
        .request(Method::GET, "/v1/charges/TWICE-3", None)
        .await
        .unwrap();
    assert_eq!(still["state"], "awaiting_payment_code");
    let (status, _) = client
        .request(
            Method::POST,
            "/v1/charges/TWICE-3/payment-code",
            Some(&json!({"payment_code": "MY23697573pbmQsYhY"})),
        )
        .await
        .unwrap();
    assert_eq!(status, StatusCode::OK);
    let third = wait_final(&client, "TWICE-3", Duration::from_secs(10)).await;
    assert_eq!(third["state"], "paid");

    // Declined (the simulator declines codes ending in 300): nothing was charged.
    let declined = "MY13697573pbmQs300";
    support::charge_with_code(&client, "DECLINED-1", 50, declined).await;
    let first = wait_final(&client, "DECLINED-1", Duration::from_secs(10)).await;
    assert_eq!(first["state"], "declined");
    support::charge_with_code(&client, "DECLINED-2", 50, declined).await;
    wait_final(&client, "DECLINED-2", Duration::from_secs(10)).await;
}

#[tokio::test]
async fn the_tcp_port_needs_the_token() {
    let sim = simulator(Faults::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let port = support::free_port();
    let mut env = Daemon::env_for(dir.path(), &sim.url(), sim.ca_pem().unwrap());
    env.push(("POSD_TCP_LISTEN".into(), format!("127.0.0.1:{port}")));
    env.push(("POSD_TCP_TOKEN".into(), "s3cret-token".into()));
    let daemon = Daemon::start(dir.path(), env);
    daemon.ready().await;
    let http = reqwest::Client::new();
    let url = format!("http://127.0.0.1:{port}/v1/health");
    assert_eq!(http.get(&url).send().await.unwrap().status(), 401);
    let wrong = http
        .get(&url)
        .bearer_auth("s3cret-tokeN")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let right = http
        .get(&url)
        .bearer_auth("s3cret-token")
        .send()
        .await
        .unwrap();
    assert_eq!(right.status(), 200);
}

#[tokio::test]
async fn a_non_loopback_tcp_address_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let mut env = Daemon::env_for(dir.path(), "https://127.0.0.1:9/api/agent", "");
    env.retain(|(k, _)| k != "POSD_CA_FILE");
    env.push(("POSD_TCP_LISTEN".into(), "0.0.0.0:8790".into()));
    env.push(("POSD_TCP_TOKEN".into(), "t".into()));
    let mut daemon = Daemon::start(dir.path(), env);
    let status = daemon.child.wait().unwrap();
    assert_eq!(
        status.code(),
        Some(2),
        "a configuration error: restarting will not help"
    );
    assert!(
        daemon.log().contains("not a loopback address"),
        "{}",
        daemon.log()
    );
}

#[tokio::test]
async fn events_stream_the_charge() {
    let sim = simulator(Faults::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::serving(dir.path(), &sim).await;

    let mut lines = support::event_lines(&dir.path().join("posd.sock")).await;

    let mut body = support::latte(70);
    body["payment_code"] = json!("MY3234567890123456");
    let (_, order) = daemon
        .client()
        .request(Method::POST, "/v1/charges", Some(&body))
        .await
        .unwrap();
    let id = order["order_id"].as_str().unwrap().to_owned();

    let mut kinds = Vec::new();
    let read = async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Some(data) = line.strip_prefix("data: ") {
                let event: Value = serde_json::from_str(data).unwrap();
                assert_eq!(event["order_id"], id.as_str());
                kinds.push(event["kind"].as_str().unwrap().to_owned());
                if event["kind"] == "paid" {
                    break;
                }
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(10), read)
        .await
        .unwrap();
    assert_eq!(kinds, ["created", "submitting", "paid"]);
}

#[tokio::test]
async fn a_layout_whose_logo_is_missing_stops_the_start_with_its_name() {
    let dir = tempfile::tempdir().unwrap();
    let layout = dir.path().join("layout.toml");
    std::fs::write(&layout, "header = [\"店\"]\nlogo = \"missing-logo.png\"\n").unwrap();
    let mut env = Daemon::env_for(dir.path(), "https://127.0.0.1:9/api/agent", "");
    env.retain(|(k, _)| k != "POSD_CA_FILE");
    env.push(("POSD_LAYOUT".into(), layout.display().to_string()));
    let mut daemon = Daemon::start(dir.path(), env);
    let status = daemon.child.wait().unwrap();
    assert_eq!(status.code(), Some(2));
    assert!(
        daemon.log().contains("missing-logo.png"),
        "{}",
        daemon.log()
    );

    // The shipped layout and its logo load, and the daemon comes up.
    let dir = tempfile::tempdir().unwrap();
    let mut env = Daemon::env_for(dir.path(), "https://127.0.0.1:9/api/agent", "");
    env.retain(|(k, _)| k != "POSD_CA_FILE");
    env.push((
        "POSD_LAYOUT".into(),
        concat!(env!("CARGO_MANIFEST_DIR"), "/receipts/layout.toml").into(),
    ));
    let daemon = Daemon::start(dir.path(), env);
    daemon.ready().await;
}

/// A code a scanner sent with its trailing newline is masked as it is taken, in the event and the
/// log: a short code is starred whole, never shown in part.
#[tokio::test]
async fn the_code_read_event_masks_the_code_as_taken_not_as_sent() {
    let sim = simulator(Faults::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::serving(dir.path(), &sim).await;
    let client = daemon.client();
    let events = support::collect_events(&dir.path().join("posd.sock")).await;
    let mut charge = support::latte(60);
    charge["order_id"] = json!("MASK-1");
    let (status, body) = client
        .request(Method::POST, "/v1/charges", Some(&charge))
        .await
        .unwrap();
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = client
        .request(
            Method::POST,
            "/v1/charges/MASK-1/payment-code",
            Some(&json!({"payment_code": "ABCDEFGHI\n"})),
        )
        .await
        .unwrap();
    assert_eq!(status, StatusCode::OK, "{body}");
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    let read = loop {
        let read: Vec<Value> = events
            .lock()
            .unwrap()
            .iter()
            .filter(|e| e["kind"] == "code_read")
            .cloned()
            .collect();
        if !read.is_empty() {
            break read;
        }
        assert!(std::time::Instant::now() < deadline, "no code_read event");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    for event in &read {
        assert_eq!(event["detail"], "*********", "{event}");
    }
    assert!(
        !daemon.log().contains("ABCD"),
        "the log shows part of the code"
    );
}

/// Media types ignore case and their parameters: `Application/JSON` is JSON.
#[tokio::test]
async fn a_json_content_type_is_matched_without_regard_to_case() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let sim = simulator(Faults::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let _daemon = Daemon::serving(dir.path(), &sim).await;
    for (id, content_type) in [
        ("CASE-1", "Application/JSON"),
        ("CASE-2", "application/json; charset=UTF-8"),
    ] {
        let body = format!(r#"{{"amount": 60, "order_id": "{id}"}}"#);
        let head = format!(
            "POST /v1/charges HTTP/1.1\r\nHost: posd\r\nContent-Type: {content_type}\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        let mut stream = tokio::net::UnixStream::connect(dir.path().join("posd.sock"))
            .await
            .unwrap();
        stream.write_all(head.as_bytes()).await.unwrap();
        stream.write_all(body.as_bytes()).await.unwrap();
        let mut answer = Vec::new();
        let _ =
            tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer)).await;
        let answer = String::from_utf8_lossy(&answer);
        assert!(
            answer.starts_with("HTTP/1.1 201"),
            "{content_type}: {answer}"
        );
    }
}
