"""The build engine: the plan, one example from one image, the worker pool and
its tasks, the spill, example serialisation, progress, the build report, the
Beam build and the patch of Beam's Dask runner. May import `layouts`,
`ilsvrc`, `archives` and `imagenet_custom.errors`; never TensorFlow or TFDS
(worker processes import these modules).
"""
