"""A TOKEN authorizer: ``Bearer letmein`` is allowed on the whole stage, anything else denied."""


def handler(event, context):
    allowed = event["authorizationToken"] == "Bearer letmein"
    stage_arn = event["methodArn"].split("/")[0] + "/*"
    return {
        "principalId": "cfn-user",
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Action": "execute-api:Invoke",
                    "Effect": "Allow" if allowed else "Deny",
                    "Resource": stage_arn,
                }
            ],
        },
        "context": {"via": "cfn"},
    }
