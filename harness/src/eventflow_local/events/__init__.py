"""Every AWS event shape the harness delivers, one module per source: ``apigateway`` (REST API
proxy, payload 1.0), ``kafka`` (MSK and self-managed Kafka), ``dynamodb`` (DynamoDB Streams),
``schedule`` (EventBridge scheduled events), and ``context`` (the handler's ``context``)."""
