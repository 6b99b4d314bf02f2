"""Where an epoch's wall time goes: busy cores, stolen time and waits, epoch by epoch.

    KERAS_BACKEND=tensorflow python -m benchmarks.epoch_cpu --model DenseGAN-Deep --epochs 14
    KERAS_BACKEND=tensorflow python -m benchmarks.epoch_cpu --tf-threads 2 1   # intra-op, inter-op

Trains one Keras model with `fit` on the `quick` images, as a cell does (threads pinned, the
backend's thread controls set), and prints per epoch: wall seconds, the process's CPU seconds
(`time.process_time`, all its threads) and their ratio (cores kept busy), the machine's stolen
time (`steal` of /proc/stat, in seconds), and the process's voluntary and involuntary context
switches. An epoch that is slow with no more CPU time and no steal was spent waiting: its
threads were idle, not working. Run it alone on the machine.
"""

from __future__ import annotations

import argparse
import os
import resource
import time

import numpy as np

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def stolen_s() -> float:
    """Seconds the hypervisor ran something else on this machine's CPUs (all of them), since boot."""
    with open("/proc/stat") as f:
        return int(f.readline().split()[8]) / CLOCK_TICKS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="DenseGAN-Deep")
    parser.add_argument("--epochs", type=int, default=14)
    parser.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--tf-threads", type=int, nargs=2, metavar=("INTRA", "INTER"), help="TensorFlow only")
    args = parser.parse_args()

    from runners.threads import pin

    pin(args.threads)
    from runners.cell import import_keras, set_random_seed

    import_keras(os.environ.get("KERAS_BACKEND", "tensorflow"))
    import keras

    from architectures import get_spec
    from architectures.inputs import preprocess
    from runners import backends
    from suite.mnist import load_mnist
    from suite.profiles import PROFILES

    print(backends.current().configure_threads(args.threads))
    if args.tf_threads:
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(args.tf_threads[0])
        tf.config.threading.set_inter_op_parallelism_threads(args.tf_threads[1])
        print(f"then --tf-threads: intra_op={args.tf_threads[0]} inter_op={args.tf_threads[1]}")
    set_random_seed(0)
    spec = get_spec(args.model)
    x = preprocess(spec, load_mnist()["x_train"][: PROFILES["quick"].train_images])
    model = backends.build_trainable(spec, seed=0)
    model.compile(optimizer=keras.optimizers.Adam(1e-4))

    class Waits(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.walls: list[float] = []

        def on_epoch_begin(self, epoch, logs=None):
            usage = resource.getrusage(resource.RUSAGE_SELF)
            self.start = (time.perf_counter(), time.process_time(), stolen_s(), usage)

        def on_epoch_end(self, epoch, logs=None):
            keras.ops.convert_to_numpy(self.model.trainable_variables[-1])  # wait for dispatched steps
            wall, cpu, steal, usage = self.start
            wall, cpu, steal = time.perf_counter() - wall, time.process_time() - cpu, stolen_s() - steal
            now = resource.getrusage(resource.RUSAGE_SELF)
            print(
                f"epoch {epoch + 1:3d}  wall {wall:7.3f} s  cpu {cpu:7.3f} s  busy cores {cpu / wall:4.2f}  "
                f"stolen {steal:5.2f} s  switches {now.ru_nvcsw - usage.ru_nvcsw:6d} voluntary, "
                f"{now.ru_nivcsw - usage.ru_nivcsw:6d} involuntary",
                flush=True,
            )
            self.walls.append(wall)

    waits = Waits()
    model.fit(x, batch_size=128, epochs=args.epochs, shuffle=True, verbose=0, callbacks=[waits])
    steady = np.array(waits.walls[1:])
    print(f"steady epochs: median {np.median(steady):.3f} s, CV {steady.std(ddof=1) / steady.mean():.1%}")


if __name__ == "__main__":
    main()
