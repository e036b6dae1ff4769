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
from imagenet_custom.build import eval_examples
from imagenet_custom.build import generate
from imagenet_custom.build import parallel_build
from imagenet_custom.build import progress as progress_lib
from imagenet_custom.build import report as report_lib
from imagenet_custom.build import spill
from imagenet_custom.build import workers
from imagenet_custom.errors import InputError
from imagenet_custom.ilsvrc import checksums
from imagenet_custom.ilsvrc import eval_sets as eval_sets_lib
from imagenet_custom.ilsvrc import images
from imagenet_custom.ilsvrc import metadata
from imagenet_custom.ilsvrc import real_labels as real_labels_lib
from imagenet_custom.ilsvrc import selection as selection_lib
from imagenet_custom.ilsvrc import splits
from imagenet_custom.layouts import eval_sets as eval_layout
from imagenet_custom.tfds_glue import tfds_patches
from imagenet_custom.tools import labels

# The config's defaults are generation's (`generate.Options`).
_DEFAULTS = generate.Options()

@dataclasses.dataclass(eq=False)
class ImagenetCustomConfig(tfds.core.BuilderConfig):
  """Options of a build; pass them as JSON with `--config`.

  Attributes:
    validation_fraction: share of each class's train images that goes to the
      `validation` split.
    split_seed: key of the hash that chooses them; another seed gives another
      split of the same size.
    skip_bad_files: skip unreadable images and annotations (each is listed in
      the build report) instead of stopping the build.
    verify_checksums: compute the official archives' SHA-256 during the
      build (one extra sequential read of each, in a background thread) and
      fail the build on a mismatch (plain builds only).
    layout: `auto`, or a layout name from `layouts.LAYOUTS` (`archives`,
      `kaggle`, `folders`, ...).
    num_workers: worker processes for per-image work (reading, checking,
      re-encoding, boxes, serialising); 0 means one per core.
    num_threads: threads in each worker, so that disk reads overlap the
      work; 0 means 2.
    spill_images: copy every image into the build's temporary spill files.
      By default an image stored unchanged is read again from the input when
      the shards are written, in shard order, which is random within the
      input: fast on SSDs, slow on spinning disks and some network storage,
      where this option reads the input once, in order, instead.
    shorter_side: shrink images whose shorter side is longer to this many
      pixels (PIL reduce, then Lanczos on the luma and a box filter on the
      chroma, re-encoded as baseline 4:2:0 JPEG); 0 keeps the original
      images.
    jpeg_quality: JPEG quality of the shrunk images.
    train_subset: keep only part of train: a fraction of each class (e.g.
      0.01) or the path of a file list (one `nXXXXXXXX_N.JPEG` a line).
    classes: path of a WNID list (one a line), or the name of a shipped list
      (e.g. `imagenet100_cmc`): only those classes are built.
    relabel: with `classes`, labels index the sorted subset, not the 1,000.
    real_labels: path of ReaL's `real.json`: adds a `real_label` feature.
    eval_sets: the evaluation sets to build as extra splits (issue 17):
      `auto` (every set in the manual dir except ObjectNet), `none`, or a
      list of split names (`imagenet_a`, ..., `objectnet`: asking for
      ObjectNet adds the `objectnet_labels` feature).
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
  eval_sets: str | list[str] = eval_examples.AUTO  # Issue 17 hook.


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
  _eval_plan: eval_examples.EvalPlan | None = None  # Issue 17 hook.

  def _label_names(self) -> tuple[str, ...]:
    """The `ClassLabel` names: all 1,000 WNIDs, or the relabelled subset."""
    config = self.builder_config
    if not (config.relabel and config.classes):
      return metadata.wnids()
    return selection_lib.make_selection(config.classes, True, None).label_names()

  def _info(self) -> tfds.core.DatasetInfo:
    """Returns the dataset's features and metadata."""
    label_names = self._label_names()
    features = {
        'image': tfds.features.Image(encoding_format='jpeg'),
        'label': tfds.features.ClassLabel(names=label_names),
        'file_name': tfds.features.Text(),
        'bboxes': tfds.features.Sequence(tfds.features.BBoxFeature()),
    }
    if self.builder_config.real_labels:
      features[real_labels_lib.FEATURE] = tfds.features.Sequence(
          tfds.features.ClassLabel(names=label_names)
      )
    if eval_examples.has_objectnet_feature(self.builder_config.eval_sets):  # Issue 17 hook.
      features[eval_sets_lib.OBJECTNET_FEATURE] = tfds.features.Sequence(
          tfds.features.ClassLabel(names=label_names)
      )
    return self.dataset_info_from_configs(
        features=tfds.features.FeaturesDict(features),
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
    assert self._report is not None and self._plan is not None
    if self._progress is not None:
      self._progress.finish()
    if self._hashes is not None:
      checksums.verify(self._hashes.digests())
    problems = self._report.imbalances()
    if self._eval_plan is not None:  # Issue 17 hook.
      problems += eval_examples.imbalances(self._report, list(self._eval_plan.chunks))
      self.info.metadata['eval_sets'] = self._eval_plan.metadata
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
    text = self._report.format()
    if self._eval_plan is not None:  # Issue 17 hook.
      text += '\n' + eval_examples.format_report(self._report, list(self._eval_plan.chunks))
    logging.info('%s', text)
    print(text, flush=True)

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
    cache_dir = dl_manager.download_dir / 'imagenet_custom'
    # Issue 17 hook: the evaluation sets, and a build from them alone.
    eval_found, eval_notes = eval_layout.find_eval_sets(dl_manager.manual_dir, cache_dir)
    reader = eval_examples.find_reader(dl_manager.manual_dir, config.layout, cache_dir, eval_found)
    logging.info('Reading the %r layout: %s', reader.layout, reader.sources())
    self._report = report_lib.BuildReport(layout=reader.layout)
    self._plan_eval_sets(eval_found, eval_notes)
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
    if self._eval_plan:  # Issue 17 hook.
      self._plan = dataclasses.replace(self._plan, eval_splits=self._eval_plan.chunks)
    self._note_missing_images(reader)
    if not self._plan.train_built and not isinstance(reader, eval_layout.NoImageNet):
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

  def _plan_eval_sets(
      self, found: list[eval_layout.EvalSource], notes: list[str]
  ) -> None:
    """Issue 17 hook: lists and checks the evaluation sets to build."""
    config = self.builder_config
    assert self._report is not None
    chosen = eval_examples.choose_sources(found, notes, config.eval_sets, self._report)
    if not chosen:
      return
    if self._use_beam or (config.relabel and config.classes):
      raise InputError(
          'Evaluation sets are built by the plain build with the 1,000 labels:'
          ' build them without Beam and without relabel, or set config'
          ' eval_sets to "none".'
      )
    self._eval_plan = eval_examples.plan_eval_sets(
        chosen, self._report,
        eval_examples.has_objectnet_feature(config.eval_sets),
        bool(config.real_labels),
    )

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
        and 'train images' in roles
        and 'train reference list' not in roles
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
    nonempty.extend(split for split, chunks in plan.eval_splits.items() if chunks)  # Issue 17 hook.
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
