"""What was measured on: the machine, the software versions, the commit."""

from __future__ import annotations

import importlib.metadata
import os
import pathlib
import platform
import shutil
import subprocess

import psutil

GIB = 1 << 30


def _installed(distribution: str) -> bool:
  """Whether a distribution is installed.

  Args:
    distribution: its name on PyPI.

  Returns:
    True when its metadata is found.
  """
  try:
    importlib.metadata.version(distribution)
  except importlib.metadata.PackageNotFoundError:
    return False
  return True


def machine_summary(work_dir: pathlib.Path) -> str:
  """Describes the machine and the software measured.

  Args:
    work_dir: where inputs and outputs go (its disk's free space is shown).

  Returns:
    A few lines of text.
  """
  model = platform.processor() or platform.machine()
  cpuinfo = pathlib.Path('/proc/cpuinfo')
  if cpuinfo.exists():
    for line in cpuinfo.read_text().splitlines():
      if line.startswith('model name'):
        model = line.split(':', 1)[1].strip()
        break
  work_dir.mkdir(parents=True, exist_ok=True)
  disk = shutil.disk_usage(work_dir)
  versions = ', '.join(
      f'{name} {importlib.metadata.version(name)}'
      for name in (
          'tensorflow-datasets', 'tensorflow-cpu', 'apache-beam', 'pillow'
      )
      if _installed(name)
  )
  return '\n'.join([
      f'Machine: {os.cpu_count()} logical cores'
      f' ({psutil.cpu_count(logical=False)} physical), {model};'
      f' RAM {psutil.virtual_memory().total / GIB:.1f} GiB;'
      f' {platform.system()} {platform.release()}',
      f'Disk at {work_dir}: {disk.free / GIB:.0f} GiB free of'
      f' {disk.total / GIB:.0f} GiB',
      f'Python {platform.python_version()}; {versions}',
  ])


def project_version(project_dir: pathlib.Path) -> str:
  """The commit of the checkout measured, if it is a git checkout.

  Args:
    project_dir: the checkout.

  Returns:
    e.g. `commit 20c8e80 (+ local changes)`, or a note that it is no checkout.
  """
  head = subprocess.run(
      ['git', '-C', str(project_dir), 'rev-parse', '--short', 'HEAD'],
      capture_output=True, text=True, check=False,
  )
  if head.returncode != 0:
    return 'not a git checkout'
  status = subprocess.run(
      ['git', '-C', str(project_dir), 'status', '--porcelain',
       '--untracked-files=no'],
      capture_output=True, text=True, check=False,
  )
  dirty = ' (+ local changes)' if status.stdout.strip() else ''
  return f'commit {head.stdout.strip()}{dirty}'
