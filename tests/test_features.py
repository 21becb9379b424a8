"""Looking inside the model (notebook 05): hooks, features, neighbours, PCA, Grad-CAM, saliency, explorer."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pytest
import torch
import torch.nn.functional as F

from alexnet_lib import alexnet
from alexnet_lib.checkpoint import eval_transform
from alexnet_lib.datasets import Stats
from alexnet_lib.features import (
    capture_activations,
    channel_scores,
    colour_selectivity,
    confidence_after_masking,
    count_hooks,
    extract_features,
    grad_cam,
    nearest_neighbours,
    pca,
    saliency,
    stage_outputs,
)
from alexnet_lib.lessons.explorer import ActivationExplorer, widgets_can_display
from alexnet_lib.lessons.filters_and_features import filter_mosaic, plot_filter_epochs, plot_towers
from alexnet_lib.transforms import BatchTransform

SIZE = 67  # the smallest input the paper net takes: fast tests


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return alexnet("paper", num_classes=10, in_channels=1).eval()


@pytest.fixture(scope="module")
def inputs():
    return torch.randn(3, 1, SIZE, SIZE, generator=torch.Generator().manual_seed(1))


@pytest.fixture(scope="module")
def transform():
    return BatchTransform(SIZE, Stats((0.3,), (0.25,), (), ()), train=False, channels_last=False)


def test_hooks_capture_each_stage_with_its_shape_and_are_removed(model, inputs):
    with torch.no_grad(), capture_activations(model, ["conv1", "pool1", "conv3", "relu5", "fc7", "fc8"]) as captured:
        model(inputs)
        assert count_hooks(model) == 6
    shapes = {name: tuple(value.shape) for name, value in captured.items()}
    assert shapes == {
        "conv1": (3, 96, 15, 15),  # (67 - 11) / 4 + 1
        "pool1": (3, 96, 7, 7),
        "conv3": (3, 384, 3, 3),
        "relu5": (3, 256, 3, 3),
        "fc7": (3, 4096),
        "fc8": (3, 10),
    }
    assert count_hooks(model) == 0


def test_no_hook_is_left_behind_when_the_block_raises(model, inputs):
    with pytest.raises(RuntimeError, match="on purpose"), capture_activations(model) as captured:
        model(inputs[:1])
        assert len(captured) == len(list(model.children()))
        raise RuntimeError("on purpose")
    assert count_hooks(model) == 0
    with pytest.raises(ValueError, match="no stage named conv6"), capture_activations(model, ["conv1", "conv6"]):
        pass
    assert count_hooks(model) == 0


def test_stage_outputs_are_every_stage_in_eval_mode_and_keep_the_models_mode(inputs):
    torch.manual_seed(0)
    training = alexnet("paper", num_classes=10, in_channels=1).train()
    outputs = stage_outputs(training, inputs)
    assert list(outputs) == [name for name, _ in training.named_children()]
    torch.testing.assert_close(outputs["drop7"], outputs["relu7"])  # dropout is off in eval mode
    assert training.training and count_hooks(training) == 0


def test_features_are_relu7_in_batches_and_channel_scores_are_maxima(model, transform):
    images = torch.randint(0, 256, (5, 1, 28, 28), dtype=torch.uint8, generator=torch.Generator().manual_seed(2))
    features = extract_features(model, images, transform, batch_size=2)
    assert features.shape == (5, 4096) and features.min() >= 0
    whole = stage_outputs(model, transform(images), ["relu7", "relu2"])
    torch.testing.assert_close(features, whole["relu7"], rtol=1e-4, atol=1e-5)
    scores = channel_scores(model, images, transform, ["relu2"], batch_size=3)["relu2"]
    torch.testing.assert_close(scores, whole["relu2"].amax((2, 3)), rtol=1e-4, atol=1e-5)
    assert count_hooks(model) == 0


@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
def test_nearest_neighbours_are_the_brute_force_nearest(metric):
    generator = torch.Generator().manual_seed(3)
    database = torch.randn(500, 64, generator=generator)
    queries = torch.randn(7, 64, generator=generator)
    found = nearest_neighbours(queries, database, 5, metric=metric, chunk=128)  # several chunks
    if metric == "euclidean":
        brute = (queries[:, None, :] - database[None, :, :]).square().sum(-1).sqrt()
    else:
        brute = 1 - F.cosine_similarity(queries[:, None, :], database[None, :, :], dim=-1)
    expected = brute.sort(1)
    assert torch.equal(found.indices, expected.indices[:, :5])
    torch.testing.assert_close(found.distances, expected.values[:, :5], rtol=1e-4, atol=1e-4)


def test_each_row_is_its_own_nearest_neighbour():
    database = torch.randn(50, 16, generator=torch.Generator().manual_seed(4))
    found = nearest_neighbours(database, database, 1)
    assert torch.equal(found.indices[:, 0], torch.arange(50))
    assert found.distances.max() == 0


def test_pca_matches_an_exact_svd_up_to_sign():
    generator = torch.Generator().manual_seed(5)
    # 400 points near a 3-d subspace of a 300-d space, with a non-zero mean.
    data = torch.randn(400, 3, generator=generator) * torch.tensor([5.0, 3.0, 2.0])
    data = data @ torch.randn(3, 300, generator=generator) + 0.05 * torch.randn(400, 300, generator=generator) + 2.0
    result = pca(data, 2)
    centred = data - data.mean(0)
    _, singular, right = torch.linalg.svd(centred, full_matrices=False)
    reference = centred @ right[:2].T
    signs = (result.coords * reference).sum(0).sign()
    torch.testing.assert_close(result.coords, reference * signs, rtol=1e-3, atol=1e-3)
    torch.testing.assert_close(result.explained, singular[:2].square() / singular.square().sum(), rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(result.directions.norm(dim=0), torch.ones(2))
    torch.testing.assert_close(pca(data, 2).coords, result.coords)  # repeatable


def test_grad_cam_has_the_inputs_size_is_non_negative_and_matches_a_hand_computation(model, inputs):
    targets = torch.tensor([1, 4, 7])
    with torch.no_grad():  # it must work even when called with gradients off
        cams = grad_cam(model, inputs, targets)
    assert cams.shape == (3, SIZE, SIZE)
    assert cams.min() >= 0 and torch.allclose(cams.flatten(1).amax(1), torch.ones(3))
    assert count_hooks(model) == 0 and all(p.grad is None for p in model.parameters())
    # The oracle: split the network after relu5 and differentiate by hand.
    stages = [name for name, _ in model.named_children()]
    cut = stages.index("relu5") + 1
    layers = list(model.children())
    maps = torch.nn.Sequential(*layers[:cut])(inputs).detach().requires_grad_(True)
    logits = torch.nn.Sequential(*layers[cut:])(maps)
    (gradients,) = torch.autograd.grad(logits.gather(1, targets[:, None]).sum(), maps)
    cam = F.relu((gradients.mean((2, 3), keepdim=True) * maps).sum(1, keepdim=True)).detach()
    cam = F.interpolate(cam, size=(SIZE, SIZE), mode="bilinear", align_corners=False)[:, 0]
    torch.testing.assert_close(cams, cam / cam.flatten(1).amax(1)[:, None, None], rtol=1e-4, atol=1e-5)


def test_saliency_is_the_gradient_magnitude_at_the_inputs_size(model, inputs):
    maps = saliency(model, inputs)
    assert maps.shape == (3, SIZE, SIZE) and maps.min() >= 0
    x = inputs.clone().requires_grad_(True)
    logits = model(x)
    (gradient,) = torch.autograd.grad(logits.max(1).values.sum(), x)
    expected = gradient.abs().amax(1)
    torch.testing.assert_close(maps, expected / expected.flatten(1).amax(1)[:, None, None])
    assert count_hooks(model) == 0 and x.grad is None


def test_masking_hides_the_top_fraction_of_pixels(model, inputs):
    maps = torch.rand(3, SIZE, SIZE, generator=torch.Generator().manual_seed(6))
    targets = torch.tensor([0, 1, 2])
    confidence = confidence_after_masking(model, inputs, maps, targets, fraction=0.25)
    hidden = round(0.25 * SIZE * SIZE)
    threshold = maps.flatten(1).topk(hidden).values[:, -1:, None]  # the smallest value that is hidden
    masked = inputs * (maps < threshold).unsqueeze(1)
    with torch.no_grad():
        expected = model(masked).softmax(1)[torch.arange(3), targets]
    torch.testing.assert_close(confidence, expected, rtol=1e-4, atol=1e-6)


def test_colour_selectivity_is_zero_for_grey_filters_and_two_thirds_for_noise():
    grey = torch.randn(10, 1, 11, 11).expand(10, 3, 11, 11)
    assert colour_selectivity(grey).abs().max() < 1e-6
    assert colour_selectivity(torch.randn(10, 1, 11, 11)).abs().max() == 0
    noise = colour_selectivity(torch.randn(4000, 3, 11, 11, generator=torch.Generator().manual_seed(7)))
    assert abs(noise.mean().item() - 2 / 3) < 0.01


def test_eval_transform_follows_the_checkpoint():
    checkpoint = {
        "image_size": SIZE,
        "crop": 1.0,
        "in_channels": 3,
        "normalization": {"mean": [0.5], "std": [0.25]},
    }
    transform = eval_transform(checkpoint)
    images = torch.full((2, 1, 28, 28), 191, dtype=torch.uint8)
    out = transform(images)
    assert out.shape == (2, 3, SIZE, SIZE)
    torch.testing.assert_close(out, torch.full_like(out, (191 / 255 - 0.5) / 0.25))


def test_explorer_ranks_images_and_draws_the_same_figure_statically(model, transform, monkeypatch):
    images = torch.randint(0, 256, (12, 1, 28, 28), dtype=torch.uint8, generator=torch.Generator().manual_seed(8))
    explorer = ActivationExplorer(model, images, torch.arange(12) % 10, [str(i) for i in range(10)], transform, top=4)
    indices, values = explorer.top_images("relu3", 7)
    assert torch.equal(values, explorer.scores["relu3"][:, 7].sort(descending=True).values[:4])
    assert int(explorer.scores["relu3"][indices[0], 7]) == int(explorer.scores["relu3"][:, 7].max())
    monkeypatch.delenv("ALEXNET_WIDGETS", raising=False)
    assert not widgets_can_display()  # no Jupyter kernel under pytest
    monkeypatch.setenv("ALEXNET_WIDGETS", "1")
    assert widgets_can_display() and not widgets_can_display(False)
    plt.close("all")
    explorer.show(2, "relu3", interactive=False)
    assert len(plt.gcf().axes) == 3 + 1 + 4  # image, map, colourbar, overlay; the 4 top images
    assert count_hooks(model) == 0


def test_filter_figures_scale_each_filter_on_its_own():
    weights = torch.randn(6, 3, 11, 11) * torch.arange(1, 7).view(6, 1, 1, 1)
    mosaic = filter_mosaic(weights, columns=3, pad=1)
    assert mosaic.shape == (2 * 12 + 1, 3 * 12 + 1, 3)
    for index in range(6):
        row, column = divmod(index, 3)
        tile = mosaic[1 + row * 12 : 12 + row * 12, 1 + column * 12 : 12 + column * 12]
        assert tile.min() == 0 and tile.max() == 1
    plot_towers(torch.randn(96, 3, 11, 11), torch.randn(96, 3, 11, 11))
    plot_filter_epochs([0, 1, 2], [torch.randn(96, 1, 11, 11) for _ in range(3)])
