"""Notebook 03's checks: teacher solutions pass, nbgrader's stubs are "not done yet", typical mistakes named."""

import pytest
import torch
import torch.nn.functional as F

from alexnet_lib.datasets import ImageSet
from alexnet_lib.evaluate import evaluate
from alexnet_lib.lessons.checking import NotYet
from alexnet_lib.lessons.train_fashion_mnist import check_evaluation, check_train_step
from alexnet_lib.transforms import BatchTransform

from .notebook_exercises import exercise

NOTEBOOK = "03_train_fashion_mnist"
IMPORTS = {"torch": torch, "F": F, "ImageSet": ImageSet, "BatchTransform": BatchTransform}


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
