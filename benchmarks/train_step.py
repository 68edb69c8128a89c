"""Time one U-Net training step (forward + RestorationLoss + backward + Adam) in minigrad and PyTorch.

    python -m benchmarks.train_step --device cpu --batch 8 --size 256 [--inference] [--profile]
    python -m benchmarks.train_step --device gpu --kernels
    python -m benchmarks.train_step --device gpu --cuda-graph   # minigrad's step replayed as train.py replays it
    python -m benchmarks.train_step --gradient-penalty 0.1   # second derivatives: create_graph's walks

Both frameworks get identical weights and data and run interleaved (warm-up, then the median of
--steps steps each). Also reported: the step's FLOPs counted from the layer shapes, the share of
this machine's sgemm peak that each framework reaches, and the peak memory of each framework's
step, measured in a child process of its own (see `peak_memory`).
"""
import argparse
import multiprocessing
import os
import statistics
import sys
import time

import numpy as np

import minigrad as mg
from benchmarks import GPU_MISSING, THREAD_ENV, gpu_ready, image_side, synchronizers
from minigrad import parallel, profiler
from minigrad.backend import set_tf32
from minigrad.memory import keep_freed_memory
from minigrad.nn.layers import Conv2d
from unet import UNet
from unet.cli import positive
from unet.losses import RestorationLoss
from unet.step_graphs import GraphedSteps

# Feature-map side, as a divisor of the input size, of every layer under each top-level block.
BLOCK_SCALE = {"dconv_down1": 1, "att1": 1, "dconv_up1": 1, "conv_last": 1,
               "dconv_down2": 2, "att2": 2, "dconv_up2": 2,
               "dconv_down3": 4, "att3": 4, "dconv_up3": 4,
               "dconv_down4": 8, "att4": 8, "dconv_bottleneck": 8, "nl_block": 8}


class BenchmarkError(RuntimeError):
    """The benchmark cannot run as asked (no GPU, no torch); the message says why."""


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", choices=("cpu", "gpu"), default="cpu")
    parser.add_argument("--batch", type=positive(int), default=8)
    parser.add_argument("--size", type=image_side, default=256)
    parser.add_argument("--inference", action="store_true", help="time the forward pass only, under no_grad")
    parser.add_argument("--gradient-penalty", type=float, default=0.0, metavar="WEIGHT",
                        help="add WEIGHT * ||d loss / d input||^2 to the loss (its gradient, with create_graph, and "
                             "the backward through it: second derivatives)")
    parser.add_argument("--profile", action="store_true", help="print minigrad's per-op time breakdown")
    parser.add_argument("--steps", type=positive(int), default=5)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--threads", type=positive(int), default=None,
                        help="threads for both frameworks (default: all cores)")
    parser.add_argument("--no-memory", action="store_true", help="skip the peak-memory measurement")
    parser.add_argument("--tf32", action="store_true",
                        help="GPU only: TF32 tensor-core matmuls and convs in both frameworks (default: full float32)")
    parser.add_argument("--cuda-graph", action="store_true",
                        help="GPU only: replay minigrad's step (all but Adam's one launch) as one CUDA graph, as "
                             "train.py does; PyTorch's runs eagerly")
    parser.add_argument("--kernels", action="store_true",
                        help="GPU only: list the CUDA kernels of two steps of each framework, longest in total first")
    parser.add_argument("--keep-freed-memory", action="store_true",
                        help="run both frameworks with glibc keeping freed memory, as train.py runs minigrad "
                             "(minigrad.memory); by default both get glibc's default")
    args = parser.parse_args(argv)
    if args.warmup < 0:
        parser.error(f"argument --warmup: must be 0 or more, got {args.warmup}")
    return args


# ------------------------------------------------------------------------------------ FLOPs


def forward_flops(model, batch, size):
    """Multiply-adds x 2 of every conv and of the non-local block's two matmuls, for one forward."""
    flops = 0
    for name, module in model.named_modules():
        if not isinstance(module, Conv2d):
            continue
        block = name.split(".")[0]
        side = 1 if ".channel_attention." in name else size // BLOCK_SCALE[block]
        out_channels, in_channels, kh, kw = module.weight.shape
        flops += 2 * batch * side * side * out_channels * in_channels * kh * kw
    if model.nonlocal_mode:
        positions, inner = (size // 8) ** 2, model.nl_block.theta.weight.shape[0]
        flops += 2 * (2 * batch * positions * positions * inner)
    return flops


def step_flops(model, batch, size, inference, penalty):
    """A training step costs about 3 forwards: forward, grad wrt inputs, grad wrt weights. With a gradient penalty,
    about 6: forward, the input gradient (recorded), and the backward of both graphs, where each of the recorded
    input gradient's convs has two gradients (of its output-side gradient and of its weight)."""
    return forward_flops(model, batch, size) * (1 if inference else 6 if penalty else 3)


def sgemm_peak_gflops(xp, sync, n=4096, repeats=3):
    """The best of a few large float32 matrix products: this machine's practical BLAS peak."""
    a = xp.asarray(np.random.default_rng(0).standard_normal((n, n), dtype=np.float32))
    b = a.T.copy()
    a @ b
    sync()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        sync()
        best = min(best, time.perf_counter() - start)
    return 2 * n ** 3 / best / 1e9


# ------------------------------------------------------------------------------------ steps


class Setup:
    """Both networks, their losses and optimizers, and one batch, on the chosen device."""

    def __init__(self, args):
        import torch

        from unet import torch_reference

        self.torch = torch
        mg.manual_seed(0)
        rng = np.random.default_rng(0)
        self.model = UNet()
        self.torch_model = torch_reference.to_torch(self.model).train()
        target = rng.uniform(0, 1, (args.batch, 3, args.size, args.size)).astype(np.float32)
        noisy = np.clip(target + rng.normal(0, 0.05, target.shape), 0, 1).astype(np.float32)
        gpu = args.device == "gpu"
        if gpu:
            self.model.to("gpu")
            self.torch_model.cuda()
        self.mg_x, self.mg_y = mg.tensor(noisy, device=args.device), mg.tensor(target, device=args.device)
        torch_device = "cuda" if gpu else "cpu"
        self.torch_x = torch.from_numpy(noisy).to(torch_device)
        self.torch_y = torch.from_numpy(target).to(torch_device)
        self.loss = RestorationLoss()
        self.torch_loss = torch_reference.restoration_loss
        self.optimizer = mg.optim.Adam(self.model.parameters(), lr=1e-3)
        self.torch_optimizer = torch.optim.Adam(self.torch_model.parameters(), lr=1e-3)
        self.inference, self.penalty = args.inference, args.gradient_penalty
        self.mg_sync, self.torch_sync = synchronizers(args.device)
        self.mg_work = GraphedSteps(self._mg_forward if self.inference else self._mg_backward,
                                    self.model.parameters(), enabled=args.cuda_graph)

    def _mg_forward(self, x, y):
        with mg.no_grad():
            return self.model(x)

    def _mg_backward(self, x, y):
        self.optimizer.zero_grad()
        loss = training_loss(mg, self.model, self.loss, x, y, self.penalty)
        loss.backward()
        return loss.detach()

    def minigrad_step(self):
        self.mg_work(self.mg_x, self.mg_y)
        if not self.inference:
            self.optimizer.step()
        self.mg_sync()

    def torch_step(self):
        if self.inference:
            with self.torch.no_grad():
                self.torch_model(self.torch_x)
        else:
            self.torch_optimizer.zero_grad()
            training_loss(self.torch, self.torch_model, self.torch_loss, self.torch_x, self.torch_y,
                          self.penalty).backward()
            self.torch_optimizer.step()
        self.torch_sync()


def training_loss(library, model, loss, x, y, penalty):
    """The step's loss, written once for both libraries; with a penalty weight, plus weight * ||d loss / d x||^2,
    whose gradient is a second derivative for every weight."""
    if not penalty:
        return loss(model(x), y)[0]
    x = x.detach().requires_grad_()
    total = loss(model(x), y)[0]
    (slope,) = library.autograd.grad(total, x, create_graph=True)
    return total + penalty * (slope * slope).sum()


def timed(step):
    start = time.perf_counter()
    step()
    return time.perf_counter() - start


def time_interleaved(setup, steps, warmup):
    """Median seconds of each framework's step, alternating the two so drifts hit both alike."""
    for _ in range(warmup):
        setup.minigrad_step()
        setup.torch_step()
    mg_times, torch_times = [], []
    for _ in range(steps):
        mg_times.append(timed(setup.minigrad_step))
        torch_times.append(timed(setup.torch_step))
    return statistics.median(mg_times), statistics.median(torch_times)


# ----------------------------------------------------------------------------------- memory


def _proc_status_bytes(field):
    """A memory field of /proc/self/status (VmRSS: now, VmHWM: peak), in bytes."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise BenchmarkError(f"/proc/self/status has no {field} line; the memory measurement needs Linux")


def _reset_peak_rss():
    """Set the process's peak RSS (VmHWM) back to its current RSS (Linux clear_refs, code 5)."""
    with open("/proc/self/clear_refs", "w") as clear_refs:
        clear_refs.write("5")


def _peak_memory_child(args, framework, queue):
    """In a fresh process: build everything, then report how far two steps raise the peak RSS."""
    configure_process(args)
    setup = Setup(args)
    step = setup.minigrad_step if framework == "minigrad" else setup.torch_step
    _reset_peak_rss()
    baseline = _proc_status_bytes("VmRSS")
    step()
    step()
    queue.put(max(_proc_status_bytes("VmHWM") - baseline, 0))


def peak_memory(args, framework):
    """Peak RSS growth of `framework`'s step over the RSS just before it, in a 'spawn' child process.

    The peak is Linux's VmHWM, reset to the current RSS right before the steps (ru_maxrss would
    not do: it survives exec, so a child would inherit the parent's peak).

    Each framework runs alone in its own process, so neither's allocator caches or imports count
    against the other; the growth covers activations, gradients, optimizer state and workspace.
    """
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    child = context.Process(target=_peak_memory_child, args=(args, framework, queue))
    child.start()
    child.join()
    if child.exitcode != 0:
        raise BenchmarkError(f"the {framework} memory measurement failed (exit code {child.exitcode})")
    return queue.get()


# ------------------------------------------------------------------------------------ kernels


def kernel_table(events, device_type, rows=25):
    """The kernels among profiler events, summed by name, longest in total first: a table's lines (total ms, count,
    name), the top `rows` of them, under a line with the grand total. A GPU user annotation (torch marks an
    optimizer's step so) spans kernels rather than being one, so it is left out."""
    totals = {}
    for event in events:
        if event.device_type != device_type or getattr(event, "is_user_annotation", False):
            continue
        total, count = totals.get(event.name, (0.0, 0))
        totals[event.name] = (total + event.time_range.elapsed_us(), count + 1)
    grand_total, launches = sum(total for total, _ in totals.values()), sum(count for _, count in totals.values())
    lines = [f"{grand_total / 1e3:9.2f} ms {launches:6d}  all kernels"]
    for name, (total, count) in sorted(totals.items(), key=lambda item: -item[1][0])[:rows]:
        lines.append(f"{total / 1e3:9.2f} ms {count:6d}  {name[:100]}")
    return lines


def print_kernels(setup, steps=2):
    """Each framework's CUDA kernels over `steps` steps, through torch's profiler: CUPTI sees every kernel of the
    process, CuPy's too, so it shows where minigrad's GPU time goes beside torch's (its --profile times ops)."""
    from torch.autograd import DeviceType
    from torch.profiler import ProfilerActivity, profile

    for name, step in (("minigrad", setup.minigrad_step), ("pytorch", setup.torch_step)):
        with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as recorded:
            for _ in range(steps):
                step()
        print(f"\n{name} CUDA kernels over {steps} steps (total time, launches, kernel):")
        print("\n".join(kernel_table(recorded.events(), DeviceType.CUDA)))


# ------------------------------------------------------------------------------------- main


def configure_process(args):
    """Threads for both frameworks, and the allocator policy; returns the thread count."""
    import torch

    if args.keep_freed_memory and not keep_freed_memory():
        raise BenchmarkError("--keep-freed-memory needs glibc's mallopt, which this system's C library lacks")
    threads = args.threads or os.cpu_count()
    torch.set_num_threads(threads)
    parallel.set_num_threads(threads)
    return threads


def run(args):
    try:
        import torch  # noqa: F401
    except ImportError:
        raise BenchmarkError("the benchmark compares against PyTorch, which is not installed (pip install torch)") from None
    if args.device == "gpu":
        if not gpu_ready():
            raise BenchmarkError(GPU_MISSING)
        set_tf32(args.tf32)
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = args.tf32
    else:
        for setting in ("tf32", "kernels", "cuda_graph"):
            if getattr(args, setting):
                raise BenchmarkError(f"--{setting.replace('_', '-')} is a GPU setting: use it with --device gpu")
    if args.cuda_graph:
        args.warmup = max(args.warmup, 2)  # a shape's first step runs as it is, its second is captured
    threads = configure_process(args)
    what = ("inference (forward, no_grad)" if args.inference else
            "train step (forward + RestorationLoss + backward + Adam)" if not args.gradient_penalty else
            f"train step with a gradient penalty (forward + RestorationLoss + {args.gradient_penalty:g} * ||d loss / "
            "d input||^2 by create_graph + backward + Adam)")
    print(f"{what}: batch {args.batch}, {args.size}x{args.size}, device {args.device}, {threads} thread(s)")
    print("environment defaults set before numpy/torch load: "
          + ", ".join(f"{name}={os.environ[name]}" for name in THREAD_ENV))
    if args.device == "gpu":
        print("float32 matmuls and convs: " + ("TF32 tensor cores in both frameworks (--tf32)" if args.tf32
                                                else "full float32 in both frameworks (TF32 off, torch's cuDNN too)"))
        print("minigrad's step: " + ("replayed as one CUDA graph, Adam launched after it (--cuda-graph); PyTorch's "
                                     "eager" if args.cuda_graph else "eager, as PyTorch's"))
    print("allocator: " + ("glibc keeps freed memory in the heap, for both frameworks (--keep-freed-memory)"
                           if args.keep_freed_memory else "glibc's default, for both frameworks"))

    setup = Setup(args)
    if args.device == "gpu":
        peak = sgemm_peak_gflops(mg.backend.cupy_module(), setup.mg_sync)
    else:
        peak = sgemm_peak_gflops(np, setup.mg_sync)
    gflop = step_flops(setup.model, args.batch, args.size, args.inference, args.gradient_penalty) / 1e9
    print(f"sgemm peak (4096^2 float32): {peak:.0f} GFLOPS; step work (convs + non-local matmuls): {gflop:.1f} GFLOP")

    mg_seconds, torch_seconds = time_interleaved(setup, args.steps, args.warmup)
    for name, seconds in (("minigrad", mg_seconds), ("pytorch", torch_seconds)):
        print(f"{name:<9} {seconds:8.3f} s/step  {gflop / seconds:7.1f} GFLOPS  {gflop / seconds / peak:6.1%} of peak")
    print(f"ratio minigrad/pytorch: {mg_seconds / torch_seconds:.2f}x  (median of {args.steps} steps after {args.warmup} warm-up)")

    if not args.no_memory and args.device == "gpu":
        import cupy

        print("GPU memory held by each framework's pool after the timed steps (its peak, as pools keep freed blocks)")
        graphs = sum(graph.held_bytes() for graph, *_ in setup.mg_work.graphs.values())
        sizes = {"minigrad": cupy.get_default_memory_pool().total_bytes() + graphs,
                 "torch": torch.cuda.max_memory_reserved()}
        for name, size in sizes.items():
            print(f"  {name:<9} {size / 2 ** 20:8.0f} MiB")
        print(f"  ratio minigrad/pytorch: {sizes['minigrad'] / max(sizes['torch'], 1):.2f}x")
    if not args.no_memory and args.device == "cpu":
        print("peak memory: growth of peak RSS over the RSS just before two steps, each framework alone in a spawned process")
        sizes = {name: peak_memory(args, name) for name in ("minigrad", "torch")}
        for name, size in sizes.items():
            print(f"  {name:<9} {size / 2 ** 20:8.0f} MiB")
        print(f"  ratio minigrad/pytorch: {sizes['minigrad'] / max(sizes['torch'], 1):.2f}x")

    if args.profile:
        with profiler.profile(synchronize=setup.mg_sync) as stats:
            for _ in range(args.steps):
                setup.minigrad_step()
        print(f"\nminigrad per-op time, mean over {args.steps} steps (sums thread-parallel work once):")
        print(stats.table(scale=args.steps))
    if args.kernels:
        print_kernels(setup)


def main(argv=None):
    try:
        run(parse_args(argv))
    except BenchmarkError as error:
        sys.exit(f"train_step: {error}")


if __name__ == "__main__":
    main()
