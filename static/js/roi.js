/* Return on investment: costs and measured gains per month as bars, ROI % as a line on
   its own axis, drawn with the vendored Chart.js from the JSON the page embeds
   (#roi-data). The table under the chart gives every figure. */
(function () {
  "use strict";

  function draw() {
    var source = document.getElementById("roi-data");
    var canvas = document.getElementById("chart-roi");
    if (!source || !canvas || typeof Chart === "undefined") { return; }
    var data = JSON.parse(source.textContent);
    var money = function (value) { return value === null ? "—" : value.toFixed(2) + " " + data.currency; };
    return new Chart(canvas, {
      data: {
        labels: data.months,
        datasets: [
          { type: "bar", label: data.labels.costs, data: data.costs, backgroundColor: "#9ca3af", yAxisID: "y" },
          { type: "bar", label: data.labels.gains, data: data.gains, backgroundColor: "#2f5bea", yAxisID: "y" },
          { type: "line", label: data.labels.roi, data: data.roi, borderColor: "#b45309", backgroundColor: "#b45309",
            pointRadius: 4, spanGaps: false, yAxisID: "roi" }
        ]
      },
      options: {
        responsive: true, maintainAspectRatio: false, animation: false,
        interaction: { mode: "index", intersect: false },
        scales: {
          y: { title: { display: true, text: data.currency } },
          roi: { position: "right", grid: { drawOnChartArea: false }, title: { display: true, text: data.labels.roi } }
        },
        plugins: {
          tooltip: { callbacks: { label: function (ctx) {
            if (ctx.dataset.yAxisID === "roi") {
              return ctx.dataset.label + ": " + (ctx.raw === null ? data.labels.noCosts : ctx.raw.toFixed(1) + " %");
            }
            return ctx.dataset.label + ": " + money(ctx.raw);
          } } }
        }
      }
    });
  }

  document.addEventListener("DOMContentLoaded", draw);
})();
