"""`gongkai sentiment …`: train and evaluate the classifier, classify, import a file.

Texts are personal data: nothing here prints a message text, only counts, labels, scores
and line numbers.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson


def _columns(value: str) -> list[str]:
    return [c.strip() for c in value.split(",") if c.strip()]


SHARED_SAMPLE = "../shared/data/citizen-messages/messages_labeled_sample.csv"
SHARED_TAXONOMY = "../shared/data/citizen-messages/label_taxonomy.csv"


def _train(args: argparse.Namespace) -> int:
    if args.from_events:
        return _train_from_events(args)
    if not (args.data and args.out and args.text_col and args.label_col):
        print(
            "error: --data, --out, --text-col and --label-col are required (or --from-events)",
            file=sys.stderr,
        )
        return 2
    from services.sentiment.classifier import (
        AnyTopicModel,
        save_model,
        train_linear_topic_model,
        train_topic_model,
    )
    from services.sentiment.training import read_categories, read_labelled

    data = read_labelled(args.data, _columns(args.text_col), args.label_col)
    categories = (
        read_categories(args.taxonomy, args.taxonomy_label_col, _columns(args.taxonomy_cols))
        if args.taxonomy
        else None
    )
    model_id = args.model_id or f"trained-{datetime.now(UTC):%Y%m%d%H%M%S}"
    meta = {
        "rows": len(data.samples),
        "skipped": data.skipped,
        "text_columns": _columns(args.text_col),
        "label_column": args.label_col,
        "seeded_with_lexicon": not args.no_seed,
        "kind": args.kind,
        "category_names": sum(len(v) for v in (categories or {}).values()),
    }
    model: AnyTopicModel
    if args.kind == "nb":
        model = train_topic_model(
            data.samples, seed=not args.no_seed, alpha=args.alpha, model_id=model_id, meta=meta
        )
    else:
        model = train_linear_topic_model(
            data.samples,
            seed=not args.no_seed,
            categories=categories,
            c=args.c,
            model_id=model_id,
            meta=meta,
        )
    save_model(model, args.out)
    print(f"trained on {len(data.samples)} rows ({data.skipped} skipped, no text or label)")
    print(f"classes: {', '.join(model.classes)}")
    print(f"model written to {args.out} (id {model.model_id})")
    return 0


def _train_from_events(args: argparse.Namespace) -> int:
    """The public sample plus every correction in the log; registers the model (an event)."""
    from pathlib import Path

    from services.sentiment.training import read_categories, read_labelled

    data_path = args.data or SHARED_SAMPLE
    text_col = args.text_col or "留言主题,留言详情"
    label_col = args.label_col or "一级分类"
    data = read_labelled(data_path, _columns(text_col), label_col)
    taxonomy = args.taxonomy or (SHARED_TAXONOMY if not args.data else None)
    categories = (
        read_categories(taxonomy, args.taxonomy_label_col, _columns(args.taxonomy_cols))
        if taxonomy and Path(taxonomy).exists()
        else None
    )
    described = f"{Path(data_path).name} ({len(data.samples)} rows)" + (
        f" + category tree {Path(taxonomy).name}" if categories and taxonomy else ""
    )
    import asyncio  # not at the top: every command loads this module (issue #21)

    return asyncio.run(_register(args, data.samples, categories, described))


async def _register(
    args: argparse.Namespace,
    samples: list[tuple[str, str]],
    categories: dict[str, list[str]] | None,
    described: str,
) -> int:
    from services.sentiment.model_store import ModelBook
    from services.sentiment.retrain import train_from_events
    from services.sentiment.service import startup_classifier
    from shared.db import Database, SqliteDatabase
    from shared.envelope import Actor
    from shared.eventstore import open_postgres_store, open_sqlite_store
    from shared.settings import Settings
    from shared.tenancy import load_org_tree

    settings = Settings()
    if settings.database_url:
        store = await open_postgres_store(settings.database_url, schema="sentiment", listen=False)
        views: Database = store.db
    else:
        folder = settings.var_dir / "sentiment"
        store = await open_sqlite_store(str(folder / "events.db"), name="sentiment")
        views = await SqliteDatabase.open(folder / "views.db")
    try:
        book = ModelBook(
            store=store, artefacts=store.db, views=views, startup=startup_classifier(settings)
        )
        result = await train_from_events(
            store,
            store.db,
            book,
            samples,
            categories,
            f"{described} + corrections in the log",
            str(load_org_tree(settings.org_file).district.path),
            Actor(id=args.sub, kind="user", role="administrator"),
            held_out_share=args.held_out,
        )
    finally:
        if views is not store.db:
            await views.close()
        await store.close()
    event = result.event
    t = event.training
    print(
        f"sample {t.sample_rows} rows; corrections {t.corrections} (latest per message): "
        f"{t.corrections_train} trained on, {t.corrections_held_out} held out; "
        f"polarity corrections {t.polarity_corrections} (not used by the topic model)"
    )
    if result.evaluation is not None and result.baseline is not None:
        print("held-out corrections, the new model:")
        print(result.evaluation.table())
        print(result.evaluation.confusion_table())
        print(
            f"held-out corrections, the live model: accuracy {result.baseline.accuracy:.3f}  "
            f"macro-F1 {result.baseline.macro_f1:.3f}"
        )
    else:
        print("no held-out corrections: no evaluation")
    state = "registered" if result.registered else "already registered (same content)"
    print(
        f"model {event.model_id} {state}; artefact {event.artefact} "
        f"sha256 {event.artefact_sha256[:12]}… ({event.artefact_bytes} bytes)"
    )
    return 0


def _eval(args: argparse.Namespace) -> int:
    from services.sentiment.classifier import default_classifier, load_model
    from services.sentiment.training import evaluate_model, read_labelled

    data = read_labelled(args.data, _columns(args.text_col), args.label_col)
    if args.polarity:
        return _eval_polarity(args, data.samples, data.skipped)
    model = load_model(args.model) if args.model else default_classifier().topic_model
    result = evaluate_model(model, data.samples)
    print(f"model {model.model_id}; {len(data.samples)} rows ({data.skipped} skipped)")
    print(result.table())
    print(result.confusion_table())
    return 0


POLARITY_LABELS = {"1": "positive", "0": "negative", "positive": "positive", "negative": "negative"}


def _eval_polarity(args: argparse.Namespace, samples: list[tuple[str, str]], skipped: int) -> int:
    """Sentiment polarity on a labelled set (1/0 or positive/negative); neutral counts wrong."""
    from services.sentiment.linear import LinearModel
    from services.sentiment.rules import polarity_model, sentiment
    from services.sentiment.training import evaluate

    model: LinearModel | bool | None = True
    if args.model:
        model = LinearModel.from_json(orjson.loads(open(args.model, "rb").read()))
    elif args.lexicon_only:
        model = False
    rows = [(t, POLARITY_LABELS[label]) for t, label in samples if label in POLARITY_LABELS]
    predicted = [sentiment(t, model).polarity for t, _ in rows]
    result = evaluate([label for _, label in rows], predicted)
    chosen = (
        "lexicon only"
        if model is False
        else getattr(model if model is not True else polarity_model(), "model_id", "lexicon only")
    )
    neutral = sum(p == "neutral" for p in predicted)
    print(f"polarity ({chosen}); {len(rows)} rows ({skipped} skipped)")
    print(result.table())
    print(result.confusion_table())
    print(f"neutral {neutral} ({neutral / max(1, len(rows)):.1%})")
    return 0


def _train_polarity(args: argparse.Namespace) -> int:
    """Fit the polarity model (label 1/0 or positive/negative) on one or more CSVs (one per
    domain, joined) and write it as JSON."""
    from services.sentiment.linear import fit_linear
    from services.sentiment.rules import POLARITY_TERMS
    from services.sentiment.training import read_labelled

    rows: list[tuple[str, str]] = []
    sources: dict[str, int] = {}
    skipped = 0
    for path in args.data:
        data = read_labelled(path, _columns(args.text_col), args.label_col)
        found = [(t, POLARITY_LABELS[y]) for t, y in data.samples if y in POLARITY_LABELS]
        rows.extend(found)
        sources[Path(path).name] = len(found)
        skipped += data.skipped
    model = fit_linear(
        rows,
        terms=POLARITY_TERMS,
        c=args.c,
        min_df=args.min_df,
        model_id=args.model_id,
        meta={"rows": len(rows), "skipped": skipped, "min_df": args.min_df, "sources": sources},
    )
    with open(args.out, "wb") as handle:
        handle.write(orjson.dumps(model.to_json(), option=orjson.OPT_SORT_KEYS))
    print(f"trained on {len(rows)} rows; {len(model.weights)} features; written to {args.out}")
    return 0


def _classify(args: argparse.Namespace) -> int:
    from services.sentiment.classifier import Classifier, default_classifier, load_model

    classifier = Classifier(load_model(args.model)) if args.model else default_classifier()
    text = args.text if args.text is not None else sys.stdin.read()
    print(orjson.dumps(classifier.classify(text).as_payload(), option=orjson.OPT_INDENT_2).decode())
    return 0


def _progress(done: int, total: int) -> None:
    width = 30
    filled = width * done // max(total, 1)
    sys.stderr.write(f"\r[{'#' * filled}{' ' * (width - filled)}] {done}/{total}")
    sys.stderr.flush()


def _import(args: argparse.Namespace) -> int:
    """Validate locally, then send valid rows as JSON Lines in chunks with a progress bar."""
    import httpx

    from services.sentiment.importer import ParsedRow, RowError, parse_csv, parse_jsonl

    body = open(args.file, "rb").read()
    csv_file = args.format == "csv" or (args.format is None and args.file.endswith(".csv"))
    rows = parse_csv(body) if csv_file else parse_jsonl(body)
    errors: list[dict[str, Any]] = [r.as_dict() for r in rows if isinstance(r, RowError)]
    valid = [r for r in rows if isinstance(r, ParsedRow)]
    imported = duplicates = 0
    headers = {"Authorization": f"Bearer {args.token}", "Content-Type": "application/x-ndjson"}
    with httpx.Client(base_url=args.url, headers=headers, timeout=120) as client:
        for start in range(0, len(valid), args.chunk):
            chunk = valid[start : start + args.chunk]
            payload = b"\n".join(
                orjson.dumps(_row_json(r.command.model_dump(mode="json", exclude_none=True)))
                for r in chunk
            )
            response = client.post("/v1/messages/import?format=jsonl", content=payload)
            if response.status_code != 200:
                print(f"\nerror: HTTP {response.status_code}: {response.text}", file=sys.stderr)
                return 2
            report = response.json()
            imported += report["imported"]
            duplicates += report["duplicates"]
            for err in report["errors"]:
                err["line"] = chunk[err["line"] - 1].line
                errors.append(err)
            _progress(start + len(chunk), len(valid))
    sys.stderr.write("\n")
    print(f"rows {len(rows)}: imported {imported}, duplicates {duplicates}, errors {len(errors)}")
    for err in sorted(errors, key=lambda e: e["line"]):
        print(f"  line {err['line']}: {err['rule']} [{err['field']}] {err['message_en']}")
    return 0 if not errors else 1


def _model(args: argparse.Namespace) -> int:
    """The model register through the API: list, shadow, promote, roll back."""
    import httpx

    from services.sentiment.learning import CLASSIFIER_ID

    headers = {"Authorization": f"Bearer {args.token}"}
    with httpx.Client(base_url=args.url, headers=headers, timeout=60) as client:
        if args.model_action == "list":
            response = client.get("/v1/sentiment-models")
        else:
            body: dict[str, Any] = {"model_id": args.model_id}
            if args.model_action == "shadow":
                body["messages"] = args.messages
            elif args.reason:
                body["reason"] = args.reason
            response = client.post(
                f"/v1/sentiment-classifier/{CLASSIFIER_ID}/{args.model_action}", json=body
            )
    print(orjson.dumps(response.json(), option=orjson.OPT_INDENT_2).decode())
    return 0 if response.status_code < 300 else 1


def _row_json(command: dict[str, Any]) -> dict[str, Any]:
    citizen = command.pop("citizen", None) or {}
    for key, value in citizen.items():
        command[f"citizen_{key}"] = value
    return command


def add_commands(subparsers: Any) -> None:
    p = subparsers.add_parser("sentiment", help="舆情回应: classifier and import")
    sub = p.add_subparsers(dest="sentiment_command", required=True)

    train = sub.add_parser("train", help="train the topic model on a labelled CSV")
    train.add_argument(
        "--from-events",
        action="store_true",
        help="the sample (--data, default the shared public sample) plus every correction "
        "in the log; registers the model as an event (ModelRegistered)",
    )
    train.add_argument("--data", help=f"labelled CSV (--from-events default: {SHARED_SAMPLE})")
    train.add_argument("--text-col", help="column(s), comma-separated")
    train.add_argument("--label-col")
    train.add_argument("--out", help="model file (without --from-events)")
    train.add_argument("--held-out", type=float, default=0.3, help="share of corrections held out")
    train.add_argument("--sub", default="sentiment-trainer", help="who registers (--from-events)")
    train.add_argument(
        "--kind", choices=["linear", "nb"], default="linear", help="linear (default) or nb"
    )
    train.add_argument("--c", type=float, default=1.0, help="linear: inverse regularisation")
    train.add_argument("--alpha", type=float, default=0.1, help="nb: additive smoothing")
    train.add_argument("--no-seed", action="store_true", help="leave out the authored lexicon")
    train.add_argument(
        "--taxonomy", help="linear: a category-tree CSV whose names seed each category"
    )
    train.add_argument("--taxonomy-label-col", default="一级分类")
    train.add_argument("--taxonomy-cols", default="二级分类,三级分类")
    train.add_argument("--model-id")
    train.set_defaults(func=_train)

    ev = sub.add_parser(
        "eval", help="accuracy, macro-F1, per-class table and confusion table on a CSV"
    )
    ev.add_argument("--model", help="a trained model (default: the shipped model)")
    ev.add_argument("--data", required=True)
    ev.add_argument("--text-col", default="留言主题,留言详情")
    ev.add_argument("--label-col", default="一级分类")
    ev.add_argument(
        "--polarity", action="store_true", help="evaluate sentiment polarity (label 1/0)"
    )
    ev.add_argument("--lexicon-only", action="store_true", help="polarity: leave the model out")
    ev.set_defaults(func=_eval)

    tp = sub.add_parser("train-polarity", help="fit the sentiment polarity model on CSVs")
    tp.add_argument("--data", required=True, nargs="+", help="one CSV per domain, joined")
    tp.add_argument("--text-col", default="review")
    tp.add_argument("--label-col", default="label")
    tp.add_argument("--out", required=True)
    tp.add_argument("--c", type=float, default=1.0)
    tp.add_argument("--min-df", type=int, default=3)
    tp.add_argument("--model-id", default="polarity-trained")
    tp.set_defaults(func=_train_polarity)

    cl = sub.add_parser("classify", help="classify one text (argument or stdin), print JSON")
    cl.add_argument("text", nargs="?")
    cl.add_argument("--model")
    cl.set_defaults(func=_classify)

    mdl = sub.add_parser("model", help="the model register: list, shadow, promote, rollback")
    mdl.add_argument("model_action", choices=["list", "shadow", "promote", "rollback"])
    mdl.add_argument("model_id", nargs="?", default="")
    mdl.add_argument("--messages", type=int, default=200, help="shadow: N messages")
    mdl.add_argument("--reason")
    mdl.add_argument("--url", default="http://127.0.0.1:8000")
    mdl.add_argument("--token", required=True)
    mdl.set_defaults(func=_model)

    imp = sub.add_parser("import", help="import a CSV or JSON Lines file through the API")
    imp.add_argument("file")
    imp.add_argument("--url", default="http://127.0.0.1:8000")
    imp.add_argument("--token", required=True)
    imp.add_argument("--format", choices=["csv", "jsonl"])
    imp.add_argument("--chunk", type=int, default=200)
    imp.set_defaults(func=_import)
