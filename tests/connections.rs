//! The guarantees of the connection layer (src/core/http/conn.rs, docs/transport.md), through
//! the C ABI against the simulator over real sockets:
//! - a pooled connection the server has closed is found closed before a create goes out on it:
//!   the create is sent once, on a new connection;
//! - a slowly dripping answer ends at the deadline (the request timeout, or a wait's own), also
//!   for a create, which is still sent once;
//! - the child of a fork never uses its parent's pooled connection, and the parent keeps it.

mod common;

use std::sync::{Mutex, MutexGuard};

use common::*;
use klarna_pos::ffi::error::*;
use serde_json::json;

/// One test of this file at a time: the fork test must not fork while another thread of this
/// process is inside the library.
fn one_at_a_time() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

#[test]
fn a_pooled_connection_the_server_closed_is_not_used_for_a_create() {
    let _serial = one_at_a_time();
    let sim = Sim::start();
    let client = sim.client();
    let first = client.create(&order()).unwrap();
    assert_eq!(sim.stat("connections"), 1);

    // The status read is answered keep-alive, then the server closes that connection.
    sim.fault(json!({"mode": "close_after_answer", "method": "GET", "count": 1}));
    first.poll().unwrap();
    until("the server has closed the pooled connection", || {
        sim.stat("closed_after_answer") == 1
    });

    let second = client.create(&order()).unwrap();
    assert_eq!(sim.stat("create_requests"), 2, "the create was sent once");
    assert_eq!(sim.stat("sessions_created"), 2);
    assert_eq!(
        sim.stat("connections"),
        2,
        "the create went out on a new connection"
    );
    // The new connection is pooled in turn.
    second.poll().unwrap();
    assert_eq!(sim.stat("connections"), 2);
}

#[test]
fn a_dripping_answer_ends_at_the_request_timeout_and_the_create_is_sent_once() {
    let _serial = one_at_a_time();
    let sim = Sim::start();
    // Each byte comes well within the timeout; the whole answer would take many seconds.
    let client = Client::new(&sim.config_json(json!({
        "request_timeout_ms": 300,
        "max_retries": 2,
    })))
    .unwrap();
    sim.fault(json!({"mode": "slow_drip", "drip_ms": 20, "method": "POST", "count": 1}));
    let failure = client.create(&order()).unwrap_err();
    assert_eq!(failure.code, KPOS_E_TIMEOUT, "{:?}", failure.detail);
    assert_eq!(sim.stat("create_requests"), 1, "a create is never repeated");
}

#[test]
fn a_dripping_status_read_ends_at_the_waits_deadline() {
    let _serial = one_at_a_time();
    let sim = Sim::start();
    sim.config(json!({"customer": "manual"}));
    // A request timeout far beyond the wait: only the wait's deadline can end the read.
    let client = Client::new(&sim.config_json(json!({"request_timeout_ms": 60000}))).unwrap();
    let session = client.create(&order()).unwrap();
    sim.fault(json!({"mode": "slow_drip", "drip_ms": 20, "method": "GET", "count": 1000}));
    let (failure, _) = session.wait(300).unwrap_err();
    assert_eq!(failure.code, KPOS_E_TIMEOUT, "{:?}", failure.detail);
}

#[test]
fn a_forked_child_never_uses_its_parents_pooled_connection() {
    let _serial = one_at_a_time();
    let sim = Sim::start();
    let client = sim.client();
    let session = client.create(&order()).unwrap();
    assert_eq!(sim.stat("connections"), 1);

    // SAFETY: no other thread of this process is in the library (one_at_a_time); the child
    // only reads the session's status and leaves with _exit.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        let code = match session.poll() {
            Ok(_) => 0,
            Err(_) => 1,
        };
        // SAFETY: ends the child without running the parent's destructors or test harness.
        unsafe { libc::_exit(code) };
    }
    let mut status = 0;
    // SAFETY: waits for the child forked above.
    assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "the child's status read failed (wait status {status})"
    );
    assert_eq!(sim.stat("polls"), 1);
    assert_eq!(
        sim.stat("connections"),
        2,
        "the child opened a connection of its own"
    );

    session.poll().unwrap();
    assert_eq!(sim.stat("polls"), 2);
    assert_eq!(
        sim.stat("connections"),
        2,
        "the parent still reads over its pooled connection"
    );
}
