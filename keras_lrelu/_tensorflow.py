"""TensorFlow fast paths for training: XLA-compiled passes, RReLU's slopes.

XLA fuses the several elementwise ops of a leaky rectifier's forward or
backward pass into one loop; TensorFlow's graph mode (what `model.fit` runs
on a CPU-only machine) runs one kernel, one pass over memory, per op.
`compiled` gives the forward and backward passes XLA even when the model
itself runs in graph mode, and steps aside when the whole model is compiled
with XLA (a separately compiled function there costs peak memory and fuses
with nothing).

RandomizedLeakyReLU in training:
`keras.random.uniform` costs several LeakyReLUs in graph mode and far more
under XLA on CPU (its default generator lowers badly there). Here each element's slope
comes from a counter-based hash of (element index, seed): integer arithmetic
that XLA fuses with the rectifier into one pass over the tensor. The forward
and backward passes are XLA-compiled even when the caller is not, and the
backward pass regenerates the slopes from the seed instead of keeping them,
so only `x` is saved for it.
"""

import tensorflow as tf

from keras_lrelu._compat import in_xla_context

_GOLDEN = 0x9E3779B9


def compiled(function, inline=None):
    """`function` XLA-compiled on its own, traced once per shape, unless it
    is called where XLA compiles everything around it anyway: there
    `inline` (default: `function`) runs as plain ops instead, so XLA fuses
    it with its neighbours instead of compiling a separate function."""
    xla_function = tf.function(function, jit_compile=True)
    inline = inline or function

    @tf.autograph.experimental.do_not_convert  # plain tensor code: nothing to convert
    def call(*args):
        return inline(*args) if in_xla_context() else xla_function(*args)

    return call


def fixed_leaky_relu(x, alpha):
    """`tf.nn.leaky_relu(x, alpha)` whose gradient reads the output, not the
    input, as TensorFlow's own ReLU gradient does: for alpha >= 0 both have
    the same sign, so the gradient is the same bit for bit. Grappler's
    remapper fuses Conv2D + BiasAdd + LeakyRelu into one op and removes the
    BiasAdd that the stock gradient still reads, then logs an `E0000 ...
    remapper failed` line and runs the graph unfused."""

    @tf.custom_gradient
    def forward(x):
        y = tf.nn.leaky_relu(x, alpha)

        def grad(upstream):
            return tf.raw_ops.LeakyReluGrad(gradients=upstream, features=y, alpha=alpha)

        return y, grad

    return forward(x)


def _mix(h):
    """lowbias32 (C. Wellons): a well-avalanching 32-bit integer hash."""
    h = tf.bitwise.bitwise_xor(h, tf.bitwise.right_shift(h, 16))
    h = h * tf.constant(0x7FEB352D, tf.uint32)
    h = tf.bitwise.bitwise_xor(h, tf.bitwise.right_shift(h, 15))
    h = h * tf.constant(0x846CA68B, tf.uint32)
    return tf.bitwise.bitwise_xor(h, tf.bitwise.right_shift(h, 16))


def uniform(shape, seed):
    """Floats in [0, 1) with 24 random bits each, one per element of `shape`,
    determined by `seed` (two integers)."""
    seed = tf.bitcast(tf.cast(seed, tf.int32), tf.uint32)
    key = _mix(_mix(seed[0] * tf.constant(_GOLDEN, tf.uint32)) ^ seed[1])
    count = tf.reduce_prod(shape)
    counter = tf.bitcast(tf.range(count, dtype=tf.int32), tf.uint32)
    bits = _mix(_mix(counter ^ key) + key)
    unit = tf.cast(tf.bitwise.right_shift(bits, 8), tf.float32) * (2.0**-24)
    return tf.reshape(unit, shape)


def _slopes(x, seed, lower, upper):
    return tf.cast(lower + (upper - lower) * uniform(tf.shape(x), seed), x.dtype)


@compiled
def _forward(x, seed, lower, upper):
    return tf.where(x > 0, x, _slopes(x, seed, lower, upper) * x)


@compiled
def _backward(x, upstream, seed, lower, upper):
    return tf.where(x > 0, upstream, _slopes(x, seed, lower, upper) * upstream)


def randomized_leaky_relu(x, seed, lower, upper):
    """`where(x > 0, x, a * x)` with `a ~ U(lower, upper)` per element."""
    lower = tf.constant(lower, tf.float32)
    upper = tf.constant(upper, tf.float32)

    @tf.custom_gradient
    def rrelu(x):
        def grad(upstream):
            return _backward(x, upstream, seed, lower, upper)

        return _forward(x, seed, lower, upper), grad

    return rrelu(x)
