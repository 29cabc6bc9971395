"""Mouth regions of the 478-point MediaPipe face mesh (``refine_landmarks=True``).

The lip points come from MediaPipe's own ``FACEMESH_LIPS`` connections: they form two
closed loops (outer and inner lip line). Each loop is cut at its two mouth corners into
an upper and a lower half, walking the connection graph from the documented mid-lip
landmarks, so no geometry is needed and the sets hold for every face.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

N_POINTS = 478
N_POINTS_NO_IRIS = 468  # refine_landmarks=False meshes are accepted too

# Named landmarks of the MediaPipe canonical face mesh topology.
EYE_OUTER = (33, 263)  # outer eye corners (subject's right, left): the face-size ruler
OUTER_CORNERS = (61, 291)
INNER_CORNERS = (78, 308)
OUTER_MID = (0, 17)  # upper, lower
INNER_MID = (13, 14)  # upper, lower
CHIN = 152
# Inner-lip point pairs facing each other across the mouth opening, centre first.
APERTURE_PAIRS = ((13, 14), (82, 87), (312, 317))


@dataclass(frozen=True)
class MouthRegions:
    lips: tuple[int, ...]  # every FACEMESH_LIPS point (40)
    outer_upper: tuple[int, ...]
    outer_lower: tuple[int, ...]
    inner_upper: tuple[int, ...]
    inner_lower: tuple[int, ...]
    corners: tuple[int, ...]  # outer and inner mouth corners

    @property
    def upper(self) -> tuple[int, ...]:
        return self.outer_upper + self.inner_upper

    @property
    def lower(self) -> tuple[int, ...]:
        return self.outer_lower + self.inner_lower


def _lips_connections() -> frozenset[tuple[int, int]]:
    from mediapipe.python.solutions.face_mesh_connections import FACEMESH_LIPS

    return FACEMESH_LIPS


def _side(adjacency: dict[int, set[int]], start: int, corners: tuple[int, int]) -> tuple[int, ...]:
    """The points reachable from ``start`` without crossing a corner."""
    seen, stack = {start}, [start]
    while stack:
        for nxt in adjacency[stack.pop()]:
            if nxt not in seen and nxt not in corners:
                seen.add(nxt)
                stack.append(nxt)
    return tuple(sorted(seen))


@lru_cache(maxsize=1)
def mouth_regions() -> MouthRegions:
    adjacency: dict[int, set[int]] = {}
    for a, b in _lips_connections():
        adjacency.setdefault(a, set()).add(b)
        adjacency.setdefault(b, set()).add(a)
    outer_upper = _side(adjacency, OUTER_MID[0], OUTER_CORNERS)
    outer_lower = _side(adjacency, OUTER_MID[1], OUTER_CORNERS)
    inner_upper = _side(adjacency, INNER_MID[0], INNER_CORNERS)
    inner_lower = _side(adjacency, INNER_MID[1], INNER_CORNERS)
    regions = MouthRegions(
        lips=tuple(sorted(adjacency)),
        outer_upper=outer_upper,
        outer_lower=outer_lower,
        inner_upper=inner_upper,
        inner_lower=inner_lower,
        corners=OUTER_CORNERS + INNER_CORNERS,
    )
    # The walk must split the 40 lip points into four disjoint halves plus 4 corners; a
    # change in MediaPipe's topology would break that, so fail loudly here.
    halves = set(outer_upper) | set(outer_lower) | set(inner_upper) | set(inner_lower)
    sizes = len(outer_upper) + len(outer_lower) + len(inner_upper) + len(inner_lower)
    pairs_ok = all(a in inner_upper and b in inner_lower for a, b in APERTURE_PAIRS)
    if not (len(halves) == sizes == len(regions.lips) - 4 == 36 and pairs_ok):
        raise RuntimeError("MediaPipe FACEMESH_LIPS has an unexpected topology; toolkit.lipsync.mesh needs updating")
    return regions
