"""The AlexNet course's shared code: model, data, training, visualisation, inference, checks."""

from .model import VARIANTS, AlexNet, LocalResponseNorm, alexnet, count_parameters

__all__ = ["VARIANTS", "AlexNet", "LocalResponseNorm", "alexnet", "count_parameters"]
__version__ = "0.1.0"
