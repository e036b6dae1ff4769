"""Running a command and measuring its whole process tree.

Wall time (spawn to exit), CPU time of the tree (`wait4` rusage), memory of
the tree sampled periodically (PSS from `/proc/<pid>/smaps_rollup`, RSS as
well), disk use of the output directories, bytes read (`/proc/<pid>/io` of
the zombie, which includes every reaped descendant), and the build's phases
from its log (see `phases`).
"""

from __future__ import annotations

from collections.abc import Sequence
import dataclasses
import os
import pathlib
import statistics
import subprocess
import threading
import time

import psutil

from benchmarks.build import phases as phases_lib

POLL_SECONDS = 0.2
MB = 1 << 20


@dataclasses.dataclass(frozen=True)
class ProcessMemory:
  """One process's memory in one sample.

  Attributes:
    pid: the process.
    label: what it runs (`tfds`, `python -m <module>`, ...).
    pss: proportional set size in bytes (RSS when PSS cannot be read).
    rss: resident set size in bytes.
    pss_measured: whether `pss` is a real PSS (False: the RSS fallback).
  """

  pid: int
  label: str
  pss: int
  rss: int
  pss_measured: bool = True


@dataclasses.dataclass(frozen=True)
class Measurement:
  """One run of one process tree.

  Attributes:
    wall_s: spawn to exit.
    cpu_s: user + system time of the tree.
    peak_rss: largest sum of the tree's resident set sizes seen.
    peak_disk: largest disk use of the watched directories seen.
    rchar: bytes returned by read-like system calls (page cache or not).
    read_bytes: bytes the tree caused to be read from the block device.
    load1: the machine's 1-minute load average when the run started.
    images: images written (0 when not counted).
    output_bytes: disk use of the watched directories at exit.
    peak_pss: largest sum of the tree's PSS seen (shared pages split between
      the processes that map them, so the sum counts each page once).
    peak_processes: the tree at the sample of `peak_pss`.
    setup_s: spawn to the first split's generation (imports, listing).
    generate_s: time TFDS spent taking examples from the split generators
      (summed over splits); 0 when the log shows no TFDS phases.
    write_s: time TFDS spent shuffling and writing shards (summed).
    splits: splits whose phases were seen in the log (0: phases unknown).
    parent_cpu_s: user + system time of the top process itself, from
      `/proc/<pid>/stat` (for a build: the `tfds` process).
    children_cpu_s: user + system time of the descendants it waited for
      (for a plain build: its worker processes).
  """

  wall_s: float
  cpu_s: float
  peak_rss: int
  peak_disk: int
  rchar: int
  read_bytes: int
  load1: float
  images: int = 0
  output_bytes: int = 0
  peak_pss: int = 0
  peak_processes: tuple[ProcessMemory, ...] = ()
  setup_s: float = 0.0
  generate_s: float = 0.0
  write_s: float = 0.0
  splits: int = 0
  parent_cpu_s: float = 0.0
  children_cpu_s: float = 0.0


def read_proc_cpu(pid: int) -> tuple[float, float]:
  """`(own CPU s, CPU s of the children it waited for)` of a process, from `/proc`.

  Readable until the process is reaped (a zombie keeps its counts).
  """
  try:
    stat = pathlib.Path(f'/proc/{pid}/stat').read_text()
  except OSError:
    return 0.0, 0.0
  fields = stat.rsplit(')', 1)[1].split()
  # Fields 14-17 of proc(5) (utime, stime, cutime, cstime), after the name.
  utime, stime, cutime, cstime = (int(f) for f in fields[11:15])
  ticks = os.sysconf('SC_CLK_TCK')
  return (utime + stime) / ticks, (cutime + cstime) / ticks


def process_label(process: psutil.Process) -> str:
  """A short name for what a process runs.

  Args:
    process: the process.

  Returns:
    `python -m <module>` for modules, else the program's file name.
  """
  try:
    command = process.cmdline()
  except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
    return '?'
  if '-m' in command[:-1]:
    return f'python -m {command[command.index("-m") + 1]}'
  if len(command) > 1 and pathlib.Path(command[0]).name.startswith('python'):
    return pathlib.Path(command[1]).name
  return pathlib.Path(command[0]).name if command else process.name()


def read_pss(pid: int) -> int | None:
  """The PSS of a process from `/proc/<pid>/smaps_rollup`.

  Args:
    pid: the process.

  Returns:
    Bytes, or None when the file cannot be read (kernel before 4.14, another
    user's process, or the process is gone).
  """
  try:
    text = pathlib.Path(f'/proc/{pid}/smaps_rollup').read_text()
  except OSError:
    return None
  for line in text.splitlines():
    if line.startswith('Pss:'):
      return int(line.split()[1]) * 1024
  return None


def tree_memory(pid: int) -> list[ProcessMemory]:
  """The memory of a process and all its descendants, now.

  Args:
    pid: the root process.

  Returns:
    One entry per live process, the root first; empty when the root is gone.
  """
  try:
    root = psutil.Process(pid)
    processes = [root, *root.children(recursive=True)]
  except psutil.NoSuchProcess:
    return []  # Exited (or a zombie) between two samples: nothing resident.
  sample = []
  for process in processes:
    try:
      rss = process.memory_info().rss
    except psutil.NoSuchProcess:
      continue  # Exited after it was listed: it holds no memory any more.
    pss = read_pss(process.pid)
    sample.append(ProcessMemory(
        pid=process.pid, label=process_label(process),
        pss=rss if pss is None else pss, rss=rss, pss_measured=pss is not None,
    ))
  return sample


def tree_rss(pid: int) -> int:
  """The summed resident set size of a process and its descendants.

  Shared pages are counted once per process that maps them.

  Args:
    pid: the root process.

  Returns:
    Bytes; 0 when the process is gone.
  """
  return sum(process.rss for process in tree_memory(pid))


def dir_usage(root: pathlib.Path) -> int:
  """Disk space allocated to the files under a directory.

  Args:
    root: the directory (may not exist yet).

  Returns:
    Bytes allocated (`st_blocks`), so sparse files count what they use.
  """
  total = 0
  stack = [str(root)]
  while stack:
    directory = stack.pop()
    try:
      entries = list(os.scandir(directory))
    except (FileNotFoundError, NotADirectoryError):
      continue  # Not created yet, or removed while the build runs.
    for entry in entries:
      try:
        if entry.is_dir(follow_symlinks=False):
          stack.append(entry.path)
        else:
          total += entry.stat(follow_symlinks=False).st_blocks * 512
      except FileNotFoundError:
        continue  # A temporary file deleted between listing and stat.
  return total


def read_proc_io(pid: int) -> dict[str, int]:
  """Reads `/proc/<pid>/io` (also works for a zombie not yet reaped).

  Args:
    pid: the process.

  Returns:
    Counter name (`rchar`, `read_bytes`, ...) to value.
  """
  text = pathlib.Path(f'/proc/{pid}/io').read_text()
  counters = {}
  for line in text.splitlines():
    name, _, value = line.partition(':')
    counters[name.strip()] = int(value)
  return counters


class MemoryPeaks:
  """The peaks of a series of process-tree samples."""

  def __init__(self) -> None:
    self.peak_rss = 0
    self.peak_pss = 0
    self.peak_processes: tuple[ProcessMemory, ...] = ()

  def add(self, sample: Sequence[ProcessMemory]) -> None:
    """Takes one sample of the tree into account.

    Args:
      sample: every process of the tree at one moment.
    """
    self.peak_rss = max(self.peak_rss, sum(p.rss for p in sample))
    pss = sum(p.pss for p in sample)
    if pss > self.peak_pss:
      self.peak_pss = pss
      self.peak_processes = tuple(sample)


class Sampler(threading.Thread):
  """Polls a process tree's memory, some directories' disk use and a log."""

  def __init__(
      self,
      pid: int,
      watch: Sequence[pathlib.Path],
      interval: float,
      log: pathlib.Path | None = None,
      started: float | None = None,
  ) -> None:
    super().__init__(daemon=True)
    self._pid = pid
    self._watch = list(watch)
    self._interval = interval
    self._stopping = threading.Event()
    self.memory = MemoryPeaks()
    self.peak_disk = 0
    self.last_disk = 0
    self.log = phases_lib.LogWatcher(log, started) if log else None

  def sample(self) -> None:
    """Takes one sample."""
    self.memory.add(tree_memory(self._pid))
    self.last_disk = sum(dir_usage(path) for path in self._watch)
    self.peak_disk = max(self.peak_disk, self.last_disk)
    if self.log:
      self.log.poll()

  def run(self) -> None:
    while True:
      self.sample()
      if self._stopping.wait(self._interval):
        return

  def stop(self) -> None:
    """Stops polling and takes a last sample."""
    self._stopping.set()
    self.join()
    self.sample()


def measure_command(
    command: Sequence[str],
    cwd: pathlib.Path,
    env: dict[str, str],
    log: pathlib.Path,
    watch: Sequence[pathlib.Path],
    interval: float = POLL_SECONDS,
) -> tuple[Measurement, int]:
  """Runs a command and measures its process tree.

  The process is waited for without being reaped (`WNOWAIT`), so its
  `/proc/<pid>/io` can still be read: it then holds its own counts plus those
  of every descendant it reaped. `wait4` then gives the tree's CPU time.

  Args:
    command: the program and its arguments.
    cwd: its working directory.
    env: its environment.
    log: where its stdout and stderr go (also read for phases while it runs).
    watch: directories whose disk use is polled.
    interval: seconds between samples.

  Returns:
    The measurement and the exit code.
  """
  load1 = os.getloadavg()[0]
  with log.open('wb') as output:
    started = time.monotonic()
    process = subprocess.Popen(
        list(command), cwd=cwd, env=env, stdin=subprocess.DEVNULL,
        stdout=output, stderr=subprocess.STDOUT,
    )
  sampler = Sampler(process.pid, watch, interval, log, started)
  sampler.start()
  os.waitid(os.P_PID, process.pid, os.WEXITED | os.WNOWAIT)
  ended = time.monotonic()
  counters = read_proc_io(process.pid)
  parent_cpu_s, children_cpu_s = read_proc_cpu(process.pid)
  sampler.stop()
  _, status, usage = os.wait4(process.pid, 0)
  process.returncode = os.waitstatus_to_exitcode(status)
  times = sampler.log.phases(ended) if sampler.log else phases_lib.Phases()
  measurement = Measurement(
      wall_s=ended - started,
      cpu_s=usage.ru_utime + usage.ru_stime,
      peak_rss=sampler.memory.peak_rss,
      peak_disk=sampler.peak_disk,
      rchar=counters['rchar'],
      read_bytes=counters['read_bytes'],
      load1=load1,
      output_bytes=sampler.last_disk,
      peak_pss=sampler.memory.peak_pss,
      peak_processes=sampler.memory.peak_processes,
      setup_s=times.setup_s,
      generate_s=times.generate_s,
      write_s=times.write_s,
      splits=times.splits,
      parent_cpu_s=parent_cpu_s,
      children_cpu_s=children_cpu_s,
  )
  return measurement, process.returncode


def median_measurement(runs: Sequence[Measurement]) -> Measurement:
  """The field-wise median of some runs.

  The process breakdown is the one of the run with the median peak PSS (the
  lower one for an even count), so that it adds up to the median shown.

  Args:
    runs: at least one measurement.

  Returns:
    A measurement of medians.
  """
  fields = {}
  for field in dataclasses.fields(Measurement):
    if field.name == 'peak_processes':
      continue
    values = [getattr(run, field.name) for run in runs]
    fields[field.name] = type(values[0])(statistics.median(values))
  by_pss = sorted(runs, key=lambda run: run.peak_pss)
  middle = by_pss[(len(by_pss) - 1) // 2]
  fields['peak_pss'] = middle.peak_pss
  fields['peak_processes'] = middle.peak_processes
  return Measurement(**fields)
