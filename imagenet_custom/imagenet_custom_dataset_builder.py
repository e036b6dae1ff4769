"""imagenet_custom: ImageNet (ILSVRC2012) built from the user's own download."""

from __future__ import annotations

import contextlib
import dataclasses
import os
from typing import Any, ClassVar

from absl import logging
import tensorflow_datasets as tfds

from imagenet_custom import layouts
from imagenet_custom.build import dali_index
from imagenet_custom.build import eval_examples
from imagenet_custom.build import generate
from imagenet_custom.build import parallel_build
from imagenet_custom.build import progress as progress_lib
from imagenet_custom.build import report as report_lib
from imagenet_custom.build import split_engine
from imagenet_custom.build import workers
from imagenet_custom.errors import InputError
from imagenet_custom.ilsvrc import checksums
from imagenet_custom.ilsvrc import images
from imagenet_custom.ilsvrc import metadata
from imagenet_custom.ilsvrc import real_labels as real_labels_lib
from imagenet_custom.ilsvrc import selection as selection_lib
from imagenet_custom.ilsvrc import splits
from imagenet_custom.layouts import eval_sets as eval_layout
from imagenet_custom.tfds_glue import features
from imagenet_custom.tfds_glue import shard_plan
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
  - `eval_sets` chooses the evaluation sets built as extra splits
    (`eval_examples.choose_sources`): `auto`, `none` or a list of split names;
    naming `objectnet` adds the `objectnet_labels` feature.
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
  dali_index: bool = False
  eval_sets: str | list[str] = eval_examples.AUTO


@dataclasses.dataclass(eq=False)
class _BuildState:
  """One build under way, from `_split_generators` to the end.

  Attributes:
    plan: the build plan.
    report: the build report, filled as the splits are built.
    beam: building with Beam, not on the worker pool.
    hashes: the archives' SHA-256, computed in the background (config
      `verify_checksums`).
    pool: the worker processes (plain builds).
    progress: the progress line (plain builds).
    eval_plan: the evaluation sets being built, or None.
  """

  plan: generate.Plan
  report: report_lib.BuildReport
  beam: bool
  hashes: checksums.BackgroundHash | None = None
  pool: workers.WorkerPool | None = None
  progress: progress_lib.Progress | None = None
  eval_plan: eval_examples.EvalPlan | None = None


def _uses_beam(download_config: tfds.download.DownloadConfig) -> bool:
  return (
      download_config.beam_runner is not None
      or download_config.beam_options is not None
  )


def build_metadata(
    config: ImagenetCustomConfig,
    plan: generate.Plan,
    report: report_lib.BuildReport,
) -> dict[str, Any]:
  """The dataset's `info.metadata`: the build report and what the build was made of."""
  facts = plan.reader.devkit_facts()
  metadata_dict: dict[str, Any] = {
      'build_report': report.to_dict(),
      'class_names': [plan.class_names[wnid] for wnid in metadata.wnids()],
      'split': {
          'validation_fraction': config.validation_fraction,
          'split_seed': config.split_seed,
      },
  }
  if config.shorter_side:
    metadata_dict['resize'] = plan.options.resize.metadata()
  metadata_dict['label_map'] = labels.to_records(
      labels.label_map(facts.ilsvrc_ids, plan.class_names)
  )
  metadata_dict['selection'] = plan.selection.to_metadata()
  metadata_dict['evaluation_only'] = not plan.train_built
  metadata_dict['face_blurred'] = plan.reader.face_blurred
  if config.real_labels:
    metadata_dict['real_labels'] = config.real_labels
  return metadata_dict


def _note(report: report_lib.BuildReport, note: str) -> None:
  """Logs `note` and adds it to the build report's notes."""
  logging.warning('%s', note)
  report.notes.append(note)


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
  ]
  # Predefined configs that `tfds build` builds only when asked for by name.
  OTHER_CONFIGS: ClassVar[list[tfds.core.BuilderConfig]] = [
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

  # The build under way: made by `_split_generators`.
  _build: _BuildState | None = None

  @tfds.core.utils.classproperty
  @classmethod
  def builder_configs(cls) -> dict[str, tfds.core.BuilderConfig]:
    """Every predefined config by name: `BUILDER_CONFIGS` and `OTHER_CONFIGS`.

    `tfds build` without `--config` builds each of `BUILDER_CONFIGS` (only
    `default`); the others are built when named (`--config=s256`,
    `tfds.load('imagenet_custom/s256')`).
    """
    return {c.name: c for c in [*cls.BUILDER_CONFIGS, *cls.OTHER_CONFIGS]}

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
            self._label_names(),
            real_labels=bool(self.builder_config.real_labels),
            objectnet_labels=eval_examples.has_objectnet_feature(self.builder_config.eval_sets),
        ),
        supervised_keys=('image', 'label'),
        homepage='https://image-net.org/',
        metadata=tfds.core.MetadataDict(),
    )

  def _download_and_prepare(self, dl_manager, download_config) -> None:
    """Generates and writes the splits, then checks and stores the build report."""
    tfds_patches.check_compatible()
    if download_config.max_examples_per_split == 0:
      return
    if _uses_beam(download_config):
      with tfds_patches.deterministic_serialization():
        super()._download_and_prepare(dl_manager, download_config)
    else:
      self._build_plain(dl_manager, download_config)
    if self.builder_config.dali_index:  # Issue 18: the shards are written (in TFDS's temporary dir).
      logging.info('Wrote %d DALI index files.', dali_index.index_shards(os.fspath(self.data_dir)))
    build = self._build
    assert build is not None
    if build.progress is not None:
      build.progress.finish()
    if build.hashes is not None:
      checksums.verify(build.hashes.digests())
    problems = build.report.imbalances()
    if build.eval_plan is not None:
      problems += eval_examples.imbalances(build.report, list(build.eval_plan.chunks))
    if problems and download_config.max_examples_per_split is None:
      raise InputError(
          'The build report does not balance: ' + '; '.join(problems)
          + '. This is a bug in imagenet_custom; no dataset was written.'
      )
    self.info.metadata.update(build_metadata(self.builder_config, build.plan, build.report))
    text = build.report.format()
    if build.eval_plan is not None:
      self.info.metadata['eval_sets'] = build.eval_plan.metadata
      text += '\n' + eval_examples.format_report(build.report, list(build.eval_plan.chunks))
    logging.info('%s', text)
    print(text, flush=True)

  def _build_plain(self, dl_manager, download_config) -> None:
    """The plain build: the workers generate and write every split's shards."""
    shard_plan.check_compatible()
    file_format = shard_plan.file_format_name(self)
    if '://' in str(self.data_dir):
      raise InputError(
          f'The plain build writes its shards with local file I/O and cannot'
          f' write to {self.data_dir}: build to a local --data_dir and copy'
          ' it, or build with Beam.'
      )
    with contextlib.ExitStack() as stack:
      # TFDS builds in a temporary directory (`self.data_dir` here).
      stack.enter_context(split_engine.spill_directory(str(self.data_dir)))
      stack.callback(self._close_pool)
      tasks = self._split_generators(dl_manager)
      build = self._build
      assert build is not None and build.pool is not None
      assert build.progress is not None
      written = split_engine.build_splits(
          build.pool, tasks, shard_plan.planner(self, download_config),
          file_format, build.report, build.progress,
          download_config.max_examples_per_split,
      )
    self.info.set_splits(shard_plan.split_dict(self, written))

  def _split_generators(self, dl_manager: tfds.download.DownloadManager, pipeline=None):
    """Finds the input layout, checks its metadata, returns each split's work.

    Args:
      dl_manager: TFDS's download manager (the manual dir).
      pipeline: the Beam pipeline when building with Beam (TFDS passes it).

    Returns:
      By split name: a Beam transform, or the tasks of the plain build.
    """
    config = self.builder_config
    beam = pipeline is not None
    if beam and config.verify_checksums:
      raise InputError(
          'verify_checksums is only available in plain builds (each Beam'
          ' worker reads part of an archive). Check the archives with'
          ' `sha256sum` against checksums.tsv, or build without Beam.'
      )
    # What a reader computes once and every worker reuses (the index of a
    # compressed archive) is kept with TFDS's downloads.
    cache_dir = dl_manager.download_dir / 'imagenet_custom'
    # The evaluation sets, and a build from them alone (`NoImageNet`).
    eval_found, eval_notes = eval_layout.find_eval_sets(dl_manager.manual_dir, cache_dir)
    reader = eval_examples.find_reader(dl_manager.manual_dir, config.layout, cache_dir, eval_found)
    logging.info('Reading the %r layout: %s', reader.layout, reader.sources())
    report = report_lib.BuildReport(layout=reader.layout)
    eval_plan = self._plan_eval_sets(eval_found, eval_notes, report, beam)
    checksums.check_sizes(reader.archives())
    plan = generate.make_plan(
        reader,
        generate.Options.from_config(config),
        report,
        selection_lib.make_selection(config.classes, config.relabel, config.train_subset),
        real_labels_lib.load_real_labels(config.real_labels) if config.real_labels else None,
    )
    if plan.train_built and not plan.train_wnids():
      raise InputError(
          f'{config.classes}: none of its classes has train images in'
          f' {reader.root}. Check the class list against your download.'
      )
    if eval_plan is not None:
      plan = dataclasses.replace(plan, eval_splits=eval_plan.chunks)
    self._build = _BuildState(
        plan, report, beam,
        hashes=checksums.BackgroundHash(reader.archives()) if config.verify_checksums else None,
        eval_plan=eval_plan,
    )
    self._note_missing_images(reader, report)
    if not plan.train_built and not isinstance(reader, eval_layout.NoImageNet):
      _note(report, f'evaluation-only build: no train images in {reader.root}, so train'
            ' and validation were not built; test and test_blacklisted were.')
    if not beam:
      self._start_pool(self._build)
    return {
        split: self._generate_examples(plan, split) if beam
        else parallel_build.split_tasks(plan, split)
        for split in self._nonempty_splits(plan)
    }

  def _plan_eval_sets(
      self,
      found: list[eval_layout.EvalSource],
      notes: list[str],
      report: report_lib.BuildReport,
      beam: bool,
  ) -> eval_examples.EvalPlan | None:
    """Lists and checks the evaluation sets to build; None when there are none."""
    config = self.builder_config
    chosen = eval_examples.choose_sources(found, notes, config.eval_sets, report)
    if not chosen:
      return None
    if beam or (config.relabel and config.classes):
      raise InputError(
          'Evaluation sets are built by the plain build with the 1,000 labels:'
          ' build them without Beam and without relabel, or set config'
          ' eval_sets to "none".'
      )
    return eval_examples.plan_eval_sets(
        chosen, report,
        eval_examples.has_objectnet_feature(config.eval_sets),
        bool(config.real_labels),
    )

  def _note_missing_images(
      self, reader: layouts.Reader, report: report_lib.BuildReport
  ) -> None:
    """Counts the images the layout's reference lists name but the input lacks."""
    missing = reader.missing_images()
    if missing:
      report.add(report_lib.IMAGES_MISSING, len(missing))
      listed = ', '.join(missing[:10]) + (', ...' if len(missing) > 10 else '')
      note = (
          f'{len(missing)} images of the original release are not in'
          f' {reader.root} ({listed}); the dataset is built without them.'
      )
      logging.warning('%s', note)
      report.notes.append(note)
    roles = reader.sources()
    if (
        reader.face_blurred
        and roles.train_images is not None
        and roles.train_reference is None
    ):
      report.notes.append(
          'missing face-blurred train images were not counted: put the'
          ' Kaggle download\'s train_cls.txt in the manual dir to count them.'
      )

  def _start_pool(self, build: _BuildState) -> None:
    """Starts the worker processes and counts the images for the progress line."""
    config = self.builder_config
    build.pool = workers.WorkerPool(
        config.num_workers,
        parallel_build.WorkerState(
            parallel_build.worker_plan(build.plan),
            tfds_patches.field_specs(self.info.features),
            split_engine.spill_dir_of(str(self.data_dir)),
            config.num_threads or 2,
            config.spill_images,
        ),
    )
    totals = parallel_build.count_images(build.pool, build.plan)
    logging.info('Images per split: %s', totals)
    build.progress = progress_lib.Progress(sum(totals.values()))

  def _close_pool(self) -> None:
    if self._build is not None and self._build.pool is not None:
      self._build.pool.close()
      self._build.pool = None

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
    nonempty.extend(split for split, chunks in plan.eval_splits.items() if chunks)
    return nonempty

  def _generate_examples(self, plan: generate.Plan, split: str) -> Any:
    """A split's examples as a Beam transform (for Beam builds only).

    A plain build runs `parallel_build.split_tasks` on the worker pool
    instead (`_split_generators`, `_build_plain`).
    """
    from imagenet_custom.build import beam_generate  # pylint: disable=g-import-not-at-top

    return beam_generate.split_transform(plan, split)

  def _process_pipeline_result(self, pipeline_result) -> None:
    """Adds the Beam workers' counts to the build report."""
    from imagenet_custom.build import beam_generate  # pylint: disable=g-import-not-at-top

    assert self._build is not None
    beam_generate.add_metrics(pipeline_result, self._build.report)
