//! Request routing: Klarna's in-store API surface (Basic auth) and the simulator's own
//! control endpoints under /_sim/ (no auth).

use std::cell::Cell;
use std::time::SystemTime;

use serde_json::{json, Map, Value};

use crate::faults::Rule;
use crate::http::{Request, Response};
use crate::orders;
use crate::png;
use crate::state::{self, is_terminal, Session, Sim, State};
use crate::util;
use crate::validate::validate_session;

/// What Klarna's edge answers for bad credentials: HTML, not Klarna JSON.
const HTML_401: &str = "<html><body><h1>401 Unauthorized</h1></body></html>";

/// Per-request context.
pub struct Ctx<'a> {
    pub sim: &'a Sim,
    pub correlation_id: &'a str,
    /// `http://host:port` as the client addressed us; used to build absolute URLs.
    pub base_url: String,
    /// A create request's body as parsed when it was received (`None` when it is not JSON);
    /// taken by the creation so that the body is parsed once.
    pub create_body: Cell<Option<Value>>,
}

/// Klarna's error shape: `{"error_code","error_messages","correlation_id"}`.
pub fn klarna_error(status: u16, code: &str, message: &str, correlation_id: &str) -> Response {
    Response::json(
        status,
        &json!({
            "error_code": code,
            "error_messages": [message],
            "correlation_id": correlation_id,
        }),
    )
}

/// Control endpoints report errors as `{"error": "..."}`.
fn sim_error(status: u16, message: &str) -> Response {
    Response::json(status, &json!({ "error": message }))
}

pub fn is_control(path: &str) -> bool {
    path == "/_sim" || path.starts_with("/_sim/")
}

/// Whether the request creates a session (`POST /payments/v1/sessions`).
pub fn is_create(method: &str, path: &str) -> bool {
    // The same test as `segments(path) == ["payments", "v1", "sessions"]`, without the list.
    method == "POST" && path.trim_start_matches('/') == "payments/v1/sessions"
}

fn segments(path: &str) -> Vec<&str> {
    path.trim_start_matches('/').split('/').collect()
}

/// Updates the per-route counters. Called for every request outside /_sim/ as soon as its
/// head is read, before authentication and faults, so that "received" means received.
pub fn count(st: &mut State, method: &str, path: &str) {
    match (method, segments(path).as_slice()) {
        ("POST", ["payments", "v1", "sessions"]) => st.stats.create_requests += 1,
        ("GET", ["instore", "v1", "distributions", id]) => {
            st.stats.polls += 1;
            if let Some(s) = st.sessions.get_mut(*id) {
                s.polls += 1;
            }
        }
        ("DELETE", ["payments", "v1", "sessions", id]) => {
            st.stats.deletes += 1;
            if let Some(s) = st.sessions.get_mut(*id) {
                s.deletes += 1;
            }
        }
        _ => {}
    }
}

pub fn handle(ctx: &Ctx, req: &Request) -> Response {
    let segs = segments(&req.path);
    match segs.as_slice() {
        ["_sim", rest @ ..] => control(ctx, req, rest),
        ["qr", file] => match file.strip_suffix(".png") {
            Some(id) => qr_image(ctx, req, id),
            None => not_found(ctx),
        },
        ["pay", id] => payment_page(ctx, req, id),
        _ => match merchant(ctx.sim, req) {
            None => {
                Response::html(401, HTML_401).header("WWW-Authenticate", "Basic realm=\"Klarna\"")
            }
            Some(merchant) => {
                let create = is_create(&req.method, &req.path);
                let admitted = ctx.sim.lock().admit(merchant, create);
                match admitted {
                    Ok(()) => klarna_api(ctx, req, &segs),
                    Err(retry_after) => rate_limited(ctx, retry_after),
                }
            }
        },
    }
}

/// Klarna's 429 beyond the merchant's limit, with `Retry-After` in whole seconds (at least 1).
fn rate_limited(ctx: &Ctx, retry_after: std::time::Duration) -> Response {
    let seconds = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
    klarna_error(
        429,
        "TOO_MANY_REQUESTS",
        "Rate limit exceeded",
        ctx.correlation_id,
    )
    .header("Retry-After", &seconds.max(1).to_string())
}

/// The authenticated Klarna API.
fn klarna_api(ctx: &Ctx, req: &Request, segs: &[&str]) -> Response {
    match segs {
        ["payments", "v1", "sessions"] => match req.method.as_str() {
            "POST" => create_session(ctx, req),
            _ => method_not_allowed(ctx, "POST"),
        },
        ["payments", "v1", "sessions", id] => match req.method.as_str() {
            "GET" => read_session(ctx, id),
            "DELETE" => cancel_session(ctx, id),
            _ => method_not_allowed(ctx, "GET, DELETE"),
        },
        ["instore", "v1", "distributions", id] => distribution_status(ctx, req, id),
        ["ordermanagement", "v1", "orders", rest @ ..] => orders::handle(ctx, req, rest),
        _ => not_found(ctx),
    }
}

fn not_found(ctx: &Ctx) -> Response {
    klarna_error(404, "NOT_FOUND", "Resource not found", ctx.correlation_id)
}

fn method_not_allowed(ctx: &Ctx, allow: &str) -> Response {
    klarna_error(
        405,
        "METHOD_NOT_ALLOWED",
        "Method not allowed",
        ctx.correlation_id,
    )
    .header("Allow", allow)
}

/// The merchant (API username) whose credentials the request carries in HTTP Basic (scheme
/// name case-insensitive), `None` unless they are one of the configured pairs.
fn merchant<'s>(sim: &'s Sim, req: &Request) -> Option<&'s str> {
    let (scheme, token) = req.header("authorization")?.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = util::base64_decode(token.trim())?;
    sim.merchants
        .iter()
        .find(|(user, password)| {
            decoded.len() == user.len() + 1 + password.len()
                && decoded.starts_with(user.as_bytes())
                && decoded[user.len()] == b':'
                && decoded.ends_with(password.as_bytes())
        })
        .map(|(user, _)| user.as_str())
}

/// A JWT-shaped opaque token, as Klarna's client_token looks.
fn client_token(session_id: &str, base_url: &str, country: &str) -> String {
    // The header is always `{"alg":"RS256","kid":"klarna-pos-sim","typ":"JWT"}`.
    const HEADER: &str = "eyJhbGciOiJSUzI1NiIsImtpZCI6ImtsYXJuYS1wb3Mtc2ltIiwidHlwIjoiSldUIn0";
    let mut payload = Vec::with_capacity(160 + base_url.len());
    payload.extend_from_slice(b"{\"base_url\":");
    util::push_json_str(&mut payload, base_url);
    payload.extend_from_slice(b",\"design\":\"klarna\",\"environment\":\"simulator\"");
    payload.extend_from_slice(b",\"purchase_country\":");
    util::push_json_str(&mut payload, country);
    payload.extend_from_slice(b",\"session_id\":");
    util::push_json_str(&mut payload, session_id);
    payload.push(b'}');
    let mut signature = [0u8; 256];
    for chunk in signature.chunks_exact_mut(8) {
        chunk.copy_from_slice(&util::random_u64().to_le_bytes());
    }
    let mut token = String::with_capacity(HEADER.len() + payload.len() * 4 / 3 + 348);
    token.push_str(HEADER);
    token.push('.');
    token.push_str(&util::base64url_encode(&payload));
    token.push('.');
    token.push_str(&util::base64url_encode(&signature));
    token
}

/// The answer to a successful creation, written directly (keys in sorted order, as a
/// `serde_json::Value` object writes them).
fn created_answer(id: &str, client_token: &str, result_url: &str) -> Vec<u8> {
    const ASSET: &str =
        "\"https://x.klarnacdn.net/payment-method/assets/badges/generic/klarna.svg\"";
    let mut out = Vec::with_capacity(320 + client_token.len() + result_url.len());
    out.extend_from_slice(b"{\"client_token\":");
    util::push_json_str(&mut out, client_token);
    out.extend_from_slice(b",\"distribution\":{\"result_url\":");
    util::push_json_str(&mut out, result_url);
    out.extend_from_slice(b"},\"payment_method_categories\":[{\"asset_urls\":{\"descriptive\":");
    out.extend_from_slice(ASSET.as_bytes());
    out.extend_from_slice(b",\"standard\":");
    out.extend_from_slice(ASSET.as_bytes());
    out.extend_from_slice(b"},\"identifier\":\"klarna\",\"name\":\"Pay with Klarna\"}]");
    out.extend_from_slice(b",\"session_id\":");
    util::push_json_str(&mut out, id);
    out.push(b'}');
    out
}

fn create_session(ctx: &Ctx, req: &Request) -> Response {
    let cid = ctx.correlation_id;
    let parsed = ctx
        .create_body
        .take()
        .or_else(|| serde_json::from_slice(&req.body).ok());
    let order: Value = match parsed {
        Some(v @ Value::Object(_)) => v,
        _ => return klarna_error(400, "BAD_VALUE", "Invalid JSON", cid),
    };
    if let Err(path) = validate_session(&order) {
        return klarna_error(400, "BAD_VALUE", &format!("Bad value: {path}"), cid);
    }

    let id = util::uuid_v4();
    let created = SystemTime::now();
    let country = order["purchase_country"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let short_code = order
        .get("distribution")
        .and_then(|d| d.get("short_code"))
        .and_then(Value::as_str)
        .map(str::to_string);
    // The stored copy of the body, exactly as received (lossy only if it is not UTF-8).
    let request_body = match std::str::from_utf8(&req.body) {
        Ok(text) => text.to_string(),
        Err(_) => String::from_utf8_lossy(&req.body).into_owned(),
    };
    let headers = req
        .headers
        .iter()
        .filter(|(k, _)| k != "authorization" && k != "proxy-authorization")
        .cloned()
        .collect();
    let mut st = ctx.sim.lock();
    // A short code that was never issued, has expired or was used already does not stop the
    // session from being created: its distribution fails, as Klarna's in-store guide describes.
    let (status, error) = match &short_code {
        Some(code) if !st.redeem_short_code(code) => (
            state::FAILED,
            Some((
                state::SHORT_CODE_ERROR.0.to_string(),
                state::SHORT_CODE_ERROR.1.to_string(),
            )),
        ),
        _ => (state::DISTRIBUTED, None),
    };
    let session = Session {
        id: id.clone(),
        token: util::random_string(24, util::ALNUM),
        base_url: ctx.base_url.clone(),
        created,
        expires: created + state::SESSION_LIFETIME,
        status: status.to_string(),
        order_id: None,
        klarna_reference: None,
        error,
        request_body,
        headers,
        order,
        polls: 0,
        deletes: 0,
        auto_clock: None,
        auto_delay_extra_ms: st.pick_auto_delay_extra(),
        approved_at: None,
        history: vec![status.to_string()],
        webhooks: Vec::new(),
        short_code,
    };
    // The automatic customer normally starts when the session is first polled; a session
    // followed by webhook may never be polled, so its customer starts at once.
    let mut session = session;
    if st.config.customer_auto
        && (session.callback_url().is_some() || st.config.auto_start_at_creation)
    {
        session.auto_clock = Some(std::time::Instant::now());
    }
    let result_url = session.result_url();
    st.stats.sessions_created += 1;
    st.insert(session);
    drop(st);

    let token = client_token(&id, &ctx.base_url, &country);
    Response::json_text(200, created_answer(&id, &token, &result_url))
}

fn session_not_found(ctx: &Ctx) -> Response {
    klarna_error(404, "NOT_FOUND", "Session not found", ctx.correlation_id)
}

fn read_session(ctx: &Ctx, id: &str) -> Response {
    let mut st = ctx.sim.lock();
    st.refresh(id);
    match st.sessions.get(id) {
        Some(s) => Response::json(200, &s.read_view()),
        None => session_not_found(ctx),
    }
}

fn cancel_session(ctx: &Ctx, id: &str) -> Response {
    let mut st = ctx.sim.lock();
    st.refresh(id);
    let Some(s) = st.sessions.get(id) else {
        return session_not_found(ctx);
    };
    if s.status == state::COMPLETED {
        return klarna_error(
            403,
            "INVALID_OPERATION",
            "Session already completed",
            ctx.correlation_id,
        );
    }
    // Cancelling an already cancelled, failed or expired session changes nothing.
    if !is_terminal(&s.status) {
        st.set_status(id, state::CANCELED, false);
    }
    Response::new(204)
}

fn distribution_status(ctx: &Ctx, req: &Request, id: &str) -> Response {
    if req.method != "GET" {
        return klarna_error(400, "BAD_VALUE", "Use GET", ctx.correlation_id);
    }
    let mut st = ctx.sim.lock();
    let auto = st.config.customer_auto;
    let Some(s) = st.sessions.get_mut(id) else {
        return session_not_found(ctx);
    };
    // The token makes the URL opaque: a client must use it exactly as returned.
    if req.query_param("dt").as_deref() != Some(s.token.as_str()) {
        return session_not_found(ctx);
    }
    if auto && s.auto_clock.is_none() {
        s.auto_clock = Some(std::time::Instant::now());
    }
    st.refresh(id);
    match st.sessions.get(id) {
        Some(s) => Response::json_text(200, s.status_payload(&st.config)),
        None => session_not_found(ctx),
    }
}

fn qr_image(ctx: &Ctx, req: &Request, id: &str) -> Response {
    if req.method != "GET" {
        return method_not_allowed(ctx, "GET");
    }
    let Some(link) = ctx.sim.lock().sessions.get(id).map(Session::payment_link) else {
        return session_not_found(ctx);
    };
    match png::qr_png(&link) {
        Some(image) => Response::new(200)
            .header("Content-Type", "image/png")
            .header("Cache-Control", "no-store")
            .body(image),
        None => klarna_error(
            500,
            "INTERNAL_ERROR",
            "QR encoding failed",
            ctx.correlation_id,
        ),
    }
}

fn payment_page(ctx: &Ctx, req: &Request, id: &str) -> Response {
    if req.method != "GET" {
        return method_not_allowed(ctx, "GET");
    }
    let mut st = ctx.sim.lock();
    st.refresh(id);
    let Some(s) = st.sessions.get(id) else {
        return session_not_found(ctx);
    };
    let amount = s.order["order_amount"].as_i64().unwrap_or_default();
    let currency = s.order["purchase_currency"].as_str().unwrap_or_default();
    // Ids are UUIDs and the currency passed validation, so nothing here needs escaping
    // except the status, which `force` can set to anything.
    let status: String = s
        .status
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    Response::html(
        200,
        &format!(
            "<html><head><title>Pay with Klarna</title></head><body>\
             <h1>Pay with Klarna</h1><p>Amount: {}.{:02} {}</p><p>Session {}: {}</p>\
             </body></html>",
            amount / 100,
            (amount % 100).abs(),
            currency
                .chars()
                .filter(char::is_ascii_alphabetic)
                .collect::<String>(),
            s.id,
            status
        ),
    )
}

// ---- control endpoints --------------------------------------------------------------

/// A control request body: empty means `{}`.
fn control_body(req: &Request) -> Result<Map<String, Value>, Response> {
    if req.body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice(&req.body) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(sim_error(400, "body must be a JSON object")),
        Err(e) => Err(sim_error(400, &format!("invalid JSON: {e}"))),
    }
}

fn control(ctx: &Ctx, req: &Request, rest: &[&str]) -> Response {
    let method = req.method.as_str();
    let result = match (method, rest) {
        ("GET", ["sessions"]) => Ok(list_sessions(ctx)),
        ("GET", ["sessions", id]) => {
            let mut st = ctx.sim.lock();
            st.refresh(id);
            Ok(match st.sessions.get(*id) {
                Some(s) => Response::json(200, &s.sim_view()),
                None => sim_error(404, "unknown session"),
            })
        }
        ("POST", ["sessions", id, "webhook_replay"]) => control_body(req).map(|body| {
            let reverse = match body.get("order") {
                None | Some(Value::Null) => true,
                Some(Value::String(o)) if o == "reverse" || o == "sent" => o == "reverse",
                Some(_) => return sim_error(400, "\"order\" must be \"reverse\" or \"sent\""),
            };
            let mut st = ctx.sim.lock();
            match st.sessions.get(*id) {
                None => sim_error(404, "unknown session"),
                Some(s) if s.callback_url().is_none() => {
                    sim_error(409, "the session has no callback URL")
                }
                Some(_) => {
                    let queued = st.replay_webhooks(id, reverse);
                    Response::json(200, &json!({ "queued": queued }))
                }
            }
        }),
        ("POST", ["sessions", id, action]) => {
            control_body(req).map(|body| customer_action(ctx, id, action, &body))
        }
        ("POST", ["short_codes"]) => control_body(req).map(|body| issue_short_code(ctx, &body)),
        ("POST", ["short_codes", code, "expire"]) => {
            Ok(match ctx.sim.lock().short_codes.get_mut(*code) {
                Some(c) => {
                    c.expired = true;
                    Response::json(200, &json!({"short_code": code, "expired": true}))
                }
                None => sim_error(404, "unknown short code"),
            })
        }
        ("GET", ["orders"]) => Ok(orders::control_list(&ctx.sim.lock())),
        ("GET", ["orders", id]) => Ok(orders::control_read(&ctx.sim.lock(), id)),
        ("GET", ["stats"]) => Ok(Response::json(200, &ctx.sim.lock().stats.to_json())),
        ("GET", ["config"]) => Ok(Response::json(200, &ctx.sim.lock().config.to_json())),
        ("POST", ["config"]) => control_body(req).map(|body| {
            let mut st = ctx.sim.lock();
            match st.config.apply(&body) {
                Ok(()) => Response::json(200, &st.config.to_json()),
                Err(e) => sim_error(400, &e),
            }
        }),
        ("GET", ["faults"]) => Ok(list_faults(&ctx.sim.lock())),
        ("POST", ["faults"]) => {
            control_body(req).map(|body| match Rule::from_json(&Value::Object(body)) {
                Ok(rule) => {
                    let mut st = ctx.sim.lock();
                    st.faults.push(rule);
                    list_faults(&st)
                }
                Err(e) => sim_error(400, &e),
            })
        }
        ("DELETE", ["faults"]) => {
            let mut st = ctx.sim.lock();
            let cleared = st.faults.len();
            st.faults.clear();
            Ok(Response::json(
                200,
                &json!({"cleared": cleared, "faults": []}),
            ))
        }
        (
            _,
            ["sessions"]
            | ["sessions", _]
            | ["sessions", _, _]
            | ["orders"]
            | ["orders", _]
            | ["stats"]
            | ["short_codes", ..]
            | ["config"]
            | ["faults"],
        ) => Ok(sim_error(405, "method not allowed")),
        _ => Ok(sim_error(404, "unknown control endpoint")),
    };
    result.unwrap_or_else(|e| e)
}

/// The customer scans the store's printed QR and is shown a fresh short code to read to the
/// cashier: `{"digits"?: 2..20}` (default 6) answers `{"short_code", "expires_in_s"}`.
fn issue_short_code(ctx: &Ctx, body: &Map<String, Value>) -> Response {
    let digits = match body.get("digits") {
        None | Some(Value::Null) => 6,
        Some(v) => match v.as_u64() {
            Some(n @ 2..=20) => n as usize,
            _ => return sim_error(400, "\"digits\" must be an integer from 2 to 20"),
        },
    };
    let code = ctx.sim.lock().issue_short_code(digits);
    Response::json(
        200,
        &json!({
            "short_code": code,
            "expires_in_s": state::SHORT_CODE_LIFETIME.as_secs(),
        }),
    )
}

fn list_sessions(ctx: &Ctx) -> Response {
    let mut st = ctx.sim.lock();
    let ids = st.order.clone();
    let list: Vec<Value> = ids
        .iter()
        .map(|id| {
            st.refresh(id);
            let s = &st.sessions[id];
            let mut entry = json!({"session_id": id, "status": s.status});
            if let Some(at) = s.approved_at {
                entry["approved_at_ms"] = json!(util::unix_ms(at));
            }
            entry
        })
        .collect();
    Response::json(200, &Value::Array(list))
}

fn list_faults(st: &State) -> Response {
    let list: Vec<Value> = st.faults.iter().map(Rule::to_json).collect();
    Response::json(200, &json!({ "faults": list }))
}

fn optional_string(body: &Map<String, Value>, key: &str) -> Result<Option<String>, Response> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(sim_error(400, &format!("{key:?} must be a string"))),
    }
}

/// The scripted customer: scan, approve, cancel, fail, expire, and `force` for raw statuses.
fn customer_action(ctx: &Ctx, id: &str, action: &str, body: &Map<String, Value>) -> Response {
    let mut st = ctx.sim.lock();
    st.refresh(id);
    let Some(current) = st.sessions.get(id).map(|s| s.status.clone()) else {
        return sim_error(404, "unknown session");
    };
    let known = ["scan", "approve", "cancel", "fail", "expire", "force"];
    if !known.contains(&action) {
        return sim_error(404, "unknown control endpoint");
    }
    if action != "force" && is_terminal(&current) {
        return Response::json(
            409,
            &json!({
                "error": format!("cannot {action} a session that is {current}"),
                "status": current,
            }),
        );
    }
    let strings = (|| -> Result<_, Response> {
        Ok((
            optional_string(body, "order_id")?,
            optional_string(body, "klarna_reference")?,
            optional_string(body, "code")?,
            optional_string(body, "message")?,
            optional_string(body, "status")?,
        ))
    })();
    let (order_id, reference, code, message, status) = match strings {
        Ok(v) => v,
        Err(r) => return r,
    };
    match action {
        "scan" => st.set_status(id, state::ACCESSED, false),
        "approve" => st.complete(id, order_id, reference),
        "cancel" => st.set_status(id, state::CANCELED, false),
        "fail" => {
            let code = code.unwrap_or_else(|| "INTERNAL_ERROR".into());
            let message = message.unwrap_or_else(|| format!("Payment failed ({code})"));
            if let Some(s) = st.sessions.get_mut(id) {
                s.error = Some((code, message));
            }
            st.set_status(id, state::FAILED, false);
        }
        "expire" => st.set_status(id, state::EXPIRED, false),
        _ => {
            let Some(status) = status else {
                return sim_error(400, "\"status\" is required");
            };
            if let (Some(s), Some(order_id)) = (st.sessions.get_mut(id), order_id) {
                s.order_id = Some(order_id);
            }
            st.set_status(id, &status, true);
        }
    }
    let s = &st.sessions[id];
    let mut answer = json!({"session_id": s.id, "status": s.status});
    if action == "approve" {
        answer["order_id"] = json!(s.order_id);
        answer["klarna_reference"] = json!(s.klarna_reference);
    }
    Response::json(200, &answer)
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine as _;

    /// The text is what serde_json writes for the same object: parsing and writing it again
    /// gives the same bytes (in sorted key order, or the text's own order with preserve_order).
    fn canonical(text: &[u8]) -> Value {
        let v: Value = serde_json::from_slice(text).unwrap();
        assert_eq!(serde_json::to_vec(&v).unwrap(), text);
        v
    }

    #[test]
    fn create_requests() {
        for (method, path, create) in [
            ("POST", "/payments/v1/sessions", true),
            ("POST", "//payments/v1/sessions", true),
            ("POST", "payments/v1/sessions", true),
            ("GET", "/payments/v1/sessions", false),
            ("POST", "/payments/v1/sessions/", false),
            ("POST", "/payments/v1//sessions", false),
            ("POST", "/payments/v1", false),
        ] {
            assert_eq!(is_create(method, path), create, "{method} {path}");
            assert_eq!(
                method == "POST" && segments(path) == ["payments", "v1", "sessions"],
                create
            );
        }
    }

    #[test]
    fn created_answer_shape() {
        let asset = "https://x.klarnacdn.net/payment-method/assets/badges/generic/klarna.svg";
        let url = "http://h:1/instore/v1/distributions/s-1?dt=abc";
        let v = canonical(&created_answer("s-1", "to\"ken", url));
        assert_eq!(
            v,
            json!({
                "session_id": "s-1",
                "client_token": "to\"ken",
                "payment_method_categories": [{
                    "identifier": "klarna",
                    "name": "Pay with Klarna",
                    "asset_urls": {"descriptive": asset, "standard": asset},
                }],
                "distribution": {"result_url": url},
            })
        );
    }

    #[test]
    fn client_token_shape() {
        let token = client_token("s-1", "http://h:1", "SE");
        let parts: Vec<&str> = token.split('.').collect();
        assert_eq!(parts.len(), 3);
        let decode = |p: &str| URL_SAFE_NO_PAD.decode(p).unwrap();
        assert_eq!(
            canonical(&decode(parts[0])),
            json!({"alg": "RS256", "kid": "klarna-pos-sim", "typ": "JWT"})
        );
        assert_eq!(
            canonical(&decode(parts[1])),
            json!({
                "session_id": "s-1",
                "base_url": "http://h:1",
                "design": "klarna",
                "purchase_country": "SE",
                "environment": "simulator",
            })
        );
        assert_eq!(decode(parts[2]).len(), 256);
        assert_ne!(token, client_token("s-1", "http://h:1", "SE"));
    }
}
