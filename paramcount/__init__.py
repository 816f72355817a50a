"""Count a neural network's weights and biases from a YAML spec, without a framework."""

__version__ = "0.1.0"

from .analyze import Report, analyze
from .errors import Problem, SpecError
from .sources import load, load_file, load_preset, preset_names
from .spec import load_text, parse_size

__all__ = ["Problem", "Report", "SpecError", "analyze", "load", "load_file", "load_preset",
           "load_text", "parse_size", "preset_names"]
