"""A procedural head: scalp, skull with marrow, CSF with ventricles, grey and white matter with a folded
cortex, deep grey nuclei and optional white-matter lesions, as partial-volume fraction maps.

No template is shipped or downloaded: the anatomy is a few analytic surfaces in a deformed ellipsoidal
coordinate system, so the simulator needs nothing beyond numpy. Every subject differs in head size and
shape, tilt, position, a smooth random deformation, the gyral pattern, ventricle size, skull thickness and
lesion load, all drawn from the subject's random generator.

Each surface is an approximate signed distance in millimetres; a voxel's fraction inside it is a linear
ramp one voxel wide, which is a fair partial-volume model for surfaces smoother than a voxel.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from trainer.simulate.geometry import Geometry
from trainer.simulate.tissues import TISSUES

BRAIN_SEMI_AXES_MM = np.array([64.0, 80.0, 56.0], dtype=np.float32)  # left-right, anterior-posterior, S-I
BRAIN_CENTRE_MM = np.array([0.0, 0.0, -2.0], dtype=np.float32)  # RAS; the slab cuts off the skull base
MEAN_RADIUS_MM = float(np.cbrt(np.prod(BRAIN_SEMI_AXES_MM)))
CORTEX_MM = 2.8  # grey-matter ribbon thickness
SUBARACHNOID_MM = 1.5  # CSF between the gyral crowns and the inner skull table
SULCUS_DEPTH = 0.16  # fundus depth below the crowns, in units of the brain radius (~10 mm)
SULCUS_HALF_WIDTH = 0.06  # in units of the gyral pattern g in [-1, 1]


@dataclass(frozen=True)
class Anatomy:
    """The random part of one subject."""

    scale: np.ndarray  # per-axis head size factor
    rotation: np.ndarray  # 3x3, head tilt
    shift_mm: np.ndarray
    warp: tuple[np.ndarray, np.ndarray, np.ndarray]  # smooth deformation: amplitudes, wave vectors, phases
    folds: tuple[np.ndarray, np.ndarray]  # gyral pattern: wave vectors on the unit sphere, phases
    ventricle_scale: float
    skull_mm: float
    scalp_mm: float
    lesions: np.ndarray  # (n, 4): centre (mm, head coordinates) and radius (mm)


def random_anatomy(rng: np.random.Generator, lesions: bool = True) -> Anatomy:
    """Draw one subject's anatomy; `lesions=False` makes a healthy subject."""
    scale = (rng.uniform(0.93, 1.05) * rng.uniform(0.97, 1.03, 3)).astype(np.float32)
    angles = np.deg2rad(rng.uniform([-8, -4, -5], [8, 4, 5]))  # pitch (nod), roll, yaw
    rotation = _rotation(*angles).astype(np.float32)
    shift = rng.uniform(-4, 4, 3).astype(np.float32)
    warp = (rng.uniform(1.0, 3.0, (3, 3)).astype(np.float32),  # three sinusoids per axis, 1-3 mm
            _random_directions(rng, 9).reshape(3, 3, 3) * rng.uniform(0.03, 0.06, (3, 3, 1)).astype(np.float32),
            rng.uniform(0, 2 * np.pi, (3, 3)).astype(np.float32))
    folds = (_random_directions(rng, 10) * rng.uniform(9.0, 14.0, (10, 1)).astype(np.float32),
             rng.uniform(0, 2 * np.pi, 10).astype(np.float32))
    count = int(rng.poisson(6)) if lesions and rng.random() < 0.6 else 0
    lesion_rows = []
    for _ in range(count):
        side = rng.choice([-1.0, 1.0])
        centre = np.array([side * rng.uniform(12, 26), rng.uniform(-30, 35), rng.uniform(4, 30)])
        lesion_rows.append([*centre, rng.uniform(2.0, 5.5)])
    return Anatomy(scale=scale, rotation=rotation, shift_mm=shift, warp=warp, folds=folds,
                   ventricle_scale=float(rng.uniform(0.7, 1.6)), skull_mm=float(rng.uniform(5.0, 8.0)),
                   scalp_mm=float(rng.uniform(4.0, 7.0)),
                   lesions=np.array(lesion_rows, dtype=np.float32).reshape(-1, 4))


def tissue_fractions(anatomy: Anatomy, geometry: Geometry) -> np.ndarray:
    """Fractions (len(TISSUES), *geometry.high_shape) float32 on the 3 T grid; they sum to 1 inside the head."""
    voxel = geometry.high_voxel_mm
    x, y, z = geometry.high_world()
    u = _head_coordinates(anatomy, x, y, z)

    # Normalized ellipsoidal radius: 1 on the inner skull table.
    q = [u[i] / BRAIN_SEMI_AXES_MM[i] for i in range(3)]
    rho = np.sqrt(q[0] ** 2 + q[1] ** 2 + q[2] ** 2) + np.float32(1e-6)

    def inside(surface_rho: np.ndarray | float) -> np.ndarray:
        # Signed distance ~ (rho - surface) * mean radius; a one-voxel partial-volume ramp.
        return np.clip(0.5 - (rho - surface_rho) * (MEAN_RADIUS_MM / voxel), 0.0, 1.0)

    mm = 1.0 / MEAN_RADIUS_MM
    scalp = inside(1.0 + (anatomy.skull_mm + anatomy.scalp_mm) * mm)
    skull_out = inside(1.0 + anatomy.skull_mm * mm)
    marrow = inside(1.0 + 0.7 * anatomy.skull_mm * mm) - inside(1.0 + 0.3 * anatomy.skull_mm * mm)
    intracranial = inside(1.0)

    # Folded cortex: sulci are thin CSF clefts along the zero lines of a random gyral pattern g over
    # directions. The WM surface sits a cortex thickness under the crowns and dips towards the sulcal
    # fundi, so the grey ribbon follows the folds and white matter reaches into every gyrus.
    g = _folding(anatomy, q, rho)
    envelope = 1.0 - SUBARACHNOID_MM * mm
    wm_surface = envelope - CORTEX_MM * mm - SULCUS_DEPTH * (1.0 - np.abs(g)) ** 2
    fundus = wm_surface + CORTEX_MM * mm
    pial = inside(envelope)
    # Inside a sulcus: within half a cleft width of g's zero line and outside the fundus.
    cleft = np.clip(0.5 + (SULCUS_HALF_WIDTH - np.abs(g)) / SULCUS_HALF_WIDTH, 0.0, 1.0) * (1 - inside(fundus))
    pial *= 1 - cleft
    white = inside(wm_surface)
    del g, wm_surface, fundus, cleft, rho
    ventricles = _ellipsoids(u, voxel, _ventricles(anatomy.ventricle_scale))
    deep_grey = _ellipsoids(u, voxel, _DEEP_GREY) * (1 - ventricles)
    lesion = (_ellipsoids(u, voxel, [(tuple(row[:3]), (row[3],) * 3) for row in anatomy.lesions])
              * (1 - ventricles) * (1 - deep_grey)) if len(anatomy.lesions) else np.zeros_like(white)
    ventricles *= white
    deep_grey *= white
    lesion *= white

    fractions = np.empty((len(TISSUES),) + geometry.high_shape, dtype=np.float32)
    fractions[0] = white - ventricles - deep_grey - lesion  # white matter
    fractions[1] = pial - white + deep_grey  # grey matter
    fractions[2] = intracranial - pial + ventricles  # CSF
    fractions[3] = scalp - skull_out + marrow  # fat: scalp and marrow
    fractions[4] = lesion
    fractions[5] = skull_out - intracranial - marrow  # cortical bone
    np.clip(fractions, 0.0, 1.0, out=fractions)
    return fractions


def _head_coordinates(anatomy: Anatomy, x: np.ndarray, y: np.ndarray, z: np.ndarray) -> list[np.ndarray]:
    """World RAS -> the subject's undeformed head frame (mm): untilt, unscale, then a smooth warp."""
    p = [x - BRAIN_CENTRE_MM[0] - anatomy.shift_mm[0], y - BRAIN_CENTRE_MM[1] - anatomy.shift_mm[1],
         z - BRAIN_CENTRE_MM[2] - anatomy.shift_mm[2]]
    r = anatomy.rotation
    u = [(r[0, i] * p[0] + r[1, i] * p[1] + r[2, i] * p[2]) / anatomy.scale[i] for i in range(3)]
    amplitudes, waves, phases = anatomy.warp
    warped = []
    for axis in range(3):
        offset = np.zeros(np.broadcast_shapes(*(c.shape for c in u)), dtype=np.float32)
        for k in range(amplitudes.shape[1]):
            w = waves[axis, k]
            offset += amplitudes[axis, k] * np.sin(w[0] * u[0] + w[1] * u[1] + w[2] * u[2] + phases[axis, k])
        warped.append(u[axis] + offset)
    return warped


def _folding(anatomy: Anatomy, q: list[np.ndarray], rho: np.ndarray) -> np.ndarray:
    """A gyral pattern in [-1, 1] over directions from the brain centre."""
    waves, phases = anatomy.folds
    total = np.zeros_like(rho)
    for w, phase in zip(waves, phases):
        total += np.sin((w[0] * q[0] + w[1] * q[1] + w[2] * q[2]) / rho + phase)
    return np.tanh(total * np.float32(1.5 / np.sqrt(len(phases))))


Ellipsoid = tuple[tuple[float, float, float], tuple[float, float, float]]

# Thalami and lentiform nuclei (head frame, mm): centre, semi-axes.
_DEEP_GREY: list[Ellipsoid] = [
    ((-9.0, -8.0, 2.0), (7.0, 12.0, 8.0)), ((9.0, -8.0, 2.0), (7.0, 12.0, 8.0)),
    ((-22.0, 6.0, 0.0), (6.0, 13.0, 8.0)), ((22.0, 6.0, 0.0), (6.0, 13.0, 8.0)),
]


def _ventricles(scale: float) -> list[Ellipsoid]:
    """Lateral ventricles (bodies and frontal horns) and the third ventricle, scaled by atrophy."""
    s = scale
    return [
        ((-8.0 * s ** 0.5, 2.0, 14.0), (4.5 * s, 24.0, 6.0 * s)),
        ((8.0 * s ** 0.5, 2.0, 14.0), (4.5 * s, 24.0, 6.0 * s)),
        ((-11.0, -22.0, 8.0), (4.0 * s, 9.0, 7.0 * s)),  # atria
        ((11.0, -22.0, 8.0), (4.0 * s, 9.0, 7.0 * s)),
        ((0.0, -6.0, 0.0), (1.2 * s, 10.0, 7.0)),  # third ventricle
    ]


def _ellipsoids(u: list[np.ndarray], voxel: float, shapes: list[Ellipsoid]) -> np.ndarray:
    """Union (max) of the partial-volume fractions of several ellipsoids, evaluated on their bounding boxes."""
    out = np.zeros(np.broadcast_shapes(*(c.shape for c in u)), dtype=np.float32)
    for centre, axes in shapes:
        a = np.asarray(axes, dtype=np.float32)
        r = np.sqrt(sum(((u[i] - centre[i]) / a[i]) ** 2 for i in range(3)))
        np.maximum(out, np.clip(0.5 - (r - 1.0) * (float(a.min()) / voxel), 0.0, 1.0), out=out)
    return out


def _random_directions(rng: np.random.Generator, n: int) -> np.ndarray:
    v = rng.normal(size=(n, 3))
    return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)


def _rotation(pitch: float, roll: float, yaw: float) -> np.ndarray:
    cx, sx, cy, sy, cz, sz = np.cos(pitch), np.sin(pitch), np.cos(roll), np.sin(roll), np.cos(yaw), np.sin(yaw)
    rx = np.array([[1, 0, 0], [0, cx, -sx], [0, sx, cx]])
    ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    rz = np.array([[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]])
    return rz @ ry @ rx
