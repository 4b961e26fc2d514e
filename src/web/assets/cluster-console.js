/*
 * The Tabula cluster console's pages, drawn from the process's event stream (GET /api/events):
 * `hello` brings the live points and the view, `sample` a new point and the view, once a second.
 *
 * Routes: /  the cluster (master, servers and their tablets, tables, recent events)
 *         /tables/ID  a table's tablets: a heat map over the key space and time, and the list.
 *
 * The heat map is a canvas, so it stays readable with thousands of tablets: one row per tablet in
 * key order (top: the table's start), one column per sample (newest on the right), the colour the
 * tablet's writes per second against the hottest cell shown; a strip on the left shows each
 * tablet's owner. Hovering a cell names the tablet, its range, owner, size and rate. Columns are
 * kept in the page only (HEATMAP_COLUMNS_MAX); a page opened now starts with one.
 * Every value from the server is put in the page as text, never as HTML.
 */

(() => {
  const { compact, bytes } = window.TabulaCharts;
  const { el, cards, panel, chartPanel, listTable, connectLive } = window.TabulaDom;
  const HEATMAP_COLUMNS_MAX = 120;
  /** Pixels per tablet row while they fit between the smallest and the largest height. */
  const HEATMAP_ROW_PX = 6;
  const HEATMAP_HEIGHT_MIN_PX = 240;
  const HEATMAP_HEIGHT_MAX_PX = 720;
  const OWNER_STRIP_PX = 10;
  const EVENTS_SHOWN_MAX = 50;

  const tableHref = (id) => `/tables/${encodeURIComponent(id)}`;
  const clock = (timeMs) => new Date(timeMs).toTimeString().slice(0, 8);
  const sizeText = (n) => (n === null || n === undefined ? '–' : bytes(n));
  const rateText = (n) => (n === null || n === undefined ? '–' : compact(n));
  const range = (t) =>
    `[${t.startKey === '' ? '(start)' : t.startKey}, ${t.endKey === '' ? '(end)' : t.endKey})`;

  /** A stable hue per server id, for owner colours. */
  function ownerColour(id) {
    let h = 0;
    for (let i = 0; i < id.length; i++) h = (h * 31 + id.charCodeAt(i)) >>> 0;
    return `hsl(${h % 360}, 55%, 50%)`;
  }

  const EVENT_TEXT = {
    server_joined: (e) => `server ${e.server} joined`,
    server_left: (e) => `server ${e.server} left (session ended)`,
    tablet_assigned: (e) =>
      `tablet ${e.tableId}/${e.tabletDir} assigned to ${e.server} (epoch ${e.ownerEpoch})`,
    tablet_moved: (e) =>
      `tablet ${e.tableId}/${e.tabletDir} moved from ${e.fromServer} to ${e.server} (epoch ${e.ownerEpoch})`,
    tablet_failed_over: (e) =>
      `tablet ${e.tableId}/${e.tabletDir} failed over from ${e.fromServer} to ${e.server} (epoch ${e.ownerEpoch})`,
    tablet_unassigned: (e) => `tablet ${e.tableId}/${e.tabletDir} unassigned from ${e.server}`,
  };

  function eventList(events) {
    if (events.length === 0)
      return el('p', { class: 'empty', text: 'No events seen since this process started.' });
    const rows = events
      .slice(0, EVENTS_SHOWN_MAX)
      .map((e) => [[clock(e.timeMs), 'mono'], [e.kind.replace(/_/g, ' ')], [EVENT_TEXT[e.kind](e)]]);
    return el('div', { class: 'scroll' }, listTable([['Time'], ['Event'], ['What']], rows));
  }

  function route() {
    const parts = location.pathname.split('/').filter((p) => p.length > 0);
    if (parts[0] === 'tables' && parts.length >= 2)
      return { page: 'table', tableId: decodeURIComponent(parts[1]) };
    return { page: 'cluster', tableId: undefined };
  }

  // ---- the cluster ----------------------------------------------------------------------------

  function serverRows(servers) {
    return servers.map((s) => {
      const perTable = new Map();
      for (const t of s.tablets) perTable.set(t.tableId, (perTable.get(t.tableId) ?? 0) + 1);
      const held = [...perTable].map(([id, n]) => `${id}: ${n}`).join(', ');
      return [
        [el('span', {}, dot(s.id), s.id), 'mono'],
        [s.address, 'mono'],
        [el('span', { class: `state-${s.state}`, text: s.state })],
        [`${s.tabletsLoaded}/${s.tabletsAssigned}`, 'num'],
        [rateText(s.callsPerSecond), 'num'],
        [sizeText(s.dataBytes), 'num'],
        [held || '–'],
      ];
    });
  }

  function dot(id) {
    const d = el('span', { class: 'owner-dot' });
    d.style.background = ownerColour(id);
    return d;
  }

  function clusterPage(main) {
    const sub = el('p', { class: 'sub', text: '' });
    main.append(el('h1', { text: 'Cluster' }), sub);
    const set = cards(main, [
      ['epoch', 'Master epoch'],
      ['servers', 'Tablet servers'],
      ['tablets', 'Tablets'],
      ['tables', 'Tables'],
      ['ops', 'Calls/s here'],
      ['lag', 'Event-loop lag'],
    ]);
    const servers = panel(main, 'Tablet servers');
    const tables = panel(main, 'Tables');
    const events = panel(main, 'Recent events');
    const makeChart = chartPanel(
      main,
      'Calls per second (this process)',
      'chart-ops',
      [
        { label: 'calls', value: (p) => p.opsPerSecond },
        { label: 'errors', value: (p) => p.errorsPerSecond },
      ],
      '/s',
    );
    return {
      charts: [makeChart()],
      point(p) {
        set('ops', compact(p.opsPerSecond));
        set('lag', `${p.eventLoopLagP99Ms.toFixed(1)} ms`);
      },
      view(v) {
        sub.textContent = `Master ${v.masterAddress ?? '(none)'} · seen from ${v.role === 'master' ? 'the master' : `tablet server ${v.self}`}`;
        set('epoch', v.masterEpoch === null ? '–' : String(v.masterEpoch));
        set('servers', String(v.servers.filter((s) => s.state !== 'gone').length));
        set('tablets', String(v.tabletCount));
        set('tables', String(v.tables.length));
        servers.replaceChildren(
          servers.firstChild,
          v.servers.length === 0
            ? el('p', { class: 'empty', text: 'No tablet server registered.' })
            : listTable(
                [
                  ['Server'],
                  ['Address'],
                  ['State'],
                  ['Tablets loaded/assigned', 'num'],
                  ['Calls/s', 'num'],
                  ['Size', 'num'],
                  ['Tablets by table'],
                ],
                serverRows(v.servers),
              ),
        );
        const tableRows = v.tables.map((t) => [
          [el('a', { href: tableHref(t.tableId), text: t.tableId })],
          [String(t.tablets), 'num'],
          [bytes(t.dataBytes), 'num'],
          [compact(t.writesPerSecond), 'num'],
        ]);
        tables.replaceChildren(
          tables.firstChild,
          tableRows.length === 0
            ? el('p', { class: 'empty', text: 'No tables yet.' })
            : listTable([['Table'], ['Tablets', 'num'], ['Size', 'num'], ['Writes/s', 'num']], tableRows),
        );
        events.replaceChildren(events.firstChild, eventList(v.events));
      },
    };
  }

  // ---- a table --------------------------------------------------------------------------------

  /** The heat map: columns of { rates: Map(tabletDir -> writes/s) }, tablets in key order. */
  function heatMap(parent) {
    const canvas = el('canvas', { class: 'heatmap', id: 'heatmap', height: String(HEATMAP_HEIGHT_MIN_PX) });
    const legend = el('div', { class: 'heat-legend' });
    const hover = el('p', { class: 'sub mono', id: 'heatmap-hover', text: 'Hover the map for a tablet.' });
    parent.append(canvas, legend, hover);
    const columns = [];
    let tablets = [];
    let hottest = 1;
    const geometry = () => {
      const width = canvas.clientWidth || 800;
      const cols = Math.max(1, columns.length);
      const rows = Math.max(1, tablets.length);
      const height = Math.min(HEATMAP_HEIGHT_MAX_PX, Math.max(HEATMAP_HEIGHT_MIN_PX, rows * HEATMAP_ROW_PX));
      return { width, height, colW: (width - OWNER_STRIP_PX) / cols, rowH: height / rows };
    };
    function draw() {
      const { width, height, colW, rowH } = geometry();
      canvas.width = width;
      canvas.height = height;
      canvas.dataset.tablets = String(tablets.length);
      canvas.dataset.columns = String(columns.length);
      const ctx = canvas.getContext('2d');
      ctx.clearRect(0, 0, width, height);
      hottest = Math.max(1, ...columns.flatMap((c) => [...c.values()]));
      tablets.forEach((t, row) => {
        const y = row * rowH;
        const h = Math.max(1, rowH);
        ctx.fillStyle = ownerColour(t.server);
        ctx.fillRect(0, y, OWNER_STRIP_PX - 1, h);
        columns.forEach((c, col) => {
          const rate = c.get(t.tabletDir);
          const heat = rate === undefined ? 0 : Math.sqrt(rate / hottest);
          // Cold is pale blue, hot is deep red; no sample for the tablet (not yet born) is white.
          ctx.fillStyle =
            rate === undefined
              ? '#ffffff'
              : `hsl(${220 - 220 * heat}, ${35 + 50 * heat}%, ${92 - 45 * heat}%)`;
          ctx.fillRect(OWNER_STRIP_PX + col * colW, y, Math.ceil(colW), h);
        });
        if (rowH >= 4) {
          ctx.fillStyle = 'rgba(0, 0, 0, 0.15)';
          ctx.fillRect(OWNER_STRIP_PX, y, width - OWNER_STRIP_PX, 1);
        }
      });
      const first = tablets[0];
      const last = tablets[tablets.length - 1];
      legend.replaceChildren(
        el('span', {
          class: 'mono',
          text: `top: ${first && first.startKey !== '' ? first.startKey : '(start of table)'}`,
        }),
        el('span', {
          text: `colour: writes/s, hottest ${compact(hottest)} · left strip: owner · ${columns.length} samples`,
        }),
        el('span', {
          class: 'mono',
          text: `bottom: ${last && last.endKey !== '' ? last.endKey : '(end of table)'}`,
        }),
      );
    }
    canvas.addEventListener('mousemove', (e) => {
      const { colW, rowH } = geometry();
      const rect = canvas.getBoundingClientRect();
      const t = tablets[Math.floor((e.clientY - rect.top) / rowH)];
      const c = columns[Math.floor((e.clientX - rect.left - OWNER_STRIP_PX) / colW)];
      if (!t) return;
      const rate = c?.get(t.tabletDir);
      hover.textContent = `${t.tabletDir} rows ${range(t)} · owner ${t.server} (epoch ${t.ownerEpoch}) · ${sizeText(t.dataBytes)} · ${rate === undefined ? '–' : compact(rate)} writes/s`;
    });
    return (v) => {
      tablets = v.tablets;
      columns.push(new Map(v.tablets.map((t) => [t.tabletDir, t.writesPerSecond ?? 0])));
      if (columns.length > HEATMAP_COLUMNS_MAX) columns.shift();
      draw();
    };
  }

  function tabletRows(tablets) {
    return tablets.map((t) => [
      [t.startKey === '' ? '(start)' : t.startKey, 'mono'],
      [t.endKey === '' ? '(end)' : t.endKey, 'mono'],
      [el('span', {}, dot(t.server), t.server), 'mono'],
      [String(t.ownerEpoch), 'num'],
      [t.loaded ? 'yes' : 'opening'],
      [sizeText(t.dataBytes), 'num'],
      [rateText(t.writesPerSecond), 'num'],
    ]);
  }

  function tablePage(main, tableId) {
    const sub = el('p', { class: 'sub', text: '' });
    main.append(el('h1', { text: tableId }), sub);
    const map = panel(main, 'Key space heat map');
    const push = heatMap(map);
    const list = panel(main, 'Tablets');
    const families = panel(main, 'Column families');
    const history = panel(main, 'Tablet history (seen by this process)');
    return {
      charts: [],
      point() {},
      view(v) {
        const shown = v.tablets.length < v.tabletCount ? ` (the first ${v.tablets.length} shown)` : '';
        sub.textContent = `${v.tabletCount} ${v.tabletCount === 1 ? 'tablet' : 'tablets'}${shown} · created ${new Date(v.createdAtMs).toISOString().slice(0, 19).replace('T', ' ')} UTC`;
        push(v);
        list.replaceChildren(
          list.firstChild,
          el(
            'div',
            { class: 'scroll' },
            listTable(
              [
                ['Start key'],
                ['End key'],
                ['Owner'],
                ['Epoch', 'num'],
                ['Loaded'],
                ['Size', 'num'],
                ['Writes/s', 'num'],
              ],
              tabletRows(v.tablets),
            ),
          ),
        );
        families.replaceChildren(
          families.firstChild,
          listTable(
            [['Family'], ['GC rule']],
            v.families.map((f) => [
              [f.name, 'mono'],
              [f.gcRule, 'mono'],
            ]),
          ),
        );
        history.replaceChildren(history.firstChild, eventList(v.history));
      },
    };
  }

  // ---- wiring ---------------------------------------------------------------------------------

  function start() {
    const r = route();
    const nav = document.getElementById('crumbs');
    nav.replaceChildren(el('a', { href: '/', text: 'Cluster' }));
    if (r.tableId !== undefined) nav.append(' / ', el('a', { href: tableHref(r.tableId), text: r.tableId }));
    const main = document.getElementById('main');
    const page = r.page === 'cluster' ? clusterPage(main) : tablePage(main, r.tableId);
    connectLive(main, page, r.tableId);
  }

  start();
})();
