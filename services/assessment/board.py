"""The live scoreboard web page (实时排名): server-rendered HTML, a static script, view tokens.

No build step, no template engine: every piece of text that comes from data (township and
unit names, indicator names, scheme titles, case keys) goes through `html.escape` here, and
the script only ever writes data with `textContent`, never `innerHTML`. The pages carry a
Content-Security-Policy that allows scripts from this origin only, so an injected
`<script>` or `onerror=` would not run even if escaping were forgotten.

Authentication (docs/decisions.md, "Live scoreboard page: HttpOnly view cookie"): a
browser's EventSource cannot send `Authorization`, and the long-lived bearer token must
never travel in a URL. The page therefore signs the caller in once: the bearer token is
POSTed (form body or Authorization header) to `/v1/assessment/board/login`, which answers
with an HttpOnly, SameSite=Strict cookie holding a *view token*: signed with the suite's
secret but with its own issuer and audience, so the API's bearer check refuses it (it can
read the scoreboard and nothing else), valid for at most VIEW_TTL and never longer than the
bearer token it was exchanged for. Pure except for the clock passed in.
"""

from __future__ import annotations

import hashlib
import hmac
import html
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import jwt

from services.assessment.signals import KNOWN_SIGNALS
from shared.errors import Unauthenticated
from shared.identity import Principal, Role

COOKIE = "gk_board"
COOKIE_PATH = "/v1/assessment"
BOARD_PATH = "/v1/assessment/board"
VIEW_TTL = timedelta(hours=1)
VIEW_SECONDS = int(VIEW_TTL.total_seconds())
VIEW_ISSUER = "gongkai/assessment-board"
VIEW_AUDIENCE = "assessment-board"

CSP = (
    "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'unsafe-inline'; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
HTML_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    # same-origin, not no-referrer: with no-referrer Chromium sends `Origin: null` on the
    # sign-in form's POST, and the login-CSRF check could not tell this site from another.
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


# ----------------------------------------------------------------------------- view tokens


def issue_view_token(principal: Principal, secret: str, now: datetime, not_after: int) -> str:
    """A read-only token for the board pages: VIEW_TTL at most, never past `not_after`."""
    expires = min(int((now + VIEW_TTL).timestamp()), not_after)
    claims: dict[str, Any] = {
        "iss": VIEW_ISSUER,
        "aud": VIEW_AUDIENCE,
        "sub": principal.sub,
        "org": str(principal.org),
        "roles": sorted(r.value for r in principal.roles),
        "kind": principal.kind,
        "iat": int(now.timestamp()),
        "exp": expires,
        # the account's session generation: the account book ends the view with the account
        "gen": principal.generation,
    }
    return jwt.encode(claims, secret, algorithm="HS256")


def verify_view_token(token: str, secret: str, now: datetime) -> Principal:
    """The principal of a view cookie, or Unauthenticated (rule board.session_*)."""
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=["HS256"],
            issuer=VIEW_ISSUER,
            audience=VIEW_AUDIENCE,
            options={"require": ["exp", "iat", "sub", "org", "roles", "kind"], "verify_exp": False},
        )
    except jwt.PyJWTError:
        raise _board_unauthenticated(
            "board.session_invalid",
            "看板登录凭据无效，请重新登录",
            "the scoreboard session cookie is invalid; sign in again",
        ) from None
    if now.timestamp() >= int(claims["exp"]):
        raise _board_unauthenticated(
            "board.session_expired",
            "看板登录已过期，请重新登录",
            "the scoreboard session expired; sign in again",
        )
    try:
        return Principal(
            sub=claims["sub"],
            org=claims["org"],
            roles=frozenset(Role(r) for r in claims["roles"]),
            kind=claims["kind"],
            generation=claims.get("gen", 0),
        )
    except ValueError:
        raise _board_unauthenticated(
            "board.session_invalid",
            "看板登录凭据无效，请重新登录",
            "the scoreboard session cookie is invalid; sign in again",
        ) from None


def _board_unauthenticated(rule: str, zh: str, en: str) -> Unauthenticated:
    return Unauthenticated(rule=rule, field=f"cookie {COOKIE}", message_zh=zh, message_en=en)


def safe_next(target: str | None) -> str:
    """Only a board page of this origin may be the redirect after login (no open redirect)."""
    if target and target.startswith(BOARD_PATH) and "//" not in target and "\\" not in target:
        return target
    return BOARD_PATH


# ----------------------------------------------------------------------------- HTML

_E = html.escape

_STYLE = """
body{font-family:system-ui,"Noto Sans CJK SC",sans-serif;margin:1.5rem;color:#1d2733}
h1{font-size:1.4rem}table{border-collapse:collapse;min-width:40rem}
th,td{border-bottom:1px solid #d8dee4;padding:.35rem .7rem;text-align:left}
td.num{text-align:right;font-variant-numeric:tabular-nums}
tr.failed td{color:#b42318}tr.moved td{background:#fff4c2}
.muted{color:#5b6773;font-size:.9rem}.cases{margin:.2rem 0 .6rem 1.2rem}
code{font-size:.85rem}
p.failed{color:#b42318;font-weight:700;border-left:4px solid #b42318;padding-left:.6rem}
input,button{font:inherit;padding:.3rem .5rem}
"""


def _page(title: str, body: str, *, script: bool = False) -> str:
    js = f'<script src="{BOARD_PATH}/board.js" defer></script>' if script else ""
    return (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_E(title)}</title><style>{_STYLE}</style>{js}</head>"
        f"<body>{body}</body></html>"
    )


def _points(value: float) -> str:
    return f"{value:g}"


def board_query(year: int, level: str, owner: str) -> dict[str, str]:
    return {"year": str(year), "level": level, "owner": owner}


def breakdown_href(subject: str, query: Mapping[str, str]) -> str:
    return f"{BOARD_PATH}/subject?" + urlencode({"subject": subject, **query})


LOGIN_COOKIE = "gk_board_login"


def login_csrf(nonce: str, secret: str) -> str:
    """The sign-in form's token, bound to the browser's login nonce (login CSRF)."""
    mac = hmac.new(secret.encode(), f"board-login|{nonce}".encode(), hashlib.sha256)
    return mac.hexdigest()[:40]


def login_csrf_ok(nonce: str | None, secret: str, given: str | None) -> bool:
    return bool(nonce and given) and hmac.compare_digest(
        login_csrf(nonce or "", secret), given or ""
    )


def login_page(
    next_url: str,
    csrf: str,
    problem: str | None = None,
    username: str = "",
    *,
    html_problem: str = "",
) -> str:
    """Sign in with the account's user name and password (the accounts API): the page then
    keeps a read-only view cookie (docs/identity.md "Web sessions")."""
    note = f'<p class="failed" role="alert" id="problem">{_E(problem)}</p>' if problem else ""
    body = (
        "<h1>实时排名 · 登录</h1>"
        f"{note}"
        f'<form method="post" action="{BOARD_PATH}/login">'
        f'<input type="hidden" name="csrf" value="{_E(csrf)}">'
        f'<input type="hidden" name="next" value="{_E(next_url)}">'
        '<p><label for="username">用户名</label><br><input type="text" name="username" '
        f'id="username" value="{_E(username)}" autocomplete="username" required></p>'
        '<p><label for="password">密码</label><br><input type="password" name="password" '
        'id="password" autocomplete="current-password" required></p>'
        '<p><button type="submit" id="sign-in">登录</button></p></form>'
        '<p class="muted">请使用本人的工作账号登录（领导、考核人员）。第一次登录请先在'
        '<a href="/workbench/login">政务公开工作台</a>修改初始密码。'
        "密码连续输错5次，账号将锁定15分钟。"
        "登录后一小时内可查看排名，之后需重新登录。</p>"
    )
    return _page("实时排名 · 登录", body)


def message_page(title: str, text: str) -> str:
    """A refusal shown to a person (e.g. no scheme published for that year)."""
    body = f'<h1>{_E(title)}</h1><p id="message" role="alert">{_E(text)}</p>'
    return _page(title, body)


def _row(row: Mapping[str, Any], query: Mapping[str, str]) -> str:
    failed = not row["passed"]
    status = "否决 vetoed" if row["vetoed"] else ("不合格 failed" if failed else "合格 passed")
    klass = ' class="failed"' if failed else ""
    href = breakdown_href(row["subject"], query)
    return (
        f'<tr data-subject="{_E(row["subject"])}"{klass}>'
        f'<td class="num rank">{row["rank"]}</td>'
        f'<td class="name"><a href="{_E(href)}">{_E(row["name"])}</a></td>'
        f'<td class="num total">{_points(row["total"])}</td>'
        f'<td class="num bonus">{_points(row["bonus"])}</td>'
        f'<td class="status">{_E(status)}</td></tr>'
    )


def board_page(
    board: Mapping[str, Any], query: Mapping[str, str], after: int, generated_at: datetime
) -> str:
    """The ranked table as of `after` (the last ScoreChanged seq it includes)."""
    rows = "".join(_row(r, query) for r in board["items"])
    data_url = "/v1/assessment/scoreboard?" + urlencode(query)
    stream_url = "/v1/assessment/changes/stream"
    body = (
        f"<h1>{_E(board['title'])}</h1>"
        f'<p class="muted">及格线 pass line {_points(board["pass_line"])} · '
        f"方案 <code>{_E(board['scheme_id'])}</code> · "
        f'<span id="status">生成于 {_E(generated_at.astimezone(UTC).isoformat())}</span></p>'
        f'<table id="board" data-scheme="{_E(board["scheme_id"])}" data-after="{after}" '
        f'data-data="{_E(data_url)}" data-stream="{_E(stream_url)}" '
        f'data-breakdown="{BOARD_PATH}/subject" data-query="{_E(urlencode(query))}" '
        'data-renders="0">'
        "<thead><tr><th>名次 Rank</th><th>考核对象 Subject</th><th>得分 Total</th>"
        "<th>加分 Bonus</th><th>结果 Result</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>"
        '<p class="muted">排名随事件实时更新（Server-Sent Events）；点击名称查看扣分明细。</p>'
        f'<form method="post" action="{BOARD_PATH}/logout"><button type="submit">退出 Sign out'
        "</button></form>"
    )
    return _page(str(board["title"]), body, script=True)


def _veto_rows(
    cases: Sequence[Mapping[str, Any]], events: Mapping[str, Mapping[str, str]]
) -> list[str]:
    """一票否决: each veto case with the events that reported it (D-dut)."""
    rows = []
    for case in cases:
        label = KNOWN_SIGNALS.get(case["signal"], case["signal"])
        listed = []
        for i in case["event_ids"]:
            seen = events.get(i, {})
            listed.append(
                f'<li class="event"><code>{_E(i)}</code> '
                f"{_E(seen.get('event_type', ''))} {_E(seen.get('on', ''))}</li>"
            )
        signal = _E(case["signal"])
        rows.append(
            f'<tr class="line veto" data-key="veto"><td>{_E(label)}</td><td>一票否决 veto</td>'
            f'<td colspan="3"><ul class="cases"><li class="case" data-signal="{signal}">'
            f"案件 <code>{_E(case['case'])}</code><ul>{''.join(listed)}</ul></li></ul></td></tr>"
        )
    return rows


def breakdown_page(
    card: Mapping[str, Any],
    name: str,
    query: Mapping[str, str],
    events: Mapping[str, Mapping[str, str]],
    frozen: Sequence[str] = (),
) -> str:
    """A subject's card: each indicator's points and the events behind each deduction."""
    parts: list[str] = []
    for line in card["lines"]:
        kind = "加分 bonus" if line["kind"] == "bonus" else "指标 indicator"
        cases = []
        for case in line["cases"]:
            label = KNOWN_SIGNALS.get(case["signal"], case["signal"])
            listed = []
            for event_id in case["event_ids"]:
                seen = events.get(event_id, {})
                listed.append(
                    f'<li class="event"><code>{_E(event_id)}</code> '
                    f"{_E(seen.get('event_type', ''))} {_E(seen.get('on', ''))}</li>"
                )
            cases.append(
                f'<li class="case" data-signal="{_E(case["signal"])}">{_E(label)} · 案件 '
                f"<code>{_E(case['case'])}</code><ul>{''.join(listed)}</ul></li>"
            )
        detail = f'<ul class="cases">{"".join(cases)}</ul>' if cases else ""
        parts.append(
            f'<tr class="line" data-key="{_E(line["key"])}"><td>{_E(line["name"])}</td>'
            f'<td>{_E(kind)}</td><td class="num">{_points(line["weight"])}</td>'
            f'<td class="num points">{_points(line["points"])}</td>'
            f'<td class="num">{_points(line["raw"])}</td></tr>'
            f'<tr><td colspan="5">{detail}</td></tr>'
        )
    parts += _veto_rows(card.get("veto_cases", []), events)
    back = f"{BOARD_PATH}?" + urlencode(query)
    vetoed = "、".join(card["vetoed"])
    result = "合格 passed" if card["passed"] else "不合格 failed"
    body = (
        f'<p><a id="back" href="{_E(back)}">← 返回排名 Back to the scoreboard</a></p>'
        f'<h1 id="subject">{_E(name)}</h1>'
        f'<p>总分 Total <strong id="total">{_points(card["total"])}</strong> · '
        f"加分 bonus {_points(card['bonus'])} · {_E(result)}"
        + (f" · 一票否决 veto: {_E(vetoed)}" if vetoed else "")
        + f" · 方案 <code>{_E(card['scheme_id'])}</code></p>"
        '<table id="breakdown"><thead><tr><th>指标 Line</th><th>类别 Kind</th>'
        "<th>分值 Weight</th><th>得分 Points</th><th>扣分/加分 Raw</th></tr></thead>"
        f"<tbody>{''.join(parts)}</tbody></table>"
        '<p class="muted">每一处扣分列出引起它的事件编号，可在审计日志中查到原始事件。</p>'
    )
    return _page(f"{name} · 得分明细", body)


#: The page script: re-ranks the table from the scoreboard JSON on each relevant
#: ScoreChanged event of the SSE stream. Data is written with textContent only.
SCRIPT = r"""
(function () {
  "use strict";
  var table = document.getElementById("board");
  if (!table) { return; }
  var status = document.getElementById("status");
  var scheme = table.dataset.scheme;
  var busy = false, again = false;
  function cell(row, cls, text) {
    var td = document.createElement("td");
    td.className = cls; td.textContent = text; row.appendChild(td); return td;
  }
  function fmt(n) { return String(Math.round(n * 100) / 100); }
  function render(board, moved) {
    var body = document.createElement("tbody");
    board.items.forEach(function (r) {
      var tr = document.createElement("tr");
      tr.dataset.subject = r.subject;
      var failed = !r.passed;
      tr.className = (failed ? "failed " : "") + (moved[r.subject] ? "moved" : "");
      cell(tr, "num rank", String(r.rank));
      var name = cell(tr, "name", "");
      var a = document.createElement("a");
      var q = new URLSearchParams(table.dataset.query);
      q.set("subject", r.subject);
      a.href = table.dataset.breakdown + "?" + q.toString();
      a.textContent = r.name; name.appendChild(a);
      cell(tr, "num total", fmt(r.total));
      cell(tr, "num bonus", fmt(r.bonus));
      var result = failed ? "不合格 failed" : "合格 passed";
      cell(tr, "status", r.vetoed.length ? "否决 vetoed" : result);
      body.appendChild(tr);
    });
    table.replaceChild(body, table.tBodies[0]);
    table.dataset.renders = String(Number(table.dataset.renders) + 1);
  }
  var moved = {};
  function refresh() {
    if (busy) { again = true; return; }
    busy = true;
    fetch(table.dataset.data, {credentials: "same-origin", cache: "no-store"})
      .then(function (r) { if (!r.ok) { throw new Error(String(r.status)); } return r.json(); })
      .then(function (board) {
        render(board, moved); moved = {};
        status.textContent = "已更新 updated " + new Date().toLocaleTimeString();
      })
      .catch(function (e) { status.textContent = "更新失败 refresh failed: " + e.message; })
      .then(function () { busy = false; if (again) { again = false; refresh(); } });
  }
  var url = table.dataset.stream + "?after=" + encodeURIComponent(table.dataset.after) +
    "&seconds=120";
  var source = new EventSource(url);
  source.addEventListener("open", function () { status.textContent = "实时 live"; });
  source.addEventListener("score-changed", function (ev) {
    var change = JSON.parse(ev.data);
    if (change.scheme_id !== scheme) { return; }
    moved[change.subject] = true;
    refresh();
  });
  source.addEventListener("error", function () {
    status.textContent = source.readyState === EventSource.CLOSED
      ? "连接已断开，请刷新或重新登录 disconnected: reload or sign in again"
      : "重新连接中 reconnecting";
  });
})();
"""
