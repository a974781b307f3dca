"""The default models shipped inside the package, one ONNX file per sequence: `<sequence lower>.onnx`.

They let `enhance` and `serve` work with no model argument. Each carries its contract; its model card
(`<sequence lower>.md`) says how it was trained and how well it does.
"""

from __future__ import annotations

from pathlib import Path

from lohires_edge.errors import LohiresError

MODELS_DIR = Path(__file__).parent


def default_model_path(sequence: str) -> Path:
    """The shipped model for `sequence` (T1, T2 or FLAIR); a LohiresError if none is shipped."""
    path = MODELS_DIR / f"{sequence.lower()}.onnx"
    if not path.is_file():
        shipped = sorted(p.stem.upper() for p in MODELS_DIR.glob("*.onnx"))
        raise LohiresError(f"no default model is shipped for {sequence} (shipped: {', '.join(shipped) or 'none'}); "
                           "pass an ONNX model explicitly (--model, or `path` in the config's [[models]])")
    return path
