-- fragment: web_views
-- The page views of a web insight: the time range and the global filters every web
-- insight takes (a console applies them to every panel). Defines the CTEs pv (page
-- views in the range, values as reported) and views (those that pass the filters).
-- param: start_time timestamp now-7d Start of the range (inclusive; UTC unless the value has an offset; now-3h style for relative)
-- param: end_time timestamp now End of the range (exclusive)
-- param: site str * Site (the page's host, e.g. www.example.com) to report on, or * for every site
-- param: path str * Only page views of this path (exact, e.g. /pricing; (none) for page views without one), or * for all
-- param: country str * Only visitors from this country (ISO 3166-1 alpha-2, e.g. DE; (none) for unknown), or * for all
-- param: device_type str * Only this device type (desktop, mobile, tablet, bot, other; (none) for unknown), or * for all
-- param: browser str * Only this browser (e.g. Chrome; (none) for unknown), or * for all
-- param: os str * Only this operating system (e.g. iOS; (none) for unknown), or * for all
-- param: referrer_host str * Only page views from this source as web_top_referrers names it (a referring host, a utm_source, or (direct)), or * for all
-- param: utm_source str * Only page views tagged with this utm_source ((none) for untagged ones), or * for all
--
-- A page view is an event of type page; a visit is a page view with visit_start (its
-- referrer is not the same site), so visits count entries, without any per-visitor state.
-- The range is start_time (inclusive) to end_time (exclusive), UTC; only the event_date
-- partitions of the range are read. Filters (all web insights take the same ones) compare
-- with the values as reported: empty or unknown values are (none); a page view's source is
-- its referrer_host (for pages after the first of a visit, the site itself), else its
-- utm_source, else (direct).
pv AS (
    SELECT
        e."timestamp" AS ts,
        coalesce(nullif(e.host, ''), '(none)') AS host,
        coalesce(nullif(e.path, ''), '(none)') AS path,
        coalesce(e.visit_start, false) AS visit_start,
        CASE
            WHEN nullif(e.referrer_host, '') IS NOT NULL THEN e.referrer_host
            WHEN nullif(e.utm_source, '') IS NOT NULL THEN e.utm_source
            ELSE '(direct)'
        END AS referrer_source,
        coalesce(nullif(e.utm_source, ''), '(none)') AS utm_source,
        coalesce(nullif(e.utm_medium, ''), '(none)') AS utm_medium,
        coalesce(nullif(e.utm_campaign, ''), '(none)') AS utm_campaign,
        coalesce(nullif(e.country, ''), '(none)') AS country,
        coalesce(nullif(e.device_type, ''), '(none)') AS device_type,
        coalesce(nullif(e.browser, ''), '(none)') AS browser,
        coalesce(nullif(e.os, ''), '(none)') AS os
    FROM events e
    WHERE e.type = 'page'
      AND e.event_date BETWEEN CAST($start_time AS DATE) AND CAST($end_time AS DATE)
      AND e."timestamp" >= $start_time
      AND e."timestamp" < $end_time
),
views AS (
    SELECT *
    FROM pv
    WHERE ($site = '*' OR host = $site)
      AND ($path = '*' OR path = $path)
      AND ($country = '*' OR country = $country)
      AND ($device_type = '*' OR device_type = $device_type)
      AND ($browser = '*' OR browser = $browser)
      AND ($os = '*' OR os = $os)
      AND ($referrer_host = '*' OR referrer_source = $referrer_host)
      AND ($utm_source = '*' OR utm_source = $utm_source)
)
