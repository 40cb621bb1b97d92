"""The worker process (`manage.py worker`): the django-tasks database worker and the job scheduler in one
process, each in its own thread, stopped gracefully by SIGTERM or SIGINT (a second one stops it at once).

- Tasks: django_tasks_db's own worker loop, on every queue of the default backend. Whatever any app
  enqueues (`some_task.enqueue(...)`) is claimed row by row (`SELECT ... FOR UPDATE SKIP LOCKED` on
  PostgreSQL), so any number of worker processes share the queue.
- Jobs: every JOBS_TICK_SECONDS the scheduler claims the due periodic jobs (jobs/scheduler.py) and runs them
  in a small pool of threads (JOBS_THREADS), so a long job (a prune) does not hold up a frequent one
  (firing reminders).
- Loops (jobs.registry.loop): each in a thread of its own in every worker process, one batch after
  another while there is work, waiting a moment when there is none (delivering webhooks).
On a stop signal neither claims anything new; the task and the jobs that are running finish, then it exits.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
from concurrent.futures import ThreadPoolExecutor
from types import FrameType
from typing import Any

from django.conf import settings
from django.db import close_old_connections
from django.utils import timezone
from django_tasks_db.management.commands.db_worker import Worker as TaskWorker

from jobs import registry, scheduler

logger = logging.getLogger("daymark.jobs")


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:60]


class WorkerProcess:
    def __init__(
        self,
        *,
        worker_id: str | None = None,
        tasks: bool = True,
        jobs: bool = True,
        task_interval: float | None = None,
        tick: float | None = None,
        threads: int | None = None,
    ) -> None:
        self.worker_id = worker_id or default_worker_id()
        self.run_tasks = tasks
        self.run_jobs = jobs
        self.tick = settings.JOBS_TICK_SECONDS if tick is None else tick
        self.threads = threads or settings.JOBS_THREADS
        self.stopping = threading.Event()
        self._running: set[str] = set()
        self._lock = threading.Lock()
        self.task_worker = TaskWorker(
            queue_names=["*"],
            interval=settings.TASKS_POLL_SECONDS if task_interval is None else task_interval,
            batch=False,
            backend_name="default",
            startup_delay=False,
            max_tasks=None,
            worker_id=self.worker_id,
            excluded_queue_names=[],
        )

    # --- signals --------------------------------------------------------------------------------------
    def install_signals(self) -> None:
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, self._on_signal)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        if self.stopping.is_set():
            logger.warning("worker %s: %s again, exiting now", self.worker_id, signal.strsignal(signum))
            os._exit(1)
        logger.info(
            "worker %s: %s, finishing what runs (again to stop at once)",
            self.worker_id,
            signal.strsignal(signum),
        )
        self.stop()

    def stop(self) -> None:
        self.stopping.set()
        self.task_worker.running = False

    # --- the loops ------------------------------------------------------------------------------------
    def run(self) -> None:
        logger.info(
            "worker %s started (tasks: %s, jobs: %s)",
            self.worker_id,
            "on" if self.run_tasks else "off",
            "on" if self.run_jobs else "off",
        )
        task_thread = None
        if self.run_tasks:
            task_thread = threading.Thread(target=self._tasks_loop, name="tasks", daemon=True)
            task_thread.start()
        loop_threads = []
        if self.run_jobs:
            for registered in registry.loops():
                thread = threading.Thread(
                    target=self._loop, args=(registered,), name=f"loop-{registered.name}", daemon=True
                )
                thread.start()
                loop_threads.append(thread)
        if self.run_jobs:
            self._jobs_loop()
        else:
            self.stopping.wait()
        if task_thread is not None:
            task_thread.join()
        for thread in loop_threads:
            thread.join()
        logger.info("worker %s stopped", self.worker_id)

    def _tasks_loop(self) -> None:
        try:
            self.task_worker.run()
        except Exception:
            # The worker loop itself failing (not a task: those are recorded on their rows) stops the
            # process, so a supervisor restarts it instead of it running half a worker.
            logger.exception("worker %s: the task loop failed", self.worker_id)
            self.stop()
        finally:
            scheduler.close_thread_connections()

    def _loop(self, registered: registry.Loop) -> None:
        try:
            while not self.stopping.is_set():
                close_old_connections()
                try:
                    done = registered.run(timezone.now())
                except Exception:
                    # The database went away, most likely: try again after a pause.
                    logger.exception("worker %s: loop %s failed", self.worker_id, registered.name)
                    done = 0
                if not done:
                    self.stopping.wait(registered.idle_seconds)
        finally:
            scheduler.close_thread_connections()

    def _jobs_loop(self) -> None:
        with ThreadPoolExecutor(max_workers=self.threads, thread_name_prefix="job") as pool:
            synced = False
            while not self.stopping.is_set():
                close_old_connections()
                try:
                    if not synced:
                        scheduler.sync_rows()
                        synced = True
                    self._claim_due(pool)
                except Exception:
                    # The database went away, most likely: try again next tick.
                    logger.exception("worker %s: scheduler tick failed", self.worker_id)
                self.stopping.wait(self.tick)
            # Leaving the `with` waits for the jobs that run.
        scheduler.close_thread_connections()

    def _claim_due(self, pool: ThreadPoolExecutor) -> None:
        now = timezone.now()
        for name in scheduler.due_names(now):
            with self._lock:
                if name in self._running or len(self._running) >= self.threads:
                    continue
            taken = scheduler.claim(name, worker_id=self.worker_id, now=now)
            if taken is None:
                continue
            with self._lock:
                self._running.add(name)
            pool.submit(self._run_one, taken)

    def _run_one(self, taken: Any) -> None:
        try:
            scheduler.run_claimed(taken)
        except Exception:
            logger.exception("worker %s: recording job %s failed", self.worker_id, taken.job.name)
        finally:
            scheduler.close_thread_connections()
            with self._lock:
                self._running.discard(taken.job.name)
