"""torch.special's functions that minigrad has, under torch.special's names: each is the function of the same
meaning in minigrad (gammaln is lgamma, expit is sigmoid, psi is digamma)."""
from .torch_functions import FUNCTIONS

__all__ = ["digamma", "erf", "erfc", "erfinv", "exp2", "expit", "expm1", "gammaln", "i0", "log1p", "log_softmax",
           "logit", "logsumexp", "psi", "round", "sinc", "softmax", "xlogy"]

(digamma, erf, erfc, erfinv, exp2, expm1, i0, log1p, log_softmax, logit, logsumexp, round, sinc, softmax,
 xlogy) = (FUNCTIONS[name] for name in ("digamma", "erf", "erfc", "erfinv", "exp2", "expm1", "i0", "log1p",
                                         "log_softmax", "logit", "logsumexp", "round", "sinc", "softmax", "xlogy"))
gammaln, expit, psi = FUNCTIONS["lgamma"], FUNCTIONS["sigmoid"], FUNCTIONS["digamma"]
