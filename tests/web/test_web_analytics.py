"""The web analytics page (/web) on a small lake of page views sent through the real
collector. The traffic of 2024-05-20 (UTC), one visit per line (a visit's later pages are
referred by the site itself):

  A 08:10 www /  google.com             US desktop Chrome Windows   then /pricing 08:12
  B 08:30 www /pricing  (direct)         DE mobile  Safari iOS
  H 09:00 docs /guide  google.com        US desktop Chrome Windows
  C 10:05 www /blog/launch utm newsletter (no referrer)  US mobile  Safari iOS   then /pricing 10:07
  D 10:15 www /blog/launch utm newsletter (no referrer)  DE desktop Chrome Windows
  E 10:20 www /blog/launch news.ycombinator.com          GB desktop Firefox Linux
  F 10:40 www /  google.com             US desktop Chrome Windows
  G 12:00 www /blog/launch twitter.com  FR desktop Firefox Linux

  = 10 page views, 8 visits; 10:00-11:00 (the newsletter hour): 5 page views, 4 visits.
  On 2024-05-21 one page view carries markup in its path, title, referrer and utm_source.
"""

from __future__ import annotations

import re
import time
from urllib.parse import parse_qs, urlsplit

import pytest

from eventlake.collect.app import ServerThread, create_app
from eventlake.collect.sources import add_source
from eventlake.lake import Lake
from eventlake.web.app import ConsoleOptions, create_console
from eventlake.web.principals import add_user

from .conftest import login, sign_in

USER = ("wendy", "wendy-pass-1", "reader", None)
CHROME_WIN = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"
SAFARI_IOS = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
              "Version/17.4 Mobile/15E148 Safari/604.1")
FIREFOX_LINUX = "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0"
IP = {"US": "8.8.8.8", "DE": "85.214.132.117", "GB": "81.2.69.142", "FR": "5.39.0.1"}
WWW, DOCS = "https://www.acme.test", "https://docs.acme.test"
DAY = "from=2024-05-20T00:00Z&to=2024-05-21T00:00Z"
HOUR = "from=2024-05-20T10:00:00Z&to=2024-05-20T11:00:00Z"
XSS = "<script>alert(1)</script>"
XSS_IMG = '"><img src=x onerror=alert(2)>'


def _page(n: int, when: str, url: str, referrer: str | None, country: str, ua: str, title: str = "Acme") -> dict:
    parts = urlsplit(url)
    return {
        "type": "page", "anonymousId": f"anon-{n}", "messageId": f"pv-{n}", "timestamp": f"2024-05-{when}:00Z",
        "context": {"page": {"url": url, "referrer": referrer, "path": parts.path, "title": title},
                    "ip": IP[country], "userAgent": ua},
    }


def _traffic() -> list[dict]:
    return [
        _page(1, "20T08:10", WWW + "/", "https://google.com/search", "US", CHROME_WIN),
        _page(2, "20T08:12", WWW + "/pricing", WWW + "/", "US", CHROME_WIN),
        _page(3, "20T08:30", WWW + "/pricing", None, "DE", SAFARI_IOS),
        _page(4, "20T09:00", DOCS + "/guide", "https://google.com/", "US", CHROME_WIN),
        _page(5, "20T10:05", WWW + "/blog/launch?utm_source=newsletter&utm_medium=email", None, "US", SAFARI_IOS),
        _page(6, "20T10:07", WWW + "/pricing", WWW + "/blog/launch", "US", SAFARI_IOS),
        _page(7, "20T10:15", WWW + "/blog/launch?utm_source=newsletter&utm_medium=email", None, "DE", CHROME_WIN),
        _page(8, "20T10:20", WWW + "/blog/launch", "https://news.ycombinator.com/item?id=1", "GB", FIREFOX_LINUX),
        _page(9, "20T10:40", WWW + "/", "https://google.com/", "US", CHROME_WIN),
        _page(10, "20T12:00", WWW + "/blog/launch", "https://twitter.com/acme", "FR", FIREFOX_LINUX),
        # markup in every text field a panel shows (2024-05-21)
        {**_page(11, "21T09:00", WWW + "/x", f"https://evil.test{XSS_IMG}/", "US", CHROME_WIN, title=XSS),
         "properties": {"path": "/" + XSS + XSS_IMG}},
    ]


def build_web_lake(root) -> Lake:
    """A lake holding _traffic(), sent through the collector and loaded."""
    lake = Lake(root / "lake")
    con = lake.connect(create=True)
    lake.ensure_tables(con)
    con.close()
    _, key = add_source(lake, "site")
    events = _traffic()
    events[-1]["context"]["campaign"] = {"source": XSS}
    with ServerThread(create_app(lake, root / "raw", source_refresh_seconds=0.2)) as srv:
        import httpx

        res = httpx.post(srv.url + "/v1/batch", json={"batch": events}, auth=(key, ""), timeout=30)
        assert res.status_code == 200, res.text
        srv.app.state.collector.rotate_and_load_threadsafe()
    add_user(lake, USER[0], USER[1], role=USER[2])
    return lake


@pytest.fixture(scope="module")
def web_lake(tmp_path_factory) -> Lake:
    return build_web_lake(tmp_path_factory.mktemp("web"))


@pytest.fixture(scope="module")
def web_url(web_lake):
    with ServerThread(create_console(web_lake, ConsoleOptions(usage_flush_seconds=0.2, principals_refresh_seconds=0.2))) as srv:
        yield srv.url


@pytest.fixture(scope="module")
def client(web_url):
    c = login(web_url, USER)
    yield c
    c.close()


def stat(html: str, name: str) -> str:
    return re.search(rf'id="stat-{name}"><span class="value">([^<]*)<', html).group(1)


def panel_rows(html: str, panel: str) -> list[list[str]]:
    """The text of a panel's table cells, row by row (tags stripped, entities kept)."""
    section = re.search(rf'<section class="panel[^"]*" id="{panel}">(.*?)</section>', html, re.S).group(1)
    rows = []
    for tr in re.findall(r"<tbody>.*?</tbody>", section, re.S)[0].split("<tr>")[1:]:
        cells = re.findall(r"<td[^>]*>(.*?)</td>", tr, re.S)
        rows.append([re.sub(r"<[^>]+>", "", c.replace("<br>", " | ")).strip() for c in cells])
    return rows


# -- HTTP --------------------------------------------------------------------------------


def test_day_totals_and_panels(client):
    res = client.get("/web?" + DAY)
    assert res.status_code == 200
    html = res.text
    assert stat(html, "pageviews") == "10"
    assert stat(html, "visits") == "8"
    assert stat(html, "views-per-visit") == "1.25"
    pages = panel_rows(html, "top-pages")
    assert [(r[0], r[1], r[2], r[3]) for r in pages] == [  # page | site, views, entries, share
        ("/blog/launch | www.acme.test", "4", "4", "40.0%"), ("/pricing | www.acme.test", "3", "1", "30.0%"),
        ("/ | www.acme.test", "2", "2", "20.0%"), ("/guide | docs.acme.test", "1", "1", "10.0%"),
    ]
    assert [(r[0], r[1]) for r in panel_rows(html, "referrers")] == [
        ("google.com", "3"), ("newsletter", "2"), ("(direct)", "1"), ("news.ycombinator.com", "1"), ("twitter.com", "1"),
    ]
    assert [(r[0], r[1], r[2]) for r in panel_rows(html, "countries")] == [
        ("US", "4", "6"), ("DE", "2", "2"), ("FR", "1", "1"), ("GB", "1", "1"),
    ]
    assert [(r[0], r[1]) for r in panel_rows(html, "devices")] == [("desktop", "6"), ("mobile", "2")]
    assert [(r[0], r[1]) for r in panel_rows(html, "browsers")] == [("Chrome", "4"), ("Mobile Safari", "2"), ("Firefox", "2")]
    assert [(r[0], r[1]) for r in panel_rows(html, "os")] == [("Windows", "4"), ("iOS", "2"), ("Linux", "2")]
    # the chart's data: 24 hourly buckets and the range's end
    series = re.search(r'<script type="application/json" id="web-series">(.*?)</script>', html, re.S).group(1)
    import json

    data = json.loads(series)
    assert data["bucket_size"] == "hour" and len(data["x"]) == 25
    assert data["pageviews"][10] == 5 and data["visits"][10] == 4 and sum(data["pageviews"][:24]) == 10


def test_the_newsletter_hour_grouped_by_page_filtered_to_one_page(client):
    html = client.get("/web?" + HOUR).text
    assert (stat(html, "pageviews"), stat(html, "visits")) == ("5", "4")
    # group by page: the breakdown table
    html = client.get("/web?" + HOUR + "&group=path").text
    assert [(r[0], r[1], r[2]) for r in panel_rows(html, "breakdown")] == [
        ("/blog/launch", "3", "3"), ("/", "1", "1"), ("/pricing", "1", "0"),
    ]
    # the link of /blog/launch in Top pages adds the path filter and keeps the rest
    link = re.search(r'<a href="([^"]+)" title="Show only /blog/launch">', html).group(1).replace("&amp;", "&")
    assert parse_qs(urlsplit(link).query) == {
        "from": ["2024-05-20T10:00:00Z"], "to": ["2024-05-20T11:00:00Z"], "group": ["path"], "path": ["/blog/launch"],
    }
    html = client.get("/web" + link).text
    assert (stat(html, "pageviews"), stat(html, "visits")) == ("3", "3")
    assert [(r[0], r[1]) for r in panel_rows(html, "referrers")] == [("newsletter", "2"), ("news.ycombinator.com", "1")]
    assert 'data-filter="path">Page: <strong>/blog/launch</strong>' in html
    # its remove link goes back to the unfiltered view
    remove = re.search(r'data-filter="path">.*?<a href="([^"]+)" class="remove"', html, re.S).group(1).replace("&amp;", "&")
    assert "path" not in parse_qs(urlsplit(remove).query)


@pytest.mark.parametrize(("params", "pageviews", "visits"), [
    ("&source=newsletter", "2", "2"),  # the landing pages: later pages' source is the site itself
    ("&utm_source=newsletter", "2", "2"),  # utm_source is on the landing page only
    ("&country=US", "6", "4"),
    ("&device=mobile", "3", "2"),
    ("&browser=Firefox", "2", "2"),
    ("&os=Windows", "5", "4"),
    ("&site=docs.acme.test", "1", "1"),
    ("&path=/pricing&country=DE", "1", "1"),
    ("&country=JP", "0", "0"),
])
def test_every_filter(client, params, pageviews, visits):
    html = client.get("/web?" + DAY + params).text
    assert (stat(html, "pageviews"), stat(html, "visits")) == (pageviews, visits)


def test_metric_switch_orders_the_breakdown_by_visits(client):
    html = client.get("/web?" + DAY + "&group=path&metric=visits").text
    assert [(r[0], r[2]) for r in panel_rows(html, "breakdown")] == [
        ("/blog/launch", "4"), ("/", "2"), ("/pricing", "1"), ("/guide", "1"),  # ties: more page views first
    ]
    assert 'class="stat current" id="stat-visits"' in html
    assert '"metric":"visits"' in html


def test_add_filter_form_redirects_to_the_filter(client):
    res = client.get("/web?" + DAY + "&add=country&value=DE")
    assert res.status_code == 303
    assert parse_qs(urlsplit(res.headers["location"]).query) == {
        "from": ["2024-05-20T00:00Z"], "to": ["2024-05-21T00:00Z"], "country": ["DE"]}


def test_presets_and_defaults(client):
    html = client.get("/web").text  # the last 7 days: the 2024 traffic is not in it
    assert 'data-range="7d" class="active"' in html
    assert stat(html, "pageviews") == "0"
    assert "No page views in this range" in html
    html = client.get("/web?range=24h").text
    assert 'data-range="24h" class="active"' in html


@pytest.mark.parametrize(("params", "message"), [
    ("from=yesterday", "from must be a UTC timestamp"),
    ("from=2024-05-21T00:00Z&to=2024-05-20T00:00Z", "from (2024-05-21T00:00:00Z) must be before to (2024-05-20T00:00:00Z)"),
    ("range=1y", "range must be one of 24h, 7d, 30d"),
    ("metric=bounces", "metric must be pageviews or visits"),
    ("bucket=minute", "bucket must be one of auto, hour, day, week, month"),
    ("group=title", "group must be one of path"),
    ("from=2000-01-01&to=2024-01-01&bucket=hour", "more than 5000 buckets"),
])
def test_invalid_input_is_a_message_not_a_500(client, params, message):
    res = client.get("/web?" + params)
    assert res.status_code == 400
    assert 'id="web-error"' in res.text and message in res.text


def test_markup_in_event_data_is_escaped(client):
    html = client.get("/web?from=2024-05-21T00:00Z&to=2024-05-22T00:00Z").text
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "/&lt;script&gt;alert(1)&lt;/script&gt;" in html  # the path, as text
    assert "evil.test&#34;&gt;&lt;img src=x onerror=alert(2)&gt;" in html  # the referrer host, as text
    series = re.search(r'id="web-series">(.*?)</script>', html, re.S).group(1)
    assert "<" not in series


def test_the_view_is_recorded(web_lake, web_url):
    add_user(web_lake, "viewer-of-web", "viewer-pass-1", role="reader")
    time.sleep(0.3)  # the console re-reads its users every 0.2 s
    c = login(web_url, ("viewer-of-web", "viewer-pass-1"))
    assert c.get("/web?" + DAY).status_code == 200
    c.close()
    sql = ("SELECT action, page, asset_type, asset_id, asset_name FROM console_events "
           "WHERE user_name = 'viewer-of-web' AND page = '/web'")
    deadline = time.monotonic() + 10
    while True:
        con = web_lake.connect(read_only=True)
        try:
            rows = con.execute(sql).fetchall()
        finally:
            con.close()
        if rows or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert rows == [("view", "/web", "dashboard", "console:/web", "Web analytics")]


def test_on_the_demo_lake(admin_client):
    """The demo's traffic (whatever it holds) renders: every panel, no error."""
    res = admin_client.get("/web?range=30d&group=source")
    assert res.status_code == 200
    for panel in ("timeseries", "top-pages", "referrers", "countries", "devices", "browsers", "os", "breakdown"):
        assert f'id="{panel}"' in res.text


# -- browser --------------------------------------------------------------------------------


@pytest.fixture
def wpage(browser, web_url):
    """A signed-in page on the web lake's console; JavaScript errors, CSP violations and
    dialogs fail the test."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    pg.on("dialog", lambda d: (errors.append(f"dialog: {d.message}"), d.dismiss()))
    sign_in(pg, web_url, USER, next_path="/web?" + DAY)
    try:
        yield pg
    finally:
        context.close()
    assert errors == [], f"JavaScript errors, CSP violations or dialogs in the page: {errors}"


def _query(pg) -> dict:
    return {k: v[0] for k, v in parse_qs(urlsplit(pg.url).query).items()}


def test_browser_story(wpage, web_url):
    pg = wpage
    assert pg.title() == "Web analytics · eventlake"
    assert pg.locator("#stat-pageviews .value").inner_text() == "10"
    pg.wait_for_selector("#web-chart[data-ready] .u-over")
    # switch to visits and back
    pg.click(".metric-switch a[data-metric=visits]")
    pg.wait_for_load_state("load")
    assert _query(pg)["metric"] == "visits"
    assert pg.locator("#stat-visits.current").count() == 1
    assert "Visits" in pg.locator("#timeseries h2").inner_text()
    # drag over 10:05-10:55 of the day: the URL zooms to the newsletter hour
    over = pg.locator("#web-chart .u-over").bounding_box()
    y = over["y"] + over["height"] / 2
    x0 = over["x"] + over["width"] * (10 + 5 / 60) / 24
    x1 = over["x"] + over["width"] * (10 + 55 / 60) / 24
    with pg.expect_navigation():
        pg.mouse.move(x0, y)
        pg.mouse.down()
        pg.mouse.move((x0 + x1) / 2, y, steps=5)
        pg.mouse.move(x1, y, steps=5)
        pg.mouse.up()
    q = _query(pg)
    assert (q["from"], q["to"], q["metric"]) == ("2024-05-20T10:00:00Z", "2024-05-20T11:00:00Z", "visits")
    assert pg.locator("#stat-pageviews .value").inner_text() == "5"
    assert pg.locator("#stat-visits .value").inner_text() == "4"
    # group by page
    pg.select_option("#options-form select[name=group]", "path")
    pg.wait_for_url(re.compile(r"group=path"))
    assert pg.locator("#breakdown tbody tr").count() == 3
    # click a page in Top pages: the referrers panel shows that page's sources only
    assert pg.locator("#referrers tbody tr").count() == 3
    pg.locator("#top-pages a", has_text="/blog/launch").first.click()
    pg.wait_for_url(re.compile(r"path=%2Fblog%2Flaunch"))
    assert pg.locator("#referrers tbody td.label").all_inner_texts() == ["newsletter", "news.ycombinator.com"]
    assert pg.locator("#filters [data-filter=path]").count() == 1
    # reload: the same view
    pg.reload()
    assert pg.locator("#referrers tbody td.label").all_inner_texts() == ["newsletter", "news.ycombinator.com"]
    assert pg.locator("#breakdown tbody tr").count() == 1
    # remove the filter
    pg.click("#filters [data-filter=path] a.remove")
    pg.wait_for_load_state("load")
    assert "path" not in _query(pg)
    assert pg.locator("#stat-pageviews .value").inner_text() == "5"


def test_browser_time_inputs_and_presets(wpage):
    pg = wpage
    pg.fill("#time-form input[name=from]", "2024-05-20T08:00Z")
    pg.fill("#time-form input[name=to]", "2024-05-20T09:00Z")
    pg.click("#time-form button[type=submit]")
    pg.wait_for_url(re.compile(r"to=2024-05-20T09"))
    assert pg.locator("#stat-pageviews .value").inner_text() == "3"
    pg.click(".presets a[data-range='30d']")
    pg.wait_for_url(re.compile(r"range=30d"))
    assert "from" not in _query(pg)


def test_browser_markup_stays_text(wpage, web_url):
    pg = wpage
    pg.goto(web_url + "/web?from=2024-05-21T00:00Z&to=2024-05-22T00:00Z&group=utm_source")
    pg.wait_for_selector("#web-chart[data-ready]")
    assert pg.locator("#top-pages td.label a").first.inner_text() == "/" + XSS + XSS_IMG
    assert pg.locator("#breakdown td.label").first.inner_text() == XSS
    assert pg.locator("#referrers td.label").first.inner_text() == "evil.test" + XSS_IMG.lower()
    assert pg.locator("img").count() == 0
    # filtering on it round-trips through the URL, still as text
    pg.locator("#top-pages td.label a").first.click()
    pg.wait_for_load_state("load")
    assert pg.locator("#filters [data-filter=path] strong").inner_text() == "/" + XSS + XSS_IMG
    assert pg.locator("#stat-pageviews .value").inner_text() == "1"


def test_browser_on_the_demo_lake(page, console_url):
    """The demo's traffic in the browser: no JavaScript error or CSP violation (the
    shared `page` fixture fails the test on any)."""
    page.goto(console_url + "/web?range=30d&bucket=day&group=path")
    assert page.title() == "Web analytics · eventlake"
    assert page.locator("header nav a.active").inner_text() == "Web analytics"
    if page.locator("#web-series").count():
        page.wait_for_selector("#web-chart[data-ready] .u-over")
