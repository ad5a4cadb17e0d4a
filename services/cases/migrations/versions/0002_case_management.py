"""Case management: workers, members, timeline, assessments, plans, providers, agreements, referrals.

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
        "agreements",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("municipalities", sa.JSON(), nullable=False),
        sa.Column("service_types", sa.JSON(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agreements")),
    )
    op.create_table(
        "case_timeline",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_timeline")),
    )
    with op.batch_alter_table("case_timeline", schema=None) as batch_op:
        batch_op.create_index("ix_case_timeline_case", ["case_id", "id"], unique=False)

    op.create_table(
        "providers",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("service_type", sa.String(length=40), nullable=False),
        sa.Column("municipality_code", sa.String(length=5), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("occupancy", sa.Integer(), nullable=False),
        sa.Column("accessible", sa.Boolean(), nullable=False),
        sa.Column("residential", sa.Boolean(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_providers")),
    )
    with op.batch_alter_table("providers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_providers_municipality_code"), ["municipality_code"], unique=False)

    op.create_table(
        "workers",
        sa.Column("sub", sa.String(length=200), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("sub", name=op.f("pk_workers")),
    )
    op.create_table(
        "assessments",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("needs", sa.JSON(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.Column("completed_by", sa.String(length=200), nullable=False),
        sa.Column("completed_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_assessments_case_id_cases"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assessments")),
    )
    with op.batch_alter_table("assessments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_assessments_case_id"), ["case_id"], unique=False)

    op.create_table(
        "case_members",
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("sex", sa.String(length=1), nullable=False),
        sa.Column("birth_year", sa.Integer(), nullable=False),
        sa.Column("relation", sa.String(length=20), nullable=True),
        sa.Column("able_to_work", sa.Boolean(), nullable=True),
        sa.Column("employment_status", sa.String(length=20), nullable=True),
        sa.Column("education", sa.String(length=20), nullable=True),
        sa.Column("skills", sa.JSON(), nullable=False),
        sa.Column("markers", sa.JSON(), nullable=False),
        sa.Column("consents", sa.JSON(), nullable=False),
        sa.Column("erased", sa.Boolean(), nullable=False),
        sa.Column("present", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_case_members_case_id_cases"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("case_id", "person_id", name=op.f("pk_case_members")),
    )
    with op.batch_alter_table("case_members", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_members_person_id"), ["person_id"], unique=False)

    op.create_table(
        "plans",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("current", sa.Boolean(), nullable=False),
        sa.Column("goals", sa.JSON(), nullable=False),
        sa.Column("review_date", sa.Date(), nullable=False),
        sa.Column("agreed_by", sa.String(length=200), nullable=False),
        sa.Column("agreed_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_plans_case_id_cases"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plans")),
    )
    with op.batch_alter_table("plans", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_plans_case_id"), ["case_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_plans_review_date"), ["review_date"], unique=False)

    op.create_table(
        "referrals",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=True),
        sa.Column("person_erased", sa.Boolean(), nullable=False),
        sa.Column("provider_id", sa.Uuid(), nullable=False),
        sa.Column("service_type", sa.String(length=40), nullable=False),
        sa.Column("case_municipality_code", sa.String(length=5), nullable=False),
        sa.Column("provider_municipality_code", sa.String(length=5), nullable=False),
        sa.Column("agreement_id", sa.Uuid(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("legal_basis", sa.Text(), nullable=True),
        sa.Column("decline_reason", sa.Text(), nullable=True),
        sa.Column("requested_by", sa.String(length=200), nullable=False),
        sa.Column("requested_at", UTCDateTime(), nullable=False),
        sa.Column("decided_by", sa.String(length=200), nullable=True),
        sa.Column("decided_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_referrals_case_id_cases"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["provider_id"], ["providers.id"], name=op.f("fk_referrals_provider_id_providers")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_referrals")),
    )
    with op.batch_alter_table("referrals", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_referrals_case_id"), ["case_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_referrals_person_id"), ["person_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_referrals_provider_id"), ["provider_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_referrals_provider_municipality_code"), ["provider_municipality_code"], unique=False
        )

    op.create_table(
        "worker_municipalities",
        sa.Column("sub", sa.String(length=200), nullable=False),
        sa.Column("municipality_code", sa.String(length=5), nullable=False),
        sa.ForeignKeyConstraint(
            ["sub"], ["workers.sub"], name=op.f("fk_worker_municipalities_sub_workers"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("sub", "municipality_code", name=op.f("pk_worker_municipalities")),
    )
    with op.batch_alter_table("worker_municipalities", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_worker_municipalities_municipality_code"), ["municipality_code"], unique=False
        )

    op.create_table(
        "plan_actions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("plan_id", sa.Uuid(), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("person_id", sa.Uuid(), nullable=True),
        sa.Column("person_erased", sa.Boolean(), nullable=False),
        sa.Column("responsible", sa.String(length=200), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("service_type", sa.String(length=40), nullable=True),
        sa.Column("hours_per_week_min", sa.Integer(), nullable=True),
        sa.Column("hours_per_week_max", sa.Integer(), nullable=True),
        sa.Column("available_from", sa.Date(), nullable=True),
        sa.Column("unemployed_since", sa.Date(), nullable=True),
        sa.Column("activation_request_id", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(
            ["plan_id"], ["plans.id"], name=op.f("fk_plan_actions_plan_id_plans"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_actions")),
    )
    with op.batch_alter_table("plan_actions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_plan_actions_case_id"), ["case_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_plan_actions_person_id"), ["person_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_plan_actions_plan_id"), ["plan_id"], unique=False)

    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("priority", sa.String(length=10), nullable=False, server_default="low"))
        batch_op.add_column(sa.Column("restricted", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column("below_poverty_line", sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column("household_version", sa.Integer(), nullable=False, server_default="1"))
        batch_op.add_column(sa.Column("assigned_to", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("assigned_at", UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("assessed_at", UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("closed_at", UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("close_reason", sa.String(length=30), nullable=True))
        batch_op.add_column(sa.Column("review_due_since", UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("review_reason", sa.String(length=40), nullable=True))
        batch_op.add_column(
            sa.Column("case_work_consent_withdrawn", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(sa.Column("transferred_from_case_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("transferred_to_case_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("merged_into_case_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("updated_at", UTCDateTime(), nullable=True))
        batch_op.drop_index(batch_op.f("ix_cases_municipality_code"))
        batch_op.drop_constraint(batch_op.f("uq_cases_household_id"), type_="unique")
        batch_op.create_index(batch_op.f("ix_cases_household_id"), ["household_id"], unique=False)
        batch_op.create_index("ix_cases_municipality_status", ["municipality_code", "status"], unique=False)
        batch_op.create_index("ix_cases_worker_status", ["assigned_to", "status"], unique=False)
        batch_op.create_index(
            "uq_cases_household_first",
            ["household_id"],
            unique=True,
            sqlite_where=sa.text("transferred_from_case_id IS NULL AND merged_into_case_id IS NULL"),
            postgresql_where=sa.text("transferred_from_case_id IS NULL AND merged_into_case_id IS NULL"),
        )
    # Cases opened before this revision: last changed when opened.
    op.execute("UPDATE cases SET updated_at = opened_at")
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.alter_column("updated_at", existing_type=UTCDateTime(), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_cases_household_first",
            sqlite_where=sa.text("transferred_from_case_id IS NULL AND merged_into_case_id IS NULL"),
            postgresql_where=sa.text("transferred_from_case_id IS NULL AND merged_into_case_id IS NULL"),
        )
        batch_op.drop_index("ix_cases_worker_status")
        batch_op.drop_index("ix_cases_municipality_status")
        batch_op.drop_index(batch_op.f("ix_cases_household_id"))
        batch_op.create_unique_constraint(batch_op.f("uq_cases_household_id"), ["household_id"])
        batch_op.create_index(batch_op.f("ix_cases_municipality_code"), ["municipality_code"], unique=False)
        batch_op.drop_column("updated_at")
        batch_op.drop_column("merged_into_case_id")
        batch_op.drop_column("transferred_to_case_id")
        batch_op.drop_column("transferred_from_case_id")
        batch_op.drop_column("case_work_consent_withdrawn")
        batch_op.drop_column("review_reason")
        batch_op.drop_column("review_due_since")
        batch_op.drop_column("close_reason")
        batch_op.drop_column("closed_at")
        batch_op.drop_column("assessed_at")
        batch_op.drop_column("assigned_at")
        batch_op.drop_column("assigned_to")
        batch_op.drop_column("household_version")
        batch_op.drop_column("below_poverty_line")
        batch_op.drop_column("restricted")
        batch_op.drop_column("priority")

    with op.batch_alter_table("plan_actions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_plan_actions_plan_id"))
        batch_op.drop_index(batch_op.f("ix_plan_actions_person_id"))
        batch_op.drop_index(batch_op.f("ix_plan_actions_case_id"))

    op.drop_table("plan_actions")
    with op.batch_alter_table("worker_municipalities", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_worker_municipalities_municipality_code"))

    op.drop_table("worker_municipalities")
    with op.batch_alter_table("referrals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_referrals_provider_municipality_code"))
        batch_op.drop_index(batch_op.f("ix_referrals_provider_id"))
        batch_op.drop_index(batch_op.f("ix_referrals_person_id"))
        batch_op.drop_index(batch_op.f("ix_referrals_case_id"))

    op.drop_table("referrals")
    with op.batch_alter_table("plans", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_plans_review_date"))
        batch_op.drop_index(batch_op.f("ix_plans_case_id"))

    op.drop_table("plans")
    with op.batch_alter_table("case_members", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_members_person_id"))

    op.drop_table("case_members")
    with op.batch_alter_table("assessments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_assessments_case_id"))

    op.drop_table("assessments")
    op.drop_table("workers")
    with op.batch_alter_table("providers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_providers_municipality_code"))

    op.drop_table("providers")
    with op.batch_alter_table("case_timeline", schema=None) as batch_op:
        batch_op.drop_index("ix_case_timeline_case")

    op.drop_table("case_timeline")
    op.drop_table("agreements")
