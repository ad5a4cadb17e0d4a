"""A realistic, deterministic event stream for the reporting service, built from the real event classes.

``generate(households, seed=..., start=..., months=...)`` simulates the platform over ``months`` months from
``start`` and yields every event the services would have published, in the order of their own timestamps:

* intake: each household registered once (1–6 members; ages 0–90; about 52% women; markers, consents, skills
  and poverty as intake sends them), later edits, consent changes, a yearly burst of ``poverty_line_changed``
  updates when February's new poverty line flips some households, erasures (the member stays with sex and birth
  year only, as intake keeps them), and rare merges of duplicate households and persons in one municipality;
* cases: like the real cases service, every registered household gets its case within a second of the
  registration (priority by the documented rule, restricted when a member is a victim of violence, assigned
  round-robin to ``cw-<municipality>-<n>``). About 70% of the cases are then assessed (open → assessment →
  plan), most of those get a plan (plan → active) that engages some working-age members for work
  (``cases.activation``), referrals go to a fixed pool of 200 providers (about 15% across a border, under the
  district's inter-municipal agreement) whose occupancy changes follow the referrals, cases are reassigned,
  reprioritised, transferred within the district, closed and sometimes reopened — and many are still open
  when the stream ends;
* activation: about one opportunity per 40 households, about 40% of the candidates proposed for one, then
  both parties' answers, the start, hours every month, completion or an early end.

Every id is a UUID drawn from one seeded ``random.Random``, every time is timezone-aware UTC inside working
hours on working days, and every event is built by its pydantic class (validated). The same arguments give
the same stream. Events after ``start + months`` are not produced: the stream is the platform as it stands
on that day.

Measured on the bench machine (AMD EPYC, 2 cores, Python 3.11), seed 7, 30 months from 2024-01-01: 10.11 events
per household (100,000 households → 1,011,006 events; ``EVENTS_PER_HOUSEHOLD``; 9.9–10.2 from 2,000 households
up), generated at about 35,000–38,000 events/s on a quiet machine (27 s, peak RSS 670 MB for 100,000 households).
Some shares depend on the scale: at a few thousand households a small municipality rarely has an opportunity
open, so fewer candidates are proposed (25% instead of 40%).

``publish(events, kafka)`` sends a stream to the broker as the services' outbox relays do: CloudEvents 1.0 in
binary mode, the source of the owning service, the event's key as the record key.
"""

from bench.reporting_events.publish import publish
from bench.reporting_events.stream import EVENTS_PER_HOUSEHOLD, event_time, generate

__all__ = ["EVENTS_PER_HOUSEHOLD", "event_time", "generate", "publish"]
