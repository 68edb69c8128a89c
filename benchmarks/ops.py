"""Forward+backward time of the ops the U-Net uses, minigrad against torch, in one process.

    python -m benchmarks.ops [--size 256] [--batch 8] [--repeats 5] [--device cpu|gpu] [--cases unet|port]
                             [--only NAME ...]

Shapes follow the network at a `size`² input: level 1 at size, level 2 at size/2, and so on, with the
non-local block's (B, N, N) attention at N = (size/8)². `--cases port` times instead the layers that
PyTorch models ported to minigrad use beyond the U-Net's (depthwise, dilated and transposed convs,
pooling with padding, normalization, activations), at the same levels. `--only` keeps the cases whose
names contain one of the words given (`--only layer_norm gelu`). Compare the ratios, never absolute times:
machines differ.
"""
import argparse
import math
import os
import statistics
import time
import types

import numpy as np
import torch
import torch.nn.functional as torch_F

import minigrad as mg
import minigrad.functional as mg_F
from benchmarks import GPU_MISSING, THREAD_ENV, gpu_ready, image_side, synchronizers
from unet import torch_reference
from unet.cli import positive


def libraries(device):
    """The two libraries behind one interface, so each op below is written once; inputs on `device`."""
    torch_device = "cuda" if device == "gpu" else "cpu"
    mg_sync, torch_sync = synchronizers(device)
    minigrad = types.SimpleNamespace(
        name="minigrad", F=mg_F, cat=mg.cat, charbonnier_loss=mg_F.charbonnier_loss, sigmoid_gate=mg_F.sigmoid_gate,
        # mg.Tensor wraps the array as torch.from_numpy does; mg.tensor would copy it, as torch.tensor does
        leaf=lambda array: mg.Tensor(array, requires_grad=True, device=device),
        backward=lambda out, grad: out.backward(mg.Tensor(grad, device=device)),
        sync=mg_sync,
    )
    torch_lib = types.SimpleNamespace(
        name="torch", F=torch_F, cat=torch.cat,
        charbonnier_loss=torch_reference.charbonnier, sigmoid_gate=torch_reference.sigmoid_gate,
        leaf=lambda array: torch.from_numpy(array).to(torch_device).requires_grad_(True),
        backward=lambda out, grad: out.backward(torch.from_numpy(grad).to(torch_device)),
        sync=torch_sync,
    )
    return minigrad, torch_lib


def conv_case(cin, cout, k, size, batch):
    """A k x k convolution (padding keeps the size) on (batch, cin, size, size)."""
    return (f"conv{k}x{k} {cin}->{cout}", [(batch, cin, size, size), (cout, cin, k, k), (cout,)],
            lambda lib, x, w, b: lib.F.conv2d(x, w, b, padding=k // 2))


def build_cases(size, batch):
    """(name, input shapes, op(lib, *inputs)) for every op, at the sizes the network runs them."""
    s1, s2, s4, s8 = size, size // 2, size // 4, size // 8
    tokens = s8 * s8
    return [
        conv_case(3, 16, 3, s1, batch),
        conv_case(16, 16, 3, s1, batch),
        conv_case(32, 32, 3, s2, batch),
        conv_case(64, 64, 3, s4, batch),
        conv_case(192, 64, 3, s4, batch),
        conv_case(96, 32, 3, s2, batch),
        conv_case(48, 16, 3, s1, batch),
        conv_case(16, 3, 1, s1, batch),
        ("max_pool2d 2", [(batch, 16, s1, s1)], lambda lib, x: lib.F.max_pool2d(x, 2)),
        ("interpolate x2 bilinear ac", [(batch, 32, s2, s2)],
         lambda lib, x: lib.F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=True)),
        ("relu", [(batch, 16, s1, s1)], lambda lib, x: lib.F.relu(x)),
        ("sigmoid", [(batch, 16, s1, s1)], lambda lib, x: lib.F.sigmoid(x)),
        ("sigmoid_gate (SCA)", [(batch, 16, s1, s1), (batch, 16, s1, s1), (batch, 16, 1, 1)],
         lambda lib, x, logits, weights: lib.sigmoid_gate(x, logits, weights)),
        ("charbonnier_loss", [(batch, 3, s1, s1), (batch, 3, s1, s1)], lambda lib, x, y: lib.charbonnier_loss(x, y)),
        ("softmax dim=-1", [(batch, tokens, tokens)], lambda lib, x: lib.F.softmax(x, dim=-1)),
        ("matmul batched", [(batch, tokens, tokens), (batch, tokens, 64)], lambda lib, a, b: a @ b),
        ("cat dim=1", [(batch, 32, s2, s2), (batch, 32, s2, s2)], lambda lib, a, b: lib.cat([a, b], dim=1)),
        ("pad 2 replicate", [(batch, 3, s1, s1)], lambda lib, x: lib.F.pad(x, (2, 2, 2, 2), mode="replicate")),
        ("sum", [(batch, 16, s1, s1)], lambda lib, x: x.sum()),
        ("mean dim=(2,3)", [(batch, 64, s4, s4)], lambda lib, x: x.mean(dim=(2, 3))),
    ]


def build_port_cases(size, batch):
    """(name, input shapes, op(lib, *inputs)) for layers of ported torch models, at the network's levels."""
    s2, s4, s8 = size // 2, size // 4, size // 8
    return [
        ("conv3x3 depthwise 32", [(batch, 32, s2, s2), (32, 1, 3, 3), (32,)],
         lambda lib, x, w, b: lib.F.conv2d(x, w, b, padding=1, groups=32)),
        ("conv3x3 dilation 2", [(batch, 64, s4, s4), (64, 64, 3, 3), (64,)],
         lambda lib, x, w, b: lib.F.conv2d(x, w, b, padding=2, dilation=2)),
        ("conv3x3 groups 4", [(batch, 64, s4, s4), (64, 16, 3, 3), (64,)],
         lambda lib, x, w, b: lib.F.conv2d(x, w, b, padding=1, groups=4)),
        ("conv_transpose2d 2 stride 2", [(batch, 128, s8, s8), (128, 64, 2, 2), (64,)],
         lambda lib, x, w, b: lib.F.conv_transpose2d(x, w, b, stride=2)),
        ("conv_transpose2d 3 stride 1", [(batch, 64, s4, s4), (64, 32, 3, 3), (32,)],
         lambda lib, x, w, b: lib.F.conv_transpose2d(x, w, b, padding=1)),
        ("max_pool2d 3 s2 p1", [(batch, 32, s2, s2)], lambda lib, x: lib.F.max_pool2d(x, 3, 2, padding=1)),
        ("avg_pool2d 3 s2 p1", [(batch, 32, s2, s2)], lambda lib, x: lib.F.avg_pool2d(x, 3, 2, padding=1)),
        ("batch_norm training", [(batch, 32, s2, s2), (32,), (32,)],
         lambda lib, x, w, b: lib.F.batch_norm(x, None, None, w, b, training=True)),
        ("group_norm 8", [(batch, 32, s2, s2), (32,), (32,)], lambda lib, x, w, b: lib.F.group_norm(x, 8, w, b)),
        ("layer_norm 64", [(batch, s8 * s8, 64), (64,), (64,)],
         lambda lib, x, w, b: lib.F.layer_norm(x, (64,), w, b)),
        ("gelu", [(batch, 32, s2, s2)], lambda lib, x: lib.F.gelu(x)),
        ("silu", [(batch, 32, s2, s2)], lambda lib, x: lib.F.silu(x)),
        ("leaky_relu", [(batch, 32, s2, s2)], lambda lib, x: lib.F.leaky_relu(x, 0.1)),
        ("elu", [(batch, 32, s2, s2)], lambda lib, x: lib.F.elu(x)),
        ("softplus", [(batch, 32, s2, s2)], lambda lib, x: lib.F.softplus(x)),
        ("mish", [(batch, 32, s2, s2)], lambda lib, x: lib.F.mish(x)),
    ]


CASES = {"unet": build_cases, "port": build_port_cases}


def time_once(lib, op, arrays, grad):
    """Seconds for one forward+backward from fresh leaves (so no gradient accumulates)."""
    leaves = [lib.leaf(a) for a in arrays]
    lib.sync()
    start = time.perf_counter()
    lib.backward(op(lib, *leaves), grad)
    lib.sync()
    return time.perf_counter() - start


def benchmark_case(libs, op, shapes, repeats, rng):
    """Median forward+backward seconds per library, after one warm-up, runs interleaved."""
    arrays = [rng.standard_normal(shape, dtype=np.float32) for shape in shapes]
    out_shape = tuple(op(libs[0], *[mg.tensor(a) for a in arrays]).shape)
    grad = rng.standard_normal(out_shape, dtype=np.float32)
    times = {lib.name: [] for lib in libs}
    for run in range(repeats + 1):
        for lib in libs:
            seconds = time_once(lib, op, arrays, grad)
            if run:  # run 0 warms caches and allocators
                times[lib.name].append(seconds)
    return statistics.median(times["minigrad"]), statistics.median(times["torch"])


def format_shapes(shapes):
    return " ".join("x".join(map(str, shape)) for shape in shapes[:2])


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks.ops", description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=image_side, default=256,
                        help="input side the shapes are derived from (multiple of 8)")
    parser.add_argument("--batch", type=positive(int), default=8)
    parser.add_argument("--repeats", type=positive(int), default=5,
                        help="timed runs per op and library (the median is shown)")
    parser.add_argument("--device", choices=("cpu", "gpu"), default="cpu")
    parser.add_argument("--cases", choices=tuple(CASES), default="unet",
                        help="the U-Net's ops, or the layers of ported torch models beyond them")
    parser.add_argument("--only", nargs="+", metavar="NAME",
                        help="time only the cases whose names contain one of these words")
    args = parser.parse_args(argv)
    if args.device == "gpu" and not gpu_ready():
        parser.error(GPU_MISSING)
    cases = [case for case in CASES[args.cases](args.size, args.batch)
             if args.only is None or any(word in case[0] for word in args.only)]
    if not cases:
        parser.error(f"argument --only: no {args.cases} case is named by {' or '.join(args.only)}")

    settings = " ".join(f"{name}={os.environ[name]}" for name in THREAD_ENV)
    print(f"thread pools: {settings} (set before numpy and torch loaded, unless already set)")
    print(f"torch {torch.__version__} with {torch.get_num_threads()} threads, numpy {np.__version__}; "
          f"device {args.device}, batch {args.batch}, size {args.size}, median of {args.repeats} forward+backward runs\n")

    header = f"{'op':<28} {'input shapes':<28} {'minigrad ms':>11} {'torch ms':>9} {'ratio':>6}"
    print(header)
    print("-" * len(header))
    rng = np.random.default_rng(0)
    libs = libraries(args.device)
    ratios = []
    for name, shapes, op in cases:
        mg_seconds, torch_seconds = benchmark_case(libs, op, shapes, args.repeats, rng)
        ratios.append(mg_seconds / torch_seconds)
        print(f"{name:<28} {format_shapes(shapes):<28} {mg_seconds * 1e3:>11.2f} {torch_seconds * 1e3:>9.2f} "
              f"{ratios[-1]:>6.2f}", flush=True)
    print("-" * len(header))
    geometric_mean = math.exp(sum(map(math.log, ratios)) / len(ratios))
    print(f"geometric mean ratio (minigrad / torch) over {len(ratios)} ops: {geometric_mean:.2f}")


if __name__ == "__main__":
    main()
