//! Freeing off the main thread (lazyfree.c's role for this module): a flushed VM and cache, or
//! the wait for the host's own lazy free of the keyspace, run on a worker thread. Workers
//! report back through the module's detached thread-safe context; a client that asked for
//! SYNC stays blocked until its worker is done, while every other client keeps being served.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::host::{self, BlockedClient, LogLevel};

/// Background jobs running now; the module refuses to unload while any is.
static IN_FLIGHT: AtomicU64 = AtomicU64::new(0);
/// Background frees completed since load.
static DONE: AtomicU64 = AtomicU64::new(0);

pub fn in_flight() -> u64 {
    IN_FLIGHT.load(Ordering::SeqCst)
}

pub fn done() -> u64 {
    DONE.load(Ordering::SeqCst)
}

pub fn reset_counters() {
    DONE.store(0, Ordering::SeqCst);
}

/// Drops `what` on a worker thread. With `client`, unblocks it (reply `+OK`) once freed.
/// If no thread can be started, frees inline: slower, never wrong.
pub fn free_in_background<T: Send + 'static>(what: T, label: &'static str, client: Option<BlockedClient>) {
    // Freeing needs no server lock, so it can run at idle priority without ever holding up
    // the main thread.
    spawn(Priority::Idle, move |_on_worker| {
        let started = Instant::now();
        drop(what);
        if let Some(client) = client {
            client.unblock();
        }
        finish(label, started.elapsed());
    });
}

/// Waits on a worker until the host's lazy-free queue is empty (after FLUSHALL ASYNC), then
/// unblocks `client` (`+OK`): the memory is released when the caller hears OK.
pub fn wait_for_host_lazyfree(client: BlockedClient) {
    // This worker takes the server lock: at idle priority it could be preempted while
    // holding it, so it keeps the normal priority.
    spawn(Priority::Normal, move |on_worker| {
        let started = Instant::now();
        // Only a worker may take the server lock; inline (no thread) the caller just gets OK.
        if on_worker {
            while host_lazyfree_pending() {
                std::thread::sleep(Duration::from_millis(2));
            }
        }
        client.unblock();
        finish("keyspace", started.elapsed());
    });
}

/// Whether the host still has objects queued for lazy freeing (from a worker thread).
fn host_lazyfree_pending() -> bool {
    let mut pending = None;
    host::with_server_lock(|ctx| pending = host::server_info_field(ctx, c"memory", c"lazyfree_pending_objects"));
    pending.unwrap_or(0) != 0
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Priority {
    Idle,
    Normal,
}

/// Runs `job(true)` on a new thread, or `job(false)` right here if no thread can be had.
fn spawn<F: FnOnce(bool) + Send + 'static>(priority: Priority, job: F) {
    IN_FLIGHT.fetch_add(1, Ordering::SeqCst);
    let slot = Arc::new(Mutex::new(Some(job)));
    let for_worker = Arc::clone(&slot);
    let take = |s: &Mutex<Option<F>>| s.lock().ok().and_then(|mut j| j.take());
    let started = std::thread::Builder::new().name("alt-lazyfree".into()).spawn(move || {
        if priority == Priority::Idle {
            host::lower_thread_priority();
        }
        if let Some(job) = take(&for_worker) {
            job(true)
        }
    });
    if started.is_err() {
        if let Some(job) = take(&slot) {
            job(false)
        }
    }
}

fn finish(label: &str, took: Duration) {
    // RM_Log is safe from any thread with the module's detached context; no lock is taken.
    host::log_any_thread(LogLevel::Notice, &format!("background flush of the {label} done in {} us", took.as_micros()));
    DONE.fetch_add(1, Ordering::SeqCst);
    IN_FLIGHT.fetch_sub(1, Ordering::SeqCst);
}
