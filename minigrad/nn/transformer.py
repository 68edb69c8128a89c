"""torch's transformer family: its encoder and decoder layers, their stacks and nn.Transformer, with its submodule
names, so that its checkpoints load."""
import copy
import warnings

from .. import functional as F
from ..creation import arange, full
from ..function import is_grad_enabled
from . import init
from .attention import MultiheadAttention, additive_mask
from .layers import GELU, Dropout, Linear, ModuleList, ReLU
from .module import Module
from .normalization import LayerNorm

_ACTIVATIONS = {"relu": F.relu, "gelu": F.gelu}


class _TransformerLayer(Module):
    """What torch's encoder and decoder layers share: attention blocks (named in _attention_names), then a
    feed-forward block (linear1, activation, dropout, linear2), each with a LayerNorm (norm1, norm2, ...) and an
    output dropout (dropout1, dropout2, ...), and each added to its input: with the norm after the sum, or with
    norm_first before the block. activation is "relu", "gelu" or a callable (a module among them registers as a
    child, as in torch). device and dtype reach every sublayer. The blocks keep torch's method names (_sa_block,
    _mha_block, _ff_block), which subclasses of torch's layers override."""

    _attention_names = ()

    def __init__(self, d_model, nhead, dim_feedforward=2048, dropout=0.1, activation=F.relu, layer_norm_eps=1e-5,
                 batch_first=False, norm_first=False, bias=True, device=None, dtype=None):
        super().__init__()
        factory_kwargs = {"device": device, "dtype": dtype}
        for name in self._attention_names:
            setattr(self, name, MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias, batch_first=batch_first,
                                                   **factory_kwargs))
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, **factory_kwargs)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, **factory_kwargs)
        self.norm_first = norm_first
        blocks = range(1, len(self._attention_names) + 2)
        for index in blocks:
            setattr(self, f"norm{index}", LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **factory_kwargs))
        for index in blocks:
            setattr(self, f"dropout{index}", Dropout(dropout))
        if isinstance(activation, str):
            if activation not in _ACTIVATIONS:
                raise RuntimeError(f"activation should be relu/gelu, not {activation}")
            activation = _ACTIVATIONS[activation]
        self.activation = activation

    def _residual_blocks(self, x, *blocks):
        """x through each block in turn, the block's output added to its input, with norm1, norm2, ... after each
        sum, or with norm_first before each block."""
        for index, block in enumerate(blocks, 1):
            norm = getattr(self, f"norm{index}")
            x = x + block(norm(x)) if self.norm_first else norm(x + block(x))
        return x

    def _sa_block(self, x, attn_mask, key_padding_mask, is_causal=False):
        return self.dropout1(_attend(self.self_attn, x, x, attn_mask, key_padding_mask, is_causal))

    def _ff_block(self, x):
        output_dropout = getattr(self, f"dropout{len(self._attention_names) + 1}")
        return output_dropout(self.linear2(self.dropout(self.activation(self.linear1(x)))))


def _attend(attention, x, memory, attn_mask, key_padding_mask, is_causal):
    attended, _ = attention(x, memory, memory, attn_mask=attn_mask, key_padding_mask=key_padding_mask,
                            need_weights=False, is_causal=is_causal)
    return attended


class TransformerEncoderLayer(_TransformerLayer):
    """torch's encoder layer: self-attention (self_attn, dropout1, norm1) and the feed-forward block (dropout2,
    norm2)."""

    _attention_names = ("self_attn",)

    @property
    def activation_relu_or_gelu(self):
        """torch's flag of the activation, which TransformerEncoder reads: 1 relu, 2 gelu, else 0."""
        if self.activation is F.relu or isinstance(self.activation, ReLU):
            return 1
        return 2 if self.activation is F.gelu or isinstance(self.activation, GELU) else 0

    def forward(self, src, src_mask=None, src_key_padding_mask=None, is_causal=False):
        src_key_padding_mask = additive_mask(src_key_padding_mask, "src_key_padding_mask", src.dtype, src_mask,
                                             "src_mask")
        src_mask = additive_mask(src_mask, "src_mask", src.dtype)
        return self._residual_blocks(src, lambda x: self._sa_block(x, src_mask, src_key_padding_mask, is_causal),
                                     self._ff_block)


class TransformerDecoderLayer(_TransformerLayer):
    """torch's decoder layer: self-attention over tgt (self_attn, dropout1, norm1), attention from tgt to memory
    (multihead_attn, dropout2, norm2) and the feed-forward block (dropout3, norm3)."""

    _attention_names = ("self_attn", "multihead_attn")

    def forward(self, tgt, memory, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None,
                memory_key_padding_mask=None, tgt_is_causal=False, memory_is_causal=False):
        return self._residual_blocks(
            tgt, lambda x: self._sa_block(x, tgt_mask, tgt_key_padding_mask, tgt_is_causal),
            lambda x: self._mha_block(x, memory, memory_mask, memory_key_padding_mask, memory_is_causal),
            self._ff_block)

    def _mha_block(self, x, mem, attn_mask, key_padding_mask, is_causal=False):
        return self.dropout2(_attend(self.multihead_attn, x, mem, attn_mask, key_padding_mask, is_causal))


class _TransformerStack(Module):
    """num_layers deep copies of a layer (torch's _get_clones: they start equal), layers.0, layers.1, ..., and an
    optional norm after the last."""

    def __init__(self, layer, num_layers, norm):
        super().__init__()
        self.layers = ModuleList([copy.deepcopy(layer) for _ in range(num_layers)])
        self.num_layers = num_layers
        self.norm = norm

    def _normed(self, output):
        return output if self.norm is None else self.norm(output)


class TransformerEncoder(_TransformerStack):
    """torch's stack of encoder layers. torch runs it, in eval mode with use_nested_tensor, on nested tensors where
    it can (see _nested_padding); their outputs are those here: each sequence cut to its length, zeros after it."""

    def __init__(self, encoder_layer, num_layers, norm=None, enable_nested_tensor=True, mask_check=True):
        super().__init__(encoder_layer, num_layers, norm)
        self.enable_nested_tensor = self.use_nested_tensor = enable_nested_tensor
        self.mask_check = mask_check
        why_not_nested = _why_not_nested(encoder_layer)
        if enable_nested_tensor and why_not_nested:
            warnings.warn(f"enable_nested_tensor is True, but self.use_nested_tensor is False because "
                          f"{why_not_nested}", stacklevel=2)
            self.use_nested_tensor = False

    def forward(self, src, mask=None, src_key_padding_mask=None, is_causal=None):
        src_key_padding_mask = additive_mask(src_key_padding_mask, "src_key_padding_mask", src.dtype, mask, "mask")
        mask = additive_mask(mask, "mask", src.dtype)
        padding = self._nested_padding(src, mask, src_key_padding_mask)
        if padding is not None:
            src_key_padding_mask = additive_mask(padding, "src_key_padding_mask", src.dtype)
        is_causal = _detect_is_causal_mask(mask, is_causal, _sequence_length(src, self.layers[0].self_attn))
        output = src
        for layer in self.layers:
            output = layer(output, src_mask=mask, src_key_padding_mask=src_key_padding_mask, is_causal=is_causal)
        if padding is not None:
            output = output.masked_fill(padding.unsqueeze(-1), 0.0)
        return self._normed(output)

    def _nested_padding(self, src, mask, key_padding_mask):
        """Where torch's encoder takes its nested-tensor path (batch_first input (N, S, E) in eval mode, a key
        padding mask and no attention mask, nothing that needs a gradient), the (N, S) bool mask of the positions
        past each sequence's length: the count of the keys that the mask leaves 0 (any other value, -inf or not,
        pads there). None elsewhere, and where mask_check finds a kept key after a padded one."""
        first = self.layers[0]
        if (not self.use_nested_tensor or first.training or src.ndim != 3 or key_padding_mask is None
                or mask is not None
                or (is_grad_enabled() and any(t.requires_grad for t in (src, *first.parameters())))):
            return None
        kept = key_padding_mask == 0
        if self.mask_check and (kept[:, 1:] & ~kept[:, :-1]).any().item():
            return None
        positions = arange(src.shape[1], device=src.device)
        return positions >= kept.sum(1).unsqueeze(1)


def _why_not_nested(layer):
    """torch's reason that TransformerEncoder's nested-tensor path does not suit encoder_layer, or ""."""
    if not isinstance(layer, TransformerEncoderLayer):
        return "encoder_layer was not TransformerEncoderLayer"
    attention = layer.self_attn
    reasons = (
        (layer.norm_first, "encoder_layer.norm_first was True"),
        (not attention.batch_first,
         "encoder_layer.self_attn.batch_first was not True(use batch_first for better inference performance)"),
        (not attention._qkv_same_embed_dim, "encoder_layer.self_attn._qkv_same_embed_dim was not True"),
        (attention.in_proj_bias is None, "encoder_layer.self_attn was passed bias=False"),
        (not layer.activation_relu_or_gelu, "encoder_layer.activation_relu_or_gelu was not True"),
        (layer.norm1.eps != layer.norm2.eps, "encoder_layer.norm1.eps was not equal to encoder_layer.norm2.eps"),
        (attention.num_heads % 2 == 1, "encoder_layer.self_attn.num_heads is odd"),
    )
    return next((reason for applies, reason in reasons if applies), "")


class TransformerDecoder(_TransformerStack):
    """torch's stack of decoder layers over one memory."""

    def __init__(self, decoder_layer, num_layers, norm=None):
        super().__init__(decoder_layer, num_layers, norm)

    def forward(self, tgt, memory, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None,
                memory_key_padding_mask=None, tgt_is_causal=None, memory_is_causal=False):
        tgt_is_causal = _detect_is_causal_mask(tgt_mask, tgt_is_causal, _sequence_length(tgt, self.layers[0].self_attn))
        output = tgt
        for layer in self.layers:
            output = layer(output, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                           tgt_key_padding_mask=tgt_key_padding_mask, memory_key_padding_mask=memory_key_padding_mask,
                           tgt_is_causal=tgt_is_causal, memory_is_causal=memory_is_causal)
        return self._normed(output)


def _sequence_length(x, attention):
    """The sequence dim's size of an input (L, E), (L, N, E), or (N, L, E) where the attention is batch_first."""
    return x.shape[1 if x.ndim == 3 and attention.batch_first else 0]


def _detect_is_causal_mask(mask, is_causal, size):
    """torch's: an is_causal hint given stands; without one, whether the mask equals the causal mask of the
    sequence's length, in the mask's dtype."""
    if is_causal is not None or mask is None:
        return is_causal is True
    causal = Transformer.generate_square_subsequent_mask(size, device=mask.device, dtype=mask.dtype)
    return mask.shape == causal.shape and bool((mask == causal).all().item())


class Transformer(Module):
    """torch's encoder-decoder Transformer: an encoder of num_encoder_layers layers and a decoder of
    num_decoder_layers, each stack ending in a LayerNorm (or custom_encoder, custom_decoder), every parameter of more
    than one dim Glorot-uniform. forward(src, tgt) decodes tgt over the encoded src. device and dtype reach the
    layers and norms it builds (not custom ones)."""

    def __init__(self, d_model=512, nhead=8, num_encoder_layers=6, num_decoder_layers=6, dim_feedforward=2048,
                 dropout=0.1, activation=F.relu, custom_encoder=None, custom_decoder=None, layer_norm_eps=1e-5,
                 batch_first=False, norm_first=False, bias=True, device=None, dtype=None):
        super().__init__()
        options = (d_model, nhead, dim_feedforward, dropout, activation, layer_norm_eps, batch_first, norm_first, bias,
                   device, dtype)
        if custom_encoder is not None:
            self.encoder = custom_encoder
        else:
            self.encoder = TransformerEncoder(TransformerEncoderLayer(*options), num_encoder_layers,
                                              LayerNorm(d_model, layer_norm_eps, bias=bias, device=device, dtype=dtype))
        if custom_decoder is not None:
            self.decoder = custom_decoder
        else:
            self.decoder = TransformerDecoder(TransformerDecoderLayer(*options), num_decoder_layers,
                                              LayerNorm(d_model, layer_norm_eps, bias=bias, device=device, dtype=dtype))
        self._reset_parameters()
        self.d_model, self.nhead, self.batch_first = d_model, nhead, batch_first

    def forward(self, src, tgt, src_mask=None, tgt_mask=None, memory_mask=None, src_key_padding_mask=None,
                tgt_key_padding_mask=None, memory_key_padding_mask=None, src_is_causal=None, tgt_is_causal=None,
                memory_is_causal=False):
        batch_dim = 0 if self.batch_first else 1
        if src.ndim == 3 and src.shape[batch_dim] != tgt.shape[batch_dim]:
            raise RuntimeError("the batch number of src and tgt must be equal")
        if src.shape[-1] != self.d_model or tgt.shape[-1] != self.d_model:
            raise RuntimeError("the feature number of src and tgt must be equal to d_model")
        memory = self.encoder(src, mask=src_mask, src_key_padding_mask=src_key_padding_mask, is_causal=src_is_causal)
        return self.decoder(tgt, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                            tgt_key_padding_mask=tgt_key_padding_mask, memory_key_padding_mask=memory_key_padding_mask,
                            tgt_is_causal=tgt_is_causal, memory_is_causal=memory_is_causal)

    @staticmethod
    def generate_square_subsequent_mask(sz, device=None, dtype=None):
        """The causal mask of a sequence of sz: -inf above the diagonal, 0 elsewhere, in the default dtype unless
        told otherwise."""
        return full((sz, sz), float("-inf"), dtype=dtype, device=device).triu(1)

    def _reset_parameters(self):
        for parameter in self.parameters():
            if parameter.ndim > 1:
                init.xavier_uniform_(parameter)
