"""A training step's GPU work as a CUDA graph, replayed from one call.

Python launches a U-Net step's ~940 kernels one at a time, and takes longer to do so than the GPU takes to run
them: the GPU idles half the step (README, Performance). A graph of the step (minigrad.cuda.graph) launches them all
at once. Its kernels read and write the memory they had at capture, so each batch is copied into the tensors the
capture read, and the losses and gradients are the tensors it made.
"""
import warnings

import minigrad as mg


class GraphedSteps:
    """`step(*inputs)` (forward, loss and backward; it returns the losses) replayed as one CUDA graph per shape.

    The first call with a shape of inputs runs `step` as it is: that compiles its kernels and fills the caches
    (the loss's blur kernels among them) that a capture must find made, since a capture runs nothing. The
    second is captured, and it and later ones replay the graph. Each graph holds the memory of one step, so there
    are at most `limit` of them (a run's batch shape and its last, smaller batch); other shapes run as they are.
    A capture that fails (an op that needs the host) is reported once, and every step then runs as it is.
    With `enabled` False (on the CPU), every step runs as it is.
    """

    def __init__(self, step, parameters, enabled=True, limit=2):
        self.step, self.parameters, self.enabled, self.limit = step, list(parameters), enabled, limit
        self.graphs, self.seen = {}, set()   # shapes -> (graph, its inputs, losses, gradients); shapes run once

    def __call__(self, *inputs):
        shapes = tuple(tensor.shape for tensor in inputs)
        captured = self.graphs.get(shapes)
        if captured is None:
            if not self.enabled or shapes not in self.seen or len(self.graphs) == self.limit:
                self.seen.add(shapes)
                return self.step(*inputs)
            captured = self._capture(inputs)
            if captured is None:
                return self.step(*inputs)
            self.graphs[shapes] = captured
        graph, static_inputs, losses, gradients = captured
        with mg.no_grad():
            for static, given in zip(static_inputs, inputs):
                static.copy_(given)
        graph.replay()
        for param, gradient in gradients:  # where the graph writes them, whatever was assigned since
            param.grad = gradient
        return losses

    def _capture(self, inputs):
        static_inputs = tuple(tensor.detach().clone() for tensor in inputs)
        graph = mg.cuda.CUDAGraph()
        try:
            with mg.cuda.graph(graph):
                losses = self.step(*static_inputs)
        except Exception as error:
            self.enabled = False
            warnings.warn(f"the training step could not be captured as a CUDA graph ({error}); it runs without one, "
                          "its kernels launched one by one")
            return None
        return graph, static_inputs, losses, [(param, param.grad) for param in self.parameters]
