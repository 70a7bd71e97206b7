"""The admin console (/admin): tabs, controls, detail pages and the mailto action, on
the demo lake (seed 7, 30 days ending today).

What the demo's design fixes (src/eventlake/demo/world.py), in account 123456789012:
idle authors priya (idle 70 days), gabe (75), iris (110) and hiro (never active), so
idle in any window the 30 days of logs cover; fatima, an author active 1.5 times a week,
whose last activity was 10 days before the end (any end date); readers kenji, lena, nina and
umar who log in and never view a dashboard (group New-Joiners); dashboards ranked by
popularity (Executive KPIs by carlos first, then Sales Pipeline); frozen dashboards
nobody opens; and six datasets unused in the period (Clickstream raw, Legacy orders,
Campaigns 2022 archive, Pricing experiments, Orders - test copy, Vendor feed).

The console records its own usage into the same lake (account `eventlake`), which
other tests change: assertions here filter on the demo's QuickSight account."""

from __future__ import annotations

import datetime as dt
import json
import re
import time
from html.parser import HTMLParser
from urllib.parse import parse_qs, quote, unquote, urlsplit

from .conftest import READER, login

QS = "123456789012"
# none of them appears in the 30 days of logs: listed by account and name
IDLE_AUTHORS = ["QuickSightAdmin/priya", "QuickSightAuthor/gabe", "QuickSightAuthor/hiro", "iris"]
UNUSED = ["Clickstream raw (full history)", "Legacy orders 2015-2019", "Campaigns 2022 archive", "Pricing experiments",
          "Orders - test copy", "Vendor feed"]
# GiB of SPICE of the unused SPICE datasets in the demo's design (41.7 + 38.0 + 12.5 + 6.2 + 5.1)
UNUSED_SPICE_GIB = 103.5
TODAY = dt.datetime.now(dt.timezone.utc).date()


class Page(HTMLParser):
    """The bits of a console page the tests read: per section id, its tables' rows (cell
    text and link), stat values by id, JSON data blocks by id, and every link."""

    def __init__(self, html: str):
        super().__init__()
        self.sections: dict[str, list[list[tuple[str, str | None]]]] = {}
        self.stats: dict[str, str] = {}
        self.data: dict[str, object] = {}
        self.links: list[tuple[str, str]] = []
        self._section: list[str] = []
        self._row: list | None = None
        self._cell: list[str] | None = None
        self._href: str | None = None
        self._link_text: list[str] | None = None
        self._stat: str | None = None
        self._stat_text: list[str] | None = None
        self._json: str | None = None
        self._json_text: list[str] = []
        self._in_tbody = False
        self._depth = 0
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "section":
            self._section.append(a.get("id") or "")
            self.sections.setdefault(a.get("id") or "", [])
        elif tag == "tbody":
            self._in_tbody = True
        elif tag == "tr" and self._in_tbody:
            self._row = []
        elif tag == "td" and self._row is not None:
            self._cell, self._href = [], None
        elif tag == "a":
            self._link_text = []
            self._last_href = a.get("href")
            if self._cell is not None:
                self._href = a.get("href")
        elif tag == "div" and "stat" in (a.get("class") or "").split() and a.get("id"):
            self._stat, self._stat_text = a["id"], []
        elif tag == "span" and self._stat and a.get("class") == "value":
            self._stat_text = []
        elif tag == "script" and a.get("type") == "application/json":
            self._json, self._json_text = a.get("id"), []

    def handle_endtag(self, tag):
        if tag == "section" and self._section:
            self._section.pop()
        elif tag == "tbody":
            self._in_tbody = False
        elif tag == "tr" and self._row is not None:
            if self._section:
                self.sections[self._section[-1]].append(self._row)
            self._row = None
        elif tag == "td" and self._cell is not None:
            self._row.append(("".join(self._cell).strip(), self._href))
            self._cell = None
        elif tag == "a" and self._link_text is not None:
            self.links.append(("".join(self._link_text).strip(), self._last_href))
            self._link_text = None
        elif tag == "span" and self._stat and self._stat_text is not None:
            self.stats[self._stat] = "".join(self._stat_text).strip()
            self._stat, self._stat_text = None, None
        elif tag == "script" and self._json:
            self.data[self._json] = json.loads("".join(self._json_text))
            self._json = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)
        if self._link_text is not None:
            self._link_text.append(data)
        if self._stat_text is not None:
            self._stat_text.append(data)
        if self._json:
            self._json_text.append(data)

    def column(self, section: str, index: int = 0) -> list[str]:
        return [row[index][0] for row in self.sections.get(section, [])]

    def row(self, section: str, first: str) -> list[tuple[str, str | None]]:
        return next(r for r in self.sections[section] if r[0][0] == first)


def get(client, url: str) -> Page:
    res = client.get(url)
    assert res.status_code == 200, res.text[:2000]
    assert "Content-Security-Policy" in res.headers
    return Page(res.text)


def gib(text: str) -> float:
    number, unit = text.split()
    return float(number.replace(",", "")) * {"GiB": 1, "TiB": 1024, "MiB": 1 / 1024}[unit]


def mail_parts(href: str) -> tuple[str, str, str]:
    parts = urlsplit(href)
    assert parts.scheme == "mailto"
    q = parse_qs(parts.query)
    return unquote(parts.path), q["subject"][0], q["body"][0]


# -- HTTP ------------------------------------------------------------------------


def test_overview_headlines_and_terminology(admin_client):
    res = admin_client.get(f"/admin?account={QS}")
    assert res.status_code == 200
    page = Page(res.text)
    assert page.stats["stat-idle-authors"] == "4"
    assert abs(gib(page.stats["stat-reclaimable"]) - UNUSED_SPICE_GIB) < UNUSED_SPICE_GIB * 0.1
    assert int(page.stats["stat-views"].replace(",", "")) > 400  # 11 dashboards, Executive KPIs alone > 100
    assert page.column("top-dashboards")[:2] == ["Executive KPIs", "Sales Pipeline"]
    assert page.column("idle-authors") == IDLE_AUTHORS
    assert page.column("unused-datasets") == UNUSED[:5]
    for term in ("Author, reader, admin", "Active and idle user", "View", "Edit", "SPICE", "Reclaimable capacity", "Idle author"):
        assert f"<dt>{term}</dt>" in res.text
    # the tabs keep the controls
    assert f'href="/admin?start={(TODAY - dt.timedelta(days=29)).isoformat()}&amp;end={TODAY.isoformat()}&amp;idle=30&amp;unit=days&amp;account={QS}&amp;tab=users"' in res.text


def test_users_tab_active_and_idle(admin_client):
    page = get(admin_client, f"/admin?tab=users&account={QS}")
    assert page.column("idle-authors") == IDLE_AUTHORS
    # 9 author seats (2 admins, 7 authors): 5 active, 4 idle; 25 readers in the last snapshot
    assert (page.stats["stat-authors-active"], page.stats["stat-authors-idle"]) == ("5", "4")
    readers = {r[0][0]: r for r in page.sections["readers"]}
    assert len(readers) == 25
    assert int(page.stats["stat-readers-active"]) + int(page.stats["stat-readers-idle"]) == 25
    # role, group and status columns: user_name, account, role, groups, status, ...
    kenji = readers["QuickSightReader/kenji"]
    assert [c[0] for c in kenji[1:5]] == [QS, "READER", "New-Joiners", "active"]
    assert readers["QuickSightReader/sven"][4][0] == "idle"  # a seat nobody uses
    assert readers["QuickSightReader/omar"][4][0] == "idle"  # stopped 50 days ago
    gabe = page.row("authors", "QuickSightAuthor/gabe")
    assert [c[0] for c in gabe[2:5]] == ["AUTHOR", "BI-Authors", "idle"]
    # readers who log in and never view
    no_views = {r[0][0]: (r[2][0], r[3][0]) for r in page.sections["logins-without-views"]}
    for name in ("kenji", "lena", "nina", "umar"):
        logins, without = no_views[f"QuickSightReader/{name}"]
        assert logins == without and int(logins) > 0


def test_inactivity_window_changes_the_idle_list(admin_client):
    # fatima's last activity was 10 days before today: idle within a window of 10 days, not 11
    ten = get(admin_client, f"/admin?tab=users&account={QS}&idle=10")
    eleven = get(admin_client, f"/admin?tab=users&account={QS}&idle=11")
    assert ten.column("idle-authors") == IDLE_AUTHORS + ["QuickSightAuthor/fatima"]
    assert eleven.column("idle-authors") == IDLE_AUTHORS
    assert ten.row("idle-authors", "QuickSightAuthor/fatima")[4][0] == "10"
    # a month is 30 days
    month = get(admin_client, f"/admin?tab=users&account={QS}&idle=1&unit=months")
    assert month.column("idle-authors") == IDLE_AUTHORS
    assert month.stats["stat-authors-idle"] == "4"


def test_mailto_for_idle_authors(admin_client):
    page = get(admin_client, f"/admin?tab=users&account={QS}&idle=10")
    fatima = page.row("idle-authors", "QuickSightAuthor/fatima")
    email, href = fatima[-1]
    assert email == "fatima@example.com"
    to, subject, body = mail_parts(href)
    assert to == "fatima@example.com"
    assert "10 days" in subject
    last = (TODAY - dt.timedelta(days=10)).isoformat()
    assert f"was on {last}, 10 days before {TODAY.isoformat()}" in body
    assert "QuickSightAuthor/fatima" in body and body.startswith("Hello fatima,")
    # never seen: the message says so
    to, subject, body = mail_parts(page.row("idle-authors", "QuickSightAuthor/hiro")[-1][1])
    assert to == "hiro@example.com" and "no record" in body and "(inactivity window: 10 days)" in body
    # the href is encoded: no raw space or newline
    assert not re.search(r"\s", href)
    # active authors get no mailto
    assert page.row("authors", "QuickSightAuthor/carlos")[-1][1] is None


def test_dashboards_tab(admin_client):
    page = get(admin_client, f"/admin?tab=dashboards&account={QS}")
    top = page.sections["top-dashboards"]
    names = [r[1][0] for r in top]
    assert names[:2] == ["Executive KPIs", "Sales Pipeline"]
    # frozen and deleted dashboards are never viewed
    assert not {"Legacy Orders (2019)", "Campaign Archive 2022", "Old Ops Board"} & set(names)
    exec_kpis = top[0]
    assert exec_kpis[6][0] == "QuickSightAuthor/carlos"  # owners, from the permissions snapshot
    assert exec_kpis[1][1].startswith(f"/admin/dashboards/{QS}/")
    # the chart: every day of the period, the total and the top 5
    chart = page.data["chart-views"]
    assert len(chart["x"]) == 30
    labels = [s["label"] for s in chart["series"]]
    assert labels == ["all dashboards"] + names[:5]
    views = {r[1][0]: int(r[4][0].replace(",", "")) for r in top}
    assert sum(chart["series"][1]["values"]) == views["Executive KPIs"]
    assert sum(chart["series"][0]["values"]) == sum(views.values())
    # authors of the top dashboards and viewers per dashboard, linked to the user pages
    authors = {(r[0][0], r[1][0]) for r in page.sections["authors-top"]}
    assert ("Executive KPIs", "QuickSightAuthor/carlos") in authors and ("Marketing Funnel", "QuickSightAuthor/dana") in authors
    viewers = page.sections["viewers"]
    assert viewers and all(r[0][1].startswith(f"/admin/users/{QS}/") for r in viewers)


def test_datasets_tab(admin_client):
    page = get(admin_client, f"/admin?tab=datasets&account={QS}")
    assert page.column("unused-datasets") == UNUSED
    assert page.stats["stat-unused"] == "6"
    assert abs(gib(page.stats["stat-reclaimable"]) - UNUSED_SPICE_GIB) < UNUSED_SPICE_GIB * 0.1
    popular = page.column("popular-datasets")
    assert popular[0] == "Orders"  # behind Executive KPIs, Sales Pipeline, Regional Sales and Partner Portal
    assert len(popular) == 20
    # a window longer than the logs: still unused; a 1-day window marks more datasets unused
    one_day = get(admin_client, f"/admin?tab=datasets&account={QS}&idle=1")
    assert set(UNUSED) < set(one_day.column("unused-datasets"))


def test_account_and_region_controls(admin_client):
    page = get(admin_client, "/admin?tab=dashboards")
    res = admin_client.get("/admin?tab=dashboards")
    options = re.findall(r'<option value="([^"]*)"', res.text)
    for value in (QS, "234567890123", "345678901234", "eventlake", "us-east-1", "console"):
        assert value in options
    # the console's own pages are dashboards of account eventlake, region console
    console = get(admin_client, "/admin?tab=dashboards&region=console")
    assert "Executive KPIs" not in [r[1][0] for r in console.sections["top-dashboards"]]
    assert all(r[2][0] == "eventlake" for r in console.sections["top-dashboards"])
    assert "Executive KPIs" in [r[1][0] for r in page.sections["top-dashboards"]]
    assert get(admin_client, "/admin?tab=datasets&region=console").sections["popular-datasets"] == []
    # values are bound, never SQL text
    odd = get(admin_client, "/admin?tab=users&account=%27%20OR%201%3D1%20--")
    assert odd.sections["authors"] == [] and odd.sections["readers"] == []


def test_bad_control_values_fall_back(admin_client):
    res = admin_client.get("/admin?tab=nope&idle=abc&start=2020-02-30&unit=weeks")
    assert res.status_code == 200
    assert "there is no tab &#39;nope&#39;" in res.text
    assert "the inactivity window must be a whole number" in res.text
    assert "start must be a date" in res.text
    assert "unit must be days or months" in res.text
    res = admin_client.get(f"/admin?start={TODAY.isoformat()}&end={(TODAY - dt.timedelta(days=6)).isoformat()}")
    assert "swapped them" in res.text and "7 days from" in res.text


def test_user_detail(admin_client):
    page = get(admin_client, f"/admin/users/{QS}/{quote('QuickSightAuthor/fatima', safe='')}")
    assert page.stats["stat-role"] == "AUTHOR"
    assert page.stats["stat-status"] == "active"
    chart = page.data["chart-activity"]
    assert [s["label"] for s in chart["series"]] == ["logins", "views", "edits"]
    assert len(chart["x"]) == 30
    assert sum(chart["series"][2]["values"]) == int(page.stats["stat-edits"]) > 0
    assert sum(chart["series"][0]["values"]) == int(page.stats["stat-logins"]) > 0
    # she publishes her own dashboards: Finance Monthly Close and HR Headcount
    events = page.sections["recent-events"]
    assert {"Finance Monthly Close", "Month-end close analysis"} & {r[4][0] for r in events}
    assert events[0][0][0].startswith((TODAY - dt.timedelta(days=10)).isoformat())  # her last activity
    viewed = page.sections["dashboards-viewed"]
    assert viewed and all(r[0][1].startswith(f"/admin/dashboards/{QS}/") for r in viewed)
    res = admin_client.get(f"/admin/users/{QS}/QuickSightAuthor%2Ffatima")
    assert '<dd id="user-groups">BI-Authors</dd>' in res.text
    assert 'id="mail-user"' not in res.text  # active: nothing to send


def test_idle_user_detail_has_the_mail_action(admin_client):
    res = admin_client.get(f"/admin/users/{QS}/QuickSightAdmin%2Fpriya?idle=30")
    assert res.status_code == 200
    page = Page(res.text)
    assert page.stats["stat-status"] == "idle"
    assert page.stats["stat-last-activity"] == "never seen"
    href = dict((t, h) for t, h in page.links)["E-mail QuickSightAdmin/priya about their idle seat"]
    to, subject, body = mail_parts(href)
    assert to == "priya@example.com" and "ADMIN seat" in body


def test_dashboard_detail(admin_client):
    top = get(admin_client, f"/admin?tab=dashboards&account={QS}")
    href = top.sections["top-dashboards"][0][1][1]
    page = get(admin_client, href)
    views = int(top.sections["top-dashboards"][0][4][0].replace(",", ""))
    viewer_count = int(top.sections["top-dashboards"][0][5][0])
    assert int(page.stats["stat-views"].replace(",", "")) == views
    assert int(page.stats["stat-viewers"]) == viewer_count == len(page.sections["viewers"])
    assert page.stats["stat-owners"] == "QuickSightAuthor/carlos"
    assert sum(page.data["chart-dashboard"]["series"][0]["values"]) == views
    perms = {(r[0][0], r[2][0]) for r in page.sections["permissions"]}
    assert ("owner", "QuickSightAuthor/carlos") in perms and ("viewer", "BI-Readers") in perms
    owner = next(r for r in page.sections["permissions"] if r[0][0] == "owner")
    assert owner[2][1].startswith(f"/admin/users/{QS}/QuickSightAuthor%2Fcarlos")


def test_unknown_detail_pages_and_escaping(admin_client):
    res = admin_client.get(f"/admin/users/{QS}/%3Cscript%3Ealert(1)%3C%2Fscript%3E")
    assert res.status_code == 404
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in res.text and "<script>alert" not in res.text
    res = admin_client.get(f"/admin/dashboards/{QS}/%3Cb%3Enope%3C%2Fb%3E")
    assert res.status_code == 404 and "&lt;b&gt;nope&lt;/b&gt;" in res.text


def test_pages_are_recorded_as_console_usage(admin_client):
    get(admin_client, "/admin?tab=datasets")
    deadline = time.time() + 10
    while True:  # usage is written every 0.2 s
        res = admin_client.get(f"/admin/dashboards/eventlake/{quote('console:/admin?tab=datasets', safe='')}")
        if res.status_code == 200 or time.time() > deadline:
            break
        time.sleep(0.3)
    assert res.status_code == 200
    page = Page(res.text)
    assert int(page.stats["stat-views"].replace(",", "")) >= 1
    assert "Admin console — Datasets" in page.data["chart-dashboard"]["title"]
    # the console's pages have no QuickSight viewers: their viewers come from the views themselves
    assert "alice" in page.column("viewers")


def test_readers_may_open_it(console_url):
    client = login(console_url, READER)
    try:
        assert client.get("/admin?tab=users").status_code == 200
    finally:
        client.close()


# -- browser ---------------------------------------------------------------------


def test_tabs_in_the_browser(page, console_url):
    page.goto(f"{console_url}/admin?account={QS}")
    assert page.title() == "Admin console — Overview · eventlake"
    assert page.locator("header nav a.active").inner_text() == "Admin console"
    for tab, label, panel in (("users", "Users", "#idle-authors"), ("dashboards", "Dashboards", "#top-dashboards"),
                              ("datasets", "Datasets", "#unused-datasets"), ("overview", "Overview", "#terminology")):
        with page.expect_navigation():
            page.click(f"nav.tabs a[data-tab={tab}]")
        assert f"tab={tab}" in page.url and f"account={QS}" in page.url
        assert page.locator("nav.tabs a.active").inner_text() == label
        assert page.locator(panel).is_visible()
    with page.expect_navigation():
        page.click("nav.tabs a[data-tab=dashboards]")
    page.wait_for_selector("#trend .chart[data-drawn=true] canvas")
    assert page.locator("#trend .u-legend .u-series").count() == 7  # x, all dashboards and the top 5


def test_inactivity_control_in_the_browser(page, console_url):
    page.goto(f"{console_url}/admin?tab=users&account={QS}")
    rows = page.locator("#idle-authors tbody tr")
    assert rows.count() == 4
    page.fill("#ctl-idle", "10")
    with page.expect_navigation():
        page.press("#ctl-idle", "Tab")  # a changed number submits the form when it loses focus
    assert "idle=10" in page.url
    assert rows.count() == 5
    assert page.locator("#idle-authors tbody tr", has_text="QuickSightAuthor/fatima").count() == 1
    # the unit: 10 months is longer than the logs, so fatima is active again
    with page.expect_navigation():
        page.select_option("#ctl-unit", "months")
    assert "unit=months" in page.url and rows.count() == 4
    # the account dropdown narrows everything to one account
    with page.expect_navigation():
        page.select_option("#ctl-account", "eventlake")
    assert "account=eventlake" in page.url
    assert page.locator("#readers tbody tr", has_text="QuickSightReader").count() == 0


def test_mailto_in_the_browser(page, console_url):
    page.goto(f"{console_url}/admin?tab=users&account={QS}")
    link = page.locator('#idle-authors a[href^="mailto:"]', has_text="gabe@example.com")
    to, subject, body = mail_parts(link.get_attribute("href"))
    assert to == "gabe@example.com"
    assert "idle for 30+ days" in subject
    assert "no record of any sign-in, dashboard view or edit" in body and "QuickSightAuthor/gabe" in body


def test_follow_user_and_dashboard_links_in_the_browser(page, console_url):
    page.goto(f"{console_url}/admin?tab=users&account={QS}")
    with page.expect_navigation():
        page.click("#idle-authors a:text-is('QuickSightAuthor/gabe')")
    assert f"/admin/users/{QS}/QuickSightAuthor%2Fgabe" in page.url
    assert page.locator("h1").inner_text().startswith("QuickSightAuthor/gabe")
    assert page.locator("#stat-status .value").inner_text() == "idle"
    assert page.locator("#mail-user").get_attribute("href").startswith("mailto:gabe@example.com?subject=")
    page.wait_for_selector("#activity .chart[data-drawn=true] canvas")

    page.goto(f"{console_url}/admin?tab=dashboards&account={QS}")
    with page.expect_navigation():
        page.click("#top-dashboards a:text-is('Executive KPIs')")
    assert f"/admin/dashboards/{QS}/" in page.url
    assert page.locator("h1").inner_text().startswith("Executive KPIs")
    assert page.locator("#stat-owners .value").inner_text() == "QuickSightAuthor/carlos"
    page.wait_for_selector("#views-per-day .chart[data-drawn=true] canvas")
    assert page.locator("#viewers tbody tr").count() > 10
    # and on to a viewer
    with page.expect_navigation():
        page.locator("#viewers tbody tr a").first.click()
    assert f"/admin/users/{QS}/" in page.url
    assert page.locator("#dashboards-viewed a", has_text="Executive KPIs").count() == 1
