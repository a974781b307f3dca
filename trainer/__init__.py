"""trainer: the workstation half of LoHiResGAN: simulate pairs, train, evaluate, export to ONNX.

TensorFlow is imported only by the modules that need it, so `lohires-train simulate` and `--help`
start fast and work without the `train` extra.
"""
