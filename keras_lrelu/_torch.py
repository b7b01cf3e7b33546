"""PyTorch fast paths for training: an autograd Function per rectifier.

Eager PyTorch runs one kernel, one pass over memory, per op. Autograd of
`where(x > 0, x, alpha * x)` runs five kernels forward and keeps the mask and
`alpha * x`, and on this project's CPU `torch.where` and boolean masks are
many times slower than arithmetic kernels.
So the learned slope runs torch's fused PReLU kernel forward (one pass, any
broadcastable slope, so any channel axis) and a backward pass of arithmetic
kernels only, keeping only `x` and the slope (torch's own fused backward
kernel is slower still).

RReLU on the CPU draws each element's slope from a counter-based hash of
its index and the layer's seed, inside one loop with the rectifier that
torch.compile generates (keras_lrelu/_torch_hash.py): no random numbers are
stored, and the backward pass hashes again. Where torch.compile cannot run,
and on other devices, it draws the slopes into memory (NumPy's SFC64 on the
CPU, torch's generator elsewhere) and keeps only the factor its backward
pass needs (1 where `x > 0`, the slope elsewhere), not `x`.

Values and gradients are those of the plain formula, exactly: every factor
used is 0, 1 or the slope itself, so no rounding differs.
"""

import numpy as np
import torch

from keras_lrelu import _torch_hash


def _positive(x):
    """1.0 where `x > 0`, else 0.0, in x's dtype, without a boolean mask."""
    return torch.sign(x).clamp_(min=0)


def _sum_to(gradient, shape):
    """`gradient` (shaped like the input) summed over the axes a slope of
    `shape` is broadcast along, accumulated in float32 (a half-precision sum
    over millions of elements would lose the slope's gradient)."""
    padded = (1,) * (gradient.dim() - len(shape)) + tuple(shape)
    axes = tuple(i for i, size in enumerate(padded) if size == 1)
    total = gradient.sum(dim=axes, dtype=torch.float32) if axes else gradient.float()
    return total.reshape(shape)


class _LearnedSlope(torch.autograd.Function):
    """y = where(x > 0, x, alpha * x); alpha keeps its own dtype (float32
    under mixed precision), and so does its gradient."""

    @staticmethod
    def forward(ctx, x, alpha):
        ctx.save_for_backward(x, alpha)
        return torch.ops.aten._prelu_kernel(x, alpha.to(x.dtype))

    @staticmethod
    def backward(ctx, upstream):
        x, alpha = ctx.saved_tensors
        slope = alpha.to(x.dtype)
        dalpha = _sum_to(torch.clamp(x, max=0).mul_(upstream), alpha.shape).to(alpha.dtype)
        positive = _positive(x)
        # 1 where x > 0, alpha elsewhere: (1 - p) * alpha + p is exact for p in {0, 1}.
        factor = torch.rsub(positive, 1).mul_(slope).add_(positive)
        return factor.mul_(upstream), dalpha


def leaky_relu_with_slope(x, alpha):
    """`where(x > 0, x, alpha * x)` for a tensor `alpha` that broadcasts
    against `x` from the right (rank at most x's)."""
    return _LearnedSlope.apply(x, alpha)


class _RandomSlope(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, seed, lower, upper):
        slopes = _uniform(x, seed, lower, upper)
        # The factor of x: 1 where x > 0, the slope elsewhere, exactly.
        # The output's buffer holds sign(x) first, so no other is allocated.
        output = torch.sign(x)
        if upper <= 1:  # max(slope, sign(x))
            factor = torch.maximum(slopes, output, out=slopes)
        else:  # lerp(slope, 1, p) is the slope for p = 0 and 1 for p = 1
            one = torch.ones((), dtype=x.dtype, device=x.device)
            factor = slopes.lerp_(one, output.clamp_(min=0))
        ctx.save_for_backward(factor)
        return torch.mul(x, factor, out=output)

    @staticmethod
    def backward(ctx, upstream):
        (factor,) = ctx.saved_tensors
        return upstream * factor, None, None, None


def randomized_leaky_relu(x, seed, lower, upper):
    """`where(x > 0, x, a * x)` with `a ~ U(lower, upper)` per element,
    drawn from `seed`, a Keras seed (two integers)."""
    if x.device.type == "cpu" and _torch_hash.fused_here():
        return _torch_hash.randomized_leaky_relu(x, seed, lower, upper)
    return _RandomSlope.apply(x, tuple(int(part) for part in seed), float(lower), float(upper))


def _uniform(x, seed, lower, upper):
    """U(lower, upper) per element of `x`, in x's dtype, from `seed`.

    On the CPU, torch's generator (a Mersenne Twister, drawn one element at
    a time) costs many times the rectifier, so NumPy's SFC64 bit generator,
    seeded from `seed` through a SeedSequence, draws the bits: two slopes a word, one from
    each 32-bit half `v` read as a signed integer, the slope being
    `(lower + upper) / 2 + (upper - lower) * v / 2**32`. The halves are
    converted to float32 in place, in the words' own memory, then to x's
    dtype (float16 could not hold them); the slopes have float32's 24 bits
    of precision, as torch's `uniform_` draws them. On other devices, torch's
    own generator (a counter-based Philox on CUDA) draws on the device.
    """
    if x.device.type != "cpu":
        generator = torch.Generator(device=x.device).manual_seed(_generator_seed(*seed))
        return torch.empty_like(x).uniform_(lower, upper, generator=generator)
    count = x.numel()
    words = np.random.SFC64([part & 0xFFFFFFFFFFFFFFFF for part in seed]).random_raw((count + 1) // 2)
    halves = torch.from_numpy(words.view(np.int32)[:count]).view(x.shape)
    slopes = halves.view(torch.float32).copy_(halves)
    middle = slopes.new_full((), (lower + upper) / 2)
    return torch.add(middle, slopes, alpha=(upper - lower) / 2**32, out=slopes).to(x.dtype)


def _generator_seed(first, second):
    """A Keras seed (the layer's seed, a counter) as one 32-bit integer, so
    that no two seeds share a torch generator's seed (`(first << 32) ^
    second` would, where a generator keeps 32 bits)."""
    mixed = ((first & 0xFFFFFFFF) * 0x9E3779B97F4A7C15 + (second & 0xFFFFFFFF)) & 0xFFFFFFFFFFFFFFFF
    mixed = (mixed ^ (mixed >> 31)) * 0xBF58476D1CE4E5B9 & 0xFFFFFFFFFFFFFFFF
    return (mixed ^ (mixed >> 32)) & 0xFFFFFFFF
