/* SPDX-License-Identifier: MIT */
/*
 * test_model.c - the model object: validation of moe_model_create with
 * its exact messages, dtype conversion, names, error prefixes.
 */
#include <check.h>
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "test_support.h"

/* A valid spec of d = 3, E = 2, K = 3 whose arrays the test may poke. */
struct fixture {
	double gw[6], gb[2], ew[18], eb[6], mean[3], scale[3];
	const char *classes[3];
	const char *features[3];
	struct moe_model_spec spec;
};

static void fixture_init(struct fixture *f)
{
	memset(f, 0, sizeof(*f));
	for (int i = 0; i < 6; i++)
		f->gw[i] = 0.25 * i - 0.5;
	for (int i = 0; i < 18; i++)
		f->ew[i] = 0.125 * (i % 5) - 0.25;
	for (int i = 0; i < 6; i++)
		f->eb[i] = 0.1 * i;
	f->gb[0] = 1;
	f->gb[1] = -1;
	for (int i = 0; i < 3; i++) {
		f->mean[i] = i;
		f->scale[i] = 1 + i;
	}
	f->classes[0] = "setosa";
	f->classes[1] = "versicolor";
	f->classes[2] = "virginica";
	f->features[0] = "a";
	f->features[1] = "b";
	f->features[2] = "c";
	f->spec = (struct moe_model_spec){
	    .name = "iris",
	    .description = "test",
	    .dtype = MOE_DTYPE_F64,
	    .n_features = 3,
	    .n_experts = 2,
	    .n_classes = 3,
	    .gate = {MOE_GATE_SIGMOID, MOE_SCORE_EUCLIDEAN, 1.0, 0},
	    .features = f->features,
	    .classes = f->classes,
	    .gate_weight = f->gw,
	    .gate_bias = f->gb,
	    .expert_weight = f->ew,
	    .expert_bias = f->eb,
	    .mean = f->mean,
	    .scale = f->scale,
	};
}

static void expect_error(const struct moe_model_spec *spec, int code,
                         const char *message)
{
	struct moe_model *m = NULL;
	struct moe_error err = {{0}};

	ck_assert_int_eq(moe_model_create(spec, &m, &err), code);
	ck_assert_ptr_null(m);
	ck_assert_str_eq(err.message, message);
}

START_TEST(test_create_valid)
{
	struct fixture f;
	struct moe_model *m = NULL;
	struct moe_error err = {{0}};

	fixture_init(&f);
	ck_assert_int_eq(moe_model_create(&f.spec, &m, &err), 0);
	ck_assert_str_eq(m->name, "iris");
	ck_assert_str_eq(m->classes[2], "virginica");
	ck_assert_str_eq(m->features[1], "b");
	ck_assert_uint_eq(m->n_features, 3);
	ck_assert_double_eq(((const double *)m->params.expert_weight)[17],
	                    f.ew[17]);
	ck_assert_double_eq(((const double *)m->params.scale)[2], 3);
	ck_assert_int_eq(m->mapped, 0);

	/* The spec's memory is not kept. */
	f.classes[0] = "changed";
	f.ew[0] = 99;
	ck_assert_str_eq(m->classes[0], "setosa");
	ck_assert_double_eq(((const double *)m->params.expert_weight)[0],
	                    -0.25);
	moe_model_free(m);

	/* No names, no standardization, no name: all fine. */
	f.spec.features = NULL;
	f.spec.mean = f.spec.scale = NULL;
	f.spec.name = f.spec.description = NULL;
	ck_assert_int_eq(moe_model_create(&f.spec, &m, &err), 0);
	ck_assert_ptr_null(m->features);
	ck_assert_ptr_null(m->params.mean);
	ck_assert_str_eq(m->name, "");
	moe_model_free(m);
	moe_model_free(NULL);
}
END_TEST

START_TEST(test_create_errors)
{
	struct fixture f;

	fixture_init(&f);
	f.spec.gate.temperature = 0;
	expect_error(&f.spec, -EINVAL,
	             "gate.temperature: must be a finite number > 0, got 0");
	f.spec.gate.temperature = -2;
	expect_error(&f.spec, -EINVAL,
	             "gate.temperature: must be a finite number > 0, got -2");
	f.spec.gate.temperature = INFINITY;
	expect_error(&f.spec, -EINVAL,
	             "gate.temperature: must be a finite number > 0, got inf");
	f.spec.gate.temperature = 0.5;

	f.spec.gate.top_k = 3;
	expect_error(&f.spec, -EINVAL,
	             "gate.top_k: 3 is more than the 2 experts");
	f.spec.gate.top_k = 2;

	f.classes[2] = "setosa";
	expect_error(&f.spec, -EINVAL, "classes[2]: duplicate name 'setosa'");
	f.classes[2] = "";
	expect_error(&f.spec, -EINVAL, "classes[2]: empty name");
	f.classes[2] = "virginica";
	f.features[2] = "a";
	expect_error(&f.spec, -EINVAL, "features[2]: duplicate name 'a'");
	f.features[2] = "c";

	f.spec.n_classes = 1;
	expect_error(&f.spec, -EINVAL,
	             "classes (K): 1, must be between 2 and 65536");
	f.spec.n_classes = 3;
	f.spec.n_experts = 0;
	expect_error(&f.spec, -EINVAL,
	             "experts (E): 0, must be between 1 and 4096");
	f.spec.n_experts = 2;

	f.spec.gate.kind = 7;
	expect_error(&f.spec, -EINVAL, "gate.kind: must be sigmoid or softmax");
	f.spec.gate.kind = MOE_GATE_SOFTMAX;
}
END_TEST

START_TEST(test_create_value_errors)
{
	struct fixture f;

	fixture_init(&f);
	f.gw[5] = NAN;
	expect_error(&f.spec, -EINVAL,
	             "gate.weight[1][2]: not a finite number");
	f.gw[5] = 0;
	f.ew[3 * 3 + 1] = -INFINITY;
	expect_error(&f.spec, -EINVAL,
	             "experts.weight[1][0][1]: not a finite number");
	f.ew[3 * 3 + 1] = 0;
	f.eb[4] = NAN;
	expect_error(&f.spec, -EINVAL,
	             "experts.bias[1][1]: not a finite number");
	f.eb[4] = 0;
	f.scale[2] = 0;
	expect_error(&f.spec, -EINVAL, "standardize.scale[2]: must not be 0");
	f.scale[2] = 1;
	f.mean[0] = NAN;
	expect_error(&f.spec, -EINVAL,
	             "standardize.mean[0]: not a finite number");
	f.mean[0] = 0;
	f.spec.scale = NULL;
	expect_error(&f.spec, -EINVAL,
	             "standardize: needs both mean and scale");
	f.spec.scale = f.scale;

	f.spec.dtype = MOE_DTYPE_F32;
	f.gb[1] = 1e300;
	expect_error(&f.spec, -EINVAL,
	             "gate.bias[1]: 1e+300 does not fit in F32");
}
END_TEST

START_TEST(test_convert)
{
	struct fixture f;
	struct moe_model *m, *m32, *back, *bad;
	struct moe_error err = {{0}};

	fixture_init(&f);
	f.ew[7] = 0.1; /* not a float: rounds */
	ck_assert_int_eq(moe_model_create(&f.spec, &m, &err), 0);
	ck_assert_int_eq(moe_model_convert(m, MOE_DTYPE_F32, &m32, &err), 0);
	ck_assert_int_eq(m32->dtype, MOE_DTYPE_F32);
	ck_assert_str_eq(m32->classes[1], "versicolor");
	ck_assert_str_eq(m32->features[2], "c");
	ck_assert_int_eq(m32->gate.score, MOE_SCORE_EUCLIDEAN);
	ck_assert(((const float *)m32->params.expert_weight)[7] == 0.1f);
	ck_assert(((const float *)m32->params.scale)[1] == 2.0f);

	ck_assert_int_eq(moe_model_convert(m32, MOE_DTYPE_F64, &back, &err), 0);
	/* F32 -> F64 is exact: the float's value, not 0.1. */
	ck_assert(((const double *)back->params.expert_weight)[7] ==
	          (double)0.1f);
	for (int i = 0; i < 18; i++)
		if (i != 7)
			ck_assert(
			    ((const double *)back->params.expert_weight)[i] ==
			    f.ew[i]);
	ck_assert(((const double *)back->params.mean)[2] == 2.0);

	/* A value past the float range cannot be converted. */
	f.ew[17] = -1e39;
	moe_model_free(m);
	ck_assert_int_eq(moe_model_create(&f.spec, &m, &err), 0);
	ck_assert_int_eq(moe_model_convert(m, MOE_DTYPE_F32, &bad, &err),
	                 -EINVAL);
	ck_assert_str_eq(err.message,
	                 "experts.weight[1][2][2]: -1e+39 does not fit in F32");

	moe_model_free(m);
	moe_model_free(m32);
	moe_model_free(back);
}
END_TEST

START_TEST(test_names_and_prefix)
{
	struct moe_error err;

	ck_assert_str_eq(moe_dtype_name(MOE_DTYPE_F64), "F64");
	ck_assert_str_eq(moe_dtype_name(MOE_DTYPE_F32), "F32");
	ck_assert_str_eq(moe_gate_kind_name(MOE_GATE_SIGMOID), "sigmoid");
	ck_assert_str_eq(moe_gate_kind_name(MOE_GATE_SOFTMAX), "softmax");
	ck_assert_str_eq(moe_score_name(MOE_SCORE_INNER), "inner");
	ck_assert_str_eq(moe_score_name(MOE_SCORE_EUCLIDEAN), "euclidean");
	ck_assert_str_eq(moe_format_name(MOE_FORMAT_JSON), "json");
	ck_assert_str_eq(moe_format_name(MOE_FORMAT_SAFETENSORS),
	                 "safetensors");
	ck_assert_uint_eq(moe_dtype_size(MOE_DTYPE_F32), 4);
	ck_assert_uint_eq(moe_dtype_size(MOE_DTYPE_F64), 8);

	ck_assert_int_eq(moe_fail(&err, -EINVAL, "x[%d]: bad", 3), -EINVAL);
	ck_assert_str_eq(err.message, "x[3]: bad");
	moe_prefix(&err, "iris.json");
	ck_assert_str_eq(err.message, "iris.json: x[3]: bad");
	ck_assert_int_eq(moe_fail(NULL, -ENOMEM, "ignored"), -ENOMEM);
	moe_prefix(NULL, "nothing");

	/* A long message is cut, never overflowed. */
	memset(err.message, 'a', sizeof(err.message) - 1);
	err.message[sizeof(err.message) - 1] = '\0';
	moe_prefix(&err, "file.json");
	ck_assert_uint_eq(strlen(err.message), sizeof(err.message) - 1);
	ck_assert(strncmp(err.message, "file.json: aaa", 14) == 0);
}
END_TEST

static Suite *model_suite(void)
{
	Suite *s = suite_create("model");
	TCase *tc = tcase_create("model");

	tcase_add_test(tc, test_create_valid);
	tcase_add_test(tc, test_create_errors);
	tcase_add_test(tc, test_create_value_errors);
	tcase_add_test(tc, test_convert);
	tcase_add_test(tc, test_names_and_prefix);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return ts_run(model_suite());
}
