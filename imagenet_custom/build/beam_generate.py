"""Generation as Apache Beam transforms, one class or val chunk per work item.

Workers receive the plan (paths, val labels, the outer tar's member offsets)
and open each class's inner tar by seeking into the outer tar: no worker
streams an archive from its start. Counts travel as Beam metrics and become
the build report when the pipeline is done.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import apache_beam as beam
from apache_beam.metrics import Metrics
from apache_beam.metrics.metric import MetricsFilter

from imagenet_custom.build import generate
from imagenet_custom.build import report as report_lib
from imagenet_custom.ilsvrc import splits

NAMESPACE = 'imagenet_custom'
_SKIPPED = 'skipped_files'


class BeamTally:
  """A `report.Tally` that counts in Beam metrics (use inside a DoFn only)."""

  def add(self, key: str, amount: int = 1) -> None:
    Metrics.counter(NAMESPACE, key).inc(amount)

  def skip(self, origin: str, reason: str) -> None:
    Metrics.string_set(NAMESPACE, _SKIPPED).add(f'{origin}: {reason}')


def _class_examples(
    wnid: str, plan: generate.Plan, split: str
) -> Iterator[tuple[str, generate.Example]]:
  return generate.keyed_examples(
      generate.class_outcomes(plan, wnid, split, BeamTally())
  )


def _val_examples(
    names: list[str], plan: generate.Plan, split: str
) -> Iterator[tuple[str, generate.Example]]:
  return generate.keyed_examples(
      generate.val_outcomes(plan, names, split, BeamTally())
  )


def split_transform(plan: generate.Plan, split: str) -> beam.PTransform:
  """The transform that yields `(key, example)` for one split.

  Args:
    plan: the build plan (pickled to every worker).
    split: `train`, `validation`, `test` or `test_blacklisted`.

  Returns:
    A PTransform from the pipeline root to keyed examples.
  """
  if split in splits.TRAIN_SPLITS:
    items: list[Any] = plan.train_wnids()
    work: Callable[[Any, generate.Plan, str], Any] = _class_examples
  else:
    names = plan.val_split_names(split)
    size = generate.VAL_TASK_SIZE
    items = [names[i : i + size] for i in range(0, len(names), size)]
    work = _val_examples
  return (
      f'Create {split} work items' >> beam.Create(items)
      | f'Spread {split} work items' >> beam.Reshuffle()
      | f'Generate {split}' >> beam.FlatMap(work, plan=plan, split=split)
  )


def add_metrics(
    pipeline_result: beam.runners.runner.PipelineResult,
    report: report_lib.BuildReport,
) -> None:
  """Adds the workers' counts and skipped files to the driver's report.

  Args:
    pipeline_result: the finished pipeline.
    report: the driver's report, updated in place.
  """
  results = pipeline_result.metrics().query(
      MetricsFilter().with_namespace(NAMESPACE)
  )
  for counter in results['counters']:
    report.add(counter.key.metric.name, counter.committed)
  for string_set in results.get('string_sets', []):
    for line in sorted(string_set.committed):
      report.skipped.append(line)
