"""Tests for `imagenet_custom.build.beam_generate`: generation as Beam transforms."""

from __future__ import annotations

import apache_beam as beam
from apache_beam.testing.util import assert_that
from apache_beam.testing.util import equal_to

from imagenet_custom import layouts
from imagenet_custom.build import beam_generate
from imagenet_custom.build import generate
from imagenet_custom.build import report as report_lib

from builds import build
from builds import DUMMY
from builds import read_all


def _count(item: tuple[str, int]) -> None:
  key, amount = item
  tally = beam_generate.BeamTally()
  tally.add(key, amount)
  if amount == 0:
    tally.skip(f'file_{key}', 'JPEG does not decode')


def test_worker_counts_and_skips_reach_the_driver_report():
  pipeline = beam.Pipeline(runner='DirectRunner')
  _ = (
      pipeline
      | beam.Create([('a', 2), ('b', 3), ('a', 5), ('c', 0), ('d', 0)])
      | beam.Map(_count)
  )
  result = pipeline.run()
  result.wait_until_finish()
  report = report_lib.BuildReport()
  report.add('a', 1)  # The driver's own count is kept and added to.
  beam_generate.add_metrics(result, report)
  assert dict(report.counts) == {'a': 8, 'b': 3, 'c': 0, 'd': 0}
  assert report.skipped == [
      'file_c: JPEG does not decode', 'file_d: JPEG does not decode'
  ]


def test_each_split_yields_its_examples():
  reader = layouts.find_reader(DUMMY / 'archives')
  plan = generate.make_plan(reader, generate.Options(), report_lib.BuildReport())
  with beam.Pipeline(runner='DirectRunner') as pipeline:
    validation = pipeline | 'validation' >> beam_generate.split_transform(plan, 'validation')
    assert_that(
        validation | beam.combiners.Count.Globally(), equal_to([9]), label='nine'
    )
    blacklisted = pipeline | 'blacklisted' >> beam_generate.split_transform(
        plan, 'test_blacklisted'
    )
    assert_that(
        blacklisted | beam.Map(lambda item: (item[0], item[1]['file_name'])),
        equal_to([
            (f'ILSVRC2012_val_000000{n:02d}.JPEG',) * 2 for n in (8, 12, 17)
        ]),
        label='blacklisted',
    )


def test_beam_build_writes_the_same_examples(tmp_path, examples):
  builder = build(DUMMY / 'archives', tmp_path, beam=True)
  beam_examples = read_all(builder)
  plain = examples['archives']
  assert beam_examples.keys() == plain.keys()
  for name, example in plain.items():
    other = beam_examples[name]
    assert (other.split, other.label, other.image) == (example.split, example.label, example.image), name
    assert other.bboxes.tobytes() == example.bboxes.tobytes(), name
  report = builder.info.metadata['build_report']
  assert report['balanced'] is True
  assert report['counts']['train_images_read'] == 41
