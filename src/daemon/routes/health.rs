//! `/v1/health` and `/v1/events`: the daemon at a glance, and its event stream.

use super::Api;
use super::MAX_EVENT_STREAMS;
use super::error::ApiError;
use crate::daemon::events::EventKind;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::sse::Event as SseEvent;
use axum::response::sse::KeepAlive;
use axum::response::sse::Sse;
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use serde_json::json;
use std::sync::Arc;
use tokio_stream::StreamExt as _;
use tokio_stream::wrappers::BroadcastStream;
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;

pub(super) async fn health(State(api): State<Arc<Api>>) -> Result<Json<Value>, ApiError> {
    let queue = api.orders.queue_summary().await?;
    let url = &api.gateway.config().url;
    let reachable = api.reachability.reachable().await;
    Ok(Json(json!({
        "status": "ok",
        "uptime_secs": api.started.elapsed().as_secs(),
        "gateway": {
            "url": url.as_str(),
            "reachable": reachable,
            "requests": api.orders.gate(),
            "simulator": api.orders.simulated(),
        },
        "storage": {
            "free_bytes": api.orders.store().free_bytes().ok(),
            "reserve_bytes": api.orders.store().reserve(),
        },
        "printer": match &api.app_printer {
            Some(link) => {
                let mut view = super::printer::state_view(link);
                view["transport"] = json!("app");
                view
            }
            None => json!({"transport": "device"}),
        },
        "queue": {
            "unfinished": queue.unfinished,
            "oldest_unfinished": queue.oldest_unfinished.map(|o| json!({"order_id": o.id.to_string(), "state": o.state.kind(), "created_at": o.created_at.as_millis()})),
            "needs_attention": queue.needs_attention,
        },
    })))
}

/// `GET /v1/events`: server-sent events, one JSON object per event; `429` beyond
/// [`MAX_EVENT_STREAMS`] open at once.
pub(super) async fn events(State(api): State<Arc<Api>>) -> Response {
    let Ok(permit) = api.event_streams.clone().try_acquire_owned() else {
        let mut refusal = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            None,
            format!("{MAX_EVENT_STREAMS} event streams are open already; close one first"),
        )
        .into_response();
        // The connection is not left idle, holding a slot, after the refusal.
        refusal.headers_mut().insert(
            axum::http::header::CONNECTION,
            axum::http::HeaderValue::from_static("close"),
        );
        return refusal;
    };
    let bus = api.orders.events().clone();
    let stream = BroadcastStream::new(bus.subscribe()).map(move |event| {
        // The stream holds its slot until the client goes and the stream is dropped.
        let _slot = &permit;
        let event = match event {
            Ok(event) => event,
            Err(BroadcastStreamRecvError::Lagged(count)) => bus.missed(count),
        };
        let name = serde_json::to_value(&event.kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_else(|| format!("{:?}", EventKind::Created));
        Ok::<_, std::convert::Infallible>(
            SseEvent::default()
                .event(name)
                .json_data(&event)
                .expect("events serialise"),
        )
    });
    Sse::new(stream)
        .keep_alive(KeepAlive::default())
        .into_response()
}
