import os

import shout


def handler(event, context):
    folder = os.path.dirname(shout.__file__)
    with open(os.path.join(folder, "built_with.txt")) as file:
        built_with = file.read().strip()
    return {"word": shout.shout(event["word"]), "module": shout.__file__, "builtWith": built_with}
