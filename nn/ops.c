/* ops.c - the op table (ops.h): one entry per op id, indexed by the
 * append-only enum of nn.h. */
#include "ops.h"

#include <math.h>
#include <string.h>

const nn_op_def nn_ops[NN_OP__COUNT] = {
	[NN_OP_INPUT] = { "input", 0, 0, nn_plan_input, NULL, NULL, NULL, nn_fwd_input, NULL },
	[NN_OP_CONV] = { "conv", 1, NN_OPF_STORE | NN_OPF_HEAVY | NN_OPF_DECAY | NN_OPF_BIAS, nn_plan_conv, nn_init_conv,
			 nn_scratch_conv, nn_cache_conv, nn_fwd_conv, nn_bwd_conv },
	[NN_OP_BN] = { "bn", 1, NN_OPF_STORE | NN_OPF_HEAVY | NN_OPF_BN, nn_plan_bn, nn_init_bn, NULL, NULL, NULL, NULL },
	[NN_OP_RELU] = { "relu", 1, NN_OPF_STORE, nn_plan_same, NULL, NULL, NULL, nn_fwd_relu, nn_bwd_relu },
	[NN_OP_MAXPOOL] = { "maxpool", 1, NN_OPF_STORE | NN_OPF_HEAVY, nn_plan_pool, NULL, NULL, NULL, nn_fwd_pool,
			    nn_bwd_pool },
	[NN_OP_AVGPOOL] = { "avgpool", 1, NN_OPF_HEAVY, nn_plan_pool, NULL, NULL, NULL, nn_fwd_pool, nn_bwd_pool },
	[NN_OP_IDENTITY] = { "identity", 1, NN_OPF_STORE, nn_plan_same, NULL, NULL, NULL, nn_fwd_copy, nn_bwd_pass },
	[NN_OP_FACTRED] = { "factred", 1, NN_OPF_HEAVY | NN_OPF_DECAY, nn_plan_factred, nn_init_factred,
			    nn_scratch_factred, NULL, nn_fwd_factred, nn_bwd_factred },
	[NN_OP_SUM] = { "sum", -1, NN_OPF_STORE, nn_plan_merge, NULL, NULL, NULL, nn_fwd_sum, nn_bwd_sum },
	[NN_OP_CONCAT] = { "concat", -1, 0, nn_plan_merge, NULL, NULL, NULL, nn_fwd_concat, nn_bwd_concat },
	[NN_OP_GATE] = { "gate", 1, 0, nn_plan_gate, nn_init_gate, NULL, NULL, nn_fwd_gate, nn_bwd_gate },
	[NN_OP_STOPGRAD] = { "stopgrad", 1, 0, nn_plan_same, NULL, NULL, NULL, nn_fwd_copy, NULL },
	[NN_OP_STOPFWD] = { "stopfwd", 1, NN_OPF_STORE, nn_plan_same, NULL, NULL, NULL, nn_fwd_zero, nn_bwd_pass },
	[NN_OP_GAP] = { "gap", 1, NN_OPF_STORE, nn_plan_gap, NULL, NULL, NULL, nn_fwd_gap, nn_bwd_gap },
	[NN_OP_LINEAR] = { "linear", 1, NN_OPF_STORE | NN_OPF_MACS | NN_OPF_DECAY | NN_OPF_BIAS | NN_OPF_WT,
			   nn_plan_linear, nn_init_linear, nn_scratch_linear, NULL, nn_fwd_linear, nn_bwd_linear },
	[NN_OP_CLIP] = { "clip", 1, NN_OPF_STORE, nn_plan_act, NULL, NULL, NULL, nn_fwd_act, nn_bwd_act },
	[NN_OP_SIGMOID] = { "sigmoid", 1, NN_OPF_STORE, nn_plan_act, NULL, NULL, NULL, nn_fwd_act, nn_bwd_act },
	[NN_OP_HSIGMOID] = { "hsigmoid", 1, NN_OPF_STORE, nn_plan_act, NULL, NULL, NULL, nn_fwd_act, nn_bwd_act },
	[NN_OP_HSWISH] = { "hswish", 1, NN_OPF_STORE, nn_plan_act, NULL, NULL, NULL, nn_fwd_act, nn_bwd_act },
	[NN_OP_SILU] = { "silu", 1, NN_OPF_STORE, nn_plan_act, NULL, NULL, NULL, nn_fwd_act, nn_bwd_act },
	[NN_OP_MUL] = { "mul", 2, NN_OPF_STORE, nn_plan_mul, NULL, NULL, NULL, nn_fwd_mul, nn_bwd_mul },
	[NN_OP_PAD] = { "pad", 1, NN_OPF_STORE, nn_plan_pad, NULL, NULL, NULL, nn_fwd_pad, nn_bwd_pad },
	[NN_OP_SHUFFLE] = { "shuffle", 1, NN_OPF_STORE, nn_plan_shuffle, NULL, NULL, NULL, nn_fwd_shuffle,
			    nn_bwd_shuffle },
	[NN_OP_SLICE] = { "slice", 1, 0, nn_plan_slice, NULL, NULL, NULL, nn_fwd_slice, nn_bwd_slice },
};
_Static_assert(NN_OP__COUNT == 24, "op ids are append-only: add the new op's entry above");

int nn_op_known(int op)
{
	return op >= 0 && op < NN_OP__COUNT && nn_ops[op].name && nn_ops[op].plan;
}

const char *nn_op_name(int op)
{
	return nn_op_known(op) ? nn_ops[op].name : "unknown";
}

int nn_op_from_name(const char *name)
{
	for (int i = 0; i < NN_OP__COUNT; i++)
		if (nn_op_known(i) && !strcmp(nn_ops[i].name, name))
			return i;
	return -1;
}

void nn_init_weights(float *w, size_t nw, size_t plen, size_t fan_in, int uniform, nn_rng *r)
{
	float sd = sqrtf(2.0f / (float)fan_in);
	for (size_t j = 0; j < nw; j++)
		w[j] = uniform ? (2 * nn_rng_uniform(r) - 1) / sqrtf((float)fan_in) : sd * nn_rng_normal(r);
	for (size_t j = nw; j < plen; j++)
		w[j] = 0;
}
