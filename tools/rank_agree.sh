#!/bin/sh
# rank_agree.sh EXP [DATA] - how well a short candidate job ranks the
# candidate layers, against the long one.
#
# For each trained model of the experiment EXP (at most PETRI_RANK_PARENTS,
# default 5, in id order), a candidate job runs `petri grow` with the same
# targets and inputs (--grow-seed 1):
#   - the reference: PETRI_RANK_REF epochs (default 0.5), data seed 1;
#   - the noise floor: the reference length again with data seed 2, i.e. how
#     much two equally long scorings agree;
#   - each length of PETRI_RANK_LENGTHS (default "0.05 0.1 0.2"), data seed 1.
# Agreement with the reference: the overlap of the top 3 pairs by |omega|
# (0..3) and Spearman's rank correlation of |omega| over all pairs; also
# the candidate job's seconds (joint training and its evaluations). The
# table goes to standard output, the raw JSON to PETRI_RANK_DIR (default
# runs/rank-DATE/).
set -eu
cd "$(dirname "$0")/.."
EXP=${1:?usage: rank_agree.sh EXP [DATA]}
DATA=${2:-/usr/share/datasets/fashion-mnist}
NPAR=${PETRI_RANK_PARENTS:-5}
REF=${PETRI_RANK_REF:-0.5}
LENS=${PETRI_RANK_LENGTHS:-0.05 0.1 0.2}
OUT=${PETRI_RANK_DIR:-runs/rank-$(date +%Y%m%d-%H%M%S)}
P=build/petri
mkdir -p "$OUT"
ids=$("$P" frontier --dir "$EXP" --all --json |
	python3 -c 'import json, sys; print(" ".join(sorted(m["id"] for m in json.load(sys.stdin)["models"])))')
n=0
for id in $ids; do
	[ "$n" -lt "$NPAR" ] || break
	n=$((n + 1))
	"$P" export "$id" --dir "$EXP" -o "$OUT/$id.petri" > /dev/null
	one() { # one NAME EPOCHS SEED
		echo "== $id: $1 ($2 epochs, data seed $3)" >&2
		"$P" grow "$OUT/$id.petri" "$DATA" -o "$OUT/$id.$1.child.petri" --cand-epochs "$2" --epoch-frac 0.001 \
			--grow-seed 1 --seed "$3" --json -q > "$OUT/$id.$1.json"
	}
	one ref "$REF" 1
	one noise "$REF" 2
	for f in $LENS; do
		one "f$f" "$f" 1
	done
done
python3 - "$OUT" "$REF" "$LENS" <<'EOF'
import glob, json, os, sys
out, ref, lens = sys.argv[1], sys.argv[2], sys.argv[3].split()

def load(p):
    j = json.load(open(p))
    r = {(q["target"], q["input"], q["op"]): abs(q["omega"]) for q in j["ranking"]}
    return r, j["cand_seconds"]

def ranks(v):  # average ranks, ties shared
    o = sorted(range(len(v)), key=lambda i: v[i])
    r = [0.0] * len(v)
    i = 0
    while i < len(o):
        k = i
        while k + 1 < len(o) and v[o[k + 1]] == v[o[i]]:
            k += 1
        for m in range(i, k + 1):
            r[o[m]] = (i + k) / 2 + 1
        i = k + 1
    return r

def spearman(a, b):
    keys = sorted(a)
    x, y = ranks([a[k] for k in keys]), ranks([b[k] for k in keys])
    mx, my = sum(x) / len(x), sum(y) / len(y)
    sxy = sum((p - mx) * (q - my) for p, q in zip(x, y))
    sxx = sum((p - mx) ** 2 for p in x)
    syy = sum((q - my) ** 2 for q in y)
    return sxy / (sxx * syy) ** 0.5 if sxx and syy else float("nan")

def top3(a):
    return set(sorted(a, key=lambda k: (-a[k], k))[:3])

names = ["noise"] + ["f" + f for f in lens]
label = {"noise": "%s (data seed 2)" % ref}
label.update({"f" + f: f for f in lens})
rows = {n: [] for n in names}
print("| parent | pairs | ref s | " + " | ".join("%s: top-3, rho, s" % label[n] for n in names) + " |")
print("|---" * (3 + len(names)) + "|")
for p in sorted(glob.glob(os.path.join(out, "*.ref.json"))):
    pid = os.path.basename(p)[: -len(".ref.json")]
    r, rs = load(p)
    cells = []
    for n in names:
        q, qs = load(os.path.join(out, "%s.%s.json" % (pid, n)))
        if set(q) != set(r):
            sys.exit("%s: %s scored other pairs than the reference" % (pid, n))
        t, rho = len(top3(q) & top3(r)), spearman(r, q)
        rows[n].append((t, rho, qs / rs))
        cells.append("%d/3, %.2f, %.1f" % (t, rho, qs))
    print("| %s | %d | %.1f | %s |" % (pid, len(r), rs, " | ".join(cells)))
print()
print("| scoring | mean top-3 overlap | mean Spearman | mean cost vs reference |")
print("|---|---|---|---|")
for n in names:
    v = rows[n]
    print("| %s | %.2f/3 | %.2f | %.2f |" % (label[n], sum(a for a, _, _ in v) / len(v), sum(b for _, b, _ in v) / len(v),
                                           sum(c for _, _, c in v) / len(v)))
EOF
