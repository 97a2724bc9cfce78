"""atlasiam-sandbox: an offline AWS + Atlas cloud on 127.0.0.1 that proves atlasiam without an account.

Its one contract with atlasiam is the environment (``atlasiam-sandbox env``): standard settings such as
``AWS_ENDPOINT_URL*``, ``MONGODB_ATLAS_BASE_URL``, ``SSL_CERT_FILE`` and ``TF_CLI_CONFIG_FILE``.
"""

__version__ = "0.1.0"
