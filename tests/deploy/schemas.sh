#!/bin/sh
# SPDX-License-Identifier: MIT
# The Kubernetes manifests of deploy/kubernetes/ against the Kubernetes
# OpenAPI schemas (k8s-schema.js), deploy/compose.yaml against the Compose
# Specification's schema (compose-schema.js), and both checkers against
# tests/data/deploy/bad-*.yaml, whose mistakes they must all report.
# The npm packages are installed with `npm ci` from the
# committed package-lock.json into WORKDIR (a folder of the build
# directory), once.  Skips (77) without node and npm, or when npm cannot
# reach its registry.
# Usage: k8s-schema.sh SOURCE_ROOT WORKDIR
set -eu
root=${1:?usage: schemas.sh SOURCE_ROOT WORKDIR}
work=${2:?usage: schemas.sh SOURCE_ROOT WORKDIR}
here=$root/tests/deploy
for t in node npm; do
	command -v $t >/dev/null || { echo "no $t: skipped"; exit 77; }
done

mkdir -p "$work"
if ! cmp -s "$here/package-lock.json" "$work/package-lock.json" ||
	[ ! -d "$work/node_modules/kubernetes-models" ]; then
	cp "$here/package.json" "$here/package-lock.json" "$work/"
	if ! (cd "$work" && timeout 90 npm ci --no-audit --no-fund \
		--loglevel=error --fetch-retries=1 --fetch-timeout=20000); then
		rm -f "$work/package-lock.json"
		echo "npm ci failed (no registry?): skipped"
		exit 77
	fi
fi

# Every manifest: those kustomization.yaml lists, and the optional ones.
cd "$root/deploy/kubernetes"
manifests=$(ls ./*.yaml | grep -v '/kustomization.yaml$')
node "$here/k8s-schema.js" "$work/node_modules" $manifests

out=$(node "$here/k8s-schema.js" "$work/node_modules" \
	"$root/tests/data/deploy/bad-manifests.yaml") &&
	{ echo "bad-manifests.yaml passed the schema check"; exit 1; }
status=0
for expected in \
	"Deployment/typo: .spec.template.spec.containers[0].livenesProbe: unknown field" \
	"Deployment/wrong-type: /spec/replicas: type" \
	"Service/no-port-number: /spec/ports/0: required" \
	"HorizontalPodAutoscaler/misplaced-field: .spec.targetCPUUtilizationPercentage: unknown field" \
	"k8s-schema: 4 objects, 4 problems"; do
	case $out in
	*"$expected"*) ;;
	*) echo "not reported: $expected"; status=1 ;;
	esac
done
[ $status -eq 0 ] && echo "bad-manifests.yaml: the 4 mistakes reported"

node "$here/compose-schema.js" "$work/node_modules" "$root/deploy/compose.yaml"
out=$(node "$here/compose-schema.js" "$work/node_modules" \
	"$root/tests/data/deploy/bad-compose.yaml") &&
	{ echo "bad-compose.yaml passed the schema check"; exit 1; }
for expected in \
	'/services/sigmoed: must NOT have additional properties {"additionalProperty":"stop_grace_periode"}' \
	"/services/sigmoed/read_only: must be boolean"; do
	case $out in
	*"$expected"*) ;;
	*) echo "not reported: $expected"; status=1 ;;
	esac
done
[ $status -eq 0 ] && echo "bad-compose.yaml: the 2 mistakes reported"
exit $status
