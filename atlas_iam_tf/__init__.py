"""atlasiam: passwordless AWS IAM access to MongoDB Atlas, provisioned and proven."""

__version__ = "0.1.0"
