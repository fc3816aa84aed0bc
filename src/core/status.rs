//! Distribution status of an in-store session, how Klarna's spellings map onto it, and the
//! status payloads (polled or from a webhook) that carry it.

use serde_json::Value;

use super::error::{Code, Error};

/// Status of a session. Numbers are part of the ABI and never change meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum Status {
    /// Created locally, no status read yet.
    Created = 0,
    /// Klarna prepares the distribution (older documentation).
    Waiting = 1,
    /// The QR code / link is ready: show it.
    Distributed = 2,
    /// The customer opened it: show "payment in progress".
    Accessed = 3,
    /// The order is placed; `order_id` is known. Terminal.
    Completed = 4,
    /// Cancelled by the till or the customer. Terminal.
    Canceled = 5,
    /// Klarna could not complete it; see the failure code. Terminal.
    Failed = 6,
    /// The session ran out of time. Terminal.
    Expired = 7,
    /// A status this version does not know (Klarna added one). Not an error.
    Unknown = 99,
}

/// Display text for a status this version does not know: neutral, never claims success.
pub const UNKNOWN_DISPLAY_TEXT: &str = "Checking the payment status...";

impl Status {
    pub const ALL: [Status; 9] = [
        Status::Created,
        Status::Waiting,
        Status::Distributed,
        Status::Accessed,
        Status::Completed,
        Status::Canceled,
        Status::Failed,
        Status::Expired,
        Status::Unknown,
    ];

    pub fn from_u32(n: u32) -> Option<Status> {
        Status::ALL.iter().copied().find(|s| *s as u32 == n)
    }

    /// Reads Klarna's status string, tolerant of case and of both spellings of cancelled.
    pub fn from_klarna(s: &str) -> Status {
        match s.trim().to_ascii_uppercase().as_str() {
            "WAITING" => Status::Waiting,
            "DISTRIBUTED" => Status::Distributed,
            "ACCESSED" => Status::Accessed,
            "COMPLETED" => Status::Completed,
            "CANCELED" | "CANCELLED" => Status::Canceled,
            "FAILED" => Status::Failed,
            "EXPIRED" => Status::Expired,
            _ => Status::Unknown,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Status::Created => "CREATED",
            Status::Waiting => "WAITING",
            Status::Distributed => "DISTRIBUTED",
            Status::Accessed => "ACCESSED",
            Status::Completed => "COMPLETED",
            Status::Canceled => "CANCELED",
            Status::Failed => "FAILED",
            Status::Expired => "EXPIRED",
            Status::Unknown => "UNKNOWN",
        }
    }

    /// What the till shows the cashier and customer for this status, in the words of Klarna's
    /// in-store best practices, so every till gives the same guidance. A FAILED screen should
    /// also show the session id, for Klarna's support.
    pub fn display_text(self) -> &'static str {
        super::texts::text(self, None, super::texts::Audience::Cashier)
    }

    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            Status::Completed | Status::Canceled | Status::Failed | Status::Expired
        )
    }
}

/// A distribution status payload, read tolerantly (`qr_code` or `qr`, both spellings of
/// cancelled, unknown statuses).
#[derive(Debug, Clone, PartialEq)]
pub struct StatusPayload {
    pub status: Status,
    pub raw_status: String,
    pub qr_url: Option<String>,
    pub payment_link: Option<String>,
    pub order_id: Option<String>,
    pub klarna_reference: Option<String>,
    pub failure: Option<Error>,
}

impl StatusPayload {
    /// `None` when the payload has no status string at all.
    pub fn parse(json: &Value) -> Option<StatusPayload> {
        let text = |k: &str| {
            json.get(k)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        let raw_status = text("status")?;
        let status = Status::from_klarna(&raw_status);
        let failure = (status == Status::Failed).then(|| distribution_failure(json.get("error")));
        Some(StatusPayload {
            status,
            raw_status,
            qr_url: text("qr_code").or_else(|| text("qr")),
            payment_link: text("payment_link"),
            order_id: text("order_id"),
            klarna_reference: text("klarna_reference"),
            failure,
        })
    }
}

/// Maps the `error` of a FAILED distribution to the in-store guide's three codes.
fn distribution_failure(error: Option<&Value>) -> Error {
    let code = error
        .and_then(|e| e.get("code").or_else(|| e.get("error_code")))
        .and_then(Value::as_str)
        .map(str::to_string);
    let message = error
        .and_then(|e| e.get("message"))
        .and_then(Value::as_str)
        .unwrap_or("");
    let mapped = match code.as_deref() {
        Some("BAD_REQUEST") => Code::BadRequest,
        Some("PERMISSION_DENIED") => Code::PermissionDenied,
        _ => Code::Unknown,
    };
    let mut e = Error::new(
        mapped,
        format!(
            "Klarna reported the payment FAILED ({}){}{}",
            code.as_deref().unwrap_or("no error code"),
            if message.is_empty() { "" } else { ": " },
            message
        ),
    );
    e.klarna_error_code = code;
    e
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn both_spellings_of_cancelled_are_canceled() {
        assert_eq!(Status::from_klarna("CANCELED"), Status::Canceled);
        assert_eq!(Status::from_klarna("CANCELLED"), Status::Canceled);
        assert_eq!(Status::from_klarna("cancelled"), Status::Canceled);
    }

    #[test]
    fn a_new_klarna_status_is_unknown_not_an_error() {
        assert_eq!(Status::from_klarna("PENDING_REVIEW"), Status::Unknown);
        assert!(!Status::Unknown.is_terminal());
    }

    #[test]
    fn display_texts_follow_klarnas_best_practices() {
        assert_eq!(Status::Accessed.display_text(), "Payment in progress");
        assert_eq!(Status::Completed.display_text(), "Payment is done");
        assert_eq!(Status::Failed.display_text(), "Something went wrong");
        assert_eq!(Status::Canceled.display_text(), "Payment is canceled");
        for s in Status::ALL {
            assert!(!s.display_text().is_empty(), "{}", s.name());
        }
    }

    #[test]
    fn exactly_four_statuses_are_terminal() {
        let terminal: Vec<_> = Status::ALL.iter().filter(|s| s.is_terminal()).collect();
        assert_eq!(terminal.len(), 4);
    }

    #[test]
    fn payload_reads_qr_under_either_name() {
        let p = StatusPayload::parse(&json!({"status":"DISTRIBUTED","qr":"https://q"})).unwrap();
        assert_eq!(p.qr_url.as_deref(), Some("https://q"));
        let p =
            StatusPayload::parse(&json!({"status":"DISTRIBUTED","qr_code":"https://c"})).unwrap();
        assert_eq!(p.qr_url.as_deref(), Some("https://c"));
    }

    #[test]
    fn distribution_errors_map_to_the_guides_three_codes() {
        for (k, code) in [
            ("BAD_REQUEST", Code::BadRequest),
            ("PERMISSION_DENIED", Code::PermissionDenied),
            ("UNKNOWN", Code::Unknown),
            ("INTERNAL_ERROR", Code::Unknown),
            ("SOMETHING_NEW", Code::Unknown),
        ] {
            let p = StatusPayload::parse(&json!({"status":"FAILED","error":{"code":k}})).unwrap();
            let f = p.failure.unwrap();
            assert_eq!(f.code, code, "{}", k);
            assert_eq!(f.klarna_error_code.as_deref(), Some(k));
        }
    }

    #[test]
    fn payload_without_status_is_rejected() {
        assert!(StatusPayload::parse(&json!({"qr":"x"})).is_none());
    }
}
