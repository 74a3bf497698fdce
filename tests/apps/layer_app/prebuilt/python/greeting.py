"""A module of a prebuilt layer folder (python/ at its root, as Lambda extracts it to /opt)."""


def greet(name: str) -> str:
    return f"hello, {name}"
