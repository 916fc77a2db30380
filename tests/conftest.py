import os

# Tests never reach a model hub: tiny models are built from configs.
os.environ.setdefault("HF_HUB_OFFLINE", "1")

pytest_plugins = ["tests.fixtures.s3", "tests.fixtures.postgres", "tests.fixtures.hub", "tests.fixtures.replicas"]
