"""The real anatomy every simulated subject starts from: the MNI ICBM152 2009 template at 1 mm.

nilearn's wheel bundles the nonlinear symmetric 2009a template (the skull-stripped T1 and the grey- and
white-matter probability maps). We read those files with nibabel from where the wheel put them, without
importing nilearn (which pulls in scikit-learn and pandas for nothing we use). Licence: see
docs/simulator.md, "Anatomy", which carries the template's copyright notice.

From the maps:
- brain = the T1's non-zero voxels (the template is skull-stripped); CSF inside it = brain minus grey and
  white matter (ventricles and sulci);
- the brain envelope = the brain mask smoothed over a few millimetres (it bridges the sulci, as the inner
  table of the skull does), and the signed distance to it in mm, from which `anatomy.py` grows the
  subarachnoid CSF, skull and scalp of each subject.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import nibabel as nib
import numpy as np
from scipy.ndimage import distance_transform_edt, gaussian_filter

from lohires_edge.errors import LohiresError

TEMPLATE_NAME = "MNI ICBM152 2009a nonlinear symmetric (1 mm), as bundled by nilearn"
_FILE = "mni_icbm152_{}_tal_nlin_sym_09a_converted.nii.gz"
ENVELOPE_SMOOTHING_MM = 4.0  # bridges sulci up to ~8 mm wide: the inner skull table follows the gyral crowns
ENVELOPE_LEVEL = 0.3
PAD_MM = 12  # room past the template box (it already has ~28 mm beside the brain) for skull and scalp


@dataclass(frozen=True)
class Template:
    """Tissue maps on the (padded) template grid, float32 in [0, 1], and the signed envelope distance."""

    white: np.ndarray
    grey: np.ndarray
    csf: np.ndarray  # inside the brain mask only
    envelope_mm: np.ndarray  # signed distance to the brain envelope, mm: negative inside
    affine: np.ndarray  # voxel -> MNI RAS mm


def template_folder() -> Path:
    """Where nilearn's wheel keeps its bundled data files (nilearn is not imported)."""
    spec = importlib.util.find_spec("nilearn")
    if spec is None or not spec.submodule_search_locations:
        raise LohiresError("the simulator needs the MNI template that nilearn bundles: install the train "
                           "extra (pip install 'lohires-edge[train]')")
    folder = Path(list(spec.submodule_search_locations)[0]) / "datasets" / "data"
    if not (folder / _FILE.format("t1")).is_file():
        raise LohiresError(f"nilearn is installed but {folder} lacks {_FILE.format('t1')}; reinstall nilearn")
    return folder


@lru_cache(maxsize=2)
def load_template(voxel_mm: float = 1.0) -> Template:
    """The template, its maps smoothed for sampling at `voxel_mm` (anti-aliasing for coarse test grids)."""
    folder = template_folder()
    images = {name: nib.load(str(folder / _FILE.format(name))) for name in ("t1", "gm", "wm")}
    pad = PAD_MM
    affine = images["t1"].affine.copy()
    affine[:3, 3] -= pad * np.diag(affine)[:3]

    def padded(name: str) -> np.ndarray:
        # The template stops at the medulla: continue its lowest slice downwards (a brainstem, not a cut
        # face that the skull would grow around), and pad with air elsewhere.
        data = np.asarray(images[name].dataobj, dtype=np.float32)
        data = np.pad(data, ((0, 0), (0, 0), (pad, 0)), mode="edge")
        return np.pad(data, ((pad, pad), (pad, pad), (0, pad)))

    brain = padded("t1") > 0
    grey = padded("gm") / np.float32(255.0)
    white = padded("wm") / np.float32(255.0)
    # The maps may spill a little past the mask; inside it they leave room for CSF.
    grey *= brain
    white *= brain
    total = grey + white
    over = total > 1.0
    grey[over] /= total[over]
    white[over] /= total[over]
    csf = np.where(brain, np.float32(1.0) - grey - white, np.float32(0.0)).astype(np.float32)

    envelope = gaussian_filter(brain.astype(np.float32), ENVELOPE_SMOOTHING_MM) > ENVELOPE_LEVEL
    envelope_mm = (distance_transform_edt(~envelope) - distance_transform_edt(envelope)).astype(np.float32)

    if voxel_mm > 1.0:
        sigma = 0.4 * voxel_mm  # anti-aliasing before sampling on a coarser grid
        white, grey, csf = (gaussian_filter(m, sigma) for m in (white, grey, csf))
    return Template(white=white, grey=grey, csf=csf, envelope_mm=envelope_mm, affine=affine)
