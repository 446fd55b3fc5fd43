//! The client against the simulator over real TLS: every command, every bad input, every outcome.

use posd::api::{
    self, Code, DirectDealRequest, EWalletRequest, ForgotTpRequest, MemberStatusRequest,
    OnlineDealRequest, PaymentCode, QueryDirectRequest, ShoppingDealRequest, TransactionRequest,
    VerificationRequest,
};
use posd::charge::{Charge, InvoiceOptions, Item};
use posd::envelope::{self, AgentKey};
use posd::gateway::{Client, GatewayConfig, Outcome};
use posd::sim::{self, RunningSim, SimConfig, faults::Faults};
use serde_json::{Value, json};
use std::time::Duration;

const AGENT_UID: &str = "518169081001";
const KEY: &str = "2MrhtRYeF9wKZ4bKwzZoL8aZf26pWzIG";
const STORE: &str = "289151880002";

struct Setup {
    sim: RunningSim,
    client: Client,
    _dir: tempfile::TempDir,
}

/// The client's configuration for `url` as the test agent, trusting only the system's roots.
fn gateway_config(url: &str) -> GatewayConfig {
    GatewayConfig {
        url: url.parse().unwrap(),
        agent_uid: AGENT_UID.into(),
        agent_key: AgentKey::new(KEY).unwrap(),
        store_uid: STORE.into(),
        ca_file: None,
        connect_timeout: Duration::from_secs(1),
        timeout: Duration::from_secs(1),
        dns_servers: Vec::new(),
    }
}

async fn setup_with(faults: Faults, timeout: Duration) -> Setup {
    let mut config = SimConfig::new(AGENT_UID, AgentKey::new(KEY).unwrap(), STORE);
    config.faults = faults;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sim = sim::start(config, listener).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, sim.ca_pem().unwrap()).unwrap();
    let client = Client::new(GatewayConfig {
        ca_file: Some(ca),
        connect_timeout: Duration::from_secs(2),
        timeout,
        ..gateway_config(&sim.url())
    })
    .unwrap();
    Setup {
        sim,
        client,
        _dir: dir,
    }
}

async fn setup() -> Setup {
    setup_with(Faults::default(), Duration::from_secs(5)).await
}

fn charge() -> Charge {
    Charge {
        amount: 130,
        items: vec![
            Item {
                id: "1".into(),
                name: "珍珠奶茶".into(),
                unit_price: 55,
                quantity: 2,
            },
            Item {
                id: "2".into(),
                name: "茶葉蛋".into(),
                unit_price: 20,
                quantity: 1,
            },
        ],
        discount: 0,
        shipping_fee: 0,
        invoice: InvoiceOptions::StoreDefault,
        echo: vec!["lane-3".into()],
        user_id: None,
    }
}

fn transaction(order_id: &str, code: &str) -> TransactionRequest {
    TransactionRequest::offline(
        STORE,
        order_id,
        "pos",
        &charge(),
        PaymentCode::new(code).unwrap(),
    )
}

fn online_deal(order_id: &str) -> OnlineDealRequest {
    serde_json::from_value(json!({
        "store_uid": STORE, "cost": "10", "order_id": order_id, "user_id": "u1", "ip": "127.0.0.1",
        "items": [{"id": "1", "name": "商品", "cost": "10", "amount": "1", "total": "10"}]
    }))
    .unwrap()
}

#[tokio::test]
async fn offline_charge_is_paid_with_a_complete_invoice() {
    let s = setup().await;
    let answer = s
        .client
        .call(&transaction("T-1", "MY13697573pbmQsYhY"))
        .await
        .answered()
        .expect("answered");
    assert_eq!(answer.code, Code::Paid);
    assert_eq!(answer.order_id.as_deref(), Some("T-1"));
    assert_eq!(answer.cost, Some(api::Twd(130)));
    assert_eq!(answer.echo_0.as_deref(), Some("lane-3"));
    assert_eq!(answer.key.as_ref().map(String::len), Some(32));
    assert_eq!(
        answer.invoice.invoice_state,
        Some(api::values::InvoiceState::Issued)
    );
    let left = answer.invoice.invoice_left_qrcode.as_deref().unwrap();
    assert!(left.len() > 77, "77-char header then fields");
    assert!(
        left.contains("珍珠奶茶"),
        "UTF-8 item names in the left code"
    );
    assert!(
        answer
            .invoice
            .invoice_right_qrcode
            .as_deref()
            .unwrap()
            .starts_with("**")
    );
    let barcode = answer.invoice.invoice_middle_barcode.as_deref().unwrap();
    assert_eq!(barcode.len(), 19);
    assert!(barcode.contains(answer.invoice.invoice_number.as_deref().unwrap()));
    let detail = answer.invoice.invoice_detail().unwrap();
    assert_eq!(detail.len(), 2);
    assert_eq!(detail[0].amount, api::Twd(110));
}

#[tokio::test]
async fn every_command_round_trips() {
    let s = setup().await;
    let c = &s.client;
    c.call(&transaction("Q-1", "MY0000000000000001"))
        .await
        .answered()
        .unwrap();
    let found = c
        .call(&QueryDirectRequest {
            store_uid: STORE.into(),
            order_id: "Q-1".into(),
            user_id: None,
            cost: None,
        })
        .await
        .answered()
        .unwrap();
    assert_eq!(found.code, Code::Done);
    assert_eq!(found.rows.len(), 1);

    let status = c
        .call(&MemberStatusRequest {
            user_id: "Alice".into(),
        })
        .await
        .answered()
        .unwrap();
    assert_eq!(status.status, Some(false));
    let forgot = c
        .call(&ForgotTpRequest {
            user_id: "alice".into(),
            homepage_url: "https://shop.example".into(),
        })
        .await
        .answered()
        .unwrap();
    assert_eq!(forgot.code, Code::NoPasswordSet);
    let bind = c
        .call(&EWalletRequest {
            user_id: "alice".into(),
            kind: api::values::EWalletType::Bind,
            return_url: None,
            homepage_url: "https://shop.example".into(),
        })
        .await
        .answered()
        .unwrap();
    assert_eq!(bind.code, Code::Done);
    assert!(bind.url.unwrap().starts_with("https://"));
    let status = c
        .call(&MemberStatusRequest {
            user_id: "ALICE".into(),
        })
        .await
        .answered()
        .unwrap();
    assert_eq!(status.status, Some(true), "user ids are case-insensitive");

    for answer in [
        c.call(&DirectDealRequest(online_deal("D-1")))
            .await
            .answered()
            .unwrap(),
        c.call(&ShoppingDealRequest(online_deal("S-1")))
            .await
            .answered()
            .unwrap(),
        c.call(&VerificationRequest {
            country_code: "TW".into(),
            store_uid: STORE.into(),
            method_type: api::values::VerificationMethod::SmsOtp,
            user_id: "alice".into(),
            user_sn_type: None,
            user_sn: None,
            user_phone: None,
            user_cellphone: Some("0912345678".into()),
            user_email: None,
            bank_code: None,
            tix: None,
            ip: "127.0.0.1".into(),
            success_returl: None,
            failure_returl: None,
            homepage_url: None,
        })
        .await
        .answered()
        .unwrap(),
    ] {
        assert_eq!(answer.code, Code::Done);
        assert!(answer.url.is_some());
    }
}

#[tokio::test]
async fn scripted_outcomes_and_reconciliation() {
    let s = setup().await;
    let c = &s.client;
    let cases = [
        ("134567890123456300", Code::Failed),
        ("134567890123456380", Code::Expired),
        ("134567890123456290", Code::PaidWithMismatch),
        ("134567890123456402", Code::Abandoned),
        ("134567890123456401", Code::Pending),
        ("134567890123456280", Code::Accepted),
    ];
    for (i, (code, expected)) in cases.iter().enumerate() {
        let answer = c
            .call(&transaction(&format!("S-{i}"), code))
            .await
            .answered()
            .unwrap();
        assert_eq!(&answer.code, expected, "code {code}");
    }
    for order in ["S-4", "S-5"] {
        let found = c
            .call(&QueryDirectRequest {
                store_uid: STORE.into(),
                order_id: order.into(),
                user_id: None,
                cost: None,
            })
            .await
            .answered()
            .unwrap();
        assert_eq!(
            found.rows[0].code,
            Code::Paid,
            "pending {order} resolves on query"
        );
        assert_eq!(
            found.rows[0].invoice.invoice_state,
            Some(api::values::InvoiceState::Issued)
        );
    }
    // 400 once, nothing committed, then paid on the resend of the same order.
    let first = c
        .call(&transaction("E-1", "134567890123456400"))
        .await
        .answered()
        .unwrap();
    assert_eq!(first.code, Code::SystemError);
    assert!(s.sim.ledger().iter().all(|e| e.order_id != "E-1"));
    let second = c
        .call(&transaction("E-1", "134567890123456400"))
        .await
        .answered()
        .unwrap();
    assert_eq!(second.code, Code::Paid);
}

#[tokio::test]
async fn same_order_is_idempotent_and_a_code_pays_once() {
    let s = setup().await;
    let c = &s.client;
    let first = c
        .call(&transaction("I-1", "MY1111111111111111"))
        .await
        .answered()
        .unwrap();
    let again = c
        .call(&transaction("I-1", "MY1111111111111111"))
        .await
        .answered()
        .unwrap();
    assert_eq!(first, again, "the same answer, not a second charge");
    let ledger = s.sim.ledger();
    assert_eq!(ledger.len(), 1);
    assert_eq!(ledger[0].requests, 2);

    let mut changed = transaction("I-1", "MY1111111111111111");
    changed.order.echo_1 = Some("other".into());
    let refused = c.call(&changed).await.answered().unwrap();
    assert_eq!(refused.code, Code::DataIncorrect);
    assert!(refused.msg.unwrap().contains("I-1"));

    let reuse = c
        .call(&transaction("I-2", "MY1111111111111111"))
        .await
        .answered()
        .unwrap();
    assert_eq!(reuse.code, Code::Failed);
    assert!(reuse.msg.unwrap().contains("already used"));
    assert_eq!(s.sim.ledger().len(), 1);
}

/// Posts raw fields, as a client other than ours would.
async fn post_raw(body: reqwest::RequestBuilder) -> Value {
    body.send().await.unwrap().json().await.unwrap()
}

fn raw_client(s: &Setup) -> reqwest::Client {
    let pem = s.sim.ca_pem().unwrap().as_bytes().to_vec();
    reqwest::Client::builder()
        .use_rustls_tls()
        .add_root_certificate(reqwest::Certificate::from_pem(&pem).unwrap())
        .build()
        .unwrap()
}

#[tokio::test]
async fn bad_requests_get_code_100_naming_the_field() {
    let s = setup().await;
    let key = AgentKey::new(KEY).unwrap();
    let wrong_key = AgentKey::new("00000000000000000000000000000000").unwrap();
    let http = raw_client(&s);
    let service = envelope::seal_json(&key, &api::Command::Transaction.service());
    let mut long_id = serde_json::to_value(transaction("x", "MY1")).unwrap();
    long_id["order_id"] = json!("X".repeat(51));
    let mut bad_total = serde_json::to_value(transaction("BT-1", "MY1")).unwrap();
    bad_total["items"][0]["total"] = json!("100");
    let mut other_store = serde_json::to_value(transaction("OS-1", "MY1")).unwrap();
    other_store["store_uid"] = json!("999");
    let mut fraction = serde_json::to_value(transaction("F-1", "MY1")).unwrap();
    fraction["cost"] = json!("130.5");
    let mut bad_ban = serde_json::to_value(transaction("B-1", "MY1")).unwrap();
    bad_ban["issue_invoice_state"] = json!(1);
    bad_ban["invoice_input_type"] = json!(3);
    bad_ban["invoice_b2b_title"] = json!("公司");
    bad_ban["invoice_b2b_id"] = json!("12345678");
    bad_ban["invoice_b2b_address"] = json!("台北");

    // A well-formed form whose request is `data`: only the request is wrong.
    let sealed = |data: &Value| {
        vec![
            ("agent_uid", AGENT_UID.to_owned()),
            ("service", service.clone()),
            ("encry_data", envelope::seal_json(&key, data)),
        ]
    };
    let cases: Vec<(Vec<(&str, String)>, &str)> = vec![
        (
            vec![
                ("agent_uid", "1".into()),
                ("service", service.clone()),
                ("encry_data", envelope::seal_json(&key, &json!({}))),
            ],
            "agent_uid: 1 is not a known agent",
        ),
        (
            vec![
                ("agent_uid", AGENT_UID.into()),
                // A fixed IV: under a random one, the wrong key's padding reads as valid 1 time in 256.
                (
                    "service",
                    envelope::seal_with_iv(&wrong_key, &[7; 16], b"{}"),
                ),
                ("encry_data", "x".into()),
            ],
            "service: bad padding",
        ),
        (
            vec![
                ("agent_uid", AGENT_UID.into()),
                ("service", service.clone()),
                ("encry_data", "%%%".into()),
            ],
            "encry_data: not valid base64",
        ),
        (
            vec![
                ("agent_uid", AGENT_UID.into()),
                ("service", service.clone()),
            ],
            "encry_data: is required",
        ),
        (sealed(&long_id), "order_id: is 51 bytes long"),
        (
            sealed(&bad_total),
            "items[0].total: is 100 but cost 55 × amount 2 is 110",
        ),
        (
            sealed(&other_store),
            "store_uid: 999 is not a store of this agent",
        ),
        (sealed(&fraction), "cost"),
        (
            sealed(&bad_ban),
            "invoice_b2b_id: 12345678 fails the tax id checksum",
        ),
        (
            vec![
                ("agent_uid", AGENT_UID.into()),
                (
                    "service",
                    envelope::seal_json(
                        &key,
                        &json!({"service_name": "api", "cmd": "api/nothing"}),
                    ),
                ),
                ("encry_data", envelope::seal_json(&key, &json!({}))),
            ],
            "service: api/api/nothing is not a command of this API",
        ),
    ];
    for (form, expected) in cases {
        let answer = post_raw(http.post(s.sim.url()).form(&form)).await;
        assert_eq!(answer["code"], "100", "{expected}: {answer}");
        let msg = answer["msg"].as_str().unwrap();
        assert!(msg.contains(expected), "expected {expected:?} in {msg:?}");
    }
    assert!(s.sim.ledger().is_empty(), "nothing was charged");
}

#[tokio::test]
async fn json_bodies_are_accepted_like_the_node_sample() {
    let s = setup().await;
    let key = AgentKey::new(KEY).unwrap();
    let answer = post_raw(raw_client(&s).post(s.sim.url()).json(&json!({
        "agent_uid": AGENT_UID,
        "service": envelope::seal_json(&key, &api::Command::MemberStatus.service()),
        "encry_data": envelope::seal_json(&key, &json!({"user_id": "bob"})),
    })))
    .await;
    assert_eq!(answer["code"], "B200");
    assert_eq!(answer["status"], false);
}

#[tokio::test]
async fn ledger_and_faults_over_http() {
    let s = setup().await;
    let http = raw_client(&s);
    let base = s.sim.url().replace("/api/agent", "");
    s.client
        .call(&transaction("L-1", "MY2222222222222222"))
        .await
        .answered()
        .unwrap();
    let ledger: Value = http
        .get(format!("{base}/_sim/ledger"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ledger[0]["order_id"], "L-1");
    assert_eq!(ledger[0]["cost"], 130);
    assert_eq!(ledger[0]["requests"], 1);
    assert_eq!(ledger[0]["code"], "250");

    let set = http
        .post(format!("{base}/_sim/faults"))
        .json(&json!({"http_5xx": 1.0, "max_faults": 1}))
        .send()
        .await
        .unwrap();
    assert!(set.status().is_success());
    assert!(matches!(
        s.client
            .call(&transaction("L-2", "MY3333333333333333"))
            .await,
        Outcome::Unknown(_)
    ));
    assert!(
        s.client
            .call(&transaction("L-2", "MY3333333333333333"))
            .await
            .answered()
            .is_some()
    );
    let bad = http
        .post(format!("{base}/_sim/faults"))
        .json(&json!({"http_5xx": 2.0}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    assert!(bad.text().await.unwrap().contains("http_5xx"));
}

#[tokio::test]
async fn outcome_classes_come_from_the_matching_faults() {
    // Nothing listening: not sent.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let s = setup().await;
    let mut config = s.client.config().clone();
    config.url = format!("https://127.0.0.1:{port}/api/agent")
        .parse()
        .unwrap();
    let nobody = Client::new(config).unwrap();
    assert!(matches!(
        nobody.call(&transaction("O-0", "MY1")).await,
        Outcome::NotSent(_)
    ));

    // A gateway whose certificate we do not trust: not sent (the handshake fails).
    let mut config = s.client.config().clone();
    config.ca_file = None;
    let untrusting = Client::new(config).unwrap();
    match untrusting.call(&transaction("O-1", "MY1")).await {
        Outcome::NotSent(e) => assert!(e.detail.to_lowercase().contains("certificate"), "{e}"),
        other => panic!("expected not sent, got {other:?}"),
    }
    assert!(s.sim.ledger().is_empty());

    // The answer is lost after the gateway committed: unknown, and the ledger shows the charge.
    s.sim
        .set_faults(Faults {
            drop_after_commit: 1.0,
            max_faults: Some(1),
            ..Faults::default()
        })
        .unwrap();
    assert!(matches!(
        s.client
            .call(&transaction("O-2", "MY4444444444444444"))
            .await,
        Outcome::Unknown(_)
    ));
    assert_eq!(s.sim.ledger()[0].order_id, "O-2");

    // A body cut in half: unknown.
    s.sim
        .set_faults(Faults {
            malformed_body: 1.0,
            max_faults: Some(1),
            ..Faults::default()
        })
        .unwrap();
    match s
        .client
        .call(&transaction("O-3", "MY5555555555555555"))
        .await
    {
        Outcome::Unknown(e) => assert!(e.detail.contains("not JSON"), "{e}"),
        other => panic!("expected unknown, got {other:?}"),
    }

    // Dropped before the request is read: the client cannot tell, so unknown.
    s.sim
        .set_faults(Faults {
            drop_before_read: 1.0,
            max_faults: Some(1),
            ..Faults::default()
        })
        .unwrap();
    let fresh = Client::new(s.client.config().clone()).unwrap();
    assert!(matches!(
        fresh.call(&transaction("O-4", "MY6666666666666666")).await,
        Outcome::Unknown(_)
    ));
    assert!(
        s.sim.ledger().iter().all(|e| e.order_id != "O-4"),
        "nothing committed"
    );
}

/// A gateway that writes a byte-order mark before its JSON (a PHP file saved with one): the
/// answer is read all the same. Served over plain HTTP on loopback, which the client allows.
#[tokio::test]
async fn an_answer_after_a_byte_order_mark_is_read() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/api/agent", listener.local_addr().unwrap());
    let gateway = tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut request = Vec::new();
        let mut buf = [0u8; 4096];
        // The request's headers, then as many bytes of body as they announce.
        loop {
            let n = stream.read(&mut buf).await.unwrap();
            assert!(n > 0, "the request ended early");
            request.extend_from_slice(&buf[..n]);
            let Some(end) = request.windows(4).position(|w| w == b"\r\n\r\n") else {
                continue;
            };
            let head = String::from_utf8_lossy(&request[..end]).to_lowercase();
            let length: usize = head
                .lines()
                .find_map(|line| line.strip_prefix("content-length:"))
                .map_or(0, |value| value.trim().parse().unwrap());
            if request.len() >= end + 4 + length {
                break;
            }
        }
        let mut body = b"\xEF\xBB\xBF".to_vec();
        body.extend_from_slice(
            json!({"code": "250", "msg": "交易成功", "order_id": "O-BOM", "cost": "150"})
                .to_string()
                .as_bytes(),
        );
        let head = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
             connection: close\r\n\r\n",
            body.len()
        );
        stream.write_all(head.as_bytes()).await.unwrap();
        stream.write_all(&body).await.unwrap();
    });
    let client = Client::new(gateway_config(&url)).unwrap();
    match client
        .call(&transaction("O-BOM", "MY7777777777777777"))
        .await
    {
        Outcome::Answered(answer) => assert_eq!(answer.code, Code::Paid),
        other => panic!("expected the answer, got {other:?}"),
    }
    gateway.await.unwrap();
}

#[tokio::test]
async fn a_slow_gateway_is_an_unknown_outcome() {
    let s = setup_with(
        Faults {
            latency_ms: 1_500,
            ..Faults::default()
        },
        Duration::from_millis(500),
    )
    .await;
    match s
        .client
        .call(&transaction("SLOW-1", "MY7777777777777777"))
        .await
    {
        Outcome::Unknown(e) => assert!(e.detail.contains("in time"), "{e}"),
        other => panic!("expected unknown, got {other:?}"),
    }
    assert_eq!(
        s.sim.ledger()[0].order_id,
        "SLOW-1",
        "committed before the delay"
    );
}

#[test]
fn plain_http_only_to_loopback() {
    assert!(Client::new(gateway_config("http://127.0.0.1:8080/api/agent")).is_ok());
    assert!(Client::new(gateway_config("http://localhost:8080/api/agent")).is_ok());
    let e = Client::new(gateway_config("http://pay.usecase.cc/api/agent")).unwrap_err();
    assert!(
        e.to_string().contains("only allowed to a loopback address"),
        "{e}"
    );
    assert!(Client::new(gateway_config("ftp://127.0.0.1/")).is_err());
}

/// A DNS server on loopback that knows one name, built with hickory's own message types.
#[cfg(feature = "dns")]
async fn dns_server(name: &'static str) -> std::net::SocketAddr {
    use hickory_resolver::proto::op::{Message, MessageType};
    use hickory_resolver::proto::rr::{RData, Record, RecordType, rdata::A};
    use hickory_resolver::proto::serialize::binary::BinEncodable;
    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = socket.local_addr().unwrap();
    tokio::spawn(async move {
        let mut buffer = [0u8; 512];
        while let Ok((n, peer)) = socket.recv_from(&mut buffer).await {
            let query = Message::from_vec(&buffer[..n]).unwrap();
            let mut answer = Message::new();
            answer.set_id(query.id());
            answer.set_message_type(MessageType::Response);
            answer.set_op_code(query.op_code());
            answer.set_recursion_desired(query.recursion_desired());
            answer.set_recursion_available(true);
            answer.add_queries(query.queries().to_vec());
            for question in query.queries() {
                if question.query_type() == RecordType::A && question.name().to_string() == name {
                    answer.add_answer(Record::from_rdata(
                        question.name().clone(),
                        60,
                        RData::A(A::new(127, 0, 0, 1)),
                    ));
                }
            }
            socket
                .send_to(&answer.to_bytes().unwrap(), peer)
                .await
                .unwrap();
        }
    });
    addr
}

#[cfg(feature = "dns")]
#[tokio::test]
async fn configured_dns_servers_find_the_gateway_without_the_system_resolver() {
    let certificates = posd::sim::tls::make(&["gateway.posd.test".to_owned()]).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut config = SimConfig::new(AGENT_UID, AgentKey::new(KEY).unwrap(), STORE);
    config.certificates = Some(certificates.clone());
    let _sim = sim::start(config, listener).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, &certificates.ca_pem).unwrap();
    let dns = dns_server("gateway.posd.test.").await;
    let client = Client::new(GatewayConfig {
        ca_file: Some(ca),
        connect_timeout: Duration::from_secs(2),
        timeout: Duration::from_secs(5),
        dns_servers: vec![dns],
        ..gateway_config(&format!("https://gateway.posd.test:{port}/api/agent"))
    })
    .unwrap();
    let answer = client
        .call(&MemberStatusRequest {
            user_id: "dns".into(),
        })
        .await
        .answered()
        .expect("resolved through the configured server and answered");
    assert_eq!(answer.code, Code::Done);

    // A name the server does not know: not sent, and safe to retry.
    let mut config = client.config().clone();
    config.url = format!("https://unknown.posd.test:{port}/api/agent")
        .parse()
        .unwrap();
    let lost = Client::new(config).unwrap();
    assert!(matches!(
        lost.call(&MemberStatusRequest {
            user_id: "dns".into()
        })
        .await,
        Outcome::NotSent(_)
    ));
}

#[cfg(not(feature = "dns"))]
#[test]
fn dns_servers_without_the_dns_feature_are_refused_by_name() {
    let config = GatewayConfig {
        dns_servers: vec!["127.0.0.1:53".parse().unwrap()],
        ..gateway_config("https://gateway.posd.test/api/agent")
    };
    let e = Client::new(config).unwrap_err().to_string();
    assert!(
        e.contains("gateway.dns_servers") && e.contains("--features dns"),
        "{e}"
    );
}
