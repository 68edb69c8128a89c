"""torch.func: function transforms. grad, vjp, jvp, linearize, jacrev, jacfwd and hessian turn a function of tensors
into a function of its derivatives, and compose (grad(grad(f)), vmap(grad(f))); vmap maps a function over a
dimension of its inputs; functional_call runs a module with the parameters and buffers of a dict,
stack_module_state stacks several models' for vmap, and replace_all_batch_norm_modules_ makes batch norms fit for
it. Inputs and outputs may be pytrees: tensors in nested tuples,
lists and dicts.

torch's transforms wrap tensors in levels. minigrad has one tape, so each transform runs the function on leaves of
its own and walks back through what the tape recorded. It records that walk in turn (create_graph) exactly where the
function reached a tensor from outside that requires grad (an enclosing transform's input, a parameter): the results
then differentiate further as torch's do, and cost no graph where nothing could differentiate them.

vmap calls the function once per sample and stacks the results, as torch's vmap runs an op that has no batching
rule: torch's results, at a loop's speed."""
import functools
import itertools

from . import batching, random
from .autograd_functional import _grad, _jacobians_of, _prepared, _stacked, _unit_vectors
from .creation import zeros_like
from .function import enable_grad, is_grad_enabled, no_grad, promote
from .functional import _size, stack
from .nn.normalization import _BatchNorm
from .tensor import Tensor, topological_order

__all__ = ["functional_call", "grad", "grad_and_value", "hessian", "jacfwd", "jacrev", "jvp", "linearize",
           "replace_all_batch_norm_modules_", "stack_module_state", "vjp", "vmap"]


# ------------------------------------------------------------------------------------------- pytrees


def _flatten(tree):
    """The leaves of a pytree in order, and its structure for _unflatten: None for a leaf, else (type, dict keys or
    None, the children's structures)."""
    if isinstance(tree, (tuple, list, dict)):
        keys = list(tree) if isinstance(tree, dict) else None
        leaves, children = [], []
        for child in (tree.values() if keys is not None else tree):
            child_leaves, structure = _flatten(child)
            leaves += child_leaves
            children.append(structure)
        return leaves, (type(tree), keys, children)
    return [tree], None


def _unflatten(leaves, structure):
    return _built(iter(leaves), structure)


def _built(leaves, structure):
    if structure is None:
        return next(leaves)
    kind, keys, children = structure
    values = [_built(leaves, child) for child in children]
    if keys is not None:
        return kind(zip(keys, values))
    return kind(*values) if hasattr(kind, "_fields") else kind(values)  # a namedtuple takes its fields apart


def _spelt(structure, indent=0):
    """A pytree's structure as the repr of torch's TreeSpec gives it, for the error messages that show one."""
    if structure is None:
        return "*"
    kind, keys, children = structure
    separator = ",\n" + " " * (indent + 2)
    return f"TreeSpec({kind.__name__}, {keys}, [{separator.join(_spelt(child, indent + 2) for child in children)}])"


class _Asterisk:
    def __repr__(self):
        return "*"


def _sketched(structure):
    """A pytree's structure as torch's treespec_pprint gives it: the tree with * for each leaf."""
    return repr(_built(itertools.repeat(_Asterisk()), structure))


def _per_leaf(prefix, tree, mismatch):
    """A value for each leaf of `tree` from `prefix`, a pytree whose leaves stand for whole subtrees of `tree` (as
    vmap's in_dims and out_dims do); mismatch() is the error where their structures differ."""
    if not isinstance(prefix, (tuple, list, dict)):
        return [prefix] * len(_flatten(tree)[0])
    if (isinstance(prefix, dict) != isinstance(tree, dict) or isinstance(prefix, list) != isinstance(tree, list)
            or not isinstance(tree, (tuple, list, dict)) or len(prefix) != len(tree)
            or isinstance(prefix, dict) and set(prefix) != set(tree)):
        raise mismatch()
    pairs = ((prefix[key], tree[key]) for key in tree) if isinstance(tree, dict) else zip(prefix, tree)
    return [value for part, subtree in pairs for value in _per_leaf(part, subtree, mismatch)]


# --------------------------------------------------------------------------------- the transforms' leaves


def _own_leaves(trees, outer_grad):
    """Each pytree of `trees` with every tensor replaced by a leaf of the transform's own, and those leaves in
    order. A tensor that an enclosing transform or a backward could differentiate (it requires grad, outside no_grad)
    is taken through a view, which keeps the way back to it; any other is detached."""
    substituted, own = [], []
    for tree in trees:
        leaves, structure = _flatten(tree)
        for leaf in leaves:
            if not isinstance(leaf, Tensor):
                raise ValueError(f"Thing passed to transform API must be Tensor, got {type(leaf)}")
        leaves = _prepared(leaves, outer_grad, need_graph=True)
        for leaf in leaves:
            if leaf.creator is None:
                leaf._transform_leaf = True
        own += leaves
        substituted.append(_unflatten(leaves, structure))
    return substituted, own


_RUNNING = []  # the ids of the own leaves of each transform whose function is running, outermost first


def _reaches_outside(tensors, own):
    """Whether any of `tensors` was computed from a tensor that requires grad other than the transform's `own`
    leaves: whether anything outside the transform could differentiate it. A leaf of a transform that has
    finished (an inner vjp's, whose vjp_fn the function called) is nothing anyone outside can differentiate by."""
    roots = [t for t in tensors if isinstance(t, Tensor) and t.requires_grad]
    own_ids = {id(t) for t in own}
    return any(isinstance(entry, Tensor) and entry.requires_grad and id(entry) not in own_ids
               and (not getattr(entry, "_transform_leaf", False) or any(id(entry) in ids for ids in _RUNNING))
               for entry in topological_order(*roots, needs_grad_only=True)) if roots else False


def _depends_on(output, own):
    """Whether `output` was computed from any of the transform's `own` leaves."""
    entries = {id(t._graph_entry) for t in own}
    return output.requires_grad and any(id(entry) in entries
                                        for entry in topological_order(output, needs_grad_only=True))


def _gradients(outputs, inputs, grad_outputs, create_graph, retain_graph=True):
    """d(outputs)/d(inputs) weighted by grad_outputs, zeros for an input they do not reach; outputs that need no
    gradient (constants) add nothing. The graph is kept unless told, for the vjp and linearize functions' later
    calls."""
    found = _grad(outputs, inputs, grad_outputs, create_graph, retain_graph=retain_graph)
    return tuple(zeros_like(t) if gradient is None else gradient for gradient, t in zip(found, inputs))


def _argnums(argnums, count):
    """argnums (an int or a tuple of ints, negative from the end) as a tuple of indices into `count` arguments."""
    if isinstance(argnums, int):
        numbers = (argnums,)
    elif isinstance(argnums, tuple) and all(isinstance(n, int) for n in argnums):
        if not argnums:
            raise RuntimeError("argnums must be non-empty")
        if len(set(argnums)) != len(argnums):
            raise RuntimeError(f"argnums elements must be unique, got {argnums}")
        numbers = argnums
    else:
        raise RuntimeError(f"argnums must be int or Tuple[int, ...], got: {type(argnums)}")
    for number in numbers:
        if not -count <= number < count:
            raise RuntimeError(f"Got argnum={number}, but only {count} positional inputs")
    return tuple(number % count for number in numbers)


def _require_tensors(output, caller):
    for leaf in _flatten(output)[0]:
        if not isinstance(leaf, Tensor):
            raise RuntimeError(f"{caller}: expected f(*primals) to return only tensors, got unsupported type "
                               f"{type(leaf)}")


def _require_floating_tensors(output, caller):
    """vjp's and jacrev's check: only outputs that have gradients."""
    _require_tensors(output, caller)
    for leaf in _flatten(output)[0]:
        if not (leaf.is_floating_point() or leaf.is_complex()):
            raise RuntimeError("vjp(f, ...): All outputs of f must be floating-point or complex Tensors, got Tensor "
                               f"with dtype torch.{leaf.dtype}")


def _require_scalar(output, caller):
    if not isinstance(output, Tensor):
        raise RuntimeError(f"{caller}: Expected f(*args) to return a Tensor, got {type(output)}")
    if output.ndim != 0:
        raise RuntimeError(f"{caller}: Expected f(*args) to return a scalar Tensor, got tensor with {output.ndim} "
                           "dims. Maybe you wanted to use the vjp or jacrev APIs instead?")


class _Traced:
    """func(*args, **kwargs) run on leaves of the transform's own for the arguments at `numbers` (all of them
    where None): its output's tensors, the own leaves, how to give results back in the arguments' structures, and
    whether anything outside could differentiate it (`keep`)."""

    def __init__(self, func, args, kwargs, numbers, has_aux, caller, check=None):
        numbers = range(len(args)) if numbers is None else numbers
        self.outer_grad = is_grad_enabled()
        with enable_grad():
            trees, self.own = _own_leaves([args[n] for n in numbers], self.outer_grad)
            args = list(args)
            for number, tree in zip(numbers, trees):
                args[number] = tree
            self.structures = [_flatten(tree) for tree in trees]  # (leaves, structure) of each
            _RUNNING.append({id(t) for t in self.own})
            try:
                output = func(*args, **kwargs)
            finally:
                _RUNNING.pop()
        if has_aux:
            if not (isinstance(output, tuple) and len(output) == 2):
                raise RuntimeError(f"{caller}: output of function f should be a tuple: (output, aux) if has_aux is "
                                   "True")
            output, self.aux = output
        (check or _require_tensors)(output, caller)
        self.output = output
        self.outputs, self.output_structure = _flatten(output)
        self.keep = self.outer_grad and _reaches_outside(self.outputs, self.own)

    def in_argument_structures(self, flat, single):
        """Results, one per own leaf, as pytrees like the arguments: one pytree where argnums was an int."""
        trees, start = [], 0
        for leaves, structure in self.structures:
            trees.append(_unflatten(flat[start:start + len(leaves)], structure))
            start += len(leaves)
        return trees[0] if single else tuple(trees)

    def keeps_with(self, vectors):
        """Whether results weighted by `vectors` (cotangents, tangents) stay differentiable: where the function's
        do, or where a vector requires grad (an enclosing transform's input), so that they lead back to it."""
        return self.keep or is_grad_enabled() and any(isinstance(v, Tensor) and v.requires_grad for v in vectors)

    def released(self, tree, keep=None):
        """A pytree of results given back: each tensor detached unless `keep` (the transform recorded its walk) and
        something outside can differentiate it, as torch's decides for each result."""
        keep = self.keep if keep is None else keep
        leaves, structure = _flatten(tree)
        return _unflatten([leaf.detach() if isinstance(leaf, Tensor)
                           and not (keep and _reaches_outside([leaf], self.own)) else leaf for leaf in leaves],
                          structure)

    def released_aux(self):
        for leaf in _flatten(self.aux)[0]:
            if not isinstance(leaf, Tensor):
                raise RuntimeError(f"Expected tensors, got unsupported type {type(leaf)}")
        return self.released(self.aux, self.outer_grad)


# ------------------------------------------------------------------------------------------------ grad


def grad_and_value(func, argnums=0, has_aux=False):
    """A function that gives (the gradient of func's scalar output with respect to the arguments at `argnums`,
    func's output); with has_aux, func returns (output, aux), and the value is (output, aux)."""
    @functools.wraps(func)
    def gradient_and_value(*args, **kwargs):
        traced = _Traced(func, args, kwargs, _argnums(argnums, len(args)), has_aux, "grad_and_value(f)(*args)",
                         check=_require_scalar)
        output = traced.output
        with enable_grad():
            gradients = _gradients([output], traced.own, [None], create_graph=traced.keep)
        gradients = traced.in_argument_structures(traced.released(list(gradients)), isinstance(argnums, int))
        value = traced.released(output)
        return (gradients, (value, traced.released_aux())) if has_aux else (gradients, value)
    return gradient_and_value


def grad(func, argnums=0, has_aux=False):
    """A function that gives the gradient of func's scalar output with respect to the arguments at `argnums` (a
    pytree like the argument; a tuple of them where argnums is a tuple); with has_aux, (gradient, aux)."""
    gradient_and_value = grad_and_value(func, argnums, has_aux)

    @functools.wraps(func)
    def gradient(*args, **kwargs):
        gradients, value = gradient_and_value(*args, **kwargs)
        return (gradients, value[1]) if has_aux else gradients
    return gradient


# ------------------------------------------------------------------------------------------ vjp, jvp


def vjp(func, *primals, has_aux=False):
    """(func(*primals), vjp_fn[, aux]): vjp_fn(cotangents), cotangents a pytree like the output, gives the
    cotangents' product with func's Jacobian, a tuple with one pytree per primal; it can be called again, unless
    retain_graph=False freed the graph. create_graph=False gives products cut from the graph (by default they are
    recorded where grad mode is on and anything outside could differentiate them)."""
    traced = _Traced(func, primals, {}, None, has_aux, "vjp(f, *primals)", check=_require_floating_tensors)

    def vjp_fn(cotangents, retain_graph=True, create_graph=None):
        weights, structure = _flatten(cotangents)
        if structure != traced.output_structure:
            raise RuntimeError("Expected pytree structure of cotangents to be the same as pytree structure of "
                               f"outputs to the function. cotangents: {_sketched(structure)}, primal output: "
                               f"{_sketched(traced.output_structure)}")
        for weight in weights:
            if weight is not None and not isinstance(weight, Tensor):
                raise TypeError(f"gradients can be either Tensors or None, but got {type(weight).__name__}")
        keep = (is_grad_enabled() if create_graph is None else create_graph) and traced.keeps_with(weights)
        with enable_grad():
            products = _gradients(traced.outputs, traced.own, weights, create_graph=keep, retain_graph=retain_graph)
        return traced.in_argument_structures(traced.released(list(products), keep), single=False)

    output = traced.released(traced.output)
    return (output, vjp_fn, traced.released_aux()) if has_aux else (output, vjp_fn)


class _Linearized(_Traced):
    """func traced with its Jacobian-vector products at hand, by the double-backward trick: the vjp of u, a
    vector that requires grad, is linear in u, and its own vjp with respect to u for a tangent t is J t."""

    def __init__(self, func, args, numbers, has_aux, caller):
        for leaf in _flatten([args[n] for n in (range(len(args)) if numbers is None else numbers)])[0]:
            if isinstance(leaf, Tensor) and not (leaf.is_floating_point() or leaf.is_complex()):
                raise ValueError(f"Expected primal to be floating point or complex, but got: torch.{leaf.dtype}")
        super().__init__(func, args, {}, numbers, has_aux, caller)
        with enable_grad():
            self.differentiable = [output for output in self.outputs if output.requires_grad]
            self.directions = [zeros_like(output).requires_grad_() for output in self.differentiable]
            for direction in self.directions:
                direction._transform_leaf = True
            self.transposed = _grad(self.differentiable, self.own, self.directions, create_graph=True)

    def product(self, tangents, keep):
        """J t for tangents, one per own leaf (None for a zero one): one tensor per output, recorded where `keep`."""
        pairs = [(part, tangent) for part, tangent in zip(self.transposed, tangents)
                 if part is not None and tangent is not None]
        with enable_grad():
            products = iter(_gradients([part for part, _ in pairs], self.directions, [t for _, t in pairs],
                                       create_graph=keep) if pairs else [zeros_like(d) for d in self.directions])
        return [self._widened(next(products), output, tangents) if output.requires_grad else zeros_like(output)
                for output in self.outputs]

    def _widened(self, product, output, tangents):
        """J t of `output` in the dtype that torch's forward mode gives it: a tangent wider than its primal (float64
        on float32) is carried, by the promotions of the ops' tangent formulas, to the outputs of its primal's dtype
        that depend on it (an output of another dtype came through a cast, which casts the tangent too)."""
        dtype = output.dtype
        for leaf, tangent in zip(self.own, tangents):
            if tangent is not None and tangent.dtype.kind == "f" and leaf.dtype == output.dtype \
                    and _depends_on(output, [leaf]):
                dtype = promote(dtype, tangent.dtype)
        return product if dtype == product.dtype else product.to(dtype)

    def released_product(self, tangents):
        keep = self.keeps_with(tangents)
        return _unflatten(self.released(self.product(tangents, keep), keep), self.output_structure)


def _tangents_like(primals, tangents, caller):
    """The tangents' tensors, checked against the primals' (structure, shape), in order."""
    primal_leaves, primal_structure = _flatten(primals)
    tangent_leaves, tangent_structure = _flatten(tangents)
    if primal_structure != tangent_structure:
        raise RuntimeError(f"{caller}: Expected primals and tangents to have the same python structure. For example, "
                           "if primals is a tuple of 3 tensors, tangents also must be. Got primals with structure "
                           f"{_spelt(primal_structure)} and tangents with structure {_spelt(tangent_structure)}")
    for name, leaves in (("primals", primal_leaves), ("tangents", tangent_leaves)):
        if not leaves:
            raise RuntimeError(f"{caller}: Expected {name} to contain at least one Tensor.")
        for leaf in leaves:
            if not isinstance(leaf, Tensor):
                raise RuntimeError(f"{caller}: Expected {name} to only contain Tensors, got {type(leaf)}")
    for primal, tangent in zip(primal_leaves, tangent_leaves):
        if tangent.shape != primal.shape:
            raise RuntimeError("Trying to set a forward gradient that has a different size than that of the original "
                               f"Tensor, this is not supported. Tensor is of size {list(primal.shape)} while the given "
                               f"forward gradient is of size {list(tangent.shape)}.")
    return tangent_leaves


def jvp(func, primals, tangents, *, strict=False, has_aux=False):
    """(func(*primals), the derivative of func at the primals in the direction of the tangents[, aux]): the
    tangents a tuple like the primals, the derivative a pytree like the output. With strict, an output that does
    not depend on the primals is an error (its derivative is otherwise zeros)."""
    caller = "jvp(f, primals, tangents)"
    if not isinstance(primals, tuple):
        raise RuntimeError(f"{caller}: Expected primals to be a tuple. E.g. it should be valid to call f(*primals).")
    tangents = _tangents_like(primals, tangents, caller)
    traced = _Linearized(func, primals, None, has_aux, caller)
    if strict and not all(_depends_on(output, traced.own) for output in traced.outputs):
        raise RuntimeError("jvp(f, primals, tangents, strict=True): The output of f is independent of the inputs. "
                           "This is not allowed with strict=True.")
    product = traced.released_product(tangents)
    output = traced.released(traced.output)
    return (output, product, traced.released_aux()) if has_aux else (output, product)


def linearize(func, *primals):
    """(func(*primals), jvp_fn): jvp_fn(*tangents) gives func's derivative at the primals in their direction, as
    jvp does, without running func again."""
    traced = _Linearized(func, primals, None, False, "linearize(f, *primals)")

    primal_leaves, primal_structure = _flatten(primals)

    def jvp_fn(*tangents):
        tangent_leaves, tangent_structure = _flatten(tangents)
        if tangent_structure != primal_structure:
            raise RuntimeError(f"Expected the tangents {_spelt(tangent_structure)} to have the same argspec as the "
                               f"primals {_spelt(primal_structure)}")
        for index, (primal, tangent) in enumerate(zip(primal_leaves, tangent_leaves)):
            for name, spelt in (("shape", _size), ("dtype", lambda dtype: f"torch.{dtype}")):
                if getattr(tangent, name) != getattr(primal, name):
                    raise RuntimeError(f"tangent:{index} with {name} {spelt(getattr(tangent, name))} in flattened "
                                       f"pytree doesn't match the {name} {spelt(getattr(primal, name))} of the "
                                       "corresponding primal.")
        return traced.released_product(tangent_leaves)

    return traced.released(traced.output), jvp_fn


# ------------------------------------------------------------------------------------------ Jacobians


def _jacobians(traced, argnums, blocks, by_leaf):
    """The Jacobian of each output with respect to each own leaf, nested as torch's: a pytree like the output whose
    leaves are pytrees like the arguments at argnums (a tuple of them where argnums is a tuple). blocks[i][j] is
    output i's block for leaf j, of shape output.shape + leaf.shape. torch's computes a leaf's blocks together
    (by_leaf, jacrev) or an output's (jacfwd), so they stay differentiable together where any of them can be."""
    groups = [list(column) for column in zip(*blocks)] if by_leaf else blocks
    keeps = [traced.keep and _reaches_outside(group, traced.own) for group in groups]
    kept = [[block if (keeps[j] if by_leaf else keeps[i]) else block.detach() for j, block in enumerate(row)]
            for i, row in enumerate(blocks)]
    per_output = [traced.in_argument_structures(row, isinstance(argnums, int)) for row in kept]
    return _unflatten(per_output, traced.output_structure)


def jacrev(func, argnums=0, *, has_aux=False, chunk_size=None):
    """A function that gives func's Jacobian with respect to the arguments at `argnums`, row by row: one walk back
    per output entry."""
    if chunk_size is not None and chunk_size <= 0:
        raise ValueError("jacrev: `chunk_size` should be greater than 0.")

    @functools.wraps(func)
    def jacobian(*args, **kwargs):
        traced = _Traced(func, args, kwargs, _argnums(argnums, len(args)), has_aux, "vjp(f, *primals)",
                         check=_require_floating_tensors)
        with enable_grad():
            blocks = [_jacobians_of(index, output, traced.own, traced.keep, strict=False)
                      for index, output in enumerate(traced.outputs)]
        result = _jacobians(traced, argnums, blocks, by_leaf=True)
        return (result, traced.released_aux()) if has_aux else result
    return jacobian


def jacfwd(func, argnums=0, has_aux=False, *, randomness="error"):
    """A function that gives func's Jacobian with respect to the arguments at `argnums`, column by column: one
    Jacobian-vector product per input entry."""
    _check_randomness(randomness)

    @functools.wraps(func)
    def jacobian(*args, **kwargs):
        traced = _Linearized(functools.partial(func, **kwargs), args, _argnums(argnums, len(args)), has_aux,
                             "jvp(f, primals, tangents)")
        columns = [[] for _ in traced.outputs]  # per output, per own leaf, its columns
        for index, leaf in enumerate(traced.own):
            tangents = [None] * len(traced.own)
            for output_columns in columns:
                output_columns.append([])
            for unit in _unit_vectors(leaf):
                tangents[index] = unit
                for output_columns, product in zip(columns, traced.product(tangents, traced.keep)):
                    output_columns[-1].append(product)
        blocks = [[_stacked(parts, output, leaf, dim=-1) for leaf, parts in zip(traced.own, output_columns)]
                  for output, output_columns in zip(traced.outputs, columns)]
        result = _jacobians(traced, argnums, blocks, by_leaf=False)
        return (result, traced.released_aux()) if has_aux else result
    return jacobian


def hessian(func, argnums=0):
    """A function that gives the Hessian of func with respect to the arguments at `argnums`: jacfwd of jacrev, as
    torch's."""
    return jacfwd(jacrev(func, argnums), argnums)


# ------------------------------------------------------------------------------------------------ vmap

_RANDOMNESS = ("error", "different", "same")


def _check_randomness(randomness):
    if randomness not in _RANDOMNESS:
        raise RuntimeError(f"Only allowed values for randomness are 'error', 'different', or 'same'. Got {randomness}")


def vmap(func, in_dims=0, out_dims=0, randomness="error", *, chunk_size=None):
    """A function that maps func over dimension in_dims of its inputs (None: not mapped; a pytree of them for
    pytree inputs) and stacks its outputs along out_dims (None: an output that does not depend on the samples,
    given as it is). func runs once per sample. randomness: "error" refuses a random draw in func, "different"
    draws anew for each sample, "same" draws the same numbers for every sample (the default generator's, from its
    state at the call) and refuses a random op whose parameters depend on the samples, as torch's."""
    _check_randomness(randomness)
    if chunk_size is not None and chunk_size <= 0:
        raise ValueError(f"vmap: chunk_size should be None or greater than 0. (got {chunk_size})")
    name = _name_of(func)

    @functools.wraps(func)
    def mapped(*args, **kwargs):
        caller = f"vmap({name}, in_dims={in_dims}, ...)(<inputs>)"
        if any(dim is not None and not isinstance(dim, int) for dim in _flatten(out_dims)[0]):
            raise ValueError(f"vmap({name}, ..., out_dims={out_dims}): `out_dims` must be an int, None or a python "
                             "collection of ints representing where in the outputs the vmapped dimension should "
                             "appear.")
        if not isinstance(in_dims, (int, tuple)) or isinstance(in_dims, bool):
            raise ValueError(f"{caller}: expected `in_dims` to be int or a (potentially nested) tuple matching the "
                             f"structure of inputs, got: {type(in_dims)}.")
        if not args:
            raise ValueError(f"vmap({name})(<inputs>): got no inputs. Maybe you forgot to add inputs, or you are "
                             "trying to vmap over a function with no inputs. The latter is unsupported.")
        leaves, structure = _flatten(args)
        dims = _per_leaf(in_dims if isinstance(in_dims, tuple) else (in_dims,) * len(args), args, lambda: ValueError(
            f"{caller}: in_dims is not compatible with the structure of `inputs`. in_dims has structure "
            f"{_spelt(_flatten(in_dims)[1])} but inputs has structure {_spelt(structure)}."))
        size = _batch_size(leaves, dims, caller)
        level = batching.Level(randomness)
        state = random.default_generator.get_state() if randomness == "same" else None
        samples = []
        batching.levels.append(level)
        try:
            if size == 0:
                return _empty_outputs(func, leaves, dims, structure, kwargs, out_dims, name, level)
            for index in range(size):
                if randomness == "same":
                    random.default_generator.set_state(state)
                sample = [leaf if dim is None else batching.batched(leaf.select(dim, index), level)
                          for leaf, dim in zip(leaves, dims)]
                samples.append(func(*_unflatten(sample, structure), **kwargs))
        finally:
            batching.levels.pop()
        return _stacked_outputs(samples, out_dims, name, level)
    return mapped


def _name_of(func):
    """func's name in vmap's messages, as torch's gives it."""
    if hasattr(func, "__name__"):
        return func.__name__
    if isinstance(func, functools.partial):
        return f"functools.partial({_name_of(func.func)}, ...)"
    return repr(func)


def _batch_size(leaves, dims, caller):
    """The size of the mapped dimension, the same for every mapped input, whose dims are checked."""
    sizes = []
    for leaf, dim in zip(leaves, dims):
        if dim is None:
            continue
        if not isinstance(dim, int):
            raise ValueError(f"{caller}: Got in_dim={dim} for an input but in_dim must be either an integer dimension "
                             "or None.")
        if not isinstance(leaf, Tensor):
            raise ValueError(f"{caller}: Got in_dim={dim} for an input but the input is of type {type(leaf)}. We "
                             "cannot vmap over non-Tensor arguments, please use None as the respective in_dim")
        if not -leaf.ndim <= dim < leaf.ndim:
            raise ValueError(f"{caller}: Got in_dim={dim} for some input, but that input is a Tensor of "
                             f"dimensionality {leaf.ndim} so expected in_dim to satisfy -{leaf.ndim} <= in_dim < "
                             f"{leaf.ndim}.")
        sizes.append(leaf.shape[dim])
    if not sizes:
        raise ValueError("vmap: Expected at least one Tensor to vmap over")
    if len(set(sizes)) > 1:
        raise ValueError(f"vmap: Expected all tensors to have the same size in the mapped dimension, got sizes {sizes} "
                         "for the mapped dimension")
    return sizes[0]


def _out_dims_per_leaf(out_dims, outputs, name):
    """The out_dim of each of the outputs' leaves; a single tensor takes an out_dims of one, as torch's."""
    def mismatch():
        return ValueError(f"vmap({name}, ..., out_dims={out_dims})(<inputs>): out_dims is not compatible with the "
                          f"structure of `outputs`. out_dims has structure {_spelt(_flatten(out_dims)[1])} but "
                          f"outputs has structure {_spelt(_flatten(outputs)[1])}.")
    if isinstance(outputs, Tensor) and isinstance(out_dims, tuple) and len(out_dims) == 1:
        return list(out_dims)
    return _per_leaf(out_dims, outputs, mismatch)


def _stacked_outputs(samples, out_dims, name, level):
    """The samples' outputs (pytrees alike), each leaf stacked along its out_dim; an out_dim of None gives an output
    that is the same for every sample as it is."""
    flat = [_flatten(sample) for sample in samples]
    structure = flat[0][1]
    dims = _out_dims_per_leaf(out_dims, samples[0], name)
    outputs = []
    for position, dim in enumerate(dims):
        parts = [leaves[position] for leaves, _ in flat]
        if dim is None:
            _require_unbatched(parts, level, name)
            outputs.append(parts[0])
            continue
        _require_mapped(parts[0], name)
        outputs.append(stack(parts, dim=dim))
    return _unflatten(outputs, structure)


def _require_unbatched(parts, level, name):
    """An output of out_dim None, its value for each sample (`parts`), must not depend on the samples, as torch's:
    computed from them (batched at the vmap's level, whatever its values; or at an enclosing vmap's, which torch
    refuses too) or different from one to another."""
    if any(batching.is_batched(part, level, *batching.levels) or part is not parts[0]
           and not (isinstance(part, Tensor) and bool((part == parts[0]).all())) for part in parts):
        raise ValueError(f"vmap({name}, ...): `{name}` can not return a BatchedTensor when out_dim is None")


def _require_mapped(output, name):
    """An output that is mapped (stacked along its out_dim) must be a tensor."""
    if not isinstance(output, Tensor):
        raise ValueError(f"vmap({name}, ...): `{name}` must only return Tensors, got type {type(output)}. Did you "
                         "mean to set out_dims= to None for output?")


def _empty_outputs(func, leaves, dims, structure, kwargs, out_dims, name, level):
    """vmap's outputs for a mapped dimension of size 0: func run without recording on a sample of zeros, for the
    outputs' shapes, each stacked from no samples."""
    sample = [leaf if dim is None else batching.batched(leaf.new_zeros(leaf.movedim(dim, 0).shape[1:]), level)
              for leaf, dim in zip(leaves, dims)]
    with no_grad():
        shapes = func(*_unflatten(sample, structure), **kwargs)
    leaves_out, out_structure = _flatten(shapes)
    dims_out = _out_dims_per_leaf(out_dims, shapes, name)
    outputs = []
    for leaf, dim in zip(leaves_out, dims_out):
        if dim is None:
            _require_unbatched([leaf], level, name)
        else:
            _require_mapped(leaf, name)
            leaf = zeros_like(leaf).unsqueeze(dim).narrow(dim, 0, 0)
        outputs.append(leaf)
    return _unflatten(outputs, out_structure)


# --------------------------------------------------------------------------------------- modules


def functional_call(module, parameter_and_buffer_dicts, args=None, kwargs=None, *, tie_weights=True, strict=False):
    """module(*args, **kwargs) with the parameters and buffers named in the dicts (by their state-dict names) in
    place of the module's own, which are put back afterwards, even after an error. Names the dicts leave out keep
    the module's tensors (with strict, an error); a parameter tied to another under two names takes the given tensor
    under both, unless tie_weights is False."""
    dicts = [parameter_and_buffer_dicts] if isinstance(parameter_and_buffer_dicts, dict) else \
        list(parameter_and_buffer_dicts)
    names = [name for mapping in dicts for name in mapping]
    repeated = [name for name in dict.fromkeys(names) if names.count(name) > 1]
    if repeated:
        raise ValueError(f"{repeated} appeared in multiple dictionaries; behavior of functional call is ambiguous")
    replacements = {name: tensor for mapping in dicts for name, tensor in mapping.items()}
    own = dict(module.named_parameters(remove_duplicate=False))
    own.update(module.named_buffers(remove_duplicate=False))
    if tie_weights:
        replacements = _with_tied_names(own, replacements)
    if strict:
        unexpected = sorted(name for name in replacements if name not in own)
        missing = sorted(name for name in own if name not in replacements)
        if unexpected or missing:
            lines = [f"\tUnexpected key(s): {', '.join(repr(n) for n in unexpected)}." if unexpected else None,
                     f"\tMissing key(s): {', '.join(repr(n) for n in missing)}." if missing else None]
            raise RuntimeError(f"Error(s) in reparametrizing for {type(module).__name__}:\n"
                               + "\n".join(line for line in lines if line))
    args = () if args is None else args if isinstance(args, tuple) else (args,)
    restores = []
    try:
        for name, tensor in replacements.items():
            restores.append(_swap(module, name, tensor))
        return module(*args, **(kwargs or {}))
    finally:
        for restore in reversed(restores):
            restore()


def _with_tied_names(own, replacements):
    """The replacements, each given also under the other names of a tensor the module holds under several."""
    names_of = {}
    for name, tensor in own.items():
        names_of.setdefault(id(tensor), []).append(name)
    tied = dict(replacements)
    for name, tensor in replacements.items():
        for other in names_of.get(id(own.get(name)), [name]):
            if other != name and other in replacements and replacements[other] is not tensor:
                names = sorted(n for n in names_of[id(own[name])] if n in replacements)
                raise ValueError(f"functional_call got multiple values for keys {names}, which are tied. Consider "
                                 "using tie_weights=False")
            tied[other] = tensor
    return tied


def _swap(module, name, tensor):
    """Put `tensor` in the place of the module's parameter, buffer or other attribute `name` (dotted): a function
    that puts back what was there (removes it, where there was nothing). A parameter's or buffer's place is taken in
    its registry; another attribute is set, as torch's, so that a parametrized tensor's setter (right_inverse) runs."""
    if tensor is not None and not isinstance(tensor, Tensor):
        raise TypeError(f"{tensor} is not an instance of torch.Tensor")
    *path, attribute = name.split(".")
    owner = module.get_submodule(".".join(path)) if path else module
    registry = next((r for r in (owner._parameters, owner._buffers) if attribute in r), None)
    if registry is not None:
        registered = registry[attribute]
        registry[attribute] = tensor
        object.__setattr__(owner, attribute, tensor)

        def restore():
            registry[attribute] = registered
            object.__setattr__(owner, attribute, registered)
        return restore
    previous = getattr(owner, attribute, _MISSING)
    if previous is not _MISSING and not isinstance(previous, Tensor):
        raise TypeError(f"attribute `{attribute}`: {previous} is not an instance of torch.Tensor")
    setattr(owner, attribute, tensor)
    return lambda: delattr(owner, attribute) if previous is _MISSING else setattr(owner, attribute, previous)


_MISSING = object()  # an attribute a module does not have


def replace_all_batch_norm_modules_(root):
    """root, its batch norms changed in place to normalise by each batch's own statistics in training and in eval
    alike, their running statistics dropped: under vmap a batch norm sees one sample at a time, and could not move
    running statistics shared by all."""
    for module in root.modules():
        if isinstance(module, _BatchNorm) and module.track_running_stats:
            module.running_mean = module.running_var = module.num_batches_tracked = None
            module.track_running_stats = False
    return root


def stack_module_state(models):
    """(parameters, buffers) of several models of one architecture, each name's tensors stacked along a new first
    dimension, for functional_call under vmap (an ensemble in one call). The stacked parameters are new leaves that
    require grad where the models' do."""
    models = list(models)
    if not models:
        raise RuntimeError("stack_module_state: Expected at least one model, got 0.")
    if len({model.training for model in models}) > 1:
        raise RuntimeError("stack_module_state: Expected all models to have the same training/eval mode.")
    if len({type(model) for model in models}) > 1:
        raise RuntimeError("stack_module_state: Expected all models to be of the same class.")
    each_parameters = [dict(model.named_parameters()) for model in models]
    each_buffers = [dict(model.named_buffers()) for model in models]
    return ({name: _stacked_leaf([named[name] for named in each_parameters], name) for name in each_parameters[0]},
            {name: _stacked_leaf([named[name] for named in each_buffers], name) for name in each_buffers[0]})


def _stacked_leaf(tensors, name):
    """The models' tensors under one name stacked, a new leaf that requires grad where they do."""
    if len({t.requires_grad for t in tensors}) > 1:
        raise RuntimeError(f"Expected {name} from each model to have the same .requires_grad")
    return stack([t.detach() for t in tensors]).requires_grad_(tensors[0].requires_grad)
