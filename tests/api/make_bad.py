#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Write the catalog of bad request bodies of tests/data/api/bad/.

Each case is a file name, a body, the HTTP status and the exact message
the parser must give.  The file prefix picks the endpoint and model:
  predict_  POST predict, model "iris" (d=4 named features, K=3, E=3)
  gates_    POST gates, model "iris"
  anon_     POST predict, model "anon" (d=2, no feature names)
  v2_       KServe V2 infer, model "iris"
The tests run with max_instances = 1000.

Run: python3 tests/api/make_bad.py tests/data/api/bad
"""
import json
import os
import sys

ROW = "[5.1, 3.5, 1.4, 0.2]"
OBJ = ('{"sepal_length": 6.2, "sepal_width": 2.9, "petal_length": 4.3, '
       '"petal_width": 1.3}')
IRIS_MAX = "instances: expected 1 to 1000 rows, got"
NOT_JSON = "body is not valid JSON: "
DTYPE = ("inputs[0].datatype: expected FP32, FP64 or an integer type "
         "(INT8 to INT64, UINT8 to UINT64), got")


def v2(data, shape="[2, 4]", datatype="FP64", extra=""):
    return ('{"inputs": [{"name": "x", "shape": %s, "datatype": "%s", '
            '"data": %s}]%s}' % (shape, datatype, data, extra))


V2_DATA = "[1, 2, 3, 4, 5, 6, 7, 8]"

CASES = [
    # malformed JSON
    ("predict_empty.json", "", 400, "body is empty"),
    ("predict_whitespace.json", " \n\t\r\n", 400, "body is empty"),
    ("predict_truncated.json", '{"instances": [[5.1, 3.5, 1.4', 400,
     NOT_JSON + "unexpected end of body"),
    ("predict_truncated_in_string.json", '{"instances": [{"sepal_len',
     400, NOT_JSON + "unexpected end of body"),
    ("predict_trailing_comma.json", '{"instances": [%s,]}' % ROW, 400,
     None),
    ("predict_single_quotes.json", "{'instances': [%s]}" % ROW, 400, None),
    ("predict_nan.json", '{"instances": [[NaN, 3.5, 1.4, 0.2]]}', 400,
     None),
    ("predict_infinity.json", '{"instances": [[5.1, Infinity, 1.4, 0.2]]}',
     400, None),
    ("predict_minus_infinity.json",
     '{"instances": [[5.1, 3.5, -Infinity, 0.2]]}', 400, None),
    ("predict_trailing_garbage.json", '{"instances": [%s]} x' % ROW, 400,
     NOT_JSON + "unexpected text after the value: 'x' at line 1, "
     "column 39"),
    ("predict_two_bodies.json",
     '{"instances": [%s]}\n{"instances": [%s]}' % (ROW, ROW), 400,
     NOT_JSON + "unexpected text after the value: '{' at line 2, "
     "column 1"),
    ("predict_bare_word.json", "hello", 400, None),
    ("predict_nul_byte.json", '{"instances": [[5.1, 3.5,\0 1.4, 0.2]]}',
     400, None),
    ("predict_hex_number.json", '{"instances": [[0x10, 3.5, 1.4, 0.2]]}',
     400, None),
    ("predict_leading_zero.json", '{"instances": [[05.1, 3.5, 1.4, 0.2]]}',
     400, None),
    ("predict_lone_minus.json", '{"instances": [[-, 3.5, 1.4, 0.2]]}', 400,
     None),
    ("predict_bare_dot.json", '{"instances": [[1., 3.5, 1.4, 0.2]]}', 400,
     None),
    ("predict_dot_first.json", '{"instances": [[.5, 3.5, 1.4, 0.2]]}', 400,
     None),
    ("predict_bare_exponent.json", '{"instances": [[1e, 3.5, 1.4, 0.2]]}',
     400, None),
    ("predict_plus_sign.json", '{"instances": [[+1, 3.5, 1.4, 0.2]]}', 400,
     None),
    ("predict_tab_in_string.json", '{"instan\tces": []}', 400, None),
    ("predict_bad_escape.json", '{"instan\\xces": []}', 400, None),
    ("predict_comment.json", '{"instances": [] /* none */}', 400, None),
    ("predict_true_typo.json", '{"instances": [[1, 2, 3, 4]], "x": tru}',
     400, None),
    ("predict_long_number.json",
     '{"instances": [[1, 0.%s, 3, 4]]}' % ("1" * 62), 400,
     NOT_JSON + "number longer than 63 characters at line 1, column 20"),
    ("predict_lone_high_surrogate.json",
     '{"instances": [{"a\\ud800": 1}]}', 400,
     NOT_JSON + "unpaired UTF-16 surrogate at line 1, column 19"),
    ("predict_lone_low_surrogate.json",
     '{"instances": [{"\\udc00b": 1}]}', 400,
     NOT_JSON + "unpaired UTF-16 surrogate at line 1, column 18"),
    # the shape of the body
    ("predict_array_body.json", "[%s]" % ROW, 400,
     "body: expected an object, got an array"),
    ("predict_string_body.json", '"instances"', 400,
     "body: expected an object, got a string"),
    ("predict_missing_instances.json", "{}", 400, "missing key 'instances'"),
    ("predict_typo_key.json", '{"instance": [%s]}' % ROW, 400,
     "unknown key 'instance'"),
    ("predict_extra_key.json",
     '{"instances": [%s], "signature_name": "serving_default"}' % ROW, 400,
     "unknown key 'signature_name'"),
    ("predict_long_unknown_key.json", '{"%s": 1}' % ("k" * 200), 400,
     "unknown key '%s'" % ("k" * 64)),
    ("predict_duplicate_instances.json",
     '{"instances": [%s], "instances": [%s]}' % (ROW, ROW), 400,
     "duplicate key 'instances'"),
    ("predict_expert_probabilities.json",
     '{"instances": [%s], "expert_probabilities": true}' % ROW, 400,
     "unknown key 'expert_probabilities'"),
    ("predict_instances_object.json", '{"instances": {"a": [1, 2]}}', 400,
     "instances: expected an array, got an object"),
    ("predict_instances_null.json", '{"instances": null}', 400,
     "instances: expected an array, got null"),
    ("predict_instances_number.json", '{"instances": 4}', 400,
     "instances: expected an array, got a number"),
    ("predict_empty_instances.json", '{"instances": []}', 400,
     IRIS_MAX + " 0"),
    ("predict_huge_batch.json",
     '{"instances": [%s]}' % ",".join(["[0,0,0,0]"] * 1001), 413,
     IRIS_MAX + " 1001"),
    ("predict_huge_batch_tiny_rows.json",
     '{"instances": [%s]}' % ",".join(["1"] * 2000), 413,
     IRIS_MAX + " 2000"),
    # more rows than the body could hold: checked without a matrix
    ("predict_many_scalar_rows.json",
     '{"instances": [%s]}' % ",".join(["1"] * 900), 400,
     "instances[0]: expected an array or an object, got a number"),
    ("predict_many_short_rows.json",
     '{"instances": [%s,[]]}' % ",".join(["[1,2,3,4]"] * 300), 400,
     "instances[300]: expected 4 values, got 0"),
    # rows
    ("predict_row_too_long.json",
     '{"instances": [%s, %s, %s, [1, 2, 3, 4, 5]]}' % (ROW, ROW, ROW), 400,
     "instances[3]: expected 4 values, got 5"),
    ("predict_row_too_short.json", '{"instances": [[1, 2, 3]]}', 400,
     "instances[0]: expected 4 values, got 3"),
    ("predict_row_empty.json", '{"instances": [[]]}', 400,
     "instances[0]: expected 4 values, got 0"),
    # a row's length is judged before its values, whichever comes first
    ("predict_short_row_bad_value.json",
     '{"instances": [[1, "x", 3]]}', 400,
     "instances[0]: expected 4 values, got 3"),
    ("predict_long_row_bad_value.json",
     '{"instances": [[1, 2, 3, 4, null]]}', 400,
     "instances[0]: expected 4 values, got 5"),
    ("predict_long_row_huge_value.json",
     '{"instances": [%s, [1e999, 2, 3, 4, 5, 6]]}' % ROW, 400,
     "instances[1]: expected 4 values, got 6"),
    ("predict_short_row_huge_value.json",
     '{"instances": [[1, 2, 1e999]]}', 400,
     "instances[0]: expected 4 values, got 3"),
    ("predict_bad_last_value.json",
     '{"instances": [[1, 2, 3, [4]]]}', 400,
     "instances[0][3]: expected a number, got an array"),
    ("predict_string_value.json",
     '{"instances": [%s, [1, 2, "3", 4]]}' % ROW, 400,
     "instances[1][2]: expected a number, got a string"),
    ("predict_null_value.json", '{"instances": [[null, 2, 3, 4]]}', 400,
     "instances[0][0]: expected a number, got null"),
    ("predict_bool_value.json", '{"instances": [[1, 2, 3, true]]}', 400,
     "instances[0][3]: expected a number, got a boolean"),
    ("predict_nested_value.json", '{"instances": [[1, [2], 3, 4]]}', 400,
     "instances[0][1]: expected a number, got an array"),
    ("predict_overflow.json", '{"instances": [[1, 1e400, 3, 4]]}', 400,
     "instances[0][1]: number out of range"),
    ("predict_negative_overflow.json",
     '{"instances": [%s, [1, 2, -2e308, 4]]}' % ROW, 400,
     "instances[1][2]: number out of range"),
    ("predict_row_number.json", '{"instances": [1, 2, 3, 4]}', 400,
     "instances[0]: expected an array or an object, got a number"),
    ("predict_row_string.json", '{"instances": [%s, "5.1,3.5"]}' % ROW, 400,
     "instances[1]: expected an array or an object, got a string"),
    ("predict_unknown_feature.json",
     '{"instances": [{"sepal_length": 1, "sepal_width": 2, '
     '"petal_length": 3, "petal_width": 4, "foo": 5}]}', 400,
     "instances[0]: unknown feature 'foo'"),
    ("predict_missing_feature.json",
     '{"instances": [{"sepal_length": 1, "sepal_width": 2, '
     '"petal_length": 3}]}', 400,
     "instances[0]: missing feature 'petal_width'"),
    ("predict_duplicate_feature.json",
     '{"instances": [%s, {"sepal_length": 1, "sepal_width": 2, '
     '"petal_length": 3, "sepal_length": 4}]}' % OBJ, 400,
     "instances[1]: duplicate feature 'sepal_length'"),
    ("predict_feature_case.json",
     '{"instances": [{"Sepal_length": 1, "sepal_width": 2, '
     '"petal_length": 3, "petal_width": 4}]}', 400,
     "instances[0]: unknown feature 'Sepal_length'"),
    ("predict_feature_string_value.json",
     '{"instances": [{"sepal_length": 1, "sepal_width": 2, '
     '"petal_length": "3", "petal_width": 4}]}', 400,
     "instances[0].petal_length: expected a number, got a string"),
    ("predict_feature_overflow.json",
     '{"instances": [{"sepal_length": 1, "sepal_width": 1e999, '
     '"petal_length": 3, "petal_width": 4}]}', 400,
     "instances[0].sepal_width: number out of range"),
    ("predict_deep_nesting.json", "[" * 100000, 400,
     "body nests deeper than 32 levels"),
    ("predict_deep_objects.json",
     '{"instances": %s1%s}' % ('{"a":' * 40, "}" * 40), 400,
     "body nests deeper than 32 levels"),
    ("predict_deep_after_string.json",
     '{"s": "[[[[", "instances": %s}' % ("[" * 40 + "]" * 40), 400,
     "body nests deeper than 32 levels"),
    ("gates_expert_probabilities_string.json",
     '{"instances": [%s], "expert_probabilities": "yes"}' % ROW, 400,
     "expert_probabilities: expected true or false, got a string"),
    ("gates_unknown_key.json",
     '{"instances": [%s], "expert_probability": true}' % ROW, 400,
     "unknown key 'expert_probability'"),
    ("anon_object_row.json", '{"instances": [{"x0": 1, "x1": 2}]}', 400,
     "instances[0]: the model has no feature names; send each row as an "
     "array of 2 numbers"),
    ("anon_row_too_long.json", '{"instances": [[1, 2, 3]]}', 400,
     "instances[0]: expected 2 values, got 3"),
    # KServe V2
    ("v2_missing_inputs.json", '{"id": "a"}', 400, "missing key 'inputs'"),
    ("v2_no_inputs.json", '{"inputs": []}', 400,
     "inputs: expected exactly one input tensor, got 0"),
    ("v2_two_inputs.json",
     '{"inputs": [{"name": "a", "shape": [1, 4], "datatype": "FP64", '
     '"data": [1, 2, 3, 4]}, {"name": "b", "shape": [1, 4], "datatype": '
     '"FP64", "data": [1, 2, 3, 4]}]}', 400,
     "inputs: expected exactly one input tensor, got 2"),
    ("v2_inputs_object.json", '{"inputs": {"name": "a"}}', 400,
     "inputs: expected an array, got an object"),
    ("v2_instances.json", '{"instances": [%s]}' % ROW, 400,
     "unknown key 'instances'"),
    ("v2_wrong_datatype.json", v2('["a", "b"]', datatype="BYTES"), 400,
     DTYPE + " 'BYTES'"),
    ("v2_fp16.json", v2(V2_DATA, datatype="FP16"), 400, DTYPE + " 'FP16'"),
    ("v2_lowercase_datatype.json", v2(V2_DATA, datatype="fp32"), 400,
     DTYPE + " 'fp32'"),
    ("v2_wrong_shape.json", v2("[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]",
                               shape="[2, 5]"), 400,
     "inputs[0].shape: expected [n, 4], got [2, 5]"),
    ("v2_shape_1d.json", v2(V2_DATA, shape="[8]"), 400,
     "inputs[0].shape: expected 2 dimensions [n, 4], got 1"),
    ("v2_shape_3d.json", v2(V2_DATA, shape="[1, 2, 4]"), 400,
     "inputs[0].shape: expected 2 dimensions [n, 4], got 3"),
    ("v2_shape_negative.json", v2(V2_DATA, shape="[-1, 4]"), 400,
     "inputs[0].shape[0]: expected a non-negative integer"),
    ("v2_shape_fraction.json", v2(V2_DATA, shape="[2, 4.5]"), 400,
     "inputs[0].shape[1]: expected a non-negative integer"),
    ("v2_shape_zero_rows.json", v2("[]", shape="[0, 4]"), 400,
     "inputs[0].shape: expected 1 to 1000 rows, got 0"),
    ("v2_huge_batch.json", v2(V2_DATA, shape="[1000000, 4]"), 413,
     "inputs[0].shape: expected 1 to 1000 rows, got 1000000"),
    ("v2_count_short.json", v2("[1, 2, 3, 4, 5, 6, 7]"), 400,
     "inputs[0].data: expected 8 values for shape [2, 4], got 7"),
    ("v2_count_long_nested.json",
     v2("[[1, 2, 3, 4], [5, 6, 7, 8], [9]]"), 400,
     "inputs[0].data: expected 8 values for shape [2, 4], got 9"),
    ("v2_data_string.json", v2('[1, 2, 3, "4", 5, 6, 7, 8]'), 400,
     "inputs[0].data: element 3: expected a number, got a string"),
    ("v2_data_not_array.json", v2('"1,2,3,4"'), 400,
     "inputs[0].data: expected an array, got a string"),
    ("v2_data_nan.json", v2("[1, 2, NaN, 4, 5, 6, 7, 8]"), 400, None),
    ("v2_data_overflow.json", v2("[1, 2, 3, 4, 5, 6, 7, 1e309]"), 400,
     "inputs[0].data: element 7: number out of range for FP64"),
    ("v2_fp32_overflow.json", v2("[1, 2, 1e39, 4, 5, 6, 7, 8]",
                                 datatype="FP32"), 400,
     "inputs[0].data: element 2: number out of range for FP32"),
    ("v2_int_fraction.json", v2("[1.5, 2, 3, 4, 5, 6, 7, 8]",
                                datatype="INT32"), 400,
     "inputs[0].data: element 0: expected an integer from -2147483648 to "
     "2147483647 for INT32, got 1.5"),
    ("v2_uint8_range.json", v2("[1, 2, 3, 4, 5, 256, 7, 8]",
                               datatype="UINT8"), 400,
     "inputs[0].data: element 5: expected an integer from 0 to 255 for "
     "UINT8, got 256"),
    ("v2_uint_negative.json", v2("[1, 2, 3, 4, 5, 6, -7, 8]",
                                 datatype="UINT16"), 400,
     "inputs[0].data: element 6: expected an integer from 0 to 65535 for "
     "UINT16, got -7"),
    ("v2_missing_data.json",
     '{"inputs": [{"name": "x", "shape": [2, 4], "datatype": "FP64"}]}',
     400, "inputs[0]: missing key 'data'"),
    ("v2_unknown_input_key.json",
     '{"inputs": [{"name": "x", "shape": [2, 4], "datatype": "FP64", '
     '"contents": {}, "data": %s}]}' % V2_DATA, 400,
     "inputs[0]: unknown key 'contents'"),
    ("v2_name_number.json",
     '{"inputs": [{"name": 1, "shape": [2, 4], "datatype": "FP64", '
     '"data": %s}]}' % V2_DATA, 400,
     "inputs[0].name: expected a string, got a number"),
    ("v2_unknown_output.json",
     v2(V2_DATA, extra=', "outputs": [{"name": "logits"}]'), 400,
     "outputs[0].name: unknown output 'logits' (expected probabilities, "
     "label, gate_activations or gate_weights)"),
    ("v2_duplicate_output.json",
     v2(V2_DATA, extra=', "outputs": [{"name": "label"}, '
                       '{"name": "probabilities"}, {"name": "label"}]'),
     400, "outputs: 'label' is requested twice"),
    ("v2_outputs_object.json",
     v2(V2_DATA, extra=', "outputs": {"name": "label"}'), 400,
     "outputs: expected an array, got an object"),
    ("v2_output_without_name.json",
     v2(V2_DATA, extra=', "outputs": [{"parameters": {}}]'), 400,
     "outputs[0].name: expected a string, got nothing"),
    ("v2_id_number.json", v2(V2_DATA, extra=', "id": 7'), 400,
     "id: expected a string, got a number"),
    ("v2_id_too_long.json", v2(V2_DATA, extra=', "id": "%s"' % ("i" * 1025)),
     400, "id: longer than 1024 bytes"),
    ("v2_parameters_array.json", v2(V2_DATA, extra=', "parameters": []'),
     400, "parameters: expected an object, got an array"),
]


def reject_constant(name):
    raise ValueError(name)


def json_message(body):
    """The message for malformed JSON, located by Python's json module.

    Python accepts NaN and Infinity; those are found by their text.
    """
    try:
        json.loads(body, parse_constant=reject_constant)
    except json.JSONDecodeError as e:
        pos = e.pos
    except ValueError as e:
        pos = body.index(str(e))
    else:
        raise AssertionError("valid JSON: %r" % body[:40])
    line = body.count("\n", 0, pos) + 1
    column = pos - (body.rfind("\n", 0, pos) + 1) + 1
    c = body[pos]
    what = "'%s'" % c if " " < c < "\x7f" else "byte 0x%02x" % ord(c)
    return NOT_JSON + "unexpected %s at line %d, column %d" % (what, line,
                                                               column)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "MANIFEST.tsv"), "w") as manifest:
        manifest.write("# file\tstatus\texact message "
                       "(written by tests/api/make_bad.py)\n")
        for name, body, status, message in CASES:
            with open(os.path.join(out, name), "wb") as f:
                f.write(body.encode())
            if message is None:
                message = json_message(body)
            manifest.write("%s\t%d\t%s\n" % (name, status, message))
    print(len(CASES), "cases")


if __name__ == "__main__":
    main()
