"""`unionbot org|invite|staff`: the federation IT staff's commands for the roster and for who may use the account."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from bot.cli.common import database_or_exit, fail, settings_or_exit
from config.settings import Settings
from domain import timefmt
from domain.enums import Role
from storage import desk_auth, identity, roster
from storage.db import Database, utcnow

org_app = typer.Typer(help="The enterprise roster.")
invite_app = typer.Typer(help="One-time binding codes for chairs and warners.")
staff_app = typer.Typer(help="Federation staff and administrators.")
desk_app = typer.Typer(help="The staff desk (工作台) in the browser.")


class InviteRole(StrEnum):
    chair = "chair"
    warner = "warner"


def _credit_code_or_exit(text: str) -> str:
    try:
        return roster.validate_credit_code(text)
    except roster.RowError as exc:
        raise fail(str(exc)) from None


@org_app.command("import")
def org_import(
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="A .csv or .xlsx roster.")],
) -> None:
    """Load or update the roster, keyed by credit code (safe to repeat). Exits 1 when rows were rejected.

    Headers: 企业名称, 统一社会信用代码, 职工人数, 所属社区, 是否建会 (是/否),
    or name, credit_code, employees, community, has_union. Empty cells keep the stored value.
    """
    db = database_or_exit(settings_or_exit())
    try:
        with db.transaction() as session:
            report = roster.import_file(session, path, utcnow())
    except roster.RosterError as exc:
        raise fail(str(exc)) from None
    finally:
        db.dispose()
    if report.ignored_columns:
        typer.echo(f"ignored columns: {', '.join(report.ignored_columns)}")
    typer.echo(
        f"{path.name}: {report.added} added, {report.updated} updated, {report.unchanged} unchanged, "
        f"{len(report.rejected)} rejected"
    )
    for number, reason in report.rejected:
        typer.echo(f"row {number}: {reason}")
    if report.rejected:
        raise typer.Exit(code=1)


@org_app.command("add")
def org_add(
    name: Annotated[str, typer.Option(help="企业名称 as registered.")],
    credit_code: Annotated[str, typer.Option(help="统一社会信用代码 (18 characters).")],
    employees: Annotated[int | None, typer.Option(min=0, help="职工人数.")] = None,
    community: Annotated[str | None, typer.Option(help="所属社区.")] = None,
    has_union: Annotated[bool | None, typer.Option("--has-union/--no-union", help="是否建会.")] = None,
) -> None:
    """Add one enterprise, or update it if the credit code is known (options left out keep their value)."""
    try:
        row = roster.parse_row(
            {
                "name": name,
                "credit_code": credit_code,
                "employees": employees,
                "community": community,
                "has_union": has_union,
            }
        )
    except roster.RowError as exc:
        raise fail(str(exc)) from None
    db = database_or_exit(settings_or_exit())
    try:
        with db.transaction() as session:
            change = roster.upsert_enterprise(session, row, utcnow())
    finally:
        db.dispose()
    typer.echo(f"{change} {row.name} ({row.credit_code})")


@org_app.command("remove")
def org_remove(
    enterprise: Annotated[str, typer.Option(help="The enterprise's credit code.")],
) -> None:
    """Take an enterprise off the roster (注销, moved out) as of now: it owes no report falling due later, and past
    periods still count the months it owed."""
    settings = settings_or_exit()
    credit_code = _credit_code_or_exit(enterprise)
    now = utcnow()
    db = database_or_exit(settings)
    try:
        with db.transaction() as session:
            found = roster.enterprise_by_credit_code(session, credit_code)
            if found is None:
                raise fail(f"no enterprise with credit code {credit_code}")
            if found.removed_at is None:
                found.removed_at = now
                session.add(found)
            name, removed_at = found.name, found.removed_at
    finally:
        db.dispose()
    typer.echo(f"removed {name} ({credit_code}) as of {timefmt.minute(removed_at, settings.zone)}")


@invite_app.command("create")
def invite_create(
    enterprise: Annotated[str, typer.Option(help="The enterprise's credit code.")],
    role: Annotated[InviteRole, typer.Option(help="chair (企业工会主席) or warner (劳动争议预警员).")] = (
        InviteRole.chair
    ),
    days: Annotated[int, typer.Option(min=1, max=90, help="Days until the code expires.")] = identity.INVITE_DAYS,
    qr: Annotated[
        Path | None,
        typer.Option(dir_okay=False, help="Also save the invitation's WeChat QR code (PNG) to this file."),
    ] = None,
) -> None:
    """Print a one-time code; the user sends `绑定 CODE` to the account, or scans the QR code (`--qr`), to bind."""
    settings = settings_or_exit()
    credit_code = _credit_code_or_exit(enterprise)
    db = database_or_exit(settings)
    now = utcnow()
    try:
        with db.transaction() as session:
            found = roster.enterprise_by_credit_code(session, credit_code)
            if found is None:
                raise fail(f"no enterprise with credit code {credit_code}; add it with `unionbot org add` first")
            invite = identity.create_invite(
                session, role=Role(role.value), enterprise=found, created_by="cli", now=now, days=days
            )
        if qr is not None:
            _save_qr(settings, db, invite.code, invite.expires_at, qr)
    finally:
        db.dispose()
    typer.echo(invite.code)
    typer.echo(
        f"{role.value} of {found.name} ({credit_code}), single use, "
        f"expires {timefmt.minute(invite.expires_at, settings.zone)} ({settings.zone.key})"
    )
    if qr is not None:
        until = identity.qr_expires(invite.expires_at, now)
        works = timefmt.minute(until, settings.zone)
        typer.echo(f"QR code saved to {qr.resolve()} (scan to bind; works until {works})")


def _save_qr(settings: Settings, db: Database, code: str, expires_at: datetime, target: Path) -> None:
    """Ask WeChat for the invitation's QR code with the service's own token, and write the PNG.

    The API client is imported here: it brings the token owner, which other commands never need.
    """
    import httpx

    from bot.channel.invite_qr import invite_png
    from bot.channel.tokens import token_cache
    from bot.channel.wechat_api import WechatApi, WechatApiError

    tokens = token_cache(settings, db, utcnow)
    api = WechatApi(
        settings.wechat_api_base, settings.wechat_appid, settings.wechat_secret, tokens, qr_base=settings.wechat_qr_base
    )
    try:
        png = invite_png(api, code, expires_at, utcnow())
    except (WechatApiError, httpx.HTTPError) as exc:
        raise fail(f"the code {code} is made, but WeChat gave no QR code for it: {exc}") from None
    finally:
        api.close()
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(png)


@staff_app.command("add")
def staff_add(
    openid: Annotated[str, typer.Argument(help="The staff member's WeChat openid.")],
    name: Annotated[str, typer.Option(help="Their name, shown on reviews.")],
    admin: Annotated[bool, typer.Option("--admin", help="Also an administrator.")] = False,
) -> None:
    """Make a WeChat user federation staff (replaces any binding they had)."""
    if not openid.strip() or not name.strip():
        raise fail("openid and --name must not be empty")
    db = database_or_exit(settings_or_exit())
    try:
        with db.transaction() as session:
            member = identity.add_staff(session, openid.strip(), name=name.strip(), admin=admin, now=utcnow())
    finally:
        db.dispose()
    typer.echo(f"{member.openid} is now {member.role} ({member.name})")


@staff_app.command("deactivate")
def staff_deactivate(openid: Annotated[str, typer.Argument(help="The staff member's WeChat openid.")]) -> None:
    """Take away a staff member's access: commands, alerts and the desk (their session ends at once)."""
    db = database_or_exit(settings_or_exit())
    now = utcnow()
    try:
        with db.transaction() as session:
            member = desk_auth.deactivate_staff(session, openid.strip(), now)
            if member is None:
                raise fail(f"{openid} is not active staff")
    finally:
        db.dispose()
    typer.echo(f"{member.openid} ({member.name}) is no longer staff")


@desk_app.command("link")
def desk_link(openid: Annotated[str, typer.Argument(help="The staff member's WeChat openid.")]) -> None:
    """Print a one-time login link to the desk for an active staff member (when they cannot send 登录)."""
    settings = settings_or_exit()
    db = database_or_exit(settings)
    now = utcnow()
    try:
        with db.transaction() as session:
            if not identity.is_staff(identity.active_member(session, openid.strip())):
                raise fail(f"{openid} is not active staff; only staff and admins may use the desk")
            token = desk_auth.create_link(session, openid.strip(), now)
    finally:
        db.dispose()
    typer.echo(f"{settings.public_base_url.rstrip('/')}/desk/login/{token}")
    typer.echo(f"single use, expires {timefmt.minute(now + desk_auth.LINK_TTL, settings.zone)} ({settings.zone.key})")
