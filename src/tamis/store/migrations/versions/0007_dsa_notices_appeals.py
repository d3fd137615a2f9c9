"""EU DSA: notices (reports), appeals, per-project DSA settings; a report count on cases

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 01:00:00.000000
"""

from alembic import op
import sqlalchemy as sa

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table('cases') as batch:
        batch.add_column(sa.Column('report_count', sa.Integer(), nullable=False, server_default='0'))
    op.create_table(
        'dsa_settings',
        sa.Column('project_id', sa.String(length=64), sa.ForeignKey('projects.id'), primary_key=True),
        sa.Column('appeal_window_days', sa.Integer(), nullable=False),
        sa.Column('out_of_court_info', sa.Text(), nullable=False),
        sa.Column('public_form', sa.Boolean(), nullable=False),
        sa.Column('updated_at', WHEN, nullable=False),
    )
    op.create_table(
        'reports',
        sa.Column('id', sa.String(length=40), primary_key=True),
        sa.Column('project_id', sa.String(length=64), sa.ForeignKey('projects.id'), nullable=False),
        sa.Column('case_id', sa.String(length=40), sa.ForeignKey('cases.id'), nullable=False, index=True),
        sa.Column('data_id', sa.String(length=256), nullable=False),
        sa.Column('category', sa.String(length=40), nullable=False),
        sa.Column('explanation', sa.Text(), nullable=False),
        sa.Column('location', sa.Text(), nullable=False),
        sa.Column('source', sa.String(length=8), nullable=False),
        sa.Column('trusted_flagger', sa.Boolean(), nullable=False),
        sa.Column('good_faith', sa.Boolean(), nullable=False),
        sa.Column('reporter_name', sa.String(length=200), nullable=True),
        sa.Column('reporter_email', sa.String(length=254), nullable=True),
        sa.Column('reporter_ref', sa.String(length=256), nullable=True),
        sa.Column('status', sa.String(length=8), nullable=False),
        sa.Column('outcome', sa.String(length=10), nullable=True),
        sa.Column('review_id', sa.String(length=40), sa.ForeignKey('case_decisions.id'), nullable=True),
        sa.Column('received_at', WHEN, nullable=False),
        sa.Column('decided_at', WHEN, nullable=True),
        sa.Column('purged_at', WHEN, nullable=True),
    )
    op.create_index('ix_reports_project_received', 'reports', ['project_id', 'received_at'])
    op.create_index('ix_reports_project_reporter', 'reports', ['project_id', 'reporter_ref'])
    op.create_index('ix_reports_project_data', 'reports', ['project_id', 'data_id'])
    op.create_table(
        'appeals',
        sa.Column('id', sa.String(length=40), primary_key=True),
        sa.Column('project_id', sa.String(length=64), sa.ForeignKey('projects.id'), nullable=False),
        sa.Column('case_id', sa.String(length=40), sa.ForeignKey('cases.id'), nullable=False, index=True),
        sa.Column('data_id', sa.String(length=256), nullable=False),
        sa.Column('contested_decision_id', sa.String(length=40), sa.ForeignKey('decisions.id'), nullable=False),
        sa.Column('contested_case_id', sa.String(length=40), sa.ForeignKey('cases.id'), nullable=True),
        sa.Column('contested_review_id', sa.String(length=40), sa.ForeignKey('case_decisions.id'), nullable=True),
        sa.Column('contested_verdict', sa.String(length=8), nullable=False),
        sa.Column('report_id', sa.String(length=40), sa.ForeignKey('reports.id'), nullable=True),
        sa.Column('appellant', sa.String(length=16), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('first_reviewer_id', sa.String(length=40), nullable=True),
        sa.Column('first_actor', sa.String(length=128), nullable=True),
        sa.Column('status', sa.String(length=8), nullable=False),
        sa.Column('outcome', sa.String(length=10), nullable=True),
        sa.Column('reply', sa.Text(), nullable=True),
        sa.Column('review_id', sa.String(length=40), sa.ForeignKey('case_decisions.id'), nullable=True),
        sa.Column('decided_by', sa.String(length=40), nullable=True),
        sa.Column('decided_actor', sa.String(length=128), nullable=True),
        sa.Column('received_at', WHEN, nullable=False),
        sa.Column('decided_at', WHEN, nullable=True),
    )
    op.create_index('ix_appeals_project_received', 'appeals', ['project_id', 'received_at'])


def downgrade() -> None:
    for table in ('appeals', 'reports', 'dsa_settings'):
        op.drop_table(table)
    with op.batch_alter_table('cases') as batch:
        batch.drop_column('report_count')
