"""Tests of `benchmarks.build.profiling`: py-spy's raw samples summed."""

from __future__ import annotations

from benchmarks.build import profiling


def test_parse_pyspy_raw_sums_by_function_and_thread() -> None:
  raw = '\n'.join([
      'thread (0x1): MainThread;main (a.py:1);write (tfds/writer.py:10) 6',
      'thread (0x1): MainThread;main (a.py:1);write (tfds/writer.py:12) 2',
      'thread (0x2): ThreadPoolExecutor-0_0;work (b.py:5);load (PIL/x.py:9) 3',
      'thread (0x3): ThreadPoolExecutor-0_1;work (b.py:5) 1',
  ])
  profile = profiling.parse_pyspy_raw(raw)
  assert profile.total == 12
  assert profile.threads == {'MainThread': 8, 'ThreadPoolExecutor': 4}
  assert profile.thread_ids['ThreadPoolExecutor'] == {'thread (0x2)', 'thread (0x3)'}
  assert profile.own['write (tfds/writer.py)'] == 8
  assert profile.own['work (b.py)'] == 1
  assert profile.inclusive['main (a.py)'] == 8
  assert profile.inclusive['work (b.py)'] == 4
  text = profiling.format_pyspy(profile, rate=10, wall_s=1.0, images=4, top=3)
  assert 'MainThread' in text and 'write (tfds/writer.py)' in text


def test_parse_pyspy_raw_groups_worker_processes() -> None:
  raw = '\n'.join([
      'process 10:"/venv/bin/python /venv/bin/tfds build x";'
      'thread (0x1): MainThread;main (a.py:1) 5',
      'process 11:"/venv/bin/python -m imagenet_custom.worker";'
      'thread (0x7): MainThread;decode (w.py:3) 2',
      'process 12:"/venv/bin/python -m imagenet_custom.worker";'
      'thread (0x7): MainThread;decode (w.py:3) 3',
  ])
  profile = profiling.parse_pyspy_raw(raw)
  assert profile.threads == {
      'tfds: MainThread': 5, 'imagenet_custom.worker: MainThread': 5
  }
  assert profile.own['decode (w.py)'] == 5
