-- name: web_overview
-- description: Web analytics over time: page views, visits and views per visit per hour, day, week or month of a time range (bucket auto: hourly up to 2 days, daily up to 90 days, weekly beyond), every bucket of the range listed.
-- category: web
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
-- param: bucket str auto Bucket size: auto, hour, day, week or month
--
-- A page view is an event of type page; a visit is a page view with visit_start (its
-- referrer is not the same site), so visits count entries, without any per-visitor state.
-- The range is start_time (inclusive) to end_time (exclusive), UTC; only the event_date
-- partitions of the range are read. Filters (all web insights take the same ones) compare
-- with the values as reported: empty or unknown values are (none); a page view's source is
-- its referrer_host (for pages after the first of a visit, the site itself), else its
-- utm_source, else (direct).
--
-- Buckets are UTC clock hours, days, ISO weeks (from Monday) and calendar months; the first
-- bucket is the one holding start_time, so it (and the last) may cover the range only in
-- part. auto picks hour when end_time - start_time is at most 2 days, day up to 90 days and
-- week beyond. Buckets without page views are listed with zeros (views_per_visit NULL), but
-- when no page view at all passes the filters there are no rows. An unknown bucket value
-- gives no rows.
WITH pv AS (
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
),
size AS (
    SELECT
        CASE
            WHEN $bucket IN ('hour', 'day', 'week', 'month') THEN $bucket
            WHEN $bucket <> 'auto' THEN NULL
            WHEN epoch($end_time) - epoch($start_time) <= 2 * 86400 THEN 'hour'
            WHEN epoch($end_time) - epoch($start_time) <= 90 * 86400 THEN 'day'
            ELSE 'week'
        END AS bucket_size,
        epoch($end_time) - epoch($start_time) AS seconds
),
offsets AS (
    -- enough buckets to cover the range from the start of the first one (months: 28 days at least)
    SELECT
        bucket_size,
        unnest(generate_series(0, CAST(floor(seconds / CASE bucket_size WHEN 'hour' THEN 3600 WHEN 'day' THEN 86400
                                                                        WHEN 'week' THEN 604800 ELSE 2419200 END) AS BIGINT) + 1)) AS k
    FROM size
    WHERE bucket_size IS NOT NULL AND seconds > 0
),
buckets AS (
    SELECT
        bucket_size,
        CASE bucket_size
            WHEN 'hour' THEN date_trunc('hour', $start_time) + k * INTERVAL 1 HOUR
            WHEN 'day' THEN date_trunc('day', $start_time) + k * INTERVAL 1 DAY
            WHEN 'week' THEN date_trunc('week', $start_time) + k * INTERVAL 7 DAY
            ELSE date_trunc('month', $start_time) + k * INTERVAL 1 MONTH
        END AS bucket,
        CASE bucket_size
            WHEN 'hour' THEN date_trunc('hour', $start_time) + (k + 1) * INTERVAL 1 HOUR
            WHEN 'day' THEN date_trunc('day', $start_time) + (k + 1) * INTERVAL 1 DAY
            WHEN 'week' THEN date_trunc('week', $start_time) + (k + 1) * INTERVAL 7 DAY
            ELSE date_trunc('month', $start_time) + (k + 1) * INTERVAL 1 MONTH
        END AS bucket_end
    FROM offsets
)
SELECT
    b.bucket,
    b.bucket_size,
    count(v.ts) AS pageviews,
    count(CASE WHEN v.visit_start THEN 1 END) AS visits,
    round(count(v.ts) / nullif(count(CASE WHEN v.visit_start THEN 1 END), 0), 2) AS views_per_visit
FROM buckets b
CROSS JOIN (SELECT count(*) AS n FROM views) seen
LEFT JOIN views v ON v.ts >= b.bucket AND v.ts < b.bucket_end
WHERE b.bucket < $end_time AND seen.n > 0
GROUP BY b.bucket, b.bucket_size
ORDER BY b.bucket
