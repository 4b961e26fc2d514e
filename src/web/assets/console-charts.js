/*
 * Live line charts for the Tabula console, on uPlot (loaded before this file as the global
 * `uPlot`), and the number formats the pages share with them. A chart keeps at most CHART_POINTS_MAX points and redraws on every push; the number of
 * points drawn is mirrored in the container's `data-points` attribute, which tests read.
 */

(() => {
  const CHART_POINTS_MAX = 300;
  const CHART_HEIGHT_PX = 190;
  const PALETTE = ['#2f6fde', '#d64545', '#1f9d55', '#d9822b', '#8a4bd6'];
  /** Tick spacings of the time axis, in seconds: never finer than a second. */
  const TIME_INCREMENTS_S = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1800, 3600];

  /** A time of day, HH:MM:SS, from seconds since the epoch. */
  function clock(seconds) {
    return new Date(seconds * 1000).toTimeString().slice(0, 8);
  }

  /** A compact number: 1234 -> 1.23k. */
  function compact(value) {
    if (value === null || value === undefined || Number.isNaN(value)) return '–';
    const abs = Math.abs(value);
    if (abs >= 1e9) return `${(value / 1e9).toFixed(2)}G`;
    if (abs >= 1e6) return `${(value / 1e6).toFixed(2)}M`;
    if (abs >= 1e3) return `${(value / 1e3).toFixed(2)}k`;
    if (abs >= 10 || abs === 0) return value.toFixed(abs >= 100 || abs === 0 ? 0 : 1);
    return value.toFixed(2);
  }

  /** A byte count with a binary unit: 1536 -> 1.5 KiB. */
  function bytes(n) {
    if (n < 1024) return `${n} B`;
    const units = ['KiB', 'MiB', 'GiB', 'TiB'];
    let value = n / 1024;
    let unit = 0;
    while (value >= 1024 && unit < units.length - 1) {
      value /= 1024;
      unit++;
    }
    return `${value.toFixed(value >= 100 ? 0 : 1)} ${units[unit]}`;
  }

  /**
   * A chart of `series` ({ label, value: (point) => number }) over time, in `container`.
   * `unit` is appended to values in the legend.
   */
  class LiveChart {
    constructor(container, series, unit) {
      this.container = container;
      this.series = series;
      this.data = [[], ...series.map(() => [])];
      const width = Math.max(container.clientWidth, 300);
      const opts = {
        width,
        height: CHART_HEIGHT_PX,
        cursor: { drag: { x: false, y: false } },
        scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(max * 1.1, 1)] } },
        axes: [
          { stroke: '#667085', space: 70, incrs: TIME_INCREMENTS_S, values: (_u, ticks) => ticks.map(clock) },
          { stroke: '#667085', size: 56, values: (_u, ticks) => ticks.map(compact) },
        ],
        series: [
          {},
          ...series.map((s, i) => ({
            label: s.label,
            stroke: PALETTE[i % PALETTE.length],
            width: 2,
            points: { show: false },
            value: (_u, v) => `${compact(v)}${unit}`,
          })),
        ],
      };
      this.plot = new uPlot(opts, this.data, container);
      this.container.dataset.points = '0';
      this.onResize = () =>
        this.plot.setSize({ width: Math.max(container.clientWidth, 300), height: CHART_HEIGHT_PX });
      window.addEventListener('resize', this.onResize);
    }

    /** Replaces the points drawn. */
    reset(points) {
      this.data = [[], ...this.series.map(() => [])];
      for (const point of points.slice(-CHART_POINTS_MAX)) this.append(point);
      this.redraw();
    }

    /** Adds one point and redraws. */
    push(point) {
      this.append(point);
      if (this.data[0].length > CHART_POINTS_MAX) for (const column of this.data) column.shift();
      this.redraw();
    }

    append(point) {
      this.data[0].push(point.timeSeconds);
      this.series.forEach((s, i) => {
        this.data[i + 1].push(s.value(point));
      });
    }

    redraw() {
      this.plot.setData(this.data);
      this.container.dataset.points = String(this.data[0].length);
    }
  }

  window.TabulaCharts = { LiveChart, compact, bytes };
})();
