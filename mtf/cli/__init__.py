"""The `mtf` command line. Sub-commands live in small modules; other packages add their own
groups through the `mtf.cli` entry-point group (e.g. `mtf schedules` from `schedules`)."""

from __future__ import annotations

import sys
from importlib.metadata import entry_points

import click

from infra import logging as mtf_logging
from infra.settings import SettingsError, load_settings
from mtf.cli import (
    account_cmd,
    backtest_cmd,
    cluster_cmd,
    contracts_cmd,
    db_cmd,
    diagnose_cmd,
    flower_cmd,
    health_cmd,
    klines_cmd,
    metrics_cmd,
    plan_cmd,
    profiles_cmd,
    run_cmd,
    runs_cmd,
    stream_cmd,
    sweep_cmd,
)
from mtf.rules.profile import available_profiles, unknown_profiles


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="mtf-scalper", prog_name="mtf", message="%(prog)s %(version)s")
@click.option("-v", "--verbose", is_flag=True, help="Log at DEBUG level.")
def main(verbose: bool) -> None:
    """Multi-timeframe scalping engine for Bitmart USDT perpetual futures.

    Embedded by default: SQLite, in-process tasks, paper exchange, synthetic market.
    Set CELERY_BROKER_URL / DATABASE_URL and run Celery workers for the distributed mode.
    """
    try:
        settings = load_settings()
    except SettingsError as exc:
        click.secho(f"error: {exc}", fg="red", err=True)
        sys.exit(2)
    unknown = unknown_profiles(settings.schedule_profiles)
    if unknown:
        value = ",".join(settings.schedule_profiles)
        click.secho(
            f"error: invalid environment:\n  MTF_SCHEDULE_PROFILES={value!r}: unknown "
            f"profile(s) {', '.join(unknown)}; available: {', '.join(available_profiles())}",
            fg="red",
            err=True,
        )
        sys.exit(2)
    # The CLI prints its own results; logs only speak up for warnings unless asked (-v).
    level = "DEBUG" if verbose else "WARNING"
    mtf_logging.configure(level, json_lines=settings.log_json, secrets=settings.secret_values())


main.add_command(run_cmd.run)
main.add_command(klines_cmd.klines)
main.add_command(klines_cmd.market)
main.add_command(db_cmd.db)
main.add_command(db_cmd.config)
main.add_command(runs_cmd.runs)
main.add_command(runs_cmd.orders)
main.add_command(profiles_cmd.profiles)
main.add_command(diagnose_cmd.diagnose)
main.add_command(contracts_cmd.contracts)
main.add_command(diagnose_cmd.replay_cmd)
main.add_command(plan_cmd.plan)
main.add_command(cluster_cmd.cluster)
main.add_command(metrics_cmd.metrics)
main.add_command(account_cmd.account)
main.add_command(flower_cmd.flower)
main.add_command(backtest_cmd.backtest)  # with its sweep commands (sweep_cmd)
assert sweep_cmd.sweep_cmd.name == "sweep"
main.add_command(health_cmd.health_cmd)
main.add_command(stream_cmd.stream)

for _ep in entry_points(group="mtf.cli"):
    try:
        main.add_command(_ep.load())
    except Exception as exc:  # a broken plugin must not take the whole CLI down
        print(f"warning: cannot load CLI plugin {_ep.name}: {exc}", file=sys.stderr)
