/* onnx_impl.h - what ONNX export and import share: the messages that
 * protoc-c generates at build time from the onnx.proto schema of Debian's
 * libonnx-dev (see CMakeLists.txt), and the numbers petri writes. */
#ifndef ONNX_IMPL_H
#define ONNX_IMPL_H

#include "nnio.h"
#include "onnx.pb-c.h"

#define ONNX_OPSET 13 /* written; opsets 9 to 21 are read */
#define ONNX_IR 7
#define ONNX_FLOAT 1  /* TensorProto data types */
#define ONNX_INT64 7

#endif
