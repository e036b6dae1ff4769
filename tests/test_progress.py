"""The whole-build progress line."""

from __future__ import annotations

import io

from imagenet_custom.build import progress


def test_durations():
  assert progress.format_duration(12.4) == '12 s'
  assert progress.format_duration(245) == '4 min 05 s'
  assert progress.format_duration(3720) == '1 h 02 min'


def test_line_has_done_total_rate_and_eta():
  line = progress.describe(12_000, 1_331_167, 15.0)
  assert line == (
      'imagenet_custom: 12,000 of 1,331,167 images (0.9%), 800 img/s,'
      ' ETA 27 min 29 s'
  )
  assert progress.describe(0, 10, 0.0) == 'imagenet_custom: 0 of 10 images (0.0%)'
  assert progress.describe(10, 10, 2.0) == 'imagenet_custom: 10 of 10 images (100.0%), 5 img/s'


class _Clock:
  def __init__(self) -> None:
    self.now = 100.0

  def __call__(self) -> float:
    return self.now


def test_a_terminal_gets_a_bar_with_done_of_total(monkeypatch):
  logged = []
  monkeypatch.setattr(progress.logging, 'info', lambda fmt, text: logged.append(text))
  clock, stream = _Clock(), io.StringIO()
  shown = progress.Progress(1000, stream=stream, clock=clock, interactive=True)
  shown.advance(200)
  shown.advance(50)
  clock.now += 5
  assert shown.finish() == 'imagenet_custom: 250 images in 5 s (50 img/s)'
  assert 'imagenet_custom build' in stream.getvalue()
  assert '250/1000' in stream.getvalue()
  assert logged == ['imagenet_custom: 250 images in 5 s (50 img/s)']


def test_logs_periodically_when_not_a_terminal(monkeypatch):
  logged = []
  monkeypatch.setattr(progress.logging, 'info', lambda fmt, text: logged.append(text))
  clock = _Clock()
  shown = progress.Progress(50, stream=io.StringIO(), clock=clock, interactive=False, log_every=30)
  for _ in range(10):
    clock.now += 5
    shown.advance(5)
  assert logged == [
      'imagenet_custom: 30 of 50 images (60.0%), 1 img/s, ETA 20 s',
  ]
  assert shown.done == 50
