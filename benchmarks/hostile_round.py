"""The fourth hostile round's repros (issue #24), replayed on a checkout: each case's command as
the issue gives it, and whether the defect shows.

    python benchmarks/hostile_round.py                       # this checkout
    python benchmarks/hostile_round.py --tree /tmp/old       # another one (e.g. a git worktree)

Each case runs the tree's own scripts (``cwd`` and ``PYTHONPATH`` the tree) on copies in a
temporary folder and prints "defect" or "fixed" with the evidence; only B68 runs on the tree's
own Reuters runs (its repro is a rerun that skips them), and it puts back the summary as it
found it. The data root is ``$EXPERIMENTS_DATA_DIR``. The full-disk cases (B54, N55) mount a
small tmpfs, so they need root; without it they say n/a (their tests, in tests/test_outputs.py,
fake the full disk instead).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FACE = "ibug_68/afw/134212_1.jpg"
BOX = "30,30,120,120"
SMALL = ["--backbone", "small_cnn", "--weights", "none", "--image-size", "32", "--epochs", "1",
         "--detector", "none", "--quiet"]


class Tree:
    """One checkout's scripts, run in a scratch folder."""

    def __init__(self, root: Path, scratch: Path, data: Path):
        self.root, self.scratch, self.data = root, scratch, data
        self.run_dir = root / "results" / "landmarks" / "ibug68-small_cnn-128px"
        self.mounts: list[Path] = []

    def environ(self) -> dict:
        """The environment of the tree's processes: its code first, its data root."""
        return {**os.environ, "PYTHONPATH": str(self.root), "TF_CPP_MIN_LOG_LEVEL": "3",
                "EXPERIMENTS_DATA_DIR": str(self.data)}

    def run(self, *argv) -> subprocess.CompletedProcess:
        """``python argv...`` in the tree (a script path, or ``-c``/``-m`` and its argument)."""
        return subprocess.run([sys.executable, *map(str, argv)], cwd=self.root,
                              env=self.environ(), capture_output=True, text=True)

    def folder(self, name: str) -> Path:
        path = self.scratch / name
        path.mkdir(parents=True)
        return path

    def copy_run(self, name: str) -> Path:
        path = self.scratch / name
        shutil.copytree(self.run_dir, path, ignore=shutil.ignore_patterns("*.png", "tensorboard",
                                                                          "evaluate", "export"))
        return path

    def phone_run(self, name: str) -> Path:
        out = self.scratch / name
        if not (out / "metrics.json").exists():
            done = self.run("phone_price/train.py", "--epochs", "2", "--out", out, "--quiet")
            assert done.returncode == 0, done.stderr[-500:]
        return out

    def landmark_run(self, name: str, *flags) -> Path:
        out = self.scratch / name
        if (out / "metrics.json").exists():
            return out
        done = self.run("landmarks/train.py", *SMALL, *flags, "--out", out)
        assert done.returncode == 0, done.stderr[-800:]
        return out


def traceback_in(done) -> bool:
    return "Traceback" in done.stderr


def last_line(done) -> str:
    lines = (done.stderr or done.stdout).strip().splitlines()
    return f"rc {done.returncode}: {lines[-1][:150] if lines else '(no output)'}"


def n29(t: Tree):
    user = t.folder("N29")
    mine = {"predictions.csv": "data\n", "holiday_face1.pts": "k\n", "cat_overlay.png": "k\n"}
    for name, text in mine.items():
        (user / name).write_text(text)
    done = t.run("landmarks/predict.py", t.run_dir, t.data / FACE, "--box", BOX, "--out", user)
    lost = [n for n, text in mine.items()
            if not (user / n).exists() or (user / n).read_text() != text]
    return bool(lost), f"{last_line(done)}; user files replaced or deleted: {lost or 'none'}"


def n29b(t: Tree):
    pp = t.phone_run("PP")
    t.run("phone_price/evaluate.py", pp, "--predict", t.data / "phone_price" / "test.csv",
          "--output", pp / "predictions.csv")
    kept = (pp / "predictions.csv").exists()
    done = t.run("landmarks/predict.py", t.run_dir, t.scratch / "missing.jpg", "--out", pp)
    gone = kept and not (pp / "predictions.csv").exists()
    return gone, f"{last_line(done)}; the phone run's predictions.csv {'gone' if gone else 'kept'}"


def n37(t: Tree):
    run = t.phone_run("N37")
    user = t.folder("N37-user")
    (user / "mine.txt").write_text("k")
    shutil.rmtree(run / "tensorboard", ignore_errors=True)
    (run / "tensorboard").symlink_to(user)
    done = t.run("phone_price/train.py", "--epochs", "2", "--out", run, "--overwrite", "--quiet")
    lost = not (run / "metrics.json").exists() or not (user / "mine.txt").exists()
    return traceback_in(done) or lost, f"{last_line(done)}; metrics.json or user file lost: {lost}"


def n05(t: Tree):
    path = "results/landmarks/ibug68-small_cnn-128px/export/model.tflite"
    ignored = subprocess.run(["git", "-C", str(t.root), "check-ignore", "-q", path]).returncode == 0
    return not ignored, f"git {'ignores' if ignored else 'does not ignore'} {path}"


def b68(t: Tree):
    corrupt = t.folder("B68-data")
    shutil.copytree(t.data, corrupt, dirs_exist_ok=True, symlinks=True,
                    ignore=shutil.ignore_patterns("ibug_68", "muct*", "phone_price"))
    for npz in corrupt.rglob("reuters*.npz"):
        npz.write_bytes(b"not a zip")
    summary = t.root / "results" / "reuters_losses" / "best" / "summary.md"
    before = summary.read_bytes() if summary.exists() else None
    try:
        done = t.run("reuters_losses/best.py", "--data-dir", corrupt)
        after = summary.read_text() if summary.exists() else ""
    finally:  # the user's summary as it was, whatever the tree's best.py did to it
        if before is not None and summary.read_bytes() != before:
            summary.write_bytes(before)
    leaked = str(corrupt) in after or "--data-dir" in after
    rewritten = after.encode() != before
    return leaked, (f"{last_line(done)}; summary {'rewritten' if rewritten else 'unchanged'}"
                    f", names the data path: {leaked}")


def n15c_n16(t: Tree):
    run = t.copy_run("N15c")
    with zipfile.ZipFile(run / "model.keras", "a") as model:  # one more member: another file
        model.writestr("extra.txt", "changed")
    changed = t.run("landmarks/predict.py", run, t.data / FACE, "--box", BOX,
                    "--out", t.scratch / "N15c-out")
    run = t.copy_run("N16")
    (run / "model.keras.sha256").write_text("0" * 64 + "  model.keras\n")
    record = t.run("landmarks/predict.py", run, t.data / FACE, "--box", BOX,
                   "--out", t.scratch / "N16-out")
    return changed.returncode == 0 or record.returncode == 0, (
        f"changed model: {last_line(changed)}; changed sha256: {last_line(record)}")


def b61(t: Tree):
    run = t.phone_run("B61")
    split = json.loads((run / "split.json").read_text())
    split["test"][0] = -5
    (run / "split.json").write_text(json.dumps(split))
    done = t.run("phone_price/evaluate.py", run, "--out", t.scratch / "B61-out")
    return done.returncode == 0, last_line(done)


def b66(t: Tree):
    run = t.landmark_run("B66", "--dataset", "muct")
    done = t.run("landmarks/evaluate.py", run, "--subsets", "afw", "--out", t.scratch / "B66-out")
    return done.returncode == 0, last_line(done)


def b31(t: Tree):
    csv = t.scratch / "B31.csv"
    lines = (t.data / "phone_price" / "train.csv").read_text().splitlines()
    csv.write_text("\n".join([lines[0]] + [line for line in lines[1:] for _ in (0, 1)]) + "\n")
    done = t.run("phone_price/train.py", "--csv", csv, "--epochs", "1", "--out",
                 t.scratch / "B31-run", "--quiet")
    said = any(w in (done.stdout + done.stderr).lower() for w in ("duplicate", "repeat", "copies"))
    return done.returncode == 0 and not said, f"{last_line(done)}; says so: {said}"


def b60(t: Tree):
    root = t.folder("B60") / "ibug_68" / "afw"
    root.mkdir(parents=True)
    for src in sorted((t.data / "ibug_68" / "afw").glob("*.jpg"))[:40]:
        shutil.copy(src, root / src.name)
        shutil.copy(src.with_suffix(".pts"), root / src.with_suffix(".pts").name)
    first = sorted(root.glob("*.pts"))[0]
    first.unlink()
    first.symlink_to("/etc/passwd")
    done = t.run("landmarks/train.py", *SMALL, "--data-dir", root.parent.parent, "--subsets",
                 "afw", "--out", t.scratch / "B60-run")
    quoted = "root:" in done.stdout + done.stderr
    return quoted, f"{last_line(done)}; quotes /etc/passwd: {quoted}"


def n01(t: Tree):
    root = t.folder("N01") / "ibug_68"
    root.mkdir()
    (root / "afw").symlink_to(t.data / "ibug_68" / "afw")
    out = t.scratch / "N01-run"
    done = t.run("landmarks/train.py", *SMALL, "--data-dir", root.parent, "--subsets", "afw",
                 "--out", out)
    return done.returncode != 0 or traceback_in(done), last_line(done)


PREDICT_INPUTS = """
import numpy as np
from PIL import Image
from landmarks.inference import Predictor
p = Predictor.from_run({run!r})
image = np.asarray(Image.open({face!r}).convert("RGB"))
box = np.array([30.0, 30.0, 120.0])
cases = {{"float 0..1 image": (image / 255.0, box),
         "uint16 image": (image.astype(np.uint16) * 257, box),
         "side 0": (image, np.array([30.0, 30.0, 0.0])),
         "NaN side": (image, np.array([30.0, 30.0, np.nan])),
         "negative side": (image, np.array([30.0, 30.0, -120.0])),
         "three 4-number boxes": (image, np.array([[30.0, 30.0, 120.0, 1.0]] * 3))}}
for name, (img, boxes) in cases.items():
    try:
        p.predict(img, boxes)
        print("ACCEPTED", name)
    except Exception as error:
        print("REFUSED", name, type(error).__name__)
"""


def n22_n25(t: Tree):
    done = t.run("-c", PREDICT_INPUTS.format(run=str(t.run_dir), face=str(t.data / FACE)))
    accepted = [line.split(" ", 1)[1] for line in done.stdout.splitlines()
                if line.startswith("ACCEPTED")]
    return bool(accepted) or done.returncode != 0, (
        f"accepted: {accepted or 'none'}" if done.returncode == 0 else last_line(done))


def n31(t: Tree):
    out = t.scratch / "N31"
    images = [t.data / p for p in (FACE, "ibug_68/afw/1051618982_1.jpg")]
    others = sorted((t.data / "ibug_68" / "afw").glob("*.jpg"))[2:4]
    procs = [subprocess.Popen([sys.executable, "landmarks/predict.py", t.run_dir,
                               *batch, "--out", out], cwd=t.root, env=t.environ(),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for batch in (images, others)]
    codes = [p.wait() for p in procs]
    csv = out / "predictions.csv"
    listed = len({line.split(",")[0] for line in csv.read_text().splitlines()[1:]}) \
        if csv.exists() else 0
    lost = all(c == 0 for c in codes) and listed < 4
    return lost, f"rc {codes}; predictions.csv lists {listed} of 4 images"


def n10(t: Tree):
    target = t.scratch / "N10-file"
    target.write_text("k")
    done = t.run("landmarks/export.py", t.run_dir, "--format", "savedmodel", "--out", target)
    return traceback_in(done), last_line(done)


def b26_n18(t: Tree):
    run = t.phone_run("B26")
    model = run / "model.keras"
    model.write_bytes(model.read_bytes()[:2000])
    for sha in run.glob("*.sha256"):
        sha.unlink()
    done = t.run("phone_price/evaluate.py", run, "--out", t.scratch / "B26-out")
    return traceback_in(done), last_line(done)


def n13(t: Tree):
    run = t.copy_run("N13")
    (run / "model.keras.sha256").unlink()
    done = t.run("landmarks/model_card.py", run)
    return traceback_in(done), last_line(done)


def n12_n14(t: Tree):
    run = t.copy_run("N12")
    (run / "metrics.json").write_text("{not json")
    done = t.run("landmarks/model_card.py", run)
    flags = [f for f in ("--overwrite", "--out") if f in done.stdout + done.stderr]
    return bool(flags), f"{last_line(done)}; flags it lacks, advised: {flags or 'none'}"


def b64(t: Tree):
    out = t.scratch / "B64-run"
    done = t.run("landmarks/train.py", "--backbone", "small_cnn", "--image-size", "32",
                 "--epochs", "1", "--quiet", "--weights", t.scratch / "missing.keras", "--out", out)
    left = sorted(p.name for p in out.iterdir()) if out.exists() else []
    return bool(left), f"{last_line(done)}; left in the run folder: {left or 'nothing'}"


def n11(t: Tree):
    """N11 (an AFW-only run, with the HOG box mapping), N13d (a MUCT run): cards of other runs."""
    claims = {"N11": ("979", "nan%", "two 300-W subsets"), "N13d": ("300-W / iBUG",)}
    runs = {"N11": t.landmark_run("N11", "--subsets", "afw", "--detector", "hog"),
            "N13d": t.landmark_run("B66", "--dataset", "muct")}
    false, lines = [], []
    for case, run in runs.items():
        done = t.run("landmarks/model_card.py", run)
        card = (run / "MODEL_CARD.md").read_text() if (run / "MODEL_CARD.md").exists() else ""
        false += [f"{case}: {s}" for s in claims[case] if s in card]
        lines.append(f"{case} {last_line(done)}")
    return bool(false), f"{'; '.join(lines)}; false claims: {false or 'none'}"


def n40(t: Tree):
    user = t.folder("N40")
    (user / "mine.txt").write_text("k")
    done = t.run("phone_price/train.py", "--epochs", "1", "--out", user, "--overwrite", "--quiet")
    lock = (user / ".lock").exists()
    return lock, f"{last_line(done)}; .lock left: {lock}"


def small_disk(t: Tree, name: str, size: str) -> Path:
    """A tmpfs of ``size`` (e.g. "1200k"), unmounted when the scratch folder goes."""
    mount = t.folder(name)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mount)],
                   check=True, capture_output=True)
    t.mounts.append(mount)
    return mount


def b54(t: Tree):
    results = []
    for size in ("1000k", "1200k"):
        done = t.run("phone_price/train.py", "--epochs", "2", "--quiet",
                     "--out", small_disk(t, f"B54-{size}", size) / "run")
        results.append((size, done))
    bad = [s for s, done in results if done.returncode < 0 or done.returncode > 128
           or traceback_in(done)]
    return bool(bad), "; ".join(f"{s}: {last_line(done)}" for s, done in results)


def n55(t: Tree):
    disk = small_disk(t, "N55", "1200k")
    done = t.run("landmarks/export.py", t.run_dir, "--format", "savedmodel", "--out", disk / "x")
    left = sorted(str(p.relative_to(disk)) for p in disk.rglob("*temp*"))
    return traceback_in(done) or bool(left), f"{last_line(done)}; left: {left or 'nothing'}"


def n03(t: Tree):
    done = t.run("-m", "common.reproduce", "--dry-run")
    vague = "minutes when nothing is complete" in done.stdout + done.stderr
    return vague or done.returncode != 0, f"rc {done.returncode}; '(minutes when nothing is " \
                                          f"complete)' printed: {vague}"


CASES = {"N29": n29, "N29b": n29b, "N37": n37, "N05": n05, "B68": b68, "N15c/N16": n15c_n16,
         "B61": b61, "B66": b66, "B31": b31, "B60": b60, "N01": n01, "N22/N25/N25b": n22_n25,
         "N31": n31, "N10": n10, "B26/N18": b26_n18, "N13": n13, "N12/N14/N13c": n12_n14,
         "B64": b64, "N11/N13d": n11, "N40": n40, "N03": n03, "B54": b54, "N55": n55}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, allow_abbrev=False,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tree", type=Path, default=REPO, help="the checkout to replay on")
    parser.add_argument("--cases", nargs="+", choices=CASES, default=list(CASES),
                        help="the cases to replay")
    args = parser.parse_args()
    data = os.environ.get("EXPERIMENTS_DATA_DIR")
    if not data or not Path(data).is_dir():
        sys.exit("hostile_round.py: set EXPERIMENTS_DATA_DIR to the data root (../shared/data)")
    commit = subprocess.run(["git", "-C", str(args.tree), "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True).stdout.strip()
    print(f"tree {args.tree} at {commit}")
    with tempfile.TemporaryDirectory() as scratch:
        tree = Tree(args.tree.resolve(), Path(scratch), Path(data).resolve())
        verdicts = {}
        try:
            for name in args.cases:
                try:
                    defect, evidence = CASES[name](tree)
                except Exception as error:  # a repro that cannot run is reported, not fatal
                    defect, evidence = None, f"could not run: {type(error).__name__}: {error}"
                verdicts[name] = {True: "defect", False: "fixed", None: "n/a"}[defect]
                print(f"{name:14} {verdicts[name]:7} {evidence}", flush=True)
        finally:
            for mount in tree.mounts:
                subprocess.run(["umount", str(mount)], capture_output=True)
    counts = {v: list(verdicts.values()).count(v) for v in ("fixed", "defect", "n/a")}
    print(", ".join(f"{n} {v}" for v, n in counts.items()))
    if tree.root == REPO and list(verdicts) == list(CASES):  # this checkout, every case
        from benchmarks.record import record_benchmark

        record_benchmark("hostile_round", f"{len(verdicts)} cases of issue #24 replayed: "
                         + ", ".join(f"{n} {v}" for v, n in counts.items()), verdicts)


if __name__ == "__main__":
    main()
