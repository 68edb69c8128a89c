"""torch's MultiheadAttention, with its parameter names and initialisation, so that its checkpoints load and its
outputs carry over."""
import math
import warnings

from .. import functional as F
from . import init
from .init import empty_parameter
from .layers import Linear
from .module import Module


class NonDynamicallyQuantizableLinear(Linear):
    """A plain Linear under the name torch gives MultiheadAttention's out_proj, which its repr prints."""


class MultiheadAttention(Module):
    """torch's multi-head attention: query, key and value projected (one packed in_proj_weight (3E, E) when key and
    value have embed_dim features, else q_, k_ and v_proj_weight), split into num_heads heads, attended, joined and
    projected by out_proj. Inputs (L, N, E), (N, L, E) with batch_first, or unbatched (L, E). Masks as torch's:
    True (bool) blocks a key, a float is added to the scores; attn_mask (L, S) or (N * num_heads, L, S),
    key_padding_mask (N, S), the two summed. add_bias_kv appends a learnt key and value, add_zero_attn a zero
    one, to every sequence. Returns the output and, with need_weights, the attention weights (after dropout, as
    torch's), averaged over the heads with average_attn_weights. device and dtype reach every parameter, out_proj's
    too."""

    def __init__(self, embed_dim, num_heads, dropout=0.0, bias=True, add_bias_kv=False, add_zero_attn=False,
                 kdim=None, vdim=None, batch_first=False, device=None, dtype=None):
        if embed_dim <= 0 or num_heads <= 0:
            raise ValueError(f"embed_dim and num_heads must be greater than 0, got embed_dim={embed_dim} and "
                             f"num_heads={num_heads} instead")
        super().__init__()
        self.embed_dim, self.num_heads, self.dropout, self.batch_first = embed_dim, num_heads, dropout, batch_first
        self.kdim = embed_dim if kdim is None else kdim
        self.vdim = embed_dim if vdim is None else vdim
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.head_dim = embed_dim // num_heads
        if self.head_dim * num_heads != embed_dim:
            raise AssertionError("embed_dim must be divisible by num_heads")
        factory_kwargs = {"device": device, "dtype": dtype}
        separate_names = ("q_proj_weight", "k_proj_weight", "v_proj_weight")
        if self._qkv_same_embed_dim:
            self.in_proj_weight = empty_parameter(3 * embed_dim, embed_dim, **factory_kwargs)
            for name in separate_names:
                self.register_parameter(name, None)
        else:
            for name, in_features in zip(separate_names, (embed_dim, self.kdim, self.vdim)):
                setattr(self, name, empty_parameter(embed_dim, in_features, **factory_kwargs))
            self.register_parameter("in_proj_weight", None)
        self.register_parameter("in_proj_bias", empty_parameter(3 * embed_dim, **factory_kwargs) if bias else None)
        self.out_proj = NonDynamicallyQuantizableLinear(embed_dim, embed_dim, bias=bias, **factory_kwargs)
        if add_bias_kv:
            self.bias_k, self.bias_v = (empty_parameter(1, 1, embed_dim, **factory_kwargs) for _ in range(2))
        else:
            self.bias_k = self.bias_v = None
        self.add_zero_attn = add_zero_attn
        self._reset_parameters()

    def _reset_parameters(self):
        """torch's: Glorot-uniform projections, zero biases (out_proj's too), Glorot-normal bias_k and bias_v."""
        for weight in (self.in_proj_weight, self.q_proj_weight, self.k_proj_weight, self.v_proj_weight):
            if weight is not None:
                init.xavier_uniform_(weight)
        if self.in_proj_bias is not None:
            init.constant_(self.in_proj_bias, 0.0)
            init.constant_(self.out_proj.bias, 0.0)
        for bias in (self.bias_k, self.bias_v):
            if bias is not None:
                init.xavier_normal_(bias)

    def forward(self, query, key, value, key_padding_mask=None, need_weights=True, attn_mask=None,
                average_attn_weights=True, is_causal=False):
        key_padding_mask = additive_mask(key_padding_mask, "key_padding_mask", query.dtype, attn_mask)
        attn_mask = additive_mask(attn_mask, "attn_mask", query.dtype)
        batched = _check_ranks(query, key, value, key_padding_mask, attn_mask, self.num_heads)
        self_attention = query is key is value
        if not batched:
            query, key, value = (x.unsqueeze(1) for x in (query, key, value))
            key_padding_mask = None if key_padding_mask is None else key_padding_mask.unsqueeze(0)
        elif self.batch_first:
            query, key, value = (x.transpose(0, 1) for x in (query, key, value))
        if is_causal and attn_mask is None:
            raise RuntimeError("Need attn_mask if specifying the is_causal hint. You may use the Transformer module "
                               "method `generate_square_subsequent_mask` to create this mask.")
        causal = is_causal and key_padding_mask is None and not need_weights  # torch then drops attn_mask for the hint
        attn_mask = None if causal else attn_mask
        (length, batch, embed_dim), sources = query.shape, key.shape[0]
        self._check_dims(query, key, value)
        q, k, v = self._projections(query, key, value, self_attention)
        attn_mask = None if attn_mask is None else self._attn_mask_by_heads(attn_mask, length, batch, sources)
        q, k, v, attn_mask = self._by_heads(q, k, v, attn_mask, key_padding_mask)
        dropout_p = self.dropout if self.training else 0.0
        if need_weights:
            output, weights = _attention_with_weights(q, k, v, attn_mask, dropout_p)
        else:
            output, weights = F.scaled_dot_product_attention(q, k, v, attn_mask, dropout_p, causal), None
        output = F.linear(output.permute(2, 0, 1, 3).reshape(length, batch, embed_dim), self.out_proj.weight,
                          self.out_proj.bias)
        if weights is not None and average_attn_weights:
            weights = weights.mean(dim=1)
        if not batched:
            return output.squeeze(1), None if weights is None else weights.squeeze(0)
        return output.transpose(0, 1) if self.batch_first else output, weights

    def _by_heads(self, q, k, v, attn_mask, key_padding_mask):
        """q (L, N, E), k and v (S, N, E) as (N, num_heads, L or S', head_dim), S' counting the keys that add_bias_kv
        and add_zero_attn append, and the one mask that sums attn_mask and key_padding_mask, padded to S'."""
        batch = q.shape[1]
        if self.bias_k is not None:
            k = F.cat([k, self.bias_k.expand(1, batch, self.embed_dim)])
            v = F.cat([v, self.bias_v.expand(1, batch, self.embed_dim)])
            attn_mask, key_padding_mask = _zero_column(attn_mask), _zero_column(key_padding_mask)
        q, k, v = (x.reshape(x.shape[0], batch, self.num_heads, self.head_dim).permute(1, 2, 0, 3) for x in (q, k, v))
        if self.add_zero_attn:
            zeros = k.new_zeros(batch, self.num_heads, 1, self.head_dim)
            k, v = F.cat([k, zeros], dim=2), F.cat([v, zeros], dim=2)
            attn_mask, key_padding_mask = _zero_column(attn_mask), _zero_column(key_padding_mask)
        if key_padding_mask is not None:
            _check_key_padding_mask(key_padding_mask, k.shape[2], batch)
            padding = key_padding_mask.reshape(batch, 1, 1, k.shape[2])
            attn_mask = padding if attn_mask is None else attn_mask + padding
        return q, k, v, attn_mask

    def _check_dims(self, query, key, value):
        """torch's checks of the feature and sequence dims, inputs (L, N, E) and (S, N, kdim), (S, N, vdim)."""
        if query.shape[-1] != self.embed_dim:
            raise AssertionError(f"was expecting embedding dimension of {self.embed_dim}, but got {query.shape[-1]}")
        if not self._qkv_same_embed_dim and key.shape[:2] != value.shape[:2]:
            raise AssertionError(f"key's sequence and batch dims {F._size(key.shape[:2])} do not match value's "
                                 f"{F._size(value.shape[:2])}")
        if self._qkv_same_embed_dim and key.shape != value.shape:
            raise AssertionError(f"key shape {F._size(key.shape)} does not match value shape {F._size(value.shape)}")
        for role, weight, x in (("key", self.k_proj_weight, key), ("value", self.v_proj_weight, value)):
            if weight is not None and weight.shape != (self.embed_dim, x.shape[-1]):
                raise AssertionError(f"expecting {role} weights shape of {(self.embed_dim, x.shape[-1])}, but got "
                                     f"{F._size(weight.shape)}")

    def _projections(self, query, key, value, self_attention):
        """q, k and v projected; self-attention with the packed weight takes one matmul for the three."""
        biases = (None,) * 3 if self.in_proj_bias is None else self.in_proj_bias.chunk(3)
        if not self._qkv_same_embed_dim:
            weights = (self.q_proj_weight, self.k_proj_weight, self.v_proj_weight)
        elif self_attention:
            return F.linear(query, self.in_proj_weight, self.in_proj_bias).chunk(3, dim=-1)
        else:
            weights = self.in_proj_weight.chunk(3)
        return [F.linear(x, weight, bias) for x, weight, bias in zip((query, key, value), weights, biases)]

    def _attn_mask_by_heads(self, attn_mask, length, batch, sources):
        """attn_mask (L, S) or (N * num_heads, L, S), checked, as (1, 1, L, S) or (N, num_heads, L, S)."""
        rank = attn_mask.ndim
        expected = (length, sources) if rank == 2 else (batch * self.num_heads, length, sources)
        if attn_mask.shape != expected:
            raise RuntimeError(f"The shape of the {rank}D attn_mask is {F._size(attn_mask.shape)}, but should be "
                               f"{expected}.")
        return attn_mask.reshape(-1 if rank == 3 else 1, self.num_heads if rank == 3 else 1, length, sources)


def additive_mask(mask, name, dtype, other=None, other_name="attn_mask"):
    """A bool mask as torch's float one, -inf where it blocks and 0 elsewhere, in the input's dtype; a float mask
    as it is. Other masks are refused, and a mask whose dtype differs from `other`'s warns, as torch's."""
    if mask is None:
        return None
    if mask.dtype != bool and not mask.is_floating_point():
        raise AssertionError(f"only bool and floating types of {name} are supported")
    if other is not None and mask.dtype != other.dtype:
        warnings.warn(f"Support for mismatched {name} and {other_name} is deprecated. Use same type for both "
                      "instead.", stacklevel=4)
    if mask.dtype != bool:
        return mask
    return mask.new_zeros(mask.shape, dtype=dtype).masked_fill(mask, -math.inf)


def _zero_column(mask):
    """A mask (..., S) widened by a key that it leaves attended, for the key appended to every sequence."""
    return None if mask is None else F.pad(mask, (0, 1))


def _attention_with_weights(q, k, v, mask, dropout_p):
    """torch's explicit attention, (N, H, L, E) queries over (N, H, S, E) keys and values, for its weights: a
    query that attends to no key gets NaN weights, as torch's."""
    scores = (q * math.sqrt(1.0 / q.shape[-1])) @ k.transpose(-2, -1)
    weights = F.softmax(scores if mask is None else scores + mask, dim=-1)
    if dropout_p > 0:
        weights = F.dropout(weights, dropout_p)
    return weights @ v, weights


def _check_ranks(query, key, value, key_padding_mask, attn_mask, num_heads):
    """torch's checks of the inputs' and masks' ranks; whether the input is batched."""
    batched = query.ndim == 3
    if query.ndim not in (2, 3):
        raise AssertionError(f"query should be unbatched 2D or batched 3D tensor but received {query.ndim}-D query "
                             "tensor")
    form = "batched (3-D)" if batched else "unbatched (2-D)"
    if key.ndim != query.ndim or value.ndim != query.ndim:
        raise AssertionError(f"For {form} `query`, expected `key` and `value` to be {query.ndim}-D but found "
                             f"{key.ndim}-D and {value.ndim}-D tensors respectively")
    if key_padding_mask is not None and key_padding_mask.ndim != query.ndim - 1:
        raise AssertionError(f"For {form} `query`, expected `key_padding_mask` to be `None` or {query.ndim - 1}-D "
                             f"but found {key_padding_mask.ndim}-D tensor instead")
    if attn_mask is not None and attn_mask.ndim not in (2, 3):
        raise AssertionError(f"For {form} `query`, expected `attn_mask` to be `None`, 2-D or 3-D but found "
                             f"{attn_mask.ndim}-D tensor instead")
    if not batched and attn_mask is not None and attn_mask.ndim == 3:
        expected = (num_heads, query.shape[0], key.shape[0])
        if attn_mask.shape != expected:
            raise AssertionError(f"Expected `attn_mask` shape to be {expected} but got {F._size(attn_mask.shape)}")
    return batched


def _check_key_padding_mask(mask, sources, batch):
    for dim, size in enumerate((batch, sources)):
        if mask.shape[dim] != size:
            raise AssertionError(f"Expected key_padded_mask.shape[{dim}] to be {size}, but got {mask.shape[dim]}")
