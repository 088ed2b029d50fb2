// The image characteristics of core/features/imageCharacteristics.ts (colour statistics, Canny edge count, GLCM
// properties, FAST-9 keypoint count) computed the same way in C++, so the values are the same bit for bit
// (test/unit/characteristicsNative.test.ts): the integer steps are integer steps, the floating-point ones the same
// double operations in the same order (built with -ffp-contract=off, no FMA), and the tables that Math.pow and
// Math.cbrt fill come from the TypeScript module (init), since libm's pow and cbrt may round otherwise. The analysis
// threads call it instead of the TypeScript when scripts/build-native.sh has built it: it takes less than half the
// time (bench/README.md, issue 26's twelfth stop). Buffers and the colour cache are kept per thread.
#include <node_api.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <vector>

namespace {

constexpr int kCannyLow = 50;
constexpr int kCannyHigh = 100;
constexpr int kGlcmDistance = 5;
constexpr int kFastThreshold = 20;
constexpr int kFastArc = 9;
constexpr int kLabFSteps = 16384;
constexpr int kOpenCvLScale = 296;
constexpr int kHsvShift = 12;
constexpr int kHsvRound = 1 << (kHsvShift - 1);
constexpr int kColourCacheBits = 16;
constexpr int kFields = 22;

struct Tables {
  double rToXyz[3 * 256];
  double gToXyz[3 * 256];
  double bToXyz[3 * 256];
  double labF[kLabFSteps + 2];
  int32_t hsvSDiv[256];
  int32_t hsvHDiv[256];
};
Tables tables;
std::once_flag tablesSet;
bool tablesReady = false;

// ---------------------------------------------------------------------------------------------------------------
// Colour statistics

// JavaScript's `v | 0` for |v| < 2^31 is truncation toward zero, as the cast.
inline int RoundToByte(double v) {
  const int truncated = static_cast<int>(v);
  const int rounded = truncated + static_cast<int>((v - truncated) * 2);
  return rounded < 0 ? 0 : rounded > 255 ? 255 : rounded;
}

inline double LabFInterpolated(double t) {
  const double pos = t * kLabFSteps;
  const int i = static_cast<int>(pos);
  return tables.labF[i] + (tables.labF[i + 1] - tables.labF[i]) * (pos - i);
}

inline int32_t LabOf(int red, int green, int blue) {
  const int r = 3 * red, g = 3 * green, b = 3 * blue;
  const double x = (tables.rToXyz[r] + tables.gToXyz[g] + tables.bToXyz[b]) / 0.950456;
  const double y = tables.rToXyz[r + 1] + tables.gToXyz[g + 1] + tables.bToXyz[b + 1];
  const double z = (tables.rToXyz[r + 2] + tables.gToXyz[g + 2] + tables.bToXyz[b + 2]) / 1.088754;
  const double fx = LabFInterpolated(x), fy = LabFInterpolated(y), fz = LabFInterpolated(z);
  const int l = RoundToByte(kOpenCvLScale * fy - 40.8);
  const int a = RoundToByte(500 * (fx - fy) + 128);
  const int bb = RoundToByte(200 * (fy - fz) + 128);
  return l | (a << 8) | (bb << 16);
}

inline int32_t HsvOf(int r, int g, int b) {
  const int v = std::max({r, g, b});
  const int diff = v - std::min({r, g, b});
  int h;
  if (v == r)
    h = g - b;
  else if (v == g)
    h = b - r + 2 * diff;
  else
    h = r - g + 4 * diff;
  h = (h * tables.hsvHDiv[diff] + kHsvRound) >> kHsvShift;
  if (h < 0) h += 180;
  const int s = (diff * tables.hsvSDiv[v] + kHsvRound) >> kHsvShift;
  return h | (s << 8) | (v << 16);
}

// Lab of the colours seen lately: a direct-mapped cache keyed by the 24-bit colour, each entry the colour above its
// packed Lab (L | a << 8 | b << 16), all ones when empty. A frame of the simulator has a few hundred to ten thousand
// distinct colours among its 19,200 pixels, and one colour's Lab costs three table interpolations and two divisions.
// Lab and HSV of the colours seen lately: a direct-mapped cache keyed by the 24-bit colour (768 KiB per thread), as
// in the TypeScript; entries are [colour, lab, hsv], colour -1 when empty. (Two passes, the first one vectorized, and
// 8-byte entries measured no faster.)
struct ColourCache {
  std::vector<int32_t> entries = std::vector<int32_t>(3 << kColourCacheBits, -1);
};

inline void MeanAndStd(int64_t sum, int64_t sumOfSquares, int n, double* out) {
  const double mean = static_cast<double>(sum) / n;
  out[0] = mean;
  out[1] = std::sqrt(std::max(0.0, static_cast<double>(sumOfSquares) / n - mean * mean));
}

// Fields 0..13 of IMAGE_CHARACTERISTIC_FIELDS; `gray` gets cv2's RGB -> GRAY.
void ColourStatistics(const uint8_t* src, int n, uint8_t* gray, ColourCache& colourCache, double* out) {
  int32_t* cache = colourCache.entries.data();
  int64_t sr = 0, sg = 0, sb = 0, sy = 0, qr = 0, qg = 0, qb = 0, qy = 0;
  int64_t sumL = 0, sumA = 0, sumLabB = 0, sumH = 0, sumS = 0, sumV = 0;
  for (int p = 0, i = 0; p < n; p++, i += 3) {
    const int r = src[i], g = src[i + 1], b = src[i + 2];
    const int y = (r * 9798 + g * 19235 + b * 3735 + 16384) >> 15;
    gray[p] = static_cast<uint8_t>(y);
    sr += r;
    qr += r * r;
    sg += g;
    qg += g * g;
    sb += b;
    qb += b * b;
    sy += y;
    qy += y * y;
    const int32_t colour = (r << 16) | (g << 8) | b;
    const uint32_t slot = ((static_cast<uint32_t>(colour) * 0x9e3779b1u) >> (32 - kColourCacheBits)) * 3;
    if (cache[slot] != colour) {
      cache[slot] = colour;
      cache[slot + 1] = LabOf(r, g, b);
      cache[slot + 2] = HsvOf(r, g, b);
    }
    const int32_t lab = cache[slot + 1], hsv = cache[slot + 2];
    sumL += lab & 255;
    sumA += (lab >> 8) & 255;
    sumLabB += lab >> 16;
    sumH += hsv & 255;
    sumS += (hsv >> 8) & 255;
    sumV += hsv >> 16;
  }
  MeanAndStd(sy, qy, n, out);
  MeanAndStd(sr, qr, n, out + 2);
  MeanAndStd(sg, qg, n, out + 4);
  MeanAndStd(sb, qb, n, out + 6);
  out[8] = static_cast<double>(sumL) / n;
  out[9] = static_cast<double>(sumA) / n;
  out[10] = static_cast<double>(sumLabB) / n;
  out[11] = static_cast<double>(sumH) / n;
  out[12] = static_cast<double>(sumS) / n;
  out[13] = static_cast<double>(sumV) / n;
}

// ---------------------------------------------------------------------------------------------------------------
// Buffers of one image size (the padded ones have row stride w + 2, one pixel of padding on every side).

struct Workspace {
  int width = 0, height = 0;
  std::vector<uint8_t> gray, blurred, edgeState;
  std::vector<int32_t> magnitude, candidates, stack, fastScores, fastCorners;
  std::vector<int16_t> candidateDx, candidateDy;

  void Fit(int w, int h) {
    if (w == width && h == height) return;
    width = w;
    height = h;
    const size_t n = static_cast<size_t>(w) * h, padded = static_cast<size_t>(w + 2) * (h + 2);
    gray.assign(n, 0);
    blurred.assign(padded, 0);
    edgeState.assign(padded, 0);
    magnitude.assign(padded, 0);
    candidates.assign(n, 0);
    stack.assign(n, 0);
    fastScores.assign(n, 0);
    fastCorners.assign(n, 0);
    candidateDx.assign(n, 0);
    candidateDy.assign(n, 0);
  }
};

// ---------------------------------------------------------------------------------------------------------------
// Canny edges

void GaussianBlur3Padded(Workspace& ws) {
  const int w = ws.width, h = ws.height, stride = w + 2;
  const uint8_t* gray = ws.gray.data();
  uint8_t* blurred = ws.blurred.data();
  const int leftOfFirst = std::min(1, w - 1), rightOfLast = std::max(w - 2, 0);
  for (int y = 0; y < h; y++) {
    const int row = y * w;
    const int up = (y > 0 ? y - 1 : std::min(1, h - 1)) * w;
    const int down = (y < h - 1 ? y + 1 : std::max(h - 2, 0)) * w;
    const int out = (y + 1) * stride + 1;
    int previous = gray[up + leftOfFirst] + 2 * gray[row + leftOfFirst] + gray[down + leftOfFirst];
    int current = gray[up] + 2 * gray[row] + gray[down];
    for (int x = 0; x < w - 1; x++) {
      const int next = gray[up + x + 1] + 2 * gray[row + x + 1] + gray[down + x + 1];
      blurred[out + x] = static_cast<uint8_t>((previous + 2 * current + next + 8) >> 4);
      previous = current;
      current = next;
    }
    const int next = gray[up + rightOfLast] + 2 * gray[row + rightOfLast] + gray[down + rightOfLast];
    blurred[out + w - 1] = static_cast<uint8_t>((previous + 2 * current + next + 8) >> 4);
    blurred[out - 1] = blurred[out];
    blurred[out + w] = blurred[out + w - 1];
  }
  std::memcpy(blurred, blurred + stride, stride);
  std::memcpy(blurred + (h + 1) * stride, blurred + h * stride, stride);
}

int CountCannyEdges(Workspace& ws) {
  GaussianBlur3Padded(ws);
  const int w = ws.width, h = ws.height, stride = w + 2;
  const uint8_t* img = ws.blurred.data();
  int32_t* mag = ws.magnitude.data();
  int32_t* candidates = ws.candidates.data();
  int16_t* candidateDx = ws.candidateDx.data();
  int16_t* candidateDy = ws.candidateDy.data();
  uint8_t* state = ws.edgeState.data();
  int32_t* stack = ws.stack.data();

  int candidateCount = 0;
  for (int y = 1; y <= h; y++) {
    const int first = y * stride;
    int smoothedLeft = img[first - stride] + 2 * img[first] + img[first + stride];
    int differenceLeft = img[first + stride] - img[first - stride];
    int smoothed = img[first + 1 - stride] + 2 * img[first + 1] + img[first + 1 + stride];
    int difference = img[first + 1 + stride] - img[first + 1 - stride];
    for (int m = first + 1, end = m + w; m < end; m++) {
      const int right = m + 1;
      const int smoothedRight = img[right - stride] + 2 * img[right] + img[right + stride];
      const int differenceRight = img[right + stride] - img[right - stride];
      const int gx = smoothedRight - smoothedLeft;
      const int gy = differenceLeft + 2 * difference + differenceRight;
      const int value = std::abs(gx) + std::abs(gy);
      mag[m] = value;
      if (value > kCannyLow) {
        candidates[candidateCount] = m;
        candidateDx[candidateCount] = static_cast<int16_t>(gx);
        candidateDy[candidateCount++] = static_cast<int16_t>(gy);
      }
      smoothedLeft = smoothed;
      smoothed = smoothedRight;
      differenceLeft = difference;
      difference = differenceRight;
    }
  }

  // 0 = not an edge (and the padding), 1 = weak candidate, 2 = edge.
  int top = 0;
  constexpr int64_t kTg22 = 13573;  // round(tan(22.5 deg) * 2^15), OpenCV's fixed point
  for (int k = 0; k < candidateCount; k++) {
    const int m = candidates[k];
    const int value = mag[m];
    const int gx = candidateDx[k], gy = candidateDy[k];
    const int64_t ax = std::abs(gx);
    const int64_t ay = static_cast<int64_t>(std::abs(gy)) << 15;
    const int64_t tg22x = ax * kTg22;
    bool isMax;
    if (ay < tg22x) {
      isMax = value > mag[m - 1] && value >= mag[m + 1];
    } else if (ay > tg22x + (ax << 16)) {
      isMax = value > mag[m - stride] && value >= mag[m + stride];
    } else {
      const int s = (gx ^ gy) < 0 ? -1 : 1;
      isMax = value > mag[m - stride - s] && value > mag[m + stride + s];
    }
    if (!isMax) continue;
    if (value > kCannyHigh) {
      state[m] = 2;
      stack[top++] = m;
    } else {
      state[m] = 1;
    }
  }

  int edges = top;
  while (top > 0) {
    const int m = stack[--top];
    for (int row = m - stride; row <= m + stride; row += stride) {
      for (int q = row - 1; q <= row + 1; q++) {
        if (state[q] == 1) {
          state[q] = 2;
          stack[top++] = q;
          edges++;
        }
      }
    }
  }
  std::memset(state, 0, ws.edgeState.size());
  return edges;
}

// ---------------------------------------------------------------------------------------------------------------
// GLCM texture: the sums walk the cells in use in row-major order, as the TypeScript does.

struct Glcm {
  std::vector<uint32_t> counts = std::vector<uint32_t>(256 * 256, 0);
  std::vector<uint32_t> cellsInUse = std::vector<uint32_t>(256 * 256 / 32, 0);
};

// Fields 15..20 of IMAGE_CHARACTERISTIC_FIELDS.
void GlcmProperties(const uint8_t* gray, int w, int h, Glcm& glcm, double* out) {
  const int total = 2 * h * std::max(w - kGlcmDistance, 0);
  if (total == 0) {
    out[0] = out[1] = out[2] = out[3] = out[4] = 0;
    out[5] = 1;
    return;
  }
  uint32_t* counts = glcm.counts.data();
  uint32_t* inUse = glcm.cellsInUse.data();
  for (int y = 0; y < h; y++) {
    for (int p = y * w, end = p + w - kGlcmDistance; p < end; p++) {
      const int i = gray[p], j = gray[p + kGlcmDistance];
      const int ij = (i << 8) | j, ji = (j << 8) | i;
      if (counts[ij]++ == 0) inUse[ij >> 5] |= 1u << (ij & 31);
      if (counts[ji]++ == 0) inUse[ji >> 5] |= 1u << (ji & 31);
    }
  }
  const int words = static_cast<int>(glcm.cellsInUse.size());
  double contrast = 0, dissimilarity = 0, homogeneity = 0, asm_ = 0, mean = 0;
  for (int word = 0; word < words; word++) {
    for (uint32_t bits = inUse[word]; bits != 0; bits &= bits - 1) {
      const int cell = (word << 5) | __builtin_ctz(bits);
      const int i = cell >> 8, j = cell & 255;
      const double p = static_cast<double>(counts[cell]) / total;
      const int d = i - j;
      contrast += p * d * d;
      dissimilarity += p * std::abs(d);
      homogeneity += p / (1 + d * d);
      asm_ += p * p;
      mean += p * i;
    }
  }
  double variance = 0, covariance = 0;
  for (int word = 0; word < words; word++) {
    for (uint32_t bits = inUse[word]; bits != 0; bits &= bits - 1) {
      const int cell = (word << 5) | __builtin_ctz(bits);
      const int i = cell >> 8, j = cell & 255;
      const double p = static_cast<double>(counts[cell]) / total;
      variance += p * (i - mean) * (i - mean);
      covariance += p * (i - mean) * (j - mean);
      counts[cell] = 0;
    }
    inUse[word] = 0;
  }
  const double std_ = std::sqrt(variance);
  out[0] = contrast;
  out[1] = dissimilarity;
  out[2] = homogeneity;
  out[3] = asm_;
  out[4] = std::sqrt(asm_);
  out[5] = std_ < 1e-15 ? 1 : covariance / (std_ * std_);
}

// ---------------------------------------------------------------------------------------------------------------
// FAST-9 keypoints

constexpr int kFastCircle[16][2] = {{0, 3},  {1, 3},   {2, 2},   {3, 1},   {3, 0},  {3, -1}, {2, -2}, {1, -3},
                                    {0, -3}, {-1, -3}, {-2, -2}, {-3, -1}, {-3, 0}, {-3, 1}, {-2, 2}, {-1, 3}};

struct FastSide {
  uint8_t side[511];
  FastSide() {
    for (int i = 0; i < 511; i++) side[i] = i - 255 < -kFastThreshold ? 1 : i - 255 > kFastThreshold ? 2 : 0;
  }
};
const FastSide kFastSide;

inline bool HasArcOf9(uint32_t mask16) {
  const uint32_t m = mask16 | (mask16 << 16);
  const uint32_t run2 = m & (m >> 1);
  const uint32_t run4 = run2 & (run2 >> 2);
  const uint32_t run8 = run4 & (run4 >> 4);
  return (run8 & (m >> 8)) != 0;
}

int FastScore(const int* d, int threshold) {
  int darkArc = threshold;
  for (int k = 0; k < 16; k += 2) {
    int a = d[k + 1];
    for (int j = k + 2; j <= k + 3; j++) a = std::min(a, d[j]);
    if (a <= darkArc) continue;
    for (int j = k + 4; j <= k + 8; j++) a = std::min(a, d[j]);
    darkArc = std::max({darkArc, std::min(a, d[k]), std::min(a, d[k + 9])});
  }
  int brightArc = -darkArc;
  for (int k = 0; k < 16; k += 2) {
    int b = d[k + 1];
    for (int j = k + 2; j <= k + 5; j++) b = std::max(b, d[j]);
    if (b >= brightArc) continue;
    for (int j = k + 6; j <= k + 8; j++) b = std::max(b, d[j]);
    brightArc = std::min({brightArc, std::max(b, d[k]), std::max(b, d[k + 9])});
  }
  return -brightArc - 1;
}

int CountFastKeypoints(Workspace& ws) {
  const int w = ws.width, h = ws.height;
  if (w < 7 || h < 7) return 0;
  const uint8_t* gray = ws.gray.data();
  int32_t* scores = ws.fastScores.data();
  int32_t* corners = ws.fastCorners.data();
  int o[16];
  for (int k = 0; k < 16; k++) o[k] = kFastCircle[k][1] * w + kFastCircle[k][0];
  const uint8_t* side = kFastSide.side;
  int cornerCount = 0;
  int diffs[16 + kFastArc];
  for (int y = 3; y < h - 3; y++) {
    for (int p = y * w + 3, end = y * w + w - 3; p < end; p++) {
      const uint8_t* c = gray + p;
      const int base = 255 - c[0];
      int sides = side[base + c[o[0]]] | side[base + c[o[8]]];
      if (sides == 0) continue;
      sides &= side[base + c[o[2]]] | side[base + c[o[10]]];
      sides &= side[base + c[o[4]]] | side[base + c[o[12]]];
      sides &= side[base + c[o[6]]] | side[base + c[o[14]]];
      if (sides == 0) continue;
      sides &= side[base + c[o[1]]] | side[base + c[o[9]]];
      sides &= side[base + c[o[3]]] | side[base + c[o[11]]];
      sides &= side[base + c[o[5]]] | side[base + c[o[13]]];
      sides &= side[base + c[o[7]]] | side[base + c[o[15]]];
      if (sides == 0) continue;
      const int v = c[0];
      const int hi = v + kFastThreshold, lo = v - kFastThreshold;
      uint32_t brighterMask = 0, darkerMask = 0;
      for (int k = 0; k < 16; k++) {
        const int value = c[o[k]];
        diffs[k] = v - value;
        if (value > hi)
          brighterMask |= 1u << k;
        else if (value < lo)
          darkerMask |= 1u << k;
      }
      if (HasArcOf9(brighterMask) || HasArcOf9(darkerMask)) {
        for (int k = 16; k < 16 + kFastArc; k++) diffs[k] = diffs[k - 16];
        scores[p] = FastScore(diffs, kFastThreshold);
        corners[cornerCount++] = p;
      }
    }
  }
  int count = 0;
  for (int k = 0; k < cornerCount; k++) {
    const int p = corners[k];
    const int s = scores[p];
    if (s > scores[p - w - 1] && s > scores[p - w] && s > scores[p - w + 1] && s > scores[p - 1] && s > scores[p + 1] &&
        s > scores[p + w - 1] && s > scores[p + w] && s > scores[p + w + 1])
      count++;
  }
  for (int k = 0; k < cornerCount; k++) scores[corners[k]] = 0;
  return count;
}

struct ThreadState {
  Workspace workspace;
  Glcm glcm;
  ColourCache colourCache;
};

// Images above 640x400 get buffers of their own, as in the TypeScript.
constexpr size_t kWorkspaceKeptPixels = 1 << 18;

void Characteristics(const uint8_t* rgb, int w, int h, double* out) {
  thread_local ThreadState state;
  Workspace spare;
  Workspace& ws = static_cast<size_t>(w) * h <= kWorkspaceKeptPixels ? state.workspace : spare;
  ws.Fit(w, h);
  ColourStatistics(rgb, w * h, ws.gray.data(), state.colourCache, out);
  GlcmProperties(ws.gray.data(), w, h, state.glcm, out + 15);
  out[14] = CountCannyEdges(ws);
  out[21] = CountFastKeypoints(ws);
}

// ---------------------------------------------------------------------------------------------------------------
// N-API

napi_value Throw(napi_env env, const char* message) {
  napi_throw_range_error(env, nullptr, message);
  return nullptr;
}

bool TypedArrayOf(napi_env env, napi_value value, napi_typedarray_type type, size_t length, void** data) {
  bool isTypedArray = false;
  if (napi_is_typedarray(env, value, &isTypedArray) != napi_ok || !isTypedArray) return false;
  napi_typedarray_type actual;
  size_t actualLength;
  napi_value buffer;
  size_t offset;
  if (napi_get_typedarray_info(env, value, &actual, &actualLength, data, &buffer, &offset) != napi_ok) return false;
  return actual == type && (length == SIZE_MAX || actualLength == length);
}

// init(rToXyz, gToXyz, bToXyz: Float64Array(768), labF: Float64Array(16386), hsvSDiv, hsvHDiv: Int32Array(256)).
// The first call's tables stay (they are constants of the TypeScript module).
napi_value Init(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  void* data[6];
  const bool ok = argc == 6 && TypedArrayOf(env, argv[0], napi_float64_array, 768, &data[0]) &&
                  TypedArrayOf(env, argv[1], napi_float64_array, 768, &data[1]) &&
                  TypedArrayOf(env, argv[2], napi_float64_array, 768, &data[2]) &&
                  TypedArrayOf(env, argv[3], napi_float64_array, kLabFSteps + 2, &data[3]) &&
                  TypedArrayOf(env, argv[4], napi_int32_array, 256, &data[4]) &&
                  TypedArrayOf(env, argv[5], napi_int32_array, 256, &data[5]);
  if (!ok) return Throw(env, "init needs the colour tables of imageCharacteristics.ts");
  std::call_once(tablesSet, [&] {
    std::memcpy(tables.rToXyz, data[0], sizeof tables.rToXyz);
    std::memcpy(tables.gToXyz, data[1], sizeof tables.gToXyz);
    std::memcpy(tables.bToXyz, data[2], sizeof tables.bToXyz);
    std::memcpy(tables.labF, data[3], sizeof tables.labF);
    std::memcpy(tables.hsvSDiv, data[4], sizeof tables.hsvSDiv);
    std::memcpy(tables.hsvHDiv, data[5], sizeof tables.hsvHDiv);
    tablesReady = true;
  });
  return nullptr;
}

// characteristics(rgb: Uint8Array, width, height, out: Float64Array(22)): out gets the values in the order of
// IMAGE_CHARACTERISTIC_FIELDS.
napi_value ComputeCharacteristics(napi_env env, napi_callback_info info) {
  if (!tablesReady) return Throw(env, "init first");
  size_t argc = 4;
  napi_value argv[4];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  double width = 0, height = 0;
  void* rgb = nullptr;
  void* out = nullptr;
  if (argc != 4 || napi_get_value_double(env, argv[1], &width) != napi_ok || napi_get_value_double(env, argv[2], &height) != napi_ok ||
      !(width >= 1 && width <= (1 << 15) && height >= 1 && height <= (1 << 15)) || width != std::floor(width) ||
      height != std::floor(height))
    return Throw(env, "characteristics needs integer sizes from 1 to 32768");
  const int w = static_cast<int>(width), h = static_cast<int>(height);
  if (!TypedArrayOf(env, argv[0], napi_uint8_array, static_cast<size_t>(w) * h * 3, &rgb))
    return Throw(env, "characteristics needs width * height * 3 bytes of RGB");
  if (!TypedArrayOf(env, argv[3], napi_float64_array, kFields, &out)) return Throw(env, "characteristics needs a Float64Array(22)");
  Characteristics(static_cast<const uint8_t*>(rgb), w, h, static_cast<double*>(out));
  return nullptr;
}

}  // namespace

NAPI_MODULE_INIT() {
  napi_value fn;
  napi_create_function(env, "init", NAPI_AUTO_LENGTH, Init, nullptr, &fn);
  napi_set_named_property(env, exports, "init", fn);
  napi_create_function(env, "characteristics", NAPI_AUTO_LENGTH, ComputeCharacteristics, nullptr, &fn);
  napi_set_named_property(env, exports, "characteristics", fn);
  return exports;
}
