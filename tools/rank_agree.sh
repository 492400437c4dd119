#!/bin/sh
# rank_agree.sh EXP [DATA] - how well a cheaper candidate job ranks the
# candidate layers, against the long one.
#
# For each trained model of the experiment EXP (at most PETRI_RANK_PARENTS,
# default 5, in id order), a candidate job runs `petri grow` with the same
# targets and inputs (--grow-seed 1), on one thread:
#   - the reference: PETRI_RANK_REF epochs (default 0.5) of joint training,
#     data seed 1;
#   - the noise floor: the reference again with data seed 2, i.e. how much
#     two equally long scorings agree;
#   - each variant of PETRI_RANK_VARIANTS, space-separated NAME=OPTIONS with
#     commas for spaces (default "f0.2=--cand-epochs,0.2"), data seed 1.
# Agreement with the reference: the overlap of the top 3 pairs (0..3) and
# Spearman's rank correlation over the pairs both scored, of the jobs'
# rankings (by |omega|; pairs dropped part-way by --narrow-at rank below
# the others). A variant that scores fewer pairs (--inputs 2) is ranked against
# the reference's top 3 of all its pairs, so the pairs it never scores
# count as misses. Also the candidate job's seconds (joint training and its
# evaluations), and its cost against the first variant's (jobs of a search
# run on one thread; a reference reused from elsewhere may not). The table goes to standard output, the raw JSON to
# PETRI_RANK_DIR (default runs/rank-DATE/); a JSON already there is used as
# it is, so an interrupted run resumes, and a new variant reuses the
# reference.
set -eu
cd "$(dirname "$0")/.."
EXP=${1:?usage: rank_agree.sh EXP [DATA]}
DATA=${2:-/usr/share/datasets/fashion-mnist}
NPAR=${PETRI_RANK_PARENTS:-5}
REF=${PETRI_RANK_REF:-0.5}
VARS=${PETRI_RANK_VARIANTS:-f0.2=--cand-epochs,0.2}
OUT=${PETRI_RANK_DIR:-runs/rank-$(date +%Y%m%d-%H%M%S)}
P=${PETRI:-build/petri}
mkdir -p "$OUT"
ids=$("$P" frontier --dir "$EXP" --all --json |
	python3 -c 'import json, sys; print(" ".join(sorted(m["id"] for m in json.load(sys.stdin)["models"])))')
n=0
for id in $ids; do
	[ "$n" -lt "$NPAR" ] || break
	n=$((n + 1))
	[ -s "$OUT/$id.petri" ] || "$P" export "$id" --dir "$EXP" -o "$OUT/$id.petri" > /dev/null
	one() { # one NAME DATA-SEED OPTIONS...
		name=$1 seed=$2
		shift 2
		[ -s "$OUT/$id.$name.json" ] && return 0
		echo "== $id: $name (data seed $seed): $*" >&2
		"$P" grow "$OUT/$id.petri" "$DATA" -o "$OUT/$id.$name.child.petri" --epoch-frac 0.001 --threads 1 \
			--grow-seed 1 --seed "$seed" --json -q "$@" > "$OUT/$id.$name.json.tmp"
		mv "$OUT/$id.$name.json.tmp" "$OUT/$id.$name.json"
	}
	one ref 1 --cand-epochs "$REF"
	one noise 2 --cand-epochs "$REF"
	for v in $VARS; do
		# shellcheck disable=SC2046 # the options split on purpose
		one "${v%%=*}" 1 $(echo "${v#*=}" | tr ',' ' ')
	done
done
python3 - "$OUT" "$REF" "$VARS" <<'EOF'
import glob, json, os, sys
out, ref, variants = sys.argv[1], sys.argv[2], sys.argv[3].split()

def load(p):  # a score per pair: its place in the job's ranking, best highest
    j = json.load(open(p))  # (by |omega|; a pair dropped part-way ranks below the others)
    n = len(j["ranking"])
    r = {(q["target"], q["input"], q["op"]): n - i for i, q in enumerate(j["ranking"])}
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
    keys = sorted(set(a) & set(b))
    x, y = ranks([a[k] for k in keys]), ranks([b[k] for k in keys])
    mx, my = sum(x) / len(x), sum(y) / len(y)
    sxy = sum((p - mx) * (q - my) for p, q in zip(x, y))
    sxx = sum((p - mx) ** 2 for p in x)
    syy = sum((q - my) ** 2 for q in y)
    return sxy / (sxx * syy) ** 0.5 if sxx and syy else float("nan")

def top3(a):
    return set(sorted(a, key=lambda k: (-a[k], k))[:3])

names = ["noise"] + [v.split("=")[0] for v in variants]
label = {"noise": "%s (data seed 2)" % ref}
label.update({v.split("=")[0]: v.split("=")[0] + " (" + v.split("=", 1)[1].replace(",", " ") + ")" for v in variants})
rows = {n: [] for n in names}
first = {}
print("| parent | pairs | ref s | " + " | ".join("%s: top-3, rho, s" % n for n in names) + " |")
print("|---" * (3 + len(names)) + "|")
for p in sorted(glob.glob(os.path.join(out, "*.ref.json"))):
    pid = os.path.basename(p)[: -len(".ref.json")]
    r, rs = load(p)
    cells = []
    for n in names:
        f = os.path.join(out, "%s.%s.json" % (pid, n))
        if not os.path.exists(f):
            cells.append("-")
            continue
        q, qs = load(f)
        if not set(q) <= set(r):
            sys.exit("%s: %s scored pairs the reference did not" % (pid, n))
        t, rho = len(top3(q) & top3(r)), spearman(r, q)
        if n == names[min(1, len(names) - 1)]:
            first[pid] = qs
        rows[n].append((t, rho, qs / first[pid] if pid in first else float("nan")))
        cells.append("%d/3, %.2f, %.1f%s" % (t, rho, qs, "" if len(q) == len(r) else " (%d pairs)" % len(q)))
    print("| %s | %d | %.1f | %s |" % (pid, len(r), rs, " | ".join(cells)))
print()
print("| scoring | parents | mean top-3 overlap | mean Spearman | mean cost vs %s |" % names[min(1, len(names) - 1)])
print("|---|---|---|---|---|")
for n in names:
    v = rows[n]
    if v:
        cost = sum(c for _, _, c in v) / len(v)
        print("| %s | %d | %.2f/3 | %.2f | %s |" % (label[n], len(v), sum(a for a, _, _ in v) / len(v),
                                                sum(b for _, b, _ in v) / len(v), "-" if cost != cost else "%.2f" % cost))
EOF
