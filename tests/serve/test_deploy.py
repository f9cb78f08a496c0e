"""deploy/: the KServe runtime's container arguments run `bnfold serve` the way
KServe would start it (the model in /mnt/models, named after the
InferenceService), and the manifests carry what KServe requires. No
Kubernetes and no Docker engine here: this is what can be checked without."""

import json
import os
import re
import shutil
import signal
import subprocess
import time

import numpy as np
import yaml

from conftest import BNFOLD_BINARY, ROOT, infer, request, seed_model

DEPLOY = os.path.join(ROOT, "deploy")


def load_all(name):
    with open(os.path.join(DEPLOY, "kserve", name)) as f:
        return list(yaml.safe_load_all(f))


def test_runtime_manifest_declares_what_kserve_needs():
    (runtime,) = load_all("cluster-serving-runtime.yaml")
    assert runtime["kind"] == "ClusterServingRuntime"
    spec = runtime["spec"]
    assert {"name": "onnx", "version": "1", "autoSelect": True, "priority": 2} in spec["supportedModelFormats"]
    assert spec["protocolVersions"] == ["v2"]
    (container,) = spec["containers"]
    assert container["name"] == "kserve-container"
    assert container["args"][0] == "/mnt/models"
    assert container["ports"] == [{"containerPort": 8080, "protocol": "TCP"}]
    assert container["readinessProbe"]["httpGet"]["path"] == "/v2/health/ready"
    assert container["securityContext"]["runAsNonRoot"] is True
    services = load_all("inference-service.yaml")
    assert [s["kind"] for s in services] == ["InferenceService"] * 2
    for s in services:
        model = s["spec"]["predictor"]["model"]
        assert model["runtime"] == runtime["metadata"]["name"]
        assert model["modelFormat"]["name"] == "onnx" and model["protocolVersion"] == "v2"
    knative = services[0]["metadata"]["annotations"]
    assert knative["autoscaling.knative.dev/metric"] == "concurrency"
    # containerConcurrency is the runtime's --max-concurrency.
    args = container["args"]
    assert str(services[0]["spec"]["predictor"]["containerConcurrency"]) == \
        args[args.index("--max-concurrency") + 1]
    assert services[1]["metadata"]["annotations"]["serving.kserve.io/autoscalerClass"] == "hpa"


def test_dockerfile_runs_the_server_as_non_root_on_8080():
    text = open(os.path.join(DEPLOY, "Dockerfile")).read()
    stages = re.findall(r"^FROM (\S+)", text, re.M)
    assert stages[0].startswith("debian:12") and stages[-1].startswith("debian:12") and len(stages) == 2
    assert re.search(r"^USER 1000", text, re.M)
    assert 'ENTRYPOINT ["bnfold", "serve"]' in text
    assert 'CMD ["/mnt/models", "--host", "0.0.0.0", "--port", "8080"]' in text


def test_kserve_container_arguments_serve_the_model(tmp_path):
    # What KServe does: the storage initializer writes the model under
    # /mnt/models; the container runs ENTRYPOINT + args with {{.Name}}.
    mnt = tmp_path / "mnt" / "models"
    mnt.mkdir(parents=True)
    shutil.copy(seed_model("mlp"), mnt / "model.onnx")
    (runtime,) = load_all("cluster-serving-runtime.yaml")
    args = [a.replace("{{.Name}}", "digits") for a in runtime["spec"]["containers"][0]["args"]]
    args[0] = str(mnt)
    args[args.index("--port") + 1] = "0"           # a free port, not 8080
    args[args.index("--host") + 1] = "127.0.0.1"
    args[args.index("--drain-seconds") + 1] = "1"  # the test need not wait 5 s
    env = dict(os.environ)
    env.update({e["name"]: e["value"] for e in runtime["spec"]["containers"][0].get("env", [])})
    assert env["OMP_WAIT_POLICY"] == "PASSIVE"
    process = subprocess.Popen([BNFOLD_BINARY, "serve", *args, "--json"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=env)
    try:
        port = json.loads(process.stdout.readline())["port"]
        assert json.loads(process.stdout.readline())["ready"] is True
        import http.client
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        assert request(conn, "GET", "/v2/health/ready")[0] == 200
        assert request(conn, "GET", "/v2/health/live")[0] == 200
        assert request(conn, "GET", "/v2/models/digits/ready")[0] == 200
        status, outputs, doc = infer(conn, "digits", {"x:0": np.zeros((2, 784), np.float32)})
        assert status == 200 and outputs["logits/BiasAdd:0"].shape == (2, 10)
        assert request(conn, "GET", "/metrics")[0] == 200
        start = time.time()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
        assert time.time() - start >= 1.0  # drained first
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate()
