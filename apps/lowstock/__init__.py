"""The scheduled low-stock alert function (AWS Lambda, python3.13 on arm64).

Standard library plus boto3 only: the Lambda runtime ships boto3, so the deployment package is just
this folder. The entry point is `lowstock.handler.handler`.
"""
