"""Notebook 03's checks: teacher solutions pass, nbgrader's stubs are "not done yet", typical mistakes named."""

import math

import pytest
import torch
import torch.nn.functional as F

from alexnet_lib.datasets import ImageSet
from alexnet_lib.evaluate import evaluate
from alexnet_lib.lessons.checking import NotYet
from alexnet_lib.lessons.train_fashion_mnist import (
    NEAR_CHANCE,
    SanityCase,
    check_evaluation,
    check_fit,
    check_sanity,
    check_train_step,
    sanity_classes,
)
from alexnet_lib.transforms import BatchTransform

from .notebook_exercises import exercise

NOTEBOOK = "03_train_fashion_mnist"
IMPORTS = {"math": math, "torch": torch, "F": F, "ImageSet": ImageSet, "BatchTransform": BatchTransform}


def solution(grade_id, name):
    return exercise(NOTEBOOK, grade_id, name, IMPORTS)


def stub(grade_id, name):
    return exercise(NOTEBOOK, grade_id, name, IMPORTS, student=True)


def message(check, *args):
    with pytest.raises(NotYet) as verdict:
        check(*args)
    return str(verdict.value)


# Typical wrong training steps.
def step_without_zeroing(model, optimizer, images, labels):
    model.train()
    loss = F.cross_entropy(model(images), labels)
    loss.backward()
    optimizer.step()
    return loss.item()


def step_on_probabilities(model, optimizer, images, labels):
    model.train()
    loss = F.cross_entropy(model(images).softmax(1), labels)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()


def step_in_eval_mode(model, optimizer, images, labels):
    loss = F.cross_entropy(model(images), labels)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()


def step_cleared_before_stepping(model, optimizer, images, labels):
    model.train()
    loss = F.cross_entropy(model(images), labels)
    loss.backward()
    optimizer.zero_grad()
    optimizer.step()
    return loss.item()


def step_clearing_afterwards(model, optimizer, images, labels):  # right: the next backward starts clean
    model.train()
    loss = F.cross_entropy(model(images), labels)
    loss.backward()
    optimizer.step()
    optimizer.zero_grad()
    return loss  # a 0-d tensor counts as a number


def test_the_teachers_training_step_passes_on_every_seed(capsys):
    train_step = solution("ex03_train_step", "train_step")
    for seed in (0, 7, 1, 2, 3):
        assert check_train_step(train_step, seed) is True
    assert check_train_step(step_clearing_afterwards) is True
    assert all(line.startswith("Correct! the loss fell") for line in capsys.readouterr().out.splitlines())


def test_the_untouched_training_step_is_not_done_yet():
    assert message(check_train_step, stub("ex03_train_step", "train_step")).startswith("Not done yet: write train_step")


@pytest.mark.parametrize(
    ("step", "diagnosis"),
    [
        (step_without_zeroing, "gradients pile up"),
        (step_on_probabilities, "cross-entropy of softmax outputs"),
        (step_in_eval_mode, "ran in evaluation mode"),
        (step_cleared_before_stepping, "weights did not change"),
        (lambda model, optimizer, images, labels: 1 / 0, "train_step raised ZeroDivisionError"),
    ],
)
def test_typical_wrong_steps_are_named(step, diagnosis):
    text = message(check_train_step, step)
    assert text.startswith("Not yet: ") and diagnosis in text and text.endswith("(hint('03.1') for a hint)")


# Typical wrong evaluation loops.
def count(model, data, transform, batch_size, stop=None):
    right = 0
    for start in range(0, stop or len(data), batch_size):
        images = transform(data.images[start : start + batch_size])
        right += (model(images).argmax(1) == data.labels[start : start + batch_size]).sum().item()
    return right


def evaluation_with_dropout(model, data, transform, batch_size=256):
    with torch.no_grad():
        return count(model, data, transform, batch_size) / len(data)


def evaluation_tracking_gradients(model, data, transform, batch_size=256):
    was_training = model.training
    model.eval()
    right = count(model, data, transform, batch_size)
    model.train(was_training)
    return right / len(data)


def evaluation_left_in_eval_mode(model, data, transform, batch_size=256):
    model.eval()
    with torch.no_grad():
        return count(model, data, transform, batch_size) / len(data)


def evaluation_always_back_to_training(model, data, transform, batch_size=256):
    accuracy = evaluation_left_in_eval_mode(model, data, transform, batch_size)
    model.train()
    return accuracy


def evaluation_without_the_last_batch(model, data, transform, batch_size=256):
    was_training = model.training
    model.eval()
    whole = len(data) // batch_size * batch_size
    with torch.no_grad():
        right = count(model, data, transform, batch_size, stop=whole)
    model.train(was_training)
    return right / whole


def evaluation_by_the_library(model, data, transform, batch_size=256):
    return evaluate(model, data, transform).top1


def evaluation_in_inference_mode(model, data, transform, batch_size=256):  # right: no gradients either
    was_training = model.training
    model.eval()
    with torch.inference_mode():
        right = count(model, data, transform, batch_size)
    model.train(was_training)
    return torch.tensor(right / len(data))  # a 0-d tensor counts as a number


def test_the_teachers_evaluation_loop_passes_on_every_seed(capsys):
    top1_accuracy = solution("ex03_evaluation", "top1_accuracy")
    for seed in (0, 7, 1, 2, 3):
        assert check_evaluation(top1_accuracy, seed) is True
    assert check_evaluation(evaluation_in_inference_mode) is True
    assert all(line.startswith("Correct! top-1") for line in capsys.readouterr().out.splitlines())


def test_the_untouched_evaluation_loop_is_not_done_yet():
    text = message(check_evaluation, stub("ex03_evaluation", "top1_accuracy"))
    assert text.startswith("Not done yet: write top1_accuracy")


@pytest.mark.parametrize(
    ("loop", "diagnosis"),
    [
        (evaluation_with_dropout, "training mode, dropout on"),
        (evaluation_tracking_gradients, "tracked gradients"),
        (evaluation_left_in_eval_mode, "came in training mode and left"),
        (evaluation_always_back_to_training, "came in evaluation mode and left"),
        (evaluation_without_the_last_batch, "only the first 48 of 53 images"),
        (lambda *args: 100 * solution("ex03_evaluation", "top1_accuracy")(*args), "looks like a percentage"),
        (evaluation_by_the_library, "calls alexnet_lib.evaluate.evaluate, the course's own code"),
    ],
)
def test_typical_wrong_evaluation_loops_are_named(loop, diagnosis):
    text = message(check_evaluation, loop)
    assert text.startswith("Not yet: ") and diagnosis in text


# 03.3, the sanity checks: the learner's own train_step (the teacher's) is in the notebook's namespace.
def sanity_solution():
    namespace = {**IMPORTS, "train_step": solution("ex03_train_step", "train_step")}
    return exercise(NOTEBOOK, "ex03_sanity", "sanity_checks", namespace)


def eval_loss(model, images, labels, softmax=False):
    model.eval()
    with torch.no_grad():
        logits = model(images)
    return F.cross_entropy(logits.softmax(1) if softmax else logits, labels).item()


def overfit(model, optimizer, images, labels, steps=300):
    for _ in range(steps):
        step_clearing_afterwards(model, optimizer, images, labels)


def sanity(initial=eval_loss, chance=lambda c: math.log(c), steps=300, final=None):
    """A sanity_checks with one part swapped for a typical mistake; run outside the watch (a test's own code)."""

    def sanity_checks(model, optimizer, images, labels):
        first = initial(model, images, labels)
        classes = model.fc8.out_features
        overfit(model, optimizer, images, labels, steps)
        last = final(model, optimizer, images, labels) if final else eval_loss(model, images, labels)
        return first, chance(classes), last

    return sanity_checks


def in_training_mode(model, images, labels):
    model.train()
    with torch.no_grad():
        return F.cross_entropy(model(images), labels).item()


def after_training(model, images, labels):
    overfit(model, torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9), images, labels)
    return eval_loss(model, images, labels)


def last_step_loss(model, optimizer, images, labels):
    return step_clearing_afterwards(model, optimizer, images, labels).item()


def test_the_check_s_networks_start_near_chance():
    for seed in range(10):
        case = SanityCase(seed)
        assert abs(case.loss() - math.log(sanity_classes(seed))) < NEAR_CHANCE, seed


def test_the_teachers_sanity_checks_pass_on_every_seed(capsys):
    sanity_checks = sanity_solution()
    for seed in (0, 7, 1, 2):
        assert check_sanity(sanity_checks, seed) is True
    assert all(line.startswith("Correct! initial loss") for line in capsys.readouterr().out.splitlines())


def test_the_untouched_sanity_checks_are_not_done_yet():
    namespace = {**IMPORTS, "train_step": solution("ex03_train_step", "train_step")}
    untouched = exercise(NOTEBOOK, "ex03_sanity", "sanity_checks", namespace, student=True)
    assert message(check_sanity, untouched).startswith("Not done yet: write sanity_checks")


@pytest.mark.parametrize(
    ("answer", "seed", "diagnosis"),
    [
        (sanity(initial=lambda m, i, y: eval_loss(m, i, y, softmax=True)), 0, "cross-entropy of softmax outputs"),
        (sanity(initial=in_training_mode), 0, "measured in training mode, dropout on"),
        (sanity(initial=after_training), 0, "the loss after training"),
        (sanity(chance=math.log2), 0, "log base 2"),
        (sanity(chance=math.log10), 0, "log base 10"),
        (sanity(chance=lambda c: 1 / c), 0, "the probability of each class"),
        (sanity(chance=lambda c: math.log(10)), 7, "but this network has 6 classes"),
        (sanity(steps=0), 0, "the network never trained"),
        (sanity(steps=3), 0, "the loss on the batch is still"),
        (sanity(steps=60, final=last_step_loss), 0, "you report a final loss"),
        (lambda model, optimizer, images, labels: 2.3, 0, "return three numbers"),
    ],
)
def test_typical_wrong_sanity_checks_are_named(answer, seed, diagnosis):
    text = message(check_sanity, answer, seed)
    assert text.startswith("Not yet: ") and diagnosis in text and text.endswith("(hint('03.3') for a hint)"), text


def test_sanity_checks_that_change_the_batch_are_refused():
    def relabel(model, optimizer, images, labels):
        labels.zero_()
        return sanity()(model, optimizer, images, labels)

    assert "changed the batch" in message(check_sanity, relabel)


# 03.4, the learner's network to a target: each full run trains for about 12 s on a 2-core CPU, so few of them.
def fit_solution():
    namespace = {
        **IMPORTS,
        "train_step": solution("ex03_train_step", "train_step"),
        "top1_accuracy": solution("ex03_evaluation", "top1_accuracy"),
    }
    return exercise(NOTEBOOK, "ex03_fit", "fit", namespace)


def test_the_teachers_fit_reaches_the_target(capsys):
    assert check_fit(fit_solution()) is True
    assert capsys.readouterr().out.startswith("Correct! ")


def test_the_untouched_fit_is_not_done_yet():
    namespace = {**IMPORTS, "train_step": None, "top1_accuracy": None}
    untouched = exercise(NOTEBOOK, "ex03_fit", "fit", namespace, student=True)
    assert message(check_fit, untouched).startswith("Not done yet: write fit")


def one_epoch(model, optimizer, train, val, train_transform, val_transform, epochs, batch_size):
    return fit_solution()(model, optimizer, train, val, train_transform, val_transform, 1, batch_size)


def measured_before_training(model, optimizer, train, val, train_transform, val_transform, epochs, batch_size):
    return solution("ex03_evaluation", "top1_accuracy")(model, val, val_transform)


def in_percent(*args):
    return 100 * fit_solution()(*args)


@pytest.mark.parametrize(
    ("answer", "diagnosis"),
    [
        (lambda *args: 0.85, "fit never trained the network"),
        (measured_before_training, "fit never trained the network"),
        (one_epoch, "fit trained on 6,000 images; 3 epochs of 6,000 are 18,000"),
        (in_percent, "return your top1_accuracy on them"),
    ],
)
def test_typical_wrong_fits_are_named(answer, diagnosis):
    text = message(check_fit, answer)
    assert text.startswith("Not yet: ") and diagnosis in text and text.endswith("(hint('03.4') for a hint)"), text


def test_a_forward_hook_that_fakes_the_logits_does_not_fool_the_check():
    def faking(model, optimizer, images, labels):
        initial = eval_loss(model, images, labels)
        model.register_forward_hook(lambda module, args, out: 50 * F.one_hot(labels, out.shape[1]).float())
        model.train()
        model(images)  # a "training" pass that trains nothing
        return initial, math.log(10), eval_loss(model, images, labels)

    assert "the loss on the batch is still" in message(check_sanity, faking)
