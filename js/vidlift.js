// VidLift canvas pictures: small drawings under a node's widgets that follow its inputs, drawn on the
// graph canvas (no DOM widgets) with no server round trip. The math mirrors nodes/*.py; see
// js/vidlift_figures.js for the drawings themselves.
import { app } from "../../scripts/app.js";
import { FIGURES } from "./vidlift_figures.js";

const HEIGHT = 120;

function inputValue(node, name, fallback) {
  const w = node.widgets?.find((w) => w.name === name);
  if (w) return w.value;
  // a linked input: read the widget of the same name on the node feeding it (e.g. batch_size)
  return fallback;
}

function upstreamWidget(node, inputName, widgetName) {
  const slot = node.inputs?.find((i) => i.name === inputName);
  const link = slot?.link != null ? node.graph?.links?.[slot.link] ?? node.graph?.links?.get?.(slot.link) : null;
  const origin = link ? node.graph.getNodeById(link.origin_id) : null;
  if (widgetName === undefined) return origin?.type;
  return origin?.widgets?.find((w) => w.name === widgetName)?.value;
}

function figureWidget(node, figure) {
  const read = (name, fallback) => inputValue(node, name, fallback);
  const upstream = (input, widget) => upstreamWidget(node, input, widget);
  return {
    name: "vidlift_figure",
    type: "vidlift_figure",
    value: null,
    serialize: false,               // not part of widgets_values (shared workflows stay schema-aligned)
    options: { serialize: false },  // not part of the API prompt
    computeSize: (width) => [width, HEIGHT],
    draw(ctx, _node, width, y) {
      ctx.save();
      try {
        figure(ctx, { x: 10, y: y + 4, w: width - 20, h: HEIGHT - 8 }, read, upstream);
      } finally {
        ctx.restore();
      }
    },
  };
}

app.registerExtension({
  name: "vidlift.figures",
  nodeCreated(node) {
    const figure = FIGURES[node.comfyClass];
    if (!figure) return;
    node.addCustomWidget(figureWidget(node, figure));
    const [w, h] = node.computeSize();
    node.setSize([Math.max(node.size[0], w), Math.max(node.size[1], h)]);
  },
});
