//! `"print_link": true` on the e-wallet commands that answer with a URL for the customer's phone
//! (`bind`, `pay`, `directdeal`, `shoppingdeal`): the daemon's own option, taken off the request
//! before it goes to the gateway, and the URL of the answer printed as a QR code through the
//! printer path. Only an `https` URL is printed.

use super::printing::PrintRequest;
use super::routes::{Api, ApiError};
use crate::api::{Code, Command};
use axum::http::StatusCode;
use serde_json::{Map, Value, json};

/// The option's name in the request, and in the answer where it says what became of the link.
const FIELD: &str = "print_link";

/// What the link printed for the command `command` (of `type` `kind`) is for, if it answers one.
fn caption(command: Command, kind: Option<&str>) -> Option<&'static str> {
    match (command, kind) {
        (Command::EWallet, Some("bind")) => Some("綁定錢包"),
        (Command::EWallet, Some("pay")) => Some("付款連結"),
        (Command::DirectDeal, _) => Some("線上付款連結"),
        (Command::ShoppingDeal, _) => Some("購物付款連結"),
        _ => None,
    }
}

/// Whether the command takes `print_link`: it answers with a link for the customer's phone.
pub fn prints_link(command: Command, kind: Option<&str>) -> bool {
    caption(command, kind).is_some()
}

/// Takes `print_link` off the request: the caption to print the answer's link under, when asked
/// for. Refused by name when it is not a boolean, or the command answers no link to print.
pub fn take(
    request: &mut Map<String, Value>,
    command: Command,
    kind: Option<&str>,
) -> Result<Option<&'static str>, ApiError> {
    let Some(value) = request.remove(FIELD) else {
        return Ok(None);
    };
    let refuse = |message: String| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(FIELD.into()),
            format!("{FIELD}: {message}"),
        )
    };
    let Some(asked) = value.as_bool() else {
        return Err(refuse(format!("must be true or false, got {value}")));
    };
    match caption(command, kind) {
        Some(caption) => Ok(asked.then_some(caption)),
        None => Err(refuse(
            "only bind, pay, directdeal and shoppingdeal answer with a link to print".to_owned(),
        )),
    }
}

/// Prints the answer's link under `caption` and says in the answer what became of it
/// (`print_link: {"printing", "message"}`).
pub fn print(api: &Api, caption: &'static str, mut answer: Value) -> Value {
    let outcome = match link_of(&answer) {
        Ok(url) => {
            api.orders.print(PrintRequest::Link {
                caption: caption.to_owned(),
                url,
            });
            json!({"printing": true, "message": format!("the link goes to the printer as a QR code under {caption}")})
        }
        Err(why) => {
            json!({"printing": false, "message": format!("the link is not printed: {why}")})
        }
    };
    if let Some(fields) = answer.as_object_mut() {
        fields.insert(FIELD.to_owned(), outcome);
    }
    answer
}

/// The answer's URL, if it is one to print: a done command's `https` link.
fn link_of(answer: &Value) -> Result<String, String> {
    let code = answer
        .get("code")
        .and_then(|code| serde_json::from_value::<Code>(code.clone()).ok());
    if code != Some(Code::Done) {
        return Err("the gateway did not answer B200 (done)".to_owned());
    }
    let Some(text) = answer.get("url").and_then(Value::as_str) else {
        return Err("the gateway's answer carries no url".to_owned());
    };
    match url::Url::parse(text.trim()) {
        Ok(url) if url.scheme() == "https" && url.host().is_some() => Ok(text.trim().to_owned()),
        Ok(url) => Err(format!(
            "only an https link is printed, and this one is {}",
            url.scheme()
        )),
        Err(e) => Err(format!("the url cannot be read ({e})")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_done_https_link_is_printed() {
        let done = |url: &str| json!({"code": "B200", "msg": "", "url": url});
        assert_eq!(
            link_of(&done("https://pay.example.tw/o/1?a=b")).unwrap(),
            "https://pay.example.tw/o/1?a=b"
        );
        for refused in [
            done("http://pay.example.tw/o/1"),
            done("javascript:alert(1)"),
            done("not a url"),
            json!({"code": "B500", "url": "https://pay.example.tw/o/1"}),
            json!({"code": "B200"}),
        ] {
            assert!(link_of(&refused).is_err(), "{refused}");
        }
    }

    #[test]
    fn the_option_is_taken_off_the_request_and_checked() {
        let mut request = json!({"user_id": "m1", "print_link": true});
        let request = request.as_object_mut().unwrap();
        assert_eq!(
            take(request, Command::EWallet, Some("bind")).unwrap(),
            Some("綁定錢包")
        );
        assert!(!request.contains_key(FIELD));
        let mut request = json!({"print_link": "yes"});
        let refused = take(request.as_object_mut().unwrap(), Command::DirectDeal, None);
        assert!(refused.is_err());
        let mut request = json!({"print_link": true});
        let refused = take(
            request.as_object_mut().unwrap(),
            Command::MemberStatus,
            None,
        );
        assert!(refused.is_err());
        let mut request = json!({"print_link": false});
        let asked = take(
            request.as_object_mut().unwrap(),
            Command::ShoppingDeal,
            None,
        );
        assert_eq!(asked.unwrap(), None);
    }
}
