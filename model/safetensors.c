/* SPDX-License-Identifier: MIT */
/* placeholder until written */
typedef int moe_safetensors_placeholder;
