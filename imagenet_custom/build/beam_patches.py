"""A Beam Dask runner that runs TFDS's Beam writer correctly.

Written against apache-beam 2.77.0 with dask/distributed 2026.8.0. Beam's own
`apache_beam.runners.dask.dask_runner.DaskRunner` cannot build a TFDS dataset:

1. Outputs of `DoFn.finish_bundle` are dropped: `apply_dofn_to_bundle` in
   `apache_beam/runners/dask/transform_evaluator.py` collects a bundle's
   outputs before it calls `invoke_finish_bundle()`. `beam.combiners.Top`
   emits each bundle's top elements from `finish_bundle`, so
   `Top.Largest(1)` yields `[]`, and TFDS's `BeamWriter._assign_shard` fails
   on `largest_key[0]` with `IndexError: list index out of range`.
2. Only the last transform visited is computed (`run_pipeline` computes
   `list(bags.values())[-1]`): every other branch of the pipeline, such as
   the writers of all but one split, never runs.
3. Side inputs are computed by a nested `compute()` inside each task of the
   consuming step, so their upstream steps run again, once per partition.
4. `DaskRunnerResult.metrics()` raises `NotImplementedError`, and no metrics
   container is set while a DoFn runs: the build report's counts are lost.

`DaskRunner` below is a subclass, chosen by the user as a runner
(`runner=imagenet_custom.build.beam_patches.DaskRunner`); it changes nothing in Beam
for other pipelines. It keeps Beam's graph rewrites (`dask_overrides`) and its
translations of Create, GroupByKey and Flatten, and replaces the ParDo
translation and the run: a bundle's outputs are collected after
`finish_bundle`, side inputs are `dask.bag.Item`s of the same graph (computed
once), every unconsumed output is computed, each bundle's metric updates
travel back beside its outputs, and a `beam.Create` is split into two
partitions per worker thread unless `dask_npartitions` or
`dask_partition_size` says otherwise (see `default_partitions`). `check_beam_internals()` fails loudly, naming
this module, when the Beam internals it builds on change.
"""

from __future__ import annotations

import collections
import dataclasses
import importlib.metadata
import inspect
from typing import Any

import apache_beam as beam
from apache_beam import pvalue
from apache_beam.metrics.execution import MetricsContainer
from apache_beam.metrics.execution import MetricUpdates
from apache_beam.pipeline import AppliedPTransform
from apache_beam.pipeline import PipelineVisitor
from apache_beam.runners.common import _OutputHandler
from apache_beam.runners.common import DoFnContext
from apache_beam.runners.common import DoFnInvoker
from apache_beam.runners.common import DoFnSignature
from apache_beam.runners.common import Receiver
from apache_beam.runners.dask import dask_runner
from apache_beam.runners.dask import overrides
from apache_beam.runners.dask import transform_evaluator
from apache_beam.runners.direct.direct_metrics import DirectMetrics
from apache_beam.runners.runner import PipelineResult
from apache_beam.runners.runner import PipelineState
from apache_beam.runners.worker import statesampler
from apache_beam.transforms.sideinputs import SideInputMap
from apache_beam.utils import counters

# The Beam release whose Dask runner internals this module was written against
# and tested with; `check_beam_internals()` fails on any other.
BEAM_VERSION = '2.77.0'
_NAME = 'imagenet_custom.build.beam_patches.DaskRunner'


class BeamInternalsChanged(RuntimeError):
  """The Beam internals this module relies on are not what it was written for."""


def check_beam_internals() -> None:
  """Raises unless Beam's Dask runner still has the shape this module assumes.

  Raises:
    BeamInternalsChanged: naming what changed and what to re-check.
  """
  problems = []
  installed = importlib.metadata.version('apache-beam')
  if installed != BEAM_VERSION:
    problems.append(f'apache-beam is {installed}, not {BEAM_VERSION}')
  bundle_source = inspect.getsource(transform_evaluator.apply_dofn_to_bundle)
  if bundle_source.find('tagged_receivers.values') > bundle_source.find(
      'invoke_finish_bundle'
  ):
    problems.append(
        'apply_dofn_to_bundle now collects outputs after finish_bundle (bug 1'
        ' fixed upstream?)'
    )
  run_source = inspect.getsource(dask_runner.DaskRunner.run_pipeline)
  if 'bags.values())[-1]' not in run_source:
    problems.append('DaskRunner.run_pipeline no longer computes only the last bag')
  translated = set(transform_evaluator.TRANSLATIONS)
  expected = {overrides._Create, beam.ParDo, overrides._GroupByKeyOnly, overrides._Flatten}  # pylint: disable=protected-access
  if translated != expected:
    problems.append(f'TRANSLATIONS now covers {sorted(t.__name__ for t in translated)}')
  if problems:
    raise BeamInternalsChanged(
        f'{_NAME} was written against apache-beam {BEAM_VERSION}: '
        + '; '.join(problems)
        + '. Re-read apache_beam/runners/dask/ and update or drop'
        ' imagenet_custom/build/beam_patches.py.'
    )


@dataclasses.dataclass(frozen=True)
class _SideInputSpec:
  """How to rebuild one side input's view from its materialised elements."""

  view_class: type
  view_options: dict[str, Any]


@dataclasses.dataclass(frozen=True)
class _Bundle:
  """What one partition's task needs to run a DoFn (pickled into the graph)."""

  step: str
  do_fn: beam.DoFn
  window_fn: Any
  args: tuple[Any, ...]
  kwargs: dict[str, Any]
  side_inputs: tuple[_SideInputSpec, ...]


class _Collect(Receiver):
  """An output receiver that keeps every value it receives, unwindowed."""

  def __init__(self) -> None:
    self.values: list[Any] = []

  def receive(self, windowed_value: Any) -> None:
    self.values.append(windowed_value.value)


def _run_bundle(
    partition: Any, bundle: _Bundle, *side_values: list[Any]
) -> list[tuple[list[Any], MetricUpdates]]:
  """Runs a DoFn over one partition, outputs collected after `finish_bundle`.

  Args:
    partition: the partition's elements (unwindowed values).
    bundle: the DoFn and its arguments.
    *side_values: each side input's elements, in `bundle.side_inputs` order.

  Returns:
    One `(outputs, metric updates)` pair: a partition of the raw bag.
  """
  receiver = _Collect()
  output_handler = _OutputHandler(
      window_fn=bundle.window_fn,
      main_receivers=receiver,
      tagged_receivers={},
      per_element_output_counter=None,
      output_batch_converter=None,
      process_yields_batches=False,
      process_batch_yields_elements=False,
  )
  side_inputs = [
      SideInputMap(
          spec.view_class,
          spec.view_options,
          [transform_evaluator.get_windowed_value(v, bundle.window_fn) for v in values],
      )
      for spec, values in zip(bundle.side_inputs, side_values, strict=False)
  ]
  invoker = DoFnInvoker.create_invoker(
      DoFnSignature(bundle.do_fn),
      output_handler,
      context=DoFnContext(bundle.step, state=None),
      side_inputs=side_inputs,
      input_args=list(bundle.args),
      input_kwargs=bundle.kwargs,
      user_state_context=None,
      bundle_finalizer_param=beam.DoFn.BundleFinalizerParam(),
  )
  container = MetricsContainer(bundle.step)
  sampler = statesampler.StateSampler(bundle.step, counters.CounterFactory())
  previous = statesampler.get_current_tracker()
  statesampler.set_current_tracker(sampler)
  try:
    with sampler.scoped_state(bundle.step, 'process', metrics_container=container):
      invoker.invoke_setup()
      invoker.invoke_start_bundle()
      for value in partition:
        invoker.invoke_process(
            transform_evaluator.get_windowed_value(value, bundle.window_fn)
        )
      invoker.invoke_finish_bundle()
      invoker.invoke_teardown()
  finally:
    statesampler.set_current_tracker(previous)
  return [(receiver.values, container.get_cumulative())]


def _outputs(raw_partition: list[tuple[list[Any], MetricUpdates]]) -> list[Any]:
  return raw_partition[0][0]


def _metric_updates(
    raw_partition: list[tuple[list[Any], MetricUpdates]],
) -> list[MetricUpdates]:
  return [raw_partition[0][1]]


def _as_list(partition: Any) -> list[Any]:
  return list(partition)


def _concat(parts: list[list[Any]]) -> list[Any]:
  return [value for part in parts for value in part]


class _BagVisitor(PipelineVisitor):
  """Translates each leaf transform to a Dask bag (ParDo: see `_run_bundle`)."""

  def __init__(self, bag_kwargs: dict[str, Any]) -> None:
    self.bag_kwargs = bag_kwargs
    self.bags: dict[AppliedPTransform, Any] = collections.OrderedDict()
    self.metric_bags: list[Any] = []
    self.consumed: set[AppliedPTransform] = set()

  def _side_input_item(self, side_input: pvalue.AsSideInput) -> Any:
    producer = side_input.pvalue.producer
    self.consumed.add(producer)
    return self.bags[producer].reduction(_as_list, _concat)

  def _par_do(self, node: AppliedPTransform, input_bag: Any) -> Any:
    transform = node.transform
    if len(node.outputs) > 1:
      raise NotImplementedError(
          f'{_NAME}: {node.full_label} has tagged outputs, which this runner'
          ' does not route; run it on the DirectRunner.'
      )
    args, kwargs = transform.raw_side_inputs
    main_input = next(iter(node.main_inputs.values()))
    bundle = _Bundle(
        step=node.full_label,
        do_fn=transform.fn,
        window_fn=main_input.windowing.windowfn,
        args=tuple(args),
        kwargs=dict(kwargs),
        side_inputs=tuple(
            _SideInputSpec(type(si), si._view_options())  # pylint: disable=protected-access
            for si in node.side_inputs
        ),
    )
    items = [self._side_input_item(si) for si in node.side_inputs]
    raw = input_bag.map_partitions(_run_bundle, bundle, *items)
    self.metric_bags.append(raw.map_partitions(_metric_updates))
    return raw.map_partitions(_outputs)

  def visit_transform(self, transform_node: AppliedPTransform) -> None:
    op_class = transform_evaluator.TRANSLATIONS.get(
        transform_node.transform.__class__, transform_evaluator.NoOp
    )
    input_bags = []
    for input_value in transform_node.inputs:
      producer = input_value.producer
      if producer in self.bags:
        self.consumed.add(producer)
        input_bags.append(self.bags[producer])
    if transform_node.transform.__class__ is beam.ParDo:
      (input_bag,) = input_bags
      self.bags[transform_node] = self._par_do(transform_node, input_bag)
      return
    op = op_class(transform_node, bag_kwargs=self.bag_kwargs)
    if not input_bags:
      input_arg = None
    elif len(input_bags) == 1 and op_class is not transform_evaluator.Flatten:
      input_arg = input_bags[0]
    else:
      input_arg = input_bags
    self.bags[transform_node] = op.apply(input_arg)

  def leaves(self) -> list[Any]:
    """The bags no transform consumes: computing them runs the whole pipeline."""
    return [bag for node, bag in self.bags.items() if node not in self.consumed]


def default_partitions(threads: int) -> int:
  """Partitions of each `beam.Create` when the options do not say.

  Beam's Reshuffle is a no-op on Dask, so a Create's partitions are the only
  spreading of work (Beam's default of 128 elements per partition puts all
  100 classes of a build on one worker). Every partition then takes part in
  each GroupByKey's task shuffle, whose task count grows with the square of the
  partitions (233,667 tasks for 100 classes at one class per partition): a few
  partitions per worker thread keep every thread busy and the graph small.

  Args:
    threads: worker threads in the cluster.

  Returns:
    The number of partitions.
  """
  return 2 * max(threads, 1)


class DaskRunnerResult(PipelineResult):
  """The running pipeline: its futures, then its metrics."""

  def __init__(self, client: Any, leaves: list[Any], metric_updates: Any) -> None:
    super().__init__(PipelineState.RUNNING)
    self._client = client
    self._leaves = leaves
    self._metric_updates = metric_updates
    self._metrics: DirectMetrics | None = None

  def wait_until_finish(self, duration: int | None = None) -> str:
    """Waits for every leaf; raises the first worker error, as Beam's runner does."""
    del duration  # Runs to the end: a build has no use for a partial wait.
    if self._state != PipelineState.RUNNING:
      return self._state
    try:
      self._client.gather(self._leaves)
      updates = self._client.gather(self._metric_updates)
      self._metrics = DirectMetrics()
      for index, update in enumerate(updates):
        self._metrics.commit_logical(index, update)
        self._metrics.commit_physical(index, update)
      self._state = PipelineState.DONE
    except BaseException:
      self._state = PipelineState.FAILED
      raise
    finally:
      self._client.close()
    return self._state

  def cancel(self) -> str:
    self._client.cancel(self._leaves + [self._metric_updates])
    self._client.close()
    self._state = PipelineState.CANCELLED
    return self._state

  def metrics(self) -> DirectMetrics:
    """The counters, distributions and string sets of every bundle."""
    if self._metrics is None:
      raise RuntimeError(f'{_NAME}: metrics exist once wait_until_finish() returned')
    return self._metrics


class DaskRunner(dask_runner.DaskRunner):
  """Beam's DaskRunner with the fixes in this module's docstring."""

  def run_pipeline(self, pipeline: beam.Pipeline, options: Any) -> DaskRunnerResult:
    """Translates the pipeline to one Dask graph and submits all of it."""
    check_beam_internals()
    import dask.bag  # pylint: disable=g-import-not-at-top
    import dask.distributed  # pylint: disable=g-import-not-at-top

    dask_options = options.view_as(dask_runner.DaskOptions).get_all_options(
        drop_default=True, current_only=True
    )
    bag_kwargs = dask_runner.DaskOptions._extract_bag_kwargs(dask_options)  # pylint: disable=protected-access
    client = dask.distributed.Client(**dask_options)
    if not bag_kwargs:
      bag_kwargs['npartitions'] = default_partitions(sum(client.nthreads().values()))
    pipeline.replace_all(overrides.dask_overrides())
    visitor = _BagVisitor(bag_kwargs)
    pipeline.visit(visitor)
    leaves = visitor.leaves()
    metric_updates = dask.bag.concat(visitor.metric_bags)
    futures = client.compute([*leaves, metric_updates])
    return DaskRunnerResult(client, futures[:-1], futures[-1])
