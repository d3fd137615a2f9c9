"""bank tombstones: banks.deleted_at, bank names unique among live banks only

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 10:00:00.000000

A deleted bank keeps its row: its entries (tombstoned, with their `remove` events) still point at it,
and past decisions name it. The name becomes free for a new bank, so the (project_id, name) unique
constraint of 0002 becomes a unique index over the rows whose deleted_at is NULL (both SQLite and
PostgreSQL support partial indexes).
"""

from alembic import op
import sqlalchemy as sa

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

# 0002's constraint has no name: SQLite reflects it as None, so batch mode names it by convention.
_NAMING = {"uq": "uq_%(table_name)s_%(column_0_name)s"}
_LIVE = sa.text("deleted_at IS NULL")


def _name_constraint() -> str:
    inspector = sa.inspect(op.get_bind())
    for constraint in inspector.get_unique_constraints("banks"):
        if constraint["column_names"] == ["project_id", "name"]:
            return constraint["name"] or "uq_banks_project_id"
    raise RuntimeError("banks has no (project_id, name) unique constraint to replace")


def upgrade() -> None:
    constraint = _name_constraint()
    with op.batch_alter_table('banks', schema=None, naming_convention=_NAMING) as batch_op:
        batch_op.drop_constraint(constraint, type_='unique')
        batch_op.add_column(sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=True))
    op.create_index(
        'uq_banks_live_name', 'banks', ['project_id', 'name'], unique=True,
        sqlite_where=_LIVE, postgresql_where=_LIVE,
    )


def downgrade() -> None:
    # Fails if a deleted bank's name was reused by a live one: rename one of them first.
    op.drop_index('uq_banks_live_name', table_name='banks')
    with op.batch_alter_table('banks', schema=None) as batch_op:
        batch_op.drop_column('deleted_at')
        batch_op.create_unique_constraint('banks_project_id_name_key', ['project_id', 'name'])
