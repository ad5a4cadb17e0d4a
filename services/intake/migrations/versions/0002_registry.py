"""Registry: household and person details, consent, poverty lines, duplicates, audit log, import jobs.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

from shared.db import UTCDateTime
from shared.script import fold, fold_words

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("action", sa.String(length=200), nullable=False),
        sa.Column("record_type", sa.String(length=20), nullable=False),
        sa.Column("record_id", sa.Uuid(), nullable=False),
        sa.Column("municipality_code", sa.String(length=5), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_log_actor"), ["actor"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_log_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_log_municipality_code"), ["municipality_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_log_record_id"), ["record_id"], unique=False)

    op.create_table(
        "consent_history",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("purpose", sa.String(length=20), nullable=False),
        sa.Column("granted", sa.Boolean(), nullable=False),
        sa.Column("changed_by", sa.String(length=100), nullable=False),
        sa.Column("changed_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_history")),
    )
    with op.batch_alter_table("consent_history", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_consent_history_person_id"), ["person_id"], unique=False)

    op.create_table(
        "duplicate_candidates",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("other_person_id", sa.Uuid(), nullable=False),
        sa.Column("municipality_code", sa.String(length=5), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("detected_at", UTCDateTime(), nullable=False),
        sa.Column("resolved_by", sa.String(length=100), nullable=True),
        sa.Column("resolved_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_duplicate_candidates")),
    )
    with op.batch_alter_table("duplicate_candidates", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_duplicate_candidates_municipality_code"), ["municipality_code"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_duplicate_candidates_other_person_id"), ["other_person_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_duplicate_candidates_person_id"), ["person_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_duplicate_candidates_status"), ["status"], unique=False)
        batch_op.create_index("ix_duplicates_pair", ["person_id", "other_person_id"], unique=True)

    op.create_table(
        "import_jobs",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=True),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("municipalities", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("total_rows", sa.Integer(), nullable=False),
        sa.Column("rows_done", sa.Integer(), nullable=False),
        sa.Column("rows_imported", sa.Integer(), nullable=False),
        sa.Column("rows_failed", sa.Integer(), nullable=False),
        sa.Column("rows_skipped", sa.Integer(), nullable=False),
        sa.Column("households_created", sa.Integer(), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=True),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_jobs")),
    )
    with op.batch_alter_table("import_jobs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_import_jobs_sha256"), ["sha256"], unique=False)

    op.create_table(
        "imported_households",
        sa.Column("municipality_code", sa.String(length=5), nullable=False),
        sa.Column("household_ref", sa.String(length=100), nullable=False),
        sa.Column("household_id", sa.Uuid(), nullable=False),
        sa.Column("job_id", sa.Uuid(), nullable=False),
        sa.PrimaryKeyConstraint("municipality_code", "household_ref", name=op.f("pk_imported_households")),
    )
    op.create_table(
        "poverty_lines",
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("amount", sa.Float(), nullable=False),
        sa.Column("set_by", sa.String(length=100), nullable=False),
        sa.Column("set_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("year", name=op.f("pk_poverty_lines")),
    )
    op.create_table(
        "import_errors",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("job_id", sa.Uuid(), nullable=False),
        sa.Column("row_number", sa.Integer(), nullable=False),
        sa.Column("household_ref", sa.String(length=100), nullable=True),
        sa.Column("column", sa.String(length=50), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["job_id"], ["import_jobs.id"], name=op.f("fk_import_errors_job_id_import_jobs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_errors")),
    )
    with op.batch_alter_table("import_errors", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_import_errors_job_id"), ["job_id"], unique=False)

    with op.batch_alter_table("households", schema=None) as batch_op:
        batch_op.add_column(sa.Column("settlement", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("address", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("housing_type", sa.String(length=30), nullable=True))
        batch_op.add_column(sa.Column("housing_problems", sa.JSON(), nullable=False, server_default=sa.text("'[]'")))
        batch_op.add_column(sa.Column("incomes", sa.JSON(), nullable=False, server_default=sa.text("'[]'")))
        batch_op.add_column(sa.Column("monthly_income", sa.Float(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="1"))
        batch_op.add_column(sa.Column("equivalent_adults", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("below_poverty_line", sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column("poverty_year", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("case_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("case_status", sa.String(length=30), nullable=True))
        batch_op.add_column(sa.Column("merged_into", sa.Uuid(), nullable=True))
        batch_op.create_index(batch_op.f("ix_households_below_poverty_line"), ["below_poverty_line"], unique=False)
        batch_op.create_index(batch_op.f("ix_households_registered_at"), ["registered_at"], unique=False)

    with op.batch_alter_table("persons", schema=None) as batch_op:
        batch_op.add_column(sa.Column("phone", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("given_key", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("family_key", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("search_words", sa.String(length=250), nullable=True))
        batch_op.add_column(sa.Column("birth_year", sa.Integer(), nullable=False, server_default="1900"))
        batch_op.add_column(sa.Column("missing_jmbg_reason", sa.String(length=30), nullable=True))
        batch_op.add_column(sa.Column("relation", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("education", sa.String(length=30), nullable=True))
        batch_op.add_column(sa.Column("employment_status", sa.String(length=30), nullable=True))
        batch_op.add_column(sa.Column("able_to_work", sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column("skills", sa.JSON(), nullable=False, server_default=sa.text("'[]'")))
        batch_op.add_column(sa.Column("markers", sa.JSON(), nullable=False, server_default=sa.text("'[]'")))
        batch_op.add_column(sa.Column("consents", sa.JSON(), nullable=False, server_default=sa.text("'[]'")))
        batch_op.add_column(sa.Column("erased_at", UTCDateTime(), nullable=True))
        batch_op.alter_column("given_name", existing_type=sa.VARCHAR(length=100), nullable=True)
        batch_op.alter_column("family_name", existing_type=sa.VARCHAR(length=100), nullable=True)
        batch_op.alter_column("birth_date", existing_type=sa.DATE(), nullable=True)
        batch_op.create_index("ix_persons_family_key_birth_date", ["family_key", "birth_date"], unique=False)
        batch_op.create_index("ix_persons_given_key", ["given_key"], unique=False)

    _fill_new_person_columns()


def _fill_new_person_columns() -> None:
    """Persons registered before this revision: birth year, folded names, the first member as head."""
    conn = op.get_bind()
    persons = sa.table(
        "persons",
        sa.column("id", sa.Uuid()),
        sa.column("given_name", sa.String()),
        sa.column("family_name", sa.String()),
        sa.column("birth_date", sa.Date()),
        sa.column("position", sa.Integer()),
        sa.column("birth_year", sa.Integer()),
        sa.column("given_key", sa.String()),
        sa.column("family_key", sa.String()),
        sa.column("search_words", sa.String()),
        sa.column("relation", sa.String()),
    )
    rows = conn.execute(
        sa.select(persons.c.id, persons.c.given_name, persons.c.family_name, persons.c.birth_date, persons.c.position)
    ).all()
    for person_id, given, family, born, position in rows:
        conn.execute(
            persons.update()
            .where(persons.c.id == person_id)
            .values(
                birth_year=born.year,
                given_key=fold(given),
                family_key=fold(family),
                search_words=fold_words(f"{given} {family}"),
                relation="head" if position == 0 else None,
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("persons", schema=None) as batch_op:
        batch_op.drop_index("ix_persons_given_key")
        batch_op.drop_index("ix_persons_family_key_birth_date")
        batch_op.alter_column("birth_date", existing_type=sa.DATE(), nullable=False)
        batch_op.alter_column("family_name", existing_type=sa.VARCHAR(length=100), nullable=False)
        batch_op.alter_column("given_name", existing_type=sa.VARCHAR(length=100), nullable=False)
        batch_op.drop_column("erased_at")
        batch_op.drop_column("consents")
        batch_op.drop_column("markers")
        batch_op.drop_column("skills")
        batch_op.drop_column("able_to_work")
        batch_op.drop_column("employment_status")
        batch_op.drop_column("education")
        batch_op.drop_column("relation")
        batch_op.drop_column("missing_jmbg_reason")
        batch_op.drop_column("birth_year")
        batch_op.drop_column("search_words")
        batch_op.drop_column("family_key")
        batch_op.drop_column("given_key")
        batch_op.drop_column("phone")

    with op.batch_alter_table("households", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_households_registered_at"))
        batch_op.drop_index(batch_op.f("ix_households_below_poverty_line"))
        batch_op.drop_column("merged_into")
        batch_op.drop_column("case_status")
        batch_op.drop_column("case_id")
        batch_op.drop_column("poverty_year")
        batch_op.drop_column("below_poverty_line")
        batch_op.drop_column("equivalent_adults")
        batch_op.drop_column("version")
        batch_op.drop_column("monthly_income")
        batch_op.drop_column("incomes")
        batch_op.drop_column("housing_problems")
        batch_op.drop_column("housing_type")
        batch_op.drop_column("address")
        batch_op.drop_column("settlement")

    with op.batch_alter_table("import_errors", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_import_errors_job_id"))

    op.drop_table("import_errors")
    op.drop_table("poverty_lines")
    op.drop_table("imported_households")
    with op.batch_alter_table("import_jobs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_import_jobs_sha256"))

    op.drop_table("import_jobs")
    with op.batch_alter_table("duplicate_candidates", schema=None) as batch_op:
        batch_op.drop_index("ix_duplicates_pair")
        batch_op.drop_index(batch_op.f("ix_duplicate_candidates_status"))
        batch_op.drop_index(batch_op.f("ix_duplicate_candidates_person_id"))
        batch_op.drop_index(batch_op.f("ix_duplicate_candidates_other_person_id"))
        batch_op.drop_index(batch_op.f("ix_duplicate_candidates_municipality_code"))

    op.drop_table("duplicate_candidates")
    with op.batch_alter_table("consent_history", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_consent_history_person_id"))

    op.drop_table("consent_history")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_log_record_id"))
        batch_op.drop_index(batch_op.f("ix_audit_log_municipality_code"))
        batch_op.drop_index(batch_op.f("ix_audit_log_at"))
        batch_op.drop_index(batch_op.f("ix_audit_log_actor"))

    op.drop_table("audit_log")
