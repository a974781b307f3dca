"""Longer series for the round trip: copies of a simulated series, fresh UIDs, same pixels."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest

from benchmarks.series import source_slices, write_series
from lohires_edge.errors import LohiresError
from trainer.simulate import simulate_dataset


@pytest.fixture(scope="module")
def simulated_series(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sim")
    simulate_dataset(out / "data", 1, sequences=("T1",), seed=5, dicom_dir=out / "dicom", size="small")
    return next((out / "dicom").iterdir())


def test_copies_cycle_the_source_with_fresh_uids(simulated_series: Path, tmp_path: Path) -> None:
    sources = source_slices(simulated_series)
    count = 2 * len(sources) + 3
    files = write_series(sources, count, tmp_path / "long")
    copies = [pydicom.dcmread(p) for p in files]
    originals = [pydicom.dcmread(p) for p in sources]

    assert len(copies) == count
    uids = {ds.SOPInstanceUID for ds in copies}
    assert len(uids) == count and not uids & {ds.SOPInstanceUID for ds in originals}
    assert all(ds.file_meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID for ds in copies)
    assert len({ds.SeriesInstanceUID for ds in copies}) == 1
    assert copies[0].SeriesInstanceUID != originals[0].SeriesInstanceUID
    assert [int(ds.InstanceNumber) for ds in copies] == list(range(1, count + 1))
    for index, ds in enumerate(copies):
        np.testing.assert_array_equal(ds.pixel_array, originals[index % len(originals)].pixel_array)
    # the sources are left as they were
    assert [pydicom.dcmread(p).SOPInstanceUID for p in sources] == [ds.SOPInstanceUID for ds in originals]


@pytest.mark.parametrize("name", ["empty", "missing"])
def test_a_folder_without_dicom_files_is_refused(tmp_path: Path, name: str) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(LohiresError, match="no .dcm files; give a folder"):
        source_slices(tmp_path / name)
