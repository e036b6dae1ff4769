"""Tests of `benchmarks.build.phases`: TFDS's progress lines to phase times."""

from __future__ import annotations

import pathlib

import pytest

from benchmarks.build import phases

_OUT = '/data/imagenet_custom/w2/incomplete.AB12_1.0.0'


@pytest.mark.parametrize(
    'line, marker',
    [
        ('Generating train examples...: 0 examples [00:00, ? examples/s]\x1b[A',
         ('generate', 'train')),
        (f'Shuffling {_OUT}/imagenet_custom-test_blacklisted.tfrecord-[0-9]...:'
         '   0%|          | 0/21', ('shuffle', 'test_blacklisted')),
        (f'INFO[writer.py]: Done writing {_OUT}/imagenet2012-validation.tfrecord'
         '-[0-9][0-9]. Number of examples: 9', ('done', 'validation')),
        ('Generating splits...:  50%|#####     | 2/4', None),
        ('INFO[generate.py]: Reading ILSVRC2012_img_train.tar:n01440764.tar', None),
    ],
)
def test_parse_marker(line: str, marker: tuple[str, str] | None) -> None:
  assert phases.parse_marker(line) == marker


def test_phases_add_up_per_split() -> None:
  events = {
      ('generate', 'train'): 10.0, ('shuffle', 'train'): 30.0,
      ('done', 'train'): 34.0,
      ('generate', 'test'): 34.5, ('shuffle', 'test'): 39.5,
      ('done', 'test'): 40.0,
  }
  assert phases.phases_from_events(events, started=2.0, ended=41.0) == (
      phases.Phases(setup_s=8.0, generate_s=25.0, write_s=4.5, splits=2)
  )


def test_missed_lines_count_until_the_next_one_or_the_end() -> None:
  events = {
      ('generate', 'train'): 10.0, ('done', 'train'): 20.0,  # No Shuffling.
      ('generate', 'test'): 21.0, ('shuffle', 'test'): 25.0,  # No Done.
      ('done', 'late'): 99.0,  # Seen after the exit: clamped to it.
  }
  assert phases.phases_from_events(events, started=0.0, ended=30.0) == (
      phases.Phases(setup_s=10.0, generate_s=14.0, write_s=5.0, splits=2)
  )
  assert phases.phases_from_events({}, 0.0, 5.0) == phases.Phases()


def test_log_watcher_times_lines_as_they_appear(tmp_path: pathlib.Path) -> None:
  log = tmp_path / 'log.txt'
  watcher = phases.LogWatcher(log, started=0.0)
  watcher.poll(now=1.0)  # The log does not exist yet.
  log.write_bytes(b'starting\nGenerating train exa')
  watcher.poll(now=2.0)
  assert watcher.events == {}
  with log.open('ab') as out:
    out.write(b'mples...: 0 examples\r\x1b[AShuffling /d/x-train.tfrecord-0...')
  watcher.poll(now=3.0)
  with log.open('ab') as out:
    out.write(b'\rShuffling /d/x-train.tfrecord-0... 50%\nDone writing /d/x-train.tfrecord-0\n')
  watcher.poll(now=7.0)
  assert watcher.events == {
      ('generate', 'train'): 3.0, ('shuffle', 'train'): 3.0,
      ('done', 'train'): 7.0,
  }
  assert watcher.phases(ended=8.0) == phases.Phases(
      setup_s=3.0, generate_s=0.0, write_s=4.0, splits=1
  )
