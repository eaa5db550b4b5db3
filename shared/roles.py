"""The roles a person or a service account holds (DOMAIN.md §0), in a module of their own
with no third-party import: the command line lists them as `--role` choices at start-up.
shared.tenancy re-exports `Role`."""

from __future__ import annotations

from shared.labels import LabelledEnum


class Role(LabelledEnum):
    """What a person or service may do; the Chinese terms follow DOMAIN.md §0."""

    DRAFTER = "drafter", "拟稿人（编辑）"
    SECTION_HEAD = "section_head", "科室/站所负责人"
    LEADER_IN_CHARGE = "leader_in_charge", "分管领导"
    PRINCIPAL_LEADER = "principal_leader", "主要领导"
    OPENNESS_OFFICE_HEAD = "openness_office_head", "政府信息公开工作机构负责人"
    REQUEST_HANDLER = "request_handler", "依申请公开答复办理人员"
    ATTRIBUTE_OFFICER = "attribute_officer", "拟发公文公开属性认定与管理人员"
    OPINION_OFFICER = "opinion_officer", "政务舆情专职工作人员"
    LIAISON = "liaison", "信息报送联络员"
    AUDITOR = "auditor", "审计人员"
    DISTRICT_ASSESSOR = "district_assessor", "区政务公开考核人员"
    ADMINISTRATOR = "administrator", "系统管理员"
    DISTRICT_ADMINISTRATOR = "district_administrator", "区级账号管理员"
    TOWNSHIP_ADMINISTRATOR = "township_administrator", "乡镇账号管理员"
    SERVICE = "service", "服务账号"
