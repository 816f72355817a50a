"""Bounds on what a spec may ask for, so that a hostile file costs at most about 200 MB and a few
seconds. Each is checked where the input is read, with a message that names it; the README's
Safety section gives the measured figures."""

MAX_BYTES = 2**20  # 1 MiB; a 10,000-layer spec fits in about 300 KiB, and parsed YAML costs ~150 bytes a byte at worst
MAX_NODES = 500_000  # YAML values the spec reads, aliases and merges counted each time they are used
MAX_LAYERS = 10_000
MAX_DIGITS = 100  # in one integer ("hundreds of digits" in a count); counts are exact products of these
MAX_RANK = 8  # axes of any tensor, input or output
MAX_SIZE_DIGITS = 500  # in an axis of any tensor (flatten multiplies them); keeps every count
MAX_SIZE_BITS = 1_660  # under Python's 4,300-digit limit on printing an int; 2**1660 < 10**500
