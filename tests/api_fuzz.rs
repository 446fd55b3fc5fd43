//! Request parsing under attack: arbitrary and mangled bodies (random JSON, wrong types, huge
//! numbers, deep nesting, unknown fields, invalid UTF-8, truncated text) thrown at
//! `POST /v1/charges` and `POST /v1/charges/{id}/payment-code` of one real daemon over its Unix
//! socket.
//!
//! Every answer must be a JSON error with a 4xx status, or the success the body deserves, and never
//! holds the body's payment code; the daemon must stay up; and an order is stored exactly when an independent reading of the body
//! (the same types, parsed and validated here) finds it valid. `PROPTEST_CASES` sets the number of
//! bodies per endpoint (200 by default).

mod support;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use posd::daemon::routes::ChargeRequest;
use posd::order::{OrderId, PaymentCode};
use posd::sim::faults::Faults;
use proptest::collection::{btree_map, vec};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{Value, json};
use std::cell::{Cell, RefCell};
use std::path::Path;
use support::{Daemon, simulator};

/// Field names the parsers know, so random objects often hit a real field with a wrong value.
const FIELDS: [&str; 16] = [
    "amount",
    "items",
    "discount",
    "shipping_fee",
    "invoice",
    "echo",
    "user_id",
    "order_id",
    "payment_code",
    "id",
    "name",
    "unit_price",
    "quantity",
    "type",
    "carrier",
    "love_code",
];

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_filter_map("JSON has no NaN or infinity", |f| {
            serde_json::Number::from_f64(f).map(Value::Number)
        }),
        "\\PC{0,12}".prop_map(Value::from),
        prop::sample::select(FIELDS.to_vec()).prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..6).prop_map(Value::Array),
            btree_map(field_name(), inner, 0..6)
                .prop_map(|fields| Value::Object(fields.into_iter().collect())),
        ]
    })
}

fn field_name() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(FIELDS.to_vec()).prop_map(str::to_owned),
        1 => "[a-z_]{1,10}",
    ]
}

/// A charge the daemon should take, as the starting point of mutations.
fn valid_charge() -> BoxedStrategy<Value> {
    (
        1u64..5_000,
        1u32..4,
        prop::option::of("[A-Z]{1,4}-[0-9]{1,8}"),
        prop::option::of("MY[0-9A-Za-z]{16}"),
        any::<bool>(),
    )
        .prop_map(|(price, quantity, order_id, payment_code, itemised)| {
            let amount = price * u64::from(quantity);
            let mut charge = json!({"amount": amount});
            if itemised {
                charge["items"] =
                    json!([{"id": "1", "name": "拿鐵", "unit_price": price, "quantity": quantity}]);
            }
            if let Some(id) = order_id {
                charge["order_id"] = json!(id);
            }
            if let Some(code) = payment_code {
                charge["payment_code"] = json!(code);
            }
            charge
        })
        .boxed()
}

fn valid_payment_code() -> BoxedStrategy<Value> {
    "MY[0-9A-Za-z]{16}"
        .prop_map(|code| json!({"payment_code": code}))
        .boxed()
}

/// One way of spoiling a body.
#[derive(Debug, Clone)]
enum Mutation {
    SetField(String, Value),
    RemoveField(String),
    /// A number no integer type holds, or a float where an integer belongs, as raw JSON text.
    HugeNumber(String, &'static str),
    DeepNesting(String, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (field_name(), json_value()).prop_map(|(f, v)| Mutation::SetField(f, v)),
        field_name().prop_map(Mutation::RemoveField),
        (
            field_name(),
            prop::sample::select(vec![
                "1e400",
                "-1",
                "18446744073709551616",
                "340282366920938463463374607431768211456",
                "1.0",
                "-0",
                "0.5e1",
            ])
        )
            .prop_map(|(f, n)| Mutation::HugeNumber(f, n)),
        (field_name(), 1usize..3_000).prop_map(|(f, depth)| Mutation::DeepNesting(f, depth)),
    ]
}

/// The body's bytes after its mutations.
fn mutated(base: Value, mutations: Vec<Mutation>) -> Vec<u8> {
    let mut body = base;
    let mut raw = Vec::new();
    for mutation in mutations {
        let Some(object) = body.as_object_mut() else {
            break;
        };
        match mutation {
            Mutation::SetField(field, value) => {
                object.insert(field, value);
            }
            Mutation::RemoveField(field) => {
                object.remove(&field);
            }
            Mutation::HugeNumber(field, number) => {
                object.remove(&field);
                raw.push((field, number.to_owned()));
            }
            Mutation::DeepNesting(field, depth) => {
                object.remove(&field);
                raw.push((field, format!("{}{}", "[".repeat(depth), "]".repeat(depth))));
            }
        }
    }
    let mut text = body.to_string();
    // Raw members go in as text: serde_json would not produce them.
    if text.ends_with('}') {
        for (field, value) in raw {
            text.pop();
            let separator = if text.ends_with('{') { "" } else { "," };
            text.push_str(&format!("{separator}{}:{value}}}", json!(field)));
        }
    }
    text.into_bytes()
}

/// Bytes for an endpoint whose good body comes from `valid`.
fn body(valid: BoxedStrategy<Value>) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        2 => valid.clone().prop_map(|v| v.to_string().into_bytes()),
        3 => (valid.clone(), vec(mutation(), 1..4)).prop_map(|(v, m)| mutated(v, m)),
        2 => json_value().prop_map(|v| v.to_string().into_bytes()),
        1 => (valid.clone(), any::<prop::sample::Index>())
            .prop_map(|(v, cut)| {
                let text = v.to_string().into_bytes();
                text[..cut.index(text.len())].to_vec()
            }),
        1 => (valid, any::<prop::sample::Index>(), vec(0x80u8..=0xff, 1..4))
            .prop_map(|(v, at, junk)| {
                let mut text = v.to_string().into_bytes();
                let at = at.index(text.len());
                text.splice(at..at, junk);
                text
            }),
        1 => vec(any::<u8>(), 0..300),
    ]
}

/// Whether `POST /v1/charges` should store this body, read independently of the daemon.
/// Only a JSON object is a request body (serde alone would also read an array positionally).
fn is_object(bytes: &[u8]) -> bool {
    serde_json::from_slice::<serde_json::Value>(bytes).is_ok_and(|v| v.is_object())
}

fn charge_is_valid(bytes: &[u8]) -> bool {
    if !is_object(bytes) {
        return false;
    }
    let Ok(request) = serde_json::from_slice::<ChargeRequest>(bytes) else {
        return false;
    };
    let (charge, order_id, payment_code) = request.into_parts();
    charge.validate().is_ok()
        && order_id.is_none_or(|id| OrderId::parse(id).is_ok())
        && payment_code.is_none_or(|code| PaymentCode::new(code).is_ok())
}

/// The body of `POST /v1/charges/{id}/payment-code`, as the daemon reads it.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct PaymentCodeBody {
    payment_code: String,
}

/// Whether `POST /v1/charges/{id}/payment-code` should take this body.
fn payment_code_is_valid(bytes: &[u8]) -> bool {
    is_object(bytes)
        && serde_json::from_slice::<PaymentCodeBody>(bytes)
            .is_ok_and(|body| PaymentCode::new(body.payment_code).is_ok())
}

/// Sends raw bytes as a JSON body: the local client only sends well-formed JSON.
async fn post_raw(socket: &Path, path: &str, body: Vec<u8>) -> (StatusCode, Bytes) {
    let stream = tokio::net::UnixStream::connect(socket).await.unwrap();
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(connection);
    let request = Request::builder()
        .method(Method::POST)
        .uri(path)
        .header(hyper::header::HOST, "posd")
        .header(hyper::header::CONTENT_TYPE, "application/json")
        .body(Full::new(Bytes::from(body)))
        .unwrap();
    let response = sender
        .send_request(request)
        .await
        .expect("an answer (none means the handler panicked)");
    let status = response.status();
    (
        status,
        response.into_body().collect().await.unwrap().to_bytes(),
    )
}

/// The answer is well-formed: a JSON error with a 4xx status, or `success` with an order.
fn check_answer(
    status: StatusCode,
    answer: &[u8],
    success: StatusCode,
) -> Result<Value, TestCaseError> {
    let answer: Value = serde_json::from_slice(answer).map_err(|e| {
        TestCaseError::fail(format!(
            "{status}: not JSON ({e}): {}",
            String::from_utf8_lossy(answer)
        ))
    })?;
    if status == success {
        prop_assert!(answer["order_id"].is_string(), "{answer}");
    } else {
        prop_assert!(status.is_client_error(), "{status}: {answer}");
        let error = answer["error"].as_object();
        prop_assert!(
            error.is_some_and(|e| e.len() == 2
                && e["message"].as_str().is_some_and(|m| !m.is_empty())
                && (e["field"].is_null() || e["field"].is_string())),
            "{status}: not an error of the API: {answer}"
        );
    }
    Ok(answer)
}

/// A payment code in the body never comes back in the answer. Only texts that look like codes
/// (letters and digits, 8 or more) count: a field name given as the code is named in messages.
fn code_kept_out(body: &[u8], answer: &[u8]) -> Result<(), TestCaseError> {
    let code = serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|body| body.get("payment_code")?.as_str().map(str::to_owned));
    let looks_like_a_code = |code: &String| {
        code.len() >= 8
            && code.chars().any(|c| c.is_ascii_digit())
            && code.chars().any(|c| c.is_ascii_alphabetic())
    };
    if let Some(code) = code.filter(looks_like_a_code) {
        let answer = String::from_utf8_lossy(answer);
        prop_assert!(
            !answer.contains(&code),
            "the payment code came back: {}",
            answer
        );
    }
    Ok(())
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(200)
}

/// One daemon and its simulator, driven from synchronous code. Fields drop in order: the daemon
/// stops before its directory goes and the runtime goes last.
struct Fixture {
    daemon: Daemon,
    socket: std::path::PathBuf,
    _sim: posd::sim::RunningSim,
    _dir: tempfile::TempDir,
    runtime: tokio::runtime::Runtime,
}

impl Fixture {
    fn start() -> Fixture {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let sim = runtime.block_on(simulator(Faults::default()));
        let dir = tempfile::tempdir().unwrap();
        let daemon = Daemon::start(
            dir.path(),
            Daemon::env_for(dir.path(), &sim.url(), sim.ca_pem().unwrap()),
        );
        runtime.block_on(daemon.ready());
        Fixture {
            daemon,
            socket: dir.path().join("posd.sock"),
            _sim: sim,
            _dir: dir,
            runtime,
        }
    }

    fn stored(&self) -> usize {
        let client = self.daemon.client();
        self.runtime.block_on(support::every_order(&client)).len()
    }

    fn healthy(&self) -> Result<(), TestCaseError> {
        let (status, _) = self
            .runtime
            .block_on(
                self.daemon
                    .client()
                    .request(Method::GET, "/v1/health", None),
            )
            .map_err(|e| TestCaseError::fail(format!("the daemon is down: {e}")))?;
        prop_assert_eq!(status, StatusCode::OK);
        Ok(())
    }

    /// A new order waiting for its payment code.
    fn awaiting(&self) -> String {
        let (status, order) = self
            .runtime
            .block_on(self.daemon.client().request(
                Method::POST,
                "/v1/charges",
                Some(&json!({"amount": 42})),
            ))
            .unwrap();
        assert_eq!(status, StatusCode::CREATED, "{order}");
        order["order_id"].as_str().unwrap().to_owned()
    }
}

#[test]
fn mangled_bodies_get_clear_errors_and_store_nothing() {
    let fixture = Fixture::start();
    let config = Config {
        cases: cases(),
        failure_persistence: None,
        ..Config::default()
    };

    // The runner takes a `Fn`, so what changes from case to case lives in cells.
    let stored = Cell::new(fixture.stored());
    let (taken, refused) = (Cell::new(0), Cell::new(0));
    TestRunner::new(config.clone())
        .run(&body(valid_charge()), |bytes| {
            let valid = charge_is_valid(&bytes);
            let (status, answer) =
                fixture
                    .runtime
                    .block_on(post_raw(&fixture.socket, "/v1/charges", bytes.clone()));
            check_answer(status, &answer, StatusCode::CREATED)?;
            code_kept_out(&bytes, &answer)?;
            let now = fixture.stored();
            if status == StatusCode::CREATED {
                prop_assert!(
                    valid,
                    "stored an invalid body: {}",
                    String::from_utf8_lossy(&bytes)
                );
                prop_assert_eq!(now, stored.get() + 1);
                taken.set(taken.get() + 1);
            } else {
                // A valid body may still be refused: its order id taken, or a cap reached.
                prop_assert!(
                    !valid
                        || [StatusCode::CONFLICT, StatusCode::TOO_MANY_REQUESTS].contains(&status),
                    "refused a valid body with {}: {}",
                    status,
                    String::from_utf8_lossy(&answer)
                );
                prop_assert_eq!(now, stored.get(), "an order was stored on {}", status);
                refused.set(refused.get() + 1);
            }
            stored.set(now);
            Ok(())
        })
        .unwrap();
    fixture.healthy().unwrap();
    eprintln!(
        "POST /v1/charges: {} stored, {} refused",
        taken.get(),
        refused.get()
    );

    let waiting = RefCell::new(fixture.awaiting());
    stored.set(fixture.stored());
    let (taken, refused) = (Cell::new(0), Cell::new(0));
    TestRunner::new(config)
        .run(&body(valid_payment_code()), |bytes| {
            let valid = payment_code_is_valid(&bytes);
            let path = format!("/v1/charges/{}/payment-code", waiting.borrow());
            let (status, answer) =
                fixture
                    .runtime
                    .block_on(post_raw(&fixture.socket, &path, bytes.clone()));
            code_kept_out(&bytes, &answer)?;
            let answer = check_answer(status, &answer, StatusCode::OK)?;
            if status == StatusCode::OK {
                prop_assert!(
                    valid,
                    "took an invalid body: {}",
                    String::from_utf8_lossy(&bytes)
                );
                prop_assert_eq!(&answer["state"], "waiting_to_send");
                taken.set(taken.get() + 1);
                // The next bodies go to a fresh order: this one has its code.
                *waiting.borrow_mut() = fixture.awaiting();
                stored.set(stored.get() + 1);
            } else {
                prop_assert!(!valid, "refused a valid code with {}: {}", status, answer);
                refused.set(refused.get() + 1);
            }
            fixture.healthy()
        })
        .unwrap();
    assert_eq!(
        fixture.stored(),
        stored.get(),
        "a payment code stored an order"
    );
    eprintln!(
        "POST /v1/charges/{{id}}/payment-code: {} taken, {} refused",
        taken.get(),
        refused.get()
    );
}

/// Item totals near `u64::MAX`: the sum of the items, plus the shipping fee, must be refused with
/// a 422 naming the field, not overflow.
#[test]
fn totals_beyond_u64_are_refused() {
    let fixture = Fixture::start();
    let item = json!({"id": "1", "name": "a", "unit_price": u64::MAX, "quantity": 1});
    for body in [
        json!({"amount": 1, "items": [item], "shipping_fee": 1}),
        json!({"amount": 1, "items": [item, item]}),
    ] {
        let (status, answer) = fixture.runtime.block_on(post_raw(
            &fixture.socket,
            "/v1/charges",
            body.to_string().into_bytes(),
        ));
        let answer = check_answer(status, &answer, StatusCode::CREATED).unwrap();
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body} → {answer}"
        );
        fixture.healthy().unwrap();
    }
    assert_eq!(fixture.stored(), 0);
}

/// The API takes JSON objects; serde's positional form of a struct, a JSON array, is no body.
#[test]
fn a_json_array_is_not_a_charge() {
    let fixture = Fixture::start();
    let (status, answer) =
        fixture
            .runtime
            .block_on(post_raw(&fixture.socket, "/v1/charges", b"[5]".to_vec()));
    check_answer(status, &answer, StatusCode::CREATED).unwrap();
    assert!(status.is_client_error(), "{status}");
    assert_eq!(fixture.stored(), 0);
}
