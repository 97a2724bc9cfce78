"""``python -m atlas_iam_tf``."""

from atlas_iam_tf.entry import entrypoint

entrypoint()
