import textkit


def handler(event, context):
    return {"headline": textkit.headline(event.get("text", ""))}
