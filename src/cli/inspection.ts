/** `--inspect` / `--inspect-url` / `--inspect-viewer` → the inspection hooks of `src/inspect/`. */
import type { InspectionEvent } from 'xstate';
import type { CliIO } from './io.js';
import type { ParsedCLI } from './parse-cli.js';

export interface CliInspection {
  inspect(event: InspectionEvent): void;
  publish(event: { type: string; [key: string]: unknown }): void;
  close(): Promise<void>;
}

/** `null` when no inspection was asked for (nothing is loaded then). */
export async function createInspectionFromCli(cli: ParsedCLI, io: CliIO): Promise<CliInspection | null> {
  const viewer = typeof cli.options['inspect-viewer'] === 'string' ? cli.options['inspect-viewer'] : undefined;
  const stately = cli.options.inspect === true || typeof cli.options['inspect-url'] === 'string';
  if (!viewer && !stately) return null;
  const { createInspectionHooks, loadStatelyInspect } = await import('../inspect/index.js');
  // `@statelyai/inspect` is an optional peer dependency: asked for and missing is an error
  // (ERR_OPTIONAL_DEPENDENCY, naming the install command) before anything runs, not a warning mid-run.
  if (stately) await loadStatelyInspect();
  const url = typeof cli.options['inspect-url'] === 'string' ? cli.options['inspect-url'] : 'ws://localhost:5678';
  const hooks = createInspectionHooks({
    ...(stately ? { stately: { url } } : {}),
    ...(viewer ? { viewer: { url: viewer } } : {}),
  });
  if (stately && cli.options.json !== true) io.stderr(`inspecting with the Stately inspector relay at ${url} (docs/inspect.md)`);
  return hooks;
}
