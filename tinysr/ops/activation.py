"""Activations. relu/leaky_relu and the fused bias+activation run on the backend's
bias_act primitive, whose backward needs only the output."""
from tinysr.ops.core import result


def bias_act(x, b=None, act="relu", slope=0.01):
    """act(x + b[channel]) in one pass; the channel axis is axis 1."""
    be = x.backend
    if b is None:   # no channels to broadcast over: let the primitive see (1, 1, size)
        view = (1, 1, x.data.size)
    elif x.ndim < 2 or x.shape[1] != b.shape[0]:
        raise ValueError(f"bias_act: bias of {b.shape[0]} channels does not fit input {x.shape}")
    else:
        view = x.shape
    y = be.bias_act_forward(be.xp.ascontiguousarray(x.data).reshape(view),
                            None if b is None else b.data, act, slope)
    parents = (x,) if b is None else (x, b)

    def backward(g, needs):
        gx, gb = be.bias_act_backward(be.xp.ascontiguousarray(g).reshape(view), y, act, slope)
        return (gx.reshape(x.shape),) if b is None else (gx, gb)
    return result("bias_act", y.reshape(x.shape), parents, backward)


def relu(x):
    return bias_act(x, None, "relu")


def leaky_relu(x, negative_slope=0.01):
    return bias_act(x, None, "leaky_relu", negative_slope)


def sigmoid(x):
    xp = x.backend.xp
    # 0.5 * (1 + tanh(x / 2)) equals 1 / (1 + exp(-x)) without overflow for large |x|
    y = 0.5 * (1 + xp.tanh(0.5 * x.data))
    return result("sigmoid", y, (x,), lambda g, needs: (g * y * (1 - y),))


def tanh(x):
    y = x.backend.xp.tanh(x.data)
    return result("tanh", y, (x,), lambda g, needs: (g * (1 - y * y),))
