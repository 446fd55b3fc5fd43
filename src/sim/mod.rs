//! `posd gateway-sim`: a local stand-in for the MyPay / OCP agent API.
//!
//! It speaks the real wire protocol (form or JSON body, AES envelope, plain JSON answers) over TLS
//! with a CA of its own ([`tls`]), checks requests with the same rules as the client
//! ([`crate::api::check_body`]), keeps books ([`ledger`]) so repeated requests are answered
//! idempotently and a payment code pays once, lets the payment code choose the outcome
//! ([`script`]), and injects faults on demand ([`faults`]). `GET /_sim/ledger` shows the books;
//! `POST /_sim/faults` changes the faults while it runs.

pub mod faults;
pub mod ledger;
pub mod script;
pub mod tls;

use crate::api::{self, Code, Command, Service, TransactionRequest, TransactionResponse};
use crate::einvoice::IssueTime;
use crate::envelope::{self, AgentKey};
use faults::{Fault, FaultPlan, Faults};
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Method, Response, StatusCode};
use ledger::{Ledger, SimStore};
use script::Script;
use serde_json::{Value, json};
use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;

/// How the simulator is set up.
#[derive(Clone)]
pub struct SimConfig {
    pub agent_uid: String,
    pub agent_key: AgentKey,
    pub store: SimStore,
    /// Serve TLS with a generated certificate (the default) or plain HTTP.
    pub tls: bool,
    /// Certificates made earlier, so a restarted simulator keeps the CA its clients trust.
    pub certificates: Option<tls::SimCertificates>,
    pub faults: Faults,
    /// Largest request body accepted.
    pub max_body: usize,
    /// Where the links of the e-wallet commands' answers point; a test may make them plain HTTP.
    pub wallet_link_base: String,
}

impl SimConfig {
    pub fn new(agent_uid: &str, agent_key: AgentKey, store_uid: &str) -> SimConfig {
        SimConfig {
            agent_uid: agent_uid.to_owned(),
            agent_key,
            store: SimStore::new(store_uid),
            tls: true,
            certificates: None,
            faults: Faults::default(),
            max_body: 256 * 1024,
            wallet_link_base: "https://ocp.simulator.invalid/open/".to_owned(),
        }
    }
}

struct State {
    config: SimConfig,
    ledger: Mutex<Ledger>,
    faults: Mutex<FaultPlan>,
    /// Members who bound a wallet, by lower-cased user id.
    bound_members: Mutex<HashSet<String>>,
}

impl State {
    fn members(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.bound_members.lock().expect("members lock")
    }

    fn is_bound(&self, user_id: &str) -> bool {
        self.members().contains(&user_id.to_lowercase())
    }
}

/// A simulator serving in the background until it is shut down or dropped.
pub struct RunningSim {
    addr: SocketAddr,
    ca_pem: Option<String>,
    state: Arc<State>,
    shutdown: watch::Sender<bool>,
}

impl RunningSim {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The URL clients post to.
    pub fn url(&self) -> String {
        let scheme = if self.ca_pem.is_some() {
            "https"
        } else {
            "http"
        };
        format!("{scheme}://{}/api/agent", self.addr)
    }

    /// The CA certificate clients must trust, when serving TLS.
    pub fn ca_pem(&self) -> Option<&str> {
        self.ca_pem.as_deref()
    }

    pub fn ledger(&self) -> Vec<ledger::LedgerEntry> {
        self.state.ledger.lock().expect("ledger lock").entries()
    }

    pub fn set_faults(&self, faults: Faults) -> Result<(), String> {
        faults.validate()?;
        *self.state.faults.lock().expect("faults lock") = FaultPlan::new(faults);
        Ok(())
    }

    pub fn faults_injected(&self) -> u32 {
        self.state.faults.lock().expect("faults lock").injected()
    }

    /// Stops accepting connections.
    pub fn shutdown(&self) {
        let _ = self.shutdown.send(true);
    }
}

impl Drop for RunningSim {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Starts serving on `listener`.
pub async fn start(config: SimConfig, listener: TcpListener) -> Result<RunningSim, String> {
    config.faults.validate()?;
    let addr = listener
        .local_addr()
        .map_err(|e| format!("cannot read the listening address: {e}"))?;
    let certificates = match (&config.certificates, config.tls) {
        (Some(made), true) => Some(made.clone()),
        (None, true) => Some(tls::make(&[addr.ip().to_string()])?),
        (_, false) => None,
    };
    let state = Arc::new(State {
        ledger: Mutex::new(Ledger::new(config.store.clone(), config.faults.seed)),
        faults: Mutex::new(FaultPlan::new(config.faults.clone())),
        bound_members: Mutex::new(HashSet::new()),
        config,
    });
    let (shutdown, mut stopped) = watch::channel(false);
    let acceptor = certificates
        .as_ref()
        .map(|c| tokio_rustls::TlsAcceptor::from(c.server_config.clone()));
    let serving = state.clone();
    tokio::spawn(async move {
        loop {
            let (stream, _) = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok(pair) => pair,
                    Err(e) => {
                        tracing::warn!("simulator accept failed: {e}");
                        continue;
                    }
                },
                _ = stopped.changed() => break,
            };
            // An answer goes out in more than one write (TLS records, headers and body); with
            // Nagle's algorithm on, a later one waits for the client's delayed ACK, up to 40 ms.
            if let Err(e) = stream.set_nodelay(true) {
                tracing::debug!("simulator: TCP_NODELAY not set: {e}");
            }
            let state = serving.clone();
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                match acceptor {
                    Some(acceptor) => match acceptor.accept(stream).await {
                        Ok(tls) => serve_connection(tls, state).await,
                        Err(e) => tracing::debug!("simulator TLS handshake failed: {e}"),
                    },
                    None => serve_connection(stream, state).await,
                }
            });
        }
    });
    Ok(RunningSim {
        addr,
        ca_pem: certificates.map(|c| c.ca_pem),
        state,
        shutdown,
    })
}

async fn serve_connection<S>(stream: S, state: Arc<State>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    // After the TLS handshake, so that the client has sent its request when the connection drops.
    let drop_now = state.faults.lock().expect("faults lock").draw_connection();
    if drop_now.is_some() {
        tracing::info!("simulator fault: connection dropped before the request was read");
        return;
    }
    let service = hyper::service::service_fn(move |request| {
        let state = state.clone();
        async move { handle(request, state).await }
    });
    let io = hyper_util::rt::TokioIo::new(stream);
    if let Err(e) = hyper::server::conn::http1::Builder::new()
        .serve_connection(io, service)
        .await
    {
        tracing::debug!("simulator connection ended: {e}");
    }
}

/// Ends the connection without an answer (the service error makes hyper close it).
#[derive(Debug, thiserror::Error)]
#[error("connection dropped by fault injection")]
struct Dropped;

type Answer = Response<Full<Bytes>>;

async fn handle(request: hyper::Request<Incoming>, state: Arc<State>) -> Result<Answer, Dropped> {
    let path = request.uri().path().to_owned();
    match (request.method(), path.as_str()) {
        (&Method::GET, "/_sim/ledger") => {
            let entries = state.ledger.lock().expect("ledger lock").entries();
            Ok(json_answer(StatusCode::OK, &json!(entries)))
        }
        (&Method::GET, "/_sim/faults") => {
            let faults = state.faults.lock().expect("faults lock").faults().clone();
            Ok(json_answer(StatusCode::OK, &json!(faults)))
        }
        (&Method::POST, "/_sim/faults") => {
            let body = match collect_body(request, state.config.max_body).await {
                Ok(body) => body,
                Err(e) => return Ok(json_answer(StatusCode::BAD_REQUEST, &json!({"error": e}))),
            };
            let parsed = serde_json::from_slice::<Faults>(&body)
                .map_err(|e| e.to_string())
                .and_then(|f| f.validate().map(|()| f));
            Ok(match parsed {
                Ok(faults) => {
                    *state.faults.lock().expect("faults lock") = FaultPlan::new(faults.clone());
                    json_answer(StatusCode::OK, &json!(faults))
                }
                Err(e) => json_answer(StatusCode::BAD_REQUEST, &json!({"error": e})),
            })
        }
        (&Method::POST, "/api/agent" | "/") => agent_call(request, state).await,
        _ => Ok(json_answer(
            StatusCode::NOT_FOUND,
            &json!({"error": format!("no such endpoint: {path}; the agent API is at /api/agent")}),
        )),
    }
}

async fn agent_call(
    request: hyper::Request<Incoming>,
    state: Arc<State>,
) -> Result<Answer, Dropped> {
    let is_json = request
        .headers()
        .get(hyper::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let body = match collect_body(request, state.config.max_body).await {
        Ok(body) => body,
        Err(e) => return Ok(refused(&e)),
    };
    let fault = state.faults.lock().expect("faults lock").draw_request();
    if fault == Some(Fault::Http5xx) {
        tracing::info!("simulator fault: HTTP 502 before acting");
        return Ok(Response::builder()
            .status(StatusCode::BAD_GATEWAY)
            .body(Full::new(Bytes::from_static(
                b"<html>502 Bad Gateway</html>",
            )))
            .expect("a static response"));
    }

    let answer = match decode(&body, is_json, &state.config) {
        Ok((command, data)) => dispatch(command, &data, &state),
        Err(e) => json!({"code": Code::DataIncorrect, "msg": e}),
    };

    let latency = state
        .faults
        .lock()
        .expect("faults lock")
        .faults()
        .latency_ms;
    if latency > 0 {
        tokio::time::sleep(Duration::from_millis(latency)).await;
    }
    match fault {
        Some(Fault::DropAfterCommit) => {
            tracing::info!("simulator fault: answer lost after commit");
            Err(Dropped)
        }
        Some(Fault::MalformedBody) => {
            tracing::info!("simulator fault: malformed answer after commit");
            let text = answer.to_string();
            let cut = &text.as_bytes()[..text.len() / 2];
            Ok(Response::builder()
                .header(hyper::header::CONTENT_TYPE, "application/json")
                .body(Full::new(Bytes::copy_from_slice(cut)))
                .expect("a plain response"))
        }
        _ => Ok(json_answer(StatusCode::OK, &answer)),
    }
}

/// The three form fields, decrypted: the command and its body.
fn decode(body: &[u8], is_json: bool, config: &SimConfig) -> Result<(Command, Value), String> {
    #[derive(serde::Deserialize)]
    struct Fields {
        agent_uid: Option<String>,
        service: Option<String>,
        encry_data: Option<String>,
    }
    let fields: Fields = if is_json {
        serde_json::from_slice(body).map_err(|e| format!("the body is not JSON: {e}"))?
    } else {
        serde_urlencoded::from_bytes(body).map_err(|e| format!("the body is not a form: {e}"))?
    };
    let agent_uid = fields.agent_uid.ok_or("agent_uid: is required")?;
    if agent_uid != config.agent_uid {
        return Err(format!("agent_uid: {agent_uid} is not a known agent"));
    }
    let service = fields.service.ok_or("service: is required")?;
    let encry_data = fields.encry_data.ok_or("encry_data: is required")?;
    let service: Service =
        envelope::open_json(&config.agent_key, "service", &service).map_err(|e| e.to_string())?;
    let command = service.command().ok_or_else(|| {
        format!(
            "service: {}/{} is not a command of this API",
            service.service_name, service.cmd
        )
    })?;
    let data: Value = envelope::open_json(&config.agent_key, "encry_data", &encry_data)
        .map_err(|e| e.to_string())?;
    api::check_body(command, &data).map_err(|e| e.to_string())?;
    Ok((command, data))
}

fn dispatch(command: Command, data: &Value, state: &State) -> Value {
    let store_uid = data.get("store_uid").and_then(Value::as_str);
    if let Some(uid) = store_uid
        && uid != state.config.store.store_uid
    {
        return json!({"code": Code::DataIncorrect, "msg": format!("store_uid: {uid} is not a store of this agent")});
    }
    let now = taiwan_now();
    match command {
        Command::Transaction => {
            let request: TransactionRequest = api::parse_body(data).expect("checked by check_body");
            let fingerprint = data.to_string();
            let mut ledger = state.ledger.lock().expect("ledger lock");
            let result = ledger.charge(&request, &fingerprint, now);
            let mut answer = to_json::<TransactionResponse>(&result.answer);
            if ledger.script_of(&request.order.order_id) == Some(Script::PaidOddField) {
                add_odd_field(&mut answer);
            }
            answer
        }
        Command::QueryDirect => {
            let request: api::QueryDirectRequest =
                api::parse_body(data).expect("checked by check_body");
            let mut ledger = state.ledger.lock().expect("ledger lock");
            let mut answer = to_json(&ledger.query(&request, now));
            if ledger.script_of(&request.order_id) == Some(Script::PaidOddField)
                && let Some(rows) = answer.get_mut("rows").and_then(Value::as_array_mut)
            {
                rows.iter_mut().for_each(add_odd_field);
            }
            answer
        }
        Command::MemberStatus => {
            let request: api::MemberStatusRequest =
                api::parse_body(data).expect("checked by check_body");
            let bound = state.is_bound(&request.user_id);
            json!({"code": Code::Done, "msg": "", "status": bound})
        }
        Command::ForgotTp => {
            let request: api::ForgotTpRequest =
                api::parse_body(data).expect("checked by check_body");
            let bound = state.is_bound(&request.user_id);
            if bound {
                wallet_url(&state.config, command)
            } else {
                json!({"code": Code::NoPasswordSet, "msg": "此會員沒設過交易密碼,不需執行忘記交易密碼流程"})
            }
        }
        Command::EWallet => {
            let request: api::EWalletRequest =
                api::parse_body(data).expect("checked by check_body");
            // The customer is taken to have finished binding in the wallet page at once.
            if request.kind == api::values::EWalletType::Bind {
                state.members().insert(request.user_id.to_lowercase());
            }
            wallet_url(&state.config, command)
        }
        Command::DirectDeal | Command::ShoppingDeal | Command::Verification => {
            wallet_url(&state.config, command)
        }
    }
}

/// A receipt-only amount with a fraction (see [`Script::PaidOddField`]).
fn add_odd_field(answer: &mut Value) {
    if let Some(fields) = answer.as_object_mut() {
        fields.insert("actual_cost".to_owned(), Value::String("150.5".to_owned()));
    }
}

fn wallet_url(config: &SimConfig, command: Command) -> Value {
    let token: u128 = rand::random();
    json!({
        "code": Code::Done,
        "msg": "",
        "url": format!("{}{token:032x}?cmd={}", config.wallet_link_base, command.cmd()),
    })
}

fn to_json<T: serde::Serialize>(value: &T) -> Value {
    serde_json::to_value(value).expect("answers serialise")
}

fn refused(message: &str) -> Answer {
    json_answer(
        StatusCode::OK,
        &json!({"code": Code::DataIncorrect, "msg": message}),
    )
}

fn json_answer(status: StatusCode, value: &Value) -> Answer {
    Response::builder()
        .status(status)
        .header(
            hyper::header::CONTENT_TYPE,
            "application/json; charset=utf-8",
        )
        .body(Full::new(Bytes::from(value.to_string())))
        .expect("a JSON response")
}

/// The current time in Taiwan (UTC+8, no daylight saving).
pub fn taiwan_now() -> IssueTime {
    let now = time::OffsetDateTime::now_utc().to_offset(time::macros::offset!(+8));
    IssueTime {
        year: u16::try_from(now.year()).expect("a year after 1912"),
        month: u8::from(now.month()),
        day: now.day(),
        hour: now.hour(),
        minute: now.minute(),
        second: now.second(),
    }
}

/// Reads a request body of at most `limit` bytes.
async fn collect_body(request: hyper::Request<Incoming>, limit: usize) -> Result<Vec<u8>, String> {
    use http_body_util::{BodyExt, Limited};
    Limited::new(request.into_body(), limit)
        .collect()
        .await
        .map(|c| c.to_bytes().to_vec())
        .map_err(|e| format!("cannot read the request body (at most {limit} bytes): {e}"))
}
