//! A person's word on an order the machine could not finish (`needs_attention`): paid, or not
//! paid. The gateway is asked once more first, and its answer must not contradict the person;
//! what was decided, by whom and on what answer stays with the order as its audit.

use serde::{Deserialize, Serialize};

use super::time::Timestamp;
use crate::api::Code;
use crate::api::validate::FieldError;

/// The longest `by` (who resolved the order) taken, in characters.
pub const MAX_BY_CHARS: usize = 64;
/// The longest `note` taken, in characters.
pub const MAX_NOTE_CHARS: usize = 500;

/// What the person found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The customer paid: the order becomes `paid` and its receipt is owed.
    Paid,
    /// No money moved: the order becomes `not_paid`.
    NotPaid,
}

/// What `api/querydirect` said when the order was resolved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum GatewayCheck {
    /// The gateway holds the order's charge with this code (and its message, as received).
    Found {
        code: Code,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        msg: Option<String>,
    },
    /// `B200` with no row of this order: the gateway holds no charge for it.
    NotFound,
    /// No answer that says anything about the order: not sent, lost, or a failed query.
    Unanswered { why: String },
}

/// Whether the gateway's answer lets the person's verdict stand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Agreement {
    /// The answer settles the charge the same way, or leaves nothing to contradict.
    Agrees,
    /// The answer settles the charge the other way: the verdict is refused.
    Contradicts(String),
    /// The gateway could not say (unreachable, or the charge is not settled there yet): the
    /// verdict stands only when forced.
    Unsettled(String),
}

impl GatewayCheck {
    /// Whether `verdict` stands against this answer.
    pub fn judge(&self, verdict: Verdict) -> Agreement {
        let settled_paid = match self {
            GatewayCheck::Found { code, .. } => match code {
                Code::Paid | Code::Settled | Code::PaidWithMismatch => Some(true),
                Code::Failed
                | Code::Expired
                | Code::DataIncorrect
                | Code::Abandoned
                | Code::Cancelled
                | Code::Refunded => Some(false),
                other => {
                    return Agreement::Unsettled(format!(
                        "the gateway has not settled the charge yet (code {other})"
                    ));
                }
            },
            GatewayCheck::NotFound => Some(false),
            GatewayCheck::Unanswered { why } => {
                return Agreement::Unsettled(format!("the gateway could not be asked: {why}"));
            }
        };
        match (verdict, settled_paid) {
            (Verdict::Paid, Some(false)) | (Verdict::NotPaid, Some(true)) => {
                Agreement::Contradicts(format!("{self}, which contradicts {verdict}"))
            }
            _ => Agreement::Agrees,
        }
    }
}

impl std::fmt::Display for GatewayCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GatewayCheck::Found {
                code,
                msg: Some(msg),
            } => {
                write!(f, "the gateway holds the charge as {code} ({msg})")
            }
            GatewayCheck::Found { code, msg: None } => {
                write!(f, "the gateway holds the charge as {code}")
            }
            GatewayCheck::NotFound => f.write_str("the gateway holds no charge for the order"),
            GatewayCheck::Unanswered { why } => write!(f, "the gateway could not be asked: {why}"),
        }
    }
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Verdict::Paid => "paid",
            Verdict::NotPaid => "not_paid",
        })
    }
}

/// The audit of a resolution, kept with the order for good.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resolution {
    pub resolved_as: Verdict,
    /// Who resolved it, as they gave their name.
    pub by: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    pub at: Timestamp,
    /// What the gateway said when asked once more.
    pub gateway: GatewayCheck,
    /// The gateway could not say, and the person resolved the order anyway.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub forced: bool,
}

/// Who resolves, and why: checked before anything is asked.
pub fn check_person(by: &str, note: Option<&str>) -> Result<(), FieldError> {
    if by.trim().is_empty() {
        return Err(FieldError::new(
            "by",
            "required: the name of the person resolving the order",
        ));
    }
    check_text("by", by, MAX_BY_CHARS)?;
    if let Some(note) = note {
        check_text("note", note, MAX_NOTE_CHARS)?;
    }
    Ok(())
}

fn check_text(field: &str, text: &str, max: usize) -> Result<(), FieldError> {
    let chars = text.chars().count();
    if chars > max {
        return Err(FieldError::new(
            field,
            format!("at most {max} characters, got {chars}"),
        ));
    }
    if text.chars().any(char::is_control) {
        return Err(FieldError::new(field, "control characters are not allowed"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(code: Code) -> GatewayCheck {
        GatewayCheck::Found { code, msg: None }
    }

    #[test]
    fn a_settled_answer_the_other_way_contradicts_the_verdict() {
        for code in [Code::Paid, Code::Settled, Code::PaidWithMismatch] {
            assert_eq!(found(code.clone()).judge(Verdict::Paid), Agreement::Agrees);
            assert!(matches!(
                found(code).judge(Verdict::NotPaid),
                Agreement::Contradicts(_)
            ));
        }
        for code in [Code::Failed, Code::Expired, Code::Abandoned, Code::Refunded] {
            assert_eq!(
                found(code.clone()).judge(Verdict::NotPaid),
                Agreement::Agrees
            );
            assert!(matches!(
                found(code).judge(Verdict::Paid),
                Agreement::Contradicts(_)
            ));
        }
        assert_eq!(
            GatewayCheck::NotFound.judge(Verdict::NotPaid),
            Agreement::Agrees
        );
        assert!(matches!(
            GatewayCheck::NotFound.judge(Verdict::Paid),
            Agreement::Contradicts(_)
        ));
    }

    #[test]
    fn a_gateway_that_cannot_say_leaves_the_verdict_unsettled() {
        let lost = GatewayCheck::Unanswered {
            why: "connection refused".into(),
        };
        for verdict in [Verdict::Paid, Verdict::NotPaid] {
            assert!(matches!(lost.judge(verdict), Agreement::Unsettled(_)));
            assert!(matches!(
                found(Code::Pending).judge(verdict),
                Agreement::Unsettled(_)
            ));
        }
    }

    #[test]
    fn the_person_is_named_and_bounded() {
        assert_eq!(check_person("  ", None).unwrap_err().field, "by");
        assert_eq!(
            check_person(&"x".repeat(MAX_BY_CHARS + 1), None)
                .unwrap_err()
                .field,
            "by"
        );
        assert_eq!(check_person("店長\n", None).unwrap_err().field, "by");
        let long_note = "x".repeat(MAX_NOTE_CHARS + 1);
        assert_eq!(
            check_person("店長", Some(&long_note)).unwrap_err().field,
            "note"
        );
        assert!(check_person("店長 王", Some("客人出示付款成功畫面")).is_ok());
    }
}
