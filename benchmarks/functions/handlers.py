def echo(event, context):
    return event
