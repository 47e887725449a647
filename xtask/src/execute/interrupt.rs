//! Ctrl-C: the first SIGINT (or SIGTERM) is caught, passed on to the commands running now, and turns
//! every build into a clean stop: the working containers are removed before the process exits.

use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Process ids of the commands running now (0 = free slot); the handler signals them.
static RUNNING: [AtomicI32; 64] = [const { AtomicI32::new(0) }; 64];

extern "C" fn on_signal(_signal: libc::c_int) {
    INTERRUPTED.store(true, Ordering::SeqCst);
    for slot in &RUNNING {
        let pid = slot.load(Ordering::SeqCst);
        if pid > 0 {
            // SAFETY: kill(2) is async-signal-safe.
            unsafe {
                libc::kill(pid, libc::SIGTERM);
            }
        }
    }
}

/// Installs the handler for SIGINT and SIGTERM.
pub fn install() {
    let handler = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
    // SAFETY: the handler only touches atomics and calls kill(2).
    unsafe {
        libc::signal(libc::SIGINT, handler);
        libc::signal(libc::SIGTERM, handler);
    }
}

/// Whether a stop was asked for.
pub fn requested() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// Registers a running command; the returned guard unregisters it.
pub fn track(pid: u32) -> Tracked {
    let pid = pid as i32;
    for (index, slot) in RUNNING.iter().enumerate() {
        if slot.compare_exchange(0, pid, Ordering::SeqCst, Ordering::SeqCst).is_ok() {
            return Tracked(Some(index));
        }
    }
    Tracked(None) // more than 64 at once: still interrupted by the terminal's SIGINT to the group
}

pub struct Tracked(Option<usize>);

impl Drop for Tracked {
    fn drop(&mut self) {
        if let Some(index) = self.0 {
            RUNNING[index].store(0, Ordering::SeqCst);
        }
    }
}
