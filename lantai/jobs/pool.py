"""Worker pools for CPU-bound work (hashing, checks) that never inherit the parent's state.

Pools use the ``forkserver`` start method: workers are forked from a small server process that
was exec'd fresh, so they do not inherit the parent's open database connections or the flock
that marks this process as active on the archive — a killed parent must release that lock at
once, or start-up recovery in the next process would wrongly think the archive is busy.

Workers die with the process that started them (:func:`die_with_parent`) and never hold its
standard output or error: a ``kill -9`` of ``lantai ingest`` must not leave ~140 MB workers
behind for minutes, nor keep the pipes of whoever ran it (a shell waiting on ``$(lantai …)``)
open after it is gone.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import multiprocessing
import os
import select
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any

DEFAULT_PRELOAD = ("lantai.services.ingest", "lantai.jobs.hashing", "lantai.search")
_PRELOAD = list(DEFAULT_PRELOAD)


def warm_up(preload: list[str] | None = None) -> None:
    """Start the fork server now, so its imports overlap whatever the caller does next.

    A pool started later forks its workers from the already-warm server at once.
    """
    from multiprocessing import forkserver

    multiprocessing.get_context("forkserver").set_forkserver_preload(preload if preload is not None else _PRELOAD)
    forkserver.ensure_running()


def warm_up_workers(workers: int, preload: list[str] | None = None) -> None:
    """Warm the fork server when work will run on a pool (``workers`` > 1); a no-op otherwise.

    Call it before importing the heavy modules the work needs: this module is light on purpose,
    so the server's imports run on another core while the caller does its own.
    """
    if workers > 1:
        warm_up(preload)


def worker_pool(workers: int, *, preload: list[str] | None = None, initializer: Callable[..., object] | None = None,
                initargs: tuple[Any, ...] = ()) -> ProcessPoolExecutor:
    """``preload`` names the modules the fork server imports once (only its first start counts).

    ``initializer(*initargs)`` runs in each worker before its imports are frozen (it may build
    state the jobs share, such as a tokenizer); it must be a module-level function.
    """
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(preload if preload is not None else _PRELOAD)
    return ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_start_worker,
                               initargs=(os.getpid(), initializer, initargs))


def _start_worker(owner: int, initializer: Callable[..., object] | None, initargs: tuple[Any, ...]) -> None:
    die_with_parent(owner)
    if initializer is not None:
        initializer(*initargs)
    freeze_imported_objects()


_PR_SET_PDEATHSIG = 1


def die_with_parent(owner: int) -> None:
    """Make this worker process exit as soon as ``owner`` (the process that wants its work) does.

    Three measures, because a forkserver worker's parent is the fork server, not the owner:
    the kernel's parent-death signal (for the direct parent), a thread that waits on a pidfd of
    the owner (or polls it where pidfds are unavailable), and standard streams pointed at
    /dev/null so the owner's stdout and stderr are released at once. Results travel through
    the pool's pipes, never through the standard streams.
    """
    _set_parent_death_signal()
    _release_standard_streams()
    threading.Thread(target=_exit_when_gone, args=(owner,), name="lantai-owner-watch", daemon=True).start()


def _set_parent_death_signal() -> None:
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def _release_standard_streams() -> None:
    with contextlib.suppress(OSError):
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(null, fd)
        os.close(null)


def _exit_when_gone(owner: int) -> None:
    try:
        pidfd = os.pidfd_open(owner)
    except ProcessLookupError:
        os._exit(1)
    except (OSError, AttributeError):
        pidfd = None
    if pidfd is not None:
        select.select([pidfd], [], [])  # readable once the owner has exited
    else:
        while _alive(owner):
            time.sleep(0.5)
    os._exit(1)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def freeze_imported_objects() -> None:
    """Exempt everything alive now (the imported modules) from the cyclic garbage collector.

    Full collections otherwise walk every object of SQLAlchemy, lxml and the metadata model
    again and again; freezing them made preparing an ingest item about 1 ms (9 %) cheaper.
    Only for processes that have finished importing and then do one job: whatever is frozen
    is never collected.
    """
    gc.freeze()
