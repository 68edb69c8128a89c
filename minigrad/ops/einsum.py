"""einsum: sums of products named by subscripts, as torch.einsum, with the gradient of each operand an einsum of
the output's gradient with the other operands."""
import string

from .. import kernels
from ..backend import get_array_module
from ..function import SCALAR_TYPE_NAMES, Function, is_tensor


def _invalid_subscript(equation):
    """torch's error for a character that is no subscript (nor part of ',', '->', '...')."""
    for index, character in enumerate(equation):
        if not (character in string.ascii_letters or character in " ,.->"):
            raise RuntimeError(f"einsum(): invalid subscript given at index {index} in the equation string, "
                               "subscripts must be in [a-zA-Z]")


def _explicit_terms(equation, shapes):
    """The equation's input terms and output term with every dim named by one letter: '...' becomes letters of
    its own (the same ones across operands, right-aligned, as they broadcast), and without '->' the output is
    the ellipsis followed by the letters that appear once, in alphabetical order, as in torch."""
    _invalid_subscript(equation)
    equation = equation.replace(" ", "")
    inputs, arrow, output = equation.partition("->")
    terms = inputs.split(",")
    if len(terms) < len(shapes):
        raise RuntimeError("einsum(): more operands were provided than specified in the equation")
    if len(terms) > len(shapes):
        raise RuntimeError("einsum(): fewer operands were provided than specified in the equation")
    spares = [letter for letter in string.ascii_letters if letter not in equation]
    ellipsis_dims = 0
    for index, (term, shape) in enumerate(zip(terms, shapes)):
        if "." in term.replace("...", "", 1):
            raise RuntimeError(f"einsum(): found '.' for operand {index} " + (
                "for which an ellipsis was already found" if term.count("...") > 1 else
                "that is not part of any ellipsis"))
        named = len(term.replace("...", ""))
        if "..." not in term and named != len(shape):
            raise RuntimeError(f"einsum(): the number of subscripts in the equation ({named}) does not match the "
                               f"number of dimensions ({len(shape)}) for operand {index} and no ellipsis was given")
        if named > len(shape):
            raise RuntimeError(f"einsum(): the number of subscripts in the equation ({named}) is more than the "
                               f"number of dimensions ({len(shape)}) for operand {index}")
        if "..." in term:
            ellipsis_dims = max(ellipsis_dims, len(shape) - named)
    if ellipsis_dims > len(spares):
        raise RuntimeError("einsum(): too many dimensions for the 52 subscripts [a-zA-Z]")
    broadcast = "".join(spares[:ellipsis_dims])
    terms = [term.replace("...", broadcast[len(broadcast) - (len(shape) - len(term.replace("...", ""))):])
             for term, shape in zip(terms, shapes)]
    if not arrow:
        letters = "".join(terms)
        output = broadcast + "".join(sorted(letter for letter in set(letters) - set(broadcast)
                                            if letters.count(letter) == 1))
    output = output.replace("...", broadcast)
    for letter in output:
        if letter not in "".join(terms):
            raise RuntimeError(f"einsum(): output subscript {letter} does not appear in the equation for any input "
                               "operand")
        if output.count(letter) > 1:
            raise RuntimeError(f"einsum(): output subscript {letter} appears more than once in the output")
    return terms, output, broadcast, spares[ellipsis_dims:]


def _letter_sizes(terms, shapes, broadcast):
    """Each letter's size: one per operand for a repeated letter (a diagonal), and across operands equal or 1
    (broadcast), with torch's errors (their own for the ellipsis, whose letters are `broadcast`)."""
    sizes = {}
    for index, (term, shape) in enumerate(zip(terms, shapes)):
        own = {}
        for letter, size in zip(term, shape):
            if own.setdefault(letter, size) != size:
                raise RuntimeError(f"einsum(): subscript {letter} is repeated for operand {index} but the sizes don't "
                                   f"match, {size} != {own[letter]}")
            seen = sizes.setdefault(letter, size)
            if size != seen and 1 not in (size, seen):
                if letter in broadcast:  # torch's words, "1has" included
                    raise RuntimeError(f"einsum(): dimension {term.index(letter)} covered by ellipsis in operand "
                                       f"{index}has size {size} which does not broadcast with previously seen "
                                       f"ellipsis with size {seen} for the respective dimension")
                raise RuntimeError(f"einsum(): subscript {letter} has size {size} for operand {index} which does not "
                                   f"broadcast with previously seen size {seen}")
            sizes[letter] = max(seen, size)
    return sizes


def _einsum(terms, output, arrays):
    """The einsum of explicit terms, through BLAS products (on the GPU, cuBLAS's, which a CUDA graph can capture)
    where there are two operands or more."""
    return kernels.einsum(f"{','.join(terms)}->{output}", *arrays)


def _planned(equation, arrays):
    """The explicit terms and output of `equation`, the spare letters, and the arrays, each broadcast along its
    size-1 dims to its letters' sizes (left as they are where none is)."""
    xp = get_array_module(arrays[0])
    terms, output, broadcast, spares = _explicit_terms(equation, [array.shape for array in arrays])
    sizes = _letter_sizes(terms, [array.shape for array in arrays], broadcast)
    shapes = [tuple(sizes[letter] for letter in term) for term in terms]
    arrays = [array if array.shape == shape else xp.broadcast_to(array, shape) for array, shape in zip(arrays, shapes)]
    return terms, output, spares, arrays


def einsum_of_one(equation, array):
    """The einsum of one array, NumPy's and CuPy's view of it for a permutation or a diagonal (as torch's is):
    how Tensor._viewed takes that view of the operand's array anew."""
    terms, output, _, arrays = _planned(equation, [array])
    return _einsum(terms, output, arrays)


class Einsum(Function):
    """Operands of one dtype, as torch's (no promotion). A size-1 dim broadcasts to its letter's size, and the
    engine sums its gradient back."""

    autocast_category = "lower"
    half_in_float32 = True

    promotes_inputs = False

    @staticmethod
    def forward(ctx, *arrays, equation):
        for array in arrays[1:]:
            if array.dtype != arrays[0].dtype:
                raise RuntimeError(f"expected scalar type {SCALAR_TYPE_NAMES[arrays[0].dtype]} but found "
                                   f"{SCALAR_TYPE_NAMES[array.dtype]}")
        terms, output, spares, arrays = _planned(equation, arrays)
        ctx.save_for_backward(terms, output, spares, arrays)
        return _einsum(terms, output, arrays)

    @staticmethod
    def backward(ctx, grad):
        terms, output, spares, arrays = ctx.saved
        return tuple(_operand_gradient(grad, output, terms, arrays, index, spares) if needed else None
                     for index, needed in enumerate(ctx.needs_input_grad))

    @staticmethod
    def differentiable_backward(ctx, grad):
        terms, output, spares, arrays = ctx.saved
        linked = [ctx.linked(position, array) for position, array in enumerate(arrays)]
        return tuple(_operand_gradient(grad, output, terms, linked, index, spares) if needed else None
                     for index, needed in enumerate(ctx.needs_input_grad))


def _operand_gradient(grad, output, terms, arrays, index, spares):
    """The gradient of operand `index`: the einsum of grad with the other operands onto its term. A letter that
    repeats in the term (a diagonal) gets a spare letter and an identity matrix tying the two; a letter that
    appears nowhere else (summed within the operand) is absent from the einsum, whose result broadcasts along
    it. Of arrays (backward), or of tensors, recorded (differentiable_backward)."""
    recorded = is_tensor(grad)
    xp = get_array_module(grad.data if recorded else grad)
    others = [(term, array) for position, (term, array) in enumerate(zip(terms, arrays)) if position != index]
    target, spares = "", iter(spares)
    for letter, size in zip(terms[index], arrays[index].shape):
        if letter in target:
            spare = next(spares)
            others.append((letter + spare, xp.eye(size, dtype=grad.dtype)))
            letter = spare
        target += letter
    present = set(output).union(*(term for term, _ in others))
    kept = "".join(letter for letter in target if letter in present)
    operand_terms, operands = [output, *(term for term, _ in others)], [grad, *(array for _, array in others)]
    if recorded:
        result = Einsum.apply(*operands, equation=f"{','.join(operand_terms)}->{kept}")
    else:
        result = _einsum(operand_terms, kept, operands)
    shape = arrays[index].shape
    if kept != target:
        result = result.reshape([size if letter in present else 1 for letter, size in zip(target, shape)])
    return result.expand(shape) if recorded else xp.broadcast_to(result, shape)
