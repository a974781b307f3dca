"""`make demo`: the whole job on one machine, with real DICOM peers on loopback.

A simulated 64 mT T1 series (a subject the shipped model never saw) goes from a DICOM client to the node
(`lohires-edge serve` with the shipped model), and the derived series comes back to a DICOM receiver. Then
a montage (64 mT input | enhanced | where it departs from its input | 3 T reference) and a metrics table
with each image's fidelity to its input are written, next to the classical baseline (NLM + bicubic). dcmtk's storescu/storescp are used where installed (found by
`dcmtk_program`, never pynetdicom's same-named scripts), else pynetdicom's.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import nibabel as nib
import numpy as np
import pydicom
from PIL import Image, ImageDraw
from skimage.transform import resize

from lohires_edge.dataset_layout import HIGH_FIELD_DIR
from lohires_edge.dicom.dcmtk import dcmtk_program
from lohires_edge.fidelity import departure_map, dicom_pixel_mm
from trainer.baseline import classical_baseline
from trainer.reference import DEPARTURE_WHITE, compare, departure_image, sample_at_plane, unit_scale
from trainer.simulate import simulate_dataset

DEMO_SEED = 2026  # not a training or held-out seed of the shipped models
NODE_AE, SCANNER_AE, RECEIVER_AE = "LOHIRES", "SCANNER", "RECEIVER"
MONTAGE_SLICES = 4
WAIT_SECONDS = 300
MARKER = ".lohires-demo"  # the demo only ever deletes a folder that holds this file


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("demo-out"), help="where everything is written")
    parser.add_argument("--model", type=Path, help="ONNX model (default: the shipped T1 model)")
    args = parser.parse_args(argv)
    started = time.monotonic()
    out = args.out.resolve()
    if out.exists() and any(out.iterdir()):
        if not (out / MARKER).is_file():
            raise SystemExit(f"demo: {out} exists and was not written by the demo; give another --out")
        shutil.rmtree(out)  # a previous demo's output, and only that
    out.mkdir(parents=True, exist_ok=True)
    (out / MARKER).write_text("written by `make demo`; the next demo run replaces this folder\n")

    step("simulating a 64 mT T1 acquisition and its 3 T reference")
    simulate_dataset(out / "data", subjects=1, sequences=("T1",), seed=DEMO_SEED, dicom_dir=out / "scanner")
    series = next((out / "scanner").iterdir())
    received = out / "received"
    received.mkdir()

    node_port, receiver_port = free_port(), free_port()
    config = write_config(out, node_port, receiver_port, args.model)
    with running(receiver_command(received, receiver_port), out / "receiver.log") as receiver, \
            running([program("lohires-edge"), "serve", "--config", str(config)], out / "node.log") as node:
        wait_for_port(node_port, node, out / "node.log")
        wait_for_port(receiver_port, receiver, out / "receiver.log")
        count = len(list(series.glob("*.dcm")))
        client = "dcmtk" if dcmtk_program("storescu") else "pynetdicom"
        step(f"sending {count} slices to the node with {client} storescu")
        subprocess.run(sender_command(series, node_port), check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=WAIT_SECONDS)
        step("waiting for the derived series")
        wait_for_files(received, count, node, out / "node.log")

    step("comparing with the 3 T reference")
    montage, table = report(out / "data", series, received)
    montage_path, table_path = out / "montage.png", out / "metrics.md"
    montage.save(montage_path)
    table_path.write_text(table)
    print(table)
    print(f"montage: {montage_path}\nmetrics: {table_path}\nderived series: {received}\n"
          f"node log: {out / 'node.log'}\ndone in {time.monotonic() - started:.0f} s")
    return 0


def step(message: str) -> None:
    print(f"==> {message}", flush=True)


def program(name: str) -> str:
    return str(Path(sys.executable).with_name(name))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_config(out: Path, node_port: int, receiver_port: int, model: Path | None) -> Path:
    model_line = f'path = "{model.resolve()}"\n' if model else ""
    config = out / "node.toml"
    config.write_text(f"""[node]
ae_title = "{NODE_AE}"
host = "127.0.0.1"
port = {node_port}
spool_dir = "{out / 'spool'}"

[[node.allowed_callers]]
ae_title = "{SCANNER_AE}"
host = "127.0.0.1"

[[models]]
sequence = "T1"
{model_line}
[[destinations]]
ae_title = "{RECEIVER_AE}"
host = "127.0.0.1"
port = {receiver_port}

[telemetry]
port = 0
""")
    return config


def receiver_command(folder: Path, port: int) -> list[str]:
    storescp = dcmtk_program("storescp")
    if storescp:
        return [storescp, "-aet", RECEIVER_AE, "-od", str(folder), str(port)]
    return [sys.executable, "-m", "pynetdicom", "storescp", "-aet", RECEIVER_AE, "-od", str(folder), str(port)]


def sender_command(series: Path, port: int) -> list[str]:
    storescu = dcmtk_program("storescu")
    if storescu:
        return [storescu, "-aet", SCANNER_AE, "-aec", NODE_AE, "+sd", "127.0.0.1", str(port), str(series)]
    return [sys.executable, "-m", "pynetdicom", "storescu", "-aet", SCANNER_AE, "-aec", NODE_AE, "-r",
            "127.0.0.1", str(port), str(series)]


class running:
    """A subprocess for the length of a `with` block, logging to a file, stopped with SIGTERM at the end."""

    def __init__(self, command: list[str], log: Path) -> None:
        self.command, self.log = command, log

    def __enter__(self) -> subprocess.Popen:
        self.handle = self.log.open("w")
        self.process = subprocess.Popen(self.command, stdout=self.handle, stderr=subprocess.STDOUT)
        return self.process

    def __exit__(self, *exc: object) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.handle.close()


def wait_for_port(port: int, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"demo: a server stopped before listening; see {log}:\n{log.read_text()[-2000:]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"demo: nothing listened on port {port} within {WAIT_SECONDS} s; see {log}")


def wait_for_files(folder: Path, count: int, node: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while len(list(folder.iterdir())) < count:
        if node.poll() is not None:
            raise SystemExit(f"demo: the node stopped; see {log}:\n{log.read_text()[-2000:]}")
        if time.monotonic() > deadline:
            raise SystemExit(f"demo: only {len(list(folder.iterdir()))} of {count} derived slices arrived; see {log}")
        time.sleep(0.2)


def report(data: Path, series: Path, received: Path) -> tuple[Image.Image, str]:
    """The montage of a few slices and the Markdown metrics table over every derived slice."""
    sources = {ds.SOPInstanceUID: ds for ds in map(pydicom.dcmread, sorted(series.glob("*.dcm")))}
    derived = sorted((pydicom.dcmread(p) for p in received.iterdir()), key=lambda ds: int(ds.InstanceNumber))
    subject = series.name.split("_")[0]
    high = nib.load(data / HIGH_FIELD_DIR / f"{subject}_T1.nii.gz")
    volume, affine = np.asarray(high.dataobj, dtype=np.float64), high.affine

    scores: dict[str, list[dict[str, float]]] = {"64 mT input (bicubic)": [], "NLM + bicubic": [], "LoHiResGAN": []}
    panels = []
    picks = set(np.linspace(len(derived) * 0.3, len(derived) * 0.7, MONTAGE_SLICES).astype(int))
    for index, enhanced_ds in enumerate(derived):
        source = sources[enhanced_ds.SourceImageSequence[0].ReferencedSOPInstanceUID]
        enhanced = enhanced_ds.pixel_array.astype(np.float64)
        reference = sample_at_plane(volume, affine, enhanced_ds)
        if reference.max() <= 0:
            continue  # outside the 3 T slab
        low_field, pixel_mm = source.pixel_array.astype(np.float64), dicom_pixel_mm(source)
        candidates = {"64 mT input (bicubic)": resize(low_field, enhanced.shape, order=3, preserve_range=True),
                      "NLM + bicubic": classical_baseline(low_field, enhanced.shape), "LoHiResGAN": enhanced}
        departures = {name: departure_map(low_field, image, pixel_mm) for name, image in candidates.items()}
        for name, metrics in compare(reference, candidates).items():
            score = departures[name].scores().r2 if departures[name] is not None else float("nan")
            scores[name].append({**metrics, "fidelity": score})
        if index in picks:
            panels.append([unit_scale(resize(low_field, enhanced.shape, order=0)), unit_scale(enhanced),
                           departure_image(departures["LoHiResGAN"], enhanced.shape), unit_scale(reference)])
    return montage(panels), table(scores)


def montage(panels: list[list[np.ndarray]]) -> Image.Image:
    labels = ("64 mT input", "LoHiResGAN", f"departs from input (white: {DEPARTURE_WHITE:.0%})", "3 T reference")
    rows = [np.concatenate(row, axis=1) for row in panels]
    pixels = (np.concatenate(rows, axis=0) * 255).astype(np.uint8)
    header = 18
    image = Image.new("L", (pixels.shape[1], pixels.shape[0] + header), 0)
    image.paste(Image.fromarray(pixels), (0, header))
    draw = ImageDraw.Draw(image)
    width = panels[0][0].shape[1]
    for column, label in enumerate(labels):
        draw.text((column * width + 4, 3), label, fill=255)
    return image


def table(scores: dict[str, list[dict[str, float]]]) -> str:
    lines = ["| image vs 3 T reference | PSNR (dB) | SSIM | NRMSE | fidelity to the input: median (min) |",
             "| --- | --- | --- | --- | --- |"]
    for name, rows in scores.items():
        mean = {key: float(np.mean([r[key] for r in rows])) for key in ("psnr", "ssim", "nrmse")}
        judged = [r["fidelity"] for r in rows if not np.isnan(r["fidelity"])]
        fidelity_cell = f"{np.median(judged):.3f} ({min(judged):.3f})" if judged else "no anatomy"
        lines.append(f"| {name} | {mean['psnr']:.2f} | {mean['ssim']:.3f} | {mean['nrmse']:.3f} | {fidelity_cell} |")
    count = len(next(iter(scores.values())))
    return "\n".join(lines) + f"\n\nMean over {count} slices on the derived grid, each image's percentile window " \
                              "scaled to [0, 1]. Fidelity: lohires_edge.fidelity's score of each image against " \
                              "its own 64 mT slice (1.000 = faithful; the node's guard uses the same score).\n"


if __name__ == "__main__":
    sys.exit(main())
