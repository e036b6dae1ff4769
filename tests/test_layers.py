"""The package's layers: imports point only down, and the lower layers never
import TensorFlow.

The layers, bottom up (docs/architecture.md draws them):
  archives  -> ilsvrc -> layouts -> build -> tfds_glue -> tools and testing
  -> the Builder, `pipeline` and the `python -m` entry points at the top.
`imagenet_custom/errors.py` is the ground every layer may import.
"""

from __future__ import annotations

import ast
import pathlib

import pytest

from builds import REPO

PACKAGE = REPO / 'imagenet_custom'
# Bottom first; a module may import its own layer and those before it.
LAYERS = ('errors', 'archives', 'ilsvrc', 'layouts', 'build', 'tfds_glue', 'tools', 'testing', 'top')
# Layers a worker process imports: no TensorFlow, no TFDS.
WITHOUT_TENSORFLOW = ('errors', 'archives', 'ilsvrc', 'layouts', 'build')
TENSORFLOW_ROOTS = {'tensorflow', 'tensorflow_datasets', 'tf_keras', 'keras'}


def _layer_of(module: str) -> str:
  """The layer of a dotted module name under `imagenet_custom`."""
  parts = module.split('.')
  assert parts[0] == 'imagenet_custom', module
  if len(parts) == 1:
    return 'top'
  if parts[1] in LAYERS:
    return parts[1]
  return 'top'


def _module_name(path: pathlib.Path) -> str:
  relative = path.relative_to(REPO).with_suffix('')
  parts = list(relative.parts)
  if parts[-1] == '__init__':
    parts.pop()
  return '.'.join(parts)


def _imports(path: pathlib.Path) -> list[str]:
  """Every module `path` imports (absolute names), at any depth of its code."""
  tree = ast.parse(path.read_text(), str(path))
  names: list[str] = []
  for node in ast.walk(tree):
    if isinstance(node, ast.Import):
      names.extend(alias.name for alias in node.names)
    elif isinstance(node, ast.ImportFrom):
      assert node.level == 0, f'{path}: relative import; use absolute imports'
      assert node.module is not None
      if node.module == 'imagenet_custom':
        # `from imagenet_custom import layouts` imports the layer, not the top.
        names.extend(f'imagenet_custom.{alias.name}' for alias in node.names)
      else:
        names.append(node.module)
  return names


def _package_modules() -> list[pathlib.Path]:
  return sorted(PACKAGE.rglob('*.py'))


def test_every_package_module_belongs_to_a_known_layer():
  folders = {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / '__init__.py').exists()}
  # `pipeline/` (the training-side input pipelines) is part of the top.
  assert folders == set(LAYERS) - {'errors', 'top'} | {'pipeline'}
  loose = {p.name for p in PACKAGE.glob('*.py')}
  # The ground, the Builder and the entry points of the tools
  # (`python -m imagenet_custom.<tool>`).
  assert loose == {
      '__init__.py', 'errors.py', 'imagenet_custom_dataset_builder.py',
      'check.py', 'evaluate.py', 'export.py', 'labels.py', 'show.py', 'summary.py',
  }


def _layer_index(module: str) -> int:
  layer = _layer_of(module)
  if module == 'imagenet_custom.errors':
    layer = 'errors'
  return LAYERS.index(layer)


@pytest.mark.parametrize('path', _package_modules(), ids=lambda p: str(p.relative_to(REPO)))
def test_imports_point_down_the_layers(path: pathlib.Path):
  module = _module_name(path)
  own = _layer_index(module)
  upward = []
  for name in _imports(path):
    if name.split('.')[0] == 'imagenet_custom' and _layer_index(name) > own:
      upward.append(name)
  assert not upward, f'{module} ({LAYERS[own]}) imports from a higher layer: {upward}'


@pytest.mark.parametrize(
    'path',
    [p for p in _package_modules() if LAYERS[_layer_index(_module_name(p))] in WITHOUT_TENSORFLOW],
    ids=lambda p: str(p.relative_to(REPO)),
)
def test_lower_layers_never_import_tensorflow(path: pathlib.Path):
  roots = {name.split('.')[0] for name in _imports(path)}
  assert not roots & TENSORFLOW_ROOTS, f'{path.relative_to(REPO)} imports {roots & TENSORFLOW_ROOTS}'


def test_the_check_sees_an_upward_import(tmp_path: pathlib.Path):
  """The rule above is not vacuous: an upward import and TensorFlow are found.

  (`tests/test_worker_main.py` starts a real worker and checks it loads no
  TensorFlow.)
  """
  bad = tmp_path / 'bad.py'
  bad.write_text('from imagenet_custom.build import generate\nimport tensorflow as tf\n')
  names = _imports(bad)
  assert _layer_index(names[0]) > LAYERS.index('ilsvrc')
  assert {n.split('.')[0] for n in names} & TENSORFLOW_ROOTS == {'tensorflow'}

