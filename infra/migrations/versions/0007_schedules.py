"""schedules: definitions, change log, run accounting

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 08:46:23.439686
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import infra.models


revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table('schedule_changes',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('schedule', sa.String(length=80), nullable=False),
    sa.Column('at', infra.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('action', sa.String(length=20), nullable=False),
    sa.Column('changes', sa.JSON(), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('actor', sa.String(length=120), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_schedule_changes'))
    )
    with op.batch_alter_table('schedule_changes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_schedule_changes_schedule'), ['schedule'], unique=False)

    op.create_table('schedules',
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('profile', sa.String(length=80), nullable=False),
    sa.Column('cadence', sa.String(length=120), nullable=False),
    sa.Column('request', sa.JSON(), nullable=False),
    sa.Column('offset_seconds', sa.Float(), nullable=False),
    sa.Column('stale_after_seconds', sa.Integer(), nullable=True),
    sa.Column('catchup_window_seconds', sa.Integer(), nullable=False),
    sa.Column('overlap', sa.String(length=12), nullable=False),
    sa.Column('pause_on_failure', sa.Boolean(), nullable=False),
    sa.Column('paused', sa.Boolean(), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('expires_at', infra.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('cursor_at', infra.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', infra.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', infra.models.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_schedules'))
    )
    with op.batch_alter_table('runs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('schedule', sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column('scheduled_for', infra.models.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('due_at', infra.models.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('deadline_at', infra.models.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('lateness_ms', sa.BigInteger(), nullable=True))
        batch_op.create_index(batch_op.f('ix_runs_deadline_at'), ['deadline_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_runs_schedule'), ['schedule'], unique=False)
        batch_op.create_unique_constraint(batch_op.f('uq_runs_schedule'), ['schedule', 'scheduled_for'])




def downgrade() -> None:

    with op.batch_alter_table('runs', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_runs_schedule'), type_='unique')
        batch_op.drop_index(batch_op.f('ix_runs_schedule'))
        batch_op.drop_index(batch_op.f('ix_runs_deadline_at'))
        batch_op.drop_column('lateness_ms')
        batch_op.drop_column('deadline_at')
        batch_op.drop_column('due_at')
        batch_op.drop_column('scheduled_for')
        batch_op.drop_column('schedule')

    op.drop_table('schedules')
    with op.batch_alter_table('schedule_changes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_schedule_changes_schedule'))

    op.drop_table('schedule_changes')

