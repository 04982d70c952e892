/**
 * The page: loads a model (the bundled demo, the one `vqvae serve` offers, or
 * files the user picks), reconstructs what the user draws with the code grid
 * drawn over it, lets the user change a cell's code, shows the codebook, and
 * samples from the prior when the model folder has one.
 *
 * For tests and curious users, <body> carries the state as data attributes:
 * data-status (loading | ready | error), data-backend, data-codes (the grid
 * shown, comma-separated), data-reconstructions (a counter) and
 * data-first-reconstruction-ms (from the first stroke to its reconstruction
 * on screen), data-last-reconstruction-ms (encode + decode + drawing, the
 * latest one).
 */
import { isUserError } from 'vqvae';
import { pickBackend } from './backend.js';
import { CodebookView } from './codebookView.js';
import { CodeGridView } from './codeGridView.js';
import { DrawingPad } from './drawing.js';
import { drawPixels } from './images.js';
import { fetchBundle, filesBundle, openBundle, type Bundle, type OpenedModel } from './load.js';
import { SamplePanel } from './samplePanel.js';
import { ModelSession } from './session.js';

const $ = <T extends HTMLElement>(id: string): T => {
  const element = document.getElementById(id);
  if (!element) throw new Error(`page element #${id} is missing`);
  return element as T;
};

const body = document.body;
const status = $('status');
const message = $('message');

function showMessage(error: unknown): void {
  const text = isUserError(error) ? error.message : `Something went wrong: ${(error as Error)?.message ?? String(error)}`;
  message.textContent = text;
  message.hidden = false;
  console.error(error);
}

function clearMessage(): void {
  message.hidden = true;
  message.textContent = '';
}

window.addEventListener('error', (e) => showMessage(e.error ?? e.message));
window.addEventListener('unhandledrejection', (e) => showMessage(e.reason));

let session: ModelSession | undefined;
let opened: OpenedModel | undefined;
let codes: Int32Array = new Int32Array(0);
const edited = new Set<number>();
let selected: number | undefined;
let decoded: Uint8Array = new Uint8Array(0);
let strokeStart: number | undefined;
let reconstructions = 0;
let busy = false;
let pending = false;

const pad = new DrawingPad($<HTMLCanvasElement>('draw'));
const view = new CodeGridView($<HTMLCanvasElement>('recon'), (cell) => selectCell(cell));
const codebook = new CodebookView($<HTMLCanvasElement>('usage'), $('usage-caption'), $('tiles'), (code) => void setCode(code));
const samples = new SamplePanel({
  panel: $('sample-panel'),
  canvas: $<HTMLCanvasElement>('sample-canvas'),
  button: $<HTMLButtonElement>('sample'),
  classSelect: $<HTMLSelectElement>('sample-class'),
  classLabel: $('class-label'),
  temperature: $<HTMLInputElement>('temperature'),
  status: $('sample-status'),
  onError: showMessage,
});

function drawView(): void {
  if (!session) return;
  view.draw({
    pixels: decoded,
    size: session.imageSize,
    codes,
    gridHeight: session.gridHeight,
    gridWidth: session.gridWidth,
    edited,
    ...(selected !== undefined ? { selected } : {}),
  });
  body.dataset.codes = Array.from(codes).join(',');
  $<HTMLButtonElement>('reset-edits').disabled = edited.size === 0;
}

/** Encodes the pad and decodes its codes; if called while busy, runs once more afterwards. */
async function reconstruct(): Promise<void> {
  if (!session) return;
  if (busy) {
    pending = true;
    return;
  }
  busy = true;
  try {
    const s = session;
    const started = performance.now();
    const pixels = pad.pixels(s.height, s.width, s.channels);
    const preview = $<HTMLCanvasElement>('input-preview');
    drawPixels(preview.getContext('2d')!, pixels, s.imageSize, [0, 0, preview.width, preview.height]);
    const newCodes = await s.encode(pixels);
    if (s !== session) return; // another model was opened meanwhile
    const newDecoded = await s.decode(newCodes);
    if (s !== session) return;
    codes = newCodes;
    decoded = newDecoded;
    edited.clear();
    selected = undefined;
    codebook.markCurrent(undefined);
    drawView();
    reconstructions++;
    body.dataset.lastReconstructionMs = (performance.now() - started).toFixed(2);
    body.dataset.reconstructions = String(reconstructions);
    if (strokeStart !== undefined && body.dataset.firstReconstructionMs === undefined) {
      body.dataset.firstReconstructionMs = (performance.now() - strokeStart).toFixed(1);
    }
    if (!opened?.examples) codebook.showUsage(await s.usage(pixels, 1), 'your drawing');
  } catch (error) {
    showMessage(error);
  } finally {
    busy = false;
    if (pending) {
      pending = false;
      void reconstruct();
    }
  }
}

function selectCell(cell: number): void {
  if (!session) return;
  selected = cell;
  const row = Math.floor(cell / session.gridWidth);
  const col = cell % session.gridWidth;
  $('edit-hint').textContent = `Cell (row ${row}, column ${col}) holds code ${codes[cell]}. Pick another code from the codebook below.`;
  codebook.markCurrent(codes[cell]);
  drawView();
}

async function setCode(code: number): Promise<void> {
  if (!session) return;
  if (selected === undefined) {
    $('edit-hint').textContent = `Click a cell of the reconstruction first, then code ${code} goes there.`;
    return;
  }
  codes[selected] = code;
  edited.add(selected);
  codebook.markCurrent(code);
  decoded = await session.decode(codes);
  drawView();
  body.dataset.edits = String(Number(body.dataset.edits ?? 0) + 1);
}

/** Resolves once no reconstruction runs and no stroke is being drawn: background work gives way to them. */
async function idle(): Promise<void> {
  do await new Promise((resolve) => setTimeout(resolve, busy || pad.isDrawing ? 50 : 0));
  while (busy || pending || pad.isDrawing);
}

/** Thrown to abandon background work for a model that has been replaced. */
const REPLACED = new Error('model replaced');

/** Usage bars and the tile of every code, in small steps that give way to drawing. */
async function fillCodebook(s: ModelSession, model: OpenedModel): Promise<void> {
  const step = async (): Promise<void> => {
    await idle();
    if (s !== session) throw REPLACED;
  };
  try {
    await step();
    codebook.resetTiles(s.codebookSize);
    if (model.examples) {
      const counts = await s.usage(model.examples.images, model.examples.count, 16, step);
      codebook.showUsage(counts, `${model.examples.count} example images`);
    }
    const chunk = 8;
    for (let first = 0; first < s.codebookSize; first += chunk) {
      await step();
      const n = Math.min(chunk, s.codebookSize - first);
      const pixels = await s.codeImages(first, n);
      if (s !== session) throw REPLACED;
      codebook.drawTiles(first, pixels, n, s.imageSize);
    }
    body.dataset.codebook = 'ready';
  } catch (error) {
    if (error !== REPLACED) throw error;
  }
}

function use(model: OpenedModel): void {
  session?.dispose();
  opened = model;
  session = new ModelSession(model.loaded.vqvae);
  const c = model.loaded.model;
  const [gh, gw] = model.loaded.vqvae.codeGrid;
  const trained = model.loaded.training ? `, trained ${model.loaded.training.step} steps on ${model.loaded.training.data}` : '';
  status.textContent =
    `Model${model.label ? ` ${model.label}` : ''}: ${c.imageHeight}×${c.imageWidth}×${c.inputChannels} images → ${gh}×${gw} codes from a codebook of ` +
    `${c.codebookSize} (D ${c.codeDim}, ${c.quantizer.toUpperCase()}, hidden ${c.hidden})${trained}.`;
  $('input-size').textContent = `${c.imageHeight}×${c.imageWidth}`;
  const preview = $<HTMLCanvasElement>('input-preview');
  preview.width = c.imageWidth;
  preview.height = c.imageHeight;
  delete body.dataset.codebook;
  samples.setModel(session, model.prior);
  pad.clear();
  const s = session;
  void reconstruct()
    .then(() => fillCodebook(s, model))
    .catch(showMessage);
}

async function openAndUse(bundle: Promise<Bundle | undefined>, what: string): Promise<boolean> {
  try {
    const b = await bundle;
    if (!b) return false;
    const model = openBundle(b);
    clearMessage();
    use(model);
    return true;
  } catch (error) {
    showMessage(error);
    if (session) status.textContent += ` (still showing this model: ${what} did not load)`;
    return true;
  }
}

async function loadDefault(): Promise<void> {
  // `vqvae serve` offers its model at model/; a plain static copy of the page has only the demo.
  if (!(await openAndUse(fetchBundle('model/'), 'model/'))) {
    if (!(await openAndUse(fetchBundle('demo-model/'), 'the demo model'))) {
      showMessage(new Error('no model found at model/ or demo-model/ next to this page; open one with "Open model folder…"'));
    }
  }
}

function pickedFiles(input: HTMLInputElement): void {
  const files = Array.from(input.files ?? []);
  input.value = '';
  if (files.length > 0) void openAndUse(filesBundle(files), 'the picked files');
}

async function start(): Promise<void> {
  const wanted = new URLSearchParams(location.search).get('backend') ?? undefined;
  const backend = await pickBackend(wanted);
  body.dataset.backend = backend.name;
  $('backend').textContent =
    `TensorFlow.js backend: ${backend.name}` + (backend.skipped.length ? ` (not available here: ${backend.skipped.join('; ')})` : '') + '.';
  pad.onChange = () => void reconstruct();
  pad.onStrokeStart = (time) => {
    if (strokeStart === undefined) strokeStart = time;
  };
  $('clear').addEventListener('click', () => pad.clear());
  $<HTMLInputElement>('image-file').addEventListener('change', (e) => {
    const input = e.target as HTMLInputElement;
    const file = input.files?.[0];
    input.value = '';
    if (file) void pad.loadImage(file).catch(showMessage);
  });
  $<HTMLInputElement>('show-grid').addEventListener('change', (e) => {
    view.showGrid = (e.target as HTMLInputElement).checked;
    view.redraw();
  });
  $('reset-edits').addEventListener('click', () => void reconstruct());
  $<HTMLInputElement>('model-files').addEventListener('change', (e) => pickedFiles(e.target as HTMLInputElement));
  $<HTMLInputElement>('model-folder').addEventListener('change', (e) => pickedFiles(e.target as HTMLInputElement));
  $('load-demo').addEventListener('click', () => void loadDefault());
  await loadDefault();
  body.dataset.status = session ? 'ready' : 'error';
}

start().catch((error) => {
  body.dataset.status = 'error';
  showMessage(error);
});
