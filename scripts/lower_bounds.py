"""Prints pip constraints that pin each requirement to its lower bound.

  python scripts/lower_bounds.py [setup.cfg] > lowest.txt
  pip install -c lowest.txt dist/imagenet_custom-*.whl
  python scripts/lower_bounds.py --range tensorflow   # prints `tensorflow>=2.18,<3`
  python scripts/lower_bounds.py --capped             # in an installed venv

CI's lowest stage (scripts/smoke.sh lowest) installs the package with these
constraints: every direct requirement at the lowest release its range allows,
the rest resolved by pip. A requirement without a lower bound is an error, so
that no range goes untested at its low end.

CI's newest stage resolves the ranges fresh and then runs `--capped`: it fails
when an installed distribution caps one of our requirements below our own
upper bound (apache-beam 2.77 asks for `pillow<13`: a `pillow<14` would then
never be installed, so never tested, at its top), naming the bound to lower.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable
import configparser
import importlib.metadata
import pathlib
import re
import sys
from typing import Any

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


def _upper(specifiers: Iterable[tuple[str, str]]) -> tuple[Any, str] | None:
  """The lowest upper bound among `(operator, version)` pairs, and its text."""
  from packaging.version import Version  # pylint: disable=g-import-not-at-top

  bounds = [
      (Version(version), f'{operator}{version}')
      for operator, version in specifiers if operator in ('<', '<=', '==')
      and '*' not in version
  ]
  return min(bounds, key=lambda bound: bound[0]) if bounds else None


def capped(
    requirements: list[str], installed: Iterable[tuple[str, str, list[str]]]
) -> list[str]:
  """Our upper bounds that an installed distribution caps lower.

  Args:
    requirements: our `install_requires` lines.
    installed: `(name, version, requires_dist lines)` of each installed
      distribution (ours is left out by name).

  Returns:
    One line per capped bound, saying which distribution caps it and what to
    write instead; empty when the newest releases our ranges allow can be
    installed together.
  """
  from packaging.requirements import Requirement  # pylint: disable=g-import-not-at-top
  from packaging.utils import canonicalize_name  # pylint: disable=g-import-not-at-top

  ours = {}
  for line in requirements:
    requirement = Requirement(line)
    upper = _upper((s.operator, s.version) for s in requirement.specifier)
    if upper is not None:
      ours[canonicalize_name(requirement.name)] = (str(requirement), upper)
  problems = []
  for name, version, requires in installed:
    if canonicalize_name(name) == 'imagenet-custom':
      continue
    for line in requires:
      theirs = Requirement(line)
      if canonicalize_name(theirs.name) not in ours:
        continue
      if theirs.marker is not None and not theirs.marker.evaluate({'extra': ''}):
        continue
      mine, (my_bound, _) = ours[canonicalize_name(theirs.name)]
      cap = _upper((s.operator, s.version) for s in theirs.specifier)
      if cap is not None and cap[0] < my_bound:
        problems.append(
            f'{mine}: {name} {version} requires {theirs.name}{theirs.specifier}, so'
            f' the top of the range is never installed (never tested); make the'
            f' bound {cap[1]}.'
        )
  return problems


def _installed() -> list[tuple[str, str, list[str]]]:
  return [
      (d.metadata['Name'], d.version, d.requires or [])
      for d in importlib.metadata.distributions()
  ]


def main() -> int:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('setup_cfg', nargs='?', default='setup.cfg')
  parser.add_argument(
      '--range', metavar='NAME',
      help='print the requirement (name and range) of this distribution instead',
  )
  parser.add_argument(
      '--capped', action='store_true',
      help='fail when an installed distribution caps an upper bound lower',
  )
  args = parser.parse_args()
  requirements = install_requires(pathlib.Path(args.setup_cfg))
  if args.capped:
    problems = capped(requirements, _installed())
    for problem in problems:
      print(f'{args.setup_cfg}: {problem}', file=sys.stderr)
    return 1 if problems else 0
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
