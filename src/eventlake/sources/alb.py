"""Placeholder: being written."""

from .logtypes import LineLog, table_def

TABLE = table_def("alb_logs", "", [])


class AlbLog(LineLog):
    name = "alb"
    table = TABLE


LOGTYPE = AlbLog()
