// Runs the compiled `tabula` command as a child process, the way a user does, and captures its
// exit code, standard output and standard error.
import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Path of the compiled command. */
export const CLI_PATH = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'cli', 'main.js');
/** Longest a single command may take in a test. */
const COMMAND_TIMEOUT_MS = 30_000;
/** Most output captured from one command. */
const OUTPUT_BYTES_MAX = 64 * 1024 * 1024;

/** What a finished command left. */
export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `tabula ...args` against `endpoint` (through BIGTABLE_EMULATOR_HOST) and waits for it. */
export function runCli(args: readonly string[], endpoint?: string): Promise<CliResult> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.BIGTABLE_EMULATOR_HOST;
  if (endpoint !== undefined) env.BIGTABLE_EMULATOR_HOST = endpoint;
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI_PATH, ...args],
      { env, timeout: COMMAND_TIMEOUT_MS, maxBuffer: OUTPUT_BYTES_MAX },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** Runs a command that must succeed; fails the test with its output otherwise. */
export async function runOk(args: readonly string[], endpoint?: string): Promise<CliResult> {
  const result = await runCli(args, endpoint);
  if (result.code !== 0) {
    throw new Error(
      `tabula ${args.join(' ')} exited ${result.code}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`,
    );
  }
  return result;
}
