"""item_media (blurred thumbnails for reviewers) and job_media (a video job's upload)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 19:00:00.000000
"""

from alembic import op
import sqlalchemy as sa

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'item_media',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('project_id', sa.String(length=64), nullable=False),
        sa.Column('decision_id', sa.String(length=40), nullable=False),
        sa.Column('data_id', sa.String(length=256), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('t_ms', sa.Integer(), nullable=True),
        sa.Column('content_type', sa.String(length=64), nullable=False),
        sa.Column('width', sa.Integer(), nullable=False),
        sa.Column('height', sa.Integer(), nullable=False),
        sa.Column('data', sa.LargeBinary(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['decision_id'], ['decisions.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_item_media_item', 'item_media', ['decision_id', 'data_id'])
    op.create_index('ix_item_media_created_at', 'item_media', ['created_at'])
    op.create_table(
        'job_media',
        sa.Column('job_id', sa.String(length=40), nullable=False),
        sa.Column('filename', sa.String(length=256), nullable=False),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('data', sa.LargeBinary(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['job_id'], ['jobs.id']),
        sa.PrimaryKeyConstraint('job_id'),
    )


def downgrade() -> None:
    op.drop_table('job_media')
    op.drop_index('ix_item_media_created_at', table_name='item_media')
    op.drop_index('ix_item_media_item', table_name='item_media')
    op.drop_table('item_media')
