"""One subject's head from the real template: a random deformation, pose, atrophy, lesions and the
tissues around the brain, as partial-volume fraction maps on the 3 T grid.

Each subject differs from the template, and from every other subject, by what `draw_anatomy` draws from
the subject's random generator (ranges in `ANATOMY_RANGES`, documented in docs/simulator.md):
- a smooth random displacement field (control points every 20 mm, several mm in amplitude), which
  reshapes gyri, sulci and ventricles;
- head size (per axis) and pose (pitch, roll, yaw, position), and a left-right flip;
- ventricle enlargement (atrophy), grown from the template's deep CSF;
- white-matter lesions in some subjects, in deep and periventricular white matter;
- subarachnoid CSF, skull (with marrow) and scalp (muscle under fat) thicknesses, grown outward from the
  brain envelope, so every subject has the skull and scalp that real 64 mT scans show.

Sampling the template is one trilinear lookup per map at deformed coordinates; everything else is a few
passes over the 3 T grid.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter, map_coordinates

from trainer.simulate.geometry import Geometry
from trainer.simulate.template import Template, load_template
from trainer.simulate.tissues import TISSUES

# WM, GM, CSF, fat, lesion, bone, muscle: indices into tissues.TISSUES
WM, GM, CSF, FAT, LESION, BONE, MUSCLE = range(len(TISSUES))

WARP_SPACING_MM = 20.0  # control-point spacing of the random displacement field
DEEP_MM = 12.0  # CSF this far inside the brain envelope is ventricular (grown by atrophy)
OUTSIDE_MM = 80.0  # envelope distance given to points outside the template's box (air)
HEAD_CENTRE_MM = np.array([0.0, -18.0, 12.0])  # MNI point put at the grid centre: the head, scalp included

ANATOMY_RANGES: dict[str, tuple[float, float]] = {
    "warp_mm": (2.0, 4.0),  # standard deviation of each displacement component at the control points
    "head_scale": (0.85, 1.0),  # overall (the MNI152 brain is larger than most); each axis varies as below
    "axis_scale": (0.97, 1.03),
    "pitch_deg": (-10.0, 10.0),
    "roll_deg": (-5.0, 5.0),
    "yaw_deg": (-6.0, 6.0),
    "shift_mm": (-6.0, 6.0),
    "ventricle_growth_mm": (0.0, 2.5),  # smoothing radius of the ventricle growth (0: none)
    "subarachnoid_mm": (1.0, 3.0),
    "skull_mm": (5.0, 8.0),
    "marrow_share": (0.25, 0.6),  # of the skull's thickness, in its middle
    "scalp_mm": (4.0, 8.0),
    "muscle_share": (0.0, 0.5),  # of the scalp's thickness, next to the skull
    "lesion_radius_mm": (1.5, 6.0),
}
LESION_PROBABILITY = 0.5  # of a subject having any white-matter lesions
LESION_MEAN_COUNT = 6


@dataclass(frozen=True)
class Anatomy:
    """The random part of one subject."""

    to_template: np.ndarray  # 4x4: subject world (RAS mm) -> template world, before the warp
    warp_mm: np.ndarray  # (3, *control grid): displacement in template mm at the control points
    ventricle_growth_mm: float
    layers_mm: dict[str, float]  # subarachnoid, skull, scalp thickness; marrow and muscle shares
    lesions: np.ndarray  # (n, 4): centre (template mm) and radius (mm)


def draw_anatomy(rng: np.random.Generator, lesions: bool = True) -> Anatomy:
    """Draw one subject's anatomy; `lesions=False` makes a healthy subject."""
    r = ANATOMY_RANGES
    scale = rng.uniform(*r["head_scale"]) * rng.uniform(*r["axis_scale"], 3)
    angles = np.deg2rad([rng.uniform(*r[name]) for name in ("pitch_deg", "roll_deg", "yaw_deg")])
    shift = rng.uniform(*r["shift_mm"], 3)
    flip = np.diag([-1.0 if rng.random() < 0.5 else 1.0, 1.0, 1.0])
    # subject = R S flip template + shift  =>  template = flip S^-1 R^T (subject - shift)
    linear = flip @ np.diag(1.0 / scale) @ _rotation(*angles).T
    to_template = np.eye(4)
    to_template[:3, :3] = linear
    to_template[:3, 3] = HEAD_CENTRE_MM - linear @ shift
    grid = tuple(int(np.ceil(260.0 / WARP_SPACING_MM)) + 1 for _ in range(3))
    warp = rng.normal(0.0, rng.uniform(*r["warp_mm"]), (3, *grid))
    layers = {name: float(rng.uniform(*r[name])) for name in
              ("subarachnoid_mm", "skull_mm", "marrow_share", "scalp_mm", "muscle_share")}
    growth = float(rng.uniform(*r["ventricle_growth_mm"]))
    count = int(rng.poisson(LESION_MEAN_COUNT)) if lesions and rng.random() < LESION_PROBABILITY else 0
    rows = [[*_white_matter_point(rng), rng.uniform(*r["lesion_radius_mm"])] for _ in range(count)]
    return Anatomy(to_template=to_template, warp_mm=warp.astype(np.float32), ventricle_growth_mm=growth,
                   layers_mm=layers, lesions=np.array(rows, dtype=np.float32).reshape(-1, 4))


def tissue_fractions(anatomy: Anatomy, geometry: Geometry) -> np.ndarray:
    """Fractions (len(TISSUES), *high_shape) float32 on the 3 T grid; they sum to 1 inside the head."""
    template = load_template(geometry.high_voxel_mm)
    index = _template_index(anatomy, geometry, template)
    white, grey, csf = (_sample(m, index, 0.0) for m in (template.white, template.grey, template.csf))
    envelope_mm = _sample(template.envelope_mm, index, OUTSIDE_MM)
    voxel = geometry.high_voxel_mm
    lesion = _lesions(anatomy, index, template, white, voxel)
    white -= lesion
    _grow_ventricles(anatomy.ventricle_growth_mm / voxel, envelope_mm, white, grey, csf, lesion)

    fractions = np.zeros((len(TISSUES),) + geometry.high_shape, dtype=np.float32)
    layers = anatomy.layers_mm
    subarachnoid, skull, scalp = layers["subarachnoid_mm"], layers["skull_mm"], layers["scalp_mm"]

    def inside(distance_mm: float) -> np.ndarray:  # partial-volume fraction inside an envelope offset
        return np.clip(np.float32(0.5) - (envelope_mm - np.float32(distance_mm)) / np.float32(voxel), 0, 1)

    intracranial = np.maximum(inside(subarachnoid), white + grey + csf + lesion)
    skull_out = np.maximum(inside(subarachnoid + skull), intracranial)
    marrow_half = skull * layers["marrow_share"] / 2
    middle = subarachnoid + skull / 2
    marrow = np.clip(inside(middle + marrow_half) - inside(middle - marrow_half), 0, 1) * (1 - intracranial)
    muscle_out = np.maximum(inside(subarachnoid + skull + scalp * layers["muscle_share"]), skull_out)
    head = np.maximum(inside(subarachnoid + skull + scalp), muscle_out)
    fractions[WM], fractions[GM], fractions[LESION] = white, grey, lesion
    fractions[CSF] = np.clip(intracranial - white - grey - lesion, 0, 1)
    fractions[BONE] = np.clip(skull_out - intracranial - marrow, 0, 1)
    fractions[MUSCLE] = muscle_out - skull_out
    fractions[FAT] = head - muscle_out + marrow
    np.clip(fractions, 0.0, 1.0, out=fractions)
    return fractions


def _template_index(anatomy: Anatomy, geometry: Geometry, template: Template) -> np.ndarray:
    """Template voxel coordinates (3, *high_shape) of every 3 T voxel: pose, then the smooth warp."""
    x, y, z = geometry.high_world()
    shape = geometry.high_shape
    world = np.stack(np.broadcast_arrays(x, y, z)).reshape(3, -1).astype(np.float32)
    affine = anatomy.to_template
    posed = (affine[:3, :3].astype(np.float32) @ world + affine[:3, 3:].astype(np.float32))
    del world
    # The displacement field lives on a control grid in template space, centred on the template origin.
    control = anatomy.warp_mm.shape[1:]
    half = (np.array(control) - 1) / 2 * WARP_SPACING_MM
    at = (posed + half[:, None].astype(np.float32)) / np.float32(WARP_SPACING_MM)
    for axis in range(3):
        posed[axis] += map_coordinates(anatomy.warp_mm[axis], at, order=3, mode="nearest")
    del at
    to_index = np.linalg.inv(template.affine).astype(np.float32)
    return (to_index[:3, :3] @ posed + to_index[:3, 3:]).reshape((3,) + shape)


def _sample(volume: np.ndarray, index: np.ndarray, outside: float) -> np.ndarray:
    return map_coordinates(volume, index, order=1, mode="constant", cval=outside).astype(np.float32)


def _lesions(anatomy: Anatomy, index: np.ndarray, template: Template, white: np.ndarray,
             voxel: float) -> np.ndarray:
    """Lesion fractions: spheres (template mm) carved out of the white matter, partial-volumed."""
    lesion = np.zeros_like(white)
    if not len(anatomy.lesions):
        return lesion
    world = [template.affine[i, i] * index[i] + template.affine[i, 3] for i in range(3)]
    for x0, y0, z0, radius in anatomy.lesions:
        distance = np.sqrt((world[0] - x0) ** 2 + (world[1] - y0) ** 2 + (world[2] - z0) ** 2)
        lesion = np.maximum(lesion, np.clip(0.5 - (distance - radius) / voxel, 0, 1))
    return (lesion * white).astype(np.float32)


def _grow_ventricles(growth_voxels: float, envelope_mm: np.ndarray, white: np.ndarray, grey: np.ndarray,
                     csf: np.ndarray, lesion: np.ndarray) -> None:
    """Atrophy: the deep (ventricular) CSF spreads into the tissue around it, in place."""
    if growth_voxels <= 0.05:
        return
    deep = csf * (envelope_mm < -DEEP_MM)
    grown = np.clip(2.0 * gaussian_filter(deep, growth_voxels), 0, 1) * (envelope_mm < -DEEP_MM / 2)
    added = np.clip(grown - csf, 0, None)
    tissue = white + grey + lesion
    take = np.divide(np.minimum(added, tissue), tissue, out=np.zeros_like(tissue), where=tissue > 0)
    for fraction in (white, grey, lesion):
        fraction *= 1 - take
    csf += added


def _white_matter_point(rng: np.random.Generator) -> tuple[float, float, float]:
    """A point in the template's deep or periventricular white matter (centrum semiovale, corona radiata)."""
    side = rng.choice([-1.0, 1.0])
    return side * rng.uniform(12.0, 30.0), rng.uniform(-40.0, 25.0), rng.uniform(5.0, 38.0)


def _rotation(pitch: float, roll: float, yaw: float) -> np.ndarray:
    cx, sx, cy, sy = np.cos(pitch), np.sin(pitch), np.cos(roll), np.sin(roll)
    cz, sz = np.cos(yaw), np.sin(yaw)
    rx = np.array([[1, 0, 0], [0, cx, -sx], [0, sx, cx]])
    ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    rz = np.array([[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]])
    return rz @ ry @ rx
