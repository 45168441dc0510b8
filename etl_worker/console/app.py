"""The console's routes: Starlette endpoints over the orchestrator and the db layer, rendered by Jinja2.

Reads run in Starlette's thread pool (the db layer is synchronous). An execution page follows its run by
server-sent events: the live part of the page is rendered again whenever the run's records change, and
the stream ends with the run. Every page needs basic auth; every action is a POST carrying a CSRF token
(an HMAC of the user under a key made at start), and is recorded with the user who made it.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import logging
import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime, time
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sse_starlette import EventSourceResponse
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from etl_worker import report
from etl_worker.db import alerts, canonical, quality, reviews, staging, tracking
from etl_worker.db.engine import transaction
from etl_worker.errors import ConfigurationError, FatalError, NotFoundError, RetriableError
from etl_worker.models import ACTIVE_STATUSES, TERMINAL_STATUSES, ETLExecution, ETLStatus
from etl_worker.phases.weigh import waterfall
from etl_worker.redact import redact_text
from etl_worker.settings import Settings
from etl_worker.tracking import history

log = logging.getLogger(__name__)
TEMPLATES = Path(__file__).parent / "templates"
STATUSES = ("running", *(s.value for s in ETLStatus))
LIVE_SECONDS = 0.5  # how often a live page looks for news


class BasicAuth:
    """ASGI middleware: every request needs ``user:password`` (compared in constant time)."""

    def __init__(self, app: ASGIApp, credentials: str | None) -> None:
        self.app = app
        self.credentials = credentials

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.credentials is None:
            scope["user"] = "anonymous"
            await self.app(scope, receive, send)
            return
        given = self._given(dict(scope["headers"]).get(b"authorization", b""))
        if given is None or not hmac.compare_digest(given.encode(), self.credentials.encode()):
            challenge = Response("authentication required", 401, {"WWW-Authenticate": 'Basic realm="etl_worker"'})
            await challenge(scope, receive, send)
            return
        scope["user"] = given.split(":", 1)[0]
        await self.app(scope, receive, send)

    @staticmethod
    def _given(header: bytes) -> str | None:
        kind, _, value = header.partition(b" ")
        if kind.lower() != b"basic":
            return None
        try:
            return base64.b64decode(value, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return None


def _templates() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))
    env.filters["when"] = lambda t: f"{t:%Y-%m-%d %H:%M:%S}" if t else ""
    env.filters["seconds"] = lambda s: "" if s is None else f"{s:,.2f} s"
    env.filters["score"] = lambda s: "" if s is None else f"{s:.1f}"
    return env


class Console:
    """The console of one deployment (its settings and credentials)."""

    def __init__(self, settings: Settings, credentials: str | None) -> None:
        self.settings = settings
        self.credentials = credentials
        self.templates = _templates()
        self._csrf_key = secrets.token_bytes(32)

    # --- helpers -----------------------------------------------------------------------------------------

    def csrf(self, user: str) -> str:
        return hmac.new(self._csrf_key, user.encode(), hashlib.sha256).hexdigest()

    def page(self, request: Request, template: str, status_code: int = 200, **values: Any) -> HTMLResponse:
        user = request.scope.get("user", "anonymous")
        html = self.templates.get_template(template).render(user=user, csrf=self.csrf(user), **values)
        return HTMLResponse(html, status_code)

    async def form(self, request: Request) -> dict[str, str]:
        """The POSTed form, once its CSRF token is checked."""
        form = {k: str(v) for k, v in (await request.form()).items()}
        if not hmac.compare_digest(form.get("csrf", ""), self.csrf(request.scope.get("user", "anonymous"))):
            raise HTTPException(403, "stale or missing form token: reload the page and try again")
        return form

    def orchestrator(self, request: Request) -> Any:
        """The orchestrator acting for the request's user (recorded with what it starts and cancels)."""
        from etl_worker.orchestrator import ETLOrchestrator

        return ETLOrchestrator(settings=self.settings, requested_by=self.who(request))

    @staticmethod
    def who(request: Request) -> str:
        return f"{request.scope.get('user', 'anonymous')} (console)"

    def _execution(self, execution_id: str) -> ETLExecution:
        execution = history.get_execution(self.settings, execution_id)
        if execution is None:
            raise HTTPException(404, f"execution {execution_id} does not exist")
        return execution

    # --- pages -------------------------------------------------------------------------------------------

    def executions(self, request: Request) -> HTMLResponse:
        status = _param(request, "status")
        extraction = _param(request, "extraction")
        since_text = _param(request, "since")
        try:
            since = datetime.combine(datetime.fromisoformat(since_text), time(), UTC) if since_text else None
        except ValueError:
            raise HTTPException(400, f"not a date: {since_text!r} (YYYY-MM-DD)") from None
        statuses = [s.value for s in ACTIVE_STATUSES] if status == "running" else [status] if status else None
        with transaction(self.settings.database_url) as conn:
            rows = tracking.find_executions(conn, statuses, extraction or None, since, limit=200)
        summary = history.get_summary(self.settings)
        filters = {"status": status, "extraction": extraction, "since": since_text}
        return self.page(request, "executions.html", rows=rows, statuses=STATUSES, filters=filters, summary=summary)

    def live_values(self, execution_id: str) -> dict[str, Any]:
        """What the live part of an execution page shows."""
        execution = self._execution(execution_id)
        with transaction(self.settings.database_url) as conn:
            metrics = quality.execution_metrics(conn, execution_id)
            quarantined = quality.quarantined_rows(conn, execution.extraction_id, 100)
            raised = alerts.recent_alerts(conn, 50, execution_id)
        return {
            "execution": execution,
            "ended": execution.overall_status in TERMINAL_STATUSES,
            "timeline": Markup(report.timeline_svg(report.timeline_bars(execution))),
            "sources": execution.transformer_summary(),
            "metrics": metrics,
            "quarantined": quarantined,
            "alerts": raised,
        }

    def execution(self, request: Request) -> HTMLResponse:
        values = self.live_values(str(request.path_params["execution_id"]))
        return self.page(request, "execution.html", **values)

    async def events(self, request: Request) -> EventSourceResponse:
        execution_id = str(request.path_params["execution_id"])
        template = self.templates.get_template("live.html")
        csrf = self.csrf(request.scope.get("user", "anonymous"))
        await run_in_threadpool(self._execution, execution_id)  # a 404 before the stream opens

        async def stream() -> AsyncIterator[dict[str, str]]:
            shown = None
            while not await request.is_disconnected():
                values = await run_in_threadpool(self.live_values, execution_id)
                html = template.render(csrf=csrf, **values)
                if html != shown:
                    shown = html
                    yield {"event": "update", "data": html}
                if values["ended"]:
                    yield {"event": "end", "data": values["execution"].overall_status}
                    return
                await asyncio.sleep(LIVE_SECONDS)

        return EventSourceResponse(stream())

    def prospects(self, request: Request) -> HTMLResponse:
        name = _param(request, "q")
        found = []
        if name:
            with transaction(self.settings.database_url) as conn:
                found = canonical.find_prospects(conn, name)
        return self.page(request, "prospects.html", q=name, found=found)

    def prospect(self, request: Request) -> HTMLResponse:
        prospect_id = request.path_params["prospect_id"]
        with transaction(self.settings.database_url) as conn:
            row = canonical.prospect(conn, prospect_id)
            if row is None:
                raise HTTPException(404, f"prospect {prospect_id} does not exist")
            facts = canonical.prospect_facts(conn, prospect_id)
            lineage = canonical.prospect_lineage(conn, prospect_id)
            for link in lineage:
                staged = staging.read_batch(
                    conn, link["source"], link["extraction_id"], link["staging_row"], link["staging_row"]
                )
                link["record"] = staged[0][1] if staged else None
                link["steps"] = waterfall(link["evidence"]) if link["match_method"] == "weighed" else []
        return self.page(request, "prospect.html", prospect=row, facts=facts, lineage=lineage)

    def review_queue(self, request: Request) -> HTMLResponse:
        with transaction(self.settings.database_url) as conn:
            items = reviews.review_items(conn, None, 200)
        return self.page(request, "reviews.html", items=items, done=_param(request, "done") or None)

    # --- actions -----------------------------------------------------------------------------------------

    async def cancel(self, request: Request) -> Response:
        await self.form(request)
        execution_id = str(request.path_params["execution_id"])
        user = request.scope["user"]
        await run_in_threadpool(self._execution, execution_id)
        await run_in_threadpool(self.orchestrator(request).cancel, execution_id)
        log.info("execution %s cancelled by %s from the console", execution_id, user)
        return RedirectResponse(f"/executions/{execution_id}", 303)

    async def replay(self, request: Request) -> Response:
        form = await self.form(request)
        execution_id = str(request.path_params["execution_id"])
        user = request.scope["user"]
        await run_in_threadpool(self._execution, execution_id)
        try:
            new = await run_in_threadpool(
                self.orchestrator(request).replay, execution_id, form.get("from_phase") or None
            )
        except (ConfigurationError, FatalError) as exc:
            raise HTTPException(409, str(exc)) from None
        log.info("execution %s replayed as %s by %s from the console", execution_id, new, user)
        return RedirectResponse(f"/executions/{new}", 303)

    async def resolve(self, request: Request) -> Response:
        form = await self.form(request)
        review_id = request.path_params["review_id"]
        choice = form.get("choice", "")
        into = int(choice) if choice.isdigit() else None
        if into is None and choice != "new":
            raise HTTPException(400, "choose a candidate or a new person")
        try:
            await run_in_threadpool(
                self.orchestrator(request).resolve_review,
                review_id,
                into,
                choice == "new",
                self.who(request),
                form.get("reason") or None,
            )
        except (ConfigurationError, FatalError) as exc:
            raise HTTPException(409, str(exc)) from None
        return RedirectResponse(f"/reviews?done={review_id}", 303)

    def metrics(self, request: Request) -> Response:
        from etl_worker.celery_app import app
        from etl_worker.ops.metrics import registry

        body = generate_latest(registry(self.settings, list(app.amqp.queues)))
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    async def error(self, request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 404
        detail = exc.detail if isinstance(exc, HTTPException) else str(exc)
        return self.page(request, "error.html", status_code=status, status=status, detail=detail)

    async def failed(self, request: Request, exc: Exception) -> Response:
        """A page that failed for a reason outside the request, in one line: the database down or
        restarting (503: try again), or refusing the console's connection (500)."""
        if isinstance(exc, RetriableError):
            status, detail = 503, f"the database cannot be reached right now ({exc}); try again in a moment"
        else:
            status, detail = 500, str(exc)
        return self.page(request, "error.html", status_code=status, status=status, detail=redact_text(detail))


def create_app(settings: Settings, credentials: str | None) -> Starlette:
    """The console as an ASGI app; ``credentials`` (user:password) None only when run ``--insecure``."""
    console = Console(settings, credentials)
    routes = [
        Route("/", console.executions),
        Route("/executions/{execution_id:uuid}", console.execution),
        Route("/executions/{execution_id:uuid}/events", console.events),
        Route("/executions/{execution_id:uuid}/cancel", console.cancel, methods=["POST"]),
        Route("/executions/{execution_id:uuid}/replay", console.replay, methods=["POST"]),
        Route("/prospects", console.prospects),
        Route("/prospects/{prospect_id:int}", console.prospect),
        Route("/reviews", console.review_queue),
        Route("/reviews/{review_id:int}/resolve", console.resolve, methods=["POST"]),
        Route("/metrics", console.metrics),
    ]
    handlers = {
        HTTPException: console.error,
        NotFoundError: console.error,
        RetriableError: console.failed,
        ConfigurationError: console.failed,
    }
    app = Starlette(routes=routes, exception_handlers=handlers)
    app.add_middleware(BasicAuth, credentials=credentials)
    return app


def _param(request: Request, name: str) -> str:
    """A query parameter as text a filter can use: stripped, without NUL (which PostgreSQL's text refuses)
    or other control characters."""
    value = request.query_params.get(name) or ""
    return "".join(ch for ch in value if ch.isprintable()).strip()
