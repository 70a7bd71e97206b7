"""Placeholder: being written."""

from .logtypes import LineLog, table_def

TABLE = table_def("s3_access_logs", "", [])


class S3AccessLog(LineLog):
    name = "s3-access"
    table = TABLE


LOGTYPE = S3AccessLog()
