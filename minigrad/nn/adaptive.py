"""torch's AdaptiveLogSoftmaxWithLoss: a softmax over many classes, ordered by frequency, as a head over the
frequent ones and one cluster per rarer band, each cluster scored through a narrower projection."""
import collections
import itertools

from .. import functional as F
from ..creation import tensor
from ..functional import _size
from ..tensor import where
from ..torch_functions import bucketize, cat
from .layers import Linear, ModuleList, Sequential
from .module import Module

_ASMoutput = collections.namedtuple("_ASMoutput", ["output", "loss"])


class AdaptiveLogSoftmaxWithLoss(Module):
    """Classes below cutoffs[0] score in the head, whose last n_clusters outputs score the clusters
    [cutoffs[i], cutoffs[i + 1]); class c of cluster i has log p = head's log p(cluster i) + the cluster's log p(c).
    Cluster i projects to in_features // div_value ** (i + 1) features first. Parameters as torch's: head
    (head_size, in_features), tail.i.0 (projection, in_features), tail.i.1 (cluster size, projection), so that
    torch's state_dict loads; forward scores only the targets' clusters, on their rows alone."""

    def __init__(self, in_features, n_classes, cutoffs, div_value=4.0, head_bias=False, device=None, dtype=None):
        super().__init__()
        cutoffs = list(cutoffs)
        if len(cutoffs) == 0:
            raise ValueError("cutoffs should be a sequence of length larger than 0")
        if (cutoffs != sorted(cutoffs) or min(cutoffs) <= 0 or max(cutoffs) > n_classes - 1
                or len(set(cutoffs)) != len(cutoffs) or any(int(c) != c for c in cutoffs)):
            raise ValueError("cutoffs should be a sequence of unique, positive integers sorted in an increasing order, "
                             "where each value is between 1 and n_classes-1")
        self.in_features, self.n_classes, self.div_value, self.head_bias = in_features, n_classes, div_value, head_bias
        self.cutoffs = cutoffs + [n_classes]
        self.shortlist_size = self.cutoffs[0]
        self.n_clusters = len(self.cutoffs) - 1
        self.head_size = self.shortlist_size + self.n_clusters
        factory = {"device": device, "dtype": dtype}
        self.head = Linear(in_features, self.head_size, bias=head_bias, **factory)
        self.tail = ModuleList()
        for i, (low, high) in enumerate(itertools.pairwise(self.cutoffs)):
            projection = int(in_features // div_value ** (i + 1))
            self.tail.append(Sequential(Linear(in_features, projection, bias=False, **factory),
                                        Linear(projection, high - low, bias=False, **factory)))

    def forward(self, input_, target_):
        """(output, loss): each row's log-probability of its target, and their negated mean. A 0-d target takes a
        1-d input, one example, and gives a 0-d output."""
        self._check_shapes(input_, target_)
        batched = target_.ndim > 0
        if not batched:
            input_, target_ = input_.unsqueeze(0), target_.unsqueeze(0)
        outside = (target_ < 0) | (target_ >= self.n_classes)
        if outside.any():
            raise RuntimeError(f"Target values should be in [0, {self.n_classes - 1}], but values in range "
                               f"[{target_.min().item()}, {target_.max().item()}] were found. ")
        clusters = bucketize(target_, tensor(self.cutoffs[:-1], device=target_.device), right=True)
        output = input_.new_zeros(target_.shape[0])
        for i, low in enumerate(self.cutoffs[:-1]):
            rows = (clusters == i + 1).nonzero().squeeze(1)
            if rows.numel():
                cluster_logprob = F.log_softmax(self.tail[i](input_.index_select(0, rows)), dim=1)
                own = cluster_logprob.gather(1, (target_.index_select(0, rows) - low).unsqueeze(1))
                output = output.index_add(0, rows, own.squeeze(1))
        head_column = where(clusters == 0, target_, clusters + (self.shortlist_size - 1))
        head_logprob = F.log_softmax(self.head(input_), dim=1)
        output = output + head_logprob.gather(1, head_column.unsqueeze(1)).squeeze(1)
        loss = (-output).mean()
        return _ASMoutput(output if batched else output.squeeze(0), loss)

    @staticmethod
    def _check_shapes(input, target):
        if target.ndim == 1:
            if input.shape[0] != target.shape[0]:
                raise RuntimeError("Input and target should have the same size in the batch dimension.")
            if input.ndim != 2:
                raise RuntimeError(f"1D target tensor expects 2D input tensors, but found inputs with size "
                                   f"{_size(input.shape)}")
        elif target.ndim == 0:
            if input.ndim != 1:
                raise RuntimeError(f"0D target tensor expects 1D input tensors, but found inputs with size "
                                   f"{_size(input.shape)}")
        else:
            raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")

    def _full_log_prob(self, input, head_output):
        head_logprob = F.log_softmax(head_output, dim=1)
        parts = [head_logprob[:, :self.shortlist_size]]
        for i, cluster in enumerate(self.tail):
            cluster_head = head_logprob[:, self.shortlist_size + i].unsqueeze(1)
            parts.append(F.log_softmax(cluster(input), dim=1) + cluster_head)
        return cat(parts, dim=1)

    def log_prob(self, input):
        """The log-probabilities of all n_classes classes, (N, n_classes) for an (N, in_features) input."""
        return self._full_log_prob(input, self.head(input))

    def predict(self, input):
        """log_prob(input).argmax(1), scoring the clusters only for the rows whose head's best is a cluster."""
        head_output = self.head(input)
        output = head_output.argmax(dim=1)
        not_in_shortlist = output >= self.shortlist_size
        if not_in_shortlist.any():
            log_prob = self._full_log_prob(input[not_in_shortlist], head_output[not_in_shortlist])
            output[not_in_shortlist] = log_prob.argmax(dim=1)
        return output
