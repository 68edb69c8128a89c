"""torch.cuda's CUDA graphs: GPU work recorded once and replayed with one launch.

A U-Net training step launches about 940 kernels, and Python takes longer to launch them than the GPU takes to run
them. A graph of the step replays them all from one call. What a graph replays is fixed at capture:
  - its kernels read and write the memory the capture gave them, so inputs are copied into the tensors the captured
    code read, and results are read from the tensors it made;
  - the numbers the capture saw (shapes, Python scalars) stay as they were;
  - nothing inside may wait for the GPU or copy from it (.item(), .numpy(), a GPU tensor's bool): CUDA refuses that
    while it captures, and the capture is lost; nor copy an array from the host (mg.tensor(array, device="gpu"), a
    random tensor drawn on the host), which minigrad refuses, as the graph would replay a reused staging buffer.

Each graph keeps the memory of the arrays made during its capture in a pool of its own, which nothing else
allocates from: a replay writes there, whatever Python has freed since.
"""
import contextlib

from ..backend import capturing_graph, cupy_module

__all__ = ["CUDAGraph", "graph", "is_current_stream_capturing"]


class CUDAGraph:
    """A captured graph: capture_begin()/capture_end() (or the `graph` context), then replay()."""

    def __init__(self):
        self._graph = None     # CuPy's graph, once captured
        self._capture = None   # the open capture's stream and contexts
        self._pool = None      # the memory of what the capture made

    def capture_begin(self):
        """Work queued from here on, on the current thread, is recorded on a side stream rather than run."""
        cupy = cupy_module()
        if self._capture is not None or self._graph is not None:
            raise RuntimeError("this CUDAGraph already holds a capture; reset() it first")
        current = cupy.cuda.get_current_stream()
        stream = cupy.cuda.Stream(non_blocking=True)
        stream.wait_event(current.record())  # the graph reads what earlier work wrote
        self._pool = cupy.cuda.MemoryPool()
        contexts = contextlib.ExitStack()
        contexts.enter_context(stream)
        contexts.enter_context(cupy.cuda.using_allocator(self._pool.malloc))
        stream.begin_capture()
        capturing_graph(True)
        self._capture = (stream, contexts)

    def capture_end(self):
        """Ends the capture. CUDA's error is raised where something inside refused to be captured."""
        if self._capture is None:
            raise RuntimeError("capture_end() without capture_begin()")
        stream, contexts = self._capture
        self._capture = None
        capturing_graph(False)
        with contexts:
            try:
                self._graph = stream.end_capture()
            except BaseException:
                self._pool = None
                raise

    def replay(self):
        """Launches the whole captured work on the current stream."""
        if self._graph is None:
            raise RuntimeError("Called CUDAGraph::replay without a preceding successful capture.")
        cupy = cupy_module()
        self._graph.launch(stream=cupy.cuda.get_current_stream())

    def held_bytes(self):
        """The GPU memory of the graph's own pool: what its capture made, which each replay writes again."""
        return self._pool.total_bytes() if self._pool is not None else 0

    def reset(self):
        """Drops the graph and the memory it holds."""
        if self._capture is not None:
            raise RuntimeError("cannot reset a CUDAGraph while it captures")
        self._graph = self._pool = None


@contextlib.contextmanager
def graph(cuda_graph):
    """Captures the block's GPU work into `cuda_graph`, as torch.cuda.graph. Queued work finishes first and the default
    memory pool's free blocks go back to the device, so that the capture has the memory. An error inside ends the
    capture, which is then discarded."""
    cupy = cupy_module()
    cupy.cuda.runtime.deviceSynchronize()
    cupy.get_default_memory_pool().free_all_blocks()
    cuda_graph.capture_begin()
    try:
        yield cuda_graph
    except BaseException:
        with contextlib.suppress(Exception):  # CUDA reports the lost capture; the block's error says why
            cuda_graph.capture_end()
        cuda_graph.reset()
        raise
    cuda_graph.capture_end()


def is_current_stream_capturing():
    """Whether work queued now would be recorded into a graph rather than run."""
    return cupy_module().cuda.get_current_stream().is_capturing()
