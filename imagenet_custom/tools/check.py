"""Pre-flight check: will a build start, and what will it need? Writes nothing.

Usage:
  python -m imagenet_custom.tools.check --manual_dir=DIR [--data_dir=OUT]

Reports, for the layout found in DIR (and for the evaluation sets beside it,
or alone: an evaluation-only build):
  * the layout and the files it reads;
  * image counts per split, as the default config would write them;
  * the classes with no train or no val images;
  * files missing (named by the layout's reference lists or val labels but
    absent), unlisted (val images no label names; train images whose name
    is not `<wnid>_<n>` of their class folder), junk (ignored), and not
    images (their first bytes are neither JPEG nor PNG);
  * the official archives' sizes against `checksums.tsv`;
  * the disk the build needs against the free space at OUT;
  * an estimated build time, from a per-image rate measured here on a sample
    of the input;
  * the evaluation sets found (ImageNet-V2, -A, -R, -Sketch, -O, ObjectNet):
    which the config's `eval_sets` builds, each one's images listed from its
    archive or folder with their classes checked as a build checks them.

It reads listings, tar and zip headers, the metadata files and the first
bytes of each image (in the official tars, with the headers: one read per
image); only the small timing sample is read whole. The face-blurred
archives are the exception: listing a .tar.gz means inflating it, so they
are indexed in memory (nothing is written) and inflated again, one class
at a time, for the first bytes.

Exit status 0 only when a build with the default config would start and run:
the layout and val labels are complete, no file is not an image, and OUT has
the space. Size mismatches of the official archives are warnings, as in a
build.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
import concurrent.futures
import dataclasses
import sys

from etils import epath

from imagenet_custom import layouts
from imagenet_custom.build import eval_examples
from imagenet_custom.build import generate
from imagenet_custom.build import report as report_lib
from imagenet_custom.errors import BadFileError
from imagenet_custom.errors import InputError
from imagenet_custom.ilsvrc import checksums
from imagenet_custom.ilsvrc import metadata
from imagenet_custom.ilsvrc import selection as selection_lib
from imagenet_custom.ilsvrc import splits
from imagenet_custom.ilsvrc import val_labels
from imagenet_custom.layouts import eval_sets as eval_layout
from imagenet_custom.layouts.base import ImageSource
from imagenet_custom.layouts.base import Reader
from imagenet_custom.tools import check_estimate
from imagenet_custom.tools import check_heads
from imagenet_custom.tools.check_estimate import RECORD_FRAMING_BYTES
from imagenet_custom.tools.check_heads import spread

__all__ = ['RATE_SAMPLE', 'RECORD_FRAMING_BYTES', 'CheckResult', 'main', 'run_check']

# Images read whole and prepared to measure the per-image rate: half train,
# half val.
RATE_SAMPLE = 32
# How many names a line of the report lists at most.
MAX_LISTED = 5


@dataclasses.dataclass
class CheckResult:
  """What the check found.

  Attributes:
    layout: the layout found, or None.
    counts: image count by split (train, validation, test, test_blacklisted).
    classes_without_train: WNIDs with no train images (none if val-only).
    classes_without_val: WNIDs with no val images.
    missing: image names the input should hold but does not.
    unlisted: files no list or label names, as `origin`.
    not_images: files whose first bytes are no image, as `origin`.
    reencoded: images in another format that a build re-encodes (PNG).
    junk: junk entries ignored.
    image_bytes: estimated bytes of all images.
    problems: what stops a build; empty when one would start.
    warnings: what a build warns about.
    lines: the report, line by line.
  """

  layout: str | None = None
  counts: dict[str, int] = dataclasses.field(default_factory=dict)
  classes_without_train: list[str] = dataclasses.field(default_factory=list)
  classes_without_val: list[str] = dataclasses.field(default_factory=list)
  missing: list[str] = dataclasses.field(default_factory=list)
  unlisted: list[str] = dataclasses.field(default_factory=list)
  not_images: list[str] = dataclasses.field(default_factory=list)
  reencoded: list[str] = dataclasses.field(default_factory=list)
  junk: int = 0
  image_bytes: int = 0
  problems: list[str] = dataclasses.field(default_factory=list)
  warnings: list[str] = dataclasses.field(default_factory=list)
  lines: list[str] = dataclasses.field(default_factory=list)

  def say(self, line: str) -> None:
    """Adds a line to the report."""
    self.lines.append(line)

  @property
  def exit_code(self) -> int:
    """0 when a build would start, else 1."""
    return 1 if self.problems else 0


def _listed(names: list[str]) -> str:
  shown = ', '.join(names[:MAX_LISTED])
  return shown + (f', ... ({len(names):,} in all)' if len(names) > MAX_LISTED else '')


def _check_archives(reader: Reader, result: CheckResult) -> None:
  expected = checksums.expected_archives()
  for name, path in sorted(reader.archives().items()):
    size = path.stat().length
    want = expected.get(name)
    if want is None:
      result.say(f'  {name}: {size:,} bytes (not in checksums.tsv)')
    elif size == want.size:
      result.say(f'  {name}: {size:,} bytes, as published')
    else:
      result.say(
          f'  {name}: {size:,} bytes, published {want.size:,}: MISMATCH'
      )
  result.warnings.extend(checksums.check_sizes(reader.archives()))


def _val_numbers_labelled(reader: Reader) -> set[int]:
  """Val numbers named by the label files (not by the images' own folders)."""
  labelled: set[int] = set()
  for source in reader.val_metadata().label_sources:
    if source.kind is not val_labels.LabelKind.CLASS_FOLDERS:
      labelled.update(source.labels)
  return labelled


def _check_eval_sets(root: epath.Path, eval_sets: str, result: CheckResult) -> bool:
  """Plans the evaluation sets as a build with config `eval_sets` would.

  The sets are chosen and listed by the build's own `eval_examples`
  functions; their image counts and the plan's notes are reported.

  Returns:
    Whether the manual dir holds any set (built or not).
  """
  tally = report_lib.BuildReport()
  try:
    found, notes = eval_layout.find_eval_sets(root)
    if not found and not notes:
      return False
    chosen = eval_examples.choose_sources(found, notes, eval_sets, tally)
  except InputError as e:
    result.problems.append(str(e))
    result.say(f'evaluation sets: {e}')
    return False
  result.say(f'evaluation sets (config eval_sets={eval_sets!r}), each its own split:')
  try:
    plan = eval_examples.plan_eval_sets(
        chosen, tally, eval_examples.has_objectnet_feature(eval_sets), False
    )
  except (InputError, BadFileError) as e:
    result.problems.append(str(e))
    result.say(f'  {e}')
    return bool(found)
  for source in chosen:
    images = sum(len(chunk.images) for chunk in plan.chunks[source.split])
    result.counts[source.split] = images
    unmapped = tally.counts[eval_examples.counter(source.split, 'unmapped_class_images')]
    result.say(
        f'  {source.split}: {source.path}: {images:,} images'
        + (f' ({unmapped:,} more of classes outside ImageNet-1k, not written)' if unmapped else '')
    )
  for note in tally.notes:
    result.say(f'  note: {note}')
  return bool(found)


def _evaluation_only(root: epath.Path, eval_sets: str, result: CheckResult) -> bool:
  """Reports a manual dir of evaluation sets and no ImageNet; True when it is one."""
  if layouts.detect_layouts(root) or not _check_eval_sets(root, eval_sets, result):
    return False
  result.layout = eval_layout.NoImageNet.layout
  result.say(
      'layout: evaluation sets only (no ImageNet download): the build writes'
      ' their splits, and train, validation and test are empty.'
  )
  return True


def run_check(
    manual_dir: epath.PathLike,
    data_dir: epath.PathLike | None = None,
    num_workers: int = 0,
    eval_sets: str = eval_examples.AUTO,
) -> CheckResult:
  """Checks a manual dir as a build would, reading headers and listings.

  Args:
    manual_dir: the folder holding the ImageNet download.
    data_dir: where the build will write; TFDS's default when None.
    num_workers: the build's worker processes (0: one per core), for the
      time estimate.
    eval_sets: the config's `eval_sets` (which evaluation sets are built).

  Returns:
    The findings and the report's lines.
  """
  result = CheckResult()
  root = epath.Path(manual_dir)
  result.say(f'imagenet_custom pre-flight check of {root} (nothing is written)')
  if _evaluation_only(root, eval_sets, result):
    return _finish(result)
  try:
    reader = layouts.find_reader(root)
  except InputError as e:
    result.problems.append(str(e).split('\n\n', 1)[0])
    result.say(f'layout: none usable. {result.problems[-1]}')
    return _finish(result)
  result.layout = reader.layout
  result.say(f'layout: {reader.layout}' + (' (face-blurred)' if reader.face_blurred else ''))
  for role, path in reader.sources().described():
    result.say(f'  {role}: {path}')
  result.say('archives against checksums.tsv:')
  _check_archives(reader, result)
  if not reader.archives():
    result.say('  (no official archive in this layout)')
  val_names, plan = _check_val_metadata(reader, result)
  train_built = reader.sources().train_images is not None
  class_counts: dict[str, tuple[int, int]] = {}
  train_sample: list[ImageSource] = []
  if train_built:
    class_counts, train_sample = _check_train(reader, result)
  found = check_heads.HeadFindings()
  val_sample = check_heads.check_val(reader, val_names, RATE_SAMPLE // 2, found)
  result.not_images.extend(found.not_images)
  result.reencoded.extend(found.reencoded)
  _report_counts(result, class_counts, plan, train_built)
  _report_files(result, plan)
  _check_eval_sets(root, eval_sets, result)
  estimate = check_estimate.estimate(
      result.counts, spread(train_sample, RATE_SAMPLE // 2) + val_sample,
      data_dir, num_workers,
  )
  result.image_bytes = estimate.image_bytes
  result.lines.extend(estimate.lines)
  result.problems.extend(estimate.problems)
  return _finish(result)


def _check_val_metadata(
    reader: Reader, result: CheckResult
) -> tuple[Sequence[str], generate.Plan | None]:
  """Lists the val images and checks their labels and blacklist as a build does.

  Returns:
    The val image names, and the plan (None when the val metadata stops a
    build: the problem is in `result`).
  """
  tally = report_lib.BuildReport(layout=reader.layout)
  val = reader.list_val()
  result.junk += len(val.junk)
  found_val = set()
  for name in val.names:
    number = metadata.val_index(name)
    if number is None:
      result.unlisted.append(f'{name} (not a val image name)')
    else:
      found_val.add(number)
  plan = None
  try:
    labelled = _val_numbers_labelled(reader)
    # Val labels and blacklist are checked as a build checks them.
    plan = generate.make_plan(reader, generate.Options(), tally)
  except InputError as e:
    result.problems.append(str(e))
    labelled = set()
  result.missing.extend(
      f'ILSVRC2012_val_{n:08d}.JPEG' for n in sorted(labelled - found_val)
  )
  for name in reader.missing_images():
    if name not in result.missing:
      result.missing.append(name)
  return val.names, plan


def _check_train(
    reader: Reader, result: CheckResult
) -> tuple[dict[str, tuple[int, int]], list[ImageSource]]:
  """Lists every train class and checks its images' names and first bytes.

  Returns:
    `(train, validation)` image counts by class as the default config splits
    them, and the train images of the timing sample.
  """
  classes = reader.train_classes()
  result.junk += len(classes.junk)
  # The timing sample: images of classes spread over the listing.
  sampled = set(spread(classes.names, RATE_SAMPLE // 2))
  per_class = -(-(RATE_SAMPLE // 2) // max(len(sampled), 1))
  with concurrent.futures.ThreadPoolExecutor(check_heads.HEAD_THREADS) as pool:
    scans = dict(zip(
        classes.names,
        pool.map(
            lambda wnid: check_heads.scan_class(
                reader, wnid, per_class if wnid in sampled else 0
            ),
            classes.names,
        ),
        strict=True,
    ))
  class_counts = {}
  train_sample: list[ImageSource] = []
  for wnid, (listing, found, sample) in scans.items():
    result.junk += len(listing.junk)
    result.not_images.extend(found.not_images)
    result.reencoded.extend(found.reencoded)
    divided = selection_lib.split_class(
        wnid, listing.names, splits.DEFAULT_VALIDATION_FRACTION,
        splits.DEFAULT_SPLIT_SEED, selection_lib.Selection(),
        reader.class_origin(wnid),
    )
    class_counts[wnid] = (len(divided.train), len(divided.validation))
    for name in listing.names:
      if not metadata.file_stem(name).startswith(f'{wnid}_'):
        result.unlisted.append(f'{reader.class_origin(wnid)}/{name} (not {wnid}_<n>)')
    train_sample.extend(sample)
  return class_counts, train_sample


def _report_counts(
    result: CheckResult,
    class_counts: dict[str, tuple[int, int]],
    plan: generate.Plan | None,
    train_built: bool,
) -> None:
  """Reports the images per split and the classes without images."""
  result.counts = {
      'train': sum(t for t, _ in class_counts.values()),
      'validation': sum(v for _, v in class_counts.values()),
  }
  for split in splits.VAL_SPLITS:
    result.counts[split] = len(plan.val_split_names(split)) if plan else 0
  result.say(
      'images per split (default config): '
      + ', '.join(f'{split} {n:,}' for split, n in result.counts.items())
      + f'; total {sum(result.counts.values()):,}'
  )
  if not train_built:
    result.say('  evaluation-only: no train images, so train and validation would not be built')
  with_train = {w for w, (t, v) in class_counts.items() if t + v}
  with_val = set(plan.val_labels.values()) if plan else set()
  if train_built:
    result.classes_without_train = [w for w in metadata.wnids() if w not in with_train]
  result.classes_without_val = [w for w in metadata.wnids() if w not in with_val]
  result.say(
      f'classes: {len(with_train):,} of {metadata.NUM_CLASSES:,} have train images,'
      f' {len(with_val):,} have val images'
  )
  if result.classes_without_train:
    result.say(
        f'  no train images: {len(result.classes_without_train):,}'
        f' ({_listed(result.classes_without_train)})'
    )
  if result.classes_without_val:
    result.say(
        f'  no val images: {len(result.classes_without_val):,}'
        f' ({_listed(result.classes_without_val)})'
    )


def _listed_line(label: str, names: list[str]) -> str:
  return f'  {label}: {len(names):,}' + (f' ({_listed(names)})' if names else '')


def _report_files(result: CheckResult, plan: generate.Plan | None) -> None:
  """Reports the files missing, unlisted, not images, re-encoded and junk."""
  result.not_images.sort()
  result.reencoded.sort()
  result.say('files:')
  result.say(_listed_line('missing', result.missing))
  result.say(_listed_line('unlisted', result.unlisted))
  result.say(_listed_line('not images', result.not_images))
  result.say(f'  PNG, re-encoded by the build: {len(result.reencoded):,}')
  result.say(f'  junk, ignored: {result.junk:,}')
  if result.not_images:
    result.problems.append(
        f'{len(result.not_images):,} files are not images'
        f' ({_listed(result.not_images)}): a build stops at the first. Replace'
        ' them with good copies, or build with config skip_bad_files=True.'
    )
  if result.unlisted and plan is not None:
    result.warnings.append(f'{len(result.unlisted):,} files are unlisted; see above.')


def _finish(result: CheckResult) -> CheckResult:
  for warning in result.warnings:
    result.say(f'WARNING: {warning}')
  if result.problems:
    result.say('result: a build would NOT start or would stop:')
    result.lines.extend(f'  - {problem}' for problem in result.problems)
  else:
    result.say('result: a build would start (exit status 0)')
  return result


def main(argv: list[str] | None = None) -> int:
  parser = argparse.ArgumentParser(
      prog='python -m imagenet_custom.tools.check',
      description=__doc__.split('\n', 1)[0],
  )
  parser.add_argument('--manual_dir', required=True, help='the ImageNet download')
  parser.add_argument(
      '--data_dir', default=None,
      help='where the build will write (default: TFDS_DATA_DIR or ~/tensorflow_datasets)',
  )
  parser.add_argument(
      '--num_workers', type=int, default=0,
      help='worker processes of the build, for the time estimate (0: one per core)',
  )
  parser.add_argument(
      '--eval_sets', default=eval_examples.AUTO,
      help='the config\'s eval_sets: auto (every set found but ObjectNet), none, or split names',
  )
  args = parser.parse_args(argv)
  result = run_check(args.manual_dir, args.data_dir, args.num_workers, args.eval_sets)
  print('\n'.join(result.lines))
  return result.exit_code


if __name__ == '__main__':
  sys.exit(main())
