"""Tests for imagenet_custom.build.generate: the plan, examples and split selection."""

from __future__ import annotations

import ast
from collections.abc import Collection, Iterator
import dataclasses
import io
import pathlib
from typing import Any, cast

import numpy as np
from PIL import Image
import pytest

import imagenet_custom
from imagenet_custom import layouts
from imagenet_custom.archives.base import RawFile
from imagenet_custom.archives.base import Span
from imagenet_custom.build import generate
from imagenet_custom.build import report as report_lib
from imagenet_custom.errors import BadFileError
from imagenet_custom.errors import InputError
from imagenet_custom.ilsvrc import annotations as annotations_lib
from imagenet_custom.ilsvrc import images
from imagenet_custom.ilsvrc import metadata
from imagenet_custom.ilsvrc import splits
from imagenet_custom.ilsvrc.val_labels import LabelKind
from imagenet_custom.ilsvrc.val_labels import LabelSource
from imagenet_custom.ilsvrc.val_labels import ValMetadata
from imagenet_custom.layouts.base import ImageSource
from imagenet_custom.layouts.base import Listing
from imagenet_custom.layouts.base import Reader
from imagenet_custom.layouts.base import Sources
from imagenet_custom.layouts.devkit import DevkitFacts
from imagenet_custom.layouts.devkit import NO_FACTS

from builds import DUMMY
from builds import LAYOUTS

PACKAGE = pathlib.Path(generate.__file__).parents[1]
TENCH = 'n01440764'
GOLDFISH = 'n01443537'


def _image(image_format: str = 'JPEG', size: tuple[int, int] = (40, 30)) -> bytes:
  buffer = io.BytesIO()
  Image.new('RGB', size, (200, 100, 50)).save(buffer, format=image_format)
  return buffer.getvalue()


def _xml(name: str, box: tuple[int, int, int, int] = (4, 3, 20, 15)) -> bytes:
  xmin, ymin, xmax, ymax = box
  return (
      '<annotation><size><width>40</width><height>30</height></size>'
      f'<object><name>{name}</name><bndbox><xmin>{xmin}</xmin><ymin>{ymin}</ymin>'
      f'<xmax>{xmax}</xmax><ymax>{ymax}</ymax></bndbox></object></annotation>'
  ).encode()


def _val_name(number: int) -> str:
  return f'ILSVRC2012_val_{number:08d}.JPEG'


class FakeReader(Reader):
  """A layout held in memory; records which images are read."""

  layout = 'fake'

  def __init__(
      self,
      train: dict[str, dict[str, bytes]],
      val: dict[str, bytes],
      labels: dict[int, str],
      blacklist: frozenset[int] | None = frozenset(),
      train_xml: dict[str, dict[str, RawFile]] | None = None,
      val_xml: dict[int, RawFile] | None = None,
      junk: tuple[str, ...] = (),
  ):
    super().__init__(pathlib.Path('/fake'))
    self.train = train
    self.val = val
    self.labels = labels
    self.blacklist = blacklist
    self.train_xml = train_xml or {}
    self.val_xml = val_xml or {}
    self.junk = junk
    self.read: list[str] = []

  @classmethod
  def detect(cls, root) -> bool:
    del root
    return False

  def sources(self) -> Sources:
    return Sources(train_images='memory', val_images='memory')

  def devkit_facts(self) -> DevkitFacts:
    return NO_FACTS

  def train_classes(self) -> Listing:
    return Listing(tuple(self.train), self.junk)

  def class_origin(self, wnid: str) -> str:
    return f'fake/{wnid}'

  def list_train_class(self, wnid: str) -> Listing:
    return Listing(tuple(self.train[wnid]), ())

  def _source(self, name: str, data: bytes, origin: str) -> ImageSource:
    def read() -> bytes:
      self.read.append(name)
      return data
    return ImageSource(name, origin, read)

  def read_train_class(
      self, wnid: str, names: Collection[str]
  ) -> Iterator[ImageSource]:
    for name, data in self.train[wnid].items():
      if name in names:
        yield self._source(name, data, f'fake/{wnid}/{name}')

  def train_annotations(self, wnid: str) -> dict[str, RawFile]:
    return self.train_xml.get(wnid, {})

  def annotation_counts(self) -> dict[str, int]:
    return {wnid: len(found) for wnid, found in self.train_xml.items()}

  def list_val(self) -> Listing:
    return Listing(tuple(self.val), ('.DS_Store',))

  def read_val(self, names: Collection[str]) -> Iterator[ImageSource]:
    for name, data in self.val.items():
      if name in names:
        yield self._source(name, data, f'fake/val/{name}')

  def val_annotations(self) -> dict[int, RawFile]:
    return self.val_xml

  def val_metadata(self) -> ValMetadata:
    return ValMetadata(
        (LabelSource('fake labels', self.labels, LabelKind.DEVKIT),),
        self.blacklist,
        {TENCH: 'tench'},
    )


def _fake(**overrides) -> FakeReader:
  jpeg = _image()
  arguments: dict[str, Any] = dict(
      train={
          TENCH: {f'{TENCH}_{i}.JPEG': jpeg for i in range(1, 11)},
          GOLDFISH: {f'{GOLDFISH}_{i}.JPEG': jpeg for i in range(1, 4)},
      },
      val={_val_name(n): jpeg for n in (1, 2, 3, 4)},
      labels={1: TENCH, 2: GOLDFISH, 3: TENCH, 4: GOLDFISH, 9: TENCH},
      blacklist=frozenset({2, 7}),
  )
  arguments.update(overrides)
  return FakeReader(**arguments)


def test_make_plan_labels_splits_and_counts_the_val_set():
  reader = _fake(
      val_xml={
          3: RawFile('ILSVRC2012_val_00000003.xml', 'x3', _xml(TENCH)),
          8: RawFile('ILSVRC2012_val_00000008.xml', 'x8', _xml(TENCH)),
      },
      train_xml={'n01484850': {'n01484850_1': RawFile('a.xml', 'a', _xml('n01484850'))}},
      junk=('Thumbs.db',),
  )
  report = report_lib.BuildReport()
  plan = generate.make_plan(reader, generate.Options(), report)
  assert plan.val_names == {n: _val_name(n) for n in (1, 2, 3, 4)}
  assert plan.val_labels == {1: TENCH, 2: GOLDFISH, 3: TENCH, 4: GOLDFISH}
  # Only blacklisted images that exist count.
  assert plan.blacklist == frozenset({2})
  assert plan.val_split_names('test') == [_val_name(n) for n in (1, 3, 4)]
  assert plan.val_split_names('test_blacklisted') == [_val_name(2)]
  assert list(plan.val_annotations) == [3, 8]
  assert plan.class_names[TENCH] == 'tench'
  assert plan.class_names[GOLDFISH] == GOLDFISH  # No name: the WNID.
  assert len(plan.class_names) == metadata.NUM_CLASSES
  assert dict(report.counts) == {
      report_lib.VAL_READ: 4,
      report_lib.SOURCE_PREFIX + 'fake val': 4,
      report_lib.BLACKLISTED: 1,
      report_lib.JUNK_IGNORED: 2,  # .DS_Store beside val, Thumbs.db beside train.
      # Val image 8 has no image, nor has the class n01484850.
      report_lib.ANNOTATIONS_WITHOUT_IMAGE: 2,
  }


def test_make_plan_without_blacklist_puts_all_val_images_in_test():
  plan = generate.make_plan(_fake(blacklist=None), generate.Options(), report_lib.BuildReport())
  assert plan.blacklist == frozenset()
  assert len(plan.val_split_names('test')) == 4
  assert plan.val_split_names('test_blacklisted') == []
  with pytest.raises(ValueError, match="'train' is not a split of val images"):
    plan.val_split_names('train')


def test_make_plan_refuses_a_misnamed_val_image():
  reader = _fake(val={'photo.JPEG': _image()})
  with pytest.raises(InputError, match="'photo.JPEG' is not a val image name"):
    generate.make_plan(reader, generate.Options(), report_lib.BuildReport())


def test_make_plan_checks_val_labels_against_the_xml_names():
  reader = _fake(val_xml={1: RawFile('x.xml', 'x1', _xml(GOLDFISH))})
  with pytest.raises(InputError, match='disagree on 1 images'):
    generate.make_plan(reader, generate.Options(), report_lib.BuildReport())
  assert reader.read == []  # Before any image is read.


@pytest.mark.parametrize('layout', LAYOUTS)
def test_make_plan_on_the_dummy_data(layout, manifest):
  report = report_lib.BuildReport()
  plan = generate.make_plan(layouts.find_reader(DUMMY / layout), generate.Options(), report)
  val_images = [i for i in manifest['images'] if i['val_index'] is not None]
  assert plan.val_labels == {i['val_index']: i['wnid'] for i in val_images}
  assert plan.blacklist == {i['val_index'] for i in val_images if i['blacklisted']}
  assert len(plan.val_split_names('test_blacklisted')) == manifest['counts']['num_val_blacklisted']
  assert report.counts[report_lib.VAL_READ] == manifest['counts']['num_val_images']
  assert plan.class_names == manifest['class_names']


def test_kept_image_keeps_its_bytes_and_gets_boxes():
  data = _image()
  source = ImageSource(f'{TENCH}_1.JPEG', 'origin', lambda: data)
  outcome = generate.make_example(
      source, TENCH, RawFile('a.xml', 'a', _xml(TENCH)), False, report_lib.TRAIN_SKIPPED
  )
  assert outcome.key == f'{TENCH}_1.JPEG' and outcome.skipped is None
  example = outcome.example
  assert example is not None
  assert example['image'] == data
  assert (example['label'], example['file_name']) == (TENCH, f'{TENCH}_1.JPEG')
  np.testing.assert_allclose(example['bboxes'], [[0.1, 0.1, 0.5, 0.5]])
  assert outcome.counts[report_lib.ANNOTATIONS_USED] == 1
  assert outcome.counts[report_lib.BOXES_KEPT] == 1
  assert not any(k.startswith(report_lib.REENCODED_PREFIX) for k in outcome.counts)


def test_an_image_stored_unchanged_keeps_its_span_a_reencoded_one_does_not():
  span = Span('/data/ILSVRC2012_img_train.tar', 12345)
  data = _image()
  kept = generate.make_example(
      ImageSource('a.JPEG', 'origin', lambda: data, None, span),
      TENCH, None, False, report_lib.TRAIN_SKIPPED,
  )
  assert kept.span == span
  reencoded = generate.make_example(
      ImageSource('b.JPEG', 'origin', lambda: _image('PNG'), None, span),
      TENCH, None, False, report_lib.TRAIN_SKIPPED,
  )
  assert reencoded.span is None
  resized = generate.make_example(
      ImageSource('c.JPEG', 'origin', lambda: data, None, span),
      TENCH, None, False, report_lib.TRAIN_SKIPPED, images.ResizeOptions(16, 90),
  )
  assert resized.counts[report_lib.RESIZED] == 1 and resized.span is None


def test_image_without_annotation_has_no_boxes_and_png_is_reencoded():
  source = ImageSource('a.JPEG', 'origin', lambda: _image('PNG'))
  outcome = generate.make_example(source, TENCH, None, False, report_lib.TRAIN_SKIPPED)
  assert outcome.example is not None
  assert outcome.example['bboxes'].shape == (0, 4)
  assert outcome.example['image'][:2] == b'\xff\xd8'
  assert outcome.counts == {report_lib.REENCODED_PREFIX + images.Fix.NOT_JPEG.value: 1}


def test_bad_image_raises_unless_skipped_then_is_counted():
  source = ImageSource('bad.JPEG', 'fake/bad.JPEG', lambda: b'not an image')
  with pytest.raises(BadFileError, match='fake/bad.JPEG'):
    generate.make_example(source, TENCH, None, False, report_lib.VAL_SKIPPED)
  outcome = generate.make_example(source, TENCH, None, True, report_lib.VAL_SKIPPED)
  assert outcome.example is None
  assert outcome.counts == {report_lib.VAL_SKIPPED: 1}
  assert outcome.skipped is not None
  assert outcome.skipped[0] == 'fake/bad.JPEG'
  report = report_lib.BuildReport()
  generate.tally_outcome(outcome, 'test', report)
  assert dict(report.counts) == {report_lib.VAL_SKIPPED: 1}
  assert report.skipped == [f'fake/bad.JPEG: {outcome.skipped[1]}']


def _bogus_huffman_table() -> bytes:
  """A JPEG whose headers and end marker pass the content check, but whose
  Huffman table is bogus: it fails only when decoded."""
  buffer = io.BytesIO()
  pixels = np.random.default_rng(0).integers(0, 255, (400, 600, 3), dtype=np.uint8)
  Image.fromarray(pixels).save(buffer, 'JPEG', quality=90)
  data = bytearray(buffer.getvalue())
  table = data.index(b'\xff\xc4')
  data[table + 5 : table + 21] = b'\xff' * 16  # Code counts per length.
  return bytes(data)


def test_an_image_that_fails_to_decode_when_resized_is_a_bad_file():
  data = _bogus_huffman_table()
  assert images.prepare_image(data, 'x').fix is images.Fix.KEPT
  source = ImageSource('a.JPEG', 'in.tar:a.JPEG', lambda: data)
  resize = images.ResizeOptions(256, 90)
  with pytest.raises(BadFileError, match='in.tar:a.JPEG: image does not decode to resize'):
    generate.make_example(source, TENCH, None, False, report_lib.TRAIN_SKIPPED, resize)
  skipped = generate.make_example(source, TENCH, None, True, report_lib.TRAIN_SKIPPED, resize)
  assert skipped.example is None and skipped.counts == {report_lib.TRAIN_SKIPPED: 1}
  assert skipped.skipped is not None and skipped.skipped[0] == 'in.tar:a.JPEG'


def test_bad_annotation_raises_unless_skipped_then_the_image_is_kept():
  source = ImageSource('a.JPEG', 'origin', _image)
  broken = RawFile('a.xml', 'fake/a.xml', b'<annotation')
  with pytest.raises(BadFileError, match='fake/a.xml'):
    generate.make_example(source, TENCH, broken, False, report_lib.TRAIN_SKIPPED)
  outcome = generate.make_example(source, TENCH, broken, True, report_lib.TRAIN_SKIPPED)
  assert outcome.example is not None and outcome.skipped is not None
  assert outcome.example['bboxes'].shape == (0, 4)
  assert outcome.counts == {report_lib.ANNOTATIONS_SKIPPED: 1}
  assert outcome.skipped[0] == 'fake/a.xml'


def test_class_examples_split_by_hash_and_read_only_their_images():
  reader = _fake()
  options = generate.Options(validation_fraction=0.3, split_seed='s')
  plan = generate.make_plan(reader, options, report_lib.BuildReport())
  names = list(reader.train[TENCH])
  expected_validation = splits.select_validation(names, 0.3, 's')
  report = report_lib.BuildReport()
  train = dict(generate.keyed_examples(generate.class_outcomes(plan, TENCH, 'train', report)))
  assert reader.read == [n for n in names if n not in expected_validation]
  reader.read.clear()
  validation = dict(generate.keyed_examples(generate.class_outcomes(plan, TENCH, 'validation', report)))
  assert reader.read == [n for n in names if n in expected_validation]
  assert set(validation) == expected_validation and len(validation) == 3
  assert set(train) | set(validation) == set(names)
  assert all(example['label'] == TENCH for example in train.values())
  # Only the train pass accounts for the class's images.
  assert report.counts[report_lib.TRAIN_READ] == 10
  assert report.written('train') == 7 and report.written('validation') == 3
  assert not report.imbalances()


def test_class_examples_skip_bad_images_when_asked():
  jpeg = _image()
  train = {TENCH: {f'{TENCH}_{i}.JPEG': jpeg for i in range(1, 5)}}
  train[TENCH][f'{TENCH}_2.JPEG'] = b'broken'
  reader = _fake(train=train)
  plan = generate.make_plan(
      reader, generate.Options(0.0, 's', skip_bad_files=True), report_lib.BuildReport()
  )
  report = report_lib.BuildReport()
  written = dict(generate.keyed_examples(generate.class_outcomes(plan, TENCH, 'train', report)))
  assert sorted(written) == [f'{TENCH}_{i}.JPEG' for i in (1, 3, 4)]
  assert report.counts[report_lib.TRAIN_SKIPPED] == 1
  assert report.skipped[0].startswith(f'fake/{TENCH}/{TENCH}_2.JPEG: ')
  assert not report.imbalances()


def test_options_from_config_reads_each_field_by_name():
  config = imagenet_custom.ImagenetCustomConfig(
      name='custom', validation_fraction=0.1, split_seed='x', skip_bad_files=True,
      num_threads=3, shorter_side=256, jpeg_quality=80,
  )
  assert generate.Options.from_config(config) == generate.Options(
      0.1, 'x', True, images.ResizeOptions(256, 80)
  )
  # One home for the defaults: the config's are the options'.
  default = imagenet_custom.ImagenetCustomConfig(name='default')
  assert generate.Options.from_config(default) == generate.Options()


@dataclasses.dataclass
class _RenamedConfig:
  """A config whose `validation_fraction` was renamed: it must not be defaulted."""

  name: str = 'renamed'
  validation_share: float = 0.5
  split_seed: str = 'x'
  skip_bad_files: bool = False
  shorter_side: int = 0
  jpeg_quality: int = 90


def test_options_from_a_config_with_a_renamed_field_fail_loudly():
  with pytest.raises(AttributeError, match='validation_fraction'):
    generate.Options.from_config(_RenamedConfig())


def test_options_from_config_check_the_resize_fields():
  config = imagenet_custom.ImagenetCustomConfig(name='tiny', shorter_side=-1)
  with pytest.raises(InputError, match="Config 'tiny': "):
    generate.Options.from_config(config)


def _package_imports(module: str) -> set[str]:
  """Modules imported at module level by `module` and, within the package, by those."""
  seen, todo, found = set(), [module], set()
  while todo:
    name = todo.pop()
    if name in seen:
      continue
    seen.add(name)
    relative = name.split('.')[1:]
    path = PACKAGE.joinpath(*relative).with_suffix('.py')
    if not path.exists():
      path = PACKAGE.joinpath(*relative, '__init__.py')
    for node in ast.parse(path.read_text()).body:
      if isinstance(node, ast.Import):
        imported = [alias.name for alias in node.names]
      elif isinstance(node, ast.ImportFrom):
        module = node.module or ''
        imported = [module] + [f'{module}.{a.name}' for a in node.names]
      else:
        continue
      for name_imported in imported:
        found.add(name_imported)
        if name_imported.startswith('imagenet_custom.'):
          candidate = PACKAGE.joinpath(*name_imported.split('.')[1:])
          if candidate.with_suffix('.py').exists() or (candidate / '__init__.py').exists():
            todo.append(name_imported)
  return found


@pytest.mark.parametrize(
    'module, imported_indirectly',
    [
        ('imagenet_custom.build.generate', 'lxml'),  # Through annotations.
        ('imagenet_custom.layouts', 'imagenet_custom.archives.tario'),  # Through archives.
    ],
)
def test_generation_imports_neither_tensorflow_nor_tfds(module, imported_indirectly):
  # Worker processes unpickle plans and options without loading TensorFlow.
  imported = _package_imports(module)
  assert imported_indirectly in imported  # The walk follows package imports.
  heavy = {
      name for name in imported
      if name.split('.')[0] in ('tensorflow', 'tensorflow_datasets', 'apache_beam')
  }
  assert not heavy


class _ValAnnotations:
  """Just what `parse_val_annotations` asks of a reader."""

  def __init__(self, raw: dict[int, RawFile]):
    self._raw = raw

  def val_annotations(self) -> dict[int, RawFile]:
    return self._raw


_GOOD_XML = (
    b'<annotation><size><width>100</width><height>50</height></size>'
    b'<object><name>n01440764</name><bndbox><xmin>1</xmin><ymin>2</ymin>'
    b'<xmax>30</xmax><ymax>40</ymax></bndbox></object></annotation>'
)


def test_val_annotations_are_parsed_and_bad_ones_raise_or_are_skipped():
  reader = cast(Reader, _ValAnnotations({
      1: RawFile('ILSVRC2012_val_00000001.xml', 'val/1.xml', _GOOD_XML),
      2: RawFile('ILSVRC2012_val_00000002.xml', 'val/2.xml', b'<annotation'),
  }))
  with pytest.raises(BadFileError, match='val/2.xml'):
    generate.parse_val_annotations(reader, False, report_lib.BuildReport())
  report = report_lib.BuildReport()
  parsed = generate.parse_val_annotations(reader, True, report)
  assert list(parsed) == [1]
  assert parsed[1].objects == (annotations_lib.RawBox('n01440764', 1, 2, 30, 40),)
  assert report.counts[report_lib.ANNOTATIONS_SKIPPED] == 1
  assert len(report.skipped) == 1 and report.skipped[0].startswith('val/2.xml: ')


def test_skip_or_raise_records_or_reraises():
  error = BadFileError('in.tar:a.JPEG', 'JPEG does not decode')
  assert report_lib.skip_or_raise(error, True) == ('in.tar:a.JPEG', 'JPEG does not decode')
  with pytest.raises(BadFileError, match='in.tar:a.JPEG: JPEG does not decode') as raised:
    report_lib.skip_or_raise(error, False)
  assert raised.value is error


def test_the_plain_and_beam_builds_share_one_val_task_size():
  from imagenet_custom.build import beam_generate  # pylint: disable=g-import-not-at-top
  from imagenet_custom.build import parallel_build  # pylint: disable=g-import-not-at-top

  assert parallel_build.VAL_TASK_SIZE is generate.VAL_TASK_SIZE
  assert not hasattr(beam_generate, 'VAL_CHUNK')
