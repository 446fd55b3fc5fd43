//! Where the local API listens: a Unix socket (file permissions guard it) and, optionally, a
//! loopback TCP port guarded by a bearer token. Never a non-loopback address.
//!
//! Each connection is served by hyper with a header read timeout, and a semaphore bounds how many
//! are open at once, so a slow or greedy client cannot starve the POS app.

use axum::Router;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, UnixListener};
use tokio::sync::{Semaphore, watch};

/// Limits on clients.
#[derive(Debug, Clone)]
pub struct Limits {
    pub max_connections: usize,
    /// A client must send its request headers within this time.
    pub header_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: 64,
            header_timeout: Duration::from_secs(10),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ListenError {
    #[error("cannot create the socket directory {path}: {source}")]
    Directory {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot listen on the socket {path}: {source}")]
    Socket {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot set the socket {path}'s permissions: {source}")]
    Permissions {
        path: String,
        source: std::io::Error,
    },
    #[error("no group named {0} for the socket")]
    NoGroup(String),
    #[error(
        "tcp_listen {0} is not a loopback address; the local API never listens beyond the device"
    )]
    NotLoopback(SocketAddr),
    #[error("tcp_listen is set but no token is configured; a TCP client must present one")]
    NoToken,
    #[error("cannot listen on {addr}: {source}")]
    Tcp {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

/// Binds the Unix socket at `path` with mode 0660 and, when given, group `group`. A stale socket
/// left by a crash is replaced.
pub fn bind_unix(path: &Path, group: Option<&str>) -> Result<UnixListener, ListenError> {
    let shown = path.display().to_string();
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|source| ListenError::Directory {
            path: dir.display().to_string(),
            source,
        })?;
    }
    if path.exists() {
        // Only a socket is ever replaced, never another kind of file.
        let is_socket = std::os::unix::fs::FileTypeExt::is_socket(
            &std::fs::symlink_metadata(path)
                .map_err(|source| ListenError::Socket {
                    path: shown.clone(),
                    source,
                })?
                .file_type(),
        );
        if is_socket {
            let _ = std::fs::remove_file(path);
        }
    }
    let listener = UnixListener::bind(path).map_err(|source| ListenError::Socket {
        path: shown.clone(),
        source,
    })?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o660)).map_err(|source| {
        ListenError::Permissions {
            path: shown.clone(),
            source,
        }
    })?;
    if let Some(group) = group {
        let gid = group_id(group).ok_or_else(|| ListenError::NoGroup(group.to_owned()))?;
        std::os::unix::fs::chown(path, None, Some(gid)).map_err(|source| {
            ListenError::Permissions {
                path: shown,
                source,
            }
        })?;
    }
    Ok(listener)
}

/// The id of a group, from `/etc/group` (no libc call, so the static binary needs no NSS).
fn group_id(name: &str) -> Option<u32> {
    if let Ok(gid) = name.parse() {
        return Some(gid);
    }
    let groups = std::fs::read_to_string("/etc/group").ok()?;
    groups.lines().find_map(|line| {
        let mut fields = line.split(':');
        (fields.next()? == name).then_some(())?;
        fields.nth(1)?.parse().ok()
    })
}

/// Binds the loopback TCP port; any other address is refused.
pub async fn bind_tcp(addr: SocketAddr) -> Result<TcpListener, ListenError> {
    if !addr.ip().is_loopback() {
        return Err(ListenError::NotLoopback(addr));
    }
    TcpListener::bind(addr)
        .await
        .map_err(|source| ListenError::Tcp { addr, source })
}

/// Wraps `router` so every request must carry `Authorization: Bearer <token>`.
pub fn require_token(router: Router, token: Arc<str>) -> Router {
    router.layer(middleware::from_fn(move |request: Request, next: Next| {
        let token = token.clone();
        async move {
            let presented = request
                .headers()
                .get(axum::http::header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "));
            if presented.is_some_and(|p| constant_time_eq(p.as_bytes(), token.as_bytes())) {
                next.run(request).await
            } else {
                unauthorized()
            }
        }
    }))
}

fn unauthorized() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        axum::Json(serde_json::json!({"error": {"field": null, "message": "a bearer token is required on the TCP port (Authorization: Bearer <token>)"}})),
    )
        .into_response()
}

/// Compares without leaking, through timing, how much of the token was right.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Something that accepts connections: a Unix or TCP listener.
pub trait Acceptor: Send + 'static {
    type Stream: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static;
    fn accept(&self) -> impl std::future::Future<Output = std::io::Result<Self::Stream>> + Send;
}

impl Acceptor for UnixListener {
    type Stream = tokio::net::UnixStream;
    async fn accept(&self) -> std::io::Result<Self::Stream> {
        UnixListener::accept(self).await.map(|(s, _)| s)
    }
}

impl Acceptor for TcpListener {
    type Stream = tokio::net::TcpStream;
    async fn accept(&self) -> std::io::Result<Self::Stream> {
        TcpListener::accept(self).await.map(|(s, _)| s)
    }
}

/// Serves `router` on `listener` until `shutdown` turns true; connections in progress finish.
pub async fn serve(
    listener: impl Acceptor,
    router: Router,
    limits: Limits,
    mut shutdown: watch::Receiver<bool>,
) {
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    loop {
        let permit = tokio::select! {
            permit = permits.clone().acquire_owned() => permit.expect("the semaphore is never closed"),
            _ = shutdown.changed() => return,
        };
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(stream) => stream,
                Err(e) => {
                    tracing::warn!("accepting a local API connection failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = shutdown.changed() => return,
        };
        let service = TowerToHyperService::new(router.clone());
        let header_timeout = limits.header_timeout;
        let mut stop = shutdown.clone();
        tokio::spawn(async move {
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(header_timeout)
                .serve_connection(TokioIo::new(stream), service);
            tokio::pin!(connection);
            tokio::select! {
                result = connection.as_mut() => {
                    if let Err(e) = result {
                        tracing::debug!("local API connection ended: {e}");
                    }
                }
                _ = stop.changed() => {
                    connection.as_mut().graceful_shutdown();
                    let _ = connection.await;
                }
            }
            drop(permit);
        });
    }
}
