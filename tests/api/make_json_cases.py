#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Write tests/data/api/json_cases.tsv: random texts and whether they
are strict JSON, according to Python's json module (an oracle that
shares nothing with api/strict.c).

Each line is "VERDICT<TAB>HEX" where VERDICT is 1 for valid JSON and 0
for invalid, and HEX is the text's UTF-8 bytes in hex.  The texts are
small random JSON values, some of them edited at random.  Python accepts
NaN and Infinity (refused here through parse_constant), lone UTF-16
surrogates and numbers of any length (never generated here).

Run: python3 tests/api/make_json_cases.py tests/data/api/json_cases.tsv
"""
import json
import random
import sys

rng = random.Random(20261203)
ALPHABET = '[]{},:"0123456789-+.eE \t\n\rtruefalsnul\\/bfu\x01\x7fé€😀'


def rand_string():
    out = []
    for _ in range(rng.randrange(6)):
        c = rng.choice('ab"\\/\b\f\n\r\t\x01é€😀\u2028')
        out.append(c)
    return json.dumps("".join(out), ensure_ascii=rng.random() < 0.5)


def rand_number():
    text = rng.choice(["", "-"])
    text += rng.choice(["0", str(rng.randrange(1, 10 ** rng.randrange(1, 12)))])
    if rng.random() < 0.5:
        text += "." + str(rng.randrange(10 ** rng.randrange(1, 10)))
    if rng.random() < 0.4:
        text += rng.choice("eE") + rng.choice(["", "+", "-"])
        text += str(rng.randrange(400))
    return text


def rand_value(depth=0):
    r = rng.random()
    if depth > 4 or r < 0.3:
        return rand_number()
    if r < 0.45:
        return rand_string()
    if r < 0.55:
        return rng.choice(["true", "false", "null"])
    ws = lambda: rng.choice(["", " ", "\n", "\t ", "\r\n"])
    if r < 0.8:
        items = [rand_value(depth + 1) for _ in range(rng.randrange(4))]
        return "[" + ws() + ("," + ws()).join(items) + ws() + "]"
    members = ["%s%s:%s%s" % (rand_string(), ws(), ws(), rand_value(depth + 1))
               for _ in range(rng.randrange(4))]
    return "{" + ws() + ("," + ws()).join(members) + ws() + "}"


def mutate(text):
    for _ in range(rng.randrange(1, 3)):
        at = rng.randrange(len(text) + 1)
        op = rng.randrange(3)
        if op == 0:
            text = text[:at] + rng.choice(ALPHABET) + text[at:]
        elif op == 1 and text:
            text = text[:at] + text[at + 1:]
        else:
            text = text[:at]
    return text


def reject_constant(name):
    raise ValueError(name)


def has_surrogate(value):
    if isinstance(value, str):
        return any(0xD800 <= ord(c) <= 0xDFFF for c in value)
    if isinstance(value, list):
        return any(has_surrogate(v) for v in value)
    if isinstance(value, dict):
        return any(has_surrogate(k) or has_surrogate(v)
                   for k, v in value.items())
    return False


def verdict(text):
    """1 valid, 0 invalid, None when Python's answer is not strict's."""
    try:
        value = json.loads(text, parse_constant=reject_constant)
    except ValueError:
        return 0
    return None if has_surrogate(value) else 1


def main():
    cases = []
    while len(cases) < 1500:
        text = rand_value()
        if rng.random() < 0.5:
            text = mutate(text)
        v = verdict(text)
        if v is not None:
            cases.append((v, text))
    with open(sys.argv[1], "w") as f:
        for v, text in cases:
            f.write("%d\t%s\n" % (v, text.encode("utf-8",
                                                 "surrogatepass").hex()))
    print(len(cases), "cases,", sum(v for v, _ in cases), "valid")


if __name__ == "__main__":
    main()
