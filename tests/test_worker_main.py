"""Tests for `imagenet_custom/build/_worker_main.py`, the worker process's entry point.

The worker is started here by hand, as `workers.WorkerPool` starts it, and
spoken to over the protocol of `imagenet_custom.build.workers` (an 8-byte
little-endian length, then a pickle, per message).
"""

from __future__ import annotations

import os
import pathlib
import pickle
import struct
import subprocess
import sys
from typing import Any

from imagenet_custom.build import workers

from builds import REPO
import worker_tasks

WORKER_MAIN = REPO / 'imagenet_custom' / 'build' / '_worker_main.py'
TESTS = pathlib.Path(__file__).resolve().parent
LENGTH = struct.Struct('<Q')


def _frame(message: Any) -> bytes:
  data = pickle.dumps(message)
  return LENGTH.pack(len(data)) + data


def _messages(stream: bytes) -> list[Any]:
  """The worker's messages, their kinds as the protocol's strings."""
  messages = []
  while stream:
    (size,) = LENGTH.unpack(stream[: LENGTH.size])
    kind, payload = pickle.loads(stream[LENGTH.size : LENGTH.size + size])
    assert isinstance(kind, workers.Reply)
    messages.append((kind.value, payload))
    stream = stream[LENGTH.size + size :]
  return messages


def _run_worker(state: Any, tasks: list[Any]) -> subprocess.CompletedProcess[bytes]:
  """Runs one worker on `tasks` until its input ends; returns what it wrote."""
  env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(TESTS), str(REPO)]))
  return subprocess.run(
      [sys.executable, str(WORKER_MAIN)],
      input=b''.join(_frame(m) for m in [state, *tasks]),
      capture_output=True, env=env, timeout=120, check=False,
  )


def test_worker_runs_tasks_in_order_and_exits_at_the_end_of_its_input():
  result = _run_worker('the state', [worker_tasks.Echo('a', batches=2), worker_tasks.Echo('b', 1)])
  assert result.returncode == 0, result.stderr.decode()
  messages = _messages(result.stdout)
  pid = messages[2][1][1]
  assert messages == [
      ('batch', ('a', 0, 'the state')),
      ('batch', ('a', 1, 'the state')),
      ('done', ('a', pid)),
      ('batch', ('b', 0, 'the state')),
      ('done', ('b', pid)),
  ]


def test_worker_sets_up_the_package_without_its_init_or_tensorflow():
  result = _run_worker(7, [worker_tasks.PackageState(), worker_tasks.Modules()])
  assert result.returncode == 0, result.stderr.decode()
  assert _messages(result.stdout) == [
      ('done', {
          'init_ran': False, 'package_dir_on_path': False, 'state': 7,
          # This checkout's modules, not another installed copy's.
          'package_dir': [str(REPO / 'imagenet_custom')],
          'workers_file': str(REPO / 'imagenet_custom' / 'build' / 'workers.py'),
      }),
      ('done', {
          'tensorflow': False,
          'tensorflow_datasets': False,
          'imagenet_custom.imagenet_custom_dataset_builder': False,
      }),
  ]


def test_printed_output_goes_to_stderr_not_into_the_protocol():
  result = _run_worker(None, [worker_tasks.Chatty()])
  assert result.returncode == 0, result.stderr.decode()
  assert _messages(result.stdout) == [('batch', 'after printing'), ('done', 'ok')]
  assert b'some library printing to stdout' in result.stderr


def test_an_error_comes_back_as_a_message_and_the_worker_goes_on():
  result = _run_worker(None, [worker_tasks.RaiseBadFile(), worker_tasks.Echo('after', 0)])
  assert result.returncode == 0, result.stderr.decode()
  [before, (kind, error), (done, (name, _))] = _messages(result.stdout)
  assert before == ('batch', 'before the error')
  assert kind == 'error' and error.origin.endswith('ILSVRC2012_val_00000007.JPEG')
  assert (done, name) == ('done', 'after')
