"""Where one frame's CPU goes on the thesis's predict path: each stage of bench/thesis_predict_server.py,
one call after the other in this process, on the bench's recorded JPEGs (the counterpart of
bench/frameCost.ts). CPU is time.process_time around each call: every thread of the process.

Usage: thesis_stage_cost.py '<json job>' -> prints one JSON line with the stages.
"""
import json
import math
import os
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from skimage.feature import graycomatrix, graycoprops  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from keras_reference import thesis_inception  # noqa: E402
from thesis_predict_server import CHARACTERISTICS, Stores, image_characteristics, predict_mm, preprocess  # noqa: E402

WARM_UP_CALLS = 5


def percentile(values, p):
    """Nearest rank, as bench/roverReplay.ts."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(p / 100 * len(ordered)) - 1))]


def summary(values):
    return {"p50": percentile(values, 50), "p90": percentile(values, 90), "mean": sum(values) / len(values)}


def time_stage(stage, calls, in_sum, call):
    for i in range(WARM_UP_CALLS):
        call(i)
    wall, cpu = [], []
    for i in range(calls):
        t0, c0 = time.perf_counter(), time.process_time()
        call(i)
        cpu.append((time.process_time() - c0) * 1000)
        wall.append((time.perf_counter() - t0) * 1000)
    return {"stage": stage, "batch": 1, "calls": calls, "wallMs": summary(wall), "cpuMs": summary(cpu), "sums": ["thesis"] if in_sum else []}


def glcm_properties(gray):
    glcm = graycomatrix(gray, distances=[5], angles=[0], levels=256, symmetric=True, normed=True)
    return [graycoprops(glcm, p) for p in ("contrast", "dissimilarity", "homogeneity", "ASM", "energy", "correlation")]


def main(job):
    width, height, calls = job["width"], job["height"], job["calls"]
    jpegs = []
    for name in sorted(os.listdir(job["framesDir"])):
        with open(os.path.join(job["framesDir"], name), "rb") as f:
            jpegs.append(f.read())
    jpeg_at = lambda i: jpegs[i % len(jpegs)]  # noqa: E731
    tf.keras.utils.set_random_seed(1)
    model = thesis_inception(height, width, 0.1)
    inputs = [preprocess(j, width, height) for j in jpegs]
    grays = [cv2.cvtColor(cv2.imdecode(np.frombuffer(j, np.uint8), cv2.IMREAD_COLOR), cv2.COLOR_BGR2GRAY) for j in jpegs]
    record = [0, "bench-cost", "rover-1", "bench-cost", 1, 123.4, 120.0, 3.4, 12.3, "key"] + [1.0] * len(CHARACTERISTICS)
    stages = []
    with tempfile.TemporaryDirectory() as data_dir:
        stores = Stores(data_dir)
        stores.create("bench-cost", "bench-cost", [{"clientId": "rover-1", "token": "token-1"}])
        stages.append(time_stage("client lookup (SQLite: connect, select, close)", calls, True,
                                 lambda i: stores.deployment_of("rover-1", "token-1")))  # fmt: skip
        stages.append(time_stage(f"JPEG decode + resize to {width}x{height} + scale (OpenCV, NumPy)", calls, True,
                                 lambda i: preprocess(jpeg_at(i), width, height)))  # fmt: skip
        stages.append(time_stage("model.predict, batch 1 (Keras)", calls, True,
                                 lambda i: predict_mm(model, inputs[i % len(inputs)], job["labelMaxMm"])))  # fmt: skip
        stages.append(time_stage("not the thesis's: model(x), batch 1 (Keras call, no predict loop)", calls, False,
                                 lambda i: model(inputs[i % len(inputs)], training=False).numpy()))  # fmt: skip
        stages.append(time_stage("object write (folder)", calls, True, lambda i: stores.put_object(f"bench-cost/{i}.jpg", jpeg_at(i))))
        stages.append(time_stage("image characteristics (OpenCV, scikit-image)", calls, True, lambda i: image_characteristics(jpeg_at(i))))
        stages.append(time_stage("of which the GLCM (graycomatrix + 6 graycoprops)", calls, False, lambda i: glcm_properties(grays[i % len(grays)])))
        stages.append(time_stage("record write, one record (SQLite: connect, insert, commit, close)", calls, True,
                                 lambda i: stores.write_record(record)))  # fmt: skip
    return {"engine": f"keras {tf.keras.__version__} (tensorflow {tf.__version__}), OpenCV {cv2.__version__}", "stages": stages}


if __name__ == "__main__":
    print(json.dumps(main(json.loads(sys.argv[1]))))
