/**
 * `--config FILE` of `tabula master` and `tabula tablet-server`: the file format `tabula serve
 * --config` reads (one JSON object, camelCase keys named after the long flags), with the cluster
 * commands' keys: `coord`, `store`, `host`, `port`, `httpPort`. A flag given on the command line
 * wins over the file, and the file over the flags' defaults. An unreadable file, a value that is
 * not an object, an unknown key or a bad value is a usage error naming the file and the key.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';

/** Options of a cluster command after merging the config file. */
export interface ClusterFileOptions {
  coord?: string;
  store?: string;
  host: string;
  port: number;
  httpPort?: number;
}

/** The keys a cluster config file may hold. */
export const CLUSTER_CONFIG_KEYS = ['coord', 'store', 'host', 'port', 'httpPort'] as const;
type Key = (typeof CLUSTER_CONFIG_KEYS)[number];

/** Raised for a bad config file; its message is the whole usage line after `tabula: USAGE: `. */
export class ConfigFileError extends Error {}

/** Checks one flag's value as its command-line parser would; throws with the reason. */
export type ValueParser = (value: string) => string | number;

/** Reads `path` and checks every key with `parsers` (the flags' own parsers). */
export function readClusterConfig(
  path: string,
  parsers: ReadonlyMap<Key, ValueParser>,
): Partial<ClusterFileOptions> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ConfigFileError(
      `cannot read config file ${path}: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new ConfigFileError(`config file ${path} must hold a JSON object`);
  const out: Partial<Record<Key, string | number>> = {};
  for (const [key, value] of Object.entries(parsed)) {
    const parse = parsers.get(key as Key);
    if (parse === undefined) {
      throw new ConfigFileError(
        `config file ${path}: unknown key ${JSON.stringify(key)} (known: ${CLUSTER_CONFIG_KEYS.join(', ')})`,
      );
    }
    const numeric = key === 'port' || key === 'httpPort';
    if (numeric ? typeof value !== 'number' : typeof value !== 'string' || value.length === 0)
      throw new ConfigFileError(
        `config file ${path}: ${key} must be a ${numeric ? 'number' : 'non-empty string'}`,
      );
    try {
      out[key as Key] = parse(String(value));
    } catch (err) {
      throw new ConfigFileError(
        `config file ${path}: ${key} ${err instanceof Error ? err.message : String(err)}`,
      );
    }
  }
  return out as Partial<ClusterFileOptions>;
}

/** `flags` over the file `flags.config` (when given) over the flags' defaults. */
export function mergeClusterConfig<T extends ClusterFileOptions & { config?: string }>(
  flags: T,
  command: Command,
  parsers: ReadonlyMap<Key, ValueParser>,
): T {
  if (flags.config === undefined) return flags;
  const file = readClusterConfig(flags.config, parsers);
  const merged = { ...flags };
  for (const key of CLUSTER_CONFIG_KEYS) {
    if (command.getOptionValueSource(key) === 'cli' || file[key] === undefined) continue;
    (merged as Record<Key, unknown>)[key] = file[key];
  }
  return merged;
}
