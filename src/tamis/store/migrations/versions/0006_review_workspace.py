"""review workspace: reviewers, memberships, sessions, queues, cases, case decisions, audit events; author_id and
context on decision items

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 22:00:00.000000
"""

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), 'postgresql')
WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table('decision_items') as batch:
        batch.add_column(sa.Column('author_id', sa.String(length=256), nullable=True))
        batch.add_column(sa.Column('context', sa.Text(), nullable=True))
    op.create_table(
        'reviewers',
        sa.Column('id', sa.String(length=40), primary_key=True),
        sa.Column('username', sa.String(length=64), nullable=False, unique=True),
        sa.Column('password_hash', sa.String(length=200), nullable=False),
        sa.Column('disabled', sa.Boolean(), nullable=False),
        sa.Column('failed_logins', sa.Integer(), nullable=False),
        sa.Column('throttled_until', sa.Float(), nullable=False),
        sa.Column('created_at', WHEN, nullable=False),
    )
    op.create_table(
        'memberships',
        sa.Column('id', sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column('reviewer_id', sa.String(length=40), sa.ForeignKey('reviewers.id'), nullable=False, index=True),
        sa.Column('project_id', sa.String(length=64), sa.ForeignKey('projects.id'), nullable=False, index=True),
        sa.Column('role', sa.String(length=12), nullable=False),
        sa.Column('created_at', WHEN, nullable=False),
        sa.UniqueConstraint('reviewer_id', 'project_id'),
    )
    op.create_table(
        'review_sessions',
        sa.Column('id', sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column('token_hash', sa.String(length=64), nullable=False, unique=True),
        sa.Column('reviewer_id', sa.String(length=40), sa.ForeignKey('reviewers.id'), nullable=False, index=True),
        sa.Column('csrf_secret', sa.String(length=64), nullable=False),
        sa.Column('created_at', WHEN, nullable=False),
        sa.Column('expires_at', sa.Float(), nullable=False),
    )
    op.create_table(
        'review_queues',
        sa.Column('id', sa.String(length=40), primary_key=True),
        sa.Column('project_id', sa.String(length=64), sa.ForeignKey('projects.id'), nullable=False, index=True),
        sa.Column('name', sa.String(length=64), nullable=False),
        sa.Column('rules', JSON, nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('is_default', sa.Boolean(), nullable=False),
        sa.Column('created_at', WHEN, nullable=False),
        sa.UniqueConstraint('project_id', 'name'),
    )
    op.create_table(
        'cases',
        sa.Column('id', sa.String(length=40), primary_key=True),
        sa.Column('project_id', sa.String(length=64), sa.ForeignKey('projects.id'), nullable=False, index=True),
        sa.Column('decision_id', sa.String(length=40), sa.ForeignKey('decisions.id'), nullable=False, index=True),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('data_id', sa.String(length=256), nullable=False),
        sa.Column('author_id', sa.String(length=256), nullable=True),
        sa.Column('text', sa.Text(), nullable=True),
        sa.Column('queue_id', sa.String(length=40), sa.ForeignKey('review_queues.id'), nullable=False),
        sa.Column('status', sa.String(length=12), nullable=False),
        sa.Column('verdict', sa.String(length=8), nullable=False),
        sa.Column('category', sa.String(length=32), nullable=True),
        sa.Column('score', sa.Float(), nullable=False),
        sa.Column('source', sa.String(length=16), nullable=False),
        sa.Column('priority', sa.Integer(), nullable=False),
        sa.Column('claimed_by', sa.String(length=40), sa.ForeignKey('reviewers.id'), nullable=True),
        sa.Column('lease_expires_at', sa.Float(), nullable=True),
        sa.Column('escalated', sa.Boolean(), nullable=False),
        sa.Column('escalated_to', sa.String(length=40), sa.ForeignKey('reviewers.id'), nullable=True),
        sa.Column('skipped_by', sa.String(length=40), nullable=True),
        sa.Column('created_at', WHEN, nullable=False),
        sa.Column('decided_at', WHEN, nullable=True),
    )
    op.create_index('ix_cases_next', 'cases', ['queue_id', 'status', 'priority', 'created_at'])
    op.create_index('ix_cases_project_data', 'cases', ['project_id', 'data_id'])
    op.create_index('ix_cases_project_author', 'cases', ['project_id', 'author_id'])
    op.create_table(
        'case_decisions',
        sa.Column('id', sa.String(length=40), primary_key=True),
        sa.Column('case_id', sa.String(length=40), sa.ForeignKey('cases.id'), nullable=False, index=True),
        sa.Column('project_id', sa.String(length=64), nullable=False, index=True),
        sa.Column('reviewer_id', sa.String(length=40), sa.ForeignKey('reviewers.id'), nullable=True),
        sa.Column('actor', sa.String(length=128), nullable=False),
        sa.Column('action', sa.String(length=10), nullable=False),
        sa.Column('verdict', sa.String(length=8), nullable=False),
        sa.Column('category', sa.String(length=32), nullable=True),
        sa.Column('reason', sa.String(length=200), nullable=False),
        sa.Column('note', sa.Text(), nullable=False),
        sa.Column('batch_id', sa.String(length=40), nullable=True, index=True),
        sa.Column('undone_at', WHEN, nullable=True),
        sa.Column('created_at', WHEN, nullable=False),
    )

    op.create_table(
        'review_events',
        sa.Column('id', sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column('project_id', sa.String(length=64), nullable=True),
        sa.Column('reviewer_id', sa.String(length=40), nullable=True),
        sa.Column('actor', sa.String(length=128), nullable=False),
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('case_id', sa.String(length=40), nullable=True),
        sa.Column('detail', JSON, nullable=False),
        sa.Column('created_at', WHEN, nullable=False),
    )
    op.create_index('ix_review_events_project', 'review_events', ['project_id', 'id'])
    op.create_index('ix_review_events_reviewer', 'review_events', ['reviewer_id', 'created_at'])


def downgrade() -> None:
    for table in ('review_events', 'case_decisions', 'cases', 'review_queues', 'review_sessions', 'memberships', 'reviewers'):
        op.drop_table(table)
    with op.batch_alter_table('decision_items') as batch:
        batch.drop_column('context')
        batch.drop_column('author_id')
