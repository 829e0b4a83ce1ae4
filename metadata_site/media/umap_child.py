"""UMAP for the embedding map (`embedding_map._umap`), run in a child process of its own: spawned, without Django
(it gets vectors and returns coordinates), so the worker never loads umap-learn. Importing it (numba, pynndescent,
scikit-learn, scipy) takes about 250 MB and a fit about 350 MB more, which a long-lived worker would otherwise keep
for the rest of its life. The child is fitted once (`fit`), places the other vectors batch by batch (`transform`)
and exits with the build. This module imports nothing of Django (the spawned child imports it by name)."""

from __future__ import annotations

import numpy as np

_reducer = None


def fit(matrix: np.ndarray) -> np.ndarray:
    """In the child: fit UMAP on `matrix` and keep it for `transform`; the fitted coordinates."""
    import warnings

    import umap

    global _reducer
    warnings.filterwarnings("ignore", module="umap")
    _reducer = umap.UMAP(n_components=2, n_neighbors=min(15, max(2, len(matrix) - 1)), random_state=22,
                         n_jobs=1, metric="euclidean")
    if len(matrix) <= 2:
        return np.zeros((len(matrix), 2))
    return np.asarray(_reducer.fit_transform(matrix), dtype=np.float64)


def transform(matrix: np.ndarray) -> np.ndarray:
    return np.asarray(_reducer.transform(matrix), dtype=np.float64)
