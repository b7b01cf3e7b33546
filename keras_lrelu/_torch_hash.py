"""RReLU on PyTorch's CPU: slopes hashed from the seed inside one fused loop.

Drawn into memory, RReLU's slopes cost more than the rectifier: drawing
them, then converting, scaling and combining them with `x`, are six passes
over memory. Here every element's slope is a function of its
index and the layer's seed, a counter-based hash (two rounds of a 32-bit
hash, keyed by the seed), so the slope is computed where it is used:
torch.compile turns the hash, the rectifier and its gradient into one loop
forward and one backward, and nothing random is stored. The backward pass
hashes the same indices again, so it keeps `x` alone.

The hash is integer arithmetic held below 2**63, so it is exact, the same
compiled or not; a slope is `lower + (upper - lower) * u` with `u` the
hash's top 24 bits over 2**24, float32's precision, as torch's `uniform_`
draws. Where torch.compile cannot build the loop (no C++ compiler: a
warning says so; or TorchDynamo disabled), `fused_here()` is False for the
process, and keras_lrelu/_torch.py draws the slopes into memory instead
(other slopes for the same seed).
"""

import warnings

import torch

from keras_lrelu import _compat

_M32 = 0xFFFFFFFF
_kernels = None  # (forward, backward) compiled, or False where they cannot be


def _mix(h):
    """A 32-bit integer hash from Wellons' hash-prospector (`16 21f0aaad 15
    735a2d97 15`, bias 0.107), a bijection of 32-bit words; `h` an int or an
    int64 tensor of values below 2**32. Both multipliers are below 2**31, so
    no product reaches 2**63."""
    h = h ^ (h >> 16)
    h = (h * 0x21F0AAAD) & _M32
    h = h ^ (h >> 15)
    h = (h * 0x735A2D97) & _M32
    return h ^ (h >> 15)


def _slopes(count, keys, lower, upper):
    """Element i's slope: `lower + (upper - lower) * u`, with `u` from the
    hash of i under the two keys."""
    index = torch.arange(count, dtype=torch.int64, device=keys.device)
    h = _mix(_mix((index & _M32) ^ keys[0]) ^ (index >> 32) ^ keys[1])
    return lower + (upper - lower) * ((h >> 8).to(torch.float32) * 2.0**-24)


def _forward(x, keys, lower, upper):
    slopes = _slopes(x.numel(), keys, lower, upper).to(x.dtype)
    return torch.where(x > 0, x, x * slopes)


def _backward(x, upstream, keys, lower, upper):
    slopes = _slopes(x.numel(), keys, lower, upper).to(x.dtype)
    return torch.where(x > 0, upstream, upstream * slopes)


def _keys(seed):
    """Two 32-bit keys from a Keras seed (two integers), mixed so that the
    seeds of successive calls (a counter) give unrelated keys. Python ints
    in eager mode; tensors while TorchDynamo traces (no graph break)."""
    traced = torch.compiler.is_compiling()
    first, second = ((part.to(torch.int64) if traced else int(part)) & _M32 for part in seed)
    key = _mix(first ^ _mix(second ^ 0x9E3779B9))
    # Not _mix(key ^ second): for second == 0, index 0 would hash to _mix(0) == 0.
    keys = (key, _mix(_mix(key) ^ 0x85EBCA6B))
    return torch.stack(keys) if traced else torch.tensor(keys, dtype=torch.int64)


class _HashedSlope(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, keys, lower, upper):
        ctx.save_for_backward(x, keys)
        ctx.bounds = (lower, upper)
        forward, _ = _loops()
        return forward(x.reshape(-1), keys, lower, upper).view(x.shape)

    @staticmethod
    def backward(ctx, upstream):
        x, keys = ctx.saved_tensors
        _, backward = _loops()
        dx = backward(x.reshape(-1), upstream.reshape(-1), keys, *ctx.bounds)
        return dx.view(x.shape), None, None, None


def randomized_leaky_relu(x, seed, lower, upper):
    """`where(x > 0, x, a * x)` with `a ~ U(lower, upper)` per element of a
    CPU tensor, hashed from `seed`, a Keras seed (two integers)."""
    return _HashedSlope.apply(x, _keys(seed), float(lower), float(upper))


def _loops():
    """The compiled loops; the plain functions while TorchDynamo traces a
    model, which then compiles them into its own graph."""
    if torch.compiler.is_compiling():
        return _forward, _backward
    return _kernels


def fused_here():
    """Whether torch.compile builds the fused loops here: tried once, on a
    small tensor, forward and backward (one compilation serves every shape)."""
    global _kernels
    if torch.compiler.is_compiling():
        return True
    if _kernels is None:
        _kernels = _compile()
    return bool(_kernels)


def _compile():
    # Rounded as eager PyTorch rounds: the slope to x's dtype, then the product.
    options = {"emulate_precision_casts": True}
    probe = torch.linspace(-1.0, 1.0, 8)
    keys = _keys((0, 0))
    try:
        kernels = tuple(torch.compile(loop, dynamic=True, options=options) for loop in (_forward, _backward))
        if kernels[0] is _forward or _compat.torch_compile_switched_off():
            return False  # TorchDynamo is switched off here: the loop would run unfused
        kernels[0](probe, keys, 0.125, 1 / 3)
        kernels[1](probe, probe, keys, 0.125, 1 / 3)
    except Exception as error:  # whatever stops the compiler, the unfused path still trains
        first_line = (str(error).strip().splitlines() or [""])[0]
        warnings.warn(
            "RandomizedLeakyReLU: torch.compile cannot build its fused CPU loop here "
            f"({type(error).__name__}: {first_line}); training draws the slopes into memory "
            "instead, slower and with other slopes for the same seed. torch.compile needs a "
            "C++ compiler (g++ or clang++) on the PATH.",
            RuntimeWarning,
            stacklevel=4,
        )
        return False
    return kernels
