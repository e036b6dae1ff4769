"""Importing the package registers the builder with TFDS, whichever is imported first.

Each case runs in a fresh interpreter: the registration depends on what was
imported before.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest


def _run(code: str) -> str:
  done = subprocess.run(
      [sys.executable, '-c', textwrap.dedent(code)],
      capture_output=True, text=True, check=False, timeout=300,
  )
  assert done.returncode == 0, done.stderr[-3000:]
  return done.stdout.strip()


@pytest.mark.parametrize('order', ['imagenet_custom first', 'tfds first'])
def test_the_builder_is_registered_in_either_import_order(order):
  imports = (
      'import imagenet_custom\nimport tensorflow_datasets as tfds\n'
      if order == 'imagenet_custom first'
      else 'import tensorflow_datasets as tfds\nimport imagenet_custom\n'
  )
  out = _run(imports + textwrap.dedent('''
      builder = tfds.builder('imagenet_custom')
      print(type(builder).__module__, builder.info.features['label'].num_classes)
  '''))
  assert out == 'imagenet_custom.imagenet_custom_dataset_builder 1000'


def test_importing_the_package_alone_does_not_import_tfds():
  out = _run('''
      import sys
      import imagenet_custom
      from imagenet_custom.tools.export import cli
      print('tensorflow_datasets' in sys.modules, 'tensorflow' in sys.modules)
  ''')
  assert out == 'False False'


def test_the_export_command_starts_without_tfds():
  out = _run('''
      import runpy, sys
      sys.argv = ['imagenet_custom.export', '--help']
      try:
        runpy.run_module('imagenet_custom.export', run_name='__main__', alter_sys=True)
      except SystemExit:
        pass
      print('tensorflow_datasets' in sys.modules)
  ''')
  assert out.endswith('False')
  assert 'folders' in out


def test_builder_attributes_define_the_builder_on_first_use():
  out = _run('''
      import sys
      import imagenet_custom
      config = imagenet_custom.ImagenetCustomConfig(name='x')
      print(imagenet_custom.Builder.name, type(config).__name__, 'tensorflow_datasets' in sys.modules)
  ''')
  assert out == 'imagenet_custom ImagenetCustomConfig True'


def test_tfds_keeps_its_own_loader_and_resources():
  # The hook wraps TFDS's loader only while TFDS runs; its resource files
  # (read through the loader) must still be found.
  out = _run('''
      import importlib.resources
      import imagenet_custom
      import tensorflow_datasets as tfds
      print(type(tfds.__loader__).__name__, type(tfds.__spec__.loader).__name__,
            importlib.resources.files('tensorflow_datasets').joinpath('core').is_dir())
  ''')
  assert out == 'SourceFileLoader SourceFileLoader True'


def test_unknown_attributes_are_attribute_errors():
  import imagenet_custom  # pylint: disable=import-outside-toplevel

  misspelt = 'Buildr'
  with pytest.raises(AttributeError, match="has no attribute 'Buildr'"):
    getattr(imagenet_custom, misspelt)


def test_a_builder_that_fails_to_import_does_not_break_importing_tfds():
  out = _run('''
      import sys, warnings
      import imagenet_custom
      sys.modules['imagenet_custom.imagenet_custom_dataset_builder'] = None  # Its import now fails.
      with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        import tensorflow_datasets
      print([str(w.message).split(':', 1)[0] for w in caught if 'imagenet_custom' in str(w.message)])
      try:
        imagenet_custom.Builder
      except ImportError as e:
        print('ImportError')
  ''')
  assert out.splitlines()[-2:] == ["['imagenet_custom']", 'ImportError']
