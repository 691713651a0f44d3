#!/bin/sh
# SPDX-License-Identifier: MIT
# api/pow10.h is what tools/gen_pow10.py writes, which also checks the
# table and the logarithm formulas with exact arithmetic.
# Usage: check_pow10.sh PYTHON SOURCE_ROOT
set -eu
python=$1
root=$2
out=$(mktemp)
trap 'rm -f "$out"' EXIT
"$python" "$root/tools/gen_pow10.py" >"$out"
if ! cmp -s "$out" "$root/api/pow10.h"; then
	echo "api/pow10.h differs from tools/gen_pow10.py's output:" >&2
	diff -u "$root/api/pow10.h" "$out" | head -20 >&2
	exit 1
fi
echo "api/pow10.h matches tools/gen_pow10.py"
