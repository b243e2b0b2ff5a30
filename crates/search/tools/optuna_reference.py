"""Prints the reference values of `parzen::tests::log_pdf_matches_optuna` from Optuna itself.

Not part of the build or the tests. To regenerate: python3 -m venv /tmp/optuna-venv &&
/tmp/optuna-venv/bin/pip install optuna && /tmp/optuna-venv/bin/python tools/optuna_reference.py
(values in the test were printed by Optuna 5.0.0, whose univariate estimator is that of 4.9).
"""
import numpy as np
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.samplers._tpe.parzen_estimator import _ParzenEstimator, _ParzenEstimatorParameters
from optuna.samplers._tpe.sampler import default_weights

P = _ParzenEstimatorParameters(
    prior_weight=1.0, consider_magic_clip=True, consider_endpoints=False, weights=default_weights, multivariate=False
)


def ref(name, dist, obs, xs):
    pe = _ParzenEstimator({"x": np.asarray(obs, dtype=float)}, {"x": dist}, P)
    print(name, [repr(float(a)) for a in pe.log_pdf({"x": np.asarray(xs, dtype=float)})])


ref("float", FloatDistribution(0, 10), [9, 1, 4], [0.5, 5.0, 9.9])
ref("float_empty", FloatDistribution(0, 10), [], [0.5, 5.0])
ref("float_log", FloatDistribution(1e-5, 1e-1, log=True), [1e-3, 2e-4, 5e-2], [1e-4, 1e-3, 0.09])
ref("int_log", IntDistribution(1, 256, log=True), [32, 31, 200, 1], [1, 32, 100, 256])
ref("int", IntDistribution(-3, 3), [0, 0, 3], [-3, 0, 3])
ref("cat", CategoricalDistribution(["a", "b", "c"]), [0, 0], [0, 1])
ref("float_ramp", FloatDistribution(0, 1), [((i * 7) % 30) / 30 for i in range(30)], [0.05, 0.5, 0.95])
ref("cat_ramp", CategoricalDistribution(["a", "b", "c", "d"]), [i % 4 if i < 20 else 2 for i in range(27)], [0, 1, 2, 3])
