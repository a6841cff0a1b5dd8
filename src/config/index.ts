/** Config (CF-1, CF-2): load, validate and resolve `integrations.permissions_v2` and the two env switches. */
export { CONFIG_LIMITS, DEFAULT_ORDER, DEFAULT_SETTINGS, cloneDefaultSettings, defaultStepFlags } from './defaults.js';
export { ENV_DEV_FORCE, ENV_DRY_RUN, ENV_KILL_SWITCH, readEnvFlags, type EnvFlags, type EnvLike, type ReadEnvFlagsOptions } from './env.js';
export { MAX_CONFIG_BYTES, loadConfig, type LoadConfigOptions, type LoadedConfig } from './load-config.js';
export {
  CONFIG_SECTION,
  RESTART_KEYS,
  SECTION_KEYS,
  LEGACY_MAX_WAIT_KEY,
  STEP_KEYS,
  parseConfig,
  settingsToConfigJson,
  type ParseConfigOptions,
  type PermissionsV2ConfigJson,
} from './parse-config.js';
export { ProblemList, locateJsonError, parseJsonText, type JsonErrorLocation } from './validate.js';
