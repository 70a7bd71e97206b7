// eventlake admin console: draws the daily charts (uPlot) from their JSON data blocks and
// submits the controls when the inactivity number changes (app.js handles selects and dates).
(function () {
  "use strict";
  var COLORS = ["#1d232b", "#2f6fde", "#e8590c", "#067647", "#9c36b5", "#b42318", "#0b7285"];

  function draw(el) {
    var data = window.eventlake.data(el.getAttribute("data-chart"));
    if (!data || !window.uPlot) return;
    var series = [{}], columns = [data.x];
    data.series.forEach(function (s, i) {
      series.push({ label: s.label, stroke: COLORS[i % COLORS.length], width: i === 0 ? 2 : 1.5,
                    points: { show: data.x.length <= 45 } });
      columns.push(s.values);
    });
    var opts = {
      width: Math.max(el.clientWidth, 300), height: 260, series: series,
      scales: { x: { time: true }, y: { range: function (u, min, max) { return [0, Math.max(max, 1) * 1.1]; } } },
      axes: [{}, { size: 50 }],
      legend: { live: true }
    };
    el.textContent = "";
    var plot = new window.uPlot(opts, columns, el);
    el.setAttribute("data-drawn", "true");
    var resize = function () { plot.setSize({ width: Math.max(el.clientWidth, 300), height: 260 }); };
    window.addEventListener("resize", resize);
  }

  document.querySelectorAll("[data-chart]").forEach(draw);

  // the inactivity window is a number: submit on change (blur or Enter), like the selects
  document.querySelectorAll("form.admin-controls input[type=number]").forEach(function (input) {
    input.addEventListener("change", function () {
      if (!input.checkValidity()) return;
      var form = input.form;
      form.requestSubmit ? form.requestSubmit() : form.submit();
    });
  });
})();
