"""Per-image CPU time of functions over a set of inputs, best of interleaved passes."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
import gc
import time
from typing import Any


def best_ms_per_item(
    functions: Mapping[str, Callable[[Any], Any]],
    inputs: Mapping[str, Sequence[Any]],
    passes: int,
) -> dict[str, float]:
  """The CPU time per input of each function, best of `passes`.

  Each pass runs every function once over all its inputs, in an order that
  starts one function further along each pass, so that a slow spell of other
  load on the machine is shared out. CPU time (`time.process_time`) of this
  process counts only its own work; the best pass is the least disturbed
  (caches, frequency, preemption), as `timeit` takes the minimum. The
  garbage collector is off while timing.

  Args:
    functions: name to a function of one input.
    inputs: name to that function's inputs (each already made).
    passes: passes over every function.

  Returns:
    Name to milliseconds per input.
  """
  names = list(functions)
  best = {name: float('inf') for name in names}
  enabled = gc.isenabled()
  gc.disable()
  try:
    for number in range(passes):
      start = number % len(names) if names else 0
      for name in names[start:] + names[:start]:
        function, items = functions[name], inputs[name]
        began = time.process_time()
        for item in items:
          function(item)
        elapsed = time.process_time() - began
        best[name] = min(best[name], elapsed)
      gc.collect()
  finally:
    if enabled:
      gc.enable()
  return {name: 1000.0 * best[name] / max(1, len(inputs[name])) for name in names}
