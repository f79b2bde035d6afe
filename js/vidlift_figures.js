// Figures drawn under VidLift nodes. Each takes (ctx, box, read, upstream): `read(name, fallback)` gives the
// node's widget value, `upstream(input, widget)` a widget of the node linked to an input (`upstream(input)`:
// that node's type, or undefined when the input is not linked). Pure drawing,
// mirroring the Python math it illustrates (file named in each comment).

const INK = "#ddd", DIM = "#777", GRID = "#444";
const KIND = { generated: "#5b9bd5", context: "#e0a030", overlap: "#c05050", dropped: "#555", key: "#70c070" };

function frame(ctx, box, title) {
  ctx.fillStyle = "#1e1e1e";
  ctx.fillRect(box.x, box.y, box.w, box.h);
  ctx.strokeStyle = GRID;
  ctx.strokeRect(box.x + 0.5, box.y + 0.5, box.w - 1, box.h - 1);
  ctx.fillStyle = DIM;
  ctx.font = "10px sans-serif";
  ctx.textAlign = "left";
  ctx.fillText(title, box.x + 4, box.y + 11);
}

// Python's round(): half to even (the filters and plans use it)
function pyRound(v) {
  const f = Math.floor(v), d = v - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

// nodes/motion_warp.py: frame k shows the content moved by −δ^k = −(λδ_x·k, λδ_y·k) on a 512-px canvas
export function motionPath(ctx, box, read) {
  const frames = Math.max(1, read("frames", 8)), mx = read("motion_x", 12), my = read("motion_y", 12);
  frame(ctx, box, `motion path: ${frames} frames, δ per frame (${mx}, ${my}) px of 512`);
  const size = Math.min(box.w, box.h - 16), ox = box.x + (box.w - size) / 2, oy = box.y + 14;
  const span = Math.max(512, ...[frames - 1].map((k) => Math.max(Math.abs(mx * k), Math.abs(my * k)) * 2 + 64));
  const scale = size / span, cx = ox + size / 2, cy = oy + size / 2;
  ctx.strokeStyle = GRID;
  ctx.strokeRect(cx - 256 * scale, cy - 256 * scale, 512 * scale, 512 * scale);   // the reference canvas
  ctx.beginPath();
  for (let k = 0; k < frames; k++) {
    const px = cx - mx * k * scale, py = cy - my * k * scale;
    k === 0 ? ctx.moveTo(px, py) : ctx.lineTo(px, py);
  }
  ctx.strokeStyle = KIND.generated;
  ctx.stroke();
  for (let k = 0; k < frames; k++) {
    ctx.fillStyle = k === 0 ? KIND.key : `rgba(91,155,213,${0.35 + 0.65 * k / Math.max(1, frames - 1)})`;
    ctx.beginPath();
    ctx.arc(cx - mx * k * scale, cy - my * k * scale, 3, 0, 2 * Math.PI);
    ctx.fill();
  }
}

// nodes/lpff.py low_pass_filter: the temporal profile at spatial DC, from −Nyquist to DC to +Nyquist
export function lpffResponse(ctx, box, read) {
  const shape = read("filter", "gaussian"), ds = read("d_s", 1), dt = read("d_t", 0.5), n = read("order", 4);
  const per = read("frames_per_video", 0), T = per > 0 ? per : 16;
  frame(ctx, box, `${shape} response along time, ${T} frames${per > 0 ? "" : " (drawn for 16)"}`);
  const values = [];
  for (let t = 0; t < T; t++) {
    const a = 2 * (t - Math.floor(T / 2)) / T, d2 = ((ds / (dt || 1e-9)) * a) ** 2;
    let v;
    if (ds === 0 || dt === 0) v = 0;
    else if (shape === "gaussian") v = Math.exp(-d2 / (2 * ds * ds));
    else if (shape === "butterworth") v = 1 / (1 + (d2 / (ds * ds)) ** n);
    else if (shape === "ideal") v = d2 <= ds * 2 ? 1 : 0;
    else { const ts = pyRound(Math.floor(T / 2) * dt), cf = Math.floor(T / 2); v = t >= Math.max(cf - ts, 0) && t < cf + ts ? 1 : 0; }
    values.push(v);
  }
  const top = box.y + 16, h = box.h - 22, bw = box.w / T;
  ctx.fillStyle = KIND.generated;
  values.forEach((v, t) => ctx.fillRect(box.x + t * bw + 1, top + h * (1 - v), Math.max(1, bw - 2), h * v));
  ctx.fillStyle = INK;
  ctx.textAlign = "center";
  ctx.fillText("DC", box.x + (Math.floor(T / 2) + 0.5) * bw, box.y + box.h - 2);
}

// A row of frame cells per window; kinds: generated / context / overlap / dropped / key
function timeline(ctx, box, title, rows, total) {
  frame(ctx, box, title);
  const top = box.y + 16, rh = Math.min(14, (box.h - 20) / Math.max(1, rows.length)), cw = box.w / Math.max(1, total);
  rows.forEach((row, r) => row.forEach(([start, kind]) => {
    ctx.fillStyle = KIND[kind];
    ctx.fillRect(box.x + start * cw + (cw > 3 ? 0.5 : 0), top + r * rh + 1, Math.max(1, cw - (cw > 3 ? 1 : 0)), rh - 2);
  }));
}

// nodes/reuse_diffuse.py output_frames: clip c starts M frames before clip c−1 ends (its overlap reuses them).
// With `previous` linked, the clip it continues is drawn first as context (not part of this node's output).
export function reuseDiffuseTimeline(ctx, box, read, upstream) {
  const N = upstream("latent", "batch_size") ?? 16, clips = read("clips", 3), M = read("overlap", 4);
  const keep = read("keep_overlap", true), continued = !!upstream("previous"), rows = [];
  let start = 0;
  for (let c = 0; c < Math.min(clips + (continued ? 1 : 0), 12); c++) {
    const row = [];
    for (let j = 0; j < N; j++) {
      row.push([start + j, continued && c === 0 ? "context" : c > 0 && j < M ? (keep ? "overlap" : "dropped") : "generated"]);
    }
    rows.push(row);
    start += keep ? N : N - M;
  }
  const made = keep ? clips * N : (continued ? 0 : M) + clips * (N - M);
  const title = continued ? `continues a clip: ${clips} new clips of ${N} frames, M = ${M} → ${made} new frames`
                          : `${clips} clips of ${N} frames, M = ${M} → ${made} frames`;
  timeline(ctx, box, title, rows, rows.length ? rows.at(-1).at(-1)[0] + 1 : 1);
}

// nodes/context_guidance.py: frame 1 alone, then windows of T holding S context frames (1 in the first)
export function contextTimeline(ctx, box, read) {
  const total = Math.max(1, read("frames", 64)), T = Math.max(1, read("window", 16)), S = read("context_frames", 2);
  const rows = [];
  let done = 0;
  if (S > 0) { rows.push([[0, "key"]]); done = 1; }
  while (done < total && rows.length < 64) {
    const s = Math.min(S > 0 ? (rows.length === 1 ? 1 : S) : 0, done), n = Math.min(T - s, total - done);
    if (n < 1) break;
    const row = [];
    for (let j = 0; j < s; j++) row.push([done - s + j, "context"]);
    for (let j = 0; j < n; j++) row.push([done + j, "generated"]);
    rows.push(row);
    done += n;
  }
  timeline(ctx, box, `${total} frames: windows of ${T}, ${S} context frames → ${rows.length} passes`, rows, total);
}

// keyframes held, 3 frames filled between each pair per pass: n → 4(n−1)+1 (→ 16(n−1)+1)
export function interpolationTimeline(ctx, box, read, upstream) {
  const keys = Math.max(2, upstream("keyframes", "batch_size") ?? 3), passes = read("passes", 1), rows = [];
  let n = keys;
  for (let p = 0; p < passes; p++) {
    const out = 4 * (n - 1) + 1, row = [];
    for (let f = 0; f < out; f++) row.push([f * 4 ** (passes - 1 - p), f % 4 === 0 ? (p === 0 ? "key" : "context") : "generated"]);
    rows.push(row);
    n = out;
  }
  timeline(ctx, box, `${keys} keyframes → ${n} frames`, rows, n);
}

export const FIGURES = {
  VidLift_ContextGuidedSampler: contextTimeline,
  VidLift_ContextGuidedInterpolation: interpolationTimeline,
  VidLift_MotionLatentWarp: motionPath,
  VidLift_LPFF: lpffResponse,
  VidLift_LPFFImages: lpffResponse,
  VidLift_ReuseDiffuseExtender: reuseDiffuseTimeline,
};
