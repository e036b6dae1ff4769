"""imagenet_custom: ImageNet (ILSVRC2012) built from the user's own download."""

from __future__ import annotations

from collections.abc import Iterator
import contextlib
import dataclasses
import os
from typing import Any, ClassVar

from absl import logging
import tensorflow_datasets as tfds

from imagenet_custom import layouts
from imagenet_custom.build import dali_index
from imagenet_custom.build import generate
from imagenet_custom.build import parallel_build
from imagenet_custom.build import progress as progress_lib
from imagenet_custom.build import report as report_lib
from imagenet_custom.build import spill
from imagenet_custom.build import workers
from imagenet_custom.errors import InputError
from imagenet_custom.ilsvrc import checksums
from imagenet_custom.ilsvrc import images
from imagenet_custom.ilsvrc import metadata
from imagenet_custom.ilsvrc import real_labels as real_labels_lib
from imagenet_custom.ilsvrc import selection as selection_lib
from imagenet_custom.ilsvrc import splits
from imagenet_custom.tfds_glue import features
from imagenet_custom.tfds_glue import tfds_patches
from imagenet_custom.tools import labels

# The config's defaults are generation's (`generate.Options`).
_DEFAULTS = generate.Options()

@dataclasses.dataclass(eq=False)
class ImagenetCustomConfig(tfds.core.BuilderConfig):
  """Options of a build; pass them as JSON with `--config`.

  What each field means, with its default, is the README's config table (the
  one place it is written). Contract:
  - `validation_fraction`, `split_seed`, `skip_bad_files`, `shorter_side`
    and `jpeg_quality` reach generation through `generate.Options.from_config`,
    which reads each by name; their defaults are `generate.Options`'.
  - `train_subset`, `classes` and `relabel` make the build's
    `selection.Selection`; `real_labels` adds the `real_label` feature;
    `layout` chooses the reader (`layouts.LAYOUTS`, or `auto`).
  - `num_workers`, `num_threads` and `spill_images` change how a plain build
    runs, never the shards it writes; `verify_checksums` is for plain builds
    only (a Beam build refuses it); `dali_index` writes DALI's index
    (`<shard>.idx`) beside every TFRecord shard.
  - A config that changes the examples needs a name of its own: it is the
    folder the build is written to.
  """

  validation_fraction: float = _DEFAULTS.validation_fraction
  split_seed: str = _DEFAULTS.split_seed
  skip_bad_files: bool = _DEFAULTS.skip_bad_files
  verify_checksums: bool = False
  layout: str = 'auto'
  num_workers: int = 0
  num_threads: int = 0
  spill_images: bool = False
  train_subset: float | str | None = None
  classes: str | None = None
  relabel: bool = False
  real_labels: str | None = None
  shorter_side: int = 0
  jpeg_quality: int = images.DEFAULT_JPEG_QUALITY
  dali_index: bool = False  # Issue 18.


def _resize_options(config: ImagenetCustomConfig) -> images.ResizeOptions:
  """The config's resize fields, checked.

  Args:
    config: the builder config.

  Returns:
    The resize options for `generate.Options`.

  Raises:
    InputError: a field is out of range.
  """
  try:
    return images.ResizeOptions(config.shorter_side, config.jpeg_quality)
  except ValueError as e:
    raise InputError(f'Config {config.name!r}: {e}.') from None


class Builder(tfds.core.GeneratorBasedBuilder):
  """ImageNet from the official archives, the Kaggle tree or class folders."""

  VERSION = tfds.core.Version('1.1.0')
  RELEASE_NOTES: ClassVar[dict[str, str]] = {
      '1.0.0': 'Initial release: three input layouts, boxes, 80/20 split.',
      '1.1.0': (
          'Resized configs (s256): Lanczos on the luma and a box filter on'
          ' the chroma, and the reduce step no longer shifts the image, so'
          ' their images differ from 1.0.0. The default config writes the'
          ' same bytes as 1.0.0.'
      ),
  }
  BUILDER_CONFIGS: ClassVar[list[tfds.core.BuilderConfig]] = [
      ImagenetCustomConfig(
          name='default',
          description=(
              'Train split 80/20 into train/validation by keyed hash; the'
              ' original val set as test, its blacklist as test_blacklisted.'
          ),
      ),
      ImagenetCustomConfig(
          name='s256',
          description=(
              'As `default`, with every image whose shorter side exceeds 256'
              ' px shrunk to 256 (PIL reduce + Lanczos on the luma, box on the'
              ' chroma; JPEG quality 90).'
          ),
          shorter_side=256,
      ),
  ]
  MANUAL_DOWNLOAD_INSTRUCTIONS = layouts.LAYOUT_HELP

  _use_beam = False
  _plan: generate.Plan | None = None
  _report: report_lib.BuildReport | None = None
  _pool: workers.WorkerPool | None = None
  _progress: progress_lib.Progress | None = None
  _hashes: checksums.BackgroundHash | None = None
  _spill_dir = ''

  def _label_names(self) -> tuple[str, ...]:
    """The `ClassLabel` names: all 1,000 WNIDs, or the relabelled subset."""
    config = self.builder_config
    if not (config.relabel and config.classes):
      return metadata.wnids()
    return selection_lib.make_selection(config.classes, True, None).label_names()

  def _info(self) -> tfds.core.DatasetInfo:
    """Returns the dataset's features and metadata."""
    return self.dataset_info_from_configs(
        features=features.make_features(
            self._label_names(), real_labels=bool(self.builder_config.real_labels)
        ),
        supervised_keys=('image', 'label'),
        homepage='https://image-net.org/',
        metadata=tfds.core.MetadataDict(),
    )

  def _download_and_prepare(self, dl_manager, download_config) -> None:
    """Generates the splits, then checks and stores the build report."""
    self._use_beam = (
        download_config.beam_runner is not None
        or download_config.beam_options is not None
    )
    tfds_patches.check_compatible()
    with contextlib.ExitStack() as stack:
      stack.enter_context(tfds_patches.deterministic_serialization())
      stack.enter_context(tfds_patches.serialized_passthrough())
      if not self._use_beam:
        # TFDS builds in a temporary directory (`self.data_dir` here).
        self._spill_dir = stack.enter_context(
            tfds_patches.spilled_shuffle(os.fspath(self.data_dir))
        )
      stack.callback(self._close_pool)
      super()._download_and_prepare(dl_manager, download_config)
    if self.builder_config.dali_index:  # Issue 18: the shards are written (in TFDS's temporary dir).
      logging.info('Wrote %d DALI index files.', dali_index.index_shards(os.fspath(self.data_dir)))
    assert self._report is not None and self._plan is not None
    if self._progress is not None:
      self._progress.finish()
    if self._hashes is not None:
      checksums.verify(self._hashes.digests())
    problems = self._report.imbalances()
    if problems and download_config.max_examples_per_split is None:
      raise InputError(
          'The build report does not balance: ' + '; '.join(problems)
          + '. This is a bug in imagenet_custom; no dataset was written.'
      )
    self.info.metadata['build_report'] = self._report.to_dict()
    self.info.metadata['class_names'] = [
        self._plan.class_names[wnid] for wnid in metadata.wnids()
    ]
    self.info.metadata['split'] = {
        'validation_fraction': self.builder_config.validation_fraction,
        'split_seed': self.builder_config.split_seed,
    }
    if self.builder_config.shorter_side:
      self.info.metadata['resize'] = self._plan.options.resize.metadata()
    facts = labels.read_devkit_facts(self._plan.reader.root)
    self.info.metadata['label_map'] = labels.to_records(
        labels.label_map(facts.ilsvrc_ids, self._plan.class_names)
    )
    self.info.metadata['selection'] = self._plan.selection.to_metadata()
    self.info.metadata['evaluation_only'] = not self._plan.train_built
    self.info.metadata['face_blurred'] = self._plan.reader.face_blurred
    if self.builder_config.real_labels:
      self.info.metadata['real_labels'] = self.builder_config.real_labels
    logging.info('%s', self._report.format())
    print(self._report.format(), flush=True)

  def _split_generators(self, dl_manager: tfds.download.DownloadManager):
    """Finds the input layout, checks its metadata, returns one generator a split."""
    config = self.builder_config
    if self._use_beam and config.verify_checksums:
      raise InputError(
          'verify_checksums is only available in plain builds (each Beam'
          ' worker reads part of an archive). Check the archives with'
          ' `sha256sum` against checksums.tsv, or build without Beam.'
      )
    # What a reader computes once and every worker reuses (the index of a
    # compressed archive) is kept with TFDS's downloads.
    reader = layouts.find_reader(
        dl_manager.manual_dir, config.layout,
        cache_dir=dl_manager.download_dir / 'imagenet_custom',
    )
    logging.info('Reading the %r layout: %s', reader.layout, reader.sources())
    self._report = report_lib.BuildReport(layout=reader.layout)
    checksums.check_sizes(reader.archives())
    if config.verify_checksums:
      self._hashes = checksums.BackgroundHash(reader.archives())
    selection = selection_lib.make_selection(
        config.classes, config.relabel, config.train_subset
    )
    real = (
        real_labels_lib.load_real_labels(config.real_labels)
        if config.real_labels else None
    )
    self._plan = generate.make_plan(
        reader,
        dataclasses.replace(
            generate.Options.from_config(config), resize=_resize_options(config)
        ),
        self._report,
        selection,
        real,
    )
    if self._plan.train_built and not self._plan.train_wnids():
      raise InputError(
          f'{config.classes}: none of its classes has train images in'
          f' {reader.root}. Check the class list against your download.'
      )
    self._note_missing_images(reader)
    if not self._plan.train_built:
      note = (
          f'evaluation-only build: no train images in {reader.root}, so train'
          ' and validation were not built; test and test_blacklisted were.'
      )
      logging.warning('%s', note)
      self._report.notes.append(note)
    if not self._use_beam:
      self._start_pool(self._plan)
    return {
        split: self._generate_examples(self._plan, split)
        for split in self._nonempty_splits(self._plan)
    }

  def _note_missing_images(self, reader: layouts.Reader) -> None:
    """Counts the images the layout's reference lists name but the input lacks."""
    assert self._report is not None
    missing = reader.missing_images()
    if missing:
      self._report.add(report_lib.IMAGES_MISSING, len(missing))
      listed = ', '.join(missing[:10]) + (', ...' if len(missing) > 10 else '')
      note = (
          f'{len(missing)} images of the original release are not in'
          f' {reader.root} ({listed}); the dataset is built without them.'
      )
      logging.warning('%s', note)
      self._report.notes.append(note)
    roles = reader.sources()
    if (
        reader.face_blurred
        and roles.train_images is not None
        and roles.train_reference is None
    ):
      self._report.notes.append(
          'missing face-blurred train images were not counted: put the'
          ' Kaggle download\'s train_cls.txt in the manual dir to count them.'
      )

  def _start_pool(self, plan: generate.Plan) -> None:
    """Starts the worker processes and counts the images for the progress line."""
    config = self.builder_config
    self._pool = workers.WorkerPool(
        config.num_workers,
        parallel_build.WorkerState(
            parallel_build.worker_plan(plan),
            tfds_patches.field_specs(self.info.features),
            self._spill_dir,
            config.num_threads or 2,
            config.spill_images,
        ),
    )
    totals = parallel_build.count_images(self._pool, plan)
    logging.info('Images per split: %s', totals)
    self._progress = progress_lib.Progress(sum(totals.values()))

  def _close_pool(self) -> None:
    if self._pool is not None:
      self._pool.close()
      self._pool = None

  def _nonempty_splits(self, plan: generate.Plan) -> list[str]:
    """The splits that will hold examples (TFDS cannot write an empty one)."""
    nonempty = []
    if plan.train_built:
      nonempty.append('train')
    if plan.train_built and self.builder_config.validation_fraction > 0:
      nonempty.append('validation')
    for split in splits.VAL_SPLITS:
      if plan.val_split_names(split):
        nonempty.append(split)
      else:
        logging.warning('Split %r has no images and is not written.', split)
    return nonempty

  def _generate_examples(self, plan: generate.Plan, split: str) -> Any:
    """Yields `(file name, example)`, or a Beam transform when building with Beam."""
    if self._use_beam:
      from imagenet_custom.build import beam_generate  # pylint: disable=g-import-not-at-top

      return beam_generate.split_transform(plan, split)
    return self._plain_examples(plan, split)

  def _plain_examples(
      self, plan: generate.Plan, split: str
  ) -> Iterator[tuple[str, spill.Spilled]]:
    assert self._pool is not None
    assert self._report is not None and self._progress is not None
    yield from parallel_build.split_records(
        self._pool, plan, split, self._report, self._progress
    )

  def _process_pipeline_result(self, pipeline_result) -> None:
    """Adds the Beam workers' counts to the build report."""
    from imagenet_custom.build import beam_generate  # pylint: disable=g-import-not-at-top

    assert self._report is not None
    beam_generate.add_metrics(pipeline_result, self._report)
