"""Statistical inference on compiled models: fits, test statistics, CL_s, limits, scans,
toys, ranking, and differentiable (implicit) inference. Results match pyhf's conventions."""

from hs3jax.infer.asimov import asimov_data as asimov_data
from hs3jax.infer.asymptotics import AsymptoticCalculator as AsymptoticCalculator
from hs3jax.infer.asymptotics import asymptotic_calculator as asymptotic_calculator
from hs3jax.infer.fit import FitResult as FitResult
from hs3jax.infer.fit import fit as fit
from hs3jax.infer.fit import fixed_poi_fit as fixed_poi_fit
from hs3jax.infer.hypotest import hypotest as hypotest
from hs3jax.infer.hypotest import significance as significance
from hs3jax.infer.implicit import argmin as argmin
from hs3jax.infer.implicit import expected_cls as expected_cls
from hs3jax.infer.implicit import expected_significance as expected_significance
from hs3jax.infer.implicit import observed_cls as observed_cls
from hs3jax.infer.limits import upper_limit as upper_limit
from hs3jax.infer.minimize import FitFailed as FitFailed
from hs3jax.infer.minos import MinosError as MinosError
from hs3jax.infer.newton import newton_minimize as newton_minimize
from hs3jax.infer.pulls import Pulls as Pulls
from hs3jax.infer.pulls import prefit_widths as prefit_widths
from hs3jax.infer.pulls import pulls as pulls
from hs3jax.infer.ranking import Ranking as Ranking
from hs3jax.infer.ranking import ranking as ranking
from hs3jax.infer.results import HypoTestResult as HypoTestResult
from hs3jax.infer.results import LimitResult as LimitResult
from hs3jax.infer.results import SignificanceResult as SignificanceResult
from hs3jax.infer.scan import ScanResult as ScanResult
from hs3jax.infer.scan import profile_scan as profile_scan
from hs3jax.infer.teststat import q0 as q0
from hs3jax.infer.teststat import qmu as qmu
from hs3jax.infer.teststat import qmu_tilde as qmu_tilde
from hs3jax.infer.teststat import tmu as tmu
from hs3jax.infer.teststat import tmu_tilde as tmu_tilde
from hs3jax.infer.toys import sample_toys as sample_toys
from hs3jax.infer.toys import toy_hypotest as toy_hypotest

__all__ = [
    "AsymptoticCalculator",
    "FitFailed",
    "FitResult",
    "HypoTestResult",
    "LimitResult",
    "MinosError",
    "Pulls",
    "Ranking",
    "ScanResult",
    "SignificanceResult",
    "argmin",
    "asimov_data",
    "asymptotic_calculator",
    "expected_cls",
    "expected_significance",
    "fit",
    "fixed_poi_fit",
    "hypotest",
    "newton_minimize",
    "observed_cls",
    "prefit_widths",
    "profile_scan",
    "pulls",
    "q0",
    "qmu",
    "qmu_tilde",
    "ranking",
    "sample_toys",
    "significance",
    "tmu",
    "tmu_tilde",
    "toy_hypotest",
    "upper_limit",
]
