"""Tests for course_lib.train.run: convergence, divergence, schedules, noise, purity."""

import warnings

import numpy as np
import pytest

from course_lib.landscapes import Cosh, Himmelblau, NoisyQuadratic, Parabola, Quadratic, Rosenbrock
from course_lib.optim import SGD, Adagrad, Adam, LookaheadNesterov
from course_lib.train import Trajectory, run


class GD:
    """Minimal optimizer with the course API: pure init/step, state = number of steps."""

    def __init__(self, lr):
        self.lr = lr

    def init(self, params):
        return 0

    def step(self, params, grads, state, lr=None):
        return params - (self.lr if lr is None else lr) * grads, state + 1


@pytest.fixture(autouse=True)
def warnings_are_errors():
    """A run must never leak numpy RuntimeWarnings (overflow, invalid value) to a chapter."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


def test_gd_on_a_bowl_converges_to_the_minimum():
    f = Quadratic.bowl(condition_number=10.0, angle=0.5, center=(1.0, -2.0))
    traj = run(GD(lr=0.1), f, x0=[-1.0, 1.0], steps=400)  # lr < 2 / lambda_max = 0.2
    assert isinstance(traj, Trajectory) and not traj.diverged and traj.diverged_at is None
    assert traj.path.shape == (401, 2) and traj.losses.shape == (401,) and traj.lrs.shape == (400,)
    assert traj.steps_taken == traj.final_state == 400
    np.testing.assert_allclose(traj.path[-1], [1.0, -2.0], atol=1e-10)
    np.testing.assert_allclose(traj.losses, f.value(traj.path), rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(traj.lrs, 0.1)
    assert "400 steps" in repr(traj) and "did not diverge" in repr(traj)


def test_large_lr_on_parabola_diverges_without_warnings():
    # x <- x - lr * 2a x = -2 x: |x_t| = 2^t passes bound 1e6 at x_20, made by step t = 19
    traj = run(GD(lr=1.5), Parabola(a=1.0), x0=1.0, steps=100)
    assert traj.diverged and traj.diverged_at == traj.steps_taken == traj.final_state == 19
    np.testing.assert_array_equal(traj.path, (-2.0) ** np.arange(20))
    assert "diverged at step 19" in repr(traj)


def test_overflow_is_caught_as_divergence():
    traj = run(GD(lr=1.5), Parabola(), x0=1.0, steps=5000, bound=np.inf)  # x^2 overflows first
    assert traj.diverged and traj.diverged_at == traj.steps_taken < 5000
    assert np.all(np.isfinite(traj.path)) and np.all(np.isfinite(traj.losses))
    traj = run(GD(lr=1.0), Cosh(), x0=3.0, steps=100)  # steps lr * sinh(x) explode
    assert traj.diverged and np.all(np.abs(traj.path) <= 1e6)


def test_schedule_values_are_the_lrs_used():
    schedule = lambda t: 1e-3 / (1 + t)  # noqa: E731
    f = Rosenbrock()
    traj = run(GD(lr=123.0), f, x0=[-1.0, 1.0], steps=30, schedule=schedule)
    np.testing.assert_array_equal(traj.lrs, [schedule(t) for t in range(30)])
    for t in range(30):
        expected = traj.path[t] - traj.lrs[t] * f.grad(traj.path[t])
        np.testing.assert_array_equal(traj.path[t + 1], expected)


def test_seeded_stochastic_runs_are_reproducible():
    f = NoisyQuadratic.bowl(condition_number=5.0, noise=0.5)
    a = run(GD(lr=0.1), f, [1.0, 1.0], 50, rng=7)
    b = run(GD(lr=0.1), f, [1.0, 1.0], 50, rng=np.random.default_rng(7))
    c = run(GD(lr=0.1), f, [1.0, 1.0], 50, rng=8)
    exact = run(GD(lr=0.1), f, [1.0, 1.0], 50, stochastic=False)
    np.testing.assert_array_equal(a.path, b.path)
    assert not np.allclose(a.path[1:], c.path[1:])
    np.testing.assert_array_equal(exact.path, run(GD(lr=0.1), Quadratic(f.A), [1.0, 1.0], 50).path)
    with pytest.raises(ValueError, match="stochastic"):
        run(GD(lr=0.1), Rosenbrock(), [0.0, 0.0], 5, stochastic=True)


def test_x0_is_not_mutated_and_not_shared():
    x0 = np.array([-1.0, 2.0])
    traj = run(GD(lr=0.01), Rosenbrock(), x0, steps=10)
    np.testing.assert_array_equal(x0, [-1.0, 2.0])
    traj.path[0] += 1.0
    np.testing.assert_array_equal(x0, [-1.0, 2.0])
    assert run(GD(lr=0.1), Parabola(), 1, steps=3).path.dtype == float  # ints accepted


def test_zero_steps():
    traj = run(GD(lr=0.1), Himmelblau(), [0.0, 0.0], steps=0)
    assert traj.path.shape == (1, 2) and traj.lrs.shape == (0,) and traj.steps_taken == 0


@pytest.mark.parametrize(
    "kwargs, name",
    [
        (dict(steps=-1), "steps"),
        (dict(steps=2.5), "steps"),
        (dict(steps=True), "steps"),
        (dict(x0=[np.nan, 0.0]), "x0"),
        (dict(x0=[2e6, 0.0]), "x0"),
        (dict(x0=[[0.0, 0.0], [1.0, 1.0]]), "single point"),
        (dict(bound=0.0), "bound"),
    ],
)
def test_bad_arguments_raise_value_error(kwargs, name):
    args = dict(optimizer=GD(lr=0.1), landscape=Rosenbrock(), x0=[0.0, 0.0], steps=5) | kwargs
    with pytest.raises(ValueError, match=name):
        run(**args)


# -- with the reference optimizers of course_lib.optim ---------------------------------------
def test_sgd_matches_plain_gradient_descent():
    f = Quadratic.bowl(condition_number=20.0, angle=0.3)
    ours = run(GD(lr=0.05), f, [1.5, -1.0], 100)
    traj = run(SGD(lr=0.05), f, [1.5, -1.0], 100)
    np.testing.assert_allclose(traj.path, ours.path, rtol=1e-14, atol=1e-15)
    assert traj.final_state.step == 100


def test_adam_with_schedule_finds_a_himmelblau_minimum():
    traj = run(Adam(lr=0.1), Himmelblau(), [0.0, 0.0], 2000, schedule=lambda t: 0.1 * 0.998**t)
    assert not traj.diverged and traj.losses[-1] < 1e-12
    assert traj.final_state.step == 2000 and traj.lrs[-1] == pytest.approx(0.1 * 0.998**1999)


def test_sgd_divergence_keeps_the_last_good_state():
    traj = run(SGD(lr=1.5), Parabola(), 1.0, 100)
    assert traj.diverged_at == 19 and traj.final_state.step == 19


def test_lookahead_nesterov_gets_gradients_at_the_lookahead_point():
    # SGD(nesterov=True)'s iterates are the look-ahead points w + momentum * v of the
    # look-ahead form; this holds only if run evaluates grad at optimizer.gradient_point.
    f, x0 = Rosenbrock(), [-1.0, 1.5]
    look = run(LookaheadNesterov(lr=1e-3, momentum=0.9), f, x0, 200)
    torch_form = run(SGD(lr=1e-3, momentum=0.9, nesterov=True), f, x0, 200)
    lookahead_point = look.path[-1] + 0.9 * look.final_state.velocity
    np.testing.assert_allclose(torch_form.path[-1], lookahead_point, rtol=1e-10)


def test_keep_states_records_the_state_of_every_iterate():
    opt = Adagrad(lr=0.5)
    traj = run(opt, Quadratic.bowl(condition_number=10.0), x0=[1.0, 1.0], steps=5, keep_states=True)
    assert len(traj.states) == len(traj.path) == 6
    assert [s.step for s in traj.states] == list(range(6))
    assert traj.states[-1] is traj.final_state
    grads = [Quadratic.bowl(condition_number=10.0).grad(p) for p in traj.path[:-1]]
    np.testing.assert_allclose(traj.states[-1].sum, np.sum(np.square(grads), axis=0))
    assert run(opt, Quadratic.bowl(), x0=[1.0, 1.0], steps=3).states is None
    with pytest.raises(ValueError, match="keep_states must be True or False"):
        run(opt, Quadratic.bowl(), x0=[1.0, 1.0], steps=3, keep_states="yes")


def test_effective_lrs_of_a_run_are_its_steps_over_its_gradients():
    from course_lib.optim import RMSprop
    from course_lib.schedules import ExponentialLR
    from course_lib.train import effective_lrs

    bowl = Quadratic.bowl(condition_number=50.0)
    opt = RMSprop(lr=0.05)
    traj = run(
        opt, bowl, x0=[-1.8, 1.2], steps=30, schedule=ExponentialLR(0.05, 0.9), keep_states=True
    )
    rates = effective_lrs(opt, traj)
    assert rates.shape == (30, 2)
    steps = np.diff(traj.path, axis=0)
    np.testing.assert_allclose(steps, -rates * bowl.grad(traj.path[:-1]), rtol=1e-10)
    with pytest.raises(ValueError, match="keep_states=True"):
        effective_lrs(opt, run(opt, bowl, x0=[-1.8, 1.2], steps=3))


# --------------------------------------------------------------------------------------------
# run_on_plateau: ReduceLROnPlateau fed the exact loss once per epoch
# --------------------------------------------------------------------------------------------
def test_run_on_plateau_equals_a_hand_written_loop():
    from course_lib.landscapes import NoisyQuadratic
    from course_lib.optim import Adam
    from course_lib.schedules import ReduceLROnPlateau
    from course_lib.train import run_on_plateau

    bowl = NoisyQuadratic.bowl(condition_number=5, noise=1.0)
    plateau = ReduceLROnPlateau(0.1, factor=0.5, patience=2, threshold=0.05)
    result = run_on_plateau(
        Adam(lr=0.1), bowl, [-1.5, 1.0], plateau, epochs=30, steps_per_epoch=20, rng=3
    )
    # the same run by hand: one optimizer state throughout, the rate set once per epoch
    rng, reference = (
        np.random.default_rng(3),
        ReduceLROnPlateau(0.1, factor=0.5, patience=2, threshold=0.05),
    )
    opt, x = Adam(lr=0.1), np.array([-1.5, 1.0])
    state, lrs, vals = opt.init(x), [], [bowl.value(x)]
    for _ in range(30):
        lrs.append(reference.lr)
        for _ in range(20):
            x, state = opt.step(x, bowl.stochastic_grad(x, rng), state, lr=reference.lr)
        vals.append(bowl.value(x))
        reference.step(vals[-1])
    np.testing.assert_allclose(result.val_losses, vals, rtol=1e-12)
    np.testing.assert_array_equal(result.lrs, lrs)
    assert len(result.losses) == 30 * 20 + 1 and result.losses[-1] == result.val_losses[-1]
    drops = [e for e in range(1, 30) if lrs[e] < lrs[e - 1]]
    assert list(result.reductions) == drops and len(drops) >= 2
    assert not result.diverged and "rate reduced after epochs" in repr(result)


def test_run_on_plateau_stops_on_divergence_and_checks_arguments():
    from course_lib.landscapes import Quadratic
    from course_lib.optim import SGD
    from course_lib.schedules import ReduceLROnPlateau, StepLR
    from course_lib.train import run_on_plateau

    bowl = Quadratic.bowl(condition_number=10)
    result = run_on_plateau(SGD(lr=1.0), bowl, [1.0, 1.0], ReduceLROnPlateau(1.0), 50, 20)
    assert result.diverged and len(result.lrs) == 1 and len(result.val_losses) == 1
    with pytest.raises(ValueError, match="plateau must be a ReduceLROnPlateau"):
        run_on_plateau(SGD(lr=0.1), bowl, [1.0, 1.0], StepLR(0.1, 3), 5, 5)
    with pytest.raises(ValueError, match="steps_per_epoch must be an int >= 1"):
        run_on_plateau(SGD(lr=0.1), bowl, [1.0, 1.0], ReduceLROnPlateau(0.1), 5, 0)


def test_run_replicas_are_independent_runs_of_their_own_blocks():
    from course_lib.optim import Adam
    from course_lib.schedules import CosineAnnealingLR
    from course_lib.train import run_replicas

    bowl = NoisyQuadratic.bowl(condition_number=5, noise=1.0, center=(0.5, -0.2))
    sched = CosineAnnealingLR(0.1, 60)
    losses, traj = run_replicas(Adam(lr=0.1), bowl, [-1.5, 1.0], 60, 4, schedule=sched, rng=7)
    assert losses.shape == (4, 61) and traj.path.shape == (61, 8)
    # each replica is a run of its own: rerun the same noise draws by hand
    rng = np.random.default_rng(7)
    opt, x = Adam(lr=0.1), np.tile([-1.5, 1.0], 4)
    state = opt.init(x)
    for t in range(60):
        g = (x.reshape(4, 2) @ bowl.A - bowl.b).ravel() + rng.standard_normal(8)
        x, state = opt.step(x, g, state, lr=sched(t))
    np.testing.assert_allclose(traj.path[-1], x, rtol=1e-12)
    np.testing.assert_allclose(losses[:, -1], bowl.value(x.reshape(4, 2)), rtol=1e-12)
    assert len({round(v, 12) for v in losses[:, -1]}) == 4  # different noise in each replica
    np.testing.assert_allclose(losses.sum(axis=0), traj.losses, rtol=1e-10)


def test_run_replicas_needs_a_noisy_quadratic():
    from course_lib.train import run_replicas

    with pytest.raises(ValueError, match="landscape must be a NoisyQuadratic"):
        run_replicas(SGD(lr=0.1), Rosenbrock(), [0.0, 0.0], 10, 3)
    with pytest.raises(ValueError, match="replicas must be an int >= 1"):
        run_replicas(SGD(lr=0.1), NoisyQuadratic.bowl(), [0.0, 0.0], 10, 0)
    with pytest.raises(ValueError, match="x0 must be a point of shape"):
        run_replicas(SGD(lr=0.1), NoisyQuadratic.bowl(), [0.0, 0.0, 1.0], 10, 2)


def _by_hand(opt, f, x0, steps, rng, lr=None):
    """The loop ``run`` documents, with ``optimizer.step`` and its checks on every call."""
    gen = np.random.default_rng(rng)
    x = np.array(x0, dtype=float)
    state, path = opt.init(x), [x]
    for t in range(steps):
        g = f.stochastic_grad(x, gen) if hasattr(f, "stochastic_grad") else f.grad(x)
        x, state = opt.step(x, g, state, **({} if lr is None else {"lr": lr(t)}))
        path.append(x)
    return np.array(path), state


@pytest.mark.parametrize(
    "opt",
    [
        SGD(lr=0.05),
        SGD(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01),
        Adam(lr=0.05, amsgrad=True),
        Adagrad(lr=0.3, lr_decay=0.01),
    ],
    ids=repr,
)
@pytest.mark.parametrize("where", ["2-D noisy", "1-D"])
def test_run_steps_exactly_as_optimizer_step_does(opt, where):
    # run skips step's per-call checks of the parameter tree; the arithmetic must not change
    f, x0 = (
        (NoisyQuadratic.bowl(5.0, noise=0.5), [-1.5, 1.0])
        if where == "2-D noisy"
        else (
            Parabola(),
            1.8,
        )
    )
    schedule = lambda t: 0.05 / (1 + 0.1 * t)  # noqa: E731
    traj = run(opt, f, x0, 40, schedule=schedule, rng=3, keep_states=True)
    path, state = _by_hand(opt, f, x0, 40, 3, lr=schedule)
    np.testing.assert_array_equal(traj.path, path)
    assert type(traj.final_state) is type(state) and traj.final_state.step == state.step == 40
    for mine, theirs in zip(traj.final_state[1:], state[1:]):
        np.testing.assert_array_equal(mine, theirs)
    assert [s.step for s in traj.states] == list(range(41))


def test_run_calls_an_overridden_step():
    class CountingSGD(SGD):
        calls = 0

        def step(self, params, grads, state, *, lr=None):
            CountingSGD.calls += 1
            return super().step(params, grads, state, lr=lr)

    run(CountingSGD(lr=0.1), Quadratic.bowl(), [1.0, 1.0], 7)
    assert CountingSGD.calls == 7


def test_run_still_rejects_a_negative_scheduled_rate():
    with pytest.raises(ValueError, match="lr must be"):
        run(Adam(lr=0.1), Quadratic.bowl(), [1.0, 1.0], 5, schedule=lambda t: 0.1 - 0.05 * t)


@pytest.mark.parametrize(
    "opt", [SGD(lr=0.1), Adam(lr=0.05), SGD(lr=0.05, momentum=0.9), Adagrad(lr=0.3)], ids=repr
)
def test_replica_losses_equal_one_run_replicas_per_rate_sequence(opt):
    from course_lib.train import replica_losses, run_replicas

    bowl = NoisyQuadratic.bowl(condition_number=5, noise=1.0, center=(0.5, -0.2))
    t = np.arange(120)
    rates = np.array([0.1 * np.ones(120), 0.1 * np.cos(t / 80) ** 2, 0.02 + 0.008 * t])
    if isinstance(opt, Adam):
        rates = rates * np.array([[1.0], [1.0], [50.0]])  # the third one large for Adam too
    fast = replica_losses(opt, bowl, [-1.5, 1.0], rates, 5, rng=11)
    assert len(fast) == 3
    for row, losses in zip(rates, fast):
        slow, _ = run_replicas(opt, bowl, [-1.5, 1.0], 120, 5, schedule=row.__getitem__, rng=11)
        assert losses.shape == slow.shape
        np.testing.assert_allclose(losses, slow, rtol=1e-10, atol=1e-300)
    if type(opt) is SGD and opt.momentum == 0:  # lr up to 0.97 > 2/lambda_max: it diverges
        assert fast[2].shape[1] < 121 and fast[0].shape[1] == 121


def test_replica_losses_checks_its_rates():
    from course_lib.train import replica_losses

    bowl = NoisyQuadratic.bowl()
    with pytest.raises(ValueError, match="rates must be a 2-D array"):
        replica_losses(SGD(lr=0.1), bowl, [0.0, 0.0], np.ones(5), 2)
    with pytest.raises(ValueError, match="rates must be learning rates >= 0"):
        replica_losses(SGD(lr=0.1), bowl, [0.0, 0.0], -np.ones((2, 5)), 2)
    with pytest.raises(ValueError, match="landscape must be a NoisyQuadratic"):
        replica_losses(SGD(lr=0.1), Rosenbrock(), [0.0, 0.0], np.ones((1, 5)), 2)


@pytest.mark.parametrize("kind", ["SGD", "Adam", "diverging SGD"])
def test_run_on_plateau_on_a_noisy_quadratic_equals_the_run_by_run_path(kind):
    from course_lib.schedules import ReduceLROnPlateau
    from course_lib.train import run_on_plateau

    # a subclass is not taken for an array update: it goes through run, epoch by epoch
    class RunSGD(SGD):
        pass

    class RunAdam(Adam):
        pass

    lr = {"SGD": 0.1, "Adam": 0.1, "diverging SGD": 0.6}[kind]
    fast_opt, slow_opt = (
        (Adam(lr=lr), RunAdam(lr=lr)) if kind == "Adam" else (SGD(lr=lr), RunSGD(lr=lr))
    )
    bowl = NoisyQuadratic.bowl(condition_number=5, noise=2.0, center=(0.3, 0.1))
    results = [
        run_on_plateau(opt, bowl, [-1.5, 1.0], ReduceLROnPlateau(lr, patience=2), 30, 15, rng=4)
        for opt in (fast_opt, slow_opt)
    ]
    fast, slow = results
    assert fast.reductions == slow.reductions and fast.diverged == slow.diverged
    assert fast.diverged == (kind == "diverging SGD")
    for name in ("val_losses", "lrs", "losses"):
        np.testing.assert_allclose(getattr(fast, name), getattr(slow, name), rtol=1e-12)
    if kind != "diverging SGD":
        assert len(fast.reductions) >= 2
