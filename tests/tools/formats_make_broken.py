#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Write the catalog of broken model files of tests/data/formats/broken/
and its manifest EXPECTED ("file<TAB>the exact message the loader must
give").

An independent writer: plain json and struct, no code shared with
model/.  Every file is one small valid model (E=3 experts, d=2 features,
K=3 classes) with one thing wrong.  The messages are the contract of
model/json.c and model/safetensors.c (SPEC 2.3): "<file>: <field>:
<problem>"; the positions of JSON syntax errors were checked by hand.

Run from anywhere: python3 tests/tools/formats_make_broken.py
"""
import copy
import json
import os
import struct

from formats_make_good import flat, shape

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "data", "formats", "broken")

BASE = {
    "format": "sigmoe-model",
    "format_version": 1,
    "name": "base",
    "description": "one valid model; each file breaks one thing",
    "features": ["f0", "f1"],
    "classes": ["a", "b", "c"],
    "dtype": "F64",
    "standardize": {"mean": [0.5, -0.5], "scale": [2.0, 4.0]},
    "gate": {"kind": "sigmoid", "score": "euclidean", "temperature": 1.5,
             "top_k": 2,
             "weight": [[1.0, 2.0], [-1.0, 0.5], [0.0, -3.0]],
             "bias": [0.1, 0.2, 0.3]},
    "experts": {
        "weight": [[[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]],
                   [[2.0, -1.0], [0.5, 0.5], [-1.0, 2.0]],
                   [[0.25, 0.75], [3.0, -3.0], [0.0, 0.0]]],
        "bias": [[0.0, 0.1, 0.2], [1.0, -1.0, 0.0], [0.3, 0.3, -0.6]],
    },
}

ORDER = ["gate.weight", "gate.bias", "experts.weight", "experts.bias",
         "standardize.mean", "standardize.scale"]

manifest = []


def emit(name, data, message):
    mode = "w" if isinstance(data, str) else "wb"
    with open(os.path.join(OUT, name), mode) as f:
        f.write(data)
    manifest.append("%s\t%s: %s" % (name, name, message))


def text(doc):
    return json.dumps(doc, indent=1) + "\n"


def mutate(change):
    doc = copy.deepcopy(BASE)
    change(doc)
    return text(doc)


def setitem(path, value):
    """A change that sets doc[path...] = value (value None deletes)."""
    def change(doc):
        node = doc
        for key in path[:-1]:
            node = node[key]
        if value is None:
            del node[path[-1]]
        else:
            node[path[-1]] = value
    return change


# ---- safetensors, packed by hand ----

def base_tensors():
    t = {"gate.weight": BASE["gate"]["weight"],
         "gate.bias": BASE["gate"]["bias"],
         "experts.weight": BASE["experts"]["weight"],
         "experts.bias": BASE["experts"]["bias"],
         "standardize.mean": BASE["standardize"]["mean"],
         "standardize.scale": BASE["standardize"]["scale"]}
    return copy.deepcopy(t)


def base_metadata():
    return {"format": "sigmoe-model", "format_version": "1",
            "gate.kind": "sigmoid", "gate.score": "euclidean",
            "gate.temperature": "1.5", "gate.top_k": "2",
            "classes": json.dumps(BASE["classes"]),
            "features": json.dumps(BASE["features"]),
            "name": "base", "description": "broken-file base"}


def pack(tensors=None, metadata=None, dtype="F64", dtypes=None,
         shapes=None, offsets=None, entry_extra=None, header_edit=None,
         raw_header=None, data_edit=None, values_edit=None):
    """A safetensors file from the base model with the given edits:
    dtypes/shapes/offsets override one tensor's header fields, entry_extra
    adds keys to an entry, header_edit(header) changes the header dict,
    raw_header replaces the header text, data_edit(data) the data area,
    values_edit(name, values) the numbers before packing."""
    tensors = base_tensors() if tensors is None else tensors
    meta = base_metadata() if metadata is None else metadata
    header = {} if meta is False else {"__metadata__": meta}
    data = b""
    for name in ORDER:
        if name not in tensors:
            continue
        dt = (dtypes or {}).get(name, dtype)
        fmt = {"F64": "<d", "F32": "<f"}.get(dt, "<d")
        values = flat(tensors[name])
        if values_edit:
            values = values_edit(name, values)
        blob = b"".join(struct.pack(fmt, v) for v in values)
        entry = {"dtype": dt,
                 "shape": (shapes or {}).get(name, shape(tensors[name])),
                 "data_offsets": (offsets or {}).get(
                     name, [len(data), len(data) + len(blob)])}
        entry.update((entry_extra or {}).get(name, {}))
        header[name] = entry
        data += blob
    if header_edit:
        header_edit(header)
    if data_edit:
        data = data_edit(data)
    if raw_header is not None:
        head = raw_header
    else:
        head = json.dumps(header, separators=(",", ":")).encode()
        head += b" " * ((8 - (8 + len(head)) % 8) % 8)
    return struct.pack("<Q", len(head)) + head + data


def json_cases():
    good = text(BASE)
    emit("empty.json", "", "empty file")
    emit("truncated.json", good[:len(good) // 2],
         "not valid JSON: the text ends early at line 46, column 2")
    emit("not_json.json", "this is not a model\n",
         "not valid JSON at line 1, column 1")
    emit("trailing.json", good + "{}\n",
         "unexpected text after the value at line 115, column 1")
    emit("array_top.json", "[1, 2, 3]\n",
         "expected a JSON object at the top level")
    emit("wrong_format.json", mutate(setitem(["format"], "onnx")),
         'format: expected "sigmoe-model"')
    emit("wrong_version.json", mutate(setitem(["format_version"], 2)),
         "format_version: version 2 is not supported (expected 1)")
    emit("version_string.json", mutate(setitem(["format_version"], "1")),
         "format_version: expected a number")
    emit("missing_format.json", mutate(setitem(["format"], None)),
         "format: required key is missing")
    emit("missing_classes.json", mutate(setitem(["classes"], None)),
         "classes: required key is missing")
    emit("missing_gate_bias.json", mutate(setitem(["gate", "bias"], None)),
         "gate.bias: required key is missing")
    emit("missing_experts.json", mutate(setitem(["experts"], None)),
         "experts: required key is missing")
    emit("missing_scale.json",
         mutate(setitem(["standardize", "scale"], None)),
         "standardize.scale: required key is missing")
    emit("unknown_top.json", mutate(setitem(["weights"], [1])),
         "weights: unknown key")
    emit("unknown_gate.json", mutate(setitem(["gate", "tau"], 1.0)),
         "gate.tau: unknown key")
    emit("unknown_experts.json",
         mutate(setitem(["experts", "biases"], [])),
         "experts.biases: unknown key")
    emit("unknown_standardize.json",
         mutate(setitem(["standardize", "std"], [1, 1])),
         "standardize.std: unknown key")
    emit("duplicate_key.json",
         good.replace('"dtype": "F64"', '"dtype": "F64", "dtype": "F32"'),
         "dtype: duplicate key")
    emit("dtype_f16.json", mutate(setitem(["dtype"], "F16")),
         'dtype: expected "F64" or "F32"')
    emit("name_number.json", mutate(setitem(["name"], 5)),
         "name: expected a string")
    emit("gate_not_object.json", mutate(setitem(["gate"], [1, 2])),
         "gate: expected an object")
    emit("gate_weight_number.json",
         mutate(setitem(["gate", "weight"], 5)),
         "gate.weight: expected an array of rows")
    emit("gate_bias_short.json",
         mutate(setitem(["gate", "bias"], [0.1, 0.2])),
         "gate.bias: expected 3 values, found 2")
    emit("gate_row_long.json",
         mutate(setitem(["gate", "weight", 1], [1.0, 2.0, 3.0])),
         "gate.weight[1]: expected 2 values, found 3")
    emit("gate_value_string.json",
         mutate(setitem(["gate", "bias", 0], "0.1")),
         "gate.bias[0]: expected a number")
    emit("experts_count.json",
         mutate(lambda d: d["experts"]["weight"].pop()),
         "experts.weight: expected 3 experts, found 2")
    # the message of the specification's example
    emit("iris.json",
         mutate(lambda d: d["experts"]["weight"][2].pop()),
         "experts.weight[2]: expected 3 rows, found 2")
    emit("experts_cols.json",
         mutate(setitem(["experts", "weight", 0, 1], [1.0])),
         "experts.weight[0][1]: expected 2 values, found 1")
    emit("experts_bias_row.json",
         mutate(setitem(["experts", "bias", 1], [1.0, 2.0])),
         "experts.bias[1]: expected 3 values, found 2")
    emit("experts_bias_count.json",
         mutate(lambda d: d["experts"]["bias"].append([0.0, 0.0, 0.0])),
         "experts.bias: expected 3 experts, found 4")
    emit("mean_short.json",
         mutate(setitem(["standardize", "mean"], [0.0])),
         "standardize.mean: expected 2 values, found 1")
    emit("features_count.json",
         mutate(setitem(["features"], ["f0", "f1", "f2"])),
         "gate.weight[0]: expected 3 values, found 2")
    emit("features_string.json", mutate(setitem(["features"], "f0,f1")),
         "features: expected an array of strings")
    emit("classes_numbers.json", mutate(setitem(["classes"], [1, 2, 3])),
         "classes[0]: expected a string")
    emit("classes_duplicate.json",
         mutate(setitem(["classes"], ["a", "b", "a"])),
         "classes[2]: duplicate name 'a'")
    emit("classes_empty_name.json",
         mutate(setitem(["classes"], ["a", "", "c"])),
         "classes[1]: empty name")

    def one_class(d):
        d["classes"] = ["only"]
        d["experts"]["weight"] = [[r[0]] for r in d["experts"]["weight"]]
        d["experts"]["bias"] = [[r[0]] for r in d["experts"]["bias"]]
    emit("one_class.json", mutate(one_class),
         "classes (K): 1, must be between 2 and 65536")
    emit("nan.json", good.replace("-3.0", "NaN"),
         "not valid JSON at line 42, column 5")
    emit("infinity.json", good.replace("-3.0", "Infinity"),
         "not valid JSON at line 42, column 5")
    emit("huge_number.json",
         good.replace("0.75", "1e400"),
         "experts.weight[2][0][1]: not a finite number")
    emit("tau_zero.json", mutate(setitem(["gate", "temperature"], 0)),
         "gate.temperature: must be a finite number > 0, got 0")
    emit("tau_negative.json",
         mutate(setitem(["gate", "temperature"], -1.5)),
         "gate.temperature: must be a finite number > 0, got -1.5")
    emit("tau_string.json",
         mutate(setitem(["gate", "temperature"], "1")),
         "gate.temperature: expected a number")
    emit("top_k_big.json", mutate(setitem(["gate", "top_k"], 4)),
         "gate.top_k: 4 is more than the 3 experts")
    emit("top_k_fraction.json", mutate(setitem(["gate", "top_k"], 1.5)),
         "gate.top_k: expected a whole number from 0 to the number of "
         "experts")
    emit("top_k_negative.json", mutate(setitem(["gate", "top_k"], -1)),
         "gate.top_k: expected a whole number from 0 to the number of "
         "experts")
    emit("kind_relu.json", mutate(setitem(["gate", "kind"], "relu")),
         'gate.kind: expected "sigmoid" or "softmax"')
    emit("score_cosine.json", mutate(setitem(["gate", "score"], "cosine")),
         'gate.score: expected "inner" or "euclidean"')
    emit("scale_zero.json",
         mutate(setitem(["standardize", "scale", 1], 0.0)),
         "standardize.scale[1]: must not be 0")
    emit("f32_overflow.json",
         mutate(lambda d: (d.update(dtype="F32"),
                           d["gate"]["bias"].__setitem__(2, 1e39))),
         "gate.bias[2]: 1e+39 is out of the range of F32")
    emit("deep.json", "[" * 100000,
         "nesting deeper than 64 levels at line 1, column 65")
    emit("deep_inside.json",
         good.replace('"name": "base"',
                      '"name": ' + "[" * 70 + "]" * 70),
         "nesting deeper than 64 levels at line 4, column 73")
    emit("nul_byte.json", good.replace("base", "ba\0se"),
         "NUL byte at line 4, column 13")
    emit("no_rows.json", mutate(setitem(["gate", "weight"], [])),
         "gate.weight: expected an array of rows")


def st_cases():
    good = pack()
    emit("st_empty.safetensors", b"", "empty file")
    emit("st_short.safetensors", b"\x10\0\0\0\0",
         "file is 5 bytes, too short for the 8-byte header length")
    emit("st_header_past_end.safetensors",
         struct.pack("<Q", 1000) + b'{"a":1}',
         "header: length 1000 runs past the end of the file (15 bytes)")
    emit("st_header_huge.safetensors",
         struct.pack("<Q", 1 << 40) + b"{}",
         "header: length 1099511627776 is over the limit of 16777216 "
         "bytes")
    emit("st_header_not_json.safetensors", pack(raw_header=b"not json"),
         "header: not valid JSON at line 1, column 1")
    emit("st_header_array.safetensors", pack(raw_header=b"[]"),
         "header: expected a JSON object")
    emit("st_header_trailing.safetensors", pack(raw_header=b"{} {}"),
         "header: unexpected text after the value at line 1, column 4")
    emit("st_header_deep.safetensors", pack(raw_header=b"[" * 100000),
         "header: nesting deeper than 64 levels at line 1, column 65")
    emit("st_truncated.safetensors", good[:len(good) - 20],
         "standardize.mean: data_offsets [288, 304] exceed the data area "
         "of 300 bytes")

    # the message of the specification's example
    small = {"gate.weight": [[1.0, 2.0], [3.0, 4.0]],
             "gate.bias": [0.0, 0.0],
             "experts.weight": [[[1.0, 0.0], [0.0, 1.0]]] * 2,
             "experts.bias": [[0.0, 0.0]] * 2}
    meta = base_metadata()
    meta["classes"] = '["a","b"]'
    meta["gate.top_k"] = "0"
    emit("m.safetensors",
         pack(tensors=small, metadata=meta,
              offsets={"gate.weight": [0, 32], "gate.bias": [0, 40]},
              data_edit=lambda d: d[:32]),
         "gate.bias: data_offsets [0, 40] exceed the data area of 32 "
         "bytes")
    emit("st_end_before_begin.safetensors",
         pack(offsets={"gate.bias": [72, 48]}),
         "gate.bias: data_offsets [72, 48] end before they begin")
    emit("st_size_mismatch.safetensors",
         pack(offsets={"gate.bias": [48, 64]}),
         "gate.bias: data_offsets [48, 64] hold 16 bytes, but 3 F64 "
         "values take 24")
    emit("st_overlap.safetensors",
         pack(offsets={"experts.bias": [40, 112]}),
         "experts.bias: data_offsets [40, 112] overlap gate.weight "
         "[0, 48]")
    emit("st_dtype_i32.safetensors", pack(dtypes={"gate.weight": "I32"}),
         'gate.weight.dtype: expected "F64" or "F32"')
    emit("st_mixed_dtypes.safetensors",
         pack(dtypes={"gate.bias": "F32"}),
         "gate.bias.dtype: F32 differs from F64 of gate.weight")
    emit("st_missing_tensor.safetensors",
         pack(header_edit=lambda h: h.pop("experts.bias")),
         "experts.bias: missing tensor")
    emit("st_unknown_tensor.safetensors",
         pack(header_edit=lambda h: h.update(
             {"gate.w": h.pop("gate.weight")})),
         "gate.w: unknown tensor")
    emit("st_half_standardize.safetensors",
         pack(header_edit=lambda h: h.pop("standardize.scale")),
         "standardize.scale: missing tensor (standardize.mean is present)")
    emit("st_rank.safetensors", pack(shapes={"gate.weight": [3, 2, 1]}),
         "gate.weight.shape: expected 2 dimensions, found 3")
    emit("st_shape_mismatch.safetensors",
         pack(shapes={"experts.weight": [3, 3, 4]}),
         "experts.weight.shape[2]: expected 2 as in gate.weight, found 4")
    emit("st_bias_shape.safetensors", pack(shapes={"gate.bias": [4]}),
         "gate.bias.shape[0]: expected 3 as in gate.weight, found 4")
    big = 1 << 50
    emit("st_huge_shape.safetensors",
         pack(shapes={"gate.weight": [big, 2], "gate.bias": [big],
                      "experts.weight": [big, 3, 2],
                      "experts.bias": [big, 3]}),
         "gate.weight.shape[0]: 1125899906842624 experts, over the limit "
         "of 4096")
    emit("st_shape_negative.safetensors",
         pack(shapes={"gate.bias": [-3]}),
         "gate.bias.shape[0]: expected a whole number from 0 to 2^53")
    emit("st_shape_not_array.safetensors",
         pack(shapes={"gate.bias": 3}),
         "gate.bias.shape: expected an array of sizes")
    emit("st_offsets_one.safetensors",
         pack(offsets={"gate.bias": [48]}),
         "gate.bias.data_offsets: expected [begin, end], two whole "
         "numbers from 0 to 2^53")
    emit("st_offsets_negative.safetensors",
         pack(offsets={"gate.bias": [-24, 0]}),
         "gate.bias.data_offsets: expected [begin, end], two whole "
         "numbers from 0 to 2^53")
    emit("st_entry_unknown_key.safetensors",
         pack(entry_extra={"gate.weight": {"stride": [2, 1]}}),
         "gate.weight.stride: unknown key")
    emit("st_entry_not_object.safetensors",
         pack(header_edit=lambda h: h.update({"gate.bias": [1, 2]})),
         "gate.bias: expected an object with dtype, shape and "
         "data_offsets")
    emit("st_no_metadata.safetensors", pack(metadata=False),
         "__metadata__: required key is missing")

    def meta_with(**kv):
        m = base_metadata()
        for k, v in kv.items():
            k = k.replace("__", ".")
            if v is None:
                del m[k]
            else:
                m[k] = v
        return m
    emit("st_metadata_array.safetensors",
         pack(header_edit=lambda h: h.update({"__metadata__": []})),
         "__metadata__: expected an object of strings")
    emit("st_meta_format.safetensors", pack(metadata=meta_with(
        format="pytorch")), '__metadata__.format: expected "sigmoe-model"')
    emit("st_meta_version.safetensors", pack(metadata=meta_with(
        format_version="2")), '__metadata__.format_version: expected "1"')
    emit("st_meta_no_classes.safetensors", pack(metadata=meta_with(
        classes=None)), "__metadata__.classes: required key is missing")
    emit("st_meta_unknown.safetensors",
         pack(header_edit=lambda h: h["__metadata__"].update(
             {"gate.topk": "1"})),
         "__metadata__.gate.topk: unknown key")
    emit("st_meta_number.safetensors",
         pack(header_edit=lambda h: h["__metadata__"].update(
             {"gate.top_k": 1})),
         "__metadata__.gate.top_k: expected a string")
    emit("st_meta_classes_csv.safetensors",
         pack(metadata=meta_with(classes="a,b,c")),
         "__metadata__.classes: not valid JSON at line 1, column 1")
    emit("st_meta_features_string.safetensors",
         pack(metadata=meta_with(features='"f0"')),
         "__metadata__.features: expected a JSON array of strings")
    emit("st_meta_classes_numbers.safetensors",
         pack(metadata=meta_with(classes="[1, 2, 3]")),
         "__metadata__.classes[0]: expected a string")
    emit("st_meta_classes_count.safetensors",
         pack(metadata=meta_with(classes='["a", "b"]')),
         "__metadata__.classes: expected 3 names as in experts.weight, "
         "found 2")
    emit("st_meta_features_count.safetensors",
         pack(metadata=meta_with(features='["f0", "f1", "f2"]')),
         "__metadata__.features: expected 2 names as in gate.weight, "
         "found 3")
    emit("st_meta_classes_duplicate.safetensors",
         pack(metadata=meta_with(classes='["a", "b", "b"]')),
         "classes[2]: duplicate name 'b'")
    emit("st_meta_tau_word.safetensors",
         pack(metadata=meta_with(gate__temperature="warm")),
         "__metadata__.gate.temperature: expected a finite number")
    emit("st_meta_tau_inf.safetensors",
         pack(metadata=meta_with(gate__temperature="1e400")),
         "__metadata__.gate.temperature: expected a finite number")
    emit("st_meta_tau_zero.safetensors",
         pack(metadata=meta_with(gate__temperature="0")),
         "gate.temperature: must be a finite number > 0, got 0")
    emit("st_meta_top_k_negative.safetensors",
         pack(metadata=meta_with(gate__top_k="-1")),
         "__metadata__.gate.top_k: expected a whole number from 0 to the "
         "number of experts")
    emit("st_meta_top_k_big.safetensors",
         pack(metadata=meta_with(gate__top_k="7")),
         "gate.top_k: 7 is more than the 3 experts")
    emit("st_meta_kind.safetensors",
         pack(metadata=meta_with(gate__kind="tanh")),
         '__metadata__.gate.kind: expected "sigmoid" or "softmax"')
    emit("st_nan_value.safetensors",
         pack(values_edit=lambda n, v: [float("nan")] + v[1:]
              if n == "gate.weight" else v),
         "gate.weight[0][0]: not a finite number")
    emit("st_inf_f32.safetensors",
         pack(dtype="F32",
              values_edit=lambda n, v: v[:4] + [float("inf")] + v[5:]
              if n == "experts.bias" else v),
         "experts.bias[1][1]: not a finite number")
    emit("st_scale_zero.safetensors",
         pack(values_edit=lambda n, v: [0.0, 1.0]
              if n == "standardize.scale" else v),
         "standardize.scale[0]: must not be 0")


def main():
    os.makedirs(OUT, exist_ok=True)
    for name in os.listdir(OUT):
        os.unlink(os.path.join(OUT, name))
    json_cases()
    st_cases()
    with open(os.path.join(OUT, "EXPECTED"), "w") as f:
        f.write("# file\texpected message (tests/tools/"
                "formats_make_broken.py)\n")
        f.write("\n".join(manifest) + "\n")


if __name__ == "__main__":
    main()
