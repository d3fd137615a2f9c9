"""review workspace: the original size of stored media (to draw evidence boxes over thumbnails and
video frames), per-category wellness settings (a project's defaults, each reviewer's own), sign-in
throttling per client address and per unknown username

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 01:10:00.000000
"""

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), 'postgresql')


def upgrade() -> None:
    with op.batch_alter_table('item_media') as batch:
        batch.add_column(sa.Column('source_width', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('source_height', sa.Integer(), nullable=True))
    op.create_table(
        'review_preferences',
        sa.Column('id', sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column('project_id', sa.String(length=64), sa.ForeignKey('projects.id'), nullable=False),
        sa.Column('reviewer_id', sa.String(length=40), sa.ForeignKey('reviewers.id'), nullable=True),
        sa.Column('hidden', JSON, nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index('ix_review_preferences_project', 'review_preferences', ['project_id', 'reviewer_id'])
    op.create_table(
        'sign_in_throttles',
        sa.Column('key', sa.String(length=80), primary_key=True),
        sa.Column('failures', sa.Integer(), nullable=False),
        sa.Column('throttled_until', sa.Float(), nullable=False),
        sa.Column('updated_s', sa.Float(), nullable=False),
    )
    op.create_index('ix_sign_in_throttles_updated_s', 'sign_in_throttles', ['updated_s'])


def downgrade() -> None:
    op.drop_table('sign_in_throttles')
    op.drop_table('review_preferences')
    with op.batch_alter_table('item_media') as batch:
        batch.drop_column('source_height')
        batch.drop_column('source_width')
