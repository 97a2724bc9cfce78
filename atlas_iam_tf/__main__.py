"""``python -m atlas_iam_tf``."""

from atlas_iam_tf.cli import entrypoint

entrypoint()
