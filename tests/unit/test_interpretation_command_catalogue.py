"""The interpretation commands as clients render their forms (GET /v1/commands, issue #15).

Every command on one obligation or one interpretation is a row of the service's tables, with
its path, roles and legal basis; the enums its form shows carry Chinese labels.
"""

from __future__ import annotations

from services.interpretation.handlers import INTERPRETATION_COMMANDS, OBLIGATION_COMMANDS
from services.interpretation.qa_handlers import QA_COMMANDS
from services.interpretation.service import SERVICE
from shared.commands import catalogue


def test_the_service_declares_its_tables_and_the_catalogue_lists_every_row() -> None:
    assert SERVICE.commands == (OBLIGATION_COMMANDS, INTERPRETATION_COMMANDS, QA_COMMANDS)
    entries = {e["name"]: e for e in catalogue(SERVICE.commands)}
    assert {name: e["path"] for name, e in entries.items()} == {
        "delegate": "/v1/interpretation/obligations/{document_id}/delegate",
        "follow-ups": "/v1/interpretation/obligations/{document_id}/follow-ups",
        "revise": "/v1/interpretation/interpretations/{interpretation_id}/revise",
        "review": "/v1/interpretation/interpretations/{interpretation_id}/review",
        "publish": "/v1/interpretation/interpretations/{interpretation_id}/publish",
        "answer": "/v1/interpretation/qa/{qa_id}/answer",
        "redact": "/v1/interpretation/qa/{qa_id}/redact",
        "return": "/v1/interpretation/qa/{qa_id}/return",
        "approve": "/v1/interpretation/qa/{qa_id}/approve",
    }
    assert all(e["label_zh"] and e["basis"] and e["roles"] for e in entries.values())


def test_the_forms_enums_carry_chinese_labels__fang_an_5_2() -> None:
    labels = {e["name"]: e["enum_labels_zh"] for e in catalogue(SERVICE.commands)}["revise"]
    assert labels["Form"]["short_video"] == "短视频"
    assert labels["Channel"]["targeted_push"].startswith("定向推送")
    assert labels["Part"]["old_new_differences"] == "新旧政策差异"
    assert all(len(labels[name]) == n for name, n in (("Form", 7), ("Channel", 5), ("Part", 5)))
