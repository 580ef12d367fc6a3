// Draws the 保存状态 charts from the JSON the server embedded in the page (no inline script, CSP-safe).
(function () {
  var data = JSON.parse(document.getElementById("preservation-data").textContent);
  var red = "rgba(155, 28, 28, 0.75)", green = "rgba(4, 108, 78, 0.7)";
  var shades = ["rgba(4,108,78,0.8)", "rgba(4,108,78,0.55)", "rgba(29,78,216,0.55)", "rgba(217,119,6,0.7)",
                "rgba(155,28,28,0.6)", "rgba(120,120,120,0.6)"];
  Chart.defaults.font.family = '"Noto Sans CJK SC","WenQuanYi Micro Hei",sans-serif';
  Chart.defaults.animation = false;
  var names = data.roots.map(function (r) { return r.name; });
  new Chart(document.getElementById("chart-lag"), {
    type: "bar",
    data: { labels: names, datasets: [{ label: "待复制", data: data.roots.map(function (r) { return r.queued; }), backgroundColor: red }] },
    options: { plugins: { legend: { display: false } } }
  });
  new Chart(document.getElementById("chart-coverage"), {
    type: "bar",
    data: { labels: names, datasets: [{ label: "覆盖率 (%)", data: names.map(function (n) { return +((data.coverage[n] || 0) * 100).toFixed(1); }), backgroundColor: green }] },
    options: { plugins: { legend: { display: false } }, scales: { y: { min: 0, max: 100 } } }
  });
  new Chart(document.getElementById("chart-age"), {
    type: "bar",
    data: { labels: names,
            datasets: data.age_labels.map(function (label, i) {
              return { label: label, data: names.map(function (n) { return data.ages[n][label]; }), backgroundColor: shades[i % shades.length], stack: "s" };
            }) },
    options: { scales: { x: { stacked: true }, y: { stacked: true } } }
  });
  new Chart(document.getElementById("chart-repairs"), {
    type: "bar",
    data: { labels: data.repairs_by_month.map(function (m) { return m.month; }),
            datasets: [{ label: "修复", data: data.repairs_by_month.map(function (m) { return m.count; }), backgroundColor: red }] },
    options: { plugins: { legend: { display: false } } }
  });
  var m = data.migrations, c = data.carriers;
  new Chart(document.getElementById("chart-migrations"), {
    type: "bar",
    data: { labels: m.by_month.map(function (r) { return r.month; }),
            datasets: [{ label: "已迁移", data: m.by_month.map(function (r) { return r.done; }), backgroundColor: green, stack: "s" },
                       { label: "失败", data: m.by_month.map(function (r) { return r.failed; }), backgroundColor: red, stack: "s" }] },
    options: { maintainAspectRatio: false, scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true } } }
  });
  new Chart(document.getElementById("chart-pending"), {
    type: "bar",
    data: { labels: m.pending_by_rule.map(function (r) { return r.name; }),
            datasets: [{ label: "待迁移", data: m.pending_by_rule.map(function (r) { return r.count; }), backgroundColor: shades[3] }] },
    options: { indexAxis: "y", maintainAspectRatio: false, plugins: { legend: { display: false } } }
  });
  new Chart(document.getElementById("chart-carriers"), {
    type: "bar",
    data: { labels: c.by_location.map(function (r) { return r.location; }),
            datasets: [{ label: "到期待检", data: c.by_location.map(function (r) { return r.due; }), backgroundColor: shades[3], stack: "s" },
                       { label: "上次未通过", data: c.by_location.map(function (r) { return r.failed; }), backgroundColor: red, stack: "s" },
                       { label: "正常", data: c.by_location.map(function (r) { return r.ok; }), backgroundColor: green, stack: "s" }] },
    options: { maintainAspectRatio: false, scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true } } }
  });
})();
