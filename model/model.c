/* SPDX-License-Identifier: MIT */
/* placeholder until written */
typedef int moe_model_placeholder;
