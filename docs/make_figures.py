"""Make the figures of the README and docs/walkthrough.md:  python docs/make_figures.py [--out docs/figures]

Small and fast (a few seconds on a CPU): one degraded 96x96 image through the network, with the authors'
released weights when they are there (the walkthrough's text describes those figures), else the shipped
checkpoint, else a seeded untrained network.
Also writes the module-level graph of the U-Net as Graphviz source (unet_graph.dot), and the README's
results.png: built-in validation images restored by the shipped model.
"""
import argparse
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))  # run as a plain script from anywhere

import minigrad as mg  # noqa: E402
from data import open_dataset  # noqa: E402
from minigrad import viz  # noqa: E402
from unet import UNet, explain as ex  # noqa: E402
from unet.checkpoint import load_model  # noqa: E402
from unet.cli import check_output_folder, named, run  # noqa: E402
from unet.evaluation import restore_dataset  # noqa: E402
from unet.plots import save_triptych  # noqa: E402

SIZE = 96
IMAGE = "builtin:astronaut"
DEGRADATION = "kla"  # blur, colour cast and noise, as in the inspection images the network restores
RESULT_SAMPLES = ("skimage/camera", "brushed_metal/1000000", "tiles/1000005")  # built-in validation images


def network():
    """The released weights, else the best at hand, and where they came from."""
    if ex.RELEASED_WEIGHTS.exists():
        return ex.load_model(ex.RELEASED_WEIGHTS)
    try:
        return ex.load_model()
    except ex.ExplainError:
        return ex.load_model("random")


def same_weights_other_mode(model):
    """The same weights run with the other form of the non-local block, for the side-by-side figure."""
    other = UNet(nonlocal_mode="softmax" if model.nonlocal_mode == "published" else "published")
    other.load_state_dict(model.state_dict())
    return other


def write_graph(model, path):
    """The U-Net's graph with each top-level module collapsed into one box (a 16x16 input suffices)."""
    with viz.trace_modules(model):
        out = model(mg.rand(1, 3, 16, 16))
    path.write_text(viz.to_dot(out, model=model, collapse_modules=True))


def results_figure(path):
    """degraded | restored by the shipped model | clean, for RESULT_SAMPLES as `evaluate.py --data builtin` sees them."""
    model, _ = load_model()
    val = open_dataset(data="builtin", split="val")
    index = {item.name: i for i, item in enumerate(val.items)}
    restored = list(restore_dataset(model, val, [index[name] for name in RESULT_SAMPLES], progress=False))
    columns = [[item.sample["degraded"] for item in restored], [item.restored for item in restored],
               [item.sample["clean"] for item in restored]]
    save_triptych(path, columns, ["degraded", "restored", "clean"], row_labels=RESULT_SAMPLES)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=named(Path), default=REPO_ROOT / "docs" / "figures")
    args = parser.parse_args(argv)
    check_output_folder(args.out)
    args.out.mkdir(parents=True, exist_ok=True)

    model, source = network()
    image, _ = ex.read_input(IMAGE)
    image = ex.degrade_image(ex.resize_longer_side(image, SIZE), DEGRADATION)
    explanation = ex.explain(model, image)
    queries = ex.auto_queries(explanation)[:2]
    ex.overview_figure(explanation, args.out / "overview.png")
    for block in ("att1", "att4"):
        ex.sca_figure(explanation, block, args.out / f"sca_{block}.png")
    ex.features_figure(explanation, args.out / "features.png")
    for explained in (explanation, ex.explain(same_weights_other_mode(model), image)):
        ex.nonlocal_figure(explained, queries, args.out / f"nonlocal_{explained.nonlocal_mode}.png")
    write_graph(model, args.out / "unet_graph.dot")
    results_figure(args.out / "results.png")
    print(f"wrote figures for {IMAGE} at {SIZE}x{SIZE}, degraded ({DEGRADATION}), with weights from {source} to {args.out}")


if __name__ == "__main__":
    run(main)
