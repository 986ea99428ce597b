//! Cooperative interruption of long core operations (Ctrl-C).
//!
//! The core never looks at signals. Whoever drives it (the Python binding) arms the calling
//! thread with [`arm`] around a call that may run long and calls [`request`] from its SIGINT
//! handler; the core's long loops call [`check`] at points where the kernel itself could stop
//! (between pages of a fault loop, between migration batches), so an interrupted operation
//! leaves the machine consistent: `Machine::check()` passes and every page is where a real
//! kernel interrupted at the same point would have left it.
//!
//! Only armed threads see a request: a Ctrl-C meant for the thread that holds the console does
//! not stop work another thread is doing on another machine.

use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use crate::error::{Error, Result};

/// A request is pending (set by [`request`], cleared when the last armed scope ends).
static PENDING: AtomicBool = AtomicBool::new(false);
/// Number of armed scopes alive in the process.
static ARMED: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static THIS_THREAD_ARMED: Cell<bool> = const { Cell::new(false) };
}

/// Asks every armed operation to stop at its next safe point. Async-signal-safe (two atomic
/// operations): call it from a signal handler. Without an armed scope it does nothing, so a
/// Ctrl-C that arrives between calls does not stop the next one.
pub fn request() {
    if ARMED.load(Ordering::Relaxed) > 0 {
        PENDING.store(true, Ordering::Relaxed);
    }
}

/// While alive, [`check`] on this thread reports pending requests.
#[must_use = "the scope is armed only while the guard lives"]
pub struct Armed {
    was_armed: bool,
}

/// Arms the calling thread until the guard drops.
pub fn arm() -> Armed {
    ARMED.fetch_add(1, Ordering::Relaxed);
    Armed { was_armed: THIS_THREAD_ARMED.with(|a| a.replace(true)) }
}

impl Drop for Armed {
    fn drop(&mut self) {
        THIS_THREAD_ARMED.with(|a| a.set(self.was_armed));
        if ARMED.fetch_sub(1, Ordering::Relaxed) == 1 {
            PENDING.store(false, Ordering::Relaxed);
        }
    }
}

/// `Err(Interrupted)` if a request is pending and this thread is armed. Costs one relaxed
/// atomic load when nothing is pending, so hot loops may call it per page.
#[inline]
pub fn check() -> Result<()> {
    if PENDING.load(Ordering::Relaxed) && THIS_THREAD_ARMED.with(Cell::get) {
        return Err(Error::interrupted("interrupted by the user"));
    }
    Ok(())
}

/// Whether a request is pending for this thread (for loops that stop without an error).
#[inline]
pub fn pending() -> bool {
    check().is_err()
}

/// Serialises the tests that raise requests: a request is process-wide, so two such tests
/// running in parallel would see each other's.
#[cfg(test)]
pub(crate) fn test_guard() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    #[test]
    fn only_armed_threads_see_a_request_and_disarming_clears_it() {
        let _serial = test_guard();
        request(); // nothing armed: ignored
        assert!(check().is_ok());
        let guard = arm();
        assert!(check().is_ok());
        let other = std::thread::spawn(|| {
            let _g = arm();
            // A second armed scope on another thread keeps the request alive until both end.
            while !pending() {
                std::thread::yield_now();
            }
        });
        request();
        assert_eq!(check().unwrap_err().kind, ErrorKind::Interrupted);
        // An unarmed thread does not see it.
        assert!(std::thread::spawn(check).join().unwrap().is_ok());
        other.join().unwrap();
        drop(guard);
        assert!(check().is_ok());
        let _g = arm();
        assert!(check().is_ok(), "a request ends with the scopes that saw it");
    }
}
