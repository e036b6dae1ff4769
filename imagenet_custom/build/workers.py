"""Worker processes for the plain build: per-image work beside the writer.

TFDS's plain writer runs in one process, and Python threads share one core
(the GIL), so the per-image work (reading, checking, re-encoding, box parsing,
serialising) runs in worker processes. Each worker is a fresh Python process
(`python imagenet_custom/build/_worker_main.py`) that imports only what generation
needs: no TensorFlow, so it starts in well under a second and costs tens of MB.

Protocol, over the worker's stdin/stdout, one pickled message per frame (an
8-byte little-endian length, then the pickle):
  parent -> worker: the shared state (once), then one task per frame.
  worker -> parent: ('batch', payload) any number of times per task, then
    ('done', result) or ('error', failure) once per task.
A task is a picklable callable `task(state, emit) -> result`; `emit(payload)`
sends a batch (the parent reads it while the task goes on).

Faults: an exception in a task comes back as the same exception (or, if it
cannot be pickled, a `WorkerError` with its text). A worker that dies (killed,
out of memory, a crash in a decoder) is noticed by the end of its stdout and
raised as `WorkerDiedError` naming the task it was running. Closing the pool
(normally or on any error, Ctrl-C included) kills every worker and waits for
it; a worker whose parent died sees its stdin or stdout close and exits.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterable
import dataclasses
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
    """What the task reads, for error messages (e.g. an archive member)."""


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
      result = task(state, lambda payload: _send(outstream, ('batch', payload)))
    except Exception as e:  # pylint: disable=broad-except
      _send(outstream, ('error', _portable_failure(e)))
    else:
      _send(outstream, ('done', result))


def _signal_name(returncode: int) -> str:
  if returncode >= 0:
    return f'exited with status {returncode}'
  try:
    name = signal.Signals(-returncode).name
  except ValueError:
    name = f'signal {-returncode}'
  hint = ' (the out-of-memory killer sends it)' if name == 'SIGKILL' else ''
  return f'was killed by {name}{hint}'


@dataclasses.dataclass(eq=False)
class _Worker:
  index: int
  process: subprocess.Popen[bytes]


class _Done:
  """Marks the end of one worker thread's share of a `run`."""


class WorkerPool:
  """Worker processes that run tasks and stream their batches back.

  Use as a context manager; `run` may be called several times (one split
  after another). If a `run` ends early (an error, or its consumer stops), the
  pool is closed: its workers are killed.
  """

  def __init__(self, num_workers: int, state: Any):
    """Starts the workers and sends each the shared state.

    Args:
      num_workers: how many processes; 0 means one per core.
      state: picklable; passed to every task run in this pool.
    """
    self._workers: list[_Worker] = []
    self._closed = False
    # The unfinished run: its stop event, threads and workers.
    self._active: tuple[threading.Event, list[threading.Thread], list[_Worker]] | None = None
    self._num_workers = num_workers or os.cpu_count() or 1
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

  def run(self, tasks: Iterable[Task]) -> Generator[tuple[str, Any], None, None]:
    """Runs tasks on the workers, in any order, streaming their messages.

    Args:
      tasks: consumed lazily, one at a time, by whichever worker is free.

    Yields:
      `('batch', payload)` for each batch a task emits and `('done',
      result)` when a task ends, as they arrive. Batches of one task arrive
      in the order it emitted them.

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
      self._end_run(*self._active)
    if not self._workers:
      self._start()
    pending = iter(tasks)
    pending_lock = threading.Lock()
    messages: queue.Queue[Any] = queue.Queue(
        maxsize=_QUEUED_PER_WORKER * len(self._workers)
    )
    stop = threading.Event()

    def put(message: Any) -> None:
      while not stop.is_set():
        try:
          messages.put(message, timeout=0.2)
          return
        except queue.Full:
          continue

    def drive(worker: _Worker) -> None:
      stdin, stdout = worker.process.stdin, worker.process.stdout
      assert stdin is not None and stdout is not None
      try:
        while not stop.is_set():
          with pending_lock:
            task = next(pending, None)
          if task is None:
            break
          try:
            _send(stdin, task)
          except (BrokenPipeError, OSError):
            put(('died', (worker, task)))
            return
          while True:
            message = _receive(stdout)
            if message is None:
              put(('died', (worker, task)))
              return
            put(message)
            if message[0] != 'batch':
              break
      except BaseException as e:  # pylint: disable=broad-except
        put(('error', e))
      finally:
        put(('end', _Done()))

    threads = [
        threading.Thread(target=drive, args=(w,), daemon=True,
                         name=f'imagenet_custom-worker-{w.index}')
        for w in self._workers
    ]
    for thread in threads:
      thread.start()
    current = (stop, threads, list(self._workers))
    self._active = current
    running = len(threads)
    finished = False
    try:
      while running:
        kind, payload = messages.get()
        if kind == 'end':
          running -= 1
        elif kind == 'error':
          if isinstance(payload, BaseException):
            raise payload
          raise WorkerError(f'A build worker failed:\n{payload}')
        elif kind == 'died':
          worker, task = payload
          raise WorkerDiedError(self._died_message(worker, task))
        else:
          yield kind, payload
      finished = True
    finally:
      if self._active is current:
        self._end_run(*current, kill=not finished)

  def _end_run(
      self,
      stop: threading.Event,
      threads: list[threading.Thread],
      workers: list[_Worker],
      kill: bool = True,
  ) -> None:
    """Stops a run's threads; kills its workers when it did not finish."""
    stop.set()
    if kill:
      self._stop_workers(workers)
    for thread in threads:
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
        f' reading {task.describe()}. No dataset was written. Run the same'
        ' command again: the build starts over and writes identical shards.'
        ' If it dies again, check the system log (`dmesg`) for an'
        ' out-of-memory kill and build with fewer workers (config'
        ' `num_workers`).'
    )

  def close(self) -> None:
    """Kills every worker and waits for it to end. Idempotent."""
    self._closed = True
    if self._active is not None:
      self._end_run(*self._active)
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
