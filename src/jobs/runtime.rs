//! Where recomputes run in `serve`: a runtime of their own, on threads at a lower CPU
//! priority than the API's, with a pool of their own.
//!
//! Why: a recompute is CPU-bound in stretches (decoding a batch's rows, scoring 250
//! shops) that run inside async tasks between its queries. On the API's runtime each
//! such stretch holds one of its worker threads (two on the development machine), and
//! every request queued on that worker waits for it: under the soak bench's full load
//! `/healthz`, which does no work at all, had a p99 of 78–95 ms. On threads of their
//! own, niced, the kernel runs a request's thread as soon as it wakes, and the
//! recompute gets what the requests leave (all of it when they are idle).
//!
//! The pool is separate because a connection's socket is driven by the runtime that
//! opened it: a connection opened here and later lent to a request would wait on these
//! busy, low-priority threads to hear its answer.

use std::future::Future;
use std::sync::Arc;

use sqlx::PgPool;
use tokio::runtime::{Handle, Runtime};
use tokio::sync::Semaphore;

/// Nice value of the threads (0 is the API's; 19 the lowest priority). At 10 a busy
/// thread here weighs about a tenth of a busy API thread in the kernel's scheduler.
const NICE: libc::c_int = 10;

/// Worker threads: as many as the API's, so a recompute on an idle machine is as fast
/// as before.
fn workers() -> usize {
    std::thread::available_parallelism().map_or(2, usize::from)
}

/// Builds the runtime (threads named `shopscore-jobs`).
pub fn build() -> std::io::Result<JobsRuntime> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers())
        .thread_name("shopscore-jobs")
        .on_thread_start(lower_priority)
        .enable_all()
        .build()?;
    Ok(JobsRuntime(Some(runtime)))
}

/// The recompute runtime, owned by `serve` (an async function). A tokio `Runtime`
/// dropped inside another runtime's task panics, since dropping it waits for its
/// threads; this one shuts down without waiting, on every way out of `serve`, an
/// early error included. By then nothing runs there that anyone awaits: `serve` has
/// awaited the scheduler, and a requested recompute ends with its request.
pub struct JobsRuntime(Option<Runtime>);

impl JobsRuntime {
    pub fn handle(&self) -> &Handle {
        self.0.as_ref().expect("present until dropped").handle()
    }
}

impl Drop for JobsRuntime {
    fn drop(&mut self) {
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}

/// Lowers this thread's priority. Best effort: where the kernel refuses (a sandbox
/// filtering `setpriority`), recomputes run at normal priority, as they did before.
fn lower_priority() {
    // SAFETY: `gettid` has no preconditions; `setpriority` with `PRIO_PROCESS` and a
    // thread id changes that one thread's nice value (Linux), here this thread's own.
    let rc = unsafe { libc::setpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t, NICE) };
    if rc != 0 {
        tracing::debug!(error = %std::io::Error::last_os_error(), "recompute threads keep normal priority");
    }
}

/// Where a recompute runs: a runtime's handle and the pool whose connections it opens.
#[derive(Clone, Debug)]
pub struct Jobs {
    pub handle: Handle,
    pub pool: PgPool,
    /// Requested recomputes run one at a time in a process. They would anyway (one
    /// recompute lock in the database), but each waiting there holds a connection, and
    /// a few clients asking at once would take the pool from the run holding the lock.
    turn: Arc<Semaphore>,
}

impl Jobs {
    pub fn new(handle: Handle, pool: PgPool) -> Jobs {
        Jobs {
            handle,
            pool,
            turn: Arc::new(Semaphore::new(1)),
        }
    }

    /// Recomputes on the caller's runtime and pool (tests, and commands other than
    /// `serve`).
    pub fn here(pool: PgPool) -> Jobs {
        Jobs::new(Handle::current(), pool)
    }

    /// Runs `work` on this runtime when no other requested recompute of this process
    /// runs, and waits for it. Dropping the returned future (a client that hangs up)
    /// aborts the work, as dropping it in place would: a run aborted mid-way rolls back.
    pub async fn run_one<T: Send + 'static>(
        &self,
        work: impl Future<Output = T> + Send + 'static,
    ) -> T {
        let turn = Arc::clone(&self.turn);
        let mut task = AbortOnDrop(self.handle.spawn(async move {
            let _turn = turn.acquire_owned().await;
            work.await
        }));
        match (&mut task.0).await {
            Ok(out) => out,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            // Only `AbortOnDrop` aborts, and then nobody is awaiting; the runtime lives as
            // long as the process.
            Err(e) => unreachable!("a recompute task was cancelled: {e}"),
        }
    }
}

/// Aborts its task when dropped before the task ends.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::sync::oneshot;

    /// Sends on its channel when dropped: a task's future is dropped when it is aborted.
    struct Dropped(Option<oneshot::Sender<()>>);

    impl Drop for Dropped {
        fn drop(&mut self) {
            if let Some(tx) = self.0.take() {
                let _ = tx.send(());
            }
        }
    }

    fn jobs() -> Jobs {
        // Never connects: the work below does not touch it.
        Jobs::here(PgPool::connect_lazy("postgres://nobody@127.0.0.1:1/none").unwrap())
    }

    #[test]
    fn the_threads_run_at_nice_10() {
        let rt = build().unwrap();
        let (name, nice) = rt.handle().block_on(async {
            tokio::spawn(async {
                // SAFETY: getpriority of this thread; errno is cleared first, since -1
                // is also a valid answer.
                let nice = unsafe {
                    *libc::__errno_location() = 0;
                    libc::getpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t)
                };
                (std::thread::current().name().map(str::to_string), nice)
            })
            .await
            .unwrap()
        });
        assert_eq!(name.as_deref(), Some("shopscore-jobs"));
        assert_eq!(nice, NICE);
    }

    #[tokio::test]
    async fn dropped_inside_another_runtime_it_shuts_down_without_panicking() {
        let rt = build().unwrap();
        let ran = rt.handle().spawn(async { 7 }).await.unwrap();
        assert_eq!(ran, 7);
        // A bare `Runtime` dropped here panics ("Cannot drop a runtime in a context
        // where blocking is not allowed"), as on an early `?` out of `serve`.
        drop(rt);
    }

    #[tokio::test]
    async fn a_caller_that_goes_away_aborts_its_work() {
        let jobs = jobs();
        let (started_tx, started) = oneshot::channel();
        let (dropped_tx, dropped) = oneshot::channel::<()>();
        let work = async move {
            let _guard = Dropped(Some(dropped_tx));
            let _ = started_tx.send(());
            std::future::pending::<()>().await
        };
        let run = jobs.run_one(work);
        tokio::select! {
            _ = run => unreachable!("the work never ends"),
            _ = started => {}
        }
        // `run` is dropped here, as a request's future is when its client hangs up.
        tokio::time::timeout(std::time::Duration::from_secs(5), dropped)
            .await
            .expect("the work was aborted")
            .expect("the guard sent");
    }

    #[tokio::test]
    async fn requested_runs_take_turns() {
        let jobs = jobs();
        let (release_first, first_may_end) = oneshot::channel::<()>();
        let (first_started_tx, first_started) = oneshot::channel();
        let first = tokio::spawn({
            let jobs = jobs.clone();
            async move {
                jobs.run_one(async move {
                    let _ = first_started_tx.send(());
                    first_may_end.await.unwrap();
                    "first"
                })
                .await
            }
        });
        first_started.await.unwrap();
        let second_ran = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let second = tokio::spawn({
            let (jobs, ran) = (jobs.clone(), Arc::clone(&second_ran));
            async move {
                jobs.run_one(async move {
                    ran.store(true, std::sync::atomic::Ordering::SeqCst);
                    "second"
                })
                .await
            }
        });
        // The second waits for its turn however long the first takes.
        for _ in 0..20 {
            tokio::task::yield_now().await;
        }
        assert!(!second_ran.load(std::sync::atomic::Ordering::SeqCst));
        release_first.send(()).unwrap();
        assert_eq!(first.await.unwrap(), "first");
        assert_eq!(second.await.unwrap(), "second");
        assert!(second_ran.load(std::sync::atomic::Ordering::SeqCst));
    }
}
