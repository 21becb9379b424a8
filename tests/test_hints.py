"""Every lesson's hints: three steps each, in words, none of them a line of the solution (the classroom convention)."""

import importlib
import re

import pytest

from .notebook_exercises import REGION, graded_cells

# notebook: the module that holds its HINTS, and its exercises
LESSONS = {
    "01_architecture": ("architecture", {"01.1", "01.2", "01.3"}),
    "02_data": ("data", {"02.1", "02.2"}),
    "03_train_fashion_mnist": ("train_fashion_mnist", {"03.1", "03.2", "03.3", "03.4"}),
    "04_train_cifar10": ("train_cifar10", {"04.1"}),
    "05_filters_and_features": ("filters_and_features_checks", {"05.1", "05.2", "05.3"}),
    "06_inference": ("inference_checks", {"06.1", "06.2", "06.3", "06.4"}),
    "07_claims": ("claims", {"07.1", "07.2", "07.3"}),
    "08_after_alexnet": ("after_alexnet_checks", {"08.1", "08.2"}),
}
# Code, not prose: a definition, a call, an assignment or comparison, a loop header, a literal being returned,
# a tensor method. Naming an API in prose (nn.Sequential, model.relu5, "what it returns") is allowed.
CODE = re.compile(
    r"\b(def|lambda|import)\b|[\w\]]\(|=|\btorch\.|\bfor\b.*\bin\b.*:|\breturn [(\[{\"]|[{(]\""
    r"|\.(topk|max|mean|sum|softmax|cdist|round|fmean)\b"
)


def hints(notebook):
    module, _ = LESSONS[notebook]
    return importlib.import_module(f"alexnet_lib.lessons.{module}").HINTS


def solution_lines(notebook):
    """The lines of code inside the notebook's solution regions (comments stripped)."""
    regions = [match[0] for source in graded_cells(notebook) for match in REGION.finditer(source)]
    lines = (line.split("#")[0].strip() for region in regions for line in region.splitlines())
    return [line for line in lines if line]


@pytest.mark.parametrize("notebook", LESSONS)
def test_each_exercise_has_three_steps_in_words(notebook):
    assert set(hints(notebook)) == LESSONS[notebook][1]
    for exercise, steps in hints(notebook).items():
        assert len(steps) == 3, exercise
        for step in steps:
            assert not CODE.search(step), (exercise, step, CODE.search(step)[0])


@pytest.mark.parametrize("notebook", LESSONS)
def test_no_hint_quotes_a_line_of_the_solution(notebook):
    lines = solution_lines(notebook)
    assert lines, f"{notebook} has no solution region"
    steps = [step for steps in hints(notebook).values() for step in steps]
    for line in lines:
        assert len(line) < 8 or not any(line in step for step in steps), line


def test_the_code_detector_tells_code_from_prose():
    assert CODE.search("then return (arm, verdict)") and CODE.search("call probs.mean over the crops")
    assert CODE.search("x = torch.zeros(3)") and CODE.search("for crop in crops:")
    assert not CODE.search("one nn.Sequential of 5 convolutions; keep what registering returns")
