//! A client of the local API over its Unix socket, for `posd charge`, `posd orders`, `posd status`
//! and tests.

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    #[error(
        "the daemon is not running (nothing listens on {socket}); start it with `posd run`, or point \
         --socket / POSD_SOCKET at its socket"
    )]
    NotRunning { socket: String },
    #[error("cannot talk to the daemon on {socket}: {detail}")]
    Io { socket: String, detail: String },
    #[error("the daemon's answer is not JSON: {0}")]
    NotJson(String),
}

pub struct LocalClient {
    socket: PathBuf,
}

impl LocalClient {
    pub fn new(socket: impl Into<PathBuf>) -> LocalClient {
        LocalClient {
            socket: socket.into(),
        }
    }

    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// Sends one request and returns the status and the JSON body (`null` when empty).
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<(StatusCode, Value), LocalError> {
        let (status, bytes) = self.request_raw(method, path, body).await?;
        if bytes.is_empty() {
            return Ok((status, Value::Null));
        }
        let value = serde_json::from_slice(&bytes).map_err(|e| {
            LocalError::NotJson(format!("{e}: {}", String::from_utf8_lossy(&bytes)))
        })?;
        Ok((status, value))
    }

    /// Sends one request and returns the status and the body as bytes.
    pub async fn request_raw(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<(StatusCode, Bytes), LocalError> {
        let shown = self.socket.display().to_string();
        let io_error = |e: &dyn std::fmt::Display| LocalError::Io {
            socket: shown.clone(),
            detail: e.to_string(),
        };
        let stream = match tokio::net::UnixStream::connect(&self.socket).await {
            Ok(stream) => stream,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused
                ) =>
            {
                return Err(LocalError::NotRunning { socket: shown });
            }
            Err(e) => return Err(io_error(&e)),
        };
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| io_error(&e))?;
        tokio::spawn(connection);
        let payload = body.map_or_else(Vec::new, |b| b.to_string().into_bytes());
        let request = Request::builder()
            .method(method)
            .uri(path)
            .header(hyper::header::HOST, "posd")
            .header(hyper::header::CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::from(payload)))
            .map_err(|e| io_error(&e))?;
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| io_error(&e))?;
        let status = response.status();
        let bytes = response
            .into_body()
            .collect()
            .await
            .map_err(|e| io_error(&e))?
            .to_bytes();
        Ok((status, bytes))
    }
}
