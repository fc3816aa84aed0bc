//! Client configuration on arbitrary bytes: never a panic, every refusal is
//! KPOS_E_INVALID_ARGUMENT with a message.
#![no_main]

use klarna_pos::core::config::Config;
use klarna_pos::core::Code;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Err(e) = Config::from_json(text) {
        assert_eq!(e.code, Code::InvalidArgument);
        assert!(!e.message.is_empty());
    }
});
