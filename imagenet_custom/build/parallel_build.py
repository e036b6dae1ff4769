"""The plain build on worker processes: the tasks, and the parent's side.

A task is one train class (for `train` or `validation`) or a chunk of val
images (for `test`, `test_blacklisted` or any other split of val-like
images). A worker lists and reads the task's images, checks and re-encodes
them, parses their boxes and serialises each example to `tf.train.Example`
bytes (`example_proto`) and spills them to its own bucket files (`spill`),
sending back batches of `(key, Spilled)`: where each went. `split_engine`
collects them and has the workers write the shards.

Tasks finish in any order, and that does not change the output: a split's
shards hold its examples ordered by a hash of their keys. The report's
counters are sums, and its skipped-file list is sorted.

This module runs in the workers too, so it must not import TensorFlow or TFDS.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
import concurrent.futures
import dataclasses
from typing import Any, NamedTuple
import uuid

from imagenet_custom.build import example_proto
from imagenet_custom.build import generate
from imagenet_custom.build import report as report_lib
from imagenet_custom.build import spill as spill_lib
from imagenet_custom.build import workers
from imagenet_custom.build.workers import WorkerPool
from imagenet_custom.ilsvrc import annotations as annotations_lib
from imagenet_custom.ilsvrc import metadata
from imagenet_custom.ilsvrc import selection as selection_lib

# A batch is sent back when it holds this many bytes or records.
_BATCH_BYTES = 4 << 20
_BATCH_RECORDS = 256
# Val images per task.
VAL_TASK_SIZE = generate.VAL_TASK_SIZE


def worker_plan(plan: generate.Plan) -> generate.Plan:
  """The plan every worker holds: without the per-val-image tables.

  Val labels and boxes (48 MB of Python objects per worker for the 50,000
  val images) travel instead with the `ValTask` that needs them.
  """
  return dataclasses.replace(
      plan, val_labels={}, val_annotations={}, val_names={},
      eval_splits={},  # Issue 17 hook: chunks travel with their `EvalTask`.
  )


@dataclasses.dataclass
class WorkerState:
  """What every task needs; sent once to each worker.

  Attributes:
    plan: the build plan (reader, options, val labels and boxes).
    specs: the features examples are serialised with.
    spill_dir: where workers spill the serialised examples (`spill`).
    threads: threads per worker, so that reads overlap the work.
    spill_images: spill every example whole, images included (config
      `spill_images`), instead of leaving unchanged images in the input.
  """

  plan: generate.Plan
  specs: tuple[example_proto.FieldSpec, ...]
  spill_dir: str
  threads: int = 2
  spill_images: bool = False
  _executor: concurrent.futures.ThreadPoolExecutor | None = dataclasses.field(
      default=None, init=False, repr=False, compare=False
  )
  _spill_writers: dict[str, spill_lib.SpillWriter] = dataclasses.field(
      default_factory=dict, init=False, repr=False, compare=False
  )

  def __getstate__(self) -> dict[str, Any]:
    state = self.__dict__.copy()
    state['_executor'] = None
    state['_spill_writers'] = {}
    return state

  def spill_writer(self, split: str) -> spill_lib.SpillWriter:
    """This process's spill files for a split."""
    writer = self._spill_writers.get(split)
    if writer is None:
      # A worker builds one split at a time: the last split's files close.
      for other in self._spill_writers.values():
        other.close()
      # Unique to this process: a worker that replaces another never appends
      # to its files.
      token = uuid.uuid4().hex[:16]
      writer = spill_lib.SpillWriter(self.spill_dir, split, token)
      self._spill_writers[split] = writer
    return writer

  def executor(self) -> concurrent.futures.ThreadPoolExecutor:
    """This process's thread pool for per-image work."""
    if self._executor is None:
      self._executor = concurrent.futures.ThreadPoolExecutor(self.threads)
    return self._executor


class Batch(NamedTuple):
  """Examples of one task spilled to disk, in the order it made them."""

  records: list[tuple[str, spill_lib.Spilled]]


class TaskResult(NamedTuple):
  """What a finished task adds to the build report.

  Attributes:
    counts: counters to add.
    skipped: `origin: reason` of each file skipped.
  """

  counts: dict[str, int]
  skipped: list[str]


def spill_record(
    specs: tuple[example_proto.FieldSpec, ...],
    outcome: generate.Outcome,
    whole: bool = False,
) -> spill_lib.Record:
  """What is spilled for one example: its bytes, or where its image lies.

  Args:
    specs: the features examples are serialised with.
    outcome: an image written (its `example` is set).
    whole: always spill the whole example.

  Returns:
    The serialised example, or, for an image stored unchanged from a local
    file, the example around it and where it is (`spill.InPlace`).
  """
  assert outcome.example is not None
  parts = example_proto.serialize_parts(specs, outcome.example)
  image = outcome.example['image']
  if outcome.span is None or whole:
    return b''.join(parts)
  # The image is one of the parts, the very object (see `serialize_parts`).
  at = next(i for i, part in enumerate(parts) if part is image)
  return spill_lib.InPlace(
      b''.join(parts[:at]), b''.join(parts[at + 1:]),
      outcome.span.path, outcome.span.offset, len(image),
  )


def _send_spilled(
    outcomes: Iterator[generate.Outcome],
    state: WorkerState,
    split: str,
    emit: Callable[[Any], None],
) -> None:
  """Serialises and spills the examples; emits where they went, in batches."""
  writer = state.spill_writer(split)
  records: list[tuple[str, spill_lib.Record]] = []
  size = 0
  for outcome in outcomes:
    record = spill_record(state.specs, outcome, state.spill_images)
    records.append((outcome.key, record))
    size += len(record) if isinstance(record, bytes) else len(record.prefix)
    if size >= _BATCH_BYTES or len(records) >= _BATCH_RECORDS:
      emit(Batch(writer.write(records)))
      records, size = [], 0
  if records:
    emit(Batch(writer.write(records)))


def _result(report: report_lib.BuildReport) -> TaskResult:
  return TaskResult(dict(report.counts), list(report.skipped))


@dataclasses.dataclass(frozen=True)
class ClassTask:
  """The `train` or `validation` examples of one class."""

  wnid: str
  split: str
  origin: str

  def __call__(self, state: WorkerState, emit: Callable[[Any], None]) -> TaskResult:
    report = report_lib.BuildReport()
    outcomes = generate.class_outcomes(
        state.plan, self.wnid, self.split, report, state.executor()
    )
    _send_spilled(outcomes, state, self.split, emit)
    return _result(report)

  def describe(self) -> str:
    return f'{self.origin} ({self.split} split)'


@dataclasses.dataclass(frozen=True)
class ValTask:
  """The `test` or `test_blacklisted` examples among some val images.

  Attributes:
    names: the val file names.
    split: `test` or `test_blacklisted`.
    labels: WNID by val number, for these images.
    annotations: parsed boxes by val number, for those of these images that
      have them.
  """

  names: tuple[str, ...]
  split: str
  labels: dict[int, str]
  annotations: dict[int, annotations_lib.Annotation]

  def __call__(self, state: WorkerState, emit: Callable[[Any], None]) -> TaskResult:
    report = report_lib.BuildReport()
    plan = dataclasses.replace(
        state.plan, val_labels=self.labels, val_annotations=self.annotations
    )
    outcomes = generate.val_outcomes(
        plan, list(self.names), self.split, report, state.executor()
    )
    _send_spilled(outcomes, state, self.split, emit)
    return _result(report)

  def describe(self) -> str:
    return (
        f'{len(self.names)} val images {self.names[0]} .. {self.names[-1]}'
        f' ({self.split} split)'
    )


@dataclasses.dataclass(frozen=True)
class EvalTask:
  """Issue 17 hook: one chunk of an evaluation set (`eval_examples.EvalChunk`)."""

  chunk: Any
  split: str

  def __call__(self, state: WorkerState, emit: Callable[[Any], None]) -> TaskResult:
    report = report_lib.BuildReport()
    outcomes = self.chunk.outcomes(state.plan.options, report, state.executor())
    _send_spilled(outcomes, state, self.split, emit)
    return _result(report)

  def describe(self) -> str:
    return f'{self.chunk.describe()} ({self.split} split)'


class ClassCount(NamedTuple):
  """How many images of a class go to each train split."""

  train: int
  validation: int


@dataclasses.dataclass(frozen=True)
class CountTask:
  """Lists one class (headers only) to count its train and validation images."""

  wnid: str
  origin: str

  def __call__(self, state: WorkerState, emit: Callable[[Any], None]) -> ClassCount:
    del emit
    plan = state.plan
    divided = selection_lib.split_class(
        self.wnid, plan.reader.list_train_class(self.wnid).names,
        plan.options.validation_fraction, plan.options.split_seed,
        plan.selection, self.origin,
    )
    return ClassCount(len(divided.train), len(divided.validation))

  def describe(self) -> str:
    return f'{self.origin} (counting images)'


def count_images(pool: WorkerPool, plan: generate.Plan) -> dict[str, int]:
  """Images per split, for the progress display; lists classes on the pool.

  Args:
    pool: the workers.
    plan: the build plan.

  Returns:
    Image count by split name.
  """
  reader = plan.reader
  tasks = [CountTask(w, reader.class_origin(w)) for w in plan.train_wnids()]
  totals = {
      'train': 0,
      'validation': 0,
      **{split: len(plan.val_split_names(split)) for split in report_lib.VAL_SPLITS},
      # Issue 17 hook: the evaluation-set splits.
      **{split: sum(len(c.images) for c in chunks) for split, chunks in plan.eval_splits.items()},
  }
  for message in pool.run(tasks):
    if isinstance(message, workers.Finished):
      totals['train'] += message.result.train
      totals['validation'] += message.result.validation
  return totals


def split_tasks(plan: generate.Plan, split: str) -> list[ClassTask | ValTask | EvalTask]:
  """The tasks that generate and spill one split's examples.

  A split named in `report.TRAIN_SPLITS` is made of train classes; any other
  split of val-like images (`plan.val_split_names(split)`) in chunks.
  """
  return list(_tasks(plan, split))


def _tasks(plan: generate.Plan, split: str) -> Iterator[ClassTask | ValTask | EvalTask]:
  reader = plan.reader
  if split in plan.eval_splits:  # Issue 17 hook.
    for chunk in plan.eval_splits[split]:
      yield EvalTask(chunk, split)
    return
  if split in report_lib.TRAIN_SPLITS:
    for wnid in plan.train_wnids():
      yield ClassTask(wnid, split, reader.class_origin(wnid))
    return
  names = plan.val_split_names(split)
  for start in range(0, len(names), VAL_TASK_SIZE):
    chunk = tuple(names[start : start + VAL_TASK_SIZE])
    numbers = [metadata.val_index(name) for name in chunk]
    yield ValTask(
        chunk,
        split,
        {n: plan.val_labels[n] for n in numbers if n is not None},
        {n: plan.val_annotations[n] for n in numbers if n in plan.val_annotations},
    )
