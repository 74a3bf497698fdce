"""A module of the prebuilt layer folder WordsLayer (python/ at its root, as under /opt)."""


def shout(text):
    loud = text.upper()  # breakpoint: layer
    return loud + "!"
