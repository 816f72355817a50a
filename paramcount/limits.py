"""Bounds on what a spec may ask for, so that a hostile file costs at most about 200 MB and a few
seconds. Each is checked where the input is read, with a message that names it; the README's
Safety section gives the measured figures."""

MAX_BYTES = 384 * 2**10  # a 10,000-layer spec takes about 250 KiB; parsed YAML can cost 270 bytes a byte
MAX_NODES = 500_000  # YAML values the spec reads, aliases and merges counted each time they are used
MAX_LAYERS = 10_000
MAX_DIGITS = 300  # in one integer; counts are exact products of these
MAX_RANK = 8  # axes of any tensor, input or output
MAX_SIZE_DIGITS = 500  # in an axis of any tensor (flatten multiplies them); keeps every count
MAX_SIZE_BITS = 1_660  # under Python's 4,300-digit limit on printing an int; 2**1660 < 10**500
MAX_PROBLEMS = 100  # reported from one file; then the check stops
MAX_REPORT_DIGITS = 200_000  # in the largest count of every layer together: bounds output and memory
MAX_REPORT_BITS = 664_386  # the same in bits: 200,000 × log2(10)
MAX_FIGURE_DIGITS = 30_000_000  # in the widest compute figure (MACs, other ops, connections, activations)
# of every row together: a 10,000-relu spec on 8 axes of 300 digits holds 24,000,000 (a 100 MB JSON)
MAX_FIGURE_BITS = 99_657_843  # the same in bits: 30,000,000 × log2(10), rounded up
MAX_BATCH = 10**12  # --batch: activation bytes stay printable (a 4,000-digit figure × 13 digits)
MAX_NESTING = 64  # lists of layers inside composites and blocks, one inside another
MAX_EXPR_CHARS = 200  # in one `${...}` expression; every intermediate result keeps to MAX_DIGITS
MAX_ANALYSED = 10_000  # layer analyses in one spec, as many as a flat spec may list: a repeat whose input shape
# keeps changing is analysed copy by copy, and branches of blocks of branches each once
MAX_COUNT_DIGITS = 4_000  # in one count, or in the copies repeats inside repeats make (Python prints 4,300)
MAX_COUNT_BITS = 13_288  # the same in bits: 4,000 × log2(10), rounded up
