"""protective order generations, the sweep's verdict per position, account snapshots, the
resting entry's watcher

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import infra.models

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "protective_orders",
        sa.Column("client_order_id", sa.String(length=32), nullable=False),
        sa.Column("exchange", sa.String(length=20), nullable=False),
        sa.Column("level_key", sa.String(length=200), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("symbol", sa.String(length=40), nullable=False),
        sa.Column("role", sa.String(length=10), nullable=False),
        sa.Column("order_id", sa.String(length=40), nullable=True),
        sa.Column("claimed_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("client_order_id", name=op.f("pk_protective_orders")),
        sa.UniqueConstraint(
            "exchange",
            "level_key",
            "generation",
            name=op.f("uq_protective_orders_exchange"),
        ),
    )
    with op.batch_alter_table("protective_orders", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_protective_orders_level_key"), ["level_key"], unique=False
        )
    op.create_table(
        "position_guards",
        sa.Column("exchange", sa.String(length=20), nullable=False),
        sa.Column("symbol", sa.String(length=40), nullable=False),
        sa.Column("side", sa.String(length=5), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("size", infra.models.ExactDecimal(precision=38, scale=18), nullable=True),
        sa.Column("stop_price", infra.models.ExactDecimal(precision=38, scale=18), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("checked_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("exchange", "symbol", "side", name=op.f("pk_position_guards")),
    )
    with op.batch_alter_table("position_guards", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_position_guards_status"), ["status"], unique=False)
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("watch_token", sa.String(length=32), nullable=True))
    op.create_table(
        "account_snapshots",
        sa.Column("exchange", sa.String(length=20), nullable=False),
        sa.Column("currency", sa.String(length=10), nullable=False),
        sa.Column("equity", infra.models.ExactDecimal(precision=38, scale=18), nullable=False),
        sa.Column("wallet", infra.models.ExactDecimal(precision=38, scale=18), nullable=False),
        sa.Column("available", infra.models.ExactDecimal(precision=38, scale=18), nullable=False),
        sa.Column(
            "unrealized_pnl", infra.models.ExactDecimal(precision=38, scale=18), nullable=False
        ),
        sa.Column("checked_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("exchange", name=op.f("pk_account_snapshots")),
    )


def downgrade() -> None:
    op.drop_table("account_snapshots")
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_column("watch_token")
    with op.batch_alter_table("position_guards", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_position_guards_status"))
    op.drop_table("position_guards")
    with op.batch_alter_table("protective_orders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_protective_orders_level_key"))
    op.drop_table("protective_orders")
