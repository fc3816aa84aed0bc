//! `kpos_session_watch` through the C ABI, as a till calls it: a watch ended while statuses keep
//! changing never calls its listener after the end returned, and a session outlives its freed
//! client's handle to the end of its watch.

mod common;

use std::ffi::c_void;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::Duration;

use common::*;
use klarna_pos::ffi::error::KPOS_OK;
use klarna_pos::ffi::session::*;
use klarna_pos::ffi::watch::kpos_session_watch;
use serde_json::json;

/// What one listener heard.
#[derive(Default)]
struct Heard {
    statuses: Mutex<Vec<u32>>,
    changed: Condvar,
    /// Set by the test once the watch was ended; a call after that is a violation.
    ended: AtomicBool,
    late_calls: Mutex<u32>,
}

impl Heard {
    /// Waits (at most 30 s) until `status` was heard.
    fn wait_for(&self, status: u32) -> bool {
        let guard = self.statuses.lock().unwrap();
        let (guard, _) = self
            .changed
            .wait_timeout_while(guard, Duration::from_secs(30), |s| !s.contains(&status))
            .unwrap();
        guard.contains(&status)
    }

    /// Waits (at most 30 s) until any call was made.
    fn wait_for_a_call(&self) -> bool {
        let guard = self.statuses.lock().unwrap();
        let (guard, _) = self
            .changed
            .wait_timeout_while(guard, Duration::from_secs(30), |s| s.is_empty())
            .unwrap();
        !guard.is_empty()
    }

    fn heard(&self) -> Vec<u32> {
        self.statuses.lock().unwrap().clone()
    }
}

unsafe extern "C" fn listener(userdata: *mut c_void, _session: *mut kpos_session, status: u32) {
    let heard = &*(userdata as *const Heard);
    if heard.ended.load(Ordering::SeqCst) {
        *heard.late_calls.lock().unwrap() += 1;
    }
    heard.statuses.lock().unwrap().push(status);
    heard.changed.notify_all();
}

fn watch(session: &Session, heard: &Heard) {
    let code = unsafe {
        kpos_session_watch(
            session.0,
            Some(listener),
            heard as *const Heard as *mut c_void,
        )
    };
    assert_eq!(code, KPOS_OK);
}

fn unwatch(session: &Session) {
    let code = unsafe { kpos_session_watch(session.0, None, std::ptr::null_mut()) };
    assert_eq!(code, KPOS_OK);
}

/// Every listener call runs on one thread in queue order: once a watch started after the others
/// has been heard, every call queued before it has been made.
fn drain_listener_queue(client: &Client) {
    let marker = client.create(&order()).unwrap();
    let heard = Heard::default();
    watch(&marker, &heard);
    assert!(heard.wait_for_a_call());
    unwatch(&marker);
}

#[test]
fn an_ended_watch_is_never_called_while_the_session_keeps_changing() {
    let sim = Sim::start();
    let client = sim.client();
    for round in 0..20 {
        let session = client.create(&order()).unwrap();
        session.poll().unwrap();
        let heard = Heard::default();
        watch(&session, &heard);
        // The customer acts on another thread while the watch ends.
        let id = session.id();
        let customer = std::thread::scope(|scope| {
            let acting = scope.spawn(|| {
                sim.act(&id, "scan", None);
                sim.act(&id, "approve", None);
            });
            if round % 2 == 0 {
                assert!(heard.wait_for(KPOS_STATUS_DISTRIBUTED));
            }
            unwatch(&session);
            heard.ended.store(true, Ordering::SeqCst);
            acting.join()
        });
        customer.unwrap();
        // A live watch would queue COMPLETED now.
        assert_eq!(session.poll().unwrap(), KPOS_STATUS_COMPLETED);
        drain_listener_queue(&client);
        assert_eq!(*heard.late_calls.lock().unwrap(), 0, "round {round}");
        let statuses = heard.heard();
        assert!(
            statuses.windows(2).all(|w| w[0] < w[1]),
            "in order, each once: {statuses:?}"
        );
    }
}

#[test]
fn a_session_is_watched_to_its_end_after_its_client_is_freed() {
    let sim = Sim::start();
    let client = Client::new(&sim.config_json(json!({}))).unwrap();
    let session = client.create(&order()).unwrap();
    session.poll().unwrap();
    let heard = Heard::default();
    watch(&session, &heard);
    drop(client);
    sim.act(&session.id(), "approve", None);
    assert!(heard.wait_for(KPOS_STATUS_COMPLETED));
    assert_eq!(
        heard.heard(),
        [KPOS_STATUS_DISTRIBUTED, KPOS_STATUS_COMPLETED]
    );
}

#[test]
fn watching_needs_a_live_session_and_no_userdata_without_a_listener() {
    let sim = Sim::start();
    let client = sim.client();
    let session = client.create(&order()).unwrap();
    let mut flag = 0u8;
    let code = unsafe { kpos_session_watch(session.0, None, &mut flag as *mut u8 as *mut c_void) };
    assert_eq!(code, klarna_pos::ffi::error::KPOS_E_INVALID_ARGUMENT);
    let code = unsafe { kpos_session_watch(std::ptr::null_mut(), None, std::ptr::null_mut()) };
    assert_eq!(code, klarna_pos::ffi::error::KPOS_E_INVALID_ARGUMENT);
}

#[test]
fn expiry_and_failure_are_final_calls_made_once() {
    let sim = Sim::start();
    let client = sim.client();
    for (action, last) in [
        ("expire", KPOS_STATUS_EXPIRED),
        ("fail", KPOS_STATUS_FAILED),
        ("cancel", KPOS_STATUS_CANCELED),
    ] {
        let session = client.create(&order()).unwrap();
        session.poll().unwrap();
        let heard = Heard::default();
        watch(&session, &heard);
        assert!(heard.wait_for(KPOS_STATUS_DISTRIBUTED));
        sim.act(&session.id(), action, None);
        assert!(heard.wait_for(last), "{action}");
        // Nothing follows the final call, whatever the till does next.
        assert_eq!(session.poll().unwrap(), last);
        drain_listener_queue(&client);
        assert_eq!(heard.heard(), [KPOS_STATUS_DISTRIBUTED, last], "{action}");
    }
}
