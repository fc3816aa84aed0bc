//! The crash-safe journal of in-flight work (config key `journal_dir`).
//!
//! Before a session create or an Order Management call leaves the process, a record of it is
//! written and fsynced; when the work ends, a closing line is appended. Whatever a killed, frozen
//! or powered-off till left open is listed by [`Journal::pending`] after the restart: sessions to
//! resume, and calls to repeat with their recorded idempotency key (Klarna applies them once).
//!
//! # Files
//!
//! `journal_dir/klarna-pos.journal` holds the records; `journal_dir/klarna-pos.journal.lock` is
//! only ever locked (never renamed), so every process locks the same inode even while another
//! one compacts the journal. Both are created with mode 0600 on Unix: records carry result URLs
//! (which act as capabilities for reading a session's status) and refund bodies.
//!
//! On Unix the directory must belong to the user running the till and must not be writable by
//! group or others (a directory the library creates gets mode 0700): anyone who can write there
//! could plant records or swap the files. Neither file is opened through a symbolic link
//! (`O_NOFOLLOW`), and compaction writes a temporary file created exclusively under an
//! unpredictable name, so a link planted in the directory can neither redirect a write nor be
//! renamed over the journal. Temporary files left by a compaction killed midway are removed
//! when the journal is opened.
//!
//! # Format (version 1)
//!
//! UTF-8 JSON lines, append-only. The first line is the header `{"klarna_pos_journal":1}`; a
//! newer version is refused rather than misread. Every other line has an `op` and the `id` of
//! the record it belongs to:
//!
//! ```text
//! {"op":"open","id":"…","kind":"session","created_at":"2026-05-01T12:00:00Z","created_unix":1777636800,"order_amount":12500,"merchant_reference1":"R-1"}
//! {"op":"session","id":"…","session_id":"…","result_url":"https://…"}
//! {"op":"open","id":"…","kind":"refund","created_at":"…","created_unix":…,"order_id":"…","idempotency_key":"…","body":{…}}
//! {"op":"close","id":"…","outcome":"COMPLETED"}
//! ```
//!
//! `kind` is `session`, `capture`, `refund`, `cancel` or `release` (`body` is `null` for the last
//! two). A record is open until a `close` line names it. A line that cannot be read (typically
//! the torn last line of a process killed while writing) is skipped with a logged warning; the
//! next append first ends it with a newline so it cannot swallow the new line.
//!
//! # When records open and close
//!
//! - A session record opens before `POST /payments/v1/sessions` and learns its `session_id` and
//!   `result_url` from the answer. It closes when the session is seen terminal (poll, wait,
//!   cancel; also through a session resumed by id), or when Klarna refused the create for good
//!   (a 4xx other than 408/429). A create whose answer never came (timeout, reset, 5xx) stays
//!   open without a session id: the pending list shows it with `session_id: null` so the till
//!   can tell the cashier that a payment of that amount and reference may exist (with a static
//!   short code the customer can pay without seeing a QR). It cannot be resumed; it is closed as
//!   `EXPIRED` once Klarna's session lifetime (46 hours) has passed.
//! - An Order Management record opens before its POST and closes when the call succeeded or was
//!   refused for good (a 4xx other than 408/429). After a timeout, a reset or a 5xx it stays
//!   open. Repeating the call with the same kind, order id and idempotency key reuses the open
//!   record and closes it when Klarna answers.
//!
//! # Sharing and durability
//!
//! An exclusive lock on the lock file (`File::lock`, opened anew for each use) serialises the
//! threads of a process and the processes around every append, read and compaction; the kernel
//! drops it with its file, never with a thread, so a `fork` cannot leave it held. Lines logged
//! while it is held are sent to the log callback after it is released. Each record
//! line is written with one `write` and fsynced before the request is sent. A journal that
//! cannot be written fails the call before anything is sent (`KPOS_E_INVALID_ARGUMENT`, field
//! `journal_dir`); a closing line that cannot be written only leaves the record open (logged):
//! repeating the work with its key is harmless.
//!
//! # Compaction
//!
//! When closed records outnumber open ones, or the file has unreadable lines (checked when the
//! journal is opened and after every [`COMPACT_CHECK_EVERY`] closes), the file is rewritten with the header and the open records'
//! lines only, into a temporary file that is fsynced and renamed over the journal (then the
//! directory is fsynced), so a crash leaves either the old or the new file, never a mix.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{json, Map, Value};

use super::clock;
use super::error::{Error, Result};
use super::history::{self, History};
use super::id;
use super::log::{self, log, Level};
use super::order::SessionRequest;
use super::session::Sale;

pub const FORMAT_VERSION: u64 = 1;
const FILE_NAME: &str = "klarna-pos.journal";
const LOCK_NAME: &str = "klarna-pos.journal.lock";
/// The temporary file of a compaction is this plus a random suffix.
const TEMP_PREFIX: &str = "klarna-pos.journal.tmp-";
/// Klarna lets an in-store session live 46 hours; an unanswered create is moot after that.
const SESSION_LIFETIME: Duration = Duration::from_secs(46 * 3600);
/// Closes between two checks whether compaction is worth it.
pub const COMPACT_CHECK_EVERY: u32 = 64;

/// What a record stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Session,
    Capture,
    Refund,
    Cancel,
    Release,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Session => "session",
            Kind::Capture => "capture",
            Kind::Refund => "refund",
            Kind::Cancel => "cancel",
            Kind::Release => "release",
        }
    }

    fn from_name(s: &str) -> Option<Kind> {
        [
            Kind::Session,
            Kind::Capture,
            Kind::Refund,
            Kind::Cancel,
            Kind::Release,
        ]
        .into_iter()
        .find(|k| k.name() == s)
    }
}

/// What a closing record adds to its history line beyond what the journal holds.
#[derive(Debug, Default)]
pub struct Finished {
    /// Klarna's session id (when the journal could not record it from the create's answer).
    pub session_id: Option<String>,
    pub order_id: Option<String>,
    pub klarna_reference: Option<String>,
    /// Klarna's error code of a failed session or a refused call (else the library's code name).
    pub failure_code: Option<String>,
    /// Klarna's capture or refund id.
    pub created_id: Option<String>,
}

/// The id of one record in the journal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordId(String);

/// An Order Management call as recorded.
pub struct Call<'a> {
    pub kind: Kind,
    pub order_id: &'a str,
    pub idempotency_key: &'a str,
    /// The validated request body; `None` for cancel and release.
    pub body: Option<&'a Value>,
}

pub struct Journal {
    dir: PathBuf,
    closes_since_check: AtomicU32,
    /// Finished work, kept when compaction drops its record (see `history.rs`).
    history: History,
}

/// A record as folded from the file's lines.
pub(super) struct Record {
    pub(super) id: String,
    pub(super) kind: Kind,
    pub(super) open_line: Map<String, Value>,
    pub(super) session_id: Option<String>,
    result_url: Option<String>,
    /// The record's lines as read, for compaction.
    lines: Vec<String>,
    closed: bool,
}

impl Record {
    pub(super) fn text(&self, key: &str) -> Option<&str> {
        self.open_line.get(key).and_then(Value::as_str)
    }

    /// The record as `kpos_journal_pending` shows it.
    fn pending_view(&self) -> Value {
        let field = |k: &str| self.open_line.get(k).cloned().unwrap_or(Value::Null);
        match self.kind {
            Kind::Session => json!({
                "kind": "session",
                "session_id": self.session_id,
                "result_url": self.result_url,
                "created_at": field("created_at"),
                "merchant_reference1": field("merchant_reference1"),
                "merchant_reference2": field("merchant_reference2"),
                "order_amount": field("order_amount"),
                "purchase_currency": field("purchase_currency"),
            }),
            k => json!({
                "kind": k.name(),
                "order_id": field("order_id"),
                "idempotency_key": field("idempotency_key"),
                "body": field("body"),
                "created_at": field("created_at"),
            }),
        }
    }
}

/// Everything read from the journal file.
pub(super) struct Folded {
    pub(super) records: Vec<Record>,
    /// Lines that could not be read (compaction drops them).
    unreadable: usize,
}

impl Folded {
    pub(super) fn open_records(&self) -> impl Iterator<Item = &Record> {
        self.records.iter().filter(|r| !r.closed)
    }

    fn counts(&self) -> (usize, usize) {
        let open = self.open_records().count();
        (open, self.records.len() - open)
    }
}

/// Holds the cross-process lock until dropped.
struct Locked(File);

impl Drop for Locked {
    fn drop(&mut self) {
        let _ = self.0.unlock();
    }
}

pub(super) fn journal_error(what: &str, path: &Path, e: std::io::Error) -> Error {
    Error::bad_config(
        "journal_dir",
        format!("journal: {} {}: {}", what, path.display(), e),
    )
}

/// A journal or history file of another format version than this library's (`supported`):
/// refused rather than misread.
pub(super) fn version_error(path: &Path, found: &Value, supported: u64) -> Error {
    Error::bad_config(
        "journal_dir",
        format!(
            "{} has format version {} but this library reads version {}",
            path.display(),
            found,
            supported
        ),
    )
}

/// A record that could not be written before its request: the request is not sent.
fn nothing_sent(mut e: Error) -> Error {
    e.message.push_str(" (nothing was sent)");
    e
}

/// Mode 0600, and never through a symbolic link.
pub(super) fn open_options() -> OpenOptions {
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        let mut o = OpenOptions::new();
        o.mode(0o600).custom_flags(libc::O_NOFOLLOW);
        o
    }
    #[cfg(not(unix))]
    OpenOptions::new()
}

/// Creates `dir` (mode 0700 on Unix) when missing, and refuses a directory that another user
/// owns or that group or others may write to.
fn prepare_dir(dir: &Path) -> Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, MetadataExt};
        builder.mode(0o700);
        builder
            .create(dir)
            .map_err(|e| journal_error("cannot create", dir, e))?;
        let meta = std::fs::metadata(dir).map_err(|e| journal_error("cannot read", dir, e))?;
        // SAFETY: geteuid has no preconditions.
        let me = unsafe { libc::geteuid() };
        if meta.uid() != me {
            return Err(Error::bad_config(
                "journal_dir",
                format!(
                    "journal: {} belongs to user id {}, not to this process's user ({}): another \
                     user could plant or swap its records",
                    dir.display(),
                    meta.uid(),
                    me
                ),
            ));
        }
        if meta.mode() & 0o022 != 0 {
            return Err(Error::bad_config(
                "journal_dir",
                format!(
                    "journal: {} may be written by {} (mode {:o}): other users could plant or \
                     swap its records; make it private (chmod 700)",
                    dir.display(),
                    if meta.mode() & 0o002 != 0 {
                        "every user"
                    } else {
                        "its group"
                    },
                    meta.mode() & 0o7777
                ),
            ));
        }
    }
    #[cfg(not(unix))]
    builder
        .create(dir)
        .map_err(|e| journal_error("cannot create", dir, e))?;
    Ok(())
}

impl Journal {
    /// Opens (creating when needed) the journal in `dir`, closes unanswered creates older than a
    /// session's lifetime and compacts when closed records dominate. Errors are
    /// `InvalidArgument` with field `journal_dir`.
    pub fn open(dir: &Path) -> Result<Journal> {
        prepare_dir(dir)?;
        let journal = Journal {
            dir: dir.to_path_buf(),
            closes_since_check: AtomicU32::new(0),
            history: History::new(dir),
        };
        {
            let _quiet = log::defer();
            let _lock = journal.lock()?;
            journal.remove_leftover_temporaries();
            let path = journal.path(FILE_NAME);
            let mut file = open_options()
                .read(true)
                .append(true)
                .create(true)
                .open(&path)
                .map_err(|e| journal_error("cannot open", &path, e))?;
            let len = file
                .metadata()
                .map_err(|e| journal_error("cannot read", &path, e))?
                .len();
            if len == 0 {
                file.write_all(format!("{{\"klarna_pos_journal\":{FORMAT_VERSION}}}\n").as_bytes())
                    .and_then(|_| file.sync_all())
                    .map_err(|e| journal_error("cannot write", &path, e))?;
                sync_dir(dir);
            }
            drop(file);
            let folded = journal.read()?;
            let now = unix_now();
            for r in folded.open_records() {
                let created = r
                    .open_line
                    .get("created_unix")
                    .and_then(Value::as_u64)
                    .unwrap_or(now);
                if r.kind == Kind::Session
                    && r.session_id.is_none()
                    && now.saturating_sub(created) > SESSION_LIFETIME.as_secs()
                {
                    journal.close_locked(r, "EXPIRED", &Finished::default())?;
                }
            }
        }
        journal.compact_if_worth_it()?;
        let (open, closed) = journal.locked(|| journal.read())?.counts();
        log!(
            Level::Info,
            "journal {}: {} open record(s), {} closed",
            journal.path(FILE_NAME).display(),
            open,
            closed
        );
        Ok(journal)
    }

    /// Removes temporary files a compaction killed midway left behind (nobody else compacts
    /// while the lock is held). A symlink is removed as a link; its target is untouched.
    fn remove_leftover_temporaries(&self) {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return;
        };
        for entry in entries.flatten() {
            if entry.file_name().to_string_lossy().starts_with(TEMP_PREFIX) {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Takes the cross-process lock (blocking until another process releases it).
    fn lock(&self) -> Result<Locked> {
        let path = self.path(LOCK_NAME);
        let file = open_options()
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| journal_error("cannot open", &path, e))?;
        file.lock()
            .map_err(|e| journal_error("cannot lock", &path, e))?;
        Ok(Locked(file))
    }

    /// Appends one line and fsyncs it. The caller holds the lock.
    fn append(&self, line: &Value) -> Result<()> {
        let path = self.path(FILE_NAME);
        let file = open_options()
            .read(true)
            .append(true)
            .open(&path)
            .map_err(|e| journal_error("cannot open", &path, e))?;
        append_line(file, &path, String::new(), line)
    }

    /// Runs `f` with the lock held; its log lines are sent after the lock is released.
    pub(super) fn locked<T>(&self, f: impl FnOnce() -> Result<T>) -> Result<T> {
        let _quiet = log::defer();
        let _lock = self.lock()?;
        f()
    }

    /// Records a session create before it is sent.
    pub fn open_session(&self, sale: &SessionRequest) -> Result<RecordId> {
        let id = id::uuid_v4()?;
        let mut line = opening(&id, Kind::Session);
        line.insert("order_amount".into(), json!(sale.order_amount));
        line.insert("purchase_currency".into(), json!(sale.purchase_currency));
        line.insert(
            "merchant_reference1".into(),
            json!(sale.merchant_reference1),
        );
        line.insert(
            "merchant_reference2".into(),
            json!(sale.merchant_reference2),
        );
        self.locked(|| self.append(&Value::Object(line)))
            .map_err(nothing_sent)?;
        Ok(RecordId(id))
    }

    /// Adds the session id and result URL from the create answer.
    pub fn session_created(
        &self,
        record: &RecordId,
        session_id: &str,
        result_url: &str,
    ) -> Result<()> {
        let line = json!({"op": "session", "id": record.0, "session_id": session_id,
                          "result_url": result_url});
        self.locked(|| self.append(&line))
    }

    /// The open record of a session, by Klarna's session id, with the sale it recorded.
    pub fn find_session(&self, session_id: &str) -> Result<Option<(RecordId, Sale)>> {
        let folded = self.locked(|| self.read())?;
        let found = folded
            .open_records()
            .find(|r| r.kind == Kind::Session && r.session_id.as_deref() == Some(session_id))
            .map(|r| {
                let text = |k: &str| r.text(k).map(str::to_string);
                let sale = Sale {
                    order_amount: r.open_line.get("order_amount").and_then(Value::as_i64),
                    purchase_currency: text("purchase_currency"),
                    merchant_reference1: text("merchant_reference1"),
                    merchant_reference2: text("merchant_reference2"),
                };
                (RecordId(r.id.clone()), sale)
            });
        Ok(found)
    }

    /// Records an Order Management call before it is sent; a repeat of an open call (same kind,
    /// order id and idempotency key) continues its record.
    pub fn open_call(&self, call: &Call<'_>) -> Result<RecordId> {
        self.locked(|| {
            let folded = self.read()?;
            let existing = folded.open_records().find(|r| {
                r.kind == call.kind
                    && r.text("order_id") == Some(call.order_id)
                    && r.text("idempotency_key") == Some(call.idempotency_key)
            });
            if let Some(r) = existing {
                return Ok(RecordId(r.id.clone()));
            }
            let id = id::uuid_v4()?;
            let mut line = opening(&id, call.kind);
            line.insert("order_id".into(), json!(call.order_id));
            line.insert("idempotency_key".into(), json!(call.idempotency_key));
            line.insert("body".into(), call.body.cloned().unwrap_or(Value::Null));
            self.append(&Value::Object(line))?;
            Ok(RecordId(id))
        })
        .map_err(nothing_sent)
    }

    /// Closes a record with its outcome (a session status, `REFUSED`, `done` or `refused`),
    /// first adding the finished work to the history with what `finished` adds; compacts now
    /// and then.
    ///
    /// A record already closed (by another process or client) is left alone: the history gets
    /// each record once. Writing the history line first means a crash between the two writes
    /// leaves the record open and its history line written; the repeat is recognised by the
    /// record id when the history is read.
    pub fn close(&self, record: &RecordId, outcome: &str, finished: &Finished) -> Result<()> {
        self.locked(|| {
            let folded = self.read()?;
            // Compaction drops closed records only: a record not found was closed.
            match folded.records.iter().find(|r| r.id == record.0) {
                Some(r) if !r.closed => self.close_locked(r, outcome, finished),
                _ => Ok(()),
            }
        })?;
        let n = self.closes_since_check.fetch_add(1, Ordering::Relaxed) + 1;
        if n >= COMPACT_CHECK_EVERY {
            self.compact_if_worth_it()?;
        }
        Ok(())
    }

    /// Adds `r` to the history (a failure there is logged and kept for later, never an error)
    /// and appends its close line. The caller holds the lock.
    fn close_locked(&self, r: &Record, outcome: &str, finished: &Finished) -> Result<()> {
        if let Some(entry) = history::entry(r, outcome, finished) {
            self.history.append(entry);
        }
        self.append(&close_line(&r.id, outcome))
    }

    pub(super) fn history(&self) -> &History {
        &self.history
    }

    /// The open records as `kpos_journal_pending` returns them, oldest first.
    pub fn pending(&self) -> Result<Vec<Value>> {
        let folded = self.locked(|| self.read())?;
        Ok(folded.open_records().map(Record::pending_view).collect())
    }

    /// [`Journal::pending`] as a JSON array with one record per line (easy to split for tills
    /// without a JSON parser); `[]` when nothing is open.
    pub fn pending_json(&self) -> Result<String> {
        Ok(history::lines_array(&self.pending()?))
    }

    /// Rewrites the journal without closed records when they outnumber the open ones, and
    /// without unreadable lines whenever there are any.
    pub fn compact_if_worth_it(&self) -> Result<()> {
        self.closes_since_check.store(0, Ordering::Relaxed);
        self.locked(|| self.compact_locked())
    }

    fn compact_locked(&self) -> Result<()> {
        let folded = self.read()?;
        let (open, closed) = folded.counts();
        if folded.unreadable == 0 && (closed == 0 || closed <= open) {
            return Ok(());
        }
        let temp = self.path(&format!("{}{}", TEMP_PREFIX, id::uuid_v4()?));
        let mut text = format!("{{\"klarna_pos_journal\":{FORMAT_VERSION}}}\n");
        for r in folded.open_records() {
            for line in &r.lines {
                text.push_str(line);
                text.push('\n');
            }
        }
        let mut file = open_options()
            .write(true)
            .create_new(true)
            .open(&temp)
            .map_err(|e| journal_error("cannot create", &temp, e))?;
        let written = file
            .write_all(text.as_bytes())
            .and_then(|_| file.sync_all())
            .map_err(|e| journal_error("cannot write", &temp, e));
        drop(file);
        let path = self.path(FILE_NAME);
        let replaced = written.and_then(|_| {
            std::fs::rename(&temp, &path).map_err(|e| journal_error("cannot replace", &path, e))
        });
        if replaced.is_err() {
            let _ = std::fs::remove_file(&temp);
        }
        replaced?;
        sync_dir(&self.dir);
        log!(
            Level::Info,
            "journal compacted: {} closed record(s) and {} unreadable line(s) dropped, {} open kept",
            closed,
            folded.unreadable,
            open
        );
        Ok(())
    }

    /// Reads and folds the whole file. The caller holds the lock.
    pub(super) fn read(&self) -> Result<Folded> {
        let path = self.path(FILE_NAME);
        let mut bytes = Vec::new();
        open_options()
            .read(true)
            .open(&path)
            .and_then(|mut f| f.read_to_end(&mut bytes))
            .map_err(|e| journal_error("cannot read", &path, e))?;
        fold(&String::from_utf8_lossy(&bytes), &path)
    }
}

/// Appends `line` (after `prefix`) to `file` with one `write` and fsyncs it. A torn last line
/// from a killed writer is first ended, so it cannot swallow this one. The caller holds the
/// journal's lock.
pub(super) fn append_line(
    mut file: File,
    path: &Path,
    mut text: String,
    line: &Value,
) -> Result<()> {
    // A torn last line from a killed writer must not swallow this one.
    let len = file
        .metadata()
        .map_err(|e| journal_error("cannot read", path, e))?
        .len();
    if len > 0 {
        let mut last = [0u8; 1];
        file.seek(SeekFrom::Start(len - 1))
            .and_then(|_| file.read_exact(&mut last))
            .map_err(|e| journal_error("cannot read", path, e))?;
        if last[0] != b'\n' {
            text.push('\n');
        }
    }
    text.push_str(&line.to_string());
    text.push('\n');
    file.write_all(text.as_bytes())
        .and_then(|_| file.sync_data())
        .map_err(|e| journal_error("cannot write", path, e))
}

fn opening(id: &str, kind: Kind) -> Map<String, Value> {
    let now = SystemTime::now();
    let mut line = Map::new();
    line.insert("op".into(), json!("open"));
    line.insert("id".into(), json!(id));
    line.insert("kind".into(), json!(kind.name()));
    line.insert("created_at".into(), json!(clock::rfc3339_utc_seconds(now)));
    line.insert("created_unix".into(), json!(unix_seconds(now)));
    line
}

fn close_line(id: &str, outcome: &str) -> Value {
    json!({"op": "close", "id": id, "outcome": outcome})
}

/// Folds the lines into records. Unreadable lines are skipped with a warning; a header of a
/// newer format is an error (its records could be misread).
fn fold(text: &str, path: &Path) -> Result<Folded> {
    let mut records: Vec<Record> = Vec::new();
    let mut index: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    let mut unreadable = 0;
    for (n, line) in text.split('\n').enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let parsed: Option<Map<String, Value>> = match serde_json::from_str(line) {
            Ok(Value::Object(m)) => Some(m),
            _ => None,
        };
        let Some(obj) = parsed else {
            unreadable += 1;
            log!(
                Level::Warn,
                "journal {} line {}: unreadable (a write cut short by a crash?), skipped",
                path.display(),
                n + 1
            );
            continue;
        };
        if let Some(version) = obj.get("klarna_pos_journal") {
            if version.as_u64() != Some(FORMAT_VERSION) {
                return Err(version_error(path, version, FORMAT_VERSION));
            }
            continue;
        }
        let op = obj.get("op").and_then(Value::as_str).unwrap_or("");
        let id = obj
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        match (op, index.get(&id).copied()) {
            ("open", None) if !id.is_empty() => {
                let Some(kind) = obj
                    .get("kind")
                    .and_then(Value::as_str)
                    .and_then(Kind::from_name)
                else {
                    unreadable += 1;
                    log!(
                        Level::Warn,
                        "journal {} line {}: unknown record kind, skipped",
                        path.display(),
                        n + 1
                    );
                    continue;
                };
                index.insert(id.clone(), records.len());
                records.push(Record {
                    id,
                    kind,
                    open_line: obj,
                    session_id: None,
                    result_url: None,
                    lines: vec![line.to_string()],
                    closed: false,
                });
            }
            ("session", Some(i)) => {
                let r = &mut records[i];
                r.session_id = obj
                    .get("session_id")
                    .and_then(Value::as_str)
                    .map(str::to_string);
                r.result_url = obj
                    .get("result_url")
                    .and_then(Value::as_str)
                    .map(str::to_string);
                r.lines.push(line.to_string());
            }
            ("close", Some(i)) => records[i].closed = true,
            // A close of a record compacted away by another process, or a line of a newer
            // minor feature: nothing to do.
            _ => {}
        }
    }
    Ok(Folded {
        records,
        unreadable,
    })
}

/// Makes a rename or a new file durable in its directory (Unix; a no-op elsewhere).
pub(super) fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Err(e) = File::open(dir).and_then(|d| d.sync_all()) {
        log!(
            Level::Warn,
            "journal: cannot fsync {}: {}",
            dir.display(),
            e
        );
    }
    #[cfg(not(unix))]
    let _ = dir;
}

fn unix_seconds(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn unix_now() -> u64 {
    unix_seconds(SystemTime::now())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!(
            "kpos-journal-unit-{}-{}",
            name,
            id::uuid_v4().unwrap()
        ));
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn sale(amount: i64, reference: &str) -> SessionRequest {
        SessionRequest {
            body: String::new(),
            order_amount: amount,
            purchase_currency: "SEK".into(),
            merchant_reference1: Some(reference.into()),
            merchant_reference2: None,
            short_code: None,
            webhook_url: None,
        }
    }

    fn history_lines(dir: &Path) -> Vec<Value> {
        let mut lines = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            if entry.file_name().to_string_lossy().starts_with("history-") {
                let text = std::fs::read_to_string(entry.path()).unwrap();
                lines.extend(
                    text.lines()
                        .map(|l| serde_json::from_str::<Value>(l).unwrap()),
                );
            }
        }
        lines.retain(|l| l.get("kind").is_some());
        lines
    }

    #[test]
    fn a_session_record_is_pending_until_closed_and_then_in_the_history_once() {
        let dir = temp_dir("session");
        let j = Journal::open(&dir).unwrap();
        let r = j.open_session(&sale(12500, "R-1")).unwrap();
        let p = j.pending().unwrap();
        assert_eq!(p.len(), 1);
        assert_eq!(p[0]["session_id"], Value::Null);
        assert_eq!(p[0]["order_amount"], 12500);
        assert_eq!(p[0]["purchase_currency"], "SEK");
        j.session_created(&r, "s-1", "https://x/s-1").unwrap();
        let (found, sale) = j.find_session("s-1").unwrap().unwrap();
        assert_eq!(found, r);
        assert_eq!(sale.order_amount, Some(12500));
        assert_eq!(sale.merchant_reference1.as_deref(), Some("R-1"));
        assert_eq!(j.pending().unwrap()[0]["result_url"], "https://x/s-1");
        let paid = Finished {
            order_id: Some("o-1".into()),
            ..Finished::default()
        };
        j.close(&r, "COMPLETED", &paid).unwrap();
        // A second close (another process, a repeated getter) adds nothing.
        j.close(&r, "COMPLETED", &paid).unwrap();
        assert!(j.pending().unwrap().is_empty());
        assert!(j.find_session("s-1").unwrap().is_none());
        let h = history_lines(&dir);
        assert_eq!(h.len(), 1, "{h:?}");
        assert_eq!(h[0]["outcome"], "paid");
        assert_eq!(h[0]["amount"], 12500);
        assert_eq!(h[0]["order_id"], "o-1");
        assert_eq!(h[0]["session_id"], "s-1");
        // Compaction drops the closed record from the journal, not from the history.
        j.compact_if_worth_it().unwrap();
        assert_eq!(journal_text(&dir).lines().count(), 1);
        assert_eq!(history_lines(&dir).len(), 1);
        #[cfg(unix)]
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            use std::os::unix::fs::PermissionsExt;
            let mode = entry.metadata().unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{:?}", entry.file_name());
        }
        std::fs::remove_dir_all(dir).unwrap();
    }

    fn journal_text(dir: &Path) -> String {
        std::fs::read_to_string(dir.join(FILE_NAME)).unwrap()
    }

    #[test]
    fn a_refused_create_adds_nothing_to_the_history() {
        let dir = temp_dir("refused");
        let j = Journal::open(&dir).unwrap();
        let r = j.open_session(&sale(100, "R-2")).unwrap();
        j.close(&r, "REFUSED", &Finished::default()).unwrap();
        assert!(history_lines(&dir).is_empty());
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn repeating_an_open_call_continues_its_record() {
        let dir = temp_dir("call");
        let j = Journal::open(&dir).unwrap();
        let body = json!({"refunded_amount": 100});
        let call = Call {
            kind: Kind::Refund,
            order_id: "o-1",
            idempotency_key: "k-1",
            body: Some(&body),
        };
        let a = j.open_call(&call).unwrap();
        let b = j.open_call(&call).unwrap();
        assert_eq!(a, b);
        let other = j
            .open_call(&Call {
                kind: Kind::Capture,
                ..call
            })
            .unwrap();
        assert_ne!(a, other);
        assert_eq!(j.pending().unwrap().len(), 2);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_newer_format_is_refused_rather_than_misread() {
        let dir = temp_dir("version");
        std::fs::write(dir.join(FILE_NAME), "{\"klarna_pos_journal\":2}\n").unwrap();
        let e = Journal::open(&dir).err().unwrap();
        assert_eq!(e.field.as_deref(), Some("journal_dir"));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn an_unanswered_create_older_than_a_session_lifetime_is_closed() {
        let dir = temp_dir("expiry");
        let old = unix_now() - SESSION_LIFETIME.as_secs() - 60;
        std::fs::write(
            dir.join(FILE_NAME),
            format!(
                "{{\"klarna_pos_journal\":1}}\n{{\"op\":\"open\",\"id\":\"a\",\"kind\":\"session\",\"created_at\":\"x\",\"created_unix\":{old},\"order_amount\":1,\"merchant_reference1\":null}}\n"
            ),
        )
        .unwrap();
        let j = Journal::open(&dir).unwrap();
        assert!(j.pending().unwrap().is_empty());
        // The history says the sale of that create expired, without a session id.
        let h = history_lines(&dir);
        assert_eq!(h.len(), 1, "{h:?}");
        assert_eq!(h[0]["outcome"], "expired");
        assert_eq!(h[0]["session_id"], Value::Null);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
