"""Tenancy: the org tree of one district (区 → 镇/乡 → 站所、部门) and the roles people hold in it.

Every event carries a tenant, an org path such as `shangdang/sudian/party-office`;
every caller carries one too, and acts only inside the subtree below it
(shared/identity.py). The tree itself is configuration, loaded once at start-up
from deploy/<site>/district.yaml (docs/identity.md describes the file).

`Role` lives here rather than in shared/identity.py because the org file assigns
roles to people and identity.py needs the org paths: one of the two modules had
to hold both primitives. Import it from shared.identity, which re-exports it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Any, Literal, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    StringConstraints,
    ValidationError,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, core_schema

from shared.errors import NotFound, ValidationFailed
from shared.fields import LabelledEnum
from shared.roles import Role as Role  # re-exported: most callers import it from here

SLUG_PATTERN = r"[a-z0-9]+(?:-[a-z0-9]+)*"
"""One path segment or person id: lowercase ascii letters and digits, single inner hyphens."""

MAX_SLUG_LENGTH = 40
MAX_ORG_DEPTH = 3
"""district / township / unit. A district-level unit sits at depth 2, beside the townships."""

ORG_PATH_PATTERN = rf"^{SLUG_PATTERN}(?:/{SLUG_PATTERN}){{0,{MAX_ORG_DEPTH - 1}}}$"
_SLUG_RE = re.compile(rf"^{SLUG_PATTERN}$")


ROLE_LABELS_ZH: Mapping[Role, str] = MappingProxyType({m: m.label_zh for m in Role})


class OrgLevel(LabelledEnum):
    """区 / 镇(乡) / 站所、部门."""

    DISTRICT = "district", "区"
    TOWNSHIP = "township", "镇（乡）"
    UNIT = "unit", "站所、部门"


class OrgPath(str):
    """A validated org path: 1–3 slugs joined by `/`, e.g. `shangdang/sudian/party-office`.

    A plain `str` subclass, so it compares, hashes and serialises as the string.
    Constructing one validates it; pydantic fields typed `OrgPath` validate too.
    The path alone does not tell a township from a district-level unit (both sit
    at depth 2); ask the tree (`OrgTree.level`) for the level.
    """

    __slots__ = ()

    def __new__(cls, value: str) -> Self:
        return cls.parse(value)

    @classmethod
    def parse(cls, value: object, *, field: str = "org") -> Self:
        """Validate `value` as an org path; ValidationFailed names `field`."""
        if isinstance(value, cls):
            return value
        reason = _org_path_problem(value)
        if reason is not None:
            raise ValidationFailed(
                rule="org.path_invalid",
                message_zh=f"组织机构路径无效：{reason[0]}",
                message_en=f"Invalid org path: {reason[1]}",
                field=field,
                details={"pattern": ORG_PATH_PATTERN},
            )
        assert isinstance(value, str)
        return str.__new__(cls, value)

    @property
    def segments(self) -> tuple[str, ...]:
        return tuple(self.split("/"))

    @property
    def depth(self) -> int:
        """1 for the district, 2 for a township or district-level unit, 3 for a township unit."""
        return self.count("/") + 1

    @property
    def parent(self) -> OrgPath | None:
        head, sep, _ = self.rpartition("/")
        return OrgPath.parse(head) if sep else None

    @property
    def slug(self) -> str:
        """The last segment."""
        return self.rpartition("/")[2]

    def child(self, slug: str) -> OrgPath:
        return OrgPath.parse(f"{self}/{slug}")

    def is_within(self, ancestor: str) -> bool:
        """True when this path is `ancestor` itself or lies below it."""
        return is_within(self, ancestor)

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        return core_schema.no_info_after_validator_function(
            _validate_for_pydantic,
            core_schema.str_schema(),
            serialization=core_schema.to_string_ser_schema(),
        )

    @classmethod
    def __get_pydantic_json_schema__(
        cls, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {
            "type": "string",
            "pattern": ORG_PATH_PATTERN,
            "maxLength": MAX_ORG_DEPTH * (MAX_SLUG_LENGTH + 1) - 1,
            "description": "Org path: district[/township-or-unit[/unit]], lowercase ascii slugs",
        }


def _org_path_problem(value: object) -> tuple[str, str] | None:
    """Why `value` is not an org path, in Chinese and English; None when it is one."""
    if not isinstance(value, str):
        return ("应为字符串", f"expected a string, got {type(value).__name__}")
    if not value:
        return ("不能为空", "must not be empty")
    segments = value.split("/")
    if len(segments) > MAX_ORG_DEPTH:
        return (
            f"层级不能超过 {MAX_ORG_DEPTH} 级（区/镇/站所）",
            f"at most {MAX_ORG_DEPTH} levels (district/township/unit), got {len(segments)}",
        )
    for segment in segments:
        if not _SLUG_RE.match(segment) or len(segment) > MAX_SLUG_LENGTH:
            return (
                f"“{segment}”不是小写英文字母、数字和连字符组成的标识（最长 {MAX_SLUG_LENGTH}）",
                f"segment {segment!r} is not a lowercase ascii slug of at most "
                f"{MAX_SLUG_LENGTH} characters",
            )
    return None


def _validate_for_pydantic(value: str) -> OrgPath:
    # pydantic reports ValueError with the field's location; ValidationFailed would escape it.
    try:
        return OrgPath.parse(value)
    except ValidationFailed as error:
        raise ValueError(error.message_en) from None


def is_within(child: str, ancestor: str) -> bool:
    """True when `child` is `ancestor` or lies in its subtree.

    Segment-wise: `shangdang/su` does not contain `shangdang/sudian`.
    """
    child_path = OrgPath.parse(child, field="org")
    ancestor_path = OrgPath.parse(ancestor, field="ancestor")
    return child_path == ancestor_path or child_path.startswith(ancestor_path + "/")


Slug = Annotated[str, StringConstraints(pattern=rf"^{SLUG_PATTERN}$", max_length=MAX_SLUG_LENGTH)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class Person(BaseModel):
    """A member of staff as the org file lists them; their org is the unit listing them."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: Slug
    name: Text
    title: Text
    roles: frozenset[Role] = Field(min_length=1)


class LeadershipGroup(BaseModel):
    """政务公开领导组 (方案§三): the seats refer to people of the same subtree by id."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: Text
    leader: Slug
    executive_deputy: Slug | None = None
    deputies: tuple[Slug, ...] = ()
    responsible: Slug | None = None
    members_note: Text | None = None

    def seats(self) -> tuple[tuple[str, str], ...]:
        """(seat in Chinese, person id) in the order the plan lists them."""
        seats: list[tuple[str, str]] = [("组长", self.leader)]
        if self.executive_deputy is not None:
            seats.append(("常务副组长", self.executive_deputy))
        seats.extend(("副组长", deputy) for deputy in self.deputies)
        if self.responsible is not None:
            seats.append(("责任人", self.responsible))
        return tuple(seats)

    @model_validator(mode="after")
    def _one_seat_per_person(self) -> Self:
        ids = [person_id for _, person_id in self.seats()]
        if len(ids) != len(set(ids)):
            raise ValueError("a person holds at most one seat in the leadership group")
        return self


class OrgUnit(BaseModel):
    """One node of the tree: the district, a township, or a unit (站所、部门)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    path: OrgPath
    name: Text
    kind: OrgLevel
    short_name: Text = Field(max_length=20)
    """Used in registration numbers, e.g. 苏店 for 苏店镇, 上党 for 上党区."""
    people: tuple[Person, ...] = ()
    leadership_group: LeadershipGroup | None = None

    @model_validator(mode="after")
    def _kind_fits_depth(self) -> Self:
        allowed: Mapping[OrgLevel, tuple[int, ...]] = {
            OrgLevel.DISTRICT: (1,),
            OrgLevel.TOWNSHIP: (2,),
            OrgLevel.UNIT: (2, 3),
        }
        if self.path.depth not in allowed[self.kind]:
            raise ValueError(
                f"a {self.kind} cannot sit at depth {self.path.depth} ({self.path}); "
                "district = 1, township = 2, unit = 2 (district-level) or 3"
            )
        return self


class _OrgTreeFile(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    version: Literal[1]
    orgs: tuple[OrgUnit, ...] = Field(min_length=1)


def _tree_invalid(rule: str, zh: str, en: str, field: str, **details: Any) -> ValidationFailed:
    return ValidationFailed(
        rule=f"org_tree.{rule}",
        message_zh=f"组织机构配置无效：{zh}",
        message_en=f"Invalid org tree: {en}",
        field=field,
        details=details,
    )


class OrgTree:
    """The district's org tree: immutable once built, validated on construction.

    Checks: unique paths, every parent exists, exactly one district root, a unit
    hangs under the district or a township (not under a unit), short names are
    unique among siblings, person ids are unique in the whole tree, and
    leadership-group seats name people of the group's own subtree.
    """

    __slots__ = ("_by_path", "_children", "_order", "_people", "_root")

    def __init__(self, units: Iterable[OrgUnit]) -> None:
        ordered = tuple(units)
        by_path: dict[OrgPath, OrgUnit] = {}
        for index, unit in enumerate(ordered):
            if unit.path in by_path:
                raise _tree_invalid(
                    "duplicate_path",
                    f"路径 {unit.path} 重复",
                    f"path {unit.path} appears twice",
                    f"orgs[{index}].path",
                )
            by_path[unit.path] = unit
        roots = [unit for unit in ordered if unit.kind is OrgLevel.DISTRICT]
        if len(roots) != 1:
            raise _tree_invalid(
                "root_count",
                f"必须恰有一个区级根节点，实有 {len(roots)} 个",
                f"exactly one district root is required, found {len(roots)}",
                "orgs",
                roots=[str(unit.path) for unit in roots],
            )
        children: dict[OrgPath, list[OrgUnit]] = {path: [] for path in by_path}
        for index, unit in enumerate(ordered):
            parent_path = unit.path.parent
            if parent_path is None:
                continue
            parent = by_path.get(parent_path)
            if parent is None:
                raise _tree_invalid(
                    "missing_parent",
                    f"{unit.path} 的上级 {parent_path} 不存在",
                    f"the parent {parent_path} of {unit.path} is not in the tree",
                    f"orgs[{index}].path",
                )
            if parent.kind is OrgLevel.UNIT:
                raise _tree_invalid(
                    "unit_under_unit",
                    f"{unit.path} 不能设在站所/部门 {parent_path} 之下",
                    f"{unit.path} cannot sit under the unit {parent_path}",
                    f"orgs[{index}].path",
                )
            if any(s.short_name == unit.short_name for s in children[parent_path]):
                raise _tree_invalid(
                    "duplicate_short_name",
                    f"{parent_path} 下的简称“{unit.short_name}”重复",
                    f"short name {unit.short_name!r} is used twice under {parent_path}",
                    f"orgs[{index}].short_name",
                )
            children[parent_path].append(unit)
        self._root = roots[0]
        self._by_path: Mapping[OrgPath, OrgUnit] = MappingProxyType(by_path)
        self._children: Mapping[OrgPath, tuple[OrgUnit, ...]] = MappingProxyType(
            {path: tuple(kids) for path, kids in children.items()}
        )
        self._order = tuple(self._preorder(self._root))
        self._people = self._index_people()
        self._check_leadership_groups()

    @classmethod
    def from_dict(cls, data: object) -> OrgTree:
        """Build from the parsed org file: `{"version": 1, "orgs": [...]}`."""
        try:
            parsed = _OrgTreeFile.model_validate(data)
        except ValidationError as error:
            first = error.errors()[0]
            where = _format_location(first["loc"])
            raise _tree_invalid(
                "invalid_entry",
                f"{where} 无效：{first['msg']}",
                f"{where}: {first['msg']}",
                where,
                errors=[
                    {"loc": _format_location(e["loc"]), "msg": e["msg"]} for e in error.errors()
                ],
            ) from error
        return cls(parsed.orgs)

    @property
    def district(self) -> OrgUnit:
        return self._root

    def get(self, path: str) -> OrgUnit:
        """The unit at `path`; NotFound (org.unknown) if the tree has none."""
        org_path = OrgPath.parse(path)
        unit = self._by_path.get(org_path)
        if unit is None:
            raise NotFound(
                rule="org.unknown",
                message_zh=f"组织机构 {org_path} 不存在",
                message_en=f"No org unit at {org_path}",
                field="org",
            )
        return unit

    def __contains__(self, path: object) -> bool:
        return isinstance(path, str) and path in self._by_path

    def __iter__(self) -> Iterator[OrgUnit]:
        """Depth first, parents before children, siblings in file order."""
        return iter(self._order)

    def __len__(self) -> int:
        return len(self._order)

    def level(self, path: str) -> OrgLevel:
        return self.get(path).kind

    def children(self, path: str) -> tuple[OrgUnit, ...]:
        return self._children[self.get(path).path]

    def townships(self) -> tuple[OrgUnit, ...]:
        return tuple(u for u in self._children[self._root.path] if u.kind is OrgLevel.TOWNSHIP)

    def units_of(self, path: str) -> tuple[OrgUnit, ...]:
        """The units directly under a township (or, for the district path, district-level units)."""
        return tuple(u for u in self.children(path) if u.kind is OrgLevel.UNIT)

    def ancestors(self, path: str) -> tuple[OrgUnit, ...]:
        """The units above `path`, district first, `path` itself excluded."""
        found: list[OrgUnit] = []
        parent = self.get(path).path.parent
        while parent is not None:
            found.append(self._by_path[parent])
            parent = parent.parent
        return tuple(reversed(found))

    def subtree(self, path: str) -> tuple[OrgUnit, ...]:
        """`path` itself and everything below it, parents before children."""
        return tuple(self._preorder(self.get(path)))

    def township_of(self, path: str) -> OrgUnit | None:
        """The township `path` belongs to (itself if a township); None at district level."""
        for unit in (*self.ancestors(path), self.get(path)):
            if unit.kind is OrgLevel.TOWNSHIP:
                return unit
        return None

    def people(self) -> Iterator[tuple[OrgUnit, Person]]:
        for unit in self._order:
            for person in unit.people:
                yield unit, person

    def find_person(self, person_id: str) -> tuple[OrgUnit, Person]:
        """The person with this id and the unit listing them; NotFound (person.unknown)."""
        found = self._people.get(person_id)
        if found is None:
            raise NotFound(
                rule="person.unknown",
                message_zh=f"人员 {person_id} 不在组织机构配置中",
                message_en=f"No person {person_id!r} in the org tree",
                field="person_id",
            )
        return found

    def _preorder(self, unit: OrgUnit) -> Iterator[OrgUnit]:
        yield unit
        for child in self._children[unit.path]:
            yield from self._preorder(child)

    def _index_people(self) -> Mapping[str, tuple[OrgUnit, Person]]:
        people: dict[str, tuple[OrgUnit, Person]] = {}
        for unit in self._order:
            for person in unit.people:
                if person.id in people:
                    raise _tree_invalid(
                        "duplicate_person",
                        f"人员标识 {person.id} 在 {people[person.id][0].path} 和 {unit.path} 重复",
                        f"person id {person.id} is listed in {people[person.id][0].path} "
                        f"and {unit.path}",
                        "people",
                    )
                people[person.id] = (unit, person)
        return MappingProxyType(people)

    def _check_leadership_groups(self) -> None:
        for unit in self._order:
            group = unit.leadership_group
            if group is None:
                continue
            for seat, person_id in group.seats():
                placed = self._people.get(person_id)
                if placed is None or not placed[0].path.is_within(unit.path):
                    raise _tree_invalid(
                        "leadership_group_unknown_person",
                        f"{unit.name}领导组的{seat} {person_id} 不是本级或下级人员",
                        f"the leadership group of {unit.path} seats {person_id} ({seat}), "
                        "who is not listed in its subtree",
                        "leadership_group",
                    )


def _format_location(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "org_tree"


def parse_org_tree_yaml(text: str) -> OrgTree:
    """Build the tree from the text of an org file (YAML)."""
    import yaml  # here, not at the top: `gongkai token issue` loads this module (issue #21)

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise _tree_invalid(
            "yaml_invalid",
            "YAML 格式错误",
            f"the file is not valid YAML: {error}",
            "org_tree",
        ) from error
    return OrgTree.from_dict(data)


def load_org_tree(path: str | Path) -> OrgTree:
    """Read and validate the org file at `path` (the only I/O in this module)."""
    return parse_org_tree_yaml(Path(path).read_text(encoding="utf-8"))
