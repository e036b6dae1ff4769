"""Examples of the evaluation-set splits: planned once, made in chunks.

The sets found in the manual dir (`layouts.eval_sets`) are listed and
checked before any image is read (`plan_eval_sets`); each split is then a
tuple of `EvalChunk`s, which the build engine runs like the test split's val
chunks (`generate.Plan.eval_splits`): each yields `generate.Outcome`s.

An example has the test split's features: `label` is the image's sorted-1,000
label (the lowest, for an ObjectNet class that maps to several), `file_name`
is `<class folder>/<file>`, `bboxes` is empty. Images are checked and
re-encoded by content as the test split's are (`ilsvrc.images`); ObjectNet's
1-pixel border is cropped first. A build that asks for ObjectNet adds the
`objectnet_labels` feature (every mapped label; empty on other splits).

The report counts, per set: images read, written, skipped, files ignored
beside the class folders and (ObjectNet) images of unmapped classes; each
set must balance (`imbalances`).

Never imports TensorFlow or TFDS: workers unpickle the chunks.
"""

from __future__ import annotations

from collections.abc import Iterator
import concurrent.futures
import dataclasses
import functools
import io
from typing import Any

from etils import epath
from PIL import Image

from imagenet_custom import layouts
from imagenet_custom.build import generate
from imagenet_custom.build import report as report_lib
from imagenet_custom.errors import BadFileError
from imagenet_custom.errors import InputError
from imagenet_custom.ilsvrc import eval_sets as facts
from imagenet_custom.ilsvrc import metadata
from imagenet_custom.ilsvrc import real_labels as real_labels_lib
from imagenet_custom.layouts import eval_sets as layout
from imagenet_custom.layouts.base import ImageSource

# Images per chunk (one worker task).
CHUNK_SIZE = 500
_PREFIX = 'eval/'


def counter(split: str, what: str) -> str:
  """A report counter of one set: `eval/<split>/<what>`."""
  return f'{_PREFIX}{split}/{what}'


@dataclasses.dataclass(frozen=True)
class EvalChunk:
  """Some images of one set: a unit of work. Picklable.

  Attributes:
    source: the set.
    images: the images, in storage order.
    objectnet_feature: examples carry `objectnet_labels`.
    real_label_feature: examples carry `real_label` (empty here: ReaL
      labels are for val images).
  """

  source: layout.EvalSource
  images: tuple[layout.EvalImage, ...]
  objectnet_feature: bool = False
  real_label_feature: bool = False

  def describe(self) -> str:
    return (
        f'{len(self.images)} images of {self.source.path}'
        f' ({self.images[0].file_name} .. {self.images[-1].file_name})'
    )

  def outcomes(
      self,
      options: generate.Options,
      tally: report_lib.Tally,
      pool: concurrent.futures.Executor | None = None,
      window: int = 64,
  ) -> Iterator[generate.Outcome]:
    """The chunk's examples (counted in `tally`, as are skips).

    Args:
      options: the build's options (`skip_bad_files`, `resize`).
      tally: where counts go.
      pool: where per-image work runs (None: this thread).
      window: images in flight at most.

    Yields:
      The outcome of each image written.
    """
    split = self.source.split
    labels = {image.file_name: image.labels for image in self.images}
    work = functools.partial(self._example, options, labels)
    sources = layout.read_eval_images(self.source, list(labels))
    for outcome in generate.ordered_map(work, sources, pool, window):
      generate.tally_outcome(outcome, split, tally)
      if outcome.example is not None:
        yield outcome

  def _example(
      self,
      options: generate.Options,
      labels: dict[str, tuple[int, ...]],
      source: ImageSource,
  ) -> generate.Outcome:
    wnids = metadata.wnids()
    image_labels = labels[source.name]
    extra: dict[str, Any] = {}
    if self.objectnet_feature:
      extra[facts.OBJECTNET_FEATURE] = (
          [wnids[i] for i in image_labels] if self.source.split == facts.OBJECTNET else []
      )
    if self.real_label_feature:
      extra[real_labels_lib.FEATURE] = []
    if self.source.split == facts.OBJECTNET:
      source = source._replace(read=functools.partial(_cropped, source), span=None)
    return generate.make_example(
        source, wnids[image_labels[0]], None, options.skip_bad_files,
        counter(self.source.split, 'skipped'), options.resize, extra,
    )


def crop_border(data: bytes, origin: str, pixels: int) -> bytes:
  """An image with `pixels` cut from each side, as PNG (lossless).

  Args:
    data: the image file's bytes.
    origin: where it is, for errors.
    pixels: the border's width.

  Returns:
    The cropped image; it is then re-encoded as JPEG as any PNG is.

  Raises:
    BadFileError: the image does not decode or is too small to crop.
  """
  try:
    image = Image.open(io.BytesIO(data))
    image.load()
  except (OSError, ValueError, SyntaxError) as e:
    raise BadFileError(origin, f'not a readable image ({e})') from None
  width, height = image.size
  if width <= 2 * pixels or height <= 2 * pixels:
    raise BadFileError(origin, f'image is {width}x{height}, too small to crop its border')
  buffer = io.BytesIO()
  image.crop((pixels, pixels, width - pixels, height - pixels)).save(buffer, format='PNG')
  return buffer.getvalue()


def _cropped(source: ImageSource) -> bytes:
  return crop_border(source.read(), source.origin, facts.OBJECTNET_BORDER)


@dataclasses.dataclass(frozen=True)
class EvalPlan:
  """The evaluation splits of a build.

  Attributes:
    chunks: each split's chunks.
    metadata: each set's `info.metadata` entry (`set_metadata`).
  """

  chunks: dict[str, tuple[EvalChunk, ...]]
  metadata: dict[str, dict[str, Any]]


def set_metadata(source: layout.EvalSource, listed: layout.Listed) -> dict[str, Any]:
  """What `info.metadata['eval_sets'][split]` says of one set."""
  eval_set = source.eval_set
  if eval_set.split == facts.OBJECTNET:
    mask = sorted({label for image in listed.images for label in image.labels})
    mask_source = f'{source.path}/mappings (the user\'s ObjectNet files)'
  else:
    mask = list(facts.class_mask(facts.class_wnids(eval_set.split)))
    mask_source = (
        f'imagenet_custom/ilsvrc/eval_classes/{eval_set.class_list}'
        f' ({eval_set.reference})' if eval_set.class_list else 'all 1,000 classes'
    )
  entry: dict[str, Any] = {
      'title': eval_set.title,
      'read_from': source.path,
      'images_read': len(listed.images) + listed.unmapped,
      'images_in_release': eval_set.num_images,
      'scoring': eval_set.scoring.value,
      'class_mask': mask,
      'class_mask_source': mask_source,
  }
  if eval_set.split == facts.OBJECTNET:
    entry['border_cropped_px'] = facts.OBJECTNET_BORDER
    entry['objectnet_classes_mapped'] = len({image.file_name.split('/')[0] for image in listed.images})
    entry['licence'] = facts.OBJECTNET_LICENCE_NOTE
  return entry


def plan_eval_sets(
    sources: list[layout.EvalSource],
    tally: report_lib.BuildReport,
    objectnet_feature: bool,
    real_label_feature: bool,
) -> EvalPlan:
  """Lists and checks every set found, before any image is read.

  Args:
    sources: the sets to build.
    tally: the build report (counts and notes).
    objectnet_feature: the build has the `objectnet_labels` feature.
    real_label_feature: the build has the `real_label` feature.

  Returns:
    The chunks of each split and each set's metadata.

  Raises:
    InputError: a set's classes are wrong (see `layouts.eval_sets`).
  """
  chunks, entries = {}, {}
  for source in sources:
    if source.split == facts.OBJECTNET and not objectnet_feature:
      raise InputError('ObjectNet needs the objectnet_labels feature (config eval_sets).')
    listed = layout.list_eval_set(source)
    split = source.split
    tally.add(counter(split, 'read'), len(listed.images) + listed.unmapped)
    tally.add(counter(split, 'ignored_files'), len(listed.ignored))
    if listed.unmapped:
      tally.add(counter(split, 'unmapped_class_images'), listed.unmapped)
    entries[split] = set_metadata(source, listed)
    read = entries[split]['images_read']
    if read != source.eval_set.num_images:
      tally.notes.append(
          f'{source.path}: {read} images read; the {source.eval_set.title} release'
          f' has {source.eval_set.num_images}.'
      )
    images = listed.images
    chunks[split] = tuple(
        EvalChunk(source, images[start : start + CHUNK_SIZE], objectnet_feature, real_label_feature)
        for start in range(0, len(images), CHUNK_SIZE)
    )
  return EvalPlan(chunks, entries)


def imbalances(report: report_lib.BuildReport, splits: list[str]) -> list[str]:
  """The sets whose images read are not all written, skipped or unmapped."""
  problems = []
  for split in splits:
    out = (
        report.written(split) + report.counts[counter(split, 'skipped')]
        + report.counts[counter(split, 'unmapped_class_images')]
    )
    if out != report.counts[counter(split, 'read')]:
      problems.append(
          f'{split} written + skipped + unmapped = {out}, but'
          f' {report.counts[counter(split, "read")]} images were read'
      )
  return problems


def find_reader(
    manual_dir: epath.PathLike,
    layout_name: str,
    cache_dir: epath.Path,
    found: list[layout.EvalSource],
) -> layouts.Reader:
  """The ImageNet reader, or `NoImageNet` for evaluation sets alone.

  Args:
    manual_dir: the manual dir.
    layout_name: the config's `layout`.
    cache_dir: where readers keep what they compute once.
    found: the evaluation sets in the manual dir.

  Returns:
    The reader of the ImageNet layout found; `NoImageNet` when the dir holds
    evaluation sets and no ImageNet layout (and the config names none).

  Raises:
    InputError: as `layouts.find_reader`.
  """
  root = epath.Path(manual_dir)
  if found and layout_name == 'auto' and not layouts.detect_layouts(root):
    return layout.NoImageNet(root)
  return layouts.find_reader(root, layout_name, cache_dir=cache_dir)


# The config's `eval_sets` default: every set found, except ObjectNet (which
# adds a feature, so it must be asked for).
AUTO = 'auto'


def requested_sets(value: str | list[str] | tuple[str, ...] | None) -> tuple[str, ...] | None:
  """The splits a config's `eval_sets` asks for; None for `auto`.

  Args:
    value: `auto` (or None), `none`, a split name, a comma-separated list of
      them, or a list.

  Returns:
    The split names, or None for every set found (ObjectNet excepted).

  Raises:
    InputError: a name is not an evaluation split.
  """
  if value is None or value == AUTO:
    return None
  if isinstance(value, str):
    value = [] if value == 'none' else [part.strip() for part in value.split(',') if part.strip()]
  unknown = [name for name in value if name not in facts.SPLITS]
  if unknown:
    raise InputError(
        f'Config eval_sets: {", ".join(map(repr, unknown))} is not an evaluation'
        f' split; choose from {", ".join(facts.SPLITS)}, or "auto" or "none".'
    )
  return tuple(value)


def has_objectnet_feature(value: str | list[str] | tuple[str, ...] | None) -> bool:
  """Whether a config's `eval_sets` adds the `objectnet_labels` feature."""
  return facts.OBJECTNET in (requested_sets(value) or ())


def choose_sources(
    found: list[layout.EvalSource],
    notes: list[str],
    value: str | list[str] | tuple[str, ...] | None,
    report: report_lib.BuildReport,
) -> list[layout.EvalSource]:
  """The sets to build: those asked for, all of which must be present.

  Args:
    found: the sets in the manual dir.
    notes: the finder's notes (added to the report).
    value: the config's `eval_sets`.
    report: where notes go.

  Returns:
    The sets to build, in `EVAL_SETS` order.

  Raises:
    InputError: a set asked for is not in the manual dir.
  """
  report.notes.extend(notes)
  requested = requested_sets(value)
  by_split = {source.split: source for source in found}
  if requested is None:
    if facts.OBJECTNET in by_split:
      report.notes.append(
          f'{by_split[facts.OBJECTNET].path}: ObjectNet found but not built: it'
          ' adds the objectnet_labels feature, so ask for it with config'
          ' eval_sets (e.g. "auto" -> ["objectnet", ...]).'
      )
    return [s for s in found if s.split != facts.OBJECTNET]
  missing = [split for split in requested if split not in by_split]
  if missing:
    wanted = facts.by_split()
    raise InputError(
        'Config eval_sets asks for sets not in the manual dir: '
        + '; '.join(
            f'{split} ({" or ".join(wanted[split].downloads + (wanted[split].folder + "/",))})'
            for split in missing
        )
        + '. Put the download there as distributed, or leave it out of eval_sets.'
    )
  return [s for s in found if s.split in requested]


def format_report(report: report_lib.BuildReport, splits: list[str]) -> str:
  """The evaluation sets' lines of the build report (empty without any)."""
  c = report.counts
  lines = []
  for split in splits:
    unmapped = c[counter(split, 'unmapped_class_images')]
    lines.append(
        f'  evaluation set {split}: read {c[counter(split, "read")]:,} ='
        f' written {report.written(split):,} + skipped {c[counter(split, "skipped")]:,}'
        + (f' + of classes ImageNet lacks {unmapped:,}' if unmapped else '')
        + f'; files beside the classes ignored {c[counter(split, "ignored_files")]:,}'
    )
  return ''.join(f'{line}\n' for line in lines)
