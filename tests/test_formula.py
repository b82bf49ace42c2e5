"""Card formulas (simulator params) compute what they say and cannot run code."""

import numpy as np
import pytest

from pipelines.simulate.common import formula


def test_formula_computes_over_named_columns():
    values = {"C": np.array([0.2, 0.4]), "T": np.array([500.0, 700.0])}
    got = formula("20 + 60*sqrt(C) - 0.4*relu(T - 600)", values)
    np.testing.assert_allclose(got, 20 + 60 * np.sqrt(values["C"]) - 0.4 * np.maximum(values["T"] - 600, 0))
    np.testing.assert_array_equal(formula("where(T > 600, 1, 0)", values), [0, 1])


@pytest.mark.parametrize("expr, says", [
    ('__import__("os")', "may be called"),
    ("C.__class__", "Attribute is not allowed"),
    ("[c for c in C]", "not allowed"),
    ("Q + 1", "unknown name 'Q'"),
])
def test_formula_refuses_anything_but_arithmetic(expr, says):
    with pytest.raises(ValueError, match=says):
        formula(expr, {"C": np.zeros(2)})
