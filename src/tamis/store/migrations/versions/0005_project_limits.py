"""project_limits: a project's own rate limits (tamis limits)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 19:00:00.000000
"""

from alembic import op
import sqlalchemy as sa

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'project_limits',
        sa.Column('project_id', sa.String(length=64), nullable=False),
        sa.Column('requests_per_s', sa.Float(), nullable=True),
        sa.Column('requests_burst', sa.Float(), nullable=True),
        sa.Column('items_per_s', sa.Float(), nullable=True),
        sa.Column('items_burst', sa.Float(), nullable=True),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['project_id'], ['projects.id']),
        sa.PrimaryKeyConstraint('project_id'),
    )


def downgrade() -> None:
    op.drop_table('project_limits')
