"""Integer shape arithmetic, as PyTorch computes it (and Keras for `same` with stride > 1)."""


class ShapeError(Exception):
    """A layer cannot take its input; `field` names the spec field to point at, if any."""

    def __init__(self, message, field=None):
        super().__init__(message)
        self.field = field


def product(dims):
    n = 1
    for d in dims:
        n *= d
    return n


def window_positions(length, kernel, stride, padding, dilation=1, ceil_mode=False):
    """How many windows fit along one axis.

    `padding` is an int applied on both sides or 'same'. ceil_mode follows
    PyTorch's pooling_output_shape: round up, then drop a last window that
    would start beyond the input and its left padding.
    """
    if padding == "same":
        return -(-length // stride)
    span = dilation * (kernel - 1) + 1
    padded = length + 2 * padding
    out = (padded - span + (stride - 1 if ceil_mode else 0)) // stride + 1  # floor, as PyTorch's div_rtn
    if ceil_mode and (out - 1) * stride >= length + padding:
        out -= 1
    if out < 1:  # with ceil_mode a window may hang over the end, so this is not simply span > padded
        what = f"kernel {kernel}" if dilation == 1 else f"dilated kernel {span}"
        raise ShapeError(f"{what} is larger than the padded input ({padded})", "kernel_size")
    return out
