"""torch's top-level forms of torch.nn.functional's ops (torch.conv2d, torch.dropout, torch.batch_norm, ...), with
torch's top-level signatures where they differ from F's: required `train` for the dropouts, batch_norm's weight and
bias before the running statistics, embedding's weight first, the losses' reduction as an int (0 none, 1 mean,
2 sum; unreduced by default, as torch's top-level losses are in practice), max pooling without indices. Each is
F's op; the arguments that only pick a cuDNN kernel are ignored."""
from . import functional as F
from .tensor import Tensor

SAME_AS_FUNCTIONAL = (
    "adaptive_avg_pool1d", "bilinear", "celu", "celu_", "channel_shuffle", "conv1d", "conv2d", "conv3d",
    "conv_transpose1d", "conv_transpose2d", "conv_transpose3d", "cosine_similarity", "hardshrink", "pairwise_distance",
    "pdist", "pixel_shuffle", "pixel_unshuffle", "prelu", "rms_norm", "selu", "selu_", "threshold", "threshold_",
)
REDUCTIONS = ("none", "mean", "sum")


def _reduction(name, reduction, position):
    """torch's int reduction as F's name, with torch's TypeError for anything else (F's strings included)."""
    if not isinstance(reduction, int) or isinstance(reduction, bool):
        raise TypeError(f"{name}(): argument 'reduction' (position {position}) must be int, not "
                        f"{type(reduction).__name__}")
    return REDUCTIONS[reduction]


def _pooling(name):
    """torch.max_pool1d, ...: F's max pooling, an omitted stride `()`, and no indices."""
    pool = getattr(F, name)

    def pooling(input, kernel_size, stride=(), padding=0, dilation=1, ceil_mode=False):
        return pool(input, kernel_size, stride or None, padding, dilation, ceil_mode)

    pooling.__name__ = pooling.__qualname__ = name
    return pooling


max_pool1d, max_pool2d, max_pool3d = map(_pooling, ("max_pool1d", "max_pool2d", "max_pool3d"))


def avg_pool1d(input, kernel_size, stride=(), padding=0, ceil_mode=False, count_include_pad=True):
    return F.avg_pool1d(input, kernel_size, stride or None, padding, ceil_mode, count_include_pad)


def adaptive_max_pool1d(input, output_size):
    """(values, indices), always, as torch's."""
    return F.adaptive_max_pool1d(input, output_size, return_indices=True)


def _dropout(name, inplace):
    """torch.dropout(input, p, train), its in-place form torch.dropout_, and the same for alpha_dropout and
    feature_alpha_dropout: F's op, `train` required."""
    drop = getattr(F, name)

    def dropout(input, p, train):
        return drop(input, p, train, inplace=inplace)

    dropout.__name__ = dropout.__qualname__ = name + "_" * inplace
    return dropout


dropout, alpha_dropout, feature_alpha_dropout = (_dropout(name, False) for name in (
    "dropout", "alpha_dropout", "feature_alpha_dropout"))
dropout_, alpha_dropout_, feature_alpha_dropout_ = (_dropout(name, True) for name in (
    "dropout", "alpha_dropout", "feature_alpha_dropout"))


def batch_norm(input, weight, bias, running_mean, running_var, training, momentum, eps, cudnn_enabled):
    return F.batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps)


def instance_norm(input, weight, bias, running_mean, running_var, use_input_stats, momentum, eps, cudnn_enabled):
    return F.instance_norm(input, running_mean, running_var, weight, bias, use_input_stats, momentum, eps)


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-05, cudnn_enable=True):
    return F.layer_norm(input, normalized_shape, weight, bias, eps)


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-05, cudnn_enabled=True):
    return F.group_norm(input, num_groups, weight, bias, eps)


def embedding(weight, indices, padding_idx=-1, scale_grad_by_freq=False, sparse=False):
    """F.embedding(indices, weight, ...), the weight first; a negative padding_idx pads nothing, as torch's."""
    return F.embedding(indices, weight, padding_idx if padding_idx >= 0 else None,
                       scale_grad_by_freq=scale_grad_by_freq, sparse=sparse)


def kl_div(input, target, reduction=0, *, log_target=False):
    return F.kl_div(input, target, reduction=_reduction("kl_div", reduction, 3), log_target=log_target)


def poisson_nll_loss(input, target, log_input, full, eps, reduction):
    return F.poisson_nll_loss(input, target, log_input, full, eps=eps,
                              reduction=_reduction("poisson_nll_loss", reduction, 6))


def margin_ranking_loss(input1, input2, target, margin=0.0, reduction=0):
    return F.margin_ranking_loss(input1, input2, target, margin,
                                 reduction=_reduction("margin_ranking_loss", reduction, 5))


def hinge_embedding_loss(input, target, margin=1.0, reduction=0):
    return F.hinge_embedding_loss(input, target, margin, reduction=_reduction("hinge_embedding_loss", reduction, 4))


def cosine_embedding_loss(input1, input2, target, margin=0.0, reduction=0):
    return F.cosine_embedding_loss(input1, input2, target, margin,
                                   reduction=_reduction("cosine_embedding_loss", reduction, 5))


def binary_cross_entropy_with_logits(input, target, weight=None, pos_weight=None, reduction=0):
    return F.binary_cross_entropy_with_logits(
        input, target, weight, reduction=_reduction("binary_cross_entropy_with_logits", reduction, 5),
        pos_weight=pos_weight)


def triplet_margin_loss(anchor, positive, negative, margin=1.0, p=2, eps=1e-06, swap=False, reduction=0):
    return F.triplet_margin_loss(anchor, positive, negative, margin, p, eps, swap,
                                 reduction=_reduction("triplet_margin_loss", reduction, 8))


FUNCTIONAL_FORMS = {name: getattr(F, name) for name in SAME_AS_FUNCTIONAL}
FUNCTIONAL_FORMS.update(
    max_pool1d=max_pool1d, max_pool2d=max_pool2d, max_pool3d=max_pool3d, avg_pool1d=avg_pool1d,
    adaptive_max_pool1d=adaptive_max_pool1d, dropout=dropout, alpha_dropout=alpha_dropout,
    feature_alpha_dropout=feature_alpha_dropout, dropout_=dropout_, alpha_dropout_=alpha_dropout_,
    feature_alpha_dropout_=feature_alpha_dropout_, batch_norm=batch_norm, instance_norm=instance_norm,
    layer_norm=layer_norm, group_norm=group_norm, embedding=embedding, kl_div=kl_div,
    poisson_nll_loss=poisson_nll_loss, margin_ranking_loss=margin_ranking_loss,
    hinge_embedding_loss=hinge_embedding_loss, cosine_embedding_loss=cosine_embedding_loss,
    binary_cross_entropy_with_logits=binary_cross_entropy_with_logits, triplet_margin_loss=triplet_margin_loss,
)
Tensor.hardshrink, Tensor.prelu = F.hardshrink, F.prelu  # torch has these as Tensor methods too, self first
