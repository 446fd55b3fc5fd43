//! The API's error answer and the extractors that refuse bad input by name.

use crate::daemon::orders::OrdersError;
use crate::store::StoreError;
use axum::Json;
use axum::extract::FromRequest;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::response::Response;
use serde_json::Value;
use serde_json::json;

/// A JSON error answer.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    field: Option<String>,
    message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, field: Option<String>, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            field,
            message: message.into(),
        }
    }
}

impl ApiError {
    /// A query string that does not read, with the parameter serde stopped at (it names an
    /// unknown one between backticks) and the parameters the route takes.
    pub fn bad_query(
        rejection: &axum::extract::rejection::QueryRejection,
        parameters: &str,
    ) -> ApiError {
        let text = rejection.body_text();
        let field = text.split('`').nth(1).map(str::to_owned);
        ApiError::new(
            StatusCode::BAD_REQUEST,
            field,
            format!("{text}; {parameters}"),
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({"error": {"field": self.field, "message": self.message}});
        (self.status, Json(body)).into_response()
    }
}

impl From<OrdersError> for ApiError {
    fn from(e: OrdersError) -> ApiError {
        let message = e.to_string();
        match e {
            OrdersError::Invalid(field) => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(field.field.clone()),
                field.to_string(),
            ),
            OrdersError::PaymentCode(_) => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                Some("payment_code".into()),
                message,
            ),
            OrdersError::CodeInUse(_) => {
                ApiError::new(StatusCode::CONFLICT, Some("payment_code".into()), message)
            }
            OrdersError::NotFound(_) => ApiError::new(StatusCode::NOT_FOUND, None, message),
            OrdersError::Clock(_) => ApiError::new(StatusCode::SERVICE_UNAVAILABLE, None, message),
            OrdersError::Order(_) => ApiError::new(StatusCode::CONFLICT, None, message),
            OrdersError::Store(StoreError::Duplicate(_)) => {
                ApiError::new(StatusCode::CONFLICT, Some("order_id".into()), message)
            }
            OrdersError::Store(StoreError::Order(_)) => {
                ApiError::new(StatusCode::CONFLICT, None, message)
            }
            OrdersError::Store(StoreError::Cap(_)) => {
                ApiError::new(StatusCode::TOO_MANY_REQUESTS, None, message)
            }
            OrdersError::Store(StoreError::NotFound(_)) => {
                ApiError::new(StatusCode::NOT_FOUND, None, message)
            }
            OrdersError::Store(StoreError::Flush(_) | StoreError::Failed(_)) => {
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, None, message)
            }
            OrdersError::Store(StoreError::DiskFull { .. }) => {
                ApiError::new(StatusCode::INSUFFICIENT_STORAGE, None, message)
            }
            OrdersError::Store(_) => {
                ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, None, message)
            }
        }
    }
}

/// A JSON object body read as `T`; a refusal names the field serde stopped at. Only an object
/// is a request: serde would also read a struct from an array, positionally.
pub struct Body<T>(pub T);

impl<S, T> FromRequest<S> for Body<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, ApiError> {
        let headers = req.headers().clone();
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|rejection| ApiError::new(rejection.status(), None, rejection.body_text()))?;
        json_object(&headers, &bytes).map(Body)
    }
}

/// The body's media type, lower-cased and without its parameters: `Application/JSON;
/// charset=utf-8` is `application/json` (media types ignore case, RFC 9110 8.3.1).
pub(super) fn media_type(headers: &axum::http::HeaderMap) -> Option<String> {
    let value = headers
        .get(axum::http::header::CONTENT_TYPE)?
        .to_str()
        .ok()?;
    let essence = value.split(';').next().unwrap_or("").trim();
    Some(essence.to_ascii_lowercase())
}

/// Reads a JSON object body as `T`; see [`Body`].
pub(super) fn json_object<T: serde::de::DeserializeOwned>(
    headers: &axum::http::HeaderMap,
    bytes: &[u8],
) -> Result<T, ApiError> {
    let json_type = media_type(headers).as_deref() == Some("application/json");
    if !json_type {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Some("Content-Type".into()),
            "the body must be JSON with Content-Type: application/json",
        ));
    }
    let value: Value = serde_json::from_slice(bytes).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            None,
            format!("the body is not JSON: {e}"),
        )
    })?;
    if !value.is_object() {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            None,
            "the body must be a JSON object",
        ));
    }
    typed(value)
}

/// Reads a JSON value as `T`, naming the field serde stopped at.
pub(super) fn typed<T: serde::de::DeserializeOwned>(value: Value) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner().to_string();
        // An unknown field is named by serde in the message, not the path.
        let field = if path == "." {
            inner.split('`').nth(1).map(str::to_owned)
        } else {
            Some(path.clone())
        };
        let message = match &field {
            Some(f) if path != "." => format!("{f}: {inner}"),
            _ => inner,
        };
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, field, message)
    })
}
