//! The agent API client.
//!
//! One URL takes every command as an HTTPS form POST of `agent_uid`, `service` and `encry_data`
//! (see [`crate::envelope`]); the answer is plain JSON. Every call ends in one [`Outcome`], and the
//! order queue's safety rests on the distinction it draws: only a call that was **not sent** may be
//! sent again blindly; an **unknown** outcome must be reconciled first.

#[cfg(feature = "dns")]
pub mod dns;
pub mod tls;

use crate::api::{Command, Request};
use crate::envelope::{self, AgentKey};
use serde_json::Value;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// Where and as whom to call the gateway.
#[derive(Clone)]
pub struct GatewayConfig {
    pub url: reqwest::Url,
    pub agent_uid: String,
    pub agent_key: AgentKey,
    pub store_uid: String,
    /// An extra CA to trust besides the bundled roots.
    pub ca_file: Option<PathBuf>,
    pub connect_timeout: Duration,
    /// The whole call, from connecting to the last byte of the answer.
    pub timeout: Duration,
    /// DNS servers to ask for the gateway's address instead of the system's resolver.
    pub dns_servers: Vec<std::net::SocketAddr>,
}

impl fmt::Debug for GatewayConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GatewayConfig")
            .field("url", &self.url.as_str())
            .field("agent_uid", &self.agent_uid)
            .field("agent_key", &self.agent_key)
            .field("store_uid", &self.store_uid)
            .field("ca_file", &self.ca_file)
            .field("connect_timeout", &self.connect_timeout)
            .field("timeout", &self.timeout)
            .field("dns_servers", &self.dns_servers)
            .finish()
    }
}

/// How a call ended.
#[derive(Debug)]
pub enum Outcome<T> {
    /// The request never reached the gateway (DNS, connect, TLS handshake): sending it again is
    /// safe. An HTTP answer of any status is not this: a proxy's 408, 429 or 499 can come after
    /// the gateway acted.
    NotSent(CallError),
    /// The request may have reached the gateway and been acted on, but no usable answer came back
    /// (timeout or reset after sending, any HTTP status but 2xx, an unreadable body). Reconcile
    /// before resending.
    Unknown(CallError),
    /// A parsed answer, whatever its code.
    Answered(T),
}

impl<T> Outcome<T> {
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Outcome<U> {
        match self {
            Outcome::NotSent(e) => Outcome::NotSent(e),
            Outcome::Unknown(e) => Outcome::Unknown(e),
            Outcome::Answered(t) => Outcome::Answered(f(t)),
        }
    }

    pub fn answered(self) -> Option<T> {
        match self {
            Outcome::Answered(t) => Some(t),
            _ => None,
        }
    }
}

/// Why a call did not produce an answer. Never holds the agent key or a payment code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{detail}")]
pub struct CallError {
    pub detail: String,
}

impl CallError {
    pub(crate) fn new(detail: impl Into<String>) -> Self {
        CallError {
            detail: detail.into(),
        }
    }
}

/// The client cannot be built from its configuration.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
    #[error("gateway url {0}: plain http is only allowed to a loopback address; use https")]
    PlainHttpNotLoopback(String),
    #[error("gateway url {0}: only https (and http to loopback) are supported")]
    Scheme(String),
    #[error("cannot build the HTTP client: {0}")]
    Http(String),
    #[error(
        "gateway.dns_servers needs posd built with the `dns` feature (cargo build --features dns), as the Android build is"
    )]
    DnsFeature,
}

/// A reusable client: one connection pool, TLS verification always on.
#[derive(Clone, Debug)]
pub struct Client {
    http: reqwest::Client,
    config: GatewayConfig,
}

impl Client {
    pub fn new(config: GatewayConfig) -> Result<Client, ClientError> {
        check_url(&config.url)?;
        let tls = tls::client_config(config.ca_file.as_deref())?;
        #[cfg_attr(not(feature = "dns"), allow(unused_mut))]
        let mut builder = reqwest::Client::builder();
        if !config.dns_servers.is_empty() {
            #[cfg(feature = "dns")]
            {
                builder = builder.dns_resolver(std::sync::Arc::new(dns::ConfiguredDns::new(
                    &config.dns_servers,
                    config.connect_timeout,
                )));
            }
            #[cfg(not(feature = "dns"))]
            return Err(ClientError::DnsFeature);
        }
        let http = builder
            .use_preconfigured_tls(tls)
            .connect_timeout(config.connect_timeout)
            .timeout(config.timeout)
            .user_agent(concat!("posd/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ClientError::Http(e.to_string()))?;
        Ok(Client { http, config })
    }

    pub fn config(&self) -> &GatewayConfig {
        &self.config
    }

    /// Sends a typed command. The request must already be valid ([`Request::validate`]).
    pub async fn call<R: Request>(&self, request: &R) -> Outcome<R::Response> {
        let body = serde_json::to_value(request).expect("API requests always serialise");
        match self.call_json(R::COMMAND, &body).await {
            Outcome::Answered(json) => match serde_json::from_value::<R::Response>(json) {
                Ok(answer) => Outcome::Answered(answer),
                Err(e) => Outcome::Unknown(CallError::new(format!(
                    "the gateway's answer to {} does not fit its table: {e}",
                    R::COMMAND
                ))),
            },
            Outcome::NotSent(e) => Outcome::NotSent(e),
            Outcome::Unknown(e) => Outcome::Unknown(e),
        }
    }

    /// Sends `body` as the `encry_data` of `command` and returns the answer as JSON.
    pub async fn call_json(&self, command: Command, body: &Value) -> Outcome<Value> {
        let key = &self.config.agent_key;
        let form = [
            ("agent_uid", self.config.agent_uid.clone()),
            ("service", envelope::seal_json(key, &command.service())),
            ("encry_data", envelope::seal_json(key, body)),
        ];
        let sent = self
            .http
            .post(self.config.url.clone())
            .form(&form)
            .send()
            .await;
        let response = match sent {
            Ok(response) => response,
            Err(e) => return classify_send_error(&e),
        };
        let status = response.status();
        if !status.is_success() {
            return Outcome::Unknown(CallError::new(format!(
                "the gateway answered HTTP {status}"
            )));
        }
        let bytes = match response.bytes().await {
            Ok(bytes) => bytes,
            Err(e) => {
                return Outcome::Unknown(CallError::new(format!(
                    "the answer was cut off: {}",
                    describe(&e)
                )));
            }
        };
        // A byte-order mark before the JSON (a PHP file saved with one) is not part of it.
        let json = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
        match serde_json::from_slice::<Value>(json) {
            Ok(json) if json.get("code").is_some() => Outcome::Answered(json),
            Ok(_) => Outcome::Unknown(CallError::new("the answer has no `code` field")),
            Err(e) => Outcome::Unknown(CallError::new(format!("the answer is not JSON: {e}"))),
        }
    }
}

fn check_url(url: &reqwest::Url) -> Result<(), ClientError> {
    match url.scheme() {
        "https" => Ok(()),
        "http" => {
            let loopback = match url.host() {
                Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
                Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
                Some(url::Host::Domain(d)) => d == "localhost",
                None => false,
            };
            if loopback {
                Ok(())
            } else {
                Err(ClientError::PlainHttpNotLoopback(url.to_string()))
            }
        }
        _ => Err(ClientError::Scheme(url.to_string())),
    }
}

/// Decides whether a failed send may have reached the gateway.
fn classify_send_error(e: &reqwest::Error) -> Outcome<Value> {
    let detail = describe(e);
    if e.is_connect() {
        Outcome::NotSent(CallError::new(format!(
            "could not connect to the gateway: {detail}"
        )))
    } else if e.is_timeout() {
        Outcome::Unknown(CallError::new(format!(
            "no answer from the gateway in time: {detail}"
        )))
    } else {
        Outcome::Unknown(CallError::new(format!(
            "the connection failed after the request was sent: {detail}"
        )))
    }
}

/// The error with its causes; reqwest errors never carry the request body.
fn describe(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
