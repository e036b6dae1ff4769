"""The phases of a TFDS build, timed from TFDS's own progress lines.

For each split, TFDS's plain (non-Beam) path first takes every example from
the split's generator, encodes and serialises it and adds it to the shuffler
(the *generation* phase: the per-image work that worker processes spread over
cores), then shuffles and writes the shards (the *write* phase: TFDS's
single-threaded writer). TFDS prints, for both `imagenet2012` and
`imagenet_custom`:

* `Generating <split> examples...` (a progress bar) when a split starts;
* `Shuffling <dir>/<dataset>-<split>.tfrecord-...` when its generator is
  exhausted and the writer starts;
* `Done writing <dir>/<dataset>-<split>.tfrecord-...` when its shards are
  written.

The harness reads the log while the build runs and notes when each line first
appears, so each time is late by at most one poll interval (0.2 s by default)
and a phase's length is off by at most that much per split. Splits are built
one after another, so the phases add up to the wall time with `setup` (spawn
to the first split: imports, listing the input) and the rest (split infos,
`dataset_info.json`, exit).
"""

from __future__ import annotations

import dataclasses
import pathlib
import re
import time

_GENERATING = re.compile(r'Generating (\w+) examples\.\.\.')
_SHUFFLING = re.compile(r'Shuffling (\S+)')
_DONE = re.compile(r'Done writing (\S+)')
# `<dataset>-<split>.<format>-<shard pattern>`: the dataset name holds no `-`.
_SPLIT_OF_FILE = re.compile(r'^\w+-(\w+)\.')

GENERATE = 'generate'
SHUFFLE = 'shuffle'
DONE = 'done'


@dataclasses.dataclass(frozen=True)
class Phases:
  """Seconds spent in each phase of a build (all 0 when none were seen).

  Attributes:
    setup_s: spawn to the first `Generating ... examples`.
    generate_s: summed over splits, `Generating` to `Shuffling`.
    write_s: summed over splits, `Shuffling` to `Done writing`.
    splits: splits whose `Generating` line was seen (0: no phases known).
  """

  setup_s: float = 0.0
  generate_s: float = 0.0
  write_s: float = 0.0
  splits: int = 0


def parse_marker(text: str) -> tuple[str, str] | None:
  """Recognises one of TFDS's phase lines.

  Args:
    text: one line (or one `\\r`-separated progress-bar update) of the log.

  Returns:
    `(GENERATE | SHUFFLE | DONE, split)`, or None for any other line.
  """
  match = _GENERATING.search(text)
  if match:
    return GENERATE, match.group(1)
  for kind, pattern in ((SHUFFLE, _SHUFFLING), (DONE, _DONE)):
    match = pattern.search(text)
    if match:
      split = _SPLIT_OF_FILE.match(pathlib.PurePosixPath(match.group(1)).name)
      if split:
        return kind, split.group(1)
  return None


def phases_from_events(
    events: dict[tuple[str, str], float], started: float, ended: float
) -> Phases:
  """Adds up the phases of every split.

  A split whose `Shuffling` line was missed is counted as generating until
  its `Done writing` (or the end of the run); one whose `Done writing` was
  missed, as writing until the end of the run.

  Args:
    events: `(kind, split)` to the time its line was first seen.
    started: when the process was spawned.
    ended: when it exited.

  Returns:
    The phases.
  """
  splits = [split for kind, split in events if kind == GENERATE]
  if not splits:
    return Phases()
  # The last poll comes after the exit: nothing happened later than `ended`.
  events = {marker: min(seen, ended) for marker, seen in events.items()}
  generate = write = 0.0
  for split in splits:
    begin = events[(GENERATE, split)]
    done = events.get((DONE, split), ended)
    shuffle = events.get((SHUFFLE, split), done)
    generate += shuffle - begin
    write += done - shuffle
  first = min(events[(GENERATE, split)] for split in splits)
  return Phases(
      setup_s=first - started, generate_s=generate, write_s=write,
      splits=len(splits),
  )


class LogWatcher:
  """Notes when TFDS's phase lines first appear in a growing log file."""

  def __init__(self, path: pathlib.Path, started: float | None = None) -> None:
    self._path = path
    self._offset = 0
    self._pending = ''
    self.started = time.monotonic() if started is None else started
    self.events: dict[tuple[str, str], float] = {}

  def poll(self, now: float | None = None) -> None:
    """Reads what was added to the log since the last poll.

    Args:
      now: the time to note for lines found (default: the monotonic clock).
    """
    now = time.monotonic() if now is None else now
    try:
      with self._path.open('rb') as log:
        log.seek(self._offset)
        data = log.read()
    except FileNotFoundError:
      return  # Not created yet.
    self._offset += len(data)
    text = self._pending + data.decode('utf-8', errors='replace')
    *complete, self._pending = re.split(r'[\r\n]', text)
    # A progress bar is drawn before its line ends: look at the tail too.
    for line in [*complete, self._pending]:
      marker = parse_marker(line)
      if marker and marker not in self.events:
        self.events[marker] = now

  def phases(self, ended: float) -> Phases:
    """The phases seen so far.

    Args:
      ended: when the process exited.

    Returns:
      The phases.
    """
    return phases_from_events(self.events, self.started, ended)
