//! `api/openapi.json` held true: every route of the router is described and every description is
//! routed, the event and state names are the enums' own, and real answers of the real daemon, over
//! its Unix socket against the gateway simulator, validate against the described schemas.

mod support;

use hyper::{Method, StatusCode};
use posd::daemon::events::EventKind;
use posd::order::StateKind;
use posd::sim::faults::Faults;
use regex::Regex;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;
use support::{Daemon, simulator, wait_final};

const DESCRIPTION: &str = include_str!("../api/openapi.json");

/// Described operations the daemon does not serve yet. They are printed on every run; once the
/// router serves one, the route check fails until it leaves this list, and from then on its
/// answers are held to the description like every other.
const NOT_YET_SERVED: [(&str, &str); 0] = [];

/// The answer of the router's fallback, which no described operation may give.
const FALLBACK_MESSAGE: &str = "no such endpoint";

struct Description {
    doc: Value,
}

impl Description {
    fn load() -> Description {
        let doc: Value = serde_json::from_str(DESCRIPTION).expect("api/openapi.json is JSON");
        assert_eq!(doc["openapi"], "3.1.0");
        Description { doc }
    }

    /// Every described `(METHOD, path template)`.
    fn operations(&self) -> BTreeSet<(String, String)> {
        let paths = self.doc["paths"].as_object().expect("paths");
        paths
            .iter()
            .flat_map(|(path, item)| {
                item.as_object()
                    .expect("path item")
                    .keys()
                    .map(move |method| (method.to_uppercase(), path.clone()))
            })
            .collect()
    }

    /// The described path template `concrete` falls under, literal segments first.
    fn template_of(&self, concrete: &str) -> String {
        let concrete = concrete.split('?').next().unwrap_or(concrete);
        let mut candidates: Vec<&String> = self.doc["paths"]
            .as_object()
            .expect("paths")
            .keys()
            .filter(|template| templates_match(template, concrete))
            .collect();
        candidates.sort_by_key(|t| t.matches('{').count());
        candidates
            .first()
            .unwrap_or_else(|| panic!("{concrete} is not described"))
            .to_string()
    }

    fn resolve<'a>(&'a self, value: &'a Value) -> &'a Value {
        match value["$ref"].as_str() {
            Some(pointer) => self
                .doc
                .pointer(pointer.trim_start_matches('#'))
                .unwrap_or_else(|| panic!("dangling reference {pointer}")),
            None => value,
        }
    }

    /// The schema of the answer `status` with `content_type` to `method path`.
    fn answer_schema(
        &self,
        method: &Method,
        path: &str,
        status: StatusCode,
        content_type: &str,
    ) -> &Value {
        let template = self.template_of(path);
        let operation = &self.doc["paths"][&template][method.as_str().to_lowercase()];
        assert!(
            operation.is_object(),
            "{method} {template} is not described"
        );
        let response = self.resolve(&operation["responses"][status.as_str()]);
        assert!(
            response.is_object(),
            "{method} {path} answered {status}, which the description of {method} {template} does not list"
        );
        let schema = &response["content"][content_type]["schema"];
        assert!(
            schema.is_object(),
            "{method} {template} {status}: no {content_type} answer is described"
        );
        schema
    }

    fn validate(&self, schema: &Value, instance: &Value) -> Result<(), String> {
        let root = json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "components": self.doc["components"],
            "allOf": [schema],
        });
        let validator = jsonschema::validator_for(&root).map_err(|e| format!("schema: {e}"))?;
        let errors: Vec<String> = validator
            .iter_errors(instance)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors.join("\n"))
        }
    }

    /// Panics unless the JSON answer `status`, `body` to `method path` is as described.
    fn check(&self, method: Method, path: &str, status: StatusCode, body: &Value) {
        let schema = self.answer_schema(&method, path, status, "application/json");
        if let Err(e) = self.validate(schema, body) {
            panic!("{method} {path} answered {status} not as described:\n{e}\n{body:#}");
        }
    }

    fn enum_of(&self, schema: &str) -> Vec<String> {
        self.doc["components"]["schemas"][schema]["enum"]
            .as_array()
            .unwrap_or_else(|| panic!("{schema} has no enum"))
            .iter()
            .map(|v| v.as_str().expect("enum values are text").to_owned())
            .collect()
    }
}

/// Whether two paths can name the same resource: equal, or a `{parameter}` on either side.
fn templates_match(a: &str, b: &str) -> bool {
    let (a, b): (Vec<&str>, Vec<&str>) = (a.split('/').collect(), b.split('/').collect());
    a.len() == b.len()
        && a.iter().zip(&b).all(|(x, y)| {
            x == y || (x.starts_with('{') && !y.is_empty()) || (y.starts_with('{') && !x.is_empty())
        })
}

/// The `(METHOD, path)` of every `.route("…", get(…).post(…))` in the daemon's sources.
fn routed() -> BTreeSet<(String, String)> {
    let route = Regex::new(r#"\.route\(\s*"([^"]+)",\s*"#).unwrap();
    let method = Regex::new(r"\b(get|post|put|patch|delete|head|options)\(").unwrap();
    let mut found = BTreeSet::new();
    for source in rust_files(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src/daemon")) {
        let text = std::fs::read_to_string(&source).unwrap();
        for capture in route.captures_iter(&text) {
            let rest = &text[capture.get(0).unwrap().end()..];
            let mut depth = 1;
            let end = rest
                .char_indices()
                .find(|&(_, c)| {
                    depth += match c {
                        '(' => 1,
                        ')' => -1,
                        _ => 0,
                    };
                    depth == 0
                })
                .map(|(i, _)| i)
                .expect("a .route( call closes");
            for m in method.captures_iter(&rest[..end]) {
                found.insert((m[1].to_uppercase(), capture[1].to_owned()));
            }
        }
    }
    assert!(!found.is_empty(), "no routes found in src/daemon");
    found
}

fn rust_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files
}

#[test]
fn every_route_is_described_and_every_description_is_routed() {
    let description = Description::load();
    let described = description.operations();
    let routes = routed();
    let not_yet: BTreeSet<(String, String)> = NOT_YET_SERVED
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    eprintln!("described but not served yet: {not_yet:?}");

    for (method, path) in &routes {
        assert!(
            described
                .iter()
                .any(|(m, p)| m == method && templates_match(p, path)),
            "{method} {path} is routed but not described in api/openapi.json"
        );
    }
    for (method, path) in &described {
        let is_routed = routes
            .iter()
            .any(|(m, p)| m == method && templates_match(p, path));
        let waiting = not_yet.contains(&(method.clone(), path.clone()));
        assert!(
            is_routed || waiting,
            "{method} {path} is described but not routed"
        );
        assert!(
            !(is_routed && waiting),
            "{method} {path} is served now: take it out of NOT_YET_SERVED"
        );
    }

    // `/v1/wallet/{command}` is one route; the description lists each command it accepts.
    let routes_source = include_str!("../src/daemon/routes/wallet.rs");
    let accepted: BTreeSet<String> = Regex::new(r#""(\w+)" => \(Command::"#)
        .unwrap()
        .captures_iter(routes_source)
        .map(|c| format!("/v1/wallet/{}", &c[1]))
        .collect();
    let described_wallet: BTreeSet<String> = described
        .iter()
        .filter(|(_, p)| p.starts_with("/v1/wallet/"))
        .map(|(_, p)| p.clone())
        .collect();
    assert!(!accepted.is_empty());
    assert_eq!(described_wallet, accepted, "wallet commands");
}

/// The kind after `kind`, in declaration order. The match is exhaustive, so a new kind does not
/// compile until it is placed here, and then the description must name it too.
fn next_kind(kind: &EventKind) -> Option<EventKind> {
    use EventKind::*;
    Some(match kind {
        Created => Scanning,
        Scanning => CodeRead,
        CodeRead => CodeRefused,
        CodeRefused => ScanTimedOut,
        ScanTimedOut => ScanEnded,
        ScanEnded => NothingToScan,
        NothingToScan => Submitting,
        Submitting => Reconciling,
        Reconciling => Paid,
        Paid => PaidWithMismatch,
        PaidWithMismatch => Declined,
        Declined => Expired,
        Expired => Rejected,
        Rejected => Abandoned,
        Abandoned => Cancelled,
        Cancelled => NeedsAttention,
        NeedsAttention => Resolved,
        Resolved => InvoiceNotIssued,
        InvoiceNotIssued => Printing,
        Printing => Printed,
        Printed => PrintFailed,
        PrintFailed => PaperOut,
        PaperOut => CoverOpen,
        CoverOpen => PrinterFault,
        PrinterFault => PrinterBack,
        PrinterBack => EventsMissed,
        EventsMissed => return None,
    })
}

fn name(value: impl serde::Serialize) -> String {
    serde_json::to_value(value)
        .unwrap()
        .as_str()
        .expect("serialises as text")
        .to_owned()
}

#[test]
fn event_and_state_names_are_the_enums_own() {
    let description = Description::load();
    let mut kinds = vec![EventKind::Created];
    while let Some(next) = next_kind(kinds.last().unwrap()) {
        kinds.push(next);
    }
    let kinds: Vec<String> = kinds.into_iter().map(name).collect();
    assert_eq!(description.enum_of("EventKind"), kinds);

    let states: Vec<String> = StateKind::ALL.into_iter().map(name).collect();
    assert_eq!(description.enum_of("StateKind"), states);
    let tagged: Vec<String> = description.doc["components"]["schemas"]["State"]["oneOf"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            v["properties"]["state"]["const"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(tagged, states, "the State variants");
}

#[test]
fn the_validator_refuses_what_the_description_forbids() {
    // Without this, a schema that allows everything would pass every other check.
    let description = Description::load();
    let order = json!({"$ref": "#/components/schemas/OrderView"});
    assert!(
        description
            .validate(&order, &json!({"order_id": "A-1"}))
            .is_err()
    );
    let error = json!({"$ref": "#/components/schemas/Error"});
    description
        .validate(&error, &json!({"error": {"field": null, "message": "m"}}))
        .unwrap();
    assert!(
        description
            .validate(
                &error,
                &json!({"error": {"message": "m", "payment_code": "x"}})
            )
            .is_err()
    );
}

/// The TCP port opens alongside the socket, not necessarily before it: retry refused connections.
async fn send_when_listening(request: reqwest::RequestBuilder) -> reqwest::Response {
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        match request.try_clone().expect("no streamed body").send().await {
            Err(e) if e.is_connect() && std::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            answer => return answer.expect("the TCP port answers"),
        }
    }
}

#[tokio::test]
async fn real_answers_are_as_described() {
    let description = Description::load();
    let sim = simulator(Faults::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let port = support::free_port();
    let mut env = Daemon::env_for(dir.path(), &sim.url(), sim.ca_pem().unwrap());
    env.push(("POSD_TCP_LISTEN".into(), format!("127.0.0.1:{port}")));
    env.push(("POSD_TCP_TOKEN".into(), "till-token".into()));
    // The probe of `POST /v1/scan` pushes no frames, so it waits out the whole scan.
    env.push(("POSD_SCAN_TIMEOUT_MS".into(), "500".into()));
    let daemon = Daemon::start(dir.path(), env);
    daemon.ready().await;
    let client = daemon.client();

    // The TCP port: as described without the token, and with it.
    let http = reqwest::Client::new();
    let health = format!("http://127.0.0.1:{port}/v1/health");
    for token in [None, Some("till-token")] {
        let mut request = http.get(&health);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let answer = send_when_listening(request).await;
        let status = answer.status();
        let body: Value = answer.json().await.unwrap();
        let expected = if token.is_some() {
            StatusCode::OK
        } else {
            StatusCode::UNAUTHORIZED
        };
        assert_eq!(status, expected, "{body}");
        description.check(Method::GET, "/v1/health", status, &body);
    }

    let mut events = support::event_lines(&dir.path().join("posd.sock")).await;

    let call = |method: Method, path: String, body: Option<Value>| {
        let (client, description) = (&client, &description);
        async move {
            let (status, answer) = client
                .request(method.clone(), &path, body.as_ref())
                .await
                .unwrap();
            description.check(method, &path, status, &answer);
            (status, answer)
        }
    };

    // Every described operation is served (not the fallback) and answers as described. The
    // export and the event stream are not JSON; they are read further down.
    let not_yet: Vec<(String, String)> = NOT_YET_SERVED
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    for (method, template) in description.operations() {
        if not_yet.contains(&(method.clone(), template.clone())) {
            // Not served yet: the router's fallback answers.
            let method = Method::from_bytes(method.as_bytes()).unwrap();
            let (status, answer) = client.request(method, &template, None).await.unwrap();
            assert_eq!(status, StatusCode::NOT_FOUND, "{template}: {answer}");
            assert!(
                answer["error"]["message"]
                    .as_str()
                    .is_some_and(|m| m.starts_with(FALLBACK_MESSAGE)),
                "{template}: {answer}"
            );
            continue;
        }
        if ["/v1/events", "/v1/orders/export"].contains(&template.as_str()) {
            continue;
        }
        let path = template.replace("{id}", "NOPE-1");
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let body = (method == Method::POST).then(|| json!({}));
        let (_, answer) = call(method, path, body).await;
        let message = answer["error"]["message"].as_str().unwrap_or_default();
        assert!(
            !message.starts_with(FALLBACK_MESSAGE),
            "{template}: {answer}"
        );
    }

    let (status, created) =
        call(Method::POST, "/v1/charges".into(), Some(support::latte(80))).await;
    assert_eq!(status, StatusCode::CREATED);
    let waiting = created["order_id"].as_str().unwrap().to_owned();
    let (status, _) = call(Method::GET, format!("/v1/charges/{waiting}"), None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, listed) = call(
        Method::GET,
        "/v1/charges?state=awaiting_payment_code".into(),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(listed.as_array().unwrap().len(), 1);
    let (status, cancelled) =
        call(Method::POST, format!("/v1/charges/{waiting}/cancel"), None).await;
    assert_eq!(
        (status, &cancelled["state"]),
        (StatusCode::OK, &json!("cancelled"))
    );
    let (status, _) = call(Method::POST, format!("/v1/charges/{waiting}/cancel"), None).await;
    assert_eq!(status, StatusCode::CONFLICT);

    let mut paid = json!({
        "amount": 95,
        "items": [{"id": "7", "name": "可頌", "unit_price": 50, "quantity": 2}],
        "discount": 10,
        "shipping_fee": 5,
        "echo": ["table 4"],
        "order_id": "TILL-7",
        "invoice": {"type": "cloud", "carrier": {"kind": "mobile_barcode", "code": "/ABC1234"}},
        "payment_code": "MY13697573pbmQsYhY",
    });
    let (status, _) = call(Method::POST, "/v1/charges".into(), Some(paid.clone())).await;
    assert_eq!(status, StatusCode::CREATED);
    let order = wait_final(&client, "TILL-7", Duration::from_secs(10)).await;
    assert_eq!(order["state"], "paid", "{order}");
    description.check(Method::GET, "/v1/charges/TILL-7", StatusCode::OK, &order);
    let (status, _) = call(Method::POST, "/v1/charges/TILL-7/reprint".into(), None).await;
    assert!(status.is_success(), "{status}");
    let (status, _) = call(Method::POST, "/v1/charges".into(), Some(paid.clone())).await;
    assert_eq!(status, StatusCode::CONFLICT, "the order id is taken");

    paid["order_id"] = json!("TILL-8");
    for (field, wrong) in [
        ("amount", json!(0)),
        ("amount", json!("ten")),
        ("tip", json!(3)),
        ("invoice", json!({"type": "donation", "love_code": "1"})),
        ("payment_code", json!("a b")),
    ] {
        let mut body = paid.clone();
        body[field] = wrong;
        let (status, _) = call(Method::POST, "/v1/charges".into(), Some(body)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{field}");
    }
    let (status, _) = call(Method::GET, "/v1/charges/%E4%B8%AD".into(), None).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "not an order id");
    let (status, _) = call(Method::GET, "/v1/charges?state=happy".into(), None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, listed) = call(Method::GET, "/v1/charges".into(), None).await;
    assert_eq!(
        (status, listed.as_array().unwrap().len()),
        (StatusCode::OK, 2)
    );

    let (status, health) = call(Method::GET, "/v1/health".into(), None).await;
    assert_eq!(
        (status, &health["gateway"]["reachable"]),
        (StatusCode::OK, &json!(true))
    );
    let (status, _) = call(
        Method::POST,
        "/v1/wallet/memberstatus".into(),
        Some(json!({"user_id": "member01"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, bound) = call(
        Method::POST,
        "/v1/wallet/bind".into(),
        Some(json!({"user_id": "member01", "homepage_url": "https://shop.example.tw/", "print_link": true})),
    )
    .await;
    assert_eq!(
        (status, &bound["print_link"]["printing"]),
        (StatusCode::OK, &json!(true))
    );
    let (status, _) = call(Method::POST, "/v1/print-test".into(), None).await;
    assert_eq!(status, StatusCode::ACCEPTED);

    let (status, export) = client
        .request_raw(Method::GET, "/v1/orders/export", None)
        .await
        .unwrap();
    let line_schema = description.answer_schema(
        &Method::GET,
        "/v1/orders/export",
        status,
        "application/x-ndjson",
    );
    let lines: Vec<Value> = std::str::from_utf8(&export)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "both final orders");
    for line in &lines {
        description.validate(line_schema, line).unwrap();
    }

    // Shifts. The probe of every operation above closed shift 1; an unfinished order refuses
    // the next close until it is forced.
    let (status, _) = call(
        Method::POST,
        "/v1/charges".into(),
        Some(json!({"amount": 30, "order_id": "TILL-9"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, refused) = call(Method::POST, "/v1/shifts/close".into(), Some(json!({}))).await;
    assert_eq!(status, StatusCode::CONFLICT, "{refused}");
    let (status, _) = call(
        Method::POST,
        "/v1/shifts/close".into(),
        Some(json!({"force": 1})),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, closed) = call(
        Method::POST,
        "/v1/shifts/close".into(),
        Some(json!({"force": true})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{closed}");
    assert_eq!(closed["shift_id"], 2);
    assert_eq!(closed["unfinished"][0]["order_id"], "TILL-9");
    let (status, shifts) = call(Method::GET, "/v1/shifts".into(), None).await;
    assert_eq!(
        (status, shifts.as_array().unwrap().len()),
        (StatusCode::OK, 2)
    );
    let (status, _) = call(Method::GET, "/v1/shifts/2".into(), None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = call(Method::GET, "/v1/shifts/7".into(), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = call(Method::GET, "/v1/shifts/x".into(), None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // The stream: `event: <kind>` then `data: <Event>`, each event as described.
    let event_schema = json!({"$ref": "#/components/schemas/Event"});
    let mut seen = Vec::new();
    let read = async {
        let mut name = None;
        while let Some(line) = events.next_line().await.unwrap() {
            if let Some(event) = line.strip_prefix("event: ") {
                name = Some(event.to_owned());
            } else if let Some(data) = line.strip_prefix("data: ") {
                let event: Value = serde_json::from_str(data).unwrap();
                description.validate(&event_schema, &event).unwrap();
                assert_eq!(event["kind"].as_str(), name.as_deref(), "{event}");
                seen.push(format!(
                    "{} {}",
                    event["order_id"].as_str().unwrap_or("-"),
                    event["kind"].as_str().unwrap_or_default()
                ));
                if event["kind"] == "paid" {
                    break;
                }
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(10), read)
        .await
        .expect("the events came");
    for expected in [
        format!("{waiting} created"),
        format!("{waiting} cancelled"),
        "TILL-7 paid".to_owned(),
    ] {
        assert!(seen.contains(&expected), "{expected} not in {seen:?}");
    }
}

/// The app printer link's answers, from a daemon with the SUNMI profile, whose printer is the app.
#[tokio::test]
async fn app_printer_answers_are_as_described() {
    let description = Description::load();
    let sim = simulator(Faults::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let mut env = Daemon::env_for(dir.path(), &sim.url(), sim.ca_pem().unwrap());
    env.retain(|(key, _)| key != "POSD_PRINTER_DEVICE");
    support::set_env(&mut env, "POSD_PROFILE", "sunmi-v2-pro");
    let daemon = Daemon::start(dir.path(), env);
    daemon.ready().await;
    let client = daemon.client();
    let call = |method: Method, path: String, body: Option<Value>| {
        let (client, description) = (&client, &description);
        async move {
            let (status, answer) = client
                .request(method.clone(), &path, body.as_ref())
                .await
                .unwrap();
            if status != StatusCode::NO_CONTENT {
                description.check(method, &path, status, &answer);
            }
            status
        }
    };

    assert_eq!(
        call(Method::GET, "/v1/health".into(), None).await,
        StatusCode::OK
    );
    assert_eq!(
        call(Method::GET, "/v1/printer/state".into(), None).await,
        StatusCode::OK
    );
    let out_of_paper = Some(json!({"state": 4}));
    assert_eq!(
        call(Method::PUT, "/v1/printer/state".into(), out_of_paper).await,
        StatusCode::OK
    );
    assert_eq!(
        call(Method::GET, "/v1/health".into(), None).await,
        StatusCode::OK
    );
    let unknown = Some(json!({"state": 42}));
    assert_eq!(
        call(Method::PUT, "/v1/printer/state".into(), unknown).await,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let ready = Some(json!({"state": 1}));
    assert_eq!(
        call(Method::PUT, "/v1/printer/state".into(), ready).await,
        StatusCode::OK
    );
    assert_eq!(
        call(Method::GET, "/v1/print-jobs/next?wait=0".into(), None).await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        call(Method::GET, "/v1/print-jobs/next?wait=600".into(), None).await,
        StatusCode::BAD_REQUEST
    );

    let mut charge = support::latte(60);
    charge["order_id"] = json!("APP-1");
    charge["payment_code"] = json!("MY13697573pbmQsYhY");
    assert_eq!(
        call(Method::POST, "/v1/charges".into(), Some(charge)).await,
        StatusCode::CREATED
    );
    assert_eq!(
        wait_final(&client, "APP-1", Duration::from_secs(10)).await["state"],
        "paid"
    );
    let (status, job) = client
        .request(Method::GET, "/v1/print-jobs/next?wait=10", None)
        .await
        .unwrap();
    description.check(Method::GET, "/v1/print-jobs/next", status, &job);
    assert_eq!(status, StatusCode::OK, "{job}");
    let result = format!("/v1/print-jobs/{}/result", job["job_id"].as_str().unwrap());
    let printed = Some(json!({"outcome": "printed"}));
    assert_eq!(
        call(Method::POST, result.clone(), printed.clone()).await,
        StatusCode::OK
    );
    assert_eq!(
        call(Method::POST, result.clone(), printed).await,
        StatusCode::OK
    );
    let failed = Some(json!({"outcome": "failed", "printer_state": 6, "message": "cover open"}));
    assert_eq!(
        call(Method::POST, result, failed).await,
        StatusCode::CONFLICT
    );
    assert_eq!(
        call(
            Method::POST,
            "/v1/print-jobs/12345-1/result".into(),
            Some(json!({"outcome": "printed"}))
        )
        .await,
        StatusCode::NOT_FOUND
    );

    // A shift report is a job of its own kind.
    assert_eq!(
        call(Method::POST, "/v1/shifts/close".into(), None).await,
        StatusCode::CREATED
    );
    let (status, job) = client
        .request(Method::GET, "/v1/print-jobs/next?wait=10", None)
        .await
        .unwrap();
    description.check(Method::GET, "/v1/print-jobs/next", status, &job);
    assert_eq!(job["kind"], "shift_report", "{job}");
}

/// The answers of `POST /v1/charges/{id}/resolve`, from an order that reached `needs_attention`
/// while the gateway answered every request with 502: refused while the gateway cannot say, refused
/// when its answer (no such charge) contradicts `paid`, bad input named, then resolved.
#[tokio::test]
async fn resolve_answers_are_as_described() {
    let description = Description::load();
    let sim = simulator(Faults {
        http_5xx: 1.0,
        ..Faults::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let mut env = Daemon::env_for(dir.path(), &sim.url(), sim.ca_pem().unwrap());
    support::set_env(&mut env, "POSD_POLICY_MAX_AGE_SECS", "2");
    let daemon = Daemon::start(dir.path(), env);
    daemon.ready().await;
    let client = daemon.client();
    let call = |path: &str, body: Value| {
        let (client, description, path) = (&client, &description, path.to_owned());
        async move {
            let (status, answer) = client
                .request(Method::POST, &path, Some(&body))
                .await
                .unwrap();
            description.check(Method::POST, &path, status, &answer);
            (status, answer)
        }
    };

    let mut charge = support::latte(120);
    charge["order_id"] = json!("LOST-1");
    charge["payment_code"] = json!("MY13697573pbmQsLo1");
    let (status, _) = client
        .request(Method::POST, "/v1/charges", Some(&charge))
        .await
        .unwrap();
    assert_eq!(status, StatusCode::CREATED);
    let order = wait_final(&client, "LOST-1", Duration::from_secs(15)).await;
    assert_eq!(order["state"], "needs_attention", "{order}");
    description.check(Method::GET, "/v1/charges/LOST-1", StatusCode::OK, &order);

    let path = "/v1/charges/LOST-1/resolve";
    let (status, _) = call(path, json!({"resolution": "not_paid", "by": "店長"})).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    sim.set_faults(Faults::default()).unwrap();
    let (status, _) = call(path, json!({"resolution": "paid", "by": "店長"})).await;
    assert_eq!(status, StatusCode::CONFLICT);
    for wrong in [
        json!({"resolution": "maybe", "by": "店長"}),
        json!({"resolution": "paid", "by": " "}),
        json!({"resolution": "paid"}),
        json!({"resolution": "paid", "by": "店長", "note": null}),
        json!({"resolution": "paid", "by": "店長", "reason": "x"}),
    ] {
        let (status, _) = call(path, wrong.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{wrong}");
    }
    let (status, resolved) = call(
        path,
        json!({"resolution": "not_paid", "by": "店長", "note": "客人改付現金"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{resolved}");
    assert_eq!(resolved["order"]["state"], "not_paid");
    let (status, _) = call(path, json!({"resolution": "not_paid", "by": "店長"})).await;
    assert_eq!(status, StatusCode::CONFLICT, "resolved already");
    let (status, order) = client
        .request(Method::GET, "/v1/charges/LOST-1", None)
        .await
        .unwrap();
    description.check(Method::GET, "/v1/charges/LOST-1", status, &order);
    assert_eq!(order["resolution"]["gateway"]["outcome"], "not_found");
}
