"""The course's showcase generators, trained once by ``scripts/train_models.py`` and shipped as small files.

Chapters 3, 4, 6 and 7 load these instead of training for minutes: the DCGAN, the cGAN, the ACGAN,
the InfoGAN and the tiny StyleGAN of the embedded MNIST digits. Each ``<name>_generator.pt`` holds
the generator's weights in half precision (to keep the repository small; they are cast back to
float32 on load), and ``<name>.json`` records how it was made: device, seed, versions, steps, wall
time and loss history.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from torch import nn

from . import conditional, nets, stylegan
from .train import pick_device

WEIGHTS = Path(__file__).resolve().parent / "weights"

BUILDERS = {
    "dcgan": (nets.DCGANGenerator, nets.DCGANDiscriminator),
    "cgan": (conditional.ConditionalGenerator, conditional.ConditionalDiscriminator),
    "acgan": (conditional.ConditionalGenerator, conditional.ACGANDiscriminator),
    "infogan": (conditional.InfoGANGenerator, conditional.InfoGANDiscriminator),
    "stylegan": (stylegan.StyleGenerator, stylegan.StyleDiscriminator),
}


def _check(name: str, folder: Path | None) -> Path:
    folder = WEIGHTS if folder is None else Path(folder)
    if name not in BUILDERS:
        raise ValueError(f"unknown model {name!r}; the course ships {sorted(BUILDERS)}")
    path = folder / f"{name}_generator.pt"
    if not path.exists():
        raise FileNotFoundError(
            f"{path} is missing. Regenerate it with `python scripts/train_models.py --models {name}` "
            "from the repository root (it trains on cuda when present, otherwise on the CPU)."
        )
    return path


def load_generator(name: str, device: str | torch.device | None = "cpu", folder: Path | None = None) -> nn.Module:
    """The pretrained generator ``name`` (dcgan, cgan, acgan, infogan or stylegan), in eval mode, float32."""
    path = _check(name, folder)
    generator = BUILDERS[name][0]()
    state = torch.load(path, map_location="cpu", weights_only=True)
    generator.load_state_dict({key: value.float() if value.is_floating_point() else value
                               for key, value in state.items()})
    device = pick_device(str(device)) if device is not None else pick_device()
    return generator.to(device).eval()


def load_metadata(name: str, folder: Path | None = None) -> dict:
    """What ``scripts/train_models.py`` recorded about ``name``: device, seed, versions, time, history."""
    return json.loads(_check(name, folder).with_name(f"{name}.json").read_text())


def save_generator(generator: nn.Module, name: str, metadata: dict, folder: Path = WEIGHTS) -> Path:
    """Write the generator's weights in half precision and its metadata, each atomically."""
    folder.mkdir(parents=True, exist_ok=True)
    state = {key: value.detach().cpu().half() if value.is_floating_point() else value.detach().cpu()
             for key, value in generator.state_dict().items()}
    path = folder / f"{name}_generator.pt"
    tmp = path.with_suffix(".tmp")
    torch.save(state, tmp)
    tmp.replace(path)
    meta = folder / f"{name}.json"
    meta.with_suffix(".tmp").write_text(json.dumps(metadata, indent=1))
    meta.with_suffix(".tmp").replace(meta)
    return path
