/**
 * Statechart generation for XState v5 machines (SPEC IN-3): Mermaid, offline SVG, JSON and Markdown,
 * and the `statecharts/` folder writer/checker behind `first-run statecharts [--out DIR] [--check]`.
 *
 * @example
 * ```ts
 * import { generateStatecharts } from './statecharts/index.js';
 * const result = await generateStatecharts({ machines, outDir: 'statecharts', check: true });
 * ```
 * @packageDocumentation
 */
export { machineToMermaid, modelToMermaid, mermaidIds, mermaidArrowLabel, stateLabelLines, type MermaidOptions } from './mermaid.js';
export {
  machineToSvg,
  modelToSvg,
  layoutStatechart,
  renderSvg,
  textWidth,
  escapeXml,
  SVG_CHAR_WIDTH,
  SVG_FONT_SIZE,
  type SvgLayout,
  type SvgBox,
  type SvgEdge,
  type SvgMarker,
  type SvgInitialArrow,
  type SvgPoint,
} from './svg.js';
export { machineToJSON } from './json.js';
export { machineToMarkdown, modelToMarkdown, type MarkdownOptions } from './markdown.js';
export { generateStatecharts, renderStatechartFiles, type GenerateStatechartsOptions, type GenerateStatechartsResult } from './generate.js';
export {
  buildChartModel,
  describeGuard,
  describeAction,
  stableStringify,
  transitionLabel,
  type ChartModel,
  type ChartState,
  type ChartStateType,
  type ChartTransition,
  type ChartTransitionKind,
  type ChartDelay,
  type ChartInvoke,
} from './model.js';
