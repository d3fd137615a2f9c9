"""DSA: a quality sample's stratum and inclusion probability on its case; one waiting case per
reported item (a partial unique index; duplicates made by concurrent first reports are merged)

Revision ID: 0011
Revises: 0009
Create Date: 2026-12-03 04:30:00.000000
"""

from alembic import op
import sqlalchemy as sa

revision = '0011'
down_revision = '0009'
branch_labels = None
depends_on = None

WAITING_REPORT = "status <> 'decided' AND source = 'user_report'"
# Every foreign key to a case, for merging a duplicate into the case it duplicates (the audit log,
# review_events, is append-only and keeps the id it logged).
REFERENCES = (("reports", "case_id"), ("case_decisions", "case_id"), ("appeals", "contested_case_id"),
              ("dsa_statements", "case_id"))


def _merge_duplicates(connection: sa.Connection) -> None:
    """Before the index: cases opened twice for one item by concurrent first reports become one,
    the oldest, with every report (and anything else pointing at the others) moved to it."""
    groups = connection.execute(sa.text(
        f"SELECT project_id, data_id FROM cases WHERE {WAITING_REPORT} GROUP BY project_id, data_id HAVING COUNT(*) > 1"
    )).all()
    for project_id, data_id in groups:
        ids = [row[0] for row in connection.execute(sa.text(
            f"SELECT id FROM cases WHERE project_id = :p AND data_id = :d AND {WAITING_REPORT} ORDER BY created_at, id"
        ), {"p": project_id, "d": data_id})]
        keep, others = ids[0], ids[1:]
        for old in others:
            for table, column in REFERENCES:
                connection.execute(sa.text(f"UPDATE {table} SET {column} = :keep WHERE {column} = :old"), {"keep": keep, "old": old})
            connection.execute(sa.text(
                "UPDATE cases SET report_count = report_count + (SELECT report_count FROM cases WHERE id = :old) WHERE id = :keep"
            ), {"keep": keep, "old": old})
            connection.execute(sa.text("DELETE FROM cases WHERE id = :old"), {"old": old})


def upgrade() -> None:
    op.add_column('cases', sa.Column('stratum', sa.String(length=16), nullable=True))
    op.add_column('cases', sa.Column('inclusion_p', sa.Float(), nullable=True))
    _merge_duplicates(op.get_bind())
    op.create_index('ux_cases_open_report', 'cases', ['project_id', 'data_id'], unique=True,
                    sqlite_where=sa.text(WAITING_REPORT), postgresql_where=sa.text(WAITING_REPORT))


def downgrade() -> None:
    op.drop_index('ux_cases_open_report', table_name='cases')
    # Plain ALTER TABLE (SQLite 3.35+ has it): a batch copy of `cases` would drop the table that
    # reports, appeals and statements point at.
    op.execute("ALTER TABLE cases DROP COLUMN inclusion_p")
    op.execute("ALTER TABLE cases DROP COLUMN stratum")
