"""frontier_hv.py - hypervolume of search runs, shared by quality.sh and
defaults.sh.

A run is the list of its trained models as (multiply-adds, validation
error, ...) tuples, read from `petri frontier --all --json`. Hypervolume is
the area the run's models dominate in (multiply-adds, validation error)
inside [0, R] x [0, 1], normalized by R, so that a perfect model at no cost
scores 1 (larger is better). R is chosen by the caller, the same for every
run compared.
"""
import json


def load(path):
    """(macs, val error, test acc, id, params) of each trained model of a
    `petri frontier --all --json` file."""
    with open(path) as f:
        return [(x["macs"], 1.0 - x["val_acc"], x["test_acc"], x["id"], x["params"])
                for x in json.load(f)["models"] if x["val_acc"] is not None]


def hull(ms):
    """The staircase of models no cheaper one beats: (macs, error) pairs."""
    st, best = [], 1.0
    for c, e, *_ in sorted(ms):
        if e < best:
            st.append((c, e))
            best = e
    return st


def hv(ms, R):
    st, area = hull([x for x in ms if x[0] <= R]), 0.0
    for i, (c, e) in enumerate(st):
        nxt = st[i + 1][0] if i + 1 < len(st) else R
        area += (nxt - c) * (1.0 - e)
    return area / R
