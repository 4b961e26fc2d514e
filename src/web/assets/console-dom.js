/*
 * The DOM helpers both consoles' pages share (console.js, cluster-console.js): elements built with
 * every server value as text (textContent, never HTML), stat cards, panels, chart panels and lists.
 * Loaded after console-charts.js, before the page scripts.
 */

(() => {
  const { LiveChart } = window.TabulaCharts;

  /** An element with attributes and children (strings become text nodes). */
  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs)) {
      if (key === 'text') node.textContent = value;
      else node.setAttribute(key, value);
    }
    for (const child of children) node.append(child);
    return node;
  }

  /** A row of stat cards; returns a function that sets them by key. */
  function cards(parent, defs) {
    const values = new Map();
    const row = el('div', { class: 'cards' });
    for (const [key, label] of defs) {
      const value = el('div', { class: 'value', 'data-stat': key, text: '–' });
      values.set(key, value);
      row.append(el('div', { class: 'card' }, el('div', { class: 'label', text: label }), value));
    }
    parent.append(row);
    return (key, text) => {
      values.get(key).textContent = text;
    };
  }

  function panel(parent, title, ...children) {
    const node = el('section', { class: 'panel' }, el('h2', { text: title }), ...children);
    parent.append(node);
    return node;
  }

  function chartPanel(parent, title, id, series, unit) {
    const box = el('div', { class: 'chart', id });
    parent.append(el('section', { class: 'panel' }, el('h2', { text: title }), box));
    return () => new LiveChart(box, series, unit);
  }

  function listTable(headers, rows) {
    const head = el(
      'tr',
      {},
      ...headers.map(([h, cls]) => el('th', cls ? { class: cls, text: h } : { text: h })),
    );
    const body = el('tbody');
    for (const cells of rows) {
      body.append(el('tr', {}, ...cells.map(([c, cls]) => el('td', cls ? { class: cls } : {}, c))));
    }
    return el('table', { class: 'list' }, el('thead', {}, head), body);
  }

  /**
   * Follows the event stream of the overview or of table `tableId`: `hello` resets the page's
   * charts and shows its view, each `sample` pushes a point and shows the view again (a null view:
   * the table does not exist); the header's live badge says which.
   */
  function connectLive(main, page, tableId) {
    const live = document.getElementById('live');
    const show = (view, point) => {
      if (view !== null) return page.view(view, point);
      main.replaceChildren(
        el('h1', { text: tableId }),
        el('p', { class: 'error', text: 'This table does not exist.' }),
      );
    };
    const query = tableId === undefined ? '' : `?table=${encodeURIComponent(tableId)}`;
    const source = new EventSource(`/api/events${query}`);
    source.addEventListener('hello', (e) => {
      const data = JSON.parse(e.data);
      live.textContent = 'live';
      live.classList.add('on');
      for (const chart of page.charts) chart.reset(data.points);
      const lastPoint = data.points[data.points.length - 1];
      if (lastPoint) page.point(lastPoint);
      show(data.view, lastPoint);
    });
    source.addEventListener('sample', (e) => {
      const data = JSON.parse(e.data);
      for (const chart of page.charts) chart.push(data.point);
      page.point(data.point);
      show(data.view, data.point);
      live.textContent = `live · ${new Date(data.point.timeSeconds * 1000).toLocaleTimeString()}`;
      live.classList.add('on');
    });
    source.addEventListener('error', () => {
      live.textContent = 'reconnecting…';
      live.classList.remove('on');
    });
    return source;
  }

  window.TabulaDom = { el, cards, panel, chartPanel, listTable, connectLive };
})();
