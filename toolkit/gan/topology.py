"""Ordered contours of the 478-point MediaPipe face mesh that the GAN core draws and warps with.

``toolkit.faces.mesh_topology`` names the regions as index sets; drawing filled regions
(mouth opening, eyes) and fanning triangles over them needs ordered loops, so the
connection sets are chained into loops once at import. "A" is the subject's left eye
(MediaPipe's ``LEFT_EYE``/``LEFT_IRIS``, on the image's right), "B" the subject's right eye.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
from mediapipe.python.solutions import face_mesh_connections as _mp

from toolkit.faces.mesh_topology import LEFT_IRIS_CENTER as IRIS_A_CENTER
from toolkit.faces.mesh_topology import NUM_LANDMARKS as NUM_POINTS
from toolkit.faces.mesh_topology import RIGHT_IRIS_CENTER as IRIS_B_CENTER


def _loops(edges: frozenset[tuple[int, int]]) -> list[list[int]]:
    """Chain undirected edges into ordered polylines (closed loops stay closed)."""
    adj: dict[int, list[int]] = defaultdict(list)
    for a, b in edges:
        adj[a].append(b)
        adj[b].append(a)
    seen: set[int] = set()
    chains: list[list[int]] = []
    # Start open chains at their ends so they come out whole.
    starts = [v for v, n in adj.items() if len(n) == 1] + sorted(adj)
    for start in starts:
        if start in seen:
            continue
        chain = [start]
        seen.add(start)
        while True:
            nxt = [n for n in adj[chain[-1]] if n not in seen]
            if not nxt:
                break
            chain.append(nxt[0])
            seen.add(nxt[0])
        chains.append(chain)
    return chains


def _loop_containing(edges, index: int) -> list[int]:
    return next(c for c in _loops(edges) if index in c)


FACE_OVAL = _loops(_mp.FACEMESH_FACE_OVAL)[0]
LIPS_OUTER = _loop_containing(_mp.FACEMESH_LIPS, 61)
LIPS_INNER = _loop_containing(_mp.FACEMESH_LIPS, 78)
EYE_A = _loops(_mp.FACEMESH_LEFT_EYE)[0]
EYE_B = _loops(_mp.FACEMESH_RIGHT_EYE)[0]
IRIS_A = _loops(_mp.FACEMESH_LEFT_IRIS)[0]
IRIS_B = _loops(_mp.FACEMESH_RIGHT_IRIS)[0]

# Line drawing: every feature contour, as an (E, 2) edge array.
FEATURE_EDGES = np.array(
    sorted(
        _mp.FACEMESH_FACE_OVAL | _mp.FACEMESH_LIPS | _mp.FACEMESH_LEFT_EYE | _mp.FACEMESH_RIGHT_EYE
        | _mp.FACEMESH_LEFT_EYEBROW | _mp.FACEMESH_RIGHT_EYEBROW | _mp.FACEMESH_NOSE
        | _mp.FACEMESH_LEFT_IRIS | _mp.FACEMESH_RIGHT_IRIS
    ),
    dtype=np.int32,
)

# Mouth points the lip-sync offsets act on (outer and inner lip contours).
MOUTH = sorted(set(LIPS_OUTER) | set(LIPS_INNER))
