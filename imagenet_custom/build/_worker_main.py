"""Entry point of a build worker process; started by `imagenet_custom.build.workers`.

Run as a file, not with `-m`: `-m imagenet_custom...` would run the package's
`__init__`, which imports TFDS and TensorFlow to register the builder. A
worker needs only the generation modules, so the package is set up here from
its spec without running `__init__`, and those modules are imported from it.
"""

import importlib.util
import os
import sys


def _package_without_init() -> None:
  # This file is in `imagenet_custom/build/`: the package is its parent's folder.
  package_dir = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
  spec = importlib.util.spec_from_file_location(
      'imagenet_custom',
      os.path.join(package_dir, '__init__.py'),
      submodule_search_locations=[package_dir],
  )
  assert spec is not None
  sys.modules['imagenet_custom'] = importlib.util.module_from_spec(spec)


if __name__ == '__main__':
  # Python put this file's folder first on the path; its modules are only
  # meant to be imported as `imagenet_custom.*`.
  del sys.path[0]
  _package_without_init()
  from imagenet_custom.build import workers  # pylint: disable=g-import-not-at-top

  # The protocol owns the original stdout; anything printed goes to stderr.
  protocol_out = os.fdopen(os.dup(1), 'wb')
  os.dup2(2, 1)
  workers.serve(sys.stdin.buffer, protocol_out)
