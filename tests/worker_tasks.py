"""Tasks for tests/test_workers.py and test_worker_main.py; imported by the workers too.

The workers find this module because the tests put tests/ on PYTHONPATH.
"""

from __future__ import annotations

from collections.abc import Callable
import dataclasses
import os
import signal
import sys
import threading
import time
from typing import Any

from imagenet_custom.build import shard_writer
from imagenet_custom.errors import BadFileError


@dataclasses.dataclass(frozen=True)
class Echo:
  """Emits `batches` batches, then returns its name and the worker's pid."""

  name: str
  batches: int = 3

  def __call__(self, state: Any, emit: Callable[[Any], None]) -> Any:
    for i in range(self.batches):
      emit((self.name, i, state))
    return (self.name, os.getpid())

  def describe(self) -> str:
    return f'echo {self.name}'


@dataclasses.dataclass(frozen=True)
class RaiseBadFile:
  def __call__(self, state: Any, emit: Callable[[Any], None]) -> Any:
    emit('before the error')
    raise BadFileError('ILSVRC2012_img_val.tar:ILSVRC2012_val_00000007.JPEG', 'JPEG does not decode')

  def describe(self) -> str:
    return 'a bad file'


class _Unpicklable(Exception):
  def __init__(self) -> None:
    super().__init__('holds a lock')
    self.lock = threading.Lock()


@dataclasses.dataclass(frozen=True)
class RaiseUnpicklable:
  def __call__(self, state: Any, emit: Callable[[Any], None]) -> Any:
    raise _Unpicklable()

  def describe(self) -> str:
    return 'an unpicklable error'


@dataclasses.dataclass(frozen=True)
class Die:
  """Kills its own worker with a signal, as the OOM killer or a crash would."""

  signal_number: int

  def __call__(self, state: Any, emit: Callable[[Any], None]) -> Any:
    emit('about to die')
    os.kill(os.getpid(), self.signal_number)
    time.sleep(30)

  def describe(self) -> str:
    return f'ILSVRC2012_img_train.tar:n01440764.tar (dies by {signal.Signals(self.signal_number).name})'


@dataclasses.dataclass(frozen=True)
class Modules:
  """Returns whether heavy frameworks were imported in the worker."""

  def __call__(self, state: Any, emit: Callable[[Any], None]) -> Any:
    return {name: name in sys.modules for name in ('tensorflow', 'tensorflow_datasets', 'imagenet_custom.imagenet_custom_dataset_builder')}

  def describe(self) -> str:
    return 'module check'


@dataclasses.dataclass(frozen=True)
class Chatty:
  """Prints to stdout, which must not corrupt the protocol."""

  def __call__(self, state: Any, emit: Callable[[Any], None]) -> Any:
    print('some library printing to stdout', flush=True)
    emit('after printing')
    return 'ok'

  def describe(self) -> str:
    return 'printing'


@dataclasses.dataclass(frozen=True)
class PackageState:
  """Returns how the worker set up `imagenet_custom` and `sys.path`."""

  def __call__(self, state: Any, emit: Callable[[Any], None]) -> Any:
    package = sys.modules['imagenet_custom']
    return {
        'init_ran': hasattr(package, 'Builder'),
        'package_dir_on_path': any(
            os.path.basename(os.path.normpath(p)) == 'imagenet_custom' for p in sys.path
        ),
        'state': state,
        # Where the package and the protocol's module were imported from.
        'package_dir': list(package.__path__),
        'workers_file': sys.modules['imagenet_custom.build.workers'].__file__,
    }

  def describe(self) -> str:
    return 'package state'


@dataclasses.dataclass(frozen=True)
class SpillKeys:
  """Spills one small example per key for a split, as a generation task does.

  The pool's state is the spill directory.
  """

  split: str
  keys: tuple[str, ...]
  seconds: float = 0.0

  def __call__(self, state: Any, emit: Callable[[Any], None]) -> Any:
    from imagenet_custom.build import parallel_build  # pylint: disable=g-import-not-at-top
    from imagenet_custom.build import spill  # pylint: disable=g-import-not-at-top

    time.sleep(self.seconds)
    writer = spill.SpillWriter(state, self.split, f'{os.getpid()}-{self.keys[0]}')
    emit(parallel_build.Batch(writer.write([(k, k.encode()) for k in self.keys])))
    writer.close()
    return parallel_build.TaskResult({}, [])

  def describe(self) -> str:
    return f'{len(self.keys)} keys of {self.split}'



@dataclasses.dataclass(frozen=True)
class DieWhileWriting(shard_writer.WriteShard):
  """A `WriteShard` whose worker is killed once it has begun the shard's file."""

  def __call__(self, state: Any, emit: Callable[[Any], None]) -> Any:
    with open(self.path, 'wb') as f:
      f.write(b'part of a shard')
    os.kill(os.getpid(), signal.SIGKILL)
    time.sleep(30)
