//! Where the local API listens: a Unix socket (file permissions guard it) and, optionally, a
//! loopback TCP port guarded by a bearer token. Never a non-loopback address.
//!
//! Each connection is served by hyper with a header read timeout, and a semaphore bounds how many
//! are open at once, so a slow or greedy client cannot starve the POS app. On TCP only connections
//! that presented the token count against that bound; the others get a short time and a small
//! limit of their own.

use axum::Router;
use axum::http::{Request, Response, StatusCode};
use axum::response::IntoResponse;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use std::collections::VecDeque;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::{TcpListener, UnixListener};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, watch};
use tower::ServiceExt as _;

/// Limits on clients.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Connections open at once (on TCP: those that presented the token).
    pub max_connections: usize,
    /// A client must send its request headers within this time.
    pub header_timeout: Duration,
    /// TCP connections that have not yet presented the token; beyond it the oldest is closed.
    pub max_unauthenticated: usize,
    /// How long a TCP connection has to present the token.
    pub auth_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: 64,
            header_timeout: Duration::from_secs(10),
            max_unauthenticated: 16,
            auth_timeout: Duration::from_secs(2),
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

/// The credentials of an `Authorization: Bearer …` header; the scheme's name is case-insensitive
/// (RFC 7235).
fn bearer(header: &str) -> Option<&str> {
    let (scheme, credentials) = header.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| credentials.trim_start_matches(' '))
}

fn unauthorized() -> axum::response::Response {
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
        let (stream, _) = TcpListener::accept(self).await?;
        // Events and answers go out as several small writes; with Nagle's algorithm on, each one
        // after the first waits for the app's delayed ACK, up to 40 ms on Linux and Android.
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!("TCP_NODELAY not set on a local API connection: {e}");
        }
        Ok(stream)
    }
}

/// Serves `router` on the Unix socket `listener` until `shutdown` turns true; connections in
/// progress finish.
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
        let Some(stream) = accept(&listener, &mut shutdown).await else {
            return;
        };
        let service = TowerToHyperService::new(router.clone());
        let header_timeout = limits.header_timeout;
        let stop = shutdown.clone();
        tokio::spawn(async move {
            serve_connection(stream, service, header_timeout, None, stop).await;
            drop(permit);
        });
    }
}

/// Serves `router` on the loopback TCP `listener`, where every request must carry
/// `Authorization: Bearer <token>`.
///
/// Any local process can connect, so a connection counts against `max_connections` only once it
/// has presented the token. Until then it is one of at most `max_unauthenticated`, the oldest of
/// which is closed to make room for a newcomer, and it is closed if it has not presented the token
/// within `auth_timeout`: idle connections cannot lock the POS app out.
pub async fn serve_tcp(
    listener: TcpListener,
    router: Router,
    token: Arc<str>,
    limits: Limits,
    mut shutdown: watch::Receiver<bool>,
) {
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let waiting = Arc::new(Mutex::new(VecDeque::<Arc<Admission>>::new()));
    loop {
        let Some(stream) = accept(&listener, &mut shutdown).await else {
            return;
        };
        let admission = Arc::new(Admission::default());
        {
            let mut waiting = waiting.lock().expect("admission lock");
            if waiting.len() >= limits.max_unauthenticated.max(1)
                && let Some(oldest) = waiting.pop_front()
            {
                oldest.evicted.notify_one();
            }
            waiting.push_back(admission.clone());
        }
        let service = {
            let (router, token, admission, waiting, permits) = (
                router.clone(),
                token.clone(),
                admission.clone(),
                waiting.clone(),
                permits.clone(),
            );
            hyper::service::service_fn(move |request: Request<hyper::body::Incoming>| {
                let (router, token, admission, waiting, permits) = (
                    router.clone(),
                    token.clone(),
                    admission.clone(),
                    waiting.clone(),
                    permits.clone(),
                );
                async move {
                    let presented = request
                        .headers()
                        .get(axum::http::header::AUTHORIZATION)
                        .and_then(|v| v.to_str().ok())
                        .and_then(bearer);
                    if !presented.is_some_and(|p| constant_time_eq(p.as_bytes(), token.as_bytes()))
                    {
                        return Ok::<_, Infallible>(unauthorized());
                    }
                    if !admission.authenticated.swap(true, Ordering::SeqCst) {
                        forget(&waiting, &admission);
                        let permit = permits
                            .acquire_owned()
                            .await
                            .expect("the semaphore is never closed");
                        *admission.permit.lock().expect("admission lock") = Some(permit);
                    }
                    router.oneshot(request.map(axum::body::Body::new)).await
                }
            })
        };
        let header_timeout = limits.header_timeout;
        let auth_timeout = limits.auth_timeout;
        let stop = shutdown.clone();
        let waiting = waiting.clone();
        tokio::spawn(async move {
            serve_connection(
                stream,
                service,
                header_timeout,
                Some((admission.clone(), auth_timeout)),
                stop,
            )
            .await;
            forget(&waiting, &admission);
        });
    }
}

/// A TCP connection on its way in: whether it has presented the token, the slot it then holds,
/// and the signal that it was closed to make room.
#[derive(Default)]
struct Admission {
    authenticated: AtomicBool,
    permit: Mutex<Option<OwnedSemaphorePermit>>,
    evicted: Notify,
}

/// Takes `admission` out of the connections waiting to present the token.
fn forget(waiting: &Mutex<VecDeque<Arc<Admission>>>, admission: &Arc<Admission>) {
    waiting
        .lock()
        .expect("admission lock")
        .retain(|other| !Arc::ptr_eq(other, admission));
}

/// The next connection, or `None` once `shutdown` turns true.
async fn accept<A: Acceptor>(
    listener: &A,
    shutdown: &mut watch::Receiver<bool>,
) -> Option<A::Stream> {
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(stream) => return Some(stream),
                Err(e) => {
                    tracing::warn!("accepting a local API connection failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            _ = shutdown.changed() => return None,
        }
    }
}

/// Serves one connection until it ends, the daemon stops, or (when `admission` is given) it has
/// not presented the token in time or was closed to make room.
async fn serve_connection<S, B>(
    stream: impl tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    service: S,
    header_timeout: Duration,
    admission: Option<(Arc<Admission>, Duration)>,
    mut stop: watch::Receiver<bool>,
) where
    S: hyper::service::Service<Request<hyper::body::Incoming>, Response = Response<B>>,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    B: hyper::body::Body + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let connection = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
        .serve_connection(TokioIo::new(stream), service);
    tokio::pin!(connection);
    let (admission, auth_timeout) = admission.unzip();
    let waiting = || {
        admission
            .as_ref()
            .is_some_and(|a| !a.authenticated.load(Ordering::SeqCst))
    };
    let deadline = tokio::time::sleep(auth_timeout.unwrap_or_default());
    tokio::pin!(deadline);
    let evicted = async {
        match &admission {
            Some(admission) => admission.evicted.notified().await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(evicted);
    loop {
        tokio::select! {
            result = connection.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!("local API connection ended: {e}");
                }
                return;
            }
            _ = &mut deadline, if waiting() => {
                if waiting() {
                    tracing::debug!("closing a TCP connection that presented no token in time");
                    return;
                }
            }
            _ = &mut evicted, if waiting() => {
                if waiting() {
                    tracing::debug!("closing a TCP connection without a token to make room");
                    return;
                }
            }
            _ = stop.changed() => {
                connection.as_mut().graceful_shutdown();
                let _ = connection.await;
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_tcp_connection_is_served_without_nagles_delay() {
        let listener = bind_tcp("127.0.0.1:0".parse().unwrap()).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let _client = tokio::net::TcpStream::connect(addr).await.unwrap();
        let served = Acceptor::accept(&listener).await.unwrap();
        assert!(served.nodelay().unwrap());
    }
}
