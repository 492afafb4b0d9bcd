"""Installs the sketch_rnn package: `pip install -e .` (add `[test]` for pytest)."""

from setuptools import find_packages, setup

setup(
    name="sketch-rnn-tf2",
    version="0.1.0",
    description=(
        "A faithful TensorFlow 2 port of Magenta's sketch-rnn, with the "
        "latent-noise `scale` hyperparameter"
    ),
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.10",
    packages=find_packages(include=["sketch_rnn", "sketch_rnn.*"]),
    install_requires=[
        "tensorflow>=2.16",
        "numpy",
        "absl-py",
        "svgwrite",
        "tensorboard",  # tf.summary needs it; TensorFlow 2.21 does not pull it in
        "Pillow",  # sketches as pixels for TensorBoard images
    ],
    extras_require={
        "test": ["pytest", "matplotlib"],  # matplotlib: the report's plots are tested too
        "report": ["matplotlib"],
    },
    entry_points={
        "console_scripts": [
            "sketch_rnn_train=sketch_rnn.sketch_rnn_train:run_main",
            "sketch_rnn_eval=sketch_rnn.sketch_rnn_eval:run_main",
            "sketch_rnn_sample=sketch_rnn.sketch_rnn_sample:run_main",
            "sketch_rnn_export=sketch_rnn.sketch_rnn_export:run_main",
            "scale_sweep=sketch_rnn.scale_sweep:run_main",
            "sketch_rnn_data=sketch_rnn.sketch_rnn_data:run_main",
        ],
    },
    classifiers=[
        "Programming Language :: Python :: 3",
        "License :: OSI Approved :: Apache Software License",
    ],
)
