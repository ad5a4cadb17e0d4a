"""Fact projections replace the per-municipality counters.

The counters cannot be turned into facts, so the upgrade empties reporting's store (the old tables and the
ledger of processed events). Reporting is rebuilt from the topics afterwards: ``oslonac reporting-rebuild``
(docs/reporting.md); a fresh installation has nothing to rebuild.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

import shared.db

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "candidate_facts",
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("municipality_code", sa.String(length=5), nullable=False),
        sa.Column("requested_ym", sa.Integer(), nullable=False),
        sa.Column("requested_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sex", sa.String(length=1), nullable=False),
        sa.Column("age_band", sa.SmallInteger(), nullable=False),
        sa.Column("groups", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("person_id", name=op.f("pk_candidate_facts")),
    )
    op.create_table(
        "case_facts",
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("household_id", sa.Uuid(), nullable=False),
        sa.Column("municipality_code", sa.String(length=5), nullable=False),
        sa.Column("opened_ym", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("worker", sa.String(length=200), nullable=True),
        sa.Column("assessed_ym", sa.Integer(), nullable=True),
        sa.Column("days_to_assessment", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("case_id", name=op.f("pk_case_facts")),
    )
    with op.batch_alter_table("case_facts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_facts_household_id"), ["household_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_case_facts_municipality_code"), ["municipality_code"], unique=False)

    op.create_table(
        "case_transitions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("municipality_code", sa.String(length=5), nullable=False),
        sa.Column("ym", sa.Integer(), nullable=False),
        sa.Column("from_status", sa.String(length=20), nullable=True),
        sa.Column("to_status", sa.String(length=20), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_transitions")),
    )
    with op.batch_alter_table("case_transitions", schema=None) as batch_op:
        batch_op.create_index("ix_case_transitions_ym", ["municipality_code", "ym"], unique=False)

    op.create_table(
        "feed_pending",
        sa.Column("municipality_code", sa.String(length=5), nullable=False),
        sa.Column("ym", sa.Integer(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint("municipality_code", "ym", name=op.f("pk_feed_pending")),
    )
    op.create_table(
        "indicator_feed",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("municipality_code", sa.String(length=5), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_indicator_feed")),
    )
    with op.batch_alter_table("indicator_feed", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_indicator_feed_at"), ["at"], unique=False)
        batch_op.create_index("ix_indicator_feed_cell", ["municipality_code", "month", "seq"], unique=False)

    op.create_table(
        "opportunity_facts",
        sa.Column("opportunity_id", sa.Uuid(), nullable=False),
        sa.Column("municipality_code", sa.String(length=5), nullable=False),
        sa.Column("opportunity_type", sa.String(length=20), nullable=False),
        sa.Column("positions", sa.Integer(), nullable=False),
        sa.Column("published_ym", sa.Integer(), nullable=False),
        sa.Column("closed_ym", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("opportunity_id", name=op.f("pk_opportunity_facts")),
    )
    op.create_table(
        "person_facts",
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("household_id", sa.Uuid(), nullable=False),
        sa.Column("municipality_code", sa.String(length=5), nullable=False),
        sa.Column("registered_ym", sa.Integer(), nullable=False),
        sa.Column("sex", sa.String(length=1), nullable=False),
        sa.Column("age_band", sa.SmallInteger(), nullable=False),
        sa.Column("groups", sa.Integer(), nullable=False),
        sa.Column("below_poverty", sa.Boolean(), nullable=True),
        sa.PrimaryKeyConstraint("person_id", "household_id", name=op.f("pk_person_facts")),
    )
    with op.batch_alter_table("person_facts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_person_facts_household_id"), ["household_id"], unique=False)
        batch_op.create_index("ix_person_facts_ym", ["municipality_code", "registered_ym"], unique=False)

    op.create_table(
        "person_marks",
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("erased", sa.Boolean(), nullable=False),
        sa.Column("merged_into", sa.Uuid(), nullable=True),
        sa.PrimaryKeyConstraint("person_id", name=op.f("pk_person_marks")),
    )
    op.create_table(
        "placement_facts",
        sa.Column("placement_id", sa.Uuid(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("municipality_code", sa.String(length=5), nullable=False),
        sa.Column("opportunity_type", sa.String(length=20), nullable=True),
        sa.Column("proposed_ym", sa.Integer(), nullable=True),
        sa.Column("started_ym", sa.Integer(), nullable=True),
        sa.Column("completed_ym", sa.Integer(), nullable=True),
        sa.Column("ended_ym", sa.Integer(), nullable=True),
        sa.Column("hours_worked", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("placement_id", name=op.f("pk_placement_facts")),
    )
    with op.batch_alter_table("placement_facts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_placement_facts_person_id"), ["person_id"], unique=False)
        batch_op.create_index("ix_placement_facts_started", ["municipality_code", "started_ym"], unique=False)

    op.create_table(
        "provider_deltas",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("provider_id", sa.Uuid(), nullable=False),
        sa.Column("municipality_code", sa.String(length=5), nullable=False),
        sa.Column("service_type", sa.String(length=40), nullable=False),
        sa.Column("ym", sa.Integer(), nullable=False),
        sa.Column("providers", sa.Integer(), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("occupancy", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_provider_deltas")),
    )
    op.create_table(
        "provider_facts",
        sa.Column("provider_id", sa.Uuid(), nullable=False),
        sa.Column("municipality_code", sa.String(length=5), nullable=False),
        sa.Column("service_type", sa.String(length=40), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("occupancy", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("changed_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("provider_id", name=op.f("pk_provider_facts")),
    )
    op.create_table(
        "referral_facts",
        sa.Column("referral_id", sa.Uuid(), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("household_id", sa.Uuid(), nullable=False),
        sa.Column("municipality_code", sa.String(length=5), nullable=False),
        sa.Column("service_type", sa.String(length=40), nullable=False),
        sa.Column("cross_border", sa.Boolean(), nullable=False),
        sa.Column("requested_ym", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.PrimaryKeyConstraint("referral_id", name=op.f("pk_referral_facts")),
    )
    with op.batch_alter_table("referral_facts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_referral_facts_household_id"), ["household_id"], unique=False)

    op.drop_table("municipality_indicators")
    op.drop_table("household_facts")
    op.execute(sa.text("DELETE FROM processed_events"))
    op.create_table(
        "household_facts",
        sa.Column("household_id", sa.Uuid(), nullable=False),
        sa.Column("municipality_code", sa.String(length=5), nullable=False),
        sa.Column("registered_ym", sa.Integer(), nullable=False),
        sa.Column("members", sa.SmallInteger(), nullable=False),
        sa.Column("below_poverty", sa.Boolean(), nullable=True),
        sa.Column("head_sex", sa.String(length=1), nullable=True),
        sa.Column("head_age_band", sa.SmallInteger(), nullable=True),
        sa.Column("groups", sa.Integer(), nullable=False),
        sa.Column("elderly_head", sa.Boolean(), nullable=False),
        sa.Column("single_woman_head", sa.Boolean(), nullable=False),
        sa.Column("disability_member", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("registered_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("projected_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("household_id", name=op.f("pk_household_facts")),
    )
    with op.batch_alter_table("household_facts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_household_facts_municipality_code"), ["municipality_code"], unique=False)


def downgrade() -> None:
    """Back to the counters, empty (like the upgrade, the way back is a rebuild)."""
    for table in (
        "candidate_facts",
        "case_facts",
        "case_transitions",
        "feed_pending",
        "indicator_feed",
        "opportunity_facts",
        "person_facts",
        "person_marks",
        "placement_facts",
        "provider_deltas",
        "provider_facts",
        "referral_facts",
        "household_facts",
    ):
        op.drop_table(table)
    op.execute(sa.text("DELETE FROM processed_events"))
    op.create_table(
        "household_facts",
        sa.Column("household_id", sa.Uuid(), nullable=False),
        sa.Column("municipality_code", sa.String(5), nullable=False),
        sa.Column("members", sa.Integer(), nullable=False),
        sa.Column("registered_at", shared.db.UTCDateTime(), nullable=False),
        sa.Column("projected_at", shared.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("household_id", name="pk_household_facts"),
    )
    op.create_index("ix_household_facts_municipality_code", "household_facts", ["municipality_code"])
    counters = ("households", "persons_female", "persons_male", "open_cases", "opportunities_published")
    placements = ("placements_proposed", "placements_started", "placements_completed", "placements_ended")
    op.create_table(
        "municipality_indicators",
        sa.Column("municipality_code", sa.String(5), nullable=False),
        *[sa.Column(name, sa.Integer(), nullable=False) for name in counters],
        sa.Column("updated_at", shared.db.UTCDateTime(), nullable=False),
        *[
            sa.Column(name, sa.Integer(), server_default="0", nullable=False)
            for name in (*placements, "placement_hours_worked")
        ],
        sa.PrimaryKeyConstraint("municipality_code", name="pk_municipality_indicators"),
    )
