"""`make bench`, third part: activation's matching at issue 6's scale, against the raw limit measured in the same run.

Builds 100,000 candidates and 2,000 opportunities (seeded, so the same every run on a given day: ages, unemployment
and start dates are relative to today), on the embedded default (SQLite, WAL):

* agreements (cases' AgreementChangedV1) and a sample of the candidates (cases' ActivationRequestedV1) go through
  activation's real consumer path (decode, ledger, handler, one transaction per batch); the rest of the candidates
  are bulk-inserted with the column values that handler writes (checked equal on the sample);
* organisations, forums (one per district) and opportunities go through the real API of the activation service,
  started as `oslonac serve activation` (uvicorn) on 127.0.0.1 on a free port.

Then (a) GET .../opportunities/{id}/shortlist?limit=50 for random opportunities over HTTP, one at a time, and the
same in this process timed by step (``repository.candidate_pool``, ``matching.Pool.from_rows``, ``matching.evaluate``
+ ``matching.top``, ``matching.explain``); (b) ``service.recompute_shortlists`` with production's sessionmaker, in
this process, twice (run 1 finds no stored shortlists and writes them all, run 2 finds nothing changed and writes
nothing), timed by phase (``repository.shortlist_digests``, ``repository.candidate_rows`` in keyset chunks,
``Pool.from_rows`` and ``service._rank_all`` in the worker thread, ``repository.replace_shortlists``); (c) the
service's responsiveness while the shortlists are recomputed: `oslonac serve activation` again on the same file with
the background refresh every 2 s, GET /health/live (and in two rounds a shortlist too) every 50 ms while idle, then
while the refresh recomputes after 1,000 candidates changed (twice), and while a coordinator's POST
.../shortlists/recompute rewrites nearly every shortlist after the forums' criteria changed (the refresh does not
look at criteria). The recompute's interval is its own ``matching_runs`` row.
The raw limit of the same run: the service's own candidate SELECT run with the sqlite3 module alone, the same
columns made arrays and ranked with numpy alone (its result checked equal to the service's), the stored entries read
and the same entries written with executemany. (b) runs on PostgreSQL too when 127.0.0.1:5432 answers, in a fresh
database dropped afterwards. Results replace this benchmark's own section of docs/benchmarks.md.
"""
