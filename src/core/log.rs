//! The library's log sink. The FFI layer installs a C callback here; the core only calls
//! [`log`]. Messages must never contain credentials; personal data only at [`Level::Trace`].

use std::sync::{Arc, RwLock};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u32)]
pub enum Level {
    Error = 1,
    Warn = 2,
    Info = 3,
    Debug = 4,
    Trace = 5,
}

impl Level {
    pub fn from_u32(n: u32) -> Option<Level> {
        [
            Level::Error,
            Level::Warn,
            Level::Info,
            Level::Debug,
            Level::Trace,
        ]
        .into_iter()
        .find(|l| *l as u32 == n)
    }
}

pub type Sink = Box<dyn Fn(Level, &str) + Send + Sync>;

struct Logger {
    sink: Arc<Sink>,
    max_level: Level,
}

static LOGGER: RwLock<Option<Logger>> = RwLock::new(None);

/// Installs (or with `None` removes) the process-wide sink.
pub fn set_sink(sink: Option<Sink>, max_level: Level) {
    let sink_level = sink.as_ref().map(|_| max_level);
    let mut guard = LOGGER.write().unwrap_or_else(|e| e.into_inner());
    *guard = sink.map(|sink| Logger {
        sink: Arc::new(sink),
        max_level,
    });
    drop(guard);
    super::log_env::callback_changed(sink_level);
}

/// Whether a message at `level` would reach the sink (to skip formatting otherwise).
pub fn enabled(level: Level) -> bool {
    if super::log_env::enabled(level) {
        return true;
    }
    let guard = LOGGER.read().unwrap_or_else(|e| e.into_inner());
    matches!(&*guard, Some(l) if level <= l.max_level)
}

pub fn emit(level: Level, message: &str) {
    // The environment's log (KLARNA_POS_LOG) first; it takes what its own level admits.
    super::log_env::write(level, message);
    // Call outside the lock, so a sink may log or replace itself without deadlocking.
    let sink = {
        let guard = LOGGER.read().unwrap_or_else(|e| e.into_inner());
        match &*guard {
            Some(l) if level <= l.max_level => l.sink.clone(),
            _ => return,
        }
    };
    sink(level, message);
}

/// `log!(Level::Debug, "fmt", args)`: formats only when the level is enabled.
macro_rules! log {
    ($level:expr, $($arg:tt)*) => {
        if $crate::core::log::enabled($level) {
            $crate::core::log::emit($level, &format!($($arg)*));
        }
    };
}
pub(crate) use log;
