"""Organisations, forums, agreements, opportunity details, candidates, shortlists and placements.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

from shared.db import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "organisations",
        sa.Column("id", sa.String(100), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("municipality_code", sa.String(5), nullable=False),
        sa.Column("registered_by", sa.String(100), nullable=False),
        sa.Column("registered_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organisations")),
    )
    op.create_table(
        "forums",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("municipalities", sa.JSON(), nullable=False),
        sa.Column("criteria", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("criteria_changed_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_forums")),
    )
    op.create_table(
        "forum_members",
        sa.Column("forum_id", sa.Uuid(), nullable=False),
        sa.Column("organisation_id", sa.String(100), nullable=False),
        sa.Column("joined_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["forum_id"], ["forums.id"], name=op.f("fk_forum_members_forum_id_forums"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_forum_members_organisation_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("forum_id", "organisation_id", name=op.f("pk_forum_members")),
    )
    op.create_index(op.f("ix_forum_members_organisation_id"), "forum_members", ["organisation_id"])
    op.create_table(
        "agreements",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("municipalities", sa.JSON(), nullable=False),
        sa.Column("service_types", sa.JSON(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.Column("changed_at", UTCDateTime(), nullable=False),
        sa.Column("stored_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agreements")),
    )
    with op.batch_alter_table("opportunities") as batch:
        batch.add_column(sa.Column("forum_id", sa.Uuid(), nullable=True))
        batch.add_column(sa.Column("type", sa.String(20), server_default="community_work", nullable=False))
        batch.add_column(sa.Column("description", sa.Text(), server_default="", nullable=False))
        batch.add_column(sa.Column("place", sa.String(200), server_default="", nullable=False))
        batch.add_column(sa.Column("hours_min", sa.Integer(), server_default="1", nullable=False))
        batch.add_column(sa.Column("hours_max", sa.Integer(), server_default="40", nullable=False))
        batch.add_column(sa.Column("starts_on", sa.Date(), nullable=True))
        batch.add_column(sa.Column("ends_on", sa.Date(), nullable=True))
        batch.add_column(sa.Column("required_skills", sa.JSON(), server_default="[]", nullable=False))
        batch.add_column(sa.Column("preferred_skills", sa.JSON(), server_default="[]", nullable=False))
        batch.add_column(sa.Column("accessible", sa.Boolean(), server_default=sa.text("false"), nullable=False))
        batch.add_column(sa.Column("closed_at", UTCDateTime(), nullable=True))
        batch.create_index(op.f("ix_opportunities_forum_id"), ["forum_id"])
        batch.create_index(op.f("ix_opportunities_organisation"), ["organisation"])
    op.create_table(
        "candidates",
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("household_id", sa.Uuid(), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("request_id", sa.Uuid(), nullable=False),
        sa.Column("municipality_code", sa.String(5), nullable=False),
        sa.Column("sex", sa.String(1), nullable=False),
        sa.Column("birth_year", sa.Integer(), nullable=False),
        sa.Column("able_to_work", sa.Boolean(), nullable=False),
        sa.Column("education", sa.String(30), nullable=True),
        sa.Column("employment_status", sa.String(30), nullable=True),
        sa.Column("skills", sa.JSON(), nullable=False),
        sa.Column("markers", sa.JSON(), nullable=False),
        sa.Column("below_poverty_line", sa.Boolean(), nullable=True),
        sa.Column("unemployed_since", sa.Date(), nullable=True),
        sa.Column("hours_min", sa.Integer(), nullable=False),
        sa.Column("hours_max", sa.Integer(), nullable=False),
        sa.Column("available_from", sa.Date(), nullable=True),
        sa.Column("requested_at", UTCDateTime(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("placed", sa.Boolean(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("person_id", name=op.f("pk_candidates")),
    )
    op.create_index(op.f("ix_candidates_household_id"), "candidates", ["household_id"])
    op.create_index(op.f("ix_candidates_updated_at"), "candidates", ["updated_at"])
    op.create_index("ix_candidates_municipality_active", "candidates", ["municipality_code", "active"])
    op.create_table(
        "shortlist_entries",
        sa.Column("opportunity_id", sa.Uuid(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["opportunity_id"],
            ["opportunities.id"],
            name=op.f("fk_shortlist_entries_opportunity_id_opportunities"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("opportunity_id", "person_id", name=op.f("pk_shortlist_entries")),
    )
    op.create_index(op.f("ix_shortlist_entries_person_id"), "shortlist_entries", ["person_id"])
    op.create_table(
        "shortlist_digests",
        sa.Column("opportunity_id", sa.Uuid(), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.ForeignKeyConstraint(
            ["opportunity_id"],
            ["opportunities.id"],
            name=op.f("fk_shortlist_digests_opportunity_id_opportunities"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("opportunity_id", name=op.f("pk_shortlist_digests")),
    )
    op.create_table(
        "matching_runs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("finished_at", UTCDateTime(), nullable=False),
        sa.Column("candidates", sa.Integer(), nullable=False),
        sa.Column("opportunities", sa.Integer(), nullable=False),
        sa.Column("entries", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_matching_runs")),
    )
    op.create_table(
        "placements",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("opportunity_id", sa.Uuid(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=True),
        sa.Column("candidate_municipality_code", sa.String(5), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=True),
        sa.Column("woman", sa.Boolean(), nullable=False),
        sa.Column("roma", sa.Boolean(), nullable=False),
        sa.Column("disability", sa.Boolean(), nullable=False),
        sa.Column("employer_accepted", sa.Boolean(), nullable=False),
        sa.Column("candidate_accepted", sa.Boolean(), nullable=False),
        sa.Column("declined_by", sa.String(20), nullable=True),
        sa.Column("decline_reason", sa.String(40), nullable=True),
        sa.Column("end_reason", sa.String(40), nullable=True),
        sa.Column("hours_total", sa.Integer(), nullable=False),
        sa.Column("proposed_by", sa.String(100), nullable=False),
        sa.Column("proposed_at", UTCDateTime(), nullable=False),
        sa.Column("accepted_at", UTCDateTime(), nullable=True),
        sa.Column("started_at", UTCDateTime(), nullable=True),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["opportunity_id"], ["opportunities.id"], name=op.f("fk_placements_opportunity_id_opportunities")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_placements")),
    )
    op.create_index(op.f("ix_placements_opportunity_id"), "placements", ["opportunity_id"])
    op.create_index("ix_placements_person", "placements", ["person_id"])
    op.create_index(
        "uq_placements_live",
        "placements",
        ["opportunity_id", "person_id"],
        unique=True,
        sqlite_where=sa.text("status <> 'declined'"),
        postgresql_where=sa.text("status <> 'declined'"),
    )
    op.create_table(
        "placement_hours",
        sa.Column("placement_id", sa.Uuid(), nullable=False),
        sa.Column("month", sa.String(7), nullable=False),
        sa.Column("hours", sa.Integer(), nullable=False),
        sa.Column("recorded_by", sa.String(100), nullable=False),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["placement_id"],
            ["placements.id"],
            name=op.f("fk_placement_hours_placement_id_placements"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("placement_id", "month", name=op.f("pk_placement_hours")),
    )

    op.create_table(
        "person_marks",
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("erased_at", UTCDateTime(), nullable=True),
        sa.Column("withdrawn_at", UTCDateTime(), nullable=True),
        sa.Column("merged_into", sa.Uuid(), nullable=True),
        sa.Column("merged_household", sa.Uuid(), nullable=True),
        sa.Column("marked_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("person_id", name=op.f("pk_person_marks")),
    )


def downgrade() -> None:
    op.drop_table("person_marks")
    op.drop_table("placement_hours")
    op.drop_table("placements")
    op.drop_table("matching_runs")
    op.drop_table("shortlist_digests")
    op.drop_table("shortlist_entries")
    op.drop_table("candidates")
    with op.batch_alter_table("opportunities") as batch:
        batch.drop_index(op.f("ix_opportunities_organisation"))
        batch.drop_index(op.f("ix_opportunities_forum_id"))
        for column in (
            "closed_at",
            "accessible",
            "preferred_skills",
            "required_skills",
            "ends_on",
            "starts_on",
            "hours_max",
            "hours_min",
            "place",
            "description",
            "type",
            "forum_id",
        ):
            batch.drop_column(column)
    op.drop_table("agreements")
    op.drop_table("forum_members")
    op.drop_table("forums")
    op.drop_table("organisations")
