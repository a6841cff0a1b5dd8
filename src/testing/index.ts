/**
 * `first-run-orchestrator/testing` — the test models, for teams that generate their own model-based
 * tests from the production machines in CI.
 *
 * @packageDocumentation
 */
export * from './relaunch-gate-model.js';
