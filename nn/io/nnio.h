/* nnio.h - petri's model formats: its own model files and ONNX.
 *
 * A model (nn_model) is a graph with its weights, BN running statistics,
 * costs, metrics and lineage: a plain value, freed with nn_model_free.
 * This module sits on top of the engine (nn.h) and only uses its public
 * API; the engine never calls into it.
 *
 *   model.c        the model value, model <-> planned net, petri's own
 *                  record (MessagePack, "PETRIMDL")
 *   msgpack.c      the bounded structural check before any MessagePack
 *                  record is unpacked (models, store records, frontier)
 *   onnx_export.c  model -> ONNX
 *   onnx_import.c  ONNX -> model, a table of op handlers
 *   file.c         files: the format is chosen by path and content
 *
 * Every function returns 0 or a negative NN_E* code (nn_strerror); details
 * go to the caller's error buffer where one is taken.
 */
#ifndef NNIO_H
#define NNIO_H

#include "nn.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- models ----
 * One record: ["PETRIMDL", version, {map}, check], the check a CRC-32C of
 * the bytes before it (nn/rec), verified before anything is decoded.
 * Weights and BN running statistics are raw little-endian float32 (bin).
 * See model.c for fields. */
#define NN_MODEL_MAGIC "PETRIMDL"
#define NN_MODEL_VERSION 2
typedef struct {
	float val_acc, val_loss, test_acc, test_loss;
	double epochs;
} nn_metrics;
typedef struct {
	char id[40];       /* this model's id ("" when not in a store) */
	char parent[40];   /* parent model id ("" for a seed) */
	char grown[256];   /* what growth added, e.g. "target 12: sep3x3(5)+dil3x3(9)" */
	char search[40];   /* search (experiment) id */
	int depth;         /* growth steps from the seed */
	double input_scale; /* the input scale it was trained with (nn.h: inputs
			     * are the data file's values times it); 0: unknown,
			     * in files written before petri recorded it */
} nn_lineage;
typedef struct {
	nn_graph g;
	float *params, *state;
	size_t nparams, nstate;
	nn_cost cost;
	nn_metrics metrics;
	nn_lineage lineage;
	char data[256];    /* data set the model was trained on */
	int imported;      /* 1: read from ONNX, so its graph has no growth roles
			    * (see grow_mark); not stored in petri's files */
} nn_model;

void nn_model_free(nn_model *m);
/* Copy graph, parameters and state out of a net (costs computed, latency 0). */
int nn_model_from_net(nn_model *m, nn_net *net);
/* Plan a net for batch and load the model's weights into it. */
int nn_model_to_net(const nn_model *m, int batch, nn_net **net, char *err, size_t errlen);
/* Encode: *buf is malloc'd. Decode: checks structure, bounds, magic, version,
 * op ids and that the weights fit the planned graph; nothing partial is
 * returned on error. */
int nn_model_encode(const nn_model *m, char **buf, size_t *len);
int nn_model_decode(nn_model *m, const void *buf, size_t len, char *err, size_t errlen);

/* ---- ONNX ----
 * Encode: opset 13, input "input" [N,C,H,W] float32 (the data file's values
 * times the model's input scale, written in the metadata as "input_scale"),
 * output "logits" [N,classes]; *buf is malloc'd. Decode: the supported ops (see
 * onnx_import.c) with their weights and BN statistics; errors name the ONNX
 * node and op; nothing partial is returned on error. The decoded graph has
 * no growth roles (m->imported is set); its input scale is the metadata's
 * "input_scale" when present, else 0 (unknown). */
int nn_onnx_encode(const nn_model *m, char **buf, size_t *len, char *err, size_t errlen);
int nn_onnx_decode(nn_model *m, const void *buf, size_t len, char *err, size_t errlen);

/* ---- files ----
 * save writes a temporary file beside path, fsyncs and renames (atomic);
 * both use ONNX for paths ending in ".onnx", load also for any file that is
 * not a petri model. Errors name the file. */
int nn_model_save(const nn_model *m, const char *path, char *err, size_t errlen);
int nn_model_load(nn_model *m, const char *path, char *err, size_t errlen);
/* 1 when path ends in ".onnx" */
int nn_is_onnx_path(const char *path);

/* Check that buf holds exactly one well-formed MessagePack value whose
 * declared sizes fit in len and nest at most depth levels: safe to unpack. */
int nn_msgpack_check(const void *buf, size_t len, int depth);

#ifdef __cplusplus
}
#endif
#endif
