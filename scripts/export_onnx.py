"""Export the book's shipped generators (gancourse/weights/) to ONNX, for running them in a web page.

    python scripts/export_onnx.py                        # dcgan, cgan, acgan, stylegan -> book/_static/models/
    python scripts/export_onnx.py --models dcgan --out /tmp/models

Offline: it needs only the committed weights and the `onnx` and `onnxscript` packages (the exporter is
``torch.onnx.export(..., dynamo=True)``). It writes ``<name>.onnx`` per model and ``manifest.json``, which
lists every model's inputs and output (names, shapes, dtypes, meaning), its latent size and file size.
With the DCGAN it writes ``dcgan_styles.json``: chapter 3's latent groups (``latent.StylePool``) and its
averaged boldness direction, which the chapter's live arithmetic panel adds to them.
tests/test_onnx_export.py checks that onnxruntime gives the images PyTorch gives.

Conventions, the same for every model:

* every tensor is float32 except the integer ``label`` (cGAN, ACGAN) and ``crossover`` (StyleGAN), which are int64;
* the first dimension of every input but the two scalars is the batch, dynamic (named ``batch``): one
  image or a whole grid per run;
* the output ``images`` is (batch, 1, 28, 28) with pixels in [-1, 1] (tanh); ``(x + 1) / 2`` gives [0, 1];
* nothing is random inside a graph: latents, and the StyleGAN's per-layer noise, are inputs;
* the shipped weights are float16 (gancourse.pretrained), so the graphs store them as float16 and cast
  them to float32 on load: exact, at half the size. ``--float32-weights`` stores float32 instead.

The StyleGAN graph does style mixing and truncation as chapter 7 does them: ``z_a`` styles the layers
before ``crossover``, ``z_b`` the others (``stylegan.mix_styles``), and both ws are pulled towards the
average w by ``psi`` (``fixes.truncate_toward_mean``). ``crossover = 8`` and ``psi = 1`` give
``G(z_a, noise)``, the plain generator. The average w is the book's: the mean of ``G.mapping`` over
10,000 latents drawn with seed 0, stored in the graph.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from gancourse import classifier, fixes, latent, pretrained, stylegan

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "book" / "_static" / "models"
MODELS = ("dcgan", "cgan", "acgan", "stylegan")
STYLE_POOL = dict(n=4000, seed=11)  # chapter 3's pool of digits for latent arithmetic (book/03_dcgan.md)
STYLE_GROUP = 6  # latents per digit and style that the live panel shows, as chapter 3's add_style
IMAGES = "pixels in [-1, 1] (tanh); (x + 1) / 2 gives [0, 1]"


class MixingStyleGAN(nn.Module):
    """The StyleGAN generator with chapter 7's style mixing and truncation, and its noise as inputs.

    ``forward(z_a, z_b, crossover, psi, *noise)``: layers ``0 .. crossover-1`` read ``z_a``'s w and the
    rest ``z_b``'s, each w first truncated towards the average w by ``psi``; ``noise`` holds one
    (batch, 1, H, W) map per layer (``G.make_noise``).
    """

    def __init__(self, G: stylegan.StyleGenerator, w_mean: torch.Tensor) -> None:
        super().__init__()
        self.G = G
        self.register_buffer("w_mean", w_mean)

    def forward(self, z_a, z_b, crossover, psi, *noise):
        G = self.G
        w_a = fixes.truncate_toward_mean(G.mapping(z_a), self.w_mean, psi)
        w_b = fixes.truncate_toward_mean(G.mapping(z_b), self.w_mean, psi)
        return G.synthesis(stylegan.mix_styles(w_a, w_b, G.num_styles, crossover), list(noise))


def export_spec(name: str, G: nn.Module) -> dict:
    """What to export for ``name``: the module, example inputs, input names, dynamic axes and documentation."""
    batch = torch.export.Dim("batch")
    n = 3  # any batch > 1 works: the batch axis is exported as dynamic
    rng = torch.Generator().manual_seed(0)
    if name == "dcgan":
        return dict(module=G, args=(torch.randn(n, G.latent_dim, generator=rng),), names=["z"],
                    dynamic=({0: batch},), latent_dim=G.latent_dim,
                    about="DCGAN generator of chapter 3: G(z)",
                    inputs={"z": "latent, standard normal"})
    if name in ("cgan", "acgan"):
        which = "conditional DCGAN" if name == "cgan" else "auxiliary-classifier GAN (ACGAN)"
        return dict(module=G, args=(torch.randn(n, G.latent_dim, generator=rng), torch.tensor([0, 4, 9])),
                    names=["z", "label"], dynamic=({0: batch}, {0: batch}), latent_dim=G.latent_dim,
                    n_classes=G.n_classes,
                    about=f"{which} generator of chapter 4: G(z, label), the digit to draw",
                    inputs={"z": "latent, standard normal",
                            "label": f"the digit to draw, an integer in 0..{G.n_classes - 1} (one-hot inside)"})
    if name == "stylegan":
        noise = G.make_noise(n, rng)
        args = (torch.randn(n, G.latent_dim, generator=rng), torch.randn(n, G.latent_dim, generator=rng),
                torch.tensor(G.num_styles // 2), torch.tensor(0.7), *noise)
        noise_names = [f"noise_{i}" for i in range(G.num_styles)]
        return dict(module=MixingStyleGAN(G, stylegan.average_w(G)).eval(), args=args,
                    names=["z_a", "z_b", "crossover", "psi", *noise_names],
                    dynamic=({0: batch}, {0: batch}, None, None, tuple({0: batch} for _ in noise)),
                    latent_dim=G.latent_dim, w_dim=G.w_dim, num_styles=G.num_styles,
                    w_mean="stylegan.average_w(G): the mean of G.mapping over 10,000 standard normal z, seed 0",
                    about=("tiny StyleGAN generator of chapter 7 with style mixing and truncation; "
                           f"crossover = {G.num_styles} and psi = 1 give the plain G(z_a, noise)"),
                    inputs={"z_a": "latent of the early (coarse) layers, standard normal",
                            "z_b": "latent of the late (fine) layers, standard normal (any z if unused)",
                            "crossover": f"scalar: layers 0..crossover-1 read z_a, the rest z_b (0..{G.num_styles})",
                            "psi": "scalar truncation: w_mean + psi * (w - w_mean); 1 leaves w as it is",
                            **{k: f"layer {i}'s noise map, standard normal" for i, k in enumerate(noise_names)}})
    raise ValueError(f"no export recipe for {name!r}; this script exports {MODELS}")


def style_groups(G: nn.Module) -> dict:
    """Chapter 3's latent arithmetic as data for its live panel: per digit, the latents of the STYLE_GROUP
    thinnest and boldest confident members of the chapter's pool, and the averaged boldness direction."""
    pool = latent.StylePool(G, classifier.load_course_classifier(), **STYLE_POOL)
    as_list = lambda t: np.round(t.numpy().astype(np.float64), 6).tolist()  # noqa: E731
    return {"about": ("chapter 3's latent arithmetic: latent.StylePool(G, course classifier, "
                      f"n={STYLE_POOL['n']}, seed={STYLE_POOL['seed']}); groups[style][digit] holds the "
                      f"{STYLE_GROUP} thinnest or boldest confident digits' latents, boldest or thinnest first; "
                      "boldness = pool.direction('bold', 'thin'), averaged over groups of 40 of every digit"),
            "model": "dcgan", "latent_dim": G.latent_dim,
            "boldness": as_list(pool.direction("bold", "thin")),
            "groups": {style: [as_list(pool.group(d, style, STYLE_GROUP)) for d in range(10)]
                       for style in ("thin", "bold")}}


def store_weights_as_float16(model) -> int:
    """Store every float32 weight that float16 holds exactly as float16, cast back to float32 in the graph.

    Lossless by construction (a weight is converted only if it round-trips exactly); returns the bytes saved.
    """
    import onnx
    from onnx import helper, numpy_helper

    graph, kept, casts, saved = model.graph, [], [], 0
    for init in graph.initializer:
        if init.data_type == onnx.TensorProto.FLOAT:
            values = numpy_helper.to_array(init)
            half = values.astype(np.float16)
            if values.size >= 16 and np.array_equal(half.astype(np.float32), values):
                kept.append(numpy_helper.from_array(half, name=f"{init.name}.float16"))
                casts.append(helper.make_node("Cast", [kept[-1].name], [init.name], name=f"{init.name}.cast",
                                              to=onnx.TensorProto.FLOAT))
                saved += values.nbytes - half.nbytes
                continue
        kept.append(init)
    del graph.initializer[:]
    graph.initializer.extend(kept)
    nodes = casts + list(graph.node)
    del graph.node[:]
    graph.node.extend(nodes)
    return saved


def _describe(value_info, about: dict[str, str]) -> dict:
    import onnx

    dims = value_info.type.tensor_type.shape.dim
    return {"name": value_info.name,
            "shape": [d.dim_param if d.dim_param else d.dim_value for d in dims],
            "dtype": onnx.helper.tensor_dtype_to_np_dtype(value_info.type.tensor_type.elem_type).name,
            "description": about.get(value_info.name, IMAGES)}


def export_model(name: str, G: nn.Module, out: Path, float16_weights: bool = True) -> dict:
    """Export ``name`` to ``out/<name>.onnx``; returns its manifest entry."""
    import onnx
    import onnxscript.optimizer

    spec = export_spec(name, G)
    with warnings.catch_warnings():  # "axis name batch will not be used": every input's batch is one axis
        warnings.filterwarnings("ignore", message=".*axis name.*")
        program = torch.onnx.export(spec["module"], spec["args"], None, input_names=spec["names"],
                                    output_names=["images"], dynamic_shapes=spec["dynamic"], dynamo=True,
                                    optimize=False, verbose=False)
    # Fold constants (this also turns chunk's sequence ops into Split) but do not fuse BatchNorm into the
    # layers before it, as optimize=True would: the fused weights are no longer float16-exact.
    onnxscript.optimizer.fold_constants(program.model)
    onnxscript.optimizer.remove_unused_nodes(program.model)
    model = program.model_proto
    for node in model.graph.node:  # the exporter's per-node notes: stack traces with local paths, ~1/3 of a file
        del node.metadata_props[:]
        node.doc_string = ""
    if float16_weights:
        store_weights_as_float16(model)
    model.doc_string = spec["about"]
    onnx.helper.set_model_props(model, {"gancourse.model": name})
    onnx.checker.check_model(model, full_check=True)

    path = out / f"{name}.onnx"
    tmp = path.with_suffix(".onnx.tmp")
    tmp.write_bytes(model.SerializeToString())
    tmp.replace(path)
    data = path.read_bytes()
    entry = {"file": path.name, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest(),
             "description": spec["about"], "weights": f"gancourse/weights/{name}_generator.pt",
             "opset": next(o.version for o in model.opset_import if o.domain in ("", "ai.onnx")),
             "latent_dim": spec["latent_dim"]}
    entry.update({key: spec[key] for key in ("n_classes", "w_dim", "num_styles", "w_mean") if key in spec})
    entry["inputs"] = [_describe(v, spec["inputs"]) for v in model.graph.input]
    (entry["output"],) = [_describe(v, {}) for v in model.graph.output]
    return entry


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="+", choices=MODELS, default=list(MODELS))
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="folder for <name>.onnx and manifest.json")
    parser.add_argument("--weights", type=Path, default=None,
                        help="folder of <name>_generator.pt (default: gancourse/weights/)")
    parser.add_argument("--float32-weights", action="store_true",
                        help="store weights as float32 (twice the size; the default float16 is exact)")
    args = parser.parse_args(argv)

    generators = {}
    for name in args.models:
        try:
            generators[name] = pretrained.load_generator(name, device="cpu", folder=args.weights)
        except FileNotFoundError as error:
            print(f"error: cannot export {name}: {error}", file=sys.stderr)
            return 2
    import onnx
    import onnxscript

    args.out.mkdir(parents=True, exist_ok=True)
    manifest = {
        "about": "The book's generators as ONNX graphs, exported by scripts/export_onnx.py (its docstring has "
                 "the conventions). Dimensions named 'batch' are dynamic.",
        "exported_with": {"torch": torch.__version__.split("+")[0], "onnx": onnx.__version__,
                          "onnxscript": onnxscript.__version__},
        "weights_storage": "float32" if args.float32_weights else "float16, cast to float32 in the graph (exact)",
        "models": {},
    }
    for name, G in generators.items():
        print(f"exporting {name} ...", flush=True)
        start = time.perf_counter()
        entry = export_model(name, G, args.out, float16_weights=not args.float32_weights)
        manifest["models"][name] = entry
        print(f"  {entry['file']}: {entry['bytes'] / 1e6:.2f} MB in {time.perf_counter() - start:.1f} s", flush=True)
        if name == "dcgan":
            styles = args.out / "dcgan_styles.json"
            styles.with_suffix(".tmp").write_text(json.dumps(style_groups(G)) + "\n")
            styles.with_suffix(".tmp").replace(styles)
            manifest["data"] = {"dcgan_styles": {"file": styles.name, "bytes": styles.stat().st_size,
                                                 "description": "chapter 3's latent groups and boldness direction"}}
            print(f"  {styles.name}: {styles.stat().st_size / 1e3:.0f} kB", flush=True)
    path = args.out / "manifest.json"
    path.with_suffix(".tmp").write_text(json.dumps(manifest, indent=1) + "\n")
    path.with_suffix(".tmp").replace(path)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
