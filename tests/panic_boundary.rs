//! A panic inside the library becomes KPOS_E_INTERNAL; the caller keeps running.
//! Needs the test-only export: `cargo test --features test-panic --test panic_boundary`.
#![cfg(feature = "test-panic")]

mod common;

use klarna_pos::ffi::error::*;
use klarna_pos::ffi::testing::kpos_test_panic;

#[test]
fn a_panic_inside_the_library_returns_internal_and_the_host_goes_on() {
    assert_eq!(kpos_test_panic(), KPOS_E_INTERNAL);
    let message = common::owned(kpos_last_error_message()).unwrap();
    assert!(message.contains("deliberate panic"), "{}", message);
    // The library still works after the panic.
    assert_eq!(kpos_test_panic(), KPOS_E_INTERNAL);
    assert_eq!(kpos_result_action(KPOS_E_INTERNAL), KPOS_ACTION_FIX_CALLER);
}
