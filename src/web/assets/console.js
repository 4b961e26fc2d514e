/*
 * The Tabula console's pages, drawn in the browser from the server's event stream
 * (GET /api/events): `hello` brings the history of live points and the current view, `sample`
 * a new point and the view again, once a second. Nothing polls and nothing reloads the page.
 *
 * Routes (by path): /  overview · /tables/ID  a table · /tables/ID/storage  its tablets' storage.
 * Every value from the server is put in the page as text (textContent), never as HTML.
 */

(() => {
  const { compact, bytes } = window.TabulaCharts;
  const { el, cards, panel, chartPanel, listTable, connectLive } = window.TabulaDom;
  const MiB = 1024 * 1024;

  const percent = (ratio) => `${(ratio * 100).toFixed(1)}%`;
  const ms = (v) => `${v < 10 ? v.toFixed(2) : v.toFixed(0)} ms`;
  const tableHref = (id) => `/tables/${encodeURIComponent(id)}`;

  function route() {
    const parts = location.pathname.split('/').filter((p) => p.length > 0);
    if (parts[0] === 'tables' && parts.length >= 2) {
      const tableId = decodeURIComponent(parts[1]);
      return { page: parts[2] === 'storage' ? 'storage' : 'table', tableId };
    }
    return { page: 'overview', tableId: undefined };
  }

  function crumbs(r) {
    const nav = document.getElementById('crumbs');
    nav.replaceChildren(el('a', { href: '/', text: 'Overview' }));
    if (r.tableId === undefined) return;
    nav.append(' / ', el('a', { href: tableHref(r.tableId), text: r.tableId }));
    if (r.page === 'storage')
      nav.append(' / ', el('a', { href: `${tableHref(r.tableId)}/storage`, text: 'storage' }));
  }

  // ---- overview -------------------------------------------------------------------------------

  function overviewPage(main) {
    main.append(
      el('h1', { text: 'Overview' }),
      el('p', { class: 'sub', text: 'Live figures of this server.' }),
    );
    const set = cards(main, [
      ['tables', 'Tables'],
      ['tablets', 'Tablets'],
      ['data', 'Data size'],
      ['ops', 'Ops/s'],
      ['p99', 'Latency p99'],
      ['memtable', 'Memtables'],
      ['cache', 'Block cache hits'],
      ['lag', 'Event-loop lag'],
      ['rss', 'Memory (RSS)'],
    ]);
    const grid = el('div', { class: 'grid2' });
    main.append(grid);
    const makers = [
      chartPanel(
        grid,
        'Operations per second',
        'chart-ops',
        [
          { label: 'calls', value: (p) => p.opsPerSecond },
          { label: 'errors', value: (p) => p.errorsPerSecond },
          { label: 'rows read', value: (p) => p.rowsReadPerSecond },
          { label: 'rows written', value: (p) => p.rowsWrittenPerSecond },
        ],
        '/s',
      ),
      chartPanel(
        grid,
        'Latency',
        'chart-latency',
        [
          { label: 'p50', value: (p) => p.latencyP50Ms },
          { label: 'p99', value: (p) => p.latencyP99Ms },
        ],
        ' ms',
      ),
      chartPanel(
        grid,
        'Event-loop lag',
        'chart-lag',
        [
          { label: 'p99', value: (p) => p.eventLoopLagP99Ms },
          { label: 'max', value: (p) => p.eventLoopLagMaxMs },
        ],
        ' ms',
      ),
      chartPanel(
        grid,
        'Memory',
        'chart-memory',
        [
          { label: 'RSS', value: (p) => p.rssBytes / MiB },
          { label: 'heap used', value: (p) => p.heapUsedBytes / MiB },
        ],
        ' MiB',
      ),
    ];
    const tables = panel(main, 'Tables');
    const charts = makers.map((make) => make());
    return {
      charts,
      point(p) {
        set('ops', compact(p.opsPerSecond));
        set('p99', ms(p.latencyP99Ms));
        set('lag', ms(p.eventLoopLagP99Ms));
        set('rss', bytes(p.rssBytes));
      },
      view(v) {
        set('tables', String(v.tableCount));
        set('tablets', String(v.tabletCount));
        set('data', bytes(v.dataBytes));
        set('memtable', bytes(v.memtableBytes));
        set('cache', v.blockCache.hitRatio === 0 ? '–' : percent(v.blockCache.hitRatio));
        const rows = v.tables.map((t) => [
          [el('a', { href: tableHref(t.tableId), text: t.tableId })],
          [String(t.families), 'num'],
          [String(t.tablets), 'num'],
          [bytes(t.dataBytes), 'num'],
          [compact(t.requestsPerSecond), 'num'],
        ]);
        const content =
          rows.length === 0
            ? el('p', { class: 'empty', text: 'No tables yet: create one through the Bigtable admin API.' })
            : listTable(
                [['Table'], ['Families', 'num'], ['Tablets', 'num'], ['Size', 'num'], ['Calls/s', 'num']],
                rows,
              );
        tables.replaceChildren(tables.firstChild, content);
      },
    };
  }

  // ---- table ----------------------------------------------------------------------------------

  function tabletMap(tablets, tableId) {
    const total = tablets.reduce((n, t) => n + t.dataBytes, 0);
    const hottest = Math.max(1, ...tablets.map((t) => t.requestsPerSecond));
    const bar = el('div', { class: 'tablet-map', id: 'tablet-map' });
    for (const t of tablets) {
      const range = `[${t.startKey === '' ? '(start)' : t.startKey}, ${t.endKey === '' ? '(end)' : t.endKey})`;
      const seg = el(
        'a',
        { class: 'tablet', href: `${tableHref(tableId)}/storage`, title: `rows ${range}` },
        el('span', { class: 'size', text: bytes(t.dataBytes) }),
        el('span', { text: `${compact(t.requestsPerSecond)} calls/s` }),
      );
      seg.style.flexGrow = String(total === 0 ? 1 : Math.max(t.dataBytes / total, 0.02));
      seg.style.background = `hsl(${215 - 200 * (t.requestsPerSecond / hottest)}, 65%, 48%)`;
      bar.append(seg);
    }
    const first = tablets[0];
    const last = tablets[tablets.length - 1];
    const bounds = el(
      'div',
      { class: 'bounds' },
      el('span', {
        class: 'mono',
        text: first && first.startKey !== '' ? first.startKey : '(start of table)',
      }),
      el('span', { class: 'mono', text: last && last.endKey !== '' ? last.endKey : '(end of table)' }),
    );
    return el('div', {}, bar, bounds);
  }

  const clock = (timeMs) => new Date(timeMs).toISOString().replace('T', ' ').slice(0, 19);

  /** What the page says of splits and merges: what is true of the table now, then the history. */
  function historyContent(v) {
    const n = v.tablets.length;
    const h = v.history;
    const store =
      h.storeSplits === undefined
        ? ''
        : ` The store as a whole has split ${h.storeSplits} and merged ${h.storeMerges} times since it opened.`;
    const serving = `${n} ${n === 1 ? 'tablet serves' : 'tablets serve'} this table.`;
    if (h.entries.length === 0) {
      return [
        el('p', {
          class: 'empty',
          text: `${serving} No split or merge of this table seen since ${clock(h.sinceMs)} UTC.${store}`,
        }),
      ];
    }
    const rows = h.entries.map((e) => [[`${clock(e.timeMs)} UTC`], [e.kind], [e.rowKey, 'mono']]);
    return [
      el('p', { class: 'sub', text: `${serving}${store}` }),
      listTable([['Seen'], ['What'], ['At row']], rows),
    ];
  }

  function tablePage(main, tableId) {
    const title = el('h1', { text: tableId });
    const sub = el('p', { class: 'sub', text: '' });
    main.append(title, sub);
    const map = panel(main, 'Tablet map');
    const families = panel(main, 'Column families');
    const history = panel(main, 'Splits and merges');
    return {
      charts: [],
      point() {},
      view(v) {
        const created = new Date(v.createdAtMs).toISOString().replace('T', ' ').slice(0, 19);
        sub.textContent = `Created ${created} UTC · ${v.deletionProtection ? 'deletion protected' : 'not deletion protected'}`;
        map.replaceChildren(map.firstChild, tabletMap(v.tablets, tableId));
        const rows = v.families.map((f) => [
          [f.name, 'mono'],
          [f.gcRule, 'mono'],
        ]);
        families.replaceChildren(
          families.firstChild,
          rows.length === 0
            ? el('p', { class: 'empty', text: 'No column families.' })
            : listTable([['Family'], ['GC rule']], rows),
        );
        history.replaceChildren(history.firstChild, ...historyContent(v));
      },
    };
  }

  // ---- storage --------------------------------------------------------------------------------

  function tabletStorage(t) {
    const maxBytes = Math.max(1, ...t.levels.map((l) => l.bytes));
    const levelRows = t.levels.map((l) => {
      const fill = el('span');
      fill.style.width = `${(100 * l.bytes) / maxBytes}%`;
      return [
        [`L${l.level}`],
        [String(l.files), 'num'],
        [bytes(l.bytes), 'num'],
        [el('div', { class: 'bar' }, fill)],
      ];
    });
    const cache = t.blockCache;
    const lookups = cache.hits + cache.misses;
    const facts = [
      [
        'Memtable',
        `${bytes(t.memtableBytes)} · ${t.memtableEntries} entries · ${t.immutableMemtables} frozen`,
      ],
      ['Flushes', String(t.flushes)],
      ['Compactions', `${t.compactions} · ${bytes(t.compactionBytesWritten)} written`],
      [
        'Block cache',
        `${bytes(cache.usedBytes)} of ${bytes(cache.capacityBytes)} · hit rate ${lookups === 0 ? '–' : percent(cache.hits / lookups)}`,
      ],
    ];
    return el(
      'div',
      {},
      listTable([['Level'], ['SSTables', 'num'], ['Size', 'num'], ['']], levelRows),
      el('br'),
      listTable(
        [['What'], ['Now']],
        facts.map(([k, v]) => [[k], [v]]),
      ),
    );
  }

  function storagePage(main, tableId) {
    main.append(
      el('h1', { text: `${tableId}: storage` }),
      el('p', {
        class: 'sub',
        text: 'SSTables by LSM level, memtables, block cache and compaction activity.',
      }),
    );
    const body = el('div');
    main.append(body);
    let last;
    const activity = chartPanel(
      main,
      'Compaction activity',
      'chart-compaction',
      [
        { label: 'compaction MiB/s', value: (p) => p.compactionMiBps },
        { label: 'flushes/s', value: (p) => p.flushesPerSecond },
      ],
      '',
    )();
    return {
      charts: [],
      point() {},
      view(v, point) {
        body.replaceChildren(
          ...v.tablets.map((t) =>
            panel(el('div'), `Tablet [${t.startKey || '(start)'}, ${t.endKey || '(end)'})`, tabletStorage(t)),
          ),
        );
        const sum = (key) => v.tablets.reduce((n, t) => n + t[key], 0);
        const now = {
          time: point ? point.timeSeconds : Date.now() / 1000,
          bytes: sum('compactionBytesWritten'),
          flushes: sum('flushes'),
        };
        if (last && now.time > last.time) {
          const dt = now.time - last.time;
          activity.push({
            timeSeconds: now.time,
            compactionMiBps: (now.bytes - last.bytes) / MiB / dt,
            flushesPerSecond: (now.flushes - last.flushes) / dt,
          });
        }
        last = now;
      },
    };
  }

  // ---- wiring ---------------------------------------------------------------------------------

  function start() {
    const r = route();
    crumbs(r);
    const main = document.getElementById('main');
    const page =
      r.page === 'overview'
        ? overviewPage(main)
        : r.page === 'table'
          ? tablePage(main, r.tableId)
          : storagePage(main, r.tableId);
    connectLive(main, page, r.tableId);
  }

  start();
})();
