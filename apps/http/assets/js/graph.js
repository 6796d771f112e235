// The ownership graph as SVG: laid out by dagre (vendor/dagre.min.js, a global `dagre`), owners
// above the company and holdings below, each edge from an owner to the company it owns.

import { svg, show } from './dom.js';
import { partyHref, percent, kindName } from './api.js';

const FONT = '13px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
const LINE = 16;
const LINE_CHARS = 20;
const PAD_X = 12;
const PAD_Y = 9;

let context = null;
function textWidth(text) {
  context = context || document.createElement('canvas').getContext('2d');
  context.font = FONT;
  return context.measureText(text).width;
}

/** A name in at most two lines of about LINE_CHARS characters, cut with an ellipsis. */
function lines(name) {
  const words = name.split(/\s+/).filter(Boolean);
  const result = [];
  let current = '';
  for (const word of words) {
    if (current && `${current} ${word}`.length > LINE_CHARS) {
      result.push(current);
      current = word;
    } else {
      current = current ? `${current} ${word}` : word;
    }
  }
  if (current) result.push(current);
  if (result.length > 2) {
    return [result[0], `${result[1].slice(0, LINE_CHARS - 1)}…`];
  }
  return result.map((line) => (line.length > LINE_CHARS + 8 ? `${line.slice(0, LINE_CHARS + 7)}…` : line));
}

function nodeShape(node) {
  const label = lines(node.name || '—');
  const sub = node.kind === 'organization' ? node.key : kindName(node.kind);
  const width = Math.max(...label.map(textWidth), textWidth(sub)) + 2 * PAD_X;
  const height = (label.length + 1) * LINE + 2 * PAD_Y;
  return { label, sub, width: Math.ceil(Math.max(width, 90)), height };
}

/**
 * Draws `graph` (the API's `{ nodes, edges, truncated }`) into `container`; `centre` is the id
 * of the company the page is about. Every node is a link to its party's page but the centre.
 */
export function drawGraph(container, graph, centre, title) {
  const layout = new window.dagre.graphlib.Graph({ multigraph: true });
  layout.setGraph({ rankdir: 'TB', nodesep: 18, ranksep: 64, edgesep: 10, marginx: 6, marginy: 6 });
  const shapes = new Map();
  for (const node of graph.nodes) {
    const shape = nodeShape(node);
    shapes.set(node.id, shape);
    layout.setNode(node.id, { width: shape.width, height: shape.height });
  }
  graph.edges.forEach((edge, index) => {
    const label = percent(edge.percentage);
    layout.setEdge(edge.from, edge.to,
      { label, width: textWidth(label) + 8, height: LINE, labelpos: 'c' }, `edge${index}`);
  });
  window.dagre.layout(layout);
  const { width, height } = layout.graph();

  const edges = graph.edges.map((edge, index) => {
    const laid = layout.edge(edge.from, edge.to, `edge${index}`);
    const path = laid.points.map((p, i) => `${i === 0 ? 'M' : 'L'}${p.x.toFixed(1)},${p.y.toFixed(1)}`).join(' ');
    const labelWidth = textWidth(laid.label) + 8;
    return svg('g', { class: 'edge', 'data-from': edge.from, 'data-to': edge.to },
      svg('path', { d: path, 'marker-end': 'url(#graph-arrow)' }),
      svg('rect', { class: 'edge-label-back', x: laid.x - labelWidth / 2, y: laid.y - LINE / 2, width: labelWidth, height: LINE, rx: 3 }),
      svg('text', { class: 'edge-label', x: laid.x, y: laid.y, 'dominant-baseline': 'central', 'text-anchor': 'middle' }, laid.label));
  });

  const nodes = graph.nodes.map((node) => {
    const laid = layout.node(node.id);
    const shape = shapes.get(node.id);
    const left = laid.x - shape.width / 2;
    const top = laid.y - shape.height / 2;
    const isCentre = node.id === centre;
    const text = svg('text', { x: laid.x, y: top + PAD_Y, 'text-anchor': 'middle' },
      shape.label.map((line, i) => svg('tspan', { x: laid.x, dy: i === 0 ? LINE - 3 : LINE }, line)),
      svg('tspan', { x: laid.x, dy: LINE, class: 'node-sub' }, shape.sub));
    const body = [
      svg('title', {}, `${node.name} (${kindName(node.kind)}${node.kind === 'organization' ? ` ${node.key}` : ''})`),
      svg('rect', { x: left, y: top, width: shape.width, height: shape.height, rx: node.kind === 'person' ? shape.height / 2 : 6 }),
      text,
    ];
    const classes = `node ${node.kind}${isCentre ? ' centre' : ''}`;
    const attributes = { class: classes, 'data-id': node.id, 'data-kind': node.kind, 'data-level': node.level };
    if (isCentre) return svg('g', attributes, body);
    return svg('g', attributes, svg('a', { href: partyHref(node.kind, node.key) }, body));
  });

  const drawing = svg('svg', {
    class: 'graph-svg', role: 'group', 'aria-label': title,
    viewBox: `0 0 ${Math.ceil(width)} ${Math.ceil(height)}`,
  },
  svg('defs', {}, svg('marker', {
    id: 'graph-arrow', viewBox: '0 0 10 10', refX: 10, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse',
  }, svg('path', { d: 'M0,0 L10,5 L0,10 z' }))),
  svg('g', { class: 'edges' }, edges),
  svg('g', { class: 'nodes' }, nodes));

  show(container, drawing);
  // Wide graphs shrink to the page down to 70 %, then scroll, centred on the company.
  const available = container.clientWidth || width;
  const scale = Math.min(1, Math.max(0.7, available / width));
  drawing.setAttribute('width', Math.ceil(width * scale));
  drawing.setAttribute('height', Math.ceil(height * scale));
  const middle = layout.node(centre);
  if (middle) container.scrollLeft = Math.max(0, middle.x * scale - available / 2);
}
