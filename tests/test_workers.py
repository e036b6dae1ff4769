"""The worker pool: results, errors, dead workers, no orphans."""

from __future__ import annotations

from collections.abc import Iterable
import os
import pathlib
import signal
import threading
from typing import Any

import pytest

from imagenet_custom.build import workers
from imagenet_custom.errors import BadFileError

import worker_tasks

TESTS = pathlib.Path(__file__).resolve().parent


@pytest.fixture(autouse=True)
def _tasks_importable_in_workers(monkeypatch):
  monkeypatch.setenv(
      'PYTHONPATH', os.pathsep.join([str(TESTS), os.environ.get('PYTHONPATH', '')])
  )


def _plain(messages: Iterable[workers.Emitted | workers.Finished]) -> list[tuple[str, Any]]:
  """The messages as `('batch', payload)` and `('done', result)`."""
  return [
      ('batch', m.payload) if isinstance(m, workers.Emitted) else ('done', m.result)
      for m in messages
  ]


def _alive(pid: int) -> bool:
  try:
    os.kill(pid, 0)
  except ProcessLookupError:
    return False
  # A zombie is gone for our purposes only once reaped; the pool waits.
  return True


def test_batches_and_results_come_back_for_every_task():
  tasks = [worker_tasks.Echo(f't{i}') for i in range(7)]
  with workers.WorkerPool(2, state='shared') as pool:
    messages = _plain(pool.run(tasks))
    again = _plain(pool.run([worker_tasks.Echo('later', batches=1)]))
  batches = [p for kind, p in messages if kind == 'batch']
  done = [p for kind, p in messages if kind == 'done']
  assert sorted(batches) == sorted((f't{i}', b, 'shared') for i in range(7) for b in range(3))
  assert sorted(name for name, _ in done) == [f't{i}' for i in range(7)]
  assert len({pid for _, pid in done}) == 2  # Both workers took tasks.
  # Each task's batches arrive in the order it emitted them.
  for i in range(7):
    assert [b for name, b, _ in batches if name == f't{i}'] == [0, 1, 2]
  assert [kind for kind, _ in again] == ['batch', 'done']


def test_an_error_in_a_task_comes_back_as_itself_and_closes_the_pool():
  pool = workers.WorkerPool(2, state=None)
  pids = pool.pids
  with pytest.raises(BadFileError) as error:
    list(pool.run([worker_tasks.Echo('a'), worker_tasks.RaiseBadFile()]))
  assert error.value.origin == 'ILSVRC2012_img_val.tar:ILSVRC2012_val_00000007.JPEG'
  assert 'JPEG does not decode' in str(error.value)
  assert len(pids) == 2 and not any(_alive(pid) for pid in pids)


def test_an_unpicklable_error_comes_back_as_text():
  with workers.WorkerPool(1, state=None) as pool:
    with pytest.raises(workers.WorkerError, match=r'(?s)_Unpicklable: holds a lock'):
      list(pool.run([worker_tasks.RaiseUnpicklable()]))


@pytest.mark.parametrize('signal_number, said', [
    (signal.SIGKILL, 'was killed by SIGKILL (the out-of-memory killer sends it)'),
    (signal.SIGSEGV, 'was killed by SIGSEGV'),
])
def test_a_worker_that_dies_names_its_task_and_no_worker_is_left(signal_number, said):
  pool = workers.WorkerPool(2, state=None)
  pids = pool.pids
  tasks: list[workers.Task] = [
      worker_tasks.Echo('a'), worker_tasks.Die(signal_number), worker_tasks.Echo('b')
  ]
  with pytest.raises(workers.WorkerDiedError) as error:
    list(pool.run(tasks))
  message = str(error.value)
  assert said in message
  assert 'ILSVRC2012_img_train.tar:n01440764.tar' in message
  assert 'No dataset was written' in message and 'num_workers' in message
  assert len(pids) == 2 and not any(_alive(pid) for pid in pids)


def test_workers_do_not_import_tensorflow():
  with workers.WorkerPool(1, state=None) as pool:
    [(_, modules)] = [m for m in _plain(pool.run([worker_tasks.Modules()])) if m[0] == 'done']
  assert modules == {
      'tensorflow': False,
      'tensorflow_datasets': False,
      'imagenet_custom.imagenet_custom_dataset_builder': False,
  }


def test_printing_in_a_worker_does_not_break_the_protocol(capfd):
  with workers.WorkerPool(1, state=None) as pool:
    messages = _plain(pool.run([worker_tasks.Chatty()]))
  assert messages == [('batch', 'after printing'), ('done', 'ok')]
  assert 'some library printing to stdout' in capfd.readouterr().err


def test_closing_kills_every_worker_and_a_closed_pool_refuses_work():
  pool = workers.WorkerPool(3, state=None)
  pids = pool.pids
  assert len(pids) == 3 and all(_alive(pid) for pid in pids)
  pool.close()
  assert not any(_alive(pid) for pid in pids)
  with pytest.raises(RuntimeError, match='closed'):
    list(pool.run([worker_tasks.Echo('x')]))


def test_an_abandoned_run_kills_its_workers_and_the_next_run_starts_new_ones():
  with workers.WorkerPool(2, state='s') as pool:
    first = pool.pids
    run = pool.run([worker_tasks.Echo(f't{i}', batches=50) for i in range(4)])
    next(run)
    # The consumer stopped: TFDS's --max_examples_per_split, or an error.
    run.close()
    assert len(first) == 2 and not any(_alive(pid) for pid in first)
    messages = _plain(pool.run([worker_tasks.Echo('next', batches=1)]))
    assert messages[0] == ('batch', ('next', 0, 's'))
    assert set(pool.pids).isdisjoint(first) and len(pool.pids) == 2


def test_a_run_left_open_is_replaced_by_the_next_one():
  with workers.WorkerPool(2, state='s') as pool:
    first = pool.pids
    left_open = pool.run([worker_tasks.Echo(f't{i}', batches=50) for i in range(4)])
    next(left_open)  # TFDS's islice stops pulling but keeps the generator.
    messages = _plain(pool.run([worker_tasks.Echo('next', batches=2)]))
    assert [m for m in messages if m[0] == 'batch'] == [
        ('batch', ('next', 0, 's')), ('batch', ('next', 1, 's')),
    ]
    assert not any(_alive(pid) for pid in first)
    second = pool.pids
    left_open.close()  # Closing the old run later must not touch the new workers.
    assert all(_alive(pid) for pid in second)


def test_a_feed_takes_urgent_tasks_first_and_waits_until_closed():
  feed = workers.TaskFeed([worker_tasks.Echo('a', 0), worker_tasks.Echo('b', 0)], open=True)
  feed.put(worker_tasks.Echo('urgent', 0), urgent=True)
  assert [feed.next_task() for _ in range(3)] == [
      worker_tasks.Echo('urgent', 0), worker_tasks.Echo('a', 0), worker_tasks.Echo('b', 0),
  ]
  taken: list[Any] = []
  waiter = threading.Thread(target=lambda: taken.append(feed.next_task()))
  waiter.start()
  waiter.join(timeout=0.5)
  assert waiter.is_alive()  # An open feed waits for the next task.
  feed.put(worker_tasks.Echo('late', 0))
  waiter.join(timeout=5)
  assert taken == [worker_tasks.Echo('late', 0)]
  feed.close()
  assert feed.next_task() is None


def test_tasks_put_while_a_run_goes_on_are_run_and_cancel_ends_it():
  feed = workers.TaskFeed([worker_tasks.Echo('first', 1)], open=True)
  seen = []
  with workers.WorkerPool(2, state='s') as pool:
    for message in pool.run(feed):
      if isinstance(message, workers.Finished):
        seen.append(message.result[0])
        if message.result[0] == 'first':
          feed.put(worker_tasks.Echo('second', 0), urgent=True)
        else:
          feed.close()
  assert seen == ['first', 'second']
  waiting = workers.TaskFeed(open=True)
  waiting.cancel()
  assert waiting.next_task() is None


def test_a_worker_killed_while_writing_a_shard_names_the_shard_and_its_folder(tmp_path):
  task = worker_tasks.DieWhileWriting(
      'train', str(tmp_path / 'imagenet_custom-train.tfrecord-00003-of-00016'), 'tfrecord', ()
  )
  with workers.WorkerPool(1, state=None) as pool:
    with pytest.raises(workers.WorkerDiedError) as error:
      list(pool.run([task]))
  message = str(error.value)
  assert 'was killed by SIGKILL' in message
  assert (
      f"working on shard imagenet_custom-train.tfrecord-00003-of-00016 of split 'train'"
      f' in {tmp_path}'
  ) in message
