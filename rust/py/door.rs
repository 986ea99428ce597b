//! The one door every call into the core goes through (polars' `enter_polars` is the model).
//!
//! The rule it enforces: the machine lock is taken only with the GIL released, and it is
//! dropped before any Python object (result or exception) is built. A thread that holds the lock
//! therefore never waits for the GIL, and a thread that holds the GIL never waits for the lock:
//! no deadlock between the two, whatever Python code runs on other threads. In order:
//!
//! 1. release the GIL (`py.detach`), so other Python threads run while the core works;
//! 2. on the main thread, arm the core's interrupt flag (SIGINT sets it, see [`sigint`]);
//! 3. take the lock, waiting in slices so that Ctrl-C also ends a wait for a busy machine;
//! 4. refuse to run on a machine poisoned by an earlier panic;
//! 5. run the core call, catching a panic (which poisons the machine: later calls name the
//!    operation that panicked instead of running on a half-updated state);
//! 6. drop the lock, disarm, take the GIL back, and only then build the result or the error.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Duration;

use numasim_core::{interrupt, Error};
use parking_lot::Mutex;
use pyo3::prelude::*;

use crate::errors::{failure_to_pyerr, Failure};

/// State behind the lock: the value (a Machine) and, after a panic, what panicked.
struct Slot<T> {
    value: T,
    poisoned: Option<String>,
}

/// A value that Python threads share through the door.
pub struct Door<T> {
    slot: Mutex<Slot<T>>,
}

/// How long one wait for the lock lasts before the interrupt flag is looked at again.
const LOCK_SLICE: Duration = Duration::from_millis(20);

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_string())
}

/// Runs `f` with the GIL released, the thread armed for Ctrl-C if it is the main thread, and
/// panics caught. No lock: for the constructor and pure functions.
pub fn run<R: Send>(
    py: Python<'_>,
    op: &'static str,
    f: impl FnOnce() -> Result<R, Error> + Send,
) -> PyResult<R> {
    let main = sigint::prepare();
    let out = py.detach(|| {
        let _armed = main.then(interrupt::arm);
        match catch_unwind(AssertUnwindSafe(f)) {
            Ok(r) => r.map_err(Failure::Core),
            Err(p) => Err(Failure::Panic { op, message: panic_message(&*p) }),
        }
    });
    out.map_err(|f| failure_to_pyerr(py, f))
}

impl<T: Send> Door<T> {
    pub fn new(value: T) -> Self {
        Door { slot: Mutex::new(Slot { value, poisoned: None }) }
    }

    /// Runs `f` on the shared value following the rule above. `op` names the operation in
    /// the poison message.
    pub fn enter<R: Send>(
        &self,
        py: Python<'_>,
        op: &'static str,
        f: impl FnOnce(&mut T) -> Result<R, Error> + Send,
    ) -> PyResult<R> {
        let main = sigint::prepare();
        let out = py.detach(|| {
            let _armed = main.then(interrupt::arm);
            let mut slot = loop {
                if let Some(g) = self.slot.try_lock_for(LOCK_SLICE) {
                    break g;
                }
                interrupt::check().map_err(Failure::Core)?;
            };
            if let Some(what) = &slot.poisoned {
                return Err(Failure::Poisoned { op, what: what.clone() });
            }
            let r = catch_unwind(AssertUnwindSafe(|| f(&mut slot.value)));
            match r {
                Ok(r) => r.map_err(Failure::Core),
                Err(p) => {
                    let message = panic_message(&*p);
                    slot.poisoned = Some(format!("{op}: {message}"));
                    Err(Failure::Panic { op, message })
                }
            }
            // The guard drops here, before the GIL is taken back.
        });
        out.map_err(|f| failure_to_pyerr(py, f))
    }
}

/// SIGINT while the core runs: Python's own handler only sets a flag that the interpreter looks
/// at between bytecodes, which never happen while a long core call runs with the GIL released.
/// numasim chains a handler in front of it that also raises the core's interrupt flag; the
/// previous handler (Python's) still runs, so the KeyboardInterrupt is raised as usual once the
/// call returns (see `errors::failure_to_pyerr`).
pub mod sigint {
    #[cfg(unix)]
    mod imp {
        use std::cell::Cell;
        use std::sync::atomic::{AtomicI32, AtomicUsize, Ordering};

        /// The handler that was installed before ours (Python's), and its sa_flags.
        static PREV_HANDLER: AtomicUsize = AtomicUsize::new(libc::SIG_DFL);
        static PREV_FLAGS: AtomicI32 = AtomicI32::new(0);

        thread_local! {
            static IS_MAIN: Cell<Option<bool>> = const { Cell::new(None) };
        }

        extern "C" fn on_sigint(
            sig: libc::c_int,
            info: *mut libc::siginfo_t,
            ctx: *mut libc::c_void,
        ) {
            let prev = PREV_HANDLER.load(Ordering::Relaxed);
            if prev == libc::SIG_IGN {
                // The program asked for Ctrl-C to be ignored: so do we.
                return;
            }
            numasim_core::interrupt::request();
            if prev == libc::SIG_DFL {
                // The default action terminates the process: restore it and let it happen.
                // SAFETY: signal() and raise() are async-signal-safe.
                unsafe {
                    libc::signal(sig, libc::SIG_DFL);
                    libc::raise(sig);
                }
                return;
            }
            // SAFETY: `prev` is the address of the handler sigaction() reported, with the
            // calling convention its flags say.
            unsafe {
                if PREV_FLAGS.load(Ordering::Relaxed) & libc::SA_SIGINFO != 0 {
                    let f: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
                        std::mem::transmute(prev);
                    f(sig, info, ctx);
                } else {
                    let f: extern "C" fn(libc::c_int) = std::mem::transmute(prev);
                    f(sig);
                }
            }
        }

        /// Whether this is the process's first thread, the one CPython runs signal handlers on.
        fn on_main_thread() -> bool {
            IS_MAIN.with(|m| {
                m.get().unwrap_or_else(|| {
                    // SAFETY: plain system calls without arguments.
                    let main = unsafe { libc::gettid() == libc::getpid() };
                    m.set(Some(main));
                    main
                })
            })
        }

        /// Makes sure our handler is in front of whatever handles SIGINT now (Python reinstalls
        /// its own when a program calls signal.signal(SIGINT, ...)); returns whether the calling
        /// thread is the main thread, the only one a Ctrl-C should stop.
        pub fn prepare() -> bool {
            if !on_main_thread() {
                return false;
            }
            // SAFETY: sigaction with valid pointers; the handler only does async-signal-safe work.
            unsafe {
                let mut cur: libc::sigaction = std::mem::zeroed();
                if libc::sigaction(libc::SIGINT, std::ptr::null(), &raw mut cur) != 0 {
                    return true;
                }
                if cur.sa_sigaction == on_sigint as *const () as usize {
                    return true;
                }
                PREV_HANDLER.store(cur.sa_sigaction, Ordering::Relaxed);
                PREV_FLAGS.store(cur.sa_flags, Ordering::Relaxed);
                let mut act: libc::sigaction = std::mem::zeroed();
                act.sa_sigaction = on_sigint as *const () as usize;
                act.sa_flags =
                    libc::SA_SIGINFO | (cur.sa_flags & (libc::SA_RESTART | libc::SA_ONSTACK));
                act.sa_mask = cur.sa_mask;
                libc::sigaction(libc::SIGINT, &raw const act, std::ptr::null_mut());
            }
            true
        }
    }

    #[cfg(not(unix))]
    mod imp {
        /// No chained handler off Unix: Ctrl-C takes effect when the call returns.
        pub fn prepare() -> bool {
            false
        }
    }

    pub use imp::prepare;
}
