// eventlake web analytics: the time series (uPlot) and drag-to-zoom.
// The series comes from <script type="application/json" id="web-series">; dragging over
// the chart navigates to the same view with the selected from/to (snapped to the
// chart's buckets), so a zoomed view is a URL like any other.
(function () {
  "use strict";
  var el = document.getElementById("web-chart");
  var s = window.eventlake && window.eventlake.data("web-series");
  if (!el || !s || !s.x || !s.x.length || typeof uPlot === "undefined") return;

  var STEP = { hour: 3600, day: 86400 };
  var MIN_SPAN = 60;

  function isoSeconds(t) {
    return new Date(t * 1000).toISOString().replace(/\.\d{3}Z$/, "Z");
  }

  // the selected range, snapped outwards to whole buckets (hours or days; days for weeks
  // and months), kept inside the current range
  function snap(a, b) {
    var step = STEP[s.bucket_size] || 86400;
    var lo = Math.floor(a / step) * step;
    var hi = Math.ceil(b / step) * step;
    if (hi <= lo) hi = lo + step;
    lo = Math.max(lo, s.from);
    hi = Math.min(hi, s.to);
    return hi - lo >= MIN_SPAN ? [lo, hi] : null;
  }

  function zoomTo(lo, hi) {
    var params = new URLSearchParams(window.location.search);
    params.delete("range");
    params.set("from", isoSeconds(lo));
    params.set("to", isoSeconds(hi));
    el.setAttribute("data-zooming", isoSeconds(lo) + "/" + isoSeconds(hi));
    window.location.assign(window.location.pathname + "?" + params.toString());
  }

  var color = s.metric === "visits" ? "#067647" : "#2f6fde";
  var fill = s.metric === "visits" ? "rgba(6,118,71,0.12)" : "rgba(47,111,222,0.12)";
  var stepped = uPlot.paths && uPlot.paths.stepped ? uPlot.paths.stepped({ align: 1 }) : undefined;

  function width() {
    return Math.max(300, el.clientWidth || 800);
  }

  var opts = {
    width: width(),
    height: 260,
    tzDate: function (ts) { return uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"); },
    cursor: { drag: { x: true, y: false, setScale: false }, points: { show: false } },
    select: { show: true },
    scales: { x: { time: true, range: function () { return [s.from, s.to]; } }, y: { range: function (u, min, max) { return [0, Math.max(1, max) * 1.1]; } } },
    legend: { show: true },
    series: [
      { label: "UTC", value: function (u, v) { return v == null ? "" : isoSeconds(v).replace("T", " ").replace(":00Z", " UTC"); } },
      { label: s.label, stroke: color, fill: fill, width: 2, paths: stepped, points: { show: false },
        value: function (u, v) { return v == null ? "" : v.toLocaleString("en-US"); } }
    ],
    axes: [
      { values: function (u, splits, ai, space, incr) {
        return splits.map(function (t) {
          var d = isoSeconds(t);  // YYYY-MM-DDTHH:MM:SSZ
          if (incr >= 28 * 86400) return d.slice(0, 7);
          if (incr >= 86400 || d.slice(11, 16) === "00:00") return d.slice(5, 10);
          return d.slice(11, 16);
        });
      } },
      { size: 50, values: function (u, splits) {
        return splits.map(function (v) { return Number.isInteger(v) ? v.toLocaleString("en-US") : ""; });
      } }
    ],
    hooks: {
      setSelect: [function (u) {
        if (u.select.width < 3) return;
        var a = u.posToVal(u.select.left, "x");
        var b = u.posToVal(u.select.left + u.select.width, "x");
        var r = snap(a, b);
        u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
        if (r) zoomTo(r[0], r[1]);
      }]
    }
  };
  var values = s.metric === "visits" ? s.visits : s.pageviews;
  var chart = new uPlot(opts, [s.x, values], el);
  el.setAttribute("data-ready", "1");

  var resizing = null;
  window.addEventListener("resize", function () {
    clearTimeout(resizing);
    resizing = setTimeout(function () { chart.setSize({ width: width(), height: 260 }); }, 100);
  });
})();
