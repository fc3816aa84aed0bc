//! The library's error type and the stable result codes.
//!
//! Numbers are part of the ABI: a code keeps its number forever and a retired number is never
//! reused. Ranges group the codes: 1-9 caller mistakes, 10-29 answers from Klarna,
//! 30-49 transport, 50-59 interruption, 90-99 library bugs.

use std::fmt;

/// A stable result code. `Ok` is 0; every other value names one kind of failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum Code {
    Ok = 0,
    InvalidArgument = 1,
    BadRequest = 10,
    PermissionDenied = 11,
    Unknown = 12,
    NotFound = 13,
    Conflict = 14,
    RateLimited = 15,
    Timeout = 30,
    Network = 31,
    Tls = 32,
    Protocol = 33,
    Cancelled = 50,
    Internal = 90,
}

/// What the caller should do about a code (Klarna's "action to take").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum Action {
    None = 0,
    FixInput = 1,
    Retry = 2,
    ContactSupport = 3,
    FixCaller = 4,
}

impl Code {
    pub const ALL: [Code; 14] = [
        Code::Ok,
        Code::InvalidArgument,
        Code::BadRequest,
        Code::PermissionDenied,
        Code::Unknown,
        Code::NotFound,
        Code::Conflict,
        Code::RateLimited,
        Code::Timeout,
        Code::Network,
        Code::Tls,
        Code::Protocol,
        Code::Cancelled,
        Code::Internal,
    ];

    /// The code for a number, `None` for a number no code has.
    pub fn from_u32(n: u32) -> Option<Code> {
        Code::ALL.iter().copied().find(|c| *c as u32 == n)
    }

    pub fn name(self) -> &'static str {
        match self {
            Code::Ok => "KPOS_OK",
            Code::InvalidArgument => "KPOS_E_INVALID_ARGUMENT",
            Code::BadRequest => "KPOS_E_BAD_REQUEST",
            Code::PermissionDenied => "KPOS_E_PERMISSION_DENIED",
            Code::Unknown => "KPOS_E_UNKNOWN",
            Code::NotFound => "KPOS_E_NOT_FOUND",
            Code::Conflict => "KPOS_E_CONFLICT",
            Code::RateLimited => "KPOS_E_RATE_LIMITED",
            Code::Timeout => "KPOS_E_TIMEOUT",
            Code::Network => "KPOS_E_NETWORK",
            Code::Tls => "KPOS_E_TLS",
            Code::Protocol => "KPOS_E_PROTOCOL",
            Code::Cancelled => "KPOS_E_CANCELLED",
            Code::Internal => "KPOS_E_INTERNAL",
        }
    }

    /// One English sentence for logs and cashier-facing fallbacks.
    pub fn text(self) -> &'static str {
        match self {
            Code::Ok => "Success.",
            Code::InvalidArgument => {
                "The library was called incorrectly (NULL, invalid UTF-8, unreadable JSON or an unknown value)."
            }
            Code::BadRequest => {
                "The request is not acceptable; create it again with appropriate input."
            }
            Code::PermissionDenied => {
                "The credentials are wrong or not allowed; do not retry, contact Klarna merchant support."
            }
            Code::Unknown => {
                "Klarna reported a system error; do not retry the session, contact Klarna merchant support."
            }
            Code::NotFound => "Klarna does not know this session or order; check the id.",
            Code::Conflict => {
                "The operation is not allowed in the current state; read the state again."
            }
            Code::RateLimited => "Klarna's rate limit was reached; retry later.",
            Code::Timeout => "No answer within the configured time; retry or cancel.",
            Code::Network => "The connection to Klarna failed; retry.",
            Code::Tls => {
                "The TLS handshake or certificate check failed; check the trust store and the clock."
            }
            Code::Protocol => {
                "The server answered something unparseable or unexpected; contact support."
            }
            Code::Cancelled => "The call was interrupted by a cancellation.",
            Code::Internal => "An internal error occurred in the library; please report it.",
        }
    }

    pub fn action(self) -> Action {
        match self {
            Code::Ok | Code::Cancelled => Action::None,
            Code::BadRequest | Code::NotFound | Code::Conflict => Action::FixInput,
            Code::RateLimited | Code::Timeout | Code::Network => Action::Retry,
            Code::PermissionDenied | Code::Unknown | Code::Protocol | Code::Tls => {
                Action::ContactSupport
            }
            Code::InvalidArgument | Code::Internal => Action::FixCaller,
        }
    }
}

/// A failure with everything known about it. Built by the core, shown to C through the
/// thread-local last error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub code: Code,
    pub message: String,
    /// HTTP status of Klarna's answer, when there was one.
    pub http_status: Option<u16>,
    /// Klarna's `error_code` (e.g. `BAD_VALUE`), or the distribution error code of a FAILED session.
    pub klarna_error_code: Option<String>,
    pub error_messages: Vec<String>,
    /// Klarna's correlation id, for merchant support.
    pub correlation_id: Option<String>,
    /// Path of the offending field for validation failures (`order_lines[1].total_tax_amount`).
    pub field: Option<String>,
    /// For `RateLimited`: how long Klarna asked this client to wait before the next request of
    /// the same kind (its `Retry-After`, or what is left of it).
    pub retry_after: Option<std::time::Duration>,
}

impl Error {
    pub fn new(code: Code, message: impl Into<String>) -> Error {
        Error {
            code,
            message: message.into(),
            http_status: None,
            klarna_error_code: None,
            error_messages: Vec::new(),
            correlation_id: None,
            field: None,
            retry_after: None,
        }
    }

    pub fn invalid_argument(message: impl Into<String>) -> Error {
        Error::new(Code::InvalidArgument, message)
    }

    /// A locally detected problem with one field of a request.
    pub fn bad_field(field: impl Into<String>, message: impl Into<String>) -> Error {
        let field = field.into();
        let mut e = Error::new(Code::BadRequest, format!("{}: {}", field, message.into()));
        e.field = Some(field);
        e
    }

    /// A caller mistake in one named argument (`KPOS_E_INVALID_ARGUMENT` with `field` set); the
    /// message reads "<field> <message>".
    pub fn invalid_field(field: impl Into<String>, message: impl Into<String>) -> Error {
        let field = field.into();
        let mut e = Error::invalid_argument(format!("{} {}", field, message.into()));
        e.field = Some(field);
        e
    }

    /// An answer from Klarna (HTTP `status`) that the library could not use.
    pub fn protocol(
        message: impl Into<String>,
        status: u16,
        correlation_id: Option<&str>,
    ) -> Error {
        let mut e = Error::new(Code::Protocol, message);
        e.http_status = Some(status);
        e.correlation_id = correlation_id.map(str::to_string);
        e
    }

    /// A problem with one field of the client configuration.
    pub fn bad_config(field: impl Into<String>, message: impl Into<String>) -> Error {
        let field = field.into();
        let mut e = Error::new(
            Code::InvalidArgument,
            format!("config {}: {}", field, message.into()),
        );
        e.field = Some(field);
        e
    }

    /// The whole detail as one JSON object (the shape of `kpos_last_error_json`).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "code": self.code as u32,
            "name": self.code.name(),
            "message": self.message,
            "action": self.code.action() as u32,
            "http_status": self.http_status,
            "klarna_error_code": self.klarna_error_code,
            "error_messages": self.error_messages,
            "correlation_id": self.correlation_id,
            "field": self.field,
            "retry_after_ms": self.retry_after.map(|d| d.as_millis() as u64),
        })
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code.name(), self.message)?;
        if let Some(c) = &self.correlation_id {
            write!(f, " (correlation_id {})", c)?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {}

pub type Result<T> = std::result::Result<T, Error>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_round_trips_through_its_number() {
        for c in Code::ALL {
            assert_eq!(Code::from_u32(c as u32), Some(c));
        }
        assert_eq!(Code::from_u32(7), None);
        assert_eq!(Code::from_u32(u32::MAX), None);
    }

    #[test]
    fn codes_have_distinct_names() {
        let mut names: Vec<_> = Code::ALL.iter().map(|c| c.name()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), Code::ALL.len());
    }
}
