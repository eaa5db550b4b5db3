"""The org tree: paths, the demo district, and the checks on the org file (ARCHITECTURE.md,
"Tenancy, identity, authorization"; DOMAIN.md §0; 方案§三)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from shared.errors import NotFound, ValidationFailed
from shared.tenancy import (
    ROLE_LABELS_ZH,
    OrgLevel,
    OrgPath,
    OrgTree,
    OrgUnit,
    Person,
    Role,
    is_within,
    load_org_tree,
    parse_org_tree_yaml,
)

pytestmark = pytest.mark.unit

DEMO_FILE = Path(__file__).resolve().parents[2] / "deploy" / "demo" / "district.yaml"

# 《苏店镇2022年政务公开工作实施方案》 §三, in the order the plan lists them.
SUDIAN_LEADERSHIP_GROUP = [
    ("组长", "田益铭", "党委副书记、镇长"),
    ("常务副组长", "郭鑫鑫", "副镇长"),
    ("副组长", "王晓乐", "党委副书记"),
    ("副组长", "靳健", "党委委员、人大主席"),
    ("副组长", "赵会玲", "党委委员、纪检书记"),
    ("副组长", "李璞", "党委委员、组织委员"),
    ("副组长", "郭光明", "党委委员、武装部长"),
    ("副组长", "毕俊丽", "党委委员、副镇长、宣传委员"),
    ("副组长", "崔旭林", "党委委员、副镇长"),
    ("副组长", "牛坤", "副镇长"),
    ("责任人", "王铁童", "党委办公室科员"),
]


@pytest.fixture(scope="module")
def demo() -> OrgTree:
    return load_org_tree(DEMO_FILE)


def org(path: str, kind: str, short_name: str | None = None, **extra: Any) -> dict[str, Any]:
    """One entry of an org file, as YAML would give it."""
    return {
        "path": path,
        "kind": kind,
        "name": f"{path}名称",
        "short_name": short_name or path.rsplit("/", 1)[-1],
        **extra,
    }


def person(person_id: str, *roles: str) -> dict[str, Any]:
    return {"id": person_id, "name": "张三", "title": "科员", "roles": list(roles) or ["drafter"]}


def small_tree_orgs() -> list[dict[str, Any]]:
    return [
        org("shangdang", "district", "上党"),
        org("shangdang/sudian", "township", "苏店"),
        org("shangdang/sudian/finance", "unit", "财政所"),
        org("shangdang/handian", "township", "韩店"),
    ]


def tree_error(orgs: list[dict[str, Any]]) -> ValidationFailed:
    with pytest.raises(ValidationFailed) as caught:
        OrgTree.from_dict({"version": 1, "orgs": orgs})
    return caught.value


# --------------------------------------------------------------------------- org paths


@pytest.mark.parametrize(
    "text", ["shangdang", "shangdang/sudian", "shangdang/sudian/party-office", "a1/b-2/c"]
)
def test_valid_org_paths_parse_to_themselves__org_path(text: str) -> None:
    path = OrgPath.parse(text)
    assert path == text
    assert isinstance(path, OrgPath)


@pytest.mark.parametrize(
    "value",
    [
        "",
        "Shangdang",
        "/shangdang",
        "shangdang/",
        "shangdang//sudian",
        "shang dang",
        "shangdang/苏店",
        "shangdang/-sudian",
        "shangdang/sudian-",
        "shangdang/su--dian",
        "shangdang/sudian/party-office/desk",
        "x" * 41,
        42,
        None,
    ],
)
def test_invalid_org_paths_are_refused_naming_the_field__org_path_invalid(value: object) -> None:
    with pytest.raises(ValidationFailed) as caught:
        OrgPath.parse(value, field="tenant")
    assert caught.value.rule == "org.path_invalid"
    assert caught.value.field == "tenant"
    assert caught.value.message_zh and caught.value.message_en


def test_constructing_an_org_path_validates_it__org_path_invalid() -> None:
    with pytest.raises(ValidationFailed):
        OrgPath("Shang/Dang")


def test_org_path_knows_its_parent_depth_and_slug() -> None:
    path = OrgPath("shangdang/sudian/party-office")
    assert path.depth == 3
    assert path.parent == "shangdang/sudian"
    assert path.parent is not None and path.parent.parent == "shangdang"
    assert OrgPath("shangdang").parent is None
    assert OrgPath("shangdang").depth == 1
    assert path.slug == "party-office"
    assert path.segments == ("shangdang", "sudian", "party-office")
    assert OrgPath("shangdang").child("sudian") == "shangdang/sudian"


@pytest.mark.parametrize(
    ("child", "ancestor", "expected"),
    [
        ("shangdang/sudian/finance", "shangdang/sudian", True),
        ("shangdang/sudian/finance", "shangdang", True),
        ("shangdang/sudian", "shangdang/sudian", True),
        ("shangdang/sudian", "shangdang/sudian/finance", False),
        ("shangdang/handian/finance", "shangdang/sudian", False),
        # Segment-wise, not string prefix: `su` is not an ancestor of `sudian`.
        ("shangdang/sudian", "shangdang/su", False),
        ("shangdang2/sudian", "shangdang", False),
    ],
)
def test_is_within_compares_whole_segments__architecture_tenancy(
    child: str, ancestor: str, expected: bool
) -> None:
    assert is_within(child, ancestor) is expected
    assert OrgPath(child).is_within(ancestor) is expected


def test_is_within_refuses_an_invalid_ancestor__org_path_invalid() -> None:
    with pytest.raises(ValidationFailed) as caught:
        is_within("shangdang", "Shangdang")
    assert caught.value.field == "ancestor"


def test_org_path_validates_inside_pydantic_models_with_the_location() -> None:
    with pytest.raises(ValidationError) as caught:
        OrgUnit.model_validate({"path": "Bad/Path", "name": "x", "kind": "unit", "short_name": "x"})
    assert caught.value.errors()[0]["loc"] == ("path",)
    assert OrgUnit.model_json_schema()["properties"]["path"]["pattern"].startswith("^")


# ------------------------------------------------------------------- the demo district


def test_demo_district_is_shangdang_with_its_short_name__domain_0(demo: OrgTree) -> None:
    assert demo.district.path == "shangdang"
    assert demo.district.name == "长治市上党区"
    assert demo.district.short_name == "上党"
    assert demo.district.kind is OrgLevel.DISTRICT


def test_sudian_leadership_group_matches_the_seed_plan_exactly__fangan_3(demo: OrgTree) -> None:
    sudian = demo.get("shangdang/sudian")
    assert (sudian.name, sudian.short_name) == ("苏店镇", "苏店")
    group = sudian.leadership_group
    assert group is not None
    assert group.name == "苏店镇政务公开领导组"
    assert group.members_note == "苏店镇各站所负责人"
    seated = []
    for seat, person_id in group.seats():
        _, member = demo.find_person(person_id)
        seated.append((seat, member.name, member.title))
    assert seated == SUDIAN_LEADERSHIP_GROUP


def test_sudian_request_and_attribute_duties_are_named__fangan_19(demo: OrgTree) -> None:
    unit, wang = demo.find_person("wang-tietong")
    assert unit.path == "shangdang/sudian"
    assert wang.roles == {Role.REQUEST_HANDLER, Role.ATTRIBUTE_OFFICER}
    assert demo.find_person("tian-yiming")[1].roles == {Role.PRINCIPAL_LEADER}
    assert Role.OPENNESS_OFFICE_HEAD in demo.find_person("guo-xinxin")[1].roles


def test_demo_has_at_least_three_townships_each_with_units__domain_0(demo: OrgTree) -> None:
    townships = demo.townships()
    assert len(townships) >= 3
    assert {t.path for t in townships} >= {"shangdang/sudian", "shangdang/handian"}
    for township in townships:
        assert township.kind is OrgLevel.TOWNSHIP
        assert demo.units_of(township.path), township.path
    sudian_units = {u.name for u in demo.units_of("shangdang/sudian")}
    assert {"苏店镇党政办公室", "苏店镇财政所", "苏店镇便民服务中心"} <= sudian_units


def test_every_township_names_its_request_handler_and_attribute_officer__fangan_19(
    demo: OrgTree,
) -> None:
    for township in demo.townships():
        held = {role for _, p in _people_in(demo, township.path) for role in p.roles}
        assert {
            Role.PRINCIPAL_LEADER,
            Role.OPENNESS_OFFICE_HEAD,
            Role.REQUEST_HANDLER,
            Role.ATTRIBUTE_OFFICER,
            Role.OPINION_OFFICER,
            Role.SECTION_HEAD,
            Role.DRAFTER,
        } <= held, township.path


def test_demo_gives_every_person_role_to_someone__domain_0(demo: OrgTree) -> None:
    held = {role for _, p in demo.people() for role in p.roles}
    assert held == set(Role) - {Role.SERVICE}


def test_district_roles_sit_on_the_district_root__architecture_tenancy(demo: OrgTree) -> None:
    for person_id, role in [
        ("li-qiang", Role.DISTRICT_ASSESSOR),
        ("liu-min", Role.AUDITOR),
        ("chen-gang", Role.ADMINISTRATOR),
    ]:
        unit, member = demo.find_person(person_id)
        assert unit.path == "shangdang"
        assert role in member.roles
    district_units = {u.path for u in demo.units_of("shangdang")}
    assert {"shangdang/gov-office", "shangdang/cyberspace-office", "shangdang/propaganda"} <= (
        district_units
    )


def test_every_role_has_a_chinese_label() -> None:
    assert set(ROLE_LABELS_ZH) == set(Role)
    assert Role.ATTRIBUTE_OFFICER.label_zh == "拟发公文公开属性认定与管理人员"


# ------------------------------------------------------------------------ tree queries


def test_unknown_org_is_not_found__org_unknown(demo: OrgTree) -> None:
    with pytest.raises(NotFound) as caught:
        demo.get("shangdang/nowhere")
    assert caught.value.rule == "org.unknown"
    assert caught.value.field == "org"
    assert "shangdang/nowhere" not in demo
    assert "shangdang/sudian" in demo


def test_unknown_person_is_not_found__person_unknown(demo: OrgTree) -> None:
    with pytest.raises(NotFound) as caught:
        demo.find_person("nobody")
    assert caught.value.rule == "person.unknown"


def test_level_comes_from_the_tree_not_the_path_depth(demo: OrgTree) -> None:
    assert demo.level("shangdang") is OrgLevel.DISTRICT
    assert demo.level("shangdang/sudian") is OrgLevel.TOWNSHIP
    # A district-level unit sits at depth 2, like a township.
    assert demo.level("shangdang/gov-office") is OrgLevel.UNIT
    assert demo.level("shangdang/sudian/finance") is OrgLevel.UNIT


def test_ancestors_list_the_district_first(demo: OrgTree) -> None:
    assert [u.path for u in demo.ancestors("shangdang/sudian/finance")] == [
        "shangdang",
        "shangdang/sudian",
    ]
    assert demo.ancestors("shangdang") == ()


def test_subtree_holds_the_node_and_everything_below_it__architecture_tenancy(
    demo: OrgTree,
) -> None:
    sudian = [u.path for u in demo.subtree("shangdang/sudian")]
    assert sudian[0] == "shangdang/sudian"
    assert all(is_within(p, "shangdang/sudian") for p in sudian)
    assert "shangdang/sudian/party-office" in sudian
    assert not any(p.startswith("shangdang/handian") for p in sudian)
    assert len(demo.subtree("shangdang")) == len(demo) == len(list(demo))
    assert [u.path for u in demo.subtree("shangdang/sudian/finance")] == [
        "shangdang/sudian/finance"
    ]


def test_iteration_puts_parents_before_children(demo: OrgTree) -> None:
    seen: set[str] = set()
    for unit in demo:
        parent = unit.path.parent
        assert parent is None or parent in seen
        seen.add(unit.path)


def test_children_and_township_of(demo: OrgTree) -> None:
    assert {u.path for u in demo.children("shangdang")} >= {
        "shangdang/sudian",
        "shangdang/gov-office",
    }
    township = demo.township_of("shangdang/sudian/finance")
    assert township is not None and township.short_name == "苏店"
    assert demo.township_of("shangdang/sudian") == demo.get("shangdang/sudian")
    assert demo.township_of("shangdang/gov-office") is None
    assert demo.township_of("shangdang") is None
    assert demo.units_of("shangdang/sudian/finance") == ()


def test_org_units_are_frozen(demo: OrgTree) -> None:
    with pytest.raises(ValidationError):
        demo.district.name = "别处"  # type: ignore[misc]


# ------------------------------------------------------------------ org file checks


def test_a_small_tree_builds_from_a_dict() -> None:
    tree = OrgTree.from_dict({"version": 1, "orgs": small_tree_orgs()})
    assert [u.path for u in tree.townships()] == ["shangdang/sudian", "shangdang/handian"]


def test_duplicate_paths_are_refused__org_tree_duplicate_path() -> None:
    error = tree_error([*small_tree_orgs(), org("shangdang/sudian", "township", "苏店二")])
    assert error.rule == "org_tree.duplicate_path"
    assert error.field == "orgs[4].path"


def test_a_missing_parent_is_refused__org_tree_missing_parent() -> None:
    error = tree_error([*small_tree_orgs(), org("shangdang/xihuo/finance", "unit")])
    assert error.rule == "org_tree.missing_parent"
    assert "shangdang/xihuo" in error.message_en


def test_two_district_roots_are_refused__org_tree_root_count() -> None:
    error = tree_error([*small_tree_orgs(), org("changzhi", "district", "长治")])
    assert error.rule == "org_tree.root_count"


def test_a_tree_without_a_district_is_refused__org_tree_root_count() -> None:
    error = tree_error([org("shangdang/sudian", "township")])
    assert error.rule == "org_tree.root_count"


def test_a_unit_under_a_district_unit_is_refused__org_tree_unit_under_unit() -> None:
    error = tree_error(
        [
            *small_tree_orgs(),
            org("shangdang/gov-office", "unit"),
            org("shangdang/gov-office/desk", "unit"),
        ]
    )
    assert error.rule == "org_tree.unit_under_unit"


@pytest.mark.parametrize(
    ("path", "kind"),
    [("shangdang/sudian", "district"), ("shangdang", "township"), ("shangdang/a/b", "township")],
)
def test_kind_must_fit_the_depth__org_tree_invalid_entry(path: str, kind: str) -> None:
    error = tree_error([org(path, kind)])
    assert error.rule == "org_tree.invalid_entry"
    assert error.field == "orgs[0]"


def test_an_unknown_role_in_the_file_is_refused_with_its_location__org_tree_invalid_entry() -> None:
    orgs = small_tree_orgs()
    orgs[1]["people"] = [person("wang-tietong", "request_handler", "chief")]
    error = tree_error(orgs)
    assert error.rule == "org_tree.invalid_entry"
    assert error.field == "orgs[1].people[0].roles[1]"


def test_person_ids_are_unique_in_the_whole_tree__org_tree_duplicate_person() -> None:
    orgs = small_tree_orgs()
    orgs[1]["people"] = [person("zhang-wei")]
    orgs[3]["people"] = [person("zhang-wei")]
    assert tree_error(orgs).rule == "org_tree.duplicate_person"


def test_sibling_short_names_are_unique__org_tree_duplicate_short_name() -> None:
    error = tree_error([*small_tree_orgs(), org("shangdang/sudian/tax", "unit", "财政所")])
    assert error.rule == "org_tree.duplicate_short_name"


def test_leadership_group_seats_people_of_its_subtree__org_tree_leadership_group() -> None:
    orgs = small_tree_orgs()
    orgs[1]["people"] = [person("tian-yiming", "principal_leader")]
    orgs[3]["people"] = [person("yang-jun", "principal_leader")]
    orgs[1]["leadership_group"] = {"name": "苏店镇政务公开领导组", "leader": "yang-jun"}
    assert tree_error(orgs).rule == "org_tree.leadership_group_unknown_person"


def test_unsupported_file_version_is_refused__org_tree_invalid_entry() -> None:
    with pytest.raises(ValidationFailed) as caught:
        OrgTree.from_dict({"version": 2, "orgs": small_tree_orgs()})
    assert caught.value.field == "version"


def test_invalid_yaml_is_refused__org_tree_yaml_invalid() -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_org_tree_yaml("version: 1\norgs: [\n")
    assert caught.value.rule == "org_tree.yaml_invalid"


def test_yaml_text_and_dict_give_the_same_tree() -> None:
    text = (
        "version: 1\norgs:\n  - {path: shangdang, kind: district, name: 上党区, short_name: 上党}\n"
    )
    tree = parse_org_tree_yaml(text)
    assert [u.path for u in tree] == ["shangdang"]


def _people_in(tree: OrgTree, path: str) -> list[tuple[OrgUnit, Person]]:
    return [(unit, p) for unit in tree.subtree(path) for p in unit.people]
