//! Test-only exports, compiled only with the `test-panic` feature (never in release builds).

use super::{boundary, kpos_result};

/// Panics inside the library; the boundary must turn it into `KPOS_E_INTERNAL`.
#[no_mangle]
#[must_use]
pub extern "C" fn kpos_test_panic() -> kpos_result {
    boundary(|| panic!("deliberate panic from kpos_test_panic"))
}
