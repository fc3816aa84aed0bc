//! What a `fork()` of the till process means for the library (Unix).
//!
//! `fork` copies the memory of every thread but runs only the forking one in the child. A lock
//! another thread held at that instant would stay locked in the child forever, and a connection
//! in a client's pool would be shared by two processes writing requests into one socket and
//! reading each other's answers. So:
//!
//! - Fork handlers (`pthread_atfork`) take the process-wide locks (the handle registries, the
//!   buffers handed to C, the log sink) before the fork and release them on both sides after
//!   it: a fork waits for the short critical sections in flight instead of cutting them.
//! - Every fork bumps [`generation`] in the child. A client's connection pool belongs to the
//!   generation that built it; the child starts with an empty pool of its own (the parent's
//!   connections are left untouched, neither used nor closed, so the parent keeps them). The
//!   connection layer (`http/conn.rs`) also refuses any connection of another generation.
//! - The journal needs neither: it serialises with a lock on its lock file, which the kernel
//!   drops with the process or the `unlock`, never with a thread.

use std::any::Any;
use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{LazyLock, Mutex, Once, OnceLock, RwLock};

#[cfg(unix)]
use super::log;

/// A process-wide lock the fork handlers hold across `fork`.
pub trait ForkLock: Sync {
    /// Takes the lock; the returned guard is dropped after the fork, on both sides.
    fn hold(&'static self) -> Box<dyn Any>;
}

impl<T: Send + Sync + 'static> ForkLock for LazyLock<RwLock<T>> {
    fn hold(&'static self) -> Box<dyn Any> {
        Box::new(self.write().unwrap_or_else(|e| e.into_inner()))
    }
}

impl<T: Send + 'static> ForkLock for LazyLock<Mutex<T>> {
    fn hold(&'static self) -> Box<dyn Any> {
        Box::new(self.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

static GENERATION: AtomicU64 = AtomicU64::new(0);
/// The locks of the C boundary (set once by it), taken in this order.
static LOCKS: OnceLock<&'static [&'static dyn ForkLock]> = OnceLock::new();
static INSTALL: Once = Once::new();

thread_local! {
    /// The guards taken before a fork; the forking thread drops them after it (in the child
    /// it is the only thread).
    static HELD: RefCell<Vec<Box<dyn Any>>> = const { RefCell::new(Vec::new()) };
}

/// How many forks separate this process from the one that loaded the library (0 there).
pub fn generation() -> u64 {
    GENERATION.load(Ordering::Acquire)
}

/// Registers the fork handlers (once per process) and, the first time it is given, the
/// process-wide locks of the C boundary.
pub fn install(locks: Option<&'static [&'static dyn ForkLock]>) {
    if let Some(l) = locks {
        let _ = LOCKS.set(l);
    }
    INSTALL.call_once(|| {
        #[cfg(unix)]
        // SAFETY: the handlers are plain functions of this library; glibc ties them to it, so
        // unloading the library removes them.
        unsafe {
            libc::pthread_atfork(Some(prepare), Some(parent), Some(child));
        }
    });
}

#[cfg(unix)]
unsafe extern "C" fn prepare() {
    // Never unwind into libc: a panic here (only an allocation failure could cause one) leaves
    // the locks as they are.
    let _ = std::panic::catch_unwind(|| {
        let mut guards: Vec<Box<dyn Any>> = Vec::new();
        if let Some(locks) = LOCKS.get() {
            for l in locks.iter() {
                guards.push(l.hold());
            }
        }
        guards.push(log::hold_for_fork());
        HELD.with(|h| h.borrow_mut().extend(guards));
    });
}

#[cfg(unix)]
fn release() {
    let _ = std::panic::catch_unwind(|| {
        let guards = HELD.with(|h| std::mem::take(&mut *h.borrow_mut()));
        // Released in the reverse order of taking.
        for g in guards.into_iter().rev() {
            drop(g);
        }
    });
}

#[cfg(unix)]
unsafe extern "C" fn parent() {
    release();
}

#[cfg(unix)]
unsafe extern "C" fn child() {
    GENERATION.fetch_add(1, Ordering::AcqRel);
    release();
    let _ = std::panic::catch_unwind(log::forked);
}
