"""lohires-edge: the edge half of LoHiResGAN, from an ONNX model to a DICOM node beside a 64 mT scanner.

Everything in this package runs on the edge box, which has no TensorFlow: it must never be imported here.
"""

__version__ = "0.1.0"
