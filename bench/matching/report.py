"""This benchmark's section of docs/benchmarks.md."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.machine import replace_section
from bench.matching.phases import STALL_S, STALL_TICK_S
from services.activation import service

START, END = "<!-- bench:matching:start -->", "<!-- bench:matching:end -->"
PHASE_LABELS = {
    "stored": "read the stored shortlists' digests (`repository.shortlist_digests`, one per opportunity)",
    "load": "read the candidates (`repository.candidate_rows`: the keyset queries and `RawCandidate` rows)",
    "load_tx": "their short transactions (the rest of `service._candidate_rows`)",
    "pool": "columns (`matching.Pool.from_rows`, worker thread)",
    "rank": "rank every opportunity (`matching.evaluate` + `matching.top`, worker thread)",
    "rank_rest": "the rest of `service._rank_all` (distance vectors; entries as (`uuid.UUID`, rank, score) lists)",
    "write": "write the changed shortlists (`repository.replace_shortlists`)",
    "write_rest": "the rest of `service._write_changes` (comparing, entry rows, the write transactions and commits)",
    "other": "the rest (opportunities, criteria, agreements, the run's row, thread hand-offs)",
}
FLOOR_RUN = {"stored": "second", "write": "first"}  # the run where the phase does all its work (else run 2)
PHASE_SHORT = {
    "stored": "`shortlist_digests`",
    "load": "`candidate_rows`",
    "load_tx": "`_candidate_rows`",
    "pool": "`Pool.from_rows`",
    "rank": "`evaluate`/`top`",
    "rank_rest": "`_rank_all`",
    "write": "`replace_shortlists`",
    "write_rest": "`_write_changes`",
    "other": "none of the wrapped steps (opportunities, criteria, agreements, the run's row)",
}


def _stalls(first: dict[str, Any], second: dict[str, Any]) -> str:
    parts = []
    for n, run in ((1, first), (2, second)):
        st = run["stalls"]
        worst = ", ".join(
            f"{lag * 1000:.0f} ms in {PHASE_SHORT[phase]} (at +{at:.1f} s)" for lag, phase, at in st["worst"]
        )
        parts.append(f"run {n}: {st['count']}, {st['seconds']:.2f} s in all; the longest {worst or '—'}")
    return (
        f"Event-loop stalls over {STALL_S * 1000:.0f} ms while it ran (a task sleeping {STALL_TICK_S * 1000:.0f} ms "
        "in the same loop woke that late; in the service no request is answered meanwhile, "
        "`/health/live` included): " + "; ".join(parts) + "."
    )


def _split_rows(first: dict[str, Any], second: dict[str, Any], floors: dict[str, float]) -> list[str]:
    out = []
    runs = {"first": first, "second": second}
    for key, label in PHASE_LABELS.items():
        floor = ""
        if key in floors:
            run = FLOOR_RUN.get(key, "second")
            ratio = runs[run]["split"][key] / floors[key]
            floor = f"{floors[key]:.2f} s ({ratio:.1f}× run {1 if run == 'first' else 2})"
        a, b = first["split"][key], second["split"][key]
        out.append(
            f"| {label} | {a:.2f} s ({a / first['total_s']:.0%}) | {b:.2f} s ({b / second['total_s']:.0%}) | {floor} |"
        )
    out.append(f"| total | **{first['total_s']:.2f} s** | **{second['total_s']:.2f} s** | |")
    return out


def _run_rows(first: dict[str, Any], second: dict[str, Any], target: bool) -> list[str]:
    out = []
    for n, run, what in ((1, first, "no stored shortlists"), (2, second, "nothing changed")):
        c = run["counts"]
        met = ""
        if target:
            met = " < 60 s: " + ("met" if run["total_s"] < 60 else "**missed**")
        out.append(
            f"| {n} ({what}) | **{run['total_s']:.1f} s** | {c['written_opportunities']:,} | "
            f"{c['written_entries']:,} | {c['transactions']} ({c['queries']} candidate chunks, "
            f"{c['write_transactions']} writes) |{met} |"
        )
    return out


def _probe(stats: dict[str, Any] | None, *, at: bool = False) -> str:
    if not stats or "p50" not in stats:
        return "—"
    failed = f", {stats['failed']} failed" if stats["failed"] else ""
    when = f" (sent at +{stats['worst_at_s']:.1f} s)" if at else ""
    return f"{stats['count']} · {stats['p50']:.1f} · {stats['p99']:.1f} · **{stats['max']:.0f}**{when}{failed}"


def _round_rows(c: dict[str, Any]) -> list[str]:
    out = []
    for n, rnd in enumerate(c["rounds"], start=1):
        if rnd["name"] == "api+shortlists":
            trig = rnd["trigger"] or {}
            trigger = (
                "the forums' criteria changed over the API (women no longer a priority group); no recompute followed "
                f"in {c['idle_s']:.0f} s{' (**one did**)' if rnd['unprompted'] else ''}; then a coordinator's POST "
                f".../shortlists/recompute (answered in {trig.get('post_s', float('nan')):.1f} s)"
            )
        else:
            trigger = (
                f"{c['changes']:,} candidates' skills and hours changed; the refresh started "
                f"{rnd.get('wait_s', float('nan')):.1f} s later"
            )
        took = f"{rnd['run_s']:.1f} s" if "run_s" in rnd else f"none within {rnd['timed_out_s']:.0f} s"
        for i, kind in enumerate(rnd["kinds"]):
            during = rnd.get("during", {}).get(kind)
            over = f"{during['over_200']}" if during else "—"
            head = f"| {n} | {trigger} | {took} | {rnd['changed_shortlists']:,} " if i == 0 else "| | | | "
            label = "`GET /health/live`" if kind == "health" else "`GET .../shortlist?limit=50`"
            out.append(f"{head}| {label} | {_probe(rnd['idle'].get(kind))} | {_probe(during, at=True)} | {over} |")
    return out


def write_section(path: Path, machine: dict[str, str], r: dict[str, Any]) -> None:
    g, load, setup, a, raw, bs = r["generated"], r["load"], r["setup"], r["http"], r["raw"], r["by_step"]
    sq1, sq2, ls, pg, c = r["sqlite_first"], r["sqlite_second"], r["load_split"], r["postgres"], r["responsive"]
    # Making the rows arrays with numpy alone (Arrays.of: every row decoded) is slower than Pool.from_rows (each
    # distinct text decoded once), so it is shown beside it but is no floor of that step, nor in the sums.
    floors = {"stored": raw["stored_s"], "load": raw["select_s"], "rank": raw["rank_s"], "write": raw["write_s"]}
    floor_1 = raw["select_s"] + raw["rank_s"] + raw["write_s"]
    floor_2 = raw["stored_s"] + raw["select_s"] + raw["rank_s"]
    one, rs = raw["one"], raw["by_step"]
    met_a = "met" if a["http"]["p95"] < 200 else "**missed**"
    step_floor = {"load": rs["select_ms"], "rank": rs["rank_ms"]}
    lines = [
        START,
        "## Matching at scale (activation, issue 6)",
        "",
        f"Measured by `make bench` (`bench/matching/`) on {r['date']}, on {machine['cpu']} ({machine['cores']} "
        f"cores, {machine['memory']}), {machine['os']}, Python {machine['python']}, SQLite {machine['sqlite']}; "
        f"whole benchmark {r['wall_s']:.0f} s; 1-minute load average {r['loadavg'][0]:.1f} at its start and "
        f"{r['loadavg'][1]:.1f} at its end (anything else running on the two cores shows in the figures).",
        "",
        f"**Data** (seed {r['seed']}, generated in {g['seconds']:.1f} s; dates relative to the day of the run): "
        f"{g['candidates']:,} candidates spread over the {g['municipalities']} units of "
        "`shared/reference/municipalities.csv`, weighted by kind as a stand-in for size (the list has no "
        "population): a city 4, a Belgrade city municipality 3, a municipality 1; sex F/M 50/50; ages 18–64 "
        "uniform; 0–6 skills of the 35 (the 9 commonest in community work drawn 3× as often); single parent 8%, "
        "Roma 10%, disability 7%, without documents 2%; unemployed 75%, informal work 14%, inactive 8%, in "
        "education 3% (off every list); unemployed since a date for "
        f"{g['with_since']:.0%} (exponential, mean 20 months: {g['long_term']:.0%} of all a year or more); hours "
        "from 4–20 up to 14–40 a week; available from 90 days ago to 45 days ahead. "
        f"{g['agreements']} inter-municipal agreements (`AgreementChangedV1`): each municipality with its "
        f"{r['neighbours']} nearest seats, {g['work_agreements']} covering `work_engagement`, the rest other "
        f"services only; a municipality reaches {g['reach_mean']:.1f} municipalities on average (max "
        f"{g['reach_max']}). {g['forums']} forums, one per district, with default criteria; {g['organisations']} "
        "organisations (1 per municipality, 2 per Belgrade city municipality, 3 per city), each a member of its "
        f"district's forum; {g['opportunities']:,} opportunities spread like the candidates, 0–3 required and 0–3 "
        "preferred skills, 4–20 up to 4–40 hours, 30% accessible, starting within 60 days.",
        "",
        f"**Loading.** The agreements and the first {load['sample']:,} candidates went through activation's real "
        f"consumer path (decode, ledger, `candidates.candidate_requested`, one transaction per batch of "
        f"{r['batch']}): {load['sample'] / load['handler_s']:,.0f} candidates/s. The other {load['bulk']:,} were "
        "inserted directly into `candidates` (SQLAlchemy Core, 5,000 rows per statement) with the column values "
        "that handler writes, checked equal to the handler's own rows on the sample: "
        f"{load['bulk'] / load['bulk_s']:,.0f} rows/s. Forums, organisations and opportunities went through the "
        f"API ({setup['seconds']:.1f} s): the activation service ran as `oslonac serve activation` (uvicorn) on "
        "127.0.0.1 with its SQLite database, without a broker (consumer and relay off) and, for (a), without the "
        "background shortlist refresh, which would otherwise recompute in the middle of the measurement; (c) "
        f"starts it again with the refresh every {c['refresh_s']:g} s.",
        "",
        "### (a) One opportunity's ranked top 50, live",
        "",
        f"`GET /activation/api/opportunities/{{id}}/shortlist?limit=50` for {a['requests']} random opportunities "
        f"(after {a['warmup']} unmeasured), one at a time, each as a case worker of the opportunity's municipality, "
        "over HTTP with keep-alive. HTTP is the client's time from sending the request to its parsed answer; "
        "service is the answer's `computed_in_ms` (`service.shortlist`, from loading the opportunity to the "
        "explained matches).",
        "",
        "| measure | p50 | p95 | p99 | max | mean | target |",
        "|---|---|---|---|---|---|---|",
        f"| HTTP | {a['http']['p50']:.0f} ms | **{a['http']['p95']:.0f} ms** | {a['http']['p99']:.0f} ms "
        f"| {a['http']['max']:.0f} ms | {a['http']['mean']:.0f} ms | p95 < 200 ms: {met_a} |",
        f"| service (`computed_in_ms`) | {a['service']['p50']:.0f} ms | {a['service']['p95']:.0f} ms "
        f"| {a['service']['p99']:.0f} ms | {a['service']['max']:.0f} ms | {a['service']['mean']:.0f} ms | |",
        "| raw floor: the reachable candidates' rows read with sqlite3 (the service's own statement), ranked "
        f"with numpy on arrays already in memory | {one['p50']:.1f} ms "
        f"| {one['p95']:.1f} ms | {one['p99']:.1f} ms | {one['max']:.1f} ms | {one['mean']:.1f} ms | |",
        f"| eligible candidates per opportunity | {a['eligible']['p50']:,.0f} | {a['eligible']['p95']:,.0f} "
        f"| {a['eligible']['p99']:,.0f} | {a['eligible']['max']:,.0f} | {a['eligible']['mean']:,.0f} | |",
        "",
        f"**Ratio HTTP/raw: {a['http']['p50'] / one['p50']:.1f}× at p50, {a['http']['p95'] / one['p95']:.1f}× at "
        f"p95.** The floor keeps the arrays in memory; the service builds them per request (`Pool.from_rows`, "
        f"below; the same rows made arrays with numpy alone, decoding every row, took {rs['arrays_ms']:.1f} ms on "
        f"average, so that is no floor for the step). {a['short']} of the "
        f"opportunities had fewer than 50 eligible. Peak RSS of the service process: {a['rss_mib']:.0f} MiB.",
        "",
        f"Where the time goes: `service.shortlist` for the first {bs['count']} of those opportunities again, in the "
        "benchmark's process on the same file, timed by step (each step its own time; mean per shortlist; "
        f"{bs['rows'] / bs['count']:,.0f} candidate rows loaded per shortlist on average), with the same step "
        f"done by sqlite3 and numpy alone for the same {rs['count']} opportunities:",
        "",
        "| step | mean | share | raw floor (ratio) |",
        "|---|---|---|---|",
        *[
            f"| {label} | {bs['split'][key] / bs['count'] * 1000:.1f} ms | {bs['split'][key] / bs['total_s']:.0%} | "
            + (
                f"{step_floor[key]:.1f} ms ({bs['split'][key] / bs['count'] * 1000 / step_floor[key]:.1f}×)"
                if key in step_floor and step_floor[key] > 0
                else ""
            )
            + " |"
            for key, label in (
                ("load", "read the reachable candidates (`repository.candidate_pool`: query, `RawCandidate` rows)"),
                ("pool", "columns (`matching.Pool.from_rows`)"),
                ("rank", "rank (`matching.evaluate` + `matching.top`)"),
                ("explain", "explain the top 50 (`matching.explain`: the domain candidate built, eligibility, score)"),
                (
                    "other",
                    "the rest (opportunity, criteria, agreements and the municipalities reached, the 50 rows, "
                    "placements)",
                ),
            )
        ],
        f"| total | {bs['total_s'] / bs['count'] * 1000:.1f} ms | | |",
        "",
        f"Reading costs {bs['split']['load'] / bs['rows'] * 1e6:.1f} µs per candidate row and the columns "
        f"{bs['split']['pool'] / bs['rows'] * 1e6:.1f} µs; the sqlite3 floor reads the same rows at "
        f"{raw['select_s'] / raw['rows'] * 1e6:.1f} µs per row.",
        "",
        "### (b) Every shortlist recomputed",
        "",
        f"`service.recompute_shortlists(sessions)` over all {sq1['opportunities']:,} published opportunities and "
        f"{sq1['candidates']:,} candidates, in the benchmark's process with production's engine and sessionmaker "
        "(SQLite, WAL), as the refresh and the API call it: the candidates read in keyset chunks of "
        f"{service.READ_CHUNK:,}, each in its own transaction; columns and ranking in a worker thread outside any "
        f"transaction; only the changed shortlists written, about {service.WRITE_CHUNK:,} entries per transaction. "
        "Timed by wrapping the functions it calls, each phase its own time (a step inside another taken out of "
        "it). Run 1 found no stored shortlists and wrote them all; run 2 found nothing changed and wrote nothing "
        "(the refresh's steady state).",
        "",
        "| run | total | shortlists written | entries written | transactions | target |",
        "|---|---|---|---|---|---|",
        *_run_rows(sq1, sq2, True),
        "",
        "By phase (share of the run's total), with the raw floor of the same step where there is one (against "
        "run 1 for writing, run 2 for the rest):",
        "",
        "| phase | run 1 | run 2 | raw floor (ratio) |",
        "|---|---|---|---|",
        *_split_rows(sq1, sq2, floors),
        "",
        _stalls(sq1, sq2),
        "",
        f"Every candidate in one query, as `candidate_pool` reads them, measured again after the runs: the query "
        f"with SQLAlchemy's rows {ls['query_s']:.2f} s, `RawCandidate` tuples {ls['tuples_s']:.2f} s, "
        f"`Pool.from_rows` {ls['pool_s']:.2f} s ({ls['rows']:,} rows); run 2's keyset chunks took "
        f"{sq2['split']['load'] + sq2['split']['load_tx']:.2f} s for the same rows.",
        "",
        "The raw floor, in the same run on the same file: the service's own candidate statement run with the "
        f"`sqlite3` module alone ({raw['rows']:,} rows, {raw['select_s']:.2f} s); those rows made numpy arrays "
        f"({raw['arrays_s']:.2f} s) and every shortlist ranked with numpy alone (the same rule, ties to the smaller "
        f"person id: {raw['rank_s']:.2f} s), the result "
        f"{'identical to' if raw['same_as_service'] else '**different from**'} the {raw['entries']:,} entries the "
        f"service stored; the stored entries read ({raw['stored']:,} rows, {raw['stored_s']:.2f} s); the entries "
        f"deleted and written again with `executemany` in one transaction ({raw['write_s']:.2f} s). Making the rows "
        f"arrays decodes every row's texts, which `Pool.from_rows` does once per distinct text, so it is no floor "
        f"for the columns and is left out of the sums. **Ratio service/raw: {sq1['total_s'] / floor_1:.1f}× for "
        f"run 1** (over read, rank and write: {floor_1:.2f} s), **{sq2['total_s'] / floor_2:.1f}× for run 2** "
        f"(over reading the stored entries, read and rank: {floor_2:.2f} s).",
        "",
    ]
    if "skipped" in pg:
        lines += ["### (b) on PostgreSQL", "", f"Skipped: {pg['skipped']}.", ""]
    else:
        p1, p2, praw, pls = pg["first"], pg["second"], pg["raw"], pg["load_split"]
        lines += [
            "### (b) on PostgreSQL",
            "",
            f"PostgreSQL {pg['version']} at 127.0.0.1:5432 on the same machine, in a fresh database (dropped "
            "afterwards) migrated with activation's migrations, holding the SQLite database's rows copied table by "
            f"table through SQLAlchemy's types (candidates with COPY; {pg['copy_s']:.1f} s) and then `ANALYZE`d. "
            "Same call, same process (asyncpg).",
            "",
            "| run | total | shortlists written | entries written | transactions | target |",
            "|---|---|---|---|---|---|",
            *_run_rows(p1, p2, True),
            "",
            "| phase | run 1 | run 2 | raw floor (ratio) |",
            "|---|---|---|---|",
            *_split_rows(p1, p2, {"stored": praw["stored_s"], "load": praw["select_s"], "write": praw["write_s"]}),
            "",
            _stalls(p1, p2),
            "",
            f"Every candidate in one query: the query {pls['query_s']:.2f} s, `RawCandidate` tuples "
            f"{pls['tuples_s']:.2f} s, `Pool.from_rows` {pls['pool_s']:.2f} s. Raw floors: the service's candidate "
            f"statement with asyncpg alone ({praw['rows']:,} rows, {praw['select_s']:.2f} s); the stored entries "
            f"fetched with asyncpg ({praw['stored_s']:.2f} s); the entries deleted and inserted again with asyncpg's "
            f"`executemany` in one transaction ({praw['write_s']:.2f} s).",
            "",
        ]
    lines += [
        "### (c) The service while the shortlists are recomputed",
        "",
        f"`oslonac serve activation` again on the same SQLite file, now with `OSLONAC_SHORTLIST_REFRESH_S="
        f"{c['refresh_s']:g}` (1-minute load average {c['loadavg']:.1f} at its start). Each round: five unmeasured "
        "requests of each kind, then probes every 50 ms, each kind on its own keep-alive connection, one at a time "
        "(the next at once when one took longer): `GET /activation/health/live` (no database: it waits only for "
        "the event loop), and in rounds 2 and 3 also a case worker's `GET .../shortlist?limit=50` of the (a) "
        f"opportunities in turn. First {c['idle_s']:.0f} s idle (nothing stale; the refresh still checks every "
        f"{c['refresh_s']:g} s), then the trigger, until the recompute's `matching_runs` row is there. *During* "
        "counts the probes whose request overlapped that row's started–finished interval. Cells: probes · p50 · "
        "p99 · max, in ms (HTTP, from sending to the parsed answer; for the slowest during, when it was sent from the "
        "recompute's start).",
        "",
        "| round | trigger | recompute | shortlists rewritten | probe | idle | during | during > 200 ms |",
        "|---|---|---|---|---|---|---|---|",
        *_round_rows(c),
        "",
        f"Peak RSS of that service process: {c['rss_mib']:.0f} MiB.",
        "",
        END,
    ]
    replace_section(path, START, END, "\n".join(lines))
