"""Prints pip constraints that pin each requirement to its lower bound.

  python scripts/lower_bounds.py [setup.cfg] > lowest.txt
  pip install -c lowest.txt dist/imagenet_custom-*.whl
  python scripts/lower_bounds.py --range tensorflow   # prints `tensorflow>=2.18,<3`

CI's lowest stage (scripts/smoke.sh lowest) installs the package with these
constraints: every direct requirement at the lowest release its range allows,
the rest resolved by pip. A requirement without a lower bound is an error, so
that no range goes untested at its low end.
"""

from __future__ import annotations

import argparse
import configparser
import pathlib
import re
import sys

# `name[extras]>=1.2,<3` -> name, extras, specifiers (environment markers and
# comments are not used in our install_requires).
_REQUIREMENT = re.compile(r'^([A-Za-z0-9_.-]+)(\[[^\]]*\])?\s*(.*)$')


def install_requires(setup_cfg: pathlib.Path) -> list[str]:
  """The `install_requires` lines of a setup.cfg.

  Args:
    setup_cfg: path of the file.

  Returns:
    Its requirements, one string each, comment lines left out.
  """
  config = configparser.ConfigParser()
  config.read(setup_cfg)
  lines = config['options']['install_requires'].splitlines()
  return [line.strip() for line in lines if line.strip() and not line.strip().startswith('#')]


def lower_bound(requirement: str) -> str:
  """A constraint pinning one requirement to its lower bound.

  Args:
    requirement: e.g. `etils[epath]>=1.6,<2`.

  Returns:
    e.g. `etils==1.6`.

  Raises:
    ValueError: when the requirement has no `>=` bound.
  """
  match = _REQUIREMENT.match(requirement)
  if not match:
    raise ValueError(f'setup.cfg: cannot parse requirement {requirement!r}')
  name, _, specifiers = match.groups()
  for specifier in specifiers.split(','):
    specifier = specifier.strip()
    if specifier.startswith('>='):
      return f'{name}=={specifier[2:].strip()}'
  raise ValueError(
      f'setup.cfg: requirement {requirement!r} has no lower bound (>=):'
      ' give it the lowest release that is known to work.'
  )


def main() -> int:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('setup_cfg', nargs='?', default='setup.cfg')
  parser.add_argument(
      '--range', metavar='NAME',
      help='print the requirement (name and range) of this distribution instead',
  )
  args = parser.parse_args()
  requirements = install_requires(pathlib.Path(args.setup_cfg))
  if args.range:
    named = [r for r in requirements if _REQUIREMENT.match(r).group(1) == args.range]
    if not named:
      print(f'{args.setup_cfg}: no requirement named {args.range!r}', file=sys.stderr)
      return 1
    print(named[0])
    return 0
  for requirement in requirements:
    print(lower_bound(requirement))
  return 0


if __name__ == '__main__':
  sys.exit(main())
