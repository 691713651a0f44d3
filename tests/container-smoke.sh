#!/bin/sh
# SPDX-License-Identifier: MIT
# Smoke test of a running sigmoed that serves the bundled models (iris,
# wine, example), such as the container image: every route family once,
# with its status and the numbers it returns checked.
#
# Usage: tests/container-smoke.sh URL [DEFAULT_MODEL]
#   URL            e.g. http://127.0.0.1:8080
#   DEFAULT_MODEL  the daemon's default_model, if one is set; without it
#                  /predict must answer 404 naming the models to choose.
# Needs curl and python3 (for reading JSON).  Exit 0 when all checks pass.
set -eu

url=${1:?usage: container-smoke.sh URL [DEFAULT_MODEL]}
default_model=${2:-}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
checks=0

fail() {
	echo "FAIL: $*" >&2
	failures=$((failures + 1))
}

# request METHOD PATH [BODY]: the body goes to $tmp/body, the status to
# $status.
request() {
	if [ $# -ge 3 ]; then
		status=$(curl -sS -o "$tmp/body" -w '%{http_code}' -X "$1" \
			-H 'Content-Type: application/json' --data-binary "$3" \
			"$url$2") || status=000
	else
		status=$(curl -sS -o "$tmp/body" -w '%{http_code}' -X "$1" \
			"$url$2") || status=000
	fi
}

# expect CODE WHAT: the last request answered CODE.
expect() {
	checks=$((checks + 1))
	if [ "$status" != "$1" ]; then
		fail "$2: status $status, expected $1: $(head -c 300 "$tmp/body")"
		return 1
	fi
}

# json WHAT PYTHON: run PYTHON with the last body parsed as `b`; it
# raises (assert) when the body is wrong.
json() {
	checks=$((checks + 1))
	if ! python3 - "$tmp/body" "$2" 2>"$tmp/err" <<'EOF'
import json, math, sys
b = json.load(open(sys.argv[1]))
def rows_sum_to_one(rows, tol=1e-9):
    assert rows, "no rows"
    for r in rows:
        assert all(isinstance(p, (int, float)) and 0 <= p <= 1 for p in r), r
        assert abs(math.fsum(r) - 1) < tol, f"row sums to {math.fsum(r)}"
exec(sys.argv[2])
EOF
	then
		fail "$1: $(tail -n 1 "$tmp/err"); body: $(head -c 300 "$tmp/body")"
	fi
}

iris='[[5.1, 3.5, 1.4, 0.2], [6.2, 2.9, 4.3, 1.3], [6.3, 3.3, 6.0, 2.5]]'

# Health and readiness.
for path in /healthz /readyz /v2/health/live /v2/health/ready; do
	request GET "$path"
	expect 200 "GET $path" || true
done

request GET /v1/models
expect 200 "GET /v1/models" &&
	json "GET /v1/models" '
names = {m["name"]: m["state"] for m in b["models"]}
assert names.get("iris") == "AVAILABLE", names'

# Native predict on a named model: the three iris species.
request POST /v1/models/iris/predict "{\"instances\": $iris}"
expect 200 "predict iris" && json "predict iris" '
assert b["model"] == "iris" and b["model_version"] >= 1, b
assert b["labels"] == ["setosa", "versicolor", "virginica"], b["labels"]
rows_sum_to_one(b["probabilities"])'

# Rows as objects with the feature names.
request POST /v1/models/iris/predict '{"instances": [{"sepal_length": 5.1,
	"sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}]}'
expect 200 "predict iris, named features" &&
	json "predict iris, named features" '
assert b["labels"] == ["setosa"], b
rows_sum_to_one(b["probabilities"])'

# /predict on the default model, or a 404 that names the choices.
request POST /predict "{\"instances\": $iris}"
if [ -n "$default_model" ]; then
	expect 200 "POST /predict" && json "POST /predict" "
assert b['model'] == '$default_model', b['model']
rows_sum_to_one(b['probabilities'])"
else
	expect 404 "POST /predict without a default model" &&
		json "POST /predict without a default model" '
assert "iris" in b["error"] and "wine" in b["error"], b'
fi

# Gates: activations in (0, 1), weights and expert distributions sum to 1.
request POST /v1/models/iris/gates \
	"{\"instances\": $iris, \"expert_probabilities\": true}"
expect 200 "gates iris" && json "gates iris" '
n, e = 3, len(b["weights"][0])
assert b["gate"]["kind"] in ("sigmoid", "softmax"), b["gate"]
assert len(b["activations"]) == n and len(b["weights"]) == n
assert all(0 <= a <= 1 for r in b["activations"] for a in r)
rows_sum_to_one(b["weights"])
assert b["top_expert"] == [max(range(e), key=r.__getitem__)
                           for r in b["weights"]], b["top_expert"]
for row in b["expert_probabilities"]:
    assert len(row) == e
    rows_sum_to_one(row)'

# KServe V2 inference, metadata and readiness.
request GET /v2/models/iris
expect 200 "V2 metadata" && json "V2 metadata" '
assert b["inputs"][0]["shape"] == [-1, 4], b["inputs"]'
request GET /v2/models/iris/ready
expect 200 "V2 model ready" || true
request POST /v2/models/iris/infer '{"id": "smoke-1", "inputs": [{"name":
	"input", "shape": [2, 4], "datatype": "FP64",
	"data": [5.1, 3.5, 1.4, 0.2, 6.3, 3.3, 6.0, 2.5]}],
	"outputs": [{"name": "probabilities"}, {"name": "label"},
	{"name": "gate_weights"}]}'
expect 200 "V2 infer" && json "V2 infer" '
assert b["model_name"] == "iris" and b["id"] == "smoke-1", b
out = {o["name"]: o for o in b["outputs"]}
p = out["probabilities"]
assert p["shape"] == [2, 3], p["shape"]
rows_sum_to_one([p["data"][0:3], p["data"][3:6]])
assert out["label"]["data"] == ["setosa", "virginica"], out["label"]
g = out["gate_weights"]
rows_sum_to_one([g["data"][:len(g["data"]) // 2],
                 g["data"][len(g["data"]) // 2:]])'

# Client errors are answered, not fatal.
request POST /v1/models/iris/predict '{"instances": [[1, 2, 3]]}'
expect 400 "a row of 3 values for 4 features" &&
	json "a row of 3 values" 'assert "instances[0]" in b["error"], b'
request POST /v1/models/nosuch/predict "{\"instances\": $iris}"
expect 404 "an unknown model" || true

# Metrics: the requests above are counted, and the models are served.
request GET /metrics
expect 200 "GET /metrics" || true
for sample in \
	'sigmoe_requests_total{endpoint="/v1/models/{name}/predict",code="200"} [1-9]' \
	'sigmoe_instances_total{model="iris"} [1-9]' \
	'sigmoe_model_version{model="iris"} [1-9]' \
	'sigmoe_model_available{model="iris"} 1' \
	'sigmoe_build_info{version="'; do
	checks=$((checks + 1))
	grep -q "^$sample" "$tmp/body" || fail "/metrics has no $sample"
done

echo "container-smoke: $checks checks, $failures failed"
[ "$failures" -eq 0 ]
