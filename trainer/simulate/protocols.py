"""Acquisition protocols per sequence and field, and the signal equations that turn tissue into signal.

Spin echo / fast spin echo:  S = PD (1 - exp(-Trec/T1)) exp(-TE/T2)
Inversion recovery (FSE readout, magnitude): S = PD |1 - 2 exp(-TI/T1) + exp(-Trec/T1)| exp(-TE/T2)
with Trec = TR - echo-train duration, the time the magnetization has to recover after the readout
(the train saturates it). The protocol numbers are representative of 64 mT portable and 3 T clinical
brain protocols, not one vendor's exact settings; docs/simulator.md says where each comes from.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from trainer.simulate.tissues import CSF, TISSUES, WHITE_MATTER, Tissue

LOW_FIELD_T = 0.064
HIGH_FIELD_T = 3.0


@dataclass(frozen=True)
class Protocol:
    sequence: str
    field_t: float
    kind: str  # "SE" (spin echo / fast spin echo) or "IR" (inversion recovery, FSE readout)
    tr_ms: float
    te_ms: float
    train_ms: float  # echo-train duration; recovery starts after it
    ti_ms: float | None = None
    echo_train_length: int = 1
    # The tissue whose signal the inversion time is set to null (CSF, for FLAIR): when TR changes, a scanner
    # moves TI with it to keep the null, so the randomization does too (`null_ti_ms`).
    nulled: Tissue | None = None

    def signal(self, tissue: Tissue, t1_factor: float = 1.0, t2_factor: float = 1.0) -> float:
        """Steady-state magnitude signal of `tissue` (relative to PD 1, fully relaxed), its T1 and T2
        scaled by the given factors (the per-acquisition relaxation randomization)."""
        t1 = tissue.t1_s(self.field_t) * 1000.0 * t1_factor
        recovery = np.exp(-(self.tr_ms - self.train_ms) / t1)
        decay = np.exp(-self.te_ms / (tissue.t2_s(self.field_t) * 1000.0 * t2_factor))
        if self.kind == "SE":
            longitudinal = 1.0 - recovery
        elif self.kind == "IR":
            longitudinal = abs(1.0 - 2.0 * np.exp(-self.ti_ms / t1) + recovery)
        else:
            raise ValueError(f"unknown sequence kind {self.kind!r}")
        return float(tissue.proton_density * longitudinal * decay)

    def null_ti_ms(self) -> float:
        """The inversion time that nulls `nulled` at this TR: 1 - 2 exp(-TI/T1) + exp(-Trec/T1) = 0."""
        if self.nulled is None:
            raise ValueError(f"the {self.sequence} protocol at {self.field_t} T nulls no tissue")
        t1 = self.nulled.t1_s(self.field_t) * 1000.0
        return float(t1 * np.log(2.0 / (1.0 + np.exp(-(self.tr_ms - self.train_ms) / t1))))

    def tissue_signals(self, t1_factors: np.ndarray | None = None,
                       t2_factors: np.ndarray | None = None) -> np.ndarray:
        """Signal of each tissue, in the order of `tissues.TISSUES` (optional per-tissue factors)."""
        ones = np.ones(len(TISSUES))
        t1_factors = ones if t1_factors is None else t1_factors
        t2_factors = ones if t2_factors is None else t2_factors
        return np.array([self.signal(t, a, b) for t, a, b in zip(TISSUES, t1_factors, t2_factors)],
                        dtype=np.float32)

    def white_matter_signal(self) -> float:
        return self.signal(WHITE_MATTER)


PROTOCOLS: dict[tuple[str, float], Protocol] = {
    # 64 mT: T1 needs an inversion pulse (at 64 mT WM and GM T1 are so short that a spin echo at any
    # practical TR loses the WM > GM contrast); TI 400 ms puts WM > GM > CSF with the T1 above.
    ("T1", LOW_FIELD_T): Protocol("T1", LOW_FIELD_T, "IR", tr_ms=1500, te_ms=6, train_ms=50, ti_ms=400,
                                  echo_train_length=8),
    ("T2", LOW_FIELD_T): Protocol("T2", LOW_FIELD_T, "SE", tr_ms=2200, te_ms=180, train_ms=400,
                                  echo_train_length=40),
    # TI 1450 ms nulls CSF (T1 4.3 s) given TR 4000 ms and a 300 ms train.
    ("FLAIR", LOW_FIELD_T): Protocol("FLAIR", LOW_FIELD_T, "IR", tr_ms=4000, te_ms=180, train_ms=300,
                                     ti_ms=1450, echo_train_length=30, nulled=CSF),
    # 3 T T1-weighted as clinics acquire it: an inversion-prepared fast gradient echo (MPRAGE-like; the
    # readout is short, so the recovery is modelled as IR with TR 2000 ms, TI 1000 ms and TE 3 ms).
    ("T1", HIGH_FIELD_T): Protocol("T1", HIGH_FIELD_T, "IR", tr_ms=2000, te_ms=3, train_ms=0, ti_ms=1000),
    ("T2", HIGH_FIELD_T): Protocol("T2", HIGH_FIELD_T, "SE", tr_ms=5000, te_ms=100, train_ms=200,
                                   echo_train_length=16),
    ("FLAIR", HIGH_FIELD_T): Protocol("FLAIR", HIGH_FIELD_T, "IR", tr_ms=9000, te_ms=100, train_ms=200,
                                      ti_ms=2500, echo_train_length=16),
}


def protocol(sequence: str, field_t: float) -> Protocol:
    return PROTOCOLS[(sequence, field_t)]
