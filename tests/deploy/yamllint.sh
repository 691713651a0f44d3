#!/bin/sh
# SPDX-License-Identifier: MIT
# Every YAML file of deploy/ and tests/data/deploy/ passes yamllint with
# tests/deploy/yamllint.yml.  Skips (77) without yamllint.
# Usage: yamllint.sh SOURCE_ROOT
set -eu
root=${1:?usage: yamllint.sh SOURCE_ROOT}
command -v yamllint >/dev/null || { echo "no yamllint: skipped"; exit 77; }
cd "$root"
yamllint --strict -f parsable -c tests/deploy/yamllint.yml \
	deploy/ tests/data/deploy/
echo "yamllint: $(find deploy tests/data/deploy -name '*.y*ml' | wc -l) files"
