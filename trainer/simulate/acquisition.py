"""From tissue fractions to images: the 3 T reference and the degraded native 64 mT acquisition.

64 mT degradation, in the order the physics applies it:
1. thick slices: the slice profile (ideal, box-shaped) averages `slice_factor` 3 T slices;
2. receive-coil shading: a smooth multiplicative bias field (within about +-22 %);
3. lower in-plane resolution: k-space truncated to the 64 mT matrix (the central frequencies), with a
   phase ramp so the low-resolution pixel centres fall where the 64 mT affine says;
4. thermal noise: complex Gaussian noise added in k-space, so the magnitude image is Rician.
The registration step (64 mT resampled onto the 3 T grid) lives in `registration.py`.

Noise is set as an SNR of white matter. 3 T: 50 at 1 mm^3. 64 mT: the rule
SNR_64 = SNR_3T * (0.064 / 3)^(7/4) * (V_64 / V_3T) * sqrt(G), where (7/4) is the seed's field exponent,
V the voxel volumes and G the acquisition-efficiency gain of the 64 mT protocol (longer sampling per
voxel, averages, low-bandwidth readout). G is chosen so a full-size 64 mT white-matter SNR is 10.
"""

from __future__ import annotations

import numpy as np

from trainer.simulate.geometry import FULL, Geometry
from trainer.simulate.protocols import HIGH_FIELD_T, LOW_FIELD_T, Protocol

HIGH_FIELD_SNR = 50.0  # white matter, 1 mm isotropic, 3 T
FIELD_EXPONENT = 7.0 / 4.0
LOW_FIELD_TARGET_SNR = 10.0  # white matter, 1.6 x 1.6 x 5 mm, 64 mT (defines G below)
BIAS_AMPLITUDE = 0.2  # largest |log| of the shading: within about +-22 %


def _voxel_ratio(geometry: Geometry) -> float:
    return geometry.low_pixel_mm ** 2 * geometry.low_slice_mm / geometry.high_voxel_mm ** 3


def _rule(geometry: Geometry, gain: float) -> float:
    return (HIGH_FIELD_SNR * (LOW_FIELD_T / HIGH_FIELD_T) ** FIELD_EXPONENT * _voxel_ratio(geometry)
            * np.sqrt(gain))


EFFICIENCY_GAIN = (LOW_FIELD_TARGET_SNR / _rule(FULL, 1.0)) ** 2  # G = 172


def low_field_snr(geometry: Geometry) -> float:
    """White-matter SNR of the native 64 mT image by the rule above (the voxel ratio of this geometry)."""
    return _rule(geometry, EFFICIENCY_GAIN)


def signal_image(fractions: np.ndarray, protocol: Protocol) -> np.ndarray:
    """Noise-free signal on the fractions' grid, in units of the white-matter signal."""
    weights = protocol.tissue_signals() / np.float32(protocol.white_matter_signal())
    return np.tensordot(weights, fractions, axes=1).astype(np.float32)


def high_field_image(fractions: np.ndarray, protocol: Protocol, rng: np.random.Generator) -> np.ndarray:
    """The 3 T reference: full resolution, Rician noise at HIGH_FIELD_SNR.

    With the whole of k-space kept, white complex noise in k-space is white complex noise in the image
    (the orthonormal FFT preserves it), so it is drawn in the image directly.
    """
    if protocol.field_t != HIGH_FIELD_T:
        raise ValueError(f"{protocol.sequence} protocol at {protocol.field_t} T is not the 3 T one")
    clean = signal_image(fractions, protocol)
    sigma = np.float32(1.0 / HIGH_FIELD_SNR)
    real = clean + sigma * rng.standard_normal(clean.shape, dtype=np.float32)
    imag = sigma * rng.standard_normal(clean.shape, dtype=np.float32)
    return np.hypot(real, imag)


def low_field_acquisition(fractions: np.ndarray, protocol: Protocol, geometry: Geometry,
                          rng: np.random.Generator) -> np.ndarray:
    """The native 64 mT magnitude image, `geometry.low_shape`, in units of the white-matter signal."""
    if protocol.field_t != LOW_FIELD_T:
        raise ValueError(f"{protocol.sequence} protocol at {protocol.field_t} T is not the 64 mT one")
    thick = thick_slices(signal_image(fractions, protocol), geometry)
    thick *= _bias_field(geometry, rng)

    kspace = truncated_kspace(thick, geometry)
    sigma = np.float32(1.0 / low_field_snr(geometry))
    kspace += sigma * (rng.standard_normal(kspace.shape, dtype=np.float32)
                       + 1j * rng.standard_normal(kspace.shape, dtype=np.float32))
    return magnitude_image(kspace)


def thick_slices(image: np.ndarray, geometry: Geometry) -> np.ndarray:
    """Each 64 mT slice averages the `slice_factor` 3 T slices it covers (an ideal, box slice profile)."""
    rows, cols, _ = geometry.high_shape
    return image.reshape(rows, cols, geometry.low_slices, geometry.slice_factor).mean(axis=3)


def truncated_kspace(thick: np.ndarray, geometry: Geometry) -> np.ndarray:
    """Centred k-space of the 64 mT matrix for thick slices on the 3 T in-plane grid (linear, noise-free).

    Scaled so that `magnitude_image` keeps intensities (orthonormal transforms of N then M points scale a
    constant by M / N) and white noise of standard deviation s added to it is s in the image.
    """
    n_high, n_low = geometry.high_matrix, geometry.low_matrix
    kspace = np.fft.fftshift(np.fft.fft2(thick, axes=(0, 1), norm="ortho"), axes=(0, 1))
    start = n_high // 2 - n_low // 2
    kspace = kspace[start:start + n_low, start:start + n_low] * np.float32(n_low / n_high)
    return (kspace * _centre_shift_ramp(geometry)[:, :, None]).astype(np.complex64)


def magnitude_image(kspace: np.ndarray) -> np.ndarray:
    """What the scanner reconstructs: the magnitude of the inverse FFT of each slice."""
    image = np.fft.ifft2(np.fft.ifftshift(kspace, axes=(0, 1)), axes=(0, 1), norm="ortho")
    return np.abs(image).astype(np.float32)


def _centre_shift_ramp(geometry: Geometry) -> np.ndarray:
    """Phase ramp that moves the truncated grid's pixel centres onto the 64 mT affine's.

    Plain truncation samples at the 3 T grid's first voxel centre; the 64 mT pixel 0 centre lies
    (d_low - d_high) / 2 further along both in-plane axes.
    """
    shift = (geometry.low_pixel_mm - geometry.high_voxel_mm) / 2  # mm, along increasing index
    freqs = np.fft.fftshift(np.fft.fftfreq(geometry.low_matrix, d=geometry.low_pixel_mm))  # cycles / mm
    ramp = np.exp(2j * np.pi * freqs * shift)
    return np.outer(ramp, ramp).astype(np.complex64)


def _bias_field(geometry: Geometry, rng: np.random.Generator) -> np.ndarray:
    """A smooth receive-coil shading exp(sum of long-wavelength waves) on the thick-slice grid."""
    x, y, z = geometry.high_world()
    z = z.reshape(-1)[geometry.slice_factor // 2::geometry.slice_factor].reshape(1, 1, -1)
    log_field = np.zeros((geometry.high_matrix, geometry.high_matrix, geometry.low_slices), np.float32)
    for _ in range(3):
        direction = rng.normal(size=3)
        direction /= np.linalg.norm(direction)
        wavelength = rng.uniform(250.0, 450.0)  # mm: longer than the head
        k = (2 * np.pi / wavelength) * direction.astype(np.float32)
        log_field += np.float32(rng.uniform(0.3, 1.0)) * np.sin(k[0] * x + k[1] * y + k[2] * z
                                                                 + np.float32(rng.uniform(0, 2 * np.pi)))
    log_field *= np.float32(BIAS_AMPLITUDE / 3.0)  # three waves of amplitude <= 1
    return np.exp(log_field)
