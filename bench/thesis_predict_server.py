"""The thesis system's predict path, as a harness for the serving benchmark (bench/thesisHarness.ts).

What it takes from the thesis's description (docs/EXPERIMENT.md, "The closed loop"):
- Flask's `POST /predict` served by `app.run(threaded=True)`: Werkzeug's development server, one
  thread per connection, logging every request to stderr, as the thesis ran it.
- Per request: authenticate the client (id + token, the token compared in plain text: the thesis
  did not hash them), find its deployment, decode the JPEG and resize it to the model input, scale
  to 0..1, `model.predict` with Keras on the thesis CNN, answer at once.
- After the answer, a fire-and-forget thread per frame (`threading.Thread`) stores the JPEG as an
  object, extracts the image characteristics with OpenCV and scikit-image (grey, RGB, Lab, HSV
  statistics, Canny edge count, GLCM at distance 5 angle 0, FAST keypoints), computes the error
  against the sensor value, and writes one time-series record. An exception there loses the
  record, as the thesis's thread did.

What it changes, all in the harness's favour or neutral:
- The network stores are in-process: a folder for the objects (MinIO), SQLite for the clients and
  deployments (MySQL) and for the records (InfluxDB). No network round trip, no client library.
- The model is built once at start (the thesis loaded it from MLflow and kept it); its weights are
  untrained, which costs the same per prediction.
- The multipart fields and headers are this project's (`image`, `sensor_value`, `client_id`,
  `Authorization: Bearer <token>`) and the answer is this project's JSON, so the bench's rovers
  (edge/roverClient.ts) drive it unchanged. `GET /health` is only for the bench to wait on.
- The characteristics are computed on the decoded frame as it comes (the bench's frames are
  160x120, the same size this project's analysis works at).

Usage: thesis_predict_server.py '<json config>' (see bench/thesisHarness.ts).
"""
import json
import os
import sqlite3
import sys
import threading
import time
import uuid

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from flask import Flask, jsonify, request  # noqa: E402
from skimage.feature import graycomatrix, graycoprops  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from keras_reference import thesis_inception  # noqa: E402

CHARACTERISTICS = [
    "brightness_mean", "brightness_std", "r_mean", "r_std", "g_mean", "g_std", "b_mean", "b_std",
    "lab_l", "lab_a", "lab_b", "hsv_h", "hsv_s", "hsv_v", "edge_count",
    "glcm_contrast", "glcm_dissimilarity", "glcm_homogeneity", "glcm_asm", "glcm_energy", "glcm_correlation",
    "keypoint_count",
]  # fmt: skip

def image_characteristics(jpeg):
    bgr = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
    lab = cv2.cvtColor(bgr, cv2.COLOR_BGR2LAB)
    hsv = cv2.cvtColor(bgr, cv2.COLOR_BGR2HSV)
    edges = cv2.Canny(cv2.GaussianBlur(gray, (3, 3), 0), 50, 100)
    glcm = graycomatrix(gray, distances=[5], angles=[0], levels=256, symmetric=True, normed=True)
    keypoints = cv2.FastFeatureDetector_create().detect(gray, None)
    return {
        "brightness_mean": float(gray.mean()),
        "brightness_std": float(gray.std()),
        "r_mean": float(rgb[:, :, 0].mean()),
        "r_std": float(rgb[:, :, 0].std()),
        "g_mean": float(rgb[:, :, 1].mean()),
        "g_std": float(rgb[:, :, 1].std()),
        "b_mean": float(rgb[:, :, 2].mean()),
        "b_std": float(rgb[:, :, 2].std()),
        "lab_l": float(lab[:, :, 0].mean()),
        "lab_a": float(lab[:, :, 1].mean()),
        "lab_b": float(lab[:, :, 2].mean()),
        "hsv_h": float(hsv[:, :, 0].mean()),
        "hsv_s": float(hsv[:, :, 1].mean()),
        "hsv_v": float(hsv[:, :, 2].mean()),
        "edge_count": int(np.count_nonzero(edges)),
        "glcm_contrast": float(graycoprops(glcm, "contrast")[0, 0]),
        "glcm_dissimilarity": float(graycoprops(glcm, "dissimilarity")[0, 0]),
        "glcm_homogeneity": float(graycoprops(glcm, "homogeneity")[0, 0]),
        "glcm_asm": float(graycoprops(glcm, "ASM")[0, 0]),
        "glcm_energy": float(graycoprops(glcm, "energy")[0, 0]),
        "glcm_correlation": float(graycoprops(glcm, "correlation")[0, 0]),
        "keypoint_count": len(keypoints),
    }


def preprocess(jpeg, width, height):
    """The model's input: decoded, resized to width x height, RGB scaled to 0..1, a batch of one (None: not an image)."""
    bgr = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    if bgr is None:
        return None
    pixels = cv2.resize(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), (width, height))
    return pixels.astype(np.float32)[np.newaxis] / 255.0


def predict_mm(model, x, label_max_mm):
    # verbose=0: Keras printed no progress bar from predict by default before TF 2.9.
    return float(model.predict(x, verbose=0)[0, 0]) * label_max_mm


class Stores:
    """The thesis's stores in one folder: objects (MinIO), clients and deployments (MySQL), records (InfluxDB)."""

    def __init__(self, data_dir):
        self.meta_db = os.path.join(data_dir, "thesis-meta.db")
        self.records_db = os.path.join(data_dir, "thesis-records.db")
        self.objects_dir = os.path.join(data_dir, "thesis-objects")

    def create(self, deployment, model_name, clients):
        os.makedirs(self.objects_dir, exist_ok=True)
        with sqlite3.connect(self.meta_db) as db:
            db.execute("CREATE TABLE deployments (id TEXT PRIMARY KEY, model_name TEXT, model_version INTEGER)")
            db.execute("CREATE TABLE clients (client_id TEXT PRIMARY KEY, token TEXT, deployment_id TEXT)")
            db.execute("INSERT INTO deployments VALUES (?, ?, ?)", (deployment, model_name, 1))
            db.executemany("INSERT INTO clients VALUES (?, ?, ?)", [(c["clientId"], c["token"], deployment) for c in clients])
        with sqlite3.connect(self.records_db) as db:
            # WAL, as this project's SQLite stores run.
            db.execute("PRAGMA journal_mode = WAL")
            columns = ", ".join(f"{name} REAL" for name in CHARACTERISTICS)
            db.execute(
                "CREATE TABLE inference (time INTEGER, deployment TEXT, client TEXT, model_name TEXT, model_version INTEGER,"
                f" prediction REAL, sensor_value REAL, error REAL, latency_ms REAL, image_key TEXT, {columns})"
            )

    def deployment_of(self, client_id, token):
        """(deployment, model name, model version) of an authenticated client, else None."""
        db = sqlite3.connect(self.meta_db)
        try:
            return db.execute(
                "SELECT d.id, d.model_name, d.model_version FROM clients c JOIN deployments d ON d.id = c.deployment_id"
                " WHERE c.client_id = ? AND c.token = ?",
                (client_id, token),
            ).fetchone()
        finally:
            db.close()

    def put_object(self, key, data):
        path = os.path.join(self.objects_dir, key)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)

    def write_record(self, row):
        # InfluxDB takes concurrent writes; SQLite makes them wait for its lock, so wait long enough
        # that the stand-in loses no record the thesis would have stored.
        db = sqlite3.connect(self.records_db, timeout=120)
        try:
            db.execute(f"INSERT INTO inference VALUES ({', '.join('?' * len(row))})", row)
            db.commit()
        finally:
            db.close()


def analyse_frame(stores, jpeg, deployment, client_id, model_name, model_version, prediction, sensor_value, latency_ms):
    image_key = f"{deployment}/{uuid.uuid4().hex}.jpg"
    stores.put_object(image_key, jpeg)
    characteristics = image_characteristics(jpeg)
    error = abs(prediction - sensor_value) if sensor_value is not None else None
    row = [int(time.time() * 1000), deployment, client_id, model_name, model_version, prediction, sensor_value, error,
           latency_ms, image_key] + [characteristics[name] for name in CHARACTERISTICS]  # fmt: skip
    stores.write_record(row)


def error(status, code, message):
    return jsonify({"error": {"code": code, "message": message}}), status


def create_app(config):
    width, height, label_max_mm = config["width"], config["height"], config["labelMaxMm"]
    stores = Stores(config["dataDir"])
    stores.create(config["deployment"], config["modelName"], config["clients"])
    tf.keras.utils.set_random_seed(1)
    model = thesis_inception(height, width, 0.1)
    app = Flask(__name__)

    @app.get("/health")
    def health():
        return "ok"

    @app.post("/predict")
    def predict():
        started = time.perf_counter()
        client_id = request.form.get("client_id") or request.headers.get("x-client-id")
        authorization = request.headers.get("authorization", "")
        token = authorization[len("Bearer ") :] if authorization.startswith("Bearer ") else None
        found = stores.deployment_of(client_id, token)
        if found is None:
            return error(401, "unauthorized", "unknown client or wrong token")
        deployment, model_name, model_version = found
        image = request.files.get("image")
        if image is None:
            return error(400, "missing_image", "send the frame as the multipart field 'image'")
        jpeg = image.read()
        sensor = request.form.get("sensor_value")
        sensor_value = float(sensor) if sensor not in (None, "") else None
        x = preprocess(jpeg, width, height)
        if x is None:
            return error(415, "unsupported_image", "the image is not a JPEG")
        prediction = predict_mm(model, x, label_max_mm)
        latency_ms = (time.perf_counter() - started) * 1000

        threading.Thread(
            target=analyse_frame,
            args=(stores, jpeg, deployment, client_id, model_name, model_version, prediction, sensor_value, latency_ms),
            daemon=True,
        ).start()
        return jsonify(
            {
                "prediction_mm": prediction,
                "deployment": deployment,
                "model": {"name": model_name, "version": model_version},
                "request_id": uuid.uuid4().hex,
            }
        )

    return app


if __name__ == "__main__":
    config = json.loads(sys.argv[1])
    create_app(config).run(host="127.0.0.1", port=config["port"], threaded=True)
