"""The earthquake adapters: DynamoDB (catalogue, stream state and lease) and the Lambda
self-invocation that starts an emission run."""
