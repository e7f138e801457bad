"""Bounded edit distance and deletion neighbourhoods, for typo-tolerant lookups."""

from __future__ import annotations


def edit_distance(a: str, b: str, limit: int) -> int:
    """Optimal-string-alignment distance, or ``limit + 1`` when it exceeds ``limit``.

    Only the diagonal band of width ``limit`` is computed: that is all a bounded
    distance needs, and it keeps typo matching cheap.
    """
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    big = limit + 1
    n = len(b)
    prev2: list[int] = []
    prev = [j if j <= limit else big for j in range(n + 1)]
    for i in range(1, len(a) + 1):
        lo, hi = max(1, i - limit), min(n, i + limit)
        cur = [big] * (n + 1)
        if i <= limit:
            cur[0] = i
        ai = a[i - 1]
        row_best = cur[0]
        for j in range(lo, hi + 1):
            value = prev[j - 1] + (ai != b[j - 1])
            if prev[j] + 1 < value:
                value = prev[j] + 1
            if cur[j - 1] + 1 < value:
                value = cur[j - 1] + 1
            if i > 1 and j > 1 and ai == b[j - 2] and a[i - 2] == b[j - 1] and prev2[j - 2] + 1 < value:
                value = prev2[j - 2] + 1
            cur[j] = value
            if value < row_best:
                row_best = value
        if row_best > limit:
            return big
        prev2, prev = prev, cur
    return min(prev[n], big)


def deletions(word: str, depth: int) -> set[str]:
    """``word`` and every string made by deleting up to ``depth`` letters from it."""
    result, frontier = {word}, {word}
    for _ in range(depth):
        frontier = {w[:i] + w[i + 1 :] for w in frontier for i in range(len(w))}
        result |= frontier
    return result
