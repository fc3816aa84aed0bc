//! Order Management: the orders placed by completed sessions, their ledger of captures and
//! refunds with Klarna's invariants, and idempotency-key replay.
//!
//! Invariants: Σ captures ≤ order amount (else 403 `CAPTURE_NOT_ALLOWED`), Σ refunds ≤
//! Σ captures (403 `REFUND_NOT_ALLOWED`), cancel only while nothing is captured (403
//! `CANCEL_NOT_ALLOWED`), release of the remaining authorization only on an order that is not
//! cancelled and has a capture (403 `NOT_ALLOWED`, Klarna's code for it). A POST carrying a `Klarna-Idempotency-Key` already seen for the same
//! order and action within 24 hours is not executed again: the first answer (status, headers,
//! body) is replayed.

use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime};

use serde_json::{json, Map, Value};

use crate::http::{Request, Response};
use crate::routes::{klarna_error, Ctx};
use crate::state::State;
use crate::util;

/// How long Klarna remembers an idempotency key.
const KEY_LIFETIME: Duration = Duration::from_secs(24 * 3600);

#[derive(Debug)]
pub struct Order {
    pub id: String,
    pub session_id: String,
    pub purchase_currency: Value,
    pub order_amount: i64,
    pub order_lines: Value,
    pub created: SystemTime,
    pub captures: Vec<Value>,
    pub refunds: Vec<Value>,
    pub cancelled: bool,
    pub released: bool,
    /// Every Order Management POST received for this order: action, key, replayed, status.
    pub requests: Vec<Value>,
}

impl Order {
    fn sum(list: &[Value], key: &str) -> i64 {
        list.iter().filter_map(|v| v[key].as_i64()).sum()
    }

    pub fn captured(&self) -> i64 {
        Order::sum(&self.captures, "captured_amount")
    }

    pub fn refunded(&self) -> i64 {
        Order::sum(&self.refunds, "refunded_amount")
    }

    pub fn status(&self) -> &'static str {
        let captured = self.captured();
        if self.cancelled {
            "CANCELLED"
        } else if captured >= self.order_amount {
            "CAPTURED"
        } else if self.released {
            if captured > 0 {
                "CAPTURED"
            } else {
                "CLOSED"
            }
        } else if captured > 0 {
            "PART_CAPTURED"
        } else {
            "AUTHORIZED"
        }
    }

    fn remaining_authorized(&self) -> i64 {
        if self.cancelled || self.released {
            0
        } else {
            self.order_amount - self.captured()
        }
    }

    /// Klarna's order shape, as `GET /ordermanagement/v1/orders/{id}` answers.
    pub fn view(&self) -> Value {
        json!({
            "order_id": self.id,
            "status": self.status(),
            "purchase_currency": self.purchase_currency,
            "order_amount": self.order_amount,
            "original_order_amount": self.order_amount,
            "captured_amount": self.captured(),
            "refunded_amount": self.refunded(),
            "remaining_authorized_amount": self.remaining_authorized(),
            "order_lines": self.order_lines,
            "captures": self.captures,
            "refunds": self.refunds,
            "created_at": util::rfc3339(self.created),
        })
    }

    /// The view plus what only the simulator knows: the session, and every request with its key.
    fn ledger(&self) -> Value {
        let mut v = self.view();
        v["session_id"] = json!(self.session_id);
        v["requests"] = json!(self.requests);
        let mut keys: Map<String, Value> = Map::new();
        for r in &self.requests {
            let action = r["action"].as_str().unwrap_or_default();
            let list = keys.entry(action).or_insert_with(|| json!([]));
            if let (Some(list), Some(k)) = (list.as_array_mut(), r.get("idempotency_key")) {
                if !k.is_null() && !list.contains(k) {
                    list.push(k.clone());
                }
            }
        }
        v["idempotency_keys"] = Value::Object(keys);
        v
    }
}

#[derive(Debug, Default)]
pub struct Orders {
    pub by_id: HashMap<String, Order>,
    /// Order ids in placement order, for listings.
    pub list: Vec<String>,
    /// First answers by (order id, action, key), for replay.
    answers: HashMap<(String, String, String), (Instant, Response)>,
}

impl State {
    /// Places the order of a session that just COMPLETED (once), with the session's amount,
    /// currency and lines, and captures it in full when `auto_capture` is on.
    pub fn place_order(&mut self, session_id: &str) {
        let auto_capture = self.config.auto_capture;
        let Some(s) = self.sessions.get_mut(session_id) else {
            return;
        };
        let order_id = s.order_id.get_or_insert_with(util::uuid_v4).clone();
        if self.orders.by_id.contains_key(&order_id) {
            return;
        }
        let order_amount = s.order["order_amount"].as_i64().unwrap_or_default();
        let mut order = Order {
            id: order_id.clone(),
            session_id: session_id.to_string(),
            purchase_currency: s.order["purchase_currency"].clone(),
            order_amount,
            order_lines: s.order["order_lines"].clone(),
            created: SystemTime::now(),
            captures: Vec::new(),
            refunds: Vec::new(),
            cancelled: false,
            released: false,
            requests: Vec::new(),
        };
        if auto_capture && order_amount > 0 {
            order.captures.push(json!({
                "capture_id": util::uuid_v4(),
                "captured_amount": order_amount,
                "captured_at": util::rfc3339(SystemTime::now()),
                "description": "automatic capture",
                "order_lines": order.order_lines,
            }));
        }
        self.orders.list.push(order_id.clone());
        self.orders.by_id.insert(order_id, order);
    }
}

fn no_such_order(ctx: &Ctx) -> Response {
    klarna_error(404, "NO_SUCH_ORDER", "Order not found", ctx.correlation_id)
}

/// `/ordermanagement/v1/orders/{rest…}` (authenticated by the caller).
pub fn handle(ctx: &Ctx, req: &Request, rest: &[&str]) -> Response {
    let cid = ctx.correlation_id;
    let mut st = ctx.sim.lock();
    let Some(order_id) = rest.first().map(|s| s.to_string()) else {
        return klarna_error(404, "NOT_FOUND", "Resource not found", cid);
    };
    if !st.orders.by_id.contains_key(&order_id) {
        return no_such_order(ctx);
    }
    let method = req.method.as_str();
    let action = match (method, &rest[1..]) {
        ("GET", []) => return Response::json(200, &st.orders.by_id[&order_id].view()),
        ("GET", [list @ ("captures" | "refunds"), item]) => {
            let o = &st.orders.by_id[&order_id];
            let (items, key) = if *list == "captures" {
                (&o.captures, "capture_id")
            } else {
                (&o.refunds, "refund_id")
            };
            return match items.iter().find(|v| v[key] == *item) {
                Some(v) => Response::json(200, v),
                None => klarna_error(404, "NOT_FOUND", "Resource not found", cid),
            };
        }
        ("POST", [a @ ("captures" | "refunds" | "cancel" | "release-remaining-authorization")]) => {
            a.to_string()
        }
        _ => return klarna_error(405, "METHOD_NOT_ALLOWED", "Method not allowed", cid),
    };

    let key = req.header("klarna-idempotency-key").map(str::to_string);
    let replay_key = key.clone().map(|k| (order_id.clone(), action.clone(), k));
    if let Some(k) = &replay_key {
        st.orders
            .answers
            .retain(|_, (at, _)| at.elapsed() < KEY_LIFETIME);
        if let Some((_, first)) = st.orders.answers.get(k).cloned() {
            record(&mut st, &order_id, &action, &key, true, first.status);
            return first;
        }
    }
    let resp = perform(ctx, &mut st, &order_id, &action, req);
    record(&mut st, &order_id, &action, &key, false, resp.status);
    if let Some(k) = replay_key {
        st.orders.answers.insert(k, (Instant::now(), resp.clone()));
    }
    resp
}

fn record(
    st: &mut State,
    order_id: &str,
    action: &str,
    key: &Option<String>,
    replayed: bool,
    status: u16,
) {
    if let Some(o) = st.orders.by_id.get_mut(order_id) {
        o.requests.push(json!({
            "action": action,
            "idempotency_key": key,
            "replayed": replayed,
            "status": status,
        }));
    }
}

/// Executes one Order Management POST against the ledger.
fn perform(ctx: &Ctx, st: &mut State, order_id: &str, action: &str, req: &Request) -> Response {
    let cid = ctx.correlation_id;
    let Some(o) = st.orders.by_id.get_mut(order_id) else {
        return no_such_order(ctx);
    };
    let not_allowed = |code: &str, message: &str| klarna_error(403, code, message, cid);
    match action {
        "cancel" => {
            if o.status() != "AUTHORIZED" {
                return not_allowed(
                    "CANCEL_NOT_ALLOWED",
                    "Cancel is not allowed: the order has been captured, cancelled or closed",
                );
            }
            o.cancelled = true;
            Response::new(204)
        }
        "release-remaining-authorization" => {
            // Klarna: "Can not release when order is cancelled or has no captures."
            if o.cancelled || o.captures.is_empty() {
                return not_allowed(
                    "NOT_ALLOWED",
                    "Release not allowed: the order is cancelled or has no captures",
                );
            }
            o.released = true;
            Response::new(204)
        }
        _ => {
            let capture = action == "captures";
            let amount_key = if capture {
                "captured_amount"
            } else {
                "refunded_amount"
            };
            let body: Map<String, Value> = match serde_json::from_slice(&req.body) {
                Ok(Value::Object(m)) => m,
                _ => return klarna_error(400, "BAD_VALUE", "Invalid JSON", cid),
            };
            // Klarna: an integer from 0 (a capture or refund of 0 is allowed).
            let amount = match body.get(amount_key).and_then(Value::as_i64) {
                Some(a) if a >= 0 => a,
                _ => {
                    return klarna_error(400, "BAD_VALUE", &format!("Bad value: {amount_key}"), cid)
                }
            };
            let id = util::uuid_v4();
            let mut entry = body.clone();
            let now = json!(util::rfc3339(SystemTime::now()));
            if capture {
                if o.cancelled || o.released || o.captured() + amount > o.order_amount {
                    return not_allowed(
                        "CAPTURE_NOT_ALLOWED",
                        "Capture not allowed: it exceeds the remaining authorized amount",
                    );
                }
                entry.insert("capture_id".into(), json!(id));
                entry.insert("captured_at".into(), now);
                o.captures.push(Value::Object(entry));
            } else {
                if o.refunded() + amount > o.captured() {
                    return not_allowed(
                        "REFUND_NOT_ALLOWED",
                        "Refund not allowed: it exceeds the captured amount",
                    );
                }
                entry.insert("refund_id".into(), json!(id));
                entry.insert("refunded_at".into(), now);
                o.refunds.push(Value::Object(entry));
            }
            let location = format!(
                "{}/ordermanagement/v1/orders/{}/{}/{}",
                ctx.base_url, order_id, action, id
            );
            Response::new(201)
                .header(if capture { "Capture-Id" } else { "Refund-Id" }, &id)
                .header("Location", &location)
        }
    }
}

/// `GET /_sim/orders`.
pub fn control_list(st: &State) -> Response {
    let list: Vec<Value> = st
        .orders
        .list
        .iter()
        .map(|id| {
            let o = &st.orders.by_id[id];
            json!({
                "order_id": o.id,
                "session_id": o.session_id,
                "status": o.status(),
                "order_amount": o.order_amount,
                "captured_amount": o.captured(),
                "refunded_amount": o.refunded(),
            })
        })
        .collect();
    Response::json(200, &Value::Array(list))
}

/// `GET /_sim/orders/{id}`: the ledger, with every request and idempotency key seen.
pub fn control_read(st: &State, id: &str) -> Response {
    match st.orders.by_id.get(id) {
        Some(o) => Response::json(200, &o.ledger()),
        None => Response::json(404, &json!({"error": "unknown order"})),
    }
}
