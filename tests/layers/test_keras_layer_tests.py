"""Keras's own tests of its LeakyReLU and PReLU layers
(keras/src/layers/activations/leaky_relu_test.py, prelu_test.py), run
against keras_lrelu's layers: the fixed LeakyReLU for Keras's LeakyReLU, the
learned per-channel one for PReLU, and RandomizedLeakyReLU alongside. `make
test` runs them on TensorFlow, JAX and PyTorch."""

import numpy as np
from keras.src import testing

import keras_lrelu


class LeakyReLUTest(testing.TestCase):
    def test_leaky_relu(self):
        self.run_layer_test(
            keras_lrelu.LeakyReLU,
            init_kwargs={"negative_slope": 1},
            input_shape=(2, 3, 4),
            supports_masking=True,
            assert_built_after_instantiation=True,
        )

    def test_leaky_relu_correctness(self):
        layer = keras_lrelu.LeakyReLU(negative_slope=0.5)
        inputs = np.array([-10, -5, 0.0, 5, 10])
        self.assertAllClose(layer(inputs), np.array([-5.0, -2.5, 0.0, 5.0, 10.0]))

    def test_invalid_usage(self):
        # Keras: "The negative_slope value of a Leaky ReLU layer cannot be None".
        with self.assertRaisesRegex(
            ValueError,
            r"`negative_slope` must be a finite number >= 0\. "
            r"Received: negative_slope=None",
        ):
            self.run_layer_test(
                keras_lrelu.LeakyReLU,
                init_kwargs={"negative_slope": None},
                input_shape=(2, 3, 4),
                supports_masking=True,
            )


class PReLUTest(testing.TestCase):
    def test_prelu(self):
        self.run_layer_test(
            keras_lrelu.LeakyReLU,
            init_kwargs={
                "alpha": 0.0,
                "trainable_alpha": True,
                "channelwise": True,
                "alpha_regularizer": "L1",
            },
            input_shape=(2, 3, 4),
            supports_masking=True,
            expected_num_trainable_weights=1,
            expected_num_losses=1,
        )

    def test_prelu_correctness(self):
        def np_prelu(x, alpha):
            return (x > 0) * x + (x <= 0) * alpha * x

        inputs = np.random.randn(2, 10, 5, 3)
        layer = keras_lrelu.LeakyReLU(trainable_alpha=True, channelwise=True, alpha_regularizer="l1")
        layer.build(inputs.shape)
        weights = np.random.random((3,))
        layer.alpha_weight.assign(weights)
        self.assertAllClose(layer(inputs), np_prelu(inputs, weights.reshape(1, 1, 3)))


class RandomizedLeakyReLUTest(testing.TestCase):
    def test_randomized_leaky_relu(self):
        self.run_layer_test(
            keras_lrelu.RandomizedLeakyReLU,
            init_kwargs={"lower": 0.1, "upper": 0.3, "seed": 1},
            input_shape=(2, 3, 4),
            supports_masking=True,
            expected_num_seed_generators=1,
            assert_built_after_instantiation=True,
        )
