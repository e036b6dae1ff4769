"""The report's tables: comparison, ratios, memory by process, scaling."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from benchmarks.build import contenders
from benchmarks.build import inputs
from benchmarks.build import measuring
from benchmarks.build import scaling

MB = measuring.MB
REFERENCE = 'imagenet2012'
# Issue 9's target: the resized build takes at most 1.5x the default build's time.
RESIZED_TARGET = 1.5

COMPARISON_COLUMNS = (
    'contender', 'wall s', 'images/s', 'CPU s', 'generate s', 'write s',
    'peak RSS MB', 'peak PSS MB', 'disk read MB', 'read/arch', 'rchar MB',
    'rchar/arch', 'peak disk MB', 'vs imagenet2012', 'vs floor', 'load',
)


def format_table(
    headers: Sequence[str], rows: Sequence[Sequence[str]], left: int = 1
) -> str:
  """Aligns a table: the first `left` columns to the left, the others right.

  Args:
    headers: column titles.
    rows: cells, as text.
    left: how many leading (text) columns are left-aligned.

  Returns:
    The table's lines.
  """
  widths = [
      max(len(headers[i]), *(len(row[i]) for row in rows))
      if rows else len(headers[i])
      for i in range(len(headers))
  ]
  lines = []
  for cells in [headers, *rows]:
    parts = [
        cell.ljust(widths[i]) if i < left else cell.rjust(widths[i])
        for i, cell in enumerate(cells)
    ]
    lines.append('  '.join(parts).rstrip())
  lines.insert(1, '  '.join('-' * width for width in widths))
  return '\n'.join(lines)


def ratio(value: float, reference: float | None) -> str:
  """`value / reference` as `0.00x`, or `-` without a reference.

  Args:
    value: the numerator.
    reference: the denominator, if measured (0 counts as not measured).

  Returns:
    The text.
  """
  if not reference:
    return '-'
  return f'{value / reference:.2f}x'


def _phase(m: measuring.Measurement, seconds: float) -> str:
  """A phase's seconds, `-` when the run's log showed no phases."""
  return f'{seconds:.2f}' if m.splits else '-'


def comparison_table(
    medians: Mapping[str, measuring.Measurement],
    baselines: Mapping[str, measuring.Measurement],
    inp: inputs.BenchInput,
) -> str:
  """The main table: one row per contender, medians of its runs.

  Args:
    medians: contender key to its median measurement.
    baselines: startup baselines (see `contenders.measure_baselines`).
    inp: the input.

  Returns:
    The table.
  """
  reference = medians.get(REFERENCE)
  floor = medians.get('floor')
  rows = []
  for key, m in medians.items():
    entry = contenders.contender(key)
    base = baselines[entry.baseline]
    read = m.read_bytes - base.read_bytes
    rchar = m.rchar - base.rchar
    rows.append([
        entry.label,
        f'{m.wall_s:.2f}',
        f'{m.images / m.wall_s:.0f}',
        f'{m.cpu_s:.1f}',
        _phase(m, m.generate_s),
        _phase(m, m.write_s),
        f'{m.peak_rss / MB:,.0f}',
        f'{m.peak_pss / MB:,.0f}',
        f'{read / MB:,.0f}',
        f'{read / inp.archive_bytes:.3f}',
        f'{rchar / MB:,.0f}',
        f'{rchar / inp.archive_bytes:.3f}',
        f'{m.peak_disk / MB:,.0f}',
        ratio(m.wall_s, reference.wall_s if reference else None),
        ratio(m.wall_s, floor.wall_s if floor else None),
        f'{m.load1:.1f}',
    ])
  return format_table(COMPARISON_COLUMNS, rows)


def cpu_table(
    medians: Mapping[str, measuring.Measurement],
    baselines: Mapping[str, measuring.Measurement],
) -> str:
  """CPU of the parent and of its workers apart, per image, from `/proc`.

  The parent's CPU per image after start-up is its CPU in the run minus its
  CPU in the tiny build (`contenders.TINY_BASELINE`), over the extra images.

  Args:
    medians: contender key to its median measurement.
    baselines: startup baselines, with the tiny build.

  Returns:
    The table.
  """
  tiny = baselines.get(contenders.TINY_BASELINE)
  rows = []
  for key, m in medians.items():
    entry = contenders.contender(key)
    if entry.program or not m.images:
      continue
    extra = m.images - contenders.TINY_IMAGES
    after = (
        f'{(m.parent_cpu_s - tiny.parent_cpu_s) / extra * 1e6:,.0f}'
        if tiny is not None and extra > 0 else '-'
    )
    rows.append([
        entry.label, f'{m.images:,}', f'{m.wall_s:.2f}', f'{m.parent_cpu_s:.2f}',
        f'{m.children_cpu_s:.2f}', after,
        f'{m.children_cpu_s / m.images * 1e6:,.0f}',
        f'{m.cpu_s / m.wall_s:.2f}',
    ])
  header = (
      'CPU from /proc, parent (the tfds process) and workers (its children)'
      ' apart' + (
          f'; start-up = the tiny build\'s parent, {tiny.parent_cpu_s:.2f} s'
          if tiny is not None else ''
      ) + ':'
  )
  return header + '\n' + format_table(CPU_COLUMNS, rows)


def cpu_projection(
    medians: Mapping[str, measuring.Measurement],
    baselines: Mapping[str, measuring.Measurement],
) -> str:
  """Full ImageNet on 8, 16 and 64 cores, from the measured CPU per image.

  From the 1-worker plain run: the workers' CPU per image (spread over the
  cores) and the parent's after start-up (serial); the disk must then read
  the archives and write the shards at the rates shown.

  Args:
    medians: contender key to its median measurement.
    baselines: startup baselines, with the tiny build.

  Returns:
    The text, or a note saying which runs it needs.
  """
  one = _by_workers(medians).get(1)
  tiny = baselines.get(contenders.TINY_BASELINE)
  if one is None or tiny is None or one.images <= contenders.TINY_IMAGES:
    return '(No CPU projection: it needs the contender plain_w1.)'
  worker_s = one.children_cpu_s / one.images
  parent_s = max(0.0, (one.parent_cpu_s - tiny.parent_cpu_s)) / (
      one.images - contenders.TINY_IMAGES
  )
  out_per_image = one.output_bytes / one.images
  rows = []
  for cores in (8, 16, 64):
    compute = scaling.FULL_IMAGES * worker_s / cores
    serial = scaling.FULL_IMAGES * parent_s
    seconds = max(compute, serial)
    rows.append([
        str(cores), f'{compute / 60:,.1f}', f'{serial / 60:,.1f}',
        f'{(seconds + tiny.parent_cpu_s) / 60:,.1f}',
        f'{scaling.FULL_ARCHIVE_BYTES / seconds / MB:,.0f}',
        f'{scaling.FULL_IMAGES * out_per_image / seconds / MB:,.0f}',
    ])
  return (
      f'Full ImageNet ({scaling.FULL_IMAGES:,} images) from the 1-worker run\'s CPU:'
      f' workers {worker_s * 1e6:,.0f} us/image over the cores, parent'
      f' {parent_s * 1e6:,.0f} us/image serial, start-up {tiny.parent_cpu_s:.1f} s;'
      ' the disk keeps up only at the rates shown:\n'
      + format_table(
          ('cores', 'workers min', 'parent min', 'build min', 'read MB/s',
           'write MB/s'),
          rows,
      )
  )


CPU_COLUMNS = (
    'contender', 'images', 'wall s', 'parent CPU s', 'workers CPU s',
    'parent us/image after start-up', 'workers us/image', 'cores busy',
)


def ratio_table(medians: Mapping[str, measuring.Measurement]) -> str:
  """Each contender over TFDS imagenet2012, side by side.

  Args:
    medians: contender key to its median measurement.

  Returns:
    The table, or a note when imagenet2012 was not run.
  """
  reference = medians.get(REFERENCE)
  if reference is None:
    return f'(No ratios: add {REFERENCE} to --contenders.)'
  headers = ['contender / imagenet2012', 'wall', 'CPU', 'generate', 'write',
             'peak PSS']
  rows = [
      [contenders.contender(key).label,
       ratio(m.wall_s, reference.wall_s),
       ratio(m.cpu_s, reference.cpu_s),
       ratio(m.generate_s, reference.generate_s) if m.splits else '-',
       ratio(m.write_s, reference.write_s) if m.splits else '-',
       ratio(m.peak_pss, reference.peak_pss)]
      for key, m in medians.items()
  ]
  return format_table(headers, rows)


def resized_ratio(medians: Mapping[str, measuring.Measurement]) -> str:
  """The resized build (`s256`) over the default one (`plain`), against the target.

  Args:
    medians: contender key to its median measurement.

  Returns:
    One line, or a note when either was not run.
  """
  default, resized = medians.get('plain'), medians.get('s256')
  if default is None or resized is None:
    return '(No s256 ratio: add plain,s256 to --contenders.)'
  generate = (
      ratio(resized.generate_s, default.generate_s)
      if default.splits and resized.splits else '-'
  )
  return (
      f's256 / plain (target <= {RESIZED_TARGET}x): wall'
      f' {ratio(resized.wall_s, default.wall_s)}, CPU {ratio(resized.cpu_s, default.cpu_s)},'
      f' generate {generate}'
  )


def memory_breakdown(medians: Mapping[str, measuring.Measurement]) -> str:
  """The process tree at each contender's PSS peak (median run).

  Args:
    medians: contender key to its median measurement.

  Returns:
    One block per contender: the total, then PSS by process.
  """
  lines = [
      'Memory at the peak of the summed PSS (parent + all descendants,'
      ' sampled; PSS splits shared pages between the processes mapping them):'
  ]
  for key, m in medians.items():
    processes = sorted(m.peak_processes, key=lambda p: -p.pss)
    lines.append(
        f'  {contenders.contender(key).label}: {m.peak_pss / MB:,.0f} MB in'
        f' {len(processes)} process{"es" if len(processes) != 1 else ""}'
    )
    for process in processes:
      note = '' if process.pss_measured else ' (RSS: PSS not readable)'
      lines.append(
          f'    {process.pss / MB:8,.0f} MB  (RSS {process.rss / MB:,.0f})'
          f'  pid {process.pid}  {process.label}{note}'
      )
  return '\n'.join(lines)


def _by_workers(
    medians: Mapping[str, measuring.Measurement],
) -> dict[int, measuring.Measurement]:
  """The median runs of the `plain_w<N>` contenders, by N."""
  found = {}
  for key, m in medians.items():
    workers = contenders.contender(key).num_workers
    if workers is not None:
      found[workers] = m
  return found


def scaling_report(
    medians: Mapping[str, measuring.Measurement], inp: inputs.BenchInput
) -> str:
  """Speedup, serial fraction and the full-ImageNet projection.

  Args:
    medians: contender key to its median measurement.
    inp: the input (for bytes per image).

  Returns:
    The text, or a note saying which contenders it needs.
  """
  runs = _by_workers(medians)
  one, two = runs.get(1), runs.get(2)
  if one is None or two is None:
    return ('(No scaling figures: they need the contenders plain_w1 and'
            ' plain_w2.)')
  if not (one.splits and two.splits and one.generate_s and two.generate_s):
    return ('(No scaling figures: the generation phase was not found in the'
            ' logs of plain_w1 and plain_w2; see benchmarks/build/phases.py.)')
  two_speedup = scaling.speedup(one.generate_s, two.generate_s)
  serial = scaling.serial_fraction(two_speedup)
  per_image = one.generate_s / one.images
  bytes_per_image = inp.archive_bytes / inp.images
  projections = scaling.project(
      per_image, serial, bytes_per_image,
      write_per_image_s=one.write_s / one.images, setup_s=one.setup_s,
  )
  clamped = '' if 0 <= serial <= 1 else ' (clamped to [0, 1] below)'
  lines = [
      'Scaling of the generation phase (TFDS taking examples from the split'
      ' generators; see benchmarks/build/phases.py):',
      f'  1 worker {one.generate_s:.2f} s ({per_image * 1000:.3f} ms/image),'
      f' 2 workers {two.generate_s:.2f} s: speedup {two_speedup:.2f}x;'
      f' serial fraction s = 2/speedup - 1 = {serial:.3f}{clamped}',
      f'  Other phases with 1 worker: setup {one.setup_s:.1f} s, shuffle and'
      f' write {one.write_s:.2f} s ({one.write_s / one.images * 1000:.3f}'
      ' ms/image, serial)',
      f'Full ImageNet projected ({scaling.FULL_IMAGES:,} images:'
      f' {scaling.FULL_TRAIN_IMAGES:,} train + {scaling.FULL_VAL_IMAGES:,} val),'
      ' one worker per core:',
  ]
  real_bytes_per_image = scaling.FULL_ARCHIVE_BYTES / scaling.FULL_IMAGES
  headers = ['cores', 'generate min', 'build min',
             f'read MB/s ({bytes_per_image / 1024:.0f} KiB/image, input)',
             f'read MB/s ({real_bytes_per_image / 1024:.0f} KiB/image, real)']
  rows = [
      [str(p.cores), f'{p.generate_s / 60:,.1f}', f'{p.build_s / 60:,.1f}',
       f'{p.read_mb_s:,.0f}', f'{p.real_read_mb_s:,.0f}']
      for p in projections
  ]
  lines.append(format_table(headers, rows))
  return '\n'.join(lines)


def baseline_summary(baselines: Mapping[str, measuring.Measurement]) -> str:
  """One line on the startup baselines.

  Args:
    baselines: baseline name to measurement.

  Returns:
    The text.
  """
  parts = [
      f'{name}: {m.wall_s:.1f} s, rchar {m.rchar / MB:.1f} MB,'
      f' disk read {m.read_bytes / MB:.1f} MB, RSS {m.peak_rss / MB:.0f} MB'
      for name, m in baselines.items()
  ]
  return (
      'Startup baselines subtracted from bytes read (tfds = `tfds build'
      ' --help`, for the builds; python = a program that starts and exits,'
      ' for the floor; import = importing TFDS and the builder, for generate'
      ' only): ' + '; '.join(parts)
  )


def scale_table(
    results: Mapping[int, Mapping[str, measuring.Measurement]],
    inputs_by_scale: Mapping[int, inputs.BenchInput],
    baselines: Mapping[str, measuring.Measurement],
) -> str:
  """Per-image cost and memory by scale.

  Args:
    results: scale to contender key to median measurement.
    inputs_by_scale: scale to input.
    baselines: startup baselines.

  Returns:
    The table.
  """
  headers = [
      'contender', 'images', 'wall s', 'ms/image', 'images/s', 'CPU ms/image',
      'peak RSS MB', 'peak PSS MB', 'read/arch', 'output MB', 'peak disk MB',
  ]
  rows = []
  for scale, medians in results.items():
    inp = inputs_by_scale[scale]
    for key, m in medians.items():
      entry = contenders.contender(key)
      base = baselines[entry.baseline]
      rows.append([
          entry.label,
          f'{inp.images:,}',
          f'{m.wall_s:.2f}',
          f'{m.wall_s / m.images * 1000:.2f}',
          f'{m.images / m.wall_s:.0f}',
          f'{m.cpu_s / m.images * 1000:.2f}',
          f'{m.peak_rss / MB:,.0f}',
          f'{m.peak_pss / MB:,.0f}',
          f'{(m.read_bytes - base.read_bytes) / inp.archive_bytes:.3f}',
          f'{m.output_bytes / MB:,.0f}',
          f'{m.peak_disk / MB:,.0f}',
      ])
  return format_table(headers, rows)
