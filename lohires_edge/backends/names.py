"""The backend names a user can ask for: one list for the CLI, the node's config and the selection itself.

A module of its own, with no runtime behind it, so that reading a config does not import ONNX Runtime.
"""

BACKENDS = ("auto", "onnxruntime", "tensorrt")
ALL_BACKENDS = "all"  # `bench` only: measure every backend available here
