// Draws every <canvas data-series="key:Label,..."> of the page from the JSON in
// #backoffice-chart-data ({labels: [...], series: {key: [...]}}). No inline script: the admin's
// Content-Security-Policy allows scripts from this origin only.
(function () {
  "use strict";
  var COLORS = ["#417690", "#e0a030", "#50b36b", "#d94a4a", "#8a5cc2"];

  function draw() {
    var source = document.getElementById("backoffice-chart-data");
    if (!source || typeof Chart === "undefined") {
      return;
    }
    var data = JSON.parse(source.textContent);
    var series = data.series || data;
    var labels = data.labels || [];
    document.querySelectorAll("canvas[data-series]").forEach(function (canvas) {
      var datasets = canvas.dataset.series.split(",").map(function (pair, index) {
        var parts = pair.split(":");
        var color = COLORS[index % COLORS.length];
        return {
          label: parts[1] || parts[0],
          data: series[parts[0]] || [],
          borderColor: color,
          backgroundColor: color,
          spanGaps: true,
          pointRadius: labels.length > 31 ? 0 : 2
        };
      });
      new Chart(canvas, {
        type: canvas.dataset.kind || "line",
        data: { labels: labels, datasets: datasets },
        options: {
          animation: false,
          responsive: true,
          aspectRatio: 2.2,
          interaction: { mode: "index", intersect: false },
          scales: { y: { beginAtZero: true, ticks: { precision: 0 } } },
          plugins: { legend: { position: "bottom" } }
        }
      });
    });
    document.body.dataset.chartsDrawn = "true";
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
