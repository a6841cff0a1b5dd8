/**
 * The adopter's settings, from the same config document the app ships (`integrations.permissions_v2`),
 * resolved exactly as the product resolves it (defaults, validation, seconds → milliseconds).
 */
import { parseConfig } from '../config/parse-config.js';
import type { OrchestratorSettings } from '../../machines/types.js';

/**
 * Resolves a config document (the parsed JSON of the app's config file, or just its
 * `{ integrations: { permissions_v2: … } }` part) into the settings the models are parameterised by.
 * Environment switches are off unless given in `env`.
 *
 * @throws {ConfigError} listing every problem by key path, as the product would refuse it.
 * @example
 * ```ts
 * const settings = settingsFromConfig({ integrations: { permissions_v2: { order: ['screen_capture', 'microphone'] } } });
 * ```
 */
export function settingsFromConfig(
  config: unknown,
  options: { label?: string; env?: Readonly<Record<string, string | undefined>> } = {},
): OrchestratorSettings {
  return parseConfig(config, options.label ?? 'the test config', { env: options.env ?? {} });
}
