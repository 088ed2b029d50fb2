"""The reference a user would pick instead: the same CNN trained with Keras on the same
TensorFlow wheel (tensorflow-cpu 2.9.1) that tfjs-node runs natively here, timed per epoch.

The architectures mirror core/ml/architectures.ts layer for layer (the parameter count is
printed so the benchmark can check they match); data are the raw files bench/parkingFrames.ts
writes (uint8 HWC pixels, float32 labels in mm), scaled as core/ml/train.ts scales them.

Usage: keras_reference.py '<json job>'  -> prints one JSON line with the measurements.
"""
import json
import os
import resource
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from tensorflow.keras import layers  # noqa: E402


def compact(height, width, dropout):
    return tf.keras.Sequential(
        [
            layers.Conv2D(16, 3, padding="same", activation="relu", input_shape=(height, width, 3)),
            layers.MaxPooling2D(2),
            layers.Conv2D(32, 3, padding="same", activation="relu"),
            layers.MaxPooling2D(2),
            layers.Conv2D(32, 3, padding="same", activation="relu"),
            layers.MaxPooling2D(2),
            layers.Flatten(),
            layers.Dropout(dropout),
            layers.Dense(64, activation="relu"),
            layers.Dense(1, activation="sigmoid"),
        ]
    )


def thesis_inception(height, width, dropout):
    def conv(x, filters, kernel_size, strides=1):
        return layers.Conv2D(filters, kernel_size, strides=strides, padding="same", activation="relu")(x)

    def inception(x, f1, f3, f5, fp):
        b1 = conv(x, f1, 1)
        b3 = conv(conv(x, f3 // 2, 1), f3, 3)
        b5 = conv(conv(x, f5 // 2, 1), f5, 5)
        bp = conv(layers.MaxPooling2D(3, strides=1, padding="same")(x), fp, 1)
        return layers.Concatenate()([b1, b3, b5, bp])

    inputs = tf.keras.Input(shape=(height, width, 3))
    x = conv(inputs, 32, 3, 2)
    x = layers.MaxPooling2D(2)(x)
    x = inception(x, 16, 32, 8, 8)
    x = layers.MaxPooling2D(2)(x)
    x = inception(x, 32, 64, 16, 16)
    x = layers.MaxPooling2D(2)(x)
    x = layers.Flatten()(x)
    x = layers.Dropout(dropout)(x)
    x = layers.Dense(640, activation="relu")(x)
    x = layers.Dropout(dropout)(x)
    outputs = layers.Dense(1, activation="sigmoid")(x)
    return tf.keras.Model(inputs, outputs)


ARCHITECTURES = {"compact": compact, "thesis-inception": thesis_inception}


class EpochTimer(tf.keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.seconds = []
        self._start = 0.0

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self._start)


def main(job):
    tf.keras.utils.set_random_seed(job["seed"])
    height, width, count = job["height"], job["width"], job["count"]
    pixels = np.fromfile(job["pixelsPath"], dtype=np.uint8, count=count * height * width * 3)
    x = pixels.reshape(count, height, width, 3).astype(np.float32) / 255.0
    labels = np.fromfile(job["labelsPath"], dtype=np.float32, count=count)
    y = (np.clip(labels, 0, job["labelMaxMm"]) / job["labelMaxMm"]).reshape(count, 1)

    model = ARCHITECTURES[job["architecture"]](height, width, 0.1)
    model.compile(optimizer=tf.keras.optimizers.Adam(0.001), loss="mse", metrics=["mae"])
    timer = EpochTimer()
    history = model.fit(x, y, batch_size=job["batchSize"], epochs=job["epochs"], shuffle=True, verbose=0, callbacks=[timer])
    steady = timer.seconds[1:]
    return {
        "engine": f"keras {tf.keras.__version__} (tensorflow {tf.__version__})",
        "params": int(model.count_params()),
        "timedImages": count * len(steady),
        "imagesPerSecond": count * len(steady) / sum(steady),
        "firstEpochSeconds": timer.seconds[0],
        "epochSeconds": timer.seconds,
        "batchSeconds": [],
        "finalLoss": float(history.history["loss"][-1]),
        "peakRssMiB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


if __name__ == "__main__":
    print(json.dumps(main(json.loads(sys.argv[1]))))
