"""Worker processes for the plain build: per-image work beside the writer.

TFDS's plain writer runs in one process, and Python threads share one core
(the GIL), so the per-image work (reading, checking, re-encoding, box parsing,
serialising) runs in worker processes. Each worker is a fresh Python process
(`python imagenet_custom/build/_worker_main.py`) that imports only what generation
needs: no TensorFlow, so it starts in well under a second and costs tens of MB.

Protocol, over the worker's stdin/stdout, one pickled message per frame (an
8-byte little-endian length, then the pickle):
  parent -> worker: the shared state (once), then one task per frame.
  worker -> parent: `(Reply.BATCH, payload)` any number of times per task,
    then `(Reply.DONE, result)` or `(Reply.ERROR, failure)` once per task.
A task is a picklable callable `task(state, emit) -> result`; `emit(payload)`
sends a batch (the parent reads it while the task goes on). The parent sees
them as `Emitted` and `Finished`, each with its task.

Tasks come from a `TaskFeed`: a list given to `run`, or a feed that the
consumer keeps adding to while the run goes on (the next split's shards
while this one is generated), urgent tasks first.

Faults: an exception in a task comes back as the same exception (or, if it
cannot be pickled, a `WorkerError` with its text). A worker that dies (killed,
out of memory, a crash in a decoder) is noticed by the end of its stdout and
raised as `WorkerDiedError` naming the task it was running. Closing the pool
(normally or on any error, Ctrl-C included) kills every worker and waits for
it; a worker whose parent died sees its stdin or stdout close and exits.
"""

from __future__ import annotations

import collections
from collections.abc import Callable, Generator, Iterable, Iterator
import dataclasses
import enum
import os
import pickle
import queue
import signal
import struct
import subprocess
import sys
import threading
import traceback
from typing import Any, IO, Protocol

from absl import logging

_LENGTH = struct.Struct('<Q')
_WORKER_MAIN = os.path.join(os.path.dirname(os.path.abspath(__file__)), '_worker_main.py')
# Batches held between the workers and the consumer, per worker.
_QUEUED_PER_WORKER = 2
# How long a closing pool waits for a worker to exit before killing it.
_EXIT_WAIT_SECONDS = 5.0


class WorkerError(RuntimeError):
  """A task failed in a worker with an exception that could not be sent back."""


class WorkerDiedError(RuntimeError):
  """A worker process ended while it was running a task."""


class Task(Protocol):
  """A unit of work run in a worker."""

  def __call__(self, state: Any, emit: Callable[[Any], None]) -> Any:
    """Runs with the pool's shared state; `emit` sends batches to the parent."""

  def describe(self) -> str:
    """What the task reads or writes, for error messages (e.g. an archive member)."""


class Reply(enum.Enum):
  """The kinds of message a worker sends its parent."""

  BATCH = 'batch'
  DONE = 'done'
  ERROR = 'error'


@dataclasses.dataclass(frozen=True)
class Emitted:
  """A batch a task emitted."""

  task: Task
  payload: Any


@dataclasses.dataclass(frozen=True)
class Finished:
  """A task's result: it ended without error."""

  task: Task
  result: Any


@dataclasses.dataclass(frozen=True)
class _Failed:
  """A task raised (`failure` is the exception, or its text)."""

  failure: Any


@dataclasses.dataclass(frozen=True)
class _Died:
  """A worker's pipe closed while it ran `task`."""

  worker: _Worker
  task: Task


class _End:
  """Marks the end of one worker thread's share of a `run`."""


def _send(stream: IO[bytes], message: Any) -> None:
  data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
  stream.write(_LENGTH.pack(len(data)))
  stream.write(data)
  stream.flush()


def _read_exactly(stream: IO[bytes], size: int) -> bytes | None:
  chunks, remaining = [], size
  while remaining:
    chunk = stream.read(remaining)
    if not chunk:
      return None
    chunks.append(chunk)
    remaining -= len(chunk)
  return b''.join(chunks)


def _receive(stream: IO[bytes]) -> Any | None:
  """The next message, or None at the end of the stream."""
  header = _read_exactly(stream, _LENGTH.size)
  if header is None:
    return None
  data = _read_exactly(stream, _LENGTH.unpack(header)[0])
  if data is None:
    return None
  return pickle.loads(data)


def _portable_failure(error: BaseException) -> Any:
  """The exception itself if it survives pickling, else its text."""
  try:
    pickle.loads(pickle.dumps(error))
    return error
  except Exception:  # pylint: disable=broad-except
    return ''.join(traceback.format_exception(error))


def serve(instream: IO[bytes], outstream: IO[bytes]) -> None:
  """A worker's main loop: receive the state, then run tasks until EOF.

  Args:
    instream: messages from the parent.
    outstream: messages to the parent.
  """
  # Ctrl-C reaches the whole process group; the parent decides and kills us.
  signal.signal(signal.SIGINT, signal.SIG_IGN)
  state = _receive(instream)
  while (task := _receive(instream)) is not None:
    try:
      result = task(state, lambda payload: _send(outstream, (Reply.BATCH, payload)))
    except Exception as e:  # pylint: disable=broad-except
      _send(outstream, (Reply.ERROR, _portable_failure(e)))
    else:
      _send(outstream, (Reply.DONE, result))


def _signal_name(returncode: int) -> str:
  if returncode >= 0:
    return f'exited with status {returncode}'
  try:
    name = signal.Signals(-returncode).name
  except ValueError:
    name = f'signal {-returncode}'
  hint = ' (the out-of-memory killer sends it)' if name == 'SIGKILL' else ''
  return f'was killed by {name}{hint}'


class TaskFeed:
  """Tasks for a run, taken by whichever worker is free; thread-safe.

  Tasks come from `source` (consumed lazily, in order), then from `put`;
  urgent ones come before both. An open feed (`open=True`) makes a free worker wait for
  more until `close()`; `cancel()` ends it at once.
  """

  def __init__(self, source: Iterable[Task] = (), open: bool = False):  # pylint: disable=redefined-builtin
    self._source: Iterator[Task] | None = iter(source)
    self._urgent: collections.deque[Task] = collections.deque()
    self._queued: collections.deque[Task] = collections.deque()
    self._closed = not open
    self._cancelled = False
    self._changed = threading.Condition()

  def put(self, task: Task, urgent: bool = False) -> None:
    """Adds a task; an urgent one goes before every waiting task."""
    with self._changed:
      (self._urgent if urgent else self._queued).append(task)
      self._changed.notify()

  def close(self) -> None:
    """No more tasks will be put: workers stop when the feed is empty."""
    with self._changed:
      self._closed = True
      self._changed.notify_all()

  def cancel(self) -> None:
    """Gives no more tasks, even those waiting."""
    with self._changed:
      self._cancelled = True
      self._changed.notify_all()

  def next_task(self) -> Task | None:
    """The next task, waiting for one if the feed is open; None at its end."""
    with self._changed:
      while not self._cancelled:
        if self._urgent:
          return self._urgent.popleft()
        task = next(self._source, None) if self._source is not None else None
        if task is not None:
          return task
        self._source = None
        if self._queued:
          return self._queued.popleft()
        if self._closed:
          return None
        self._changed.wait()
      return None


def default_num_workers() -> int:
  """Workers when the config says 0: one per core this process may run on.

  Measured the fastest on 2 cores with the shards written by the workers
  (docs/performance.md gives the runs).
  """
  try:
    return len(os.sched_getaffinity(0)) or 1
  except AttributeError:  # Not on Linux.
    return os.cpu_count() or 1


@dataclasses.dataclass(eq=False)
class _Worker:
  index: int
  process: subprocess.Popen[bytes]


@dataclasses.dataclass(eq=False)
class _Run:
  """One unfinished `run`: its feed, stop event, threads and workers."""

  feed: TaskFeed
  stop: threading.Event
  threads: list[threading.Thread]
  workers: list[_Worker]


class WorkerPool:
  """Worker processes that run tasks and stream their batches back.

  Use as a context manager; `run` may be called several times (one split
  after another). If a `run` ends early (an error, or its consumer stops), the
  pool is closed: its workers are killed.
  """

  def __init__(self, num_workers: int, state: Any):
    """Starts the workers and sends each the shared state.

    Args:
      num_workers: how many processes; 0 means `default_num_workers()`.
      state: picklable; passed to every task run in this pool.
    """
    self._workers: list[_Worker] = []
    self._closed = False
    self._active: _Run | None = None
    self._num_workers = num_workers or default_num_workers()
    self._state = pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL)
    self._start()

  def _start(self) -> None:
    """Starts the worker processes and sends each the shared state."""
    self._workers = []
    try:
      for index in range(self._num_workers):
        process = subprocess.Popen(
            [sys.executable, _WORKER_MAIN],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            close_fds=True,
        )
        self._workers.append(_Worker(index, process))
        assert process.stdin is not None
        process.stdin.write(_LENGTH.pack(len(self._state)))
        process.stdin.write(self._state)
        process.stdin.flush()
    except BaseException:
      self._stop_workers(list(self._workers))
      raise
    logging.info(
        'Started %d build worker processes (pids %s).',
        len(self._workers), ', '.join(str(w.process.pid) for w in self._workers),
    )

  def __enter__(self) -> WorkerPool:
    return self

  def __exit__(self, *exc_info: Any) -> None:
    self.close()

  @property
  def pids(self) -> list[int]:
    return [w.process.pid for w in self._workers]

  def run(
      self, tasks: Iterable[Task] | TaskFeed
  ) -> Generator[Emitted | Finished, None, None]:
    """Runs tasks on the workers, in any order, streaming their messages.

    Args:
      tasks: a feed, or tasks consumed lazily, one at a time, by whichever
        worker is free.

    Yields:
      `Emitted` for each batch a task emits and `Finished` when a task ends,
      as they arrive. Batches of one task arrive in the order it emitted them.

    Raises:
      The exception a task raised, `WorkerError` for one that could not be
      sent back, or `WorkerDiedError`.
    """
    if self._closed:
      raise RuntimeError('the worker pool is closed')
    if self._active is not None:
      # The last run's consumer stopped early without closing it (TFDS's
      # `max_examples_per_split` stops pulling a split): its workers are
      # mid-task, so they are replaced.
      self._end_run(self._active)
    if not self._workers:
      self._start()
    feed = tasks if isinstance(tasks, TaskFeed) else TaskFeed(tasks)
    messages: queue.Queue[Any] = queue.Queue(
        maxsize=_QUEUED_PER_WORKER * len(self._workers)
    )
    current = _Run(feed, threading.Event(), [], list(self._workers))
    for worker in self._workers:
      thread = threading.Thread(
          target=self._drive, args=(worker, current, messages), daemon=True,
          name=f'imagenet_custom-worker-{worker.index}',
      )
      current.threads.append(thread)
      thread.start()
    self._active = current
    running, finished = len(current.threads), False
    try:
      while running:
        message = messages.get()
        if isinstance(message, _End):
          running -= 1
        elif isinstance(message, (Emitted, Finished)):
          yield message
        else:
          raise self._failure(message)
      finished = True
    finally:
      if self._active is current:
        self._end_run(current, kill=not finished)

  def _drive(self, worker: _Worker, run: _Run, messages: queue.Queue[Any]) -> None:
    """One worker's share of a run: takes tasks, relays its messages."""

    def put(message: Any) -> None:
      while not run.stop.is_set():
        try:
          messages.put(message, timeout=0.2)
          return
        except queue.Full:
          continue

    stdin, stdout = worker.process.stdin, worker.process.stdout
    assert stdin is not None and stdout is not None
    try:
      while not run.stop.is_set() and (task := run.feed.next_task()) is not None:
        try:
          _send(stdin, task)
        except (BrokenPipeError, OSError):
          put(_Died(worker, task))
          return
        while (reply := _receive(stdout)) is not None and reply[0] is Reply.BATCH:
          put(Emitted(task, reply[1]))
        if reply is None:
          put(_Died(worker, task))
          return
        put(Finished(task, reply[1]) if reply[0] is Reply.DONE else _Failed(reply[1]))
    except BaseException as e:  # pylint: disable=broad-except
      put(_Failed(e))
    finally:
      put(_End())

  def _failure(self, message: _Failed | _Died) -> BaseException:
    """The exception a failed or dead task ends the run with."""
    if isinstance(message, _Died):
      return WorkerDiedError(self._died_message(message.worker, message.task))
    if isinstance(message.failure, BaseException):
      return message.failure
    return WorkerError(f'A build worker failed:\n{message.failure}')

  def _end_run(self, run: _Run, kill: bool = True) -> None:
    """Stops a run's threads; kills its workers when it did not finish."""
    run.stop.set()
    run.feed.cancel()
    if kill:
      self._stop_workers(run.workers)
    for thread in run.threads:
      thread.join(timeout=_EXIT_WAIT_SECONDS)
    self._active = None

  def _died_message(self, worker: _Worker, task: Task) -> str:
    try:
      returncode = worker.process.wait(timeout=_EXIT_WAIT_SECONDS)
      how = _signal_name(returncode)
    except subprocess.TimeoutExpired:
      how = 'closed its output and stopped answering'
    return (
        f'Build worker {worker.index} (pid {worker.process.pid}) {how} while'
        f' working on {task.describe()}. No dataset was written. Run the same'
        ' command again: the build starts over and writes identical shards.'
        ' If it dies again, check the system log (`dmesg`) for an'
        ' out-of-memory kill and build with fewer workers (config'
        ' `num_workers`).'
    )

  def close(self) -> None:
    """Kills every worker and waits for it to end. Idempotent."""
    self._closed = True
    if self._active is not None:
      self._end_run(self._active)
    self._stop_workers(list(self._workers))

  def _stop_workers(self, workers: list[_Worker]) -> None:
    """Kills these workers and waits for them; `run` starts new ones."""
    self._workers = [w for w in self._workers if w not in workers]
    for worker in workers:
      if worker.process.poll() is None:
        worker.process.kill()
    for worker in workers:
      try:
        worker.process.wait(timeout=_EXIT_WAIT_SECONDS)
      except subprocess.TimeoutExpired:
        logging.warning('Build worker pid %d did not exit.', worker.process.pid)
      for stream in (worker.process.stdin, worker.process.stdout):
        if stream is not None:
          try:
            stream.close()
          except OSError:
            pass
