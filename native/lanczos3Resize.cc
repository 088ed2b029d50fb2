// MlopsLanczos3Resize: the JPEG graph's resize (tf.image.resize(..., 'lanczos3', antialias=True), that is
// ScaleAndTranslate with scale = output size / input size and no translation) computed as TensorFlow 2.9's CPU kernel
// computes it: the same spans and weights, and every output value the same float sum in the same order (0, then
// weight * input added tap by tap, a multiply and an add each rounded), so the bytes are the same
// (test/unit/jpegResize.test.ts). TensorFlow's kernel runs its loops one value at a time; these run along whole rows
// (the column pass on the transposed intermediate) so the compiler vectorizes them, without FMA (-ffp-contract=off).
// Built by scripts/build-native.sh as a Node addon whose load registers the op (core/ml/tfOps.ts loads it). Buffers
// are kept per thread between calls: allocated per call, the op saved nothing in the API (bench/README.md).
#include <node_api.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "tensorflow/c/kernels.h"
#include "tensorflow/c/ops.h"
#include "tensorflow/c/tf_status.h"
#include "tensorflow/c/tf_tensor.h"

namespace {

constexpr char kOp[] = "MlopsLanczos3Resize";
constexpr float kRadius = 3.0f;

float Lanczos3(float x) {
  constexpr float kPi = 3.14159265359f;
  x = std::fabs(x);
  if (x > kRadius) return 0.0f;
  if (x <= 1e-3) return 1.0f;
  return kRadius * std::sin(kPi * x) * std::sin(kPi * x / kRadius) / (kPi * kPi * x * x);
}

struct Spans {
  int size = 0;
  std::vector<int32_t> starts;
  std::vector<float> weights;
};

// TensorFlow's ComputeSpansCore for the lanczos3 kernel with antialiasing and no translation.
bool ComputeSpans(int64_t out_size, int64_t in_size, float scale, Spans* spans) {
  const float inv_scale = 1.0 / scale;
  const float inv_translate = -inv_scale * 0.0f;
  const float kernel_scale = std::max(inv_scale, 1.0f);
  spans->size = std::min(2 * static_cast<int>(std::ceil(kRadius * kernel_scale)) + 1, static_cast<int>(in_size));
  spans->starts.assign(out_size, 0);
  spans->weights.assign(out_size * spans->size, 0.0f);
  const float one_over_kernel_scale = 1.0f / kernel_scale;
  std::vector<float> weights;
  for (int64_t x = 0; x < out_size; ++x) {
    const float sample_f = (x + 0.5f) * inv_scale + inv_translate;
    if (sample_f < 0 || sample_f > in_size) continue;
    int64_t start = std::ceil(sample_f - kRadius * kernel_scale - 0.5f);
    int64_t end = std::floor(sample_f + kRadius * kernel_scale - 0.5f);
    start = std::clamp<int64_t>(start, 0, in_size - 1);
    end = std::clamp<int64_t>(end, 0, in_size - 1) + 1;
    if (end - start > spans->size) return false;
    float total = 0.0f;
    weights.clear();
    for (int64_t source = start; source < end; ++source) {
      const float position = static_cast<float>(source) + 0.5f - sample_f;
      const float weight = Lanczos3(std::fabs(position * one_over_kernel_scale));
      total += weight;
      weights.push_back(weight);
    }
    if (std::fabs(total) >= 1000.0f * FLT_MIN) {
      const float one_over_total = 1.0f / total;
      for (size_t i = 0; i < weights.size(); ++i) spans->weights[x * spans->size + i] = weights[i] * one_over_total;
    }
    spans->starts[x] = static_cast<int32_t>(start);
  }
  return true;
}

// out[o][0..len) = 0 + w[o][0] * in[start[o]][..] + w[o][1] * in[start[o] + 1][..] + ..., within the input.
__attribute__((target_clones("avx2", "default"))) void Gather(const Spans& spans, int64_t out_size, int64_t in_size,
                                                                const float* __restrict in, int64_t len,
                                                                float* __restrict out) {
  for (int64_t o = 0; o < out_size; ++o) {
    float* __restrict acc = out + o * len;
    std::fill(acc, acc + len, 0.0f);
    const int64_t start = spans.starts[o];
    const int64_t taps = std::min<int64_t>(start + spans.size, in_size) - start;
    for (int64_t k = 0; k < taps; ++k) {
      const float w = spans.weights[o * spans.size + k];
      const float* __restrict row = in + (start + k) * len;
      for (int64_t i = 0; i < len; ++i) acc[i] += w * row[i];
    }
  }
}

void Fail(TF_OpKernelContext* ctx, TF_Code code, const char* message) {
  TF_Status* status = TF_NewStatus();
  TF_SetStatus(status, code, message);
  TF_OpKernelContext_Failure(ctx, status);
  TF_DeleteStatus(status);
}

void Compute(void*, TF_OpKernelContext* ctx) {
  TF_Status* status = TF_NewStatus();
  TF_Tensor* images = nullptr;
  TF_Tensor* size = nullptr;
  TF_Tensor* output = nullptr;
  TF_GetInput(ctx, 0, &images, status);
  if (TF_GetCode(status) == TF_OK) TF_GetInput(ctx, 1, &size, status);
  if (TF_GetCode(status) != TF_OK) {
    TF_OpKernelContext_Failure(ctx, status);
  } else if (TF_NumDims(images) != 4 || TF_NumDims(size) != 1 || TF_Dim(size, 0) != 2) {
    Fail(ctx, TF_INVALID_ARGUMENT, "MlopsLanczos3Resize takes images [batch, height, width, channels] and size [2]");
  } else {
    const int64_t batch = TF_Dim(images, 0), height = TF_Dim(images, 1), width = TF_Dim(images, 2), channels = TF_Dim(images, 3);
    const int32_t* out_size = static_cast<const int32_t*>(TF_TensorData(size));
    const int64_t out_height = out_size[0], out_width = out_size[1];
    Spans rows, columns;
    if (height <= 0 || width <= 0 || channels <= 0 || out_height <= 0 || out_width <= 0) {
      Fail(ctx, TF_INVALID_ARGUMENT, "MlopsLanczos3Resize needs non-empty images and a positive size");
    } else if (!ComputeSpans(out_height, height, static_cast<float>(out_height) / static_cast<float>(height), &rows) ||
               !ComputeSpans(out_width, width, static_cast<float>(out_width) / static_cast<float>(width), &columns)) {
      Fail(ctx, TF_INTERNAL, "MlopsLanczos3Resize: a span is too large");
    } else {
      const int64_t dims[4] = {batch, out_height, out_width, channels};
      const int64_t values = batch * out_height * out_width * channels;
      output = TF_AllocateOutput(ctx, 0, TF_FLOAT, dims, 4, values * sizeof(float), status);
      if (TF_GetCode(status) != TF_OK) {
        TF_OpKernelContext_Failure(ctx, status);
      } else {
        thread_local std::vector<float> image, intermediate, by_column, resized;
        image.resize(height * width * channels);
        intermediate.resize(out_height * width * channels);
        by_column.resize(width * out_height * channels);
        resized.resize(out_width * out_height * channels);
        const uint8_t* in = static_cast<const uint8_t*>(TF_TensorData(images));
        float* out = static_cast<float*>(TF_TensorData(output));
        for (int64_t b = 0; b < batch; ++b) {
          const uint8_t* frame = in + b * height * width * channels;
          for (size_t i = 0; i < image.size(); ++i) image[i] = frame[i];
          Gather(rows, out_height, height, image.data(), width * channels, intermediate.data());
          for (int64_t y = 0; y < out_height; ++y)
            for (int64_t x = 0; x < width; ++x)
              std::memcpy(&by_column[(x * out_height + y) * channels], &intermediate[(y * width + x) * channels], channels * sizeof(float));
          Gather(columns, out_width, width, by_column.data(), out_height * channels, resized.data());
          float* target = out + b * out_height * out_width * channels;
          for (int64_t x = 0; x < out_width; ++x)
            for (int64_t y = 0; y < out_height; ++y)
              std::memcpy(&target[(y * out_width + x) * channels], &resized[(x * out_height + y) * channels], channels * sizeof(float));
        }
      }
    }
  }
  if (images) TF_DeleteTensor(images);
  if (size) TF_DeleteTensor(size);
  if (output) TF_DeleteTensor(output);
  TF_DeleteStatus(status);
}

void UnknownShape(TF_ShapeInferenceContext* ctx, TF_Status* status) { TF_ShapeInferenceContextSetUnknownShape(ctx, status); }

void* Create(TF_OpKernelConstruction*) { return nullptr; }
void Delete(void*) {}

bool Register() {
  TF_Status* status = TF_NewStatus();
  TF_OpDefinitionBuilder* op = TF_NewOpDefinitionBuilder(kOp);
  TF_OpDefinitionBuilderAddInput(op, "images: uint8");
  TF_OpDefinitionBuilderAddInput(op, "size: int32");
  TF_OpDefinitionBuilderAddOutput(op, "resized: float");
  TF_OpDefinitionBuilderSetShapeInferenceFunction(op, &UnknownShape);
  TF_RegisterOpDefinition(op, status);
  bool ok = TF_GetCode(status) == TF_OK;
  if (ok) {
    TF_KernelBuilder* kernel = TF_NewKernelBuilder(kOp, "CPU", &Create, &Compute, &Delete);
    TF_KernelBuilder_HostMemory(kernel, "size");
    TF_RegisterKernelBuilder(kOp, kernel, status);
    ok = TF_GetCode(status) == TF_OK;
  }
  TF_DeleteStatus(status);
  return ok;
}

}  // namespace

// The addon's exports: { op: 'MlopsLanczos3Resize' } once registered (a second load in the process registers nothing).
NAPI_MODULE_INIT() {
  static const bool registered = Register();
  napi_value name;
  if (registered && napi_create_string_utf8(env, kOp, NAPI_AUTO_LENGTH, &name) == napi_ok)
    napi_set_named_property(env, exports, "op", name);
  return exports;
}
