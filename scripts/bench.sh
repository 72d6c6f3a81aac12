#!/usr/bin/env bash
# Side-by-side benchmark of trailhound against the Python reference pipeline
# (json + gzip + pandas + scikit-learn), on the same generated CloudTrail data, in
# one run. Prints one markdown table; raw JSON of every run stays in $WORK.
#
#   scripts/bench.sh [REFERENCE_DIR]
#
# REFERENCE_DIR (or $TRAILHOUND_REF) holds make_cloudtrail.py, sklearn_pipeline.py and
# requirements.txt; default ../shared/reference next to the repository. Nothing of it
# is copied into the repository.
#
# Environment (defaults in brackets):
#   CT_DIR [/tmp/ct]                 generated data (made when missing)
#   TRAIN_EVENTS [1000000]           size of the training set (the reference trains on it too)
#   REF_VENV [/tmp/refvenv]          virtualenv with requirements.txt (made when missing)
#   WORK [/tmp/trailhound-bench]     models and raw results
#   RUNS [3]                         runs of each timed measurement (medians reported)
#   PYTHON [python3]                 interpreter that creates the venv
#
# Every speed is CPU seconds (user + system), not wall time: on a shared machine wall
# time mostly measures the neighbours. Runs of ours and of the reference alternate so
# both see the same load.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
ref=${1:-${TRAILHOUND_REF:-$repo/../shared/reference}}
ref=$(cd "$ref" && pwd) || { echo "no reference directory: $ref" >&2; exit 2; }
for f in make_cloudtrail.py sklearn_pipeline.py requirements.txt; do
    [[ -f $ref/$f ]] || { echo "$ref has no $f" >&2; exit 2; }
done
ct=${CT_DIR:-/tmp/ct}
train_events=${TRAIN_EVENTS:-1000000}
venv=${REF_VENV:-/tmp/refvenv}
work=${WORK:-/tmp/trailhound-bench}
runs=${RUNS:-3}
py=${PYTHON:-python3}
[[ -x /usr/bin/time ]] || { echo "needs GNU time at /usr/bin/time (apt-get install time)" >&2; exit 2; }
mkdir -p "$ct" "$work"
log() { printf '\n== %s\n' "$*" >&2; }

# ---- data (deterministic for its arguments; the generator is stdlib-only)
gen() { # DIR ARGS...
    local dir=$1; shift
    if [[ ! -d $dir/AWSLogs ]]; then
        log "generating $dir"
        "$py" "$ref/make_cloudtrail.py" --out "$dir" "$@" >&2
    fi
}
if [[ $train_events == 1000000 ]]; then
    train=$ct/train1m seed=2
else
    train=$ct/train$((train_events / 1000))k seed=1
fi
gen "$train" --events "$train_events" --seed "$seed"
gen "$ct/score1m" --events 1000000 --seed 12 --truth "$ct/score1m.truth.jsonl"
gen "$ct/big50gz" --events 330000 --seed 22 --days 1 --window-min 1440 --regions 1 --no-digest

# ---- reference environment
if [[ ! -x $venv/bin/python ]]; then
    log "creating $venv"
    "$py" -m venv "$venv"
    "$venv/bin/pip" install -q -r "$ref/requirements.txt"
fi
refpy=("$venv/bin/python" "$ref/sklearn_pipeline.py")

# ---- build ours
log "building (release)"
(cd "$repo" && cargo build --release -q -p trailhound --bins)
bench=$repo/target/release/trailhound-bench
scan=$repo/target/release/trailhound

# ---- models: both trained on the same training set. trailhound also gets a model of
# the scored account itself ("same org"), because the generator draws a new
# organisation per seed: to a model of another org every principal is new.
if [[ ! -f $work/ref_model.pkl ]]; then
    log "training the reference on $train"
    "${refpy[@]}" --train "$train" --score "$ct/score1m" --model "$work/ref_model.pkl" >"$work/ref_train.json"
fi
if [[ ! -f $work/model.bin ]]; then
    log "training trailhound on $train"
    "$bench" train "$train" --out "$work/model.bin" >"$work/train.json"
fi
if [[ ! -f $work/model_same.bin ]]; then
    "$bench" train "$ct/score1m" --out "$work/model_same.bin" >"$work/train_same.json"
fi
if [[ ! -f $work/model_big_same.bin ]]; then
    "$bench" train "$ct/big50gz" --out "$work/model_big_same.bin" >"$work/train_big_same.json"
fi

# ---- end to end on 1M events, alternating
measure() { # TIME_JSON STDOUT CMD... : peak RSS and CPU of a command (GNU time)
    local t=$1 out=$2; shift 2
    /usr/bin/time -f '{"max_rss_kb": %M, "user_s": %U, "sys_s": %S, "wall_s": %e}' -o "$t" "$@" >"$out"
}
count() { # TIME_JSON COUNT CMD... : as measure, keeping only the number of output lines
    local t=$1 out=$2; shift 2
    /usr/bin/time -f '{"max_rss_kb": %M, "user_s": %U, "sys_s": %S, "wall_s": %e}' -o "$t" "$@" | wc -l >"$out"
}
for i in $(seq "$runs"); do
    log "run $i/$runs: end to end, 1M events"
    "${refpy[@]}" --model "$work/ref_model.pkl" --score "$ct/score1m" >"$work/ref_e2e.$i.json"
    "$bench" e2e "$ct/score1m" --model "$work/model.bin" --runs 1 --no-breakdown >"$work/e2e.$i.json"
    "$bench" e2e "$ct/score1m" --model "$work/model_same.bin" --runs 1 --no-breakdown >"$work/e2e_same.$i.json"
    log "run $i/$runs: one 57 MB gzipped object"
    measure "$work/ref_big_time.$i.json" "$work/ref_big.$i.json" \
        "${refpy[@]}" --model "$work/ref_model.pkl" --score "$ct/big50gz"
    count "$work/big_time.$i.json" "$work/big_findings.txt" \
        "$scan" scan "$ct/big50gz" --model "$work/model.bin" --format jsonl
    count "$work/big_same_time.$i.json" "$work/big_same_findings.txt" \
        "$scan" scan "$ct/big50gz" --model "$work/model_big_same.bin" --format jsonl
done
log "stage breakdown (one extra pass each)"
"$bench" e2e "$ct/score1m" --model "$work/model.bin" --runs 0 >"$work/breakdown.json"
"$bench" e2e "$ct/score1m" --model "$work/model_same.bin" --runs 0 >"$work/breakdown_same.json"
log "model load and forest"
"$bench" load --model "$work/model.bin" >"$work/load.json"
"$bench" iforest "$ct/score1m" --model "$work/model.bin" --runs "$runs" >"$work/iforest.json"

# ---- the table
"$py" - "$work" "$runs" <<'EOF'
import glob, json, os, statistics, sys
work, runs = sys.argv[1], int(sys.argv[2])
load = lambda p: json.load(open(os.path.join(work, p)))
many = lambda pat: [json.load(open(p)) for p in sorted(glob.glob(os.path.join(work, pat)))]
med = lambda xs: statistics.median(xs)
ref = many("ref_e2e.*.json")
ours, same = many("e2e.[0-9]*.json"), many("e2e_same.*.json")
rs = lambda key: med([r["score"][key] for r in ref])
ref_eps = med([r["score"]["events_per_cpu_s"] for r in ref])
o = lambda rows, key: med([r[key] for r in rows])
rss_mb = lambda pat: med([t["max_rss_kb"] / 1024 for t in many(pat)])
cpu = lambda pat: med([t["user_s"] + t["sys_s"] for t in many(pat)])
ld, ifo = load("load.json"), load("iforest.json")
n = ours[0]["events"]
lines = lambda p: int(open(os.path.join(work, p)).read().split()[0])
yes = lambda ok: "met" if ok else "**missed**"
rows = [
    ("end to end, 1M events (events/CPU-s)", f"{ref_eps:,.0f}",
     f"{o(ours, 'events_per_cpu_s'):,.0f} (other-org model) / {o(same, 'events_per_cpu_s'):,.0f} (same-org)",
     "≥ 300,000", yes(min(o(ours, 'events_per_cpu_s'), o(same, 'events_per_cpu_s')) >= 300_000)),
    ("  read + gunzip + parse (CPU s)", f"{rs('read_parse_cpu_s'):.2f}",
     f"{o(ours, 'read_parse_cpu_s'):.2f} / {o(same, 'read_parse_cpu_s'):.2f}", "", ""),
    ("  features + score (CPU s)", f"{rs('featurise_cpu_s') + rs('score_cpu_s'):.2f}",
     f"{o(ours, 'score_cpu_s'):.2f} / {o(same, 'score_cpu_s'):.2f}", "", ""),
    ("  events flagged", f"{med([r['score']['anomalies'] for r in ref]):,.0f}",
     f"{ours[0]['flagged']:,} / {same[0]['flagged']:,}", "", ""),
    ("peak RSS, one 57 MB gz object (MB)", f"{rss_mb('ref_big_time.*.json'):,.0f}",
     f"{rss_mb('big_time.*.json'):,.0f} (other-org model) / {rss_mb('big_same_time.*.json'):,.0f} (same-org)",
     "≤ 128", yes(max(rss_mb('big_time.*.json'), rss_mb('big_same_time.*.json')) <= 128)),
    ("  CPU s for that object (process)", f"{cpu('ref_big_time.*.json'):.2f}",
     f"{cpu('big_time.*.json'):.2f} / {cpu('big_same_time.*.json'):.2f}", "", ""),
    ("  findings printed", f"{med([r['score']['anomalies'] for r in many('ref_big.*.json')]):,.0f} anomalies",
     f"{lines('big_findings.txt'):,} / {lines('big_same_findings.txt'):,}", "", ""),
    ("model load (ms, median)", f"{med([r['model']['load_s'] for r in ref]) * 1e3:.2f} (pickle.loads)",
     f"{ld['from_bytes_ms_median']:.2f} (Model::from_bytes)", "≤ 5", yes(ld['from_bytes_ms_median'] <= 5)),
    ("model size (bytes)", f"{ref[0]['model']['pickle_bytes']:,}", f"{ld['model_bytes']:,}", "", ""),
    ("Isolation Forest scoring, 1 core (rows/CPU-s)", f"{n / rs('score_cpu_s'):,.0f} (score_samples)",
     f"{ifo['rows_per_cpu_s']:,.0f} ({ifo['features']} features)", "≥ 2,000,000", yes(ifo['rows_per_cpu_s'] >= 2_000_000)),
]
print(f"\n{runs} runs, medians; CPU seconds (user + system); 1M = {n:,} events, "
      f"{ours[0]['raw_bytes'] / 1e9:.2f} GB raw in {ours[0]['files']:,} files\n")
print("| measure | reference (Python) | trailhound | target | |")
print("|---|---|---|---|---|")
for r in rows:
    print("| " + " | ".join(r) + " |")
for name in ("breakdown.json", "breakdown_same.json"):
    b = load(name)["breakdown"]
    print(f"\n{name}: CPU s per stage (one pass, {b['events']:,} events)")
    for k, v in b.items():
        if isinstance(v, dict):
            print(f"  {k:18} {v['cpu_s']:7.3f} s  {v['events_per_cpu_s']:>12,.0f} events/CPU-s")
EOF
