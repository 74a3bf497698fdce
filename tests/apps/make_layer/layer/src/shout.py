"""Copied into the layer's python/ folder by its Makefile."""


def shout(word):
    return word.upper() + "!"
