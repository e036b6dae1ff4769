"""imagenet_custom: ImageNet (ILSVRC2012) as a TFDS dataset, from your own download.

Importing the package registers the `imagenet_custom` builder with TFDS, so
`tfds build imagenet_custom --imports imagenet_custom` works once installed
and `tfds.builder('imagenet_custom')` finds it after `import imagenet_custom`.

The registration waits for TFDS: when `tensorflow_datasets` is already
imported, the builder is defined now; otherwise it is defined right after
`tensorflow_datasets` is first imported (a one-shot import hook,
`_RegisterAfterTfds`), or when `imagenet_custom.Builder` is first used. So
the tools that need no TFDS (`python -m imagenet_custom.export`, `.labels`,
the pure modules) start without importing it (~1.3 s).
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import types
from typing import Any
import warnings

_TFDS = 'tensorflow_datasets'
_BUILDER_MODULE = 'imagenet_custom.imagenet_custom_dataset_builder'

__all__ = ['Builder', 'ImagenetCustomConfig']


def _register() -> types.ModuleType:
  """Defines (and so registers) the builder; returns its module."""
  return importlib.import_module(_BUILDER_MODULE)


class _RegisterAfterTfds(importlib.abc.MetaPathFinder):
  """Registers the builder as soon as `tensorflow_datasets` has been imported."""

  def find_spec(self, fullname: str, path: Any, target: Any = None) -> importlib.machinery.ModuleSpec | None:
    if fullname != _TFDS:
      return None
    sys.meta_path.remove(self)
    spec = None
    for finder in sys.meta_path:
      find = getattr(finder, 'find_spec', None)
      spec = find(fullname, path, target) if find else None
      if spec is not None:
        break
    if spec is not None and hasattr(spec.loader, 'exec_module'):
      spec.loader = _ThenRegister(spec.loader)
    return spec


class _ThenRegister:
  """A module's own loader, then the registration.

  The module gets its own loader back before it runs (`__loader__`,
  `__spec__.loader`), so its resource lookups see what they would without
  this hook; only `exec_module` is added to.
  """

  def __init__(self, loader: Any):
    self._loader = loader

  def __getattr__(self, name: str) -> Any:
    return getattr(self._loader, name)

  def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType | None:
    return self._loader.create_module(spec)

  def exec_module(self, module: types.ModuleType) -> None:
    module.__loader__ = self._loader
    if module.__spec__ is not None:
      module.__spec__.loader = self._loader
    self._loader.exec_module(module)
    try:
      _register()
    except Exception as e:  # pylint: disable=broad-exception-caught
      # TFDS itself imported fine: its importer must not fail for this
      # package. The error is raised again where the builder is used.
      warnings.warn(f'imagenet_custom: the builder is not registered with TFDS: {e!r}', stacklevel=2)


if _TFDS in sys.modules:
  _register()
elif not any(isinstance(finder, _RegisterAfterTfds) for finder in sys.meta_path):
  sys.meta_path.insert(0, _RegisterAfterTfds())


def __getattr__(name: str) -> Any:
  if name in __all__:
    return getattr(_register(), name)
  raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
