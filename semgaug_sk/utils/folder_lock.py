"""An exclusive, crash-safe lock on a fit's checkpoint folder (one file, ``fit.lock``).

:func:`acquire` creates ``fit.lock`` atomically (``O_CREAT | O_EXCL``) with the holder's
process id, its start time, the machine, the thread and a token; :func:`release` removes
it. A lock whose holder is over is taken over by the next :func:`acquire`: its process
has ended (a crash), its process id names a newer process (a reused id), an earlier fit
of the same thread left it, it is empty or unreadable and old, or it was written on
another machine or container, whose processes cannot be checked from here (a job
restarted on another node must resume). See
:func:`semgaug_sk.augmentation.checkpoint.fit_folder` for how fits use it.

A reused process id is recognised on Linux only, where ``/proc`` gives a process's
start time. On macOS and Windows a crashed fit's lock whose id a live process has taken
since is held for that process: the fit then warns that another fit uses the folder and
trains without resuming; delete ``fit.lock`` (the warning says so) to resume.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import threading
import time
import uuid
from pathlib import Path

__all__ = ["LOCK_NAME", "acquire", "release"]

LOCK_NAME = "fit.lock"

#: The locks this process holds: absolute folder -> (token, ident of the fitting thread).
_HELD = {}
_HELD_GUARD = threading.Lock()


def _forget_held():
    # a forked child holds none of its parent's locks (nor a guard taken by another thread)
    global _HELD_GUARD
    _HELD_GUARD = threading.Lock()
    _HELD.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_held)


def _machine():
    """Where a process id means something: the host name and, on Linux, the pid namespace."""
    try:
        namespace = os.readlink("/proc/self/ns/pid")  # a container has its own ids
    except OSError:
        namespace = ""
    return f"{socket.gethostname()} {namespace}"


def _proc_stat(pid):
    """The fields of ``/proc/<pid>/stat`` after the command name (Linux), or None."""
    try:
        return Path(f"/proc/{int(pid)}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError, ValueError):
        return None


def _started(pid):
    """The start time of process ``pid`` (clock ticks after boot; Linux), or None."""
    stat = _proc_stat(pid)
    return stat[19] if stat is not None and len(stat) > 19 else None


def _alive(pid):
    """Whether process ``pid`` of this machine runs (a zombie does not)."""
    stat = _proc_stat(pid)
    if stat is not None:
        return stat[0] not in ("Z", "X")
    if os.name == "nt":  # os.kill(pid, 0) would end the process there
        return _alive_windows(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: another user's live process
        return True
    return True


def _alive_windows(pid):  # pragma: no cover - Windows only
    import ctypes

    kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)
    handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
    if not handle:
        return ctypes.get_last_error() == 5  # access denied: it exists
    try:
        code = ctypes.c_ulong()
        if not kernel32.GetExitCodeProcess(handle, ctypes.byref(code)):
            return True
        return code.value == 259  # STILL_ACTIVE
    finally:
        kernel32.CloseHandle(handle)


def _read_lock(lock):
    """``(content, holder)`` of a lock file; None when there is none. ``holder`` is None
    when the content is not a lock's (being written, or damaged)."""
    try:
        raw = Path(lock).read_bytes()
    except FileNotFoundError:
        return None
    try:
        holder = json.loads(raw)
    except ValueError:
        holder = None
    return raw, holder if isinstance(holder, dict) else None


def _stale(lock, holder):
    """Whether the fit that wrote ``holder`` into ``lock`` is over (see :func:`fit_folder`)."""
    if holder is None:  # created, not written yet (a moment), or damaged (then old)
        try:
            return time.time() - Path(lock).stat().st_mtime > 10
        except OSError:
            return True
    if holder.get("machine") != _machine():
        return True  # its process cannot be checked from here
    pid = holder.get("pid")
    if pid == os.getpid():
        with _HELD_GUARD:
            held = [thread for token, thread in _HELD.values() if token == holder.get("token")]
        running = {t.ident for t in threading.enumerate()}
        return not held or held[0] == threading.get_ident() or held[0] not in running
    if not isinstance(pid, int) or not _alive(pid):
        return True
    started = holder.get("started")
    return started is not None and _started(pid) not in (None, started)  # a reused id


def acquire(folder):
    """Take the lock of ``folder``: None once taken, else the live holder's content."""
    lock = folder / LOCK_NAME
    token = uuid.uuid4().hex
    mine = {
        "pid": os.getpid(),
        "started": _started(os.getpid()),
        "machine": _machine(),
        "thread": threading.get_ident(),
        "token": token,
        "time": time.time(),
    }
    holder = {}
    for _ in range(5):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            found = _read_lock(lock)
            if found is None:
                continue  # freed meanwhile: try again
            raw, holder = found
            if not _stale(lock, holder):
                return holder or {}
            _break(lock, raw)
            continue
        try:
            os.write(fd, json.dumps(mine).encode())
        finally:
            os.close(fd)
        with _HELD_GUARD:
            _HELD[os.path.abspath(folder)] = (token, threading.get_ident())
        return None
    return holder or {}  # others keep taking it: leave it to them


def _break(lock, raw):
    """Remove the stale lock whose content is ``raw``, and no lock taken since."""
    aside = lock.with_name(f"{LOCK_NAME}.{uuid.uuid4().hex[:12]}.stale")
    try:
        os.rename(lock, aside)  # atomic: one process moves a given lock aside
    except FileNotFoundError:
        return  # another process removed it
    try:
        if aside.read_bytes() != raw:  # a live lock, taken after it was read: put it back
            try:
                os.link(aside, lock)  # never over a lock taken meanwhile
            except FileExistsError:
                pass
            except OSError:  # a file system without hard links
                os.rename(aside, lock)
    finally:
        aside.unlink(missing_ok=True)


def release(folder):
    """Remove the locks this thread holds on ``folder`` and on the folders that hold it.

    Called when a fit's training ends (its last checkpoint, an interrupt, a finished
    checkpoint reloaded, a checkpoint that cannot be read): a SASG fit's folder holds
    its generator's, and nothing is written to either afterwards.
    """
    target = Path(os.path.abspath(folder))
    me = threading.get_ident()
    with _HELD_GUARD:
        mine = [
            (path, token)
            for path, (token, thread) in _HELD.items()
            if thread == me and (Path(path) == target or Path(path) in target.parents)
        ]
        for path, _ in mine:
            del _HELD[path]
    for path, token in mine:
        found = _read_lock(Path(path) / LOCK_NAME)
        if found is not None and found[1] is not None and found[1].get("token") == token:
            with contextlib.suppress(OSError):
                (Path(path) / LOCK_NAME).unlink()
