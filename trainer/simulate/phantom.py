"""A procedural head: scalp, skull with marrow, CSF with ventricles, grey and white matter with a folded
cortex, deep grey nuclei and optional white-matter lesions, as partial-volume fraction maps.

No template is shipped or downloaded: the anatomy is a few analytic surfaces in a deformed ellipsoidal
coordinate system, so the simulator needs nothing beyond numpy. Every subject differs in head size and
shape, tilt, position, a smooth random deformation, the gyral pattern and sulcal depth, ventricle size,
skull and scalp thickness and lesion load, all drawn from the subject's random generator.

Each surface is an approximate signed distance in millimetres; a voxel's fraction inside it is a linear
ramp one voxel wide, a fair partial-volume model for surfaces smoother than a voxel. Work is done only on
the voxels inside the head (about a third of the grid), the brain structures only inside the skull.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from trainer.simulate.geometry import Geometry
from trainer.simulate.tissues import TISSUES

BRAIN_SEMI_AXES_MM = np.array([64.0, 80.0, 56.0], dtype=np.float32)  # left-right, anterior-posterior, S-I
BRAIN_CENTRE_MM = np.array([0.0, 0.0, -2.0], dtype=np.float32)  # RAS; the slab cuts off the skull base
MEAN_RADIUS_MM = float(np.cbrt(np.prod(BRAIN_SEMI_AXES_MM)))
CORTEX_MM = 2.8  # grey-matter thickness (crowns and both banks of every sulcus)
SUBARACHNOID_MM = 1.5  # CSF between the gyral crowns and the inner skull table
SULCUS_DEPTH_MM = (8.0, 24.0)  # range of sulcal depth below the crowns
SULCUS_HALF_WIDTH_MM = 0.6  # CSF in a sulcus (partial-volumed at 1 mm, as in real images)
FOLD_WAVES = 12
FOLD_WAVE_NUMBER = (24.0, 34.0)  # radians^-1 over directions: sulci ~10-12 mm apart at the surface

# WM, GM, CSF, fat, lesion, bone: indices into tissues.TISSUES
WM, GM, CSF, FAT, LESION, BONE = range(len(TISSUES))


@dataclass(frozen=True)
class Anatomy:
    """The random part of one subject."""

    scale: np.ndarray  # per-axis head size factor
    rotation: np.ndarray  # 3x3, head tilt
    shift_mm: np.ndarray
    warp: tuple[np.ndarray, np.ndarray, np.ndarray]  # smooth deformation: amplitudes, wave vectors, phases
    folds: tuple[np.ndarray, np.ndarray]  # gyral pattern: wave vectors, phases
    depth: tuple[np.ndarray, np.ndarray]  # sulcal depth pattern: wave vectors, phases
    ventricle_scale: float
    skull_mm: float
    scalp_mm: float
    lesions: np.ndarray  # (n, 4): centre (mm, head frame) and radius (mm)


def random_anatomy(rng: np.random.Generator, lesions: bool = True) -> Anatomy:
    """Draw one subject's anatomy; `lesions=False` makes a healthy subject."""
    scale = (rng.uniform(0.93, 1.05) * rng.uniform(0.97, 1.03, 3)).astype(np.float32)
    angles = np.deg2rad(rng.uniform([-8, -4, -5], [8, 4, 5]))  # pitch (nod), roll, yaw
    rotation = _rotation(*angles).astype(np.float32)
    shift = rng.uniform(-4, 4, 3).astype(np.float32)
    warp = (rng.uniform(1.0, 3.0, (3, 3)).astype(np.float32),  # three waves per axis, 1-3 mm, >= 100 mm long
            (_random_directions(rng, 9) * rng.uniform(0.03, 0.06, (9, 1))).reshape(3, 3, 3)
            .astype(np.float32),
            rng.uniform(0, 2 * np.pi, (3, 3)).astype(np.float32))
    folds = (_random_directions(rng, FOLD_WAVES)
             * rng.uniform(*FOLD_WAVE_NUMBER, (FOLD_WAVES, 1)).astype(np.float32),
             rng.uniform(0, 2 * np.pi, FOLD_WAVES).astype(np.float32))
    depth = (_random_directions(rng, 3) * np.float32(3.0), rng.uniform(0, 2 * np.pi, 3).astype(np.float32))
    count = int(rng.poisson(6)) if lesions and rng.random() < 0.6 else 0
    rows = []
    for _ in range(count):  # periventricular and deep white matter
        side = rng.choice([-1.0, 1.0])
        rows.append([side * rng.uniform(12, 26), rng.uniform(-30, 35), rng.uniform(4, 30),
                     rng.uniform(2.0, 5.5)])
    return Anatomy(scale=scale, rotation=rotation, shift_mm=shift, warp=warp, folds=folds, depth=depth,
                   ventricle_scale=float(rng.uniform(0.7, 1.6)), skull_mm=float(rng.uniform(5.0, 8.0)),
                   scalp_mm=float(rng.uniform(4.0, 7.0)),
                   lesions=np.array(rows, dtype=np.float32).reshape(-1, 4))


def tissue_fractions(anatomy: Anatomy, geometry: Geometry) -> np.ndarray:
    """Fractions (len(TISSUES), *high_shape) float32 on the 3 T grid; they sum to 1 inside the head."""
    ramp = np.float32(MEAN_RADIUS_MM / geometry.high_voxel_mm)  # rho units -> voxels
    mm = 1.0 / MEAN_RADIUS_MM
    u = _head_coordinates(anatomy, geometry)
    rho = np.sqrt(sum((u[i] / BRAIN_SEMI_AXES_MM[i]) ** 2 for i in range(3))).ravel()
    outer = 1.0 + (anatomy.skull_mm + anatomy.scalp_mm) * mm

    fractions = np.zeros((len(TISSUES), rho.size), dtype=np.float32)
    head = np.flatnonzero(rho < outer + 1.0 / ramp)
    r = rho[head]

    def inside(surface: np.ndarray | float, at: np.ndarray = r) -> np.ndarray:
        return np.clip(np.float32(0.5) - (at - np.float32(surface)) * ramp, 0.0, 1.0)

    scalp = inside(outer)
    skull_out = inside(1.0 + anatomy.skull_mm * mm)
    marrow = inside(1.0 + 0.7 * anatomy.skull_mm * mm) - inside(1.0 + 0.3 * anatomy.skull_mm * mm)
    intracranial = inside(1.0)
    fractions[FAT, head] = scalp - skull_out + marrow
    fractions[BONE, head] = skull_out - intracranial - marrow
    fractions[CSF, head] = intracranial  # brain tissue is carved out of it below

    inner = r < 1.0
    brain = head[inner]
    ub = [c.ravel()[brain] for c in u]
    white, grey, csf, lesion = _brain(anatomy, ub, geometry.high_voxel_mm, intracranial[inner])
    del u, rho, r, scalp, skull_out, marrow, intracranial
    fractions[WM, brain] = white
    fractions[GM, brain] = grey
    fractions[CSF, brain] = csf
    fractions[LESION, brain] = lesion
    np.clip(fractions, 0.0, 1.0, out=fractions)
    return fractions.reshape((len(TISSUES),) + geometry.high_shape)


def _brain(anatomy: Anatomy, u: list[np.ndarray], voxel: float,
           intracranial: np.ndarray) -> tuple[np.ndarray, ...]:
    """WM, GM, CSF and lesion fractions of voxels inside the inner skull table (head-frame coordinates u)."""
    q = [u[i] / BRAIN_SEMI_AXES_MM[i] for i in range(3)]
    rho = np.sqrt(q[0] ** 2 + q[1] ** 2 + q[2] ** 2) + np.float32(1e-6)
    depth_mm = (MEAN_RADIUS_MM * (1.0 - rho)).astype(np.float32)  # below the inner skull table

    def ramp(distance_mm: np.ndarray) -> np.ndarray:  # fraction on the positive side of a surface
        return np.clip(np.float32(0.5) + distance_mm / np.float32(voxel), 0.0, 1.0)

    # Folded cortex. Sulci run along the zero lines of a random gyral pattern g over directions; s is the
    # lateral distance to the nearest sulcus (|g| over its gradient). A sulcus is a thin CSF cleft from the
    # surface down to its fundus, lined on both banks by cortex; crowns carry a cortex under the
    # subarachnoid CSF; white matter is what lies deeper than the cortex everywhere.
    # Only the cortical shell needs the folds; anything deeper is white matter (or a deep structure).
    low, high = SULCUS_DEPTH_MM
    shell = np.flatnonzero(depth_mm < SUBARACHNOID_MM + high + CORTEX_MM + 2 * voxel)
    qs, rs, ds = [c[shell] for c in q], rho[shell], depth_mm[shell]
    g, gradient = _folds(anatomy.folds, qs, rs)
    s = np.abs(g) / np.maximum(gradient, np.float32(1e-3))
    fundus = SUBARACHNOID_MM + low + (high - low) * (0.5 + 0.5 * np.tanh(_pattern(anatomy.depth, qs, rs)))
    cleft = ramp(SULCUS_HALF_WIDTH_MM - s) * ramp(fundus - ds)
    off_sulcus = np.maximum(ramp(s - SULCUS_HALF_WIDTH_MM - CORTEX_MM),  # beside the banks' cortex
                            ramp(ds - fundus - CORTEX_MM))  # or below the fundus' cortex
    tissue = np.ones_like(rho)
    white = np.ones_like(rho)
    tissue[shell] = ramp(ds - SUBARACHNOID_MM) * (1 - cleft)
    white[shell] = np.minimum(ramp(ds - SUBARACHNOID_MM - CORTEX_MM), off_sulcus)  # under the crown cortex
    del g, gradient, s, fundus, cleft, off_sulcus, qs, rs, ds

    ventricles = _ellipsoids(u, voxel, _ventricles(anatomy.ventricle_scale)) * white
    deep_grey = _ellipsoids(u, voxel, _DEEP_GREY) * (white - ventricles)
    lesion = (_ellipsoids(u, voxel, [(tuple(row[:3]), (row[3],) * 3) for row in anatomy.lesions])
              * (white - ventricles - deep_grey)) if len(anatomy.lesions) else np.zeros_like(white)
    wm = white - ventricles - deep_grey - lesion
    gm = tissue - white + deep_grey
    csf = intracranial - tissue + ventricles
    return wm, gm, csf, lesion


def _head_coordinates(anatomy: Anatomy, geometry: Geometry) -> list[np.ndarray]:
    """World RAS -> the subject's head frame (mm): untilt, unscale, then a smooth warp.

    Every term is linear in x or a sinusoid of a linear function of x, y, z, and
    sin(a + b) = sin a cos b + cos a sin b, so each coordinate is a sum of products of a function of x
    (columns) and a function of (y, z) (rows, slices): one batched matrix product per axis, not dozens of
    passes over the full grid.
    """
    x, y, z = (c.ravel() for c in geometry.high_world())
    r = anatomy.rotation
    origin = BRAIN_CENTRE_MM + anatomy.shift_mm
    coef = (r / anatomy.scale[None, :]).T  # u_i = coef[i] . (p - origin)
    const = -coef @ origin
    amplitudes, waves, phases = anatomy.warp
    coordinates = []
    for axis in range(3):
        of_x = [coef[axis, 0] * x, np.ones_like(x)]
        of_yz = [np.ones((y.size, z.size), np.float32),
                 coef[axis, 1] * y[:, None] + coef[axis, 2] * z[None, :] + const[axis]]
        for k in range(amplitudes.shape[1]):
            w = waves[axis, k] @ coef  # wave vector in world coordinates
            yz = w[1] * y[:, None] + w[2] * z[None, :] + np.float32(waves[axis, k] @ const + phases[axis, k])
            of_x += [np.sin(w[0] * x), np.cos(w[0] * x)]
            of_yz += [amplitudes[axis, k] * np.cos(yz), amplitudes[axis, k] * np.sin(yz)]
        factors_x = np.stack(of_x, axis=1).astype(np.float32)  # (columns, terms)
        factors_yz = np.stack(of_yz, axis=1).astype(np.float32)  # (rows, terms, slices)
        coordinates.append(np.matmul(factors_x[None], factors_yz))  # (rows, columns, slices)
    return coordinates


def _folds(spec: tuple[np.ndarray, np.ndarray], q: list[np.ndarray], rho: np.ndarray
           ) -> tuple[np.ndarray, np.ndarray]:
    """The gyral pattern g (sinusoids over directions) and |grad g| in 1/mm, so |g| / |grad g| is the
    distance (mm) to the nearest sulcus (zero line of g)."""
    waves, phases = spec
    g = np.zeros_like(rho)
    along = [np.zeros_like(rho) for _ in range(3)]  # sum of cos_k * w_k
    radial = np.zeros_like(rho)  # sum of cos_k * (w_k . n)
    n = [qi / rho for qi in q]
    for w, phase in zip(waves, phases):
        t = w[0] * n[0] + w[1] * n[1] + w[2] * n[2]
        g += np.sin(t + phase)
        c = np.cos(t + phase)
        for i in range(3):
            along[i] += c * w[i]
        radial += c * t
    # d(w.n)/dq = (w - (w.n) n) / rho; dq_i/du_i = 1 / semi-axis_i
    gradient = np.sqrt(sum(((along[i] - radial * n[i]) / (rho * BRAIN_SEMI_AXES_MM[i])) ** 2
                           for i in range(3)))
    return g, gradient


def _pattern(spec: tuple[np.ndarray, np.ndarray], q: list[np.ndarray], rho: np.ndarray) -> np.ndarray:
    """Sum of sinusoids over the direction from the brain centre (q / rho lies on the unit sphere)."""
    waves, phases = spec
    total = np.zeros_like(rho)
    for w, phase in zip(waves, phases):
        total += np.sin((w[0] * q[0] + w[1] * q[1] + w[2] * q[2]) / rho + phase)
    return total


Ellipsoid = tuple[tuple[float, float, float], tuple[float, float, float]]

# Thalami and lentiform nuclei (head frame, mm): centre, semi-axes.
_DEEP_GREY: list[Ellipsoid] = [
    ((-9.0, -8.0, 2.0), (7.0, 12.0, 8.0)), ((9.0, -8.0, 2.0), (7.0, 12.0, 8.0)),
    ((-22.0, 6.0, 0.0), (6.0, 13.0, 8.0)), ((22.0, 6.0, 0.0), (6.0, 13.0, 8.0)),
]


def _ventricles(scale: float) -> list[Ellipsoid]:
    """Lateral ventricles (bodies, atria) and the third ventricle, wider with atrophy (`scale`)."""
    s = scale
    return [
        ((-8.0 * s ** 0.5, 2.0, 14.0), (4.5 * s, 24.0, 6.0 * s)),
        ((8.0 * s ** 0.5, 2.0, 14.0), (4.5 * s, 24.0, 6.0 * s)),
        ((-11.0, -22.0, 8.0), (4.0 * s, 9.0, 7.0 * s)),
        ((11.0, -22.0, 8.0), (4.0 * s, 9.0, 7.0 * s)),
        ((0.0, -6.0, 0.0), (1.2 * s, 10.0, 7.0)),
    ]


def _ellipsoids(u: list[np.ndarray], voxel: float, shapes: list[Ellipsoid]) -> np.ndarray:
    """Union (max) of the partial-volume fractions of several ellipsoids (only near each one is computed)."""
    out = np.zeros_like(u[0])
    for centre, axes in shapes:
        a = np.asarray(axes, dtype=np.float32)
        near = np.flatnonzero(np.abs(u[0] - centre[0]) < a[0] + voxel)
        for i in (1, 2):
            near = near[np.abs(u[i][near] - centre[i]) < a[i] + voxel]
        r = np.sqrt(sum(((u[i][near] - centre[i]) / a[i]) ** 2 for i in range(3)))
        out[near] = np.maximum(out[near], np.clip(0.5 - (r - 1.0) * (float(a.min()) / voxel), 0.0, 1.0))
    return out


def _random_directions(rng: np.random.Generator, n: int) -> np.ndarray:
    v = rng.normal(size=(n, 3))
    return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)


def _rotation(pitch: float, roll: float, yaw: float) -> np.ndarray:
    cx, sx, cy, sy = np.cos(pitch), np.sin(pitch), np.cos(roll), np.sin(roll)
    cz, sz = np.cos(yaw), np.sin(yaw)
    rx = np.array([[1, 0, 0], [0, cx, -sx], [0, sx, cx]])
    ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    rz = np.array([[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]])
    return rz @ ry @ rx
