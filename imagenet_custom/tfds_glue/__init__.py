"""The TFDS side of the build: what the Builder's callbacks share and the
patches of TFDS internals, each checked against the TFDS release it was
written for before it is applied. The only layer below the Builder that
imports TFDS. May import `build`, `layouts`, `ilsvrc`, `archives` and
`imagenet_custom.errors`.
"""
