"""Placeholder: being written."""

from .logtypes import LineLog, table_def

TABLE = table_def("vpc_flow_logs", "", [])


class VpcFlowLog(LineLog):
    name = "vpc-flow"
    table = TABLE


LOGTYPE = VpcFlowLog()
