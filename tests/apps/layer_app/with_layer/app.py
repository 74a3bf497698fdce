import greeting
import textkit


def handler(event, context):
    return {
        "headline": textkit.headline(event.get("text", "")),
        "greeting": greeting.greet(event.get("name", "")),
        "textkit": textkit.__file__,
    }
