//! Distribution status of an in-store session, how Klarna's spellings map onto it, and the
//! status payloads (polled or from a webhook) that carry it.

use serde::Deserialize;

use super::error::{Code, Error};
use super::http::{read_json, Object, Text};

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
        const SPELLINGS: [(&str, Status); 8] = [
            ("DISTRIBUTED", Status::Distributed),
            ("ACCESSED", Status::Accessed),
            ("COMPLETED", Status::Completed),
            ("WAITING", Status::Waiting),
            ("CANCELED", Status::Canceled),
            ("CANCELLED", Status::Canceled),
            ("FAILED", Status::Failed),
            ("EXPIRED", Status::Expired),
        ];
        let s = s.trim();
        SPELLINGS
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(s))
            .map_or(Status::Unknown, |(_, status)| *status)
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

/// The fields of a status payload (polled or from a webhook) as Klarna sends them, borrowed from
/// the answer; other fields are skipped unread. Read with [`StatusPayload::read`].
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct StatusFields<'a> {
    #[serde(borrow)]
    status: Text<'a>,
    #[serde(borrow)]
    qr_code: Text<'a>,
    #[serde(borrow)]
    qr: Text<'a>,
    #[serde(borrow)]
    payment_link: Text<'a>,
    #[serde(borrow)]
    order_id: Text<'a>,
    #[serde(borrow)]
    klarna_reference: Text<'a>,
    /// Named in webhook bodies.
    #[serde(borrow)]
    pub session_id: Text<'a>,
    #[serde(borrow)]
    error: Object<ErrorFields<'a>>,
}

/// The `error` of a FAILED distribution.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ErrorFields<'a> {
    #[serde(borrow)]
    code: Text<'a>,
    #[serde(borrow)]
    error_code: Text<'a>,
    #[serde(borrow)]
    message: Text<'a>,
}

impl StatusPayload {
    /// Reads the fields of a status payload from JSON text (any JSON that is no object has none);
    /// `Err` when the text is not JSON.
    pub fn read(json: &[u8]) -> serde_json::Result<StatusFields<'_>> {
        read_json::<Object<StatusFields>>(json).map(|o| o.0)
    }

    /// `None` when the payload has no status string at all.
    pub fn parse(fields: &StatusFields<'_>) -> Option<StatusPayload> {
        let text = |t: &Text<'_>| t.non_empty().map(str::to_string);
        let raw_status = text(&fields.status)?;
        let status = Status::from_klarna(&raw_status);
        let failure = (status == Status::Failed).then(|| distribution_failure(&fields.error.0));
        Some(StatusPayload {
            status,
            raw_status,
            qr_url: text(&fields.qr_code).or_else(|| text(&fields.qr)),
            payment_link: text(&fields.payment_link),
            order_id: text(&fields.order_id),
            klarna_reference: text(&fields.klarna_reference),
            failure,
        })
    }
}

/// Maps the `error` of a FAILED distribution to the in-store guide's three codes.
fn distribution_failure(error: &ErrorFields<'_>) -> Error {
    // `code` when the error has one (of whatever type), `error_code` otherwise.
    let code = if error.code.present {
        error.code.text.as_deref()
    } else {
        error.error_code.text.as_deref()
    };
    let message = error.message.text.as_deref().unwrap_or("");
    let mapped = match code {
        Some("BAD_REQUEST") => Code::BadRequest,
        Some("PERMISSION_DENIED") => Code::PermissionDenied,
        _ => Code::Unknown,
    };
    let mut e = Error::new(
        mapped,
        format!(
            "Klarna reported the payment FAILED ({}){}{}",
            code.unwrap_or("no error code"),
            if message.is_empty() { "" } else { ": " },
            message
        ),
    );
    e.klarna_error_code = code.map(str::to_string);
    e
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn parse(json: Value) -> Option<StatusPayload> {
        let text = serde_json::to_vec(&json).unwrap();
        StatusPayload::parse(&StatusPayload::read(&text).unwrap())
    }

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
        let p = parse(json!({"status":"DISTRIBUTED","qr":"https://q"})).unwrap();
        assert_eq!(p.qr_url.as_deref(), Some("https://q"));
        let p = parse(json!({"status":"DISTRIBUTED","qr_code":"https://c"})).unwrap();
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
            let p = parse(json!({"status":"FAILED","error":{"code":k}})).unwrap();
            let f = p.failure.unwrap();
            assert_eq!(f.code, code, "{}", k);
            assert_eq!(f.klarna_error_code.as_deref(), Some(k));
        }
    }

    #[test]
    fn fields_of_other_types_are_skipped_and_escapes_read() {
        let p = parse(json!({"status":"DISTRIBUTED","qr_code":5,"qr":"https://q",
            "payment_link":"https://p","order_id":{"a":[1]},"new":[{"x":null}]}))
        .unwrap();
        assert_eq!(p.qr_url.as_deref(), Some("https://q"));
        assert_eq!(p.order_id, None);
        let text = br#"{"status":"ACCESSED","payment_link":"https:\/\/p\u00e9"}"#;
        let p = StatusPayload::parse(&StatusPayload::read(text).unwrap()).unwrap();
        assert_eq!(p.payment_link.as_deref(), Some("https://p\u{e9}"));
        assert_eq!(p.status, Status::Accessed);
    }

    #[test]
    fn json_that_is_no_object_has_no_status_and_text_that_is_no_json_is_an_error() {
        for text in ["[1,2]", "\"DISTRIBUTED\"", "null", "3", "{}"] {
            let fields = StatusPayload::read(text.as_bytes()).unwrap();
            assert!(StatusPayload::parse(&fields).is_none(), "{text}");
        }
        assert!(StatusPayload::read(b"<html>").is_err());
        // Not UTF-8, also in a field that is skipped unread.
        assert!(StatusPayload::read(b"{\"status\":\"ACCESSED\",\"x\":\"\xff\"}").is_err());
        assert!(StatusPayload::read(br#"{"status":"DISTRIBUTED""#).is_err());
    }

    #[test]
    fn a_failure_code_comes_from_code_or_else_error_code() {
        let p = parse(
            json!({"status":"FAILED","error":{"error_code":"PERMISSION_DENIED","message":"m"}}),
        )
        .unwrap();
        let f = p.failure.unwrap();
        assert_eq!(f.code, Code::PermissionDenied);
        assert!(
            f.message.ends_with("(PERMISSION_DENIED): m"),
            "{}",
            f.message
        );
        // A `code` that is there but no string is no code; `error_code` is not consulted.
        let p = parse(json!({"status":"FAILED","error":{"code":7,"error_code":"BAD_REQUEST"}}))
            .unwrap();
        let f = p.failure.unwrap();
        assert_eq!(f.code, Code::Unknown);
        assert_eq!(f.klarna_error_code, None);
        let p = parse(json!({"status":"failed","error":"BAD_REQUEST"})).unwrap();
        assert_eq!(p.failure.unwrap().code, Code::Unknown);
    }

    #[test]
    fn payload_without_status_is_rejected() {
        assert!(parse(json!({"qr":"x"})).is_none());
    }
}
