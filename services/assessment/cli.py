"""`gongkai assessment scheme publish FILE`: publish a 考核方案 from YAML (方案§20)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def add_commands(sub: Any) -> None:
    assessment = sub.add_parser("assessment", help="考核: schemes")
    assessment_sub = assessment.add_subparsers(dest="assessment_command", required=True)
    scheme = assessment_sub.add_parser("scheme", help="考核方案")
    scheme_sub = scheme.add_subparsers(dest="scheme_command", required=True)
    publish = scheme_sub.add_parser("publish", help="publish a scheme from a YAML file")
    publish.add_argument("file", type=Path)
    publish.add_argument(
        "--as",
        dest="person",
        default=None,
        help="person id acting (default: the district's first district_assessor)",
    )
    publish.set_defaults(func=_publish)


def _publish(args: argparse.Namespace) -> int:
    import uuid

    import yaml

    from services.assessment.handlers import publish_scheme
    from shared.errors import GongkaiError
    from shared.eventstore import open_postgres_store, open_sqlite_store
    from shared.identity import Role, principal_for_person
    from shared.settings import Settings
    from shared.tenancy import load_org_tree

    settings = Settings()
    orgs = load_org_tree(settings.org_file)
    person = args.person or next(
        p.id for p in orgs.district.people if Role.DISTRICT_ASSESSOR in p.roles
    )
    principal = principal_for_person(orgs, person)
    text = args.file.read_text(encoding="utf-8")

    async def go() -> int:
        if settings.database_url:
            store = await open_postgres_store(
                settings.database_url, schema="assessment", listen=False
            )
        else:
            folder = settings.var_dir / "assessment"
            folder.mkdir(parents=True, exist_ok=True)
            store = await open_sqlite_store(str(folder / "events.db"), name="assessment")
        try:
            event, created = await publish_scheme(
                store, orgs, yaml.safe_load(text), text, principal, uuid.uuid4()
            )
        except GongkaiError as err:
            print(f"refused: {err}")
            return 2
        finally:
            await store.close()
        word = "published" if created else "unchanged"
        print(f"{word}: {event.payload['scheme_id']} version {event.version} ({event.event_id})")
        return 0

    import asyncio  # not at the top: every command loads this module (issue #21)

    return asyncio.run(go())
