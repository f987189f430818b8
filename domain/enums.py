"""Who people are and where cases stand: stored as these values, compared as these types, never as bare text."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    CHAIR = "chair"  # 企业工会主席: one enterprise, files all three forms
    WARNER = "warner"  # 劳动争议预警员: one enterprise, files warnings only
    STAFF = "staff"  # 街道总工会工作人员: queries, reviews, alerts
    ADMIN = "admin"


class RequestState(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class WarningLevel(StrEnum):
    GENERAL = "一般"
    SERIOUS = "较大"
    MAJOR = "重大"


class WarningState(StrEnum):
    SUBMITTED = "submitted"  # 已上报
    ACKNOWLEDGED = "acknowledged"  # 已签收
    VERIFYING = "verifying"  # 核实中
    MEDIATING = "mediating"  # 调处中
    RESOLVED = "resolved"  # 已化解
    FAILED = "failed"  # 未化解
    REFERRED = "referred"  # 已转仲裁/诉讼/监察
    VOID = "void"  # 不属实/撤销
    FOLLOW_UP = "follow_up"  # 回访
    CLOSED = "closed"  # 已结案


class HardshipState(StrEnum):
    SUBMITTED = "submitted"  # 已提交
    RETURNED = "returned"  # 退回补正
    REJECTED = "rejected"  # 不予受理
    VISITED = "visited"  # 入户核实
    NOTICE = "notice"  # 公示中
    APPROVED = "approved"  # 审批通过
    PAID = "paid"  # 已发放
    REVIEW = "review"  # 年度复核
    EXITED = "exited"  # 退出
