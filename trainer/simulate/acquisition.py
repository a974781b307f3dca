"""From tissue fractions to images: one randomized native 64 mT acquisition and its 3 T reference.

64 mT degradation, in the order the physics applies it (each step's parameters drawn per pair by
`randomization.draw_low_field`):
1. contrast: the drawn protocol timing and per-tissue relaxation on the partial-volume fractions;
2. thick slices: a realistic slice profile (flat top, raised-cosine edges, FWHM = the slice thickness,
   so neighbouring slices overlap a little, as a real selective pulse's do);
3. receive-coil shading: a smooth multiplicative bias field;
4. lower in-plane resolution: k-space truncated to the 64 mT matrix (the central frequencies), with a
   phase ramp so the low-resolution pixel centres fall where the 64 mT affine says; optionally apodized
   (Tukey window), otherwise with the Gibbs ringing of the raw truncation;
5. mild motion ghosting (optional): a periodic phase error along the phase-encode lines;
6. thermal noise: complex Gaussian noise in k-space at the drawn white-matter SNR, so the magnitude
   image is Rician;
7. the scanner's intensity scaling: a global scale and a gamma.

Steps 1-3 are `low_field_signal` (the noise-free signal, which `simulate_dataset(noise_free=True)` also
writes), steps 4-7 `acquire`.

The 3 T reference is imaged through the *same slices* (positions and profile) at 3 T's contrast, 1 mm
in-plane resolution and SNR: what a 3 T scan registered to the 64 mT slices shows. A model that maps one
64 mT slice to one enhanced slice can only be taught what that slab holds; a 1 mm 3 T slice from inside
a 5 mm slab asks it to guess what the slab averaged away, and a generator that guesses invents structure.
The registration step (both resampled onto the 3 T grid) lives in `registration.py`.
"""

from __future__ import annotations

import numpy as np
from scipy.signal.windows import tukey

from trainer.simulate.geometry import Geometry, LowFieldGrid
from trainer.simulate.protocols import HIGH_FIELD_T, LOW_FIELD_T, Protocol
from trainer.simulate.randomization import LowFieldDraw

HIGH_FIELD_SNR = 50.0  # white matter, 3 T, in a voxel of the 3 T grid (1 mm isotropic at full size)
SLICE_PROFILE_ROLL_OFF = 0.5  # share of the thickness over which the profile's edges fall off
GHOST_PERIOD_LINES = 4.0  # phase-encode lines per cycle of the motion phase error


def signal_image(fractions: np.ndarray, protocol: Protocol, t1_factors: np.ndarray | None = None,
                 t2_factors: np.ndarray | None = None) -> np.ndarray:
    """Noise-free signal on the fractions' grid, in units of the white-matter signal."""
    signals = protocol.tissue_signals(t1_factors, t2_factors)
    weights = signals / np.float32(signals[0])  # TISSUES[0] is white matter
    return np.tensordot(weights, fractions, axes=1).astype(np.float32)


def high_field_image(fractions: np.ndarray, protocol: Protocol, geometry: Geometry, grid: LowFieldGrid,
                     rng: np.random.Generator) -> np.ndarray:
    """The 3 T reference on `reference_grid(geometry, grid)`: the 64 mT acquisition's slices (positions and
    profile) at 3 T contrast, the 3 T in-plane resolution and Rician noise at HIGH_FIELD_SNR scaled by the
    voxel's volume (a thicker slice collects proportionally more signal).

    With the whole in-plane k-space kept, white complex noise in k-space is white complex noise in the image
    (the orthonormal FFT preserves it), so it is drawn in the image directly.
    """
    if protocol.field_t != HIGH_FIELD_T:
        raise ValueError(f"{protocol.sequence} protocol at {protocol.field_t} T is not the 3 T one")
    clean = thick_slices(signal_image(fractions, protocol), geometry, grid)
    sigma = np.float32(geometry.high_voxel_mm / (HIGH_FIELD_SNR * grid.slice_mm))
    real = clean + sigma * rng.standard_normal(clean.shape, dtype=np.float32)
    imag = sigma * rng.standard_normal(clean.shape, dtype=np.float32)
    return np.hypot(real, imag)


def reference_grid(geometry: Geometry, grid: LowFieldGrid) -> LowFieldGrid:
    """The 3 T reference's native grid: the 64 mT acquisition's slices on the 3 T in-plane matrix."""
    return LowFieldGrid(geometry.fov_mm, geometry.high_matrix, grid.slices, grid.slice_mm)


def low_field_grid(geometry: Geometry, draw: LowFieldDraw) -> LowFieldGrid:
    """The native grid of the drawn acquisition (the draws are millimetres at full size)."""
    return geometry.low_field_grid(draw.pixel_mm, draw.slice_mm)


def low_field_signal(fractions: np.ndarray, draw: LowFieldDraw, geometry: Geometry,
                     rng: np.random.Generator) -> np.ndarray:
    """The noise-free 64 mT signal on `reference_grid(geometry, low_field_grid(geometry, draw))`: the drawn
    contrast through the drawn slices, with the receive shading, at the 3 T in-plane resolution. What a
    perfect denoiser and super-resolver of the acquisition could recover, before k-space truncation,
    ghosting, noise and the intensity curve (white matter about 1 where unshaded). Draws the shading from `rng`."""
    if draw.protocol.field_t != LOW_FIELD_T:
        raise ValueError(f"{draw.protocol.sequence} protocol at {draw.protocol.field_t} T is not the 64 mT "
                         "one")
    grid = low_field_grid(geometry, draw)
    signal = thick_slices(signal_image(fractions, draw.protocol, draw.t1_factors, draw.t2_factors),
                          geometry, grid)
    signal *= _bias_field(geometry, grid, draw.bias_amplitude, rng)
    return signal


def acquire(signal: np.ndarray, draw: LowFieldDraw, geometry: Geometry, rng: np.random.Generator
            ) -> np.ndarray:
    """`low_field_signal` imaged by the drawn scanner: the 64 mT matrix's k-space, apodization, motion
    ghosts, noise at the drawn SNR and the intensity curve; on `low_field_grid(geometry, draw)`."""
    grid = low_field_grid(geometry, draw)
    kspace = truncated_kspace(signal, geometry, grid)
    if draw.apodization is not None:
        window = tukey(grid.matrix, draw.apodization).astype(np.float32)
        kspace *= np.outer(window, window)[:, :, None]
    if draw.ghost_phase_rad:
        lines = np.arange(grid.matrix)
        phase = rng.uniform(0, 2 * np.pi)
        error = draw.ghost_phase_rad * np.sin(2 * np.pi * lines / GHOST_PERIOD_LINES + phase)
        shape = [1, 1, 1]
        shape[draw.phase_encode_axis] = grid.matrix
        kspace *= np.exp(1j * error).astype(np.complex64).reshape(shape)
    sigma = np.float32(1.0 / draw.snr)
    kspace += sigma * (rng.standard_normal(kspace.shape, dtype=np.float32)
                       + 1j * rng.standard_normal(kspace.shape, dtype=np.float32))
    image = magnitude_image(kspace)
    return (draw.intensity_scale * image ** np.float32(draw.gamma)).astype(np.float32)


def slice_profile(offsets: np.ndarray) -> np.ndarray:
    """Relative sensitivity at `offsets` from the slice centre, in slice thicknesses (FWHM 1)."""
    flat = (1 - SLICE_PROFILE_ROLL_OFF) / 2
    edge = np.clip((np.abs(offsets) - flat) / SLICE_PROFILE_ROLL_OFF, 0.0, 1.0)
    return 0.5 + 0.5 * np.cos(np.pi * edge)


def thick_slices(image: np.ndarray, geometry: Geometry, grid: LowFieldGrid) -> np.ndarray:
    """Each 64 mT slice: the 3 T slices it covers, weighted by the slice profile."""
    high_z = geometry.high_affine()[2, 3] + geometry.high_voxel_mm * np.arange(geometry.high_slices)
    weights = slice_profile((high_z[None, :] - grid.slice_centres_mm()[:, None]) / grid.slice_mm)
    weights /= weights.sum(axis=1, keepdims=True)
    return np.tensordot(image, weights.T.astype(np.float32), axes=([2], [0]))


def truncated_kspace(thick: np.ndarray, geometry: Geometry, grid: LowFieldGrid) -> np.ndarray:
    """Centred k-space of the 64 mT matrix for thick slices on the 3 T in-plane grid (linear, noise-free).

    Scaled so that `magnitude_image` keeps intensities (orthonormal transforms of N then M points scale a
    constant by M / N) and white noise of standard deviation s added to it is s in the image.
    """
    n_high, n_low = geometry.high_matrix, grid.matrix
    kspace = np.fft.fftshift(np.fft.fft2(thick, axes=(0, 1), norm="ortho"), axes=(0, 1))
    start = n_high // 2 - n_low // 2
    kspace = kspace[start:start + n_low, start:start + n_low] * np.float32(n_low / n_high)
    return (kspace * _centre_shift_ramp(geometry, grid)[:, :, None]).astype(np.complex64)


def magnitude_image(kspace: np.ndarray) -> np.ndarray:
    """What the scanner reconstructs: the magnitude of the inverse FFT of each slice."""
    image = np.fft.ifft2(np.fft.ifftshift(kspace, axes=(0, 1)), axes=(0, 1), norm="ortho")
    return np.abs(image).astype(np.float32)


def _centre_shift_ramp(geometry: Geometry, grid: LowFieldGrid) -> np.ndarray:
    """Phase ramp that moves the truncated grid's pixel centres onto the 64 mT affine's.

    Plain truncation samples at the 3 T grid's first voxel centre; the 64 mT pixel 0 centre lies
    (d_low - d_high) / 2 further along both in-plane axes.
    """
    shift = (grid.pixel_mm - geometry.high_voxel_mm) / 2  # mm, along increasing index
    freqs = np.fft.fftshift(np.fft.fftfreq(grid.matrix, d=grid.pixel_mm))  # cycles / mm
    ramp = np.exp(2j * np.pi * freqs * shift)
    return np.outer(ramp, ramp).astype(np.complex64)


def _bias_field(geometry: Geometry, grid: LowFieldGrid, amplitude: float,
                rng: np.random.Generator) -> np.ndarray:
    """A smooth receive-coil shading exp(sum of long-wavelength waves) on the thick-slice grid."""
    x, y, _ = geometry.high_world()
    z = grid.slice_centres_mm().astype(np.float32).reshape(1, 1, -1)
    log_field = np.zeros((geometry.high_matrix, geometry.high_matrix, grid.slices), np.float32)
    for _ in range(3):
        direction = rng.normal(size=3)
        direction /= np.linalg.norm(direction)
        wavelength = rng.uniform(250.0, 450.0)  # mm: longer than the head
        k = (2 * np.pi / wavelength) * direction.astype(np.float32)
        log_field += np.float32(rng.uniform(0.3, 1.0)) * np.sin(k[0] * x + k[1] * y + k[2] * z
                                                                 + np.float32(rng.uniform(0, 2 * np.pi)))
    log_field *= np.float32(amplitude / 3.0)  # three waves of amplitude <= 1
    return np.exp(log_field)
