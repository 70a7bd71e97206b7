"""Screenshots of every console page on the demo data, for the README
(`make screenshots`; not part of the tests).

Uses the demo lake `make demo` builds (or --lake), serves the console on a loopback
port, and drives Debian's chromium with Playwright as an admin (a user `screenshots`
with an API token made for the run and revoked after it), saving one PNG per page
into docs/screenshots/.

Usage: python scripts/screenshots.py [--lake demo-data/lake] [--out docs/screenshots]
"""

from __future__ import annotations

import argparse
import secrets
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"]

# (file name, path, what to do on the page before the shot)
SHOTS = [
    ("admin-overview", "/admin", None),
    ("admin-users", "/admin?tab=users", None),
    ("admin-dashboards", "/admin?tab=dashboards", None),
    ("admin-datasets", "/admin?tab=datasets", None),
    ("admin-user-detail", "/admin/users/123456789012/QuickSightAuthor%2Ffatima", None),
    ("admin-dashboard-detail", "first-dashboard", None),
    ("web-analytics", "/web?range=30d", None),
    ("web-analytics-grouped", "/web?range=30d&group=path", None),
    ("log-explorer", "/explorer", None),
    ("log-explorer-run", "/explorer/alb_5xx_by_target?run=1", None),
    ("sql-editor", "/sql", "sql"),
    ("health", "/health", None),
]
SQL = "SELECT event_name, count(*) AS calls FROM cloudtrail_events GROUP BY ALL ORDER BY calls DESC LIMIT 15"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--lake", type=Path, default=ROOT / "demo-data" / "lake")
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = ap.parse_args()
    if not (args.lake / "catalog.sqlite").exists() and not args.lake.exists():
        sys.exit(f"no lake at {args.lake}: run `make demo` first")

    from playwright.sync_api import sync_playwright

    from eventlake.collect.app import ServerThread
    from eventlake.lake import Lake
    from eventlake.web.app import ConsoleOptions, create_console
    from eventlake.web.principals import PrincipalError, add_token, add_user, revoke_token, update_user

    lake = Lake(args.lake)
    try:
        add_user(lake, "screenshots", secrets.token_urlsafe(16), role="admin")
    except PrincipalError:
        update_user(lake, "screenshots", role="admin", disabled=False)
    rec, token = add_token(lake, "screenshots", note="make screenshots")
    args.out.mkdir(parents=True, exist_ok=True)
    try:
        with ServerThread(create_console(lake, ConsoleOptions(record_usage=False))) as srv, sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            context = browser.new_context(viewport={"width": 1440, "height": 1000}, device_scale_factor=1,
                                          extra_http_headers={"Authorization": f"Bearer {token}"})
            page = context.new_page()
            for name, path, action in SHOTS:
                if path in ("first-user", "first-dashboard"):
                    page.goto(srv.url + ("/admin?tab=users" if path == "first-user" else "/admin?tab=dashboards"))
                    link = page.locator("a[href^='/admin/users/']" if path == "first-user" else "a[href^='/admin/dashboards/']").first
                    path = link.get_attribute("href")
                page.goto(srv.url + path)
                if action == "sql":
                    page.fill("textarea", SQL)
                    page.click("#run")
                page.wait_for_load_state("networkidle")
                page.wait_for_timeout(300)
                target = args.out / f"{name}.png"
                page.screenshot(path=str(target), full_page=True)
                print(f"wrote {target.relative_to(ROOT) if target.is_relative_to(ROOT) else target}")
            browser.close()
    finally:
        revoke_token(lake, rec.token_id)


if __name__ == "__main__":
    main()
