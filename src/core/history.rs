//! The history of finished work (config key `journal_dir`): the store's day, kept when the
//! journal compacts its closed records away.
//!
//! When a journal record closes with an outcome, one line describing the finished work is
//! appended to `journal_dir/history-YYYY-MM.jsonl` (the UTC month it finished in) before the
//! journal's close line: a session's outcome (status, amount, currency, merchant references,
//! session and order ids, times, failure code) or an Order Management result (capture, refund,
//! order cancel, release: amount, ids, idempotency key, and the sale's currency and merchant
//! references when the history knows the order). A session create that Klarna refused made no
//! session and adds nothing. Nothing is ever rewritten or removed; a month's file is a store's
//! record of that month (remove old files by hand when they are no longer needed).
//!
//! # Safety of the files
//!
//! The rules of the journal hold (see `journal.rs`): the directory is private to the till's
//! user, a file is created exclusively (`O_EXCL`) with mode 0600 and never opened through a
//! symbolic link (`O_NOFOLLOW`), each line is written with one `write` in append mode under the
//! journal's lock (so clients and processes sharing the directory never interleave) and
//! fsynced; the directory is fsynced when a month's file is created. A torn last line left by a
//! killed writer is ended before the next line and skipped (with a warning) when read.
//!
//! # Format (version 1)
//!
//! UTF-8 JSON lines. The first line is `{"klarna_pos_history":1}`; a newer version is refused
//! rather than misread. Each other line is one finished piece of work (see `entry`); `record`
//! is the journal record's id, so a line written twice (a crash between the history line and
//! the journal's close line, then the work closed again) is read once.
//!
//! # A history line that cannot be written
//!
//! A full disk or an unwritable file must not turn a paid sale into an error: the failure is
//! logged (error level) and the line is kept in memory, written before the next history line,
//! and counted as `unwritten` in this process's reports (which include it). Up to
//! [`MAX_BACKLOG`] lines are kept; beyond that the oldest are dropped with an error logged.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::SystemTime;

use serde_json::{Map, Value};

use super::clock;
use super::error::{Error, Result};
use super::journal::{self, Finished, Journal, Kind, Record};
use super::log::{log, Level};

pub const FORMAT_VERSION: u64 = 1;
const PREFIX: &str = "history-";
const SUFFIX: &str = ".jsonl";
/// History lines kept in memory while they cannot be written.
pub const MAX_BACKLOG: usize = 10_000;
/// Klarna's limit for `merchant_reference1` and `merchant_reference2`.
const MAX_REFERENCE_CHARS: usize = 255;

/// The outcomes a report counts per currency, in its order.
pub const OUTCOMES: [&str; 11] = [
    "paid",
    "cancelled",
    "failed",
    "expired",
    "open",
    "captured",
    "refunded",
    "order_cancelled",
    "released",
    "refused",
    "unanswered",
];

pub struct History {
    dir: PathBuf,
    /// Lines not written yet (oldest first).
    backlog: Mutex<Vec<Value>>,
}

fn session_outcome(status: &str) -> Option<&'static str> {
    Some(match status {
        "COMPLETED" => "paid",
        "CANCELED" => "cancelled",
        "FAILED" => "failed",
        "EXPIRED" => "expired",
        _ => return None,
    })
}

fn call_outcome(kind: Kind, result: &str) -> Option<&'static str> {
    Some(match (kind, result) {
        (_, "refused") => "refused",
        (Kind::Capture, "done") => "captured",
        (Kind::Refund, "done") => "refunded",
        (Kind::Cancel, "done") => "order_cancelled",
        (Kind::Release, "done") => "released",
        _ => return None,
    })
}

/// The amount a capture or refund record moves (from its request body).
fn call_amount(r: &Record) -> Value {
    let key = match r.kind {
        Kind::Capture => "captured_amount",
        Kind::Refund => "refunded_amount",
        _ => return Value::Null,
    };
    r.open_line
        .get("body")
        .and_then(|b| b.get(key))
        .cloned()
        .unwrap_or(Value::Null)
}

/// The line for journal record `r` closing with `outcome`, or `None` when the outcome is not
/// finished work (a refused create). `finished` adds what the record does not hold.
pub(super) fn entry(r: &Record, outcome: &str, finished: &Finished) -> Option<Value> {
    let (name, status) = match r.kind {
        Kind::Session => (session_outcome(outcome)?, Some(outcome)),
        k => (call_outcome(k, outcome)?, None),
    };
    let mut e = view(r, name);
    let text = |t: &Option<String>| Value::from(t.clone());
    if r.session_id.is_none() {
        e.insert("session_id".into(), text(&finished.session_id));
    }
    if let Some(status) = status {
        e.insert("order_id".into(), text(&finished.order_id));
        e.insert("status".into(), Value::from(status));
        e.insert("klarna_reference".into(), text(&finished.klarna_reference));
    } else {
        e.insert("created_id".into(), text(&finished.created_id));
    }
    e.insert("failure_code".into(), text(&finished.failure_code));
    e.insert(
        "finished_at".into(),
        Value::from(clock::rfc3339_utc(SystemTime::now())),
    );
    Some(Value::Object(e))
}

/// The fields every item has, in their order; `null` where they do not apply.
const FIELDS: [&str; 12] = [
    "kind",
    "record",
    "outcome",
    "amount",
    "purchase_currency",
    "merchant_reference1",
    "merchant_reference2",
    "session_id",
    "order_id",
    "idempotency_key",
    "created_at",
    "finished_at",
];

/// A journal record as an item with `outcome`: what its opening line and its session id say.
fn view(r: &Record, outcome: &str) -> Map<String, Value> {
    let mut e = Map::new();
    for key in FIELDS {
        let value = match key {
            "kind" => Some(Value::from(r.kind.name())),
            "record" => Some(Value::from(r.id.as_str())),
            "outcome" => Some(Value::from(outcome)),
            "amount" if r.kind == Kind::Session => r.open_line.get("order_amount").cloned(),
            "amount" => Some(call_amount(r)),
            "session_id" => r.session_id.as_deref().map(Value::from),
            "order_id" if r.kind == Kind::Session => None,
            "finished_at" => None,
            k => r.open_line.get(k).cloned(),
        }
        .unwrap_or(Value::Null);
        e.insert(key.into(), value);
    }
    e
}

/// An Order Management item takes its sale's currency and references (and session id) when
/// the history knows the session that made the order.
fn adopt_sale(e: &mut Value, sale: &Value) {
    for k in &FIELDS[4..8] {
        e[*k] = sale[*k].clone();
    }
}

fn text<'a>(e: &'a Value, key: &str) -> Option<&'a str> {
    e.get(key).and_then(Value::as_str)
}

/// When an item happened: its finish, else its start (milliseconds since the epoch).
fn when(e: &Value) -> Option<i64> {
    text(e, "finished_at")
        .or_else(|| text(e, "created_at"))
        .and_then(clock::parse_rfc3339)
}

impl History {
    pub(super) fn new(dir: &Path) -> History {
        History {
            dir: dir.to_path_buf(),
            backlog: Mutex::new(Vec::new()),
        }
    }

    fn backlog(&self) -> MutexGuard<'_, Vec<Value>> {
        self.backlog.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Appends `e` (and the lines not written before it); never fails: a line that cannot be
    /// written is logged and kept for the next time. The caller holds the journal's lock.
    pub(super) fn append(&self, mut e: Value) {
        if e["kind"] != "session" {
            if let Some(order_id) = text(&e, "order_id") {
                if let Some(sale) = self.sale_of(order_id) {
                    adopt_sale(&mut e, &sale);
                }
            }
        }
        let mut backlog = self.backlog();
        backlog.push(e);
        let mut written = 0;
        for line in backlog.iter() {
            if let Err(err) = self.write(line) {
                log!(
                    Level::Error,
                    "history: {} line(s) of finished work could not be written ({}); they are kept \
                     in memory, written with the next line, and counted as unwritten in reports",
                    backlog.len() - written,
                    err
                );
                break;
            }
            written += 1;
        }
        backlog.drain(..written);
        if backlog.len() > MAX_BACKLOG {
            let dropped = backlog.len() - MAX_BACKLOG;
            backlog.drain(..dropped);
            log!(
                Level::Error,
                "history: {} unwritten line(s) dropped (more than {} waiting)",
                dropped,
                MAX_BACKLOG
            );
        }
    }

    /// Appends one line to the file of the month it finished in, creating the file.
    fn write(&self, e: &Value) -> Result<()> {
        let finished = text(e, "finished_at")
            .and_then(clock::parse_rfc3339)
            .unwrap_or(0);
        let (y, m) = clock::utc_year_month(finished);
        let path = self.dir.join(format!("{PREFIX}{y:04}-{m:02}{SUFFIX}"));
        let created = journal::open_options()
            .read(true)
            .append(true)
            .create_new(true)
            .open(&path);
        let (file, header) = match created {
            Ok(f) => (f, format!("{{\"klarna_pos_history\":{FORMAT_VERSION}}}\n")),
            Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => (
                journal::open_options()
                    .read(true)
                    .append(true)
                    .open(&path)
                    .map_err(|err| journal::journal_error("cannot open", &path, err))?,
                String::new(),
            ),
            Err(err) => return Err(journal::journal_error("cannot create", &path, err)),
        };
        let new_file = !header.is_empty();
        journal::append_line(file, &path, header, e)?;
        if new_file {
            journal::sync_dir(&self.dir);
        }
        Ok(())
    }

    /// The month files, oldest first (their names sort by month).
    fn files(&self) -> Vec<PathBuf> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        let mut files: Vec<PathBuf> = entries
            .flatten()
            // Regular files only: a link or anything else of that name is not the history.
            .filter(|entry| entry.file_type().is_ok_and(|t| t.is_file()))
            .map(|entry| entry.path())
            .filter(|path| month_of(path).is_some())
            .collect();
        files.sort();
        files
    }

    /// The lines of one file; unreadable lines are skipped with a warning.
    fn read(path: &Path) -> Result<Vec<Value>> {
        use std::io::Read;
        let mut bytes = Vec::new();
        journal::open_options()
            .read(true)
            .open(path)
            .and_then(|mut f| f.read_to_end(&mut bytes))
            .map_err(|e| journal::journal_error("cannot read", path, e))?;
        let mut lines = Vec::new();
        for (n, line) in String::from_utf8_lossy(&bytes).split('\n').enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            match serde_json::from_str::<Value>(line) {
                Ok(Value::Object(m)) => {
                    if let Some(version) = m.get("klarna_pos_history") {
                        if version.as_u64() != Some(FORMAT_VERSION) {
                            return Err(journal::version_error(path, version, FORMAT_VERSION));
                        }
                    } else if m.contains_key("kind") {
                        lines.push(Value::Object(m));
                    }
                }
                _ => log!(
                    Level::Warn,
                    "history {} line {}: unreadable (a write cut short by a crash?), skipped",
                    path.display(),
                    n + 1
                ),
            }
        }
        Ok(lines)
    }

    /// Every known line of the months `first..=last` (all months when `None`): the files',
    /// then those not written yet; each record once.
    fn lines(&self, months: Option<((i64, i64), (i64, i64))>) -> Result<Vec<Value>> {
        let mut all = Vec::new();
        for path in self.files() {
            let month = month_of(&path).unwrap_or_default();
            if months.is_none_or(|(first, last)| (first..=last).contains(&month)) {
                all.extend(History::read(&path)?);
            }
        }
        all.extend(self.backlog().iter().cloned());
        let mut seen = Seen::new();
        all.retain(|e| text(e, "record").is_none_or(|r| seen.insert(r.to_string(), 0).is_none()));
        // A call repeated with its idempotency key (after a lost answer, or by a careless till)
        // is one piece of work at Klarna, which answers the repeat with the same capture or
        // refund: its second line is read as the first.
        let mut done = Seen::new();
        all.retain(|e| repeat_key(e).is_none_or(|k| done.insert(k, 0).is_none()));
        Ok(all)
    }

    /// The session line of the sale that made `order_id`, newest month first.
    fn sale_of(&self, order_id: &str) -> Option<Value> {
        let is_sale = |e: &&Value| e["kind"] == "session" && text(e, "order_id") == Some(order_id);
        if let Some(e) = self.backlog().iter().find(is_sale) {
            return Some(e.clone());
        }
        self.files()
            .iter()
            .rev()
            .find_map(|path| History::read(path).ok()?.iter().find(is_sale).cloned())
    }
}

/// What makes a successful Order Management line the same work as another: its kind, order
/// and idempotency key. `None` for sessions, refusals and lines without a key.
fn repeat_key(e: &Value) -> Option<String> {
    let kind = text(e, "kind").filter(|k| *k != "session")?;
    if matches!(text(e, "outcome"), Some("refused" | "unanswered") | None) {
        return None;
    }
    Some(format!(
        "{kind}\n{}\n{}",
        text(e, "order_id")?,
        text(e, "idempotency_key")?
    ))
}

/// The month of a history file's name (`history-2026-11.jsonl`).
fn month_of(path: &Path) -> Option<(i64, i64)> {
    let name = path.file_name()?.to_str()?;
    let (y, m) = name
        .strip_prefix(PREFIX)?
        .strip_suffix(SUFFIX)?
        .split_once('-')?;
    let month = (y.parse().ok()?, m.parse().ok()?);
    (y.len() == 4 && m.len() == 2).then_some(month)
}

/// A count and a sum of amounts per outcome of [`OUTCOMES`].
type Totals = [(i64, i64); OUTCOMES.len()];

/// Record ids seen (a map, for the one hash map type the library has).
type Seen = HashMap<String, usize>;

/// The record ids of history lines.
fn known_records(lines: &[Value]) -> Seen {
    lines
        .iter()
        .filter_map(|e| text(e, "record").map(|r| (r.to_string(), 0)))
        .collect()
}

/// An RFC 3339 bound of a report, in milliseconds.
fn bound(value: &str, name: &str) -> Result<i64> {
    clock::parse_rfc3339(value).ok_or_else(|| {
        Error::invalid_field(
            name,
            format!(
                "is {:?}, not an RFC 3339 date-time such as 2026-11-30T00:00:00+01:00",
                value.chars().take(40).collect::<String>()
            ),
        )
    })
}

/// A JSON array with one value per line (easy to split without a JSON parser); `[]` when empty.
pub(super) fn lines_array<T: std::fmt::Display>(values: &[T]) -> String {
    if values.is_empty() {
        return "[]".into();
    }
    let lines: Vec<String> = values.iter().map(T::to_string).collect();
    format!("[\n{}\n]", lines.join(",\n"))
}

impl Journal {
    /// The journal's open records as history items: sessions `open`, Order Management calls
    /// `unanswered`; records whose history line exists (in `known`) are left out.
    fn open_items(&self, known: &Seen) -> Result<Vec<Value>> {
        let folded = self.read()?;
        let mut items = Vec::new();
        for r in folded.open_records() {
            if known.contains_key(&r.id) {
                continue;
            }
            let outcome = if r.kind == Kind::Session {
                "open"
            } else {
                "unanswered"
            };
            let mut e = Value::Object(view(r, outcome));
            if r.kind != Kind::Session {
                if let Some(sale) = text(&e, "order_id").and_then(|o| self.history().sale_of(o)) {
                    adopt_sale(&mut e, &sale);
                }
            }
            items.push(e);
        }
        Ok(items)
    }

    /// The report of `kpos_history_report`: work finished in `[from, to)` and sessions and
    /// calls started then and still open, counted and summed per currency and outcome.
    pub fn history_report(&self, from: &str, to: &str) -> Result<String> {
        let from_ms = bound(from, "from")?;
        let to_ms = bound(to, "to")?;
        if to_ms <= from_ms {
            return Err(Error::invalid_field("to", "must be later than from"));
        }
        let months = (
            clock::utc_year_month(from_ms),
            clock::utc_year_month(to_ms - 1),
        );
        let in_range = |e: &Value| when(e).is_some_and(|t| from_ms <= t && t < to_ms);
        let (items, unwritten) = self.locked(|| {
            let lines = self.history().lines(Some(months))?;
            let known = known_records(&lines);
            let mut items: Vec<Value> = lines.into_iter().filter(in_range).collect();
            items.extend(self.open_items(&known)?.into_iter().filter(in_range));
            Ok((items, self.history().backlog().len()))
        })?;
        // One row per currency, in the order they first appear (a shop has one or two): a
        // count and a sum per outcome.
        let mut totals: Vec<(Option<&str>, Totals)> = Vec::new();
        for e in &items {
            let currency = text(e, "purchase_currency");
            let row = match totals.iter().position(|(c, _)| *c == currency) {
                Some(row) => row,
                None => {
                    totals.push((currency, [(0, 0); OUTCOMES.len()]));
                    totals.len() - 1
                }
            };
            let outcome = text(e, "outcome").unwrap_or("");
            if let Some(o) = OUTCOMES.iter().position(|name| *name == outcome) {
                let t = &mut totals[row].1[o];
                t.0 += 1;
                t.1 += e["amount"].as_i64().unwrap_or(0);
            }
        }
        let currencies: Vec<String> = totals
            .iter()
            .map(|(currency, per)| {
                let mut row = format!("{{\"currency\":{}", Value::from(*currency));
                for (name, (count, amount)) in OUTCOMES.iter().zip(per) {
                    row.push_str(&format!(
                        ",\"{name}\":{{\"count\":{count},\"amount\":{amount}}}"
                    ));
                }
                row.push('}');
                row
            })
            .collect();
        Ok(format!(
            "{{\"from\":{},\"to\":{},\"unwritten\":{},\n\"currencies\":{},\n\"items\":{}}}",
            Value::from(from),
            Value::from(to),
            unwritten,
            lines_array(&currencies),
            lines_array(&items)
        ))
    }

    /// The records of `kpos_history_find`: every history line and open journal record whose
    /// `merchant_reference1` or `merchant_reference2` is `reference`, with the Order Management
    /// work on their orders: history lines in the order recorded, then open records.
    pub fn history_find(&self, reference: &str) -> Result<String> {
        if reference.is_empty()
            || reference.chars().count() > MAX_REFERENCE_CHARS
            || reference.chars().any(char::is_control)
        {
            return Err(Error::invalid_field(
                "merchant_reference",
                "must be 1 to 255 characters without control characters",
            ));
        }
        let mut all = self.locked(|| {
            let mut all = self.history().lines(None)?;
            let known = known_records(&all);
            all.extend(self.open_items(&known)?);
            Ok(all)
        })?;
        let names = |e: &Value| {
            text(e, "merchant_reference1") == Some(reference)
                || text(e, "merchant_reference2") == Some(reference)
        };
        let orders: Seen = all
            .iter()
            .filter(|e| e["kind"] == "session" && names(e))
            .filter_map(|e| text(e, "order_id").map(|o| (o.to_string(), 0)))
            .collect();
        all.retain(|e| {
            names(e)
                || (e["kind"] != "session"
                    && text(e, "order_id").is_some_and(|o| orders.contains_key(o)))
        });
        Ok(lines_array(&all))
    }
}
