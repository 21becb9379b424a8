"""The widgets on the installed ipywidgets: 8 here, 7.7 as Colab ships it (`make test-colab` runs this file there).

Self-contained on purpose: `make test-colab` copies it out of the checkout to test the installed package.
"""

import ipywidgets as widgets
import pytest
import torch

from alexnet_lib import alexnet
from alexnet_lib.datasets import Stats
from alexnet_lib.lessons.explorer import ActivationExplorer
from alexnet_lib.lessons.inference import uploaded_files
from alexnet_lib.transforms import BatchTransform

IPYWIDGETS_MAJOR = int(widgets.__version__.split(".")[0])
FILES = [("cat.png", b"\x89PNG cat"), ("ship.jpg", b"\xff\xd8 ship")]


def pick_files(upload, files):
    """Set a real ``FileUpload`` the way its browser frontend does once a person has picked ``files``.

    ipywidgets 7 (Colab): the frontend sends ``metadata`` and ``data`` (binary buffers), then bumps
    ``_counter``, and the widget builds ``value`` = {name: {"metadata": ..., "content": bytes}}.
    ipywidgets 8: it sends ``value``, a list of dicts that the widget turns into a tuple of dicts
    with ``name`` and ``content`` (a memoryview).
    """
    metadata = [{"name": name, "type": "image/*", "size": len(data), "lastModified": 0} for name, data in files]
    if IPYWIDGETS_MAJOR == 7:
        upload.set_state({"metadata": metadata, "data": [memoryview(data) for _, data in files]})
        upload.set_state({"_counter": upload._counter + 1})
    else:
        value = [
            {**meta, "last_modified": 0, "content": memoryview(data)}
            for meta, (_, data) in zip(metadata, files, strict=True)
        ]
        upload.set_state({"value": value})


@pytest.mark.parametrize("files", [FILES[:1], FILES], ids=["one-file", "two-files"])
def test_uploaded_files_reads_a_real_file_upload(files):
    upload = widgets.FileUpload(accept="image/*", multiple=len(files) > 1, description="Upload image")
    assert uploaded_files(upload) == []  # nothing picked yet
    pick_files(upload, files)
    assert isinstance(upload.value, dict if IPYWIDGETS_MAJOR == 7 else tuple)  # the shape this version gives
    assert uploaded_files(upload) == files
    assert all(type(content) is bytes for _, content in uploaded_files(upload))


def test_explorer_widget_redraws_for_each_control():
    torch.manual_seed(0)
    model = alexnet("paper", num_classes=10, in_channels=1).eval()
    transform = BatchTransform(67, Stats((0.3,), (0.25,), (), ()), train=False, channels_last=False)
    images = torch.randint(0, 256, (6, 1, 28, 28), dtype=torch.uint8, generator=torch.Generator().manual_seed(3))
    explorer = ActivationExplorer(model, images, torch.arange(6), [str(i) for i in range(10)], transform, top=3)
    drawn = []
    figure = explorer.figure
    explorer.figure = lambda *args: drawn.append(args) or figure(*args)

    app = explorer.widget(1, "relu5", 0)
    assert isinstance(app, widgets.VBox)
    (image_slider, layer_menu), (channel_slider, strongest) = (row.children for row in app.children[:2])
    assert drawn == [(1, "relu5", 0)]
    image_slider.value = 4
    channel_slider.value = 5
    assert drawn[-2:] == [(4, "relu5", 0), (4, "relu5", 5)]
    layer_menu.value = "relu2"  # the channel jumps to the image's strongest in relu2: one redraw
    assert channel_slider.max == explorer.channels("relu2") - 1
    assert drawn[-1] == (4, "relu2", explorer.strongest_channel(4, "relu2")) and len(drawn) == 4
    channel_slider.value = (channel_slider.value + 1) % explorer.channels("relu2")
    strongest.click()
    assert drawn[-1] == (4, "relu2", explorer.strongest_channel(4, "relu2")) and len(drawn) == 6
