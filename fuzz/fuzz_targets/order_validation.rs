//! Order validation on arbitrary bytes: never a panic, only the two documented codes, and an
//! order that is accepted is accepted again, unchanged, when its prepared body is validated.
#![no_main]

use klarna_pos::core::order::prepare_session_request;
use klarna_pos::core::Code;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match prepare_session_request(text, false, None) {
        Ok(prepared) => {
            let again = prepare_session_request(&prepared.body, false, None)
                .expect("a prepared body is a valid order");
            assert_eq!(again.body, prepared.body);
            assert_eq!(again.order_amount, prepared.order_amount);
        }
        Err(e) => {
            assert!(matches!(e.code, Code::BadRequest | Code::InvalidArgument));
            assert!(!e.message.is_empty());
        }
    }
});
