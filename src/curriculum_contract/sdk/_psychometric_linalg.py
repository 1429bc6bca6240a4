"""The psychometric solver's linear algebra on 4-vectors and 4 x 4 matrices (lists of rows), in plain Python.

numpy costs about a microsecond per call on such small arrays, more than the arithmetic: the Cholesky
solve is unrolled, and only the symmetric eigen-decomposition (at a saddle, and for the identification's
correlation matrix) goes to LAPACK, through ``eigh`` below.
"""

from __future__ import annotations

import math

import numpy as np

try:  # numpy's own gufunc behind np.linalg.eigh: the same LAPACK call without its Python wrapper
    from numpy.linalg import _umath_linalg

    _EIGH_LO = _umath_linalg.eigh_lo
except (ImportError, AttributeError):  # pragma: no cover - another numpy layout: the public function
    _EIGH_LO = None

Vector = list[float]


def eigh(matrix: list[list[float]]) -> tuple[list[float], list[list[float]]]:
    """Eigenvalues (ascending) and eigenvectors (the columns of the rows returned) of a symmetric matrix.

    Exactly ``np.linalg.eigh`` (the same gufunc on the same lower triangle) at less cost on a 4 x 4: its
    wrapper's checks and error state are most of the time. A non-finite matrix, or a result with a NaN
    (LAPACK did not converge), goes to ``np.linalg.eigh`` itself, which answers (or raises) as it always did.
    """
    array = np.array(matrix)
    if _EIGH_LO is not None and math.isfinite(sum(map(sum, matrix))):
        values, vectors = _EIGH_LO(array, signature="d->dd")
        listed = values.tolist()
        if all(map(math.isfinite, listed)):
            return listed, vectors.tolist()
    values, vectors = np.linalg.eigh(array)
    return values.tolist(), vectors.tolist()


def cholesky_solve(matrix: list[list[float]], rhs: list[float]) -> list[float] | None:
    """``matrix^-1 rhs`` for a small symmetric matrix, or None when it is not positive definite."""
    size = len(rhs)
    if size == 4:
        return cholesky_solve_4(matrix, rhs)
    # Pad to 4 x 4 with an identity block: the leading block's operations are the unrolled ones, in
    # the order of the textbook loops; the padding only subtracts exact zeros from them.
    padded = [[*row, *[0.0] * (4 - size)] for row in matrix]
    padded += [[1.0 if j == i else 0.0 for j in range(4)] for i in range(size, 4)]
    solved = cholesky_solve_4(padded, [*rhs, *[0.0] * (4 - size)])
    return None if solved is None else solved[:size]


def cholesky_solve_4(matrix: list[list[float]], rhs: list[float]) -> list[float] | None:
    """Cholesky ``L L'``, then forward and back substitution, unrolled for 4 x 4 (7x faster than the loops)."""
    m0, m1, m2, m3 = matrix
    t = m0[0]
    if not 0.0 < t < _INF:
        return None
    l00 = _sqrt(t)
    l10 = m1[0] / l00
    t = m1[1] - l10 * l10
    if not 0.0 < t < _INF:
        return None
    l11 = _sqrt(t)
    l20 = m2[0] / l00
    l21 = (m2[1] - l20 * l10) / l11
    t = m2[2] - l20 * l20 - l21 * l21
    if not 0.0 < t < _INF:
        return None
    l22 = _sqrt(t)
    l30 = m3[0] / l00
    l31 = (m3[1] - l30 * l10) / l11
    l32 = (m3[2] - l30 * l20 - l31 * l21) / l22
    t = m3[3] - l30 * l30 - l31 * l31 - l32 * l32
    if not 0.0 < t < _INF:
        return None
    l33 = _sqrt(t)
    y0 = rhs[0] / l00
    y1 = (rhs[1] - l10 * y0) / l11
    y2 = (rhs[2] - l20 * y0 - l21 * y1) / l22
    y3 = (rhs[3] - l30 * y0 - l31 * y1 - l32 * y2) / l33 / l33
    y2 = (y2 - l32 * y3) / l22
    y1 = (y1 - l21 * y2 - l31 * y3) / l11
    return [(y0 - l10 * y1 - l20 * y2 - l30 * y3) / l00, y1, y2, y3]


def dot(u: Vector, v: Vector) -> float:
    return u[0] * v[0] + u[1] * v[1] + u[2] * v[2] + u[3] * v[3]


def quadratic(matrix: list[Vector], d: Vector) -> float:
    """``d' matrix d`` for a 4 x 4 matrix given as rows."""
    d0, d1, d2, d3 = d
    r0, r1, r2, r3 = matrix
    return (
        (r0[0] * d0 + r0[1] * d1 + r0[2] * d2 + r0[3] * d3) * d0
        + (r1[0] * d0 + r1[1] * d1 + r1[2] * d2 + r1[3] * d3) * d1
        + (r2[0] * d0 + r2[1] * d1 + r2[2] * d2 + r2[3] * d3) * d2
        + (r3[0] * d0 + r3[1] * d1 + r3[2] * d2 + r3[3] * d3) * d3
    )


def slope(grad: Vector, trial: Vector, x: Vector) -> float:
    """``grad' (trial - x)``: the first-order change of the NLL along a move."""
    return (
        grad[0] * (trial[0] - x[0])
        + grad[1] * (trial[1] - x[1])
        + grad[2] * (trial[2] - x[2])
        + grad[3] * (trial[3] - x[3])
    )


def positive_definite(matrix: list[Vector]) -> bool:
    return cholesky_solve(matrix, [0.0] * len(matrix)) is not None


_sqrt, _INF = math.sqrt, math.inf
