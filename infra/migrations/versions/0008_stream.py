"""market-data stream: streamed quotes and the stream's status

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import infra.models


revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('stream_quotes',
    sa.Column('symbol', sa.String(length=40), nullable=False),
    sa.Column('bid', infra.models.ExactDecimal(precision=38, scale=18), nullable=False),
    sa.Column('ask', infra.models.ExactDecimal(precision=38, scale=18), nullable=False),
    sa.Column('bid_size', infra.models.ExactDecimal(precision=38, scale=18), nullable=False),
    sa.Column('ask_size', infra.models.ExactDecimal(precision=38, scale=18), nullable=False),
    sa.Column('exchange_ms', sa.BigInteger(), nullable=False),
    sa.Column('received_ms', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('symbol', name=op.f('pk_stream_quotes'))
    )
    op.create_table('stream_status',
    sa.Column('name', sa.String(length=20), nullable=False),
    sa.Column('leader', sa.String(length=120), nullable=False),
    sa.Column('heartbeat_ms', sa.BigInteger(), nullable=False),
    sa.Column('connected', sa.Boolean(), nullable=False),
    sa.Column('complete_ms', sa.BigInteger(), nullable=False),
    sa.Column('symbols', sa.Integer(), nullable=False),
    sa.Column('stale', sa.JSON(), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_stream_status'))
    )


def downgrade() -> None:
    op.drop_table('stream_status')
    op.drop_table('stream_quotes')
