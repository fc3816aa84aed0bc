//! Times the validation of one order (`prepare_session_request`: read, check every rule, build
//! the body to send). Run by tests/bench/validation.sh, which sets it side by side with CPython's
//! `json.loads` of the same bytes.
//!
//!   validation ORDER_FILE N    prints `median_us=… min_us=… bytes=…` over N validations

use std::time::Instant;

use klarna_pos::core::order::prepare_session_request;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(path), Some(n)) = (
        args.get(1),
        args.get(2).and_then(|n| n.parse::<usize>().ok()),
    ) else {
        eprintln!("usage: validation ORDER_FILE N");
        std::process::exit(2);
    };
    let order = std::fs::read_to_string(path).expect("order file");
    // The order must be valid: a refusal would stop early and time less than the whole work.
    let body = prepare_session_request(&order, false, None)
        .unwrap_or_else(|e| panic!("the benchmark order is refused: {e}"))
        .body;
    assert!(body.len() >= order.len() / 2);
    let mut times = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        let req = prepare_session_request(&order, false, None).unwrap();
        times.push(t.elapsed().as_secs_f64() * 1e6);
        std::hint::black_box(req);
    }
    times.sort_by(f64::total_cmp);
    println!(
        "median_us={:.1} min_us={:.1} bytes={}",
        times[n / 2],
        times[0],
        order.len()
    );
}
