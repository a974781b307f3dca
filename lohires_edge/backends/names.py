"""The names of the inference backends, light enough for the node's configuration to import.

`selection.py` decides which backend runs; importing it loads ONNX Runtime, so the names live here.
"""

BACKENDS = ("auto", "onnxruntime", "tensorrt")
