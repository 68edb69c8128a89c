"""torch.backends.cuda.matmul.allow_tf32: whether the GPU's float32 matmuls may run on TF32 tensor cores, the switch
that set_float32_matmul_precision turns too ("high" for True, "highest" for False)."""
from .. import backend


class CuBLASModule:
    """torch's `matmul` object: allow_tf32 and nothing else, as torch refuses names it does not know."""

    @property
    def allow_tf32(self):
        return backend.float32_matmul_precision() != "highest"

    @allow_tf32.setter
    def allow_tf32(self, enabled):
        if not isinstance(enabled, bool):
            raise RuntimeError(f"set_allow_tf32_cublas expects a bool, but got {type(enabled).__name__}")
        backend.use_float32_matmul_precision("high" if enabled else "highest")

    def __getattr__(self, name):
        raise AttributeError(f"Unknown attribute {name}")

    def __setattr__(self, name, value):
        if name != "allow_tf32":
            raise AttributeError(f"Unknown attribute {name}")
        super().__setattr__(name, value)


matmul = CuBLASModule()
