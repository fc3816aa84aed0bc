//! End-to-end tests: spawn the simulator binary and talk raw HTTP/1.1 to it.

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

const AUTH: &str = "Basic dGVzdF91c2VyOnRlc3RfcGFzc3dvcmQ="; // test_user:test_password

struct Sim {
    child: Child,
    host: String,
}

impl Sim {
    fn start(args: &[&str]) -> Sim {
        let mut child = Command::new(env!("CARGO_BIN_EXE_klarna-pos-sim"))
            .arg("--exit-on-stdin-eof")
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn simulator");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let host = line
            .trim_end()
            .strip_prefix("listening on http://")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_string();
        Sim { child, host }
    }

    fn base(&self) -> String {
        format!("http://{}", self.host)
    }

    fn connect(&self) -> Conn {
        let stream = TcpStream::connect(&self.host).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        Conn {
            reader: BufReader::new(stream.try_clone().unwrap()),
            stream,
            host: self.host.clone(),
        }
    }

    /// One request on its own connection.
    fn call(&self, method: &str, target: &str, auth: Option<&str>, body: Option<&str>) -> Resp {
        self.connect().call(method, target, auth, body, true)
    }

    fn api(&self, method: &str, target: &str, body: Option<&str>) -> Resp {
        self.call(method, target, Some(AUTH), body)
    }

    fn control(&self, method: &str, path: &str, body: Option<Value>) -> Resp {
        let body = body.map(|b| b.to_string());
        self.call(method, path, None, body.as_deref())
    }

    fn stats(&self) -> Value {
        self.control("GET", "/_sim/stats", None).json()
    }

    fn create(&self, order: &Value) -> (String, String) {
        let r = self.api("POST", "/payments/v1/sessions", Some(&order.to_string()));
        assert_eq!(r.status, 200, "{}", r.text());
        let v = r.json();
        let result_url = v["distribution"]["result_url"].as_str().unwrap();
        (
            v["session_id"].as_str().unwrap().to_string(),
            result_url.strip_prefix(&self.base()).unwrap().to_string(),
        )
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Conn {
    stream: TcpStream,
    reader: BufReader<TcpStream>,
    host: String,
}

#[derive(Debug)]
struct Resp {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Resp {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.text()))
    }

    fn correlation_id(&self) -> &str {
        self.header("Klarna-Correlation-Id")
            .expect("correlation id header")
    }
}

impl Conn {
    fn send_raw(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).unwrap();
    }

    fn call(
        &mut self,
        method: &str,
        target: &str,
        auth: Option<&str>,
        body: Option<&str>,
        close: bool,
    ) -> Resp {
        let mut req = format!(
            "{method} {target} HTTP/1.1\r\nHost: {}\r\nUser-Agent: SimTest/1.0\r\n",
            self.host
        );
        if let Some(a) = auth {
            req.push_str(&format!("Authorization: {a}\r\n"));
        }
        if let Some(b) = body {
            req.push_str(&format!(
                "Content-Type: application/json\r\nContent-Length: {}\r\n",
                b.len()
            ));
        }
        if close {
            req.push_str("Connection: close\r\n");
        }
        req.push_str("\r\n");
        req.push_str(body.unwrap_or(""));
        self.send_raw(req.as_bytes());
        self.read_response().expect("a response")
    }

    /// `None` when the connection ends (or is reset) before a response starts.
    fn read_response(&mut self) -> Option<Resp> {
        let mut line = String::new();
        match self.reader.read_line(&mut line) {
            Ok(0) => return None,
            Err(e) if e.kind() == ErrorKind::ConnectionReset => return None,
            Err(e) => panic!("{e}"),
            Ok(_) => {}
        }
        let status = line.split(' ').nth(1).unwrap().parse().unwrap();
        let mut headers = Vec::new();
        loop {
            let mut h = String::new();
            self.reader.read_line(&mut h).unwrap();
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            let (k, v) = h.split_once(':').unwrap();
            headers.push((k.to_string(), v.trim().to_string()));
        }
        let mut resp = Resp {
            status,
            headers,
            body: Vec::new(),
        };
        let len: usize = resp
            .header("Content-Length")
            .map_or(0, |v| v.parse().unwrap());
        resp.body = vec![0; len];
        self.reader.read_exact(&mut resp.body).unwrap();
        Some(resp)
    }

    /// True when the server has closed its side (EOF or reset, with no further bytes).
    fn at_eof(&mut self) -> bool {
        let mut buf = [0u8; 1];
        match self.reader.read(&mut buf) {
            Ok(0) => true,
            Err(e) => e.kind() == ErrorKind::ConnectionReset,
            Ok(_) => false,
        }
    }
}

fn order() -> Value {
    json!({
        "acquiring_channel": "in_store",
        "purchase_country": "SE",
        "purchase_currency": "SEK",
        "locale": "sv-SE",
        "order_amount": 12500,
        "order_tax_amount": 2500,
        "merchant_reference1": "receipt-0001",
        "merchant_reference2": "store042-till3",
        "distribution": {"method": "one_qr"},
        "order_lines": [
            {"type": "physical", "name": "Shoe", "quantity": 2, "unit_price": 6000,
             "tax_rate": 2500, "total_amount": 12000, "total_tax_amount": 2400},
            {"type": "physical", "name": "Laces", "quantity": 1, "unit_price": 500,
             "tax_rate": 2500, "total_amount": 500, "total_tax_amount": 100}
        ]
    })
}

fn expected_status(sim: &Sim, id: &str, status: &str, got: &Value) -> Value {
    let expires = got["expires_at"].as_str().unwrap();
    assert_eq!(expires.len(), 20, "{expires}");
    assert!(expires.ends_with('Z'));
    json!({
        "status": status,
        "session_id": id,
        "qr_code": format!("{}/qr/{id}.png", sim.base()),
        "payment_link": format!("{}/pay/{id}", sim.base()),
        "expires_at": expires,
    })
}

#[test]
fn create_poll_scan_approve() {
    let sim = Sim::start(&[]);
    // Odd spacing on purpose: the simulator must record the bytes exactly as sent.
    let body = order().to_string().replace(",\"locale\"", ",  \"locale\"");
    let r = sim.api("POST", "/payments/v1/sessions", Some(&body));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("Content-Type"), Some("application/json"));
    assert_eq!(r.correlation_id().len(), 36);
    let created = r.json();
    let id = created["session_id"].as_str().unwrap().to_string();
    assert_eq!(created.as_object().unwrap().len(), 4);
    assert!(!created["client_token"].as_str().unwrap().is_empty());
    assert_eq!(
        created["payment_method_categories"][0]["identifier"],
        "klarna"
    );
    let result_url = created["distribution"]["result_url"].as_str().unwrap();
    let prefix = format!("{}/instore/v1/distributions/{id}?dt=", sim.base());
    assert!(result_url.starts_with(&prefix), "{result_url}");
    let path = result_url.strip_prefix(&sim.base()).unwrap();

    let v = sim.api("GET", path, None).json();
    assert_eq!(v, expected_status(&sim, &id, "DISTRIBUTED", &v));

    let r = sim.control("POST", &format!("/_sim/sessions/{id}/scan"), None);
    assert_eq!(r.json(), json!({"session_id": id, "status": "ACCESSED"}));
    let v = sim.api("GET", path, None).json();
    assert_eq!(v, expected_status(&sim, &id, "ACCESSED", &v));

    let r = sim.control(
        "POST",
        &format!("/_sim/sessions/{id}/approve"),
        Some(json!({"order_id": "order-1"})),
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["order_id"], "order-1");
    let v = sim.api("GET", path, None).json();
    let mut expected = expected_status(&sim, &id, "COMPLETED", &v);
    expected["order_id"] = json!("order-1");
    let reference = v["klarna_reference"].as_str().unwrap();
    assert!(!reference.is_empty());
    expected["klarna_reference"] = json!(reference);
    assert_eq!(v, expected);

    // Terminal means terminal.
    let r = sim.control("POST", &format!("/_sim/sessions/{id}/scan"), None);
    assert_eq!(r.status, 409);
    assert_eq!(r.json()["status"], "COMPLETED");

    let read = sim
        .api("GET", &format!("/payments/v1/sessions/{id}"), None)
        .json();
    assert_eq!(read["status"], "complete");
    assert_eq!(read["order_amount"], 12500);
    assert_eq!(read["order_lines"], order()["order_lines"]);

    let rec = sim
        .control("GET", &format!("/_sim/sessions/{id}"), None)
        .json();
    assert_eq!(rec["request_body"], body);
    assert_eq!(rec["user_agent"], "SimTest/1.0");
    assert_eq!(rec["content_type"], "application/json");
    assert!(rec["headers"].get("authorization").is_none());
    assert_eq!(rec["merchant_reference2"], "store042-till3");
    assert_eq!(rec["polls"], 3);
    assert_eq!(rec["order_id"], "order-1");
    assert_eq!(
        rec["history"],
        json!(["DISTRIBUTED", "ACCESSED", "COMPLETED"])
    );

    let list = sim.control("GET", "/_sim/sessions", None).json();
    assert_eq!(
        list,
        json!([{"session_id": id, "status": "COMPLETED", "approved_at_ms": rec["approved_at_ms"]}])
    );
    assert!(rec["approved_at_ms"].as_u64().is_some());

    let png = sim.call("GET", &format!("/qr/{id}.png"), None, None);
    assert_eq!(png.status, 200);
    assert_eq!(png.header("Content-Type"), Some("image/png"));
    assert_eq!(&png.body[..8], b"\x89PNG\r\n\x1a\n");

    let stats = sim.stats();
    assert_eq!(stats["create_requests"], 1);
    assert_eq!(stats["sessions_created"], 1);
    assert_eq!(stats["polls"], 3);
    assert_eq!(stats["requests"], 6);
}

#[test]
fn validation_errors_name_the_field() {
    let sim = Sim::start(&[]);
    let mut bad = order();
    bad["order_lines"][0]["total_tax_amount"] = json!(2300);
    let r = sim.api("POST", "/payments/v1/sessions", Some(&bad.to_string()));
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json(),
        json!({
            "error_code": "BAD_VALUE",
            "error_messages": ["Bad value: order_lines[0].total_tax_amount"],
            "correlation_id": r.correlation_id(),
        })
    );

    let mut bad = order();
    bad["purchase_currency"] = json!("EUR");
    let r = sim.api("POST", "/payments/v1/sessions", Some(&bad.to_string()));
    assert_eq!(
        r.json()["error_messages"],
        json!(["Bad value: purchase_currency"])
    );

    let r = sim.api(
        "POST",
        "/payments/v1/sessions",
        Some("{\"purchase_country\":"),
    );
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error_messages"], json!(["Invalid JSON"]));

    let stats = sim.stats();
    assert_eq!(stats["create_requests"], 3);
    assert_eq!(stats["sessions_created"], 0);
}

#[test]
fn wrong_credentials_get_html_401() {
    let sim = Sim::start(&["--username", "u", "--password", "p"]);
    for auth in [None, Some(AUTH), Some("Bearer x")] {
        let r = sim.call(
            "POST",
            "/payments/v1/sessions",
            auth,
            Some(&order().to_string()),
        );
        assert_eq!(r.status, 401);
        assert!(r.header("Content-Type").unwrap().starts_with("text/html"));
        assert!(r.text().contains("401 Unauthorized"));
        assert!(r.header("Klarna-Correlation-Id").is_some());
    }
    // base64("u:p")
    let r = sim.call(
        "POST",
        "/payments/v1/sessions",
        Some("basic dTpw"),
        Some(&order().to_string()),
    );
    assert_eq!(r.status, 200);
    assert_eq!(sim.stats()["sessions_created"], 1);
}

#[test]
fn delete_semantics() {
    let sim = Sim::start(&[]);
    let (a, a_url) = sim.create(&order());
    let r = sim.api("DELETE", &format!("/payments/v1/sessions/{a}"), None);
    assert_eq!(r.status, 204);
    assert!(r.body.is_empty());
    assert_eq!(sim.api("GET", &a_url, None).json()["status"], "CANCELED");
    // Idempotent.
    assert_eq!(
        sim.api("DELETE", &format!("/payments/v1/sessions/{a}"), None)
            .status,
        204
    );

    let (b, _) = sim.create(&order());
    sim.control("POST", &format!("/_sim/sessions/{b}/approve"), None);
    let r = sim.api("DELETE", &format!("/payments/v1/sessions/{b}"), None);
    assert_eq!(r.status, 403);
    assert_eq!(r.json()["error_code"], "INVALID_OPERATION");
    assert_eq!(
        r.json()["error_messages"],
        json!(["Session already completed"])
    );
    assert_eq!(r.json()["correlation_id"], r.correlation_id());

    let (c, c_url) = sim.create(&order());
    sim.control(
        "POST",
        &format!("/_sim/sessions/{c}/fail"),
        Some(json!({"code": "PERMISSION_DENIED", "message": "nope"})),
    );
    assert_eq!(
        sim.api("DELETE", &format!("/payments/v1/sessions/{c}"), None)
            .status,
        204
    );
    let v = sim.api("GET", &c_url, None).json();
    assert_eq!(v["status"], "FAILED");
    assert_eq!(
        v["error"],
        json!({"code": "PERMISSION_DENIED", "message": "nope"})
    );

    let r = sim.api("DELETE", "/payments/v1/sessions/no-such-session", None);
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["error_code"], "NOT_FOUND");
    assert_eq!(sim.stats()["deletes"], 5);
    assert_eq!(
        sim.control("GET", &format!("/_sim/sessions/{a}"), None)
            .json()["deletes"],
        2
    );
}

#[test]
fn result_url_must_be_used_as_returned() {
    let sim = Sim::start(&[]);
    let (id, url) = sim.create(&order());
    for wrong in [
        format!("/instore/v1/distributions/{id}"),
        format!("/instore/v1/distributions/{id}?dt=guess"),
    ] {
        let r = sim.api("GET", &wrong, None);
        assert_eq!(r.status, 404);
        assert_eq!(r.json()["error_code"], "NOT_FOUND");
    }
    let r = sim.api("POST", &url, Some("{}"));
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error_messages"], json!(["Use GET"]));
    assert_eq!(sim.api("GET", &url, None).status, 200);
}

#[test]
fn injected_faults() {
    let sim = Sim::start(&[]);
    let r = sim.control(
        "POST",
        "/_sim/faults",
        Some(json!({"mode": "status_503", "path": "/payments/v1/sessions", "method": "POST"})),
    );
    assert_eq!(r.status, 200);
    let r = sim.api("POST", "/payments/v1/sessions", Some(&order().to_string()));
    assert_eq!(r.status, 503);
    assert_eq!(r.json()["error_code"], "TEMPORARILY_UNAVAILABLE");
    assert_eq!(r.json()["correlation_id"], r.correlation_id());
    assert_eq!(sim.stats()["sessions_created"], 0);

    let (id, url) = sim.create(&order());

    sim.control(
        "POST",
        "/_sim/faults",
        Some(json!({"mode": "rate_limit", "retry_after": 7})),
    );
    let r = sim.api("GET", &url, None);
    assert_eq!(r.status, 429);
    assert_eq!(r.header("Retry-After"), Some("7"));
    assert_eq!(r.json()["error_code"], "TOO_MANY_REQUESTS");

    sim.control(
        "POST",
        "/_sim/faults",
        Some(json!({"mode": "reset", "path": "/instore/"})),
    );
    let mut conn = sim.connect();
    conn.send_raw(
        format!("GET {url} HTTP/1.1\r\nHost: x\r\nAuthorization: {AUTH}\r\n\r\n").as_bytes(),
    );
    assert!(conn.read_response().is_none());

    sim.control(
        "POST",
        "/_sim/faults",
        Some(json!({"mode": "malformed_json", "count": 2})),
    );
    for _ in 0..2 {
        let r = sim.api("GET", &url, None);
        assert_eq!(
            (r.status, r.header("Content-Type")),
            (200, Some("application/json"))
        );
        assert!(serde_json::from_slice::<Value>(&r.body).is_err());
    }

    sim.control("POST", "/_sim/faults", Some(json!({"mode": "html_401"})));
    sim.control(
        "POST",
        "/_sim/faults",
        Some(json!({"mode": "slow_drip", "drip_ms": 0})),
    );
    assert_eq!(sim.api("GET", &url, None).status, 401);
    let v = sim.api("GET", &url, None).json();
    assert_eq!(v["status"], "DISTRIBUTED");
    assert_eq!(v["session_id"], id.as_str());

    let r = sim.control("GET", "/_sim/faults", None);
    assert_eq!(r.json(), json!({"faults": []}));
    sim.control(
        "POST",
        "/_sim/faults",
        Some(json!({"mode": "stall", "count": 5})),
    );
    let r = sim.control("DELETE", "/_sim/faults", None);
    assert_eq!(r.json()["cleared"], 1);
    assert_eq!(sim.api("GET", &url, None).status, 200);

    let stats = sim.stats();
    assert_eq!(stats["faults_triggered"], 7);
    assert_eq!(stats["create_requests"], 2);
}

#[test]
fn keep_alive_reuses_one_connection() {
    let sim = Sim::start(&[]);
    let mut conn = sim.connect();
    let r = conn.call(
        "POST",
        "/payments/v1/sessions",
        Some(AUTH),
        Some(&order().to_string()),
        false,
    );
    assert_eq!(r.status, 200);
    let url = r.json()["distribution"]["result_url"]
        .as_str()
        .unwrap()
        .to_string();
    let path = url.strip_prefix(&sim.base()).unwrap();
    let r = conn.call("GET", path, Some(AUTH), None, false);
    assert_eq!(r.json()["status"], "DISTRIBUTED");
    let stats = sim.stats();
    assert_eq!(
        (stats["connections"].as_u64(), stats["requests"].as_u64()),
        (Some(1), Some(2))
    );

    // The connection is still usable; `Connection: close` ends it.
    let r = conn.call("GET", path, Some(AUTH), None, true);
    assert_eq!(r.header("Connection"), Some("close"));
    assert!(conn.at_eof());
    let stats = sim.stats();
    assert_eq!(
        (stats["connections"].as_u64(), stats["requests"].as_u64()),
        (Some(1), Some(3))
    );
}

#[test]
fn automatic_customer_and_client_tolerance_knobs() {
    let sim = Sim::start(&["--customer", "auto", "--auto-delay-ms", "0"]);
    let (_, url) = sim.create(&order());
    let v = sim.api("GET", &url, None).json();
    assert_eq!(v["status"], "COMPLETED");
    assert!(v["order_id"].as_str().is_some_and(|s| s.len() == 36));

    let r = sim.control(
        "POST",
        "/_sim/config",
        Some(json!({"customer": "manual", "cancel_spelling": "CANCELLED", "qr_field": "qr"})),
    );
    assert_eq!(r.json()["customer"], "manual");
    let (id, url) = sim.create(&order());
    let r = sim.control(
        "POST",
        &format!("/_sim/sessions/{id}/force"),
        Some(json!({"status": "WAITING"})),
    );
    assert_eq!(r.json()["status"], "WAITING");
    let v = sim.api("GET", &url, None).json();
    assert_eq!(v["status"], "WAITING");
    assert!(v.get("qr_code").is_none());
    assert_eq!(v["qr"], format!("{}/qr/{id}.png", sim.base()));
    assert_eq!(
        sim.api("DELETE", &format!("/payments/v1/sessions/{id}"), None)
            .status,
        204
    );
    assert_eq!(sim.api("GET", &url, None).json()["status"], "CANCELLED");

    let r = sim.control("POST", "/_sim/config", Some(json!({"customer": "robot"})));
    assert_eq!(r.status, 400);
}

#[test]
fn http_framing_edge_cases() {
    let sim = Sim::start(&[]);
    // Chunked request body, with Expect: 100-continue.
    let body = order().to_string();
    let (a, b) = body.split_at(body.len() / 2);
    let mut conn = sim.connect();
    conn.send_raw(
        format!(
            "POST /payments/v1/sessions HTTP/1.1\r\nHost: {}\r\nAuthorization: {AUTH}\r\n\
             Transfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n\
             {:x}\r\n{a}\r\n{:x}\r\n{b}\r\n0\r\n\r\n",
            sim.host,
            a.len(),
            b.len()
        )
        .as_bytes(),
    );
    assert_eq!(conn.read_response().unwrap().status, 100);
    let r = conn.read_response().unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    let id = r.json()["session_id"].as_str().unwrap().to_string();
    let rec = sim
        .control("GET", &format!("/_sim/sessions/{id}"), None)
        .json();
    assert_eq!(rec["request_body"], body);

    // Over 1 MB: 413 without reading the body, then the connection closes.
    let mut conn = sim.connect();
    conn.send_raw(
        format!(
            "POST /payments/v1/sessions HTTP/1.1\r\nHost: x\r\nAuthorization: {AUTH}\r\nContent-Length: 2000000\r\n\r\n"
        )
        .as_bytes(),
    );
    let r = conn.read_response().unwrap();
    assert_eq!(r.status, 413);
    assert!(conn.at_eof());

    // Garbage: 400 and close.
    let mut conn = sim.connect();
    conn.send_raw(b"HELLO THERE\r\n\r\n");
    let r = conn.read_response().unwrap();
    assert_eq!(r.status, 400);
    assert!(r.header("Klarna-Correlation-Id").is_some());
    assert!(conn.at_eof());

    // The simulator is still fine.
    assert_eq!(sim.stats()["create_requests"], 2);
}

#[test]
fn webhook_delivers_status_changes() {
    let receiver = TcpListener::bind("127.0.0.1:0").unwrap();
    let hook = format!("http://{}/hook?secret=s3", receiver.local_addr().unwrap());
    let sim = Sim::start(&[]);
    let mut o = order();
    o["distribution"]["callback_urls"] = json!({"status_update": hook});
    let (id, _) = sim.create(&o);

    let next_delivery = || -> (String, Value) {
        receiver.set_nonblocking(true).unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        let stream = loop {
            match receiver.accept() {
                Ok((s, _)) => break s,
                Err(e) if e.kind() == ErrorKind::WouldBlock && Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err(e) => panic!("no webhook: {e}"),
            }
        };
        stream.set_nonblocking(false).unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        let mut len = 0;
        loop {
            let mut h = String::new();
            reader.read_line(&mut h).unwrap();
            if h.trim_end().is_empty() {
                break;
            }
            if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
                len = v.trim().parse().unwrap();
            }
        }
        let mut body = vec![0; len];
        reader.read_exact(&mut body).unwrap();
        (&stream)
            .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            .unwrap();
        (line, serde_json::from_slice(&body).unwrap())
    };

    let (line, v) = next_delivery();
    assert_eq!(line, "POST /hook?secret=s3 HTTP/1.1\r\n");
    assert_eq!(v["status"], "DISTRIBUTED");
    assert_eq!(v["session_id"], id.as_str());
    sim.control("POST", &format!("/_sim/sessions/{id}/scan"), None);
    assert_eq!(next_delivery().1["status"], "ACCESSED");
    sim.control("POST", &format!("/_sim/sessions/{id}/approve"), None);
    let (_, v) = next_delivery();
    assert_eq!(v["status"], "COMPLETED");
    assert!(v["order_id"].is_string());
}

/// Accepts one webhook call on `receiver`, answers it with `status`, and returns its body.
fn answer_one_webhook(receiver: &TcpListener, status: &str) -> Value {
    let (stream, _) = receiver.accept().unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut len = 0;
    loop {
        let mut h = String::new();
        reader.read_line(&mut h).unwrap();
        if h.trim_end().is_empty() {
            break;
        }
        if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
            len = v.trim().parse().unwrap();
        }
    }
    let mut body = vec![0; len];
    reader.read_exact(&mut body).unwrap();
    (&stream)
        .write_all(
            format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                .as_bytes(),
        )
        .unwrap();
    serde_json::from_slice(&body).unwrap()
}

#[test]
fn a_refused_webhook_is_delivered_again_and_replays_come_newest_first() {
    let receiver = TcpListener::bind("127.0.0.1:0").unwrap();
    let hook = format!("http://{}/hook", receiver.local_addr().unwrap());
    let sim = Sim::start(&[]);
    let mut o = order();
    o["distribution"]["callback_urls"] = json!({"status_update": hook});
    let (id, _) = sim.create(&o);

    // The receiver is busy once: Klarna-like, the same payload comes again.
    assert_eq!(
        answer_one_webhook(&receiver, "503 Service Unavailable")["status"],
        "DISTRIBUTED"
    );
    assert_eq!(
        answer_one_webhook(&receiver, "200 OK")["status"],
        "DISTRIBUTED"
    );
    sim.control("POST", &format!("/_sim/sessions/{id}/scan"), None);
    assert_eq!(
        answer_one_webhook(&receiver, "200 OK")["status"],
        "ACCESSED"
    );
    let record = sim
        .control("GET", &format!("/_sim/sessions/{id}"), None)
        .json();
    assert_eq!(record["webhooks"][0]["attempts"], 2);
    assert_eq!(record["webhooks"][0]["delivered"], true);

    let replay = sim.control("POST", &format!("/_sim/sessions/{id}/webhook_replay"), None);
    assert_eq!(replay.json()["queued"], 2);
    assert_eq!(
        answer_one_webhook(&receiver, "200 OK")["status"],
        "ACCESSED"
    );
    assert_eq!(
        answer_one_webhook(&receiver, "200 OK")["status"],
        "DISTRIBUTED"
    );
}

#[test]
fn short_codes_are_issued_fresh_and_work_once() {
    let sim = Sim::start(&[]);
    let issued = sim
        .control("POST", "/_sim/short_codes", Some(json!({"digits": 8})))
        .json();
    let code = issued["short_code"].as_str().unwrap().to_string();
    assert_eq!(code.len(), 8);
    let mut o = order();
    o["distribution"]["short_code"] = json!(code);
    let (first, _) = sim.create(&o);
    let (second, _) = sim.create(&o);
    let view = |id: &str| {
        sim.control("GET", &format!("/_sim/sessions/{id}"), None)
            .json()
    };
    assert_eq!(view(&first)["status"], "DISTRIBUTED");
    assert_eq!(view(&second)["status"], "FAILED");
    assert_eq!(view(&second)["error"]["code"], "BAD_REQUEST");
    let too_short = sim.control("POST", "/_sim/short_codes", Some(json!({"digits": 1})));
    assert_eq!(too_short.status, 400);
}

/// Completes a session and returns the order id it placed.
fn placed_order(sim: &Sim) -> String {
    let (id, _) = sim.create(&order());
    let r = sim.control("POST", &format!("/_sim/sessions/{id}/approve"), None);
    r.json()["order_id"].as_str().unwrap().to_string()
}

fn om_post(sim: &Sim, path: &str, key: Option<&str>, body: Option<&str>) -> Resp {
    let mut conn = sim.connect();
    let mut req = format!(
        "POST {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: {AUTH}\r\nConnection: close\r\n",
        sim.host
    );
    if let Some(k) = key {
        req.push_str(&format!("Klarna-Idempotency-Key: {k}\r\n"));
    }
    let body = body.unwrap_or("");
    req.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    conn.send_raw(req.as_bytes());
    conn.read_response().expect("a response")
}

#[test]
fn a_completed_session_places_an_order_with_its_amount_and_lines() {
    let sim = Sim::start(&[]);
    let order_id = placed_order(&sim);
    let o = sim
        .api(
            "GET",
            &format!("/ordermanagement/v1/orders/{order_id}"),
            None,
        )
        .json();
    assert_eq!(o["status"], "AUTHORIZED");
    assert_eq!(o["order_amount"], 12500);
    assert_eq!(o["purchase_currency"], "SEK");
    assert_eq!(o["remaining_authorized_amount"], 12500);
    assert_eq!(o["order_lines"], order()["order_lines"]);
    assert_eq!(
        (o["captured_amount"].as_i64(), o["refunded_amount"].as_i64()),
        (Some(0), Some(0))
    );

    let list = sim.control("GET", "/_sim/orders", None).json();
    assert_eq!(list[0]["order_id"], order_id.as_str());
    let r = sim.api("GET", "/ordermanagement/v1/orders/nope", None);
    assert_eq!(
        (r.status, r.json()["error_code"].as_str()),
        (404, Some("NO_SUCH_ORDER"))
    );

    sim.control("POST", "/_sim/config", Some(json!({"auto_capture": true})));
    let captured = placed_order(&sim);
    let o = sim
        .api(
            "GET",
            &format!("/ordermanagement/v1/orders/{captured}"),
            None,
        )
        .json();
    assert_eq!(
        (o["status"].as_str(), o["captured_amount"].as_i64()),
        (Some("CAPTURED"), Some(12500))
    );
}

#[test]
fn the_ledger_keeps_klarnas_invariants() {
    let sim = Sim::start(&[]);
    let id = placed_order(&sim);
    let base = format!("/ordermanagement/v1/orders/{id}");
    let r = om_post(
        &sim,
        &format!("{base}/refunds"),
        None,
        Some(r#"{"refunded_amount":1}"#),
    );
    assert_eq!(
        (r.status, r.json()["error_code"].as_str()),
        (403, Some("REFUND_NOT_ALLOWED"))
    );
    let r = om_post(
        &sim,
        &format!("{base}/captures"),
        None,
        Some(r#"{"captured_amount":12501}"#),
    );
    assert_eq!(
        (r.status, r.json()["error_code"].as_str()),
        (403, Some("CAPTURE_NOT_ALLOWED"))
    );

    let r = om_post(
        &sim,
        &format!("{base}/captures"),
        None,
        Some(r#"{"captured_amount":10000}"#),
    );
    assert_eq!(r.status, 201);
    let capture_id = r.header("Capture-Id").unwrap().to_string();
    assert_eq!(
        r.header("Location").unwrap(),
        format!("{}{base}/captures/{capture_id}", sim.base())
    );
    let o = sim.api("GET", &base, None).json();
    assert_eq!(
        (
            o["status"].as_str(),
            o["remaining_authorized_amount"].as_i64()
        ),
        (Some("PART_CAPTURED"), Some(2500))
    );

    let r = om_post(&sim, &format!("{base}/cancel"), None, None);
    assert_eq!(
        (r.status, r.json()["error_code"].as_str()),
        (403, Some("CANCEL_NOT_ALLOWED"))
    );
    let r = om_post(
        &sim,
        &format!("{base}/refunds"),
        None,
        Some(r#"{"refunded_amount":10001}"#),
    );
    assert_eq!(r.status, 403);
    let r = om_post(
        &sim,
        &format!("{base}/refunds"),
        None,
        Some(r#"{"refunded_amount":4000}"#),
    );
    assert_eq!(r.status, 201);
    assert!(r.header("Refund-Id").is_some());
    let r = om_post(
        &sim,
        &format!("{base}/release-remaining-authorization"),
        None,
        None,
    );
    assert_eq!(r.status, 204);
    let o = sim.api("GET", &base, None).json();
    assert_eq!(o["status"], "CAPTURED");
    assert_eq!(
        (
            o["refunded_amount"].as_i64(),
            o["remaining_authorized_amount"].as_i64()
        ),
        (Some(4000), Some(0))
    );

    let other = placed_order(&sim);
    let r = om_post(
        &sim,
        &format!("/ordermanagement/v1/orders/{other}/cancel"),
        None,
        None,
    );
    assert_eq!(r.status, 204);
    let o = sim
        .api("GET", &format!("/ordermanagement/v1/orders/{other}"), None)
        .json();
    assert_eq!(o["status"], "CANCELLED");
}

#[test]
fn a_repeated_idempotency_key_replays_the_first_answer_and_acts_once() {
    let sim = Sim::start(&[]);
    sim.control("POST", "/_sim/config", Some(json!({"auto_capture": true})));
    let id = placed_order(&sim);
    let path = format!("/ordermanagement/v1/orders/{id}/refunds");
    let body = r#"{"refunded_amount":500}"#;
    let first = om_post(&sim, &path, Some("key-1"), Some(body));
    let second = om_post(&sim, &path, Some("key-1"), Some(body));
    assert_eq!(first.status, 201);
    assert_eq!((first.status, &first.body), (second.status, &second.body));
    assert_eq!(first.header("Refund-Id"), second.header("Refund-Id"));
    assert_eq!(first.header("Location"), second.header("Location"));
    let other = om_post(&sim, &path, Some("key-2"), Some(body));
    assert_ne!(other.header("Refund-Id"), first.header("Refund-Id"));

    let ledger = sim
        .control("GET", &format!("/_sim/orders/{id}"), None)
        .json();
    assert_eq!(ledger["refunds"].as_array().unwrap().len(), 2);
    assert_eq!(
        ledger["idempotency_keys"]["refunds"],
        json!(["key-1", "key-2"])
    );
    let replayed: Vec<bool> = ledger["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["replayed"].as_bool().unwrap())
        .collect();
    assert_eq!(replayed, [false, true, false]);
}

#[test]
fn lose_answer_performs_the_request_then_closes_without_a_word() {
    let sim = Sim::start(&[]);
    sim.control("POST", "/_sim/config", Some(json!({"auto_capture": true})));
    let id = placed_order(&sim);
    sim.control(
        "POST",
        "/_sim/faults",
        Some(json!({"mode": "lose_answer", "path": "/ordermanagement/", "method": "POST"})),
    );
    let mut conn = sim.connect();
    let body = r#"{"refunded_amount":700}"#;
    conn.send_raw(
        format!(
            "POST /ordermanagement/v1/orders/{id}/refunds HTTP/1.1\r\nHost: x\r\nAuthorization: {AUTH}\r\n\
             Klarna-Idempotency-Key: k\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .as_bytes(),
    );
    assert!(conn.read_response().is_none());
    let ledger = sim
        .control("GET", &format!("/_sim/orders/{id}"), None)
        .json();
    assert_eq!(ledger["refunded_amount"], 700);
    // The key was remembered: the repeat is answered, not executed again.
    let r = om_post(
        &sim,
        &format!("/ordermanagement/v1/orders/{id}/refunds"),
        Some("k"),
        Some(body),
    );
    assert_eq!(r.status, 201);
    let ledger = sim
        .control("GET", &format!("/_sim/orders/{id}"), None)
        .json();
    assert_eq!(ledger["refunds"].as_array().unwrap().len(), 1);
}

#[test]
fn rate_limits_count_per_merchant_over_all_connections() {
    let sim = Sim::start(&["--rate-limits", "production", "--merchant", "shop2:pw2"]);
    let other_auth = "Basic c2hvcDI6cHcy"; // shop2:pw2
    let body = order().to_string();
    // Two connections of the same merchant share its budget of 40 creations per second.
    let (mut a, mut b) = (sim.connect(), sim.connect());
    let mut answers = Vec::new();
    for i in 0..41 {
        let conn = if i % 2 == 0 { &mut a } else { &mut b };
        answers.push(conn.call(
            "POST",
            "/payments/v1/sessions",
            Some(AUTH),
            Some(&body),
            false,
        ));
    }
    let first_url = answers[0].json()["distribution"]["result_url"]
        .as_str()
        .unwrap()
        .strip_prefix(&sim.base())
        .unwrap()
        .to_string();
    let statuses: Vec<u16> = answers.iter().map(|r| r.status).collect();
    assert_eq!(statuses[..40], [200; 40]);
    let refused = &answers[40];
    assert_eq!(refused.status, 429, "{}", refused.text());
    assert_eq!(refused.header("Retry-After"), Some("1"));
    let error = refused.json();
    assert_eq!(error["error_code"], "TOO_MANY_REQUESTS");
    assert_eq!(error["error_messages"], json!(["Rate limit exceeded"]));
    assert_eq!(error["correlation_id"], refused.correlation_id());

    // Another merchant has a budget of its own; other requests have theirs.
    let r = sim.call(
        "POST",
        "/payments/v1/sessions",
        Some(other_auth),
        Some(&body),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(sim.api("GET", &first_url, None).status, 200);

    let stats = sim.stats();
    assert_eq!(stats["create_requests"], 42);
    assert_eq!(stats["sessions_created"], 41);
    assert_eq!(stats["rate_limited"], 1);
    assert_eq!(stats["rate_limited_creates"], 1);
    assert_eq!(
        sim.control("GET", "/_sim/config", None).json()["rate_limits"],
        "40/200"
    );

    // Once the Retry-After has passed, the merchant creates again.
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(
        sim.api("POST", "/payments/v1/sessions", Some(&body)).status,
        200
    );
}

#[test]
fn rate_limits_for_other_requests_and_off_by_default() {
    let sim = Sim::start(&[]);
    let (_, url) = sim.create(&order());
    let mut conn = sim.connect();
    for _ in 0..60 {
        assert_eq!(conn.call("GET", &url, Some(AUTH), None, false).status, 200);
    }
    assert_eq!(sim.stats()["rate_limited"], 0);
    assert_eq!(
        sim.control("GET", "/_sim/config", None).json()["rate_limits"],
        "off"
    );

    // Switched on at run time: 3 other requests per second (status reads, cancels, ...).
    let r = sim.control("POST", "/_sim/config", Some(json!({"rate_limits": "5/3"})));
    assert_eq!(r.json()["rate_limits"], "5/3", "{}", r.text());
    let statuses: Vec<u16> = (0..4)
        .map(|_| conn.call("GET", &url, Some(AUTH), None, false).status)
        .collect();
    assert_eq!(statuses, [200, 200, 200, 429]);
    // Creations are counted apart from them.
    assert_eq!(
        sim.api("POST", "/payments/v1/sessions", Some(&order().to_string()))
            .status,
        200
    );
    // Unauthenticated requests count for no merchant.
    assert_eq!(sim.call("GET", &url, None, None).status, 401);
    assert_eq!(sim.stats()["rate_limited"], 1);
    let r = sim.control("POST", "/_sim/config", Some(json!({"rate_limits": "fast"})));
    assert_eq!(r.status, 400);
}

#[test]
fn random_approval_delays_and_approval_times() {
    let sim = Sim::start(&[
        "--customer",
        "auto",
        "--auto-delay-ms",
        "0",
        "--auto-delay-max-ms",
        "0",
    ]);
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let (id, url) = sim.create(&order());
    assert_eq!(sim.api("GET", &url, None).json()["status"], "COMPLETED");
    let view = sim
        .control("GET", &format!("/_sim/sessions/{id}"), None)
        .json();
    let approved = view["approved_at_ms"].as_u64().unwrap();
    assert!(approved >= before, "{approved} < {before}");
    let list = sim.control("GET", "/_sim/sessions", None).json();
    assert_eq!(list[0]["approved_at_ms"], approved);

    // A customer who takes between one and two hours has not approved yet.
    let r = sim.control(
        "POST",
        "/_sim/config",
        Some(json!({"auto_delay_ms": 3_600_000, "auto_delay_max_ms": 7_200_000})),
    );
    assert_eq!(r.json()["auto_delay_max_ms"], 7_200_000);
    let (id, url) = sim.create(&order());
    assert_eq!(sim.api("GET", &url, None).json()["status"], "DISTRIBUTED");
    let view = sim
        .control("GET", &format!("/_sim/sessions/{id}"), None)
        .json();
    assert!(view["approved_at_ms"].is_null());

    // The clock starts at the first status read by default, at creation with auto_start.
    sim.control(
        "POST",
        "/_sim/config",
        Some(json!({"auto_delay_ms": 0, "auto_delay_max_ms": 0})),
    );
    let (id, _) = sim.create(&order());
    let view = sim
        .control("GET", &format!("/_sim/sessions/{id}"), None)
        .json();
    assert_eq!(view["status"], "DISTRIBUTED");
    let r = sim.control(
        "POST",
        "/_sim/config",
        Some(json!({"auto_start": "creation"})),
    );
    assert_eq!(r.json()["auto_start"], "creation");
    let (id, _) = sim.create(&order());
    let view = sim
        .control("GET", &format!("/_sim/sessions/{id}"), None)
        .json();
    assert_eq!(
        view["status"], "COMPLETED",
        "approved without a single status read"
    );
}
