//! Live-handle registries. A handle given to C is an opaque number, never an address: numbers come
//! from one process-wide counter and are never reused, so a freed, foreign or never-created
//! handle is reported as `KPOS_E_INVALID_ARGUMENT` instead of being dereferenced or silently
//! meaning another object, and a double free is a no-op. Calls hold their own `Arc` clone, so a
//! concurrent free cannot pull an object from under a call.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock, RwLock};

/// Handle numbers step by 16 so they look like aligned pointers to tools that inspect them.
const HANDLE_STEP: usize = 16;
static NEXT_HANDLE: AtomicUsize = AtomicUsize::new(0x1000);
/// Handles of every kind currently live, for tests that prove nothing is left behind.
static LIVE: AtomicUsize = AtomicUsize::new(0);

/// Number of live handles of every kind in this process.
pub fn live_handles() -> usize {
    LIVE.load(Ordering::Relaxed)
}

use crate::core::fork::ForkLock;
use crate::core::Error;

pub struct Registry<T> {
    kind: &'static str,
    live: LazyLock<RwLock<HashMap<usize, Arc<T>>>>,
}

impl<T> Registry<T> {
    pub const fn new(kind: &'static str) -> Registry<T> {
        Registry {
            kind,
            live: LazyLock::new(|| RwLock::new(HashMap::new())),
        }
    }

    /// The registry's lock, for the fork handlers (see `core::fork`).
    pub fn fork_lock(&'static self) -> &'static dyn ForkLock
    where
        T: Send + Sync + 'static,
    {
        &self.live
    }

    /// Takes ownership of `value` and returns its handle.
    pub fn insert(&self, value: T) -> usize {
        let arc = Arc::new(value);
        let key = NEXT_HANDLE.fetch_add(HANDLE_STEP, Ordering::Relaxed);
        self.live
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key, arc);
        LIVE.fetch_add(1, Ordering::Relaxed);
        key
    }

    pub fn get(&self, key: usize) -> Result<Arc<T>, Error> {
        if key == 0 {
            return Err(Error::invalid_argument(format!(
                "{} must not be NULL",
                self.kind
            )));
        }
        self.live
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)
            .cloned()
            .ok_or_else(|| {
                Error::invalid_argument(format!(
                    "{} is not a live handle (already freed, or not created by this library)",
                    self.kind
                ))
            })
    }

    /// Removes the handle; the object is dropped once no call is using it. Returns whether the
    /// handle was live.
    pub fn remove(&self, key: usize) -> bool {
        let removed = self
            .live
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&key);
        if removed.is_some() {
            LIVE.fetch_sub(1, Ordering::Relaxed);
        }
        removed.is_some()
    }
}
