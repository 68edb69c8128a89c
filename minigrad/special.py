"""torch.special's functions that minigrad has, under torch.special's names: each is the function of the same
meaning in minigrad (gammaln is lgamma, expit is sigmoid, psi is digamma, gammainc is igamma, multigammaln is
mvlgamma)."""
from .torch_functions import FUNCTIONS, OTHER_FUNCTIONS

__all__ = ["digamma", "erf", "erfc", "erfinv", "exp2", "expit", "expm1", "gammainc", "gammaincc", "gammaln", "i0",
           "log1p", "log_softmax", "logit", "logsumexp", "multigammaln", "polygamma", "psi", "round", "sinc", "softmax",
           "xlogy"]

(digamma, erf, erfc, erfinv, exp2, expm1, i0, log1p, log_softmax, logit, logsumexp, round, sinc, softmax,
 xlogy) = (FUNCTIONS[name] for name in ("digamma", "erf", "erfc", "erfinv", "exp2", "expm1", "i0", "log1p",
                                         "log_softmax", "logit", "logsumexp", "round", "sinc", "softmax", "xlogy"))
gammaln, expit, psi = FUNCTIONS["lgamma"], FUNCTIONS["sigmoid"], FUNCTIONS["digamma"]
gammainc, gammaincc = OTHER_FUNCTIONS["igamma"], OTHER_FUNCTIONS["igammac"]
multigammaln, polygamma = FUNCTIONS["mvlgamma"], FUNCTIONS["polygamma"]
