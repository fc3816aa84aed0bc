//! Distribution status payloads (poll answers and webhook bodies) on arbitrary JSON: never a
//! panic; a FAILED status, and only that, carries one of the in-store guide's three codes.
#![no_main]

use klarna_pos::core::status::StatusPayload;
use klarna_pos::core::status::Status;
use klarna_pos::core::Code;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(fields) = StatusPayload::read(data) else {
        return;
    };
    if let Some(p) = StatusPayload::parse(&fields) {
        assert_eq!(p.status, Status::from_klarna(&p.raw_status));
        assert_eq!(p.failure.is_some(), p.status == Status::Failed);
        if let Some(f) = p.failure {
            assert!(matches!(
                f.code,
                Code::BadRequest | Code::PermissionDenied | Code::Unknown
            ));
        }
    }
});
