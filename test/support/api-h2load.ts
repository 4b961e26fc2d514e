/**
 * Drives a gRPC server with `h2load` (nghttp2) sending prebuilt gRPC frames, so the load generator
 * (native, one thread) is not the bottleneck. h2load posts ONE body file per invocation, so a
 * workload of many distinct requests (random keys) is run as one invocation per body, one after the
 * other, each with the same connection count and stream concurrency; throughput is the total of
 * completed requests over the total time h2load measured, latency percentiles come from h2load's
 * per-request log (`--log-file`) over all invocations.
 *
 * h2load sees HTTP status only; a gRPC error is a 200 with `grpc-status` in the trailers. Callers
 * check one request of each workload end to end first (`grpcCall`), and every invocation here checks
 * that responses carried at least `minResponseBytes` of DATA per request (an error has none).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Where h2load is expected (Debian package nghttp2-client). */
export const H2LOAD_PATH = '/usr/bin/h2load';
const GRPC_FRAME_HEADER_BYTES = 5;
const H2LOAD_TIMEOUT_MS = 10 * 60 * 1000;
const MICROS_PER_MS = 1000;
const P50 = 0.5;
const P99 = 0.99;

/** One workload run through h2load. */
export interface H2loadJob {
  /** host:port. */
  address: string;
  /** gRPC method path, e.g. /google.bigtable.v2.Bigtable/MutateRow. */
  path: string;
  /** Serialized request messages (without the gRPC frame header); one invocation each. */
  bodies: Buffer[];
  requestsPerBody: number;
  streams: number;
  /** Smallest DATA bytes per response that proves a real answer (not a trailers-only error). */
  minResponseBytes: number;
}

/** What an h2load job measured. */
export interface H2loadResult {
  requests: number;
  seconds: number;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
}

/** A gRPC length-prefixed message frame. */
export function grpcFrame(message: Buffer): Buffer {
  const header = Buffer.alloc(GRPC_FRAME_HEADER_BYTES);
  header.writeUInt32BE(message.length, 1);
  return Buffer.concat([header, message]);
}

function parseOutput(out: string, job: H2loadJob): { done: number; seconds: number; dataBytes: number } {
  const finished = /finished in ([\d.]+)(m?s)/.exec(out);
  const requests =
    /requests: \d+ total, \d+ started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored/.exec(out);
  const traffic = /traffic: .*?, [\d.]+\w* \((\d+)\) data/.exec(out);
  if (!finished || !requests || !traffic) throw new Error(`cannot parse h2load output:\n${out}`);
  const done = Number(requests[2]);
  if (done !== job.requestsPerBody || Number(requests[3]) + Number(requests[4]) > 0) {
    throw new Error(`h2load: not every request succeeded on ${job.path}:\n${out}`);
  }
  const seconds = Number(finished[1]) / (finished[2] === 'ms' ? MICROS_PER_MS : 1);
  return { done, seconds, dataBytes: Number(traffic[1]) };
}

function percentile(sorted: number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
}

/** Runs `job`: one h2load invocation per body. */
export function runH2load(job: H2loadJob): H2loadResult {
  const dir = mkdtempSync(join(tmpdir(), 'tabula-h2load-'));
  const latenciesUs: number[] = [];
  let requests = 0;
  let seconds = 0;
  try {
    job.bodies.forEach((body, i) => {
      const bodyPath = join(dir, `body-${i}`);
      const logPath = join(dir, `log-${i}`);
      writeFileSync(bodyPath, grpcFrame(body));
      const args = ['-n', String(job.requestsPerBody), '-c', '1', '-t', '1', '-m', String(job.streams)];
      args.push('-d', bodyPath, '-H', 'content-type: application/grpc', '-H', 'te: trailers');
      args.push(`--log-file=${logPath}`, `http://${job.address}${job.path}`);
      const out = execFileSync(H2LOAD_PATH, args, { encoding: 'utf8', timeout: H2LOAD_TIMEOUT_MS });
      const parsed = parseOutput(out, job);
      if (parsed.dataBytes < parsed.done * job.minResponseBytes) {
        throw new Error(
          `h2load: responses on ${job.path} too small (gRPC errors?): ${parsed.dataBytes} bytes`,
        );
      }
      requests += parsed.done;
      seconds += parsed.seconds;
      for (const line of readFileSync(logPath, 'utf8').split('\n')) {
        const us = Number(line.split('\t')[2]);
        if (Number.isFinite(us) && line !== '') latenciesUs.push(us);
      }
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  latenciesUs.sort((a, b) => a - b);
  return {
    requests,
    seconds,
    requestsPerSecond: requests / seconds,
    p50Ms: percentile(latenciesUs, P50) / MICROS_PER_MS,
    p99Ms: percentile(latenciesUs, P99) / MICROS_PER_MS,
  };
}

/** Sends one gRPC request over node:http2 (same framing as h2load); resolves with the response frames' bytes or rejects on a non-OK grpc-status. */
export function grpcCall(address: string, path: string, body: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const session = connect(`http://${address}`);
    session.on('error', reject);
    const stream = session.request({
      ':method': 'POST',
      ':path': path,
      'content-type': 'application/grpc',
      te: 'trailers',
    });
    const parts: Buffer[] = [];
    let grpcStatus = '';
    let grpcMessage = '';
    stream.on('response', (headers) => {
      grpcStatus = String(headers['grpc-status'] ?? grpcStatus);
      grpcMessage = String(headers['grpc-message'] ?? '');
    });
    stream.on('trailers', (trailers) => {
      grpcStatus = String(trailers['grpc-status'] ?? '');
      grpcMessage = String(trailers['grpc-message'] ?? '');
    });
    stream.on('data', (d: Buffer) => parts.push(d));
    stream.on('end', () => {
      session.close();
      if (grpcStatus === '0') resolve(Buffer.concat(parts));
      else reject(new Error(`${path}: grpc-status ${grpcStatus} ${decodeURIComponent(grpcMessage)}`));
    });
    stream.on('error', reject);
    stream.end(grpcFrame(body));
  });
}
