"""torch.autograd.function's place: the names ported code imports from it (torch's FunctionCtx is the ctx of a
custom Function's forward and backward, minigrad's graph node)."""
from .function import Context as FunctionCtx, Function, once_differentiable

__all__ = ["Function", "FunctionCtx", "once_differentiable"]
