"""Draw the graph behind a tensor with Graphviz: one node per op, leaf tensors as boxes.

    y = model(x)                                   # before y.backward(): backward frees the graph
    minigrad.viz.draw(y, "graph.svg", model=model)

    with minigrad.viz.trace_modules(model):        # remember which module ran each op ...
        y = model(x)
    minigrad.viz.draw(y, "unet.svg", model=model, collapse_modules=True)   # ... one box per module call
"""
import contextlib
import itertools
import shutil
import subprocess
import sys
from pathlib import Path

from . import function
from .tensor import Tensor, topological_order

__all__ = ["GraphError", "draw", "to_dot", "trace_modules"]

GRAPHVIZ_HINT = "install Graphviz to render it (apt-get install graphviz, brew install graphviz or conda install graphviz)"

_STYLE = {
    "op": 'shape=ellipse, style=filled, fillcolor="#fde8c8"',
    "param": 'shape=box, style=filled, fillcolor="#cfe2f3"',
    "input": 'shape=box, style=filled, fillcolor="#e6e6e6"',
    "module": 'shape=box3d, style=filled, fillcolor="#d9ead3"',
}


class GraphError(ValueError):
    """The tensor has no graph to draw, or the graph lacks what was asked for (freed, untraced)."""


@contextlib.contextmanager
def trace_modules(model):
    """Record, on every op run inside, which calls of `model`'s submodules were in progress.

    Each op's `Context.scope` becomes a tuple of (qualified module name, call number) pairs, outermost
    first, so a module called several times (a shared max-pool, say) gives one scope per call.
    """
    calls = itertools.count()
    named = [(name, module) for name, module in model.named_modules() if name]

    def scope_for(name):
        @contextlib.contextmanager
        def scope():
            outer = getattr(function._state, "scope", None)
            function._state.scope = (outer or ()) + ((name, next(calls)),)
            try:
                yield
            finally:
                function._state.scope = outer
        return scope

    for name, module in named:
        object.__setattr__(module, "_trace_scope", scope_for(name))
    try:
        yield model
    finally:
        for _, module in named:
            module.__dict__.pop("_trace_scope", None)


def _describe(tensor):
    return f"{tuple(tensor.shape)} {tensor.dtype}"


def _quote(text):
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def to_dot(tensor, params=None, collapse_modules=False, model=None):
    """Graphviz DOT source of the graph that computed `tensor`.

    Ops are ellipses labelled with their Function name and output shape and dtype; leaf tensors are
    boxes, named by `model.named_parameters()` or by a `params` name -> tensor mapping (matched by
    identity), else "input". With `collapse_modules=True` (needs `model`, and `tensor` computed inside
    `with trace_modules(model):`), each call of a top-level submodule becomes one box, its parameters
    inside it.
    Draw before `backward()`: backward frees the graph unless it was given retain_graph=True.
    """
    if not isinstance(tensor, Tensor):
        raise GraphError(f"to_dot expects a minigrad Tensor, got {type(tensor).__name__}")
    if tensor.creator is None:
        raise GraphError("this tensor has no graph: it was computed under no_grad() or from inputs that "
                         "do not require grad (use requires_grad=True, or a model's parameters)")
    if collapse_modules and model is None:
        raise GraphError("collapse_modules=True needs the model whose submodules to collapse: pass model=...")
    names = {id(p): name for name, p in (model.named_parameters() if model is not None else ())}
    names.update({id(p): name for name, p in (params or {}).items()})
    tensors = topological_order(tensor)
    if any(t.creator is not None and t.creator.freed for t in tensors):
        raise GraphError("the graph was freed by backward(): draw before backward(), or call backward(retain_graph=True)")

    box_of = _module_boxes(tensors, model) if collapse_modules else {}
    key_of = _node_keys(tensors, box_of, names)
    labels = {key_of[id(t)]: _node_label(t, names) for t in tensors}
    if collapse_modules:
        labels.update(_box_labels(tensors, key_of, set(box_of.values()), model))
    edges = {}  # an ordered set
    for t in tensors:
        for parent in t.creator.inputs if t.creator is not None else ():
            if key_of[id(parent)] != key_of[id(t)]:
                edges[key_of[id(parent)], key_of[id(t)]] = None

    ids = {}
    lines = ["digraph minigrad {", "  rankdir=TB;", '  node [fontname="Helvetica", fontsize=10];']
    for t in tensors:  # inputs first, so the file reads top-down like the forward pass
        key = key_of[id(t)]
        if key not in ids:
            ids[key] = f"n{len(ids)}"
            label, kind = labels[key]
            lines.append(f"  {ids[key]} [label={_quote(label)}, {_STYLE[kind]}];")
    lines += [f"  {ids[a]} -> {ids[b]};" for a, b in edges]
    return "\n".join(lines + ["}"]) + "\n"


def _node_label(tensor, names):
    """(label, kind) of the node that draws `tensor`: its op, or the leaf itself."""
    if tensor.creator is not None:
        return f"{tensor.creator.function.__name__}\n{_describe(tensor)}", "op"
    if id(tensor) in names:
        return f"{names[id(tensor)]}\n{_describe(tensor)}", "param"
    if tensor.ndim == 0:
        return f"constant {tensor.item():.4g}", "input"
    return f"input\n{_describe(tensor)}", "input"


def _module_boxes(tensors, model):
    """{id(op context): (top-level module name, call number)} for ops run inside a top-level submodule."""
    top_level = {name for name, _ in model.named_children()}
    box_of = {}
    for t in tensors:
        scope = t.creator.scope if t.creator is not None else None
        if scope and scope[0][0] in top_level:
            box_of[id(t.creator)] = scope[0]
    if not box_of:
        raise GraphError("no op carries a module scope: compute the tensor inside "
                         "`with minigrad.viz.trace_modules(model):` to collapse modules")
    return box_of


def _node_keys(tensors, box_of, names):
    """{id(tensor): key of the node that stands for where it comes from}.

    That is its op, or the module box its op ran in; a leaf is its own node, except that parameters
    and scalar constants used by one box only are drawn inside that box.
    """
    keys = {id(t): box_of.get(id(t.creator), id(t.creator)) for t in tensors if t.creator is not None}
    users = {}
    for t in tensors:
        for parent in t.creator.inputs if t.creator is not None else ():
            users.setdefault(id(parent), set()).add(keys[id(t)])
    boxes = set(box_of.values())
    for t in tensors:
        if t.creator is None:
            only = users.get(id(t), set())
            absorbed = len(only) == 1 and only <= boxes and (id(t) in names or t.ndim == 0)
            keys[id(t)] = next(iter(only)) if absorbed else id(t)
    return keys


def _box_labels(tensors, key_of, boxes, model):
    """{box key: (label, "module")}: module name (#k when called more than once), class, output shapes."""
    outputs = {box: set() for box in boxes}
    for t in tensors:
        for parent in t.creator.inputs if t.creator is not None else ():
            source = key_of[id(parent)]
            if source in outputs and source != key_of[id(t)]:
                outputs[source].add(_describe(parent))
    root = tensors[-1]
    if key_of[id(root)] in outputs:
        outputs[key_of[id(root)]].add(_describe(root))
    calls = {}
    for name, number in sorted(boxes):
        calls.setdefault(name, []).append(number)
    modules = dict(model.named_children())
    labels = {}
    for (name, number), shapes in outputs.items():
        title = name if len(calls[name]) == 1 else f"{name} #{calls[name].index(number) + 1}"
        lines = [title, type(modules[name]).__name__] + [f"-> {shape}" for shape in sorted(shapes)]
        labels[(name, number)] = "\n".join(lines), "module"
    return labels


def draw(tensor, path, **kwargs):
    """Render the graph of `tensor` to `path` (.svg, .png, .pdf, or .dot for the source only).

    Takes the keyword arguments of `to_dot`. Without Graphviz's `dot` program, writes the `.dot`
    source next to `path` and prints how to install it. Returns the path written.
    Draw before `backward()`: backward frees the graph.
    """
    path = Path(path)
    source = to_dot(tensor, **kwargs)
    fmt = path.suffix.lstrip(".").lower()
    if fmt in ("dot", "gv"):
        path.write_text(source)
        return path
    dot_program = shutil.which("dot")
    if dot_program is None:
        dot_path = path.with_suffix(".dot")
        dot_path.write_text(source)
        print(f"wrote {dot_path}: Graphviz's `dot` was not found; {GRAPHVIZ_HINT}", file=sys.stderr)
        return dot_path
    subprocess.run([dot_program, f"-T{fmt}", "-o", str(path)], input=source, text=True, check=True)
    return path
