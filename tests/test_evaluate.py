"""Evaluation: top-k, the paper's 10 crops, confusion, mistakes."""

import pytest
import torch

from alexnet_lib import alexnet
from alexnet_lib.datasets import ImageSet
from alexnet_lib.evaluate import Evaluation, evaluate
from alexnet_lib.transforms import BatchTransform, ten_crop_views


def test_ten_crops_are_the_four_corners_the_centre_and_their_mirrors():
    views = ten_crop_views(1, 32, 32, 0.875, torch.device("cpu"))
    corners = [(v.left.item(), v.top.item(), v.flip.item()) for v in views]
    side = 0.875 * 32
    assert corners[:5] == [
        (0, 0, False),
        (32 - side, 0, False),
        (0, 32 - side, False),
        (32 - side, 32 - side, False),
        ((32 - side) / 2, (32 - side) / 2, False),
    ]
    assert [c[:2] for c in corners[5:]] == [c[:2] for c in corners[:5]] and all(c[2] for c in corners[5:])


def test_ten_crop_evaluation_averages_the_softmax_over_the_ten_views(fashion_small):
    torch.manual_seed(0)
    model = alexnet("paper", num_classes=10, in_channels=1).eval()
    data = fashion_small.test.subset(16)
    transform = BatchTransform(67, fashion_small.stats, train=False)
    result = evaluate(model, data, transform, tta=True)
    with torch.no_grad():
        views = ten_crop_views(16, 28, 28, transform.crop, torch.device("cpu"))
        expected = torch.stack([model(transform(data.images, view)).softmax(1) for view in views]).mean(0)
    torch.testing.assert_close(result.probs, expected)
    assert not torch.allclose(result.probs, evaluate(model, data, transform).probs)


def test_figures_from_predictions():
    probs = torch.tensor([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.6, 0.3, 0.1], [0.2, 0.3, 0.5]])
    result = Evaluation(probs, torch.tensor([0, 1, 1, 2]), ["a", "b", "c"])
    assert result.top1 == 0.75 and result.top5 == 1.0
    assert result.confusion().tolist() == [[1, 0, 0], [1, 1, 0], [0, 0, 1]]
    assert result.per_class_accuracy().tolist() == [1.0, 0.5, 1.0]
    assert result.confident_mistakes(5).tolist() == [2]


def test_evaluate_leaves_a_training_model_in_training_mode(fashion_small):
    model = alexnet("paper", num_classes=10, in_channels=1).train()
    evaluate(
        model,
        ImageSet(fashion_small.test.images[:4], fashion_small.test.labels[:4], fashion_small.classes),
        BatchTransform(67, fashion_small.stats, train=False),
    )
    assert model.training


def test_the_confident_mistakes_figure_titles_each_image_true_then_predicted():
    import matplotlib.pyplot as plt

    from alexnet_lib.visualize import show_confident_mistakes

    probs = torch.tensor([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.6, 0.3, 0.1], [0.1, 0.2, 0.7]])
    result = Evaluation(probs, torch.tensor([0, 1, 1, 0]), ["cat", "dog", "ship"])
    images = torch.arange(4, dtype=torch.uint8).view(4, 1, 1, 1).expand(4, 3, 8, 8)
    figure = show_confident_mistakes(result, images, result.classes)
    titles = [axis.get_title() for axis in figure.axes if axis.get_title()]
    assert titles == ["cat\n→ ship 70%", "dog\n→ cat 60%"]  # the surer mistake first
    assert figure.axes[0].get_images()[0].get_array()[0, 0, 0] == pytest.approx(3 / 255)  # image 3 first
    plt.close(figure)
