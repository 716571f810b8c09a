"""The routes of `bulkdir serve`. Each handler asks the Workspace (and so the library) and renders a template.

    GET  /                          start: drop a sheet, pick a mapping, a blank template
    POST /upload                    the sheet, as the request's body (X-Filename: its name), size-capped
    GET  /sheets/{id}               its problems, and the sheet a page at a time with the bad cells marked
    GET  /sheets/{id}/report        the problem report (`bulkdir validate --report`)
    GET  /sheets/{id}/plan          the plan, with its options, filters and search
    GET  /sheets/{id}/confirm       the summary once more; typed confirmation of deletes
    POST /sheets/{id}/run           start the run
    GET  /runs/{id}                 its progress (live, /runs/{id}/events) and, once ended, its results
    POST /runs/{id}/stop            stop it as Ctrl-C does
    GET  /runs/{id}/download/{kind} the results file, or the rows to fix
    GET  /history                   past runs from the journal; POST /history/{run}/resume
    GET  /export, /export/{format}  the directory as xlsx or CSV
    GET  /template                  a blank members template
    GET  /lang/{lang}               the page's language
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import quote

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from bulkdir.errors import BulkdirError, RefusedError, RunLockedError, Text
from bulkdir.web.security import Guard
from bulkdir.web.views import (
    FILTERS,
    Page,
    filtered,
    plan_counts,
    plan_items,
    problem_rows,
    removals,
    result_rows,
    sheet_views,
)
from bulkdir.web.words import words
from bulkdir.web.workspace import PlanChoice, Run, Sheet, UploadError, Workspace

HERE = Path(__file__).parent
log = logging.getLogger("bulkdir.web")
LANG_COOKIE = "bulkdir_lang"
templates = Jinja2Templates(directory=str(HERE / "templates"))


def create_app(workspace: Workspace, *, hosts: set[str], token: str | None = None) -> Guard:
    """The page's ASGI app, behind its Guard (the token, the session, the Host and Origin checks)."""
    routes = [
        Route("/", start),
        Route("/upload", upload, methods=["POST"]),
        Route("/sheets/{sheet}", problems),
        Route("/sheets/{sheet}/mapping", choose_mapping, methods=["POST"]),
        Route("/sheets/{sheet}/report", problem_report),
        Route("/sheets/{sheet}/plan", plan_page),
        Route("/sheets/{sheet}/confirm", confirm_page),
        Route("/sheets/{sheet}/run", start_run, methods=["POST"]),
        Route("/runs/{run}", run_page),
        Route("/runs/{run}/events", run_events),
        Route("/runs/{run}/stop", stop_run, methods=["POST"]),
        Route("/runs/{run}/download/{kind}", download_result),
        Route("/history", history),
        Route("/history/{run}/resume", resume, methods=["POST"]),
        Route("/export", export_page),
        Route("/export/{format}", export_file),
        Route("/template", template_file),
        Route("/lang/{lang}", switch_language),
        Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static"),
    ]
    app = Starlette(routes=routes, exception_handlers={BulkdirError: _bulkdir_error, _NotFound: _not_found,
                                                       404: _not_found, Exception: _internal_error})
    app.state.workspace = workspace
    return Guard(app, hosts=hosts, token=token)


# ---------------------------------------------------------------------------------------------
# helpers

def _workspace(request: Request) -> Workspace:
    workspace: Workspace = request.app.state.workspace
    return workspace


def _lang(request: Request) -> str:
    chosen = request.cookies.get(LANG_COOKIE)
    return chosen if chosen in ("zh", "en") else _workspace(request).lang


def _render(request: Request, name: str, status_code: int = 200, **context: Any) -> Response:
    workspace = _workspace(request)
    lang = _lang(request)
    context.update(request=request, lang=lang, w=words(lang), corp_name=workspace.corp_name(),
                   corp_id=workspace.corp_id, sandbox=workspace.sandbox, active=workspace.active_run(),
                   path=request.url.path, query=request.url.query)
    return templates.TemplateResponse(request, name, context, status_code=status_code)


def _sheet(request: Request) -> Sheet:
    sheet = _workspace(request).sheets.get(request.path_params["sheet"])
    if sheet is None:
        raise _NotFound()
    return sheet


def _run(request: Request) -> Run:
    run = _workspace(request).runs.get(request.path_params["run"])
    if run is None:
        raise _NotFound()
    return run


class _NotFound(Exception):
    pass


async def _bulkdir_error(request: Request, error: Exception) -> Response:
    message = error.message if isinstance(error, BulkdirError) else Text(str(error))
    status = 409 if isinstance(error, RunLockedError) else 400  # 409: another run holds the corp
    return _render(request, "error.html", status_code=status, message=message.in_lang(_lang(request)))


async def _internal_error(request: Request, error: Exception) -> Response:
    # a bug: one line on the page and in the log, as the command line says it; never a traceback
    log.error("internal error on %s: %s: %s", request.url.path, type(error).__name__, error)
    return _render(request, "error.html", status_code=500,
                   message=f"internal error: {type(error).__name__}: {error}")


async def _form(request: Request) -> dict[str, str]:
    """A small urlencoded form (the page's own forms carry a few fields)."""
    from urllib.parse import parse_qsl

    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > 64 * 1024:
            raise BulkdirError("the form is too large", "表单过大")
    return dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))


async def _not_found(request: Request, error: Exception) -> Response:
    return _render(request, "error.html", status_code=404, message=words(_lang(request))["not_found"])


def _download(path: Path, name: str) -> FileResponse:
    # the name the person sees, quoted for the header; the file opened is always one the page wrote
    return FileResponse(path, headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}"})


def _int(value: Any, default: int = 1) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


# ---------------------------------------------------------------------------------------------
# start and upload

async def start(request: Request) -> Response:
    from bulkdir.web.workspace import DEFAULT_MAX_UPLOAD

    workspace = _workspace(request)
    limit = f"{workspace.max_upload / 2**20:g} MB" if workspace.max_upload != DEFAULT_MAX_UPLOAD else "50 MB"
    return _render(request, "start.html", mappings=_mapping_names(), limit=limit)


def _mapping_names() -> list[str]:
    """The mappings of ./bulkdir.toml and the user's, for the start page's choice."""
    from bulkdir.mapping import mapping_names

    return mapping_names()


async def upload(request: Request) -> Response:
    workspace = _workspace(request)
    name = request.headers.get("x-filename") or ""
    from urllib.parse import unquote

    declared = _int(request.headers.get("content-length"), -1)
    try:
        sheet = await workspace.save_upload(unquote(name), request.stream(), declared if declared >= 0 else None)
    except UploadError as error:
        return JSONResponse({"error": error.message.in_lang(_lang(request))}, status_code=error.status)
    mapping = request.query_params.get("mapping") or None
    if mapping and mapping not in _mapping_names():
        mapping = None
    sheet.mapping_name = mapping
    return JSONResponse({"next": f"/sheets/{sheet.id}"})


# ---------------------------------------------------------------------------------------------
# problems

async def problems(request: Request) -> Response:
    workspace, sheet = _workspace(request), _sheet(request)
    lang = _lang(request)
    result = await run_in_threadpool(workspace.check, sheet)
    errors = sum(p.severity == "error" for p in result.problems)
    only = request.query_params.get("view") != "all"
    page = _int(request.query_params.get("page"))
    return _render(request, "problems.html", sheet=sheet, result=result, errors=errors,
                   warnings=len(result.problems) - errors,
                   problems=Page.of(problem_rows(result, lang), _int(request.query_params.get("ppage"))),
                   views=sheet_views(result, lang, page, only), only=only, page=page, mappings=_mapping_names())


async def choose_mapping(request: Request) -> Response:
    workspace, sheet = _workspace(request), _sheet(request)
    form = await _form(request)
    chosen = str(form.get("mapping") or "") or None
    sheet.mapping_name = chosen if chosen in _mapping_names() else None
    workspace.forget_checks(sheet)
    return RedirectResponse(f"/sheets/{sheet.id}", status_code=303)


async def problem_report(request: Request) -> Response:
    from bulkdir.validation import write_report

    workspace, sheet = _workspace(request), _sheet(request)
    result = await run_in_threadpool(workspace.check, sheet)
    path = workspace.folder / f"{sheet.id}.problems-{secrets.token_hex(4)}.xlsx"
    await run_in_threadpool(write_report, result, path, _lang(request))
    return _download(path, f"{Path(sheet.name).stem}.problems.xlsx")


# ---------------------------------------------------------------------------------------------
# the plan and its confirmation

async def _plan(request: Request, sheet: Sheet, choice: PlanChoice) -> tuple[Any, Text | None]:
    """The plan for this choice (kept for the confirmation), or the library's refusal."""
    try:
        return await run_in_threadpool(_workspace(request).plan, sheet, choice), None
    except RefusedError as error:
        return None, error.message


async def plan_page(request: Request) -> Response:
    sheet = _sheet(request)
    lang = _lang(request)
    choice = PlanChoice.from_form(request.query_params)
    plan, refused = await _plan(request, sheet, choice)
    which = request.query_params.get("show", "all")
    which = which if which in FILTERS else "all"
    search = request.query_params.get("q", "")
    items = filtered(plan_items(plan, lang), which, search) if plan is not None else []
    return _render(request, "plan.html", sheet=sheet, choice=choice, plan=plan, refused=refused,
                   counts=plan_counts(plan) if plan is not None else None, which=which, search=search,
                   filters=FILTERS, items=Page.of(items, _int(request.query_params.get("page"))),
                   removals=removals(plan) if plan is not None else 0,
                   notes=([Text(n).in_lang(lang) for n in plan.plan.notes] + plan.path_lines(lang)
                          if plan is not None else []))


async def confirm_page(request: Request) -> Response:
    sheet = _sheet(request)
    choice = PlanChoice.from_form(request.query_params)
    plan = sheet.plans.get(choice)
    if plan is None:
        plan, refused = await _plan(request, sheet, choice)
        if refused is not None:
            return RedirectResponse(f"/sheets/{sheet.id}/plan?{choice.query()}", status_code=303)
    return _confirm(request, sheet, choice, plan, mismatch=False)


def _confirm(request: Request, sheet: Sheet, choice: PlanChoice, plan: Any, *, mismatch: bool) -> Response:
    lang = _lang(request)
    summary = plan.plan.summary_lines(lang=lang)
    if plan.resuming:
        summary.insert(0, words(lang)["resuming"].format(run=plan.resume_run))
    return _render(request, "confirm.html", status_code=400 if mismatch else 200, sheet=sheet, choice=choice,
                   plan=plan, counts=plan_counts(plan), removals=removals(plan), summary=summary,
                   reviewed=json.dumps(plan.counts(), sort_keys=True), mismatch=mismatch)


async def start_run(request: Request) -> Response:
    workspace, sheet = _workspace(request), _sheet(request)
    form = await _form(request)
    choice = PlanChoice.from_form(form)
    plan = sheet.plans.get(choice)
    if plan is None:
        return RedirectResponse(f"/sheets/{sheet.id}/plan?{choice.query()}", status_code=303)
    needed = removals(plan)
    if needed and str(form.get("typed", "")).strip() != str(needed):
        return _confirm(request, sheet, choice, plan, mismatch=True)
    try:
        reviewed = json.loads(str(form.get("reviewed") or "{}"))
    except json.JSONDecodeError:
        reviewed = plan.counts()
    workspace.lang = _lang(request)
    run = workspace.start_run(sheet, choice, reviewed)
    return RedirectResponse(f"/runs/{run.id}", status_code=303)


# ---------------------------------------------------------------------------------------------
# runs

def _run_state(run: Run, lang: str) -> dict[str, Any]:
    w = words(lang)
    seconds = run.seconds_left()
    return {"state": run.state, "state_text": w[f"state_{run.state}"], "done": run.done, "total": run.total,
            "failures": run.failures, "rate": round(run.rate(), 1),
            "seconds_left": None if seconds is None else round(seconds),
            "error": run.error.in_lang(lang) if run.error else None,
            "stopping": run.stop.is_set() and run.state in ("starting", "running")}


async def run_page(request: Request) -> Response:
    run = _run(request)
    lang = _lang(request)
    result = run.result
    rows = Page.of(result_rows(result, lang), _int(request.query_params.get("page"))) if result else None
    return _render(request, "run.html", run=run, status=_run_state(run, lang), result=result, rows=rows,
                   failed=_failed_so_far(request, run, lang))


def _failed_so_far(request: Request, run: Run, lang: str) -> list[dict[str, str]]:
    if run.run_id is None:
        return []
    journal = _workspace(request).open_journal()
    try:
        return [{"target": record.target or "", "message": Text(record.message).in_lang(lang),
                 "errcode": "" if record.errcode is None else str(record.errcode)}
                for record in journal.failures(run.run_id, 20)]
    finally:
        journal.close()


async def run_events(request: Request) -> Response:
    """The run's progress, pushed as server-sent events until it ends."""
    run = _run(request)
    lang = _lang(request)

    async def events() -> Any:
        last = None
        while True:
            state = _run_state(run, lang)
            state["failed"] = await run_in_threadpool(_failed_so_far, request, run, lang) if run.failures else []
            text = json.dumps(state, ensure_ascii=False)
            if text != last:
                yield f"data: {text}\n\n"
                last = text
            if state["state"] in ("finished", "interrupted", "failed"):
                return
            await asyncio.sleep(0.25)  # a closed tab ends the stream: Starlette cancels it on disconnect

    return StreamingResponse(events(), media_type="text/event-stream", headers={"X-Accel-Buffering": "no"})


async def stop_run(request: Request) -> Response:
    run = _run(request)
    run.stop.set()
    return RedirectResponse(f"/runs/{run.id}", status_code=303)


async def download_result(request: Request) -> Response:
    run = _run(request)
    result = run.result
    kind = request.path_params["kind"]
    path = (result.results_path if kind == "results" else result.errors_path if kind == "errors" else None) \
        if result else None
    if path is None or not Path(path).is_file():
        raise _NotFound()
    stem = Path(run.sheet.name).stem
    label = "result" if kind == "results" else "errors"
    return _download(Path(path), f"{stem}.{label}-{result.run_id}{Path(path).suffix}")  # type: ignore[union-attr]


# ---------------------------------------------------------------------------------------------
# history, export, template, language

async def history(request: Request) -> Response:
    workspace = _workspace(request)
    journal = workspace.open_journal()
    try:
        runs = [run for run in journal.runs(50) if run.corp_id in (None, workspace.corp_id)]
    finally:
        journal.close()
    resumable = {run.id for run in runs if run.status == "interrupted" and run.command == "import" and run.source
                 and Path(run.source).is_file()}
    names = {run.id: workspace.shown_name(run.id, run.source) for run in runs}
    return _render(request, "history.html", runs=runs, resumable=resumable, names=names)


async def resume(request: Request) -> Response:
    workspace = _workspace(request)
    journal = workspace.open_journal()
    try:
        record = next((run for run in journal.runs(200) if run.id == request.path_params["run"]), None)
    finally:
        journal.close()
    if record is None or not record.source or not Path(record.source).is_file():
        raise _NotFound()
    sheet = workspace.sheet_for_file(Path(record.source), workspace.shown_name(record.id, record.source))
    delete = record.options.get("delete") or {}
    choice = PlanChoice(bool(delete.get("delete_missing")), str(delete.get("scope") or "sheet"),
                        bool(delete.get("disable_instead")), bool(delete.get("prune_departments")),
                        bool(delete.get("allow_mass_delete")))
    return RedirectResponse(f"/sheets/{sheet.id}/plan?{choice.query()}", status_code=303)


async def export_page(request: Request) -> Response:
    return _render(request, "export.html")


async def export_file(request: Request) -> Response:
    import datetime as dt

    from bulkdir import export

    workspace = _workspace(request)
    format_ = request.path_params["format"]
    if format_ not in ("xlsx", "csv"):
        raise _NotFound()
    folder = workspace.folder / f"export-{secrets.token_hex(4)}"
    folder.mkdir(mode=0o700)
    name = f"directory-{workspace.corp_id}-{dt.date.today():%Y%m%d}.{format_}"
    path = folder / name
    await run_in_threadpool(export, workspace.client, path, format=format_, headers=_lang(request))
    return _download(path, name)


async def template_file(request: Request) -> Response:
    from bulkdir.templates import write_template

    workspace = _workspace(request)
    folder = workspace.folder / f"template-{secrets.token_hex(4)}"
    folder.mkdir(mode=0o700)
    path = await run_in_threadpool(write_template, folder / "members.xlsx", "members",
                                   "en" if _lang(request) == "en" else "zh")
    return _download(path, "members-template.xlsx")


async def switch_language(request: Request) -> Response:
    lang = request.path_params["lang"]
    back = request.query_params.get("next", "/")
    if not back.startswith("/") or back.startswith("//"):
        back = "/"  # only a page of this site
    response = RedirectResponse(back, status_code=303)
    if lang in ("zh", "en"):
        response.set_cookie(LANG_COOKIE, lang, httponly=True, samesite="strict", path="/")
    return response
