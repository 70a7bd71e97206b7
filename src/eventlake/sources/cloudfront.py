"""Placeholder: being written."""

from .logtypes import LineLog, table_def

TABLE = table_def("cloudfront_logs", "", [])


class CloudFrontLog(LineLog):
    name = "cloudfront"
    table = TABLE


LOGTYPE = CloudFrontLog()
