"""Tissue relaxation and proton density, with T1 as a function of field strength.

T1 (grey matter, white matter, fat) is the table `lowfieldsim` (USC MREL) uses, from D. G. Nishimura,
*Principles of Magnetic Resonance Imaging*, at 0.1, 0.2, 0.3, 0.4, 0.5, 1, 1.5 and 3 T; T1 shortens as the
field drops. Between table fields we interpolate linearly in log(T1) over log(B0); below 0.1 T (64 mT is
below the table) we extend the 0.1-0.2 T power law, which gives WM 0.27 s and GM 0.35 s at 64 mT. T2 is
nearly field-independent below 1.5 T; at 3 T white matter's is shorter (Wansapura et al. 1999), which is
what makes grey matter brighter than white on a clinical 3 T FLAIR. docs/simulator.md lists every number
and its source.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

TABLE_FIELDS_T = (0.1, 0.2, 0.3, 0.4, 0.5, 1.0, 1.5, 3.0)
# Nishimura via lowfieldsim (lowfieldgen.m), seconds.
_T1_WM = (0.31, 0.39, 0.45, 0.49, 0.53, 0.68, 0.78, 1.08)
_T1_GM = (0.40, 0.49, 0.55, 0.61, 0.65, 0.82, 0.92, 1.82)
_T1_FAT = (0.17, 0.18, 0.20, 0.21, 0.22, 0.24, 0.26, 0.30)
# Free water: field-independent over this range (the 3 T value FSL's asl_calib uses).
_T1_CSF = (4.3,) * len(TABLE_FIELDS_T)
LESION_T1_FACTOR = 1.5  # white-matter lesions: longer T1 than normal-appearing WM (assumption, see docs)


@dataclass(frozen=True)
class Tissue:
    name: str
    proton_density: float  # relative to pure water
    t2_low_s: float  # at and below 1.5 T
    t1_table_s: tuple[float, ...]  # at TABLE_FIELDS_T
    t2_3t_s: float | None = None  # at 3 T, when it differs; between 1.5 and 3 T log-linear

    def t2_s(self, field_t: float) -> float:
        """T2 at `field_t` tesla."""
        if self.t2_3t_s is None or field_t <= 1.5:
            return self.t2_low_s
        share = min(1.0, np.log(field_t / 1.5) / np.log(2.0))
        return float(np.exp((1 - share) * np.log(self.t2_low_s) + share * np.log(self.t2_3t_s)))

    def t1_s(self, field_t: float) -> float:
        """T1 at `field_t` tesla: log-log interpolation in the table, power-law extension outside it."""
        if field_t <= 0:
            raise ValueError(f"field strength must be positive, got {field_t} T")
        log_b = np.log(TABLE_FIELDS_T)
        log_t1 = np.log(self.t1_table_s)
        x = np.log(field_t)
        if x <= log_b[0]:
            i = 0
        elif x >= log_b[-1]:
            i = len(log_b) - 2
        else:
            i = int(np.searchsorted(log_b, x)) - 1
        slope = (log_t1[i + 1] - log_t1[i]) / (log_b[i + 1] - log_b[i])
        return float(np.exp(log_t1[i] + slope * (x - log_b[i])))


# Skeletal muscle (temporalis, neck): 1.008 s at 1.5 T and 1.412 s at 3 T (Stanisz et al. 2005), extended
# to the table's fields by the power law through those two points (T1 ~ B0^0.486).
_T1_MUSCLE = tuple(1.008 * (b / 1.5) ** 0.486 for b in TABLE_FIELDS_T)

# Proton densities: GM 0.78, WM 0.65, CSF 0.97 are the brain water densities of Ernst et al. 1993 (as
# tabulated by FSL-MRS); fat 0.9, muscle 0.75, lesion 0.75 and the T2 of CSF and lesions are assumptions
# (see docs). 3 T T2: WM 69 ms, GM 99 ms (Wansapura et al. 1999), muscle 50 ms (Stanisz et al. 2005).
WHITE_MATTER = Tissue("white matter", 0.65, 0.092, _T1_WM, t2_3t_s=0.069)
GREY_MATTER = Tissue("grey matter", 0.78, 0.100, _T1_GM, t2_3t_s=0.099)
CSF = Tissue("CSF", 0.97, 2.0, _T1_CSF)
FAT = Tissue("fat", 0.90, 0.085, _T1_FAT)  # scalp and skull marrow
LESION = Tissue("WM lesion", 0.75, 0.180, tuple(LESION_T1_FACTOR * t for t in _T1_WM), t2_3t_s=0.140)
BONE = Tissue("cortical bone", 0.0, 0.0005, _T1_FAT)  # T2 well under 1 ms: no signal at these echo times
MUSCLE = Tissue("muscle", 0.75, 0.050, _T1_MUSCLE)

# The order of the anatomy's fraction maps (label = 1 + index).
TISSUES = (WHITE_MATTER, GREY_MATTER, CSF, FAT, LESION, BONE, MUSCLE)
# The brain; fat, bone and muscle are the scalp and skull.
BRAIN_TISSUES = (WHITE_MATTER, GREY_MATTER, CSF, LESION)
