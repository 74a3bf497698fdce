"""Domain code next to the handlers, imported from the package."""


def greet(name: str) -> str:
    return f"hello, {name}"
