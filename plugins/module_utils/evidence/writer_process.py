# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A writer run in a forked child process, fed batches of entries through a pipe.

The export's writer (canonical JSON, SHA-256, the order's sort key) costs about half the CPU
of the read that feeds it, and in one process both run under the same interpreter lock: the
workers of a parallel read wait for the writer. Forked, the writer keeps its state (open part
files, hash, sort runs) and runs on another core; the parent writes marshal bytes to a pipe,
often bytes it already had (a block a parallel read spilled). The child sends back what
``finish`` produced, or the error that stopped it. Plain Python: os.fork and pipes, POSIX only
(the caller decides when to use it).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import pickle
import struct

from ansible_collections.nirvana_labs.audit.plugins.module_utils.batches import pack

try:
    import fcntl
except ImportError:  # not POSIX: the caller never forks there
    fcntl = None

# Entries sent one by one are packed this many at a time: large enough that packing and the
# pipe cost little per entry, small enough that the child starts on them at once.
BATCH = 500
# The pipe holds this much (Linux allows up to /proc/sys/fs/pipe-max-size, 1 MiB by default):
# with the 64 KiB default each batch would block the parent until the child had read it, and
# on a busy machine every such hand-over waits for the scheduler.
PIPE_BYTES = 1024 * 1024
_F_SETPIPE_SZ = getattr(fcntl, "F_SETPIPE_SZ", 1031)  # Linux; Python 3.10+ names it
_LENGTH = struct.Struct(">I")
_FINISH = 0


def _write_all(fd, data):
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _read_exact(fd, size):
    chunks, left = [], size
    while left:
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            return None  # the other end closed
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _read_frame(fd):
    head = _read_exact(fd, _LENGTH.size)
    if head is None:
        return None
    size = _LENGTH.unpack(head)[0]
    if size == _FINISH:
        return b""
    return _read_exact(fd, size)


def _widen(fd):
    """A larger pipe buffer where the system allows it; the default otherwise."""
    if fcntl is None:
        return
    try:
        fcntl.fcntl(fd, _F_SETPIPE_SZ, PIPE_BYTES)
    except (OSError, ValueError):
        pass


def _frame(data):
    return _LENGTH.pack(len(data)) + data


def _sendable(err):
    """The error itself when it survives pickling, else an OSError that tells it."""
    try:
        pickle.loads(pickle.dumps(err, pickle.HIGHEST_PROTOCOL))
        return err
    except Exception:  # pylint: disable=broad-except
        return OSError("the export writer failed: %s: %s" % (type(err).__name__, err))


def _child(writer, summarise, add_packed, entries_fd, result_fd):
    """Feed ``writer`` (``add_packed(writer, data)`` for each frame) until the finish frame,
    then send ``summarise(writer, finished)``; on any failure or a closed pipe (the parent
    aborted or died), abort it."""
    outcome = None
    try:
        while True:
            frame = _read_frame(entries_fd)
            if frame is None:
                break  # no finish frame: the parent gave up
            if frame == b"":
                outcome = {"result": summarise(writer, writer.finish())}
                break
            add_packed(writer, frame)
    except BaseException as err:  # pylint: disable=broad-except
        outcome = {"error": _sendable(err)}
    if outcome is None or "error" in outcome:
        writer.abort()
    if outcome is not None:
        _write_all(result_fd, _frame(pickle.dumps(outcome, pickle.HIGHEST_PROTOCOL)))


class WriterProcess(object):
    """``writer`` (with ``add``, ``finish`` and ``abort``) moved into a forked child, which
    gives each frame to ``add_packed(writer, marshal bytes of a list of entries)``.

    ``send(entry)`` queues an entry, ``send_packed(data)`` sends a packed list as it is (after
    the entries queued before it); ``finish()`` returns ``summarise(writer, finished)`` as
    the child computed it, or raises the child's error; ``abort()`` stops the child, which
    aborts its writer (removing its files). The caller flushes the writer's buffered files
    before (else both processes would write what the buffers hold); after the fork the parent
    calls ``parent_detach(writer)`` to close its copies of them, and never uses it again.
    """

    def __init__(self, writer, summarise, parent_detach, add_packed):
        entries_r, entries_w = os.pipe()
        _widen(entries_w)
        result_r, result_w = os.pipe()
        try:
            pid = os.fork()
        except OSError:  # a process limit: the caller keeps the writer in its own process
            for fd in (entries_r, entries_w, result_r, result_w):
                os.close(fd)
            raise
        if pid == 0:  # the child: never returns
            code = 1
            try:
                os.close(entries_w)
                os.close(result_r)
                _child(writer, summarise, add_packed, entries_r, result_w)
                code = 0
            finally:
                os._exit(code)  # no atexit handlers, no flush of the parent's buffers
        os.close(entries_r)
        os.close(result_w)
        self.pid = pid
        self._entries_fd, self._result_fd = entries_w, result_r
        self._batch = []
        parent_detach(writer)

    def send(self, entry):
        self._batch.append(entry)
        if len(self._batch) >= BATCH:
            self._flush()

    def send_packed(self, data):
        if self._batch:
            self._flush()
        self._write(data)

    def _flush(self):
        batch, self._batch = self._batch, []
        self._write(pack(batch))

    def _write(self, data):
        if not data:
            return  # an empty frame would read as the finish frame
        try:
            _write_all(self._entries_fd, _frame(data))
        except (BrokenPipeError, OSError):
            self._raise_outcome()  # the child stopped: say why

    def finish(self):
        if self._batch:
            self._flush()
        try:
            _write_all(self._entries_fd, _LENGTH.pack(_FINISH))
        except OSError:
            pass  # the child stopped early; its outcome says why
        return self._raise_outcome()

    def _raise_outcome(self):
        frame = _read_frame(self._result_fd)
        self._close()
        outcome = pickle.loads(frame) if frame else {
            "error": OSError("the export writer process ended without a result")}
        if "error" in outcome:
            raise outcome["error"]
        return outcome["result"]

    def _close(self):
        for fd in (self._entries_fd, self._result_fd):
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self._entries_fd = self._result_fd = None
        if self.pid is not None:
            try:
                os.waitpid(self.pid, 0)
            except OSError:
                pass
            self.pid = None

    def abort(self):
        """Stop the child: it sees the pipe close without a finish and aborts its writer."""
        self._batch = []
        self._close()
