"""gvbench: the GAN/VAE benchmark suite for Keras 3's TensorFlow, PyTorch and JAX backends."""

__version__ = "0.1.0"
