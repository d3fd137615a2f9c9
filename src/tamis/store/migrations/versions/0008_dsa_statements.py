"""EU DSA: statements of reasons, their submissions, and their settings in dsa_settings

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 01:00:00.000000
"""

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), 'postgresql')
WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table('dsa_settings') as batch:
        batch.add_column(sa.Column('statements', JSON, nullable=True))
        batch.add_column(sa.Column('submission_token', sa.String(length=2000), nullable=True))
    op.create_table(
        'dsa_statements',
        sa.Column('id', sa.String(length=40), primary_key=True),
        sa.Column('project_id', sa.String(length=64), sa.ForeignKey('projects.id'), nullable=False),
        sa.Column('decision_id', sa.String(length=40), sa.ForeignKey('decisions.id'), nullable=False, index=True),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.String(length=40), sa.ForeignKey('cases.id'), nullable=True),
        sa.Column('review_id', sa.String(length=40), sa.ForeignKey('case_decisions.id'), nullable=True, index=True),
        sa.Column('kind', sa.String(length=10), nullable=False),
        sa.Column('category', sa.String(length=32), nullable=True),
        sa.Column('puid', sa.String(length=64), nullable=False, unique=True),
        sa.Column('body', JSON, nullable=False),
        sa.Column('created_at', WHEN, nullable=False),
        sa.Column('withdrawn_at', WHEN, nullable=True),
        sa.Column('submitted_at', WHEN, nullable=True),
    )
    op.create_index('ix_dsa_statements_project', 'dsa_statements', ['project_id', 'id'])
    op.create_table(
        'dsa_statement_submissions',
        sa.Column('id', sa.String(length=40), primary_key=True),
        sa.Column('project_id', sa.String(length=64), sa.ForeignKey('projects.id'), nullable=False, index=True),
        sa.Column('url', sa.Text(), nullable=False),
        sa.Column('puids', JSON, nullable=False),
        sa.Column('status_code', sa.Integer(), nullable=True),
        sa.Column('error', sa.Text(), nullable=True),
        sa.Column('response', sa.Text(), nullable=False),
        sa.Column('created_at', WHEN, nullable=False),
    )


def downgrade() -> None:
    for table in ('dsa_statement_submissions', 'dsa_statements'):
        op.drop_table(table)
    with op.batch_alter_table('dsa_settings') as batch:
        batch.drop_column('submission_token')
        batch.drop_column('statements')
