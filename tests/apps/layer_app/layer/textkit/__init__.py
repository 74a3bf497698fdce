"""Shared code of TextLayer, on top of the layer's own requirement (inflection)."""

import inflection


def headline(text: str) -> str:
    return inflection.titleize(text)
