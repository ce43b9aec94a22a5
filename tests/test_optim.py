"""course_lib.optim: PyTorch golden values, properties, teaching variants and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from course_lib import optim

GOLDEN = json.loads((Path(__file__).parent / "golden" / "optim.json").read_text())
REFERENCE = ["SGD", "Adagrad", "RMSprop", "Adadelta", "Adam", "AdamW"]


def _kwargs(case):
    kwargs = dict(case["kwargs"])
    if "betas" in kwargs:
        kwargs["betas"] = tuple(kwargs["betas"])
    return kwargs


def _case_id(case):
    args = ",".join(f"{k}={v}" for k, v in sorted(case["kwargs"].items()))
    return f"{case['optimizer']}({args})-{case['objective']}-{case['lr_schedule']}-{case['dtype']}"


# --------------------------------------------------------------------------------------------
# Golden values from torch.optim (tests/golden/make_optim_golden.py)
# --------------------------------------------------------------------------------------------
def test_golden_file_covers_every_optimizer_and_option():
    seen = {(c["optimizer"], k) for c in GOLDEN["cases"] for k in c["kwargs"]}
    expected = {
        "SGD": ["lr", "momentum", "dampening", "nesterov", "weight_decay", "maximize"],
        "Adagrad": [
            "lr",
            "lr_decay",
            "weight_decay",
            "initial_accumulator_value",
            "eps",
            "maximize",
        ],
        "RMSprop": ["lr", "alpha", "eps", "weight_decay", "momentum", "centered", "maximize"],
        "Adadelta": ["lr", "rho", "eps", "weight_decay", "maximize"],
        "Adam": ["lr", "betas", "eps", "weight_decay", "amsgrad", "maximize"],
        "AdamW": ["lr", "betas", "eps", "weight_decay", "amsgrad", "maximize"],
    }
    missing = {(o, k) for o, ks in expected.items() for k in ks} - seen
    assert not missing
    for name in REFERENCE:
        objectives = {c["objective"] for c in GOLDEN["cases"] if c["optimizer"] == name}
        assert len(objectives) >= 2 and GOLDEN["meta"]["steps"] >= 10


@pytest.mark.parametrize("case", GOLDEN["cases"], ids=_case_id)
def test_matches_torch(case):
    dtype = np.dtype(case["dtype"])
    opt = getattr(optim, case["optimizer"])(**_kwargs(case))
    x = np.array(case["x0"], dtype=dtype)
    state = opt.init(x)
    # float64: equal to rounding (PyTorch fuses multiply-adds, NumPy cannot). float32: a few
    # of its eps (1.2e-7), relative to the largest entry since cancellations can leave tiny ones.
    rtol = 1e-12 if dtype == np.float64 else 2e-5
    for t, (lr, grad, expected) in enumerate(zip(case["lrs"], case["grads"], case["params"])):
        x, state = opt.step(x, np.array(grad, dtype=dtype), state, lr=lr)
        assert x.dtype == dtype
        atol = 0.0 if dtype == np.float64 else 1e-6 * np.max(np.abs(expected))
        np.testing.assert_allclose(x, expected, rtol=rtol, atol=atol, err_msg=f"after step {t + 1}")
    assert state.step == len(case["params"])


# --------------------------------------------------------------------------------------------
# Properties
# --------------------------------------------------------------------------------------------
ALL_CONFIGS = [
    optim.SGD(lr=0.1),
    optim.SGD(lr=0.1, momentum=0.9, dampening=0.3, weight_decay=0.01),
    optim.SGD(lr=0.1, momentum=0.9, nesterov=True, maximize=True),
    optim.Adagrad(lr=0.1, lr_decay=0.01, weight_decay=0.1, initial_accumulator_value=0.1),
    optim.RMSprop(lr=0.01, centered=True, momentum=0.5, weight_decay=0.1),
    optim.Adadelta(lr=1.0, weight_decay=0.1),
    optim.Adam(lr=0.01, amsgrad=True, weight_decay=0.1),
    optim.AdamW(lr=0.01, amsgrad=True),
    optim.LectureMomentum(lr=0.1, momentum=0.9),
    optim.LookaheadNesterov(lr=0.1, momentum=0.9),
    optim.AdamNoBiasCorrection(lr=0.01),
]
finite = st.floats(-1e3, 1e3, allow_nan=False, allow_subnormal=False)
shapes = hnp.array_shapes(min_dims=0, max_dims=3, max_side=4)


def _state_arrays(state):
    return [np.copy(v) for v in state[1:] if v is not None]


@pytest.mark.parametrize("opt", ALL_CONFIGS, ids=repr)
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_inputs_are_never_mutated(opt, data):
    shape = data.draw(shapes)
    params = data.draw(hnp.arrays(np.float64, shape, elements=finite))
    grads = data.draw(hnp.arrays(np.float64, shape, elements=finite))
    state = opt.init(params)
    for _ in range(2):  # the second step reads buffers written by the first
        before = (params.copy(), grads.copy(), _state_arrays(state))
        new_params, new_state = opt.step(params, grads, state)
        np.testing.assert_array_equal(params, before[0])
        np.testing.assert_array_equal(grads, before[1])
        for a, b in zip(_state_arrays(state), before[2]):
            np.testing.assert_array_equal(a, b)
        assert new_params is not params
        assert np.shape(new_params) == shape
        params, state = new_params, new_state


@pytest.mark.parametrize("opt", ALL_CONFIGS, ids=repr)
def test_state_never_aliases_the_callers_arrays(opt):
    params, grads = np.array([1.0, -2.0]), np.array([0.5, 0.25])
    new_params, state = opt.step(params, grads, opt.init(params))
    snapshot = _state_arrays(state)
    grads[:] = 99.0  # a student re-using the gradient buffer must not change the optimizer state
    new_params[:] = 99.0
    for a, b in zip(_state_arrays(state), snapshot):
        np.testing.assert_array_equal(a, b)


@settings(max_examples=50, deadline=None)
@given(
    params=hnp.arrays(np.float64, shapes, elements=finite),
    lr=st.floats(0, 10),
    seed=st.integers(0, 2**32 - 1),
)
def test_sgd_without_momentum_is_plain_gradient_descent(params, lr, seed):
    grads = np.random.default_rng(seed).normal(size=params.shape)
    opt = optim.SGD(lr=lr)
    state = opt.init(params)
    for _ in range(3):
        expected = params - lr * grads
        params, state = opt.step(params, grads, state)
        np.testing.assert_array_equal(params, expected)


@settings(max_examples=50, deadline=None)
@given(
    grads=hnp.arrays(np.float64, hnp.array_shapes(max_dims=2), elements=st.floats(1e-3, 1e3)),
    signs=st.integers(0, 2**16),
    lr=st.floats(1e-4, 1.0),
    beta1=st.floats(0.0, 0.99),
    beta2=st.floats(0.5, 0.9999),
)
def test_adam_first_step_has_magnitude_lr_per_coordinate(grads, signs, lr, beta1, beta2):
    grads = grads * np.where(np.arange(grads.size).reshape(grads.shape) % 2 == signs % 2, 1, -1)
    opt = optim.Adam(lr=lr, betas=(beta1, beta2), eps=1e-12)
    params = np.zeros_like(grads)
    new_params, _ = opt.step(params, grads, opt.init(params))
    np.testing.assert_allclose(np.abs(new_params), lr, rtol=1e-8)
    assert np.all(np.sign(new_params) == -np.sign(grads))  # downhill in every coordinate


def test_adam_without_bias_correction_first_step_is_316_times_lr():
    opt = optim.AdamNoBiasCorrection(lr=1e-3, eps=0.0)  # defaults: betas (0.9, 0.999)
    grads = np.array([1e-3, -2.0, 50.0])
    step, _ = opt.step(np.zeros(3), grads, opt.init(np.zeros(3)))
    np.testing.assert_allclose(np.abs(step) / 1e-3, 0.1 / np.sqrt(0.001), rtol=1e-12)
    assert 3.16 < 0.1 / np.sqrt(0.001) < 3.17


def _quadratic_grad(x):
    a = np.array([[10.0, 2.0], [2.0, 1.0]])
    return a @ x


def _run(opt, x0, steps, lrs=None):
    x, state, path = np.asarray(x0, float), opt.init(x0), []
    for t in range(steps):
        g = _quadratic_grad(opt.gradient_point(x, state))
        x, state = opt.step(x, g, state, lr=None if lrs is None else lrs[t])
        path.append(x)
    return np.array(path), state


@pytest.mark.parametrize("mu", [0.0, 0.5, 0.9, 0.99])
def test_lecture_momentum_equals_pytorch_momentum_at_constant_lr(mu):
    x0 = np.array([1.0, -1.0])
    lecture, lecture_state = _run(optim.LectureMomentum(lr=0.05, momentum=mu), x0, 60)
    torch_form, torch_state = _run(optim.SGD(lr=0.05, momentum=mu), x0, 60)
    np.testing.assert_allclose(lecture, torch_form, rtol=1e-12, atol=1e-15)
    if mu:  # the two buffers are the same quantity in different units: v = -lr * b
        np.testing.assert_allclose(
            lecture_state.velocity, -0.05 * torch_state.momentum_buffer, rtol=1e-12
        )


def test_lecture_and_pytorch_momentum_differ_when_lr_changes():
    x0 = np.array([1.0, -1.0])
    lrs = [0.05] * 10 + [0.005] * 10
    lecture, _ = _run(optim.LectureMomentum(lr=0.05, momentum=0.9), x0, 20, lrs)
    torch_form, _ = _run(optim.SGD(lr=0.05, momentum=0.9), x0, 20, lrs)
    np.testing.assert_allclose(lecture[:10], torch_form[:10], rtol=1e-12)
    assert np.max(np.abs(lecture[10:] - torch_form[10:])) > 1e-3


@pytest.mark.parametrize("mu", [0.5, 0.9])
def test_lookahead_nesterov_lookahead_points_are_pytorch_nesterov_iterates(mu):
    x0 = np.array([1.0, -1.0])
    look = optim.LookaheadNesterov(lr=0.05, momentum=mu)
    x, state = x0, look.init(x0)
    torch_path, _ = _run(optim.SGD(lr=0.05, momentum=mu, nesterov=True), x0, 40)
    for t in range(40):
        g = _quadratic_grad(look.gradient_point(x, state))
        x, state = look.step(x, g, state)
        np.testing.assert_allclose(x + mu * state.velocity, torch_path[t], rtol=1e-10, atol=1e-14)


def test_nesterov_and_momentum_differ_in_stability():
    # 1-D quadratic with curvature 1: lr * lambda = 1.5, mu = 0.9. Heavy ball is stable for
    # lr*lambda < 2 + 2*mu = 3.8; Nesterov only for lr*lambda < (2 + 2*mu) / (1 + 2*mu) ~ 1.36.
    def run(nesterov):
        opt, x = optim.SGD(lr=1.5, momentum=0.9, nesterov=nesterov), np.array(1.0)
        state = opt.init(x)
        for _ in range(200):
            x, state = opt.step(x, x, state)
        return abs(float(x))

    assert run(nesterov=False) < 1e-3
    assert run(nesterov=True) > 1e3


@pytest.mark.parametrize("opt", ALL_CONFIGS[:8], ids=repr)
def test_parameter_trees_update_like_each_array_alone(opt):
    rng = np.random.default_rng(0)
    params = {"W": rng.normal(size=(3, 2)), "b": [rng.normal(size=2), np.float64(0.5)]}
    grads = {"W": rng.normal(size=(3, 2)), "b": [rng.normal(size=2), np.float64(-1.0)]}
    new, state = opt.step(params, grads, opt.init(params))
    assert set(new) == {"W", "b"} and isinstance(new["b"], list)
    for p, g, got in [
        (params["W"], grads["W"], new["W"]),
        (params["b"][0], grads["b"][0], new["b"][0]),
    ]:
        alone, _ = opt.step(p, g, opt.init(p))
        np.testing.assert_array_equal(got, alone)
    assert state.step == 1


@pytest.mark.parametrize("opt", ALL_CONFIGS, ids=repr)
def test_float32_stays_float32(opt):
    params = np.array([[1.0, -2.0]], dtype=np.float32)
    new, state = opt.step(params, np.array([[0.5, 0.5]]), opt.init(params))
    assert new.dtype == np.float32
    assert all(v.dtype == np.float32 for v in state[1:] if v is not None)


def test_integer_parameters_are_promoted_to_float64():
    opt = optim.SGD(lr=0.5)
    new, _ = opt.step(np.array([1, 2]), np.array([1, 1]), opt.init(np.array([1, 2])))
    assert new.dtype == np.float64
    np.testing.assert_array_equal(new, [0.5, 1.5])


@pytest.mark.parametrize("opt", ALL_CONFIGS, ids=repr)
def test_lr_override_equals_an_optimizer_built_with_that_lr(opt):
    rng = np.random.default_rng(1)
    x, g = rng.normal(size=4), rng.normal(size=4)
    other = type(opt)(**{**opt._hyperparameters(), "lr": 0.123})
    a, _ = opt.step(x, g, opt.init(x), lr=0.123)
    b, _ = other.step(x, g, other.init(x))
    np.testing.assert_array_equal(a, b)


def test_adagrad_effective_step_never_grows():
    opt, x = optim.Adagrad(lr=0.5), np.array([2.0, -3.0])
    state, g = opt.init(x), np.array([1.0, -1.0])
    steps = []
    for _ in range(20):
        new, state = opt.step(x, g, state)  # same gradient every time
        steps.append(np.abs(new - x))
        x = new
    assert np.all(np.diff(np.array(steps), axis=0) <= 0)


def test_state_is_readable():
    opt = optim.Adam()
    _, state = opt.step(np.zeros(2), np.ones(2), opt.init(np.zeros(2)))
    assert state.step == 1
    assert "exp_avg=" in repr(state) and "exp_avg_sq=" in repr(state)
    assert (
        repr(opt)
        == "Adam(lr=0.001, betas=(0.9, 0.999), eps=1e-08, weight_decay=0.0, amsgrad=False, "
        "maximize=False)"
    )


def test_defaults_are_pytorchs():
    assert optim.SGD().lr == 1e-3
    assert (optim.Adagrad().lr, optim.Adagrad().eps) == (1e-2, 1e-10)
    assert (optim.RMSprop().lr, optim.RMSprop().alpha, optim.RMSprop().eps) == (1e-2, 0.99, 1e-8)
    assert (optim.Adadelta().lr, optim.Adadelta().rho, optim.Adadelta().eps) == (1.0, 0.9, 1e-6)
    assert (optim.Adam().betas, optim.Adam().eps, optim.Adam().weight_decay) == (
        (0.9, 0.999),
        1e-8,
        0.0,
    )
    assert optim.AdamW().weight_decay == 1e-2


# --------------------------------------------------------------------------------------------
# Bad input: ValueError naming the parameter and its allowed range
# --------------------------------------------------------------------------------------------
BAD = [
    (optim.SGD, {"lr": -0.1}, r"lr must be in \[0, inf\)"),
    (optim.SGD, {"momentum": -0.5}, r"momentum must be in \[0, inf\)"),
    (optim.SGD, {"weight_decay": -1e-4}, r"weight_decay must be in \[0, inf\)"),
    (optim.SGD, {"dampening": 1.5}, r"dampening must be in \[0, 1\]"),
    (optim.SGD, {"nesterov": True}, r"nesterov=True requires momentum > 0"),
    (optim.SGD, {"nesterov": True, "momentum": 0.9, "dampening": 0.1}, r"dampening == 0"),
    (optim.SGD, {"nesterov": "yes"}, r"nesterov must be True or False"),
    (optim.SGD, {"lr": float("nan")}, r"lr must be in \[0, inf\), got nan"),
    (optim.SGD, {"lr": "0.1"}, r"lr must be in \[0, inf\), got .0.1."),
    (optim.Adagrad, {"lr_decay": -1}, r"lr_decay must be in \[0, inf\)"),
    (optim.Adagrad, {"initial_accumulator_value": -1}, r"initial_accumulator_value must be in"),
    (optim.Adagrad, {"eps": -1e-10}, r"eps must be in \[0, inf\)"),
    (optim.RMSprop, {"alpha": 1.0}, r"alpha must be in \[0, 1\)"),
    (optim.RMSprop, {"alpha": -0.1}, r"alpha must be in \[0, 1\)"),
    (optim.RMSprop, {"momentum": -0.1}, r"momentum must be in \[0, inf\)"),
    (optim.RMSprop, {"eps": -1.0}, r"eps must be in \[0, inf\)"),
    (optim.Adadelta, {"rho": 1.0}, r"rho must be in \[0, 1\)"),
    (optim.Adadelta, {"rho": -0.5}, r"rho must be in \[0, 1\)"),
    (optim.Adadelta, {"weight_decay": -0.1}, r"weight_decay must be in \[0, inf\)"),
    (optim.Adam, {"betas": (1.0, 0.999)}, r"betas\[0\] must be in \[0, 1\)"),
    (optim.Adam, {"betas": (0.9, 1.2)}, r"betas\[1\] must be in \[0, 1\)"),
    (optim.Adam, {"betas": (0.9, -0.1)}, r"betas\[1\] must be in \[0, 1\)"),
    (optim.Adam, {"betas": 0.9}, r"betas must be a pair"),
    (optim.Adam, {"eps": -1e-8}, r"eps must be in \[0, inf\)"),
    (optim.AdamW, {"weight_decay": -0.01}, r"weight_decay must be in \[0, inf\)"),
    (optim.AdamW, {"lr": -1e-3}, r"lr must be in \[0, inf\)"),
    (optim.LectureMomentum, {"momentum": -0.9}, r"momentum must be in \[0, inf\)"),
    (optim.AdamNoBiasCorrection, {"betas": (0.9, 1.0)}, r"betas\[1\] must be in \[0, 1\)"),
]


@pytest.mark.parametrize("cls, kwargs, message", BAD, ids=[f"{c.__name__}{k}" for c, k, _ in BAD])
def test_bad_hyperparameters_raise_value_error_naming_them(cls, kwargs, message):
    with pytest.raises(ValueError, match=message):
        cls(**kwargs)


def test_grads_of_another_shape_are_rejected():
    opt = optim.Adam()
    state = opt.init(np.zeros((2, 3)))
    with pytest.raises(
        ValueError, match=r"grads has shape \(3, 2\) but the parameters have shape \(2, 3\)"
    ):
        opt.step(np.zeros((2, 3)), np.zeros((3, 2)), state)


def test_grads_of_another_structure_are_rejected():
    opt = optim.SGD(lr=0.1)
    params = {"W": np.zeros(2), "b": np.zeros(1)}
    with pytest.raises(ValueError, match="same structure"):
        opt.step(params, {"W": np.zeros(2)}, opt.init(params))


def test_state_of_another_optimizer_or_shape_is_rejected():
    with pytest.raises(ValueError, match="state must be the AdamState"):
        optim.Adam().step(np.zeros(2), np.zeros(2), optim.SGD(momentum=0.9).init(np.zeros(2)))
    with pytest.raises(ValueError, match="state.exp_avg has shape"):
        optim.Adam().step(np.zeros(3), np.zeros(3), optim.Adam().init(np.zeros(2)))


def test_step_lr_override_is_validated():
    opt = optim.SGD(lr=0.1)
    with pytest.raises(ValueError, match=r"lr must be in \[0, inf\)"):
        opt.step(np.zeros(2), np.zeros(2), opt.init(np.zeros(2)), lr=-1.0)


def test_complex_parameters_are_rejected():
    with pytest.raises(ValueError, match="params must be real floating-point"):
        optim.SGD().init(np.zeros(2, dtype=complex))


def test_convex_momentum_is_nesterovs_schedule():
    assert [optim.convex_momentum(t) for t in range(5)] == [0.0, 0.0, 0.25, 0.4, 0.5]
    assert optim.convex_momentum(1000) == pytest.approx(1 - 3 / 1002)
    for bad in (-1, 1.5, True):
        with pytest.raises(ValueError, match="t must be an int >= 0"):
            optim.convex_momentum(bad)


def test_lookahead_nesterov_with_a_momentum_schedule_is_the_textbook_scheme():
    # y_k = x_k + (k - 1)/(k + 2) (x_k - x_{k-1}),  x_{k+1} = y_k - lr grad f(y_k)
    look = optim.LookaheadNesterov(lr=0.05, momentum=optim.convex_momentum)
    got, _ = _run(look, np.array([1.0, -1.0]), 30)
    x_prev = x = np.array([1.0, -1.0])
    for k in range(30):
        y = x + optim.convex_momentum(k) * (x - x_prev)
        x_prev, x = x, y - 0.05 * _quadratic_grad(y)
        np.testing.assert_allclose(got[k], x, rtol=1e-12, atol=1e-15)


def test_lookahead_nesterov_with_a_constant_schedule_equals_the_constant_momentum():
    constant, _ = _run(optim.LookaheadNesterov(lr=0.05, momentum=0.9), np.array([1.0, -1.0]), 20)
    scheduled, _ = _run(
        optim.LookaheadNesterov(lr=0.05, momentum=lambda t: 0.9), np.array([1.0, -1.0]), 20
    )
    np.testing.assert_array_equal(constant, scheduled)


def test_lookahead_nesterov_rejects_a_schedule_value_out_of_range():
    look = optim.LookaheadNesterov(lr=0.05, momentum=lambda t: -0.5)
    with pytest.raises(ValueError, match=r"momentum\(0\) must be in \[0, inf\)"):
        _run(look, np.array([1.0, -1.0]), 2)


# -- effective learning rate: the factor each step applied to its direction -------------------
def _two_steps(opt, seed=0, lr=None):
    """Parameters and states of two steps on random gradients of a 2x3 array."""
    rng = np.random.default_rng(seed)
    w0 = rng.standard_normal((2, 3))
    s0 = opt.init(w0)
    g1, g2 = rng.standard_normal((2, 2, 3)) * np.array([[1e-3], [10.0]])
    w1, s1 = opt.step(w0, g1, s0, lr=lr)
    w2, s2 = opt.step(w1, g2, s1, lr=lr)
    return (w1, w2), (s1, s2), g2


@pytest.mark.parametrize(
    "opt",
    [
        optim.Adagrad(lr=0.3, lr_decay=0.1, initial_accumulator_value=0.2),
        optim.RMSprop(lr=0.01, alpha=0.9),
        optim.RMSprop(lr=0.01, centered=True),
        optim.Adadelta(lr=0.5, rho=0.8),
        optim.SGD(lr=0.1),
    ],
    ids=repr,
)
def test_effective_lr_times_the_gradient_is_the_step(opt):
    (w1, w2), (s1, s2), g2 = _two_steps(opt)
    rate = opt.effective_lr(s1, s2)
    np.testing.assert_allclose(w2 - w1, -np.asarray(rate) * g2, rtol=1e-10, atol=1e-15)
    assert np.ndim(rate) == 0 or np.shape(rate) == w1.shape


@pytest.mark.parametrize(
    "opt, corrected",
    [
        (optim.Adam(lr=0.01, betas=(0.8, 0.99)), True),
        (optim.Adam(lr=0.01, amsgrad=True), True),
        (optim.AdamW(lr=0.01), True),
        (optim.AdamNoBiasCorrection(lr=0.01), False),
    ],
    ids=repr,
)
def test_adam_effective_lr_multiplies_the_first_moment(opt, corrected):
    (w1, w2), (s1, s2), _ = _two_steps(opt)
    direction = s2.exp_avg / (1 - opt.betas[0] ** 2) if corrected else s2.exp_avg
    decayed = w1 * (1 - opt.lr * opt.weight_decay) if isinstance(opt, optim.AdamW) else w1
    np.testing.assert_allclose(w2 - decayed, -opt.effective_lr(s1, s2) * direction, rtol=1e-10)


def test_effective_lr_uses_the_scheduled_lr_and_keeps_the_parameter_structure():
    opt = optim.RMSprop(lr=1.0)
    params = {"W": np.ones((2, 2)), "b": np.zeros(2)}
    grads = {"W": np.full((2, 2), 2.0), "b": np.array([1.0, -4.0])}
    s0 = opt.init(params)
    p1, s1 = opt.step(params, grads, s0, lr=0.05)
    rate = opt.effective_lr(s0, s1, lr=0.05)
    assert set(rate) == {"W", "b"} and rate["b"].shape == (2,)
    np.testing.assert_allclose(p1["b"] - params["b"], -rate["b"] * grads["b"], rtol=1e-12)
    # one step of RMSprop: sqrt(v) = sqrt(1 - alpha) |g|, so the factor is lr / that
    np.testing.assert_allclose(rate["b"], 0.05 / (0.1 * np.abs(grads["b"]) + 1e-8), rtol=1e-12)


def test_adagrad_effective_lr_only_decays_rmsprop_recovers():
    adagrad, rmsprop = optim.Adagrad(lr=0.1), optim.RMSprop(lr=0.1, alpha=0.9)
    grads = [1.0] * 20 + [1e-3] * 100  # a large gradient, then a flat stretch
    for opt, monotone in ((adagrad, True), (rmsprop, False)):
        w, state, rates = np.zeros(1), opt.init(np.zeros(1)), []
        for g in grads:
            w, new = opt.step(w, np.array([g]), state)
            rates.append(float(opt.effective_lr(state, new)[0]))
            state = new
        assert np.all(np.diff(rates) <= 0) == monotone
    assert rates[-1] > 100 * rates[19]  # RMSprop's rate grows as the RMS forgets the 1.0s


def test_effective_lr_refuses_states_that_are_not_one_step_apart():
    opt = optim.Adam()
    s0 = opt.init(np.zeros(2))
    _, s1 = opt.step(np.zeros(2), np.ones(2), s0)
    with pytest.raises(ValueError, match="one step after"):
        opt.effective_lr(s1, s0)
    with pytest.raises(ValueError, match="before must be a AdamState"):
        opt.effective_lr(optim.SGD().init(np.zeros(2)), s1)


def test_rmsprop_eps_inside_divides_by_the_root_of_v_plus_eps():
    opt = optim.RMSpropEpsInside()  # Keras's defaults
    assert (opt.lr, opt.alpha, opt.eps) == (1e-3, 0.9, 1e-7)
    g = np.array([1e-6, 1.0])
    w1, state = opt.step(np.zeros(2), g, opt.init(np.zeros(2)))
    np.testing.assert_allclose(w1, -1e-3 * g / np.sqrt(0.1 * g**2 + 1e-7), rtol=1e-12)
    # a tiny gradient moves far less than with PyTorch's placement, a large one the same
    torch_like, _ = optim.RMSprop(lr=1e-3, alpha=0.9, eps=1e-7).step(
        np.zeros(2), g, optim.RMSprop(alpha=0.9).init(np.zeros(2))
    )
    assert abs(w1[0]) < abs(torch_like[0]) / 100
    np.testing.assert_allclose(w1[1], torch_like[1], rtol=1e-5)
    rate = opt.effective_lr(opt.init(np.zeros(2)), state)
    np.testing.assert_allclose(w1, -rate * g, rtol=1e-12)
    assert repr(opt) == "RMSpropEpsInside(lr=0.001, alpha=0.9, eps=1e-07)"
