"""Reading the rectifiers of an existing model."""

import numpy as np

from keras_lrelu.leaky_relu import LeakyReLU


def iter_layers(model):
    """Yields every layer of `model`, descending into nested models."""
    for layer in getattr(model, "layers", []):
        yield layer
        yield from iter_layers(layer)


def get_alphas(model):
    """Returns the learned slopes of every learned-slope layer in `model`.

    Example:

    ```python
    get_alphas(model)
    # {"leaky_re_lu": 0.25, "leaky_re_lu_1": array([0.25, 0.25, 0.25])}
    ```

    Returns:
        A dict `{layer_name: slope}`: a float for a scalar slope, a NumPy
        array of slopes for a channelwise one. Layers with a fixed slope are
        left out.
    """
    alphas = {}
    for layer in iter_layers(model):
        if isinstance(layer, LeakyReLU) and layer.trainable_alpha:
            value = np.asarray(layer.alpha_weight.numpy())
            alphas[layer.name] = value if value.ndim else float(value)
    return alphas
