"""The cluster for an operator, ``/cluster``: every service's health and traffic, and the log.

Per service: its instances and their status (the registry), and its calls
per second, errors per second and p99 latency over the last minute (each
instance's ``/metrics``, scraped by the portal's ``ClusterWatch``). Below, the
newest log entries, filtered by service, level and trace id; a trace id
links to its whole path. The page is complete without JavaScript; with it,
``static/cluster.js`` refreshes the figures and the log every few seconds.
"""

from __future__ import annotations

import logging
import urllib.parse
from collections import defaultdict
from typing import Any

import bottle

from rpc_cluster import Client, RegistryClient, RpcError
from rpc_cluster.core.ids import is_caller_id
from rpc_cluster.observability.log_entries import LEVELS

from ..cluster_stats import ClusterWatch
from ..context import Caller, context
from ..frame import forms, session, text
from ..frame.render import render
from ..frame.traced import traced

#: Log entries shown: the newest, or a whole trace's path.
LOG_LINES = 50
TRACE_LINES = 500
MAX_SERVICE_NAME = 100


def _filters() -> tuple[dict[str, str], dict[str, str]]:
    """The log filters from the query string, and the problem with each bad one."""
    typed = {name: forms.query_text(name) for name in ("service", "level", "trace")}
    filters = {name: (value or "").strip() for name, value in typed.items()}
    # Not UTF-8: Bottle would read it as no filter at all, and the page would show everything.
    problems = {name: "is not valid text (UTF-8)" for name, value in typed.items() if value is None}
    if len(filters["service"]) > MAX_SERVICE_NAME or text.has_control_characters(filters["service"]):
        problems["service"] = f"must be a service name of at most {MAX_SERVICE_NAME} characters"
    if filters["level"] and filters["level"] not in LEVELS:
        problems["level"] = f"must be one of {', '.join(LEVELS)}"
    if filters["trace"] and not is_caller_id(filters["trace"]):
        problems["trace"] = "must be 1 to 64 letters, digits or . _ : -"
    return filters, problems


def _services(rows: list[dict[str, Any]], registries: list[str], watch: ClusterWatch | None) -> list[dict[str, Any]]:
    """One summary per service (the registries first), each with its instances and their last minute."""
    instances: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for url in registries:
        instances["Registry"].append({"service_url": url, "status": "passing", "last_checked": None, "failures": 0})
    for row in rows:
        instances[row["service_name"]].append(row)
    summaries = []
    for name in sorted(instances, key=lambda n: (n != "Registry", n)):
        members = sorted(instances[name], key=lambda r: r["service_url"])
        figures = [watch.rates(row["service_url"]) if watch is not None else None for row in members]
        # Why an instance's newest scrape gave no figures (too slow, too large, refused), for its row.
        scrapes = [watch.status(row["service_url"]) if watch is not None else None for row in members]
        known = [f for f in figures if f is not None]
        p99s = [f.p99_seconds for f in known if f.p99_seconds is not None]
        summaries.append(
            {
                "name": name,
                "instances": list(zip(members, figures, scrapes, strict=True)),
                "log_href": f"/cluster?{urllib.parse.urlencode({'service': name})}#log",
                "passing": sum(row["status"] == "passing" for row in members),
                "calls": sum(f.calls_per_second for f in known) if known else None,
                "errors": sum(f.errors_per_second for f in known) if known else None,
                # The slowest instance's p99: what a caller may meet (not a p99 of the whole service).
                "p99_ms": 1000 * max(p99s) if p99s else None,
            }
        )
    return summaries


def _registry_urls(registry: Caller | None) -> list[str]:
    """The registries the portal asks: a RegistryClient's list, a Client's one URL, or none."""
    if isinstance(registry, RegistryClient):
        return list(registry.urls)
    return [registry.url] if isinstance(registry, Client) else []


def _ask(client: Caller | None, method: str, **params: Any) -> Any:
    """What ``client`` answers (JSON); None when it is not answering, or the portal was made without it."""
    if client is None:
        return None
    try:
        return client.call(method, **params)
    except RpcError:
        return None


@traced(log_level=logging.DEBUG)  # refreshed every 5 s: its own lines would fill the log panel
def cluster() -> str:
    """``GET /cluster`` (administrators): what the registry, the instances' metrics and the log service say."""
    session.require_admin()
    portal = context()
    filters, problems = _filters()
    unavailable: list[str] = []
    rows: list[dict[str, Any]] | None = _ask(portal.registry, "Registry.services")
    if rows is None:
        unavailable.append("The registry is not answering.")
        rows = []
    lines: list[dict[str, Any]] = []
    if not problems:
        tail = _ask(
            portal.logs,
            "Log.tail",
            limit=TRACE_LINES if filters["trace"] else LOG_LINES,
            service_name=filters["service"] or None,
            level=filters["level"] or None,
            trace_id=filters["trace"] or None,
        )
        if tail is None:
            unavailable.append("The log service is not answering.")
        else:
            lines = tail
    # A trace's path reads oldest first; the newest lines, newest first.
    lines = lines if filters["trace"] else list(reversed(lines))
    for line in lines:
        trace_id = line.get("trace_id")
        line["trace_href"] = f"/cluster?{urllib.parse.urlencode({'trace': trace_id})}#log" if trace_id else None
    registries = _registry_urls(portal.registry)
    services = _services(rows, registries, portal.watch)
    names = sorted({row["service_name"] for row in rows} | {line.get("service_name") or "" for line in lines} - {""})
    return render(
        "cluster.tpl",
        400 if problems else 200,
        services=services,
        lines=lines,
        unavailable=unavailable,
        filters=filters,
        problems=problems,
        names=names,
        levels=list(LEVELS),
        checked_by=sorted({checker for row in rows if (checker := row.get("checked_by")) is not None}),
        query=bottle.request.query_string,
    )
