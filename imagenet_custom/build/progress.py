"""One progress display for a whole build: images done of total, rate, ETA.

TFDS shows a bar per split; a split of real ImageNet takes many minutes, so
the build also shows the whole: on a terminal, a tqdm bar of its own (tqdm
places it beside TFDS's bars, which are tqdm bars too); otherwise (logs, CI)
a log line every `log_every` seconds.
"""

from __future__ import annotations

from collections.abc import Callable
import sys
import threading
import time
from typing import TextIO

from absl import logging
import tqdm


def format_duration(seconds: float) -> str:
  """`1 h 02 min`, `4 min 05 s` or `12 s`."""
  seconds = round(seconds)
  hours, rest = divmod(seconds, 3600)
  minutes, secs = divmod(rest, 60)
  if hours:
    return f'{hours} h {minutes:02d} min'
  if minutes:
    return f'{minutes} min {secs:02d} s'
  return f'{secs} s'


def describe(done: int, total: int, elapsed: float) -> str:
  """The progress line: done of total, percentage, rate and time left.

  Args:
    done: images done so far.
    total: images in the whole build.
    elapsed: seconds since the start.

  Returns:
    e.g. `imagenet_custom: 12,000 of 1,331,167 images (0.9%), 812 img/s,
    ETA 27 min 09 s`.
  """
  percent = 100.0 * done / total if total else 100.0
  line = f'imagenet_custom: {done:,} of {total:,} images ({percent:.1f}%)'
  if elapsed > 0 and done:
    rate = done / elapsed
    line += f', {rate:,.0f} img/s'
    if total > done:
      line += f', ETA {format_duration((total - done) / rate)}'
  return line


class Progress:
  """Counts images done across every split and shows it. Thread-safe."""

  def __init__(
      self,
      total: int,
      stream: TextIO | None = None,
      clock: Callable[[], float] = time.monotonic,
      interactive: bool | None = None,
      log_every: float = 30.0,
  ):
    """Starts counting now.

    Args:
      total: images the build will write or skip.
      stream: where the terminal line goes (default stderr).
      clock: seconds, monotonic.
      interactive: rewrite a line in place (default: when `stream` is a TTY);
        otherwise log every `log_every` seconds.
      log_every: seconds between log lines when not interactive.
    """
    self.total = total
    self.done = 0
    self._stream = stream or sys.stderr
    self._clock = clock
    self._start = clock()
    if interactive is None:
      interactive = self._stream.isatty()
    self._every = log_every
    self._last_shown = self._start
    self._lock = threading.Lock()
    self._bar = (
        tqdm.tqdm(
            total=total, desc='imagenet_custom build', unit=' images',
            file=self._stream, mininterval=0.5, smoothing=0.05,
            dynamic_ncols=True,
        )
        if interactive
        else None
    )

  def line(self) -> str:
    """The current progress line."""
    return describe(self.done, self.total, self._clock() - self._start)

  def advance(self, images: int) -> None:
    """Adds images done; shows the line if it is time to."""
    if not images:
      return
    with self._lock:
      self.done += images
      if self._bar is not None:
        self._bar.update(images)
        return
      now = self._clock()
      if now - self._last_shown < self._every:
        return
      self._last_shown = now
      logging.info('%s', self.line())

  def finish(self) -> str:
    """Shows and returns the final line (total time and mean rate)."""
    elapsed = self._clock() - self._start
    text = (
        f'imagenet_custom: {self.done:,} images in {format_duration(elapsed)}'
        + (f' ({self.done / elapsed:,.0f} img/s)' if elapsed > 0 else '')
    )
    if self._bar is not None:
      self._bar.close()
    logging.info('%s', text)
    return text
