"""An activation explorer for notebook 05: pick an image, a layer and a channel, see what excites it.

With a live Jupyter frontend (JupyterLab, Notebook, VS Code, Colab) it is a small ipywidgets
app; where widgets cannot display, as when nbval or ``make course`` executes the notebook
headless, it draws the same figure once with matplotlib. ``widgets_can_display`` decides.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import Any

import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure
from torch import nn

from ..errors import CourseError
from ..features import channel_scores, stage_outputs
from ..transforms import BatchTransform
from ..visualize import denormalize
from .filters_and_features import imshow, stage_label

# The maps after each convolution's ReLU: what the next layer sees.
LAYERS = ("relu1", "relu2", "relu3", "relu4", "relu5")


def widgets_can_display(interactive: bool | None = None) -> bool:
    """Whether an ipywidgets app would be seen: ``interactive`` if given, else ``ALEXNET_WIDGETS``, else a guess.

    The guess: ipywidgets is installed, the code runs in a Jupyter kernel, and the cell was
    sent by a frontend that accepts ``input()``. Headless executors (nbval, nbclient, hence
    ``make test`` and ``make course``) send their cells with ``allow_stdin=False`` because
    no person is there to answer, and no person is there to move a slider either.
    """
    try:
        import ipywidgets  # noqa: F401
        from IPython import get_ipython
    except ImportError:
        return False
    if interactive is not None:
        return interactive
    setting = os.environ.get("ALEXNET_WIDGETS", "").strip().lower()
    if setting in ("0", "1", "true", "false", "yes", "no", "on", "off"):
        return setting in ("1", "true", "yes", "on")
    kernel = getattr(get_ipython(), "kernel", None)
    if kernel is None:  # plain Python, a script, or terminal IPython
        return False
    return "google.colab" in sys.modules or bool(getattr(kernel, "_allow_stdin", False))


class ActivationExplorer:
    """Channel responses of a pool of images, and the figure for one (image, layer, channel).

    ``images`` are uint8 (N x C x H x W), e.g. a few hundred test images; each channel's
    score for an image is its largest activation anywhere in the image (``channel_scores``).
    """

    def __init__(
        self,
        model: nn.Module,
        images: torch.Tensor,
        labels: torch.Tensor,
        classes: Sequence[str],
        transform: BatchTransform,
        *,
        layers: Sequence[str] = LAYERS,
        top: int = 8,
        batch_size: int = 256,
    ) -> None:
        self.model, self.images, self.labels, self.classes = model, images.cpu(), labels.cpu(), list(classes)
        self.transform, self.layers, self.top = transform, list(layers), top
        self.scores = channel_scores(model, self.images, transform, self.layers, batch_size=batch_size)

    def channels(self, layer: str) -> int:
        return self.scores[layer].shape[1]

    def strongest_channel(self, index: int, layer: str) -> int:
        """The channel of ``layer`` that responds most to image ``index``."""
        return int(self.scores[layer][index].argmax())

    def top_images(self, layer: str, channel: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Indices and scores of the pool's images that activate ``channel`` most, strongest first."""
        values, indices = self.scores[layer][:, channel].topk(min(self.top, len(self.images)))
        return indices, values

    def figure(self, index: int = 0, layer: str = "relu5", channel: int | None = None) -> Figure:
        """Image ``index`` with ``channel``'s map at ``layer`` (default: its strongest channel), and
        the pool's images that activate that channel most."""
        if layer not in self.scores:
            raise CourseError(f"no layer {layer!r} in this explorer; choose one of {', '.join(self.scores)}")
        if not 0 <= index < len(self.images):
            raise CourseError(f"image index {index} is outside 0..{len(self.images) - 1}")
        channel = self.strongest_channel(index, layer) if channel is None else channel
        if not 0 <= channel < self.channels(layer):
            raise CourseError(f"{layer} has channels 0..{self.channels(layer) - 1}, not {channel}")
        device = next(self.model.parameters()).device
        inputs = self.transform(self.images[index : index + 1].to(device))
        activation = stage_outputs(self.model, inputs, [layer])[layer][0, channel].float().cpu()
        seen = denormalize(inputs, self.transform.stats.mean, self.transform.stats.std)[0].cpu()
        indices, values = self.top_images(layer, channel)
        label = stage_label(layer)

        figure = plt.figure(figsize=(max(9.0, 1.15 * len(indices)), 5.0))
        upper, lower = figure.subfigures(2, 1, height_ratios=[1.35, 1])
        axes = upper.subplots(1, 3)
        imshow(axes[0], seen, f"image {index}: {self.classes[int(self.labels[index])]}", fontsize=10)
        shown = axes[1].imshow(activation.numpy(), cmap="magma", vmin=0, interpolation="nearest")
        axes[1].set_title(f"{label}, channel {channel}\n{activation.shape[0]}x{activation.shape[1]} map", fontsize=10)
        axes[1].set_xticks([])
        axes[1].set_yticks([])
        upper.colorbar(shown, ax=axes[1], fraction=0.046)
        overlay = torch.nn.functional.interpolate(activation[None, None], size=seen.shape[-2:], mode="bilinear")[0, 0]
        imshow(axes[2], seen, "where it fires", fontsize=10)
        axes[2].imshow(overlay.numpy(), cmap="magma", alpha=0.55, vmin=0)
        lower.suptitle(
            f"the {len(indices)} images of {len(self.images)} that excite channel {channel} most", fontsize=10
        )
        for axis, image_index, value in zip(
            lower.subplots(1, len(indices)), indices.tolist(), values.tolist(), strict=True
        ):
            imshow(axis, self.images[image_index], f"{self.classes[int(self.labels[image_index])]}\n{value:.2f}")
        return figure

    def show(
        self, index: int = 0, layer: str = "relu5", channel: int | None = None, *, interactive: bool | None = None
    ) -> None:
        """Display the explorer app where widgets can display; otherwise the static figure for these choices."""
        if widgets_can_display(interactive):
            from IPython.display import display

            display(self.widget(index, layer, channel))
            return
        print(
            "Static view (widgets cannot display here; pass interactive=True or set ALEXNET_WIDGETS=1 "
            "to force them); change index, layer and channel in the call to show()."
        )
        self.figure(index, layer, channel)
        plt.show()

    def widget(self, index: int = 0, layer: str = "relu5", channel: int | None = None) -> Any:
        """The ipywidgets app: image and channel sliders, a layer menu, a "strongest channel" button, the figure."""
        import ipywidgets as widgets
        from IPython.display import display

        channel = self.strongest_channel(index, layer) if channel is None else channel
        image_slider = widgets.IntSlider(value=index, min=0, max=len(self.images) - 1, description="image")
        layer_menu = widgets.Dropdown(
            options=[(stage_label(name), name) for name in self.layers], value=layer, description="layer"
        )
        channel_slider = widgets.IntSlider(value=channel, min=0, max=self.channels(layer) - 1, description="channel")
        strongest = widgets.Button(description="strongest channel", tooltip="the channel this image excites most")
        output = widgets.Output()

        def redraw(*_: Any) -> None:
            with output:
                output.clear_output(wait=True)
                figure = self.figure(image_slider.value, layer_menu.value, channel_slider.value)
                display(figure)
                plt.close(figure)  # shown once, in the output area; not again when the cell ends

        def pick_strongest(*_: Any) -> None:
            channel_slider.value = self.strongest_channel(image_slider.value, layer_menu.value)

        def change_layer(change: dict) -> None:
            before = channel_slider.value
            with channel_slider.hold_trait_notifications():  # one redraw for both changes
                channel_slider.max = self.channels(change["new"]) - 1
                channel_slider.value = self.strongest_channel(image_slider.value, change["new"])
            if channel_slider.value == before:  # no change notification, so draw the new layer here
                redraw()

        layer_menu.observe(change_layer, names="value")
        image_slider.observe(redraw, names="value")
        channel_slider.observe(redraw, names="value")
        strongest.on_click(pick_strongest)
        redraw()
        return widgets.VBox(
            [widgets.HBox([image_slider, layer_menu]), widgets.HBox([channel_slider, strongest]), output]
        )
