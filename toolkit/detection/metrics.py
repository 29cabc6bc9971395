"""Detection metrics as DeepfakeBench reports them: AUC, EER and average precision (AP).

Labels are 1 for manipulated, 0 for real; scores are higher for manipulated. Each metric is
``None`` when the labels hold only one class.
"""

from __future__ import annotations

import numpy as np


def _ok(labels: np.ndarray) -> bool:
    return len(labels) > 1 and 0 < labels.sum() < len(labels)


def auc(labels, scores) -> float | None:
    from sklearn.metrics import roc_auc_score

    labels, scores = np.asarray(labels), np.asarray(scores, np.float64)
    return float(roc_auc_score(labels, scores)) if _ok(labels) else None


def eer(labels, scores) -> float | None:
    """Equal error rate: where the false-positive rate equals the false-negative rate."""
    from sklearn.metrics import roc_curve

    labels, scores = np.asarray(labels), np.asarray(scores, np.float64)
    if not _ok(labels):
        return None
    fpr, tpr, _ = roc_curve(labels, scores)
    fnr = 1 - tpr
    i = int(np.nanargmin(np.abs(fnr - fpr)))
    # Interpolate between the two ROC points around the crossing.
    if i + 1 < len(fpr) and (fnr[i] - fpr[i]) * (fnr[i + 1] - fpr[i + 1]) < 0:
        d0, d1 = fnr[i] - fpr[i], fnr[i + 1] - fpr[i + 1]
        t = d0 / (d0 - d1)
        return float(fpr[i] + t * (fpr[i + 1] - fpr[i]))
    return float((fpr[i] + fnr[i]) / 2)


def ap(labels, scores) -> float | None:
    from sklearn.metrics import average_precision_score

    labels, scores = np.asarray(labels), np.asarray(scores, np.float64)
    return float(average_precision_score(labels, scores)) if _ok(labels) else None


def summary(labels, scores) -> dict:
    labels = np.asarray(labels)
    return {"n": int(len(labels)), "positives": int(labels.sum()), "auc": auc(labels, scores),
            "eer": eer(labels, scores), "ap": ap(labels, scores)}
