// Chart.js, bundled (tree-shaken to the bar and doughnut charts used here); no CDN, no runtime fetch.
import { BarController, BarElement, CategoryScale, Chart, DoughnutController, ArcElement, Legend, LinearScale, Tooltip } from "chart.js";

Chart.register(BarController, BarElement, CategoryScale, LinearScale, DoughnutController, ArcElement, Legend, Tooltip);

const palette = ["#1f5fbf", "#b3541e", "#2e7d32", "#6a3d9a", "#c62828", "#00838f", "#8d6e00", "#4e342e"];

const live = new Set();

/** Destroys every chart of the previous view (a view change replaces the DOM). */
export function destroyCharts() {
  for (const chart of live) {
    chart.destroy();
  }
  live.clear();
}

/** A chart in a labelled figure; the same numbers are in the table next to it for screen readers. */
export function chartFigure(id, title, kind, labels, values) {
  const canvas = document.createElement("canvas");
  canvas.id = id;
  canvas.setAttribute("role", "img");
  canvas.setAttribute("aria-label", `${title}: ${labels.map((l, i) => `${l} ${values[i]}`).join(", ") || "no data"}`);
  const figure = document.createElement("figure");
  figure.className = "chart";
  figure.dataset.testid = id;
  const caption = document.createElement("figcaption");
  caption.textContent = title;
  const box = document.createElement("div");
  box.className = "chart-box";
  box.append(canvas);
  figure.append(caption, box);
  queueMicrotask(() => {
    const chart = new Chart(canvas, {
      type: kind,
      data: {
        labels,
        datasets: [{ label: title, data: values, backgroundColor: kind === "doughnut" ? palette : palette[0] }],
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        plugins: { legend: { display: kind === "doughnut", position: "bottom" } },
        scales: kind === "doughnut" ? {} : { y: { beginAtZero: true } },
      },
    });
    live.add(chart);
    canvas.dataset.rendered = "true";
  });
  return figure;
}
