/**
 * The cluster's `/metrics` and console from outside: etcd, a master and two tablet servers as real
 * processes, each with `--http-port`. Checks, by HTTP GET only: the cluster metrics of the master
 * and of a tablet server (session, tablets held, owner epochs, master epoch, events); that they
 * change when a table's tablets are assigned and when a server is killed (its tablets fail over);
 * the console's page, its JSON (servers and the tablets each holds, a table's tablet map with key
 * ranges, owners and sizes) and its event stream. Every wait is bounded (WAIT_MS_MAX).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { connectData } from '../support/api-client.js';
import { createLoadTable, LOAD_TABLE, PROBES, sleep, writeOnce } from './cluster-load.js';
import { type ClusterProcess, LocalCluster } from './cluster-processes.js';

/** Longest a check waits for the cluster to reach the state it expects. */
const WAIT_MS_MAX = 25_000;
const POLL_MS = 200;
/** Tablets of the load table (one per probe row). */
const TABLETS = PROBES.length;

let cluster: LocalCluster;

before(async () => {
  cluster = await LocalCluster.start(2, 1, true);
});

after(async () => {
  await cluster?.destroy();
});

function consoleOf(p: ClusterProcess): string {
  const url = p.consoleUrl();
  assert.ok(url, `${p.name} printed its console URL:\n${p.stderr()}`);
  return url;
}

async function get(p: ClusterProcess, path: string): Promise<{ status: number; type: string; body: string }> {
  const res = await fetch(`${consoleOf(p)}${path}`, { signal: AbortSignal.timeout(5_000) });
  return { status: res.status, type: res.headers.get('content-type') ?? '', body: await res.text() };
}

/** The value of the one sample of `name` whose labels include `labels` (undefined: none). */
function sample(metrics: string, name: string, labels = ''): number | undefined {
  for (const line of metrics.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (labels !== '' && !line.includes(labels)) continue;
    return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

function samples(metrics: string, name: string): number {
  return metrics.split('\n').filter((l) => l.startsWith(`${name}{`)).length;
}

/** Polls `check` until it returns true; fails with `describe()` after WAIT_MS_MAX. */
async function eventually(what: string, check: () => Promise<boolean>): Promise<void> {
  const start = performance.now();
  while (performance.now() - start < WAIT_MS_MAX) {
    if (await check()) return;
    await sleep(POLL_MS);
  }
  assert.fail(`${what} within ${WAIT_MS_MAX} ms\n${await cluster.describe(5)}`);
}

async function metrics(p: ClusterProcess): Promise<string> {
  const r = await get(p, '/metrics');
  assert.equal(r.status, 200);
  return r.body;
}

test('metrics before any table: session, master epoch, servers, RPC and process metrics', async () => {
  const master = await metrics(cluster.master);
  assert.equal(sample(master, 'tabula_cluster_info', 'role="master"'), 1);
  assert.equal(sample(master, 'tabula_cluster_servers_live'), 2);
  assert.ok((sample(master, 'tabula_cluster_master_epoch') ?? 0) > 0, 'master epoch exported');
  assert.match(master, /^process_resident_memory_bytes /m);
  const server = cluster.servers[0] as ClusterProcess;
  const ts = await metrics(server);
  assert.equal(sample(ts, 'tabula_cluster_info', `server="${server.serverId}"`), 1);
  assert.equal(sample(ts, 'tabula_cluster_session_valid'), 1);
  const left = sample(ts, 'tabula_cluster_session_remaining_seconds') ?? 0;
  assert.ok(left > 0, `session validity left: ${left}`);
  assert.equal(sample(ts, 'tabula_cluster_tablets_held'), 0);
  assert.equal(sample(ts, 'tabula_cluster_master_epoch'), sample(master, 'tabula_cluster_master_epoch'));
  assert.match(ts, /^# TYPE tabula_rpc_calls_total counter/m);
});

test('a new table: tablets held, owner epochs and assignments show up; the console lists them', async () => {
  const [a, b] = cluster.servers as [ClusterProcess, ClusterProcess];
  await createLoadTable(a);
  await eventually('every tablet held by some server', async () => {
    const held = (await Promise.all([a, b].map(metrics))).map((m) =>
      sample(m, 'tabula_cluster_tablets_held'),
    );
    return (held[0] ?? 0) + (held[1] ?? 0) === TABLETS;
  });
  const master = await metrics(cluster.master);
  assert.equal(samples(master, 'tabula_cluster_tablet_owner_epoch'), TABLETS);
  assert.ok((sample(master, 'tabula_cluster_events_total', 'kind="tablet_assigned"') ?? 0) >= TABLETS);
  const byServer = await cluster.tabletsByServer();
  for (const s of [a, b])
    assert.equal(
      sample(master, 'tabula_cluster_tablets_assigned', `server="${s.serverId}"`),
      byServer.get(s.serverId) ?? 0,
    );

  // Writes through one server: the other forwards the rows it does not own.
  const data = connectData(a.address);
  try {
    for (const p of PROBES) assert.equal(await writeOnce(data, `${p}-row`, 'v'), '');
  } finally {
    data.close();
  }
  const forwarded = samples(await metrics(a), 'tabula_cluster_forwarded_calls_total');
  if ((byServer.get(b.serverId) ?? 0) > 0) assert.ok(forwarded > 0, 'forwarded calls counted by target');

  const page = await get(cluster.master, '/');
  assert.equal(page.status, 200);
  assert.match(page.type, /text\/html/);
  assert.match(page.body, /<script defer src="\/assets\/cluster-console\.js"><\/script>/);
  const script = await get(cluster.master, '/assets/cluster-console.js');
  assert.equal(script.status, 200);
  assert.match(script.body, /heatMap/);

  const overview = JSON.parse((await get(cluster.master, '/api/cluster')).body);
  assert.equal(overview.role, 'master');
  assert.deepEqual(overview.servers.map((s: { id: string }) => s.id).sort(), [a.serverId, b.serverId].sort());
  for (const s of overview.servers) {
    assert.equal(s.state, 'serving');
    assert.equal(s.tablets.length, byServer.get(s.id) ?? 0);
  }
  assert.deepEqual(overview.tables, [
    {
      tableId: LOAD_TABLE,
      tablets: TABLETS,
      dataBytes: overview.tables[0].dataBytes,
      writesPerSecond: overview.tables[0].writesPerSecond,
    },
  ]);

  // Reports come every CLUSTER_STATS_PUBLISH_INTERVAL_MS: wait for one taken after the writes.
  await eventually('every tablet reports the row written to it', async () => {
    const t = JSON.parse((await get(cluster.master, `/api/cluster/tables/${LOAD_TABLE}`)).body);
    return t.tablets.every((x: { dataBytes: number | null }) => (x.dataBytes ?? 0) > 0);
  });
  const table = JSON.parse((await get(cluster.master, `/api/cluster/tables/${LOAD_TABLE}`)).body);
  assert.equal(table.tabletCount, TABLETS);
  assert.deepEqual(
    table.tablets.map((t: { startKey: string; endKey: string }) => [t.startKey, t.endKey]),
    [
      ['', 'b'],
      ['b', 'd'],
      ['d', 'f'],
      ['f', 'h'],
      ['h', 'j'],
      ['j', ''],
    ],
  );
  for (const t of table.tablets) {
    assert.ok([a.serverId, b.serverId].includes(t.server), `owner ${t.server}`);
    assert.ok(t.ownerEpoch > 0);
    assert.ok(t.dataBytes > 0, `tablet ${t.startKey} has the row written: ${t.dataBytes} bytes`);
  }
  assert.equal((await get(cluster.master, '/api/cluster/tables/nope')).status, 404);
});

test('the event stream sends the cluster view at once', async () => {
  const controller = new AbortController();
  const res = await fetch(`${consoleOf(cluster.master)}/api/events`, { signal: controller.signal });
  try {
    assert.match(res.headers.get('content-type') ?? '', /text\/event-stream/);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    let text = '';
    while (!/event: hello\ndata: .*\n\n/.test(text)) {
      const { value, done } = await reader.read();
      if (done) break;
      text += Buffer.from(value).toString();
    }
    const data = JSON.parse(/event: hello\ndata: (.*)\n\n/.exec(text)?.[1] ?? 'null');
    assert.equal(data.view.servers.length, 2);
    assert.equal(data.view.tabletCount, TABLETS);
  } finally {
    controller.abort();
  }
});

test('kill -9 of a tablet server: it leaves, its tablets fail over, the metrics follow', async () => {
  const [a, b] = cluster.servers as [ClusterProcess, ClusterProcess];
  const byServer = await cluster.tabletsByServer();
  const [victim, survivor] = (byServer.get(b.serverId) ?? 0) > 0 ? [b, a] : [a, b];
  const moving = byServer.get(victim.serverId) ?? 0;
  await victim.kill();
  await eventually('the survivor holds every tablet', async () => {
    return sample(await metrics(survivor), 'tabula_cluster_tablets_held') === TABLETS;
  });
  await eventually('the master counts the failovers', async () => {
    const m = await metrics(cluster.master);
    return (
      sample(m, 'tabula_cluster_servers_live') === 1 &&
      sample(m, 'tabula_cluster_events_total', 'kind="server_left"') === 1 &&
      sample(m, 'tabula_cluster_events_total', 'kind="tablet_failed_over"') === moving
    );
  });
  const overview = JSON.parse((await get(cluster.master, '/api/cluster')).body);
  const kinds = overview.events.map((e: { kind: string }) => e.kind);
  assert.ok(kinds.includes('server_left'));
  assert.equal(kinds.filter((k: string) => k === 'tablet_failed_over').length, moving);
  const failover = overview.events.find((e: { kind: string }) => e.kind === 'tablet_failed_over');
  assert.equal(failover.fromServer, victim.serverId);
  assert.equal(failover.server, survivor.serverId);
  const epochs = sample(await metrics(survivor), 'tabula_cluster_events_total', 'kind="tablet_failed_over"');
  assert.equal(epochs, moving, 'the survivor saw the same failovers');
});
