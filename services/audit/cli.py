"""`gongkai audit …` and `gongkai replay …`: the operator's tools (docs/operations.md).

Exit codes: 0 = fine; 1 = the check found a problem (a broken link, missing events,
differences); 2 = bad usage.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

if TYPE_CHECKING:
    from services.audit import replay
    from shared.settings import Settings

#: The keys of completeness.PERIOD_WIDTH, spelled out so that building the parser imports
#: nothing heavy (`gongkai --help` stays fast; tests/test_cli_startup.py checks they agree).
PERIODS = ("day", "hour", "month")


def parse_time(value: str) -> datetime:
    """ISO 8601; a time without zone is Beijing time (UTC+8), the offices' clock."""
    moment = datetime.fromisoformat(value.replace(" ", "T", 1) if " " in value else value)
    if moment.tzinfo is None:
        from datetime import timedelta, timezone

        moment = moment.replace(tzinfo=timezone(timedelta(hours=8)))
    return moment.astimezone(UTC)


def _run(coro: Any) -> int:
    import asyncio  # not at the top: every command loads this module (issue #21)

    return int(asyncio.run(coro))


# -- verify / checkpoints ------------------------------------------------------------------


async def _verify(args: argparse.Namespace) -> int:
    from services.audit import chain, stores
    from services.audit.queries import read_checkpoints
    from shared.settings import Settings

    settings = Settings()
    async with stores.views(settings, "audit") as db, stores.store(settings, "audit") as store:
        await chain.setup_chain(db)
        marks = [
            (int(e.payload["seq"]), str(e.payload["head_hash"]))
            for e in await read_checkpoints(store)
        ]
        held = _exported_marks(args.checkpoint_file) if args.checkpoint_file else []
        result = await chain.verify(db, from_seq=args.from_seq, checkpoints=marks + held)
    outside = f" ({len(held)} from {args.checkpoint_file})" if args.checkpoint_file else ""
    print(
        f"verified {result.verified} links in {result.seconds:.2f} s "
        f"({result.rate:,.0f} events/s); head seq {result.head_seq} {result.head_hash}; "
        f"{len(marks) + len(held)} checkpoints checked{outside}"
    )
    if result.broken is not None:
        print(f"BROKEN at {result.broken.describe()}", file=sys.stderr)
        return 1
    return 0


def _exported_marks(path: Path) -> list[tuple[int, str]]:
    """(seq, head_hash) of each line of a file `audit checkpoints --export` wrote.

    The file is the copy held outside the system: a chain rewritten consistently from some
    seq on, checkpoint events included, still breaks at the first exported mark after it.
    """
    marks = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = orjson.loads(line)
            marks.append((int(record["seq"]), str(record["head_hash"])))
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as err:
            raise SystemExit(f"{path}:{number}: not an exported checkpoint ({err})") from None
    return marks


async def _checkpoints(args: argparse.Namespace) -> int:
    from services.audit import stores
    from services.audit.queries import checkpoint_record, read_checkpoints
    from shared.envelope import utcnow
    from shared.settings import Settings

    settings = Settings()
    async with stores.store(settings, "audit") as store:
        if args.now:
            from services.audit.handlers import AuditHandlers

            async with stores.views(settings, "audit") as db:
                handlers = AuditHandlers(store, db, utcnow, district=args.tenant)
                taken = await handlers.checkpoint("operator")
            if taken is None:
                print("chain is empty: no checkpoint taken", file=sys.stderr)
        records = [checkpoint_record(e) for e in await read_checkpoints(store)]
    if args.export:
        data = b"".join(orjson.dumps(r, option=orjson.OPT_SORT_KEYS) + b"\n" for r in records)
        if args.export == "-":
            sys.stdout.buffer.write(data)
            sys.stdout.flush()
        else:
            import asyncio  # not at the top: every command loads this module (issue #21)

            await asyncio.to_thread(Path(args.export).write_bytes, data)
        if args.export != "-":
            print(f"exported {len(records)} checkpoints to {args.export}")
        return 0
    for r in records:
        print(f"seq {r['seq']:>10}  {r['head_hash']}  {r['checkpointed_at']}  {r['reason']}")
    return 0


# -- completeness --------------------------------------------------------------------------


async def _completeness(args: argparse.Namespace) -> int:
    from services.audit import chain, completeness, stores
    from shared.envelope import utcnow
    from shared.service import discover
    from shared.settings import Settings

    settings = Settings()
    start = parse_time(args.start) if args.start else None
    end = completeness.settle_end(parse_time(args.end) if args.end else None, utcnow(), args.settle)
    names = args.service or list(discover())
    periods: list[completeness.Period] = []
    async with stores.views(settings, "audit") as db:
        await chain.setup_chain(db)
        for name in names:
            async with stores.store(settings, name) as store:
                periods += await completeness.check_service(
                    name, store, db, start=start, end=end, period=args.period
                )
    for p in periods:
        flag = "ok" if p.complete else "INCOMPLETE"
        print(f"{p.service:<16} {p.day:<13}  store {p.in_store:>8}  chain {p.in_chain:>8}  {flag}")
        for event_id in p.missing[: args.show]:
            print(f"    missing from chain: {event_id}")
        for event_id in p.unknown[: args.show]:
            print(f"    chained but not in store: {event_id}")
    totals = completeness.summarize(periods)
    bad = {s: t for s, t in totals.items() if t["missing"] or t["unknown"]}
    print(
        "complete: every stored event is chained"
        if not bad
        else f"INCOMPLETE: {sum(t['missing'] for t in bad.values())} missing, "
        f"{sum(t['unknown'] for t in bad.values())} unknown"
    )
    return 1 if bad else 0


async def _backfill(args: argparse.Namespace) -> int:
    """Chain what a feed missed (e.g. after a worker outage), straight from the stores."""
    from services.audit import chain, stores
    from shared.service import discover
    from shared.settings import Settings

    settings = Settings()
    names = args.service or list(discover())
    total = 0
    async with stores.views(settings, "audit") as db:
        await chain.setup_chain(db)
        for name in names:
            async with stores.store(settings, name) as store:
                added = await chain.backfill(store, db, name)
            print(f"{name:<16} {added} events newly chained")
            total += added
    print(f"backfilled {total} events")
    return 0


# -- trail ---------------------------------------------------------------------------------


async def _trail(args: argparse.Namespace) -> int:
    from services.audit import chain, stores, trail
    from shared.settings import Settings

    settings = Settings()
    query = trail.TrailQuery(
        stream_id=args.stream,
        actor=args.actor,
        tenant=args.tenant,
        start=parse_time(args.start) if args.start else None,
        end=parse_time(args.end) if args.end else None,
    )
    out = sys.stdout
    count = 0
    async with stores.views(settings, "audit") as db:
        await chain.setup_chain(db)
        if args.format == "csv":
            out.write(trail.csv_header())
        async for record in trail.rows(db, query):
            if args.format == "csv":
                out.write(trail.csv_lines([record]))
            else:
                out.write(trail.jsonl_line(record).decode())
            count += 1
    out.flush()
    print(f"{count} events", file=sys.stderr)
    return 0


# -- replay --------------------------------------------------------------------------------


async def _replay(args: argparse.Namespace) -> int:
    from services.audit import replay, stores
    from shared.settings import Settings

    settings = Settings()
    words = list(args.target)
    if words[0] == "diff":
        if len(words) != 2:
            print("usage: gongkai replay diff PROJECTION", file=sys.stderr)
            return 2
        target = replay.find(words[1])
        async with (
            stores.views(settings, target.service) as live,
            stores.views(settings, target.service, shadow=True) as shadow,
        ):
            found = await replay.diff(target, live, shadow)
        for d in found[: args.show]:
            print(d.describe())
        print(f"{len(found)} differences between live and shadow of {target.projection.name}")
        return 1 if found else 0
    if len(words) != 1:
        print(
            "usage: gongkai replay PROJECTION [--as-of T] [--into shadow] [--swap]", file=sys.stderr
        )
        return 2
    target = replay.find(words[0])
    as_of = parse_time(args.as_of) if args.as_of else None
    opened = {s: await stores.open_store(settings, s) for s in target.sources}
    try:
        async with stores.views(settings, target.service, shadow=True) as shadow:
            result = await replay.replay(
                target,
                dict(opened),
                shadow,
                as_of=as_of,
                progress=None if args.quiet else replay.print_progress,
            )
    finally:
        for s in opened.values():
            await s.close()
    print("", file=sys.stderr)
    when = f" as of {as_of.isoformat()}" if as_of else ""
    print(
        f"replayed {target.projection.name}{when} into shadow: {result.events} events "
        f"({result.applied} applied) in {result.seconds:.2f} s, {result.rate:,.0f} events/s"
    )
    if args.swap:
        await _swap(settings, target)
        print(f"swapped: live {target.projection.name} now holds the shadow's rows")
    return 0


async def _swap(settings: Settings, target: replay.Target) -> None:
    from services.audit import replay, stores
    from shared.db import PostgresDatabase

    if settings.database_url:
        async with stores.views(settings, target.service) as live:
            assert isinstance(live, PostgresDatabase)
            await replay.swap_postgres(target, live, f"{target.service}_shadow")
    else:
        replay.swap_sqlite(
            target,
            stores.sqlite_path(settings, target.service, "views.db"),
            stores.sqlite_path(settings, target.service, "shadow.db"),
        )


def _personal(args: argparse.Namespace) -> int:
    from services.audit.personal import personal_fields
    from shared.service import discover

    fields = personal_fields({n: d.registry for n, d in discover().items()})
    label = {True: "personal    ", False: "not personal", None: "UNDECIDED   "}
    for f in fields:
        print(f"{label[f.personal]} {f.service}/{f.event_type}.v{f.schema_version}  {f.path}")
    counts = {mark: sum(f.personal is mark for f in fields) for mark in (True, False, None)}
    print(
        f"{counts[True]} personal, {counts[False]} reviewed as not personal, "
        f"{counts[None]} likely personal but undecided"
    )
    return 1 if counts[None] else 0


def add_commands(sub: Any) -> None:
    audit = sub.add_parser("audit", help="audit log: verify, checkpoints, completeness, trails")
    cmds = audit.add_subparsers(dest="audit_command", required=True)

    verify = cmds.add_parser("verify", help="walk the hash chain; exit 1 at a broken link")
    verify.add_argument("--from", dest="from_seq", type=int, default=1, help="first seq")
    verify.add_argument(
        "--checkpoints",
        dest="checkpoint_file",
        type=Path,
        help="an exported (and signed) checkpoints file: every one must match the chain",
    )
    verify.set_defaults(func=lambda a: _run(_verify(a)))

    marks = cmds.add_parser("checkpoints", help="list or export chain checkpoints")
    marks.add_argument("--export", metavar="FILE", help="JSON Lines to FILE ('-' = stdout)")
    marks.add_argument("--now", action="store_true", help="take a checkpoint first")
    marks.add_argument("--tenant", default="shangdang", help="district org of the checkpoint")
    marks.set_defaults(func=lambda a: _run(_checkpoints(a)))

    comp = cmds.add_parser("completeness", help="compare every store with the chain")
    comp.add_argument("--service", action="append", help="only this service; repeat for several")
    comp.add_argument("--from", dest="start")
    comp.add_argument("--to", dest="end")
    comp.add_argument(
        "--settle",
        type=float,
        default=5.0,
        help="ignore events recorded in the last N seconds (in flight)",
    )
    comp.add_argument("--show", type=int, default=20, help="ids listed per period")
    comp.add_argument("--period", choices=PERIODS, default="day")
    comp.set_defaults(func=lambda a: _run(_completeness(a)))

    bf = cmds.add_parser("backfill", help="chain the stored events a feed missed")
    bf.add_argument("--service", action="append", help="only this service; repeat for several")
    bf.set_defaults(func=lambda a: _run(_backfill(a)))

    tr = cmds.add_parser("trail", help="export the chained events of a stream/actor/tenant")
    tr.add_argument("--stream")
    tr.add_argument("--actor")
    tr.add_argument("--tenant")
    tr.add_argument("--from", dest="start")
    tr.add_argument("--to", dest="end")
    tr.add_argument("--format", choices=["jsonl", "csv"], default="jsonl")
    tr.set_defaults(func=lambda a: _run(_trail(a)))

    pf = cmds.add_parser("personal-fields", help="personal fields in event schemas (marked or not)")
    pf.set_defaults(func=_personal)

    rp = sub.add_parser(
        "replay",
        help="rebuild a projection into a shadow copy (also as of a past instant); "
        "`replay diff PROJECTION` compares shadow and live",
    )
    rp.add_argument("target", nargs="+", metavar="PROJECTION | diff PROJECTION")
    rp.add_argument("--as-of", help="only events recorded at or before this instant")
    rp.add_argument("--into", choices=["shadow"], default="shadow")
    rp.add_argument("--swap", action="store_true", help="then replace live with the shadow")
    rp.add_argument("--show", type=int, default=50, help="differences listed")
    rp.add_argument("--quiet", action="store_true", help="no progress line")
    rp.set_defaults(func=lambda a: _run(_replay(a)))
