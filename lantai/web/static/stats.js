// Draws the 统计 charts from the JSON the server embedded in the page (no inline script, CSP-safe).
(function () {
  var data = JSON.parse(document.getElementById("stats-data").textContent);
  var red = "rgba(155, 28, 28, 0.75)", blue = "rgba(29, 78, 216, 0.7)";
  Chart.defaults.font.family = '"Noto Sans CJK SC","WenQuanYi Micro Hei",sans-serif';
  Chart.defaults.animation = false;
  function bar(id, facet, horizontal) {
    var values = data.facets[facet].values;
    new Chart(document.getElementById(id), {
      type: "bar",
      data: { labels: values.map(function (v) { return v.name || (v.value === "" ? "（空）" : String(v.value)); }),
              datasets: [{ label: "件数", data: values.map(function (v) { return v.count; }), backgroundColor: red }] },
      // every bar named on its axis (Chart.js would skip labels when crowded); the figures table beside it has the counts
      options: { indexAxis: horizontal ? "y" : "x", maintainAspectRatio: false, plugins: { legend: { display: false } },
                 scales: horizontal ? { y: { ticks: { autoSkip: false } } } : { x: { ticks: { autoSkip: false } } } }
    });
  }
  bar("chart-fonds_code", "fonds_code", true);
  bar("chart-year", "year");
  bar("chart-retention", "retention");
  bar("chart-document_type", "document_type", true);
  bar("chart-organisation", "organisation", true);
  // Growth starts from nothing: the month before the first holds 0, so one month of holdings draws a line, not a dot.
  var growth = data.growth.slice();
  if (growth.length) {
    var first = growth[0].month.split("-"), y = +first[0], m = +first[1] - 1;
    if (m === 0) { y -= 1; m = 12; }
    growth.unshift({ month: y + "-" + (m < 10 ? "0" : "") + m, cumulative_items: 0, cumulative_bytes: 0 });
  }
  new Chart(document.getElementById("chart-growth"), {
    type: "line",
    data: { labels: growth.map(function (g) { return g.month; }),
            datasets: [{ label: "累计件数", data: growth.map(function (g) { return g.cumulative_items; }), borderColor: red, yAxisID: "y" },
                       { label: "累计存储 (MB)", data: growth.map(function (g) { return +(g.cumulative_bytes / 1048576).toFixed(2); }), borderColor: blue, yAxisID: "y1" }] },
    options: { maintainAspectRatio: false, scales: { y: { position: "left" }, y1: { position: "right", grid: { drawOnChartArea: false } } } }
  });
  new Chart(document.getElementById("chart-checks"), {
    type: "bar",
    data: { labels: data.checks.map(function (c) { return c.month; }),
            datasets: [{ label: "通过", data: data.checks.map(function (c) { return c.accepted; }), backgroundColor: "rgba(4,108,78,0.7)", stack: "s" },
                       { label: "拒收", data: data.checks.map(function (c) { return c.rejected; }), backgroundColor: red, stack: "s" }] },
    options: { maintainAspectRatio: false, scales: { x: { stacked: true }, y: { stacked: true } } }
  });
})();
