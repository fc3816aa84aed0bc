//! HTTPS end to end: the simulator serves TLS with a certificate of the test CA
//! (tests/data/tls); the library trusts that CA only when `ca_file` names it, refuses a
//! certificate for another host name, and refuses plain http to a non-loopback host unless
//! `allow_insecure_http` is given.

mod common;

use common::*;
use klarna_pos::ffi::error::*;
use klarna_pos::ffi::session::*;
use serde_json::json;

fn ca_file() -> String {
    tls_dir().join("ca.pem").to_string_lossy().into_owned()
}

#[test]
fn a_payment_over_https_trusting_the_test_ca_through_ca_file() {
    let sim = Sim::start_tls("localhost", &[]);
    assert!(sim.url.starts_with("https://localhost:"), "{}", sim.url);
    let client = Client::new(&sim.config_json(json!({"ca_file": ca_file()}))).unwrap();
    let s = client.create(&order()).unwrap();
    assert!(s.result_url().starts_with("https://localhost:"));
    assert_eq!(s.poll().unwrap(), KPOS_STATUS_DISTRIBUTED);
    sim.act(&s.id(), "approve", None);
    assert_eq!(s.wait(10_000).unwrap(), KPOS_STATUS_COMPLETED);
    assert!(s.order_id().is_some());
    report("tls", "https payment with ca_file = test CA: COMPLETED");
}

#[test]
fn without_ca_file_the_test_certificate_is_untrusted() {
    let sim = Sim::start_tls("localhost", &[]);
    let client = sim.client();
    let failure = client.create(&order()).unwrap_err();
    assert_eq!(failure.code, KPOS_E_TLS, "{}", failure.detail);
    assert!(!failure.detail["message"].as_str().unwrap().is_empty());
    assert_eq!(sim.stat("create_requests"), 0, "nothing reached the server");
    report(
        "tls",
        &format!(
            "https without ca_file: {} ({})",
            failure.detail["name"], failure.detail["message"]
        ),
    );
}

#[test]
fn a_certificate_for_another_host_name_is_refused() {
    let sim = Sim::start_tls("wrong-name", &[]);
    let client = Client::new(&sim.config_json(json!({"ca_file": ca_file()}))).unwrap();
    let failure = client.create(&order()).unwrap_err();
    assert_eq!(failure.code, KPOS_E_TLS, "{}", failure.detail);
    // (The simulator's counters cannot be read here: its control calls would meet the same
    // certificate.)
    report(
        "tls",
        &format!(
            "https to localhost with a certificate for shop.example: {} ({})",
            failure.detail["name"], failure.detail["message"]
        ),
    );
}

#[test]
fn an_ip_address_the_certificate_does_not_name_is_refused() {
    let sim = Sim::start_tls("localhost", &[]);
    let by_ip = sim.url.replace("localhost", "127.0.0.1");
    let client =
        Client::new(&sim.config_json(json!({"api_url": by_ip, "ca_file": ca_file()}))).unwrap();
    let failure = client.create(&order()).unwrap_err();
    assert_eq!(failure.code, KPOS_E_TLS, "{}", failure.detail);
    assert_eq!(sim.stat("create_requests"), 0, "nothing reached the server");
    report(
        "tls",
        &format!(
            "https to 127.0.0.1 with a certificate for localhost: {}",
            failure.detail["name"]
        ),
    );
}

#[test]
fn a_status_url_answered_over_https_cannot_be_downgraded_to_plain_http_elsewhere() {
    let sim = Sim::start_tls("localhost", &[]);
    let client = Client::new(&sim.config_json(json!({"ca_file": ca_file()}))).unwrap();
    let failure = client
        .resume("id-1", "http://shop.example/instore/v1/distributions/id-1")
        .unwrap_err();
    assert_eq!(failure.code, KPOS_E_INVALID_ARGUMENT);
    assert!(failure.detail["message"]
        .as_str()
        .unwrap()
        .contains("loopback"));
}

#[test]
fn plain_http_to_a_remote_host_is_refused_unless_allowed() {
    let refused = Client::new(
        &json!({"api_url": "http://klarna.invalid", "username": USER, "password": PASSWORD})
            .to_string(),
    )
    .unwrap_err();
    assert_eq!(refused.code, KPOS_E_INVALID_ARGUMENT);
    assert_eq!(refused.detail["field"], "api_url");

    // Allowed explicitly, the client is made and really tries plain http: the name does not
    // resolve, so the create fails in the network, not in the configuration.
    let allowed = Client::new(
        &json!({"api_url": "http://klarna.invalid", "username": USER, "password": PASSWORD,
                "allow_insecure_http": true, "connect_timeout_ms": 2000,
                "request_timeout_ms": 3000})
        .to_string(),
    )
    .unwrap();
    let failure = allowed.create(&order()).unwrap_err();
    assert!(
        [KPOS_E_NETWORK, KPOS_E_TIMEOUT].contains(&failure.code),
        "{}",
        failure.detail
    );
    report(
        "tls",
        &format!(
            "http://klarna.invalid: refused by config ({}); with allow_insecure_http: {}",
            refused.detail["name"], failure.detail["name"]
        ),
    );
}

#[test]
fn faults_behind_tls_give_the_same_codes() {
    let sim = Sim::start_tls("localhost", &[]);
    let client =
        Client::new(&sim.config_json(json!({"ca_file": ca_file(), "max_retries": 0}))).unwrap();
    let s = client.create(&order()).unwrap();
    for (mode, code) in [
        ("reset", KPOS_E_NETWORK),
        ("status_503", KPOS_E_UNKNOWN),
        ("malformed_json", KPOS_E_PROTOCOL),
    ] {
        sim.fault(json!({"mode": mode, "path": "/instore/"}));
        let failure = s.poll().unwrap_err();
        assert_eq!(failure.code, code, "{mode}: {}", failure.detail);
    }
    assert_eq!(s.poll().unwrap(), KPOS_STATUS_DISTRIBUTED);
}
