"""User tools over a manual dir or a built dataset: `check` (before a build),
`labels` (the label map), `show` (draws examples), `summary` (after a build).
Each is run as `python -m imagenet_custom.<tool>`. May import every layer below.
"""
