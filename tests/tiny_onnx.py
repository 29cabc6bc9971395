"""Tiny ONNX graphs with the input/output names and shapes of the published models.

They are NOT face models: each computes something simple and known (identity, or a mix
of the face crop with a colour taken from the other input) so tests can check that the
adapters feed the right tensors and paste the results back in the right place.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def _save(path: Path, nodes, inputs, outputs, initializers) -> Path:
    graph = helper.make_graph(nodes, path.stem, inputs, outputs, initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def _f(name, dims):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, dims)


def _const(name, array):
    return numpy_helper.from_array(np.asarray(array, np.float32), name)


def arcface(path: Path, seed: int = 0) -> Path:
    """input (1,3,112,112) -> output (1,512): a 7x7 grid of mean colours x a fixed random matrix."""
    w = np.random.default_rng(seed).normal(size=(3 * 7 * 7, 512))
    nodes = [helper.make_node("AveragePool", ["input"], ["pooled"], kernel_shape=[16, 16], strides=[16, 16]),
             helper.make_node("Flatten", ["pooled"], ["flat"]),
             helper.make_node("MatMul", ["flat", "w"], ["output"])]
    return _save(path, nodes, [_f("input", [1, 3, 112, 112])], [_f("output", [1, 512])], [_const("w", w)])


def inswapper(path: Path, keep: float, seed: int = 0) -> Path:
    """target (1,3,128,128), source (1,512) -> output = keep*target + (1-keep)*sigmoid(source @ v).

    The 512x512 ``emap`` is the last initializer, as in the real file.
    """
    rng = np.random.default_rng(seed)
    emap = np.linalg.qr(rng.normal(size=(512, 512)))[0]  # orthogonal, keeps unit vectors unit
    nodes = [helper.make_node("MatMul", ["source", "v"], ["colour"]),
             helper.make_node("Sigmoid", ["colour"], ["colour01"]),
             helper.make_node("Reshape", ["colour01", "shape"], ["colour4"]),
             helper.make_node("Mul", ["target", "keep"], ["kept"]),
             helper.make_node("Mul", ["colour4", "rest"], ["added"]),
             helper.make_node("Add", ["kept", "added"], ["output"])]
    inits = [_const("v", rng.normal(size=(512, 3)) * 3), numpy_helper.from_array(np.array([1, 3, 1, 1], np.int64), "shape"),
             _const("keep", keep), _const("rest", 1 - keep), _const("emap", emap)]
    return _save(path, nodes, [_f("target", [1, 3, 128, 128]), _f("source", [1, 512])],
                 [_f("output", [1, 3, 128, 128])], inits)


def wav2lip(path: Path, names=("source", "target"), audio_gain: float = 0.5) -> Path:
    """mel (1,1,80,16), faces (1,6,96,96) -> output = unmasked crop + gain * mean(mel) / 8."""
    mel, faces = names
    nodes = [helper.make_node("Slice", [faces, "starts", "ends", "axes"], ["crop"]),
             helper.make_node("ReduceMean", [mel], ["level"], keepdims=1),  # (1,1,1,1)
             helper.make_node("Mul", ["level", "gain"], ["shift"]),
             helper.make_node("Add", ["crop", "shift"], ["output"])]
    inits = [numpy_helper.from_array(np.array([3], np.int64), "starts"),
             numpy_helper.from_array(np.array([6], np.int64), "ends"),
             numpy_helper.from_array(np.array([1], np.int64), "axes"), _const("gain", audio_gain / 8)]
    return _save(path, nodes, [_f(mel, [1, 1, 80, 16]), _f(faces, [1, 6, 96, 96])], [_f("output", [1, 3, 96, 96])], inits)
