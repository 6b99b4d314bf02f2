"""Run under one backend (KERAS_BACKEND): its module against the backend contract, and unknown block kinds refused.

Prints one JSON line.
"""

from __future__ import annotations

import importlib
import json
import types

import keras

from architectures.network import layer
from runners import backends

BOGUS = types.SimpleNamespace(kind="bogus", size=3, strides=1, weighted=False)


def refusal(call) -> str:
    try:
        call()
    except ValueError as e:
        return str(e)
    return "accepted"


def main() -> None:
    name = keras.backend.backend()
    module = backends.load(name)
    native = importlib.import_module(f"runners.native.{name}")
    report = {
        "backend_ok": isinstance(module, backends.Backend) and module is backends.current(),
        "version": module.version(),
        "threads": module.configure_threads(1),
        "keras_layer": refusal(lambda: layer(BOGUS)),
        "native_apply": refusal(lambda: native.apply([BOGUS], [(4,)], [], [], None, False)),
    }
    print(json.dumps(report))


if __name__ == "__main__":
    main()
